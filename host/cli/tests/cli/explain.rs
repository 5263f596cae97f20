//! End to end on the binary: `check --explain`, `serve`'s
//! `POST /v1/evaluate?explain=true`, a guest panic's message in the HOLD
//! reason, core modules and WASI components refused with how to build a
//! policy, and `riskgate_shadow_disagreements_total`.

use crate::support::{BIN, CLEAN, LAZARUS, Server, withdrawal, withdrawal_from};
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `riskgate check ARGS` over `input` (memory store, no clock check, no
/// AOT cache).
fn check(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(BIN)
        .arg("check")
        .args([
            "--no-cache",
            "--deadline-us",
            "1000000",
            "--velocity",
            "memory",
        ])
        .args(args)
        .env_remove("RISKGATE_LOG")
        .env("RISKGATE_NO_CLOCK_CHECK", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn riskgate check");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn write_hostile(dir: &Path) -> String {
    let path = dir.join("hostile.wasm");
    std::fs::write(&path, riskgate_tests::HOSTILE).unwrap();
    path.display().to_string()
}

/// A decision without its explanation and timing.
fn decision_only(mut v: Value) -> Value {
    let obj = v.as_object_mut().unwrap();
    obj.remove("explain");
    obj.remove("latency_ns");
    v
}

#[test]
fn check_explain_adds_the_explanation_next_to_the_same_decision() {
    let input: String = [
        withdrawal("c-1", CLEAN),
        withdrawal("c-2", LAZARUS),
        // A new destination: the velocity policy holds.
        {
            let mut w = withdrawal("c-3", CLEAN);
            w.as_object_mut()
                .unwrap()
                .remove("destination_first_used_at");
            w
        },
    ]
    .iter()
    .map(|w| format!("{w}\n"))
    .chain(["not json\n".to_string()])
    .collect();
    let plain = check(&[], &input);
    let explained = check(&["--explain"], &input);
    assert_eq!(plain.status.code(), Some(1), "{}", stderr(&plain));
    assert_eq!(explained.status.code(), Some(1), "{}", stderr(&explained));
    let (plain, explained) = (lines(&plain), lines(&explained));
    assert_eq!(plain.len(), 4);
    assert_eq!(explained.len(), 4);
    for (p, e) in plain.iter().zip(&explained).take(3) {
        assert!(p.get("explain").is_none(), "{p}");
        assert_eq!(decision_only(p.clone()), decision_only(e.clone()));
        let policies = e["explain"]["policies"].as_array().unwrap();
        let names: Vec<&str> = policies
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["sanctions", "velocity"], "{e}");
        for p in policies {
            assert_eq!(p["mode"], "enforce");
            assert_eq!(p["sha256"].as_str().unwrap().len(), 64);
            assert!(p["fuel"].as_u64().unwrap() > 0, "{p}");
            assert_eq!(p["calls_dropped"], 0);
        }
    }
    assert_eq!(explained[0]["verdict"], "allow");
    // The designated one: the sanctions policy's screen call and its hit.
    let sanctions = &explained[1]["explain"]["policies"][0];
    assert_eq!(explained[1]["verdict"], "deny");
    assert_eq!(sanctions["verdict"], "deny");
    assert_eq!(sanctions["calls"][0]["call"], "screen");
    assert_eq!(sanctions["calls"][0]["chain"], "ethereum");
    assert_eq!(
        sanctions["calls"][0]["hits"][0]["address"],
        explained[1]["hits"][0]["address"]
    );
    // The held one: the velocity policy's window calls and its reasons.
    let velocity = &explained[2]["explain"]["policies"][1];
    assert_eq!(explained[2]["verdict"], "hold", "{}", explained[2]);
    assert_eq!(velocity["verdict"], "hold");
    assert!(
        velocity["calls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["call"] == "window" && c["stats"]["count"] == 1),
        "{velocity}"
    );
    assert_eq!(velocity["reasons"], explained[2]["reasons"]);
    // An error line is unchanged.
    assert_eq!(plain[3], explained[3]);
    assert!(explained[3]["error"].is_string());
}

#[test]
fn check_explains_a_guest_panic_and_its_message_is_in_the_hold_reason() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = write_hostile(dir.path());
    let input = format!(
        "{}\n{}\n",
        withdrawal("panic-on-line-1", CLEAN),
        withdrawal("calls-2", LAZARUS)
    );
    for explain in [false, true] {
        let args: Vec<&str> = if explain {
            vec!["--policy", &hostile, "--explain"]
        } else {
            vec!["--policy", &hostile]
        };
        let out = check(&args, &input);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let got = lines(&out);
        assert_eq!(got[0]["verdict"], "hold");
        let reason = &got[0]["reasons"][0];
        assert_eq!(reason["code"], "gate.policy_fault");
        let detail = reason["detail"].as_str().unwrap();
        assert!(
            detail.contains("panicked at ") && detail.contains("hostile guest panics: on-line-1"),
            "{detail}"
        );
        if explain {
            let p = &got[0]["explain"]["policies"][0];
            assert_eq!(p["fault"]["code"], "gate.policy_fault");
            assert_eq!(p["fault"]["detail"], reason["detail"]);
            let calls = &got[1]["explain"]["policies"][0]["calls"];
            let kinds: Vec<&str> = calls
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["call"].as_str().unwrap())
                .collect();
            assert_eq!(kinds, ["screen", "screen", "window", "log"], "{calls}");
            assert_eq!(calls[1]["error"]["kind"], "unsupported_chain");
            assert_eq!(calls[3]["message"], "hostile: calls");
        } else {
            assert!(got[0].get("explain").is_none());
        }
    }
}

