//! Compact exact store: one sorted array of fixed-width keys per key length,
//! a bucket index per array, and side tables for labels and originals.
//!
//! Every table is a [`Bytes`]: either an owned buffer (a freshly built set)
//! or a range of a memory-mapped compiled file. Lookups read both the same
//! way, with bounds-checked accesses only (a corrupt mapped file can at worst
//! answer wrongly; it can never panic or cause UB).

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use memmap2::Mmap;

use super::{Entry, SetError};
use riskgate_address::{Canonical, MAX_KEY_LEN};

/// Original-text modes (top two bits of an entry's meta word).
pub(super) const MODE_CANONICAL: u32 = 0;
pub(super) const MODE_LOWERCASE: u32 = 1;
pub(super) const MODE_EXPLICIT: u32 = 2;
const MODE_SHIFT: u32 = 30;
pub(super) const LABEL_MASK: u32 = (1 << MODE_SHIFT) - 1;

/// A read-only table: owned, a range of a shared owned buffer, or a range of
/// a shared memory map.
pub(super) enum Bytes {
    Owned(Vec<u8>),
    Shared {
        buf: Arc<Vec<u8>>,
        range: Range<usize>,
    },
    Mapped {
        map: Arc<Mmap>,
        range: Range<usize>,
    },
}

impl Bytes {
    #[inline]
    pub(super) fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            Bytes::Shared { buf, range } => buf.get(range.clone()).unwrap_or_default(),
            Bytes::Mapped { map, range } => map.get(range.clone()).unwrap_or_default(),
        }
    }
}

/// Ask the kernel to back the whole 2 MiB pages of `[ptr, ptr + len)` with
/// transparent huge pages: random probes into tables of hundreds of MB then
/// miss the TLB far less. Advisory only; a no-op off Linux or on failure.
/// Only pages first touched after the advice are affected: see
/// [`collapse_huge`] for memory that is already filled.
pub(super) fn advise_huge(ptr: *const u8, len: usize) {
    #[cfg(target_os = "linux")]
    madvise_whole_huge_pages(ptr, len, libc::MADV_HUGEPAGE);
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, len);
}

/// [`advise_huge`], then move the pages already filled (4 KiB pages copied
/// in by a reallocation, or a file's page cache) to huge pages now
/// (`MADV_COLLAPSE`, Linux 6.1 and later; a no-op where unsupported).
pub(super) fn collapse_huge(ptr: *const u8, len: usize) {
    #[cfg(target_os = "linux")]
    {
        /// `MADV_COLLAPSE` (not exported by `libc` for every Linux target).
        const MADV_COLLAPSE: libc::c_int = 25;
        madvise_whole_huge_pages(ptr, len, libc::MADV_HUGEPAGE);
        madvise_whole_huge_pages(ptr, len, MADV_COLLAPSE);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, len);
}

#[cfg(target_os = "linux")]
fn madvise_whole_huge_pages(ptr: *const u8, len: usize, advice: libc::c_int) {
    const HUGE: usize = 2 << 20;
    let start = (ptr as usize).next_multiple_of(HUGE);
    let end = (ptr as usize).saturating_add(len) / HUGE * HUGE;
    if end > start {
        // SAFETY: MADV_HUGEPAGE and MADV_COLLAPSE on whole pages of a
        // mapping this process owns only change how the kernel backs them;
        // the contents and the validity of the memory are unaffected.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, advice);
        }
    }
}

