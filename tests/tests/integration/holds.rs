//! Holds through the gate and the real policies: for any interleaving of
//! decisions, retries, approvals (one reviewer, or two under four eyes),
//! rejections, expiries, releases and restarts, the velocity windows are
//! those of a plain model that counts each ALLOW at its requested-at and
//! each approved HOLD from its approval, less what was released; every
//! review answer is the model's, and every recorded hold says what it
//! counted. The same operations run on a durable store that is reopened
//! at each restart and on a memory store that never restarts.

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use riskgate::address::Family;
use riskgate::model::{HoldState, ReviewAction, Verdict, Withdrawal};
use riskgate::velocity::{
    DurableOptions, DurableStore, HoldQuery, Keys, MemoryStore, Scope, Velocity, VelocityError,
    WindowStats,
};
use riskgate::{Decision, Gate, Resolution, ResolveError, Resolved, ReviewPolicy};
use riskgate_testkit::strategy::{self, ChainAddress};
use riskgate_tests::*;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

const MINUTE: u64 = 60_000;
/// On the test list: denied.
const DESIGNATED: &str = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";
/// A pending hold expires two hours after its requested-at.
const EXPIRY: u64 = 2 * HOUR;
const REVIEWERS: [&str; 3] = ["alice", "bob", "carol"];
/// Low limits, so that HOLDs happen often: two withdrawals per account and
/// hour, 900 minor units per account and asset and hour, three per
/// destination and hour; new destinations (a day) and recent credential
/// changes (two days) held too.
const CONFIG: &str = r#"{"rules":[
    {"name":"count_1h","scope":"account","window":"1h","max_count":2},
    {"name":"sum_1h","scope":"account-asset","window":"1h","max_sum":900},
    {"name":"dest_count_1h","scope":"destination","window":"1h","max_count":3}
],"new_destination_hours":24,"credential_change_hours":48}"#;
/// Four eyes for credential changes and destination fan-in.
const FOUR_EYES: [&str; 2] = ["velocity.credential_change", "velocity.dest"];
/// Windows compared after every step, and where they end, around the clock.
const WINDOWS: [u64; 3] = [10 * MINUTE, HOUR, 4 * HOUR];
const AT: [i64; 4] = [-(HOUR as i64), 0, 30 * MINUTE as i64, 2 * HOUR as i64];

fn review() -> ReviewPolicy {
    ReviewPolicy {
        approvals_required: FOUR_EYES.iter().map(|p| (p.to_string(), 2)).collect(),
        expire_after: Some(Duration::from_millis(EXPIRY)),
    }
}

/// The AOT cache every gate of this module loads from (a restart
/// rebuilds the gate: deserialised, not compiled again).
fn cache_dir() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
        .path()
        .to_path_buf()
}

fn gate_over(velocity: Arc<Velocity>) -> Gate {
    builder(
        vec![sanctions("{}"), riskgate_tests::velocity(CONFIG)],
        screener_from("test", DESIGNATED),
    )
    .velocity(velocity)
    .review(review())
    .cache_dir(Some(cache_dir()))
    .build()
    .expect("gate builds")
    .0
}

fn durable_gate(dir: &Path) -> Gate {
    let (store, _) = DurableStore::open(dir, DurableOptions::default()).expect("store opens");
    gate_over(Arc::new(Velocity::new(Arc::new(store))))
}

fn memory_gate() -> Gate {
    gate_over(Arc::new(Velocity::new(Arc::new(MemoryStore::default()))))
}

/// One step of a case.
#[derive(Debug, Clone)]
enum Op {
    /// A new withdrawal (its id fresh) of account `account` to destination
    /// `dest` (3: the designated one) typed in some spelling, requested
    /// `skew_min` minutes from the clock; its other fields (asset, USD
    /// value, account, credential and first-use times) from the testkit.
    Decide {
        w: Box<Withdrawal>,
        account: usize,
        dest: usize,
        spelling: Index,
        skew_min: i64,
        amount: u64,
    },
    /// The withdrawal of an id decided before, sent again.
    Retry(Pick),
    Approve(Pick, usize),
    Reject(Pick, usize),
    /// Failed on chain or cancelled: `Velocity::release`.
    Release(Pick),
    /// `Gate::expire_holds` at the clock.
    Expire,
    /// The clock moves on.
    Advance(u64),
    /// The durable gate is dropped and its store reopened.
    Restart,
}

