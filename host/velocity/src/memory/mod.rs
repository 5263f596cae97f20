//! The in-memory velocity index: events per key sorted by time, decisions
//! per id. [`MemoryStore`] serves it directly (state is lost on exit);
//! [`DurableStore`](super::DurableStore) rebuilds it from its log at start
//! ([`replay`], on every core).
//!
//! Compact by construction, since a durable store holds a week of history
//! (10M decisions and 25M keys on a busy exchange):
//! - keys and ids are held as their 128-bit SipHash-1-3 under a key drawn at
//!   random per process, never as strings. Two different keys sharing a hash
//!   (about 2^-128 per pair, and not steerable without the secret key) would
//!   share one window: the gate then sees more history than there is, so it
//!   can only hold more, never allow more. An id sharing another's hash is
//!   detected (the record carries the id) and refused.
//! - an event is 32 bytes (the asset interned), and a key with one event
//!   (most destinations) keeps it inline, without an allocation
//!   ([`events`]).
//! - decisions are kept as their encoded log records, packed in one arena
//!   per hour of requested-at, decoded only when an id is replayed or
//!   released ([`decisions`]).
//! - keys and ids are spread over [`DATA_SHARDS`] shards, each one lock
//!   over its keys and its decisions.
//!
//! Events older than the retention are pruned when their key is touched,
//! and every shard is swept in turn (one every [`SWEEP_EVERY`] commits), so
//! keys never touched again do not stay in memory.

pub(super) mod checkpoint;
mod decisions;
mod events;
mod replay;

pub(super) use checkpoint::Meta;
pub(super) use replay::ReplayScratch;

use super::record::{self, Decided, LogRecord, PartsRef, RecordError};
use super::{
    Commit, Contribution, HoldQuery, KeyStats, Recorded, Released, Scope, Store, VelocityError,
    WindowStats, check_horizon, check_window_len, lock, newest_cap, write_key,
};
use crate::slots::Padded;
use decisions::DecisionLog;
use events::{Event, Events};
use riskgate_model::HoldState;
use siphasher::sip128::{Hasher128, SipHasher13};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};

const DATA_SHARDS: usize = 256;
/// Contribution uids a thread takes from the store's counter at once, so
/// concurrent commits do not all write one counter.
const UID_BLOCK: u64 = 1024;

/// A number for each store made in this process: the key of the per-thread
/// caches (asset ids, uid blocks), which must not outlive their store.
fn store_instance() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
/// Commits between two sweeps of one shard: every key is swept once per
/// `DATA_SHARDS * SWEEP_EVERY` commits.
const SWEEP_EVERY: usize = 256;

/// A key or an id as the index holds it.
type Hash = u128;

/// The hasher of the index's maps: their keys are already uniform hashes.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, i: u128) {
        self.0 = i as u64;
    }
}

type HashMapOf<V> = HashMap<Hash, V, BuildHasherDefault<PassThrough>>;

/// SipHash-1-3, 128 bits, under a key drawn per process.
#[derive(Clone, Copy)]
struct IndexHasher {
    k0: u64,
    k1: u64,
}

impl IndexHasher {
    fn random() -> Self {
        let mut key = [0u8; 16];
        if getrandom::fill(&mut key).is_err() {
            // No OS randomness: std's per-process random keys instead.
            use std::hash::BuildHasher;
            let state = std::hash::RandomState::new();
            key[..8].copy_from_slice(&state.hash_one(1u8).to_le_bytes());
            key[8..].copy_from_slice(&state.hash_one(2u8).to_le_bytes());
        }
        let (a, b) = key.split_at(8);
        IndexHasher {
            k0: u64::from_le_bytes(a.try_into().unwrap_or_default()),
            k1: u64::from_le_bytes(b.try_into().unwrap_or_default()),
        }
    }

    #[inline]
    fn hash(&self, bytes: &[u8]) -> Hash {
        let mut h = SipHasher13::new_with_keys(self.k0, self.k1);
        h.write(bytes);
        h.finish128().as_u128()
    }
}

fn shard_of(hash: Hash) -> usize {
    ((hash >> 64) as u64 % DATA_SHARDS as u64) as usize
}

