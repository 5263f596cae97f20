//! The gate's reason codes are one typed set, [`GateCode::ALL`]: the WIT
//! docs and the README list exactly that set, and no other document names a
//! `gate.` code outside it. Read at test time, so they cannot drift.

use riskgate_model::{Decision, GateCode, Reason};
use std::collections::BTreeSet;
use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `gate.<what>` in `text` (`<what>` of `[a-z_]`, not preceded by a
/// word character), as written; `gate.rs` (the module) is not a code.
fn codes_in(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(i) = text[at..].find("gate.") {
        let start = at + i;
        at = start + "gate.".len();
        if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            continue;
        }
        let name: String = text[at..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if !name.is_empty() && name != "rs" {
            found.insert(format!("gate.{name}"));
        }
    }
    found
}

fn all() -> BTreeSet<String> {
    GateCode::ALL
        .iter()
        .map(|c| c.as_str().to_string())
        .collect()
}

#[test]
fn the_wit_docs_list_every_gate_code() {
    assert_eq!(codes_in(&read("wit/policy.wit")), all());
}

#[test]
fn the_readme_lists_every_gate_code() {
    assert_eq!(codes_in(&read("README.md")), all());
}

#[test]
fn no_document_names_a_gate_code_outside_the_set() {
    let all = all();
    for doc in [
        "ARCHITECTURE.md",
        "docs/openapi.json",
        "docs/riskgate.example.toml",
    ] {
        let unknown: Vec<String> = codes_in(&read(doc)).difference(&all).cloned().collect();
        assert!(
            unknown.is_empty(),
            "{doc} names unknown gate codes: {unknown:?}"
        );
    }
}

#[test]
fn the_openapi_metrics_description_lists_the_fault_codes() {
    let openapi: serde_json::Value = serde_json::from_str(&read("docs/openapi.json")).unwrap();
    let metrics = openapi["paths"]["/metrics"]["get"]["description"]
        .as_str()
        .or_else(|| openapi["paths"]["/metrics"]["get"]["responses"]["200"]["description"].as_str())
        .expect("the /metrics operation is described");
    let faults: BTreeSet<String> = GateCode::FAULTS
        .iter()
        .map(|c| c.as_str().to_string())
        .collect();
    assert_eq!(codes_in(metrics), faults, "{metrics}");
}

#[test]
fn gate_codes_are_spelt_the_same_everywhere() {
    let mut seen = BTreeSet::new();
    for code in GateCode::ALL {
        let s = code.as_str();
        assert!(seen.insert(s), "{s} twice");
        assert!(GateCode::is_gate(s), "{s}");
        assert_eq!(code.to_string(), s);
        assert_eq!(s.parse::<GateCode>(), Ok(code));
        assert_eq!(GateCode::parse(s), Some(code));
        assert_eq!(serde_json::to_value(code).unwrap(), s);
        assert_eq!(serde_json::from_value::<GateCode>(s.into()).unwrap(), code);
        let d = Decision::gate_hold("w", code, "why");
        assert_eq!(
            d.reasons,
            [Reason {
                code: s.to_string(),
                detail: "why".to_string(),
                policy: None
            }]
        );
        assert!(d.has_gate_reason());
    }
    for fault in GateCode::FAULTS {
        assert!(GateCode::ALL.contains(&fault));
    }
    assert!("gate.unknown".parse::<GateCode>().is_err());
    assert!(serde_json::from_value::<GateCode>("sanctions.hit".into()).is_err());
}

#[test]
fn the_decision_log_schema_lists_every_gate_code() {
    let schema: serde_json::Value =
        serde_json::from_str(&read("docs/decision-log.schema.json")).unwrap();
    let listed: BTreeSet<String> = schema["$defs"]["GateCode"]["enum"]
        .as_array()
        .expect("$defs/GateCode/enum")
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, all());
}
