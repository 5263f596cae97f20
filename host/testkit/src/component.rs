//! The component harness (feature `component`): decides a [`Scenario`] on a
//! compiled policy component in the real host, so the fixtures and
//! properties that run natively through the [mock host](crate::mock) run
//! on the shipped `.wasm` too, and the two can be compared.
//!
//! ```no_run
//! use riskgate_testkit::component::Harness;
//! use riskgate_testkit::{Scenario, scenario::withdrawal};
//!
//! let bytes = std::fs::read("target/my_policy.wasm").unwrap();
//! let harness = Harness::new(&bytes, riskgate::Limits::default()).unwrap();
//! let decision = harness.decide(&Scenario::new(withdrawal("w-1"))).unwrap();
//! println!("{:?}", decision.verdict);
//! ```
//!
//! What is real: the component is compiled by the gate's wasmtime engine
//! and loaded by `riskgate-runtime` (import allow-list, world check, the
//! policy's `info` and `configure`), and each call runs under the given
//! [`Limits`] (fuel, deadline backstop, memory cap) with the runtime's own
//! host imports: the scenario's lists become real designated sets
//! (`riskgate-screening`'s set builder, each entry under every key the list
//! importers store it under) screened by a real `Screener`, and the history
//! is committed as allowed withdrawals into a real in-memory velocity store
//! (`riskgate-velocity`'s `MemoryStore`, the default retention) whose
//! windows answer `velocity.window`.
//!
//! Explicit [`WindowFigure`](crate::WindowFigure)s are answered by a thin
//! `velocity::Store` in front of that store: a `window` query for the
//! current withdrawal's key of the figure's scope and the figure's length
//! answers the figure; every other query, and everything else the store
//! does, goes to the memory store, after the same window-length check.
//! [`Scenario::window_error`] makes every `window` query fail as an
//! unavailable store (`VelocityError::Unavailable`), which the runtime
//! reports as the gate does.
//!
//! What the gate adds around one policy is applied exactly as
//! `riskgate::gate` does and as the mock host's [`decide`](crate::mock::decide)
//! does (so native and component decisions compare equal): a withdrawal
//! failing the gate's input checks is HOLD `gate.bad_input`; a fault (trap,
//! fuel, deadline, memory) is HOLD with its `gate.*` code, DENY with
//! `gate.designated_hit` when screening had answered a hit; a contract
//! violation is HOLD `gate.policy_fault`; a velocity store failure adds
//! HOLD `gate.velocity_unavailable`. Evidence stays on the reason that
//! carried it (the gate moves it to the decision's hits). The clock-skew
//! check is not applied: scenarios carry fixed times.

use crate::mock::{self, MockHost, ORIGIN, ScenarioError};
use crate::scenario::Scenario;
pub use riskgate::Limits;
use riskgate::cache::AotCache;
use riskgate::engine::{EngineError, Runtime};
use riskgate::model::GateCode;
use riskgate::policy::{Fault, LoadError, Policy, PolicySource, wit};
use riskgate::screening::{DEFAULT_FP_RATE, DesignatedSet, Screener, SetBuilder, SetError};
use riskgate::velocity::{
    Commit, Exclusive, KeyStats, Keys, MemoryStore, Recorded, Released, Store, Velocity,
    VelocityError, WindowStats,
};
use riskgate_guest::{Decision, Evidence, Reason, Verdict, Withdrawal};
use riskgate_runtime::host::{CallContext, Destination};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::fixture::{CaseResult, Fixtures, Got, judge};

