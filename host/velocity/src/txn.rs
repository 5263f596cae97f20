//! The check-and-record protocol as one value: [`Velocity::begin`] takes
//! the process-local key locks and the store's exclusivity, the caller
//! reads the recorded decision and the windows through the [`Txn`], then
//! commits or drops it. Dropping it (an early return, a `?`, a panic)
//! gives the store's exclusivity back and then the key locks, in that
//! order, so no path leaves a key locked.

use super::{
    Commit, Durable, Exclusive, InFlightGuard, KeyLock, Keys, Pending, Recorded, Scope, Store,
    Velocity, VelocityError, WindowStats,
};
use riskgate_model::Decision;

/// One withdrawal's check-and-record, holding its id's and keys' locks
/// (see [`Velocity::begin`]).
#[must_use = "dropping a transaction unlocks its keys without recording"]
pub struct Txn<'a> {
    store: &'a dyn Store,
    id: &'a str,
    keys: &'a Keys,
    velocity: &'a Velocity,
    /// `None` once given to a commit.
    exclusive: Option<Exclusive>,
    /// The decision's registration in flight (see [`Velocity::begin_pending`]),
    /// removed after its commit is applied.
    inflight: Option<InFlightGuard<'a>>,
    /// Released after the store's exclusivity (fields drop after `drop`).
    _lock: KeyLock<'a>,
}

/// What an id's recorded decision says of the withdrawal now presented
/// under it (see [`Txn::prior`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prior {
    /// Nothing is recorded: decide it.
    New,
    /// The same withdrawal (same fingerprint) was decided: its decision,
    /// marked replayed.
    Replay(Decision),
    /// The id was decided for a different withdrawal.
    Conflict,
}

impl std::fmt::Debug for Txn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Txn")
            .field("id", &self.id)
            .field("store", &self.store.describe())
            .field("committed", &self.exclusive.is_none())
            .finish()
    }
}

impl Velocity {
    /// Starts the check-and-record of withdrawal `id` over `keys`: locks
    /// the stripes of the id and every key, then asks the store for
    /// exclusivity across nodes. On a store failure nothing stays locked.
    pub fn begin<'a>(&'a self, id: &'a str, keys: &'a Keys) -> Result<Txn<'a>, VelocityError> {
        let lock = self.lock(id, keys);
        let store = self.store();
        let exclusive = store.exclusive(id, keys)?;
        Ok(Txn {
            store,
            id,
            keys,
            velocity: self,
            exclusive: Some(exclusive),
            inflight: None,
            _lock: lock,
        })
    }

    /// [`Velocity::begin`] for a decision that may read its asset's
    /// windows: `pending` (what it would add if allowed) is registered in
    /// flight until the transaction ends, so every concurrent asset-scope
    /// window counts it (see [`Velocity`]).
    pub fn begin_pending<'a>(
        &'a self,
        id: &'a str,
        keys: &'a Keys,
        pending: Pending,
    ) -> Result<Txn<'a>, VelocityError> {
        let mut txn = self.begin(id, keys)?;
        txn.inflight = Some(self.register(keys, pending));
        Ok(txn)
    }
}

