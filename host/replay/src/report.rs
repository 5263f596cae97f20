//! The replay's report: a serde type (`--json` prints it whole) and its
//! text rendering for the terminal (lists capped).

use crate::chain::GenerationChain;
use riskgate::model::{HoldState, ReviewAction, Verdict};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Verdicts in table order.
pub const VERDICTS: [Verdict; 3] = [Verdict::Allow, Verdict::Hold, Verdict::Deny];

/// Index of a verdict in [`VERDICTS`].
pub fn index(v: Verdict) -> usize {
    match v {
        Verdict::Allow => 0,
        Verdict::Hold => 1,
        Verdict::Deny => 2,
    }
}

/// Everything a replay found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// What was read.
    pub log: LogSummary,
    /// The candidate: `recorded` (each decision's own generation),
    /// `policies` (the command line's) or `config` (a configuration file).
    pub candidate: String,
    /// Each generation's replayed chain: policies, sets, limits, and where
    /// each came from.
    pub chains: Vec<GenerationChain>,
    /// How the replay judged (history, clock, exclusions), in words.
    pub notes: Vec<String>,
    pub totals: Totals,
    /// `transitions[old][new]`, verdicts in allow, hold, deny order, over
    /// the decisions compared.
    pub transitions: [[u64; 3]; 3],
    /// Reason codes the candidate gave that the log did not, per decision
    /// (code → count).
    pub reasons_appeared: BTreeMap<String, u64>,
    /// Reason codes the log gave that the candidate did not.
    pub reasons_disappeared: BTreeMap<String, u64>,
    /// Every decision that changed, in log order.
    pub changed: Vec<Changed>,
    /// Records not compared because their logged outcome cannot be
    /// reproduced by replay (a wall-clock backstop, the clock, the store,
    /// the log itself), with what the candidate said.
    pub excluded: Vec<Changed>,
    /// Excluded records per logged `gate.*` code.
    pub excluded_by_code: BTreeMap<String, u64>,
    /// The review actions on HOLDs the log records (`resolution` records).
    pub resolutions: Resolutions,
    /// Each candidate policy against the log's recorded verdict of the
    /// policy of the same name.
    pub policies: Vec<PolicyAgreement>,
    /// Shadow policies' disagreements with the enforced verdict.
    pub shadow: Shadow,
    /// Verdicts over time, old and new.
    pub timeline: Timeline,
    /// Wall time of the replay (reading, building chains, deciding,
    /// comparing).
    pub elapsed_ms: u64,
    /// Of it, building the chains (loading or compiling policies, once per
    /// generation).
    pub chain_build_ms: u64,
    /// Records re-decided per second of wall time, chain builds left out.
    pub decisions_per_s: f64,
    /// CPU time of the replaying thread (the whole replay runs on it).
    pub cpu_ms: u64,
    /// Records re-decided per second of that thread's CPU time, chain
    /// builds left out: the one-core throughput, undisturbed by other work
    /// on the machine.
    pub decisions_per_cpu_s: f64,
}

/// What the log held.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LogSummary {
    pub files: Vec<String>,
    /// Decision records read.
    pub decisions: u64,
    /// `generation` records read.
    pub generations: u64,
    /// `reload_failed` records read.
    pub reloads_failed: u64,
    /// Torn last lines skipped (a crash in the middle of a write).
    pub torn_lines: u64,
    /// requested_at of the first and last decision.
    pub first_requested_at: Option<u64>,
    pub last_requested_at: Option<u64>,
}

/// The replay's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Decisions re-decided and compared.
    pub compared: u64,
    /// Of them, the same verdict, reason codes and hits.
    pub unchanged: u64,
    /// Of them, a different verdict, reason codes or hits.
    pub changed: u64,
    /// Of the changed, a different verdict.
    pub verdict_changed: u64,
    /// Records answered from the serving store (`replayed: true`, a retry):
    /// not re-decided, not history.
    pub replayed_skipped: u64,
    /// Records inside `--warmup`: history only, not re-decided.
    pub warmup: u64,
    /// Records re-decided but not compared (see [`Report::excluded`]).
    pub excluded: u64,
    /// Decisions the serving gate recorded, written to the replay's history
    /// (of them, ALLOWs adding to the windows).
    pub history_recorded: u64,
    pub history_allows: u64,
}

