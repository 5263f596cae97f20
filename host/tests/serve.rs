//! End-to-end tests of `riskgate serve`: the real binary on a loopback
//! port, driven over plain HTTP/1.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_riskgate");
const LAZARUS: &str = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";
const CLEAN: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

struct Server {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--velocity"])
            .arg(dir.path().join("velocity"))
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .args(["--no-clock-check", "--deadline-us", "250000"])
            .env_remove("RISKGATE_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn riskgate serve");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let addr = loop {
            line.clear();
            assert!(err.read_line(&mut line).unwrap() > 0, "serve exited early");
            if let Some(at) = line.find("http://") {
                break line[at + 7..].trim().to_string();
            }
        };
        // Keep draining stderr so the server never blocks on it.
        std::thread::spawn(move || {
            let mut sink = String::new();
            let _ = err.read_to_string(&mut sink);
        });
        Server {
            child,
            addr,
            _dir: dir,
        }
    }

    /// One request; (status, content type, body).
    fn call(
        &self,
        method: &str,
        path: &str,
        ctype: Option<&str>,
        body: &[u8],
    ) -> (u16, String, String) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if let Some(c) = ctype {
            head.push_str(&format!("Content-Type: {c}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        // A server may answer (413) before reading all of a big body.
        let _ = s.write_all(body);
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw).to_string();
        let (head, body) = text.split_once("\r\n\r\n").expect("a response");
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let ctype = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-type")
                    .then(|| v.trim().to_string())
            })
            .unwrap_or_default();
        (status, ctype, body.to_string())
    }

    fn json(&self, method: &str, path: &str, body: &Value) -> (u16, String, Value) {
        let (status, ctype, text) = self.call(
            method,
            path,
            Some("application/json"),
            body.to_string().as_bytes(),
        );
        let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        (status, ctype, value)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn withdrawal(id: &str, destination: &str) -> Value {
    json!({
        "id": id, "account": "acct-1", "asset": "ETH", "chain": "ethereum",
        "destination": destination, "amount": "1000", "decimals": 18,
        "usd_cents": 500, "requested_at": 1_795_564_800_000u64,
        "destination_first_used_at": 1_790_000_000_000u64,
    })
}

#[test]
fn serve_evaluates_releases_describes_and_refuses_bad_requests() {
    let server = Server::start();

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
    let mut server = Server::start();
    assert_eq!(server.call("GET", "/healthz", None, b"").0, 200);
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(server.child.id() as i32, libc::SIGTERM);
    }
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status}");
}
