//! The Redis velocity store against a real `redis-server`: limits under
//! concurrency across two gate nodes, the same decisions as the embedded
//! durable store, idempotency and release, exact window edges, pruning,
//! cross-node locks, and an unreachable, killed or hung server.
//!
//! The server is `$RISKGATE_TEST_REDIS` when set (`.ci/run` starts one),
//! else a `redis-server` each test starts on a free loopback port; without
//! `redis-server` the tests print why and pass.

use riskgate::model::{HoldState, Verdict};
use riskgate::screening::Screener;
use riskgate::velocity::{
    Commit, DurableOptions, DurableStore, HoldQuery, KeyParts, Keys, MemoryStore, RedisStore,
    Scope, Store, Velocity, VelocityError,
};
use riskgate::{Decision, Gate, Resolution, ResolveError, Resolved, ReviewPolicy, Withdrawal};
use riskgate_tests::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const DESTS: [&str; 3] = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
];

/// Count 25 and sum 1000 per account and hour.
const LIMITS: &str = r#"{"rules":[
    {"name":"count_1h","scope":"account","window":"1h","max_count":25},
    {"name":"sum_1h","scope":"account-asset","window":"1h","max_sum":1000}
],"new_destination_hours":0,"credential_change_hours":0}"#;

/// An upper bound for "returns in bounded time" (not a latency target).
const BOUNDED: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------- server

/// A `redis-server` child on a loopback port, killed on drop.
struct Server {
    child: Child,
    port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn redis_server_installed() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn answers_ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

impl Server {
    /// A fresh server, or `None` (with a message) when not installed.
    fn spawn() -> Option<Server> {
        if !redis_server_installed() {
            eprintln!("skipping: redis-server not found (.ci/run installs it)");
            return None;
        }
        for _ in 0..5 {
            let port = free_port();
            if let Some(server) = Server::on(port) {
                return Some(server);
            }
        }
        panic!("redis-server did not start");
    }

    /// A server on `port`, `None` when it does not answer (port taken).
    fn on(port: u16) -> Option<Server> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let mut server = Server { child, port };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if answers_ping(port) {
                return Some(server);
            }
            if server.child.try_wait().ok().flatten().is_some() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        server.kill();
        None
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A stopped server must be continued to die promptly.
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        self.kill();
    }
}

/// The server to use: `$RISKGATE_TEST_REDIS`, else a fresh one (kept alive
/// by the returned guard). `None` when neither is available.
fn redis() -> Option<(String, Option<Server>)> {
    if let Ok(url) = std::env::var("RISKGATE_TEST_REDIS")
        && !url.is_empty()
    {
        return Some((url, None));
    }
    let server = Server::spawn()?;
    Some((server.url(), Some(server)))
}

/// A key prefix no other test (or run) shares.
fn prefix(test: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "rgtest:{test}:{}:{nanos}:{}:",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// `url` with `options` added to its query.
fn with(url: &str, options: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{options}")
}

fn open(url: &str, test: &str, options: &str) -> Arc<RedisStore> {
    let mut url = with(url, &format!("prefix={}", prefix(test)));
    if !options.is_empty() {
        url = with(&url, options);
    }
    Arc::new(RedisStore::open(&url).expect("redis URL parses"))
}

/// Deletes the test's keys when the test ends (a shared server).
struct Cleanup(Vec<Arc<RedisStore>>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for s in &self.0 {
            let _ = s.clear();
        }
    }
}

// ---------------------------------------------------------------- helpers

fn gate_on(store: Arc<dyn Store>, config: &str) -> Gate {
    builder(vec![riskgate_tests::velocity(config)], Screener::default())
        .velocity(Arc::new(Velocity::new(store)))
        .build()
        .expect("gate builds")
        .0
}

fn codes(d: &Decision) -> Vec<&str> {
    d.reasons.iter().map(|r| r.code.as_str()).collect()
}

fn parts(account: &str, asset: &str, dest: &str) -> KeyParts {
    KeyParts {
        account: account.into(),
        asset: asset.into(),
        chain: "ethereum".into(),
        destination: dest.into(),
    }
}

/// Takes the locks and commits a decision directly through the store.
fn commit(
    store: &dyn Store,
    id: &str,
    parts: KeyParts,
    t: u64,
    allowed: Option<(u64, u64)>,
) -> Result<(), VelocityError> {
    riskgate::velocity::conformance::commit(store, id, &Keys::from_parts(parts), t, allowed)
}

/// splitmix64
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// ---------------------------------------------------------------- tests

#[test]
fn two_nodes_many_threads_never_overshoot_a_limit() {
    let Some((url, _server)) = redis() else {
        return;
    };
    let test = prefix("overshoot");
    let url = with(&url, &format!("prefix={test}&lock_wait_ms=20000"));
    let stores: Vec<Arc<RedisStore>> = (0..2)
        .map(|_| Arc::new(RedisStore::open(&url).unwrap()))
        .collect();
    let _cleanup = Cleanup(vec![stores[0].clone()]);
    // Two gate nodes, each with its own process locks, over one Redis.
    let nodes: Vec<Gate> = stores.iter().map(|s| gate_on(s.clone(), LIMITS)).collect();
    let gates: Vec<&Gate> = nodes.iter().collect();
    // Two hours of traffic: the window slides.
    let allowed = hammer_one_account(
        &gates,
        8,
        40,
        |t, i| T0 + i * 3 * 60_000 + t,
        |t| DESTS[(t % 3) as usize],
    );
    assert_eq!(
        window_overshoot(&allowed, HOUR, 25, 1000),
        None,
        "{allowed:?}"
    );
    let first_hour: Vec<_> = allowed.iter().filter(|(t, _)| *t < T0 + HOUR).collect();
    let sum: u64 = first_hour.iter().map(|(_, a)| a).sum();
    assert!(
        first_hour.len() >= 20 || sum >= 950,
        "limits not reached: {allowed:?}"
    );
    // Exactly the allowed withdrawals are recorded.
    let key = Keys::from_parts(parts("victim", "ETH", ""))
        .get(Scope::Account)
        .to_string();
    let stats = stores[1].key_stats(&key).unwrap();
    assert_eq!(stats.events, allowed.len() as u64);
    let w = stores[0].window(&key, "ETH", T0, 3 * HOUR).unwrap();
    assert_eq!(w.count, allowed.len() as u64);
    assert_eq!(w.sum, allowed.iter().map(|(_, a)| a).sum::<u64>());
}

