//! OFAC `sdn.csv`: no header; columns ent_num, SDN_Name, SDN_Type, Program,
//! Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks.
//! Digital currency addresses are items of the remarks:
//! `...; Digital Currency Address - XBT 1ABC...; alt. Digital Currency Address - ETH 0x....`
//!
//! OFAC cuts the remarks column at [`REMARKS_CUT`] characters and publishes
//! the rest in `sdn_comments.csv` (no header; ent_num and the continuation).
//! For the entities with the most addresses, most of them are in the
//! continuation, so the continuation is joined to its entity's remarks (by
//! ent_num, the text as it continues, no separator) before the remarks are
//! read. Without it, an import that meets a cut remark fails: reading
//! sdn.csv alone would yield a smaller set. Both files end with a Ctrl-Z
//! (`\x1a`) line, use CRLF and `-0-` for empty fields.

use std::collections::BTreeMap;

use super::{
    ImportError, Lines, Location, RawEntry, Tick, clean_address, digital_currency, non_empty,
};

const NAME: usize = 1;
const REMARKS: usize = 11;
/// Columns of a record.
const COLUMNS: usize = 12;

/// Length, in characters, at which OFAC cuts sdn.csv's remarks (the
/// `Remarks` column is 1000 characters wide in OFAC's data specification).
pub const REMARKS_CUT: usize = 1000;

/// Entities named in a truncation error.
const SHOWN: usize = 5;

/// A remark's continuation in sdn_comments.csv.
struct Continuation {
    text: String,
    line: usize,
}

