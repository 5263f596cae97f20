//! The native mock host: runs a [`Policy`] on the host target against a
//! [`Scenario`], answering its host calls as the real host would.
//!
//! ```
//! use riskgate_guest::prelude::*;
//! use riskgate_testkit::{Scenario, mock, scenario::withdrawal};
//!
//! struct Sanctions;
//! impl Policy for Sanctions {
//!     const NAME: &'static str = "sanctions";
//!     const VERSION: &'static str = "0.1.0";
//!     fn configure(_: &str) -> Result<Self, String> { Ok(Sanctions) }
//!     fn evaluate(&self, w: &Withdrawal) -> Decision {
//!         match host::screen(&w.chain, &w.destination) {
//!             Ok(hits) if hits.is_empty() => Decision::allow(),
//!             Ok(hits) => Decision::allow()
//!                 .with(Verdict::Deny, Reason::new("sanctions.hit", "listed").with_evidence(hits)),
//!             Err(e) => Decision::hold("sanctions.unscreenable", format!("{e:?}")),
//!         }
//!     }
//! }
//!
//! // Listed in lowercase, withdrawn to in EIP-55 mixed case: the same key.
//! let scenario = Scenario::new(withdrawal("w-1"))
//!     .listed("ofac", "2024-09-27", "ethereum", &riskgate_testkit::scenario::DEFAULT_DESTINATION.to_lowercase(), None);
//! let decision = mock::decide::<Sanctions>(&scenario).unwrap();
//! assert_eq!(decision.verdict, Verdict::Deny);
//! assert_eq!(decision.reasons[0].evidence[0].list, "ofac");
//! ```
//!
//! - `screen(chain, address)` canonicalises with `riskgate-address` exactly
//!   as the host does (the same errors for an unsupported chain or an
//!   invalid address, the same length caps) and answers one
//!   [`Evidence`] per list holding the canonical key. A listed entry stands
//!   for every key the host's list importers store it under
//!   ([`riskgate_address::list_keys`], plus its key on its own chain), the
//!   first entry of a key giving the label (a later one's when it has none).
//! - `window(scope, window_ms)` answers the scenario's explicit
//!   [`WindowFigure`](crate::WindowFigure) for `(scope, window_ms)` when
//!   there is one, else computes it from the history with the host's
//!   semantics: the scope's key as the velocity store builds it (account;
//!   account and asset; chain and canonical destination; account, chain
//!   and destination; asset), every recorded withdrawal with `requested_at
//!   > t - window_ms` where `t` is the current `requested_at` (later ones
//!   count too), the current withdrawal not included, `sum` over the
//!   current asset only, `usd_cents` over all (none counts 0). A window
//!   longer than [`RETENTION_MS`] fails as the host's does, and
//!   [`Scenario::window_error`] fails every query as an unavailable store.
//! - `log` is recorded.
//!
//! [`decide`] then applies what the gate adds to one policy's answer, so a
//! native decision equals the [component harness](crate)'s: a withdrawal
//! the gate would refuse is HOLD `gate.bad_input` without running the
//! policy; an answer breaking the contract (a reason code not of
//! `[a-z0-9_.-]{1,64}`, a `gate.` code, more than 64 reasons or evidence
//! entries) is HOLD `gate.policy_fault`; a HOLD or DENY without reasons
//! gains `gate.unexplained_verdict`; details are cut at 1024 characters; a
//! velocity store failure adds HOLD `gate.velocity_unavailable`.

use crate::scenario::{Listed, Scenario};
use riskgate_address::{AddressError, Canonical};
use riskgate_guest::native::{self, Host, Instance};
use riskgate_guest::{
    Decision, Evidence, Level, Policy, Reason, Scope, ScreenError, Verdict, WindowStats, Withdrawal,
};
use riskgate_model::{GateCode, caps};

/// History the host keeps, and so the longest window it answers: the
/// velocity store's default retention (eight days).
pub const RETENTION_MS: u64 = 8 * 24 * 3_600_000;

/// Longest reason detail the gate keeps, in characters.
pub const MAX_DETAIL: usize = 1024;
/// Most reasons one policy may give.
pub const MAX_REASONS: usize = 64;
/// Most evidence entries one reason may carry.
pub const MAX_EVIDENCE: usize = 64;
/// Longest reason code.
pub const MAX_CODE: usize = 64;
/// Window queries the host answers per evaluation.
pub const WINDOW_BUDGET: usize = 64;

