//! The real compiled policies in the real host.

use riskgate::cache::CacheOutcome;
use riskgate::model::Verdict;
use riskgate::screening::Screener;
use riskgate::{Gate, bundled};
use riskgate_tests::*;
use std::sync::Arc;

const LAZARUS: &str = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";
const CLEAN: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

fn default_gate() -> Gate {
    gate(
        vec![sanctions("{}"), velocity("{}")],
        bundled::sample_screener(),
    )
}

fn codes(d: &riskgate::Decision) -> Vec<&str> {
    d.reasons.iter().map(|r| r.code.as_str()).collect()
}

#[test]
fn clean_withdrawal_is_allowed() {
    let g = default_gate();
    let d = g.evaluate(&withdrawal("w1", "a1", "ethereum", CLEAN, 1, T0));
    assert_eq!(d.verdict, Verdict::Allow, "{d:?}");
    assert!(d.reasons.is_empty());
    assert!(d.hits.is_empty());
}

#[test]
fn designated_address_is_denied_with_evidence_on_every_evm_chain_and_case() {
    let g = default_gate();
    let variants = [
        LAZARUS.to_string(),
        LAZARUS.to_lowercase(),
        format!("0x{}", LAZARUS[2..].to_uppercase()),
        format!(" {LAZARUS} "),
    ];
    for (i, (chain, dest)) in ["ethereum", "bsc", "arbitrum", "polygon"]
        .iter()
        .zip(variants.iter())
        .enumerate()
    {
        let d = g.evaluate(&withdrawal(&format!("w{i}"), "a1", chain, dest, 1, T0));
        assert_eq!(d.verdict, Verdict::Deny, "{chain} {dest}: {d:?}");
        assert!(codes(&d).contains(&"sanctions.hit"));
        let hit = &d.hits[0];
        assert_eq!(hit.list, "sample");
        assert_eq!(hit.address, LAZARUS);
        assert!(hit.label.as_deref().unwrap_or("").contains("Lazarus"));
        assert!(
            hit.list_version.starts_with("sha256:"),
            "{}",
            hit.list_version
        );
        let reason = d
            .reasons
            .iter()
            .find(|r| r.code == "sanctions.hit")
            .unwrap();
        assert_eq!(reason.policy.as_deref(), Some("sanctions"));
    }
}

#[test]
fn bitcoin_and_tron_sample_entries_are_denied() {
    let g = default_gate();
    let cases = [
        ("bitcoin", "BC1QMXVX949QCSTTQUXZ3PC8MX5GYE7C6WK69EKPCH"),
        ("bitcoin", "3ETKgQidFDWeyE6upjwuhtstkf55ienqV3"),
        (
            "bitcoin",
            "bc1p0urgmrrks7vf5w70va5lx7dyn0j94h40n3d5vj04n20y3ylfhpqsdvqfkm",
        ),
        ("tron", "TJ8cdyxm633Giuf6NrwWfWToBfVf1161gH"),
    ];
    for (i, (chain, dest)) in cases.iter().enumerate() {
        let d = g.evaluate(&withdrawal(&format!("b{i}"), "a1", chain, dest, 1, T0));
        assert_eq!(d.verdict, Verdict::Deny, "{chain} {dest}: {d:?}");
    }
}

#[test]
fn unscreenable_destinations_are_held_never_allowed() {
    let g = default_gate();
    let bad_checksum = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
    let d = g.evaluate(&withdrawal("u1", "a1", "ethereum", bad_checksum, 1, T0));
    assert_eq!(d.verdict, Verdict::Hold);
    assert!(codes(&d).contains(&"sanctions.invalid_address"), "{d:?}");

    let d = g.evaluate(&withdrawal(
        "u2",
        "a1",
        "bitcoin",
        "bc1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
        1,
        T0,
    ));
    assert_eq!(d.verdict, Verdict::Hold);
    assert!(codes(&d).contains(&"sanctions.invalid_address"), "{d:?}");

    let d = g.evaluate(&withdrawal("u3", "a1", "nosuchchain", CLEAN, 1, T0));
    assert_eq!(d.verdict, Verdict::Hold);
    assert!(codes(&d).contains(&"sanctions.unsupported_chain"), "{d:?}");
}

