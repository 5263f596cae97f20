//! Policy admission: what a policy component must be before the gate runs
//! it. Checked by [`GateBuilder::build`](crate::GateBuilder::build) on the
//! bytes of every policy before any is compiled (the sha256 pin, the
//! signature by a trusted key), and on what each compiled policy reports
//! (the name and version signed or expected). The bundled policies are part
//! of the binary and need no signature.
//!
//! ```no_run
//! use riskgate::admission::{Admission, SignatureFrom};
//! use riskgate::{Gate, Mode, PolicySource, signing};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let path = std::path::Path::new("policies/sanctions.wasm");
//! let source = PolicySource {
//!     origin: path.display().to_string(),
//!     bytes: std::fs::read(path)?.into(),
//!     config: "{}".into(),
//!     fuel: None,
//! };
//! let release = signing::read_public_key("keys/release.pub".as_ref())?;
//! let (gate, _) = Gate::builder()
//!     .trusted_keys(vec![release])
//!     .require_signatures(true)
//!     .admitted_policy(
//!         source,
//!         Mode::Enforce,
//!         Admission {
//!             signature: Some(SignatureFrom::File(signing::signature_path(path))),
//!             name: Some("sanctions".into()),
//!             ..Admission::default()
//!         },
//!     )
//!     .build()?;
//! # Ok(()) }
//! ```

use crate::policy::{Policy, PolicySource};
use crate::signing::{PolicySignature, SignError};
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// What one policy must be to be run.
#[derive(Debug, Clone, Default)]
pub struct Admission {
    /// The sha256 its component must have.
    pub sha256: Option<[u8; 32]>,
    /// Its signature, verified against the gate's trusted keys before the
    /// component is compiled; the policy must then report the name and
    /// version signed. Required when the gate requires signatures.
    pub signature: Option<SignatureFrom>,
    /// The name the policy must report.
    pub name: Option<String>,
    /// The version the policy must report.
    pub version: Option<String>,
    /// Part of the binary (the bundled policies): needs no signature even
    /// when the gate requires them.
    pub bundled: bool,
}

/// Where a policy's signature is.
#[derive(Debug, Clone)]
pub enum SignatureFrom {
    /// Already read.
    Given(PolicySignature),
    /// A signature file, read when the gate is built (see
    /// [`signing::signature_path`](crate::signing::signature_path) for the
    /// default beside the component).
    File(PathBuf),
}

/// Why a policy was refused admission. Shown after the policy's origin.
#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    #[error("sha256 is {actual}, the config pins {pinned}")]
    PinMismatch { actual: String, pinned: String },
    #[error("no signature, and the gate requires one by a trusted key")]
    Unsigned,
    #[error("signature {path}: {source}")]
    SignatureUnreadable {
        path: PathBuf,
        #[source]
        source: SignError,
    },
    #[error("signature refused: {0}")]
    SignatureRefused(#[source] SignError),
    #[error(
        "signature refused: signed as {signed_name} {signed_version}, the component says {name} {version}"
    )]
    SignedAsOther {
        signed_name: String,
        signed_version: String,
        name: String,
        version: String,
    },
    #[error("{0}")]
    PolicyInfo(#[source] crate::policy_info::PolicyInfoError),
    /// `section` and `reported` are each `NAME VERSION`.
    #[error("its riskgate-policy-info section says {section}, its info export {reported}")]
    InfoMismatch { section: String, reported: String },
    #[error("the component says {what} `{actual}`, `{expected}` is expected")]
    Unexpected {
        what: &'static str,
        actual: String,
        expected: String,
    },
}

/// Whether signatures are asked for, and whose count.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// Public keys whose signatures count.
    pub keys: Vec<VerifyingKey>,
    /// Refuse every policy without a valid signature by one of `keys`
    /// (except the bundled ones).
    pub require_signatures: bool,
}

