//! Fuel: the deterministic budget of a policy call. The same input and host
//! answers always fault or never do, whatever the load; the wall-clock
//! deadline is only a backstop; a designated hit the host answered before a
//! fault still denies. No test here measures time.

use riskgate::engine::DEFAULT_FUEL;
use riskgate::model::{GateCode, Verdict};
use riskgate::screening::Screener;
use riskgate::velocity::Velocity;
use riskgate::{Decision, Gate, Limits, PolicyOutcome, Withdrawal, bundled};
use riskgate_bench::demo::generate;
use riskgate_serve::config::Config;
use riskgate_tests::*;
use std::sync::Arc;
use std::time::Duration;

const CLEAN: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const LAZARUS: &str = "0x098b716b8aaf21512996dc57eb0615e2383e2f96";

fn codes(d: &Decision) -> Vec<&str> {
    d.reasons.iter().map(|r| r.code.as_str()).collect()
}

fn traced(g: &Gate, w: &Withdrawal) -> (Decision, Vec<PolicyOutcome>) {
    let mut trace = Vec::new();
    let d = g.evaluate_traced(w, &mut trace);
    (d, trace)
}

/// A gate of `policies` whose only limit that matters is fuel: the
/// wall-clock backstop is far out of reach.
fn fuel_gate(policies: Vec<riskgate::PolicySource>, fuel: u64, screener: Screener) -> Gate {
    builder(policies, screener)
        .limits(Limits {
            fuel,
            deadline: Duration::from_secs(30),
            ..Limits::default()
        })
        .build()
        .expect("gate builds")
        .0
}

#[test]
fn fuel_exhaustion_is_deterministic_across_instance_reuse() {
    let g = fuel_gate(vec![hostile("{}")], 1_000_000, Screener::default());
    // A fixed amount of work well within the budget: never a fault, and the
    // same fuel on every call, on a reused or a rebuilt instance.
    let within = |i: u64| withdrawal(&format!("burn-2000-{i:04}"), "a", "ethereum", CLEAN, 1, T0);
    // The same work, far over the budget: a fault every time.
    let over = |i: u64| {
        withdrawal(
            &format!("burn-9000000-{i:04}"),
            "a",
            "ethereum",
            CLEAN,
            1,
            T0,
        )
    };
    let (first, trace) = traced(&g, &within(0));
    assert_eq!(first.verdict, Verdict::Allow, "{first:?}");
    let fuel = trace[0].fuel;
    assert!(fuel > 0 && fuel < 1_000_000, "{fuel}");
    for i in 1..60 {
        let (d, trace) = if i % 3 == 0 {
            traced(&g, &over(i))
        } else if i % 7 == 0 {
            traced(
                &g,
                &withdrawal(&format!("loop-{i:04}"), "a", "ethereum", CLEAN, 1, T0),
            )
        } else {
            traced(&g, &within(i))
        };
        if i % 3 == 0 || i % 7 == 0 {
            assert_eq!(d.verdict, Verdict::Hold, "{i}: {d:?}");
            assert_eq!(codes(&d), ["gate.fuel_exhausted"], "{i}: {d:?}");
            assert_eq!(
                trace[0].fault_code.map(GateCode::as_str),
                Some("gate.fuel_exhausted")
            );
            assert!(d.reasons[0].detail.contains("budget 1000000"), "{d:?}");
            // It burnt its whole budget, to the unit.
            assert_eq!(trace[0].fuel, 1_000_000);
        } else {
            assert_eq!(d.verdict, Verdict::Allow, "{i}: {d:?}");
            assert_eq!(trace[0].fuel, fuel, "call {i} burnt other fuel");
        }
    }
}

#[test]
fn a_bundled_policy_burns_the_same_fuel_for_the_same_input() {
    // Both bundled policies, a reused instance each, the same withdrawal
    // (same lengths, same host answers) under ids of one length.
    let g = fuel_gate(
        vec![sanctions("{}"), velocity("{}")],
        DEFAULT_FUEL,
        bundled::sample_screener(),
    );
    // The first call on a fresh instance may differ by a few percent (the
    // guest allocator grows its heap for the first `windows` answer); from
    // then on, to the unit.
    let mut first_call: Option<Vec<u64>> = None;
    let mut seen: Option<Vec<u64>> = None;
    for i in 0..40 {
        let mut w = withdrawal(&format!("same-{i:04}"), "a", "ethereum", LAZARUS, 1, T0);
        // Denied, so nothing is recorded and the windows stay the same.
        w.destination_first_used_at = None;
        let (d, trace) = traced(&g, &w);
        assert_eq!(d.verdict, Verdict::Deny, "{d:?}");
        let fuel: Vec<u64> = trace.iter().map(|o| o.fuel).collect();
        if i == 0 {
            first_call = Some(fuel);
            continue;
        }
        let first = first_call.as_ref().unwrap();
        for (a, b) in fuel.iter().zip(first) {
            assert!(
                a.abs_diff(*b) * 100 <= *b * 5,
                "call {i}: {fuel:?} vs {first:?}"
            );
        }
        match &seen {
            None => seen = Some(fuel),
            Some(steady) => assert_eq!(&fuel, steady, "call {i}"),
        }
    }
}

