//! Loading policy components and calling them under limits.
//!
//! A policy is compiled once (or loaded from the AOT cache), checked against
//! the gate's contract (only the gate's imports, the `policy` export),
//! configured once per instance, and served from a pool of ready instances.
//! Every call gets the policy's whole fuel budget (set on the store before
//! the call, whatever the instance ran before). A call that traps, runs out
//! of fuel, runs past the wall-clock backstop or exceeds its memory cap is a
//! fault: the instance is dropped (its store with it) and a fresh one is
//! built from the `InstancePre` for the next call.

use crate::cache::{AotCache, CacheOutcome};
use crate::engine::{Runtime, SETUP_FUEL};
use crate::host::{CallContext, HostCall, HostState};
use riskgate_model::GateCode;
use riskgate_velocity::slots::{Padded, StripedU64, thread_slot};
use sha2::{Digest, Sha256};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, InstancePre, types::ComponentItem};
use wasmtime::{Store, StoreLimitsBuilder, Trap, UpdateDeadline};

pub use crate::bindings;
pub use crate::bindings::riskgate::policy::types as wit;
use crate::exports::{Bound, PolicyExports};

/// The interfaces a policy may import: the gate's, nothing else (at the
/// contract's version, `riskgate:policy/velocity@0.1.2`, or any earlier
/// 0.1.x: see [`allowed_import`]).
pub const ALLOWED_IMPORTS: [&str; 4] = [
    "riskgate:policy/types",
    "riskgate:policy/screening",
    "riskgate:policy/velocity",
    "riskgate:policy/log",
];

/// The contract versions a policy may be built against: every one this
/// host serves (0.1.x is compatible: a later one only adds).
pub const SERVED_VERSIONS: [&str; 3] = ["0.1.0", "0.1.1", "0.1.2"];

/// Whether `name` (`interface@version`) is one of the gate's interfaces at
/// a version this host serves.
pub fn allowed_import(name: &str) -> bool {
    name.split_once('@').is_some_and(|(interface, version)| {
        ALLOWED_IMPORTS.contains(&interface) && SERVED_VERSIONS.contains(&version)
    })
}

/// Where a policy's bytes come from, and its configuration.
#[derive(Debug, Clone)]
pub struct PolicySource {
    /// Shown in errors and reasons: a file path or `bundled:<name>`.
    pub origin: String,
    /// The component binary.
    pub bytes: Arc<[u8]>,
    /// JSON configuration handed to `configure` (`{}` when none).
    pub config: String,
    /// Fuel of one call (`None`: the gate's [`crate::engine::Limits::fuel`]).
    pub fuel: Option<u64>,
}

impl PolicySource {
    /// This source with its own fuel budget per call.
    pub fn with_fuel(mut self, fuel: u64) -> Self {
        self.fuel = Some(fuel);
        self
    }
}

/// Why a policy was refused at load.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not a valid WebAssembly component: {0}")]
    Compile(String),
    /// A core WebAssembly module (`\0asm` version 1), not a component.
    #[error(
        "this is a core WebAssembly module, not a component: build the policy with the \
         riskgate-guest SDK for wasm32-unknown-unknown and encode the module as a component \
         (`riskgate policy build` does both; or wit-component's ComponentEncoder, or \
         `wasm-tools component new MODULE.wasm -o POLICY.wasm`)"
    )]
    CoreModule,
    /// A component built for WASI (it imports `wasi:*` interfaces).
    #[error(
        "imports `{0}`: this component was built for WASI (wasm32-wasip1/wasip2), which a \
         policy may not use; build it for wasm32-unknown-unknown with the riskgate-guest SDK \
         (`riskgate policy build`, or `cargo build --target wasm32-unknown-unknown` then \
         wit-component's ComponentEncoder / `wasm-tools component new`)"
    )]
    WasiImport(String),
    #[error("forbidden import `{0}`: a policy may import only the gate's interfaces")]
    ForbiddenImport(String),
    #[error("does not implement the riskgate:policy/gate-policy world: {0}")]
    WrongWorld(String),
    #[error("instantiation failed: {0}")]
    Instantiate(String),
    #[error("configuration refused by the policy: {0}")]
    Config(String),
    #[error("component of {0} bytes is larger than the {max} bytes a policy may be", max = crate::inspect::MAX_COMPONENT_BYTES)]
    TooLarge(usize),
}