/// One decision, as logged and as re-decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    /// The log record's id.
    pub decision_id: String,
    /// The withdrawal's id.
    pub withdrawal_id: String,
    pub generation: u64,
    pub requested_at: u64,
    pub old_verdict: Verdict,
    pub new_verdict: Verdict,
    pub old_reasons: Vec<String>,
    pub new_reasons: Vec<String>,
    /// A logged HOLD's review as the log's `resolution` records left it
    /// (none: never reviewed in the log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<LoggedReview>,
}

impl Changed {
    /// The logged verdict, with the review of a HOLD: `hold (approved by
    /// alice, bob)`.
    pub fn old_text(&self) -> String {
        match &self.resolution {
            Some(r) => format!("{} ({})", self.old_verdict.as_str(), r.describe()),
            None => self.old_verdict.as_str().to_string(),
        }
    }
}

/// The review actions on HOLDs the log records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Resolutions {
    /// `resolution` records read.
    pub records: u64,
    /// Records per action (`approve`, `reject`, `expire`).
    pub by_action: BTreeMap<String, u64>,
    /// Holds reviewed in the log, by the state their last record left them
    /// in (`pending`: approved by fewer reviewers than required so far).
    pub by_state: BTreeMap<String, u64>,
    /// Approvals that counted in velocity: each added to the replay's
    /// history under the withdrawal's keys from the time it counted (the
    /// approval), as the serving store counted it.
    pub counted: u64,
}

/// A logged HOLD's review, from the log's `resolution` records of its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedReview {
    pub state: HoldState,
    /// The distinct reviewers who approved it, in order.
    pub approved_by: Vec<String>,
    /// Who rejected it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_by: Option<String>,
    /// Approvals it needs.
    pub required: u32,
    /// When its last action took effect.
    pub at: u64,
    /// When its approval started counting in velocity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted_at: Option<u64>,
}

impl LoggedReview {
    /// A review not acted on yet.
    pub fn new(required: u32) -> Self {
        LoggedReview {
            state: HoldState::Pending,
            approved_by: Vec::new(),
            rejected_by: None,
            required,
            at: 0,
            counted_at: None,
        }
    }

    /// Applies one logged action by `reviewer` at `at`, which left the
    /// hold in `state`.
    pub fn apply(
        &mut self,
        action: ReviewAction,
        reviewer: &str,
        state: HoldState,
        required: u32,
        at: u64,
        counted_at: Option<u64>,
    ) {
        match action {
            ReviewAction::Approve => {
                if !self.approved_by.iter().any(|r| r == reviewer) {
                    self.approved_by.push(reviewer.to_string());
                }
            }
            ReviewAction::Reject => self.rejected_by = Some(reviewer.to_string()),
            ReviewAction::Expire => {}
        }
        self.state = state;
        self.required = required;
        self.at = at;
        if counted_at.is_some() {
            self.counted_at = counted_at;
        }
    }

    /// `approved by alice, bob`, `rejected by carol`, `expired`, `pending,
    /// approved by alice (1 of 2)`.
    pub fn describe(&self) -> String {
        let approvers = self.approved_by.join(", ");
        match self.state {
            HoldState::Approved => format!("approved by {approvers}"),
            HoldState::Rejected => match &self.rejected_by {
                Some(r) => format!("rejected by {r}"),
                None => "rejected".into(),
            },
            HoldState::Expired => "expired".into(),
            HoldState::Pending if self.approved_by.is_empty() => "pending".into(),
            HoldState::Pending => format!(
                "pending, approved by {approvers} ({} of {})",
                self.approved_by.len(),
                self.required
            ),
        }
    }
}

/// One candidate policy against the log's verdicts of the policy of the
/// same name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicyAgreement {
    pub name: String,
    /// Decisions where the log records a verdict of a policy by this name.
    pub compared: u64,
    /// Of them, the same verdict.
    pub agreed: u64,
    /// Decisions compared where the log records no policy by this name.
    pub not_in_log: u64,
    /// `transitions[old][new]` of this policy's own verdict.
    pub transitions: [[u64; 3]; 3],
}