/// The origin the gate's fault details name for a policy decided by
/// [`decide`] (the component harness uses it too, so details agree).
pub const ORIGIN: &str = "testkit";

/// One host call and what it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostCall {
    Screen {
        chain: String,
        address: String,
        answer: Result<Vec<Evidence>, ScreenError>,
    },
    Window {
        scope: Scope,
        window_ms: u64,
        answer: Result<WindowStats, String>,
    },
    Log {
        level: Level,
        message: String,
    },
}

/// One designated set: a list name, its version and its entries' keys.
#[derive(Debug)]
struct Set {
    list: String,
    version: String,
    /// Each entry's keys and label, in scenario order.
    entries: Vec<(Vec<Vec<u8>>, Option<String>)>,
}

/// The mock host of one scenario. Implements [`native::Host`].
#[derive(Debug)]
pub struct MockHost {
    current: Withdrawal,
    current_keys: [String; 5],
    sets: Vec<Set>,
    history: Vec<([String; 5], u64, String, u64, u64)>,
    windows: Vec<crate::WindowFigure>,
    window_error: Option<String>,
    calls: Vec<HostCall>,
    window_queries: usize,
    /// Set when a window query failed because the store is unavailable.
    velocity_fault: Option<String>,
}

/// Why a scenario cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    #[error("listed address `{address}` (list `{list}`) is not an address on any chain: {error}")]
    BadListed {
        list: String,
        address: String,
        error: AddressError,
    },
    #[error("list `{list}` is given with two versions, `{first}` and `{second}`")]
    ListVersions {
        list: String,
        first: String,
        second: String,
    },
    #[error("history withdrawal {index} reuses the current withdrawal's id `{id}`")]
    HistoryId { index: usize, id: String },
    #[error("history withdrawals {first} and {index} share the id `{id}`")]
    HistoryDuplicate {
        first: usize,
        index: usize,
        id: String,
    },
    #[error("history withdrawal {index} (`{id}`) is refused by the gate's input checks: {error}")]
    BadHistory {
        index: usize,
        id: String,
        error: String,
    },
}

impl MockHost {
    /// The host of `scenario`: its lists, history and window figures.
    pub fn new(scenario: &Scenario) -> Result<Self, ScenarioError> {
        let mut sets: Vec<Set> = Vec::new();
        for listed in &scenario.lists {
            let keys = listed_keys(listed)?;
            match sets.iter_mut().find(|s| s.list == listed.list) {
                Some(set) if set.version != listed.version => {
                    return Err(ScenarioError::ListVersions {
                        list: listed.list.clone(),
                        first: set.version.clone(),
                        second: listed.version.clone(),
                    });
                }
                Some(set) => set.entries.push((keys, listed.label.clone())),
                None => sets.push(Set {
                    list: listed.list.clone(),
                    version: listed.version.clone(),
                    entries: vec![(keys, listed.label.clone())],
                }),
            }
        }
        let mut history = Vec::with_capacity(scenario.history.len());
        for (index, h) in scenario.history.iter().enumerate() {
            if h.id == scenario.withdrawal.id {
                return Err(ScenarioError::HistoryId {
                    index,
                    id: h.id.clone(),
                });
            }
            if let Some(first) = scenario.history[..index].iter().position(|o| o.id == h.id) {
                return Err(ScenarioError::HistoryDuplicate {
                    first,
                    index,
                    id: h.id.clone(),
                });
            }
            if let Err(e) = to_model(h).validate() {
                return Err(ScenarioError::BadHistory {
                    index,
                    id: h.id.clone(),
                    error: e.to_string(),
                });
            }
            history.push((
                scope_keys(h),
                h.requested_at,
                h.asset.clone(),
                h.amount,
                h.usd_cents.unwrap_or(0),
            ));
        }
        Ok(MockHost {
            current: scenario.withdrawal.clone(),
            current_keys: scope_keys(&scenario.withdrawal),
            sets,
            history,
            windows: scenario.windows.clone(),
            window_error: scenario.window_error.clone(),
            calls: Vec::new(),
            window_queries: 0,
            velocity_fault: None,
        })
    }

    /// Every host call so far, with its answer, in order.
    pub fn calls(&self) -> &[HostCall] {
        &self.calls
    }

    /// The log lines so far.
    pub fn logs(&self) -> impl Iterator<Item = (Level, &str)> {
        self.calls.iter().filter_map(|c| match c {
            HostCall::Log { level, message } => Some((*level, message.as_str())),
            _ => None,
        })
    }

