//! What a list file looks like, from its content alone: the importers check
//! it against the declared format (so a wrong `--format` fails with what the
//! file is and the format to use, instead of yielding a smaller set), and
//! `riskgate lists import` without `--format` picks the format from it.
//!
//! Only a prefix is looked at ([`PREFIX`] bytes): detection is cheap on a
//! 100 MB file and deterministic.

use std::fmt;

use super::Format;

/// Bytes of the content looked at.
pub const PREFIX: usize = 64 << 10;

/// Columns of OFAC `sdn.csv` (no header).
pub const SDN_CSV_COLUMNS: usize = 12;

/// What a file looks like.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Detected {
    /// Nothing but whitespace (or nothing at all).
    Empty,
    /// One whitespace-free token per line (`#` comments and labels allowed).
    Plain,
    /// CSV whose first row is a header (the column names).
    Csv { header: Vec<String> },
    /// OFAC `sdn.csv`: no header, 12 columns, a numeric ent_num first.
    OfacCsv,
    /// OFAC `sdn_comments.csv`: no header, ent_num and the remarks'
    /// continuation.
    OfacComments,
    /// Another OFAC legacy CSV (`add.csv`, `alt.csv`): no header, a numeric
    /// ent_num first, `columns` columns.
    OfacOtherCsv { columns: usize },
    /// OFAC `SDN.XML` (root `<sdnList>`).
    OfacXml,
    /// OFAC `SDN_ADVANCED.XML` (root `<Sanctions>`).
    OfacAdvancedXml,
    /// XML of another schema, with its root element's local name (empty
    /// when none was found in the prefix).
    OtherXml { root: String },
    /// JSON.
    Json,
    /// An HTML page (an error page or a download portal saved instead of
    /// the list).
    Html,
    /// gzip-compressed.
    Gzip,
    /// xz-compressed.
    Xz,
    /// A ZIP archive.
    Zip,
    /// A compiled set file (`riskgate lists import -o`).
    CompiledSet,
    /// Text that is none of the above (lines of several words).
    Text,
    /// Binary data (NUL or many control bytes).
    Binary,
}

impl Detected {
    /// The format to import it with, when it is a list riskgate reads
    /// (a CSV needs an address column: `csv:COLUMN` with the header's
    /// column named like an address, if any).
    pub fn format(&self) -> Option<Format> {
        match self {
            Detected::Plain => Some(Format::Plain),
            Detected::Csv { header } => address_column(header).map(|column| Format::Csv {
                column: column.to_string(),
            }),
            Detected::OfacCsv => Some(Format::OfacCsv),
            Detected::OfacXml => Some(Format::OfacXml),
            Detected::OfacAdvancedXml => Some(Format::OfacAdvancedXml),
            _ => None,
        }
    }

    /// Is it compressed or an archive (read by [`super::unpack`])?
    pub fn is_container(&self) -> bool {
        matches!(self, Detected::Gzip | Detected::Xz | Detected::Zip)
    }

    /// Can content that looks like this be imported as `format`?
    pub fn fits(&self, format: &Format) -> bool {
        match format {
            // A plain list may hold lines that are not addresses: they are
            // then reported by line.
            Format::Plain => matches!(self, Detected::Plain | Detected::Text),
            // A one-column CSV (its header a single word) reads as plain.
            Format::Csv { .. } => matches!(self, Detected::Csv { .. } | Detected::Plain),
            Format::OfacCsv => matches!(self, Detected::OfacCsv),
            Format::OfacXml => matches!(self, Detected::OfacXml),
            Format::OfacAdvancedXml => matches!(self, Detected::OfacAdvancedXml),
        }
    }

    /// What to do with it, for an error message: the `--format` to use, or
    /// why there is none.
    pub fn advice(&self) -> String {
        match self {
            Detected::Csv { header } if self.format().is_none() => format!(
                "use --format csv:COLUMN naming its address column (columns: {})",
                header.join(", ")
            ),
            Detected::OfacComments => "it is the continuation of sdn.csv's remarks: give it \
                 together with sdn.csv (--format ofac-csv sdn.csv sdn_comments.csv)"
                .to_string(),
            Detected::OfacOtherCsv { .. } => "OFAC's addresses and aliases files hold no digital \
                 currency addresses: import sdn.csv with sdn_comments.csv (--format ofac-csv)"
                .to_string(),
            Detected::OtherXml { .. } => format!(
                "the XML formats read are OFAC SDN.XML (<sdnList>, --format ofac-xml) and \
                 SDN_ADVANCED.XML (<Sanctions>, --format ofac-advanced-xml); accepted formats: {}",
                Format::NAMES.join(", ")
            ),
            Detected::Json | Detected::Html | Detected::Text | Detected::Binary => format!(
                "no list format reads it (accepted formats: {})",
                Format::NAMES.join(", ")
            ),
            Detected::CompiledSet => "a compiled set is used as it is (`check --list`, \
                 `serve`), not imported"
                .to_string(),
            Detected::Gzip | Detected::Xz | Detected::Zip => {
                "`riskgate lists import` reads it (decompressed)".to_string()
            }
            Detected::Empty => "the file holds no list".to_string(),
            other => match other.format() {
                Some(format) => format!("use --format {format}"),
                None => String::new(),
            },
        }
    }
}

