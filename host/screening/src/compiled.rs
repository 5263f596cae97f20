//! Compiled set files: a header and a body that is served memory-mapped.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! header:  magic "RGSET\0\r\n" | format u32 | header_len u32 | body_len u64
//!          | entries u64 | duplicates u64 | fp_rate f64 | sha256 [32]
//!          | name (u32 len + UTF-8) | source (...) | version (...)
//! body:    n_groups u32 | per group: width u16, tag u8, kind u8, shift u8,
//!            pad [3], count u32, base u32, nb u32, min_prefix u64
//!          | per group: keys (count*width) | meta (count*4) | buckets ((nb+1)*4)
//!          | n_labels u32 | label offsets ((n+1)*4) | label arena len u32 | arena
//!          | n_exp u32 | positions (n*4) | offsets ((n+1)*4) | arena len u32 | arena
//!          | blocks u64 | hashes u32 (8) | reserved u32 (0) | seed u64
//!          | zeros up to a 64-byte file offset | blocks (blocks*64)
//! ```
//!
//! The checksum is SHA-256 over the whole file except the checksum field.
//!
//! The filter is the blocked Bloom filter of [`super::bloom`]. Its blocks
//! start on a 64-byte file offset, so in the map (page-aligned) each block
//! is one cache line and lookups read the blocks in place; the alignment is
//! checked at open, and a filter found unaligned in memory is copied to an
//! aligned buffer. The filter comes last: its blocks must fill the rest of
//! the file exactly. Structural checks refuse a filter with no blocks, a
//! block count out of proportion with the entry count or not matching the
//! bytes left, a hash count other than 8 (0 included), nonzero padding or
//! reserved bytes, a truncated filter, and a sample of stored keys (every
//! key of a small set) that the filter would reject.
//!
//! Version 2 files (the same layout but for the filter: `bloom_len u64 |
//! bloom`, `bloomfilter`'s serialised classic filter, at the start of the
//! body) still open. Their classic filter is checked as before
//! (`bloomfilter` parses it: a bitmap, 1 to 64 hash functions) and then set
//! aside: a blocked filter is rebuilt from the keys of the exact store, at
//! the rate of the header. Why rebuild rather than keep the old reader for
//! lookups: the exact store holds every key, so the rebuilt filter is bit
//! for bit the one a fresh build of the same set writes, and every set is
//! served by one lookup path with one cache line per clean lookup; keeping
//! the classic reader would keep its k random lines per lookup, and a
//! second lookup path to test, for as long as old files are around. The
//! cost is one pass over the keys at open (about 0.5 s at 10M keys, against
//! 20 ms for a format 3 file with `Verify::Structure`) and the filter held
//! on the heap rather than in the map; importing the list again writes a
//! version 3 file.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use bloomfilter::Bloom;
use sha2::{Digest, Sha256};

use super::SetError;
use super::bloom::{self, BLOCK_BYTES, BlockedBloom};
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
/// Version 3 replaces the classic Bloom filter with the blocked one; a
/// version 2 file opens with its filter rebuilt (see the module doc).
pub const FORMAT_VERSION: u32 = 3;
/// The format header of a compiled set.
const COMPILED_SET: Format = Format {
    name: "compiled set",
    magic: MAGIC,
    version: FORMAT_VERSION,
};
/// Format versions written under an older key rule.
const OLD_KEY_RULE_VERSIONS: [u32; 1] = [1];
/// The format version whose filter is `bloomfilter`'s classic one.
const LEGACY_BLOOM_VERSION: u32 = 2;
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
    /// sortedness of a sample, a sample of the keys passing the Bloom
    /// filter. Faster on huge sets; a flipped bit inside a key or label, or
    /// a cleared bit of the filter outside the sample, goes undetected.
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
    filter: &BlockedBloom,
    store: &Store,
) -> Result<(), SetError> {
    write_as(path, header, FilterSection::Blocked(filter), store)
}

