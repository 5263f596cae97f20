//! sdn.csv with its continuation, and imports that fail closed: wrong
//! format, empty, truncated, compressed inputs.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/lists")
            .join(name),
    )
    .expect("fixture is readable")
}

fn lenient() -> ImportOptions<'static> {
    ImportOptions {
        skip_invalid: true,
        ..ImportOptions::default()
    }
}

fn keys(imported: &Imported) -> BTreeSet<Vec<u8>> {
    imported
        .entries
        .iter()
        .map(|(c, _)| c.key().to_vec())
        .collect()
}

/// A valid lowercase EVM address, distinct per `i`.
fn evm(i: usize) -> String {
    let bytes: Vec<u8> = (0..20u8)
        .map(|j| (i as u8).wrapping_mul(31).wrapping_add(j.wrapping_mul(7)) ^ (i >> 8) as u8)
        .collect();
    format!("0x{}", hex::encode(bytes))
}

/// One sdn.csv row (OFAC's quoting, `-0- ` placeholders, CRLF).
fn sdn_row(ent_num: u32, name: &str, remarks: &str) -> String {
    format!(
        "{ent_num},\"{name}\",-0- ,\"CYBER2] [DPRK3\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"{remarks}\"\r\n"
    )
}

/// An entity's full remarks: `n` ETH addresses, then the usual tail.
fn long_remarks(n: usize) -> (String, Vec<String>) {
    let addresses: Vec<String> = (0..n).map(evm).collect();
    let items: Vec<String> = addresses
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let alt = if i == 0 { "" } else { "alt. " };
            format!("{alt}Digital Currency Address - ETH {a}")
        })
        .collect();
    let remarks = format!(
        "{}; Secondary sanctions risk: North Korea Sanctions Regulations, sections 510.201 and \
         510.210; Transactions Prohibited For Persons Owned or Controlled By U.S. Financial \
         Institutions: North Korea Sanctions Regulations section 510.214; Linked To: \
         RECONNAISSANCE GENERAL BUREAU.",
        items.join("; ")
    );
    (remarks, addresses)
}

/// (sdn.csv, sdn_comments.csv, every address) as OFAC publishes them: the
/// remarks of entity 20001 (`n` addresses) cut at exactly [`REMARKS_CUT`]
/// characters, the rest in the comments; entity 20002 whole.
fn ofac_pair(n: usize) -> (Vec<u8>, Vec<u8>, Vec<String>) {
    let (remarks, mut addresses) = long_remarks(n);
    assert!(
        remarks.len() > 2 * REMARKS_CUT,
        "the continuation is the larger part"
    );
    let (head, tail) = remarks.split_at(REMARKS_CUT);
    let short = format!(
        "Digital Currency Address - XBT {}.",
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"
    );
    addresses.push("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2".to_string());
    let sdn = [
        sdn_row(20001, "LAZARUS TEST GROUP", head),
        sdn_row(20002, "CINDER EXCHANGE", &short),
        "\u{1a}".to_string(),
    ]
    .concat();
    let comments = format!("20001,\"{tail}\"\r\n\u{1a}");
    (sdn.into_bytes(), comments.into_bytes(), addresses)
}

/// The keys of `addresses` imported as a plain list (an address may have
/// keys on several chains).
fn expected_keys(addresses: &[String]) -> BTreeSet<Vec<u8>> {
    let text = addresses.join("\n");
    keys(&import(&Format::Plain, "plain", text.as_bytes()).expect("valid addresses"))
}

#[test]
fn sdn_csv_with_its_continuation_finds_every_address() {
    let (sdn, comments, addresses) = ofac_pair(40);
    // More than half of the entity's addresses are past the cut.
    let cut_at = String::from_utf8_lossy(&sdn).find("\"\r\n").unwrap();
    let before = addresses
        .iter()
        .filter(|a| String::from_utf8_lossy(&sdn[..cut_at]).contains(a.as_str()))
        .count();
    assert!(
        before * 2 < addresses.len(),
        "{before} of {}",
        addresses.len()
    );
    let options = ImportOptions {
        comments: Some(&comments),
        ..ImportOptions::default()
    };
    let imported = import_with(
        &Format::OfacCsv,
        "sdn.csv + sdn_comments.csv",
        &sdn,
        &options,
    )
    .expect("the pair imports");
    assert!(imported.rejected.is_empty(), "{:?}", imported.rejected);
    assert_eq!(keys(&imported), expected_keys(&addresses));
    // Entries past the cut say where they come from.
    assert!(
        imported
            .entries
            .iter()
            .any(|(_, e)| e.label.as_deref() == Some("LAZARUS TEST GROUP"))
    );
    // Both files make the version.
    let alone = content_version(&sdn);
    assert_ne!(imported.provenance.version, alone);
}

