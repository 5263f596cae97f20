//! Designated-list importers with provenance.
//!
//! Each supported list format is parsed into [`RawEntry`] values (the address
//! as written, the list's currency label as a hint, the entity label and where
//! the entry sits in the file); [`import`] then turns every entry into its
//! keys with [`address::list_keys`]: the key of every chain family on which
//! the text, or another spelling of the same address, parses (the rule of
//! the `address` module's "Key identity across chains"). The currency label
//! never removes a key and adds none either: every chain's encodings,
//! alias chains' included, are already tried. Every entry that cannot be
//! canonicalised is kept in [`Imported::rejected`] with its location and the
//! reason: nothing is silently dropped.
//!
//! Formats:
//! - `plain`: one address per line, `#` comments, text after `#` on an address
//!   line is the label (the convention of
//!   [`DesignatedSet::from_plain_text`]).
//! - `csv:COLUMN`: CSV with a header row and a named address column; a
//!   `label`, `name` or `entity` column gives the label, a `currency` or
//!   `chain` column the currency hint.
//! - `ofac-csv`: OFAC `sdn.csv` (no header; addresses inside the remarks),
//!   with `sdn_comments.csv`, the continuation of the remarks OFAC cuts
//!   ([`ImportOptions::comments`]; an import that meets a cut remark without
//!   it fails).
//! - `ofac-xml`: OFAC `SDN.XML` (`sdnEntry/idList/id`).
//! - `ofac-advanced-xml`: OFAC `SDN_ADVANCED.XML` (features whose
//!   `FeatureType` is named `Digital Currency Address - XXX`, looked up by
//!   name in the file itself).
//!
//! XML is read with a streaming reader that matches local tag names only, so
//! namespace prefixes and namespace URIs (OFAC has changed them) do not
//! matter.
//!
//! Imports fail closed: content that does not look like the declared
//! format ([`detect`]), an empty input, an input in which no address is
//! found, a truncated record (XML cut short, a cut sdn.csv remark) and, for
//! the plain and CSV lists, a line that is not an address (unless
//! [`ImportOptions::skip_invalid`]) are errors, never a smaller set. In the
//! OFAC formats, an address OFAC lists that cannot be canonicalised (a chain
//! riskgate has no key space for) is a [`Rejected`] entry, reported one by
//! one with a count, and the rest is imported: the policy holds withdrawals
//! on chains it cannot screen. [`import_paths`] reads files, directories,
//! gzip, xz and ZIP ([`unpack`]) and picks the members to import.

mod delimited;
pub mod detect;
mod ofac_advanced;
mod ofac_csv;
mod ofac_xml;
mod plain;
pub mod unpack;
mod xml;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fail_closed;

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use detect::{Detected, detect};
pub use ofac_csv::REMARKS_CUT;
use riskgate_address::{self as address, Canonical, Family};
use riskgate_screening::{DesignatedSet, Entry, SetError, content_version};
pub use unpack::{MAX_DECOMPRESSED, Member, read_inputs, unpack};

/// A designated-list file format.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Format {
    /// One address per line; `#` comments; text after `#` is the label.
    Plain,
    /// CSV with a header row; `column` names the address column
    /// (ASCII case-insensitive, surrounding whitespace ignored).
    Csv { column: String },
    /// OFAC `sdn.csv`: addresses inside the remarks column.
    OfacCsv,
    /// OFAC `SDN.XML`.
    OfacXml,
    /// OFAC `SDN_ADVANCED.XML`.
    OfacAdvancedXml,
}

impl Format {
    /// Default address column of [`Format::Csv`] when none is given.
    pub const DEFAULT_CSV_COLUMN: &'static str = "address";

