//! A `riskgate serve` child (on a loopback port, or a Unix socket) and a plain HTTP/1.1 client,
//! shared by the end-to-end tests of the service.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_riskgate");
/// Designated in the bundled sample list.
pub const LAZARUS: &str = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";
pub const CLEAN: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

pub struct Server {
    pub child: Child,
    pub addr: String,
    /// Everything the server printed on stderr so far.
    pub stderr: Arc<Mutex<String>>,
}

/// A response: status, headers (lowercase names), body.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

impl Server {
    /// `riskgate serve` with the default test flags: a durable store in
    /// `dir`, its own AOT cache, no clock check.
    pub fn start(dir: &Path) -> Server {
        let mut args: Vec<String> = vec!["--velocity".into()];
        args.push(dir.join("velocity").display().to_string());
        args.extend([
            "--no-clock-check".into(),
            "--deadline-us".into(),
            "250000".into(),
        ]);
        args.push("--cache-dir".into());
        args.push(dir.join("cache").display().to_string());
        Server::spawn(&args).expect("serve starts")
    }

    /// `riskgate serve --config FILE`.
    pub fn with_config(config: &Path) -> Result<Server, (i32, String)> {
        Server::spawn(&["--config".to_string(), config.display().to_string()])
    }

    /// `riskgate serve --listen 127.0.0.1:0 ARGS`; Err(exit status, stderr)
    /// when it exits before listening.
    pub fn spawn(args: &[String]) -> Result<Server, (i32, String)> {
        Server::spawn_env(args, &[])
    }

    /// `riskgate serve --listen 127.0.0.1:0 ARGS` with `env` set.
    pub fn spawn_env(args: &[String], env: &[(&str, &str)]) -> Result<Server, (i32, String)> {
        Server::spawn_at("127.0.0.1:0", args, env)
    }

    /// `riskgate serve --listen LISTEN ARGS` with `env` set, once it
    /// listens: `addr` is `HOST:PORT` for TCP, `unix:PATH` for a socket.
    pub fn spawn_at(
        listen: &str,
        args: &[String],
        env: &[(&str, &str)],
    ) -> Result<Server, (i32, String)> {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", listen])
            .args(args)
            .env_remove("RISKGATE_LOG")
            .env_remove("RISKGATE_NO_CLOCK_CHECK")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn riskgate serve");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut line = String::new();
        let addr = loop {
            line.clear();
            if err.read_line(&mut line).unwrap_or(0) == 0 {
                let status = child.wait().unwrap();
                let text = stderr.lock().unwrap().clone();
                return Err((status.code().unwrap_or(-1), text));
            }
            stderr.lock().unwrap().push_str(&line);
            if let Some((_, at)) = line.split_once("listening on ") {
                let at = at.trim();
                break at.strip_prefix("http://").unwrap_or(at).to_string();
            }
        };
        // Keep draining stderr so the server never blocks on it.
        let keep = stderr.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while err.read_line(&mut line).unwrap_or(0) > 0 {
                keep.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        Ok(Server {
            child,
            addr,
            stderr,
        })
    }

    /// One request on a new connection.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        self.try_request(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// One request; Err when the connection fails or no response comes.
    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response, String> {
        let mut s = TcpStream::connect(&self.addr).map_err(|e| e.to_string())?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
        // A server may answer (413) before reading all of a big body.
        let _ = s.write_all(body);
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw).to_string();
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("not a response: {text:?}"))?;
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let headers = head
            .lines()
            .skip(1)
            .filter_map(|l| {
                let (k, v) = l.split_once(':')?;
                Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
            })
            .collect();
        Ok(Response {
            status,
            headers,
            body: body.to_string(),
        })
    }

    /// One request; (status, content type, body).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        ctype: Option<&str>,
        body: &[u8],
    ) -> (u16, String, String) {
        let headers: Vec<(&str, &str)> = ctype.map(|c| ("Content-Type", c)).into_iter().collect();
        let r = self.request(method, path, &headers, body);
        let ctype = r.header("content-type").unwrap_or_default().to_string();
        (r.status, ctype, r.body)
    }

    pub fn json(&self, method: &str, path: &str, body: &Value) -> (u16, String, Value) {
        let (status, ctype, text) = self.call(
            method,
            path,
            Some("application/json"),
            body.to_string().as_bytes(),
        );
        let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        (status, ctype, value)
    }

    /// POST /v1/evaluate.
    pub fn evaluate(&self, body: &Value) -> Response {
        self.request(
            "POST",
            "/v1/evaluate",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
    }

    /// POST /v1/admin/reload with `token`.
    pub fn reload(&self, token: &str) -> Response {
        let auth = format!("Bearer {token}");
        self.request("POST", "/v1/admin/reload", &[("Authorization", &auth)], b"")
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A withdrawal of 1000 wei worth $5 from `account`.
pub fn withdrawal_from(id: &str, account: &str, destination: &str) -> Value {
    json!({
        "id": id, "account": account, "asset": "ETH", "chain": "ethereum",
        "destination": destination, "amount": "1000", "decimals": 18,
        "usd_cents": 500, "requested_at": 1_795_564_800_000u64,
        "destination_first_used_at": 1_790_000_000_000u64,
    })
}

pub fn withdrawal(id: &str, destination: &str) -> Value {
    withdrawal_from(id, "acct-1", destination)
}

/// Runs `drive` against a chromedriver on a free port (headless chromium
/// through fantoccini), then stops it; a panic in `drive` is the test's.
/// Without chromedriver on PATH answers false (skipped, with a note naming
/// `what`), except in CI (`CI` set), where `.ci/run` installs it.
pub fn with_chromedriver<F: std::future::Future<Output = ()>>(
    what: &str,
    drive: impl FnOnce(u16) -> F,
) -> bool {
    let Some(driver) = find_on_path("chromedriver") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromedriver is not installed (apt-get install chromium chromium-driver)"
        );
        eprintln!("note: chromedriver not found; {what} is skipped");
        return false;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(drive(port))
    }));
    let _ = child.kill();
    let _ = child.wait();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    true
}

/// The first file `name` in a directory of PATH.
pub fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A headless chromium session through the chromedriver on `port` (see
/// [`with_chromedriver`]), with `args` added to the browser's (the window
/// size, say); chromedriver takes a moment to listen.
pub async fn browser_session(port: u16, args: &[&str]) -> fantoccini::Client {
    let mut all = vec![
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
    ];
    all.extend_from_slice(args);
    let mut options = serde_json::json!({ "args": all });
    if let Some(chromium) = find_on_path("chromium") {
        options["binary"] = serde_json::json!(chromium.display().to_string());
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    let url = format!("http://127.0.0.1:{port}");
    let mut tries = 0;
    loop {
        match fantoccini::ClientBuilder::new(
            hyper_util::client::legacy::connect::HttpConnector::new(),
        )
        .capabilities(caps.clone())
        .connect(&url)
        .await
        {
            Ok(c) => return c,
            Err(_) if tries < 50 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("chromedriver session: {e}"),
        }
    }
}

/// `riskgate velocity --velocity DIR stats account ACCOUNT`, parsed.
pub fn account_stats(dir: &Path, account: &str) -> Value {
    let out = Command::new(BIN)
        .args(["velocity", "--velocity"])
        .arg(dir)
        .args(["stats", "account", account])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
