//! `riskgate check`: JSON lines in, one decision per line out.

use super::{EXIT_LOAD, EngineArgs};
use anyhow::Context;
use clap::Args;
use riskgate::screening::{DEFAULT_FP_RATE, DesignatedSet, Screener};
use riskgate::{Gate, PolicySource, Withdrawal, bundled};
use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Longest input line accepted, in bytes.
const MAX_LINE: usize = 64 << 10;

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    gate: GateArgs,
    /// Input file of JSON lines, or `-` for stdin.
    #[arg(long, default_value = "-", value_name = "FILE|-")]
    input: String,
}

/// What the gate is built from (`check` and `serve`).
#[derive(Args)]
pub struct GateArgs {
    /// A policy component, optionally with its JSON config: FILE.wasm[=CONFIG.json].
    /// Repeatable; runs in the order given. Default: the bundled policies.
    #[arg(long = "policy", value_name = "FILE[=CONFIG]")]
    policies: Vec<String>,
    /// A designated list: NAME=FILE, where FILE is a plain list (one address
    /// per line, `#` comments) or a compiled set file (`riskgate lists import
    /// -o`), served as NAME; a bare FILE for a compiled set keeps the name in
    /// its header. Repeatable. Default: the bundled sample list.
    #[arg(long = "list", value_name = "[NAME=]FILE")]
    lists: Vec<String>,
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    velocity: super::velocity::VelocityArgs,
    /// Largest distance, in ms, between a withdrawal's requested_at and this
    /// host's clock; farther ones are held with `gate.clock_skew`.
    #[arg(long, default_value_t = 300_000, value_name = "MS")]
    max_clock_skew_ms: u64,
    /// Do not compare requested_at with this host's clock (replaying a
    /// recorded or synthetic stream).
    #[arg(long, env = "RISKGATE_NO_CLOCK_CHECK")]
    no_clock_check: bool,
}

