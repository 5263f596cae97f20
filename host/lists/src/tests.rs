use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;
use riskgate_screening::DEFAULT_FP_RATE;

const NORTHWIND_ETH: &str = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";
const NORTHWIND_ETH_LOWER: &str = "0x098b716b8aaf21512996dc57eb0615e2383e2f96";
const NORTHWIND_ETH2: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const NORTHWIND_XBT: &str = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2";
const TRON_AS_XBT: &str = "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq";
const GARNET_BECH32: &str = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
const GARNET_P2SH: &str = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy";
const XMR_HEX: &str = "5a2f1c9e8b7d6a4f3e2d1c0b9a8f7e6d5c4b3a29180f7e6d5c4b3a2918070605";
const BAD_CHECKSUM: &str = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3";

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lists")
        .join(name)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).expect("fixture is readable")
}

fn all_fixtures() -> Vec<(Format, &'static str)> {
    vec![
        (Format::Plain, "plain.txt"),
        (
            Format::Csv {
                column: "Wallet Address".into(),
            },
            "addresses.csv",
        ),
        (Format::OfacCsv, "sdn.csv"),
        (Format::OfacXml, "sdn.xml"),
        (Format::OfacAdvancedXml, "sdn_advanced.xml"),
    ]
}

fn import_fixture(format: &Format, name: &str) -> Imported {
    let path = fixture_path(name);
    import(format, &path.display().to_string(), &fixture(name)).expect("fixture imports")
}

/// The tests below read lists with lines that are not addresses: they are
/// imported with `skip_invalid` (the strict default is tested in
/// `tests_fail_closed.rs`).
fn import(format: &Format, source: &str, content: &[u8]) -> Result<Imported, ImportError> {
    let options = ImportOptions {
        skip_invalid: true,
        ..ImportOptions::default()
    };
    import_with(format, source, content, &options)
}

/// (canonical text, original, label) of every accepted entry, in order.
fn accepted(imported: &Imported) -> Vec<(String, String, Option<String>)> {
    imported
        .entries
        .iter()
        .map(|(c, e)| (c.to_string(), e.original.clone(), e.label.clone()))
        .collect()
}

fn acc(canonical: &str, original: &str, label: Option<&str>) -> (String, String, Option<String>) {
    (
        canonical.to_string(),
        original.to_string(),
        label.map(str::to_string),
    )
}

fn reason(text: &str) -> String {
    address::canonicalize_any(text)
        .expect_err("fixture non-address")
        .to_string()
}

fn rejected(
    line: usize,
    record: Option<&str>,
    text: &str,
    currency: Option<&str>,
    label: Option<&str>,
) -> Rejected {
    Rejected {
        location: Location {
            line,
            record: record.map(str::to_string),
        },
        text: text.to_string(),
        currency: currency.map(str::to_string),
        label: label.map(str::to_string),
        reason: reason(text),
    }
}

/// The keys of one entry on `chains` (in key order), each with the
/// entry's original and label.
fn acc_on(
    chains: &[&str],
    original: &str,
    label: Option<&str>,
) -> Vec<(String, String, Option<String>)> {
    chains
        .iter()
        .map(|chain| {
            let c = address::canonicalize(chain, original).expect("valid on the chain");
            acc(c.as_str(), original, label)
        })
        .collect()
}

/// The chains whose keys a legacy `1...` has: bitcoin, then bitcoin cash.
const P2PKH_CHAINS: &[&str] = &["bitcoin", "bitcoin-cash"];
/// The chains whose keys a `3...` has: bitcoin, litecoin, bitcoin cash.
const P2SH_CHAINS: &[&str] = &["bitcoin", "litecoin", "bitcoin-cash"];

/// Accepted entries (their keys) of the OFAC fixtures with the given labels.
fn ofac_accepted(
    northwind: &str,
    petrov: &str,
    garnet: &str,
) -> Vec<(String, String, Option<String>)> {
    [
        vec![
            acc(NORTHWIND_ETH, NORTHWIND_ETH, Some(northwind)),
            acc(NORTHWIND_ETH2, NORTHWIND_ETH2, Some(northwind)),
        ],
        acc_on(P2PKH_CHAINS, NORTHWIND_XBT, Some(northwind)),
        vec![
            acc(TRON_AS_XBT, TRON_AS_XBT, Some(petrov)),
            acc(NORTHWIND_ETH, NORTHWIND_ETH_LOWER, Some(petrov)),
            acc(GARNET_BECH32, GARNET_BECH32, Some(garnet)),
        ],
        acc_on(P2SH_CHAINS, GARNET_P2SH, Some(garnet)),
    ]
    .concat()
}

