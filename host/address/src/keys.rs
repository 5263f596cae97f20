//! Key identity across chains: which keys one list entry stands for
//! ([`list_keys`]) and every text that spells a key ([`spellings`]). The
//! rule is written down in the module documentation of
//! [`address`](super), "Key identity across chains".

use std::collections::{BTreeMap, HashSet};

use super::{
    ALIAS_CHAINS, AddressError, Canonical, Family, Kind, alias_parser, infer, monero, parse_family,
    prepare, utxo, xrp,
};

/// Bitcoin's base58check versions, which Bitcoin Cash's legacy form and
/// Litecoin's legacy P2SH share.
const BITCOIN_P2PKH: &[u8] = &[0x00];
const BITCOIN_P2SH: &[u8] = &[0x05];
/// Monero's integrated-address network byte.
const MONERO_INTEGRATED: u8 = 19;

/// Every key a designated-list entry stands for: the key of every chain
/// family on which `text` parses (each family's parser, plus the alias
/// chains' own encodings such as Verge's `E...`), closed over spellings: for
/// each key found, every other encoding of it ([`spellings`], e.g. a Bitcoin
/// Cash cashaddr's legacy `1...`, a Litecoin `M...`'s legacy `3...`) is
/// parsed on every family too, until nothing new is found. So a `1...` is a
/// bitcoin and a bitcoin-cash key; a `3...` a bitcoin, bitcoin-cash and
/// litecoin P2SH key; a cashaddr `q...` of a 20-byte hash also the bitcoin
/// P2PKH key of that hash.
///
/// The keys are deduplicated, sorted by key bytes, and carry their family's
/// canonical text. A text that parses on no family is refused with the error
/// of [`canonicalize_any`](super::canonicalize_any).
///
/// Only distinct *encodings* feed the closure, not case variants or
/// whitespace: every case-insensitive encoding (hex, bech32, cashaddr)
/// parses on the same families in either case, and base58 has one case.
pub fn list_keys(text: &str) -> Result<Vec<Canonical>, AddressError> {
    let s = prepare(text)?;
    let mut found: BTreeMap<Box<[u8]>, Canonical> = BTreeMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut queue = vec![s.to_string()];
    seen.insert(s.to_string());
    while let Some(t) = queue.pop() {
        for c in parse_everywhere(&t) {
            if found.contains_key(c.key()) {
                continue;
            }
            for e in encodings(&c) {
                if seen.insert(e.clone()) {
                    queue.push(e);
                }
            }
            found.insert(c.key().into(), c);
        }
    }
    if found.is_empty() {
        // Every family refused it: the inference error says why (inference
        // only returns what one of the parsers above accepts).
        return infer(s).map(|c| vec![c]);
    }
    Ok(found.into_values().collect())
}

/// `s` (prepared) parsed by every family and every alias chain's own
/// encodings; alias results carry their family's canonical text.
fn parse_everywhere(s: &str) -> Vec<Canonical> {
    let mut out: Vec<Canonical> = Family::ALL
        .into_iter()
        .filter_map(|family| parse_family(family, s).ok())
        .collect();
    for (_, names) in ALIAS_CHAINS {
        if let Some(parse) = names.first().and_then(|name| alias_parser(name))
            && let Ok(c) = parse(s)
            && let Ok(c) = Canonical::from_key(c.key())
        {
            out.push(c);
        }
    }
    out
}

/// The distinct encodings of `c`'s key (canonical case, no padding): its
/// canonical text first, then the other encodings its parsers accept.
fn encodings(c: &Canonical) -> Vec<String> {
    let p = c.payload();
    let mut out = vec![c.as_str().to_string()];
    match (c.family(), c.kind()) {
        (Family::Tron, _) => out.push(format!("41{}", hex::encode(p))),
        (Family::Litecoin, Kind::P2sh) => out.push(utxo::encode(BITCOIN_P2SH, p)),
        (Family::BitcoinCash, Kind::P2pkh) if p.len() == 20 => {
            out.push(utxo::encode(BITCOIN_P2PKH, p));
        }
        (Family::BitcoinCash, Kind::P2sh) if p.len() == 20 => {
            out.push(utxo::encode(BITCOIN_P2SH, p));
        }
        (Family::Dogecoin, Kind::P2sh) => {
            out.push(utxo::encode(utxo::DOGECOIN.p2sh, p));
            out.push(utxo::encode(utxo::VERGE.p2sh, p));
        }
        (Family::Xrp, _) => {
            if let Ok(account) = <[u8; 20]>::try_from(p) {
                out.push(xrp::encode_x_address(&account, None));
            }
        }
        (Family::Monero, Kind::Account) => {
            let mut body = p.to_vec();
            body.extend_from_slice(&[0; 8]);
            out.push(monero::encode_address(MONERO_INTEGRATED, &body));
        }
        _ => {}
    }
    let mut unique = HashSet::new();
    out.retain(|e| unique.insert(e.clone()));
    out
}

/// Every textual form that canonicalises to `c`'s key on some chain: the
/// distinct encodings (EVM `0x...`, Tron `T...` and `41...` hex, Bitcoin
/// Cash cashaddr and legacy base58, Litecoin `M...` and `3...`, Dogecoin's
/// P2SH and Verge's `E...`, XRP classic and X-address, Monero standard and
/// integrated), their case variants where the encoding is case-insensitive
/// (EVM lower, upper, EIP-55 and a `0X` prefix; bech32 lower and upper;
/// cashaddr prefixed or bare, lower or upper, and the CashTokens types;
/// Tron hex in either case), and the canonical text padded with surrounding
/// whitespace. Only forms the parsers accept; deduplicated, deterministic
/// order, the canonical text first.
pub fn spellings(c: &Canonical) -> Vec<String> {
    let c = Canonical::from_key(c.key()).unwrap_or_else(|_| c.clone());
    let p = c.payload();
    let mut out = Vec::new();
    for e in encodings(&c) {
        out.push(e.clone());
        match c.family() {
            Family::Evm => {
                let digits = e.get(2..).unwrap_or_default();
                let lower = digits.to_ascii_lowercase();
                let upper = digits.to_ascii_uppercase();
                out.push(format!("0x{lower}"));
                out.push(format!("0x{upper}"));
                out.push(format!("0X{lower}"));
                out.push(format!("0X{upper}"));
                out.push(format!("0X{digits}"));
            }
            Family::Tron if e.starts_with("41") => out.push(e.to_ascii_uppercase()),
            Family::Bitcoin | Family::Litecoin | Family::BitcoinGold
                if matches!(c.kind(), Kind::Witness(_)) =>
            {
                out.push(e.to_ascii_uppercase());
            }
            Family::BnbBeacon => out.push(e.to_ascii_uppercase()),
            Family::BitcoinCash => {
                if let Some((_, bare)) = e.split_once(':') {
                    out.push(e.to_ascii_uppercase());
                    out.push(bare.to_string());
                    out.push(bare.to_ascii_uppercase());
                }
            }
            _ => {}
        }
    }
    match (c.family(), c.kind()) {
        (Family::BitcoinCash, kind @ (Kind::P2pkh | Kind::P2sh)) => {
            if let Some(token) = super::cashaddr::token_aware(kind == Kind::P2sh, p) {
                out.push(token);
            }
        }
        (Family::Xrp, _) => {
            if let Ok(account) = <[u8; 20]>::try_from(p) {
                out.push(xrp::encode_x_address(&account, Some(12345)));
            }
        }
        _ => {}
    }
    out.push(format!(" {}\t\r\n", c.as_str()));
    let mut unique = HashSet::new();
    out.retain(|e| unique.insert(e.clone()));
    out
}
