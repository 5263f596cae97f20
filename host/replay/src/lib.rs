//! `riskgate replay`: re-decides every withdrawal of a decision log, in log
//! order, through a candidate chain, and reports what changed.
//!
//! # What is replayed, and against what
//!
//! - **The chain.** Without a candidate ([`Candidate::Recorded`]) each
//!   decision is re-decided by the chain of its own generation, as the
//!   log's `generation` record names it: bundled policies by name, files
//!   by path, each checked against the sha256 the log records; each
//!   policy's configuration and fuel and the generation's limits from the
//!   record (older logs lack them: `--config FILE`, the serve
//!   configuration the log was written under, supplies what is missing,
//!   matched by position and origin; the report says where each part came
//!   from). A candidate is given as policies ([`Candidate::Policies`],
//!   `--policy bundled:velocity=strict.json`) or as a serve configuration
//!   file ([`Candidate::Config`], `--candidate FILE`: its policies, modes,
//!   configurations, fuel and limits).
//! - **The sets.** Every chain screens against the sets the decision's
//!   generation names, at the versions it names: set files given with
//!   `--lists` are matched by name, and the bundled sample list stands for
//!   itself. A named set whose file is not given, or a file of another
//!   version, is an error (fail closed, never screen against nothing)
//!   unless `--allow-missing-lists` / `--allow-list-mismatch` accept it;
//!   the report then says so.
//! - **The history.** A fresh in-memory velocity store
//!   ([`store::History`]) holds what really happened: after each record,
//!   the decision the serving gate recorded (no `gate.*` reason, not a
//!   retry) is written to it, and a logged ALLOW adds to its windows. The
//!   candidate's own decisions are never recorded, so each decision is
//!   judged independently against the real history, not against the
//!   candidate's counterfactual allows. A `resolution` record whose
//!   approval counted (`counted`) adds the withdrawal to the history's
//!   windows under the keys it names, from the time it counted (the
//!   approval), as the serving store counted it; the report counts the
//!   resolutions by action and state, and shows a changed HOLD's review
//!   beside it. No id is answered from the store:
//!   every record is decided anew. Records with `replayed: true` (retries
//!   the serving store answered) are neither re-decided nor history: they
//!   are counted. `--warmup DURATION`: the records within DURATION of the
//!   first decision's requested_at only feed the history (for a log whose
//!   serving store already held older history).
//! - **The clock** is each withdrawal's requested_at: there is no
//!   clock-skew hold in replay.
//! - **Budget faults.** Fuel is deterministic, so `gate.fuel_exhausted`
//!   decisions reproduce. Records whose outcome replay cannot reproduce
//!   are re-decided but not compared, and reported apart (`excluded`):
//!   the wall-clock backstop (`gate.deadline_backstop`, in the log or in
//!   the replay), `gate.clock_skew`, `gate.idempotency_conflict` (ids are
//!   not looked up), `gate.velocity_unavailable` and
//!   `gate.log_unavailable`.
//!
//! # Throughput
//!
//! `cargo bench -p riskgate-replay --bench replay` writes a log of 50,000
//! decisions of the bundled chain over the demo stream through `serve`'s
//! own service, then replays it through the chain that wrote it on one
//! thread (the gate runs one policy call at a time; the history is a plain
//! window index). On the 2-core development VM, shared with other work:
//! criterion's median 99.2k decisions/s of wall time per whole replay
//! (reading, chain build, deciding, comparing), and 100-103k decisions per
//! CPU second of the replaying thread with the chain build left out
//! (`Report::decisions_per_cpu_s`, the one-core figure; a run prints its
//! median of five). The gate's own evaluation is most of it; the log is
//! read in chunks of whole lines, UTF-8 checked once, records parsed in
//! place into the fields replay needs, and the history is written through
//! the candidate gate's own commit (its keys at hand).
//!
//! A decision **changed** when its verdict, its multiset of (reason code,
//! policy) or its set of hits differ from the log's; reason details are not
//! compared. Limits: releases (`POST /v1/release`) are not in the log, so
//! a released ALLOW or approved HOLD still counts in the replay's windows;
//! concurrent requests over the same keys may have been logged in another
//! order than they were decided; and the history runs on across a restart
//! of `serve` (a new generation 1 in the log), while a serving store held
//! in memory started empty then (replay such a log per process, or with
//! `--warmup`).