    /// Why the velocity store failed during the calls so far, if it did.
    pub fn velocity_fault(&self) -> Option<&str> {
        self.velocity_fault.as_deref()
    }

    /// Designated hits screening answered so far (each once).
    pub fn screened(&self) -> Vec<Evidence> {
        let mut seen: Vec<Evidence> = Vec::new();
        for call in &self.calls {
            if let HostCall::Screen {
                answer: Ok(hits), ..
            } = call
            {
                for hit in hits {
                    let dup = seen.iter().any(|s| {
                        s.list == hit.list
                            && s.list_version == hit.list_version
                            && s.address == hit.address
                    });
                    if !dup {
                        seen.push(hit.clone());
                    }
                }
            }
        }
        seen
    }

    fn answer_screen(&self, chain: &str, address: &str) -> Result<Vec<Evidence>, ScreenError> {
        if chain.len() > caps::CHAIN {
            return Err(ScreenError::UnsupportedChain(format!(
                "chain name longer than {} bytes",
                caps::CHAIN
            )));
        }
        if address.len() > caps::DESTINATION {
            return Err(ScreenError::InvalidAddress(format!(
                "address longer than {} bytes",
                caps::DESTINATION
            )));
        }
        let canonical = match riskgate_address::canonicalize(chain, address) {
            Ok(c) => c,
            Err(AddressError::UnsupportedChain(c)) => {
                return Err(ScreenError::UnsupportedChain(format!(
                    "unsupported chain `{c}`"
                )));
            }
            Err(e) => return Err(ScreenError::InvalidAddress(e.to_string())),
        };
        Ok(self
            .sets
            .iter()
            .filter_map(|set| lookup(set, &canonical))
            .collect())
    }

    fn answer_window(&mut self, scope: Scope, window_ms: u64) -> Result<WindowStats, String> {
        self.window_queries += 1;
        if self.window_queries > WINDOW_BUDGET {
            return Err(format!(
                "more than {WINDOW_BUDGET} window queries in one evaluation"
            ));
        }
        if let Some(why) = &self.window_error {
            let message = format!("velocity store unavailable: {why}");
            if self.velocity_fault.is_none() {
                self.velocity_fault = Some(message.clone());
            }
            return Err(message);
        }
        if window_ms > RETENTION_MS {
            return Err(format!(
                "window of {window_ms} ms is longer than the {RETENTION_MS} ms of history kept"
            ));
        }
        if let Some(f) = self
            .windows
            .iter()
            .rev()
            .find(|f| f.scope == scope && f.window_ms == window_ms)
        {
            return Ok(WindowStats {
                count: f.count,
                sum: f.sum,
                usd_cents: f.usd_cents,
            });
        }
        let t = self.current.requested_at;
        // The store's horizon: the newest recorded requested-at minus the
        // retention; a window reaching below it is refused.
        let newest = self.history.iter().map(|h| h.1).max().unwrap_or(0);
        let horizon = newest.saturating_sub(RETENTION_MS);
        if horizon != 0 && t.saturating_add(1) < horizon.saturating_add(window_ms) {
            return Err(format!(
                "requested-at {t} is older than the history kept (pruned before {horizon})"
            ));
        }
        let slot = scope_index(scope);
        let key = &self.current_keys[slot];
        let mut stats = WindowStats {
            count: 0,
            sum: 0,
            usd_cents: 0,
        };
        for (keys, ts, asset, amount, usd) in &self.history {
            if &keys[slot] != key || ts.saturating_add(window_ms) <= t {
                continue;
            }
            stats.count += 1;
            stats.usd_cents = stats.usd_cents.saturating_add(*usd);
            if asset == &self.current.asset {
                stats.sum = stats.sum.saturating_add(*amount);
            }
        }
        Ok(stats)
    }
}

impl Host for MockHost {
    fn screen(&mut self, chain: &str, address: &str) -> Result<Vec<Evidence>, ScreenError> {
        let answer = self.answer_screen(chain, address);
        self.calls.push(HostCall::Screen {
            chain: chain.to_string(),
            address: address.to_string(),
            answer: answer.clone(),
        });
        answer
    }

    fn window(&mut self, scope: Scope, window_ms: u64) -> Result<WindowStats, String> {
        let answer = self.answer_window(scope, window_ms);
        self.calls.push(HostCall::Window {
            scope,
            window_ms,
            answer: answer.clone(),
        });
        answer
    }

