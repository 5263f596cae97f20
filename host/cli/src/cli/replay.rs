//! `riskgate replay`: re-decide a decision log through a candidate chain
//! and report the differences (see `riskgate_replay`).

use super::EXIT_USAGE;
use anyhow::Context;
use clap::Args;
use riskgate::gate::Mode;
use riskgate_replay::{Candidate, Options, PolicyArg};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct ReplayArgs {
    /// Decision log directories (their rotated files in order, then
    /// decisions.jsonl) or files, replayed in the order given.
    #[arg(long, required = true, num_args = 1.., value_name = "DIR|FILE")]
    log: Vec<PathBuf>,
    /// A candidate policy, enforced: `bundled:NAME` or FILE.wasm, each
    /// optionally `=CONFIG.json`. Repeatable, in chain order. Without any
    /// (nor --candidate): each decision's own recorded chain.
    #[arg(long = "policy", value_name = "SPEC[=CONFIG]")]
    policies: Vec<String>,
    /// A candidate policy in shadow mode (runs, never decides), same form
    /// as --policy; placed after the --policy ones.
    #[arg(long = "shadow-policy", value_name = "SPEC[=CONFIG]")]
    shadow_policies: Vec<String>,
    /// A serve configuration file whose policies (modes, configurations,
    /// fuel) and limits are the candidate; the sets stay the log's.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["policies", "shadow_policies"])]
    candidate: Option<PathBuf>,
    /// The serve configuration file the log was written under: supplies
    /// what an older log's generation records lack (each policy's
    /// configuration and fuel, the limits).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Set files of the lists the log names, matched by name and version:
    /// compiled set files (`riskgate lists import -o`) or NAME=FILE for any
    /// list format. The bundled sample list needs none.
    #[arg(long, num_args = 1.., value_name = "[NAME=]FILE")]
    lists: Vec<String>,
    /// Replay even when a list the log names has no set file given (those
    /// decisions are not screened against it; the report says so).
    #[arg(long)]
    allow_missing_lists: bool,
    /// Accept a set file of another version than the log names.
    #[arg(long)]
    allow_list_mismatch: bool,
    /// Decisions within this long of the first one (by requested_at) only
    /// warm the velocity history and are not compared: 30m, 6h, 1d...
    #[arg(long, value_name = "DURATION")]
    warmup: Option<String>,
    /// Write the report as one self-contained HTML page.
    #[arg(long, value_name = "REPORT.html")]
    html: Option<PathBuf>,
    /// Print the report as JSON (every changed decision) instead of text.
    #[arg(long)]
    json: bool,
    /// Changed decisions listed in the text report.
    #[arg(long, default_value_t = 20, value_name = "N")]
    max_listed: usize,
    /// Exit with status 1 when any decision changed (for CI).
    #[arg(long)]
    fail_on_change: bool,
    /// AOT cache directory (default: $RISKGATE_CACHE_DIR, $XDG_CACHE_HOME/riskgate or ~/.cache/riskgate).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile every policy afresh; do not read or write the AOT cache.
    #[arg(long)]
    no_cache: bool,
}

fn split_list(spec: &str) -> (Option<String>, PathBuf) {
    match spec.split_once('=') {
        Some((name, file)) if !Path::new(spec).exists() => {
            (Some(name.to_string()), PathBuf::from(file))
        }
        _ => (None, PathBuf::from(spec)),
    }
}

pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let warmup_ms = match args
        .warmup
        .as_deref()
        .map(riskgate_replay::parse_duration_ms)
    {
        None => 0,
        Some(Ok(ms)) => ms,
        Some(Err(e)) => {
            eprintln!("error: --warmup {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let candidate = match (
        &args.candidate,
        args.policies.is_empty() && args.shadow_policies.is_empty(),
    ) {
        (Some(file), _) => Candidate::Config(file.clone()),
        (None, true) => Candidate::Recorded,
        (None, false) => Candidate::Policies(
            args.policies
                .iter()
                .map(|s| PolicyArg::parse(s, Mode::Enforce))
                .chain(
                    args.shadow_policies
                        .iter()
                        .map(|s| PolicyArg::parse(s, Mode::Shadow)),
                )
                .collect(),
        ),
    };
    let options = Options {
        logs: args.log,
        candidate,
        config: args.config,
        lists: args.lists.iter().map(|s| split_list(s)).collect(),
        allow_missing_lists: args.allow_missing_lists,
        allow_list_mismatch: args.allow_list_mismatch,
        warmup_ms,
        cache_dir: if args.no_cache {
            None
        } else {
            args.cache_dir.or_else(riskgate::cache::default_dir)
        },
    };
    // A replay that cannot run exits 2, so that 1 means "changed" under
    // --fail-on-change.
    let report = match riskgate_replay::replay(&options) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    if let Some(path) = &args.html {
        std::fs::write(path, riskgate_replay::html::render(&report))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text(args.max_listed));
        if let Some(path) = &args.html {
            println!("report written to {}", path.display());
        }
    }
    Ok(if args.fail_on_change && report.any_change() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
