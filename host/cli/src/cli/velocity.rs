//! `--velocity` backends and `riskgate velocity release|stats`.

use clap::{Args, Subcommand};
use riskgate::velocity::{
    DurableError, DurableOptions, DurableStore, RedisStore, Store, Velocity, key_text,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Where velocity state lives.
#[derive(Args, Clone)]
pub struct VelocityArgs {
    /// Velocity state: a directory (the embedded durable store, created if
    /// missing; survives crashes), `redis://HOST:PORT[/DB][?prefix=…]` (shared
    /// by many gate nodes) or `memory` (lost on exit). Default: the durable
    /// store in $XDG_STATE_HOME/riskgate/velocity or
    /// ~/.local/state/riskgate/velocity.
    #[arg(
        long = "velocity",
        value_name = "DIR|redis://…|memory",
        env = "RISKGATE_VELOCITY"
    )]
    pub velocity: Option<String>,
}

/// The default durable store: `$XDG_STATE_HOME/riskgate/velocity`, else
/// `$HOME/.local/state/riskgate/velocity`.
pub fn default_dir() -> Option<PathBuf> {
    let state = match std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?)
            .join(".local")
            .join("state"),
    };
    Some(state.join("riskgate").join("velocity"))
}

impl VelocityArgs {
    /// The store asked for, or the default durable store.
    fn spec(&self) -> Result<String, String> {
        match &self.velocity {
            Some(spec) => Ok(spec.clone()),
            None => default_dir()
                .map(|d| d.display().to_string())
                .ok_or_else(|| {
                    "no velocity store: give --velocity DIR|redis://…|memory \
                     (neither XDG_STATE_HOME nor HOME is set for the default)"
                        .to_string()
                }),
        }
    }

    pub(super) fn is_memory(&self) -> bool {
        self.velocity.as_deref() == Some("memory")
    }

    /// Opens the backend; the error is one line for the load-failure exit.
    pub fn open(&self) -> Result<Arc<Velocity>, String> {
        self.open_store().map_err(|e| e.to_string())
    }

    /// Opens the backend, telling a durable store's directory held by
    /// another process (a running `serve`) apart.
    pub fn open_store(&self) -> Result<Arc<Velocity>, OpenError> {
        if self.is_memory() {
            return Ok(Arc::new(Velocity::default()));
        }
        let spec = self.spec().map_err(OpenError::Other)?;
        if spec.starts_with("redis://") {
            let store = RedisStore::open(&spec).map_err(|e| OpenError::Other(e.to_string()))?;
            // An unreachable server is not a load failure: every decision
            // holds (gate.velocity_unavailable) until it answers.
            match store.ping() {
                Ok(()) => tracing::info!("velocity store {}", store.describe()),
                Err(e) => eprintln!("warning: {e}; decisions hold until it answers"),
            }
            return Ok(Arc::new(Velocity::new(Arc::new(store))));
        }
        if spec.contains("://") {
            return Err(OpenError::Other(format!(
                "velocity store `{spec}`: only redis:// URLs are supported (a directory, redis://HOST:PORT or memory)"
            )));
        }
        let dir = PathBuf::from(&spec);
        let (store, report) =
            DurableStore::open(&dir, durable_options().map_err(OpenError::Other)?).map_err(
                |e| match e {
                    DurableError::Locked { path } => OpenError::Locked(path),
                    e => OpenError::Other(e.to_string()),
                },
            )?;
        tracing::info!(
            "velocity store {}: {} records in {} segments replayed in {:.1} ms ({} decisions, {} keys)",
            dir.display(),
            report.records,
            report.segments,
            report.took.as_secs_f64() * 1e3,
            report.decisions,
            report.keys
        );
        if let Some(why) = &report.checkpoint_refused {
            eprintln!("warning: {why}; it was moved aside and the whole log replayed");
        }
        if report.truncated_tail > 0 {
            eprintln!(
                "warning: velocity store {}: dropped {} bytes of a record cut short by a crash",
                dir.display(),
                report.truncated_tail
            );
        }
        Ok(Arc::new(Velocity::new(Arc::new(store))))
    }
}

/// Why a velocity store did not open.
#[derive(Debug)]
pub enum OpenError {
    /// The durable store's directory is locked by another process.
    Locked(PathBuf),
    Other(String),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Locked(path) => write!(
                f,
                "velocity store {} is in use by another process",
                path.display()
            ),
            OpenError::Other(e) => f.write_str(e),
        }
    }
}

/// The durable store's settings: the defaults, with
/// `RISKGATE_VELOCITY_CHECKPOINT_EVERY` (records between two automatic
/// checkpoints, 0 for none) when set.
fn durable_options() -> Result<DurableOptions, String> {
    let mut options = DurableOptions::default();
    if let Some(every) = std::env::var_os("RISKGATE_VELOCITY_CHECKPOINT_EVERY") {
        options.checkpoint_every =
            every.to_str().and_then(|v| v.parse().ok()).ok_or_else(|| {
                format!(
                    "RISKGATE_VELOCITY_CHECKPOINT_EVERY={}: expected a number of records",
                    every.to_string_lossy()
                )
            })?;
    }
    Ok(options)
}

