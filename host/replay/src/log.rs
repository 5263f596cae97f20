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
    Resolution(Box<riskgate_serve::record::ResolutionRecord>),
}

/// Reads records from log files in order, in chunks of whole lines into one
/// reused buffer (each chunk's UTF-8 checked once, then each line parsed in
/// place). A line that does not parse is an error, except an unterminated
/// last line of a file, a torn write of a crash: [`LogReader::parse`]
/// answers `None` for it and the caller counts it.
pub struct LogReader {
    files: std::vec::IntoIter<PathBuf>,
    path: PathBuf,
    file: Option<std::fs::File>,
    buf: Vec<u8>,
    /// Start of the next line in `buf`.
    pos: usize,
    /// End of the checked text in `buf` (after a newline, or the end of
    /// the file); bytes from there to `buf.len()` are read, not checked.
    checked: usize,
    eof: bool,
    number: u64,
    /// Files whose last line was cut for bytes that are not UTF-8.
    torn_tails: u64,
    /// Bytes read at a time.
    chunk: usize,
}

/// Where a line was read.
pub struct Line {
    pub number: u64,
    /// The last line of its file, unterminated (a torn write).
    pub last: bool,
    start: usize,
    end: usize,
}

const DECISION_PREFIX: &str = r#"{"event":"decision","#;
const CHUNK: usize = 4 << 20;

impl LogReader {
    pub fn new(files: Vec<PathBuf>) -> Self {
        LogReader {
            files: files.into_iter(),
            path: PathBuf::new(),
            file: None,
            buf: Vec::new(),
            pos: 0,
            checked: 0,
            eof: true,
            number: 0,
            torn_tails: 0,
            chunk: CHUNK,
        }
    }

    /// The file being read.
    pub fn path(&self) -> String {
        self.path.display().to_string()
    }

    fn io(&self, e: std::io::Error) -> ReplayError {
        ReplayError::Io {
            path: self.path(),
            message: e.to_string(),
        }
    }

    /// Reads more of the current file: at least one more whole line, or
    /// to its end. Keeps the unread text at the start of the buffer.
    fn fill(&mut self) -> Result<(), ReplayError> {
        use std::io::Read;
        self.buf.drain(..self.pos);
        self.checked -= self.pos;
        self.pos = 0;
        loop {
            let have = self.buf.len();
            self.buf.resize(have + self.chunk, 0);
            let n = match self.file.as_mut().map(|f| f.read(&mut self.buf[have..])) {
                Some(Ok(n)) => n,
                Some(Err(e)) => {
                    self.buf.truncate(have);
                    return Err(self.io(e));
                }
                None => 0,
            };
            self.buf.truncate(have + n);
            if n == 0 {
                self.eof = true;
                self.file = None;
                break;
            }
            if self.buf[have..].contains(&b'\n') {
                break;
            }
        }
        // Check the new whole lines (and at the end, the last one).
        let end = if self.eof {
            self.buf.len()
        } else {
            self.buf
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(self.checked, |i| i + 1)
        };
        match std::str::from_utf8(&self.buf[self.checked..end]) {
            Ok(_) => self.checked = end,
            Err(e) => {
                let bad = self.checked + e.valid_up_to();
                // Bad bytes in the last line only: a torn write, cut off.
                if !self.eof || self.buf[bad..].contains(&b'\n') {
                    return Err(ReplayError::Io {
                        path: self.path(),
                        message: format!("not UTF-8 near byte {bad} of what was read"),
                    });
                }
                let cut = self.buf[..bad]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1)
                    .max(self.pos);
                self.buf.truncate(cut);
                self.checked = cut;
                self.torn_tails += 1;
            }
        }
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
            let text = self.checked_str(self.pos, self.checked);
            let newline = text.find('\n');
            let (start, end) = match newline {
                Some(len) => (self.pos, self.pos + len),
                None if !text.is_empty() && self.eof => (self.pos, self.checked),
                None if !self.eof => {
                    self.fill()?;
                    continue;
                }
                None => {
                    let Some(path) = self.files.next() else {
                        return Ok(None);
                    };
                    let file = std::fs::File::open(&path).map_err(|e| ReplayError::Io {
                        path: path.display().to_string(),
                        message: e.to_string(),
                    })?;
                    self.path = path;
                    self.file = Some(file);
                    self.buf.clear();
                    self.pos = 0;
                    self.checked = 0;
                    self.eof = false;
                    self.number = 0;
                    continue;
                }
            };
            self.pos = (end + 1).min(self.checked);
            self.number += 1;
            if self.buf[start..end].trim_ascii().is_empty() {
                continue;
            }
            // A torn write: the file ends inside this line.
            let last = newline.is_none();
            return Ok(Some(Line {
                number: self.number,
                last,
                start,
                end,
            }));
        }
    }

    /// `buf[start..end]` as text, for a range within the checked part
    /// that starts and ends at line boundaries.
    fn checked_str(&self, start: usize, end: usize) -> &str {
        debug_assert!(start <= end && end <= self.checked);
        debug_assert!(std::str::from_utf8(&self.buf[start..end]).is_ok());
        // SAFETY: `fill` checked `buf[..checked]` as UTF-8 a run of whole
        // lines at a time (what it cut or drained ends at a newline), and
        // callers pass ranges bounded by newlines or the checked end: char
        // boundaries of valid UTF-8.
        unsafe { std::str::from_utf8_unchecked(&self.buf[start..end]) }
    }

    /// The text of `line`.
    pub fn text(&self, line: &Line) -> &str {
        self.checked_str(line.start, line.end)
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
                LogRecord::Resolution(r) => Ok(Item::Resolution(r)),
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
            Item::Resolution(r) => r.v,
        };
        if v != RECORD_VERSION {
            return Err(bad(format!(
                "record format version {v} is not supported (expected {RECORD_VERSION})"
            )));
        }
        Ok(Some(item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(files: &[&[u8]], chunk: usize) -> (Vec<(String, bool)>, u64) {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = files
            .iter()
            .enumerate()
            .map(|(i, bytes)| {
                let p = dir.path().join(format!("{i}.jsonl"));
                std::fs::write(&p, bytes).unwrap();
                p
            })
            .collect();
        let mut reader = LogReader::new(paths);
        reader.chunk = chunk;
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            out.push((reader.text(&line).to_string(), line.last));
        }
        (out, reader.torn_tails())
    }

    #[test]
    fn lines_across_chunks_files_and_torn_tails() {
        let a: &[u8] = "one\ntwo é\n\nthree ü long line\n".as_bytes();
        // A torn write that cut a two-byte character in half.
        let b: &[u8] = &[b'x', b'\n', b'y', 0xc3];
        let c: &[u8] = b"last without newline";
        for chunk in [1, 3, 7, 1 << 20] {
            let (got, torn) = lines(&[a, b, c], chunk);
            let texts: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
            assert_eq!(
                texts,
                [
                    "one",
                    "two é",
                    "three ü long line",
                    "x",
                    "last without newline"
                ],
                "chunk {chunk}"
            );
            let last: Vec<bool> = got.iter().map(|(_, l)| *l).collect();
            assert_eq!(last, [false, false, false, false, true], "chunk {chunk}");
            assert_eq!(torn, 1, "chunk {chunk}");
        }
    }

    #[test]
    fn bad_bytes_before_the_last_line_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl");
        std::fs::write(&p, [b'a', 0xff, b'\n', b'b', b'\n']).unwrap();
        let mut reader = LogReader::new(vec![p]);
        assert!(matches!(reader.next_line(), Err(ReplayError::Io { .. })));
    }
}
