//! The Extism peer as `riskgate bench` drives it: a child process (the
//! crate in `bench/extism/`, kept out of the main build) that builds the same
//! workload and decides one round of the stream when told, so its rounds
//! interleave with the in-process contenders'.

use riskgate::model::Verdict;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};

/// What went wrong building or driving the Extism peer.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("no Extism peer sources at {}", .0.display())]
    NoSources(PathBuf),
    #[error("cannot run cargo to build the Extism peer: {0}")]
    Cargo(#[source] std::io::Error),
    #[error("building the Extism peer failed ({0})")]
    Build(ExitStatus),
    #[error("cannot start the Extism peer {}: {source}", binary.display())]
    Spawn {
        binary: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    NoPipe(&'static str),
    #[error("Extism peer did not start: `{0}`")]
    NotReady(String),
    #[error("Extism peer: {0}")]
    Io(#[from] std::io::Error),
    #[error("the Extism peer exited")]
    Exited,
    #[error("bad latency `{0}`")]
    BadLatency(String),
    #[error("bad verdict `{0}`")]
    BadVerdict(char),
    #[error("Extism peer answered a short round")]
    ShortRound,
    #[error("bad rate `{0}` from the Extism peer")]
    BadRate(String),
}

/// Where the peer's sources are, when running from the repository.
pub fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/extism")
}

/// Builds the peer (release, in `target/extism` of the repository) and
/// returns its binary. The first build compiles Extism's own wasmtime.
pub fn build() -> Result<PathBuf, PeerError> {
    let src = source_dir();
    let manifest = src.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(PeerError::NoSources(src));
    }
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/extism");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target)
        .stdout(Stdio::null())
        .status()
        .map_err(PeerError::Cargo)?;
    if !status.success() {
        return Err(PeerError::Build(status));
    }
    Ok(target.join("release/riskgate-extism-peer"))
}

pub struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    /// Starts the peer on the workload of these parameters.
    pub fn spawn(
        binary: &Path,
        set_size: usize,
        withdrawals: usize,
        seed: u64,
        rounds: usize,
    ) -> Result<Self, PeerError> {
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
            .map_err(|source| PeerError::Spawn {
                binary: binary.to_path_buf(),
                source,
            })?;
        let stdin = child.stdin.take().ok_or(PeerError::NoPipe("no stdin"))?;
        let stdout = BufReader::new(child.stdout.take().ok_or(PeerError::NoPipe("no stdout"))?);
        let mut peer = Peer {
            child,
            stdin,
            stdout,
        };
        let ready = peer.line()?;
        if ready != "ready" {
            return Err(PeerError::NotReady(ready));
        }
        Ok(peer)
    }

    fn line(&mut self) -> Result<String, PeerError> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err(PeerError::Exited);
        }
        Ok(line.trim_end().to_string())
    }

    fn ask(&mut self, command: &str) -> Result<(), PeerError> {
        writeln!(self.stdin, "{command}")?;
        Ok(self.stdin.flush()?)
    }

    /// Decides round `i`: each decision's latency (ns) and verdict.
    pub fn round(&mut self, i: usize) -> Result<(Vec<u64>, Vec<Verdict>), PeerError> {
        self.ask(&format!("round {i}"))?;
        let latencies = self
            .line()?
            .split_whitespace()
            .map(|n| n.parse().map_err(|_| PeerError::BadLatency(n.to_string())))
            .collect::<Result<Vec<u64>, PeerError>>()?;
        let verdicts = self
            .line()?
            .chars()
            .map(|c| match c {
                'a' => Ok(Verdict::Allow),
                'h' => Ok(Verdict::Hold),
                'd' => Ok(Verdict::Deny),
                _ => Err(PeerError::BadVerdict(c)),
            })
            .collect::<Result<Vec<_>, PeerError>>()?;
        if latencies.len() != verdicts.len() {
            return Err(PeerError::ShortRound);
        }
        Ok((latencies, verdicts))
    }

    /// Decisions per second over the whole stream on `threads` (one: the
    /// same harness on one thread), on a fresh store, one plug-in a thread.
    pub fn parallel(&mut self, threads: usize) -> Result<f64, PeerError> {
        self.ask(&format!("parallel {threads}"))?;
        let line = self.line()?;
        line.parse().map_err(|_| PeerError::BadRate(line))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
