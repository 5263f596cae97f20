//! Holds after the verdict: the review queue, approve and reject (four
//! eyes where configured), expiry.
//!
//! A HOLD is recorded in the velocity store with a pending
//! [`Review`](crate::model::Review) that carries the withdrawal's amount
//! and USD value. Each review action rewrites that record under the
//! withdrawal's key locks ([`Velocity::with_recorded`]); the approval that
//! settles a hold writes, in the same record, its contribution to every
//! window of the withdrawal's keys from the approval time on. One record:
//! a crash keeps both or neither.

use crate::gate::Gate;
use crate::model::{Decision, HoldState, Reason, Review, ReviewAction, ReviewEntry, Verdict};
use crate::velocity::{
    HoldQuery, KeyParts, Recorded, Scope, VelocityError, WindowStats, hold_state,
};
use serde::Serialize;
use std::time::Duration;

/// Longest note a reviewer may write, in bytes.
pub const MAX_NOTE_BYTES: usize = 2048;
/// Longest reviewer name, in bytes.
pub const MAX_REVIEWER_BYTES: usize = 64;
/// The reviewer named on an expiry.
pub const EXPIRY_REVIEWER: &str = "riskgate";
/// The account windows shown beside a hold: one hour, one day, seven days.
pub const ACCOUNT_WINDOWS_MS: [u64; 3] = [3_600_000, 86_400_000, 7 * 86_400_000];

/// How holds are reviewed (the `[review]` table of serve's config).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewPolicy {
    /// Distinct approvals a hold needs when one of its reasons' codes
    /// starts with the prefix; the largest that applies wins, 1 when none.
    pub approvals_required: Vec<(String, u32)>,
    /// A hold pending for longer than this (since its requested-at) expires.
    pub expire_after: Option<Duration>,
}

impl ReviewPolicy {
    /// The approvals a hold with `reasons` needs.
    pub fn required(&self, reasons: &[Reason]) -> u32 {
        self.approvals_required
            .iter()
            .filter(|(prefix, _)| reasons.iter().any(|r| r.code.starts_with(prefix.as_str())))
            .map(|&(_, n)| n)
            .max()
            .unwrap_or(1)
            .max(1)
    }

    /// When a hold requested at `requested_at` expires, if it does.
    pub fn expires_at(&self, requested_at: u64) -> Option<u64> {
        self.expire_after
            .map(|d| requested_at.saturating_add(d.as_millis().min(u128::from(u64::MAX)) as u64))
    }
}

/// A reviewer's action on a hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// Approve or reject (an expiry is the gate's own).
    pub action: ReviewAction,
    pub reviewer: String,
    pub note: String,
}

impl Resolution {
    pub fn approve(reviewer: &str, note: &str) -> Self {
        Resolution {
            action: ReviewAction::Approve,
            reviewer: reviewer.into(),
            note: note.into(),
        }
    }

    pub fn reject(reviewer: &str, note: &str) -> Self {
        Resolution {
            action: ReviewAction::Reject,
            reviewer: reviewer.into(),
            note: note.into(),
        }
    }
}

/// A recorded HOLD as a reviewer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hold {
    pub id: String,
    pub state: HoldState,
    pub requested_at: u64,
    pub account: String,
    pub asset: String,
    pub chain: String,
    /// The canonical destination (or the text given, when it does not parse).
    pub destination: String,
    /// The recorded decision, its review included.
    pub decision: Decision,
    /// When it expires while pending (with a configured expiry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

impl Hold {
    fn of(r: Recorded, policy: &ReviewPolicy) -> Option<Hold> {
        let state = hold_state(&r.decision)?;
        let KeyParts {
            account,
            asset,
            chain,
            destination,
        } = r.parts;
        let mut decision = r.decision;
        decision.replayed = false;
        Some(Hold {
            id: decision.id.clone(),
            state,
            requested_at: r.requested_at,
            account,
            asset,
            chain,
            destination,
            expires_at: (state == HoldState::Pending)
                .then(|| policy.expires_at(r.requested_at))
                .flatten(),
            decision,
        })
    }

    /// The review (a hold always has one once recorded by this version).
    pub fn review(&self) -> Option<&Review> {
        self.decision.review.as_ref()
    }

    /// The last action taken on it.
    pub fn last_entry(&self) -> Option<&ReviewEntry> {
        self.review().and_then(|r| r.entries.last())
    }
}

/// What a review action did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// The hold as it stands after the action.
    pub hold: Hold,
    /// Whether the action changed it (false: the same action again, or a
    /// reviewer approving twice).
    pub changed: bool,
}

/// The account's windows beside a hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountWindow {
    pub window_ms: u64,
    pub count: u64,
    pub usd_cents: u64,
}

