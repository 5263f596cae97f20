//! End-to-end tests of `riskgate serve --config`: shadow policies and pins,
//! the decision log and metrics, hot reload under load, a full disk, and
//! the durable log across kill -9.

use crate::support;

use riskgate_serve::decision_log::{self, ACTIVE};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use support::{CLEAN, LAZARUS, Server, withdrawal_from};

const TOKEN: &str = "test-admin-token";

fn bundled_bytes(name: &str) -> Vec<u8> {
    riskgate::bundled::policies()
        .into_iter()
        .find(|p| p.origin == format!("bundled:{name}"))
        .unwrap()
        .bytes
        .to_vec()
}

fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The common head of a test config: its own cache, generous deadline, no
/// clock check (the test withdrawals carry a fixed time).
fn head(velocity: &str) -> String {
    format!(
        "velocity = \"{velocity}\"\ncache_dir = \"cache\"\n[limits]\ndeadline_us = 250000\nmax_clock_skew_ms = 0\n[admin]\ntoken = \"{TOKEN}\"\n"
    )
}

fn write_config(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("riskgate.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn shadow_policies_never_change_the_verdict_and_every_decision_is_logged_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let velocity_sha = sha_hex(&bundled_bytes("velocity"));
    let config = format!(
        "{}[decision_log]\ndir = \"log\"\n\
         [[policy]]\nbundled = \"sanctions\"\nmode = \"shadow\"\n\
         [[policy]]\nbundled = \"velocity\"\nsha256 = \"{velocity_sha}\"\n\
         [[list]]\nbundled = \"sample\"\n",
        head("memory")
    );
    let server = Server::with_config(&write_config(dir.path(), &config)).unwrap();

    let policies = server.get("/v1/policies").json();
    assert_eq!(policies["policies"][0]["mode"], "shadow", "{policies}");
    assert_eq!(policies["policies"][1]["mode"], "enforce");
    assert_eq!(policies["policies"][1]["sha256"], velocity_sha.as_str());
    let sanctions_sha = policies["policies"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let lists = server.get("/v1/lists").json();
    let sample_version = lists["lists"][0]["version"].as_str().unwrap().to_string();

    // The designated destination is allowed: the only policy that denies it
    // is in shadow mode.
    let r = server.evaluate(&withdrawal_from("w-1", "a-1", LAZARUS));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-riskgate-generation"), Some("1"));
    let d = r.json();
    assert_eq!(d["verdict"], "allow", "{d}");
    assert!(d["hits"].as_array().unwrap().is_empty(), "{d}");
    let batch: Vec<Value> = (2..5)
        .map(|i| withdrawal_from(&format!("w-{i}"), &format!("a-{i}"), CLEAN))
        .collect();
    let r = server.evaluate(&json!(batch));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["decisions"].as_array().unwrap().len(), 3);
    // A replay, and bad input (held by the gate itself).
    assert_eq!(
        server
            .evaluate(&withdrawal_from("w-1", "a-1", LAZARUS))
            .json()["replayed"],
        true
    );
    let long_id = "x".repeat(200);
    let held = server
        .evaluate(&withdrawal_from(&long_id, "a-9", CLEAN))
        .json();
    assert_eq!(held["verdict"], "hold", "{held}");

    // Metrics.
    let m = server.get("/metrics");
    assert_eq!(m.status, 200);
    assert!(
        m.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{:?}",
        m.headers
    );
    let text = &m.body;
    assert_eq!(
        metric(text, "riskgate_decisions_total{verdict=\"allow\"}"),
        Some(5.0),
        "{text}"
    );
    assert_eq!(
        metric(text, "riskgate_decisions_total{verdict=\"hold\"}"),
        Some(1.0)
    );
    assert_eq!(
        metric(
            text,
            "riskgate_decision_reasons_total{code=\"gate.bad_input\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(text, "riskgate_decision_latency_seconds_count"),
        Some(6.0)
    );
    let entries = format!("riskgate_list_entries{{list=\"sample\",version=\"{sample_version}\"}}");
    assert!(metric(text, &entries).unwrap() > 0.0, "{text}");
    assert_eq!(metric(text, "riskgate_config_generation"), Some(1.0));
    // The start record and six decisions.
    assert_eq!(
        metric(text, "riskgate_decision_log_records"),
        Some(7.0),
        "{text}"
    );
    assert!(text.trim_end().ends_with("# EOF"));

    // The decision log, read back.
    let (records, torn) = decision_log::read_all(&dir.path().join("log")).unwrap();
    assert_eq!(torn, 0);
    assert_eq!(records.len(), 7, "{records:?}");
    assert_eq!(records[0]["event"], "generation");
    assert_eq!(records[0]["generation"], 1);
    assert_eq!(records[0]["policies"][0]["sha256"], sanctions_sha.as_str());
    let decisions: Vec<&Value> = records[1..].iter().collect();
    let ids: HashSet<&str> = decisions
        .iter()
        .map(|r| r["decision_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 6, "decision ids are unique");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    for r in &decisions {
        assert_eq!(r["event"], "decision");
        assert_eq!(r["generation"], 1);
        assert!(
            now.abs_diff(r["timestamp_ms"].as_u64().unwrap()) < 600_000,
            "{r}"
        );
        assert_eq!(
            r["lists"],
            json!([{"name": "sample", "version": sample_version}]),
            "{r}"
        );
    }
    let first = decisions[0];
    assert_eq!(first["withdrawal"]["id"], "w-1");
    assert_eq!(first["withdrawal"]["destination"], LAZARUS);
    assert_eq!(first["withdrawal"]["amount"], 1000);
    assert_eq!(first["verdict"], "allow");
    assert!(first["latency_ns"].as_u64().unwrap() > 0);
    let shadow = &first["policies"][0];
    assert_eq!(shadow["name"], "sanctions");
    assert_eq!(shadow["mode"], "shadow");
    assert_eq!(shadow["sha256"], sanctions_sha.as_str());
    assert_eq!(
        shadow["verdict"], "deny",
        "the shadow policy's own verdict: {first}"
    );
    assert!(!shadow["hits"].as_array().unwrap().is_empty(), "{first}");
    assert_eq!(first["policies"][1]["name"], "velocity");
    assert_eq!(first["policies"][1]["mode"], "enforce");
    assert_eq!(first["policies"][1]["verdict"], "allow");
    assert_eq!(first["policies"][1]["sha256"], velocity_sha.as_str());
    assert_eq!(decisions[4]["replayed"], true);
    assert_eq!(decisions[5]["verdict"], "hold");
    assert_eq!(decisions[5]["reasons"][0]["code"], "gate.bad_input");
    assert_eq!(decisions[5]["policies"], json!([]));
}

#[test]
fn a_pin_that_does_not_match_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{}[[policy]]\nbundled = \"sanctions\"\nsha256 = \"{}\"\n",
        head("memory"),
        "ab".repeat(32)
    );
    let Err((code, stderr)) = Server::with_config(&write_config(dir.path(), &config)) else {
        panic!("started with a wrong pin");
    };
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("the config pins"), "{stderr}");
}

