//! The gate's data model on the host side: withdrawals in, decisions out.
//! These mirror the WIT records and are what the JSON interfaces carry.

/// Default largest distance between a withdrawal's requested-at and the
/// host's clock.
pub const DEFAULT_MAX_CLOCK_SKEW: std::time::Duration = std::time::Duration::from_secs(300);

use serde::{Deserialize, Deserializer, Serialize};

/// Input caps checked before anything crosses into a guest.
pub mod caps {
    /// Maximum bytes of `id`.
    pub const ID: usize = 128;
    /// Maximum bytes of `account`.
    pub const ACCOUNT: usize = 128;
    /// Maximum bytes of `asset`.
    pub const ASSET: usize = 32;
    /// Maximum bytes of `chain`.
    pub const CHAIN: usize = 32;
    /// Maximum bytes of `destination`.
    pub const DESTINATION: usize = 256;
    /// Earliest `requested_at` accepted: 2009-01-01T00:00:00Z, in ms.
    pub const REQUESTED_AT_MIN: u64 = 1_230_768_000_000;
    /// Latest `requested_at` accepted: 2100-01-01T00:00:00Z, in ms.
    pub const REQUESTED_AT_MAX: u64 = 4_102_444_800_000;
}

/// A withdrawal request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Withdrawal {
    /// The exchange's idempotency key.
    pub id: String,
    pub account: String,
    pub asset: String,
    /// Lowercase chain name (`ethereum`, `bitcoin`, `tron`, ...).
    pub chain: String,
    /// Destination as the user typed it.
    pub destination: String,
    /// Amount in minor units; JSON integer or a string of decimal digits.
    #[serde(deserialize_with = "minor_units")]
    pub amount: u64,
    /// Decimals of the asset (0 when not supplied).
    #[serde(default)]
    pub decimals: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_cents: Option<u64>,
    /// ms since the Unix epoch.
    pub requested_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_created_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_changed_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_first_used_at: Option<u64>,
}

fn minor_units<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Amount {
        Int(u64),
        Text(String),
        Other(serde_json::Value),
    }
    match Amount::deserialize(d)? {
        Amount::Int(n) => Ok(n),
        Amount::Text(s) => parse_minor_units(&s).map_err(serde::de::Error::custom),
        Amount::Other(v) => Err(serde::de::Error::custom(format!(
            "amount must be a non-negative integer of minor units (or a string of digits), got {v}"
        ))),
    }
}

/// A string amount that is not minor units.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount `{0}` must be a non-negative integer of minor units written with digits only")]
    NotDigits(String),
    #[error("amount `{0}` does not fit in 64 bits of minor units")]
    TooLarge(String),
}

/// Parses a string of decimal digits as minor units.
pub fn parse_minor_units(s: &str) -> Result<u64, AmountError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AmountError::NotDigits(s.to_string()));
    }
    s.parse::<u64>()
        .map_err(|_| AmountError::TooLarge(s.to_string()))
}

impl Withdrawal {
    /// Checks the caps and basic well-formedness; the error names the field.
    pub fn validate(&self) -> Result<(), InputError> {
        let fields: [(&'static str, &str, usize); 5] = [
            ("id", &self.id, caps::ID),
            ("account", &self.account, caps::ACCOUNT),
            ("asset", &self.asset, caps::ASSET),
            ("chain", &self.chain, caps::CHAIN),
            ("destination", &self.destination, caps::DESTINATION),
        ];
        for (field, value, max) in fields {
            if value.is_empty() {
                return Err(InputError::Empty(field));
            }
            if value.len() > max {
                return Err(InputError::TooLong {
                    field,
                    len: value.len(),
                    max,
                });
            }
            // Pasted addresses often carry tabs or newlines (trimmed later);
            // any other control character is refused.
            if value
                .chars()
                .any(|c| c.is_control() && !c.is_ascii_whitespace())
            {
                return Err(InputError::ControlCharacter(field));
            }
        }
        if !(caps::REQUESTED_AT_MIN..=caps::REQUESTED_AT_MAX).contains(&self.requested_at) {
            return Err(InputError::RequestedAtOutOfRange(self.requested_at));
        }
        Ok(())
    }
}

/// A withdrawal that must not reach the policies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("field `{0}` is empty")]
    Empty(&'static str),
    #[error("field `{field}` is {len} bytes, more than the {max} allowed")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("field `{0}` contains a control character")]
    ControlCharacter(&'static str),
    #[error(
        "requested_at {0} is outside 2009-01-01..2100-01-01 (ms since the Unix epoch, {min}..={max})",
        min = caps::REQUESTED_AT_MIN,
        max = caps::REQUESTED_AT_MAX
    )]
    RequestedAtOutOfRange(u64),
}

