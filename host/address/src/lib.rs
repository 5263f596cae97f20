//! Per-chain canonical address keys.
//!
//! Every address is *decoded* with the codec of its family (hex + EIP-55 for
//! EVM, base58check / bech32 / bech32m for Bitcoin, base58check for Tron,
//! CashAddr, XRP base58, Monero block base58...) and
//! the designated-set key is built from the decoded bytes, never from the
//! text. Two spellings of the same address (EVM case variants, upper-case
//! bech32, Tron hex vs. `T...`) therefore always produce the same key, and two
//! different addresses never do.
//!
//! # Key layout
//!
//! `key()` is `[family tag, kind byte, payload...]`:
//!
//! | family  | tag    | kind byte                                   | payload               |
//! |---------|--------|---------------------------------------------|-----------------------|
//! | EVM     | `0x01` | `0x00` (account)                            | 20-byte address       |
//! | Bitcoin | `0x02` | `0x20` P2PKH, `0x21` P2SH, `0x00..=0x10` witness v0..v16 | hash160 / witness program (2..=40 bytes) |
//! | Tron    | `0x03` | `0x00` (account)                            | 20 bytes after `0x41` |
//! | Litecoin | `0x04` | `0x20` P2PKH, `0x21` P2SH (`M...` and legacy `3...`), `0x00..=0x10` witness | hash160 / witness program |
//! | Bitcoin Cash | `0x05` | `0x20` P2PKH, `0x21` P2SH (cashaddr and legacy) | hash (20 bytes, or 24..=64 per cashaddr) |
//! | Dogecoin | `0x06` | `0x20` P2PKH, `0x21` P2SH (also Verge's `E...`) | hash160           |
//! | Dash    | `0x07` | `0x20` P2PKH, `0x21` P2SH                   | hash160               |
//! | Zcash   | `0x08` | `0x20` P2PKH (`t1`), `0x21` P2SH (`t3`)     | hash160 (transparent only) |
//! | XRP     | `0x09` | `0x00` (account; X-addresses included)      | 20-byte account id    |
//! | Solana  | `0x0a` | `0x00` (account)                            | 32-byte public key    |
//! | Monero  | `0x0b` | `0x00` standard/integrated, `0x22` subaddress | spend key + view key (64 bytes) |
//! | Bitcoin Gold | `0x0c` | `0x20` P2PKH (`G...`), `0x21` P2SH (`A...`), `0x00..=0x10` witness (`btg1...`) | hash160 / witness program |
//! | BNB Beacon Chain | `0x0d` | `0x00` (account, `bnb1...` bech32)      | 20-byte account       |
//!
//! The layout is stable (it may be persisted); keys are at most
//! [`MAX_KEY_LEN`] bytes, so they can be zero-padded to a fixed width.
//!
//! # Alias chains
//!
//! Bitcoin SV and Verge have no family of their own. Bitcoin SV spells
//! addresses exactly like bitcoin (base58check 0x00/0x05); Verge's P2PKH,
//! its everyday address, exactly like Dogecoin's (`D...`, 0x1e). The same
//! text is the same hash, controlled by the same private key, on both
//! chains, and nothing in the text says which chain was meant. So these
//! chains are aliases ([`ALIAS_CHAINS`]) storing their keys in the sibling
//! family's key space: one list entry denies on either chain whatever
//! currency label (or none) the list gave it, and inference never has to
//! guess. Own families would have split one text into two keys joined only
//! by a list's currency hint, so an unlabelled list would miss the alias
//! chain. An alias reads only its own chain's encodings: no `bc1` on
//! Bitcoin SV (it never had segwit); on Verge `D...` and Verge's own P2SH
//! version 0x21 (`E...`, stored under the P2SH kind as Litecoin's legacy
//! `3...` is), not Dogecoin's P2SH 0x16.
//!
//! Bitcoin Gold's version bytes and HRP are its own: it is a family
//! ([`Family::BitcoinGold`]). Bitcoin Cash is a family too because its
//! cashaddr spelling is its own; its legacy form is spelled like bitcoin's,
//! and Litecoin's legacy P2SH `3...` like bitcoin's P2SH: those texts are
//! keys of several families (next section).
//!
//! The BNB Beacon Chain ([`Family::BnbBeacon`], [`BNB_BEACON_CHAINS`]) has
//! its own bech32 HRP `bnb`. The coin's ticker `bnb` names the BNB Smart
//! Chain, an EVM chain, but a `bnb1...` text on chain `bnb` is read as a
//! Beacon Chain address ([`BNB_TICKER_CHAINS`]); `0x...` there stays EVM.
//!
//! # Key identity across chains
//!
//! The rule, applied wherever a designated-list entry becomes keys (the
//! importers in `lists` and `DesignatedSet::from_plain_text`, hence the
//! bundled sample list), by [`list_keys`]:
//!
//! 1. An address text is a key of **every** chain family on which it
//!    parses, with that family's decoded bytes: each family's parser
//!    ([`canonicalize_family`]) and the alias chains' own encodings
//!    (Verge's `E...`).
//! 2. Closed over spellings: for each key found, every other encoding of
//!    the same address ([`spellings`]: a cashaddr's legacy `1...`/`3...`, a
//!    Litecoin `M...`'s legacy `3...`, Verge's `E...` of a Dogecoin P2SH...)
//!    is parsed on every family too, until no new key appears.
//!
//! So a `1...` is a Bitcoin and a Bitcoin Cash P2PKH key (and Bitcoin SV
//! reads Bitcoin's key space); a `3...` a Bitcoin, Bitcoin Cash and
//! Litecoin P2SH key; a Litecoin `M...` the same three; a cashaddr `q...` of
//! a 20-byte hash also the Bitcoin P2PKH key of that hash. An `L...`, a
//! `bc1...`, a `ltc1...` or a `bnb1...` is one family's key only. A
//! designated key on one fork is designated on its siblings, because the
//! same text is the same hash, spendable by the same key, on each.
//!
//! A list's currency label never removes a key and adds none: the keys of
//! the chain it names are among the keys of every chain. A text no family
//! accepts is refused with the error of [`canonicalize_any`]. Lookups line
//! up: `canonicalize(chain, text)` of any spelling on any chain gives one of
//! the keys stored. Compiled set files written under the earlier rule
//! (format version 1, which stored a `1...` as a Bitcoin key only) are
//! refused at open.

