//! The state behind `riskgate serve`: the generation of policies and lists
//! being served (swapped whole by a reload), the decision log and the
//! metrics.
//!
//! A request takes the current generation once and decides every
//! withdrawal of its body with it, so no request sees a mix of old and new
//! policies or lists; one that started before a reload finishes on the old
//! generation, which is dropped when its last request ends. Every
//! generation shares the one velocity store.

use super::config::{Config, ConfigError, PolicyMeta, Reviewers};
use super::metrics::Metrics;
use crate::decision_log::{DecisionLog, LogError};
use crate::record::{
    DecisionRecord, Event, GenerationLimits, GenerationList, GenerationPolicy, GenerationRecord,
    ListVersion, PolicyRun, RECORD_VERSION, ResolutionRecord,
};
use riskgate::gate::{Gate, Pending, PolicyOutcome};
use riskgate::model::{Decision, GateCode, Verdict, Withdrawal};
use riskgate::model::{HoldState, ReviewAction};
use riskgate::review::EXPIRY_REVIEWER;
use riskgate::velocity::HoldQuery;
use riskgate::velocity::Velocity;
use riskgate::{Explanation, Hold, Resolution, ResolveError, Resolved};
use serde::Serialize;
use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// A designated set as served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListMeta {
    pub name: String,
    pub version: String,
    pub source: String,
    pub count: usize,
}

/// The policies and lists served together.
pub struct Generation {
    /// 1 at start, +1 per successful reload.
    pub number: u64,
    pub gate: Gate,
    pub policies: Vec<PolicyMeta>,
    pub lists: Vec<ListMeta>,
    /// Who may approve and reject holds (`[[reviewer]]`).
    pub reviewers: Reviewers,
}

impl Generation {
    fn new(number: u64, built: super::config::Built, reviewers: Reviewers) -> Self {
        let lists = built
            .gate
            .screener()
            .sets()
            .map(|s| ListMeta {
                name: s.name().to_string(),
                version: s.version().to_string(),
                source: s.source().to_string(),
                count: s.len(),
            })
            .collect();
        Generation {
            number,
            gate: built.gate,
            policies: built.policies,
            lists,
            reviewers,
        }
    }
}

/// A review action that failed, or that the store recorded without its
/// decision-log record.
#[derive(Debug, thiserror::Error)]
pub enum ResolutionError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The velocity store recorded the action; the decision log did not.
    #[error(
        "the resolution of hold `{}` is recorded, but its audit record could not be written: {error}",
        resolved.hold.id
    )]
    Unlogged {
        resolved: Box<Resolved>,
        error: LogError,
    },
    /// The task running it panicked or was cancelled.
    #[error("the resolution did not finish: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Most holds expired in one go of [`Service::expire_due`]'s loop.
pub const EXPIRE_BATCH: usize = 1000;

