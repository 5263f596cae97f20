//! `riskgate policy build`: a policy crate to a checked component.
//!
//! Builds the crate for `wasm32-unknown-unknown` (the target is installed
//! through rustup when missing), encodes its `cdylib` as a component, runs
//! the admission checks of loading (size, header, compilation, imports,
//! world, `info`), writes the component with a top-level
//! `riskgate-policy-info` section (so `sign` and `verify` read the name and
//! version without running it) and prints where it is and what it is.

use super::EngineArgs;
use anyhow::{Context, Result, bail};
use clap::Args;
use riskgate::engine::Runtime;
use riskgate::inspect::{self, Inspected};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Args)]
pub struct BuildArgs {
    /// The policy crate's Cargo.toml (default: the one cargo finds from
    /// the current directory).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Build the release profile (opt-level 3, LTO, abort on panic):
    /// what to ship.
    #[arg(long)]
    pub release: bool,
    /// Where to write the component (default:
    /// `<target-dir>/riskgate/<package>.wasm`).
    #[arg(short = 'o', long = "out", value_name = "OUT.wasm")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// A crate as cargo describes it.
pub struct CrateInfo {
    pub manifest_path: PathBuf,
    pub package: String,
    pub target_dir: PathBuf,
}

impl CrateInfo {
    /// Where `policy build` writes the component by default.
    pub fn default_component(&self) -> PathBuf {
        self.target_dir
            .join("riskgate")
            .join(format!("{}.wasm", self.package))
    }
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// The package of `manifest_path` (else of the nearest Cargo.toml) and its
/// target directory, from `cargo metadata`.
pub fn locate(manifest_path: Option<&Path>) -> Result<CrateInfo> {
    let manifest = match manifest_path {
        Some(path) => std::fs::canonicalize(path)
            .with_context(|| format!("no policy crate manifest at {}", path.display()))?,
        None => {
            let out = cargo()
                .args(["locate-project", "--message-format", "plain"])
                .output()
                .context("running `cargo locate-project` (is cargo on PATH?)")?;
            if !out.status.success() {
                bail!(
                    "no Cargo.toml in this directory or above: run in a policy crate (`riskgate policy new NAME` makes one) or give --manifest-path"
                );
            }
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        }
    };
    let out = cargo()
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .context("running `cargo metadata`")?;
    if !out.status.success() {
        bail!(
            "`cargo metadata` failed for {}: {}",
            manifest.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reading `cargo metadata` output")?;
    let package = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| {
            p["manifest_path"]
                .as_str()
                .is_some_and(|m| Path::new(m) == manifest)
        })
        .and_then(|p| p["name"].as_str())
        .with_context(|| {
            format!(
                "{} is a workspace manifest, not a policy crate's: give the policy's --manifest-path",
                manifest.display()
            )
        })?
        .to_string();
    let target_dir = metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("`cargo metadata` gave no target_directory")?;
    Ok(CrateInfo {
        manifest_path: manifest,
        package,
        target_dir,
    })
}

/// A component built and checked.
pub struct Built {
    pub path: PathBuf,
    pub info: Inspected,
    pub sha256: [u8; 32],
    pub size: usize,
}

/// Builds, checks and writes the component of the crate at `krate`.
pub fn build(
    krate: &CrateInfo,
    release: bool,
    out: Option<&Path>,
    engine: &EngineArgs,
) -> Result<Built> {
    let built = riskgate_guest_build::build_crate(&krate.manifest_path, release, None)?;
    let runtime = Runtime::new(engine.limits()).context("starting the wasm engine")?;
    let info = inspect::inspect(&runtime, &built.component).map_err(|e| {
        anyhow::anyhow!(
            "{} built, but is not a riskgate policy: {e}",
            built.core_module.display()
        )
    })?;
    // The SDK's export macro writes the section into the core module; a
    // component made otherwise gets one at its top level.
    let bytes = match riskgate::policy_info::read_policy_info(&built.component) {
        Ok(Some(section)) if section.name == info.name && section.version == info.version => {
            built.component
        }
        Ok(Some(section)) => bail!(
            "{}: its riskgate-policy-info section says {} {}, its info export {} {}",
            built.core_module.display(),
            section.name,
            section.version,
            info.name,
            info.version
        ),
        Ok(None) => {
            riskgate_guest_build::with_policy_info(&built.component, &info.name, &info.version)
        }
        Err(e) => bail!("{}: {e}", built.core_module.display()),
    };
    let path = out.map_or_else(|| krate.default_component(), Path::to_path_buf);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    riskgate::storage::write_atomic(&path, &bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(Built {
        path,
        info,
        sha256: Sha256::digest(&bytes).into(),
        size: bytes.len(),
    })
}

pub fn run(args: &BuildArgs) -> Result<()> {
    let krate = locate(args.manifest_path.as_deref())?;
    let built = build(&krate, args.release, args.out.as_deref(), &args.engine)?;
    print_built(&built);
    Ok(())
}

pub fn print_built(built: &Built) {
    println!("component  {}", built.path.display());
    println!("name       {}", built.info.name);
    println!("version    {}", built.info.version);
    println!("world      {}", built.info.world);
    println!("sha256     {}", hex::encode(built.sha256));
    println!("size       {} bytes", built.size);
}