/// One step of the differential stream.
enum Step {
    Decide(Withdrawal),
    Release(String),
}

/// The stream starts 200 days before today (at midnight): with its gaps it
/// spans about three months, and it must stay behind the host's clock,
/// which caps how far a record moves a store's cut-off
/// (`velocity::newest_cap`): two stores capping a millisecond apart would
/// otherwise disagree by that millisecond.
fn stream(seed: u64, len: usize) -> Vec<Step> {
    let mut rng = Rng(seed);
    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        / DAY
        * DAY;
    let mut t = today - 200 * DAY;
    let mut steps = Vec::new();
    let mut pool: Vec<Withdrawal> = Vec::new();
    for i in 0..len {
        match rng.below(100) {
            // A retry of an earlier id, as sent or with other content.
            0..8 if !pool.is_empty() => {
                let mut w = pool[rng.below(pool.len() as u64) as usize].clone();
                if rng.below(4) == 0 {
                    w.amount += 1;
                }
                steps.push(Step::Decide(w));
            }
            8..12 if !pool.is_empty() => {
                let id = pool[rng.below(pool.len() as u64) as usize].id.clone();
                steps.push(Step::Release(id));
            }
            12 => steps.push(Step::Release(format!("never-{i}"))),
            _ => {
                // Mostly forward, some out of order, rare long gaps.
                match rng.below(200) {
                    0 => t += 9 * DAY,
                    1..3 => t += 2 * DAY,
                    3..20 => t = t.saturating_sub(rng.below(10 * 60_000)),
                    _ => t += rng.below(120_000),
                }
                let account = format!("acct{}", rng.below(4));
                let dest = match rng.below(10) {
                    0 => "not-an-address".to_string(),
                    1 => DESTS[1].to_lowercase(),
                    n => DESTS[(n % 3) as usize].to_string(),
                };
                let mut w = withdrawal(
                    &format!("w{i}"),
                    &account,
                    "ethereum",
                    &dest,
                    1 + rng.below(2000),
                    t,
                );
                if rng.below(3) == 0 {
                    w.asset = "USDC".into();
                    if rng.below(4) == 0 {
                        // Sums beyond 2^53 and up to saturation: exact in Redis too.
                        w.amount = 3_000_000_000_000_000_000 + rng.below(1 << 40);
                    }
                }
                w.usd_cents = match rng.below(10) {
                    0 => None,
                    _ => Some(rng.below(100_000)),
                };
                // Far older than the history kept: TooOld on both.
                if rng.below(150) == 0 {
                    w.requested_at = t.saturating_sub(10 * DAY);
                }
                pool.push(w.clone());
                if pool.len() > 40 {
                    pool.remove(0);
                }
                steps.push(Step::Decide(w));
            }
        }
    }
    steps
}

const DIFFERENTIAL: &str = r#"{"rules":[
    {"name":"c10m","scope":"account","window":"10m","max_count":4},
    {"name":"c1h","scope":"account","window":"1h","max_count":9},
    {"name":"usd1h","scope":"account","window":"1h","max_usd_cents":300000},
    {"name":"eth_sum","scope":"account-asset","asset":"ETH","window":"1h","max_sum":5000},
    {"name":"usdc_sum","scope":"account-asset","asset":"USDC","window":"2h","max_sum":15000000000000000000},
    {"name":"dest30m","scope":"destination","window":"30m","max_count":6},
    {"name":"acct_dest","scope":"account-destination","window":"20m","max_count":2},
    {"name":"asset15m","scope":"asset","window":"15m","max_count":14},
    {"name":"asset_usd","scope":"asset","window":"7d","max_usd_cents":90000000}
],"new_destination_hours":0,"credential_change_hours":0}"#;

