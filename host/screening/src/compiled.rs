//! Compiled set files: a header and a body that is served memory-mapped.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! header:  magic "RGSET\0\r\n" | format u32 | header_len u32 | body_len u64
//!          | entries u64 | duplicates u64 | fp_rate f64 | sha256 [32]
//!          | name (u32 len + UTF-8) | source (...) | version (...)
//! body:    bloom_len u64 | bloom (bloomfilter's serialised bitmap + params)
//!          | n_groups u32 | per group: width u16, tag u8, kind u8, shift u8,
//!            pad [3], count u32, base u32, nb u32, min_prefix u64
//!          | per group: keys (count*width) | meta (count*4) | buckets ((nb+1)*4)
//!          | n_labels u32 | label offsets ((n+1)*4) | label arena len u32 | arena
//!          | n_exp u32 | positions (n*4) | offsets ((n+1)*4) | arena len u32 | arena
//! ```
//!
//! The checksum is SHA-256 over the whole file except the checksum field.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use bloomfilter::Bloom;
use sha2::{Digest, Sha256};

use super::SetError;
use super::store::{Bytes, Group, LABEL_MASK, MODE_EXPLICIT, Store, prefix, rd_u32};
use riskgate_address::MAX_KEY_LEN;
use riskgate_storage::bytes::{ByteReader, ReadError};
use riskgate_storage::header::{Format, HEADER_LEN, HeaderError};

/// Magic bytes opening every compiled set file.
pub const MAGIC: [u8; 8] = *b"RGSET\0\r\n";
/// Current format version. Version 2 is the first under the key rule of
/// [`address::list_keys`](riskgate_address::list_keys) (an entry keyed on
/// every chain whose format it is, BNB Beacon Chain keys); a version 1 file
/// lacks those keys (a legacy `1...` designated on bitcoin only, not on
/// bitcoin-cash) and is refused at open with a request to re-import it.
pub const FORMAT_VERSION: u32 = 2;
/// The format header of a compiled set.
const COMPILED_SET: Format = Format {
    name: "compiled set",
    magic: MAGIC,
    version: FORMAT_VERSION,
};
/// Format versions written under an older key rule.
const OLD_KEY_RULE_VERSIONS: [u32; 1] = [1];
/// At most this many (key length, tag, kind) groups.
const MAX_GROUPS: usize = 1 << 16;
const CHECKSUM_AT: Range = 48..80;
type Range = std::ops::Range<usize>;

/// Does `prefix` (the first bytes of a file, at least 8) look like a compiled set?
pub fn is_compiled_set(bytes_prefix: &[u8]) -> bool {
    bytes_prefix.starts_with(&MAGIC)
}

/// How much of a compiled file to check when opening it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verify {
    /// SHA-256 of the whole file, plus every structural check (default).
    #[default]
    Full,
    /// Structure only: sizes, counts, offsets in range, bucket tables,
    /// sortedness of a sample. Faster on huge sets; a flipped bit inside a
    /// key or label goes undetected.
    Structure,
}

pub(super) struct Header {
    pub name: String,
    pub source: String,
    pub version: String,
    pub entries: u64,
    pub duplicates: u64,
    pub fp_rate: f64,
}

