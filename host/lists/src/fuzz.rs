//! Fuzz entry points (used by the cargo-fuzz targets in `fuzz/` and by the
//! smoke tests that run them in CI).
//!
//! Each function takes arbitrary bytes, must return normally on every input,
//! and asserts the invariants of what it exercises: a panic is a bug (in the
//! code under test, or in the invariant). They are cheap (no wasmtime) so a
//! fuzzer runs thousands of inputs a second.
//!
//! | target | what it checks |
//! |---|---|
//! | [`address`] | canonicalisation never panics; accepted addresses are well-formed keys, idempotent, rebuilt exactly by [`Canonical::from_key`], stable under case variants (EVM, bech32, cashaddr) and surrounding whitespace; strict and inferred parsing agree |
//! | [`import_plain`], [`import_csv`], [`import_ofac_csv`], [`import_ofac_xml`], [`import_ofac_advanced`] | every parsed record is accepted or rejected with its reason, in file order, nothing dropped; the set built from the import finds every accepted key with the first entry's original and label |
//! | [`detect`] | format detection is deterministic, looks at the prefix only, never panics; content of a shape that does not fit a format is refused by that format's import (wrong format or empty), never imported; a detected format's import fails cleanly or yields entries; compressed input unpacks within its cap or fails |
//! | [`compiled_set`] | arbitrary bytes as a compiled set file are refused or open consistently (full and structure-only verification agree, lookups are bounds-safe and consistent); a set built from the input round-trips through a compiled file, and mutations of that file (with a recomputed checksum) are refused or open consistently |

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use sha2::{Digest, Sha256};

use riskgate_address::{self as address, AddressError, Canonical, Family, Kind, MAX_INPUT_LEN, MAX_KEY_LEN};
use crate::{
    self, Detected, Format, ImportError, ImportOptions, ImportProgress, Imported, Member, RawEntry,
};
use riskgate_screening::{
    self, DEFAULT_FP_RATE, DesignatedSet, Entry, MAGIC, SetBuilder, Verify, is_compiled_set,
};

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// Every target by name (the names of `fuzz/fuzz_targets/*.rs`).
pub const TARGETS: &[(&str, Target)] = &[
    ("address", address),
    ("import_plain", import_plain),
    ("import_csv", import_csv),
    ("import_ofac_csv", import_ofac_csv),
    ("import_ofac_xml", import_ofac_xml),
    ("import_ofac_advanced", import_ofac_advanced),
    ("detect", detect),
    ("compiled_set", compiled_set),
];

// ---------------------------------------------------------------- addresses

/// Address parsing: `data` as text (lossy UTF-8) through inference and every
/// family's strict parser, and `data` as a key through [`Canonical::from_key`]
/// (whose text, when the key is valid, is checked as an address too: keys
/// reach every family's valid encodings directly).
pub fn address(data: &[u8]) {
    check_text(&String::from_utf8_lossy(data));
    match Canonical::from_key(data) {
        Ok(c) => {
            assert_eq!(c.key(), data, "from_key does not rebuild its own key");
            check_canonical(&c);
            check_text(c.as_str());
        }
        Err(e) => drop(e.to_string()),
    }
}

/// Inference and every strict parser on one text.
fn check_text(s: &str) {
    let inferred = address::canonicalize_any(s);
    match &inferred {
        Ok(c) => {
            check_canonical(c);
            // Inference is idempotent: the canonical text reads as the same address.
            let again = address::canonicalize_any(c.as_str());
            assert_eq!(
                again.as_ref(),
                Ok(c),
                "inference of the canonical text of {s:?}"
            );
            check_case_variants(c, s, true);
        }
        Err(e) => drop(e.to_string()),
    }
    check_list_keys(s, &inferred);
    let padded = format!(" \t{s}\r\n");
    for family in Family::ALL {
        let strict = address::canonicalize_family(family, s);
        let by_chain = address::canonicalize(family.default_chain(), s);
        assert_eq!(
            strict, by_chain,
            "{family} by family and by chain name on {s:?}"
        );
        if padded.len() <= MAX_INPUT_LEN {
            assert_eq!(
                address::canonicalize_family(family, &padded),
                strict,
                "{family}: surrounding whitespace changes the result on {s:?}"
            );
        }
        match &strict {
            Ok(c) => {
                assert_eq!(
                    c.family(),
                    family,
                    "{family} parser returned another family"
                );
                check_canonical(c);
                // A canonical text that inference accepts must read as the
                // same address (inference may refuse a few texts that only
                // the strict parser settles, e.g. legacy Bitcoin Cash).
                // Solana has no checksum: any base58 text of 32 bytes is a
                // Solana key, including checksummed addresses of other
                // families that inference rightly reads as those.
                if family != Family::Solana
                    && let Ok(other) = address::canonicalize_any(c.as_str())
                {
                    assert_eq!(
                        other.key(),
                        c.key(),
                        "canonical {family} text {:?} infers as {}",
                        c.as_str(),
                        other.family()
                    );
                }
                check_case_variants(c, s, false);
            }
            Err(AddressError::WrongFamily { expected, found }) => {
                assert_eq!(*expected, family);
                assert_ne!(*found, family);
                assert_eq!(
                    inferred.as_ref().map(Canonical::family),
                    Ok(*found),
                    "WrongFamily names {found} but inference says otherwise on {s:?}"
                );
            }
            Err(e) => drop(e.to_string()),
        }
        // What inference accepts as a family, that family's parser accepts
        // as the same address.
        if let Ok(c) = &inferred
            && c.family() == family
        {
            assert_eq!(
                strict.as_ref(),
                Ok(c),
                "{family}: inferred but refused strictly: {s:?}"
            );
        }
    }
}

