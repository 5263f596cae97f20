//! `riskgate bench`: the full in-process decision against the same checks
//! written natively, side by side on one workload, interleaved so that the
//! machine's drift cancels out.
//!
//! - `workload.rs`: the designated set and the withdrawal stream.
//! - `native.rs`: the floor, the bundled policies' checks as plain Rust.
//! - `peer.rs`: the Extism peer (`bench/extism/`), a child process driven
//!   round by round.
//!
//! Every contender gets its own velocity store (in memory) and decides the
//! same stream, round by round, in a rotating order: latency of each
//! decision (p50/p99/p999), single-thread throughput, then throughput with
//! every core busy on a fresh store. Their verdicts must agree. Each
//! withdrawal is cloned just before it is decided (outside the timing), so
//! it is in cache as a request a service has just parsed would be.

pub mod demo;
mod native;
pub mod peer;
mod workload;

pub use native::{Native, recorded};
pub use workload::Workload;

use crate::demo::percentile;
use riskgate::engine::Limits;
use riskgate::gate::{Gate, GateError};
use riskgate::model::{Verdict, Withdrawal};
use riskgate::velocity::{DEFAULT_RETENTION_MS, Velocity};
use riskgate::{bundled, model::Decision};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("building the benchmark's designated set: {0}")]
    Set(#[from] riskgate::screening::SetError),
    #[error("building a gate: {0}")]
    Gate(#[from] GateError),
    #[error(transparent)]
    Peer(#[from] peer::PeerError),
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Synthetic addresses in the designated set (the sample list is added).
    pub set_size: usize,
    /// Withdrawals in the stream.
    pub withdrawals: usize,
    /// Rounds the stream is cut into; the first is a warm-up, not measured.
    pub rounds: usize,
    /// Threads of the throughput run (0: one per core).
    pub threads: usize,
    pub seed: u64,
    pub limits: Limits,
    /// AOT cache of the gate's policies.
    pub cache_dir: Option<PathBuf>,
    /// The Extism peer's binary ([`peer::build`]); `None` leaves it out.
    pub extism: Option<PathBuf>,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            set_size: 1_000_000,
            withdrawals: 200_000,
            rounds: 40,
            threads: 0,
            seed: 2025,
            limits: Limits::default(),
            cache_dir: None,
            extism: None,
        }
    }
}

/// One implementation of the checks.
pub trait Contender: Sync {
    fn decide(&self, w: &Withdrawal) -> Decision;
    /// [`Contender::decide`], also appending the fuel each policy burnt to
    /// `fuel[i]` for the `i`-th policy (nothing for a contender without).
    fn decide_fuel(&self, w: &Withdrawal, fuel: &mut Vec<Vec<u64>>) -> Decision {
        let _ = fuel;
        self.decide(w)
    }
    /// Each policy's name and fuel budget per call, in chain order.
    fn budgets(&self) -> Vec<(String, u64)> {
        Vec::new()
    }
    /// Policy calls that faulted (each held with `gate.policy_fault`).
    fn faults(&self) -> u64 {
        0
    }
}

impl Contender for Gate {
    fn decide(&self, w: &Withdrawal) -> Decision {
        self.evaluate(w)
    }

    fn decide_fuel(&self, w: &Withdrawal, fuel: &mut Vec<Vec<u64>>) -> Decision {
        let mut trace = Vec::new();
        let d = self.evaluate_traced(w, &mut trace);
        if fuel.len() < trace.len() {
            fuel.resize_with(trace.len(), Vec::new);
        }
        for (samples, outcome) in fuel.iter_mut().zip(&trace) {
            samples.push(outcome.fuel);
        }
        d
    }

    fn budgets(&self) -> Vec<(String, u64)> {
        self.policies()
            .iter()
            .map(|p| (p.name().to_string(), p.fuel()))
            .collect()
    }

    fn faults(&self) -> u64 {
        self.policies()
            .iter()
            .map(|p| {
                p.counters()
                    .faults
                    .load(std::sync::atomic::Ordering::Relaxed)
            })
            .sum()
    }
}

impl Contender for Native {
    fn decide(&self, w: &Withdrawal) -> Decision {
        self.evaluate(w)
    }
}

/// Which contender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContenderKind {
    Native,
    Riskgate,
    Extism,
}

impl ContenderKind {
    /// The contenders that run in this process.
    pub const IN_PROCESS: [ContenderKind; 2] = [ContenderKind::Native, ContenderKind::Riskgate];