/// Which ids an action picks from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Among {
    /// Any id decided (ALLOWs, DENYs and released ids included).
    Any,
    /// The pending holds, when there are any.
    Pending,
    /// The approved holds, when there are any.
    Approved,
}

/// An id decided before: one of `among`, or (a quarter of the time, or
/// when there is none) of all of them.
#[derive(Debug, Clone)]
struct Pick {
    index: Index,
    among: Among,
}

fn pick(among: Among) -> impl Strategy<Value = Pick> {
    (any::<Index>(), 0..4).prop_map(move |(index, n)| Pick {
        index,
        among: if n == 0 { Among::Any } else { among },
    })
}

fn op() -> impl Strategy<Value = Op> {
    let placeholder = ChainAddress {
        chain: "ethereum".into(),
        address: DESIGNATED.into(),
        family: Family::Evm,
    };
    prop_oneof![
        8 => (
            strategy::withdrawal_at(placeholder, T0).prop_map(|w| Box::new(riskgate_tests::scenario::to_model(&w))),
            0usize..2,
            0usize..4,
            any::<Index>(),
            -20i64..=20,
            1u64..500,
        )
            .prop_map(|(w, account, dest, spelling, skew_min, amount)| Op::Decide {
                w,
                account,
                dest,
                spelling,
                skew_min,
                amount,
            }),
        1 => pick(Among::Any).prop_map(Op::Retry),
        6 => (pick(Among::Pending), 0..REVIEWERS.len()).prop_map(|(i, r)| Op::Approve(i, r)),
        1 => (pick(Among::Pending), 0..REVIEWERS.len()).prop_map(|(i, r)| Op::Reject(i, r)),
        2 => pick(Among::Approved).prop_map(Op::Release),
        1 => Just(Op::Expire),
        3 => (0u64..120).prop_map(|m| Op::Advance(m * MINUTE)),
        1 => Just(Op::Restart),
    ]
}

/// Three EVM destinations and the designated one, each with its
/// spellings on `ethereum`.
fn destinations() -> impl Strategy<Value = Vec<Vec<String>>> {
    prop::collection::vec(strategy::canonical_of(Family::Evm), 3)
        .prop_filter("three distinct clean destinations", |cs| {
            let designated = riskgate::address::canonicalize("ethereum", DESIGNATED).unwrap();
            cs[0] != cs[1] && cs[1] != cs[2] && cs[0] != cs[2] && !cs.contains(&designated)
        })
        .prop_map(|mut cs| {
            cs.push(riskgate::address::canonicalize("ethereum", DESIGNATED).unwrap());
            cs.iter()
                .map(|c| {
                    strategy::every_spelling(c)
                        .into_iter()
                        .filter(|a| a.chain == "ethereum")
                        .map(|a| a.address)
                        .collect()
                })
                .collect()
        })
}

/// What the model knows of one recorded decision.
#[derive(Debug, Clone)]
struct Entry {
    w: Withdrawal,
    keys: Keys,
    verdict: Verdict,
    /// A HOLD's review.
    state: Option<HoldState>,
    required: u32,
    approvers: Vec<String>,
    /// When it counts in the windows: an ALLOW's requested-at, an approved
    /// HOLD's approval (never before its requested-at).
    counted: Option<u64>,
}

/// The model: the recorded decisions, and every withdrawal sent under
/// each id (the last one).
#[derive(Default)]
struct Model {
    recorded: BTreeMap<String, Entry>,
    sent: BTreeMap<String, Withdrawal>,
    /// Ids in the order first decided (the targets of review actions).
    ids: Vec<String>,
}

/// What the model says a review action answers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Changed(bool),
    Conflict(HoldState),
    NotAHold(Verdict),
    Unknown,
}

fn answer(r: &Result<Resolved, ResolveError>) -> Answer {
    match r {
        Ok(r) => Answer::Changed(r.changed),
        Err(ResolveError::Conflict { hold, .. }) => Answer::Conflict(hold.state),
        Err(ResolveError::NotAHold { verdict, .. }) => Answer::NotAHold(*verdict),
        Err(ResolveError::UnknownId(_)) => Answer::Unknown,
        Err(e) => panic!("unexpected review error: {e}"),
    }
}

