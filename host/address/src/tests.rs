use bech32::{Fe32, hrp, segwit};
use proptest::prelude::*;

use super::*;

fn any_ok(s: &str) -> Canonical {
    match canonicalize_any(s) {
        Ok(c) => c,
        Err(e) => panic!("{s} should parse: {e}"),
    }
}

fn fam_ok(family: Family, s: &str) -> Canonical {
    match canonicalize_family(family, s) {
        Ok(c) => c,
        Err(e) => panic!("{s} should parse as {family}: {e}"),
    }
}

fn key_of(family: Family, kind: Kind, payload_hex: &str) -> Vec<u8> {
    let mut key = vec![family.tag(), kind.byte()];
    key.extend(hex::decode(payload_hex).expect("test vector hex"));
    key
}

// ---------------------------------------------------------------- EVM

const EIP55_VECTORS: [&str; 4] = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
];

#[test]
fn eip55_vectors_are_canonical_text() {
    for v in EIP55_VECTORS {
        let c = fam_ok(Family::Evm, v);
        assert_eq!(c.as_str(), v);
        assert_eq!(c.to_string(), v);
        assert_eq!(c.family(), Family::Evm);
        assert_eq!(c.kind(), Kind::Account);
        assert_eq!(c.key().len(), 22);
        assert_eq!(c.payload(), hex::decode(&v[2..]).expect("hex").as_slice());
        // Lowercase and uppercase spellings map to the same key and text.
        let lower = v.to_ascii_lowercase();
        let upper = format!("0x{}", v[2..].to_ascii_uppercase());
        let upper_prefix = format!("0X{}", &v[2..]);
        for variant in [lower.as_str(), upper.as_str(), upper_prefix.as_str()] {
            let other = fam_ok(Family::Evm, variant);
            assert_eq!(other.key(), c.key(), "{variant}");
            assert_eq!(other.as_str(), v, "{variant}");
        }
    }
}

#[test]
fn eip55_flipped_case_is_bad_checksum() {
    for v in EIP55_VECTORS {
        // Flip the case of every letter in turn: each one must fail.
        for (i, ch) in v.char_indices().skip(2) {
            if !ch.is_ascii_alphabetic() {
                continue;
            }
            let mut flipped = v.to_string();
            let swapped = if ch.is_ascii_uppercase() {
                ch.to_ascii_lowercase()
            } else {
                ch.to_ascii_uppercase()
            };
            flipped.replace_range(i..=i, &swapped.to_string());
            let lower = v.to_ascii_lowercase();
            let upper = format!("0x{}", v[2..].to_ascii_uppercase());
            if flipped == lower || flipped == upper {
                continue; // the flip made it single-case, which is accepted
            }
            assert!(
                matches!(
                    canonicalize("ethereum", &flipped),
                    Err(AddressError::BadChecksum(_))
                ),
                "{flipped}"
            );
        }
    }
}