#[test]
fn a_tiny_budget_makes_a_bundled_policy_fault_every_time() {
    let g = gate(
        vec![sanctions("{}"), velocity("{}").with_fuel(2_000)],
        bundled::sample_screener(),
    );
    assert_eq!(g.policies()[0].fuel(), DEFAULT_FUEL);
    assert_eq!(g.policies()[1].fuel(), 2_000);
    for i in 0..5 {
        let d = g.evaluate(&withdrawal(
            &format!("tiny-{i}"),
            "a",
            "ethereum",
            CLEAN,
            1,
            T0 + i,
        ));
        assert_eq!(d.verdict, Verdict::Hold, "{d:?}");
        assert_eq!(codes(&d), ["gate.fuel_exhausted"], "{d:?}");
        assert_eq!(d.reasons[0].policy.as_deref(), Some("velocity"));
    }
    // The other policy's verdict still counts.
    let d = g.evaluate(&withdrawal("tiny-hit", "a", "ethereum", LAZARUS, 1, T0));
    assert_eq!(d.verdict, Verdict::Deny, "{d:?}");
    assert!(codes(&d).contains(&"gate.fuel_exhausted"), "{d:?}");
}

#[test]
fn the_backstop_fires_only_past_the_deadline_with_its_own_reason() {
    // Fuel effectively unlimited, a tiny deadline: an endless loop is
    // stopped by the wall clock, and says so.
    let (g, _) = builder(vec![hostile("{}")], Screener::default())
        .limits(Limits {
            fuel: u64::MAX / 2,
            deadline: Duration::from_millis(2),
            ..Limits::default()
        })
        .build()
        .unwrap();
    for i in 0..3 {
        let (d, trace) = traced(
            &g,
            &withdrawal(&format!("loop-bs-{i}"), "a", "ethereum", CLEAN, 1, T0),
        );
        assert_eq!(d.verdict, Verdict::Hold, "{d:?}");
        assert_eq!(codes(&d), ["gate.deadline_backstop"], "{d:?}");
        assert_eq!(
            trace[0].fault_code.map(GateCode::as_str),
            Some("gate.deadline_backstop")
        );
    }
}

#[test]
fn a_designated_hit_before_a_fault_denies() {
    // The hostile guest screens the destination, then misbehaves: the host
    // answered a hit, so the decision is DENY with it, beside the fault.
    let g = fuel_gate(
        vec![hostile("{}")],
        DEFAULT_FUEL,
        bundled::sample_screener(),
    );
    for (id, fault) in [
        ("hit-loop-1", "gate.fuel_exhausted"),
        ("hit-trap-1", "gate.policy_fault"),
        ("hit-grow-1", "gate.fuel_exhausted"),
        ("hit-recurse-1", "gate.policy_fault"),
    ] {
        let d = g.evaluate(&withdrawal(id, "a", "ethereum", LAZARUS, 1, T0));
        assert_eq!(d.verdict, Verdict::Deny, "{id}: {d:?}");
        assert_eq!(codes(&d), [fault, "gate.designated_hit"], "{id}: {d:?}");
        assert_eq!(d.hits.len(), 1, "{d:?}");
        assert!(d.hits[0].address.eq_ignore_ascii_case(LAZARUS), "{d:?}");
        // No hit, no deny: the same fault on a clean destination holds.
        let d = g.evaluate(&withdrawal(id, "a", "ethereum", CLEAN, 1, T0));
        assert_eq!(d.verdict, Verdict::Hold, "{id}: {d:?}");
        assert_eq!(codes(&d), [fault], "{id}: {d:?}");
        assert!(d.hits.is_empty());
    }
    // The backstop too.
    let (g, _) = builder(vec![hostile("{}")], bundled::sample_screener())
        .limits(Limits {
            fuel: u64::MAX / 2,
            deadline: Duration::from_millis(2),
            ..Limits::default()
        })
        .build()
        .unwrap();
    let d = g.evaluate(&withdrawal("hit-loop-bs", "a", "ethereum", LAZARUS, 1, T0));
    assert_eq!(d.verdict, Verdict::Deny, "{d:?}");
    assert_eq!(
        codes(&d),
        ["gate.deadline_backstop", "gate.designated_hit"],
        "{d:?}"
    );
}

