//! Every address of the real OFAC SDN digital-currency lists (2024-09-27),
//! imported exactly as `riskgate lists import --format plain --currency CODE`
//! imports them, is denied by the bundled sanctions policy in every spelling
//! a user could type, on every chain name of its family (alias chains
//! included); a one-bit neighbour of each kind of address is allowed.
//!
//! The spellings are built here from the decoded key with independent
//! encoders (bs58, bech32, sha3, a CashAddr encoder checked against the
//! spec), not with the host's own encoders, except EIP-55 and X-addresses,
//! which are public helpers.

use std::collections::{BTreeMap, BTreeSet};

use bech32::{Fe32, Hrp, segwit};
use riskgate::Gate;
use riskgate::address::{self, Canonical, Family, Kind};
use riskgate::lists::{self, Format, ImportOptions, Imported};
use riskgate::model::Verdict;
use riskgate::screening::{DEFAULT_FP_RATE, Screener};
use riskgate_tests::ofac_shapes::{self, Entity};
use riskgate_tests::{T0, gate, ofac_dir, sanctions, withdrawal};
use sha3::{Digest, Keccak256};

/// Per list file: addresses accepted (each once, whatever its keys), and
/// the keys beyond the first of each (the same address on sibling chains:
/// a `1...` is also bitcoin cash's, a `3...` also litecoin's and bitcoin
/// cash's, a cashaddr also bitcoin's).
const EXPECTED: [(&str, usize, usize); 17] = [
    ("ARB", 1, 0),
    // Every BCH entry has a 20-byte hash: also bitcoin's key.
    ("BCH", 7, 7),
    ("BSC", 1, 0),
    // `1...`: also bitcoin cash's key.
    ("BSV", 1, 1),
    ("BTG", 1, 0),
    ("DASH", 3, 0),
    ("ETC", 1, 0),
    ("ETH", 152, 0),
    // The one `M...`: also bitcoin's and bitcoin cash's P2SH key.
    ("LTC", 10, 2),
    ("TRX", 6, 0),
    ("USDC", 2, 0),
    // Omni: five `1...` (+1 each), two `3...` (+2 each).
    ("USDT", 26, 9),
    // 196 `1...` (+1 each), 158 `3...` (+2 each).
    ("XBT", 435, 512),
    ("XMR", 2, 0),
    ("XRP", 1, 0),
    ("XVG", 1, 0),
    ("ZEC", 3, 0),
];

/// The one entry of the lists that is not an address: 64 hex digits on the
/// XMR list (a key or transaction id).
const XMR_NON_ADDRESS: &str = "5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320";

struct List {
    currency: String,
    name: String,
    imported: Imported,
}

/// Import every file as the CLI does: plain format, the currency code of
/// the file name as the hint.
fn import_all(dir: &std::path::Path) -> Vec<List> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("OFAC directory readable")
        .map(|e| e.expect("directory entry").path())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let stem = path.file_stem().expect("file name").to_string_lossy();
            let currency = stem
                .strip_prefix("sanctioned_addresses_")
                .unwrap_or_else(|| panic!("unexpected file {}", path.display()))
                .to_string();
            let content = std::fs::read(&path).expect("list readable");
            // The XMR list holds one entry that is not an address: reported.
            let options = ImportOptions {
                currency: Some(&currency),
                skip_invalid: true,
                ..ImportOptions::default()
            };
            let imported = lists::import_with(
                &Format::Plain,
                &path.display().to_string(),
                &content,
                &options,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            List {
                name: format!("ofac-{currency}"),
                currency,
                imported,
            }
        })
        .collect()
}

// ---------------------------------------------------------------- encoders

fn b58check(version: &[u8], payload: &[u8]) -> String {
    bs58::encode([version, payload].concat())
        .with_check()
        .into_string()
}

fn xrp_classic(account: &[u8]) -> String {
    bs58::encode([&[0u8][..], account].concat())
        .with_alphabet(bs58::Alphabet::RIPPLE)
        .with_check()
        .into_string()
}

/// Lower- and upper-case bech32/bech32m segwit address.
fn segwit_both_cases(hrp: &str, version: u8, program: &[u8]) -> Vec<String> {
    let hrp = Hrp::parse(hrp).expect("hrp");
    let version = Fe32::try_from(version).expect("witness version");
    let lower = segwit::encode(hrp, version, program).expect("encodable program");
    vec![lower.to_ascii_uppercase(), lower]
}

const CASH_CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

