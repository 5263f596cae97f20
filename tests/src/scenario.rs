//! The testkit's [`Scenario`]s decided by the real gate: the bundled
//! policies (or any chain) compiled and run in wasmtime, the scenario's
//! lists as designated sets, its history in a fresh velocity store, its
//! window figures and store failure answered by that store.
//!
//! The adapter the repository's property tests hand to
//! `riskgate_testkit::properties` (the testkit's own component harness
//! runs one component; this runs a whole chain).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use riskgate::model::GateCode;
use riskgate::screening::{DEFAULT_FP_RATE, DesignatedSet, Entry, Screener};
use riskgate::velocity::{
    Commit, Exclusive, KeyStats, Keys, MemoryStore, Recorded, Released, Store, Velocity,
    VelocityError, WindowStats,
};
use riskgate::{Gate, PolicySource, Verdict};
use riskgate_guest as guest;
use riskgate_testkit::{Listed, Scenario, WindowFigure};

use crate::builder;

/// The model withdrawal of a guest one (the same fields).
pub use riskgate_testkit::mock::to_model;

/// The gate's decision as a policy's: the verdict, every reason (the
/// gate's own `gate.*` ones included) with the decision's hits as the
/// evidence of the reason that cites them (`sanctions.hit` or
/// `gate.designated_hit`, else the first reason).
pub fn to_guest(d: &riskgate::Decision) -> guest::Decision {
    let verdict = match d.verdict {
        Verdict::Allow => guest::Verdict::Allow,
        Verdict::Hold => guest::Verdict::Hold,
        Verdict::Deny => guest::Verdict::Deny,
    };
    let mut reasons: Vec<guest::Reason> = d
        .reasons
        .iter()
        .map(|r| guest::Reason::new(r.code.clone(), r.detail.clone()))
        .collect();
    if !d.hits.is_empty() {
        let evidence = d
            .hits
            .iter()
            .map(|h| guest::Evidence {
                list: h.list.clone(),
                list_version: h.list_version.clone(),
                label: h.label.clone(),
                address: h.address.clone(),
            })
            .collect();
        let citing = reasons
            .iter()
            .position(|r| r.code == "sanctions.hit" || r.code == GateCode::DesignatedHit.as_str())
            .unwrap_or(0);
        match reasons.get_mut(citing) {
            Some(r) => r.evidence = evidence,
            None => reasons.push(guest::Reason::new("gate.hits", "").with_evidence(evidence)),
        }
    }
    guest::Decision { verdict, reasons }
}

/// What a [`ScenarioStore`] answers for the scenario being decided.
#[derive(Default)]
struct StoreState {
    inner: Arc<MemoryStore>,
    windows: Vec<WindowFigure>,
    fail: Option<String>,
}

/// A velocity store reset for each scenario: a fresh in-memory store
/// holding the scenario's history, explicit window figures answered as
/// given, and when the scenario says the store fails, every window query
/// and commit failing with its message.
#[derive(Default)]
pub struct ScenarioStore {
    state: Mutex<StoreState>,
}

fn scope_of(key: &str) -> Option<guest::Scope> {
    // The length-prefixed scope tag that starts every key.
    [
        ("4:acct", guest::Scope::Account),
        ("10:acct-asset", guest::Scope::AccountAsset),
        ("4:dest", guest::Scope::Destination),
        ("9:acct-dest", guest::Scope::AccountDestination),
        ("5:asset", guest::Scope::Asset),
    ]
    .into_iter()
    .find(|(tag, _)| {
        key.strip_prefix(tag)
            .is_some_and(|rest| rest.is_empty() || rest.as_bytes()[0].is_ascii_digit())
    })
    .map(|(_, scope)| scope)
}

impl ScenarioStore {
    fn state(&self) -> std::sync::MutexGuard<'_, StoreState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts `s`: a fresh store with its history, figures and failure.
    pub fn reset(&self, s: &Scenario) {
        let inner = Arc::new(MemoryStore::default());
        for h in &s.history {
            let w = to_model(h);
            let canonical = riskgate::address::canonicalize(&w.chain, &w.destination);
            let keys = Keys::new(
                &w,
                match &canonical {
                    Ok(c) => c.as_str(),
                    Err(_) => w.destination.trim(),
                },
            );
            let decision = riskgate::Decision::allow(&w.id);
            inner
                .commit(
                    &Commit {
                        id: &w.id,
                        keys: &keys,
                        fingerprint: riskgate::gate::fingerprint(&w),
                        requested_at: w.requested_at,
                        decision: &decision,
                        allowed: Some((w.amount, w.usd_cents.unwrap_or(0))),
                        counted_at: None,
                    },
                    Exclusive::default(),
                )
                .expect("history commits to a memory store");
        }
        *self.state() = StoreState {
            inner,
            windows: s.windows.clone(),
            fail: s.window_error.clone(),
        };
    }

    fn failing(&self) -> Result<(), VelocityError> {
        match &self.state().fail {
            Some(why) => Err(VelocityError::Unavailable(why.clone())),
            None => Ok(()),
        }
    }

    fn inner(&self) -> Arc<MemoryStore> {
        self.state().inner.clone()
    }
}

