//! Shared fixtures for the integration and property tests: the hostile
//! guest component, gate builders and withdrawal constructors.

use riskgate::screening::{DEFAULT_FP_RATE, DesignatedSet, Screener};
use riskgate::{Gate, GateBuilder, Limits, PolicySource, Withdrawal, bundled};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub mod ofac_shapes;
pub mod scenario;

mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}
pub use guests::HOSTILE;

/// One hour in ms.
pub const HOUR: u64 = 3_600_000;
/// One day in ms.
pub const DAY: u64 = 24 * HOUR;
/// An arbitrary "now" for tests: 2026-11-25T00:00:00Z.
pub const T0: u64 = 1_795_564_800_000;

/// The bundled sanctions policy with `config`.
pub fn sanctions(config: &str) -> PolicySource {
    PolicySource {
        origin: "bundled:sanctions".into(),
        bytes: Arc::from(bundled::SANCTIONS),
        config: config.into(),
        fuel: None,
    }
}

/// The bundled velocity policy with `config`.
pub fn velocity(config: &str) -> PolicySource {
    PolicySource {
        origin: "bundled:velocity".into(),
        bytes: Arc::from(bundled::VELOCITY),
        config: config.into(),
        fuel: None,
    }
}

/// The hostile guest with `config`.
pub fn hostile(config: &str) -> PolicySource {
    PolicySource {
        origin: "hostile.wasm".into(),
        bytes: Arc::from(HOSTILE),
        config: config.into(),
        fuel: None,
    }
}

/// A policy from component text (WAT) or bytes.
pub fn raw(origin: &str, bytes: impl Into<Vec<u8>>) -> PolicySource {
    PolicySource {
        origin: origin.into(),
        bytes: Arc::from(bytes.into()),
        config: "{}".into(),
        fuel: None,
    }
}

/// Backstop deadline for tests that are not about it. Fuel is the budget;
/// the wall-clock backstop (50 ms by default) only catches what fuel
/// cannot, and tests run in parallel with Cranelift compiling on both
/// cores: a generous one keeps a descheduled call from faulting by the
/// clock.
pub const TEST_DEADLINE: Duration = Duration::from_millis(250);

/// Limits for tests: the default memory cap, [`TEST_DEADLINE`].
pub fn test_limits() -> Limits {
    Limits {
        deadline: TEST_DEADLINE,
        ..Limits::default()
    }
}

/// A gate running `policies` over `screener`, without an AOT cache.
pub fn gate(policies: Vec<PolicySource>, screener: Screener) -> Gate {
    builder(policies, screener).build().expect("gate builds").0
}

/// A builder for `policies` over `screener` with [`test_limits`].
pub fn builder(policies: Vec<PolicySource>, screener: Screener) -> GateBuilder {
    policies
        .into_iter()
        .fold(Gate::builder(), |b, p| b.policy(p))
        .screener(screener)
        .limits(test_limits())
        // Tests run on fixed timestamps (T0), not the wall clock.
        .max_clock_skew(None)
}

/// A screener over one plain list given as text.
pub fn screener_from(name: &str, text: &str) -> Screener {
    let (set, skipped) =
        DesignatedSet::from_plain_text(name, Some("test"), "test", text, DEFAULT_FP_RATE)
            .expect("list builds");
    assert!(skipped.is_empty(), "test list has bad entries: {skipped:?}");
    Screener::new(vec![set])
}

/// A withdrawal that the default velocity rules allow: an old destination,
/// no recent credential change, a USD value.
pub fn withdrawal(
    id: &str,
    account: &str,
    chain: &str,
    destination: &str,
    amount: u64,
    at: u64,
) -> Withdrawal {
    Withdrawal {
        id: id.into(),
        account: account.into(),
        asset: "ETH".into(),
        chain: chain.into(),
        destination: destination.into(),
        amount,
        decimals: 18,
        usd_cents: Some(10_000),
        requested_at: at,
        account_created_at: Some(at.saturating_sub(400 * DAY)),
        credential_changed_at: None,
        destination_first_used_at: Some(at.saturating_sub(30 * DAY)),
    }
}

/// The OFAC SDN digital-currency address lists beside the project, if present.
pub fn ofac_dir() -> Option<PathBuf> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/ofac-sdn-2024-09-27");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: OFAC data not found at {}", dir.display());
        None
    }
}

/// The first window of length `window` in which the allowed `(requested_at,
/// amount)` pairs exceed `max_count` or `max_sum`, described; `None` when
/// every window is within the limits. The heaviest window starts at some
/// allowed event, so only those starts are tried.
pub fn window_overshoot(
    allowed: &[(u64, u64)],
    window: u64,
    max_count: usize,
    max_sum: u64,
) -> Option<String> {
    allowed.iter().find_map(|&(start, _)| {
        let inside = allowed
            .iter()
            .filter(|(t, _)| *t >= start && *t < start + window);
        let count = inside.clone().count();
        let sum: u64 = inside.map(|(_, a)| *a).sum();
        (count > max_count || sum > max_sum).then(|| {
            format!("{count} allowed summing {sum} in the {window} ms window from {start}")
        })
    })
}

/// `threads` threads, released together, each deciding `per_thread`
/// withdrawals of the account `victim` (amounts 10..60) through
/// `gates[t % gates.len()]`, at `at(t, i)` to `dest(t)`. Returns the allowed
/// `(requested_at, amount)` pairs; no decision may carry a gate reason.
pub fn hammer_one_account(
    gates: &[&Gate],
    threads: u64,
    per_thread: u64,
    at: impl Fn(u64, u64) -> u64 + Sync,
    dest: impl Fn(u64) -> &'static str + Sync,
) -> Vec<(u64, u64)> {
    let barrier = std::sync::Barrier::new(threads as usize);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (gate, barrier, at, dest) =
                    (gates[(t as usize) % gates.len()], &barrier, &at, &dest);
                s.spawn(move || {
                    barrier.wait();
                    let mut allowed = Vec::new();
                    for i in 0..per_thread {
                        let amount = 10 + (t * 7 + i * 13) % 50;
                        let when = at(t, i);
                        let w = withdrawal(
                            &format!("t{t}-{i}"),
                            "victim",
                            "ethereum",
                            dest(t),
                            amount,
                            when,
                        );
                        let d = gate.evaluate(&w);
                        assert!(!d.has_gate_reason(), "{d:?}");
                        if d.verdict == riskgate::Verdict::Allow {
                            allowed.push((when, amount));
                        }
                    }
                    allowed
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a hammering thread panicked"))
            .collect()
    })
}
