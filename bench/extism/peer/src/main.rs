//! The Extism peer of `riskgate bench`: the bundled policies' logic as an
//! Extism plug-in (../guest), JSON across the boundary, over the same
//! host-side designated set and velocity store as riskgate, with the same
//! host steps (validation, canonical destination, key locks, idempotency,
//! recording).
//!
//! Driven by `riskgate bench` over stdin/stdout, one command a line:
//! - `round I`: decide round I of the stream; answers the latency of each
//!   decision (ns) and then a string of verdicts (`a`, `h`, `d`).
//! - `parallel T`: decide the whole stream on T threads (one plug-in each,
//!   fresh store); answers decisions per second.
//!
//! Arguments: `SET_SIZE WITHDRAWALS SEED ROUNDS` (the same workload as
//! riskgate's: `riskgate_bench::Workload`).

use anyhow::{Context, Result, anyhow, bail};
use extism::{PTR, Plugin, PluginBuilder, UserData, Wasm, host_fn};
use riskgate::address::{self, Canonical};
use riskgate_bench::{Workload, chunk_len, partition, recorded};
use riskgate::model::{Decision, GateCode, Hit, Reason, Verdict, Withdrawal};
use riskgate::screening::{ScreenError, Screener};
use riskgate::velocity::{DEFAULT_RETENTION_MS, Keys, Scope, Velocity};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The `riskgate` binary's allocator, so the contenders compare alike.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const GUEST: &[u8] = include_bytes!(env!("RISKGATE_EXTISM_GUEST"));

/// What the host functions answer for: the withdrawal being decided.
#[derive(Default)]
struct Current {
    screener: Option<Screener>,
    velocity: Option<Arc<Velocity>>,
    chain: String,
    destination: String,
    canonical: Option<Result<Canonical, ScreenError>>,
    keys: Option<Keys>,
    requested_at: u64,
}

#[derive(Deserialize)]
struct ScreenQuery {
    chain: String,
    address: String,
}

#[derive(Serialize)]
struct Evidence<'a> {
    list: &'a str,
    list_version: &'a str,
    label: Option<&'a str>,
    address: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum ScreenAnswer<'a> {
    Hits(Vec<Evidence<'a>>),
    UnsupportedChain(String),
    InvalidAddress(String),
}

#[derive(Deserialize)]
struct WindowQuery {
    scope: String,
    window_ms: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum WindowAnswer {
    Stats { count: u64, usd_cents: u64 },
    Error(String),
}

host_fn!(screen(current: Current; query: String) -> String {
    let current = current.get()?;
    let current = current.lock().map_err(|_| anyhow!("poisoned"))?;
    let q: ScreenQuery = serde_json::from_str(&query)?;
    let screener = current.screener.as_ref().ok_or_else(|| anyhow!("no screener"))?;
    let result = if q.chain == current.chain && q.address == current.destination {
        match current.canonical.as_ref() {
            Some(Ok(c)) => Ok(screener.screen_canonical(c)),
            Some(Err(e)) => Err(e.clone()),
            None => screener.screen(&q.chain, &q.address),
        }
    } else {
        screener.screen(&q.chain, &q.address)
    };
    let answer = match &result {
        Ok(hits) => ScreenAnswer::Hits(
            hits.iter()
                .map(|h| Evidence {
                    list: &h.list,
                    list_version: &h.list_version,
                    label: h.label.as_deref(),
                    address: &h.address,
                })
                .collect(),
        ),
        Err(ScreenError::UnsupportedChain(c)) => {
            ScreenAnswer::UnsupportedChain(format!("unsupported chain `{c}`"))
        }
        Err(ScreenError::InvalidAddress(e)) => ScreenAnswer::InvalidAddress(e.to_string()),
    };
    Ok(serde_json::to_string(&answer)?)
});

host_fn!(window(current: Current; query: String) -> String {
    let current = current.get()?;
    let current = current.lock().map_err(|_| anyhow!("poisoned"))?;
    let q: WindowQuery = serde_json::from_str(&query)?;
    let scope = match q.scope.as_str() {
        "account" => Scope::Account,
        "account-asset" => Scope::AccountAsset,
        "destination" => Scope::Destination,
        "account-destination" => Scope::AccountDestination,
        "asset" => Scope::Asset,
        other => return Ok(serde_json::to_string(&WindowAnswer::Error(format!("unknown scope `{other}`")))?),
    };
    let (Some(keys), Some(velocity)) = (&current.keys, &current.velocity) else {
        bail!("window outside an evaluation");
    };
    let answer = match velocity.store().window(keys.get(scope), keys.asset(), current.requested_at, q.window_ms) {
        Ok(s) => WindowAnswer::Stats { count: s.count, usd_cents: s.usd_cents },
        Err(e) => WindowAnswer::Error(e.to_string()),
    };
    Ok(serde_json::to_string(&answer)?)
});

#[derive(Deserialize)]
struct GuestReason {
    code: String,
    detail: String,
    evidence: Vec<GuestEvidence>,
}

#[derive(Deserialize)]
struct GuestEvidence {
    list: String,
    list_version: String,
    label: Option<String>,
    address: String,
}

#[derive(Deserialize)]
struct GuestDecision {
    verdict: Verdict,
    reasons: Vec<GuestReason>,
}

/// One plug-in instance with its host context.
struct Peer {
    plugin: Plugin,
    current: Arc<Mutex<Current>>,
    screener: Screener,
    velocity: Arc<Velocity>,
}

impl Peer {
    fn new(screener: Screener, velocity: Arc<Velocity>) -> Result<Self> {
        let data = UserData::new(Current::default());
        let current = data.get()?;
        let plugin = PluginBuilder::new(extism::Manifest::new([Wasm::data(GUEST.to_vec())]))
            .with_wasi(false)
            .with_function("screen", [PTR], [PTR], data.clone(), screen)
            .with_function("window", [PTR], [PTR], data, window)
            .build()?;
        Ok(Peer {
            plugin,
            current,
            screener,
            velocity,
        })
    }