#[test]
fn the_chain_keeps_the_most_severe_verdict_and_every_reason() {
    let g = default_gate();
    // Designated, new destination and a fresh credential change at once.
    let mut w = withdrawal("c1", "a1", "ethereum", LAZARUS, 1, T0);
    w.destination_first_used_at = None;
    w.credential_changed_at = Some(T0 - HOUR);
    let d = g.evaluate(&w);
    assert_eq!(d.verdict, Verdict::Deny);
    let c = codes(&d);
    assert!(c.contains(&"sanctions.hit"), "{c:?}");
    assert!(c.contains(&"velocity.new_destination"), "{c:?}");
    assert!(c.contains(&"velocity.credential_change"), "{c:?}");
    // Policy order is kept.
    assert_eq!(c[0], "sanctions.hit");
}

#[test]
fn velocity_count_and_sum_limits_hold_and_slide() {
    let config = r#"{"rules":[
        {"scope":"account","window":"1h","max_count":3},
        {"scope":"account-asset","asset":"ETH","window":"24h","max_sum":1000}
    ],"new_destination_hours":0,"credential_change_hours":0}"#;
    let g = gate(vec![velocity(config)], Screener::default());
    let at = |m: u64| T0 + m * 60_000;
    let v = |id: &str, amount: u64, t: u64| {
        g.evaluate(&withdrawal(id, "acct", "ethereum", CLEAN, amount, t))
    };
    assert_eq!(v("1", 100, at(0)).verdict, Verdict::Allow);
    assert_eq!(v("2", 100, at(10)).verdict, Verdict::Allow);
    assert_eq!(v("3", 100, at(20)).verdict, Verdict::Allow);
    let d = v("4", 100, at(30));
    assert_eq!(d.verdict, Verdict::Hold);
    assert_eq!(codes(&d), vec!["velocity.count_1h"]);
    // The first withdrawal leaves the hour window at exactly 60 minutes.
    assert_eq!(v("5", 100, at(60)).verdict, Verdict::Allow);
    // Sum: 400 so far; 700 more would exceed 1000.
    let d = v("6", 700, at(200));
    assert_eq!(d.verdict, Verdict::Hold);
    assert_eq!(
        codes(&d),
        vec!["velocity.account_asset_eth_sum_24h"],
        "{d:?}"
    );
    assert_eq!(v("7", 600, at(201)).verdict, Verdict::Allow);
    // Another account is unaffected.
    let other = g.evaluate(&withdrawal("8", "other", "ethereum", CLEAN, 1000, at(202)));
    assert_eq!(other.verdict, Verdict::Allow);
}

#[test]
fn held_withdrawals_are_not_counted() {
    let config = r#"{"rules":[{"scope":"account","window":"1h","max_count":1}],
        "new_destination_hours":24,"credential_change_hours":0}"#;
    let g = gate(vec![velocity(config)], Screener::default());
    let mut fresh = withdrawal("n1", "acct", "ethereum", CLEAN, 1, T0);
    fresh.destination_first_used_at = Some(T0 - HOUR);
    let d = g.evaluate(&fresh);
    assert_eq!(codes(&d), vec!["velocity.new_destination"]);
    // The held one did not use up the single allowed withdrawal.
    assert_eq!(
        g.evaluate(&withdrawal("n2", "acct", "ethereum", CLEAN, 1, T0 + 1))
            .verdict,
        Verdict::Allow
    );
}