/// The keys of a list entry ([`address::list_keys`]): sorted and distinct,
/// well-formed, a superset of what inference and every family's parser
/// read, refused only as inference refuses; the same keys from every key's
/// spellings (the closure is complete), each spelling read back as its key.
fn check_list_keys(s: &str, inferred: &Result<Canonical, AddressError>) {
    let keys = match address::list_keys(s) {
        Ok(keys) => keys,
        Err(e) => {
            assert_eq!(
                inferred.as_ref().err(),
                Some(&e),
                "list_keys refuses {s:?} unlike inference"
            );
            return;
        }
    };
    let set: Vec<&[u8]> = keys.iter().map(Canonical::key).collect();
    assert!(!set.is_empty(), "no key for {s:?}");
    assert!(
        set.windows(2).all(|w| w[0] < w[1]),
        "keys of {s:?} not sorted and distinct"
    );
    if let Ok(c) = inferred {
        assert!(set.contains(&c.key()), "{s:?}: inferred key missing");
    }
    for family in Family::ALL {
        if let Ok(c) = address::canonicalize_family(family, s) {
            assert!(set.contains(&c.key()), "{s:?}: {family} key missing");
        }
    }
    for k in &keys {
        check_canonical(k);
        for spelling in address::spellings(k) {
            let again = address::list_keys(&spelling)
                .unwrap_or_else(|e| panic!("spelling {spelling:?} of {k} refused: {e}"));
            let again: Vec<&[u8]> = again.iter().map(Canonical::key).collect();
            // Solana has no checksum: one case of a bech32 text may also be
            // a base58 Solana key and the other not (upper case has no `l`),
            // so only the other keys must agree.
            let solana = Family::Solana.tag();
            let not_solana = |keys: &[&[u8]]| -> Vec<Vec<u8>> {
                keys.iter()
                    .filter(|key| key.first() != Some(&solana))
                    .map(|key| key.to_vec())
                    .collect()
            };
            if k.family() == Family::Solana {
                assert_eq!(again, set, "spelling {spelling:?} of {k} (from {s:?})");
            } else {
                assert_eq!(
                    not_solana(&again),
                    not_solana(&set),
                    "spelling {spelling:?} of {k} (from {s:?})"
                );
            }
        }
    }
}

/// Key layout, text, and exact reconstruction from the key.
fn check_canonical(c: &Canonical) {
    let key = c.key();
    assert!(
        (2..=MAX_KEY_LEN).contains(&key.len()),
        "key of {} bytes for {c:?}",
        key.len()
    );
    assert_eq!(key[0], c.family().tag(), "family tag of {c:?}");
    assert_eq!(key[1], c.kind().byte(), "kind byte of {c:?}");
    assert_eq!(c.payload(), &key[2..]);
    let n = c.payload().len();
    // The documented layout (families added later fall under the generic
    // rule of their kind).
    let layout_ok = match c.kind() {
        Kind::Witness(0) => n == 20 || n == 32,
        Kind::Witness(v) => v <= 16 && (2..=40).contains(&n),
        Kind::P2pkh | Kind::P2sh if c.family() == Family::BitcoinCash => {
            [20, 24, 28, 32, 40, 48, 56, 64].contains(&n)
        }
        Kind::P2pkh | Kind::P2sh => n == 20,
        Kind::Subaddress => c.family() == Family::Monero && n == 64,
        Kind::Account => match c.family() {
            Family::Evm | Family::Tron | Family::Xrp | Family::BnbBeacon => n == 20,
            Family::Solana => n == 32,
            Family::Monero => n == 64,
            _ => (1..=MAX_KEY_LEN - 2).contains(&n),
        },
    };
    assert!(
        layout_ok,
        "{} kind {:?} with a {n}-byte payload",
        c.family(),
        c.kind()
    );
    let text = c.as_str();
    assert_eq!(c.to_string(), text);
    assert!(
        !text.is_empty()
            && text.len() <= MAX_INPUT_LEN
            && text.bytes().all(|b| b.is_ascii_graphic()),
        "canonical text {text:?} is not printable ASCII within the input limit"
    );
    // The key alone rebuilds the same address (persisted sets rely on it:
    // an entry whose original was the canonical text is stored as the key).
    assert_eq!(
        Canonical::from_key(key).as_ref(),
        Ok(c),
        "from_key of {c:?}"
    );
    // The canonical text is a fixed point of the family's parser.
    assert_eq!(
        address::canonicalize_family(c.family(), text).as_ref(),
        Ok(c),
        "the canonical text does not parse back to itself"
    );
}

