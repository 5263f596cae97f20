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

const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const FULL_BLOCK: usize = 8;
const FULL_ENCODED: usize = 11;
/// Encoded length of a block of `i` bytes.
const ENCODED_SIZES: [usize; 9] = [0, 2, 3, 5, 6, 7, 9, 10, 11];

/// Lengths of the text forms: 69 bytes (standard, subaddress) and 77
/// (integrated).
pub(super) const TEXT_LENGTHS: [usize; 2] = [95, 106];

/// Monero block base58 encoding.
pub fn encode_base58(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() / FULL_BLOCK * FULL_ENCODED + FULL_ENCODED);
    for block in data.chunks(FULL_BLOCK) {
        let mut num = block.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let width = ENCODED_SIZES[block.len()];
        let mut chars = vec![ALPHABET[0]; width];
        for c in chars.iter_mut().rev() {
            *c = ALPHABET[(num % 58) as usize];
            num /= 58;
        }
        out.extend(chars.into_iter().map(char::from));
    }
    out
}

/// Monero block base58 decoding; refuses characters outside the alphabet,
/// impossible final-block lengths and blocks that overflow their byte width.
pub fn decode_base58(s: &str) -> Result<Vec<u8>, AddressError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() / FULL_ENCODED * FULL_BLOCK + FULL_BLOCK);
    for (index, block) in bytes.chunks(FULL_ENCODED).enumerate() {
        let size = ENCODED_SIZES
            .iter()
            .position(|&n| n == block.len())
            .ok_or_else(|| AddressError::WrongLength {
                what: "final monero base58 block",
                expected: "2, 3, 5, 6, 7, 9, 10 or 11 characters".to_string(),
                found: block.len(),
            })?;
        let mut num: u128 = 0;
        for (i, &c) in block.iter().enumerate() {
            let digit = ALPHABET.iter().position(|&a| a == c).ok_or_else(|| {
                AddressError::InvalidCharacter(format!(
                    "{:?} at position {} is not a base58 character",
                    char::from(c),
                    index * FULL_ENCODED + i
                ))
            })?;
            num = num * 58 + digit as u128;
        }
        if num >> (8 * size) != 0 {
            return Err(AddressError::InvalidFormat(format!(
                "monero base58 block {index} overflows {size} bytes"
            )));
        }
        let be = num.to_be_bytes();
        out.extend_from_slice(be.get(16 - size..).unwrap_or_default());
    }
    Ok(out)
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
