//! Designated-set benchmark: build, lookup, memory and compiled files at 1M
//! and 10M synthetic addresses.
//!
//! `cargo bench -p riskgate-bench --bench sets` (about 3 minutes on 2 cores).
//! Besides criterion's mean/median, prints per-lookup p50/p99 (each lookup
//! timed individually, timer overhead included), build times, VmRSS/VmHWM
//! and compiled write/open times. `RISKGATE_BENCH_SIZES=1000000` limits the
//! sizes.

use std::hint::black_box;
use std::time::{Duration, Instant};

mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use riskgate::address::{Canonical, canonicalize_any, eip55_checksum};
use riskgate::screening::{DEFAULT_FP_RATE, DesignatedSet, Entry, SetBuilder, Verify};

/// splitmix64
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Key number `i` of stream `stream` (0 = listed, 1 = clean): 70% EVM, 15%
/// Tron, 10% P2PKH, 5% P2WSH (34-byte keys). Valid canonical keys.
fn key(stream: u64, i: u64, out: &mut Vec<u8>) {
    let h = mix(i ^ (stream << 56));
    let (header, len): ([u8; 2], usize) = match h % 100 {
        0..70 => ([0x01, 0x00], 20),
        70..85 => ([0x03, 0x00], 20),
        85..95 => ([0x02, 0x20], 20),
        _ => ([0x02, 0x00], 32),
    };
    out.clear();
    out.extend_from_slice(&header);
    let mut s = h;
    while out.len() < 2 + len {
        s = mix(s);
        let take = (2 + len - out.len()).min(8);
        out.extend_from_slice(&s.to_le_bytes()[..take]);
    }
}

fn proc_status(field: &str) -> u64 {
    common::proc_kb("/proc/self/status", field)
}

/// A field of /proc/self/smaps_rollup, in MB.
fn smaps_mb(field: &str) -> u64 {
    common::proc_kb("/proc/self/smaps_rollup", field) / 1024
}

fn mem() -> String {
    format!(
        "VmRSS {} MB, VmHWM {} MB (huge pages: {} MB anonymous, {} MB of files)",
        proc_status("VmRSS:") / 1024,
        proc_status("VmHWM:") / 1024,
        smaps_mb("AnonHugePages:"),
        smaps_mb("FilePmdMapped:"),
    )
}

fn build(n: u64) -> (DesignatedSet, Duration) {
    let start = Instant::now();
    let mut builder = SetBuilder::new(DEFAULT_FP_RATE).expect("rate");
    builder.reserve(n as usize);
    let mut k = Vec::with_capacity(64);
    for i in 0..n {
        key(0, i, &mut k);
        builder
            .push_key(&k, Some("synthetic"), None)
            .expect("valid key");
    }
    let set = builder.finish("bench", "1", "synthetic").expect("builds");
    (set, start.elapsed())
}

fn probes(n: u64, stream: u64, count: u64) -> Vec<Vec<u8>> {
    (0..count)
        .map(|j| {
            let mut k = Vec::new();
            key(stream, mix(j ^ 0x5555) % n, &mut k);
            k
        })
        .collect()
}

/// p50/p99 of individually timed lookups (ns).
fn percentiles(set: &DesignatedSet, keys: &[Vec<u8>], expect: bool) -> (u64, u64, u64) {
    let mut times = Vec::with_capacity(keys.len());
    for k in keys {
        let t = Instant::now();
        let found = black_box(set.contains_key(black_box(k)));
        times.push(t.elapsed().as_nanos() as u64);
        assert_eq!(found, expect);
    }
    times.sort_unstable();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    (at(0.5), at(0.99), at(0.999))
}

fn report_lookups(label: &str, set: &DesignatedSet, n: u64) {
    let listed = probes(n, 0, 1_000_000);
    let clean = probes(u64::MAX, 1, 1_000_000);
    // Warm up.
    percentiles(set, &listed[..100_000], true);
    let (p50, p99, p999) = percentiles(set, &listed, true);
    println!("{label}: listed lookup p50 {p50} ns, p99 {p99} ns, p99.9 {p999} ns");
    let (p50, p99, p999) = percentiles(set, &clean, false);
    println!("{label}: clean  lookup p50 {p50} ns, p99 {p99} ns, p99.9 {p999} ns");
}

