//! Valid addresses of every chain family `riskgate-address` knows, and every
//! spelling of one address.
//!
//! Addresses are encoded here from random payloads with the standards'
//! codecs (base58check, bech32/bech32m segwit, bech32, XRP base58, Monero
//! block base58 with its keccak checksum), independently of the address
//! crate's own encoders; only EIP-55 and CashAddr, which have no
//! maintained crate, come from it ([`riskgate_address::eip55_checksum`],
//! [`Canonical::from_key`]). Every generated text is checked with
//! [`riskgate_address::canonicalize`] on its chain before it is handed out,
//! so a disagreement between a standard and the host shows up as a panic
//! naming the address.

use bech32::{Bech32, Fe32, Hrp, segwit};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use riskgate_address::{
    BITCOIN_SV_CHAINS, BNB_TICKER_CHAINS, Canonical, Family, Kind, VERGE_CHAINS, canonicalize,
    chain_names, eip55_checksum, monero_base58_encode, spellings,
};
use sha3::{Digest, Keccak256};

/// One address on one chain: what a withdrawal's `chain` and `destination`
/// hold, and the family whose key space it lands in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChainAddress {
    /// A chain name the address crate accepts (lowercase).
    pub chain: String,
    /// The address text, in some spelling.
    pub address: String,
    /// The key space: `canonicalize(chain, address)` is of this family.
    pub family: Family,
}

impl ChainAddress {
    /// `canonicalize(chain, address)`; generated values always parse.
    ///
    /// # Panics
    /// When the text does not parse on its chain (never for a value from
    /// this module's strategies).
    pub fn canonical(&self) -> Canonical {
        canonicalize(&self.chain, &self.address)
            .unwrap_or_else(|e| panic!("{} on {}: {e}", self.address, self.chain))
    }

    /// The designated-set key of the address.
    pub fn key(&self) -> Vec<u8> {
        self.canonical().key().to_vec()
    }
}

/// Every family, uniformly.
///
/// ```
/// use proptest::prelude::*;
/// proptest!(|(family in riskgate_testkit::strategy::family())| {
///     assert!(riskgate_address::Family::ALL.contains(&family));
/// });
/// ```
pub fn family() -> impl Strategy<Value = Family> + Clone {
    select(Family::ALL.to_vec())
}

/// A valid address of any family, in its canonical spelling, on one of the
/// chains that accept that spelling (every chain name of the family, the
/// alias chains Bitcoin SV and Verge and the `bnb` ticker included).
///
/// ```
/// use proptest::prelude::*;
/// use riskgate_testkit::strategy::address;
/// proptest!(|(a in address())| {
///     let c = riskgate_address::canonicalize(&a.chain, &a.address).unwrap();
///     assert_eq!(c.family(), a.family);
/// });
/// ```
pub fn address() -> impl Strategy<Value = ChainAddress> + Clone {
    family().prop_flat_map(address_of).boxed()
}

/// A valid address of `family` (see [`address`]).
pub fn address_of(family: Family) -> impl Strategy<Value = ChainAddress> + Clone {
    (canonical_of(family), any::<Index>())
        .prop_map(|(c, pick)| {
            let text = c.as_str().to_string();
            let chains = chains_for(&c, &text);
            let chain = pick.get(&chains).to_string();
            checked(ChainAddress {
                chain,
                address: text,
                family: c.family(),
            })
        })
        .boxed()
}

/// A valid address of `family` as its decoded [`Canonical`] (key and
/// canonical text), from a random payload of one of the family's kinds.
pub fn canonical_of(family: Family) -> impl Strategy<Value = Canonical> + Clone {
    shape(family)
        .prop_map(move |(kind, payload)| encoded(family, kind, &payload))
        .boxed()
}

/// A valid address of any family as its decoded [`Canonical`].
pub fn canonical() -> impl Strategy<Value = Canonical> + Clone {
    family().prop_flat_map(canonical_of).boxed()
}