/// How a policy was obtained, for start-up figures.
#[derive(Debug, Clone, Copy)]
pub struct LoadReport {
    pub cache: CacheOutcome,
    /// Time to compile or deserialise.
    pub compile: Duration,
    /// Time to link, instantiate and configure the first instance.
    pub instantiate: Duration,
}

/// A fault of one policy call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The call used up its fuel budget (deterministic).
    Fuel(u64),
    /// The wall-clock backstop fired before the fuel ran out.
    Deadline,
    Memory,
    StackOverflow,
    Trap(String),
    /// The policy broke the contract in what it returned.
    Contract(String),
    Instantiate(String),
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Fuel(budget) => write!(f, "fuel exhausted (budget {budget})"),
            Fault::Deadline => f.write_str("wall-clock deadline backstop exceeded"),
            Fault::Memory => f.write_str("memory limit exceeded"),
            Fault::StackOverflow => f.write_str("stack overflow"),
            Fault::Trap(t) => write!(f, "trap: {t}"),
            Fault::Contract(c) => write!(f, "contract violation: {c}"),
            Fault::Instantiate(e) => write!(f, "could not rebuild instance: {e}"),
        }
    }
}

impl Fault {
    /// The gate reason code a fault holds with: `gate.fuel_exhausted`,
    /// `gate.deadline_backstop`, else `gate.policy_fault`.
    pub fn code(&self) -> GateCode {
        match self {
            Fault::Fuel(_) => GateCode::FuelExhausted,
            Fault::Deadline => GateCode::DeadlineBackstop,
            _ => GateCode::PolicyFault,
        }
    }
}

struct Instance {
    store: Store<HostState>,
    exports: Bound,
}

/// What one call did: its result, the fuel it burnt, and the designated
/// hits the screening import returned to it (the gate denies on those even
/// when the call then faults).
pub struct Called {
    pub result: Result<wit::Decision, Fault>,
    pub fuel: u64,
    pub screened: Vec<wit::Evidence>,
    /// The host calls and answers, in order, when the context asked to
    /// record them (see [`CallContext::record`]); empty otherwise.
    pub calls: Vec<HostCall>,
    /// Host calls made but not recorded (over the cap, or log lines over
    /// the log budget); 0 when not recording.
    pub calls_dropped: u64,
}

/// Counters of one policy, each kept per thread (no cache line shared
/// between cores per call): `load` sums them, `fuel_max.max` is the most.
#[derive(Debug, Default)]
pub struct PolicyCounters {
    pub calls: StripedU64,
    pub faults: StripedU64,
    pub instances_built: StripedU64,
    /// Fuel burnt by every call, and the most by one call.
    pub fuel_used: StripedU64,
    pub fuel_max: StripedU64,
}

/// Pools of ready instances: one per thread slot, so a call takes and
/// returns its instance without another core's lock.
const POOL_SLOTS: usize = 16;

/// A loaded, configured policy.
pub struct Policy {
    name: String,
    version: String,
    origin: String,
    sha256: [u8; 32],
    config: String,
    fuel: u64,
    runtime: Arc<Runtime>,
    pre: InstancePre<HostState>,
    exports: PolicyExports,
    pool: Box<[Padded<Mutex<Vec<Instance>>>]>,
    counters: PolicyCounters,
}

