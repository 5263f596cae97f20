//! Velocity state: the allowed withdrawals per key, in sliding windows, and
//! the recorded decision per withdrawal id (idempotency).
//!
//! [`Velocity`] is the gate's handle: process-local key locks in front of a
//! [`Store`] backend: [`MemoryStore`] (tests, demo), [`DurableStore`] (the
//! default of a real deployment: an in-memory index rebuilt from a
//! write-ahead log with group commit) or a shared store such as Redis.
//!
//! Check-and-record is atomic per key: the gate locks the stripes of every
//! key a withdrawal touches (and of its id) before any policy reads a
//! window, asks the store for exclusivity across nodes (a no-op for
//! single-node stores), and commits the decision (and, for an ALLOW, its
//! contribution under every key) before unlocking. No interleaving of
//! concurrent requests can then let the count or sum in a window exceed a
//! limit that each request was checked against.
//!
//! Windows slide exactly. A query at time `t` for a window of `W` ms counts
//! every recorded event with `ts > t - W`, including events later than `t`:
//! any window of length `W` containing `t` holds a subset of those, so an
//! out-of-order request is judged conservatively and in-order requests
//! exactly.

mod checkpoint;
#[doc(hidden)]
pub mod conformance;
mod durable;
mod memory;
mod record;
#[cfg(feature = "redis")]
mod redis;
pub use riskgate_storage::slots;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_conformance;
mod txn;
mod wal;

pub use checkpoint::CheckpointReport;
pub use durable::{Durable, DurableError, DurableOptions, DurableStore, RecoveryReport};
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::{RedisStore, RedisUrlError};
pub use txn::{Prior, Txn};

use riskgate_model::{Decision, HoldState, Verdict, Withdrawal};
use serde::{Deserialize, Serialize};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard};

/// Default history kept: the longest window a policy may ask for.
pub const DEFAULT_RETENTION_MS: u64 = 8 * 24 * 3_600_000;
const LOCK_STRIPES: usize = 1024;
/// Slots of the registry of decisions in flight: each thread registers in
/// its own (threads beyond the count share), an asset-scope window reads
/// them all.
const INFLIGHT_SLOTS: usize = 16;

pub use slots::{Padded, StripedU64, thread_slot};

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

    /// The scopes whose keys a decision locks (all but the asset's: see
    /// [`Velocity`]).
    pub const LOCKED: [Scope; 4] = [
        Scope::Account,
        Scope::AccountAsset,
        Scope::Destination,
        Scope::AccountDestination,
    ];
}

/// What a withdrawal's keys are made of: enough to rebuild them (the
/// durable log stores this, not the keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyParts {
    pub account: String,
    pub asset: String,
    pub chain: String,
    /// The canonical destination when it parses, else the trimmed text.
    pub destination: String,
}

/// The keys of one withdrawal, one per scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    keys: [String; 5],
    parts: KeyParts,
}

/// The key of each scope, in [`Scope::ALL`] order. Length-prefixed
/// components: no two different tuples share a key.
fn key_strings(p: record::PartsRef<'_>) -> [String; 5] {
    let mut keys: [String; 5] = Default::default();
    for (scope, key) in Scope::ALL.into_iter().zip(&mut keys) {
        write_key(p, scope, key);
    }
    keys
}

/// The key of `scope` into a reused buffer (see [`key_strings`]).
fn write_key(p: record::PartsRef<'_>, scope: Scope, s: &mut String) {
    s.clear();
    // Room for the whole key at once (each part and its length prefix; 4
    // digits cover the caps), not a reallocation per piece.
    s.reserve(24 + p.account.len() + p.asset.len() + p.chain.len() + p.destination.len());
    let mut digits = itoa::Buffer::new();
    let mut put = |parts: &[&str], dest: bool| {
        for part in parts {
            s.push_str(digits.format(part.len()));
            s.push(':');
            s.push_str(part);
        }
        if dest {
            s.push_str(digits.format(p.chain.len() + 1 + p.destination.len()));
            s.push(':');
            s.push_str(p.chain);
            s.push('/');
            s.push_str(p.destination);
        }
    };
    match scope {
        Scope::Account => put(&["acct", p.account], false),
        Scope::AccountAsset => put(&["acct-asset", p.account, p.asset], false),
        Scope::Destination => put(&["dest"], true),
        Scope::AccountDestination => put(&["acct-dest", p.account], true),
        Scope::Asset => put(&["asset", p.asset], false),
    }
}

