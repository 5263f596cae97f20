//! `docs/policy-authors.md` cannot rot: its `sh` blocks run here, in order,
//! in one `bash -euo pipefail` in an empty directory, exactly as written,
//! with this build's `riskgate` first on PATH. That is the whole policy
//! author's path: `policy new`, `build`, `test` (and a wrong fixture
//! failing), `cargo test` of the new crate, `check --explain`, `replay`,
//! `sign` and `verify`.
//!
//! The new crate's dependencies come from crates.io (and the SDK copy the
//! binary writes); its builds share `target/policy-authors`, so a second
//! run is warm.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_riskgate");
const DOC: &str = include_str!("../../../../docs/policy-authors.md");

/// The `sh` fenced blocks of a Markdown page, in order.
pub fn sh_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_end() == "```sh" => current = Some(String::new()),
            Some(block) if line.trim_end() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "an unclosed sh block");
    blocks
}

/// The workspace's target directory (this test binary is in `<target>/<profile>/deps`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .find(|d| d.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| std::env::temp_dir().join("riskgate-policy-authors"))
}

#[test]
fn the_page_has_the_whole_path() {
    let script = sh_blocks(DOC).join("\n");
    for command in [
        "riskgate policy new",
        "riskgate policy build",
        "riskgate policy test",
        "cargo test",
        "riskgate check",
        "--explain",
        "riskgate replay",
        "riskgate policy sign",
        "riskgate policy verify",
    ] {
        assert!(
            script.contains(command),
            "docs/policy-authors.md runs no `{command}`"
        );
    }
}