#[test]
fn destination_rules_see_every_textual_variant_of_one_address() {
    let config = r#"{"rules":[{"scope":"destination","window":"1h","max_count":2}],
        "new_destination_hours":0,"credential_change_hours":0}"#;
    let g = gate(vec![velocity(config)], Screener::default());
    let forms = [
        CLEAN.to_string(),
        CLEAN.to_lowercase(),
        format!("0x{}", CLEAN[2..].to_uppercase()),
    ];
    let verdicts: Vec<Verdict> = forms
        .iter()
        .enumerate()
        .map(|(i, f)| {
            g.evaluate(&withdrawal(
                &format!("d{i}"),
                &format!("acct{i}"),
                "ethereum",
                f,
                1,
                T0 + i as u64,
            ))
            .verdict
        })
        .collect();
    assert_eq!(
        verdicts,
        vec![Verdict::Allow, Verdict::Allow, Verdict::Hold]
    );
}

#[test]
fn credential_change_and_new_destination_windows() {
    let g = gate(vec![velocity(r#"{"rules":[]}"#)], Screener::default());
    let mut w = withdrawal("k1", "a", "ethereum", CLEAN, 1, T0);
    w.credential_changed_at = Some(T0 - 47 * HOUR);
    assert_eq!(codes(&g.evaluate(&w)), vec!["velocity.credential_change"]);
    let mut w = withdrawal("k2", "a", "ethereum", CLEAN, 1, T0);
    w.credential_changed_at = Some(T0 - 49 * HOUR);
    assert_eq!(g.evaluate(&w).verdict, Verdict::Allow);
    let mut w = withdrawal("k3", "a", "ethereum", CLEAN, 1, T0);
    w.destination_first_used_at = Some(T0 - 23 * HOUR);
    assert_eq!(codes(&g.evaluate(&w)), vec!["velocity.new_destination"]);
    let mut w = withdrawal("k4", "a", "ethereum", CLEAN, 1, T0);
    w.destination_first_used_at = None;
    assert_eq!(codes(&g.evaluate(&w)), vec!["velocity.new_destination"]);
    let mut w = withdrawal("k5", "a", "ethereum", CLEAN, 1, T0);
    w.usd_cents = None;
    let d = g.evaluate(&w);
    assert_eq!(d.verdict, Verdict::Allow, "no USD rule configured: {d:?}");
}

#[test]
fn missing_usd_value_holds_under_usd_rules() {
    let g = gate(vec![velocity("{}")], Screener::default());
    let mut w = withdrawal("m1", "a", "ethereum", CLEAN, 1, T0);
    w.usd_cents = None;
    let d = g.evaluate(&w);
    assert_eq!(d.verdict, Verdict::Hold);
    assert!(codes(&d).contains(&"velocity.usd_unknown"), "{d:?}");
}

#[test]
fn same_id_replays_the_recorded_decision_and_counts_nothing_twice() {
    let config = r#"{"rules":[{"scope":"account","window":"1h","max_count":2}],
        "new_destination_hours":0,"credential_change_hours":0}"#;
    let g = gate(vec![velocity(config)], Screener::default());
    let w1 = withdrawal("id-1", "acct", "ethereum", CLEAN, 5, T0);
    let first = g.evaluate(&w1);
    assert_eq!(first.verdict, Verdict::Allow);
    assert!(!first.replayed);
    for _ in 0..5 {
        let again = g.evaluate(&w1);
        assert!(again.replayed);
        assert_eq!(again.verdict, first.verdict);
        assert_eq!(again.reasons, first.reasons);
    }
    // Only one was counted: a second distinct withdrawal is still allowed.
    assert_eq!(
        g.evaluate(&withdrawal("id-2", "acct", "ethereum", CLEAN, 5, T0 + 1))
            .verdict,
        Verdict::Allow
    );
    assert_eq!(
        g.evaluate(&withdrawal("id-3", "acct", "ethereum", CLEAN, 5, T0 + 2))
            .verdict,
        Verdict::Hold
    );
    // Same id, different content: a conflict, held, not the recorded allow.
    let mut changed = w1.clone();
    changed.amount = 6;
    let d = g.evaluate(&changed);
    assert_eq!(d.verdict, Verdict::Hold);
    assert_eq!(codes(&d), vec!["gate.idempotency_conflict"]);
}

#[test]
fn oversized_or_empty_fields_are_held_before_reaching_a_policy() {
    let g = default_gate();
    let long = "0x".to_string() + &"a".repeat(5000);
    let d = g.evaluate(&withdrawal("big", "a", "ethereum", &long, 1, T0));
    assert_eq!(d.verdict, Verdict::Hold);
    assert_eq!(codes(&d), vec!["gate.bad_input"]);
    let d = g.evaluate(&withdrawal(
        &"i".repeat(1000),
        "a",
        "ethereum",
        CLEAN,
        1,
        T0,
    ));
    assert_eq!(codes(&d), vec!["gate.bad_input"]);
    assert!(d.id.len() <= 128);
    let d = g.evaluate(&withdrawal("e", "", "ethereum", CLEAN, 1, T0));
    assert_eq!(codes(&d), vec!["gate.bad_input"]);
    let calls: u64 = g
        .policies()
        .iter()
        .map(|p| {
            p.counters()
                .calls
                .load(std::sync::atomic::Ordering::Relaxed)
        })
        .sum();
    assert_eq!(calls, 0, "no input crossed into a guest");
}

#[test]
fn a_gate_without_policies_holds() {
    let (g, _) = Gate::builder().build().unwrap();
    let d = g.evaluate(&withdrawal("x", "a", "ethereum", CLEAN, 1, T0));
    assert_eq!(d.verdict, Verdict::Hold);
    assert_eq!(codes(&d), vec!["gate.no_policies"]);
}

#[test]
fn bad_configs_are_refused_at_load_with_the_policys_message() {
    let cases = [
        (
            velocity(r#"{"rules":[{"scope":"account","window":"1x","max_count":1}]}"#),
            "unknown unit",
        ),
        (
            velocity(r#"{"rules":[{"scope":"account","window":"1h"}]}"#),
            "exactly one of",
        ),
        (velocity(r#"{"nonsense":true}"#), "unknown field"),
        (velocity("not json"), "invalid velocity config"),
        (sanctions(r#"{"lists":[]}"#), "`lists` is empty"),
    ];
    for (source, needle) in cases {
        let err = match builder(vec![source], Screener::default()).build() {
            Ok(_) => panic!("config accepted, expected `{needle}`"),
            Err(e) => e,
        };
        let msg = err.to_string();
        assert!(msg.contains("configuration refused"), "{msg}");
        assert!(msg.contains(needle), "{msg} should contain {needle}");
        assert!(msg.starts_with("bundled:"), "names the policy: {msg}");
    }
}

#[test]
fn concurrent_requests_never_overshoot_a_limit() {
    let config = r#"{"rules":[
        {"scope":"account","window":"1h","max_count":25},
        {"scope":"account-asset","window":"1h","max_sum":1000}
    ],"new_destination_hours":0,"credential_change_hours":0}"#;
    let g = Arc::new(gate(vec![velocity(config)], Screener::default()));
    let threads = 8;
    let per_thread = 50;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let g = g.clone();
            std::thread::spawn(move || {
                let mut allowed = Vec::new();
                for i in 0..per_thread {
                    let amount = 10 + ((t * 7 + i * 13) % 50) as u64;
                    let w = withdrawal(
                        &format!("t{t}-{i}"),
                        "victim",
                        "ethereum",
                        CLEAN,
                        amount,
                        T0 + i as u64,
                    );
                    if g.evaluate(&w).verdict == Verdict::Allow {
                        allowed.push(amount);
                    }
                }
                allowed
            })
        })
        .collect();
    let allowed: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let sum: u64 = allowed.iter().sum();
    assert!(
        allowed.len() <= 25,
        "count {} over the limit",
        allowed.len()
    );
    assert!(sum <= 1000, "sum {sum} over the limit");
    // And the limits were actually reached, so the test means something.
    assert!(
        allowed.len() >= 20 || sum >= 950,
        "count {} sum {sum}",
        allowed.len()
    );
}

#[test]
fn aot_cache_hits_on_warm_start_and_refuses_files_it_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let build = || {
        builder(vec![sanctions("{}")], bundled::sample_screener())
            .cache_dir(Some(dir.path().to_path_buf()))
            .build()
            .unwrap()
    };
    let (_, reports) = build();
    assert_eq!(reports[0].cache, CacheOutcome::Miss);
    let (g, reports) = build();
    assert_eq!(reports[0].cache, CacheOutcome::Hit);
    assert_eq!(
        g.evaluate(&withdrawal("x", "a", "ethereum", LAZARUS, 1, T0))
            .verdict,
        Verdict::Deny
    );

    // Tamper with the artifact: it must be rejected (recompiled), never loaded.
    let artifact = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .expect("an artifact was written");
    let mut bytes = std::fs::read(&artifact).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&artifact, &bytes).unwrap();
    let (g, reports) = build();
    assert_eq!(reports[0].cache, CacheOutcome::Rejected);
    assert_eq!(
        g.evaluate(&withdrawal("y", "a", "ethereum", LAZARUS, 1, T0))
            .verdict,
        Verdict::Deny
    );
    // The rejected file was replaced by a good one.
    let (_, reports) = build();
    assert_eq!(reports[0].cache, CacheOutcome::Hit);

    // A precompiled artifact dropped in from outside (valid for this engine,
    // but not written by the cache) is refused too.
    let engine = wasmtime::Engine::new(
        wasmtime::Config::new()
            .wasm_component_model(true)
            .epoch_interruption(true),
    )
    .unwrap();
    let foreign = engine.precompile_component(bundled::SANCTIONS).unwrap();
    std::fs::write(&artifact, foreign).unwrap();
    let (_, reports) = build();
    assert_eq!(reports[0].cache, CacheOutcome::Rejected);
}

#[test]
fn swapping_lists_is_atomic_and_a_delisted_address_stops_matching() {
    use std::sync::atomic::{AtomicBool, Ordering};
    // Version 1 lists both addresses; version 2 delists LAZARUS and adds CLEAN.
    let v1 = format!("{LAZARUS} # v1 entry\n");
    let v2 = format!("{CLEAN} # v2 entry\n");
    let g = Arc::new(gate(vec![sanctions("{}")], screener_from("l", &v1)));
    let deny = |g: &Gate, id: &str, dest: &str| {
        g.evaluate(&withdrawal(id, "a", "ethereum", dest, 1, T0))
            .verdict
            == Verdict::Deny
    };
    assert!(deny(&g, "s0", LAZARUS));
    assert!(!deny(&g, "s1", CLEAN));

    // While lists flip between versions, every decision sees exactly one
    // version: exactly one of the two addresses is denied per snapshot.
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let reader = {
        let (g, stop, reads) = (g.clone(), stop.clone(), reads.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let screener = g.screener();
                let a = !screener.screen("ethereum", LAZARUS).unwrap().is_empty();
                let b = !screener.screen("ethereum", CLEAN).unwrap().is_empty();
                assert!(a != b, "a snapshot mixed list versions: {a} {b}");
                reads.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let s1 = screener_from("l", &v1);
    let s2 = screener_from("l", &v2);
    let mut swaps = 0u64;
    while swaps < 2_000 || reads.load(Ordering::Relaxed) < 2_000 {
        g.set_screener(if swaps.is_multiple_of(2) {
            s2.clone()
        } else {
            s1.clone()
        });
        swaps += 1;
        if swaps.is_multiple_of(64) {
            std::thread::yield_now();
        }
    }
    g.set_screener(s2);
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();

    // After the update the delisted address is allowed and the new one denied.
    assert!(!deny(&g, "s2", LAZARUS));
    assert!(deny(&g, "s3", CLEAN));
}
