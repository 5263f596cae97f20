//! Replays of decision logs written by `serve`'s own service (in process)
//! over the demo stream: the chain that wrote a log reproduces it exactly,
//! fuel faults included; a stricter candidate changes exactly the decisions
//! the log's history says it must; older logs and missing sets fail closed.

use riskgate::bundled;
use riskgate::gate::Gate;
use riskgate::model::{GateCode, Verdict, Withdrawal};
use riskgate_bench::demo;
use riskgate_replay::{Candidate, Options, PolicyArg, ReplayError, replay};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const N: usize = 3_000;
const DAY: u64 = 86_400_000;

fn stream(n: usize, seed: u64) -> Vec<Withdrawal> {
    demo::generate(n, seed, &bundled::sample_addresses())
        .into_iter()
        .map(|g| g.withdrawal)
        .collect()
}

/// The fuel of the bundled velocity policy's calls over `stream` at the
/// `p` quantile: as its budget, the costlier calls run out of fuel.
fn velocity_fuel_quantile(stream: &[Withdrawal], p: f64) -> u64 {
    let (gate, _) = Gate::builder()
        .policy(bundled::policies().remove(0))
        .policy(bundled::policies().remove(1))
        .screener(bundled::sample_screener())
        .max_clock_skew(None)
        .build()
        .unwrap();
    let mut trace = Vec::new();
    let mut fuel: Vec<u64> = stream
        .iter()
        .map(|w| {
            gate.evaluate_traced(w, &mut trace);
            trace[1].fuel
        })
        .collect();
    fuel.sort_unstable();
    fuel[((fuel.len() as f64 * p) as usize).min(fuel.len() - 1)]
}

const HEAD: &str = "velocity = \"memory\"\n[limits]\nmax_clock_skew_ms = 0\n";

/// Batches of 1 to 4 withdrawals, every 50th withdrawal sent again (a
/// retry, answered from the store) in the next batch.
fn batches(stream: &[Withdrawal]) -> Vec<Vec<Withdrawal>> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut retry: Option<Withdrawal> = None;
    while i < stream.len() {
        let n = 1 + i % 4;
        let mut batch: Vec<Withdrawal> = stream[i..(i + n).min(stream.len())].to_vec();
        if let Some(w) = retry.take() {
            batch.push(w);
        }
        if i % 50 < n {
            retry = Some(batch[0].clone());
        }
        out.push(batch);
        i += n;
    }
    out
}

fn records(log_dir: &Path) -> Vec<Value> {
    let (records, torn) = riskgate_serve::decision_log::read_all(log_dir).unwrap();
    assert_eq!(torn, 0);
    records
}

/// A log of the bundled chain, the velocity policy on a fuel budget that
/// the costlier tenth of its calls exceed; then a reload to sanctions in
/// shadow before velocity at its default fuel (a reload: generation 2).
fn serve_log(dir: &Path, stream: &[Withdrawal]) -> (PathBuf, PathBuf) {
    let fuel = velocity_fuel_quantile(stream, 0.9);
    let config = dir.join("riskgate.toml");
    let log_dir = dir.join("log");
    let (first, second) = stream.split_at(stream.len() * 2 / 3);
    riskgate_replay::testing::write_log(
        &config,
        &log_dir,
        &[
            (
                format!(
                    "{HEAD}[decision_log]\ndir = \"log\"\n[[policy]]\nbundled = \"sanctions\"\n\
                     [[policy]]\nbundled = \"velocity\"\nfuel = {fuel}\n"
                ),
                batches(first),
            ),
            // A reload: sanctions in shadow, velocity at its default fuel.
            (
                format!(
                    "{HEAD}[decision_log]\ndir = \"log\"\n[[policy]]\nbundled = \"sanctions\"\n\
                     mode = \"shadow\"\n[[policy]]\nbundled = \"velocity\"\n"
                ),
                batches(second),
            ),
        ],
    );
    (config, log_dir)
}