/// What admission established before compiling, checked again once the
/// policy is compiled ([`Admitted::check_loaded`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Admitted {
    /// The name and version signed, when a signature verified.
    pub signed: Option<(String, String)>,
    /// Key id of the trusted key whose signature verified.
    pub signed_by: Option<String>,
    /// What the component's `riskgate-policy-info` section says, when it
    /// has one: the compiled policy must report the same (tools such as
    /// `riskgate policy sign` read the section instead of running it).
    pub info: Option<crate::policy_info::PolicyInfo>,
    name: Option<String>,
    version: Option<String>,
}

impl Admission {
    /// The checks on `source`'s bytes, before it is compiled: the pin,
    /// then the signature (read, then verified against `trust`).
    pub fn check_source(
        &self,
        source: &PolicySource,
        trust: &Trust,
    ) -> Result<Admitted, AdmissionError> {
        let sha256: [u8; 32] = Sha256::digest(&source.bytes).into();
        if let Some(pin) = &self.sha256
            && *pin != sha256
        {
            return Err(AdmissionError::PinMismatch {
                actual: hex::encode(sha256),
                pinned: hex::encode(pin),
            });
        }
        let signature = match &self.signature {
            Some(SignatureFrom::Given(sig)) => Some(sig.clone()),
            Some(SignatureFrom::File(path)) => {
                Some(PolicySignature::read(path).map_err(|source| {
                    AdmissionError::SignatureUnreadable {
                        path: path.clone(),
                        source,
                    }
                })?)
            }
            None if trust.require_signatures && !self.bundled => {
                return Err(AdmissionError::Unsigned);
            }
            None => None,
        };
        let (signed, signed_by) = match signature {
            Some(sig) => {
                // Name and version are checked against the compiled policy.
                let key = sig
                    .verify(&trust.keys, &sha256, &sig.name, &sig.version)
                    .map_err(AdmissionError::SignatureRefused)?;
                (Some((sig.name, sig.version)), Some(key))
            }
            None => (None, None),
        };
        let info = policy_info_of(&source.bytes)?;
        Ok(Admitted {
            signed,
            signed_by,
            info,
            name: self.name.clone(),
            version: self.version.clone(),
        })
    }
}

impl Admitted {
    /// The checks on what the compiled `policy` reports: the name and
    /// version signed, then the ones expected.
    pub fn check_loaded(&self, policy: &Policy) -> Result<(), AdmissionError> {
        if let Some(info) = &self.info
            && (policy.name() != info.name || policy.version() != info.version)
        {
            return Err(AdmissionError::InfoMismatch {
                section: format!("{} {}", info.name, info.version),
                reported: format!("{} {}", policy.name(), policy.version()),
            });
        }
        if let Some((name, version)) = &self.signed
            && (policy.name() != name || policy.version() != version)
        {
            return Err(AdmissionError::SignedAsOther {
                signed_name: name.clone(),
                signed_version: version.clone(),
                name: policy.name().to_string(),
                version: policy.version().to_string(),
            });
        }
        for (what, expected, actual) in [
            ("name", &self.name, policy.name()),
            ("version", &self.version, policy.version()),
        ] {
            if let Some(expected) = expected
                && expected != actual
            {
                return Err(AdmissionError::Unexpected {
                    what,
                    actual: actual.to_string(),
                    expected: expected.clone(),
                });
            }
        }
        Ok(())
    }
}

