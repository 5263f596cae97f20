//! Tests of the velocity stores: memory semantics, the durable log
//! (reopen, torn tails, corruption, failure, rotation, group commit) and
//! release.

use super::*;
use riskgate_model::{Decision, Verdict};
use std::path::Path;

const H: u64 = 3_600_000;
const T0: u64 = 1_795_564_800_000;

fn keys(account: &str, dest: &str) -> Keys {
    Keys::from_parts(KeyParts {
        account: account.into(),
        asset: "ETH".into(),
        chain: "ethereum".into(),
        destination: dest.into(),
    })
}

fn decision(id: &str, verdict: Verdict) -> Decision {
    Decision {
        id: id.into(),
        verdict,
        reasons: Vec::new(),
        hits: Vec::new(),
        latency_ns: 0,
        replayed: false,
        review: None,
    }
}

/// Commits an ALLOW of `amount` at `ts` for `id`.
fn allow(store: &dyn Store, id: &str, k: &Keys, ts: u64, amount: u64) {
    let d = decision(id, Verdict::Allow);
    store
        .commit(
            &Commit {
                id,
                keys: k,
                fingerprint: [7; 32],
                requested_at: ts,
                decision: &d,
                allowed: Some((amount, amount / 10)),
                counted_at: None,
            },
            Exclusive::default(),
        )
        .expect("commit");
}

fn hold(store: &dyn Store, id: &str, k: &Keys, ts: u64) {
    let d = decision(id, Verdict::Hold);
    store
        .commit(
            &Commit {
                id,
                keys: k,
                fingerprint: [8; 32],
                requested_at: ts,
                decision: &d,
                allowed: None,
                counted_at: None,
            },
            Exclusive::default(),
        )
        .expect("commit");
}

fn acct(store: &dyn Store, k: &Keys, t: u64, w: u64) -> WindowStats {
    store
        .window(k.get(Scope::Account), "ETH", t, w)
        .expect("window")
}

fn open(dir: &Path) -> (DurableStore, RecoveryReport) {
    DurableStore::open(dir, DurableOptions::default()).expect("opens")
}

fn segments(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    v.sort();
    v
}

// Window edges, counts and sums, release: the conformance suite
// (`tests_conformance.rs`) runs them on every store.

#[test]
fn durable_store_survives_reopen_with_identical_state() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys("a", "d");
    let k2 = keys("b", "d");
    {
        let (s, report) = open(dir.path());
        assert_eq!(report.records, 0);
        for i in 0..50u64 {
            allow(
                &s,
                &format!("w{i}"),
                if i % 2 == 0 { &k } else { &k2 },
                T0 + i * 1000,
                i,
            );
        }
        hold(&s, "held", &k, T0);
        s.release("w4").unwrap();
    }
    let (s, report) = open(dir.path());
    assert_eq!(report.records, 52);
    assert_eq!(report.decisions, 50);
    assert_eq!(report.truncated_tail, 0);
    let a = acct(&s, &k, T0 + 50_000, H);
    assert_eq!(a.count, 24);
    assert_eq!(a.sum, (0..50).step_by(2).filter(|i| *i != 4).sum::<u64>());
    assert_eq!(
        s.window(k.get(Scope::Destination), "ETH", T0, H)
            .unwrap()
            .count,
        49
    );
    let held = s.recorded("held").unwrap().expect("kept");
    assert_eq!(held.decision.verdict, Verdict::Hold);
    assert_eq!(held.fingerprint, [8; 32]);
    assert_eq!(s.recorded("w4").unwrap(), None);
    // uids keep increasing across restarts: a new event never reuses one.
    let before: Vec<u64> = s
        .index()
        .contributions()
        .into_iter()
        .filter_map(|(_, u)| u)
        .collect();
    allow(&s, "new", &k, T0 + 60_000, 1);
    let new_uid = s
        .recorded("new")
        .unwrap()
        .unwrap()
        .contribution
        .unwrap()
        .uid;
    assert!(before.iter().all(|u| *u < new_uid));
}

