//! Bitcoin mainnet addresses: base58check P2PKH/P2SH, bech32 segwit v0
//! (BIP-173) and bech32m segwit v1..v16 (BIP-350). All codec work is done by
//! the `bs58` and `bech32` crates.

use bech32::primitives::decode::{
    CharError, ChecksumError, SegwitHrpstring, SegwitHrpstringError, UncheckedHrpstring,
    UncheckedHrpstringError,
};
use bech32::{Bech32, Bech32m, Fe32, Hrp, segwit};

use super::{AddressError, Canonical, Family, Kind, base58check_20, base58check_encode};

const P2PKH: u8 = 0x00;
const P2SH: u8 = 0x05;
const TESTNET_P2PKH: u8 = 0x6f;
const TESTNET_P2SH: u8 = 0xc4;

pub(super) fn parse(s: &str) -> Result<Canonical, AddressError> {
    // `bc1`/`tb1`/`bcrt1` prefixes (any case) are tried as bech32 first; a
    // base58 address that merely starts that way falls through to base58.
    let bech32_err = if has_bitcoin_bech32_hrp(s) {
        match parse_segwit(s) {
            Ok(c) => return Ok(c),
            Err(e) => Some(e),
        }
    } else {
        None
    };
    match (base58check_20(s), bech32_err) {
        (Ok((version, payload)), _) => from_base58_parts(version, payload, Some(s)),
        (Err(_), Some(bech32_err)) => Err(bech32_err),
        (Err(err @ AddressError::InvalidCharacter(_)), None) => match foreign_bech32_hrp(s) {
            Some(hrp) => Err(AddressError::InvalidFormat(format!(
                "bech32 human-readable part `{hrp}` is not bitcoin mainnet `bc`"
            ))),
            None => Err(err),
        },
        (Err(err), None) => Err(err),
    }
}

/// Bitcoin SV (an alias chain of bitcoin, see [`super::ALIAS_CHAINS`]):
/// bitcoin's base58check P2PKH/P2SH bytes and nothing else. It never had
/// segwit (a `bc1` text is refused with that reason) and its node dropped
/// CashAddr.
pub(super) fn parse_bitcoin_sv(s: &str) -> Result<Canonical, AddressError> {
    match base58check_20(s) {
        Ok((version, payload)) => from_base58_parts(version, payload, Some(s)),
        Err(_) if has_bitcoin_bech32_hrp(s) && parse_segwit(s).is_ok() => {
            Err(AddressError::InvalidFormat(
                "bitcoin-sv has no segwit addresses: a bech32 `bc1` address exists on bitcoin \
                 (BTC) only; bitcoin-sv addresses are base58check `1...`/`3...`"
                    .to_string(),
            ))
        }
        Err(err) => Err(err),
    }
}

/// The human-readable part before the last `1` is `bc`, `tb` or `bcrt` (any case).
pub(super) fn has_bitcoin_bech32_hrp(s: &str) -> bool {
    BITCOIN_SEGWIT.has_hrp(s)
}

/// The lowercase HRP of a well-formed bech32 string whose HRP is not bitcoin's.
pub(super) fn foreign_bech32_hrp(s: &str) -> Option<String> {
    UncheckedHrpstring::new(s)
        .ok()
        .map(|u| u.hrp().to_lowercase())
}

/// The lowercase HRP of a bech32 or bech32m string whose checksum is valid.
/// Used to refuse such strings before the checksum-less Solana fallback
/// (a random base58 string passes a bech32 checksum with odds of 2^-30).
pub(super) fn checked_bech32_hrp(s: &str) -> Option<String> {
    let unchecked = UncheckedHrpstring::new(s).ok()?;
    (unchecked.has_valid_checksum::<Bech32>() || unchecked.has_valid_checksum::<Bech32m>())
        .then(|| unchecked.hrp().to_lowercase())
}

/// Base58check version bytes of bitcoin, mainnet or test networks.
pub(super) fn is_base58_version(version: u8) -> bool {
    matches!(version, P2PKH | P2SH | TESTNET_P2PKH | TESTNET_P2SH)
}

