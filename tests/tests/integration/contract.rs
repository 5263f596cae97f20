//! The contract's versions: policies built against earlier 0.1.x are still
//! served by this host, and decide exactly as the bundled policies built
//! against 0.1.2:
//! - 0.1.0, before `velocity.windows`, asks each window in its own call;
//! - 0.1.1 is called through `evaluate` (the withdrawal record) and screens
//!   with `screen`, where 0.1.2 is called through `evaluate-packed` and
//!   screens with `screen-hits`.

use riskgate::inspect::{WORLD, WORLDS, inspect};
use riskgate::model::Verdict;
use riskgate::screening::Screener;
use riskgate::velocity::{DEFAULT_RETENTION_MS, Velocity};
use riskgate_tests::*;
use std::sync::Arc;

/// The bundled velocity policy as built against contract 0.1.0 (commit
/// 3bbc162, `policies/velocity`, same rules and defaults as today's).
const VELOCITY_0_1_0: &[u8] = include_bytes!("../../fixtures/contract-0.1.0/velocity.wasm");

/// The bundled policies as built against contract 0.1.1 (commit 1cecbca).
const SANCTIONS_0_1_1: &[u8] = include_bytes!("../../fixtures/contract-0.1.1/sanctions.wasm");
const VELOCITY_0_1_1: &[u8] = include_bytes!("../../fixtures/contract-0.1.1/velocity.wasm");

fn old_velocity(config: &str) -> riskgate::policy::PolicySource {
    riskgate::policy::PolicySource {
        config: config.into(),
        ..raw("velocity-0.1.0.wasm", VELOCITY_0_1_0)
    }
}

#[test]
fn a_policy_built_against_0_1_0_is_served_and_decides_as_0_1_2() {
    let runtime = riskgate::engine::Runtime::new(test_limits()).expect("runtime");
    assert_eq!(inspect(&runtime, VELOCITY_0_1_0).unwrap().world, WORLDS[0]);
    assert_eq!(
        inspect(&runtime, riskgate::bundled::VELOCITY)
            .unwrap()
            .world,
        WORLD
    );
    // A rule per scope, one for another asset, one USD rule, one window
    // longer than the store keeps: every kind of answer.
    let config = r#"{"rules": [
        {"scope": "account", "window": "10m", "max_count": 3},
        {"scope": "account", "window": "24h", "max_usd_cents": 50000},
        {"scope": "account-asset", "window": "1h", "max_sum": 2500},
        {"scope": "account-asset", "asset": "BTC", "window": "1h", "max_sum": 1},
        {"scope": "destination", "window": "1h", "max_count": 4},
        {"scope": "account-destination", "window": "1h", "max_count": 2},
        {"scope": "asset", "window": "1h", "max_count": 12}
    ]}"#;
    let long = r#"{"rules": [{"scope": "account", "window": "30d", "max_count": 3}]}"#;
    for config in [config, long, "{}"] {
        let gate_of = |source| {
            builder(vec![source], Screener::default())
                .velocity(Arc::new(Velocity::memory(DEFAULT_RETENTION_MS)))
                .build()
                .expect("gate builds")
                .0
        };
        let (old, new) = (gate_of(old_velocity(config)), gate_of(velocity(config)));
        let mut verdicts = [0usize; 3];
        for i in 0..60u64 {
            let mut w = withdrawal(
                &format!("w{i}"),
                ["a", "b", "c"][(i % 3) as usize],
                "ethereum",
                &format!("0x{:040x}", i % 4 + 1),
                100 + i * 37,
                T0 + i * 90_000,
            );
            if i % 7 == 0 {
                w.usd_cents = None;
            }
            let (a, b) = (old.evaluate(&w), new.evaluate(&w));
            assert_eq!(
                (&a.verdict, &a.reasons),
                (&b.verdict, &b.reasons),
                "{config} {i}"
            );
            verdicts[a.verdict as usize] += 1;
        }
        if config == long {
            // Longer than the store keeps: every decision held, by both.
            assert_eq!(verdicts[Verdict::Hold as usize], 60, "{verdicts:?}");
        } else if config != "{}" {
            assert!(
                verdicts[Verdict::Allow as usize] > 0,
                "{config}: {verdicts:?}"
            );
            assert!(
                verdicts[Verdict::Hold as usize] > 0,
                "{config}: {verdicts:?}"
            );
        }
    }
}

