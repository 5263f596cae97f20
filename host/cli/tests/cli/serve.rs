//! End-to-end tests of `riskgate serve`: the real binary on a loopback
//! port, driven over plain HTTP/1.1.

use crate::support;

use serde_json::{Value, json};
use support::{CLEAN, LAZARUS, Server, withdrawal};

#[test]
fn serve_evaluates_releases_describes_and_refuses_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    // One withdrawal: the decision, as `check` prints it.
    let (status, ctype, d) = server.json("POST", "/v1/evaluate", &withdrawal("w-1", CLEAN));
    assert_eq!(status, 200, "{d}");
    assert!(ctype.starts_with("application/json"), "{ctype}");
    assert_eq!(d["id"], "w-1");
    assert_eq!(d["verdict"], "allow", "{d}");
    // A repeat is replayed, not counted again.
    let (_, _, again) = server.json("POST", "/v1/evaluate", &withdrawal("w-1", CLEAN));
    assert_eq!(again["replayed"], true, "{again}");

    // A batch, in order; the designated destination is denied with evidence.
    let batch = json!({ "withdrawals": [withdrawal("w-2", CLEAN), withdrawal("w-3", LAZARUS)] });
    let (status, _, out) = server.json("POST", "/v1/evaluate", &batch);
    assert_eq!(status, 200, "{out}");
    let decisions = out["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 2);
    assert_eq!(decisions[0]["id"], "w-2");
    assert_eq!(decisions[1]["verdict"], "deny", "{}", decisions[1]);
    assert!(!decisions[1]["hits"].as_array().unwrap().is_empty());

    // Release: the first time it frees the contribution, then it is unknown.
    let (status, _, r) = server.json("POST", "/v1/withdrawals/w-2/release", &json!({}));
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["had_contribution"], true, "{r}");
    let (status, ctype, r) = server.json("POST", "/v1/withdrawals/w-2/release", &json!({}));
    assert_eq!(status, 404, "{r}");
    assert_eq!(ctype, "application/problem+json");

    // Client mistakes: problem documents, never a 500.
    let mut missing = withdrawal("w-4", CLEAN);
    missing.as_object_mut().unwrap().remove("account");
    let (status, ctype, p) = server.json(
        "POST",
        "/v1/evaluate",
        &json!([withdrawal("w-5", CLEAN), missing]),
    );
    assert_eq!(
        (status, ctype.as_str()),
        (400, "application/problem+json"),
        "{p}"
    );
    assert_eq!(p["status"], 400);
    assert_eq!(p["pointer"], "/1/account", "{p}");
    let (status, _, text) = server.call(
        "POST",
        "/v1/evaluate",
        Some("application/json"),
        b"{not json",
    );
    assert_eq!(status, 400, "{text}");
    let (status, ctype, _) = server.call("POST", "/v1/evaluate", Some("text/plain"), b"{}");
    assert_eq!((status, ctype.as_str()), (415, "application/problem+json"));
    let big = vec![b' '; 2 << 20];
    let (status, ctype, _) = server.call("POST", "/v1/evaluate", Some("application/json"), &big);
    assert_eq!((status, ctype.as_str()), (413, "application/problem+json"));
    let (status, _, _) = server.call("GET", "/v2/nothing", None, b"");
    assert_eq!(status, 404);

    // What is loaded.
    let (status, _, text) = server.call("GET", "/v1/policies", None, b"");
    assert_eq!(status, 200);
    let policies: Value = serde_json::from_str(&text).unwrap();
    let names: Vec<&str> = policies["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sanctions", "velocity"]);
    assert_eq!(
        policies["policies"][0]["sha256"].as_str().unwrap().len(),
        64
    );
    let (_, _, text) = server.call("GET", "/v1/lists", None, b"");
    let lists: Value = serde_json::from_str(&text).unwrap();
    assert!(lists["lists"][0]["count"].as_u64().unwrap() > 0, "{lists}");
    assert_eq!(server.call("GET", "/healthz", None, b"").0, 200);
    assert_eq!(server.call("GET", "/readyz", None, b"").0, 200);

    // Still serving after all of that, from many clients at once.
    std::thread::scope(|s| {
        for t in 0..8 {
            let server = &server;
            s.spawn(move || {
                for i in 0..25 {
                    let id = format!("c-{t}-{i}");
                    let dest = format!("0x{:040x}", t * 100 + i + 1);
                    let (status, _, d) =
                        server.json("POST", "/v1/evaluate", &withdrawal(&id, &dest));
                    assert_eq!(status, 200, "{d}");
                    assert_eq!(d["id"], id.as_str());
                }
            });
        }
    });
}

