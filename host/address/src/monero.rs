//! Monero: standard (network byte 18, `4...`), subaddress (42, `8...`) and
//! integrated (19, `4...` with an 8-byte payment id) addresses, in Monero's
//! block base58 (8-byte blocks, each 11 characters, the last block shorter)
//! with a 4-byte keccak-256 checksum.
//!
//! The key is the public spend key + public view key (64 bytes). An
//! integrated address maps to the key (and canonical text) of its standard
//! address: the payment id is not part of the destination's identity.

use sha3::{Digest, Keccak256};

use super::{AddressError, Canonical, Family, Kind};

const STANDARD: u8 = 18;
const INTEGRATED: u8 = 19;
const SUBADDRESS: u8 = 42;
/// Testnet (53, 54, 63) and stagenet (24, 25, 36) network bytes.
const OTHER_NETWORKS: [u8; 6] = [53, 54, 63, 24, 25, 36];

/// Lengths of the text forms: 69 bytes (standard, subaddress) and 77
/// (integrated).
pub(super) const TEXT_LENGTHS: [usize; 2] = [95, 106];

/// Monero block base58 encoding (the `base58-monero` crate).
pub fn encode_base58(data: &[u8]) -> String {
    // Encoding any byte string succeeds; the crate's error type covers decoding.
    base58_monero::encode(data).unwrap_or_default()
}

/// Monero block base58 decoding (the `base58-monero` crate): refuses
/// characters outside the alphabet, impossible final-block lengths and
/// blocks that overflow their byte width.
pub fn decode_base58(s: &str) -> Result<Vec<u8>, AddressError> {
    base58_monero::decode(s).map_err(|e| AddressError::InvalidFormat(format!("monero base58: {e}")))
}

fn checksum(data: &[u8]) -> [u8; 4] {
    let hash = Keccak256::digest(data);
    let mut out = [0u8; 4];
    out.copy_from_slice(hash.get(..4).unwrap_or(&[0; 4]));
    out
}

/// Encode network byte + body with its checksum.
pub fn encode_address(network: u8, body: &[u8]) -> String {
    let mut data = Vec::with_capacity(1 + body.len() + 4);
    data.push(network);
    data.extend_from_slice(body);
    let check = checksum(&data);
    data.extend_from_slice(&check);
    encode_base58(&data)
}

/// Is `s` a 64-hex-digit string (as in OFAC's XMR list: a key or hash, not an address)?
pub(super) fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(super) fn parse(s: &str) -> Result<Canonical, AddressError> {
    if is_hex64(s) {
        return Err(hex64_error());
    }
    if !TEXT_LENGTHS.contains(&s.len()) {
        return Err(AddressError::WrongLength {
            what: "monero address",
            expected: "95 characters (standard, subaddress) or 106 (integrated)".to_string(),
            found: s.len(),
        });
    }
    let data = decode_base58(s)?;
    let (body, check) = data.split_at(data.len().saturating_sub(4));
    if checksum(body) != check {
        return Err(AddressError::BadChecksum(
            "monero keccak-256 checksum does not match".to_string(),
        ));
    }
    let (&network, keys) = body
        .split_first()
        .ok_or_else(|| AddressError::InvalidFormat("empty monero address".to_string()))?;
    let (kind, expected) = match network {
        STANDARD => (Kind::Account, 64),
        SUBADDRESS => (Kind::Subaddress, 64),
        INTEGRATED => (Kind::Account, 72),
        n if OTHER_NETWORKS.contains(&n) => {
            return Err(AddressError::WrongNetwork(format!(
                "network byte {n} is a monero testnet/stagenet address"
            )));
        }
        n => {
            return Err(AddressError::InvalidFormat(format!(
                "network byte {n} is not monero mainnet standard (18), integrated (19) \
                 or subaddress (42)"
            )));
        }
    };
    if keys.len() != expected {
        return Err(AddressError::WrongLength {
            what: "monero address body",
            expected: format!("{expected} bytes for network byte {network}"),
            found: keys.len(),
        });
    }
    from_parts(kind, keys.get(..64).unwrap_or_default())
}

pub(super) fn hex64_error() -> AddressError {
    AddressError::Unrecognised(
        "64 hex digits are not an address (a 32-byte key, transaction id or payment id); \
         monero addresses are 95 or 106 base58 characters starting with 4 or 8"
            .to_string(),
    )
}

fn from_parts(kind: Kind, keys: &[u8]) -> Result<Canonical, AddressError> {
    let network = match kind {
        Kind::Account => STANDARD,
        Kind::Subaddress => SUBADDRESS,
        _ => {
            return Err(AddressError::InvalidFormat(
                "monero keys are standard (kind 0x00) or subaddress (0x22)".to_string(),
            ));
        }
    };
    if keys.len() != 64 {
        return Err(AddressError::WrongLength {
            what: "monero key payload",
            expected: "64 bytes (spend key, view key)".to_string(),
            found: keys.len(),
        });
    }
    Ok(Canonical::new(
        Family::Monero,
        kind,
        keys,
        encode_address(network, keys),
    ))
}

pub(super) fn from_key_parts(kind: u8, payload: &[u8]) -> Result<Canonical, AddressError> {
    let kind = if kind == Kind::Account.byte() {
        Kind::Account
    } else if kind == Kind::Subaddress.byte() {
        Kind::Subaddress
    } else {
        return Err(AddressError::InvalidFormat(format!(
            "unknown kind byte 0x{kind:02x} for a monero key"
        )));
    };
    from_parts(kind, payload)
}