#[test]
fn redis_and_the_durable_store_decide_identically() {
    let Some((url, _server)) = redis() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (durable, _) = DurableStore::open(dir.path(), DurableOptions::default()).unwrap();
    let durable: Arc<dyn Store> = Arc::new(durable);
    let redis = open(&url, "differential", "");
    let _cleanup = Cleanup(vec![redis.clone()]);
    let a = gate_on(durable.clone(), DIFFERENTIAL);
    let b = gate_on(redis.clone(), DIFFERENTIAL);
    let (mut decisions, mut allowed, mut held, mut replays, mut releases) = (0, 0, 0, 0, 0);
    let seed: u64 = std::env::var("RISKGATE_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    let len: usize = std::env::var("RISKGATE_DIFF_LEN")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1500);
    for (n, step) in stream(seed, len).into_iter().enumerate() {
        match step {
            Step::Decide(w) => {
                let (da, db) = (a.evaluate(&w), b.evaluate(&w));
                assert!(
                    !codes(&db).contains(&"gate.velocity_unavailable"),
                    "step {n}: {db:?}"
                );
                assert_eq!(da.without_timing(), db.without_timing(), "step {n}: {w:?}");
                decisions += 1;
                match da.verdict {
                    Verdict::Allow => allowed += 1,
                    _ => held += 1,
                }
                replays += usize::from(da.replayed);
            }
            Step::Release(id) => {
                let (ra, rb) = (a.velocity().release(&id), b.velocity().release(&id));
                assert_eq!(ra, rb, "step {n}: release {id}");
                releases += usize::from(ra.is_ok());
            }
        }
    }
    eprintln!(
        "{decisions} decisions ({allowed} allowed, {held} held, {replays} replayed), {releases} releases"
    );
    assert!(allowed > 200 && held > 100 && replays > 20 && releases > 10);
    // And the same history per key.
    for account in 0..4 {
        for asset in ["ETH", "USDC"] {
            for dest in DESTS {
                let keys = Keys::from_parts(parts(&format!("acct{account}"), asset, dest));
                for key in keys.all() {
                    assert_eq!(
                        durable.key_stats(key).unwrap(),
                        redis.key_stats(key).unwrap(),
                        "{key}"
                    );
                }
            }
        }
    }
}

#[test]
fn replay_conflict_and_release_on_redis() {
    let Some((url, _server)) = redis() else {
        return;
    };
    let store = open(&url, "replay", "");
    let _cleanup = Cleanup(vec![store.clone()]);
    let config = r#"{"rules":[{"scope":"account","window":"1h","max_count":2}],
        "new_destination_hours":0,"credential_change_hours":0}"#;
    let g = gate_on(store.clone(), config);
    let w1 = withdrawal("id-1", "acct", "ethereum", DESTS[0], 5, T0);
    let first = g.evaluate(&w1);
    assert_eq!(first.verdict, Verdict::Allow);
    assert!(!first.replayed);
    for _ in 0..3 {
        let again = g.evaluate(&w1);
        assert!(again.replayed);
        assert_eq!(again.verdict, first.verdict);
        assert_eq!(again.reasons, first.reasons);
    }
    // The record: fingerprint, time, contribution and keys.
    let recorded = store.recorded("id-1").unwrap().expect("recorded");
    assert_eq!(recorded.requested_at, T0);
    assert_eq!(recorded.decision.verdict, Verdict::Allow);
    assert_eq!(recorded.decision.id, "id-1");
    let c = recorded.contribution.expect("an ALLOW contributes");
    assert_eq!((c.ts, c.amount, c.usd_cents), (T0, 5, 10_000));
    assert_eq!(recorded.parts.account, "acct");
    // Same id, other content.
    let mut other = w1.clone();
    other.amount = 6;
    assert_eq!(
        codes(&g.evaluate(&other)),
        vec!["gate.idempotency_conflict"]
    );
    // Fill the limit; the third is held.
    let w2 = withdrawal("id-2", "acct", "ethereum", DESTS[0], 5, T0 + 1);
    assert_eq!(g.evaluate(&w2).verdict, Verdict::Allow);
    let w3 = withdrawal("id-3", "acct", "ethereum", DESTS[0], 5, T0 + 2);
    let held = g.evaluate(&w3);
    assert_eq!(codes(&held), vec!["velocity.count_1h"]);
    assert!(
        store
            .recorded("id-3")
            .unwrap()
            .unwrap()
            .contribution
            .is_none()
    );
    // Release the first: its slot is free, its id decided anew.
    let released = g.velocity().release("id-1").unwrap();
    assert!(released.had_contribution);
    assert_eq!(released.requested_at, T0);
    assert_eq!(store.recorded("id-1").unwrap(), None);
    assert_eq!(
        g.velocity().release("id-1"),
        Err(VelocityError::UnknownId("id-1".into()))
    );
    assert_eq!(
        g.velocity().release("nobody"),
        Err(VelocityError::UnknownId("nobody".into()))
    );
    let w4 = withdrawal("id-4", "acct", "ethereum", DESTS[0], 5, T0 + 3);
    assert_eq!(g.evaluate(&w4).verdict, Verdict::Allow);
    let anew = g.evaluate(&w1);
    assert!(!anew.replayed);
    assert_eq!(codes(&anew), vec!["velocity.count_1h"]);
    // Releasing a HOLD frees nothing but the id.
    let r = g.velocity().release("id-3").unwrap();
    assert!(!r.had_contribution);
    // The other node sees it all.
    let node2 =
        RedisStore::open(&with(&url, &format!("prefix={}", store.options().prefix))).unwrap();
    assert_eq!(node2.recorded("id-3").unwrap(), None);
    assert!(node2.recorded("id-4").unwrap().is_some());
}

/// Two an account may withdraw per hour; a third is held.
const TWO_AN_HOUR: &str = r#"{"rules":[{"name":"count_1h","scope":"account","window":"1h","max_count":2}],
    "new_destination_hours":0,"credential_change_hours":0}"#;

/// A gate over `store` with the velocity policy at [`TWO_AN_HOUR`], the
/// review policy given and its clock stopped at `now`.
fn review_gate(store: Arc<dyn Store>, review: ReviewPolicy, now: u64) -> Gate {
    builder(
        vec![riskgate_tests::velocity(TWO_AN_HOUR)],
        Screener::default(),
    )
    .velocity(Arc::new(Velocity::new(store)))
    .review(review)
    .clock(Arc::new(move || now))
    .build()
    .expect("gate builds")
    .0
}

fn hold_ids(g: &Gate, q: &HoldQuery) -> Vec<String> {
    g.holds(q)
        .expect("holds")
        .into_iter()
        .map(|h| h.id)
        .collect()
}

fn in_state(state: Option<HoldState>) -> HoldQuery {
    HoldQuery {
        state,
        ..HoldQuery::default()
    }
}

/// The account's count over the hour ending at `t`.
fn account_count(store: &dyn Store, t: u64) -> u64 {
    let keys = Keys::from_parts(parts("reviewed", "ETH", DESTS[0]));
    store
        .window(keys.get(Scope::Account), "ETH", t, HOUR)
        .expect("window")
        .count
}