impl Keys {
    /// Keys for `w`; `destination` should be the canonical address when the
    /// destination parses, so case and format variants share one key.
    pub fn new(w: &Withdrawal, destination: &str) -> Self {
        Self::from_parts(KeyParts {
            account: w.account.clone(),
            asset: w.asset.clone(),
            chain: w.chain.clone(),
            destination: destination.to_string(),
        })
    }

    /// Keys from their parts.
    pub fn from_parts(parts: KeyParts) -> Self {
        Keys {
            keys: key_strings(record::PartsRef::of(&parts)),
            parts,
        }
    }

    /// The key for `scope`.
    pub fn get(&self, scope: Scope) -> &str {
        &self.keys[scope as usize]
    }

    /// The withdrawal's asset.
    pub fn asset(&self) -> &str {
        &self.parts.asset
    }

    /// What the keys were built from.
    pub fn parts(&self) -> &KeyParts {
        &self.parts
    }

    /// All keys.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(String::as_str)
    }
}

/// `len:part` for each part: the key text of a scope (see [`Keys`]). Public
/// so that `riskgate velocity stats` can name a key from its parts.
pub fn key_text(parts: &[&str]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for p in parts {
        let _ = write!(s, "{}:{p}", p.len());
    }
    s
}

/// Statistics of a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WindowStats {
    pub count: u64,
    /// Sum of amounts in the queried asset, minor units.
    pub sum: u64,
    pub usd_cents: u64,
}

/// An allowed withdrawal's contribution to the windows of its keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    /// Unique per recorded event (a retry after a release gets a new one).
    pub uid: u64,
    pub ts: u64,
    pub amount: u64,
    pub usd_cents: u64,
}

/// A decision recorded for an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// sha256 of the withdrawal's content, to detect a reused id.
    pub fingerprint: [u8; 32],
    pub decision: Decision,
    pub requested_at: u64,
    /// What the withdrawal added to the windows (ALLOW only).
    pub contribution: Option<Contribution>,
    /// The keys it was recorded under.
    pub parts: KeyParts,
}

/// What a commit writes: a decision and, for an ALLOW, its contribution.
#[derive(Debug, Clone)]
pub struct Commit<'a> {
    pub id: &'a str,
    pub keys: &'a Keys,
    pub fingerprint: [u8; 32],
    pub requested_at: u64,
    pub decision: &'a Decision,
    /// Amount and USD value, when the decision is an ALLOW or an approved
    /// HOLD (the store assigns the event's uid).
    pub allowed: Option<(u64, u64)>,
    /// When the contribution counts from: `None` for a decision (its
    /// requested-at), the approval time for an approved HOLD.
    pub counted_at: Option<u64>,
}

impl Commit<'_> {
    /// The time the contribution's event carries.
    pub fn event_ts(&self) -> u64 {
        self.counted_at.unwrap_or(self.requested_at)
    }

    /// The hold state the commit records, for a HOLD.
    pub fn hold_state(&self) -> Option<HoldState> {
        hold_state(self.decision)
    }
}

/// The state of a recorded HOLD (pending until a review says otherwise);
/// `None` for any other verdict.
pub fn hold_state(decision: &Decision) -> Option<HoldState> {
    (decision.verdict == Verdict::Hold).then(|| {
        decision
            .review
            .as_ref()
            .map_or(HoldState::Pending, |r| r.state)
    })
}

/// Which recorded HOLDs [`Store::holds`] lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldQuery {
    /// Only holds in this state (any state when `None`).
    pub state: Option<HoldState>,
    /// Only holds with a reason whose code starts with this.
    pub reason_prefix: Option<String>,
    /// Only holds requested before this time (ms).
    pub requested_before: Option<u64>,
    /// At most this many.
    pub limit: usize,
}