#[cfg(unix)]
#[test]
fn serve_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    assert_eq!(server.call("GET", "/healthz", None, b"").0, 200);
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(server.child.id() as i32, libc::SIGTERM);
    }
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// Every operation of `docs/openapi.json` is served at its path and
/// method, and the document covers every endpoint of the service.
#[test]
fn the_openapi_document_matches_the_routes() {
    let doc: Value = serde_json::from_str(include_str!("../../../../docs/openapi.json")).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            operations.push((method.to_uppercase(), path.clone()));
        }
    }
    operations.sort();
    let mut expected: Vec<(String, String)> = [
        ("POST", "/v1/evaluate"),
        ("POST", "/v1/withdrawals/{id}/release"),
        ("GET", "/v1/policies"),
        ("GET", "/v1/lists"),
        ("POST", "/v1/admin/reload"),
        ("GET", "/v1/holds"),
        ("GET", "/v1/holds/{id}"),
        ("POST", "/v1/holds/{id}/approve"),
        ("POST", "/v1/holds/{id}/reject"),
        ("GET", "/review"),
        ("GET", "/metrics"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    expected.sort();
    assert_eq!(operations, expected);

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (_, _, not_found) = server.call("GET", "/v1/none", None, b"");
    for (method, path) in &operations {
        let path = path.replace("{id}", "no-such-id");
        let (status, _, body) = server.call(method, &path, Some("application/json"), b"{}");
        assert!(
            body != not_found && status != 405,
            "{method} {path}: {status} {body}"
        );
    }
}

// ---------------------------------------------------------------------------
// The HTTP edge: bounded input, timeouts, limits, signals
// ---------------------------------------------------------------------------

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// `riskgate serve --config` with an in-memory store, no clock check and
/// `server` as its `[server]` section.
fn serve_with(dir: &std::path::Path, server: &str) -> Server {
    let config = format!(
        "velocity = \"memory\"\ncache_dir = \"cache\"\n[limits]\ndeadline_us = 250000\n\
         max_clock_skew_ms = 0\n[server]\n{server}\n"
    );
    let path = dir.join("riskgate.toml");
    std::fs::write(&path, config).unwrap();
    Server::with_config(&path).unwrap_or_else(|(code, err)| panic!("exit {code}: {err}"))
}

/// Everything the server sends until it closes (or `wait` passes).
fn read_all(s: &mut TcpStream, wait: Duration) -> String {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
        }
    }
    String::from_utf8_lossy(&raw).into_owned()
}

fn status_of(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a response: {response:?}"))
}

fn assert_problem(r: &support::Response, status: u16) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{status}: {:?}",
        r.headers
    );
    let p = r.json();
    assert_eq!(p["status"], status, "{p}");
    assert!(p["title"].is_string() && p["detail"].is_string(), "{p}");
}

#[test]
fn every_client_error_is_a_problem_document_and_repeated_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    // A repeated key: designated destination first, clean one last. Never
    // decided on the last (a JSON tree would keep it): 400, pointed at.
    let clean_text = withdrawal("dup-1", CLEAN).to_string();
    let twice = clean_text.replacen(
        &format!("\"destination\":\"{CLEAN}\""),
        &format!("\"destination\":\"{LAZARUS}\",\"destination\":\"{CLEAN}\""),
        1,
    );
    assert_eq!(twice.matches("\"destination\"").count(), 2, "{twice}");
    let json = [("Content-Type", "application/json")];
    let r = server.request("POST", "/v1/evaluate", &json, twice.as_bytes());
    assert_problem(&r, 400);
    assert_eq!(r.json()["pointer"], "/destination", "{}", r.body);
    let batch = format!(r#"{{"withdrawals":[{clean_text},{twice}]}}"#);
    let r = server.request("POST", "/v1/evaluate", &json, batch.as_bytes());
    assert_problem(&r, 400);
    assert_eq!(r.json()["pointer"], "/withdrawals/1/destination");
    // Nested too (an object where a value goes is refused either way).
    let nested = clean_text.replacen("\"amount\":\"1000\"", "\"amount\":{\"v\":1,\"v\":2}", 1);
    let r = server.request("POST", "/v1/evaluate", &json, nested.as_bytes());
    assert_problem(&r, 400);
    assert_eq!(r.json()["pointer"], "/amount/v", "{}", r.body);
    // Not decided, so not recorded: the clean withdrawal is new.
    let r = server.evaluate(&withdrawal("dup-1", CLEAN));
    assert_eq!(r.json()["verdict"], "allow", "{}", r.body);
    assert!(r.json().get("replayed").is_none(), "{}", r.body);

    // requested_at outside 2009..2100: held as bad input, never allowed.
    for t in [0u64, 1_000, u64::MAX, 4_133_980_800_000] {
        let mut w = withdrawal(&format!("t-{t}"), CLEAN);
        w["requested_at"] = json!(t);
        let r = server.evaluate(&w);
        let d = r.json();
        assert_eq!(d["verdict"], "hold", "{d}");
        assert_eq!(d["reasons"][0]["code"], "gate.bad_input", "{d}");
    }

    // 404, 405 with Allow.
    assert_problem(&server.get("/v2/nothing"), 404);
    let r = server.get("/v1/evaluate");
    assert_problem(&r, 405);
    assert_eq!(r.header("allow"), Some("POST"), "{:?}", r.headers);
    let r = server.request("DELETE", "/healthz", &[], b"");
    assert_problem(&r, 405);
    assert!(
        r.header("allow").unwrap().contains("GET"),
        "{:?}",
        r.headers
    );

    // 414: a target over the limit (8 KiB), well under hyper's own.
    let long = format!("/v1/policies?{}", "x".repeat(10_000));
    assert_problem(&server.get(&long), 414);
    // 431: a head over the limit (32 KiB), well under hyper's buffer.
    let big = "y".repeat(40_000);
    let r = server.request("GET", "/healthz", &[("X-Padding", &big)], b"");
    assert_problem(&r, 431);
    // Many headers adding up past the limit.
    let line = "z".repeat(1000);
    let headers: Vec<(String, &str)> = (0..40)
        .map(|i| (format!("X-H{i}"), line.as_str()))
        .collect();
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_problem(&server.request("GET", "/healthz", &headers, b""), 431);
    // A bad id in a path.
    let r = server.request("POST", "/v1/withdrawals/%FF%FE/release", &[], b"");
    assert!(r.status == 400 || r.status == 404, "{}", r.status);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));

    // Still serving.
    assert_eq!(server.get("/healthz").status, 200);
}

