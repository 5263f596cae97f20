//! Fixture files: TOML cases of withdrawals, host answers and expected
//! decisions, the input of `riskgate policy test`.
//!
//! The format is documented in `docs/fixtures.md`. In short:
//!
//! ```toml
//! [defaults]
//! config = '{"lists": ["ofac-sdn"]}'
//! withdrawal = { chain = "ethereum", asset = "ETH", decimals = 18 }
//!
//! [[list]]
//! name = "ofac-sdn"
//! version = "2024-09-27"
//! chain = "ethereum"
//! addresses = ["0x7f367cc41522ce07553e823bf3be79a889debe1b"]
//!
//! [[case]]
//! name = "listed destination is denied"
//! withdrawal = { destination = "0x7F367cC41522cE07553e823bf3be79A889DEbe1B" }
//! expect = { verdict = "deny", reasons = ["sanctions.hit"] }
//! ```
//!
//! [`Fixtures::parse`] / [`Fixtures::load`] turn a file into [`Case`]s,
//! each a [`Scenario`] and an [`Expectation`]; [`run_native`] decides them
//! with a policy type through the [mock host](crate::mock), and the
//! component harness (`component::run_component`, feature `component`) on
//! a compiled component. Each gives one [`CaseResult`] per case.

use crate::mock::{self, DecideError};
use crate::scenario::{self, Listed, Scenario, WindowFigure};
use riskgate_guest::{Decision, Policy, Scope, Verdict, Withdrawal};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// The parsed cases of one fixture file.
#[derive(Debug, Clone)]
pub struct Fixtures {
    /// Where the cases come from (a path, or what the caller named).
    pub origin: String,
    pub cases: Vec<Case>,
}

/// One case: what to decide and what to expect.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub scenario: Scenario,
    pub expect: Expectation,
}

/// What a case expects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expectation {
    /// The verdict (absent when the configuration is expected to be refused).
    pub verdict: Option<Verdict>,
    /// The exact reason codes, in order.
    pub reasons: Option<Vec<String>>,
    /// Codes that must be among the reasons (any order, others allowed).
    pub reasons_include: Vec<String>,
    /// The configuration must be refused, with a message containing this.
    pub config_error: Option<String>,
}

/// What a case got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    Decision(Decision),
    /// The policy refused the configuration, with this message.
    ConfigError(String),
}

/// One case's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    pub file: String,
    pub case: String,
    pub outcome: Outcome,
}

/// Whether a case passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed {
        expected: Expectation,
        got: Got,
    },
    /// The case could not be decided (an invalid scenario, a component
    /// that does not load).
    Error(String),
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        matches!(self.outcome, Outcome::Passed)
    }
}

/// Why a fixture file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}{}{}: {message}", .case.as_ref().map(|c| format!(": case `{c}`")).unwrap_or_default(), .field.as_ref().map(|f| format!(": `{f}`")).unwrap_or_default())]
pub struct FixtureError {
    /// The file.
    pub origin: String,
    /// The case, when the error is in one.
    pub case: Option<String>,
    /// The field's path (`withdrawal.amount`, `list[0].addresses[2]`), when known.
    pub field: Option<String>,
    pub message: String,
}

// ---------------------------------------------------------------- raw format

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    config: Option<RawConfig>,
    withdrawal: Option<RawWithdrawal>,
}

/// JSON text, or a TOML table converted to JSON.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum RawConfig {
    Text(String),
    Table(toml::Table),
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawWithdrawal {
    id: Option<String>,
    account: Option<String>,
    asset: Option<String>,
    chain: Option<String>,
    destination: Option<String>,
    amount: Option<Amount>,
    decimals: Option<u8>,
    usd_cents: Option<u64>,
    requested_at: Option<u64>,
    account_created_at: Option<Time>,
    credential_changed_at: Option<Time>,
    destination_first_used_at: Option<Time>,
}

/// An amount: an integer, or a string of decimal digits (for amounts above
/// TOML's largest integer).
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum Amount {
    Int(u64),
    Text(String),
}

