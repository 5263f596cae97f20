//! The decision log's records: one JSON object per line, described by
//! `docs/decision-log.schema.json` (JSON Schema 2020-12).
//!
//! These types are the audit format itself, not the gate's internal types:
//! a field is added here, in the schema and in [`RECORD_VERSION`]'s notes
//! together, and a field once written keeps its name and meaning. Three
//! events share the log, in the order they happened:
//!
//! - `generation`: a generation of policies and lists starts being served
//!   (written before any decision it makes) — [`GenerationRecord`];
//! - `reload_failed`: a reload was refused, the generation served is
//!   unchanged — [`GenerationRecord`] with `error` and no policies or lists;
//! - `decision`: one decision as returned — [`DecisionRecord`];
//! - `resolution`: a reviewer's approval or rejection of a HOLD, or its
//!   expiry — [`ResolutionRecord`].
//!
//! Every record written carries `"v": 1`, the format version; a record
//! without `v` (written before the field existed) is version 1 too.
//! Readers ignore fields they do not know.
//!
//! Fields added within version 1, optional so that older logs still read:
//! a generation's `limits` ([`GenerationLimits`]) and each of its policies'
//! `config` (the JSON text handed to `configure`) and `fuel`, which
//! `riskgate replay` needs to rebuild the very chain that decided.

use riskgate::Mode;
use riskgate::model::{Hit, Reason, Verdict, Withdrawal};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// The record format written; a record without `v` is version 1.
pub const RECORD_VERSION: u32 = 1;

fn version_1() -> u32 {
    1
}

/// What a record tells of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// One decision ([`DecisionRecord`]).
    Decision,
    /// A generation now served ([`GenerationRecord`]).
    Generation,
    /// A reload that failed ([`GenerationRecord`] with `error`).
    ReloadFailed,
    /// A review action on a HOLD ([`ResolutionRecord`]).
    Resolution,
}

/// One line of the decision log, whichever its event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum LogRecord<'a> {
    Decision(Box<DecisionRecord<'a>>),
    Generation(GenerationRecord),
    Resolution(Box<ResolutionRecord>),
}

impl LogRecord<'static> {
    /// Reads one line of the log.
    pub fn parse(line: &[u8]) -> Result<Self, serde_json::Error> {
        #[derive(Deserialize)]
        struct Head {
            event: Event,
        }
        Ok(match serde_json::from_slice::<Head>(line)?.event {
            Event::Decision => LogRecord::Decision(Box::new(serde_json::from_slice(line)?)),
            Event::Generation | Event::ReloadFailed => {
                LogRecord::Generation(serde_json::from_slice(line)?)
            }
            Event::Resolution => LogRecord::Resolution(Box::new(serde_json::from_slice(line)?)),
        })
    }
}

/// One decision as returned, with what decided it (`"event": "decision"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord<'a> {
    /// Always [`Event::Decision`].
    pub event: Event,
    /// Format version ([`RECORD_VERSION`]; absent: 1).
    #[serde(default = "version_1")]
    pub v: u32,
    /// Unique per record: this process's random prefix and a counter, 32
    /// hex digits.
    pub decision_id: String,
    /// When the record was made, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// The generation of policies and lists that decided.
    pub generation: u64,
    /// The withdrawal as received (the JSON `POST /v1/evaluate` reads).
    pub withdrawal: Cow<'a, Withdrawal>,
    /// The verdict returned.
    pub verdict: Verdict,
    /// The reasons returned, gate codes (`gate.*`) and policies' own.
    pub reasons: Cow<'a, [Reason]>,
    /// The designated-set matches returned.
    pub hits: Cow<'a, [Hit]>,
    /// The recorded decision of an id seen before was returned.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
    /// Time the gate spent on the decision.
    pub latency_ns: u64,
    /// Each policy that ran, in chain order (empty when none ran: bad
    /// input, a replay, a store failure before the policies).
    pub policies: Vec<PolicyRun<'a>>,
    /// The designated sets of the generation.
    pub lists: Vec<ListVersion<'a>>,
}

/// A review action on a recorded HOLD (`"event": "resolution"`): an
/// approval (which settles the hold when it is the last one required), a
/// rejection, or the expiry of a hold pending too long. Written after the
/// velocity store recorded it, before the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolutionRecord {
    /// Always [`Event::Resolution`].
    pub event: Event,
    /// Format version ([`RECORD_VERSION`]; absent: 1).
    #[serde(default = "version_1")]
    pub v: u32,
    /// Unique per record, as a decision record's.
    pub decision_id: String,
    /// When the record was made, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// The generation serving when it was resolved.
    pub generation: u64,
    /// The withdrawal id of the hold.
    pub id: String,
    /// The action: `approve`, `reject` or `expire`.
    pub action: riskgate::model::ReviewAction,
    /// Who: a reviewer named in the configuration (`riskgate` for an
    /// expiry, or the operator named to `riskgate holds` on a local store).
    pub reviewer: String,
    #[serde(default)]
    pub note: String,
    /// The hold's state after the action.
    pub state: riskgate::model::HoldState,
    /// When the action took effect, ms since the Unix epoch.
    pub at: u64,
    /// The hold's requested-at (the withdrawal's time).
    pub requested_at: u64,
    /// Distinct approvals so far, and how many the hold needs.
    pub approvals: u32,
    pub required: u32,
    /// What the approval added to velocity (the action that approved it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted: Option<Counted>,
    /// The account, asset, chain and destination the hold counts under.
    pub account: String,
    pub asset: String,
    pub chain: String,
    pub destination: String,
}