/// Shadow disagreements: a shadow policy's own verdict differed from the
/// decision's (enforced) verdict, counted per policy and pair of verdicts,
/// over the decisions compared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Shadow {
    /// As the log records them.
    pub log: Vec<ShadowCount>,
    /// As the candidate decided.
    pub replay: Vec<ShadowCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ShadowCount {
    pub policy: String,
    pub enforced: Verdict,
    pub shadow: Verdict,
    pub count: u64,
}

/// Verdicts of the compared decisions per time bucket (by requested_at).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Timeline {
    /// Width of a bucket, ms (a minute, five minutes, an hour or a day,
    /// whichever keeps the buckets to a few hundred).
    pub bucket_ms: u64,
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// Start, ms since the Unix epoch.
    pub start_ms: u64,
    /// Allow, hold, deny as logged.
    pub old: [u64; 3],
    /// Allow, hold, deny as re-decided.
    pub new: [u64; 3],
}

impl Timeline {
    /// Buckets `points` (requested_at, old verdict index, new verdict index).
    pub fn of(points: &[(u64, u8, u8)]) -> Timeline {
        let (Some(lo), Some(hi)) = (
            points.iter().map(|p| p.0).min(),
            points.iter().map(|p| p.0).max(),
        ) else {
            return Timeline::default();
        };
        const MINUTE: u64 = 60_000;
        let span = hi - lo;
        let bucket_ms = [MINUTE, 5 * MINUTE, 60 * MINUTE, 24 * 60 * MINUTE]
            .into_iter()
            .find(|b| span / b < 240)
            .unwrap_or(24 * 60 * MINUTE);
        let first = lo - lo % bucket_ms;
        let n = ((hi - first) / bucket_ms + 1) as usize;
        let mut buckets: Vec<Bucket> = (0..n)
            .map(|i| Bucket {
                start_ms: first + i as u64 * bucket_ms,
                old: [0; 3],
                new: [0; 3],
            })
            .collect();
        for &(t, old, new) in points {
            let b = &mut buckets[((t - first) / bucket_ms) as usize];
            b.old[old as usize] += 1;
            b.new[new as usize] += 1;
        }
        Timeline { bucket_ms, buckets }
    }
}

/// `2026-11-01 13:05:00Z` from ms since the Unix epoch.
pub fn utc(ms: u64) -> String {
    utc_parts(ms).map_or_else(
        || format!("{ms} ms"),
        |(t, _)| format!("{}Z", t.replace('T', " ")),
    )
}

/// `2026-11-01T13:05:00` and the milliseconds, from ms since the Unix
/// epoch; `None` past the calendar `time` handles.
pub fn utc_parts(ms: u64) -> Option<(String, u16)> {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()?;
    Some((
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        t.millisecond(),
    ))
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.2}%", part as f64 * 100.0 / whole as f64)
    }
}

impl Report {
    /// Whether anything compared changed.
    pub fn any_change(&self) -> bool {
        self.totals.changed > 0
    }