impl Policy {
    /// Compiles (or loads from `cache`), checks and configures a policy.
    pub fn load(
        runtime: &Arc<Runtime>,
        source: &PolicySource,
        cache: Option<&AotCache>,
    ) -> Result<(Self, LoadReport), LoadError> {
        let engine = runtime.engine();
        crate::inspect::check_size(&source.bytes)?;
        check_magic(&source.bytes)?;
        let sha256: [u8; 32] = Sha256::digest(&source.bytes).into();
        let started = Instant::now();
        let (component, outcome) = match cache {
            Some(cache) => match cache.load(engine, &sha256) {
                (Some(component), outcome) => (component, outcome),
                (None, outcome) => {
                    let precompiled = engine
                        .precompile_component(&source.bytes)
                        .map_err(|e| LoadError::Compile(describe(&e)))?;
                    // SAFETY: these bytes were produced just now by this engine.
                    let component = unsafe { Component::deserialize(engine, &precompiled) }
                        .map_err(|e| LoadError::Compile(describe(&e)))?;
                    if let Err(e) = cache.store(&sha256, &precompiled) {
                        tracing::warn!(cache = %cache.dir().display(), error = %e, "could not store AOT artifact");
                    }
                    (component, outcome)
                }
            },
            None => (
                Component::new(engine, &source.bytes)
                    .map_err(|e| LoadError::Compile(describe(&e)))?,
                CacheOutcome::Disabled,
            ),
        };
        let compile = started.elapsed();

        let started = Instant::now();
        check_imports(&component, engine)?;
        let (pre, exports) = crate::exports::prepare(engine, &component)?;

        let mut policy = Policy {
            name: String::new(),
            version: String::new(),
            origin: source.origin.clone(),
            sha256,
            config: source.config.clone(),
            fuel: source.fuel.unwrap_or(runtime.limits().fuel),
            runtime: runtime.clone(),
            pre,
            exports,
            pool: (0..POOL_SLOTS).map(|_| Padded::default()).collect(),
            counters: PolicyCounters::default(),
        };
        let mut first = policy.instantiate().map_err(|e| match e {
            InstantiateError::Config(msg) => LoadError::Config(msg),
            InstantiateError::WrongWorld(msg) => LoadError::WrongWorld(msg),
            InstantiateError::Other(msg) => LoadError::Instantiate(msg),
        })?;
        first
            .store
            .set_epoch_deadline(runtime.setup_deadline_ticks());
        first
            .store
            .set_fuel(policy.setup_fuel())
            .map_err(|e| LoadError::Instantiate(describe(&e)))?;
        let info = first
            .exports
            .info(&mut first.store)
            .map_err(|e| LoadError::Instantiate(format!("info(): {}", describe(&e))))?;
        if !valid_name(&info.name) || info.name == "gate" {
            return Err(LoadError::WrongWorld(format!(
                "policy name `{}` must be 1-32 lowercase ASCII letters, digits, `_` or `-`, and not `gate`",
                info.name
            )));
        }
        policy.name = info.name;
        policy.version = info.version.chars().take(64).collect();
        policy.pool[thread_slot(POOL_SLOTS)]
            .0
            .get_mut()
            .expect("fresh mutex")
            .push(first);
        let instantiate = started.elapsed();
        Ok((
            policy,
            LoadReport {
                cache: outcome,
                compile,
                instantiate,
            },
        ))
    }

    /// The policy's own name (from its `info` export).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The policy's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Where it was loaded from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// sha256 of the component binary.
    pub fn sha256(&self) -> [u8; 32] {
        self.sha256
    }

    /// Call and fault counters.
    pub fn counters(&self) -> &PolicyCounters {
        &self.counters
    }

    /// Fuel of one call.
    pub fn fuel(&self) -> u64 {
        self.fuel
    }

    /// Fuel of instantiation and of `configure`, each.
    fn setup_fuel(&self) -> u64 {
        SETUP_FUEL.max(self.fuel)
    }

