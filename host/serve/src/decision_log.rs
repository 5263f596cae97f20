//! The decision log: one JSON line per decision, for compliance and replay.
//!
//! Callers hand a finished line to [`DecisionLog::append`], which returns
//! once the line is written: to the operating system (it survives a crash
//! of the process), and with `durable` also synced to disk (it survives a
//! crash of the machine). A background writer takes every line queued
//! while it was busy and writes them with one `write` and at most one
//! `fdatasync` (group commit, [`GroupCommit`]), so concurrent callers share
//! the cost.
//!
//! A failed write (a full disk, say) fails the append of every line in that
//! batch; the caller must not report the decision as final (the service
//! answers HOLD `gate.log_unavailable`). The file is cut back to its length
//! before the failed batch, so no torn line is left between records; the
//! next batch tries again.
//!
//! Files: `DIR/decisions.jsonl` is written; at `max_bytes` it is renamed
//! `DIR/decisions-NNNNNNNN.jsonl` (numbered upwards) and a new one started;
//! with `keep > 0` only the newest `keep` rotated files are kept. `DIR/LOCK`
//! holds one writer per directory.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use crate::record::RECORD_VERSION;
use riskgate_storage::lock::{DirLock, LockError};
use riskgate_storage::log::{GroupCommit, OnFailure, Ticket};

/// The file being written.
pub const ACTIVE: &str = "decisions.jsonl";

/// Default size at which the file is rotated.
pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;

/// Errors of the decision log.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum LogError {
    #[error("decision log {path}: {message}")]
    Io { path: String, message: String },
    #[error("decision log {0} is in use by another process")]
    Locked(String),
    #[error("the decision log is closed")]
    Closed,
}

/// Where and how the log is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    pub dir: PathBuf,
    /// Sync every batch to disk before its appends return.
    pub durable: bool,
    /// Rotate the file once it reaches this many bytes.
    pub max_bytes: u64,
    /// Rotated files kept (0: all).
    pub keep: usize,
}

impl LogOptions {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LogOptions {
            dir: dir.into(),
            durable: false,
            max_bytes: DEFAULT_MAX_BYTES,
            keep: 0,
        }
    }
}

/// Where batches go: the log files, or a test double.
pub trait Sink: Send {
    /// Appends `bytes` to the current file.
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Syncs the current file's data.
    fn sync(&mut self) -> io::Result<()>;
    /// Cuts the current file back to `len` bytes (after a failed write).
    fn truncate(&mut self, len: u64) -> io::Result<()>;
    /// Length of the current file.
    fn len(&self) -> u64;
    /// Whether the current file is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Closes the current file under a rotated name and starts a new one.
    fn rotate(&mut self) -> io::Result<()>;
    /// Names the log in errors.
    fn describe(&self) -> String;
}

/// Counters of a log, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogStats {
    pub records: u64,
    pub bytes: u64,
    pub batches: u64,
    pub failed_batches: u64,
    pub rotations: u64,
}

/// What the log and its writer thread share.
struct Shared {
    /// Lines, batched: each batch is one write (and one sync when
    /// durable); a failed batch fails its appends only.
    log: GroupCommit<(), LogError>,
    rotations: AtomicU64,
}

/// A decision log with its background writer. Dropping it writes what is
/// queued and stops the writer.
pub struct DecisionLog {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
    describe: String,
    durable: bool,
}

impl DecisionLog {
    /// Opens (creating) the log directory and its active file.
    pub fn open(options: &LogOptions) -> Result<Self, LogError> {
        let sink = FileSink::open(options)?;
        Ok(Self::with_sink(
            Box::new(sink),
            options.durable,
            options.max_bytes,
        ))
    }