/// Spellings that differ only in case where the encoding is case-blind
/// (EVM hex, bech32 of segwit and of the BNB Beacon Chain, cashaddr) give
/// the same key.
fn check_case_variants(c: &Canonical, input: &str, inferred: bool) {
    let text = c.as_str();
    let mut variants = Vec::new();
    match (c.family(), c.kind()) {
        (Family::Evm, _) => {
            let digits = text.get(2..).unwrap_or_default();
            variants.push(format!("0x{}", digits.to_ascii_lowercase()));
            variants.push(format!("0X{}", digits.to_ascii_uppercase()));
            variants.push(input.to_ascii_lowercase());
            variants.push(input.to_ascii_uppercase());
        }
        (_, Kind::Witness(_)) | (Family::BnbBeacon, _) => {
            variants.push(text.to_ascii_uppercase());
            variants.push(input.to_ascii_lowercase());
            variants.push(input.to_ascii_uppercase());
        }
        (Family::BitcoinCash, _) => {
            variants.push(text.to_ascii_uppercase());
            // The bare (prefix-less) spelling, for every hash size.
            if let Some((_, bare)) = text.split_once(':') {
                variants.push(bare.to_string());
                variants.push(bare.to_ascii_uppercase());
            }
        }
        _ => {}
    }
    for v in &variants {
        let strict = address::canonicalize_family(c.family(), v);
        assert_eq!(
            strict.as_ref().map(Canonical::key),
            Ok(c.key()),
            "case variant {v:?} of {text:?} (input {input:?})"
        );
        if inferred {
            let any = address::canonicalize_any(v);
            assert_eq!(
                any.as_ref().map(Canonical::key),
                Ok(c.key()),
                "case variant {v:?} of {text:?} infers differently (input {input:?})"
            );
        }
    }
}

// ---------------------------------------------------------------- importers

/// Currency hints tried besides none (picked by the input's length).
const HINTS: &[&str] = &["BCH", "LTC", "XBT", "USDT", "doge", "XMR", "nonsense"];

/// Plain-list importer.
pub fn import_plain(data: &[u8]) {
    check_import(&Format::Plain, data);
}

/// CSV importer, with the default `address` column and with the column
/// name of the fixture (`Wallet Address`).
pub fn import_csv(data: &[u8]) {
    for column in [Format::DEFAULT_CSV_COLUMN, "Wallet Address"] {
        check_import(
            &Format::Csv {
                column: column.to_string(),
            },
            data,
        );
    }
}

/// OFAC `sdn.csv` importer.
pub fn import_ofac_csv(data: &[u8]) {
    check_import(&Format::OfacCsv, data);
}

/// OFAC `SDN.XML` importer.
pub fn import_ofac_xml(data: &[u8]) {
    check_import(&Format::OfacXml, data);
}

/// OFAC `SDN_ADVANCED.XML` importer.
pub fn import_ofac_advanced(data: &[u8]) {
    check_import(&Format::OfacAdvancedXml, data);
}

fn check_import(format: &Format, data: &[u8]) {
    import_once(format, data, None);
    import_once(format, data, Some(HINTS[data.len() % HINTS.len()]));
}

/// Formats tried on every input by [`detect`].
fn every_format() -> [Format; 5] {
    [
        Format::Plain,
        Format::Csv {
            column: Format::DEFAULT_CSV_COLUMN.to_string(),
        },
        Format::OfacCsv,
        Format::OfacXml,
        Format::OfacAdvancedXml,
    ]
}

fn import_once(format: &Format, data: &[u8], hint: Option<&str>) {
    let parsed = lists::parse(format, data);
    let progress = Mutex::new(Vec::new());
    let record = |p: ImportProgress| {
        if let Ok(mut v) = progress.lock() {
            v.push(p);
        }
    };
    let options = ImportOptions {
        currency: hint,
        progress: Some(&record),
        skip_invalid: true,
        comments: None,
    };
    let imported = lists::import_with(format, "fuzz", data, &options);
    let shape = lists::detect(data);
    let (raw, version, imported) = match (parsed, imported) {
        (Ok((raw, version)), Ok(imported)) => (raw, version, imported),
        // Refused before parsing: the input does not look like the format.
        (_, Err(ImportError::Empty { .. })) => {
            assert_eq!(
                shape,
                Detected::Empty,
                "{format}: empty but detected {shape}"
            );
            return;
        }
        (_, Err(ImportError::WrongFormat { found, .. })) => {
            assert_eq!(found, shape);
            assert!(
                !shape.fits(format),
                "{format}: {shape} fits but was refused"
            );
            return;
        }
        // Parsed, but nothing is an address: never an empty set.
        (Ok((raw, _)), Err(ImportError::NoAddresses { .. })) => {
            assert!(raw.is_empty(), "{format}: entries but no address reported");
            return;
        }
        (Ok((raw, _)), Err(ImportError::NoValidAddresses { count, .. })) => {
            assert_eq!(count, raw.len(), "{format}: rejected count");
            assert!(
                raw.iter()
                    .all(|r| address::canonicalize_any(&r.address).is_err()),
                "{format}: an address was refused"
            );
            return;
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string());
            return;
        }
        (a, b) => panic!("{format}: parse and import disagree: {a:?} / {b:?}"),
    };
    assert!(shape.fits(format), "{format}: imported {shape}");
    assert!(!imported.entries.is_empty(), "{format}: an empty import");
    // Without skip_invalid, a plain or CSV list with a rejected line fails.
    if matches!(format, Format::Plain | Format::Csv { .. }) && hint.is_none() {
        let strict = lists::import_with(format, "fuzz", data, &ImportOptions::default());
        match (&strict, imported.rejected.is_empty()) {
            (Ok(_), true) | (Err(ImportError::InvalidEntries { .. }), false) => {}
            _ => panic!(
                "{format}: {} rejected, strict import {strict:?}",
                imported.rejected.len()
            ),
        }
    }
    let progress = progress.into_inner().unwrap_or_default();
    check_progress(&progress, raw.len());
    assert_eq!(imported.provenance.format, *format);
    assert_eq!(imported.provenance.source, "fuzz");
    let expected_version = version.unwrap_or_else(|| screening::content_version(data));
    assert_eq!(imported.provenance.version, expected_version);
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    for r in &raw {
        assert!(
            (1..=lines).contains(&r.location.line),
            "{format}: {} of a {lines}-line input",
            r.location
        );
    }
    check_dispositions(format, &raw, &imported, hint);
    check_import_set(format, imported);
}

