//! Velocity-store benchmark: check-and-record on the embedded durable store
//! and on Redis.
//!
//! `cargo bench -p riskgate-bench --bench velocity` (about a minute). For each
//! store it prints p50/p99 of individually timed decisions through a gate
//! running the bundled velocity policy (default rules: six window queries,
//! then the commit of the decision), and of the store work alone (lock,
//! six windows, commit, without the policy), then runs criterion groups of
//! both. Redis is `$RISKGATE_BENCH_REDIS` or `$RISKGATE_TEST_REDIS` when set,
//! else a `redis-server` started on a free loopback port; without either
//! the Redis half is skipped with a message. `velocity/hot-key` times the
//! windows of one key holding 1k, 10k and 100k events in the last day (a
//! busy exchange deposit address, or an asset-wide rule) on the in-memory
//! store: the running totals make it a binary search, not a scan.

mod redis_server;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use riskgate::model::{Decision, Verdict};
use riskgate::screening::Screener;
use riskgate::velocity::{
    Commit, DEFAULT_RETENTION_MS, DurableOptions, DurableStore, Exclusive, KeyParts, Keys,
    MemoryStore, RedisStore, Scope, Store, Velocity,
};
use riskgate::{Gate, Limits, PolicySource, Withdrawal, bundled};

/// 2026-11-25T00:00:00Z.
const T0: u64 = 1_795_564_800_000;
const DAY: u64 = 86_400_000;
/// Individually timed decisions per store.
const TIMED: u64 = 4_000;

/// Withdrawal `i`: 5,000 accounts, 500 destinations, one a millisecond, so
/// the default limits are rarely reached and most decisions are ALLOWs.
fn withdrawal(run: &str, i: u64) -> Withdrawal {
    let at = T0 + i;
    Withdrawal {
        id: format!("{run}-{i}"),
        account: format!("acct-{}", i % 5_000),
        asset: "ETH".into(),
        chain: "ethereum".into(),
        destination: format!("0x{:040x}", 0xdead_0000u64 + i % 500),
        amount: 1_000 + i % 777,
        decimals: 18,
        usd_cents: Some(10_000 + i % 5_000),
        requested_at: at,
        account_created_at: Some(at - 400 * DAY),
        credential_changed_at: None,
        destination_first_used_at: Some(at - 30 * DAY),
    }
}

fn gate(store: Arc<dyn Store>) -> Gate {
    gate_with(store, Duration::from_millis(250))
}

fn gate_with(store: Arc<dyn Store>, deadline: Duration) -> Gate {
    Gate::builder()
        .policy(PolicySource {
            origin: "bundled:velocity".into(),
            bytes: Arc::from(bundled::VELOCITY),
            config: "{}".into(),
            fuel: None,
        })
        .screener(Screener::default())
        // The production deadline (1 ms) is wall-clock time and includes the
        // window round trips; a generous one keeps descheduling out of the
        // figures (faults are counted below anyway).
        .limits(Limits {
            deadline,
            ..Limits::default()
        })
        .max_clock_skew(None)
        .velocity(Arc::new(Velocity::new(store)))
        .build()
        .expect("gate builds")
        .0
}

/// The store work of one decision without the policy: lock, the six windows
/// of the default rules, commit.
fn store_decision(store: &dyn Store, w: &Withdrawal, keys: &Keys) {
    let exclusive = store.exclusive(&w.id, keys).expect("locks");
    assert!(store.recorded(&w.id).expect("recorded").is_none());
    for (scope, window) in [
        (Scope::Account, 600_000),
        (Scope::Account, 3_600_000),
        (Scope::Account, DAY),
        (Scope::Account, DAY),
        (Scope::Destination, 3_600_000),
        (Scope::Destination, DAY),
    ] {
        black_box(
            store
                .window(keys.get(scope), keys.asset(), w.requested_at, window)
                .expect("window"),
        );
    }
    record_allowed(store, w, keys, exclusive);
}

/// Commits `w` as an ALLOW under the lock `exclusive`.
fn record_allowed(store: &dyn Store, w: &Withdrawal, keys: &Keys, exclusive: Exclusive) {
    let decision = Decision::allow(&w.id);
    store
        .commit(
            &Commit {
                id: &w.id,
                keys,
                fingerprint: [0; 32],
                requested_at: w.requested_at,
                decision: &decision,
                allowed: Some((w.amount, w.usd_cents.unwrap_or(0))),
                counted_at: None,
            },
            exclusive,
        )
        .expect("commit");
}

fn keys_of(w: &Withdrawal) -> Keys {
    Keys::from_parts(KeyParts {
        account: w.account.clone(),
        asset: w.asset.clone(),
        chain: w.chain.clone(),
        destination: w.destination.clone(),
    })
}

fn percentiles(mut times: Vec<u64>) -> String {
    times.sort_unstable();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    let mean = times.iter().sum::<u64>() / times.len() as u64;
    format!(
        "p50 {:.1} µs, p99 {:.1} µs, mean {:.1} µs",
        at(0.5) as f64 / 1e3,
        at(0.99) as f64 / 1e3,
        mean as f64 / 1e3
    )
}