/// A time: ms since the Unix epoch, or a duration before the withdrawal's
/// `requested_at` (`"2h"`, `"30d ago"`).
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum Time {
    Ms(u64),
    Ago(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawList {
    name: String,
    version: Option<String>,
    chain: Option<String>,
    addresses: Vec<RawListed>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawListed {
    Address(String),
    Entry(RawEntry),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    address: String,
    chain: Option<String>,
    label: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: String,
    #[serde(default)]
    withdrawal: RawWithdrawal,
    config: Option<RawConfig>,
    #[serde(default)]
    history: Vec<RawHistory>,
    #[serde(default)]
    windows: Vec<RawWindow>,
    window_error: Option<String>,
    expect: RawExpect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHistory {
    id: Option<String>,
    account: Option<String>,
    asset: Option<String>,
    chain: Option<String>,
    destination: Option<String>,
    amount: Option<Amount>,
    decimals: Option<u8>,
    usd_cents: Option<u64>,
    /// How long before the case's withdrawal (exclusive with `requested_at`).
    ago: Option<Duration>,
    requested_at: Option<u64>,
    /// This many identical entries (default 1).
    repeat: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    scope: ScopeName,
    window: Duration,
    #[serde(default)]
    count: u64,
    #[serde(default)]
    sum: u64,
    #[serde(default)]
    usd_cents: u64,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum ScopeName {
    Account,
    AccountAsset,
    Destination,
    AccountDestination,
    Asset,
}

/// A duration: ms as an integer, or `<n><unit>` with unit `ms`, `s`, `m`,
/// `h` or `d` (`"90s"`, `"15m"`, `"2h"`, `"7d"`).
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum Duration {
    Ms(u64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    verdict: Option<VerdictName>,
    reasons: Option<Vec<String>>,
    #[serde(default)]
    reasons_include: Vec<String>,
    config_error: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum VerdictName {
    Allow,
    Hold,
    Deny,
}

// ------------------------------------------------------------------ parsing

/// Milliseconds of a duration text (`90s`, `15m`, `2h`, `7d`, `250ms`).
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("duration `{text}` lacks a unit (ms, s, m, h, d)"))?;
    let (digits, unit) = t.split_at(split);
    if digits.is_empty() {
        return Err(format!("duration `{text}` does not start with a number"));
    }
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("duration `{text}` is too long"))?;
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => {
            return Err(format!(
                "duration `{text}` has unknown unit `{unit}` (ms, s, m, h, d)"
            ));
        }
    };
    n.checked_mul(unit_ms)
        .ok_or_else(|| format!("duration `{text}` is too long"))
}

impl Duration {
    fn ms(&self) -> Result<u64, String> {
        match self {
            Duration::Ms(ms) => Ok(*ms),
            Duration::Text(t) => parse_duration(t),
        }
    }
}

impl Amount {
    fn value(&self) -> Result<u64, String> {
        match self {
            Amount::Int(n) => Ok(*n),
            Amount::Text(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => t
                .parse()
                .map_err(|_| format!("amount `{t}` does not fit in 64 bits")),
            Amount::Text(t) => Err(format!("amount `{t}` is not a string of decimal digits")),
        }
    }
}

impl Time {
    fn at(&self, requested_at: u64) -> Result<u64, String> {
        match self {
            Time::Ms(ms) => Ok(*ms),
            Time::Ago(text) => {
                let t = text.trim();
                let ago = parse_duration(t.strip_suffix("ago").unwrap_or(t).trim_end())?;
                requested_at
                    .checked_sub(ago)
                    .ok_or_else(|| format!("`{text}` is before the Unix epoch"))
            }
        }
    }
}

fn config_json(config: &RawConfig) -> Result<String, String> {
    match config {
        RawConfig::Text(text) => Ok(text.clone()),
        RawConfig::Table(table) => serde_json::to_string(table)
            .map_err(|e| format!("cannot convert the table to JSON: {e}")),
    }
}

/// Applies `patch` over `w` (`requested_at` first, so relative times are
/// relative to the patched one).
fn apply(w: &mut Withdrawal, patch: &RawWithdrawal) -> Result<(), (String, String)> {
    let field = |name: &str| name.to_string();
    if let Some(v) = &patch.id {
        w.id = v.clone();
    }
    if let Some(v) = &patch.account {
        w.account = v.clone();
    }
    if let Some(v) = &patch.asset {
        w.asset = v.clone();
    }
    if let Some(v) = &patch.chain {
        w.chain = v.clone();
    }
    if let Some(v) = &patch.destination {
        w.destination = v.clone();
    }
    if let Some(v) = &patch.amount {
        w.amount = v.value().map_err(|e| (field("amount"), e))?;
    }
    if let Some(v) = patch.decimals {
        w.decimals = v;
    }
    if let Some(v) = patch.usd_cents {
        w.usd_cents = Some(v);
    }
    if let Some(v) = patch.requested_at {
        w.requested_at = v;
    }
    let now = w.requested_at;
    for (name, value, slot) in [
        (
            "account_created_at",
            &patch.account_created_at,
            &mut w.account_created_at,
        ),
        (
            "credential_changed_at",
            &patch.credential_changed_at,
            &mut w.credential_changed_at,
        ),
        (
            "destination_first_used_at",
            &patch.destination_first_used_at,
            &mut w.destination_first_used_at,
        ),
    ] {
        if let Some(t) = value {
            *slot = Some(t.at(now).map_err(|e| (field(name), e))?);
        }
    }
    Ok(())
}

/// `text` cut to at most `max` bytes at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Deserialises `value` as `T`, naming the failing field's path.
fn typed<T: for<'de> Deserialize<'de>>(value: toml::Value) -> Result<T, (Option<String>, String)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let path = (path != ".").then_some(path);
        (path, e.into_inner().to_string().trim().to_string())
    })
}

impl Fixtures {
    /// Reads and parses the fixture file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Fixtures, FixtureError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| FixtureError {
            origin: origin.clone(),
            case: None,
            field: None,
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(&text, &origin)
    }

    /// Every `*.toml` file in `dir`, sorted by name, parsed.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Vec<Fixtures>, FixtureError> {
        let dir = dir.as_ref();
        let fail = |message: String| FixtureError {
            origin: dir.display().to_string(),
            case: None,
            field: None,
            message,
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| fail(format!("cannot read the directory: {e}")))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(|e| fail(format!("cannot read the directory: {e}")))?;
        paths.retain(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file());
        paths.sort();
        paths.iter().map(Self::load).collect()
    }

    /// Parses fixture text; `origin` names it in errors and results.
    pub fn parse(text: &str, origin: &str) -> Result<Fixtures, FixtureError> {
        let err = |case: Option<&str>, field: Option<String>, message: String| FixtureError {
            origin: origin.to_string(),
            case: case.map(str::to_string),
            field,
            message,
        };
        let mut top: toml::Table =
            toml::from_str(text).map_err(|e| err(None, None, e.to_string().trim().to_string()))?;
        if let Some(key) = top
            .keys()
            .find(|k| !matches!(k.as_str(), "defaults" | "list" | "case"))
        {
            return Err(err(
                None,
                Some(key.clone()),
                "unknown key; a fixture file has `[defaults]`, `[[list]]` and `[[case]]`".into(),
            ));
        }

        let defaults: RawDefaults = match top.remove("defaults") {
            Some(v) => typed(v).map_err(|(f, m)| err(None, Some(prefix("defaults", f)), m))?,
            None => RawDefaults::default(),
        };
        let default_config = match &defaults.config {
            Some(c) => config_json(c).map_err(|m| err(None, Some("defaults.config".into()), m))?,
            None => "{}".to_string(),
        };

        let mut lists = Vec::new();
        for (i, v) in array(top.remove("list"), "list")
            .map_err(|m| err(None, Some("list".into()), m))?
            .into_iter()
            .enumerate()
        {
            let at = format!("list[{i}]");
            let raw: RawList = typed(v).map_err(|(f, m)| err(None, Some(prefix(&at, f)), m))?;
            if raw.addresses.is_empty() {
                return Err(err(
                    None,
                    Some(format!("{at}.addresses")),
                    "is empty".into(),
                ));
            }
            for entry in raw.addresses {
                let (address, chain, label) = match entry {
                    RawListed::Address(a) => (a, None, None),
                    RawListed::Entry(e) => (e.address, e.chain, e.label),
                };
                lists.push(Listed {
                    list: raw.name.clone(),
                    version: raw.version.clone().unwrap_or_else(|| "fixture".into()),
                    chain: chain.or_else(|| raw.chain.clone()).unwrap_or_default(),
                    address,
                    label,
                });
            }
        }

        let mut cases: Vec<Case> = Vec::new();
        for (i, v) in array(top.remove("case"), "case")
            .map_err(|m| err(None, Some("case".into()), m))?
            .into_iter()
            .enumerate()
        {
            let name = v
                .get("name")
                .and_then(toml::Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("#{}", i + 1));
            let case_err =
                |field: Option<String>, message: String| err(Some(&name), field, message);
            let raw: RawCase = typed(v).map_err(|(f, m)| case_err(f, m))?;
            if cases.iter().any(|c| c.name == raw.name) {
                return Err(case_err(None, "another case has this name".into()));
            }
            let case = build_case(raw, &defaults, &default_config, &lists)
                .map_err(|(f, m)| case_err(Some(f), m))?;
            cases.push(case);
        }
        if cases.is_empty() {
            return Err(err(None, None, "no `[[case]]`".into()));
        }
        Ok(Fixtures {
            origin: origin.to_string(),
            cases,
        })
    }

    /// These fixtures with every case's configuration replaced by `config`.
    pub fn with_config(mut self, config: &str) -> Self {
        for case in &mut self.cases {
            case.scenario.config = config.to_string();
        }
        self
    }
}

