//! Format headers: every binary file riskgate writes starts with eight
//! bytes of magic naming its format and a little-endian `u32` format
//! version. A reader refuses a version it does not know with an error
//! naming the file and the version; a format that gained its header later
//! reads files without one as its unversioned predecessor.

use std::path::{Path, PathBuf};

/// Bytes of a header: magic, then the version.
pub const HEADER_LEN: usize = 12;

/// One file format: its magic and the versions this build reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    /// What the file is, for messages ("velocity log segment").
    pub name: &'static str,
    pub magic: [u8; 8],
    /// The version written.
    pub version: u32,
}

/// What a file's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The header, with a version this build reads (the current one).
    Current,
    /// No header: a file of the format's unversioned predecessor.
    Unversioned,
}

/// A header refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// A version this build does not read (written by another riskgate).
    #[error("{name} {}: {}", path.display(), self.reason())]
    UnknownVersion {
        name: &'static str,
        path: PathBuf,
        version: u32,
        expected: u32,
    },
    /// The file does not start with the format's magic.
    #[error("{name} {}: {}", path.display(), self.reason())]
    NotThisFormat { name: &'static str, path: PathBuf },
    /// The file ends inside its header (a write cut short, if anything).
    #[error("{name} {}: {}", path.display(), self.reason())]
    Short {
        name: &'static str,
        path: PathBuf,
        len: usize,
    },
}

impl HeaderError {
    /// The refusal without the file's name (for errors that name it).
    pub fn reason(&self) -> String {
        match self {
            HeaderError::UnknownVersion {
                version, expected, ..
            } => format!("format version {version} is not supported (expected {expected})"),
            HeaderError::NotThisFormat { name, .. } => format!("not a riskgate {name}"),
            HeaderError::Short { len, .. } => {
                format!("{len} bytes end inside the {HEADER_LEN}-byte format header")
            }
        }
    }
}

impl Format {
    /// The header of a file written now.
    pub fn header(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..8].copy_from_slice(&self.magic);
        h[8..].copy_from_slice(&self.version.to_le_bytes());
        h
    }

    /// The version in `bytes`' header, known or not; `None` without the
    /// magic.
    fn version_in(&self, path: &Path, bytes: &[u8]) -> Result<Option<u32>, HeaderError> {
        if !bytes.starts_with(&self.magic) {
            return Ok(None);
        }
        match bytes.get(8..HEADER_LEN) {
            Some(v) => Ok(Some(u32::from_le_bytes([v[0], v[1], v[2], v[3]]))),
            None => Err(self.short(path, bytes.len())),
        }
    }

    fn short(&self, path: &Path, len: usize) -> HeaderError {
        HeaderError::Short {
            name: self.name,
            path: path.to_path_buf(),
            len,
        }
    }

    fn check(&self, path: &Path, version: u32) -> Result<Found, HeaderError> {
        if version == self.version {
            Ok(Found::Current)
        } else {
            Err(HeaderError::UnknownVersion {
                name: self.name,
                path: path.to_path_buf(),
                version,
                expected: self.version,
            })
        }
    }

    /// Checks the header at the start of `bytes` (the contents of `path`),
    /// which must be there.
    pub fn read(&self, path: &Path, bytes: &[u8]) -> Result<Found, HeaderError> {
        match self.version_in(path, bytes)? {
            Some(version) => self.check(path, version),
            None if self.magic.starts_with(bytes) => Err(self.short(path, bytes.len())),
            None => Err(HeaderError::NotThisFormat {
                name: self.name,
                path: path.to_path_buf(),
            }),
        }
    }

    /// Checks the header at the start of `bytes`, or finds none: a file of
    /// the unversioned predecessor. A non-empty start of the magic alone
    /// is [`HeaderError::Short`] (a header cut short).
    pub fn read_or_unversioned(&self, path: &Path, bytes: &[u8]) -> Result<Found, HeaderError> {
        match self.version_in(path, bytes)? {
            Some(version) => self.check(path, version),
            None if !bytes.is_empty() && self.magic.starts_with(bytes) => {
                Err(self.short(path, bytes.len()))
            }
            None => Ok(Found::Unversioned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: Format = Format {
        name: "test file",
        magic: *b"RGTEST\r\n",
        version: 3,
    };

    #[test]
    fn the_current_version_reads_and_an_unknown_one_is_refused_naming_file_and_version() {
        let path = Path::new("/data/f.bin");
        let mut bytes = F.header().to_vec();
        bytes.extend_from_slice(b"body");
        assert_eq!(F.read(path, &bytes), Ok(Found::Current));
        assert_eq!(F.read_or_unversioned(path, &bytes), Ok(Found::Current));
        bytes[8] = 9;
        let err = F.read_or_unversioned(path, &bytes).unwrap_err();
        assert_eq!(
            err.to_string(),
            "test file /data/f.bin: format version 9 is not supported (expected 3)"
        );
        assert!(matches!(
            F.read(path, &bytes),
            Err(HeaderError::UnknownVersion { version: 9, .. })
        ));
    }

    #[test]
    fn no_magic_is_the_unversioned_predecessor_or_another_format() {
        let path = Path::new("f");
        assert_eq!(
            F.read_or_unversioned(path, b"old contents"),
            Ok(Found::Unversioned)
        );
        assert_eq!(F.read_or_unversioned(path, b""), Ok(Found::Unversioned));
        let err = F.read(path, b"old contents").unwrap_err();
        assert!(matches!(err, HeaderError::NotThisFormat { .. }), "{err}");
        assert!(
            err.to_string().contains("not a riskgate test file"),
            "{err}"
        );
    }

    #[test]
    fn a_header_cut_short_is_told_apart() {
        let path = Path::new("f");
        let header = F.header();
        for len in [1, 7, 8, 11] {
            let err = F.read_or_unversioned(path, &header[..len]).unwrap_err();
            assert_eq!(
                err,
                HeaderError::Short {
                    name: "test file",
                    path: path.into(),
                    len
                }
            );
        }
        assert!(matches!(F.read(path, b""), Err(HeaderError::Short { .. })));
    }
}
