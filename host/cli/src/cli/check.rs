//! `riskgate check`: JSON lines in, one decision per line out.

use super::{EXIT_LOAD, EngineArgs};
use anyhow::Context;
use clap::Args;
use riskgate::velocity::Velocity;
use riskgate::{Gate, Withdrawal};
use riskgate_serve::config::{Built, Config, LimitsConfig, ListConfig, PolicyConfig};
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Longest input line accepted by default, in bytes (`--max-line-bytes`).
pub const MAX_LINE: usize = 1 << 20;

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    gate: GateArgs,
    /// Input file of JSON lines, or `-` for stdin.
    #[arg(long, default_value = "-", value_name = "FILE|-")]
    input: String,
    /// Longest input line, in bytes (without its newline): a longer line is
    /// reported as that line's error (and never held in memory whole).
    #[arg(long, default_value_t = MAX_LINE, value_name = "BYTES",
          value_parser = clap::value_parser!(usize))]
    max_line_bytes: usize,
    /// Explain each decision: its line gains an `explain` field with each
    /// policy's own verdict, reasons, fault, fuel, wall time and every host
    /// call it made with the host's answer (`riskgate::explain`). The
    /// decision itself is the same.
    #[arg(long)]
    explain: bool,
    /// Write the decision log in DIR, as `riskgate serve --decision-log`
    /// writes it (a generation record, then one record per decision):
    /// `riskgate replay` reads it.
    #[arg(long, value_name = "DIR")]
    decision_log: Option<PathBuf>,
}

/// What decides the lines: the gate, or the service in front of it that
/// also writes the decision log.
enum Decider {
    Gate(Box<Gate>),
    Service(Box<riskgate_serve::service::Service>),
}

impl Decider {
    fn decide(
        &self,
        w: Withdrawal,
        explain: bool,
    ) -> (riskgate::Decision, Option<riskgate::Explanation>) {
        match self {
            Decider::Gate(gate) if explain => {
                let (decision, explanation) = gate.evaluate_explained(&w);
                (decision, Some(explanation))
            }
            Decider::Gate(gate) => (gate.evaluate(&w), None),
            Decider::Service(service) => {
                let generation = service.current();
                let (mut decisions, explanations) =
                    service.evaluate_explained(&generation, std::slice::from_ref(&w), explain);
                let decision = decisions.pop().expect("one decision per withdrawal");
                (decision, explanations.and_then(|mut e| e.pop()))
            }
        }
    }
}

