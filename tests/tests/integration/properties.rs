//! Properties of the real policies in the real host, over generated
//! inputs: the testkit's strategies (`riskgate_testkit::strategy`) and
//! ready-made properties (`riskgate_testkit::properties`) on the bundled
//! policies compiled and run by the gate (`riskgate_tests::scenario`).

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use riskgate::address::Canonical;
use riskgate::model::Verdict;
use riskgate::screening::DesignatedSet;
use riskgate::{Gate, Mode, Withdrawal, bundled};
use riskgate_bench::demo;
use riskgate_testkit::component::Harness;
use riskgate_testkit::properties::{self, config, is_bad_input, is_listed};
use riskgate_testkit::strategy::{self, BurstSpec, ChainAddress, Order, Share};
use riskgate_testkit::{Listed, Scenario};
use riskgate_tests::scenario::{ScenarioGate, designated_sets, to_model};
use riskgate_tests::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// A designated set of 2,000 generated addresses of every family, each
/// listed in a random spelling (`generated`, version `1`).
struct Background {
    listed: Vec<(Canonical, ChainAddress)>,
    set: Arc<DesignatedSet>,
}

fn background() -> &'static Background {
    static CELL: OnceLock<Background> = OnceLock::new();
    CELL.get_or_init(|| {
        let entries =
            strategy::canonical().prop_flat_map(|c| (Just(c.clone()), strategy::spelling(c)));
        let mut runner = TestRunner::deterministic();
        let listed: Vec<(Canonical, ChainAddress)> = (0..2_000)
            .map(|_| entries.new_tree(&mut runner).expect("an entry").current())
            .collect();
        let lists: Vec<Listed> = listed
            .iter()
            .enumerate()
            .map(|(i, (_, a))| Listed {
                list: "generated".into(),
                version: "1".into(),
                chain: a.chain.clone(),
                address: a.address.clone(),
                label: Some(format!("entity {i}")),
            })
            .collect();
        let mut sets = designated_sets(&lists);
        assert_eq!(sets.len(), 1);
        Background {
            listed,
            set: sets.remove(0),
        }
    })
}

/// The bundled chain (sanctions with the scenario's configuration, then
/// velocity with its defaults) deciding scenarios, the background set
/// screened beside each scenario's lists.
fn chain() -> &'static ScenarioGate {
    static CELL: OnceLock<ScenarioGate> = OnceLock::new();
    CELL.get_or_init(|| {
        ScenarioGate::new(|config| vec![sanctions(config), velocity("{}")])
            .with_background(vec![background().set.clone()])
    })
}

/// The bundled sanctions policy alone.
fn sanctions_alone() -> &'static ScenarioGate {
    static CELL: OnceLock<ScenarioGate> = OnceLock::new();
    CELL.get_or_init(|| ScenarioGate::new(|config| vec![sanctions(config)]))
}

fn decide(s: &Scenario) -> riskgate_guest::Decision {
    chain().decide(s)
}

/// A designated address, listed in one spelling and typed in any other,
/// on any chain of its family (every family, every chain name), among
/// decoys and with or without history, is denied citing its entry.
#[test]
fn a_designated_address_in_any_spelling_is_denied() {
    properties::listed_is_never_allowed(decide, config(128));
    properties::listed_is_denied(decide, config(256));
}

/// A valid address on no list (its near misses listed: the same bytes
/// under another kind or family) is never denied nor cited.
#[test]
fn a_clean_address_is_never_denied() {
    properties::unlisted_is_never_denied(decide, config(256));
}

/// Arbitrary text, mistyped addresses and unknown chains as a destination
/// never panic the gate and are never allowed unless the text is valid.
#[test]
fn arbitrary_destinations_are_never_allowed_unless_valid() {
    properties::unscreenable_is_never_allowed(decide, config(1024));
}

/// With the velocity store failing, nothing is allowed.
#[test]
fn a_failing_store_never_allows() {
    properties::faults_never_allow(decide, config(128));
}

/// The same scenario decided twice, after others, is decided alike.
#[test]
fn the_bundled_chain_is_deterministic() {
    properties::deterministic(decide, config(64));
}

/// The sanctions policy in the real gate agrees with a native model of
/// it: bad input and an unscreenable destination hold, a listed one is
/// denied (even when the store fails: a DENY is never softened), a failing
/// store holds the rest (an ALLOW cannot be recorded), the rest is allowed.
#[test]
fn the_sanctions_policy_agrees_with_its_model() {
    use riskgate_guest::Verdict;
    let model = |s: &Scenario| {
        if is_bad_input(s) {
            return Verdict::Hold;
        }
        let screened = match is_listed(s) {
            None => Verdict::Hold,
            Some(true) => Verdict::Deny,
            Some(false) => Verdict::Allow,
        };
        match (screened, s.window_error.is_some()) {
            (Verdict::Allow, true) => Verdict::Hold,
            (verdict, _) => verdict,
        }
    };
    properties::agrees_with_model(|s| sanctions_alone().decide(s), model, config(256));
}

