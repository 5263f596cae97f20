//! The bench's results: serde types (`riskgate bench --json` prints the
//! [`Report`] whole, field names are stable and documented in the README)
//! and the text table printed on the terminal.

use serde::Serialize;
use std::fmt::Write as _;

/// Version of the JSON document's shape; bumped when a field changes
/// meaning or goes away (new fields do not bump it).
pub const FORMAT: u32 = 1;

/// Which contender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
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

/// Everything a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`FORMAT`].
    pub format: u32,
    pub config: RunConfig,
    pub machine: Machine,
    /// In table order: native, riskgate, Extism (when run).
    pub contenders: Vec<ContenderReport>,
    pub ratios: Ratios,
    pub targets: Vec<Target>,
    /// Withdrawals whose verdict differs between contenders.
    pub disagreements: u64,
    /// riskgate's policy calls that faulted in the latency run (a call
    /// descheduled past the deadline is held: a disagreement, fail-safe).
    pub faults: u64,
    /// riskgate's fuel per decision, per policy.
    pub fuel: Vec<FuelRow>,
    /// Gate build with a warm AOT cache, then its first decision.
    pub warm_start: Option<WarmStart>,
    /// Median wall time of `riskgate check` from spawn to its first
    /// decision (filled by the CLI).
    pub process_start_ms: Option<f64>,
}

/// What was run.
#[derive(Debug, Clone, Serialize)]
pub struct RunConfig {
    /// Synthetic addresses asked for.
    pub set_size: usize,
    /// Addresses in the designated set (the sample list added).
    pub set_len: usize,
    pub set_build_ms: f64,
    pub withdrawals: usize,
    /// The stream's mix, in words.
    pub mix: String,
    /// Interleaved latency rounds (the first a warm-up).
    pub rounds: usize,
    /// Decisions measured per contender in the latency run.
    pub measured: usize,
    /// Threads of the N-thread throughput runs.
    pub threads: usize,
    /// Throughput runs of each contender and loop (the median is reported).
    pub runs: usize,
    pub seed: u64,
    /// Fuel per policy call, wall-clock backstop.
    pub fuel: u64,
    pub deadline_us: u64,
    /// `--quick`: a smoke run whose figures mean nothing.
    pub quick: bool,
}

/// Where it ran.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Cores available to the process.
    pub cores: usize,
    /// CPU model (`/proc/cpuinfo`), when known.
    pub cpu: Option<String>,
    /// `rustc --version` of the build, when known.
    pub rustc: Option<String>,
    pub riskgate_version: String,
    /// Start of the run, `2026-12-03T17:05:00Z`.
    pub timestamp: String,
    pub timestamp_ms: u64,
    /// `/proc/loadavg` (1, 5, 15 minutes) when the run started and when
    /// it ended: other work on the machine skews the scaling.
    pub load_average_start: Option<[f64; 3]>,
    pub load_average_end: Option<[f64; 3]>,
    /// The reference loops' scaling: the machine's ceiling.
    pub reference: Vec<ReferenceLoop>,
}

/// One reference loop of [`crate::ceiling`].
#[derive(Debug, Clone, Serialize)]
pub struct ReferenceLoop {
    /// `alu` or `pointer_chase`.
    pub name: String,
    pub label: String,
    /// Loop iterations per second.
    pub throughput: Throughput,
}

/// The same harness on 1 and on N threads.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Throughput {
    pub threads: usize,
    /// Median of the runs, per second.
    pub one_thread_per_s: f64,
    pub n_threads_per_s: f64,
    /// `n_threads_per_s / one_thread_per_s`.
    pub scaling: f64,
    /// Every run, in run order.
    pub one_thread_runs: Vec<f64>,
    pub n_threads_runs: Vec<f64>,
}

impl Throughput {
    pub fn of(threads: usize, one: Vec<f64>, many: Vec<f64>) -> Self {
        let (a, b) = (median(&one), median(&many));
        Throughput {
            threads,
            one_thread_per_s: a,
            n_threads_per_s: b,
            scaling: if a > 0.0 { b / a } else { 0.0 },
            one_thread_runs: one,
            n_threads_runs: many,
        }
    }
}

