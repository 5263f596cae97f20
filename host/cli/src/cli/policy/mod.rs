//! `riskgate policy …`: the policy author's commands.
//!
//! - `new`, `build`, `test`, `sdk`: make a policy crate, build it into a
//!   checked component, run its fixtures on the component;
//! - `keygen`, `sign`, `verify`: ed25519 signatures of policy components
//!   (`riskgate::signing`). Every failure of these three is one `error: …`
//!   line on stderr and exit status 1.

mod build;
mod new;
mod sdk;
mod test;

use super::EngineArgs;
use clap::{Args, Subcommand};
use riskgate::signing::{self, PolicySignature};
use riskgate::{Gate, PolicySource};
use sha2::{Digest, Sha256};
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args)]
pub struct PolicyCmd {
    #[command(subcommand)]
    command: PolicyCommand,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Build a policy crate for wasm32-unknown-unknown into a checked
    /// component; print its path, name, version, world and sha256.
    Build(build::BuildArgs),
    /// Run fixture files (TOML: a withdrawal, the host's answers, the
    /// expected verdict and reasons) on a component in the real host; exit 1
    /// when a case fails. Without --policy, builds the policy crate first.
    Test(test::TestArgs),
    /// Write a standalone policy crate to start from (any directory):
    /// policy, configuration, fixtures, property tests, README.
    New(new::NewArgs),
    /// Write the SDK crates this binary carries (riskgate-guest,
    /// riskgate-testkit, riskgate-address) and print where; a policy crate's
    /// `[patch.crates-io]` points there until they are published.
    Sdk {
        /// Directory to write (default: in riskgate's cache directory).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Make a key pair: KEY (the secret key, mode 0600) and KEY.pub (the
    /// public key). Existing files are never overwritten.
    Keygen {
        /// The secret key file to create; the public key goes to KEY.pub.
        #[arg(long, value_name = "KEY")]
        out: PathBuf,
    },
    /// Sign a component: its sha256 with the name and version it reports
    /// (read from its `riskgate-policy-info` section, else asked of its
    /// `info` export; it is never configured unless --config is given).
    /// Writes FILE.sig.
    Sign(SignArgs),
    /// Check a component against its signature and trusted public keys;
    /// prints `ok: NAME VERSION sha256 … signed by KEYID`, else exit 1.
    Verify(VerifyArgs),
}

#[derive(Args)]
struct SignArgs {
    /// The secret key file (`riskgate policy keygen`).
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
    /// The signature file to write (default FILE.sig).
    #[arg(long, value_name = "SIG")]
    out: Option<PathBuf>,
    /// The policy component.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Also check that the policy accepts this configuration (JSON text,
    /// or @FILE) before signing.
    #[arg(long, value_name = "JSON|@FILE")]
    config: Option<String>,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Args)]
struct VerifyArgs {
    /// A trusted public key file (KEY.pub, or 64 hex characters in a file).
    /// Repeatable: any of them may have signed.
    #[arg(long = "pubkey", value_name = "PUB", required = true)]
    pubkeys: Vec<PathBuf>,
    /// The signature file (default FILE.sig).
    #[arg(long, value_name = "SIG")]
    signature: Option<PathBuf>,
    /// The policy component.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Also check that the policy accepts this configuration (JSON text,
    /// or @FILE).
    #[arg(long, value_name = "JSON|@FILE")]
    config: Option<String>,
    #[command(flatten)]
    engine: EngineArgs,
}

/// Reports a failure on one line and gives exit status 1.
fn fail(e: impl Display) -> ExitCode {
    let message = e
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

pub fn run(cmd: PolicyCmd) -> anyhow::Result<ExitCode> {
    let result = match cmd.command {
        PolicyCommand::Keygen { out } => keygen(&out),
        PolicyCommand::Sign(args) => sign(&args),
        PolicyCommand::Verify(args) => verify(&args),
        PolicyCommand::Build(args) => return build::run(&args).map(|()| ExitCode::SUCCESS),
        PolicyCommand::Test(args) => return test::run(&args),
        PolicyCommand::New(args) => return new::run(&args).map(|()| ExitCode::SUCCESS),
        PolicyCommand::Sdk { dir } => {
            let dir = match dir {
                Some(dir) => dir,
                None => sdk::default_dir()?,
            };
            println!("{}", sdk::write(&dir)?.display());
            return Ok(ExitCode::SUCCESS);
        }
    };
    Ok(result.unwrap_or_else(fail))
}

fn keygen(secret: &Path) -> Result<ExitCode, String> {
    let public = signing::public_key_path(secret);
    // Refuse before writing either file.
    for path in [secret, public.as_path()] {
        if path.symlink_metadata().is_ok() {
            return Err(signing::SignError::Exists(path.to_path_buf()).to_string());
        }
    }
    let key = signing::keygen().map_err(|e| e.to_string())?;
    signing::write_secret_key(secret, &key).map_err(|e| e.to_string())?;
    if let Err(e) = signing::write_public_key(&public, &key.verifying_key()) {
        // No secret key without its public half.
        let _ = std::fs::remove_file(secret);
        return Err(e.to_string());
    }
    println!("key id  {}", signing::key_id(&key.verifying_key()));
    println!("secret  {}", secret.display());
    println!("public  {}", public.display());
    Ok(ExitCode::SUCCESS)
}

/// A loaded component: its name, version and sha256 as the gate sees them.
struct Loaded {
    name: String,
    version: String,
    sha256: [u8; 32],
}

/// The component's bytes and their sha256.
fn read_component(path: &Path) -> Result<(Vec<u8>, [u8; 32]), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let sha256 = Sha256::digest(&bytes).into();
    Ok((bytes, sha256))
}