    pub fn label(self) -> &'static str {
        match self {
            ContenderKind::Native => "native Rust (floor)",
            ContenderKind::Riskgate => "riskgate (wasm policies)",
            ContenderKind::Extism => "Extism (JSON plug-in)",
        }
    }
}

fn contender(
    kind: ContenderKind,
    workload: &Workload,
    config: &BenchConfig,
) -> Result<Box<dyn Contender>, GateError> {
    let velocity = Arc::new(Velocity::memory(DEFAULT_RETENTION_MS));
    Ok(match kind {
        ContenderKind::Native => Box::new(Native {
            screener: workload.screener.clone(),
            velocity,
        }),
        ContenderKind::Riskgate => Box::new(gate(workload, config, velocity)?.0),
        ContenderKind::Extism => unreachable!("the Extism peer runs in its own process"),
    })
}

fn gate(
    workload: &Workload,
    config: &BenchConfig,
    velocity: Arc<Velocity>,
) -> Result<(Gate, Duration), GateError> {
    let started = Instant::now();
    let (gate, _) = bundled::policies()
        .into_iter()
        .fold(Gate::builder(), |b, p| b.policy(p))
        .limits(config.limits)
        .cache_dir(config.cache_dir.clone())
        .screener(workload.screener.clone())
        .velocity(velocity)
        // The synthetic stream runs on its own timeline.
        .max_clock_skew(None)
        .build()?;
    Ok((gate, started.elapsed()))
}

/// Figures of one contender.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    /// Decisions per second, one thread.
    pub single: f64,
    /// Decisions per second, every thread busy.
    pub parallel: f64,
}

/// Fuel one bundled policy burnt per decision over the latency run.
#[derive(Debug, Clone)]
pub struct FuelRow {
    pub policy: String,
    /// Its budget per call.
    pub budget: u64,
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

/// The run's results.
#[derive(Debug, Clone)]
pub struct Report {
    pub config: BenchConfig,
    pub threads: usize,
    pub set_len: usize,
    pub set_build: Duration,
    pub mix: String,
    pub measured: usize,
    pub rows: Vec<(ContenderKind, Row)>,
    /// Decisions whose verdict differs between contenders.
    pub disagreements: usize,
    /// riskgate's policy calls that faulted in the latency run (a call
    /// descheduled past the deadline is held: a disagreement, fail-safe).
    pub faults: u64,
    /// riskgate's fuel per decision, per policy.
    pub fuel: Vec<FuelRow>,
    /// Gate build with a warm AOT cache, then its first decision.
    pub warm_start: Option<(Duration, Duration)>,
}

/// Decides `part` one withdrawal at a time: latency (ns) and verdict of
/// each; the fuel of each policy call is appended to `fuel`.
fn decide_round(
    c: &dyn Contender,
    part: &[&Withdrawal],
    fuel: &mut Vec<Vec<u64>>,
) -> (Vec<u64>, Vec<Verdict>) {
    let mut lat = Vec::with_capacity(part.len());
    let mut ver = Vec::with_capacity(part.len());
    for w in part {
        // As a service sees a request: just parsed, so in cache.
        let w = (*w).clone();
        let t = Instant::now();
        let d = c.decide_fuel(&w, fuel);
        lat.push(t.elapsed().as_nanos() as u64);
        ver.push(d.verdict);
    }
    (lat, ver)
}

/// Decisions per round of a stream of `len` cut into `rounds`.
pub fn chunk_len(len: usize, rounds: usize) -> usize {
    len.div_ceil(rounds.clamp(2, len.max(2))).max(1)
}

/// The stream split by account over `threads`, each part in stream order.
pub fn partition<'a>(stream: &[&'a Withdrawal], threads: usize) -> Vec<Vec<&'a Withdrawal>> {
    let threads = threads.max(1);
    let mut parts: Vec<Vec<&Withdrawal>> = vec![Vec::new(); threads];
    for w in stream {
        let h = w
            .account
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        parts[(h % threads as u64) as usize].push(w);
    }
    parts
}