fn put_str(out: &mut Vec<u8>, s: &str) -> Result<(), SetError> {
    out.extend_from_slice(&super::store::u32_of(s.len())?.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Serialise to `path` atomically ([`riskgate_storage::write_atomic_with`]).
pub(super) fn write(
    path: &Path,
    header: &Header,
    bloom: &Bloom<[u8]>,
    store: &Store,
) -> Result<(), SetError> {
    let io = |source| SetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut head = Vec::new();
    head.extend_from_slice(&COMPILED_SET.header());
    head.extend_from_slice(&[0; 4]); // header_len, patched below
    head.extend_from_slice(&[0; 8]); // body_len, patched below
    head.extend_from_slice(&header.entries.to_le_bytes());
    head.extend_from_slice(&header.duplicates.to_le_bytes());
    head.extend_from_slice(&header.fp_rate.to_bits().to_le_bytes());
    head.extend_from_slice(&[0; 32]);
    put_str(&mut head, &header.name)?;
    put_str(&mut head, &header.source)?;
    put_str(&mut head, &header.version)?;
    let header_len = super::store::u32_of(head.len())?;
    head[12..16].copy_from_slice(&header_len.to_le_bytes());

    // Body: small parts built in memory, big tables streamed as slices.
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut pieces: Vec<&[u8]> = Vec::new();
    let bloom_bytes = bloom.as_slice();
    let mut meta = Vec::new();
    meta.extend_from_slice(&(bloom_bytes.len() as u64).to_le_bytes());
    parts.push(meta);
    let mut groups = Vec::new();
    groups.extend_from_slice(&super::store::u32_of(store.groups.len())?.to_le_bytes());
    for g in &store.groups {
        groups.extend_from_slice(&(g.width as u16).to_le_bytes());
        groups.extend_from_slice(&g.head);
        groups.push(g.shift as u8);
        groups.extend_from_slice(&[0; 3]);
        groups.extend_from_slice(&super::store::u32_of(g.count)?.to_le_bytes());
        groups.extend_from_slice(&super::store::u32_of(g.base)?.to_le_bytes());
        groups.extend_from_slice(&super::store::u32_of(g.nb)?.to_le_bytes());
        groups.extend_from_slice(&g.min_prefix.to_le_bytes());
    }
    parts.push(groups);
    let mut tail = Vec::new();
    tail.extend_from_slice(&super::store::u32_of(store.n_labels)?.to_le_bytes());
    let labels_head = tail;
    let mut arena_len = Vec::new();
    arena_len.extend_from_slice(
        &super::store::u32_of(store.label_arena.as_slice().len())?.to_le_bytes(),
    );
    let n_exp = super::store::u32_of(store.n_exp)?.to_le_bytes().to_vec();
    let exp_arena_len = super::store::u32_of(store.exp_arena.as_slice().len())?
        .to_le_bytes()
        .to_vec();

    pieces.push(&parts[0]);
    pieces.push(bloom_bytes);
    pieces.push(&parts[1]);
    for g in &store.groups {
        pieces.push(g.keys.as_slice());
        pieces.push(g.meta.as_slice());
        pieces.push(g.buckets.as_slice());
    }
    pieces.push(&labels_head);
    pieces.push(store.label_off.as_slice());
    pieces.push(&arena_len);
    pieces.push(store.label_arena.as_slice());
    pieces.push(&n_exp);
    pieces.push(store.exp_pos.as_slice());
    pieces.push(store.exp_off.as_slice());
    pieces.push(&exp_arena_len);
    pieces.push(store.exp_arena.as_slice());

    let body_len: u64 = pieces.iter().map(|p| p.len() as u64).sum();
    head[16..24].copy_from_slice(&body_len.to_le_bytes());
    let mut hasher = Sha256::new();
    hasher.update(&head[..CHECKSUM_AT.start]);
    hasher.update(&head[CHECKSUM_AT.end..]);
    for p in &pieces {
        hasher.update(p);
    }
    let digest: [u8; 32] = hasher.finalize().into();
    head[CHECKSUM_AT].copy_from_slice(&digest);

    riskgate_storage::write_atomic_with(
        path,
        riskgate_storage::WriteOptions::new().buffer(1 << 20),
        |w| {
            w.write_all(&head)?;
            for p in &pieces {
                w.write_all(p)?;
            }
            Ok(())
        },
    )
    .map_err(|e| io(e.source))
}

/// The reader of the mapped file ([`ByteReader`]), naming the file and
/// the field in its errors.
struct Cursor<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    r: ByteReader<'a>,
}

impl<'a> Cursor<'a> {
    fn new(path: &'a Path, bytes: &'a [u8]) -> Self {
        Cursor {
            path,
            bytes,
            r: ByteReader::new(bytes),
        }
    }

    fn err(&self, field: &str, reason: impl Into<String>) -> SetError {
        corrupt(self.path, field, reason)
    }

    fn pos(&self) -> usize {
        self.r.pos()
    }

    fn read<T>(
        &mut self,
        field: &str,
        read: impl FnOnce(&mut ByteReader<'a>) -> Result<T, ReadError>,
    ) -> Result<T, SetError> {
        read(&mut self.r).map_err(|e| corrupt(self.path, field, e.to_string()))
    }

    fn take(&mut self, len: u64, field: &str) -> Result<Range, SetError> {
        self.read(field, |r| r.take(len))
    }

    fn bytes(&mut self, len: u64, field: &str) -> Result<&'a [u8], SetError> {
        let r = self.take(len, field)?;
        Ok(&self.bytes[r])
    }

    fn u8(&mut self, field: &str) -> Result<u8, SetError> {
        self.read(field, ByteReader::u8)
    }

    fn u16(&mut self, field: &str) -> Result<u16, SetError> {
        self.read(field, ByteReader::u16)
    }

    fn u32(&mut self, field: &str) -> Result<u32, SetError> {
        self.read(field, ByteReader::u32)
    }

    fn u64(&mut self, field: &str) -> Result<u64, SetError> {
        self.read(field, ByteReader::u64)
    }

    fn string(&mut self, field: &str) -> Result<String, SetError> {
        let len = self.u32(field)?;
        let b = self.bytes(u64::from(len), field)?;
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|e| self.err(field, format!("not valid UTF-8: {e}")))
    }
}

