//! Bitcoin-derived chains with base58check P2PKH/P2SH addresses: Litecoin
//! (plus its `ltc1` segwit addresses), Bitcoin Cash's legacy form, Dogecoin,
//! Dash, Zcash transparent addresses (two-byte version prefix), Bitcoin Gold
//! (plus its `btg1` segwit addresses), and the alias chains Bitcoin SV and
//! Verge (see [`super::ALIAS_CHAINS`]).
//!
//! Each family's version bytes are a table; several versions may decode to
//! the same kind (Litecoin's `M...` 0x32 and legacy `3...` 0x05 P2SH), so the
//! key holds the kind byte and the hash, never the version.

use super::bitcoin::{self, SegwitNet};
use super::{AddressError, Canonical, Family, Kind, base58_error};

/// Base58check version prefixes of one family.
pub(super) struct Versions {
    /// The key space the addresses are stored in.
    pub family: Family,
    /// The chain named in messages: the family's name, or an alias chain's
    /// (`verge` stores its keys as dogecoin's).
    pub name: &'static str,
    /// Canonical P2PKH version (used for the canonical text).
    pub p2pkh: &'static [u8],
    /// Canonical P2SH version (used for the canonical text).
    pub p2sh: &'static [u8],
    /// Other mainnet versions accepted as P2SH (Litecoin's legacy 0x05).
    pub legacy_p2sh: &'static [&'static [u8]],
    /// Test-network versions: refused as [`AddressError::WrongNetwork`].
    pub testnet: &'static [&'static [u8]],
}

pub(super) const LITECOIN: Versions = Versions {
    family: Family::Litecoin,
    name: "litecoin",
    p2pkh: &[0x30],
    p2sh: &[0x32],
    legacy_p2sh: &[&[0x05]],
    testnet: &[&[0x6f], &[0x3a], &[0xc4]],
};

/// Bitcoin Cash's legacy (pre-cashaddr) form is bitcoin's base58check.
pub(super) const BITCOIN_CASH_LEGACY: Versions = Versions {
    family: Family::BitcoinCash,
    name: "bitcoin-cash",
    p2pkh: &[0x00],
    p2sh: &[0x05],
    legacy_p2sh: &[],
    testnet: &[&[0x6f], &[0xc4]],
};

pub(super) const DOGECOIN: Versions = Versions {
    family: Family::Dogecoin,
    name: "dogecoin",
    p2pkh: &[0x1e],
    p2sh: &[0x16],
    legacy_p2sh: &[],
    testnet: &[&[0x71], &[0xc4]],
};

pub(super) const DASH: Versions = Versions {
    family: Family::Dash,
    name: "dash",
    p2pkh: &[0x4c],
    p2sh: &[0x10],
    legacy_p2sh: &[],
    testnet: &[&[0x8c], &[0x13]],
};

pub(super) const ZCASH: Versions = Versions {
    family: Family::Zcash,
    name: "zcash",
    p2pkh: &[0x1c, 0xb8],
    p2sh: &[0x1c, 0xbd],
    legacy_p2sh: &[],
    testnet: &[&[0x1d, 0x25], &[0x1c, 0xba]],
};

/// Bitcoin Gold (BTCGPU `chainparams.cpp`): P2PKH `G...` 0x26, P2SH `A...`
/// 0x17; its test networks use bitcoin's testnet versions.
pub(super) const BITCOIN_GOLD: Versions = Versions {
    family: Family::BitcoinGold,
    name: "bitcoin-gold",
    p2pkh: &[0x26],
    p2sh: &[0x17],
    legacy_p2sh: &[],
    testnet: &[&[0x6f], &[0xc4]],
};

