//! Write-ahead log with group commit.
//!
//! The log is a directory of segment files `velocity-NNNNNNNNNNNNNNNN.wal`,
//! each a format header ([`SEGMENT`]: magic `RGWAL\0\r\n`, version) and a
//! sequence of frames `[len: u32 LE][crc32: u32 LE][payload]`. A segment
//! without the header (written before segments had one) is read as frames
//! from its first byte: the magic read as a frame length is over
//! [`MAX_FRAME`], so no such segment starts with it.
//! Appends go to a shared buffer ([`GroupCommit`]); once someone waits for
//! a record, a writer thread ([`Wal::run`]) writes everything buffered so
//! far and `fdatasync`s it once, then wakes every waiter of that batch
//! (group commit): whatever was appended before the wait or while the
//! previous batch was syncing (concurrent commits, the decisions of one
//! request) shares one sync. Batches reach the file
//! in append order, so a record on disk means every record appended
//! before it is too.
//!
//! A write or sync error poisons the log: every later append fails, so no
//! decision is ever returned on a record that may not be on disk.
//!
//! Segments rotate at a size; a sealed segment whose newest record is older
//! than the retention cutoff is deleted (every record in it has aged out of
//! every window). At open, a frame cut short at the very end of the last
//! segment (a crash in the middle of a write) is truncated away and
//! reported; any other damage refuses the open.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::lock;
use riskgate_storage::bytes::ByteReader;
use riskgate_storage::header::{Format, Found, HEADER_LEN, HeaderError};
use riskgate_storage::lock::{DirLock, LockError};
use riskgate_storage::log::{GroupCommit, NotIdle, OnFailure, Ticket};

/// Largest payload accepted in a frame.
pub(super) const MAX_FRAME: usize = 1 << 20;
const HEADER: usize = 8;
/// The format header opening every segment written now.
pub(super) const SEGMENT: Format = Format {
    name: "velocity log segment",
    magic: *b"RGWAL\0\r\n",
    version: 1,
};
const PREFIX: &str = "velocity-";
const SUFFIX: &str = ".wal";

/// Errors opening or writing the log.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error("velocity store {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "velocity store {} is corrupt at byte {offset}: {reason}; \
         move the directory aside to start empty, or restore it from a backup",
        path.display()
    )]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error("velocity store {} is in use by another process", path.display())]
    Locked { path: PathBuf },
    #[error("velocity log failed earlier and refuses writes until restart: {0}")]
    Poisoned(String),
    #[error("velocity log record of {0} bytes exceeds the {MAX_FRAME}-byte frame limit")]
    TooLarge(usize),
    #[error("velocity store: {0}; it was written by another riskgate version")]
    Format(#[from] HeaderError),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> WalError + '_ {
    move |source| WalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn segment_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{PREFIX}{number:016}{SUFFIX}"))
}