#[test]
fn plain_fixture() {
    let imported = import_fixture(&Format::Plain, "plain.txt");
    assert_eq!(
        accepted(&imported),
        [
            vec![
                acc(
                    NORTHWIND_ETH,
                    NORTHWIND_ETH,
                    Some("NORTHWIND HEIST COLLECTIVE")
                ),
                acc(
                    NORTHWIND_ETH2,
                    NORTHWIND_ETH2,
                    Some("NORTHWIND HEIST COLLECTIVE")
                ),
            ],
            acc_on(
                P2PKH_CHAINS,
                NORTHWIND_XBT,
                Some("NORTHWIND HEIST COLLECTIVE")
            ),
            vec![
                acc(TRON_AS_XBT, TRON_AS_XBT, None),
                acc(NORTHWIND_ETH, NORTHWIND_ETH_LOWER, Some("PETROV, Ivan")),
                acc(GARNET_BECH32, GARNET_BECH32, Some("GARNET MIXER")),
            ],
            acc_on(P2SH_CHAINS, GARNET_P2SH, None),
        ]
        .concat()
    );
    assert_eq!(imported.extra_keys, 3);
    assert_eq!(imported.accepted(), 7);
    assert_eq!(
        imported.rejected,
        vec![
            rejected(12, None, XMR_HEX, None, Some("GARNET MIXER (XMR)")),
            rejected(13, None, BAD_CHECKSUM, None, Some("CINDER EXCHANGE")),
        ]
    );
    assert!(
        imported.rejected[0].reason.contains("hex"),
        "{:?}",
        imported.rejected[0]
    );
    assert!(imported.rejected[1].reason.contains("checksum"));
    let content = fixture("plain.txt");
    assert_eq!(imported.provenance.version, content_version(&content));
    assert!(imported.provenance.version.starts_with("sha256:"));
    assert_eq!(imported.provenance.version.len(), "sha256:".len() + 16);
    assert_eq!(imported.provenance.format, Format::Plain);
    assert_eq!(
        imported.provenance.source,
        fixture_path("plain.txt").display().to_string()
    );
}

#[test]
fn plain_matches_designated_set_convention() {
    let content = fixture("plain.txt");
    let text = std::str::from_utf8(&content).unwrap();
    let (set, skipped) =
        DesignatedSet::from_plain_text("x", None, "src", text, DEFAULT_FP_RATE).unwrap();
    let imported = import(&Format::Plain, "src", &content).unwrap();
    assert_eq!(
        skipped
            .iter()
            .map(|s| (s.line, s.text.clone()))
            .collect::<Vec<_>>(),
        imported
            .rejected
            .iter()
            .map(|r| (r.location.line, r.text.clone()))
            .collect::<Vec<_>>()
    );
    let ours = imported.into_set("x", DEFAULT_FP_RATE).unwrap();
    assert_eq!(ours.version(), set.version());
    assert!(diff(&set, &ours).is_empty());
}

#[test]
fn csv_fixture() {
    let format = Format::Csv {
        column: "wallet address".into(),
    };
    let imported = import_fixture(&format, "addresses.csv");
    assert_eq!(
        accepted(&imported),
        ofac_accepted("NORTHWIND HEIST COLLECTIVE", "PETROV, Ivan", "GARNET MIXER")
    );
    assert_eq!(
        imported.rejected,
        vec![
            rejected(9, None, XMR_HEX, Some("XMR"), Some("GARNET MIXER")),
            rejected(10, None, BAD_CHECKSUM, Some("XBT"), Some("CINDER EXCHANGE")),
            Rejected {
                location: Location::line(11),
                text: String::new(),
                currency: None,
                label: Some("HARBOR SHIPPING LLC".into()),
                reason: "empty address".into(),
            },
        ]
    );
    assert_eq!(
        imported.rejected[0].to_string(),
        format!("line 9: `{XMR_HEX}` (listed as XMR): {}", reason(XMR_HEX))
    );
}

#[test]
fn csv_missing_column_and_bad_csv() {
    let err = import(
        &Format::Csv {
            column: "address".into(),
        },
        "x",
        b"wallet,label\n0xabc,foo\n",
    )
    .unwrap_err();
    match err {
        ImportError::MissingColumn { column, found } => {
            assert_eq!(column, "address");
            assert_eq!(found, vec!["wallet", "label"]);
        }
        other => panic!("unexpected {other:?}"),
    }
    // A label column that is the address column is not used as the label.
    let imported = import(
        &Format::Csv {
            column: "name".into(),
        },
        "x",
        format!("name\n{TRON_AS_XBT}\n").as_bytes(),
    )
    .unwrap();
    assert_eq!(
        accepted(&imported),
        vec![acc(TRON_AS_XBT, TRON_AS_XBT, None)]
    );
}

#[test]
fn ofac_csv_fixture() {
    let imported = import_fixture(&Format::OfacCsv, "sdn.csv");
    assert_eq!(
        accepted(&imported),
        ofac_accepted("NORTHWIND HEIST COLLECTIVE", "PETROV, Ivan", "GARNET MIXER")
    );
    assert_eq!(
        imported.rejected,
        vec![
            rejected(
                3,
                Some("ent_num 10003"),
                XMR_HEX,
                Some("XMR"),
                Some("GARNET MIXER")
            ),
            rejected(
                5,
                Some("ent_num 10005"),
                BAD_CHECKSUM,
                Some("XBT"),
                Some("CINDER EXCHANGE")
            ),
        ]
    );
    assert_eq!(
        imported.provenance.version,
        content_version(&fixture("sdn.csv"))
    );
}