/// A store holding ALLOWs "1" and "2", closed; its last segment file.
fn two_allows_closed() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let k = keys("a", "d");
    {
        let (s, _) = open(dir.path());
        allow(&s, "1", &k, T0, 5);
        allow(&s, "2", &k, T0, 5);
    }
    let last = segments(dir.path()).pop().unwrap();
    (dir, last)
}

#[test]
fn a_torn_tail_is_truncated_and_reported() {
    let (dir, last) = two_allows_closed();
    let len = std::fs::metadata(&last).unwrap().len();
    // Cut the last record in half, as a crash mid-write would.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&last)
        .unwrap()
        .set_len(len - 7)
        .unwrap();
    let (s, report) = open(dir.path());
    assert_eq!(report.records, 1);
    assert!(report.truncated_tail > 0);
    assert!(s.recorded("1").unwrap().is_some());
    assert!(s.recorded("2").unwrap().is_none());
    drop(s);
    // The truncation is durable: the next open is clean.
    let (_, again) = open(dir.path());
    assert_eq!((again.records, again.truncated_tail), (1, 0));
}

#[test]
fn damage_before_the_tail_refuses_to_open_naming_file_and_offset() {
    let (dir, last) = two_allows_closed();
    let mut bytes = std::fs::read(&last).unwrap();
    // The first record's frame follows the segment's format header.
    let first = riskgate_storage::HEADER_LEN;
    bytes[first + 12] ^= 0x40; // inside the first record's payload
    std::fs::write(&last, &bytes).unwrap();
    let err = DurableStore::open(dir.path(), DurableOptions::default())
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(
        matches!(err, DurableError::Corrupt { offset, .. } if offset == first as u64),
        "{text}"
    );
    assert!(
        text.contains("velocity-") && text.contains("checksum"),
        "{text}"
    );
}

/// Segments written before they had a format header (frames from the
/// first byte) are read as before; new segments have the header.
#[test]
fn segments_without_a_format_header_still_replay() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys("a", "d");
    {
        let (s, _) = open(dir.path());
        allow(&s, "1", &k, T0, 5);
        allow(&s, "2", &k, T0 + 1, 5);
    }
    let header = wal::SEGMENT.header();
    for path in segments(dir.path()) {
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(&header), "{}", path.display());
        // The unversioned predecessor: the same frames, no header.
        std::fs::write(&path, &bytes[header.len()..]).unwrap();
    }
    let (s, report) = open(dir.path());
    assert_eq!(
        (report.records, report.truncated_tail),
        (2, 0),
        "{report:?}"
    );
    assert!(s.recorded("1").unwrap().is_some() && s.recorded("2").unwrap().is_some());
    assert_eq!(acct(&s, &k, T0 + 1, H).count, 2);
    allow(&s, "3", &k, T0 + 2, 5);
    drop(s);
    let (s, report) = open(dir.path());
    assert_eq!(report.records, 3, "{report:?}");
    assert_eq!(acct(&s, &k, T0 + 2, H).count, 3);
}

/// A segment of an unknown format version refuses the open, naming the
/// file and the version.
#[test]
fn a_segment_of_an_unknown_format_version_is_refused_naming_file_and_version() {
    let (dir, last) = two_allows_closed();
    let mut bytes = std::fs::read(&last).unwrap();
    bytes[8..12].copy_from_slice(&9u32.to_le_bytes());
    std::fs::write(&last, &bytes).unwrap();
    let err = DurableStore::open(dir.path(), DurableOptions::default())
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(matches!(err, DurableError::Format(_)), "{text}");
    assert!(
        text.contains(&last.display().to_string()) && text.contains("format version 9"),
        "{text}"
    );
}