impl fmt::Display for Detected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Detected::Empty => f.write_str("an empty file"),
            Detected::Plain => f.write_str("a plain list (one address per line)"),
            Detected::Csv { header } => {
                write!(f, "CSV with a header (columns: {})", header.join(", "))
            }
            Detected::OfacCsv => f.write_str("OFAC sdn.csv"),
            Detected::OfacComments => f.write_str("OFAC sdn_comments.csv"),
            Detected::OfacOtherCsv { columns } => write!(
                f,
                "an OFAC CSV of {columns} columns that is not sdn.csv (add.csv or alt.csv)"
            ),
            Detected::OfacXml => f.write_str("OFAC SDN.XML"),
            Detected::OfacAdvancedXml => f.write_str("OFAC SDN_ADVANCED.XML"),
            Detected::OtherXml { root } if root.is_empty() => {
                f.write_str("XML without a root element")
            }
            Detected::OtherXml { root } => write!(f, "XML with root element <{root}>"),
            Detected::Json => f.write_str("JSON"),
            Detected::Html => f.write_str("an HTML page"),
            Detected::Gzip => f.write_str("gzip-compressed data"),
            Detected::Xz => f.write_str("xz-compressed data"),
            Detected::Zip => f.write_str("a ZIP archive"),
            Detected::CompiledSet => f.write_str("a compiled set file"),
            Detected::Text => f.write_str("text that is not one address per line"),
            Detected::Binary => f.write_str("binary data"),
        }
    }
}

/// The header column that names addresses: `address` first, then any
/// column whose name holds `address` or `wallet` (ASCII case-insensitive).
pub fn address_column(header: &[String]) -> Option<&str> {
    let name = |h: &String| h.trim().to_ascii_lowercase();
    header
        .iter()
        .find(|h| name(h) == Format::DEFAULT_CSV_COLUMN)
        .or_else(|| {
            header.iter().find(|h| {
                let n = name(h);
                n.contains("address") || n.contains("wallet")
            })
        })
        .map(|h| h.trim())
}

/// What `content` looks like.
pub fn detect(content: &[u8]) -> Detected {
    if content.starts_with(&[0x1f, 0x8b]) {
        return Detected::Gzip;
    }
    if content.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        return Detected::Xz;
    }
    if content.starts_with(b"PK\x03\x04") || content.starts_with(b"PK\x05\x06") {
        return Detected::Zip;
    }
    if content.starts_with(&riskgate_screening::MAGIC) {
        return Detected::CompiledSet;
    }
    let prefix = &content[..content.len().min(PREFIX)];
    let prefix = prefix.strip_prefix(b"\xef\xbb\xbf").unwrap_or(prefix);
    if looks_binary(prefix) {
        return Detected::Binary;
    }
    // OFAC ends its CSV files with a Ctrl-Z byte.
    let trimmed = prefix.trim_ascii_start();
    if trimmed
        .iter()
        .all(|&b| b.is_ascii_whitespace() || b == 0x1a)
    {
        return Detected::Empty;
    }
    match trimmed.first() {
        Some(b'<') => return markup(trimmed),
        Some(b'{' | b'[') => return Detected::Json,
        _ => {}
    }
    text(prefix)
}

/// NUL bytes, or more than 1 in 64 bytes that are control characters other
/// than whitespace, form feed and Ctrl-Z.
fn looks_binary(prefix: &[u8]) -> bool {
    let control = prefix
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1a))
        .count();
    prefix.contains(&0) || control * 64 > prefix.len()
}

fn markup(trimmed: &[u8]) -> Detected {
    let head: Vec<u8> = trimmed
        .iter()
        .take(256)
        .map(u8::to_ascii_lowercase)
        .collect();
    if head.starts_with(b"<!doctype html") || head.starts_with(b"<html") {
        return Detected::Html;
    }
    match xml_root(trimmed) {
        Some(root) => match root.as_str() {
            "sdnList" => Detected::OfacXml,
            "Sanctions" => Detected::OfacAdvancedXml,
            r if r.eq_ignore_ascii_case("html") => Detected::Html,
            _ => Detected::OtherXml { root },
        },
        None => Detected::OtherXml {
            root: String::new(),
        },
    }
}

