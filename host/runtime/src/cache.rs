//! On-disk cache of precompiled (AOT) policy components.
//!
//! Entries are keyed by the component's sha256 and the engine's
//! `precompile_compatibility_hash()`. Deserialising a precompiled artifact
//! runs native code, so the cache only loads files it wrote itself: each
//! file carries an HMAC-SHA256 over its key and contents under a random
//! secret created with the cache (mode 0600). A file that fails the check is
//! ignored and recompiled, never deserialised.

use hmac::{Hmac, Mac};
use riskgate_storage::WriteOptions;
use riskgate_storage::header::{Format, HEADER_LEN};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The format header of a cache entry.
const ENTRY: Format = Format {
    name: "AOT cache entry",
    magic: *b"RGAOT\0\r\n",
    version: 1,
};
/// The magic of entries written before entries had a format header (its
/// own version in its last digits), read as their unversioned predecessor.
const UNVERSIONED_MAGIC: &[u8; 8] = b"RGAOT001";
const MAC_LEN: usize = 32;
const SECRET_FILE: &str = "cache.key";

type HmacSha256 = Hmac<Sha256>;

/// Errors opening the cache.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("AOT cache {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("AOT cache {0}: the secret file is corrupt")]
    BadSecret(PathBuf),
    #[error("AOT cache: no random source: {0}")]
    Random(String),
}

/// Why a cache entry is not loaded (it is recompiled instead).
#[derive(Debug, thiserror::Error)]
enum EntryError {
    #[error(transparent)]
    Header(#[from] riskgate_storage::header::HeaderError),
    #[error("AOT cache entry {}: cut short", .0.display())]
    CutShort(PathBuf),
    #[error("AOT cache entry {}: not written by this cache", .0.display())]
    NotOurs(PathBuf),
}

/// A directory of precompiled components.
pub struct AotCache {
    dir: PathBuf,
    secret: [u8; 32],
    compat: [u8; 32],
}

/// What a lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Deserialised from the cache.
    Hit,
    /// Compiled now (and stored when possible).
    Miss,
    /// A file was present but failed verification: compiled now instead.
    Rejected,
    /// No cache configured.
    Disabled,
}

impl AotCache {
    /// Opens (creating if needed) the cache directory for `engine`.
    pub fn open(dir: &Path, engine: &Engine) -> Result<Self, CacheError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| CacheError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let secret_path = dir.join(SECRET_FILE);
        let secret = match std::fs::read(&secret_path) {
            Ok(bytes) => bytes
                .try_into()
                .map_err(|_| CacheError::BadSecret(secret_path.clone()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut secret = [0u8; 32];
                getrandom::fill(&mut secret).map_err(|e| CacheError::Random(e.to_string()))?;
                write_private(&secret_path, &secret).map_err(io(&secret_path))?;
                // Another process may have raced us: use whatever won.
                let stored = std::fs::read(&secret_path).map_err(io(&secret_path))?;
                stored
                    .try_into()
                    .map_err(|_| CacheError::BadSecret(secret_path.clone()))?
            }
            Err(e) => return Err(io(&secret_path)(e)),
        };
        Ok(AotCache {
            dir: dir.to_path_buf(),
            secret,
            compat: compatibility(engine),
        })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, sha: &[u8; 32]) -> PathBuf {
        self.dir.join(format!(
            "{}-{}.cwasm",
            hex::encode(sha),
            hex::encode(&self.compat[..8])
        ))
    }

    /// The MAC of an entry whose header is `header`.
    fn mac(&self, header: &[u8], sha: &[u8; 32], payload: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(header);
        mac.update(sha);
        mac.update(&self.compat);
        mac.update(payload);
        mac
    }

    /// Loads the precompiled component for `sha`, if this cache wrote it
    /// for this engine configuration.
    pub fn load(&self, engine: &Engine, sha: &[u8; 32]) -> (Option<Component>, CacheOutcome) {
        let path = self.path(sha);
        let Ok(bytes) = std::fs::read(&path) else {
            return (None, CacheOutcome::Miss);
        };
        let payload = match self.verified(&path, sha, &bytes) {
            Ok(payload) => payload,
            Err(why) => {
                tracing::warn!("{why}: recompiling");
                return (None, CacheOutcome::Rejected);
            }
        };
        // SAFETY: the payload was produced by `Engine::precompile_component`
        // in `store` below (the HMAC under this cache's secret proves it) for
        // an engine with the same compatibility hash.
        match unsafe { Component::deserialize(engine, payload) } {
            Ok(component) => (Some(component), CacheOutcome::Hit),
            Err(_) => (None, CacheOutcome::Rejected),
        }
    }