/// A key given twice in one JSON object: `pointer` is the JSON pointer
/// (RFC 6901) of the second occurrence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("duplicate key `{key}` at `{pointer}`")]
pub struct DuplicateKey {
    pub key: String,
    pub pointer: String,
}

/// The first key repeated within one JSON object anywhere in `json` (top
/// level, nested objects, array elements), the check `serve` and `check`
/// run before reading a withdrawal: a JSON tree keeps the last of two equal
/// keys, so `"destination"` twice must never be decided on either. Text
/// that is not JSON gives `None` (the parser that follows reports it).
pub fn find_duplicate_key(json: &[u8]) -> Option<DuplicateKey> {
    use serde::de::DeserializeSeed;
    let mut found = None;
    let mut de = serde_json::Deserializer::from_slice(json);
    let _ = unique::Unique { found: &mut found }.deserialize(&mut de);
    found
}

mod unique {
    use super::DuplicateKey;
    use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::borrow::Cow;
    use std::fmt;

    /// One JSON value, its objects' keys checked for repeats; the first
    /// repeat is put in `found` and stops the walk (as an error), each
    /// enclosing level adding its part of the pointer on the way out (no
    /// path is kept while all is well).
    pub(super) struct Unique<'a> {
        pub found: &'a mut Option<DuplicateKey>,
    }

    impl Unique<'_> {
        fn child(&mut self) -> Unique<'_> {
            Unique { found: self.found }
        }

        /// On the way out of a repeat found below: `part` goes in front.
        fn prefix(&mut self, part: &str) {
            if let Some(d) = self.found.as_mut() {
                d.pointer.insert_str(0, &escape(part));
            }
        }
    }

    /// An object key, borrowed from the input when it holds no escape.
    struct Key<'de>(Cow<'de, str>);

    impl<'de> de::Deserialize<'de> for Key<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct KeyVisitor;
            impl<'de> Visitor<'de> for KeyVisitor {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("an object key")
                }
                fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Borrowed(v)))
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v.to_string())))
                }
                fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v)))
                }
            }
            d.deserialize_str(KeyVisitor)
        }
    }

    /// `part` as one step of a JSON pointer.
    fn escape(part: &str) -> String {
        format!("/{}", part.replace('~', "~0").replace('/', "~1"))
    }

    impl<'de> DeserializeSeed<'de> for Unique<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Unique<'_> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
            let mut i = 0usize;
            loop {
                match seq.next_element_seed(self.child()) {
                    Ok(Some(())) => i += 1,
                    Ok(None) => return Ok(()),
                    Err(e) => {
                        self.prefix(&i.to_string());
                        return Err(e);
                    }
                }
            }
        }
        fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
            let mut seen: Vec<Cow<'de, str>> = Vec::new();
            while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                if seen.contains(&key) {
                    *self.found = Some(DuplicateKey {
                        pointer: escape(&key),
                        key: key.into_owned(),
                    });
                    return Err(de::Error::custom("duplicate key"));
                }
                if let Err(e) = map.next_value_seed(self.child()) {
                    self.prefix(&key);
                    return Err(e);
                }
                seen.push(key);
            }
            Ok(())
        }
    }
}

/// allow | hold | deny, ordered by severity.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    #[default]
    Allow,
    Hold,
    Deny,
}

impl Verdict {
    /// As in JSON: `allow`, `hold` or `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Hold => "hold",
            Verdict::Deny => "deny",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The host's own reason codes (`gate.<what>`): the one set the WIT docs,
/// the decision log, the metrics and the README name. A policy's codes are
/// its own vocabulary (`<policy>.<what>`, free strings in [`Reason`]); the
/// `gate.` prefix is reserved for these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GateCode {
    /// The withdrawal failed validation (a cap, an empty field, a control
    /// character, requested-at out of range, a bad amount).
    BadInput,
    /// No enforced policy is loaded.
    NoPolicies,
    /// requested-at is too far from the gate's clock.
    ClockSkew,
    /// The id was already decided for a different withdrawal.
    IdempotencyConflict,
    /// A policy call used up its fuel.
    FuelExhausted,
    /// A policy call ran past the wall-clock backstop.
    DeadlineBackstop,
    /// A policy trapped, hit its memory cap or broke the contract.
    PolicyFault,
    /// A policy faulted after screening answered it a designated hit: DENY.
    DesignatedHit,
    /// A policy returned hold or deny without a reason.
    UnexplainedVerdict,
    /// The velocity store could not be read or written.
    VelocityUnavailable,
    /// The decision could not be written to the decision log (`serve`).
    LogUnavailable,
}

impl GateCode {
    /// The prefix every gate code has, and no policy code may have.
    pub const PREFIX: &'static str = "gate.";