/// The kinds of one family, each with its payload: `(kind, payload)`.
fn shape(family: Family) -> BoxedStrategy<(Kind, Vec<u8>)> {
    let bytes = |n: usize| prop::collection::vec(any::<u8>(), n);
    let fixed = move |kind: Kind, n: usize| bytes(n).prop_map(move |p| (kind, p)).boxed();
    let base58 = move || prop_oneof![fixed(Kind::P2pkh, 20), fixed(Kind::P2sh, 20)].boxed();
    let segwit = move || {
        prop_oneof![
            3 => base58(),
            1 => fixed(Kind::Witness(0), 20),
            1 => fixed(Kind::Witness(0), 32),
            1 => fixed(Kind::Witness(1), 32),
        ]
        .boxed()
    };
    match family {
        Family::Evm | Family::Tron | Family::Xrp | Family::BnbBeacon => fixed(Kind::Account, 20),
        Family::Solana => fixed(Kind::Account, 32),
        Family::Monero => {
            prop_oneof![fixed(Kind::Account, 64), fixed(Kind::Subaddress, 64)].boxed()
        }
        Family::Bitcoin => prop_oneof![
            6 => segwit(),
            // Future witness versions: 2..=40-byte programs (BIP-350).
            1 => (2u8..=16, 2usize..=40)
                .prop_flat_map(move |(v, n)| bytes(n).prop_map(move |p| (Kind::Witness(v), p))),
        ]
        .boxed(),
        Family::Litecoin | Family::BitcoinGold => segwit(),
        Family::Dogecoin | Family::Dash | Family::Zcash => base58(),
        Family::BitcoinCash => prop_oneof![
            // Most cashaddrs carry a 20-byte hash (and have a legacy form).
            3 => base58(),
            1 => (any::<bool>(), select(vec![24usize, 28, 32, 40, 48, 56, 64])).prop_flat_map(
                move |(p2sh, n)| {
                    let kind = if p2sh { Kind::P2sh } else { Kind::P2pkh };
                    bytes(n).prop_map(move |p| (kind, p))
                }
            ),
        ]
        .boxed(),
    }
}

/// Base58check versions of the UTXO families (from each chain's
/// `chainparams.cpp`), P2PKH then P2SH.
fn base58_versions(family: Family) -> Option<(&'static [u8], &'static [u8])> {
    match family {
        Family::Bitcoin | Family::BitcoinCash => Some((&[0x00], &[0x05])),
        Family::Litecoin => Some((&[0x30], &[0x32])),
        Family::Dogecoin => Some((&[0x1e], &[0x16])),
        Family::Dash => Some((&[0x4c], &[0x10])),
        Family::Zcash => Some((&[0x1c, 0xb8], &[0x1c, 0xbd])),
        Family::BitcoinGold => Some((&[0x26], &[0x17])),
        _ => None,
    }
}

/// Verge's own P2SH version (`E...`), read into Dogecoin's key space.
const VERGE_P2SH: &[u8] = &[0x21];

fn base58check(version: &[u8], payload: &[u8]) -> String {
    bs58::encode([version, payload].concat())
        .with_check()
        .into_string()
}

fn segwit_hrp(family: Family) -> &'static str {
    match family {
        Family::Litecoin => "ltc",
        Family::BitcoinGold => "btg",
        _ => "bc",
    }
}

fn segwit_text(family: Family, version: u8, program: &[u8]) -> String {
    let hrp = Hrp::parse(segwit_hrp(family)).expect("a valid HRP");
    let v = Fe32::try_from(version).expect("a witness version");
    segwit::encode(hrp, v, program).expect("a valid witness program")
}

/// XRP base58check (Ripple alphabet) of `data`.
fn xrp_base58(data: &[u8]) -> String {
    bs58::encode(data)
        .with_alphabet(bs58::Alphabet::RIPPLE)
        .with_check()
        .into_string()
}

/// An XRP X-address (XLS-5d, mainnet) of `account` with an optional tag.
pub fn xrp_x_address(account: &[u8], tag: Option<u32>) -> String {
    let mut data = vec![0x05, 0x44];
    data.extend_from_slice(account);
    data.push(u8::from(tag.is_some()));
    data.extend_from_slice(&tag.unwrap_or(0).to_le_bytes());
    data.extend_from_slice(&[0; 4]);
    xrp_base58(&data)
}

/// A Monero address: network byte, body, 4-byte keccak-256 checksum, in
/// Monero's block base58.
fn monero_text(network: u8, body: &[u8]) -> String {
    let mut data = vec![network];
    data.extend_from_slice(body);
    let check = Keccak256::digest(&data);
    data.extend_from_slice(&check[..4]);
    monero_base58_encode(&data)
}

/// A Monero integrated address (network 19) of `keys` (spend + view) with
/// an 8-byte payment id.
pub fn monero_integrated(keys: &[u8], payment_id: [u8; 8]) -> String {
    monero_text(19, &[keys, &payment_id[..]].concat())
}

