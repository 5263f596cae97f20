//! Hostile guests: every misbehaviour is a HOLD with a `gate.*` reason
//! (`gate.fuel_exhausted` for a runaway, `gate.policy_fault` for a trap,
//! memory or stack fault) or a refusal at load; the host survives and the
//! next call is served.

use riskgate::model::Verdict;
use riskgate::screening::Screener;
use riskgate::{Gate, LoadError, bundled};
use riskgate_tests::*;
use std::sync::atomic::Ordering;

const CLEAN: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

fn hostile_gate() -> Gate {
    // The hostile guest after the real sanctions policy: a fault must not
    // hide the sanctions verdict, nor turn into an allow.
    gate(
        vec![sanctions("{}"), hostile("{}")],
        bundled::sample_screener(),
    )
}

#[test]
fn the_default_fuel_catches_a_runaway_guest() {
    let defaults = riskgate::Limits::default();
    assert_eq!(defaults.fuel, riskgate::engine::DEFAULT_FUEL);
    assert_eq!(defaults.deadline, std::time::Duration::from_millis(50));
    let (g, _) = Gate::builder()
        .policy(hostile("{}"))
        .max_clock_skew(None)
        .build()
        .unwrap();
    let d = g.evaluate(&withdrawal("loop-default", "a", "ethereum", CLEAN, 1, T0));
    assert_eq!(d.reasons[0].code, "gate.fuel_exhausted", "{d:?}");
    assert!(fault_of(&d).contains("fuel exhausted"), "{d:?}");
}

/// The detail of the decision's gate fault reason.
fn fault_of(d: &riskgate::Decision) -> &str {
    let r = d
        .reasons
        .iter()
        .find(|r| {
            matches!(
                r.code.as_str(),
                "gate.policy_fault" | "gate.fuel_exhausted" | "gate.deadline_backstop"
            )
        })
        .unwrap_or_else(|| panic!("no gate fault reason in {d:?}"));
    &r.detail
}

#[test]
fn every_fault_holds_and_the_next_call_is_served() {
    let g = hostile_gate();
    let cases = [
        ("loop-1", "fuel exhausted"),
        ("grow-1", "fuel exhausted"),
        ("recurse-1", ""),
        ("trap-1", "trap"),
    ];
    for (i, (id, expected)) in cases.iter().enumerate() {
        let d = g.evaluate(&withdrawal(id, "a", "ethereum", CLEAN, 1, T0 + i as u64));
        assert_eq!(d.verdict, Verdict::Hold, "{id}: {d:?}");
        let detail = fault_of(&d);
        assert!(detail.contains("hostile"), "names the policy: {detail}");
        assert!(detail.contains(expected), "{id}: {detail}");
        // The poisoned instance was replaced: the next call is served normally.
        let next = g.evaluate(&withdrawal(
            &format!("ok-{i}"),
            "a",
            "ethereum",
            CLEAN,
            1,
            T0 + i as u64,
        ));
        assert_eq!(next.verdict, Verdict::Allow, "after {id}: {next:?}");
    }
    let hostile = &g.policies()[1];
    assert_eq!(hostile.counters().faults.load(Ordering::Relaxed), 4);
    assert!(hostile.counters().instances_built.load(Ordering::Relaxed) >= 5);
}

#[test]
fn recursion_is_a_stack_fault() {
    let g = hostile_gate();
    let d = g.evaluate(&withdrawal("recurse-2", "a", "ethereum", CLEAN, 1, T0));
    let detail = fault_of(&d);
    assert!(
        detail.contains("stack overflow") || detail.contains("out of bounds"),
        "{detail}"
    );
}

#[test]
fn a_fault_never_lowers_a_deny() {
    let g = hostile_gate();
    let lazarus = "0x098b716b8aaf21512996dc57eb0615e2383e2f96";
    for id in ["loop-d", "grow-d", "trap-d", "recurse-d"] {
        let d = g.evaluate(&withdrawal(id, "a", "ethereum", lazarus, 1, T0));
        assert_eq!(d.verdict, Verdict::Deny, "{id}: {d:?}");
        fault_of(&d);
    }
}

