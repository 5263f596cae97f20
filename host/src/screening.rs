//! Designated sets: a Bloom filter in front of an exact set of canonical keys.
//!
//! Lookups go to the Bloom filter first; a Bloom miss is a definite "not
//! designated". Every Bloom hit is confirmed against the exact set, so a Bloom
//! false positive never becomes a hit and the answer is deterministic
//! whatever the filter's size or hashing. The Bloom seed is fixed, so the
//! filter (and the counters below) are reproducible run to run as well.
//!
//! Keys are the byte keys of [`Canonical::key`]: at most
//! [`MAX_KEY_LEN`](crate::address::MAX_KEY_LEN) bytes. The exact store is a
//! private type with `insert`/`get`/`len`, so it can later be swapped for a
//! sorted array of fixed-width (zero-padded) keys that can be memory-mapped
//! and binary-searched, without changing this module's API.

use std::collections::HashMap;
use std::collections::hash_map::Entry as MapEntry;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bloomfilter::Bloom;
use sha2::{Digest, Sha256};

use crate::address::{self, AddressError, Canonical};

/// Default Bloom false-positive rate.
pub const DEFAULT_FP_RATE: f64 = 1e-4;

/// Fixed seed for the Bloom hash functions (determinism across runs).
const BLOOM_SEED_DOMAIN: &[u8] = b"riskgate/designated-set/bloom-seed/v1";

/// One designated address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// Entity label, e.g. `Lazarus Group`.
    pub label: Option<String>,
    /// The address as written in the list.
    pub original: String,
}

/// A list entry that could not be parsed (never silently dropped).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// 1-based line number.
    pub line: usize,
    /// The address text as written.
    pub text: String,
    /// Why it was refused.
    #[serde(serialize_with = "serialize_display")]
    pub reason: AddressError,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: `{}`: {}", self.line, self.text, self.reason)
    }
}

fn serialize_display<S: serde::Serializer>(
    value: &AddressError,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// Errors building or loading a designated set.
#[derive(Debug, thiserror::Error)]
pub enum SetError {
    #[error("Bloom false-positive rate {0} is not strictly between 0 and 1")]
    InvalidFpRate(f64),
    #[error("cannot read designated list {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "designated list {} is not valid UTF-8 (invalid byte at offset {valid_up_to})",
        path.display()
    )]
    NotUtf8 { path: PathBuf, valid_up_to: usize },
    #[error("cannot build the Bloom filter of designated set `{name}`: {reason}")]
    Bloom { name: String, reason: String },
}

/// Lookup counters of one set (monotonic, relaxed atomics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct SetStats {
    /// Lookups made.
    pub lookups: u64,
    /// Lookups the Bloom filter passed on to the exact set.
    pub bloom_hits: u64,
    /// Bloom hits confirmed by the exact set.
    pub confirmed: u64,
}

impl SetStats {
    /// Bloom hits rejected by the exact set.
    pub fn bloom_false_positives(&self) -> u64 {
        self.bloom_hits.saturating_sub(self.confirmed)
    }
}

/// Exact key store. Private so that it can become a sorted, memory-mappable
/// array of fixed-width keys later.
#[derive(Default)]
struct ExactStore {
    map: HashMap<Box<[u8]>, Entry>,
}

impl ExactStore {
    /// Insert; on a duplicate key keep the first entry (adopting a label if it
    /// had none) and return false.
    fn insert(&mut self, key: &[u8], entry: Entry) -> bool {
        match self.map.entry(key.into()) {
            MapEntry::Vacant(v) => {
                v.insert(entry);
                true
            }
            MapEntry::Occupied(mut o) => {
                let existing = o.get_mut();
                if existing.label.is_none() {
                    existing.label = entry.label;
                }
                false
            }
        }
    }

    fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.map.get(key)
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn iter(&self) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.map.iter().map(|(k, v)| (&**k, v))
    }
}

/// A designated set (one list of one version).
pub struct DesignatedSet {
    name: String,
    version: String,
    source: String,
    bloom: Bloom<[u8]>,
    exact: ExactStore,
    duplicates: usize,
    lookups: AtomicU64,
    bloom_hits: AtomicU64,
    confirmed: AtomicU64,
}

