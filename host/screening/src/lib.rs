//! Designated sets: a Bloom filter in front of an exact set of canonical keys.
//!
//! Lookups go to the Bloom filter first; a Bloom miss is a definite "not
//! designated". Every Bloom hit is confirmed against the exact set, so a Bloom
//! false positive never becomes a hit and the answer is deterministic
//! whatever the filter's size or hashing. The Bloom seed is fixed, so the
//! filter (and the counters below) are reproducible run to run as well.
//!
//! The filter is a blocked (split-block) Bloom filter (`bloom.rs`): a key
//! is hashed once and all its bits are in one 64-byte, cache-line aligned
//! block, so a clean lookup reads one line of the filter. At the default
//! rate ([`DEFAULT_FP_RATE`], 1e-4) it takes 23.6 bits per key.
//!
//! Keys are the byte keys of [`Canonical::key`]: at most
//! [`MAX_KEY_LEN`](riskgate_address::MAX_KEY_LEN) bytes, of any length. The
//! exact store keeps one sorted array of fixed-width keys per key length,
//! with a bucket index on the key prefix in front of a binary search; labels
//! are deduplicated into a string arena and an entry's original text is
//! stored only when it is neither the canonical text nor its lowercase form.
//! About 31 bytes per 20-byte-payload entry, Bloom filter included (3 of
//! them; the classic filter used before took 4.7).
//!
//! A set can be written as a compiled file ([`DesignatedSet::write_compiled`])
//! and opened memory-mapped ([`DesignatedSet::open_compiled`]): lookups are
//! then served straight from the map, nothing is parsed per entry.

mod bloom;
mod compiled;
mod open;
mod store;
#[cfg(test)]
mod tests;

use riskgate_storage::slots::StripedU64;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use sha2::{Digest, Sha256};

use riskgate_address::{self as address, AddressError, Canonical};

use bloom::BlockedBloom;
pub use compiled::{FORMAT_VERSION, MAGIC, Verify, is_compiled_set};
pub use open::{is_compiled_file, looks_compiled, open_compiled_as};
use store::{Builder, Store};
pub use store::{EntryRef, huge_vec};

/// Default Bloom false-positive rate.
pub const DEFAULT_FP_RATE: f64 = 1e-4;

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
    #[error("invalid designated-set key: {0}")]
    InvalidKey(String),
    #[error("designated set too large: {0}")]
    TooLarge(String),
    #[error("compiled set {} is refused: {field}: {reason}", path.display())]
    Corrupt {
        path: PathBuf,
        /// The header field or body section that is wrong.
        field: String,
        reason: String,
    },
    #[error("{}: a plain list needs a name (NAME=FILE)", path.display())]
    Unnamed { path: PathBuf },
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

/// A designated set (one list of one version).
pub struct DesignatedSet {
    name: String,
    version: String,
    source: String,
    fp_rate: f64,
    /// The blocked Bloom filter: one cache line per lookup.
    filter: BlockedBloom,
    exact: Store,
    duplicates: usize,
    mapped: bool,
    /// Lookup outcomes, each lookup counting in exactly one of them, once,
    /// at its end: a locked read-modify-write is a full fence on x86, and
    /// one issued before or between the Bloom probes and the exact store's
    /// reads would keep their cache misses from overlapping.
    // Striped: every lookup of every thread counts, and one shared line
    // would make the threads take turns.
    bloom_rejected: StripedU64,
    unconfirmed: StripedU64,
    confirmed: StripedU64,
}

impl fmt::Debug for DesignatedSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DesignatedSet")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("source", &self.source)
            .field("len", &self.len())
            .field("duplicates", &self.duplicates)
            .field("bloom_blocks", &self.filter.blocks())
            .field("mapped", &self.mapped)
            .field("stats", &self.stats())
            .finish()
    }
}

/// Incremental builder of a [`DesignatedSet`], for large sets: entries are
/// packed as they arrive (no per-entry allocation is kept).
pub struct SetBuilder {
    fp_rate: f64,
    inner: Builder,
}