    /// Every gate code.
    pub const ALL: [GateCode; 11] = [
        GateCode::BadInput,
        GateCode::NoPolicies,
        GateCode::ClockSkew,
        GateCode::IdempotencyConflict,
        GateCode::FuelExhausted,
        GateCode::DeadlineBackstop,
        GateCode::PolicyFault,
        GateCode::DesignatedHit,
        GateCode::UnexplainedVerdict,
        GateCode::VelocityUnavailable,
        GateCode::LogUnavailable,
    ];

    /// The codes a policy fault is counted under
    /// (`riskgate_policy_faults_total{reason}`).
    pub const FAULTS: [GateCode; 3] = [
        GateCode::FuelExhausted,
        GateCode::DeadlineBackstop,
        GateCode::PolicyFault,
    ];

    /// The code as in JSON, logs and metrics, e.g. `gate.fuel_exhausted`.
    pub const fn as_str(self) -> &'static str {
        match self {
            GateCode::BadInput => "gate.bad_input",
            GateCode::NoPolicies => "gate.no_policies",
            GateCode::ClockSkew => "gate.clock_skew",
            GateCode::IdempotencyConflict => "gate.idempotency_conflict",
            GateCode::FuelExhausted => "gate.fuel_exhausted",
            GateCode::DeadlineBackstop => "gate.deadline_backstop",
            GateCode::PolicyFault => "gate.policy_fault",
            GateCode::DesignatedHit => "gate.designated_hit",
            GateCode::UnexplainedVerdict => "gate.unexplained_verdict",
            GateCode::VelocityUnavailable => "gate.velocity_unavailable",
            GateCode::LogUnavailable => "gate.log_unavailable",
        }
    }

    /// The gate code spelt `code`, if any.
    pub fn parse(code: &str) -> Option<GateCode> {
        GateCode::ALL.into_iter().find(|c| c.as_str() == code)
    }

    /// Whether `code` has the gate's prefix (a known code or not).
    pub fn is_gate(code: &str) -> bool {
        code.starts_with(GateCode::PREFIX)
    }

    /// A reason with this code, given by the gate itself.
    pub fn reason(self, detail: impl Into<String>) -> Reason {
        Reason {
            code: self.as_str().to_string(),
            detail: detail.into(),
            policy: None,
        }
    }
}

impl std::fmt::Display for GateCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for GateCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for GateCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for GateCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Not a gate code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a gate reason code")]
pub struct UnknownGateCode(pub String);

impl std::str::FromStr for GateCode {
    type Err = UnknownGateCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GateCode::parse(s).ok_or_else(|| UnknownGateCode(s.to_string()))
    }
}

impl Serialize for GateCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for GateCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Why a decision is what it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reason {
    /// Machine code, `<policy>.<what>` or `gate.<what>` for the host's own.
    pub code: String,
    /// Human detail.
    pub detail: String,
    /// The policy that gave it (absent for the gate's own reasons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

/// A designated-set match backing a decision.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Hit {
    pub list: String,
    pub list_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Canonical form of the matched address.
    pub address: String,
}

/// The gate's answer for one withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub id: String,
    pub verdict: Verdict,
    pub reasons: Vec<Reason>,
    pub hits: Vec<Hit>,
    /// Wall time the gate spent on this decision.
    pub latency_ns: u64,
    /// True when this is the recorded decision for an id seen before.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
    /// A recorded HOLD's review: its state, who approved or rejected it and
    /// what its approval counted (absent on a fresh decision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Review>,
}

/// Where a held withdrawal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HoldState {
    /// Waiting for a reviewer.
    Pending,
    /// Approved (by as many distinct reviewers as required): paid, and
    /// counted in velocity from the approval on.
    Approved,
    /// Rejected: never paid, never counted.
    Rejected,
    /// Pending for longer than the review's expiry: never paid.
    Expired,
}

impl HoldState {
    /// Every state.
    pub const ALL: [HoldState; 4] = [
        HoldState::Pending,
        HoldState::Approved,
        HoldState::Rejected,
        HoldState::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HoldState::Pending => "pending",
            HoldState::Approved => "approved",
            HoldState::Rejected => "rejected",
            HoldState::Expired => "expired",
        }
    }

    /// Whether the hold is settled (no action changes it any more).
    pub fn is_final(self) -> bool {
        self != HoldState::Pending
    }
}

impl std::fmt::Display for HoldState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for HoldState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HoldState::ALL
            .into_iter()
            .find(|h| h.as_str() == s)
            .ok_or_else(|| {
                format!("`{s}` is not a hold state (pending, approved, rejected, expired)")
            })
    }
}

/// What a reviewer (or the expiry) did to a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewAction {
    Approve,
    Reject,
    /// The hold stayed pending past the expiry (reviewer `riskgate`).
    Expire,
}