/// Prints the percentiles of one store, then its criterion groups.
fn bench_store(c: &mut Criterion, label: &str, store: Arc<dyn Store>) {
    let g = gate(store.clone());
    // Warm up: instances, connections, scripts loaded.
    for i in 0..200 {
        g.evaluate(&withdrawal(&format!("{label}-warm"), i));
    }
    let mut times = Vec::with_capacity(TIMED as usize);
    let (mut allowed, mut faults) = (0, 0);
    for i in 0..TIMED {
        let w = withdrawal(&format!("{label}-timed"), 1_000 + i);
        let t = Instant::now();
        let d = g.evaluate(&w);
        times.push(t.elapsed().as_nanos() as u64);
        allowed += usize::from(d.verdict == Verdict::Allow);
        faults += usize::from(d.has_gate_reason());
    }
    println!(
        "{label}: gate decision (velocity policy, 6 windows + commit): {} ({allowed}/{TIMED} allowed, {faults} gate faults)",
        percentiles(times)
    );
    // The production deadline: the window round trips count against it.
    let production = gate_with(store.clone(), Limits::default().deadline);
    let faults = (0..1_000)
        .filter(|&i| {
            production
                .evaluate(&withdrawal(&format!("{label}-deadline"), 5_000 + i))
                .has_gate_reason()
        })
        .count();
    println!(
        "{label}: with the default {:?} policy deadline: {faults}/1000 decisions held by a gate fault",
        Limits::default().deadline
    );
    let mut times = Vec::with_capacity(TIMED as usize);
    for i in 0..TIMED {
        let w = withdrawal(&format!("{label}-store"), 10_000 + i);
        let keys = keys_of(&w);
        let t = Instant::now();
        store_decision(&*store, &w, &keys);
        times.push(t.elapsed().as_nanos() as u64);
    }
    println!(
        "{label}: store only (lock, 6 windows, commit): {}",
        percentiles(times)
    );

    let mut group = c.benchmark_group(format!("velocity/{label}"));
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));
    let mut i = 100_000u64;
    group.bench_function("gate-decision", |b| {
        b.iter(|| {
            i += 1;
            g.evaluate(&withdrawal(&format!("{label}-crit"), i))
        })
    });
    let mut j = 200_000u64;
    group.bench_function("store-only", |b| {
        b.iter(|| {
            j += 1;
            let w = withdrawal(&format!("{label}-crit"), j);
            store_decision(&*store, &w, &keys_of(&w));
        })
    });
    group.bench_function("window", |b| {
        let w = withdrawal(&format!("{label}-crit"), 1);
        let keys = keys_of(&w);
        b.iter(|| {
            store
                .window(keys.get(Scope::Account), "ETH", T0 + 300_000, DAY)
                .unwrap()
        })
    });
    group.finish();
}

fn velocity(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (durable, _) =
        DurableStore::open(dir.path(), DurableOptions::default()).expect("durable store opens");
    bench_store(c, "durable", Arc::new(durable));

    match redis_server::redis() {
        Ok((url, _server)) => {
            let prefix = format!("riskgate-bench:{}:", std::process::id());
            let store = RedisStore::open(&format!("{url}?prefix={prefix}")).expect("redis URL");
            if let Err(e) = store.ping() {
                println!("skipping Redis: {e}");
                return;
            }
            let store = Arc::new(store);
            bench_store(c, "redis", store.clone());
            let _ = store.clear();
        }
        Err(why) => println!("skipping Redis: {why}"),
    }
}

/// The 1-hour and 24-hour windows of a destination that `events` allowed
/// withdrawals of other accounts went to over the last 23 hours.
fn hot_key(c: &mut Criterion) {
    let mut group = c.benchmark_group("velocity/hot-key");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    let now = T0 + DAY;
    for events in [1_000u64, 10_000, 100_000] {
        let store = MemoryStore::new(DEFAULT_RETENTION_MS);
        let step = 23 * 3_600_000 / events;
        let mut hot = None;
        for i in 0..events {
            let mut w = withdrawal("hot", i);
            w.requested_at = now - 23 * 3_600_000 + i * step;
            w.account = format!("acct-{i}");
            w.destination = format!("0x{:040x}", 0xbeefu64);
            let keys = keys_of(&w);
            let exclusive = store.exclusive(&w.id, &keys).expect("locks");
            record_allowed(&store, &w, &keys, exclusive);
            hot = Some(keys);
        }
        let keys = hot.expect("at least one event");
        let key = keys.get(Scope::Destination);
        group.bench_function(format!("{events}-events"), |b| {
            b.iter(|| {
                let mut stats = [None, None];
                store.windows(key, "ETH", now, &[3_600_000, DAY], &mut |i, s| {
                    stats[i] = Some(s.expect("window"));
                });
                black_box(stats)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, hot_key, velocity);
criterion_main!(benches);