/// Each bundled component alone in the testkit's component harness holds
/// the properties it holds natively (the mock host) and in the chain.
#[test]
fn the_bundled_components_hold_the_properties_in_the_harness() {
    let sanctions = Harness::new(bundled::SANCTIONS, test_limits()).expect("sanctions loads");
    let decide = |s: &Scenario| {
        sanctions
            .decide(s)
            .unwrap_or_else(|e| panic!("{e}: {s:#?}"))
    };
    properties::listed_is_denied(decide, config(64));
    properties::unlisted_is_never_denied(decide, config(64));
    properties::unscreenable_is_never_allowed(decide, config(64));
    let velocity = Harness::new(bundled::VELOCITY, test_limits()).expect("velocity loads");
    let decide = |s: &Scenario| velocity.decide(s).unwrap_or_else(|e| panic!("{e}: {s:#?}"));
    properties::faults_never_allow(decide, config(64));
    properties::deterministic(decide, config(32));
}

/// The wiring can fail: a chain without the sanctions policy lets a
/// designated address through, and the property says so.
#[test]
fn without_screening_a_designated_address_gets_through() {
    let lenient = r#"{"rules":[],"new_destination_hours":0,"credential_change_hours":0}"#;
    let velocity_only = ScenarioGate::new(move |_| vec![velocity(lenient)]);
    let failure = properties::try_listed_is_never_allowed(|s| velocity_only.decide(s), config(32))
        .expect_err("nothing screens the destination");
    assert!(failure.reason.contains("was allowed"), "{failure}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Each of the 2,000 background entries, typed in any spelling on any
    /// chain of its family, is denied with a hit in that set.
    #[test]
    fn a_designated_address_is_never_allowed(
        (i, typed) in (0usize..2_000).prop_flat_map(|i| (Just(i), strategy::spelling(background().listed[i].0.clone()))),
        at in strategy::requested_at(),
    ) {
        let mut runner = TestRunner::deterministic();
        let w = strategy::withdrawal_at(typed, at).new_tree(&mut runner).unwrap().current();
        let d = chain().evaluate(&strategy::bare(w.clone()));
        prop_assert_eq!(d.verdict, Verdict::Deny, "entry {} as {} on {}: {:?}", i, w.destination, w.chain, d);
        prop_assert!(d.hits.iter().any(|h| h.list == "generated"));
    }

    /// A clean destination is never denied, cited or flagged by screening.
    #[test]
    fn a_clean_address_is_never_flagged(s in strategy::unlisted_scenario()) {
        let d = chain().evaluate(&s);
        prop_assert_ne!(d.verdict, Verdict::Deny, "{:?}", d);
        prop_assert!(d.hits.is_empty());
        prop_assert!(!d.reasons.iter().any(|r| r.code.starts_with("sanctions.")), "{:?}", d);
    }
}

/// A velocity gate shared by the window property; each case uses its own
/// accounts, so cases do not see each other's history.
fn velocity_gate() -> &'static Gate {
    static CELL: OnceLock<Gate> = OnceLock::new();
    CELL.get_or_init(|| {
        let config = r#"{"rules":[
            {"name":"count_1h","scope":"account","window":"1h","max_count":5},
            {"name":"sum_1h","scope":"account-asset","window":"1h","max_sum":1000},
            {"name":"sum_10m","scope":"account-asset","window":"10m","max_sum":400}
        ],"new_destination_hours":0,"credential_change_hours":0}"#;
        gate(
            vec![velocity(config)],
            riskgate::screening::Screener::default(),
        )
    })
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);
fn unique() -> u64 {
    UNIQUE.fetch_add(1, Ordering::Relaxed)
}

fn check_windows(
    allowed: &[(u64, u64)],
    window: u64,
    max_count: usize,
    max_sum: u64,
) -> Result<(), TestCaseError> {
    match window_overshoot(allowed, window, max_count, max_sum) {
        Some(overshoot) => Err(TestCaseError::fail(overshoot)),
        None => Ok(()),
    }
}