fn keys_of(w: &Withdrawal) -> Keys {
    let canonical = riskgate::address::canonicalize(&w.chain, &w.destination).unwrap();
    Keys::new(w, canonical.as_str())
}

impl Model {
    fn required(reasons: &[riskgate::Reason]) -> u32 {
        let four_eyes = reasons
            .iter()
            .any(|r| FOUR_EYES.iter().any(|p| r.code.starts_with(p)));
        if four_eyes { 2 } else { 1 }
    }

    fn decided(&mut self, w: &Withdrawal, d: &Decision) {
        if !self.sent.contains_key(&w.id) {
            self.ids.push(w.id.clone());
        }
        self.sent.insert(w.id.clone(), w.clone());
        let hold = d.verdict == Verdict::Hold;
        self.recorded.insert(
            w.id.clone(),
            Entry {
                w: w.clone(),
                keys: keys_of(w),
                verdict: d.verdict,
                state: hold.then_some(HoldState::Pending),
                required: Self::required(&d.reasons),
                approvers: Vec::new(),
                counted: (d.verdict == Verdict::Allow).then_some(w.requested_at),
            },
        );
    }

    /// The id `p` picks, if any was decided.
    fn pick(&self, p: &Pick) -> Option<String> {
        let state = match p.among {
            Among::Any => None,
            Among::Pending => Some(HoldState::Pending),
            Among::Approved => Some(HoldState::Approved),
        };
        let some: Vec<&String> = self
            .ids
            .iter()
            .filter(|id| state.is_none() || self.recorded.get(*id).and_then(|e| e.state) == state)
            .collect();
        if !some.is_empty() {
            return Some(p.index.get(&some).to_string());
        }
        (!self.ids.is_empty()).then(|| p.index.get(&self.ids).clone())
    }

    /// Expires `e` if it is pending past its expiry at `now`.
    fn expired(e: &mut Entry, now: u64) -> bool {
        let due = e.state == Some(HoldState::Pending) && now >= e.w.requested_at + EXPIRY;
        if due {
            e.state = Some(HoldState::Expired);
        }
        due
    }

    fn approve(&mut self, id: &str, reviewer: &str, now: u64) -> Answer {
        let Some(e) = self.recorded.get_mut(id) else {
            return Answer::Unknown;
        };
        let Some(state) = e.state else {
            return Answer::NotAHold(e.verdict);
        };
        if Self::expired(e, now) {
            return Answer::Conflict(HoldState::Expired);
        }
        match state {
            HoldState::Pending => {
                if e.approvers.iter().any(|a| a == reviewer) {
                    return Answer::Changed(false);
                }
                e.approvers.push(reviewer.to_string());
                if e.approvers.len() as u32 >= e.required {
                    e.state = Some(HoldState::Approved);
                    e.counted = Some(now.max(e.w.requested_at));
                }
                Answer::Changed(true)
            }
            HoldState::Approved => Answer::Changed(false),
            settled => Answer::Conflict(settled),
        }
    }

    fn reject(&mut self, id: &str, now: u64) -> Answer {
        let Some(e) = self.recorded.get_mut(id) else {
            return Answer::Unknown;
        };
        let Some(state) = e.state else {
            return Answer::NotAHold(e.verdict);
        };
        if Self::expired(e, now) {
            return Answer::Conflict(HoldState::Expired);
        }
        match state {
            HoldState::Pending => {
                e.state = Some(HoldState::Rejected);
                Answer::Changed(true)
            }
            HoldState::Rejected => Answer::Changed(false),
            settled => Answer::Conflict(settled),
        }
    }

    fn expire(&mut self, now: u64) -> BTreeSet<String> {
        self.recorded
            .iter_mut()
            .filter_map(|(id, e)| Self::expired(e, now).then(|| id.clone()))
            .collect()
    }

    /// The window of `window` ms at `t` over the key of `scope` of `keys`
    /// (`sum` in `asset`).
    fn window(&self, keys: &Keys, scope: Scope, asset: &str, t: u64, window: u64) -> WindowStats {
        let mut stats = WindowStats::default();
        for e in self.recorded.values() {
            let Some(ts) = e.counted else { continue };
            if e.keys.get(scope) != keys.get(scope) || ts.saturating_add(window) <= t {
                continue;
            }
            stats.count += 1;
            stats.usd_cents += e.w.usd_cents.unwrap_or(0);
            if e.w.asset == asset {
                stats.sum += e.w.amount;
            }
        }
        stats
    }
}