impl SetBuilder {
    /// `fp_rate` is the Bloom false-positive rate, strictly between 0 and 1.
    pub fn new(fp_rate: f64) -> Result<Self, SetError> {
        if !(fp_rate > 0.0 && fp_rate < 1.0) {
            return Err(SetError::InvalidFpRate(fp_rate));
        }
        Ok(SetBuilder {
            fp_rate,
            inner: Builder::new(),
        })
    }

    /// Reserve room for `additional` more entries.
    pub fn reserve(&mut self, additional: usize) {
        self.inner.reserve(additional);
    }

    /// Add a parsed entry.
    pub fn push(&mut self, canonical: &Canonical, entry: &Entry) -> Result<(), SetError> {
        self.inner.push(
            canonical.key(),
            entry.label.as_deref(),
            Some(&entry.original),
            Some(canonical.as_str()),
        )
    }

    /// Add a raw key, which must be a [`Canonical::key`] (2 to
    /// [`MAX_KEY_LEN`](riskgate_address::MAX_KEY_LEN) bytes; only the length is
    /// checked here). `original: None` records the canonical text of the key
    /// as the original (rebuilt from the key on demand).
    pub fn push_key(
        &mut self,
        key: &[u8],
        label: Option<&str>,
        original: Option<&str>,
    ) -> Result<(), SetError> {
        self.inner.push(key, label, original, None)
    }

    /// Sort, dedupe (the first entry of a key wins, adopting the label of a
    /// later duplicate if it had none) and build the Bloom filter.
    pub fn finish(
        self,
        name: &str,
        version: &str,
        source: &str,
    ) -> Result<DesignatedSet, SetError> {
        let (exact, duplicates) = self.inner.finish()?;
        let filter = build_filter(&exact, self.fp_rate)?;
        Ok(DesignatedSet {
            name: name.to_string(),
            version: version.to_string(),
            source: source.to_string(),
            fp_rate: self.fp_rate,
            filter,
            exact,
            duplicates,
            mapped: false,
            bloom_rejected: StripedU64::default(),
            unconfirmed: StripedU64::default(),
            confirmed: StripedU64::default(),
        })
    }
}

