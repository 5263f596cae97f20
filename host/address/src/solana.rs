//! Solana: a 32-byte ed25519 public key in base58 (bitcoin alphabet), with no
//! version byte and no checksum. Any 32-byte value is a valid address, so
//! inference only picks Solana when no checksummed family matched.

use super::{AddressError, Canonical, Family, Kind, base58_error};

pub(super) fn parse(s: &str) -> Result<Canonical, AddressError> {
    let raw = bs58::decode(s).into_vec().map_err(base58_error)?;
    from_payload(&raw).ok_or(AddressError::WrongLength {
        what: "decoded solana address",
        expected: "32 bytes".to_string(),
        found: raw.len(),
    })
}

pub(super) fn from_payload(payload: &[u8]) -> Option<Canonical> {
    (payload.len() == 32).then(|| {
        Canonical::new(
            Family::Solana,
            Kind::Account,
            payload,
            bs58::encode(payload).into_string(),
        )
    })
}