    fn set(&self, f: impl FnOnce(&mut Current)) {
        let mut c = self.current.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut c);
    }

    /// The gate's steps around the two plug-in calls.
    fn decide(&mut self, w: &Withdrawal) -> Decision {
        if let Err(e) = w.validate() {
            return Decision::gate_hold(&w.id, GateCode::BadInput, e.to_string());
        }
        let canonical = address::canonicalize(&w.chain, &w.destination);
        let destination = match &canonical {
            Ok(c) => c.as_str(),
            Err(_) => w.destination.trim(),
        };
        let velocity = self.velocity.clone();
        recorded(&velocity, w, destination, |txn| {
            self.set(|c| {
                c.screener = Some(self.screener.clone());
                c.velocity = Some(self.velocity.clone());
                c.chain.clone_from(&w.chain);
                c.destination.clone_from(&w.destination);
                c.canonical = Some(canonical.clone().map_err(ScreenError::from));
                c.keys = Some(txn.keys().clone());
                c.requested_at = w.requested_at;
            });
            let d = self.call_policies(w);
            self.set(|c| c.keys = None);
            d
        })
    }

    /// The two plug-in calls, their decisions merged.
    fn call_policies(&mut self, w: &Withdrawal) -> Decision {
        let mut d = Decision::allow(&w.id);
        let input = match serde_json::to_string(w) {
            Ok(s) => s,
            Err(e) => return Decision::gate_hold(&w.id, GateCode::BadInput, e.to_string()),
        };
        for policy in ["sanctions", "velocity"] {
            let out = self
                .plugin
                .call::<&str, &str>(policy, &input)
                .map_err(|e| e.to_string())
                .and_then(|s| serde_json::from_str::<GuestDecision>(s).map_err(|e| e.to_string()));
            match out {
                Ok(out) => {
                    d.verdict = d.verdict.max(out.verdict);
                    for r in out.reasons {
                        for e in r.evidence {
                            d.hits.push(Hit {
                                list: e.list,
                                list_version: e.list_version,
                                label: e.label,
                                address: e.address,
                            });
                        }
                        d.reasons.push(Reason {
                            code: r.code,
                            detail: r.detail,
                            policy: Some(policy.into()),
                        });
                    }
                }
                Err(why) => {
                    d.verdict = d.verdict.max(Verdict::Hold);
                    d.reasons.push(Reason {
                        code: GateCode::PolicyFault.as_str().into(),
                        detail: format!("policy `{policy}` faulted: {why}"),
                        policy: Some(policy.into()),
                    });
                }
            }
        }
        d
    }
}

fn main() -> Result<()> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().with_context(|| format!("argument `{a}`")))
        .collect::<Result<_>>()?;
    let [set_size, withdrawals, seed, rounds] = args[..] else {
        bail!("usage: riskgate-extism-peer SET_SIZE WITHDRAWALS SEED ROUNDS");
    };
    let workload = Workload::new(set_size as usize, withdrawals as usize, seed)?;
    let stream: Vec<&Withdrawal> = workload.stream.iter().map(|g| &g.withdrawal).collect();
    let chunk = chunk_len(stream.len(), rounds as usize);
    let new_velocity = || Arc::new(Velocity::memory(DEFAULT_RETENTION_MS));
    let mut peer = Peer::new(workload.screener.clone(), new_velocity())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let mut words = line.split_whitespace();
        match (words.next(), words.next().map(str::parse::<usize>)) {
            (Some("round"), Some(Ok(i))) => {
                let part = stream.chunks(chunk).nth(i).unwrap_or_default();
                let mut lat = String::new();
                let mut verdicts = String::new();
                for w in part {
                    let w = (*w).clone();
                    let t = Instant::now();
                    let d = peer.decide(&w);
                    let ns = t.elapsed().as_nanos();
                    lat.push_str(&ns.to_string());
                    lat.push(' ');
                    verdicts.push(match d.verdict {
                        Verdict::Allow => 'a',
                        Verdict::Hold => 'h',
                        Verdict::Deny => 'd',
                    });
                }
                writeln!(out, "{}", lat.trim_end())?;
                writeln!(out, "{verdicts}")?;
            }
            (Some("parallel"), Some(Ok(threads))) => {
                let velocity = new_velocity();
                let parts = partition(&stream, threads);
                let mut peers = parts
                    .iter()
                    .map(|_| Peer::new(workload.screener.clone(), velocity.clone()))
                    .collect::<Result<Vec<_>>>()?;
                let started = Instant::now();
                std::thread::scope(|s| {
                    for (part, peer) in parts.iter().zip(peers.iter_mut()) {
                        s.spawn(move || {
                            for w in part {
                                std::hint::black_box(peer.decide(&(*w).clone()));
                            }
                        });
                    }
                });
                let rate = stream.len() as f64 / started.elapsed().as_secs_f64();
                writeln!(out, "{rate}")?;
            }
            _ => bail!("unknown command `{line}`"),
        }
        out.flush()?;
    }
    Ok(())
}