#[test]
fn ofac_csv_remarks_edge_cases() {
    let row = |remarks: &str| {
        format!("1,\"ACME\",-0- ,\"CYBER2\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"{remarks}\"\n")
    };
    let content = [
        row(&format!(
            "Gender Male; digital currency address - eth {NORTHWIND_ETH_LOWER}.; ALT. Digital Currency Address - XBT; Organization Type: X."
        )),
        row("-0- "),
        "\u{1a}".to_string(),
    ]
    .concat();
    let (raw, version) = parse(&Format::OfacCsv, content.as_bytes()).unwrap();
    assert_eq!(version, None);
    assert_eq!(
        raw,
        vec![
            RawEntry {
                address: NORTHWIND_ETH_LOWER.into(),
                currency: Some("eth".into()),
                label: Some("ACME".into()),
                location: Location {
                    line: 1,
                    record: Some("ent_num 1".into())
                },
            },
            RawEntry {
                address: String::new(),
                currency: Some("XBT".into()),
                label: Some("ACME".into()),
                location: Location {
                    line: 1,
                    record: Some("ent_num 1".into())
                },
            },
        ]
    );
}

#[test]
fn ofac_xml_fixture() {
    let imported = import_fixture(&Format::OfacXml, "sdn.xml");
    assert_eq!(
        accepted(&imported),
        ofac_accepted("NORTHWIND HEIST COLLECTIVE", "PETROV, Ivan", "GARNET MIXER")
    );
    assert_eq!(
        imported.rejected,
        vec![
            rejected(
                90,
                Some("sdnEntry uid 10003, id uid 50008"),
                XMR_HEX,
                Some("XMR"),
                Some("GARNET MIXER")
            ),
            rejected(
                130,
                Some("sdnEntry uid 10005, id uid 50012"),
                BAD_CHECKSUM,
                Some("XBT"),
                Some("CINDER EXCHANGE & OTC")
            ),
        ]
    );
    assert_eq!(imported.provenance.version, "2024-09-27");
    assert_eq!(imported.provenance.format, Format::OfacXml);
}

#[test]
fn ofac_advanced_xml_fixture() {
    let imported = import_fixture(&Format::OfacAdvancedXml, "sdn_advanced.xml");
    assert_eq!(
        accepted(&imported),
        ofac_accepted("NORTHWIND HEIST COLLECTIVE", "Ivan PETROV", "GARNET MIXER")
    );
    assert_eq!(
        imported.rejected,
        vec![
            rejected(
                140,
                Some("DistinctParty 10003, Feature 20008"),
                XMR_HEX,
                Some("XMR"),
                Some("GARNET MIXER")
            ),
            rejected(
                196,
                Some("DistinctParty 10005, Feature 20012"),
                BAD_CHECKSUM,
                Some("XBT"),
                Some("CINDER EXCHANGE & OTC")
            ),
        ]
    );
    assert_eq!(imported.provenance.version, "2024-09-27");
}

/// The feature type ids come from the file: renumbering them changes nothing,
/// and a feature whose type is not a digital currency address is ignored
/// even when its value looks like an address.
#[test]
fn ofac_advanced_feature_types_are_looked_up_by_name() {
    let original = String::from_utf8(fixture("sdn_advanced.xml")).unwrap();
    let renumbered = original
        .replace("ID=\"77\"", "ID=\"9077\"")
        .replace("FeatureTypeID=\"77\"", "FeatureTypeID=\"9077\"");
    let a = import(&Format::OfacAdvancedXml, "a", original.as_bytes()).unwrap();
    let b = import(&Format::OfacAdvancedXml, "b", renumbered.as_bytes()).unwrap();
    assert_eq!(accepted(&a), accepted(&b));
    assert_eq!(a.rejected, b.rejected);
    // Renaming the XBT type makes its features disappear (they are no longer addresses).
    let renamed = original.replace("Digital Currency Address - XBT", "Vessel Call Sign");
    let c = import(&Format::OfacAdvancedXml, "c", renamed.as_bytes()).unwrap();
    assert_eq!(
        accepted(&c)
            .into_iter()
            .map(|(_, original, _)| original)
            .collect::<Vec<_>>(),
        vec![NORTHWIND_ETH, NORTHWIND_ETH2, NORTHWIND_ETH_LOWER]
    );
    // Reference values after the parties still work.
    let start = original.find("  <ReferenceValueSets>").unwrap();
    let end = original.find("  <DistinctParties>").unwrap();
    let moved = format!(
        "{}{}{}</Sanctions>\n",
        &original[..start],
        &original[end..].replace("</Sanctions>", ""),
        &original[start..end]
    );
    let d = import(&Format::OfacAdvancedXml, "d", moved.as_bytes()).unwrap();
    assert_eq!(accepted(&a), accepted(&d));
}

