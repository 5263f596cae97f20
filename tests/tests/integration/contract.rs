//! The contract's versions: a policy built against `riskgate:policy@0.1.0`
//! (before `velocity.windows`, asking each window in its own call) is
//! still served by this host, and decides exactly as the bundled policy
//! built against 0.1.1 (one `windows` call per decision).

use riskgate::inspect::{WORLD, WORLDS, inspect};
use riskgate::model::Verdict;
use riskgate::screening::Screener;
use riskgate::velocity::{DEFAULT_RETENTION_MS, Velocity};
use riskgate_tests::*;
use std::sync::Arc;

/// The bundled velocity policy as built against contract 0.1.0 (commit
/// 3bbc162, `policies/velocity`, same rules and defaults as today's).
const VELOCITY_0_1_0: &[u8] = include_bytes!("../../fixtures/contract-0.1.0/velocity.wasm");

fn old_velocity(config: &str) -> riskgate::policy::PolicySource {
    riskgate::policy::PolicySource {
        config: config.into(),
        ..raw("velocity-0.1.0.wasm", VELOCITY_0_1_0)
    }
}

#[test]
fn a_policy_built_against_0_1_0_is_served_and_decides_as_0_1_1() {
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