mod bitcoin;
mod bnb;
mod cashaddr;
mod evm;
mod keys;
mod monero;
mod solana;
mod tron;
mod utxo;
mod xrp;

use std::fmt;

use bech32::Fe32;

pub use evm::eip55_checksum;
pub use keys::{list_keys, spellings};
pub use monero::{decode_base58 as monero_base58_decode, encode_base58 as monero_base58_encode};
pub use xrp::encode_x_address;

/// Inputs longer than this many bytes are refused before any decoding.
pub const MAX_INPUT_LEN: usize = 256;

/// Longest key: tag + kind + Monero's 64-byte spend + view keys (also the
/// longest CashAddr hash).
pub const MAX_KEY_LEN: usize = 66;

/// An address family: one key space per family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Every EVM chain (Ethereum, BSC, Arbitrum, ...) shares one key space.
    Evm,
    /// Bitcoin mainnet (and the Bitcoin SV alias chain).
    Bitcoin,
    /// Tron mainnet.
    Tron,
    /// Litecoin mainnet.
    Litecoin,
    /// Bitcoin Cash mainnet.
    #[serde(rename = "bitcoin-cash")]
    BitcoinCash,
    /// Dogecoin mainnet (and the Verge alias chain).
    Dogecoin,
    /// Dash mainnet.
    Dash,
    /// Zcash mainnet, transparent addresses only.
    Zcash,
    /// XRP Ledger mainnet.
    Xrp,
    /// Solana.
    Solana,
    /// Monero mainnet.
    Monero,
    /// Bitcoin Gold mainnet.
    #[serde(rename = "bitcoin-gold")]
    BitcoinGold,
    /// BNB Beacon Chain (formerly Binance Chain, BEP-2): `bnb1...` bech32.
    #[serde(rename = "bnb-beacon")]
    BnbBeacon,
}

impl Family {
    /// All implemented families.
    pub const ALL: [Family; 13] = [
        Family::Evm,
        Family::Bitcoin,
        Family::Tron,
        Family::Litecoin,
        Family::BitcoinCash,
        Family::Dogecoin,
        Family::Dash,
        Family::Zcash,
        Family::Xrp,
        Family::Solana,
        Family::Monero,
        Family::BitcoinGold,
        Family::BnbBeacon,
    ];

