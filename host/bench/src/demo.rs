//! A realistic synthetic withdrawal stream, and a summary of how the gate
//! decided it. Used by `riskgate demo` and by the benchmarks.
//!
//! The stream covers a day of an exchange: thousands of accounts paying
//! their usual destinations, a few new destinations and credential changes,
//! withdrawals to designated addresses typed in various cases and formats,
//! and laundering bursts (an account draining itself to fresh addresses
//! right after a credential change; many accounts fanning into one address).
//! Every withdrawal carries the scenario that produced it, so the summary
//! can state how many designated destinations were missed: it must be zero.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use riskgate::model::{Decision, Verdict, Withdrawal};
use std::collections::BTreeMap;
use std::time::Duration;

const HOUR: u64 = 3_600_000;
const DAY: u64 = 24 * HOUR;
/// 2026-11-01T00:00:00Z: the stream's start.
const START: u64 = 1_793_491_200_000;

/// What produced a generated withdrawal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scenario {
    /// An ordinary payment to a long-used destination.
    Clean,
    /// To a designated address (the sample list), in some textual variant.
    Designated,
    /// To a destination first used minutes ago.
    NewDestination,
    /// Shortly after a credential change.
    CredentialChange,
    /// One account draining itself in a burst, after an account takeover.
    Burst,
    /// Many accounts paying one consolidation address within the hour.
    FanIn,
}

impl Scenario {
    pub fn label(self) -> &'static str {
        match self {
            Scenario::Clean => "clean",
            Scenario::Designated => "designated",
            Scenario::NewDestination => "new destination",
            Scenario::CredentialChange => "credential change",
            Scenario::Burst => "takeover burst",
            Scenario::FanIn => "fan-in burst",
        }
    }
}

struct Asset {
    ticker: &'static str,
    chain: &'static str,
    decimals: u8,
    /// USD cents per whole unit.
    usd_cents: u64,
}

const ASSETS: [Asset; 5] = [
    Asset {
        ticker: "ETH",
        chain: "ethereum",
        decimals: 18,
        usd_cents: 300_000,
    },
    Asset {
        ticker: "USDT",
        chain: "tron",
        decimals: 6,
        usd_cents: 100,
    },
    Asset {
        ticker: "BTC",
        chain: "bitcoin",
        decimals: 8,
        usd_cents: 9_000_000,
    },
    Asset {
        ticker: "USDC",
        chain: "base",
        decimals: 6,
        usd_cents: 100,
    },
    Asset {
        ticker: "BNB",
        chain: "bsc",
        decimals: 18,
        usd_cents: 60_000,
    },
];

/// A generated withdrawal and its scenario.
#[derive(Debug, Clone)]
pub struct Generated {
    pub withdrawal: Withdrawal,
    pub scenario: Scenario,
}

