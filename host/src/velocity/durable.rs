//! The embedded durable store: the in-memory index of [`MemoryStore`],
//! rebuilt at start from a write-ahead log ([`super::wal`]) that every
//! commit and release is written to, and synced, before it is applied.
//!
//! A commit returns only once its record is on disk (group commit shares
//! one `fdatasync` between concurrent commits), so no returned decision is
//! lost by a crash at any point. A failed write poisons the store: every
//! later call fails with [`VelocityError::Unavailable`] and the gate holds.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::memory::ReplayScratch;
use super::record::LogRecord;
use super::wal::{Replayed, Wal, WalError};
use super::{
    Commit, Exclusive, KeyStats, MemoryStore, Recorded, Released, Store, VelocityError, WindowStats,
};

pub use super::wal::WalError as DurableError;

/// Settings of a [`DurableStore`].
#[derive(Debug, Clone)]
pub struct DurableOptions {
    /// History kept, ms (the longest window a policy may ask for).
    pub retention_ms: u64,
    /// Size at which a log segment is sealed and the next one started.
    pub segment_bytes: u64,
}

impl Default for DurableOptions {
    fn default() -> Self {
        DurableOptions {
            retention_ms: super::DEFAULT_RETENTION_MS,
            segment_bytes: 64 << 20,
        }
    }
}

/// What opening a store found.
#[derive(Debug, Clone, Serialize)]
pub struct RecoveryReport {
    pub dir: PathBuf,
    pub segments: usize,
    pub records: u64,
    pub bytes: u64,
    /// Bytes of a record cut short by a crash, removed at open.
    pub truncated_tail: u64,
    /// Decisions and keys in the rebuilt index.
    pub decisions: usize,
    pub keys: usize,
    pub took: Duration,
}

/// The durable velocity store of one directory.
pub struct DurableStore {
    dir: PathBuf,
    mem: MemoryStore,
    wal: Wal,
}

fn unavailable(e: WalError) -> VelocityError {
    VelocityError::Unavailable(e.to_string())
}

impl DurableStore {
    /// Opens (or creates) the store in `dir` and rebuilds its index from
    /// the log. A corrupt log is an error naming the file and offset; a
    /// record cut short by a crash at the end is dropped and reported.
    pub fn open(dir: &Path, options: DurableOptions) -> Result<(Self, RecoveryReport), WalError> {
        let started = Instant::now();
        let mem = MemoryStore::new(options.retention_ms);
        let mut scratch = ReplayScratch::default();
        let mut apply = |records: &[&[u8]]| mem.replay(records, &mut scratch);
        let (wal, replayed) = Wal::open(dir, options.segment_bytes, &mut apply)?;
        mem.finish_replay();
        let Replayed {
            segments,
            records,
            bytes,
            truncated_tail,
        } = replayed;
        wal.set_cutoff(mem.newest().saturating_sub(options.retention_ms));
        let report = RecoveryReport {
            dir: dir.to_path_buf(),
            segments,
            records,
            bytes,
            truncated_tail,
            decisions: mem.decision_count(),
            keys: mem.key_count(),
            took: started.elapsed(),
        };
        if truncated_tail > 0 {
            tracing::warn!(
                "velocity store {}: dropped {truncated_tail} bytes of a record cut short by a crash",
                dir.display()
            );
        }
        Ok((
            DurableStore {
                dir: dir.to_path_buf(),
                mem,
                wal,
            },
            report,
        ))
    }

    /// The in-memory index.
    pub fn index(&self) -> &MemoryStore {
        &self.mem
    }

    /// Log segment files on disk.
    pub fn segment_count(&self) -> usize {
        self.wal.segment_count()
    }

    /// Log syncs since open: with concurrent commits, fewer than commits
    /// (group commit).
    pub fn syncs(&self) -> u64 {
        self.wal.syncs()
    }

    /// Makes the next log write fail as a full disk would; the store is then
    /// unavailable until reopened. For tests of the failure path.
    #[doc(hidden)]
    pub fn fail_next_write(&self) {
        self.wal.fail_next_write();
    }

    /// Appends `bytes` and waits until they are on disk.
    fn write(&self, bytes: &[u8], ts: u64) -> Result<(), VelocityError> {
        let seq = self.wal.append(bytes, ts).map_err(unavailable)?;
        self.wal.wait(seq).map_err(unavailable)
    }
}

impl Store for DurableStore {
    fn describe(&self) -> String {
        format!("durable:{}", self.dir.display())
    }

    fn retention_ms(&self) -> u64 {
        self.mem.retention_ms()
    }

    fn recorded(&self, id: &str) -> Result<Option<Recorded>, VelocityError> {
        self.wal.check().map_err(unavailable)?;
        self.mem.recorded(id)
    }

    fn window(
        &self,
        key: &str,
        asset: &str,
        t: u64,
        window_ms: u64,
    ) -> Result<WindowStats, VelocityError> {
        self.wal.check().map_err(unavailable)?;
        self.mem.window(key, asset, t, window_ms)
    }

    fn commit(&self, commit: &Commit<'_>, _exclusive: Exclusive) -> Result<(), VelocityError> {
        self.wal.check().map_err(unavailable)?;
        let encoded = self.mem.encode(commit)?;
        self.write(&encoded.bytes, commit.requested_at)?;
        // On disk: now visible.
        self.mem
            .apply_commit(commit, &encoded)
            .map_err(VelocityError::Unavailable)?;
        self.wal
            .set_cutoff(self.mem.newest().saturating_sub(self.mem.retention_ms()));
        Ok(())
    }

    fn release(&self, id: &str) -> Result<Released, VelocityError> {
        self.wal.check().map_err(unavailable)?;
        let recorded = self
            .mem
            .recorded(id)?
            .ok_or_else(|| VelocityError::UnknownId(id.to_string()))?;
        let bytes = LogRecord::Released {
            id,
            requested_at: recorded.requested_at,
        }
        .encode()
        .map_err(VelocityError::Unavailable)?;
        self.write(&bytes, recorded.requested_at)?;
        self.mem
            .remove(id)
            .map_err(VelocityError::Unavailable)?
            .ok_or_else(|| VelocityError::UnknownId(id.to_string()))
    }

    fn key_stats(&self, key: &str) -> Result<KeyStats, VelocityError> {
        self.wal.check().map_err(unavailable)?;
        self.mem.key_stats(key)
    }
}