/// Runs the benchmark.
pub fn run(config: &BenchConfig) -> Result<Report, BenchError> {
    let workload = Workload::new(config.set_size, config.withdrawals, config.seed)?;
    let threads = if config.threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        config.threads
    };
    let stream: Vec<&Withdrawal> = workload.stream.iter().map(|g| &g.withdrawal).collect();

    // Latency and single-thread throughput, interleaved round by round.
    let contenders: Vec<Box<dyn Contender>> = ContenderKind::IN_PROCESS
        .iter()
        .map(|&k| contender(k, &workload, config))
        .collect::<Result<_, _>>()?;
    let mut peer = match &config.extism {
        Some(binary) => Some(
            peer::Peer::spawn(
                binary,
                config.set_size,
                config.withdrawals,
                config.seed,
                config.rounds,
            )
            .map_err(BenchError::Peer)?,
        ),
        None => None,
    };
    let mut kinds = ContenderKind::IN_PROCESS.to_vec();
    if peer.is_some() {
        kinds.push(ContenderKind::Extism);
    }
    let n = kinds.len();
    let chunk = chunk_len(stream.len(), config.rounds);
    let mut latencies: Vec<Vec<u64>> = vec![Vec::with_capacity(stream.len()); n];
    let mut verdicts: Vec<Vec<Verdict>> = vec![Vec::with_capacity(stream.len()); n];
    let mut measured = 0;
    let mut fuel: Vec<Vec<Vec<u64>>> = vec![Vec::new(); n];
    for (round, part) in stream.chunks(chunk).enumerate() {
        let warm_up = round == 0;
        if !warm_up {
            measured += part.len();
        }
        for i in 0..n {
            let c = (round + i) % n;
            let (lat, ver) = match contenders.get(c) {
                Some(contender) => decide_round(contender.as_ref(), part, &mut fuel[c]),
                None => peer
                    .as_mut()
                    .expect("the Extism peer runs")
                    .round(round)
                    .map_err(BenchError::Peer)?,
            };
            if !warm_up {
                latencies[c].extend(lat);
            }
            verdicts[c].extend(ver);
        }
    }
    let faults = contenders.iter().map(|c| c.faults()).sum();
    let fuel: Vec<FuelRow> = contenders
        .iter()
        .zip(&mut fuel)
        .flat_map(|(c, samples)| {
            c.budgets()
                .into_iter()
                .zip(std::mem::take(samples))
                .map(|((policy, budget), mut f)| {
                    f.sort_unstable();
                    FuelRow {
                        policy,
                        budget,
                        p50: percentile(&f, 0.5),
                        p99: percentile(&f, 0.99),
                        max: f.last().copied().unwrap_or(0),
                    }
                })
        })
        .collect();
    drop(contenders);
    let disagreements = (0..stream.len())
        .filter(|&i| verdicts.iter().any(|v| v.get(i) != verdicts[0].get(i)))
        .count();

    // Throughput with every core busy: fresh stores, the stream split by
    // account (each thread keeps its accounts' order), one shared contender.
    let parts = partition(&stream, threads);
    let mut parallel = Vec::new();
    for &kind in &ContenderKind::IN_PROCESS {
        let c = contender(kind, &workload, config)?;
        let c = c.as_ref();
        let started = Instant::now();
        std::thread::scope(|s| {
            for part in &parts {
                s.spawn(move || {
                    for w in part {
                        std::hint::black_box(c.decide(&(*w).clone()));
                    }
                });
            }
        });
        parallel.push(stream.len() as f64 / started.elapsed().as_secs_f64());
    }
    if let Some(peer) = peer.as_mut() {
        parallel.push(peer.parallel(threads).map_err(BenchError::Peer)?);
    }
    drop(peer);

    let rows = kinds
        .iter()
        .enumerate()
        .map(|(i, &kind)| {
            let mut l = std::mem::take(&mut latencies[i]);
            l.sort_unstable();
            (
                kind,
                Row {
                    p50_ns: percentile(&l, 0.5),
                    p99_ns: percentile(&l, 0.99),
                    p999_ns: percentile(&l, 0.999),
                    single: l.len() as f64 * 1e9 / (l.iter().sum::<u64>() as f64).max(1.0),
                    parallel: parallel[i],
                },
            )
        })
        .collect();

    let warm_start = match &config.cache_dir {
        Some(_) => {
            // The first build fills the cache (if it was cold); the second is
            // what a restart costs.
            gate(
                &workload,
                config,
                Arc::new(Velocity::memory(DEFAULT_RETENTION_MS)),
            )?;
            let (g, build) = gate(
                &workload,
                config,
                Arc::new(Velocity::memory(DEFAULT_RETENTION_MS)),
            )?;
            let t = Instant::now();
            std::hint::black_box(g.evaluate(stream[0]));
            Some((build, t.elapsed()))
        }
        None => None,
    };

    Ok(Report {
        config: config.clone(),
        threads,
        set_len: workload.set_len,
        set_build: workload.set_build,
        mix: workload.mix(),
        measured,
        rows,
        disagreements,
        faults,
        fuel,
        warm_start,
    })
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1e3
}