    /// The names accepted by [`Format::from_str`], for help texts.
    pub const NAMES: &'static [&'static str] = &[
        "plain",
        "csv:COLUMN",
        "ofac-csv",
        "ofac-xml",
        "ofac-advanced-xml",
    ];

    /// Parse a format name with an optional separate CSV column argument
    /// (for a CLI with `--format csv --column "Wallet Address"`). `csv:COLUMN`
    /// carries its own column; giving both is an error unless they agree. A
    /// bare `csv` without a column uses [`Format::DEFAULT_CSV_COLUMN`]. A
    /// column given for any other format is an error.
    pub fn from_name(name: &str, column: Option<&str>) -> Result<Format, ImportError> {
        let name = name.trim();
        let (base, inline_column) = match name.split_once(':') {
            Some((base, col)) => (base, Some(col.trim())),
            None => (name, None),
        };
        let base = base.trim().to_ascii_lowercase();
        let column = column.map(str::trim);
        if base == "csv" {
            let column = match (inline_column, column) {
                (Some(a), Some(b)) if a != b => {
                    return Err(ImportError::UnknownFormat(format!(
                        "`{name}` names column `{a}` but column `{b}` was also given"
                    )));
                }
                (Some(c), _) | (None, Some(c)) => c,
                (None, None) => Self::DEFAULT_CSV_COLUMN,
            };
            if column.is_empty() {
                return Err(ImportError::UnknownFormat(format!(
                    "`{name}`: the CSV address column name is empty"
                )));
            }
            return Ok(Format::Csv {
                column: column.to_string(),
            });
        }
        if inline_column.is_some() || column.is_some() {
            return Err(ImportError::UnknownFormat(format!(
                "`{name}`: only the csv format takes a column"
            )));
        }
        match base.as_str() {
            "plain" | "txt" | "text" => Ok(Format::Plain),
            "ofac-csv" | "sdn-csv" => Ok(Format::OfacCsv),
            "ofac-xml" | "sdn-xml" => Ok(Format::OfacXml),
            "ofac-advanced-xml" | "sdn-advanced-xml" => Ok(Format::OfacAdvancedXml),
            _ => Err(ImportError::UnknownFormat(format!(
                "`{name}` (expected one of: {})",
                Self::NAMES.join(", ")
            ))),
        }
    }
}

impl FromStr for Format {
    type Err = ImportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::from_name(s, None)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Format::Plain => f.write_str("plain"),
            Format::Csv { column } => write!(f, "csv:{column}"),
            Format::OfacCsv => f.write_str("ofac-csv"),
            Format::OfacXml => f.write_str("ofac-xml"),
            Format::OfacAdvancedXml => f.write_str("ofac-advanced-xml"),
        }
    }
}

impl serde::Serialize for Format {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Where an entry sits in its file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Location {
    /// 1-based line number (for XML: the line where the element ends).
    pub line: usize,
    /// The record of the source, when it has ids: `ent_num 36`,
    /// `sdnEntry uid 36`, `DistinctParty 36, Feature 123`.
    pub record: Option<String>,
}

impl Location {
    /// A bare line.
    pub fn line(line: usize) -> Self {
        Location { line, record: None }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(record) = &self.record {
            write!(f, " ({record})")?;
        }
        Ok(())
    }
}

/// One list entry as written in the source, before canonicalisation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RawEntry {
    /// The address as written (surrounding whitespace and a trailing
    /// sentence period removed).
    pub address: String,
    /// The list's currency label (`XBT`, `ETH`...): only a hint.
    pub currency: Option<String>,
    /// Entity name.
    pub label: Option<String>,
    /// Where the entry is.
    pub location: Location,
}

/// Where a list came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Provenance {
    /// The file path (or whatever source name the caller gave).
    pub source: String,
    /// The format it was read as.
    pub format: Format,
    /// The list's own date when it carries one (ISO `YYYY-MM-DD` when it
    /// could be read as a date), else `sha256:` + 16 hex digits of the content.
    pub version: String,
}