fn count(records: &[Value], f: impl Fn(&Value) -> bool) -> usize {
    records
        .iter()
        .filter(|r| r["event"] == "decision")
        .filter(|r| f(r))
        .count()
}

fn has_code(r: &Value, code: &str) -> bool {
    r["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["code"] == code)
}

#[test]
fn the_chain_that_wrote_a_log_reproduces_it_exactly_fuel_faults_included() {
    let dir = tempfile::tempdir().unwrap();
    let stream = stream(N, 7);
    let (_config, log_dir) = serve_log(dir.path(), &stream);
    let log = records(&log_dir);
    // The log has what the replay must reproduce.
    let decisions = count(&log, |_| true);
    let replayed = count(&log, |r| r["replayed"] == true);
    let fuel = count(&log, |r| has_code(r, GateCode::FuelExhausted.as_str()));
    for (verdict, least) in [("allow", 100), ("hold", 100), ("deny", 5)] {
        let n = count(&log, |r| r["verdict"] == verdict);
        assert!(n >= least, "{verdict}: {n}");
    }
    assert!(fuel > 10, "{fuel} fuel faults");
    assert!(replayed > 10, "{replayed} retries");
    assert!(count(&log, |r| has_code(r, "sanctions.hit")) > 0);

    let report = replay(&Options::new(vec![log_dir.clone()])).unwrap();
    let t = &report.totals;
    assert_eq!(report.log.decisions as usize, decisions);
    assert_eq!(report.log.generations, 2);
    assert_eq!(t.replayed_skipped as usize, replayed);
    assert_eq!(t.excluded, 0, "{:?}", report.excluded);
    assert_eq!(t.compared as usize, decisions - replayed);
    assert_eq!(
        t.changed,
        0,
        "{:#?}",
        &report.changed[..report.changed.len().min(5)]
    );
    assert_eq!(t.unchanged, t.compared);
    assert!(report.reasons_appeared.is_empty() && report.reasons_disappeared.is_empty());
    // No hold was reviewed while it was served.
    assert_eq!(
        report.resolutions,
        riskgate_replay::report::Resolutions::default()
    );
    // The diagonal of the transition table holds the log's verdicts.
    for (i, verdict) in ["allow", "hold", "deny"].into_iter().enumerate() {
        let logged = count(&log, |r| r["verdict"] == verdict && r["replayed"] != true);
        assert_eq!(report.transitions[i][i] as usize, logged, "{verdict}");
    }
    // Each chain's configuration came from the log; the fuel budget too.
    assert_eq!(report.chains.len(), 2);
    let velocity = &report.chains[0].policies[1];
    assert_eq!(velocity.fuel_from, riskgate_replay::Source::Log);
    assert!(velocity.fuel < riskgate::engine::DEFAULT_FUEL);
    assert_eq!(report.chains[1].policies[0].mode, riskgate::Mode::Shadow);
    // Every policy agrees with its logged verdicts.
    for p in &report.policies {
        assert_eq!(p.agreed, p.compared, "{p:?}");
        assert!(p.compared > 0);
    }
    // The shadow sanctions policy denied what velocity alone allowed or
    // held: the same disagreements in the log and in the replay.
    assert!(!report.shadow.log.is_empty());
    assert_eq!(report.shadow.log, report.shadow.replay);
    assert!(
        report
            .shadow
            .log
            .iter()
            .any(|c| c.policy == "sanctions" && c.shadow == Verdict::Deny)
    );
    // Recorded history: every logged decision without a gate reason.
    let recorded = count(&log, |r| {
        r["replayed"] != true
            && !r["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["code"].as_str().unwrap().starts_with("gate."))
    });
    assert_eq!(t.history_recorded as usize, recorded);
    // The timeline sums to the compared decisions, old and new alike.
    let sum = |pick: fn(&riskgate_replay::report::Bucket) -> [u64; 3]| {
        report
            .timeline
            .buckets
            .iter()
            .map(|b| pick(b).iter().sum::<u64>())
            .sum::<u64>()
    };
    assert_eq!(sum(|b| b.old), t.compared);
    assert_eq!(sum(|b| b.new), t.compared);
    assert_eq!(
        report.timeline.bucket_ms, 3_600_000,
        "a day of withdrawals: hours"
    );

    // The HTML page escapes and carries the table and the chart.
    let page = riskgate_replay::html::render(&report);
    assert!(page.contains("<svg id=\"chart-old\"") && page.contains("<svg id=\"chart-new\""));
    assert!(page.contains(&format!(
        "data-from=\"allow\" data-to=\"allow\">{}</td>",
        report.transitions[0][0]
    )));
    assert!(!page.contains("<script"));
}

#[test]
fn a_stricter_candidate_holds_exactly_the_allows_the_history_puts_over_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let stream = stream(N, 11);
    let (_config, log_dir) = serve_log(dir.path(), &stream);
    let strict = dir.path().join("strict.json");
    std::fs::write(
        &strict,
        r#"{"rules":[{"scope":"account","window":"24h","max_count":1}]}"#,
    )
    .unwrap();
    let mut options = Options::new(vec![log_dir.clone()]);
    options.candidate = Candidate::Policies(vec![
        PolicyArg::parse("bundled:sanctions", riskgate::Mode::Enforce),
        PolicyArg::parse(
            &format!("bundled:velocity={}", strict.display()),
            riskgate::Mode::Enforce,
        ),
    ]);
    let report = replay(&options).unwrap();

    // Expected from the log alone: a logged ALLOW is held when the account
    // already has a recorded ALLOW in the 24 hours before it (or after it,
    // recorded earlier: windows count later events too).
    let log = records(&log_dir);
    let mut allows: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut expected = BTreeSet::new();
    let mut kept = 0;
    for r in log.iter().filter(|r| r["event"] == "decision") {
        if r["replayed"] == true {
            continue;
        }
        let w = &r["withdrawal"];
        let account = w["account"].as_str().unwrap().to_string();
        let t = w["requested_at"].as_u64().unwrap();
        let prior = allows.get(&account).into_iter().flatten();
        let over = prior.into_iter().any(|&ts| ts + DAY > t);
        if r["verdict"] == "allow" {
            if over {
                expected.insert(r["decision_id"].as_str().unwrap().to_string());
            } else {
                kept += 1;
            }
            allows.entry(account).or_default().push(t);
        }
    }
    assert!(expected.len() > 20, "{} expected changes", expected.len());
    let held: BTreeSet<String> = report
        .changed
        .iter()
        .filter(|c| c.old_verdict == Verdict::Allow)
        .map(|c| {
            assert_eq!(c.new_verdict, Verdict::Hold, "{c:?}");
            assert!(
                c.new_reasons.contains(&"velocity.count_24h".to_string()),
                "{c:?}"
            );
            c.decision_id.clone()
        })
        .collect();
    assert_eq!(held, expected);
    assert_eq!(report.transitions[0][1] as usize, expected.len());
    assert_eq!(report.transitions[0][0] as usize, kept);
    assert_eq!(report.transitions[0][2], 0);
    assert!(report.reasons_appeared["velocity.count_24h"] as usize >= expected.len());
    assert!(report.any_change());
    // The velocity policy disagrees with its logged verdicts where the
    // decision changed; sanctions never.
    let by_name = |n: &str| report.policies.iter().find(|p| p.name == n).unwrap();
    assert_eq!(by_name("sanctions").agreed, by_name("sanctions").compared);
    assert!(by_name("velocity").compared - by_name("velocity").agreed >= expected.len() as u64);
    let text = report.to_text(5);
    assert!(
        text.contains(&format!("allow {:>10} {:>10}", kept, expected.len())),
        "{text}"
    );
    assert!(text.contains("more (--json lists all)"), "{text}");
}

/// Removes from every generation record what older logs did not write.
fn as_older_log(log_dir: &Path) {
    let path = log_dir.join("decisions.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let mut r: Value = serde_json::from_str(line).unwrap();
        if r["event"] == "generation" {
            r.as_object_mut().unwrap().remove("limits");
            for p in r["policies"].as_array_mut().unwrap() {
                p.as_object_mut().unwrap().remove("config");
                p.as_object_mut().unwrap().remove("fuel");
            }
        }
        out.push_str(&r.to_string());
        out.push('\n');
    }
    std::fs::write(&path, out).unwrap();
}

#[test]
fn an_older_log_needs_the_config_it_ran_with_and_sets_fail_closed() {
    let dir = tempfile::tempdir().unwrap();
    let stream = stream(600, 3);
    // A list besides the sample: replay must be given its set file.
    let extra = dir.path().join("extra.txt");
    std::fs::write(&extra, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\n").unwrap();
    let config = dir.path().join("riskgate.toml");
    let log_dir = dir.path().join("log");
    riskgate_replay::testing::write_log(
        &config,
        &log_dir,
        &[(
            format!(
                "{HEAD}[decision_log]\ndir = \"log\"\n[[policy]]\nbundled = \"sanctions\"\n\
                 [[policy]]\nbundled = \"velocity\"\nconfig = {{ credential_change_hours = 1 }}\n\
                 [[list]]\nbundled = \"sample\"\n[[list]]\nname = \"extra\"\npath = \"extra.txt\"\n"
            ),
            batches(&stream),
        )],
    );

    let e = replay(&Options::new(vec![log_dir.clone()])).unwrap_err();
    assert!(
        matches!(&e, ReplayError::Lists(m) if m.contains("`extra`") && m.contains("--allow-missing-lists")),
        "{e}"
    );
    let mut options = Options::new(vec![log_dir.clone()]);
    options.allow_missing_lists = true;
    let report = replay(&options).unwrap();
    assert!(report.chains[0].lists[1].used_version.is_none());
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("--allow-missing-lists"))
    );

    options.allow_missing_lists = false;
    options.lists = vec![(Some("extra".into()), extra.clone())];
    let report = replay(&options).unwrap();
    assert_eq!(report.totals.changed, 0);
    // Another version of the list: refused unless accepted.
    let other = dir.path().join("other.txt");
    std::fs::write(&other, "0x098B716B8Aaf21512996dC57EB0615e2383E2f96\n").unwrap();
    options.lists = vec![(Some("extra".into()), other)];
    let e = replay(&options).unwrap_err();
    assert!(e.to_string().contains("--allow-list-mismatch"), "{e}");

    // A torn last line (a crash mid-write) is skipped and counted; a bad
    // line before the end is an error naming the file and line.
    options.lists = vec![(Some("extra".into()), extra.clone())];
    let active = log_dir.join("decisions.jsonl");
    let text = std::fs::read_to_string(&active).unwrap();
    std::fs::write(
        &active,
        format!("{text}{{\"event\":\"decision\",\"v\":1,\"deci"),
    )
    .unwrap();
    let report = replay(&options).unwrap();
    assert_eq!(report.log.torn_lines, 1);
    assert_eq!(report.totals.changed, 0);
    std::fs::write(&active, format!("{{\"event\":\"decision\"\n{text}")).unwrap();
    let e = replay(&options).unwrap_err().to_string();
    assert!(e.contains("decisions.jsonl:1:"), "{e}");
    std::fs::write(&active, &text).unwrap();

    // Without the configuration in the log, --config supplies it.
    as_older_log(&log_dir);
    options.lists = vec![(Some("extra".into()), extra)];
    let e = replay(&options).unwrap_err();
    assert!(e.to_string().contains("--config"), "{e}");
    options.config = Some(config);
    let report = replay(&options).unwrap();
    assert_eq!(report.totals.changed, 0, "{:?}", report.changed.first());
    let velocity = &report.chains[0].policies[1];
    assert_eq!(velocity.config_from, riskgate_replay::Source::ConfigFile);
    assert_eq!(
        report.chains[0].limits.from,
        riskgate_replay::Source::ConfigFile
    );
}