/// Through a gate over Redis: a withdrawal over the limit is held and
/// queued; approved (by one reviewer, or by two distinct ones with four
/// eyes) it counts in the account's windows from the approval time; a
/// rejected one never counts; another node, on a new connection, sees the
/// same queue, states and windows; a release takes the approval back.
#[test]
fn holds_are_reviewed_through_a_gate_on_redis() {
    let Some((url, _server)) = redis() else {
        return;
    };
    for four_eyes in [false, true] {
        let store = open(&url, "review", "");
        let _cleanup = Cleanup(vec![store.clone()]);
        let review = ReviewPolicy {
            approvals_required: if four_eyes {
                vec![("velocity.".into(), 2)]
            } else {
                Vec::new()
            },
            expire_after: None,
        };
        let now = T0 + 10 * 60_000;
        let g = review_gate(store.clone(), review.clone(), now);
        let w = |id: &str, at: u64| withdrawal(id, "reviewed", "ethereum", DESTS[0], 7, at);
        assert_eq!(g.evaluate(&w("r-1", T0)).verdict, Verdict::Allow);
        assert_eq!(g.evaluate(&w("r-2", T0 + 1)).verdict, Verdict::Allow);
        for (id, at) in [("r-3", T0 + 2), ("r-4", T0 + 3)] {
            let d = g.evaluate(&w(id, at));
            assert_eq!(d.verdict, Verdict::Hold, "{d:?}");
            assert_eq!(codes(&d), vec!["velocity.count_1h"]);
        }
        assert_eq!(account_count(&*store, now), 2, "a HOLD does not count");

        // Queued, oldest first, with what an approval would count.
        let pending = g.holds(&HoldQuery::default()).unwrap();
        assert_eq!(
            pending.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
            ["r-3", "r-4"]
        );
        let review_of = pending[0].review().expect("a review");
        assert_eq!(review_of.state, HoldState::Pending);
        assert_eq!((review_of.amount, review_of.usd_cents), (7, 10_000));
        assert_eq!(review_of.required, if four_eyes { 2 } else { 1 });
        assert_eq!(pending[0].account, "reviewed");

        // Approve r-3.
        let first = g.resolve("r-3", &Resolution::approve("alice", "")).unwrap();
        assert!(first.changed);
        if four_eyes {
            assert_eq!(first.hold.state, HoldState::Pending);
            assert_eq!(account_count(&*store, now), 2, "one approval of two");
            assert_eq!(hold_ids(&g, &HoldQuery::default()), ["r-3", "r-4"]);
            // The same reviewer again changes nothing.
            let again = g.resolve("r-3", &Resolution::approve("alice", "")).unwrap();
            assert!(!again.changed);
            assert_eq!(again.hold.state, HoldState::Pending);
            assert_eq!(account_count(&*store, now), 2);
            let second = g.resolve("r-3", &Resolution::approve("bob", "ok")).unwrap();
            assert!(second.changed);
            assert_eq!(second.hold.state, HoldState::Approved);
            assert_eq!(second.hold.review().unwrap().approvers(), ["alice", "bob"]);
        } else {
            assert_eq!(first.hold.state, HoldState::Approved);
        }
        let approved = g.hold("r-3").unwrap();
        assert_eq!(approved.state, HoldState::Approved);
        assert_eq!(approved.review().unwrap().counted_at, Some(now));
        // Counted from the approval time, under every key.
        assert_eq!(account_count(&*store, now), 3);
        let contribution = store.recorded("r-3").unwrap().unwrap().contribution;
        assert_eq!(
            contribution.map(|c| (c.ts, c.amount, c.usd_cents)),
            Some((now, 7, 10_000))
        );
        let keys = Keys::from_parts(parts("reviewed", "ETH", DESTS[0]));
        for scope in Scope::ALL {
            let w = store.window(keys.get(scope), "ETH", now, HOUR).unwrap();
            assert_eq!(w.count, 3, "{scope:?}");
        }
        // An hour after the first two, only the approval is left.
        assert_eq!(account_count(&*store, T0 + HOUR + 5 * 60_000), 1);
        let windows = g.account_windows(&approved, now).unwrap();
        assert_eq!(windows[0].count, 3, "{windows:?}");
        // Approving it again changes nothing (and counts nothing more).
        let Resolved { changed, .. } = g.resolve("r-3", &Resolution::approve("carol", "")).unwrap();
        assert!(!changed);
        assert_eq!(account_count(&*store, now), 3);

        // Reject r-4: it never counts, nor can it be approved after.
        let rejected = g
            .resolve("r-4", &Resolution::reject("carol", "no"))
            .unwrap();
        assert_eq!(rejected.hold.state, HoldState::Rejected);
        assert!(matches!(
            g.resolve("r-4", &Resolution::approve("dave", "")),
            Err(ResolveError::Conflict { .. })
        ));
        assert_eq!(account_count(&*store, now), 3);
        assert!(hold_ids(&g, &HoldQuery::default()).is_empty());
        assert_eq!(hold_ids(&g, &in_state(Some(HoldState::Approved))), ["r-3"]);
        assert_eq!(hold_ids(&g, &in_state(Some(HoldState::Rejected))), ["r-4"]);
        assert_eq!(hold_ids(&g, &in_state(None)), ["r-3", "r-4"]);

        // Another node, on its own connections: the same state.
        let node2: Arc<dyn Store> = Arc::new(
            RedisStore::open(&with(&url, &format!("prefix={}", store.options().prefix))).unwrap(),
        );
        let g2 = review_gate(node2.clone(), review.clone(), now + 1);
        assert_eq!(hold_ids(&g2, &in_state(None)), ["r-3", "r-4"]);
        assert_eq!(g2.hold("r-3").unwrap(), approved);
        assert_eq!(g2.hold("r-4").unwrap().state, HoldState::Rejected);
        assert_eq!(account_count(&*node2, now), 3);
        assert_eq!(
            node2
                .recorded("r-3")
                .unwrap()
                .unwrap()
                .contribution
                .map(|c| c.ts),
            Some(now)
        );
        // The approval counts against the next withdrawal there.
        let next = g2.evaluate(&w("r-5", now + 1));
        assert_eq!(codes(&next), vec!["velocity.count_1h"]);
        assert_eq!(hold_ids(&g2, &HoldQuery::default()), ["r-5"]);

        // A release takes back exactly the approval's events.
        let released = g2.velocity().release("r-3").unwrap();
        assert!(released.had_contribution);
        assert_eq!(account_count(&*store, now), 2);
        assert_eq!(hold_ids(&g, &in_state(None)), ["r-4", "r-5"]);
        assert!(matches!(
            g.resolve("r-3", &Resolution::approve("alice", "")),
            Err(ResolveError::UnknownId(_))
        ));
    }
}

/// A HOLD with a pending review and one reason `code`.
fn queued_hold(id: &str, code: &str, amount: u64) -> Decision {
    Decision {
        id: id.into(),
        verdict: Verdict::Hold,
        reasons: vec![riskgate::Reason {
            code: code.into(),
            detail: String::new(),
            policy: None,
        }],
        hits: Vec::new(),
        latency_ns: 0,
        replayed: false,
        review: Some(riskgate::model::Review::pending(amount, amount * 3)),
    }
}

/// Takes the locks and commits `d` for `id` at `t` (an ALLOW counts).
fn commit_decision(store: &dyn Store, id: &str, keys: &Keys, t: u64, d: &Decision) {
    let exclusive = store.exclusive(id, keys).expect("exclusive");
    let allowed = (d.verdict == Verdict::Allow).then_some((5, 50));
    store
        .commit(
            &Commit {
                id,
                keys,
                fingerprint: [3; 32],
                requested_at: t,
                decision: d,
                allowed,
                counted_at: None,
            },
            exclusive,
        )
        .expect("commit");
}

