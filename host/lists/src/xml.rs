//! A small streaming walker over XML events that tracks the path of local
//! element names (namespace prefixes and URIs ignored) and each element's
//! direct text.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

use super::{ImportError, Lines, Tick, line_of};

/// Receives element starts and ends. `path` holds the local names from the
/// root to the current element (inclusive).
pub(super) trait Handler {
    /// Accepted root element local names, checked on the first start tag.
    const ROOTS: &'static [&'static str];
    /// Format name for errors.
    const FORMAT: &'static str;

    fn start(&mut self, path: &[String], attrs: &Attrs, line: usize);
    /// `text` is the element's direct text (character data, CDATA and
    /// resolved references), untrimmed.
    fn end(&mut self, path: &[String], text: &str, line: usize);
    /// Entries found so far (for progress).
    fn found(&self) -> usize;
}

/// Attributes of a start tag by local name.
pub(super) struct Attrs(Vec<(String, String)>);

impl Attrs {
    pub(super) fn get(&self, local_name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == local_name)
            .map(|(_, v)| v.as_str())
    }
}

struct Frame {
    text: String,
}

/// Walk the whole document. Malformed XML (including a document that ends
/// before its root element is closed) is an [`ImportError::Xml`].
pub(super) fn walk<H: Handler>(
    content: &[u8],
    handler: &mut H,
    tick: &mut Tick<'_>,
) -> Result<(), ImportError> {
    let mut reader = Reader::from_reader(content);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    let mut lines = Lines::new(content);
    let error = |position: u64, message: String| ImportError::Xml {
        position,
        line: line_of(
            content,
            usize::try_from(position)
                .unwrap_or(usize::MAX)
                .min(content.len()),
        ),
        message,
    };
    let mut path: Vec<String> = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    let mut seen_root = false;
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => return Err(error(reader.error_position(), e.to_string())),
        };
        match event {
            Event::Start(start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                if path.is_empty() {
                    if seen_root {
                        return Err(error(
                            reader.buffer_position(),
                            format!("second root element <{name}>"),
                        ));
                    }
                    seen_root = true;
                    if !H::ROOTS.contains(&name.as_str()) {
                        return Err(ImportError::UnexpectedRoot {
                            format: H::FORMAT,
                            expected: H::ROOTS.first().copied().unwrap_or_default(),
                            found: name,
                        });
                    }
                }
                let attrs = attributes(&start)
                    .map_err(|e| error(reader.buffer_position(), e.to_string()))?;
                path.push(name);
                frames.push(Frame {
                    text: String::new(),
                });
                let line = lines.at(reader.buffer_position());
                handler.start(&path, &attrs, line);
            }
            Event::End(_) => {
                tick.at(reader.buffer_position(), handler.found());
                let line = lines.at(reader.buffer_position());
                let text = frames.pop().map(|f| f.text).unwrap_or_default();
                handler.end(&path, &text, line);
                path.pop();
            }
            Event::Text(text) => {
                let decoded = text
                    .decode()
                    .map_err(|e| error(reader.buffer_position(), e.to_string()))?;
                if let Some(frame) = frames.last_mut() {
                    frame.text.push_str(&decoded);
                }
            }
            Event::CData(cdata) => {
                let decoded = cdata
                    .decode()
                    .map_err(|e| error(reader.buffer_position(), e.to_string()))?;
                if let Some(frame) = frames.last_mut() {
                    frame.text.push_str(&decoded);
                }
            }
            Event::GeneralRef(reference) => {
                let position = reader.buffer_position();
                let name = reference
                    .decode()
                    .map_err(|e| error(position, e.to_string()))?;
                let resolved = if reference.is_char_ref() {
                    match reference.resolve_char_ref() {
                        Ok(Some(ch)) => ch.to_string(),
                        Ok(None) => format!("&{name};"),
                        Err(e) => return Err(error(position, e.to_string())),
                    }
                } else {
                    // Entities declared in a DTD are not expanded: keep them as written.
                    resolve_predefined_entity(&name)
                        .map_or_else(|| format!("&{name};"), str::to_string)
                };
                if let Some(frame) = frames.last_mut() {
                    frame.text.push_str(&resolved);
                }
            }
            Event::Eof => {
                if !path.is_empty() {
                    return Err(error(
                        reader.buffer_position(),
                        format!(
                            "document ends inside <{}> (unclosed: {})",
                            path.last().map_or("", String::as_str),
                            path.join("/")
                        ),
                    ));
                }
                if !seen_root {
                    return Err(error(
                        reader.buffer_position(),
                        format!("no root element (expected <{}>)", H::ROOTS.join("> or <")),
                    ));
                }
                return Ok(());
            }
            _ => {}
        }
    }
}

/// An attribute that cannot be read.
#[derive(Debug, thiserror::Error)]
enum AttributeError {
    #[error(transparent)]
    Syntax(#[from] quick_xml::events::attributes::AttrError),
    #[error(transparent)]
    Value(#[from] quick_xml::Error),
}

fn attributes(start: &BytesStart<'_>) -> Result<Attrs, AttributeError> {
    let mut out = Vec::new();
    for attr in start.attributes() {
        let attr = attr?;
        let key = String::from_utf8_lossy(attr.key.local_name().as_ref()).into_owned();
        let value = attr.unescape_value()?.into_owned();
        out.push((key, value));
    }
    Ok(Attrs(out))
}

/// Does `path` end with `suffix`?
pub(super) fn ends_with(path: &[String], suffix: &[&str]) -> bool {
    path.len() >= suffix.len()
        && path
            .iter()
            .rev()
            .zip(suffix.iter().rev())
            .all(|(a, b)| a == b)
}

/// `MM/DD/YYYY` -> `YYYY-MM-DD`; anything else is returned trimmed.
pub(super) fn us_date(text: &str) -> String {
    let text = text.trim();
    let parts: Vec<&str> = text.split('/').collect();
    if let [m, d, y] = parts.as_slice()
        && let (Ok(m), Ok(d), Ok(y)) = (m.parse::<u8>(), d.parse::<u8>(), y.parse::<u16>())
        && (1..=12).contains(&m)
        && (1..=31).contains(&d)
    {
        return format!("{y:04}-{m:02}-{d:02}");
    }
    text.to_string()
}
