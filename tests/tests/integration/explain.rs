//! Explained decisions (`Gate::evaluate_explained`): the same decision as
//! without the explanation, each policy's own answer, fuel and host calls
//! in order with the host's answers, bounded; a guest panic's message in
//! the fault's detail; shadow disagreements over a trace.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use riskgate::explain::{Explanation, HostCall, LogLevel, RECORDED_CALLS_MAX, ScreenFailure};
use riskgate::model::Verdict;
use riskgate::screening::Screener;
use riskgate::{Decision, Gate, Mode, Withdrawal, bundled, shadow_disagreements};
use riskgate_tests::*;
use std::cell::RefCell;
use std::collections::BTreeSet;

const CLEAN: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
/// On the bundled sample list.
const LAZARUS: &str = "0x098b716b8aaf21512996dc57eb0615e2383e2f96";

fn chain_gate(shadow: bool) -> Gate {
    builder(
        vec![sanctions("{}"), velocity("{}")],
        bundled::sample_screener(),
    )
    .policy_in(
        hostile("{}"),
        if shadow { Mode::Shadow } else { Mode::Enforce },
    )
    .build()
    .expect("gate builds")
    .0
}

/// The decision without its timing, which differs from run to run.
fn timeless(mut d: Decision) -> Decision {
    d.latency_ns = 0;
    d
}

fn arbitrary_withdrawal() -> impl Strategy<Value = Withdrawal> {
    let prefix = prop::sample::select(vec![
        "",
        "hold-",
        "trap-",
        "panic-p-",
        "hit-trap-",
        "hit-",
        "calls-",
        "recurse-",
        "many-3-",
        "burn-50-",
    ]);
    let destination = prop::sample::select(vec![CLEAN, LAZARUS, "0xnot-an-address"]);
    (
        prefix,
        0u32..1_000_000,
        0u8..4,
        destination,
        prop::sample::select(vec![1u64, 1_000, u64::MAX / 4]),
        any::<bool>(),
        0u64..(2 * DAY),
    )
        .prop_map(|(prefix, n, account, dest, amount, new_dest, dt)| {
            let mut w = withdrawal(
                &format!("{prefix}{n}"),
                &format!("acct-{account}"),
                "ethereum",
                dest,
                amount,
                T0 + dt,
            );
            if new_dest {
                w.destination_first_used_at = None;
            }
            w
        })
}

