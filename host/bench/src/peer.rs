//! The Extism peer as `riskgate bench` drives it: a child process (the
//! crate in `bench/extism/`, kept out of the main build) that builds the same
//! workload and decides one round of the stream when told, so its rounds
//! interleave with the in-process contenders'.

use riskgate::model::Verdict;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// Where the peer's sources are, when running from the repository.
pub fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/extism")
}

/// Builds the peer (release, in `target/extism` of the repository) and
/// returns its binary. The first build compiles Extism's own wasmtime.
pub fn build() -> Result<PathBuf, String> {
    let src = source_dir();
    let manifest = src.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(format!("no Extism peer sources at {}", src.display()));
    }
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/extism");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run cargo to build the Extism peer: {e}"))?;
    if !status.success() {
        return Err(format!("building the Extism peer failed ({status})"));
    }
    Ok(target.join("release/riskgate-extism-peer"))
}

pub struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

fn io(e: std::io::Error) -> String {
    format!("Extism peer: {e}")
}

impl Peer {
    /// Starts the peer on the workload of these parameters.
    pub fn spawn(
        binary: &Path,
        set_size: usize,
        withdrawals: usize,
        seed: u64,
        rounds: usize,
    ) -> Result<Self, String> {
        let mut child = Command::new(binary)
            .args([
                set_size.to_string(),
                withdrawals.to_string(),
                seed.to_string(),
                rounds.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the Extism peer {}: {e}", binary.display()))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut peer = Peer {
            child,
            stdin,
            stdout,
        };
        let ready = peer.line()?;
        if ready != "ready" {
            return Err(format!("Extism peer did not start: `{ready}`"));
        }
        Ok(peer)
    }

    fn line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line).map_err(io)? == 0 {
            return Err("the Extism peer exited".into());
        }
        Ok(line.trim_end().to_string())
    }

    fn ask(&mut self, command: &str) -> Result<(), String> {
        writeln!(self.stdin, "{command}").map_err(io)?;
        self.stdin.flush().map_err(io)
    }

    /// Decides round `i`: each decision's latency (ns) and verdict.
    pub fn round(&mut self, i: usize) -> Result<(Vec<u64>, Vec<Verdict>), String> {
        self.ask(&format!("round {i}"))?;
        let latencies = self
            .line()?
            .split_whitespace()
            .map(|n| n.parse().map_err(|_| format!("bad latency `{n}`")))
            .collect::<Result<Vec<u64>, String>>()?;
        let verdicts = self
            .line()?
            .chars()
            .map(|c| match c {
                'a' => Ok(Verdict::Allow),
                'h' => Ok(Verdict::Hold),
                'd' => Ok(Verdict::Deny),
                _ => Err(format!("bad verdict `{c}`")),
            })
            .collect::<Result<Vec<_>, String>>()?;
        if latencies.len() != verdicts.len() {
            return Err("Extism peer answered a short round".into());
        }
        Ok((latencies, verdicts))
    }

    /// Decisions per second over the whole stream on `threads`.
    pub fn parallel(&mut self, threads: usize) -> Result<f64, String> {
        self.ask(&format!("parallel {threads}"))?;
        let line = self.line()?;
        line.parse()
            .map_err(|_| format!("bad rate `{line}` from the Extism peer"))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
