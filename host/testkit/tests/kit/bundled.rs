//! The properties on the bundled policies, natively through the mock host
//! (their components run the same properties in the real gate in the
//! repository's integration tests).

use riskgate_guest::{Decision, Verdict};
use riskgate_policy_sanctions::Sanctions;
use riskgate_policy_velocity::Velocity;
use riskgate_testkit::properties::{self, config, is_bad_input, is_listed};
use riskgate_testkit::{Scenario, mock};

fn sanctions(s: &Scenario) -> Decision {
    mock::decide::<Sanctions>(s).unwrap_or_else(|e| panic!("{e}: {s:#?}"))
}

fn velocity(s: &Scenario) -> Decision {
    mock::decide::<Velocity>(s).unwrap_or_else(|e| panic!("{e}: {s:#?}"))
}

#[test]
fn the_sanctions_policy_holds_every_screening_property_natively() {
    properties::listed_is_never_allowed(sanctions, config(256));
    properties::listed_is_denied(sanctions, config(256));
    properties::unlisted_is_never_denied(sanctions, config(256));
    properties::unscreenable_is_never_allowed(sanctions, config(256));
    properties::deterministic(sanctions, config(128));
}

/// Natively the sanctions policy reads no window, so a failing store does
/// not concern it; bad input is the gate's HOLD; an unscreenable
/// destination is held, a listed one denied, the rest allowed.
#[test]
fn the_sanctions_policy_agrees_with_its_model_natively() {
    let model = |s: &Scenario| {
        if is_bad_input(s) {
            return Verdict::Hold;
        }
        match is_listed(s) {
            None => Verdict::Hold,
            Some(true) => Verdict::Deny,
            Some(false) => Verdict::Allow,
        }
    };
    properties::agrees_with_model(sanctions, model, config(512));
}

#[test]
fn the_velocity_policy_never_allows_on_a_failing_store_natively() {
    properties::faults_never_allow(velocity, config(256));
    properties::deterministic(velocity, config(128));
}