/// The configuration given as JSON text or `@FILE`.
fn config_text(config: &str) -> Result<String, String> {
    match config.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}")),
        None => Ok(config.to_string()),
    }
}

/// The component's name and version, learnt without running it: from its
/// `riskgate-policy-info` section (`riskgate policy build` and the SDK
/// write one; the gate checks at load that the policy reports the same),
/// else by the checks of loading and its `info` export, without configuring
/// it ([`riskgate::inspect::inspect`]). With `config`, the policy is also
/// loaded as the gate loads it, with that configuration, which it must
/// accept.
fn load(
    path: &Path,
    bytes: Vec<u8>,
    sha256: &[u8; 32],
    config: Option<&str>,
    engine: &EngineArgs,
) -> Result<Loaded, String> {
    let shown = |e: &dyn Display| format!("{}: {e}", path.display());
    let section = if bytes.starts_with(b"\0asm") {
        if bytes.get(4..8) == Some(&[1, 0, 0, 0]) {
            return Err(shown(&riskgate::LoadError::CoreModule));
        }
        riskgate::policy_info::read_policy_info(&bytes).map_err(|e| shown(&e))?
    } else {
        None
    };
    let (name, version) = match section {
        Some(info) => (info.name, info.version),
        None => {
            let runtime = riskgate::engine::Runtime::new(engine.limits()).map_err(|e| shown(&e))?;
            let info = riskgate::inspect::inspect(&runtime, &bytes).map_err(|e| shown(&e))?;
            (info.name, info.version)
        }
    };
    if let Some(config) = config {
        let source = PolicySource {
            origin: path.display().to_string(),
            bytes: Arc::from(bytes),
            config: config_text(config)?,
            fuel: None,
        };
        let gate = Gate::builder()
            .policy(source)
            .limits(engine.limits())
            .cache_dir(engine.cache_dir())
            .build()
            .map(|(gate, _)| gate)
            .map_err(|e| match e {
                riskgate::GateError::Policy { origin, source } => format!("{origin}: {source}"),
                e => e.to_string(),
            })?;
        let policy = &gate.policies()[0];
        if policy.sha256() != *sha256 {
            return Err(format!(
                "{}: the loaded component's sha256 {} is not the file's {}",
                path.display(),
                hex::encode(policy.sha256()),
                hex::encode(sha256)
            ));
        }
    }
    Ok(Loaded {
        name,
        version,
        sha256: *sha256,
    })
}

fn sign(args: &SignArgs) -> Result<ExitCode, String> {
    let key = signing::read_secret_key(&args.key).map_err(|e| e.to_string())?;
    let (bytes, sha256) = read_component(&args.file)?;
    let loaded = load(
        &args.file,
        bytes,
        &sha256,
        args.config.as_deref(),
        &args.engine,
    )?;
    let signature = signing::sign(&key, &loaded.sha256, &loaded.name, &loaded.version);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| signing::signature_path(&args.file));
    signature.write(&out).map_err(|e| e.to_string())?;
    println!("name       {}", loaded.name);
    println!("version    {}", loaded.version);
    println!("sha256     {}", hex::encode(loaded.sha256));
    println!("key id     {}", signature.key_id);
    println!("signature  {}", out.display());
    Ok(ExitCode::SUCCESS)
}

fn verify(args: &VerifyArgs) -> Result<ExitCode, String> {
    let trusted = args
        .pubkeys
        .iter()
        .map(|p| signing::read_public_key(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let sig_path = args
        .signature
        .clone()
        .unwrap_or_else(|| signing::signature_path(&args.file));
    let signature = PolicySignature::read(&sig_path).map_err(|e| e.to_string())?;
    let (bytes, sha256) = read_component(&args.file)?;
    let what = |e: signing::SignError| format!("{}: {e}", args.file.display());
    // The bytes first, against what the signature claims: a component that
    // is not the one signed is never compiled or run.
    signature
        .verify(&trusted, &sha256, &signature.name, &signature.version)
        .map_err(what)?;
    // Then the name and version the component really reports.
    let loaded = load(
        &args.file,
        bytes,
        &sha256,
        args.config.as_deref(),
        &args.engine,
    )?;
    let key_id = signature
        .verify(&trusted, &loaded.sha256, &loaded.name, &loaded.version)
        .map_err(what)?;
    println!(
        "ok: {} {} sha256 {} signed by {key_id}",
        loaded.name,
        loaded.version,
        hex::encode(loaded.sha256)
    );
    Ok(ExitCode::SUCCESS)
}
