//! Crash test of the embedded durable velocity store: `riskgate check
//! --velocity DIR` is SIGKILLed at pseudo-random points while deciding a
//! stream; after every restart, each decision any run printed is answered
//! again as recorded (replayed, same verdict), and at the end the store
//! counts exactly the allowed withdrawals: none lost, none twice.

use crate::support::account_stats;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_riskgate");
const T0: u64 = 1_795_564_800_000;
const ACCOUNTS: u64 = 12;
const PER_ACCOUNT: u64 = 100;
const KILLS: u64 = 24;

/// splitmix64: deterministic kill points.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Interleaved accounts, one withdrawal every 10 s: the default rule of
/// 10 per account per 10 minutes allows some and holds the rest.
fn stream() -> String {
    let mut out = String::new();
    for i in 0..ACCOUNTS * PER_ACCOUNT {
        let account = i % ACCOUNTS;
        out.push_str(&format!(
            concat!(
                r#"{{"id":"w-{}","account":"acct-{}","asset":"ETH","chain":"ethereum","#,
                r#""destination":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","amount":"{}","#,
                r#""decimals":18,"usd_cents":{},"requested_at":{},"destination_first_used_at":{}}}"#,
                "\n"
            ),
            i,
            account,
            1_000 + i,
            100 + i % 7,
            T0 + i * 10_000,
            T0 - 30 * 86_400_000u64,
        ));
    }
    out
}

fn spawn(dir: &Path, cache: &Path, input: &Path, checkpoint_every: &str) -> Child {
    Command::new(BIN)
        .args(["check", "--deadline-us", "250000", "--cache-dir"])
        .arg(cache)
        .arg("--velocity")
        .arg(dir)
        .arg("--input")
        .arg(input)
        .env("RISKGATE_NO_CLOCK_CHECK", "true")
        .env("RISKGATE_VELOCITY_CHECKPOINT_EVERY", checkpoint_every)
        .env_remove("RISKGATE_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn riskgate")
}

/// (id, verdict, replayed) of one output line.
fn parse(line: &str) -> (String, String, bool) {
    let v: serde_json::Value = serde_json::from_str(line).expect("a decision line");
    let id = v["id"].as_str().expect("id").to_string();
    let verdict = v["verdict"].as_str().expect("verdict").to_string();
    (id, verdict, v["replayed"].as_bool().unwrap_or(false))
}

/// The next newline-terminated line, or `None` at the end (a trailing
/// partial line is dropped).
fn complete_line(out: &mut impl BufRead) -> Option<String> {
    let mut buf = Vec::new();
    match out.read_until(b'\n', &mut buf) {
        Ok(_) if buf.ends_with(b"\n") => Some(String::from_utf8(buf).expect("utf-8")),
        _ => None,
    }
}

#[test]
fn sigkill_at_any_point_loses_no_printed_decision_and_counts_nothing_twice() {
    crash_test("0");
}

/// The same with a checkpoint written in the background every 25 records:
/// kills land while one is being written, and restarts load the newest
/// whole one and replay the log after it.
#[test]
fn sigkill_during_checkpoints_loses_no_printed_decision_and_counts_nothing_twice() {
    crash_test("25");
}

