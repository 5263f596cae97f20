//! The harness on the bundled components, against the same policies run
//! natively through the mock host.

use super::*;
use crate::fixture::{Outcome, assert_all_passed, run_native};
use crate::scenario::{DEFAULT_DESTINATION, withdrawal};
use riskgate::bundled;
use riskgate_guest::{HOUR_MS, Scope};
use riskgate_policy_sanctions::Sanctions;
use riskgate_policy_velocity::Velocity;
use std::path::PathBuf;

fn fixtures_of(policy: &str) -> Vec<Fixtures> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies")
        .join(policy)
        .join("fixtures");
    let all = Fixtures::load_dir(&dir).unwrap();
    assert!(!all.is_empty(), "no fixtures in {}", dir.display());
    all
}

/// Every case passes on the component and decides exactly as natively
/// (verdict, reasons, details and evidence).
fn agree<P: riskgate_guest::Policy>(policy: &str, component: &[u8]) -> usize {
    let harness = Harness::new(component, Limits::default()).unwrap();
    assert_eq!(harness.name(), P::NAME);
    let mut cases = 0;
    for fixtures in fixtures_of(policy) {
        assert_all_passed(&run_with(&harness, &fixtures, None));
        assert_all_passed(&run_native::<P>(&fixtures));
        for case in &fixtures.cases {
            let native = mock::try_decide::<P>(&case.scenario);
            let component = harness.decide(&case.scenario);
            match (native, component) {
                (Ok(n), Ok(c)) => assert_eq!(n, c, "{}: {}", fixtures.origin, case.name),
                (Err(mock::DecideError::Config(n)), Err(HarnessError::Config(c))) => {
                    // The runtime keeps the message on one line, cut at 512.
                    assert_eq!(riskgate::policy::one_line(&n, 512), c, "{}", case.name)
                }
                (n, c) => panic!("{}: native {n:?}, component {c:?}", case.name),
            }
            cases += 1;
        }
    }
    cases
}

#[test]
fn sanctions_fixtures_agree_natively_and_on_the_component() {
    assert!(agree::<Sanctions>("sanctions", bundled::SANCTIONS) >= 10);
}

#[test]
fn velocity_fixtures_agree_natively_and_on_the_component() {
    assert!(agree::<Velocity>("velocity", bundled::VELOCITY) >= 15);
}

#[test]
fn a_wrong_expectation_fails_on_the_component() {
    let text = r#"
[[list]]
name = "l"
addresses = ["0x52908400098527886E0F7030069857D2E4169EE7"]

[[case]]
name = "wrongly expected to be allowed"
expect = { verdict = "allow" }

[[case]]
name = "wrong reasons"
expect = { verdict = "deny", reasons = ["sanctions.other"] }

[[case]]
name = "right"
expect = { verdict = "deny", reasons = ["sanctions.hit"] }
"#;
    let fixtures = Fixtures::parse(text, "wrong.toml").unwrap();
    let results = run_component(&fixtures, bundled::SANCTIONS, None, Limits::default());
    assert!(matches!(
        &results[0].outcome,
        Outcome::Failed { got: Got::Decision(d), .. } if d.verdict == Verdict::Deny
    ));
    assert!(!results[1].passed());
    assert!(results[2].passed());
    let shown = results[0].to_string();
    assert!(shown.contains("expected: allow"), "{shown}");
    assert!(shown.contains("got:      deny [sanctions.hit]"), "{shown}");
    assert!(
        shown.contains("evidence: 0x52908400098527886E0F7030069857D2E4169EE7"),
        "{shown}"
    );
}