    fn log(&mut self, level: Level, message: &str) {
        self.calls.push(HostCall::Log {
            level,
            message: message.to_string(),
        });
    }
}

/// The keys a listed entry stands for: every key the importers store it
/// under, and its key on its own chain (an alias chain's own encoding).
pub(crate) fn listed_keys(listed: &Listed) -> Result<Vec<Vec<u8>>, ScenarioError> {
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let own = riskgate_address::canonicalize(&listed.chain, &listed.address);
    if let Ok(c) = &own {
        keys.push(c.key().to_vec());
    }
    match riskgate_address::list_keys(&listed.address) {
        Ok(all) => {
            for c in all {
                if !keys.iter().any(|k| k == c.key()) {
                    keys.push(c.key().to_vec());
                }
            }
        }
        Err(error) if keys.is_empty() => {
            return Err(ScenarioError::BadListed {
                list: listed.list.clone(),
                address: listed.address.clone(),
                error,
            });
        }
        Err(_) => {}
    }
    Ok(keys)
}

/// A set's answer for `canonical`: the first entry holding the key gives
/// the label, or a later one when it has none (the set builder's rule).
fn lookup(set: &Set, canonical: &Canonical) -> Option<Evidence> {
    let key = canonical.key();
    let mut holding = set
        .entries
        .iter()
        .filter(|(keys, _)| keys.iter().any(|k| k.as_slice() == key));
    let (_, first_label) = holding.next()?;
    let label = first_label
        .clone()
        .or_else(|| holding.find_map(|(_, l)| l.clone()));
    Some(Evidence {
        list: set.list.clone(),
        list_version: set.version.clone(),
        label,
        address: canonical.as_str().to_string(),
    })
}

fn scope_index(scope: Scope) -> usize {
    match scope {
        Scope::Account => 0,
        Scope::AccountAsset => 1,
        Scope::Destination => 2,
        Scope::AccountDestination => 3,
        Scope::Asset => 4,
    }
}

/// The velocity keys of `w`, one per scope in [`scope_index`] order, as the
/// store builds them: length-prefixed parts, the destination as
/// `chain/canonical` (the trimmed text when it does not parse).
pub(crate) fn scope_keys(w: &Withdrawal) -> [String; 5] {
    let destination = match riskgate_address::canonicalize(&w.chain, &w.destination) {
        Ok(c) => c.as_str().to_string(),
        Err(_) => w.destination.trim().to_string(),
    };
    let dest = format!("{}/{}", w.chain, destination);
    let key = |parts: &[&str]| -> String {
        parts
            .iter()
            .map(|p| format!("{}:{p}", p.len()))
            .collect::<String>()
    };
    [
        key(&["acct", &w.account]),
        key(&["acct-asset", &w.account, &w.asset]),
        key(&["dest", &dest]),
        key(&["acct-dest", &w.account, &dest]),
        key(&["asset", &w.asset]),
    ]
}

/// The host's model of a guest withdrawal (the same fields): what the gate
/// checks and decides.
pub fn to_model(w: &Withdrawal) -> riskgate_model::Withdrawal {
    riskgate_model::Withdrawal {
        id: w.id.clone(),
        account: w.account.clone(),
        asset: w.asset.clone(),
        chain: w.chain.clone(),
        destination: w.destination.clone(),
        amount: w.amount,
        decimals: w.decimals,
        usd_cents: w.usd_cents,
        requested_at: w.requested_at,
        account_created_at: w.account_created_at,
        credential_changed_at: w.credential_changed_at,
        destination_first_used_at: w.destination_first_used_at,
    }
}

/// Why [`try_decide`] could not decide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    /// The scenario cannot be set up.
    #[error("invalid scenario: {0}")]
    Scenario(#[from] ScenarioError),
    /// The policy refused the scenario's configuration.
    #[error("configuration refused by the policy: {0}")]
    Config(String),
}

/// Decides `scenario` with policy `P` natively: configures it with the
/// scenario's configuration (its error is `Err`) and evaluates the
/// withdrawal under a [`MockHost`], then applies the gate's rules (see the
/// module documentation). An invalid scenario (a listed entry that is no
/// address, a history entry reusing the withdrawal's id) is `Err` too.
pub fn decide<P: Policy>(scenario: &Scenario) -> Result<Decision, String> {
    try_decide::<P>(scenario).map_err(|e| e.to_string())
}