/// Reports a load failure on one line and gives the load exit status.
pub(super) fn load_error(what: &str, e: impl std::fmt::Display) -> ExitCode {
    let message = format!("{e}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("error: {what}: {message}");
    ExitCode::from(EXIT_LOAD)
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let gate = match args.gate.build() {
        Ok(gate) => gate,
        Err(code) => return Ok(code),
    };
    let reader: Box<dyn BufRead> = if args.input == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(&args.input).with_context(|| format!("opening {}", args.input))?,
        ))
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let failed = process(&gate, reader, &mut out)?;
    out.flush()?;
    Ok(if failed > 0 {
        eprintln!("{failed} input line(s) could not be decided");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

impl GateArgs {
    /// The gate, or the exit status of a load failure (reported).
    pub fn build(&self) -> Result<Gate, ExitCode> {
        let args = self;
        let mut sources = Vec::new();
        for spec in &args.policies {
            // FILE=CONFIG, unless the whole argument names a file (paths may hold `=`).
            let (file, config) = match spec.split_once('=') {
                Some((file, config)) if !std::path::Path::new(spec).exists() => {
                    (file, Some(config))
                }
                _ => (spec.as_str(), None),
            };
            let bytes = match std::fs::read(file) {
                Ok(b) => b,
                Err(e) => return Err(load_error(file, e)),
            };
            let config = match config {
                Some(path) => match std::fs::read_to_string(path) {
                    Ok(c) => c,
                    Err(e) => return Err(load_error(file, format!("config {path}: {e}"))),
                },
                None => "{}".to_string(),
            };
            sources.push(PolicySource {
                origin: file.to_string(),
                bytes: Arc::from(bytes),
                config,
            });
        }
        if sources.is_empty() {
            sources = bundled::policies();
        }

        let screener = if args.lists.is_empty() {
            bundled::sample_screener()
        } else {
            let mut sets = Vec::new();
            for spec in &args.lists {
                // NAME=FILE, unless the whole argument names a file (paths may
                // hold `=`); a bare compiled set file keeps its header's name.
                let (name, file) = match spec.split_once('=') {
                    Some((name, file)) if !std::path::Path::new(spec).exists() => {
                        (Some(name), file)
                    }
                    _ => (None, spec.as_str()),
                };
                let path = PathBuf::from(file);
                if super::lists::is_compiled_file(&path) {
                    let set = match super::lists::open_compiled_as(&path, name) {
                        Ok(s) => s,
                        Err(e) => return Err(load_error(file, e)),
                    };
                    eprintln!(
                        "list {}: {} addresses loaded from compiled set (version {})",
                        set.name(),
                        set.len(),
                        set.version()
                    );
                    sets.push(set);
                    continue;
                }
                let Some(name) = name else {
                    return Err(load_error(
                        spec,
                        "a list is given as NAME=FILE (or FILE for a compiled set)",
                    ));
                };
                let (set, skipped) =
                    match DesignatedSet::from_plain_file(name, &path, DEFAULT_FP_RATE) {
                        Ok(r) => r,
                        Err(e) => return Err(load_error(file, e)),
                    };
                for s in &skipped {
                    eprintln!(
                        "warning: {file}:{}: skipped `{}`: {}",
                        s.line, s.text, s.reason
                    );
                }
                eprintln!(
                    "list {name}: {} addresses loaded, {} skipped",
                    set.len(),
                    skipped.len()
                );
                sets.push(set);
            }
            Screener::new(sets)
        };

        let velocity = match args.velocity.open() {
            Ok(v) => v,
            Err(e) => return Err(load_error("velocity", e)),
        };
        let skew = (!args.no_clock_check).then(|| Duration::from_millis(args.max_clock_skew_ms));
        let builder = sources
            .into_iter()
            .fold(Gate::builder(), |b, s| b.policy(s))
            .limits(args.engine.limits())
            .cache_dir(args.engine.cache_dir())
            .screener(screener)
            .velocity(velocity)
            .max_clock_skew(skew);
        match builder.build() {
            Ok((gate, _)) => Ok(gate),
            Err(riskgate::GateError::Policy { origin, source }) => Err(load_error(&origin, source)),
            Err(e) => Err(load_error("gate", e)),
        }
    }
}

/// Decides every line; returns how many lines failed.
fn process(
    gate: &Gate,
    mut reader: Box<dyn BufRead>,
    out: &mut impl Write,
) -> anyhow::Result<usize> {
    let mut failed = 0;
    let mut line_no = 0usize;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = std::io::Read::take(&mut reader, MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .context("reading input")?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if buf.len() > MAX_LINE && !buf.ends_with(b"\n") {
            // Skip the rest of the oversized line.
            let mut sink = Vec::new();
            reader
                .read_until(b'\n', &mut sink)
                .context("reading input")?;
            failed += 1;
            error_record(
                out,
                line_no,
                None,
                &format!("line longer than {MAX_LINE} bytes"),
            )?;
            continue;
        }
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.trim(),
            Err(_) => {
                failed += 1;
                error_record(out, line_no, None, "line is not valid UTF-8")?;
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<Withdrawal>(text) {
            Ok(w) => {
                let decision = gate.evaluate(&w);
                serde_json::to_writer(&mut *out, &decision)?;
                out.write_all(b"\n")?;
            }
            Err(e) => {
                failed += 1;
                let id = serde_json::from_str::<serde_json::Value>(text)
                    .ok()
                    .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_string));
                error_record(out, line_no, id.as_deref(), &e.to_string())?;
            }
        }
    }
    Ok(failed)
}

fn error_record(
    out: &mut impl Write,
    line: usize,
    id: Option<&str>,
    error: &str,
) -> anyhow::Result<()> {
    let mut record = serde_json::json!({ "line": line, "error": error });
    if let Some(id) = id {
        record["id"] = serde_json::Value::String(id.chars().take(128).collect());
    }
    serde_json::to_writer(&mut *out, &record)?;
    out.write_all(b"\n")?;
    Ok(())
}