impl<'a> Txn<'a> {
    /// The withdrawal id.
    pub fn id(&self) -> &'a str {
        self.id
    }

    /// The keys locked.
    pub fn keys(&self) -> &'a Keys {
        self.keys
    }

    /// The decision recorded for the id.
    pub fn recorded(&self) -> Result<Option<Recorded>, VelocityError> {
        self.store.recorded(self.id)
    }

    /// The recorded decision judged against `fingerprint`, the content of
    /// the withdrawal now presented: a retry is replayed, another
    /// withdrawal under a decided id is a conflict.
    pub fn prior(&self, fingerprint: &[u8; 32]) -> Result<Prior, VelocityError> {
        Ok(match self.recorded()? {
            None => Prior::New,
            Some(r) if r.fingerprint == *fingerprint => {
                let mut d = r.decision;
                d.replayed = true;
                Prior::Replay(d)
            }
            Some(_) => Prior::Conflict,
        })
    }

    /// Statistics of the window of `window_ms` ending at `t` over the key
    /// of `scope` (`sum` in the withdrawal's asset).
    pub fn window(
        &self,
        scope: Scope,
        t: u64,
        window_ms: u64,
    ) -> Result<WindowStats, VelocityError> {
        self.velocity
            .window(self.keys, scope, t, window_ms, self.token())
    }

    /// [`Txn::window`] for every query (scope, window length) at `t`, each
    /// answer given to `answer` with its query's index (see
    /// [`Velocity::windows`]).
    pub fn windows(
        &self,
        t: u64,
        queries: &[(Scope, u64)],
        answer: &mut dyn FnMut(usize, Result<WindowStats, VelocityError>),
    ) {
        self.velocity
            .windows(self.keys, t, queries, self.token(), answer)
    }

    /// This decision's token in the in-flight registry, if registered.
    pub fn token(&self) -> Option<u64> {
        self.inflight.as_ref().map(InFlightGuard::token)
    }

    /// Records `decision` (and, when `allowed` gives an ALLOW's amount and
    /// USD value, its contribution under every key) atomically, unlocks,
    /// then waits until the record is on disk. On `Ok` the record survives
    /// a crash; on an error nothing may be taken as recorded.
    pub fn commit(
        self,
        fingerprint: [u8; 32],
        requested_at: u64,
        decision: &Decision,
        allowed: Option<(u64, u64)>,
    ) -> Result<(), VelocityError> {
        self.commit_deferred(fingerprint, requested_at, decision, allowed)?
            .wait()
    }

    /// [`commit`](Self::commit) without the wait: records and unlocks; the
    /// record is visible at once and on disk once the [`Durable`] says so.
    /// The decision must not be handed out before; on its error nothing
    /// may be taken as recorded.
    pub fn commit_deferred(
        mut self,
        fingerprint: [u8; 32],
        requested_at: u64,
        decision: &Decision,
        allowed: Option<(u64, u64)>,
    ) -> Result<Durable, VelocityError> {
        let exclusive = self.exclusive.take().unwrap_or_default();
        self.store.commit_deferred(
            &Commit {
                id: self.id,
                keys: self.keys,
                fingerprint,
                requested_at,
                decision,
                allowed,
                counted_at: None,
            },
            exclusive,
        )
    }

    /// Records a HOLD's new review: `decision` (the recorded one with its
    /// review) replaces the recorded decision and, when `counted` gives an
    /// approval's amount, USD value and time, the withdrawal counts under
    /// every key from that time. Atomic (one record); then unlocks.
    pub fn resolve(
        mut self,
        recorded: &Recorded,
        decision: &Decision,
        counted: Option<(u64, u64, u64)>,
    ) -> Result<(), VelocityError> {
        let exclusive = self.exclusive.take().unwrap_or_default();
        self.store.commit(
            &Commit {
                id: self.id,
                keys: self.keys,
                fingerprint: recorded.fingerprint,
                requested_at: recorded.requested_at,
                decision,
                allowed: counted.map(|(amount, usd, _)| (amount, usd)),
                counted_at: counted.map(|(_, _, at)| at),
            },
            exclusive,
        )
    }

    /// Removes the id's recorded decision and its contribution (the keys
    /// locked must be the recorded ones), then unlocks.
    pub(crate) fn release(self) -> Result<super::Released, VelocityError> {
        self.store.release(self.id)
    }
}