    /// A log over any sink (tests use one that fails on demand).
    pub fn with_sink(sink: Box<dyn Sink>, durable: bool, max_bytes: u64) -> Self {
        let describe = sink.describe();
        let shared = Arc::new(Shared {
            log: GroupCommit::new(OnFailure::FailBatch, 64 << 10, LogError::Closed),
            rotations: AtomicU64::new(0),
        });
        let writer = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("riskgate-decision-log".into())
                .spawn(move || write_loop(&shared, sink, durable, max_bytes))
                .expect("spawning the decision log writer")
        };
        DecisionLog {
            shared,
            writer: Some(writer),
            describe,
            durable,
        }
    }

    /// Whether appends wait for the disk.
    pub fn durable(&self) -> bool {
        self.durable
    }

    /// Where the log is written.
    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// Appends one record (a JSON object without its newline) and returns
    /// once it is written (and synced, when durable).
    pub fn append(&self, line: &[u8]) -> Result<(), LogError> {
        debug_assert!(!line.contains(&b'\n'));
        let ticket = self.shared.log.append(1, |buf, ()| {
            buf.extend_from_slice(line);
            buf.push(b'\n');
        })?;
        self.shared.log.wait(&ticket)
    }

    /// Appends `count` records already joined, each ending with a newline,
    /// in one batch: they are written, or fail, together.
    pub fn append_many(&self, lines: &[u8], count: u64) -> Result<(), LogError> {
        let ticket = self.queue(lines, count)?;
        self.shared.log.wait(&ticket)
    }

    /// [`DecisionLog::append_many`] for async callers: queues the lines at
    /// once and resolves when their batch is written, without blocking a
    /// thread meanwhile.
    pub fn append_many_async(
        &self,
        lines: &[u8],
        count: u64,
    ) -> impl std::future::Future<Output = Result<(), LogError>> + use<> {
        let queued = self.queue(lines, count);
        async move { queued?.committed().await }
    }

    fn queue(&self, lines: &[u8], count: u64) -> Result<Ticket<LogError>, LogError> {
        debug_assert!(lines.ends_with(b"\n") && count > 0);
        self.shared
            .log
            .append(count, |buf, ()| buf.extend_from_slice(lines))
    }

    pub fn stats(&self) -> LogStats {
        let batches = self.shared.log.stats();
        LogStats {
            records: batches.records,
            bytes: batches.bytes,
            batches: batches.batches,
            failed_batches: batches.failed_batches,
            rotations: self.shared.rotations.load(Ordering::Acquire),
        }
    }
}

impl Drop for DecisionLog {
    fn drop(&mut self) {
        self.shared.log.close();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

fn write_loop(shared: &Shared, mut sink: Box<dyn Sink>, durable: bool, max_bytes: u64) {
    // A failed batch that could not be cut off leaves a torn line: the next
    // batch starts on a new line.
    let mut torn = false;
    shared.log.run(|batch, ()| {
        let before = sink.len();
        let mut result = if torn { sink.write_all(b"\n") } else { Ok(()) };
        if result.is_ok() {
            torn = false;
            result = sink.write_all(batch);
        }
        if result.is_ok() && durable {
            result = sink.sync();
        }
        let result = result.map_err(|e| {
            // No torn line between records: cut the failed batch off.
            torn = sink.truncate(before).is_err();
            LogError::Io {
                path: sink.describe(),
                message: e.to_string(),
            }
        });
        // Rotated only once its data is on disk.
        if result.is_ok() && sink.len() >= max_bytes && (durable || sink.sync().is_ok()) {
            match sink.rotate() {
                Ok(()) => {
                    shared.rotations.fetch_add(1, Ordering::Release);
                }
                Err(e) => tracing::error!("rotating {}: {e}", sink.describe()),
            }
        }
        if let Err(e) = &result {
            tracing::error!("{e}");
        }
        result
    });
}

/// The log's files in a directory.
pub struct FileSink {
    dir: PathBuf,
    file: File,
    len: u64,
    durable: bool,
    keep: usize,
    _lock: DirLock,
}

fn io_err(path: &Path) -> impl Fn(io::Error) -> LogError + '_ {
    move |e| LogError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

impl FileSink {
    pub fn open(options: &LogOptions) -> Result<Self, LogError> {
        let dir = &options.dir;
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let lock = DirLock::acquire(dir).map_err(|e| match e {
            LockError::Held { dir } => LogError::Locked(dir.display().to_string()),
            LockError::Io { path, source } => io_err(&path)(source),
        })?;
        let (file, len) = open_active(dir)?;
        let mut sink = FileSink {
            dir: dir.clone(),
            file,
            len,
            durable: options.durable,
            keep: options.keep,
            _lock: lock,
        };
        // A line cut short by a crash is closed, so the next record starts
        // on a line of its own (readers skip the torn one).
        if len > 0 && last_byte(&sink.dir.join(ACTIVE))? != Some(b'\n') {
            sink.write_all(b"\n").map_err(io_err(dir))?;
        }
        Ok(sink)
    }

    fn rotated_numbers(&self) -> io::Result<Vec<u64>> {
        let mut numbers = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let name = entry?.file_name();
            if let Some(n) = name.to_str().and_then(rotated_number) {
                numbers.push(n);
            }
        }
        numbers.sort_unstable();
        Ok(numbers)
    }
}

/// The rotated file numbered `n`.
pub fn rotated_name(n: u64) -> String {
    format!("decisions-{n:08}.jsonl")
}

/// The number of a rotated file's name.
fn rotated_number(name: &str) -> Option<u64> {
    name.strip_prefix("decisions-")?
        .strip_suffix(".jsonl")?
        .parse()
        .ok()
}

fn open_active(dir: &Path) -> Result<(File, u64), LogError> {
    let path = dir.join(ACTIVE);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io_err(&path))?;
    let len = file.metadata().map_err(io_err(&path))?.len();
    Ok((file, len))
}

