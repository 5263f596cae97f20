//! The bundled `sanctions` and `velocity` policies (default configuration)
//! as one Extism plug-in: the withdrawal comes in as JSON, the decision goes
//! out as JSON, and the host answers `screen` and `window` with JSON. The
//! peer of `riskgate bench`: what a policy costs on a generic plug-in
//! runtime.

use extism_pdk::*;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Withdrawal {
    chain: String,
    destination: String,
    usd_cents: Option<u64>,
    requested_at: u64,
    credential_changed_at: Option<u64>,
    destination_first_used_at: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct Evidence {
    list: String,
    list_version: String,
    label: Option<String>,
    address: String,
}

#[derive(Serialize)]
struct Reason {
    code: String,
    detail: String,
    evidence: Vec<Evidence>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    #[default]
    Allow,
    Hold,
    Deny,
}

#[derive(Serialize, Default)]
struct Decision {
    verdict: Verdict,
    reasons: Vec<Reason>,
}

impl Decision {
    fn push(&mut self, verdict: Verdict, code: &str, detail: String) {
        let rank = |v: &Verdict| match v {
            Verdict::Allow => 0,
            Verdict::Hold => 1,
            Verdict::Deny => 2,
        };
        if rank(&verdict) > rank(&self.verdict) {
            self.verdict = verdict;
        }
        self.reasons.push(Reason {
            code: code.into(),
            detail,
            evidence: Vec::new(),
        });
    }
}

#[derive(Serialize)]
struct ScreenQuery<'a> {
    chain: &'a str,
    address: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ScreenAnswer {
    Hits(Vec<Evidence>),
    UnsupportedChain(String),
    InvalidAddress(String),
}

#[derive(Serialize)]
struct WindowQuery {
    scope: &'static str,
    window_ms: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum WindowAnswer {
    Stats { count: u64, usd_cents: u64 },
    Error(String),
}

#[host_fn]
extern "ExtismHost" {
    fn screen(query: String) -> String;
    fn window(query: String) -> String;
}

#[plugin_fn]
pub fn sanctions(input: String) -> FnResult<String> {
    let w: Withdrawal = serde_json::from_str(&input)?;
    let query = serde_json::to_string(&ScreenQuery {
        chain: &w.chain,
        address: &w.destination,
    })?;
    let answer: ScreenAnswer = serde_json::from_str(&unsafe { screen(query)? })?;
    let mut d = Decision::default();
    match answer {
        ScreenAnswer::Hits(hits) if hits.is_empty() => {}
        ScreenAnswer::Hits(hits) => {
            let first = &hits[0];
            let detail = format!(
                "destination {} is designated on {} ({})",
                first.address, first.list, first.list_version
            );
            d.verdict = Verdict::Deny;
            d.reasons.push(Reason {
                code: "sanctions.hit".into(),
                detail,
                evidence: hits,
            });
        }
        ScreenAnswer::UnsupportedChain(why) => d.push(
            Verdict::Hold,
            "sanctions.unsupported_chain",
            format!("destination cannot be screened: {why}"),
        ),
        ScreenAnswer::InvalidAddress(why) => d.push(
            Verdict::Hold,
            "sanctions.invalid_address",
            format!("destination is not a valid {} address: {why}", w.chain),
        ),
    }
    Ok(serde_json::to_string(&d)?)
}

const MINUTE: u64 = 60_000;
const HOUR: u64 = 60 * MINUTE;

/// (code, scope, window, metric is USD, limit): the velocity policy's defaults.
const RULES: [(&str, &str, u64, bool, u64); 6] = [
    ("velocity.count_10m", "account", 10 * MINUTE, false, 10),
    ("velocity.count_1h", "account", HOUR, false, 30),
    ("velocity.count_24h", "account", 24 * HOUR, false, 100),
    ("velocity.usd_24h", "account", 24 * HOUR, true, 5_000_000),
    (
        "velocity.destination_count_1h",
        "destination",
        HOUR,
        false,
        20,
    ),
    (
        "velocity.destination_usd_24h",
        "destination",
        24 * HOUR,
        true,
        25_000_000,
    ),
];

#[plugin_fn]
pub fn velocity(input: String) -> FnResult<String> {
    let w: Withdrawal = serde_json::from_str(&input)?;
    let now = w.requested_at;
    let mut d = Decision::default();
    match w.destination_first_used_at {
        None => d.push(
            Verdict::Hold,
            "velocity.new_destination",
            "first withdrawal to this destination".into(),
        ),
        Some(first) if now.saturating_sub(first) < 24 * HOUR => d.push(
            Verdict::Hold,
            "velocity.new_destination",
            format!(
                "destination first used {} ms ago",
                now.saturating_sub(first)
            ),
        ),
        Some(_) => {}
    }
    if let Some(changed) = w.credential_changed_at
        && now.saturating_sub(changed) < 48 * HOUR
    {
        d.push(
            Verdict::Hold,
            "velocity.credential_change",
            format!("credentials changed {} ms ago", now.saturating_sub(changed)),
        );
    }
    for (code, scope, window_ms, usd, limit) in RULES {
        let this = if usd {
            match w.usd_cents {
                Some(usd) => usd,
                None => {
                    d.push(
                        Verdict::Hold,
                        "velocity.usd_unknown",
                        format!("{code} needs the withdrawal's USD value"),
                    );
                    continue;
                }
            }
        } else {
            1
        };
        let query = serde_json::to_string(&WindowQuery { scope, window_ms })?;
        let answer: WindowAnswer = serde_json::from_str(&unsafe { window(query)? })?;
        let recorded = match answer {
            WindowAnswer::Stats { count, usd_cents } => {
                if usd {
                    usd_cents
                } else {
                    count
                }
            }
            WindowAnswer::Error(why) => {
                d.push(
                    Verdict::Hold,
                    "velocity.unavailable",
                    format!("{code}: velocity statistics unavailable: {why}"),
                );
                continue;
            }
        };
        let total = recorded.saturating_add(this);
        if total > limit {
            d.push(
                Verdict::Hold,
                code,
                format!("{total} would exceed the limit of {limit}"),
            );
        }
    }
    Ok(serde_json::to_string(&d)?)
}