/// The `riskgate-policy-info` section of a binary component: a malformed
/// or repeated one refuses the policy; bytes that do not parse are left to
/// the compiler's message.
fn policy_info_of(bytes: &[u8]) -> Result<Option<crate::policy_info::PolicyInfo>, AdmissionError> {
    use crate::policy_info::{PolicyInfoError, read_policy_info};
    if !bytes.starts_with(b"\0asm") {
        return Ok(None);
    }
    match read_policy_info(bytes) {
        Ok(info) => Ok(info),
        Err(PolicyInfoError::Wasm(_)) => Ok(None),
        Err(e) => Err(AdmissionError::PolicyInfo(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::{Gate, GateError, Mode};
    use crate::policy::LoadError;
    use crate::signing::{self, key_id};
    use crate::{Verdict, Withdrawal, bundled};
    use ed25519_dalek::SigningKey;

    fn sanctions() -> PolicySource {
        bundled::policies().remove(0)
    }

    fn sha256(source: &PolicySource) -> [u8; 32] {
        Sha256::digest(&source.bytes).into()
    }

    /// The bundled sanctions policy's own name and version.
    fn reported() -> (String, String) {
        let (gate, _) = Gate::builder().policy(sanctions()).build().unwrap();
        let p = &gate.policies()[0];
        (p.name().to_string(), p.version().to_string())
    }

    fn key() -> SigningKey {
        signing::keygen().unwrap()
    }

    /// A gate of `source` under `admission`, signatures required from `trusted`.
    fn build(
        source: PolicySource,
        admission: Admission,
        trusted: &[&SigningKey],
    ) -> Result<Gate, GateError> {
        Gate::builder()
            .trusted_keys(trusted.iter().map(|k| k.verifying_key()).collect())
            .require_signatures(true)
            .admitted_policy(source, Mode::Enforce, admission)
            .build()
            .map(|(gate, _)| gate)
    }

    fn refusal(result: Result<Gate, GateError>) -> AdmissionError {
        match result {
            Err(GateError::Admission { origin, source }) => {
                assert_eq!(origin, "bundled:sanctions");
                source
            }
            Err(e) => panic!("expected an admission refusal, got {e}"),
            Ok(_) => panic!("admitted"),
        }
    }

    fn signed(source: &PolicySource, key: &SigningKey, name: &str, version: &str) -> Admission {
        Admission {
            signature: Some(SignatureFrom::Given(signing::sign(
                key,
                &sha256(source),
                name,
                version,
            ))),
            ..Admission::default()
        }
    }

    #[test]
    fn a_pin_that_does_not_match_is_refused_naming_both_digests() {
        let source = sanctions();
        let actual = sha256(&source);
        let e = refusal(
            Gate::builder()
                .admitted_policy(
                    source.clone(),
                    Mode::Enforce,
                    Admission {
                        sha256: Some([0; 32]),
                        ..Admission::default()
                    },
                )
                .build()
                .map(|(g, _)| g),
        );
        assert!(matches!(e, AdmissionError::PinMismatch { .. }), "{e}");
        let shown = e.to_string();
        assert!(shown.contains(&hex::encode(actual)), "{shown}");
        assert!(shown.contains(&"0".repeat(64)), "{shown}");
        let (gate, _) = Gate::builder()
            .admitted_policy(
                source,
                Mode::Enforce,
                Admission {
                    sha256: Some(actual),
                    ..Admission::default()
                },
            )
            .build()
            .unwrap();
        assert_eq!(gate.signed_by(), [None]);
    }

    #[test]
    fn unsigned_is_refused_when_signatures_are_required_unless_bundled() {
        let k = key();
        let e = refusal(build(sanctions(), Admission::default(), &[&k]));
        assert!(matches!(e, AdmissionError::Unsigned), "{e}");
        // A missing signature file names the file.
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("sanctions.wasm.sig");
        let e = refusal(build(
            sanctions(),
            Admission {
                signature: Some(SignatureFrom::File(missing.clone())),
                ..Admission::default()
            },
            &[&k],
        ));
        assert!(
            e.to_string().contains(&missing.display().to_string()),
            "{e}"
        );
        // Part of the binary: no signature needed.
        let gate = build(
            sanctions(),
            Admission {
                bundled: true,
                ..Admission::default()
            },
            &[&k],
        )
        .unwrap();
        assert_eq!(gate.signed_by(), [None]);
    }

    #[test]
    fn a_good_signature_is_accepted_and_its_key_named() {
        let (name, version) = reported();
        let (k, other) = (key(), key());
        let source = sanctions();
        // Given, among other trusted keys.
        let gate = build(
            source.clone(),
            signed(&source, &k, &name, &version),
            &[&other, &k],
        )
        .unwrap();
        assert_eq!(gate.signed_by(), [Some(key_id(&k.verifying_key()))]);
        let w = Withdrawal {
            id: "w-1".into(),
            account: "a".into(),
            asset: "ETH".into(),
            chain: "ethereum".into(),
            destination: bundled::sample_addresses()[0].clone(),
            amount: 1,
            decimals: 18,
            usd_cents: Some(100),
            requested_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as u64,
            account_created_at: None,
            credential_changed_at: None,
            destination_first_used_at: None,
        };
        assert_eq!(
            gate.evaluate(&w).verdict,
            Verdict::Allow,
            "no list: screened clean"
        );
        // From a file, with the expected name and version.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sanctions.wasm.sig");
        signing::sign(&k, &sha256(&source), &name, &version)
            .write(&file)
            .unwrap();
        let gate = build(
            source,
            Admission {
                signature: Some(SignatureFrom::File(file)),
                name: Some(name.clone()),
                version: Some(version.clone()),
                ..Admission::default()
            },
            &[&k],
        )
        .unwrap();
        assert_eq!(gate.policies()[0].name(), name);
    }

    #[test]
    fn bad_signatures_and_other_names_are_refused() {
        let (name, version) = reported();
        let (k, rogue) = (key(), key());
        let source = sanctions();
        // By a key not trusted.
        let e = refusal(build(
            source.clone(),
            signed(&source, &rogue, &name, &version),
            &[&k],
        ));
        assert!(
            matches!(
                e,
                AdmissionError::SignatureRefused(SignError::BadSignature { .. })
            ),
            "{e}"
        );
        assert!(e.to_string().contains("no trusted key"), "{e}");
        // Over other bytes.
        let mut other = signed(&source, &k, &name, &version);
        if let Some(SignatureFrom::Given(sig)) = &mut other.signature {
            sig.sha256 = [9; 32];
        }
        let e = refusal(build(source.clone(), other, &[&k]));
        assert!(e.to_string().contains("sha256 mismatch"), "{e}");
        // Validly signed as another version: refused once compiled.
        let e = refusal(build(
            source.clone(),
            signed(&source, &k, &name, "9.9.9"),
            &[&k],
        ));
        assert!(matches!(e, AdmissionError::SignedAsOther { .. }), "{e}");
        assert!(e.to_string().contains("signed as sanctions 9.9.9"), "{e}");
        // Expected under another name.
        let e = refusal(
            Gate::builder()
                .admitted_policy(
                    source,
                    Mode::Enforce,
                    Admission {
                        name: Some("velocity".into()),
                        ..Admission::default()
                    },
                )
                .build()
                .map(|(g, _)| g),
        );
        assert!(
            matches!(e, AdmissionError::Unexpected { what: "name", .. }),
            "{e}"
        );
    }

    #[test]
    fn a_component_of_another_world_is_refused_even_when_signed() {
        let k = key();
        let source = PolicySource {
            origin: "empty.wat".into(),
            bytes: std::sync::Arc::from(&b"(component)"[..]),
            config: "{}".into(),
            fuel: None,
        };
        // Unsigned: refused before it is compiled.
        match build(source.clone(), Admission::default(), &[&k]) {
            Err(GateError::Admission {
                source: AdmissionError::Unsigned,
                ..
            }) => {}
            Err(e) => panic!("expected unsigned, got {e}"),
            Ok(_) => panic!("admitted"),
        }
        // Signed: admitted, then refused for its world.
        match build(source.clone(), signed(&source, &k, "empty", "1"), &[&k]) {
            Err(GateError::Policy {
                origin,
                source: e @ LoadError::WrongWorld(_),
            }) => {
                assert_eq!(origin, "empty.wat");
                assert!(e.to_string().contains("gate-policy"), "{e}");
            }
            Err(e) => panic!("expected a wrong world, got {e}"),
            Ok(_) => panic!("admitted"),
        }
    }
}
