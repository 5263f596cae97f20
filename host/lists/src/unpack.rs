//! Reading list files as published: plain files, gzip (`.gz`), xz (`.xz`)
//! and ZIP archives (OFAC's `SDN.ZIP`, `SDN_ADVANCED.ZIP`...), and
//! directories holding them. Decompressed data is capped (a decompression
//! bomb fails the import, it is never cut short).

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use super::detect::{Detected, detect};
use super::{ImportError, ImportProgress, Progress};

/// Default cap on the decompressed bytes of one input (all members of an
/// archive together): ten times OFAC's largest file (SDN_ADVANCED.XML,
/// about 100 MB).
pub const MAX_DECOMPRESSED: u64 = 1 << 30;

/// Containers inside containers (a `.zip.gz`) are opened this deep.
const MAX_DEPTH: usize = 2;

/// One file to import: a file as read, or a member of an archive or a
/// decompressed stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The path, `ARCHIVE:MEMBER` for an archive member.
    pub name: String,
    pub bytes: Vec<u8>,
}

impl Member {
    /// What it looks like.
    pub fn detected(&self) -> Detected {
        detect(&self.bytes)
    }
}

/// `bytes` read from `name`, decompressed or unpacked when compressed or
/// an archive (each member in archive order, directories and macOS
/// resource forks left out); at most `limit` decompressed bytes.
pub fn unpack(name: &str, bytes: Vec<u8>, limit: u64) -> Result<Vec<Member>, ImportError> {
    let mut out = Vec::new();
    let mut budget = limit;
    unpack_into(name, bytes, limit, &mut budget, 0, &mut out)?;
    Ok(out)
}

fn unpack_into(
    name: &str,
    bytes: Vec<u8>,
    limit: u64,
    budget: &mut u64,
    depth: usize,
    out: &mut Vec<Member>,
) -> Result<(), ImportError> {
    let kind = detect(&bytes);
    if !kind.is_container() || depth >= MAX_DEPTH {
        out.push(Member {
            name: name.to_string(),
            bytes,
        });
        return Ok(());
    }
    match kind {
        Detected::Gzip => {
            let reader = flate2::read::MultiGzDecoder::new(&bytes[..]);
            let data = read_capped(reader, name, "gzip", limit, budget)?;
            let inner = strip_suffix(name, &[".gz", ".gzip", ".tgz"]);
            unpack_into(&inner, data, limit, budget, depth + 1, out)
        }
        Detected::Xz => {
            let reader = lzma_rust2::XzReader::new(&bytes[..], true);
            let data = read_capped(reader, name, "xz", limit, budget)?;
            let inner = strip_suffix(name, &[".xz", ".txz"]);
            unpack_into(&inner, data, limit, budget, depth + 1, out)
        }
        Detected::Zip => {
            let zip_error = |e: zip::result::ZipError| ImportError::Decompress {
                name: name.to_string(),
                kind: "ZIP",
                message: e.to_string(),
            };
            let mut archive = zip::ZipArchive::new(Cursor::new(&bytes[..])).map_err(zip_error)?;
            let mut members = Vec::new();
            for index in 0..archive.len() {
                let file = archive.by_index(index).map_err(zip_error)?;
                if file.is_dir() {
                    continue;
                }
                let member = String::from_utf8_lossy(file.name_raw()).into_owned();
                if member.starts_with("__MACOSX/") {
                    continue;
                }
                let shown = format!("{name}:{member}");
                let data = read_capped(file, &shown, "ZIP", limit, budget)?;
                members.push((shown, data));
            }
            if members.is_empty() {
                return Err(ImportError::Decompress {
                    name: name.to_string(),
                    kind: "ZIP",
                    message: "the archive holds no file".to_string(),
                });
            }
            for (shown, data) in members {
                unpack_into(&shown, data, limit, budget, depth + 1, out)?;
            }
            Ok(())
        }
        _ => unreachable!("is_container"),
    }
}

/// Everything `reader` gives, failing past the remaining `budget`.
fn read_capped(
    reader: impl Read,
    name: &str,
    kind: &'static str,
    limit: u64,
    budget: &mut u64,
) -> Result<Vec<u8>, ImportError> {
    let mut data = Vec::new();
    reader
        .take(budget.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|e| ImportError::Decompress {
            name: name.to_string(),
            kind,
            message: e.to_string(),
        })?;
    let len = data.len() as u64;
    if len > *budget {
        return Err(ImportError::TooLarge {
            name: name.to_string(),
            limit,
        });
    }
    *budget -= len;
    Ok(data)
}

fn strip_suffix(name: &str, suffixes: &[&str]) -> String {
    let lower = name.to_ascii_lowercase();
    for suffix in suffixes {
        if lower.ends_with(suffix) && name.len() > suffix.len() {
            return name[..name.len() - suffix.len()].to_string();
        }
    }
    name.to_string()
}

/// The files of `paths`: each file, or each regular file of a directory
/// (by name, not recursive), read and unpacked. Reading is reported as
/// [`ImportProgress::Read`] (bytes of all files).
pub fn read_inputs(
    paths: &[PathBuf],
    limit: u64,
    progress: Progress<'_>,
) -> Result<Vec<Member>, ImportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ImportError::Io { path, source }
    };
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(io(path))?;
        if meta.is_dir() {
            let mut entries = Vec::new();
            for entry in std::fs::read_dir(path).map_err(io(path))? {
                let entry = entry.map_err(io(path))?;
                let meta = entry.metadata().map_err(io(&entry.path()))?;
                if meta.is_file() {
                    entries.push((entry.path(), meta.len()));
                }
            }
            if entries.is_empty() {
                return Err(ImportError::Empty {
                    name: format!("directory {}", path.display()),
                });
            }
            entries.sort();
            files.extend(entries);
        } else {
            files.push((path.clone(), meta.len()));
        }
    }
    let total: u64 = files.iter().map(|(_, len)| len).sum();
    let mut done = 0u64;
    let mut members = Vec::new();
    for (path, len) in files {
        let mut file = std::fs::File::open(&path).map_err(io(&path))?;
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        let mut chunk = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut chunk).map_err(io(&path))?;
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&chunk[..n]);
            done += n as u64;
            if let Some(progress) = progress {
                progress(ImportProgress::Read {
                    bytes: done,
                    total: total.max(done),
                });
            }
        }
        members.extend(unpack(&path.display().to_string(), bytes, limit)?);
    }
    Ok(members)
}