/// Why the harness could not decide.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The wasmtime engine could not be set up (invalid limits).
    #[error("setting up the engine: {0}")]
    Engine(#[from] EngineError),
    /// The component does not load: not a component, a forbidden import,
    /// the wrong world, a trap in `info` or `configure`.
    #[error("loading the component: {0}")]
    Load(LoadError),
    /// The policy refused the scenario's configuration.
    #[error("configuration refused by the policy: {0}")]
    Config(String),
    /// The scenario cannot be set up.
    #[error("invalid scenario: {0}")]
    Scenario(#[from] ScenarioError),
    /// A designated set could not be built from the scenario's lists.
    #[error("building list `{list}`: {error}")]
    List { list: String, error: SetError },
    /// The history could not be recorded.
    #[error("recording history withdrawal `{id}`: {error}")]
    History { id: String, error: VelocityError },
    /// The AOT cache directory could not be set up.
    #[error("setting up the compilation cache: {0}")]
    Cache(String),
}

/// A compiled policy component in the real host.
pub struct Harness {
    runtime: Arc<Runtime>,
    bytes: Arc<[u8]>,
    /// Compiled once: each configuration loads from it.
    cache: AotCache,
    _cache_dir: tempfile::TempDir,
    /// A loaded policy per configuration.
    policies: Mutex<HashMap<String, Arc<Policy>>>,
    name: String,
    version: String,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("name", &self.name)
            .field("version", &self.version)
            .finish()
    }
}

impl Harness {
    /// Compiles `component_bytes` under `limits` and checks it loads: a
    /// component that is not a policy is refused here. A policy that
    /// refuses the configuration `{}` still loads (each scenario configures
    /// it with its own).
    pub fn new(component_bytes: &[u8], limits: Limits) -> Result<Self, HarnessError> {
        let runtime = Runtime::new(limits)?;
        let dir = tempfile::tempdir().map_err(|e| HarnessError::Cache(e.to_string()))?;
        let cache = AotCache::open(dir.path(), runtime.engine())
            .map_err(|e| HarnessError::Cache(e.to_string()))?;
        let mut harness = Harness {
            runtime,
            bytes: Arc::from(component_bytes),
            cache,
            _cache_dir: dir,
            policies: Mutex::new(HashMap::new()),
            name: String::new(),
            version: String::new(),
        };
        match harness.policy("{}") {
            Ok(policy) => {
                harness.name = policy.name().to_string();
                harness.version = policy.version().to_string();
            }
            Err(HarnessError::Config(_)) => {
                let info = riskgate::policy_info::read_policy_info(component_bytes)
                    .ok()
                    .flatten();
                if let Some(info) = info {
                    harness.name = info.name;
                    harness.version = info.version;
                }
            }
            Err(e) => return Err(e),
        }
        Ok(harness)
    }

    /// The policy's name (its `info`, or its policy-info section when `{}`
    /// is refused; empty when neither is known).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The policy's version (as [`name`](Self::name)).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The policy loaded and configured with `config`, loaded once per
    /// configuration.
    fn policy(&self, config: &str) -> Result<Arc<Policy>, HarnessError> {
        let mut loaded = self
            .policies
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(p) = loaded.get(config) {
            return Ok(p.clone());
        }
        let source = PolicySource {
            origin: ORIGIN.to_string(),
            bytes: self.bytes.clone(),
            config: config.to_string(),
            fuel: None,
        };
        let (policy, _report) =
            Policy::load(&self.runtime, &source, Some(&self.cache)).map_err(|e| match e {
                LoadError::Config(m) => HarnessError::Config(m),
                other => HarnessError::Load(other),
            })?;
        let policy = Arc::new(policy);
        loaded.insert(config.to_string(), policy.clone());
        Ok(policy)
    }