/// Namespace prefixes and URIs do not matter: only local names are matched.
#[test]
fn xml_namespaces_are_ignored() {
    let sdn = String::from_utf8(fixture("sdn.xml")).unwrap();
    let unprefixed = sdn
        .replace("sdn:", "")
        .replace("xmlns:sdn=", "xmlns=")
        .replace(
            "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/XML",
            "http://tempuri.org/sdnList.xsd",
        );
    assert!(!unprefixed.contains("sdn:"));
    let a = import(&Format::OfacXml, "a", sdn.as_bytes()).unwrap();
    let b = import(&Format::OfacXml, "b", unprefixed.as_bytes()).unwrap();
    assert_eq!(accepted(&a), accepted(&b));
    assert_eq!(a.provenance.version, b.provenance.version);

    let advanced = String::from_utf8(fixture("sdn_advanced.xml")).unwrap();
    let prefixed = advanced
        .replace("</", "\u{0}")
        .replace('<', "<un:")
        .replace('\u{0}', "</un:")
        .replace("<un:?xml", "<?xml")
        .replace("xmlns=", "xmlns:un=")
        .replace(
            "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADVANCED_XML",
            "http://www.un.org/sanctions/1.0",
        );
    let c = import(&Format::OfacAdvancedXml, "c", advanced.as_bytes()).unwrap();
    let d = import(&Format::OfacAdvancedXml, "d", prefixed.as_bytes()).unwrap();
    assert_eq!(accepted(&c), accepted(&d));
    assert_eq!(c.rejected, d.rejected);
    assert_eq!(d.provenance.version, "2024-09-27");
}

#[test]
fn same_address_same_key_in_every_format() {
    let mut key_sets = Vec::new();
    for (format, name) in all_fixtures() {
        let imported = import_fixture(&format, name);
        let keys: BTreeSet<Vec<u8>> = imported
            .entries
            .iter()
            .map(|(c, _)| c.key().to_vec())
            .collect();
        // 7 entries, 6 distinct addresses; the `1...` is also a bitcoin-cash
        // key, the `3...` also a litecoin and a bitcoin-cash key.
        assert_eq!(keys.len(), 9, "{format}");
        key_sets.push((format, keys));
    }
    let expected: BTreeSet<Vec<u8>> = [
        ("ethereum", NORTHWIND_ETH),
        ("ethereum", NORTHWIND_ETH2),
        ("bitcoin", NORTHWIND_XBT),
        ("bitcoin-cash", NORTHWIND_XBT),
        ("tron", TRON_AS_XBT),
        ("bitcoin", GARNET_BECH32),
        ("bitcoin", GARNET_P2SH),
        ("litecoin", GARNET_P2SH),
        ("bitcoin-cash", GARNET_P2SH),
    ]
    .iter()
    .map(|(chain, a)| address::canonicalize(chain, a).unwrap().key().to_vec())
    .collect();
    for (format, keys) in key_sets {
        assert_eq!(keys, expected, "{format}");
    }
    // The Tron address filed under XBT is a Tron key, whatever the label says.
    let tron = address::canonicalize("tron", TRON_AS_XBT).unwrap();
    let imported = import_fixture(&Format::OfacXml, "sdn.xml");
    assert!(imported.entries.iter().any(|(c, _)| c == &tron));
}

#[test]
fn into_set_carries_provenance_and_labels() {
    let imported = import_fixture(&Format::OfacXml, "sdn.xml");
    let source = imported.provenance.source.clone();
    let set = imported.into_set("OFAC SDN", DEFAULT_FP_RATE).unwrap();
    assert_eq!(set.name(), "OFAC SDN");
    assert_eq!(set.version(), "2024-09-27");
    assert_eq!(set.source(), source);
    assert_eq!(set.len(), 9);
    assert_eq!(set.duplicates(), 1);
    let hit = set
        .lookup(&address::canonicalize("eth", NORTHWIND_ETH_LOWER).unwrap())
        .unwrap();
    assert_eq!(hit.label.as_deref(), Some("NORTHWIND HEIST COLLECTIVE"));
    let hit = set
        .lookup(&address::canonicalize("trx", TRON_AS_XBT).unwrap())
        .unwrap();
    assert_eq!(hit.label.as_deref(), Some("PETROV, Ivan"));
    assert!(
        set.lookup(
            &address::canonicalize_any("0x0000000000000000000000000000000000000001").unwrap()
        )
        .is_none()
    );
}

