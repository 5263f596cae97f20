//! Tests of the families added after EVM/Bitcoin/Tron: Litecoin, Bitcoin
//! Cash, Dogecoin, Dash, Zcash, XRP, Solana, Monero, Bitcoin Gold, and the
//! alias chains Bitcoin SV and Verge.

use bech32::{Fe32, Hrp, segwit};
use proptest::prelude::*;

use super::*;

fn any_ok(s: &str) -> Canonical {
    match canonicalize_any(s) {
        Err(e) => panic!("{s} should parse: {e}"),
        Ok(c) => c,
    }
}

fn chain_ok(chain: &str, s: &str) -> Canonical {
    match canonicalize(chain, s) {
        Err(e) => panic!("{s} should parse on {chain}: {e}"),
        Ok(c) => c,
    }
}

fn b58check(version: &[u8], payload: &[u8]) -> String {
    bs58::encode([version, payload].concat())
        .with_check()
        .into_string()
}

fn xrp_b58check(data: &[u8]) -> String {
    bs58::encode(data)
        .with_alphabet(bs58::Alphabet::RIPPLE)
        .with_check()
        .into_string()
}

/// Canonicalising the canonical text is the identity, and the key rebuilds it.
fn assert_stable(c: &Canonical) {
    let again = canonicalize(c.family().default_chain(), c.as_str())
        .unwrap_or_else(|e| panic!("{c}: canonical text must parse: {e}"));
    assert_eq!(&again, c);
    assert_eq!(Canonical::from_key(c.key()).as_ref(), Ok(c));
    assert!(c.key().len() <= MAX_KEY_LEN);
}

const H160: &str = "77bff20c60e522dfaa3350c39b030a5d004e839a";

fn h160() -> Vec<u8> {
    hex::decode(H160).expect("hex")
}

// ------------------------------------------------------------- family API

#[test]
fn family_metadata_is_consistent() {
    let mut tags: Vec<u8> = Family::ALL.iter().map(|f| f.tag()).collect();
    tags.sort_unstable();
    tags.dedup();
    assert_eq!(tags.len(), Family::ALL.len(), "tags are unique");
    for f in Family::ALL {
        assert_eq!(family_for_chain(f.default_chain()), Some(f), "{f}");
        assert_eq!(f.to_string(), f.as_str());
        assert_eq!(Family::from_tag(f.tag()), Some(f));
        assert!(f.with_article().ends_with(f.as_str()));
    }
    assert_eq!(Family::Evm.default_chain(), "ethereum");
    assert_eq!(MAX_KEY_LEN, 66);
    for (chain, family) in [
        ("litecoin", Family::Litecoin),
        ("LTC", Family::Litecoin),
        ("bitcoin-cash", Family::BitcoinCash),
        ("bitcoincash", Family::BitcoinCash),
        ("bch", Family::BitcoinCash),
        ("dogecoin", Family::Dogecoin),
        ("doge", Family::Dogecoin),
        ("dash", Family::Dash),
        ("zcash", Family::Zcash),
        ("zec", Family::Zcash),
        ("xrp", Family::Xrp),
        ("ripple", Family::Xrp),
        ("solana", Family::Solana),
        ("sol", Family::Solana),
        ("monero", Family::Monero),
        (" XMR ", Family::Monero),
        ("btc", Family::Bitcoin),
        ("trx", Family::Tron),
        ("bsc", Family::Evm),
        ("bitcoin-gold", Family::BitcoinGold),
        ("BTG", Family::BitcoinGold),
        ("bitcoin-sv", Family::Bitcoin),
        ("BSV", Family::Bitcoin),
        ("verge", Family::Dogecoin),
        (" XVG ", Family::Dogecoin),
    ] {
        assert_eq!(family_for_chain(chain), Some(family), "{chain}");
    }
    assert_eq!(Family::BitcoinGold.tag(), 0x0c);
    assert_eq!(Family::BitcoinGold.as_str(), "bitcoin-gold");
    assert_eq!(Family::BitcoinGold.default_chain(), "bitcoin-gold");
    // Every chain name is listed once, under the family it maps to.
    let mut all = Vec::new();
    for f in Family::ALL {
        let names = chain_names(f);
        assert!(names.contains(&f.default_chain()), "{f}");
        for name in &names {
            assert_eq!(family_for_chain(name), Some(f), "{name}");
        }
        all.extend(names);
    }
    let count = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), count, "a chain name is listed twice");
    for alias in ["bsv", "bitcoin-sv", "verge", "xvg"] {
        assert!(all.contains(&alias), "{alias}");
    }
}

// ---------------------------------------------------------- Bitcoin Cash

/// Split `prefix:payload` into the prefix and the 5-bit values.
const CHARSET_CASH: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

fn cash_values(s: &str) -> (String, Vec<u8>) {
    const CHARSET: &str = CHARSET_CASH;
    let lower = s.to_ascii_lowercase();
    let (prefix, body) = lower.rsplit_once(':').expect("prefixed");
    let values = body
        .chars()
        .map(|c| CHARSET.find(c).expect("charset") as u8)
        .collect();
    (prefix.to_string(), values)
}

#[test]
fn cashaddr_spec_checksum_vectors() {
    // The spec's checksum examples (valid checksums, arbitrary payloads).
    for s in [
        "prefix:x64nx6hz",
        "PREFIX:X64NX6HZ",
        "p:gpf8m4h7",
        "bitcoincash:qpzry9x8gf2tvdw0s3jn54khce6mua7lcw20ayyn",
        "bchtest:testnetaddress4d6njnut",
        "bchreg:555555555555555555555555555555555555555555555udxmlmrz",
    ] {
        let (prefix, values) = cash_values(s);
        assert!(cashaddr::verify(&prefix, &values), "{s}");
        // Any single-value change breaks it.
        let mut broken = values.clone();
        if let Some(v) = broken.first_mut() {
            *v ^= 1;
        }
        assert!(!cashaddr::verify(&prefix, &broken), "{s}");
    }
}

/// (legacy, cashaddr) pairs from the CashAddr spec.
const CASH_PAIRS: [(&str, &str); 6] = [
    (
        "1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggu",
        "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a",
    ),
    (
        "1KXrWXciRDZUpQwQmuM1DbwsKDLYAYsVLR",
        "bitcoincash:qr95sy3j9xwd2ap32xkykttr4cvcu7as4y0qverfuy",
    ),
    (
        "16w1D5WRVKJuZUsSRzdLp9w3YGcgoxDXb",
        "bitcoincash:qqq3728yw0y47sqn6l2na30mcw6zm78dzqre909m2r",
    ),
    (
        "3CWFddi6m4ndiGyKqzYvsFYagqDLPVMTzC",
        "bitcoincash:ppm2qsznhks23z7629mms6s4cwef74vcwvn0h829pq",
    ),
    (
        "3LDsS579y7sruadqu11beEJoTjdFiFCdX4",
        "bitcoincash:pr95sy3j9xwd2ap32xkykttr4cvcu7as4yc93ky28e",
    ),
    (
        "31nwvkZwyPdgzjBJZXfDmSWsC4ZLKpYyUw",
        "bitcoincash:pqq3728yw0y47sqn6l2na30mcw6zm78dzq5ucqzc37",
    ),
];