fn segment_number(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    (digits.len() == 16 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// What opening found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Replayed {
    pub segments: usize,
    pub records: u64,
    pub bytes: u64,
    /// Bytes of a frame cut short by a crash, removed from the last segment.
    pub truncated_tail: u64,
}

/// A checkpoint's cut of the log.
pub(super) struct Cut {
    /// The first segment after it.
    pub segment: u64,
    /// The sequence number of the first record after it.
    pub lsn: u64,
    /// Number and newest requested-at of each segment before it.
    pub before: Vec<(u64, u64)>,
}

struct Sealed {
    number: u64,
    max_ts: u64,
}

struct Active {
    file: File,
    number: u64,
    len: u64,
    max_ts: u64,
    sealed: Vec<Sealed>,
}

/// The log of one store directory.
pub(super) struct Wal {
    dir: PathBuf,
    segment_bytes: u64,
    /// Appends, batched: each batch is written and synced once; a failed
    /// one poisons the log. The batch's `u64` is its newest requested-at.
    pending: GroupCommit<u64, String>,
    active: Mutex<Active>,
    /// Sealed segments whose newest record is older than this are deleted
    /// (while no checkpoint covers the log).
    cutoff: AtomicU64,
    /// The first segment after the newest checkpoint's cut (0: none). It
    /// and the ones after are kept whatever their age, since a replay from
    /// the cut counts their records; the ones before are deleted as they
    /// age out, as without a checkpoint, so the whole log can still
    /// rebuild the index if the checkpoint is lost.
    floor: AtomicU64,
    fail_next_write: AtomicBool,
    syncs: AtomicU64,
    /// Keeps the directory's advisory lock.
    _lock: DirLock,
}

/// Replays one segment's records, in log order, given the number of the
/// first (counted from the first segment replayed): returns their newest
/// requested-at, or the index of the first bad one and why.
pub(super) type Apply<'a> =
    dyn FnMut(&[&[u8]], u64) -> Result<u64, (usize, crate::record::RecordError)> + 'a;

/// Reads one segment's frames and hands them to `apply` as one batch;
/// returns the length of the well-formed prefix (shorter than the file
/// when the rest is a torn tail).
/// `bytes` is a buffer reused from segment to segment.
fn read_segment(
    path: &Path,
    last: bool,
    apply: &mut Apply<'_>,
    bytes: &mut Vec<u8>,
    max_ts: &mut u64,
    replayed: &mut Replayed,
) -> Result<u64, WalError> {
    bytes.clear();
    File::open(path)
        .and_then(|mut f| f.read_to_end(bytes))
        .map_err(io_err(path))?;
    let bytes = &bytes[..];
    let corrupt = |offset: usize, reason: String| WalError::Corrupt {
        path: path.to_path_buf(),
        offset: offset as u64,
        reason,
    };
    // (offset, payload) of each well-formed frame.
    let mut frames: Vec<(usize, &[u8])> = Vec::with_capacity(bytes.len() / 160);
    let mut r = ByteReader::new(bytes);
    match SEGMENT.read_or_unversioned(path, bytes) {
        Ok(Found::Current) => {
            r.take(HEADER_LEN as u64)
                .map_err(|e| corrupt(0, e.to_string()))?;
        }
        Ok(Found::Unversioned) => {}
        // A crash while the header of a new segment was written.
        Err(HeaderError::Short { .. }) if last => {
            apply(&[], replayed.records).map_err(|(_, reason)| corrupt(0, reason.to_string()))?;
            return Ok(0);
        }
        Err(e @ HeaderError::Short { .. }) => {
            return Err(corrupt(0, format!("{} in a sealed segment", e.reason())));
        }
        Err(e) => return Err(e.into()),
    }
    let good = loop {
        let at = r.pos();
        if r.is_empty() {
            break at;
        }
        let torn = |what: &str| -> Result<usize, WalError> {
            if last {
                Ok(at)
            } else {
                Err(corrupt(at, format!("{what} in a sealed segment")))
            }
        };
        let (Ok(len), Ok(crc)) = (r.u32(), r.u32()) else {
            break torn("a frame header cut short")?;
        };
        let len = len as usize;
        if len > MAX_FRAME {
            if last && len > r.remaining() {
                break torn("an oversized frame length")?;
            }
            return Err(corrupt(at, format!("frame length {len} over {MAX_FRAME}")));
        }
        let Ok(payload) = r.bytes(len) else {
            break torn("a frame cut short")?;
        };
        if crc32fast::hash(payload) != crc {
            // A bad checksum on the very last frame of the last segment is
            // a write the crash interrupted; anywhere else it is damage.
            if last && r.is_empty() {
                break torn("a bad checksum")?;
            }
            return Err(corrupt(at, "frame checksum mismatch".into()));
        }
        frames.push((at, payload));
    };
    let payloads: Vec<&[u8]> = frames.iter().map(|&(_, p)| p).collect();
    let ts = apply(&payloads, replayed.records)
        .map_err(|(i, reason)| corrupt(frames.get(i).map_or(good, |f| f.0), reason.to_string()))?;
    *max_ts = (*max_ts).max(ts);
    replayed.records += frames.len() as u64;
    Ok(good as u64)
}

impl Wal {
    /// Opens (creating) the log in `dir`, replaying every record from
    /// segment `from` on (a checkpoint's cut; 0 for all) into `apply`, a
    /// segment at a time, oldest first. Segments before `from` are not
    /// read; `before` gives their newest requested-at (as the checkpoint
    /// recorded it), for deleting them once aged out. From `from` on none
    /// may be missing.
    pub(super) fn open(
        dir: &Path,
        lock_file: DirLock,
        segment_bytes: u64,
        from: u64,
        before: &[(u64, u64)],
        apply: &mut Apply<'_>,
    ) -> Result<(Wal, Replayed), WalError> {
        let mut numbers = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
            let entry = entry.map_err(io_err(dir))?;
            if let Some(n) = entry.file_name().to_str().and_then(segment_number) {
                numbers.push(n);
            }
        }
        numbers.sort_unstable();
        let covered = numbers.partition_point(|&n| n < from);
        // Not read; an unknown age keeps a segment.
        let mut sealed: Vec<Sealed> = numbers
            .drain(..covered)
            .map(|number| Sealed {
                number,
                max_ts: before
                    .iter()
                    .find(|&&(n, _)| n == number)
                    .map_or(u64::MAX, |&(_, ts)| ts),
            })
            .collect();
        if from > 0 {
            let missing = numbers
                .iter()
                .zip(from..)
                .find(|&(&n, expected)| n != expected)
                .map(|(_, expected)| expected)
                .or_else(|| numbers.is_empty().then_some(from));
            if let Some(expected) = missing {
                return Err(WalError::Corrupt {
                    path: segment_path(dir, expected),
                    offset: 0,
                    reason: "this log segment after the checkpoint is missing".into(),
                });
            }
        }
        let mut replayed = Replayed::default();
        let mut buffer = Vec::new();
        for (i, &number) in numbers.iter().enumerate() {
            let path = segment_path(dir, number);
            let last = i + 1 == numbers.len();
            let mut max_ts = 0;
            let good = read_segment(&path, last, apply, &mut buffer, &mut max_ts, &mut replayed)?;
            let len = std::fs::metadata(&path).map_err(io_err(&path))?.len();
            if good < len {
                // Torn tail of the last segment: cut it off durably.
                let f = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(io_err(&path))?;
                f.set_len(good).map_err(io_err(&path))?;
                f.sync_all().map_err(io_err(&path))?;
                replayed.truncated_tail = len - good;
            }
            replayed.bytes += good;
            replayed.segments += 1;
            sealed.push(Sealed { number, max_ts });
        }
        // Appends always start a new segment.
        let number = numbers.last().map_or(1, |n| n + 1);
        let path = segment_path(dir, number);
        let file = new_segment(dir, &path)?;
        let wal = Wal {
            dir: dir.to_path_buf(),
            segment_bytes: segment_bytes.max((HEADER_LEN + HEADER) as u64 + 1),
            pending: GroupCommit::new(
                OnFailure::Poison,
                0,
                "the velocity log is closed".to_string(),
            ),
            active: Mutex::new(Active {
                file,
                number,
                len: HEADER_LEN as u64,
                max_ts: 0,
                sealed,
            }),
            cutoff: AtomicU64::new(0),
            floor: AtomicU64::new(from),
            fail_next_write: AtomicBool::new(false),
            syncs: AtomicU64::new(0),
            _lock: lock_file,
        };
        Ok((wal, replayed))
    }

    /// Locks the store directory ([`DirLock`]): one process per store. The
    /// lock lasts as long as the returned guard.
    pub(super) fn lock_dir(dir: &Path) -> Result<DirLock, WalError> {
        DirLock::acquire(dir).map_err(|e| match e {
            LockError::Held { dir } => WalError::Locked { path: dir },
            LockError::Io { path, source } => WalError::Io { path, source },
        })
    }

    /// Fails when an earlier write failed.
    #[inline]
    pub(super) fn check(&self) -> Result<(), WalError> {
        match self.pending.failure() {
            Some(why) => Err(WalError::Poisoned(why)),
            None => Ok(()),
        }
    }

    /// Sets the retention cutoff used to delete sealed segments.
    pub(super) fn set_cutoff(&self, cutoff: u64) {
        self.cutoff.fetch_max(cutoff, Ordering::Relaxed);
    }

    /// Makes the next write fail as a full disk would (for tests).
    pub(super) fn fail_next_write(&self) {
        self.fail_next_write.store(true, Ordering::Release);
    }

    /// Appends one record whose requested-at is `ts`; its ticket (whose
    /// sequence number is the record's) is for [`wait`](Self::wait).
    pub(super) fn append(&self, payload: &[u8], ts: u64) -> Result<Ticket<String>, WalError> {
        if payload.len() > MAX_FRAME {
            return Err(WalError::TooLarge(payload.len()));
        }
        self.pending
            .append(1, |buf, max_ts| {
                buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
                buf.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
                buf.extend_from_slice(payload);
                *max_ts = (*max_ts).max(ts);
            })
            .map_err(WalError::Poisoned)
    }

    /// Returns once the record of `ticket` is on disk (or the log has
    /// failed); the writer thread ([`run`](Self::run)) flushes it.
    pub(super) fn wait(&self, ticket: &Ticket<String>) -> Result<(), WalError> {
        self.demand(ticket);
        ticket.wait().map_err(WalError::Poisoned)
    }

    /// Asks the writer to flush `ticket`'s batch now (a waiter is coming).
    pub(super) fn demand(&self, ticket: &Ticket<String>) {
        self.pending.demand(ticket);
    }

    /// A ticket for every record appended so far (see
    /// [`GroupCommit::barrier`]).
    pub(super) fn barrier(&self) -> Ticket<String> {
        self.pending.barrier()
    }

    /// The writer: writes and syncs each batch once it is waited for,
    /// until [`close`](Self::close)d and everything appended is flushed.
    /// Run on a thread of its own.
    pub(super) fn run(&self) {
        self.pending.run_on_demand(|buf, max_ts| {
            self.write_and_sync(buf, max_ts).map_err(|e| {
                tracing::error!("velocity log write failed: {e}");
                e.to_string()
            })
        });
    }

    /// Refuses appends from now on; the writer flushes what is buffered
    /// and returns.
    pub(super) fn close(&self) {
        self.pending.close();
    }

    fn write_and_sync(&self, buf: &[u8], max_ts: u64) -> Result<(), WalError> {
        let mut active = lock(&self.active);
        let path = segment_path(&self.dir, active.number);
        if self.fail_next_write.swap(false, Ordering::AcqRel) {
            return Err(WalError::Io {
                path,
                source: std::io::Error::from_raw_os_error(libc::ENOSPC),
            });
        }
        active.file.write_all(buf).map_err(io_err(&path))?;
        active.file.sync_data().map_err(io_err(&path))?;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        active.len += buf.len() as u64;
        active.max_ts = active.max_ts.max(max_ts);
        if active.len >= self.segment_bytes {
            self.rotate(&mut active)?;
        }
        Ok(())
    }

    /// Seals the active segment, starts the next, deletes aged-out ones.
    fn rotate(&self, active: &mut Active) -> Result<(), WalError> {
        let number = active.number + 1;
        let path = segment_path(&self.dir, number);
        let file = new_segment(&self.dir, &path)?;
        let old = std::mem::replace(&mut active.file, file);
        drop(old);
        active.sealed.push(Sealed {
            number: active.number,
            max_ts: active.max_ts,
        });
        active.number = number;
        active.len = HEADER_LEN as u64;
        active.max_ts = 0;
        self.delete_covered(active)
    }

    /// Deletes the sealed segments no replay needs: the aged-out ones
    /// (before the floor, once a checkpoint exists).
    fn delete_covered(&self, active: &mut Active) -> Result<(), WalError> {
        let cutoff = self.cutoff.load(Ordering::Relaxed);
        let floor = self.floor.load(Ordering::Acquire);
        let mut removed = false;
        let mut kept = Vec::with_capacity(active.sealed.len());
        for s in active.sealed.drain(..) {
            let covered = s.max_ts < cutoff && (floor == 0 || s.number < floor);
            if covered {
                let path = segment_path(&self.dir, s.number);
                match std::fs::remove_file(&path) {
                    Ok(()) => removed = true,
                    // Keeping an aged-out segment costs only disk space.
                    Err(e) => {
                        tracing::warn!("cannot delete {}: {e}", path.display());
                        kept.push(s);
                    }
                }
            } else {
                kept.push(s);
            }
        }
        active.sealed = kept;
        if removed {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Starts a new segment for a checkpoint's cut, with no record in
    /// flight (the caller holds every committer off).
    pub(super) fn cut(&self) -> Result<Cut, WalError> {
        self.pending
            .while_idle(|appended| {
                let mut active = lock(&self.active);
                self.rotate(&mut active)?;
                Ok(Cut {
                    segment: active.number,
                    lsn: appended,
                    before: active.sealed.iter().map(|s| (s.number, s.max_ts)).collect(),
                })
            })
            .map_err(|e| match e {
                NotIdle::Failed(why) => WalError::Poisoned(why),
                NotIdle::InFlight => {
                    WalError::Poisoned("a checkpoint cut found records in flight".into())
                }
            })?
    }

    /// A checkpoint whose cut is at segment `floor` is on disk: the
    /// segments from the previous cut to this one may now age out.
    pub(super) fn set_floor(&self, floor: u64) -> Result<(), WalError> {
        self.floor.fetch_max(floor, Ordering::AcqRel);
        self.delete_covered(&mut lock(&self.active))
    }

    /// Syncs made since open (each covers every record appended before it).
    pub(super) fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// Segment files currently on disk (sealed and active).
    pub(super) fn segment_count(&self) -> usize {
        lock(&self.active).sealed.len() + 1
    }
}

/// Creates segment `path` with its format header: not synced here, the
/// first batch's sync makes it durable with the batch (a crash before
/// leaves an empty segment or a header cut short, read as a torn tail).
fn new_segment(dir: &Path, path: &Path) -> Result<File, WalError> {
    let mut file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(path)
        .map_err(io_err(path))?;
    file.write_all(&SEGMENT.header()).map_err(io_err(path))?;
    sync_dir(dir)?;
    Ok(file)
}

fn sync_dir(dir: &Path) -> Result<(), WalError> {
    riskgate_storage::atomic::sync_dir(dir).map_err(io_err(dir))
}
