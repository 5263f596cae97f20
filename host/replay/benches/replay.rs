//! Replay throughput: a decision log of the bundled chain over the demo
//! stream (`RISKGATE_BENCH_DECISIONS`, default 50,000 decisions), written by
//! `serve`'s own service, replayed through the chain that wrote it on one
//! thread (the gate runs one policy call at a time). Criterion's
//! throughput is decisions/s; the target is at least 100,000 on one core.
//!
//! `cargo bench -p riskgate-replay --bench replay`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use riskgate::bundled;
use riskgate_bench::demo;
use riskgate_replay::{Options, replay};
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let n: usize = std::env::var("RISKGATE_BENCH_DECISIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let stream: Vec<_> = demo::generate(n, 42, &bundled::sample_addresses())
        .into_iter()
        .map(|g| g.withdrawal)
        .collect();
    let batches: Vec<Vec<_>> = stream.chunks(8).map(<[_]>::to_vec).collect();
    let config = dir.path().join("riskgate.toml");
    let log = dir.path().join("log");
    riskgate_replay::testing::write_log(
        &config,
        &log,
        &[(
            "velocity = \"memory\"\n[limits]\nmax_clock_skew_ms = 0\n[decision_log]\ndir = \"log\"\n"
                .to_string(),
            batches,
        )],
    );
    let mut options = Options::new(vec![log]);
    options.cache_dir = riskgate::cache::default_dir();
    // Once outside the measurement: the chain compiled into the cache, and
    // the log reproduced.
    let report = replay(&options).expect("the log replays");
    assert_eq!(report.totals.changed, 0);
    eprintln!(
        "replay of {} decisions: {:.0} decisions/s wall, {:.0} per CPU second of the \
         replaying thread (one run; chain builds left out)",
        report.totals.compared, report.decisions_per_s, report.decisions_per_cpu_s
    );
    // Per CPU second over a few runs: the one-core figure on a shared
    // machine, where wall time also counts other processes' turns.
    let mut cpu: Vec<f64> = (0..5)
        .map(|_| {
            replay(&options)
                .expect("the log replays")
                .decisions_per_cpu_s
        })
        .collect();
    cpu.sort_by(f64::total_cmp);
    eprintln!(
        "decisions per CPU second over 5 runs: median {:.0} (min {:.0}, max {:.0}); target 100000",
        cpu[2], cpu[0], cpu[4]
    );
    let mut group = c.benchmark_group("replay");
    group.throughput(Throughput::Elements(report.totals.compared));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function(format!("bundled chain, {n} decisions"), |b| {
        b.iter(|| {
            let report = replay(&options).expect("the log replays");
            assert_eq!(report.totals.changed, 0);
            report
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
