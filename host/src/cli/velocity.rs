//! `--velocity` backends and `riskgate velocity release|stats`.

use clap::{Args, Subcommand};
use riskgate::velocity::{DurableOptions, DurableStore, RedisStore, Store, Velocity, key_text};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Where velocity state lives.
#[derive(Args, Clone)]
pub struct VelocityArgs {
    /// Velocity state: a directory (the embedded durable store, created if
    /// missing; survives crashes), `redis://HOST:PORT[/DB][?prefix=…]` (shared
    /// by many gate nodes) or `memory` (lost on exit).
    #[arg(
        long = "velocity",
        value_name = "DIR|redis://…|memory",
        default_value = "memory"
    )]
    pub velocity: String,
}

impl VelocityArgs {
    /// Opens the backend; the error is one line for the load-failure exit.
    pub fn open(&self) -> Result<Arc<Velocity>, String> {
        if self.velocity == "memory" {
            return Ok(Arc::new(Velocity::default()));
        }
        if self.velocity.starts_with("redis://") {
            let store = RedisStore::open(&self.velocity)?;
            // An unreachable server is not a load failure: every decision
            // holds (gate.velocity_unavailable) until it answers.
            match store.ping() {
                Ok(()) => tracing::info!("velocity store {}", store.describe()),
                Err(e) => eprintln!("warning: {e}; decisions hold until it answers"),
            }
            return Ok(Arc::new(Velocity::new(Arc::new(store))));
        }
        if self.velocity.contains("://") {
            return Err(format!(
                "velocity store `{}`: only redis:// URLs are supported (a directory, redis://HOST:PORT or memory)",
                self.velocity
            ));
        }
        let dir = PathBuf::from(&self.velocity);
        let (store, report) =
            DurableStore::open(&dir, DurableOptions::default()).map_err(|e| e.to_string())?;
        tracing::info!(
            "velocity store {}: {} records in {} segments replayed in {:.1} ms ({} decisions, {} keys)",
            dir.display(),
            report.records,
            report.segments,
            report.took.as_secs_f64() * 1e3,
            report.decisions,
            report.keys
        );
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

pub fn run(cmd: VelocityCmd) -> anyhow::Result<ExitCode> {
    if cmd.store.velocity == "memory" {
        return Ok(super::check::load_error(
            "velocity",
            "give the store with --velocity DIR (in-memory state does not outlive a command)",
        ));
    }
    let velocity = match cmd.store.open() {
        Ok(v) => v,
        Err(e) => return Ok(super::check::load_error("velocity", e)),
    };
    match cmd.command {
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
