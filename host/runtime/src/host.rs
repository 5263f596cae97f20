//! The host side of the contract: what a policy's imports answer. Each
//! policy instance's store holds a [`HostState`]; the gate hands it a
//! [`CallContext`] for the duration of one call.

use crate::bindings::riskgate::policy::{log, screening, types, velocity};
use riskgate_address::{AddressError, Canonical};
use riskgate_screening::{ScreenError, Screener};
use riskgate_velocity::{Keys, Scope, Velocity};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use wasmtime::StoreLimits;

/// Log messages a policy may emit per call; the rest are counted and dropped.
const LOG_BUDGET: usize = 32;
/// Longest log message kept, in characters.
const LOG_MESSAGE_MAX: usize = 1024;
/// Longest chain / address a policy may ask to screen.
const SCREEN_CHAIN_MAX: usize = riskgate_model::caps::CHAIN;
const SCREEN_ADDRESS_MAX: usize = riskgate_model::caps::DESTINATION;
/// Window queries a policy may make per call: bounds what a guest can spend
/// of the host's time, which does not count against its own deadline.
const WINDOW_BUDGET: u32 = 64;
/// Most designated hits kept per call for the gate (see [`HostState::end`]).
const SCREENED_MAX: usize = 64;
/// Most host time credited back to a call's deadline.
const HOST_CREDIT_MAX: Duration = Duration::from_secs(2);
/// Most host calls recorded per policy call when explaining; the rest are
/// counted in [`Ended::calls_dropped`].
pub const RECORDED_CALLS_MAX: usize = 256;
/// The prefix of the log line a guest's panic hook sends right before the
/// trap (the `riskgate-guest` SDK's hook, or a policy's own).
pub const PANIC_PREFIX: &str = "panicked at ";
/// Longest panic message kept for a fault's detail, in characters.
pub const PANIC_MESSAGE_MAX: usize = 512;
/// Longest chain or address text recorded in an explanation's call.
const RECORDED_TEXT_MAX: usize = 256;

/// What the imports of one call see.
#[derive(Clone)]
pub struct CallContext {
    pub screener: Screener,
    /// The withdrawal's (chain, destination) and its canonical form, computed
    /// once by the gate: the usual `screen` call reuses it.
    pub destination: Arc<Destination>,
    pub velocity: Arc<Velocity>,
    pub keys: Arc<Keys>,
    pub requested_at: u64,
    /// The decision's token in the velocity in-flight registry
    /// ([`riskgate_velocity::Txn::token`]): an asset-scope window counts
    /// every other decision in flight.
    pub inflight: Option<u64>,
    /// Set when the velocity store failed during the call: the gate then
    /// holds with `gate.velocity_unavailable` whatever the policies said.
    pub velocity_fault: Arc<OnceLock<String>>,
    /// Record every host call and its answer (an explained decision). Off,
    /// the imports record nothing.
    pub record: bool,
}

/// One host call a policy made during a call, and the host's answer, as an
/// explanation shows it (serialised with a `"call"` tag: `screen`,
/// `window` or `log`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum HostCall {
    /// `screening.screen(chain, address)`: the evidence list, or the error.
    Screen {
        chain: String,
        address: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hits: Option<Vec<riskgate_model::Hit>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ScreenFailure>,
    },
    /// `velocity.window(scope, window-ms)`: the statistics, or the error.
    Window {
        scope: WindowScope,
        window_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stats: Option<WindowAnswer>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// `log.log(level, message)`: a line kept (within the log budget).
    Log { level: LogLevel, message: String },
}

/// A screening error as the guest received it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum ScreenFailure {
    UnsupportedChain(String),
    InvalidAddress(String),
}

/// The velocity statistics answered to a window query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WindowAnswer {
    pub count: u64,
    pub sum: u64,
    pub usd_cents: u64,
}

/// The scope of a window query, as in the WIT contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowScope {
    Account,
    AccountAsset,
    Destination,
    AccountDestination,
    Asset,
}

/// A log line's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
}

