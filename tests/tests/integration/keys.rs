//! Key identity across chains, end to end: a designated address is denied
//! on every chain whose address format it is, in every spelling, whatever
//! currency label (or none) its list gave it.
//!
//! The real OFAC SDN digital-currency lists (2024-09-27) are imported as one
//! plain list with no currency hint, and again file by file with each file's
//! currency hint; a gate runs the bundled policies (sanctions, velocity)
//! over the set; for every address, every chain name the address module
//! knows, and every spelling of every key of the address
//! ([`address::spellings`]) that canonicalises on that chain, a withdrawal
//! is DENY. Exhaustively once, and sampled by proptest over amount, account,
//! chain-name case and whitespace.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use riskgate::Gate;
use riskgate::address::{self, Family};
use riskgate::lists::{self, Format, ImportOptions};
use riskgate::model::Verdict;
use riskgate::screening::{DEFAULT_FP_RATE, DesignatedSet, Screener};
use riskgate_tests::{T0, gate, ofac_dir, sanctions, screener_from, velocity, withdrawal};

/// Every chain name the address module knows, alias chains and the BNB
/// Beacon Chain's included (deduplicated, table order).
fn all_chains() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    let tables = [
        address::EVM_CHAINS,
        address::BITCOIN_CHAINS,
        address::TRON_CHAINS,
        address::BNB_BEACON_CHAINS,
        address::BNB_TICKER_CHAINS,
    ];
    let other = address::OTHER_CHAINS
        .iter()
        .chain(address::ALIAS_CHAINS)
        .map(|(_, names)| *names);
    for names in tables.into_iter().chain(other) {
        for &name in names {
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// Every `(file currency, address text)` of the OFAC lists, in file order.
fn ofac_entries(dir: &Path) -> Vec<(String, String)> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("OFAC directory readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let currency = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.strip_prefix("sanctioned_addresses_"))
            .unwrap_or_else(|| panic!("unexpected file {}", path.display()))
            .to_string();
        let text = std::fs::read_to_string(&path).expect("list readable");
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            out.push((currency.clone(), line.to_string()));
        }
    }
    out
}

/// One designated withdrawal to try: the listed text, a chain on which
/// `spelling` (a spelling of one of its keys) canonicalises.
#[derive(Debug, Clone)]
struct Case {
    listed: String,
    chain: &'static str,
    spelling: String,
}

/// Every (address, chain, spelling) where the spelling canonicalises on the
/// chain. Every listed address (but the XMR list's 64-hex non-address) has
/// at least one.
fn cases(entries: &[(String, String)]) -> Vec<Case> {
    let chains = all_chains();
    let mut out = Vec::new();
    for (currency, listed) in entries {
        let Ok(keys) = address::list_keys(listed) else {
            assert_eq!(
                currency, "XMR",
                "{listed}: only the XMR non-address is refused"
            );
            continue;
        };
        let mut spellings: BTreeSet<String> = BTreeSet::from([listed.clone()]);
        for key in &keys {
            spellings.extend(address::spellings(key));
        }
        let before = out.len();
        for &chain in &chains {
            for spelling in &spellings {
                if address::canonicalize(chain, spelling).is_ok() {
                    out.push(Case {
                        listed: listed.clone(),
                        chain,
                        spelling: spelling.clone(),
                    });
                }
            }
        }
        assert!(out.len() > before, "{listed}: no chain reads it");
    }
    out
}

fn bundled_gate(screener: Screener) -> Gate {
    gate(vec![sanctions("{}"), velocity("{}")], screener)
}

/// The OFAC lists as one plain list without a currency hint.
fn unhinted_set(entries: &[(String, String)]) -> DesignatedSet {
    let text: String = entries.iter().map(|(_, a)| format!("{a}\n")).collect();
    // OFAC's one 64-hex XMR entry is not an address: a plain import fails
    // on it unless told to skip (and report) it.
    let options = ImportOptions {
        skip_invalid: true,
        ..ImportOptions::default()
    };
    let imported = lists::import_with(&Format::Plain, "ofac-all.txt", text.as_bytes(), &options)
        .expect("imports");
    assert_eq!(imported.rejected.len(), 1, "{:?}", imported.rejected);
    imported.into_set("ofac", DEFAULT_FP_RATE).expect("builds")
}