fn check_progress(progress: &[ImportProgress], total: usize) {
    // Parsing reports (bytes growing) come before Parsed.
    let parsing = progress
        .iter()
        .take_while(|p| matches!(p, ImportProgress::Parsing { .. }))
        .count();
    let mut bytes_before = 0;
    for p in &progress[..parsing] {
        if let ImportProgress::Parsing { bytes, total, .. } = *p {
            assert!(bytes >= bytes_before && bytes <= total, "{progress:?}");
            bytes_before = bytes;
        }
    }
    let progress = &progress[parsing..];
    assert_eq!(
        progress.first(),
        Some(&ImportProgress::Parsed { entries: total })
    );
    assert_eq!(
        progress.last(),
        Some(&ImportProgress::Canonicalised { done: total })
    );
    let mut last = 0;
    for p in progress.get(1..).unwrap_or_default() {
        match *p {
            ImportProgress::Canonicalised { done } => {
                assert!(done >= last && done <= total, "progress {progress:?}");
                last = done;
            }
            other => panic!("{other:?} after Parsed: {progress:?}"),
        }
    }
}

/// Walk the raw records in file order: each is either accepted (its keys,
/// [`address::list_keys`], in order) or rejected with the inference error as
/// its reason.
fn check_dispositions(format: &Format, raw: &[RawEntry], imported: &Imported, hint: Option<&str>) {
    let mut entries = imported.entries.iter();
    let mut rejected = imported.rejected.iter();
    let mut extra_keys = 0;
    for r in raw {
        let currency = r.currency.as_deref().or(hint);
        match address::list_keys(&r.address) {
            Ok(keys) => {
                assert!(!keys.is_empty(), "{format}: {} has no key", r.location);
                extra_keys += keys.len() - 1;
                for expected in &keys {
                    let (canonical, entry) = entries
                        .next()
                        .unwrap_or_else(|| panic!("{format}: {} accepted but missing", r.location));
                    assert_eq!(canonical, expected, "{format}: {}", r.location);
                    assert_eq!(entry.original, r.address);
                    assert_eq!(entry.label, r.label);
                }
            }
            Err(e) => {
                let rej = rejected
                    .next()
                    .unwrap_or_else(|| panic!("{format}: {} refused but not reported", r.location));
                assert_eq!(rej.location, r.location);
                assert_eq!(rej.text, r.address);
                assert_eq!(rej.currency.as_deref(), currency);
                assert_eq!(rej.label, r.label);
                assert_eq!(rej.reason, e.to_string());
                assert_eq!(
                    address::canonicalize_any(&r.address).err(),
                    Some(e),
                    "{format}: {}: list_keys and inference refuse differently",
                    r.location
                );
                assert!(!rej.reason.is_empty());
                drop(rej.to_string());
            }
        }
    }
    assert!(
        entries.next().is_none(),
        "{format}: entries without a record"
    );
    assert!(
        rejected.next().is_none(),
        "{format}: rejections without a record"
    );
    assert_eq!(imported.extra_keys, extra_keys);
}

/// The entry a set keeps for each key: the first entry's original, and its
/// label, or the first label of a later duplicate when it had none.
#[derive(Default)]
struct Model {
    order: Vec<Vec<u8>>,
    entries: HashMap<Vec<u8>, Entry>,
    pushed: usize,
}

impl Model {
    fn push(&mut self, key: &[u8], entry: Entry) {
        self.pushed += 1;
        match self.entries.get_mut(key) {
            Some(kept) => {
                if kept.label.is_none() {
                    kept.label = entry.label;
                }
            }
            None => {
                self.order.push(key.to_vec());
                self.entries.insert(key.to_vec(), entry);
            }
        }
    }

    /// `set` holds exactly the model: counts, every lookup, the iteration.
    fn check(&self, set: &DesignatedSet, what: &str) {
        assert_eq!(set.len(), self.entries.len(), "{what}: len");
        assert_eq!(
            set.len() + set.duplicates(),
            self.pushed,
            "{what}: duplicates"
        );
        for key in &self.order {
            assert_eq!(
                set.lookup_key(key).as_ref(),
                self.entries.get(key),
                "{what}: lookup of key {}",
                hex::encode(key)
            );
        }
        let mut listed = 0;
        let mut previous: Option<Vec<u8>> = None;
        for (key, entry) in set.entries() {
            assert_eq!(
                self.entries.get(key),
                Some(&entry),
                "{what}: entry {}",
                hex::encode(key)
            );
            if let Some(p) = &previous {
                assert!(
                    (p.len(), p.as_slice()) < (key.len(), key),
                    "{what}: entries not sorted by length then key"
                );
            }
            previous = Some(key.to_vec());
            listed += 1;
        }
        assert_eq!(listed, self.entries.len(), "{what}: iteration");
        assert!(set.lookup_key(&[]).is_none());
        assert!(set.lookup_key(&[0; MAX_KEY_LEN + 1]).is_none());
    }
}

