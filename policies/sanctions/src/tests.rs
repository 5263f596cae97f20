//! Native unit tests through riskgate-testkit's mock host, and the
//! fixtures in `fixtures/`.

use super::Sanctions;
use riskgate_guest::prelude::*;
use riskgate_testkit::Scenario;
use riskgate_testkit::mock::{HostCall, decide, decide_with_calls};
use riskgate_testkit::scenario::{DEFAULT_DESTINATION, withdrawal};

const LAZARUS: &str = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";

fn to(destination: &str) -> Scenario {
    Scenario::new(Withdrawal {
        destination: destination.into(),
        ..withdrawal("w-1")
    })
}

#[test]
fn fixtures_pass_natively() {
    riskgate_testkit::fixture::assert_native_dir::<Sanctions>(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures"
    ));
}

#[test]
fn a_hit_denies_with_the_evidence_and_names_it() {
    let s = to(LAZARUS).listed(
        "ofac-sdn",
        "2022-04-14",
        "ethereum",
        &LAZARUS.to_lowercase(),
        Some("Lazarus Group"),
    );
    let (d, calls) = decide_with_calls::<Sanctions>(&s).unwrap();
    assert_eq!(d.verdict, Verdict::Deny);
    assert_eq!(d.reasons.len(), 1);
    assert_eq!(d.reasons[0].code, "sanctions.hit");
    assert_eq!(
        d.reasons[0].detail,
        format!("destination {LAZARUS} is designated on ofac-sdn (2022-04-14): Lazarus Group")
    );
    assert_eq!(d.reasons[0].evidence.len(), 1);
    assert_eq!(d.reasons[0].evidence[0].address, LAZARUS);
    // One screening call, of the destination as typed.
    assert_eq!(calls.len(), 1);
    assert!(matches!(
        &calls[0],
        HostCall::Screen { chain, address, answer: Ok(hits) }
            if chain == "ethereum" && address == LAZARUS && hits.len() == 1
    ));
}

#[test]
fn several_lists_are_counted_in_the_detail() {
    let s = to(LAZARUS)
        .listed("a", "1", "ethereum", LAZARUS, None)
        .listed("b", "2", "ethereum", LAZARUS, None);
    let d = decide::<Sanctions>(&s).unwrap();
    assert_eq!(d.reasons[0].evidence.len(), 2);
    assert!(d.reasons[0].detail.ends_with("and 1 more list entries"));
}

#[test]
fn the_list_filter_keeps_only_named_lists() {
    let s = to(LAZARUS)
        .listed("a", "1", "ethereum", LAZARUS, None)
        .listed("b", "2", "ethereum", LAZARUS, None);
    let d = decide::<Sanctions>(&s.clone().config(r#"{"lists":["b"]}"#)).unwrap();
    assert_eq!(d.verdict, Verdict::Deny);
    assert_eq!(d.reasons[0].evidence.len(), 1);
    assert_eq!(d.reasons[0].evidence[0].list, "b");
    let d = decide::<Sanctions>(&s.config(r#"{"lists":["c"]}"#)).unwrap();
    assert_eq!(d.verdict, Verdict::Allow);
}

#[test]
fn unlisted_is_allowed_without_reasons() {
    let s = to(DEFAULT_DESTINATION).listed("a", "1", "ethereum", LAZARUS, None);
    let d = decide::<Sanctions>(&s).unwrap();
    assert_eq!(d, Decision::allow());
}

#[test]
fn unscreenable_destinations_are_held_or_denied_as_configured() {
    let bad = to("0x1234");
    let d = decide::<Sanctions>(&bad).unwrap();
    assert_eq!(d.verdict, Verdict::Hold);
    assert_eq!(d.reasons[0].code, "sanctions.invalid_address");
    assert!(
        d.reasons[0]
            .detail
            .starts_with("destination is not a valid ethereum address: ")
    );
    let d = decide::<Sanctions>(&bad.config(r#"{"on_unscreenable":"deny"}"#)).unwrap();
    assert_eq!(d.verdict, Verdict::Deny);

    let s = Scenario::new(Withdrawal {
        chain: "nowhere".into(),
        ..withdrawal("w-1")
    });
    let d = decide::<Sanctions>(&s).unwrap();
    assert_eq!(d.reasons[0].code, "sanctions.unsupported_chain");
    assert_eq!(
        d.reasons[0].detail,
        "destination cannot be screened: unsupported chain `nowhere`"
    );
}

#[test]
fn bad_configurations_are_refused() {
    for (config, why) in [
        (r#"{"lists":[]}"#, "`lists` is empty"),
        (r#"{"on_unscreenable":"allow"}"#, "unknown variant"),
        (r#"{"extra":1}"#, "unknown field"),
        ("not json", "invalid sanctions config"),
    ] {
        let e = decide::<Sanctions>(&to(LAZARUS).config(config)).unwrap_err();
        assert!(e.contains(why), "{config}: {e}");
    }
}