#[test]
fn a_core_module_is_refused_with_how_to_make_a_component() {
    let dir = tempfile::tempdir().unwrap();
    let module = wat::parse_str(
        r#"(module (memory (export "memory") 1) (func (export "evaluate") (result i32) i32.const 0))"#,
    )
    .unwrap();
    let path = dir.path().join("policy.wasm");
    std::fs::write(&path, module).unwrap();
    let p = path.display().to_string();
    let out = check(&["--policy", &p], "");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for needle in [
        "policy.wasm",
        "core WebAssembly module, not a component",
        "wasm32-unknown-unknown",
        "riskgate-guest",
        "riskgate policy build",
        "wasm-tools component new",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    // serve refuses it the same way.
    match Server::spawn(&[
        "--policy".into(),
        p.clone(),
        "--velocity".into(),
        "memory".into(),
    ]) {
        Ok(_) => panic!("serve started on a core module"),
        Err((code, err)) => {
            assert_ne!(code, 0);
            assert!(err.contains("core WebAssembly module"), "{err}");
        }
    }

    // So does `policy sign` (it loads the component to learn its name).
    let key = dir.path().join("release.key");
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env_remove("RISKGATE_LOG")
            .output()
            .unwrap()
    };
    let keygen = run(&["policy", "keygen", "--out", &key.display().to_string()]);
    assert!(keygen.status.success(), "{}", stderr(&keygen));
    let sign = run(&["policy", "sign", "--key", &key.display().to_string(), &p]);
    assert!(!sign.status.success());
    assert!(
        stderr(&sign).contains("core WebAssembly module, not a component"),
        "{}",
        stderr(&sign)
    );

    // A WASI component: a hint to build for wasm32-unknown-unknown.
    let wasi = dir.path().join("wasi.wat");
    std::fs::write(
        &wasi,
        r#"(component (import "wasi:cli/environment@0.2.0" (instance (export "get-arguments" (func)))))"#,
    )
    .unwrap();
    let out = check(&["--policy", &wasi.display().to_string()], "");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("wasi:cli/environment@0.2.0")
            && err.contains("built for WASI")
            && err.contains("wasm32-unknown-unknown"),
        "{err}"
    );
}

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn serve_explains_on_request_and_records_the_same_decision() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let server = Server::spawn(&[
        "--velocity".into(),
        "memory".into(),
        "--no-clock-check".into(),
        "--deadline-us".into(),
        "250000".into(),
        "--no-cache".into(),
        "--decision-log".into(),
        log.display().to_string(),
    ])
    .expect("serve starts");
    let post = |path: &str, body: &Value| {
        server.request(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
    };

    // Without: the decision alone, as before.
    let plain = post("/v1/evaluate", &withdrawal_from("s-1", "a-1", LAZARUS));
    assert_eq!(plain.status, 200, "{}", plain.body);
    assert!(plain.json().get("explain").is_none());
    // With: the same decision and its explanation (another account: a
    // fresh id with the same content otherwise).
    let r = post(
        "/v1/evaluate?explain=true",
        &withdrawal_from("s-2", "a-2", LAZARUS),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-riskgate-generation"), Some("1"));
    let explained = r.json();
    let mut a = decision_only(plain.json());
    let mut b = decision_only(explained.clone());
    a["id"] = json!("");
    b["id"] = json!("");
    assert_eq!(a, b);
    let policies = explained["explain"]["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 2, "{explained}");
    assert_eq!(policies[0]["name"], "sanctions");
    assert_eq!(policies[0]["calls"][0]["call"], "screen");
    // `explain=false` is the plain answer.
    let r = post(
        "/v1/evaluate?explain=false",
        &withdrawal_from("s-3", "a-3", CLEAN),
    );
    assert!(r.json().get("explain").is_none(), "{}", r.body);
    // A batch: each decision with its own.
    let r = post(
        "/v1/evaluate?explain=true",
        &json!({"withdrawals": [withdrawal_from("s-4", "a-4", CLEAN), withdrawal_from("s-5", "a-5", LAZARUS)]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let decisions = r.json()["decisions"].as_array().unwrap().clone();
    assert_eq!(decisions.len(), 2);
    assert_eq!(decisions[0]["id"], "s-4");
    assert_eq!(decisions[0]["verdict"], "allow");
    assert_eq!(decisions[1]["verdict"], "deny");
    for d in &decisions {
        assert_eq!(d["explain"]["policies"].as_array().unwrap().len(), 2, "{d}");
    }
    // A bad value is a problem document.
    let r = post(
        "/v1/evaluate?explain=maybe",
        &withdrawal_from("s-6", "a-6", CLEAN),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("explain=true"), "{}", r.body);

    // The records of s-1 and s-2 are alike (no explanation in the log).
    drop(server);
    let (records, _) = riskgate_serve::decision_log::read_all(&log).unwrap();
    let record = |id: &str| {
        let mut r = records
            .iter()
            .find(|r| r["event"] == "decision" && r["withdrawal"]["id"] == id)
            .unwrap_or_else(|| panic!("no record of {id}: {records:?}"))
            .clone();
        let obj = r.as_object_mut().unwrap();
        for k in ["decision_id", "timestamp_ms", "latency_ns", "withdrawal"] {
            obj.remove(k);
        }
        r
    };
    assert_eq!(record("s-1"), record("s-2"));
    assert!(record("s-2").get("explain").is_none());
    assert_eq!(record("s-2")["verdict"], "deny");
    assert!(!records.iter().any(|r| r["withdrawal"]["id"] == "s-6"));
}

#[test]
fn serve_counts_shadow_disagreements() {
    let dir = tempfile::tempdir().unwrap();
    // The sanctions policy in shadow: it denies what the enforced velocity
    // policy allows.
    let config = "velocity = \"memory\"\nno_cache = true\n[limits]\ndeadline_us = 250000\nmax_clock_skew_ms = 0\n\
         [[policy]]\nbundled = \"sanctions\"\nmode = \"shadow\"\n\
         [[policy]]\nbundled = \"velocity\"\n\
         [[list]]\nbundled = \"sample\"\n";
    let path = dir.path().join("riskgate.toml");
    std::fs::write(&path, config).unwrap();
    let server = Server::with_config(&path).unwrap_or_else(|(c, e)| panic!("{c}: {e}"));
    let series = "riskgate_shadow_disagreements_total{policy=\"sanctions\",enforced=\"allow\",shadow=\"deny\"}";
    let text = server.get("/metrics").body;
    assert_eq!(metric(&text, series), None, "{text}");

    for (i, dest) in [LAZARUS, CLEAN, LAZARUS, CLEAN, CLEAN].iter().enumerate() {
        let r = server.evaluate(&withdrawal_from(&format!("m-{i}"), &format!("a-{i}"), dest));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["verdict"], "allow", "{}", r.body);
    }
    // A replay runs no policy: nothing more counted.
    server.evaluate(&withdrawal_from("m-0", "a-0", LAZARUS));
    // A new destination: velocity holds, the shadow allows.
    let mut w = withdrawal_from("m-9", "a-9", CLEAN);
    w.as_object_mut()
        .unwrap()
        .remove("destination_first_used_at");
    assert_eq!(server.evaluate(&w).json()["verdict"], "hold");

    let text = server.get("/metrics").body;
    assert!(
        text.contains("# HELP riskgate_shadow_disagreements Decisions where a shadow policy's own verdict differed"),
        "{text}"
    );
    assert_eq!(metric(&text, series), Some(2.0), "{text}");
    assert_eq!(
        metric(
            &text,
            "riskgate_shadow_disagreements_total{policy=\"sanctions\",enforced=\"hold\",shadow=\"allow\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("riskgate_shadow_disagreements_total"))
            .count(),
        2,
        "{text}"
    );
}
