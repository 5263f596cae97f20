//! `riskgate lists`: import designated lists, inspect and query sets, diff
//! two versions of a list.
//!
//! Every command that reads a set (`stats`, `check`, `diff`) accepts either a
//! compiled set file (recognised by its magic bytes) or a plain list (one
//! address per line). A set or list that cannot be loaded is reported on one
//! line with exit status 2.

use super::EXIT_LOAD;
use super::check::load_error;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use riskgate::address::{self, Family};
use riskgate::lists::{self, Format, ImportOptions, ImportProgress};
use riskgate::screening::{DEFAULT_FP_RATE, DesignatedSet, SetError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct ListsArgs {
    #[command(subcommand)]
    command: ListsCommand,
}

#[derive(Subcommand)]
enum ListsCommand {
    /// Import a list file (with provenance); write a compiled set or print its stats.
    #[command(after_help = IMPORT_KEYS_HELP)]
    Import(ImportArgs),
    /// Print a set's header and per-family counts.
    Stats(StatsArgs),
    /// Look one address up in a set: exit 0 listed, 1 not listed, 2 invalid.
    Check(CheckArgs),
    /// Print the addresses added (`+`) and removed (`-`) from OLD to NEW.
    Diff(DiffArgs),
}

/// How `lists import` keys an entry (`riskgate::address::list_keys`).
const IMPORT_KEYS_HELP: &str = "\
Keys: an address is designated on every chain whose address format it is. \
Each entry is stored under the key of every chain family on which its text, \
or another spelling of the same address, parses: a `1...` on bitcoin, \
bitcoin-cash (legacy and cashaddr) and bitcoin-sv; a `3...` on bitcoin, \
bitcoin-cash and litecoin; a litecoin `M...` also as its `3...`. A currency \
label (--currency, or the list's own) never removes a key; an entry no \
chain accepts is reported as skipped. Compiled sets written before this \
rule are refused: import their lists again.";

#[derive(Args)]
struct ImportArgs {
    /// List format: plain, csv[:COLUMN], ofac-csv, ofac-xml, ofac-advanced-xml.
    /// Default: detected from the content. A file that does not look like
    /// the format given fails.
    #[arg(long, value_name = "FORMAT")]
    format: Option<String>,
    /// Name of the list (carried by every hit).
    #[arg(long, value_name = "NAME")]
    name: String,
    /// Address column of a CSV list (same as `--format csv:COLUMN`).
    #[arg(long, value_name = "COLUMN")]
    column: Option<String>,
    /// Currency code of entries whose source names none (e.g. BCH for a plain
    /// list of Bitcoin Cash addresses); only a hint, unknown codes are ignored.
    #[arg(long, value_name = "CODE")]
    currency: Option<String>,
    /// Bloom filter false-positive rate (every Bloom hit is confirmed exactly).
    #[arg(long, default_value_t = DEFAULT_FP_RATE, value_name = "F")]
    fp_rate: f64,
    /// Write the compiled set here (default: print its stats).
    #[arg(short = 'o', long = "output", value_name = "SET")]
    output: Option<PathBuf>,
    /// Plain and CSV lists: import the valid lines when some are not
    /// addresses, with a warning for each (default: such a list fails).
    #[arg(long)]
    skip_invalid: bool,
    /// Most bytes a compressed file or archive may decompress to.
    #[arg(long, default_value_t = lists::MAX_DECOMPRESSED, value_name = "BYTES")]
    max_decompressed: u64,
    /// The list file, gzip, xz or ZIP; or a directory holding it. For
    /// ofac-csv: sdn.csv and sdn_comments.csv (the continuation of the
    /// remarks OFAC cuts), or the directory or OFAC's ZIP holding both.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

#[derive(Args)]
struct StatsArgs {
    /// A compiled set file or a plain list.
    #[arg(value_name = "SET")]
    set: PathBuf,
}

#[derive(Args)]
struct CheckArgs {
    /// A compiled set file or a plain list.
    #[arg(value_name = "SET")]
    set: PathBuf,
    /// The address as typed.
    #[arg(value_name = "ADDRESS")]
    address: String,
    /// Chain of the address (ethereum, bitcoin, bitcoin-cash, ...); default:
    /// inferred from the encoding.
    #[arg(long, value_name = "CHAIN")]
    chain: Option<String>,
}

#[derive(Args)]
struct DiffArgs {
    /// The old version: a compiled set file or a plain list.
    #[arg(value_name = "OLD")]
    old: PathBuf,
    /// The new version: a compiled set file or a plain list.
    #[arg(value_name = "NEW")]
    new: PathBuf,
}

pub fn run(args: ListsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ListsCommand::Import(args) => import(args),
        ListsCommand::Stats(args) => stats(args),
        ListsCommand::Check(args) => check(args),
        ListsCommand::Diff(args) => diff(args),
    }
}

// ---------------------------------------------------------------------------
// import
// ---------------------------------------------------------------------------

/// A spinner on stderr that becomes a bar while entries are canonicalised
/// (indicatif hides it when stderr is not a terminal).
fn progress() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

fn to_bytes_bar(bar: &ProgressBar, message: &str, done: u64, total: u64) {
    if bar.length() != Some(total) {
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} ({percent}%) [{elapsed}]",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_length(total);
    }
    bar.set_message(message.to_string());
    bar.set_position(done);
}

