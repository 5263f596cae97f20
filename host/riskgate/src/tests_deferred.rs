//! Deferred durability on the durable store: the decisions of a batch
//! share one log sync, a failed sync never lets an ALLOW out, and a retry
//! that finds a decision recorded gets it only once its record is on disk.

use crate::bundled;
use crate::model::{GateCode, Verdict, Withdrawal};
use crate::velocity::{DurableOptions, DurableStore, Velocity};
use crate::{Gate, PolicySource};
use std::path::Path;
use std::sync::Arc;

/// 2026-11-25T00:00:00Z.
const T0: u64 = 1_795_564_800_000;
const DAY: u64 = 24 * 3_600_000;
const CLEAN: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

/// The bundled policies over the durable store in `dir`, with rules no
/// withdrawal of these tests reaches (each is an ALLOW).
fn gate(dir: &Path) -> (Gate, Arc<DurableStore>) {
    let (store, _) = DurableStore::open(dir, DurableOptions::default()).unwrap();
    let store = Arc::new(store);
    let config = r#"{"rules":[{"name":"count_1h","scope":"account","window":"1h","max_count":1000}],
        "new_destination_hours":0,"credential_change_hours":0}"#;
    let mut policies = bundled::policies();
    let velocity = policies.pop().expect("bundled velocity");
    let sanctions = policies.pop().expect("bundled sanctions");
    let gate = Gate::builder()
        .policy(sanctions)
        .policy(PolicySource {
            config: config.into(),
            ..velocity
        })
        .screener(bundled::sample_screener())
        .max_clock_skew(None)
        .velocity(Arc::new(Velocity::new(store.clone())))
        .build()
        .expect("the bundled policies load")
        .0;
    (gate, store)
}

fn withdrawal(id: &str, at: u64) -> Withdrawal {
    Withdrawal {
        id: id.into(),
        account: "acct-deferred".into(),
        asset: "ETH".into(),
        chain: "ethereum".into(),
        destination: CLEAN.into(),
        amount: 10,
        decimals: 18,
        usd_cents: Some(10_000),
        requested_at: at,
        account_created_at: Some(at - 400 * DAY),
        credential_changed_at: None,
        destination_first_used_at: Some(at - 30 * DAY),
    }
}

#[test]
fn a_batch_of_deferred_decisions_shares_one_sync_and_all_survive() {
    const N: u64 = 50;
    let dir = tempfile::tempdir().unwrap();
    {
        let (gate, store) = gate(dir.path());
        let before = store.syncs();
        let pending: Vec<_> = (0..N)
            .map(|i| {
                gate.evaluate_deferred(&withdrawal(&format!("b-{i}"), T0 + i), &mut Vec::new())
            })
            .collect();
        // Nothing waited for yet: nothing synced.
        assert_eq!(store.syncs(), before);
        let decisions: Vec<_> = pending.into_iter().map(|p| p.wait()).collect();
        assert!(
            decisions.iter().all(|d| d.verdict == Verdict::Allow),
            "{decisions:?}"
        );
        let syncs = store.syncs() - before;
        assert_eq!(syncs, 1, "{syncs} syncs for a batch of {N} decisions");
        // The sync path still waits for its own record.
        let d = gate.evaluate(&withdrawal("single", T0 + N));
        assert_eq!(d.verdict, Verdict::Allow);
        assert_eq!(store.syncs() - before, 2);
    }
    let (store, report) = DurableStore::open(dir.path(), DurableOptions::default()).unwrap();
    assert_eq!(report.decisions as u64, N + 1);
    let w = store
        .index()
        .contributions()
        .into_iter()
        .filter(|(_, c)| c.is_some())
        .count();
    assert_eq!(w as u64, N + 1);
}

#[test]
fn a_failed_sync_turns_every_pending_allow_into_a_hold() {
    let dir = tempfile::tempdir().unwrap();
    let (gate, store) = gate(dir.path());
    assert_eq!(
        gate.evaluate(&withdrawal("ok-0", T0)).verdict,
        Verdict::Allow
    );
    store.fail_next_write();
    let pending: Vec<_> = (1..=5)
        .map(|i| gate.evaluate_deferred(&withdrawal(&format!("f-{i}"), T0 + i), &mut Vec::new()))
        .collect();
    for p in pending {
        let d = p.wait();
        assert_eq!(d.verdict, Verdict::Hold, "{d:?}");
        assert!(
            d.reasons
                .iter()
                .any(|r| r.code == GateCode::VelocityUnavailable.as_str()),
            "{d:?}"
        );
    }
    // Later decisions hold too: the store is unavailable until reopened.
    let d = gate.evaluate(&withdrawal("after", T0 + 10));
    assert_eq!(d.verdict, Verdict::Hold);
    // A retry of a failed id is never answered with its ALLOW.
    let d = gate.evaluate(&withdrawal("f-1", T0 + 1));
    assert_eq!(d.verdict, Verdict::Hold);
    assert!(!d.replayed);
}

#[test]
fn a_retry_gets_a_pending_decision_only_once_it_is_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (gate, store) = gate(dir.path());
    let w = withdrawal("r-1", T0);
    let pending = gate.evaluate_deferred(&w, &mut Vec::new());
    let before = store.syncs();
    assert!(!pending.is_settled());
    // The retry finds it recorded and waits for the log before answering.
    let retry = gate.evaluate(&w);
    assert!(retry.replayed);
    assert_eq!(retry.verdict, Verdict::Allow);
    assert!(store.syncs() > before);
    assert!(pending.is_settled());
    assert_eq!(pending.wait().verdict, Verdict::Allow);
}