#[test]
fn a_deny_stays_a_deny_whichever_policy_faults_first() {
    let screener = bundled::sample_screener();
    for policies in [
        vec![hostile("{}"), sanctions("{}")],
        vec![sanctions("{}"), hostile("{}")],
    ] {
        let g = fuel_gate(policies, DEFAULT_FUEL, screener.clone());
        for id in ["loop-o", "trap-o", "grow-o", "recurse-o"] {
            let d = g.evaluate(&withdrawal(id, "a", "ethereum", LAZARUS, 1, T0));
            assert_eq!(d.verdict, Verdict::Deny, "{id}: {d:?}");
            assert!(codes(&d).contains(&"sanctions.hit"), "{d:?}");
            assert!(d.has_gate_reason(), "{d:?}");
        }
    }
}

/// The most fuel each bundled policy burns on `w` through `g`.
fn burn(g: &Gate, w: &Withdrawal, worst: &mut [u64; 2], what: &str) {
    let (d, trace) = traced(g, w);
    assert!(
        !trace.iter().any(|o| o.fault),
        "{what}: a bundled policy faulted: {d:?}"
    );
    for (i, o) in trace.iter().enumerate() {
        worst[i] = worst[i].max(o.fuel);
    }
    eprintln!(
        "{what}: sanctions {} velocity {} ({} reasons)",
        trace[0].fuel,
        trace[1].fuel,
        d.reasons.len()
    );
}

