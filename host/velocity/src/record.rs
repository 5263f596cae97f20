//! The record of one decision (or release), as the durable log stores it
//! and as the in-memory index keeps it: postcard-encoded, borrowed when
//! decoded, so neither recovery nor the index allocates per field.

use serde::{Deserialize, Serialize};

use super::{Contribution, KeyParts, Recorded};
use riskgate_model::{Decision, Hit, Reason, Review, Verdict};

/// What a withdrawal's keys are made of, borrowed.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) struct PartsRef<'a> {
    pub account: &'a str,
    pub asset: &'a str,
    pub chain: &'a str,
    pub destination: &'a str,
}

impl<'a> PartsRef<'a> {
    pub fn of(parts: &'a KeyParts) -> Self {
        PartsRef {
            account: &parts.account,
            asset: &parts.asset,
            chain: &parts.chain,
            destination: &parts.destination,
        }
    }

    pub fn to_owned(self) -> KeyParts {
        KeyParts {
            account: self.account.into(),
            asset: self.asset.into(),
            chain: self.chain.into(),
            destination: self.destination.into(),
        }
    }
}

/// A decision and, for an ALLOW, its contribution.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Decided<'a> {
    pub id: &'a str,
    pub fingerprint: [u8; 32],
    pub requested_at: u64,
    #[serde(borrow)]
    pub parts: PartsRef<'a>,
    pub contribution: Option<Contribution>,
    /// The decision as JSON (self-describing, so the model may grow).
    pub decision: &'a str,
}

/// One log record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) enum LogRecord<'a> {
    #[serde(borrow)]
    Decided(Decided<'a>),
    /// A release written before releases carried their contribution (read
    /// only: replay finds the contribution from the decision it releases).
    Released { id: &'a str, requested_at: u64 },
    /// A release with the contribution it takes back, so a replay from a
    /// checkpoint can remove it from keys whose decision is long gone.
    Withdrawn {
        id: &'a str,
        requested_at: u64,
        #[serde(borrow)]
        parts: PartsRef<'a>,
        contribution: Option<Contribution>,
    },
}

/// A velocity record or recorded decision that cannot be encoded, decoded
/// or indexed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot encode a velocity record: {0}")]
    Encode(postcard::Error),
    #[error("undecodable velocity record: {0}")]
    Decode(postcard::Error),
    #[error("cannot encode a decision: {0}")]
    EncodeDecision(serde_json::Error),
    #[error("undecodable decision of `{id}`: {error}")]
    DecodeDecision {
        id: String,
        error: serde_json::Error,
    },
    #[error("a stored decision is a release record")]
    NotADecision,
    #[error("a recorded decision's bytes are missing")]
    MissingBytes,
    #[error("a record's id moved")]
    IdMoved,
    #[error("too many records in one segment")]
    TooManyRecords,
    #[error(
        "withdrawal id `{0}` shares its 128-bit index hash with another recorded id; \
         restart the store (the hash key is drawn anew)"
    )]
    HashCollision(String),
    #[error("over 4 GiB of decisions recorded in one hour")]
    HourFull,
}

impl From<RecordError> for crate::VelocityError {
    fn from(e: RecordError) -> Self {
        crate::VelocityError::Unavailable(e.to_string())
    }
}

impl LogRecord<'_> {
    pub fn encode(&self) -> Result<Vec<u8>, RecordError> {
        // Sized for a typical record at once rather than grown piece by piece.
        postcard::to_extend(self, Vec::with_capacity(256)).map_err(RecordError::Encode)
    }

    pub fn requested_at(&self) -> u64 {
        match self {
            LogRecord::Decided(d) => d.requested_at,
            LogRecord::Released { requested_at, .. }
            | LogRecord::Withdrawn { requested_at, .. } => *requested_at,
        }
    }
}

/// Decodes a record (borrowing from `bytes`).
pub(super) fn decode(bytes: &[u8]) -> Result<LogRecord<'_>, RecordError> {
    postcard::from_bytes(bytes).map_err(RecordError::Decode)
}

/// A decision without its id and timing (the record carries the id).
#[derive(Serialize)]
struct BodyRef<'a> {
    verdict: Verdict,
    reasons: &'a [Reason],
    hits: &'a [Hit],
    #[serde(skip_serializing_if = "Option::is_none")]
    review: Option<&'a Review>,
}

#[derive(Deserialize)]
struct Body {
    verdict: Verdict,
    reasons: Vec<Reason>,
    hits: Vec<Hit>,
    #[serde(default)]
    review: Option<Review>,
}

/// The JSON a record stores for `decision`.
pub(super) fn decision_json(decision: &Decision) -> Result<String, RecordError> {
    serde_json::to_string(&BodyRef {
        verdict: decision.verdict,
        reasons: &decision.reasons,
        hits: &decision.hits,
        review: decision.review.as_ref(),
    })
    .map_err(RecordError::EncodeDecision)
}

/// Decodes a stored `Decided` record into its owned form.
pub(super) fn to_recorded(bytes: &[u8]) -> Result<Recorded, RecordError> {
    let LogRecord::Decided(d) = decode(bytes)? else {
        return Err(RecordError::NotADecision);
    };
    let body: Body =
        serde_json::from_str(d.decision).map_err(|error| RecordError::DecodeDecision {
            id: d.id.to_string(),
            error,
        })?;
    Ok(Recorded {
        fingerprint: d.fingerprint,
        decision: Decision {
            id: d.id.to_string(),
            verdict: body.verdict,
            reasons: body.reasons,
            hits: body.hits,
            latency_ns: 0,
            replayed: false,
            review: body.review,
        },
        requested_at: d.requested_at,
        contribution: d.contribution,
        parts: d.parts.to_owned(),
    })
}