/// The shards of `keys` other than `except`, each once, in order.
fn distinct_shards(keys: &[Hash], except: usize) -> impl Iterator<Item = usize> {
    let mut shards = [usize::MAX; Scope::ALL.len()];
    for (slot, &key) in shards.iter_mut().zip(keys) {
        *slot = shard_of(key);
    }
    shards.sort_unstable();
    let mut last = except;
    shards.into_iter().filter(move |&s| {
        let new = s != usize::MAX && s != except && s != last;
        if new {
            last = s;
        }
        new
    })
}

/// The keys and decisions whose hashes fall in one shard.
#[derive(Default)]
struct Shard {
    keys: HashMapOf<Events>,
    decisions: DecisionLog,
    /// While a checkpoint is being written and this shard is not yet in
    /// it: the log sequence numbers of the records applied here.
    since_cut: Option<Vec<u64>>,
}

impl Shard {
    fn add_event(&mut self, hash: Hash, event: Event, cutoff: u64) {
        let events = self
            .keys
            .entry(hash)
            .and_modify(|events| events.insert(event))
            .or_insert(Events::One(event));
        if cutoff > 0 {
            events.prune(cutoff);
            if events.is_empty() {
                self.keys.remove(&hash);
            }
        }
    }

    /// Adds the events of one key, in time order (a replay's).
    fn add_run(&mut self, hash: Hash, run: &[Event]) {
        match self.keys.entry(hash) {
            Entry::Occupied(mut key) => key.get_mut().extend_sorted(run),
            Entry::Vacant(key) => {
                key.insert(Events::from_sorted(run));
            }
        }
    }

    fn remove_event(&mut self, hash: Hash, event: &Event) {
        if let Some(events) = self.keys.get_mut(&hash) {
            events.remove(event);
            if events.is_empty() {
                self.keys.remove(&hash);
            }
        }
    }

    /// Drops every event and decision before `cutoff`, and emptied keys.
    fn sweep(&mut self, cutoff: u64, hasher: &IndexHasher) {
        self.keys.retain(|_, events| {
            events.prune(cutoff);
            !events.is_empty()
        });
        self.decisions.prune(cutoff, hasher);
    }
}

/// An event to remove from a key, found from a released decision.
type Removal = (Hash, Event);

/// A commit's log record, and the contribution it carries.
pub(super) struct Encoded {
    pub bytes: Vec<u8>,
    pub contribution: Option<Contribution>,
}

/// In-memory velocity state.
pub struct MemoryStore {
    retention_ms: u64,
    /// Padded: two threads working in neighbouring shards do not share a
    /// cache line.
    shards: Box<[Padded<Mutex<Shard>>]>,
    assets: RwLock<HashMap<Box<str>, u32>>,
    hasher: IndexHasher,
    /// Events with `ts` below this may have been pruned.
    horizon: AtomicU64,
    newest: AtomicU64,
    next_uid: AtomicU64,
    /// Sweeps started, to pick the next shard.
    applied: AtomicUsize,
    /// This store's [`store_instance`] number.
    instance: u64,
    /// Per shard, the records after a checkpoint's cut (numbered from it)
    /// its block already holds: a replay from the cut skips them there.
    replay_skip: Box<[Vec<u64>]>,
    /// The recorded HOLDs by requested-at and id, with their state: the
    /// review queue (rebuilt from the decisions after a replay).
    holds: Mutex<BTreeMap<(u64, Box<str>), HoldState>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(super::DEFAULT_RETENTION_MS)
    }
}

fn corrupt(why: RecordError) -> VelocityError {
    VelocityError::Unavailable(format!("a recorded decision cannot be read: {why}"))
}

impl MemoryStore {
    /// A store keeping `retention_ms` of history.
    pub fn new(retention_ms: u64) -> Self {
        MemoryStore {
            retention_ms,
            shards: (0..DATA_SHARDS).map(|_| Padded::default()).collect(),
            assets: RwLock::default(),
            hasher: IndexHasher::random(),
            horizon: AtomicU64::new(0),
            newest: AtomicU64::new(0),
            next_uid: AtomicU64::new(1),
            applied: AtomicUsize::new(0),
            instance: store_instance(),
            replay_skip: Box::default(),
            holds: Mutex::default(),
        }
    }

