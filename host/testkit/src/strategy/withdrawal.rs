//! Withdrawals with realistic fields, and bursts of them in time.

use proptest::prelude::*;
use proptest::sample::select;
use riskgate_address::{EVM_CHAINS, Family};
use riskgate_guest::{DAY_MS, HOUR_MS, Withdrawal};

use super::address::{ChainAddress, address, address_of, spelling};

/// 2009-01-01T00:00:00Z, the earliest `requested_at` the host accepts (ms).
pub const REQUESTED_AT_MIN: u64 = 1_230_768_000_000;
/// 2100-01-01T00:00:00Z, the latest `requested_at` the host accepts (ms).
pub const REQUESTED_AT_MAX: u64 = 4_102_444_800_000;

/// The assets withdrawn on `chain` (of `family`): ticker and decimals, the
/// chain's native coin first.
pub fn assets(family: Family, chain: &str) -> Vec<(&'static str, u8)> {
    let evm_native = match chain {
        "bsc" | "bnb" | "binance-smart-chain" | "bnb-smart-chain" => "BNB",
        "polygon" | "matic" => "POL",
        "avalanche" | "avax" | "avalanche-c" | "avalanche-c-chain" | "c-chain" => "AVAX",
        "ethereum-classic" | "etc" => "ETC",
        "fantom" | "ftm" => "FTM",
        "gnosis" | "xdai" => "XDAI",
        "celo" => "CELO",
        "mantle" => "MNT",
        "cronos" => "CRO",
        "moonbeam" => "GLMR",
        _ => "ETH",
    };
    match family {
        Family::Evm => vec![
            (evm_native, 18),
            ("USDT", 6),
            ("USDC", 6),
            ("DAI", 18),
            ("WBTC", 8),
        ],
        Family::Bitcoin => match chain {
            "bitcoin-sv" | "bitcoinsv" | "bsv" => vec![("BSV", 8)],
            _ => vec![("BTC", 8)],
        },
        Family::Tron => vec![("TRX", 6), ("USDT", 6)],
        Family::Litecoin => vec![("LTC", 8)],
        Family::BitcoinCash => vec![("BCH", 8)],
        Family::Dogecoin => match chain {
            "verge" | "xvg" => vec![("XVG", 6)],
            _ => vec![("DOGE", 8)],
        },
        Family::Dash => vec![("DASH", 8)],
        Family::Zcash => vec![("ZEC", 8)],
        Family::Xrp => vec![("XRP", 6)],
        Family::Solana => vec![("SOL", 9), ("USDC", 6)],
        Family::Monero => vec![("XMR", 12)],
        Family::BitcoinGold => vec![("BTG", 8)],
        Family::BnbBeacon => vec![("BNB", 8)],
    }
}

/// An asset of `chain` with its decimals.
pub fn asset(family: Family, chain: &str) -> impl Strategy<Value = (String, u8)> + Clone + use<> {
    select(assets(family, chain)).prop_map(|(a, d)| (a.to_string(), d))
}

/// An amount in minor units of an asset of `decimals`: the edges (1, one
/// whole unit, `u64::MAX`), round amounts and anything in between.
pub fn amount(decimals: u8) -> impl Strategy<Value = u64> + Clone {
    let unit = 10u64.checked_pow(u32::from(decimals)).unwrap_or(u64::MAX);
    prop_oneof![
        1 => Just(1u64),
        1 => Just(unit),
        1 => Just(u64::MAX),
        2 => (1u64..100_000).prop_map(move |n| n.saturating_mul(unit)),
        3 => 1u64..=u64::MAX,
        2 => 1u64..1_000_000,
    ]
}

/// A USD value in cents, or none: zero, a cent, up to ten million dollars.
pub fn usd_cents() -> impl Strategy<Value = Option<u64>> + Clone {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(0)),
        1 => Just(Some(1)),
        5 => (1u64..1_000_000_000).prop_map(Some),
    ]
}

/// A `requested_at` within 2009..2100 (ms), its ends included.
pub fn requested_at() -> impl Strategy<Value = u64> + Clone {
    prop_oneof![
        1 => Just(REQUESTED_AT_MIN),
        1 => Just(REQUESTED_AT_MAX),
        8 => REQUESTED_AT_MIN..=REQUESTED_AT_MAX,
    ]
}

