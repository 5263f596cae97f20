//! The one wasmtime [`Engine`] of a gate, its limits, and the epoch ticker
//! behind the wall-clock backstop.
//!
//! A policy call is bounded by fuel (wasmtime's count of executed
//! instructions): deterministic, so the same input and host answers always
//! fault or never do, whatever the machine's load. The wall-clock deadline
//! (epoch interruption) stays only as a backstop far above what a call
//! within its fuel takes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use wasmtime::{Config, Engine, OptLevel};

/// Default wall-clock backstop of one policy call: far above what a call
/// within [`DEFAULT_FUEL`] takes (well under a millisecond of CPU), so it
/// does not fire on a loaded machine; it catches what fuel cannot (a
/// wasmtime or host defect), not a policy's own work.
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(50);
/// Default fuel of one policy call. The bundled policies' worst case with
/// their default configurations over the demo stream and
/// adversarial-but-legal inputs (maximum-length strings, every window over
/// its limit, a hit on three lists) is 33.9k, 1/59 of it; a 60-rule
/// velocity configuration with every rule over its limit takes 268k. See
/// `tests/tests/fuel.rs`, which keeps at least a 10x margin, and the README.
pub const DEFAULT_FUEL: u64 = 2_000_000;
/// Fuel of instantiation and `configure` (once per instance), at least the
/// per-call fuel.
pub const SETUP_FUEL: u64 = 200_000_000;
/// Default cap on a policy instance's linear memory.
pub const DEFAULT_MEMORY_LIMIT: usize = 16 << 20;
/// Deadline of instantiation and `configure` (once per instance).
pub const SETUP_DEADLINE: Duration = Duration::from_secs(1);
/// Cap on the native stack a guest may use (wasm frames).
const MAX_WASM_STACK: usize = 512 << 10;

/// Limits applied to every policy call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock backstop of one call (enforced by epochs; host time
    /// credited back). Far above the fuel budget's run time.
    pub deadline: Duration,
    /// Maximum linear memory of one instance, in bytes.
    pub memory: usize,
    /// Fuel of one call, for each policy without its own
    /// ([`crate::policy::PolicySource::fuel`]).
    pub fuel: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            deadline: DEFAULT_DEADLINE,
            memory: DEFAULT_MEMORY_LIMIT,
            fuel: DEFAULT_FUEL,
        }
    }
}

/// Errors setting up the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("configuring wasmtime: {0}")]
    Config(String),
    #[error("invalid limits: {0}")]
    Limits(&'static str),
    #[error("starting the epoch ticker: {0}")]
    Ticker(std::io::Error),
}

/// The wasmtime engine plus the epoch ticker thread. Cheap to share
/// (`Arc`); the ticker stops when the last reference drops.
pub struct Runtime {
    engine: Engine,
    limits: Limits,
    tick: Duration,
    deadline_ticks: u64,
    setup_deadline_ticks: u64,
    ticker: Option<Ticker>,
}

struct Ticker {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Runtime {
    /// Creates the engine (component model, Cranelift, fuel, epoch
    /// interruption) and starts the epoch ticker.
    pub fn new(limits: Limits) -> Result<Arc<Self>, EngineError> {
        if limits.deadline.is_zero() {
            return Err(EngineError::Limits("deadline must be positive"));
        }
        if limits.fuel == 0 {
            return Err(EngineError::Limits("fuel must be positive"));
        }
        if limits.memory < 64 << 10 {
            return Err(EngineError::Limits(
                "memory limit must be at least one 64 KiB page",
            ));
        }
        let engine =
            Engine::new(&engine_config()).map_err(|e| EngineError::Config(e.to_string()))?;
        // Tick four times per deadline; one extra tick makes the effective
        // deadline at least `limits.deadline` whatever the phase of the ticker.
        let tick =
            (limits.deadline / 4).clamp(Duration::from_micros(50), Duration::from_millis(50));
        let ticks = |d: Duration| d.as_nanos().div_ceil(tick.as_nanos()) as u64 + 1;
        let deadline_ticks = ticks(limits.deadline);
        let setup_deadline_ticks = ticks(limits.deadline.max(SETUP_DEADLINE));
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let engine = engine.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("riskgate-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(tick);
                        engine.increment_epoch();
                    }
                })
                .map_err(EngineError::Ticker)?
        };
        Ok(Arc::new(Runtime {
            engine,
            limits,
            tick,
            deadline_ticks,
            setup_deadline_ticks,
            ticker: Some(Ticker {
                stop,
                handle: Some(handle),
            }),
        }))
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The per-call limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Epoch ticks a call may run before it is interrupted.
    pub fn deadline_ticks(&self) -> u64 {
        self.deadline_ticks
    }

    /// Epoch ticks instantiation and `configure` may run.
    pub fn setup_deadline_ticks(&self) -> u64 {
        self.setup_deadline_ticks
    }

    /// Period of the epoch ticker.
    pub fn tick(&self) -> Duration {
        self.tick
    }

    /// Whether the ticker thread is running.
    pub fn ticking(&self) -> bool {
        self.ticker.is_some()
    }
}

/// The engine configuration. Precompiled artifacts are only compatible with
/// an engine of exactly this configuration.
fn engine_config() -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .consume_fuel(true)
        .cranelift_opt_level(OptLevel::Speed)
        .max_wasm_stack(MAX_WASM_STACK);
    config
}