/// What the gate is built from (`check` and `serve`).
#[derive(Args)]
pub struct GateArgs {
    /// A policy component, optionally with its JSON config: FILE.wasm[=CONFIG.json].
    /// Repeatable; runs in the order given. Default: the bundled policies.
    #[arg(long = "policy", value_name = "FILE[=CONFIG]")]
    policies: Vec<String>,
    /// A designated list: NAME=FILE, where FILE is a list in any format
    /// `riskgate lists import` reads (plain, CSV, OFAC's files; gzip, xz or
    /// ZIP; detected from the content and imported as that command does) or
    /// a compiled set file (`riskgate lists import -o`), served as NAME; a
    /// bare FILE for a compiled set keeps the name in its header.
    /// Repeatable. Default: the bundled sample list.
    #[arg(long = "list", value_name = "[NAME=]FILE")]
    lists: Vec<String>,
    /// Start even when a designated list is empty (by default an empty set
    /// refuses the start).
    #[arg(long)]
    allow_empty_list: bool,
    /// Serve the valid lines of a plain or CSV list that has lines that are
    /// not addresses (each reported on stderr); by default such a list
    /// refuses the start.
    #[arg(long)]
    skip_invalid: bool,
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
    let decider = match &args.decision_log {
        None => match args.gate.build() {
            Ok(gate) => Decider::Gate(Box::new(gate)),
            Err(code) => return Ok(code),
        },
        Some(dir) => match args.gate.service(dir) {
            Ok(service) => Decider::Service(Box::new(service)),
            Err(code) => return Ok(code),
        },
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
    let failed = process(
        &decider,
        reader,
        &mut out,
        args.max_line_bytes,
        args.explain,
    )?;
    out.flush()?;
    Ok(if failed > 0 {
        eprintln!("{failed} input line(s) could not be decided");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

impl GateArgs {
    /// The configuration these flags describe (the same structure as a
    /// `serve --config` file).
    pub fn config(&self) -> Config {
        let mut config = Config::default();
        for spec in &self.policies {
            // FILE=CONFIG, unless the whole argument names a file (paths may hold `=`).
            let (file, settings) = match spec.split_once('=') {
                Some((file, settings)) if !Path::new(spec).exists() => (file, Some(settings)),
                _ => (spec.as_str(), None),
            };
            config.policies.push(PolicyConfig {
                path: Some(PathBuf::from(file)),
                config_file: settings.map(PathBuf::from),
                ..PolicyConfig::default()
            });
        }
        for spec in &self.lists {
            // NAME=FILE, unless the whole argument names a file (paths may
            // hold `=`); a bare compiled set file keeps its header's name.
            let (name, file) = match spec.split_once('=') {
                Some((name, file)) if !Path::new(spec).exists() => (Some(name), file),
                _ => (None, spec.as_str()),
            };
            config.lists.push(ListConfig {
                name: name.map(str::to_string),
                path: Some(PathBuf::from(file)),
                bundled: None,
                allow_empty: false,
                skip_invalid: false,
            });
        }
        config.allow_empty_list = self.allow_empty_list;
        config.skip_invalid = self.skip_invalid;
        config.velocity = self.velocity.velocity.clone();
        config.limits = LimitsConfig {
            deadline_us: self.engine.deadline_us,
            fuel: self.engine.fuel,
            memory_mib: self.engine.memory_mib,
            max_clock_skew_ms: if self.no_clock_check {
                0
            } else {
                self.max_clock_skew_ms.max(1)
            },
            parallel_calls: None,
        };
        config.cache_dir = self.engine.cache_dir.clone();
        config.no_cache = self.engine.no_cache;
        config
    }

    /// Whether any of the gate flags was given.
    pub fn any_given(&self) -> bool {
        !self.policies.is_empty()
            || !self.lists.is_empty()
            || self.velocity.velocity.is_some()
            || self.allow_empty_list
            || self.skip_invalid
    }

    /// The gate, or the exit status of a load failure (reported).
    pub fn build(&self) -> Result<Gate, ExitCode> {
        let config = self.config();
        let velocity = self
            .velocity
            .open()
            .map_err(|e| load_error("velocity", e))?;
        Ok(build_reported(&config, velocity)?.gate)
    }

    /// The gate behind a service that writes the decision log in `dir`, or
    /// the exit status of a load failure (reported).
    pub fn service(&self, dir: &Path) -> Result<riskgate_serve::service::Service, ExitCode> {
        use riskgate_serve::decision_log::{DecisionLog, LogOptions};
        let config = self.config();
        let velocity = self
            .velocity
            .open()
            .map_err(|e| load_error("velocity", e))?;
        let built = build_reported(&config, velocity.clone())?;
        let log =
            DecisionLog::open(&LogOptions::new(dir)).map_err(|e| load_error("decision log", e))?;
        riskgate_serve::service::Service::new(config, None, built, velocity, Some(log))
            .map_err(|e| load_error(&e.what, e.message))
    }
}

/// Builds `config` over `velocity`, reporting skipped list entries and the
/// lists loaded on stderr, and a failure as a load error.
pub(super) fn build_reported(config: &Config, velocity: Arc<Velocity>) -> Result<Built, ExitCode> {
    let built = config
        .build(velocity)
        .map_err(|e| load_error(&e.what, e.message))?;
    for w in &built.warnings {
        eprintln!("warning: {w}");
    }
    if !config.lists.is_empty() {
        for set in built.gate.screener().sets() {
            eprintln!(
                "list {}: {} keys loaded (version {})",
                set.name(),
                set.len(),
                set.version()
            );
        }
    }
    Ok(built)
}

/// Reads one line, without its newline, into `buf`; `None` at the end of
/// the input. A line longer than `max` bytes is read on in chunks and
/// discarded up to its newline: `Some(false)` (and `buf` left empty).
fn read_line_bounded(
    reader: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut any = false;
    let mut over = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(any.then_some(!over));
        }
        any = true;
        let newline = chunk.iter().position(|&b| b == b'\n');
        let content = &chunk[..newline.unwrap_or(chunk.len())];
        if !over {
            if buf.len() + content.len() > max {
                over = true;
                *buf = Vec::new();
            } else {
                buf.extend_from_slice(content);
            }
        }
        let used = newline.map_or(chunk.len(), |i| i + 1);
        reader.consume(used);
        if newline.is_some() {
            return Ok(Some(!over));
        }
    }
}

/// Decides every line; returns how many lines failed.
fn process(
    decider: &Decider,
    mut reader: Box<dyn BufRead>,
    out: &mut impl Write,
    max_line: usize,
    explain: bool,
) -> anyhow::Result<usize> {
    let mut failed = 0;
    let mut line_no = 0usize;
    let mut buf = Vec::new();
    while let Some(whole) =
        read_line_bounded(&mut *reader, &mut buf, max_line).context("reading input")?
    {
        line_no += 1;
        if !whole {
            failed += 1;
            error_record(
                out,
                line_no,
                None,
                &format!("line longer than {max_line} bytes"),
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
        let id = || {
            serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_string))
        };
        // A key given twice is never decided on either value (as in serve).
        if let Some(d) = riskgate::model::find_duplicate_key(text.as_bytes()) {
            failed += 1;
            let id = if d.pointer == "/id" { None } else { id() };
            error_record(out, line_no, id.as_deref(), &d.to_string())?;
            continue;
        }
        match serde_json::from_str::<Withdrawal>(text) {
            Ok(w) => {
                match decider.decide(w, explain) {
                    (decision, Some(explain)) => serde_json::to_writer(
                        &mut *out,
                        &Explained {
                            decision: &decision,
                            explain: &explain,
                        },
                    )?,
                    (decision, None) => serde_json::to_writer(&mut *out, &decision)?,
                }
                out.write_all(b"\n")?;
            }
            Err(e) => {
                failed += 1;
                error_record(out, line_no, id().as_deref(), &e.to_string())?;
            }
        }
    }
    Ok(failed)
}

/// A decision's line with `--explain`: the decision's fields, then
/// `explain`.
#[derive(serde::Serialize)]
struct Explained<'a> {
    #[serde(flatten)]
    decision: &'a riskgate::Decision,
    explain: &'a riskgate::Explanation,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded_and_an_over_long_one_is_skipped_to_its_newline() {
        let input = format!("ab\n{}\ncd\n{}", "x".repeat(100_000), "y".repeat(11));
        // A tiny buffer: the over-long line arrives in many chunks.
        let mut reader = std::io::BufReader::with_capacity(7, input.as_bytes());
        let mut buf = Vec::new();
        let mut lines = Vec::new();
        while let Some(whole) = read_line_bounded(&mut reader, &mut buf, 10).unwrap() {
            assert!(buf.capacity() <= 64, "{}", buf.capacity());
            lines.push((whole, String::from_utf8(buf.clone()).unwrap()));
        }
        let expect = [(true, "ab"), (false, ""), (true, "cd"), (false, "")];
        assert_eq!(lines, expect.map(|(w, t)| (w, t.to_string())),);
    }
}