/// Members of one of the store's sorted sets, read directly.
fn zcard(url: &str, key: &str) -> u64 {
    let client = redis::Client::open(url).expect("redis URL");
    let mut con = client.get_connection().expect("connects");
    redis::cmd("ZCARD").arg(key).query(&mut con).expect("ZCARD")
}

/// The review queue of the Redis store lists what the memory store's
/// lists, for every state, reason prefix, time bound and limit: ties in
/// requested-at ordered by id (ids with `:` too), limits past one page of
/// the listing script, holds moved between states by resolutions (an
/// approval counting), released ones gone, ALLOWs and DENYs never listed.
#[test]
fn the_review_queue_lists_like_the_memory_store() {
    let Some((url, _server)) = redis() else {
        return;
    };
    let redis = open(&url, "queue", "");
    let _cleanup = Cleanup(vec![redis.clone()]);
    let memory = MemoryStore::default();
    let stores: [&dyn Store; 2] = [&memory, &*redis];
    let mut rng = Rng(0x91);
    let codes = [
        "velocity.count_1h",
        "velocity.sum_1h",
        "screening.unscreenable",
    ];
    let mut holds = Vec::new();
    for i in 0..700u64 {
        let id = match i % 5 {
            0 => format!("q:{i}"),
            1 => format!("Q{i}"),
            2 => format!("a-{i}"),
            3 => format!("z{i}:x"),
            _ => format!("{i}"),
        };
        let keys = Keys::from_parts(parts(&format!("acct{}", i % 7), "ETH", DESTS[0]));
        // Few distinct times: many ties.
        let at = T0 + rng.below(40);
        let d = match rng.below(10) {
            0 => Decision::allow(&id),
            1 => Decision {
                verdict: Verdict::Deny,
                ..Decision::allow(&id)
            },
            _ => {
                holds.push((id.clone(), keys.clone()));
                queued_hold(&id, codes[rng.below(3) as usize], 1 + i)
            }
        };
        for store in stores {
            commit_decision(store, &id, &keys, at, &d);
        }
    }
    // Resolve about half, release some.
    for (id, keys) in &holds {
        let (state, counted) = match rng.below(8) {
            0 => (HoldState::Approved, Some((11, 33, T0 + 100))),
            1 => (HoldState::Rejected, None),
            2 => (HoldState::Expired, None),
            3 => {
                for store in stores {
                    store.release(id).expect("released");
                }
                continue;
            }
            _ => continue,
        };
        for store in stores {
            riskgate::velocity::conformance::resolve(store, id, keys, state, counted);
        }
    }
    let mut listed = 0;
    for state in std::iter::once(None).chain(HoldState::ALL.map(Some)) {
        for reason_prefix in [None, Some("velocity."), Some("screening."), Some("nope")] {
            for requested_before in [None, Some(T0 + 20), Some(T0), Some(u64::MAX)] {
                for limit in [0, 1, 7, 100, 300, 1000] {
                    let q = HoldQuery {
                        state,
                        reason_prefix: reason_prefix.map(String::from),
                        requested_before,
                        limit,
                    };
                    let m = memory.holds(&q).unwrap();
                    assert_eq!(m, redis.holds(&q).unwrap(), "{q:?}");
                    listed += m.len();
                }
            }
        }
    }
    let all = HoldQuery {
        state: None,
        limit: 1000,
        ..HoldQuery::default()
    };
    let every = redis.holds(&all).unwrap();
    assert!(every.len() > 400, "{}", every.len());
    assert!(
        every.windows(2).all(
            |w| (w[0].requested_at, &w[0].decision.id) < (w[1].requested_at, &w[1].decision.id)
        ),
        "oldest first, ties by id"
    );
    assert!(listed > 10_000, "{listed}");
    // No stale entry is left in the queue's sets (a listing skips them):
    // a resolution moved each hold's entry, a release removed it.
    let prefix = redis.options().prefix.clone();
    for state in std::iter::once(None).chain(HoldState::ALL.map(Some)) {
        let set = state.map_or("all", HoldState::as_str);
        let q = HoldQuery {
            state,
            ..all.clone()
        };
        assert_eq!(
            zcard(&url, &format!("{prefix}h:{set}")),
            redis.holds(&q).unwrap().len() as u64,
            "{set}"
        );
    }
    // The approvals count at their time in both.
    let keys = Keys::from_parts(parts("acct0", "ETH", DESTS[0]));
    for store in stores {
        assert_eq!(
            store
                .window(keys.get(Scope::Destination), "ETH", T0 + 100, 1)
                .unwrap(),
            memory
                .window(keys.get(Scope::Destination), "ETH", T0 + 100, 1)
                .unwrap()
        );
    }
    assert!(
        memory
            .window(keys.get(Scope::Destination), "ETH", T0 + 100, 1)
            .unwrap()
            .count
            > 20
    );
}