#[test]
fn cashaddr_and_legacy_share_a_key() {
    for (legacy, cash) in CASH_PAIRS {
        let c = chain_ok("bitcoin-cash", cash);
        assert_eq!(c.family(), Family::BitcoinCash);
        assert_eq!(c.as_str(), cash);
        let expected_kind = if legacy.starts_with('1') {
            Kind::P2pkh
        } else {
            Kind::P2sh
        };
        assert_eq!(c.kind(), expected_kind, "{cash}");
        let bare = cash.trim_start_matches("bitcoincash:");
        for variant in [
            legacy.to_string(),
            bare.to_string(),
            bare.to_ascii_uppercase(),
            cash.to_ascii_uppercase(),
        ] {
            assert_eq!(chain_ok("bch", &variant), c, "{variant}");
        }
        // Inference: cashaddr is Bitcoin Cash, legacy stays Bitcoin with the same hash.
        assert_eq!(any_ok(cash), c);
        assert_eq!(any_ok(bare), c);
        let btc = any_ok(legacy);
        assert_eq!(btc.family(), Family::Bitcoin);
        assert_eq!(btc.payload(), c.payload());
        assert_stable(&c);
    }
}

#[test]
fn cashaddr_errors() {
    let good = "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a";
    // Mixed case.
    assert_eq!(
        canonicalize(
            "bch",
            "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvY22gdx6a"
        ),
        Err(AddressError::MixedCase)
    );
    assert_eq!(
        canonicalize(
            "bch",
            "BITCOINCASH:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"
        ),
        Err(AddressError::MixedCase)
    );
    // One character changed.
    let bad = good.replace("vy22", "vy23");
    assert!(matches!(
        canonicalize("bch", &bad),
        Err(AddressError::BadChecksum(_))
    ));
    assert!(matches!(
        canonicalize_any(&bad),
        Err(AddressError::BadChecksum(_))
    ));
    // Bare, bad checksum: refused by both.
    let bad_bare = bad.trim_start_matches("bitcoincash:");
    assert!(canonicalize("bch", bad_bare).is_err());
    assert!(canonicalize_any(bad_bare).is_err());
    // Test networks.
    let hash = h160();
    let test = cashaddr::encode("bchtest", 0, &hash);
    assert!(matches!(
        canonicalize("bch", &test),
        Err(AddressError::WrongNetwork(_))
    ));
    assert!(matches!(
        canonicalize_any(&test),
        Err(AddressError::WrongNetwork(_))
    ));
    // Wrong hash size for the version byte (size code 1 = 24 bytes, given 20).
    let wrong_size = cashaddr::encode("bitcoincash", 1, &hash);
    assert!(matches!(
        canonicalize("bch", &wrong_size),
        Err(AddressError::WrongLength { .. })
    ));
    // Legacy testnet.
    assert!(matches!(
        canonicalize("bch", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"),
        Err(AddressError::WrongNetwork(_))
    ));
    // Token-aware type 2 (P2PKH with tokens) is the same destination.
    let token = cashaddr::encode("bitcoincash", 0x10, &hash);
    let plain = cashaddr::encode("bitcoincash", 0x00, &hash);
    assert_eq!(chain_ok("bch", &token), chain_ok("bch", &plain));
    // 32-byte P2SH (size code 3).
    let p2sh32 = cashaddr::encode("bitcoincash", 0x0b, &[9u8; 32]);
    let c = chain_ok("bch", &p2sh32);
    assert_eq!(c.kind(), Kind::P2sh);
    assert_eq!(c.payload(), &[9u8; 32]);
    assert_stable(&c);
}

/// The spec's "Larger test vectors" on mainnet (type 0, every hash size).
const CASH_SIZES: [(&str, &str); 8] = [
    (
        "bitcoincash:qr6m7j9njldwwzlg9v7v53unlr4jkmx6eylep8ekg2",
        "F5BF48B397DAE70BE82B3CCA4793F8EB2B6CDAC9",
    ),
    (
        "bitcoincash:q9adhakpwzztepkpwp5z0dq62m6u5v5xtyj7j3h2ws4mr9g0",
        "7ADBF6C17084BC86C1706827B41A56F5CA32865925E946EA",
    ),
    (
        "bitcoincash:qgagf7w02x4wnz3mkwnchut2vxphjzccwxgjvvjmlsxqwkcw59jxxuz",
        "3A84F9CF51AAE98A3BB3A78BF16A6183790B18719126325BFC0C075B",
    ),
    (
        "bitcoincash:qvch8mmxy0rtfrlarg7ucrxxfzds5pamg73h7370aa87d80gyhqxq5nlegake",
        "3173EF6623C6B48FFD1A3DCC0CC6489B0A07BB47A37F47CFEF4FE69DE825C060",
    ),
    (
        "bitcoincash:qnq8zwpj8cq05n7pytfmskuk9r4gzzel8qtsvwz79zdskftrzxtar994cgutavfklv39gr3uvz",
        "C07138323E00FA4FC122D3B85B9628EA810B3F381706385E289B0B25631197D194B5C238BEB136FB",
    ),
    (
        "bitcoincash:qh3krj5607v3qlqh5c3wq3lrw3wnuxw0sp8dv0zugrrt5a3kj6ucysfz8kxwv2k53krr7n933jfsunqex2w82sl",
        "E361CA9A7F99107C17A622E047E3745D3E19CF804ED63C5C40C6BA763696B98241223D8CE62AD48D863F4CB18C930E4C",
    ),
    (
        "bitcoincash:qmvl5lzvdm6km38lgga64ek5jhdl7e3aqd9895wu04fvhlnare5937w4ywkq57juxsrhvw8ym5d8qx7sz7zz0zvcypqscw8jd03f",
        "D9FA7C4C6EF56DC4FF423BAAE6D495DBFF663D034A72D1DC7D52CBFE7D1E6858F9D523AC0A7A5C34077638E4DD1A701BD017842789982041",
    ),
    (
        "bitcoincash:qlg0x333p4238k0qrc5ej7rzfw5g8e4a4r6vvzyrcy8j3s5k0en7calvclhw46hudk5flttj6ydvjc0pv3nchp52amk97tqa5zygg96mtky5sv5w",
        "D0F346310D5513D9E01E299978624BA883E6BDA8F4C60883C10F28C2967E67EC77ECC7EEEAEAFC6DA89FAD72D11AC961E164678B868AEEEC5F2C1DA08884175B",
    ),
];

#[test]
fn bare_cashaddr_of_every_hash_size_is_the_prefixed_key() {
    let mut lengths = Vec::new();
    for (cash, hash) in CASH_SIZES {
        let hash = hex::decode(hash).expect("hex");
        let c = chain_ok("bitcoin-cash", cash);
        assert_eq!((c.kind(), c.payload()), (Kind::P2pkh, &hash[..]), "{cash}");
        assert_eq!(c.as_str(), cash);
        let bare = cash.trim_start_matches("bitcoincash:");
        lengths.push(bare.len());
        for variant in [bare.to_string(), bare.to_ascii_uppercase()] {
            assert_eq!(chain_ok("bch", &variant), c, "{variant}");
            assert_eq!(any_ok(&variant), c, "{variant}");
        }
        assert_stable(&c);
        // P2SH and the token-aware types (bare `p`, `z`, `r`) of the same
        // hash: one key per script type, with or without the prefix.
        let size_code = cash.as_bytes()["bitcoincash:".len() + 1];
        // The second 5-bit group: the version's low 3 bits (the size code),
        // then the hash's top 2 bits.
        let size_code = (CHARSET_CASH.find(char::from(size_code)).expect("charset") as u8 >> 2) & 7;
        for (version, kind, first) in [
            (0x08 | size_code, Kind::P2sh, 'p'),
            (0x10 | size_code, Kind::P2pkh, 'z'),
            (0x18 | size_code, Kind::P2sh, 'r'),
        ] {
            let full = cashaddr::encode("bitcoincash", version, &hash);
            let bare = full.trim_start_matches("bitcoincash:");
            assert!(bare.starts_with(first), "{full}");
            let prefixed = chain_ok("bch", &full);
            assert_eq!((prefixed.kind(), prefixed.payload()), (kind, &hash[..]));
            assert_eq!(chain_ok("bch", bare), prefixed, "{bare}");
            assert_eq!(any_ok(bare), prefixed, "{bare}");
            assert_eq!(any_ok(&bare.to_ascii_uppercase()), prefixed, "{bare}");
        }
    }
    assert_eq!(lengths, [42, 48, 55, 61, 74, 87, 100, 112]);
}

#[test]
fn bare_cashaddr_candidates_that_fail_report_cashaddr_errors() {
    // A bare 48-character cashaddr with one character changed: a cashaddr
    // checksum error, not a base58 one.
    let bare = CASH_SIZES[1].0.trim_start_matches("bitcoincash:");
    let bad = bare.replace("ws4m", "ws4n");
    for result in [canonicalize("bch", &bad), canonicalize_any(&bad)] {
        assert!(
            matches!(result, Err(AddressError::BadChecksum(ref m)) if m.contains("cashaddr")),
            "{result:?}"
        );
    }
    // Not the alphabet (`b`), or a length of no hash size: not a cashaddr.
    let not_alphabet = bare.replace('w', "b");
    assert!(canonicalize_any(&not_alphabet).is_err());
    assert!(!cashaddr::looks_like_cashaddr(&not_alphabet));
    assert!(!cashaddr::looks_like_cashaddr(&bare[..47]));
    assert!(!cashaddr::looks_like_cashaddr(&format!("{bare}q")));
    // Other first characters (types 4..=15, or the reserved bit) are not
    // recognised bare.
    let y = format!("y{}", &bare[1..]);
    assert!(!cashaddr::looks_like_cashaddr(&y));
}

// --------------------------------------------------------------- Litecoin

#[test]
fn litecoin_p2sh_versions_share_a_key() {
    let hash = h160();
    let l = b58check(&[0x30], &hash);
    let m = b58check(&[0x32], &hash);
    let three = b58check(&[0x05], &hash);
    assert!(l.starts_with('L') && m.starts_with('M') && three.starts_with('3'));
    let p2pkh = chain_ok("litecoin", &l);
    assert_eq!(p2pkh.kind(), Kind::P2pkh);
    assert_eq!(p2pkh.as_str(), l);
    assert_eq!(p2pkh.payload(), hash.as_slice());
    assert_eq!(any_ok(&l), p2pkh);
    let p2sh = chain_ok("ltc", &m);
    assert_eq!(p2sh.kind(), Kind::P2sh);
    assert_eq!(p2sh.as_str(), m);
    // Legacy 3... for litecoin: same key and canonical M... text.
    assert_eq!(chain_ok("litecoin", &three), p2sh);
    // ...but inferred from the encoding alone it is bitcoin.
    assert_eq!(any_ok(&three).family(), Family::Bitcoin);
    assert_eq!(any_ok(&m), p2sh);
    assert_ne!(p2pkh.key(), p2sh.key());
    assert_stable(&p2pkh);
    assert_stable(&p2sh);
    // Test networks.
    for v in [0x6f, 0x3a, 0xc4] {
        let t = b58check(&[v], &hash);
        assert!(
            matches!(
                canonicalize("litecoin", &t),
                Err(AddressError::WrongNetwork(_))
            ),
            "{t}"
        );
        assert!(
            matches!(canonicalize_any(&t), Err(AddressError::WrongNetwork(_))),
            "{t}"
        );
    }
    // A bitcoin P2PKH is not litecoin.
    assert_eq!(
        canonicalize("litecoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
        Err(AddressError::WrongFamily {
            expected: Family::Litecoin,
            found: Family::Bitcoin
        })
    );
    // OFAC-listed litecoin address.
    assert_eq!(
        any_ok("LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb").family(),
        Family::Litecoin
    );
}

#[test]
fn litecoin_segwit() {
    let ltc = Hrp::parse("ltc").expect("hrp");
    let tltc = Hrp::parse("tltc").expect("hrp");
    let program = h160();
    let s = segwit::encode(ltc, segwit::VERSION_0, &program).expect("encode");
    assert!(s.starts_with("ltc1q"));
    let c = chain_ok("litecoin", &s);
    assert_eq!(c.kind(), Kind::Witness(0));
    assert_eq!(c.payload(), program.as_slice());
    assert_eq!(c.as_str(), s);
    assert_eq!(chain_ok("ltc", &s.to_ascii_uppercase()), c);
    assert_eq!(any_ok(&s), c);
    assert_stable(&c);
    // The same program on bitcoin is another key.
    let btc = segwit::encode(bech32::hrp::BC, segwit::VERSION_0, &program).expect("encode");
    assert_ne!(any_ok(&btc).key(), c.key());
    // Testnet refused.
    let t = segwit::encode(tltc, segwit::VERSION_0, &program).expect("encode");
    assert!(matches!(
        canonicalize("litecoin", &t),
        Err(AddressError::WrongNetwork(_))
    ));
    assert!(matches!(
        canonicalize_any(&t),
        Err(AddressError::WrongNetwork(_))
    ));
    // Mixed case refused.
    let mut mixed = s.clone();
    mixed.replace_range(5..6, &s[5..6].to_ascii_uppercase());
    if mixed != s {
        assert_eq!(canonicalize("ltc", &mixed), Err(AddressError::MixedCase));
    }
    // v1 taproot-style with bech32m.
    let v1 = segwit::encode(ltc, segwit::VERSION_1, &[3u8; 32]).expect("encode");
    assert_eq!(chain_ok("litecoin", &v1).kind(), Kind::Witness(1));
    // bitcoin bech32 is not litecoin
    assert_eq!(
        canonicalize("litecoin", &btc),
        Err(AddressError::WrongFamily {
            expected: Family::Litecoin,
            found: Family::Bitcoin
        })
    );
}

// ------------------------------------------------- Dogecoin, Dash, Zcash

#[test]
fn dogecoin_dash_zcash_versions() {
    let hash = h160();
    // (chain, family, p2pkh version, p2sh version, first chars, testnet version)
    type Case<'a> = (&'a str, Family, &'a [u8], &'a [u8], &'a str, &'a [u8]);
    let cases: [Case<'_>; 3] = [
        (
            "dogecoin",
            Family::Dogecoin,
            &[0x1e],
            &[0x16],
            "D9A",
            &[0x71],
        ),
        ("dash", Family::Dash, &[0x4c], &[0x10], "X7", &[0x8c]),
        (
            "zcash",
            Family::Zcash,
            &[0x1c, 0xb8],
            &[0x1c, 0xbd],
            "t",
            &[0x1d, 0x25],
        ),
    ];
    for (chain, family, pkh, sh, firsts, testnet) in cases {
        let a = b58check(pkh, &hash);
        let b = b58check(sh, &hash);
        for s in [&a, &b] {
            assert!(firsts.contains(&s[..1]), "{chain}: {s}");
        }
        let ca = chain_ok(chain, &a);
        let cb = chain_ok(chain, &b);
        assert_eq!(ca.family(), family);
        assert_eq!((ca.kind(), cb.kind()), (Kind::P2pkh, Kind::P2sh));
        assert_eq!(ca.as_str(), a);
        assert_eq!(cb.as_str(), b);
        assert_eq!(ca.payload(), hash.as_slice());
        assert_eq!(any_ok(&a), ca);
        assert_eq!(any_ok(&b), cb);
        assert_stable(&ca);
        assert_stable(&cb);
        let t = b58check(testnet, &hash);
        assert!(
            matches!(canonicalize(chain, &t), Err(AddressError::WrongNetwork(_))),
            "{t}"
        );
        assert!(
            matches!(canonicalize_any(&t), Err(AddressError::WrongNetwork(_))),
            "{t}"
        );
        // One character changed: bad checksum.
        let last = a.chars().last().expect("non-empty");
        let bad = format!(
            "{}{}",
            &a[..a.len() - 1],
            if last == '2' { '3' } else { '2' }
        );
        assert!(matches!(
            canonicalize(chain, &bad),
            Err(AddressError::BadChecksum(_))
        ));
    }
    let t1 = b58check(&[0x1c, 0xb8], &hash);
    let t3 = b58check(&[0x1c, 0xbd], &hash);
    assert!(t1.starts_with("t1") && t3.starts_with("t3"), "{t1} {t3}");
    // Shielded and unified addresses are out of scope, with a clear reason.
    for s in [
        "zs1z7rejlpsa98s2rrrfkwmaxu53e4ue0ulcrw0h4x5g8jl04tak0d3mm47vdtahatqrlkngh9sly",
        "u1qqqqqqqq",
    ] {
        match canonicalize("zec", s) {
            Err(AddressError::InvalidFormat(m)) => assert!(m.contains("transparent"), "{m}"),
            other => panic!("{s}: {other:?}"),
        }
    }
}

// ----------------------------------------------------------- Bitcoin Gold

/// Mainnet `(address, scriptPubKey hex)` pairs of the Bitcoin Gold node's
/// own tests: BTCGPU `src/test/data/key_io_valid.json`
/// (commit 46335e8a1754a4f37e66e3994e92cf1822f3c4e6).
const BTG_KEY_IO_MAINNET: [(&str, &str); 10] = [
    (
        "GUHcigT74ggLsmbxHFTLfn2ZUNJUWiXaMG",
        "76a914728d4cc27d19707b0197cfcd7c412d43287864b588ac",
    ),
    (
        "Aa6QUX6pRcncJN7vm7FG8vsy62gyKuANy6",
        "a914c8f37c3cc21561296ad81f4bec6b5de10ebc185187",
    ),
    (
        "GPoxp8rSQRSeVckJTGfNBgin8C1rakneRS",
        "76a9144171ec673aeb9fcf42af6094a3c82207e3b9a78188ac",
    ),
    (
        "ASrRHjXu4jkTRxq12JerpKhTh3111Yy2Va",
        "a914798575fc1041b9440c4e63c28e57e597d00b7e4387",
    ),
    (
        "btg1q5cuatynjmk4szh40mmunszfzh7zrc5xmn8padv",
        "0014a639d59272ddab015eafdef9380922bf843c50db",
    ),
    (
        "btg1qkw7lz3ahms6e0ajv27mzh7g62tchjpmve4afc29u7w49tddydy2s2vtjh5",
        "0020b3bdf147b7dc3597f64c57b62bf91a52f179076ccd7a9c28bcf3aa55b5a46915",
    ),
    (
        "btg1p5rgvqejqh9dh37t9g94dd9cm8vtqns7dndgj423egwggsggcdzms7pg7wc",
        "5120a0d0c06640b95b78f965416ad6971b3b1609c3cd9b512aaa39439088211868b7",
    ),
    ("btg1zr4pqk06j6k", "52021d42"),
    (
        "btg1qz377zwe5awr68dnggengqx9vrjt05k98kcktlm",
        "0014147de13b34eb87a3b66846668018ac1c96fa58a7",
    ),
    (
        "btg1qkmhskpdzg8kdkfywhu09kswwn9qan9vnkrf6mk40jvnr06s6sz5s7frh5h",
        "0020b6ef0b05a241ecdb248ebf1e5b41ce9941d99593b0d3addaaf932637ea1a80a9",
    ),
];

/// Test-network and regtest addresses of the same file: refused.
const BTG_KEY_IO_OTHER_NETWORKS: [&str; 6] = [
    "mhJuoGLgnJC8gdBgBzEigsoyG4omQXejPT",
    "2N5VpzKEuYvZJbmg6eUNGnfrrD1ir92FWGu",
    "tbtg1q74fxwnvhsue0l8wremgq66xzvn48jlc5fkf03n",
    "tbtg1ph9v3e8nxct57hknlkhkz75p5pnxnkn05cw8ewpxu6tek56g29xgqk259fw",
    "btgrt1qwf52dt9y2sv0f7fwkcpmtfjf74d4np2scjpw3e",
    "btgrt1q0lma84unycxl4n96etffthqlf7y5axyp4fxf64kmhymvw8l6pwfsfzrqg3",
];

/// The kind and payload a scriptPubKey pays to (P2PKH, P2SH, witness).
fn script_kind(script: &[u8]) -> (Kind, &[u8]) {
    match script {
        [0x76, 0xa9, 0x14, hash @ .., 0x88, 0xac] => (Kind::P2pkh, hash),
        [0xa9, 0x14, hash @ .., 0x87] => (Kind::P2sh, hash),
        [0x00, _, program @ ..] => (Kind::Witness(0), program),
        [op @ 0x51..=0x60, _, program @ ..] => (Kind::Witness(op - 0x50), program),
        other => panic!("unexpected script {}", hex::encode(other)),
    }
}

#[test]
fn bitcoin_gold_node_vectors() {
    for (s, script) in BTG_KEY_IO_MAINNET {
        let script = hex::decode(script).expect("hex");
        let (kind, payload) = script_kind(&script);
        let c = chain_ok("bitcoin-gold", s);
        assert_eq!(c.family(), Family::BitcoinGold, "{s}");
        assert_eq!((c.kind(), c.payload()), (kind, payload), "{s}");
        assert_eq!(c.as_str(), s);
        assert_eq!(c.key()[0], 0x0c);
        assert_eq!(any_ok(s), c, "{s}");
        // tryCaseFlip: bech32 is case-blind.
        if s.starts_with("btg1") {
            assert_eq!(chain_ok("btg", &s.to_ascii_uppercase()), c);
            assert_eq!(any_ok(&s.to_ascii_uppercase()), c);
        }
        assert_stable(&c);
        // The same program is another key on bitcoin.
        if let Kind::Witness(v) = kind {
            let fe = Fe32::try_from(v).expect("<= 16");
            let btc = segwit::encode(bech32::hrp::BC, fe, payload).expect("encodable");
            assert_eq!(any_ok(&btc).payload(), payload);
            assert_ne!(any_ok(&btc).key(), c.key());
        }
    }
    for s in BTG_KEY_IO_OTHER_NETWORKS {
        assert!(
            matches!(
                canonicalize("bitcoin-gold", s),
                Err(AddressError::WrongNetwork(_))
            ),
            "{s}: {:?}",
            canonicalize("bitcoin-gold", s)
        );
    }
}

#[test]
fn bitcoin_gold_versions_and_the_ofac_entry() {
    let hash = h160();
    let g = b58check(&[0x26], &hash);
    let a = b58check(&[0x17], &hash);
    assert!(g.starts_with('G') && a.starts_with('A'), "{g} {a}");
    let pkh = chain_ok("btg", &g);
    let sh = chain_ok("btg", &a);
    assert_eq!((pkh.kind(), sh.kind()), (Kind::P2pkh, Kind::P2sh));
    assert_eq!(pkh.payload(), hash.as_slice());
    assert_eq!(any_ok(&g), pkh);
    assert_eq!(any_ok(&a), sh);
    // Not bitcoin's key, and not dogecoin's though dogecoin P2SH also starts with `A`.
    assert_ne!(any_ok(&b58check(&[0x00], &hash)).key(), pkh.key());
    assert_ne!(any_ok(&b58check(&[0x16], &hash)).key(), sh.key());
    assert_stable(&pkh);
    assert_stable(&sh);
    // A bitcoin address is not a bitcoin gold address.
    assert_eq!(
        canonicalize("bitcoin-gold", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
        Err(AddressError::WrongFamily {
            expected: Family::BitcoinGold,
            found: Family::Bitcoin
        })
    );
    // The OFAC SDN entry (2024-09-27), listed as BTG.
    let ofac = any_ok("GPwg61XoHqQPNmAucFACuQ5H9sGCDv9TpS");
    assert_eq!(ofac.family(), Family::BitcoinGold);
    assert_eq!(ofac.kind(), Kind::P2pkh);
    assert_eq!(chain_ok("btg", "GPwg61XoHqQPNmAucFACuQ5H9sGCDv9TpS"), ofac);
    assert_stable(&ofac);
}

// ------------------------------------------- alias chains: Bitcoin SV, Verge

#[test]
fn bitcoin_sv_reads_bitcoin_base58_into_bitcoin_keys() {
    // The OFAC SDN entry listed as BSV, and bitcoin P2SH.
    for s in [
        "12sjrrhoFEsedNRhtgwvvRqjFTh8fZTDX9",
        "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
    ] {
        let c = chain_ok("bitcoin-sv", s);
        assert_eq!(c.family(), Family::Bitcoin);
        assert_eq!(c, chain_ok("bitcoin", s));
        assert_eq!(c, any_ok(s));
        assert_eq!(chain_ok(" BSV ", &format!(" {s}\n")), c);
    }
    // No segwit on Bitcoin SV.
    match canonicalize("bsv", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4") {
        Err(AddressError::InvalidFormat(m)) => assert!(m.contains("segwit"), "{m}"),
        other => panic!("{other:?}"),
    }
    // CashAddr is Bitcoin Cash's.
    assert_eq!(
        canonicalize(
            "bsv",
            "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"
        ),
        Err(AddressError::WrongFamily {
            expected: Family::Bitcoin,
            found: Family::BitcoinCash
        })
    );
    assert!(matches!(
        canonicalize("bsv", &b58check(&[0x6f], &h160())),
        Err(AddressError::WrongNetwork(_))
    ));
}

#[test]
fn verge_reads_its_own_versions_into_dogecoin_keys() {
    let hash = h160();
    let d = b58check(&[0x1e], &hash);
    let e = b58check(&[0x21], &hash);
    let doge_p2sh = b58check(&[0x16], &hash);
    assert!(d.starts_with('D') && e.starts_with('E'), "{d} {e}");
    // P2PKH: the very same text and key as dogecoin's.
    let pkh = chain_ok("verge", &d);
    assert_eq!(pkh, chain_ok("dogecoin", &d));
    assert_eq!(pkh, any_ok(&d));
    // P2SH: Verge's own `E...` spelling, dogecoin's P2SH key.
    let sh = chain_ok("xvg", &e);
    assert_eq!(sh.family(), Family::Dogecoin);
    assert_eq!(sh.kind(), Kind::P2sh);
    assert_eq!(sh.as_str(), e);
    assert_eq!(sh.key(), chain_ok("doge", &doge_p2sh).key());
    // Dogecoin's P2SH version is not Verge's, and Verge's is not Dogecoin's.
    match canonicalize("verge", &doge_p2sh) {
        Err(AddressError::InvalidFormat(m)) => assert!(m.contains("verge mainnet"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(canonicalize("dogecoin", &e).is_err());
    // Inference leaves `E...` alone (only the verge chain or an XVG hint reads it).
    assert!(matches!(
        canonicalize_any(&e),
        Err(AddressError::Unrecognised(_))
    ));
    for testnet in [0x73, 0xc6] {
        assert!(matches!(
            canonicalize("verge", &b58check(&[testnet], &hash)),
            Err(AddressError::WrongNetwork(_))
        ));
    }
    // The OFAC SDN entry listed as XVG.
    let ofac = chain_ok("xvg", "DFFJhnQNZf8rf67tYnesPu7MuGUpYtzv7Z");
    assert_eq!(ofac, any_ok("DFFJhnQNZf8rf67tYnesPu7MuGUpYtzv7Z"));
    assert_eq!(ofac.kind(), Kind::P2pkh);
}

// -------------------------------------------------------------------- XRP

#[test]
fn xrp_classic_vectors() {
    for (s, account) in [
        (
            "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh",
            "b5f762798a53d543a014caf8b297cff8f2f937e8",
        ),
        (
            "rrrrrrrrrrrrrrrrrrrrrhoLvTp",
            "0000000000000000000000000000000000000000",
        ),
        (
            "rrrrrrrrrrrrrrrrrrrrBZbvji",
            "0000000000000000000000000000000000000001",
        ),
    ] {
        let c = chain_ok("xrp", s);
        assert_eq!(c.family(), Family::Xrp);
        assert_eq!(c.kind(), Kind::Account);
        assert_eq!(hex::encode(c.payload()), account, "{s}");
        assert_eq!(c.as_str(), s);
        assert_eq!(any_ok(s), c);
        assert_stable(&c);
    }
    // A mistyped character.
    assert!(matches!(
        canonicalize("ripple", "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTi"),
        Err(AddressError::BadChecksum(_))
    ));
    assert!(matches!(
        canonicalize_any("rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTi"),
        Err(AddressError::BadChecksum(_))
    ));
    assert_eq!(
        any_ok("rnXyVQzgxZe7TR1EPzTkGj2jxH4LMJYh66").family(),
        Family::Xrp
    );
}

#[test]
fn xrp_x_addresses_map_to_the_classic_account() {
    // ripple-address-codec fixture: X-address without tag of r9cZA1....
    let classic = chain_ok("xrp", "r9cZA1mLK5R5Am25ArfXFmqgNwjZgnfk59");
    let x = chain_ok("xrp", "X7AcgcsBL6XDcUb289X4mJ8djcdyKaB5hJDWMArnXr61cqZ");
    assert_eq!(x, classic);
    let account: [u8; 20] = classic.payload().try_into().expect("20 bytes");
    assert_eq!(
        encode_x_address(&account, None),
        "X7AcgcsBL6XDcUb289X4mJ8djcdyKaB5hJDWMArnXr61cqZ"
    );
    for tag in [None, Some(0), Some(1), Some(u32::MAX)] {
        let x = encode_x_address(&account, tag);
        assert_eq!(chain_ok("xrp", &x), classic, "{x}");
        assert_eq!(any_ok(&x), classic, "{x}");
    }
    // Testnet X-address (0x04 0x93).
    let mut data = vec![0x04, 0x93];
    data.extend_from_slice(&account);
    data.extend_from_slice(&[0; 9]);
    let test = xrp_b58check(&data);
    assert!(test.starts_with('T'), "{test}");
    assert!(matches!(
        canonicalize("xrp", &test),
        Err(AddressError::WrongNetwork(_))
    ));
    assert!(matches!(
        canonicalize_any(&test),
        Err(AddressError::WrongNetwork(_))
    ));
    // Flags 2 is not defined; flags 0 with a non-zero tag is inconsistent.
    for (flags, tag) in [
        (2u8, [0u8; 8]),
        (0, [1, 0, 0, 0, 0, 0, 0, 0]),
        (1, [0, 0, 0, 0, 1, 0, 0, 0]),
    ] {
        let mut data = vec![0x05, 0x44];
        data.extend_from_slice(&account);
        data.push(flags);
        data.extend_from_slice(&tag);
        assert!(matches!(
            canonicalize("xrp", &xrp_b58check(&data)),
            Err(AddressError::InvalidFormat(_))
        ));
    }
}

// ----------------------------------------------------------------- Solana

#[test]
fn solana_addresses() {
    for (s, first_byte) in [
        ("11111111111111111111111111111111", 0u8),
        ("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", 6),
    ] {
        let c = chain_ok("solana", s);
        assert_eq!(c.family(), Family::Solana);
        assert_eq!(c.payload().len(), 32);
        assert_eq!(c.payload()[0], first_byte);
        assert_eq!(c.as_str(), s);
        assert_eq!(any_ok(s), c, "{s}");
        assert_stable(&c);
    }
    // Tron `T...` stays Tron.
    assert_eq!(
        any_ok("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t").family(),
        Family::Tron
    );
    // Wrong length, and a checksummed address on the solana chain.
    assert!(matches!(
        canonicalize("sol", "1111111111111111111111111111111"),
        Err(AddressError::WrongLength { found: 31, .. })
    ));
    assert_eq!(
        canonicalize("sol", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
        Err(AddressError::WrongFamily {
            expected: Family::Solana,
            found: Family::Bitcoin
        })
    );
    assert!(matches!(
        canonicalize("sol", "0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl"),
        Err(AddressError::InvalidCharacter(_))
    ));
}

// ----------------------------------------------------------------- Monero

const XMR_DONATION: &str = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A";

#[test]
fn monero_standard_integrated_and_subaddress() {
    let c = chain_ok("monero", XMR_DONATION);
    assert_eq!(c.family(), Family::Monero);
    assert_eq!(c.kind(), Kind::Account);
    assert_eq!(c.payload().len(), 64);
    assert_eq!(c.key().len(), 66);
    assert_eq!(c.as_str(), XMR_DONATION);
    assert_eq!(any_ok(XMR_DONATION), c);
    assert_stable(&c);
    // Integrated address of the same keys maps to the standard key and text.
    let integrated = monero::encode_address(19, &[c.payload(), &[0xab; 8]].concat());
    assert_eq!(integrated.len(), 106);
    assert!(integrated.starts_with('4'));
    assert_eq!(chain_ok("xmr", &integrated), c);
    assert_eq!(any_ok(&integrated), c);
    // Subaddress of the same 64 bytes: a different key.
    let sub = monero::encode_address(42, c.payload());
    assert!(sub.starts_with('8'));
    let cs = chain_ok("xmr", &sub);
    assert_eq!(cs.kind(), Kind::Subaddress);
    assert_ne!(cs.key(), c.key());
    assert_stable(&cs);
    // Testnet / stagenet.
    for network in [53u8, 24, 63] {
        let t = monero::encode_address(network, c.payload());
        assert!(
            matches!(canonicalize("xmr", &t), Err(AddressError::WrongNetwork(_))),
            "{network}"
        );
    }
    // One character changed.
    let bad = XMR_DONATION.replacen("44AFF", "44AFG", 1);
    assert!(matches!(
        canonicalize("xmr", &bad),
        Err(AddressError::BadChecksum(_))
    ));
    assert!(matches!(
        canonicalize_any(&bad),
        Err(AddressError::BadChecksum(_))
    ));
    // Case is significant.
    assert!(canonicalize("xmr", &XMR_DONATION.to_ascii_lowercase()).is_err());
    // OFAC-listed standard and subaddress.
    assert_eq!(
        any_ok("49HqitRzdnhYjgTEAhgGpCfsjdTeMbUTU6cyR4JV1R7k2Eej9rGT8JpFiYDa4tZM6RZiFrHmMzgSrhHEqpDYKBe5B2ufNsL").kind(),
        Kind::Account
    );
    assert_eq!(
        any_ok("884Bz8UH63aYsjVdkfWfScRYWZGGNbjFL7pztqvWNSrtYT4reFSwyvkCj9KEGUtheHhhMUj87ciTBFyzoesrMJ4L1FvSoxL").kind(),
        Kind::Subaddress
    );
}

#[test]
fn monero_hex_entry_is_refused_with_a_reason() {
    let hex64 = "5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320";
    for result in [canonicalize_any(hex64), canonicalize("xmr", hex64)] {
        match result {
            Err(AddressError::Unrecognised(m)) => assert!(m.contains("not an address"), "{m}"),
            other => panic!("expected Unrecognised, got {other:?}"),
        }
    }
}

#[test]
fn monero_base58_blocks() {
    assert_eq!(monero_base58_encode(&[]), "");
    assert_eq!(monero_base58_encode(&[0]), "11");
    assert_eq!(monero_base58_encode(&[0xff; 8]), "jpXCZedGfVQ");
    assert_eq!(monero_base58_decode("jpXCZedGfVQ"), Ok(vec![0xff; 8]));
    // 11 characters above 2^64 - 1 overflow the block.
    assert!(monero_base58_decode("zzzzzzzzzzz").is_err());
    // 4 characters is no block length.
    assert!(monero_base58_decode("1111").is_err());
}

// ---------------------------------------------------------- OFAC real data

#[test]
fn ofac_lists_of_the_new_families_canonicalise() {
    let dir = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/ofac-sdn-2024-09-27"
    ));
    if !dir.is_dir() {
        eprintln!(
            "SKIPPED: OFAC lists not found at {} (needs the shared data directory)",
            dir.display()
        );
        return;
    }
    // (currency file, family each entry must infer to, expected count, entries that
    // are not addresses)
    let expected: [(&str, Option<Family>, usize, usize); 10] = [
        ("LTC", Some(Family::Litecoin), 10, 0),
        ("ZEC", Some(Family::Zcash), 3, 0),
        ("DASH", Some(Family::Dash), 3, 0),
        ("BCH", Some(Family::BitcoinCash), 7, 0),
        ("XMR", Some(Family::Monero), 2, 1),
        ("XRP", Some(Family::Xrp), 1, 0),
        // Bitcoin SV uses bitcoin's version bytes: inferred as bitcoin (and
        // `bsv` is an alias chain of bitcoin).
        ("BSV", Some(Family::Bitcoin), 1, 0),
        // Verge uses Dogecoin's 0x1e: inferred as dogecoin (and `xvg` is an
        // alias chain of dogecoin).
        ("XVG", Some(Family::Dogecoin), 1, 0),
        ("BTG", Some(Family::BitcoinGold), 1, 0),
        ("XBT", None, 0, 0),
    ];
    for (currency, family, count, refused) in expected {
        let path = dir.join(format!("sanctioned_addresses_{currency}.txt"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut ok = 0;
        let mut bad = 0;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let chain = family.map_or("bitcoin", |f| f.default_chain());
            match (canonicalize_any(line), family) {
                (Ok(c), Some(f)) => {
                    // BCH: legacy entries infer as bitcoin; under the bch chain
                    // every entry is bitcoin cash.
                    let on_chain = chain_ok(chain, line);
                    assert_eq!(on_chain.family(), f, "{currency}: {line}");
                    if f != Family::BitcoinCash {
                        assert_eq!(c, on_chain, "{currency}: {line}");
                    }
                    assert_stable(&on_chain);
                    ok += 1;
                }
                (Ok(_), None) => ok += 1,
                (Err(e), _) => {
                    eprintln!("{currency}: refused {line}: {e}");
                    bad += 1;
                }
            }
        }
        eprintln!("OFAC {currency}: {ok} canonicalised, {bad} refused");
        if family.is_some() {
            assert_eq!((ok, bad), (count, refused), "{currency}");
        } else {
            assert_eq!(bad, 0, "{currency}");
        }
    }
}

// -------------------------------------------------------------- proptests

fn utxo_case() -> impl Strategy<Value = (&'static str, Family, Vec<u8>, Kind)> {
    let versions: Vec<(&'static str, Family, Vec<u8>, Kind)> = vec![
        ("litecoin", Family::Litecoin, vec![0x30], Kind::P2pkh),
        ("litecoin", Family::Litecoin, vec![0x32], Kind::P2sh),
        ("litecoin", Family::Litecoin, vec![0x05], Kind::P2sh),
        ("dogecoin", Family::Dogecoin, vec![0x1e], Kind::P2pkh),
        ("dogecoin", Family::Dogecoin, vec![0x16], Kind::P2sh),
        ("dash", Family::Dash, vec![0x4c], Kind::P2pkh),
        ("dash", Family::Dash, vec![0x10], Kind::P2sh),
        ("zcash", Family::Zcash, vec![0x1c, 0xb8], Kind::P2pkh),
        ("zcash", Family::Zcash, vec![0x1c, 0xbd], Kind::P2sh),
        ("bch", Family::BitcoinCash, vec![0x00], Kind::P2pkh),
        ("bch", Family::BitcoinCash, vec![0x05], Kind::P2sh),
        ("bitcoin-gold", Family::BitcoinGold, vec![0x26], Kind::P2pkh),
        ("btg", Family::BitcoinGold, vec![0x17], Kind::P2sh),
    ];
    prop::sample::select(versions)
}

proptest! {
    #[test]
    fn utxo_base58_round_trips(
        (chain, family, version, kind) in utxo_case(),
        hash in any::<[u8; 20]>(),
    ) {
        let s = b58check(&version, &hash);
        let c = canonicalize(chain, &s).expect("valid");
        prop_assert_eq!(c.family(), family);
        prop_assert_eq!(c.kind(), kind);
        prop_assert_eq!(c.payload(), hash.as_slice());
        prop_assert_eq!(&canonicalize(chain, c.as_str()).expect("canonical"), &c);
        prop_assert_eq!(Canonical::from_key(c.key()).expect("from key"), c.clone());
        // Inference agrees except where the bytes are bitcoin's.
        let inferred = canonicalize_any(&s).expect("inferred");
        if version == [0x00] || version == [0x05] {
            prop_assert_eq!(inferred.family(), Family::Bitcoin);
        } else {
            prop_assert_eq!(inferred, c);
        }
    }

    #[test]
    fn bch_cashaddr_round_trips(
        bytes in any::<[u8; 64]>(),
        size_code in 0u8..8,
        p2sh in any::<bool>(),
        upper in any::<bool>(),
        prefix in any::<bool>(),
    ) {
        let size = [20, 24, 28, 32, 40, 48, 56, 64][usize::from(size_code)];
        let hash = &bytes[..size];
        let version = if p2sh { 0x08 } else { 0x00 } | size_code;
        let full = cashaddr::encode("bitcoincash", version, hash);
        let mut s = if prefix { full.clone() } else { full["bitcoincash:".len()..].to_string() };
        if upper {
            s = s.to_ascii_uppercase();
        }
        let c = canonicalize("bitcoin-cash", &s).expect("valid");
        prop_assert_eq!(c.as_str(), full.as_str());
        if size == 20 {
            let legacy = b58check(&[if p2sh { 0x05 } else { 0x00 }], hash);
            prop_assert_eq!(&canonicalize("bch", &legacy).expect("legacy"), &c);
        }
        prop_assert_eq!(&canonicalize_any(&s).expect("inferred"), &c);
        prop_assert_eq!(Canonical::from_key(c.key()).expect("from key"), c);
    }

    #[test]
    fn alias_chains_share_their_family_keys(hash in any::<[u8; 20]>(), p2sh in any::<bool>()) {
        // Bitcoin SV: bitcoin's bytes, bitcoin's key.
        let btc = b58check(&[if p2sh { 0x05 } else { 0x00 }], &hash);
        let on_bsv = canonicalize("bsv", &btc).expect("bsv");
        prop_assert_eq!(&on_bsv, &canonicalize("bitcoin", &btc).expect("bitcoin"));
        // Verge: `D...` is dogecoin's; its `E...` P2SH is dogecoin's P2SH key.
        let verge = b58check(&[if p2sh { 0x21 } else { 0x1e }], &hash);
        let doge = b58check(&[if p2sh { 0x16 } else { 0x1e }], &hash);
        let on_verge = canonicalize("verge", &verge).expect("verge");
        prop_assert_eq!(on_verge.as_str(), verge.as_str());
        prop_assert_eq!(on_verge.family(), Family::Dogecoin);
        let on_doge = canonicalize("dogecoin", &doge).expect("doge");
        prop_assert_eq!(on_verge.key(), on_doge.key());
        prop_assert_eq!(canonicalize("xvg", &doge).is_ok(), !p2sh);
    }

    #[test]
    fn segwit_round_trips_on_litecoin_and_bitcoin_gold(
        gold in any::<bool>(),
        version in 0u8..=16,
        program in prop::collection::vec(any::<u8>(), 2..=40),
    ) {
        let (hrp, chain, family) = if gold {
            ("btg", "btg", Family::BitcoinGold)
        } else {
            ("ltc", "ltc", Family::Litecoin)
        };
        let program = match version {
            0 if program.len() < 26 => program[..2].iter().copied().cycle().take(20).collect(),
            0 => program[..2].iter().copied().cycle().take(32).collect(),
            _ => program,
        };
        let fe = Fe32::try_from(version).expect("<= 16");
        let s = segwit::encode(Hrp::parse(hrp).expect("hrp"), fe, &program).expect("encodable");
        let c = canonicalize(chain, &s).expect("valid");
        prop_assert_eq!(c.family(), family);
        prop_assert_eq!(c.kind(), Kind::Witness(version));
        prop_assert_eq!(c.payload(), program.as_slice());
        prop_assert_eq!(&canonicalize_any(&s.to_ascii_uppercase()).expect("upper"), &c);
        prop_assert_eq!(Canonical::from_key(c.key()).expect("from key"), c);
    }

    #[test]
    fn xrp_round_trips(account in any::<[u8; 20]>(), tag in any::<Option<u32>>()) {
        let classic = xrp_b58check(&[&[0u8][..], &account].concat());
        let c = canonicalize("xrp", &classic).expect("valid");
        prop_assert_eq!(c.as_str(), classic.as_str());
        prop_assert_eq!(c.payload(), account.as_slice());
        let x = encode_x_address(&account, tag);
        prop_assert_eq!(&canonicalize("xrp", &x).expect("x-address"), &c);
        prop_assert_eq!(&canonicalize_any(&x).expect("x inferred"), &c);
        prop_assert_eq!(&canonicalize_any(&classic).expect("inferred"), &c);
        prop_assert_eq!(Canonical::from_key(c.key()).expect("from key"), c);
    }

    #[test]
    fn solana_round_trips(key in any::<[u8; 32]>()) {
        let s = bs58::encode(key).into_string();
        let c = canonicalize("solana", &s).expect("valid");
        prop_assert_eq!(c.as_str(), s.as_str());
        prop_assert_eq!(c.payload(), key.as_slice());
        prop_assert_eq!(&canonicalize_any(&s).expect("inferred"), &c);
        prop_assert_eq!(Canonical::from_key(c.key()).expect("from key"), c);
    }

    #[test]
    fn monero_round_trips(keys in any::<[[u8; 32]; 2]>(), pid in any::<[u8; 8]>(), sub in any::<bool>()) {
        let body = keys.concat();
        let s = monero::encode_address(if sub { 42 } else { 18 }, &body);
        prop_assert_eq!(s.len(), 95);
        let c = canonicalize("monero", &s).expect("valid");
        prop_assert_eq!(c.as_str(), s.as_str());
        prop_assert_eq!(c.payload(), body.as_slice());
        prop_assert_eq!(&canonicalize_any(&s).expect("inferred"), &c);
        if !sub {
            let integrated = monero::encode_address(19, &[body.as_slice(), &pid].concat());
            prop_assert_eq!(&canonicalize("xmr", &integrated).expect("integrated"), &c);
        }
        prop_assert_eq!(Canonical::from_key(c.key()).expect("from key"), c);
    }

    #[test]
    fn monero_base58_round_trips(data in prop::collection::vec(any::<u8>(), 0..100)) {
        let s = monero_base58_encode(&data);
        prop_assert_eq!(monero_base58_decode(&s).expect("decodes"), data);
    }

    #[test]
    fn every_family_never_panics_and_is_idempotent(
        prefix in prop::sample::select(vec![
            "", "bitcoincash:", "BITCOINCASH:", "q", "p", "ltc1", "LTC1", "tltc1", "L", "M",
            "D", "X", "t1", "t3", "r", "4", "8", "T", "bchtest:", "G", "A", "E", "btg1", "BTG1",
            "tbtg1",
        ]),
        body in "[0-9a-zA-Z]{0,110}",
    ) {
        let s = format!("{prefix}{body}");
        if let Ok(c) = canonicalize_any(&s) {
            prop_assert_eq!(&canonicalize_any(c.as_str()).expect("canonical text"), &c);
        }
        for family in Family::ALL {
            if let Ok(c) = canonicalize_family(family, &s) {
                prop_assert_eq!(c.family(), family);
                prop_assert_eq!(&canonicalize_family(family, c.as_str()).expect("canonical text"), &c);
                prop_assert_eq!(Canonical::from_key(c.key()).expect("from key"), c);
            }
        }
    }

    #[test]
    fn arbitrary_strings_never_panic_on_any_chain(s in any::<String>()) {
        let _ = canonicalize_any(&s);
        for family in Family::ALL {
            let _ = canonicalize(family.default_chain(), &s);
        }
        for (_, names) in ALIAS_CHAINS {
            for chain in *names {
                let _ = canonicalize(chain, &s);
            }
        }
    }
}