impl Drop for Txn<'_> {
    fn drop(&mut self) {
        // A commit took the exclusivity with it: the store releases it on
        // success (a shared store's locks left by a failed commit expire
        // after their time to live).
        if let Some(exclusive) = self.exclusive.take() {
            self.store.unlock(self.id, self.keys, exclusive);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{
        Commit, Exclusive, KeyParts, KeyStats, Keys, MemoryStore, Recorded, Released, Store,
        Velocity, VelocityError, WindowStats,
    };
    use super::Prior;
    use riskgate_model::{Decision, Verdict};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    const T0: u64 = 1_795_564_800_000;

    /// A memory store that hands out tokens and counts what comes back.
    #[derive(Default)]
    struct Counting {
        inner: MemoryStore,
        granted: AtomicU64,
        unlocked: AtomicU64,
        committed: AtomicU64,
        /// Tokens granted and not yet returned.
        held: Mutex<Vec<String>>,
    }

    impl Counting {
        fn give_back(&self, exclusive: Exclusive) {
            let token = exclusive.token.expect("a token was granted");
            let mut held = self.held.lock().unwrap();
            let i = held.iter().position(|t| *t == token).expect("held once");
            held.swap_remove(i);
        }
        fn counts(&self) -> (u64, u64, u64) {
            (
                self.granted.load(Ordering::SeqCst),
                self.unlocked.load(Ordering::SeqCst),
                self.committed.load(Ordering::SeqCst),
            )
        }
    }

    impl Store for Counting {
        fn describe(&self) -> String {
            "counting".into()
        }
        fn retention_ms(&self) -> u64 {
            self.inner.retention_ms()
        }
        fn exclusive(&self, _id: &str, _keys: &Keys) -> Result<Exclusive, VelocityError> {
            let n = self.granted.fetch_add(1, Ordering::SeqCst);
            let token = format!("t{n}");
            self.held.lock().unwrap().push(token.clone());
            Ok(Exclusive { token: Some(token) })
        }
        fn unlock(&self, _id: &str, _keys: &Keys, exclusive: Exclusive) {
            self.unlocked.fetch_add(1, Ordering::SeqCst);
            self.give_back(exclusive);
        }
        fn recorded(&self, id: &str) -> Result<Option<Recorded>, VelocityError> {
            self.inner.recorded(id)
        }
        fn window(
            &self,
            key: &str,
            asset: &str,
            t: u64,
            window_ms: u64,
        ) -> Result<WindowStats, VelocityError> {
            self.inner.window(key, asset, t, window_ms)
        }
        fn commit(&self, commit: &Commit<'_>, exclusive: Exclusive) -> Result<(), VelocityError> {
            self.committed.fetch_add(1, Ordering::SeqCst);
            self.give_back(exclusive);
            self.inner.commit(commit, Exclusive::default())
        }
        fn release(&self, id: &str) -> Result<Released, VelocityError> {
            self.inner.release(id)
        }
        fn key_stats(&self, key: &str) -> Result<KeyStats, VelocityError> {
            self.inner.key_stats(key)
        }
        fn holds(&self, query: &super::super::HoldQuery) -> Result<Vec<Recorded>, VelocityError> {
            self.inner.holds(query)
        }
    }

    fn keys() -> Keys {
        Keys::from_parts(KeyParts {
            account: "acct".into(),
            asset: "ETH".into(),
            chain: "ethereum".into(),
            destination: "0xabc".into(),
        })
    }

    fn setup() -> (Arc<Counting>, Velocity) {
        let store = Arc::new(Counting::default());
        let velocity = Velocity::new(store.clone());
        (store, velocity)
    }

    /// The key locks are free: another thread can begin on the same keys.
    fn free(velocity: &Velocity, keys: &Keys) {
        std::thread::scope(|s| {
            s.spawn(|| drop(velocity.begin("other", keys).unwrap()))
                .join()
                .unwrap();
        });
    }

    #[test]
    fn a_commit_records_and_gives_the_exclusivity_with_it() {
        let (store, velocity) = setup();
        let k = keys();
        let txn = velocity.begin("w-1", &k).unwrap();
        assert_eq!(txn.prior(&[1; 32]).unwrap(), Prior::New);
        assert_eq!(
            txn.window(super::Scope::Account, T0, 60_000).unwrap().count,
            0
        );
        let d = Decision::allow("w-1");
        txn.commit([1; 32], T0, &d, Some((5, 50))).unwrap();
        assert_eq!(store.counts(), (1, 0, 1));
        assert!(store.held.lock().unwrap().is_empty());
        free(&velocity, &k);

        let txn = velocity.begin("w-1", &k).unwrap();
        let mut replayed = d.clone();
        replayed.replayed = true;
        assert_eq!(txn.prior(&[1; 32]).unwrap(), Prior::Replay(replayed));
        assert_eq!(txn.prior(&[2; 32]).unwrap(), Prior::Conflict);
        let w = txn.window(super::Scope::Account, T0, 60_000).unwrap();
        assert_eq!((w.count, w.sum, w.usd_cents), (1, 5, 50));
        drop(txn);
        assert_eq!(
            store.counts(),
            (3, 2, 1),
            "the free() probe and the replay unlocked"
        );
        assert!(store.held.lock().unwrap().is_empty());
    }

    #[test]
    fn every_path_without_a_commit_unlocks_the_store_and_the_keys() {
        let (store, velocity) = setup();
        let k = keys();
        // An early return.
        let early = |fail: bool| -> Result<(), VelocityError> {
            let txn = velocity.begin("w-2", &k)?;
            if fail {
                return Err(VelocityError::Unavailable("early".into()));
            }
            let _ = txn.recorded()?;
            Ok(())
        };
        assert!(early(true).is_err());
        early(false).unwrap();
        assert_eq!(store.counts(), (2, 2, 0));
        // A panic while the transaction is open.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _txn = velocity.begin("w-3", &k).unwrap();
            panic!("a check panicked");
        }));
        assert!(panicked.is_err());
        assert_eq!(store.counts(), (3, 3, 0));
        assert!(store.held.lock().unwrap().is_empty());
        free(&velocity, &k);
        // Nothing was recorded.
        assert_eq!(store.recorded("w-3").unwrap(), None);
        assert_eq!(
            velocity.release("w-3"),
            Err(VelocityError::UnknownId("w-3".into()))
        );
    }

    #[test]
    fn release_goes_through_a_transaction_on_the_recorded_keys() {
        let (store, velocity) = setup();
        let k = keys();
        let d = Decision {
            verdict: Verdict::Hold,
            ..Decision::allow("w-4")
        };
        velocity
            .begin("w-4", &k)
            .unwrap()
            .commit([4; 32], T0, &d, None)
            .unwrap();
        let released = velocity.release("w-4").unwrap();
        assert!(!released.had_contribution);
        assert_eq!(store.counts(), (2, 1, 1));
        assert!(store.held.lock().unwrap().is_empty());
        free(&velocity, &k);
    }
}
