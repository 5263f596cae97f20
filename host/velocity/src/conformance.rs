//! The conformance suite every [`Store`] runs: window edges, counts and
//! sums, idempotent records, release, the retention cut-off, exclusivity
//! and unlock, and the cap on how far one record moves the cut-off.
//! Written once against `dyn Store`; run by the memory and durable stores
//! (this crate's unit tests) and by the Redis store (the integration tests,
//! against a real server). Public for those tests only.
//!
//! Each check takes a factory giving a fresh, empty store keeping the
//! history asked for (ms); [`run`] runs them all and names the failing one.

use super::{
    Commit, DEFAULT_RETENTION_MS, HoldQuery, KeyParts, KeyStats, Keys, Prior, Released, Scope,
    Store, Velocity, VelocityError,
};
use riskgate_model::{Decision, HoldState, Reason, Review, Verdict};
use std::sync::Arc;

/// A fresh, empty store keeping the history given (ms).
pub type Factory<'a> = &'a dyn Fn(u64) -> Arc<dyn Store>;

const H: u64 = 3_600_000;
/// 2026-11-25T00:00:00Z.
const T0: u64 = 1_795_564_800_000;
const DEST: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";

/// Every check, in order.
pub fn run(factory: Factory<'_>) {
    for (name, check) in [
        (
            "windows_slide_exactly",
            windows_slide_exactly as fn(Factory<'_>),
        ),
        ("windows_in_one_call", windows_in_one_call),
        ("sums_are_exact_and_saturate", sums_are_exact_and_saturate),
        ("scopes_are_separate_keys", scopes_are_separate_keys),
        ("recorded_is_idempotent", recorded_is_idempotent),
        ("release_removes_the_record", release_removes_the_record),
        ("retention_cuts_off_history", retention_cuts_off_history),
        ("exclusive_and_unlock", exclusive_and_unlock),
        ("newest_is_capped", newest_is_capped),
        (
            "holds_are_queued_and_resolved",
            holds_are_queued_and_resolved,
        ),
        (
            "an_approval_counts_from_its_time",
            an_approval_counts_from_its_time,
        ),
    ] {
        eprintln!("conformance: {name}");
        check(factory);
    }
}

fn parts(account: &str, asset: &str) -> KeyParts {
    KeyParts {
        account: account.into(),
        asset: asset.into(),
        chain: "ethereum".into(),
        destination: DEST.into(),
    }
}

fn keys(account: &str, asset: &str) -> Keys {
    Keys::from_parts(parts(account, asset))
}

fn decision(id: &str, allowed: bool) -> Decision {
    Decision {
        id: id.into(),
        verdict: if allowed {
            Verdict::Allow
        } else {
            Verdict::Hold
        },
        reasons: Vec::new(),
        hits: Vec::new(),
        latency_ns: 0,
        replayed: false,
        review: None,
    }
}

/// Takes the store's exclusivity and commits `id` at `t`: an ALLOW of
/// (amount, usd) when `allowed` is given, else a HOLD (fingerprint
/// `[7; 32]`, no reasons).
pub fn commit(
    store: &dyn Store,
    id: &str,
    keys: &Keys,
    t: u64,
    allowed: Option<(u64, u64)>,
) -> Result<(), VelocityError> {
    let d = decision(id, allowed.is_some());
    let exclusive = store.exclusive(id, keys)?;
    store.commit(
        &Commit {
            id,
            keys,
            fingerprint: [7; 32],
            requested_at: t,
            decision: &d,
            allowed,
            counted_at: None,
        },
        exclusive,
    )
}

fn allow(store: &dyn Store, id: &str, keys: &Keys, t: u64, amount: u64) {
    commit(store, id, keys, t, Some((amount, amount / 10))).expect("commit");
}

/// A window of the account key.
fn acct(store: &dyn Store, k: &Keys, asset: &str, t: u64, w: u64) -> (u64, u64, u64) {
    let s = store
        .window(k.get(Scope::Account), asset, t, w)
        .expect("window");
    (s.count, s.sum, s.usd_cents)
}

/// Events with `ts > t - W` count, later ones included (conservative for
/// out-of-order requests); other assets count but are not summed.
pub fn windows_slide_exactly(factory: Factory<'_>) {
    let s = factory(DEFAULT_RETENTION_MS);
    let s = &*s;
    let k = keys("slide", "ETH");
    allow(s, "1", &k, T0, 100);
    allow(s, "2", &k, T0 + H, 200);
    assert_eq!(acct(s, &k, "ETH", T0 + H, H).0, 1);
    assert_eq!(acct(s, &k, "ETH", T0 + H - 1, H).0, 2);
    assert_eq!(acct(s, &k, "ETH", T0 + 2 * H - 1, H).1, 200);
    assert_eq!(acct(s, &k, "ETH", T0 + 2 * H, H).0, 0);
    assert_eq!(acct(s, &k, "ETH", T0 - 1, H).0, 2);
    assert_eq!(acct(s, &k, "BTC", T0 + H, 2 * H), (2, 0, 30));
    // The edges: ts = t - W is out, t - W + 1 in, later than t in.
    let e = keys("edge", "ETH");
    let t = T0 + 10 * H;
    allow(s, "at-edge", &e, t - H, 10);
    allow(s, "inside", &e, t - H + 1, 20);
    allow(s, "now", &e, t, 40);
    allow(s, "later", &e, t + 5, 80);
    commit(s, "held", &e, t - 1, None).unwrap();
    assert_eq!(acct(s, &e, "ETH", t, H), (3, 140, 14));
    assert_eq!(acct(s, &e, "ETH", t, H + 1), (4, 150, 15));
    assert_eq!(acct(s, &e, "ETH", t, H - 1), (2, 120, 12));
    assert_eq!(acct(s, &e, "ETH", t - H, 1), (4, 150, 15));
    assert_eq!(acct(s, &e, "ETH", t + 5, 5), (1, 80, 8));
    // Every event kept under the key (a HOLD adds none).
    assert_eq!(
        s.key_stats(e.get(Scope::Account)).unwrap(),
        KeyStats {
            events: 4,
            oldest_ts: Some(t - H),
            newest_ts: Some(t + 5),
            usd_cents: 15,
        }
    );
    assert_eq!(s.key_stats("nobody").unwrap(), KeyStats::default());
    // A window longer than the history kept is refused.
    assert!(matches!(
        s.window(k.get(Scope::Account), "ETH", T0, DEFAULT_RETENTION_MS + 1),
        Err(VelocityError::WindowTooLong { .. })
    ));
}

/// `Store::windows` and `Velocity::windows` (every window of a decision in
/// one call) answer each query exactly as `window` does, errors included,
/// in the queries' order whatever their scopes.
pub fn windows_in_one_call(factory: Factory<'_>) {
    let s = factory(DEFAULT_RETENTION_MS);
    let velocity = crate::Velocity::new(s.clone());
    let k = keys("batch", "ETH");
    for (i, dt) in [0, H / 2, H, 3 * H, 20 * H].into_iter().enumerate() {
        allow(&*s, &format!("b{i}"), &k, T0 + dt, 10 << i);
    }
    let t = T0 + 20 * H;
    let lens = [1, H / 2, H, 4 * H, 24 * H, DEFAULT_RETENTION_MS + 1, 17 * H];
    let mut got = vec![None; lens.len()];
    s.windows(k.get(Scope::Account), "ETH", t, &lens, &mut |i, r| {
        got[i] = Some(r)
    });
    for (i, &w) in lens.iter().enumerate() {
        assert_eq!(
            got[i],
            Some(s.window(k.get(Scope::Account), "ETH", t, w)),
            "window {w}"
        );
    }
    assert!(matches!(
        got[5],
        Some(Err(VelocityError::WindowTooLong { .. }))
    ));
    // Mixed scopes through the handle: answers land at their query's index.
    let queries: Vec<(Scope, u64)> = (0..40)
        .map(|i| (Scope::ALL[i % 5], lens[i % lens.len()]))
        .collect();
    let mut got = vec![None; queries.len()];
    velocity.windows(&k, t, &queries, None, &mut |i, r| {
        assert!(got[i].is_none(), "query {i} answered twice");
        got[i] = Some(r)
    });
    for (i, &(scope, w)) in queries.iter().enumerate() {
        assert_eq!(
            got[i],
            Some(velocity.window(&k, scope, t, w, None)),
            "query {i}"
        );
    }
}

/// Sums past 2^53 are exact; sums in one asset beyond `u64` saturate.
pub fn sums_are_exact_and_saturate(factory: Factory<'_>) {
    let s = factory(DEFAULT_RETENTION_MS);
    let s = &*s;
    let k = keys("exact", "ETH");
    let amounts = [(1u64 << 53) + 1, (1 << 53) + 3, 12_345_678_901_234_567];
    for (i, amount) in amounts.into_iter().enumerate() {
        commit(s, &format!("exact-{i}"), &k, T0, Some((amount, amount))).unwrap();
    }
    let total = (1u64 << 54) + 4 + 12_345_678_901_234_567;
    assert_eq!(acct(s, &k, "ETH", T0, H), (3, total, total));
    let big = keys("big", "USDC");
    let huge = 10_000_000_000_000_000_000u64;
    commit(s, "big-1", &big, T0, Some((huge, 160))).unwrap();
    commit(s, "big-2", &big, T0 + 1, Some((huge, 320))).unwrap();
    assert_eq!(acct(s, &big, "USDC", T0 + 1, H), (2, u64::MAX, 480));
}

/// Each scope is its own key: accounts share a destination's and an
/// asset's windows, not each other's.
pub fn scopes_are_separate_keys(factory: Factory<'_>) {
    let s = factory(DEFAULT_RETENTION_MS);
    let s = &*s;
    let (a, b, a_usdc) = (keys("a", "ETH"), keys("b", "ETH"), keys("a", "USDC"));
    allow(s, "a-1", &a, T0, 100);
    allow(s, "b-1", &b, T0, 200);
    allow(s, "a-2", &a_usdc, T0, 400);
    let count =
        |k: &Keys, scope: Scope, asset: &str| s.window(k.get(scope), asset, T0, H).unwrap().count;
    assert_eq!(count(&a, Scope::Account, "ETH"), 2);
    assert_eq!(count(&a, Scope::AccountAsset, "ETH"), 1);
    assert_eq!(count(&a_usdc, Scope::AccountAsset, "USDC"), 1);
    assert_eq!(count(&b, Scope::Account, "ETH"), 1);
    assert_eq!(count(&a, Scope::Destination, "ETH"), 3);
    assert_eq!(count(&a, Scope::AccountDestination, "ETH"), 2);
    assert_eq!(count(&a, Scope::Asset, "ETH"), 2);
    assert_eq!(
        s.window(a.get(Scope::Destination), "ETH", T0, H)
            .unwrap()
            .sum,
        300
    );
}

/// The record of an id: its fingerprint, decision, time, contribution and
/// keys, the same however often it is read; what a [`Txn`](super::Txn)
/// replays, and a conflict under another fingerprint.
pub fn recorded_is_idempotent(factory: Factory<'_>) {
    let store = factory(DEFAULT_RETENTION_MS);
    let s = &*store;
    let k = keys("idem", "ETH");
    assert_eq!(s.recorded("id-1").unwrap(), None);
    commit(s, "id-1", &k, T0, Some((5, 10_000))).unwrap();
    commit(s, "id-2", &k, T0 + 1, None).unwrap();
    let first = s.recorded("id-1").unwrap().expect("recorded");
    for _ in 0..3 {
        assert_eq!(s.recorded("id-1").unwrap().as_ref(), Some(&first));
    }
    assert_eq!(first.fingerprint, [7; 32]);
    assert_eq!(first.decision, decision("id-1", true));
    assert_eq!(first.requested_at, T0);
    assert_eq!(first.parts, *k.parts());
    let c = first.contribution.expect("an ALLOW contributes");
    assert_eq!((c.ts, c.amount, c.usd_cents), (T0, 5, 10_000));
    let held = s.recorded("id-2").unwrap().expect("a HOLD is recorded");
    assert_eq!(held.contribution, None);
    assert_eq!(held.decision.verdict, Verdict::Hold);
    // Only the ALLOW counts.
    assert_eq!(acct(s, &k, "ETH", T0 + 1, H).0, 1);
    // Through the gate's transaction.
    let velocity = Velocity::new(store.clone());
    let txn = velocity.begin("id-1", &k).unwrap();
    let mut replayed = decision("id-1", true);
    replayed.replayed = true;
    assert_eq!(txn.prior(&[7; 32]).unwrap(), Prior::Replay(replayed));
    assert_eq!(txn.prior(&[8; 32]).unwrap(), Prior::Conflict);
    drop(txn);
    let txn = velocity.begin("id-3", &k).unwrap();
    assert_eq!(txn.prior(&[7; 32]).unwrap(), Prior::New);
    txn.commit([9; 32], T0 + 2, &decision("id-3", true), Some((1, 1)))
        .unwrap();
    assert_eq!(s.recorded("id-3").unwrap().unwrap().fingerprint, [9; 32]);
    assert_eq!(acct(s, &k, "ETH", T0 + 2, H).0, 2);
}

/// A release removes the record and its contribution under every key; the
/// id is then unknown and may be decided anew.
pub fn release_removes_the_record(factory: Factory<'_>) {
    let store = factory(DEFAULT_RETENTION_MS);
    let s = &*store;
    let k = keys("rel", "ETH");
    allow(s, "1", &k, T0, 100);
    allow(s, "2", &k, T0, 100);
    assert_eq!(acct(s, &k, "ETH", T0, H).0, 2);
    assert_eq!(
        s.release("1").unwrap(),
        Released {
            id: "1".into(),
            had_contribution: true,
            requested_at: T0,
        }
    );
    assert_eq!(acct(s, &k, "ETH", T0, H).0, 1);
    assert_eq!(
        s.window(k.get(Scope::Destination), "ETH", T0, H)
            .unwrap()
            .count,
        1
    );
    assert_eq!(s.recorded("1").unwrap(), None);
    assert_eq!(s.release("1"), Err(VelocityError::UnknownId("1".into())));
    commit(s, "3", &k, T0, None).unwrap();
    assert!(!s.release("3").unwrap().had_contribution);
    // Anew, and through the handle (which locks the recorded keys).
    allow(s, "1", &k, T0 + 1, 100);
    assert_eq!(acct(s, &k, "ETH", T0 + 1, H).0, 2);
    let velocity = Velocity::new(store.clone());
    assert!(velocity.release("1").unwrap().had_contribution);
    assert_eq!(
        velocity.release("nobody"),
        Err(VelocityError::UnknownId("nobody".into()))
    );
    assert_eq!(acct(s, &k, "ETH", T0 + 1, H).0, 1);
}

/// History older than the retention (behind the newest record) is gone:
/// its records, its events, and windows reaching below it are refused.
pub fn retention_cuts_off_history(factory: Factory<'_>) {
    let s = factory(H);
    let s = &*s;
    assert_eq!(s.retention_ms(), H);
    let k = keys("old", "ETH");
    let key = k.get(Scope::Account);
    commit(s, "a", &k, T0, Some((1, 1))).unwrap();
    commit(s, "b", &k, T0 + 30 * 60_000, Some((2, 2))).unwrap();
    commit(s, "c", &k, T0 + 2 * H, Some((4, 4))).unwrap();
    assert_eq!(s.recorded("a").unwrap(), None);
    assert_eq!(s.recorded("b").unwrap(), None);
    assert_eq!(s.recorded("c").unwrap().unwrap().requested_at, T0 + 2 * H);
    assert_eq!(s.key_stats(key).unwrap().events, 1);
    assert_eq!(s.window(key, "ETH", T0 + 2 * H, H).unwrap().count, 1);
    assert_eq!(s.window(key, "ETH", T0 + 2 * H - 1, H).unwrap().count, 1);
    assert_eq!(s.window(key, "ETH", T0 + H, 1).unwrap().count, 1);
    assert_eq!(
        s.window(key, "ETH", T0, H),
        Err(VelocityError::TooOld {
            t: T0,
            horizon: T0 + H
        })
    );
    assert!(matches!(
        s.window(key, "ETH", T0 + 2 * H, H + 1),
        Err(VelocityError::WindowTooLong { .. })
    ));
    assert_eq!(s.release("a"), Err(VelocityError::UnknownId("a".into())));
}

/// Exclusivity is given back by an unlock and by a commit, and can then
/// be taken again at once; a [`Txn`](super::Txn) gives it back when
/// dropped.
pub fn exclusive_and_unlock(factory: Factory<'_>) {
    let store = factory(DEFAULT_RETENTION_MS);
    let s = &*store;
    let k = keys("excl", "ETH");
    // No key in common (account, asset, destination all differ).
    let other = Keys::from_parts(KeyParts {
        account: "excl-other".into(),
        asset: "BTC".into(),
        chain: "bitcoin".into(),
        destination: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq".into(),
    });
    let held = s.exclusive("x1", &k).unwrap();
    // Other keys are free meanwhile.
    let free = s.exclusive("x2", &other).unwrap();
    s.unlock("x2", &other, free);
    s.unlock("x1", &k, held);
    let again = s.exclusive("x1", &k).expect("free after unlock");
    s.unlock("x1", &k, again);
    commit(s, "x1", &k, T0, Some((1, 1))).unwrap();
    let after = s.exclusive("x3", &k).expect("free after a commit");
    s.unlock("x3", &k, after);
    // Unlocking records nothing.
    assert_eq!(s.recorded("x3").unwrap(), None);
    assert_eq!(acct(s, &k, "ETH", T0, H).0, 1);
    let velocity = Velocity::new(store.clone());
    for _ in 0..3 {
        let txn = velocity.begin("x4", &k).unwrap();
        assert_eq!(txn.recorded().unwrap(), None);
    }
    let txn = velocity.begin("x4", &k).unwrap();
    txn.commit([7; 32], T0 + 1, &decision("x4", true), Some((1, 1)))
        .unwrap();
    drop(velocity.begin("x5", &k).expect("free after a Txn commit"));
    assert_eq!(acct(s, &k, "ETH", T0 + 1, H).0, 2);
}

/// One far-future record (the clock check off) cannot move the cut-off
/// past the host's clock plus the default skew: what came before it is
/// still in the windows of a withdrawal stamped now.
pub fn newest_is_capped(factory: Factory<'_>) {
    let s = factory(DEFAULT_RETENTION_MS);
    let s = &*s;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let year_2099 = 4_070_908_800_000;
    let k = keys("acct-future", "ETH");
    let other = keys("acct-other", "ETH");
    allow(s, "before", &k, now - H, 100);
    allow(s, "future", &other, year_2099, 1);
    assert_eq!(acct(s, &k, "ETH", now, 24 * H), (1, 100, 10));
    assert!(s.recorded("before").unwrap().is_some());
    assert!(s.recorded("future").unwrap().is_some());
}

/// A HOLD with a pending review of `amount` and one reason `code`.
fn held(id: &str, code: &str, amount: u64) -> Decision {
    Decision {
        reasons: vec![Reason {
            code: code.into(),
            detail: String::new(),
            policy: None,
        }],
        review: Some(Review::pending(amount, amount * 10)),
        ..decision(id, false)
    }
}

fn commit_decision(store: &dyn Store, id: &str, keys: &Keys, t: u64, d: &Decision) {
    let exclusive = store.exclusive(id, keys).expect("exclusive");
    store
        .commit(
            &Commit {
                id,
                keys,
                fingerprint: [9; 32],
                requested_at: t,
                decision: d,
                allowed: None,
                counted_at: None,
            },
            exclusive,
        )
        .expect("commit");
}

/// Rewrites `id`'s recorded HOLD with `state`, counting `counted` (amount,
/// usd, time) when given, as `Txn::resolve` does.
pub fn resolve(
    store: &dyn Store,
    id: &str,
    keys: &Keys,
    state: HoldState,
    counted: Option<(u64, u64, u64)>,
) {
    let recorded = store.recorded(id).expect("reads").expect("recorded");
    let mut d = recorded.decision.clone();
    d.replayed = false;
    let review = d.review.as_mut().expect("a review");
    review.state = state;
    review.counted_at = counted.map(|c| c.2);
    let exclusive = store.exclusive(id, keys).expect("exclusive");
    store
        .commit(
            &Commit {
                id,
                keys,
                fingerprint: recorded.fingerprint,
                requested_at: recorded.requested_at,
                decision: &d,
                allowed: counted.map(|(a, u, _)| (a, u)),
                counted_at: counted.map(|c| c.2),
            },
            exclusive,
        )
        .expect("resolve");
}

fn ids(store: &dyn Store, q: &HoldQuery) -> Vec<String> {
    store
        .holds(q)
        .expect("holds")
        .into_iter()
        .map(|r| r.decision.id)
        .collect()
}

/// HOLDs are listed oldest first, filtered by state, reason prefix, time
/// and limit; a resolution moves a hold between states; ALLOWs and DENYs
/// are never listed; a release takes a hold out of the queue.
pub fn holds_are_queued_and_resolved(factory: Factory<'_>) {
    let store = factory(DEFAULT_RETENTION_MS);
    let k = keys("q", "ETH");
    allow(&*store, "q-allow", &k, T0, 1);
    commit_decision(
        &*store,
        "q-3",
        &k,
        T0 + 3,
        &held("q-3", "velocity.count", 3),
    );
    commit_decision(
        &*store,
        "q-1",
        &k,
        T0 + 1,
        &held("q-1", "screening.unscreenable", 1),
    );
    commit_decision(&*store, "q-2", &k, T0 + 2, &held("q-2", "velocity.sum", 2));
    let deny = Decision {
        verdict: Verdict::Deny,
        ..decision("q-deny", false)
    };
    commit_decision(&*store, "q-deny", &k, T0 + 4, &deny);
    let pending = HoldQuery::default();
    assert_eq!(ids(&*store, &pending), ["q-1", "q-2", "q-3"]);
    let all = HoldQuery {
        state: None,
        ..HoldQuery::default()
    };
    assert_eq!(ids(&*store, &all), ["q-1", "q-2", "q-3"]);
    let velocity = HoldQuery {
        reason_prefix: Some("velocity.".into()),
        ..HoldQuery::default()
    };
    assert_eq!(ids(&*store, &velocity), ["q-2", "q-3"]);
    let two = HoldQuery {
        limit: 2,
        ..HoldQuery::default()
    };
    assert_eq!(ids(&*store, &two), ["q-1", "q-2"]);
    let before = HoldQuery {
        requested_before: Some(T0 + 3),
        ..HoldQuery::default()
    };
    assert_eq!(ids(&*store, &before), ["q-1", "q-2"]);

    resolve(&*store, "q-2", &k, HoldState::Rejected, None);
    assert_eq!(ids(&*store, &pending), ["q-1", "q-3"]);
    let rejected = HoldQuery {
        state: Some(HoldState::Rejected),
        ..HoldQuery::default()
    };
    assert_eq!(ids(&*store, &rejected), ["q-2"]);
    let r = store.recorded("q-2").unwrap().unwrap();
    assert_eq!(r.decision.review.unwrap().state, HoldState::Rejected);
    assert_eq!(
        r.requested_at,
        T0 + 2,
        "a resolution keeps the decision's time"
    );
    // Nothing counted: only the ALLOW.
    assert_eq!(acct(&*store, &k, "ETH", T0 + 10, H).0, 1);

    store.release("q-3").expect("released");
    assert_eq!(ids(&*store, &pending), ["q-1"]);
    assert_eq!(ids(&*store, &all), ["q-1", "q-2"]);
}

/// An approved HOLD counts under every key from its approval time, with
/// its amount and USD value; a release takes the approval's contribution
/// back as an ALLOW's.
pub fn an_approval_counts_from_its_time(factory: Factory<'_>) {
    let store = factory(DEFAULT_RETENTION_MS);
    let k = keys("a", "ETH");
    commit_decision(&*store, "a-1", &k, T0, &held("a-1", "velocity.count", 7));
    assert_eq!(acct(&*store, &k, "ETH", T0, H), (0, 0, 0));
    let approved_at = T0 + 2 * H;
    resolve(
        &*store,
        "a-1",
        &k,
        HoldState::Approved,
        Some((7, 70, approved_at)),
    );
    // Counted at the approval time: the last hour-long window holding it
    // ends just before approval + 1 h (windows count later events too).
    assert_eq!(acct(&*store, &k, "ETH", approved_at, H), (1, 7, 70));
    assert_eq!(acct(&*store, &k, "ETH", approved_at + H - 1, H), (1, 7, 70));
    assert_eq!(acct(&*store, &k, "ETH", approved_at + H, H), (0, 0, 0));
    for scope in Scope::ALL {
        let w = store.window(k.get(scope), "ETH", approved_at, H).unwrap();
        assert_eq!(w.count, 1, "{scope:?}");
    }
    let r = store.recorded("a-1").unwrap().unwrap();
    assert_eq!(r.decision.verdict, Verdict::Hold);
    assert_eq!(r.contribution.as_ref().map(|c| c.ts), Some(approved_at));
    assert!(store.holds(&HoldQuery::default()).unwrap().is_empty());
    let released = store.release("a-1").expect("released");
    assert!(released.had_contribution);
    assert_eq!(acct(&*store, &k, "ETH", approved_at, H), (0, 0, 0));
}