impl Store for ScenarioStore {
    fn describe(&self) -> String {
        "scenario".into()
    }
    fn retention_ms(&self) -> u64 {
        self.inner().retention_ms()
    }
    fn recorded(&self, id: &str) -> Result<Option<Recorded>, VelocityError> {
        self.inner().recorded(id)
    }
    fn holds(&self, query: &riskgate::velocity::HoldQuery) -> Result<Vec<Recorded>, VelocityError> {
        self.inner().holds(query)
    }
    fn window(
        &self,
        key: &str,
        asset: &str,
        t: u64,
        window_ms: u64,
    ) -> Result<WindowStats, VelocityError> {
        self.failing()?;
        let figure = scope_of(key).and_then(|scope| {
            self.state()
                .windows
                .iter()
                .find(|f| f.scope == scope && f.window_ms == window_ms)
                .copied()
        });
        match figure {
            Some(f) => Ok(WindowStats {
                count: f.count,
                sum: f.sum,
                usd_cents: f.usd_cents,
            }),
            None => self.inner().window(key, asset, t, window_ms),
        }
    }
    fn commit(&self, commit: &Commit<'_>, exclusive: Exclusive) -> Result<(), VelocityError> {
        self.failing()?;
        self.inner().commit(commit, exclusive)
    }
    fn release(&self, id: &str) -> Result<Released, VelocityError> {
        self.inner().release(id)
    }
    fn key_stats(&self, key: &str) -> Result<KeyStats, VelocityError> {
        self.inner().key_stats(key)
    }
}

/// The designated sets of `lists`, one per list name and version, each
/// entry stored under every key of `address::list_keys` as the importers
/// store it.
pub fn designated_sets(lists: &[Listed]) -> Vec<Arc<DesignatedSet>> {
    let mut by_list: BTreeMap<(&str, &str), Vec<&Listed>> = BTreeMap::new();
    for l in lists {
        by_list.entry((&l.list, &l.version)).or_default().push(l);
    }
    by_list
        .into_iter()
        .map(|((name, version), entries)| {
            let entries = entries.into_iter().flat_map(|l| {
                let keys = riskgate::address::list_keys(&l.address)
                    .unwrap_or_else(|e| panic!("scenario list entry {:?}: {e}", l.address));
                keys.into_iter().map(|k| {
                    (
                        k,
                        Entry {
                            label: l.label.clone(),
                            original: l.address.clone(),
                        },
                    )
                })
            });
            let set = DesignatedSet::build(name, version, "scenario", entries, DEFAULT_FP_RATE)
                .expect("a scenario's list builds");
            Arc::new(set)
        })
        .collect()
}

/// The policy chain for a scenario's configuration.
type Chain = Box<dyn Fn(&str) -> Vec<PolicySource> + Send + Sync>;

/// Decides scenarios on a chain of compiled policies in the real gate.
///
/// One gate per policy configuration (`Scenario::config`, handed to
/// `policies`), built on first use; every decision starts from a fresh
/// store ([`ScenarioStore`]) and the scenario's lists, plus the
/// background sets, as the gate's screener.
pub struct ScenarioGate {
    policies: Chain,
    gates: Mutex<HashMap<String, Arc<Gate>>>,
    store: Arc<ScenarioStore>,
    background: Vec<Arc<DesignatedSet>>,
    /// One scenario at a time: the store and screener are its own.
    deciding: Mutex<()>,
}

impl ScenarioGate {
    /// Scenarios decided by the chain `policies(config)`.
    pub fn new(policies: impl Fn(&str) -> Vec<PolicySource> + Send + Sync + 'static) -> Self {
        ScenarioGate {
            policies: Box::new(policies),
            gates: Mutex::default(),
            store: Arc::default(),
            background: Vec::new(),
            deciding: Mutex::default(),
        }
    }

    /// Designated sets screened beside every scenario's lists.
    pub fn with_background(mut self, sets: Vec<Arc<DesignatedSet>>) -> Self {
        self.background = sets;
        self
    }

    /// The gate for `config`.
    pub fn gate(&self, config: &str) -> Arc<Gate> {
        let mut gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        gates
            .entry(config.to_string())
            .or_insert_with(|| {
                let (gate, _) = builder((self.policies)(config), Screener::default())
                    .velocity(Arc::new(Velocity::new(self.store.clone())))
                    .build()
                    .expect("gate builds");
                Arc::new(gate)
            })
            .clone()
    }

    /// The gate's own decision of `s` (one scenario at a time: the store
    /// is reset for it).
    pub fn evaluate(&self, s: &Scenario) -> riskgate::Decision {
        let gate = self.gate(&s.config);
        let _one_at_a_time = self.deciding.lock().unwrap_or_else(|p| p.into_inner());
        let mut sets = self.background.clone();
        sets.extend(designated_sets(&s.lists));
        gate.set_screener(Screener::from_shared(sets));
        self.store.reset(s);
        gate.evaluate(&to_model(&s.withdrawal))
    }

    /// [`Self::evaluate`] as a policy's decision ([`to_guest`]): what the
    /// testkit's properties take.
    pub fn decide(&self, s: &Scenario) -> guest::Decision {
        to_guest(&self.evaluate(s))
    }
}
