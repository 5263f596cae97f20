//! The `velocity` policy: hold withdrawals that would take a key over a
//! configured count or sum in a sliding window, withdrawals to a destination
//! first used less than N hours ago, and withdrawals within N hours of a
//! credential change.
//!
//! Configuration (every field optional; the defaults are in [`Config::default`]):
//! ```json
//! {
//!   "rules": [
//!     { "scope": "account", "window": "1h", "max_count": 30 },
//!     { "scope": "account", "window": "24h", "max_usd_cents": 5000000 },
//!     { "scope": "account-asset", "asset": "BTC", "window": "24h", "max_sum": 200000000 },
//!     { "name": "dest_fan_in_1h", "scope": "destination", "window": "1h", "max_count": 20 }
//!   ],
//!   "new_destination_hours": 24,
//!   "credential_change_hours": 48,
//!   "new_account_hours": 0,
//!   "missing_usd": "hold"
//! }
//! ```
//! Each rule has exactly one limit (`max_count`, `max_sum` in minor units of
//! the withdrawal's asset, or `max_usd_cents`), an optional `asset` filter and
//! an optional `name`; its reason code is `velocity.<name>`, by default
//! `<metric>_<window>` for the account scope (`velocity.sum_24h`) and
//! `<scope>_<metric>_<window>` otherwise. A limit is exceeded when the
//! window's recorded total plus this withdrawal is above it. A zero hour
//! setting disables that check.

use riskgate_guest::prelude::*;
use riskgate_guest::{DAY_MS, HOUR_MS, MINUTE_MS};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    rules: Option<Vec<RawRule>>,
    new_destination_hours: Option<u64>,
    credential_change_hours: Option<u64>,
    new_account_hours: Option<u64>,
    missing_usd: Option<MissingUsd>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<String>,
    scope: ScopeName,
    window: Window,
    asset: Option<String>,
    max_count: Option<u64>,
    max_sum: Option<u64>,
    max_usd_cents: Option<u64>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "kebab-case")]
enum ScopeName {
    Account,
    AccountAsset,
    Destination,
    AccountDestination,
    Asset,
}

impl ScopeName {
    fn scope(self) -> Scope {
        match self {
            ScopeName::Account => Scope::Account,
            ScopeName::AccountAsset => Scope::AccountAsset,
            ScopeName::Destination => Scope::Destination,
            ScopeName::AccountDestination => Scope::AccountDestination,
            ScopeName::Asset => Scope::Asset,
        }
    }

    fn label(self) -> &'static str {
        match self {
            ScopeName::Account => "account",
            ScopeName::AccountAsset => "account_asset",
            ScopeName::Destination => "destination",
            ScopeName::AccountDestination => "account_destination",
            ScopeName::Asset => "asset",
        }
    }
}

/// A window length: milliseconds as a number, or a string such as `10m`, `1h`, `7d`.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum Window {
    Ms(u64),
    Text(String),
}