fn prefix(at: &str, field: Option<String>) -> String {
    match field {
        Some(f) => format!("{at}.{f}"),
        None => at.to_string(),
    }
}

fn array(value: Option<toml::Value>, what: &str) -> Result<Vec<toml::Value>, String> {
    match value {
        None => Ok(Vec::new()),
        Some(toml::Value::Array(items)) => Ok(items),
        Some(_) => Err(format!("must be an array of tables: `[[{what}]]`")),
    }
}

fn build_case(
    raw: RawCase,
    defaults: &RawDefaults,
    default_config: &str,
    lists: &[Listed],
) -> Result<Case, (String, String)> {
    let mut w = scenario::withdrawal(cut(&raw.name, riskgate_model::caps::ID));
    if let Some(d) = &defaults.withdrawal {
        apply(&mut w, d).map_err(|(f, m)| (format!("defaults.withdrawal.{f}"), m))?;
    }
    apply(&mut w, &raw.withdrawal).map_err(|(f, m)| (format!("withdrawal.{f}"), m))?;

    let config = match &raw.config {
        Some(c) => config_json(c).map_err(|m| ("config".to_string(), m))?,
        None => default_config.to_string(),
    };

    let mut history = Vec::new();
    for (i, h) in raw.history.iter().enumerate() {
        let at = |f: &str| format!("history[{i}]{}{f}", if f.is_empty() { "" } else { "." });
        let requested_at = match (&h.ago, h.requested_at) {
            (Some(_), Some(_)) => {
                return Err((at(""), "give `ago` or `requested_at`, not both".into()));
            }
            (Some(ago), None) => {
                let ago = ago.ms().map_err(|m| (at("ago"), m))?;
                w.requested_at
                    .checked_sub(ago)
                    .ok_or_else(|| (at("ago"), "is before the Unix epoch".to_string()))?
            }
            (None, Some(t)) => t,
            (None, None) => w.requested_at,
        };
        let repeat = h.repeat.unwrap_or(1);
        if repeat == 0 {
            return Err((at("repeat"), "must be at least 1".into()));
        }
        let p = h;
        let mut earlier = Withdrawal {
            id: String::new(),
            requested_at,
            // The optional timestamps describe the current request only.
            account_created_at: None,
            credential_changed_at: None,
            destination_first_used_at: None,
            usd_cents: p.usd_cents.or(w.usd_cents),
            ..w.clone()
        };
        if let Some(v) = &p.account {
            earlier.account = v.clone();
        }
        if let Some(v) = &p.asset {
            earlier.asset = v.clone();
        }
        if let Some(v) = &p.chain {
            earlier.chain = v.clone();
        }
        if let Some(v) = &p.destination {
            earlier.destination = v.clone();
        }
        if let Some(v) = &p.amount {
            earlier.amount = v.value().map_err(|m| (at("amount"), m))?;
        }
        if let Some(v) = p.decimals {
            earlier.decimals = v;
        }
        for n in 0..repeat {
            let id = match (&p.id, repeat) {
                (Some(id), 1) => id.clone(),
                (Some(id), _) => format!("{id}-{}", n + 1),
                (None, _) => format!("history-{}-{}", i + 1, n + 1),
            };
            history.push(Withdrawal {
                id,
                ..earlier.clone()
            });
        }
    }

    let mut windows = Vec::new();
    for (i, f) in raw.windows.iter().enumerate() {
        windows.push(WindowFigure {
            scope: match f.scope {
                ScopeName::Account => Scope::Account,
                ScopeName::AccountAsset => Scope::AccountAsset,
                ScopeName::Destination => Scope::Destination,
                ScopeName::AccountDestination => Scope::AccountDestination,
                ScopeName::Asset => Scope::Asset,
            },
            window_ms: f
                .window
                .ms()
                .map_err(|m| (format!("windows[{i}].window"), m))?,
            count: f.count,
            sum: f.sum,
            usd_cents: f.usd_cents,
        });
    }

    let e = raw.expect;
    let verdict = e.verdict.map(|v| match v {
        VerdictName::Allow => Verdict::Allow,
        VerdictName::Hold => Verdict::Hold,
        VerdictName::Deny => Verdict::Deny,
    });
    match (&verdict, &e.config_error) {
        (None, None) => {
            return Err((
                "expect".into(),
                "needs `verdict` (or `config_error` for a refused configuration)".into(),
            ));
        }
        (Some(_), Some(_)) => {
            return Err((
                "expect".into(),
                "`verdict` and `config_error` exclude each other".into(),
            ));
        }
        (None, Some(_)) if e.reasons.is_some() || !e.reasons_include.is_empty() => {
            return Err((
                "expect".into(),
                "a refused configuration has no reasons to expect".into(),
            ));
        }
        _ => {}
    }
    if e.reasons.is_some() && !e.reasons_include.is_empty() {
        return Err((
            "expect".into(),
            "give `reasons` (the exact list) or `reasons_include`, not both".into(),
        ));
    }

    Ok(Case {
        name: raw.name,
        scenario: Scenario {
            withdrawal: w,
            config,
            lists: lists.to_vec(),
            history,
            windows,
            window_error: raw.window_error,
        },
        expect: Expectation {
            verdict,
            reasons: e.reasons,
            reasons_include: e.reasons_include,
            config_error: e.config_error,
        },
    })
}