#[test]
fn sdn_csv_alone_with_a_cut_remark_fails() {
    let (sdn, _, _) = ofac_pair(40);
    for result in [
        import(&Format::OfacCsv, "sdn.csv", &sdn),
        parse(&Format::OfacCsv, &sdn).map(|_| unreachable!()),
    ] {
        let err = result.unwrap_err();
        assert!(
            matches!(&err, ImportError::TruncatedRemarks { count: 1, ent_nums, comments_given: false } if ent_nums == &["20001"]),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("1 entity"), "{message}");
        assert!(message.contains("sdn_comments.csv"), "{message}");
    }
    // Cut inside an address item, short of the cut length: also refused.
    let mid = [
        sdn_row(
            7,
            "X",
            "Digital Currency Address - XBT 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2; alt. Digital Curr",
        ),
        "\u{1a}".into(),
    ]
    .concat();
    let err = import(&Format::OfacCsv, "sdn.csv", mid.as_bytes()).unwrap_err();
    assert!(
        matches!(err, ImportError::TruncatedRemarks { .. }),
        "{err:?}"
    );
}

#[test]
fn comments_must_belong_to_the_sdn_csv() {
    let (sdn, comments, _) = ofac_pair(30);
    let orphan = [&comments[..comments.len() - 1], b"99999,\"more\"\r\n\x1a"].concat();
    let options = ImportOptions {
        comments: Some(&orphan),
        ..ImportOptions::default()
    };
    let err = import_with(&Format::OfacCsv, "s", &sdn, &options).unwrap_err();
    assert!(
        matches!(&err, ImportError::OrphanComments { count: 1, ent_nums } if ent_nums == &["99999"]),
        "{err:?}"
    );
    // A comments file that is not one.
    let options = ImportOptions {
        comments: Some(b"<sdnList/>"),
        ..ImportOptions::default()
    };
    let err = import_with(&Format::OfacCsv, "s", &sdn, &options).unwrap_err();
    assert!(matches!(err, ImportError::WrongFormat { .. }), "{err:?}");
    // A continuation cut inside an address that the comments do not continue.
    let other = b"20002,\"x\"\r\n\x1a";
    let mid = [
        sdn_row(20002, "X", "a."),
        sdn_row(7, "Y", "alt. Digital Currency Address - XBT 1Bv"),
    ]
    .concat();
    let options = ImportOptions {
        comments: Some(other),
        ..ImportOptions::default()
    };
    let err = import_with(&Format::OfacCsv, "s", mid.as_bytes(), &options).unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::TruncatedRemarks {
                comments_given: true,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_truncated_sdn_csv_fails() {
    let (sdn, comments, _) = ofac_pair(30);
    let options = ImportOptions {
        comments: Some(&comments),
        ..ImportOptions::default()
    };
    // Cut inside the second record, and inside the comments.
    let cut = sdn.len() - 20;
    let err = import_with(&Format::OfacCsv, "s", &sdn[..cut], &options).unwrap_err();
    assert!(matches!(err, ImportError::Truncated { .. }), "{err:?}");
    let cut_comments = &comments[..comments.len() - 40];
    let options = ImportOptions {
        comments: Some(cut_comments),
        ..ImportOptions::default()
    };
    let err = import_with(&Format::OfacCsv, "s", &sdn, &options).unwrap_err();
    assert!(matches!(err, ImportError::Truncated { .. }), "{err:?}");
    // A record with fewer columns than sdn.csv's.
    let short = b"36,\"A\",-0- \r\n";
    let err = import(&Format::OfacCsv, "s", short).unwrap_err();
    assert!(matches!(err, ImportError::WrongFormat { .. }), "{err:?}");
}

/// Every importer, fed every fixture of another shape, an empty file and
/// binary data, fails with what the file looks like.
#[test]
fn every_importer_refuses_other_shapes() {
    let fixtures = [
        ("plain.txt", Format::Plain),
        (
            "addresses.csv",
            Format::Csv {
                column: "Wallet Address".into(),
            },
        ),
        ("sdn.csv", Format::OfacCsv),
        ("sdn.xml", Format::OfacXml),
        ("sdn_advanced.xml", Format::OfacAdvancedXml),
    ];
    let extra: [(&str, &[u8]); 6] = [
        (
            "json",
            b"{\"addresses\": [\"0x098B716B8Aaf21512996dC57EB0615e2383E2f96\"]}",
        ),
        (
            "html",
            b"<!DOCTYPE html><html><body>Access denied</body></html>",
        ),
        ("other xml", b"<?xml version=\"1.0\"?><Head><x/></Head>"),
        ("binary", b"\x00\x01\x02\x03\x04garbage"),
        ("gzip", b"\x1f\x8b\x08\x00\x00\x00\x00\x00"),
        (
            "comments",
            b"20001,\"Digital Currency Address - XBT 1Bv.\"\r\n",
        ),
    ];
    for (_, format) in &fixtures {
        for (other, other_format) in &fixtures {
            let content = fixture(other);
            let result = import_with(format, other, &content, &lenient());
            if format == other_format
                || (matches!(format, Format::Csv { .. }) && *other_format == Format::Plain)
            {
                continue;
            }
            let err = result.unwrap_err();
            let message = err.to_string();
            assert!(
                matches!(err, ImportError::WrongFormat { .. }),
                "{format} on {other}: {message}"
            );
            assert!(
                message.contains(&format!("--format {other_format}"))
                    || (matches!(other_format, Format::Csv { .. })
                        && message.contains("--format csv")),
                "{format} on {other}: {message}"
            );
        }
        for (what, content) in &extra {
            let err = import_with(format, what, content, &lenient()).unwrap_err();
            assert!(
                matches!(err, ImportError::WrongFormat { .. }),
                "{format} on {what}: {err}"
            );
        }
        for empty in [&b""[..], b"\r\n\x1a", b"  \n"] {
            let err = import_with(format, "empty", empty, &lenient()).unwrap_err();
            assert!(matches!(err, ImportError::Empty { .. }), "{format}: {err}");
            assert!(err.to_string().contains("empty"));
        }
    }
    // Another XML schema names its root and the accepted formats.
    let err = import(&Format::OfacXml, "x", b"<Head><a/></Head>").unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("<Head>")
            && message.contains("ofac-xml")
            && message.contains("ofac-advanced-xml"),
        "{message}"
    );
    // A compressed file is named as such, not "not valid UTF-8".
    let err = import(&Format::Plain, "x.gz", &gzip(&fixture("plain.txt"))).unwrap_err();
    assert!(err.to_string().contains("gzip"), "{err}");
}

#[test]
fn no_address_in_a_non_empty_input_fails() {
    // OFAC files without a single digital currency address.
    let sdn = [sdn_row(1, "A", "DOB 1970."), "\u{1a}".into()].concat();
    let err = import(&Format::OfacCsv, "sdn.csv", sdn.as_bytes()).unwrap_err();
    assert!(matches!(err, ImportError::NoAddresses { .. }), "{err:?}");
    let xml = "<sdnList><sdnEntry><uid>1</uid><lastName>A</lastName></sdnEntry></sdnList>";
    let err = import(&Format::OfacXml, "sdn.xml", xml.as_bytes()).unwrap_err();
    assert!(matches!(err, ImportError::NoAddresses { .. }), "{err:?}");
    // Only invalid lines, even with skip_invalid.
    let err = import_with(&Format::Plain, "p", b"nonsense\nmore\n", &lenient()).unwrap_err();
    assert!(
        matches!(err, ImportError::NoValidAddresses { count: 2, .. }),
        "{err:?}"
    );
}

#[test]
fn a_plain_line_that_is_not_an_address_fails_unless_skipped() {
    let content = fixture("plain.txt");
    let err = import(&Format::Plain, "plain.txt", &content).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, ImportError::InvalidEntries { count: 2, .. }),
        "{message}"
    );
    assert!(message.starts_with("plain.txt:line 12"), "{message}");
    assert!(message.contains("--skip-invalid"), "{message}");
    let imported = import_with(&Format::Plain, "plain.txt", &content, &lenient()).unwrap();
    assert_eq!(imported.rejected.len(), 2);
}

