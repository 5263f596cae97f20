//! The embedded durable store: the in-memory index of [`MemoryStore`],
//! rebuilt at start from a write-ahead log ([`super::wal`]) that every
//! commit and release is written to, and synced, before it is applied.
//!
//! A commit returns only once its record is on disk (group commit shares
//! one `fdatasync` between concurrent commits), so no returned decision is
//! lost by a crash at any point. A failed write poisons the store: every
//! later call fails with [`VelocityError::Unavailable`] and the gate holds.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::checkpoint::{self, CheckpointReport};
use super::memory::ReplayScratch;
use super::record::{LogRecord, PartsRef};
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
    /// The checkpoint loaded (the first segment after its cut), if any;
    /// `records` then counts the records replayed after it.
    pub checkpoint: Option<u64>,
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
    /// Held shared by every commit and release from its log append to its
    /// application, and exclusively by a checkpoint's cut: at the cut, no
    /// record is in the log and missing from the index.
    in_flight: RwLock<()>,
    /// One checkpoint at a time.
    checkpointing: Mutex<()>,
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
        std::fs::create_dir_all(dir).map_err(|source| WalError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let lock = Wal::lock_dir(dir)?;
        let (from, mem) = match checkpoint::read(dir, options.retention_ms)? {
            Some((segment, mem)) => (Some(segment), mem),
            None => (None, MemoryStore::new(options.retention_ms)),
        };
        let mut scratch = ReplayScratch::default();
        let mut apply = |records: &[&[u8]], first: u64| mem.replay(records, first, &mut scratch);
        let (wal, replayed) = Wal::open(
            dir,
            lock,
            options.segment_bytes,
            from.unwrap_or(0),
            &mut apply,
        )?;
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
            checkpoint: from,
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
                in_flight: RwLock::new(()),
                checkpointing: Mutex::new(()),
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

    /// Appends `bytes` and waits until they are on disk; their sequence
    /// number.
    fn write(&self, bytes: &[u8], ts: u64) -> Result<u64, VelocityError> {
        let seq = self.wal.append(bytes, ts).map_err(unavailable)?;
        self.wal.wait(seq).map_err(unavailable)?;
        Ok(seq)
    }

    /// Writes a checkpoint of the index: the next open loads it and
    /// replays only the log after it, and the log segments before it are
    /// deleted. Commits go on while it is written (each shard is held only
    /// while it is copied); they pause only for the cut itself.
    pub fn checkpoint(&self) -> Result<CheckpointReport, WalError> {
        let _one = super::lock(&self.checkpointing);
        let (segment, cut_lsn) = {
            let _quiet = self.in_flight.write().unwrap_or_else(|p| p.into_inner());
            self.wal.check()?;
            let cut = self.wal.cut()?;
            self.mem.begin_cut();
            cut
        };
        let written = checkpoint::write(
            &self.dir,
            segment,
            cut_lsn,
            &self.mem,
            self.mem.shard_count(),
        );
        self.mem.end_cut();
        let report = written?;
        self.wal.set_floor(segment)?;
        Ok(report)
    }

    fn shared(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.in_flight.read().unwrap_or_else(|p| p.into_inner())
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
        let _in_flight = self.shared();
        let seq = self.write(&encoded.bytes, commit.requested_at)?;
        // On disk: now visible.
        self.mem
            .apply_commit(commit, &encoded, Some(seq))
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
        let bytes = LogRecord::Withdrawn {
            id,
            requested_at: recorded.requested_at,
            parts: PartsRef::of(&recorded.parts),
            contribution: recorded.contribution.clone(),
        }
        .encode()
        .map_err(VelocityError::Unavailable)?;
        let _in_flight = self.shared();
        let seq = self.write(&bytes, recorded.requested_at)?;
        self.mem
            .remove(id, Some(seq))
            .map_err(VelocityError::Unavailable)?
            .ok_or_else(|| VelocityError::UnknownId(id.to_string()))
    }

    fn key_stats(&self, key: &str) -> Result<KeyStats, VelocityError> {
        self.wal.check().map_err(unavailable)?;
        self.mem.key_stats(key)
    }
}