/// Holds older than the retention leave the queue with their records, in
/// every state; their entries are pruned from the queue's sets.
#[test]
fn aged_out_holds_leave_the_queue() {
    let Some((url, _server)) = redis() else {
        return;
    };
    let redis = open(&url, "queue-prune", &format!("retention_ms={HOUR}"));
    let _cleanup = Cleanup(vec![redis.clone()]);
    let memory = MemoryStore::new(HOUR);
    let stores: [&dyn Store; 2] = [&memory, &*redis];
    let keys = Keys::from_parts(parts("aged", "ETH", DESTS[1]));
    for store in stores {
        for i in 0..10 {
            let id = format!("old-{i}");
            commit_decision(
                store,
                &id,
                &keys,
                T0 + i,
                &queued_hold(&id, "velocity.x", 1),
            );
        }
        riskgate::velocity::conformance::resolve(
            store,
            "old-1",
            &keys,
            HoldState::Approved,
            Some((1, 3, T0 + 30 * 60_000)),
        );
        riskgate::velocity::conformance::resolve(store, "old-2", &keys, HoldState::Rejected, None);
    }
    let prefix = redis.options().prefix.clone();
    let card = |set: &str| zcard(&url, &format!("{prefix}h:{set}"));
    assert_eq!(
        (
            card("all"),
            card("pending"),
            card("approved"),
            card("rejected")
        ),
        (10, 8, 1, 1)
    );
    let all = HoldQuery {
        state: None,
        ..HoldQuery::default()
    };
    assert_eq!(redis.holds(&all).unwrap().len(), 10);
    // A hold requested early but committed after a later decision: its
    // entry in the commit-order list waits behind that one's.
    for store in stores {
        commit_decision(
            store,
            "mid",
            &keys,
            T0 + 90 * 60_000,
            &Decision::allow("mid"),
        );
        commit_decision(
            store,
            "late",
            &keys,
            T0 + 5,
            &queued_hold("late", "velocity.x", 1),
        );
    }
    // Past the retention: listed by neither store, pruned or not.
    for store in stores {
        commit_decision(
            store,
            "new",
            &keys,
            T0 + 2 * HOUR,
            &queued_hold("new", "velocity.x", 1),
        );
    }
    for q in [all.clone(), HoldQuery::default()] {
        let m = memory.holds(&q).unwrap();
        assert_eq!(m, redis.holds(&q).unwrap());
        assert_eq!(
            m.iter().map(|r| r.decision.id.as_str()).collect::<Vec<_>>(),
            ["new"]
        );
    }
    // The commit pruned the old entries from every set, up to the one
    // listed behind a newer decision (pruned by a later commit).
    assert_eq!(
        (
            card("all"),
            card("pending"),
            card("approved"),
            card("rejected")
        ),
        (2, 2, 0, 0)
    );
    assert_eq!(redis.recorded("late").unwrap(), None);
    assert_eq!(redis.recorded("old-1").unwrap(), None);
    // Once `mid` ages out, the next commit prunes `late` too.
    let t = T0 + 2 * HOUR + 31 * 60_000;
    commit_decision(&*redis, "newer", &keys, t, &Decision::allow("newer"));
    assert_eq!((card("all"), card("pending")), (1, 1));
    let ids: Vec<String> = redis
        .holds(&all)
        .unwrap()
        .into_iter()
        .map(|r| r.decision.id)
        .collect();
    assert_eq!(ids, ["new"]);
}

/// The store conformance suite every store runs
/// (`riskgate::velocity::conformance`), each check on a fresh prefix.
#[test]
fn the_redis_store_conforms() {
    let Some((url, _server)) = redis() else {
        return;
    };
    let opened = std::sync::Mutex::new(Cleanup(Vec::new()));
    riskgate::velocity::conformance::run(&|retention_ms| {
        let store = open(&url, "conformance", &format!("retention_ms={retention_ms}"));
        opened.lock().unwrap().0.push(store.clone());
        store
    });
}

#[test]
fn windows_are_exact_at_their_edges_like_the_memory_store() {
    let Some((url, _server)) = redis() else {
        return;
    };
    let redis = open(&url, "edges", "");
    let _cleanup = Cleanup(vec![redis.clone()]);
    let memory = MemoryStore::default();
    let stores: [&dyn Store; 2] = [&memory, &*redis];
    let w = 3_600_000u64;
    let t = T0 + 10 * w;
    let big = 10_000_000_000_000_000_000u64;
    for store in stores {
        let p = || parts("edge", "ETH", DESTS[0]);
        let usdc = || parts("edge", "USDC", DESTS[0]);
        commit(store, "at-edge", p(), t - w, Some((1, 10))).unwrap();
        commit(store, "inside", p(), t - w + 1, Some((2, 20))).unwrap();
        commit(store, "now", p(), t, Some((4, 40))).unwrap();
        // Later than t: counted (conservative for out-of-order requests).
        commit(store, "later", p(), t + 5, Some((8, 80))).unwrap();
        commit(store, "other-asset", usdc(), t - 10, Some((big, 160))).unwrap();
        commit(store, "other-asset-2", usdc(), t - 9, Some((big, 320))).unwrap();
        commit(store, "held", p(), t - 1, None).unwrap();
        // Sums past 2^53 (where Lua numbers stop being exact), below u64::MAX.
        for (i, amount) in [(1u64 << 53) + 1, (1 << 53) + 3, 12_345_678_901_234_567]
            .into_iter()
            .enumerate()
        {
            let exact = parts("exact", "ETH", DESTS[2]);
            commit(
                store,
                &format!("exact-{i}"),
                exact,
                t,
                Some((amount, amount)),
            )
            .unwrap();
        }
    }
    let exact = Keys::from_parts(parts("exact", "ETH", DESTS[2]));
    let e = redis
        .window(exact.get(Scope::Account), "ETH", t, w)
        .unwrap();
    let total = (1u64 << 54) + 4 + 12_345_678_901_234_567;
    assert_eq!((e.count, e.sum, e.usd_cents), (3, total, total));
    assert_eq!(Ok(e), memory.window(exact.get(Scope::Account), "ETH", t, w));
    let keys = Keys::from_parts(parts("edge", "ETH", DESTS[0]));
    let usdc = Keys::from_parts(parts("edge", "USDC", DESTS[0]));
    for (key, asset, at, window) in [
        (keys.get(Scope::Account), "ETH", t, w),
        (keys.get(Scope::Account), "ETH", t, w - 1),
        (keys.get(Scope::Account), "ETH", t, w + 1),
        (keys.get(Scope::Account), "ETH", t - w, 1),
        (keys.get(Scope::Account), "USDC", t, w),
        (keys.get(Scope::AccountAsset), "ETH", t, w),
        (usdc.get(Scope::AccountAsset), "USDC", t, w),
        (keys.get(Scope::Destination), "ETH", t + 5, 5),
        (keys.get(Scope::Asset), "ETH", t, 2 * w),
        (keys.get(Scope::Account), "ETH", 3, w),
    ] {
        let m = memory.window(key, asset, at, window);
        assert_eq!(
            m,
            redis.window(key, asset, at, window),
            "{key} {asset} {at} {window}"
        );
    }
    let stats = |at, window| {
        redis
            .window(keys.get(Scope::Account), "ETH", at, window)
            .unwrap()
    };
    // ts > t - W: the event at exactly t - W is out, t - W + 1 is in.
    assert_eq!((stats(t, w).count, stats(t, w).sum), (5, 2 + 4 + 8));
    assert_eq!(stats(t, w + 1).count, 6);
    assert_eq!(stats(t, w).usd_cents, 20 + 40 + 80 + 160 + 320);
    // Sums in one asset beyond u64 saturate, as in memory.
    let s = redis
        .window(keys.get(Scope::Account), "USDC", t, w)
        .unwrap();
    assert_eq!(s.sum, u64::MAX);
    // Errors.
    let too_long = DEFAULT_RETENTION_MS + 1;
    assert_eq!(
        redis.window(keys.get(Scope::Account), "ETH", t, too_long),
        memory.window(keys.get(Scope::Account), "ETH", t, too_long)
    );
    assert!(matches!(
        redis.window(keys.get(Scope::Account), "ETH", t, too_long),
        Err(VelocityError::WindowTooLong { .. })
    ));
    for key in keys.all().chain(usdc.all()) {
        assert_eq!(memory.key_stats(key), redis.key_stats(key), "{key}");
    }
}