/// An entry that could not be canonicalised.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejected {
    pub location: Location,
    /// The address text as written.
    pub text: String,
    /// The list's currency label, if any.
    pub currency: Option<String>,
    /// Entity label, if any.
    pub label: Option<String>,
    /// Why it was refused.
    pub reason: String,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: `{}`", self.location, self.text)?;
        if let Some(currency) = &self.currency {
            write!(f, " (listed as {currency})")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// The result of importing one list file.
#[derive(Debug, Clone)]
pub struct Imported {
    pub provenance: Provenance,
    /// The keys of every accepted entry ([`address::list_keys`], in its
    /// order), entries in file order (duplicates included; the set merges
    /// them).
    pub entries: Vec<(Canonical, Entry)>,
    /// Every refused entry, in file order.
    pub rejected: Vec<Rejected>,
    /// How many of [`entries`](Self::entries) are keys beyond the first of
    /// their entry: the same address on other chains (a `1...` is a bitcoin
    /// and a bitcoin-cash key), so `entries.len() - extra_keys` entries
    /// were accepted.
    pub extra_keys: usize,
}

impl Imported {
    /// Entries accepted (each with one or more keys).
    pub fn accepted(&self) -> usize {
        self.entries.len() - self.extra_keys
    }

    /// Keys of [`entries`](Self::entries) per family, duplicates included,
    /// in [`Family::ALL`] order, families without keys left out.
    pub fn keys_per_family(&self) -> Vec<(Family, usize)> {
        let mut counts = std::collections::BTreeMap::new();
        for (c, _) in &self.entries {
            *counts.entry(c.family()).or_insert(0usize) += 1;
        }
        Family::ALL
            .into_iter()
            .filter_map(|f| counts.get(&f).map(|&n| (f, n)))
            .collect()
    }
}

impl Imported {
    /// Build a designated set named `name` carrying this list's source and
    /// version.
    pub fn into_set(self, name: &str, fp_rate: f64) -> Result<DesignatedSet, SetError> {
        DesignatedSet::build(
            name,
            &self.provenance.version,
            &self.provenance.source,
            self.entries,
            fp_rate,
        )
    }
}

/// Why [`open_list`] could not serve a list file.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Set(#[from] SetError),
}

/// A list file as the gate serves it (`check --list`, `[[list]]` of
/// `serve`): a compiled set (recognised by its magic bytes; served under
/// `name` when given), or any list file the importers read, compressed or
/// not, with its format detected from the content and imported under
/// `name` (required) exactly as `riskgate lists import` would: failing
/// closed on a wrong, empty, truncated or address-less file, and on a
/// plain or CSV line that is not an address unless `skip_invalid`. With
/// `allow_empty`, an empty list file or one without any address is served
/// as an empty set (the caller asked for it: `--allow-empty-list`). Returns
/// the set and the entries it refused (each to be reported).
pub fn open_list(
    path: &Path,
    name: Option<&str>,
    skip_invalid: bool,
    allow_empty: bool,
) -> Result<(DesignatedSet, Vec<Rejected>), OpenError> {
    if riskgate_screening::is_compiled_file(path) {
        return Ok((
            riskgate_screening::open_compiled_as(path, name)?,
            Vec::new(),
        ));
    }
    let Some(name) = name else {
        return Err(SetError::Unnamed {
            path: path.to_path_buf(),
        }
        .into());
    };
    let members = read_inputs(&[path.to_path_buf()], MAX_DECOMPRESSED, None)?;
    let options = ImportOptions {
        skip_invalid,
        ..ImportOptions::default()
    };
    let mut imported = match import_members(None, &members, &options) {
        Err(ImportError::Empty { .. } | ImportError::NoAddresses { .. }) if allow_empty => {
            let content: Vec<u8> = members
                .iter()
                .flat_map(|m| m.bytes.iter().copied())
                .collect();
            let set = DesignatedSet::build(
                name,
                &content_version(&content),
                &path.display().to_string(),
                Vec::new(),
                riskgate_screening::DEFAULT_FP_RATE,
            )?;
            return Ok((set, Vec::new()));
        }
        other => other?,
    };
    let rejected = std::mem::take(&mut imported.rejected);
    Ok((
        imported.into_set(name, riskgate_screening::DEFAULT_FP_RATE)?,
        rejected,
    ))
}