fn cash_polymod(values: &[u8]) -> u64 {
    const GEN: [u64; 5] = [
        0x98_f2bc_8e61,
        0x79_b76d_99e2,
        0xf3_3e5f_b3c4,
        0xae_2eab_e2a8,
        0x1e_4f43_e470,
    ];
    let mut c: u64 = 1;
    for &d in values {
        let c0 = c >> 35;
        c = ((c & 0x07_ffff_ffff) << 5) ^ u64::from(d);
        for (i, g) in GEN.iter().enumerate() {
            if (c0 >> i) & 1 == 1 {
                c ^= g;
            }
        }
    }
    c ^ 1
}

/// `bitcoincash:` CashAddr of a 20-byte hash (type 0 P2PKH, 1 P2SH), lowercase.
fn cashaddr(p2sh: bool, hash: &[u8]) -> String {
    assert_eq!(hash.len(), 20, "20-byte hashes only");
    let data = [&[u8::from(p2sh) << 3][..], hash].concat();
    let mut values5 = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for byte in data {
        acc = (acc << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            values5.push(((acc >> bits) & 31) as u8);
        }
    }
    if bits > 0 {
        values5.push(((acc << (5 - bits)) & 31) as u8);
    }
    let mut values: Vec<u8> = b"bitcoincash".iter().map(|b| b & 31).collect();
    values.push(0);
    values.extend_from_slice(&values5);
    values.extend_from_slice(&[0; 8]);
    let m = cash_polymod(&values);
    let checksum = (0..8).map(|i| ((m >> (5 * (7 - i))) & 31) as u8);
    let body: String = values5
        .iter()
        .copied()
        .chain(checksum)
        .map(|v| char::from(CASH_CHARSET[usize::from(v)]))
        .collect();
    format!("bitcoincash:{body}")
}

/// Monero address: network byte + body + 4-byte keccak-256 checksum, in
/// Monero's block base58.
fn monero(network: u8, body: &[u8]) -> String {
    let mut data = vec![network];
    data.extend_from_slice(body);
    let check = Keccak256::digest(&data);
    data.extend_from_slice(&check[..4]);
    address::monero_base58_encode(&data)
}

fn is_alias(names: &[&str], chain: &str) -> bool {
    names.iter().any(|n| n.eq_ignore_ascii_case(chain))
}

/// Every text a user could type on `chain` for the address of `family`,
/// `kind` and `payload` (empty when the chain has no spelling for it: a
/// segwit address on Bitcoin SV).
fn spellings(family: Family, kind: Kind, payload: &[u8], chain: &str) -> Vec<String> {
    let base58 = |p2pkh: &[&[u8]], p2sh: &[&[u8]]| -> Vec<String> {
        let versions = match kind {
            Kind::P2pkh => p2pkh,
            Kind::P2sh => p2sh,
            other => panic!("{family}: unexpected kind {other:?}"),
        };
        versions.iter().map(|v| b58check(v, payload)).collect()
    };
    let witness_or = |hrp: &str, p2pkh: &[&[u8]], p2sh: &[&[u8]]| match kind {
        Kind::Witness(v) => segwit_both_cases(hrp, v, payload),
        _ => base58(p2pkh, p2sh),
    };
    match family {
        Family::Evm => {
            let account: [u8; 20] = payload.try_into().expect("20-byte account");
            let lower = hex::encode(account);
            let upper = lower.to_ascii_uppercase();
            vec![
                address::eip55_checksum(&account),
                format!("0x{lower}"),
                format!("0x{upper}"),
                format!("0X{lower}"),
                format!("0X{upper}"),
            ]
        }
        Family::Bitcoin if is_alias(address::BITCOIN_SV_CHAINS, chain) => match kind {
            Kind::Witness(_) => Vec::new(),
            _ => base58(&[&[0x00]], &[&[0x05]]),
        },
        Family::Bitcoin => witness_or("bc", &[&[0x00]], &[&[0x05]]),
        // `M...` and the legacy `3...` of the same script hash.
        Family::Litecoin => witness_or("ltc", &[&[0x30]], &[&[0x32], &[0x05]]),
        Family::BitcoinCash => {
            let p2sh = kind == Kind::P2sh;
            let full = cashaddr(p2sh, payload);
            let bare = full.trim_start_matches("bitcoincash:").to_string();
            let mut out = vec![
                full.to_ascii_uppercase(),
                bare.to_ascii_uppercase(),
                full,
                bare,
            ];
            out.extend(base58(&[&[0x00]], &[&[0x05]]));
            out
        }
        // Verge spells P2SH with its own version 0x21.
        Family::Dogecoin if is_alias(address::VERGE_CHAINS, chain) => {
            base58(&[&[0x1e]], &[&[0x21]])
        }
        Family::Dogecoin => base58(&[&[0x1e]], &[&[0x16]]),
        Family::Dash => base58(&[&[0x4c]], &[&[0x10]]),
        Family::Zcash => base58(&[&[0x1c, 0xb8]], &[&[0x1c, 0xbd]]),
        Family::BitcoinGold => witness_or("btg", &[&[0x26]], &[&[0x17]]),
        Family::Tron => {
            let lower = hex::encode(payload);
            vec![
                b58check(&[0x41], payload),
                format!("41{lower}"),
                format!("41{}", lower.to_ascii_uppercase()),
            ]
        }
        Family::Xrp => {
            let account: [u8; 20] = payload.try_into().expect("20-byte account");
            let mut out = vec![xrp_classic(payload)];
            for tag in [None, Some(0), Some(1), Some(104_857), Some(u32::MAX)] {
                out.push(address::encode_x_address(&account, tag));
            }
            out
        }
        Family::Solana => vec![bs58::encode(payload).into_string()],
        Family::BnbBeacon => {
            let lower = bech32::encode::<bech32::Bech32>(Hrp::parse("bnb").expect("hrp"), payload)
                .expect("20-byte account");
            vec![lower.to_ascii_uppercase(), lower]
        }
        Family::Monero => match kind {
            Kind::Subaddress => vec![monero(42, payload)],
            _ => {
                let mut out = vec![monero(18, payload)];
                // Integrated addresses: the same keys with a payment id.
                for pid in [[0u8; 8], [0x42; 8], *b"riskgate"] {
                    out.push(monero(19, &[payload, &pid].concat()));
                }
                out
            }
        },
    }
}

