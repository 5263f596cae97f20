//! CSV with a header row and a named address column.

use super::{ImportError, Lines, Location, RawEntry, non_empty};

/// Header names (ASCII case-insensitive) used as the entity label.
const LABEL_COLUMNS: &[&str] = &["label", "name", "entity", "entity_name", "entity name"];
/// Header names (ASCII case-insensitive) used as the currency hint.
const CURRENCY_COLUMNS: &[&str] = &["currency", "chain", "asset"];

fn find(headers: &csv::StringRecord, names: &[&str]) -> Option<usize> {
    names.iter().find_map(|name| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    })
}

/// Every data row gives one entry (an empty address cell is kept, so that it
/// is reported rather than dropped).
pub(super) fn parse(text: &str, column: &str) -> Result<Vec<RawEntry>, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader.headers()?.clone();
    let address_index =
        find(&headers, &[column.trim()]).ok_or_else(|| ImportError::MissingColumn {
            column: column.to_string(),
            found: headers.iter().map(str::to_string).collect(),
        })?;
    let label_index = find(&headers, LABEL_COLUMNS).filter(|&i| i != address_index);
    let currency_index = find(&headers, CURRENCY_COLUMNS).filter(|&i| i != address_index);
    let mut lines = Lines::new(text.as_bytes());
    let mut entries = Vec::new();
    for record in reader.records() {
        let record = record?;
        let line = record.position().map_or(0, |p| lines.record_at(p.byte()));
        let cell = |index: Option<usize>| index.and_then(|i| record.get(i)).and_then(non_empty);
        entries.push(RawEntry {
            address: record
                .get(address_index)
                .unwrap_or_default()
                .trim()
                .to_string(),
            currency: cell(currency_index),
            label: cell(label_index),
            location: Location::line(line),
        });
    }
    Ok(entries)
}