/// Two gates built alike, each on its own store, see the same stream: one
/// decides plainly, the other explains. Every decision is the same (and
/// both stores record the same), over allows, holds, denies, faults,
/// panics, hits and replayed ids, with the hostile policy enforced or in
/// shadow.
#[test]
fn an_explained_decision_is_the_decision() {
    for shadow in [false, true] {
        let plain = chain_gate(shadow);
        let explained = chain_gate(shadow);
        let seen = RefCell::new(BTreeSet::new());
        let faults = RefCell::new(BTreeSet::new());
        let mut runner = TestRunner::new(Config {
            cases: 24,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(
                &prop::collection::vec(arbitrary_withdrawal(), 1..24),
                |stream| {
                    for w in &stream {
                        let d = timeless(plain.evaluate(w));
                        let mut trace = Vec::new();
                        let mut explanation = Explanation::default();
                        let e = timeless(explained.evaluate_explained_traced(
                            w,
                            &mut trace,
                            &mut explanation,
                        ));
                        prop_assert_eq!(&d, &e, "{:?}", w);
                        prop_assert_eq!(explanation.policies.len(), trace.len());
                        for (p, t) in explanation.policies.iter().zip(&trace) {
                            prop_assert_eq!(p.verdict, t.verdict);
                            prop_assert_eq!(p.fault.is_some(), t.fault);
                            prop_assert_eq!(p.fuel, t.fuel);
                            prop_assert_eq!(p.mode, t.mode);
                        }
                        seen.borrow_mut().insert(d.verdict);
                        for p in &explanation.policies {
                            if let Some(f) = &p.fault {
                                faults.borrow_mut().insert(f.code.clone());
                            }
                        }
                    }
                    Ok(())
                },
            )
            .unwrap();
        // The stream reached every kind of decision.
        let (seen, faults) = (seen.into_inner(), faults.into_inner());
        for v in [Verdict::Allow, Verdict::Hold, Verdict::Deny] {
            assert!(seen.contains(&v), "shadow={shadow}: no {v} in {seen:?}");
        }
        assert!(faults.contains("gate.policy_fault"), "{faults:?}");
    }
}

#[test]
fn each_policy_is_explained_with_its_host_calls_in_order() {
    let g = gate(
        vec![sanctions("{}"), velocity("{}"), hostile("{}")],
        bundled::sample_screener(),
    );
    let w = withdrawal("calls-1", "a", "ethereum", LAZARUS, 1, T0);
    let (d, ex) = g.evaluate_explained(&w);
    assert_eq!(d.verdict, Verdict::Deny, "{d:?}");
    let names: Vec<&str> = ex.policies.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["sanctions", "velocity", "hostile"]);
    for (p, policy) in ex.policies.iter().zip(g.policies()) {
        assert_eq!(p.version, policy.version());
        assert_eq!(p.sha256, hex::encode(policy.sha256()));
        assert_eq!(p.mode, Mode::Enforce);
        assert!(p.fuel > 0, "{p:?}");
        assert!(p.wall_ns > 0, "{p:?}");
        assert!(p.fault.is_none(), "{p:?}");
        assert_eq!(p.calls_dropped, 0);
    }

    let sanctions = &ex.policies[0];
    assert_eq!(sanctions.verdict, Verdict::Deny);
    assert_eq!(sanctions.hits, d.hits);
    assert!(
        sanctions
            .reasons
            .iter()
            .all(|r| r.policy.as_deref() == Some("sanctions"))
    );
    match &sanctions.calls[0] {
        HostCall::Screen {
            chain,
            address,
            hits: Some(hits),
            error: None,
        } => {
            assert_eq!((chain.as_str(), address.as_str()), ("ethereum", LAZARUS));
            assert_eq!(hits, &d.hits);
        }
        other => panic!("{other:?}"),
    }

    // The velocity policy asks windows and gets the (empty) store's stats.
    let velocity = &ex.policies[1];
    assert!(
        velocity.calls.iter().any(|c| matches!(
            c,
            HostCall::Window {
                stats: Some(s),
                error: None,
                ..
            } if s.count == 0
        )),
        "{:?}",
        velocity.calls
    );

    // The hostile policy's four calls, in the order it made them.
    let hostile = &ex.policies[2];
    assert_eq!(hostile.verdict, Verdict::Allow);
    assert_eq!(hostile.calls.len(), 4, "{:?}", hostile.calls);
    assert!(matches!(&hostile.calls[0], HostCall::Screen { hits: Some(h), .. } if !h.is_empty()));
    assert!(matches!(
        &hostile.calls[1],
        HostCall::Screen {
            hits: None,
            error: Some(ScreenFailure::UnsupportedChain(m)),
            ..
        } if m.contains("nochain")
    ));
    assert!(matches!(
        &hostile.calls[2],
        HostCall::Window {
            window_ms: 86_400_000,
            stats: Some(_),
            ..
        }
    ));
    assert_eq!(
        hostile.calls[3],
        HostCall::Log {
            level: LogLevel::Info,
            message: "hostile: calls".into()
        }
    );

    // The documented JSON shape, and a round trip.
    let json = serde_json::to_value(&ex).unwrap();
    let calls = &json["policies"][2]["calls"];
    assert_eq!(calls[0]["call"], "screen");
    assert_eq!(calls[0]["hits"][0]["list"], d.hits[0].list.as_str());
    assert_eq!(calls[1]["error"]["kind"], "unsupported_chain");
    assert_eq!(calls[2]["call"], "window");
    assert_eq!(calls[2]["scope"], "account");
    assert_eq!(calls[2]["stats"]["count"], 0);
    assert_eq!(calls[3]["call"], "log");
    assert_eq!(calls[3]["level"], "info");
    assert_eq!(json["policies"][0]["mode"], "enforce");
    assert_eq!(json["policies"][0]["verdict"], "deny");
    assert!(json["policies"][0].get("fault").is_none());
    assert!(json["policies"][0]["fuel"].as_u64().unwrap() > 0);
    let back: Explanation = serde_json::from_value(json).unwrap();
    assert_eq!(back, ex);
}

#[test]
fn a_guest_panic_message_reaches_the_hold_reason_and_the_explanation() {
    let g = gate(vec![hostile("{}")], Screener::default());
    let w = withdrawal("panic-boom-42", "a", "ethereum", CLEAN, 1, T0);
    let (d, ex) = g.evaluate_explained(&w);
    assert_eq!(d.verdict, Verdict::Hold);
    let fault = d
        .reasons
        .iter()
        .find(|r| r.code == "gate.policy_fault")
        .unwrap_or_else(|| panic!("{d:?}"));
    assert!(
        fault.detail.contains("panicked at ")
            && fault.detail.contains("hostile guest panics: boom-42"),
        "{}",
        fault.detail
    );
    // The same without explaining.
    let plain = g.evaluate(&withdrawal("panic-boom-42", "a", "ethereum", CLEAN, 1, T0));
    assert_eq!(plain.reasons, d.reasons);

    let p = &ex.policies[0];
    let f = p.fault.as_ref().expect("a fault");
    assert_eq!(f.code, "gate.policy_fault");
    assert_eq!(f.detail, fault.detail);
    assert!(
        p.calls.iter().any(|c| matches!(
            c,
            HostCall::Log { level: LogLevel::Warn, message }
                if message.starts_with("panicked at ") && message.contains("boom-42")
        )),
        "{:?}",
        p.calls
    );

    // A panic after a screened hit: DENY on the hit, the message kept.
    let g = gate(vec![hostile("{}")], bundled::sample_screener());
    let d = g.evaluate(&withdrawal("hit-panic-x", "a", "ethereum", LAZARUS, 1, T0));
    assert_eq!(d.verdict, Verdict::Deny, "{d:?}");
    assert!(
        d.reasons
            .iter()
            .any(|r| r.code == "gate.policy_fault" && r.detail.contains("hostile guest panics: x")),
        "{d:?}"
    );
}

#[test]
fn a_long_panic_message_is_bounded() {
    let g = gate(vec![hostile("{}")], Screener::default());
    let d = g.evaluate(&withdrawal("panic-long-1", "a", "ethereum", CLEAN, 1, T0));
    let detail = &d.reasons[0].detail;
    assert!(
        detail.contains("hostile guest panics: long-1zzz"),
        "{detail}"
    );
    // The message is cut at 512 characters, within a bounded detail.
    assert!(detail.ends_with("zzz…"), "{detail}");
    assert!(detail.chars().count() < 1024, "{}", detail.chars().count());
}

#[test]
fn recorded_calls_are_capped_and_the_rest_counted() {
    let g = gate(vec![hostile("{}")], Screener::default());
    let (d, ex) = g.evaluate_explained(&withdrawal("many-300-", "a", "ethereum", CLEAN, 1, T0));
    assert_eq!(d.verdict, Verdict::Allow, "{d:?}");
    let p = &ex.policies[0];
    assert_eq!(p.calls.len(), RECORDED_CALLS_MAX);
    assert_eq!(p.calls_dropped, 300 - RECORDED_CALLS_MAX as u64);

    // A log flood (until its fuel runs out): the lines the host keeps,
    // the rest counted.
    let (_, ex) = g.evaluate_explained(&withdrawal("log-1", "a", "ethereum", CLEAN, 1, T0));
    let p = &ex.policies[0];
    assert_eq!(p.calls.len(), 32);
    assert!(p.calls.iter().all(|c| matches!(
        c,
        HostCall::Log { level: LogLevel::Warn, message }
            if message.starts_with("flood ") && message.chars().count() <= 1024
    )));
    assert!(p.calls_dropped > 100, "{}", p.calls_dropped);
}

#[test]
fn nothing_is_explained_when_no_policy_runs() {
    let g = gate(vec![hostile("{}")], Screener::default());
    let mut bad = withdrawal("bad", "a", "ethereum", CLEAN, 1, T0);
    bad.account = String::new();
    let (d, ex) = g.evaluate_explained(&bad);
    assert_eq!(d.reasons[0].code, "gate.bad_input");
    assert!(ex.policies.is_empty());
    // A replayed id: the recorded decision, no policy ran.
    let w = withdrawal("once", "a", "ethereum", CLEAN, 1, T0);
    let (_, first) = g.evaluate_explained(&w);
    assert_eq!(first.policies.len(), 1);
    let (d, ex) = g.evaluate_explained(&w);
    assert!(d.replayed);
    assert!(ex.policies.is_empty());
}

#[test]
fn faults_are_explained_with_their_code() {
    let g = builder(vec![sanctions("{}")], bundled::sample_screener())
        .policy_in(hostile("{}"), Mode::Shadow)
        .build()
        .unwrap()
        .0;
    let (d, ex) = g.evaluate_explained(&withdrawal("loop-1", "a", "ethereum", CLEAN, 1, T0));
    // A shadow fault never changes the decision, but it is explained.
    assert_eq!(d.verdict, Verdict::Allow, "{d:?}");
    let p = &ex.policies[1];
    assert_eq!(p.mode, Mode::Shadow);
    assert_eq!(p.verdict, Verdict::Hold);
    let f = p.fault.as_ref().unwrap();
    assert_eq!(f.code, "gate.fuel_exhausted");
    assert!(f.detail.contains("fuel exhausted"), "{}", f.detail);
    assert_eq!(p.fuel, g.policies()[1].fuel());
}

#[test]
fn shadow_disagreements_compare_each_shadow_verdict_with_the_decision() {
    let g = builder(vec![sanctions("{}")], bundled::sample_screener())
        .policy_in(hostile("{}"), Mode::Shadow)
        .build()
        .unwrap()
        .0;
    let mut trace = Vec::new();
    // The shadow policy holds, the decision allows.
    let d = g.evaluate_traced(
        &withdrawal("hold-1", "a", "ethereum", CLEAN, 1, T0),
        &mut trace,
    );
    let found: Vec<_> = shadow_disagreements(d.verdict, &trace).collect();
    assert_eq!(found.len(), 1, "{trace:?}");
    assert_eq!(found[0].index, 1);
    assert_eq!(g.policies()[found[0].index].name(), "hostile");
    assert_eq!(
        (found[0].enforced, found[0].shadow),
        (Verdict::Allow, Verdict::Hold)
    );
    // Both allow: none.
    let d = g.evaluate_traced(
        &withdrawal("ok-1", "a", "ethereum", CLEAN, 1, T0),
        &mut trace,
    );
    assert_eq!(shadow_disagreements(d.verdict, &trace).count(), 0);
    // The decision denies, the shadow allows.
    let d = g.evaluate_traced(
        &withdrawal("ok-2", "a", "ethereum", LAZARUS, 1, T0),
        &mut trace,
    );
    let found: Vec<_> = shadow_disagreements(d.verdict, &trace).collect();
    assert_eq!(
        found
            .iter()
            .map(|s| (s.enforced, s.shadow))
            .collect::<Vec<_>>(),
        [(Verdict::Deny, Verdict::Allow)]
    );
    // No policy ran (bad input): none.
    let mut bad = withdrawal("bad", "a", "ethereum", CLEAN, 1, T0);
    bad.asset = String::new();
    let d = g.evaluate_traced(&bad, &mut trace);
    assert_eq!(shadow_disagreements(d.verdict, &trace).count(), 0);
}