/// Batches of [A, B] where the designated list holds exactly one of them,
/// and which one changes with every reload: every response must deny the
/// one its generation's list holds, and only that one.
#[test]
fn reload_under_load_swaps_policies_and_lists_whole() {
    let dir = tempfile::tempdir().unwrap();
    let sanctions = bundled_bytes("sanctions");
    std::fs::write(dir.path().join("sanctions.wasm"), &sanctions).unwrap();
    let list = dir.path().join("watch.txt");
    std::fs::write(&list, format!("{LAZARUS}\n")).unwrap();
    let config = format!(
        "{}[decision_log]\ndir = \"log\"\n\
         [[policy]]\npath = \"sanctions.wasm\"\n\
         [[policy]]\nbundled = \"velocity\"\n\
         [[list]]\nname = \"watch\"\npath = \"watch.txt\"\n",
        head("memory")
    );
    let server = Server::with_config(&write_config(dir.path(), &config)).unwrap();
    // Which address each generation's list holds.
    let listed: Arc<Mutex<HashMap<u64, &'static str>>> =
        Arc::new(Mutex::new(HashMap::from([(1, LAZARUS)])));

    assert_eq!(server.reload("wrong").status, 401);
    let stop = AtomicBool::new(false);
    let seen = Mutex::new(Vec::<(u64, bool, bool)>::new());
    let failures = AtomicUsize::new(0);
    let n = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..3 {
            let (server, stop, seen, failures, n) = (&server, &stop, &seen, &failures, &n);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let i = n.fetch_add(1, Ordering::Relaxed);
                    let batch = json!([
                        withdrawal_from(&format!("a-{t}-{i}"), &format!("acct-a-{i}"), LAZARUS),
                        withdrawal_from(&format!("b-{t}-{i}"), &format!("acct-b-{i}"), CLEAN),
                    ]);
                    let r = server.evaluate(&batch);
                    if r.status != 200 {
                        failures.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let g: u64 = r.header("x-riskgate-generation").unwrap().parse().unwrap();
                    let d = r.json();
                    let denied = |k: usize| d["decisions"][k]["verdict"] == "deny";
                    seen.lock().unwrap().push((g, denied(0), denied(1)));
                }
            });
        }
        let mut generation = 1;
        for round in 0..8 {
            std::thread::sleep(std::time::Duration::from_millis(60));
            let holds = if round % 2 == 0 { CLEAN } else { LAZARUS };
            std::fs::write(&list, format!("{holds}\n")).unwrap();
            let r = if round == 3 {
                // SIGHUP reloads the same way.
                // SAFETY: kill(2) on our own child's pid.
                unsafe { libc::kill(server.child.id() as i32, libc::SIGHUP) };
                let mut waited = 0;
                loop {
                    let g = server.get("/v1/lists").json()["generation"]
                        .as_u64()
                        .unwrap();
                    if g == generation + 1 {
                        break;
                    }
                    waited += 1;
                    assert!(waited < 500, "SIGHUP did not reload");
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                generation += 1;
                listed.lock().unwrap().insert(generation, holds);
                continue;
            } else {
                server.reload(TOKEN)
            };
            assert_eq!(r.status, 200, "{}", r.body);
            let report = r.json();
            assert_eq!(report["ok"], true);
            generation += 1;
            assert_eq!(report["generation"], generation);
            listed.lock().unwrap().insert(generation, holds);

            if round == 5 {
                // A reload that fails (a module that does not compile)
                // changes nothing and says why.
                std::fs::write(dir.path().join("sanctions.wasm"), b"\0asm broken").unwrap();
                let r = server.reload(TOKEN);
                assert_eq!(r.status, 422, "{}", r.body);
                let report = r.json();
                assert_eq!(report["ok"], false);
                assert_eq!(report["generation"], generation);
                assert!(
                    report["error"].as_str().unwrap().contains("sanctions.wasm"),
                    "{report}"
                );
                std::fs::write(dir.path().join("sanctions.wasm"), &sanctions).unwrap();
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(60));
        stop.store(true, Ordering::Relaxed);
    });
    assert_eq!(failures.load(Ordering::Relaxed), 0);
    let seen = seen.into_inner().unwrap();
    let listed = listed.lock().unwrap();
    let generations: HashSet<u64> = seen.iter().map(|s| s.0).collect();
    assert!(
        generations.len() >= 5,
        "load did not span the reloads: {generations:?}"
    );
    for (g, a, b) in &seen {
        let holds = listed[g];
        assert_eq!(
            (*a, *b),
            (holds == LAZARUS, holds == CLEAN),
            "generation {g} lists {holds}"
        );
    }
    eprintln!(
        "{} batches over {} generations, none failed or mixed",
        seen.len(),
        generations.len()
    );
    let m = server.get("/metrics").body;
    assert_eq!(
        metric(&m, "riskgate_reloads_total{result=\"ok\"}"),
        Some(8.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "riskgate_reloads_total{result=\"failed\"}"),
        Some(1.0)
    );

    // The log agrees: each decision names its generation's list version.
    drop(server);
    let (records, _) = decision_log::read_all(&dir.path().join("log")).unwrap();
    let mut versions = HashMap::new();
    let mut failed_reloads = 0;
    for r in &records {
        match r["event"].as_str().unwrap() {
            "generation" => {
                versions.insert(
                    r["generation"].as_u64().unwrap(),
                    r["lists"][0]["version"].clone(),
                );
            }
            "reload_failed" => failed_reloads += 1,
            "decision" => {
                let g = r["generation"].as_u64().unwrap();
                assert_eq!(r["lists"][0]["version"], versions[&g], "{r}");
                let dest = r["withdrawal"]["destination"].as_str().unwrap();
                assert_eq!(r["verdict"] == "deny", listed[&g] == dest, "{r}");
            }
            other => panic!("unexpected event {other}"),
        }
    }
    assert_eq!(versions.len(), 9);
    assert_eq!(failed_reloads, 1);
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_holds_every_decision_with_log_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    std::fs::create_dir(&log).unwrap();
    // Every write to /dev/full fails with ENOSPC.
    std::os::unix::fs::symlink("/dev/full", log.join(ACTIVE)).unwrap();
    let config = format!("{}[decision_log]\ndir = \"log\"\n", head("memory"));
    let server = Server::with_config(&write_config(dir.path(), &config)).unwrap();
    let clean = server
        .evaluate(&withdrawal_from("w-1", "a-1", CLEAN))
        .json();
    assert_eq!(clean["verdict"], "hold", "{clean}");
    let codes: Vec<&str> = clean["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["gate.log_unavailable"], "{clean}");
    assert!(
        clean["reasons"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("No space left")
    );
    let listed = server
        .evaluate(&withdrawal_from("w-2", "a-2", LAZARUS))
        .json();
    assert_eq!(listed["verdict"], "deny", "a deny stays a deny: {listed}");
    assert!(
        listed["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "gate.log_unavailable")
    );
    let m = server.get("/metrics").body;
    assert_eq!(
        metric(&m, "riskgate_decision_log_failures_total"),
        Some(2.0),
        "{m}"
    );
    assert_eq!(server.get("/healthz").status, 200, "still serving");
}

/// With `durable = true`, every decision a client received is in the log,
/// whatever moment the server is killed at.
#[cfg(unix)]
#[test]
fn a_durable_log_holds_every_returned_decision_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{}[decision_log]\ndir = \"log\"\ndurable = true\n",
        head(&dir.path().join("velocity").display().to_string())
    );
    let path = write_config(dir.path(), &config);
    for round in 0..2 {
        let mut server = Server::with_config(&path).unwrap();
        let received = Mutex::new(Vec::<(String, String)>::new());
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            for t in 0..4 {
                let (server, received, stop) = (&server, &received, &stop);
                s.spawn(move || {
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        i += 1;
                        let id = format!("r{round}-t{t}-{i}");
                        let dest = if i % 5 == 0 { LAZARUS } else { CLEAN };
                        let body = json!(withdrawal_from(&id, &format!("acct-{t}-{i}"), dest));
                        let Ok(r) = server.try_request(
                            "POST",
                            "/v1/evaluate",
                            &[("Content-Type", "application/json")],
                            body.to_string().as_bytes(),
                        ) else {
                            break;
                        };
                        if r.status == 200 {
                            let verdict = r.json()["verdict"].as_str().unwrap().to_string();
                            received.lock().unwrap().push((id, verdict));
                        }
                    }
                });
            }
            std::thread::sleep(std::time::Duration::from_millis(700));
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(server.child.id() as i32, libc::SIGKILL) };
            stop.store(true, Ordering::Relaxed);
        });
        let _ = server.child.wait();
        let received = received.into_inner().unwrap();
        assert!(received.len() > 20, "only {} decisions", received.len());
        let (records, torn) = decision_log::read_all(&dir.path().join("log")).unwrap();
        assert!(torn <= round + 1, "{torn} torn lines");
        let logged: HashMap<&str, &str> = records
            .iter()
            .filter(|r| r["event"] == "decision")
            .map(|r| {
                (
                    r["withdrawal"]["id"].as_str().unwrap(),
                    r["verdict"].as_str().unwrap(),
                )
            })
            .collect();
        for (id, verdict) in &received {
            assert_eq!(
                logged.get(id.as_str()),
                Some(&verdict.as_str()),
                "round {round}: {id} was answered {verdict} but is not in the log"
            );
        }
        eprintln!(
            "round {round}: {} decisions returned before kill -9, all in the log ({} records, {torn} torn)",
            received.len(),
            records.len()
        );
    }
}