/// Why a list could not be imported at all (entry-level problems are
/// [`Rejected`] instead).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read list {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("list is not valid UTF-8 (invalid byte at offset {valid_up_to})")]
    NotUtf8 { valid_up_to: usize },
    #[error("malformed CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("malformed XML at byte {position} (line {line}): {message}")]
    Xml {
        position: u64,
        line: usize,
        message: String,
    },
    #[error("CSV has no column `{column}` (columns: {})", found.join(", "))]
    MissingColumn { column: String, found: Vec<String> },
    #[error(
        "not an {format} document: root element is <{found}>, expected <{expected}>; the XML \
         formats read are OFAC SDN.XML (<sdnList>, --format ofac-xml) and SDN_ADVANCED.XML \
         (<Sanctions>, --format ofac-advanced-xml)"
    )]
    UnexpectedRoot {
        format: &'static str,
        expected: &'static str,
        found: String,
    },
    #[error("unknown list format {0}")]
    UnknownFormat(String),
    #[error("{name} is empty: refusing to import an empty list")]
    Empty { name: String },
    #[error("{name} is not {format}: it looks like {found}; {advice}")]
    WrongFormat {
        name: String,
        format: Format,
        found: Detected,
        advice: String,
    },
    #[error(
        "no address found in {name} read as {format}: refusing to import an empty set \
         (is it the right file and --format?)"
    )]
    NoAddresses { name: String, format: Format },
    #[error(
        "none of the {count} entries of {name} read as {format} is a valid address (first: \
         {first}): refusing to import an empty set"
    )]
    NoValidAddresses {
        name: String,
        format: Format,
        count: usize,
        first: Box<Rejected>,
    },
    #[error(
        "{name}:{}: `{}` is not an address: {}; {count} invalid entr{} in all (fix the list, \
         or pass --skip-invalid to import the rest with a warning for each)",
        first.location, first.text, first.reason, if *count == 1 { "y" } else { "ies" }
    )]
    InvalidEntries {
        name: String,
        count: usize,
        first: Box<Rejected>,
    },
    #[error(
        "{count} entit{} of sdn.csv ha{} remarks cut {} (ent_num {}{}): OFAC continues them in \
         sdn_comments.csv; {}",
        if *count == 1 { "y" } else { "ies" },
        if *count == 1 { "s" } else { "ve" },
        if *comments_given { "inside an address that sdn_comments.csv does not continue" }
            else { "at OFAC's remarks length" },
        ent_nums.join(", "),
        if *count > ent_nums.len() { ", ..." } else { "" },
        if *comments_given { "the two files are not from the same publication" }
            else { "give it too: `riskgate lists import --format ofac-csv sdn.csv \
                    sdn_comments.csv` (or the directory or OFAC's ZIP holding both)" }
    )]
    TruncatedRemarks {
        count: usize,
        ent_nums: Vec<String>,
        comments_given: bool,
    },
    #[error(
        "sdn_comments.csv continues {count} entit{} that sdn.csv does not hold (ent_num {}{}): \
         the two files are not from the same publication",
        if *count == 1 { "y" } else { "ies" },
        ent_nums.join(", "),
        if *count > ent_nums.len() { ", ..." } else { "" }
    )]
    OrphanComments { count: usize, ent_nums: Vec<String> },
    #[error("truncated input at line {line}: {message}")]
    Truncated { line: usize, message: String },
    #[error("sdn_comments.csv line {line}: {message}")]
    MalformedComments { line: usize, message: String },
    #[error("cannot decompress {name} ({kind}): {message}")]
    Decompress {
        name: String,
        kind: &'static str,
        message: String,
    },
    #[error(
        "{name} decompresses to more than {limit} bytes: refusing it (a decompression bomb, \
         or raise the limit)"
    )]
    TooLarge { name: String, limit: u64 },
    #[error("{0}")]
    Members(String),
}

/// Parse `content` in `format` into raw entries, plus the list's own version
/// (date) when the file carries one.
///
/// This is the parser alone: `ofac-csv` without its continuation (a cut
/// remark fails), and none of [`import_with`]'s checks on the whole input.
pub fn parse(
    format: &Format,
    content: &[u8],
) -> Result<(Vec<RawEntry>, Option<String>), ImportError> {
    parse_with(format, content, None, &mut Tick::new(None, content.len()))
}

