//! Properties of the {{name}} policy over generated scenarios (withdrawals on
//! every chain, destinations in every spelling, designated lists, velocity
//! history, store failures), run natively through riskgate-testkit's mock
//! host; and the fixtures, run natively too (`riskgate policy test` runs
//! them on the component).

use proptest::prelude::*;
use riskgate_guest::{Decision, Verdict};
use riskgate_testkit::{Scenario, mock, properties, strategy};
use {{crate}}::{{Type}};

const CONFIG: &str = include_str!("../policy.json");

/// The policy, configured with `policy.json`, deciding `scenario`.
fn decide(scenario: &Scenario) -> Decision {
    let mut scenario = scenario.clone();
    scenario.config = CONFIG.to_string();
    mock::decide::<{{Type}}>(&scenario).expect("policy.json is a valid configuration")
}

#[test]
fn a_designated_destination_is_denied_in_any_spelling() {
    properties::listed_is_denied(decide, properties::config(256));
}

#[test]
fn an_unscreenable_destination_is_never_allowed() {
    properties::unscreenable_is_never_allowed(decide, properties::config(256));
}

#[test]
fn a_failing_velocity_store_never_allows() {
    properties::faults_never_allow(decide, properties::config(256));
}

#[test]
fn decisions_are_deterministic() {
    properties::deterministic(decide, properties::config(128));
}

/// A model of the policy in plain Rust, for withdrawals without history.
fn model(s: &Scenario) -> Verdict {
    let config: {{crate}}::Config = serde_json::from_str(CONFIG).unwrap();
    if properties::is_bad_input(s) {
        return Verdict::Hold;
    }
    match properties::is_listed(s) {
        Some(true) => Verdict::Deny,
        None => Verdict::Hold,
        Some(false) => match s.withdrawal.usd_cents {
            Some(v) if v <= config.max_usd_cents && v <= config.daily_usd_cents => Verdict::Allow,
            _ => Verdict::Hold,
        },
    }
}

#[test]
fn agrees_with_its_model() {
    let first_withdrawals = strategy::scenario().prop_map(|mut s| {
        s.history.clear();
        s.windows.clear();
        s.window_error = None;
        s
    });
    properties::agrees_with_model_over(first_withdrawals, decide, model, properties::config(256));
}

#[test]
fn the_fixtures_pass_natively() {
    riskgate_testkit::fixture::assert_native_dir::<{{Type}}>(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures"
    ));
}