/// An evaluation that did not finish (its task panicked or was cancelled).
#[derive(Debug, thiserror::Error)]
#[error("the evaluation did not finish: {0}")]
pub struct EvaluateError(#[from] tokio::task::JoinError);

/// What a reload did.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadReport {
    pub ok: bool,
    /// The generation served after the reload (unchanged when it failed).
    pub generation: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyMeta>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lists: Vec<ListMeta>,
    /// Settings that changed in the file but apply only after a restart.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub restart_required: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The log record of generation `g` now served, or of a reload that
/// failed with `error` (`g` still served).
fn generation_record(g: &Generation, error: Option<&str>, timestamp_ms: u64) -> GenerationRecord {
    let (policies, lists) = if error.is_some() {
        (Vec::new(), Vec::new())
    } else {
        (
            g.policies
                .iter()
                .map(|p| GenerationPolicy {
                    name: p.name.clone(),
                    version: p.version.clone(),
                    sha256: p.sha256.clone(),
                    mode: p.mode,
                    origin: p.origin.clone(),
                    signed_by: p.signed_by.clone(),
                    config: Some(p.config.clone()),
                    fuel: Some(p.fuel),
                })
                .collect(),
            g.lists
                .iter()
                .map(|l| GenerationList {
                    name: l.name.clone(),
                    version: l.version.clone(),
                    source: l.source.clone(),
                    count: l.count as u64,
                })
                .collect(),
        )
    };
    GenerationRecord {
        event: if error.is_some() {
            Event::ReloadFailed
        } else {
            Event::Generation
        },
        v: RECORD_VERSION,
        timestamp_ms,
        generation: g.number,
        error: error.map(str::to_string),
        policies,
        lists,
        limits: error.is_none().then(|| {
            let limits = g.gate.runtime().limits();
            GenerationLimits {
                fuel: limits.fuel,
                deadline_us: limits.deadline.as_micros().min(u128::from(u64::MAX)) as u64,
                memory_mib: (limits.memory >> 20) as u64,
            }
        }),
    }
}

/// Whether `hold` was expired at `now` by the action refused on it (the
/// gate expires a pending hold past its expiry before refusing the action).
fn expired_by(hold: &Hold, now: u64) -> bool {
    hold.state == HoldState::Expired
        && hold.last_entry().is_some_and(|e| {
            e.action == ReviewAction::Expire && e.reviewer == EXPIRY_REVIEWER && e.at == now
        })
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Decisions and their traces, before they are in the decision log.
struct Decided<D = Decision> {
    decisions: Vec<D>,
    traces: Vec<Vec<PolicyOutcome>>,
    /// One per decision when explaining (`?explain=true`).
    explanations: Option<Vec<Explanation>>,
}

/// The service.
pub struct Service {
    current: RwLock<Arc<Generation>>,
    velocity: Arc<Velocity>,
    /// The running configuration, and the file it is read from (reload
    /// reads it anew; without a file the same settings are rebuilt, reading
    /// the policy and list files again).
    config: Mutex<Config>,
    config_path: Option<PathBuf>,
    log: Option<DecisionLog>,
    metrics: Metrics,
    admin_token: Option<String>,
    /// Nothing blocks (in-memory velocity): decisions and review actions
    /// run on the caller.
    inline: bool,
    /// Decisions block (a Redis store's round trips): evaluate on the
    /// blocking pool. Otherwise (memory, the durable store) they run on
    /// the caller, a durable store's log sync awaited.
    blocking: bool,
    /// This process's prefix of decision ids, and the counter after it.
    node: u64,
    seq: AtomicU64,
}

impl Service {
    /// Serves `built` (made from `config`, over `velocity`).
    pub fn new(
        config: Config,
        config_path: Option<PathBuf>,
        built: super::config::Built,
        velocity: Arc<Velocity>,
        log: Option<DecisionLog>,
    ) -> Result<Self, ConfigError> {
        let admin_token = config.admin_token()?;
        let mut node = [0u8; 8];
        let _ = getrandom::fill(&mut node);
        let inline = config.velocity.as_deref() == Some("memory");
        let blocking = config
            .velocity
            .as_deref()
            .is_some_and(|v| v.starts_with("redis://"));
        let reviewers = config.reviewers(admin_token.as_deref())?;
        let service = Service {
            inline,
            blocking,
            current: RwLock::new(Arc::new(Generation::new(1, built, reviewers))),
            velocity,
            config: Mutex::new(config),
            config_path,
            log,
            metrics: Metrics::default(),
            admin_token,
            node: u64::from_le_bytes(node),
            seq: AtomicU64::new(0),
        };
        let current = service.current();
        service.serving(&current, None);
        Ok(service)
    }

    /// The generation now served.
    pub fn current(&self) -> Arc<Generation> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn log(&self) -> Option<&DecisionLog> {
        self.log.as_ref()
    }

    pub fn velocity(&self) -> &Arc<Velocity> {
        &self.velocity
    }

    /// Whether `token` is the admin token (false when admin is off).
    pub fn admin_allows(&self, token: &str) -> bool {
        use sha2::{Digest, Sha256};
        match &self.admin_token {
            // Compare digests: the time taken says nothing of the token.
            Some(t) => Sha256::digest(t.as_bytes()) == Sha256::digest(token.as_bytes()),
            None => false,
        }
    }

    pub fn admin_enabled(&self) -> bool {
        self.admin_token.is_some()
    }

    /// Whether decisions and review actions run on the calling worker (the
    /// in-memory store: nothing blocks) rather than the blocking pool.
    pub fn inline(&self) -> bool {
        self.inline
    }

    /// Runs `f` on the calling worker when nothing in it blocks (the
    /// in-memory store), else on the blocking pool.
    pub async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Service) -> T + Send + 'static,
    ) -> Result<T, tokio::task::JoinError> {
        if self.inline {
            return Ok(f(self));
        }
        let service = self.clone();
        tokio::task::spawn_blocking(move || f(&service)).await
    }

    /// A new record id: this process's prefix and the counter, 32 hex digits.
    fn record_id(&self) -> String {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}{seq:016x}", self.node)
    }

    /// The log lines (each ending in a newline) of the actions that brought
    /// `holds` where they are, under generation `g`.
    fn resolution_lines(&self, g: &Generation, holds: &[&Hold]) -> Vec<u8> {
        let timestamp_ms = now_ms();
        let mut buf = Vec::with_capacity(512 * holds.len());
        for hold in holds {
            if let Some(record) =
                ResolutionRecord::of(hold, self.record_id(), timestamp_ms, g.number)
                && serde_json::to_writer(&mut buf, &record).is_ok()
            {
                buf.push(b'\n');
            }
        }
        buf
    }

    /// Writes the resolution records of `holds` (one batch) and counts the
    /// actions; a failed write is counted too. Blocks on the log.
    fn record_resolutions(&self, g: &Generation, holds: &[&Hold]) -> Result<(), LogError> {
        for hold in holds {
            self.metrics.resolved(hold);
        }
        let (Some(log), false) = (&self.log, holds.is_empty()) else {
            return Ok(());
        };
        let lines = self.resolution_lines(g, holds);
        log.append_many(&lines, holds.len() as u64)
            .inspect_err(|_| {
                for _ in holds {
                    self.metrics.resolution_log_failed();
                }
            })
    }

    /// Approves or rejects hold `id` with generation `g`'s gate, now (the
    /// gate's clock), and writes the action's resolution record when it
    /// changed the hold (after the store recorded it, before this returns).
    /// An action refused because the hold was past its expiry records that
    /// expiry. Blocks (on the store and the log).
    pub fn resolve(
        &self,
        g: &Generation,
        id: &str,
        resolution: &Resolution,
    ) -> Result<Resolved, ResolutionError> {
        let (result, changed) = self.act(g, id, resolution);
        let written = match &changed {
            None => Ok(()),
            Some(hold) => self.record_resolutions(g, &[hold]),
        };
        self.answer(result, written)
    }

    /// [`Service::resolve`] from async code: on the calling worker (its log
    /// batch awaited) with the in-memory store, else on the blocking pool.
    pub async fn resolve_async(
        self: &Arc<Self>,
        g: Arc<Generation>,
        id: String,
        resolution: Resolution,
    ) -> Result<Resolved, ResolutionError> {
        if !self.inline {
            let service = self.clone();
            return tokio::task::spawn_blocking(move || service.resolve(&g, &id, &resolution))
                .await?;
        }
        let (result, changed) = self.act(&g, &id, &resolution);
        let written = match (&changed, &self.log) {
            (Some(hold), Some(log)) => {
                self.metrics.resolved(hold);
                let lines = self.resolution_lines(&g, &[hold]);
                let written = log.append_many_async(&lines, 1).await;
                if written.is_err() {
                    self.metrics.resolution_log_failed();
                }
                written
            }
            (Some(hold), None) => {
                self.metrics.resolved(hold);
                Ok(())
            }
            (None, _) => Ok(()),
        };
        self.answer(result, written)
    }

    /// The gate's answer to an action, and the hold to record when the
    /// action changed it (or expired it before refusing it).
    fn act(
        &self,
        g: &Generation,
        id: &str,
        resolution: &Resolution,
    ) -> (Result<Resolved, ResolveError>, Option<Hold>) {
        let now = g.gate.now();
        let result = g.gate.resolve_at(id, resolution, now);
        let changed = match &result {
            Ok(r) if r.changed => Some(r.hold.clone()),
            Err(ResolveError::Conflict { hold, .. }) if expired_by(hold, now) => {
                Some((**hold).clone())
            }
            _ => None,
        };
        // Test hook (crash tests): the store has it, the log and the
        // answer do not yet.
        crate::fault::after_resolve(changed.is_some());
        (result, changed)
    }

    /// What a resolution answers once its record is written (or not).
    fn answer(
        &self,
        result: Result<Resolved, ResolveError>,
        written: Result<(), LogError>,
    ) -> Result<Resolved, ResolutionError> {
        match (result, written) {
            (Ok(resolved), Ok(())) => Ok(resolved),
            (Ok(resolved), Err(error)) => Err(ResolutionError::Unlogged {
                resolved: Box::new(resolved),
                error,
            }),
            (Err(e), written) => {
                if let (ResolveError::Conflict { hold, .. }, Err(w)) = (&e, written) {
                    tracing::error!("recording the expiry of hold `{}`: {w}", hold.id);
                }
                Err(e.into())
            }
        }
    }

    /// Expires every hold pending past the current generation's
    /// `[review] expire_after_ms`, [`EXPIRE_BATCH`] at a time, writing a
    /// resolution record for each. Returns how many expired. Blocks.
    pub fn expire_due(&self) -> Result<usize, ResolveError> {
        let g = self.current();
        let mut total = 0;
        loop {
            let expired = g.gate.expire_holds(g.gate.now(), EXPIRE_BATCH)?;
            let holds: Vec<&Hold> = expired.iter().collect();
            if let Err(e) = self.record_resolutions(&g, &holds) {
                tracing::error!("recording the expiry of {} hold(s): {e}", holds.len());
            }
            total += expired.len();
            if expired.len() < EXPIRE_BATCH {
                return Ok(total);
            }
        }
    }

    /// How often [`Service::expire_due`] should run: a quarter of the
    /// expiry, at most 30 s (none when holds do not expire).
    pub fn expiry_period(&self) -> Option<std::time::Duration> {
        let after = self.current().gate.review_policy().expire_after?;
        Some((after / 4).clamp(
            std::time::Duration::from_millis(100),
            std::time::Duration::from_secs(30),
        ))
    }

    /// Pending holds by reason code (a hold under each of its codes), over
    /// at most [`crate::metrics::PENDING_SCAN`] of them; `None` when the
    /// store cannot list its holds. Blocks.
    pub fn pending_by_reason(&self) -> Option<Vec<(String, u64)>> {
        let g = self.current();
        let holds = g
            .gate
            .holds(&HoldQuery {
                state: Some(HoldState::Pending),
                reason_prefix: None,
                requested_before: None,
                limit: crate::metrics::PENDING_SCAN,
            })
            .ok()?;
        let mut counts = std::collections::BTreeMap::<String, u64>::new();
        for hold in &holds {
            let mut codes: Vec<&str> = hold
                .decision
                .reasons
                .iter()
                .map(|r| r.code.as_str())
                .collect();
            codes.sort_unstable();
            codes.dedup();
            for code in codes {
                *counts.entry(code.to_string()).or_default() += 1;
            }
        }
        Some(counts.into_iter().collect())
    }

    /// Decides `withdrawals` with generation `g`, records every decision in
    /// the log (one batch) and counts them. The velocity records of the
    /// whole request are waited for once, after the last decision (one
    /// sync of a durable store for the request, shared with concurrent
    /// ones), before the log records are written. A decision whose record
    /// cannot be written is returned as HOLD `gate.log_unavailable` (a DENY
    /// stays DENY): none is returned as final without its record. Blocks
    /// (on the velocity store and the log).
    pub fn evaluate(&self, g: &Generation, withdrawals: &[Withdrawal]) -> Vec<Decision> {
        self.evaluate_explained(g, withdrawals, false).0
    }

    /// [`Service::evaluate`], with each decision's [`Explanation`] when
    /// `explain` (`None` otherwise). The decisions, their records and
    /// their metrics are the same either way.
    pub fn evaluate_explained(
        &self,
        g: &Generation,
        withdrawals: &[Withdrawal],
        explain: bool,
    ) -> (Vec<Decision>, Option<Vec<Explanation>>) {
        let pending = self.decide(g, withdrawals, explain);
        let decided = Decided {
            decisions: pending.decisions.into_iter().map(Pending::wait).collect(),
            traces: pending.traces,
            explanations: pending.explanations,
        };
        let written = match &self.log {
            None => Ok(()),
            Some(log) => self
                .encode(log, g, withdrawals, &decided)
                .and_then(|buf| log.append_many(&buf, withdrawals.len() as u64)),
        };
        self.finish(g, decided, written)
    }

    /// [`Service::evaluate`] from async code. With the in-memory or the
    /// durable velocity store nothing in a decision blocks (a durable
    /// store's sync is awaited after the request's last decision), so it
    /// runs right on the calling worker (no hand-off to another thread)
    /// and awaits the velocity sync, then its log batch; with Redis (a
    /// network round trip inside the decision) it runs on the blocking
    /// pool.
    pub async fn evaluate_async(
        self: &Arc<Self>,
        g: Arc<Generation>,
        withdrawals: Vec<Withdrawal>,
    ) -> Result<Vec<Decision>, EvaluateError> {
        Ok(self
            .evaluate_explained_async(g, withdrawals, false)
            .await?
            .0)
    }

    /// [`Service::evaluate_async`] with explanations when `explain` (see
    /// [`Service::evaluate_explained`]).
    pub async fn evaluate_explained_async(
        self: &Arc<Self>,
        g: Arc<Generation>,
        withdrawals: Vec<Withdrawal>,
        explain: bool,
    ) -> Result<(Vec<Decision>, Option<Vec<Explanation>>), EvaluateError> {
        if self.blocking {
            let service = self.clone();
            return Ok(tokio::task::spawn_blocking(move || {
                service.evaluate_explained(&g, &withdrawals, explain)
            })
            .await?);
        }
        let pending = self.decide(&g, &withdrawals, explain);
        let mut decisions = Vec::with_capacity(pending.decisions.len());
        for p in pending.decisions {
            // The first wait covers the request's records (one batch of the
            // log, or the ones before it); the rest are settled by then.
            decisions.push(p.settled().await);
        }
        let decided = Decided {
            decisions,
            traces: pending.traces,
            explanations: pending.explanations,
        };
        let written = match &self.log {
            None => Ok(()),
            Some(log) => match self.encode(log, &g, &withdrawals, &decided) {
                Ok(buf) => log.append_many_async(&buf, withdrawals.len() as u64).await,
                Err(e) => Err(e),
            },
        };
        Ok(self.finish(&g, decided, written))
    }

    /// Decides each withdrawal in turn, none waiting for its velocity
    /// record to be on disk (see [`Gate::evaluate_deferred`]).
    fn decide(
        &self,
        g: &Generation,
        withdrawals: &[Withdrawal],
        explain: bool,
    ) -> Decided<Pending> {
        let mut decisions = Vec::with_capacity(withdrawals.len());
        let mut traces = Vec::with_capacity(withdrawals.len());
        let mut explanations = explain.then(|| Vec::with_capacity(withdrawals.len()));
        for w in withdrawals {
            let mut trace = Vec::with_capacity(g.policies.len());
            match &mut explanations {
                None => decisions.push(g.gate.evaluate_deferred(w, &mut trace)),
                Some(explanations) => {
                    let mut explanation = Explanation::default();
                    decisions.push(g.gate.evaluate_explained_deferred(
                        w,
                        &mut trace,
                        &mut explanation,
                    ));
                    explanations.push(explanation);
                }
            }
            traces.push(trace);
        }
        Decided {
            decisions,
            traces,
            explanations,
        }
    }

    fn finish(
        &self,
        g: &Generation,
        decided: Decided,
        written: Result<(), LogError>,
    ) -> (Vec<Decision>, Option<Vec<Explanation>>) {
        let Decided {
            mut decisions,
            traces,
            explanations,
        } = decided;
        if let Err(e) = written {
            for d in &mut decisions {
                d.verdict = d.verdict.max(Verdict::Hold);
                d.reasons.push(
                    GateCode::LogUnavailable
                        .reason(format!("the decision could not be recorded: {e}")),
                );
                self.metrics.log_failed();
            }
        }
        let names: Vec<&str> = g.policies.iter().map(|p| p.name.as_str()).collect();
        for (d, trace) in decisions.iter().zip(&traces) {
            self.metrics.decided(d, trace, &names);
        }
        (decisions, explanations)
    }

    /// The log records of `decided`, one line each.
    fn encode(
        &self,
        log: &DecisionLog,
        g: &Generation,
        withdrawals: &[Withdrawal],
        decided: &Decided,
    ) -> Result<Vec<u8>, LogError> {
        let (decisions, traces) = (&decided.decisions, &decided.traces);
        let timestamp_ms = now_ms();
        let mut buf = Vec::with_capacity(1024 * withdrawals.len());
        for ((w, d), trace) in withdrawals.iter().zip(decisions).zip(traces) {
            let record = DecisionRecord {
                event: Event::Decision,
                v: RECORD_VERSION,
                decision_id: self.record_id(),
                timestamp_ms,
                generation: g.number,
                withdrawal: Cow::Borrowed(w),
                verdict: d.verdict,
                reasons: Cow::Borrowed(&d.reasons),
                hits: Cow::Borrowed(&d.hits),
                replayed: d.replayed,
                latency_ns: d.latency_ns,
                policies: trace
                    .iter()
                    .zip(&g.policies)
                    .map(|(outcome, p)| PolicyRun {
                        name: Cow::Borrowed(&p.name),
                        version: Cow::Borrowed(&p.version),
                        sha256: Cow::Borrowed(&p.sha256),
                        mode: outcome.mode,
                        verdict: outcome.verdict,
                        fault: outcome.fault,
                        reasons: Cow::Borrowed(&outcome.reasons),
                        hits: Cow::Borrowed(&outcome.hits),
                    })
                    .collect(),
                lists: g
                    .lists
                    .iter()
                    .map(|l| ListVersion {
                        name: Cow::Borrowed(&l.name),
                        version: Cow::Borrowed(&l.version),
                    })
                    .collect(),
            };
            serde_json::to_writer(&mut buf, &record).map_err(|e| LogError::Io {
                path: log.describe().to_string(),
                message: format!("encoding the record: {e}"),
            })?;
            buf.push(b'\n');
        }
        Ok(buf)
    }

    /// Metrics and the log record of a generation now served (or of a
    /// reload that failed, with `error`).
    fn serving(&self, g: &Generation, error: Option<&str>) {
        if error.is_none() {
            let lists: Vec<(String, String, usize)> = g
                .lists
                .iter()
                .map(|l| (l.name.clone(), l.version.clone(), l.count))
                .collect();
            self.metrics.serving(g.number, &lists);
        }
        if let Some(log) = &self.log {
            let record = generation_record(g, error, now_ms());
            if let Ok(line) = serde_json::to_vec(&record)
                && let Err(e) = log.append(&line)
            {
                tracing::error!("recording generation {}: {e}", g.number);
            }
        }
    }

    /// Reads the configuration again and, if every policy and list loads
    /// (and verifies), serves the new generation; otherwise nothing
    /// changes. Reloads run one at a time.
    pub fn reload(&self) -> ReloadReport {
        let mut running = self.config.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.current();
        let attempt = (|| {
            let fresh = match &self.config_path {
                Some(path) => Config::from_file(path)?,
                None => running.clone(),
            };
            let reviewers = fresh.reviewers(self.admin_token.as_deref())?;
            let built = fresh.build(self.velocity.clone())?;
            Ok::<_, ConfigError>((fresh, built, reviewers))
        })();
        match attempt {
            Ok((fresh, built, reviewers)) => {
                let restart_required = fresh.restart_required(&running);
                let warnings = built.warnings.clone();
                let next = Arc::new(Generation::new(current.number + 1, built, reviewers));
                // Its record precedes every decision it makes.
                self.serving(&next, None);
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = next.clone();
                // Settings that need a restart keep their running values.
                let mut kept = fresh;
                kept.listen = running.listen.clone();
                kept.velocity = running.velocity.clone();
                kept.decision_log = running.decision_log.clone();
                kept.admin = running.admin.clone();
                *running = kept;
                self.metrics.reloaded(true);
                tracing::info!("reload: serving generation {}", next.number);
                ReloadReport {
                    ok: true,
                    generation: next.number,
                    error: None,
                    policies: next.policies.clone(),
                    lists: next.lists.clone(),
                    restart_required,
                    warnings,
                }
            }
            Err(e) => {
                let error = e.to_string();
                self.metrics.reloaded(false);
                self.serving(&current, Some(&error));
                tracing::warn!(
                    "reload failed, still serving generation {}: {error}",
                    current.number
                );
                ReloadReport {
                    ok: false,
                    generation: current.number,
                    error: Some(error),
                    policies: Vec::new(),
                    lists: Vec::new(),
                    restart_required: Vec::new(),
                    warnings: Vec::new(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
