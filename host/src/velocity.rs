//! Velocity state: the allowed withdrawals per key, in sliding windows, and
//! the recorded decision per withdrawal id (idempotency).
//!
//! Check-and-record is atomic per key: the gate locks the stripes of every
//! key a withdrawal touches (and of its id) before any policy reads a
//! window, and records the withdrawal under all its keys before unlocking.
//! No interleaving of concurrent requests can then let the count or sum in
//! a window exceed a limit that each request was checked against.
//!
//! Windows slide exactly. A query at time `t` for a window of `W` ms counts
//! every recorded event with `ts > t - W`, including events later than `t`:
//! any window of length `W` containing `t` holds a subset of those, so an
//! out-of-order request is judged conservatively and in-order requests
//! exactly.

use crate::model::{Decision, Withdrawal};
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Default history kept: the longest window a policy may ask for.
pub const DEFAULT_RETENTION_MS: u64 = 8 * 24 * 3_600_000;
const DATA_SHARDS: usize = 64;
const LOCK_STRIPES: usize = 1024;

/// Which key of a withdrawal a window is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Account,
    AccountAsset,
    Destination,
    AccountDestination,
    Asset,
}

impl Scope {
    /// Every scope, in key order.
    pub const ALL: [Scope; 5] = [
        Scope::Account,
        Scope::AccountAsset,
        Scope::Destination,
        Scope::AccountDestination,
        Scope::Asset,
    ];
}

/// The keys of one withdrawal, one per scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    keys: [String; 5],
    asset: Arc<str>,
}

impl Keys {
    /// Keys for `w`; `destination` should be the canonical address when the
    /// destination parses, so case and format variants share one key.
    pub fn new(w: &Withdrawal, destination: &str) -> Self {
        // Length-prefixed components: no two different tuples share a key.
        let k = |parts: &[&str]| {
            use std::fmt::Write;
            let mut s = String::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
            for p in parts {
                let _ = write!(s, "{}:{p}", p.len());
            }
            s
        };
        let dest = format!("{}/{}", w.chain, destination);
        Keys {
            keys: [
                k(&["acct", &w.account]),
                k(&["acct-asset", &w.account, &w.asset]),
                k(&["dest", &dest]),
                k(&["acct-dest", &w.account, &dest]),
                k(&["asset", &w.asset]),
            ],
            asset: Arc::from(w.asset.as_str()),
        }
    }

    /// The key for `scope`.
    pub fn get(&self, scope: Scope) -> &str {
        &self.keys[scope as usize]
    }

    /// The withdrawal's asset.
    pub fn asset(&self) -> &str {
        &self.asset
    }

    /// All keys.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(String::as_str)
    }
}

/// Statistics of a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowStats {
    pub count: u64,
    /// Sum of amounts in the queried asset, minor units.
    pub sum: u64,
    pub usd_cents: u64,
}

/// One allowed withdrawal as the velocity state keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Event {
    ts: u64,
    asset: Arc<str>,
    amount: u64,
    usd_cents: u64,
}

/// A decision recorded for an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// sha256 of the withdrawal's content, to detect a reused id.
    pub fingerprint: [u8; 32],
    pub decision: Decision,
    requested_at: u64,
}

/// Velocity failures; a policy that meets one holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VelocityError {
    #[error("window of {window_ms} ms is longer than the {retention_ms} ms of history kept")]
    WindowTooLong { window_ms: u64, retention_ms: u64 },
    #[error("requested-at {t} is older than the history kept (pruned before {horizon})")]
    TooOld { t: u64, horizon: u64 },
}

/// Events per key, sorted by time.
type Shard = HashMap<String, VecDeque<Event>>;

/// In-memory velocity state.
pub struct MemoryVelocity {
    retention_ms: u64,
    shards: Box<[Mutex<Shard>]>,
    stripes: Box<[Mutex<()>]>,
    decisions: Mutex<DecisionLog>,
    hasher: std::hash::RandomState,
    /// Events with `ts` below this may have been pruned.
    horizon: AtomicU64,
    newest: AtomicU64,
}