    /// A decide closure for the [`properties`](crate::properties): decides
    /// each scenario on the component, panicking (naming the scenario's
    /// withdrawal) when it cannot be decided.
    pub fn decider(&self) -> impl FnMut(&Scenario) -> Decision + '_ {
        move |scenario: &Scenario| match self.decide(scenario) {
            Ok(decision) => decision,
            Err(e) => panic!("withdrawal `{}`: {e}", scenario.withdrawal.id),
        }
    }

    /// Decides `scenario` on the component (see the module documentation).
    pub fn decide(&self, scenario: &Scenario) -> Result<Decision, HarnessError> {
        // The same checks of the scenario as the mock host's.
        MockHost::new(scenario)?;
        let policy = self.policy(&scenario.config)?;
        let w = &scenario.withdrawal;
        if let Err(e) = mock::to_model(w).validate() {
            return Ok(mock::gate_hold(GateCode::BadInput, e.to_string()));
        }

        let screener = Screener::new(build_sets(scenario)?);
        let memory = MemoryStore::new(mock::RETENTION_MS);
        for h in &scenario.history {
            record(&memory, h)?;
        }
        let canonical = riskgate::address::canonicalize(&w.chain, &w.destination);
        let keys = Arc::new(keys_of(w));
        let store = FigureStore {
            inner: memory,
            figures: scenario
                .windows
                .iter()
                .map(|f| {
                    (
                        keys.get(scope(f.scope)).to_string(),
                        f.window_ms,
                        WindowStats {
                            count: f.count,
                            sum: f.sum,
                            usd_cents: f.usd_cents,
                        },
                    )
                })
                .collect(),
            error: scenario.window_error.clone(),
        };
        let velocity_fault = Arc::new(OnceLock::new());
        let ctx = Arc::new(CallContext {
            screener,
            destination: Arc::new(Destination {
                chain: w.chain.clone(),
                address: w.destination.clone(),
                canonical,
            }),
            velocity: Arc::new(Velocity::new(Arc::new(store))),
            keys,
            requested_at: w.requested_at,
            inflight: None,
            velocity_fault: velocity_fault.clone(),
            record: false,
        });
        let called = policy.evaluate(&riskgate::policy::PolicyInput::new(&mock::to_model(w)), ctx);
        let result = match called.result {
            Ok(d) => Ok(from_wit(d)),
            Err(fault) => Err((fault_code(&fault), fault.to_string())),
        };
        Ok(mock::gate_rules(
            policy.name(),
            ORIGIN,
            result,
            called.screened.into_iter().map(evidence).collect(),
            velocity_fault.get().map(String::as_str),
        ))
    }
}

fn fault_code(fault: &Fault) -> GateCode {
    fault.code()
}

/// Decides every case of `fixtures` on the component `component_bytes`
/// (each case's configuration, or `config_override` for all), under
/// `limits`. A component that does not load makes every case an error.
pub fn run_component(
    fixtures: &Fixtures,
    component_bytes: &[u8],
    config_override: Option<&str>,
    limits: Limits,
) -> Vec<CaseResult> {
    match Harness::new(component_bytes, limits) {
        Ok(harness) => run_with(&harness, fixtures, config_override),
        Err(e) => fixtures
            .cases
            .iter()
            .map(|case| judge(&fixtures.origin, case, Err(e.to_string())))
            .collect(),
    }
}

/// [`run_component`] on an existing harness.
pub fn run_with(
    harness: &Harness,
    fixtures: &Fixtures,
    config_override: Option<&str>,
) -> Vec<CaseResult> {
    fixtures
        .cases
        .iter()
        .map(|case| {
            let got = match config_override {
                Some(config) => {
                    let mut scenario = case.scenario.clone();
                    scenario.config = config.to_string();
                    harness.decide(&scenario)
                }
                None => harness.decide(&case.scenario),
            };
            let got = match got {
                Ok(d) => Ok(Got::Decision(d)),
                Err(HarnessError::Config(m)) => Ok(Got::ConfigError(m)),
                Err(e) => Err(e.to_string()),
            };
            judge(&fixtures.origin, case, got)
        })
        .collect()
}

/// One designated set per list name, in order of first appearance.
fn build_sets(scenario: &Scenario) -> Result<Vec<DesignatedSet>, HarnessError> {
    let mut order: Vec<(&str, &str)> = Vec::new();
    for l in &scenario.lists {
        if !order.iter().any(|(name, _)| *name == l.list) {
            order.push((&l.list, &l.version));
        }
    }
    let mut sets = Vec::with_capacity(order.len());
    for (name, version) in order {
        let fail = |error| HarnessError::List {
            list: name.to_string(),
            error,
        };
        let mut builder = SetBuilder::new(DEFAULT_FP_RATE).map_err(fail)?;
        for l in scenario.lists.iter().filter(|l| l.list == name) {
            for key in mock::listed_keys(l)? {
                builder
                    .push_key(&key, l.label.as_deref(), Some(&l.address))
                    .map_err(fail)?;
            }
        }
        sets.push(builder.finish(name, version, ORIGIN).map_err(fail)?);
    }
    Ok(sets)
}