/// Bursts of one account within three hours around T0, out of order.
fn account_burst() -> impl Strategy<Value = Vec<Withdrawal>> {
    strategy::burst(BurstSpec {
        share: Share::Account,
        len: 1..=30,
        window_ms: 3 * HOUR,
        order: Order::Shuffled,
        max_amount: 449,
        family: None,
        starts: T0..=T0 + DAY,
    })
    .prop_map(|ws| ws.iter().map(to_model).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// For any two accounts' bursts (any chain family and asset), arriving
    /// out of order and interleaved, the allowed count and sum in every
    /// window stay within the limits.
    #[test]
    fn allowed_totals_never_exceed_any_window(
        bursts in [account_burst(), account_burst()],
        interleave in prop::collection::vec(any::<bool>(), 60),
    ) {
        let g = velocity_gate();
        let case = unique();
        let [mut a, mut b] = bursts;
        for (n, ws) in [&mut a, &mut b].into_iter().enumerate() {
            for w in ws.iter_mut() {
                w.id = format!("p{case}-{n}-{}", w.id);
                w.account = format!("p{case}-acct{n}");
            }
        }
        let (mut a, mut b) = (a.into_iter(), b.into_iter());
        let mut stream = Vec::new();
        for first in interleave.into_iter().chain(std::iter::repeat(true)) {
            let next = if first { a.next().or_else(|| b.next()) } else { b.next().or_else(|| a.next()) };
            match next {
                Some(w) => stream.push(w),
                None => break,
            }
        }
        let mut allowed: [Vec<(u64, u64)>; 2] = [Vec::new(), Vec::new()];
        for w in &stream {
            let d = g.evaluate(w);
            prop_assert!(!d.reasons.iter().any(|r| r.code.starts_with("gate.")), "{:?}", d);
            if d.verdict == Verdict::Allow {
                let n = usize::from(w.account.ends_with("acct1"));
                allowed[n].push((w.requested_at, w.amount));
            }
        }
        for a in &allowed {
            check_windows(a, HOUR, 5, 1000)?;
            check_windows(a, 10 * 60_000, usize::MAX, 400)?;
        }
    }
}

/// Two gates, built alike, fed the same stream: identical decisions.
fn twin_gates() -> &'static (Gate, Gate) {
    static CELL: OnceLock<(Gate, Gate)> = OnceLock::new();
    CELL.get_or_init(|| {
        let make = || {
            gate(
                vec![sanctions("{}"), velocity("{}")],
                bundled::sample_screener(),
            )
        };
        (make(), make())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Evaluation is deterministic: the same inputs and state give the same
    /// verdicts, reasons and evidence.
    #[test]
    fn evaluation_is_deterministic(seed in any::<u64>()) {
        let (a, b) = twin_gates();
        let designated = bundled::sample_addresses();
        let case = unique();
        for g in demo::generate(400, seed, &designated) {
            let mut w = g.withdrawal;
            w.id = format!("det{case}-{}", w.id);
            w.account = format!("det{case}-{}", w.account);
            let da = a.evaluate(&w);
            let db = b.evaluate(&w);
            prop_assert_eq!(da.without_timing(), db.without_timing());
            // Replaying the same id returns the same decision.
            let again = a.evaluate(&w);
            prop_assert!(again.replayed);
            prop_assert_eq!(again.verdict, da.verdict);
        }
    }
}

/// The same chain with and without shadow policies in front of it (one of
/// them hostile), and the shadowed policy enforced alone.
fn shadow_gates() -> &'static (Gate, Gate, Gate) {
    static CELL: OnceLock<(Gate, Gate, Gate)> = OnceLock::new();
    CELL.get_or_init(|| {
        let plain = gate(vec![velocity("{}")], bundled::sample_screener());
        let shadowed = builder(Vec::new(), bundled::sample_screener())
            .policy_in(sanctions("{}"), Mode::Shadow)
            .policy_in(hostile("{}"), Mode::Shadow)
            .policy(velocity("{}"))
            .build()
            .expect("gate builds")
            .0;
        let alone = gate(vec![sanctions("{}")], bundled::sample_screener());
        (plain, shadowed, alone)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Shadow policies never change a decision, even when they deny or
    /// fault; each one's own verdict is reported in the trace.
    #[test]
    fn shadow_policies_never_change_a_decision(seed in any::<u64>(), traps in prop::collection::vec(any::<bool>(), 200)) {
        let (plain, shadowed, alone) = shadow_gates();
        let designated = bundled::sample_addresses();
        let case = unique();
        let mut trace = Vec::new();
        let mut denied_in_shadow = 0;
        for (g, trap) in demo::generate(200, seed, &designated).into_iter().zip(traps) {
            let mut w = g.withdrawal;
            // The hostile guest traps on ids starting `trap-`.
            w.id = format!("{}sh{case}-{}", if trap { "trap-" } else { "" }, w.id);
            w.account = format!("sh{case}-{}", w.account);
            let expected = plain.evaluate(&w);
            let got = shadowed.evaluate_traced(&w, &mut trace);
            prop_assert_eq!(got.without_timing(), expected.without_timing());
            if got.replayed {
                continue;
            }
            prop_assert_eq!(trace.len(), 3);
            prop_assert_eq!(trace[0].mode, Mode::Shadow);
            prop_assert_eq!(trace[0].verdict, alone.evaluate(&w).verdict);
            prop_assert_eq!(trace[1].fault, trap, "{:?}", trace[1]);
            prop_assert_eq!(trace[2].mode, Mode::Enforce);
            prop_assert!(trace[2].reasons.is_empty(), "an enforced policy's reasons are in the decision");
            denied_in_shadow += usize::from(trace[0].verdict == Verdict::Deny);
        }
        // The stream holds designated destinations, so the shadow policy
        // did deny some that the decision allowed or held.
        prop_assert!(denied_in_shadow > 0);
    }
}
