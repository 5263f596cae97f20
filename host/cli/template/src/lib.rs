//! `{{name}}`: a riskgate policy.
//!
//! - A destination on a designated list is denied, with the list entries
//!   as evidence; one the host cannot screen is held.
//! - A withdrawal worth more than `max_usd_cents`, or of unknown value, is
//!   held for review.
//! - More than `daily_count` withdrawals, or more than `daily_usd_cents`,
//!   from one account in 24 hours are held; so is every withdrawal while
//!   the velocity store is unavailable.
//!
//! Configuration (JSON, every field required):
//! ```json
//! { "max_usd_cents": 1000000, "daily_count": 10, "daily_usd_cents": 2500000 }
//! ```

use riskgate_guest::prelude::*;
use riskgate_guest::DAY_MS;
use serde::Deserialize;

/// The policy's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Largest withdrawal allowed without review, in USD cents.
    pub max_usd_cents: u64,
    /// Most withdrawals one account may make in 24 hours, this one included.
    pub daily_count: u64,
    /// Most USD cents one account may withdraw in 24 hours, this one included.
    pub daily_usd_cents: u64,
}

/// The policy: its configuration, checked once by `configure`.
#[derive(Debug)]
pub struct {{Type}} {
    config: Config,
}

impl Policy for {{Type}} {
    const NAME: &'static str = "{{name}}";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn configure(config: &str) -> Result<Self, String> {
        let config: Config =
            serde_json::from_str(config).map_err(|e| format!("invalid {{name}} config: {e}"))?;
        if config.daily_count == 0 {
            return Err("invalid {{name}} config: `daily_count` must be at least 1".into());
        }
        Ok({{Type}} { config })
    }

    fn evaluate(&self, w: &Withdrawal) -> Decision {
        let mut decision = Decision::allow();

        match host::screen(&w.chain, &w.destination) {
            Ok(hits) if hits.is_empty() => {}
            Ok(hits) => {
                let detail = format!("destination is designated on {}", hits[0].list);
                decision.push(
                    Verdict::Deny,
                    Reason::new("{{name}}.designated", detail).with_evidence(hits),
                );
            }
            Err(why) => decision.push(
                Verdict::Hold,
                Reason::new("{{name}}.unscreenable", format!("{why:?}")),
            ),
        }

        let Some(value) = w.usd_cents else {
            decision.push(
                Verdict::Hold,
                Reason::new("{{name}}.unknown_value", "the withdrawal has no USD value"),
            );
            return decision;
        };
        if value > self.config.max_usd_cents {
            decision.push(
                Verdict::Hold,
                Reason::new(
                    "{{name}}.large",
                    format!("{value} cents is over {}", self.config.max_usd_cents),
                ),
            );
        }

        match host::window(Scope::Account, DAY_MS) {
            Ok(day) => {
                if day.count.saturating_add(1) > self.config.daily_count {
                    decision.push(
                        Verdict::Hold,
                        Reason::new(
                            "{{name}}.daily_count",
                            format!("withdrawal {} in 24h; at most {}", day.count + 1, self.config.daily_count),
                        ),
                    );
                }
                let total = day.usd_cents.saturating_add(value);
                if total > self.config.daily_usd_cents {
                    decision.push(
                        Verdict::Hold,
                        Reason::new(
                            "{{name}}.daily_usd",
                            format!("{total} cents in 24h; at most {}", self.config.daily_usd_cents),
                        ),
                    );
                }
            }
            Err(why) => decision.push(
                Verdict::Hold,
                Reason::new("{{name}}.velocity_unavailable", why),
            ),
        }
        decision
    }
}

riskgate_guest::export_policy!({{Type}});

#[cfg(test)]
mod tests {
    use super::*;
    use riskgate_testkit::Scenario;
    use riskgate_testkit::mock::decide;
    use riskgate_testkit::scenario::withdrawal;

    const CONFIG: &str = include_str!("../policy.json");
    const LISTED: &str = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";

    fn worth(usd_cents: u64) -> Scenario {
        Scenario::new(Withdrawal {
            usd_cents: Some(usd_cents),
            ..withdrawal("w-1")
        })
        .config(CONFIG)
    }

    fn codes(decision: &Decision) -> Vec<&str> {
        decision.reasons.iter().map(|r| r.code.as_str()).collect()
    }

    #[test]
    fn allows_a_small_withdrawal() {
        let decision = decide::<{{Type}}>(&worth(5_000)).unwrap();
        assert_eq!(decision.verdict, Verdict::Allow, "{decision:?}");
    }

    #[test]
    fn denies_a_designated_destination_typed_in_lowercase() {
        let mut scenario = worth(5_000).listed("ofac-sdn", "2024-09-27", "ethereum", LISTED, None);
        scenario.withdrawal.destination = LISTED.to_lowercase();
        let decision = decide::<{{Type}}>(&scenario).unwrap();
        assert_eq!(decision.verdict, Verdict::Deny);
        assert_eq!(codes(&decision), ["{{name}}.designated"]);
        assert_eq!(decision.reasons[0].evidence[0].list, "ofac-sdn");
    }

    #[test]
    fn holds_when_the_velocity_store_fails() {
        let decision = decide::<{{Type}}>(&worth(5_000).window_error("store unavailable")).unwrap();
        assert_eq!(decision.verdict, Verdict::Hold);
        // The policy's own reason, and the gate's: the mock host applies
        // the gate's rules as the real one does.
        assert!(codes(&decision).contains(&"{{name}}.velocity_unavailable"), "{decision:?}");
        assert!(codes(&decision).contains(&"gate.velocity_unavailable"), "{decision:?}");
    }

    #[test]
    fn refuses_a_configuration_without_its_limits() {
        let scenario = worth(5_000).config("{}");
        assert!(decide::<{{Type}}>(&scenario).is_err());
    }
}
