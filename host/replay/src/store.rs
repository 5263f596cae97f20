//! The replay's velocity store: a fresh in-memory history that is the
//! log's, not the candidate's.
//!
//! The gate under replay reads windows from it as usual, but its commits
//! never record the candidate's decision, and no id is ever answered from
//! it (every withdrawal is decided anew). What the serving gate recorded
//! for each record (the logged decision; for a logged ALLOW, its
//! contribution to the windows) is written when the candidate's gate
//! commits, under the keys it derived, or else by [`History::record`].
//!
//! The history is a window index with the memory store's semantics
//! (`riskgate_velocity::MemoryStore`, which the serving gate uses): a
//! query at `t` over `W` ms counts every recorded ALLOW with
//! `ts > t - W`, later ones included; a window longer than the retention,
//! or reaching below the horizon (the newest requested-at recorded, capped
//! at the host clock plus the default skew, minus the retention) is
//! refused as the memory store refuses it. It keeps no decision per id
//! (replay looks none up), which makes recording cheap.

use riskgate::address;
use riskgate::model::{Verdict, Withdrawal};
use riskgate::velocity::{
    Commit, DEFAULT_RETENTION_MS, Exclusive, HoldQuery, KeyParts, KeyStats, Keys, Recorded,
    Released, Scope, Store, Velocity, VelocityError, WindowStats,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One recorded ALLOW under one key.
#[derive(Debug, Clone, Copy)]
struct Event {
    ts: u64,
    amount: u64,
    usd_cents: u64,
    asset: u32,
}

/// A fast multiply-rotate hash of key text (the keys come from the log
/// under replay; a seed drawn per process keeps crafted collisions from
/// being planned ahead, and a collision only costs time).
#[derive(Clone, Copy)]
struct Fast(u64);

impl std::hash::Hasher for Fast {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0xf135_7aea_2e62_a9c5;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(K);
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.0 =
            (self.0.rotate_left(5) ^ u64::from_le_bytes(tail) ^ rest.len() as u64).wrapping_mul(K);
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

#[derive(Clone, Copy)]
struct FastState(u64);

impl Default for FastState {
    fn default() -> Self {
        use std::hash::BuildHasher;
        FastState(std::hash::RandomState::new().hash_one(0u8) | 1)
    }
}

impl std::hash::BuildHasher for FastState {
    type Hasher = Fast;
    fn build_hasher(&self) -> Fast {
        Fast(self.0)
    }
}

/// A key's text as 128 bits: two [`Fast`] hashes under independent
/// random seeds (the memory store also holds keys as 128-bit hashes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct KeyHash(u64, u64);

/// The seeds of [`KeyHash`].
struct KeySeeds(FastState, FastState);

impl KeySeeds {
    fn new() -> Self {
        let a = FastState::default();
        let mut b = FastState::default();
        while b.0 == a.0 {
            b.0 = b.0.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15 | 1;
        }
        KeySeeds(a, b)
    }

    /// Both halves in one pass over the text.
    fn hash(&self, key: &str) -> KeyHash {
        const K: u64 = 0xf135_7aea_2e62_a9c5;
        const L: u64 = 0x9e37_79b9_7f4a_7c15;
        let (mut a, mut b) = (self.0.0, self.1.0);
        let bytes = key.as_bytes();
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            a = (a.rotate_left(5) ^ v).wrapping_mul(K);
            b = (b.rotate_left(23) ^ v).wrapping_mul(L);
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        let v = u64::from_le_bytes(tail) ^ bytes.len() as u64;
        a = (a.rotate_left(5) ^ v).wrapping_mul(K);
        b = (b.rotate_left(23) ^ v).wrapping_mul(L);
        KeyHash(a ^ (a >> 29), b ^ (b >> 31))
    }
}

/// Hashes a [`KeyHash`] by its first half (already a hash).
#[derive(Default)]
struct Passthrough(u64);

impl std::hash::Hasher for Passthrough {
    fn write(&mut self, _bytes: &[u8]) {
        unreachable!("only u64 halves are hashed")
    }
    fn write_u64(&mut self, v: u64) {
        if self.0 == 0 {
            self.0 = v | 1;
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// ALLOWs per key, each key's events sorted by time.
struct Index {
    keys: HashMap<KeyHash, Vec<Event>, std::hash::BuildHasherDefault<Passthrough>>,
    seeds: KeySeeds,
    assets: HashMap<String, u32>,
    retention_ms: u64,
    /// The newest requested-at recorded (capped at `newest_cap`).
    newest: u64,
    newest_cap: u64,
    /// Events before it may have been dropped: no window reaches below it.
    horizon: u64,
}

impl Index {
    fn new(retention_ms: u64) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Index {
            keys: HashMap::default(),
            seeds: KeySeeds::new(),
            assets: HashMap::new(),
            retention_ms,
            newest: 0,
            newest_cap: now
                .saturating_add(riskgate::model::DEFAULT_MAX_CLOCK_SKEW.as_millis() as u64),
            horizon: 0,
        }
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
        if t.saturating_add(1) < self.horizon.saturating_add(window_ms) {
            return Err(VelocityError::TooOld {
                t,
                horizon: self.horizon,
            });
        }
        let asset = self.assets.get(asset).copied();
        let mut stats = WindowStats::default();
        if let Some(events) = self.keys.get(&self.seeds.hash(key)) {
            let start = events.partition_point(|e| e.ts.saturating_add(window_ms) <= t);
            for e in &events[start..] {
                stats.count += 1;
                stats.usd_cents = stats.usd_cents.saturating_add(e.usd_cents);
                if Some(e.asset) == asset {
                    stats.sum = stats.sum.saturating_add(e.amount);
                }
            }
        }
        Ok(stats)
    }

    /// Records a decision at `requested_at`, an ALLOW (`allowed`: amount
    /// and USD value) under every key.
    fn record(&mut self, keys: &Keys, requested_at: u64, allowed: Option<(u64, u64)>) {
        self.record_at(keys, requested_at, requested_at, allowed);
    }

    /// Records a decision of `requested_at` whose contribution (`allowed`)
    /// counts from `ts`: an ALLOW's own time, or an approved HOLD's
    /// approval (as the memory store records an approval: its newest
    /// requested-at moved by the withdrawal's time, the event at the
    /// approval's).
    fn record_at(&mut self, keys: &Keys, requested_at: u64, ts: u64, allowed: Option<(u64, u64)>) {
        self.newest = self.newest.max(requested_at.min(self.newest_cap));
        let cutoff = self.newest.saturating_sub(self.retention_ms);
        self.horizon = self.horizon.max(cutoff);
        let Some((amount, usd_cents)) = allowed else {
            return;
        };
        let asset = match self.assets.get(keys.asset()) {
            Some(&asset) => asset,
            None => {
                let n = self.assets.len() as u32;
                self.assets.insert(keys.asset().to_string(), n);
                n
            }
        };
        let event = Event {
            ts,
            amount,
            usd_cents,
            asset,
        };
        for scope in Scope::ALL {
            let key = keys.get(scope);
            let events = self.keys.entry(self.seeds.hash(key)).or_default();
            let at = events.partition_point(|e| e.ts <= event.ts);
            events.insert(at, event);
            if cutoff > 0 && events.first().is_some_and(|e| e.ts < cutoff) {
                let keep = events.partition_point(|e| e.ts < cutoff);
                events.drain(..keep);
            }
        }
    }
}

/// The store the candidate gate reads (see the module docs).
struct ReplayStore {
    index: Mutex<Index>,
    /// What the log says the serving gate recorded for the withdrawal
    /// being re-decided, written when the candidate's gate commits (its
    /// keys are then at hand) or else by [`History::record`].
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    /// The logged verdict to record, and the withdrawal's amount and USD
    /// value; `None`: nothing to record (or already recorded).
    record: Option<(Verdict, u64, u64)>,
}

impl ReplayStore {
    fn write(&self, pending: &mut Pending, keys: &Keys, requested_at: u64) {
        if let Some((verdict, amount, usd)) = pending.record.take() {
            let allowed = (verdict == Verdict::Allow).then_some((amount, usd));
            lock(&self.index).record(keys, requested_at, allowed);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Store for ReplayStore {
    fn describe(&self) -> String {
        "replay (memory, the log's history)".into()
    }

    fn retention_ms(&self) -> u64 {
        lock(&self.index).retention_ms
    }

    fn recorded(&self, _id: &str) -> Result<Option<Recorded>, VelocityError> {
        // No recorded id is replayed: retries in the log are skipped, and
        // everything else is decided anew.
        Ok(None)
    }

    fn window(
        &self,
        key: &str,
        asset: &str,
        t: u64,
        window_ms: u64,
    ) -> Result<WindowStats, VelocityError> {
        lock(&self.index).window(key, asset, t, window_ms)
    }

    fn commit(&self, commit: &Commit<'_>, _exclusive: Exclusive) -> Result<(), VelocityError> {
        // The candidate's decision is not history: the log's is, written
        // here under the keys the gate derived.
        let mut pending = lock(&self.pending);
        self.write(&mut pending, commit.keys, commit.requested_at);
        Ok(())
    }

    fn release(&self, id: &str) -> Result<Released, VelocityError> {
        Err(VelocityError::UnknownId(id.to_string()))
    }

    fn holds(&self, _query: &HoldQuery) -> Result<Vec<Recorded>, VelocityError> {
        // No decision is kept per id, so no hold is queued.
        Ok(Vec::new())
    }

    fn key_stats(&self, key: &str) -> Result<KeyStats, VelocityError> {
        let index = lock(&self.index);
        let mut stats = KeyStats::default();
        for e in index.keys.get(&index.seeds.hash(key)).into_iter().flatten() {
            stats.events += 1;
            stats.oldest_ts.get_or_insert(e.ts);
            stats.newest_ts = Some(e.ts);
            stats.usd_cents = stats.usd_cents.saturating_add(e.usd_cents);
        }
        Ok(stats)
    }
}

/// The log's history, and the velocity handle candidate gates read it
/// through.
pub struct History {
    store: Arc<ReplayStore>,
    velocity: Arc<Velocity>,
    recorded: u64,
    contributions: u64,
    approvals: u64,
}

impl Default for History {
    fn default() -> Self {
        Self::new()
    }
}

impl History {
    /// An empty history (the default retention of a memory store).
    pub fn new() -> Self {
        let store = Arc::new(ReplayStore {
            index: Mutex::new(Index::new(DEFAULT_RETENTION_MS)),
            pending: Mutex::default(),
        });
        let velocity = Arc::new(Velocity::new(store.clone()));
        History {
            store,
            velocity,
            recorded: 0,
            contributions: 0,
            approvals: 0,
        }
    }

    /// The handle candidate gates are built over.
    pub fn velocity(&self) -> Arc<Velocity> {
        self.velocity.clone()
    }

    /// Decisions recorded, and of them ALLOWs (window contributions).
    pub fn counts(&self) -> (u64, u64) {
        (self.recorded, self.contributions)
    }

    /// Approved HOLDs counted (see [`History::approved`]).
    pub fn approvals(&self) -> u64 {
        self.approvals
    }

    /// An approved HOLD's contribution, as the log's resolution record
    /// gives it: `amount` and `usd_cents` under the keys of `parts` (the
    /// withdrawal's, as the serving store recorded them), counted from
    /// `counted_at` (the approval). `requested_at` is the withdrawal's.
    pub fn approved(
        &mut self,
        parts: KeyParts,
        requested_at: u64,
        counted_at: u64,
        amount: u64,
        usd_cents: u64,
    ) {
        let keys = Keys::from_parts(parts);
        lock(&self.store.index).record_at(
            &keys,
            requested_at,
            counted_at,
            Some((amount, usd_cents)),
        );
        self.approvals += 1;
    }

    /// Before `w` is re-decided: what the serving gate recorded for it
    /// (`Some(verdict)`: it recorded the decision; `None`: it did not, a
    /// `gate.*` reason or a retry), written by the candidate gate's commit
    /// if it makes one, else by [`History::record`].
    pub fn expect(&mut self, w: &Withdrawal, recorded: Option<Verdict>) {
        lock(&self.store.pending).record =
            recorded.map(|v| (v, w.amount, w.usd_cents.unwrap_or(0)));
        if let Some(v) = recorded {
            self.recorded += 1;
            if v == Verdict::Allow {
                self.contributions += 1;
            }
        }
    }

    /// After `w` was re-decided (or right after [`History::expect`] when it
    /// is not): writes what is still pending. The keys are the gate's: the
    /// canonical destination when it parses, else the trimmed text.
    pub fn record(&mut self, w: &Withdrawal) -> Result<(), VelocityError> {
        let mut pending = lock(&self.store.pending);
        if pending.record.is_none() {
            return Ok(());
        }
        let canonical = address::canonicalize(&w.chain, &w.destination);
        let keys = Keys::new(
            w,
            match &canonical {
                Ok(c) => c.as_str(),
                Err(_) => w.destination.trim(),
            },
        );
        self.store.write(&mut pending, &keys, w.requested_at);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskgate::model::Decision;
    use riskgate::velocity::MemoryStore;

    /// The index answers every window as the memory store does (the
    /// serving gate's), errors included, over random histories with
    /// out-of-order times, retention-sized gaps and approvals counted
    /// after their withdrawal's time.
    #[test]
    fn windows_match_the_memory_store() {
        let retention = 3_600_000;
        let memory = MemoryStore::new(retention);
        let mut index = Index::new(retention);
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let keys: Vec<Keys> = (0..12)
            .map(|i| {
                Keys::from_parts(KeyParts {
                    account: format!("a{}", i % 4),
                    asset: ["BTC", "ETH"][i % 2].into(),
                    chain: "c".into(),
                    destination: format!("d{}", i % 3),
                })
            })
            .collect();
        let mut t = 1_700_000_000_000u64;
        let decision = Decision::allow("x");
        for i in 0..4_000u64 {
            t += match next(100) {
                0 => 2 * retention,
                1..=9 => 0,
                _ => next(120_000),
            };
            let at = t.saturating_sub(next(4) * next(900_000));
            let k = &keys[next(keys.len() as u64) as usize];
            let allowed = (next(3) > 0).then(|| (next(1_000), next(500)));
            // Some contributions are approved HOLDs: counted from their
            // approval, up to twice the retention after the withdrawal.
            let counted_at = (allowed.is_some() && next(4) == 0).then(|| at + next(2 * retention));
            let id = format!("w{i}");
            memory
                .commit(
                    &Commit {
                        id: &id,
                        keys: k,
                        fingerprint: [0; 32],
                        requested_at: at,
                        decision: &decision,
                        allowed,
                        counted_at,
                    },
                    Exclusive::default(),
                )
                .unwrap();
            index.record_at(k, at, counted_at.unwrap_or(at), allowed);
            for _ in 0..3 {
                let q = &keys[next(keys.len() as u64) as usize];
                let scope = Scope::ALL[next(5) as usize];
                let window = [60_000, 600_000, retention, retention + 1][next(4) as usize];
                let qt = t.saturating_sub(next(3) * next(2 * retention));
                let asset = ["BTC", "ETH", "XRP"][next(3) as usize];
                assert_eq!(
                    index.window(q.get(scope), asset, qt, window),
                    memory.window(q.get(scope), asset, qt, window),
                    "step {i}: {scope:?} at {qt} over {window}"
                );
            }
        }
    }
}