/// As typed, and pasted with surrounding whitespace.
fn with_whitespace(s: &str) -> [String; 2] {
    [s.to_string(), format!(" \t{s}\r\n")]
}

// ------------------------------------------------------------------ checks

struct Evaluator<'a> {
    gate: &'a Gate,
    next_id: u64,
}

impl Evaluator<'_> {
    fn verdict(&mut self, chain: &str, destination: &str) -> riskgate::Decision {
        self.next_id += 1;
        self.gate.evaluate(&withdrawal(
            &format!("ofac-variant-{}", self.next_id),
            "acct",
            chain,
            destination,
            1,
            T0,
        ))
    }
}

/// The distinct keys of every list, with the lists that hold each and the
/// texts they were listed as.
type Keys = BTreeMap<Vec<u8>, (Canonical, BTreeSet<String>, BTreeSet<String>)>;

fn distinct_keys(lists: &[List]) -> Keys {
    let mut keys = Keys::new();
    for list in lists {
        for (canonical, entry) in &list.imported.entries {
            let slot = keys
                .entry(canonical.key().to_vec())
                .or_insert_with(|| (canonical.clone(), BTreeSet::new(), BTreeSet::new()));
            slot.1.insert(list.name.clone());
            slot.2.insert(entry.original.clone());
        }
    }
    keys
}

#[test]
fn cashaddr_encoder_matches_the_spec() {
    // (legacy, cashaddr) pairs of the CashAddr specification.
    for (legacy, cash) in [
        (
            "1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggu",
            "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a",
        ),
        (
            "3LDsS579y7sruadqu11beEJoTjdFiFCdX4",
            "bitcoincash:pr95sy3j9xwd2ap32xkykttr4cvcu7as4yc93ky28e",
        ),
    ] {
        let data = bs58::decode(legacy)
            .with_check(None)
            .into_vec()
            .expect("spec legacy address");
        assert_eq!(cashaddr(data[0] == 0x05, &data[1..]), cash);
    }
}