#[test]
fn diff_reports_added_and_removed() {
    let old = import(
        &Format::Plain,
        "old",
        format!("{NORTHWIND_ETH}\n{NORTHWIND_XBT}\n{TRON_AS_XBT}\n").as_bytes(),
    )
    .unwrap()
    .into_set("l", DEFAULT_FP_RATE)
    .unwrap();
    let new = import(
        &Format::Plain,
        "new",
        format!("{NORTHWIND_ETH_LOWER}\n{GARNET_P2SH}\n{GARNET_BECH32}\n{TRON_AS_XBT}\n")
            .as_bytes(),
    )
    .unwrap()
    .into_set("l", DEFAULT_FP_RATE)
    .unwrap();
    let on = |chain: &str, text: &str| address::canonicalize(chain, text).unwrap().to_string();
    // Every key of each address: the `3...` on bitcoin, litecoin and
    // bitcoin cash, the `1...` on bitcoin and bitcoin cash.
    let mut added = vec![
        GARNET_P2SH.to_string(),
        on("litecoin", GARNET_P2SH),
        on("bitcoin-cash", GARNET_P2SH),
        GARNET_BECH32.to_string(),
    ];
    added.sort();
    let mut removed = vec![NORTHWIND_XBT.to_string(), on("bitcoin-cash", NORTHWIND_XBT)];
    removed.sort();
    assert_eq!(
        diff(&old, &new),
        Diff {
            added,
            removed: removed.clone(),
        }
    );
    assert!(diff(&new, &new).is_empty());
    let back = diff(&new, &old);
    assert_eq!(back.added, removed);
}

#[test]
fn format_names() {
    assert_eq!("plain".parse::<Format>().unwrap(), Format::Plain);
    assert_eq!(
        "csv:Wallet Address".parse::<Format>().unwrap(),
        Format::Csv {
            column: "Wallet Address".into()
        }
    );
    assert_eq!(
        "csv".parse::<Format>().unwrap(),
        Format::Csv {
            column: "address".into()
        }
    );
    assert_eq!(
        Format::from_name("csv", Some("wallet")).unwrap(),
        Format::Csv {
            column: "wallet".into()
        }
    );
    assert!(Format::from_name("csv:a", Some("b")).is_err());
    assert!(Format::from_name("plain", Some("b")).is_err());
    assert!("csv:".parse::<Format>().is_err());
    assert!("xlsx".parse::<Format>().is_err());
    for (format, _) in all_fixtures() {
        assert_eq!(format.to_string().parse::<Format>().unwrap(), format);
    }
    for name in ["ofac-csv", "ofac-xml", "ofac-advanced-xml", "OFAC-XML"] {
        let format: Format = name.parse().unwrap();
        assert_eq!(format.to_string(), name.to_ascii_lowercase());
    }
}

