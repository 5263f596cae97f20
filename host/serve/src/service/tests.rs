//! A request's cost in syncs on the durable velocity store and a durable
//! decision log: one velocity sync and one log batch per request, however
//! many withdrawals it carries, on the blocking path and the async one.

use super::*;
use crate::decision_log::{DecisionLog, LogOptions};
use riskgate::velocity::{DurableOptions, DurableStore};

const CLEAN: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

fn withdrawals(prefix: &str, n: u64, at: u64) -> Vec<Withdrawal> {
    (0..n)
        .map(|i| Withdrawal {
            id: format!("{prefix}-{i}"),
            account: format!("{prefix}-acct-{i}"),
            asset: "ETH".into(),
            chain: "ethereum".into(),
            destination: CLEAN.into(),
            amount: 10,
            decimals: 18,
            usd_cents: Some(500),
            requested_at: at + i,
            account_created_at: Some(at - 400 * 86_400_000),
            credential_changed_at: None,
            destination_first_used_at: Some(at - 30 * 86_400_000),
        })
        .collect()
}

#[test]
fn a_batch_costs_one_velocity_sync_and_one_log_batch() {
    const N: u64 = 40;
    let temp = tempfile::tempdir().unwrap();
    let state = temp.path().join("velocity");
    let config = Config::parse(&format!(
        "velocity = {:?}\n[limits]\ndeadline_us = 250000\nmax_clock_skew_ms = 0\n\
         [[policy]]\nbundled = \"sanctions\"\n[[policy]]\nbundled = \"velocity\"\n",
        state.display().to_string()
    ))
    .unwrap();
    let (store, _) = DurableStore::open(&state, DurableOptions::default()).unwrap();
    let store = Arc::new(store);
    let velocity = Arc::new(Velocity::new(store.clone()));
    let log = DecisionLog::open(&LogOptions {
        durable: true,
        ..LogOptions::new(temp.path().join("log"))
    })
    .unwrap();
    let built = config.build(velocity.clone()).unwrap();
    let service = Arc::new(Service::new(config, None, built, velocity, Some(log)).unwrap());
    let g = service.current();
    let at = now_ms();

    // The blocking path.
    let (syncs, batches) = (store.syncs(), service.log().unwrap().stats().batches);
    let decisions = service.evaluate(&g, &withdrawals("sync", N, at));
    assert_eq!(decisions.len() as u64, N);
    assert!(
        decisions.iter().all(|d| !d.has_gate_reason()),
        "{decisions:?}"
    );
    assert_eq!(store.syncs() - syncs, 1, "velocity syncs for {N} decisions");
    assert_eq!(
        service.log().unwrap().stats().batches - batches,
        1,
        "log batches for {N} decisions"
    );

    // The async path: decided on the calling worker, the sync awaited.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (syncs, batches) = (store.syncs(), service.log().unwrap().stats().batches);
    let decisions = runtime
        .block_on(service.evaluate_async(g.clone(), withdrawals("async", N, at)))
        .unwrap();
    assert_eq!(decisions.len() as u64, N);
    assert!(
        decisions.iter().all(|d| !d.has_gate_reason()),
        "{decisions:?}"
    );
    assert_eq!(store.syncs() - syncs, 1, "velocity syncs for {N} decisions");
    assert_eq!(service.log().unwrap().stats().batches - batches, 1);

    // A retry of the whole batch: replayed, nothing new to sync.
    let syncs = store.syncs();
    let again = service.evaluate(&g, &withdrawals("async", N, at));
    assert!(again.iter().all(|d| d.replayed));
    assert_eq!(store.syncs(), syncs);
    let log_records = service.log().unwrap().stats().records;
    assert!(log_records >= 3 * N);
}

#[test]
fn a_failed_velocity_sync_holds_the_whole_batch_and_logs_the_hold() {
    let temp = tempfile::tempdir().unwrap();
    let state = temp.path().join("velocity");
    let config = Config::parse(&format!(
        "velocity = {:?}\n[limits]\ndeadline_us = 250000\nmax_clock_skew_ms = 0\n\
         [[policy]]\nbundled = \"sanctions\"\n[[policy]]\nbundled = \"velocity\"\n",
        state.display().to_string()
    ))
    .unwrap();
    let (store, _) = DurableStore::open(&state, DurableOptions::default()).unwrap();
    let store = Arc::new(store);
    let velocity = Arc::new(Velocity::new(store.clone()));
    let log_dir = temp.path().join("log");
    let log = DecisionLog::open(&LogOptions::new(&log_dir)).unwrap();
    let built = config.build(velocity.clone()).unwrap();
    let service = Arc::new(Service::new(config, None, built, velocity, Some(log)).unwrap());
    let g = service.current();
    store.fail_next_write();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let decisions = runtime
        .block_on(service.evaluate_async(g.clone(), withdrawals("fail", 5, now_ms())))
        .unwrap();
    for d in &decisions {
        assert_eq!(d.verdict, Verdict::Hold, "{d:?}");
        assert!(
            d.reasons
                .iter()
                .any(|r| r.code == GateCode::VelocityUnavailable.as_str()),
            "{d:?}"
        );
    }
    drop(service);
    // The log records what was answered: the holds.
    let (records, _) = crate::decision_log::read_all(&log_dir).unwrap();
    let verdicts: Vec<&str> = records
        .iter()
        .filter(|r| r["event"] == "decision")
        .map(|r| r["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["hold"; 5]);
}