pub(super) fn corrupt(path: &Path, field: &str, reason: impl Into<String>) -> SetError {
    SetError::Corrupt {
        path: path.to_path_buf(),
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// Map and check a compiled file.
pub(super) fn open(path: &Path, verify: Verify) -> Result<(Header, Bloom<[u8]>, Store), SetError> {
    let file = std::fs::File::open(path).map_err(|source| SetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // SAFETY: the map is read-only and private to this process. Another
    // process truncating or rewriting the file while it is mapped could make
    // reads fault; compiled files are written to a temporary file and renamed
    // into place, never modified in place, so a mapped file never changes.
    let map = unsafe { memmap2::MmapOptions::new().populate().map(&file) }.map_err(|source| {
        SetError::Io {
            path: path.to_path_buf(),
            source,
        }
    })?;
    super::store::collapse_huge(map.as_ptr(), map.len());
    let map = Arc::new(map);
    let bytes: &[u8] = &map;
    let mut c = Cursor::new(path, bytes);
    match COMPILED_SET.read(path, bytes) {
        Ok(_) => {}
        Err(HeaderError::UnknownVersion { version, .. })
            if OLD_KEY_RULE_VERSIONS.contains(&version) =>
        {
            return Err(c.err(
                "format version",
                format!(
                    "version {version} was compiled under an older key rule (an address designated \
                     on fewer chains than its format is valid on); import the list again with \
                     `riskgate lists import` to write a version {FORMAT_VERSION} file"
                ),
            ));
        }
        Err(HeaderError::UnknownVersion { version, .. }) => {
            return Err(c.err(
                "format version",
                format!("version {version} is not supported (expected {FORMAT_VERSION})"),
            ));
        }
        Err(e @ HeaderError::Short { .. }) => return Err(c.err("magic", e.reason())),
        Err(HeaderError::NotThisFormat { .. }) => {
            return Err(c.err("magic", "not a riskgate compiled set file"));
        }
    }
    c.take(HEADER_LEN as u64, "magic")?;
    let header_len = c.u32("header length")? as u64;
    let body_len = c.u64("body length")?;
    let entries = c.u64("entry count")?;
    let duplicates = c.u64("duplicate count")?;
    let fp_rate = f64::from_bits(c.u64("fp rate")?);
    let checksum = c.bytes(32, "checksum")?;
    let name = c.string("list name")?;
    let source = c.string("source")?;
    let version = c.string("list version")?;
    if c.pos() as u64 != header_len {
        return Err(c.err(
            "header length",
            format!("header says {header_len} bytes, fields take {}", c.pos()),
        ));
    }
    let total = header_len.checked_add(body_len);
    if total != Some(bytes.len() as u64) {
        return Err(c.err(
            "body length",
            format!(
                "header says {header_len} + {body_len} bytes, file has {} (truncated or extended)",
                bytes.len()
            ),
        ));
    }
    if !(fp_rate > 0.0 && fp_rate < 1.0) {
        return Err(c.err("fp rate", format!("{fp_rate} is not between 0 and 1")));
    }
    if verify == Verify::Full {
        let mut hasher = Sha256::new();
        hasher.update(&bytes[..CHECKSUM_AT.start]);
        hasher.update(&bytes[CHECKSUM_AT.end..]);
        let digest: [u8; 32] = hasher.finalize().into();
        if digest != checksum {
            return Err(c.err(
                "checksum",
                format!(
                    "SHA-256 of the file is {}, header says {} (corrupt file)",
                    hex::encode(digest),
                    hex::encode(checksum)
                ),
            ));
        }
    }

    let bloom_len = c.u64("bloom length")?;
    let bloom_bytes = c.bytes(bloom_len, "bloom filter")?;
    let bloom: Bloom<[u8]> =
    // The filter is copied out of the map (the crate owns its bitmap): into
    // a buffer advised for huge pages before it is filled, as a fresh set's.
    {
        let mut owned = super::store::huge_vec(bloom_bytes.len());
        owned.extend_from_slice(bloom_bytes);
        Bloom::from_bytes(owned)
    }
    .map_err(|e| corrupt(path, "bloom filter", e.to_string()))?;
    // `Bloom::is_empty` means "no bit set", not "no bits".
    let bits = bloom.len();
    if bits == 0 || !(1..=64).contains(&bloom.number_of_hash_functions()) {
        return Err(corrupt(
            path,
            "bloom filter",
            format!(
                "{} bits and {} hash functions is not a valid filter",
                bloom.len(),
                bloom.number_of_hash_functions()
            ),
        ));
    }

    let n_groups = c.u32("group count")? as usize;
    if n_groups > MAX_GROUPS {
        return Err(c.err(
            "group count",
            format!("{n_groups} groups (at most {MAX_GROUPS})"),
        ));
    }
    struct Desc {
        width: usize,
        head: [u8; 2],
        shift: u32,
        count: usize,
        base: usize,
        nb: usize,
        min_prefix: u64,
    }
    let mut descs = Vec::with_capacity(n_groups);
    let mut running = 0usize;
    let mut last = (0usize, [0u8; 2]);
    for gi in 0..n_groups {
        let field = format!("group {gi}");
        let width = c.u16(&field)? as usize;
        let head = [c.u8(&field)?, c.u8(&field)?];
        let shift = u32::from(c.u8(&field)?);
        let _pad = c.bytes(3, &field)?;
        let count = c.u32(&field)? as usize;
        let base = c.u32(&field)? as usize;
        let nb = c.u32(&field)? as usize;
        let min_prefix = c.u64(&field)?;
        if !(2..=MAX_KEY_LEN).contains(&width) || (width, head) <= last {
            return Err(c.err(
                &field,
                format!(
                    "key width {width} / head {} invalid or not increasing (previous {} / {})",
                    hex::encode(head),
                    last.0,
                    hex::encode(last.1)
                ),
            ));
        }
        if shift > 64 || nb == 0 || count == 0 || base != running {
            return Err(c.err(
                &field,
                format!(
                    "shift {shift}, {nb} buckets, {count} keys, base {base} (expected {running})"
                ),
            ));
        }
        last = (width, head);
        running += count;
        descs.push(Desc {
            width,
            head,
            shift,
            count,
            base,
            nb,
            min_prefix,
        });
    }
    if running as u64 != entries {
        return Err(c.err(
            "entry count",
            format!("header says {entries} entries, groups hold {running}"),
        ));
    }
    let mapped = |r: Range| Bytes::Mapped {
        map: Arc::clone(&map),
        range: r,
    };
    let mut groups = Vec::with_capacity(n_groups);
    let mut by_width = [(0u32, 0u32); MAX_KEY_LEN + 1];
    for (gi, d) in descs.into_iter().enumerate() {
        let field = format!("group {gi} (keys of {} bytes)", d.width);
        let keys = c.take((d.count * d.width) as u64, &format!("{field} keys"))?;
        let meta = c.take((d.count * 4) as u64, &format!("{field} meta"))?;
        let buckets = c.take(((d.nb + 1) * 4) as u64, &format!("{field} buckets"))?;
        check_group(
            path, &field, bytes, &keys, &meta, &buckets, &d.width, d.count, d.nb,
        )?;
        let range = &mut by_width[d.width];
        if range.1 == 0 {
            range.0 = gi as u32;
        }
        range.1 = gi as u32 + 1;
        groups.push(Group {
            width: d.width,
            head: d.head,
            count: d.count,
            base: d.base,
            min_prefix: d.min_prefix,
            shift: d.shift,
            nb: d.nb,
            keys: mapped(keys),
            meta: mapped(meta),
            buckets: mapped(buckets),
        });
    }
    // Bucket of each sampled key must contain it.
    for g in &groups {
        let step = (g.count / 1024).max(1);
        for i in (0..g.count).step_by(step) {
            let ok = g
                .key_at(i)
                .filter(|k| k.starts_with(&g.head))
                .and_then(|k| g.bucket_of(k))
                .is_some_and(|b| {
                    let buckets = g.buckets.as_slice();
                    matches!((rd_u32(buckets, b), rd_u32(buckets, b + 1)),
                    (Some(lo), Some(hi)) if (lo as usize) <= i && i < hi as usize)
                });
            if !ok {
                return Err(corrupt(
                    path,
                    &format!("group of {}-byte keys", g.width),
                    format!(
                        "key {i} is not in its bucket (prefix {:016x})",
                        g.key_at(i).map(prefix).unwrap_or(0)
                    ),
                ));
            }
        }
    }

    let n_labels = c.u32("label count")? as usize;
    let label_off = c.take(((n_labels + 1) * 4) as u64, "label offsets")?;
    let label_arena_len = c.u32("label arena length")?;
    let label_arena = c.take(u64::from(label_arena_len), "label arena")?;
    check_offsets(
        path,
        "label offsets",
        &bytes[label_off.clone()],
        n_labels,
        label_arena.len(),
    )?;
    for i in 0..n_labels {
        let off = &bytes[label_off.clone()];
        let (s, e) = (
            rd_u32(off, i).unwrap_or(0) as usize,
            rd_u32(off, i + 1).unwrap_or(0) as usize,
        );
        if std::str::from_utf8(&bytes[label_arena.clone()][s..e]).is_err() {
            return Err(corrupt(
                path,
                "label arena",
                format!("label {} is not valid UTF-8", i + 1),
            ));
        }
    }
    let n_exp = c.u32("explicit original count")? as usize;
    let exp_pos = c.take((n_exp * 4) as u64, "explicit original positions")?;
    let exp_off = c.take(((n_exp + 1) * 4) as u64, "explicit original offsets")?;
    let exp_arena_len = c.u32("original arena length")?;
    let exp_arena = c.take(u64::from(exp_arena_len), "original arena")?;
    check_offsets(
        path,
        "explicit original offsets",
        &bytes[exp_off.clone()],
        n_exp,
        exp_arena.len(),
    )?;
    let mut prev: Option<u32> = None;
    for i in 0..n_exp {
        let p = rd_u32(&bytes[exp_pos.clone()], i).unwrap_or(u32::MAX);
        if prev.is_some_and(|q| q >= p) || p as u64 >= entries {
            return Err(corrupt(
                path,
                "explicit original positions",
                format!("position {p} at index {i} is out of range or not increasing"),
            ));
        }
        prev = Some(p);
    }
    if c.pos() != bytes.len() {
        return Err(c.err(
            "end of body",
            format!("{} trailing bytes", bytes.len() - c.pos()),
        ));
    }
    let store = Store {
        groups,
        by_width,
        len: running,
        label_off: mapped(label_off),
        label_arena: mapped(label_arena),
        n_labels,
        exp_pos: mapped(exp_pos),
        exp_off: mapped(exp_off),
        exp_arena: mapped(exp_arena),
        n_exp,
    };
    // Sample the meta words: label ids and modes in range.
    for g in &store.groups {
        let step = (g.count / 4096).max(1);
        for i in (0..g.count).step_by(step) {
            let m = rd_u32(g.meta.as_slice(), i).unwrap_or(u32::MAX);
            if (m & LABEL_MASK) as usize > n_labels || (m >> 30) > MODE_EXPLICIT {
                return Err(corrupt(
                    path,
                    &format!("meta of {}-byte keys", g.width),
                    format!(
                        "entry {i}: label id {} / mode {} out of range",
                        m & LABEL_MASK,
                        m >> 30
                    ),
                ));
            }
        }
    }
    let header = Header {
        name,
        source,
        version,
        entries,
        duplicates,
        fp_rate,
    };
    Ok((header, bloom, store))
}

#[allow(clippy::too_many_arguments)]
fn check_group(
    path: &Path,
    field: &str,
    bytes: &[u8],
    keys: &Range,
    _meta: &Range,
    buckets: &Range,
    width: &usize,
    count: usize,
    nb: usize,
) -> Result<(), SetError> {
    let width = *width;
    let b = &bytes[buckets.clone()];
    let mut prev = 0u32;
    for i in 0..=nb {
        let v = rd_u32(b, i).unwrap_or(u32::MAX);
        if v < prev || v as usize > count || (i == 0 && v != 0) || (i == nb && v as usize != count)
        {
            return Err(corrupt(
                path,
                &format!("{field} buckets"),
                format!("bucket {i} starts at {v}: not monotone within 0..={count}"),
            ));
        }
        prev = v;
    }
    let k = &bytes[keys.clone()];
    let step = (count / 4096).max(1);
    for i in (0..count.saturating_sub(1)).step_by(step) {
        let a = &k[i * width..(i + 1) * width];
        let z = &k[(i + 1) * width..(i + 2) * width];
        if a >= z {
            return Err(corrupt(
                path,
                &format!("{field} keys"),
                format!("keys {i} and {} are not strictly increasing", i + 1),
            ));
        }
    }
    Ok(())
}

fn check_offsets(
    path: &Path,
    field: &str,
    off: &[u8],
    n: usize,
    arena_len: usize,
) -> Result<(), SetError> {
    let mut prev = 0u32;
    for i in 0..=n {
        let v = rd_u32(off, i).unwrap_or(u32::MAX);
        if v < prev
            || v as usize > arena_len
            || (i == 0 && v != 0)
            || (i == n && v as usize != arena_len)
        {
            return Err(corrupt(
                path,
                field,
                format!("offset {i} = {v} is out of range 0..={arena_len} or decreasing"),
            ));
        }
        prev = v;
    }
    Ok(())
}
