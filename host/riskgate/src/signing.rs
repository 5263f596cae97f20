//! Signed policy components (ed25519).
//!
//! A signature binds a component's sha256 to the name and version the
//! component reports (its `info` export). The signed message is
//! [`signed_message`]: a domain tag, the 32 digest bytes, then the name and
//! the version each as a u32-LE length and its bytes, so no two
//! (name, version) pairs give the same message.
//!
//! Files, one line each:
//!
//! - secret key: `riskgate-ed25519-secret <64 hex>` (the 32-byte seed; mode
//!   0600 on unix, never overwritten);
//! - public key: `riskgate-ed25519-public <64 hex>` (a bare 64-hex key is
//!   accepted on read);
//! - signature (`COMPONENT.sig`, see [`signature_path`]): a JSON object
//!   `{"format": "riskgate-policy-signature-v1", "name", "version",
//!   "sha256" (64 hex), "key_id" (16 hex), "signature" (128 hex)}`.
//!
//! A key id ([`key_id`]) is the first 16 hex characters of the sha256 of the
//! 32 public key bytes; in a signature file it only says which trusted key
//! to try first.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use riskgate_storage::WriteOptions;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// First word of a secret key file's line.
pub const SECRET_KEY_TAG: &str = "riskgate-ed25519-secret";
/// First word of a public key file's line.
pub const PUBLIC_KEY_TAG: &str = "riskgate-ed25519-public";
/// The `format` field of a signature file.
pub const SIGNATURE_FORMAT: &str = "riskgate-policy-signature-v1";
/// Domain separation tag at the start of every signed message.
pub const DOMAIN_TAG: &[u8] = b"riskgate-policy-signature-v1\0";
/// Hex characters of a key id.
pub const KEY_ID_LEN: usize = 16;

/// Errors of key files, signature files and verification.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: already exists; refusing to overwrite it")]
    Exists(PathBuf),
    #[error("no random source for a new key: {0}")]
    Random(String),
    #[error("{origin}: not a riskgate ed25519 {kind} key: {reason}")]
    BadKey {
        origin: String,
        kind: KeyKind,
        reason: String,
    },
    #[error("{origin}: not a riskgate policy signature: {reason}")]
    BadSignatureFile { origin: String, reason: String },
    #[error("{origin}: unknown signature format `{format}` (expected `{SIGNATURE_FORMAT}`)")]
    UnknownFormat { origin: String, format: String },
    #[error(
        "sha256 mismatch: the component is not the one signed (component sha256 {actual}, signed sha256 {signed})"
    )]
    Sha256Mismatch { signed: String, actual: String },
    #[error("name mismatch: the component is `{actual}`, the signature is for `{signed}`")]
    NameMismatch { signed: String, actual: String },
    #[error(
        "version mismatch: the component is version `{actual}`, the signature is for version `{signed}`"
    )]
    VersionMismatch { signed: String, actual: String },
    #[error("no trusted public key given")]
    NoTrustedKeys,
    #[error(
        "bad signature: no trusted key verifies it ({tried} tried; the signature names key id {key_id})"
    )]
    BadSignature { key_id: String, tried: usize },
}

/// Which half of a key pair a key file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Secret,
    Public,
}

impl std::fmt::Display for KeyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyKind::Secret => "secret",
            KeyKind::Public => "public",
        })
    }
}

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

/// A new key pair from 32 bytes of the operating system's random source.
pub fn keygen() -> Result<SigningKey, SignError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| SignError::Random(e.to_string()))?;
    let key = SigningKey::from_bytes(&seed);
    seed.fill(0);
    Ok(key)
}

/// The key id: the first 16 hex characters of sha256 of the public key bytes.
pub fn key_id(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut id = hex::encode(digest);
    id.truncate(KEY_ID_LEN);
    id
}

/// The public key file next to a secret key file: `KEY.pub`.
pub fn public_key_path(secret: &Path) -> PathBuf {
    append_extension(secret, "pub")
}

/// A secret key file's line (with its newline).
pub fn format_secret_key(key: &SigningKey) -> String {
    format!("{SECRET_KEY_TAG} {}\n", hex::encode(key.as_bytes()))
}

/// A public key file's line (with its newline).
pub fn format_public_key(key: &VerifyingKey) -> String {
    format!("{PUBLIC_KEY_TAG} {}\n", hex::encode(key.as_bytes()))
}

