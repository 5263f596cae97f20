//! Reading decision logs: the files of each `--log` argument in the order
//! they were written, one record per line.

use crate::ReplayError;
use riskgate_serve::decision_log;
use riskgate_serve::record::{DecisionRecord, GenerationRecord, LogRecord, RECORD_VERSION};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

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

/// One record read.
pub enum Item {
    Decision(Box<DecisionRecord<'static>>),
    Generation(GenerationRecord),
}

/// Reads records from log files in order. A line that does not parse is an
/// error, except the last line of a file, a torn write of a crash: it is
/// counted in [`LogReader::torn`] and skipped.
pub struct LogReader {
    files: std::vec::IntoIter<PathBuf>,
    current: Option<(PathBuf, BufReader<std::fs::File>, u64)>,
    line: Vec<u8>,
    /// A line that failed to parse, held until we know whether it was the
    /// file's last.
    pending_bad: Option<(u64, String)>,
    torn: u64,
}

const DECISION_PREFIX: &[u8] = br#"{"event":"decision","#;

impl LogReader {
    pub fn new(files: Vec<PathBuf>) -> Self {
        LogReader {
            files: files.into_iter(),
            current: None,
            line: Vec::with_capacity(4096),
            pending_bad: None,
            torn: 0,
        }
    }

    /// Torn last lines skipped so far.
    pub fn torn(&self) -> u64 {
        self.torn
    }

    fn open(path: &Path) -> Result<BufReader<std::fs::File>, ReplayError> {
        std::fs::File::open(path)
            .map(|f| BufReader::with_capacity(1 << 20, f))
            .map_err(|e| ReplayError::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            })
    }

    /// The next record, `None` at the end of the last file.
    pub fn next_item(&mut self) -> Result<Option<Item>, ReplayError> {
        loop {
            if self.current.is_none() {
                let Some(path) = self.files.next() else {
                    return Ok(None);
                };
                let reader = Self::open(&path)?;
                self.current = Some((path, reader, 0));
            }
            let (path, reader, number) = self.current.as_mut().expect("opened above");
            self.line.clear();
            let n = reader
                .read_until(b'\n', &mut self.line)
                .map_err(|e| ReplayError::Io {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
            if n == 0 {
                if self.pending_bad.take().is_some() {
                    self.torn += 1;
                }
                self.current = None;
                continue;
            }
            *number += 1;
            if let Some((line, message)) = self.pending_bad.take() {
                return Err(ReplayError::Record {
                    path: path.display().to_string(),
                    line,
                    message,
                });
            }
            let text = self.line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            let parsed = if text.starts_with(DECISION_PREFIX) {
                serde_json::from_slice::<DecisionRecord<'static>>(text)
                    .map(|d| LogRecord::Decision(Box::new(d)))
            } else {
                LogRecord::parse(text)
            };
            let record = match parsed {
                Ok(record) => record,
                Err(e) => {
                    self.pending_bad = Some((*number, e.to_string()));
                    continue;
                }
            };
            let v = match &record {
                LogRecord::Decision(d) => d.v,
                LogRecord::Generation(g) => g.v,
            };
            if v != RECORD_VERSION {
                return Err(ReplayError::Record {
                    path: path.display().to_string(),
                    line: *number,
                    message: format!(
                        "record format version {v} is not supported (expected {RECORD_VERSION})"
                    ),
                });
            }
            return Ok(Some(match record {
                LogRecord::Decision(d) => Item::Decision(d),
                LogRecord::Generation(g) => Item::Generation(g),
            }));
        }
    }
}