    /// Lowercase name (`evm`, `bitcoin`, `bitcoin-cash`...), as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Evm => "evm",
            Family::Bitcoin => "bitcoin",
            Family::Tron => "tron",
            Family::Litecoin => "litecoin",
            Family::BitcoinCash => "bitcoin-cash",
            Family::Dogecoin => "dogecoin",
            Family::Dash => "dash",
            Family::Zcash => "zcash",
            Family::Xrp => "xrp",
            Family::Solana => "solana",
            Family::Monero => "monero",
            Family::BitcoinGold => "bitcoin-gold",
            Family::BnbBeacon => "bnb-beacon",
        }
    }

    /// The name with its indefinite article, for messages (`an evm`, `a bitcoin`).
    pub fn with_article(self) -> &'static str {
        match self {
            Family::Evm => "an evm",
            Family::Bitcoin => "a bitcoin",
            Family::Tron => "a tron",
            Family::Litecoin => "a litecoin",
            Family::BitcoinCash => "a bitcoin-cash",
            Family::Dogecoin => "a dogecoin",
            Family::Dash => "a dash",
            Family::Zcash => "a zcash",
            Family::Xrp => "an xrp",
            Family::Solana => "a solana",
            Family::Monero => "a monero",
            Family::BitcoinGold => "a bitcoin-gold",
            Family::BnbBeacon => "a bnb-beacon",
        }
    }

    /// A chain name accepted by [`canonicalize`] for this family
    /// (`ethereum` for EVM, otherwise the family's main chain).
    pub fn default_chain(&self) -> &'static str {
        match self {
            Family::Evm => "ethereum",
            // Every other family's name is also its main chain's name.
            other => other.as_str(),
        }
    }

    /// The first byte of every key of this family.
    pub fn tag(self) -> u8 {
        match self {
            Family::Evm => 0x01,
            Family::Bitcoin => 0x02,
            Family::Tron => 0x03,
            Family::Litecoin => 0x04,
            Family::BitcoinCash => 0x05,
            Family::Dogecoin => 0x06,
            Family::Dash => 0x07,
            Family::Zcash => 0x08,
            Family::Xrp => 0x09,
            Family::Solana => 0x0a,
            Family::Monero => 0x0b,
            Family::BitcoinGold => 0x0c,
            Family::BnbBeacon => 0x0d,
        }
    }

    fn from_tag(tag: u8) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.tag() == tag)
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of address within its family (the key's second byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// An account (EVM, Tron, XRP, Solana) or a Monero standard address
    /// (integrated addresses included).
    Account,
    /// Pay-to-pubkey-hash (bitcoin base58check version 0x00 and its
    /// equivalents on other chains, cashaddr type 0).
    P2pkh,
    /// Pay-to-script-hash (bitcoin base58check version 0x05 and equivalents,
    /// cashaddr type 1).
    P2sh,
    /// Segwit output of witness version 0..=16 (bitcoin, litecoin, bitcoin gold).
    Witness(u8),
    /// Monero subaddress.
    Subaddress,
}

impl Kind {
    /// The kind byte stored in the key.
    pub fn byte(self) -> u8 {
        match self {
            Kind::Account => 0x00,
            Kind::P2pkh => 0x20,
            Kind::P2sh => 0x21,
            Kind::Witness(v) => v,
            Kind::Subaddress => 0x22,
        }
    }
}

/// A decoded address: `key()` is the byte key used in designated sets
/// (family tag byte, kind byte, payload), `Display` is its canonical text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Canonical {
    family: Family,
    kind: Kind,
    key: Box<[u8]>,
    text: String,
}

impl Canonical {
    fn new(family: Family, kind: Kind, payload: &[u8], text: String) -> Self {
        let mut key = Vec::with_capacity(2 + payload.len());
        key.push(family.tag());
        key.push(kind.byte());
        key.extend_from_slice(payload);
        Canonical {
            family,
            kind,
            key: key.into_boxed_slice(),
            text,
        }
    }

    /// The address family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The kind of address within the family.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The designated-set key: `[family tag, kind byte, payload...]`.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The decoded payload (hash, witness program, account, or Monero
    /// spend + view keys).
    pub fn payload(&self) -> &[u8] {
        self.key.get(2..).unwrap_or_default()
    }

