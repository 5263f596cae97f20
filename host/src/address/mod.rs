//! Per-chain canonical address keys.
//!
//! Every address is *decoded* with the codec of its family (hex + EIP-55 for
//! EVM, base58check / bech32 / bech32m for Bitcoin, base58check for Tron) and
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
//!
//! The layout is stable (it may be persisted); keys are at most
//! [`MAX_KEY_LEN`] bytes, so they can be zero-padded to a fixed width.

mod bitcoin;
mod evm;
mod tron;

use std::fmt;

pub use evm::eip55_checksum;

/// Inputs longer than this many bytes are refused before any decoding.
pub const MAX_INPUT_LEN: usize = 256;

/// Longest key: tag + kind + a 40-byte witness program.
pub const MAX_KEY_LEN: usize = 42;

/// An address family: one key space per family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Every EVM chain (Ethereum, BSC, Arbitrum, ...) shares one key space.
    Evm,
    /// Bitcoin mainnet.
    Bitcoin,
    /// Tron mainnet.
    Tron,
}

impl Family {
    /// All implemented families.
    pub const ALL: [Family; 3] = [Family::Evm, Family::Bitcoin, Family::Tron];

    /// Lowercase name (`evm`, `bitcoin`, `tron`), as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Evm => "evm",
            Family::Bitcoin => "bitcoin",
            Family::Tron => "tron",
        }
    }

    /// The name with its indefinite article, for messages (`an evm`, `a bitcoin`).
    pub fn with_article(self) -> &'static str {
        match self {
            Family::Evm => "an evm",
            Family::Bitcoin => "a bitcoin",
            Family::Tron => "a tron",
        }
    }

    /// The first byte of every key of this family.
    pub fn tag(self) -> u8 {
        match self {
            Family::Evm => 0x01,
            Family::Bitcoin => 0x02,
            Family::Tron => 0x03,
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
    /// A 20-byte account (EVM, Tron).
    Account,
    /// Bitcoin pay-to-pubkey-hash (base58check version 0x00).
    P2pkh,
    /// Bitcoin pay-to-script-hash (base58check version 0x05).
    P2sh,
    /// Bitcoin segwit output of witness version 0..=16.
    Witness(u8),
}

impl Kind {
    /// The kind byte stored in the key.
    pub fn byte(self) -> u8 {
        match self {
            Kind::Account => 0x00,
            Kind::P2pkh => 0x20,
            Kind::P2sh => 0x21,
            Kind::Witness(v) => v,
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

    /// The decoded payload (hash, witness program or 20-byte account).
    pub fn payload(&self) -> &[u8] {
        self.key.get(2..).unwrap_or_default()
    }

    /// Canonical text: EIP-55 for EVM, base58check or lowercase bech32 for
    /// Bitcoin, `T...` base58check for Tron.
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

/// Family for a chain name (ASCII case-insensitive, surrounding whitespace
/// ignored). All EVM chains map to [`Family::Evm`].
pub fn family_for_chain(chain: &str) -> Option<Family> {
    let chain = chain.trim();
    let known = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(chain));
    if known(EVM_CHAINS) {
        Some(Family::Evm)
    } else if known(BITCOIN_CHAINS) {
        Some(Family::Bitcoin)
    } else if known(TRON_CHAINS) {
        Some(Family::Tron)
    } else {
        None
    }
}

/// Canonicalise `address` as typed by a user for `chain` (leading/trailing
/// ASCII whitespace trimmed). Unknown chains are [`AddressError::UnsupportedChain`].
pub fn canonicalize(chain: &str, address: &str) -> Result<Canonical, AddressError> {
    let family =
        family_for_chain(chain).ok_or_else(|| AddressError::UnsupportedChain(chain.to_string()))?;
    canonicalize_family(family, address)
}

/// Canonicalise `address` strictly as an address of `family`.
pub fn canonicalize_family(family: Family, address: &str) -> Result<Canonical, AddressError> {
    let s = prepare(address)?;
    let parsed = match family {
        Family::Evm => evm::parse(s),
        Family::Bitcoin => bitcoin::parse(s),
        Family::Tron => tron::parse(s),
    };
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

fn infer(s: &str) -> Result<Canonical, AddressError> {
    if has_hex_prefix(s) {
        return evm::parse(s);
    }
    if tron::is_hex_form(s) {
        return tron::parse(s);
    }
    if s.len() >= 40 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AddressError::Unrecognised(format!(
            "{} hex digits without a `0x` prefix match no supported address format",
            s.len()
        )));
    }
    // `bc1`/`tb1`/`bcrt1` prefixes (any case) are tried as bech32 first; a
    // base58 address that merely starts that way (e.g. `Tb1...`) falls through.
    let bech32_err = if bitcoin::has_bitcoin_bech32_hrp(s) {
        match bitcoin::parse_segwit(s) {
            Ok(c) => return Ok(c),
            Err(e) => Some(e),
        }
    } else {
        None
    };
    let base58_err = match base58check_20(s) {
        Ok((version, payload)) => {
            return match version {
                tron::VERSION => Ok(tron::from_parts(payload, Some(s))),
                v if bitcoin::is_base58_version(v) => {
                    bitcoin::from_base58_parts(v, payload, Some(s))
                }
                v => Err(AddressError::Unrecognised(format!(
                    "base58check version byte 0x{v:02x} matches no supported family \
                     (bitcoin mainnet 0x00/0x05, tron 0x41)"
                ))),
            };
        }
        Err(e) => e,
    };
    if let Some(e) = bech32_err {
        return Err(e);
    }
    match base58_err {
        AddressError::WrongLength { found, .. } => Err(AddressError::Unrecognised(format!(
            "base58 text decodes to {found} bytes; bitcoin and tron base58check \
             addresses are 25 bytes"
        ))),
        AddressError::BadChecksum(_) => Err(AddressError::BadChecksum(
            "base58check checksum does not match (mistyped, or not a bitcoin or tron address)"
                .to_string(),
        )),
        other => match bitcoin::foreign_bech32_hrp(s) {
            Some(hrp) => Err(AddressError::Unrecognised(format!(
                "bech32 text with human-readable part `{hrp}` matches no supported chain"
            ))),
            None => Err(AddressError::Unrecognised(format!(
                "not 0x-prefixed hex (evm), bech32 (bitcoin) or base58check (bitcoin, tron): \
                 {other}"
            ))),
        },
    }
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