/// Writes a secret key file: created new (an existing file is refused),
/// mode 0600 on unix.
pub fn write_secret_key(path: &Path, key: &SigningKey) -> Result<(), SignError> {
    write_new(path, format_secret_key(key).as_bytes(), true)
}

/// Writes a public key file: created new (an existing file is refused).
pub fn write_public_key(path: &Path, key: &VerifyingKey) -> Result<(), SignError> {
    write_new(path, format_public_key(key).as_bytes(), false)
}

fn write_new(path: &Path, contents: &[u8], secret: bool) -> Result<(), SignError> {
    let options = WriteOptions::new()
        .create_new()
        .mode(if secret { 0o600 } else { 0o644 });
    riskgate_storage::write_atomic_with(path, options, |file| file.write_all(contents)).map_err(
        |e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                SignError::Exists(path.to_path_buf())
            } else {
                SignError::Io {
                    path: path.to_path_buf(),
                    source: e.source,
                }
            }
        },
    )
}

/// Reads a secret key file.
pub fn read_secret_key(path: &Path) -> Result<SigningKey, SignError> {
    let text = read_text(path)?;
    parse_secret_key_from(&text, &path.display().to_string())
}

/// Reads a public key file (tagged line, or bare 64 hex).
pub fn read_public_key(path: &Path) -> Result<VerifyingKey, SignError> {
    let text = read_text(path)?;
    parse_public_key_from(&text, &path.display().to_string())
}

/// Parses a secret key line: `riskgate-ed25519-secret <64 hex>`.
pub fn parse_secret_key(text: &str) -> Result<SigningKey, SignError> {
    parse_secret_key_from(text, "secret key")
}

/// Parses a public key: `riskgate-ed25519-public <64 hex>`, or bare 64 hex.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, SignError> {
    parse_public_key_from(text, "public key")
}

fn read_text(path: &Path) -> Result<String, SignError> {
    std::fs::read_to_string(path).map_err(|source| SignError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_secret_key_from(text: &str, origin: &str) -> Result<SigningKey, SignError> {
    let bad = |reason: String| SignError::BadKey {
        origin: origin.to_string(),
        kind: KeyKind::Secret,
        reason,
    };
    let words = key_words(text).map_err(|e| bad(e.to_string()))?;
    let hex_text = match words.as_slice() {
        [SECRET_KEY_TAG, hex_text] => *hex_text,
        [PUBLIC_KEY_TAG, _] => {
            return Err(bad("this is a public key file".to_string()));
        }
        _ => {
            return Err(bad(format!(
                "expected one line `{SECRET_KEY_TAG} <64 hex characters>`"
            )));
        }
    };
    let seed = decode_hex::<32>(hex_text).map_err(|e| bad(e.to_string()))?;
    Ok(SigningKey::from_bytes(&seed))
}

fn parse_public_key_from(text: &str, origin: &str) -> Result<VerifyingKey, SignError> {
    let bad = |reason: String| SignError::BadKey {
        origin: origin.to_string(),
        kind: KeyKind::Public,
        reason,
    };
    let words = key_words(text).map_err(|e| bad(e.to_string()))?;
    let hex_text = match words.as_slice() {
        [PUBLIC_KEY_TAG, hex_text] => *hex_text,
        [SECRET_KEY_TAG, _] => {
            return Err(bad(
                "this is a secret key file (give its .pub file)".to_string()
            ));
        }
        [hex_text] if hex_text.len() == 64 => *hex_text,
        _ => {
            return Err(bad(format!(
                "expected one line `{PUBLIC_KEY_TAG} <64 hex characters>` or 64 hex characters"
            )));
        }
    };
    let bytes = decode_hex::<32>(hex_text).map_err(|e| bad(e.to_string()))?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|_| bad("not a point on the curve".to_string()))?;
    if key.is_weak() {
        return Err(bad("a weak (small-order) key".to_string()));
    }
    Ok(key)
}

/// Why a key or signature text does not read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum TextError {
    #[error("the file is empty")]
    Empty,
    #[error("more than one line")]
    MoreThanOneLine,
    #[error("expected {expected} hex characters, found {found}")]
    HexLength { expected: usize, found: usize },
    #[error("bad hex: {0}")]
    Hex(#[from] hex::FromHexError),
}

/// The words of a key file's single non-empty line.
fn key_words(text: &str) -> Result<Vec<&str>, TextError> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let Some(line) = lines.next() else {
        return Err(TextError::Empty);
    };
    if lines.next().is_some() {
        return Err(TextError::MoreThanOneLine);
    }
    Ok(line.split_whitespace().collect())
}

