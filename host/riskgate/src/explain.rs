//! Explained decisions: what each policy of the chain did for one
//! withdrawal, and what the host answered it.
//!
//! [`Gate::evaluate_explained`](crate::Gate::evaluate_explained) decides a
//! withdrawal exactly as [`Gate::evaluate`](crate::Gate::evaluate) does
//! (same verdict, reasons, hits, recording) and also returns an
//! [`Explanation`]. Host calls are recorded only for an explained
//! decision: a flag in the call context, so the usual path pays nothing.
//!
//! The JSON shape (stable; new fields may be added, none removed):
//!
//! ```json
//! {"policies": [
//!   {"name": "sanctions", "version": "0.1.0", "sha256": "…64 hex…",
//!    "mode": "enforce", "verdict": "deny",
//!    "reasons": [{"code": "sanctions.hit", "detail": "…", "policy": "sanctions"}],
//!    "hits": [{"list": "sample", "list_version": "…", "label": "…", "address": "0x…"}],
//!    "fault": {"code": "gate.policy_fault", "detail": "…"},
//!    "fuel": 5123, "wall_ns": 41000,
//!    "calls": [
//!      {"call": "screen", "chain": "ethereum", "address": "0x…", "hits": [ … ]},
//!      {"call": "screen", "chain": "x", "address": "y",
//!       "error": {"kind": "unsupported_chain", "message": "…"}},
//!      {"call": "window", "scope": "account", "window_ms": 86400000,
//!       "stats": {"count": 3, "sum": 300, "usd_cents": 0}},
//!      {"call": "window", "scope": "asset", "window_ms": 3600000, "error": "…"},
//!      {"call": "log", "level": "warn", "message": "…"}
//!    ],
//!    "calls_dropped": 0}
//! ]}
//! ```
//!
//! - `policies`: in chain order, one per policy that ran (empty when none
//!   ran: bad input, a replayed id, a velocity failure before the chain).
//! - `verdict`, `reasons`, `hits`: the policy's own answer (a fault counts
//!   as HOLD with the fault's reason; a fault after a screened designated
//!   hit as DENY with `gate.designated_hit`), for enforced and shadow
//!   policies alike.
//! - `fault`: absent unless the policy faulted (trap, fuel, deadline,
//!   memory, contract): its `gate.*` code and the reason's detail (a guest
//!   panic's message included).
//! - `fuel`: fuel the call burnt; `wall_ns`: wall time of the call.
//! - `calls`: every host call in order with the host's answer, at most
//!   [`RECORDED_CALLS_MAX`] per policy; `log` entries are the lines kept
//!   (the host keeps 32 per call, 1024 characters each). `calls_dropped`
//!   counts the calls left out (over the cap, or log lines over the
//!   budget): non-zero means the list is truncated.

use crate::gate::Mode;
use crate::model::{Hit, Reason, Verdict};
pub use riskgate_runtime::host::{
    HostCall, LogLevel, RECORDED_CALLS_MAX, ScreenFailure, WindowAnswer, WindowScope,
};
use serde::{Deserialize, Serialize};

/// The explanation of one decision: each policy that ran, in chain order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub policies: Vec<PolicyExplanation>,
}

/// What one policy did for one withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyExplanation {
    pub name: String,
    pub version: String,
    /// sha256 of the component, lowercase hex.
    pub sha256: String,
    pub mode: Mode,
    /// The policy's own verdict (a fault is HOLD, or DENY after a hit).
    pub verdict: Verdict,
    /// The policy's own reasons (a fault's reason included).
    pub reasons: Vec<Reason>,
    /// The policy's own hits.
    pub hits: Vec<Hit>,
    /// Present when the call faulted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<FaultExplanation>,
    /// Fuel the call burnt.
    pub fuel: u64,
    /// Wall time of the call, in nanoseconds.
    pub wall_ns: u64,
    /// The host calls the policy made and the host's answers, in order.
    pub calls: Vec<HostCall>,
    /// Host calls not in `calls` (over the cap, or log lines over the log
    /// budget).
    pub calls_dropped: u64,
}

/// A policy call's fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultExplanation {
    /// `gate.fuel_exhausted`, `gate.deadline_backstop` or `gate.policy_fault`.
    pub code: String,
    /// The fault reason's detail.
    pub detail: String,
}
