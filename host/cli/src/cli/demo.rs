//! `riskgate demo`: the main job on embedded defaults.

use super::EngineArgs;
use clap::Args;
use riskgate::model::Verdict;
use riskgate::{Gate, bundled};
use riskgate_bench::demo::{Scenario, Summary, generate};
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args)]
pub struct DemoArgs {
    /// Withdrawals to generate.
    #[arg(long, default_value_t = 100_000)]
    count: usize,
    /// Seed of the generated stream.
    #[arg(long, default_value_t = 2025)]
    seed: u64,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let screener = bundled::sample_screener();
    let designated = bundled::sample_addresses();
    let (gate, reports) = bundled::policies()
        .into_iter()
        .fold(Gate::builder(), |b, p| b.policy(p))
        .limits(args.engine.limits())
        .cache_dir(args.engine.cache_dir())
        .screener(screener)
        // The synthetic stream runs on its own timeline.
        .max_clock_skew(None)
        .build()?;
    let startup = started.elapsed();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();

    writeln!(
        out,
        "riskgate demo: bundled policies, bundled sample list ({} addresses)",
        designated.len()
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<20} {:>10} {:>14} {:>14}",
        "policy", "AOT cache", "compile/load", "instantiate"
    )?;
    for (policy, report) in gate.policies().iter().zip(&reports) {
        writeln!(
            out,
            "{:<20} {:>10} {:>11.2} ms {:>11.3} ms",
            format!("{} {}", policy.name(), policy.version()),
            format!("{:?}", report.cache).to_lowercase(),
            report.compile.as_secs_f64() * 1e3,
            report.instantiate.as_secs_f64() * 1e3
        )?;
    }
    writeln!(out, "gate start-up: {:.1} ms", startup.as_secs_f64() * 1e3)?;
    writeln!(out)?;

    let stream = generate(args.count, args.seed, &designated);
    let mut summary = Summary::default();
    let run_started = Instant::now();
    for g in &stream {
        let d = gate.evaluate(&g.withdrawal);
        summary.add(g.scenario, &d);
    }
    summary.wall = run_started.elapsed();
    print_summary(&mut out, &summary)?;

    let faults: u64 = gate
        .policies()
        .iter()
        .map(|p| {
            p.counters()
                .faults
                .load(std::sync::atomic::Ordering::Relaxed)
        })
        .sum();
    writeln!(out, "policy faults: {faults}")?;
    for p in gate.policies() {
        let c = p.counters();
        let calls = c.calls.load(std::sync::atomic::Ordering::Relaxed).max(1);
        let max = c.fuel_max.max(std::sync::atomic::Ordering::Relaxed);
        writeln!(
            out,
            "fuel per call, {}: mean {} max {} of a budget of {} ({:.0}x margin)",
            p.name(),
            c.fuel_used.load(std::sync::atomic::Ordering::Relaxed) / calls,
            max,
            p.fuel(),
            p.fuel() as f64 / max.max(1) as f64
        )?;
    }
    let missed = summary.designated_missed();
    if missed > 0 {
        writeln!(
            out,
            "FAIL: {missed} withdrawal(s) to designated addresses were not denied"
        )?;
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(out: &mut impl Write, s: &Summary) -> std::io::Result<()> {
    writeln!(
        out,
        "{} withdrawals decided in {:.2} s",
        s.total,
        s.wall.as_secs_f64()
    )?;
    writeln!(out)?;
    writeln!(out, "{:<10} {:>9} {:>8}", "verdict", "count", "share")?;
    for v in [Verdict::Allow, Verdict::Hold, Verdict::Deny] {
        let n = s.by_verdict.get(&v).copied().unwrap_or(0);
        writeln!(
            out,
            "{:<10} {:>9} {:>7.2}%",
            v,
            n,
            100.0 * n as f64 / s.total.max(1) as f64
        )?;
    }
    writeln!(out)?;
    writeln!(out, "{:<34} {:>9}", "top reasons", "count")?;
    let mut reasons: Vec<_> = s.by_reason.iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (code, n) in reasons.iter().take(10) {
        writeln!(out, "{code:<34} {n:>9}")?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<20} {:>8} {:>8} {:>8}",
        "scenario", "allow", "hold", "deny"
    )?;
    for scenario in [
        Scenario::Clean,
        Scenario::NewDestination,
        Scenario::CredentialChange,
        Scenario::Burst,
        Scenario::FanIn,
        Scenario::Designated,
    ] {
        let get = |v| s.by_scenario.get(&(scenario, v)).copied().unwrap_or(0);
        writeln!(
            out,
            "{:<20} {:>8} {:>8} {:>8}",
            scenario.label(),
            get(Verdict::Allow),
            get(Verdict::Hold),
            get(Verdict::Deny)
        )?;
    }
    writeln!(out)?;
    let us = |ns: u64| ns as f64 / 1e3;
    writeln!(
        out,
        "decision latency: p50 {:.2} µs   p99 {:.2} µs   p999 {:.2} µs   max {:.2} µs",
        us(s.percentile(0.50)),
        us(s.percentile(0.99)),
        us(s.percentile(0.999)),
        us(s.percentile(1.0))
    )?;
    writeln!(
        out,
        "throughput (one thread): {:.0} decisions/s",
        s.total as f64 / s.wall.as_secs_f64().max(1e-9)
    )?;
    Ok(())
}