/// The canonical text of `(family, kind, payload)` by the standard's codec.
fn canonical_text(family: Family, kind: Kind, payload: &[u8]) -> String {
    match (family, kind) {
        (Family::Evm, _) => eip55_checksum(payload.try_into().expect("20 bytes")),
        (Family::Tron, _) => base58check(&[0x41], payload),
        (Family::Xrp, _) => xrp_base58(&[&[0x00][..], payload].concat()),
        (Family::Solana, _) => bs58::encode(payload).into_string(),
        (Family::Monero, Kind::Subaddress) => monero_text(42, payload),
        (Family::Monero, _) => monero_text(18, payload),
        (Family::BnbBeacon, _) => {
            let hrp = Hrp::parse("bnb").expect("a valid HRP");
            bech32::encode::<Bech32>(hrp, payload).expect("20 bytes encode")
        }
        // CashAddr has no maintained crate: the address crate's encoder.
        (Family::BitcoinCash, _) => {
            let key = [&[family.tag(), kind.byte()][..], payload].concat();
            Canonical::from_key(&key)
                .expect("a bitcoin-cash key")
                .as_str()
                .to_string()
        }
        (_, Kind::Witness(v)) => segwit_text(family, v, payload),
        (_, kind) => {
            let (p2pkh, p2sh) = base58_versions(family).expect("a base58check family");
            base58check(if kind == Kind::P2sh { p2sh } else { p2pkh }, payload)
        }
    }
}

/// Encodes `(family, kind, payload)` and checks the host reads it back as
/// that key, with that canonical text.
fn encoded(family: Family, kind: Kind, payload: &[u8]) -> Canonical {
    let text = canonical_text(family, kind, payload);
    let c = canonicalize(family.default_chain(), &text)
        .unwrap_or_else(|e| panic!("generated {family} address {text} does not parse: {e}"));
    let key = [&[family.tag(), kind.byte()][..], payload].concat();
    assert_eq!(
        c.key(),
        &key[..],
        "generated {family} address {text} decodes to another key"
    );
    assert_eq!(
        c.as_str(),
        text,
        "the host's canonical text of a {family} address differs from the standard's"
    );
    c
}

fn checked(a: ChainAddress) -> ChainAddress {
    if let Err(e) = canonicalize(&a.chain, &a.address) {
        panic!(
            "generated address {:?} on {} does not parse: {e}",
            a.address, a.chain
        );
    }
    a
}

/// The chain names on which the spelling `text` of `c` is `c`'s key: every
/// chain of the family (the `bnb` ticker chain for the BNB Beacon Chain
/// too), and the alias chains where they read it: Bitcoin SV its base58
/// `1...`/`3...` (no segwit), Verge the Dogecoin `D...` and its own P2SH
/// `E...`, which Dogecoin does not read (nor Verge Dogecoin's P2SH).
pub fn chains_for(c: &Canonical, text: &str) -> Vec<&'static str> {
    let alias = |n: &&str| BITCOIN_SV_CHAINS.contains(n) || VERGE_CHAINS.contains(n);
    let own: Vec<&'static str> = chain_names(c.family())
        .into_iter()
        .filter(|n| !alias(n))
        .collect();
    match (c.family(), c.kind()) {
        (Family::BnbBeacon, _) => own
            .into_iter()
            .chain(BNB_TICKER_CHAINS.iter().copied())
            .collect(),
        (Family::Bitcoin, Kind::P2pkh | Kind::P2sh) => own
            .into_iter()
            .chain(BITCOIN_SV_CHAINS.iter().copied())
            .collect(),
        (Family::Dogecoin, Kind::P2pkh) => own
            .into_iter()
            .chain(VERGE_CHAINS.iter().copied())
            .collect(),
        (Family::Dogecoin, Kind::P2sh) if text.trim() == base58check(VERGE_P2SH, c.payload()) => {
            VERGE_CHAINS.to_vec()
        }
        _ => own,
    }
}

/// Whitespace the host trims around an address (and the gate's input check
/// lets through): space, tab, line feed, form feed, carriage return.
pub const TRIMMED_WHITESPACE: [char; 5] = [' ', '\t', '\n', '\x0c', '\r'];