const DEFAULT_RETENTION_MS: u64 = riskgate::velocity::DEFAULT_RETENTION_MS;

#[test]
fn history_older_than_the_retention_is_pruned_like_the_memory_store() {
    let Some((url, _server)) = redis() else {
        return;
    };
    let redis = open(&url, "prune", &format!("retention_ms={HOUR}"));
    let _cleanup = Cleanup(vec![redis.clone()]);
    let memory = MemoryStore::new(HOUR);
    let stores: [&dyn Store; 2] = [&memory, &*redis];
    for store in stores {
        let p = || parts("old", "ETH", DESTS[1]);
        commit(store, "a", p(), T0, Some((1, 1))).unwrap();
        commit(store, "b", p(), T0 + 30 * 60_000, Some((2, 2))).unwrap();
        commit(store, "c", p(), T0 + 2 * HOUR, Some((4, 4))).unwrap();
    }
    let keys = Keys::from_parts(parts("old", "ETH", DESTS[1]));
    let key = keys.get(Scope::Account);
    for id in ["a", "b", "c"] {
        assert_eq!(
            memory.recorded(id).unwrap().map(|r| r.requested_at),
            redis.recorded(id).unwrap().map(|r| r.requested_at),
            "{id}"
        );
    }
    assert_eq!(redis.recorded("a").unwrap(), None);
    assert_eq!(memory.key_stats(key), redis.key_stats(key));
    assert_eq!(redis.key_stats(key).unwrap().events, 1);
    for (t, window) in [
        (T0 + 2 * HOUR, HOUR),
        (T0 + 2 * HOUR - 1, HOUR),
        (T0 + HOUR, 1),
        (T0 + HOUR - 1, 1),
        (T0, HOUR),
    ] {
        assert_eq!(
            memory.window(key, "ETH", t, window),
            redis.window(key, "ETH", t, window),
            "{t} {window}"
        );
    }
    assert_eq!(
        redis.window(key, "ETH", T0, HOUR),
        Err(VelocityError::TooOld {
            t: T0,
            horizon: T0 + HOUR
        })
    );
    assert_eq!(
        redis.release("a"),
        Err(VelocityError::UnknownId("a".into()))
    );
}

#[test]
fn locks_exclude_other_nodes_and_an_expired_lock_records_nothing() {
    let Some((url, _server)) = redis() else {
        return;
    };
    let p = prefix("locks");
    let node = |options: &str| {
        Arc::new(RedisStore::open(&with(&url, &format!("prefix={p}&{options}"))).unwrap())
    };
    let a = node("lock_ttl_ms=5000&lock_wait_ms=200");
    // A node whose evaluations outlive its locks.
    let slow = node("lock_ttl_ms=300&lock_wait_ms=200");
    let b = node("lock_ttl_ms=5000&lock_wait_ms=200");
    let _cleanup = Cleanup(vec![a.clone()]);
    let k1 = Keys::from_parts(parts("shared", "ETH", DESTS[0]));
    // Another id, one key in common (the account).
    let k2 = Keys::from_parts(parts("shared", "USDC", DESTS[2]));
    let held = a.exclusive("x1", &k1).unwrap();
    let started = Instant::now();
    let busy = b.exclusive("x2", &k2);
    assert!(
        matches!(busy, Err(VelocityError::Unavailable(_))),
        "{busy:?}"
    );
    assert!(started.elapsed() < BOUNDED);
    // The same id from another node, with disjoint keys: also excluded.
    let k3 = Keys::from_parts(parts("elsewhere", "BTC", DESTS[1]));
    assert!(b.exclusive("x1", &k3).is_err());
    a.unlock("x1", &k1, held);
    let got = b.exclusive("x2", &k2).expect("free after unlock");
    b.unlock("x2", &k2, got);

    // A's locks expire mid-decision; B takes the keys: A's commit is refused.
    let stale = slow.exclusive("x3", &k1).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let fresh = b.exclusive("x4", &k2).expect("expired locks are free");
    let d = Decision {
        id: "x3".into(),
        verdict: Verdict::Allow,
        reasons: Vec::new(),
        hits: Vec::new(),
        latency_ns: 0,
        replayed: false,
        review: None,
    };
    let refused = slow.commit(
        &Commit {
            id: "x3",
            keys: &k1,
            fingerprint: [1; 32],
            requested_at: T0,
            decision: &d,
            allowed: Some((1, 1)),
            counted_at: None,
        },
        stale,
    );
    assert!(
        matches!(refused, Err(VelocityError::Unavailable(_))),
        "{refused:?}"
    );
    assert_eq!(a.recorded("x3").unwrap(), None);
    assert_eq!(a.key_stats(k1.get(Scope::Account)).unwrap().events, 0);
    // B's lock survived A's refused commit.
    assert!(a.exclusive("x5", &k1).is_err());
    b.unlock("x4", &k2, fresh);
    commit(
        &*a,
        "x5",
        parts("shared", "ETH", DESTS[0]),
        T0,
        Some((1, 1)),
    )
    .unwrap();
    assert_eq!(b.key_stats(k1.get(Scope::Account)).unwrap().events, 1);
    // Commit without exclusivity is refused.
    let no_lock = a.commit(
        &Commit {
            id: "x6",
            keys: &k1,
            fingerprint: [1; 32],
            requested_at: T0,
            decision: &d,
            allowed: Some((1, 1)),
            counted_at: None,
        },
        Default::default(),
    );
    assert!(no_lock.is_err());
}

