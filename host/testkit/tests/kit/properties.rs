//! The properties hold for a correct decider and fail, with a minimal
//! case, for deciders that break them.

use std::cell::Cell;

use riskgate_address::{canonicalize, canonicalize_any, list_keys};
use riskgate_guest::{Decision, Evidence, Reason, Verdict};
use riskgate_testkit::Scenario;
use riskgate_testkit::properties::{self, Failure, config, is_listed};

/// A correct screening decider over the host's rules: hold what cannot be
/// screened or when the store fails, deny a hit with its evidence.
fn reference(s: &Scenario) -> Decision {
    let w = &s.withdrawal;
    if let Some(why) = &s.window_error {
        return Decision::hold("ref.unavailable", why.clone());
    }
    let Ok(key) = canonicalize(&w.chain, &w.destination) else {
        return Decision::hold("ref.unscreenable", "cannot be screened");
    };
    let hits: Vec<Evidence> = s
        .lists
        .iter()
        .filter(|l| list_keys(&l.address).is_ok_and(|ks| ks.iter().any(|k| k.key() == key.key())))
        .map(|l| Evidence {
            list: l.list.clone(),
            list_version: l.version.clone(),
            label: l.label.clone(),
            address: key.as_str().to_string(),
        })
        .collect();
    if hits.is_empty() {
        Decision::allow()
    } else {
        Decision::allow().with(
            Verdict::Deny,
            Reason::new("ref.hit", "designated").with_evidence(hits),
        )
    }
}

fn model(s: &Scenario) -> Verdict {
    match (&s.window_error, is_listed(s)) {
        (Some(_), _) | (None, None) => Verdict::Hold,
        (None, Some(true)) => Verdict::Deny,
        (None, Some(false)) => Verdict::Allow,
    }
}

fn expect_failure(result: Result<(), Failure>, property: &str) -> Failure {
    let failure = result.expect_err("the property must fail for this decider");
    assert_eq!(failure.property, property);
    assert!(!failure.minimal.is_empty());
    assert!(failure.to_string().contains("minimal failing case"));
    failure
}

#[test]
fn a_correct_decider_passes_every_property() {
    properties::listed_is_never_allowed(reference, config(300));
    properties::listed_is_denied(reference, config(300));
    properties::unlisted_is_never_denied(reference, config(300));
    properties::unscreenable_is_never_allowed(reference, config(300));
    properties::faults_never_allow(reference, config(200));
    properties::deterministic(reference, config(100));
    properties::agrees_with_model(reference, model, config(300));
}

/// Lists compared as text (trimmed, case-folded): other spellings slip by.
fn textual(s: &Scenario) -> Decision {
    let typed = s.withdrawal.destination.trim().to_ascii_lowercase();
    if s.lists
        .iter()
        .any(|l| l.address.trim().to_ascii_lowercase() == typed)
    {
        Decision::deny("textual.hit", "listed")
    } else {
        Decision::allow()
    }
}

#[test]
fn comparing_texts_lets_a_listed_address_through() {
    let f = expect_failure(
        properties::try_listed_is_never_allowed(textual, config(256)),
        "listed_is_never_allowed",
    );
    assert!(f.reason.contains("was allowed"), "{f}");
}

/// Lists read by inference alone (`canonicalize_any`), as a naive loader
/// would: a Bitcoin Cash legacy `1...`, a Litecoin `3...` or a Verge
/// `E...` entry lands in the wrong key space (or none), so the address
/// typed otherwise on its own chain slips by.
fn inferred_lists(s: &Scenario) -> Decision {
    let w = &s.withdrawal;
    let Ok(key) = canonicalize(&w.chain, &w.destination) else {
        return Decision::hold("naive.unscreenable", "cannot be screened");
    };
    let hit = s
        .lists
        .iter()
        .any(|l| canonicalize_any(&l.address).is_ok_and(|c| c.key() == key.key()));
    if hit {
        Decision::deny("naive.hit", "listed")
    } else {
        Decision::allow()
    }
}

#[test]
fn reading_lists_by_inference_alone_misses_cross_family_spellings() {
    let f = expect_failure(
        properties::try_listed_is_never_allowed(inferred_lists, config(3_000)),
        "listed_is_never_allowed",
    );
    // The minimal case is one of the families whose spellings cross key
    // spaces.
    assert!(
        [
            "bitcoin-cash",
            "bch",
            "bitcoincash",
            "litecoin",
            "ltc",
            "verge",
            "xvg",
            "dogecoin",
            "doge"
        ]
        .iter()
        .any(|c| f.minimal.contains(&format!("chain: \"{c}\""))),
        "{f}"
    );
}