/// The filter section of a file: the current blocked filter, or (to write
/// files of the previous version in tests) `bloomfilter`'s serialisation.
pub(super) enum FilterSection<'a> {
    Blocked(&'a BlockedBloom),
    #[cfg(test)]
    Legacy(&'a Bloom<[u8]>),
}

/// Bytes of the blocked filter's fields before its padding.
const FILTER_FIELDS: usize = 8 + 4 + 4 + 8;

pub(super) fn write_as(
    path: &Path,
    header: &Header,
    filter: FilterSection<'_>,
    store: &Store,
) -> Result<(), SetError> {
    let io = |source| SetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut head = Vec::new();
    match filter {
        FilterSection::Blocked(_) => head.extend_from_slice(&COMPILED_SET.header()),
        #[cfg(test)]
        FilterSection::Legacy(_) => head.extend_from_slice(
            &Format {
                version: LEGACY_BLOOM_VERSION,
                ..COMPILED_SET
            }
            .header(),
        ),
    }
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
    let labels_head = super::store::u32_of(store.n_labels)?.to_le_bytes();
    let arena_len = super::store::u32_of(store.label_arena.as_slice().len())?.to_le_bytes();
    let n_exp = super::store::u32_of(store.n_exp)?.to_le_bytes();
    let exp_arena_len = super::store::u32_of(store.exp_arena.as_slice().len())?.to_le_bytes();
    let mut filter_head = Vec::new();

    let mut pieces: Vec<&[u8]> = Vec::new();
    #[cfg(test)]
    let legacy_len;
    #[cfg(test)]
    if let FilterSection::Legacy(bloom) = &filter {
        // Format 2: the classic filter first.
        legacy_len = (bloom.as_slice().len() as u64).to_le_bytes();
        pieces.push(&legacy_len);
        pieces.push(bloom.as_slice());
    }
    pieces.push(&groups);
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
    match filter {
        FilterSection::Blocked(filter) => {
            // Last, so that its block count must account for the rest of the
            // file exactly; zeros up to a 64-byte file offset: mapped at a page
            // boundary, every block is then one cache line in memory too.
            let at = head.len() + pieces.iter().map(|p| p.len()).sum::<usize>();
            filter_head.extend_from_slice(&(filter.blocks() as u64).to_le_bytes());
            filter_head.extend_from_slice(&bloom::HASHES.to_le_bytes());
            filter_head.extend_from_slice(&[0; 4]);
            filter_head.extend_from_slice(&filter.seed().to_le_bytes());
            let end = at + FILTER_FIELDS;
            filter_head.resize(FILTER_FIELDS + end.next_multiple_of(BLOCK_BYTES) - end, 0);
            pieces.push(&filter_head);
            pieces.push(filter.as_slice());
        }
        #[cfg(test)]
        FilterSection::Legacy(_) => {}
    }

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
pub(super) fn open(path: &Path, verify: Verify) -> Result<(Header, BlockedBloom, Store), SetError> {
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
    let mut legacy = false;
    match COMPILED_SET.read(path, bytes) {
        Ok(_) => {}
        Err(HeaderError::UnknownVersion {
            version: LEGACY_BLOOM_VERSION,
            ..
        }) => legacy = true,
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

    if legacy {
        check_legacy_bloom(&mut c)?;
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
    let blocked = if legacy {
        None
    } else {
        Some(read_filter(&mut c, entries, &map)?)
    };
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
    let filter = match blocked {
        Some(filter) => {
            check_filter_holds_keys(path, &filter, &store)?;
            filter
        }
        None => super::build_filter(&store, fp_rate)?,
    };
    let header = Header {
        name,
        source,
        version,
        entries,
        duplicates,
        fp_rate,
    };
    Ok((header, filter, store))
}

/// Read and check the blocked filter's section (format 3).
fn read_filter(
    c: &mut Cursor<'_>,
    entries: u64,
    map: &Arc<memmap2::Mmap>,
) -> Result<BlockedBloom, SetError> {
    const FIELD: &str = "bloom filter";
    let blocks = c.u64("bloom block count")?;
    let hashes = c.u32("bloom hash count")?;
    let reserved = c.u32("bloom reserved field")?;
    let seed = c.u64("bloom seed")?;
    if hashes != bloom::HASHES {
        return Err(c.err(
            "bloom hash count",
            format!(
                "{hashes} hash functions (this version sets {} bits a key, one a word)",
                bloom::HASHES
            ),
        ));
    }
    if reserved != 0 {
        return Err(c.err("bloom reserved field", format!("{reserved}, not 0")));
    }
    // The sizing puts MIN..=MAX keys in a block (at least one block).
    let items = entries.max(1) as f64;
    let fewest = (items / bloom::MAX_KEYS_PER_BLOCK).ceil();
    let most = (items / bloom::MIN_KEYS_PER_BLOCK).ceil();
    if blocks == 0 || (blocks as f64) < fewest || (blocks as f64) > most {
        return Err(c.err(
            "bloom block count",
            format!(
                "{blocks} blocks for {entries} entries (expected {fewest} to {most}:                  {} to {} keys a block)",
                bloom::MIN_KEYS_PER_BLOCK,
                bloom::MAX_KEYS_PER_BLOCK
            ),
        ));
    }
    let pad = c.pos().next_multiple_of(BLOCK_BYTES) - c.pos();
    let padding = c.bytes(pad as u64, "bloom padding")?;
    if padding.iter().any(|&b| b != 0) {
        return Err(c.err("bloom padding", "nonzero bytes before the blocks"));
    }
    let len = blocks
        .checked_mul(BLOCK_BYTES as u64)
        .ok_or_else(|| c.err("bloom block count", format!("{blocks} blocks overflow")))?;
    let remaining = (c.bytes.len() - c.pos()) as u64;
    if len != remaining {
        return Err(c.err(
            "bloom block count",
            format!(
                "{blocks} blocks take {len} bytes, {remaining} remain in the file \
                 (truncated, extended or a wrong block count)"
            ),
        ));
    }
    let range = c.take(len, FIELD)?;
    let blocks = usize::try_from(blocks)
        .map_err(|_| c.err("bloom block count", format!("{blocks} blocks")))?;
    BlockedBloom::from_file(
        blocks,
        seed,
        Bytes::Mapped {
            map: Arc::clone(map),
            range,
        },
    )
}

/// Check the classic filter of a format 2 file (it is then rebuilt as a
/// blocked one, see the module doc).
fn check_legacy_bloom(c: &mut Cursor<'_>) -> Result<(), SetError> {
    let bloom_len = c.u64("bloom length")?;
    let bloom_bytes = c.bytes(bloom_len, "bloom filter")?;
    let bloom: Bloom<[u8]> =
        Bloom::from_slice(bloom_bytes).map_err(|e| c.err("bloom filter", e.to_string()))?;
    // `Bloom::is_empty` means "no bit set", not "no bits".
    let bits = bloom.len();
    if bits == 0 || !(1..=64).contains(&bloom.number_of_hash_functions()) {
        return Err(c.err(
            "bloom filter",
            format!(
                "{} bits and {} hash functions is not a valid filter",
                bloom.len(),
                bloom.number_of_hash_functions()
            ),
        ));
    }
    Ok(())
}

/// A sample of the stored keys (every key of a small set, about 4096 of a
/// big one) must pass the filter: a filter whose blocks, seed or bits do
/// not match the keys would answer "not designated" for designated keys.
fn check_filter_holds_keys(
    path: &Path,
    filter: &BlockedBloom,
    store: &Store,
) -> Result<(), SetError> {
    let step = (store.len / 4096).max(1);
    for g in &store.groups {
        for i in (0..g.count).step_by(step) {
            if let Some(key) = g.key_at(i)
                && !filter.contains(key)
            {
                return Err(corrupt(
                    path,
                    "bloom filter",
                    format!(
                        "stored key {i} of {} bytes is not in the filter                          (wrong block count, seed or bits)",
                        g.width
                    ),
                ));
            }
        }
    }
    Ok(())
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