#[test]
fn policies_built_against_0_1_1_are_served_and_decide_as_0_1_2() {
    let runtime = riskgate::engine::Runtime::new(test_limits()).expect("runtime");
    for (bytes, bundled) in [
        (SANCTIONS_0_1_1, riskgate::bundled::SANCTIONS),
        (VELOCITY_0_1_1, riskgate::bundled::VELOCITY),
    ] {
        assert_eq!(inspect(&runtime, bytes).unwrap().world, WORLDS[1]);
        assert_eq!(inspect(&runtime, bundled).unwrap().world, WORLD);
        let old = riskgate::policy::Policy::load(&runtime, &raw("0.1.1.wasm", bytes), None)
            .expect("loads")
            .0;
        let new = riskgate::policy::Policy::load(&runtime, &raw("0.1.2.wasm", bundled), None)
            .expect("loads")
            .0;
        // The host calls `evaluate-packed` on the one that exports it.
        assert!(!old.packed() && new.packed(), "{}", new.name());
    }
    let config = r#"{"rules": [
        {"scope": "account", "window": "10m", "max_count": 3},
        {"scope": "account-asset", "window": "1h", "max_sum": 2500},
        {"scope": "destination", "window": "1h", "max_count": 4},
        {"scope": "asset", "window": "1h", "max_count": 12}
    ]}"#;
    let gate_of = |sanctions: &[u8], velocity: &[u8]| {
        builder(
            vec![
                raw("sanctions.wasm", sanctions),
                riskgate::policy::PolicySource {
                    config: config.into(),
                    ..raw("velocity.wasm", velocity)
                },
            ],
            riskgate::bundled::sample_screener(),
        )
        .velocity(Arc::new(Velocity::memory(DEFAULT_RETENTION_MS)))
        .build()
        .expect("gate builds")
        .0
    };
    let old = gate_of(SANCTIONS_0_1_1, VELOCITY_0_1_1);
    let new = gate_of(riskgate::bundled::SANCTIONS, riskgate::bundled::VELOCITY);
    // Designated (two spellings), clean, malformed, other chains, and
    // strings of every length the caps allow, multi-byte ones included.
    let destinations = [
        ("ethereum", "0x098b716b8aaf21512996dc57eb0615e2383e2f96"),
        ("ethereum", "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"),
        ("ethereum", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
        ("ethereum", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaee"),
        ("ethereum", "0xnot-an-address"),
        ("bitcoin", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
        ("tron", "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"),
        ("cardano-x", "addr1 unknown chain"),
    ];
    let mut verdicts = [0usize; 3];
    for i in 0..120u64 {
        let (chain, destination) = destinations[(i % 8) as usize];
        let account = match i % 4 {
            0 => "a".to_string(),
            1 => "b\u{00e9}\u{4e2d}".to_string(),
            2 => "c".repeat(128),
            _ => format!("acct-{}", i % 5),
        };
        let mut w = withdrawal(
            &format!("w{i}-{}", "x".repeat((i % 3 * 50) as usize)),
            &account,
            chain,
            destination,
            100 + i * 37,
            T0 + i * 45_000,
        );
        w.asset = ["ETH", "USDT", "A".repeat(32).as_str()][(i % 3) as usize].to_string();
        if i % 5 == 0 {
            w.usd_cents = None;
        }
        if i % 6 == 0 {
            w.destination_first_used_at = Some(T0 - 1);
        }
        let (a, ea) = old.evaluate_explained(&w);
        let (b, eb) = new.evaluate_explained(&w);
        assert_eq!(
            (&a.verdict, &a.reasons, &a.hits),
            (&b.verdict, &b.reasons, &b.hits),
            "{i}: {w:?}"
        );
        // The same host calls with the same answers, policy by policy:
        // `screen-hits` is recorded as the `screen` it answers for.
        for (pa, pb) in ea.policies.iter().zip(&eb.policies) {
            assert_eq!(
                (&pa.verdict, &pa.reasons, &pa.hits, &pa.calls),
                (&pb.verdict, &pb.reasons, &pb.hits, &pb.calls),
                "{i}: {}",
                pa.name
            );
        }
        verdicts[a.verdict as usize] += 1;
    }
    assert!(verdicts.iter().all(|&n| n > 0), "{verdicts:?}");
}

#[test]
fn the_sdk_unpacking_buffer_holds_every_field_the_host_sends() {
    use riskgate::model::caps;
    assert_eq!(
        riskgate_guest::__export::FIELD_CAPACITY,
        [
            caps::ID,
            caps::ACCOUNT,
            caps::ASSET,
            caps::CHAIN,
            caps::DESTINATION
        ]
    );
}