    /// Canonical text: EIP-55 for EVM, base58check or lowercase bech32 for
    /// Bitcoin, Litecoin (P2SH as `M...`) and Bitcoin Gold, `T...`
    /// base58check for Tron, `bitcoincash:` + lowercase cashaddr, classic
    /// `r...` for XRP, base58 for Solana, the standard (or sub-) address for
    /// Monero. On an alias chain it is that chain's spelling (a Verge P2SH
    /// stays `E...` though its key is dogecoin's).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Rebuild an address from a key produced by [`Canonical::key`] (for
    /// example one read back from a persisted designated set).
    pub fn from_key(key: &[u8]) -> Result<Self, AddressError> {
        let (tag, kind, payload) = match key {
            [tag, kind, payload @ ..] => (*tag, *kind, payload),
            _ => {
                return Err(AddressError::InvalidFormat(format!(
                    "key of {} bytes is shorter than the 2-byte header",
                    key.len()
                )));
            }
        };
        let family = Family::from_tag(tag).ok_or_else(|| {
            AddressError::InvalidFormat(format!("unknown family tag 0x{tag:02x} in key"))
        })?;
        match family {
            Family::Evm if kind == Kind::Account.byte() => {
                evm::from_payload(payload).ok_or_else(|| bad_key_payload(family, payload))
            }
            Family::Tron if kind == Kind::Account.byte() => {
                tron::from_payload(payload).ok_or_else(|| bad_key_payload(family, payload))
            }
            Family::Bitcoin => bitcoin::from_key_parts(kind, payload),
            Family::Litecoin => match Fe32::try_from(kind) {
                Ok(version) if kind <= 16 => {
                    bitcoin::from_witness_for(&utxo::LITECOIN_SEGWIT, version, payload)
                }
                _ => utxo::LITECOIN.key_to_canonical(kind, payload),
            },
            Family::BitcoinCash => cashaddr::from_key_parts(kind, payload),
            Family::Dogecoin => utxo::DOGECOIN.key_to_canonical(kind, payload),
            Family::Dash => utxo::DASH.key_to_canonical(kind, payload),
            Family::Zcash => utxo::ZCASH.key_to_canonical(kind, payload),
            Family::Xrp => xrp::from_key_parts(kind, payload).ok_or_else(|| {
                AddressError::InvalidFormat(format!(
                    "an xrp key is kind 0x00 with a 20-byte account, not kind 0x{kind:02x} \
                     with {} bytes",
                    payload.len()
                ))
            }),
            Family::Solana if kind == Kind::Account.byte() => {
                solana::from_payload(payload).ok_or(AddressError::WrongLength {
                    what: "key payload",
                    expected: "32 bytes for a solana account".to_string(),
                    found: payload.len(),
                })
            }
            Family::Monero => monero::from_key_parts(kind, payload),
            Family::BnbBeacon if kind == Kind::Account.byte() => {
                bnb::from_payload(payload).ok_or_else(|| bad_key_payload(family, payload))
            }
            Family::BitcoinGold => match Fe32::try_from(kind) {
                Ok(version) if kind <= 16 => {
                    bitcoin::from_witness_for(&utxo::BITCOIN_GOLD_SEGWIT, version, payload)
                }
                _ => utxo::BITCOIN_GOLD.key_to_canonical(kind, payload),
            },
            _ => Err(AddressError::InvalidFormat(format!(
                "unknown kind byte 0x{kind:02x} for a {family} key"
            ))),
        }
    }
}

fn bad_key_payload(family: Family, payload: &[u8]) -> AddressError {
    AddressError::WrongLength {
        what: "key payload",
        expected: format!("20 bytes for a {family} account"),
        found: payload.len(),
    }
}

impl fmt::Display for Canonical {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Why an address was refused. Every message says precisely why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The chain name is not known.
    #[error("unsupported chain `{0}`")]
    UnsupportedChain(String),
    /// Nothing but whitespace.
    #[error("empty address")]
    Empty,
    /// Refused before decoding.
    #[error("address is {len} bytes long; the limit is {max} bytes")]
    TooLong { len: usize, max: usize },
    /// A base58check, EIP-55 or bech32/bech32m checksum does not match.
    #[error("bad checksum: {0}")]
    BadChecksum(String),
    /// A bech32 string mixing upper and lower case.
    #[error("mixed-case bech32 address: bech32 must be all lowercase or all uppercase")]
    MixedCase,
    /// A decoded or textual length is wrong.
    #[error("wrong length: {what} must be {expected}, found {found}")]
    WrongLength {
        what: &'static str,
        expected: String,
        found: usize,
    },
    /// A character outside the encoding's alphabet.
    #[error("invalid character: {0}")]
    InvalidCharacter(String),
    /// A valid encoding for another network of the family (e.g. testnet).
    #[error("wrong network: {0}")]
    WrongNetwork(String),
    /// A valid address, but of another family than the one asked for.
    #[error("not {} address: it is a valid {found} address", expected.with_article())]
    WrongFamily { expected: Family, found: Family },
    /// Structurally malformed for the family (prefix, version byte, padding...).
    #[error("invalid address format: {0}")]
    InvalidFormat(String),
    /// Inference only: no implemented family's encoding matches.
    #[error("unrecognised address: {0}")]
    Unrecognised(String),
}

/// Chain names (lowercase) whose addresses are EVM addresses.
pub const EVM_CHAINS: &[&str] = &[
    "ethereum",
    "eth",
    "bsc",
    "bnb",
    "binance-smart-chain",
    "bnb-smart-chain",
    "arbitrum",
    "arb",
    "arbitrum-one",
    "optimism",
    "op",
    "polygon",
    "matic",
    "base",
    "avalanche",
    "avax",
    "avalanche-c",
    "avalanche-c-chain",
    "c-chain",
    "ethereum-classic",
    "etc",
    "fantom",
    "ftm",
    "linea",
    "zksync",
    "zksync-era",
    "scroll",
    "gnosis",
    "xdai",
    "celo",
    "mantle",
    "blast",
    "cronos",
    "moonbeam",
];

