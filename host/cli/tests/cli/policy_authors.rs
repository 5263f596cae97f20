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
