//! `riskgate replay` on a decision log written by `riskgate serve` over
//! HTTP: the chain that wrote it reproduces it (0 changed), a stricter
//! candidate reports exactly the changes the history implies, and the HTML
//! report renders in a real headless browser (chromium via chromedriver).

use crate::support::{BIN, LAZARUS, Server};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

const T0: u64 = 1_795_564_800_000;
const ACCOUNTS: usize = 4;

/// 200 withdrawals a minute apart from four accounts, each paying its own
/// long-used destination: every 25th to a
/// designated address (deny), every 10th to a destination never used
/// (hold), the rest allowed; every 20th sent twice (the retry is answered
/// from the store).
fn serve_log(dir: &Path) -> std::path::PathBuf {
    let config = dir.join("riskgate.toml");
    std::fs::write(
        &config,
        format!(
            "velocity = \"memory\"\ncache_dir = \"{}\"\n[limits]\nmax_clock_skew_ms = 0\n\
             [decision_log]\ndir = \"log\"\n",
            dir.join("cache").display()
        ),
    )
    .unwrap();
    let server = Server::with_config(&config).expect("serve starts");
    for i in 0..200u64 {
        let mut w = json!({
            "id": format!("w-{i:04}"), "account": format!("acct-{}", i as usize % ACCOUNTS),
            "asset": "ETH", "chain": "ethereum",
            "destination": if i % 25 == 24 {
                LAZARUS.to_string()
            } else {
                // Each account its own destination (lowercase hex: no
                // checksum to get right).
                format!("0x{:040x}", 1 + i as usize % ACCOUNTS)
            },
            "amount": "1000", "decimals": 18, "usd_cents": 500,
            "requested_at": T0 + i * 60_000,
            "destination_first_used_at": 1_790_000_000_000u64,
        });
        if i % 10 == 9 {
            w.as_object_mut()
                .unwrap()
                .remove("destination_first_used_at");
        }
        let sends = if i % 20 == 0 { 2 } else { 1 };
        for _ in 0..sends {
            let r = server.evaluate(&w);
            assert_eq!(r.status, 200, "{}", r.body);
        }
    }
    drop(server);
    dir.join("log")
}

fn replay(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("replay")
        .args(args)
        .env_remove("RISKGATE_LOG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn count(log: &[Value], f: impl Fn(&Value) -> bool) -> u64 {
    log.iter()
        .filter(|r| r["event"] == "decision" && r["replayed"] != true)
        .filter(|r| f(r))
        .count() as u64
}

#[test]
fn replay_of_a_served_log_reproduces_it_and_reports_a_stricter_candidate() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = serve_log(dir.path());
    let log_arg = log_dir.display().to_string();
    let cache = dir.path().join("cache").display().to_string();
    let (log, torn) = riskgate_serve::decision_log::read_all(&log_dir).unwrap();
    assert_eq!(torn, 0);
    let allows = count(&log, |r| r["verdict"] == "allow");
    let holds = count(&log, |r| r["verdict"] == "hold");
    let denies = count(&log, |r| r["verdict"] == "deny");
    assert_eq!((allows, holds, denies), (176, 16, 8));

    // The chain that wrote it: nothing changed, exit 0 even with
    // --fail-on-change.
    let (code, out, err) = replay(&[
        "--log",
        &log_arg,
        "--cache-dir",
        &cache,
        "--json",
        "--fail-on-change",
    ]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["totals"]["compared"], 200);
    assert_eq!(report["totals"]["changed"], 0);
    assert_eq!(report["totals"]["replayed_skipped"], 10);
    assert_eq!(
        report["transitions"],
        json!([[allows, 0, 0], [0, holds, 0], [0, 0, denies]])
    );
    assert_eq!(report["chains"][0]["policies"][1]["config_from"], "log");

    // One ALLOW a day per account: every logged ALLOW after an account's
    // first is held.
    let strict = dir.path().join("strict.json");
    std::fs::write(
        &strict,
        r#"{"rules":[{"scope":"account","window":"24h","max_count":1}]}"#,
    )
    .unwrap();
    let velocity = format!("bundled:velocity={}", strict.display());
    let html = dir.path().join("report.html");
    let html_arg = html.display().to_string();
    let args = [
        "--log",
        &log_arg,
        "--cache-dir",
        &cache,
        "--policy",
        "bundled:sanctions",
        "--policy",
        &velocity,
    ];
    let (code, out, err) = replay(&[&args[..], &["--json", "--html", &html_arg]].concat());
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let held = allows - ACCOUNTS as u64;
    assert_eq!(report["totals"]["verdict_changed"], held);
    assert_eq!(report["transitions"][0], json!([ACCOUNTS, held, 0]));
    assert_eq!(report["transitions"][1], json!([0, holds, 0]));
    assert_eq!(report["transitions"][2], json!([0, 0, denies]));
    // Every decision after an account's first ALLOW gains the new reason:
    // the allows turn to holds, the holds and denies change their reasons.
    let after_first = 200 - ACCOUNTS as u64;
    assert_eq!(report["totals"]["changed"], after_first);
    assert_eq!(
        report["reasons_appeared"]["velocity.count_24h"],
        after_first
    );
    let changed = report["changed"].as_array().unwrap();
    assert_eq!(changed.len() as u64, after_first);
    // The first decision of each account is kept; the ids of the rest listed.
    let first: Vec<String> = (0..ACCOUNTS).map(|a| format!("w-{a:04}")).collect();
    let mut turned = 0;
    for c in changed {
        let id = c["withdrawal_id"].as_str().unwrap();
        assert!(!first.iter().any(|f| f == id), "{c}");
        assert_eq!(c["decision_id"].as_str().unwrap().len(), 32);
        assert!(
            c["new_reasons"]
                .as_array()
                .unwrap()
                .contains(&json!("velocity.count_24h"))
        );
        if c["old_verdict"] == "allow" {
            assert_eq!(c["new_verdict"], "hold", "{c}");
            turned += 1;
        }
    }
    assert_eq!(turned, held);
    // Text, capped; --fail-on-change exits 1.
    let (code, out, err) =
        replay(&[&args[..], &["--fail-on-change", "--max-listed", "3"]].concat());
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains(&format!(
            "compared 200: {after_first} changed ({held} verdict)"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("and {} more", after_first - 3)),
        "{out}"
    );
    // A replay that cannot run exits 2.
    let (code, _, err) = replay(&["--log", &dir.path().join("nowhere").display().to_string()]);
    assert_eq!(code, 2, "{err}");

    browser_check(&html, ACCOUNTS as u64, held, after_first);
}