/// Chain names (lowercase) of bitcoin mainnet.
pub const BITCOIN_CHAINS: &[&str] = &["bitcoin", "btc", "xbt"];

/// Chain names (lowercase) of Tron mainnet.
pub const TRON_CHAINS: &[&str] = &["tron", "trx"];

/// Chain names (lowercase) of each family other than EVM, Bitcoin and Tron.
pub const OTHER_CHAINS: &[(Family, &[&str])] = &[
    (Family::Litecoin, &["litecoin", "ltc"]),
    (Family::BitcoinCash, &["bitcoin-cash", "bitcoincash", "bch"]),
    (Family::Dogecoin, &["dogecoin", "doge"]),
    (Family::Dash, &["dash"]),
    (Family::Zcash, &["zcash", "zec"]),
    (Family::Xrp, &["xrp", "ripple"]),
    (Family::Solana, &["solana", "sol"]),
    (Family::Monero, &["monero", "xmr"]),
    (Family::BitcoinGold, &["bitcoin-gold", "bitcoingold", "btg"]),
    (Family::BnbBeacon, BNB_BEACON_CHAINS),
];

/// Chain names (lowercase) of the BNB Beacon Chain (formerly Binance Chain,
/// whose tokens are BEP-2). `bnb-chain` is not one: it is the brand of the
/// BNB Smart Chain too. The coin's ticker `bnb` names the BNB Smart Chain
/// (an EVM chain, [`EVM_CHAINS`]), but a `bnb1...` address on chain `bnb`
/// is read as the Beacon Chain's (see [`BNB_TICKER_CHAINS`]).
pub const BNB_BEACON_CHAINS: &[&str] = &["bnb-beacon", "bnb-beacon-chain", "binance-chain", "bep2"];

/// Chain names that are the BNB coin's ticker: an EVM chain name (BNB Smart
/// Chain, `0x...`), on which a `bnb1...` (or `tbnb1...`) text is read as a
/// BNB Beacon Chain address instead of being refused. OFAC files its
/// Beacon Chain addresses under the currency `BNB`.
pub const BNB_TICKER_CHAINS: &[&str] = &["bnb"];

/// Chain names (lowercase) of Bitcoin SV, an alias chain of bitcoin.
pub const BITCOIN_SV_CHAINS: &[&str] = &["bitcoin-sv", "bitcoinsv", "bsv"];

/// Chain names (lowercase) of Verge, an alias chain of dogecoin.
pub const VERGE_CHAINS: &[&str] = &["verge", "xvg"];

/// Chains without a family of their own, with the family whose key space
/// they share because they spell addresses the same way (see the module's
/// "Alias chains"). [`family_for_chain`] maps them to that family;
/// [`canonicalize`] reads only the alias chain's own encodings.
pub const ALIAS_CHAINS: &[(Family, &[&str])] = &[
    (Family::Bitcoin, BITCOIN_SV_CHAINS),
    (Family::Dogecoin, VERGE_CHAINS),
];

/// Every chain name [`family_for_chain`] maps to `family`, alias chains
/// included (lowercase, table order).
pub fn chain_names(family: Family) -> Vec<&'static str> {
    [
        (Family::Evm, EVM_CHAINS),
        (Family::Bitcoin, BITCOIN_CHAINS),
        (Family::Tron, TRON_CHAINS),
    ]
    .iter()
    .chain(OTHER_CHAINS)
    .chain(ALIAS_CHAINS)
    .filter(|(f, _)| *f == family)
    .flat_map(|(_, names)| names.iter().copied())
    .collect()
}

fn is_chain(names: &[&str], chain: &str) -> bool {
    let chain = chain.trim();
    names.iter().any(|n| n.eq_ignore_ascii_case(chain))
}

/// Family for a chain name (ASCII case-insensitive, surrounding whitespace
/// ignored). All EVM chains map to [`Family::Evm`]; alias chains
/// ([`ALIAS_CHAINS`]) to the family whose key space they share.
pub fn family_for_chain(chain: &str) -> Option<Family> {
    let known = |names: &[&str]| is_chain(names, chain);
    if known(EVM_CHAINS) {
        Some(Family::Evm)
    } else if known(BITCOIN_CHAINS) {
        Some(Family::Bitcoin)
    } else if known(TRON_CHAINS) {
        Some(Family::Tron)
    } else {
        OTHER_CHAINS
            .iter()
            .chain(ALIAS_CHAINS)
            .find(|(_, names)| known(names))
            .map(|(family, _)| *family)
    }
}

