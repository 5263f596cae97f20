//! XRP Ledger: classic addresses (`r...`: base58check in the XRP alphabet of
//! version 0x00 + 20-byte account id) and X-addresses (XLS-5d: base58check of
//! `0x05 0x44` + account id + flags byte + 8-byte tag). An X-address maps to
//! its classic account: the destination tag is ignored for screening.

use super::{AddressError, Canonical, Family, Kind};

const ACCOUNT_VERSION: u8 = 0x00;
const X_MAINNET: [u8; 2] = [0x05, 0x44];
const X_TESTNET: [u8; 2] = [0x04, 0x93];

fn decode(s: &str) -> Result<Vec<u8>, AddressError> {
    bs58::decode(s)
        .with_alphabet(bs58::Alphabet::RIPPLE)
        .with_check(None)
        .into_vec()
        .map_err(|e| match e {
            bs58::decode::Error::InvalidChecksum { .. } => {
                AddressError::BadChecksum("XRP base58check checksum does not match".to_string())
            }
            other => super::base58_error(other),
        })
}

/// Could `s` be an XRP address (classic `r...` or an X-address)?
pub(super) fn looks_like_xrp(s: &str) -> bool {
    s.starts_with('r') && (25..=35).contains(&s.len())
        || (s.starts_with('X') || s.starts_with('T')) && (45..=48).contains(&s.len())
}

pub(super) fn parse(s: &str) -> Result<Canonical, AddressError> {
    let data = decode(s)?;
    match data.as_slice() {
        [ACCOUNT_VERSION, account @ ..] if account.len() == 20 => Ok(from_payload(account)),
        [a, b, rest @ ..] if rest.len() == 29 && [*a, *b] == X_TESTNET => {
            Err(AddressError::WrongNetwork(
                "this X-address is for the XRP test network (prefix 0x0493)".to_string(),
            ))
        }
        [a, b, account @ .., flags, t0, t1, t2, t3, t4, t5, t6, t7]
            if account.len() == 20 && [*a, *b] == X_MAINNET =>
        {
            let tag_low = [*t0, *t1, *t2, *t3];
            let tag_high = [*t4, *t5, *t6, *t7];
            match flags {
                0 if tag_low == [0; 4] && tag_high == [0; 4] => {}
                1 if tag_high == [0; 4] => {}
                0 | 1 => {
                    return Err(AddressError::InvalidFormat(
                        "X-address tag bytes are inconsistent with its flags".to_string(),
                    ));
                }
                f => {
                    return Err(AddressError::InvalidFormat(format!(
                        "X-address flags byte {f} is not 0 (no tag) or 1 (32-bit tag)"
                    )));
                }
            }
            Ok(from_payload(account))
        }
        _ => Err(AddressError::InvalidFormat(format!(
            "XRP base58check data of {} bytes is neither a classic address (0x00 + 20 bytes) \
             nor an X-address (0x0544 + 20 bytes + flags + tag)",
            data.len()
        ))),
    }
}

/// Encode an X-address (mainnet) for `account` with an optional tag.
pub fn encode_x_address(account: &[u8; 20], tag: Option<u32>) -> String {
    let mut data = Vec::with_capacity(31);
    data.extend_from_slice(&X_MAINNET);
    data.extend_from_slice(account);
    data.push(u8::from(tag.is_some()));
    data.extend_from_slice(&tag.unwrap_or(0).to_le_bytes());
    data.extend_from_slice(&[0; 4]);
    bs58::encode(data)
        .with_alphabet(bs58::Alphabet::RIPPLE)
        .with_check()
        .into_string()
}

fn classic(account: &[u8]) -> String {
    let mut data = Vec::with_capacity(21);
    data.push(ACCOUNT_VERSION);
    data.extend_from_slice(account);
    bs58::encode(data)
        .with_alphabet(bs58::Alphabet::RIPPLE)
        .with_check()
        .into_string()
}

fn from_payload(account: &[u8]) -> Canonical {
    Canonical::new(Family::Xrp, Kind::Account, account, classic(account))
}

pub(super) fn from_key_parts(kind: u8, payload: &[u8]) -> Option<Canonical> {
    (kind == Kind::Account.byte() && payload.len() == 20).then(|| from_payload(payload))
}