/// Why a hold could not be read or resolved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResolveError {
    #[error("no decision is recorded for withdrawal id `{0}`")]
    UnknownId(String),
    #[error("withdrawal `{id}` was decided {verdict}: only a HOLD is reviewed")]
    NotAHold { id: String, verdict: Verdict },
    #[error("hold `{}` is {}: it cannot be {} now", hold.id, hold.state, past(*action))]
    Conflict {
        /// The hold as it stands.
        hold: Box<Hold>,
        action: ReviewAction,
    },
    #[error(
        "hold `{0}` was recorded without a review (an earlier version): it cannot be approved here"
    )]
    NoReview(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("the note is {len} bytes, over the {max} allowed")]
    NoteTooLong { len: usize, max: usize },
    #[error(transparent)]
    Velocity(#[from] VelocityError),
}

/// `approved`, `rejected`, `expired`.
fn past(action: ReviewAction) -> &'static str {
    match action {
        ReviewAction::Approve => "approved",
        ReviewAction::Reject => "rejected",
        ReviewAction::Expire => "expired",
    }
}

/// Checks a hold id as given in a request: 1 to `caps::ID` bytes, no
/// control character.
pub fn check_hold_id(id: &str) -> Result<(), ResolveError> {
    let max = crate::model::caps::ID;
    if id.is_empty() || id.len() > max || id.chars().any(char::is_control) {
        return Err(ResolveError::BadRequest(format!(
            "a hold id is 1 to {max} bytes without control characters"
        )));
    }
    Ok(())
}

/// Checks a reviewer's name: 1 to [`MAX_REVIEWER_BYTES`] bytes of letters,
/// digits, `.`, `_`, `-`, `@`.
pub fn check_reviewer(name: &str) -> Result<(), ResolveError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_REVIEWER_BYTES
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ResolveError::BadRequest(format!(
            "reviewer name {name:?} must be 1 to {MAX_REVIEWER_BYTES} letters, digits, `.`, `_`, `-` or `@`"
        )))
    }
}

impl Gate {
    /// How holds are reviewed.
    pub fn review_policy(&self) -> &ReviewPolicy {
        &self.review
    }

    /// The recorded HOLD `id`.
    pub fn hold(&self, id: &str) -> Result<Hold, ResolveError> {
        check_hold_id(id)?;
        let r = self
            .velocity()
            .store()
            .recorded(id)?
            .ok_or_else(|| ResolveError::UnknownId(id.to_string()))?;
        let verdict = r.decision.verdict;
        Hold::of(r, &self.review).ok_or_else(|| ResolveError::NotAHold {
            id: id.to_string(),
            verdict,
        })
    }

    /// The recorded HOLDs `query` selects, oldest first.
    pub fn holds(&self, query: &HoldQuery) -> Result<Vec<Hold>, VelocityError> {
        Ok(self
            .velocity()
            .store()
            .holds(query)?
            .into_iter()
            .filter_map(|r| Hold::of(r, &self.review))
            .collect())
    }

    /// The account's count and USD value over [`ACCOUNT_WINDOWS_MS`] at `t`
    /// (windows the store cannot answer, older than its history, left out).
    pub fn account_windows(
        &self,
        hold: &Hold,
        t: u64,
    ) -> Result<Vec<AccountWindow>, VelocityError> {
        let keys = crate::velocity::Keys::from_parts(KeyParts {
            account: hold.account.clone(),
            asset: hold.asset.clone(),
            chain: hold.chain.clone(),
            destination: hold.destination.clone(),
        });
        let store = self.velocity().store();
        let mut out = Vec::new();
        for window_ms in ACCOUNT_WINDOWS_MS {
            match store.window(keys.get(Scope::Account), keys.asset(), t, window_ms) {
                Ok(WindowStats {
                    count, usd_cents, ..
                }) => out.push(AccountWindow {
                    window_ms,
                    count,
                    usd_cents,
                }),
                Err(e) if e.is_unavailable() => return Err(e),
                Err(_) => {}
            }
        }
        Ok(out)
    }

    /// Approves or rejects hold `id` now (the host clock).
    pub fn resolve(&self, id: &str, resolution: &Resolution) -> Result<Resolved, ResolveError> {
        self.resolve_at(id, resolution, self.now())
    }

    /// Approves or rejects hold `id` at `now` (ms). Approving counts the
    /// withdrawal in velocity from `now` once as many distinct reviewers
    /// as required approved it, in the same record as the approval. The
    /// same action again (by the same reviewer, or on a hold it already
    /// settled) returns the hold unchanged; an action against a settled
    /// hold is [`ResolveError::Conflict`]; a pending hold past its expiry
    /// is expired first (and the action is a conflict).
    pub fn resolve_at(
        &self,
        id: &str,
        resolution: &Resolution,
        now: u64,
    ) -> Result<Resolved, ResolveError> {
        check_hold_id(id)?;
        check_reviewer(&resolution.reviewer)?;
        if resolution.note.len() > MAX_NOTE_BYTES {
            return Err(ResolveError::NoteTooLong {
                len: resolution.note.len(),
                max: MAX_NOTE_BYTES,
            });
        }
        if resolution.action == ReviewAction::Expire {
            return Err(ResolveError::BadRequest(
                "a hold is approved or rejected; expiry is the gate's".into(),
            ));
        }
        self.act(id, resolution, now)
    }