#[test]
fn faults_are_not_recorded_so_a_retry_is_evaluated_again() {
    let g = hostile_gate();
    let w = withdrawal("trap-retry", "a", "ethereum", CLEAN, 1, T0);
    let first = g.evaluate(&w);
    let second = g.evaluate(&w);
    assert!(!second.replayed);
    assert_eq!(first.verdict, Verdict::Hold);
    assert_eq!(second.verdict, Verdict::Hold);
}

#[test]
fn a_log_flood_is_bounded_and_harmless() {
    let g = gate(vec![hostile("{}")], Screener::default());
    let d = g.evaluate(&withdrawal("log-1", "a", "ethereum", CLEAN, 1, T0));
    // 100k formatted kilobyte messages are far over the default fuel: the
    // same fault every time (never a deny from a log flood), and the next
    // call is answered.
    assert_eq!(d.verdict, Verdict::Hold, "{d:?}");
    assert_eq!(d.reasons[0].code, "gate.fuel_exhausted", "{d:?}");
    assert_eq!(
        g.evaluate(&withdrawal("log-1b", "a", "ethereum", CLEAN, 1, T0))
            .reasons,
        d.reasons
    );
    let next = g.evaluate(&withdrawal("fine", "a", "ethereum", CLEAN, 1, T0));
    assert_eq!(next.verdict, Verdict::Allow);
}

#[test]
fn a_generous_budget_lets_slow_work_finish() {
    let (g, _) = Gate::builder()
        .policy(hostile("{}"))
        .max_clock_skew(None)
        .limits(riskgate::Limits {
            fuel: u64::MAX / 2,
            deadline: std::time::Duration::from_secs(20),
            ..Default::default()
        })
        .build()
        .unwrap();
    let d = g.evaluate(&withdrawal("log-2", "a", "ethereum", CLEAN, 1, T0));
    assert_eq!(d.verdict, Verdict::Allow, "{d:?}");
}

