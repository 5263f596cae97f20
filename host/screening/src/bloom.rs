//! The blocked (split-block) Bloom filter in front of the exact store.
//!
//! A key is hashed once (XXH3-128 under a fixed seed). The low 64 bits pick
//! one 64-byte block (`(low * blocks) >> 64`); the high 64 bits give eight
//! 6-bit positions, one bit in each of the block's eight 64-bit words (the
//! split-block filter of Parquet and Impala, with 64-bit words: 512 bits a
//! block, `k` = 8). Blocks start on a 64-byte boundary, so a lookup reads
//! exactly one cache line, wherever the filter lives (heap or file map).
//!
//! A blocked filter needs more bits per key than a classic one for the same
//! false-positive rate: keys are not spread evenly over the blocks (a
//! block's load is Poisson distributed) and a crowded block answers "maybe"
//! more often. [`model_fp`] is the expected rate at `λ` keys per block,
//! `Σ_c P(c; λ) · (1 - (63/64)^c)^8`; [`blocks_for`] takes the most keys per
//! block that meet the rate asked for. At the default rate 1e-4 that is
//! about 21.7 keys per block, 23.6 bits per key (the classic filter of
//! `bloomfilter` as sized before, four hashes, took 38 bits per key for the
//! same rate; the optimal classic filter, 13 hashes, 19.2). The rate
//! measured with the real hash is checked against the model in the tests.
//!
//! Words are stored little-endian, so a filter reads the same from a file
//! on any host.

use std::sync::Arc;

use xxhash_rust::xxh3::xxh3_128_with_seed;

use super::SetError;
use super::store::{self, Bytes};

/// Bytes of a block: one cache line.
pub(super) const BLOCK_BYTES: usize = 64;
/// 64-bit words of a block.
const WORDS: usize = BLOCK_BYTES / 8;
/// Bits set per key: one in each word of its block.
pub(super) const HASHES: u32 = WORDS as u32;
/// The fixed hash seed (determinism across runs, processes and hosts): the
/// first 8 bytes, little-endian, of SHA-256 of
/// `riskgate/designated-set/blocked-bloom-seed/v1`. Compiled files store
/// the seed they were built with.
pub(super) const SEED: u64 = 0xaa79_8823_b521_9bb8;
/// Fewest keys per block the sizing goes down to (1024 bits per key, a
/// modelled rate of 9e-13): a block holding one key answers "maybe" for 1
/// key in 64^8, two keys for about 1 in 2^40, so rates much below 1e-12
/// cannot be met by any size; they get this one.
pub(super) const MIN_KEYS_PER_BLOCK: f64 = 0.5;
/// Most keys per block (rates close to 1).
pub(super) const MAX_KEYS_PER_BLOCK: f64 = 4096.0;

/// Where a key's bits are: the byte offset of its block and the hash bits
/// that choose one bit in each word.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Probe {
    pub(super) offset: usize,
    pub(super) bits: u64,
}

/// The bit of word `word` a probe tests.
#[inline(always)]
fn mask(bits: u64, word: usize) -> u64 {
    1u64 << ((bits >> (6 * word)) & 63)
}

/// Block count and seed: everything that places a key's bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    blocks: usize,
    seed: u64,
}

impl Shape {
    #[inline(always)]
    fn probe(&self, key: &[u8]) -> Probe {
        let h = xxh3_128_with_seed(key, self.seed);
        let low = h as u64;
        let block = ((u128::from(low) * self.blocks as u128) >> 64) as usize;
        Probe {
            offset: block * BLOCK_BYTES,
            bits: (h >> 64) as u64,
        }
    }
}

/// A blocked Bloom filter: `blocks` blocks of [`BLOCK_BYTES`], the first at
/// a 64-byte aligned address (owned) or file offset (mapped).
pub(super) struct BlockedBloom {
    shape: Shape,
    bytes: Bytes,
}

/// A zeroed buffer of `len` bytes starting on a 64-byte boundary: the
/// buffer and the range of the aligned bytes in it.
fn aligned_zeroed(len: usize) -> Result<(Vec<u8>, std::ops::Range<usize>), SetError> {
    let capacity = len
        .checked_add(BLOCK_BYTES - 1)
        .ok_or_else(|| SetError::TooLarge(format!("a Bloom filter of {len} bytes")))?;
    let mut buf = store::huge_vec(capacity);
    buf.resize(capacity, 0);
    // `align_offset` may in principle decline (usize::MAX): the filter is
    // then unaligned, slower, never wrong.
    let start = buf.as_ptr().align_offset(BLOCK_BYTES).min(BLOCK_BYTES - 1);
    Ok((buf, start..start + len))
}

/// Set a key's eight bits in its block of `bits`.
#[inline(always)]
fn set(bits: &mut [u8], probe: Probe) {
    if let Some(block) = bits.get_mut(probe.offset..probe.offset + BLOCK_BYTES) {
        let (words, _) = block.as_chunks_mut::<8>();
        for (i, word) in words.iter_mut().enumerate() {
            *word = (u64::from_le_bytes(*word) | mask(probe.bits, i)).to_le_bytes();
        }
    }
}