    /// Expires every hold pending past the review's expiry at `now`: at
    /// most `limit`, oldest first. Returns the holds expired.
    pub fn expire_holds(&self, now: u64, limit: usize) -> Result<Vec<Hold>, ResolveError> {
        let Some(after) = self.review.expire_after else {
            return Ok(Vec::new());
        };
        let before = now
            .saturating_sub(after.as_millis().min(u128::from(u64::MAX)) as u64)
            .saturating_add(1);
        let due = self.velocity().store().holds(&HoldQuery {
            state: Some(HoldState::Pending),
            reason_prefix: None,
            requested_before: Some(before),
            limit,
        })?;
        let expire = Resolution {
            action: ReviewAction::Expire,
            reviewer: EXPIRY_REVIEWER.into(),
            note: String::new(),
        };
        let mut expired = Vec::new();
        for r in due {
            match self.act(&r.decision.id, &expire, now) {
                Ok(r) if r.changed => expired.push(r.hold),
                // Resolved or released meanwhile.
                Ok(_) | Err(ResolveError::UnknownId(_) | ResolveError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(expired)
    }

    fn act(&self, id: &str, resolution: &Resolution, now: u64) -> Result<Resolved, ResolveError> {
        let policy = &self.review;
        let result = self.velocity().with_recorded(id, |txn, recorded| {
            let Some(state) = hold_state(&recorded.decision) else {
                return Err(ResolveError::NotAHold {
                    id: id.to_string(),
                    verdict: recorded.decision.verdict,
                });
            };
            let mut decision = recorded.decision.clone();
            decision.replayed = false;
            decision.latency_ns = 0;
            let Some(mut review) = decision.review.take() else {
                return Err(ResolveError::NoReview(id.to_string()));
            };
            let action = resolution.action;
            let expired = state == HoldState::Pending
                && policy
                    .expires_at(recorded.requested_at)
                    .is_some_and(|at| now >= at);
            let entry = |action| ReviewEntry {
                reviewer: resolution.reviewer.clone(),
                action,
                note: resolution.note.clone(),
                at: now,
            };
            let unchanged = |d: Decision| {
                Hold::of(
                    Recorded {
                        decision: d,
                        ..recorded.clone()
                    },
                    policy,
                )
                .expect("a hold")
            };
            let mut counted = None;
            match (state, action) {
                (HoldState::Pending, _) if expired && action != ReviewAction::Expire => {
                    // Past its expiry: expired now, and the action refused.
                    review.entries.push(ReviewEntry {
                        reviewer: EXPIRY_REVIEWER.into(),
                        action: ReviewAction::Expire,
                        note: String::new(),
                        at: now,
                    });
                    review.state = HoldState::Expired;
                    review.resolved_at = Some(now);
                    decision.review = Some(review);
                    txn.resolve(&recorded, &decision, None)?;
                    return Err(ResolveError::Conflict {
                        hold: Box::new(unchanged(decision)),
                        action,
                    });
                }
                (HoldState::Pending, ReviewAction::Approve) => {
                    if review.approvers().contains(&resolution.reviewer.as_str()) {
                        // A reviewer approving twice counts once.
                        decision.review = Some(review);
                        return Ok(Resolved {
                            hold: unchanged(decision),
                            changed: false,
                        });
                    }
                    review.entries.push(entry(ReviewAction::Approve));
                    review.required = policy.required(&decision.reasons);
                    if review.approvers().len() as u64 >= u64::from(review.required) {
                        // Counted from the approval, never before the
                        // withdrawal's own time.
                        let at = now.max(recorded.requested_at);
                        review.state = HoldState::Approved;
                        review.resolved_at = Some(now);
                        review.counted_at = Some(at);
                        counted = Some((review.amount, review.usd_cents, at));
                    }
                }
                (HoldState::Pending, ReviewAction::Reject) => {
                    review.entries.push(entry(ReviewAction::Reject));
                    review.state = HoldState::Rejected;
                    review.resolved_at = Some(now);
                }
                (HoldState::Pending, ReviewAction::Expire) => {
                    review.entries.push(entry(ReviewAction::Expire));
                    review.state = HoldState::Expired;
                    review.resolved_at = Some(now);
                }
                (HoldState::Approved, ReviewAction::Approve)
                | (HoldState::Rejected, ReviewAction::Reject)
                | (HoldState::Expired, ReviewAction::Expire) => {
                    decision.review = Some(review);
                    return Ok(Resolved {
                        hold: unchanged(decision),
                        changed: false,
                    });
                }
                _ => {
                    decision.review = Some(review);
                    return Err(ResolveError::Conflict {
                        hold: Box::new(unchanged(decision)),
                        action,
                    });
                }
            }
            decision.review = Some(review);
            txn.resolve(&recorded, &decision, counted)?;
            Ok(Resolved {
                hold: unchanged(decision),
                changed: true,
            })
        });
        match result {
            Err(ResolveError::Velocity(VelocityError::UnknownId(id))) => {
                Err(ResolveError::UnknownId(id))
            }
            other => other,
        }
    }
}
