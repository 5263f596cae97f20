//! `riskgate load` against the real `riskgate serve` on a loopback port.

use crate::support;

use std::process::Command;

use serde_json::Value;
use support::{BIN, Server};

struct Loaded {
    _server: Server,
    url: String,
    _dir: tempfile::TempDir,
}

impl Loaded {
    /// The server on a free port with the in-memory store and the clock
    /// check on (the generator sends the current time).
    fn start() -> Loaded {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache").display().to_string();
        let server = Server::spawn(&[
            "--velocity".into(),
            "memory".into(),
            "--cache-dir".into(),
            cache,
            "--deadline-us".into(),
            "250000".into(),
        ])
        .expect("serve starts");
        let url = format!("http://{}", server.addr);
        Loaded {
            _server: server,
            url,
            _dir: dir,
        }
    }

    /// `riskgate load --json` against this server with `extra` options.
    fn load(&self, extra: &[&str]) -> Value {
        let out = Command::new(BIN)
            .args(["load", "--url", &self.url])
            .args(["--duration", "2", "--warmup", "0", "--connections", "4"])
            .args(["--pool", "5000", "--json"])
            .args(extra)
            .output()
            .expect("run riskgate load");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }
}

fn n(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{pointer} in {v}"))
}

fn assert_sane(r: &Value) {
    assert!(n(r, "/evaluations") > 0.0, "{r}");
    assert_eq!(n(r, "/errors/total"), 0.0, "{r}");
    assert_eq!(
        n(r, "/faults"),
        0.0,
        "no gate faults (the clock is right): {r}"
    );
    assert_eq!(n(r, "/replayed"), 0.0, "fresh ids: {r}");
    let (p50, p99, max) = (
        n(r, "/latency_us/p50"),
        n(r, "/latency_us/p99"),
        n(r, "/latency_us/max"),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{r}");
    let verdicts = n(r, "/verdicts/allow") + n(r, "/verdicts/hold") + n(r, "/verdicts/deny");
    assert_eq!(verdicts, n(r, "/evaluations"), "{r}");
}

#[test]
fn load_drives_serve_and_reports_counts_and_ordered_percentiles() {
    let server = Loaded::start();

    let one = server.load(&[]);
    assert_sane(&one);
    assert_eq!(n(&one, "/evaluations"), n(&one, "/requests"), "{one}");

    let batch = server.load(&["--batch", "10"]);
    assert_sane(&batch);
    assert_eq!(
        n(&batch, "/evaluations"),
        10.0 * n(&batch, "/requests"),
        "{batch}"
    );
}

#[test]
fn load_fails_when_nothing_listens() {
    // A port that was free a moment ago: every connect fails.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Command::new(BIN)
        .args(["load", "--url", &format!("http://127.0.0.1:{port}")])
        .args(["--duration", "0.3", "--warmup", "0", "--connections", "2"])
        .args(["--pool", "1000", "--json"])
        .output()
        .expect("run riskgate load");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(n(&r, "/errors/connect") > 0.0, "{r}");
    assert_eq!(n(&r, "/requests"), 0.0, "{r}");
}
