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

/// What one record does to the decisions of one shard.
enum Op<'a> {
    Record {
        index: u32,
        id: &'a str,
        requested_at: u64,
        hash: Hash,
    },
    Release {
        index: u32,
        id: &'a str,
        hash: Hash,
    },
}

/// What a batch does to one shard.
#[derive(Default)]
struct Work<'a> {
    /// In log order.
    decisions: Vec<Op<'a>>,
    /// Events added under each key, any order.
    events: Vec<(Hash, Event)>,
}

/// Step 1's result for a run of records.
struct Sorted<'a> {
    shards: Vec<Work<'a>>,
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

impl MemoryStore {
    /// Applies a segment's records, in log order, as a rebuild from the
    /// log (see the module doc); pruning waits for
    /// [`finish_replay`](Self::finish_replay). Returns the newest
    /// requested-at of the batch, or the index of the first bad record.
    pub(in crate::velocity) fn replay(&self, records: &[&[u8]]) -> Result<u64, Failed> {
        let parallel = records.len() >= PARALLEL_REPLAY;
        let mut sorted = if parallel {
            let mid = records.len() / 2;
            let (first, second) = both((0, mid), (mid, records.len()), |(from, to)| {
                self.sort_ops(&records[from..to], from)
            });
            let (mut first, second) = (first?, second?);
            for (a, b) in first.shards.iter_mut().zip(second.shards) {
                a.decisions.extend(b.decisions);
                a.events.extend(b.events);
            }
            first.newest = first.newest.max(second.newest);
            first.next_uid = first.next_uid.max(second.next_uid);
            first
        } else {
            self.sort_ops(records, 0)?
        };
        self.newest.fetch_max(sorted.newest, Ordering::AcqRel);
        self.next_uid.fetch_max(sorted.next_uid, Ordering::Relaxed);
        let cutoff = self.cutoff();

        let apply = |(first, work): (usize, &mut [Work<'_>])| -> Result<Vec<Removal>, Failed> {
            let mut removals = Vec::new();
            for (s, work) in (first..).zip(work) {
                let mut shard = lock(&self.shards[s]);
                for op in &work.decisions {
                    self.apply_op(&mut shard, op, records, cutoff, &mut removals)?;
                }
                // Each key's events together and in time order: one lookup
                // per key, and a merge rather than inserts.
                work.events.sort_unstable_by_key(|(hash, e)| (*hash, e.ts));
                let mut run = Vec::new();
                for events in work.events.chunk_by(|a, b| a.0 == b.0) {
                    run.clear();
                    run.extend(events.iter().map(|(_, e)| *e));
                    shard.add_run(events[0].0, &run);
                }
            }
            Ok(removals)
        };
        let results = if parallel {
            let (a, b) = sorted.shards.split_at_mut(DATA_SHARDS / 2);
            let (ra, rb) = both((0, a), (DATA_SHARDS / 2, b), apply);
            vec![ra, rb]
        } else {
            vec![apply((0, &mut sorted.shards))]
        };
        for removals in results {
            for (hash, event) in removals? {
                self.shard(hash).remove_event(hash, &event);
            }
        }
        Ok(sorted.newest)
    }

    /// Step 1 over `records` (the first at index `base` of the batch).
    fn sort_ops<'a>(&self, records: &[&'a [u8]], base: usize) -> Result<Sorted<'a>, Failed> {
        let mut sorted = Sorted {
            shards: (0..DATA_SHARDS).map(|_| Work::default()).collect(),
            newest: 0,
            next_uid: 0,
        };
        let mut assets: HashMap<&str, u32> = HashMap::new();
        for (i, &bytes) in records.iter().enumerate() {
            let index = base + i;
            let op_index = u32::try_from(index).map_err(|_| (index, "too many records".into()))?;
            let rec = record::decode(bytes).map_err(|e| (index, e))?;
            sorted.newest = sorted.newest.max(rec.requested_at());
            match rec {
                LogRecord::Decided(d) => {
                    let hash = self.hasher.hash(d.id.as_bytes());
                    sorted.shards[shard_of(hash)].decisions.push(Op::Record {
                        index: op_index,
                        id: d.id,
                        requested_at: d.requested_at,
                        hash,
                    });
                    if let Some(c) = &d.contribution {
                        sorted.next_uid = sorted.next_uid.max(c.uid + 1);
                        let asset = *assets
                            .entry(d.parts.asset)
                            .or_insert_with(|| self.intern(d.parts.asset));
                        let event = Event::of(c, asset);
                        for scope in Scope::ALL {
                            let hash = self.key_hash(d.parts, scope);
                            sorted.shards[shard_of(hash)].events.push((hash, event));
                        }
                    }
                }
                LogRecord::Released { id, .. } => {
                    let hash = self.hasher.hash(id.as_bytes());
                    sorted.shards[shard_of(hash)].decisions.push(Op::Release {
                        index: op_index,
                        id,
                        hash,
                    });
                }
            }
        }
        Ok(sorted)
    }

    fn apply_op(
        &self,
        shard: &mut Shard,
        op: &Op<'_>,
        records: &[&[u8]],
        cutoff: u64,
        removals: &mut Vec<Removal>,
    ) -> Result<(), Failed> {
        match *op {
            Op::Record {
                index,
                id,
                requested_at,
                hash,
            } => {
                let bytes = records[index as usize];
                shard
                    .decisions
                    .insert(hash, id, requested_at, bytes, cutoff, &self.hasher)
                    .map_err(|e| (index as usize, e))?;
            }
            Op::Release { index, id, hash } => {
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