/// How the default budget was sized: the bundled policies' worst case over
/// the demo stream and adversarial-but-legal inputs, which must stay at
/// most a tenth of [`DEFAULT_FUEL`]. Fuel is deterministic, so this is an
/// exact check, not a timing.
#[test]
fn the_default_budget_is_ten_times_the_bundled_worst_case() {
    let designated = bundled::sample_addresses();
    let velocity_store = Arc::new(Velocity::memory(riskgate::velocity::DEFAULT_RETENTION_MS));
    let g = fuel_gate(
        vec![sanctions("{}"), velocity("{}")],
        DEFAULT_FUEL,
        bundled::sample_screener(),
    );
    // The demo stream.
    let mut demo = [0u64; 2];
    for item in generate(20_000, 2025, &designated) {
        let (_, trace) = traced(&g, &item.withdrawal);
        assert!(!trace.iter().any(|o| o.fault));
        for (i, o) in trace.iter().enumerate() {
            demo[i] = demo[i].max(o.fuel);
        }
    }
    eprintln!(
        "demo stream (20k): sanctions max {} velocity max {}",
        demo[0], demo[1]
    );

    // Adversarial but legal: every string at its cap, an account whose
    // every window is over its limit, a destination on three lists with
    // long labels.
    let long_label = "L".repeat(200);
    let lists = ["one", "two", "three"].map(|name| {
        let text = format!("{LAZARUS} {long_label}\n");
        riskgate::screening::DesignatedSet::from_plain_text(
            name,
            Some("v"),
            "test",
            &text,
            riskgate::screening::DEFAULT_FP_RATE,
        )
        .unwrap()
        .0
    });
    let screener = Screener::new(lists.into());
    // Fill the windows through a chain that never holds.
    let filler = builder(
        vec![velocity(
            r#"{"rules": [], "new_destination_hours": 0, "credential_change_hours": 0}"#,
        )],
        Screener::default(),
    )
    .velocity(velocity_store.clone())
    .build()
    .unwrap()
    .0;
    let account = "A".repeat(128);
    for i in 0..150 {
        let mut w = withdrawal(
            &format!("fill-{i}"),
            &account,
            "ethereum",
            LAZARUS,
            1,
            T0 - 60_000 + i,
        );
        w.usd_cents = Some(1_000_000_000);
        assert_eq!(filler.evaluate(&w).verdict, Verdict::Allow);
    }
    let many_rules = {
        let scopes = [
            "account",
            "account-asset",
            "destination",
            "account-destination",
            "asset",
        ];
        let metrics = ["max_count", "max_sum", "max_usd_cents"];
        let rules: Vec<String> = (0..60)
            .map(|i| {
                format!(
                    r#"{{"name": "rule_{i}_{}", "scope": "{}", "window": "{}h", "{}": 1}}"#,
                    "x".repeat(40),
                    scopes[i % scopes.len()],
                    1 + i,
                    metrics[i % metrics.len()]
                )
            })
            .collect();
        format!(r#"{{"rules": [{}]}}"#, rules.join(","))
    };
    let mut worst = [0u64; 2];
    // 60 rules, each over its limit: with the two other holds, as many
    // reasons as a policy may give (64) and nearly the window budget (64).
    let mut worst_60 = [0u64; 2];
    for (n, (config, worst)) in [("{}".to_string(), &mut worst), (many_rules, &mut worst_60)]
        .into_iter()
        .enumerate()
    {
        // Ids of one config's run, each at the cap.
        let id = |c: char| format!("{n}{}", c.to_string().repeat(127));
        let g = builder(vec![sanctions("{}"), velocity(&config)], screener.clone())
            .velocity(velocity_store.clone())
            .limits(Limits {
                deadline: Duration::from_secs(30),
                ..Limits::default()
            })
            .build()
            .unwrap()
            .0;
        let mut w = withdrawal(&id('i'), &account, "ethereum", LAZARUS, u64::MAX, T0);
        w.asset = "E".repeat(32);
        w.usd_cents = Some(u64::MAX);
        w.credential_changed_at = Some(T0 - 1);
        w.account_created_at = Some(T0 - 1);
        w.destination_first_used_at = Some(T0 - 1);
        burn(&g, &w, worst, "caps, every window over, three lists");
        w.usd_cents = None;
        w.id = id('j');
        burn(&g, &w, worst, "caps, no USD value");
        w.destination = format!("0x{}", "9".repeat(254));
        w.id = id('k');
        burn(&g, &w, worst, "caps, invalid 256-byte address");
        w.chain = "c".repeat(32);
        w.id = id('l');
        burn(&g, &w, worst, "caps, unsupported 32-byte chain");
    }
    eprintln!(
        "worst case: sanctions {} velocity {} (default rules); velocity {} with 60 rules; budget {DEFAULT_FUEL}",
        worst[0], worst[1], worst_60[1]
    );
    let bundled_worst = demo.into_iter().chain(worst).max().unwrap();
    assert!(
        bundled_worst.saturating_mul(10) <= DEFAULT_FUEL,
        "the default fuel {DEFAULT_FUEL} is less than 10x the bundled worst case {bundled_worst}"
    );
    // Even the operator's largest legal rule set fits the default budget.
    assert!(worst_60[1] < DEFAULT_FUEL, "{worst_60:?}");
}

#[test]
fn fuel_is_set_per_policy_with_a_default_in_limits() {
    let c = Config::parse(
        "velocity = \"memory\"\n[limits]\nfuel = 3000000\nmax_clock_skew_ms = 0\n\
         [[policy]]\nbundled = \"sanctions\"\n[[policy]]\nbundled = \"velocity\"\nfuel = 1500",
    )
    .unwrap();
    assert_eq!(c.engine_limits().fuel, 3_000_000);
    assert_eq!(c.policies[1].fuel, Some(1500));
    let built = c.build(Arc::default()).unwrap();
    let fuel: Vec<u64> = built.gate.policies().iter().map(|p| p.fuel()).collect();
    assert_eq!(fuel, [3_000_000, 1500]);
    let w: riskgate::Withdrawal = serde_json::from_str(
        r#"{"id":"w-1","account":"a","asset":"ETH","chain":"ethereum","destination":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","amount":1,"requested_at":1795564800000}"#,
    )
    .unwrap();
    let d = built.gate.evaluate(&w);
    assert_eq!(d.verdict, riskgate::Verdict::Hold, "{d:?}");
    assert_eq!(d.reasons[0].code, "gate.fuel_exhausted", "{d:?}");
    assert_eq!(d.reasons[0].policy.as_deref(), Some("velocity"));
    assert_eq!(Config::default().engine_limits(), Limits::default());
    let e = Config::parse("[[policy]]\nbundled = \"velocity\"\nfuel = 0")
        .unwrap_err()
        .to_string();
    assert!(e.contains("`fuel` must be positive"), "{e}");
}
