//! The in-memory velocity index: events per key sorted by time, decisions
//! per id. [`MemoryStore`] serves it directly (state is lost on exit);
//! [`DurableStore`](super::DurableStore) rebuilds it from its log at start.
//!
//! Compact by construction, since a durable store holds a week of history:
//! an event is 40 bytes (the asset interned), a key's first event needs no
//! spare capacity, and a decision is kept as its encoded log record (about
//! 150 bytes for an ALLOW), decoded only when an id is replayed or released.

use super::record::{self, Decided, LogRecord, PartsRef};
use super::{
    Commit, Contribution, KeyStats, Recorded, Released, Store, VelocityError, WindowStats,
    check_horizon, check_window_len, key_strings, lock, write_keys,
};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

const DATA_SHARDS: usize = 64;

/// One allowed withdrawal under one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Event {
    ts: u64,
    uid: u64,
    amount: u64,
    usd_cents: u64,
    /// Interned asset (see [`Assets`]).
    asset: u32,
}

/// Inserts `event` after every event not later than it. Events arrive
/// nearly in time order, so the place is found from the back: a binary
/// search over a long history would be a cache miss per step.
fn insert_sorted(events: &mut VecDeque<Event>, event: Event) {
    let mut at = events.len();
    while at > 0 && events[at - 1].ts > event.ts {
        at -= 1;
        if events.len() - at > 16 {
            at = events.partition_point(|e| e.ts <= event.ts);
            break;
        }
    }
    events.insert(at, event);
}

/// Events per key, sorted by time.
type Shard = HashMap<Box<str>, VecDeque<Event>>;

/// A recorded decision: its encoded log record.
struct Stored {
    requested_at: u64,
    record: Box<[u8]>,
}

#[derive(Default)]
struct DecisionLog {
    by_id: HashMap<Arc<str>, Stored>,
    /// (requested-at, id) in arrival order, for pruning; shares the id.
    order: VecDeque<(u64, Arc<str>)>,
}

/// Asset names interned to small integers.
#[derive(Default)]
struct Assets {
    ids: HashMap<Box<str>, u32>,
}

/// In-memory velocity state.
pub struct MemoryStore {
    retention_ms: u64,
    shards: Box<[Mutex<Shard>]>,
    decisions: Mutex<DecisionLog>,
    assets: RwLock<Assets>,
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

fn corrupt(why: String) -> VelocityError {
    VelocityError::Unavailable(format!("a recorded decision cannot be read: {why}"))
}

impl MemoryStore {
    /// A store keeping `retention_ms` of history.
    pub fn new(retention_ms: u64) -> Self {
        MemoryStore {
            retention_ms,
            shards: (0..DATA_SHARDS).map(|_| Mutex::default()).collect(),
            decisions: Mutex::default(),
            assets: RwLock::default(),
            hasher: std::hash::RandomState::new(),
            horizon: AtomicU64::new(0),
            newest: AtomicU64::new(0),
            next_uid: AtomicU64::new(1),
        }
    }

    fn shard(&self, key: &str) -> &Mutex<Shard> {
        &self.shards[(self.hasher.hash_one(key) % DATA_SHARDS as u64) as usize]
    }

    fn asset_id(&self, asset: &str) -> Option<u32> {
        self.assets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .ids
            .get(asset)
            .copied()
    }

    fn intern(&self, asset: &str) -> u32 {
        if let Some(id) = self.asset_id(asset) {
            return id;
        }
        let mut assets = self.assets.write().unwrap_or_else(|p| p.into_inner());
        let next = assets.ids.len() as u32;
        *assets.ids.entry(asset.into()).or_insert(next)
    }

    /// The newest requested-at seen.
    pub(super) fn newest(&self) -> u64 {
        self.newest.load(Ordering::Acquire)
    }

    /// Encodes what `c` records, with a fresh uid for an ALLOW.
    pub(super) fn encode(&self, c: &Commit<'_>) -> Result<Vec<u8>, VelocityError> {
        let decision = record::decision_json(c.decision).map_err(VelocityError::Unavailable)?;
        LogRecord::Decided(Decided {
            id: c.id,
            fingerprint: c.fingerprint,
            requested_at: c.requested_at,
            parts: PartsRef::of(c.keys.parts()),
            contribution: c.allowed.map(|(amount, usd_cents)| Contribution {
                uid: self.next_uid.fetch_add(1, Ordering::Relaxed),
                ts: c.requested_at,
                amount,
                usd_cents,
            }),
            decision: &decision,
        })
        .encode()
        .map_err(VelocityError::Unavailable)
    }

    /// Applies one encoded record (a decision with its contribution, or a
    /// release); returns its requested-at.
    pub(super) fn apply(&self, bytes: &[u8]) -> Result<u64, String> {
        let rec = record::decode(bytes)?;
        let ts = rec.requested_at();
        match rec {
            LogRecord::Decided(d) => self.apply_decided(&d, bytes),
            // Unknown when the decision aged out before its release.
            LogRecord::Released { id, .. } => {
                self.remove(id)?;
            }
        }
        Ok(ts)
    }

