//! Builds riskgate policy crates into WebAssembly components.
//!
//! Used from build scripts (the host's bundled policies, the tests' hostile
//! guests) in the spirit of wasmtime's test-programs artifacts: a nested
//! `cargo rustc --target wasm32-unknown-unknown --crate-type cdylib` into its own target
//! directory, then `wit-component` turns each core module into a component.
//! The `wasm32-unknown-unknown` target is installed through rustup when it
//! is missing, so a fresh machine needs nothing but the stable toolchain.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The guest target. `wasm32-wasip2` would drag in WASI imports, which the
/// host refuses.
pub const TARGET: &str = "wasm32-unknown-unknown";

/// One built component.
#[derive(Debug, Clone)]
pub struct Component {
    /// Cargo package name.
    pub package: String,
    /// Path of the encoded component.
    pub path: PathBuf,
}

/// Builds `packages` (members of the workspace at `workspace_root`) and
/// writes `<package>.wasm` components into `out_dir`.
///
/// Intended to be called from a build script: it prints the
/// `cargo:rerun-if-changed` lines for the guest sources.
pub fn build_components(
    workspace_root: &Path,
    packages: &[(&str, &str)],
    out_dir: &Path,
) -> Result<Vec<Component>> {
    for dir in ["wit", "guest/src", "guest/Cargo.toml", "Cargo.lock"] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace_root.join(dir).display()
        );
    }
    for (_, dir) in packages {
        println!(
            "cargo:rerun-if-changed={}",
            workspace_root.join(dir).display()
        );
    }
    let names: Vec<&str> = packages.iter().map(|(p, _)| *p).collect();
    build(
        &workspace_root.join("Cargo.toml"),
        &names,
        &guest_target_dir(out_dir),
        out_dir,
    )
}

/// One policy crate built by [`build_crate`].
#[derive(Debug, Clone)]
pub struct BuiltCrate {
    /// Name of the crate's library target (`my_policy` for `my-policy`).
    pub lib_name: String,
    /// The core module cargo wrote.
    pub core_module: PathBuf,
    /// The encoded component's bytes.
    pub component: Vec<u8>,
}

