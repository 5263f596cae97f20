//! Ready-made properties: call one from a `#[test]` with a decide closure
//! and a proptest configuration. The closure decides a [`Scenario`]:
//! natively through the mock host, or on a compiled component through the
//! harness (feature `component`), or in any host a test wires up. Each
//! property runs a proptest [`TestRunner`] over the testkit's strategies
//! and panics with the minimal failing scenario it shrank to; the `try_`
//! forms return that as a [`Failure`] instead.
//!
//! ```
//! use riskgate_guest::{Decision, Verdict};
//! use riskgate_testkit::{Scenario, properties};
//!
//! // A decider that never allows passes `listed_is_never_allowed` (it
//! // would fail `agrees_with_model` against a model that allows).
//! let hold_all = |_: &Scenario| Decision::hold("example.hold", "holds everything");
//! properties::listed_is_never_allowed(hold_all, properties::config(16));
//! let allow_all = |_: &Scenario| Decision::allow();
//! assert!(properties::try_listed_is_never_allowed(allow_all, properties::config(16)).is_err());
//! ```
//!
//! What each property takes for granted about the policy is in its
//! documentation: `faults_never_allow` is for a policy that reads velocity
//! windows, the screening ones for a policy that screens the destination.

use std::cell::RefCell;
use std::fmt;

use proptest::strategy::{BoxedStrategy, Strategy};
use proptest::test_runner::{TestCaseError, TestError, TestRunner};
use riskgate_address::{canonicalize, list_keys};
use riskgate_guest::{Decision, Verdict};

pub use proptest::test_runner::Config as ProptestConfig;

use crate::Scenario;
use crate::strategy::{
    ListedScenario, faulty_scenario, listed_scenario, scenario, unlisted_scenario,
    unscreenable_scenario,
};

/// A configuration of `cases` cases, shrinking as long as it takes, and no
/// regression file (the panic message carries the minimal case).
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A property that did not hold.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The property's name, e.g. `listed_is_never_allowed`.
    pub property: &'static str,
    /// Why the minimal case fails (or why the run was aborted).
    pub reason: String,
    /// The minimal failing input, `Debug`-formatted.
    pub minimal: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "property `{}` does not hold: {}\nminimal failing case: {}",
            self.property, self.reason, self.minimal
        )
    }
}

impl std::error::Error for Failure {}