    /// The report for a terminal; at most `max_listed` changed and excluded
    /// decisions are listed (all are in the JSON).
    pub fn to_text(&self, max_listed: usize) -> String {
        let mut s = String::new();
        let t = &self.totals;
        let _ = writeln!(
            s,
            "replay of {} decision(s) from {} file(s) ({} generation record(s){}{}), candidate: {}",
            self.log.decisions,
            self.log.files.len(),
            self.log.generations,
            if self.log.reloads_failed > 0 {
                format!(", {} failed reload(s)", self.log.reloads_failed)
            } else {
                String::new()
            },
            if self.log.torn_lines > 0 {
                format!(", {} torn last line(s) skipped", self.log.torn_lines)
            } else {
                String::new()
            },
            self.candidate
        );
        if let (Some(a), Some(b)) = (self.log.first_requested_at, self.log.last_requested_at) {
            let _ = writeln!(s, "requested_at from {} to {}", utc(a), utc(b));
        }
        let _ = writeln!(s);
        for c in &self.chains {
            let _ = writeln!(
                s,
                "generation {}: limits fuel {} deadline {} us memory {} MiB (from {})",
                c.generation,
                c.limits.fuel,
                c.limits.deadline_us,
                c.limits.memory_mib,
                c.limits.from.as_str()
            );
            for p in &c.policies {
                let _ = writeln!(
                    s,
                    "  policy {} {} ({}, {}) sha256 {}…, config from {}, fuel {} from {}",
                    p.name,
                    p.version,
                    p.origin,
                    p.mode.as_str(),
                    &p.sha256[..12.min(p.sha256.len())],
                    p.config_from.as_str(),
                    p.fuel,
                    p.fuel_from.as_str()
                );
            }
            for l in &c.lists {
                let _ = writeln!(
                    s,
                    "  list {} version {}: {}{}",
                    l.name,
                    l.version,
                    l.from,
                    match &l.used_version {
                        Some(v) if *v != l.version => format!(" (version {v} used instead)"),
                        _ => String::new(),
                    }
                );
            }
        }
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "compared {}: {} changed ({} verdict), {} unchanged",
            t.compared, t.changed, t.verdict_changed, t.unchanged
        );
        let _ = writeln!(
            s,
            "not compared: {} replayed (retries answered from the store), {} warm-up, {} excluded",
            t.replayed_skipped, t.warmup, t.excluded
        );
        let _ = writeln!(
            s,
            "history: {} recorded decisions, {} allows and {} approved holds in the windows",
            t.history_recorded, t.history_allows, self.resolutions.counted
        );
        let r = &self.resolutions;
        if r.records > 0 {
            let counts = |map: &BTreeMap<String, u64>| {
                map.iter()
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                s,
                "holds reviewed in the log: {} resolution record(s) ({}); holds now {}",
                r.records,
                counts(&r.by_action),
                counts(&r.by_state)
            );
        }
        let _ = writeln!(s, "\ntransitions (rows: logged, columns: replayed)");
        let _ = writeln!(
            s,
            "{:>10} {:>10} {:>10} {:>10}",
            "", "allow", "hold", "deny"
        );
        for (i, row) in self.transitions.iter().enumerate() {
            let _ = writeln!(
                s,
                "{:>10} {:>10} {:>10} {:>10}",
                VERDICTS[i].as_str(),
                row[0],
                row[1],
                row[2]
            );
        }
        for (title, map) in [
            ("reasons appeared", &self.reasons_appeared),
            ("reasons disappeared", &self.reasons_disappeared),
        ] {
            if !map.is_empty() {
                let _ = writeln!(s, "\n{title}");
                for (code, n) in map {
                    let _ = writeln!(s, "  {n:>8}  {code}");
                }
            }
        }
        if !self.policies.is_empty() {
            let _ = writeln!(s, "\nper-policy agreement with the log");
            for p in &self.policies {
                let _ = writeln!(
                    s,
                    "  {}: {} of {} agree ({}){}",
                    p.name,
                    p.agreed,
                    p.compared,
                    pct(p.agreed, p.compared),
                    if p.not_in_log > 0 {
                        format!(", {} decision(s) without it in the log", p.not_in_log)
                    } else {
                        String::new()
                    }
                );
            }
        }
        for (title, list) in [
            ("shadow disagreements in the log", &self.shadow.log),
            ("shadow disagreements in the replay", &self.shadow.replay),
        ] {
            if !list.is_empty() {
                let _ = writeln!(s, "\n{title} (policy, enforced → shadow)");
                for c in list {
                    let _ = writeln!(
                        s,
                        "  {:>8}  {} {} → {}",
                        c.count,
                        c.policy,
                        c.enforced.as_str(),
                        c.shadow.as_str()
                    );
                }
            }
        }
        for (title, list) in [
            ("changed decisions", &self.changed),
            (
                "excluded records (not reproducible by replay)",
                &self.excluded,
            ),
        ] {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(s, "\n{title}: {}", list.len());
            for c in list.iter().take(max_listed) {
                let _ = writeln!(
                    s,
                    "  {} {} ({}): {} → {}  [{}] → [{}]",
                    c.decision_id,
                    c.withdrawal_id,
                    utc(c.requested_at),
                    c.old_text(),
                    c.new_verdict.as_str(),
                    c.old_reasons.join(", "),
                    c.new_reasons.join(", ")
                );
            }
            if list.len() > max_listed {
                let _ = writeln!(
                    s,
                    "  … and {} more (--json lists all)",
                    list.len() - max_listed
                );
            }
        }
        if !self.excluded_by_code.is_empty() {
            let _ = writeln!(s, "\nexcluded by logged code");
            for (code, n) in &self.excluded_by_code {
                let _ = writeln!(s, "  {n:>8}  {code}");
            }
        }
        let _ = writeln!(
            s,
            "\n{} ms ({} ms building chains), {:.0} decisions/s; {} ms CPU on one thread, \
             {:.0} decisions per CPU second",
            self.elapsed_ms,
            self.chain_build_ms,
            self.decisions_per_s,
            self.cpu_ms,
            self.decisions_per_cpu_s
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00Z");
        assert_eq!(utc(1_793_491_200_000), "2026-11-01 00:00:00Z");
        assert_eq!(utc(951_782_400_000 + 3_723_000), "2000-02-29 01:02:03Z");
        assert_eq!(
            utc_parts(951_782_400_000 + 3_723_042),
            Some(("2000-02-29T01:02:03".to_string(), 42))
        );
        assert_eq!(utc(u64::MAX), format!("{} ms", u64::MAX));
    }