impl fmt::Debug for DesignatedSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DesignatedSet")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("source", &self.source)
            .field("len", &self.len())
            .field("duplicates", &self.duplicates)
            .field("bloom_bits", &self.bloom.len())
            .field("stats", &self.stats())
            .finish()
    }
}

impl DesignatedSet {
    /// Build from canonical entries. Duplicate keys keep the first entry.
    pub fn build(
        name: &str,
        version: &str,
        source: &str,
        entries: impl IntoIterator<Item = (Canonical, Entry)>,
        fp_rate: f64,
    ) -> Result<Self, SetError> {
        if !(fp_rate > 0.0 && fp_rate < 1.0) {
            return Err(SetError::InvalidFpRate(fp_rate));
        }
        let mut exact = ExactStore::default();
        let mut duplicates = 0;
        for (canonical, entry) in entries {
            if !exact.insert(canonical.key(), entry) {
                duplicates += 1;
            }
        }
        let items = exact.len().max(1);
        // Same sizing as `Bloom::compute_bitmap_size`, without its asserts.
        let bytes = (items as f64 * fp_rate.ln() / (-8.0 * std::f64::consts::LN_2.powi(2))).ceil();
        let bitmap_bytes = if bytes.is_finite() && bytes >= 1.0 {
            bytes as usize
        } else {
            1
        };
        let seed: [u8; 32] = Sha256::digest(BLOOM_SEED_DOMAIN).into();
        let mut bloom =
            Bloom::new_with_seed(bitmap_bytes, items, &seed).map_err(|reason| SetError::Bloom {
                name: name.to_string(),
                reason: reason.to_string(),
            })?;
        for (key, _) in exact.iter() {
            bloom.set(key);
        }
        Ok(DesignatedSet {
            name: name.to_string(),
            version: version.to_string(),
            source: source.to_string(),
            bloom,
            exact,
            duplicates,
            lookups: AtomicU64::new(0),
            bloom_hits: AtomicU64::new(0),
            confirmed: AtomicU64::new(0),
        })
    }

    /// Parse a plain list: one address per line; `#` starts a comment; blank
    /// lines ignored; text after `#` on an address line is the entity label.
    /// The family of each entry is inferred with [`address::canonicalize_any`].
    /// Every unparsable entry is returned as [`Skipped`]. `version` defaults to
    /// `sha256:` + the first 16 hex digits of the SHA-256 of `text`.
    pub fn from_plain_text(
        name: &str,
        version: Option<&str>,
        source: &str,
        text: &str,
        fp_rate: f64,
    ) -> Result<(Self, Vec<Skipped>), SetError> {
        let version = match version {
            Some(v) => v.to_string(),
            None => content_version(text.as_bytes()),
        };
        let (entries, skipped) = parse_plain(text);
        let set = Self::build(name, &version, source, entries, fp_rate)?;
        Ok((set, skipped))
    }

    /// Read and parse a plain list file; `source` is the path.
    pub fn from_plain_file(
        name: &str,
        path: &Path,
        fp_rate: f64,
    ) -> Result<(Self, Vec<Skipped>), SetError> {
        let bytes = std::fs::read(path).map_err(|source| SetError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| SetError::NotUtf8 {
            path: path.to_path_buf(),
            valid_up_to: e.utf8_error().valid_up_to(),
        })?;
        Self::from_plain_text(name, None, &path.display().to_string(), &text, fp_rate)
    }

    /// Bloom first; every Bloom hit is confirmed in the exact set; only
    /// confirmed hits return `Some`.
    pub fn lookup(&self, key: &Canonical) -> Option<&Entry> {
        self.lookup_key(key.key())
    }

    /// [`lookup`](Self::lookup) by raw key bytes.
    pub fn lookup_key(&self, key: &[u8]) -> Option<&Entry> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        if !self.bloom.check(key) {
            return None;
        }
        self.bloom_hits.fetch_add(1, Ordering::Relaxed);
        let entry = self.exact.get(key)?;
        self.confirmed.fetch_add(1, Ordering::Relaxed);
        Some(entry)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Number of distinct designated keys.
    pub fn len(&self) -> usize {
        self.exact.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries whose key was already present when building (merged, not counted in `len`).
    pub fn duplicates(&self) -> usize {
        self.duplicates
    }

    /// Every designated key with its entry, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.exact.iter()
    }