fn crash_test(checkpoint_every: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cache, input) = (
        tmp.path().join("velocity"),
        tmp.path().join("cache"),
        tmp.path().join("stream.jsonl"),
    );
    std::fs::write(&input, stream()).unwrap();
    let total = (ACCOUNTS * PER_ACCOUNT) as usize;

    // Every decision any run printed: id -> verdict.
    let mut printed: HashMap<String, String> = HashMap::new();
    let mut killed_mid_run = 0;
    for k in 0..KILLS {
        let mut child = spawn(&dir, &cache, &input, checkpoint_every);
        let mut out = BufReader::new(child.stdout.take().unwrap());
        // Kill somewhere in the part of the stream no run has printed yet,
        // spreading the kills over the whole stream.
        let r = mix(k);
        let remaining = total.saturating_sub(printed.len()) as u64;
        let step = (2 * remaining / (KILLS - k)).max(1);
        let target = printed.len() + 1 + (r % step) as usize;
        let mut seen = Vec::new();
        while seen.len() < target {
            match complete_line(&mut out) {
                Some(line) => seen.push(line),
                None => break,
            }
        }
        // Half the kills at once, half a few milliseconds later, so some
        // land in the middle of a log write or sync.
        if k % 2 == 1 {
            std::thread::sleep(Duration::from_micros((r >> 20) % 20_000));
        }
        let finished = child.try_wait().unwrap().is_some();
        // SIGKILL: no destructor, no flush, no chance to finish a write.
        let _ = child.kill();
        child.wait().unwrap();
        if !finished {
            killed_mid_run += 1;
        }
        // Every whole line the child wrote before dying was printed too
        // (a line cut short by the kill was not).
        while let Some(line) = complete_line(&mut out) {
            seen.push(line);
        }
        for line in &seen {
            let (id, verdict, replayed) = parse(line);
            // Anything answered before, in any run, is answered the same way.
            if let Some(before) = printed.get(&id) {
                assert_eq!(before, &verdict, "{id} changed after a crash");
                assert!(replayed, "{id} was decided twice: {line}");
            }
            printed.insert(id, verdict);
        }
    }
    assert!(
        killed_mid_run >= KILLS / 2,
        "only {killed_mid_run} kills landed mid-run"
    );

    // A last run to completion answers every id.
    let child = spawn(&dir, &cache, &input, checkpoint_every);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let fin: Vec<(String, String, bool)> = text.lines().map(parse).collect();
    assert_eq!(fin.len(), total);
    let mut allowed_per_account: HashMap<String, u64> = HashMap::new();
    for (i, (id, verdict, replayed)) in fin.iter().enumerate() {
        if let Some(before) = printed.get(id) {
            assert_eq!(before, verdict, "{id}");
            assert!(replayed, "{id} printed before but decided again");
        }
        if verdict == "allow" {
            *allowed_per_account
                .entry(format!("acct-{}", i as u64 % ACCOUNTS))
                .or_default() += 1;
        }
    }
    assert!(
        printed.len() > total / 4,
        "the kills left too little printed to test: {}",
        printed.len()
    );

    // The store counts exactly the allowed withdrawals of each account.
    for a in 0..ACCOUNTS {
        let account = format!("acct-{a}");
        let v = account_stats(&dir, &account);
        let events = v["stats"]["events"].as_u64().unwrap();
        assert_eq!(
            events,
            allowed_per_account.get(&account).copied().unwrap_or(0),
            "{account}: {v}"
        );
        assert!(events > 0, "{account}: nothing allowed");
    }
    if checkpoint_every != "0" {
        assert!(dir.join("checkpoint").exists(), "no checkpoint was written");
    }
    eprintln!(
        "crash test (checkpoint every {checkpoint_every} records): {KILLS} SIGKILLs ({killed_mid_run} mid-run), {} decisions printed before a kill \
         all answered identically after restart; {} allowed counted once each",
        printed.len(),
        allowed_per_account.values().sum::<u64>()
    );
}