/// Canonicalise `address` as typed by a user for `chain` (leading/trailing
/// ASCII whitespace trimmed). Unknown chains are [`AddressError::UnsupportedChain`].
/// An alias chain reads its own encodings into its family's key space.
pub fn canonicalize(chain: &str, address: &str) -> Result<Canonical, AddressError> {
    let family =
        family_for_chain(chain).ok_or_else(|| AddressError::UnsupportedChain(chain.to_string()))?;
    if let Some(parse) = alias_parser(chain) {
        let s = prepare(address)?;
        return explain(family, s, parse(s));
    }
    if is_chain(BNB_TICKER_CHAINS, chain) && bnb::has_hrp(prepare(address)?) {
        return canonicalize_family(Family::BnbBeacon, address);
    }
    canonicalize_family(family, address)
}

/// A parser of prepared text.
type Parser = fn(&str) -> Result<Canonical, AddressError>;

fn parse_verge(s: &str) -> Result<Canonical, AddressError> {
    utxo::VERGE.parse(s)
}

/// The parser of an alias chain's own encodings ([`ALIAS_CHAINS`]).
fn alias_parser(chain: &str) -> Option<Parser> {
    if is_chain(BITCOIN_SV_CHAINS, chain) {
        Some(bitcoin::parse_bitcoin_sv as Parser)
    } else if is_chain(VERGE_CHAINS, chain) {
        Some(parse_verge as Parser)
    } else {
        None
    }
}

/// Canonicalise `address` strictly as an address of `family`.
pub fn canonicalize_family(family: Family, address: &str) -> Result<Canonical, AddressError> {
    let s = prepare(address)?;
    explain(family, s, parse_family(family, s))
}

/// `s` (prepared) strictly as an address of `family`, without the
/// [`explain`] step.
fn parse_family(family: Family, s: &str) -> Result<Canonical, AddressError> {
    match family {
        Family::Evm => evm::parse(s),
        Family::Bitcoin => bitcoin::parse(s),
        Family::Tron => tron::parse(s),
        Family::Litecoin => utxo::parse_litecoin(s),
        Family::BitcoinCash => cashaddr::parse(s),
        Family::Dogecoin => utxo::DOGECOIN.parse(s),
        Family::Dash => utxo::DASH.parse(s),
        Family::Zcash => utxo::parse_zcash(s),
        Family::Xrp => xrp::parse(s),
        Family::Solana => solana::parse(s),
        Family::Monero => monero::parse(s),
        Family::BitcoinGold => utxo::parse_bitcoin_gold(s),
        Family::BnbBeacon => bnb::parse(s),
    }
}

/// A parse error of `s` as `family`, replaced by [`AddressError::WrongFamily`]
/// when `s` is a valid address of another family.
fn explain(
    family: Family,
    s: &str,
    parsed: Result<Canonical, AddressError>,
) -> Result<Canonical, AddressError> {
    parsed.map_err(|err| match infer(s) {
        // Say "not a bitcoin address: it is a valid evm address" rather than
        // a codec error when the text is a valid address of another family.
        Ok(other) if other.family() != family => AddressError::WrongFamily {
            expected: family,
            found: other.family(),
        },
        _ => err,
    })
}

/// Infer the family from the encoding alone (for designated-list files where
/// the currency label is only a hint) and canonicalise.
pub fn canonicalize_any(address: &str) -> Result<Canonical, AddressError> {
    infer(prepare(address)?)
}

/// Length limit, trimming, emptiness and ASCII checks shared by every entry point.
fn prepare(address: &str) -> Result<&str, AddressError> {
    if address.len() > MAX_INPUT_LEN {
        return Err(AddressError::TooLong {
            len: address.len(),
            max: MAX_INPUT_LEN,
        });
    }
    let s = address.trim_matches(|c: char| c.is_ascii_whitespace());
    if s.is_empty() {
        return Err(AddressError::Empty);
    }
    if let Some((pos, ch)) = s.char_indices().find(|(_, c)| !c.is_ascii_graphic()) {
        return Err(AddressError::InvalidCharacter(format!(
            "{ch:?} at position {pos}: addresses are printable ASCII without spaces"
        )));
    }
    Ok(s)
}

fn has_hex_prefix(s: &str) -> bool {
    s.starts_with("0x") || s.starts_with("0X")
}

