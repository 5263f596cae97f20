//! `riskgate bench`: the full in-process decision against the same checks
//! written natively, side by side on one workload, interleaved so that the
//! machine's drift cancels out.
//!
//! - `workload.rs`: the designated set and the withdrawal stream.
//! - `native.rs`: the floor, the bundled policies' checks as plain Rust.
//! - `peer.rs`: the Extism peer (`bench/extism/`), a child process driven
//!   round by round.
//! - `ceiling.rs`: the machine's reference loops (ALU, pointer chase).
//! - `report.rs`: the results (serde, `--json`) and the text table;
//!   `html.rs`: the self-contained HTML page (`--html`).
//!
//! Every contender gets its own velocity store (in memory) and decides the
//! same stream, round by round, in a rotating order: latency of each
//! decision (p50/p99/p999). Their verdicts must agree. Each withdrawal is
//! cloned just before it is decided (outside the timing), so it is in cache
//! as a request a service has just parsed would be. Then throughput: one
//! harness for every contender, run on 1 thread and on N (a fresh store
//! each run, the stream split by account, each thread in stream order),
//! repeated with the contenders and the reference loops interleaved; the
//! median of the runs is reported.

pub mod ceiling;
pub mod demo;
pub mod html;
mod native;
pub mod peer;
pub mod report;
mod workload;

pub use native::{Native, recorded};
pub use report::{ContenderKind, Report};
pub use workload::Workload;

use crate::ceiling::{Ceiling, Loop};
use crate::report::{
    ContenderReport, FuelRow, Machine, Ratios, ReferenceLoop, RunConfig, Throughput, WarmStart,
    curve, nearest_rank,
};
use riskgate::engine::Limits;
use riskgate::gate::{Gate, GateError};
use riskgate::model::{Verdict, Withdrawal};
use riskgate::velocity::{DEFAULT_RETENTION_MS, Velocity};
use riskgate::{bundled, model::Decision};
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
    /// Threads of the N-thread throughput runs (0: one per core).
    pub threads: usize,
    /// Throughput runs of each contender (the median is reported).
    pub runs: usize,
    /// A smoke run: the reference loops run briefly.
    pub quick: bool,
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
            runs: 3,
            quick: false,
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

/// A fresh in-process contender of `kind` (native or riskgate) over
/// `workload`'s designated set and its own in-memory velocity store, as
/// every latency and throughput run of the bench gets it (the profiling
/// harness, `examples/prof.rs`, too).
pub fn contender(
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

/// What a throughput run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    Contender(ContenderKind),
    Loop(Loop),
}

/// Decisions per second of a fresh in-process contender over the stream
/// split by account over `threads` threads (one thread: the whole stream in
/// order), the contender shared.
fn throughput(
    kind: ContenderKind,
    workload: &Workload,
    config: &BenchConfig,
    stream: &[&Withdrawal],
    threads: usize,
) -> Result<f64, GateError> {
    let c = contender(kind, workload, config)?;
    let c = c.as_ref();
    let parts = partition(stream, threads);
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
    Ok(stream.len() as f64 / started.elapsed().as_secs_f64())
}

