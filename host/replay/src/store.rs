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
use std::sync::Arc;

/// The store the candidate gate reads (see the module docs).
struct ReplayStore {
    inner: Arc<MemoryStore>,
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

    fn commit(&self, _commit: &Commit<'_>, _exclusive: Exclusive) -> Result<(), VelocityError> {
        // The candidate's decision is not history: the log's is
        // ([`History::record`]).
        Ok(())
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
    inner: Arc<MemoryStore>,
    velocity: Arc<Velocity>,
    scratch: Decision,
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
        let inner = Arc::new(MemoryStore::default());
        let velocity = Arc::new(Velocity::new(Arc::new(ReplayStore {
            inner: inner.clone(),
        })));
        History {
            inner,
            velocity,
            scratch: Decision::allow(""),
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

    /// Records what the serving gate recorded for `w` decided `verdict`
    /// (called only for decisions it recorded: no `gate.*` reason, not a
    /// replay). The keys are the gate's: the canonical destination when it
    /// parses, else the trimmed text.
    pub fn record(&mut self, w: &Withdrawal, verdict: Verdict) -> Result<(), VelocityError> {
        let canonical = address::canonicalize(&w.chain, &w.destination);
        let keys = Keys::new(
            w,
            match &canonical {
                Ok(c) => c.as_str(),
                Err(_) => w.destination.trim(),
            },
        );
        self.scratch.id.clone_from(&w.id);
        self.scratch.verdict = verdict;
        let allowed = (verdict == Verdict::Allow).then(|| (w.amount, w.usd_cents.unwrap_or(0)));
        self.inner.commit(
            &Commit {
                id: &w.id,
                keys: &keys,
                fingerprint: [0; 32],
                requested_at: w.requested_at,
                decision: &self.scratch,
                allowed,
            },
            Exclusive::default(),
        )?;
        self.recorded += 1;
        if allowed.is_some() {
            self.contributions += 1;
        }
        Ok(())
    }
}