/// The HTTP service on the durable store and a durable decision log:
/// clients send batches concurrently (each batch's decisions sharing one
/// velocity sync and one log sync) while the server is SIGKILLed at
/// pseudo-random points; after every restart, each decision any client
/// received is answered again as recorded (replayed, same verdict), and at
/// the end the store counts exactly the allowed withdrawals. A checkpoint
/// every 40 records puts kills in the middle of checkpoints too.
#[test]
fn sigkill_of_serve_loses_no_decision_a_client_received() {
    use super::support::Server;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    const BATCH: u64 = 8;
    const CLIENTS: usize = 4;
    const RUNS: u64 = 6;
    const ENV: &[(&str, &str)] = &[("RISKGATE_VELOCITY_CHECKPOINT_EVERY", "40")];
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("velocity");
    let args: Vec<String> = [
        "--velocity".into(),
        dir.display().to_string(),
        "--decision-log".into(),
        tmp.path().join("log").display().to_string(),
        "--durable-log".into(),
        "--no-clock-check".into(),
        "--deadline-us".into(),
        "250000".into(),
        "--cache-dir".into(),
        tmp.path().join("cache").display().to_string(),
    ]
    .to_vec();
    let lines: Vec<String> = stream().lines().map(str::to_string).collect();
    let batches: Vec<String> = lines
        .chunks(BATCH as usize)
        .map(|c| format!("[{}]", c.join(",")))
        .collect();
    let total = lines.len();

    // Sends every batch once, `CLIENTS` at a time; the decisions received
    // (id, verdict, replayed), until `stop` or the server dies.
    let drive =
        |server: &Server, stop: &AtomicBool, count: &AtomicUsize| -> Vec<(String, String, bool)> {
            let next = AtomicUsize::new(0);
            let got = Mutex::new(Vec::new());
            std::thread::scope(|s| {
                for _ in 0..CLIENTS {
                    s.spawn(|| {
                        while !stop.load(Ordering::Acquire) {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(body) = batches.get(i) else { break };
                            let Ok(r) = server.try_request(
                                "POST",
                                "/v1/evaluate",
                                &[("Content-Type", "application/json")],
                                body.as_bytes(),
                            ) else {
                                break;
                            };
                            // A response cut short by the kill is not received.
                            let Ok(v) = serde_json::from_str::<serde_json::Value>(&r.body) else {
                                break;
                            };
                            assert_eq!(r.status, 200, "{}", r.body);
                            let mut got = got.lock().unwrap();
                            let decisions = v["decisions"].as_array().expect("decisions");
                            count.fetch_add(decisions.len(), Ordering::AcqRel);
                            for d in decisions {
                                got.push((
                                    d["id"].as_str().unwrap().to_string(),
                                    d["verdict"].as_str().unwrap().to_string(),
                                    d["replayed"].as_bool().unwrap_or(false),
                                ));
                            }
                        }
                    });
                }
            });
            got.into_inner().unwrap()
        };

    let mut received: HashMap<String, String> = HashMap::new();
    let check = |received: &mut HashMap<String, String>, got: &[(String, String, bool)]| {
        for (id, verdict, replayed) in got {
            if let Some(before) = received.get(id) {
                assert_eq!(before, verdict, "{id} changed after a crash");
                assert!(replayed, "{id} was decided twice");
            }
            received.insert(id.clone(), verdict.clone());
        }
    };
    let mut killed_mid_run = 0;
    for k in 0..RUNS {
        let server = Server::spawn_env(&args, ENV).expect("serve starts");
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicUsize::new(0));
        let pid = server.child.id();
        // Kill once this run has received a pseudo-random share of the
        // stream (the ids decided before are answered again first), half
        // the kills a few milliseconds later: batches are in flight.
        let r = mix(k);
        let target = (total as u64 * (k + 1) / (RUNS + 1) + r % (total as u64 / 8)) as usize;
        let killer = {
            let (stop, count) = (stop.clone(), count.clone());
            std::thread::spawn(move || {
                while count.load(Ordering::Acquire) < target && !stop.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_micros(200));
                }
                if k % 2 == 1 {
                    std::thread::sleep(Duration::from_micros((r >> 20) % 5_000));
                }
                // SIGKILL: no destructor, no flush, no chance to finish a write.
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                stop.store(true, Ordering::Release);
            })
        };
        let got = drive(&server, &stop, &count);
        // Every batch answered before the kill landed: stop the killer.
        stop.store(true, Ordering::Release);
        killer.join().unwrap();
        if got.len() < total {
            killed_mid_run += 1;
        }
        check(&mut received, &got);
        drop(server);
    }
    assert!(
        killed_mid_run >= RUNS / 2,
        "only {killed_mid_run} kills landed mid-run"
    );
    assert!(
        !received.is_empty(),
        "no decision was received before a kill"
    );

    let before_last = received.len();
    // A last run to completion answers every id.
    let server = Server::spawn_env(&args, ENV).expect("serve starts");
    let got = drive(&server, &AtomicBool::new(false), &AtomicUsize::new(0));
    assert_eq!(got.len(), total);
    check(&mut received, &got);
    let mut server = server;
    let _ = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status();
    server.child.wait().unwrap();

    let mut allowed_per_account: HashMap<String, u64> = HashMap::new();
    for (id, verdict, _) in &got {
        let i: u64 = id.trim_start_matches("w-").parse().unwrap();
        if verdict == "allow" {
            *allowed_per_account
                .entry(format!("acct-{}", i % ACCOUNTS))
                .or_default() += 1;
        }
    }
    for a in 0..ACCOUNTS {
        let account = format!("acct-{a}");
        let v = account_stats(&dir, &account);
        assert_eq!(
            v["stats"]["events"].as_u64().unwrap(),
            allowed_per_account.get(&account).copied().unwrap_or(0),
            "{account}: {v}"
        );
    }
    eprintln!(
        "serve crash test: {RUNS} SIGKILLs ({killed_mid_run} mid-run), {} decisions received before a kill all answered identically after restart",
        before_last
    );
}