// ---------------------------------------------------------------- compressed

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut w =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        w.start_file(*name, options).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn compressed_inputs_import_the_same_set() {
    let fixtures = [
        ("plain.txt", Format::Plain),
        (
            "addresses.csv",
            Format::Csv {
                column: "Wallet Address".into(),
            },
        ),
        ("sdn.csv", Format::OfacCsv),
        ("sdn.xml", Format::OfacXml),
        ("sdn_advanced.xml", Format::OfacAdvancedXml),
    ];
    for (name, format) in &fixtures {
        let content = fixture(name);
        let plain = import_with(format, name, &content, &lenient()).unwrap();
        for (kind, packed) in [
            ("gz", gzip(&content)),
            ("xz", xz(&content)),
            ("zip", zip(&[(name, &content)])),
            ("zip.gz", gzip(&zip(&[(name, &content)]))),
        ] {
            let shown = format!("{name}.{kind}");
            let members = unpack(&shown, packed.clone(), MAX_DECOMPRESSED).unwrap();
            assert_eq!(members.len(), 1, "{shown}");
            assert_eq!(members[0].bytes, content, "{shown}");
            for declared in [Some(format), None] {
                if declared.is_none() && matches!(format, Format::Csv { .. }) {
                    // Detected as csv:Wallet Address: the same.
                }
                let imported = import_members(declared, &members, &lenient())
                    .unwrap_or_else(|e| panic!("{shown} ({declared:?}): {e}"));
                assert_eq!(keys(&imported), keys(&plain), "{shown}");
                assert_eq!(imported.provenance.format, *format, "{shown}");
            }
            // Truncated compressed data fails, never a partial list.
            let cut = &packed[..packed.len() * 2 / 3];
            let result = unpack(&shown, cut.to_vec(), MAX_DECOMPRESSED)
                .and_then(|m| import_members(Some(format), &m, &lenient()));
            assert!(result.is_err(), "{shown} cut short imported");
        }
    }
}