/// `text`, when given, is the base58check string the parts were decoded
/// from: base58 has one spelling per value, so it is the canonical text and
/// need not be encoded again.
pub(super) fn from_base58_parts(
    version: u8,
    payload: [u8; 20],
    text: Option<&str>,
) -> Result<Canonical, AddressError> {
    let kind = match version {
        P2PKH => Kind::P2pkh,
        P2SH => Kind::P2sh,
        TESTNET_P2PKH => {
            return Err(AddressError::WrongNetwork(
                "base58check version 0x6f is a bitcoin testnet P2PKH address".to_string(),
            ));
        }
        TESTNET_P2SH => {
            return Err(AddressError::WrongNetwork(
                "base58check version 0xc4 is a bitcoin testnet P2SH address".to_string(),
            ));
        }
        v => {
            return Err(AddressError::InvalidFormat(format!(
                "base58check version byte 0x{v:02x} is not bitcoin mainnet P2PKH (0x00) \
                 or P2SH (0x05)"
            )));
        }
    };
    Ok(Canonical::new(
        Family::Bitcoin,
        kind,
        &payload,
        text.map_or_else(|| base58check_encode(version, &payload), str::to_string),
    ))
}

pub(super) fn parse_segwit(s: &str) -> Result<Canonical, AddressError> {
    parse_segwit_for(&BITCOIN_SEGWIT, s)
}

/// The bech32 network parameters of a segwit chain (bitcoin, litecoin).
pub(super) struct SegwitNet {
    pub family: Family,
    /// Mainnet human-readable part, lowercase.
    pub mainnet: &'static str,
    /// Other networks' human-readable parts (lowercase) and their names.
    pub others: &'static [(&'static str, &'static str)],
}

pub(super) const BITCOIN_SEGWIT: SegwitNet = SegwitNet {
    family: Family::Bitcoin,
    mainnet: "bc",
    others: &[("tb", "testnet/signet"), ("bcrt", "regtest")],
};

impl SegwitNet {
    /// The human-readable part before the last `1` is one of this chain's (any case).
    pub(super) fn has_hrp(&self, s: &str) -> bool {
        s.rfind('1')
            .and_then(|pos| s.get(..pos))
            .is_some_and(|hrp| {
                hrp.eq_ignore_ascii_case(self.mainnet)
                    || self.others.iter().any(|(h, _)| hrp.eq_ignore_ascii_case(h))
            })
    }
}

/// Decode a segwit address of `net` with the `bech32` crate's BIP-173/BIP-350
/// rules (checksum variant per witness version, program lengths, case).
pub(super) fn parse_segwit_for(net: &SegwitNet, s: &str) -> Result<Canonical, AddressError> {
    let unchecked = UncheckedHrpstring::new(s).map_err(unchecked_error)?;
    let h = unchecked.hrp().to_lowercase();
    let family = net.family;
    let mainnet = net.mainnet;
    if let Some((_, name)) = net.others.iter().find(|(o, _)| *o == h) {
        return Err(AddressError::WrongNetwork(format!(
            "`{h}` is the {family} {name} prefix; mainnet addresses start with `{mainnet}1`"
        )));
    }
    if h != mainnet {
        return Err(AddressError::InvalidFormat(format!(
            "bech32 human-readable part `{h}` is not {family} mainnet `{mainnet}`"
        )));
    }
    let segwit = SegwitHrpstring::new(s).map_err(|e| segwit_error(e, &unchecked))?;
    let version = segwit.witness_version();
    let program: Vec<u8> = segwit.byte_iter().collect();
    from_witness_for(net, version, &program)
}

fn from_witness(version: Fe32, program: &[u8]) -> Result<Canonical, AddressError> {
    from_witness_for(&BITCOIN_SEGWIT, version, program)
}