// ------------------------------------------------------------------ checking

impl Expectation {
    /// Whether `got` meets this expectation.
    pub fn matches(&self, got: &Got) -> bool {
        match got {
            Got::ConfigError(message) => self
                .config_error
                .as_ref()
                .is_some_and(|want| message.contains(want.as_str())),
            Got::Decision(d) => {
                if self.config_error.is_some() || self.verdict != Some(d.verdict) {
                    return false;
                }
                let codes: Vec<&str> = d.reasons.iter().map(|r| r.code.as_str()).collect();
                if let Some(want) = &self.reasons
                    && codes != want.iter().map(String::as_str).collect::<Vec<_>>()
                {
                    return false;
                }
                self.reasons_include
                    .iter()
                    .all(|want| codes.contains(&want.as_str()))
            }
        }
    }
}

/// A case's result for what it got.
pub fn judge(file: &str, case: &Case, got: Result<Got, String>) -> CaseResult {
    let outcome = match got {
        Err(e) => Outcome::Error(e),
        Ok(got) if case.expect.matches(&got) => Outcome::Passed,
        Ok(got) => Outcome::Failed {
            expected: case.expect.clone(),
            got,
        },
    };
    CaseResult {
        file: file.to_string(),
        case: case.name.clone(),
        outcome,
    }
}

