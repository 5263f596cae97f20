//! Rebuilding the index from the log, one segment's records at a time, on
//! every core (up to 16) and shard by shard:
//! 1. decode every record, hash its id and keys, and sort what it does
//!    into per-shard lists, in log order (one run of the records per
//!    thread);
//! 2. apply each shard's lists under its lock, a range of shards per thread:
//!    a shard's keys and decisions are then a small table touched many
//!    times in a row, in cache, instead of one cache miss per insert into
//!    tables of gigabytes;
//! 3. remove the events of released decisions (found in step 2).
//!
//! Order is kept where it matters: every operation on one id (decided,
//! released, decided anew) is in one shard's list, in log order. Event
//! inserts and removals commute (an event's place is its time), and
//! pruning waits for [`MemoryStore::finish_replay`].

use std::collections::HashMap;
use std::ops::Range;

use super::record::{self, LogRecord, RecordError};
use super::{DATA_SHARDS, Event, Hash, MemoryStore, Removal, Scope, Shard, shard_of};
use crate::lock;
use std::sync::atomic::Ordering;

/// Below this many records a batch is replayed on the calling thread.
const PARALLEL_REPLAY: usize = 4096;

/// What one record does to the decisions of one shard. The id is
/// `records[index][id_at..id_at + id_len]`.
enum Op {
    Record {
        index: u32,
        id_at: u32,
        id_len: u32,
        requested_at: u64,
        hash: Hash,
    },
    Release {
        index: u32,
        id_at: u32,
        id_len: u32,
        hash: Hash,
        /// The record carries the events it removes (they are in the
        /// shards' `removals`); otherwise they are found from the decision.
        carried: bool,
    },
}

/// What a run of records does to one shard.
#[derive(Default)]
struct Work {
    /// In log order.
    decisions: Vec<Op>,
    /// Events added under each key, any order.
    events: Vec<(Hash, Event)>,
    /// Events a release record takes back, removed after the adds.
    removals: Vec<Removal>,
}

/// Buffers of a replay, kept from one batch to the next so that only the
/// first batch allocates (and faults in) their memory.
#[derive(Default)]
pub(crate) struct ReplayScratch {
    /// Step 1's per-shard work for each part of the records.
    parts: Vec<Vec<Work>>,
}

/// Threads a replay runs on: every core, up to 16.
pub(super) fn replay_threads() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .clamp(1, 16)
}

/// Step 1's totals over a run of records.
#[derive(Default)]
struct Totals {
    newest: u64,
    next_uid: u64,
}

type Failed = (usize, RecordError);

/// `f` over every item, each on a thread of its own (the first on this one).
pub(super) fn on_threads<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let mut items = items.into_iter();
    let Some(first) = items.next() else {
        return Vec::new();
    };
    std::thread::scope(|s| {
        let others: Vec<_> = items.map(|item| s.spawn(|| f(item))).collect();
        let mut results = vec![f(first)];
        for other in others {
            results.push(
                other
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            );
        }
        results
    })
}

/// The id an [`Op`] names.
fn id_of<'a>(records: &[&'a [u8]], index: u32, at: u32, len: u32) -> Result<&'a str, Failed> {
    let bad = || (index as usize, RecordError::IdMoved);
    let bytes = records.get(index as usize).ok_or_else(bad)?;
    let id = bytes
        .get(at as usize..(at + len) as usize)
        .ok_or_else(bad)?;
    std::str::from_utf8(id).map_err(|_| bad())
}

/// Where `part` (a subslice of `whole`) starts in it, and its length.
fn span(whole: &[u8], part: &str) -> (u32, u32) {
    let at = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    (at as u32, part.len() as u32)
}