    fn instantiate(&self) -> Result<Instance, InstantiateError> {
        let engine = self.runtime.engine();
        let mut store = Store::new(engine, HostState::new(store_limits(&self.runtime)));
        store.limiter(|s| s.limits_mut());
        // At the deadline, time the call spent waiting on the host (a
        // velocity round trip) is credited back: only the guest's own work
        // counts. Outside `evaluate` (instantiate, configure) nothing is.
        let deadline = self.runtime.limits().deadline;
        let tick = self.runtime.tick();
        store.epoch_deadline_callback(move |ctx| {
            Ok(match ctx.data().guest_time_left(deadline) {
                Some(left) => {
                    let ticks = left.as_nanos().div_ceil(tick.as_nanos().max(1)) + 1;
                    UpdateDeadline::Continue(u64::try_from(ticks).unwrap_or(u64::MAX))
                }
                None => UpdateDeadline::Interrupt,
            })
        });
        // Instantiation and configure run once per instance, off the
        // per-decision budget: they get the setup fuel and deadline.
        let setup = |store: &mut Store<HostState>| {
            store.set_epoch_deadline(self.runtime.setup_deadline_ticks());
            store
                .set_fuel(self.setup_fuel())
                .map_err(|e| InstantiateError::Other(describe(&e)))
        };
        setup(&mut store)?;
        let instance = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| InstantiateError::Other(describe(&e)))?;
        let exports = Bound::bind(&instance, &mut store, &self.exports)
            .map_err(|e| InstantiateError::WrongWorld(e.0))?;
        setup(&mut store)?;
        let configured = exports.configure(&mut store, &self.config).map_err(|e| {
            // A panic hook's message, when the guest sent one.
            let panic = store
                .data_mut()
                .take_panic()
                .map(|p| format!(": {p}"))
                .unwrap_or_default();
            InstantiateError::Other(format!("configure(): {}{panic}", describe(&e)))
        })?;
        configured.map_err(|m| InstantiateError::Config(one_line(&m, 512)))?;
        self.counters
            .instances_built
            .fetch_add(1, Ordering::Relaxed);
        Ok(Instance { store, exports })
    }

    /// A ready instance: this thread's slot's, else one another slot has
    /// spare (a thread that has not called yet takes one built elsewhere).
    fn take(&self, slot: usize) -> Option<Instance> {
        let pop = |i: usize| {
            self.pool[i]
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop()
        };
        pop(slot).or_else(|| {
            (1..POOL_SLOTS)
                .map(|d| (slot + d) % POOL_SLOTS)
                .find_map(pop)
        })
    }

    /// Whether the policy exports `evaluate-packed` (built against contract
    /// 0.1.2 or later), which [`Policy::evaluate`] then calls.
    pub fn packed(&self) -> bool {
        self.exports.packed()
    }

    /// Evaluates one withdrawal with the policy's whole fuel budget:
    /// through `evaluate-packed` when the policy exports it (and the input
    /// packs), else `evaluate`. A fault is `Err` in the result; the
    /// instance that faulted has been dropped.
    pub fn evaluate(&self, input: &PolicyInput, ctx: Arc<CallContext>) -> Called {
        self.counters.calls.fetch_add(1, Ordering::Relaxed);
        let slot = thread_slot(POOL_SLOTS);
        let mut instance = match self.take(slot) {
            Some(instance) => instance,
            None => match self.instantiate() {
                Ok(instance) => instance,
                Err(e) => {
                    self.counters.faults.fetch_add(1, Ordering::Relaxed);
                    return Called {
                        result: Err(Fault::Instantiate(match e {
                            InstantiateError::Config(m)
                            | InstantiateError::WrongWorld(m)
                            | InstantiateError::Other(m) => m,
                        })),
                        fuel: 0,
                        screened: Vec::new(),
                        calls: Vec::new(),
                        calls_dropped: 0,
                    };
                }
            },
        };
        instance.store.data_mut().begin(ctx);
        instance
            .store
            .set_epoch_deadline(self.runtime.deadline_ticks());
        // The whole budget for every call, whatever the instance ran before.
        let result = match instance.store.set_fuel(self.fuel) {
            Ok(()) => {
                let Instance { store, exports } = &mut instance;
                let packed = input
                    .packed()
                    .and_then(|packed| exports.evaluate_packed(&mut *store, packed));
                packed.unwrap_or_else(|| exports.evaluate(store, input.record()))
            }
            Err(e) => Err(e),
        };
        let fuel = self
            .fuel
            .saturating_sub(instance.store.get_fuel().unwrap_or(0));
        let ended = instance.store.data_mut().end(&self.name);
        self.counters.fuel_used.fetch_add(fuel, Ordering::Relaxed);
        self.counters.fuel_max.fetch_max(fuel, Ordering::Relaxed);
        let result = match result {
            Ok(decision) => {
                self.pool[slot]
                    .0
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(instance);
                Ok(decision)
            }
            Err(e) => {
                self.counters.faults.fetch_add(1, Ordering::Relaxed);
                // `instance` (and its store, with all its memory) drops here.
                Err(match (classify(&e, self.fuel), ended.panic) {
                    // The guest's panic hook said why, right before the trap.
                    (Fault::Trap(trap), Some(panic)) => Fault::Trap(format!("{trap}: {panic}")),
                    (fault, _) => fault,
                })
            }
        };
        Called {
            result,
            fuel,
            screened: ended.screened,
            calls: ended.calls,
            calls_dropped: ended.calls_dropped,
        }
    }
}

