//! The gate: a chain of policies over one withdrawal, with velocity state
//! and designated-address screening.
//!
//! Policies run in order; the combined verdict is the most severe (deny >
//! hold > allow) and every reason is kept. Any fault becomes HOLD with a
//! `gate.*` reason; no error path returns ALLOW, and a designated hit the
//! host answered before a fault still denies. An ALLOW is recorded in the
//! velocity state atomically with its check, and every decision is recorded
//! under the withdrawal's id so a retry returns it without counting twice.

use crate::address;
use crate::admission::{Admission, AdmissionError, Trust};
use crate::cache::AotCache;
use crate::engine::{EngineError, Limits, Runtime};
use crate::explain::{Explanation, FaultExplanation, PolicyExplanation};
use crate::host::{CallContext, Destination};
use crate::model::{Decision, GateCode, Hit, Reason, Review, Verdict, Withdrawal};
use crate::policy::{Fault, LoadError, LoadReport, Policy, PolicySource, wit};
use crate::review::ReviewPolicy;
use crate::screening::Screener;
use crate::velocity::{
    Durable, Keys, Padded, Pending as PendingContribution, Prior, Txn, Velocity, VelocityError,
    thread_slot,
};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Most reasons one policy may return.
const MAX_REASONS: usize = 64;
/// Most evidence entries per reason.
const MAX_EVIDENCE: usize = 64;
/// Longest reason code.
const MAX_CODE: usize = 64;
/// Longest detail kept, in characters.
const MAX_DETAIL: usize = 1024;

/// Errors building a gate.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{origin}: {source}")]
    Policy {
        origin: String,
        #[source]
        source: LoadError,
    },
    /// Refused before it was compiled (pin, signature), or once compiled
    /// (the name and version it reports).
    #[error("{origin}: {source}")]
    Admission {
        origin: String,
        #[source]
        source: AdmissionError,
    },
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
}

pub use riskgate_model::DEFAULT_MAX_CLOCK_SKEW;

/// The host's clock, ms since the Unix epoch (injectable for tests).
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

fn system_clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis().min(u128::from(u64::MAX)) as u64)
}

/// Whether a policy's verdict counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The policy's verdict and reasons are part of the decision.
    #[default]
    Enforce,
    /// The policy runs on every withdrawal and its outcome is reported in
    /// the trace (and the decision log), but it never changes the decision.
    Shadow,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Shadow => "shadow",
        }
    }
}

/// What one policy answered for one withdrawal, in chain order: its own
/// verdict (a fault counts as HOLD), and for a shadow policy the reasons
/// and hits it would have added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyOutcome {
    pub mode: Mode,
    pub verdict: Verdict,
    /// The policy faulted (trap, fuel, deadline backstop, memory cap,
    /// contract violation).
    pub fault: bool,
    /// The fault's gate reason code (`gate.fuel_exhausted`,
    /// `gate.deadline_backstop`, `gate.policy_fault`...).
    pub fault_code: Option<GateCode>,
    /// Fuel the call burnt.
    pub fuel: u64,
    /// A shadow policy's reasons (an enforced one's are in the decision).
    pub reasons: Vec<Reason>,
    /// A shadow policy's hits.
    pub hits: Vec<Hit>,
}

/// A shadow policy whose verdict differs from the decision's: see
/// [`shadow_disagreements`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShadowDisagreement {
    /// The shadow policy's position in the chain (its name:
    /// `gate.policies()[index].name()`).
    pub index: usize,
    /// The decision's verdict (what the enforced policies decided).
    pub enforced: Verdict,
    /// The shadow policy's own verdict.
    pub shadow: Verdict,
}

/// The shadow policies of `trace` (a decision's trace, from
/// [`Gate::evaluate_traced`]) whose own verdict differs from `decided`, the
/// decision's verdict, in chain order. An empty trace (no policy ran: bad
/// input, a replayed id) has none. `riskgate serve` counts these in
/// `riskgate_shadow_disagreements_total`.
pub fn shadow_disagreements(
    decided: Verdict,
    trace: &[PolicyOutcome],
) -> impl Iterator<Item = ShadowDisagreement> + '_ {
    trace
        .iter()
        .enumerate()
        .filter_map(move |(index, outcome)| {
            (outcome.mode == Mode::Shadow && outcome.verdict != decided).then_some(
                ShadowDisagreement {
                    index,
                    enforced: decided,
                    shadow: outcome.verdict,
                },
            )
        })
}

