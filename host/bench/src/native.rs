//! The floor of `riskgate bench`: the bundled `sanctions` and `velocity`
//! policies' checks (default configurations) written as plain Rust against
//! the same screener and velocity store, with the same idempotency and
//! recording as the gate. What an exchange would write in its own service.

use riskgate::address;
use riskgate::gate::{fingerprint, open_txn, velocity_hold};
use riskgate::model::{Decision, GateCode, Hit, Reason, Verdict, Withdrawal};
use riskgate::screening::{ScreenError, Screener};
use riskgate::velocity::{Keys, Scope, Txn, Velocity, VelocityError, WindowStats};
use std::sync::Arc;

const MINUTE: u64 = 60_000;
const HOUR: u64 = 60 * MINUTE;

#[derive(Clone, Copy)]
enum Metric {
    Count,
    Usd,
}

struct Rule {
    code: &'static str,
    scope: Scope,
    window_ms: u64,
    metric: Metric,
    limit: u64,
}

/// The velocity policy's default rules.
const RULES: [Rule; 6] = [
    Rule {
        code: "velocity.count_10m",
        scope: Scope::Account,
        window_ms: 10 * MINUTE,
        metric: Metric::Count,
        limit: 10,
    },
    Rule {
        code: "velocity.count_1h",
        scope: Scope::Account,
        window_ms: HOUR,
        metric: Metric::Count,
        limit: 30,
    },
    Rule {
        code: "velocity.count_24h",
        scope: Scope::Account,
        window_ms: 24 * HOUR,
        metric: Metric::Count,
        limit: 100,
    },
    Rule {
        code: "velocity.usd_24h",
        scope: Scope::Account,
        window_ms: 24 * HOUR,
        metric: Metric::Usd,
        limit: 5_000_000,
    },
    Rule {
        code: "velocity.destination_count_1h",
        scope: Scope::Destination,
        window_ms: HOUR,
        metric: Metric::Count,
        limit: 20,
    },
    Rule {
        code: "velocity.destination_usd_24h",
        scope: Scope::Destination,
        window_ms: 24 * HOUR,
        metric: Metric::Usd,
        limit: 25_000_000,
    },
];
const NEW_DESTINATION_MS: u64 = 24 * HOUR;
const CREDENTIAL_CHANGE_MS: u64 = 48 * HOUR;

/// The native decider.
pub struct Native {
    pub screener: Screener,
    pub velocity: Arc<Velocity>,
}

fn hold(d: &mut Decision, policy: &str, code: &str, detail: String) {
    d.verdict = d.verdict.max(Verdict::Hold);
    d.reasons.push(Reason {
        code: code.to_string(),
        detail,
        policy: Some(policy.to_string()),
    });
}

impl Native {
    pub fn evaluate(&self, w: &Withdrawal) -> Decision {
        if let Err(e) = w.validate() {
            return Decision::gate_hold(&w.id, GateCode::BadInput, e.to_string());
        }
        let mut d = Decision::allow(&w.id);
        // sanctions
        let canonical = address::canonicalize(&w.chain, &w.destination);
        match &canonical {
            Ok(c) => {
                let hits = self.screener.screen_canonical(c);
                if let Some(first) = hits.first() {
                    d.verdict = Verdict::Deny;
                    d.reasons.push(Reason {
                        code: "sanctions.hit".into(),
                        detail: format!(
                            "destination {} is designated on {} ({})",
                            first.address, first.list, first.list_version
                        ),
                        policy: Some("sanctions".into()),
                    });
                    d.hits = hits
                        .into_iter()
                        .map(|h| Hit {
                            list: h.list,
                            list_version: h.list_version,
                            label: h.label,
                            address: h.address,
                        })
                        .collect();
                }
            }
            Err(e) => match ScreenError::from(e.clone()) {
                ScreenError::UnsupportedChain(c) => hold(
                    &mut d,
                    "sanctions",
                    "sanctions.unsupported_chain",
                    format!("destination cannot be screened: unsupported chain `{c}`"),
                ),
                ScreenError::InvalidAddress(why) => hold(
                    &mut d,
                    "sanctions",
                    "sanctions.invalid_address",
                    format!("destination is not a valid {} address: {why}", w.chain),
                ),
            },
        }
        let destination = match &canonical {
            Ok(c) => c.as_str(),
            Err(_) => w.destination.trim(),
        };
        recorded(&self.velocity, w, destination, |txn| {
            self.velocity_rules(w, txn, &mut d);
            d
        })
    }