/// Local name of the first element of an XML prefix.
fn xml_root(content: &[u8]) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(content);
    loop {
        match reader.read_event() {
            Ok(Event::Start(start) | Event::Empty(start)) => {
                return Some(String::from_utf8_lossy(start.local_name().as_ref()).into_owned());
            }
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Plain list, CSV with a header, an OFAC legacy CSV or other text, from
/// the first line that is not blank or a `#` comment.
fn text(prefix: &[u8]) -> Detected {
    let text = String::from_utf8_lossy(prefix);
    let Some(line) = text
        .lines()
        .map(|l| l.trim_matches(|c: char| c.is_whitespace() || c == '\u{1a}'))
        .find(|l| !l.is_empty() && !l.starts_with('#'))
    else {
        return Detected::Empty;
    };
    let fields = csv_fields(line);
    let numeric_id = fields
        .first()
        .is_some_and(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    if numeric_id && fields.len() >= SDN_CSV_COLUMNS {
        return Detected::OfacCsv;
    }
    if numeric_id && fields.len() == 2 {
        return Detected::OfacComments;
    }
    if numeric_id && fields.len() > 2 {
        return Detected::OfacOtherCsv {
            columns: fields.len(),
        };
    }
    let address_part = line.split('#').next().unwrap_or_default().trim();
    if !address_part.is_empty()
        && !address_part.contains(char::is_whitespace)
        && !address_part.contains(',')
    {
        // One token (an address, or a one-column CSV's header); a label
        // after `#` may hold commas.
        return Detected::Plain;
    }
    if fields.len() >= 2 {
        return Detected::Csv {
            header: fields.into_iter().map(|f| f.trim().to_string()).collect(),
        };
    }
    Detected::Text
}

/// The fields of one CSV line (quotes honoured; a line cut inside quotes
/// gives what was read).
fn csv_fields(line: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    match reader.records().next() {
        Some(Ok(record)) => record.iter().map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_told_apart() {
        let cases: &[(&[u8], Detected)] = &[
            (b"", Detected::Empty),
            (b" \r\n\x1a", Detected::Empty),
            (b"# only a comment\n", Detected::Empty),
            (b"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2\n", Detected::Plain),
            (
                b"# list\n0x098B716B8Aaf21512996dC57EB0615e2383E2f96 # a, b\n",
                Detected::Plain,
            ),
            (
                b"name,Wallet Address\nx,1Bv\n",
                Detected::Csv {
                    header: vec!["name".into(), "Wallet Address".into()],
                },
            ),
            (
                b"36,\"AEROCARIBBEAN AIRLINES\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n",
                Detected::OfacCsv,
            ),
            (b"306,\"Digital Currency\"\r\n", Detected::OfacComments),
            (
                b"36,25,\"aka\",\"AERO-CARIBBEAN\",-0- \r\n",
                Detected::OfacOtherCsv { columns: 5 },
            ),
            (
                b"<?xml version=\"1.0\"?>\n<sdnList xmlns=\"x\">",
                Detected::OfacXml,
            ),
            (b"<x:Sanctions xmlns:x=\"y\">", Detected::OfacAdvancedXml),
            (
                b"<?xml version=\"1.0\"?><!-- c --><Head/>",
                Detected::OtherXml {
                    root: "Head".into(),
                },
            ),
            (b"<!DOCTYPE html><html>", Detected::Html),
            (b"  {\"a\": 1}", Detected::Json),
            (b"[\"0x\"]", Detected::Json),
            (b"\x1f\x8b\x08\x00", Detected::Gzip),
            (b"\xfd7zXZ\x00\x00", Detected::Xz),
            (b"PK\x03\x04....", Detected::Zip),
            (b"hello world\nthis is prose\n", Detected::Text),
            (b"\x00\x01\x02\x03", Detected::Binary),
        ];
        for (content, expected) in cases {
            assert_eq!(
                &detect(content),
                expected,
                "{}",
                String::from_utf8_lossy(content)
            );
            // Every shape describes itself and gives advice.
            assert!(!expected.to_string().is_empty());
            drop(expected.advice());
        }
    }

    #[test]
    fn formats_fit_their_shapes_only() {
        assert!(Detected::OfacCsv.fits(&Format::OfacCsv));
        assert!(!Detected::OfacXml.fits(&Format::OfacCsv));
        assert!(!Detected::Zip.fits(&Format::OfacCsv));
        assert!(!Detected::OfacCsv.fits(&Format::Plain));
        assert!(!Detected::Json.fits(&Format::Plain));
        assert!(Detected::Plain.fits(&Format::Csv {
            column: "address".into()
        }));
        let csv = Detected::Csv {
            header: vec!["id".into(), "Wallet Address".into()],
        };
        assert_eq!(
            csv.format(),
            Some(Format::Csv {
                column: "Wallet Address".into()
            })
        );
    }
}