#[test]
fn a_deny_without_evidence_fails_listed_is_denied_only() {
    let bare_deny = |s: &Scenario| {
        let mut d = reference(s);
        for r in &mut d.reasons {
            r.evidence.clear();
        }
        d
    };
    properties::listed_is_never_allowed(bare_deny, config(100));
    expect_failure(
        properties::try_listed_is_denied(bare_deny, config(100)),
        "listed_is_denied",
    );
}

#[test]
fn denying_everything_fails_unlisted_is_never_denied() {
    let deny_all = |_: &Scenario| Decision::deny("all.deny", "everything");
    expect_failure(
        properties::try_unlisted_is_never_denied(deny_all, config(100)),
        "unlisted_is_never_denied",
    );
    // Citing a list the destination is not on fails too.
    let cite = |s: &Scenario| {
        let mut d = reference(s);
        d.push(
            Verdict::Hold,
            Reason::new("cite.wrong", "cited").with_evidence(vec![Evidence {
                list: "x".into(),
                list_version: "1".into(),
                label: None,
                address: s.withdrawal.destination.clone(),
            }]),
        );
        d
    };
    expect_failure(
        properties::try_unlisted_is_never_denied(cite, config(100)),
        "unlisted_is_never_denied",
    );
}

#[test]
fn allowing_what_cannot_be_screened_fails() {
    let lenient = |s: &Scenario| {
        let w = &s.withdrawal;
        match canonicalize(&w.chain, &w.destination) {
            Ok(_) => reference(s),
            Err(_) => Decision::allow(),
        }
    };
    let f = expect_failure(
        properties::try_unscreenable_is_never_allowed(lenient, config(100)),
        "unscreenable_is_never_allowed",
    );
    assert!(f.reason.contains("cannot be screened"), "{f}");
}

#[test]
fn ignoring_a_failing_store_fails_faults_never_allow() {
    let ignores = |s: &Scenario| {
        let mut s = s.clone();
        s.window_error = None;
        reference(&s)
    };
    expect_failure(
        properties::try_faults_never_allow(ignores, config(100)),
        "faults_never_allow",
    );
}

#[test]
fn a_decider_with_state_fails_deterministic() {
    // Remembers how many withdrawals it has seen: the second decision of
    // the same scenario differs.
    let seen = Cell::new(0u64);
    let counting = |s: &Scenario| {
        seen.set(seen.get() + 1);
        let mut d = reference(s);
        d.push(
            Verdict::Allow,
            Reason::new("count.seen", seen.get().to_string()),
        );
        d
    };
    expect_failure(
        properties::try_deterministic(counting, config(50)),
        "deterministic",
    );
    // One that only flips a verdict now and then is caught too.
    let calls = Cell::new(0u64);
    let flaky = |s: &Scenario| {
        calls.set(calls.get() + 1);
        if calls.get().is_multiple_of(7) {
            Decision::hold("flaky.hold", "sometimes")
        } else {
            reference(s)
        }
    };
    expect_failure(
        properties::try_deterministic(flaky, config(200)),
        "deterministic",
    );
}

#[test]
fn a_decider_that_disagrees_with_the_model_fails() {
    // Forgets to hold unscreenable destinations.
    let off = |s: &Scenario| {
        let w = &s.withdrawal;
        if s.window_error.is_none() && canonicalize(&w.chain, &w.destination).is_err() {
            Decision::allow()
        } else {
            reference(s)
        }
    };
    let f = expect_failure(
        properties::try_agrees_with_model_over(properties::any_scenario(), off, model, config(300)),
        "agrees_with_model",
    );
    assert!(f.reason.contains("Hold"), "{f}");
    // Over the author's own scenarios: a model that is wrong about one
    // family fails there.
    let wrong_model = |s: &Scenario| {
        if s.withdrawal.chain == "solana" && is_listed(s) == Some(false) && s.window_error.is_none()
        {
            Verdict::Hold
        } else {
            model(s)
        }
    };
    expect_failure(
        properties::try_agrees_with_model_over(
            riskgate_testkit::strategy::unlisted_scenario(),
            reference,
            wrong_model,
            config(500),
        ),
        "agrees_with_model",
    );
}