impl Default for HoldQuery {
    fn default() -> Self {
        HoldQuery {
            state: Some(HoldState::Pending),
            reason_prefix: None,
            requested_before: None,
            limit: 100,
        }
    }
}

impl HoldQuery {
    /// Whether a recorded decision is one this query lists.
    pub fn matches(&self, r: &Recorded) -> bool {
        let Some(state) = hold_state(&r.decision) else {
            return false;
        };
        self.state.is_none_or(|s| s == state)
            && self.requested_before.is_none_or(|t| r.requested_at < t)
            && self.reason_prefix.as_deref().is_none_or(|p| {
                r.decision
                    .reasons
                    .iter()
                    .any(|reason| reason.code.starts_with(p))
            })
    }
}

/// What a release removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Released {
    pub id: String,
    /// Whether the decision had counted (an ALLOW).
    pub had_contribution: bool,
    pub requested_at: u64,
}

/// Everything recorded under one key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KeyStats {
    /// Events kept under the key.
    pub events: u64,
    pub oldest_ts: Option<u64>,
    pub newest_ts: Option<u64>,
    /// Sums over every kept event, all assets together for `amount`.
    pub usd_cents: u64,
}

/// Velocity failures; the gate holds on every one of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VelocityError {
    #[error("window of {window_ms} ms is longer than the {retention_ms} ms of history kept")]
    WindowTooLong { window_ms: u64, retention_ms: u64 },
    #[error("requested-at {t} is older than the history kept (pruned before {horizon})")]
    TooOld { t: u64, horizon: u64 },
    #[error("no decision is recorded for withdrawal id `{0}`")]
    UnknownId(String),
    #[error("velocity store unavailable: {0}")]
    Unavailable(String),
}

impl VelocityError {
    /// Whether the store itself failed (as opposed to a request it refuses).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, VelocityError::Unavailable(_))
    }
}

/// The furthest one record can move a store's newest requested-at, and so
/// its history cut-off (newest minus the retention): the host's clock plus
/// the default clock skew. A record stamped further ahead (the skew check
/// is off for replays) is still recorded, but a far-future one cannot age
/// out the history every later withdrawal is measured against.
pub(crate) fn newest_cap() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    now.saturating_add(riskgate_model::DEFAULT_MAX_CLOCK_SKEW.as_millis() as u64)
}

/// Refuses a window longer than the `retention_ms` of history kept.
pub(crate) fn check_window_len(window_ms: u64, retention_ms: u64) -> Result<(), VelocityError> {
    if window_ms > retention_ms {
        return Err(VelocityError::WindowTooLong {
            window_ms,
            retention_ms,
        });
    }
    Ok(())
}

/// Refuses a window at `t` that reaches below the pruning `horizon`: every
/// event with `ts > t - window_ms` must still be kept.
pub(crate) fn check_horizon(t: u64, window_ms: u64, horizon: u64) -> Result<(), VelocityError> {
    if t.saturating_add(1) < horizon.saturating_add(window_ms) {
        return Err(VelocityError::TooOld { t, horizon });
    }
    Ok(())
}

/// Exclusivity a shared store grants across gate nodes for one withdrawal;
/// returned to the store with the commit or on [`Store::unlock`].
#[derive(Debug, Default)]
pub struct Exclusive {
    /// The store's own token (Redis: the lock value), `None` for local stores.
    pub token: Option<String>,
}