enum InstantiateError {
    Config(String),
    /// An export's type is not the contract's.
    WrongWorld(String),
    Other(String),
}

/// Binary components start with `\0asm` and a component's version and
/// layer (a core module's version is 1); anything else must be component
/// text (WAT), which is UTF-8 (a `(module` there is a core module too).
pub(crate) fn check_magic(bytes: &[u8]) -> Result<(), LoadError> {
    if let Some(rest) = bytes.strip_prefix(b"\0asm") {
        if rest.starts_with(&[1, 0, 0, 0]) {
            return Err(LoadError::CoreModule);
        }
        Ok(())
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        if first_wat_token(text).starts_with("(module") {
            return Err(LoadError::CoreModule);
        }
        Ok(())
    } else {
        Err(LoadError::Compile(
            "not a WebAssembly binary (no \\0asm header) nor component text".into(),
        ))
    }
}

/// The text after leading whitespace and `;;` line comments.
fn first_wat_token(mut text: &str) -> &str {
    loop {
        text = text.trim_start();
        match text.strip_prefix(";;") {
            Some(comment) => text = comment.split_once('\n').map_or("", |(_, rest)| rest),
            None => return text,
        }
    }
}

pub(crate) fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Refuses any import that is not one of the gate's interfaces.
pub(crate) fn check_imports(
    component: &Component,
    engine: &wasmtime::Engine,
) -> Result<(), LoadError> {
    let ty = component.component_type();
    for (name, item) in ty.imports(engine) {
        let allowed =
            allowed_import(name) && matches!(item.ty, ComponentItem::ComponentInstance(_));
        if !allowed && name.starts_with("wasi:") {
            return Err(LoadError::WasiImport(name.to_string()));
        }
        if !allowed {
            return Err(LoadError::ForbiddenImport(name.to_string()));
        }
    }
    Ok(())
}

fn classify(e: &wasmtime::Error, fuel: u64) -> Fault {
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Fault::Fuel(fuel),
        Some(Trap::Interrupt) => Fault::Deadline,
        Some(Trap::StackOverflow) => Fault::StackOverflow,
        Some(trap) => Fault::Trap(trap.to_string()),
        None => {
            let text = describe(e);
            if text.contains("forcing trap when growing memory") {
                Fault::Memory
            } else {
                Fault::Trap(text)
            }
        }
    }
}

/// The resource limits of one policy instance's store: the memory cap,
/// and bounds on instances, memories and tables.
pub(crate) fn store_limits(runtime: &Runtime) -> wasmtime::StoreLimits {
    StoreLimitsBuilder::new()
        .memory_size(runtime.limits().memory)
        .instances(16)
        .memories(4)
        .tables(16)
        .table_elements(100_000)
        .trap_on_grow_failure(true)
        .build()
}

