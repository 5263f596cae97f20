//! EVM addresses: `0x` + 40 hex digits, EIP-55 mixed-case checksum.

use sha3::{Digest, Keccak256};

use super::{AddressError, Canonical, Family, Kind, has_hex_prefix};

/// Parse `0x` + 40 hex digits. All-lowercase and all-uppercase hex are
/// accepted without checksum; mixed case must pass EIP-55.
pub(super) fn parse(s: &str) -> Result<Canonical, AddressError> {
    if !has_hex_prefix(s) {
        return Err(AddressError::InvalidFormat(
            "evm addresses start with `0x`".to_string(),
        ));
    }
    let digits = s.get(2..).unwrap_or_default();
    if let Some((pos, ch)) = digits.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(AddressError::InvalidCharacter(format!(
            "{ch:?} at position {} is not a hex digit",
            pos + 2
        )));
    }
    if digits.len() != 40 {
        return Err(AddressError::WrongLength {
            what: "evm address",
            expected: "40 hex digits after `0x`".to_string(),
            found: digits.len(),
        });
    }
    let mut bytes = [0u8; 20];
    hex::decode_to_slice(digits, &mut bytes)
        .map_err(|e| AddressError::InvalidFormat(format!("hex decoding failed: {e}")))?;
    let canonical = from_array(bytes);
    let has_upper = digits.bytes().any(|b| b.is_ascii_uppercase());
    let has_lower = digits.bytes().any(|b| b.is_ascii_lowercase());
    if has_upper && has_lower && canonical.as_str().get(2..) != Some(digits) {
        return Err(AddressError::BadChecksum(
            "mixed-case evm address does not match its EIP-55 checksum".to_string(),
        ));
    }
    Ok(canonical)
}

/// EIP-55 checksummed text (`0x` + mixed-case hex) of a 20-byte address.
pub fn eip55_checksum(address: &[u8; 20]) -> String {
    let lower = hex::encode(address);
    let hash = Keccak256::digest(lower.as_bytes());
    let mut out = String::with_capacity(42);
    out.push_str("0x");
    for (i, c) in lower.chars().enumerate() {
        let byte = hash.get(i / 2).copied().unwrap_or_default();
        let nibble = if i % 2 == 0 { byte >> 4 } else { byte & 0x0f };
        out.push(if nibble >= 8 {
            c.to_ascii_uppercase()
        } else {
            c
        });
    }
    out
}

pub(super) fn from_array(bytes: [u8; 20]) -> Canonical {
    Canonical::new(Family::Evm, Kind::Account, &bytes, eip55_checksum(&bytes))
}

pub(super) fn from_payload(payload: &[u8]) -> Option<Canonical> {
    payload.try_into().ok().map(from_array)
}