impl MemoryStore {
    /// Applies a segment's records, in log order, as a rebuild from the
    /// log (see the module doc); pruning waits for
    /// [`finish_replay`](Self::finish_replay). `first` is the number of
    /// the first record after the checkpoint's cut (0 without one): a shard
    /// whose checkpoint block holds a record is not changed by it again.
    /// Returns the newest requested-at of the batch, or the index of the
    /// first bad record.
    pub(crate) fn replay(
        &self,
        records: &[&[u8]],
        first: u64,
        scratch: &mut ReplayScratch,
    ) -> Result<u64, Failed> {
        if u32::try_from(records.len()).is_err() {
            return Err((0, RecordError::TooManyRecords));
        }
        let threads = if records.len() >= PARALLEL_REPLAY {
            replay_threads()
        } else {
            1
        };
        scratch.parts.resize_with(threads, || {
            (0..DATA_SHARDS).map(|_| Work::default()).collect()
        });
        let parts = &mut scratch.parts[..threads];

        // Step 1: the records in `threads` runs, one per thread.
        let per = records.len().div_ceil(threads);
        let jobs = parts.iter_mut().enumerate().map(|(p, work)| {
            let from = (p * per).min(records.len());
            (from, (from + per).min(records.len()), work)
        });
        let mut totals = Totals::default();
        for t in on_threads(jobs.collect(), |(from, to, work)| {
            self.sort_ops(&records[from..to], from, first, work)
        }) {
            let t = t?;
            totals.newest = totals.newest.max(t.newest);
            totals.next_uid = totals.next_uid.max(t.next_uid);
        }
        self.newest
            .fetch_max(totals.newest.min(crate::newest_cap()), Ordering::AcqRel);
        self.next_uid.fetch_max(totals.next_uid, Ordering::Relaxed);
        let cutoff = self.cutoff();

        // Step 2: the shards in `threads` ranges. Each shard's work from
        // every run, in run order (log order).
        let mut by_shard: Vec<Vec<Work>> = (0..DATA_SHARDS)
            .map(|s| {
                parts
                    .iter_mut()
                    .map(|p| std::mem::take(&mut p[s]))
                    .collect()
            })
            .collect();
        let apply = |(from, shards): (usize, &mut [Vec<Work>])| {
            let mut removals = Vec::new();
            let mut run = Vec::new();
            for (s, work) in (from..).zip(shards) {
                let mut shard = lock(&self.shards[s]);
                for op in work.iter().flat_map(|w| &w.decisions) {
                    self.apply_op(&mut shard, op, records, cutoff, &mut removals)?;
                }
                // Each key's events together and in time order: one lookup
                // per key, and a merge rather than inserts.
                let Some((first, rest)) = work.split_first_mut() else {
                    continue;
                };
                let events = &mut first.events;
                for other in rest {
                    events.append(&mut other.events);
                }
                events.sort_unstable_by_key(|(hash, e)| (*hash, e.ts));
                for key in events.chunk_by(|a, b| a.0 == b.0) {
                    run.clear();
                    run.extend(key.iter().map(|(_, e)| *e));
                    shard.add_run(key[0].0, &run);
                }
                for w in work.iter() {
                    for (key, event) in &w.removals {
                        shard.remove_event(*key, event);
                    }
                }
            }
            Ok::<_, Failed>(removals)
        };
        let span_of = DATA_SHARDS.div_ceil(threads);
        let ranges: Vec<_> = by_shard
            .chunks_mut(span_of)
            .enumerate()
            .map(|(i, shards)| (i * span_of, shards))
            .collect();
        let results = on_threads(ranges, apply);
        // The buffers back to the scratch, for the next segment.
        for (s, work) in by_shard.into_iter().enumerate() {
            for (p, w) in work.into_iter().enumerate() {
                parts[p][s] = w;
            }
        }
        for removals in results {
            self.remove_events(removals?, None);
        }
        Ok(totals.newest)
    }