impl BlockedBloom {
    /// The filter of `keys` (`items` of them, for the sizing), meeting
    /// `fp_rate` by [`model_fp`].
    pub(super) fn build<'a>(
        keys: impl Iterator<Item = &'a [u8]>,
        items: usize,
        fp_rate: f64,
    ) -> Result<Self, SetError> {
        let shape = Shape {
            blocks: blocks_for(items, fp_rate),
            seed: SEED,
        };
        let len = shape
            .blocks
            .checked_mul(BLOCK_BYTES)
            .ok_or_else(|| SetError::TooLarge(format!("{} Bloom blocks", shape.blocks)))?;
        let (mut buf, range) = aligned_zeroed(len)?;
        {
            let bits = &mut buf[range.clone()];
            // Each key's block is a cache miss on big filters: hash and
            // prefetch a few keys ahead of the one being set, so that the
            // misses overlap.
            const AHEAD: usize = 16;
            let mut pending = [Probe::default(); AHEAD];
            let mut n = 0usize;
            for key in keys {
                let probe = shape.probe(key);
                store::prefetch(bits.as_ptr().wrapping_add(probe.offset));
                let slot = &mut pending[n % AHEAD];
                if n >= AHEAD {
                    set(bits, *slot);
                }
                *slot = probe;
                n += 1;
            }
            for probe in &pending[..n.min(AHEAD)] {
                set(bits, *probe);
            }
        }
        Ok(BlockedBloom {
            shape,
            bytes: Bytes::Shared {
                buf: Arc::new(buf),
                range,
            },
        })
    }

    /// A filter read from a compiled file: `bytes` must hold `blocks`
    /// blocks (checked by the caller). Served from the map when the blocks
    /// start on a 64-byte boundary in memory, else copied to an aligned
    /// buffer (a lookup must read one line, not two).
    pub(super) fn from_file(blocks: usize, seed: u64, bytes: Bytes) -> Result<Self, SetError> {
        let shape = Shape { blocks, seed };
        let slice = bytes.as_slice();
        if (slice.as_ptr() as usize).is_multiple_of(BLOCK_BYTES) {
            return Ok(BlockedBloom { shape, bytes });
        }
        let (mut buf, range) = aligned_zeroed(slice.len())?;
        buf[range.clone()].copy_from_slice(slice);
        Ok(BlockedBloom {
            shape,
            bytes: Bytes::Shared {
                buf: Arc::new(buf),
                range,
            },
        })
    }

    /// Where `key`'s bits are (one hash of the key).
    #[inline(always)]
    pub(super) fn probe(&self, key: &[u8]) -> Probe {
        self.shape.probe(key)
    }

    /// Start loading the probe's block (one cache line).
    #[inline(always)]
    pub(super) fn prefetch(&self, probe: Probe) {
        store::prefetch(self.bytes.as_slice().as_ptr().wrapping_add(probe.offset));
    }

    /// Are all the probe's bits set? A block out of range (never after the
    /// structural checks at open) answers "maybe": the exact store decides.
    #[inline(always)]
    pub(super) fn check(&self, probe: Probe) -> bool {
        let Some(block) = self
            .bytes
            .as_slice()
            .get(probe.offset..probe.offset + BLOCK_BYTES)
        else {
            return true;
        };
        let (words, _) = block.as_chunks::<8>();
        let mut missing = 0u64;
        for (i, word) in words.iter().enumerate() {
            missing |= mask(probe.bits, i) & !u64::from_le_bytes(*word);
        }
        missing == 0
    }

    /// Might `key` be in the set?
    #[inline]
    pub(super) fn contains(&self, key: &[u8]) -> bool {
        self.check(self.probe(key))
    }

    pub(super) fn blocks(&self) -> usize {
        self.shape.blocks
    }

    pub(super) fn seed(&self) -> u64 {
        self.shape.seed
    }

    /// The blocks, `blocks * 64` bytes.
    pub(super) fn as_slice(&self) -> &[u8] {
        self.bytes.as_slice()
    }

    /// Set every bit: every lookup then passes the filter (tests of the
    /// exact confirmation).
    #[cfg(test)]
    pub(super) fn saturate(&mut self) {
        let len = self.as_slice().len();
        let (mut buf, range) = aligned_zeroed(len).expect("small filter");
        buf[range.clone()].fill(0xff);
        self.bytes = Bytes::Shared {
            buf: Arc::new(buf),
            range,
        };
    }
}

/// Expected false-positive rate at `lambda` keys per block (Poisson block
/// loads, one bit per word).
pub(super) fn model_fp(lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 0.0;
    }
    let miss_per_key: f64 = 1.0 - 1.0 / 64.0;
    let ln_lambda = lambda.ln();
    let last = (lambda + 12.0 * lambda.sqrt() + 40.0).ceil() as u64;
    let mut ln_factorial = 0.0f64;
    let mut total = 0.0f64;
    for c in 0..=last {
        if c > 0 {
            ln_factorial += (c as f64).ln();
        }
        let p = (-lambda + c as f64 * ln_lambda - ln_factorial).exp();
        let word = 1.0 - miss_per_key.powf(c as f64);
        total += p * word.powi(HASHES as i32);
    }
    total
}

/// The most keys per block whose [`model_fp`] is at most `fp_rate`, within
/// [`MIN_KEYS_PER_BLOCK`]..=[`MAX_KEYS_PER_BLOCK`].
pub(super) fn keys_per_block(fp_rate: f64) -> f64 {
    let (mut lo, mut hi) = (MIN_KEYS_PER_BLOCK, MAX_KEYS_PER_BLOCK);
    if model_fp(lo) > fp_rate {
        return lo;
    }
    if model_fp(hi) <= fp_rate {
        return hi;
    }
    // model_fp grows with lambda: lo meets the rate, hi does not.
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if model_fp(mid) <= fp_rate {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Blocks for `items` keys at `fp_rate` (at least one).
pub(super) fn blocks_for(items: usize, fp_rate: f64) -> usize {
    let blocks = (items as f64 / keys_per_block(fp_rate)).ceil();
    if blocks.is_finite() && blocks >= 1.0 {
        blocks as usize
    } else {
        1
    }
}
