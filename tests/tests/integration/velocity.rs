//! Velocity through the gate and the real velocity policy: concurrency on
//! the durable store, interleavings, release, clock skew and store failure.

use proptest::prelude::*;
use riskgate::address::Family;
use riskgate::model::Verdict;
use riskgate::screening::Screener;
use riskgate::velocity::{
    DurableOptions, DurableStore, KeyParts, Keys, Scope, Store, Velocity, VelocityError,
};
use riskgate::{Decision, Gate};
use riskgate_testkit::strategy;
use riskgate_tests::*;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::time::Duration;

const CLEAN: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

/// Count 25 and sum 1000 per account and hour.
const LIMITS: &str = r#"{"rules":[
    {"name":"count_1h","scope":"account","window":"1h","max_count":25},
    {"name":"sum_1h","scope":"account-asset","window":"1h","max_sum":1000}
],"new_destination_hours":0,"credential_change_hours":0}"#;

fn durable(dir: &Path) -> (Arc<Velocity>, Arc<DurableStore>) {
    let (store, _) = DurableStore::open(dir, DurableOptions::default()).expect("store opens");
    let store = Arc::new(store);
    (Arc::new(Velocity::new(store.clone())), store)
}

fn gate_on(velocity: Arc<Velocity>, config: &str) -> Gate {
    builder(vec![riskgate_tests::velocity(config)], Screener::default())
        .velocity(velocity)
        .build()
        .expect("gate builds")
        .0
}

fn codes(d: &Decision) -> Vec<&str> {
    d.reasons.iter().map(|r| r.code.as_str()).collect()
}

fn account_key(account: &str) -> String {
    Keys::from_parts(KeyParts {
        account: account.into(),
        asset: "ETH".into(),
        chain: "ethereum".into(),
        destination: String::new(),
    })
    .get(Scope::Account)
    .to_string()
}

#[test]
fn many_threads_on_the_durable_store_never_overshoot_and_all_allows_survive() {
    let dir = tempfile::tempdir().unwrap();
    let allowed: Vec<(u64, u64)> = {
        let (v, _) = durable(dir.path());
        let g = gate_on(v, LIMITS);
        hammer_one_account(&[&g], 8, 40, |_, i| T0 + i, |_| CLEAN)
    };
    assert_eq!(window_overshoot(&allowed, HOUR, 25, 1000), None);
    let sum: u64 = allowed.iter().map(|(_, a)| a).sum();
    assert!(
        allowed.len() >= 20 || sum >= 950,
        "limits not reached: {allowed:?}"
    );
    // Reopened: exactly the allowed withdrawals are counted.
    let (_, store) = durable(dir.path());
    let stats = store
        .window(&account_key("victim"), "ETH", T0, HOUR)
        .unwrap();
    assert_eq!(stats.count, allowed.len() as u64);
    assert_eq!(stats.sum, sum);
}

/// One durable gate shared by the interleaving property (each case uses its
/// own accounts).
fn shared_gate() -> &'static Gate {
    static CELL: OnceLock<(tempfile::TempDir, Gate)> = OnceLock::new();
    &CELL
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let (v, _) = durable(dir.path());
            let config = r#"{"rules":[
                {"name":"count_1h","scope":"account","window":"1h","max_count":4},
                {"name":"sum_1h","scope":"account-asset","window":"1h","max_sum":600},
                {"name":"dest_count_1h","scope":"destination","window":"1h","max_count":6}
            ],"new_destination_hours":0,"credential_change_hours":0}"#;
            let g = gate_on(v, config);
            (dir, g)
        })
        .1
}

static CASE: AtomicU64 = AtomicU64::new(0);