impl Window {
    fn parse(&self) -> Result<(u64, String), String> {
        match self {
            Window::Ms(ms) => Ok((*ms, format!("{ms}ms"))),
            Window::Text(text) => {
                let split = text
                    .find(|c: char| !c.is_ascii_digit())
                    .ok_or_else(|| format!("window `{text}` lacks a unit (s, m, h, d)"))?;
                let (digits, unit) = text.split_at(split);
                let n: u64 = digits
                    .parse()
                    .map_err(|_| format!("window `{text}` does not start with a number"))?;
                let unit_ms = match unit {
                    "s" => 1_000,
                    "m" => MINUTE_MS,
                    "h" => HOUR_MS,
                    "d" => DAY_MS,
                    _ => return Err(format!("window `{text}` has unknown unit `{unit}`")),
                };
                let ms = n
                    .checked_mul(unit_ms)
                    .ok_or_else(|| format!("window `{text}` is too long"))?;
                Ok((ms, text.clone()))
            }
        }
    }
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
enum MissingUsd {
    Hold,
    Ignore,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Metric {
    Count,
    Sum,
    Usd,
}

#[derive(Debug)]
struct Rule {
    code: String,
    scope: ScopeName,
    window_ms: u64,
    window_text: String,
    asset: Option<String>,
    metric: Metric,
    limit: u64,
}

#[derive(Debug)]
struct Config {
    rules: Vec<Rule>,
    new_destination_ms: u64,
    credential_change_ms: u64,
    new_account_ms: u64,
    missing_usd: MissingUsd,
}

/// Defaults modelled on exchange practice: bursts of more than 10
/// withdrawals in 10 minutes or 30 in an hour, more than $50,000 a day per
/// account, more than 20 withdrawals an hour into one destination from any
/// accounts; a 24 h lock on new destinations and 48 h after a credential change.
const DEFAULT_CONFIG: &str = r#"{
  "rules": [
    { "scope": "account", "window": "10m", "max_count": 10 },
    { "scope": "account", "window": "1h", "max_count": 30 },
    { "scope": "account", "window": "24h", "max_count": 100 },
    { "scope": "account", "window": "24h", "max_usd_cents": 5000000 },
    { "scope": "destination", "window": "1h", "max_count": 20 },
    { "scope": "destination", "window": "24h", "max_usd_cents": 25000000 }
  ],
  "new_destination_hours": 24,
  "credential_change_hours": 48,
  "new_account_hours": 0,
  "missing_usd": "hold"
}"#;

fn parse_config(text: &str) -> Result<Config, String> {
    let raw: RawConfig = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let defaults: RawConfig = serde_json::from_str(DEFAULT_CONFIG).map_err(|e| e.to_string())?;
    let hours = |v: Option<u64>, d: Option<u64>, field: &str| -> Result<u64, String> {
        v.or(d)
            .unwrap_or(0)
            .checked_mul(HOUR_MS)
            .ok_or_else(|| format!("`{field}` is too large"))
    };
    let mut rules = Vec::new();
    for (i, r) in raw
        .rules
        .or(defaults.rules)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let rule = build_rule(r).map_err(|e| format!("rules[{i}]: {e}"))?;
        if rules.iter().any(|o: &Rule| o.code == rule.code) {
            return Err(format!(
                "rules[{i}]: duplicate rule name `{}`; give one of them a `name`",
                rule.code
            ));
        }
        rules.push(rule);
    }
    Ok(Config {
        rules,
        new_destination_ms: hours(
            raw.new_destination_hours,
            defaults.new_destination_hours,
            "new_destination_hours",
        )?,
        credential_change_ms: hours(
            raw.credential_change_hours,
            defaults.credential_change_hours,
            "credential_change_hours",
        )?,
        new_account_ms: hours(
            raw.new_account_hours,
            defaults.new_account_hours,
            "new_account_hours",
        )?,
        missing_usd: raw
            .missing_usd
            .or(defaults.missing_usd)
            .unwrap_or(MissingUsd::Hold),
    })
}

fn build_rule(r: RawRule) -> Result<Rule, String> {
    let (metric, limit) = match (r.max_count, r.max_sum, r.max_usd_cents) {
        (Some(n), None, None) => (Metric::Count, n),
        (None, Some(n), None) => (Metric::Sum, n),
        (None, None, Some(n)) => (Metric::Usd, n),
        _ => {
            return Err(
                "a rule needs exactly one of `max_count`, `max_sum`, `max_usd_cents`".into(),
            );
        }
    };
    let (window_ms, window_text) = r.window.parse()?;
    if window_ms == 0 {
        return Err("window must be longer than zero".into());
    }
    let metric_label = match metric {
        Metric::Count => "count",
        Metric::Sum => "sum",
        Metric::Usd => "usd",
    };
    let name = match r.name {
        Some(name) => {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(format!(
                    "rule name `{name}` must be non-empty ASCII letters, digits, `_` or `-`"
                ));
            }
            name
        }
        None => {
            let mut name = String::new();
            if r.scope != ScopeName::Account {
                name.push_str(r.scope.label());
                name.push('_');
            }
            if let Some(asset) = &r.asset {
                name.push_str(&asset.to_ascii_lowercase());
                name.push('_');
            }
            name.push_str(metric_label);
            name.push('_');
            name.push_str(&window_text);
            name
        }
    };
    Ok(Rule {
        code: format!("velocity.{name}"),
        scope: r.scope,
        window_ms,
        window_text,
        asset: r.asset,
        metric,
        limit,
    })
}

/// The policy (exported as the component on wasm32; usable natively
/// through `riskgate_guest::native` and riskgate-testkit).
pub struct Velocity {
    config: Config,
    /// Every rule's window, asked of the host in one call per decision
    /// (a rule that does not apply to a withdrawal ignores its answer).
    queries: Vec<WindowQuery>,
}