#[test]
fn every_real_ofac_address_is_denied_in_every_spelling_on_every_chain() {
    let Some(dir) = ofac_dir() else { return };
    let lists = import_all(&dir);

    // Import: counts per file, and the one non-address.
    let mut rejected = Vec::new();
    let mut counts = Vec::new();
    for list in &lists {
        let i = &list.imported;
        let accepted = i.accepted();
        eprintln!(
            "{}: {accepted} accepted (+{} keys on sibling chains), {} rejected",
            list.currency,
            i.extra_keys,
            i.rejected.len()
        );
        counts.push((list.currency.as_str(), accepted, i.extra_keys));
        rejected.extend(
            i.rejected
                .iter()
                .map(|r| (list.currency.clone(), r.clone())),
        );
    }
    assert_eq!(counts, EXPECTED, "accepted entries per list");
    assert_eq!(rejected.len(), 1, "only the XMR non-address: {rejected:?}");
    let (currency, r) = &rejected[0];
    assert_eq!(
        (currency.as_str(), r.text.as_str()),
        ("XMR", XMR_NON_ADDRESS)
    );
    assert!(r.reason.contains("not an address"), "{}", r.reason);
    eprintln!("rejected: XMR {r}");

    let screener = Screener::new(
        lists
            .iter()
            .map(|l| {
                l.imported
                    .clone()
                    .into_set(&l.name, DEFAULT_FP_RATE)
                    .expect("set builds")
            })
            .collect(),
    );
    let g = gate(vec![sanctions("{}")], screener.clone());
    let mut eval = Evaluator {
        gate: &g,
        next_id: 0,
    };
    let keys = distinct_keys(&lists);

    // Every key, every chain name of its family, every spelling: DENY.
    let mut denied: BTreeMap<Family, usize> = BTreeMap::new();
    let mut held = 0;
    for (canonical, list_names, originals) in keys.values() {
        let (family, kind, payload) = (canonical.family(), canonical.kind(), canonical.payload());
        // The generator covers the texts the lists use; a text listed
        // under another family (a `3...` stored as litecoin's key too) has
        // this key among its keys.
        let home = spellings(family, kind, payload, family.default_chain());
        for original in originals {
            let keys = address::list_keys(original).expect("listed text");
            assert!(
                keys.iter().any(|k| k.key() == canonical.key()),
                "{original}: not a key of {canonical}"
            );
            if address::canonicalize_family(family, original).is_ok() {
                assert!(
                    home.contains(original),
                    "{original}: not among the spellings {home:?}"
                );
            }
        }
        let chains = address::chain_names(family);
        assert!(!chains.is_empty(), "{family}");
        for chain in &chains {
            let typed = spellings(family, kind, payload, chain);
            if typed.is_empty() {
                // No spelling on this chain (segwit on Bitcoin SV): the
                // listed text is refused there and held, never allowed.
                let d = eval.verdict(chain, canonical.as_str());
                assert_eq!(d.verdict, Verdict::Hold, "{canonical} on {chain}: {d:?}");
                held += 1;
                continue;
            }
            // The chain name in any case.
            let d = eval.verdict(&chain.to_ascii_uppercase(), &typed[0]);
            assert_eq!(d.verdict, Verdict::Deny, "{} on {chain}: {d:?}", typed[0]);
            *denied.entry(family).or_default() += 1;
            for text in &typed {
                let parsed = address::canonicalize(chain, text)
                    .unwrap_or_else(|e| panic!("{text} on {chain}: {e}"));
                assert_eq!(parsed.key(), canonical.key(), "{text} on {chain}");
                for destination in with_whitespace(text) {
                    let d = eval.verdict(chain, &destination);
                    assert_eq!(
                        d.verdict,
                        Verdict::Deny,
                        "{destination:?} on {chain} (listed on {list_names:?}): {d:?}"
                    );
                    assert!(
                        d.hits.iter().any(|h| list_names.contains(&h.list)),
                        "{destination:?} on {chain}: hits {:?} name none of {list_names:?}",
                        d.hits
                    );
                    *denied.entry(family).or_default() += 1;
                }
            }
        }
    }
    let total: usize = denied.values().sum();
    eprintln!(
        "{} distinct listed keys: {total} spellings denied ({denied:?}), {held} held",
        keys.len()
    );

    // A one-bit neighbour of one address of each (family, kind) is valid on
    // every chain of the family and not denied.
    let mut neighbours = BTreeSet::new();
    let mut allowed = 0;
    for (canonical, _, _) in keys.values() {
        let (family, kind) = (canonical.family(), canonical.kind());
        if !neighbours.insert((family, kind, canonical.payload().len())) {
            continue;
        }
        let mut payload = canonical.payload().to_vec();
        *payload.last_mut().expect("non-empty payload") ^= 1;
        for chain in address::chain_names(family) {
            for text in spellings(family, kind, &payload, chain) {
                let parsed = address::canonicalize(chain, &text)
                    .unwrap_or_else(|e| panic!("neighbour {text} on {chain}: {e}"));
                assert_eq!(parsed.payload(), payload.as_slice());
                assert!(screener.screen_canonical(&parsed).is_empty(), "{text}");
                let d = eval.verdict(chain, &text);
                assert_eq!(
                    d.verdict,
                    Verdict::Allow,
                    "neighbour {text} of {canonical} on {chain}: {d:?}"
                );
                allowed += 1;
            }
        }
    }
    eprintln!(
        "{} neighbours ({neighbours:?}): {allowed} spellings allowed",
        neighbours.len()
    );
    let families: BTreeSet<Family> = neighbours.iter().map(|(f, _, _)| *f).collect();
    assert_eq!(
        families.len(),
        Family::ALL.len() - 2,
        "every family but solana and bnb-beacon is listed"
    );
    assert_eq!(denied.len(), Family::ALL.len() - 2, "{denied:?}");
    assert!(total > 60_000, "{total}");
}

