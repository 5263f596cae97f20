//! The checkpoint file of a durable store: the whole in-memory index at a
//! cut of the log, so that opening the store loads it and replays only the
//! records after the cut instead of the whole log.
//!
//! Layout (little-endian): the format header ([`CHECKPOINT`]: `RGVCKPT1`,
//! format version u32), the first
//! segment after the cut (u64), the shard count (u64), then one frame per
//! shard, one for the store-wide state and one for the segments before the
//! cut (number and newest requested-at of each, u64 pairs), each
//! `[len: u64][crc32: u32][bytes]`, then `RGVCKEND`. Written atomically
//! ([`riskgate_storage::write_atomic_with`]) over `checkpoint`: a crash
//! leaves the previous checkpoint or the new one, never a mix. A damaged file is
//! refused with its offset.
//!
//! The checkpoint only saves time: the log before its cut is kept until it
//! ages out, as without one, so the whole log still rebuilds the index.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use memmap2::Mmap;
use riskgate_storage::WriteOptions;
use riskgate_storage::bytes::{ByteReader, ReadError};
use riskgate_storage::header::{Format, HEADER_LEN, HeaderError};
use serde::Serialize;

use super::memory::{MemoryStore, Meta};
use super::wal::WalError;

/// The checkpoint's format header (it always had one).
pub(super) const CHECKPOINT: Format = Format {
    name: "velocity checkpoint",
    magic: *b"RGVCKPT1",
    version: 1,
};
const END: &[u8; 8] = b"RGVCKEND";
pub(super) const FILE: &str = "checkpoint";
/// The temporary file of earlier versions, removed when found.
const LEGACY_TEMP: &str = "checkpoint.tmp";

/// A pause after each shard is written, so that tests see commits land
/// between the shards of one checkpoint.
#[cfg(test)]
pub(super) static SHARD_PAUSE_US: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(0);

/// What writing a checkpoint did.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointReport {
    pub path: PathBuf,
    /// The first log segment after the cut.
    pub segment: u64,
    pub bytes: u64,
    pub took: Duration,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> WalError + '_ {
    move |source| WalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn frame(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(&(bytes.len() as u64).to_le_bytes())?;
    out.write_all(&crc32fast::hash(bytes).to_le_bytes())?;
    out.write_all(bytes)
}

/// Writes `mem` as the checkpoint of `dir` at the cut before segment
/// `segment`, whose first record has sequence number `cut_lsn`. Shards are
/// written one at a time, each under its own lock only: commits go on.
/// Gives up (leaving the previous checkpoint) once `stop` is set.
/// `ready` runs once every shard is copied, before the file is put in
/// place (the durable store syncs its log there: a shard may hold records
/// not yet on disk); its error leaves the previous checkpoint.
#[allow(clippy::too_many_arguments)]
pub(super) fn write(
    dir: &Path,
    segment: u64,
    cut_lsn: u64,
    before: &[(u64, u64)],
    mem: &MemoryStore,
    shards: usize,
    stop: &AtomicBool,
    ready: &dyn Fn() -> Result<(), WalError>,
) -> Result<CheckpointReport, WalError> {
    let started = Instant::now();
    let path = dir.join(FILE);
    let mut block = Vec::new();
    let mut bytes = 0u64;
    let options = WriteOptions::new().buffer(1 << 20);
    riskgate_storage::write_atomic_with(&path, options, |out| {
        out.write_all(&CHECKPOINT.header())?;
        out.write_all(&segment.to_le_bytes())?;
        out.write_all(&(shards as u64).to_le_bytes())?;
        for s in 0..shards {
            if stop.load(Ordering::Acquire) {
                return Err(std::io::Error::other("the store is closing"));
            }
            block.clear();
            mem.snapshot_shard(s, cut_lsn, &mut block);
            frame(out, &block)?;
            bytes += block.len() as u64 + 12;
            #[cfg(test)]
            std::thread::sleep(Duration::from_micros(
                SHARD_PAUSE_US.load(Ordering::Relaxed),
            ));
        }
        block.clear();
        mem.meta().encode_into(&mut block);
        frame(out, &block)?;
        block.clear();
        for &(number, max_ts) in before {
            block.extend_from_slice(&number.to_le_bytes());
            block.extend_from_slice(&max_ts.to_le_bytes());
        }
        frame(out, &block)?;
        ready().map_err(std::io::Error::other)?;
        out.write_all(END)
    })
    .map_err(|e| WalError::Io {
        path: e.path,
        source: e.source,
    })?;
    Ok(CheckpointReport {
        path,
        segment,
        bytes: bytes + 36,
        took: started.elapsed(),
    })
}

