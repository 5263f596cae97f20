//! Native unit tests through riskgate-testkit's mock host, and the
//! fixtures in `fixtures/`.

use super::Velocity;
use riskgate_guest::prelude::*;
use riskgate_guest::{DAY_MS, HOUR_MS, MINUTE_MS};
use riskgate_testkit::Scenario;
use riskgate_testkit::mock::{HostCall, decide, decide_with_calls};
use riskgate_testkit::scenario::withdrawal;

/// A withdrawal the default rules allow: a USD value, a destination used a
/// month ago.
fn quiet(id: &str) -> Withdrawal {
    let w = withdrawal(id);
    Withdrawal {
        usd_cents: Some(35_000),
        destination_first_used_at: Some(w.requested_at - 30 * DAY_MS),
        ..w
    }
}

fn codes(d: &Decision) -> Vec<&str> {
    d.reasons.iter().map(|r| r.code.as_str()).collect()
}

#[test]
fn fixtures_pass_natively() {
    riskgate_testkit::fixture::assert_native_dir::<Velocity>(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures"
    ));
}

#[test]
fn the_default_rules_query_their_windows_in_order() {
    let (d, calls) = decide_with_calls::<Velocity>(&Scenario::new(quiet("w"))).unwrap();
    assert_eq!(d, Decision::allow());
    let asked: Vec<(Scope, u64)> = calls
        .iter()
        .map(|c| match c {
            HostCall::Window {
                scope, window_ms, ..
            } => (*scope, *window_ms),
            other => panic!("unexpected host call {other:?}"),
        })
        .collect();
    assert_eq!(
        asked,
        [
            (Scope::Account, 10 * MINUTE_MS),
            (Scope::Account, HOUR_MS),
            (Scope::Account, DAY_MS),
            (Scope::Account, DAY_MS),
            (Scope::Destination, HOUR_MS),
            (Scope::Destination, DAY_MS),
        ]
    );
}

#[test]
fn a_count_limit_counts_this_withdrawal() {
    let config =
        r#"{"rules":[{"scope":"account","window":"1h","max_count":3}],"new_destination_hours":0}"#;
    let mut s = Scenario::new(quiet("w")).config(config);
    for i in 0..2 {
        let mut h = quiet(&format!("h{i}"));
        h.requested_at -= MINUTE_MS;
        s = s.history(h);
    }
    assert_eq!(decide::<Velocity>(&s).unwrap().verdict, Verdict::Allow);
    let mut h = quiet("h2");
    h.requested_at -= MINUTE_MS;
    let d = decide::<Velocity>(&s.history(h)).unwrap();
    assert_eq!(codes(&d), ["velocity.count_1h"]);
    assert_eq!(
        d.reasons[0].detail,
        "4 withdrawals per account in 1h would exceed the limit of 3"
    );
}

#[test]
fn usd_limits_read_the_window_figure() {
    let s = Scenario::new(quiet("w")).window(
        Scope::Destination,
        DAY_MS,
        WindowStats {
            count: 1,
            sum: 0,
            usd_cents: 24_999_000,
        },
    );
    let d = decide::<Velocity>(&s).unwrap();
    assert_eq!(codes(&d), ["velocity.destination_usd_24h"]);
    assert_eq!(
        d.reasons[0].detail,
        "$250340.00 per destination in 24h would exceed the limit of $250000.00"
    );
}

#[test]
fn recent_events_are_held_with_their_age() {
    let mut w = quiet("w");
    w.credential_changed_at = Some(w.requested_at - 90 * MINUTE_MS);
    w.destination_first_used_at = Some(w.requested_at - 2 * HOUR_MS);
    let d = decide::<Velocity>(&Scenario::new(w)).unwrap();
    assert_eq!(
        codes(&d),
        ["velocity.new_destination", "velocity.credential_change"]
    );
    assert_eq!(
        d.reasons[0].detail,
        "destination first used 2h ago, less than 24h"
    );
    assert_eq!(
        d.reasons[1].detail,
        "credentials changed 1.5h ago, less than 48h"
    );
}

#[test]
fn a_store_failure_holds_every_rule_and_the_gate_holds_too() {
    let d = decide::<Velocity>(&Scenario::new(quiet("w")).window_error("down")).unwrap();
    assert_eq!(d.verdict, Verdict::Hold);
    let c = codes(&d);
    assert_eq!(
        c.iter().filter(|c| **c == "velocity.unavailable").count(),
        6
    );
    assert_eq!(c.last(), Some(&"gate.velocity_unavailable"));
}

#[test]
fn bad_configurations_are_refused() {
    for (config, why) in [
        (
            r#"{"rules":[{"scope":"account","window":"1x","max_count":1}]}"#,
            "unknown unit",
        ),
        (
            r#"{"rules":[{"scope":"account","window":0,"max_count":1}]}"#,
            "longer than zero",
        ),
        (
            r#"{"rules":[{"scope":"account","window":"1h","max_count":1},{"scope":"account","window":"1h","max_count":2}]}"#,
            "duplicate rule name",
        ),
        (
            r#"{"rules":[{"name":"Bad Name","scope":"account","window":"1h","max_count":1}]}"#,
            "must be non-empty ASCII",
        ),
        (
            r#"{"new_destination_hours":18446744073709551615}"#,
            "too large",
        ),
    ] {
        let e = decide::<Velocity>(&Scenario::new(quiet("w")).config(config)).unwrap_err();
        assert!(e.contains(why), "{config}: {e}");
    }
}