/// Runs the benchmark.
pub fn run(config: &BenchConfig) -> Result<Report, BenchError> {
    let (timestamp, timestamp_ms) = now();
    let load_average_start = load_average();
    let workload = Workload::new(config.set_size, config.withdrawals, config.seed)?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = if config.threads == 0 {
        cores
    } else {
        config.threads
    };
    let runs = config.runs.max(1);
    let stream: Vec<&Withdrawal> = workload.stream.iter().map(|g| &g.withdrawal).collect();

    // Latency, interleaved round by round.
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
                        p50: nearest_rank(&f, 0.5),
                        p99: nearest_rank(&f, 0.99),
                        max: f.last().copied().unwrap_or(0),
                    }
                })
        })
        .collect();
    drop(contenders);
    let disagreements = (0..stream.len())
        .filter(|&i| verdicts.iter().any(|v| v.get(i) != verdicts[0].get(i)))
        .count() as u64;

    // Throughput: the same harness on 1 and on N threads for every
    // contender and reference loop, `runs` times, in a rotating order.
    let ceiling = Ceiling::new(
        Duration::from_millis(if config.quick { 30 } else { 300 }),
        config.seed,
    );
    let subjects: Vec<Subject> = kinds
        .iter()
        .map(|&k| Subject::Contender(k))
        .chain(Loop::ALL.iter().map(|&l| Subject::Loop(l)))
        .collect();
    let mut rates: Vec<[Vec<f64>; 2]> = vec![[Vec::new(), Vec::new()]; subjects.len()];
    for run in 0..runs {
        for i in 0..subjects.len() {
            let k = (run + i) % subjects.len();
            for (slot, t) in [(0, 1), (1, threads)] {
                let rate = match subjects[k] {
                    Subject::Contender(ContenderKind::Extism) => peer
                        .as_mut()
                        .expect("the Extism peer runs")
                        .parallel(t)
                        .map_err(BenchError::Peer)?,
                    Subject::Contender(kind) => throughput(kind, &workload, config, &stream, t)?,
                    Subject::Loop(l) => ceiling.rate(l, t),
                };
                rates[k][slot].push(rate);
            }
        }
    }
    drop(peer);
    drop(ceiling);
    let mut rates = rates
        .into_iter()
        .map(|[one, many]| Throughput::of(threads, one, many));

    let contenders: Vec<ContenderReport> = kinds
        .iter()
        .zip(&mut latencies)
        .map(|(&kind, l)| {
            let mut l = std::mem::take(l);
            l.sort_unstable();
            ContenderReport {
                name: kind,
                label: kind.label().into(),
                p50_ns: nearest_rank(&l, 0.5),
                p99_ns: nearest_rank(&l, 0.99),
                p999_ns: nearest_rank(&l, 0.999),
                max_ns: l.last().copied().unwrap_or(0),
                samples: l.len(),
                latency_curve: curve(&l),
                throughput: rates.next().unwrap_or_default(),
            }
        })
        .collect();
    let reference: Vec<ReferenceLoop> = Loop::ALL
        .iter()
        .zip(&mut rates)
        .map(|(l, throughput)| ReferenceLoop {
            name: l.name().into(),
            label: l.label().into(),
            throughput,
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
            let first = t.elapsed();
            Some(WarmStart {
                build_ms: build.as_secs_f64() * 1e3,
                first_decision_ms: first.as_secs_f64() * 1e3,
                total_ms: (build + first).as_secs_f64() * 1e3,
            })
        }
        None => None,
    };

    let ratios = Ratios::of(&contenders);
    let targets = report::targets(&contenders, &ratios, faults, disagreements);
    Ok(Report {
        format: report::FORMAT,
        config: RunConfig {
            set_size: config.set_size,
            set_len: workload.set_len,
            set_build_ms: workload.set_build.as_secs_f64() * 1e3,
            withdrawals: stream.len(),
            mix: workload.mix(),
            rounds: config.rounds,
            measured,
            threads,
            runs,
            seed: config.seed,
            fuel: config.limits.fuel,
            deadline_us: config.limits.deadline.as_micros() as u64,
            quick: config.quick,
        },
        machine: Machine {
            cores,
            cpu: cpu_model(),
            rustc: option_env!("RISKGATE_BENCH_RUSTC").map(str::to_string),
            riskgate_version: env!("CARGO_PKG_VERSION").into(),
            timestamp,
            timestamp_ms,
            load_average_start,
            load_average_end: load_average(),
            reference,
        },
        contenders,
        ratios,
        targets,
        disagreements,
        faults,
        fuel,
        warm_start,
        process_start_ms: None,
    })
}

/// `2026-12-03T17:05:00Z` and ms since the Unix epoch, now.
fn now() -> (String, u64) {
    let t = time::OffsetDateTime::now_utc();
    let ms = (t.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
    (
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        ms,
    )
}

/// The CPU's model name from `/proc/cpuinfo` (Linux).
fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string())
        .filter(|m| !m.is_empty())
}

/// `/proc/loadavg`'s 1, 5 and 15 minute averages (Linux).
fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut f = text.split_whitespace().map(str::parse::<f64>);
    Some([f.next()?.ok()?, f.next()?.ok()?, f.next()?.ok()?])
}