fn bench_lookups(c: &mut Criterion, label: &str, set: &DesignatedSet, n: u64) {
    let listed = probes(n, 0, 100_000);
    let clean = probes(u64::MAX, 1, 100_000);
    let mut group = c.benchmark_group(format!("lookup/{label}"));
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let mut i = 0usize;
    group.bench_function("listed", |b| {
        b.iter(|| {
            i = (i + 1) % listed.len();
            set.contains_key(black_box(&listed[i]))
        })
    });
    group.bench_function("clean", |b| {
        b.iter(|| {
            i = (i + 1) % clean.len();
            set.contains_key(black_box(&clean[i]))
        })
    });
    group.finish();
}

fn compiled(label: &str, set: DesignatedSet, n: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.rgset");
    let t = Instant::now();
    set.write_compiled(&path).expect("writes");
    let write = t.elapsed();
    drop(set);
    println!("{label}: owned set dropped: {}", mem());
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let t = Instant::now();
    let full = DesignatedSet::open_compiled(&path).expect("opens");
    let open_full = t.elapsed();
    drop(full);
    let t = Instant::now();
    let structure = DesignatedSet::open_compiled_with(&path, Verify::Structure).expect("opens");
    let open_structure = t.elapsed();
    println!(
        "{label}: compiled file {} MB, write {:.0} ms, open (Verify::Full, sha256) {:.0} ms, \
         open (Verify::Structure) {:.1} ms",
        size / 1_000_000,
        write.as_secs_f64() * 1e3,
        open_full.as_secs_f64() * 1e3,
        open_structure.as_secs_f64() * 1e3
    );
    let listed = probes(n, 0, 1_000_000);
    let (p50, p99, _) = percentiles(&structure, &listed, true);
    println!("{label}: mapped listed lookup p50 {p50} ns, p99 {p99} ns");
    let (p50, p99, _) = percentiles(&structure, &probes(u64::MAX, 1, 1_000_000), false);
    println!(
        "{label}: mapped clean  lookup p50 {p50} ns, p99 {p99} ns; {} (file pages count in VmRSS)",
        mem()
    );
}

fn sets(c: &mut Criterion) {
    let sizes: Vec<u64> = std::env::var("RISKGATE_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|v| v.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000_000, 10_000_000]);
    println!("start: {}", mem());

    // The full path from address text, for scale: 100k EVM addresses.
    let texts: Vec<String> = (0..100_000u64)
        .map(|i| {
            let mut b = [0u8; 20];
            b[..8].copy_from_slice(&mix(i).to_le_bytes());
            b[8..16].copy_from_slice(&mix(i | (1 << 40)).to_le_bytes());
            eip55_checksum(&b)
        })
        .collect();
    let t = Instant::now();
    let entries: Vec<(Canonical, Entry)> = texts
        .iter()
        .map(|s| {
            let c = canonicalize_any(s).expect("valid");
            let e = Entry {
                label: Some("synthetic".into()),
                original: s.clone(),
            };
            (c, e)
        })
        .collect();
    let parse = t.elapsed();
    let t = Instant::now();
    let set = DesignatedSet::build("text", "1", "bench", entries, DEFAULT_FP_RATE).expect("builds");
    println!(
        "100k EVM addresses from text: canonicalize {:.0} ms, build {:.0} ms ({} keys)",
        parse.as_secs_f64() * 1e3,
        t.elapsed().as_secs_f64() * 1e3,
        set.len()
    );
    drop(set);
    drop(texts);

    for &n in &sizes {
        let label = if n % 1_000_000 == 0 {
            format!("{}M", n / 1_000_000)
        } else {
            n.to_string()
        };
        let before = mem();
        let (set, took) = build(n);
        println!(
            "{label}: build {:.2} s ({} keys, {} duplicates, {} MB in the set); before: {before}; after: {}",
            took.as_secs_f64(),
            set.len(),
            set.duplicates(),
            set.size_bytes() / 1_000_000,
            mem()
        );
        report_lookups(&label, &set, n);
        bench_lookups(c, &label, &set, n);
        compiled(&label, set, n);
    }

    // Criterion's own timing of a 1M build (10 samples).
    let mut group = c.benchmark_group("build");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(8));
    group.bench_function("1M", |b| b.iter(|| build(1_000_000).0.len()));
    group.finish();
}

criterion_group!(benches, sets);
criterion_main!(benches);