    /// Lookup counters.
    pub fn stats(&self) -> SetStats {
        SetStats {
            lookups: self.lookups.load(Ordering::Relaxed),
            bloom_hits: self.bloom_hits.load(Ordering::Relaxed),
            confirmed: self.confirmed.load(Ordering::Relaxed),
        }
    }
}

/// `sha256:` + first 16 hex digits of the SHA-256 of `content`.
pub fn content_version(content: &[u8]) -> String {
    let digest = hex::encode(Sha256::digest(content));
    format!("sha256:{}", digest.get(..16).unwrap_or(&digest))
}

/// Split a plain list into parsed entries and skipped ones.
fn parse_plain(text: &str) -> (Vec<(Canonical, Entry)>, Vec<Skipped>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let (address_part, label_part) = match line.split_once('#') {
            Some((a, l)) => (a, Some(l)),
            None => (line, None),
        };
        let original = address_part.trim();
        if original.is_empty() {
            continue;
        }
        let label = label_part
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string);
        match address::canonicalize_any(original) {
            Ok(canonical) => entries.push((
                canonical,
                Entry {
                    label,
                    original: original.to_string(),
                },
            )),
            Err(reason) => skipped.push(Skipped {
                line: index + 1,
                text: original.to_string(),
                reason,
            }),
        }
    }
    (entries, skipped)
}

/// A confirmed match of a screened address in one designated set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hit {
    /// Set name.
    pub list: String,
    /// Set version.
    pub list_version: String,
    /// Entity label from the list, if any.
    pub label: Option<String>,
    /// Canonical text of the screened address.
    pub address: String,
}

/// Why an address could not be screened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScreenError {
    #[error("unsupported chain `{0}`")]
    UnsupportedChain(String),
    #[error("invalid address: {0}")]
    InvalidAddress(AddressError),
}

impl From<AddressError> for ScreenError {
    fn from(e: AddressError) -> Self {
        match e {
            AddressError::UnsupportedChain(chain) => ScreenError::UnsupportedChain(chain),
            other => ScreenError::InvalidAddress(other),
        }
    }
}

/// All designated sets the gate screens against. Cheap to clone; Send + Sync.
#[derive(Clone, Default)]
pub struct Screener {
    sets: Arc<Vec<Arc<DesignatedSet>>>,
}

impl fmt::Debug for Screener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.sets.iter()).finish()
    }
}

impl Screener {
    pub fn new(sets: Vec<DesignatedSet>) -> Self {
        Self::from_shared(sets.into_iter().map(Arc::new).collect())
    }

    /// Build from sets that are also shared elsewhere.
    pub fn from_shared(sets: Vec<Arc<DesignatedSet>>) -> Self {
        Screener {
            sets: Arc::new(sets),
        }
    }

    pub fn sets(&self) -> impl Iterator<Item = &DesignatedSet> {
        self.sets.iter().map(|s| &**s)
    }

    /// `canonicalize(chain, address)` then look the key up in every set; a hit
    /// in several sets gives several hits, in set order.
    pub fn screen(&self, chain: &str, address: &str) -> Result<Vec<Hit>, ScreenError> {
        let canonical = address::canonicalize(chain, address)?;
        Ok(self.screen_canonical(&canonical))
    }