/// A header cut short by a crash at the end of the last segment is a torn
/// tail; in a sealed segment it is damage.
#[test]
fn a_segment_header_cut_short_is_a_torn_tail_only_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys("a", "d");
    {
        let (s, _) = open(dir.path());
        allow(&s, "1", &k, T0, 5);
    }
    let number = segments(dir.path()).len() as u64 + 1;
    let torn = dir.path().join(format!("velocity-{number:016}.wal"));
    std::fs::write(&torn, &wal::SEGMENT.header()[..5]).unwrap();
    let (s, report) = open(dir.path());
    assert_eq!(
        (report.records, report.truncated_tail),
        (1, 5),
        "{report:?}"
    );
    assert!(s.recorded("1").unwrap().is_some());
    drop(s);
    std::fs::write(&torn, &wal::SEGMENT.header()[..5]).unwrap();
    // Sealed now (the reopen started a later segment): damage.
    let err = DurableStore::open(dir.path(), DurableOptions::default())
        .err()
        .expect("refused");
    assert!(matches!(err, DurableError::Corrupt { .. }), "{err}");
}

/// A checkpoint of an unknown format version is refused (set aside, the
/// log replayed) with a reason naming the file and the version.
#[test]
fn a_checkpoint_of_an_unknown_format_version_is_refused_naming_file_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys("a", "d");
    {
        let (s, _) = open(dir.path());
        allow(&s, "1", &k, T0, 5);
        s.checkpoint().unwrap();
    }
    let path = dir.path().join("checkpoint");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8..12].copy_from_slice(&9u32.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let (s, report) = open(dir.path());
    let why = report.checkpoint_refused.clone().unwrap_or_default();
    assert!(
        why.contains(&path.display().to_string()) && why.contains("format version 9"),
        "{why}"
    );
    assert_eq!(report.checkpoint, None);
    assert!(s.recorded("1").unwrap().is_some());
}

#[test]
fn a_failed_write_makes_the_store_unavailable_and_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys("a", "d");
    {
        let (s, _) = open(dir.path());
        allow(&s, "1", &k, T0, 5);
        s.fail_next_write();
        let d = decision("2", Verdict::Allow);
        let err = s
            .commit(
                &Commit {
                    id: "2",
                    keys: &k,
                    fingerprint: [1; 32],
                    requested_at: T0,
                    decision: &d,
                    allowed: Some((5, 0)),
                    counted_at: None,
                },
                Exclusive::default(),
            )
            .unwrap_err();
        assert!(err.is_unavailable(), "{err}");
        assert!(err.to_string().contains("No space left"), "{err}");
        // Nothing recorded can be read: every call after the failure fails.
        assert!(s.recorded("2").is_err());
        assert!(s.window(k.get(Scope::Account), "ETH", T0, H).is_err());
        assert!(s.release("1").is_err());
    }
    let (s, report) = open(dir.path());
    assert_eq!(report.decisions, 1);
    assert!(s.recorded("2").unwrap().is_none());
}

#[test]
fn a_second_process_cannot_open_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, _) = open(dir.path());
    let err = DurableStore::open(dir.path(), DurableOptions::default())
        .err()
        .expect("locked");
    assert!(matches!(err, DurableError::Locked { .. }), "{err}");
}

#[test]
fn aged_out_segments_are_deleted_and_recovery_stays_exact() {
    let dir = tempfile::tempdir().unwrap();
    let opts = DurableOptions {
        retention_ms: 24 * H,
        segment_bytes: 2_000,
        checkpoint_every: 0,
    };
    let k = keys("a", "d");
    let (s, _) = DurableStore::open(dir.path(), opts.clone()).unwrap();
    // Four days of one withdrawal an hour.
    for i in 0..96u64 {
        allow(&s, &format!("w{i}"), &k, T0 + i * H, 1);
    }
    let on_disk = segments(dir.path()).len();
    assert_eq!(on_disk, s.segment_count());
    let expected = acct(&s, &k, T0 + 95 * H, 24 * H);
    assert_eq!(expected.count, 24);
    drop(s);
    let (s, report) = DurableStore::open(dir.path(), opts).unwrap();
    // Far fewer records than written: days 1-2 were deleted with their segments.
    assert!(report.records < 60, "{report:?}");
    assert_eq!(acct(&s, &k, T0 + 95 * H, 24 * H), expected);
    assert!(s.recorded("w95").unwrap().is_some());
}

