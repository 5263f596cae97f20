//! `riskgate holds` end to end: holds made by `riskgate serve` (the bundled
//! velocity policy with a low USD limit), listed, approved and rejected
//! through the CLI over HTTP, and on the store directly once serve is
//! stopped; four eyes; the same on Redis; and kill -9 between the approval
//! and its answer, deterministic (the serve test hook) and at random
//! moments with many approvals in flight: a hold is approved exactly when
//! its contribution is in its account's windows.

use crate::support::{BIN, CLEAN, Server, account_stats};

use riskgate_serve::decision_log;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ADMIN: &str = "holds-admin-token";
const REVIEWERS: [&str; 3] = ["alice", "bob", "carol"];
/// A withdrawal over the account's $10.00 an hour: held.
const BIG: u64 = 2_000;
/// One under it: allowed unless $9.00 or more is already counted.
const SMALL: u64 = 100;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The AOT cache shared by these tests (the velocity policy compiles once).
fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("holds-aot-cache")
}

fn token_of(reviewer: &str) -> String {
    format!("{reviewer}-review-token-0123456789")
}

/// A state directory with a serve config: the velocity policy alone, one
/// rule ($10.00 per account and hour; no new-destination or credential
/// holds), three reviewers with token files, the decision log, `review`
/// as the `[review]` table.
struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Setup {
    fn new(velocity: &str, review: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let mut text = format!(
            "velocity = \"{velocity}\"\ncache_dir = \"{}\"\n\
             [limits]\ndeadline_us = 250000\n\
             [admin]\ntoken = \"{ADMIN}\"\n\
             [decision_log]\ndir = \"log\"\ndurable = true\n",
            cache_dir().display()
        );
        for r in REVIEWERS {
            let file = dir.path().join(format!("{r}.token"));
            std::fs::write(&file, format!("{}\n", token_of(r))).unwrap();
            text.push_str(&format!(
                "[[reviewer]]\nname = \"{r}\"\ntoken_file = \"{r}.token\"\n"
            ));
        }
        text.push_str(
            "[[policy]]\nbundled = \"velocity\"\n[policy.config]\n\
             rules = [{ scope = \"account\", window = \"1h\", max_usd_cents = 1000 }]\n\
             new_destination_hours = 0\ncredential_change_hours = 0\n",
        );
        if !review.is_empty() {
            text.push_str(&format!("[review]\n{review}\n"));
        }
        let config = dir.path().join("riskgate.toml");
        std::fs::write(&config, text).unwrap();
        Setup { dir, config }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn token_file(&self, reviewer: &str) -> PathBuf {
        self.path(&format!("{reviewer}.token"))
    }

    fn serve(&self) -> Server {
        self.serve_env(&[])
    }

    fn serve_env(&self, env: &[(&str, &str)]) -> Server {
        Server::spawn_env(&["--config".into(), self.config.display().to_string()], env)
            .unwrap_or_else(|(code, err)| panic!("serve exited {code}: {err}"))
    }
}

/// A withdrawal of `usd_cents` from `account`, requested now.
fn withdrawal(id: &str, account: &str, usd_cents: u64) -> Value {
    let now = now_ms();
    json!({
        "id": id, "account": account, "asset": "ETH", "chain": "ethereum",
        "destination": CLEAN, "amount": (usd_cents * 1000).to_string(), "decimals": 18,
        "usd_cents": usd_cents, "requested_at": now,
        "destination_first_used_at": now - 30 * 86_400_000,
    })
}

/// Evaluates one withdrawal; its decision.
fn decide(server: &Server, w: &Value) -> Value {
    let r = server.evaluate(w);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// Holds a withdrawal of $20.00 from `account`, checking it was held on
/// the USD rule.
fn hold(server: &Server, id: &str, account: &str) -> Value {
    let d = decide(server, &withdrawal(id, account, BIG));
    assert_eq!(d["verdict"], "hold", "{d}");
    assert_eq!(d["reasons"][0]["code"], "velocity.usd_1h", "{d}");
    d
}

/// A command's exit status, stdout and stderr.
struct Run {
    code: i32,
    out: String,
    err: String,
}

impl Run {
    fn ok(self) -> Run {
        assert_eq!(self.code, 0, "stdout: {}\nstderr: {}", self.out, self.err);
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(self.out.trim()).unwrap_or_else(|e| panic!("{e}: {}", self.out))
    }
}

/// `riskgate holds ARGS`.
fn holds(args: &[&str]) -> Run {
    let out = Command::new(BIN)
        .arg("holds")
        .args(args)
        .env_remove("RISKGATE_TOKEN")
        .env_remove("RISKGATE_VELOCITY")
        .env_remove("RISKGATE_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("riskgate holds runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `riskgate holds ARGS --url SERVER --token-file REVIEWER's`.
fn remote(server: &Server, setup: &Setup, reviewer: &str, args: &[&str]) -> Run {
    let url = format!("http://{}", server.addr);
    let token = setup.token_file(reviewer);
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--url", &url, "--token-file", token.to_str().unwrap()]);
    holds(&all)
}

/// `GET /v1/holds/{id}` with the admin token.
fn get_hold(server: &Server, id: &str) -> Value {
    let auth = format!("Bearer {ADMIN}");
    let r = server.request(
        "GET",
        &format!("/v1/holds/{id}"),
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// The account's one-hour window beside a hold: (count, usd_cents).
fn hour(hold: &Value) -> (u64, u64) {
    let w = hold["windows"]
        .as_array()
        .and_then(|ws| ws.iter().find(|w| w["window_ms"] == 3_600_000))
        .unwrap_or_else(|| panic!("no 1h window: {hold}"));
    (
        w["count"].as_u64().unwrap(),
        w["usd_cents"].as_u64().unwrap(),
    )
}

fn ids(list: &Value) -> Vec<String> {
    list["holds"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect()
}

/// The resolution records of the decision log in `dir`.
fn resolutions(dir: &Path) -> Vec<Value> {
    let (records, _) = decision_log::read_all(dir).unwrap();
    records
        .into_iter()
        .filter(|r| r["event"] == "resolution")
        .collect()
}

/// The review flow through serve on `velocity`: an approval counts (the
/// account's next small withdrawal is held on the sum), a rejection never
/// does (the next one is allowed), the same approval again changes
/// nothing, a conflicting or unauthorised action exits 1 with the
/// server's problem.
fn flow(setup: &Setup, server: &Server, tag: &str) {
    let (a, b) = (format!("{tag}-acct-a"), format!("{tag}-acct-b"));
    let (big_a, big_b) = (format!("{tag}-big-a"), format!("{tag}-big-b"));
    hold(server, &big_a, &a);
    hold(server, &big_b, &b);

    // Listed, as a table and as JSON.
    let table = remote(server, setup, "alice", &["list"]).ok().out;
    assert!(table.starts_with("ID "), "{table}");
    for (id, account) in [(&big_a, &a), (&big_b, &b)] {
        let row = table
            .lines()
            .find(|l| l.starts_with(id.as_str()))
            .unwrap_or_else(|| panic!("{id} not listed: {table}"));
        for cell in [
            "pending",
            account.as_str(),
            "ETH",
            "$20.00",
            "velocity.usd_1h",
            "0/1",
        ] {
            assert!(row.contains(cell), "{cell} not in {row}");
        }
    }
    let listed = remote(
        server,
        setup,
        "bob",
        &["list", "--json", "--reason", "velocity."],
    )
    .ok()
    .json();
    assert!(
        ids(&listed).contains(&big_a) && ids(&listed).contains(&big_b),
        "{listed}"
    );
    let none = remote(
        server,
        setup,
        "bob",
        &["list", "--json", "--reason", "screening."],
    )
    .ok()
    .json();
    assert_eq!(ids(&none), Vec::<String>::new());

    // Approved: counted at once.
    let approved = remote(
        server,
        setup,
        "alice",
        &["approve", &big_a, "--note", "known customer", "--json"],
    )
    .ok()
    .json();
    assert_eq!(approved["state"], "approved", "{approved}");
    assert_eq!(approved["changed"], true);
    assert_eq!(
        approved["decision"]["review"]["entries"][0]["reviewer"],
        "alice"
    );
    assert_eq!(
        approved["decision"]["review"]["entries"][0]["note"],
        "known customer"
    );
    assert!(
        approved["decision"]["review"]["counted_at"].is_u64(),
        "{approved}"
    );
    assert_eq!(hour(&approved), (1, BIG));
    // The account's next withdrawal sees it: $1.00 on top of $20.00.
    let next = decide(server, &withdrawal(&format!("{tag}-small-a"), &a, SMALL));
    assert_eq!(next["verdict"], "hold", "{next}");
    assert!(
        next["reasons"][0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("$21.00 per account in 1h"),
        "{next}"
    );

    // Rejected: never counted; the account's next small one is allowed.
    let rejected = remote(server, setup, "bob", &["reject", &big_b, "--note", "fraud"]).ok();
    assert!(
        rejected.out.starts_with(&format!("{big_b}: rejected")),
        "{}",
        rejected.out
    );
    assert!(
        rejected.out.contains("reject by bob \"fraud\""),
        "{}",
        rejected.out
    );
    let next = decide(server, &withdrawal(&format!("{tag}-small-b"), &b, SMALL));
    assert_eq!(next["verdict"], "allow", "{next}");
    let shown = remote(server, setup, "carol", &["show", &big_b, "--json"])
        .ok()
        .json();
    assert_eq!(shown["state"], "rejected");
    assert!(
        shown["decision"]["review"].get("counted_at").is_none(),
        "{shown}"
    );
    assert_eq!(hour(&shown), (1, SMALL));
    let text = remote(server, setup, "carol", &["show", &big_b]).ok().out;
    for line in [
        "hold        ",
        "state       rejected (0 of 1 approvals)",
        "windows     account 1h: 1 withdrawals, $1.00",
    ] {
        assert!(text.contains(line), "{line:?} not in\n{text}");
    }

    // The same approval again: unchanged, still counted once.
    let again = remote(server, setup, "alice", &["approve", &big_a, "--json"])
        .ok()
        .json();
    assert_eq!(again["changed"], false, "{again}");
    assert_eq!(hour(&again), (1, BIG));
    // A conflict, an unknown id, a wrong token: exit 1 with the problem.
    let conflict = remote(server, setup, "bob", &["reject", &big_a]);
    assert_eq!(conflict.code, 1, "{}", conflict.err);
    assert!(conflict.err.contains("409 Conflict"), "{}", conflict.err);
    let unknown = remote(server, setup, "bob", &["show", "no-such-hold"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.err.contains("404"), "{}", unknown.err);
    let url = format!("http://{}", server.addr);
    let wrong = setup.path("wrong.token");
    std::fs::write(&wrong, "not-a-token").unwrap();
    let denied = holds(&[
        "list",
        "--url",
        &url,
        "--token-file",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(denied.code, 1);
    assert!(denied.err.contains("401"), "{}", denied.err);
    let anonymous = holds(&["list", "--url", &url]);
    assert_eq!(anonymous.code, 1);
    assert!(anonymous.err.contains("--token-file"), "{}", anonymous.err);

    // By state.
    let approved = remote(
        server,
        setup,
        "bob",
        &["list", "--state", "approved", "--json"],
    )
    .ok()
    .json();
    assert!(ids(&approved).contains(&big_a), "{approved}");
    assert!(!ids(&approved).contains(&big_b), "{approved}");
    let all = remote(server, setup, "bob", &["list", "--state", "all", "--json"])
        .ok()
        .json();
    for id in [&big_a, &big_b, &format!("{tag}-small-a")] {
        assert!(ids(&all).contains(id), "{id}: {all}");
    }
}

#[test]
fn holds_are_approved_and_rejected_through_serve_and_on_the_stopped_store() {
    let setup = Setup::new("velocity", "");
    let server = setup.serve();
    flow(&setup, &server, "d");

    // The store is serve's while it runs: the local command says so.
    let store = setup.path("velocity");
    let store = store.to_str().unwrap();
    let locked = holds(&["list", "--velocity", store]);
    assert_eq!(locked.code, 2, "{}", locked.err);
    assert!(
        locked.err.contains("in use by another process") && locked.err.contains("--url"),
        "{}",
        locked.err
    );
    drop(server);

    // Stopped: the store directly, the operator named.
    let pending = holds(&["list", "--velocity", store, "--json"]).ok().json();
    assert_eq!(ids(&pending), ["d-small-a"]);
    let nameless = holds(&["approve", "d-small-a", "--velocity", store]);
    assert_eq!(nameless.code, 2);
    assert!(nameless.err.contains("--reviewer"), "{}", nameless.err);
    let local_log = setup.path("local-log");
    let approved = holds(&[
        "approve",
        "d-small-a",
        "--velocity",
        store,
        "--reviewer",
        "ops@example",
        "--note",
        "after hours",
        "--decision-log",
        local_log.to_str().unwrap(),
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(approved["state"], "approved", "{approved}");
    assert_eq!(hour(&approved), (2, BIG + SMALL));
    let records = resolutions(&local_log);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["id"], "d-small-a");
    assert_eq!(records[0]["reviewer"], "ops@example");
    assert_eq!(records[0]["counted"]["usd_cents"], SMALL);
    // Again: unchanged, nothing more logged; a rejection conflicts.
    let again = holds(&[
        "approve",
        "d-small-a",
        "--velocity",
        store,
        "--reviewer",
        "ops@example",
        "--decision-log",
        local_log.to_str().unwrap(),
    ])
    .ok();
    assert!(again.out.contains("unchanged"), "{}", again.out);
    assert_eq!(resolutions(&local_log).len(), 1);
    let conflict = holds(&[
        "reject",
        "d-small-a",
        "--velocity",
        store,
        "--reviewer",
        "x",
    ]);
    assert_eq!(conflict.code, 1, "{}", conflict.err);
    // With serve's config: its store, and its decision log.
    let config = setup.config.to_str().unwrap();
    let all = holds(&["list", "--config", config, "--state", "all"])
        .ok()
        .out;
    assert_eq!(all.lines().count(), 4, "{all}");

    // Restarted, serve sees what was done on the store.
    let server = setup.serve();
    let seen = get_hold(&server, "d-small-a");
    assert_eq!(seen["state"], "approved", "{seen}");
    assert_eq!(hour(&seen), (2, BIG + SMALL));
    drop(server);
    // Serve logged its own actions.
    let logged = resolutions(&setup.path("log"));
    let actions: Vec<(String, String)> = logged
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().into(),
                r["action"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("d-big-a".into(), "approve".into()),
            ("d-big-b".into(), "reject".into())
        ]
    );
}

#[test]
fn four_eyes_needs_two_distinct_reviewers_and_counts_once() {
    let setup = Setup::new("velocity", "approvals_required = { \"velocity.\" = 2 }");
    let server = setup.serve();
    hold(&server, "f-big", "f-acct");
    let listed = remote(&server, &setup, "alice", &["list"]).ok().out;
    assert!(listed.contains("0/2"), "{listed}");

    // One approval: still pending, nothing counted.
    let first = remote(&server, &setup, "alice", &["approve", "f-big", "--json"])
        .ok()
        .json();
    assert_eq!(first["state"], "pending", "{first}");
    assert_eq!(first["changed"], true);
    assert_eq!(hour(&first), (0, 0));
    let text = remote(&server, &setup, "alice", &["approve", "f-big"])
        .ok()
        .out;
    assert!(text.contains("unchanged"), "{text}");
    let twice = get_hold(&server, "f-big");
    assert_eq!(twice["state"], "pending");
    assert_eq!(hour(&twice), (0, 0));
    // The account's small withdrawal is allowed: the big one is not counted.
    let small = decide(&server, &withdrawal("f-small", "f-acct", SMALL));
    assert_eq!(small["verdict"], "allow", "{small}");

    // A second reviewer: approved and counted, once.
    let second = remote(&server, &setup, "bob", &["approve", "f-big", "--json"])
        .ok()
        .json();
    assert_eq!(second["state"], "approved", "{second}");
    assert_eq!(hour(&second), (2, BIG + SMALL));
    let approvers: Vec<&str> = second["decision"]["review"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reviewer"].as_str().unwrap())
        .collect();
    assert_eq!(approvers, ["alice", "bob"]);
    let third = remote(&server, &setup, "carol", &["approve", "f-big", "--json"])
        .ok()
        .json();
    assert_eq!(third["changed"], false);
    assert_eq!(hour(&third), (2, BIG + SMALL));

    // On the stopped store: the recorded requirement stands without the
    // config, and the config's applies with it.
    hold(&server, "f-big-2", "f-acct-2");
    hold(&server, "f-big-3", "f-acct-3");
    drop(server);
    let store = setup.path("velocity");
    let store = store.to_str().unwrap();
    let one = holds(&[
        "approve",
        "f-big-2",
        "--velocity",
        store,
        "--reviewer",
        "dave",
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(one["state"], "pending", "{one}");
    assert_eq!(hour(&one), (0, 0));
    let two = holds(&[
        "approve",
        "f-big-2",
        "--velocity",
        store,
        "--reviewer",
        "erin",
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(two["state"], "approved", "{two}");
    assert_eq!(hour(&two), (1, BIG));
    let config = setup.config.to_str().unwrap();
    let one = holds(&[
        "approve",
        "f-big-3",
        "--config",
        config,
        "--reviewer",
        "dave",
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(one["state"], "pending", "{one}");
    let two = holds(&[
        "approve",
        "f-big-3",
        "--config",
        config,
        "--reviewer",
        "erin",
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(two["state"], "approved", "{two}");
    // The config's decision log took both.
    let logged: Vec<Value> = resolutions(&setup.path("log"))
        .into_iter()
        .filter(|r| r["id"] == "f-big-3")
        .collect();
    assert_eq!(logged.len(), 2, "{logged:?}");
    assert_eq!(logged[1]["approvals"], 2);
    assert_eq!(logged[1]["counted"]["usd_cents"], BIG);
}

// ------------------------------------------------------------------ Redis

fn redis_url() -> Option<(String, Option<RedisServer>)> {
    if let Ok(url) = std::env::var("RISKGATE_TEST_REDIS")
        && !url.is_empty()
    {
        return Some((url, None));
    }
    let installed = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        eprintln!(
            "skipping the Redis holds flow: set RISKGATE_TEST_REDIS=redis://… or install redis-server"
        );
        return None;
    }
    let server = RedisServer::start();
    Some((format!("redis://127.0.0.1:{}", server.port), Some(server)))
}

/// A `redis-server` on a free loopback port, killed on drop.
struct RedisServer {
    child: std::process::Child,
    port: u16,
}

impl RedisServer {
    fn start() -> RedisServer {
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server starts");
            let mut server = RedisServer { child, port };
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                    let mut buf = [0u8; 7];
                    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                    if s.write_all(b"PING\r\n").is_ok()
                        && s.read_exact(&mut buf).is_ok()
                        && &buf == b"+PONG\r\n"
                    {
                        return server;
                    }
                }
                if server.child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = server.child.kill();
            let _ = server.child.wait();
        }
        panic!("redis-server did not start");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn holds_are_approved_and_rejected_through_serve_on_redis() {
    let Some((url, _guard)) = redis_url() else {
        return;
    };
    // A prefix of this run's own: a shared server keeps other runs' keys.
    let prefix = format!("rgholds{}x{}:", std::process::id(), now_ms());
    let sep = if url.contains('?') { '&' } else { '?' };
    let velocity = format!("{url}{sep}prefix={prefix}");
    let setup = Setup::new(&velocity, "");
    let server = setup.serve();
    flow(&setup, &server, "r");
    drop(server);
    // Redis has no directory lock: the local command works beside serve.
    let server = setup.serve();
    let pending = holds(&["list", "--velocity", &velocity, "--json"])
        .ok()
        .json();
    assert_eq!(ids(&pending), ["r-small-a"]);
    let approved = holds(&[
        "approve",
        "r-small-a",
        "--velocity",
        &velocity,
        "--reviewer",
        "ops",
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(hour(&approved), (2, BIG + SMALL));
    assert_eq!(get_hold(&server, "r-small-a")["state"], "approved");
}

// --------------------------------------------------------------- kill -9

/// The test hook aborts serve right after the store recorded the approval
/// and before the answer: after a restart the hold is approved and counted
/// (the one record holds both), and approving it again changes nothing.
#[test]
fn an_abort_between_the_approval_and_its_answer_keeps_approval_and_count_together() {
    let setup = Setup::new("velocity", "");
    let mut server = setup.serve_env(&[("RISKGATE_FAULT_AFTER_RESOLVE", "abort")]);
    hold(&server, "k-big", "k-acct");
    hold(&server, "k-big-2", "k-acct-2");
    let cut = remote(&server, &setup, "alice", &["approve", "k-big"]);
    assert_eq!(cut.code, 1, "the approval was answered: {}", cut.out);
    let status = server.child.wait().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGABRT), "{status:?}");
    }
    assert!(!status.success());

    let server = setup.serve();
    let seen = get_hold(&server, "k-big");
    assert_eq!(seen["state"], "approved", "{seen}");
    assert!(seen["decision"]["review"]["counted_at"].is_u64(), "{seen}");
    assert_eq!(hour(&seen), (1, BIG));
    let next = decide(&server, &withdrawal("k-small", "k-acct", SMALL));
    assert_eq!(next["verdict"], "hold", "{next}");
    // The reviewer retries: unchanged, counted once.
    let retry = remote(&server, &setup, "alice", &["approve", "k-big", "--json"])
        .ok()
        .json();
    assert_eq!(retry["changed"], false, "{retry}");
    assert_eq!(hour(&retry), (1, BIG));
    // The other hold was never touched.
    let other = get_hold(&server, "k-big-2");
    assert_eq!(other["state"], "pending");
    assert_eq!(hour(&other), (0, 0));
}

/// splitmix64: deterministic kill moments and actions.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Many approvals and rejections in flight, serve SIGKILLed at a random
/// moment, restarted on the same store, several rounds: every hold is
/// approved exactly when its account counts it (one hold per account),
/// every acknowledged action stands, and nothing is counted twice.
#[test]
fn sigkill_with_approvals_in_flight_never_separates_approval_and_count() {
    const HOLDS: usize = 48;
    const ROUNDS: u64 = 4;
    const THREADS: usize = 4;
    let setup = Setup::new("velocity", "approvals_required = { \"velocity.\" = 2 }");
    let seed = std::env::var("RISKGATE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(now_ms);
    eprintln!("seed {seed} (RISKGATE_TEST_SEED to repeat)");
    let id = |i: usize| format!("x-{i}");
    let mut server = setup.serve();
    // What some answer acknowledged: (hold, reviewer, action).
    let acked: Mutex<Vec<(usize, &str, &str)>> = Mutex::new(Vec::new());
    let mut cut = 0;
    for round in 0..ROUNDS {
        // Fresh holds each round (one per account), so the kill lands
        // among actions that change them.
        let first = round as usize * HOLDS;
        for i in first..first + HOLDS {
            hold(&server, &id(i), &format!("x-acct-{i}"));
        }
        let r = mix(seed ^ round);
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let failed = AtomicUsize::new(0);
        let pid = server.child.id() as libc::pid_t;
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (server, next, stop, acked, failed) = (&server, &next, &stop, &acked, &failed);
                s.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let n = next.fetch_add(1, Ordering::Relaxed) as u64;
                        let i = first + (mix(r ^ n) % HOLDS as u64) as usize;
                        // Mostly approvals by two reviewers, some rejections.
                        let (reviewer, action) = match mix(r ^ (n << 8)) % 10 {
                            0 => ("carol", "reject"),
                            1..=5 => ("alice", "approve"),
                            _ => ("bob", "approve"),
                        };
                        let auth = format!("Bearer {}", token_of(reviewer));
                        match server.try_request(
                            "POST",
                            &format!("/v1/holds/{}/{action}", id(i)),
                            &[
                                ("Authorization", &auth),
                                ("Content-Type", "application/json"),
                            ],
                            format!("{{\"note\":\"round {round} thread {t}\"}}").as_bytes(),
                        ) {
                            Ok(resp) if resp.status == 200 => {
                                acked.lock().unwrap().push((i, reviewer, action))
                            }
                            // Approving a rejected hold, or the reverse.
                            Ok(resp) if resp.status == 409 => {}
                            Ok(resp) => panic!("{action} {}: {} {}", id(i), resp.status, resp.body),
                            // Killed under it.
                            Err(_) => {
                                failed.fetch_add(1, Ordering::Relaxed);
                                return;
                            }
                        }
                    }
                });
            }
            // Kill somewhere between 5 and 150 ms into the round (the
            // first round at least 50 ms in, so some holds settle).
            let from = if round == 0 { 50 } else { 5 };
            std::thread::sleep(Duration::from_millis(from + (r >> 16) % (150 - from)));
            // SAFETY: our own child, by its id.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            stop.store(true, Ordering::Relaxed);
        });
        let _ = server.child.wait();
        cut += failed.into_inner();
        server = setup.serve();
        check_counted(&server, first + HOLDS, &acked.lock().unwrap(), &id);
    }
    assert!(cut > 0, "no kill cut a request");
    let acked = acked.into_inner().unwrap();
    let total = ROUNDS as usize * HOLDS;
    let settled = (0..total)
        .filter(|&i| get_hold(&server, &id(i))["state"] != "pending")
        .count();
    assert!(
        acked.len() >= HOLDS / 2,
        "too few actions answered: {}",
        acked.len()
    );
    assert!(settled > 0, "no hold settled");
    drop(server);

    // The store itself, read by another command: each account counts its
    // hold exactly when it is approved.
    let store = setup.path("velocity");
    let listed = holds(&[
        "list",
        "--velocity",
        store.to_str().unwrap(),
        "--state",
        "approved",
        "--limit",
        "1000",
        "--json",
    ])
    .ok()
    .json();
    let approved = ids(&listed);
    for i in 0..total {
        let v = account_stats(&store, &format!("x-acct-{i}"));
        let events = v["stats"]["events"].as_u64().unwrap();
        assert_eq!(
            events,
            u64::from(approved.contains(&id(i))),
            "x-acct-{i}: {v}"
        );
    }
    eprintln!(
        "{ROUNDS} kills ({cut} requests cut), {} actions answered, {} of {total} holds approved",
        acked.len(),
        approved.len()
    );
}

/// After a restart: each hold approved ⇔ counted (its account's hour is
/// exactly its $20.00, else nothing), approved ⇒ two distinct approvers
/// recorded, and every acknowledged action stands.
fn check_counted(
    server: &Server,
    holds: usize,
    acked: &[(usize, &str, &str)],
    id: &dyn Fn(usize) -> String,
) {
    for i in 0..holds {
        let h = get_hold(server, &id(i));
        let state = h["state"].as_str().unwrap();
        let review = &h["decision"]["review"];
        let counted = hour(&h);
        match state {
            "approved" => {
                assert_eq!(counted, (1, BIG), "{h}");
                assert!(review["counted_at"].is_u64(), "{h}");
                let mut approvers: Vec<&str> = review["entries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|e| e["action"] == "approve")
                    .map(|e| e["reviewer"].as_str().unwrap())
                    .collect();
                approvers.dedup();
                assert!(approvers.len() >= 2, "{h}");
            }
            _ => {
                assert_eq!(counted, (0, 0), "{h}");
                assert!(review.get("counted_at").is_none(), "{h}");
            }
        }
        for &(_, reviewer, action) in acked.iter().filter(|a| a.0 == i) {
            let recorded = review["entries"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["reviewer"] == reviewer && e["action"] == action);
            assert!(
                recorded,
                "{action} by {reviewer} was answered but is lost: {h}"
            );
        }
    }
}