/// Builds a [`Gate`].
pub struct GateBuilder {
    limits: Limits,
    cache_dir: Option<PathBuf>,
    policies: Vec<(PolicySource, Mode, Admission)>,
    trust: Trust,
    screener: Screener,
    velocity: Option<Arc<Velocity>>,
    max_clock_skew: Option<Duration>,
    clock: Clock,
    parallel_calls: Option<usize>,
    review: ReviewPolicy,
}

impl Default for GateBuilder {
    fn default() -> Self {
        GateBuilder {
            limits: Limits::default(),
            cache_dir: None,
            policies: Vec::new(),
            trust: Trust::default(),
            screener: Screener::default(),
            velocity: None,
            max_clock_skew: Some(DEFAULT_MAX_CLOCK_SKEW),
            clock: Arc::new(system_clock),
            parallel_calls: None,
            review: ReviewPolicy::default(),
        }
    }
}

impl GateBuilder {
    /// How holds are reviewed: approvals required per reason prefix, the
    /// expiry of a pending hold.
    pub fn review(mut self, review: ReviewPolicy) -> Self {
        self.review = review;
        self
    }

    /// Per-call limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Directory of the AOT cache (none: compile every time).
    pub fn cache_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.cache_dir = dir;
        self
    }

    /// Appends an enforced policy to the chain.
    pub fn policy(self, source: PolicySource) -> Self {
        self.policy_in(source, Mode::Enforce)
    }

    /// Appends a policy to the chain in `mode`.
    pub fn policy_in(self, source: PolicySource, mode: Mode) -> Self {
        self.admitted_policy(source, mode, Admission::default())
    }

    /// Appends a policy to the chain in `mode`, run only when it passes
    /// `admission` (its pin, its signature, the name and version it
    /// reports): see [`crate::admission`].
    pub fn admitted_policy(
        mut self,
        source: PolicySource,
        mode: Mode,
        admission: Admission,
    ) -> Self {
        self.policies.push((source, mode, admission));
        self
    }

    /// Public keys whose policy signatures count.
    pub fn trusted_keys(mut self, keys: Vec<ed25519_dalek::VerifyingKey>) -> Self {
        self.trust.keys = keys;
        self
    }

    /// Refuse every policy without a valid signature by a trusted key,
    /// except those whose [`Admission::bundled`] says they are part of the
    /// binary (default: off; a signature given is verified either way).
    pub fn require_signatures(mut self, required: bool) -> Self {
        self.trust.require_signatures = required;
        self
    }

    /// The designated sets to screen against.
    pub fn screener(mut self, screener: Screener) -> Self {
        self.screener = screener;
        self
    }

    /// Velocity state (default: a fresh in-memory store).
    pub fn velocity(mut self, velocity: Arc<Velocity>) -> Self {
        self.velocity = Some(velocity);
        self
    }

    /// Largest distance allowed between a withdrawal's requested-at and the
    /// host's clock (default [`DEFAULT_MAX_CLOCK_SKEW`]); farther ones are
    /// held with `gate.clock_skew`. `None` turns the check off, for replays
    /// of recorded streams and synthetic ones.
    pub fn max_clock_skew(mut self, skew: Option<Duration>) -> Self {
        self.max_clock_skew = skew;
        self
    }

    /// Most withdrawals whose policies run at once (default: the number of
    /// cores). A policy's deadline is wall-clock time: with more guest
    /// calls running than cores, preemption alone could exceed it. Callers
    /// beyond the limit wait before their policies start (outside any
    /// deadline); waits on the velocity store (a log sync, a Redis round
    /// trip outside policy calls) are not counted.
    pub fn parallel_calls(mut self, n: usize) -> Self {
        self.parallel_calls = Some(n.max(1));
        self
    }

    /// The clock the skew check reads (default: the system clock).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Admits every policy (pins and signatures, before any is compiled),
    /// starts the engine and loads every policy, checking what each
    /// reports against its admission; the first policy refused or failing
    /// to load fails the build, naming its origin.
    pub fn build(self) -> Result<(Gate, Vec<LoadReport>), GateError> {
        let refused = |origin: &str, source| GateError::Admission {
            origin: origin.to_string(),
            source,
        };
        let admitted = self
            .policies
            .iter()
            .map(|(source, _, admission)| {
                admission
                    .check_source(source, &self.trust)
                    .map_err(|e| refused(&source.origin, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let runtime = Runtime::new(self.limits)?;
        let cache = match &self.cache_dir {
            Some(dir) => Some(AotCache::open(dir, runtime.engine())?),
            None => None,
        };
        let mut policies = Vec::new();
        let mut modes = Vec::new();
        let mut reports = Vec::new();
        for ((source, mode, _), admitted) in self.policies.iter().zip(&admitted) {
            let (policy, report) =
                Policy::load(&runtime, source, cache.as_ref()).map_err(|source_err| {
                    GateError::Policy {
                        origin: source.origin.clone(),
                        source: source_err,
                    }
                })?;
            admitted
                .check_loaded(&policy)
                .map_err(|e| refused(&source.origin, e))?;
            policies.push(policy);
            modes.push(*mode);
            reports.push(report);
        }
        Ok((
            Gate {
                runtime,
                enforced: modes.contains(&Mode::Enforce),
                policies,
                modes,
                signed_by: admitted.into_iter().map(|a| a.signed_by).collect(),
                screener: RwLock::new(self.screener),
                screener_generation: AtomicU64::new(0),
                contexts: (0..CONTEXT_SLOTS).map(|_| Padded::default()).collect(),
                velocity: self.velocity.unwrap_or_default(),
                max_clock_skew_ms: self
                    .max_clock_skew
                    .map(|d| d.as_millis().min(u128::from(u64::MAX)) as u64),
                clock: self.clock,
                permits: Permits::new(self.parallel_calls.unwrap_or_else(|| {
                    std::thread::available_parallelism().map_or(1, |n| n.get())
                })),
                review: self.review,
            },
            reports,
        ))
    }
}

/// A withdrawal gate. `Send + Sync`: share it between threads.
pub struct Gate {
    runtime: Arc<Runtime>,
    policies: Vec<Policy>,
    modes: Vec<Mode>,
    /// Per policy, the key id of the trusted key its signature verified by.
    signed_by: Vec<Option<String>>,
    /// At least one policy is enforced.
    enforced: bool,
    screener: RwLock<Screener>,
    /// Bumped after every [`Gate::set_screener`]: a thread's cached call
    /// context of an older generation is rebuilt.
    screener_generation: AtomicU64,
    /// Per thread slot, the call context the slot's last decision used,
    /// refilled by its next (see [`Gate::context`]).
    contexts: Box<[Padded<Mutex<Option<ContextLease>>>]>,
    velocity: Arc<Velocity>,
    max_clock_skew_ms: Option<u64>,
    clock: Clock,
    permits: Permits,
    pub(crate) review: ReviewPolicy,
}

/// A counting semaphore over the policy runs (std has none). Taking and
/// giving back a permit is one atomic operation each while permits are
/// free; only a caller that must wait takes the lock.
struct Permits {
    free: AtomicUsize,
    waiters: AtomicUsize,
    lock: Mutex<()>,
    returned: Condvar,
}

struct Permit<'a>(&'a Permits);

impl Permits {
    fn new(n: usize) -> Self {
        Permits {
            free: AtomicUsize::new(n),
            waiters: AtomicUsize::new(0),
            lock: Mutex::new(()),
            returned: Condvar::new(),
        }
    }

    fn try_take(&self) -> bool {
        self.free
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    fn acquire(&self) -> Permit<'_> {
        if self.try_take() {
            return Permit(self);
        }
        let mut guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        // Counted as waiting before the last try: a permit given back after
        // it sees the waiter and wakes it under the lock.
        self.waiters.fetch_add(1, Ordering::SeqCst);
        while !self.try_take() {
            guard = self.returned.wait(guard).unwrap_or_else(|p| p.into_inner());
        }
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.free.fetch_add(1, Ordering::SeqCst);
        if self.0.waiters.load(Ordering::SeqCst) > 0 {
            let _guard = self.0.lock.lock().unwrap_or_else(|p| p.into_inner());
            self.0.returned.notify_one();
        }
    }
}

/// A call context on loan to one decision.
struct ContextLease {
    ctx: Arc<CallContext>,
    /// The screener generation read before the context's screener was.
    generation: u64,
    /// The withdrawal as the policies see it, refilled in place.
    input: crate::policy::PolicyInput,
}

/// The destination of `w` as the screening import sees it.
fn destination_of(
    w: &Withdrawal,
    canonical: Result<address::Canonical, address::AddressError>,
) -> Destination {
    Destination {
        chain: w.chain.clone(),
        address: w.destination.clone(),
        canonical,
    }
}

/// Slots of [`Gate::contexts`] (threads beyond it share slots: still
/// correct, a context is then built more often).
const CONTEXT_SLOTS: usize = 64;

impl Gate {
    /// A builder.
    pub fn builder() -> GateBuilder {
        GateBuilder::default()
    }

    /// The call context of one decision: the one this thread's slot kept,
    /// with the decision's parts put in, else a new one. Refilling it, a
    /// decision clones neither the screener nor the velocity handle, whose
    /// reference counts every thread would otherwise write on every decision
    /// (one cache line the cores take turns owning). The gate owns the
    /// contexts: dropping it releases the sets and the store.
    fn context(
        &self,
        w: &Withdrawal,
        canonical: Result<address::Canonical, address::AddressError>,
        keys: Arc<Keys>,
        inflight: Option<u64>,
        record: bool,
    ) -> ContextLease {
        let generation = self.screener_generation.load(Ordering::Acquire);
        let kept = self.contexts[thread_slot(CONTEXT_SLOTS)]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let requested_at = w.requested_at;
        if let Some(mut lease) = kept
            && lease.generation == generation
            && let Some(c) = Arc::get_mut(&mut lease.ctx)
        {
            // The strings' buffers of the last decision are reused.
            match Arc::get_mut(&mut c.destination) {
                Some(d) => {
                    d.chain.clone_from(&w.chain);
                    d.address.clone_from(&w.destination);
                    d.canonical = canonical;
                }
                None => c.destination = Arc::new(destination_of(w, canonical)),
            }
            lease.input.fill(w);
            c.keys = keys;
            c.requested_at = requested_at;
            c.inflight = inflight;
            c.record = record;
            match Arc::get_mut(&mut c.velocity_fault) {
                Some(fault) => {
                    fault.take();
                }
                None => c.velocity_fault = Arc::new(OnceLock::new()),
            }
            return lease;
        }
        ContextLease {
            input: crate::policy::PolicyInput::new(w),
            ctx: Arc::new(CallContext {
                screener: self.screener(),
                destination: Arc::new(destination_of(w, canonical)),
                velocity: self.velocity.clone(),
                keys,
                requested_at,
                inflight,
                velocity_fault: Arc::new(OnceLock::new()),
                record,
            }),
            generation,
        }
    }

    /// Gives a decision's context back to this thread's slot.
    fn keep_context(&self, lease: ContextLease) {
        *self.contexts[thread_slot(CONTEXT_SLOTS)]
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(lease);
    }

    /// The policies, in chain order.
    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// Each policy's mode, in chain order.
    pub fn modes(&self) -> &[Mode] {
        &self.modes
    }

    /// Per policy in chain order, the key id of the trusted key whose
    /// signature of it was verified at admission (`None`: not signed).
    pub fn signed_by(&self) -> &[Option<String>] {
        &self.signed_by
    }

    /// The engine runtime.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The current designated sets.
    pub fn screener(&self) -> Screener {
        self.screener
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Atomically replaces the designated sets: every evaluation sees
    /// either the old sets or the new ones, never a mix.
    pub fn set_screener(&self, screener: Screener) {
        *self.screener.write().unwrap_or_else(|p| p.into_inner()) = screener;
        self.screener_generation.fetch_add(1, Ordering::Release);
    }

    /// The velocity state.
    pub fn velocity(&self) -> &Arc<Velocity> {
        &self.velocity
    }

    /// The host clock, ms since the Unix epoch.
    pub fn now(&self) -> u64 {
        (self.clock)()
    }

    /// Decides one withdrawal. Never panics on input; never allows on error.
    pub fn evaluate(&self, w: &Withdrawal) -> Decision {
        // The outcomes nobody asked for, in a buffer each thread keeps.
        thread_local! {
            static TRACE: std::cell::RefCell<Vec<PolicyOutcome>> = const {
                std::cell::RefCell::new(Vec::new())
            };
        }
        TRACE.with(|trace| match trace.try_borrow_mut() {
            Ok(mut trace) => self.evaluate_traced(w, &mut trace),
            // A gate deciding inside another's policy call, say.
            Err(_) => self.evaluate_traced(w, &mut Vec::new()),
        })
    }

    /// [`Gate::evaluate`], also filling `trace` with each policy's outcome
    /// in chain order (cleared first; left empty when no policy ran: bad
    /// input, a replayed id, a store failure before the policies).
    pub fn evaluate_traced(&self, w: &Withdrawal, trace: &mut Vec<PolicyOutcome>) -> Decision {
        self.run(w, trace, None)
    }

    /// [`Gate::evaluate_traced`] that returns as soon as the decision is
    /// recorded, before its record is on disk: the keys are unlocked, the
    /// record is visible to later decisions, and the [`Pending`] gives the
    /// decision once it is durable (a failed sync turns it into HOLD
    /// `gate.velocity_unavailable`, as a failed commit does). A caller
    /// deciding many withdrawals waits once, after the last, so they share
    /// one sync of a durable store. `latency_ns` is the decision's own
    /// time, without that wait.
    pub fn evaluate_deferred(&self, w: &Withdrawal, trace: &mut Vec<PolicyOutcome>) -> Pending {
        trace.clear();
        self.timed(w, trace, None)
    }

    /// [`Gate::evaluate_deferred`] that also fills `explanation` (see
    /// [`Gate::evaluate_explained`]).
    pub fn evaluate_explained_deferred(
        &self,
        w: &Withdrawal,
        trace: &mut Vec<PolicyOutcome>,
        explanation: &mut Explanation,
    ) -> Pending {
        trace.clear();
        explanation.policies.clear();
        self.timed(w, trace, Some(explanation))
    }

    /// [`Gate::evaluate`] with an [`Explanation`]: each policy's own
    /// answer, fuel, wall time and every host call it made with the host's
    /// answer. The decision is the one [`Gate::evaluate`] returns (and is
    /// recorded the same way).
    pub fn evaluate_explained(&self, w: &Withdrawal) -> (Decision, Explanation) {
        let mut explanation = Explanation::default();
        let decision = self.evaluate_explained_traced(w, &mut Vec::new(), &mut explanation);
        (decision, explanation)
    }

    /// [`Gate::evaluate_traced`] that also fills `explanation` (cleared
    /// first; see [`Gate::evaluate_explained`]).
    pub fn evaluate_explained_traced(
        &self,
        w: &Withdrawal,
        trace: &mut Vec<PolicyOutcome>,
        explanation: &mut Explanation,
    ) -> Decision {
        explanation.policies.clear();
        self.run(w, trace, Some(explanation))
    }

    fn run(
        &self,
        w: &Withdrawal,
        trace: &mut Vec<PolicyOutcome>,
        explanation: Option<&mut Explanation>,
    ) -> Decision {
        let started = Instant::now();
        trace.clear();
        let (decision, durable) = self.decide(w, trace, explanation);
        let mut decision = settle(decision, durable.wait());
        decision.latency_ns = started.elapsed().as_nanos().min(u64::MAX as u128) as u64;
        decision
    }

    /// The decision, timed, and when its record is on disk.
    fn timed(
        &self,
        w: &Withdrawal,
        trace: &mut Vec<PolicyOutcome>,
        explanation: Option<&mut Explanation>,
    ) -> Pending {
        let started = Instant::now();
        let (mut decision, durable) = self.decide(w, trace, explanation);
        decision.latency_ns = started.elapsed().as_nanos().min(u64::MAX as u128) as u64;
        Pending { decision, durable }
    }

    /// The decision and when its record is on disk (settled for one not
    /// recorded).
    fn decide(
        &self,
        w: &Withdrawal,
        trace: &mut Vec<PolicyOutcome>,
        explanation: Option<&mut Explanation>,
    ) -> (Decision, Durable) {
        let mut durable = Durable::settled_now();
        let decision = self.decide_into(w, trace, explanation, &mut durable);
        (decision, durable)
    }

    fn decide_into(
        &self,
        w: &Withdrawal,
        trace: &mut Vec<PolicyOutcome>,
        mut explanation: Option<&mut Explanation>,
        durable: &mut Durable,
    ) -> Decision {
        if let Err(e) = w.validate() {
            let id: String = w.id.chars().take(crate::model::caps::ID).collect();
            return Decision::gate_hold(&id, GateCode::BadInput, e.to_string());
        }
        if !self.enforced {
            return Decision::gate_hold(
                &w.id,
                GateCode::NoPolicies,
                "no enforced policy is loaded",
            );
        }
        if let Some(max) = self.max_clock_skew_ms {
            let now = (self.clock)();
            let skew = now.abs_diff(w.requested_at);
            if skew > max {
                return Decision::gate_hold(
                    &w.id,
                    GateCode::ClockSkew,
                    format!(
                        "requested_at {} is {skew} ms from the gate's clock ({now}); at most {max} ms is accepted",
                        w.requested_at
                    ),
                );
            }
        }
        // Canonical destination, so case and format variants share one key.
        let canonical = address::canonicalize(&w.chain, &w.destination);
        let keys = Arc::new(Keys::new(
            w,
            match &canonical {
                Ok(c) => c.as_str(),
                Err(_) => w.destination.trim(),
            },
        ));
        let fingerprint = fingerprint(w);

        // The id's and keys' locks until the decision is recorded; every
        // return before the commit unlocks them (dropping the transaction).
        let txn = match open_txn(&self.velocity, w, &keys, &fingerprint) {
            Ok(txn) => txn,
            Err(settled) => return *settled,
        };

        let permit = self.permits.acquire();
        // One context per decision, shared by its policy calls.
        let lease = self.context(
            w,
            canonical,
            keys.clone(),
            txn.token(),
            explanation.is_some(),
        );
        let (ctx, input) = (&lease.ctx, &lease.input);
        let mut decision = Decision::allow(&w.id);
        for (policy, &mode) in self.policies.iter().zip(&self.modes) {
            // Each policy's own answer first, then (when enforced) folded in.
            let mut own = Decision::allow("");
            let call_started = explanation.is_some().then(Instant::now);
            let called = policy.evaluate(input, ctx.clone());
            let wall_ns = call_started.map_or(0, |t| {
                t.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64
            });
            let fault_code = match called.result {
                Ok(out) => {
                    merge(&mut own, policy, out);
                    own.reasons
                        .iter()
                        .find(|r| GateCode::is_gate(&r.code))
                        .map(|_| GateCode::PolicyFault)
                }
                Err(fault) => {
                    fault_hold(&mut own, policy, &fault);
                    Some(fault.code())
                }
            };
            if fault_code.is_some() && !called.screened.is_empty() {
                screened_deny(&mut own, policy, called.screened);
            }
            if let Some(explanation) = explanation.as_deref_mut() {
                explanation.policies.push(PolicyExplanation {
                    name: policy.name().to_string(),
                    version: policy.version().to_string(),
                    sha256: hex::encode(policy.sha256()),
                    mode,
                    verdict: own.verdict,
                    reasons: own.reasons.clone(),
                    hits: own.hits.clone(),
                    fault: fault_code.map(|code| FaultExplanation {
                        code: code.as_str().to_string(),
                        detail: own
                            .reasons
                            .iter()
                            .find(|r| GateCode::is_gate(&r.code))
                            .map(|r| r.detail.clone())
                            .unwrap_or_default(),
                    }),
                    fuel: called.fuel,
                    wall_ns,
                    calls: called.calls,
                    calls_dropped: called.calls_dropped,
                });
            }
            let outcome = PolicyOutcome {
                mode,
                verdict: own.verdict,
                fault: fault_code.is_some(),
                fault_code,
                fuel: called.fuel,
                reasons: Vec::new(),
                hits: Vec::new(),
            };
            match mode {
                Mode::Enforce => {
                    decision.verdict = decision.verdict.max(own.verdict);
                    decision.reasons.append(&mut own.reasons);
                    for hit in own.hits {
                        if !decision.hits.contains(&hit) {
                            decision.hits.push(hit);
                        }
                    }
                    trace.push(outcome);
                }
                Mode::Shadow => trace.push(PolicyOutcome {
                    reasons: own.reasons,
                    hits: own.hits,
                    ..outcome
                }),
            }
        }
        let velocity_fault = lease.ctx.velocity_fault.get().cloned();
        self.keep_context(lease);
        drop(permit);
        if let Some(why) = velocity_fault {
            decision.verdict = decision.verdict.max(Verdict::Hold);
            decision
                .reasons
                .push(GateCode::VelocityUnavailable.reason(format!(
                    "the velocity store failed during evaluation: {why}"
                )));
        }
        // Faults are not recorded: a retry of the same id is evaluated anew.
        if decision.has_gate_reason() {
            return decision;
        }
        let allowed =
            (decision.verdict == Verdict::Allow).then(|| (w.amount, w.usd_cents.unwrap_or(0)));
        // An ALLOW that is not recorded is never returned; a DENY stays a
        // DENY (a designated hit is never softened to a hold by a store
        // failure).
        // A HOLD is recorded with its pending review (what its approval
        // counts); the decision returned is the fresh one.
        let held = (decision.verdict == Verdict::Hold).then(|| {
            let mut review = Review::pending(w.amount, w.usd_cents.unwrap_or(0));
            review.required = self.review.required(&decision.reasons);
            Decision {
                review: Some(review),
                ..decision.clone()
            }
        });
        let recorded = held.as_ref().unwrap_or(&decision);
        // Recorded and unlocked; returned once on disk (`settle`).
        match txn.commit_deferred(fingerprint, w.requested_at, recorded, allowed) {
            Ok(d) => *durable = d,
            Err(e) => return settle(decision, Err(e)),
        }
        decision
    }
}

/// A decision recorded but maybe not yet on disk (see
/// [`Gate::evaluate_deferred`]): the decision is given only by waiting.
#[must_use = "a pending decision is given out only once its record is on disk"]
#[derive(Debug)]
pub struct Pending {
    decision: Decision,
    durable: Durable,
}

impl Pending {
    /// Whether its record is known to be on disk already.
    pub fn is_settled(&self) -> bool {
        self.durable.is_settled()
    }

    /// The decision, once its record is on disk (blocks).
    pub fn wait(self) -> Decision {
        let result = self.durable.wait();
        settle(self.decision, result)
    }

    /// [`wait`](Self::wait) without blocking a thread.
    pub async fn settled(self) -> Decision {
        let result = self.durable.settled().await;
        settle(self.decision, result)
    }
}

/// The decision to return once its commit is known: itself, or when the
/// commit failed HOLD `gate.velocity_unavailable` with the decision's
/// reasons and hits (a DENY stays DENY; never an ALLOW).
fn settle(decision: Decision, committed: Result<(), VelocityError>) -> Decision {
    match committed {
        Ok(()) => decision,
        Err(e) => {
            let mut held = velocity_hold(&decision.id, &e);
            held.verdict = held.verdict.max(decision.verdict);
            held.hits = decision.hits;
            held.reasons.extend(decision.reasons);
            held.latency_ns = decision.latency_ns;
            held
        }
    }
}

/// Opens the velocity transaction of `w` over `keys` (`fingerprint`: its
/// content), or gives the decision that settles it before any check: the
/// one recorded for a retry (replayed), HOLD `gate.idempotency_conflict`
/// for another withdrawal under a decided id, HOLD
/// `gate.velocity_unavailable` when the store fails (boxed: the open
/// transaction is the common path). Public for the contenders of the
/// benchmark, which record as the gate does.
pub fn open_txn<'a>(
    velocity: &'a Velocity,
    w: &'a Withdrawal,
    keys: &'a Keys,
    fingerprint: &[u8; 32],
) -> Result<Txn<'a>, Box<Decision>> {
    let pending = PendingContribution {
        ts: w.requested_at,
        amount: w.amount,
        usd_cents: w.usd_cents.unwrap_or(0),
    };
    let txn = velocity
        .begin_pending(&w.id, keys, pending)
        .map_err(|e| Box::new(velocity_hold(&w.id, &e)))?;
    match txn.prior(fingerprint) {
        Ok(Prior::New) => Ok(txn),
        Ok(Prior::Replay(recorded)) => Err(Box::new(recorded)),
        Ok(Prior::Conflict) => Err(Box::new(Decision::gate_hold(
            &w.id,
            GateCode::IdempotencyConflict,
            "this id was already decided for a different withdrawal",
        ))),
        Err(e) => Err(Box::new(velocity_hold(&w.id, &e))),
    }
}

/// HOLD `gate.velocity_unavailable` for a store failure.
pub fn velocity_hold(id: &str, e: &VelocityError) -> Decision {
    Decision::gate_hold(
        id,
        GateCode::VelocityUnavailable,
        format!("velocity state cannot be read or recorded: {e}"),
    )
}

fn fault_hold(decision: &mut Decision, policy: &Policy, fault: &Fault) {
    decision.verdict = decision.verdict.max(Verdict::Hold);
    decision.reasons.push(Reason {
        code: fault.code().as_str().into(),
        detail: format!(
            "policy `{}` ({}) faulted: {fault}",
            display_name(policy),
            policy.origin()
        ),
        policy: Some(display_name(policy).to_string()),
    });
}

/// A policy faulted after the screening import told it of designated hits:
/// the host saw them, so the policy's answer is DENY with them as evidence
/// (beside the fault's own reason), never HOLD.
fn screened_deny(decision: &mut Decision, policy: &Policy, screened: Vec<wit::Evidence>) {
    decision.verdict = Verdict::Deny;
    let first = format!(
        "{} on {} ({})",
        screened[0].address, screened[0].list, screened[0].list_version
    );
    let n = screened.len();
    for e in screened {
        add_hit(decision, e);
    }
    decision.reasons.push(Reason {
        code: GateCode::DesignatedHit.as_str().into(),
        detail: format!(
            "policy `{}` faulted after screening answered it a designated hit ({first}{}): denied on the hit",
            display_name(policy),
            if n > 1 {
                format!(" and {} more", n - 1)
            } else {
                String::new()
            }
        ),
        policy: Some(display_name(policy).to_string()),
    });
}

/// A guest's or the host's evidence as a decision's hit, once.
fn add_hit(decision: &mut Decision, e: wit::Evidence) {
    let hit = Hit {
        list: e.list,
        list_version: e.list_version,
        label: e.label,
        address: e.address,
    };
    if !decision.hits.contains(&hit) {
        decision.hits.push(hit);
    }
}

fn display_name(policy: &Policy) -> &str {
    if policy.name().is_empty() {
        policy.origin()
    } else {
        policy.name()
    }
}

/// Folds one policy's decision into the combined one, enforcing the
/// contract on what the policy returned. A violation never lowers the
/// verdict the policy asked for; it adds a HOLD.
fn merge(decision: &mut Decision, policy: &Policy, out: wit::Decision) {
    let verdict = match out.verdict {
        wit::Verdict::Allow => Verdict::Allow,
        wit::Verdict::Hold => Verdict::Hold,
        wit::Verdict::Deny => Verdict::Deny,
    };
    decision.verdict = decision.verdict.max(verdict);
    if let Err(violation) = check_contract(&out) {
        fault_hold(decision, policy, &Fault::Contract(violation.to_string()));
        return;
    }
    if verdict != Verdict::Allow && out.reasons.is_empty() {
        decision.reasons.push(Reason {
            code: GateCode::UnexplainedVerdict.as_str().into(),
            detail: format!(
                "policy `{}` returned {verdict} without a reason",
                policy.name()
            ),
            policy: Some(policy.name().to_string()),
        });
    }
    for reason in out.reasons {
        for e in reason.evidence {
            add_hit(decision, e);
        }
        decision.reasons.push(Reason {
            code: reason.code,
            detail: truncate(reason.detail, MAX_DETAIL),
            policy: Some(policy.name().to_string()),
        });
    }
}

/// How a policy's answer broke the contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum ContractViolation {
    #[error("{0} reasons, more than {MAX_REASONS}")]
    TooManyReasons(usize),
    #[error("reason code `{0}` is not 1-{MAX_CODE} of [a-z0-9_.-]")]
    MalformedCode(String),
    #[error("reason code `{0}` uses the gate's prefix")]
    GatePrefix(String),
    #[error("reason `{0}` carries too much evidence")]
    TooMuchEvidence(String),
}