/// The real addresses as OFAC entities: each currency's list cut into
/// entities of 1 to 90 addresses, so the biggest ones have their remarks
/// cut in sdn.csv and continued in sdn_comments.csv.
fn real_entities(lists: &[List]) -> Vec<Entity> {
    let mut entities = Vec::new();
    let sizes = [1usize, 3, 90, 2, 17, 45];
    for list in lists {
        let text = std::fs::read_to_string(list.imported.provenance.source.as_str())
            .expect("list readable");
        let addresses: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
        let mut rest = addresses.as_slice();
        let mut k = 0;
        while !rest.is_empty() {
            let n = sizes[k % sizes.len()].min(rest.len());
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            k += 1;
            let ent_num = 40_000 + entities.len() as u32;
            entities.push(Entity {
                ent_num,
                name: format!("DESIGNATED {} GROUP {ent_num}", list.currency),
                addresses: chunk
                    .iter()
                    .map(|a| (list.currency.clone(), a.clone()))
                    .collect(),
            });
        }
    }
    entities
}

fn key_set(imported: &Imported) -> BTreeSet<Vec<u8>> {
    imported
        .entries
        .iter()
        .map(|(c, _)| c.key().to_vec())
        .collect()
}

#[test]
fn sdn_csv_with_comments_sdn_xml_and_advanced_xml_give_the_same_keys() {
    let Some(dir) = ofac_dir() else { return };
    let lists = import_all(&dir);
    let entities = real_entities(&lists);
    let plain: BTreeSet<Vec<u8>> = lists.iter().flat_map(|l| key_set(&l.imported)).collect();

    let (sdn, comments) = ofac_shapes::sdn_csv(&entities);
    let cut = entities
        .iter()
        .filter(|e| ofac_shapes::remarks(e).chars().count() > lists::REMARKS_CUT)
        .count();
    assert!(cut >= 5, "only {cut} entities have cut remarks");
    let options = ImportOptions {
        comments: Some(&comments),
        ..ImportOptions::default()
    };
    let csv = lists::import_with(&Format::OfacCsv, "sdn.csv", &sdn, &options).expect("sdn.csv");
    let xml = lists::import(
        &Format::OfacXml,
        "sdn.xml",
        &ofac_shapes::sdn_xml(&entities),
    )
    .expect("SDN.XML");
    let advanced = lists::import(
        &Format::OfacAdvancedXml,
        "sdn_advanced.xml",
        &ofac_shapes::sdn_advanced_xml(&entities, 50),
    )
    .expect("SDN_ADVANCED.XML");
    for (what, imported) in [
        ("sdn.csv", &csv),
        ("SDN.XML", &xml),
        ("ADVANCED", &advanced),
    ] {
        assert_eq!(key_set(imported), plain, "{what}");
        // The one non-address is reported, not dropped and not fatal.
        let texts: Vec<&str> = imported.rejected.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, [XMR_NON_ADDRESS], "{what}");
    }
    // sdn.csv alone fails, naming the entities that are cut.
    let err = lists::import(&Format::OfacCsv, "sdn.csv", &sdn).unwrap_err();
    assert!(
        err.to_string().contains(&format!("{cut} entities")),
        "{err}"
    );
}

/// Writes a synthetic SDN_ADVANCED.XML of about `RISKGATE_ADVANCED_MB` MB
/// (default 100, the real file's size) with the real addresses to
/// `RISKGATE_ADVANCED_OUT`, for timing `riskgate lists import` on it.
#[test]
#[ignore = "writes a large file; run by hand to measure the import"]
fn write_large_advanced_xml() {
    let Some(dir) = ofac_dir() else { return };
    let out = std::env::var("RISKGATE_ADVANCED_OUT").expect("RISKGATE_ADVANCED_OUT");
    let mb: usize = std::env::var("RISKGATE_ADVANCED_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let lists = import_all(&dir);
    let entities = real_entities(&lists);
    let probe = ofac_shapes::sdn_advanced_xml(&entities, 1000).len()
        - ofac_shapes::sdn_advanced_xml(&entities, 0).len();
    let filler = (mb << 20) / (probe / 1000);
    let xml = ofac_shapes::sdn_advanced_xml(&entities, filler);
    std::fs::write(&out, &xml).expect("write");
    eprintln!("wrote {out}: {} bytes, {filler} filler parties", xml.len());
}