#[test]
fn concurrent_commits_share_syncs_and_all_survive() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys("a", "d");
    {
        let (s, _) = open(dir.path());
        std::thread::scope(|scope| {
            for t in 0..8 {
                let (s, k) = (&s, &k);
                scope.spawn(move || {
                    for i in 0..100 {
                        allow(s, &format!("t{t}-{i}"), k, T0 + i, 1);
                    }
                });
            }
        });
        assert_eq!(acct(&s, &k, T0, H).count, 800);
        // Group commit: concurrent commits share syncs.
        assert!(s.syncs() < 800, "{} syncs for 800 commits", s.syncs());
    }
    let (s, report) = open(dir.path());
    assert_eq!(report.decisions, 800);
    assert_eq!(acct(&s, &k, T0, H).count, 800);
}

#[test]
fn deferred_commits_are_visible_at_once_and_share_one_sync_once_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys("a", "d");
    {
        let (s, _) = open(dir.path());
        let d = decision("x", Verdict::Allow);
        let ids: Vec<String> = (0..100).map(|i| format!("d-{i}")).collect();
        let durables: Vec<_> = ids
            .iter()
            .map(|id| {
                s.commit_deferred(
                    &Commit {
                        id,
                        keys: &k,
                        fingerprint: [7; 32],
                        requested_at: T0,
                        decision: &d,
                        allowed: Some((1, 0)),
                        counted_at: None,
                    },
                    Exclusive::default(),
                )
                .unwrap()
            })
            .collect();
        // Counted at once, none synced yet.
        assert_eq!(acct(&s, &k, T0, H).count, 100);
        assert_eq!(s.syncs(), 0);
        assert!(!durables[0].is_settled());
        // A decision found recorded is handed out only once on disk.
        assert!(s.recorded("d-5").unwrap().is_some());
        assert_eq!(s.syncs(), 1);
        assert!(durables.iter().all(|d| d.is_settled()));
        for d in &durables {
            d.wait().unwrap();
        }
        assert_eq!(s.syncs(), 1, "one sync for a hundred deferred commits");
    }
    let (s, report) = open(dir.path());
    assert_eq!(report.decisions, 100);
    assert_eq!(acct(&s, &k, T0, H).count, 100);
}

/// A stream of withdrawals committed to `durable` and to `live` alike:
/// out-of-order times, holds, releases, ids decided anew after a release,
/// history aged out. Starts at `t` and moves it on; `ids` collects the ids.
struct Stream {
    accounts: Vec<Keys>,
    seed: u64,
    ids: Vec<String>,
    released: usize,
    t: u64,
}

impl Stream {
    fn new(seed: u64) -> Self {
        Stream {
            accounts: (0..300)
                .map(|i| keys(&format!("a{}", i % 40), &format!("d{}", i % 290)))
                .collect(),
            seed,
            ids: Vec::new(),
            released: 0,
            t: T0,
        }
    }