#[test]
fn decompression_is_capped() {
    let big = vec![b'a'; 3 << 20];
    for packed in [gzip(&big), xz(&big), zip(&[("big.txt", &big)])] {
        let err = unpack("bomb", packed, 1 << 20).unwrap_err();
        assert!(matches!(err, ImportError::TooLarge { .. }), "{err:?}");
        assert!(err.to_string().contains("decompression bomb"), "{err}");
    }
    // Members add up against one budget.
    let part = vec![b'b'; 600 << 10];
    let err = unpack("two", zip(&[("a", &part), ("b", &part)]), 1 << 20).unwrap_err();
    assert!(matches!(err, ImportError::TooLarge { .. }), "{err:?}");
}

#[test]
fn ofac_zip_and_directory_give_sdn_csv_with_its_comments() {
    let (sdn, comments, addresses) = ofac_pair(40);
    let expected = expected_keys(&addresses);
    let archive = zip(&[
        ("SDN.CSV", &sdn),
        (
            "ADD.CSV",
            b"20001,1,-0- ,-0- ,\"Korea, North\",-0- \r\n\x1a",
        ),
        ("SDN_COMMENTS.CSV", &comments),
    ]);
    let members = unpack("SDN.ZIP", archive, MAX_DECOMPRESSED).unwrap();
    for format in [Some(&Format::OfacCsv), None] {
        let imported = import_members(format, &members, &ImportOptions::default()).unwrap();
        assert_eq!(keys(&imported), expected);
        assert_eq!(
            imported.provenance.source,
            "SDN.ZIP:SDN.CSV + SDN.ZIP:SDN_COMMENTS.CSV"
        );
    }
    // Two paths, in either order, and a directory.
    let dir = tempfile::tempdir().unwrap();
    let sdn_path = dir.path().join("sdn.csv");
    let comments_path = dir.path().join("sdn_comments.csv");
    std::fs::write(&sdn_path, &sdn).unwrap();
    std::fs::write(&comments_path, &comments).unwrap();
    let seen = std::sync::Mutex::new(Vec::new());
    let record = |p: ImportProgress| seen.lock().unwrap().push(p);
    let options = ImportOptions {
        progress: Some(&record),
        ..ImportOptions::default()
    };
    for paths in [
        vec![sdn_path.clone(), comments_path.clone()],
        vec![comments_path.clone(), sdn_path.clone()],
        vec![dir.path().to_path_buf()],
    ] {
        let imported =
            import_paths(Some(&Format::OfacCsv), &paths, MAX_DECOMPRESSED, &options).unwrap();
        assert_eq!(keys(&imported), expected);
    }
    let total = (sdn.len() + comments.len()) as u64;
    assert!(seen.lock().unwrap().contains(&ImportProgress::Read {
        bytes: total,
        total
    }));
    // sdn.csv alone among the members: the cut remark fails.
    let err = import_paths(
        Some(&Format::OfacCsv),
        std::slice::from_ref(&sdn_path),
        MAX_DECOMPRESSED,
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ImportError::TruncatedRemarks { .. }), "{err}");
    // A ZIP without sdn.csv names what it holds.
    let members = unpack(
        "X.ZIP",
        zip(&[("a.txt", b"hello world\n")]),
        MAX_DECOMPRESSED,
    )
    .unwrap();
    let err =
        import_members(Some(&Format::OfacCsv), &members, &ImportOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("hello") || err.to_string().contains("text"),
        "{err}"
    );
}
