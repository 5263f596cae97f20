//! The holds routes on a real listener: listing, reading, four-eyes
//! approval, rejection, the reviewers' tokens, bad input, the decision
//! log's resolution records, a log that cannot be written, expiry, the
//! metrics and the review page.

use super::*;
use crate::config::Config;
use crate::decision_log::{self, DecisionLog, LogOptions, Sink};
use riskgate::velocity::Velocity;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const CLEAN: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const LAZARUS: &str = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";
const ADMIN: &str = "admin-token-0123";
const ALICE: &str = "alice-token-4567";
const BOB: &str = "bob-token-89ab";
const CAROL: &str = "carol-token-cdef";

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// One account may withdraw once a day; a second is HOLD
/// `velocity.count_24h`, which needs two approvals.
fn config_text(extra: &str) -> String {
    format!(
        "velocity = \"memory\"\n\
         [limits]\ndeadline_us = 250000\nmax_clock_skew_ms = 0\n\
         [admin]\ntoken = \"{ADMIN}\"\n\
         [decision_log]\ndir = \"log\"\n\
         [[reviewer]]\nname = \"alice\"\ntoken_file = \"alice.token\"\n\
         [[reviewer]]\nname = \"bob\"\ntoken_file = \"bob.token\"\n\
         [[policy]]\nbundled = \"sanctions\"\n\
         [[policy]]\nbundled = \"velocity\"\n\
         config = {{ rules = [{{ scope = \"account\", window = \"24h\", max_count = 1 }}] }}\n\
         {extra}"
    )
}

const FOUR_EYES: &str = "[review]\napprovals_required = { \"velocity.count\" = 2 }\n";