#[derive(Args)]
pub struct VelocityCmd {
    #[command(subcommand)]
    command: VelocityCommand,
    #[command(flatten)]
    store: VelocityArgs,
}

#[derive(Subcommand)]
enum VelocityCommand {
    /// Remove a withdrawal's contribution (cancelled, or failed on chain)
    /// and its recorded decision. Exit 1 when the id is unknown.
    Release {
        /// The withdrawal id.
        id: String,
    },
    /// Print what is recorded under one key as JSON.
    Stats {
        /// Scope of the key.
        #[arg(value_enum)]
        scope: ScopeArg,
        /// The key's parts: ACCOUNT (account), ACCOUNT ASSET (account-asset),
        /// CHAIN DESTINATION (destination), ACCOUNT CHAIN DESTINATION
        /// (account-destination), ASSET (asset). The destination is
        /// canonicalised as the gate does.
        parts: Vec<String>,
    },
    /// Write a checkpoint of a durable store now (the gate also writes one
    /// every million records): the next open loads it and replays only the
    /// log after it. Prints what was written as JSON.
    Checkpoint,
}

#[derive(clap::ValueEnum, Clone, Copy)]
enum ScopeArg {
    Account,
    AccountAsset,
    Destination,
    AccountDestination,
    Asset,
}

fn destination(chain: &str, address: &str) -> String {
    let canonical = riskgate::address::canonicalize(chain, address);
    let text = match &canonical {
        Ok(c) => c.as_str(),
        Err(_) => address.trim(),
    };
    format!("{chain}/{text}")
}

fn key_for(scope: ScopeArg, parts: &[String]) -> Result<String, String> {
    let p: Vec<&str> = parts.iter().map(String::as_str).collect();
    let key = match (scope, p.as_slice()) {
        (ScopeArg::Account, [account]) => key_text(&["acct", account]),
        (ScopeArg::AccountAsset, [account, asset]) => key_text(&["acct-asset", account, asset]),
        (ScopeArg::Destination, [chain, address]) => {
            key_text(&["dest", &destination(chain, address)])
        }
        (ScopeArg::AccountDestination, [account, chain, address]) => {
            key_text(&["acct-dest", account, &destination(chain, address)])
        }
        (ScopeArg::Asset, [asset]) => key_text(&["asset", asset]),
        _ => return Err("wrong number of key parts for this scope (see --help)".to_string()),
    };
    Ok(key)
}

fn checkpoint(store: &VelocityArgs) -> anyhow::Result<ExitCode> {
    let spec = match store.spec() {
        Ok(spec) if !spec.contains("://") => spec,
        Ok(spec) => {
            return Ok(super::check::load_error(
                "velocity",
                format!("`{spec}` is not a durable store directory: only those have checkpoints"),
            ));
        }
        Err(e) => return Ok(super::check::load_error("velocity", e)),
    };
    let options = match durable_options() {
        Ok(o) => o,
        Err(e) => return Ok(super::check::load_error("velocity", e)),
    };
    let result =
        DurableStore::open(Path::new(&spec), options).and_then(|(store, _)| store.checkpoint());
    match result {
        Ok(report) => {
            println!("{}", serde_json::to_string(&report)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(super::check::load_error("velocity", e)),
    }
}

pub fn run(cmd: VelocityCmd) -> anyhow::Result<ExitCode> {
    if cmd.store.is_memory() {
        return Ok(super::check::load_error(
            "velocity",
            "give the store with --velocity DIR (in-memory state does not outlive a command)",
        ));
    }
    if let VelocityCommand::Checkpoint = cmd.command {
        return checkpoint(&cmd.store);
    }
    let velocity = match cmd.store.open() {
        Ok(v) => v,
        Err(e) => return Ok(super::check::load_error("velocity", e)),
    };
    match cmd.command {
        // It opens the store itself.
        VelocityCommand::Checkpoint => unreachable!("checkpoint runs before the store is opened"),
        VelocityCommand::Release { id } => match velocity.release(&id) {
            Ok(released) => {
                println!("{}", serde_json::to_string(&released)?);
                Ok(ExitCode::SUCCESS)
            }
            Err(e @ riskgate::velocity::VelocityError::UnknownId(_)) => {
                eprintln!("error: {e}");
                Ok(ExitCode::FAILURE)
            }
            Err(e) => Ok(super::check::load_error("velocity", e)),
        },
        VelocityCommand::Stats { scope, parts } => {
            let key = match key_for(scope, &parts) {
                Ok(k) => k,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(super::EXIT_USAGE));
                }
            };
            let stats = velocity
                .store()
                .key_stats(&key)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{}",
                serde_json::json!({ "key": key, "store": velocity.store().describe(), "stats": stats })
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