/// Builds the policy crate of the manifest at `manifest_path` (a
/// standalone crate or a workspace member) for `wasm32-unknown-unknown`
/// and encodes its library as a component. For tools (`riskgate policy
/// build`): it prints nothing for cargo, unlike [`build_components`];
/// cargo's own progress goes to this process's stderr. `release` builds
/// the release profile with the bundled policies' settings (opt-level 3,
/// LTO, abort on panic); `target_dir` defaults to the crate's own. The
/// library is built as a `cdylib` only (`cargo rustc --crate-type cdylib`),
/// so a crate that is also an `rlib` for its tests keeps LTO.
pub fn build_crate(
    manifest_path: &Path,
    release: bool,
    target_dir: Option<&Path>,
) -> Result<BuiltCrate> {
    ensure_target()?;
    let mut cmd = guest_cargo();
    cmd.arg("rustc")
        .arg("--target")
        .arg(TARGET)
        .arg("--manifest-path")
        .arg(manifest_path)
        .arg("--lib")
        .arg("--crate-type")
        .arg("cdylib")
        .arg("--message-format=json-render-diagnostics")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit());
    if release {
        cmd.arg("--release");
    }
    if let Some(dir) = target_dir {
        cmd.arg("--target-dir").arg(dir);
    }
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "`cargo rustc --target {TARGET}` of {} failed ({})",
            manifest_path.display(),
            out.status
        );
    }
    let manifest = std::fs::canonicalize(manifest_path)
        .with_context(|| format!("{}", manifest_path.display()))?;
    let mut found: Option<(String, PathBuf)> = None;
    for line in out.stdout.split(|&b| b == b'\n') {
        let Ok(message) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact"
            || message["manifest_path"].as_str().map(Path::new) != Some(manifest.as_path())
        {
            continue;
        }
        let wasm = message["filenames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str())
            .find(|f| f.ends_with(".wasm"));
        if let Some(wasm) = wasm {
            let lib_name = message["target"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            found = Some((lib_name, PathBuf::from(wasm)));
        }
    }
    let Some((lib_name, core_module)) = found else {
        bail!(
            "{} built no WebAssembly library: a policy crate has a `[lib]` \
             (`crate-type = [\"cdylib\", \"rlib\"]`)",
            manifest_path.display()
        );
    };
    let bytes = std::fs::read(&core_module)
        .with_context(|| format!("reading core module {}", core_module.display()))?;
    let component = encode_component(&bytes).with_context(|| {
        format!(
            "encoding {} as a component (does the crate export its policy with \
             `riskgate_guest::export_policy!`?)",
            core_module.display()
        )
    })?;
    Ok(BuiltCrate {
        lib_name,
        core_module,
        component,
    })
}

/// Name of the custom section carrying a policy's name and version, as
/// UTF-8 JSON `{"name":"…","version":"…"}`: the SDK's export macro writes
/// one into the core module, and [`with_policy_info`] one at the
/// component's top level, so tools learn them without running the policy.
pub const POLICY_INFO_SECTION: &str = "riskgate-policy-info";

/// `component` with a top-level [`POLICY_INFO_SECTION`] custom section
/// appended (a custom section may follow any other).
pub fn with_policy_info(component: &[u8], name: &str, version: &str) -> Vec<u8> {
    let data = serde_json::json!({ "name": name, "version": version }).to_string();
    let mut section = wasm_encoder::Component::new();
    section.section(&wasm_encoder::CustomSection {
        name: POLICY_INFO_SECTION.into(),
        data: data.as_bytes().into(),
    });
    let encoded = section.finish();
    // `finish` writes the 8-byte component header first.
    let mut out = component.to_vec();
    out.extend_from_slice(&encoded[8..]);
    out
}

/// Builds `packages` of the manifest at `manifest_path` in `target_dir`
/// and encodes each as `<package>.wasm` in `out_dir`.
fn build(
    manifest_path: &Path,
    packages: &[&str],
    target_dir: &Path,
    out_dir: &Path,
) -> Result<Vec<Component>> {
    ensure_target()?;

    // One `cargo rustc` per package, building its library as a `cdylib`
    // only: a crate that is also an `rlib` (to share its policy type with
    // native tests) would otherwise be built without LTO, which rustc does
    // not run when an rlib is among the outputs.
    for package in packages {
        let mut cmd = guest_cargo();
        cmd.arg("rustc")
            .arg("--release")
            .arg("--target")
            .arg(TARGET)
            .arg("--manifest-path")
            .arg(manifest_path)
            .arg("--target-dir")
            .arg(target_dir)
            .arg("-p")
            .arg(package)
            .arg("--lib")
            .arg("--crate-type")
            .arg("cdylib");
        let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
        if !status.success() {
            bail!("building guest components failed ({status}): {cmd:?}");
        }
    }

    std::fs::create_dir_all(out_dir)?;
    let mut built = Vec::new();
    for package in packages {
        let core = target_dir
            .join(TARGET)
            .join("release")
            .join(format!("{}.wasm", package.replace('-', "_")));
        let bytes = std::fs::read(&core)
            .with_context(|| format!("reading core module {}", core.display()))?;
        let component = encode_component(&bytes)
            .with_context(|| format!("encoding {} as a component", core.display()))?;
        let path = out_dir.join(format!("{package}.wasm"));
        if std::fs::read(&path).ok().as_deref() != Some(component.as_slice()) {
            std::fs::write(&path, &component)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        built.push(Component {
            package: package.to_string(),
            path,
        });
    }
    Ok(built)
}

/// A `cargo` command for a guest build: the outer build's flags removed,
/// the guests' profile set.
fn guest_cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    // The outer build's flags and wrappers (clippy, coverage, host RUSTFLAGS)
    // are for the host target, not for guests.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        // The outer build's lock: a nested build in the same build
        // directory would wait on it for ever.
        "CARGO_BUILD_BUILD_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    for (key, _) in std::env::vars_os() {
        if let Some(k) = key.to_str()
            && k.starts_with("CARGO_PROFILE_")
        {
            cmd.env_remove(k);
        }
    }
    // Fast guests: a 64 KiB shadow stack, optimised for speed (opt-level 3:
    // a clean decision of the bundled policies burns 24% and 13% less fuel
    // than at opt-level s, for components 40% larger), LTO, abort on panic.
    cmd.env(
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
        "-C link-arg=-zstack-size=65536",
    )
    .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "3")
    .env("CARGO_PROFILE_RELEASE_LTO", "true")
    .env("CARGO_PROFILE_RELEASE_PANIC", "abort")
    .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
    .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
    .env("CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS", "true")
    .env("CARGO_PROFILE_RELEASE_INCREMENTAL", "false");
    cmd
}

