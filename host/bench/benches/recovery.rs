//! Recovery time of the embedded durable velocity store.
//!
//! `cargo bench -p riskgate-bench --bench recovery` writes N allowed withdrawals
//! (default 1M; `RISKGATE_BENCH_EVENTS=10000000` for 10M) through many
//! committing threads (group commit), then reopens the store and reports the
//! replay time, log size and resident memory; then writes a checkpoint,
//! commits `RISKGATE_BENCH_TAIL` more (default a tenth, at most a million:
//! the most an automatic checkpoint leaves to replay) and reopens from it. Plain timing, one shot: the figure of interest is
//! seconds, not nanoseconds.

mod common;

use riskgate::model::{Decision, Verdict};
use riskgate::velocity::{
    Commit, DurableOptions, DurableStore, Exclusive, KeyParts, Keys, RecoveryReport, Scope, Store,
};
use std::time::Instant;

const T0: u64 = 1_795_564_800_000;
const THREADS: u64 = 256;

fn rss_kb() -> u64 {
    common::proc_kb("/proc/self/status", "VmRSS:")
}

/// CPU seconds (user + system) this process has used, all threads.
fn cpu_s() -> f64 {
    // SAFETY: getrusage fills the struct it is given; zeroed is a valid
    // initial value for it.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// The defaults without automatic checkpoints: the bench writes its one
/// checkpoint itself, after timing recovery from the log alone.
fn options() -> DurableOptions {
    DurableOptions {
        checkpoint_every: 0,
        ..DurableOptions::default()
    }
}

/// Opens the store at `path` (holding `n` decisions), timed: a summary
/// line and the report.
fn reopen(path: &std::path::Path, n: Option<u64>) -> (DurableStore, (String, RecoveryReport)) {
    let rss_before = rss_kb();
    let cpu_before = cpu_s();
    let t = Instant::now();
    let (store, report) = DurableStore::open(path, options()).expect("store opens");
    let took = t.elapsed();
    let cpu = cpu_s() - cpu_before;
    if let Some(n) = n {
        assert_eq!(report.decisions as u64, n);
    }
    let line = format!(
        "{:.2} s wall, {cpu:.2} s CPU, {} records replayed, {} keys; resident +{} MB",
        took.as_secs_f64(),
        report.records,
        report.keys,
        rss_kb().saturating_sub(rss_before) / 1024
    );
    (store, (line, report))
}

/// A week of history: everything written is inside the retention.
const SPAN_MS: u64 = 6 * 24 * 3_600_000;

/// Commits the allowed withdrawals numbered `ids` (of a history of `n`
/// spread over [`SPAN_MS`]) from [`THREADS`] threads.
fn write(store: &DurableStore, ids: std::ops::Range<u64>, n: u64) {
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let ids = ids.clone();
            s.spawn(move || {
                let mut i = ids.start + t;
                while i < ids.end {
                    let parts = KeyParts {
                        account: format!("acct-{}", i % 200_000),
                        asset: if i.is_multiple_of(3) { "BTC" } else { "ETH" }.into(),
                        chain: "ethereum".into(),
                        destination: format!("0x{:040x}", i % 1_000_000),
                    };
                    let keys = Keys::from_parts(parts);
                    let id = format!("w-{i}");
                    let decision = Decision {
                        id: id.clone(),
                        verdict: Verdict::Allow,
                        reasons: Vec::new(),
                        hits: Vec::new(),
                        latency_ns: 0,
                        replayed: false,
                        review: None,
                    };
                    store
                        .commit(
                            &Commit {
                                id: &id,
                                keys: &keys,
                                fingerprint: [0; 32],
                                requested_at: T0 + i * SPAN_MS / n,
                                decision: &decision,
                                allowed: Some((i, i % 10_000)),
                                counted_at: None,
                            },
                            Exclusive::default(),
                        )
                        .expect("commit");
                    i += THREADS;
                }
            });
        }
    });
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs us too:
    // keep that a quick smoke run.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let n: u64 = std::env::var("RISKGATE_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke { 10_000 } else { 1_000_000 });
    // RISKGATE_BENCH_DIR: keep the store there and reuse it when it holds
    // one already (to profile recovery alone).
    let kept = std::env::var_os("RISKGATE_BENCH_DIR").map(std::path::PathBuf::from);
    let temp = tempfile::tempdir().expect("tempdir");
    let path = kept.clone().unwrap_or_else(|| temp.path().to_path_buf());
    let reuse = kept.is_some_and(|d| d.join("LOCK").exists());
    let started = Instant::now();
    if !reuse {
        let (store, _) = DurableStore::open(&path, options()).expect("store opens");
        write(&store, 0..n, n);
        println!(
            "wrote {n} allowed withdrawals in {:.1} s with {THREADS} committing threads ({} syncs: group commit)",
            started.elapsed().as_secs_f64(),
            store.syncs()
        );
    }
    // Recovery from the log alone (or from a checkpoint a kept store holds).
    let (store, report) = reopen(&path, (!reuse).then_some(n));
    // A kept store may hold a tail of an earlier run.
    let n = report.1.decisions as u64;
    println!(
        "recovery of {n} events: {} ({} MB of log in {} segments, checkpoint {:?})",
        report.0,
        report.1.bytes / 1_000_000,
        report.1.segments,
        report.1.checkpoint
    );
    // A checkpoint of the rebuilt index, then a reopen from it.
    let t = Instant::now();
    let written = store.checkpoint().expect("checkpoint");
    println!(
        "checkpoint: {} MB written in {:.2} s (commits pause only for the cut)",
        written.bytes / 1_000_000,
        t.elapsed().as_secs_f64()
    );
    // Then the records an automatic checkpoint leaves to replay at most
    // (`checkpoint_every`, a million by default), written after the cut.
    let tail = std::env::var("RISKGATE_BENCH_TAIL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke {
            1_000
        } else {
            (n / 10).min(1_000_000)
        });
    write(&store, n..n + tail, n);
    drop(store);
    let (store, report) = reopen(&path, Some(n + tail));
    assert!(report.1.checkpoint.is_some());
    assert_eq!(report.1.records, tail);
    println!(
        "recovery of {} events from the checkpoint and {tail} records after it: {}",
        n + tail,
        report.0
    );
    // The rebuilt index answers.
    let keys = Keys::from_parts(KeyParts {
        account: "acct-7".into(),
        asset: "ETH".into(),
        chain: "ethereum".into(),
        destination: String::new(),
    });
    let stats = store
        .window(keys.get(Scope::Account), "ETH", T0 + SPAN_MS, SPAN_MS)
        .expect("window");
    assert!(stats.count > 0);
}
