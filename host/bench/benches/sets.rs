//! Designated-set benchmark: build, lookup, memory and compiled files at 1M
//! and 10M synthetic addresses.
//!
//! `cargo bench --profile release -p riskgate-bench --bench sets` (about 4
//! minutes on 2 cores; `--workspace` in place of `-p riskgate-bench` reuses
//! a `cargo build --release --workspace --all-targets`, whose dependency
//! features differ). Besides criterion's mean/median, prints per-lookup
//! p50/p99 (each lookup timed individually, timer overhead included),
//! build times, VmRSS/VmHWM and compiled write/open times.
//! `RISKGATE_BENCH_SIZES=1000000` limits the sizes.
//!
//! Old and new filter side by side: the set's blocked Bloom filter (one
//! 64-byte block a key, [`DesignatedSet::filter_may_contain`]) next to the
//! classic filter of the `bloomfilter` crate the sets used before (sized
//! as they sized it: four hash functions, 38 bits a key at 1e-4, built
//! here over the same keys), each probed alone on the same listed and
//! clean keys, beside the floor of any one-line probe on this machine (a
//! read of one line of a buffer the blocked filter's size, picked by the
//! key: `LineFloor`); then the full `DesignatedSet` lookups.

use std::hint::black_box;
use std::time::{Duration, Instant};

mod common;

use bloomfilter::Bloom;
use criterion::{Criterion, criterion_group, criterion_main};
use riskgate::address::{Canonical, canonicalize_any, eip55_checksum};
use riskgate::screening::{DEFAULT_FP_RATE, DesignatedSet, Entry, SetBuilder, Verify, huge_vec};

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
    let (p50, p99, p999, found) = timed(keys, |k| set.contains_key(k));
    assert_eq!(found, if expect { keys.len() } else { 0 });
    (p50, p99, p999)
}

/// p50/p99/p99.9 of `probe` on each key, timed one by one (ns), and how
/// many it answered `true`.
fn timed(keys: &[Vec<u8>], probe: impl Fn(&[u8]) -> bool) -> (u64, u64, u64, usize) {
    let mut times = Vec::with_capacity(keys.len());
    let mut found = 0usize;
    for k in keys {
        let t = Instant::now();
        let hit = black_box(probe(black_box(k)));
        times.push(t.elapsed().as_nanos() as u64);
        found += usize::from(hit);
    }
    times.sort_unstable();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    (at(0.5), at(0.99), at(0.999), found)
}

/// The classic filter's seed as the sets had it: SHA-256 of
/// `riskgate/designated-set/bloom-seed/v1`. (Its two halves key the
/// crate's two SipHashes: equal halves would make them one hash.)
const CLASSIC_SEED: [u8; 32] = [
    0x49, 0x53, 0x5a, 0x29, 0xe7, 0x6b, 0x36, 0x28, 0xa1, 0x5f, 0xb8, 0x96, 0x49, 0x6a, 0x04, 0x84,
    0x41, 0x4d, 0xac, 0x9c, 0x7a, 0x61, 0x26, 0xd2, 0x31, 0x01, 0xb3, 0x95, 0x70, 0x9f, 0xe1, 0x2a,
];

/// The classic filter the sets used before the blocked one: `bloomfilter`
/// sized for `fp_rate` with four hash functions (38 bits a key at 1e-4),
/// over the same keys as the set. Returns it and its build time.
fn classic_filter(set: &DesignatedSet, fp_rate: f64) -> (Bloom<[u8]>, Duration) {
    let start = Instant::now();
    let n = set.len().max(1) as f64;
    let k = 4.0f64;
    // fp = (1 - e^{-k n / m})^k  =>  m = -k n / ln(1 - fp^{1/k})
    let bits = -k * n / (-fp_rate.powf(1.0 / k)).ln_1p();
    let bytes = (bits / 8.0).ceil() as usize;
    // The crate picks k = round(m / items * ln 2): the item count for k = 4.
    let items = ((bytes as f64 * 8.0 * std::f64::consts::LN_2 / k).floor() as usize).max(set.len());
    let mut bloom = Bloom::new_with_seed(bytes, items, &CLASSIC_SEED).expect("sizes");
    assert_eq!(bloom.number_of_hash_functions(), 4);
    for key in set.keys() {
        bloom.set(key);
    }
    (bloom, start.elapsed())
}

/// The floor of a probe that reads one cache line: one read of a line of
/// a buffer the blocked filter's size and backing (huge pages, as
/// [`huge_vec`] gives the filter), the line picked by a cheap hash of the
/// key, timed as the filters' probes are (the timer included). A filter
/// that reads one line a key costs at least about this on the machine it
/// runs on: its p99 is the memory's own tail.
struct LineFloor {
    bytes: Vec<u8>,
}

