//! One reader of the binary files: a bounds-checked cursor over bytes,
//! little-endian integers, and counts that cannot ask for more than the
//! rest of the bytes could hold (so a damaged count never makes a huge
//! reservation).

use std::ops::Range;

/// Why a read went past the bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Fewer bytes remain than a field needs.
    #[error("needs {needed} bytes at offset {at} but only {remaining} remain (truncated?)")]
    Short {
        at: usize,
        needed: u64,
        remaining: usize,
    },
    /// A count of items larger than the rest of the bytes can hold.
    #[error("a count of {count} at offset {at} exceeds the {remaining} bytes left")]
    Count {
        at: usize,
        count: u64,
        remaining: usize,
    },
}

impl ReadError {
    /// The offset of the field that could not be read.
    pub fn offset(&self) -> usize {
        match *self {
            ReadError::Short { at, .. } | ReadError::Count { at, .. } => at,
        }
    }
}

/// A cursor over `bytes`.
#[derive(Debug, Clone)]
pub struct ByteReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> ByteReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        ByteReader { bytes, pos: 0 }
    }

    /// Offset of the next byte.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// Whether every byte was read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The range of the next `n` bytes, which are then read.
    pub fn take(&mut self, n: u64) -> Result<Range<usize>, ReadError> {
        let remaining = self.remaining();
        let len = usize::try_from(n)
            .ok()
            .filter(|&len| len <= remaining)
            .ok_or(ReadError::Short {
                at: self.pos,
                needed: n,
                remaining,
            })?;
        let range = self.pos..self.pos + len;
        self.pos += len;
        Ok(range)
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], ReadError> {
        let range = self.take(n as u64)?;
        Ok(&self.bytes[range])
    }

    /// The next `N` bytes, by value.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], ReadError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    pub fn u8(&mut self) -> Result<u8, ReadError> {
        self.array::<1>().map(|[b]| b)
    }

    pub fn u16(&mut self) -> Result<u16, ReadError> {
        self.array().map(u16::from_le_bytes)
    }

    pub fn u32(&mut self) -> Result<u32, ReadError> {
        self.array().map(u32::from_le_bytes)
    }

    pub fn u64(&mut self) -> Result<u64, ReadError> {
        self.array().map(u64::from_le_bytes)
    }

    pub fn u128(&mut self) -> Result<u128, ReadError> {
        self.array().map(u128::from_le_bytes)
    }

    /// A count (u64) of items of at least `item` bytes each, refused when
    /// the rest of the bytes cannot hold that many.
    pub fn count(&mut self, item: usize) -> Result<usize, ReadError> {
        let at = self.pos;
        let count = self.u64()?;
        let remaining = self.remaining();
        usize::try_from(count)
            .ok()
            .filter(|n| n.saturating_mul(item) <= remaining)
            .ok_or(ReadError::Count {
                at,
                count,
                remaining,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian_fields_in_order() {
        let mut bytes = vec![7u8];
        bytes.extend_from_slice(&0x0102u16.to_le_bytes());
        bytes.extend_from_slice(&0x0304_0506u32.to_le_bytes());
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        bytes.extend_from_slice(&(1u128 << 100).to_le_bytes());
        bytes.extend_from_slice(b"xyz");
        let mut r = ByteReader::new(&bytes);
        assert_eq!(r.u8(), Ok(7));
        assert_eq!(r.u16(), Ok(0x0102));
        assert_eq!(r.u32(), Ok(0x0304_0506));
        assert_eq!(r.u64(), Ok(u64::MAX));
        assert_eq!(r.u128(), Ok(1 << 100));
        assert_eq!(r.pos(), 31);
        assert_eq!(r.take(2), Ok(31..33));
        assert_eq!(r.bytes(1), Ok(&b"z"[..]));
        assert!(r.is_empty());
    }

    #[test]
    fn a_short_read_names_offset_and_need_and_consumes_nothing() {
        let mut r = ByteReader::new(&[1, 2, 3]);
        r.u8().unwrap();
        let err = r.u32().unwrap_err();
        assert_eq!(
            err,
            ReadError::Short {
                at: 1,
                needed: 4,
                remaining: 2
            }
        );
        assert_eq!(err.offset(), 1);
        assert!(err.to_string().contains("offset 1"), "{err}");
        assert_eq!(r.remaining(), 2);
        assert!(r.take(u64::MAX).is_err());
    }

    #[test]
    fn a_count_larger_than_the_rest_is_refused() {
        let mut bytes = 3u64.to_le_bytes().to_vec();
        bytes.extend_from_slice(&[0; 6]);
        assert_eq!(ByteReader::new(&bytes).count(2), Ok(3));
        let err = ByteReader::new(&bytes).count(3).unwrap_err();
        assert_eq!(
            err,
            ReadError::Count {
                at: 0,
                count: 3,
                remaining: 6
            }
        );
        let huge = u64::MAX.to_le_bytes();
        assert!(ByteReader::new(&huge).count(1).is_err());
    }
}