#[test]
fn warmup_records_only_feed_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let stream = stream(1_200, 5);
    let (_config, log_dir) = serve_log(dir.path(), &stream);
    let mut options = Options::new(vec![log_dir]);
    options.warmup_ms = 6 * 3_600_000;
    let report = replay(&options).unwrap();
    let t = &report.totals;
    assert!(t.warmup > 100 && t.compared > 100, "{t:?}");
    assert_eq!(t.changed, 0);
    assert_eq!(
        t.warmup + t.compared + t.replayed_skipped + t.excluded,
        report.log.decisions
    );
}

#[test]
fn wall_clock_backstop_records_are_reported_apart() {
    let dir = tempfile::tempdir().unwrap();
    let stream = stream(400, 9);
    let (_config, log_dir) = serve_log(dir.path(), &stream);
    // The last decision as if the wall-clock backstop had cut it short.
    let active = log_dir.join("decisions.jsonl");
    let text = std::fs::read_to_string(&active).unwrap();
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last = lines
        .iter_mut()
        .rev()
        .find(|r| r["event"] == "decision" && r["replayed"] != true)
        .unwrap();
    last["verdict"] = "hold".into();
    last["reasons"] = serde_json::json!([{
        "code": GateCode::DeadlineBackstop.as_str(),
        "detail": "policy `velocity` faulted: deadline",
        "policy": "velocity"
    }]);
    let id = last["decision_id"].as_str().unwrap().to_string();
    let out: String = lines.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&active, out).unwrap();

    let report = replay(&Options::new(vec![log_dir])).unwrap();
    assert_eq!(report.totals.changed, 0);
    assert_eq!(report.totals.excluded, 1);
    assert_eq!(
        report.excluded_by_code[GateCode::DeadlineBackstop.as_str()],
        1
    );
    assert_eq!(report.excluded[0].decision_id, id);
    assert_eq!(report.excluded[0].old_verdict, Verdict::Hold);
}