/// Inference from the encoding alone. Order and ambiguity rules:
///
/// 1. `0x` hex is EVM; `41` + 40 hex digits is Tron; other long hex strings
///    (OFAC's 64-hex XMR entry) are refused as non-addresses.
/// 2. An explicit `bitcoincash:` prefix, or a bare string in the CashAddr
///    alphabet starting with a type character (`q`/`p`, `z`/`r` with
///    tokens) of a bare CashAddr's length for one of the eight hash sizes
///    (42, 48, 55, 61, 74, 87, 100 or 112 characters for 20..=64 bytes) with
///    a valid CashAddr checksum, is Bitcoin Cash: the prefixed and the bare
///    spelling give the same key. No other family's text has that shape
///    (see `cashaddr::looks_like_cashaddr`); a bare candidate whose
///    checksum fails falls through to the rules below.
/// 3. Bech32 with HRP `bc`/`tb`/`bcrt` is Bitcoin, `ltc`/`tltc`/`rltc` is
///    Litecoin, `btg`/`tbtg`/`btgrt` is Bitcoin Gold, `bnb`/`tbnb` is the BNB
///    Beacon Chain (a base58 string that merely starts like an HRP falls
///    through).
/// 4. 95 or 106 characters is Monero (no other family is that long).
/// 5. Base58check (bitcoin alphabet) with a valid checksum is dispatched on
///    its version: `0x00`/`0x05` stay **Bitcoin** (Bitcoin Cash legacy and
///    Bitcoin SV use the same bytes: only `canonicalize("bitcoin-cash", ..)`
///    maps them to Bitcoin Cash keys); `0x41` is Tron (so a `T...` 34-char
///    string is never an XRP testnet X-address, which is 47 characters);
///    then Litecoin, Dogecoin, Dash, Zcash and Bitcoin Gold versions (Verge's
///    `D...` is Dogecoin's key; its `E...` P2SH is not inferred).
/// 6. Base58 (bitcoin alphabet) decoding to exactly 32 bytes is Solana. No
///    checksummed family decodes to 32 bytes, so this is only reached when
///    none matched.
/// 7. `r...` (25..=35 chars) and `X...`/`T...` (45..=48 chars) are tried as
///    XRP classic and X-addresses (XRP alphabet, its own checksum).
fn infer(s: &str) -> Result<Canonical, AddressError> {
    if has_hex_prefix(s) {
        return evm::parse(s);
    }
    if tron::is_hex_form(s) {
        return tron::parse(s);
    }
    if monero::is_hex64(s) {
        return Err(monero::hex64_error());
    }
    if s.len() >= 40 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AddressError::Unrecognised(format!(
            "{} hex digits without a `0x` prefix match no supported address format",
            s.len()
        )));
    }
    let cash_err = if cashaddr::looks_like_cashaddr(s) {
        match cashaddr::parse_cashaddr(s) {
            Ok(c) => return Ok(c),
            Err(e) if s.contains(':') => return Err(e),
            Err(e) => Some(e),
        }
    } else {
        None
    };
    let bech32_err = if bitcoin::has_bitcoin_bech32_hrp(s) {
        match bitcoin::parse_segwit(s) {
            Ok(c) => return Ok(c),
            Err(e) => Some(e),
        }
    } else if utxo::has_litecoin_bech32_hrp(s) {
        match bitcoin::parse_segwit_for(&utxo::LITECOIN_SEGWIT, s) {
            Ok(c) => return Ok(c),
            Err(e) => Some(e),
        }
    } else if utxo::has_bitcoin_gold_bech32_hrp(s) {
        match bitcoin::parse_segwit_for(&utxo::BITCOIN_GOLD_SEGWIT, s) {
            Ok(c) => return Ok(c),
            Err(e) => Some(e),
        }
    } else if bnb::has_hrp(s) {
        match bnb::parse(s) {
            Ok(c) => return Ok(c),
            Err(e) => Some(e),
        }
    } else {
        None
    };
    if bech32_err.is_none() && monero::TEXT_LENGTHS.contains(&s.len()) {
        return monero::parse(s);
    }
    let base58_err = match bs58::decode(s).into_vec() {
        Ok(raw) if raw.len() == 25 || raw.len() == 26 => match utxo::decode_check(s) {
            Ok(data) => return infer_base58check(&data, s),
            Err(e) => e,
        },
        Ok(raw) if raw.len() == 32 && bech32_err.is_none() => {
            if let Some(hrp) = bitcoin::checked_bech32_hrp(s) {
                return Err(AddressError::Unrecognised(format!(
                    "bech32 text with human-readable part `{hrp}` matches no supported chain"
                )));
            }
            return solana::parse(s);
        }
        Ok(raw) => AddressError::WrongLength {
            what: "decoded base58 text",
            expected: "25 or 26 bytes (base58check) or 32 (solana)".to_string(),
            found: raw.len(),
        },
        Err(e) => base58_error(e),
    };
    if xrp::looks_like_xrp(s) {
        match xrp::parse(s) {
            Ok(c) => return Ok(c),
            Err(e) if bech32_err.is_none() && cash_err.is_none() => return Err(e),
            Err(_) => {}
        }
    }
    if let Some(e) = bech32_err.or(cash_err) {
        return Err(e);
    }
    match base58_err {
        AddressError::WrongLength { found, .. } => Err(AddressError::Unrecognised(format!(
            "base58 text decodes to {found} bytes; base58check addresses (bitcoin, tron, \
             litecoin, dogecoin, dash, bitcoin-gold) are 25 bytes, zcash transparent 26, \
             solana 32"
        ))),
        AddressError::BadChecksum(_) => Err(AddressError::BadChecksum(
            "base58check checksum does not match (mistyped, or not an address of a \
             supported chain)"
                .to_string(),
        )),
        other => match bitcoin::foreign_bech32_hrp(s) {
            Some(hrp) => Err(AddressError::Unrecognised(format!(
                "bech32 text with human-readable part `{hrp}` matches no supported chain"
            ))),
            None => Err(AddressError::Unrecognised(format!(
                "not 0x-prefixed hex (evm), bech32 (bitcoin, litecoin, bitcoin-gold, \
                 bnb-beacon), cashaddr, \
                 base58check, base58 (solana, xrp) or monero base58: {other}"
            ))),
        },
    }
}

