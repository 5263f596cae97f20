//! BNB Beacon Chain (formerly Binance Chain, BEP-2 tokens): bech32 (BIP-173
//! checksum, not bech32m) with the human-readable part `bnb` over a 20-byte
//! account (the hash160 of the public key), e.g.
//! `bnb136ns6lfw4zs5hg4n85vdthaad7hq5m4gtkgf23`. Testnet `tbnb` is refused
//! as [`AddressError::WrongNetwork`]. The canonical text is lowercase bech32;
//! upper-case bech32 is the same address (mixed case is refused).

use bech32::primitives::decode::UncheckedHrpstring;
use bech32::{Bech32, Hrp};

use super::bitcoin::unchecked_error;
use super::{AddressError, Canonical, Family, Kind};

const MAINNET: &str = "bnb";
const TESTNET: &str = "tbnb";
/// 20 bytes in 5-bit groups: exactly 32 characters, no padding.
const DATA_CHARS: usize = 32;

/// The human-readable part before the last `1` is `bnb` or `tbnb` (any case).
pub(super) fn has_hrp(s: &str) -> bool {
    s.rfind('1')
        .and_then(|pos| s.get(..pos))
        .is_some_and(|hrp| hrp.eq_ignore_ascii_case(MAINNET) || hrp.eq_ignore_ascii_case(TESTNET))
}

pub(super) fn parse(s: &str) -> Result<Canonical, AddressError> {
    let unchecked = UncheckedHrpstring::new(s).map_err(unchecked_error)?;
    let hrp = unchecked.hrp().to_lowercase();
    if hrp == TESTNET {
        return Err(AddressError::WrongNetwork(format!(
            "`{TESTNET}` is the bnb beacon chain testnet prefix; mainnet addresses start \
             with `{MAINNET}1`"
        )));
    }
    if hrp != MAINNET {
        return Err(AddressError::InvalidFormat(format!(
            "bech32 human-readable part `{hrp}` is not bnb beacon chain `{MAINNET}`"
        )));
    }
    if unchecked.validate_checksum::<Bech32>().is_err() {
        return Err(AddressError::BadChecksum(
            "bech32 checksum does not match (bnb beacon chain uses bech32, not bech32m)"
                .to_string(),
        ));
    }
    let checked = unchecked.remove_checksum::<Bech32>();
    let chars = checked.data_part_ascii_no_checksum().len();
    if chars != DATA_CHARS {
        return Err(AddressError::WrongLength {
            what: "bnb beacon chain address data",
            expected: format!("{DATA_CHARS} bech32 characters (a 20-byte account)"),
            found: chars,
        });
    }
    let payload: Vec<u8> = checked.byte_iter().collect();
    from_payload(&payload).ok_or(AddressError::WrongLength {
        what: "bnb beacon chain account",
        expected: "20 bytes".to_string(),
        found: payload.len(),
    })
}

/// The lowercase bech32 text of a 20-byte account.
pub(super) fn encode(account: &[u8; 20]) -> String {
    // `bnb` is a valid HRP and 20 bytes are far below bech32's length limit.
    Hrp::parse(MAINNET)
        .ok()
        .and_then(|hrp| bech32::encode::<Bech32>(hrp, account).ok())
        .unwrap_or_default()
}

pub(super) fn from_payload(payload: &[u8]) -> Option<Canonical> {
    let account: [u8; 20] = payload.try_into().ok()?;
    Some(Canonical::new(
        Family::BnbBeacon,
        Kind::Account,
        &account,
        encode(&account),
    ))
}
