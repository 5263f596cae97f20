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
