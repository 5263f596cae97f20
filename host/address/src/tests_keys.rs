//! Key identity across chains ([`list_keys`], [`spellings`]) and the BNB
//! Beacon Chain family.

use bech32::{Bech32, Bech32m, Hrp, segwit};

use super::*;

/// The OFAC-listed BNB Beacon Chain address (SDN, `Digital Currency Address - BNB`).
const OFAC_BNB: &str = "bnb136ns6lfw4zs5hg4n85vdthaad7hq5m4gtkgf23";
/// The example account of the Binance Chain documentation.
const DOCS_BNB: &str = "bnb1grpf0955h0ykzq3ar5nmum7y6gdfl6lxfn46h2";
const GENESIS: &str = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";
const P2SH: &str = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy";
/// From OFAC's BCH list: a legacy spelling and a cashaddr.
const OFAC_BCH_LEGACY: &str = "18M8bJWMzWHDBMxoLqjHHAffdRy4SrzkfB";
const OFAC_BCH_CASHADDR: &str = "qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq";
const OFAC_LTC: &str = "LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb";
const OFAC_BSV: &str = "12sjrrhoFEsedNRhtgwvvRqjFTh8fZTDX9";
const OFAC_XVG: &str = "DFFJhnQNZf8rf67tYnesPu7MuGUpYtzv7Z";
const SEGWIT: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";