pub mod chain;
pub mod html;
mod log;
pub mod report;
pub mod store;

pub use chain::{Candidate, PolicyArg, Source};
pub use report::Report;

use chain::{ChainBuilder, ChainOptions};
use log::{Code, Decided, Item, LogReader};
use report::{
    Changed, LoggedReview, PolicyAgreement, Resolutions, Shadow, ShadowCount, Timeline, Totals,
    index,
};
use riskgate::gate::{Gate, Mode, PolicyOutcome};
use riskgate::model::{Decision, GateCode, Hit, Reason, Verdict};
use riskgate::velocity::KeyParts;
use riskgate_serve::record::{GenerationRecord, ResolutionRecord};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("{path}:{line}: {message}")]
    Record {
        path: String,
        line: u64,
        message: String,
    },
    #[error("chain: {0}")]
    Chain(String),
    #[error("lists: {0}")]
    Lists(String),
    #[error(
        "decision {decision_id} is of generation {generation}, but no generation record of it \
         precedes it in the log (its start was rotated away?): give the chain with --policy or \
         --candidate"
    )]
    NoGeneration {
        decision_id: String,
        generation: u64,
    },
    #[error("replay history: {0}")]
    History(#[from] riskgate::velocity::VelocityError),
}

/// What to replay, and through what.
#[derive(Debug, Clone)]
pub struct Options {
    /// Log directories (their files in order) and files, in order.
    pub logs: Vec<PathBuf>,
    pub candidate: Candidate,
    /// A serve configuration file supplying what the log does not record.
    pub config: Option<PathBuf>,
    /// Set files, `[NAME=]FILE` split.
    pub lists: Vec<(Option<String>, PathBuf)>,
    pub allow_missing_lists: bool,
    pub allow_list_mismatch: bool,
    /// Records within this many ms of the first decision only warm the
    /// history.
    pub warmup_ms: u64,
    /// AOT cache directory (none: compile afresh).
    pub cache_dir: Option<PathBuf>,
}

impl Options {
    /// Replays `logs` through the chain they name.
    pub fn new(logs: Vec<PathBuf>) -> Self {
        Options {
            logs,
            candidate: Candidate::Recorded,
            config: None,
            lists: Vec::new(),
            allow_missing_lists: false,
            allow_list_mismatch: false,
            warmup_ms: 0,
            cache_dir: None,
        }
    }
}

/// Logged `gate.*` codes whose outcome replay cannot reproduce.
const NOT_REPRODUCIBLE: [GateCode; 5] = [
    GateCode::DeadlineBackstop,
    GateCode::ClockSkew,
    GateCode::IdempotencyConflict,
    GateCode::VelocityUnavailable,
    GateCode::LogUnavailable,
];

fn not_reproducible<'r>(reasons: impl IntoIterator<Item = &'r str>) -> Option<&'r str> {
    reasons
        .into_iter()
        .find(|code| NOT_REPRODUCIBLE.iter().any(|c| c.as_str() == *code))
}

