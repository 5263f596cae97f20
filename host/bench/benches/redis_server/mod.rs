//! The Redis server a benchmark runs against: `$RISKGATE_BENCH_REDIS` or
//! `$RISKGATE_TEST_REDIS` when set, else a `redis-server` started on a free
//! loopback port (no persistence) and killed when dropped.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child, killed on drop.
pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The Redis URL to use and the server to keep alive, or why there is none.
pub fn redis() -> Result<(String, Option<Server>), String> {
    for var in ["RISKGATE_BENCH_REDIS", "RISKGATE_TEST_REDIS"] {
        if let Ok(url) = std::env::var(var)
            && !url.is_empty()
        {
            return Ok((url, None));
        }
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string()])
        .args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("redis-server not found ({e}); .ci/run installs it"))?;
    let server = Server(child);
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(10) {
            return Err("redis-server did not start".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((format!("redis://127.0.0.1:{port}"), Some(server)))
}
