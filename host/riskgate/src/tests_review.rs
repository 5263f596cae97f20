//! `Gate::resolve` at its edges, on the bundled policies: four eyes,
//! idempotence, conflicts, expiry, bad requests, ids that are not holds,
//! and the recorded review a retry of the id returns.

use crate::bundled;
use crate::model::{HoldState, ReviewAction, Verdict, Withdrawal};
use crate::review::{EXPIRY_REVIEWER, MAX_NOTE_BYTES, MAX_REVIEWER_BYTES};
use crate::velocity::{HoldQuery, KeyParts, Keys, Scope};
use crate::{Gate, PolicySource, Resolution, ResolveError, Resolved, ReviewPolicy};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// 2026-11-25T00:00:00Z.
const T0: u64 = 1_795_564_800_000;
const MINUTE: u64 = 60_000;
const HOUR: u64 = 3_600_000;
const DAY: u64 = 24 * HOUR;
const CLEAN: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
/// On the bundled sample list.
const DESIGNATED: &str = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";
/// A pending hold expires six hours after its requested-at.
const EXPIRY: u64 = 6 * HOUR;

/// One gate for every test (each uses its own accounts and ids): one
/// withdrawal per account and hour (`velocity.count_1h`, one approval), a
/// destination used for the first time held (`velocity.new_destination`,
/// four eyes), the sample list denied.
fn gate() -> &'static Gate {
    static GATE: OnceLock<Gate> = OnceLock::new();
    GATE.get_or_init(|| {
        let config = r#"{"rules":[{"name":"count_1h","scope":"account","window":"1h","max_count":1}],
            "new_destination_hours":24,"credential_change_hours":0}"#;
        let mut policies = bundled::policies();
        let velocity = policies.pop().expect("bundled velocity");
        let sanctions = policies.pop().expect("bundled sanctions");
        Gate::builder()
            .policy(sanctions)
            .policy(PolicySource {
                config: config.into(),
                ..velocity
            })
            .screener(bundled::sample_screener())
            .max_clock_skew(None)
            // `resolve` reads the host clock: an hour after T0.
            .clock(Arc::new(|| T0 + HOUR))
            .review(ReviewPolicy {
                approvals_required: vec![("velocity.new_destination".into(), 2)],
                expire_after: Some(Duration::from_millis(EXPIRY)),
            })
            .build()
            .expect("the bundled policies load")
            .0
    })
}

/// A withdrawal of 10 ETH (worth $100) from `account` to `destination` at
/// `at`; `known`: the destination was first used a month before (else it
/// is new).
fn withdrawal(id: &str, account: &str, destination: &str, at: u64, known: bool) -> Withdrawal {
    Withdrawal {
        id: id.into(),
        account: account.into(),
        asset: "ETH".into(),
        chain: "ethereum".into(),
        destination: destination.into(),
        amount: 10,
        decimals: 18,
        usd_cents: Some(10_000),
        requested_at: at,
        account_created_at: Some(at - 400 * DAY),
        credential_changed_at: None,
        destination_first_used_at: known.then(|| at - 30 * DAY),
    }
}

fn codes(d: &crate::Decision) -> Vec<&str> {
    d.reasons.iter().map(|r| r.code.as_str()).collect()
}

/// Count and USD value of `account`'s window of `window` ms at `t`.
fn account_window(account: &str, t: u64, window: u64) -> (u64, u64) {
    let keys = Keys::from_parts(KeyParts {
        account: account.into(),
        asset: "ETH".into(),
        chain: "ethereum".into(),
        destination: String::new(),
    });
    let w = gate()
        .velocity()
        .store()
        .window(keys.get(Scope::Account), "ETH", t, window)
        .unwrap();
    (w.count, w.usd_cents)
}

fn approve(id: &str, reviewer: &str, at: u64) -> Result<Resolved, ResolveError> {
    gate().resolve_at(id, &Resolution::approve(reviewer, "ok"), at)
}

fn reject(id: &str, reviewer: &str, at: u64) -> Result<Resolved, ResolveError> {
    gate().resolve_at(id, &Resolution::reject(reviewer, "no"), at)
}

