//! Builds the guest plug-in (../guest) for wasm32-unknown-unknown, in its
//! own target directory, and hands its path to the peer.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let guest = manifest.join("../guest");
    println!("cargo:rerun-if-changed={}", guest.join("src").display());
    println!(
        "cargo:rerun-if-changed={}",
        guest.join("Cargo.toml").display()
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    let target_dir = out.join("guest-target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let rustup_ok = Command::new("rustup")
        .args(["target", "add", "wasm32-unknown-unknown"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !rustup_ok {
        println!("cargo:warning=could not run `rustup target add wasm32-unknown-unknown`");
    }
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "--manifest-path",
        ])
        .arg(guest.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the Extism guest failed");
    let wasm = target_dir.join("wasm32-unknown-unknown/release/riskgate_extism_guest.wasm");
    println!("cargo:rustc-env=RISKGATE_EXTISM_GUEST={}", wasm.display());
}
