//! Plain lists: one address per line.

use super::{Location, RawEntry};

/// One address per line; `#` starts a comment; text after `#` on an address
/// line is the label; blank lines are ignored (as in
/// [`DesignatedSet::from_plain_text`](riskgate_screening::DesignatedSet::from_plain_text)).
pub(super) fn parse(text: &str) -> Vec<RawEntry> {
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let (address_part, label_part) = match line.split_once('#') {
            Some((a, l)) => (a, Some(l)),
            None => (line, None),
        };
        let address = address_part.trim();
        if address.is_empty() {
            continue;
        }
        entries.push(RawEntry {
            address: address.to_string(),
            currency: None,
            label: label_part
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string),
            location: Location::line(index + 1),
        });
    }
    entries
}