fn keys(text: &str) -> Vec<Canonical> {
    list_keys(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// (family, kind) of every key of `text`.
fn shape(text: &str) -> Vec<(Family, Kind)> {
    keys(text).iter().map(|c| (c.family(), c.kind())).collect()
}

fn chain_key(chain: &str, text: &str) -> Vec<u8> {
    canonicalize(chain, text)
        .unwrap_or_else(|e| panic!("{text} on {chain}: {e}"))
        .key()
        .to_vec()
}

fn has_key(text: &str, key: &[u8]) -> bool {
    keys(text).iter().any(|c| c.key() == key)
}

fn b58check(version: &[u8], payload: &[u8]) -> String {
    bs58::encode([version, payload].concat())
        .with_check()
        .into_string()
}

#[test]
fn bitcoin_p2pkh_is_a_bitcoin_and_a_bitcoin_cash_key() {
    assert_eq!(
        shape(GENESIS),
        [
            (Family::Bitcoin, Kind::P2pkh),
            (Family::BitcoinCash, Kind::P2pkh)
        ]
    );
    for chain in ["bitcoin", "btc", "bitcoin-cash", "bch", "bitcoin-sv", "bsv"] {
        assert!(has_key(GENESIS, &chain_key(chain, GENESIS)), "{chain}");
    }
    // The cashaddr spelling of the same hash on bitcoin-cash too.
    let cash = canonicalize("bitcoin-cash", GENESIS).expect("legacy");
    assert!(has_key(GENESIS, &chain_key("bitcoin-cash", cash.as_str())));
}

#[test]
fn bitcoin_p2sh_is_a_bitcoin_bitcoin_cash_and_litecoin_key() {
    assert_eq!(
        shape(P2SH),
        [
            (Family::Bitcoin, Kind::P2sh),
            (Family::Litecoin, Kind::P2sh),
            (Family::BitcoinCash, Kind::P2sh)
        ]
    );
    for chain in ["bitcoin", "bitcoin-cash", "bitcoin-sv", "litecoin", "ltc"] {
        assert!(has_key(P2SH, &chain_key(chain, P2SH)), "{chain}");
    }
    // Every key carries its family's canonical text.
    let texts: Vec<String> = keys(P2SH).iter().map(|c| c.to_string()).collect();
    assert_eq!(texts[0], P2SH);
    assert!(texts[1].starts_with('M'), "{texts:?}");
    assert!(texts[2].starts_with("bitcoincash:p"), "{texts:?}");
}

#[test]
fn bitcoin_cash_legacy_and_cashaddr_have_the_same_keys() {
    let legacy = keys(OFAC_BCH_LEGACY);
    assert_eq!(
        shape(OFAC_BCH_LEGACY),
        [
            (Family::Bitcoin, Kind::P2pkh),
            (Family::BitcoinCash, Kind::P2pkh)
        ]
    );
    let cash = canonicalize("bitcoin-cash", OFAC_BCH_LEGACY).expect("legacy");
    for spelling in [cash.as_str(), &cash.as_str()["bitcoincash:".len()..]] {
        assert_eq!(keys(spelling), legacy, "{spelling}");
    }
    // A cashaddr from the list keys bitcoin P2PKH of its hash as well.
    let listed = keys(OFAC_BCH_CASHADDR);
    assert_eq!(listed.len(), 2);
    let bch = chain_key("bitcoin-cash", OFAC_BCH_CASHADDR);
    assert!(listed.iter().any(|c| c.key() == bch));
    let legacy_text = b58check(
        &[0x00],
        canonicalize_any(OFAC_BCH_CASHADDR).unwrap().payload(),
    );
    for chain in ["bitcoin", "bitcoin-cash", "bitcoin-sv"] {
        assert!(has_key(OFAC_BCH_CASHADDR, &chain_key(chain, &legacy_text)));
    }
    // A 32-byte cashaddr hash has no legacy spelling: bitcoin-cash only.
    let p2sh32 = cashaddr::encode("bitcoincash", 0x0b, &[7; 32]);
    assert_eq!(shape(&p2sh32), [(Family::BitcoinCash, Kind::P2sh)]);
}

#[test]
fn litecoin_p2sh_m_and_3_share_keys_litecoin_p2pkh_does_not() {
    let hash = [0x42; 20];
    let m = b58check(&[0x32], &hash);
    let three = b58check(&[0x05], &hash);
    assert_eq!(keys(&m), keys(&three));
    assert_eq!(
        shape(&m),
        [
            (Family::Bitcoin, Kind::P2sh),
            (Family::Litecoin, Kind::P2sh),
            (Family::BitcoinCash, Kind::P2sh)
        ]
    );
    for chain in ["litecoin", "bitcoin", "bitcoin-cash"] {
        assert!(has_key(&m, &chain_key(chain, &three)), "{chain}");
    }
    // Negatives: a litecoin `L...` and its segwit are litecoin only; a bc1 bitcoin only.
    assert_eq!(shape(OFAC_LTC), [(Family::Litecoin, Kind::P2pkh)]);
    let ltc1 = segwit::encode(Hrp::parse("ltc").unwrap(), segwit::VERSION_0, &hash).unwrap();
    assert_eq!(shape(&ltc1), [(Family::Litecoin, Kind::Witness(0))]);
    assert_eq!(shape(SEGWIT), [(Family::Bitcoin, Kind::Witness(0))]);
    assert_eq!(shape(&SEGWIT.to_ascii_uppercase()), shape(SEGWIT));
}

#[test]
fn bitcoin_sv_and_verge_share_their_siblings_keys() {
    assert_eq!(
        shape(OFAC_BSV),
        [
            (Family::Bitcoin, Kind::P2pkh),
            (Family::BitcoinCash, Kind::P2pkh)
        ]
    );
    assert!(has_key(OFAC_BSV, &chain_key("bitcoin-sv", OFAC_BSV)));
    assert!(has_key(OFAC_BSV, &chain_key("bitcoin-cash", OFAC_BSV)));
    // Verge's `D...` is dogecoin's key.
    assert_eq!(shape(OFAC_XVG), [(Family::Dogecoin, Kind::P2pkh)]);
    assert!(has_key(OFAC_XVG, &chain_key("verge", OFAC_XVG)));
    assert!(has_key(OFAC_XVG, &chain_key("dogecoin", OFAC_XVG)));
    // Verge's `E...` P2SH and dogecoin's P2SH of the same hash: one key,
    // without any currency hint, with dogecoin's canonical text.
    let hash = [0x17; 20];
    let e = b58check(&[0x21], &hash);
    let doge = b58check(&[0x16], &hash);
    assert!(
        canonicalize_any(&e).is_err(),
        "inference does not read E..."
    );
    assert_eq!(keys(&e), keys(&doge));
    assert_eq!(shape(&e), [(Family::Dogecoin, Kind::P2sh)]);
    assert_eq!(keys(&e)[0].as_str(), doge);
    assert!(has_key(&e, &chain_key("verge", &e)));
    assert!(has_key(&doge, &chain_key("verge", &e)));
}

#[test]
fn other_families_are_one_key() {
    for text in [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq",
        "t1MMXtBrSp1XG38Lx9cePcNUCJj5vdWfUWL",
        "XnPFsRWTaSgiVauosEwQ6dEitGYXgwznz2",
        "rnXyVQzgxZe7TR1EPzTkGj2jxH4LMJYh66",
        "GPwg61XoHqQPNmAucFACuQ5H9sGCDv9TpS",
        OFAC_BNB,
    ] {
        let k = keys(text);
        assert_eq!(k.len(), 1, "{text}: {k:?}");
        assert_eq!(k[0].key(), canonicalize_any(text).unwrap().key(), "{text}");
    }
}

#[test]
fn list_keys_is_deterministic_sorted_and_refuses_like_inference() {
    for text in [
        GENESIS,
        P2SH,
        OFAC_BCH_CASHADDR,
        OFAC_BCH_LEGACY,
        OFAC_XVG,
        OFAC_BNB,
    ] {
        let a = keys(text);
        let b = keys(&format!("  {text}\t"));
        assert_eq!(a, b, "{text}");
        assert!(a.windows(2).all(|w| w[0].key() < w[1].key()), "{text}");
        // The keys of any key's text are the same keys.
        for k in &a {
            assert_eq!(keys(k.as_str()), a, "{text} via {k}");
        }
    }
    for bad in [
        "",
        "   ",
        "hello",
        "0x1234",
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",
    ] {
        assert_eq!(list_keys(bad).err(), canonicalize_any(bad).err(), "{bad:?}");
    }
}

#[test]
fn every_spelling_reads_back_as_its_key() {
    let mut samples: Vec<Canonical> = [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq",
        GENESIS,
        P2SH,
        SEGWIT,
        OFAC_BCH_CASHADDR,
        OFAC_LTC,
        OFAC_XVG,
        "rnXyVQzgxZe7TR1EPzTkGj2jxH4LMJYh66",
        "t1MMXtBrSp1XG38Lx9cePcNUCJj5vdWfUWL",
        "XnPFsRWTaSgiVauosEwQ6dEitGYXgwznz2",
        "GPwg61XoHqQPNmAucFACuQ5H9sGCDv9TpS",
        "49HqitRzdnhYjgTEAhgGpCfsjdTeMbUTU6cyR4JV1R7k2Eej9rGT8JpFiYDa4tZM6RZiFrHmMzgSrhHEqpDYKBe5B2ufNsL",
        "884Bz8UH63aYsjVdkfWfScRYWZGGNbjFL7pztqvWNSrtYT4reFSwyvkCj9KEGUtheHhhMUj87ciTBFyzoesrMJ4L1FvSoxL",
        OFAC_BNB,
    ]
    .iter()
    .flat_map(|t| keys(t))
    .collect();
    samples.push(canonicalize("verge", &b58check(&[0x21], &[9; 20])).unwrap());
    samples.push(canonicalize("solana", &bs58::encode([3u8; 32]).into_string()).unwrap());
    for c in &samples {
        let all = spellings(c);
        let canonical = Canonical::from_key(c.key()).unwrap();
        assert_eq!(all.first(), Some(&canonical.to_string()), "{c}");
        let mut unique = all.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), all.len(), "{c}: duplicate spellings");
        for s in &all {
            let on_some_chain = keys(s).iter().any(|k| k.key() == c.key());
            assert!(on_some_chain, "{c}: spelling {s:?} does not read back");
        }
    }
    let evm = canonicalize_any("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").unwrap();
    let evm_spellings = spellings(&evm);
    for expected in [
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
        "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED",
        "0X5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
    ] {
        assert!(evm_spellings.iter().any(|s| s == expected), "{expected}");
    }
    let cash = canonicalize_any(OFAC_BCH_CASHADDR).unwrap();
    let cash_spellings = spellings(&cash);
    for expected in [
        OFAC_BCH_CASHADDR.to_string(),
        OFAC_BCH_CASHADDR.to_ascii_uppercase(),
        format!("bitcoincash:{OFAC_BCH_CASHADDR}").to_ascii_uppercase(),
        b58check(&[0x00], cash.payload()),
    ] {
        assert!(cash_spellings.contains(&expected), "{expected}");
    }
    assert!(
        cash_spellings
            .iter()
            .any(|s| s.starts_with("bitcoincash:z"))
    );
    let ltc = keys(P2SH).remove(1);
    let ltc_spellings = spellings(&ltc);
    assert!(ltc_spellings.iter().any(|s| s.starts_with('M')));
    assert!(ltc_spellings.iter().any(|s| s == P2SH));
    let tron = canonicalize_any("TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq").unwrap();
    assert!(spellings(&tron).contains(&format!("41{}", hex::encode(tron.payload()))));
    let xrp = canonicalize_any("rnXyVQzgxZe7TR1EPzTkGj2jxH4LMJYh66").unwrap();
    assert!(spellings(&xrp).iter().any(|s| s.starts_with('X')));
    let bnb = canonicalize_any(OFAC_BNB).unwrap();
    assert!(spellings(&bnb).contains(&OFAC_BNB.to_ascii_uppercase()));
}