/// What the host kept of one call when it ended.
#[derive(Debug, Default)]
pub struct Ended {
    /// The designated hits screening answered (see [`HostState::end`]).
    pub screened: Vec<types::Evidence>,
    /// The host calls and answers, in order (recorded only when the
    /// context asked for it), at most [`RECORDED_CALLS_MAX`].
    pub calls: Vec<HostCall>,
    /// Host calls made but not recorded: over [`RECORDED_CALLS_MAX`], or
    /// log lines over the log budget.
    pub calls_dropped: u64,
    /// The last Warn line of the call that starts with [`PANIC_PREFIX`]
    /// (a guest panic hook's message), on one line, at most
    /// [`PANIC_MESSAGE_MAX`] characters.
    pub panic: Option<String>,
}

/// The host calls of one call being explained.
#[derive(Default)]
struct Recording {
    calls: Vec<HostCall>,
    dropped: u64,
}

impl Recording {
    fn push(&mut self, call: impl FnOnce() -> HostCall) {
        if self.calls.len() < RECORDED_CALLS_MAX {
            self.calls.push(call());
        } else {
            self.dropped += 1;
        }
    }
}

fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        text.to_string()
    } else {
        let mut out: String = text.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// A withdrawal's destination, canonicalised once per decision.
pub struct Destination {
    pub chain: String,
    pub address: String,
    pub canonical: Result<Canonical, AddressError>,
}

/// The data of one policy instance's store.
pub struct HostState {
    limits: StoreLimits,
    ctx: Option<Arc<CallContext>>,
    logs: Vec<(log::Level, String)>,
    dropped_logs: usize,
    /// When the current `evaluate` call started.
    started: Option<Instant>,
    /// Time the current call spent in the host answering its imports (a
    /// Redis round trip, say): it is not the guest's to answer for.
    host_time: Duration,
    windows: u32,
    /// Designated hits the screening import returned in the current call:
    /// the host saw them, so a fault after them still denies.
    screened: Vec<types::Evidence>,
    /// The current call's host calls, when its context asked for them.
    recording: Option<Recording>,
    /// The current call's panic message (see [`Ended::panic`]).
    panic: Option<String>,
    /// `windows-flat`'s answers before they are flattened, kept between
    /// calls so that no call allocates them.
    answers: Vec<Result<velocity::WindowStats, String>>,
}

impl HostState {
    pub fn new(limits: StoreLimits) -> Self {
        HostState {
            limits,
            ctx: None,
            logs: Vec::new(),
            dropped_logs: 0,
            started: None,
            host_time: Duration::ZERO,
            windows: 0,
            screened: Vec::new(),
            recording: None,
            answers: Vec::new(),
            panic: None,
        }
    }

    pub fn limits_mut(&mut self) -> &mut StoreLimits {
        &mut self.limits
    }

    pub fn begin(&mut self, ctx: Arc<CallContext>) {
        self.recording = ctx.record.then(Recording::default);
        self.panic = None;
        self.ctx = Some(ctx);
        self.started = Some(Instant::now());
        self.host_time = Duration::ZERO;
        self.windows = 0;
        self.screened.clear();
    }

    /// The panic message a guest's hook logged since the last call began
    /// (see [`Ended::panic`]), taken: a panic in instantiation or
    /// `configure`, outside any `evaluate` call.
    pub fn take_panic(&mut self) -> Option<String> {
        self.panic.take()
    }

    /// What remains of `deadline` for the guest's own work in the current
    /// call (host time spent answering its imports credited back, up to
    /// [`HOST_CREDIT_MAX`]); `None` when it is spent, or outside a call.
    pub fn guest_time_left(&self, deadline: Duration) -> Option<Duration> {
        let started = self.started?;
        let guest = started
            .elapsed()
            .saturating_sub(self.host_time.min(HOST_CREDIT_MAX));
        deadline.checked_sub(guest).filter(|left| !left.is_zero())
    }

    /// Ends a call: drops the context, forwards the call's log lines (as
    /// tracing events with the policy's name) and returns what the host
    /// kept of the call: the designated hits screening answered, the
    /// recorded host calls, the panic message.
    pub fn end(&mut self, policy: &str) -> Ended {
        self.ctx = None;
        self.started = None;
        for (level, message) in self.logs.drain(..) {
            match level {
                log::Level::Debug => tracing::debug!(policy, "{message}"),
                log::Level::Info => tracing::info!(policy, "{message}"),
                log::Level::Warn => tracing::warn!(policy, "{message}"),
            }
        }
        if self.dropped_logs > 0 {
            tracing::warn!(
                policy,
                dropped = self.dropped_logs,
                "policy exceeded its log budget"
            );
            self.dropped_logs = 0;
        }
        let recording = self.recording.take().unwrap_or_default();
        Ended {
            screened: std::mem::take(&mut self.screened),
            calls: recording.calls,
            calls_dropped: recording.dropped,
            panic: self.panic.take(),
        }
    }
}

impl types::Host for HostState {}

impl screening::Host for HostState {
    fn screen(
        &mut self,
        chain: String,
        address: String,
    ) -> Result<Vec<types::Evidence>, screening::ScreenError> {
        self.screen_recorded(&chain, &address)
    }

    /// `screen` with none for no hit (0.1.2): recorded as the same call.
    fn screen_hits(
        &mut self,
        chain: String,
        address: String,
    ) -> Result<Option<Vec<types::Evidence>>, screening::ScreenError> {
        self.screen_recorded(&chain, &address)
            .map(|hits| (!hits.is_empty()).then_some(hits))
    }
}

impl HostState {
    /// The answer of `screen`, recorded when the context asks.
    fn screen_recorded(
        &mut self,
        chain: &str,
        address: &str,
    ) -> Result<Vec<types::Evidence>, screening::ScreenError> {
        let answer = self.screen_answer(chain, address);
        if let Some(recording) = &mut self.recording {
            recording.push(|| {
                let (hits, error) = match &answer {
                    Ok(hits) => (Some(hits.iter().map(hit_of).collect()), None),
                    Err(screening::ScreenError::UnsupportedChain(m)) => {
                        (None, Some(ScreenFailure::UnsupportedChain(m.clone())))
                    }
                    Err(screening::ScreenError::InvalidAddress(m)) => {
                        (None, Some(ScreenFailure::InvalidAddress(m.clone())))
                    }
                };
                HostCall::Screen {
                    chain: bounded(chain, RECORDED_TEXT_MAX),
                    address: bounded(address, RECORDED_TEXT_MAX),
                    hits,
                    error,
                }
            });
        }
        answer
    }
}

fn hit_of(e: &types::Evidence) -> riskgate_model::Hit {
    riskgate_model::Hit {
        list: e.list.clone(),
        list_version: e.list_version.clone(),
        label: e.label.clone(),
        address: e.address.clone(),
    }
}

impl HostState {
    fn screen_answer(
        &mut self,
        chain: &str,
        address: &str,
    ) -> Result<Vec<types::Evidence>, screening::ScreenError> {
        let Some(ctx) = &self.ctx else {
            return Err(screening::ScreenError::UnsupportedChain(
                "screening is not available outside evaluate".into(),
            ));
        };
        if chain.len() > SCREEN_CHAIN_MAX {
            return Err(screening::ScreenError::UnsupportedChain(format!(
                "chain name longer than {SCREEN_CHAIN_MAX} bytes"
            )));
        }
        if address.len() > SCREEN_ADDRESS_MAX {
            return Err(screening::ScreenError::InvalidAddress(format!(
                "address longer than {SCREEN_ADDRESS_MAX} bytes"
            )));
        }
        let d = &ctx.destination;
        let result = if chain == d.chain && address == d.address {
            match &d.canonical {
                Ok(c) => Ok(ctx.screener.screen_canonical(c)),
                Err(e) => Err(ScreenError::from(e.clone())),
            }
        } else {
            ctx.screener.screen(chain, address)
        };
        match result {
            Ok(hits) => {
                let hits: Vec<types::Evidence> = hits
                    .into_iter()
                    .map(|h| types::Evidence {
                        list: h.list,
                        list_version: h.list_version,
                        label: h.label,
                        address: h.address,
                    })
                    .collect();
                for hit in &hits {
                    let seen = self.screened.iter().any(|s| {
                        s.list == hit.list
                            && s.list_version == hit.list_version
                            && s.address == hit.address
                    });
                    if self.screened.len() < SCREENED_MAX && !seen {
                        self.screened.push(hit.clone());
                    }
                }
                Ok(hits)
            }
            Err(ScreenError::UnsupportedChain(c)) => Err(screening::ScreenError::UnsupportedChain(
                format!("unsupported chain `{c}`"),
            )),
            Err(ScreenError::InvalidAddress(e)) => {
                Err(screening::ScreenError::InvalidAddress(e.to_string()))
            }
        }
    }
}

fn scope_of(scope: velocity::Scope) -> Scope {
    match scope {
        velocity::Scope::Account => Scope::Account,
        velocity::Scope::AccountAsset => Scope::AccountAsset,
        velocity::Scope::Destination => Scope::Destination,
        velocity::Scope::AccountDestination => Scope::AccountDestination,
        velocity::Scope::Asset => Scope::Asset,
    }
}

fn window_call(
    scope: velocity::Scope,
    window_ms: u64,
    answer: &Result<velocity::WindowStats, String>,
) -> HostCall {
    let (stats, error) = match answer {
        Ok(s) => (
            Some(WindowAnswer {
                count: s.count,
                sum: s.sum,
                usd_cents: s.usd_cents,
            }),
            None,
        ),
        Err(e) => (None, Some(e.clone())),
    };
    HostCall::Window {
        scope: match scope {
            velocity::Scope::Account => WindowScope::Account,
            velocity::Scope::AccountAsset => WindowScope::AccountAsset,
            velocity::Scope::Destination => WindowScope::Destination,
            velocity::Scope::AccountDestination => WindowScope::AccountDestination,
            velocity::Scope::Asset => WindowScope::Asset,
        },
        window_ms,
        stats,
        error,
    }
}

fn wit_stats(s: riskgate_velocity::WindowStats) -> velocity::WindowStats {
    velocity::WindowStats {
        count: s.count,
        sum: s.sum,
        usd_cents: s.usd_cents,
    }
}

impl velocity::Host for HostState {
    fn window(
        &mut self,
        scope: velocity::Scope,
        window_ms: u64,
    ) -> Result<velocity::WindowStats, String> {
        let answer = self.window_answer(scope, window_ms);
        if let Some(recording) = &mut self.recording {
            recording.push(|| window_call(scope, window_ms, &answer));
        }
        answer
    }

    /// `windows`, flat when every query succeeded (0.1.2): the numbers are
    /// written into the guest's memory as one copy, where the list of
    /// results is written field by field.
    fn windows_flat(
        &mut self,
        queries: Vec<velocity::WindowQuery>,
    ) -> Result<Vec<u64>, Vec<Result<velocity::WindowStats, String>>> {
        let mut answers = std::mem::take(&mut self.answers);
        self.answer_windows(&queries, &mut answers);
        if answers.iter().any(Result::is_err) {
            return Err(answers);
        }
        // Sized up front: the flattening iterator's size is unknown, and
        // growing the list as it goes was a third of this call's cost.
        let mut flat = Vec::with_capacity(3 * answers.len());
        for s in answers.iter().flatten() {
            flat.extend_from_slice(&[s.count, s.sum, s.usd_cents]);
        }
        self.answers = answers;
        Ok(flat)
    }

    /// Every query at once (WIT 0.1.1): the store reads each key once for
    /// all its windows; each query counts against the window budget, and
    /// the explanation records one `window` call per query.
    fn windows(
        &mut self,
        queries: Vec<velocity::WindowQuery>,
    ) -> Vec<Result<velocity::WindowStats, String>> {
        let mut answers = Vec::with_capacity(queries.len());
        self.answer_windows(&queries, &mut answers);
        answers
    }
}

impl HostState {
    /// The answers of `windows` to `queries`, into `answers` (cleared
    /// first).
    fn answer_windows(
        &mut self,
        queries: &[velocity::WindowQuery],
        answers: &mut Vec<Result<velocity::WindowStats, String>>,
    ) {
        answers.clear();
        let Some(ctx) = &self.ctx else {
            answers.resize(
                queries.len(),
                Err("velocity is not available outside evaluate".into()),
            );
            return;
        };
        // The queries within the budget are asked (at most the budget's
        // worth, so they fit on the stack); the rest are refused.
        let allowed = (WINDOW_BUDGET.saturating_sub(self.windows) as usize).min(queries.len());
        self.windows = self
            .windows
            .saturating_add(u32::try_from(queries.len()).unwrap_or(u32::MAX));
        let mut asked = [(Scope::Account, 0u64); WINDOW_BUDGET as usize];
        for (slot, q) in asked.iter_mut().zip(&queries[..allowed]) {
            *slot = (scope_of(q.scope), q.window_ms);
        }
        let started = Instant::now();
        answers.resize(allowed, Err(String::new()));
        ctx.velocity.windows(
            &ctx.keys,
            ctx.requested_at,
            &asked[..allowed],
            ctx.inflight,
            &mut |i, stats| {
                answers[i] = stats.map(wit_stats).map_err(|e| {
                    if e.is_unavailable() {
                        let _ = ctx.velocity_fault.set(e.to_string());
                    }
                    e.to_string()
                });
            },
        );
        self.host_time += started.elapsed();
        if answers.len() < queries.len() {
            answers.resize(
                queries.len(),
                Err(format!(
                    "more than {WINDOW_BUDGET} window queries in one evaluation"
                )),
            );
        }
        if let Some(recording) = &mut self.recording {
            for (q, answer) in queries.iter().zip(answers.iter()) {
                recording.push(|| window_call(q.scope, q.window_ms, answer));
            }
        }
    }
}

impl HostState {
    fn window_answer(
        &mut self,
        scope: velocity::Scope,
        window_ms: u64,
    ) -> Result<velocity::WindowStats, String> {
        let Some(ctx) = &self.ctx else {
            return Err("velocity is not available outside evaluate".into());
        };
        self.windows += 1;
        if self.windows > WINDOW_BUDGET {
            return Err(format!(
                "more than {WINDOW_BUDGET} window queries in one evaluation"
            ));
        }
        let asked = Instant::now();
        let stats = ctx
            .velocity
            .window(
                &ctx.keys,
                scope_of(scope),
                ctx.requested_at,
                window_ms,
                ctx.inflight,
            )
            .map_err(|e| {
                if e.is_unavailable() {
                    let _ = ctx.velocity_fault.set(e.to_string());
                }
                e.to_string()
            });
        self.host_time += asked.elapsed();
        stats.map(wit_stats)
    }
}

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, message: String) {
        // A panic hook's line is kept for the fault's detail even when the
        // log budget is spent.
        if matches!(level, log::Level::Warn) && message.starts_with(PANIC_PREFIX) {
            self.panic = Some(crate::policy::one_line(&message, PANIC_MESSAGE_MAX));
        }
        if self.logs.len() >= LOG_BUDGET {
            self.dropped_logs += 1;
            if let Some(recording) = &mut self.recording {
                recording.dropped += 1;
            }
            return;
        }
        let message = if message.chars().count() > LOG_MESSAGE_MAX {
            message.chars().take(LOG_MESSAGE_MAX).collect()
        } else {
            message
        };
        if let Some(recording) = &mut self.recording {
            recording.push(|| HostCall::Log {
                level: match level {
                    log::Level::Debug => LogLevel::Debug,
                    log::Level::Info => LogLevel::Info,
                    log::Level::Warn => LogLevel::Warn,
                },
                message: message.clone(),
            });
        }
        self.logs.push((level, message));
    }
}