/// The blocked Bloom filter of every key of `exact`.
pub(crate) fn build_filter(exact: &Store, fp_rate: f64) -> Result<BlockedBloom, SetError> {
    let keys = exact
        .groups
        .iter()
        .flat_map(|g| (0..g.count).filter_map(move |i| g.key_at(i)));
    BlockedBloom::build(keys, exact.len, fp_rate)
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
        let mut builder = SetBuilder::new(fp_rate)?;
        let entries = entries.into_iter();
        builder.reserve(entries.size_hint().0);
        for (canonical, entry) in entries {
            builder.push(&canonical, &entry)?;
        }
        builder.finish(name, version, source)
    }

    /// Parse a plain list: one address per line; `#` starts a comment; blank
    /// lines ignored; text after `#` on an address line is the entity label.
    /// Each entry is stored under every key of [`address::list_keys`] (the
    /// same address on every chain whose format it is).
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

    /// Write this set as a compiled file (to a temporary file in the same
    /// directory, then renamed over `path`).
    pub fn write_compiled(&self, path: &Path) -> Result<(), SetError> {
        let header = compiled::Header {
            name: self.name.clone(),
            source: self.source.clone(),
            version: self.version.clone(),
            entries: self.len() as u64,
            duplicates: self.duplicates as u64,
            fp_rate: self.fp_rate,
        };
        compiled::write(path, &header, &self.filter, &self.exact)
    }

    /// Open a compiled file with full verification ([`Verify::Full`]: SHA-256
    /// checksum plus structure). The file is memory-mapped and lookups are
    /// served from the map.
    pub fn open_compiled(path: &Path) -> Result<Self, SetError> {
        Self::open_compiled_with(path, Verify::Full)
    }

    /// Open a compiled file, choosing how much to verify.
    pub fn open_compiled_with(path: &Path, verify: Verify) -> Result<Self, SetError> {
        let (header, filter, exact) = compiled::open(path, verify)?;
        Ok(DesignatedSet {
            name: header.name,
            version: header.version,
            source: header.source,
            fp_rate: header.fp_rate,
            filter,
            exact,
            duplicates: usize::try_from(header.duplicates).unwrap_or(usize::MAX),
            mapped: true,
            bloom_rejected: StripedU64::default(),
            unconfirmed: StripedU64::default(),
            confirmed: StripedU64::default(),
        })
    }

    /// Bloom first; every Bloom hit is confirmed in the exact set; only
    /// confirmed hits return `Some`.
    pub fn lookup(&self, key: &Canonical) -> Option<Entry> {
        self.lookup_key(key.key())
    }

    /// [`lookup`](Self::lookup) by raw key bytes.
    pub fn lookup_key(&self, key: &[u8]) -> Option<Entry> {
        self.lookup_ref(key).map(|e| e.to_entry())
    }

    /// [`lookup_key`](Self::lookup_key) without allocating: the label is
    /// borrowed, the original text is rebuilt only if asked for.
    #[inline]
    pub fn lookup_ref(&self, key: &[u8]) -> Option<EntryRef<'_>> {
        // The filter's one line first, then the bucket entry of the exact
        // store (a listed lookup needs both: their misses overlap). Only
        // prefetches: a real load of the bucket would make every clean
        // lookup wait for it too.
        //
        // A listed lookup still waits for two rounds of misses (the filter
        // line with the bucket entry, then the key and meta lines). Issuing
        // the key's line here as well needs a layout where its position
        // follows from the key (tried: ordered linear-probing slot tables);
        // on the 2-core benchmark VM that took about 300 ns off listed
        // lookups at 10M but cost every clean lookup one more DRAM miss,
        // 70..120 ns at p50 and over 1 us at p99.
        let probe = self.filter.probe(key);
        self.filter.prefetch(probe);
        // No array of this key length and family/kind: cannot be listed.
        let group = self.exact.group_for(key);
        if let Some(group) = group {
            group.prefetch(key);
        }
        if !self.filter.check(probe) {
            self.bloom_rejected.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let entry = group.and_then(|group| {
            let (lo, hi) = group.locate(key)?;
            let index = group.find_between(lo, hi, key)?;
            self.exact.entry_at(group, index)
        });
        match entry {
            Some(_) => &self.confirmed,
            None => &self.unconfirmed,
        }
        .fetch_add(1, Ordering::Relaxed);
        entry
    }

    /// The Bloom filter alone: `false` means `key` is not designated,
    /// `true` only that the exact store would be asked. Counts nothing; for
    /// benchmarks and diagnostics.
    #[inline]
    pub fn filter_may_contain(&self, key: &[u8]) -> bool {
        self.filter.contains(key)
    }

    /// Bytes of the Bloom filter (its blocks, heap or mapped).
    pub fn filter_size_bytes(&self) -> usize {
        self.filter.as_slice().len()
    }

    /// Is `key` designated (Bloom, then exact confirmation)?
    #[inline]
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.lookup_ref(key).is_some()
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

    /// The Bloom false-positive rate the set was built with.
    pub fn fp_rate(&self) -> f64 {
        self.fp_rate
    }

    /// Served from a memory-mapped compiled file?
    pub fn is_mapped(&self) -> bool {
        self.mapped
    }

    /// Bytes held by the exact store and the Bloom filter (heap or mapped).
    pub fn size_bytes(&self) -> usize {
        let s = &self.exact;
        let groups: usize = s
            .groups
            .iter()
            .map(|g| g.keys.as_slice().len() + g.meta.as_slice().len() + g.buckets.as_slice().len())
            .sum();
        groups
            + s.label_off.as_slice().len()
            + s.label_arena.as_slice().len()
            + s.exp_pos.as_slice().len()
            + s.exp_off.as_slice().len()
            + s.exp_arena.as_slice().len()
            + self.filter.as_slice().len()
    }

    /// Number of distinct designated keys.
    pub fn len(&self) -> usize {
        self.exact.len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries whose key was already present when building (merged, not counted in `len`).
    pub fn duplicates(&self) -> usize {
        self.duplicates
    }

    /// Every designated key with its entry, sorted by key length then key.
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], Entry)> {
        self.exact.iter().map(|e| (e.key(), e.to_entry()))
    }

    /// Every designated key (cheaper than [`entries`](Self::entries), which
    /// rebuilds each entry's original text).
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.exact
            .groups
            .iter()
            .flat_map(|g| (0..g.count).filter_map(move |i| g.key_at(i)))
    }

    /// Every designated entry, borrowed.
    pub fn entry_refs(&self) -> impl Iterator<Item = EntryRef<'_>> {
        self.exact.iter()
    }

    /// Lookup counters.
    pub fn stats(&self) -> SetStats {
        // Read in the order they are never decremented: a snapshot taken
        // while lookups run may lag, but bloom_hits >= confirmed always.
        let confirmed = self.confirmed.load(Ordering::Relaxed);
        let unconfirmed = self.unconfirmed.load(Ordering::Relaxed);
        let rejected = self.bloom_rejected.load(Ordering::Relaxed);
        SetStats {
            lookups: rejected + unconfirmed + confirmed,
            bloom_hits: unconfirmed + confirmed,
            confirmed,
        }
    }
}

