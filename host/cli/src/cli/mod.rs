//! Command-line interface: argument parsing and the subcommands.

mod address;
mod bench;
mod check;
mod demo;
mod endpoint;
mod holds;
mod lists;
mod load;
mod policy;
mod replay;
mod serve;
mod velocity;

use clap::{Args, Parser, Subcommand};
use riskgate::engine::Limits;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Exit status for a policy or list that cannot be loaded.
pub const EXIT_LOAD: u8 = 2;
/// Exit status for arguments that make no sense together.
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "riskgate",
    version,
    about = "Withdrawal risk gate: allow, hold or deny, with reasons"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decide withdrawals read as JSON lines; print one decision per line.
    Check(check::CheckArgs),
    /// Print the canonical form of an address, or why it is invalid.
    Address(address::AddressArgs),
    /// Run a realistic synthetic stream through the bundled policies and summarise.
    Demo(demo::DemoArgs),
    /// Import, inspect, query and diff designated lists.
    Lists(lists::ListsArgs),
    /// Measure decision latency and throughput against the same checks in native Rust.
    Bench(bench::BenchArgs),
    /// Serve the gate over HTTP: POST /v1/evaluate and the rest (see README).
    Serve(serve::ServeArgs),
    /// Drive a running `riskgate serve` with withdrawals and report throughput and latency.
    Load(load::LoadArgs),
    /// Release a withdrawal's contribution, or inspect a key, in a velocity store.
    Velocity(velocity::VelocityCmd),
    /// List, show, approve and reject held withdrawals (through a running
    /// serve with --url, or on a velocity store).
    Holds(holds::HoldsCmd),
    /// Sign and verify policy components (ed25519).
    Policy(policy::PolicyCmd),
    /// Re-decide a decision log through a candidate chain and report what changed.
    Replay(replay::ReplayArgs),
}

/// Engine options shared by the commands that run policies.
#[derive(Args, Clone)]
pub struct EngineArgs {
    /// Fuel of one policy call (executed wasm instructions, about): the
    /// deterministic budget; a call that uses it up is held with
    /// `gate.fuel_exhausted`.
    #[arg(long, default_value_t = riskgate::engine::DEFAULT_FUEL, value_name = "FUEL")]
    pub fuel: u64,
    /// Wall-clock backstop of one policy call, in microseconds: far above
    /// what a call within its fuel takes; it holds with
    /// `gate.deadline_backstop`.
    #[arg(long, default_value_t = riskgate::engine::DEFAULT_DEADLINE.as_micros() as u64, value_name = "MICROS")]
    pub deadline_us: u64,
    /// Memory cap of one policy instance, in MiB.
    #[arg(long, default_value_t = 16, value_name = "MIB")]
    pub memory_mib: usize,
    /// AOT cache directory (default: $RISKGATE_CACHE_DIR, $XDG_CACHE_HOME/riskgate or ~/.cache/riskgate).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile every policy afresh; do not read or write the AOT cache.
    #[arg(long)]
    pub no_cache: bool,
}

impl EngineArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            deadline: Duration::from_micros(self.deadline_us),
            memory: self.memory_mib.saturating_mul(1 << 20),
            fuel: self.fuel,
        }
    }

    pub fn cache_dir(&self) -> Option<PathBuf> {
        if self.no_cache {
            None
        } else {
            self.cache_dir.clone().or_else(riskgate::cache::default_dir)
        }
    }
}

pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RISKGATE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Address(args) => address::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Lists(args) => lists::run(args),
        Command::Velocity(args) => velocity::run(args),
        Command::Holds(args) => holds::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Policy(args) => policy::run(args),
        Command::Load(args) => load::run(args),
        Command::Replay(args) => replay::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