fn to_bar(bar: &ProgressBar, entries: usize) {
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} [{elapsed}]")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_length(entries as u64);
    bar.set_position(0);
    bar.set_message(format!("canonicalising {entries} entries"));
}

fn to_spinner(bar: &ProgressBar, message: String) {
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
        bar.set_style(style);
    }
    bar.set_message(message);
}

fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let file = args
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    let format = match &args.format {
        Some(name) => match Format::from_name(name, args.column.as_deref()) {
            Ok(f) => Some(f),
            Err(e) => return Ok(load_error("--format", e)),
        },
        None if args.column.is_some() => Some(Format::Csv {
            column: args.column.clone().unwrap_or_default(),
        }),
        None => None,
    };
    if !(args.fp_rate > 0.0 && args.fp_rate < 1.0) {
        return Ok(load_error(
            "--fp-rate",
            SetError::InvalidFpRate(args.fp_rate),
        ));
    }

    let bar = progress();
    bar.set_message(format!("reading {file}"));
    let report = |p: ImportProgress| match p {
        ImportProgress::Read { bytes, total } => to_bytes_bar(&bar, "reading", bytes, total),
        ImportProgress::Parsing {
            bytes,
            total,
            entries,
        } => to_bytes_bar(
            &bar,
            &format!("parsing, {entries} entries found"),
            bytes,
            total,
        ),
        ImportProgress::Parsed { entries } => to_bar(&bar, entries),
        ImportProgress::Canonicalised { done } => bar.set_position(done as u64),
    };
    let options = ImportOptions {
        currency: args.currency.as_deref(),
        progress: Some(&report),
        skip_invalid: args.skip_invalid,
        comments: None,
    };
    let members = match lists::read_inputs(&args.files, args.max_decompressed, Some(&report)) {
        Ok(m) => m,
        Err(e) => {
            bar.finish_and_clear();
            return Ok(load_error(&file, e));
        }
    };
    to_spinner(&bar, format!("parsing {file}"));
    let imported = match lists::import_members(format.as_ref(), &members, &options) {
        Ok(i) => i,
        Err(e) => {
            bar.finish_and_clear();
            return Ok(load_error(&file, e));
        }
    };
    let file = imported.provenance.source.clone();
    let used_format = imported.provenance.format.clone();
    drop(members);
    let mut imported = imported;
    let accepted = imported.accepted();
    let extra = imported.extra_keys;
    let rejected = std::mem::take(&mut imported.rejected);
    to_spinner(
        &bar,
        format!("building set of {} keys", imported.entries.len()),
    );
    let set = imported.into_set(&args.name, args.fp_rate);
    let set = match set {
        Ok(s) => s,
        Err(e) => {
            bar.finish_and_clear();
            return Ok(load_error(&file, e));
        }
    };
    if let Some(output) = &args.output {
        to_spinner(&bar, format!("writing {}", output.display()));
        if let Err(e) = set.write_compiled(output) {
            bar.finish_and_clear();
            return Ok(load_error(&output.display().to_string(), e));
        }
    }
    bar.finish_and_clear();

    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    for r in &rejected {
        writeln!(
            err,
            "{file}:{}: skipped `{}`: {}",
            r.location.line,
            one_line(&r.text),
            one_line(&r.reason)
        )?;
    }
    let extra_note = if extra > 0 {
        format!(" (+{extra} keys of the same addresses on other chains)")
    } else {
        String::new()
    };
    writeln!(
        err,
        "list {}: {accepted} accepted{extra_note}, {} rejected{}, {} duplicates, {} keys, version {} (read {} as {used_format})",
        set.name(),
        rejected.len(),
        if rejected.is_empty() {
            ""
        } else {
            " (listed above)"
        },
        set.duplicates(),
        set.len(),
        set.version(),
        set.source(),
    )?;
    match &args.output {
        Some(output) => writeln!(
            err,
            "wrote {} ({} keys, {} bytes)",
            output.display(),
            set.len(),
            std::fs::metadata(output).map(|m| m.len()).unwrap_or(0)
        )?,
        None => print_stats(&set)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Collapse whitespace (and control characters) so a report stays on one line.
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------
// loading sets
// ---------------------------------------------------------------------------

/// Load SET: a compiled set file (its header's name), or any list file
/// imported on the fly as the gate would (`lists::open_list`), named after
/// its file stem, its rejected entries reported on stderr.
fn load_set(path: &Path) -> Result<DesignatedSet, String> {
    let shown = path.display().to_string();
    let name = (!riskgate::screening::is_compiled_file(path)).then(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| shown.clone())
    });
    // Inspection commands: a line that is not an address is a warning.
    let (set, rejected) =
        lists::open_list(path, name.as_deref(), true, false).map_err(|e| e.to_string())?;
    for r in &rejected {
        eprintln!(
            "warning: {shown}:{}: skipped `{}`: {}",
            r.location.line,
            one_line(&r.text),
            one_line(&r.reason)
        );
    }
    Ok(set)
}

