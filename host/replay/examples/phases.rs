use riskgate::bundled;
use riskgate_bench::demo;
use std::time::Instant;
fn cpu() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
fn main() {
    let n = 50_000;
    let dir = tempfile::tempdir().unwrap();
    let stream: Vec<_> = demo::generate(n, 42, &bundled::sample_addresses())
        .into_iter()
        .map(|g| g.withdrawal)
        .collect();
    let batches: Vec<Vec<_>> = stream.chunks(8).map(<[_]>::to_vec).collect();
    let config = dir.path().join("riskgate.toml");
    let log = dir.path().join("log");
    riskgate_replay::testing::write_log(&config, &log, &[("velocity = \"memory\"\n[limits]\nmax_clock_skew_ms = 0\n[decision_log]\ndir = \"log\"\n".to_string(), batches)]);
    let text = std::fs::read(log.join("decisions.jsonl")).unwrap();
    println!("bytes/line {}", text.len() / n);
    let t = Instant::now();
    let mut recs = Vec::new();
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        if let Ok(riskgate_serve::record::LogRecord::Decision(d)) =
            riskgate_serve::record::LogRecord::parse(line)
        {
            recs.push(d);
        }
    }
    println!("parse (twice) {:?} per line", t.elapsed() / n as u32);
    let t = Instant::now();
    let mut k = 0;
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        if let Ok(d) =
            serde_json::from_slice::<riskgate_serve::record::DecisionRecord<'static>>(line)
        {
            k += d.reasons.len();
        }
    }
    println!("parse once {:?} per line {k}", t.elapsed() / n as u32);
    let mut h = riskgate_replay::store::History::new();
    let t = Instant::now();
    for d in &recs {
        h.record(&d.withdrawal, d.verdict).unwrap();
    }
    println!("history record {:?}", t.elapsed() / n as u32);
    let (gate, _) = riskgate::Gate::builder()
        .policy(bundled::policies().remove(0))
        .policy(bundled::policies().remove(1))
        .screener(bundled::sample_screener())
        .max_clock_skew(None)
        .parallel_calls(1)
        .cache_dir(riskgate::cache::default_dir())
        .build()
        .unwrap();
    let mut trace = Vec::new();
    for round in 0..3 {
        let (gate, _) = riskgate::Gate::builder()
            .policy(bundled::policies().remove(0))
            .policy(bundled::policies().remove(1))
            .screener(bundled::sample_screener())
            .max_clock_skew(None)
            .parallel_calls(1)
            .cache_dir(riskgate::cache::default_dir())
            .build()
            .unwrap();
        let t = Instant::now();
        let c = cpu();
        for d in &recs {
            gate.evaluate_traced(&d.withdrawal, &mut trace);
        }
        println!(
            "{round} gate evaluate (memory store, committing) wall {:?} cpu {:?}",
            t.elapsed() / n as u32,
            (cpu() - c) / n as u32
        );
    }
    let c = cpu();
    let mut h = riskgate_replay::store::History::new();
    for d in &recs {
        h.record(&d.withdrawal, d.verdict).unwrap();
    }
    println!("history record cpu {:?}", (cpu() - c) / n as u32);
    let c = cpu();
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        if let Ok(d) =
            serde_json::from_slice::<riskgate_serve::record::DecisionRecord<'static>>(line)
        {
            k += d.reasons.len();
        }
    }
    println!("parse once cpu {:?}", (cpu() - c) / n as u32);
}