impl ReviewAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewAction::Approve => "approve",
            ReviewAction::Reject => "reject",
            ReviewAction::Expire => "expire",
        }
    }
}

/// One review action on a hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewEntry {
    pub reviewer: String,
    pub action: ReviewAction,
    #[serde(default)]
    pub note: String,
    /// When, ms since the Unix epoch.
    pub at: u64,
}

/// A recorded HOLD's review (stored with the decision).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub state: HoldState,
    /// Distinct approvals that approve it (2 for four eyes).
    pub required: u32,
    /// The withdrawal's amount (minor units of its asset) and USD value,
    /// counted in velocity when it is approved.
    pub amount: u64,
    #[serde(default)]
    pub usd_cents: u64,
    /// Every action in order.
    #[serde(default)]
    pub entries: Vec<ReviewEntry>,
    /// When it left `pending`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<u64>,
    /// When its approval started counting in velocity (the approval time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted_at: Option<u64>,
}

impl Review {
    /// A pending review of a held withdrawal of `amount` worth `usd_cents`.
    pub fn pending(amount: u64, usd_cents: u64) -> Self {
        Review {
            state: HoldState::Pending,
            required: 1,
            amount,
            usd_cents,
            entries: Vec::new(),
            resolved_at: None,
            counted_at: None,
        }
    }

    /// The distinct reviewers who approved it, in order.
    pub fn approvers(&self) -> Vec<&str> {
        let mut seen: Vec<&str> = Vec::new();
        for e in &self.entries {
            if e.action == ReviewAction::Approve && !seen.contains(&e.reviewer.as_str()) {
                seen.push(&e.reviewer);
            }
        }
        seen
    }
}

impl Decision {
    /// An ALLOW with no reason yet: where a chain of checks starts.
    pub fn allow(id: &str) -> Self {
        Decision {
            id: id.to_string(),
            verdict: Verdict::Allow,
            reasons: Vec::new(),
            hits: Vec::new(),
            latency_ns: 0,
            replayed: false,
            review: None,
        }
    }

    /// A HOLD carrying one gate reason.
    pub fn gate_hold(id: &str, code: GateCode, detail: impl Into<String>) -> Self {
        Decision {
            id: id.to_string(),
            verdict: Verdict::Hold,
            reasons: vec![code.reason(detail)],
            hits: Vec::new(),
            latency_ns: 0,
            replayed: false,
            review: None,
        }
    }

    /// The decision without its timing, for comparisons and replay.
    pub fn without_timing(&self) -> Decision {
        Decision {
            latency_ns: 0,
            ..self.clone()
        }
    }

    /// Whether a `gate.*` fault reason is present.
    pub fn has_gate_reason(&self) -> bool {
        self.reasons.iter().any(|r| GateCode::is_gate(&r.code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_found_at_any_depth_and_pointed_at() {
        for (json, pointer) in [
            (r#"{"a":1,"b":2,"a":3}"#, Some("/a")),
            (r#"{"a":{"x":1,"y":{"z":1,"z":2}}}"#, Some("/a/y/z")),
            (r#"[{"a":1},{"b":1,"b":1}]"#, Some("/1/b")),
            (
                r#"{"withdrawals":[{"a":1}],"withdrawals":[]}"#,
                Some("/withdrawals"),
            ),
            (r#"{"a~b/c":1,"a~b/c":2}"#, Some("/a~0b~1c")),
            // Equal once unescaped.
            (
                r#"{"destination":1,"destin\u0061tion":2}"#,
                Some("/destination"),
            ),
            (r#"{"a":1,"b":{"a":2},"c":[{"a":3}]}"#, None),
            ("not json", None),
            ("", None),
        ] {
            assert_eq!(
                find_duplicate_key(json.as_bytes()).map(|d| d.pointer),
                pointer.map(str::to_string),
                "{json}"
            );
        }
    }

    #[test]
    fn requested_at_is_refused_outside_2009_to_2100() {
        let mut w: Withdrawal = serde_json::from_str(
            r#"{"id":"w","account":"a","asset":"ETH","chain":"ethereum",
            "destination":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","amount":"1",
            "requested_at":1795564800000}"#,
        )
        .unwrap();
        w.validate().unwrap();
        for bad in [
            0,
            caps::REQUESTED_AT_MIN - 1,
            caps::REQUESTED_AT_MAX + 1,
            u64::MAX,
        ] {
            w.requested_at = bad;
            assert_eq!(w.validate(), Err(InputError::RequestedAtOutOfRange(bad)));
        }
        for good in [caps::REQUESTED_AT_MIN, caps::REQUESTED_AT_MAX] {
            w.requested_at = good;
            w.validate().unwrap();
        }
    }
}