/// Every spelling of `c` the host treats as the same key, each on every
/// chain that reads it so (see [`chains_for`]); deterministic order.
///
/// The spellings are the address crate's own list
/// ([`riskgate_address::spellings`]: EVM lower, upper, EIP-55 and `0X`;
/// bech32 lower and upper; CashAddr prefixed or bare, lower or upper, and
/// the CashTokens types, plus the legacy `1...`/`3...`; Litecoin `M...` and
/// `3...`; Dogecoin's P2SH and Verge's `E...`; Tron `T...` and `41...` hex;
/// XRP classic and X-address; Monero standard and integrated; the canonical
/// text padded with whitespace), and these more: the CashTokens spellings
/// bare and upper case, Tron hex in mixed case, X-addresses with the
/// largest tag, a Monero integrated address with a non-zero payment id,
/// and every other spelling padded with whitespace too.
pub fn every_spelling(c: &Canonical) -> Vec<ChainAddress> {
    let mut texts = spellings(c);
    let p = c.payload();
    match (c.family(), c.kind()) {
        (Family::BitcoinCash, _) => {
            let tokens: Vec<String> = texts
                .iter()
                .filter(|t| t.starts_with("bitcoincash:z") || t.starts_with("bitcoincash:r"))
                .cloned()
                .collect();
            for t in tokens {
                let bare = t.trim_start_matches("bitcoincash:").to_string();
                texts.push(t.to_ascii_uppercase());
                texts.push(bare.to_ascii_uppercase());
                texts.push(bare);
            }
        }
        (Family::Tron, _) => {
            let hex = hex::encode(p);
            let mixed: String = hex
                .chars()
                .enumerate()
                .map(|(i, ch)| {
                    if i % 2 == 0 {
                        ch.to_ascii_uppercase()
                    } else {
                        ch
                    }
                })
                .collect();
            texts.push(format!("41{mixed}"));
        }
        (Family::Xrp, _) => texts.push(xrp_x_address(p, Some(u32::MAX))),
        (Family::Monero, Kind::Account) => {
            texts.push(monero_integrated(p, [0xa5; 8]));
        }
        _ => {}
    }
    let padded: Vec<String> = texts
        .iter()
        .filter(|t| t.trim() == t.as_str())
        .map(|t| format!("\t{t} "))
        .collect();
    texts.extend(padded);
    let mut seen = std::collections::HashSet::new();
    texts.retain(|t| seen.insert(t.clone()));
    texts
        .into_iter()
        .flat_map(|t| {
            chains_for(c, &t)
                .into_iter()
                .map(move |chain| ChainAddress {
                    chain: chain.to_string(),
                    address: t.clone(),
                    family: c.family(),
                })
        })
        .collect()
}

/// One random spelling of `c` on a chain that reads it: one of
/// [`every_spelling`], or a randomised form (an X-address with any tag, a
/// Monero integrated address with any payment id, Tron hex in any case),
/// then padded with random [`TRIMMED_WHITESPACE`] about half the time.
///
/// ```
/// use proptest::prelude::*;
/// use riskgate_testkit::strategy::{canonical, spelling};
/// proptest!(|((c, typed) in canonical().prop_flat_map(|c| (Just(c.clone()), spelling(c))))| {
///     let key = riskgate_address::canonicalize(&typed.chain, &typed.address).unwrap();
///     assert_eq!(key.key(), c.key());
/// });
/// ```
pub fn spelling(c: Canonical) -> impl Strategy<Value = ChainAddress> + Clone {
    let all = every_spelling(&c);
    let random = random_spelling(&c);
    let pad = prop::collection::vec(select(TRIMMED_WHITESPACE.to_vec()), 0..3);
    (
        prop_oneof![3 => select(all), 1 => random],
        any::<bool>(),
        pad.clone(),
        pad,
    )
        .prop_map(|(mut a, padded, before, after)| {
            if padded {
                let before: String = before.into_iter().collect();
                let after: String = after.into_iter().collect();
                a.address = format!("{before}{}{after}", a.address);
            }
            checked(a)
        })
        .boxed()
}

/// The family's randomised spellings of `c` (or its canonical text).
fn random_spelling(c: &Canonical) -> BoxedStrategy<ChainAddress> {
    let c = c.clone();
    let family = c.family();
    let p = c.payload().to_vec();
    let text = move |c: &Canonical, t: String| {
        let chains = chains_for(c, &t);
        (Just(t), select(chains)).prop_map(move |(t, chain)| ChainAddress {
            chain: chain.to_string(),
            address: t,
            family,
        })
    };
    match (family, c.kind()) {
        (Family::Xrp, _) => any::<Option<u32>>()
            .prop_flat_map(move |tag| text(&c, xrp_x_address(&p, tag)))
            .boxed(),
        (Family::Monero, Kind::Account) => any::<[u8; 8]>()
            .prop_flat_map(move |id| text(&c, monero_integrated(&p, id)))
            .boxed(),
        (Family::Tron, _) => any::<u64>()
            .prop_flat_map(move |mask| {
                let hex: String = hex::encode(&p)
                    .chars()
                    .enumerate()
                    .map(|(i, ch)| {
                        if mask >> (i % 64) & 1 == 1 {
                            ch.to_ascii_uppercase()
                        } else {
                            ch
                        }
                    })
                    .collect();
                text(&c, format!("41{hex}"))
            })
            .boxed(),
        _ => {
            let t = c.as_str().to_string();
            text(&c, t).boxed()
        }
    }
}