/// Loads the page in headless chromium through chromedriver: both charts'
/// SVGs and their bars have a size, and the transition table shows the
/// numbers. Without chromedriver on PATH it is skipped, except in CI
/// (`CI` set), where `.ci/run` installs it.
fn browser_check(page: &Path, kept: u64, held: u64, changed: u64) {
    crate::support::with_chromedriver("the browser check of the HTML report", |port| {
        drive(port, page, kept, held, changed)
    });
}

async fn drive(port: u16, page: &Path, kept: u64, held: u64, changed: u64) {
    use fantoccini::Locator;
    let client = crate::support::browser_session(port, &["--window-size=1280,2400"]).await;
    let file = format!("file://{}", page.canonicalize().unwrap().display());
    client.goto(&file).await.unwrap();
    assert_eq!(client.title().await.unwrap(), "riskgate replay");
    for id in ["chart-old", "chart-new"] {
        let svg = client.find(Locator::Id(id)).await.unwrap();
        let (_, _, w, h) = svg.rectangle().await.unwrap();
        assert!(w > 100.0 && h > 100.0, "{id}: {w}x{h}");
        let bars = svg.find_all(Locator::Css("rect")).await.unwrap();
        assert!(!bars.is_empty(), "{id}: no bars");
        for bar in &bars {
            let (_, _, w, h) = bar.rectangle().await.unwrap();
            assert!(w > 0.0 && h > 0.0, "{id}: a bar of {w}x{h}");
        }
    }
    // The re-decided chart holds the new holds, the logged one none of them.
    let holds_new = client
        .find_all(Locator::Css("#chart-new rect.hold"))
        .await
        .unwrap();
    assert!(!holds_new.is_empty());
    let cell =
        |from: &str, to: &str| format!("#transitions td[data-from=\"{from}\"][data-to=\"{to}\"]");
    let text = |css: String| {
        let client = client.clone();
        async move {
            client
                .find(Locator::Css(&css))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert_eq!(text(cell("allow", "allow")).await, kept.to_string());
    assert_eq!(text(cell("allow", "hold")).await, held.to_string());
    assert_eq!(text(cell("allow", "deny")).await, "0");
    assert_eq!(text("#changed".to_string()).await, changed.to_string());
    client.close().await.unwrap();
}