#[test]
fn slow_clients_are_cut_off_and_a_slow_body_gets_408() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with(
        dir.path(),
        "header_read_timeout_ms = 2000\nbody_read_timeout_ms = 1000\nidle_timeout_ms = 1500",
    );

    // A head trickled one byte a second: cut off at the header timeout.
    let mut s = TcpStream::connect(&server.addr).unwrap();
    let mut writer = s.try_clone().unwrap();
    let started = Instant::now();
    let trickle = std::thread::spawn(move || {
        for b in
            b"POST /v1/evaluate HTTP/1.1\r\nHost: trickle\r\nContent-Type: application/json\r\n"
        {
            if writer.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    let got = read_all(&mut s, Duration::from_secs(10));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(6),
        "{took:?}: {got:?}"
    );
    assert!(!got.starts_with("HTTP/1.1 2"), "{got:?}");
    drop(s);
    trickle.join().unwrap();

    // A connection that sends nothing: closed at the idle timeout.
    let mut s = TcpStream::connect(&server.addr).unwrap();
    let started = Instant::now();
    let got = read_all(&mut s, Duration::from_secs(10));
    let took = started.elapsed();
    assert!(got.is_empty(), "{got:?}");
    assert!(
        took >= Duration::from_millis(1200) && took < Duration::from_secs(5),
        "{took:?}"
    );

    // A body that stops arriving: 408, a problem document.
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.write_all(
        b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 300\r\n\r\n{\"id\":",
    )
    .unwrap();
    let started = Instant::now();
    let got = read_all(&mut s, Duration::from_secs(10));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(status_of(&got), 408, "{got}");
    assert!(got.contains("application/problem+json"), "{got}");

    // Prompt clients are served as before.
    assert_eq!(server.evaluate(&withdrawal("fast", CLEAN)).status, 200);
}

/// Trickles `head` one byte each 300 ms on `s` (until the server closes).
fn trickle(s: &TcpStream, head: &'static [u8]) -> std::thread::JoinHandle<()> {
    let mut writer = s.try_clone().unwrap();
    std::thread::spawn(move || {
        for b in head {
            if writer.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    })
}

#[test]
fn a_head_that_starts_late_is_cut_off_at_the_header_timeout_not_the_idle_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with(
        dir.path(),
        "header_read_timeout_ms = 1000\nidle_timeout_ms = 30000",
    );
    const HEAD: &[u8] =
        b"POST /v1/evaluate HTTP/1.1\r\nHost: late\r\nContent-Type: application/json\r\n";

    // Quiet for longer than the header timeout (idle, not cut), then a
    // trickled head: cut about a second after its first byte.
    let mut s = TcpStream::connect(&server.addr).unwrap();
    std::thread::sleep(Duration::from_millis(1600));
    let started = Instant::now();
    let writer = trickle(&s, HEAD);
    let got = read_all(&mut s, Duration::from_secs(20));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(5),
        "{took:?}: {got:?}"
    );
    assert!(got.is_empty(), "{got:?}");
    writer.join().unwrap();

    // The same after an answer on a keep-alive connection.
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut first = [0u8; 12];
    s.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    std::thread::sleep(Duration::from_millis(1300));
    let started = Instant::now();
    let writer = trickle(&s, HEAD);
    read_all(&mut s, Duration::from_secs(20));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(5),
        "{took:?}"
    );
    writer.join().unwrap();
}