    fn next(&mut self) -> u64 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed
    }

    fn run(&mut self, live: &MemoryStore, durable: &DurableStore, steps: u64) {
        for _ in 0..steps {
            let i = self.ids.len() + self.released;
            // Three days, a few minutes out of order at times.
            self.t += 43_000;
            let ts = self.t - self.next() % 300_000;
            let at = (self.next() % 300) as usize;
            let k = self.accounts[at].clone();
            let roll = self.next() % 100;
            if roll < 6 && !self.ids.is_empty() {
                let at = (self.next() % self.ids.len() as u64) as usize;
                let id = &self.ids[at];
                let (a, b) = (live.release(id), durable.release(id));
                assert_eq!(a, b, "release {id}");
                self.released += usize::from(a.is_ok());
                continue;
            }
            // Now and then an id released earlier is decided anew.
            let id = if roll < 9 && !self.ids.is_empty() {
                let at = (self.next() % self.ids.len() as u64) as usize;
                self.ids[at].clone()
            } else {
                format!("w{i}")
            };
            if live.recorded(&id).unwrap().is_some() {
                continue;
            }
            let amount = 1 + self.next() % 1_000;
            for store in [live as &dyn Store, durable] {
                if roll < 20 {
                    hold(store, &id, &k, ts);
                } else {
                    allow(store, &id, &k, ts, amount);
                }
            }
            self.ids.push(id);
        }
    }

    /// `rebuilt` answers exactly as `live` for every id and key (but the
    /// contributions' uids: each store hands them out in blocks per thread,
    /// unique, not dense).
    fn assert_same(&self, live: &MemoryStore, rebuilt: &DurableStore) {
        let no_uid = |r: Result<Option<Recorded>, VelocityError>| {
            r.map(|r| {
                r.map(|mut r| {
                    if let Some(c) = &mut r.contribution {
                        c.uid = 0;
                    }
                    r
                })
            })
        };
        for id in &self.ids {
            assert_eq!(
                no_uid(live.recorded(id)),
                no_uid(rebuilt.recorded(id)),
                "{id}"
            );
        }
        for k in &self.accounts {
            for key in k.all() {
                assert_eq!(live.key_stats(key), rebuilt.key_stats(key), "{key}");
                for w in [H, 6 * H, 24 * H] {
                    assert_eq!(
                        live.window(key, "ETH", self.t, w),
                        rebuilt.window(key, "ETH", self.t, w),
                        "{key} {w}"
                    );
                }
            }
        }
    }
}

fn replay_options() -> DurableOptions {
    DurableOptions {
        retention_ms: 24 * H,
        segment_bytes: 64 << 20,
        checkpoint_every: 0,
    }
}

/// Over 4096 records in one segment: the log is replayed on every core,
/// shard by shard. The rebuilt index must answer exactly as the live one
/// that committed the same stream.
#[test]
fn a_parallel_replay_rebuilds_exactly_what_live_commits_built() {
    let dir = tempfile::tempdir().unwrap();
    let opts = replay_options();
    let live = MemoryStore::new(opts.retention_ms);
    let mut stream = Stream::new(0x9e37_79b9_7f4a_7c15);
    {
        let (durable, _) = DurableStore::open(dir.path(), opts.clone()).unwrap();
        stream.run(&live, &durable, 6_000);
    }
    assert!(stream.released > 100, "{} releases", stream.released);
    let (rebuilt, report) = DurableStore::open(dir.path(), opts).unwrap();
    assert!(report.records > 5_000, "{report:?}");
    assert_eq!(report.checkpoint, None);
    stream.assert_same(&live, &rebuilt);
}