fn decode_hex<const N: usize>(text: &str) -> Result<[u8; N], TextError> {
    if text.len() != 2 * N {
        return Err(TextError::HexLength {
            expected: 2 * N,
            found: text.len(),
        });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out)?;
    Ok(out)
}

// ---------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------

/// The message signed for a component: [`DOMAIN_TAG`], the 32 sha256
/// bytes, then u32-LE length and bytes of the name, then of the version.
///
/// # Panics
/// If the name or the version is longer than `u32::MAX` bytes.
pub fn signed_message(sha256: &[u8; 32], name: &str, version: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(DOMAIN_TAG.len() + 32 + 8 + name.len() + version.len());
    message.extend_from_slice(DOMAIN_TAG);
    message.extend_from_slice(sha256);
    for field in [name, version] {
        let len = u32::try_from(field.len()).expect("a name or version under 4 GiB");
        message.extend_from_slice(&len.to_le_bytes());
        message.extend_from_slice(field.as_bytes());
    }
    message
}

/// The signature file path of a component: its path with `.sig` appended
/// (`sanctions.wasm` gives `sanctions.wasm.sig`).
pub fn signature_path(component: &Path) -> PathBuf {
    append_extension(component, "sig")
}

fn append_extension(path: &Path, extension: &str) -> PathBuf {
    let mut text = path.as_os_str().to_os_string();
    text.push(".");
    text.push(extension);
    PathBuf::from(text)
}

/// A policy component's signature: who signed which bytes as which
/// name and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySignature {
    pub name: String,
    pub version: String,
    pub sha256: [u8; 32],
    /// The signer's key id (a hint: verification tries every trusted key).
    pub key_id: String,
    pub signature: [u8; 64],
}

/// The JSON form of a signature file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureFile {
    format: String,
    name: String,
    version: String,
    sha256: String,
    key_id: String,
    signature: String,
}

/// Signs a component of digest `sha256` as `name` `version`.
pub fn sign(key: &SigningKey, sha256: &[u8; 32], name: &str, version: &str) -> PolicySignature {
    let signature = key.sign(&signed_message(sha256, name, version));
    PolicySignature {
        name: name.to_string(),
        version: version.to_string(),
        sha256: *sha256,
        key_id: key_id(&key.verifying_key()),
        signature: signature.to_bytes(),
    }
}

impl PolicySignature {
    /// The signature file's JSON (pretty, with a final newline).
    pub fn to_json(&self) -> String {
        let file = SignatureFile {
            format: SIGNATURE_FORMAT.to_string(),
            name: self.name.clone(),
            version: self.version.clone(),
            sha256: hex::encode(self.sha256),
            key_id: self.key_id.clone(),
            signature: hex::encode(self.signature),
        };
        let mut text = serde_json::to_string_pretty(&file).expect("strings serialise");
        text.push('\n');
        text
    }

    /// Parses a signature file's JSON.
    pub fn from_json(text: &str) -> Result<Self, SignError> {
        Self::parse(text, "signature")
    }