#[test]
fn evm_errors_are_precise() {
    assert!(matches!(
        canonicalize("eth", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe"),
        Err(AddressError::WrongLength { found: 39, .. })
    ));
    assert!(matches!(
        canonicalize("eth", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd0"),
        Err(AddressError::WrongLength { found: 42, .. })
    ));
    assert!(matches!(
        canonicalize("eth", "0xZaAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
        Err(AddressError::InvalidCharacter(_))
    ));
    assert!(matches!(
        canonicalize("eth", "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
        Err(AddressError::InvalidFormat(_))
    ));
    let err = canonicalize("eth", "0x").expect_err("no digits");
    assert!(err.to_string().contains("40 hex digits"), "{err}");
}

#[test]
fn every_evm_chain_shares_one_key_space() {
    let a = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";
    let key = fam_ok(Family::Evm, a).key().to_vec();
    for chain in [
        "ethereum",
        "eth",
        "bsc",
        "binance-smart-chain",
        "arbitrum",
        "optimism",
        "polygon",
        "base",
        "avalanche",
        "ethereum-classic",
        "etc",
        "fantom",
        "linea",
        "zksync",
        "scroll",
        "gnosis",
        "ETH",
        " Arbitrum ",
    ] {
        assert_eq!(family_for_chain(chain), Some(Family::Evm), "{chain}");
        let c = canonicalize(chain, a).expect("valid");
        assert_eq!(c.key(), key.as_slice(), "{chain}");
    }
}

// ------------------------------------------------------------ Bitcoin

#[test]
fn base58_vectors() {
    let p2pkh = fam_ok(Family::Bitcoin, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2");
    assert_eq!(p2pkh.kind(), Kind::P2pkh);
    assert_eq!(
        p2pkh.key(),
        key_of(
            Family::Bitcoin,
            Kind::P2pkh,
            "77bff20c60e522dfaa3350c39b030a5d004e839a"
        )
    );
    assert_eq!(p2pkh.as_str(), "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2");
    let p2sh = fam_ok(Family::Bitcoin, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy");
    assert_eq!(p2sh.kind(), Kind::P2sh);
    assert_eq!(p2sh.as_str(), "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy");
    assert_eq!(p2sh.payload().len(), 20);
    assert_ne!(p2pkh.key(), p2sh.key());
    // Inference gives the same answer.
    assert_eq!(any_ok("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"), p2pkh);
    assert_eq!(any_ok(" 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy\n"), p2sh);
}

#[test]
fn base58_flipped_character_is_bad_checksum() {
    for (s, from, to) in [
        ("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "N2", "N3"),
        ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "WpEZ", "WpFZ"),
    ] {
        let bad = s.replacen(from, to, 1);
        assert!(
            matches!(
                canonicalize("bitcoin", &bad),
                Err(AddressError::BadChecksum(_))
            ),
            "{bad}"
        );
        assert!(matches!(
            canonicalize_any(&bad),
            Err(AddressError::BadChecksum(_))
        ));
    }
}

#[test]
fn base58_is_case_sensitive() {
    let s = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2";
    let key = fam_ok(Family::Bitcoin, s).key().to_vec();
    for (i, ch) in s.char_indices() {
        if !ch.is_ascii_alphabetic() {
            continue;
        }
        let swapped = if ch.is_ascii_uppercase() {
            ch.to_ascii_lowercase()
        } else {
            ch.to_ascii_uppercase()
        };
        let mut variant = s.to_string();
        variant.replace_range(i..=i, &swapped.to_string());
        if let Ok(c) = canonicalize("btc", &variant) {
            assert_ne!(c.key(), key.as_slice(), "{variant} must not map to {s}");
        }
    }
    // The whole string case-folded is certainly not the same address.
    assert!(canonicalize("btc", &s.to_ascii_lowercase()).is_err());
}

#[test]
fn base58_testnet_is_wrong_network() {
    for s in [
        "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn",
        "2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc",
    ] {
        assert!(
            matches!(
                canonicalize("bitcoin", s),
                Err(AddressError::WrongNetwork(_))
            ),
            "{s}"
        );
        assert!(matches!(
            canonicalize_any(s),
            Err(AddressError::WrongNetwork(_))
        ));
    }
}

#[test]
fn bech32_valid_vectors() {
    // (address, witness version, program) from BIP-173 / BIP-350 (mainnet).
    let vectors = [
        (
            "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
            0,
            "751e76e8199196d454941c45d1b3a323f1433bd6",
        ),
        (
            "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
            0,
            "1863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
        ),
        (
            "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
            1,
            "751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6",
        ),
        ("BC1SW50QGDZ25J", 16, "751e"),
        (
            "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs",
            2,
            "751e76e8199196d454941c45d1b3a323",
        ),
        (
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
            1,
            "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
        ),
    ];
    for (s, version, program) in vectors {
        let c = fam_ok(Family::Bitcoin, s);
        assert_eq!(c.kind(), Kind::Witness(version), "{s}");
        assert_eq!(
            c.key(),
            key_of(Family::Bitcoin, Kind::Witness(version), program),
            "{s}"
        );
        assert_eq!(c.as_str(), s.to_ascii_lowercase(), "{s}");
        // Upper and lower case both accepted, same key.
        assert_eq!(fam_ok(Family::Bitcoin, &s.to_ascii_uppercase()), c);
        assert_eq!(fam_ok(Family::Bitcoin, &s.to_ascii_lowercase()), c);
        assert_eq!(any_ok(s), c);
    }
}

#[test]
fn bech32_invalid_vectors() {
    use AddressError as E;
    type Check = fn(&AddressError) -> bool;
    let cases: [(&str, Check); 13] = [
        // Mixed case.
        ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0c5xw7kv8f3t4", |e| {
            matches!(e, E::MixedCase)
        }),
        // v2 with a bech32 (not bech32m) checksum: valid under BIP-173 only.
        (
            "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du",
            |e| matches!(e, E::BadChecksum(m) if m.contains("bech32m")),
        ),
        // v1 with bech32 checksum (BIP-350 invalid vector).
        (
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
            |e| matches!(e, E::BadChecksum(_)),
        ),
        // v16 with bech32 checksum.
        (
            "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
            |e| matches!(e, E::BadChecksum(_)),
        ),
        // v0 with bech32m checksum.
        (
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",
            |e| matches!(e, E::BadChecksum(m) if m.contains("v0")),
        ),
        // Testnet on mainnet.
        (
            "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
            |e| matches!(e, E::WrongNetwork(_)),
        ),
        ("bcrt1qs758ursh4q9z627kt3pp5yysm78ddny6txaqgw", |e| {
            matches!(e, E::WrongNetwork(_))
        }),
        // Invalid program length (1 byte), BIP-350 vector.
        (
            "bc1pw5dgrnzv",
            |e| matches!(e, E::InvalidFormat(m) if m.contains("program length")),
        ),
        // Invalid program length, BIP-173 vector: v3 with a bech32 checksum.
        ("bc1rw5uspcuh", |e| matches!(e, E::BadChecksum(_))),
        // Program too long (41 bytes).
        (
            "bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90",
            |e| !matches!(e, E::Unrecognised(_)),
        ),
        // v0 with a 16-byte program.
        (
            "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",
            |e| matches!(e, E::InvalidFormat(m) if m.contains("20 or 32")),
        ),
        // Invalid character 'o'.
        (
            "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",
            |e| matches!(e, E::InvalidCharacter(_)),
        ),
        // Empty data part.
        ("bc1gmk9yu", |e| {
            matches!(e, E::BadChecksum(_) | E::InvalidFormat(_))
        }),
    ];
    for (s, expected) in cases {
        match canonicalize("bitcoin", s) {
            Ok(c) => panic!("{s} must be refused, got {c}"),
            Err(e) => assert!(expected(&e), "{s}: unexpected error {e:?}"),
        }
        assert!(canonicalize_any(s).is_err(), "{s}");
    }
}

// --------------------------------------------------------------- Tron

#[test]
fn tron_base58_and_hex_forms_share_a_key() {
    let t = any_ok("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
    assert_eq!(t.family(), Family::Tron);
    assert_eq!(
        t.key(),
        key_of(
            Family::Tron,
            Kind::Account,
            "a614f803b6fd780986a42c78ec9c7f77e6ded13c"
        )
    );
    for hex_form in [
        "41a614f803b6fd780986a42c78ec9c7f77e6ded13c",
        "41A614F803B6FD780986A42C78EC9C7F77E6DED13C",
    ] {
        let h = fam_ok(Family::Tron, hex_form);
        assert_eq!(h, t);
        assert_eq!(h.as_str(), "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
        assert_eq!(any_ok(hex_form), t);
    }
}

#[test]
fn ofac_tron_address_is_inferred_as_tron() {
    let c = any_ok("TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq");
    assert_eq!(c.family(), Family::Tron);
    assert_eq!(c.as_str(), "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq");
    assert_eq!(
        canonicalize("tron", "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"),
        Ok(c.clone())
    );
    assert_eq!(
        canonicalize("trx", &format!("41{}", hex::encode(c.payload()))),
        Ok(c)
    );
}

#[test]
fn base58_text_that_looks_like_a_bech32_prefix_is_still_base58() {
    // Starts `TB1`: the part before the last `1` reads as the `tb` HRP.
    let s = "TB1rMrm8ZdToAw1hnKXCeUWdjEF5iUPvWb";
    let c = any_ok(s);
    assert_eq!(c.family(), Family::Tron);
    assert_eq!(c.as_str(), s);
    assert_eq!(fam_ok(Family::Tron, s), c);
    assert_eq!(
        canonicalize("bitcoin", s),
        Err(AddressError::WrongFamily {
            expected: Family::Bitcoin,
            found: Family::Tron
        })
    );
}

#[test]
fn tron_and_evm_are_different_families() {
    let t = any_ok("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
    let e = any_ok("0xa614f803b6fd780986a42c78ec9c7f77e6ded13c");
    assert_eq!(t.payload(), e.payload());
    assert_ne!(t.key(), e.key());
    assert!(matches!(
        canonicalize("tron", "0xa614f803b6fd780986a42c78ec9c7f77e6ded13c"),
        Err(AddressError::WrongFamily {
            expected: Family::Tron,
            found: Family::Evm
        })
    ));
    assert!(matches!(
        canonicalize("tron", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u"),
        Err(AddressError::BadChecksum(_))
    ));
}

// ------------------------------------------------------- chains, limits

#[test]
fn wrong_family_says_so() {
    let err = canonicalize("bitcoin", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
        .expect_err("evm address for bitcoin");
    assert_eq!(
        err,
        AddressError::WrongFamily {
            expected: Family::Bitcoin,
            found: Family::Evm
        }
    );
    assert!(err.to_string().contains("not a bitcoin address"), "{err}");
    assert!(matches!(
        canonicalize("eth", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
        Err(AddressError::WrongFamily {
            expected: Family::Evm,
            found: Family::Bitcoin
        })
    ));
    assert!(matches!(
        canonicalize("bitcoin", "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"),
        Err(AddressError::WrongFamily {
            expected: Family::Bitcoin,
            found: Family::Tron
        })
    ));
}

#[test]
fn unsupported_chain_and_limits() {
    let err = canonicalize("foo", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
        .expect_err("unknown chain");
    assert_eq!(err, AddressError::UnsupportedChain("foo".to_string()));
    assert_eq!(err.to_string(), "unsupported chain `foo`");
    assert_eq!(family_for_chain("litecoin"), Some(Family::Litecoin));
    assert_eq!(family_for_chain("dogecoin-classic"), None);
    assert_eq!(family_for_chain("btc"), Some(Family::Bitcoin));
    assert_eq!(family_for_chain("trx"), Some(Family::Tron));

    assert_eq!(canonicalize("eth", "  \t\n"), Err(AddressError::Empty));
    assert_eq!(canonicalize_any(""), Err(AddressError::Empty));
    let long = "1".repeat(MAX_INPUT_LEN + 1);
    assert_eq!(
        canonicalize_any(&long),
        Err(AddressError::TooLong {
            len: MAX_INPUT_LEN + 1,
            max: MAX_INPUT_LEN
        })
    );
    assert!(matches!(
        canonicalize("eth", "0x5aAeb6053F3E94C9b9A0 9f33669435E7Ef1BeAed"),
        Err(AddressError::InvalidCharacter(_))
    ));
    assert!(matches!(
        canonicalize_any("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAé"),
        Err(AddressError::InvalidCharacter(_))
    ));
    // Surrounding whitespace is trimmed.
    assert_eq!(
        fam_ok(
            Family::Evm,
            "\t0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed \r\n"
        )
        .as_str(),
        EIP55_VECTORS[0]
    );
}

#[test]
fn inference_explains_unrecognised_inputs() {
    let foreign_bech32 = bech32::segwit::encode(
        bech32::Hrp::parse("xyz").expect("hrp"),
        bech32::segwit::VERSION_0,
        &[7u8; 20],
    )
    .expect("encodable");
    let verge_p2sh = bs58::encode([&[0x21u8][..], &[9u8; 20]].concat())
        .with_check()
        .into_string();
    for (s, needle) in [
        // OFAC's XMR list: 64 hex digits, not an address.
        (
            "5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320",
            "not an address",
        ),
        // 40 hex digits without a prefix.
        ("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "hex digits"),
        // Verge P2SH: valid base58check, a version byte read only on the
        // verge chain.
        (verge_p2sh.as_str(), "0x21"),
        // Bech32 with an unsupported HRP.
        (foreign_bech32.as_str(), "`xyz`"),
        // Base58 decoding to 22 bytes.
        ("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "decodes to"),
    ] {
        match canonicalize_any(s) {
            Err(AddressError::Unrecognised(m)) => assert!(m.contains(needle), "{s}: {m}"),
            other => panic!("{s}: expected Unrecognised, got {other:?}"),
        }
    }
}

#[test]
fn keys_round_trip_through_from_key() {
    for s in [
        EIP55_VECTORS[1],
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
        "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "BC1SW50QGDZ25J",
        "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq",
    ] {
        let c = any_ok(s);
        assert!(c.key().len() <= MAX_KEY_LEN);
        assert_eq!(Canonical::from_key(c.key()), Ok(c));
    }
    assert!(Canonical::from_key(&[]).is_err());
    assert!(Canonical::from_key(&[9, 0, 1, 2]).is_err());
    assert!(Canonical::from_key(&[1, 0, 1, 2]).is_err());
    assert!(Canonical::from_key(&[2, 17, 1, 2]).is_err());
    assert!(Canonical::from_key(&[2, 0, 1, 2]).is_err());
}

#[test]
fn family_serialises_lowercase() {
    assert_eq!(Family::Evm.to_string(), "evm");
    assert_eq!(Family::Bitcoin.as_str(), "bitcoin");
    assert_eq!(Family::Tron.to_string(), "tron");
}

// ---------------------------------------------------------- proptests

fn segwit_case() -> impl Strategy<Value = (u8, Vec<u8>)> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 20).prop_map(|p| (0u8, p)),
        prop::collection::vec(any::<u8>(), 32).prop_map(|p| (0u8, p)),
        (1u8..=16, prop::collection::vec(any::<u8>(), 2..=40)),
    ]
}

proptest! {
    #[test]
    fn evm_spellings_share_a_key(bytes in any::<[u8; 20]>()) {
        let checksummed = eip55_checksum(&bytes);
        let lower = format!("0x{}", hex::encode(bytes));
        let upper = format!("0x{}", hex::encode_upper(bytes));
        let c = canonicalize("ethereum", &checksummed).expect("checksummed");
        prop_assert_eq!(c.as_str(), checksummed.as_str());
        prop_assert_eq!(c.payload(), bytes.as_slice());
        for s in [&lower, &upper] {
            prop_assert_eq!(&canonicalize("bsc", s).expect("single case"), &c);
        }
        prop_assert_eq!(&canonicalize_any(c.as_str()).expect("round trip"), &c);
    }

    #[test]
    fn bitcoin_base58_round_trips(payload in any::<[u8; 20]>(), p2sh in any::<bool>()) {
        let (version, kind) = if p2sh { (0x05, Kind::P2sh) } else { (0x00, Kind::P2pkh) };
        let mut data = vec![version];
        data.extend_from_slice(&payload);
        let s = bs58::encode(&data).with_check().into_string();
        let c = canonicalize("bitcoin", &s).expect("valid");
        prop_assert_eq!(c.kind(), kind);
        prop_assert_eq!(c.payload(), payload.as_slice());
        prop_assert_eq!(c.as_str(), s.as_str());
        prop_assert_eq!(&canonicalize_any(&s).expect("inferred"), &c);
        prop_assert_eq!(Canonical::from_key(c.key()).expect("from key"), c);
    }

    #[test]
    fn bitcoin_segwit_round_trips((version, program) in segwit_case()) {
        let fe = Fe32::try_from(version).expect("version <= 16");
        let s = segwit::encode(hrp::BC, fe, &program).expect("encodable");
        let c = canonicalize("btc", &s).expect("valid");
        prop_assert_eq!(c.kind(), Kind::Witness(version));
        prop_assert_eq!(c.payload(), program.as_slice());
        prop_assert_eq!(c.as_str(), s.as_str());
        prop_assert_eq!(&canonicalize("bitcoin", &s.to_ascii_uppercase()).expect("upper"), &c);
        prop_assert_eq!(&canonicalize_any(&s).expect("inferred"), &c);
        // The same program on testnet is refused.
        let tb = segwit::encode(hrp::TB, fe, &program).expect("encodable");
        prop_assert!(matches!(canonicalize("bitcoin", &tb), Err(AddressError::WrongNetwork(_))));
    }

    #[test]
    fn tron_round_trips(payload in any::<[u8; 20]>()) {
        let mut data = vec![0x41];
        data.extend_from_slice(&payload);
        let t = bs58::encode(&data).with_check().into_string();
        let c = canonicalize("tron", &t).expect("valid");
        prop_assert_eq!(c.as_str(), t.as_str());
        prop_assert_eq!(c.payload(), payload.as_slice());
        let hex_form = hex::encode(&data);
        prop_assert_eq!(&canonicalize("trx", &hex_form).expect("hex form"), &c);
        prop_assert_eq!(&canonicalize_any(&hex_form.to_ascii_uppercase()).expect("hex"), &c);
        prop_assert_eq!(&canonicalize_any(&t).expect("inferred"), &c);
    }

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let _ = canonicalize_any(&s);
        for chain in ["eth", "bitcoin", "tron", "nope"] {
            let _ = canonicalize(chain, &s);
        }
    }

    #[test]
    fn alphabet_shaped_strings_never_panic(
        prefix in prop::sample::select(vec!["", "0x", "0X", "bc1", "BC1", "tb1", "T", "41", "1", "3", "ltc1", "bc1p", "bc1q"]),
        body in "[0-9a-zA-Z]{0,100}",
    ) {
        let s = format!("{prefix}{body}");
        let _ = canonicalize_any(&s);
        for family in Family::ALL {
            if let Ok(c) = canonicalize_family(family, &s) {
                prop_assert_eq!(c.family(), family);
                prop_assert_eq!(&canonicalize_family(family, c.as_str()).expect("canonical text"), &c);
            }
        }
    }

    #[test]
    fn arbitrary_keys_never_panic(key in prop::collection::vec(any::<u8>(), 0..50)) {
        if let Ok(c) = Canonical::from_key(&key) {
            prop_assert_eq!(c.key(), key.as_slice());
        }
    }
}