impl LineFloor {
    fn new(size: usize) -> Self {
        let lines = (size / 64).max(1);
        let mut bytes = huge_vec(lines * 64);
        // Every page written, so that a read is a read of memory, not of
        // the zero page.
        bytes.resize(lines * 64, 1);
        LineFloor { bytes }
    }

    fn probe(&self, key: &[u8]) -> bool {
        let mut h = [0u8; 8];
        let n = key.len().min(8);
        h[..n].copy_from_slice(&key[key.len() - n..]);
        let lines = self.bytes.len() / 64;
        let line = (mix(u64::from_le_bytes(h)) % lines as u64) as usize;
        self.bytes[line * 64] & 1 == 1
    }
}

/// The filters alone, old and new, on the same keys, with the floor of a
/// one-line probe beside them.
fn report_filters(label: &str, set: &DesignatedSet, n: u64) -> Bloom<[u8]> {
    let (classic, classic_build) = classic_filter(set, DEFAULT_FP_RATE);
    let listed = probes(n, 0, 1_000_000);
    let clean = probes(u64::MAX, 1, 1_000_000);
    println!(
        "{label}: filters: classic (bloomfilter, {} hashes) {:.1} MB, {:.1} bits a key, \
         built in {:.2} s (one thread); blocked (one 64-byte block a key) {:.1} MB, \
         {:.1} bits a key",
        classic.number_of_hash_functions(),
        classic.as_slice().len() as f64 / 1e6,
        classic.len() as f64 / set.len() as f64,
        classic_build.as_secs_f64(),
        set.filter_size_bytes() as f64 / 1e6,
        set.filter_size_bytes() as f64 * 8.0 / set.len() as f64,
    );
    let floor = LineFloor::new(set.filter_size_bytes());
    // Warm up.
    timed(&listed[..100_000], |k| classic.check(k));
    timed(&listed[..100_000], |k| set.filter_may_contain(k));
    timed(&listed[..100_000], |k| floor.probe(k));
    for (name, keys) in [("listed", &listed), ("clean ", &clean)] {
        let (p50, p99, p999, _) = timed(keys, |k| !k.is_empty());
        println!(
            "{label}: floor: the timer alone {name} p50 {p50} ns, p99 {p99} ns, p99.9 {p999} ns"
        );
        let (p50, p99, p999, _) = timed(keys, |k| floor.probe(k));
        println!(
            "{label}: floor: one line read {name} probe p50 {p50} ns, p99 {p99} ns, \
             p99.9 {p999} ns"
        );
        let (p50, p99, p999, old_pass) = timed(keys, |k| classic.check(k));
        println!(
            "{label}: classic filter {name} probe p50 {p50} ns, p99 {p99} ns, p99.9 {p999} ns \
             ({old_pass} passed)"
        );
        let (p50, p99, p999, new_pass) = timed(keys, |k| set.filter_may_contain(k));
        println!(
            "{label}: blocked filter {name} probe p50 {p50} ns, p99 {p99} ns, p99.9 {p999} ns \
             ({new_pass} passed)"
        );
    }
    // False-positive rates on the clean keys.
    let old_fp = clean.iter().filter(|k| classic.check(k)).count();
    let new_fp = clean.iter().filter(|k| set.filter_may_contain(k)).count();
    println!(
        "{label}: false positives on {} clean keys: classic {old_fp} ({:.2e}), blocked \
         {new_fp} ({:.2e}); target {DEFAULT_FP_RATE:e}",
        clean.len(),
        old_fp as f64 / clean.len() as f64,
        new_fp as f64 / clean.len() as f64
    );
    classic
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

fn bench_lookups(
    c: &mut Criterion,
    label: &str,
    set: &DesignatedSet,
    classic: &Bloom<[u8]>,
    n: u64,
) {
    let listed = probes(n, 0, 100_000);
    let clean = probes(u64::MAX, 1, 100_000);
    let mut group = c.benchmark_group(format!("lookup/{label}"));
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let mut i = 0usize;
    group.bench_function("classic-filter-clean", |b| {
        b.iter(|| {
            i = (i + 1) % clean.len();
            classic.check(black_box(&clean[i]))
        })
    });
    group.bench_function("blocked-filter-clean", |b| {
        b.iter(|| {
            i = (i + 1) % clean.len();
            set.filter_may_contain(black_box(&clean[i]))
        })
    });
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
            "{label}: build {:.2} s ({} keys, {} duplicates, {} MB in the set, {:.1} bytes a \
             key, filter {} MB); before: {before}; after: {}",
            took.as_secs_f64(),
            set.len(),
            set.duplicates(),
            set.size_bytes() / 1_000_000,
            set.size_bytes() as f64 / set.len() as f64,
            set.filter_size_bytes() / 1_000_000,
            mem()
        );
        let classic = report_filters(&label, &set, n);
        report_lookups(&label, &set, n);
        bench_lookups(c, &label, &set, &classic, n);
        drop(classic);
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
