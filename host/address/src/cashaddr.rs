//! Bitcoin Cash: CashAddr (`bitcoincash:q...`/`p...`, prefix optional) and
//! the legacy base58check form (bitcoin's `1...`/`3...`), both keyed by the
//! P2PKH/P2SH hash so every spelling of one output maps to one key.
//!
//! No maintained Rust crate implements CashAddr, so the BCH polymod checksum
//! (40-bit BCH code over GF(32), spec "cashaddr.md") is implemented here; it
//! is small and checked against the spec's vectors in the tests.

use super::utxo::BITCOIN_CASH_LEGACY;
use super::{AddressError, Canonical, Family, Kind};

/// The 32-character CashAddr alphabet (same as bech32's).
const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const MAINNET: &str = "bitcoincash";
const TEST_PREFIXES: [&str; 2] = ["bchtest", "bchreg"];
const CHECKSUM_LEN: usize = 8;

/// The CashAddr polymod (spec: "Checksum").
pub(super) fn polymod(values: impl IntoIterator<Item = u8>) -> u64 {
    const GEN: [u64; 5] = [
        0x98_f2bc_8e61,
        0x79_b76d_99e2,
        0xf3_3e5f_b3c4,
        0xae_2eab_e2a8,
        0x1e_4f43_e470,
    ];
    let mut c: u64 = 1;
    for d in values {
        let c0 = c >> 35;
        c = ((c & 0x07_ffff_ffff) << 5) ^ u64::from(d);
        for (i, g) in GEN.iter().enumerate() {
            if (c0 >> i) & 1 == 1 {
                c ^= g;
            }
        }
    }
    c ^ 1
}

fn prefix_values(prefix: &str) -> impl Iterator<Item = u8> + '_ {
    prefix.bytes().map(|b| b & 0x1f).chain(std::iter::once(0))
}

/// Whether `prefix:payload` (lowercase; payload as 5-bit values including
/// the checksum) has a valid checksum.
pub(super) fn verify(prefix: &str, data: &[u8]) -> bool {
    polymod(prefix_values(prefix).chain(data.iter().copied())) == 0
}

fn checksum(prefix: &str, data: &[u8]) -> [u8; CHECKSUM_LEN] {
    let m = polymod(
        prefix_values(prefix)
            .chain(data.iter().copied())
            .chain([0; CHECKSUM_LEN]),
    );
    let mut out = [0u8; CHECKSUM_LEN];
    for (i, o) in out.iter_mut().enumerate() {
        *o = ((m >> (5 * (CHECKSUM_LEN - 1 - i))) & 0x1f) as u8;
    }
    out
}

