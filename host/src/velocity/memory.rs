//! The in-memory velocity index: events per key sorted by time, decisions
//! per id. [`MemoryStore`] serves it directly (state is lost on exit);
//! [`DurableStore`](super::DurableStore) rebuilds it from its log at start.

use super::{
    Commit, Contribution, KeyStats, Keys, Recorded, Released, Store, VelocityError, WindowStats,
    lock,
};
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const DATA_SHARDS: usize = 64;

/// One allowed withdrawal under one key.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Event {
    ts: u64,
    uid: u64,
    asset: Arc<str>,
    amount: u64,
    usd_cents: u64,
}

/// Events per key, sorted by time.
type Shard = HashMap<String, VecDeque<Event>>;

#[derive(Default)]
struct DecisionLog {
    by_id: HashMap<String, Recorded>,
    /// (requested-at, id) in arrival order, for pruning.
    order: VecDeque<(u64, String)>,
}

/// In-memory velocity state.
pub struct MemoryStore {
    retention_ms: u64,
    shards: Box<[Mutex<Shard>]>,
    decisions: Mutex<DecisionLog>,
    hasher: std::hash::RandomState,
    /// Events with `ts` below this may have been pruned.
    horizon: AtomicU64,
    newest: AtomicU64,
    next_uid: AtomicU64,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(super::DEFAULT_RETENTION_MS)
    }
}

impl MemoryStore {
    /// A store keeping `retention_ms` of history.
    pub fn new(retention_ms: u64) -> Self {
        MemoryStore {
            retention_ms,
            shards: (0..DATA_SHARDS).map(|_| Mutex::default()).collect(),
            decisions: Mutex::default(),
            hasher: std::hash::RandomState::new(),
            horizon: AtomicU64::new(0),
            newest: AtomicU64::new(0),
            next_uid: AtomicU64::new(1),
        }
    }

    fn shard(&self, key: &str) -> &Mutex<Shard> {
        &self.shards[(self.hasher.hash_one(key) % DATA_SHARDS as u64) as usize]
    }

    /// The uid the next recorded event gets.
    pub(super) fn next_uid(&self) -> u64 {
        self.next_uid.fetch_add(1, Ordering::Relaxed)
    }

    /// Pruning cutoff after seeing `ts`.
    fn advance(&self, ts: u64) -> u64 {
        let newest = self.newest.fetch_max(ts, Ordering::AcqRel).max(ts);
        newest.saturating_sub(self.retention_ms)
    }

    /// The newest requested-at seen.
    pub(super) fn newest(&self) -> u64 {
        self.newest.load(Ordering::Acquire)
    }

    /// Applies a decision (and its contribution, which carries its uid).
    pub(super) fn apply(&self, recorded: Recorded, keys: &Keys) {
        let cutoff = self.advance(recorded.requested_at);
        if let Some(c) = &recorded.contribution {
            self.next_uid.fetch_max(c.uid + 1, Ordering::Relaxed);
            let event = Event {
                ts: c.ts,
                uid: c.uid,
                asset: keys.asset_arc().clone(),
                amount: c.amount,
                usd_cents: c.usd_cents,
            };
            for key in keys.all() {
                let mut shard = lock(self.shard(key));
                let events = match shard.get_mut(key) {
                    Some(events) => events,
                    None => shard.entry(key.to_string()).or_default(),
                };
                // Keep events sorted by time; out-of-order arrivals are rare.
                let at = events.partition_point(|e| e.ts <= event.ts);
                events.insert(at, event.clone());
                if cutoff > 0 {
                    while events.front().is_some_and(|e| e.ts < cutoff) {
                        events.pop_front();
                    }
                }
            }
        }
        if cutoff > 0 {
            self.horizon.fetch_max(cutoff, Ordering::AcqRel);
        }
        let id = recorded.decision.id.clone();
        let mut log = lock(&self.decisions);
        let ts = recorded.requested_at;
        if log.by_id.insert(id.clone(), recorded).is_none() {
            log.order.push_back((ts, id));
        }
        while let Some((ts, _)) = log.order.front() {
            if cutoff == 0 || *ts >= cutoff {
                break;
            }
            let Some((_, id)) = log.order.pop_front() else {
                break;
            };
            if log.by_id.get(&id).is_some_and(|r| r.requested_at < cutoff) {
                log.by_id.remove(&id);
            }
        }
    }