/// Every decision held with `gate.velocity_unavailable`, each returned.
fn assert_all_held(g: &Gate, tag: &str, n: usize) {
    for i in 0..n {
        let started = Instant::now();
        let d = g.evaluate(&withdrawal(
            &format!("{tag}-{i}"),
            "acct",
            "ethereum",
            DESTS[0],
            1,
            T0 + i as u64,
        ));
        assert!(
            started.elapsed() < BOUNDED,
            "{tag}: took {:?}",
            started.elapsed()
        );
        assert_eq!(d.verdict, Verdict::Hold, "{tag}: {d:?}");
        assert!(
            codes(&d).contains(&"gate.velocity_unavailable"),
            "{tag}: {d:?}"
        );
    }
}

#[test]
fn unreachable_redis_holds_within_a_bounded_time() {
    // Nothing listens on the port.
    let port = free_port();
    let store =
        Arc::new(RedisStore::open(&format!("redis://127.0.0.1:{port}?timeout_ms=200")).unwrap());
    assert!(store.ping().is_err());
    let g = gate_on(store.clone(), LIMITS);
    assert_all_held(&g, "closed", 10);
    assert!(matches!(
        g.velocity().release("x"),
        Err(VelocityError::Unavailable(_))
    ));
    // A host that drops packets: the connect timeout bounds it.
    let store = Arc::new(RedisStore::open("redis://192.0.2.1:6379?timeout_ms=200").unwrap());
    assert_all_held(&gate_on(store, LIMITS), "blackhole", 2);
}

#[test]
fn a_killed_or_hung_server_holds_and_a_restarted_one_serves_again() {
    let Some(mut server) = Server::spawn() else {
        return;
    };
    let port = server.port;
    let store = Arc::new(
        RedisStore::open(&format!(
            "{}?timeout_ms=300&prefix={}",
            server.url(),
            prefix("kill")
        ))
        .unwrap(),
    );
    let g = gate_on(store.clone(), LIMITS);
    let allow =
        |id: &str, at: u64| g.evaluate(&withdrawal(id, "acct2", "ethereum", DESTS[1], 1, at));
    assert_eq!(allow("up-1", T0).verdict, Verdict::Allow);

    // Hung (SIGSTOP): connections stay open but nothing answers.
    server.signal("-STOP");
    assert_all_held(&g, "hung", 3);
    server.signal("-CONT");

    // Killed mid-run: pooled connections break, new ones are refused.
    server.kill();
    assert_all_held(&g, "killed", 5);

    // Restarted (empty: no persistence): served again after reconnecting.
    let _restarted = Server::on(port).expect("restarts on the same port");
    let started = Instant::now();
    let mut i = 0;
    loop {
        i += 1;
        let d = allow(&format!("back-{i}"), T0 + i);
        if d.verdict == Verdict::Allow {
            break;
        }
        assert!(codes(&d).contains(&"gate.velocity_unavailable"), "{d:?}");
        assert!(started.elapsed() < BOUNDED, "never recovered: {d:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn redis_url_options_are_parsed_and_credentials_hidden() {
    let s = RedisStore::open(
        "redis://user:secret@127.0.0.1:6390/2?prefix=p1:&timeout_ms=123&lock_ttl_ms=4000&lock_wait_ms=50&pool=3&retention_ms=7200000",
    )
    .unwrap();
    let o = s.options();
    assert_eq!(o.prefix, "p1:");
    assert_eq!(o.timeout, Duration::from_millis(123));
    assert_eq!(o.lock_ttl, Duration::from_millis(4000));
    assert_eq!(o.lock_wait, Duration::from_millis(50));
    assert_eq!(o.pool, 3);
    assert_eq!(s.retention_ms(), 7_200_000);
    let shown = s.describe();
    assert!(!shown.contains("secret"), "{shown}");
    assert!(shown.contains("127.0.0.1:6390/2"), "{shown}");
    assert!(RedisStore::open("redis://127.0.0.1?timeout_ms=soon").is_err());
    assert!(RedisStore::open("redis://127.0.0.1?retention_ms=0").is_err());
    assert!(RedisStore::open("not a url").is_err());
}

/// An approved hold counts from its approval on Redis too, as on the
/// memory store, and its recorded contribution says so.
#[test]
fn an_approval_on_redis_counts_from_its_time() {
    let Some((url, _server)) = redis() else {
        return;
    };
    let redis = open(&url, "approval", "");
    let _cleanup = Cleanup(vec![redis.clone()]);
    let memory: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let config = r#"{"rules":[{"name":"count_1h","scope":"account","window":"1h","max_count":1}],
        "new_destination_hours":0,"credential_change_hours":0}"#;
    let approved_at = T0 + 2 * HOUR;
    let mut seen = Vec::new();
    for store in [redis.clone() as Arc<dyn Store>, memory] {
        let g = gate_on(store.clone(), config);
        let w = |id: &str, at| withdrawal(id, "acct-ap", "ethereum", DESTS[0], 7, at);
        assert_eq!(g.evaluate(&w("ap-1", T0)).verdict, Verdict::Allow);
        let held = g.evaluate(&w("ap-2", T0 + 1));
        assert_eq!(codes(&held), ["velocity.count_1h"]);
        let r = g
            .resolve_at(
                "ap-2",
                &riskgate::Resolution::approve("alice", ""),
                approved_at,
            )
            .unwrap();
        assert_eq!(r.hold.state, riskgate::model::HoldState::Approved);
        let key = Keys::from_parts(parts("acct-ap", "ETH", DESTS[0]));
        let count = |t, w| {
            store
                .window(key.get(Scope::Account), "ETH", t, w)
                .unwrap()
                .count
        };
        // The ALLOW at T0 and the approval at T0 + 2 h, an hour apart.
        let counts = [
            count(T0 + HOUR, HOUR),
            count(approved_at, HOUR),
            count(approved_at + HOUR - 1, HOUR),
            count(approved_at + HOUR, HOUR),
        ];
        assert_eq!(counts, [1, 1, 1, 0], "{}", store.describe());
        let c = store.recorded("ap-2").unwrap().unwrap().contribution;
        assert_eq!(c.map(|c| c.ts), Some(approved_at), "{}", store.describe());
        seen.push(counts);
        assert!(g.velocity().release("ap-2").unwrap().had_contribution);
        assert_eq!(count(approved_at, HOUR), 0);
    }
    assert_eq!(seen[0], seen[1]);
}