#[cfg(unix)]
#[test]
fn the_connection_limit_holds_and_sigterm_exits_within_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = serve_with(
        dir.path(),
        "max_connections = 2\nidle_timeout_ms = 30000\nheader_read_timeout_ms = 30000\n\
         body_read_timeout_ms = 30000\nshutdown_grace_ms = 1500",
    );
    // Two held connections; a third waits (not accepted) until one closes.
    let first = TcpStream::connect(&server.addr).unwrap();
    let second = TcpStream::connect(&server.addr).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut third = TcpStream::connect(&server.addr).unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let got = read_all(&mut third, Duration::from_millis(1500));
    assert!(got.is_empty(), "answered beyond the limit: {got:?}");
    drop(first);
    let got = read_all(&mut third, Duration::from_secs(10));
    assert_eq!(status_of(&got), 200, "{got}");
    drop((second, third));

    // SIGTERM with a head trickling in and a body that never arrives in
    // flight: the process exits once the grace period is over, cleanly.
    std::thread::sleep(Duration::from_millis(300));
    let mut head = TcpStream::connect(&server.addr).unwrap();
    head.write_all(b"GET /heal").unwrap();
    let mut body = TcpStream::connect(&server.addr).unwrap();
    body.write_all(
        b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 300\r\n\r\n{",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(server.child.id() as i32, libc::SIGTERM);
    }
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = started.elapsed();
    assert!(status.success(), "{status}");
    assert!(took >= Duration::from_millis(1000), "{took:?}");
    assert!(took < Duration::from_millis(1500 + 3000), "{took:?}");
    drop((head, body));
}

/// The handlers are in place before the listener is bound: SIGHUP and
/// SIGTERM that arrive while the gate is still being built are taken by
/// serve (a reload, a clean stop), not by the default action.
#[cfg(target_os = "linux")]
#[test]
fn signals_at_start_up_do_not_kill_serve() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    fn spawn(dir: &std::path::Path) -> std::process::Child {
        Command::new(support::BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--velocity", "memory"])
            .args(["--no-clock-check", "--deadline-us", "250000", "--cache-dir"])
            .arg(dir.join("cache"))
            .env_remove("RISKGATE_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
    /// Waits until `pid` catches SIGHUP and SIGTERM.
    fn handlers_installed(pid: u32) {
        let started = Instant::now();
        loop {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
            let caught = status
                .lines()
                .find_map(|l| l.strip_prefix("SigCgt:"))
                .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
                .unwrap_or(0);
            let want = (1 << (libc::SIGHUP - 1)) | (1 << (libc::SIGTERM - 1));
            if caught & want == want {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "{status}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The child's stderr, line by line, each with when it was read.
    fn lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<(Instant, String)> {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            let mut line = String::new();
            while err.read_line(&mut line).unwrap_or(0) > 0 {
                if tx
                    .send((Instant::now(), std::mem::take(&mut line)))
                    .is_err()
                {
                    return;
                }
            }
        });
        rx
    }

    let dir = tempfile::tempdir().unwrap();
    // SIGHUP early (the policies are still compiling: a fresh cache): serve
    // comes up, reloads, serves.
    let mut child = spawn(dir.path());
    let out = lines(&mut child);
    handlers_installed(child.id());
    let installed = Instant::now();
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGHUP);
    }
    let mut text = String::new();
    let mut addr = None;
    while let Ok((at, line)) = out.recv_timeout(Duration::from_secs(60)) {
        text.push_str(&line);
        if let Some(i) = line.find("http://") {
            assert!(at > installed, "listening before the handlers: {text}");
            addr = Some(line[i + 7..].trim().to_string());
        }
        if text.contains("SIGHUP") && addr.is_some() {
            break;
        }
    }
    assert!(text.contains("reloaded (SIGHUP)"), "{text}");
    let addr = addr.unwrap_or_else(|| panic!("{text}"));
    let mut s = TcpStream::connect(&addr).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(status_of(&read_all(&mut s, Duration::from_secs(10))), 200);
    let _ = child.kill();
    let _ = child.wait();

    // SIGTERM early: a clean stop, exit status 0.
    let mut child = spawn(dir.path());
    let out = lines(&mut child);
    handlers_installed(child.id());
    let installed = Instant::now();
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    let text: Vec<(Instant, String)> = out.iter().collect();
    let all: String = text.iter().map(|(_, l)| l.as_str()).collect();
    assert!(status.success(), "{status}: {all}");
    for (at, line) in &text {
        if line.contains("http://") {
            assert!(*at > installed, "listening before the handlers: {all}");
        }
    }
}