#[derive(Default)]
struct DecisionLog {
    by_id: HashMap<String, Recorded>,
    order: VecDeque<(u64, String)>,
}

/// Held while a withdrawal is checked and recorded.
pub struct KeyLock<'a> {
    _guards: Vec<MutexGuard<'a, ()>>,
}

impl Default for MemoryVelocity {
    fn default() -> Self {
        Self::new(DEFAULT_RETENTION_MS)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a velocity lock cannot leave the maps half
    // updated (every update is a single push or remove), so poisoning is
    // safe to clear.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MemoryVelocity {
    /// A store keeping `retention_ms` of history.
    pub fn new(retention_ms: u64) -> Self {
        MemoryVelocity {
            retention_ms,
            shards: (0..DATA_SHARDS).map(|_| Mutex::default()).collect(),
            stripes: (0..LOCK_STRIPES).map(|_| Mutex::default()).collect(),
            decisions: Mutex::default(),
            hasher: std::hash::RandomState::new(),
            horizon: AtomicU64::new(0),
            newest: AtomicU64::new(0),
        }
    }

    /// History kept, ms.
    pub fn retention_ms(&self) -> u64 {
        self.retention_ms
    }

    fn slot(&self, key: &str, n: usize) -> usize {
        (self.hasher.hash_one(key) % n as u64) as usize
    }

    /// Locks the stripes of `id` and every key, in stripe order (no
    /// deadlock between concurrent callers).
    pub fn lock(&self, id: &str, keys: &Keys) -> KeyLock<'_> {
        let mut stripes: Vec<usize> = std::iter::once(self.slot(id, LOCK_STRIPES))
            .chain(keys.all().map(|k| self.slot(k, LOCK_STRIPES)))
            .collect();
        stripes.sort_unstable();
        stripes.dedup();
        KeyLock {
            _guards: stripes
                .into_iter()
                .map(|i| lock(&self.stripes[i]))
                .collect(),
        }
    }

    /// Statistics over the window of `window_ms` ending at `t` for `key`;
    /// `sum` counts only events in `asset`.
    pub fn window(
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
        let shard = lock(&self.shards[self.slot(key, DATA_SHARDS)]);
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

    /// Records an allowed withdrawal under all its keys.
    pub fn record(&self, keys: &Keys, w: &Withdrawal) {
        let event = Event {
            ts: w.requested_at,
            asset: keys.asset.clone(),
            amount: w.amount,
            usd_cents: w.usd_cents.unwrap_or(0),
        };
        let newest = self
            .newest
            .fetch_max(w.requested_at, Ordering::AcqRel)
            .max(w.requested_at);
        let cutoff = newest.saturating_sub(self.retention_ms);
        for key in keys.all() {
            let mut shard = lock(&self.shards[self.slot(key, DATA_SHARDS)]);
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
        if cutoff > 0 {
            self.horizon.fetch_max(cutoff, Ordering::AcqRel);
        }
    }

    /// The decision recorded for `id`, if any.
    pub fn recorded(&self, id: &str) -> Option<Recorded> {
        lock(&self.decisions).by_id.get(id).cloned()
    }

    /// Records the decision for `id` (kept as long as the velocity history).
    pub fn record_decision(&self, w: &Withdrawal, fingerprint: [u8; 32], decision: &Decision) {
        let mut log = lock(&self.decisions);
        let recorded = Recorded {
            fingerprint,
            decision: decision.without_timing(),
            requested_at: w.requested_at,
        };
        if log.by_id.insert(w.id.clone(), recorded).is_none() {
            log.order.push_back((w.requested_at, w.id.clone()));
        }
        let cutoff = self
            .newest
            .load(Ordering::Acquire)
            .saturating_sub(self.retention_ms);
        while let Some((ts, _)) = log.order.front() {
            if *ts >= cutoff || cutoff == 0 {
                break;
            }
            let (_, id) = log.order.pop_front().expect("front exists");
            if log.by_id.get(&id).is_some_and(|r| r.requested_at < cutoff) {
                log.by_id.remove(&id);
            }
        }
    }

    /// Number of distinct keys with history (for stats).
    pub fn key_count(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }
}
