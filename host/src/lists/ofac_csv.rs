//! OFAC `sdn.csv`: no header; columns ent_num, SDN_Name, SDN_Type, Program,
//! Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks.
//! Digital currency addresses are items of the remarks:
//! `...; Digital Currency Address - XBT 1ABC...; alt. Digital Currency Address - ETH 0x....`

use super::{ImportError, Lines, Location, RawEntry, clean_address, digital_currency, non_empty};

const NAME: usize = 1;
const REMARKS: usize = 11;

/// Names are decoded leniently (OFAC's legacy files are not always UTF-8);
/// an address with a stray byte is then rejected by canonicalisation.
pub(super) fn parse(content: &[u8]) -> Result<Vec<RawEntry>, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(content);
    let mut lines = Lines::new(content);
    let mut entries = Vec::new();
    for record in reader.byte_records() {
        let record = record?;
        let line = record.position().map_or(0, |p| lines.record_at(p.byte()));
        let field = |i: usize| record.get(i).map(String::from_utf8_lossy);
        // Short records (the trailing Ctrl-Z line, stray blank rows) have no
        // remarks column; their last field is searched all the same.
        let remarks = match field(REMARKS) {
            Some(r) => r,
            None if record.len() > 1 => field(record.len() - 1).unwrap_or_default(),
            None => continue,
        };
        let ent_num = field(0).and_then(|s| non_empty(&s));
        let label = field(NAME).and_then(|s| non_empty(&s));
        let record_id = ent_num.map(|n| format!("ent_num {n}"));
        for item in remarks.split(';') {
            let item = item.trim();
            let item = strip_alt(item);
            let Some(rest) = strip_digital_currency_prefix(item) else {
                continue;
            };
            let (kind, tail) = rest;
            let currency = digital_currency(kind).flatten();
            let address = tail.split_whitespace().next().unwrap_or_default();
            entries.push(RawEntry {
                address: clean_address(address),
                currency,
                label: label.clone(),
                location: Location {
                    line,
                    record: record_id.clone(),
                },
            });
        }
    }
    Ok(entries)
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