/// Checkpoints written while commits and releases go on (each shard copied
/// at a different point of the stream), then a reopen from the newest one:
/// only the records after its cut are replayed, and the index answers
/// exactly as the live one. Twice over, so a store opened from a
/// checkpoint is checkpointed and reopened again.
#[test]
fn a_checkpoint_taken_during_commits_plus_the_log_after_it_rebuilds_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let opts = DurableOptions {
        retention_ms: 24 * H,
        segment_bytes: 50_000,
        checkpoint_every: 0,
    };
    let live = MemoryStore::new(opts.retention_ms);
    let mut stream = Stream::new(0x2545_f491_4f6c_dd1d);
    // Commits land between the shards of a checkpoint (and the rebuild must
    // then skip, shard by shard, what a shard's copy already holds).
    checkpoint::SHARD_PAUSE_US.store(40, std::sync::atomic::Ordering::Relaxed);
    for round in 0..2 {
        let (durable, _) = DurableStore::open(dir.path(), opts.clone()).unwrap();
        let done = std::sync::atomic::AtomicBool::new(false);
        let checkpoints = std::thread::scope(|s| {
            let writer = s.spawn(|| {
                let mut n = 0;
                while !done.load(std::sync::atomic::Ordering::Acquire) {
                    durable.checkpoint().expect("checkpoint");
                    n += 1;
                }
                n
            });
            stream.run(&live, &durable, 4_000);
            done.store(true, std::sync::atomic::Ordering::Release);
            writer.join().unwrap()
        });
        assert!(checkpoints > 0, "round {round}");
        // Records after the last checkpoint: replayed at the next open.
        stream.run(&live, &durable, 500);
        drop(durable);
        let (rebuilt, report) = DurableStore::open(dir.path(), opts.clone()).unwrap();
        assert!(report.checkpoint.is_some(), "{report:?}");
        assert!(
            report.records >= 400 && report.records < 4_000,
            "round {round}: {report:?}"
        );
        stream.assert_same(&live, &rebuilt);
        // The log before the cut stays (until it ages out): without the
        // checkpoint, the whole log rebuilds the same index.
        drop(rebuilt);
        std::fs::rename(dir.path().join("checkpoint"), dir.path().join("kept")).unwrap();
        let after_cut = report.records;
        let (whole, report) = DurableStore::open(dir.path(), opts.clone()).unwrap();
        assert_eq!(report.checkpoint, None);
        assert!(
            report.records > after_cut + 1_000,
            "round {round}: {report:?}"
        );
        stream.assert_same(&live, &whole);
        drop(whole);
        std::fs::rename(dir.path().join("kept"), dir.path().join("checkpoint")).unwrap();
    }
    assert!(stream.released > 100, "{} releases", stream.released);
}

/// Every `checkpoint_every` records a checkpoint is written in the
/// background: a reopen replays only the records after the newest one, and
/// counts everything.
#[test]
fn checkpoints_are_written_automatically_every_n_records() {
    let dir = tempfile::tempdir().unwrap();
    let opts = DurableOptions {
        checkpoint_every: 200,
        ..DurableOptions::default()
    };
    let k = keys("a", "d");
    {
        let (s, _) = DurableStore::open(dir.path(), opts.clone()).unwrap();
        for i in 0..1_000u64 {
            allow(&s, &format!("w{i}"), &k, T0 + i, 1);
            if i == 500 {
                s.release("w3").unwrap();
            }
        }
        // Let the last background checkpoint finish before the drop.
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let (s, report) = DurableStore::open(dir.path(), opts).unwrap();
    assert!(report.checkpoint.is_some(), "{report:?}");
    assert!(report.records < 1_000, "{report:?}");
    assert_eq!(acct(&s, &k, T0 + 1_000, H).count, 999);
    assert_eq!(report.decisions, 999);
}

/// A damaged checkpoint is moved aside and the whole log rebuilds the
/// index (the log before a checkpoint is kept until it ages out); the
/// report says why it was refused.
#[test]
fn a_damaged_checkpoint_is_set_aside_and_the_whole_log_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys("a", "d");
    {
        let (s, _) = open(dir.path());
        for i in 0..50 {
            allow(&s, &format!("w{i}"), &k, T0 + i, 1);
        }
        s.checkpoint().unwrap();
        allow(&s, "after", &k, T0 + 60, 1);
    }
    let path = dir.path().join("checkpoint");
    let good = std::fs::read(&path).unwrap();
    for (what, bytes) in [
        ("truncated", good[..good.len() - 9].to_vec()),
        ("flipped", {
            let mut b = good.clone();
            let at = b.len() / 2;
            b[at] ^= 0x40;
            b
        }),
        ("not a checkpoint", b"hello".to_vec()),
    ] {
        std::fs::write(&path, &bytes).unwrap();
        let (s, report) = open(dir.path());
        let why = report.checkpoint_refused.clone().unwrap_or_default();
        assert!(why.contains("checkpoint"), "{what}: {report:?}");
        assert_eq!(report.checkpoint, None, "{what}");
        assert_eq!(report.records, 51, "{what}: {report:?}");
        assert_eq!(acct(&s, &k, T0 + 60, H).count, 51, "{what}");
        assert!(!path.exists() && dir.path().join("checkpoint.damaged").exists());
    }
    std::fs::write(&path, &good).unwrap();
    let (s, report) = open(dir.path());
    assert_eq!(report.checkpoint_refused, None);
    assert_eq!(report.records, 1, "{report:?}");
    assert_eq!(acct(&s, &k, T0 + 60, H).count, 51);
}