/// Encodes a core module carrying wit-bindgen's component-type section as a
/// component, validating the result.
pub fn encode_component(core_module: &[u8]) -> Result<Vec<u8>> {
    wit_component::ComponentEncoder::default()
        .module(core_module)?
        .validate(true)
        .encode()
}

/// Installs the guest target through rustup when the toolchain lacks it.
fn ensure_target() -> Result<()> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .context("running rustc --print sysroot")?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if sysroot.join("lib/rustlib").join(TARGET).exists() {
        return Ok(());
    }
    println!("cargo:warning=installing the {TARGET} target with rustup");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .context("the wasm32-unknown-unknown target is missing and rustup could not be run")?;
    if !status.success() {
        bail!("`rustup target add {TARGET}` failed ({status})");
    }
    Ok(())
}

/// A target directory shared by every build script of the workspace and by
/// every host profile, so the guests are compiled once: `<target>/wasm-guests`
/// where `<target>` is found from `OUT_DIR` (cargo marks it with
/// `CACHEDIR.TAG`).
fn guest_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(|target| target.join("wasm-guests"))
        .unwrap_or_else(|| out_dir.join("wasm-guests"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds the bundled sanctions policy as a tool would, in the guest
    /// target directory the build scripts share (so usually nothing is
    /// recompiled), and checks the component and its policy-info section.
    #[test]
    fn build_crate_makes_a_component_with_its_policy_info() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let exe = std::env::current_exe().unwrap();
        let target_dir = guest_target_dir(&exe);
        let built = build_crate(
            &root.join("policies/sanctions/Cargo.toml"),
            true,
            Some(&target_dir),
        )
        .unwrap();
        assert_eq!(built.lib_name, "riskgate_policy_sanctions");
        assert!(built.core_module.starts_with(&target_dir));
        let bytes = built.component;
        // A component (layer 1), not a core module.
        assert_eq!(&bytes[..8], b"\0asm\x0d\0\x01\0");
        let info = br#"riskgate-policy-info{"name":"sanctions","version":""#;
        assert!(
            bytes.windows(info.len()).any(|w| w == info),
            "the policy-info section is in the component"
        );
    }

    #[test]
    fn a_crate_that_does_not_exist_is_an_error() {
        let out = tempfile::tempdir().unwrap();
        let e = build_crate(
            &out.path().join("Cargo.toml"),
            true,
            Some(&out.path().join("target")),
        )
        .unwrap_err();
        assert!(e.to_string().contains("failed"), "{e:#}");
    }

    #[test]
    fn the_policy_info_section_goes_after_the_component() {
        let bytes = with_policy_info(b"\0asm\x0d\0\x01\0", "limit", "0.1.0");
        let name = POLICY_INFO_SECTION.as_bytes();
        assert_eq!(bytes[8], 0, "a custom section");
        assert_eq!(usize::from(bytes[10]), name.len());
        assert_eq!(&bytes[11..11 + name.len()], name);
        assert!(bytes.ends_with(br#"{"name":"limit","version":"0.1.0"}"#));
    }
}