#[test]
fn the_policy_authors_page_runs_as_written() {
    let work = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let script = format!("set -euo pipefail\n{}", sh_blocks(DOC).join("\n"));
    let mut cmd = Command::new("bash");
    // The outer cargo's settings are not the new crate's.
    for (key, _) in std::env::vars_os() {
        if let Some(k) = key.to_str()
            && (k.starts_with("CARGO_") && k != "CARGO_HOME"
                || k == "RUSTFLAGS"
                || k == "RUSTC_WRAPPER")
        {
            cmd.env_remove(k);
        }
    }
    cmd.arg("-c")
        .arg(&script)
        .current_dir(work.path())
        .env("PATH", path)
        // The SDK copy and the AOT cache: this test's own.
        .env("RISKGATE_CACHE_DIR", work.path().join(".cache"))
        .env("CARGO_TARGET_DIR", target_dir().join("policy-authors"))
        .env_remove("RISKGATE_LOG");
    let out = cmd.output().expect("bash runs");
    assert!(
        out.status.success(),
        "docs/policy-authors.md failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn blocks_are_found() {
    let md = "text\n```sh\na\nb\n```\n```toml\nx\n```\n```sh\nc\n```\n";
    assert_eq!(sh_blocks(md), vec!["a\nb\n".to_string(), "c\n".to_string()]);
}

/// The repository root (fixtures of the bundled policies).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn riskgate(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("RISKGATE_CACHE_DIR", dir.join(".cache"))
        .env_remove("RISKGATE_LOG")
        .output()
        .expect("riskgate runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn policy_test_runs_fixtures_on_a_component_and_fails_on_a_wrong_one() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("sanctions.wasm");
    std::fs::write(&wasm, riskgate::bundled::SANCTIONS).unwrap();
    let fixtures = repo().join("policies/sanctions/fixtures/sanctions.toml");
    let (code, out, err) = riskgate(
        dir.path(),
        &[
            "policy",
            "test",
            "--policy",
            "sanctions.wasm",
            fixtures.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let cases = out.lines().filter(|l| l.starts_with("case ")).count();
    assert!(cases >= 5, "{out}");
    assert!(out.lines().all(|l| !l.ends_with("FAILED")), "{out}");
    assert!(
        out.contains(&format!("test result: ok. {cases} passed, 0 failed")),
        "{out}"
    );

    // One right case and one wrong one: exit 1, the wrong one's expected
    // against got, and a JUnit report saying the same.
    std::fs::write(
        dir.path().join("wrong.toml"),
        r#"
[[list]]
name = "ofac-sdn"
version = "1"
chain = "ethereum"
addresses = ["0x098b716b8aaf21512996dc57eb0615e2383e2f96"]

[[case]]
name = "listed is denied"
withdrawal = { destination = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96" }
expect = { verdict = "deny", reasons = ["sanctions.hit"] }

[[case]]
name = "listed is allowed (wrong on purpose)"
withdrawal = { destination = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96" }
expect = { verdict = "allow" }
"#,
    )
    .unwrap();
    let (code, out, err) = riskgate(
        dir.path(),
        &[
            "policy",
            "test",
            "--policy",
            "sanctions.wasm",
            "wrong.toml",
            "--junit",
            "report.xml",
        ],
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("case wrong.toml :: listed is denied ... ok"),
        "{out}"
    );
    assert!(
        out.contains("case wrong.toml :: listed is allowed (wrong on purpose) ... FAILED"),
        "{out}"
    );
    assert!(out.contains("expected: allow"), "{out}");
    assert!(out.contains("got:      deny [sanctions.hit]"), "{out}");
    assert!(
        out.contains("test result: FAILED. 1 passed, 1 failed"),
        "{out}"
    );
    let junit = std::fs::read_to_string(dir.path().join("report.xml")).unwrap();
    assert!(
        junit.contains(
            r#"<testsuites name="riskgate policy test" tests="2" failures="1" errors="0">"#
        ),
        "{junit}"
    );
    assert!(
        junit.contains(r#"<testcase name="listed is denied" classname="wrong.toml""#),
        "{junit}"
    );
    assert_eq!(junit.matches("<failure ").count(), 1, "{junit}");

    // --config replaces every case's configuration: one the policy refuses
    // makes every case fail, never pass.
    let (code, out, _) = riskgate(
        dir.path(),
        &[
            "policy",
            "test",
            "--policy",
            "sanctions.wasm",
            "wrong.toml",
            "--config",
            r#"{"lists": []}"#,
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("0 passed, 2 failed"), "{out}");
}

#[test]
fn policy_new_refuses_bad_names_and_occupied_directories() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["Limit", "gate", "1x", "a b"] {
        let (code, _, err) = riskgate(dir.path(), &["policy", "new", bad]);
        assert_eq!(code, 1, "{bad}: {err}");
        assert!(err.contains("is not a policy name"), "{bad}: {err}");
    }
    std::fs::create_dir(dir.path().join("taken")).unwrap();
    std::fs::write(dir.path().join("taken/keep.txt"), "mine").unwrap();
    let (code, _, err) = riskgate(dir.path(), &["policy", "new", "taken"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("exists and is not empty"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("taken/keep.txt")).unwrap(),
        "mine"
    );

    // A good name: the crate and the SDK it is patched to.
    let (code, out, err) = riskgate(
        dir.path(),
        &["policy", "new", "limit-usd", "--dir", "crates/limit"],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let manifest = std::fs::read_to_string(dir.path().join("crates/limit/Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"limit-usd\""), "{manifest}");
    let lib = std::fs::read_to_string(dir.path().join("crates/limit/src/lib.rs")).unwrap();
    assert!(
        lib.contains("pub struct LimitUsd") && lib.contains("\"limit-usd.large\""),
        "{lib}"
    );
    assert!(!lib.contains("{{"), "every placeholder is filled:\n{lib}");
    assert!(
        dir.path()
            .join("crates/limit/fixtures/limit-usd.toml")
            .is_file()
    );
    let patch = manifest
        .split("[patch.crates-io]")
        .nth(1)
        .expect("a patch section");
    for krate in ["riskgate-guest", "riskgate-testkit"] {
        let line = patch
            .lines()
            .find(|l| l.starts_with(krate))
            .unwrap_or_else(|| panic!("{krate}: {patch}"));
        let path = line.split('"').nth(1).unwrap();
        assert!(Path::new(path).join("Cargo.toml").is_file(), "{line}");
        assert!(Path::new(path).join("src/lib.rs").is_file(), "{line}");
    }
}
