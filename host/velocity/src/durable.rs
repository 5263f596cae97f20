//! The embedded durable store: the in-memory index of [`MemoryStore`],
//! rebuilt at start from a write-ahead log ([`super::wal`]) that every
//! commit and release is written to, and synced, before it is applied.
//!
//! A commit appends its record to the log and applies it to the index at
//! once, under its keys' locks; its [`Durable`] says when the record is on
//! disk (a writer thread syncs the log, one `fdatasync` for every record
//! appended meanwhile: concurrent decisions and the decisions of one
//! request share it). [`Store::commit`] waits for it; the gate's deferred
//! path ([`Store::commit_deferred`]) unlocks first and waits before the
//! decision is returned, so no returned decision is lost by a crash at
//! any point.
//!
//! What a later decision sees before an earlier record is on disk is safe:
//! it can only see more history (the earlier contribution), and its own
//! record comes after the earlier one in the log, so it is never on disk
//! without it. A decision found recorded (a retry, a review) is handed out
//! only once the log is synced past it ([`DurableStore::recorded`] waits).
//! A failed write poisons the store: every record not yet on disk fails
//! (the gate turns its ALLOW into HOLD `gate.velocity_unavailable`), and
//! every later call fails with [`VelocityError::Unavailable`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::checkpoint::{self, CheckpointReport};
use super::memory::ReplayScratch;
use super::record::{LogRecord, PartsRef};
use super::wal::{Replayed, Wal, WalError};
use super::{
    Commit, Exclusive, HoldQuery, KeyStats, MemoryStore, Recorded, Released, Store, VelocityError,
    WindowStats,
};
use riskgate_storage::log::Ticket;

pub use super::wal::WalError as DurableError;

/// When a change a store recorded is on disk. The change is visible at
/// once (later reads count it); whatever was decided on it must not be
/// handed out before [`wait`](Self::wait) or [`settled`](Self::settled)
/// says `Ok`. An error means the record may not be on disk: what it
/// recorded must not be taken as recorded.
#[must_use = "a deferred record must be waited for before its decision is given out"]
pub struct Durable(Option<(Ticket<String>, Arc<Shared>)>);

impl std::fmt::Debug for Durable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Durable")
            .field(&self.0.as_ref().map(|(t, _)| t.seq()))
            .finish()
    }
}

impl Durable {
    /// Already on disk (a store whose commits are durable on return).
    pub fn settled_now() -> Self {
        Durable(None)
    }

    /// Whether it is known to be on disk already, without waiting.
    pub fn is_settled(&self) -> bool {
        self.0
            .as_ref()
            .is_none_or(|(t, _)| matches!(t.result(), Some(Ok(()))))
    }

    /// Blocks until the record is on disk, or the log failed.
    pub fn wait(&self) -> Result<(), VelocityError> {
        match &self.0 {
            None => Ok(()),
            Some((ticket, s)) => s.wal.wait(ticket).map_err(unavailable),
        }
    }

    /// [`wait`](Self::wait) without blocking a thread.
    pub fn settled(self) -> impl std::future::Future<Output = Result<(), VelocityError>> {
        let committed = self.0.map(|(ticket, s)| {
            s.wal.demand(&ticket);
            ticket.committed()
        });
        async move {
            match committed {
                None => Ok(()),
                Some(c) => c.await.map_err(|why| unavailable(WalError::Poisoned(why))),
            }
        }
    }
}

/// Settings of a [`DurableStore`].
#[derive(Debug, Clone)]
pub struct DurableOptions {
    /// History kept, ms (the longest window a policy may ask for).
    pub retention_ms: u64,
    /// Size at which a log segment is sealed and the next one started.
    pub segment_bytes: u64,
    /// Records (commits and releases) between two automatic checkpoints,
    /// each written in the background; 0 for none (only
    /// [`DurableStore::checkpoint`]).
    pub checkpoint_every: u64,
}