/// Whether the logged reasons and the new ones are the same multiset of
/// (code, policy).
fn same_reasons(old: &[Code<'_>], new: &[Reason]) -> bool {
    if old.len() != new.len() {
        return false;
    }
    let pairs = |i: usize| {
        (
            (old[i].code.as_ref(), old[i].policy.as_deref()),
            (new[i].code.as_str(), new[i].policy.as_deref()),
        )
    };
    if (0..old.len()).all(|i| {
        let (a, b) = pairs(i);
        a == b
    }) {
        return true;
    }
    let mut a: Vec<_> = old
        .iter()
        .map(|r| (r.code.as_ref(), r.policy.as_deref()))
        .collect();
    let mut b: Vec<_> = new
        .iter()
        .map(|r| (r.code.as_str(), r.policy.as_deref()))
        .collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

fn same_hits(a: &[Hit], b: &[Hit]) -> bool {
    a.len() == b.len() && a.iter().all(|h| b.contains(h))
}

/// A chain in use: its gate and its policies' names.
struct Built {
    gate: Gate,
    names: Vec<String>,
}

/// The state of one replay.
struct Run {
    chain: ChainBuilder,
    history: store::History,
    /// Generation number → index in `generations` of its newest record.
    current: HashMap<u64, usize>,
    generations: Vec<GenerationRecord>,
    /// Built gates by generation record index.
    gates: HashMap<usize, Built>,
    chains: Vec<chain::GenerationChain>,
    trace: Vec<PolicyOutcome>,
    totals: Totals,
    transitions: [[u64; 3]; 3],
    appeared: BTreeMap<String, u64>,
    disappeared: BTreeMap<String, u64>,
    changed: Vec<Changed>,
    excluded: Vec<Changed>,
    excluded_by_code: BTreeMap<String, u64>,
    policies: Vec<PolicyAgreement>,
    shadow_log: BTreeMap<(String, Verdict, Verdict), u64>,
    shadow_replay: BTreeMap<(String, Verdict, Verdict), u64>,
    points: Vec<(u64, u8, u8)>,
    resolutions: Resolutions,
    /// The review of each hold reviewed in the log, as its records left it
    /// (forgotten when its id is decided again, after a release).
    reviews: HashMap<String, LoggedReview>,
    /// Changed (`false`) or excluded (`true`) logged HOLDs by withdrawal
    /// id, with their index there: where a later review is shown.
    held: HashMap<String, (bool, usize)>,
    /// Time spent building chains (compiling or loading policies).
    build_cpu: std::time::Duration,
    build_wall: std::time::Duration,
}

fn changed_entry(d: &Decided<'_>, new: &Decision) -> Changed {
    Changed {
        decision_id: d.decision_id.to_string(),
        withdrawal_id: d.withdrawal.id.clone(),
        generation: d.generation,
        requested_at: d.withdrawal.requested_at,
        old_verdict: d.verdict,
        new_verdict: new.verdict,
        old_reasons: d.reasons.iter().map(|r| r.code.to_string()).collect(),
        new_reasons: new.reasons.iter().map(|r| r.code.clone()).collect(),
        resolution: None,
    }
}

/// Counts each code of `a` not matched by one of `b` into `into`.
fn diff_codes<'r>(
    a: impl IntoIterator<Item = &'r str>,
    b: impl IntoIterator<Item = &'r str>,
    into: &mut BTreeMap<String, u64>,
) {
    let mut rest: Vec<&str> = b.into_iter().collect();
    for code in a {
        match rest.iter().position(|c| *c == code) {
            Some(i) => {
                rest.swap_remove(i);
            }
            None => *into.entry(code.to_string()).or_default() += 1,
        }
    }
}

impl Run {
    fn gate_for(&mut self, d: &Decided<'_>) -> Result<usize, ReplayError> {
        let Some(&g) = self.current.get(&d.generation) else {
            return Err(ReplayError::NoGeneration {
                decision_id: d.decision_id.to_string(),
                generation: d.generation,
            });
        };
        if !self.gates.contains_key(&g) {
            let cpu = thread_cpu();
            let started = Instant::now();
            let (gate, chain) = self
                .chain
                .build(&self.generations[g], self.history.velocity())?;
            self.build_cpu += thread_cpu().saturating_sub(cpu);
            self.build_wall += started.elapsed();
            let names = gate
                .policies()
                .iter()
                .map(|p| p.name().to_string())
                .collect();
            self.chains.push(chain);
            self.gates.insert(g, Built { gate, names });
        }
        Ok(g)
    }

    /// A decision of `id` was logged (not a retry): a review of an earlier
    /// decision under the id (released since) is no longer its.
    fn decided(&mut self, id: &str) {
        if !self.reviews.is_empty() {
            self.reviews.remove(id);
        }
        if !self.held.is_empty() {
            self.held.remove(id);
        }
    }

    /// A `resolution` record: counted in the figures, an approval that
    /// counted added to the history from the time it counted, and the
    /// hold's review shown beside its changed decision.
    fn resolution(&mut self, r: &ResolutionRecord) {
        let figures = &mut self.resolutions;
        figures.records += 1;
        *figures
            .by_action
            .entry(r.action.as_str().to_string())
            .or_default() += 1;
        let before = self.reviews.get(&r.id).map(|review| review.state);
        let review = self
            .reviews
            .entry(r.id.clone())
            .or_insert_with(|| LoggedReview::new(r.required));
        review.apply(
            r.action,
            &r.reviewer,
            r.state,
            r.required,
            r.at,
            r.counted.map(|c| c.at),
        );
        if let Some(state) = before
            && let Some(n) = figures.by_state.get_mut(state.as_str())
        {
            *n -= 1;
            if *n == 0 {
                figures.by_state.remove(state.as_str());
            }
        }
        *figures
            .by_state
            .entry(r.state.as_str().to_string())
            .or_default() += 1;
        if let Some(c) = r.counted {
            figures.counted += 1;
            self.history.approved(
                KeyParts {
                    account: r.account.clone(),
                    asset: r.asset.clone(),
                    chain: r.chain.clone(),
                    destination: r.destination.clone(),
                },
                r.requested_at,
                c.at,
                c.amount,
                c.usd_cents,
            );
        }
        if let Some(&(excluded, i)) = self.held.get(&r.id) {
            let list = if excluded {
                &mut self.excluded
            } else {
                &mut self.changed
            };
            list[i].resolution = Some(review.clone());
        }
    }

    fn decide(&mut self, d: &Decided<'_>) -> Result<(), ReplayError> {
        let g = self.gate_for(d)?;
        let built = &self.gates[&g];
        let new = built.gate.evaluate_traced(&d.withdrawal, &mut self.trace);
        let excluded_code =
            not_reproducible(d.reasons.iter().map(|r| r.code.as_ref())).or_else(|| {
                new.reasons
                    .iter()
                    .any(|r| r.code == GateCode::DeadlineBackstop.as_str())
                    .then_some(GateCode::DeadlineBackstop.as_str())
            });
        if let Some(code) = excluded_code {
            self.totals.excluded += 1;
            *self.excluded_by_code.entry(code.to_string()).or_default() += 1;
            self.excluded.push(changed_entry(d, &new));
            if d.verdict == Verdict::Hold {
                let at = self.excluded.len() - 1;
                self.held.insert(d.withdrawal.id.clone(), (true, at));
            }
            return Ok(());
        }
        self.totals.compared += 1;
        let (old_i, new_i) = (index(d.verdict), index(new.verdict));
        self.transitions[old_i][new_i] += 1;
        self.points
            .push((d.withdrawal.requested_at, old_i as u8, new_i as u8));
        let same = d.verdict == new.verdict
            && same_reasons(&d.reasons, &new.reasons)
            && same_hits(&d.hits, &new.hits);
        if same {
            self.totals.unchanged += 1;
        } else {
            self.totals.changed += 1;
            if d.verdict != new.verdict {
                self.totals.verdict_changed += 1;
            }
            let old_codes = || d.reasons.iter().map(|r| r.code.as_ref());
            let new_codes = || new.reasons.iter().map(|r| r.code.as_str());
            diff_codes(new_codes(), old_codes(), &mut self.appeared);
            diff_codes(old_codes(), new_codes(), &mut self.disappeared);
            self.changed.push(changed_entry(d, &new));
            if d.verdict == Verdict::Hold {
                let at = self.changed.len() - 1;
                self.held.insert(d.withdrawal.id.clone(), (false, at));
            }
        }
        // Per policy, by name, against the log's own verdicts.
        if !self.trace.is_empty() {
            for (outcome, name) in self.trace.iter().zip(&built.names) {
                let at = match self.policies.iter().position(|p| p.name == *name) {
                    Some(at) => at,
                    None => {
                        self.policies.push(PolicyAgreement {
                            name: name.clone(),
                            ..PolicyAgreement::default()
                        });
                        self.policies.len() - 1
                    }
                };
                let agreement = &mut self.policies[at];
                match d.policies.iter().find(|p| p.name == *name) {
                    Some(logged) => {
                        agreement.compared += 1;
                        if logged.verdict == outcome.verdict {
                            agreement.agreed += 1;
                        }
                        agreement.transitions[index(logged.verdict)][index(outcome.verdict)] += 1;
                    }
                    None => agreement.not_in_log += 1,
                }
                if outcome.mode == Mode::Shadow && outcome.verdict != new.verdict {
                    *self
                        .shadow_replay
                        .entry((name.clone(), new.verdict, outcome.verdict))
                        .or_default() += 1;
                }
            }
        }
        for run in &d.policies {
            if run.mode == Mode::Shadow && run.verdict != d.verdict {
                *self
                    .shadow_log
                    .entry((run.name.to_string(), d.verdict, run.verdict))
                    .or_default() += 1;
            }
        }
        Ok(())
    }
}

fn shadow_counts(map: BTreeMap<(String, Verdict, Verdict), u64>) -> Vec<ShadowCount> {
    map.into_iter()
        .map(|((policy, enforced, shadow), count)| ShadowCount {
            policy,
            enforced,
            shadow,
            count,
        })
        .collect()
}

/// Replays the logs `options` names and reports.
pub fn replay(options: &Options) -> Result<Report, ReplayError> {
    let started = Instant::now();
    let cpu_started = thread_cpu();
    let files = log::expand(&options.logs)?;
    let chain = ChainBuilder::new(ChainOptions {
        candidate: options.candidate.clone(),
        config: options.config.clone(),
        lists: options.lists.clone(),
        allow_missing_lists: options.allow_missing_lists,
        allow_list_mismatch: options.allow_list_mismatch,
        cache_dir: options.cache_dir.clone(),
    })?;
    let mut run = Run {
        chain,
        history: store::History::new(),
        current: HashMap::new(),
        generations: Vec::new(),
        gates: HashMap::new(),
        chains: Vec::new(),
        trace: Vec::new(),
        totals: Totals::default(),
        transitions: [[0; 3]; 3],
        appeared: BTreeMap::new(),
        disappeared: BTreeMap::new(),
        changed: Vec::new(),
        excluded: Vec::new(),
        excluded_by_code: BTreeMap::new(),
        policies: Vec::new(),
        shadow_log: BTreeMap::new(),
        shadow_replay: BTreeMap::new(),
        points: Vec::new(),
        resolutions: Resolutions::default(),
        reviews: HashMap::new(),
        held: HashMap::new(),
        build_cpu: std::time::Duration::ZERO,
        build_wall: std::time::Duration::ZERO,
    };
    let mut summary = report::LogSummary {
        files: files.iter().map(|f| f.display().to_string()).collect(),
        ..Default::default()
    };
    let mut reader = LogReader::new(files);
    let mut warm_until: Option<u64> = None;
    while let Some(line) = reader.next_line()? {
        let Some(item) = reader.parse(&line)? else {
            summary.torn_lines += 1;
            continue;
        };
        let d = match item {
            Item::Generation(g) => {
                if g.error.is_some() {
                    summary.reloads_failed += 1;
                } else {
                    summary.generations += 1;
                    run.current.insert(g.generation, run.generations.len());
                    run.generations.push(g);
                }
                continue;
            }
            Item::Resolution(r) => {
                run.resolution(&r);
                continue;
            }
            Item::Decision(d) => d,
        };
        summary.decisions += 1;
        let t = d.withdrawal.requested_at;
        summary.first_requested_at.get_or_insert(t);
        summary.last_requested_at = Some(t);
        if d.replayed {
            run.totals.replayed_skipped += 1;
            continue;
        }
        run.decided(&d.withdrawal.id);
        // What the serving gate recorded: every decision without a gate
        // reason, an ALLOW with its contribution; written once the
        // decision is re-decided (by the candidate gate's commit, or after).
        let recorded = (!d.reasons.iter().any(|r| GateCode::is_gate(&r.code))).then_some(d.verdict);
        run.history.expect(&d.withdrawal, recorded);
        let warm_until = *warm_until.get_or_insert(t.saturating_add(options.warmup_ms));
        if t < warm_until {
            run.totals.warmup += 1;
        } else {
            run.decide(&d)?;
        }
        run.history.record(&d.withdrawal)?;
    }
    summary.torn_lines += reader.torn_tails();
    let (recorded, allows) = run.history.counts();
    run.totals.history_recorded = recorded;
    run.totals.history_allows = allows;
    let elapsed = started.elapsed();
    let cpu = thread_cpu().saturating_sub(cpu_started);
    // Throughput counts the decisions, not the one-time chain builds
    // (reported apart).
    let deciding_cpu = cpu.saturating_sub(run.build_cpu);
    let deciding_wall = elapsed.saturating_sub(run.build_wall);
    let decided = run.totals.compared + run.totals.excluded;
    let candidate = match &options.candidate {
        Candidate::Recorded => "recorded (each decision's own generation)".to_string(),
        Candidate::Policies(p) => format!(
            "policies {}",
            p.iter()
                .map(|a| match &a.config {
                    Some(c) => format!("{}={}", a.component, c.display()),
                    None => a.component.clone(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Candidate::Config(path) => format!("config {}", path.display()),
    };
    let mut notes = vec![
        "history: a fresh in-memory velocity store holds the log's own recorded decisions \
         (its ALLOWs in the windows, and its approved HOLDs from their approval), not the \
         candidate's; each decision is judged independently against what really happened"
            .to_string(),
        "clock: each withdrawal's requested_at (no clock-skew hold in replay)".to_string(),
    ];
    if options.warmup_ms > 0 {
        notes.push(format!(
            "warm-up: records within {} ms of the first decision only fed the history",
            options.warmup_ms
        ));
    }
    if run
        .chains
        .iter()
        .any(|c| c.lists.iter().any(|l| l.used_version.is_none()))
    {
        notes.push(
            "a set the log names was missing and accepted (--allow-missing-lists): those \
             decisions were not screened against it"
                .into(),
        );
    }
    if run.chains.iter().any(|c| {
        c.lists
            .iter()
            .any(|l| l.used_version.as_ref().is_some_and(|v| *v != l.version))
    }) {
        notes.push(
            "a set of another version than the log names was used (--allow-list-mismatch)".into(),
        );
    }
    Ok(Report {
        log: summary,
        candidate,
        chains: run.chains,
        notes,
        totals: run.totals,
        transitions: run.transitions,
        reasons_appeared: run.appeared,
        reasons_disappeared: run.disappeared,
        changed: run.changed,
        excluded: run.excluded,
        excluded_by_code: run.excluded_by_code,
        resolutions: run.resolutions,
        policies: run.policies,
        shadow: Shadow {
            log: shadow_counts(run.shadow_log),
            replay: shadow_counts(run.shadow_replay),
        },
        timeline: Timeline::of(&run.points),
        elapsed_ms: elapsed.as_millis() as u64,
        chain_build_ms: run.build_wall.as_millis() as u64,
        decisions_per_s: per_second(decided, deciding_wall),
        cpu_ms: cpu.as_millis() as u64,
        decisions_per_cpu_s: per_second(decided, deciding_cpu),
    })
}

fn per_second(n: u64, d: std::time::Duration) -> f64 {
    if d.as_secs_f64() > 0.0 {
        n as f64 / d.as_secs_f64()
    } else {
        0.0
    }
}

/// CPU time of the calling thread.
pub fn thread_cpu() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Parses a duration: a number with `ms`, `s`, `m`, `h` or `d`.
pub fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}`: give a unit (ms, s, m, h, d)"))?;
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a duration"))?;
    let scale = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("`{text}`: the unit is one of ms, s, m, h, d")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("`{text}` is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("90s"), Ok(90_000));
        assert_eq!(parse_duration_ms("2h"), Ok(7_200_000));
        assert_eq!(parse_duration_ms("1d"), Ok(86_400_000));
        assert_eq!(parse_duration_ms("250ms"), Ok(250));
        assert!(parse_duration_ms("5").is_err());
        assert!(parse_duration_ms("5y").is_err());
        assert!(parse_duration_ms("h").is_err());
    }

    #[test]
    fn reason_codes_appear_and_disappear_as_multisets() {
        let mut appeared = BTreeMap::new();
        diff_codes(["a", "a", "b"], ["a", "c"], &mut appeared);
        assert_eq!(
            appeared,
            BTreeMap::from([("a".to_string(), 1), ("b".to_string(), 1)])
        );
    }

    #[test]
    fn reasons_compare_as_multisets_of_code_and_policy() {
        let old = |code: &'static str, policy: Option<&'static str>| Code {
            code: code.into(),
            policy: policy.map(Into::into),
        };
        let new = |code: &str, policy: Option<&str>| Reason {
            code: code.into(),
            detail: "details are not compared".into(),
            policy: policy.map(Into::into),
        };
        let logged = [old("a", Some("p")), old("b", None)];
        assert!(same_reasons(
            &logged,
            &[new("a", Some("p")), new("b", None)]
        ));
        assert!(same_reasons(
            &logged,
            &[new("b", None), new("a", Some("p"))]
        ));
        assert!(!same_reasons(
            &logged,
            &[new("a", Some("q")), new("b", None)]
        ));
        assert!(!same_reasons(&logged, &[new("a", Some("p"))]));
    }
}

/// Writing decision logs through `serve`'s own service, for tests and the
/// benchmark.
#[doc(hidden)]
pub mod testing {
    use riskgate::model::{Decision, Withdrawal};
    use riskgate::velocity::Velocity;
    use riskgate::{Resolution, ResolveError, Resolved};
    use riskgate_serve::config::Config;
    use riskgate_serve::decision_log::{DecisionLog, LogOptions};
    use riskgate_serve::record::ResolutionRecord;
    use riskgate_serve::service::Service;
    use std::path::Path;
    use std::sync::Arc;

    /// Serves `phases` in order as one `serve` process would, its decision
    /// log in `log_dir` and its velocity store in memory: each phase's
    /// configuration text is written to `config_path` (the first starts
    /// the service, each next one is a reload), then each batch of the
    /// phase is decided in order, as `POST /v1/evaluate` would.
    pub fn write_log(
        config_path: &Path,
        log_dir: &Path,
        phases: &[(String, Vec<Vec<Withdrawal>>)],
    ) -> Vec<Decision> {
        let phases: Vec<(String, Vec<Step>)> = phases
            .iter()
            .map(|(text, batches)| {
                (
                    text.clone(),
                    batches.iter().cloned().map(Step::Batch).collect(),
                )
            })
            .collect();
        write_log_steps(config_path, log_dir, &phases).0
    }

    /// One step of a served log.
    #[derive(Debug, Clone)]
    pub enum Step {
        /// A batch decided, as `POST /v1/evaluate` decides it.
        Batch(Vec<Withdrawal>),
        /// A review action on the hold `id` at `at` (ms): resolved by the
        /// generation served and, when it changed the hold, logged as a
        /// `resolution` record, as `serve` records one.
        Resolve {
            id: String,
            resolution: Resolution,
            at: u64,
        },
    }

    /// [`write_log`] with review actions between the batches: the decisions
    /// and each review action's answer, in order.
    pub fn write_log_steps(
        config_path: &Path,
        log_dir: &Path,
        phases: &[(String, Vec<Step>)],
    ) -> (Vec<Decision>, Vec<Result<Resolved, ResolveError>>) {
        let mut out = Vec::new();
        let mut resolved = Vec::new();
        let mut service: Option<Service> = None;
        for (text, batches) in phases {
            std::fs::write(config_path, text).expect("the config is written");
            match &service {
                None => {
                    let config = Config::from_file(config_path).expect("the config reads");
                    let velocity = Arc::new(Velocity::default());
                    let built = config.build(velocity.clone()).expect("the config builds");
                    let log = DecisionLog::open(&LogOptions::new(log_dir)).expect("the log opens");
                    service = Some(
                        Service::new(
                            config,
                            Some(config_path.to_path_buf()),
                            built,
                            velocity,
                            Some(log),
                        )
                        .expect("the service starts"),
                    );
                }
                Some(s) => {
                    let reloaded = s.reload();
                    assert!(reloaded.ok, "{:?}", reloaded.error);
                }
            }
            let s = service.as_ref().expect("started above");
            let g = s.current();
            for step in batches {
                match step {
                    Step::Batch(batch) => out.extend(s.evaluate(&g, batch)),
                    Step::Resolve { id, resolution, at } => {
                        let r = g.gate.resolve_at(id, resolution, *at);
                        if let Ok(r) = &r
                            && r.changed
                        {
                            let n = resolved.len() as u64;
                            let record = ResolutionRecord::of(
                                &r.hold,
                                format!("{:016x}{n:016x}", 0x7e57_u64),
                                *at,
                                g.number,
                            )
                            .expect("a reviewed hold has its last action");
                            let line = serde_json::to_vec(&record).expect("the record encodes");
                            s.log()
                                .expect("the log is open")
                                .append(&line)
                                .expect("the record is written");
                        }
                        resolved.push(r);
                    }
                }
            }
        }
        (out, resolved)
    }
}