/// The velocity keys of `w`, as the gate builds them.
fn keys_of(w: &Withdrawal) -> Keys {
    let canonical = riskgate::address::canonicalize(&w.chain, &w.destination);
    Keys::new(
        &mock::to_model(w),
        match &canonical {
            Ok(c) => c.as_str(),
            Err(_) => w.destination.trim(),
        },
    )
}

/// Commits `h` as an allowed withdrawal, as the gate records an ALLOW.
fn record(store: &MemoryStore, h: &Withdrawal) -> Result<(), HarnessError> {
    let model = mock::to_model(h);
    let keys = keys_of(h);
    let decision = riskgate::model::Decision::allow(&h.id);
    store
        .commit(
            &Commit {
                id: &h.id,
                keys: &keys,
                fingerprint: riskgate::gate::fingerprint(&model),
                requested_at: h.requested_at,
                decision: &decision,
                allowed: Some((h.amount, h.usd_cents.unwrap_or(0))),
                counted_at: None,
            },
            Exclusive::default(),
        )
        .map_err(|error| HarnessError::History {
            id: h.id.clone(),
            error,
        })
}

fn scope(s: riskgate_guest::Scope) -> riskgate::velocity::Scope {
    use riskgate::velocity::Scope as S;
    use riskgate_guest::Scope as G;
    match s {
        G::Account => S::Account,
        G::AccountAsset => S::AccountAsset,
        G::Destination => S::Destination,
        G::AccountDestination => S::AccountDestination,
        G::Asset => S::Asset,
    }
}

/// A velocity store answering the scenario's explicit window figures (and
/// its store failure) in front of a real memory store.
struct FigureStore {
    inner: MemoryStore,
    /// (key, window length, answer).
    figures: Vec<(String, u64, WindowStats)>,
    error: Option<String>,
}

impl Store for FigureStore {
    fn describe(&self) -> String {
        format!("testkit figures over {}", self.inner.describe())
    }

    fn retention_ms(&self) -> u64 {
        self.inner.retention_ms()
    }

    fn recorded(&self, id: &str) -> Result<Option<Recorded>, VelocityError> {
        self.inner.recorded(id)
    }

    fn holds(&self, query: &riskgate::velocity::HoldQuery) -> Result<Vec<Recorded>, VelocityError> {
        self.inner.holds(query)
    }

    fn window(
        &self,
        key: &str,
        asset: &str,
        t: u64,
        window_ms: u64,
    ) -> Result<WindowStats, VelocityError> {
        if let Some(why) = &self.error {
            return Err(VelocityError::Unavailable(why.clone()));
        }
        let retention_ms = self.inner.retention_ms();
        if window_ms > retention_ms {
            return Err(VelocityError::WindowTooLong {
                window_ms,
                retention_ms,
            });
        }
        // The last figure given for a query wins, as in the mock host.
        if let Some((_, _, stats)) = self
            .figures
            .iter()
            .rev()
            .find(|(k, ms, _)| k == key && *ms == window_ms)
        {
            return Ok(*stats);
        }
        self.inner.window(key, asset, t, window_ms)
    }

    fn commit(&self, commit: &Commit<'_>, exclusive: Exclusive) -> Result<(), VelocityError> {
        self.inner.commit(commit, exclusive)
    }

    fn release(&self, id: &str) -> Result<Released, VelocityError> {
        self.inner.release(id)
    }

    fn key_stats(&self, key: &str) -> Result<KeyStats, VelocityError> {
        self.inner.key_stats(key)
    }
}

fn evidence(e: wit::Evidence) -> Evidence {
    Evidence {
        list: e.list,
        list_version: e.list_version,
        label: e.label,
        address: e.address,
    }
}

fn from_wit(d: wit::Decision) -> Decision {
    Decision {
        verdict: match d.verdict {
            wit::Verdict::Allow => Verdict::Allow,
            wit::Verdict::Hold => Verdict::Hold,
            wit::Verdict::Deny => Verdict::Deny,
        },
        reasons: d
            .reasons
            .into_iter()
            .map(|r| Reason {
                code: r.code,
                detail: r.detail,
                evidence: r.evidence.into_iter().map(evidence).collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests;