/// A withdrawal as the policies see it, in both of the contract's forms:
/// the `withdrawal` record `evaluate` takes and the `packed-withdrawal`
/// `evaluate-packed` takes (0.1.2). A caller deciding many withdrawals
/// keeps one and refills it ([`PolicyInput::fill`]), reusing its buffers.
#[derive(Debug, Clone)]
pub struct PolicyInput {
    record: wit::Withdrawal,
    packed: wit::PackedWithdrawal,
    /// Whether `packed` holds the withdrawal: each length fits in its 16
    /// bits (a validated withdrawal's always do).
    packable: bool,
}

impl PolicyInput {
    /// The policies' input for `w`.
    pub fn new(w: &riskgate_model::Withdrawal) -> Self {
        let mut input = PolicyInput {
            record: wit::Withdrawal {
                id: String::new(),
                account: String::new(),
                asset: String::new(),
                chain: String::new(),
                destination: String::new(),
                amount: 0,
                decimals: 0,
                usd_cents: None,
                requested_at: 0,
                account_created_at: None,
                credential_changed_at: None,
                destination_first_used_at: None,
            },
            packed: wit::PackedWithdrawal {
                text: String::new(),
                lengths: 0,
                amount: 0,
                decimals: 0,
                usd_cents: None,
                requested_at: 0,
                account_created_at: None,
                credential_changed_at: None,
                destination_first_used_at: None,
            },
            packable: false,
        };
        input.fill(w);
        input
    }

    /// Refills this input with `w`, reusing its strings' buffers.
    pub fn fill(&mut self, w: &riskgate_model::Withdrawal) {
        // Every field named: one the contract adds cannot be left stale.
        let wit::Withdrawal {
            id,
            account,
            asset,
            chain,
            destination,
            amount,
            decimals,
            usd_cents,
            requested_at,
            account_created_at,
            credential_changed_at,
            destination_first_used_at,
        } = &mut self.record;
        id.clone_from(&w.id);
        account.clone_from(&w.account);
        asset.clone_from(&w.asset);
        chain.clone_from(&w.chain);
        destination.clone_from(&w.destination);
        *amount = w.amount;
        *decimals = w.decimals;
        *usd_cents = w.usd_cents;
        *requested_at = w.requested_at;
        *account_created_at = w.account_created_at;
        *credential_changed_at = w.credential_changed_at;
        *destination_first_used_at = w.destination_first_used_at;

        let wit::PackedWithdrawal {
            text,
            lengths,
            amount,
            decimals,
            usd_cents,
            requested_at,
            account_created_at,
            credential_changed_at,
            destination_first_used_at,
        } = &mut self.packed;
        text.clear();
        *lengths = 0;
        self.packable = true;
        for (i, s) in [&w.id, &w.account, &w.asset, &w.chain].iter().enumerate() {
            text.push_str(s);
            match u16::try_from(s.len()) {
                Ok(len) => *lengths |= u64::from(len) << (16 * i),
                Err(_) => self.packable = false,
            }
        }
        text.push_str(&w.destination);
        *amount = w.amount;
        *decimals = w.decimals;
        *usd_cents = w.usd_cents;
        *requested_at = w.requested_at;
        *account_created_at = w.account_created_at;
        *credential_changed_at = w.credential_changed_at;
        *destination_first_used_at = w.destination_first_used_at;
    }

    /// The `withdrawal` record.
    pub fn record(&self) -> &wit::Withdrawal {
        &self.record
    }

    /// The `packed-withdrawal`, when its strings can be packed (each of
    /// the first four is shorter than 64 KiB); else a policy is called with
    /// the record.
    pub fn packed(&self) -> Option<&wit::PackedWithdrawal> {
        self.packable.then_some(&self.packed)
    }
}

/// One line, bounded: errors end up in reasons and one-line CLI messages.
pub(crate) fn describe(e: &wasmtime::Error) -> String {
    one_line(&format!("{e:#}"), 512)
}

/// Collapses whitespace (newlines included) and bounds the length.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.chars().count() > max {
        out = out.chars().take(max).collect();
        out.push('…');
    }
    out
}