/// One far-future record (the clock check off) cannot move a store's
/// history cut-off past the host's clock plus the default skew: what came
/// before it is still in the windows of a withdrawal stamped now, on the
/// memory store, the durable one, and the durable one reopened.
#[test]
fn a_far_future_record_does_not_move_the_cut_off() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let year_2099 = 4_070_908_800_000;
    let k = keys("acct-future", "0xabc");
    let other = keys("acct-other", "0xdef");
    let check = |s: &dyn Store, what: &str| {
        let w = acct(s, &k, now, 24 * H);
        assert_eq!((w.count, w.sum), (1, 100), "{what}");
    };
    let memory = MemoryStore::default();
    allow(&memory, "before", &k, now - H, 100);
    allow(&memory, "future", &other, year_2099, 1);
    check(&memory, "memory");

    let dir = tempfile::tempdir().unwrap();
    {
        let (durable, _) = open(dir.path());
        allow(&durable, "before", &k, now - H, 100);
        allow(&durable, "future", &other, year_2099, 1);
        check(&durable, "durable");
    }
    let (reopened, _) = open(dir.path());
    check(&reopened, "reopened");
}

#[test]
fn an_approved_hold_and_the_queue_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys("acct-r", "0xdest");
    let approved_at = T0 + 2 * H;
    {
        let (s, _) = open(dir.path());
        for (id, t) in [("r-1", T0), ("r-2", T0 + 1), ("r-3", T0 + 2)] {
            let d = Decision {
                review: Some(riskgate_model::Review::pending(5, 50)),
                ..decision(id, Verdict::Hold)
            };
            s.commit(
                &Commit {
                    id,
                    keys: &k,
                    fingerprint: [3; 32],
                    requested_at: t,
                    decision: &d,
                    allowed: None,
                    counted_at: None,
                },
                Exclusive::default(),
            )
            .unwrap();
        }
        conformance::resolve(
            &s,
            "r-1",
            &k,
            HoldState::Approved,
            Some((5, 50, approved_at)),
        );
        conformance::resolve(&s, "r-2", &k, HoldState::Rejected, None);
        s.checkpoint().expect("checkpoint");
        // After the checkpoint: in the log only.
        conformance::resolve(
            &s,
            "r-3",
            &k,
            HoldState::Approved,
            Some((5, 50, approved_at + 1)),
        );
    }
    let (s, _) = open(dir.path());
    let w = acct(&s, &k, approved_at + 1, H);
    assert_eq!((w.count, w.sum, w.usd_cents), (2, 10, 100));
    assert_eq!(acct(&s, &k, approved_at + H, H).count, 1, "r-3's at +1 ms");
    assert_eq!(acct(&s, &k, approved_at + H + 1, H).count, 0);
    let states: Vec<_> = s
        .holds(&HoldQuery {
            state: None,
            ..HoldQuery::default()
        })
        .unwrap()
        .into_iter()
        .map(|r| (r.decision.id.clone(), r.decision.review.unwrap().state))
        .collect();
    assert_eq!(
        states,
        [
            ("r-1".to_string(), HoldState::Approved),
            ("r-2".to_string(), HoldState::Rejected),
            ("r-3".to_string(), HoldState::Approved)
        ]
    );
}