/// Regroup bits; `pad` adds zero bits to complete the last group (encoding),
/// otherwise leftover bits must be fewer than `from` and all zero.
fn convert_bits(data: &[u8], from: u32, to: u32, pad: bool) -> Option<Vec<u8>> {
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    let max = (1u32 << to) - 1;
    let mut out = Vec::with_capacity(data.len() * from as usize / to as usize + 1);
    for &v in data {
        acc = (acc << from) | u32::from(v);
        bits += from;
        while bits >= to {
            bits -= to;
            out.push(((acc >> bits) & max) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    if pad {
        if bits > 0 {
            out.push(((acc << (to - bits)) & max) as u8);
        }
    } else if bits >= from || acc != 0 {
        return None;
    }
    Some(out)
}

/// Encode a CashAddr with `prefix` (lowercase), version byte and hash.
pub(super) fn encode(prefix: &str, version: u8, hash: &[u8]) -> String {
    let mut payload = Vec::with_capacity(1 + hash.len());
    payload.push(version);
    payload.extend_from_slice(hash);
    let mut data = convert_bits(&payload, 8, 5, true).unwrap_or_default();
    let check = checksum(prefix, &data);
    data.extend_from_slice(&check);
    let mut s = String::with_capacity(prefix.len() + 1 + data.len());
    s.push_str(prefix);
    s.push(':');
    s.extend(
        data.iter()
            .map(|&d| char::from(CHARSET[usize::from(d & 0x1f)])),
    );
    s
}

/// Hash sizes by the version byte's low 3 bits (spec: "Version byte").
const SIZES: [usize; 8] = [20, 24, 28, 32, 40, 48, 56, 64];

/// Length of a bare (prefix-less) CashAddr of a `hash_len`-byte hash: the
/// version byte and the hash in 5-bit groups, then the checksum.
const fn bare_len(hash_len: usize) -> usize {
    ((1 + hash_len) * 8).div_ceil(5) + CHECKSUM_LEN
}

/// Bare CashAddr lengths, one per hash size: 42, 48, 55, 61, 74, 87, 100, 112.
const BARE_LENGTHS: [usize; 8] = {
    let mut out = [0; 8];
    let mut i = 0;
    while i < SIZES.len() {
        out[i] = bare_len(SIZES[i]);
        i += 1;
    }
    out
};

/// Does `s` look like a CashAddr: an explicit `prefix:`, or a bare string
/// in the CashAddr alphabet of a bare CashAddr's length (one per hash size,
/// [`BARE_LENGTHS`]) whose first character is a type the parser accepts:
/// `q`/`p` (P2PKH/P2SH, version byte `0x00..=0x0f`) or `z`/`r` (the same
/// with CashTokens, `0x10..=0x1f`).
///
/// No other family's text has that shape: the alphabet has no `b`, `i`,
/// `o` or `1`, so no bech32 text (its `1` separator) and no `0x` hex; the
/// leading `q`/`p`/`z`/`r` is not a hex digit; base58check texts are 25..=35
/// characters, Solana's 32..=44, XRP's classic `r...` 25..=35 and its
/// X-addresses `X`/`T` + 45..=48, Monero's 95 or 106. The one overlap is a
/// 42-character base58 text (a Solana key) that happens to be in this
/// alphabet: the caller then falls back to the other families when the
/// 40-bit CashAddr checksum fails.
pub(super) fn looks_like_cashaddr(s: &str) -> bool {
    if let Some((prefix, _)) = s.split_once(':') {
        return prefix.eq_ignore_ascii_case(MAINNET)
            || TEST_PREFIXES.iter().any(|p| prefix.eq_ignore_ascii_case(p));
    }
    BARE_LENGTHS.contains(&s.len())
        && matches!(
            s.as_bytes().first().map(u8::to_ascii_lowercase),
            Some(b'q' | b'p' | b'z' | b'r')
        )
        && s.bytes().all(|b| CHARSET.contains(&b.to_ascii_lowercase()))
}

/// Parse a CashAddr, with or without prefix (mainnet implied when absent).
pub(super) fn parse_cashaddr(s: &str) -> Result<Canonical, AddressError> {
    let has_lower = s.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = s.bytes().any(|b| b.is_ascii_uppercase());
    if has_lower && has_upper {
        return Err(AddressError::MixedCase);
    }
    let lower = s.to_ascii_lowercase();
    let (prefix, body) = match lower.split_once(':') {
        Some((p, b)) => (p, b),
        None => (MAINNET, lower.as_str()),
    };
    if TEST_PREFIXES.contains(&prefix) {
        return Err(AddressError::WrongNetwork(format!(
            "`{prefix}:` is a bitcoin cash test-network prefix; mainnet is `{MAINNET}:`"
        )));
    }
    if prefix != MAINNET {
        return Err(AddressError::InvalidFormat(format!(
            "cashaddr prefix `{prefix}` is not bitcoin cash mainnet `{MAINNET}`"
        )));
    }
    let mut data = Vec::with_capacity(body.len());
    for (i, b) in body.bytes().enumerate() {
        match CHARSET.iter().position(|&c| c == b) {
            Some(v) => data.push(v as u8),
            None => {
                return Err(AddressError::InvalidCharacter(format!(
                    "{:?} at position {i} of the cashaddr payload is not in its alphabet",
                    char::from(b)
                )));
            }
        }
    }
    if data.len() <= CHECKSUM_LEN {
        return Err(AddressError::WrongLength {
            what: "cashaddr payload",
            expected: "more than the 8-character checksum".to_string(),
            found: data.len(),
        });
    }
    if !verify(prefix, &data) {
        return Err(AddressError::BadChecksum(
            "cashaddr checksum does not match".to_string(),
        ));
    }
    let values = data.get(..data.len() - CHECKSUM_LEN).unwrap_or_default();
    let payload = convert_bits(values, 5, 8, false).ok_or_else(|| {
        AddressError::InvalidFormat("cashaddr payload has non-zero or excess padding".to_string())
    })?;
    let (&version, hash) = payload
        .split_first()
        .ok_or_else(|| AddressError::InvalidFormat("empty cashaddr payload".to_string()))?;
    if version & 0x80 != 0 {
        return Err(AddressError::InvalidFormat(format!(
            "cashaddr version byte 0x{version:02x} has the reserved bit set"
        )));
    }
    let size = SIZES[usize::from(version & 0x07)];
    if hash.len() != size {
        return Err(AddressError::WrongLength {
            what: "cashaddr hash",
            expected: format!("{size} bytes as its version byte says"),
            found: hash.len(),
        });
    }
    // Types 0/1 are P2PKH/P2SH; 2/3 the same scripts with token support
    // (CHIP-2022-02 CashTokens): same output script, so the same key.
    let kind = match (version >> 3) & 0x0f {
        0 | 2 => Kind::P2pkh,
        1 | 3 => Kind::P2sh,
        t => {
            return Err(AddressError::InvalidFormat(format!(
                "cashaddr type {t} is not P2PKH (0, 2) or P2SH (1, 3)"
            )));
        }
    };
    from_parts(kind, hash)
}

/// Canonical form: `bitcoincash:` + lowercase CashAddr of type 0/1.
fn from_parts(kind: Kind, hash: &[u8]) -> Result<Canonical, AddressError> {
    let size_code =
        SIZES
            .iter()
            .position(|&n| n == hash.len())
            .ok_or_else(|| AddressError::WrongLength {
                what: "bitcoin cash hash",
                expected: "20, 24, 28, 32, 40, 48, 56 or 64 bytes".to_string(),
                found: hash.len(),
            })?;
    let type_bits: u8 = if kind == Kind::P2sh { 1 } else { 0 };
    let version = (type_bits << 3) | size_code as u8;
    Ok(Canonical::new(
        Family::BitcoinCash,
        kind,
        hash,
        encode(MAINNET, version, hash),
    ))
}

/// CashAddr (any prefix form) or legacy base58check.
pub(super) fn parse(s: &str) -> Result<Canonical, AddressError> {
    if looks_like_cashaddr(s) || s.contains(':') {
        return parse_cashaddr(s);
    }
    let legacy = BITCOIN_CASH_LEGACY.parse(s)?;
    from_parts(legacy.kind(), legacy.payload())
}

pub(super) fn from_key_parts(kind: u8, payload: &[u8]) -> Result<Canonical, AddressError> {
    let kind = if kind == Kind::P2pkh.byte() {
        Kind::P2pkh
    } else if kind == Kind::P2sh.byte() {
        Kind::P2sh
    } else {
        return Err(AddressError::InvalidFormat(format!(
            "unknown kind byte 0x{kind:02x} for a bitcoin-cash key"
        )));
    };
    from_parts(kind, payload)
}

/// The prefixed CashTokens-aware spelling (type 2 P2PKH, 3 P2SH) of a hash:
/// the same output script, so the same key.
pub(super) fn token_aware(p2sh: bool, hash: &[u8]) -> Option<String> {
    let size_code = SIZES.iter().position(|&n| n == hash.len())?;
    let type_bits: u8 = if p2sh { 3 } else { 2 };
    Some(encode(MAINNET, (type_bits << 3) | size_code as u8, hash))
}