    /// The velocity policy's checks.
    fn velocity_rules(&self, w: &Withdrawal, txn: &Txn<'_>, d: &mut Decision) {
        let now = w.requested_at;
        match w.destination_first_used_at {
            None => hold(
                d,
                "velocity",
                "velocity.new_destination",
                "first withdrawal to this destination".into(),
            ),
            Some(first) if now.saturating_sub(first) < NEW_DESTINATION_MS => hold(
                d,
                "velocity",
                "velocity.new_destination",
                format!(
                    "destination first used {} ms ago",
                    now.saturating_sub(first)
                ),
            ),
            Some(_) => {}
        }
        if let Some(changed) = w.credential_changed_at
            && now.saturating_sub(changed) < CREDENTIAL_CHANGE_MS
        {
            hold(
                d,
                "velocity",
                "velocity.credential_change",
                format!("credentials changed {} ms ago", now.saturating_sub(changed)),
            );
        }
        // Every rule's window in one store call, as the gate's host answers
        // the velocity policy's one `windows` call.
        let mut queries = [(Scope::Account, 0u64); RULES.len()];
        for (q, rule) in queries.iter_mut().zip(&RULES) {
            *q = (rule.scope, rule.window_ms);
        }
        let mut answers: [Option<Result<WindowStats, VelocityError>>; RULES.len()] =
            Default::default();
        txn.windows(now, &queries, &mut |i, stats| answers[i] = Some(stats));
        for (rule, answer) in RULES.iter().zip(answers) {
            let this = match rule.metric {
                Metric::Count => 1,
                Metric::Usd => match w.usd_cents {
                    Some(usd) => usd,
                    None => {
                        hold(
                            d,
                            "velocity",
                            "velocity.usd_unknown",
                            format!("{} needs the withdrawal's USD value", rule.code),
                        );
                        continue;
                    }
                },
            };
            let stats = match answer
                .unwrap_or_else(|| Err(VelocityError::Unavailable("no answer".into())))
            {
                Ok(stats) => stats,
                Err(e) => {
                    hold(
                        d,
                        "velocity",
                        GateCode::VelocityUnavailable.as_str(),
                        format!("velocity state cannot be read: {e}"),
                    );
                    return;
                }
            };
            let recorded = match rule.metric {
                Metric::Count => stats.count,
                Metric::Usd => stats.usd_cents,
            };
            let total = recorded.saturating_add(this);
            if total > rule.limit {
                hold(
                    d,
                    "velocity",
                    rule.code,
                    format!("{total} would exceed the limit of {}", rule.limit),
                );
            }
        }
    }
}

/// The gate's steps around a contender's checks, for the contenders outside
/// the gate: the withdrawal's keys (on `destination`, its canonical form
/// when it parses), the key locks, the decision recorded under its id (a
/// retry returns it), then `checks`, then the commit with an ALLOW's
/// contribution. A decision with a `gate.*` reason is not recorded, as in
/// the gate.
pub fn recorded(
    velocity: &Velocity,
    w: &Withdrawal,
    destination: &str,
    checks: impl FnOnce(&Txn<'_>) -> Decision,
) -> Decision {
    let keys = Keys::new(w, destination);
    let fingerprint = fingerprint(w);
    let txn = match open_txn(velocity, w, &keys, &fingerprint) {
        Ok(txn) => txn,
        Err(settled) => return *settled,
    };
    let d = checks(&txn);
    // Dropping the transaction unlocks without recording.
    if d.has_gate_reason() {
        return d;
    }
    let allowed = (d.verdict == Verdict::Allow).then(|| (w.amount, w.usd_cents.unwrap_or(0)));
    if let Err(e) = txn.commit(fingerprint, w.requested_at, &d, allowed) {
        return velocity_hold(&w.id, &e);
    }
    d
}