#[inline(always)]
pub(super) fn prefetch(ptr: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE is part of the x86_64 baseline, and a prefetch is a
        // hint that never faults and never reads into the program, whatever
        // the address.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(ptr.cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}

/// An empty vector of `capacity` bytes, advised for transparent huge pages
/// before it is touched: the backing of the sets' filters and tables
/// (public so that a benchmark can measure memory backed the same way).
pub fn huge_vec(capacity: usize) -> Vec<u8> {
    let v = Vec::with_capacity(capacity);
    advise_huge(v.as_ptr(), v.capacity());
    v
}

#[inline]
pub(super) fn rd_u32(bytes: &[u8], index: usize) -> Option<u32> {
    let start = index.checked_mul(4)?;
    let b = bytes.get(start..start.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Bytes 2..10 of a key (after the family tag and kind byte), big-endian,
/// zero-padded: monotone in key order among keys sharing their first two
/// bytes, and uniformly spread (payloads are hashes or public keys).
#[inline]
pub(super) fn prefix(key: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    let payload = key.get(2..).unwrap_or_default();
    let n = payload.len().min(8);
    buf[..n].copy_from_slice(&payload[..n]);
    u64::from_be_bytes(buf)
}

/// One sorted array of keys of one length, family tag and kind byte.
pub(super) struct Group {
    pub(super) width: usize,
    /// The first two bytes shared by every key of the group.
    pub(super) head: [u8; 2],
    pub(super) count: usize,
    /// Global position of the first key (positions index the originals table).
    pub(super) base: usize,
    /// Bucket of a key: `(prefix(key) - min_prefix) >> shift`.
    pub(super) min_prefix: u64,
    pub(super) shift: u32,
    /// Number of buckets; `buckets` holds `nb + 1` u32 start indices.
    pub(super) nb: usize,
    pub(super) keys: Bytes,
    pub(super) meta: Bytes,
    pub(super) buckets: Bytes,
}

impl Group {
    #[inline]
    pub(super) fn key_at(&self, index: usize) -> Option<&[u8]> {
        let start = index.checked_mul(self.width)?;
        self.keys
            .as_slice()
            .get(start..start.checked_add(self.width)?)
    }

    #[inline]
    pub(super) fn bucket_of(&self, key: &[u8]) -> Option<usize> {
        let p = prefix(key).checked_sub(self.min_prefix)?;
        let b = if self.shift >= 64 { 0 } else { p >> self.shift };
        let b = usize::try_from(b).ok()?;
        (b < self.nb).then_some(b)
    }

    /// Prefetch the bucket entry of `key`, so that its cache miss overlaps
    /// with the Bloom filter's. Only a hint: a real load here would make a
    /// lookup the Bloom filter rejects wait for it too.
    #[inline]
    pub(super) fn prefetch(&self, key: &[u8]) {
        if let Some(bucket) = self.bucket_of(key) {
            prefetch(self.buckets.as_slice().as_ptr().wrapping_add(bucket * 4));
        }
    }

    /// Read the bounds of `key`'s bucket (`lo..hi`, key indices) and
    /// prefetch the key and meta lines of that range together, so that the
    /// meta word's miss overlaps with the key's instead of following it.
    #[inline]
    pub(super) fn locate(&self, key: &[u8]) -> Option<(usize, usize)> {
        let bucket = self.bucket_of(key)?;
        let buckets = self.buckets.as_slice();
        let lo = rd_u32(buckets, bucket)? as usize;
        let hi = (rd_u32(buckets, bucket + 1)? as usize).min(self.count);
        if lo < hi {
            prefetch_range(self.keys.as_slice(), lo * self.width, hi * self.width);
            prefetch_range(self.meta.as_slice(), lo * 4, hi * 4);
        }
        Some((lo, hi))
    }

    /// Index of `key` (of this group's width) in `lo..hi`, its bucket's range
    /// from [`locate`](Self::locate).
    #[inline]
    pub(super) fn find_between(&self, mut lo: usize, mut hi: usize, key: &[u8]) -> Option<usize> {
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.key_at(mid)?.cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }
}

/// Prefetch the cache lines of `bytes[start..end]` (at most four lines: a
/// bucket holds a few keys). Addresses past the slice are only hinted, never read.
#[inline(always)]
fn prefetch_range(bytes: &[u8], start: usize, end: usize) {
    let base = bytes.as_ptr() as usize;
    let first = base.wrapping_add(start) & !63;
    let last = base.wrapping_add(end.saturating_sub(1));
    let mut line = first;
    for _ in 0..4 {
        if line > last {
            break;
        }
        prefetch(line as *const u8);
        line = line.wrapping_add(64);
    }
}

/// The exact store.
pub(super) struct Store {
    /// Sorted by (width, head), distinct.
    pub(super) groups: Vec<Group>,
    /// Range of `groups` by key length.
    pub(super) by_width: [(u32, u32); MAX_KEY_LEN + 1],
    pub(super) len: usize,
    /// `n_labels + 1` u32 offsets into `label_arena`; label id `i` (1-based) is
    /// `label_arena[off[i-1]..off[i]]`, id 0 is "no label".
    pub(super) label_off: Bytes,
    pub(super) label_arena: Bytes,
    pub(super) n_labels: usize,
    /// Positions (sorted) of entries whose original is stored explicitly.
    pub(super) exp_pos: Bytes,
    pub(super) exp_off: Bytes,
    pub(super) exp_arena: Bytes,
    pub(super) n_exp: usize,
}

/// A borrowed view of one stored entry; the original text is rebuilt lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRef<'a> {
    key: &'a [u8],
    label: Option<&'a str>,
    mode: u32,
    explicit: Option<&'a [u8]>,
}

impl<'a> EntryRef<'a> {
    /// The canonical key.
    pub fn key(&self) -> &'a [u8] {
        self.key
    }

    /// Entity label, if the list gave one.
    pub fn label(&self) -> Option<&'a str> {
        self.label
    }

    /// The address as written in the list (rebuilt from the key when it was
    /// the canonical text or its lowercase form).
    pub fn original(&self) -> Cow<'a, str> {
        if let Some(bytes) = self.explicit {
            return String::from_utf8_lossy(bytes);
        }
        let text = match Canonical::from_key(self.key) {
            Ok(c) => c.as_str().to_string(),
            Err(_) => hex::encode(self.key),
        };
        Cow::Owned(if self.mode == MODE_LOWERCASE {
            text.to_ascii_lowercase()
        } else {
            text
        })
    }

    /// Owned [`Entry`].
    pub fn to_entry(&self) -> Entry {
        Entry {
            label: self.label.map(str::to_string),
            original: self.original().into_owned(),
        }
    }
}

