//! The benchmark's workload: a designated set of synthetic valid addresses
//! (plus the bundled sample list) and the demo's withdrawal stream, a few of
//! whose designated withdrawals go to addresses of the big set.

use crate::demo::{self, Generated, Scenario};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use riskgate::address;
use riskgate::bundled;
use riskgate::screening::{DEFAULT_FP_RATE, Entry, Screener, SetBuilder, SetError};
use std::time::{Duration, Instant};

/// Chains of the synthetic addresses, by share of the set (EVM, Tron, Bitcoin).
const CHAINS: [(&str, u32); 3] = [("ethereum", 70), ("tron", 20), ("bitcoin", 10)];

/// Listed addresses the stream's designated withdrawals are drawn from.
const DESIGNATED_SAMPLE: usize = 2_000;

pub struct Workload {
    pub screener: Screener,
    /// Addresses in the designated set.
    pub set_len: usize,
    pub set_build: Duration,
    pub stream: Vec<Generated>,
}

impl Workload {
    /// Designated set of `set_size` synthetic addresses plus the sample
    /// list; a stream of `withdrawals` from `seed`.
    pub fn new(set_size: usize, withdrawals: usize, seed: u64) -> Result<Self, SetError> {
        let started = Instant::now();
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5e7);
        let mut builder = SetBuilder::new(DEFAULT_FP_RATE)?;
        builder.reserve(set_size + 64);
        let mut designated = bundled::sample_addresses();
        let label = Some("synthetic designated address".to_string());
        let total: u32 = CHAINS.iter().map(|c| c.1).sum();
        for i in 0..set_size {
            let mut pick = rng.random_range(0..total);
            let chain = CHAINS
                .iter()
                .find(|(_, share)| {
                    let hit = pick < *share;
                    pick = pick.saturating_sub(*share);
                    hit
                })
                .map_or("ethereum", |c| c.0);
            let text = demo::address_for(chain, &mut rng);
            let canonical = address::canonicalize(chain, &text)
                .map_err(|e| SetError::InvalidKey(format!("synthetic `{text}`: {e}")))?;
            builder.push(
                &canonical,
                &Entry {
                    label: label.clone(),
                    original: text.clone(),
                },
            )?;
            if i < DESIGNATED_SAMPLE {
                designated.push(text);
            }
        }
        for text in bundled::sample_addresses() {
            let canonical = address::canonicalize_any(&text)
                .map_err(|e| SetError::InvalidKey(format!("sample `{text}`: {e}")))?;
            builder.push(
                &canonical,
                &Entry {
                    label: None,
                    original: text,
                },
            )?;
        }
        let set = builder.finish("bench", "1", "synthetic")?;
        let set_len = set.len();
        let screener = Screener::new(vec![set]);
        let set_build = started.elapsed();
        Ok(Workload {
            screener,
            set_len,
            set_build,
            stream: demo::generate(withdrawals, seed, &designated),
        })
    }

    /// Share of the stream per scenario, for the report.
    pub fn mix(&self) -> String {
        let n = self.stream.len().max(1) as f64;
        let share = |f: &dyn Fn(Scenario) -> bool| {
            100.0 * self.stream.iter().filter(|g| f(g.scenario)).count() as f64 / n
        };
        format!(
            "{:.1}% clean, {:.1}% designated, {:.1}% bursts, {:.1}% new destination or credential change",
            share(&|s| s == Scenario::Clean),
            share(&|s| s == Scenario::Designated),
            share(&|s| matches!(s, Scenario::Burst | Scenario::FanIn)),
            share(&|s| matches!(s, Scenario::NewDestination | Scenario::CredentialChange)),
        )
    }
}
