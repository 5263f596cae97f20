//! Tron addresses: base58check of `0x41` + 20 bytes (`T...`), or the hex
//! form `41` + 40 hex digits.

use super::{AddressError, Canonical, Family, Kind, base58check_20, base58check_encode};

/// Version byte of Tron mainnet addresses.
pub(super) const VERSION: u8 = 0x41;

/// `41` followed by 40 hex digits (any case).
pub(super) fn is_hex_form(s: &str) -> bool {
    s.len() == 42 && s.starts_with("41") && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(super) fn parse(s: &str) -> Result<Canonical, AddressError> {
    if is_hex_form(s) {
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(s.get(2..).unwrap_or_default(), &mut bytes)
            .map_err(|e| AddressError::InvalidFormat(format!("hex decoding failed: {e}")))?;
        return Ok(from_array(bytes));
    }
    if s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AddressError::WrongLength {
            what: "tron hex address",
            expected: "42 hex digits starting with `41`".to_string(),
            found: s.len(),
        });
    }
    let (version, payload) = base58check_20(s)?;
    if version != VERSION {
        return Err(AddressError::InvalidFormat(format!(
            "base58check version byte 0x{version:02x} is not tron's 0x41"
        )));
    }
    Ok(from_parts(payload, Some(s)))
}

pub(super) fn from_array(bytes: [u8; 20]) -> Canonical {
    from_parts(bytes, None)
}

/// `text`, when given, is the T... string `bytes` were decoded from (base58
/// has one spelling per value: no need to encode it again).
pub(super) fn from_parts(bytes: [u8; 20], text: Option<&str>) -> Canonical {
    Canonical::new(
        Family::Tron,
        Kind::Account,
        &bytes,
        text.map_or_else(|| base58check_encode(VERSION, &bytes), str::to_string),
    )
}

pub(super) fn from_payload(payload: &[u8]) -> Option<Canonical> {
    payload.try_into().ok().map(from_array)
}