    /// Step 1 over `records` (the first at index `base` of the batch) into
    /// `work` (emptied first).
    fn sort_ops(
        &self,
        records: &[&[u8]],
        base: usize,
        first: u64,
        work: &mut [Work],
    ) -> Result<Totals, Failed> {
        for w in work.iter_mut() {
            w.decisions.clear();
            w.events.clear();
            w.removals.clear();
        }
        let mut totals = Totals::default();
        let mut assets: HashMap<&str, u32> = HashMap::new();
        for (i, &bytes) in records.iter().enumerate() {
            let index = base + i;
            let op_index = index as u32;
            // Does shard `s` still need this record (not in its checkpoint block)?
            let k = first + index as u64;
            let needs = |s: usize| {
                self.replay_skip
                    .get(s)
                    .is_none_or(|held| held.binary_search(&k).is_err())
            };
            let rec = record::decode(bytes).map_err(|e| (index, e))?;
            totals.newest = totals.newest.max(rec.requested_at());
            match &rec {
                LogRecord::Decided(d) => {
                    let hash = self.hasher.hash(d.id.as_bytes());
                    let (id_at, id_len) = span(bytes, d.id);
                    if needs(shard_of(hash)) {
                        work[shard_of(hash)].decisions.push(Op::Record {
                            index: op_index,
                            id_at,
                            id_len,
                            requested_at: d.requested_at,
                            hash,
                        });
                    }
                    if let Some(c) = &d.contribution {
                        totals.next_uid = totals.next_uid.max(c.uid + 1);
                    }
                }
                LogRecord::Released { id, .. } | LogRecord::Withdrawn { id, .. } => {
                    let hash = self.hasher.hash(id.as_bytes());
                    let (id_at, id_len) = span(bytes, id);
                    if needs(shard_of(hash)) {
                        work[shard_of(hash)].decisions.push(Op::Release {
                            index: op_index,
                            id_at,
                            id_len,
                            hash,
                            carried: matches!(rec, LogRecord::Withdrawn { .. }),
                        });
                    }
                }
            }
            // The events a commit adds or a release record takes back,
            // under each key whose shard needs them.
            let (parts, contribution, added) = match &rec {
                LogRecord::Decided(d) => (d.parts, &d.contribution, true),
                LogRecord::Withdrawn {
                    parts,
                    contribution,
                    ..
                } => (*parts, contribution, false),
                LogRecord::Released { .. } => continue,
            };
            let Some(c) = contribution else {
                continue;
            };
            // Interned even when a release leaves no event of it: harmless.
            let asset = *assets
                .entry(parts.asset)
                .or_insert_with(|| self.intern(parts.asset));
            let event = Event::of(c, asset);
            for scope in Scope::ALL {
                let hash = self.key_hash(parts, scope);
                let work = &mut work[shard_of(hash)];
                if needs(shard_of(hash)) {
                    if added {
                        work.events.push((hash, event));
                    } else {
                        work.removals.push((hash, event));
                    }
                }
            }
        }
        Ok(totals)
    }

    fn apply_op(
        &self,
        shard: &mut Shard,
        op: &Op,
        records: &[&[u8]],
        cutoff: u64,
        removals: &mut Vec<Removal>,
    ) -> Result<(), Failed> {
        match *op {
            Op::Record {
                index,
                id_at,
                id_len,
                requested_at,
                hash,
            } => {
                let id = id_of(records, index, id_at, id_len)?;
                let bytes = records[index as usize];
                shard
                    .decisions
                    .insert(hash, id, requested_at, bytes, cutoff, &self.hasher)
                    .map_err(|e| (index as usize, e))?;
            }
            Op::Release {
                index,
                id_at,
                id_len,
                hash,
                carried,
            } => {
                let id = id_of(records, index, id_at, id_len)?;
                // Unknown when the decision aged out before its release.
                if let Some((_, events)) = self
                    .forget(shard, hash, id)
                    .map_err(|e| (index as usize, e))?
                    && !carried
                {
                    removals.extend(events);
                }
            }
        }
        Ok(())
    }

    /// After the last [`replay`](Self::replay) batch: prunes everything
    /// older than the retention, in every shard.
    pub(crate) fn finish_replay(&self) -> Result<(), RecordError> {
        self.finish_sweep();
        self.rebuild_holds()
    }

    fn finish_sweep(&self) {
        let cutoff = self.cutoff();
        if cutoff == 0 {
            return;
        }
        self.horizon.fetch_max(cutoff, Ordering::AcqRel);
        let threads = replay_threads();
        let per = DATA_SHARDS.div_ceil(threads);
        let ranges =
            (0..threads).map(|t| (t * per).min(DATA_SHARDS)..((t + 1) * per).min(DATA_SHARDS));
        on_threads(ranges.collect(), |shards: Range<usize>| {
            for s in shards {
                lock(&self.shards[s]).sweep(cutoff, &self.hasher);
            }
        });
    }
}