    /// Removes `id`'s record and contribution; `None` when unknown.
    pub(super) fn remove(&self, id: &str) -> Option<Released> {
        let recorded = lock(&self.decisions).by_id.remove(id)?;
        if let Some(c) = &recorded.contribution {
            let keys = Keys::from_parts(recorded.parts.clone());
            for key in keys.all() {
                let mut shard = lock(self.shard(key));
                if let Some(events) = shard.get_mut(key) {
                    let from = events.partition_point(|e| e.ts < c.ts);
                    if let Some(offset) = events.range(from..).position(|e| e.uid == c.uid) {
                        events.remove(from + offset);
                    }
                    if events.is_empty() {
                        shard.remove(key);
                    }
                }
            }
        }
        Some(Released {
            id: id.to_string(),
            had_contribution: recorded.contribution.is_some(),
            requested_at: recorded.requested_at,
        })
    }

    /// The record a commit makes, with a fresh uid for an ALLOW.
    pub(super) fn to_recorded(&self, c: &Commit<'_>) -> Recorded {
        Recorded {
            fingerprint: c.fingerprint,
            decision: c.decision.without_timing(),
            requested_at: c.requested_at,
            contribution: c.allowed.map(|(amount, usd_cents)| Contribution {
                uid: self.next_uid(),
                ts: c.requested_at,
                amount,
                usd_cents,
            }),
            parts: c.keys.parts().clone(),
        }
    }

    /// Number of distinct keys with history.
    pub fn key_count(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Number of recorded decisions.
    pub fn decision_count(&self) -> usize {
        lock(&self.decisions).by_id.len()
    }

    /// Every recorded decision's id and contribution uid (for tests).
    pub fn contributions(&self) -> Vec<(String, Option<u64>)> {
        let log = lock(&self.decisions);
        let mut all: Vec<_> = log
            .by_id
            .iter()
            .map(|(id, r)| (id.clone(), r.contribution.as_ref().map(|c| c.uid)))
            .collect();
        all.sort();
        all
    }
}

impl Store for MemoryStore {
    fn describe(&self) -> String {
        "memory".to_string()
    }

    fn retention_ms(&self) -> u64 {
        self.retention_ms
    }

    fn recorded(&self, id: &str) -> Result<Option<Recorded>, VelocityError> {
        Ok(lock(&self.decisions).by_id.get(id).cloned())
    }

    fn window(
        &self,
        key: &str,
        asset: &str,
        t: u64,
        window_ms: u64,
    ) -> Result<WindowStats, VelocityError> {
        if window_ms > self.retention_ms {
            return Err(VelocityError::WindowTooLong {
                window_ms,
                retention_ms: self.retention_ms,
            });
        }
        let horizon = self.horizon.load(Ordering::Acquire);
        // Every event with ts > t - window must still be present.
        if t.saturating_add(1) < horizon.saturating_add(window_ms) {
            return Err(VelocityError::TooOld { t, horizon });
        }
        let shard = lock(self.shard(key));
        let mut stats = WindowStats::default();
        if let Some(events) = shard.get(key) {
            let start = events.partition_point(|e| e.ts.saturating_add(window_ms) <= t);
            for e in events.range(start..) {
                stats.count += 1;
                stats.usd_cents = stats.usd_cents.saturating_add(e.usd_cents);
                if *e.asset == *asset {
                    stats.sum = stats.sum.saturating_add(e.amount);
                }
            }
        }
        Ok(stats)
    }

    fn commit(
        &self,
        commit: &Commit<'_>,
        _exclusive: super::Exclusive,
    ) -> Result<(), VelocityError> {
        self.apply(self.to_recorded(commit), commit.keys);
        Ok(())
    }

    fn release(&self, id: &str) -> Result<Released, VelocityError> {
        self.remove(id)
            .ok_or_else(|| VelocityError::UnknownId(id.to_string()))
    }

    fn key_stats(&self, key: &str) -> Result<KeyStats, VelocityError> {
        let shard = lock(self.shard(key));
        let mut stats = KeyStats::default();
        if let Some(events) = shard.get(key) {
            stats.events = events.len() as u64;
            stats.oldest_ts = events.front().map(|e| e.ts);
            stats.newest_ts = events.back().map(|e| e.ts);
            stats.usd_cents = events
                .iter()
                .fold(0u64, |acc, e| acc.saturating_add(e.usd_cents));
        }
        Ok(stats)
    }
}