/// [`decide`], also returning every host call the policy made, with its answer.
pub fn decide_with_calls<P: Policy>(
    scenario: &Scenario,
) -> Result<(Decision, Vec<HostCall>), String> {
    try_decide_with_calls::<P>(scenario).map_err(|e| e.to_string())
}

/// A decide closure for the [`properties`](crate::properties): decides
/// each scenario with `P` natively, panicking (naming the scenario's
/// withdrawal) when it cannot be decided.
pub fn decider<P: Policy>() -> impl FnMut(&Scenario) -> Decision {
    |scenario: &Scenario| match try_decide::<P>(scenario) {
        Ok(decision) => decision,
        Err(e) => panic!("withdrawal `{}`: {e}", scenario.withdrawal.id),
    }
}

/// [`decide`] with a typed error.
pub fn try_decide<P: Policy>(scenario: &Scenario) -> Result<Decision, DecideError> {
    try_decide_with_calls::<P>(scenario).map(|(decision, _)| decision)
}

/// [`decide_with_calls`] with a typed error.
pub fn try_decide_with_calls<P: Policy>(
    scenario: &Scenario,
) -> Result<(Decision, Vec<HostCall>), DecideError> {
    let mut host = MockHost::new(scenario)?;
    let policy = Instance::<P>::configure(&scenario.config).map_err(DecideError::Config)?;
    if let Err(e) = to_model(&scenario.withdrawal).validate() {
        return Ok((gate_hold(GateCode::BadInput, e.to_string()), host.calls));
    }
    let raw = native::with_host(&mut host, || policy.evaluate(&scenario.withdrawal));
    let decision = gate_rules(
        P::NAME,
        ORIGIN,
        Ok(raw),
        host.screened(),
        host.velocity_fault(),
    );
    Ok((decision, host.calls))
}

/// A HOLD with one of the gate's own reasons.
pub(crate) fn gate_hold(code: GateCode, detail: String) -> Decision {
    Decision {
        verdict: Verdict::Hold,
        reasons: vec![Reason::new(code.as_str(), detail)],
    }
}

/// How a policy's answer broke the contract (the gate's wording).
fn contract_violation(out: &Decision) -> Option<String> {
    if out.reasons.len() > MAX_REASONS {
        return Some(format!(
            "{} reasons, more than {MAX_REASONS}",
            out.reasons.len()
        ));
    }
    for r in &out.reasons {
        let well_formed = !r.code.is_empty()
            && r.code.len() <= MAX_CODE
            && r.code.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
            });
        if !well_formed {
            return Some(format!(
                "reason code `{}` is not 1-{MAX_CODE} of [a-z0-9_.-]",
                truncate(&r.code, MAX_CODE)
            ));
        }
        if GateCode::is_gate(&r.code) {
            return Some(format!("reason code `{}` uses the gate's prefix", r.code));
        }
        if r.evidence.len() > MAX_EVIDENCE {
            return Some(format!("reason `{}` carries too much evidence", r.code));
        }
    }
    None
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Allow => "allow",
        Verdict::Hold => "hold",
        Verdict::Deny => "deny",
    }
}

fn severity(v: Verdict) -> u8 {
    match v {
        Verdict::Allow => 0,
        Verdict::Hold => 1,
        Verdict::Deny => 2,
    }
}

fn raise(decision: &mut Decision, v: Verdict) {
    if severity(v) > severity(decision.verdict) {
        decision.verdict = v;
    }
}

