//! OFAC `SDN_ADVANCED.XML`.
//!
//! `ReferenceValueSets/FeatureTypeValues/FeatureType` maps feature type ids to
//! names; the digital currency types are found by their name
//! (`Digital Currency Address - XXX`) in the file itself, never from a list of
//! codes. Each `DistinctParty/Profile/Feature` whose `FeatureTypeID` is one of
//! them gives an address in `Feature/FeatureVersion/VersionDetail`. The label
//! is the party's primary name (the `NamePartValue`s of the first
//! `DocumentedName` of the first `Alias` with `Primary="true"`). The version
//! is `DateOfIssue` (`Year`, `Month`, `Day`) under the root.
//!
//! Features are resolved against the type map at the end of the document, so
//! the order of the sections does not matter.

use std::collections::HashMap;

use super::xml::{self, Attrs, Handler, ends_with};
use super::{ImportError, Location, RawEntry, Tick, clean_address, digital_currency, non_empty};

struct PendingFeature {
    type_id: String,
    address: String,
    location: Location,
}

#[derive(Default)]
struct Advanced {
    /// FeatureType ID -> name.
    feature_types: HashMap<String, String>,
    feature_type_id: Option<String>,
    date: [Option<String>; 3],
    in_date: bool,
    version: Option<String>,
    party: Option<String>,
    label: Option<String>,
    alias_active: bool,
    alias_names: usize,
    name_parts: Vec<String>,
    feature: Option<(Option<String>, String)>,
    feature_details: usize,
    party_features: Vec<PendingFeature>,
    features: Vec<(PendingFeature, Option<String>)>,
}

impl Handler for Advanced {
    const ROOTS: &'static [&'static str] = &["Sanctions"];
    const FORMAT: &'static str = "OFAC SDN_ADVANCED.XML";

    fn start(&mut self, path: &[String], attrs: &Attrs, _line: usize) {
        let Some(name) = path.last() else { return };
        match name.as_str() {
            "DateOfIssue" if path.len() == 2 && self.version.is_none() => self.in_date = true,
            "FeatureType" if ends_with(path, &["FeatureTypeValues", "FeatureType"]) => {
                self.feature_type_id = attrs.get("ID").map(str::to_string);
            }
            "DistinctParty" => {
                self.party = attrs.get("FixedRef").map(str::to_string);
                self.label = None;
                self.alias_active = false;
                self.party_features.clear();
            }
            "Alias" if self.label.is_none() && attrs.get("Primary") == Some("true") => {
                self.alias_active = true;
                self.alias_names = 0;
                self.name_parts.clear();
            }
            "DocumentedName" if self.alias_active => self.alias_names += 1,
            "Feature" => {
                let type_id = attrs.get("FeatureTypeID").unwrap_or_default().to_string();
                self.feature = Some((attrs.get("ID").map(str::to_string), type_id));
                self.feature_details = 0;
            }
            _ => {}
        }
    }

    fn end(&mut self, path: &[String], text: &str, line: usize) {
        let Some(name) = path.last() else { return };
        match name.as_str() {
            "Year" | "Month" | "Day" if self.in_date && ends_with(path, &["DateOfIssue", name]) => {
                let slot = match name.as_str() {
                    "Year" => 0,
                    "Month" => 1,
                    _ => 2,
                };
                self.date[slot] = non_empty(text);
            }
            "DateOfIssue" if self.in_date => {
                self.in_date = false;
                self.version = date_text(&self.date);
            }
            "FeatureType" if ends_with(path, &["FeatureTypeValues", "FeatureType"]) => {
                if let Some(id) = self.feature_type_id.take() {
                    self.feature_types
                        .entry(id)
                        .or_insert_with(|| text.trim().to_string());
                }
            }
            "NamePartValue" if self.alias_active && self.alias_names == 1 => {
                if let Some(part) = non_empty(text) {
                    self.name_parts.push(part);
                }
            }
            "Alias" if self.alias_active => {
                self.alias_active = false;
                if !self.name_parts.is_empty() {
                    self.label = Some(self.name_parts.join(" "));
                }
            }
            "VersionDetail" if ends_with(path, &["Feature", "FeatureVersion", "VersionDetail"]) => {
                self.feature_details += 1;
                self.push_feature(text, line);
            }
            "Feature" => {
                if self.feature_details == 0 {
                    // Reported (as empty) if it turns out to be an address type.
                    self.push_feature("", line);
                }
                self.feature = None;
            }
            "DistinctParty" => {
                let label = self.label.take();
                for feature in self.party_features.drain(..) {
                    self.features.push((feature, label.clone()));
                }
                self.party = None;
            }
            _ => {}
        }
    }

    fn found(&self) -> usize {
        self.features.len()
    }
}

impl Advanced {
    fn push_feature(&mut self, text: &str, line: usize) {
        let Some((feature_id, type_id)) = &self.feature else {
            return;
        };
        // Drop features whose type is already known not to be an address
        // (types not seen yet are kept and resolved at the end).
        if self
            .feature_types
            .get(type_id)
            .is_some_and(|name| digital_currency(name).is_none())
        {
            return;
        }
        let mut record = Vec::new();
        if let Some(party) = &self.party {
            record.push(format!("DistinctParty {party}"));
        }
        if let Some(id) = feature_id {
            record.push(format!("Feature {id}"));
        }
        let pending = PendingFeature {
            type_id: type_id.clone(),
            address: clean_address(text),
            location: Location {
                line,
                record: (!record.is_empty()).then(|| record.join(", ")),
            },
        };
        if self.party.is_some() {
            self.party_features.push(pending);
        } else {
            self.features.push((pending, None));
        }
    }

    fn finish(self) -> (Vec<RawEntry>, Option<String>) {
        let currencies: HashMap<&str, Option<String>> = self
            .feature_types
            .iter()
            .filter_map(|(id, name)| digital_currency(name).map(|c| (id.as_str(), c)))
            .collect();
        let entries = self
            .features
            .into_iter()
            .filter_map(|(feature, label)| {
                let currency = currencies.get(feature.type_id.as_str())?.clone();
                Some(RawEntry {
                    address: feature.address,
                    currency,
                    label,
                    location: feature.location,
                })
            })
            .collect();
        (entries, self.version)
    }
}

/// `YYYY-MM-DD` from numeric parts; `None` without a year.
fn date_text(parts: &[Option<String>; 3]) -> Option<String> {
    let year = parts[0].as_deref()?;
    let pad = |p: &Option<String>| {
        p.as_deref().map(|s| match s.parse::<u8>() {
            Ok(n) => format!("{n:02}"),
            Err(_) => s.to_string(),
        })
    };
    Some(match (pad(&parts[1]), pad(&parts[2])) {
        (Some(m), Some(d)) => format!("{year}-{m}-{d}"),
        (Some(m), None) => format!("{year}-{m}"),
        _ => year.to_string(),
    })
}

pub(super) fn parse(
    content: &[u8],
    tick: &mut Tick<'_>,
) -> Result<(Vec<RawEntry>, Option<String>), ImportError> {
    let mut handler = Advanced::default();
    xml::walk(content, &mut handler, tick)?;
    Ok(handler.finish())
}