/// Generates `n` withdrawals, deterministically from `seed`, in time order.
/// `designated` are addresses (as listed) that some withdrawals go to.
pub fn generate(n: usize, seed: u64, designated: &[String]) -> Vec<Generated> {
    let mut rng = StdRng::seed_from_u64(seed);
    let accounts = (n / 20).max(50);
    let mut out: Vec<Generated> = Vec::with_capacity(n + 64);
    let span = DAY;
    let mut seq = 0u64;
    let mut next_id = |prefix: &str| {
        seq += 1;
        format!("{prefix}-{seq:08}")
    };

    // Laundering bursts take ~4% of the stream, designated ~0.5%.
    let bursts = (n / 2_000).max(1);
    let fan_ins = (n / 4_000).max(1);
    let burst_len = 40;
    let fan_len = 30;
    let designated_n = if designated.is_empty() {
        0
    } else {
        (n / 200).max(1)
    };
    let reserved = bursts * burst_len + fan_ins * fan_len + designated_n;
    let ordinary = n.saturating_sub(reserved);

    for _ in 0..ordinary {
        let account = rng.random_range(0..accounts);
        let asset = &ASSETS[account % ASSETS.len()];
        let at = START + rng.random_range(0..span);
        let roll: f64 = rng.random();
        let (scenario, destination, first_used, cred) = if roll < 0.02 {
            let dest = address_for(asset.chain, &mut rng);
            (
                Scenario::NewDestination,
                dest,
                Some(at - rng.random_range(0..HOUR)),
                None,
            )
        } else if roll < 0.03 {
            let dest = known_destination(asset.chain, account, rng.random_range(0..3));
            (
                Scenario::CredentialChange,
                dest,
                Some(at - 90 * DAY),
                Some(at - rng.random_range(HOUR..24 * HOUR)),
            )
        } else {
            let dest = known_destination(asset.chain, account, rng.random_range(0..3));
            (
                Scenario::Clean,
                dest,
                Some(at - rng.random_range(2 * DAY..400 * DAY)),
                Some(at - 200 * DAY),
            )
        };
        let usd = rng.random_range(2_000..150_000u64); // $20 .. $1,500
        out.push(Generated {
            withdrawal: make(
                next_id("w"),
                account,
                asset,
                destination,
                usd,
                at,
                first_used,
                cred,
            ),
            scenario,
        });
    }

    for i in 0..designated_n {
        let account = rng.random_range(0..accounts);
        let listed = &designated[i % designated.len()];
        let (chain, typed) = variant(listed, &mut rng);
        let asset = ASSETS
            .iter()
            .find(|a| a.chain == chain)
            .unwrap_or(&ASSETS[0]);
        let at = START + rng.random_range(0..span);
        let usd = rng.random_range(10_000..2_000_000u64);
        out.push(Generated {
            withdrawal: make(next_id("w"), account, asset, typed, usd, at, None, None),
            scenario: Scenario::Designated,
        });
    }

    for _ in 0..bursts {
        // Account takeover: the balance leaves in many withdrawals within
        // ~20 minutes, spread over a few mule addresses on the account's
        // allow-list.
        let account = rng.random_range(0..accounts);
        let asset = &ASSETS[account % ASSETS.len()];
        let t0 = START + rng.random_range(0..span - HOUR);
        // Half follow a credential change; the others give themselves away
        // by their rate alone.
        let cred = rng
            .random_bool(0.5)
            .then(|| t0 - rng.random_range(10 * 60_000..3 * HOUR));
        let mules: Vec<String> = (0..4).map(|_| address_for(asset.chain, &mut rng)).collect();
        for k in 0..burst_len {
            let at = t0 + k as u64 * 30_000;
            let dest = mules[k % mules.len()].clone();
            let usd = rng.random_range(50_000..400_000u64);
            out.push(Generated {
                withdrawal: make(
                    next_id("w"),
                    account,
                    asset,
                    dest,
                    usd,
                    at,
                    Some(at - 40 * DAY),
                    cred,
                ),
                scenario: Scenario::Burst,
            });
        }
    }

    for _ in 0..fan_ins {
        // Mule accounts consolidating into one address the launderer controls;
        // each mule has used it before, so only the fan-in gives it away.
        let asset = &ASSETS[rng.random_range(0..ASSETS.len())];
        let sink = address_for(asset.chain, &mut rng);
        let t0 = START + rng.random_range(0..span - HOUR);
        for k in 0..fan_len {
            let account = rng.random_range(0..accounts);
            let at = t0 + k as u64 * 90_000;
            let usd = rng.random_range(100_000..900_000u64);
            out.push(Generated {
                withdrawal: make(
                    next_id("w"),
                    account,
                    asset,
                    sink.clone(),
                    usd,
                    at,
                    Some(at - 30 * DAY),
                    None,
                ),
                scenario: Scenario::FanIn,
            });
        }
    }

    out.sort_by_key(|g| g.withdrawal.requested_at);
    out
}