/// Verge (vergecurrency `chainparams.cpp`): P2PKH 0x1e is spelled exactly
/// like Dogecoin's `D...`, so Verge shares Dogecoin's key space (an alias
/// chain); its own P2SH version 0x21 (`E...`) maps to the same P2SH kind,
/// as Litecoin's legacy `3...` does. Testnet 0x73/0xc6, regtest 0x6f/0xc4.
pub(super) const VERGE: Versions = Versions {
    family: Family::Dogecoin,
    name: "verge",
    p2pkh: &[0x1e],
    p2sh: &[0x21],
    legacy_p2sh: &[],
    testnet: &[&[0x73], &[0xc6], &[0x6f], &[0xc4]],
};

pub(super) const LITECOIN_SEGWIT: SegwitNet = SegwitNet {
    family: Family::Litecoin,
    mainnet: "ltc",
    others: &[("tltc", "testnet"), ("rltc", "regtest")],
};

pub(super) const BITCOIN_GOLD_SEGWIT: SegwitNet = SegwitNet {
    family: Family::BitcoinGold,
    mainnet: "btg",
    others: &[("tbtg", "testnet"), ("btgrt", "regtest")],
};

/// The families whose base58check versions [`infer_base58`] recognises.
/// Bitcoin Cash legacy is absent on purpose: its versions are bitcoin's, and
/// inference keeps `1...`/`3...` as bitcoin. Verge is absent too: its `D...`
/// is dogecoin's key anyway, and its `E...` P2SH is only read on the verge
/// chain (or under an `XVG` currency hint).
const INFERRED: [&Versions; 5] = [&LITECOIN, &DOGECOIN, &DASH, &ZCASH, &BITCOIN_GOLD];

impl Versions {
    fn kind_of(&self, version: &[u8]) -> Option<Kind> {
        if version == self.p2pkh {
            Some(Kind::P2pkh)
        } else if version == self.p2sh || self.legacy_p2sh.contains(&version) {
            Some(Kind::P2sh)
        } else {
            None
        }
    }

    fn describe(&self) -> String {
        let mut all = vec![self.p2pkh, self.p2sh];
        all.extend_from_slice(self.legacy_p2sh);
        let list: Vec<String> = all
            .iter()
            .map(|v| format!("0x{}", hex::encode(v)))
            .collect();
        format!("{} mainnet ({})", self.name, list.join("/"))
    }

    /// Build the key from a decoded version and 20-byte hash. `text`, when
    /// given, is the string decoded (kept when its version is the canonical one).
    pub(super) fn build(
        &self,
        version: &[u8],
        hash: &[u8],
        text: Option<&str>,
    ) -> Result<Canonical, AddressError> {
        let family = self.family;
        let Some(kind) = self.kind_of(version) else {
            let v = hex::encode(version);
            return Err(if self.testnet.contains(&version) {
                AddressError::WrongNetwork(format!(
                    "base58check version 0x{v} is a {} test-network address",
                    self.name
                ))
            } else {
                AddressError::InvalidFormat(format!(
                    "base58check version 0x{v} is not {}",
                    self.describe()
                ))
            });
        };
        if hash.len() != 20 {
            return Err(AddressError::WrongLength {
                what: "base58check hash",
                expected: "20 bytes".to_string(),
                found: hash.len(),
            });
        }
        let canonical_version = if kind == Kind::P2pkh {
            self.p2pkh
        } else {
            self.p2sh
        };
        let text = match text {
            Some(t) if version == canonical_version => t.to_string(),
            _ => encode(canonical_version, hash),
        };
        Ok(Canonical::new(family, kind, hash, text))
    }

    /// Strict parse of a base58check address of this family.
    pub(super) fn parse(&self, s: &str) -> Result<Canonical, AddressError> {
        let data = decode_check(s)?;
        let vlen = self.p2pkh.len();
        if data.len() != vlen + 20 {
            return Err(AddressError::WrongLength {
                what: "base58check payload",
                expected: format!("{} bytes ({vlen}-byte version, 20-byte hash)", vlen + 20),
                found: data.len(),
            });
        }
        let (version, hash) = data.split_at(vlen);
        self.build(version, hash, Some(s))
    }

