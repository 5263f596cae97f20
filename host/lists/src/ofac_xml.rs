//! OFAC `SDN.XML`: `sdnList/publshInformation/Publish_Date` is the version;
//! each `sdnEntry` has `lastName` (and `firstName`) and `idList/id` elements
//! whose `idType` is `Digital Currency Address - XXX` and `idNumber` the
//! address.

use super::xml::{self, Attrs, Handler, ends_with};
use super::{ImportError, Location, RawEntry, Tick, clean_address, digital_currency, non_empty};

#[derive(Default)]
struct Id {
    uid: Option<String>,
    kind: String,
    number: String,
    line: usize,
}

#[derive(Default)]
struct Sdn {
    version: Option<String>,
    uid: Option<String>,
    first: Option<String>,
    last: Option<String>,
    ids: Vec<Id>,
    id: Id,
    entries: Vec<RawEntry>,
}

impl Handler for Sdn {
    const ROOTS: &'static [&'static str] = &["sdnList"];
    const FORMAT: &'static str = "OFAC SDN.XML";

    fn start(&mut self, path: &[String], _attrs: &Attrs, line: usize) {
        if ends_with(path, &["sdnEntry"]) {
            self.uid = None;
            self.first = None;
            self.last = None;
            self.ids.clear();
        } else if ends_with(path, &["sdnEntry", "idList", "id"]) {
            self.id = Id {
                line,
                ..Id::default()
            };
        }
    }

    fn end(&mut self, path: &[String], text: &str, line: usize) {
        let Some(name) = path.last() else { return };
        match name.as_str() {
            "Publish_Date" if self.version.is_none() => {
                self.version = non_empty(text).map(|d| xml::us_date(&d));
            }
            "uid" if ends_with(path, &["sdnEntry", "uid"]) => self.uid = non_empty(text),
            "firstName" if ends_with(path, &["sdnEntry", "firstName"]) => {
                self.first = non_empty(text);
            }
            "lastName" if ends_with(path, &["sdnEntry", "lastName"]) => {
                self.last = non_empty(text);
            }
            "uid" if ends_with(path, &["idList", "id", "uid"]) => self.id.uid = non_empty(text),
            "idType" if ends_with(path, &["idList", "id", "idType"]) => {
                self.id.kind = text.trim().to_string();
            }
            "idNumber" if ends_with(path, &["idList", "id", "idNumber"]) => {
                self.id.number = text.to_string();
                self.id.line = line;
            }
            "id" if ends_with(path, &["sdnEntry", "idList", "id"]) => {
                self.ids.push(std::mem::take(&mut self.id));
            }
            "sdnEntry" => self.finish_entry(),
            _ => {}
        }
    }

    fn found(&self) -> usize {
        self.entries.len()
    }
}

impl Sdn {
    fn finish_entry(&mut self) {
        let label = match (&self.last, &self.first) {
            (Some(last), Some(first)) => Some(format!("{last}, {first}")),
            (Some(name), None) | (None, Some(name)) => Some(name.clone()),
            (None, None) => None,
        };
        for id in self.ids.drain(..) {
            let Some(currency) = digital_currency(&id.kind) else {
                continue;
            };
            let mut record = match &self.uid {
                Some(uid) => format!("sdnEntry uid {uid}"),
                None => "sdnEntry".to_string(),
            };
            if let Some(id_uid) = &id.uid {
                record.push_str(&format!(", id uid {id_uid}"));
            }
            self.entries.push(RawEntry {
                address: clean_address(&id.number),
                currency,
                label: label.clone(),
                location: Location {
                    line: id.line,
                    record: Some(record),
                },
            });
        }
    }
}

pub(super) fn parse(
    content: &[u8],
    tick: &mut Tick<'_>,
) -> Result<(Vec<RawEntry>, Option<String>), ImportError> {
    let mut handler = Sdn::default();
    xml::walk(content, &mut handler, tick)?;
    Ok((handler.entries, handler.version))
}