/// The gates of a case: one on a durable store (reopened at each restart),
/// one on a memory store.
struct Gates {
    dir: tempfile::TempDir,
    durable: Option<Gate>,
    memory: Gate,
}

impl Gates {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let durable = Some(durable_gate(dir.path()));
        Gates {
            dir,
            durable,
            memory: memory_gate(),
        }
    }

    fn both(&self) -> [(&'static str, &Gate); 2] {
        [
            ("durable", self.durable.as_ref().expect("open")),
            ("memory", &self.memory),
        ]
    }

    fn restart(&mut self) {
        drop(self.durable.take());
        self.durable = Some(durable_gate(self.dir.path()));
    }
}

/// The gate's recorded decisions agree with the model's: each HOLD's
/// state, approvers and what it counted, each ALLOW's contribution, the
/// DENYs' none, released ids gone, and the review queue.
fn check_recorded(name: &str, g: &Gate, m: &Model) -> Result<(), TestCaseError> {
    let store = g.velocity().store();
    for id in &m.ids {
        let r = store.recorded(id).unwrap();
        let Some(e) = m.recorded.get(id) else {
            prop_assert!(r.is_none(), "{name}: released {id} is still recorded");
            continue;
        };
        let r = r.unwrap_or_else(|| panic!("{name}: {id} is not recorded"));
        prop_assert_eq!(r.decision.verdict, e.verdict, "{}: {}", name, id);
        prop_assert_eq!(
            r.contribution
                .as_ref()
                .map(|c| (c.ts, c.amount, c.usd_cents)),
            e.counted
                .map(|ts| (ts, e.w.amount, e.w.usd_cents.unwrap_or(0))),
            "{}: {} contributes as the model says",
            name,
            id
        );
        match e.state {
            None => {
                prop_assert!(r.decision.review.is_none(), "{}: {}", name, id);
                prop_assert_eq!(
                    g.hold(id).map(|_| ()),
                    Err(ResolveError::NotAHold {
                        id: id.clone(),
                        verdict: e.verdict
                    })
                );
            }
            Some(state) => {
                let hold = g.hold(id).unwrap();
                let review = hold.review().expect("a recorded hold has its review");
                prop_assert_eq!(hold.state, state, "{}: {}", name, id);
                prop_assert_eq!(review.required, e.required, "{}: {}", name, id);
                prop_assert_eq!(
                    review.approvers(),
                    e.approvers.iter().map(String::as_str).collect::<Vec<_>>(),
                    "{}: {}",
                    name,
                    id
                );
                // Approved ⇔ counted, from the time it says.
                prop_assert_eq!(review.counted_at, e.counted, "{}: {}", name, id);
                prop_assert_eq!(
                    review.counted_at.is_some(),
                    state == HoldState::Approved,
                    "{}: {}",
                    name,
                    id
                );
                prop_assert_eq!(
                    review.resolved_at.is_some(),
                    state.is_final(),
                    "{}: {}",
                    name,
                    id
                );
                prop_assert_eq!(
                    (review.amount, review.usd_cents),
                    (e.w.amount, e.w.usd_cents.unwrap_or(0))
                );
            }
        }
    }
    // The review queue holds exactly the recorded HOLDs, in their states.
    let queue: BTreeMap<String, HoldState> = g
        .holds(&HoldQuery {
            state: None,
            limit: usize::MAX,
            ..HoldQuery::default()
        })
        .unwrap()
        .into_iter()
        .map(|h| (h.id, h.state))
        .collect();
    let expected: BTreeMap<String, HoldState> = m
        .recorded
        .iter()
        .filter_map(|(id, e)| e.state.map(|s| (id.clone(), s)))
        .collect();
    prop_assert_eq!(queue, expected, "{}: the review queue", name);
    Ok(())
}