pub(super) fn from_witness_for(
    net: &SegwitNet,
    version: Fe32,
    program: &[u8],
) -> Result<Canonical, AddressError> {
    let hrp = Hrp::parse(net.mainnet)
        .map_err(|e| AddressError::InvalidFormat(format!("bad human-readable part: {e}")))?;
    let text = segwit::encode(hrp, version, program)
        .map_err(|e| AddressError::InvalidFormat(format!("cannot encode segwit address: {e}")))?;
    Ok(Canonical::new(
        net.family,
        Kind::Witness(version.to_u8()),
        program,
        text,
    ))
}

/// Rebuild from a key's kind byte and payload.
pub(super) fn from_key_parts(kind: u8, payload: &[u8]) -> Result<Canonical, AddressError> {
    let base58_payload = || -> Result<[u8; 20], AddressError> {
        payload.try_into().map_err(|_| AddressError::WrongLength {
            what: "key payload",
            expected: "20 bytes for a bitcoin P2PKH/P2SH key".to_string(),
            found: payload.len(),
        })
    };
    if kind == Kind::P2pkh.byte() {
        return from_base58_parts(P2PKH, base58_payload()?, None);
    }
    if kind == Kind::P2sh.byte() {
        return from_base58_parts(P2SH, base58_payload()?, None);
    }
    match Fe32::try_from(kind) {
        Ok(version) if kind <= 16 => from_witness(version, payload),
        _ => Err(AddressError::InvalidFormat(format!(
            "unknown kind byte 0x{kind:02x} for a bitcoin key"
        ))),
    }
}

pub(super) fn unchecked_error(e: UncheckedHrpstringError) -> AddressError {
    match e {
        UncheckedHrpstringError::Char(CharError::MixedCase) => AddressError::MixedCase,
        UncheckedHrpstringError::Char(CharError::InvalidChar(c)) => {
            AddressError::InvalidCharacter(format!("{c:?} is not a bech32 character"))
        }
        other => AddressError::InvalidFormat(format!("malformed bech32: {other}")),
    }
}

fn segwit_error(e: SegwitHrpstringError, unchecked: &UncheckedHrpstring<'_>) -> AddressError {
    match e {
        SegwitHrpstringError::Unchecked(e) => unchecked_error(e),
        SegwitHrpstringError::NoData => {
            AddressError::InvalidFormat("bech32 address has no witness version".to_string())
        }
        SegwitHrpstringError::TooLong(len) => AddressError::WrongLength {
            what: "segwit address",
            expected: format!(
                "at most {} characters",
                bech32::primitives::segwit::MAX_STRING_LENGTH
            ),
            found: len,
        },
        SegwitHrpstringError::InvalidWitnessVersion(v) => {
            AddressError::InvalidFormat(format!("witness version {} is above 16", v.to_u8()))
        }
        SegwitHrpstringError::Padding(p) => {
            AddressError::InvalidFormat(format!("invalid witness program padding: {p}"))
        }
        SegwitHrpstringError::WitnessLength(w) => {
            AddressError::InvalidFormat(format!("invalid witness program length: {w}"))
        }
        SegwitHrpstringError::Checksum(ChecksumError::InvalidResidue) => {
            checksum_mismatch(unchecked)
        }
        SegwitHrpstringError::Checksum(c) => {
            AddressError::BadChecksum(format!("bech32 checksum: {c}"))
        }
        other => AddressError::InvalidFormat(format!("invalid segwit address: {other}")),
    }
}

/// Explain a bech32 checksum failure: wrong variant for the version, or a typo.
fn checksum_mismatch(unchecked: &UncheckedHrpstring<'_>) -> AddressError {
    let version = unchecked.witness_version().map(Fe32::to_u8);
    let message = match version {
        Some(0) if unchecked.has_valid_checksum::<Bech32m>() => {
            "witness v0 address uses the bech32m checksum; BIP-350 requires bech32 for v0"
                .to_string()
        }
        Some(v) if v > 0 && unchecked.has_valid_checksum::<Bech32>() => format!(
            "witness v{v} address uses the bech32 checksum; BIP-350 requires bech32m for v1 and above"
        ),
        Some(0) => "bech32 checksum does not match".to_string(),
        _ => "bech32m checksum does not match".to_string(),
    };
    AddressError::BadChecksum(message)
}