/// A velocity backend. Every method may fail with
/// [`VelocityError::Unavailable`]; the gate turns that into HOLD
/// `gate.velocity_unavailable`.
pub trait Store: Send + Sync {
    /// A short description (`memory`, `durable:/var/lib/riskgate`, `redis://…`).
    fn describe(&self) -> String;
    /// History kept, ms.
    fn retention_ms(&self) -> u64;
    /// Exclusive use of `id` and `keys` across every gate node sharing the
    /// store, until [`commit`](Self::commit) or [`unlock`](Self::unlock).
    /// Local stores rely on the gate's in-process locks and return at once.
    fn exclusive(&self, _id: &str, _keys: &Keys) -> Result<Exclusive, VelocityError> {
        Ok(Exclusive::default())
    }
    /// Gives up exclusivity without committing.
    fn unlock(&self, _id: &str, _keys: &Keys, _exclusive: Exclusive) {}
    /// The decision recorded for `id`.
    fn recorded(&self, id: &str) -> Result<Option<Recorded>, VelocityError>;
    /// Statistics over the window of `window_ms` ending at `t` for `key`;
    /// `sum` counts only events in `asset`.
    fn window(
        &self,
        key: &str,
        asset: &str,
        t: u64,
        window_ms: u64,
    ) -> Result<WindowStats, VelocityError>;
    /// [`window`](Self::window) for each of `windows_ms` over one key, in
    /// order, each answer given to `answer` with its index (a store reads
    /// the key once for all of them).
    fn windows(
        &self,
        key: &str,
        asset: &str,
        t: u64,
        windows_ms: &[u64],
        answer: &mut dyn FnMut(usize, Result<WindowStats, VelocityError>),
    ) {
        for (i, &w) in windows_ms.iter().enumerate() {
            answer(i, self.window(key, asset, t, w));
        }
    }
    /// Records the decision and its contribution atomically; on `Ok` the
    /// record survives a crash. Releases the exclusivity.
    fn commit(&self, commit: &Commit<'_>, exclusive: Exclusive) -> Result<(), VelocityError>;
    /// [`commit`](Self::commit) that may return before the record is on
    /// disk: it is visible at once, and the [`Durable`] says when it is on
    /// disk (nothing decided on it may be handed out before). By default
    /// the commit itself, settled on return.
    fn commit_deferred(
        &self,
        commit: &Commit<'_>,
        exclusive: Exclusive,
    ) -> Result<Durable, VelocityError> {
        self.commit(commit, exclusive)
            .map(|()| Durable::settled_now())
    }
    /// Removes the recorded decision of `id` and its contribution (the
    /// caller holds the locks of `id` and of the recorded keys).
    fn release(&self, id: &str) -> Result<Released, VelocityError>;
    /// Everything kept under one key (see [`key_text`]).
    fn key_stats(&self, key: &str) -> Result<KeyStats, VelocityError>;
    /// The recorded HOLDs `query` selects, oldest requested-at first (ties
    /// by id).
    fn holds(&self, query: &HoldQuery) -> Result<Vec<Recorded>, VelocityError>;
}

/// The gate's velocity handle: in-process key locks over a [`Store`].
///
/// A withdrawal locks its id and its account, account-asset, destination
/// and account-destination keys for the whole check-and-record, so two
/// decisions sharing one of them are serialised. It does not lock its
/// asset key: every withdrawal of an asset shares it, and locking it would
/// serialise every decision of that asset on every core. Instead each
/// decision registers what it would add to its asset's windows while it is
/// in flight ([`Velocity::begin_pending`]), and an asset-scope window
/// ([`Velocity::window`]) counts, besides what is recorded, every other
/// decision of that asset in flight as if it were allowed: a decision never
/// sees less than a serial order would show it (it may see more, so it can
/// only hold more, never allow more).
pub struct Velocity {
    store: Arc<dyn Store>,
    /// Padded: two threads locking neighbouring stripes do not share a line.
    stripes: Box<[Padded<Mutex<()>>]>,
    /// Decisions in flight, one slot per thread (see
    /// [`Velocity::begin_pending`]).
    inflight: Box<[Padded<Mutex<Vec<InFlight>>>]>,
    hasher: std::hash::RandomState,
}

/// What a decision in flight would add to its asset's windows.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    token: u64,
    /// The asset key's hash: two assets sharing one only ever count more.
    asset: u64,
    ts: u64,
    amount: u64,
    usd_cents: u64,
}

/// A withdrawal's would-be contribution, registered while it is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// Its requested-at.
    pub ts: u64,
    pub amount: u64,
    pub usd_cents: u64,
}