fn parse_with(
    format: &Format,
    content: &[u8],
    comments: Option<&[u8]>,
    tick: &mut Tick<'_>,
) -> Result<(Vec<RawEntry>, Option<String>), ImportError> {
    match format {
        Format::Plain => Ok((plain::parse(utf8(content)?), None)),
        Format::Csv { column } => Ok((delimited::parse(utf8(content)?, column)?, None)),
        Format::OfacCsv => Ok((ofac_csv::parse(content, comments, tick)?, None)),
        Format::OfacXml => {
            utf8(content)?;
            ofac_xml::parse(content, tick)
        }
        Format::OfacAdvancedXml => {
            utf8(content)?;
            ofac_advanced::parse(content, tick)
        }
    }
}

/// Reports parse progress every [`Tick::STEP`] bytes.
pub(crate) struct Tick<'a> {
    progress: Progress<'a>,
    total: u64,
    next: u64,
}

impl<'a> Tick<'a> {
    const STEP: u64 = 1 << 20;

    fn new(progress: Progress<'a>, total: usize) -> Self {
        Tick {
            progress,
            total: total as u64,
            next: Self::STEP,
        }
    }

    /// `bytes` of the input are parsed, `entries` found so far.
    pub(crate) fn at(&mut self, bytes: u64, entries: usize) {
        if bytes >= self.next
            && let Some(progress) = self.progress
        {
            self.next = bytes + Self::STEP;
            progress(ImportProgress::Parsing {
                bytes: bytes.min(self.total),
                total: self.total,
                entries,
            });
        }
    }
}

/// Progress of an import, reported to [`ImportOptions::progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportProgress {
    /// `bytes` of the input files' `total` are read ([`read_inputs`]).
    Read { bytes: u64, total: u64 },
    /// `bytes` of the content's `total` are parsed, `entries` found so far
    /// (reported every MiB by the OFAC importers).
    Parsing {
        bytes: u64,
        total: u64,
        entries: usize,
    },
    /// The file is parsed: `entries` raw entries to canonicalise.
    Parsed { entries: usize },
    /// `done` of the parsed entries are canonicalised (reported every few
    /// thousand entries and once at the end).
    Canonicalised { done: usize },
}

/// A progress callback.
pub type Progress<'a> = Option<&'a (dyn Fn(ImportProgress) + Sync)>;

/// Options of [`import_with`].
#[derive(Default, Clone, Copy)]
pub struct ImportOptions<'a> {
    /// Currency label for entries whose source gives none (a plain list of
    /// one currency: `BCH`, `LTC`...), recorded with rejected entries. Keys
    /// do not depend on it ([`address::list_keys`]).
    pub currency: Option<&'a str>,
    /// Called as the import proceeds.
    pub progress: Progress<'a>,
    /// Plain and CSV lists: import the valid lines of a list that has
    /// lines that are not addresses (each one is in
    /// [`Imported::rejected`]); without it such a list fails.
    pub skip_invalid: bool,
    /// `ofac-csv`: the content of `sdn_comments.csv`, the continuation of
    /// the remarks cut in `sdn.csv`.
    pub comments: Option<&'a [u8]>,
}

impl fmt::Debug for ImportOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportOptions")
            .field("currency", &self.currency)
            .field("progress", &self.progress.is_some())
            .field("skip_invalid", &self.skip_invalid)
            .field("comments", &self.comments.map(<[u8]>::len))
            .finish()
    }
}

/// Entries between two [`ImportProgress::Canonicalised`] reports.
const PROGRESS_EVERY: usize = 4096;

/// Parse and canonicalise every entry of `content`; `source` is recorded in
/// the provenance (usually the file path).
pub fn import(format: &Format, source: &str, content: &[u8]) -> Result<Imported, ImportError> {
    import_with(format, source, content, &ImportOptions::default())
}

