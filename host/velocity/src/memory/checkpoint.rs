//! The index as a checkpoint holds it: one block per shard (its keys and
//! events, its decisions, and which log records after the checkpoint's cut
//! it already holds), and the store-wide state (hash key, uid counter,
//! times, interned assets).
//!
//! A checkpoint is fuzzy: shards are written one after another while
//! commits go on. What makes it exact is that every record's changes to one
//! shard are made under one hold of that shard's lock, and that while a
//! checkpoint is being written each shard lists the records (by their
//! number after the cut) it applied. Replay from the cut then applies a
//! record to a shard only if the shard's block does not list it.

use super::decisions::DecisionLog;
use super::events::{Event, Events};
use super::{DATA_SHARDS, HashMapOf, IndexHasher, MemoryStore, Shard, replay};
use crate::lock;
use crate::slots::Padded;
use riskgate_storage::bytes::{ByteReader, ReadError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};

/// Why a checkpoint block does not decode.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DecodeError {
    #[error("a block ends early: {0}")]
    Bytes(#[from] ReadError),
    #[error("an asset is not UTF-8")]
    AssetNotUtf8,
    #[error("an asset is listed twice")]
    AssetTwice,
    #[error("an event names asset {asset} of {assets}")]
    UnknownAsset { asset: u32, assets: usize },
    #[error("a key's events are out of time order")]
    OutOfOrder,
    #[error("a key without events")]
    KeyWithoutEvents,
    #[error("a key listed twice")]
    KeyTwice,
    #[error("a decision lies outside its arena")]
    OutsideArena,
    #[error("trailing bytes after {0}")]
    Trailing(&'static str),
    #[error("{found} shards, expected {expected}")]
    ShardCount { found: usize, expected: usize },
    #[error("shard {shard}: {source}")]
    Shard {
        shard: usize,
        #[source]
        source: Box<DecodeError>,
    },
}

/// Bytes of one encoded event.
const EVENT_BYTES: usize = 28;

/// Store-wide state of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Meta {
    pub k0: u64,
    pub k1: u64,
    pub next_uid: u64,
    pub newest: u64,
    pub horizon: u64,
    /// Interned assets, by id.
    pub assets: Vec<String>,
}

impl Meta {
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        for v in [self.k0, self.k1, self.next_uid, self.newest, self.horizon] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(self.assets.len() as u64).to_le_bytes());
        for a in &self.assets {
            out.extend_from_slice(&(a.len() as u64).to_le_bytes());
            out.extend_from_slice(a.as_bytes());
        }
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = ByteReader::new(bytes);
        let (k0, k1, next_uid, newest, horizon) =
            (r.u64()?, r.u64()?, r.u64()?, r.u64()?, r.u64()?);
        let mut assets = Vec::new();
        for _ in 0..r.count(8)? {
            let len = r.count(1)?;
            let text = std::str::from_utf8(r.bytes(len)?).map_err(|_| DecodeError::AssetNotUtf8)?;
            assets.push(text.to_string());
        }
        if !r.is_empty() {
            return Err(DecodeError::Trailing("the store state"));
        }
        Ok(Meta {
            k0,
            k1,
            next_uid,
            newest,
            horizon,
            assets,
        })
    }
}

impl Shard {
    /// Notes that the record `lsn` (a log sequence number of this run)
    /// changed this shard, while a checkpoint is being written.
    #[inline]
    pub(super) fn mark(&mut self, lsn: Option<u64>) {
        if let (Some(list), Some(lsn)) = (&mut self.since_cut, lsn) {
            list.push(lsn);
        }
    }

    fn encode_into(&self, since_cut: &[u64], out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.keys.len() as u64).to_le_bytes());
        for (hash, events) in &self.keys {
            out.extend_from_slice(&hash.to_le_bytes());
            out.extend_from_slice(&(events.len() as u64).to_le_bytes());
            for e in events.iter() {
                out.extend_from_slice(&e.ts.to_le_bytes());
                out.extend_from_slice(&e.amount.to_le_bytes());
                out.extend_from_slice(&e.usd_cents.to_le_bytes());
                out.extend_from_slice(&e.asset.to_le_bytes());
            }
        }
        self.decisions.encode_into(out);
        out.extend_from_slice(&(since_cut.len() as u64).to_le_bytes());
        for k in since_cut {
            out.extend_from_slice(&k.to_le_bytes());
        }
    }

    /// A shard and the records after the cut it holds (sorted).
    fn decode(bytes: &[u8], assets: usize) -> Result<(Shard, Vec<u64>), DecodeError> {
        let mut r = ByteReader::new(bytes);
        let n = r.count(24)?;
        let mut keys = HashMapOf::default();
        keys.reserve(n);
        let mut run = Vec::new();
        for _ in 0..n {
            let hash = r.u128()?;
            run.clear();
            for _ in 0..r.count(EVENT_BYTES)? {
                let e = Event {
                    ts: r.u64()?,
                    amount: r.u64()?,
                    usd_cents: r.u64()?,
                    asset: r.u32()?,
                };
                if e.asset as usize >= assets {
                    return Err(DecodeError::UnknownAsset {
                        asset: e.asset,
                        assets,
                    });
                }
                if run.last().is_some_and(|last: &Event| last.ts > e.ts) {
                    return Err(DecodeError::OutOfOrder);
                }
                run.push(e);
            }
            if run.is_empty() {
                return Err(DecodeError::KeyWithoutEvents);
            }
            if keys.insert(hash, Events::from_sorted(&run)).is_some() {
                return Err(DecodeError::KeyTwice);
            }
        }
        let decisions = DecisionLog::decode_from(&mut r)?;
        let n = r.count(8)?;
        let mut since = Vec::with_capacity(n);
        for _ in 0..n {
            since.push(r.u64()?);
        }
        if !r.is_empty() {
            return Err(DecodeError::Trailing("a shard"));
        }
        since.sort_unstable();
        since.dedup();
        let shard = Shard {
            keys,
            decisions,
            since_cut: None,
        };
        Ok((shard, since))
    }
}