impl Store {
    #[inline]
    pub(super) fn group_for(&self, key: &[u8]) -> Option<&Group> {
        let (start, end) = *self.by_width.get(key.len())?;
        let head = key.get(..2)?;
        self.groups
            .get(start as usize..end as usize)?
            .iter()
            .find(|g| g.head == head)
    }

    pub(super) fn label(&self, id: u32) -> Option<&str> {
        if id == 0 {
            return None;
        }
        let off = self.label_off.as_slice();
        let i = id as usize;
        let start = rd_u32(off, i - 1)? as usize;
        let end = rd_u32(off, i)? as usize;
        std::str::from_utf8(self.label_arena.as_slice().get(start..end)?).ok()
    }

    fn explicit(&self, pos: usize) -> Option<&[u8]> {
        let positions = self.exp_pos.as_slice();
        let (mut lo, mut hi) = (0usize, self.n_exp);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let p = rd_u32(positions, mid)? as usize;
            match p.cmp(&pos) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    let off = self.exp_off.as_slice();
                    let start = rd_u32(off, mid)? as usize;
                    let end = rd_u32(off, mid + 1)? as usize;
                    return self.exp_arena.as_slice().get(start..end);
                }
            }
        }
        None
    }

    pub(super) fn entry_at<'a>(&'a self, group: &'a Group, index: usize) -> Option<EntryRef<'a>> {
        let key = group.key_at(index)?;
        let meta = rd_u32(group.meta.as_slice(), index).unwrap_or(0);
        let mode = meta >> MODE_SHIFT;
        let explicit = if mode == MODE_EXPLICIT {
            self.explicit(group.base + index)
        } else {
            None
        };
        Some(EntryRef {
            key,
            label: self.label(meta & LABEL_MASK),
            mode,
            explicit,
        })
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = EntryRef<'_>> {
        self.groups
            .iter()
            .flat_map(move |g| (0..g.count).filter_map(move |i| self.entry_at(g, i)))
    }
}

/// Accumulates entries; [`finish`](Builder::finish) sorts and dedupes.
pub(super) struct Builder {
    /// Per key length: records of `key ++ seq (u32 BE)`.
    recs: Vec<Vec<u8>>,
    /// Meta word by insertion sequence number.
    meta: Vec<u32>,
    /// Explicit originals by insertion sequence number (sorted by seq).
    explicit: Vec<(u32, Box<str>)>,
    labels: HashMap<Box<str>, u32>,
    label_list: Vec<Box<str>>,
}

impl Builder {
    pub(super) fn new() -> Self {
        Builder {
            recs: vec![Vec::new(); MAX_KEY_LEN + 1],
            meta: Vec::new(),
            explicit: Vec::new(),
            labels: HashMap::new(),
            label_list: Vec::new(),
        }
    }

    pub(super) fn reserve(&mut self, additional: usize) {
        self.meta.reserve(additional);
    }