/// What the gate makes of one enforced policy's call: `result` is the
/// policy's answer or the fault's `(code, text)`; `screened` the hits
/// screening answered during the call; `velocity_fault` why the store
/// failed during it. Mirrors `riskgate::gate` (merge, contract check,
/// fault hold, deny on a screened hit after a fault, velocity fault),
/// keeping each reason's evidence where the gate moves it to the
/// decision's hits.
pub(crate) fn gate_rules(
    name: &str,
    origin: &str,
    result: Result<Decision, (GateCode, String)>,
    screened: Vec<Evidence>,
    velocity_fault: Option<&str>,
) -> Decision {
    let mut own = Decision::allow();
    let faulted = match result {
        Ok(out) => {
            raise(&mut own, out.verdict);
            if let Some(violation) = contract_violation(&out) {
                raise(&mut own, Verdict::Hold);
                own.reasons.push(Reason::new(
                    GateCode::PolicyFault.as_str(),
                    format!("policy `{name}` ({origin}) faulted: contract violation: {violation}"),
                ));
                true
            } else {
                if out.verdict != Verdict::Allow && out.reasons.is_empty() {
                    own.reasons.push(Reason::new(
                        GateCode::UnexplainedVerdict.as_str(),
                        format!(
                            "policy `{name}` returned {} without a reason",
                            verdict_name(out.verdict)
                        ),
                    ));
                }
                for mut r in out.reasons {
                    if r.detail.chars().count() > MAX_DETAIL {
                        r.detail = truncate(&r.detail, MAX_DETAIL);
                    }
                    own.reasons.push(r);
                }
                false
            }
        }
        Err((code, text)) => {
            raise(&mut own, Verdict::Hold);
            own.reasons.push(Reason::new(
                code.as_str(),
                format!("policy `{name}` ({origin}) faulted: {text}"),
            ));
            true
        }
    };
    if faulted && !screened.is_empty() {
        own.verdict = Verdict::Deny;
        let first = format!(
            "{} on {} ({})",
            screened[0].address, screened[0].list, screened[0].list_version
        );
        let n = screened.len();
        own.reasons.push(
            Reason::new(
                GateCode::DesignatedHit.as_str(),
                format!(
                    "policy `{name}` faulted after screening answered it a designated hit ({first}{}): denied on the hit",
                    if n > 1 {
                        format!(" and {} more", n - 1)
                    } else {
                        String::new()
                    }
                ),
            )
            .with_evidence(screened),
        );
    }
    if let Some(why) = velocity_fault {
        raise(&mut own, Verdict::Hold);
        own.reasons.push(Reason::new(
            GateCode::VelocityUnavailable.as_str(),
            format!("the velocity store failed during evaluation: {why}"),
        ));
    }
    own
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{DEFAULT_DESTINATION, DEFAULT_REQUESTED_AT, withdrawal};
    use riskgate_guest::{HOUR_MS, host};

    /// Screens the destination; denies on a hit with the evidence.
    struct Screen;
    impl Policy for Screen {
        const NAME: &'static str = "screen";
        const VERSION: &'static str = "0.1.0";
        fn configure(config: &str) -> Result<Self, String> {
            if config == "{}" {
                Ok(Screen)
            } else {
                Err(format!("unexpected {config}"))
            }
        }
        fn evaluate(&self, w: &Withdrawal) -> Decision {
            match host::screen(&w.chain, &w.destination) {
                Ok(hits) if hits.is_empty() => Decision::allow(),
                Ok(hits) => Decision::allow().with(
                    Verdict::Deny,
                    Reason::new("screen.hit", "listed").with_evidence(hits),
                ),
                Err(ScreenError::UnsupportedChain(why)) => Decision::hold("screen.chain", why),
                Err(ScreenError::InvalidAddress(why)) => Decision::hold("screen.invalid", why),
            }
        }
    }

    /// Answers the config's (scope, window) query in its reason detail.
    struct Window;
    impl Policy for Window {
        const NAME: &'static str = "window";
        const VERSION: &'static str = "0.1.0";
        fn configure(config: &str) -> Result<Self, String> {
            Ok(Window).and_then(|w| {
                if config.is_empty() {
                    Err("empty".into())
                } else {
                    Ok(w)
                }
            })
        }
        fn evaluate(&self, _w: &Withdrawal) -> Decision {
            let mut d = Decision::allow();
            for scope in [
                Scope::Account,
                Scope::AccountAsset,
                Scope::Destination,
                Scope::AccountDestination,
                Scope::Asset,
            ] {
                let detail = match host::window(scope, HOUR_MS) {
                    Ok(s) => format!("{} {} {}", s.count, s.sum, s.usd_cents),
                    Err(e) => format!("error {e}"),
                };
                d.push(Verdict::Allow, Reason::new("window.stats", detail));
            }
            d
        }
    }

    /// Returns whatever verdict and code the configuration names.
    struct Says;
    impl Policy for Says {
        const NAME: &'static str = "says";
        const VERSION: &'static str = "0.1.0";
        fn configure(_: &str) -> Result<Self, String> {
            Ok(Says)
        }
        fn evaluate(&self, w: &Withdrawal) -> Decision {
            match w.account.as_str() {
                "silent-hold" => Decision {
                    verdict: Verdict::Hold,
                    reasons: Vec::new(),
                },
                "gate-code" => Decision::hold("gate.mine", "x"),
                "bad-code" => Decision::hold("Says.Upper", "x"),
                "long-detail" => Decision::hold("says.long", "é".repeat(3000)),
                _ => Decision::allow(),
            }
        }
    }

    fn stats(d: &Decision) -> Vec<&str> {
        d.reasons.iter().map(|r| r.detail.as_str()).collect()
    }

    #[test]
    fn a_listed_destination_is_hit_in_any_spelling_with_the_hosts_evidence() {
        let s = Scenario::new(withdrawal("w"))
            .listed(
                "ofac",
                "v1",
                "ethereum",
                &DEFAULT_DESTINATION.to_lowercase(),
                None,
            )
            .listed(
                "ofac",
                "v1",
                "ethereum",
                &DEFAULT_DESTINATION.to_uppercase().replace("0X", "0x"),
                Some("Group"),
            )
            .listed("other", "v9", "bsc", DEFAULT_DESTINATION, Some("Other"));
        let (d, calls) = decide_with_calls::<Screen>(&s).unwrap();
        assert_eq!(d.verdict, Verdict::Deny);
        let ev = &d.reasons[0].evidence;
        assert_eq!(ev.len(), 2, "one answer per list");
        // The first entry had no label: the later duplicate's is adopted.
        assert_eq!(ev[0].list, "ofac");
        assert_eq!(ev[0].list_version, "v1");
        assert_eq!(ev[0].label.as_deref(), Some("Group"));
        // The canonical text of the screened address (EIP-55).
        assert_eq!(ev[0].address, DEFAULT_DESTINATION);
        assert_eq!(ev[1].list, "other");
        assert_eq!(calls.len(), 1);
        assert!(matches!(&calls[0], HostCall::Screen { chain, .. } if chain == "ethereum"));
    }

    #[test]
    fn a_bitcoin_legacy_address_listed_once_is_hit_on_bitcoin_cash() {
        let address = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2";
        let w = Withdrawal {
            chain: "bitcoin-cash".into(),
            asset: "BCH".into(),
            destination: address.into(),
            ..withdrawal("w")
        };
        let s = Scenario::new(w).listed("l", "1", "bitcoin", address, None);
        assert_eq!(decide::<Screen>(&s).unwrap().verdict, Verdict::Deny);
    }

    #[test]
    fn unscreenable_destinations_get_the_hosts_errors() {
        let w = Withdrawal {
            chain: "nochain".into(),
            ..withdrawal("w")
        };
        let d = decide::<Screen>(&Scenario::new(w)).unwrap();
        assert_eq!(d.reasons[0].code, "screen.chain");
        assert_eq!(d.reasons[0].detail, "unsupported chain `nochain`");

        let w = Withdrawal {
            destination: "0x52908400098527886E0F7030069857D2E4169E".into(),
            ..withdrawal("w")
        };
        let d = decide::<Screen>(&Scenario::new(w)).unwrap();
        assert_eq!(d.reasons[0].code, "screen.invalid");
        let expected =
            riskgate_address::canonicalize("ethereum", "0x52908400098527886E0F7030069857D2E4169E")
                .unwrap_err()
                .to_string();
        assert_eq!(d.reasons[0].detail, expected);
    }

    #[test]
    fn windows_follow_the_stores_semantics() {
        let t = DEFAULT_REQUESTED_AT;
        let h =
            |id: &str, account: &str, asset: &str, dest: &str, at: u64, amount: u64| Withdrawal {
                account: account.into(),
                asset: asset.into(),
                destination: dest.into(),
                requested_at: at,
                amount,
                usd_cents: Some(amount * 10),
                ..withdrawal(id)
            };
        let lower = DEFAULT_DESTINATION.to_lowercase();
        let other = "0x0000000000000000000000000000000000000001";
        let s = Scenario::new(withdrawal("now"))
            .config("x")
            // Exactly one window back: outside (ts > t - W counts).
            .history(h(
                "h1",
                "acct-1",
                "ETH",
                DEFAULT_DESTINATION,
                t - HOUR_MS,
                1,
            ))
            // Just inside.
            .history(h("h2", "acct-1", "ETH", &lower, t - HOUR_MS + 1, 2))
            // Later than now: counts.
            .history(h("h3", "acct-1", "USDT", other, t + 5, 4))
            // Another account, same destination in another spelling.
            .history(h("h4", "acct-2", "ETH", &lower, t - 10, 8));
        let d = decide::<Window>(&s).unwrap();
        assert_eq!(
            stats(&d),
            [
                // account: h2, h3 (sum: ETH only)
                "2 2 60",   // account-asset: h2
                "1 2 20",   // destination (canonical): h2, h4
                "2 10 100", // account-destination: h2
                "1 2 20",   // asset ETH: h2, h4
                "2 10 100",
            ]
        );
    }

    #[test]
    fn explicit_figures_answer_their_query_only() {
        let s = Scenario::new(withdrawal("now")).config("x").window(
            Scope::Destination,
            HOUR_MS,
            WindowStats {
                count: 7,
                sum: 70,
                usd_cents: 700,
            },
        );
        let d = decide::<Window>(&s).unwrap();
        assert_eq!(stats(&d), ["0 0 0", "0 0 0", "7 70 700", "0 0 0", "0 0 0"]);
    }

    #[test]
    fn a_failing_store_is_an_error_to_the_policy_and_a_hold_from_the_gate() {
        let s = Scenario::new(withdrawal("now"))
            .config("x")
            .window_error("disk gone");
        let d = decide::<Window>(&s).unwrap();
        assert_eq!(d.verdict, Verdict::Hold);
        assert_eq!(
            d.reasons[0].detail,
            "error velocity store unavailable: disk gone"
        );
        let last = d.reasons.last().unwrap();
        assert_eq!(last.code, "gate.velocity_unavailable");
        assert_eq!(
            last.detail,
            "the velocity store failed during evaluation: velocity store unavailable: disk gone"
        );
    }

    #[test]
    fn a_window_longer_than_the_retention_fails_without_a_gate_fault() {
        struct Long;
        impl Policy for Long {
            const NAME: &'static str = "long";
            const VERSION: &'static str = "1";
            fn configure(_: &str) -> Result<Self, String> {
                Ok(Long)
            }
            fn evaluate(&self, _: &Withdrawal) -> Decision {
                match host::window(Scope::Account, RETENTION_MS + 1) {
                    Ok(_) => Decision::allow(),
                    Err(e) => Decision::hold("long.unavailable", e),
                }
            }
        }
        let d = decide::<Long>(&Scenario::new(withdrawal("now"))).unwrap();
        assert_eq!(d.reasons.len(), 1);
        assert_eq!(
            d.reasons[0].detail,
            format!(
                "window of {} ms is longer than the {RETENTION_MS} ms of history kept",
                RETENTION_MS + 1
            )
        );
    }

    #[test]
    fn the_gates_rules_apply_to_the_answer() {
        let says = |account: &str| {
            decide::<Says>(&Scenario::new(Withdrawal {
                account: account.into(),
                ..withdrawal("w")
            }))
            .unwrap()
        };
        let d = says("silent-hold");
        assert_eq!(d.reasons[0].code, "gate.unexplained_verdict");
        assert_eq!(
            d.reasons[0].detail,
            "policy `says` returned hold without a reason"
        );
        let d = says("gate-code");
        assert_eq!(d.reasons.len(), 1);
        assert_eq!(d.reasons[0].code, "gate.policy_fault");
        assert!(d.reasons[0].detail.contains("uses the gate's prefix"));
        assert_eq!(says("bad-code").reasons[0].code, "gate.policy_fault");
        assert_eq!(
            says("long-detail").reasons[0].detail.chars().count(),
            MAX_DETAIL
        );
        assert_eq!(says("").reasons[0].code, "gate.bad_input");
        assert_eq!(says("fine").verdict, Verdict::Allow);
    }

    #[test]
    fn configure_errors_and_bad_scenarios_are_err() {
        let s = Scenario::new(withdrawal("w")).config("{\"x\":1}");
        assert!(decide::<Screen>(&s).unwrap_err().contains("unexpected"));
        let s = Scenario::new(withdrawal("w")).listed("l", "1", "ethereum", "not-an-address", None);
        assert!(decide::<Screen>(&s).unwrap_err().contains("not-an-address"));
        let s = Scenario::new(withdrawal("w")).history(withdrawal("w"));
        assert!(decide::<Screen>(&s).unwrap_err().contains("reuses"));
        let s = Scenario::new(withdrawal("w"))
            .history(withdrawal("h"))
            .history(withdrawal("h"));
        assert!(
            decide::<Screen>(&s)
                .unwrap_err()
                .contains("share the id `h`")
        );
        let s = Scenario::new(withdrawal("w"))
            .listed("l", "1", "ethereum", DEFAULT_DESTINATION, None)
            .listed("l", "2", "ethereum", DEFAULT_DESTINATION, None);
        assert!(decide::<Screen>(&s).unwrap_err().contains("two versions"));
    }
}
