//! Reading decision logs: the files of each `--log` argument in the order
//! they were written, one record per line.

use crate::ReplayError;
use riskgate::gate::Mode;
use riskgate::model::{Hit, Verdict, Withdrawal};
use riskgate_serve::decision_log;
use riskgate_serve::record::{GenerationRecord, LogRecord, RECORD_VERSION};
use serde::Deserialize;
use std::borrow::Cow;
use std::path::PathBuf;

/// The log files named by `paths`, in order: a directory stands for its
/// rotated files by number then `decisions.jsonl`; a file for itself.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ReplayError> {
    let mut files = Vec::new();
    for path in paths {
        let io = |e: std::io::Error| ReplayError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        if path.is_dir() {
            let found = decision_log::files(path).map_err(io)?;
            if found.is_empty() {
                return Err(ReplayError::Io {
                    path: path.display().to_string(),
                    message: "no decision log file (decisions.jsonl, decisions-N.jsonl) in it"
                        .into(),
                });
            }
            files.extend(found);
        } else {
            std::fs::metadata(path).map_err(io)?;
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// A `decision` record as replay reads it: what it compares, borrowed
/// from the line where it can be (the record type is
/// `riskgate_serve::record::DecisionRecord`; the fields replay does not use
/// are skipped, not allocated).
#[derive(Debug, Deserialize)]
pub struct Decided<'a> {
    #[serde(default = "version_1")]
    pub v: u32,
    #[serde(borrow)]
    pub decision_id: Cow<'a, str>,
    pub generation: u64,
    pub withdrawal: Withdrawal,
    pub verdict: Verdict,
    #[serde(borrow)]
    pub reasons: Vec<Code<'a>>,
    pub hits: Vec<Hit>,
    #[serde(default)]
    pub replayed: bool,
    #[serde(borrow)]
    pub policies: Vec<Run<'a>>,
}

fn version_1() -> u32 {
    1
}

/// A reason's code and policy.
#[derive(Debug, Deserialize)]
pub struct Code<'a> {
    #[serde(borrow)]
    pub code: Cow<'a, str>,
    #[serde(default, borrow)]
    pub policy: Option<Cow<'a, str>>,
}

/// A policy's own answer in a decision record.
#[derive(Debug, Deserialize)]
pub struct Run<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    pub mode: Mode,
    pub verdict: Verdict,
}

/// One record read (a decision borrows the reader's line).
pub enum Item<'a> {
    Decision(Box<Decided<'a>>),
    Generation(GenerationRecord),
}

/// Reads records from log files in order, a whole file at a time (UTF-8
/// checked once, then each line parsed without copying). A line that does
/// not parse is an error, except the last line of a file, a torn write of
/// a crash: [`parse`] answers `None` for it and the caller counts it.
pub struct LogReader {
    files: std::vec::IntoIter<PathBuf>,
    path: PathBuf,
    data: String,
    pos: usize,
    number: u64,
    /// Torn bytes cut from the end of the current file (not UTF-8).
    torn_tail: bool,
    /// Files whose torn tail was cut so far.
    torn_tails: u64,
}

/// Where a line was read.
pub struct Line {
    pub number: u64,
    /// The last line of its file.
    pub last: bool,
    start: usize,
    end: usize,
}

const DECISION_PREFIX: &str = r#"{"event":"decision","#;

impl LogReader {
    pub fn new(files: Vec<PathBuf>) -> Self {
        LogReader {
            files: files.into_iter(),
            path: PathBuf::new(),
            data: String::new(),
            pos: 0,
            number: 0,
            torn_tail: false,
            torn_tails: 0,
        }
    }

    /// The file being read.
    pub fn path(&self) -> String {
        self.path.display().to_string()
    }

    fn load(&mut self, path: PathBuf) -> Result<(), ReplayError> {
        let bytes = std::fs::read(&path).map_err(|e| ReplayError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        self.torn_tail = false;
        self.data = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let mut bytes = e.into_bytes();
                // Bad bytes in the last line only: a torn write, cut off.
                if bytes[valid..].contains(&b'\n') {
                    return Err(ReplayError::Io {
                        path: path.display().to_string(),
                        message: format!("not UTF-8 at byte {valid}"),
                    });
                }
                let cut = bytes[..valid]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                bytes.truncate(cut);
                self.torn_tail = true;
                self.torn_tails += 1;
                String::from_utf8(bytes).expect("valid up to the cut")
            }
        };
        self.path = path;
        self.pos = 0;
        self.number = 0;
        Ok(())
    }

    /// Files whose last line was cut for bytes that are not UTF-8 (a
    /// torn write).
    pub fn torn_tails(&self) -> u64 {
        self.torn_tails
    }

    /// The next non-empty line (`None` at the end of the last file).
    pub fn next_line(&mut self) -> Result<Option<Line>, ReplayError> {
        loop {
            if self.pos >= self.data.len() {
                let Some(path) = self.files.next() else {
                    return Ok(None);
                };
                self.load(path)?;
                continue;
            }
            let rest = &self.data[self.pos..];
            let len = rest.find('\n').unwrap_or(rest.len());
            let (start, end) = (self.pos, self.pos + len);
            self.pos = end + 1;
            self.number += 1;
            if self.data[start..end].trim_ascii().is_empty() {
                continue;
            }
            return Ok(Some(Line {
                number: self.number,
                last: self.pos >= self.data.len() && !self.torn_tail,
                start,
                end,
            }));
        }
    }

    /// The text of `line`.
    pub fn text(&self, line: &Line) -> &str {
        &self.data[line.start..line.end]
    }

    /// The record of `line`; `None` when it is a torn last line, skipped.
    pub fn parse<'b>(&'b self, line: &Line) -> Result<Option<Item<'b>>, ReplayError> {
        let text = self.text(line).trim_ascii();
        let bad = |message: String| ReplayError::Record {
            path: self.path(),
            line: line.number,
            message,
        };
        let parsed = if text.starts_with(DECISION_PREFIX) {
            serde_json::from_str::<Decided<'b>>(text).map(|d| Item::Decision(Box::new(d)))
        } else {
            LogRecord::parse(text.as_bytes()).and_then(|r| match r {
                LogRecord::Generation(g) => Ok(Item::Generation(g)),
                // Serve writes `event` first; any other decision line is
                // read the slow way.
                LogRecord::Decision(_) => {
                    serde_json::from_str::<Decided<'b>>(text).map(|d| Item::Decision(Box::new(d)))
                }
            })
        };
        let item = match parsed {
            Ok(item) => item,
            Err(_) if line.last => return Ok(None),
            Err(e) => return Err(bad(e.to_string())),
        };
        let v = match &item {
            Item::Decision(d) => d.v,
            Item::Generation(g) => g.v,
        };
        if v != RECORD_VERSION {
            return Err(bad(format!(
                "record format version {v} is not supported (expected {RECORD_VERSION})"
            )));
        }
        Ok(Some(item))
    }
}
