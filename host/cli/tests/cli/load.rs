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
        load_json(&self.url, "2", extra)
    }
}

/// `riskgate load --json` against `url` for `secs` seconds (4 connections,
/// no warm-up) with `extra` options; its report.
fn load_json(url: &str, secs: &str, extra: &[&str]) -> Value {
    let out = Command::new(BIN)
        .args(["load", "--url", url])
        .args(["--duration", secs, "--warmup", "0", "--connections", "4"])
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

/// `riskgate serve --listen unix:PATH ARGS`, once it listens; Err(its
/// stderr) when it exits first.
fn serve_unix(
    socket: &std::path::Path,
    cache: &std::path::Path,
    extra: &[&str],
) -> Result<Server, String> {
    let mut args: Vec<String> = ["--velocity", "memory", "--no-clock-check"]
        .into_iter()
        .chain(["--deadline-us", "250000", "--cache-dir"])
        .map(String::from)
        .collect();
    args.push(cache.display().to_string());
    args.extend(extra.iter().map(|a| a.to_string()));
    let listen = format!("unix:{}", socket.display());
    let server = Server::spawn_at(&listen, &args, &[]).map_err(|(_, stderr)| stderr)?;
    assert_eq!(server.addr, listen);
    Ok(server)
}

/// One HTTP/1.1 request over the socket; the status line and the body.
fn post_unix(socket: &std::path::Path, body: &Value) -> (String, Value) {
    use std::io::{Read, Write};
    let body = body.to_string();
    let mut s = std::os::unix::net::UnixStream::connect(socket).expect("connect");
    write!(
        s,
        "POST /v1/evaluate HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("a response head");
    let status = head.lines().next().unwrap().to_string();
    (
        status,
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}")),
    )
}

fn terminate(server: &mut Server) {
    // SAFETY: a plain signal to a child this test spawned.
    unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) };
    let status = server.child.wait().unwrap();
    assert!(status.success(), "serve exits cleanly on SIGTERM: {status}");
}

#[test]
fn serve_and_load_over_a_unix_socket_and_the_socket_file_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("gate.sock");
    let cache = dir.path().join("cache");

    let mut first = serve_unix(&socket, &cache, &["--socket-mode", "660"])
        .expect("serve starts on a unix socket");
    {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let m = std::fs::symlink_metadata(&socket).unwrap();
        assert!(m.file_type().is_socket());
        assert_eq!(m.permissions().mode() & 0o7777, 0o660, "--socket-mode");
    }
    let (status, decision) = post_unix(&socket, &support::withdrawal("w-uds-1", support::LAZARUS));
    assert!(status.contains(" 200 "), "{status}: {decision}");
    assert_eq!(
        decision["verdict"], "deny",
        "a designated address: {decision}"
    );

    let r = load_json(&format!("unix:{}", socket.display()), "1", &[]);
    // The generator sends the current time; this server does not check it.
    assert!(n(&r, "/evaluations") > 0.0, "{r}");
    assert_eq!(n(&r, "/errors/total"), 0.0, "{r}");
    assert_eq!(n(&r, "/faults"), 0.0, "{r}");

    // `holds --url` reaches the same socket (this server has no reviewer:
    // its problem document comes back).
    let out = Command::new(BIN)
        .args([
            "holds",
            "list",
            "--url",
            &format!("unix:{}", socket.display()),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("401 Unauthorized: no reviewer"), "{stderr}");

    // A second server does not take a socket a live one accepts on.
    let Err(refused) = serve_unix(&socket, &cache, &[]) else {
        panic!("a second server on a live socket fails");
    };
    assert!(refused.contains("already listens"), "{refused}");
    let (status, _) = post_unix(&socket, &support::withdrawal("w-uds-2", support::CLEAN));
    assert!(
        status.contains(" 200 "),
        "the first server still answers: {status}"
    );

    // A clean stop removes the socket file.
    terminate(&mut first);
    assert!(!socket.exists(), "the socket file is removed at exit");

    // A killed server leaves it behind; the next start replaces it.
    let mut killed = serve_unix(&socket, &cache, &[]).unwrap();
    killed.child.kill().unwrap();
    killed.child.wait().unwrap();
    assert!(socket.exists(), "SIGKILL leaves the socket file");
    let mut again = serve_unix(&socket, &cache, &[]).expect("a stale socket file is replaced");
    let (status, _) = post_unix(&socket, &support::withdrawal("w-uds-3", support::CLEAN));
    assert!(status.contains(" 200 "), "{status}");
    terminate(&mut again);

    // Never a file that is not a socket.
    std::fs::write(&socket, "precious").unwrap();
    let Err(refused) = serve_unix(&socket, &cache, &[]) else {
        panic!("a regular file is not replaced");
    };
    assert!(refused.contains("not a socket"), "{refused}");
    assert_eq!(std::fs::read_to_string(&socket).unwrap(), "precious");
}

#[test]
fn an_empty_socket_path_or_a_socket_mode_without_a_socket_is_refused() {
    for (args, says) in [
        (&["serve", "--listen", "unix:"][..], "no socket path"),
        (
            &["load", "--url", "unix:", "--duration", "0.1"],
            "no socket path",
        ),
        (
            &["serve", "--listen", "127.0.0.1:0", "--socket-mode", "660"],
            "a socket mode is for a unix:PATH listen address",
        ),
        (
            &["serve", "--listen", "unix:x.sock", "--socket-mode", "1777"],
            "not permission bits",
        ),
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