#[test]
fn whole_file_errors() {
    for (format, _) in all_fixtures() {
        let err = import(&format, "x", b"abc\xff\xfe").unwrap_err();
        match format {
            // Text of a plain list: not UTF-8.
            Format::Plain | Format::Csv { .. } => assert!(
                matches!(err, ImportError::NotUtf8 { valid_up_to: 3 }),
                "{format}: {err:?}"
            ),
            // Not the shape of the OFAC formats at all.
            _ => assert!(
                matches!(err, ImportError::WrongFormat { .. }),
                "{format}: {err:?}"
            ),
        }
    }
    let err = import_file(&Format::Plain, Path::new("/nonexistent/list.txt")).unwrap_err();
    assert!(matches!(err, ImportError::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/list.txt"));
    // The wrong XML flavour is refused rather than imported as empty,
    // with the format to use.
    let err = import(&Format::OfacAdvancedXml, "x", &fixture("sdn.xml")).unwrap_err();
    assert!(
        matches!(
            &err,
            ImportError::WrongFormat {
                found: Detected::OfacXml,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("--format ofac-xml"), "{err}");
    let err = import(&Format::OfacXml, "x", &fixture("sdn_advanced.xml")).unwrap_err();
    assert!(matches!(err, ImportError::WrongFormat { .. }), "{err:?}");
    // The root is checked by the XML walker too (past detection).
    let (content, version) =
        parse(&Format::OfacXml, b"<Sanctions/>").map_or((0, None), |r| (r.0.len(), r.1));
    assert_eq!((content, version), (0, None));
    for format in [Format::OfacXml, Format::OfacAdvancedXml] {
        let err = import(&format, "x", b"").unwrap_err();
        assert!(matches!(err, ImportError::Empty { .. }), "{err}");
    }
}

#[test]
fn truncated_or_garbled_xml_is_a_clear_error() {
    let content = fixture("sdn.xml");
    let cut = &content[..content.len() / 2];
    let err = import(&Format::OfacXml, "x", cut).unwrap_err();
    assert!(matches!(err, ImportError::Xml { .. }), "{err:?}");
    // Cut after a complete element: the walker itself notices the open root.
    let end = String::from_utf8(content.clone())
        .unwrap()
        .find("</sdn:sdnEntry>")
        .unwrap()
        + "</sdn:sdnEntry>".len();
    let err = import(&Format::OfacXml, "x", &content[..end]).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, ImportError::Xml { line: 45, .. }), "{err:?}");
    assert_eq!(
        message,
        format!(
            "malformed XML at byte {end} (line 45): document ends inside <sdnList> (unclosed: sdnList)"
        )
    );

    let garbled =
        String::from_utf8(content.clone())
            .unwrap()
            .replacen("</sdn:uid>", "</sdn:uidx>", 3);
    let err = import(&Format::OfacXml, "x", garbled.as_bytes()).unwrap_err();
    match err {
        ImportError::Xml { line, .. } => assert_eq!(line, 8),
        other => panic!("unexpected {other:?}"),
    }
    let err = import(
        &Format::OfacXml,
        "x",
        b"<sdnList><sdnEntry attr=\"1></sdnList>",
    )
    .unwrap_err();
    assert!(matches!(err, ImportError::Xml { .. }), "{err:?}");
}

/// Every prefix of an XML fixture that stops before the root element closes
/// is an error, never a silently shorter list (and never a panic).
#[test]
fn every_truncation_of_the_xml_fixtures_is_refused() {
    for (format, name) in [
        (Format::OfacXml, "sdn.xml"),
        (Format::OfacAdvancedXml, "sdn_advanced.xml"),
    ] {
        let content = fixture(name);
        let root_end = content.iter().rposition(|&b| b == b'>').unwrap() + 1;
        for len in 0..root_end {
            let prefix = &content[..len];
            if std::str::from_utf8(prefix).is_err() {
                continue; // cut inside a multi-byte character: NotUtf8
            }
            assert!(
                parse(&format, prefix).is_err(),
                "{name}: prefix of {len} bytes accepted"
            );
        }
        assert!(parse(&format, &content[..root_end]).is_ok());
    }
}

/// `shared/data/ofac-sdn-2024-09-27` beside the repository (read-only; never
/// copied into the project); `RISKGATE_OFAC_DIR` overrides it.
fn real_ofac_dir() -> PathBuf {
    std::env::var_os("RISKGATE_OFAC_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ofac-sdn-2024-09-27"),
        PathBuf::from,
    )
}

/// The real per-currency OFAC lists import as plain lists: every non-blank
/// line is either accepted or reported, and the lists of implemented families
/// are accepted in full.
#[test]
fn real_ofac_per_currency_lists() {
    let dir = real_ofac_dir();
    let Ok(read_dir) = std::fs::read_dir(&dir) else {
        eprintln!(
            "SKIPPED: real OFAC lists not found at {} (shared data absent)",
            dir.display()
        );
        return;
    };
    let mut files: Vec<PathBuf> = read_dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .txt lists in {}", dir.display());
    let (mut total_accepted, mut total_rejected) = (0, 0);
    for path in &files {
        let imported = import(
            &Format::Plain,
            &path.display().to_string(),
            &std::fs::read(path).unwrap(),
        )
        .unwrap();
        let content = std::fs::read_to_string(path).unwrap();
        let lines = content.lines().filter(|l| !l.trim().is_empty()).count();
        assert_eq!(
            imported.accepted() + imported.rejected.len(),
            lines,
            "{}",
            path.display()
        );
        let name = path.file_name().unwrap().to_string_lossy();
        println!(
            "{name}: {} accepted, {} rejected",
            imported.accepted(),
            imported.rejected.len()
        );
        for r in imported.rejected.iter().take(3) {
            println!("    {r}");
        }
        total_accepted += imported.accepted();
        total_rejected += imported.rejected.len();
        let currency = name
            .trim_start_matches("sanctioned_addresses_")
            .trim_end_matches(".txt");
        // Lists whose addresses are all EVM, bitcoin or tron encodings.
        if [
            "ETH", "ARB", "BSC", "ETC", "USDC", "USDT", "TRX", "XBT", "BSV",
        ]
        .contains(&currency)
        {
            assert!(
                imported.rejected.is_empty(),
                "{name}: {:?}",
                imported.rejected
            );
            assert!(!imported.entries.is_empty());
        }
        if currency == "XBT" {
            let tron = address::canonicalize("tron", TRON_AS_XBT).unwrap();
            assert!(imported.entries.iter().any(|(c, _)| c == &tron));
        }
        if currency == "XMR" {
            // The 64-hex string on OFAC's XMR list is not an address.
            assert!(
                imported
                    .rejected
                    .iter()
                    .any(|r| r.text.len() == 64 && r.text.bytes().all(|b| b.is_ascii_hexdigit()))
            );
        }
        imported.into_set(&name, DEFAULT_FP_RATE).unwrap();
    }
    println!("total: {total_accepted} accepted, {total_rejected} rejected");
}

fn formats() -> Vec<Format> {
    all_fixtures().into_iter().map(|(f, _)| f).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        for format in formats() {
            let _ = import(&format, "fuzz", &bytes);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "[<>/a-zA-Z:=\"' &#;0-9!?\\[\\]\n-]{0,300}") {
        for format in formats() {
            let _ = import(&format, "fuzz", text.as_bytes());
        }
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0usize..5,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let (format, name) = all_fixtures().swap_remove(which);
        let mut content = fixture(name);
        for (index, byte) in edits {
            let i = index.index(content.len());
            content[i] = byte;
        }
        let _ = import(&format, "fuzz", &content);
    }
}

// ---------------------------------------------------------------------------
// Currency hints naming another family than the encoding's
// ---------------------------------------------------------------------------

fn import_plain_as(text: &str, currency: Option<&str>) -> Imported {
    let options = ImportOptions {
        currency,
        skip_invalid: true,
        ..ImportOptions::default()
    };
    // A valid last line, so that a text of invalid entries is not refused
    // as a list without addresses; its entry is taken off.
    let text = format!("{text}\n{NORTHWIND_ETH2}\n");
    let mut imported =
        import_with(&Format::Plain, "hinted.txt", text.as_bytes(), &options).expect("imports");
    let (_, filler) = imported.entries.pop().expect("the filler line");
    assert_eq!(filler.original, NORTHWIND_ETH2);
    imported
}

fn listed(set: &DesignatedSet, chain: &str, text: &str) -> bool {
    let canonical = address::canonicalize(chain, text).expect("valid address");
    set.lookup(&canonical).is_some()
}

#[test]
fn currency_family_maps_list_codes() {
    for (code, family) in [
        ("XBT", Family::Bitcoin),
        ("btc", Family::Bitcoin),
        ("BCH", Family::BitcoinCash),
        ("LTC", Family::Litecoin),
        ("ETH", Family::Evm),
        ("USDT", Family::Evm),
        ("usdc", Family::Evm),
        ("BSC", Family::Evm),
        ("ARB", Family::Evm),
        ("ETC", Family::Evm),
        ("TRX", Family::Tron),
        ("XMR", Family::Monero),
        ("XRP", Family::Xrp),
        ("ZEC", Family::Zcash),
        ("DASH", Family::Dash),
        (" DOGE ", Family::Dogecoin),
        ("BTG", Family::BitcoinGold),
        // Alias chains: the family whose key space they share.
        ("BSV", Family::Bitcoin),
        ("XVG", Family::Dogecoin),
    ] {
        assert_eq!(currency_family(code), Some(family), "{code}");
    }
    assert_eq!(currency_family("FOO"), None);
    assert_eq!(currency_family(""), None);
}

#[test]
fn bch_legacy_address_is_stored_under_bitcoin_and_bitcoin_cash() {
    let text = format!("{NORTHWIND_XBT} # BCH wallet\n");
    let imported = import_plain_as(&text, Some("BCH"));
    assert!(imported.rejected.is_empty(), "{:?}", imported.rejected);
    assert_eq!(imported.extra_keys, 1);
    let families: Vec<Family> = imported.entries.iter().map(|(c, _)| c.family()).collect();
    assert_eq!(families, vec![Family::Bitcoin, Family::BitcoinCash]);
    for (_, entry) in &imported.entries {
        assert_eq!(entry.label.as_deref(), Some("BCH wallet"));
        assert_eq!(entry.original, NORTHWIND_XBT);
    }
    let set = imported.into_set("bch", DEFAULT_FP_RATE).expect("builds");
    assert_eq!(set.len(), 2);
    assert!(listed(&set, "bitcoin", NORTHWIND_XBT));
    assert!(listed(&set, "bitcoin-cash", NORTHWIND_XBT));
    // The cashaddr form of the same hash is the same bitcoin-cash key.
    let cash = address::canonicalize("bch", NORTHWIND_XBT).expect("valid BCH legacy");
    assert!(listed(&set, "bitcoin-cash", cash.as_str()));
}

#[test]
fn without_a_hint_a_legacy_address_is_bitcoin_and_bitcoin_cash() {
    let imported = import_plain_as(&format!("{NORTHWIND_XBT}\n"), None);
    assert_eq!(imported.extra_keys, 1);
    let families: Vec<Family> = imported.entries.iter().map(|(c, _)| c.family()).collect();
    assert_eq!(families, vec![Family::Bitcoin, Family::BitcoinCash]);
    assert_eq!(
        imported.keys_per_family(),
        vec![(Family::Bitcoin, 1), (Family::BitcoinCash, 1)]
    );
    let with_hint = import_plain_as(&format!("{NORTHWIND_XBT}\n"), Some("BCH"));
    assert_eq!(with_hint.entries, imported.entries);
}

#[test]
fn ltc_hint_on_a_legacy_p2sh_address_gives_both_keys() {
    let imported = import_plain_as(&format!("{GARNET_P2SH}\n"), Some("LTC"));
    assert!(imported.rejected.is_empty(), "{:?}", imported.rejected);
    let set = imported.into_set("ltc", DEFAULT_FP_RATE).expect("builds");
    assert!(listed(&set, "bitcoin", GARNET_P2SH));
    assert!(listed(&set, "litecoin", GARNET_P2SH));
}

#[test]
fn alias_chain_hints_read_the_alias_chains_own_encodings() {
    // Verge's own P2SH version (0x21, `E...`) is not inferred, but it is an
    // alias chain's encoding: read as the verge chain reads it (dogecoin's
    // P2SH key), with or without an XVG hint.
    let verge_p2sh = bs58::encode([&[0x21u8][..], &[7u8; 20]].concat())
        .with_check()
        .into_string();
    let imported = import_plain_as(&format!("{verge_p2sh}\n"), Some("XVG"));
    assert!(imported.rejected.is_empty(), "{:?}", imported.rejected);
    assert_eq!(imported.extra_keys, 0);
    let unhinted = import_plain_as(&format!("{verge_p2sh}\n"), None);
    assert!(unhinted.rejected.is_empty(), "{:?}", unhinted.rejected);
    assert_eq!(unhinted.entries, imported.entries);
    let set = imported.into_set("xvg", DEFAULT_FP_RATE).expect("builds");
    assert!(listed(&set, "verge", &verge_p2sh));
    let doge_p2sh = bs58::encode([&[0x16u8][..], &[7u8; 20]].concat())
        .with_check()
        .into_string();
    assert!(listed(&set, "dogecoin", &doge_p2sh));
    // A BSV-labelled legacy address is bitcoin's key (and bitcoin cash's):
    // denied on every chain.
    let imported = import_plain_as(&format!("{NORTHWIND_XBT}\n"), Some("BSV"));
    assert_eq!(imported.extra_keys, 1);
    let set = imported.into_set("bsv", DEFAULT_FP_RATE).expect("builds");
    assert_eq!(set.len(), 2);
    assert!(listed(&set, "bitcoin-sv", NORTHWIND_XBT));
    assert!(listed(&set, "bitcoin", NORTHWIND_XBT));
    assert!(listed(&set, "bitcoin-cash", NORTHWIND_XBT));
}

#[test]
fn a_hint_never_overrides_a_unique_encoding() {
    // A Tron address filed under XBT, an EVM address under BCH, a bech32
    // address under LTC: valid only as what the encoding says.
    for (text, hint, family) in [
        (TRON_AS_XBT, "XBT", Family::Tron),
        (NORTHWIND_ETH, "BCH", Family::Evm),
        (GARNET_BECH32, "LTC", Family::Bitcoin),
    ] {
        let imported = import_plain_as(&format!("{text}\n"), Some(hint));
        assert!(
            imported.rejected.is_empty(),
            "{text}: {:?}",
            imported.rejected
        );
        assert_eq!(imported.extra_keys, 0, "{text} under {hint}");
        let families: Vec<Family> = imported.entries.iter().map(|(c, _)| c.family()).collect();
        assert_eq!(families, vec![family], "{text} under {hint}");
    }
}

#[test]
fn hints_change_no_key() {
    let text = format!("{NORTHWIND_XBT}\n{NORTHWIND_ETH}\n{GARNET_P2SH}\n");
    let unhinted = import_plain_as(&text, None);
    assert_eq!(unhinted.extra_keys, 3);
    for hint in ["XBT", "BTC", "BCH", "LTC", "ETH", "FOO", ""] {
        let imported = import_plain_as(&text, Some(hint));
        assert_eq!(imported.entries, unhinted.entries, "{hint}");
        assert!(imported.rejected.is_empty(), "{hint}");
    }
}

#[test]
fn a_source_currency_wins_over_the_default_hint() {
    // addresses.csv labels the legacy address XBT: the BCH default applies
    // only to entries without a currency of their own.
    let options = ImportOptions {
        currency: Some("BCH"),
        skip_invalid: true,
        ..ImportOptions::default()
    };
    let format = Format::Csv {
        column: "Wallet Address".into(),
    };
    let with_hint =
        import_with(&format, "a.csv", &fixture("addresses.csv"), &options).expect("imports");
    let without = import_fixture(&format, "addresses.csv");
    assert_eq!(with_hint.extra_keys, without.extra_keys);
    assert_eq!(with_hint.entries, without.entries);
}

#[test]
fn rejected_entries_keep_the_default_currency() {
    let imported = import_plain_as(&format!("{BAD_CHECKSUM}\n"), Some("BCH"));
    assert_eq!(imported.rejected.len(), 1);
    assert_eq!(imported.rejected[0].currency.as_deref(), Some("BCH"));
}

#[test]
fn import_reports_progress() {
    use std::sync::Mutex;
    let seen = Mutex::new(Vec::new());
    let record = |p: ImportProgress| seen.lock().expect("not poisoned").push(p);
    let options = ImportOptions {
        currency: None,
        progress: Some(&record),
        skip_invalid: true,
        comments: None,
    };
    let imported =
        import_with(&Format::Plain, "p.txt", &fixture("plain.txt"), &options).expect("imports");
    let seen = seen.into_inner().expect("not poisoned");
    let total = imported.accepted() + imported.rejected.len();
    assert_eq!(
        seen.first(),
        Some(&ImportProgress::Parsed { entries: total })
    );
    assert_eq!(
        seen.last(),
        Some(&ImportProgress::Canonicalised { done: total })
    );
}