/// Decides every case with policy `P` natively, through the [mock
/// host](crate::mock).
pub fn run_native<P: Policy>(fixtures: &Fixtures) -> Vec<CaseResult> {
    fixtures
        .cases
        .iter()
        .map(|case| {
            let got = match mock::try_decide::<P>(&case.scenario) {
                Ok(d) => Ok(Got::Decision(d)),
                Err(DecideError::Config(m)) => Ok(Got::ConfigError(m)),
                Err(e @ DecideError::Scenario(_)) => Err(e.to_string()),
            };
            judge(&fixtures.origin, case, got)
        })
        .collect()
}

/// Runs every `*.toml` fixture in `dir` natively with `P` and panics,
/// listing each failure, unless every case passes. For a policy crate's
/// `#[test]`.
pub fn assert_native_dir<P: Policy>(dir: impl AsRef<Path>) {
    let all = Fixtures::load_dir(dir.as_ref()).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !all.is_empty(),
        "no *.toml fixture in {}",
        dir.as_ref().display()
    );
    let results: Vec<CaseResult> = all.iter().flat_map(run_native::<P>).collect();
    assert_all_passed(&results);
}

/// Panics listing every result that did not pass.
pub fn assert_all_passed(results: &[CaseResult]) {
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed())
        .map(ToString::to_string)
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} fixture cases did not pass:\n{}",
        failed.len(),
        results.len(),
        failed.join("\n")
    );
}