fn conflict_state(r: Result<Resolved, ResolveError>) -> (HoldState, ReviewAction) {
    match r {
        Err(ResolveError::Conflict { hold, action }) => (hold.state, action),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[test]
fn four_eyes_counts_once_when_the_second_distinct_reviewer_approves() {
    let g = gate();
    let d = g.evaluate(&withdrawal("fe-1", "fe", CLEAN, T0, false));
    assert_eq!(d.verdict, Verdict::Hold);
    assert_eq!(codes(&d), ["velocity.new_destination"]);
    let hold = g.hold("fe-1").unwrap();
    assert_eq!(hold.state, HoldState::Pending);
    assert_eq!(hold.review().unwrap().required, 2);
    assert_eq!(hold.expires_at, Some(T0 + EXPIRY));

    let first = approve("fe-1", "alice", T0 + MINUTE).unwrap();
    assert!(first.changed);
    assert_eq!(first.hold.state, HoldState::Pending);
    assert_eq!(first.hold.review().unwrap().approvers(), ["alice"]);
    assert_eq!(account_window("fe", T0 + HOUR, 2 * HOUR), (0, 0));
    // The same reviewer again: unchanged, still one approval.
    let again = approve("fe-1", "alice", T0 + 2 * MINUTE).unwrap();
    assert!(!again.changed);
    assert_eq!(again.hold, first.hold);
    assert_eq!(account_window("fe", T0 + HOUR, 2 * HOUR), (0, 0));

    let second = approve("fe-1", "bob", T0 + 3 * MINUTE).unwrap();
    assert!(second.changed);
    let review = second.hold.review().unwrap();
    assert_eq!(second.hold.state, HoldState::Approved);
    assert_eq!(review.approvers(), ["alice", "bob"]);
    assert_eq!(review.counted_at, Some(T0 + 3 * MINUTE));
    assert_eq!(review.resolved_at, Some(T0 + 3 * MINUTE));
    assert_eq!(second.hold.expires_at, None);
    assert_eq!(account_window("fe", T0 + HOUR, 2 * HOUR), (1, 10_000));
    // Counted from the approval: a window ending before it still sees it
    // (windows count later events), one that starts after it does not.
    assert_eq!(account_window("fe", T0 + 3 * MINUTE + HOUR, HOUR), (0, 0));
    assert_eq!(
        account_window("fe", T0 + 3 * MINUTE + HOUR - 1, HOUR),
        (1, 10_000)
    );

    // Settled: approving again changes nothing (a third reviewer
    // included), rejecting conflicts; nothing counts twice.
    for reviewer in ["alice", "bob", "carol"] {
        let r = approve("fe-1", reviewer, T0 + 4 * MINUTE).unwrap();
        assert!(!r.changed);
        assert_eq!(r.hold.review().unwrap().approvers(), ["alice", "bob"]);
    }
    assert_eq!(
        conflict_state(reject("fe-1", "carol", T0 + 5 * MINUTE)),
        (HoldState::Approved, ReviewAction::Reject)
    );
    assert_eq!(account_window("fe", T0 + HOUR, 2 * HOUR), (1, 10_000));
    assert_eq!(g.hold("fe-1").unwrap().state, HoldState::Approved);
}

#[test]
fn one_approval_counts_from_the_approval_never_before_the_withdrawal() {
    let g = gate();
    let allowed = g.evaluate(&withdrawal("one-1", "one", CLEAN, T0, true));
    assert_eq!(allowed.verdict, Verdict::Allow);
    let held = g.evaluate(&withdrawal("one-2", "one", CLEAN, T0 + 10 * MINUTE, true));
    assert_eq!(codes(&held), ["velocity.count_1h"]);
    assert_eq!(g.hold("one-2").unwrap().review().unwrap().required, 1);

    let r = approve("one-2", "alice", T0 + 20 * MINUTE).unwrap();
    assert!(r.changed);
    assert_eq!(r.hold.state, HoldState::Approved);
    assert_eq!(r.hold.review().unwrap().counted_at, Some(T0 + 20 * MINUTE));
    assert_eq!(account_window("one", T0 + 20 * MINUTE, HOUR), (2, 20_000));
    // At T0 + 1h05: the ALLOW (T0) is out of the hour, the approval in.
    assert_eq!(account_window("one", T0 + 65 * MINUTE, HOUR), (1, 10_000));
    // The next withdrawal of the hour is held for the approved one.
    let next = g.evaluate(&withdrawal("one-3", "one", CLEAN, T0 + 75 * MINUTE, true));
    assert_eq!(codes(&next), ["velocity.count_1h"]);

    // An approval stamped before the withdrawal's own time counts from
    // the withdrawal's time.
    let early = g.evaluate(&withdrawal("one-4", "one-b", CLEAN, T0 + HOUR, false));
    assert_eq!(early.verdict, Verdict::Hold);
    approve("one-4", "alice", T0).unwrap();
    let r = approve("one-4", "bob", T0 + 1).unwrap();
    assert_eq!(r.hold.review().unwrap().counted_at, Some(T0 + HOUR));
    assert_eq!(r.hold.review().unwrap().resolved_at, Some(T0 + 1));
    assert_eq!(
        account_window("one-b", T0 + 2 * HOUR - 1, HOUR),
        (1, 10_000)
    );
    assert_eq!(account_window("one-b", T0 + 2 * HOUR, HOUR), (0, 0));

    // Released (failed on chain): its contribution goes, as an ALLOW's.
    let released = g.velocity().release("one-2").unwrap();
    assert!(released.had_contribution);
    assert_eq!(account_window("one", T0 + 65 * MINUTE, HOUR), (0, 0));
    assert_eq!(
        approve("one-2", "alice", T0 + 80 * MINUTE),
        Err(ResolveError::UnknownId("one-2".into()))
    );
}

#[test]
fn a_rejection_is_idempotent_and_final() {
    let g = gate();
    g.evaluate(&withdrawal("rj-1", "rj", CLEAN, T0, false));
    let r = reject("rj-1", "carol", T0 + MINUTE).unwrap();
    assert!(r.changed);
    assert_eq!(r.hold.state, HoldState::Rejected);
    assert_eq!(r.hold.review().unwrap().resolved_at, Some(T0 + MINUTE));
    assert_eq!(r.hold.review().unwrap().counted_at, None);
    // Again, by anyone: unchanged.
    for reviewer in ["carol", "dave"] {
        let again = reject("rj-1", reviewer, T0 + 2 * MINUTE).unwrap();
        assert!(!again.changed);
        assert_eq!(again.hold.last_entry().unwrap().reviewer, "carol");
    }
    assert_eq!(
        conflict_state(approve("rj-1", "alice", T0 + 3 * MINUTE)),
        (HoldState::Rejected, ReviewAction::Approve)
    );
    assert_eq!(account_window("rj", T0, DAY), (0, 0));

    // A partly approved hold can still be rejected; its approval never
    // counted.
    g.evaluate(&withdrawal("rj-2", "rj", CLEAN, T0 + MINUTE, false));
    approve("rj-2", "alice", T0 + 2 * MINUTE).unwrap();
    let r = reject("rj-2", "bob", T0 + 3 * MINUTE).unwrap();
    assert_eq!(r.hold.state, HoldState::Rejected);
    assert_eq!(
        conflict_state(approve("rj-2", "carol", T0 + 4 * MINUTE)),
        (HoldState::Rejected, ReviewAction::Approve)
    );
    assert_eq!(account_window("rj", T0, DAY), (0, 0));
}

#[test]
fn a_hold_past_its_expiry_expires_and_refuses_approval() {
    // Two days before the other tests' withdrawals: `expire_holds` here
    // reaches none of theirs.
    let t = T0 - 2 * DAY;
    let g = gate();
    for (i, at) in [(1, t), (2, t + MINUTE), (3, t + 2 * MINUTE)] {
        let d = g.evaluate(&withdrawal(&format!("ex-{i}"), "ex", CLEAN, at, false));
        assert_eq!(d.verdict, Verdict::Hold);
    }
    // Due only once the whole expiry has passed; at most `limit`, oldest
    // first.
    assert!(g.expire_holds(t + EXPIRY - 1, 10).unwrap().is_empty());
    let expired = g.expire_holds(t + EXPIRY, 10).unwrap();
    assert_eq!(
        expired.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
        ["ex-1"]
    );
    let entry = expired[0].last_entry().unwrap();
    assert_eq!(entry.action, ReviewAction::Expire);
    assert_eq!(entry.reviewer, EXPIRY_REVIEWER);
    assert_eq!(expired[0].state, HoldState::Expired);
    assert_eq!(expired[0].review().unwrap().resolved_at, Some(t + EXPIRY));
    assert!(g.expire_holds(t + EXPIRY, 10).unwrap().is_empty());
    // An approval of an expired hold conflicts.
    assert_eq!(
        conflict_state(approve("ex-1", "alice", t + EXPIRY + 1)),
        (HoldState::Expired, ReviewAction::Approve)
    );

    // An approval after the expiry time expires the hold first, and is
    // refused (the hold keeps its earlier approval, never counted).
    approve("ex-2", "alice", t + HOUR).unwrap();
    let (state, action) = conflict_state(approve("ex-2", "bob", t + MINUTE + EXPIRY));
    assert_eq!((state, action), (HoldState::Expired, ReviewAction::Approve));
    let hold = g.hold("ex-2").unwrap();
    assert_eq!(hold.state, HoldState::Expired);
    assert_eq!(hold.review().unwrap().approvers(), ["alice"]);
    assert_eq!(hold.review().unwrap().counted_at, None);
    assert_eq!(
        hold.review().unwrap().resolved_at,
        Some(t + MINUTE + EXPIRY)
    );
    // So does a rejection; `expire_holds` then has nothing left but none.
    assert_eq!(
        conflict_state(reject("ex-3", "carol", t + 3 * MINUTE + EXPIRY)),
        (HoldState::Expired, ReviewAction::Reject)
    );
    assert!(g.expire_holds(t + DAY, 1).unwrap().is_empty());
    assert_eq!(account_window("ex", t, DAY), (0, 0));
    let expired = g
        .holds(&HoldQuery {
            state: Some(HoldState::Expired),
            requested_before: Some(t + DAY),
            ..HoldQuery::default()
        })
        .unwrap();
    assert_eq!(
        expired.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
        ["ex-1", "ex-2", "ex-3"]
    );
}

#[test]
fn bad_requests_are_refused_before_the_store() {
    let g = gate();
    g.evaluate(&withdrawal("bad-1", "bad", CLEAN, T0, false));
    let at = T0 + MINUTE;
    let too_long = "n".repeat(MAX_NOTE_BYTES + 1);
    assert_eq!(
        g.resolve_at("bad-1", &Resolution::approve("alice", &too_long), at),
        Err(ResolveError::NoteTooLong {
            len: MAX_NOTE_BYTES + 1,
            max: MAX_NOTE_BYTES
        })
    );
    let long_name = "r".repeat(MAX_REVIEWER_BYTES + 1);
    for name in ["", "al ice", "alice\n", "ålice", "a/b", long_name.as_str()] {
        assert!(
            matches!(
                g.resolve_at("bad-1", &Resolution::approve(name, ""), at),
                Err(ResolveError::BadRequest(_))
            ),
            "{name:?}"
        );
    }
    for id in ["", "bad\u{0}1", "bad\n1"] {
        assert!(
            matches!(
                g.resolve_at(id, &Resolution::approve("alice", ""), at),
                Err(ResolveError::BadRequest(_))
            ),
            "{id:?}"
        );
        assert!(matches!(g.hold(id), Err(ResolveError::BadRequest(_))));
    }
    // Expiry is the gate's own action.
    let expire = Resolution {
        action: ReviewAction::Expire,
        reviewer: "alice".into(),
        note: String::new(),
    };
    assert!(matches!(
        g.resolve_at("bad-1", &expire, at),
        Err(ResolveError::BadRequest(_))
    ));
    // None of it touched the hold; the longest note and name pass.
    assert!(
        g.hold("bad-1")
            .unwrap()
            .review()
            .unwrap()
            .entries
            .is_empty()
    );
    let longest = "r".repeat(MAX_REVIEWER_BYTES);
    let note = "n".repeat(MAX_NOTE_BYTES);
    let r = g
        .resolve_at("bad-1", &Resolution::approve("a.b_c-d@example", &note), at)
        .unwrap();
    assert!(r.changed);
    assert_eq!(r.hold.last_entry().unwrap().note, note);
    assert!(
        g.resolve_at("bad-1", &Resolution::approve(&longest, ""), at)
            .unwrap()
            .changed
    );
    assert_eq!(g.hold("bad-1").unwrap().state, HoldState::Approved);
}

#[test]
fn only_a_recorded_hold_is_reviewed() {
    let g = gate();
    let allow = g.evaluate(&withdrawal("nh-allow", "nh", CLEAN, T0, true));
    assert_eq!(allow.verdict, Verdict::Allow);
    let deny = g.evaluate(&withdrawal("nh-deny", "nh-d", DESIGNATED, T0, true));
    assert_eq!(deny.verdict, Verdict::Deny);
    for (id, verdict) in [("nh-allow", Verdict::Allow), ("nh-deny", Verdict::Deny)] {
        let not_a_hold = Err(ResolveError::NotAHold {
            id: id.into(),
            verdict,
        });
        assert_eq!(approve(id, "alice", T0 + MINUTE), not_a_hold);
        assert_eq!(reject(id, "alice", T0 + MINUTE), not_a_hold);
        assert_eq!(g.hold(id).map(|_| ()), not_a_hold.map(|_: Resolved| ()));
    }
    // The DENY never counts; the ALLOW counted once, as decided.
    assert_eq!(account_window("nh-d", T0, DAY), (0, 0));
    assert_eq!(account_window("nh", T0, DAY), (1, 10_000));
    assert_eq!(
        approve("nh-never", "alice", T0),
        Err(ResolveError::UnknownId("nh-never".into()))
    );
    assert_eq!(
        g.hold("nh-never").map(|_| ()),
        Err(ResolveError::UnknownId("nh-never".into()))
    );
    // A HOLD the gate faulted on (a gate reason) is not recorded: unknown.
    let mut bad = withdrawal("nh-bad", "nh-b", CLEAN, T0, true);
    bad.requested_at = 0;
    assert_eq!(g.evaluate(&bad).verdict, Verdict::Hold);
    assert_eq!(
        approve("nh-bad", "alice", T0),
        Err(ResolveError::UnknownId("nh-bad".into()))
    );
}

#[test]
fn a_retry_of_a_resolved_id_returns_the_decision_with_its_review() {
    let g = gate();
    let w = withdrawal("rt-1", "rt", CLEAN, T0, false);
    let fresh = g.evaluate(&w);
    assert_eq!(fresh.verdict, Verdict::Hold);
    assert!(!fresh.replayed);
    // Recorded pending.
    let pending = g.evaluate(&w);
    assert!(pending.replayed);
    let review = pending.review.as_ref().unwrap();
    assert_eq!((review.state, review.required), (HoldState::Pending, 2));
    assert_eq!((review.amount, review.usd_cents), (10, 10_000));

    approve("rt-1", "alice", T0 + MINUTE).unwrap();
    // `resolve` is `resolve_at` the host clock.
    let r = g.resolve("rt-1", &Resolution::approve("bob", "")).unwrap();
    assert_eq!(r.hold.review().unwrap().counted_at, Some(g.now()));
    let again = g.evaluate(&w);
    assert!(again.replayed);
    assert_eq!(again.verdict, Verdict::Hold);
    assert_eq!(codes(&again), codes(&fresh));
    let review = again.review.as_ref().unwrap();
    assert_eq!(review.state, HoldState::Approved);
    assert_eq!(review.approvers(), ["alice", "bob"]);
    assert_eq!(review.counted_at, Some(T0 + HOUR));
    assert_eq!(Some(review), r.hold.review());
    // The retry counted nothing more.
    assert_eq!(account_window("rt", T0 + HOUR, 2 * HOUR), (1, 10_000));
    // The queue lists it as approved, no longer as pending.
    let listed = |state| {
        g.holds(&HoldQuery {
            state: Some(state),
            limit: usize::MAX,
            ..HoldQuery::default()
        })
        .unwrap()
        .into_iter()
        .any(|h| h.id == "rt-1")
    };
    assert!(listed(HoldState::Approved));
    assert!(!listed(HoldState::Pending));
}