/// Each OFAC file as its own set, imported with its currency hint.
fn hinted_sets(dir: &Path) -> Vec<DesignatedSet> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("OFAC directory readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let currency = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.strip_prefix("sanctioned_addresses_"))
                .expect("list file name")
                .to_string();
            let content = std::fs::read(path).expect("readable");
            let options = ImportOptions {
                currency: Some(&currency),
                skip_invalid: true,
                ..ImportOptions::default()
            };
            lists::import_with(
                &Format::Plain,
                &path.display().to_string(),
                &content,
                &options,
            )
            .expect("imports")
            .into_set(&format!("ofac-{currency}"), DEFAULT_FP_RATE)
            .expect("builds")
        })
        .collect()
}

struct Evaluator<'a> {
    gate: &'a Gate,
    next: Cell<u64>,
}

impl Evaluator<'_> {
    fn deny(&self, case: &Case, chain: &str, destination: &str, account: &str, amount: u64) {
        let n = self.next.get() + 1;
        self.next.set(n);
        let w = withdrawal(
            &format!("keys-{n}"),
            account,
            chain,
            destination,
            amount,
            T0 + n,
        );
        let d = self.gate.evaluate(&w);
        assert_eq!(
            d.verdict,
            Verdict::Deny,
            "{destination:?} on {chain} (listed as {}): {d:?}",
            case.listed
        );
    }
}

fn exhaustive(gate: &Gate, cases: &[Case]) -> usize {
    let eval = Evaluator {
        gate,
        next: Cell::new(0),
    };
    for case in cases {
        eval.deny(case, case.chain, &case.spelling, "acct", 1);
    }
    eval.next.get() as usize
}

fn families(cases: &[Case]) -> BTreeSet<Family> {
    cases
        .iter()
        .filter_map(|c| address::canonicalize(c.chain, &c.spelling).ok())
        .map(|c| c.family())
        .collect()
}

#[test]
fn every_ofac_address_unhinted_is_denied_on_every_chain_of_its_format() {
    let Some(dir) = ofac_dir() else { return };
    let entries = ofac_entries(&dir);
    let set = unhinted_set(&entries);
    let cases = cases(&entries);
    let g = bundled_gate(Screener::new(vec![set]));
    let n = exhaustive(&g, &cases);
    let chains: BTreeSet<&str> = cases.iter().map(|c| c.chain).collect();
    eprintln!(
        "{} listed texts, {n} withdrawals denied on {} chain names ({:?})",
        entries.len(),
        chains.len(),
        families(&cases)
    );
    // The shared formats reach their siblings: a `1...` on bitcoin-cash and
    // bitcoin-sv, a `3...` on litecoin, a cashaddr on bitcoin.
    for (chain, prefix) in [
        ("bitcoin-cash", "1"),
        ("bitcoin-sv", "1"),
        ("litecoin", "3"),
        ("bitcoin", "1"),
    ] {
        assert!(
            cases
                .iter()
                .any(|c| c.chain == chain && c.spelling.starts_with(prefix)),
            "{prefix}... on {chain}"
        );
    }
    assert!(n > 10_000, "{n}");

    // Sampled: any case, any amount and account, the chain name in any
    // case, the destination with surrounding whitespace.
    let mut runner = TestRunner::new(Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    });
    let eval = Evaluator {
        gate: &g,
        next: Cell::new(1_000_000),
    };
    let strategy = (
        0..cases.len(),
        1u64..1_000_000_000_000,
        "[a-z0-9]{1,12}",
        any::<bool>(),
        prop::sample::select(vec!["", " ", "\t", "\r\n", "  \n"]),
    );
    runner
        .run(&strategy, |(i, amount, account, upper, pad)| {
            let case = &cases[i];
            let chain = if upper {
                case.chain.to_ascii_uppercase()
            } else {
                case.chain.to_string()
            };
            let destination = format!("{pad}{}{pad}", case.spelling);
            eval.deny(case, &chain, &destination, &account, amount);
            Ok(())
        })
        .expect("every sampled designated withdrawal is denied");
}

#[test]
fn every_ofac_address_with_its_currency_hint_is_denied_on_every_chain_of_its_format() {
    let Some(dir) = ofac_dir() else { return };
    let entries = ofac_entries(&dir);
    let sets = hinted_sets(&dir);
    // The hint changes no key: the files' keys are the unhinted list's.
    let hinted: BTreeSet<Vec<u8>> = sets
        .iter()
        .flat_map(|s| s.keys().map(<[u8]>::to_vec).collect::<Vec<_>>())
        .collect();
    let unhinted: BTreeSet<Vec<u8>> = unhinted_set(&entries).keys().map(<[u8]>::to_vec).collect();
    assert_eq!(hinted, unhinted);
    let cases = cases(&entries);
    let g = bundled_gate(Screener::new(sets));
    let n = exhaustive(&g, &cases);
    eprintln!("hinted: {n} withdrawals denied");
}

