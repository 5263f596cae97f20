//! Opening a designated set from a file: a compiled set (recognised by its
//! magic bytes); any other list file is imported by `lists::open_list`.

use super::{DesignatedSet, MAGIC, SetBuilder, SetError};
use riskgate_address::Canonical;
use std::io::Read;
use std::path::Path;

/// Does the file at `path` start like a compiled set (or is it a prefix of
/// the magic bytes: a truncated compiled file)?
pub fn looks_compiled(path: &Path) -> std::io::Result<bool> {
    let mut prefix = Vec::with_capacity(MAGIC.len());
    std::fs::File::open(path)?
        .take(MAGIC.len() as u64)
        .read_to_end(&mut prefix)?;
    Ok(!prefix.is_empty() && MAGIC.starts_with(&prefix))
}

/// Is `path` a compiled set file? Errors are reported by the caller's open.
pub fn is_compiled_file(path: &Path) -> bool {
    looks_compiled(path).unwrap_or(false)
}

/// Open a compiled set file; with `name`, serve it under that name (the
/// header's name is kept when it is the same or no name is given; another
/// name means rebuilding the set in memory, as the set API has no rename).
pub fn open_compiled_as(path: &Path, name: Option<&str>) -> Result<DesignatedSet, SetError> {
    let set = DesignatedSet::open_compiled(path)?;
    match name {
        Some(name) if name != set.name() => renamed(&set, name),
        _ => Ok(set),
    }
}

/// A copy of `set` named `name` (same entries, source, version, fp rate).
fn renamed(set: &DesignatedSet, name: &str) -> Result<DesignatedSet, SetError> {
    let mut builder = SetBuilder::new(set.fp_rate())?;
    builder.reserve(set.len());
    for entry in set.entry_refs() {
        let original = entry.original();
        let canonical = Canonical::from_key(entry.key()).ok();
        let original = match &canonical {
            Some(c) if c.as_str() == original => None,
            _ => Some(&*original),
        };
        builder.push_key(entry.key(), entry.label(), original)?;
    }
    builder.finish(name, set.version(), set.source())
}
