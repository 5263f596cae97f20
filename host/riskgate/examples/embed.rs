//! The gate inside an exchange's own service: the bundled policies, the
//! sample designated list, an in-memory velocity store, two withdrawals.
//!
//! `cargo run --release -p riskgate --example embed`

use riskgate::velocity::{DEFAULT_RETENTION_MS, Velocity};
use riskgate::{Decision, Gate, Withdrawal, bundled};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

const DAY: u64 = 24 * 3_600_000;

/// Builds the gate and decides a clean withdrawal and one to a designated
/// address (Lazarus Group, on the sample list).
pub fn decide() -> [Decision; 2] {
    let (gate, _load_reports) = bundled::policies()
        .into_iter()
        .fold(Gate::builder(), |builder, policy| builder.policy(policy))
        .screener(bundled::sample_screener())
        .velocity(Arc::new(Velocity::memory(DEFAULT_RETENTION_MS)))
        .build()
        .expect("the bundled policies load");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let withdrawal = |id: &str, destination: &str| Withdrawal {
        id: id.into(),
        account: "acct-42".into(),
        asset: "ETH".into(),
        chain: "ethereum".into(),
        destination: destination.into(),
        amount: 250_000_000_000_000_000, // 0.25 ETH in wei
        decimals: 18,
        usd_cents: Some(80_000),
        requested_at: now,
        account_created_at: Some(now - 400 * DAY),
        credential_changed_at: None,
        destination_first_used_at: Some(now - 30 * DAY),
    };
    [
        ("w-1", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
        ("w-2", "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"),
    ]
    .map(|(id, destination)| gate.evaluate(&withdrawal(id, destination)))
}

fn main() {
    for decision in decide() {
        println!("{} {}", decision.id, decision.verdict);
        for reason in &decision.reasons {
            println!("  {}: {}", reason.code, reason.detail);
        }
    }
}