/// Three EVM destinations, each with the spellings the host reads on chain
/// `ethereum` as that address (lower, upper, EIP-55, `0X`, padded...).
fn destinations() -> impl Strategy<Value = Vec<Vec<String>>> {
    prop::collection::vec(strategy::canonical_of(Family::Evm), 3)
        .prop_filter("three distinct destinations", |cs| {
            cs[0] != cs[1] && cs[1] != cs[2] && cs[0] != cs[2]
        })
        .prop_map(|cs| {
            cs.iter()
                .map(|c| {
                    strategy::every_spelling(c)
                        .into_iter()
                        .filter(|a| a.chain == "ethereum")
                        .map(|a| a.address)
                        .collect()
                })
                .collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any split of a stream over 2-4 concurrent threads (each thread in its
    /// own order, out-of-order times included, some ids retried, each
    /// destination typed in any of its spellings): the allowed count and sum
    /// per account and per destination stay within every window's limits,
    /// and a retried id never counts twice.
    #[test]
    fn no_interleaving_overshoots_a_limit(
        threads in 2usize..5,
        dests in destinations(),
        steps in prop::collection::vec(
            (0usize..4, 0usize..2, 0usize..3, any::<prop::sample::Index>(), 1u64..300, 0u64..(2 * HOUR), any::<bool>()),
            4..40,
        )
    ) {
        let g = shared_gate();
        let case = CASE.fetch_add(1, Ordering::Relaxed);
        let mut per_thread: Vec<Vec<_>> = vec![Vec::new(); threads];
        for (i, &(t, .., retry)) in steps.iter().enumerate() {
            // A retry reuses an earlier step's id and content.
            let j = if retry && i > 0 { i / 2 } else { i };
            let (_, a, d, spelling, amt, off, _) = steps[j];
            let typed: &String = spelling.get(&dests[d]);
            let w = withdrawal(
                &format!("i{case}-{j}"),
                &format!("i{case}-acct{a}"),
                "ethereum",
                typed,
                amt,
                T0 + off,
            );
            per_thread[t % threads].push(w);
        }
        let barrier = Barrier::new(threads);
        let decided: Vec<(riskgate::Withdrawal, Decision)> = std::thread::scope(|s| {
            let handles: Vec<_> = per_thread
                .iter()
                .map(|ws| {
                    let barrier = &barrier;
                    s.spawn(move || {
                        barrier.wait();
                        ws.iter().map(|w| (w.clone(), g.evaluate(w))).collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        let mut first: std::collections::HashMap<String, Verdict> = Default::default();
        let mut by_account: std::collections::HashMap<String, Vec<(u64, u64)>> = Default::default();
        let mut by_dest: std::collections::HashMap<Vec<u8>, Vec<(u64, u64)>> = Default::default();
        for (w, d) in &decided {
            prop_assert!(!d.has_gate_reason(), "{:?}", d);
            // Every answer for one id is the same verdict.
            let v = *first.entry(w.id.clone()).or_insert(d.verdict);
            prop_assert_eq!(v, d.verdict, "{}", w.id);
            if d.verdict == Verdict::Allow && !d.replayed {
                by_account.entry(w.account.clone()).or_default().push((w.requested_at, w.amount));
                // One destination however it was typed.
                let key = riskgate::address::canonicalize(&w.chain, &w.destination).unwrap();
                by_dest.entry(key.key().to_vec()).or_default().push((w.requested_at, 1));
            }
        }
        for allowed in by_account.values() {
            if let Some(o) = window_overshoot(allowed, HOUR, 4, 600) {
                return Err(TestCaseError::fail(o));
            }
        }
        for allowed in by_dest.values() {
            if let Some(o) = window_overshoot(allowed, HOUR, 6, u64::MAX) {
                return Err(TestCaseError::fail(o));
            }
        }
        // Recorded counts match the fresh ALLOWs: nothing counted twice.
        let store = g.velocity().store();
        for (account, allowed) in &by_account {
            let stats = store.window(&account_key(account), "ETH", T0, 3 * HOUR).unwrap();
            prop_assert_eq!(stats.count, allowed.len() as u64, "{}", account);
        }
    }
}

#[test]
fn release_frees_the_limit_and_the_id_can_be_decided_again() {
    let config = r#"{"rules":[{"name":"count_1h","scope":"account","window":"1h","max_count":2}],
        "new_destination_hours":0,"credential_change_hours":0}"#;
    let dir = tempfile::tempdir().unwrap();
    let (v, store) = durable(dir.path());
    let g = gate_on(v.clone(), config);
    let w = |id: &str, at: u64| withdrawal(id, "acct", "ethereum", CLEAN, 10, at);
    assert_eq!(g.evaluate(&w("a", T0)).verdict, Verdict::Allow);
    assert_eq!(g.evaluate(&w("b", T0 + 1)).verdict, Verdict::Allow);
    assert_eq!(
        codes(&g.evaluate(&w("c", T0 + 2))),
        vec!["velocity.count_1h"]
    );
    // "b" failed on chain: its contribution goes, the next one fits.
    let released = v.release("b").unwrap();
    assert!(released.had_contribution);
    assert_eq!(
        store
            .window(&account_key("acct"), "ETH", T0, HOUR)
            .unwrap()
            .count,
        1
    );
    assert_eq!(g.evaluate(&w("d", T0 + 3)).verdict, Verdict::Allow);
    // The held "c" is recorded too: releasing it removes nothing counted.
    assert!(!v.release("c").unwrap().had_contribution);
    assert_eq!(
        v.release("never-seen"),
        Err(VelocityError::UnknownId("never-seen".into()))
    );
    // A released id is decided anew (not replayed), and counts again.
    let again = g.evaluate(&w("b", T0 + 4));
    assert!(!again.replayed);
    assert_eq!(codes(&again), vec!["velocity.count_1h"]);
    // All of it survives a restart.
    drop(g);
    drop(v);
    drop(store);
    let (_, store) = durable(dir.path());
    assert_eq!(
        store
            .window(&account_key("acct"), "ETH", T0, HOUR)
            .unwrap()
            .count,
        2
    );
    assert!(store.recorded("c").unwrap().is_none());
    assert!(store.recorded("b").unwrap().is_some());
}

#[test]
fn requests_too_far_from_the_host_clock_are_held_and_not_recorded() {
    let (g, _) = riskgate::Gate::builder()
        .policy(riskgate_tests::velocity("{}"))
        .limits(test_limits())
        .clock(Arc::new(|| T0))
        .max_clock_skew(Some(Duration::from_secs(60)))
        .build()
        .unwrap();
    // Outside 2009..2100 the input itself is refused, before the clock.
    for (at, code) in [
        (T0 + 61_000, "gate.clock_skew"),
        (T0 - 61_000, "gate.clock_skew"),
        (0, "gate.bad_input"),
        (u64::MAX, "gate.bad_input"),
    ] {
        let d = g.evaluate(&withdrawal(
            &format!("skew-{at}"),
            "a",
            "ethereum",
            CLEAN,
            1,
            at,
        ));
        assert_eq!(d.verdict, Verdict::Hold, "{d:?}");
        assert_eq!(codes(&d), vec![code]);
    }
    for at in [T0, T0 + 60_000, T0 - 60_000] {
        let d = g.evaluate(&withdrawal(
            &format!("ok-{at}"),
            "a",
            "ethereum",
            CLEAN,
            1,
            at,
        ));
        assert_eq!(d.verdict, Verdict::Allow, "{d:?}");
    }
    // Held for skew: nothing recorded, so a corrected retry is decided.
    assert!(
        g.velocity()
            .store()
            .recorded(&format!("skew-{}", T0 + 61_000))
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_store_that_fails_holds_every_withdrawal_never_allows() {
    let dir = tempfile::tempdir().unwrap();
    let (v, store) = durable(dir.path());
    let g = gate_on(v, LIMITS);
    let ok = g.evaluate(&withdrawal("before", "a", "ethereum", CLEAN, 1, T0));
    assert_eq!(ok.verdict, Verdict::Allow);
    store.fail_next_write();
    // The write of this ALLOW fails: it is not returned as an ALLOW.
    let d = g.evaluate(&withdrawal("during", "a", "ethereum", CLEAN, 1, T0 + 1));
    assert_eq!(d.verdict, Verdict::Hold, "{d:?}");
    assert!(codes(&d).contains(&"gate.velocity_unavailable"), "{d:?}");
    // Poisoned: reads fail too, so every later decision holds, and even a
    // replay of a recorded id is not answered from a store that failed.
    for (id, at) in [("after", T0 + 2), ("before", T0)] {
        let d = g.evaluate(&withdrawal(id, "a", "ethereum", CLEAN, 1, at));
        assert_eq!(d.verdict, Verdict::Hold, "{d:?}");
        assert_eq!(codes(&d), vec!["gate.velocity_unavailable"]);
    }
    // After a restart the failed ALLOW is not there; the earlier one is.
    drop(g);
    drop(store);
    let (_, store) = durable(dir.path());
    assert!(store.recorded("during").unwrap().is_none());
    assert!(store.recorded("before").unwrap().is_some());
}

/// A store that takes its time answering windows, as a remote one does.
struct SlowStore {
    inner: riskgate::velocity::MemoryStore,
    delay: Duration,
}

impl Store for SlowStore {
    fn describe(&self) -> String {
        "slow".into()
    }
    fn retention_ms(&self) -> u64 {
        self.inner.retention_ms()
    }
    fn recorded(&self, id: &str) -> Result<Option<riskgate::velocity::Recorded>, VelocityError> {
        self.inner.recorded(id)
    }
    fn holds(
        &self,
        query: &riskgate::velocity::HoldQuery,
    ) -> Result<Vec<riskgate::velocity::Recorded>, VelocityError> {
        self.inner.holds(query)
    }
    fn window(
        &self,
        key: &str,
        asset: &str,
        t: u64,
        window_ms: u64,
    ) -> Result<riskgate::velocity::WindowStats, VelocityError> {
        std::thread::sleep(self.delay);
        self.inner.window(key, asset, t, window_ms)
    }
    fn commit(
        &self,
        commit: &riskgate::velocity::Commit<'_>,
        exclusive: riskgate::velocity::Exclusive,
    ) -> Result<(), VelocityError> {
        self.inner.commit(commit, exclusive)
    }
    fn release(&self, id: &str) -> Result<riskgate::velocity::Released, VelocityError> {
        self.inner.release(id)
    }
    fn key_stats(&self, key: &str) -> Result<riskgate::velocity::KeyStats, VelocityError> {
        self.inner.key_stats(key)
    }
}

#[test]
fn time_spent_waiting_on_the_store_does_not_count_against_the_policy_deadline() {
    // Six window queries of 3 ms each, under a 1 ms backstop deadline.
    let store = SlowStore {
        inner: riskgate::velocity::MemoryStore::default(),
        delay: Duration::from_millis(3),
    };
    let (g, _) = riskgate::Gate::builder()
        .policy(riskgate_tests::velocity("{}"))
        .max_clock_skew(None)
        .velocity(Arc::new(Velocity::new(Arc::new(store))))
        .limits(riskgate::Limits {
            deadline: Duration::from_millis(1),
            ..Default::default()
        })
        .build()
        .unwrap();
    let d = g.evaluate(&withdrawal("slow-1", "a", "ethereum", CLEAN, 1, T0));
    assert_eq!(d.verdict, Verdict::Allow, "{d:?}");
    assert!(d.latency_ns > 15_000_000, "the store was slow: {d:?}");
}