/// Withdrawals of five accounts every ten minutes for two hours (one in
/// twelve to a designated address), in time order.
fn paced_stream() -> Vec<Withdrawal> {
    // On the sample list.
    let designated = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96".to_string();
    let start = 1_793_491_200_000; // 2026-11-01T00:00:00Z
    let mut out = Vec::new();
    for i in 0..12u64 {
        for a in 0..5u64 {
            let at = start + i * 600_000 + a * 1_000;
            out.push(Withdrawal {
                id: format!("p-{a}-{i}"),
                account: format!("acct-{a}"),
                asset: "ETH".into(),
                chain: "ethereum".into(),
                destination: if (i + a) % 12 == 5 {
                    designated.clone()
                } else {
                    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".into()
                },
                amount: 10 + a,
                decimals: 18,
                usd_cents: Some(1_000),
                requested_at: at,
                account_created_at: Some(at - 400 * DAY),
                credential_changed_at: None,
                destination_first_used_at: Some(at - 30 * DAY),
            });
        }
    }
    out
}

/// What the test did to each hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reviewed {
    Approved(u64),
    Rejected,
    Untouched,
}

/// Serves the paced stream one withdrawal at a time under two withdrawals
/// per account and hour; a minute after each HOLD, the first of every
/// three is approved by alice (and by her again: unchanged, not logged),
/// the second rejected by bob, the third left pending.
fn reviewed_log(dir: &Path) -> (PathBuf, BTreeMap<String, Reviewed>) {
    use riskgate::Resolution;
    use riskgate_replay::testing::{Step, write_log_steps};
    let config = dir.join("riskgate.toml");
    let log_dir = dir.join("log");
    let text = format!(
        "{HEAD}[decision_log]\ndir = \"log\"\n[[policy]]\nbundled = \"sanctions\"\n\
         [[policy]]\nbundled = \"velocity\"\nconfig = {{ rules = [{{ scope = \"account\", \
         window = \"1h\", max_count = 2 }}], new_destination_hours = 0, \
         credential_change_hours = 0 }}\n"
    );
    // Which withdrawals the serving chain holds depends on the approvals
    // before them: the same chain decides and reviews first, then the
    // steps are served.
    let mut policies = bundled::policies();
    policies[1].config = r#"{"rules":[{"scope":"account","window":"1h","max_count":2}],
        "new_destination_hours":0,"credential_change_hours":0}"#
        .into();
    let (gate, _) = policies
        .into_iter()
        .fold(Gate::builder(), |b, p| b.policy(p))
        .screener(bundled::sample_screener())
        .max_clock_skew(None)
        .build()
        .unwrap();
    let mut steps = Vec::new();
    let mut expected = Vec::new();
    let mut reviewed = BTreeMap::new();
    for w in paced_stream() {
        steps.push(Step::Batch(vec![w.clone()]));
        let d = gate.evaluate(&w);
        expected.push(d.verdict);
        if d.verdict != Verdict::Hold {
            continue;
        }
        let at = w.requested_at + 60_000;
        let mut resolve = |resolution: Resolution, at: u64| {
            gate.resolve_at(&w.id, &resolution, at).unwrap();
            steps.push(Step::Resolve {
                id: w.id.clone(),
                resolution,
                at,
            });
        };
        let action = match reviewed.len() % 3 {
            0 => {
                resolve(Resolution::approve("alice", "known customer"), at);
                resolve(Resolution::approve("alice", "again"), at + 1);
                Reviewed::Approved(at)
            }
            1 => {
                resolve(Resolution::reject("bob", "<unusual>"), at);
                Reviewed::Rejected
            }
            _ => Reviewed::Untouched,
        };
        reviewed.insert(w.id.clone(), action);
    }
    let (decisions, resolved) = write_log_steps(&config, &log_dir, &[(text, steps)]);
    let served: Vec<Verdict> = decisions.iter().map(|d| d.verdict).collect();
    assert_eq!(served, expected);
    let changed: Vec<bool> = resolved
        .iter()
        .map(|r| r.as_ref().unwrap().changed)
        .collect();
    assert_eq!(
        changed.iter().filter(|c| **c).count(),
        reviewed
            .values()
            .filter(|r| **r != Reviewed::Untouched)
            .count()
    );
    (log_dir, reviewed)
}