#[test]
fn a_released_approval_stays_released_when_its_segments_age_out() {
    // Every record in a segment of its own; ten hours of history.
    let opts = DurableOptions {
        retention_ms: 10 * H,
        segment_bytes: 1,
        checkpoint_every: 0,
    };
    let dir = tempfile::tempdir().unwrap();
    let k = keys("acct-x", "0xdest");
    let other = keys("acct-y", "0xother");
    let approved_at = T0 + 9 * H;
    let check = |s: &DurableStore, when: &str| {
        let w = acct(s, &k, T0 + 10 * H, 2 * H);
        assert_eq!((w.count, w.sum), (0, 0), "{when}");
        assert!(s.recorded("x").unwrap().is_none(), "{when}");
    };
    {
        let (s, _) = DurableStore::open(dir.path(), opts.clone()).unwrap();
        let d = Decision {
            review: Some(riskgate_model::Review::pending(5, 50)),
            ..decision("x", Verdict::Hold)
        };
        s.commit(
            &Commit {
                id: "x",
                keys: &k,
                fingerprint: [3; 32],
                requested_at: T0,
                decision: &d,
                allowed: None,
                counted_at: None,
            },
            Exclusive::default(),
        )
        .unwrap();
        conformance::resolve(&s, "x", &k, HoldState::Approved, Some((5, 50, approved_at)));
        assert_eq!(acct(&s, &k, T0 + 10 * H, 2 * H).count, 1);
        assert!(s.release("x").unwrap().had_contribution);
        // Later withdrawals age out the hold's requested-at (the segments
        // of its decision and of its release), not its approval's time.
        allow(&s, "y1", &other, T0 + 10 * H + 1, 1);
        allow(&s, "y2", &other, T0 + 10 * H + 2, 1);
        check(&s, "before the reopen");
    }
    let (s, _) = DurableStore::open(dir.path(), opts).unwrap();
    check(&s, "reopened");
}

/// The asset key is not locked: a decision in flight counts in every other
/// decision's asset-scope window as if allowed (never its own), only in
/// windows that reach its time, and leaves the registry when its
/// transaction ends, committed (then counted once, as recorded) or not.
#[test]
fn decisions_in_flight_count_in_asset_windows_of_others() {
    let velocity = Velocity::memory(DEFAULT_RETENTION_MS);
    let (a, b) = (keys("alice", "0xa"), keys("bob", "0xb"));
    let asset = |k: &Keys, own: Option<u64>, w: u64| {
        velocity.window(k, Scope::Asset, T0 + H, w, own).unwrap()
    };
    assert!(!Scope::LOCKED.contains(&Scope::Asset));
    let pending = |ts, amount| Pending {
        ts,
        amount,
        usd_cents: amount * 10,
    };
    let first = velocity.register(&a, pending(T0 + H, 5));
    let second = velocity.register(&b, pending(T0, 7));
    // Bob's window sees Alice's (not his own); a window that starts after
    // his time sees only hers.
    let s = asset(&b, Some(second.token()), 2 * H);
    assert_eq!((s.count, s.sum, s.usd_cents), (1, 5, 50));
    let s = asset(&a, Some(first.token()), 2 * H);
    assert_eq!((s.count, s.sum), (1, 7));
    assert_eq!(asset(&a, Some(first.token()), H / 2).count, 0);
    // Another asset's window sees neither; a reader not registered, both.
    let btc = Keys::from_parts(KeyParts {
        asset: "BTC".into(),
        ..a.parts().clone()
    });
    assert_eq!(asset(&btc, None, 2 * H).count, 0);
    assert_eq!(asset(&a, None, 2 * H).count, 2);
    // Alice's commit: recorded once it lands, out of the registry after.
    allow(velocity.store(), "w-a", &a, T0 + H, 5);
    assert_eq!(asset(&b, Some(second.token()), 2 * H).count, 2);
    drop(first);
    assert_eq!(asset(&b, Some(second.token()), 2 * H).count, 1);
    drop(second);
    assert_eq!(asset(&a, None, 2 * H).count, 1);
    // Through a transaction: registered by begin_pending, gone on drop.
    {
        let txn = velocity
            .begin_pending("w-b", &b, pending(T0 + H, 9))
            .unwrap();
        assert!(txn.token().is_some());
        assert_eq!(asset(&a, None, 2 * H).count, 2);
        assert_eq!(txn.window(Scope::Asset, T0 + H, 2 * H).unwrap().count, 1);
    }
    assert_eq!(asset(&a, None, 2 * H).count, 1);
}