    fn apply_decided(&self, d: &Decided<'_>, bytes: &[u8]) {
        let newest = self
            .newest
            .fetch_max(d.requested_at, Ordering::AcqRel)
            .max(d.requested_at);
        let cutoff = newest.saturating_sub(self.retention_ms);
        if let Some(c) = &d.contribution {
            self.next_uid.fetch_max(c.uid + 1, Ordering::Relaxed);
            let event = Event {
                ts: c.ts,
                uid: c.uid,
                amount: c.amount,
                usd_cents: c.usd_cents,
                asset: self.intern(d.parts.asset),
            };
            thread_local! {
                static KEYS: RefCell<[String; 5]> = RefCell::default();
            }
            KEYS.with_borrow_mut(|keys| {
                write_keys(d.parts, keys);
                for key in keys.iter() {
                    let mut shard = lock(self.shard(key));
                    let events = match shard.get_mut(key.as_str()) {
                        Some(events) => events,
                        None => shard
                            .entry(key.as_str().into())
                            .or_insert_with(|| VecDeque::with_capacity(1)),
                    };
                    insert_sorted(events, event);
                    if cutoff > 0 {
                        while events.front().is_some_and(|e| e.ts < cutoff) {
                            events.pop_front();
                        }
                    }
                }
            });
        }
        if cutoff > 0 {
            self.horizon.fetch_max(cutoff, Ordering::AcqRel);
        }
        let id: Arc<str> = Arc::from(d.id);
        let mut log = lock(&self.decisions);
        let stored = Stored {
            requested_at: d.requested_at,
            record: bytes.into(),
        };
        if log.by_id.insert(id.clone(), stored).is_none() {
            log.order.push_back((d.requested_at, id));
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
    pub(super) fn remove(&self, id: &str) -> Result<Option<Released>, String> {
        let Some(stored) = lock(&self.decisions).by_id.remove(id) else {
            return Ok(None);
        };
        let LogRecord::Decided(d) = record::decode(&stored.record)? else {
            return Err("a stored decision is a release record".into());
        };
        if let Some(c) = &d.contribution {
            for key in key_strings(d.parts) {
                let mut shard = lock(self.shard(&key));
                if let Some(events) = shard.get_mut(key.as_str()) {
                    let from = events.partition_point(|e| e.ts < c.ts);
                    if let Some(offset) = events.range(from..).position(|e| e.uid == c.uid) {
                        events.remove(from + offset);
                    }
                    if events.is_empty() {
                        shard.remove(key.as_str());
                    }
                }
            }
        }
        Ok(Some(Released {
            id: id.to_string(),
            had_contribution: d.contribution.is_some(),
            requested_at: d.requested_at,
        }))
    }

    /// Number of distinct keys with history.
    pub fn key_count(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Number of recorded decisions.
    pub fn decision_count(&self) -> usize {
        lock(&self.decisions).by_id.len()
    }

    /// Every recorded decision's id and contribution uid, sorted.
    pub fn contributions(&self) -> Vec<(String, Option<u64>)> {
        let log = lock(&self.decisions);
        let mut all: Vec<_> = log
            .by_id
            .iter()
            .filter_map(|(id, s)| match record::decode(&s.record) {
                Ok(LogRecord::Decided(d)) => Some((id.to_string(), d.contribution.map(|c| c.uid))),
                _ => None,
            })
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
        let log = lock(&self.decisions);
        match log.by_id.get(id) {
            None => Ok(None),
            Some(stored) => record::to_recorded(&stored.record)
                .map(Some)
                .map_err(corrupt),
        }
    }

    fn window(
        &self,
        key: &str,
        asset: &str,
        t: u64,
        window_ms: u64,
    ) -> Result<WindowStats, VelocityError> {
        check_window_len(window_ms, self.retention_ms)?;
        check_horizon(t, window_ms, self.horizon.load(Ordering::Acquire))?;
        // An asset never recorded matches no event's sum.
        let asset = self.asset_id(asset);
        let shard = lock(self.shard(key));
        let mut stats = WindowStats::default();
        if let Some(events) = shard.get(key) {
            let start = events.partition_point(|e| e.ts.saturating_add(window_ms) <= t);
            for e in events.range(start..) {
                stats.count += 1;
                stats.usd_cents = stats.usd_cents.saturating_add(e.usd_cents);
                if Some(e.asset) == asset {
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
        let bytes = self.encode(commit)?;
        self.apply(&bytes).map(|_| ()).map_err(corrupt)
    }

    fn release(&self, id: &str) -> Result<Released, VelocityError> {
        self.remove(id)
            .map_err(corrupt)?
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