    /// The payload of entry `bytes` (read from `path`) if this cache wrote
    /// it for `sha`, else why not. An entry of another format version is
    /// refused naming the file and the version.
    fn verified<'a>(
        &self,
        path: &Path,
        sha: &[u8; 32],
        bytes: &'a [u8],
    ) -> Result<&'a [u8], EntryError> {
        let header_len = if bytes.starts_with(UNVERSIONED_MAGIC) {
            UNVERSIONED_MAGIC.len()
        } else {
            ENTRY.read(path, bytes)?;
            HEADER_LEN
        };
        let (header, rest) = bytes.split_at(header_len);
        if rest.len() < MAC_LEN {
            return Err(EntryError::CutShort(path.to_path_buf()));
        }
        let (tag, payload) = rest.split_at(MAC_LEN);
        self.mac(header, sha, payload)
            .verify_slice(tag)
            .map_err(|_| EntryError::NotOurs(path.to_path_buf()))?;
        Ok(payload)
    }

    /// Stores a precompiled component (best effort: a write failure only
    /// costs a recompile next time).
    pub fn store(&self, sha: &[u8; 32], precompiled: &[u8]) -> std::io::Result<()> {
        let header = ENTRY.header();
        let tag = self.mac(&header, sha, precompiled).finalize().into_bytes();
        let path = self.path(sha);
        riskgate_storage::write_atomic_with(&path, WriteOptions::new(), |file| {
            file.write_all(&header)?;
            file.write_all(&tag)?;
            file.write_all(precompiled)
        })
        .map_err(|e| e.source)
    }
}

/// sha256 of the engine's compatibility hash: artifacts from an engine with
/// other settings or another wasmtime never match.
fn compatibility(engine: &Engine) -> [u8; 32] {
    struct ShaHasher(Sha256);
    impl Hasher for ShaHasher {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.0.finalize().into()
}

/// Creates `path` with `bytes`, readable by the owner only, atomically: a
/// concurrent reader sees no file or the whole file. If another process
/// created it first, theirs stands.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let options = WriteOptions::new().mode(0o600).create_new();
    match riskgate_storage::write_atomic_with(path, options, |file| file.write_all(bytes)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e.source),
    }
}

/// The default cache directory: `$RISKGATE_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/riskgate`, else `$HOME/.cache/riskgate`.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("RISKGATE_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("riskgate"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache").join("riskgate"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, Engine, AotCache, [u8; 32], Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        let engine = Engine::new(&config).unwrap();
        let cache = AotCache::open(dir.path(), &engine).unwrap();
        let precompiled = engine.precompile_component(b"(component)").unwrap();
        (dir, engine, cache, [5; 32], precompiled)
    }

    #[test]
    fn an_entry_round_trips_with_its_format_header() {
        let (_dir, engine, cache, sha, precompiled) = setup();
        cache.store(&sha, &precompiled).unwrap();
        let bytes = std::fs::read(cache.path(&sha)).unwrap();
        assert!(bytes.starts_with(&ENTRY.header()));
        assert_eq!(cache.load(&engine, &sha).1, CacheOutcome::Hit);
    }

    #[test]
    fn an_entry_without_a_format_header_still_loads() {
        let (_dir, engine, cache, sha, precompiled) = setup();
        // The unversioned predecessor: `RGAOT001`, its MAC, the payload.
        let tag = cache
            .mac(UNVERSIONED_MAGIC, &sha, &precompiled)
            .finalize()
            .into_bytes();
        let mut bytes = UNVERSIONED_MAGIC.to_vec();
        bytes.extend_from_slice(&tag);
        bytes.extend_from_slice(&precompiled);
        std::fs::write(cache.path(&sha), &bytes).unwrap();
        assert_eq!(cache.load(&engine, &sha).1, CacheOutcome::Hit);
    }

    #[test]
    fn an_entry_of_an_unknown_format_version_is_refused_naming_file_and_version() {
        let (_dir, engine, cache, sha, precompiled) = setup();
        cache.store(&sha, &precompiled).unwrap();
        let path = cache.path(&sha);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[8..12].copy_from_slice(&7u32.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let why = cache.verified(&path, &sha, &bytes).unwrap_err().to_string();
        assert!(
            why.contains(&path.display().to_string()) && why.contains("format version 7"),
            "{why}"
        );
        assert_eq!(cache.load(&engine, &sha).1, CacheOutcome::Rejected);
    }
}
