//! Plain lists: one address per line.

use super::{Location, RawEntry};

/// One address per line; `#` starts a comment; text after `#` on an address
/// line is the label; blank lines are ignored: the lines as
/// [`riskgate_screening::plain_lines`] reads them (the one reader of the
/// format, shared with `DesignatedSet::from_plain_text`).
pub(super) fn parse(text: &str) -> Vec<RawEntry> {
    riskgate_screening::plain_lines(text)
        .map(|line| RawEntry {
            address: line.address.to_string(),
            currency: None,
            label: line.label.map(str::to_string),
            location: Location::line(line.line),
        })
        .collect()
}