#[test]
fn many_threads_with_faults_interleaved() {
    let g = std::sync::Arc::new(hostile_gate());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let g = g.clone();
            std::thread::spawn(move || {
                for i in 0..40 {
                    let id = if i % 10 == 3 {
                        format!("trap-{t}-{i}")
                    } else {
                        format!("ok-{t}-{i}")
                    };
                    let d = g.evaluate(&withdrawal(
                        &id,
                        &format!("acct{t}"),
                        "ethereum",
                        CLEAN,
                        1,
                        T0 + i,
                    ));
                    let expected = if id.starts_with("trap") {
                        Verdict::Hold
                    } else {
                        Verdict::Allow
                    };
                    assert_eq!(d.verdict, expected, "{id}: {d:?}");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

fn load_err(source: riskgate::PolicySource) -> LoadError {
    match Gate::builder().policy(source).build() {
        Ok(_) => panic!("loaded a policy that must be refused"),
        Err(riskgate::GateError::Policy { source, .. }) => source,
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[test]
fn a_wasi_import_is_refused_naming_it() {
    let wat = r#"(component
        (import "wasi:random/random@0.2.0" (instance
            (export "get-random-u64" (func (result u64)))))
    )"#;
    let err = load_err(raw("wasi.wat", wat));
    match &err {
        LoadError::WasiImport(name) => assert_eq!(name, "wasi:random/random@0.2.0"),
        e => panic!("expected a WASI import, got {e}"),
    }
    // It says how to build a policy instead.
    let text = err.to_string();
    assert!(text.contains("built for WASI"), "{text}");
    assert!(text.contains("wasm32-unknown-unknown"), "{text}");
}

#[test]
fn a_foreign_import_is_refused_naming_it() {
    let wat = r#"(component
        (import "acme:net/socket@1.0.0" (instance
            (export "open" (func (result u64)))))
    )"#;
    match load_err(raw("foreign.wat", wat)) {
        LoadError::ForbiddenImport(name) => assert_eq!(name, "acme:net/socket@1.0.0"),
        e => panic!("expected a forbidden import, got {e}"),
    }
}

#[test]
fn a_core_module_is_refused_saying_how_to_make_a_component() {
    // A real core module, as `cargo build --target wasm32-unknown-unknown`
    // leaves it before encoding: exports a function and memory.
    let module = wat::parse_str(
        r#"(module
            (memory (export "memory") 1)
            (func (export "evaluate") (param i32) (result i32) local.get 0))"#,
    )
    .unwrap();
    assert_eq!(&module[..8], b"\0asm\x01\0\0\0");
    for (name, bytes) in [
        ("policy.wasm", module),
        ("empty-module.wasm", b"\0asm\x01\0\0\0".to_vec()),
        (
            "module.wat",
            b";; a core module in text\n  (module (func))".to_vec(),
        ),
    ] {
        let err = load_err(raw(name, bytes));
        assert!(matches!(err, LoadError::CoreModule), "{name}: {err}");
        let text = err.to_string();
        for needle in [
            "core WebAssembly module, not a component",
            "wasm32-unknown-unknown",
            "riskgate-guest",
            "riskgate policy build",
            "ComponentEncoder",
            "wasm-tools component new",
        ] {
            assert!(text.contains(needle), "{name}: {needle}: {text}");
        }
    }
}

#[test]
fn a_gate_import_with_a_foreign_function_is_refused() {
    // Right interface name, wrong shape: refused when linking.
    let wat = r#"(component
        (import "riskgate:policy/log@0.1.0" (instance
            (export "steal-keys" (func (result u64)))))
    )"#;
    let err = load_err(raw("shape.wat", wat));
    assert!(matches!(err, LoadError::WrongWorld(_)), "{err}");
}

#[test]
fn a_wrong_world_is_refused() {
    let err = load_err(raw("empty.wat", "(component)"));
    assert!(matches!(err, LoadError::WrongWorld(_)), "{err}");
    assert!(err.to_string().contains("gate-policy"), "{err}");
}

#[test]
fn bytes_that_are_not_a_component_are_refused() {
    for (name, bytes) in [
        ("garbage", b"not wasm at all".to_vec()),
        (
            "truncated",
            bundled::SANCTIONS[..bundled::SANCTIONS.len() / 2].to_vec(),
        ),
    ] {
        let err = load_err(raw(name, bytes));
        assert!(matches!(err, LoadError::Compile(_)), "{name}: {err}");
    }
}

#[test]
fn a_config_refusal_carries_the_policys_message() {
    match load_err(hostile(r#"{"fail": "no thanks"}"#)) {
        LoadError::Config(msg) => assert_eq!(msg, "no thanks"),
        e => panic!("expected a config refusal, got {e}"),
    }
}

#[test]
fn a_panic_in_configure_carries_its_message() {
    match load_err(hostile(r#"{"panic": true}"#)) {
        LoadError::Instantiate(msg) => {
            assert!(msg.starts_with("configure(): "), "{msg}");
            assert!(
                msg.contains("panicked at ") && msg.contains("hostile guest panics in configure"),
                "{msg}"
            );
        }
        e => panic!("expected an instantiation failure, got {e}"),
    }
}

#[test]
fn memory_limit_is_configurable() {
    let (g, _) = builder(vec![hostile("{}")], Screener::default())
        .limits(riskgate::Limits {
            memory: 2 << 20,
            ..test_limits()
        })
        .build()
        .unwrap();
    let d = g.evaluate(&withdrawal("grow-small", "a", "ethereum", CLEAN, 1, T0));
    assert!(fault_of(&d).contains("memory limit exceeded"), "{d:?}");
    assert_eq!(
        g.evaluate(&withdrawal("after", "a", "ethereum", CLEAN, 1, T0))
            .verdict,
        Verdict::Allow
    );
}