impl Report {
    fn row(&self, kind: ContenderKind) -> Option<&Row> {
        self.rows.iter().find(|(k, _)| *k == kind).map(|(_, r)| r)
    }

    /// The table and the ratios, as printed by `riskgate bench`.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "riskgate bench: {} withdrawals ({}), designated set of {} addresses (built in {:.2} s), \
             in-memory velocity store, {} interleaved rounds (the first a warm-up), {} measured per contender",
            self.config.withdrawals,
            self.mix,
            self.set_len,
            self.set_build.as_secs_f64(),
            self.config.rounds,
            self.measured,
        );
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "{:<26} {:>9} {:>9} {:>9} {:>14} {:>16}",
            "contender",
            "p50 µs",
            "p99 µs",
            "p999 µs",
            "1 thread /s",
            format!("{} threads /s", self.threads)
        );
        for (kind, r) in &self.rows {
            let _ = writeln!(
                s,
                "{:<26} {:>9.2} {:>9.2} {:>9.2} {:>14.0} {:>16.0}",
                kind.label(),
                us(r.p50_ns),
                us(r.p99_ns),
                us(r.p999_ns),
                r.single,
                r.parallel
            );
        }
        let _ = writeln!(s);
        if let (Some(n), Some(g)) = (
            self.row(ContenderKind::Native),
            self.row(ContenderKind::Riskgate),
        ) {
            let ratio = |a: u64, b: u64| a as f64 / (b as f64).max(1.0);
            let _ = writeln!(
                s,
                "riskgate / native: p50 {:.1}x, p99 {:.1}x, p999 {:.1}x, 1-thread throughput {:.1}x lower",
                ratio(g.p50_ns, n.p50_ns),
                ratio(g.p99_ns, n.p99_ns),
                ratio(g.p999_ns, n.p999_ns),
                n.single / g.single.max(1e-9),
            );
            let check = |ok: bool| if ok { "met" } else { "MISSED" };
            match self.row(ContenderKind::Extism) {
                Some(e) => {
                    let _ = writeln!(
                        s,
                        "Extism / riskgate: p50 {:.1}x, p99 {:.1}x, p999 {:.1}x, 1-thread throughput {:.1}x lower; \
                         at least 5x faster than Extism {}",
                        ratio(e.p50_ns, g.p50_ns),
                        ratio(e.p99_ns, g.p99_ns),
                        ratio(e.p999_ns, g.p999_ns),
                        g.single / e.single.max(1e-9),
                        check(ratio(e.p50_ns, g.p50_ns) >= 5.0),
                    );
                }
                None => {
                    let _ = writeln!(s, "Extism / riskgate: not run (the peer was left out)");
                }
            }
            let _ = writeln!(
                s,
                "targets: p50 <= 1.5 µs {} ({:.2}); p99 <= 5 µs {} ({:.2}); within 5x of native {} ({:.1}x); \
                 >= 1M decisions/s on {} threads {} ({:.0})",
                check(g.p50_ns <= 1_500),
                us(g.p50_ns),
                check(g.p99_ns <= 5_000),
                us(g.p99_ns),
                check(ratio(g.p50_ns, n.p50_ns) <= 5.0),
                ratio(g.p50_ns, n.p50_ns),
                self.threads,
                check(g.parallel >= 1e6),
                g.parallel
            );
        }
        let _ = writeln!(
            s,
            "verdicts: the contenders disagree on {} of {} withdrawals; riskgate policy faults {} \
             (fuel is the budget; wall-clock backstop {} µs)",
            self.disagreements,
            self.config.withdrawals,
            self.faults,
            self.config.limits.deadline.as_micros()
        );
        for f in &self.fuel {
            let _ = writeln!(
                s,
                "fuel per decision, {}: p50 {} p99 {} max {} of a budget of {} (max is {:.1}% of it, {:.0}x margin)",
                f.policy,
                f.p50,
                f.p99,
                f.max,
                f.budget,
                100.0 * f.max as f64 / f.budget.max(1) as f64,
                f.budget as f64 / f.max.max(1) as f64,
            );
        }
        if let Some((build, first)) = self.warm_start {
            let _ = writeln!(
                s,
                "warm start (AOT cache hit): gate build {:.2} ms + first decision {:.3} ms = {:.2} ms",
                build.as_secs_f64() * 1e3,
                first.as_secs_f64() * 1e3,
                (build + first).as_secs_f64() * 1e3
            );
        }
        s
    }
}
