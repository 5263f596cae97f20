//! `riskgate bench`: decision latency and throughput against native Rust.

use super::EngineArgs;
use anyhow::Context as _;
use clap::Args;
use riskgate_bench::{self as bench, BenchConfig};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct BenchArgs {
    /// Withdrawals in the stream.
    #[arg(long, default_value_t = 200_000)]
    withdrawals: usize,
    /// Synthetic addresses in the designated set.
    #[arg(long, default_value_t = 1_000_000)]
    set_size: usize,
    /// Interleaved rounds (the first is a warm-up).
    #[arg(long, default_value_t = 40)]
    rounds: usize,
    /// Threads of the N-thread throughput runs (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Throughput runs of each contender on 1 and on N threads,
    /// interleaved; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Seed of the stream and the set.
    #[arg(long, default_value_t = 2025)]
    seed: u64,
    /// A quick smoke run (small set and stream; figures are not meaningful).
    #[arg(long)]
    quick: bool,
    /// The Extism peer: `auto` builds it from `bench/extism/` (the first
    /// build takes minutes) unless `--quick`; `on` builds it even then; `off`
    /// leaves it out; anything else is the path of a built peer binary.
    #[arg(long, default_value = "auto", value_name = "auto|on|off|PATH")]
    extism: String,
    /// Write the report as one JSON document to FILE (`-`: stdout, instead
    /// of the table).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the report as a self-contained HTML page (charts inline) to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let mut config = BenchConfig {
        set_size: args.set_size,
        withdrawals: args.withdrawals,
        rounds: args.rounds,
        threads: args.threads,
        runs: args.runs,
        quick: args.quick,
        seed: args.seed,
        limits: args.engine.limits(),
        cache_dir: args.engine.cache_dir(),
        extism: None,
    };
    if args.quick {
        config.set_size = config.set_size.min(20_000);
        config.withdrawals = config.withdrawals.min(4_000);
        config.rounds = config.rounds.min(4);
    }
    config.extism = match args.extism.as_str() {
        "off" => None,
        "auto" if args.quick => None,
        "auto" | "on" => {
            eprintln!(
                "riskgate bench: building the Extism peer (bench/extism; minutes the first time)"
            );
            match bench::peer::build() {
                Ok(path) => Some(path),
                Err(why) if args.extism == "auto" => {
                    eprintln!("riskgate bench: the Extism peer is left out: {why}");
                    None
                }
                Err(why) => anyhow::bail!(why),
            }
        }
        path => Some(path.into()),
    };
    let mut report = bench::run(&config)?;
    report.process_start_ms =
        process_start(&args.engine, if args.quick { 1 } else { 7 })?.map(|d| d.as_secs_f64() * 1e3);
    if let Some(path) = &args.html {
        std::fs::write(path, bench::html::render(&report))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let json_to_stdout = args.json.as_deref() == Some(std::path::Path::new("-"));
    match &args.json {
        Some(_) if json_to_stdout => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", report.to_json())?;
        }
        Some(path) => std::fs::write(path, report.to_json() + "\n")
            .with_context(|| format!("writing {}", path.display()))?,
        None => {}
    }
    if !json_to_stdout {
        write!(std::io::stdout().lock(), "{}", report.render())?;
    }
    // A fault is held, so it disagrees; only an unexplained disagreement fails.
    Ok(if report.disagreements <= report.faults {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Median wall time of `riskgate check` deciding one withdrawal, from spawn
/// to its decision line on stdout (the first run fills the AOT cache).
fn process_start(engine: &EngineArgs, runs: usize) -> anyhow::Result<Option<Duration>> {
    let Some(cache) = engine.cache_dir() else {
        return Ok(None);
    };
    let exe = std::env::current_exe()?;
    let line = br#"{"id":"w-1","account":"acct-1","asset":"ETH","chain":"ethereum","destination":"0x52908400098527886E0F7030069857D2E4169EE7","amount":1000,"decimals":18,"usd_cents":300,"requested_at":1795564800000,"destination_first_used_at":1790000000000}"#;
    let mut times = Vec::new();
    for i in 0..=runs {
        let started = Instant::now();
        let mut child = Command::new(&exe)
            .args([
                "check",
                "--velocity",
                "memory",
                "--no-clock-check",
                "--cache-dir",
            ])
            .arg(&cache)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(line)?;
            stdin.write_all(b"\n")?;
        }
        let mut stdout = child.stdout.take().expect("piped");
        let mut first = [0u8; 1];
        std::io::Read::read_exact(&mut stdout, &mut first)?;
        let elapsed = started.elapsed();
        std::io::copy(&mut stdout, &mut std::io::sink())?;
        child.wait()?;
        if i > 0 {
            times.push(elapsed);
        }
    }
    times.sort();
    Ok(times.get(times.len() / 2).copied())
}