/// [`import`] with options (currency hint, progress, invalid lines,
/// sdn_comments.csv). Fails closed: see the module documentation.
pub fn import_with(
    format: &Format,
    source: &str,
    content: &[u8],
    options: &ImportOptions<'_>,
) -> Result<Imported, ImportError> {
    check_shape(format, source, content)?;
    let comments = options.comments.filter(|_| *format == Format::OfacCsv);
    if let Some(c) = comments {
        match detect(c) {
            Detected::OfacComments | Detected::Empty => {}
            found => {
                return Err(ImportError::WrongFormat {
                    name: format!("{source} (continuation)"),
                    format: format.clone(),
                    advice: "give OFAC's sdn_comments.csv as the continuation".to_string(),
                    found,
                });
            }
        }
    }
    let mut tick = Tick::new(options.progress, content.len());
    let (raw, version) = parse_with(format, content, comments, &mut tick)?;
    let version = version.unwrap_or_else(|| match comments {
        Some(c) => content_version(&[content, b"\n", c].concat()),
        None => content_version(content),
    });
    let report = |p| {
        if let Some(progress) = options.progress {
            progress(p);
        }
    };
    report(ImportProgress::Parsed { entries: raw.len() });
    let total = raw.len();
    let mut entries = Vec::with_capacity(raw.len());
    let mut rejected = Vec::new();
    let mut extra_keys = 0;
    for (index, mut entry) in raw.into_iter().enumerate() {
        if index > 0 && index.is_multiple_of(PROGRESS_EVERY) {
            report(ImportProgress::Canonicalised { done: index });
        }
        if entry.currency.is_none()
            && let Some(currency) = options.currency
        {
            entry.currency = Some(currency.to_string());
        }
        match canonicalize_entry(&entry.address) {
            Ok(keys) => {
                let value = Entry {
                    label: entry.label,
                    original: entry.address,
                };
                extra_keys += keys.len().saturating_sub(1);
                entries.extend(keys.into_iter().map(|key| (key, value.clone())));
            }
            Err(reason) => rejected.push(Rejected {
                location: entry.location,
                text: entry.address,
                currency: entry.currency,
                label: entry.label,
                reason: reason.to_string(),
            }),
        }
    }
    report(ImportProgress::Canonicalised { done: total });
    check_found(format, source, &entries, &rejected, options)?;
    Ok(Imported {
        provenance: Provenance {
            source: source.to_string(),
            format: format.clone(),
            version,
        },
        entries,
        rejected,
        extra_keys,
    })
}