/// An address and one spelling of it: `(listed, typed)`, both spellings of
/// one key, each on a chain that reads it so. What a designated-list entry
/// and a withdrawal to it look like when typed differently.
pub fn two_spellings() -> impl Strategy<Value = (ChainAddress, ChainAddress)> + Clone {
    canonical().prop_flat_map(|c| (spelling(c.clone()), spelling(c)))
}

/// The spellings a mistyped address may take: one character of `text`
/// (not whitespace) replaced by another that is not the same letter in
/// another case. `at` and `with` pick the position and the character.
pub fn mistype(text: &str, at: Index, with: Index) -> Option<String> {
    const POOL: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:";
    let positions: Vec<usize> = text
        .char_indices()
        .filter(|(_, ch)| !ch.is_ascii_whitespace())
        .map(|(i, _)| i)
        .collect();
    if positions.is_empty() {
        return None;
    }
    let i = *at.get(&positions);
    let old = text[i..].chars().next()?;
    let choices: Vec<char> = POOL
        .iter()
        .map(|&b| char::from(b))
        .filter(|ch| !ch.eq_ignore_ascii_case(&old))
        .collect();
    let new = *with.get(&choices);
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..i]);
    out.push(new);
    out.push_str(&text[i + old.len_utf8()..]);
    Some(out)
}

/// Near misses of `c`: the same payload under another kind or family
/// (P2PKH as P2SH, an EVM account's bytes as Tron, XRP or BNB Beacon, a
/// witness program under another version...), each a valid address that
/// is *not* `c`. Canonical texts, any family's.
///
/// Bitcoin's and Bitcoin Cash's 20-byte P2PKH (or P2SH) of one hash are one
/// address by the host's key identity (`riskgate_address::list_keys`), as
/// are Litecoin's and Bitcoin's P2SH: those pairs are never offered.
pub fn near_misses(c: &Canonical) -> Vec<Canonical> {
    let p = c.payload();
    let mut out = Vec::new();
    let mut push = |family: Family, kind: Kind, payload: &[u8]| {
        let key = [&[family.tag(), kind.byte()][..], payload].concat();
        if key != c.key()
            && let Ok(other) = Canonical::from_key(&key)
        {
            out.push(other);
        }
    };
    let swap = |k: Kind| match k {
        Kind::P2pkh => Kind::P2sh,
        Kind::P2sh => Kind::P2pkh,
        other => other,
    };
    if p.len() == 20 {
        for family in [Family::Evm, Family::Tron, Family::Xrp, Family::BnbBeacon] {
            push(family, Kind::Account, p);
        }
        for family in [
            Family::Dogecoin,
            Family::Dash,
            Family::Zcash,
            Family::BitcoinGold,
        ] {
            push(family, Kind::P2pkh, p);
            push(family, Kind::P2sh, p);
        }
        push(Family::Bitcoin, Kind::Witness(0), p);
        push(Family::Litecoin, Kind::Witness(0), p);
        push(Family::Litecoin, Kind::P2pkh, p);
    }
    if p.len() == 32 {
        push(Family::Solana, Kind::Account, p);
        push(Family::Bitcoin, Kind::Witness(1), p);
        push(Family::Bitcoin, Kind::Witness(0), p);
        push(Family::Litecoin, Kind::Witness(1), p);
    }
    push(c.family(), swap(c.kind()), p);
    if let Kind::Witness(v) = c.kind() {
        push(
            c.family(),
            Kind::Witness(if v == 16 { 2 } else { v + 1 }),
            p,
        );
    }
    if c.family() == Family::Monero {
        push(Family::Monero, Kind::Subaddress, p);
        push(Family::Monero, Kind::Account, p);
    }
    // Never a spelling of `c` by the host's identity rule (a `1...` is a
    // bitcoin and a bitcoin-cash key; a `3...` a litecoin one too).
    out.retain(|o| {
        riskgate_address::list_keys(o.as_str())
            .map(|keys| keys.iter().all(|k| k.key() != c.key()))
            .unwrap_or(false)
    });
    out
}