impl MemoryStore {
    /// Starts listing, in every shard, the records applied from now on.
    /// Called with no record between its log append and its application.
    pub(crate) fn begin_cut(&self) {
        for shard in self.shards.iter() {
            lock(shard).since_cut = Some(Vec::new());
        }
    }

    /// Stops the listing (the checkpoint is written, or failed).
    pub(crate) fn end_cut(&self) {
        for shard in self.shards.iter() {
            lock(shard).since_cut = None;
        }
    }

    /// Appends shard `s`'s block to `out`: its contents and the records
    /// it applied since the cut, numbered from the cut (`cut_lsn` is the
    /// sequence number of the first record after it). Stops its listing.
    pub(crate) fn snapshot_shard(&self, s: usize, cut_lsn: u64, out: &mut Vec<u8>) {
        let mut shard = lock(&self.shards[s]);
        let since: Vec<u64> = shard
            .since_cut
            .take()
            .unwrap_or_default()
            .into_iter()
            .map(|lsn| lsn - cut_lsn)
            .collect();
        shard.encode_into(&since, out);
    }

    /// The store-wide state, read after every shard was written (assets
    /// only grow, so every asset a block names is in it).
    pub(crate) fn meta(&self) -> Meta {
        let assets = self.assets.read().unwrap_or_else(|p| p.into_inner());
        let mut by_id = vec![String::new(); assets.len()];
        for (name, &id) in assets.iter() {
            if let Some(slot) = by_id.get_mut(id as usize) {
                *slot = name.to_string();
            }
        }
        Meta {
            k0: self.hasher.k0,
            k1: self.hasher.k1,
            next_uid: self.next_uid.load(Ordering::Relaxed),
            newest: self.newest(),
            horizon: self.horizon.load(Ordering::Acquire),
            assets: by_id,
        }
    }

    /// The index a checkpoint holds, from its state and its shard blocks
    /// (decoded on every core), ready for the replay of the records after
    /// its cut. Errors name the shard.
    pub(crate) fn restore(
        retention_ms: u64,
        meta: Meta,
        blocks: &[&[u8]],
    ) -> Result<Self, DecodeError> {
        if blocks.len() != DATA_SHARDS {
            return Err(DecodeError::ShardCount {
                found: blocks.len(),
                expected: DATA_SHARDS,
            });
        }
        let n_assets = meta.assets.len();
        let threads = replay::replay_threads();
        let per = DATA_SHARDS.div_ceil(threads);
        let ranges: Vec<_> = blocks.chunks(per).enumerate().collect();
        let decoded = replay::on_threads(ranges, |(i, chunk)| {
            chunk
                .iter()
                .enumerate()
                .map(|(j, block)| {
                    Shard::decode(block, n_assets).map_err(|e| DecodeError::Shard {
                        shard: i * per + j,
                        source: Box::new(e),
                    })
                })
                .collect::<Result<Vec<_>, DecodeError>>()
        });
        let mut shards = Vec::with_capacity(DATA_SHARDS);
        let mut skip = Vec::with_capacity(DATA_SHARDS);
        for part in decoded {
            for (shard, since) in part? {
                shards.push(Padded(Mutex::new(shard)));
                skip.push(since);
            }
        }
        let assets: HashMap<Box<str>, u32> = meta
            .assets
            .iter()
            .enumerate()
            .map(|(id, name)| (name.as_str().into(), id as u32))
            .collect();
        if assets.len() != n_assets {
            return Err(DecodeError::AssetTwice);
        }
        Ok(MemoryStore {
            retention_ms,
            shards: shards.into_boxed_slice(),
            assets: RwLock::new(assets),
            hasher: IndexHasher {
                k0: meta.k0,
                k1: meta.k1,
            },
            horizon: AtomicU64::new(meta.horizon),
            newest: AtomicU64::new(meta.newest.min(crate::newest_cap())),
            next_uid: AtomicU64::new(meta.next_uid),
            applied: AtomicUsize::new(0),
            instance: super::store_instance(),
            replay_skip: skip.into_boxed_slice(),
            holds: std::sync::Mutex::default(),
        })
    }
}