impl Policy for Velocity {
    const NAME: &'static str = "velocity";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn configure(config: &str) -> Result<Self, String> {
        let config = parse_config(config).map_err(|e| format!("invalid velocity config: {e}"))?;
        let queries = config
            .rules
            .iter()
            .map(|rule| WindowQuery {
                scope: rule.scope.scope(),
                window_ms: rule.window_ms,
            })
            .collect();
        Ok(Velocity { config, queries })
    }

    fn evaluate(&self, w: &Withdrawal) -> Decision {
        let mut decision = Decision::allow();
        let c = &self.config;
        let now = w.requested_at;

        if c.new_destination_ms > 0 {
            match w.destination_first_used_at {
                None => decision.push(
                    Verdict::Hold,
                    Reason::new(
                        "velocity.new_destination",
                        "first withdrawal to this destination".to_string(),
                    ),
                ),
                Some(first) if age(now, first) < c.new_destination_ms => decision.push(
                    Verdict::Hold,
                    Reason::new(
                        "velocity.new_destination",
                        format!(
                            "destination first used {} ago, less than {}",
                            human(age(now, first)),
                            human(c.new_destination_ms)
                        ),
                    ),
                ),
                Some(_) => {}
            }
        }
        if c.credential_change_ms > 0
            && let Some(changed) = w.credential_changed_at
            && age(now, changed) < c.credential_change_ms
        {
            decision.push(
                Verdict::Hold,
                Reason::new(
                    "velocity.credential_change",
                    format!(
                        "credentials changed {} ago, less than {}",
                        human(age(now, changed)),
                        human(c.credential_change_ms)
                    ),
                ),
            );
        }
        if c.new_account_ms > 0
            && let Some(created) = w.account_created_at
            && age(now, created) < c.new_account_ms
        {
            decision.push(
                Verdict::Hold,
                Reason::new(
                    "velocity.new_account",
                    format!(
                        "account created {} ago, less than {}",
                        human(age(now, created)),
                        human(c.new_account_ms)
                    ),
                ),
            );
        }

        // Every rule's window in one host call.
        let mut answers = if self.queries.is_empty() {
            Vec::new()
        } else {
            host::windows(&self.queries)
        };
        answers.truncate(c.rules.len());
        answers.resize_with(c.rules.len(), || {
            Err("the host gave no answer to this window".into())
        });
        for (rule, answer) in c.rules.iter().zip(answers) {
            if let Some(asset) = &rule.asset
                && !asset.eq_ignore_ascii_case(&w.asset)
            {
                continue;
            }
            let this = match rule.metric {
                Metric::Count => 1,
                Metric::Sum => w.amount,
                Metric::Usd => match w.usd_cents {
                    Some(usd) => usd,
                    None => {
                        if c.missing_usd == MissingUsd::Hold {
                            decision.push(
                                Verdict::Hold,
                                Reason::new(
                                    "velocity.usd_unknown",
                                    format!(
                                        "{} needs the withdrawal's USD value, which was not supplied",
                                        rule.code
                                    ),
                                ),
                            );
                        }
                        continue;
                    }
                },
            };
            let stats = match answer {
                Ok(stats) => stats,
                Err(why) => {
                    decision.push(
                        Verdict::Hold,
                        Reason::new(
                            "velocity.unavailable",
                            format!("{}: velocity statistics unavailable: {why}", rule.code),
                        ),
                    );
                    continue;
                }
            };
            let recorded = match rule.metric {
                Metric::Count => stats.count,
                Metric::Sum => stats.sum,
                Metric::Usd => stats.usd_cents,
            };
            let total = recorded.saturating_add(this);
            if total > rule.limit {
                let what = match rule.metric {
                    Metric::Count => format!("{total} withdrawals"),
                    Metric::Sum => format!("{total} {} (minor units)", w.asset),
                    Metric::Usd => format!("${}", cents(total)),
                };
                let limit = match rule.metric {
                    Metric::Count => rule.limit.to_string(),
                    Metric::Sum => rule.limit.to_string(),
                    Metric::Usd => format!("${}", cents(rule.limit)),
                };
                decision.push(
                    Verdict::Hold,
                    Reason::new(
                        rule.code.clone(),
                        format!(
                            "{what} per {} in {} would exceed the limit of {limit}",
                            rule.scope.label(),
                            rule.window_text
                        ),
                    ),
                );
            }
        }
        decision
    }
}

/// Age of `then` at `now`; a time in the future counts as age zero.
fn age(now: u64, then: u64) -> u64 {
    now.saturating_sub(then)
}

fn human(ms: u64) -> String {
    if ms >= HOUR_MS && ms.is_multiple_of(HOUR_MS) {
        format!("{}h", ms / HOUR_MS)
    } else if ms >= HOUR_MS {
        format!("{:.1}h", ms as f64 / HOUR_MS as f64)
    } else if ms >= MINUTE_MS {
        format!("{}m", ms / MINUTE_MS)
    } else {
        format!("{}s", ms / 1_000)
    }
}

fn cents(c: u64) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

riskgate_guest::export_policy!(Velocity);

#[cfg(test)]
mod tests;