/// Every window of every key the case used, at several times around the
/// clock, as the model counts it.
fn check_windows(
    name: &str,
    g: &Gate,
    m: &Model,
    keys: &[Keys],
    now: u64,
) -> Result<(), TestCaseError> {
    let store = g.velocity().store();
    for k in keys {
        for (scope, asset) in [
            (Scope::Account, "ETH"),
            (Scope::AccountAsset, k.asset()),
            (Scope::Destination, "USDT"),
        ] {
            for window in WINDOWS {
                for at in AT {
                    let t = now.saturating_add_signed(at);
                    let got = store.window(k.get(scope), asset, t, window).unwrap();
                    let want = m.window(k, scope, asset, t, window);
                    prop_assert_eq!(
                        got,
                        want,
                        "{}: {:?} of {:?} over {} ms at {}",
                        name,
                        scope,
                        k.parts(),
                        window,
                        t
                    );
                }
            }
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24)
}

/// What the cases exercised, over the whole run (shrinking included): the
/// property is only as good as the holds it saw reviewed.
#[derive(Default, Debug)]
struct Seen {
    holds: Cell<u64>,
    counted: Cell<u64>,
    four_eyes: Cell<u64>,
    repeated: Cell<u64>,
    conflicts: Cell<u64>,
    not_a_hold: Cell<u64>,
    expired: Cell<u64>,
    released_approved: Cell<u64>,
    restarts: Cell<u64>,
}

fn bump(c: &Cell<u64>) {
    c.set(c.get() + 1);
}

#[test]
fn windows_count_allows_and_approved_holds_from_their_approval() {
    let cases = cases();
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        // The failure message carries the minimal case.
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let seen = Seen::default();
    let strategy = (destinations(), prop::collection::vec(op(), 4..48));
    if let Err(e) = runner.run(&strategy, |(dests, ops)| run_case(&dests, ops, &seen)) {
        panic!("{e}");
    }
    eprintln!("holds: {cases} cases: {seen:?}");
    if cases >= 24 {
        for (what, n) in [
            ("holds", &seen.holds),
            ("approvals that counted", &seen.counted),
            ("four-eyes approvals", &seen.four_eyes),
            ("repeated approvals", &seen.repeated),
            ("conflicts", &seen.conflicts),
            ("ALLOW or DENY reviewed", &seen.not_a_hold),
            ("expiries", &seen.expired),
            ("approved holds released", &seen.released_approved),
            ("restarts", &seen.restarts),
        ] {
            assert!(n.get() > 0, "no {what} in {cases} cases: {seen:?}");
        }
        assert!(seen.holds.get() >= u64::from(cases), "{seen:?}");
    }
}

/// One case: `ops` over fresh gates, checked against the model after
/// every step and after a last restart.
fn run_case(dests: &[Vec<String>], ops: Vec<Op>, seen: &Seen) -> Result<(), TestCaseError> {
    let mut gates = Gates::new();
    let mut m = Model::default();
    let mut now = T0;
    let mut keys: Vec<Keys> = Vec::new();
    for (n, op) in ops.into_iter().enumerate() {
        match op {
            Op::Decide {
                mut w,
                account,
                dest,
                spelling,
                skew_min,
                amount,
            } => {
                let at = now.saturating_add_signed(skew_min * MINUTE as i64);
                // The testkit's times are around T0: moved with it.
                let shift = |t: Option<u64>| t.map(|t| (t + at).saturating_sub(T0));
                w.account_created_at = shift(w.account_created_at);
                w.credential_changed_at = shift(w.credential_changed_at);
                w.destination_first_used_at = shift(w.destination_first_used_at);
                w.id = format!("w-{n}");
                w.account = format!("acct-{account}");
                w.destination = spelling.get(&dests[dest]).clone();
                w.requested_at = at;
                w.amount = amount;
                let mut decided = Vec::new();
                for (name, g) in gates.both() {
                    let d = g.evaluate(&w);
                    prop_assert!(!d.has_gate_reason(), "{}: {:?}", name, d);
                    prop_assert!(!d.replayed);
                    prop_assert_eq!(d.verdict == Verdict::Deny, dest == 3, "{}: {:?}", name, d);
                    decided.push(d.without_timing());
                }
                // The same windows: the same decision on both stores.
                prop_assert_eq!(&decided[0], &decided[1]);
                if decided[0].verdict == Verdict::Hold {
                    bump(&seen.holds);
                }
                m.decided(&w, &decided[0]);
                let k = keys_of(&w);
                if !keys.iter().any(|o| o.parts() == k.parts()) {
                    keys.push(k);
                }
            }
            Op::Retry(i) => {
                let Some(id) = m.pick(&i) else { continue };
                let w = m.sent[&id].clone();
                let recorded = m.recorded.get(&id).cloned();
                let mut decided = Vec::new();
                for (name, g) in gates.both() {
                    let d = g.evaluate(&w);
                    prop_assert!(!d.has_gate_reason(), "{}: {:?}", name, d);
                    match &recorded {
                        // The recorded decision, its review as it stands.
                        Some(e) => {
                            prop_assert!(d.replayed, "{}: {:?}", name, d);
                            prop_assert_eq!(d.verdict, e.verdict);
                            prop_assert_eq!(d.review.as_ref().map(|r| r.state), e.state);
                        }
                        // Released: decided anew.
                        None => prop_assert!(!d.replayed, "{}: {:?}", name, d),
                    }
                    decided.push(d.without_timing());
                }
                prop_assert_eq!(&decided[0], &decided[1]);
                if recorded.is_none() {
                    m.decided(&w, &decided[0]);
                }
            }
            Op::Approve(ref i, r) | Op::Reject(ref i, r) => {
                let Some(id) = m.pick(i) else { continue };
                let approving = matches!(op, Op::Approve(..));
                let reviewer = REVIEWERS[r];
                let before = m.recorded.get(&id).and_then(|e| e.counted);
                let want = if approving {
                    m.approve(&id, reviewer, now)
                } else {
                    m.reject(&id, now)
                };
                let (resolution, action) = if approving {
                    (
                        Resolution::approve(reviewer, "checked"),
                        ReviewAction::Approve,
                    )
                } else {
                    (Resolution::reject(reviewer, "no"), ReviewAction::Reject)
                };
                for (name, g) in gates.both() {
                    let got = g.resolve_at(&id, &resolution, now);
                    prop_assert_eq!(answer(&got), want.clone(), "{}: {} {:?}", name, id, got);
                    if let Err(ResolveError::Conflict {
                        action: refused, ..
                    }) = &got
                    {
                        prop_assert_eq!(*refused, action);
                    }
                }
                let e = m.recorded.get(&id);
                match &want {
                    Answer::Changed(true)
                        if before.is_none() && e.is_some_and(|e| e.counted.is_some()) =>
                    {
                        bump(&seen.counted);
                        if e.is_some_and(|e| e.required == 2) {
                            bump(&seen.four_eyes);
                        }
                    }
                    Answer::Changed(false) if approving => bump(&seen.repeated),
                    Answer::Conflict(state) => {
                        bump(&seen.conflicts);
                        if *state == HoldState::Expired {
                            bump(&seen.expired);
                        }
                    }
                    Answer::NotAHold(_) => bump(&seen.not_a_hold),
                    _ => {}
                }
            }
            Op::Release(i) => {
                let Some(id) = m.pick(&i) else { continue };
                let want = m.recorded.remove(&id);
                if want
                    .as_ref()
                    .is_some_and(|e| e.state == Some(HoldState::Approved))
                {
                    bump(&seen.released_approved);
                }
                for (name, g) in gates.both() {
                    match (&want, g.velocity().release(&id)) {
                        (Some(e), Ok(released)) => {
                            prop_assert_eq!(
                                released.had_contribution,
                                e.counted.is_some(),
                                "{}: {}",
                                name,
                                id
                            );
                        }
                        (None, Err(VelocityError::UnknownId(_))) => {}
                        (want, got) => {
                            return Err(TestCaseError::fail(format!(
                                "{name}: release {id}: {got:?}, the model has {want:?}"
                            )));
                        }
                    }
                }
            }
            Op::Expire => {
                let want = m.expire(now);
                for _ in &want {
                    bump(&seen.expired);
                }
                for (name, g) in gates.both() {
                    let got: BTreeSet<String> = g
                        .expire_holds(now, 1000)
                        .unwrap()
                        .into_iter()
                        .map(|h| h.id)
                        .collect();
                    prop_assert_eq!(&got, &want, "{}", name);
                }
            }
            Op::Advance(ms) => now += ms,
            Op::Restart => {
                bump(&seen.restarts);
                gates.restart();
            }
        }
        for (name, g) in gates.both() {
            check_recorded(name, g, &m)?;
            check_windows(name, g, &m, &keys, now)?;
        }
    }
    // A last restart: everything as the model has it.
    gates.restart();
    let (name, g) = gates.both()[0];
    check_recorded(name, g, &m)?;
    check_windows(name, g, &m, &keys, now)
}