#[test]
fn approvals_in_the_log_count_in_the_history_from_their_approval() {
    let dir = tempfile::tempdir().unwrap();
    let (log_dir, reviewed) = reviewed_log(dir.path());
    let approved = reviewed
        .values()
        .filter(|r| matches!(r, Reviewed::Approved(_)))
        .count() as u64;
    let rejected = reviewed
        .values()
        .filter(|r| **r == Reviewed::Rejected)
        .count() as u64;
    assert!(approved >= 5 && rejected >= 5, "{reviewed:?}");
    let log = records(&log_dir);
    let resolutions: Vec<&Value> = log.iter().filter(|r| r["event"] == "resolution").collect();
    assert_eq!(resolutions.len() as u64, approved + rejected);

    // The chain that wrote it reproduces it: the approvals counted in the
    // history as they counted when it was served.
    let report = replay(&Options::new(vec![log_dir.clone()])).unwrap();
    assert_eq!(report.totals.excluded, 0);
    assert_eq!(report.totals.changed, 0, "{:#?}", report.changed);
    let r = &report.resolutions;
    assert_eq!(r.records, approved + rejected);
    assert_eq!(r.counted, approved);
    assert_eq!(
        r.by_action,
        BTreeMap::from([
            ("approve".to_string(), approved),
            ("reject".to_string(), rejected)
        ])
    );
    assert_eq!(
        r.by_state,
        BTreeMap::from([
            ("approved".to_string(), approved),
            ("rejected".to_string(), rejected)
        ])
    );
    for p in &report.policies {
        assert_eq!(p.agreed, p.compared, "{p:?}");
    }
    let text = report.to_text(5);
    assert!(
        text.contains(&format!(
            "holds reviewed in the log: {} resolution record(s) ({approved} approve, {rejected} reject)",
            approved + rejected
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("and {approved} approved holds in the windows")),
        "{text}"
    );

    // Without the resolution records, the history lacks the approvals:
    // some of what the log held would have been allowed.
    let stripped = dir.path().join("stripped.jsonl");
    let lines: String = log
        .iter()
        .filter(|r| r["event"] != "resolution")
        .map(|r| format!("{r}\n"))
        .collect();
    std::fs::write(&stripped, lines).unwrap();
    let without = replay(&Options::new(vec![stripped])).unwrap();
    assert!(without.totals.changed > 0);
    assert_eq!(without.resolutions.records, 0);
    for c in &without.changed {
        assert_eq!(
            (c.old_verdict, c.new_verdict),
            (Verdict::Hold, Verdict::Allow)
        );
        assert!(c.resolution.is_none());
    }
}

#[test]
fn a_changed_hold_shows_its_logged_review() {
    let dir = tempfile::tempdir().unwrap();
    let (log_dir, reviewed) = reviewed_log(dir.path());
    // A candidate without velocity rules allows every logged HOLD.
    let loose = dir.path().join("loose.json");
    std::fs::write(
        &loose,
        r#"{"rules":[],"new_destination_hours":0,"credential_change_hours":0}"#,
    )
    .unwrap();
    let mut options = Options::new(vec![log_dir]);
    options.candidate = Candidate::Policies(vec![
        PolicyArg::parse("bundled:sanctions", riskgate::Mode::Enforce),
        PolicyArg::parse(
            &format!("bundled:velocity={}", loose.display()),
            riskgate::Mode::Enforce,
        ),
    ]);
    let report = replay(&options).unwrap();
    // (A DENY that velocity also held changes its reasons only.)
    let held: BTreeMap<&str, &riskgate_replay::report::Changed> = report
        .changed
        .iter()
        .filter(|c| c.old_verdict != Verdict::Deny)
        .map(|c| {
            assert_eq!(
                (c.old_verdict, c.new_verdict),
                (Verdict::Hold, Verdict::Allow)
            );
            (c.withdrawal_id.as_str(), c)
        })
        .collect();
    assert_eq!(held.len(), reviewed.len());
    for (id, done) in &reviewed {
        let c = held[id.as_str()];
        let r = c.resolution.as_ref();
        match *done {
            Reviewed::Approved(at) => {
                let r = r.unwrap();
                assert_eq!(r.state, riskgate::model::HoldState::Approved);
                assert_eq!(r.approved_by, ["alice"]);
                assert_eq!((r.at, r.counted_at), (at, Some(at)));
                assert_eq!(c.old_text(), "hold (approved by alice)");
            }
            Reviewed::Rejected => {
                let r = r.unwrap();
                assert_eq!(r.state, riskgate::model::HoldState::Rejected);
                assert_eq!(r.rejected_by.as_deref(), Some("bob"));
                assert_eq!(r.counted_at, None);
                assert_eq!(c.old_text(), "hold (rejected by bob)");
            }
            Reviewed::Untouched => {
                assert!(r.is_none(), "{c:?}");
                assert_eq!(c.old_text(), "hold");
            }
        }
    }
    let text = report.to_text(usize::MAX);
    assert!(text.contains("hold (approved by alice) → allow"), "{text}");
    assert!(text.contains("hold (rejected by bob) → allow"), "{text}");
    let page = riskgate_replay::html::render(&report);
    assert!(page.contains("<td class=\"l\">hold (approved by alice)</td>"));
    assert!(page.contains("<table id=\"resolution-actions\">"));
    assert!(page.contains("<table id=\"resolution-states\">"));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["resolutions"]["by_action"]["approve"],
        reviewed
            .values()
            .filter(|r| matches!(r, Reviewed::Approved(_)))
            .count()
    );
    let first_approved = json["changed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["resolution"]["state"] == "approved")
        .unwrap();
    assert_eq!(first_approved["resolution"]["approved_by"][0], "alice");
}