// ------------------------------------------------------- the original bug

/// From OFAC's BCH list, legacy spelling.
const BCH_LEGACY: &str = "18M8bJWMzWHDBMxoLqjHHAffdRy4SrzkfB";
const P2SH: &str = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy";
const OFAC_BNB: &str = "bnb136ns6lfw4zs5hg4n85vdthaad7hq5m4gtkgf23";
const CLEAN_EVM: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

fn verdict(g: &Gate, id: &str, chain: &str, destination: &str) -> Verdict {
    g.evaluate(&withdrawal(id, "acct", chain, destination, 1, T0))
        .verdict
}

fn hinted_screener(text: &str, currency: Option<&str>) -> Screener {
    let options = ImportOptions {
        currency,
        ..ImportOptions::default()
    };
    let imported =
        lists::import_with(&Format::Plain, "list.txt", text.as_bytes(), &options).expect("imports");
    assert!(imported.rejected.is_empty(), "{:?}", imported.rejected);
    Screener::new(vec![
        imported.into_set("list", DEFAULT_FP_RATE).expect("builds"),
    ])
}

#[test]
fn a_plain_bch_legacy_address_is_denied_on_bitcoin_cash_in_both_spellings() {
    let cash = address::canonicalize("bitcoin-cash", BCH_LEGACY).expect("legacy bch");
    let bare = cash.as_str().trim_start_matches("bitcoincash:").to_string();
    let text = format!("{BCH_LEGACY}\n");
    // Both plain-list paths: the importer and `DesignatedSet::from_plain_text`
    // (the bundled sample list, `screener_from`).
    for (path, screener) in [
        ("import", hinted_screener(&text, None)),
        ("from_plain_text", screener_from("plain", &text)),
    ] {
        let g = bundled_gate(screener);
        for (i, (chain, destination)) in [
            ("bitcoin-cash", BCH_LEGACY),
            ("bitcoin-cash", cash.as_str()),
            ("bch", bare.as_str()),
            ("BCH", &bare.to_ascii_uppercase()),
            ("bitcoin", BCH_LEGACY),
            ("bitcoin-sv", BCH_LEGACY),
        ]
        .into_iter()
        .enumerate()
        {
            assert_eq!(
                verdict(&g, &format!("{path}-{i}"), chain, destination),
                Verdict::Deny,
                "{path}: {destination} on {chain}"
            );
        }
    }
}

#[test]
fn a_btc_labelled_legacy_address_is_denied_on_every_fork_alike() {
    let text = format!("{BCH_LEGACY}\n{P2SH}\n");
    let g = bundled_gate(hinted_screener(&text, Some("XBT")));
    let m = address::canonicalize("litecoin", P2SH).expect("litecoin legacy p2sh");
    assert!(m.as_str().starts_with('M'));
    for (i, (chain, destination)) in [
        ("bitcoin-cash", BCH_LEGACY),
        ("bitcoin-sv", BCH_LEGACY),
        ("bitcoin", BCH_LEGACY),
        ("bitcoin-cash", P2SH),
        ("bitcoin-sv", P2SH),
        ("litecoin", P2SH),
        ("ltc", m.as_str()),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(
            verdict(&g, &format!("btc-{i}"), chain, destination),
            Verdict::Deny,
            "{destination} on {chain}"
        );
    }
}

#[test]
fn bnb_beacon_addresses_are_screened_on_bnb_and_the_beacon_chain() {
    for screener in [
        hinted_screener(&format!("{OFAC_BNB}\n"), Some("BNB")),
        hinted_screener(&format!("{OFAC_BNB}\n"), None),
        screener_from("plain", &format!("{OFAC_BNB}\n")),
    ] {
        let g = bundled_gate(screener);
        for (i, chain) in ["bnb", "BNB", "bnb-beacon", "binance-chain", "bep2"]
            .into_iter()
            .enumerate()
        {
            assert_eq!(
                verdict(&g, &format!("bnb-{i}"), chain, OFAC_BNB),
                Verdict::Deny
            );
            let upper = OFAC_BNB.to_ascii_uppercase();
            assert_eq!(
                verdict(&g, &format!("bnb-up-{i}"), chain, &upper),
                Verdict::Deny
            );
        }
        // `0x...` on `bnb` is still the BNB Smart Chain: a clean one passes.
        assert_eq!(verdict(&g, "bsc-clean", "bnb", CLEAN_EVM), Verdict::Allow);
    }
}
