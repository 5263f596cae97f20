use super::*;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// A sink in memory that fails while `full` is set, writing half a batch
/// first, as a disk running out of space does.
struct Flaky {
    data: Arc<Mutex<Vec<u8>>>,
    full: Arc<AtomicBool>,
}

impl Sink for Flaky {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut data = self.data.lock().unwrap();
        if self.full.load(Ordering::SeqCst) {
            data.extend_from_slice(&bytes[..bytes.len() / 2]);
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        data.extend_from_slice(bytes);
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.data.lock().unwrap().truncate(len as usize);
        Ok(())
    }
    fn len(&self) -> u64 {
        self.data.lock().unwrap().len() as u64
    }
    fn rotate(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn describe(&self) -> String {
        "flaky".into()
    }
}

fn record(thread: usize, i: usize) -> Vec<u8> {
    format!(
        r#"{{"thread":{thread},"i":{i},"pad":"{}"}}"#,
        "x".repeat(i % 50)
    )
    .into_bytes()
}

#[test]
fn concurrent_appends_are_each_written_once_whole_and_grouped() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = LogOptions::new(dir.path());
    options.durable = true;
    let log = Arc::new(DecisionLog::open(&options).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..300 {
                    log.append(&record(t, i)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let stats = log.stats();
    drop(log);
    let (records, torn) = read_all(dir.path()).unwrap();
    assert_eq!(torn, 0);
    assert_eq!(records.len(), 2400);
    assert_eq!(stats.records, 2400);
    for t in 0..8 {
        let mine: Vec<u64> = records
            .iter()
            .filter(|r| r["thread"] == t)
            .map(|r| r["i"].as_u64().unwrap())
            .collect();
        // Each thread's appends are in its order, none lost or doubled.
        assert_eq!(mine, (0..300).collect::<Vec<u64>>());
    }
    assert!(stats.batches <= stats.records, "{stats:?}");
    eprintln!(
        "2400 durable appends from 8 threads in {} batches",
        stats.batches
    );
}

#[test]
fn a_failed_write_fails_its_appends_and_leaves_no_torn_line() {
    let data = Arc::new(Mutex::new(Vec::new()));
    let full = Arc::new(AtomicBool::new(false));
    let log = DecisionLog::with_sink(
        Box::new(Flaky {
            data: data.clone(),
            full: full.clone(),
        }),
        true,
        u64::MAX,
    );
    log.append(br#"{"n":1}"#).unwrap();
    full.store(true, Ordering::SeqCst);
    let err = log.append(br#"{"n":2,"lost":true}"#).unwrap_err();
    assert!(matches!(err, LogError::Io { .. }), "{err}");
    assert!(err.to_string().contains("No space left"), "{err}");
    full.store(false, Ordering::SeqCst);
    log.append(br#"{"n":3}"#).unwrap();
    let stats = log.stats();
    drop(log);
    let text = String::from_utf8(data.lock().unwrap().clone()).unwrap();
    assert_eq!(text, "{\"n\":1}\n{\"n\":3}\n");
    assert_eq!((stats.records, stats.failed_batches), (2, 1));
}

#[test]
fn files_rotate_by_size_and_the_oldest_beyond_keep_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = LogOptions::new(dir.path());
    options.max_bytes = 1000;
    let log = DecisionLog::open(&options).unwrap();
    for i in 0..200 {
        log.append(&record(0, i)).unwrap();
    }
    let rotations = log.stats().rotations;
    drop(log);
    assert!(rotations >= 5, "{rotations}");
    let (records, torn) = read_all(dir.path()).unwrap();
    assert_eq!(torn, 0);
    let order: Vec<u64> = records.iter().map(|r| r["i"].as_u64().unwrap()).collect();
    assert_eq!(order, (0..200).collect::<Vec<u64>>());
    for n in 1..=rotations {
        let len = std::fs::metadata(dir.path().join(rotated_name(n)))
            .unwrap()
            .len();
        assert!(len >= 1000, "rotated file {n} is {len} bytes");
    }

    // keep = 2: a restart continues the numbering and prunes the oldest.
    options.keep = 2;
    let log = DecisionLog::open(&options).unwrap();
    for i in 200..260 {
        log.append(&record(0, i)).unwrap();
    }
    drop(log);
    let mut rotated: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("decisions-"))
        .collect();
    rotated.sort();
    assert_eq!(rotated.len(), 2, "{rotated:?}");
    assert!(rotated[0] > rotated_name(rotations), "{rotated:?}");
}

#[test]
fn a_line_torn_by_a_crash_is_closed_and_skipped_by_readers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(ACTIVE), "{\"n\":1}\n{\"n\":2,\"cut").unwrap();
    let log = DecisionLog::open(&LogOptions::new(dir.path())).unwrap();
    log.append(br#"{"n":3}"#).unwrap();
    drop(log);
    let (records, torn) = read_all(dir.path()).unwrap();
    assert_eq!(torn, 1);
    let ns: Vec<u64> = records.iter().map(|r| r["n"].as_u64().unwrap()).collect();
    assert_eq!(ns, [1, 3]);
}

#[test]
fn one_writer_per_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _log = DecisionLog::open(&LogOptions::new(dir.path())).unwrap();
    let err = DecisionLog::open(&LogOptions::new(dir.path()))
        .err()
        .unwrap();
    assert!(matches!(err, LogError::Locked(_)), "{err}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_device_fails_every_append() {
    // /dev/full answers every write with ENOSPC: the real error path.
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/dev/full", dir.path().join(ACTIVE)).unwrap();
    let log = DecisionLog::open(&LogOptions::new(dir.path())).unwrap();
    for _ in 0..3 {
        let err = log.append(br#"{"n":1}"#).unwrap_err();
        assert!(err.to_string().contains("No space left"), "{err}");
    }
}

#[test]
fn records_without_a_version_read_and_an_unknown_version_is_refused_naming_file_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(ACTIVE);
    std::fs::write(
        &path,
        "{\"event\":\"decision\",\"n\":1}\n{\"event\":\"decision\",\"v\":1,\"n\":2}\n",
    )
    .unwrap();
    let (records, torn) = read_all(dir.path()).unwrap();
    assert_eq!((records.len(), torn), (2, 0));
    std::fs::write(&path, "{\"event\":\"decision\",\"v\":7,\"n\":3}\n").unwrap();
    let err = read_all(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains(&path.display().to_string()) && err.contains("format version 7"),
        "{err}"
    );
}
