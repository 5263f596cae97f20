//! The replay's velocity store: a fresh in-memory store whose history is
//! the log's, not the candidate's.
//!
//! The gate under replay reads windows from it as usual, but its commits
//! are dropped ([`ReplayStore`] records nothing the candidate decided) and
//! no id is ever answered from it (every withdrawal is decided anew).
//! After each record, [`History::record`] writes what the serving gate
//! recorded for it: the logged decision, and for a logged ALLOW its
//! contribution to the windows.

use riskgate::address;
use riskgate::model::{Decision, Verdict, Withdrawal};
use riskgate::velocity::{
    Commit, Exclusive, KeyStats, Keys, MemoryStore, Recorded, Released, Store, Velocity,
    VelocityError, WindowStats,
};
use std::sync::{Arc, Mutex};

/// The store the candidate gate reads (see the module docs).
struct ReplayStore {
    inner: MemoryStore,
    /// What the log says the serving gate recorded for the withdrawal
    /// being re-decided, written when the candidate's gate commits (its
    /// keys are then at hand) or else by [`History::record`].
    pending: Mutex<Pending>,
}

struct Pending {
    /// The logged verdict to record, and the withdrawal's amount and USD
    /// value; `None`: nothing to record (or already recorded).
    record: Option<(Verdict, u64, u64)>,
    decision: Decision,
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            record: None,
            decision: Decision::allow(""),
        }
    }
}

impl ReplayStore {
    fn write(
        &self,
        pending: &mut Pending,
        id: &str,
        keys: &Keys,
        requested_at: u64,
    ) -> Result<bool, VelocityError> {
        let Some((verdict, amount, usd)) = pending.record.take() else {
            return Ok(false);
        };
        pending.decision.id.clear();
        pending.decision.id.push_str(id);
        pending.decision.verdict = verdict;
        let allowed = (verdict == Verdict::Allow).then_some((amount, usd));
        self.inner.commit(
            &Commit {
                id,
                keys,
                fingerprint: [0; 32],
                requested_at,
                decision: &pending.decision,
                allowed,
            },
            Exclusive::default(),
        )?;
        Ok(allowed.is_some())
    }
}

fn lock(m: &Mutex<Pending>) -> std::sync::MutexGuard<'_, Pending> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Store for ReplayStore {
    fn describe(&self) -> String {
        "replay (memory, the log's history)".into()
    }

    fn retention_ms(&self) -> u64 {
        self.inner.retention_ms()
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
        self.inner.window(key, asset, t, window_ms)
    }

    fn commit(&self, commit: &Commit<'_>, _exclusive: Exclusive) -> Result<(), VelocityError> {
        // The candidate's decision is not history: the log's is, written
        // here under the keys the gate derived.
        let mut pending = lock(&self.pending);
        self.write(&mut pending, commit.id, commit.keys, commit.requested_at)
            .map(|_| ())
    }

    fn release(&self, id: &str) -> Result<Released, VelocityError> {
        Err(VelocityError::UnknownId(id.to_string()))
    }

    fn key_stats(&self, key: &str) -> Result<KeyStats, VelocityError> {
        self.inner.key_stats(key)
    }
}

/// The log's history, and the velocity handle candidate gates read it
/// through.
pub struct History {
    store: Arc<ReplayStore>,
    velocity: Arc<Velocity>,
    recorded: u64,
    contributions: u64,
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
            inner: MemoryStore::default(),
            pending: Mutex::default(),
        });
        let velocity = Arc::new(Velocity::new(store.clone()));
        History {
            store,
            velocity,
            recorded: 0,
            contributions: 0,
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
        self.store
            .write(&mut pending, &w.id, &keys, w.requested_at)
            .map(|_| ())
    }
}