    /// Add one key. `original`: `None` means the canonical text of the key;
    /// `canonical_text`, when known, lets the original be stored compactly.
    pub(super) fn push(
        &mut self,
        key: &[u8],
        label: Option<&str>,
        original: Option<&str>,
        canonical_text: Option<&str>,
    ) -> Result<(), SetError> {
        if key.len() < 2 || key.len() > MAX_KEY_LEN {
            return Err(SetError::InvalidKey(format!(
                "key of {} bytes (keys are 2..={MAX_KEY_LEN} bytes)",
                key.len()
            )));
        }
        let seq = u32::try_from(self.meta.len())
            .ok()
            .filter(|s| *s < u32::MAX)
            .ok_or_else(|| SetError::TooLarge("more than 2^32 - 1 entries".to_string()))?;
        let label_id = match label {
            None => 0,
            Some(l) => match self.labels.get(l) {
                Some(id) => *id,
                None => {
                    let id = u32::try_from(self.label_list.len() + 1)
                        .ok()
                        .filter(|id| *id <= LABEL_MASK)
                        .ok_or_else(|| {
                            SetError::TooLarge("more than 2^30 - 1 distinct labels".to_string())
                        })?;
                    self.labels.insert(l.into(), id);
                    self.label_list.push(l.into());
                    id
                }
            },
        };
        let mode = match (original, canonical_text) {
            (None, _) => MODE_CANONICAL,
            (Some(o), Some(c)) if o == c => MODE_CANONICAL,
            (Some(o), Some(c))
                if o.len() == c.len()
                    && o.bytes()
                        .zip(c.bytes())
                        .all(|(o, c)| o == c.to_ascii_lowercase()) =>
            {
                MODE_LOWERCASE
            }
            (Some(o), _) => {
                self.explicit.push((seq, o.into()));
                MODE_EXPLICIT
            }
        };
        self.meta.push(label_id | (mode << MODE_SHIFT));
        let recs = &mut self.recs[key.len()];
        if recs.capacity() - recs.len() < key.len() + 4 {
            recs.reserve(recs.capacity().max(1 << 16));
            advise_huge(recs.as_ptr(), recs.capacity());
        }
        recs.extend_from_slice(key);
        recs.extend_from_slice(&seq.to_be_bytes());
        Ok(())
    }

    /// Sort, dedupe (first entry wins, adopting the first label of a later
    /// duplicate if it had none) and index. Returns the store and the
    /// number of duplicates.
    pub(super) fn finish(self) -> Result<(Store, usize), SetError> {
        let Builder {
            recs,
            meta: meta_by_seq,
            explicit,
            label_list,
            ..
        } = self;
        let mut groups = Vec::new();
        let mut by_width = [(0u32, 0u32); MAX_KEY_LEN + 1];
        let mut duplicates = 0usize;
        let mut base = 0usize;
        let mut exp_pos: Vec<u8> = Vec::new();
        let mut exp_off: Vec<u8> = 0u32.to_le_bytes().to_vec();
        let mut exp_arena: Vec<u8> = Vec::new();
        let mut n_exp = 0usize;
        for (width, mut recs) in recs.into_iter().enumerate() {
            if recs.is_empty() {
                continue;
            }
            let rec_w = width + 4;
            sort_records(&mut recs, rec_w);
            // Compact in place: keys of the winners, meta of the winners.
            let n_recs = recs.len() / rec_w;
            let mut meta: Vec<u8> = huge_vec(n_recs * 4);
            let mut out = 0usize;
            let mut i = 0usize;
            while i < n_recs {
                let start = i * rec_w;
                let seq_of = |r: &[u8], j: usize| -> usize {
                    let s = &r[j * rec_w + width..j * rec_w + width + 4];
                    u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize
                };
                let first_seq = seq_of(&recs, i);
                let mut m = meta_by_seq[first_seq];
                let mut j = i + 1;
                while j < n_recs && recs[j * rec_w..j * rec_w + width] == recs[start..start + width]
                {
                    if m & LABEL_MASK == 0 {
                        m |= meta_by_seq[seq_of(&recs, j)] & LABEL_MASK;
                    }
                    j += 1;
                }
                duplicates += j - i - 1;
                if m >> MODE_SHIFT == MODE_EXPLICIT {
                    let k = explicit
                        .binary_search_by_key(&(first_seq as u32), |(s, _)| *s)
                        .map_err(|_| SetError::TooLarge("lost explicit original".into()))?;
                    exp_pos.extend_from_slice(&u32_of(base + out)?.to_le_bytes());
                    exp_arena.extend_from_slice(explicit[k].1.as_bytes());
                    exp_off.extend_from_slice(&u32_of(exp_arena.len())?.to_le_bytes());
                    n_exp += 1;
                }
                recs.copy_within(start..start + width, out * width);
                meta.extend_from_slice(&m.to_le_bytes());
                out += 1;
                i = j;
            }
            recs.truncate(out * width);
            recs.shrink_to_fit();
            // Part of the buffer was filled before it was advised (copied
            // by the reallocations that grew it): collapse it to huge pages.
            collapse_huge(recs.as_ptr(), recs.len());
            let keys = Arc::new(recs);
            let meta = Arc::new(meta);
            let first_group = u32_of(groups.len())?;
            let mut i = 0usize;
            while i < out {
                let head = [keys[i * width], keys[i * width + 1]];
                let mut j = i + 1;
                while j < out && keys[j * width..j * width + 2] == head {
                    j += 1;
                }
                let run = &keys[i * width..j * width];
                let (min_prefix, shift, nb, buckets) = build_buckets(run, width, j - i)?;
                groups.push(Group {
                    width,
                    head,
                    count: j - i,
                    base: base + i,
                    min_prefix,
                    shift,
                    nb,
                    keys: Bytes::Shared {
                        buf: Arc::clone(&keys),
                        range: i * width..j * width,
                    },
                    meta: Bytes::Shared {
                        buf: Arc::clone(&meta),
                        range: i * 4..j * 4,
                    },
                    buckets: Bytes::Owned(buckets),
                });
                i = j;
            }
            by_width[width] = (first_group, u32_of(groups.len())?);
            base += out;
        }
        drop(meta_by_seq);
        drop(explicit);
        u32_of(base)?;
        let mut label_off: Vec<u8> = 0u32.to_le_bytes().to_vec();
        let mut label_arena = Vec::new();
        for l in &label_list {
            label_arena.extend_from_slice(l.as_bytes());
            label_off.extend_from_slice(&u32_of(label_arena.len())?.to_le_bytes());
        }
        let store = Store {
            groups,
            by_width,
            len: base,
            label_off: Bytes::Owned(label_off),
            label_arena: Bytes::Owned(label_arena),
            n_labels: label_list.len(),
            exp_pos: Bytes::Owned(exp_pos),
            exp_off: Bytes::Owned(exp_off),
            exp_arena: Bytes::Owned(exp_arena),
            n_exp,
        };
        Ok((store, duplicates))
    }
}