    /// Look an already canonical address up in every set.
    pub fn screen_canonical(&self, key: &Canonical) -> Vec<Hit> {
        self.sets()
            .filter_map(|set| {
                set.lookup(key).map(|entry| Hit {
                    list: set.name().to_string(),
                    list_version: set.version().to_string(),
                    label: entry.label.clone(),
                    address: key.as_str().to_string(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{Family, canonicalize_any, eip55_checksum};
    use bech32::{hrp, segwit};

    const SAMPLE: &str = include_str!("../data/sample-list.txt");
    const LAZARUS: &str = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";
    const SYNTHETIC_LABEL: &str = "synthetic sample, not a real designation";

    fn sha(seed: &str) -> [u8; 32] {
        Sha256::digest(seed.as_bytes()).into()
    }

    fn base58check(version: u8, payload: &[u8]) -> String {
        let mut data = vec![version];
        data.extend_from_slice(payload);
        bs58::encode(data).with_check().into_string()
    }

    /// The synthetic addresses of `data/sample-list.txt`, regenerated from
    /// their seeds `sha256("riskgate-sample-N")`.
    fn synthetic_samples() -> Vec<String> {
        (1..=12)
            .map(|n| {
                let h = sha(&format!("riskgate-sample-{n}"));
                let h20: [u8; 20] = h[..20].try_into().expect("20 bytes");
                match n {
                    1..=3 => eip55_checksum(&h20),
                    4..=5 => base58check(0x00, &h20),
                    6..=7 => base58check(0x05, &h20),
                    8 => segwit::encode_v0(hrp::BC, &h20).expect("p2wpkh"),
                    9 => segwit::encode_v0(hrp::BC, &h).expect("p2wsh"),
                    10 => segwit::encode_v1(hrp::BC, &h).expect("p2tr"),
                    _ => base58check(0x41, &h20),
                }
            })
            .collect()
    }

    fn set_from(text: &str, fp_rate: f64) -> DesignatedSet {
        let (set, skipped) =
            DesignatedSet::from_plain_text("test", Some("v1"), "inline", text, fp_rate)
                .expect("valid list");
        assert!(skipped.is_empty(), "{skipped:?}");
        set
    }

    fn sample_set() -> DesignatedSet {
        let (set, skipped) = DesignatedSet::from_plain_text(
            "sample",
            None,
            "data/sample-list.txt",
            SAMPLE,
            DEFAULT_FP_RATE,
        )
        .expect("sample list builds");
        assert!(
            skipped.is_empty(),
            "sample list has skipped entries: {skipped:?}"
        );
        set
    }

    /// Print the synthetic part of the sample list:
    /// `cargo test print_sample_list -- --ignored --nocapture`.
    #[test]
    #[ignore = "generator for data/sample-list.txt"]
    fn print_sample_list() {
        for s in synthetic_samples() {
            println!("{s} # {SYNTHETIC_LABEL}");
        }
    }

    #[test]
    fn sample_list_parses_with_nothing_skipped() {
        let set = sample_set();
        assert_eq!(set.len(), 13);
        assert_eq!(set.duplicates(), 0);
        assert!(set.version().starts_with("sha256:"));
        assert_eq!(set.version().len(), "sha256:".len() + 16);
        assert_eq!(set.version(), content_version(SAMPLE.as_bytes()));

        let lazarus = canonicalize_any(LAZARUS).expect("lazarus address");
        let entry = set.lookup(&lazarus).expect("lazarus is listed");
        assert!(
            entry
                .label
                .as_deref()
                .is_some_and(|l| l.contains("Lazarus Group"))
        );
        assert_eq!(entry.original, LAZARUS);

        // Every synthetic address is listed, labelled as synthetic, and the
        // list covers every kind promised.
        let mut kinds = std::collections::BTreeSet::new();
        for s in synthetic_samples() {
            let c = canonicalize_any(&s).expect("generated address is valid");
            let entry = set.lookup(&c).expect("synthetic sample listed");
            assert_eq!(entry.label.as_deref(), Some(SYNTHETIC_LABEL), "{s}");
            assert_eq!(entry.original, s);
            kinds.insert((c.family(), c.kind(), c.payload().len()));
        }
        assert_eq!(kinds.len(), 7, "{kinds:?}");
        // Nothing else but the Lazarus address and the synthetic ones.
        for (_, entry) in set.entries() {
            assert!(
                entry.original == LAZARUS || entry.label.as_deref() == Some(SYNTHETIC_LABEL),
                "{entry:?}"
            );
        }
    }

    #[test]
    fn plain_text_format() {
        let text = "\u{feff}# header comment\n\
                    \n\
                    0x098b716b8aaf21512996dc57eb0615e2383e2f96   #  Lazarus Group  \r\n\
                    1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2\n\
                    \t3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy #\n\
                    0x098B716B8AAF21512996DC57EB0615E2383E2F96 # duplicate, other case\n\
                    not-an-address # junk\n\
                    0x098B716B8Aaf21512996dC57EB0615e2383E2f97 # bad checksum\n\
                    LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb # litecoin\n\
                    # 0x0000000000000000000000000000000000000000 commented out\n";
        let (set, skipped) =
            DesignatedSet::from_plain_text("t", None, "inline", text, DEFAULT_FP_RATE)
                .expect("builds");
        assert_eq!(set.len(), 3);
        assert_eq!(set.duplicates(), 1);
        assert_eq!(set.name(), "t");
        assert_eq!(set.source(), "inline");
        assert_eq!(set.version(), content_version(text.as_bytes()));
        let lines: Vec<usize> = skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, vec![7, 8, 9]);
        assert_eq!(skipped[0].text, "not-an-address");
        assert!(matches!(skipped[1].reason, AddressError::BadChecksum(_)));
        assert!(matches!(skipped[2].reason, AddressError::Unrecognised(_)));
        assert!(
            skipped[1].to_string().starts_with("line 8: `0x098B"),
            "{}",
            skipped[1]
        );

        let lazarus = canonicalize_any(LAZARUS).expect("valid");
        let entry = set.lookup(&lazarus).expect("listed");
        assert_eq!(entry.label.as_deref(), Some("Lazarus Group"));
        assert_eq!(entry.original, "0x098b716b8aaf21512996dc57eb0615e2383e2f96");
        let p2sh = canonicalize_any("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy").expect("valid");
        assert_eq!(set.lookup(&p2sh).and_then(|e| e.label.clone()), None);

        // The explicit version wins over the content hash.
        let (set, _) = DesignatedSet::from_plain_text("t", Some("2024-09-27"), "x", text, 0.01)
            .expect("builds");
        assert_eq!(set.version(), "2024-09-27");
    }

    #[test]
    fn invalid_fp_rates_are_refused() {
        for rate in [0.0, 1.0, -0.5, 1.5, f64::NAN, f64::INFINITY] {
            let result = DesignatedSet::build("t", "v", "s", Vec::new(), rate);
            assert!(matches!(result, Err(SetError::InvalidFpRate(_))), "{rate}");
        }
        // Extreme but valid rates build.
        for rate in [f64::MIN_POSITIVE, 1e-12, 0.999_999] {
            let set = set_from(LAZARUS, rate);
            assert!(
                set.lookup(&canonicalize_any(LAZARUS).expect("valid"))
                    .is_some()
            );
        }
    }

    #[test]
    fn empty_set_never_hits() {
        let set = DesignatedSet::build("empty", "v", "s", Vec::new(), DEFAULT_FP_RATE)
            .expect("empty set builds");
        assert!(set.is_empty());
        let c = canonicalize_any(LAZARUS).expect("valid");
        assert_eq!(set.lookup(&c), None);
        assert_eq!(set.stats().lookups, 1);
    }

    #[test]
    fn bloom_false_positives_are_rejected_by_the_exact_set() {
        // A deliberately bad filter: about half of all clean keys pass it.
        let listed: Vec<String> = synthetic_samples();
        let set = set_from(&listed.join("\n"), 0.5);
        let listed_keys: std::collections::HashSet<Vec<u8>> = listed
            .iter()
            .map(|s| canonicalize_any(s).expect("valid").key().to_vec())
            .collect();

        for i in 0..2000u32 {
            let h = sha(&format!("clean-{i}"));
            let h20: [u8; 20] = h[..20].try_into().expect("20 bytes");
            for text in [
                eip55_checksum(&h20),
                base58check(0x00, &h20),
                base58check(0x41, &h20),
                segwit::encode_v1(hrp::BC, &h).expect("p2tr"),
            ] {
                let c = canonicalize_any(&text).expect("valid clean address");
                assert!(!listed_keys.contains(c.key()));
                assert_eq!(set.lookup(&c), None, "{text} must not be a hit");
            }
        }
        let stats = set.stats();
        assert_eq!(stats.lookups, 8000);
        assert_eq!(stats.confirmed, 0);
        assert!(stats.bloom_hits > 1000, "filter should be bad: {stats:?}");
        assert_eq!(stats.bloom_false_positives(), stats.bloom_hits);

        // Listed addresses still hit, and are the only confirmed lookups.
        for s in &listed {
            assert!(set.lookup(&canonicalize_any(s).expect("valid")).is_some());
        }
        let after = set.stats();
        assert_eq!(after.confirmed, listed.len() as u64);
        assert!(after.bloom_hits > after.confirmed);
    }

    #[test]
    fn lookups_are_deterministic_across_builds() {
        let listed = synthetic_samples().join("\n");
        let a = set_from(&listed, 0.5);
        let b = set_from(&listed, 0.5);
        for i in 0..200u32 {
            let h = sha(&format!("probe-{i}"));
            let h20: [u8; 20] = h[..20].try_into().expect("20 bytes");
            let c = canonicalize_any(&eip55_checksum(&h20)).expect("valid");
            assert_eq!(a.lookup(&c), b.lookup(&c));
        }
        assert_eq!(a.stats(), b.stats());
    }

    #[test]
    fn accepted_variants_of_listed_addresses_are_found() {
        let screener = Screener::new(vec![sample_set()]);
        let samples = synthetic_samples();
        let bech32_v0 = &samples[7];
        let taproot = &samples[9];
        let tron = &samples[10];
        let tron_hex = format!(
            "41{}",
            hex::encode(canonicalize_any(tron).expect("valid").payload())
        );
        let cases = [
            ("ethereum", LAZARUS.to_string()),
            ("ethereum", LAZARUS.to_ascii_lowercase()),
            (
                "ethereum",
                format!("0x{}", LAZARUS[2..].to_ascii_uppercase()),
            ),
            ("polygon", format!("  0X{}\n", &LAZARUS[2..])),
            ("bitcoin", bech32_v0.to_ascii_uppercase()),
            ("btc", taproot.to_ascii_uppercase()),
            ("bitcoin", format!(" {} ", samples[3])),
            ("tron", tron.clone()),
            ("tron", tron_hex.to_ascii_uppercase()),
        ];
        for (chain, address) in cases {
            let hits = screener.screen(chain, &address).expect("valid address");
            assert_eq!(hits.len(), 1, "{chain} {address}");
            let canonical = address::canonicalize(chain, &address).expect("valid");
            assert_eq!(hits[0].address, canonical.as_str());
            assert_eq!(hits[0].list, "sample");
        }
        // A case-swapped base58 address is not the listed one.
        let p2pkh = &samples[3];
        let swapped: String = p2pkh
            .chars()
            .map(|c| {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        assert!(!matches!(screener.screen("bitcoin", &swapped), Ok(h) if !h.is_empty()));
    }

    #[test]
    fn eth_list_entries_match_on_every_evm_chain() {
        let (eth, skipped) = DesignatedSet::from_plain_text(
            "ofac-ETH",
            Some("2024-09-27"),
            "sanctioned_addresses_ETH.txt",
            &format!("{}\n", LAZARUS.to_ascii_lowercase()),
            DEFAULT_FP_RATE,
        )
        .expect("builds");
        assert!(skipped.is_empty());
        let screener = Screener::new(vec![eth, sample_set()]);
        for chain in ["bsc", "arbitrum", "ethereum", "base"] {
            let hits = screener.screen(chain, LAZARUS).expect("valid");
            let lists: Vec<&str> = hits.iter().map(|h| h.list.as_str()).collect();
            assert_eq!(lists, vec!["ofac-ETH", "sample"], "{chain}");
            assert_eq!(hits[0].list_version, "2024-09-27");
            assert_eq!(hits[0].label, None);
            assert_eq!(hits[0].address, LAZARUS);
            assert!(
                hits[1]
                    .label
                    .as_deref()
                    .is_some_and(|l| l.contains("Lazarus"))
            );
        }
        // Same 20 bytes on Tron is a different address.
        let payload = canonicalize_any(LAZARUS).expect("valid").payload().to_vec();
        let tron_twin = format!("41{}", hex::encode(payload));
        assert_eq!(screener.screen("tron", &tron_twin), Ok(vec![]));
    }

    #[test]
    fn screen_errors() {
        let screener = Screener::new(vec![sample_set()]);
        assert_eq!(
            screener.screen("dogecoin", LAZARUS),
            Err(ScreenError::UnsupportedChain("dogecoin".to_string()))
        );
        let err = screener
            .screen("bitcoin", LAZARUS)
            .expect_err("evm on bitcoin");
        assert!(
            matches!(
                &err,
                ScreenError::InvalidAddress(AddressError::WrongFamily {
                    expected: Family::Bitcoin,
                    found: Family::Evm
                })
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("not a bitcoin address"), "{err}");
        assert_eq!(
            screener.screen("eth", "0x098B716B8Aaf21512996dC57EB0615e2383E2f97"),
            Err(ScreenError::InvalidAddress(AddressError::BadChecksum(
                "mixed-case evm address does not match its EIP-55 checksum".to_string()
            )))
        );
        assert_eq!(Screener::default().screen("eth", LAZARUS), Ok(vec![]));
    }

    #[test]
    fn screener_is_send_sync_and_cheap_to_clone() {
        fn assert_send_sync<T: Send + Sync + Clone>(_: &T) {}
        let screener = Screener::new(vec![sample_set()]);
        assert_send_sync(&screener);
        let clone = screener.clone();
        assert!(std::ptr::eq(
            screener.sets().next().expect("one set"),
            clone.sets().next().expect("one set")
        ));
        let handle = std::thread::spawn(move || clone.screen("eth", LAZARUS).map(|h| h.len()));
        assert_eq!(handle.join().expect("thread"), Ok(1));
        assert_eq!(
            screener
                .sets()
                .map(DesignatedSet::stats)
                .map(|s| s.confirmed)
                .sum::<u64>(),
            1
        );
    }

    #[test]
    fn ofac_sdn_lists_if_present() {
        let dir = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/ofac-sdn-2024-09-27"
        ));
        if !dir.is_dir() {
            println!("skipping: OFAC data not found at {}", dir.display());
            return;
        }
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("readable directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        assert!(!paths.is_empty(), "no files in {}", dir.display());
        let mut sets = Vec::new();
        for path in &paths {
            let file = path
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or_default();
            let currency = file
                .strip_prefix("sanctioned_addresses_")
                .and_then(|f| f.strip_suffix(".txt"))
                .unwrap_or(file)
                .to_string();
            let (set, skipped) =
                DesignatedSet::from_plain_file(&format!("ofac-{currency}"), path, DEFAULT_FP_RATE)
                    .expect("list loads");
            let mut families = std::collections::BTreeMap::new();
            for (key, _) in set.entries() {
                let c = Canonical::from_key(key).expect("stored keys are valid");
                *families.entry(c.family()).or_insert(0usize) += 1;
            }
            println!(
                "{file}: {} parsed ({} duplicates) {families:?}, {} skipped",
                set.len(),
                set.duplicates(),
                skipped.len()
            );
            for s in &skipped {
                println!("    skipped {s}");
            }
            if matches!(currency.as_str(), "ETH" | "TRX" | "XBT") {
                assert!(skipped.is_empty(), "{file}: {skipped:?}");
                assert!(!set.is_empty(), "{file}");
            }
            sets.push((currency, set));
        }
        for (currency, set) in &sets {
            for (key, entry) in set.entries() {
                let c = canonicalize_any(&entry.original).expect("listed entry reparses");
                assert_eq!(c.key(), key);
                match currency.as_str() {
                    "ETH" => assert_eq!(c.family(), Family::Evm),
                    "TRX" => assert_eq!(c.family(), Family::Tron),
                    "XBT" if entry.original.starts_with('T') => {
                        assert_eq!(c.family(), Family::Tron, "{}", entry.original)
                    }
                    "XBT" => assert_eq!(c.family(), Family::Bitcoin, "{}", entry.original),
                    _ => {}
                }
            }
        }
        if let Some((_, xbt)) = sets.iter().find(|(c, _)| c == "XBT") {
            let tron = canonicalize_any("TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq").expect("tron");
            assert_eq!(tron.family(), Family::Tron);
            assert!(
                xbt.lookup(&tron).is_some(),
                "XBT list holds the Tron address"
            );
        }
        // An ETH-listed address is designated on every EVM chain.
        let screener = Screener::new(sets.into_iter().map(|(_, s)| s).collect());
        if let Some(eth) = screener.sets().find(|s| s.name() == "ofac-ETH") {
            let (_, entry) = eth.entries().next().expect("ETH list not empty");
            let original = entry.original.clone();
            for chain in ["bsc", "arbitrum"] {
                let hits = screener.screen(chain, &original).expect("valid");
                assert!(
                    hits.iter().any(|h| h.list == "ofac-ETH"),
                    "{chain} {original}"
                );
            }
        }
    }
}
