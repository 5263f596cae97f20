//! The policy author's SDK carried by the binary (see `build.rs`):
//! `riskgate-guest`, `riskgate-testkit` and the host crates it uses, written out
//! for a policy crate's `[patch.crates-io]` until they are published.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/sdk_files.rs"));

/// The SDK crates' version (the workspace's).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A short digest of every file of the SDK: one directory per content.
pub fn digest() -> String {
    let mut hash = Sha256::new();
    for (path, bytes) in SDK_FILES {
        hash.update((path.len() as u64).to_le_bytes());
        hash.update(path.as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    }
    hex::encode(&hash.finalize()[..6])
}

/// Where the SDK goes by default: `sdk/<version>-<digest>` under
/// riskgate's cache directory (`$RISKGATE_CACHE_DIR`,
/// `$XDG_CACHE_HOME/riskgate` or `~/.cache/riskgate`).
pub fn default_dir() -> Result<PathBuf> {
    let cache = riskgate::cache::default_dir()
        .context("no cache directory: set RISKGATE_CACHE_DIR or HOME, or give --sdk-dir")?;
    Ok(cache.join("sdk").join(format!("{VERSION}-{}", digest())))
}

/// The `[patch.crates-io]` entries of a policy crate using the SDK at `dir`.
pub fn patch_entries(dir: &Path) -> String {
    let dir = dir.display().to_string().replace('\\', "/");
    SDK_CRATES
        .iter()
        .map(|name| format!("{name} = {{ path = \"{dir}/{name}\" }}\n"))
        .collect()
}

/// Writes the SDK into `dir` (created; files already there with the same
/// contents are left alone, others are replaced) and returns it, absolute.
pub fn write(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = std::fs::canonicalize(dir).with_context(|| format!("{}", dir.display()))?;
    for (path, bytes) in SDK_FILES {
        let target = dir.join(path);
        if std::fs::read(&target).ok().as_deref() == Some(*bytes) {
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        riskgate::storage::write_atomic(&target, bytes)
            .with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_the_three_crates_with_standalone_manifests() {
        for name in SDK_CRATES {
            let manifest = SDK_FILES
                .iter()
                .find(|(p, _)| *p == format!("{name}/Cargo.toml"))
                .map(|(_, b)| std::str::from_utf8(b).unwrap())
                .unwrap_or_else(|| panic!("{name}/Cargo.toml missing"));
            assert!(
                !manifest.contains("workspace = true"),
                "{name}:\n{manifest}"
            );
            assert!(
                !manifest.contains("dev-dependencies"),
                "{name}:\n{manifest}"
            );
            assert!(
                SDK_FILES
                    .iter()
                    .any(|(p, _)| *p == format!("{name}/src/lib.rs")),
                "{name}/src/lib.rs missing"
            );
        }
        assert!(
            SDK_FILES
                .iter()
                .any(|(p, b)| *p == "riskgate-guest/wit/policy.wit"
                    && *b == include_bytes!("../../../../../wit/policy.wit")),
            "the guest carries the repository's WIT"
        );
        // The harness needs the whole host: not in the SDK, nor its feature.
        assert!(!SDK_FILES.iter().any(|(p, _)| p.ends_with("component.rs")));
        let testkit = SDK_FILES
            .iter()
            .find(|(p, _)| *p == "riskgate-testkit/Cargo.toml")
            .map(|(_, b)| std::str::from_utf8(b).unwrap())
            .unwrap();
        assert!(!testkit.contains("riskgate = "), "{testkit}");
        assert!(
            testkit.contains("path = \"../riskgate-address\""),
            "{testkit}"
        );
    }

    #[test]
    fn writing_twice_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let first = write(dir.path()).unwrap();
        let second = write(dir.path()).unwrap();
        assert_eq!(first, second);
        for (path, bytes) in SDK_FILES {
            assert_eq!(std::fs::read(first.join(path)).unwrap(), *bytes);
        }
    }
}