    /// Rebuild from a key's kind byte and payload.
    pub(super) fn key_to_canonical(
        &self,
        kind: u8,
        payload: &[u8],
    ) -> Result<Canonical, AddressError> {
        let version = if kind == Kind::P2pkh.byte() {
            self.p2pkh
        } else if kind == Kind::P2sh.byte() {
            self.p2sh
        } else {
            return Err(AddressError::InvalidFormat(format!(
                "unknown kind byte 0x{kind:02x} for a {} key",
                self.name
            )));
        };
        self.build(version, payload, None)
    }
}

/// Base58check decode (bitcoin alphabet) returning version + payload.
pub(super) fn decode_check(s: &str) -> Result<Vec<u8>, AddressError> {
    bs58::decode(s)
        .with_check(None)
        .into_vec()
        .map_err(base58_error)
}

pub(super) fn encode(version: &[u8], hash: &[u8]) -> String {
    let mut data = Vec::with_capacity(version.len() + hash.len());
    data.extend_from_slice(version);
    data.extend_from_slice(hash);
    bs58::encode(data).with_check().into_string()
}

/// Litecoin: `ltc1` segwit (same rules as bitcoin, HRP `ltc`) or base58check.
pub(super) fn parse_litecoin(s: &str) -> Result<Canonical, AddressError> {
    parse_segwit_or_base58(&LITECOIN_SEGWIT, &LITECOIN, s)
}

/// Bitcoin Gold: `btg1` segwit (same rules as bitcoin, HRP `btg`) or
/// base58check `G...`/`A...`.
pub(super) fn parse_bitcoin_gold(s: &str) -> Result<Canonical, AddressError> {
    parse_segwit_or_base58(&BITCOIN_GOLD_SEGWIT, &BITCOIN_GOLD, s)
}

/// Segwit when the text carries one of `net`'s HRPs, else base58check.
fn parse_segwit_or_base58(
    net: &SegwitNet,
    versions: &Versions,
    s: &str,
) -> Result<Canonical, AddressError> {
    if net.has_hrp(s) {
        let segwit_err = match bitcoin::parse_segwit_for(net, s) {
            Ok(c) => return Ok(c),
            Err(e) => e,
        };
        // A base58 address may merely start like an HRP (`Ltc1...`).
        return versions.parse(s).or(Err(segwit_err));
    }
    versions.parse(s)
}

/// Zcash: transparent `t1`/`t3` only; shielded and unified addresses carry
/// no transparent hash and are refused with that reason.
pub(super) fn parse_zcash(s: &str) -> Result<Canonical, AddressError> {
    let lower = s.to_ascii_lowercase();
    if ["zs1", "zc", "u1", "ztestsapling1", "utest1"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return Err(AddressError::InvalidFormat(
            "zcash shielded and unified addresses are not supported; only transparent \
             `t1`/`t3` addresses are screened"
                .to_string(),
        ));
    }
    ZCASH.parse(s)
}

pub(super) fn has_litecoin_bech32_hrp(s: &str) -> bool {
    LITECOIN_SEGWIT.has_hrp(s)
}

pub(super) fn has_bitcoin_gold_bech32_hrp(s: &str) -> bool {
    BITCOIN_GOLD_SEGWIT.has_hrp(s)
}

/// Inference over valid base58check data (`data` = version + payload, the
/// checksum already verified): the first family of [`INFERRED`] whose
/// mainnet or testnet versions match, if any.
pub(super) fn infer_base58(data: &[u8], text: &str) -> Option<Result<Canonical, AddressError>> {
    INFERRED.iter().find_map(|v| {
        let vlen = v.p2pkh.len();
        if data.len() != vlen + 20 {
            return None;
        }
        let (version, hash) = data.split_at(vlen);
        let known = v.kind_of(version).is_some() || v.testnet.contains(&version);
        known.then(|| v.build(version, hash, Some(text)))
    })
}
