//! Hold-resolution benchmark: `Gate::resolve` latency per call on the
//! embedded durable store and on Redis.
//!
//! `cargo bench -p riskgate-bench --bench resolve` (`RISKGATE_BENCH_HOLDS`
//! holds per row, default 2,000). For each store it records that many
//! pending HOLDs through the velocity transaction (as the gate records a
//! HOLD: the decision with its pending review), then times each call of
//! `Gate::resolve` on its own (`Instant` before and after): approving (the
//! approval rewrites the record and adds the withdrawal's events under its
//! five keys, in one commit) and rejecting (the record alone); and a
//! listing of the review queue's first 100 pending holds. Prints p50, p99
//! and the mean per row. Redis is `$RISKGATE_BENCH_REDIS` or
//! `$RISKGATE_TEST_REDIS` when set, else a `redis-server` started on a free
//! loopback port; without either the Redis rows are skipped with a message.

mod redis_server;

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use riskgate::model::{HoldState, Reason, Review};
use riskgate::screening::Screener;
use riskgate::velocity::{
    DurableOptions, DurableStore, HoldQuery, KeyParts, Keys, RedisStore, Store, Velocity,
};
use riskgate::{Decision, Gate, Resolution, Verdict};

const HOUR: u64 = 3_600_000;
/// Listings of the queue timed per store.
const LISTINGS: usize = 200;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A gate over `store` without policies: resolving reads and rewrites
/// only the velocity record.
fn gate(store: Arc<dyn Store>) -> Gate {
    Gate::builder()
        .screener(Screener::default())
        .max_clock_skew(None)
        .velocity(Arc::new(Velocity::new(store)))
        .build()
        .expect("gate builds")
        .0
}

fn keys(i: usize) -> Keys {
    Keys::from_parts(KeyParts {
        account: format!("acct-{}", i % 1_000),
        asset: "ETH".into(),
        chain: "ethereum".into(),
        destination: format!("0x{:040x}", 0xbeef_0000u64 + (i % 300) as u64),
    })
}

/// Records `n` pending HOLDs `{run}-{i}`, requested in the hour before
/// `now`, as the gate records a HOLD (velocity reason, pending review).
fn record_holds(g: &Gate, run: &str, n: usize, now: u64) -> Vec<String> {
    (0..n)
        .map(|i| {
            let id = format!("{run}-{i}");
            let keys = keys(i);
            let decision = Decision {
                id: id.clone(),
                verdict: Verdict::Hold,
                reasons: vec![Reason {
                    code: "velocity.count_1h".into(),
                    detail: "over 10 an hour".into(),
                    policy: Some("velocity".into()),
                }],
                hits: Vec::new(),
                latency_ns: 0,
                replayed: false,
                review: Some(Review::pending(1_000 + i as u64, 50_000)),
            };
            let at = now - HOUR + (i as u64 % HOUR);
            g.velocity()
                .begin(&id, &keys)
                .expect("locks")
                .commit([1; 32], at, &decision, None)
                .expect("a HOLD is recorded");
            id
        })
        .collect()
}

/// p50, p99 and mean of `times` (ns) in µs.
fn percentiles(mut times: Vec<u64>) -> (f64, f64, f64) {
    times.sort_unstable();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    let mean = times.iter().sum::<u64>() / times.len() as u64;
    let us = |ns: u64| ns as f64 / 1e3;
    (us(at(0.5)), us(at(0.99)), us(mean))
}

fn row(store: &str, what: &str, times: Vec<u64>) {
    let n = times.len();
    let (p50, p99, mean) = percentiles(times);
    println!("{store:<8} {what:<26} {n:>6} {p50:>10.1} {p99:>10.1} {mean:>10.1}");
}

/// Times each resolution of `ids` by `resolution`, checking it lands in
/// `state`.
fn time_resolve(g: &Gate, ids: &[String], resolution: &Resolution, state: HoldState) -> Vec<u64> {
    ids.iter()
        .map(|id| {
            let t = Instant::now();
            let resolved = g.resolve(id, resolution).expect("resolves");
            let elapsed = t.elapsed().as_nanos() as u64;
            assert!(resolved.changed, "{id}");
            assert_eq!(resolved.hold.state, state, "{id}");
            elapsed
        })
        .collect()
}

fn bench_store(label: &str, store: Arc<dyn Store>, n: usize) {
    let g = gate(store);
    let now = now_ms();
    // Warm up: connections, scripts loaded, the log's first segment.
    let warm = record_holds(&g, &format!("{label}-warm"), 100, now);
    time_resolve(
        &g,
        &warm,
        &Resolution::approve("alice", ""),
        HoldState::Approved,
    );
    let approve = record_holds(&g, &format!("{label}-approve"), n, now);
    let reject = record_holds(&g, &format!("{label}-reject"), n, now);
    let query = HoldQuery::default();
    let listings: Vec<u64> = (0..LISTINGS)
        .map(|_| {
            let t = Instant::now();
            let holds = g.holds(&query).expect("lists");
            let elapsed = t.elapsed().as_nanos() as u64;
            assert_eq!(holds.len(), query.limit);
            elapsed
        })
        .collect();
    let approvals = time_resolve(
        &g,
        &approve,
        &Resolution::approve("alice", "checked"),
        HoldState::Approved,
    );
    let rejections = time_resolve(
        &g,
        &reject,
        &Resolution::reject("bob", "no"),
        HoldState::Rejected,
    );
    assert!(g.holds(&query).expect("lists").is_empty());
    row(label, "resolve: approve (counts)", approvals);
    row(label, "resolve: reject", rejections);
    row(label, "holds: first 100 pending", listings);
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let n: usize = std::env::var("RISKGATE_BENCH_HOLDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000)
        .max(100);
    println!("Gate::resolve latency, each call timed alone, {n} holds per resolve row (µs)");
    println!(
        "{:<8} {:<26} {:>6} {:>10} {:>10} {:>10}",
        "store", "call", "n", "p50", "p99", "mean"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (durable, _) =
        DurableStore::open(dir.path(), DurableOptions::default()).expect("durable store opens");
    bench_store("durable", Arc::new(durable), n);

    match redis_server::redis() {
        Ok((url, _server)) => {
            let prefix = format!("riskgate-bench-resolve:{}:", std::process::id());
            let store = RedisStore::open(&format!("{url}?prefix={prefix}")).expect("redis URL");
            if let Err(e) = store.ping() {
                println!("skipping Redis: {e}");
                return;
            }
            let store = Arc::new(store);
            bench_store("redis", store.clone(), n);
            let _ = store.clear();
        }
        Err(why) => println!("skipping Redis: {why}"),
    }
}