/// An approved hold's contribution to every window of its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counted {
    /// The time it counts from (the approval), ms since the Unix epoch.
    pub at: u64,
    /// Minor units of the asset.
    pub amount: u64,
    pub usd_cents: u64,
}

impl ResolutionRecord {
    /// The record of the action that brought `hold` where it is (its last
    /// review entry); `None` for a hold without one.
    pub fn of(
        hold: &riskgate::Hold,
        decision_id: String,
        timestamp_ms: u64,
        generation: u64,
    ) -> Option<Self> {
        let review = hold.review()?;
        let entry = review.entries.last()?;
        let counted = (review.state == riskgate::model::HoldState::Approved
            && review.counted_at.is_some()
            && review.resolved_at == Some(entry.at)
            && entry.action == riskgate::model::ReviewAction::Approve)
            .then(|| Counted {
                at: review.counted_at.unwrap_or(entry.at),
                amount: review.amount,
                usd_cents: review.usd_cents,
            });
        Some(ResolutionRecord {
            event: Event::Resolution,
            v: RECORD_VERSION,
            decision_id,
            timestamp_ms,
            generation,
            id: hold.id.clone(),
            action: entry.action,
            reviewer: entry.reviewer.clone(),
            note: entry.note.clone(),
            state: review.state,
            at: entry.at,
            requested_at: hold.requested_at,
            approvals: review.approvers().len() as u32,
            required: review.required,
            counted,
            account: hold.account.clone(),
            asset: hold.asset.clone(),
            chain: hold.chain.clone(),
            destination: hold.destination.clone(),
        })
    }
}

/// What one policy answered for one withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRun<'a> {
    pub name: Cow<'a, str>,
    pub version: Cow<'a, str>,
    /// sha256 of the policy's component, 64 hex digits.
    pub sha256: Cow<'a, str>,
    pub mode: Mode,
    /// The policy's own verdict (a fault counts as hold).
    pub verdict: Verdict,
    /// The policy faulted (trap, fuel, deadline backstop, memory cap,
    /// contract violation).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fault: bool,
    /// A shadow policy's reasons (an enforced one's are the decision's).
    #[serde(default, skip_serializing_if = "empty")]
    pub reasons: Cow<'a, [Reason]>,
    /// A shadow policy's hits.
    #[serde(default, skip_serializing_if = "empty")]
    pub hits: Cow<'a, [Hit]>,
}

fn empty<T>(list: &impl std::ops::Deref<Target = [T]>) -> bool {
    list.is_empty()
}

/// A designated set by name and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListVersion<'a> {
    pub name: Cow<'a, str>,
    pub version: Cow<'a, str>,
}

/// A generation now served (`"event": "generation"`), or a reload that
/// failed (`"event": "reload_failed"`, with `error` and no policies or
/// lists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationRecord {
    /// [`Event::Generation`] or [`Event::ReloadFailed`].
    pub event: Event,
    /// Format version ([`RECORD_VERSION`]; absent: 1).
    #[serde(default = "version_1")]
    pub v: u32,
    /// When the record was made, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// The generation served from now on (for `reload_failed`: still).
    pub generation: u64,
    /// Why the reload failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub policies: Vec<GenerationPolicy>,
    pub lists: Vec<GenerationList>,
    /// The engine limits of the generation's policy calls (absent in older
    /// logs and in `reload_failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<GenerationLimits>,
}

/// The engine limits of a generation (`[limits]` of the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationLimits {
    /// Default fuel of one policy call.
    pub fuel: u64,
    /// Wall-clock backstop of one policy call, in microseconds.
    pub deadline_us: u64,
    /// Memory cap of one policy instance, in MiB.
    pub memory_mib: u64,
}

/// A policy of a generation, in chain order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationPolicy {
    pub name: String,
    pub version: String,
    /// sha256 of the component, 64 hex digits.
    pub sha256: String,
    pub mode: Mode,
    /// Where it was loaded from (`bundled:NAME` or a path).
    pub origin: String,
    /// Key id of the trusted key whose signature was verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    /// The configuration handed to the policy, JSON text (absent in older
    /// logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// Fuel of one call of the policy (absent in older logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
}

/// A designated set of a generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationList {
    pub name: String,
    pub version: String,
    /// Where it was read from.
    pub source: String,
    /// Addresses in the set.
    pub count: u64,
}

#[cfg(test)]
mod tests;