/// A token for a new registration in `slot`: unique across slots (the slot
/// in the low bits) and within it (one more than the largest there).
fn next_token(list: &[InFlight], slot: usize) -> u64 {
    let seq = list.iter().map(|f| f.token >> 8).max().map_or(0, |m| m + 1);
    (seq << 8) | slot as u64
}

/// A registration in the in-flight registry, removed on drop.
pub(crate) struct InFlightGuard<'a> {
    velocity: &'a Velocity,
    stripe: usize,
    token: u64,
}

impl InFlightGuard<'_> {
    pub(crate) fn token(&self) -> u64 {
        self.token
    }
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        let mut list = lock(&self.velocity.inflight[self.stripe].0);
        if let Some(i) = list.iter().position(|f| f.token == self.token) {
            list.swap_remove(i);
        }
    }
}

/// Held while a withdrawal is checked and recorded (a [`Txn`] holds one).
pub struct KeyLock<'a> {
    /// The id's and the keys' stripes (all but the asset's), each locked
    /// once, in stripe order.
    _guards: [Option<MutexGuard<'a, ()>>; 5],
}

impl Default for Velocity {
    fn default() -> Self {
        Self::new(Arc::new(MemoryStore::default()))
    }
}

impl std::fmt::Debug for Velocity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Velocity")
            .field("store", &self.store.describe())
            .finish()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update under a velocity lock is a single push, insert or
    // remove, so a panic cannot leave the maps half updated and poisoning
    // is safe to clear.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Velocity {
    /// Locks over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Velocity {
            store,
            stripes: (0..LOCK_STRIPES).map(|_| Padded::default()).collect(),
            inflight: (0..INFLIGHT_SLOTS).map(|_| Padded::default()).collect(),
            hasher: std::hash::RandomState::new(),
        }
    }

    /// An in-memory store keeping `retention_ms` of history.
    pub fn memory(retention_ms: u64) -> Self {
        Self::new(Arc::new(MemoryStore::new(retention_ms)))
    }

    /// The backend.
    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    fn slot(&self, key: &str) -> usize {
        (self.hasher.hash_one(key) % LOCK_STRIPES as u64) as usize
    }

    /// Locks the stripes of `id` and every key but the asset's (see
    /// [`Velocity`]), in stripe order (no deadlock between concurrent
    /// callers).
    pub fn lock(&self, id: &str, keys: &Keys) -> KeyLock<'_> {
        let mut stripes = [0usize; 5];
        stripes[0] = self.slot(id);
        for (slot, scope) in stripes[1..].iter_mut().zip(Scope::LOCKED) {
            *slot = self.slot(keys.get(scope));
        }
        stripes.sort_unstable();
        let mut guards: [Option<MutexGuard<'_, ()>>; 5] = Default::default();
        for (i, &stripe) in stripes.iter().enumerate() {
            if i == 0 || stripe != stripes[i - 1] {
                guards[i] = Some(lock(&self.stripes[stripe]));
            }
        }
        KeyLock { _guards: guards }
    }

    /// Registers `pending` as in flight under the asset of `keys` until the
    /// guard drops.
    pub(crate) fn register(&self, keys: &Keys, pending: Pending) -> InFlightGuard<'_> {
        let asset = self.hasher.hash_one(keys.get(Scope::Asset));
        let stripe = thread_slot(INFLIGHT_SLOTS);
        // Unique per registration; taken from the slot's own list so no
        // counter is shared between threads.
        let mut list = lock(&self.inflight[stripe].0);
        let token = next_token(&list, stripe);
        list.push(InFlight {
            token,
            asset,
            ts: pending.ts,
            amount: pending.amount,
            usd_cents: pending.usd_cents,
        });
        drop(list);
        InFlightGuard {
            velocity: self,
            stripe,
            token,
        }
    }

    /// Statistics of the window of `window_ms` ending at `t` over the key
    /// of `scope` of `keys` (`sum` in their asset). An asset-scope window
    /// also counts every decision of the asset in flight but `own` (see
    /// [`Velocity`]).
    pub fn window(
        &self,
        keys: &Keys,
        scope: Scope,
        t: u64,
        window_ms: u64,
        own: Option<u64>,
    ) -> Result<WindowStats, VelocityError> {
        let stats = self
            .store
            .window(keys.get(scope), keys.asset(), t, window_ms)?;
        Ok(match scope {
            Scope::Asset => self.with_inflight(keys, stats, t, window_ms, own),
            _ => stats,
        })
    }

    /// `stats` of the asset window of `keys` plus every decision of the
    /// asset in flight but `own` whose time is in the window.
    fn with_inflight(
        &self,
        keys: &Keys,
        mut stats: WindowStats,
        t: u64,
        window_ms: u64,
        own: Option<u64>,
    ) -> WindowStats {
        let asset = self.hasher.hash_one(keys.get(Scope::Asset));
        for slot in self.inflight.iter() {
            for f in lock(&slot.0).iter() {
                if f.asset == asset && Some(f.token) != own && f.ts.saturating_add(window_ms) > t {
                    stats.count += 1;
                    stats.sum = stats.sum.saturating_add(f.amount);
                    stats.usd_cents = stats.usd_cents.saturating_add(f.usd_cents);
                }
            }
        }
        stats
    }

    /// [`Velocity::window`] for every query of `queries` (scope, window
    /// length) at `t`, each answer given to `answer` with its query's
    /// index: the store reads each key once for all of its windows, and
    /// nothing is allocated.
    pub fn windows(
        &self,
        keys: &Keys,
        t: u64,
        queries: &[(Scope, u64)],
        own: Option<u64>,
        answer: &mut dyn FnMut(usize, Result<WindowStats, VelocityError>),
    ) {
        const BATCH: usize = 16;
        for scope in Scope::ALL {
            let mut lens = [0u64; BATCH];
            let mut at = [0usize; BATCH];
            let mut n = 0;
            let mut flush = |lens: &[u64], at: &[usize]| {
                self.store
                    .windows(keys.get(scope), keys.asset(), t, lens, &mut |i, stats| {
                        let stats = match (stats, scope) {
                            (Ok(stats), Scope::Asset) => {
                                Ok(self.with_inflight(keys, stats, t, lens[i], own))
                            }
                            (stats, _) => stats,
                        };
                        answer(at[i], stats)
                    });
            };
            for (i, &(s, w)) in queries.iter().enumerate() {
                if s != scope {
                    continue;
                }
                lens[n] = w;
                at[n] = i;
                n += 1;
                if n == BATCH {
                    flush(&lens, &at);
                    n = 0;
                }
            }
            if n > 0 {
                flush(&lens[..n], &at[..n]);
            }
        }
    }

    /// Removes the contribution of withdrawal `id` (cancelled, or failed on
    /// chain) and its recorded decision, so the id may be decided anew.
    /// An id with no recorded decision is [`VelocityError::UnknownId`].
    pub fn release(&self, id: &str) -> Result<Released, VelocityError> {
        self.with_recorded(id, |txn, _| txn.release())
    }

    /// Runs `f` with a transaction over `id` and the keys of its recorded
    /// decision, locked, and that decision as read under the lock. An id
    /// with no recorded decision is [`VelocityError::UnknownId`].
    pub fn with_recorded<R, E: From<VelocityError>>(
        &self,
        id: &str,
        f: impl FnOnce(Txn<'_>, Recorded) -> Result<R, E>,
    ) -> Result<R, E> {
        // The keys come from the record: lock them, then check under the
        // lock that the record is still the one whose keys were locked (a
        // concurrent release and re-decision may have replaced it).
        let unknown = || VelocityError::UnknownId(id.to_string());
        let mut parts = self.store.recorded(id)?.ok_or_else(unknown)?.parts;
        loop {
            let keys = Keys::from_parts(parts);
            let txn = self.begin(id, &keys)?;
            let current = txn.recorded()?.ok_or_else(unknown)?;
            if current.parts != *keys.parts() {
                parts = current.parts;
                continue;
            }
            return f(txn, current);
        }
    }
}
