//! Reading decision logs: the files of each `--log` argument in the order
//! they were written, one record per line.

use crate::ReplayError;
use riskgate::gate::Mode;
use riskgate::model::{Hit, Verdict, Withdrawal};
use riskgate_serve::decision_log;
use riskgate_serve::record::{GenerationRecord, LogRecord, RECORD_VERSION};
use serde::Deserialize;
use std::borrow::Cow;
use std::io::{BufRead, BufReader};
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

/// Reads records from log files in order. A line that does not parse is an
/// error, except the last line of a file, a torn write of a crash: it is
/// counted in [`LogReader::torn`] and skipped.
pub struct LogReader {
    files: std::vec::IntoIter<PathBuf>,
    current: Option<(PathBuf, BufReader<std::fs::File>, u64)>,
    torn: u64,
}

/// Where a line was read.
pub struct Line {
    number: u64,
    /// The last line of its file.
    last: bool,
}

const DECISION_PREFIX: &[u8] = br#"{"event":"decision","#;

impl LogReader {
    pub fn new(files: Vec<PathBuf>) -> Self {
        LogReader {
            files: files.into_iter(),
            current: None,
            torn: 0,
        }
    }

    /// Torn last lines skipped so far.
    pub fn torn(&self) -> u64 {
        self.torn
    }

    fn path(&self) -> String {
        self.current
            .as_ref()
            .map(|(p, _, _)| p.display().to_string())
            .unwrap_or_default()
    }

    /// Reads the next non-empty line into `buf` (`None` at the end of the
    /// last file).
    pub fn next_line(&mut self, buf: &mut Vec<u8>) -> Result<Option<Line>, ReplayError> {
        loop {
            if self.current.is_none() {
                let Some(path) = self.files.next() else {
                    return Ok(None);
                };
                let file = std::fs::File::open(&path).map_err(|e| ReplayError::Io {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
                self.current = Some((path, BufReader::with_capacity(1 << 20, file), 0));
            }
            let (path, reader, number) = self.current.as_mut().expect("opened above");
            let io = |e: std::io::Error| ReplayError::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            };
            buf.clear();
            if reader.read_until(b'\n', buf).map_err(io)? == 0 {
                self.current = None;
                continue;
            }
            *number += 1;
            if buf.trim_ascii().is_empty() {
                continue;
            }
            let last = reader.fill_buf().map_err(io)?.is_empty();
            return Ok(Some(Line {
                number: *number,
                last,
            }));
        }
    }

    /// The record of `line` (its bytes `text`); `None` when it is a torn
    /// last line, skipped.
    pub fn parse<'b>(
        &mut self,
        line: &Line,
        text: &'b [u8],
    ) -> Result<Option<Item<'b>>, ReplayError> {
        let text = text.trim_ascii();
        let bad = |this: &Self, message: String| ReplayError::Record {
            path: this.path(),
            line: line.number,
            message,
        };
        let parsed = if text.starts_with(DECISION_PREFIX) {
            serde_json::from_slice::<Decided<'b>>(text).map(|d| Item::Decision(Box::new(d)))
        } else {
            LogRecord::parse(text).and_then(|r| match r {
                LogRecord::Generation(g) => Ok(Item::Generation(g)),
                // Serve writes `event` first; any other decision line is
                // read the slow way.
                LogRecord::Decision(_) => {
                    serde_json::from_slice::<Decided<'b>>(text).map(|d| Item::Decision(Box::new(d)))
                }
            })
        };
        let item = match parsed {
            Ok(item) => item,
            Err(_) if line.last => {
                self.torn += 1;
                return Ok(None);
            }
            Err(e) => return Err(bad(self, e.to_string())),
        };
        let v = match &item {
            Item::Decision(d) => d.v,
            Item::Generation(g) => g.v,
        };
        if v != RECORD_VERSION {
            return Err(bad(
                self,
                format!("record format version {v} is not supported (expected {RECORD_VERSION})"),
            ));
        }
        Ok(Some(item))
    }
}