fn load_or_report(path: &Path) -> Result<DesignatedSet, ExitCode> {
    load_set(path).map_err(|e| load_error(&path.display().to_string(), e))
}

// ---------------------------------------------------------------------------
// stats
// ---------------------------------------------------------------------------

fn print_stats(set: &DesignatedSet) -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "name: {}", set.name())?;
    writeln!(out, "source: {}", set.source())?;
    writeln!(out, "version: {}", set.version())?;
    writeln!(out, "count: {}", set.len())?;
    writeln!(out, "duplicates: {}", set.duplicates())?;
    writeln!(out, "fp rate: {}", set.fp_rate())?;
    writeln!(out, "size: {} bytes", set.size_bytes())?;
    let mut counts = [0usize; 256];
    for key in set.keys() {
        if let Some(&tag) = key.first() {
            counts[usize::from(tag)] += 1;
        }
    }
    for family in Family::ALL {
        let n = counts[usize::from(family.tag())];
        if n > 0 {
            writeln!(out, "family {}: {n}", family.as_str())?;
        }
    }
    let known: usize = Family::ALL
        .iter()
        .map(|f| counts[usize::from(f.tag())])
        .sum();
    if known < set.len() {
        writeln!(out, "family unknown: {}", set.len() - known)?;
    }
    out.flush()
}

fn stats(args: StatsArgs) -> anyhow::Result<ExitCode> {
    let set = match load_or_report(&args.set) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    print_stats(&set)?;
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------
// check
// ---------------------------------------------------------------------------

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let set = match load_or_report(&args.set) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let parsed = match &args.chain {
        Some(chain) => address::canonicalize(chain, &args.address),
        None => address::canonicalize_any(&args.address),
    };
    let canonical = match parsed {
        Ok(c) => c,
        Err(e) => {
            let what = match &args.chain {
                Some(chain) => format!("invalid {chain} address"),
                None => "invalid address".to_string(),
            };
            eprintln!("error: {what}: {}", one_line(&e.to_string()));
            return Ok(ExitCode::from(EXIT_LOAD));
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match set.lookup(&canonical) {
        Some(entry) => {
            writeln!(
                out,
                "listed: {} in {} (version {}), label: {}",
                canonical,
                set.name(),
                set.version(),
                entry.label.as_deref().unwrap_or("-")
            )?;
            writeln!(out, "listed as: {}", entry.original)?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            writeln!(
                out,
                "not listed: {} ({} version {})",
                canonical,
                set.name(),
                set.version()
            )?;
            Ok(ExitCode::FAILURE)
        }
    }
}

// ---------------------------------------------------------------------------
// diff
// ---------------------------------------------------------------------------

fn diff(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let old = match load_or_report(&args.old) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let new = match load_or_report(&args.new) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let d = lists::diff(&old, &new);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for a in &d.added {
        writeln!(out, "+ {a}")?;
    }
    for r in &d.removed {
        writeln!(out, "- {r}")?;
    }
    out.flush()?;
    eprintln!(
        "{} added, {} removed ({} {} -> {} {})",
        d.added.len(),
        d.removed.len(),
        old.name(),
        old.version(),
        new.name(),
        new.version()
    );
    Ok(ExitCode::SUCCESS)
}