/// Dispatch valid base58check data (version + payload) on its version.
fn infer_base58check(data: &[u8], s: &str) -> Result<Canonical, AddressError> {
    if let [version, payload @ ..] = data
        && let Ok(payload) = <[u8; 20]>::try_from(payload)
    {
        match *version {
            tron::VERSION => return Ok(tron::from_parts(payload, Some(s))),
            v if bitcoin::is_base58_version(v) => {
                return bitcoin::from_base58_parts(v, payload, Some(s));
            }
            _ => {}
        }
    }
    if let Some(result) = utxo::infer_base58(data, s) {
        return result;
    }
    let version_len = if data.len() == 22 { 2 } else { 1 };
    Err(AddressError::Unrecognised(format!(
        "base58check version byte 0x{} matches no supported family \
         (bitcoin mainnet 0x00/0x05, tron 0x41, litecoin 0x30/0x32, dogecoin 0x1e/0x16, \
         dash 0x4c/0x10, zcash 0x1cb8/0x1cbd, bitcoin-gold 0x26/0x17)",
        hex::encode(data.get(..version_len).unwrap_or_default())
    )))
}

/// Decode a base58check string carrying a version byte and a 20-byte payload
/// (25 bytes with the checksum), as used by bitcoin P2PKH/P2SH and Tron.
fn base58check_20(s: &str) -> Result<(u8, [u8; 20]), AddressError> {
    let raw = bs58::decode(s).into_vec().map_err(base58_error)?;
    if raw.len() != 25 {
        return Err(AddressError::WrongLength {
            what: "decoded base58check address",
            expected: "25 bytes (version, 20-byte hash, 4-byte checksum)".to_string(),
            found: raw.len(),
        });
    }
    let data = bs58::decode(s)
        .with_check(None)
        .into_vec()
        .map_err(base58_error)?;
    match data.split_first() {
        Some((&version, rest)) => rest
            .try_into()
            .map(|payload| (version, payload))
            .map_err(|_| AddressError::WrongLength {
                what: "base58check payload",
                expected: "20 bytes".to_string(),
                found: rest.len(),
            }),
        None => Err(AddressError::InvalidFormat(
            "base58check payload is empty".to_string(),
        )),
    }
}

fn base58check_encode(version: u8, payload: &[u8]) -> String {
    let mut data = Vec::with_capacity(1 + payload.len());
    data.push(version);
    data.extend_from_slice(payload);
    bs58::encode(data).with_check().into_string()
}

fn base58_error(e: bs58::decode::Error) -> AddressError {
    use bs58::decode::Error as E;
    match e {
        E::InvalidCharacter { character, index } => AddressError::InvalidCharacter(format!(
            "{character:?} at position {index} is not a base58 character"
        )),
        E::NonAsciiCharacter { index } => AddressError::InvalidCharacter(format!(
            "non-ASCII character at position {index} in base58 text"
        )),
        E::InvalidChecksum { .. } => {
            AddressError::BadChecksum("base58check checksum does not match".to_string())
        }
        E::NoChecksum => AddressError::WrongLength {
            what: "decoded base58check data",
            expected: "at least 4 bytes of checksum".to_string(),
            found: 0,
        },
        other => AddressError::InvalidFormat(format!("base58 decoding failed: {other}")),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod tests_families;

#[cfg(test)]
mod tests_vectors;

#[cfg(test)]
mod tests_keys;