/// An event at `ago` before `at` (0 = the same instant), optional: when an
/// account was created, credentials changed or a destination first used.
/// Mostly in the past, from the same instant to years before; a few in the
/// future (a clock ahead of the exchange's), which a policy counts as now.
fn moment_before(at: u64) -> impl Strategy<Value = Option<u64>> + Clone {
    prop_oneof![
        2 => Just(None),
        1 => Just(Some(at)),
        3 => (0u64..2 * DAY_MS).prop_map(move |ago| Some(at.saturating_sub(ago))),
        3 => (0u64..5 * 365 * DAY_MS).prop_map(move |ago| Some(at.saturating_sub(ago))),
        1 => (1u64..HOUR_MS).prop_map(move |ahead| Some(at.saturating_add(ahead))),
    ]
}

/// An identifier of 1..=`max` printable ASCII characters (what exchanges
/// use for ids and accounts), with `prefix`.
fn ident(prefix: &'static str) -> impl Strategy<Value = String> + Clone {
    "[a-zA-Z0-9_-]{1,24}".prop_map(move |s| format!("{prefix}{s}"))
}

/// A valid withdrawal to any chain family, with realistic fields: the
/// chain's asset and decimals, amounts with their edges, an optional USD
/// value, a `requested_at` in 2009..2100, optional account-creation,
/// credential-change and first-use times.
///
/// ```
/// use proptest::prelude::*;
/// proptest!(|(w in riskgate_testkit::strategy::withdrawal())| {
///     assert!(riskgate_address::canonicalize(&w.chain, &w.destination).is_ok());
/// });
/// ```
pub fn withdrawal() -> impl Strategy<Value = Withdrawal> + Clone {
    withdrawal_to(address())
}

/// A withdrawal of `family` (see [`withdrawal`]).
pub fn withdrawal_of(family: Family) -> impl Strategy<Value = Withdrawal> + Clone {
    withdrawal_to(address_of(family))
}

/// A withdrawal to a destination from `destination` (see [`withdrawal`]).
pub fn withdrawal_to(
    destination: impl Strategy<Value = ChainAddress> + Clone + 'static,
) -> impl Strategy<Value = Withdrawal> + Clone {
    (destination, requested_at())
        .prop_flat_map(|(to, at)| withdrawal_at(to, at))
        .boxed()
}

/// A withdrawal to `to` at `at` (every other field generated).
pub fn withdrawal_at(to: ChainAddress, at: u64) -> impl Strategy<Value = Withdrawal> + Clone {
    let (family, chain) = (to.family, to.chain.clone());
    (
        ident("w-"),
        ident("acct-"),
        asset(family, &chain),
        usd_cents(),
        moment_before(at),
        moment_before(at),
        moment_before(at),
    )
        .prop_flat_map(
            move |(id, account, (asset, decimals), usd, created, changed, first)| {
                let to = to.clone();
                amount(decimals).prop_map(move |amount| Withdrawal {
                    id: id.clone(),
                    account: account.clone(),
                    asset: asset.clone(),
                    chain: to.chain.clone(),
                    destination: to.address.clone(),
                    amount,
                    decimals,
                    usd_cents: usd,
                    requested_at: at,
                    account_created_at: created,
                    credential_changed_at: changed,
                    destination_first_used_at: first,
                })
            },
        )
        .boxed()
}

/// What the withdrawals of a burst share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    /// One account (and one chain and asset), destinations of that chain.
    Account,
    /// One destination (one key, typed in random spellings on one chain
    /// name), from different accounts.
    Destination,
    /// One account and one destination.
    AccountDestination,
}

/// The order of a burst's withdrawals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// By `requested_at`.
    InOrder,
    /// Shuffled: requests arrive out of order.
    Shuffled,
}

/// How a [`burst`] is shaped.
#[derive(Debug, Clone)]
pub struct BurstSpec {
    /// What the withdrawals share.
    pub share: Share,
    /// How many withdrawals (at least one).
    pub len: std::ops::RangeInclusive<usize>,
    /// They all fall within this many ms (at least 1): `requested_at` of
    /// each is in `[start, start + window_ms)`.
    pub window_ms: u64,
    /// In order or shuffled.
    pub order: Order,
    /// Largest amount of one withdrawal, minor units.
    pub max_amount: u64,
    /// Chain family of the destinations; any family when `None`.
    pub family: Option<Family>,
    /// The earliest `requested_at` of the burst lies in this range (within
    /// 2009..2100 less the window).
    pub starts: std::ops::RangeInclusive<u64>,
}