/// Read and [`import`] a file; the provenance source is the path.
pub fn import_file(format: &Format, path: &Path) -> Result<Imported, ImportError> {
    let content = std::fs::read(path).map_err(|source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    import(format, &path.display().to_string(), &content)
}

/// Empty input, or input that does not look like `format`, fails.
fn check_shape(format: &Format, source: &str, content: &[u8]) -> Result<(), ImportError> {
    let found = detect(content);
    if found == Detected::Empty {
        return Err(ImportError::Empty {
            name: source.to_string(),
        });
    }
    if !found.fits(format) {
        let advice = found.advice();
        return Err(ImportError::WrongFormat {
            name: source.to_string(),
            format: format.clone(),
            found,
            advice,
        });
    }
    Ok(())
}

/// No accepted entry fails; so does a rejected line of a plain or CSV list
/// without `skip_invalid`.
fn check_found(
    format: &Format,
    source: &str,
    entries: &[(Canonical, Entry)],
    rejected: &[Rejected],
    options: &ImportOptions<'_>,
) -> Result<(), ImportError> {
    if entries.is_empty() {
        return Err(match rejected.first() {
            None => ImportError::NoAddresses {
                name: source.to_string(),
                format: format.clone(),
            },
            Some(first) => ImportError::NoValidAddresses {
                name: source.to_string(),
                format: format.clone(),
                count: rejected.len(),
                first: Box::new(first.clone()),
            },
        });
    }
    if let Some(first) = rejected.first()
        && matches!(format, Format::Plain | Format::Csv { .. })
        && !options.skip_invalid
    {
        return Err(ImportError::InvalidEntries {
            name: source.to_string(),
            count: rejected.len(),
            first: Box::new(first.clone()),
        });
    }
    Ok(())
}

/// Import `members` (files read by [`read_inputs`]): the one that looks
/// like `format`, or, without a format, the one that looks like a list
/// (its format detected). `ofac-csv` takes sdn.csv and, when among the
/// members, sdn_comments.csv. Members of other shapes beside the chosen
/// ones (an archive's `ADD.CSV`, a directory's README) are left out; an
/// input with no member, or several, of the shape wanted fails.
pub fn import_members(
    format: Option<&Format>,
    members: &[Member],
    options: &ImportOptions<'_>,
) -> Result<Imported, ImportError> {
    let shapes: Vec<Detected> = members.iter().map(Member::detected).collect();
    let listing = || {
        members
            .iter()
            .zip(&shapes)
            .map(|(m, d)| format!("{} ({d})", m.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let wants_csv = match format {
        Some(f) => *f == Format::OfacCsv,
        None => shapes.contains(&Detected::OfacCsv),
    };
    let pick =
        |wanted: &dyn Fn(&Detected) -> bool, what: &str| -> Result<Option<usize>, ImportError> {
            let found: Vec<usize> = (0..members.len()).filter(|&i| wanted(&shapes[i])).collect();
            match found.as_slice() {
                [] => Ok(None),
                [i] => Ok(Some(*i)),
                _ => Err(ImportError::Members(format!(
                    "several files look like {what}: {}; give one",
                    found
                        .iter()
                        .map(|&i| members[i].name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        };
    let single_wrong = |format: &Format| -> ImportError {
        let found = shapes[0].clone();
        if found == Detected::Empty {
            return ImportError::Empty {
                name: members[0].name.clone(),
            };
        }
        ImportError::WrongFormat {
            name: members[0].name.clone(),
            format: format.clone(),
            advice: found.advice(),
            found,
        }
    };
    if members.is_empty() {
        return Err(ImportError::Members("no file to import".to_string()));
    }
    if wants_csv {
        let Some(sdn) = pick(&|d| *d == Detected::OfacCsv, "OFAC sdn.csv")? else {
            if members.len() == 1 {
                return Err(single_wrong(&Format::OfacCsv));
            }
            return Err(ImportError::Members(format!(
                "no OFAC sdn.csv among {}",
                listing()
            )));
        };
        let comments = pick(&|d| *d == Detected::OfacComments, "OFAC sdn_comments.csv")?;
        let source = match comments {
            Some(c) => format!("{} + {}", members[sdn].name, members[c].name),
            None => members[sdn].name.clone(),
        };
        let options = ImportOptions {
            comments: comments.map(|c| members[c].bytes.as_slice()),
            ..*options
        };
        return import_with(&Format::OfacCsv, &source, &members[sdn].bytes, &options);
    }
    let (index, format) = match format {
        Some(format) => {
            if members.len() == 1 {
                (0, format.clone())
            } else {
                match pick(&|d| d.fits(format), &format.to_string())? {
                    Some(i) => (i, format.clone()),
                    None => {
                        return Err(ImportError::Members(format!(
                            "no file looks like {format} among {}",
                            listing()
                        )));
                    }
                }
            }
        }
        None => match pick(&|d| d.format().is_some(), "a list")? {
            Some(i) => (i, shapes[i].format().unwrap_or(Format::Plain)),
            None if members.len() == 1 => {
                let found = shapes[0].clone();
                if found == Detected::Empty {
                    return Err(ImportError::Empty {
                        name: members[0].name.clone(),
                    });
                }
                return Err(ImportError::Members(format!(
                    "{} looks like {found}: {}",
                    members[0].name,
                    found.advice()
                )));
            }
            None => {
                return Err(ImportError::Members(format!("no list among {}", listing())));
            }
        },
    };
    import_with(
        &format,
        &members[index].name,
        &members[index].bytes,
        options,
    )
}

/// Read `paths` ([`read_inputs`], decompressed up to `limit` bytes) and
/// [`import_members`].
pub fn import_paths(
    format: Option<&Format>,
    paths: &[PathBuf],
    limit: u64,
    options: &ImportOptions<'_>,
) -> Result<Imported, ImportError> {
    let members = read_inputs(paths, limit, options.progress)?;
    import_members(format, &members, options)
}

/// Family named by a list's currency code (`XBT`, `BCH`, `USDT`...), ASCII
/// case-insensitive: every chain name [`address::family_for_chain`] knows
/// (alias chains such as `BSV` and `XVG` give the family whose key space
/// they share), plus the EVM stablecoin codes `USDT` and `USDC` (their Omni
/// and TRC-20 addresses are identified by their encoding anyway). Unknown
/// codes give `None` and are not used as hints.
pub fn currency_family(code: &str) -> Option<Family> {
    let code = code.trim();
    address::family_for_chain(code).or_else(|| {
        ["usdt", "usdc", "dai"]
            .iter()
            .any(|c| c.eq_ignore_ascii_case(code))
            .then_some(Family::Evm)
    })
}

/// The keys of one entry: [`address::list_keys`]. The currency label
/// plays no part: the keys its chain would give are among the keys of every
/// chain (alias chains' own encodings included), and a text no chain
/// accepts is refused with the inference error.
fn canonicalize_entry(text: &str) -> Result<Vec<Canonical>, address::AddressError> {
    address::list_keys(text)
}

fn utf8(content: &[u8]) -> Result<&str, ImportError> {
    let text = std::str::from_utf8(content).map_err(|e| ImportError::NotUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// If `kind` is an OFAC `Digital Currency Address - XXX` type name (ASCII
/// case-insensitive), the currency code (`None` when the name has none).
fn digital_currency(kind: &str) -> Option<Option<String>> {
    const PREFIX: &str = "digital currency address";
    let kind = kind.trim();
    let head = kind.get(..PREFIX.len())?;
    if !head.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let rest = kind.get(PREFIX.len()..).unwrap_or_default();
    let code = rest.trim().trim_start_matches(['-', ':']).trim();
    Some((!code.is_empty()).then(|| code.to_string()))
}

/// Strip surrounding whitespace and trailing sentence punctuation (`.`, `,`)
/// that no address alphabet uses.
fn clean_address(text: &str) -> String {
    text.trim()
        .trim_end_matches(['.', ','])
        .trim_end()
        .to_string()
}

/// Empty or OFAC's `-0-` placeholder become `None`.
fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty() && text != "-0-").then(|| text.to_string())
}

/// Incremental byte offset -> 1-based line number (cheap when offsets grow).
struct Lines<'a> {
    content: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    fn new(content: &'a [u8]) -> Self {
        Lines {
            content,
            offset: 0,
            line: 1,
        }
    }

    /// Line of the byte at `offset`.
    fn at(&mut self, offset: u64) -> usize {
        let offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.content.len());
        if offset < self.offset {
            return line_of(self.content, offset);
        }
        let newlines = self
            .content
            .get(self.offset..offset)
            .map_or(0, |s| s.iter().filter(|&&b| b == b'\n').count());
        self.line += newlines;
        self.offset = offset;
        self.line
    }

    /// Line of a CSV record starting at byte `offset`. With CRLF endings the
    /// csv crate reports a record as starting on the `\n` that ends the
    /// previous one (and its own line count lags), so count from the bytes.
    fn record_at(&mut self, offset: u64) -> usize {
        let line = self.at(offset);
        let at_newline = usize::try_from(offset)
            .ok()
            .and_then(|o| self.content.get(o))
            == Some(&b'\n');
        line + usize::from(at_newline)
    }
}

fn line_of(content: &[u8], offset: usize) -> usize {
    1 + content
        .get(..offset)
        .map_or(0, |s| s.iter().filter(|&&b| b == b'\n').count())
}

/// What changed between two versions of a list (canonical texts, sorted).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Diff {
    /// In `new` only.
    pub added: Vec<String>,
    /// In `old` only (delisted).
    pub removed: Vec<String>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// Keys in `new` but not `old` (added) and in `old` but not `new` (removed).
pub fn diff(old: &DesignatedSet, new: &DesignatedSet) -> Diff {
    let old_keys: HashSet<&[u8]> = old.entries().map(|(k, _)| k).collect();
    let new_keys: HashSet<&[u8]> = new.entries().map(|(k, _)| k).collect();
    let texts = |keys: &HashSet<&[u8]>, other: &HashSet<&[u8]>| {
        let mut out: Vec<String> = keys
            .iter()
            .filter(|k| !other.contains(*k))
            .map(|k| key_text(k))
            .collect();
        out.sort();
        out
    };
    Diff {
        added: texts(&new_keys, &old_keys),
        removed: texts(&old_keys, &new_keys),
    }
}

fn key_text(key: &[u8]) -> String {
    Canonical::from_key(key)
        .map(|c| c.to_string())
        .unwrap_or_else(|_| format!("key:{}", hex::encode(key)))
}