fn check_import_set(format: &Format, imported: Imported) {
    let mut model = Model::default();
    for (canonical, entry) in &imported.entries {
        model.push(canonical.key(), entry.clone());
    }
    let version = imported.provenance.version.clone();
    let set = imported
        .into_set("fuzz", DEFAULT_FP_RATE)
        .unwrap_or_else(|e| panic!("{format}: the import does not build a set: {e}"));
    assert_eq!(
        (set.name(), set.version(), set.source()),
        ("fuzz", version.as_str(), "fuzz")
    );
    model.check(&set, &format!("{format} set"));
}

// ------------------------------------------------------------ detection

/// Format detection: deterministic, from the prefix alone; every format
/// that the detected shape does not fit refuses the input (the importer
/// fails closed, never yields a smaller set); the detected format's import
/// (and [`lists::import_members`] without a format) fails cleanly or
/// yields entries; a compressed input unpacks within its cap or fails.
pub fn detect(data: &[u8]) {
    let shape = lists::detect(data);
    assert_eq!(lists::detect(data), shape, "detection is not deterministic");
    let prefix = &data[..data.len().min(lists::detect::PREFIX)];
    assert_eq!(
        lists::detect(prefix),
        shape,
        "detection reads past the prefix"
    );
    assert!(!shape.to_string().is_empty());
    drop(shape.advice());
    let options = ImportOptions {
        skip_invalid: true,
        ..ImportOptions::default()
    };
    for format in every_format() {
        let result = lists::import_with(&format, "fuzz", data, &options);
        if !shape.fits(&format) {
            match result {
                Err(ImportError::WrongFormat { .. }) | Err(ImportError::Empty { .. }) => {}
                other => panic!("{format} on {shape}: {other:?}"),
            }
        }
    }
    if let Some(format) = shape.format() {
        assert!(shape.fits(&format), "{shape} does not fit its own {format}");
        match lists::import_with(&format, "fuzz", data, &options) {
            Ok(imported) => assert!(!imported.entries.is_empty(), "{format}: empty import"),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    let member = Member {
        name: "fuzz".to_string(),
        bytes: data.to_vec(),
    };
    match lists::import_members(None, std::slice::from_ref(&member), &options) {
        Ok(imported) => assert!(!imported.entries.is_empty(), "empty import"),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    if shape.is_container() {
        const LIMIT: u64 = 1 << 20;
        match lists::unpack("fuzz.gz", data.to_vec(), LIMIT) {
            Ok(members) => {
                let size: usize = members.iter().map(|m| m.bytes.len()).sum();
                assert!(size as u64 <= LIMIT, "unpacked past the cap");
                for m in &members {
                    drop(m.detected().to_string());
                }
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}

// ------------------------------------------------------------ compiled sets

/// Compiled set files. `data` itself is opened as a compiled file (refused
/// or consistent). Unless it starts with the file magic, `data` is also read
/// as `LIST [\0 OPS]`: LIST is a plain list whose lines are addresses
/// (`# label` allowed), `key:HEX` raw keys or other text used as a raw key;
/// the set built from it must hold exactly those entries, in memory and
/// through a compiled file opened with either verification. OPS mutate that
/// file (4 bytes each: op, little-endian u16 position, value); the mutated
/// file, as is and with its body length and checksum recomputed, must then be
/// refused or open consistently.
pub fn compiled_set(data: &[u8]) {
    check_file(data);
    if is_compiled_set(data) {
        check_file(&fix_up(data));
        return;
    }
    let (list, ops) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Some(bytes) = build_and_round_trip(list) else {
        return;
    };
    if !ops.is_empty() {
        let mutated = mutate(&bytes, ops);
        check_file(&mutated);
        check_file(&fix_up(&mutated));
    }
}

/// Build a set from `list` (see [`compiled_set`]), check it against the
/// model in memory and through a compiled file; the file's bytes.
fn build_and_round_trip(list: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(list);
    let mut builder = SetBuilder::new(DEFAULT_FP_RATE).expect("the default rate is valid");
    let mut model = Model::default();
    for line in text.lines() {
        let (address_part, label) = match line.split_once('#') {
            Some((a, l)) => (a.trim(), Some(l.trim()).filter(|l| !l.is_empty())),
            None => (line.trim(), None),
        };
        if address_part.is_empty() {
            continue;
        }
        let raw_key = address_part
            .strip_prefix("key:")
            .and_then(|h| hex::decode(h).ok());
        if let Some(key) = raw_key.filter(|k| !k.is_empty()) {
            // A raw key: the original is the key's canonical text (or hex).
            let pushed = builder.push_key(&key, label, None);
            if !(2..=MAX_KEY_LEN).contains(&key.len()) {
                assert!(pushed.is_err(), "a key of {} bytes was accepted", key.len());
                continue;
            }
            pushed.expect("a key of valid length is accepted");
            let original = Canonical::from_key(&key)
                .map(|c| c.as_str().to_string())
                .unwrap_or_else(|_| hex::encode(&key));
            model.push(&key, entry(label, original));
        } else if let Ok(c) = address::canonicalize_any(address_part) {
            let e = entry(label, address_part.to_string());
            builder.push(&c, &e).expect("a canonical key is accepted");
            model.push(c.key(), e);
        } else {
            // Any other text is a raw key with an explicit original.
            let key = address_part.as_bytes();
            let pushed = builder.push_key(key, label, Some(address_part));
            if !(2..=MAX_KEY_LEN).contains(&key.len()) {
                assert!(pushed.is_err(), "a key of {} bytes was accepted", key.len());
                continue;
            }
            pushed.expect("a key of valid length is accepted");
            model.push(key, entry(label, address_part.to_string()));
        }
    }
    let set = builder
        .finish("fuzz", "v1", "fuzz-source")
        .expect("a small set builds");
    model.check(&set, "built set");
    let file = TempFile::new(&[])?;
    set.write_compiled(&file.0)
        .unwrap_or_else(|e| panic!("cannot write a compiled set: {e}"));
    for verify in [Verify::Full, Verify::Structure] {
        let opened = DesignatedSet::open_compiled_with(&file.0, verify)
            .unwrap_or_else(|e| panic!("a freshly written set is refused ({verify:?}): {e}"));
        assert!(opened.is_mapped());
        assert_eq!(
            (opened.name(), opened.version(), opened.source()),
            ("fuzz", "v1", "fuzz-source")
        );
        assert_eq!(opened.fp_rate().to_bits(), set.fp_rate().to_bits());
        model.check(&opened, &format!("compiled set ({verify:?})"));
        assert!(lists::diff(&set, &opened).is_empty());
    }
    std::fs::read(&file.0).ok()
}

fn entry(label: Option<&str>, original: String) -> Entry {
    Entry {
        label: label.map(str::to_string),
        original,
    }
}

/// Apply `ops` (4 bytes each: op, u16 LE position, value) to `bytes`.
fn mutate(bytes: &[u8], ops: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for op in ops.chunks_exact(4).take(16) {
        if out.is_empty() {
            break;
        }
        let pos = usize::from(u16::from_le_bytes([op[1], op[2]])) % out.len();
        let value = op[3];
        match op[0] % 6 {
            0 => out[pos] = value,
            1 => out[pos] ^= 1 << (value % 8),
            2 => out.truncate(pos),
            3 => out.insert(pos, value),
            // A small or a huge u32 (counts, lengths, offsets).
            4 | 5 => {
                let v = if op[0] % 6 == 4 {
                    u32::from(value)
                } else {
                    u32::MAX - u32::from(value)
                };
                for (i, b) in v.to_le_bytes().into_iter().enumerate() {
                    if let Some(slot) = out.get_mut(pos + i) {
                        *slot = b;
                    }
                }
            }
            _ => unreachable!("op % 6"),
        }
    }
    out
}

/// Where the checksum sits in a compiled file's header.
const CHECKSUM_AT: std::ops::Range<usize> = 48..80;

/// `bytes` with the header's body length and checksum made to match the
/// content, so that verification gets past them to the structure.
fn fix_up(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if out.len() < CHECKSUM_AT.end {
        return out;
    }
    let header_len = u32::from_le_bytes([out[12], out[13], out[14], out[15]]) as usize;
    if let Some(body_len) = out.len().checked_sub(header_len) {
        out[16..24].copy_from_slice(&(body_len as u64).to_le_bytes());
    }
    let mut hasher = Sha256::new();
    hasher.update(&out[..CHECKSUM_AT.start]);
    hasher.update(&out[CHECKSUM_AT.end..]);
    let digest: [u8; 32] = hasher.finalize().into();
    out[CHECKSUM_AT].copy_from_slice(&digest);
    out
}

/// Open `bytes` as a compiled file with both verifications: refused, or
/// open consistently.
fn check_file(bytes: &[u8]) {
    let Some(file) = TempFile::new(bytes) else {
        return;
    };
    let full = DesignatedSet::open_compiled_with(&file.0, Verify::Full);
    let structure = DesignatedSet::open_compiled_with(&file.0, Verify::Structure);
    for result in [&full, &structure] {
        match result {
            Ok(set) => {
                assert!(bytes.starts_with(&MAGIC), "opened a file without the magic");
                check_opened(set);
            }
            Err(e) => drop(e.to_string()),
        }
    }
    match (&full, &structure) {
        (Ok(f), Ok(s)) => {
            assert_eq!(
                (f.name(), f.version(), f.source(), f.len(), f.duplicates()),
                (s.name(), s.version(), s.source(), s.len(), s.duplicates())
            );
            assert!(
                f.entries().eq(s.entries()),
                "the two verifications read different entries"
            );
        }
        (Ok(_), Err(e)) => panic!("full verification accepted what structure-only refused: {e}"),
        _ => {}
    }
}

/// Below this many keys the open-time checks are exhaustive (no sampling),
/// so a file that opens is fully consistent.
const EXHAUSTIVE_BELOW: usize = 2048;

/// Lookups on an opened (possibly corrupt but accepted) set are bounds-safe;
/// on small sets, whose every key the open-time checks saw, they are exact.
fn check_opened(set: &DesignatedSet) {
    assert!(set.is_mapped());
    let fp = set.fp_rate();
    assert!(fp > 0.0 && fp < 1.0, "fp rate {fp} accepted");
    let entries: Vec<(Vec<u8>, Entry)> = set.entries().map(|(k, e)| (k.to_vec(), e)).collect();
    assert_eq!(entries.len(), set.len(), "iteration and len disagree");
    assert_eq!(set.keys().count(), set.len());
    assert_eq!(set.entry_refs().count(), set.len());
    let exhaustive = set.len() < EXHAUSTIVE_BELOW;
    let keys: HashMap<&[u8], &Entry> = entries.iter().map(|(k, e)| (k.as_slice(), e)).collect();
    if exhaustive {
        assert_eq!(keys.len(), entries.len(), "duplicate keys accepted");
    }
    let mut previous: Option<&[u8]> = None;
    for (key, entry) in &entries {
        assert!(
            (2..=MAX_KEY_LEN).contains(&key.len()),
            "a {}-byte key",
            key.len()
        );
        if exhaustive && let Some(p) = previous {
            assert!(
                (p.len(), p) < (key.len(), key.as_slice()),
                "keys not sorted"
            );
        }
        previous = Some(key);
        let before = set.stats();
        let found = set.lookup_ref(key);
        let after = set.stats();
        assert_eq!(after.lookups, before.lookups + 1);
        if let Some(found) = found {
            assert_eq!(found.key(), key.as_slice(), "lookup returned another key");
            if exhaustive {
                assert_eq!(&found.to_entry(), entry);
            }
        } else if exhaustive {
            // A Bloom miss is allowed (the filter is data too); a Bloom hit
            // on a stored key must be confirmed.
            assert_eq!(
                after.bloom_hits,
                before.bloom_hits,
                "a stored key passed the Bloom filter and was not found: {}",
                hex::encode(key)
            );
        }
        // A neighbouring key is found only if it is stored.
        let mut other = key.clone();
        if let Some(last) = other.last_mut() {
            *last ^= 1;
        }
        if let Some(found) = set.lookup_ref(&other) {
            assert_eq!(found.key(), other.as_slice());
            if exhaustive {
                assert!(keys.contains_key(other.as_slice()), "found an absent key");
            }
        }
    }
    assert!(set.lookup_key(&[]).is_none());
    assert!(set.lookup_key(&[1]).is_none());
    assert!(set.lookup_key(&[0; MAX_KEY_LEN + 1]).is_none());
    if exhaustive {
        assert!(lists::diff(set, set).is_empty());
    }
    drop(format!("{set:?}"));
}

/// A file in the temporary directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    /// A new file holding `bytes` (`None` if the temporary directory is
    /// not writable: that is the environment, not a finding).
    fn new(bytes: &[u8]) -> Option<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = scratch_dir().join(format!(
            "riskgate-fuzz-{}-{}.set",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, bytes).ok()?;
        Some(TempFile(path))
    }
}

/// `/dev/shm` where it is a writable directory (compiled files are synced
/// to disk when written: on tmpfs that costs nothing), else the temporary
/// directory.
fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let probe = shm.join(format!("riskgate-fuzz-probe-{}", std::process::id()));
        if std::fs::write(&probe, b"").is_ok() {
            let _ = std::fs::remove_file(&probe);
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        }
    })
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    //! Every entry point over every fixture, tokens of the fixtures, keys of
    //! every family, random bytes and mutated fixtures (bounded: the fuzzer
    //! proper is `fuzz/run`).

    use std::path::{Path, PathBuf};

    use proptest::prelude::*;

    use super::*;

    fn fixtures() -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let mut items: Vec<PathBuf> = std::fs::read_dir(dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.expect("directory entry").path())
                .collect();
            items.sort();
            for p in items {
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut paths = Vec::new();
        walk(&root, &mut paths);
        assert!(
            paths.len() >= 5,
            "fixtures missing under {}",
            root.display()
        );
        paths
            .into_iter()
            .map(|p| {
                let bytes = std::fs::read(&p).expect("fixture readable");
                (p, bytes)
            })
            .collect()
    }

    /// Address-like tokens and whole lines of a fixture.
    fn tokens(bytes: &[u8]) -> Vec<String> {
        let text = String::from_utf8_lossy(bytes);
        let mut out: Vec<String> = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == ':'))
            .filter(|t| t.len() >= 20)
            .map(str::to_string)
            .collect();
        out.extend(text.lines().map(str::to_string));
        out.sort();
        out.dedup();
        out
    }

    #[test]
    fn every_target_on_every_fixture() {
        for (path, bytes) in fixtures() {
            for (name, target) in TARGETS {
                eprintln!("{name} on {}", path.display());
                target(&bytes);
            }
        }
    }

    #[test]
    fn address_on_fixture_tokens_and_their_keys() {
        let mut accepted = 0;
        for (_, bytes) in fixtures() {
            for token in tokens(&bytes) {
                address(token.as_bytes());
                if let Ok(c) = address::canonicalize_any(&token) {
                    accepted += 1;
                    address(c.key());
                }
            }
        }
        assert!(
            accepted >= 5,
            "only {accepted} fixture tokens are addresses"
        );
    }

    #[test]
    fn importers_accept_the_fixtures_they_are_for() {
        for (path, bytes) in fixtures() {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let format = match name {
                "plain.txt" => Format::Plain,
                "addresses.csv" => Format::Csv {
                    column: "Wallet Address".to_string(),
                },
                "sdn.csv" => Format::OfacCsv,
                "sdn.xml" => Format::OfacXml,
                "sdn_advanced.xml" => Format::OfacAdvancedXml,
                _ => continue,
            };
            let options = ImportOptions {
                skip_invalid: true,
                ..ImportOptions::default()
            };
            let imported =
                lists::import_with(&format, name, &bytes, &options).expect("fixture imports");
            assert!(!imported.entries.is_empty(), "{name}: nothing accepted");
            // The compiled file of a real import, as a raw compiled_set input.
            let set = imported
                .into_set(name, DEFAULT_FP_RATE)
                .expect("set builds");
            let file = TempFile::new(&[]).expect("temp dir writable");
            set.write_compiled(&file.0).expect("compiled set written");
            let compiled = std::fs::read(&file.0).expect("compiled set read");
            compiled_set(&compiled);
            for i in (0..compiled.len()).step_by(7) {
                let mut m = compiled.clone();
                m[i] ^= 0x5a;
                compiled_set(&m);
                compiled_set(&m[..i]);
            }
        }
    }

    #[test]
    fn compiled_set_round_trips_keys_of_every_shape() {
        let mut list = String::new();
        for width in [2usize, 3, 9, 10, 11, 22, 34, 66] {
            for i in 0..40u32 {
                let mut key = vec![(i % 3) as u8, (i % 2) as u8];
                key.extend((0..width - 2).map(|j| (i.wrapping_mul(37) as usize + j * 11) as u8));
                key.truncate(width);
                list.push_str(&format!("key:{} # label {}\n", hex::encode(&key), i % 5));
            }
        }
        list.push_str("key:00\nkey:\nkey:zz\nkey:");
        list.push_str(&"ab".repeat(MAX_KEY_LEN + 1));
        list.push('\n');
        compiled_set(list.as_bytes());
        let mut with_ops = list.into_bytes();
        with_ops.push(0);
        with_ops.extend_from_slice(&[4, 120, 0, 3, 1, 200, 1, 7, 0, 77, 0, 9]);
        compiled_set(&with_ops);
    }

    /// Inputs the fuzzer found (each failed an invariant that was then
    /// corrected or a bug that was then fixed).
    #[test]
    fn fuzzer_findings() {
        // A witness key whose bech32 text is also 32 bytes of base58: a
        // valid Solana key too (the strict Solana parser has no checksum).
        address(b"\x0c\x01\x02'\0\0\0\0\0\0\0\0\0\0\0y\0\x08-\x08\x08-");
        // Bitcoin Cash with a 24..=64-byte hash: its bare cashaddr (48 to
        // 112 characters) was recognised only with its prefix.
        for (kind, len) in [
            (0x20, 24),
            (0x21, 28),
            (0x20, 40),
            (0x21, 48),
            (0x20, 56),
            (0x21, 64),
        ] {
            let mut key = vec![0x05, kind];
            key.extend_from_slice(&vec![0xa5; len]);
            address(&key);
        }
    }

    /// Keys of every family, kind and payload length the layout allows (and
    /// some it does not).
    fn keys() -> impl Strategy<Value = Vec<u8>> {
        let kinds = prop::sample::select(vec![0x00u8, 0x01, 0x02, 0x10, 0x11, 0x20, 0x21, 0x22]);
        let lens = prop::sample::select(vec![0usize, 2, 19, 20, 21, 24, 28, 32, 40, 48, 56, 64]);
        (1u8..=12, kinds, lens, any::<[u8; 64]>()).prop_map(|(tag, kind, len, payload)| {
            let mut key = vec![tag, kind];
            key.extend_from_slice(&payload[..len]);
            key
        })
    }

    fn fixture_bytes() -> Vec<Vec<u8>> {
        fixtures().into_iter().map(|(_, b)| b).collect()
    }

    /// Byte edits: overwrite, insert, delete, splice a range of another fixture.
    fn mutated_fixture() -> impl Strategy<Value = Vec<u8>> {
        let n = fixture_bytes().len();
        (
            0..n,
            0..n,
            prop::collection::vec((0u8..4, any::<u16>(), any::<u16>(), any::<u8>()), 1..8),
        )
            .prop_map(|(a, b, edits)| {
                let all = fixture_bytes();
                let (mut out, other) = (all[a].clone(), &all[b]);
                for (op, pos, len, byte) in edits {
                    let at = usize::from(pos) % (out.len() + 1);
                    match op {
                        0 if at < out.len() => out[at] = byte,
                        1 => out.insert(at, byte),
                        2 => {
                            let end = (at + usize::from(len) % 64).min(out.len());
                            out.drain(at..end);
                        }
                        _ => {
                            let from = usize::from(len) % (other.len() + 1);
                            let end = (from + usize::from(byte)).min(other.len());
                            out.splice(at..at, other[from..end].iter().copied());
                        }
                    }
                }
                out
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn address_on_keys_of_every_family(key in keys()) {
            address(&key);
        }

        #[test]
        fn address_on_random_text(s in "[ 0-9a-zA-Z:]{0,120}") {
            address(s.as_bytes());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 160, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn every_target_on_random_bytes(data in prop::collection::vec(any::<u8>(), 0..600)) {
            for (_, target) in TARGETS {
                target(&data);
            }
        }

        #[test]
        fn every_target_on_mutated_fixtures(data in mutated_fixture()) {
            for (_, target) in TARGETS {
                target(&data);
            }
        }

        #[test]
        fn compiled_set_with_mutations(
            fixture in 0usize..5,
            ops in prop::collection::vec(any::<u8>(), 4..64),
        ) {
            let all = fixture_bytes();
            let mut data = all[fixture % all.len()].clone();
            data.retain(|&b| b != 0);
            data.push(0);
            data.extend_from_slice(&ops);
            compiled_set(&data);
        }
    }
}