/// `sha256:` + first 16 hex digits of the SHA-256 of `content`.
pub fn content_version(content: &[u8]) -> String {
    let digest = hex::encode(Sha256::digest(content));
    format!("sha256:{}", digest.get(..16).unwrap_or(&digest))
}

/// One address line of a plain list: one address per line, `#` starts a
/// comment, text after `#` on an address line is its label, blank and
/// comment-only lines are not returned. The one reader of the plain format:
/// [`DesignatedSet::from_plain_text`] and the `plain` importer of the lists
/// crate both use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainLine<'a> {
    /// 1-based line number.
    pub line: usize,
    /// The address text, trimmed.
    pub address: &'a str,
    /// The label after `#`, trimmed, if not empty.
    pub label: Option<&'a str>,
}

/// The address lines of a plain list (a leading byte-order mark ignored).
pub fn plain_lines(text: &str) -> impl Iterator<Item = PlainLine<'_>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines().enumerate().filter_map(|(index, line)| {
        let (address_part, label_part) = match line.split_once('#') {
            Some((a, l)) => (a, Some(l)),
            None => (line, None),
        };
        let address = address_part.trim();
        (!address.is_empty()).then(|| PlainLine {
            line: index + 1,
            address,
            label: label_part.map(str::trim).filter(|l| !l.is_empty()),
        })
    })
}

/// Split a plain list into parsed entries and skipped ones.
fn parse_plain(text: &str) -> (Vec<(Canonical, Entry)>, Vec<Skipped>) {
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    for line in plain_lines(text) {
        match address::list_keys(line.address) {
            Ok(keys) => {
                let entry = Entry {
                    label: line.label.map(str::to_string),
                    original: line.address.to_string(),
                };
                entries.extend(keys.into_iter().map(|key| (key, entry.clone())));
            }
            Err(reason) => skipped.push(Skipped {
                line: line.line,
                text: line.address.to_string(),
                reason,
            }),
        }
    }
    (entries, skipped)
}

/// A confirmed match of a screened address in one designated set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SetHit {
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
    pub fn screen(&self, chain: &str, address: &str) -> Result<Vec<SetHit>, ScreenError> {
        let canonical = address::canonicalize(chain, address)?;
        Ok(self.screen_canonical(&canonical))
    }

    /// Look an already canonical address up in every set.
    pub fn screen_canonical(&self, key: &Canonical) -> Vec<SetHit> {
        self.sets()
            .filter_map(|set| {
                set.lookup_ref(key.key()).map(|entry| SetHit {
                    list: set.name().to_string(),
                    list_version: set.version().to_string(),
                    label: entry.label().map(str::to_string),
                    address: key.as_str().to_string(),
                })
            })
            .collect()
    }
}