#[allow(clippy::too_many_arguments)]
fn make(
    id: String,
    account: usize,
    asset: &Asset,
    destination: String,
    usd_cents: u64,
    at: u64,
    first_used: Option<u64>,
    credential_changed: Option<u64>,
) -> Withdrawal {
    // amount = usd / price, in minor units
    let minor = 10u128.pow(asset.decimals as u32);
    let amount = (usd_cents as u128 * minor / asset.usd_cents as u128).min(u64::MAX as u128) as u64;
    Withdrawal {
        id,
        account: format!("acct-{account:06}"),
        asset: asset.ticker.into(),
        chain: asset.chain.into(),
        destination,
        amount,
        decimals: asset.decimals,
        usd_cents: Some(usd_cents),
        requested_at: at,
        account_created_at: Some(START - 500 * DAY),
        credential_changed_at: credential_changed,
        destination_first_used_at: first_used,
    }
}

/// A stable destination of `account` on `chain` (it has three).
fn known_destination(chain: &str, account: usize, which: u32) -> String {
    let mut rng = StdRng::seed_from_u64((account as u64) << 8 | which as u64);
    address_for(chain, &mut rng)
}

/// A random, valid address for `chain`.
pub fn address_for(chain: &str, rng: &mut StdRng) -> String {
    let payload: [u8; 20] = rng.random();
    match chain {
        "bitcoin" => match rng.random_range(0..3) {
            0 => bs58::encode([&[0x00][..], &payload].concat())
                .with_check()
                .into_string(),
            1 => bs58::encode([&[0x05][..], &payload].concat())
                .with_check()
                .into_string(),
            _ => bech32::segwit::encode(bech32::hrp::BC, bech32::segwit::VERSION_0, &payload)
                .unwrap_or_default(),
        },
        "tron" => bs58::encode([&[0x41][..], &payload].concat())
            .with_check()
            .into_string(),
        _ => riskgate::address::eip55_checksum(&payload),
    }
}

/// A designated address as a user might type it: for EVM any case and any
/// EVM chain; bech32 in upper case; base58 exactly (it is case-sensitive).
fn variant(listed: &str, rng: &mut StdRng) -> (&'static str, String) {
    let evm_chains = ["ethereum", "bsc", "base"];
    if listed.starts_with("0x") || listed.starts_with("0X") {
        let body = &listed[2..];
        let typed = match rng.random_range(0..3) {
            0 => format!("0x{}", body.to_ascii_lowercase()),
            1 => format!("0x{}", body.to_ascii_uppercase()),
            _ => listed.to_string(),
        };
        (evm_chains[rng.random_range(0..evm_chains.len())], typed)
    } else if listed.starts_with('T') {
        ("tron", listed.to_string())
    } else if listed.to_ascii_lowercase().starts_with("bc1") && rng.random_bool(0.5) {
        ("bitcoin", listed.to_ascii_uppercase())
    } else {
        ("bitcoin", listed.to_string())
    }
}

/// Counts and latencies of a run.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub total: usize,
    pub by_verdict: BTreeMap<Verdict, usize>,
    pub by_reason: BTreeMap<String, usize>,
    /// (scenario, verdict) → count.
    pub by_scenario: BTreeMap<(Scenario, Verdict), usize>,
    pub latencies_ns: Vec<u64>,
    pub wall: Duration,
}

impl Summary {
    /// Adds one decision.
    pub fn add(&mut self, scenario: Scenario, d: &Decision) {
        self.total += 1;
        *self.by_verdict.entry(d.verdict).or_default() += 1;
        *self.by_scenario.entry((scenario, d.verdict)).or_default() += 1;
        let mut seen: Vec<&str> = Vec::new();
        for r in &d.reasons {
            if !seen.contains(&r.code.as_str()) {
                seen.push(&r.code);
                *self.by_reason.entry(r.code.clone()).or_default() += 1;
            }
        }
        self.latencies_ns.push(d.latency_ns);
    }

    /// Designated destinations that were not denied: must be zero.
    pub fn designated_missed(&self) -> usize {
        self.by_scenario
            .iter()
            .filter(|((s, v), _)| *s == Scenario::Designated && *v != Verdict::Deny)
            .map(|(_, n)| n)
            .sum()
    }

    /// Latency percentile `p` in [0, 1], in ns.
    pub fn percentile(&self, p: f64) -> u64 {
        percentile(&self.latencies_ns, p)
    }
}

/// Nearest-rank percentile of `values`.
pub fn percentile(values: &[u64], p: f64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}