/// A service on a loopback port, its own runtime, `run` with its expiry
/// task.
struct Harness {
    addr: String,
    service: Arc<Service>,
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Harness {
    fn start(extra: &str) -> Harness {
        Harness::start_with(extra, true)
    }

    /// `inline: false` says the store blocks (a velocity directory, though
    /// the store is in memory): every action runs on the blocking pool.
    fn start_with(extra: &str, inline: bool) -> Harness {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_path_buf();
        for (name, token) in [("alice", ALICE), ("bob", BOB), ("carol", CAROL)] {
            std::fs::write(dir.join(format!("{name}.token")), format!("{token}\n")).unwrap();
        }
        let path = dir.join("riskgate.toml");
        let mut text = config_text(extra);
        if !inline {
            text = text.replace("velocity = \"memory\"", "velocity = \"state\"");
        }
        std::fs::write(&path, text).unwrap();
        let config = Config::from_file(&path).unwrap();
        assert_eq!(config.velocity.as_deref() == Some("memory"), inline);
        let log = DecisionLog::open(&LogOptions::new(dir.join("log"))).unwrap();
        let mut h = Harness::serve(config, Some(path), Some(log));
        h._temp = Some(temp);
        h.dir = dir;
        h
    }

    fn serve(config: Config, path: Option<PathBuf>, log: Option<DecisionLog>) -> Harness {
        let velocity = Arc::new(Velocity::default());
        let built = config.build(velocity.clone()).unwrap();
        let server = config.server.clone();
        let service = Arc::new(Service::new(config, path, built, velocity, log).unwrap());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        runtime.spawn(crate::run(listener, service.clone(), server, async {
            let _ = stopped.await;
        }));
        Harness {
            addr,
            service,
            dir: PathBuf::new(),
            _temp: None,
            stop: Some(stop),
            runtime: Some(runtime),
        }
    }

    /// One request: status, headers (lowercase names), body.
    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&[u8]>,
    ) -> (u16, Vec<(String, String)>, String) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let body = body.unwrap_or_default();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if !body.is_empty() {
            head.push_str("Content-Type: application/json\r\n");
        }
        if let Some(t) = token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        let _ = s.write_all(body);
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").expect("a response");
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let headers = head
            .lines()
            .skip(1)
            .filter_map(|l| {
                let (k, v) = l.split_once(':')?;
                Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
            })
            .collect();
        (status, headers, body.to_string())
    }

    /// A request answered with JSON: status and the JSON.
    fn json(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, Value) {
        let (status, headers, text) = self.call(method, path, token, body.map(str::as_bytes));
        let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        if status >= 400 {
            let ctype = headers.iter().find(|(k, _)| k == "content-type");
            assert_eq!(
                ctype.map(|(_, v)| v.as_str()),
                Some("application/problem+json"),
                "{method} {path}: {status} {text}"
            );
            assert_eq!(value["status"], status, "{value}");
        }
        (status, value)
    }

    fn evaluate(&self, w: &Value) -> Value {
        let (status, d) = self.json("POST", "/v1/evaluate", None, Some(&w.to_string()));
        assert_eq!(status, 200, "{d}");
        d
    }

    fn records(&self) -> Vec<Value> {
        let (records, torn) = decision_log::read_all(&self.dir.join("log")).unwrap();
        assert_eq!(torn, 0);
        records
            .into_iter()
            .filter(|r| r["event"] == "resolution")
            .collect()
    }

    fn metrics(&self) -> String {
        self.call("GET", "/metrics", None, None).2
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

/// A withdrawal of 1000 wei worth $5, requested `age_ms` ago, to a
/// long-used destination unless `new_destination`.
fn withdrawal(id: &str, account: &str, destination: &str, age_ms: u64) -> Value {
    json!({
        "id": id, "account": account, "asset": "ETH", "chain": "ethereum",
        "destination": destination, "amount": "1000", "decimals": 18,
        "usd_cents": 500, "requested_at": now_ms() - age_ms,
        "destination_first_used_at": 1_700_000_000_000u64,
    })
}

fn new_destination(id: &str, account: &str, age_ms: u64) -> Value {
    let mut w = withdrawal(id, account, CLEAN, age_ms);
    w.as_object_mut()
        .unwrap()
        .remove("destination_first_used_at");
    w
}

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn window(hold: &Value, window_ms: u64) -> Value {
    hold["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["window_ms"] == window_ms)
        .cloned()
        .unwrap_or_else(|| panic!("no window {window_ms}: {hold}"))
}

#[test]
fn holds_are_listed_read_and_approved_by_four_eyes_and_logged() {
    four_eyes(true);
}

#[test]
fn the_same_on_the_blocking_pool() {
    four_eyes(false);
}

fn four_eyes(inline: bool) {
    let h = Harness::start_with(FOUR_EYES, inline);
    assert_eq!(h.service.inline(), inline);
    assert_eq!(
        h.evaluate(&withdrawal("w-1", "acct-1", CLEAN, 60_000))["verdict"],
        "allow"
    );
    let held = h.evaluate(&withdrawal("w-2", "acct-1", CLEAN, 50_000));
    assert_eq!(held["verdict"], "hold", "{held}");
    assert_eq!(held["reasons"][0]["code"], "velocity.count_24h");
    assert_eq!(
        h.evaluate(&new_destination("w-3", "acct-2", 40_000))["verdict"],
        "hold"
    );
    assert_eq!(
        h.evaluate(&withdrawal("w-4", "acct-3", LAZARUS, 30_000))["verdict"],
        "deny"
    );

    // The queue, oldest first, by a reviewer or the admin.
    for token in [ALICE, ADMIN] {
        let (status, list) = h.json("GET", "/v1/holds", Some(token), None);
        assert_eq!(status, 200, "{list}");
        let ids: Vec<&str> = list["holds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["w-2", "w-3"]);
    }
    let (_, list) = h.json(
        "GET",
        "/v1/holds?reason=velocity.count&limit=5",
        Some(BOB),
        None,
    );
    assert_eq!(list["holds"].as_array().unwrap().len(), 1, "{list}");
    let (_, list) = h.json("GET", "/v1/holds?limit=1", Some(BOB), None);
    assert_eq!(list["holds"][0]["id"], "w-2");
    assert_eq!(list["holds"].as_array().unwrap().len(), 1);
    let (_, list) = h.json("GET", "/v1/holds?state=approved", Some(BOB), None);
    assert_eq!(list["holds"], json!([]));

    // One hold: the riskgate::Hold JSON and the account's windows.
    let (status, w2) = h.json("GET", "/v1/holds/w-2", Some(ALICE), None);
    assert_eq!(status, 200, "{w2}");
    assert_eq!(w2["state"], "pending");
    assert_eq!(w2["account"], "acct-1");
    assert_eq!(w2["decision"]["review"]["required"], 2);
    assert_eq!(w2["decision"]["review"]["amount"], 1000);
    assert_eq!(
        window(&w2, 3_600_000),
        json!({"window_ms": 3_600_000, "count": 1, "usd_cents": 500})
    );
    assert!(w2.get("changed").is_none());

    // Four eyes: alice, alice again (counted once), then bob.
    let note = json!({"note": "called the customer"}).to_string();
    let (status, a1) = h.json("POST", "/v1/holds/w-2/approve", Some(ALICE), Some(&note));
    assert_eq!(status, 200, "{a1}");
    assert_eq!(
        (a1["state"].as_str(), a1["changed"].as_bool()),
        (Some("pending"), Some(true))
    );
    let (status, again) = h.json("POST", "/v1/holds/w-2/approve", Some(ALICE), None);
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (again["state"].as_str(), again["changed"].as_bool()),
        (Some("pending"), Some(false))
    );
    let (status, a2) = h.json("POST", "/v1/holds/w-2/approve", Some(BOB), Some(""));
    assert_eq!(status, 200, "{a2}");
    assert_eq!(
        (a2["state"].as_str(), a2["changed"].as_bool()),
        (Some("approved"), Some(true))
    );
    // Counted in the account's windows from the approval on.
    assert_eq!(window(&a2, 3_600_000)["count"], 2, "{a2}");
    assert_eq!(window(&a2, 86_400_000)["usd_cents"], 1000, "{a2}");
    // The same final action again: unchanged; the other one: 409 with the state.
    let (status, same) = h.json("POST", "/v1/holds/w-2/approve", Some(ALICE), None);
    assert_eq!((status, same["changed"].as_bool()), (200, Some(false)));
    let (status, conflict) = h.json("POST", "/v1/holds/w-2/reject", Some(ALICE), None);
    assert_eq!(status, 409, "{conflict}");
    assert_eq!(conflict["state"], "approved");
    assert_eq!(conflict["id"], "w-2");

    // A single approval settles the new-destination hold; a reject.
    let (status, r3) = h.json(
        "POST",
        "/v1/holds/w-3/reject",
        Some(BOB),
        Some(r#"{"note":"no"}"#),
    );
    assert_eq!(
        (status, r3["state"].as_str()),
        (200, Some("rejected")),
        "{r3}"
    );
    let (_, list) = h.json("GET", "/v1/holds?state=all", Some(ALICE), None);
    let states: Vec<&str> = list["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["approved", "rejected"]);
    let (_, list) = h.json("GET", "/v1/holds", Some(ALICE), None);
    assert_eq!(list["holds"], json!([]));

    // The log: one record per change, none for the unchanged answers.
    let records = h.records();
    let summary: Vec<(String, String, String)> = records
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["reviewer"].as_str().unwrap().to_string(),
                r["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("w-2", "alice", "pending"),
        ("w-2", "bob", "approved"),
        ("w-3", "bob", "rejected"),
    ]
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()));
    assert_eq!(summary, expected);
    assert_eq!(records[0]["note"], "called the customer");
    assert_eq!(
        (
            records[1]["approvals"].as_u64(),
            records[1]["required"].as_u64()
        ),
        (Some(2), Some(2))
    );
    assert_eq!(records[1]["counted"]["usd_cents"], 500, "{}", records[1]);
    assert!(records[2].get("counted").is_none());

    // Metrics: resolutions by state, the time to a final one, nothing pending.
    let m = h.metrics();
    for (state, n) in [("pending", 1.0), ("approved", 1.0), ("rejected", 1.0)] {
        let series = format!("riskgate_hold_resolutions_total{{state=\"{state}\"}}");
        assert_eq!(metric(&m, &series), Some(n), "{series}\n{m}");
    }
    assert_eq!(
        metric(&m, "riskgate_hold_resolution_seconds_count"),
        Some(2.0),
        "{m}"
    );
    assert!(!m.contains("riskgate_holds_pending{"), "{m}");
}

#[test]
fn the_pending_gauge_counts_each_reason_code_when_scraped() {
    let h = Harness::start("");
    h.evaluate(&withdrawal("p-1", "acct-1", CLEAN, 60_000));
    h.evaluate(&withdrawal("p-2", "acct-1", CLEAN, 50_000));
    h.evaluate(&new_destination("p-3", "acct-1", 40_000));
    h.evaluate(&new_destination("p-4", "acct-2", 30_000));
    let m = h.metrics();
    assert_eq!(
        metric(&m, "riskgate_holds_pending{reason=\"velocity.count_24h\"}"),
        Some(2.0),
        "{m}"
    );
    assert_eq!(
        metric(
            &m,
            "riskgate_holds_pending{reason=\"velocity.new_destination\"}"
        ),
        Some(2.0),
        "{m}"
    );
    let (status, _) = h.json("POST", "/v1/holds/p-2/approve", Some(ALICE), None);
    assert_eq!(status, 200);
    let m = h.metrics();
    assert_eq!(
        metric(&m, "riskgate_holds_pending{reason=\"velocity.count_24h\"}"),
        Some(1.0),
        "{m}"
    );
    assert!(
        m.contains("at most the 10000 oldest pending holds are scanned"),
        "{m}"
    );
}

#[test]
fn tokens_are_checked_and_a_problem_says_why() {
    let h = Harness::start("");
    h.evaluate(&new_destination("t-1", "acct-1", 1000));
    let www = |headers: &[(String, String)]| {
        headers
            .iter()
            .find(|(k, _)| k == "www-authenticate")
            .map(|(_, v)| v.clone())
    };
    for (method, path, token, says) in [
        ("GET", "/v1/holds", None, "Authorization: Bearer"),
        (
            "GET",
            "/v1/holds/t-1",
            Some("nope"),
            "not a reviewer's nor the admin's",
        ),
        ("POST", "/v1/holds/t-1/approve", None, "reviewer's token"),
        (
            "POST",
            "/v1/holds/t-1/reject",
            Some("nope"),
            "not a reviewer's",
        ),
        (
            "POST",
            "/v1/holds/t-1/approve",
            Some(ADMIN),
            "admin token does not approve",
        ),
    ] {
        let (status, headers, body) = h.call(method, path, token, None);
        assert_eq!(status, 401, "{method} {path}: {body}");
        assert!(www(&headers).unwrap().starts_with("Bearer"), "{headers:?}");
        assert!(body.contains(says), "{method} {path}: {body}");
    }
    // Not a bearer scheme.
    let (status, _, _) = h.call("GET", "/v1/holds", Some(""), None);
    assert_eq!(status, 401);
    // Still pending: nothing above acted.
    let (_, hold) = h.json("GET", "/v1/holds/t-1", Some(ALICE), None);
    assert_eq!(hold["state"], "pending");
    assert!(h.records().is_empty());
}

#[test]
fn without_reviewers_holds_are_not_resolved_over_http() {
    let text = "velocity = \"memory\"\n[limits]\nmax_clock_skew_ms = 0\n";
    let h = Harness::serve(Config::parse(text).unwrap(), None, None);
    let (status, headers, body) = h.call("POST", "/v1/holds/x/approve", Some("anything"), None);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("no reviewers are configured"), "{body}");
    assert!(headers.iter().any(|(k, _)| k == "www-authenticate"));
    let (status, _, body) = h.call("GET", "/v1/holds", Some("anything"), None);
    assert_eq!(status, 401, "{body}");
    assert!(
        body.contains("no reviewer ([[reviewer]]) and no admin token"),
        "{body}"
    );
}

#[test]
fn bad_requests_are_problems() {
    let h = Harness::start("");
    h.evaluate(&withdrawal("b-1", "acct-1", CLEAN, 60_000));
    h.evaluate(&withdrawal("b-2", "acct-1", CLEAN, 50_000));
    h.evaluate(&withdrawal("b-3", "acct-2", LAZARUS, 50_000));
    let long = "x".repeat(129);
    for (method, path, body, status, says) in [
        ("GET", "/v1/holds?state=open", None, 400, "state"),
        ("GET", "/v1/holds?limit=0", None, 400, "1 to 1000"),
        ("GET", "/v1/holds?limit=1001", None, 400, "1 to 1000"),
        ("GET", "/v1/holds?limit=ten", None, 400, "1 to 1000"),
        ("GET", "/v1/holds?colour=red", None, 400, "unknown field"),
        (
            "GET",
            "/v1/holds?state=all&state=pending",
            None,
            400,
            "duplicate",
        ),
        (
            "GET",
            "/v1/holds/nope",
            None,
            404,
            "no decision is recorded",
        ),
        ("GET", "/v1/holds/b-1", None, 409, "decided allow"),
        ("GET", "/v1/holds/b-3", None, 409, "decided deny"),
        ("GET", "/v1/holds/a%00b", None, 400, "control characters"),
        ("GET", "/v1/holds/%FF%FE", None, 400, "hold id"),
        (
            "GET",
            &format!("/v1/holds/{long}"),
            None,
            400,
            "1 to 128 bytes",
        ),
        ("POST", "/v1/holds/nope/approve", None, 404, "no decision"),
        (
            "POST",
            "/v1/holds/b-1/approve",
            None,
            409,
            "only a HOLD is reviewed",
        ),
        ("POST", "/v1/holds/b-3/reject", None, 409, "decided deny"),
        (
            "POST",
            "/v1/holds/a%0Ab/reject",
            None,
            400,
            "control characters",
        ),
        (
            "POST",
            "/v1/holds/b-2/approve",
            Some(r#"{"note":"x","by":"me"}"#),
            400,
            "unknown field",
        ),
        (
            "POST",
            "/v1/holds/b-2/approve",
            Some(r#"{"note":"x","note":"y"}"#),
            400,
            "repeats a key",
        ),
        (
            "POST",
            "/v1/holds/b-2/approve",
            Some("note=x"),
            400,
            "is `{\"note\"",
        ),
        (
            "POST",
            "/v1/holds/b-2/approve",
            Some(r#"{"note":3}"#),
            400,
            "invalid type",
        ),
    ] {
        let (got, p) = h.json(method, path, Some(ALICE), body);
        assert_eq!(got, status, "{method} {path}: {p}");
        assert!(
            p["detail"].as_str().unwrap().contains(says),
            "{method} {path}: {p}"
        );
    }
    let (_, p) = h.json("GET", "/v1/holds/b-1", Some(ALICE), None);
    assert_eq!(p["verdict"], "allow");
    // A note over 2048 bytes: 413; a body over 16 KiB: 413 too.
    let long_note = json!({"note": "n".repeat(MAX_NOTE_BYTES + 1)}).to_string();
    let (status, p) = h.json(
        "POST",
        "/v1/holds/b-2/approve",
        Some(ALICE),
        Some(&long_note),
    );
    assert_eq!(status, 413, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("2048"), "{p}");
    let huge = json!({"note": "n".repeat(MAX_ACTION_BODY)}).to_string();
    let (status, _, body) = h.call(
        "POST",
        "/v1/holds/b-2/approve",
        Some(ALICE),
        Some(huge.as_bytes()),
    );
    assert_eq!(status, 413, "{body}");
    // None of it changed the hold.
    let (_, hold) = h.json("GET", "/v1/holds/b-2", Some(ALICE), None);
    assert_eq!(hold["state"], "pending");
    assert_eq!(hold["decision"]["review"]["entries"], json!([]));
    // A note of exactly the cap, with a percent-encoded id.
    let note = json!({"note": "é".repeat(MAX_NOTE_BYTES / 2)}).to_string();
    let (status, ok) = h.json("POST", "/v1/holds/b%2D2/approve", Some(ALICE), Some(&note));
    assert_eq!(
        (status, ok["state"].as_str()),
        (200, Some("approved")),
        "{ok}"
    );
}

/// A sink that fails while `full` is set.
struct Flaky {
    data: Arc<Mutex<Vec<u8>>>,
    full: Arc<AtomicBool>,
}

impl Sink for Flaky {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.full.load(Ordering::SeqCst) {
            return Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
        }
        self.data.lock().unwrap().extend_from_slice(bytes);
        Ok(())
    }
    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.data.lock().unwrap().truncate(len as usize);
        Ok(())
    }
    fn len(&self) -> u64 {
        self.data.lock().unwrap().len() as u64
    }
    fn rotate(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn describe(&self) -> String {
        "flaky".into()
    }
}

#[test]
fn a_resolution_whose_record_cannot_be_written_is_503_and_counted() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::write(temp.path().join("alice.token"), ALICE).unwrap();
    std::fs::write(temp.path().join("bob.token"), BOB).unwrap();
    let path = temp.path().join("riskgate.toml");
    std::fs::write(&path, config_text("")).unwrap();
    let mut config = Config::from_file(&path).unwrap();
    config.decision_log = None;
    let data = Arc::new(Mutex::new(Vec::new()));
    let full = Arc::new(AtomicBool::new(false));
    let sink = Flaky {
        data: data.clone(),
        full: full.clone(),
    };
    let log = DecisionLog::with_sink(Box::new(sink), false, u64::MAX);
    let h = Harness::serve(config, Some(path), Some(log));
    h.evaluate(&new_destination("f-1", "acct-1", 1000));
    full.store(true, Ordering::SeqCst);
    let (status, p) = h.json("POST", "/v1/holds/f-1/approve", Some(ALICE), None);
    assert_eq!(status, 503, "{p}");
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("is recorded, but its audit record could not be written"),
        "{p}"
    );
    assert_eq!(p["state"], "approved");
    full.store(false, Ordering::SeqCst);
    // The store has it.
    let (_, hold) = h.json("GET", "/v1/holds/f-1", Some(BOB), None);
    assert_eq!(hold["state"], "approved");
    let m = h.metrics();
    assert_eq!(
        metric(&m, "riskgate_hold_resolution_log_failures_total"),
        Some(1.0),
        "{m}"
    );
    let written = String::from_utf8(data.lock().unwrap().clone()).unwrap();
    assert!(!written.contains("\"resolution\""), "{written}");
}

#[test]
fn pending_holds_expire_with_a_record_each() {
    // Ten minutes: the expiry task's next tick is 30 s away, so this test
    // expires by hand; an action on a hold past its expiry expires it.
    let h = Harness::start("[review]\nexpire_after_ms = 600000\n");
    let old = 20 * 60_000;
    h.evaluate(&new_destination("e-1", "acct-1", old));
    h.evaluate(&new_destination("e-2", "acct-2", old));
    h.evaluate(&new_destination("e-3", "acct-3", 1000));
    let (status, p) = h.json("POST", "/v1/holds/e-1/approve", Some(ALICE), None);
    assert_eq!(status, 409, "{p}");
    assert_eq!(p["state"], "expired");
    let (_, e3) = h.json("GET", "/v1/holds/e-3", Some(ALICE), None);
    assert!(e3["expires_at"].as_u64().unwrap() > now_ms(), "{e3}");
    assert_eq!(h.service.expire_due().unwrap(), 1);
    assert_eq!(h.service.expire_due().unwrap(), 0);
    let (_, list) = h.json("GET", "/v1/holds?state=expired", Some(ALICE), None);
    let ids: Vec<&str> = list["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["e-1", "e-2"]);
    let records = h.records();
    assert_eq!(records.len(), 2, "{records:?}");
    for (r, id) in records.iter().zip(["e-1", "e-2"]) {
        assert_eq!(
            (r["id"].as_str(), r["action"].as_str()),
            (Some(id), Some("expire"))
        );
        assert_eq!(
            (r["reviewer"].as_str(), r["state"].as_str()),
            (Some("riskgate"), Some("expired"))
        );
    }
    let m = h.metrics();
    assert_eq!(
        metric(&m, "riskgate_hold_resolutions_total{state=\"expired\"}"),
        Some(2.0),
        "{m}"
    );
}

#[test]
fn the_expiry_task_runs_on_its_own() {
    // One second: the task runs every 250 ms.
    let h = Harness::start("[review]\nexpire_after_ms = 1000\n");
    h.evaluate(&new_destination("x-1", "acct-1", 0));
    let start = std::time::Instant::now();
    loop {
        let (_, hold) = h.json("GET", "/v1/holds/x-1", Some(ALICE), None);
        if hold["state"] == "expired" {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{hold}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let records = h.records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["action"], "expire");
}

#[test]
fn reviewers_and_review_settings_change_at_a_reload() {
    let h = Harness::start(FOUR_EYES);
    h.evaluate(&withdrawal("r-1", "acct-1", CLEAN, 60_000));
    h.evaluate(&withdrawal("r-2", "acct-1", CLEAN, 50_000));
    assert_eq!(h.call("GET", "/v1/holds", Some(CAROL), None).0, 401);
    // Carol replaces bob; one approval is enough from now on.
    let path = h.dir.join("riskgate.toml");
    let text = config_text("")
        .replace("\"bob\"", "\"carol\"")
        .replace("bob.token", "carol.token");
    std::fs::write(&path, text).unwrap();
    let report = h.service.reload();
    assert!(report.ok, "{report:?}");
    assert!(report.restart_required.is_empty(), "{report:?}");
    assert_eq!(h.call("GET", "/v1/holds", Some(BOB), None).0, 401);
    // The approvals required are the settings' at the approval.
    let (status, r) = h.json("POST", "/v1/holds/r-2/approve", Some(CAROL), None);
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["state"], "approved", "{r}");
    assert_eq!(r["decision"]["review"]["entries"][0]["reviewer"], "carol");

    // A token shared, empty or the admin's fails the reload; nothing changes.
    for (file, content, says) in [
        ("carol.token", ALICE, "also reviewer `alice`'s"),
        ("carol.token", "  \n", "empty"),
        ("carol.token", ADMIN, "the admin token"),
        ("carol.token", "two words", "one word"),
    ] {
        std::fs::write(h.dir.join(file), content).unwrap();
        let report = h.service.reload();
        assert!(!report.ok, "{content}");
        assert!(
            report.error.as_deref().unwrap().contains(says),
            "{report:?}"
        );
        std::fs::write(h.dir.join(file), CAROL).unwrap();
    }
    assert_eq!(h.call("GET", "/v1/holds", Some(CAROL), None).0, 200);
}

#[test]
fn the_review_page_is_self_contained_under_a_strict_policy() {
    let h = Harness::start("");
    let (status, headers, body) = h.call("GET", "/review", None, None);
    assert_eq!(status, 200);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    assert_eq!(body, PAGE);
    let csp = header("content-security-policy");
    assert!(csp.starts_with("default-src 'none'; "), "{csp}");
    assert!(!csp.contains("unsafe"), "{csp}");
    assert!(csp.contains(&format!(
        "script-src '{}'",
        csp_hash(inline(PAGE, "script"))
    )));
    assert!(csp.contains(&format!("style-src '{}'", csp_hash(inline(PAGE, "style")))));
    assert_eq!(header("x-content-type-options"), "nosniff");
    // One inline script and style, nothing loaded from elsewhere, no inline
    // handler or style attribute (the policy would block them).
    assert_eq!(PAGE.matches("<script").count(), 1);
    assert_eq!(PAGE.matches("<style").count(), 1);
    for banned in [
        "http://",
        "https://",
        " src=",
        " onclick",
        " style=",
        "innerHTML",
    ] {
        assert!(!PAGE.contains(banned), "{banned}");
    }
    for id in [
        "id=\"token\"",
        "id=\"sign-in\"",
        "id=\"status\"",
        "id=\"queue\"",
    ] {
        assert!(PAGE.contains(id), "{id}");
    }
}

#[test]
fn csp_hashes_are_base64_sha256() {
    // printf '' | openssl dgst -sha256 -binary | base64
    assert_eq!(
        csp_hash(""),
        "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    );
    // printf 'abc' | ...
    assert_eq!(
        csp_hash("abc"),
        "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
    );
}