pub(super) fn u32_of(n: usize) -> Result<u32, SetError> {
    u32::try_from(n).map_err(|_| SetError::TooLarge(format!("{n} does not fit in 32 bits")))
}

/// Sort records of `rec_w` bytes lexicographically (key, then insertion seq).
fn sort_records(recs: &mut [u8], rec_w: usize) {
    fn sort_n<const N: usize>(recs: &mut [u8]) {
        let (chunks, _) = recs.as_chunks_mut::<N>();
        chunks.sort_unstable();
    }
    match rec_w {
        24 => sort_n::<24>(recs),
        26 => sort_n::<26>(recs),
        36 => sort_n::<36>(recs),
        38 => sort_n::<38>(recs),
        44 => sort_n::<44>(recs),
        46 => sort_n::<46>(recs),
        68 => sort_n::<68>(recs),
        70 => sort_n::<70>(recs),
        _ => {
            let mut v: Vec<Vec<u8>> = recs.chunks_exact(rec_w).map(<[u8]>::to_vec).collect();
            v.sort_unstable();
            for (dst, src) in recs.chunks_exact_mut(rec_w).zip(v) {
                dst.copy_from_slice(&src);
            }
        }
    }
}

/// Bucket index over sorted keys: about two keys per bucket.
fn build_buckets(
    keys: &[u8],
    width: usize,
    count: usize,
) -> Result<(u64, u32, usize, Vec<u8>), SetError> {
    let first = keys.get(..width).map(prefix).unwrap_or(0);
    let last = count
        .checked_sub(1)
        .and_then(|i| keys.get(i * width..(i + 1) * width))
        .map(prefix)
        .unwrap_or(first);
    let span = last - first;
    let target = (count / 2).max(1) as u64;
    let mut shift = 0u32;
    while shift < 64 && (span >> shift) >= target {
        shift += 1;
    }
    let nb = if shift >= 64 {
        1
    } else {
        ((span >> shift) + 1) as usize
    };
    let mut buckets = huge_vec((nb + 1) * 4);
    let mut next_bucket = 0usize;
    for i in 0..count {
        let p = prefix(&keys[i * width..(i + 1) * width]) - first;
        let b = if shift >= 64 {
            0
        } else {
            (p >> shift) as usize
        };
        while next_bucket <= b {
            buckets.extend_from_slice(&u32_of(i)?.to_le_bytes());
            next_bucket += 1;
        }
    }
    while next_bucket <= nb {
        buckets.extend_from_slice(&u32_of(count)?.to_le_bytes());
        next_bucket += 1;
    }
    Ok((first, shift, nb, buckets))
}