impl Default for DurableOptions {
    fn default() -> Self {
        DurableOptions {
            retention_ms: super::DEFAULT_RETENTION_MS,
            segment_bytes: 64 << 20,
            checkpoint_every: 1_000_000,
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
    /// Why a checkpoint was refused (and moved aside as
    /// `checkpoint.damaged`); the whole log was replayed instead.
    pub checkpoint_refused: Option<String>,
    /// Decisions and keys in the rebuilt index.
    pub decisions: usize,
    pub keys: usize,
    pub took: Duration,
}

/// The durable velocity store of one directory.
pub struct DurableStore {
    s: Arc<Shared>,
    /// The log's writer thread ([`Wal::run`]).
    writer: Option<JoinHandle<()>>,
    /// The automatic checkpoint running in the background, if any.
    worker: Mutex<Option<JoinHandle<()>>>,
    checkpoint_every: u64,
    /// Records logged since the last automatic checkpoint started.
    since: AtomicU64,
}

/// What the store and its background checkpoint share.
struct Shared {
    dir: PathBuf,
    mem: MemoryStore,
    wal: Wal,
    /// Held shared by every commit and release from its log append to its
    /// application, and exclusively by a checkpoint's cut: at the cut, no
    /// record is in the log and missing from the index.
    in_flight: RwLock<()>,
    /// One checkpoint at a time.
    checkpointing: Mutex<()>,
    /// Set when the store is dropped: a checkpoint in progress stops.
    closing: AtomicBool,
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
        // A damaged checkpoint is moved aside and the whole log replayed:
        // the log before a checkpoint is kept until it ages out.
        let (loaded, refused) = match checkpoint::read(dir, options.retention_ms) {
            Ok(loaded) => (loaded, None),
            Err(e @ WalError::Corrupt { .. }) => {
                let (from, to) = (dir.join(checkpoint::FILE), dir.join(checkpoint::DAMAGED));
                std::fs::rename(&from, &to).map_err(|source| WalError::Io {
                    path: from.clone(),
                    source,
                })?;
                tracing::warn!("{e}; moved to {}, rebuilding from the log", to.display());
                (None, Some(e.to_string()))
            }
            Err(e) => return Err(e),
        };
        let (from, before, mem) = match loaded {
            Some(l) => (Some(l.segment), l.before, l.mem),
            None => (None, Vec::new(), MemoryStore::new(options.retention_ms)),
        };
        let mut scratch = ReplayScratch::default();
        let mut apply = |records: &[&[u8]], first: u64| mem.replay(records, first, &mut scratch);
        let (wal, replayed) = Wal::open(
            dir,
            lock,
            options.segment_bytes,
            from.unwrap_or(0),
            &before,
            &mut apply,
        )?;
        mem.finish_replay().map_err(|e| WalError::Corrupt {
            path: dir.to_path_buf(),
            offset: 0,
            reason: format!("a recorded decision cannot be read: {e}"),
        })?;
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
            checkpoint_refused: refused,
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
        let s = Arc::new(Shared {
            dir: dir.to_path_buf(),
            mem,
            wal,
            in_flight: RwLock::new(()),
            checkpointing: Mutex::new(()),
            closing: AtomicBool::new(false),
        });
        let writer = {
            let s = Arc::clone(&s);
            std::thread::Builder::new()
                .name("velocity-log".into())
                .spawn(move || s.wal.run())
                .map_err(|source| WalError::Io {
                    path: dir.to_path_buf(),
                    source,
                })?
        };
        Ok((
            DurableStore {
                s,
                writer: Some(writer),
                worker: Mutex::new(None),
                checkpoint_every: options.checkpoint_every,
                since: AtomicU64::new(0),
            },
            report,
        ))
    }

    /// The in-memory index.
    pub fn index(&self) -> &MemoryStore {
        &self.s.mem
    }

    /// Log segment files on disk.
    pub fn segment_count(&self) -> usize {
        self.s.wal.segment_count()
    }

    /// Log syncs since open: with concurrent or deferred commits, fewer
    /// than commits (group commit).
    pub fn syncs(&self) -> u64 {
        self.s.wal.syncs()
    }

    /// When every record appended so far is on disk.
    pub fn barrier(&self) -> Durable {
        Durable(Some((self.s.wal.barrier(), Arc::clone(&self.s))))
    }

    /// Makes the next log write fail as a full disk would; the store is then
    /// unavailable until reopened. For tests of the failure path.
    #[doc(hidden)]
    pub fn fail_next_write(&self) {
        self.s.wal.fail_next_write();
    }

    /// Writes a checkpoint of the index now (see [`Shared::checkpoint`]):
    /// the next open loads it and replays only the log after it.
    pub fn checkpoint(&self) -> Result<CheckpointReport, WalError> {
        self.s.checkpoint()
    }

    /// After a record is logged: every `checkpoint_every` records, starts a
    /// checkpoint in the background unless one is running.
    fn count_record(&self) {
        if self.checkpoint_every == 0 {
            return;
        }
        if self.since.fetch_add(1, Ordering::Relaxed) + 1 < self.checkpoint_every {
            return;
        }
        // Another commit is starting one, or one is still running: commits
        // do not queue on this lock.
        let mut worker = match self.worker.try_lock() {
            Ok(w) => w,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return,
        };
        if worker.as_ref().is_some_and(|w| !w.is_finished()) {
            return;
        }
        self.since.store(0, Ordering::Relaxed);
        let shared = Arc::clone(&self.s);
        *worker = Some(std::thread::spawn(move || {
            if let Err(e) = shared.checkpoint()
                && !shared.closing.load(Ordering::Acquire)
            {
                tracing::warn!("velocity checkpoint failed: {e}");
            }
        }));
    }
}

impl Drop for DurableStore {
    fn drop(&mut self) {
        self.s.closing.store(true, Ordering::Release);
        if let Some(worker) = super::lock(&self.worker).take() {
            let _ = worker.join();
        }
        // What is appended is flushed, then the writer returns.
        self.s.wal.close();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Shared {
    /// Appends `bytes` and waits until they are on disk; their sequence
    /// number.
    fn write(&self, bytes: &[u8], ts: u64) -> Result<u64, VelocityError> {
        let ticket = self.wal.append(bytes, ts).map_err(unavailable)?;
        self.wal.wait(&ticket).map_err(unavailable)?;
        Ok(ticket.seq())
    }

    /// Waits until every record appended so far is on disk.
    fn sync_all(&self) -> Result<(), WalError> {
        self.wal.wait(&self.wal.barrier())
    }

    /// Writes a checkpoint of the index: the next open loads it and
    /// replays only the log after it (the log before it stays until it
    /// ages out). Commits go on while it is written (each shard is held
    /// only while it is copied); they pause only for the cut itself.
    fn checkpoint(&self) -> Result<CheckpointReport, WalError> {
        let _one = super::lock(&self.checkpointing);
        let cut = {
            let _quiet = self.in_flight.write().unwrap_or_else(|p| p.into_inner());
            self.wal.check()?;
            // Every record appended is applied (none is between its append
            // and its application); on disk too before the cut.
            self.sync_all()?;
            let cut = self.wal.cut()?;
            self.mem.begin_cut();
            cut
        };
        let written = checkpoint::write(
            &self.dir,
            cut.segment,
            cut.lsn,
            &cut.before,
            &self.mem,
            self.mem.shard_count(),
            &self.closing,
            // The shards copied may hold records applied after the cut and
            // not yet on disk: the checkpoint stands only once they are.
            &|| self.sync_all(),
        );
        self.mem.end_cut();
        let report = written?;
        self.wal.set_floor(cut.segment)?;
        Ok(report)
    }

    fn shared(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.in_flight.read().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for DurableStore {
    fn describe(&self) -> String {
        format!("durable:{}", self.s.dir.display())
    }

    fn retention_ms(&self) -> u64 {
        self.s.mem.retention_ms()
    }

    /// The recorded decision, once its record is on disk: one committed
    /// deferred may be visible before (a retry, a review or a release
    /// finding it waits for the log to be synced past it).
    fn recorded(&self, id: &str) -> Result<Option<Recorded>, VelocityError> {
        self.s.wal.check().map_err(unavailable)?;
        let recorded = self.s.mem.recorded(id)?;
        if recorded.is_some() {
            self.s.sync_all().map_err(unavailable)?;
        }
        Ok(recorded)
    }

    fn window(
        &self,
        key: &str,
        asset: &str,
        t: u64,
        window_ms: u64,
    ) -> Result<WindowStats, VelocityError> {
        self.s.wal.check().map_err(unavailable)?;
        self.s.mem.window(key, asset, t, window_ms)
    }

    fn windows(
        &self,
        key: &str,
        asset: &str,
        t: u64,
        windows_ms: &[u64],
        answer: &mut dyn FnMut(usize, Result<WindowStats, VelocityError>),
    ) {
        match self.s.wal.check().map_err(unavailable) {
            Ok(()) => self.s.mem.windows(key, asset, t, windows_ms, answer),
            Err(e) => {
                for i in 0..windows_ms.len() {
                    answer(i, Err(e.clone()));
                }
            }
        }
    }

    fn commit(&self, commit: &Commit<'_>, exclusive: Exclusive) -> Result<(), VelocityError> {
        self.commit_deferred(commit, exclusive)?.wait()
    }

    /// Appends the record and applies it at once (visible to every later
    /// read); the record is on disk once the returned [`Durable`] says so.
    fn commit_deferred(
        &self,
        commit: &Commit<'_>,
        _exclusive: Exclusive,
    ) -> Result<Durable, VelocityError> {
        self.s.wal.check().map_err(unavailable)?;
        let encoded = self.s.mem.encode(commit)?;
        let in_flight = self.s.shared();
        // Aged by the later of its times: an approval's event counts from
        // the approval, so its segment must outlive that.
        let ticket = self
            .s
            .wal
            .append(&encoded.bytes, commit.event_ts().max(commit.requested_at))
            .map_err(unavailable)?;
        // Appended (so any record that sees it comes after it in the log):
        // now visible.
        self.s
            .mem
            .apply_commit(commit, &encoded, Some(ticket.seq()))
            .map_err(VelocityError::from)?;
        self.s.wal.set_cutoff(
            self.s
                .mem
                .newest()
                .saturating_sub(self.s.mem.retention_ms()),
        );
        drop(in_flight);
        self.count_record();
        Ok(Durable(Some((ticket, Arc::clone(&self.s)))))
    }

    fn release(&self, id: &str) -> Result<Released, VelocityError> {
        self.s.wal.check().map_err(unavailable)?;
        let recorded = self
            .s
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
        .map_err(VelocityError::from)?;
        // Aged as the commit it undoes: an approved hold's event counts
        // from its approval, and its release must outlive the record that
        // added it (else a replay from the log counts it again).
        let aged = recorded
            .contribution
            .as_ref()
            .map_or(recorded.requested_at, |c| c.ts.max(recorded.requested_at));
        let in_flight = self.s.shared();
        let seq = self.s.write(&bytes, aged)?;
        let released = self.s.mem.remove(id, Some(seq));
        drop(in_flight);
        self.count_record();
        released
            .map_err(VelocityError::from)?
            .ok_or_else(|| VelocityError::UnknownId(id.to_string()))
    }

    fn key_stats(&self, key: &str) -> Result<KeyStats, VelocityError> {
        self.s.wal.check().map_err(unavailable)?;
        self.s.mem.key_stats(key)
    }

    /// The holds, once every record listed is on disk (see
    /// [`recorded`](Self::recorded)).
    fn holds(&self, query: &HoldQuery) -> Result<Vec<Recorded>, VelocityError> {
        self.s.wal.check().map_err(unavailable)?;
        let holds = self.s.mem.holds(query)?;
        if !holds.is_empty() {
            self.s.sync_all().map_err(unavailable)?;
        }
        Ok(holds)
    }
}