    /// Reads a signature file.
    pub fn read(path: &Path) -> Result<Self, SignError> {
        let text = read_text(path)?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Writes the signature file (replacing any previous one).
    pub fn write(&self, path: &Path) -> Result<(), SignError> {
        riskgate_storage::write_atomic(path, self.to_json().as_bytes()).map_err(|e| SignError::Io {
            path: path.to_path_buf(),
            source: e.source,
        })
    }

    fn parse(text: &str, origin: &str) -> Result<Self, SignError> {
        let bad = |reason: String| SignError::BadSignatureFile {
            origin: origin.to_string(),
            reason,
        };
        let file: SignatureFile = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if file.format != SIGNATURE_FORMAT {
            return Err(SignError::UnknownFormat {
                origin: origin.to_string(),
                format: file.format,
            });
        }
        let sha256 = decode_hex::<32>(&file.sha256).map_err(|e| bad(format!("sha256: {e}")))?;
        let signature =
            decode_hex::<64>(&file.signature).map_err(|e| bad(format!("signature: {e}")))?;
        if file.key_id.len() != KEY_ID_LEN || !file.key_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(format!("key_id: expected {KEY_ID_LEN} hex characters")));
        }
        Ok(PolicySignature {
            name: file.name,
            version: file.version,
            sha256,
            key_id: file.key_id.to_ascii_lowercase(),
            signature,
        })
    }

    /// Checks that this signature is for a component of digest `sha256`
    /// named `name` at `version`, made by one of the `trusted` keys
    /// (`verify_strict`; the key named by the file's key id is tried
    /// first). Returns the key id of the key that verified.
    pub fn verify(
        &self,
        trusted: &[VerifyingKey],
        sha256: &[u8; 32],
        name: &str,
        version: &str,
    ) -> Result<String, SignError> {
        if trusted.is_empty() {
            return Err(SignError::NoTrustedKeys);
        }
        if &self.sha256 != sha256 {
            return Err(SignError::Sha256Mismatch {
                signed: hex::encode(self.sha256),
                actual: hex::encode(sha256),
            });
        }
        if self.name != name {
            return Err(SignError::NameMismatch {
                signed: self.name.clone(),
                actual: name.to_string(),
            });
        }
        if self.version != version {
            return Err(SignError::VersionMismatch {
                signed: self.version.clone(),
                actual: version.to_string(),
            });
        }
        let message = signed_message(sha256, name, version);
        let signature = Signature::from_bytes(&self.signature);
        let ids: Vec<String> = trusted.iter().map(key_id).collect();
        // The key the file names first (a stable sort keeps the rest in order).
        let mut order: Vec<usize> = (0..trusted.len()).collect();
        order.sort_by_key(|&i| ids[i] != self.key_id);
        for i in order {
            if trusted[i].verify_strict(&message, &signature).is_ok() {
                return Ok(ids[i].clone());
            }
        }
        Err(SignError::BadSignature {
            key_id: self.key_id.clone(),
            tried: trusted.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "sanctions";
    const VERSION: &str = "0.1.0";

    fn digest(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    fn fixture() -> (SigningKey, [u8; 32], PolicySignature) {
        let key = keygen().unwrap();
        let sha = digest(b"component bytes");
        let sig = sign(&key, &sha, NAME, VERSION);
        (key, sha, sig)
    }

    #[test]
    fn round_trip() {
        let (key, sha, sig) = fixture();
        let public = key.verifying_key();
        assert_eq!(sig.key_id, key_id(&public));
        assert_eq!(sig.key_id.len(), KEY_ID_LEN);
        let json = sig.to_json();
        assert!(
            json.contains(r#""format": "riskgate-policy-signature-v1""#),
            "{json}"
        );
        let back = PolicySignature::from_json(&json).unwrap();
        assert_eq!(back, sig);
        assert_eq!(
            back.verify(&[public], &sha, NAME, VERSION).unwrap(),
            sig.key_id
        );

        let dir = tempfile::tempdir().unwrap();
        let path = signature_path(&dir.path().join("sanctions.wasm"));
        assert_eq!(path.file_name().unwrap(), "sanctions.wasm.sig");
        sig.write(&path).unwrap();
        assert_eq!(PolicySignature::read(&path).unwrap(), sig);
    }

    #[test]
    fn key_id_is_sha256_prefix() {
        let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
        let full = hex::encode(Sha256::digest(key.to_bytes()));
        assert_eq!(key_id(&key), full[..16]);
    }

    #[test]
    fn tampered_sha256_refused() {
        let (key, _, sig) = fixture();
        let other = digest(b"other component");
        let err = sig
            .verify(&[key.verifying_key()], &other, NAME, VERSION)
            .unwrap_err();
        assert!(matches!(err, SignError::Sha256Mismatch { .. }), "{err}");
        assert!(err.to_string().starts_with("sha256 mismatch"), "{err}");
        // The file's digest changed too: the signature no longer verifies.
        let mut forged = sig.clone();
        forged.sha256 = other;
        let err = forged
            .verify(&[key.verifying_key()], &other, NAME, VERSION)
            .unwrap_err();
        assert!(matches!(err, SignError::BadSignature { .. }), "{err}");
    }

    #[test]
    fn tampered_name_refused() {
        let (key, sha, sig) = fixture();
        let trusted = [key.verifying_key()];
        let err = sig.verify(&trusted, &sha, "velocity", VERSION).unwrap_err();
        assert!(matches!(err, SignError::NameMismatch { .. }), "{err}");
        let mut forged = sig.clone();
        forged.name = "velocity".into();
        let err = forged
            .verify(&trusted, &sha, "velocity", VERSION)
            .unwrap_err();
        assert!(matches!(err, SignError::BadSignature { .. }), "{err}");
    }

    #[test]
    fn tampered_version_refused() {
        let (key, sha, sig) = fixture();
        let trusted = [key.verifying_key()];
        let err = sig.verify(&trusted, &sha, NAME, "0.1.1").unwrap_err();
        assert!(matches!(err, SignError::VersionMismatch { .. }), "{err}");
        let mut forged = sig.clone();
        forged.version = "0.1.1".into();
        let err = forged.verify(&trusted, &sha, NAME, "0.1.1").unwrap_err();
        assert!(matches!(err, SignError::BadSignature { .. }), "{err}");
    }

    #[test]
    fn flipped_signature_bit_refused() {
        let (key, sha, sig) = fixture();
        for bit in [0, 7, 255, 256, 511] {
            let mut forged = sig.clone();
            forged.signature[bit / 8] ^= 1 << (bit % 8);
            let err = forged
                .verify(&[key.verifying_key()], &sha, NAME, VERSION)
                .unwrap_err();
            assert!(
                matches!(err, SignError::BadSignature { .. }),
                "bit {bit}: {err}"
            );
        }
    }

    #[test]
    fn other_key_refused_and_all_keys_tried() {
        let (key, sha, sig) = fixture();
        let other = keygen().unwrap().verifying_key();
        let err = sig.verify(&[other], &sha, NAME, VERSION).unwrap_err();
        assert!(
            matches!(err, SignError::BadSignature { tried: 1, .. }),
            "{err}"
        );
        // The right key among others verifies, wherever it is.
        let right = key.verifying_key();
        assert_eq!(
            sig.verify(&[other, right], &sha, NAME, VERSION).unwrap(),
            key_id(&right)
        );
        // Even when the file names another key id.
        let mut misnamed = sig.clone();
        misnamed.key_id = key_id(&other);
        assert_eq!(
            misnamed
                .verify(&[other, right], &sha, NAME, VERSION)
                .unwrap(),
            key_id(&right)
        );
    }

    #[test]
    fn empty_trusted_list_refused() {
        let (_, sha, sig) = fixture();
        let err = sig.verify(&[], &sha, NAME, VERSION).unwrap_err();
        assert!(matches!(err, SignError::NoTrustedKeys), "{err}");
    }

    #[test]
    fn wrong_format_refused() {
        let (_, _, sig) = fixture();
        let json = sig
            .to_json()
            .replace(SIGNATURE_FORMAT, "riskgate-policy-signature-v2");
        let err = PolicySignature::from_json(&json).unwrap_err();
        assert!(matches!(err, SignError::UnknownFormat { .. }), "{err}");

        let mut value: serde_json::Value = serde_json::from_str(&sig.to_json()).unwrap();
        value.as_object_mut().unwrap().remove("format");
        let err = PolicySignature::from_json(&value.to_string()).unwrap_err();
        assert!(matches!(err, SignError::BadSignatureFile { .. }), "{err}");
    }

    #[test]
    fn malformed_signature_files_refused() {
        let (_, _, sig) = fixture();
        let good: serde_json::Value = serde_json::from_str(&sig.to_json()).unwrap();
        let cases = [
            ("sha256", serde_json::json!("abcd")),
            ("sha256", serde_json::json!("zz".repeat(32))),
            ("signature", serde_json::json!("00".repeat(63))),
            ("key_id", serde_json::json!("not-hex-at-all!!")),
            ("name", serde_json::json!(5)),
            ("extra", serde_json::json!("field")),
        ];
        for (field, value) in cases {
            let mut v = good.clone();
            v[field] = value;
            let err = PolicySignature::from_json(&v.to_string()).unwrap_err();
            assert!(
                matches!(err, SignError::BadSignatureFile { .. }),
                "{field}: {err}"
            );
        }
        assert!(PolicySignature::from_json("not json").is_err());
    }

    #[test]
    fn length_prefix_separates_fields() {
        let sha = [1; 32];
        assert_ne!(
            signed_message(&sha, "ab", "c"),
            signed_message(&sha, "a", "bc")
        );
        let message = signed_message(&sha, "ab", "c");
        let mut expected = DOMAIN_TAG.to_vec();
        expected.extend_from_slice(&sha);
        expected.extend_from_slice(&[2, 0, 0, 0, b'a', b'b', 1, 0, 0, 0, b'c']);
        assert_eq!(message, expected);
    }

    #[test]
    fn key_files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let secret_path = dir.path().join("key");
        let public_path = public_key_path(&secret_path);
        assert_eq!(public_path.file_name().unwrap(), "key.pub");
        let key = keygen().unwrap();
        write_secret_key(&secret_path, &key).unwrap();
        write_public_key(&public_path, &key.verifying_key()).unwrap();
        assert_eq!(
            read_secret_key(&secret_path).unwrap().to_bytes(),
            key.to_bytes()
        );
        assert_eq!(read_public_key(&public_path).unwrap(), key.verifying_key());
        let text = std::fs::read_to_string(&secret_path).unwrap();
        assert!(text.starts_with("riskgate-ed25519-secret "), "{text}");
        assert_eq!(text.trim_end().len(), SECRET_KEY_TAG.len() + 1 + 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&secret_path)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        // Never overwritten.
        let other = keygen().unwrap();
        let err = write_secret_key(&secret_path, &other).unwrap_err();
        assert!(matches!(err, SignError::Exists(_)), "{err}");
        let err = write_public_key(&public_path, &other.verifying_key()).unwrap_err();
        assert!(matches!(err, SignError::Exists(_)), "{err}");
        assert_eq!(std::fs::read_to_string(&secret_path).unwrap(), text);

        let err = read_secret_key(&dir.path().join("missing")).unwrap_err();
        assert!(matches!(err, SignError::Io { .. }), "{err}");
    }

    #[test]
    fn public_key_forms() {
        let key = keygen().unwrap().verifying_key();
        let bare = hex::encode(key.as_bytes());
        assert_eq!(parse_public_key(&format_public_key(&key)).unwrap(), key);
        assert_eq!(parse_public_key(&bare).unwrap(), key);
        assert_eq!(parse_public_key(&format!("  {bare}\n\n")).unwrap(), key);
        assert_eq!(parse_public_key(&bare.to_ascii_uppercase()).unwrap(), key);
    }

    #[test]
    fn key_parse_errors() {
        let key = keygen().unwrap();
        let secret_line = format_secret_key(&key);
        let public_line = format_public_key(&key.verifying_key());
        let hex64 = hex::encode(key.verifying_key().as_bytes());
        let bad_public = [
            "",
            "\n  \n",
            &secret_line,                                    // the other half
            &format!("{PUBLIC_KEY_TAG} {}", &hex64[..62]),   // short
            &format!("{PUBLIC_KEY_TAG} {hex64}00"),          // long
            &format!("{PUBLIC_KEY_TAG} {}zz", &hex64[..62]), // not hex
            &format!("{PUBLIC_KEY_TAG} {hex64} extra"),
            &format!("{public_line}{public_line}"), // two lines
            &format!("riskgate-rsa-public {hex64}"),
            &hex64[..62],
            // The identity point: small order.
            &format!("{PUBLIC_KEY_TAG} 01{}", "00".repeat(31)),
        ];
        for text in bad_public {
            let err = parse_public_key(text).unwrap_err();
            assert!(
                matches!(
                    err,
                    SignError::BadKey {
                        kind: KeyKind::Public,
                        ..
                    }
                ),
                "{text:?}: {err}"
            );
        }
        let err = parse_public_key(&secret_line).unwrap_err();
        assert!(err.to_string().contains("secret key file"), "{err}");

        let bad_secret = [
            "",
            &public_line,
            &hex64, // bare hex is not accepted for a secret key
            &format!("{SECRET_KEY_TAG} {}", &hex64[..62]),
            &format!("{SECRET_KEY_TAG} {}xx", &hex64[..62]),
        ];
        for text in bad_secret {
            let err = parse_secret_key(text).unwrap_err();
            assert!(
                matches!(
                    err,
                    SignError::BadKey {
                        kind: KeyKind::Secret,
                        ..
                    }
                ),
                "{text:?}: {err}"
            );
        }
        assert_eq!(
            parse_secret_key(&secret_line).unwrap().to_bytes(),
            key.to_bytes()
        );
    }
}