/// Parse sdn.csv, with sdn_comments.csv when given. Names are decoded
/// leniently (OFAC's legacy files are not always UTF-8); an address with a
/// stray byte is then rejected by canonicalisation.
pub(super) fn parse(
    content: &[u8],
    comments: Option<&[u8]>,
    tick: &mut Tick<'_>,
) -> Result<Vec<RawEntry>, ImportError> {
    ends_complete(content, "sdn.csv")?;
    let mut continuations = match comments {
        Some(c) => parse_comments(c)?,
        None => BTreeMap::new(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(content);
    let mut lines = Lines::new(content);
    let mut entries = Vec::new();
    let mut cut: Vec<String> = Vec::new();
    for record in reader.byte_records() {
        let record = record?;
        let position = record.position().map_or(0, |p| p.byte());
        tick.at(position, entries.len());
        let line = record.position().map_or(0, |_| lines.record_at(position));
        let field = |i: usize| record.get(i).map(String::from_utf8_lossy);
        // Short records (the trailing Ctrl-Z line, stray blank rows) have no
        // remarks column; their last field is searched all the same.
        let remarks = match field(REMARKS) {
            Some(r) => r,
            None if record.len() > 1 => field(record.len() - 1).unwrap_or_default(),
            None => continue,
        };
        let ent_num = field(0).and_then(|s| non_empty(&s));
        if ent_num
            .as_deref()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
            && record.len() != COLUMNS
        {
            return Err(ImportError::Truncated {
                line,
                message: format!(
                    "sdn.csv record ent_num {} has {} columns, not {COLUMNS}: the file is cut \
                     short or is not OFAC's sdn.csv",
                    ent_num.unwrap_or_default(),
                    record.len()
                ),
            });
        }
        let label = field(NAME).and_then(|s| non_empty(&s));
        let record_id = ent_num.as_ref().map(|n| format!("ent_num {n}"));
        let continuation = ent_num.as_ref().and_then(|n| continuations.remove(n));
        let mut text = remarks.into_owned();
        let split = text.len();
        match &continuation {
            Some(c) => text.push_str(&c.text),
            None => {
                if let Some(kind) = truncated(&text)
                    && (comments.is_none() || kind == Cut::MidAddress)
                {
                    cut.push(ent_num.clone().unwrap_or_else(|| format!("line {line}")));
                }
            }
        }
        let mut offset = 0;
        for item in text.split(';') {
            let end = offset + item.len();
            let continued = continuation.as_ref().filter(|_| end > split);
            offset = end + 1;
            let item = strip_alt(item.trim());
            let Some((kind, tail)) = strip_digital_currency_prefix(item) else {
                continue;
            };
            let currency = digital_currency(kind).flatten();
            let address = tail.split_whitespace().next().unwrap_or_default();
            let record = match (&record_id, continued) {
                (Some(id), Some(c)) => Some(format!("{id}, continued in comments line {}", c.line)),
                (id, _) => id.clone(),
            };
            entries.push(RawEntry {
                address: clean_address(address),
                currency,
                label: label.clone(),
                location: Location { line, record },
            });
        }
    }
    if !continuations.is_empty() {
        let count = continuations.len();
        return Err(ImportError::OrphanComments {
            count,
            ent_nums: continuations.into_keys().take(SHOWN).collect(),
        });
    }
    if !cut.is_empty() {
        return Err(ImportError::TruncatedRemarks {
            count: cut.len(),
            ent_nums: cut.into_iter().take(SHOWN).collect(),
            comments_given: comments.is_some(),
        });
    }
    Ok(entries)
}

/// ent_num -> continuation (rows of one ent_num joined in file order).
fn parse_comments(content: &[u8]) -> Result<BTreeMap<String, Continuation>, ImportError> {
    ends_complete(content, "sdn_comments.csv")?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(content);
    let mut lines = Lines::new(content);
    let mut out: BTreeMap<String, Continuation> = BTreeMap::new();
    for record in reader.byte_records() {
        let record = record?;
        let line = record.position().map_or(0, |p| lines.record_at(p.byte()));
        let field = |i: usize| record.get(i).map(String::from_utf8_lossy);
        let ent_num = field(0).unwrap_or_default();
        let ent_num = ent_num.trim_matches(|c: char| c.is_whitespace() || c == '\u{1a}');
        if ent_num.is_empty() && record.len() <= 1 {
            continue;
        }
        if ent_num.is_empty() || !ent_num.bytes().all(|b| b.is_ascii_digit()) || record.len() != 2 {
            return Err(ImportError::MalformedComments {
                line,
                message: format!(
                    "expected 2 columns (ent_num, remarks continuation), found {} starting `{}`",
                    record.len(),
                    ent_num.chars().take(40).collect::<String>()
                ),
            });
        }
        let text = field(1).unwrap_or_default();
        let text = if text.trim() == "-0-" { "" } else { &text };
        out.entry(ent_num.to_string())
            .and_modify(|c| c.text.push_str(text))
            .or_insert_with(|| Continuation {
                text: text.to_string(),
                line,
            });
    }
    Ok(out)
}

/// A file cut short ends inside a record: OFAC's end with a line break or
/// the Ctrl-Z byte.
fn ends_complete(content: &[u8], what: &str) -> Result<(), ImportError> {
    let end = content.trim_ascii_end();
    if content.is_empty() || content.ends_with(b"\n") || end.ends_with(b"\x1a") {
        return Ok(());
    }
    Err(ImportError::Truncated {
        line: super::line_of(content, content.len()),
        message: format!("{what} ends inside a record (no line break after it): it is cut short"),
    })
}

/// How a remark shows it was cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// At the cut length (it may end at a sentence by chance).
    AtLength,
    /// Inside a `Digital Currency Address - XXX ...` item.
    MidAddress,
}

/// Does this remark look cut? Complete remarks end with a period.
fn truncated(remarks: &str) -> Option<Cut> {
    let trimmed = remarks.trim_end();
    if !trimmed.ends_with('.') {
        let last = trimmed.rsplit(';').next().unwrap_or_default().trim();
        let last = last.to_ascii_lowercase();
        let phrases = ["digital currency address", "alt. digital currency address"];
        if !last.is_empty()
            && phrases
                .iter()
                .any(|p| last.starts_with(p) || p.starts_with(last.as_str()))
        {
            return Some(Cut::MidAddress);
        }
    }
    (remarks.chars().count() >= REMARKS_CUT).then_some(Cut::AtLength)
}

/// `alt. X` -> `X` (ASCII case-insensitive).
fn strip_alt(item: &str) -> &str {
    match item.get(..4) {
        Some(head) if head.eq_ignore_ascii_case("alt.") => item.get(4..).unwrap_or_default().trim(),
        _ => item,
    }
}

/// Split `Digital Currency Address - XBT 1ABC...` into the type name
/// (`Digital Currency Address - XBT`) and the rest (`1ABC...`).
fn strip_digital_currency_prefix(item: &str) -> Option<(&str, &str)> {
    digital_currency(item.get(..24)?)?;
    let after = item.get(24..)?;
    // The currency code follows ` - `; the address is the next word.
    let trimmed = after.trim_start();
    let Some(code_part) = trimmed.strip_prefix('-') else {
        // No currency code: `Digital Currency Address 1ABC...`.
        let split = item.len() - after.len();
        return Some((item.get(..split)?, after));
    };
    let code_part = code_part.trim_start();
    let code_len = code_part
        .find(char::is_whitespace)
        .unwrap_or(code_part.len());
    let end = item.len() - code_part.len() + code_len;
    Some((item.get(..end)?, item.get(end..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_remarks_are_recognised() {
        assert_eq!(
            truncated("a; Digital Currency Address - XBT 1Bv"),
            Some(Cut::MidAddress)
        );
        assert_eq!(truncated("a; alt. Digital Curr"), Some(Cut::MidAddress));
        assert_eq!(truncated("a; Digital Currency Address - XBT 1Bv."), None);
        assert_eq!(truncated("Organization Established Date 2019"), None);
        assert_eq!(truncated(&"x".repeat(REMARKS_CUT)), Some(Cut::AtLength));
        assert_eq!(
            truncated(&format!("{}.", "x".repeat(REMARKS_CUT - 1))),
            Some(Cut::AtLength)
        );
    }
}
