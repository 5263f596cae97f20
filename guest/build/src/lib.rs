//! Builds riskgate policy crates into WebAssembly components.
//!
//! Used from build scripts (the host's bundled policies, the tests' hostile
//! guests) in the spirit of wasmtime's test-programs artifacts: a nested
//! `cargo build --target wasm32-unknown-unknown` into its own target
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
    ensure_target()?;

    let target_dir = guest_target_dir(out_dir);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--target")
        .arg(TARGET)
        .arg("--manifest-path")
        .arg(workspace_root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    for (package, _) in packages {
        cmd.arg("-p").arg(package);
    }
    guest_env(&mut cmd, true);

    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("building guest components failed ({status}): {cmd:?}");
    }

    std::fs::create_dir_all(out_dir)?;
    let mut built = Vec::new();
    for (package, _) in packages {
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

/// Prepares `cmd` (a `cargo build --target wasm32-unknown-unknown`) for a
/// guest build: the outer build's flags and wrappers removed, a 64 KiB
/// shadow stack, and with `optimise` the release profile the bundled
/// policies use (size-optimised, LTO, abort on panic, overflow checks on).
fn guest_env(cmd: &mut Command, optimise: bool) {
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
    cmd.env(
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
        "-C link-arg=-zstack-size=65536",
    );
    if optimise {
        cmd.env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "s")
            .env("CARGO_PROFILE_RELEASE_LTO", "true")
            .env("CARGO_PROFILE_RELEASE_PANIC", "abort")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
            .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
            .env("CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS", "true")
            .env("CARGO_PROFILE_RELEASE_INCREMENTAL", "false");
    }
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

/// Builds the policy crate at `manifest_path` (a standalone crate or a
/// workspace member: the package of that manifest) for
/// `wasm32-unknown-unknown` and encodes its `cdylib` as a component.
/// `release` builds the release profile with the bundled policies'
/// settings. Cargo's own output goes to this process's stderr.
pub fn build_crate(manifest_path: &Path, release: bool) -> Result<BuiltCrate> {
    ensure_target()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--target")
        .arg(TARGET)
        .arg("--manifest-path")
        .arg(manifest_path)
        .arg("--lib")
        .arg("--message-format=json-render-diagnostics")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit());
    if release {
        cmd.arg("--release");
    }
    guest_env(&mut cmd, release);
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "`cargo build --target {TARGET}` of {} failed ({})",
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
        let kinds = message["target"]["crate_types"].as_array();
        if !kinds.is_some_and(|k| k.iter().any(|k| k == "cdylib")) {
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
            "{} built no `cdylib` for {TARGET}: a policy crate needs `[lib] crate-type = [\"cdylib\"]` \
             (with \"rlib\" too for tests in tests/)",
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

/// Encodes a core module carrying wit-bindgen's component-type section as a
/// component, validating the result.
pub fn encode_component(core_module: &[u8]) -> Result<Vec<u8>> {
    wit_component::ComponentEncoder::default()
        .module(core_module)?
        .validate(true)
        .encode()
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