/// Median of `v` (the mean of the middle two when even).
pub fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// One contender's figures.
#[derive(Debug, Clone, Serialize)]
pub struct ContenderReport {
    /// `native`, `riskgate` or `extism`.
    pub name: ContenderKind,
    pub label: String,
    /// Latency of one decision (interleaved rounds), ns.
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
    /// Latency samples.
    pub samples: usize,
    /// The latency distribution: nearest-rank percentiles at 41 points
    /// evenly spaced in nines, from p0 to p99.99 (`q` = 1 - 10^-(k/10)).
    pub latency_curve: Vec<CurvePoint>,
    /// Decisions per second: fresh store per run, the stream split by
    /// account, each thread in stream order.
    pub throughput: Throughput,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct CurvePoint {
    /// The quantile, 0 to 0.9999.
    pub q: f64,
    pub ns: u64,
}

/// Points of [`ContenderReport::latency_curve`].
pub const CURVE_POINTS: usize = 41;

/// The curve of sorted `samples`.
pub fn curve(sorted: &[u64]) -> Vec<CurvePoint> {
    (0..CURVE_POINTS)
        .map(|k| {
            let q = 1.0 - 10f64.powf(-(k as f64) / 10.0);
            CurvePoint {
                q,
                ns: nearest_rank(sorted, q),
            }
        })
        .collect()
}

/// Nearest-rank percentile of sorted `v`.
pub fn nearest_rank(v: &[u64], q: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    // Less a hair, so 0.9 of 10 000 is rank 9 000 despite rounding.
    let rank = ((q * v.len() as f64 - 1e-9).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// One contender against another.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    /// Latency of the first over the second's.
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    /// The second's throughput over the first's: how many times fewer
    /// decisions per second the first makes.
    pub one_thread_slowdown: f64,
    pub n_threads_slowdown: f64,
}

impl Ratio {
    fn of(a: &ContenderReport, b: &ContenderReport) -> Self {
        let r = |x: u64, y: u64| x as f64 / (y as f64).max(1.0);
        let s = |x: f64, y: f64| y / x.max(1e-9);
        Ratio {
            p50: r(a.p50_ns, b.p50_ns),
            p99: r(a.p99_ns, b.p99_ns),
            p999: r(a.p999_ns, b.p999_ns),
            one_thread_slowdown: s(a.throughput.one_thread_per_s, b.throughput.one_thread_per_s),
            n_threads_slowdown: s(a.throughput.n_threads_per_s, b.throughput.n_threads_per_s),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Ratios {
    /// riskgate over native (`None` when either is missing).
    pub riskgate_vs_native: Option<Ratio>,
    /// Extism over riskgate (`None` when the peer was left out).
    pub extism_vs_riskgate: Option<Ratio>,
}

/// One of the targets.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// Stable key, e.g. `riskgate_p50_vs_native`.
    pub name: String,
    pub description: String,
    /// The figure (`None`: not measured in this run).
    pub value: Option<f64>,
    /// `<=` or `>=`.
    pub op: String,
    pub limit: f64,
    /// `x` (a ratio) or `count`.
    pub unit: String,
    /// `None` when not measured.
    pub met: Option<bool>,
}

impl Target {
    fn new(name: &str, description: &str, value: Option<f64>, op: &str, limit: f64) -> Self {
        let met = value.map(|v| if op == "<=" { v <= limit } else { v >= limit });
        Target {
            name: name.into(),
            description: description.into(),
            value,
            op: op.into(),
            limit,
            unit: if name.ends_with("faults") || name == "disagreements" {
                "count".into()
            } else {
                "x".into()
            },
            met,
        }
    }

    /// `met`, `MISSED` or `not run`.
    pub fn status(&self) -> &'static str {
        match self.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "not run",
        }
    }

    /// The figure as printed: `1.62x`, `0`, `-`.
    pub fn figure(&self) -> String {
        match (self.value, self.unit.as_str()) {
            (None, _) => "-".into(),
            (Some(v), "count") => format!("{v:.0}"),
            (Some(v), _) => format!("{v:.2}x"),
        }
    }

    /// `riskgate p50 / native <= 1.25x`.
    pub fn limit_text(&self) -> String {
        if self.unit == "count" {
            format!("{} {} {:.0}", self.description, self.op, self.limit)
        } else {
            format!("{} {} {}x", self.description, self.op, self.limit)
        }
    }
}

/// The targets over the figures.
pub fn targets(
    contenders: &[ContenderReport],
    ratios: &Ratios,
    faults: u64,
    disagreements: u64,
) -> Vec<Target> {
    let scaling = |k: ContenderKind| {
        contenders
            .iter()
            .find(|c| c.name == k)
            .map(|c| c.throughput.scaling)
    };
    let gn = ratios.riskgate_vs_native.as_ref();
    let eg = ratios.extism_vs_riskgate.as_ref();
    vec![
        Target::new(
            "riskgate_p50_vs_native",
            "riskgate p50 / native p50",
            gn.map(|r| r.p50),
            "<=",
            1.25,
        ),
        Target::new(
            "riskgate_p999_vs_native",
            "riskgate p999 / native p999",
            gn.map(|r| r.p999),
            "<=",
            2.0,
        ),
        Target::new(
            "extism_p50_vs_riskgate",
            "Extism p50 / riskgate p50",
            eg.map(|r| r.p50),
            ">=",
            8.0,
        ),
        Target::new(
            "riskgate_scaling",
            "riskgate scaling (N threads / 1 thread)",
            scaling(ContenderKind::Riskgate),
            ">=",
            1.7,
        ),
        Target::new(
            "native_scaling",
            "native scaling (N threads / 1 thread)",
            scaling(ContenderKind::Native),
            ">=",
            1.7,
        ),
        Target::new(
            "policy_faults",
            "riskgate policy faults",
            Some(faults as f64),
            "<=",
            0.0,
        ),
        Target::new(
            "disagreements",
            "verdict disagreements",
            Some(disagreements as f64),
            "<=",
            0.0,
        ),
    ]
}

impl Ratios {
    pub fn of(contenders: &[ContenderReport]) -> Self {
        let get = |k: ContenderKind| contenders.iter().find(|c| c.name == k);
        let pair = |a, b| match (get(a), get(b)) {
            (Some(a), Some(b)) => Some(Ratio::of(a, b)),
            _ => None,
        };
        Ratios {
            riskgate_vs_native: pair(ContenderKind::Riskgate, ContenderKind::Native),
            extism_vs_riskgate: pair(ContenderKind::Extism, ContenderKind::Riskgate),
        }
    }
}

/// Fuel one bundled policy burnt per decision over the latency run.
#[derive(Debug, Clone, Serialize)]
pub struct FuelRow {
    pub policy: String,
    /// Its budget per call.
    pub budget: u64,
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct WarmStart {
    /// Gate build on a warm AOT cache.
    pub build_ms: f64,
    pub first_decision_ms: f64,
    pub total_ms: f64,
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1e3
}

impl Machine {
    /// `; load average 0.12 at start, 1.40 at end` (1 minute), or nothing.
    pub fn load_text(&self) -> String {
        match (self.load_average_start, self.load_average_end) {
            (Some(a), Some(b)) => {
                format!("; load average {:.2} at start, {:.2} at end", a[0], b[0])
            }
            _ => String::new(),
        }
    }
}

impl Report {
    pub fn contender(&self, kind: ContenderKind) -> Option<&ContenderReport> {
        self.contenders.iter().find(|c| c.name == kind)
    }

    /// The JSON document of `riskgate bench --json`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serialises")
    }

    /// The table, the ratios and the targets, as printed by `riskgate bench`.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let c = &self.config;
        let _ = writeln!(
            s,
            "riskgate bench: {} withdrawals ({}), designated set of {} addresses (built in {:.2} s), \
             in-memory velocity store, {} interleaved rounds (the first a warm-up), {} measured per contender",
            c.withdrawals,
            c.mix,
            c.set_len,
            c.set_build_ms / 1e3,
            c.rounds,
            c.measured,
        );
        let _ = writeln!(
            s,
            "throughput: median of {} runs (contenders and loops interleaved), each on a fresh store, \
             the stream split by account over the threads",
            c.runs
        );
        let _ = writeln!(s);
        let n_head = format!("{} threads /s", c.threads);
        let _ = writeln!(
            s,
            "{:<26} {:>9} {:>9} {:>9} {:>14} {:>16} {:>8}",
            "contender", "p50 µs", "p99 µs", "p999 µs", "1 thread /s", n_head, "scaling"
        );
        for r in &self.contenders {
            let t = &r.throughput;
            let _ = writeln!(
                s,
                "{:<26} {:>9.2} {:>9.2} {:>9.2} {:>14.0} {:>16.0} {:>7.2}x",
                r.label,
                us(r.p50_ns),
                us(r.p99_ns),
                us(r.p999_ns),
                t.one_thread_per_s,
                t.n_threads_per_s,
                t.scaling
            );
        }
        let _ = writeln!(
            s,
            "machine ceiling ({} cores{}{}):",
            self.machine.cores,
            self.machine
                .cpu
                .as_deref()
                .map(|c| format!(", {c}"))
                .unwrap_or_default(),
            self.machine.load_text()
        );
        for l in &self.machine.reference {
            let t = &l.throughput;
            let _ = writeln!(
                s,
                "  {:<24} {:>9} {:>9} {:>9} {:>14.3e} {:>16.3e} {:>7.2}x",
                l.label, "", "", "", t.one_thread_per_s, t.n_threads_per_s, t.scaling
            );
        }
        let _ = writeln!(s);
        match &self.ratios.riskgate_vs_native {
            Some(r) => {
                let _ = writeln!(
                    s,
                    "riskgate / native: p50 {:.2}x, p99 {:.2}x, p999 {:.2}x; throughput {:.2}x lower on 1 thread, {:.2}x on {}",
                    r.p50, r.p99, r.p999, r.one_thread_slowdown, r.n_threads_slowdown, c.threads
                );
            }
            None => {
                let _ = writeln!(s, "riskgate / native: not run");
            }
        }
        match &self.ratios.extism_vs_riskgate {
            Some(r) => {
                let _ = writeln!(
                    s,
                    "Extism / riskgate: p50 {:.1}x, p99 {:.1}x, p999 {:.1}x; throughput {:.1}x lower on 1 thread, {:.1}x on {}",
                    r.p50, r.p99, r.p999, r.one_thread_slowdown, r.n_threads_slowdown, c.threads
                );
            }
            None => {
                let _ = writeln!(s, "Extism / riskgate: not run (the peer was left out)");
            }
        }
        let _ = writeln!(
            s,
            "targets: {}",
            self.targets
                .iter()
                .map(|t| format!("{} {} ({})", t.limit_text(), t.status(), t.figure()))
                .collect::<Vec<_>>()
                .join("; ")
        );
        let _ = writeln!(
            s,
            "verdicts: the contenders disagree on {} of {} withdrawals; riskgate policy faults {} \
             (fuel is the budget; wall-clock backstop {} µs)",
            self.disagreements, c.withdrawals, self.faults, c.deadline_us
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
        if let Some(w) = self.warm_start {
            let _ = writeln!(
                s,
                "warm start (AOT cache hit): gate build {:.2} ms + first decision {:.3} ms = {:.2} ms",
                w.build_ms, w.first_decision_ms, w.total_ms
            );
        }
        if let Some(ms) = self.process_start_ms {
            let _ = writeln!(
                s,
                "process start to first decision (`riskgate check`, one withdrawal, AOT cache hit): median {ms:.1} ms"
            );
        }
        s
    }
}