// ------------------------------------------------------------ BNB Beacon Chain

/// BIP-173's bech32 checksum, written out independently of the `bech32`
/// crate, to cross-check the vectors.
fn bip173_checksum_ok(s: &str) -> bool {
    const CHARSET: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    const GEN: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let s = s.to_ascii_lowercase();
    let Some(pos) = s.rfind('1') else {
        return false;
    };
    let (hrp, data) = (&s[..pos], &s[pos + 1..]);
    let mut values: Vec<u32> = hrp.bytes().map(|b| u32::from(b >> 5)).collect();
    values.push(0);
    values.extend(hrp.bytes().map(|b| u32::from(b & 31)));
    for c in data.chars() {
        match CHARSET.find(c) {
            Some(v) => values.push(v as u32),
            None => return false,
        }
    }
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x1ffffff) << 5) ^ v;
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk == 1
}

#[test]
fn bnb_beacon_vectors() {
    for text in [OFAC_BNB, DOCS_BNB] {
        assert!(bip173_checksum_ok(text), "{text}: independent checksum");
        let c = canonicalize_any(text).expect("bnb1 is inferred");
        assert_eq!(c.family(), Family::BnbBeacon);
        assert_eq!(c.kind(), Kind::Account);
        assert_eq!(c.key()[0], 0x0d);
        assert_eq!(c.key()[1], 0x00);
        assert_eq!(c.payload().len(), 20);
        assert_eq!(c.as_str(), text);
        assert_eq!(Canonical::from_key(c.key()), Ok(c.clone()));
        for chain in BNB_BEACON_CHAINS.iter().chain(BNB_TICKER_CHAINS) {
            assert_eq!(canonicalize(chain, text), Ok(c.clone()), "{chain}");
        }
        assert_eq!(
            canonicalize("BNB", &text.to_ascii_uppercase()),
            Ok(c.clone())
        );
        assert_eq!(
            canonicalize("bitcoin", text),
            Err(AddressError::WrongFamily {
                expected: Family::Bitcoin,
                found: Family::BnbBeacon
            })
        );
        assert_eq!(
            canonicalize("ethereum", text),
            Err(AddressError::WrongFamily {
                expected: Family::Evm,
                found: Family::BnbBeacon
            })
        );
        // Re-encoding the payload independently gives the same text.
        let again = bech32::encode::<Bech32>(Hrp::parse("bnb").unwrap(), c.payload()).unwrap();
        assert_eq!(again, text);
        assert!(bip173_checksum_ok(&again));
    }
    // `0x...` on chain `bnb` stays the BNB Smart Chain (evm).
    let evm = canonicalize("bnb", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").unwrap();
    assert_eq!(evm.family(), Family::Evm);
    assert_eq!(family_for_chain("bnb"), Some(Family::Evm));
    assert_eq!(family_for_chain("bnb-beacon"), Some(Family::BnbBeacon));
    assert_eq!(Family::BnbBeacon.default_chain(), "bnb-beacon");
    assert_eq!(
        serde_json::to_string(&Family::BnbBeacon).unwrap(),
        "\"bnb-beacon\""
    );
    assert_eq!(chain_names(Family::BnbBeacon), BNB_BEACON_CHAINS);
}

#[test]
fn bnb_beacon_errors() {
    let payload = canonicalize_any(OFAC_BNB).unwrap().payload().to_vec();
    let testnet = bech32::encode::<Bech32>(Hrp::parse("tbnb").unwrap(), &payload).unwrap();
    for chain in ["bnb-beacon", "bnb"] {
        assert!(
            matches!(
                canonicalize(chain, &testnet),
                Err(AddressError::WrongNetwork(_))
            ),
            "{chain}"
        );
    }
    assert!(matches!(
        canonicalize_any(&testnet),
        Err(AddressError::WrongNetwork(_))
    ));
    let bech32m = bech32::encode::<Bech32m>(Hrp::parse("bnb").unwrap(), &payload).unwrap();
    assert!(matches!(
        canonicalize("bnb-beacon", &bech32m),
        Err(AddressError::BadChecksum(_))
    ));
    let long = bech32::encode::<Bech32>(Hrp::parse("bnb").unwrap(), &[1; 32]).unwrap();
    assert!(matches!(
        canonicalize("bnb-beacon", &long),
        Err(AddressError::WrongLength { .. })
    ));
    let mut mixed = OFAC_BNB.to_string();
    mixed.replace_range(..3, "BNB");
    assert_eq!(
        canonicalize("bnb-beacon", &mixed),
        Err(AddressError::MixedCase)
    );
    let mut typo = OFAC_BNB.to_string();
    typo.replace_range(10..11, if &OFAC_BNB[10..11] == "q" { "p" } else { "q" });
    assert!(matches!(
        canonicalize("bnb-beacon", &typo),
        Err(AddressError::BadChecksum(_))
    ));
    assert!(matches!(
        canonicalize("bnb-beacon", GENESIS),
        Err(AddressError::WrongFamily {
            found: Family::Bitcoin,
            ..
        })
    ));
    // Keys of a bad kind or length are refused.
    assert!(Canonical::from_key(&[0x0d, 0x00, 1, 2, 3]).is_err());
    assert!(
        Canonical::from_key(
            &[0x0d, 0x20]
                .iter()
                .chain(&[0u8; 20])
                .copied()
                .collect::<Vec<_>>()
        )
        .is_err()
    );
}