/// A checkpoint read back.
pub(super) struct Loaded {
    /// The first segment after the cut.
    pub segment: u64,
    /// Number and newest requested-at of each segment before it.
    pub before: Vec<(u64, u64)>,
    pub mem: MemoryStore,
}

/// Where a damaged checkpoint is moved aside.
pub(super) const DAMAGED: &str = "checkpoint.damaged";

/// The checkpoint of `dir`, if it has one. A leftover temporary file (a
/// crash while writing) is deleted.
pub(super) fn read(dir: &Path, retention_ms: u64) -> Result<Option<Loaded>, WalError> {
    // Written before the temporary files were named by the atomic writer.
    let temp = dir.join(LEGACY_TEMP);
    if temp.exists() {
        std::fs::remove_file(&temp).map_err(io_err(&temp))?;
    }
    let path = dir.join(FILE);
    riskgate_storage::atomic::remove_leftovers(&path).map_err(|e| WalError::Io {
        path: e.path,
        source: e.source,
    })?;
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&path)(e)),
    };
    // SAFETY: the store's directory lock is held, so no other riskgate
    // process writes the file, and the checkpoint is replaced only by a
    // rename, never written in place.
    let map = unsafe { Mmap::map(&file) }.map_err(io_err(&path))?;
    let corrupt = |offset: usize, reason: String| WalError::Corrupt {
        path: path.clone(),
        offset: offset as u64,
        reason: format!("checkpoint: {reason}"),
    };
    let bytes: &[u8] = &map;
    let mut r = ByteReader::new(bytes);
    let short = |what: &'static str| {
        let corrupt = &corrupt;
        move |e: ReadError| corrupt(e.offset(), format!("cut short in {what}"))
    };
    // Moved aside as damaged, like any refused checkpoint: the log
    // rebuilds the index.
    match CHECKPOINT.read(&path, bytes) {
        Ok(_) => {}
        Err(e @ HeaderError::UnknownVersion { .. }) => return Err(corrupt(8, e.reason())),
        Err(e @ HeaderError::Short { .. }) => return Err(corrupt(0, e.reason())),
        Err(HeaderError::NotThisFormat { .. }) => {
            return Err(corrupt(0, "not a riskgate velocity checkpoint".into()));
        }
    }
    r.take(HEADER_LEN as u64).map_err(short("the version"))?;
    let segment = r.u64().map_err(short("the cut"))?;
    let offset = r.pos();
    let shards = r.u64().map_err(short("the shard count"))?;
    let shards = usize::try_from(shards).map_err(|_| corrupt(offset, "shard count".into()))?;
    if segment == 0 || shards == 0 || shards > 1 << 16 {
        return Err(corrupt(
            offset,
            format!("cut {segment} with {shards} shards"),
        ));
    }
    let mut frames = Vec::with_capacity(shards + 2);
    for i in 0..shards + 2 {
        let what = match i.cmp(&shards) {
            std::cmp::Ordering::Less => "a shard",
            std::cmp::Ordering::Equal => "the store state",
            std::cmp::Ordering::Greater => "the segment list",
        };
        let start = r.pos();
        let len = r.u64().map_err(short(what))?;
        let len = usize::try_from(len).map_err(|_| corrupt(start, "length".into()))?;
        let crc = r.u32().map_err(short(what))?;
        let body = r.bytes(len).map_err(short(what))?;
        frames.push((start, crc, body));
    }
    let end_at = r.pos();
    let end = r.bytes(8).map_err(short("the end marker"))?;
    if end != END || !r.is_empty() {
        return Err(corrupt(
            end_at,
            "no end marker where the file should end".into(),
        ));
    }
    if let Some(&(start, _, _)) = frames
        .iter()
        .find(|&&(_, crc, body)| crc32fast::hash(body) != crc)
    {
        return Err(corrupt(start, "checksum mismatch".into()));
    }
    let (meta_at, _, meta) = frames[shards];
    let meta = Meta::decode(meta).map_err(|e| corrupt(meta_at, e.to_string()))?;
    let (list_at, _, list) = frames[shards + 1];
    if list.len() % 16 != 0 {
        return Err(corrupt(list_at, "a segment list of odd length".into()));
    }
    let before = list
        .chunks_exact(16)
        .map(|pair| {
            let mut r = ByteReader::new(pair);
            (r.u64().unwrap_or_default(), r.u64().unwrap_or_default())
        })
        .collect();
    let blocks: Vec<&[u8]> = frames[..shards].iter().map(|&(_, _, b)| b).collect();
    let mem =
        MemoryStore::restore(retention_ms, meta, &blocks).map_err(|e| corrupt(0, e.to_string()))?;
    Ok(Some(Loaded {
        segment,
        before,
        mem,
    }))
}
