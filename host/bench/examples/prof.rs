//! Profiling harness: the gate or the native floor alone, in a loop, for
//! `perf record` or callgrind (instruction counts do not depend on how busy
//! the machine is):
//!
//! ```sh
//! cargo build --release -p riskgate-bench --features prof --example prof
//! target/release/examples/prof gate|native [PASSES [WITHDRAWALS [SET_SIZE]]]
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*' \
//!     --smc-check=all-non-file target/release/examples/prof gate 1 20000 100000
//! ```
//!
//! Built only with the `prof` feature (one wasmtime-linked binary fewer in
//! `cargo test`).
use riskgate::model::Withdrawal;
use riskgate_bench::{BenchConfig, ContenderKind, Workload, contender};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).cloned().unwrap_or_else(|| "gate".into());
    let passes: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let set: usize = args
        .get(4)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let w = Workload::new(set, n, 2025).unwrap();
    let stream: Vec<_> = w.stream.iter().map(|g| g.withdrawal.clone()).collect();
    let kind = match mode.as_str() {
        "native" => ContenderKind::Native,
        "gate" => ContenderKind::Riskgate,
        other => panic!("mode is gate or native, not {other}"),
    };
    let config = BenchConfig::default();
    for pass in 0..passes {
        // A fresh contender (and store) each pass: the stream's ids would
        // be replays on the last pass's store.
        let c = contender(kind, &w, &config).expect("the bundled policies load");
        let mut lat = Vec::with_capacity(stream.len());
        let started = Instant::now();
        measured(|x| c.decide(x), &stream, &mut lat);
        let secs = started.elapsed().as_secs_f64();
        lat.sort_unstable();
        println!(
            "{mode} pass {pass}: {:.0}/s p50 {:.2} µs p99 {:.2}",
            stream.len() as f64 / secs,
            lat[lat.len() / 2] as f64 / 1e3,
            lat[lat.len() * 99 / 100] as f64 / 1e3
        );
    }
}

/// The decision loop, alone in its own function for callgrind's
/// `--toggle-collect='*measured*'`.
#[inline(never)]
fn measured<D>(decide: impl Fn(&Withdrawal) -> D, stream: &[Withdrawal], lat: &mut Vec<u64>) {
    for x in stream {
        let x = x.clone();
        let t = Instant::now();
        std::hint::black_box(decide(&x));
        lat.push(t.elapsed().as_nanos() as u64);
    }
}
