//! Rebuilding the index from the log, one segment's records at a time, on
//! two threads and shard by shard:
//! 1. decode every record, hash its id and keys, and sort what it does
//!    into per-shard lists, in log order (two halves of the records in
//!    parallel);
//! 2. apply each shard's list under its lock, half the shards per thread:
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

use super::record::{self, LogRecord};
use super::{DATA_SHARDS, Event, Hash, MemoryStore, Removal, Scope, Shard, shard_of};
use crate::velocity::lock;
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
    },
}

/// What a run of records does to one shard.
#[derive(Default)]
struct Work {
    /// In log order.
    decisions: Vec<Op>,
    /// Events added under each key, any order.
    events: Vec<(Hash, Event)>,
}

/// Buffers of a replay, kept from one batch to the next so that only the
/// first batch allocates (and faults in) their memory.
pub(in crate::velocity) struct ReplayScratch {
    /// Step 1's per-shard work for each half of the records.
    halves: [Vec<Work>; 2],
}

impl Default for ReplayScratch {
    fn default() -> Self {
        let shards = || (0..DATA_SHARDS).map(|_| Work::default()).collect();
        ReplayScratch {
            halves: [shards(), shards()],
        }
    }
}

/// Step 1's totals over a run of records.
#[derive(Default)]
struct Totals {
    newest: u64,
    next_uid: u64,
}

type Failed = (usize, String);

/// `f(a)` on this thread and `f(b)` on another.
fn both<T: Send, R: Send>(a: T, b: T, f: impl Fn(T) -> R + Sync) -> (R, R) {
    std::thread::scope(|s| {
        let second = s.spawn(|| f(b));
        let first = f(a);
        (
            first,
            second
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p)),
        )
    })
}

/// The id an [`Op`] names.
fn id_of<'a>(records: &[&'a [u8]], index: u32, at: u32, len: u32) -> Result<&'a str, Failed> {
    let bad = || (index as usize, "a record's id moved".to_string());
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
    /// [`finish_replay`](Self::finish_replay). Returns the newest
    /// requested-at of the batch, or the index of the first bad record.
    pub(in crate::velocity) fn replay(
        &self,
        records: &[&[u8]],
        scratch: &mut ReplayScratch,
    ) -> Result<u64, Failed> {
        if u32::try_from(records.len()).is_err() {
            return Err((0, "too many records in one segment".into()));
        }
        let parallel = records.len() >= PARALLEL_REPLAY;
        let [first, second] = &mut scratch.halves;
        let totals = if parallel {
            let mid = records.len() / 2;
            let (a, b) = both(
                (0, mid, &mut *first),
                (mid, records.len(), &mut *second),
                |(from, to, work): (usize, usize, &mut Vec<Work>)| {
                    self.sort_ops(&records[from..to], from, work)
                },
            );
            let (a, b) = (a?, b?);
            Totals {
                newest: a.newest.max(b.newest),
                next_uid: a.next_uid.max(b.next_uid),
            }
        } else {
            second.iter_mut().for_each(|w| {
                w.decisions.clear();
                w.events.clear();
            });
            self.sort_ops(records, 0, first)?
        };
        self.newest.fetch_max(totals.newest, Ordering::AcqRel);
        self.next_uid.fetch_max(totals.next_uid, Ordering::Relaxed);
        let cutoff = self.cutoff();

        let apply = |(from, mine, theirs): (usize, &mut [Work], &mut [Work])| {
            let mut removals = Vec::new();
            let mut run = Vec::new();
            for (s, (mine, theirs)) in (from..).zip(mine.iter_mut().zip(theirs)) {
                let mut shard = lock(&self.shards[s]);
                for op in mine.decisions.iter().chain(&theirs.decisions) {
                    self.apply_op(&mut shard, op, records, cutoff, &mut removals)?;
                }
                // Each key's events together and in time order: one lookup
                // per key, and a merge rather than inserts.
                let events = &mut mine.events;
                events.append(&mut theirs.events);
                events.sort_unstable_by_key(|(hash, e)| (*hash, e.ts));
                for key in events.chunk_by(|a, b| a.0 == b.0) {
                    run.clear();
                    run.extend(key.iter().map(|(_, e)| *e));
                    shard.add_run(key[0].0, &run);
                }
            }
            Ok::<_, Failed>(removals)
        };
        let half = DATA_SHARDS / 2;
        let (mine_a, mine_b) = first.split_at_mut(half);
        let (theirs_a, theirs_b) = second.split_at_mut(half);
        let results = if parallel {
            let (a, b) = both((0, mine_a, theirs_a), (half, mine_b, theirs_b), apply);
            [a, b]
        } else {
            [
                apply((0, mine_a, theirs_a)),
                apply((half, mine_b, theirs_b)),
            ]
        };
        for removals in results {
            for (hash, event) in removals? {
                self.shard(hash).remove_event(hash, &event);
            }
        }
        Ok(totals.newest)
    }

    /// Step 1 over `records` (the first at index `base` of the batch) into
    /// `work` (emptied first).
    fn sort_ops(
        &self,
        records: &[&[u8]],
        base: usize,
        work: &mut [Work],
    ) -> Result<Totals, Failed> {
        for w in work.iter_mut() {
            w.decisions.clear();
            w.events.clear();
        }
        let mut totals = Totals::default();
        let mut assets: HashMap<&str, u32> = HashMap::new();
        for (i, &bytes) in records.iter().enumerate() {
            let index = base + i;
            let op_index = index as u32;
            let rec = record::decode(bytes).map_err(|e| (index, e))?;
            totals.newest = totals.newest.max(rec.requested_at());
            match rec {
                LogRecord::Decided(d) => {
                    let hash = self.hasher.hash(d.id.as_bytes());
                    let (id_at, id_len) = span(bytes, d.id);
                    work[shard_of(hash)].decisions.push(Op::Record {
                        index: op_index,
                        id_at,
                        id_len,
                        requested_at: d.requested_at,
                        hash,
                    });
                    if let Some(c) = &d.contribution {
                        totals.next_uid = totals.next_uid.max(c.uid + 1);
                        let asset = *assets
                            .entry(d.parts.asset)
                            .or_insert_with(|| self.intern(d.parts.asset));
                        let event = Event::of(c, asset);
                        for scope in Scope::ALL {
                            let hash = self.key_hash(d.parts, scope);
                            work[shard_of(hash)].events.push((hash, event));
                        }
                    }
                }
                LogRecord::Released { id, .. } => {
                    let hash = self.hasher.hash(id.as_bytes());
                    let (id_at, id_len) = span(bytes, id);
                    work[shard_of(hash)].decisions.push(Op::Release {
                        index: op_index,
                        id_at,
                        id_len,
                        hash,
                    });
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
            } => {
                let id = id_of(records, index, id_at, id_len)?;
                // Unknown when the decision aged out before its release.
                if let Some((_, events)) = self
                    .forget(shard, hash, id)
                    .map_err(|e| (index as usize, e))?
                {
                    removals.extend(events);
                }
            }
        }
        Ok(())
    }

    /// After the last [`replay`](Self::replay) batch: prunes everything
    /// older than the retention, in every shard.
    pub(in crate::velocity) fn finish_replay(&self) {
        let cutoff = self.cutoff();
        if cutoff == 0 {
            return;
        }
        self.horizon.fetch_max(cutoff, Ordering::AcqRel);
        let half = DATA_SHARDS / 2;
        both(0..half, half..DATA_SHARDS, |shards: Range<usize>| {
            for s in shards {
                lock(&self.shards[s]).sweep(cutoff, &self.hasher);
            }
        });
    }
}