    fn shard(&self, hash: Hash) -> std::sync::MutexGuard<'_, Shard> {
        lock(&self.shards[shard_of(hash)])
    }

    /// The hash of `scope`'s key of `parts` (the hash of its text, built
    /// in a reused buffer: one hasher call).
    fn key_hash(&self, parts: PartsRef<'_>, scope: Scope) -> Hash {
        thread_local! {
            static KEY: RefCell<String> = RefCell::default();
        }
        KEY.with_borrow_mut(|key| {
            write_key(parts, scope, key);
            self.hasher.hash(key.as_bytes())
        })
    }

    /// The interned id of `asset`. Ids never change once given, so each
    /// thread keeps those it has looked up (the shared map's lock is not
    /// taken per window query).
    fn asset_id(&self, asset: &str) -> Option<u32> {
        thread_local! {
            static CACHE: RefCell<Vec<(u64, Box<str>, u32)>> = const { RefCell::new(Vec::new()) };
        }
        let cached = CACHE.with_borrow(|cache| {
            cache
                .iter()
                .find(|(store, name, _)| *store == self.instance && **name == *asset)
                .map(|(_, _, id)| *id)
        });
        if cached.is_some() {
            return cached;
        }
        let id = self
            .assets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(asset)
            .copied()?;
        CACHE.with_borrow_mut(|cache| {
            if cache.len() >= 64 {
                cache.clear();
            }
            cache.push((self.instance, asset.into(), id));
        });
        Some(id)
    }

    /// A fresh contribution uid: from this thread's block, taken from the
    /// store's counter [`UID_BLOCK`] at a time.
    fn next_uid(&self) -> u64 {
        // (store, next, end) per store this thread commits to.
        thread_local! {
            static BLOCKS: RefCell<Vec<(u64, u64, u64)>> = const { RefCell::new(Vec::new()) };
        }
        BLOCKS.with_borrow_mut(|blocks| {
            let at = match blocks.iter().position(|b| b.0 == self.instance) {
                Some(at) => at,
                None => {
                    if blocks.len() >= 8 {
                        blocks.remove(0);
                    }
                    blocks.push((self.instance, 0, 0));
                    blocks.len() - 1
                }
            };
            let block = &mut blocks[at];
            if block.1 >= block.2 {
                block.1 = self.next_uid.fetch_add(UID_BLOCK, Ordering::Relaxed);
                block.2 = block.1 + UID_BLOCK;
            }
            block.1 += 1;
            block.1 - 1
        })
    }

    fn intern(&self, asset: &str) -> u32 {
        if let Some(id) = self.asset_id(asset) {
            return id;
        }
        let mut assets = self.assets.write().unwrap_or_else(|p| p.into_inner());
        let next = assets.len() as u32;
        *assets.entry(asset.into()).or_insert(next)
    }

    /// The newest requested-at seen.
    pub(super) fn newest(&self) -> u64 {
        self.newest.load(Ordering::Acquire)
    }

    fn cutoff(&self) -> u64 {
        self.newest().saturating_sub(self.retention_ms)
    }

    /// Encodes what `c` records, with a fresh uid for an ALLOW.
    pub(super) fn encode(&self, c: &Commit<'_>) -> Result<Encoded, VelocityError> {
        let decision = record::decision_json(c.decision).map_err(VelocityError::from)?;
        let contribution = c.allowed.map(|(amount, usd_cents)| Contribution {
            uid: self.next_uid(),
            ts: c.event_ts(),
            amount,
            usd_cents,
        });
        let bytes = LogRecord::Decided(Decided {
            id: c.id,
            fingerprint: c.fingerprint,
            requested_at: c.requested_at,
            parts: PartsRef::of(c.keys.parts()),
            contribution: contribution.clone(),
            decision: &decision,
        })
        .encode()
        .map_err(VelocityError::from)?;
        Ok(Encoded {
            bytes,
            contribution,
        })
    }

    /// Applies the record `encoded` of `c`, hashing the key texts `c`
    /// already holds, then prunes what aged out. `lsn` is the record's log
    /// sequence number (durable stores), listed for a checkpoint in
    /// progress: each shard is changed under one hold of its lock, the
    /// decision's shard first (an id-hash collision changes nothing).
    pub(super) fn apply_commit(
        &self,
        c: &Commit<'_>,
        encoded: &Encoded,
        lsn: Option<u64>,
    ) -> Result<(), RecordError> {
        // Shared counters are read first and written only when they move,
        // so concurrent commits do not take turns owning their cache line.
        let newest = c.requested_at.min(newest_cap());
        if newest > self.newest.load(Ordering::Acquire) {
            self.newest.fetch_max(newest, Ordering::AcqRel);
        }
        let cutoff = self.cutoff();
        let id_hash = self.hasher.hash(c.id.as_bytes());
        let event = encoded.contribution.as_ref().map(|contribution| {
            if contribution.uid >= self.next_uid.load(Ordering::Relaxed) {
                self.next_uid
                    .fetch_max(contribution.uid + 1, Ordering::Relaxed);
            }
            Event::of(contribution, self.intern(c.keys.asset()))
        });
        // The keys' hashes only when there are events to add.
        let keys =
            event.map(|_| Scope::ALL.map(|scope| self.hasher.hash(c.keys.get(scope).as_bytes())));
        let home = shard_of(id_hash);
        let add = |shard: &mut Shard, s: usize| {
            if let (Some(event), Some(keys)) = (event, &keys) {
                for &hash in keys.iter().filter(|&&h| shard_of(h) == s) {
                    shard.add_event(hash, event, cutoff);
                }
            }
            shard.mark(lsn);
        };
        {
            let mut shard = self.shard(id_hash);
            shard.decisions.insert(
                id_hash,
                c.id,
                c.requested_at,
                &encoded.bytes,
                cutoff,
                &self.hasher,
            )?;
            add(&mut shard, home);
        }
        if let Some(keys) = &keys {
            for s in distinct_shards(keys, home) {
                add(&mut lock(&self.shards[s]), s);
            }
        }
        if let Some(state) = c.hold_state() {
            lock(&self.holds).insert((c.requested_at, c.id.into()), state);
        }
        self.advance(cutoff);
        Ok(())
    }

    /// Rebuilds the review queue from the recorded decisions (after a
    /// replay or a checkpoint load).
    pub(super) fn rebuild_holds(&self) -> Result<(), RecordError> {
        let mut holds = BTreeMap::new();
        for shard in self.shards.iter() {
            let shard = lock(shard);
            for bytes in shard.decisions.records() {
                let LogRecord::Decided(d) = record::decode(bytes)? else {
                    continue;
                };
                // The decision JSON starts with its verdict: only HOLDs
                // are parsed.
                if !d.decision.starts_with(r#"{"verdict":"hold""#) {
                    continue;
                }
                let r = record::to_recorded(bytes)?;
                if let Some(state) = super::hold_state(&r.decision) {
                    holds.insert((r.requested_at, r.decision.id.into()), state);
                }
            }
        }
        *lock(&self.holds) = holds;
        Ok(())
    }

    /// Moves the horizon up to `cutoff` and, every [`SWEEP_EVERY`] commits,
    /// sweeps the next shard.
    fn advance(&self, cutoff: u64) {
        if cutoff == 0 {
            return;
        }
        if cutoff > self.horizon.load(Ordering::Acquire) {
            self.horizon.fetch_max(cutoff, Ordering::AcqRel);
        }
        // Paced per thread: every SWEEP_EVERY commits of a thread, the next
        // shard in turn.
        thread_local! {
            static COMMITS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
        }
        let n = COMMITS.with(|c| {
            let n = c.get();
            c.set(n.wrapping_add(1));
            n
        });
        if n.is_multiple_of(SWEEP_EVERY) {
            let shard = self.applied.fetch_add(1, Ordering::Relaxed) % DATA_SHARDS;
            lock(&self.shards[shard]).sweep(cutoff, &self.hasher);
        }
    }

    /// The events a recorded decision's contribution added, per key.
    fn contribution_events(&self, d: &Decided<'_>) -> Vec<Removal> {
        let Some(c) = &d.contribution else {
            return Vec::new();
        };
        // An asset never interned has no events to remove.
        let Some(asset) = self.asset_id(d.parts.asset) else {
            return Vec::new();
        };
        let event = Event::of(c, asset);
        Scope::ALL
            .map(|scope| (self.key_hash(d.parts, scope), event))
            .to_vec()
    }

    /// Drops `id`'s record from `shard` (the shard of `hash`); what it
    /// released and the events to remove.
    fn forget(
        &self,
        shard: &mut Shard,
        hash: Hash,
        id: &str,
    ) -> Result<Option<(Released, Vec<Removal>)>, RecordError> {
        let Some(bytes) = shard.decisions.get(hash, id, self.cutoff())? else {
            return Ok(None);
        };
        let LogRecord::Decided(d) = record::decode(bytes)? else {
            return Err(RecordError::NotADecision);
        };
        let released = Released {
            id: id.to_string(),
            had_contribution: d.contribution.is_some(),
            requested_at: d.requested_at,
        };
        let removals = self.contribution_events(&d);
        shard.decisions.remove(hash);
        Ok(Some((released, removals)))
    }

    /// Removes `id`'s record and contribution; `None` when unknown. `lsn`
    /// as for [`apply_commit`](Self::apply_commit).
    pub(super) fn remove(
        &self,
        id: &str,
        lsn: Option<u64>,
    ) -> Result<Option<Released>, RecordError> {
        let hash = self.hasher.hash(id.as_bytes());
        let home = shard_of(hash);
        let removals = {
            let mut shard = self.shard(hash);
            let Some((released, removals)) = self.forget(&mut shard, hash, id)? else {
                return Ok(None);
            };
            for (key, event) in removals.iter().filter(|(key, _)| shard_of(*key) == home) {
                shard.remove_event(*key, event);
            }
            shard.mark(lsn);
            drop(shard);
            let others: Vec<Removal> = removals
                .into_iter()
                .filter(|(key, _)| shard_of(*key) != home)
                .collect();
            (released, others)
        };
        let (released, others) = removals;
        self.remove_events(others, lsn);
        lock(&self.holds).remove(&(released.requested_at, id.into()));
        Ok(Some(released))
    }

    /// Removes each event from its key (a released contribution's), each
    /// shard under one hold of its lock.
    fn remove_events(&self, mut removals: Vec<Removal>, lsn: Option<u64>) {
        removals.sort_unstable_by_key(|(key, _)| shard_of(*key));
        for group in removals.chunk_by(|a, b| shard_of(a.0) == shard_of(b.0)) {
            let mut shard = lock(&self.shards[shard_of(group[0].0)]);
            for (key, event) in group {
                shard.remove_event(*key, event);
            }
            shard.mark(lsn);
        }
    }

    /// Shards of the index (blocks of a checkpoint).
    pub(super) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Number of distinct keys with history.
    pub fn key_count(&self) -> usize {
        self.shards.iter().map(|s| lock(s).keys.len()).sum()
    }

    /// Number of recorded decisions (with aged-out ones whose hour is
    /// not dropped yet).
    pub fn decision_count(&self) -> usize {
        self.shards.iter().map(|s| lock(s).decisions.len()).sum()
    }

    /// Every recorded decision's id and contribution uid, sorted.
    pub fn contributions(&self) -> Vec<(String, Option<u64>)> {
        let cutoff = self.cutoff();
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            let shard = lock(shard);
            all.extend(
                shard
                    .decisions
                    .records()
                    .filter_map(|bytes| match record::decode(bytes) {
                        Ok(LogRecord::Decided(d)) if d.requested_at >= cutoff => {
                            Some((d.id.to_string(), d.contribution.map(|c| c.uid)))
                        }
                        _ => None,
                    }),
            );
        }
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
        let hash = self.hasher.hash(id.as_bytes());
        let shard = self.shard(hash);
        match shard
            .decisions
            .get(hash, id, self.cutoff())
            .map_err(corrupt)?
        {
            None => Ok(None),
            Some(bytes) => record::to_recorded(bytes).map(Some).map_err(corrupt),
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
        let hash = self.hasher.hash(key.as_bytes());
        Ok(self
            .shard(hash)
            .keys
            .get_mut(&hash)
            .map(|events| events.window(t, window_ms, asset))
            .unwrap_or_default())
    }

    fn windows(
        &self,
        key: &str,
        asset: &str,
        t: u64,
        windows_ms: &[u64],
        answer: &mut dyn FnMut(usize, Result<WindowStats, VelocityError>),
    ) {
        let horizon = self.horizon.load(Ordering::Acquire);
        let asset = self.asset_id(asset);
        let hash = self.hasher.hash(key.as_bytes());
        // One hash and one hold of the key's shard for every window.
        let mut shard = self.shard(hash);
        let mut events = shard.keys.get_mut(&hash);
        for (i, &window_ms) in windows_ms.iter().enumerate() {
            let stats = check_window_len(window_ms, self.retention_ms)
                .and_then(|()| check_horizon(t, window_ms, horizon))
                .map(|()| {
                    events
                        .as_deref_mut()
                        .map(|events| events.window(t, window_ms, asset))
                        .unwrap_or_default()
                });
            answer(i, stats);
        }
    }

    fn commit(
        &self,
        commit: &Commit<'_>,
        _exclusive: super::Exclusive,
    ) -> Result<(), VelocityError> {
        let encoded = self.encode(commit)?;
        self.apply_commit(commit, &encoded, None).map_err(corrupt)
    }

    fn holds(&self, query: &HoldQuery) -> Result<Vec<Recorded>, VelocityError> {
        let cutoff = self.cutoff();
        // The candidates first, so no shard is locked under the queue's lock.
        let candidates: Vec<(u64, Box<str>)> = {
            let mut holds = lock(&self.holds);
            // Aged-out holds leave the queue with their decisions.
            while let Some(entry) = holds.first_entry() {
                if entry.key().0 >= cutoff {
                    break;
                }
                entry.remove();
            }
            holds
                .iter()
                .filter(|(_, state)| query.state.is_none_or(|s| s == **state))
                .take_while(|((at, _), _)| query.requested_before.is_none_or(|t| *at < t))
                .map(|(key, _)| key.clone())
                .collect()
        };
        let mut out = Vec::new();
        for (_, id) in candidates {
            if out.len() >= query.limit {
                break;
            }
            if let Some(r) = self.recorded(&id)?
                && query.matches(&r)
            {
                out.push(r);
            }
        }
        Ok(out)
    }

    fn release(&self, id: &str) -> Result<Released, VelocityError> {
        self.remove(id, None)
            .map_err(corrupt)?
            .ok_or_else(|| VelocityError::UnknownId(id.to_string()))
    }

    fn key_stats(&self, key: &str) -> Result<KeyStats, VelocityError> {
        let hash = self.hasher.hash(key.as_bytes());
        let cutoff = self.cutoff();
        let shard = self.shard(hash);
        let mut stats = KeyStats::default();
        // Aged-out events not swept yet do not count.
        for e in shard
            .keys
            .get(&hash)
            .into_iter()
            .flat_map(|events| events.iter())
        {
            if e.ts >= cutoff {
                stats.events += 1;
                stats.oldest_ts.get_or_insert(e.ts);
                stats.newest_ts = Some(e.ts);
                stats.usd_cents = stats.usd_cents.saturating_add(e.usd_cents);
            }
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replay hashes a key from its pieces, queries hash the key text the
    /// gate built: both must agree for every scope.
    #[test]
    fn key_hashes_from_pieces_equal_hashes_of_the_key_text() {
        let store = MemoryStore::default();
        let parts = super::super::KeyParts {
            account: "acct-1234567890".into(),
            asset: "USDT".into(),
            chain: "tron".into(),
            destination: "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq".into(),
        };
        let keys = super::super::Keys::from_parts(parts.clone());
        for scope in Scope::ALL {
            assert_eq!(
                store.key_hash(PartsRef::of(&parts), scope),
                store.hasher.hash(keys.get(scope).as_bytes()),
                "{scope:?}"
            );
        }
    }
}