#[test]
fn a_config_override_applies_to_every_case() {
    let text = r#"
[[case]]
name = "unsupported chain"
withdrawal = { chain = "nowhere" }
expect = { verdict = "deny", reasons = ["sanctions.unsupported_chain"] }
"#;
    let fixtures = Fixtures::parse(text, "o.toml").unwrap();
    let results = run_component(&fixtures, bundled::SANCTIONS, None, Limits::default());
    assert!(!results[0].passed(), "holds by default");
    let results = run_component(
        &fixtures,
        bundled::SANCTIONS,
        Some(r#"{"on_unscreenable":"deny"}"#),
        Limits::default(),
    );
    assert!(results[0].passed(), "{}", results[0]);
}

#[test]
fn something_that_is_not_a_component_is_an_error_for_every_case() {
    let fixtures = Fixtures::parse(
        "[[case]]\nname = \"a\"\nexpect = { verdict = \"allow\" }\n",
        "x.toml",
    )
    .unwrap();
    let results = run_component(&fixtures, b"not wasm", None, Limits::default());
    assert!(
        matches!(&results[0].outcome, Outcome::Error(e) if e.contains("loading the component"))
    );
}

#[test]
fn fuel_exhaustion_is_a_gate_hold() {
    let limits = Limits {
        fuel: 1,
        ..Limits::default()
    };
    // `info` and `configure` run under the separate setup budget.
    let harness = Harness::new(bundled::VELOCITY, limits).unwrap();
    let d = harness.decide(&Scenario::new(withdrawal("w"))).unwrap();
    assert_eq!(d.verdict, Verdict::Hold);
    assert_eq!(d.reasons[0].code, "gate.fuel_exhausted");
    assert!(
        d.reasons[0]
            .detail
            .starts_with("policy `velocity` (testkit) faulted: fuel exhausted")
    );
}

#[test]
fn a_hit_screened_before_a_fault_denies() {
    // Raise the fuel until the call runs out after screening answered the
    // hit: the gate then denies on the hit. No budget may allow.
    let listed =
        Scenario::new(withdrawal("w")).listed("l", "1", "ethereum", DEFAULT_DESTINATION, None);
    let mut seen_designated = false;
    for fuel in (1..200_000).step_by(997) {
        let harness = Harness::new(
            bundled::SANCTIONS,
            Limits {
                fuel,
                ..Limits::default()
            },
        )
        .unwrap();
        let d = harness.decide(&listed).unwrap();
        assert_ne!(d.verdict, Verdict::Allow, "fuel {fuel}: {d:?}");
        if d.reasons.iter().any(|r| r.code == "gate.designated_hit") {
            assert_eq!(d.verdict, Verdict::Deny);
            let hit = d
                .reasons
                .iter()
                .find(|r| r.code == "gate.designated_hit")
                .unwrap();
            assert_eq!(hit.evidence[0].list, "l");
            seen_designated = true;
            break;
        }
        if d.reasons.iter().all(|r| r.code == "sanctions.hit") {
            break;
        }
    }
    assert!(seen_designated, "no fuel budget faulted after screening");
}

#[test]
fn explicit_figures_answer_only_their_key_and_window() {
    let s = Scenario::new(Withdrawal {
        usd_cents: Some(100),
        destination_first_used_at: Some(0),
        ..withdrawal("w")
    })
    .config(r#"{"rules":[{"scope":"destination","window":"1h","max_count":5},{"scope":"account","window":"1h","max_count":5}],"new_destination_hours":0}"#)
    .window(
        Scope::Destination,
        HOUR_MS,
        riskgate_guest::WindowStats {
            count: 5,
            sum: 0,
            usd_cents: 0,
        },
    );
    let harness = Harness::new(bundled::VELOCITY, Limits::default()).unwrap();
    let d = harness.decide(&s).unwrap();
    let codes: Vec<&str> = d.reasons.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(codes, ["velocity.destination_count_1h"]);
    assert_eq!(d, mock::decide::<Velocity>(&s).unwrap());
}

#[test]
fn deciders_decide_like_decide() {
    let harness = Harness::new(bundled::SANCTIONS, Limits::default()).unwrap();
    let listed =
        Scenario::new(withdrawal("w")).listed("l", "1", "ethereum", DEFAULT_DESTINATION, None);
    let mut on_component = harness.decider();
    let mut natively = mock::decider::<Sanctions>();
    assert_eq!(on_component(&listed), natively(&listed));
    assert_eq!(on_component(&listed).verdict, Verdict::Deny);
    let refused = listed.config("{\"lists\":[]}");
    assert!(
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| on_component(&refused))).is_err()
    );
    assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| natively(&refused))).is_err());
}

#[test]
fn the_mock_keeps_the_stores_retention() {
    assert_eq!(mock::RETENTION_MS, riskgate::velocity::DEFAULT_RETENTION_MS);
}