fn or_panic(result: Result<(), Failure>) {
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// Runs `test` over `strategy`, shrinking a failure to its minimal case.
fn run<S>(
    property: &'static str,
    mut config: ProptestConfig,
    strategy: S,
    test: impl Fn(&S::Value) -> Result<(), TestCaseError>,
) -> Result<(), Failure>
where
    S: Strategy,
    S::Value: fmt::Debug,
{
    // Run from a test, not the proptest! macro: there is no source file
    // to keep regressions beside; the panic shows the minimal case.
    config.failure_persistence = None;
    let mut runner = TestRunner::new(config);
    runner.run(&strategy, |v| test(&v)).map_err(|e| match e {
        TestError::Fail(reason, value) => Failure {
            property,
            reason: reason.to_string(),
            minimal: format!("{value:#?}"),
        },
        TestError::Abort(reason) => Failure {
            property,
            reason: format!("aborted: {reason}"),
            minimal: String::new(),
        },
    })
}

fn fail(why: String) -> TestCaseError {
    TestCaseError::fail(why)
}

/// A destination designated in one spelling and withdrawn to in any other
/// spelling, on any chain of its family, among decoy entries and with or
/// without history, is never allowed ([`listed_scenario`]).
///
/// For a policy that screens the destination (`host::screen`) and holds
/// or denies a hit.
pub fn listed_is_never_allowed(decide: impl FnMut(&Scenario) -> Decision, config: ProptestConfig) {
    or_panic(try_listed_is_never_allowed(decide, config));
}

/// [`listed_is_never_allowed`], returning the failure.
pub fn try_listed_is_never_allowed(
    decide: impl FnMut(&Scenario) -> Decision,
    config: ProptestConfig,
) -> Result<(), Failure> {
    let decide = RefCell::new(decide);
    run(
        "listed_is_never_allowed",
        config,
        listed_scenario(),
        |case: &ListedScenario| {
            let d = (decide.borrow_mut())(&case.scenario);
            if d.verdict == Verdict::Allow {
                return Err(fail(format!(
                    "{} on {} is designated as {:?} but was allowed: {d:?}",
                    case.scenario.withdrawal.destination,
                    case.scenario.withdrawal.chain,
                    case.designated.address
                )));
            }
            Ok(())
        },
    )
}

/// Stricter than [`listed_is_never_allowed`]: the decision is DENY and a
/// reason carries the designated entry as evidence (its list, version and
/// label).
pub fn listed_is_denied(decide: impl FnMut(&Scenario) -> Decision, config: ProptestConfig) {
    or_panic(try_listed_is_denied(decide, config));
}

/// [`listed_is_denied`], returning the failure.
pub fn try_listed_is_denied(
    decide: impl FnMut(&Scenario) -> Decision,
    config: ProptestConfig,
) -> Result<(), Failure> {
    let decide = RefCell::new(decide);
    run(
        "listed_is_denied",
        config,
        listed_scenario(),
        |case: &ListedScenario| {
            let d = (decide.borrow_mut())(&case.scenario);
            let l = &case.designated;
            let cited = d
                .reasons
                .iter()
                .flat_map(|r| &r.evidence)
                .any(|e| e.list == l.list && e.list_version == l.version && e.label == l.label);
            if d.verdict != Verdict::Deny || !cited {
                return Err(fail(format!(
                    "{} on {} is designated as {:?}: expected DENY citing list {} \
                     version {}, got {d:?}",
                    case.scenario.withdrawal.destination,
                    case.scenario.withdrawal.chain,
                    l.address,
                    l.list,
                    l.version
                )));
            }
            Ok(())
        },
    )
}

/// A valid destination no list holds (the lists hold decoys, among them
/// its near misses: the same bytes under another kind or family) is never
/// denied and no reason carries evidence ([`unlisted_scenario`]).
///
/// For a policy that denies on designated hits only.
pub fn unlisted_is_never_denied(decide: impl FnMut(&Scenario) -> Decision, config: ProptestConfig) {
    or_panic(try_unlisted_is_never_denied(decide, config));
}

/// [`unlisted_is_never_denied`], returning the failure.
pub fn try_unlisted_is_never_denied(
    decide: impl FnMut(&Scenario) -> Decision,
    config: ProptestConfig,
) -> Result<(), Failure> {
    let decide = RefCell::new(decide);
    run(
        "unlisted_is_never_denied",
        config,
        unlisted_scenario(),
        |s: &Scenario| {
            let d = (decide.borrow_mut())(s);
            let evidence = d.reasons.iter().any(|r| !r.evidence.is_empty());
            if d.verdict == Verdict::Deny || evidence {
                return Err(fail(format!(
                    "{} on {} is on no list but was denied or cited: {d:?}",
                    s.withdrawal.destination, s.withdrawal.chain
                )));
            }
            Ok(())
        },
    )
}

/// A destination the host cannot screen (arbitrary text, a mistyped
/// address, an unknown chain: `canonicalize` refuses it) is never allowed
/// ([`unscreenable_scenario`]; the cases whose text parses check nothing).
///
/// For a policy that screens the destination.
pub fn unscreenable_is_never_allowed(
    decide: impl FnMut(&Scenario) -> Decision,
    config: ProptestConfig,
) {
    or_panic(try_unscreenable_is_never_allowed(decide, config));
}

/// [`unscreenable_is_never_allowed`], returning the failure.
pub fn try_unscreenable_is_never_allowed(
    decide: impl FnMut(&Scenario) -> Decision,
    config: ProptestConfig,
) -> Result<(), Failure> {
    let decide = RefCell::new(decide);
    run(
        "unscreenable_is_never_allowed",
        config,
        unscreenable_scenario(),
        |s: &Scenario| {
            let w = &s.withdrawal;
            let d = (decide.borrow_mut())(s);
            if let Err(why) = canonicalize(&w.chain, &w.destination)
                && d.verdict == Verdict::Allow
            {
                return Err(fail(format!(
                    "{:?} on {:?} cannot be screened ({why}) but was allowed: {d:?}",
                    w.destination, w.chain
                )));
            }
            Ok(())
        },
    )
}

/// With the velocity store failing (every `window` query answers
/// [`Scenario::window_error`]), no decision is ALLOW, over general, listed
/// and unlisted scenarios ([`faulty_scenario`]).
///
/// For a policy that reads velocity windows for every withdrawal. (In the
/// real host a failing store also fails the commit of an ALLOW, so a
/// whole gate holds whatever its policies read.)
pub fn faults_never_allow(decide: impl FnMut(&Scenario) -> Decision, config: ProptestConfig) {
    or_panic(try_faults_never_allow(decide, config));
}

/// [`faults_never_allow`], returning the failure.
pub fn try_faults_never_allow(
    decide: impl FnMut(&Scenario) -> Decision,
    config: ProptestConfig,
) -> Result<(), Failure> {
    let decide = RefCell::new(decide);
    run(
        "faults_never_allow",
        config,
        faulty_scenario(),
        |s: &Scenario| {
            let d = (decide.borrow_mut())(s);
            if d.verdict == Verdict::Allow {
                return Err(fail(format!(
                    "the velocity store failed ({:?}) but the withdrawal was allowed: {d:?}",
                    s.window_error
                )));
            }
            Ok(())
        },
    )
}

/// Every kind of scenario the testkit generates: general, listed,
/// unlisted, unscreenable and faulty ones.
pub fn any_scenario() -> BoxedStrategy<Scenario> {
    proptest::prop_oneof![
        3 => scenario(),
        2 => listed_scenario().prop_map(|c| c.scenario),
        2 => unlisted_scenario(),
        1 => unscreenable_scenario(),
        1 => faulty_scenario(),
    ]
    .boxed()
}

/// The same scenario decided twice, with unrelated scenarios decided in
/// between, gives the same decision: verdict, reasons, details and
/// evidence ([`any_scenario`]).
pub fn deterministic(decide: impl FnMut(&Scenario) -> Decision, config: ProptestConfig) {
    or_panic(try_deterministic(decide, config));
}

/// [`deterministic`], returning the failure.
pub fn try_deterministic(
    decide: impl FnMut(&Scenario) -> Decision,
    config: ProptestConfig,
) -> Result<(), Failure> {
    let decide = RefCell::new(decide);
    let cases = (
        any_scenario(),
        proptest::collection::vec(any_scenario(), 0..3),
    );
    run(
        "deterministic",
        config,
        cases,
        |(s, between): &(Scenario, Vec<Scenario>)| {
            let first = (decide.borrow_mut())(s);
            for other in between {
                (decide.borrow_mut())(other);
            }
            let again = (decide.borrow_mut())(s);
            if first != again {
                return Err(fail(format!(
                    "decided twice, the same scenario gave {first:?} then {again:?}"
                )));
            }
            Ok(())
        },
    )
}

/// The policy's verdict agrees with `model`, a native Rust model of it,
/// on every scenario of [`any_scenario`].
pub fn agrees_with_model(
    decide: impl FnMut(&Scenario) -> Decision,
    model: impl Fn(&Scenario) -> Verdict,
    config: ProptestConfig,
) {
    or_panic(try_agrees_with_model_over(
        any_scenario(),
        decide,
        model,
        config,
    ));
}

/// [`agrees_with_model`] over the author's own scenarios.
pub fn agrees_with_model_over(
    scenarios: impl Strategy<Value = Scenario>,
    decide: impl FnMut(&Scenario) -> Decision,
    model: impl Fn(&Scenario) -> Verdict,
    config: ProptestConfig,
) {
    or_panic(try_agrees_with_model_over(scenarios, decide, model, config));
}

/// [`agrees_with_model_over`], returning the failure.
pub fn try_agrees_with_model_over(
    scenarios: impl Strategy<Value = Scenario>,
    decide: impl FnMut(&Scenario) -> Decision,
    model: impl Fn(&Scenario) -> Verdict,
    config: ProptestConfig,
) -> Result<(), Failure> {
    let decide = RefCell::new(decide);
    run("agrees_with_model", config, scenarios, |s: &Scenario| {
        let d = (decide.borrow_mut())(s);
        let expected = model(s);
        if d.verdict != expected {
            return Err(fail(format!(
                "the model says {expected:?}, the policy decided {d:?}"
            )));
        }
        Ok(())
    })
}

/// Whether `s`'s destination is held by one of its lists, by the host's
/// rules: the destination read strictly on its chain
/// (`riskgate_address::canonicalize`), each entry stored under every key
/// of `riskgate_address::list_keys`. `None` when the destination does not
/// parse. A building block for authors' models.
pub fn is_listed(s: &Scenario) -> Option<bool> {
    let w = &s.withdrawal;
    let key = canonicalize(&w.chain, &w.destination).ok()?;
    Some(s.lists.iter().any(|l| {
        list_keys(&l.address)
            .map(|keys| keys.iter().any(|k| k.key() == key.key()))
            .unwrap_or(false)
    }))
}

/// Whether the gate refuses `s`'s withdrawal before any policy runs
/// (HOLD `gate.bad_input`: an empty or oversized field, a control
/// character, a `requested_at` outside 2009..2100), by the host's own
/// input checks. A building block for authors' models.
pub fn is_bad_input(s: &Scenario) -> bool {
    crate::mock::to_model(&s.withdrawal).validate().is_err()
}