fn check_contract(out: &wit::Decision) -> Result<(), ContractViolation> {
    if out.reasons.len() > MAX_REASONS {
        return Err(ContractViolation::TooManyReasons(out.reasons.len()));
    }
    for r in &out.reasons {
        let well_formed = !r.code.is_empty()
            && r.code.len() <= MAX_CODE
            && r.code.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
            });
        if !well_formed {
            return Err(ContractViolation::MalformedCode(truncate(
                r.code.clone(),
                MAX_CODE,
            )));
        }
        if GateCode::is_gate(&r.code) {
            return Err(ContractViolation::GatePrefix(r.code.clone()));
        }
        if r.evidence.len() > MAX_EVIDENCE {
            return Err(ContractViolation::TooMuchEvidence(r.code.clone()));
        }
    }
    Ok(())
}

fn truncate(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        s
    } else {
        s.chars().take(max).collect()
    }
}

/// sha256 of the withdrawal's content (every field, length-prefixed): the
/// same id with other content is a conflict, not a retry.
pub fn fingerprint(w: &Withdrawal) -> [u8; 32] {
    let mut h = Sha256::new();
    for field in [&w.id, &w.account, &w.asset, &w.chain, &w.destination] {
        h.update((field.len() as u32).to_le_bytes());
        h.update(field.as_bytes());
    }
    h.update(w.amount.to_le_bytes());
    h.update([w.decimals]);
    h.update(w.requested_at.to_le_bytes());
    for opt in [
        w.usd_cents,
        w.account_created_at,
        w.credential_changed_at,
        w.destination_first_used_at,
    ] {
        match opt {
            Some(v) => {
                h.update([1]);
                h.update(v.to_le_bytes());
            }
            None => h.update([0]),
        }
    }
    h.finalize().into()
}