fn last_byte(path: &Path) -> Result<Option<u8>, LogError> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = File::open(path).map_err(io_err(path))?;
    if f.seek(SeekFrom::End(-1)).is_err() {
        return Ok(None);
    }
    let mut b = [0u8];
    match f.read_exact(&mut b) {
        Ok(()) => Ok(Some(b[0])),
        Err(_) => Ok(None),
    }
}

impl Sink for FileSink {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)?;
        self.len = len;
        Ok(())
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn rotate(&mut self) -> io::Result<()> {
        let numbers = self.rotated_numbers()?;
        let next = numbers.last().map_or(1, |n| n + 1);
        std::fs::rename(self.dir.join(ACTIVE), self.dir.join(rotated_name(next)))?;
        let (file, len) = open_active(&self.dir).map_err(io::Error::other)?;
        self.file = file;
        self.len = len;
        if self.durable {
            riskgate_storage::atomic::sync_dir(&self.dir)?;
        }
        if self.keep > 0 {
            let mut numbers = numbers;
            numbers.push(next);
            let excess = numbers.len().saturating_sub(self.keep);
            for n in &numbers[..excess] {
                std::fs::remove_file(self.dir.join(rotated_name(*n)))?;
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        self.dir.join(ACTIVE).display().to_string()
    }
}

/// Every record in a log directory, oldest first (rotated files, then the
/// active one), as parsed JSON; lines that are not JSON (a write torn by a
/// crash) are counted, not returned. A record of a format version other
/// than [`RECORD_VERSION`] is refused naming the file and the version (a
/// record without `v` is of version 1, written before records had it).
pub fn read_all(dir: &Path) -> io::Result<(Vec<serde_json::Value>, usize)> {
    let mut records = Vec::new();
    let mut torn = 0;
    for path in files(dir)? {
        let text = std::fs::read(&path)?;
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            match serde_json::from_slice::<serde_json::Value>(line) {
                Ok(record) => {
                    check_version(&path, &record)?;
                    records.push(record);
                }
                Err(_) => torn += 1,
            }
        }
    }
    Ok((records, torn))
}

/// The log files of `dir` in the order they were written: the rotated
/// ones by number, then the active one.
pub fn files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<(u64, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name == ACTIVE {
            files.push((u64::MAX, entry.path()));
        } else if let Some(n) = rotated_number(name) {
            files.push((n, entry.path()));
        }
    }
    files.sort();
    Ok(files.into_iter().map(|(_, path)| path).collect())
}

/// Refuses a record of a format version this build does not know.
fn check_version(path: &Path, record: &serde_json::Value) -> io::Result<()> {
    match record.get("v") {
        None => Ok(()),
        Some(v) if v.as_u64() == Some(u64::from(RECORD_VERSION)) => Ok(()),
        Some(v) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "decision log {}: record format version {v} is not supported (expected {RECORD_VERSION})",
                path.display()
            ),
        )),
    }
}

#[cfg(test)]
mod tests;
