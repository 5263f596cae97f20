//! End-to-end tests of `riskgate policy keygen|sign|verify` on the bundled
//! components, run as a child process. Every sign and verify run uses an
//! AOT cache in the test's temporary directory, never the user's.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_riskgate");

/// Policy calls and `configure` get a second: these tests are about
/// signatures, not deadlines, and the machine may be loaded.
const ROOMY_DEADLINE_US: &str = "1000000";

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn expect(self, code: i32, what: &str) -> Run {
        assert!(
            !self.stderr.contains("panicked"),
            "{what}: riskgate panicked; stderr:\n{}",
            self.stderr
        );
        assert_eq!(
            self.code,
            Some(code),
            "{what}\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Exit 1 and exactly one stderr line, `error: ...` containing `needle`.
    fn expect_error(self, needle: &str, what: &str) -> Run {
        let r = self.expect(1, what);
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{what}: one-line error:\n{}", r.stderr);
        assert!(lines[0].starts_with("error: "), "{what}: {}", r.stderr);
        assert!(
            lines[0].contains(needle),
            "{what}: want {needle:?}: {}",
            r.stderr
        );
        r
    }
}

struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a bundled component (0: sanctions, 1: velocity) at `name`.
    fn component(&self, index: usize, name: &str) -> PathBuf {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, &riskgate::bundled::policies()[index].bytes).unwrap();
        path
    }

    fn run(&self, args: &[&str]) -> Run {
        let out: Output = Command::new(BIN)
            .args(args)
            .env_remove("RISKGATE_LOG")
            .output()
            .expect("riskgate runs");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `policy sign|verify` with the engine options every run gets.
    fn run_engine(&self, args: &[&str]) -> Run {
        let cache = self.path("cache");
        let mut all = args.to_vec();
        all.extend([
            "--cache-dir",
            cache.to_str().unwrap(),
            "--deadline-us",
            ROOMY_DEADLINE_US,
        ]);
        self.run(&all)
    }

    fn keygen(&self, name: &str) -> (PathBuf, PathBuf, String) {
        let key = self.path(name);
        let r = self
            .run(&["policy", "keygen", "--out", s(&key)])
            .expect(0, "keygen");
        let id = r
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("key id"))
            .expect("key id printed")
            .trim()
            .to_string();
        assert_eq!(id.len(), 16, "{}", r.stdout);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        let public = self.path(&format!("{name}.pub"));
        assert!(r.stdout.contains(s(&key)) && r.stdout.contains(s(&public)));
        (key, public, id)
    }
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn keygen_sign_verify() {
    let f = Fixture::new();
    let (key, public, id) = f.keygen("key");
    let secret_text = std::fs::read_to_string(&key).unwrap();
    assert!(secret_text.starts_with("riskgate-ed25519-secret "));
    assert!(
        std::fs::read_to_string(&public)
            .unwrap()
            .starts_with("riskgate-ed25519-public ")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "secret key mode");
    }

    let wasm = f.component(0, "sanctions.wasm");
    let sha = hex::encode(Sha256::digest(std::fs::read(&wasm).unwrap()));
    let r = f
        .run_engine(&["policy", "sign", "--key", s(&key), s(&wasm)])
        .expect(0, "sign");
    assert!(r.stdout.contains("sanctions"), "{}", r.stdout);
    assert!(r.stdout.contains(&sha), "{}", r.stdout);
    assert!(r.stdout.contains(&id), "{}", r.stdout);

    let sig_path = f.path("sanctions.wasm.sig");
    let sig: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sig_path).unwrap()).unwrap();
    assert_eq!(sig["format"], "riskgate-policy-signature-v1");
    assert_eq!(sig["name"], "sanctions");
    assert_eq!(sig["sha256"], sha.as_str());
    assert_eq!(sig["key_id"], id.as_str());
    assert_eq!(sig["signature"].as_str().unwrap().len(), 128);

    let r = f
        .run_engine(&["policy", "verify", "--pubkey", s(&public), s(&wasm)])
        .expect(0, "verify");
    let version = sig["version"].as_str().unwrap();
    assert_eq!(
        r.stdout.trim(),
        format!("ok: sanctions {version} sha256 {sha} signed by {id}")
    );

    // Another key alone is refused; among the trusted keys it does no harm.
    let (_, other_public, _) = f.keygen("other");
    f.run_engine(&["policy", "verify", "--pubkey", s(&other_public), s(&wasm)])
        .expect_error("no trusted key verifies", "verify with another key");
    f.run_engine(&[
        "policy",
        "verify",
        "--pubkey",
        s(&other_public),
        "--pubkey",
        s(&public),
        s(&wasm),
    ])
    .expect(0, "verify with two keys");

    // A tampered signature file.
    let forged = f.path("forged.sig");
    let mut v = sig.clone();
    v["version"] = serde_json::json!("9.9.9");
    std::fs::write(&forged, v.to_string()).unwrap();
    f.run_engine(&[
        "policy",
        "verify",
        "--pubkey",
        s(&public),
        "--signature",
        s(&forged),
        s(&wasm),
    ])
    .expect_error("no trusted key verifies", "verify a forged version");

    // A missing signature file.
    let lone = f.component(0, "lone/sanctions.wasm");
    f.run_engine(&["policy", "verify", "--pubkey", s(&public), s(&lone)])
        .expect_error("sanctions.wasm.sig", "verify without a signature");
}

#[test]
fn signature_of_another_component_refused() {
    let f = Fixture::new();
    let (key, public, _) = f.keygen("key");
    let a = f.component(0, "policy.wasm");
    let sig = f.path("a.sig");
    f.run_engine(&["policy", "sign", "--key", s(&key), "--out", s(&sig), s(&a)])
        .expect(0, "sign A");
    assert!(!f.path("policy.wasm.sig").exists(), "--out is honoured");
    let verify = [
        "policy",
        "verify",
        "--pubkey",
        s(&public),
        "--signature",
        s(&sig),
        s(&a),
    ];
    f.run_engine(&verify).expect(0, "verify A");

    // Component B (the other bundled policy) in A's place, with A's signature.
    let b = f.component(1, "policy.wasm");
    assert_eq!(a, b);
    f.run_engine(&verify)
        .expect_error("sha256 mismatch", "B with A's signature");
}

#[test]
fn keygen_refuses_to_overwrite() {
    let f = Fixture::new();
    let (key, public, _) = f.keygen("key");
    let secret_before = std::fs::read(&key).unwrap();
    let public_before = std::fs::read(&public).unwrap();
    f.run(&["policy", "keygen", "--out", s(&key)])
        .expect_error("already exists", "keygen over an existing key");
    assert_eq!(std::fs::read(&key).unwrap(), secret_before);
    assert_eq!(std::fs::read(&public).unwrap(), public_before);

    // An existing KEY.pub alone is refused too, and no secret is left behind.
    let lone_pub = f.path("lone.pub");
    std::fs::write(&lone_pub, "x").unwrap();
    f.run(&["policy", "keygen", "--out", s(&f.path("lone"))])
        .expect_error("already exists", "keygen over an existing KEY.pub");
    assert!(!f.path("lone").exists());
}
