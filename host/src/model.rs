//! The gate's data model on the host side: withdrawals in, decisions out.
//! These mirror the WIT records and are what the JSON interfaces carry.

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

/// Parses a string of decimal digits as minor units.
pub fn parse_minor_units(s: &str) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "amount `{s}` must be a non-negative integer of minor units written with digits only"
        ));
    }
    s.parse::<u64>()
        .map_err(|_| format!("amount `{s}` does not fit in 64 bits of minor units"))
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
        }
    }

    /// A HOLD carrying one gate reason.
    pub fn gate_hold(id: &str, code: &str, detail: impl Into<String>) -> Self {
        Decision {
            id: id.to_string(),
            verdict: Verdict::Hold,
            reasons: vec![Reason {
                code: code.to_string(),
                detail: detail.into(),
                policy: None,
            }],
            hits: Vec::new(),
            latency_ns: 0,
            replayed: false,
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
        self.reasons.iter().any(|r| r.code.starts_with("gate."))
    }
}