    #[test]
    fn a_logged_review_reads_as_its_records_left_it() {
        use ReviewAction::{Approve, Expire, Reject};
        let mut r = LoggedReview::new(2);
        assert_eq!(r.describe(), "pending");
        r.apply(Approve, "alice", HoldState::Pending, 2, 10, None);
        r.apply(Approve, "alice", HoldState::Pending, 2, 11, None);
        assert_eq!(r.describe(), "pending, approved by alice (1 of 2)");
        r.apply(Approve, "bob", HoldState::Approved, 2, 12, Some(12));
        assert_eq!(r.describe(), "approved by alice, bob");
        assert_eq!((r.at, r.counted_at), (12, Some(12)));
        let mut r = LoggedReview::new(1);
        r.apply(Reject, "carol", HoldState::Rejected, 1, 5, None);
        assert_eq!(r.describe(), "rejected by carol");
        let mut r = LoggedReview::new(1);
        r.apply(Expire, "riskgate", HoldState::Expired, 1, 5, None);
        assert_eq!(r.describe(), "expired");
        let changed = Changed {
            decision_id: "d".into(),
            withdrawal_id: "w".into(),
            generation: 1,
            requested_at: 0,
            old_verdict: Verdict::Hold,
            new_verdict: Verdict::Deny,
            old_reasons: vec!["velocity.count_1h".into()],
            new_reasons: vec!["sanctions.hit".into()],
            resolution: Some(LoggedReview {
                approved_by: vec!["alice".into(), "bob".into()],
                state: HoldState::Approved,
                ..LoggedReview::new(2)
            }),
        };
        assert_eq!(changed.old_text(), "hold (approved by alice, bob)");
        let json = serde_json::to_value(&changed).unwrap();
        assert_eq!(json["resolution"]["state"], "approved");
        assert_eq!(json["resolution"]["approved_by"][1], "bob");
        let unreviewed = Changed {
            resolution: None,
            ..changed
        };
        assert_eq!(unreviewed.old_text(), "hold");
        assert!(
            serde_json::to_value(&unreviewed)
                .unwrap()
                .get("resolution")
                .is_none()
        );
    }

    #[test]
    fn timeline_buckets_by_span() {
        let h = 3_600_000;
        let t = Timeline::of(&[(10 * h + 5, 0, 1), (10 * h + 59_000, 0, 0), (11 * h, 2, 2)]);
        assert_eq!(t.bucket_ms, 60_000);
        assert_eq!(t.buckets.len(), 61);
        assert_eq!(t.buckets[0].old, [2, 0, 0]);
        assert_eq!(t.buckets[0].new, [1, 1, 0]);
        assert_eq!(t.buckets[60].new, [0, 0, 1]);
        let t = Timeline::of(&[(0, 0, 0), (3 * 24 * h, 1, 1)]);
        assert_eq!(t.bucket_ms, h);
        assert_eq!(t.buckets.len(), 73);
        let t = Timeline::of(&[(0, 0, 0), (30 * 24 * h, 1, 1)]);
        assert_eq!(t.bucket_ms, 24 * h);
        assert!(Timeline::of(&[]).buckets.is_empty());
    }
}