fn policy_cli(args: &[&str]) {
    let out = std::process::Command::new(support::BIN)
        .arg("policy")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "riskgate policy {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// With `require_signature`, a policy file runs only with a signature by a
/// trusted key over its own sha256, name and version: at start and at
/// every reload.
#[test]
fn signatures_are_required_at_load_and_at_reload() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).display().to_string();
    let component = dir.path().join("sanctions.wasm");
    std::fs::write(&component, bundled_bytes("sanctions")).unwrap();
    policy_cli(&["keygen", "--out", &d("release.key")]);
    policy_cli(&["keygen", "--out", &d("rogue.key")]);
    let config = format!(
        "require_signature = true\ntrusted_keys = [\"release.key.pub\"]\n{}\
         [[policy]]\npath = \"sanctions.wasm\"\n[[policy]]\nbundled = \"velocity\"\n",
        head("memory")
    );
    let path = write_config(dir.path(), &config);

    // Unsigned: refused at start.
    let Err((code, stderr)) = Server::with_config(&path) else {
        panic!("an unsigned policy was loaded");
    };
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("sanctions.wasm.sig"), "{stderr}");

    // Signed by an untrusted key: refused.
    policy_cli(&["sign", "--key", &d("rogue.key"), &d("sanctions.wasm")]);
    let Err((_, stderr)) = Server::with_config(&path) else {
        panic!("a policy signed by an untrusted key was loaded");
    };
    assert!(stderr.contains("no trusted key"), "{stderr}");

    // Signed by the trusted key: served, with the key named.
    policy_cli(&["sign", "--key", &d("release.key"), &d("sanctions.wasm")]);
    let server = Server::with_config(&path).unwrap();
    let policies = server.get("/v1/policies").json();
    assert_eq!(policies["policies"][0]["name"], "sanctions");
    assert_eq!(
        policies["policies"][0]["signed_by"].as_str().unwrap().len(),
        16,
        "{policies}"
    );
    assert!(policies["policies"][1].get("signed_by").is_none());

    // Another component in its place: the reload is refused, nothing changes.
    std::fs::write(&component, bundled_bytes("velocity")).unwrap();
    let r = server.reload(TOKEN);
    assert_eq!(r.status, 422, "{}", r.body);
    let error = r.json()["error"].as_str().unwrap().to_string();
    assert!(error.contains("sha256"), "{error}");
    let listed = server
        .evaluate(&withdrawal_from("w-1", "a-1", LAZARUS))
        .json();
    assert_eq!(
        listed["verdict"], "deny",
        "still the signed generation: {listed}"
    );
    assert_eq!(server.get("/v1/lists").json()["generation"], 1);

    // The signed bytes back: the reload goes through.
    std::fs::write(&component, bundled_bytes("sanctions")).unwrap();
    let r = server.reload(TOKEN);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["generation"], 2);
}

#[test]
fn admin_endpoints_are_off_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let config = head("memory").replace(&format!("[admin]\ntoken = \"{TOKEN}\"\n"), "");
    let server = Server::with_config(&write_config(dir.path(), &config)).unwrap();
    let r = server.reload(TOKEN);
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let r = server.request("POST", "/v1/admin/reload", &[], b"");
    assert_eq!(r.status, 403);
}

/// Precompiled code from outside the gate's own cache is never run: a real
/// wasmtime artifact of a bundled policy, given as a policy file, is refused.
#[test]
fn a_precompiled_artifact_is_not_accepted_as_a_policy() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    let engine = wasmtime::Engine::new(&config).unwrap();
    let artifact = engine
        .precompile_component(&bundled_bytes("sanctions"))
        .unwrap();
    std::fs::write(dir.path().join("sanctions.cwasm"), artifact).unwrap();
    let config = format!("{}[[policy]]\npath = \"sanctions.cwasm\"\n", head("memory"));
    let Err((code, stderr)) = Server::with_config(&write_config(dir.path(), &config)) else {
        panic!("a precompiled artifact was loaded");
    };
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("not a valid WebAssembly component"),
        "{stderr}"
    );
}
