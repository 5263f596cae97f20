//! A policy component's name and version, read from its
//! `riskgate-policy-info` custom section without instantiating it.
//!
//! `riskgate_guest::export_policy!` writes the section into the policy's
//! core module as UTF-8 JSON, `{"name":"sanctions","version":"0.1.0"}`;
//! encoding the module as a component keeps it in the component's nested
//! core module. [`read_policy_info`] finds it there or at the component's
//! top level (a tool may add it after encoding). A component built without
//! it (an older SDK, another toolchain) answers `None`: the caller then
//! learns the name and version by loading the policy.

use serde::Deserialize;

/// Name of the custom section (the guest SDK's `policy_info::SECTION`).
pub const SECTION: &str = "riskgate-policy-info";

/// Longest section accepted, in bytes.
pub const SECTION_MAX: usize = 4096;

/// What the section says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInfo {
    /// The policy's name (`Policy::NAME`).
    pub name: String,
    /// The policy's version (`Policy::VERSION`).
    pub version: String,
}

/// Why the section could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyInfoError {
    /// The bytes are not a well-formed WebAssembly binary.
    #[error("not a well-formed WebAssembly binary: {0}")]
    Wasm(String),
    /// More than one `riskgate-policy-info` section.
    #[error("{count} `{SECTION}` custom sections; a policy has one")]
    Duplicate { count: usize },
    /// Longer than [`SECTION_MAX`].
    #[error("the `{SECTION}` section is {len} bytes, more than {SECTION_MAX}")]
    TooLong { len: usize },
    /// Not the JSON object `{"name": "...", "version": "..."}`.
    #[error("malformed `{SECTION}` section: {0}")]
    Malformed(String),
}

#[derive(Deserialize)]
struct Raw {
    name: String,
    version: String,
}

/// The policy info of a component (or of a bare core module), from its
/// `riskgate-policy-info` section at the top level or in any nested core
/// module or component; `Ok(None)` when it has none.
pub fn read_policy_info(component_bytes: &[u8]) -> Result<Option<PolicyInfo>, PolicyInfoError> {
    let mut found: Vec<&[u8]> = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(component_bytes) {
        let payload = payload.map_err(|e| PolicyInfoError::Wasm(e.to_string()))?;
        if let wasmparser::Payload::CustomSection(reader) = payload
            && reader.name() == SECTION
        {
            found.push(reader.data());
        }
    }
    match found.as_slice() {
        [] => Ok(None),
        [data] => parse(data).map(Some),
        more => Err(PolicyInfoError::Duplicate { count: more.len() }),
    }
}

fn parse(data: &[u8]) -> Result<PolicyInfo, PolicyInfoError> {
    if data.len() > SECTION_MAX {
        return Err(PolicyInfoError::TooLong { len: data.len() });
    }
    let text = std::str::from_utf8(data)
        .map_err(|e| PolicyInfoError::Malformed(format!("not UTF-8: {e}")))?;
    let raw: Raw =
        serde_json::from_str(text).map_err(|e| PolicyInfoError::Malformed(e.to_string()))?;
    for (field, value) in [("name", &raw.name), ("version", &raw.version)] {
        if value.is_empty() {
            return Err(PolicyInfoError::Malformed(format!("`{field}` is empty")));
        }
        if value.chars().any(char::is_control) {
            return Err(PolicyInfoError::Malformed(format!(
                "`{field}` holds a control character"
            )));
        }
    }
    Ok(PolicyInfo {
        name: raw.name,
        version: raw.version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundled;

    /// The section as a WAT string literal.
    fn literal(data: &str) -> String {
        data.bytes().map(|b| format!("\\{b:02x}")).collect()
    }

    fn component(top: &[&str], nested: &[&str]) -> Vec<u8> {
        let custom = |d: &&str| format!("(@custom \"{SECTION}\" \"{}\")", literal(d));
        let nested: String = nested.iter().map(custom).collect();
        let top: String = top.iter().map(custom).collect();
        wat::parse_str(format!(
            "(component (core module {nested} (func (export \"f\"))) {top})"
        ))
        .expect("test component parses")
    }

    fn info(name: &str, version: &str) -> Option<PolicyInfo> {
        Some(PolicyInfo {
            name: name.into(),
            version: version.into(),
        })
    }

    #[test]
    fn bundled_components_carry_their_name_and_version() {
        let version = env!("CARGO_PKG_VERSION");
        assert_eq!(
            read_policy_info(bundled::SANCTIONS).unwrap(),
            info("sanctions", version)
        );
        assert_eq!(
            read_policy_info(bundled::VELOCITY).unwrap(),
            info("velocity", version)
        );
    }

    #[test]
    fn the_section_is_found_nested_or_at_the_top() {
        let json = r#"{"name":"p","version":"1.0.0"}"#;
        assert_eq!(
            read_policy_info(&component(&[], &[json])).unwrap(),
            info("p", "1.0.0")
        );
        assert_eq!(
            read_policy_info(&component(&[json], &[])).unwrap(),
            info("p", "1.0.0")
        );
        // A bare core module too.
        let module = wat::parse_str(format!(
            "(module (@custom \"{SECTION}\" \"{}\"))",
            literal(json)
        ))
        .unwrap();
        assert_eq!(read_policy_info(&module).unwrap(), info("p", "1.0.0"));
    }

    #[test]
    fn a_component_without_the_section_has_no_info() {
        assert_eq!(read_policy_info(&component(&[], &[])).unwrap(), None);
        let other = wat::parse_str("(component (core module (@custom \"other\" \"x\")))").unwrap();
        assert_eq!(read_policy_info(&other).unwrap(), None);
    }

    #[test]
    fn malformed_sections_are_typed_errors() {
        for bad in [
            "",
            "{}",
            "not json",
            r#"{"name":"p"}"#,
            r#"{"name":"","version":"1"}"#,
            r#"{"name":"p","version":"\u0001"}"#,
            r#"{"name":1,"version":"1"}"#,
            // Two objects concatenated, as a linker merging two sections would.
            r#"{"name":"a","version":"1"}{"name":"b","version":"1"}"#,
        ] {
            assert!(
                matches!(
                    read_policy_info(&component(&[], &[bad])),
                    Err(PolicyInfoError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
        let long = format!(r#"{{"name":"p","version":"{}"}}"#, "1".repeat(SECTION_MAX));
        assert!(matches!(
            read_policy_info(&component(&[], &[&long])),
            Err(PolicyInfoError::TooLong { .. })
        ));
        let json = r#"{"name":"p","version":"1"}"#;
        assert_eq!(
            read_policy_info(&component(&[json], &[json])),
            Err(PolicyInfoError::Duplicate { count: 2 })
        );
    }

    #[test]
    fn garbage_is_not_a_component() {
        assert!(matches!(
            read_policy_info(b"\0asm\x0d\0\x01\0\xff\xff"),
            Err(PolicyInfoError::Wasm(_))
        ));
        assert!(matches!(
            read_policy_info(b"hello"),
            Err(PolicyInfoError::Wasm(_))
        ));
    }
}