impl Default for BurstSpec {
    /// 2..=20 withdrawals of one account within one hour, in order, amounts
    /// up to 10^9, any family, starting anywhere in 2009..2100.
    fn default() -> Self {
        BurstSpec {
            share: Share::Account,
            len: 2..=20,
            window_ms: HOUR_MS,
            order: Order::InOrder,
            max_amount: 1_000_000_000,
            family: None,
            starts: REQUESTED_AT_MIN..=REQUESTED_AT_MAX,
        }
    }
}

/// A burst: withdrawals sharing an account and/or a destination, all
/// within `spec.window_ms`, in order or shuffled. Ids are unique within
/// the burst (`<prefix>-<n>`); every withdrawal is valid on its own.
///
/// ```
/// use proptest::prelude::*;
/// use riskgate_testkit::strategy::{BurstSpec, Order, Share, burst};
/// let spec = BurstSpec { share: Share::Account, order: Order::Shuffled, ..BurstSpec::default() };
/// proptest!(|(ws in burst(spec.clone()))| {
///     assert!(ws.iter().all(|w| w.account == ws[0].account));
///     let (lo, hi) = (ws.iter().map(|w| w.requested_at).min().unwrap(),
///                     ws.iter().map(|w| w.requested_at).max().unwrap());
///     assert!(hi - lo < spec.window_ms);
/// });
/// ```
pub fn burst(spec: BurstSpec) -> impl Strategy<Value = Vec<Withdrawal>> + Clone {
    let window = spec.window_ms.max(1);
    let last = REQUESTED_AT_MAX.saturating_sub(window - 1);
    let start = (*spec.starts.start()).clamp(REQUESTED_AT_MIN, last)
        ..=(*spec.starts.end()).clamp(REQUESTED_AT_MIN, last);
    let family = match spec.family {
        Some(f) => Just(f).boxed(),
        None => super::address::family().boxed(),
    };
    let len = (*spec.len.start()).max(1)..=(*spec.len.end()).max(1);
    let max_amount = spec.max_amount.max(1);
    let (share, order) = (spec.share, spec.order);
    (family, start, len)
        .prop_flat_map(move |(family, start, n)| {
            address_of(family)
                .prop_flat_map(move |anchor| {
                    let dests = match share {
                        Share::Account => prop::collection::vec(address_of(family), n).boxed(),
                        Share::Destination | Share::AccountDestination => {
                            prop::collection::vec(spelling(anchor.canonical()), n).boxed()
                        }
                    };
                    (
                        Just(anchor.clone()),
                        withdrawal_at(anchor, start),
                        dests,
                        prop::collection::vec(ident("acct-"), n),
                        prop::collection::vec(0..window, n),
                        prop::collection::vec(1..=max_amount, n),
                        ident("b-"),
                    )
                })
                .prop_map(
                    move |(anchor, base, dests, accounts, offsets, amounts, prefix)| {
                        let mut ws: Vec<Withdrawal> = (0..offsets.len())
                            .map(|i| {
                                let to = on_chain_of(&dests[i], &anchor);
                                let mut w = base.clone();
                                w.requested_at = base.requested_at + offsets[i];
                                w.amount = amounts[i];
                                w.chain = to.chain;
                                w.destination = to.address;
                                if share == Share::Destination {
                                    w.account = accounts[i].clone();
                                }
                                w
                            })
                            .collect();
                        ws.sort_by_key(|w| w.requested_at);
                        // Ids in time order: `-0` is the earliest.
                        for (i, w) in ws.iter_mut().enumerate() {
                            w.id = format!("{prefix}-{i}");
                        }
                        ws
                    },
                )
        })
        .prop_flat_map(move |ws| match order {
            Order::InOrder => Just(ws).boxed(),
            Order::Shuffled => Just(ws).prop_shuffle().boxed(),
        })
        .boxed()
}

/// `d` on `anchor`'s chain name when that chain reads it, else `anchor`:
/// a burst keeps one chain name (a velocity key holds it).
fn on_chain_of(d: &ChainAddress, anchor: &ChainAddress) -> ChainAddress {
    let readable =
        super::address::chains_for(&d.canonical(), &d.address).contains(&anchor.chain.as_str());
    if readable {
        ChainAddress {
            chain: anchor.chain.clone(),
            ..d.clone()
        }
    } else {
        anchor.clone()
    }
}

/// Every EVM chain name the address crate knows (what a policy must treat
/// alike).
pub fn evm_chain() -> impl Strategy<Value = &'static str> + Clone {
    select(EVM_CHAINS.to_vec())
}