// ----------------------------------------------------------------- display

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Allow => "allow",
        Verdict::Hold => "hold",
        Verdict::Deny => "deny",
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(want) = &self.config_error {
            return write!(
                f,
                "configuration refused with a message containing {want:?}"
            );
        }
        match self.verdict {
            Some(v) => f.write_str(verdict_name(v))?,
            None => f.write_str("?")?,
        }
        if let Some(reasons) = &self.reasons {
            write!(f, " [{}]", reasons.join(", "))?;
        }
        if !self.reasons_include.is_empty() {
            write!(f, " including [{}]", self.reasons_include.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Display for Got {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Got::ConfigError(m) => write!(f, "configuration refused: {m}"),
            Got::Decision(d) => {
                let codes: Vec<&str> = d.reasons.iter().map(|r| r.code.as_str()).collect();
                write!(f, "{} [{}]", verdict_name(d.verdict), codes.join(", "))?;
                for r in &d.reasons {
                    write!(f, "\n      {}: {}", r.code, r.detail)?;
                    for e in &r.evidence {
                        write!(
                            f,
                            "\n        evidence: {} {} on {} ({})",
                            e.address,
                            e.label.as_deref().unwrap_or("-"),
                            e.list,
                            e.list_version
                        )?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for CaseResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Passed => write!(f, "ok     {}: {}", self.file, self.case),
            Outcome::Failed { expected, got } => write!(
                f,
                "FAILED {}: {}\n  expected: {expected}\n  got:      {got}",
                self.file, self.case
            ),
            Outcome::Error(e) => write!(f, "ERROR  {}: {}\n  {e}", self.file, self.case),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{DEFAULT_DESTINATION, DEFAULT_REQUESTED_AT};
    use riskgate_guest::{Decision, Reason, Withdrawal, host};

    const FULL: &str = r#"
[defaults]
config = '{"max_amount": 1000}'
withdrawal = { chain = "ethereum", asset = "ETH", decimals = 18, usd_cents = 100 }

[[list]]
name = "ofac-sdn"
version = "2024-09-27"
chain = "ethereum"
addresses = [
    "0x098b716b8aaf21512996dc57eb0615e2383e2f96",
    { address = "18Vkr7mviKueocwa6wGq4WXWfzvCdfkzC2", chain = "bitcoin", label = "Lazarus Group" },
]

[[case]]
name = "listed destination is denied"
withdrawal = { destination = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96", amount = 5, credential_changed_at = "2h ago" }
config = { max_amount = 10, nested = { a = [1, 2] } }
history = [{ amount = 900, ago = "2h" }, { ago = "90s", repeat = 3, account = "acct-2" }, { requested_at = 1735689700000 }]
windows = [{ scope = "account-asset", window = "24h", count = 9, sum = 900, usd_cents = 1 }]
expect = { verdict = "deny", reasons = ["sanctions.hit"] }

[[case]]
name = "second"
window_error = "down"
expect = { verdict = "hold", reasons_include = ["a.b"] }

[[case]]
name = "third"
expect = { config_error = "too big" }
"#;

    #[test]
    fn a_full_file_becomes_scenarios() {
        let f = Fixtures::parse(FULL, "full.toml").unwrap();
        assert_eq!(f.origin, "full.toml");
        assert_eq!(f.cases.len(), 3);
        let c = &f.cases[0];
        let s = &c.scenario;
        assert_eq!(s.withdrawal.id, "listed destination is denied");
        assert_eq!(s.withdrawal.account, "acct-1");
        assert_eq!(s.withdrawal.amount, 5);
        assert_eq!(s.withdrawal.usd_cents, Some(100));
        assert_eq!(s.withdrawal.requested_at, DEFAULT_REQUESTED_AT);
        assert_eq!(
            s.withdrawal.credential_changed_at,
            Some(DEFAULT_REQUESTED_AT - 2 * 3_600_000)
        );
        let config: serde_json::Value = serde_json::from_str(&s.config).unwrap();
        assert_eq!(
            config,
            serde_json::json!({"max_amount": 10, "nested": {"a": [1, 2]}})
        );
        assert_eq!(s.lists.len(), 2);
        assert_eq!(s.lists[0].chain, "ethereum");
        assert_eq!(s.lists[0].version, "2024-09-27");
        assert_eq!(s.lists[1].chain, "bitcoin");
        assert_eq!(s.lists[1].label.as_deref(), Some("Lazarus Group"));
        assert_eq!(s.history.len(), 5);
        assert_eq!(s.history[0].amount, 900);
        assert_eq!(s.history[0].destination, s.withdrawal.destination);
        assert_eq!(
            s.history[0].requested_at,
            DEFAULT_REQUESTED_AT - 2 * 3_600_000
        );
        assert_eq!(s.history[0].credential_changed_at, None);
        assert_eq!(s.history[1].account, "acct-2");
        assert_eq!(s.history[1].amount, 5);
        assert_eq!(s.history[3].requested_at, DEFAULT_REQUESTED_AT - 90_000);
        assert_eq!(s.history[4].requested_at, 1_735_689_700_000);
        let ids: std::collections::HashSet<&str> =
            s.history.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids.len(), 5, "history ids are distinct");
        assert_eq!(
            s.windows,
            [WindowFigure {
                scope: Scope::AccountAsset,
                window_ms: 86_400_000,
                count: 9,
                sum: 900,
                usd_cents: 1
            }]
        );
        assert_eq!(c.expect.verdict, Some(Verdict::Deny));
        assert_eq!(
            c.expect.reasons.as_deref(),
            Some(&["sanctions.hit".to_string()][..])
        );

        let second = &f.cases[1];
        assert_eq!(second.scenario.config, r#"{"max_amount": 1000}"#);
        assert_eq!(second.scenario.withdrawal.destination, DEFAULT_DESTINATION);
        assert_eq!(second.scenario.window_error.as_deref(), Some("down"));
        assert_eq!(second.expect.reasons_include, ["a.b"]);
        assert_eq!(f.cases[2].expect.config_error.as_deref(), Some("too big"));
    }

    fn error(text: &str) -> FixtureError {
        Fixtures::parse(text, "bad.toml").unwrap_err()
    }

    #[test]
    fn errors_name_the_file_the_case_and_the_field() {
        let e = error(
            "[[case]]\nname = \"c1\"\nwithdrawal = { amount = 1, colour = \"red\" }\nexpect = { verdict = \"allow\" }\n",
        );
        assert_eq!(e.origin, "bad.toml");
        assert_eq!(e.case.as_deref(), Some("c1"));
        assert!(e.message.contains("unknown field `colour`"), "{e}");
        let shown = e.to_string();
        assert!(shown.starts_with("bad.toml: case `c1`: "), "{shown}");

        let e = error(
            "[[case]]\nname = \"c2\"\nhistory = [{ ago = \"2 weeks\" }]\nexpect = { verdict = \"allow\" }\n",
        );
        assert_eq!(e.field.as_deref(), Some("history[0].ago"));
        assert!(e.message.contains("unknown unit"), "{e}");

        let e = error(
            "[[case]]\nname = \"c3\"\nwindows = [{ scope = \"everyone\", window = \"1h\" }]\nexpect = { verdict = \"allow\" }\n",
        );
        assert_eq!(e.field.as_deref(), Some("windows[0].scope"), "{e}");

        let e = error("[[case]]\nname = \"c4\"\nexpect = { verdict = \"maybe\" }\n");
        assert_eq!(e.field.as_deref(), Some("expect.verdict"), "{e}");

        let e = error("[[case]]\nname = \"c5\"\nexpect = { reasons = [] }\n");
        assert_eq!(e.field.as_deref(), Some("expect"), "{e}");

        let e = error(
            "[defaults]\nwithdrawal = { amount = \"12x\" }\n[[case]]\nname = \"c6\"\nexpect = { verdict = \"allow\" }\n",
        );
        assert_eq!(
            e.field.as_deref(),
            Some("defaults.withdrawal.amount"),
            "{e}"
        );

        let e = error("[[list]]\nname = \"l\"\naddresses = [{ adress = \"x\" }]\n");
        assert_eq!(e.case, None);
        assert!(e.field.as_deref().unwrap().starts_with("list[0]"), "{e}");

        let e = error("[[cases]]\nname = \"c\"\n");
        assert_eq!(e.field.as_deref(), Some("cases"));

        let e = error(
            "[[case]]\nname = \"c\"\nexpect = { verdict = \"allow\" }\n[[case]]\nname = \"c\"\nexpect = { verdict = \"allow\" }\n",
        );
        assert!(e.message.contains("another case has this name"), "{e}");

        let e = error(
            "[[case]]\nname = \"c\"\nhistory = [{ ago = \"1h\", requested_at = 5 }]\nexpect = { verdict = \"allow\" }\n",
        );
        assert_eq!(e.field.as_deref(), Some("history[0]"));

        assert!(error("").message.contains("no `[[case]]`"));
        // A TOML syntax error keeps the parser's line and column.
        assert!(
            error("[[case]\n").message.contains("line 1"),
            "{}",
            error("[[case]\n")
        );
    }

    #[test]
    fn the_documented_example_parses() {
        // Read at run time: the crate packaged alone has no docs/ to include.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/fixtures.md");
        let Ok(doc) = std::fs::read_to_string(path) else {
            assert!(
                !std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../wit")).exists(),
                "docs/fixtures.md is missing from the repository"
            );
            return;
        };
        let doc = doc.as_str();
        let start = doc
            .find("```toml\n")
            .expect("docs/fixtures.md has a TOML example")
            + 8;
        let end = start + doc[start..].find("```").unwrap();
        let f = Fixtures::parse(&doc[start..end], "docs/fixtures.md").unwrap();
        assert_eq!(f.cases.len(), 5);
        assert_eq!(f.cases[1].scenario.history.len(), 10);
        assert_eq!(
            f.cases[4].expect.config_error.as_deref(),
            Some("`lists` is empty")
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(90_000));
        assert_eq!(parse_duration("15m"), Ok(900_000));
        assert_eq!(parse_duration("2h"), Ok(7_200_000));
        assert_eq!(parse_duration("7d"), Ok(604_800_000));
        assert_eq!(parse_duration("250ms"), Ok(250));
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("12").is_err());
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
        assert!(parse_duration("999999999999d").is_err());
    }

    /// Denies a destination screening answers a hit for, else allows;
    /// refuses a configuration `{"fail": true}`.
    struct Listed;
    impl Policy for Listed {
        const NAME: &'static str = "listed";
        const VERSION: &'static str = "1";
        fn configure(config: &str) -> Result<Self, String> {
            if config.contains("fail") {
                Err("asked to fail".into())
            } else {
                Ok(Listed)
            }
        }
        fn evaluate(&self, w: &Withdrawal) -> Decision {
            match host::screen(&w.chain, &w.destination) {
                Ok(h) if h.is_empty() => Decision::allow(),
                Ok(h) => Decision::allow().with(
                    Verdict::Deny,
                    Reason::new("listed.hit", "hit").with_evidence(h),
                ),
                Err(_) => Decision::hold("listed.bad", "bad"),
            }
        }
    }

    const RUN: &str = r#"
[[list]]
name = "l"
addresses = ["0x52908400098527886e0f7030069857d2e4169ee7"]

[[case]]
name = "right"
expect = { verdict = "deny", reasons = ["listed.hit"] }

[[case]]
name = "wrong verdict"
expect = { verdict = "allow" }

[[case]]
name = "wrong reasons"
expect = { verdict = "deny", reasons = ["listed.hit", "listed.more"] }

[[case]]
name = "included"
expect = { verdict = "deny", reasons_include = ["listed.hit"] }

[[case]]
name = "missing included"
expect = { verdict = "deny", reasons_include = ["listed.other"] }

[[case]]
name = "config refused as expected"
config = { fail = true }
expect = { config_error = "asked to" }

[[case]]
name = "config refused unexpectedly"
config = { fail = true }
expect = { verdict = "deny" }

[[case]]
name = "config accepted though expected refused"
expect = { config_error = "asked to" }
"#;

    #[test]
    fn the_native_runner_passes_and_fails_cases() {
        let f = Fixtures::parse(RUN, "run.toml").unwrap();
        let results = run_native::<Listed>(&f);
        let passed: Vec<(&str, bool)> = results
            .iter()
            .map(|r| (r.case.as_str(), r.passed()))
            .collect();
        assert_eq!(
            passed,
            [
                ("right", true),
                ("wrong verdict", false),
                ("wrong reasons", false),
                ("included", true),
                ("missing included", false),
                ("config refused as expected", true),
                ("config refused unexpectedly", false),
                ("config accepted though expected refused", false),
            ]
        );
        let shown = results[1].to_string();
        assert!(
            shown.starts_with("FAILED run.toml: wrong verdict\n"),
            "{shown}"
        );
        assert!(shown.contains("expected: allow\n"), "{shown}");
        assert!(shown.contains("got:      deny [listed.hit]"), "{shown}");
        assert!(shown.contains("listed.hit: hit"), "{shown}");
        assert!(
            shown.contains("evidence: 0x52908400098527886E0F7030069857D2E4169EE7 - on l (fixture)"),
            "{shown}"
        );
        assert!(
            results[6]
                .to_string()
                .contains("configuration refused: asked to fail")
        );
        let panicked = std::panic::catch_unwind(|| assert_all_passed(&results));
        assert!(panicked.is_err());
    }

    #[test]
    fn an_invalid_scenario_is_an_error_result() {
        let text = "[[list]]\nname = \"l\"\naddresses = [\"nope\"]\n[[case]]\nname = \"c\"\nexpect = { verdict = \"allow\" }\n";
        let f = Fixtures::parse(text, "x.toml").unwrap();
        let r = &run_native::<Listed>(&f)[0];
        assert!(
            matches!(&r.outcome, Outcome::Error(e) if e.contains("nope")),
            "{r}"
        );
    }
}
