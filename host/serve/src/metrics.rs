//! `GET /metrics`: the service's Prometheus metrics (OpenMetrics text,
//! prometheus-client).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use riskgate::gate::PolicyOutcome;
use riskgate::model::{Decision, GateCode, Verdict};

/// Content type of [`Metrics::encode`].
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabel {
    verdict: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FaultLabel {
    policy: String,
    mode: &'static str,
    /// The fault's gate reason: `gate.fuel_exhausted`,
    /// `gate.deadline_backstop` (the wall-clock backstop fired: a defect or
    /// a starved machine, never a policy within its fuel) or
    /// `gate.policy_fault`.
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShadowLabel {
    /// The shadow policy.
    policy: String,
    /// The decision's verdict.
    enforced: &'static str,
    /// The shadow policy's own verdict.
    shadow: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListLabel {
    list: String,
    version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HoldReasonLabel {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HoldStateLabel {
    state: &'static str,
}

/// Most pending holds `riskgate_holds_pending` scans at a scrape.
pub const PENDING_SCAN: usize = 10_000;

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    reasons: Family<ReasonLabel, Counter>,
    latency: Histogram,
    faults: Family<FaultLabel, Counter>,
    shadow_disagreements: Family<ShadowLabel, Counter>,
    list_entries: Family<ListLabel, Gauge>,
    generation: Gauge,
    reloads: Family<ResultLabel, Counter>,
    log_failures: Counter,
    log_records: Gauge,
    log_batches: Gauge,
    holds_pending: Family<HoldReasonLabel, Gauge>,
    hold_resolutions: Family<HoldStateLabel, Counter>,
    hold_resolution_seconds: Histogram,
    resolution_log_failures: Counter,
    /// One scrape at a time: the pending gauge is set, then encoded.
    scrape: std::sync::Mutex<()>,
    /// `decisions`' counter of each verdict (allow, hold, deny), resolved
    /// once: a decision counts without a label lookup.
    by_verdict: [Counter; 3],
    /// `reasons`' counter of each code seen, by code: a reason counts
    /// without allocating its label (a read lock and a lookup by `&str`).
    by_reason: std::sync::RwLock<std::collections::HashMap<String, Counter>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let decisions = Family::<VerdictLabel, Counter>::default();
        let reasons = Family::<ReasonLabel, Counter>::default();
        // 4 µs to about 65 ms.
        let latency = Histogram::new(exponential_buckets(4e-6, 2.0, 15));
        let faults = Family::<FaultLabel, Counter>::default();
        let shadow_disagreements = Family::<ShadowLabel, Counter>::default();
        let list_entries = Family::<ListLabel, Gauge>::default();
        let generation = Gauge::default();
        let reloads = Family::<ResultLabel, Counter>::default();
        let log_failures = Counter::default();
        let log_records = Gauge::default();
        let log_batches = Gauge::default();
        let holds_pending = Family::<HoldReasonLabel, Gauge>::default();
        let hold_resolutions = Family::<HoldStateLabel, Counter>::default();
        // A minute to about two weeks, and under a minute.
        let hold_resolution_seconds = Histogram::new(
            [1.0, 10.0, 30.0]
                .into_iter()
                .chain(exponential_buckets(60.0, 3.0, 10)),
        );
        let resolution_log_failures = Counter::default();
        let mut registry = Registry::with_prefix("riskgate");
        registry.register(
            "decisions",
            "Decisions returned, by verdict",
            decisions.clone(),
        );
        registry.register(
            "decision_reasons",
            "Reasons carried by returned decisions, by code",
            reasons.clone(),
        );
        registry.register(
            "decision_latency_seconds",
            "Time the gate spent on a decision (Gate::evaluate)",
            latency.clone(),
        );
        registry.register(
            "policy_faults",
            format!(
                "Policy calls that faulted, by policy, mode and gate reason ({}: trap, memory cap, contract)",
                GateCode::FAULTS.map(GateCode::as_str).join(", ")
            ),
            faults.clone(),
        );
        registry.register(
            "shadow_disagreements",
            "Decisions where a shadow policy's own verdict differed from the decision's, by shadow policy, the decision's verdict (enforced) and the shadow's",
            shadow_disagreements.clone(),
        );
        registry.register(
            "list_entries",
            "Addresses in each designated set being served",
            list_entries.clone(),
        );
        registry.register(
            "config_generation",
            "Generation of the policies and lists being served (1 at start, +1 per reload)",
            generation.clone(),
        );
        registry.register("reloads", "Reloads, by result", reloads.clone());
        registry.register(
            "decision_log_failures",
            "Decisions held because their record could not be written",
            log_failures.clone(),
        );
        registry.register(
            "decision_log_records",
            "Records written to the decision log since start",
            log_records.clone(),
        );
        registry.register(
            "decision_log_batches",
            "Group-commit batches written to the decision log since start",
            log_batches.clone(),
        );
        registry.register(
            "holds_pending",
            format!(
                "Pending holds by reason code, counted when scraped (a hold counts under each of its \
                 codes; at most the {PENDING_SCAN} oldest pending holds are scanned)"
            ),
            holds_pending.clone(),
        );
        registry.register(
            "hold_resolutions",
            "Review actions that changed a hold, by the state after it (pending: an approval \
             still short of the approvals required; approved, rejected, expired)",
            hold_resolutions.clone(),
        );
        registry.register(
            "hold_resolution_seconds",
            "Time from a hold's requested-at to its approval, rejection or expiry",
            hold_resolution_seconds.clone(),
        );
        registry.register(
            "hold_resolution_log_failures",
            "Review actions recorded by the velocity store whose decision-log record could not be written",
            resolution_log_failures.clone(),
        );
        let by_verdict = [Verdict::Allow, Verdict::Hold, Verdict::Deny].map(|v| {
            decisions
                .get_or_create(&VerdictLabel {
                    verdict: v.as_str(),
                })
                .clone()
        });
        Metrics {
            registry,
            by_verdict,
            by_reason: Default::default(),
            reasons,
            latency,
            faults,
            shadow_disagreements,
            list_entries,
            generation,
            reloads,
            log_failures,
            log_records,
            log_batches,
            holds_pending,
            hold_resolutions,
            hold_resolution_seconds,
            resolution_log_failures,
            scrape: std::sync::Mutex::new(()),
        }
    }
}

impl Metrics {
    /// Counts a returned decision, the policy faults behind it and the
    /// shadow policies that disagreed with it.
    pub fn decided(&self, d: &Decision, trace: &[PolicyOutcome], names: &[&str]) {
        self.by_verdict[match d.verdict {
            Verdict::Allow => 0,
            Verdict::Hold => 1,
            Verdict::Deny => 2,
        }]
        .inc();
        for r in &d.reasons {
            self.count_reason(&r.code);
        }
        self.latency.observe(d.latency_ns as f64 * 1e-9);
        for (outcome, name) in trace.iter().zip(names) {
            if outcome.fault {
                self.faults
                    .get_or_create(&FaultLabel {
                        policy: (*name).to_string(),
                        mode: outcome.mode.as_str(),
                        reason: outcome.fault_code.unwrap_or(GateCode::PolicyFault).as_str(),
                    })
                    .inc();
            }
        }
        for s in riskgate::shadow_disagreements(d.verdict, trace) {
            if let Some(name) = names.get(s.index) {
                self.shadow_disagreements
                    .get_or_create(&ShadowLabel {
                        policy: (*name).to_string(),
                        enforced: s.enforced.as_str(),
                        shadow: s.shadow.as_str(),
                    })
                    .inc();
            }
        }
    }

    /// Counts a reason with code `code` (its counter created at its first
    /// use).
    fn count_reason(&self, code: &str) {
        if let Some(c) = self
            .by_reason
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(code)
        {
            c.inc();
            return;
        }
        let counter = self
            .reasons
            .get_or_create(&ReasonLabel {
                code: code.to_string(),
            })
            .clone();
        counter.inc();
        self.by_reason
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(code.to_string(), counter);
    }

    /// A decision held for want of its record.
    pub fn log_failed(&self) {
        self.log_failures.inc();
    }

    /// The sets and generation now served.
    pub fn serving(&self, generation: u64, lists: &[(String, String, usize)]) {
        self.generation.set(generation as i64);
        self.list_entries.clear();
        for (list, version, count) in lists {
            self.list_entries
                .get_or_create(&ListLabel {
                    list: list.clone(),
                    version: version.clone(),
                })
                .set(*count as i64);
        }
    }

    pub fn reloaded(&self, ok: bool) {
        let result = if ok { "ok" } else { "failed" };
        self.reloads.get_or_create(&ResultLabel { result }).inc();
    }

    /// A review action that changed `hold` (now in its state after it).
    pub fn resolved(&self, hold: &riskgate::Hold) {
        self.hold_resolutions
            .get_or_create(&HoldStateLabel {
                state: hold.state.as_str(),
            })
            .inc();
        if hold.state.is_final()
            && let Some(at) = hold.review().and_then(|r| r.resolved_at)
        {
            let ms = at.saturating_sub(hold.requested_at);
            self.hold_resolution_seconds.observe(ms as f64 / 1e3);
        }
    }

    /// A review action whose decision-log record could not be written.
    pub fn resolution_log_failed(&self) {
        self.resolution_log_failures.inc();
    }

    /// The text exposition, with the decision log's counters as of now.
    pub fn encode(&self, log: Option<crate::decision_log::LogStats>) -> String {
        self.encode_with(log, None)
    }

    /// [`Metrics::encode`], with `riskgate_holds_pending` set from
    /// `pending` (reason code, count) first (`None`: no count, the
    /// store cannot list its holds: the gauge is left empty).
    pub fn encode_with(
        &self,
        log: Option<crate::decision_log::LogStats>,
        pending: Option<&[(String, u64)]>,
    ) -> String {
        let _one = self.scrape.lock().unwrap_or_else(|p| p.into_inner());
        self.holds_pending.clear();
        for (reason, n) in pending.unwrap_or_default() {
            self.holds_pending
                .get_or_create(&HoldReasonLabel {
                    reason: reason.clone(),
                })
                .set(*n as i64);
        }
        if let Some(stats) = log {
            self.log_records.set(stats.records as i64);
            self.log_batches.set(stats.batches as i64);
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("encoding into a String does not fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fault reasons named in the help text are the typed set, and a
    /// counted fault is labelled with its code's spelling.
    #[test]
    fn fault_reasons_are_the_gate_codes() {
        let m = Metrics::default();
        for code in GateCode::FAULTS {
            m.faults
                .get_or_create(&FaultLabel {
                    policy: "p".into(),
                    mode: "enforce",
                    reason: code.as_str(),
                })
                .inc();
        }
        let text = m.encode(None);
        let help = text
            .lines()
            .find(|l| l.starts_with("# HELP riskgate_policy_faults"))
            .unwrap_or_else(|| panic!("help of policy_faults: {text}"));
        assert!(
            help.contains(
                "(gate.fuel_exhausted, gate.deadline_backstop, gate.policy_fault: trap, memory cap, contract)"
            ),
            "{help}"
        );
        for code in GateCode::FAULTS {
            assert!(
                text.contains(&format!(
                    "riskgate_policy_faults_total{{policy=\"p\",mode=\"enforce\",reason=\"{code}\"}} 1"
                )),
                "{text}"
            );
        }
    }
}
