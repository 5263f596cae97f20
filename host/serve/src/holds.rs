//! The review of holds over HTTP: `GET /v1/holds`, `GET /v1/holds/{id}`,
//! `POST /v1/holds/{id}/approve` and `/reject` (a reviewer's bearer
//! token), and the review page `GET /review`.
//!
//! A HOLD as answered is `riskgate::Hold` plus `windows`, the account's
//! count and USD value over one hour, a day and seven days
//! ([`riskgate::Gate::account_windows`]) at the time of the request; an
//! action's answer adds `changed`. Every action that changed a hold is in
//! the decision log (a `resolution` record) before it is answered.

use std::sync::Arc;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use riskgate::model::{HoldState, ReviewAction};
use riskgate::review::{AccountWindow, MAX_NOTE_BYTES, check_hold_id};
use riskgate::velocity::HoldQuery;
use riskgate::{Hold, Resolution, ResolveError};
use serde::{Deserialize, Serialize};

use crate::service::{Generation, ResolutionError, Service};
use crate::{BodyReadTimeout, Problem, read_body, with_generation};

/// Largest body of an approve or reject.
pub const MAX_ACTION_BODY: usize = 16 << 10;
/// Holds listed when the query gives no `limit`.
pub const DEFAULT_LIMIT: usize = 100;
/// Most holds one listing answers.
pub const MAX_LIMIT: usize = 1000;
/// Longest `reason` prefix of a listing (a reason code's cap).
pub const MAX_REASON_PREFIX: usize = 64;

/// A refusal: the problem document answered instead (boxed: a response
/// is large, and most calls succeed).
pub(crate) struct Refused(Box<Response>);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl From<Response> for Refused {
    fn from(r: Response) -> Self {
        Refused(Box::new(r))
    }
}

/// A hold as answered.
#[derive(Serialize)]
struct HoldView<'a> {
    #[serde(flatten)]
    hold: &'a Hold,
    windows: &'a [AccountWindow],
    #[serde(skip_serializing_if = "Option::is_none")]
    changed: Option<bool>,
}

fn json_response(g: &Generation, value: &impl Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => with_generation(
            ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
            g.number,
        ),
        Err(e) => Problem::internal(e).into_response(),
    }
}

fn unauthorized(detail: impl Into<String>) -> Refused {
    let mut p = Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail).into_response();
    p.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"riskgate-review\""),
    );
    p.into()
}

/// The bearer token of a request, if it carries one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        })
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty())
}

/// Reading holds: a reviewer's token or the admin token.
fn may_read(service: &Service, g: &Generation, headers: &HeaderMap) -> Result<(), Refused> {
    if g.reviewers.is_empty() && !service.admin_enabled() {
        return Err(unauthorized(
            "no reviewer ([[reviewer]]) and no admin token ([admin]) is configured: holds are not \
             served over HTTP",
        ));
    }
    match bearer(headers) {
        Some(t) if g.reviewers.who(t).is_some() || service.admin_allows(t) => Ok(()),
        Some(_) => Err(unauthorized(
            "the bearer token is not a reviewer's nor the admin's",
        )),
        None => Err(unauthorized(
            "holds need `Authorization: Bearer <token>` with a reviewer's token or the admin token",
        )),
    }
}

/// Acting on holds: a reviewer's token; the reviewer's name.
fn reviewer(service: &Service, g: &Generation, headers: &HeaderMap) -> Result<String, Refused> {
    if g.reviewers.is_empty() {
        return Err(unauthorized(
            "no reviewers are configured ([[reviewer]] with a token_file): holds are not approved \
             or rejected over HTTP",
        ));
    }
    match bearer(headers) {
        Some(t) => match g.reviewers.who(t) {
            Some(name) => Ok(name.to_string()),
            None if service.admin_allows(t) => Err(unauthorized(
                "the admin token does not approve or reject holds: use a reviewer's token",
            )),
            None => Err(unauthorized("the bearer token is not a reviewer's")),
        },
        None => Err(unauthorized(
            "approving or rejecting a hold needs `Authorization: Bearer <token>` with a reviewer's \
             token",
        )),
    }
}

fn bad_request(detail: impl Into<String>) -> Refused {
    Problem::new(StatusCode::BAD_REQUEST, "Bad Request", detail)
        .into_response()
        .into()
}

/// A hold id from the path: percent-decoded UTF-8, 1 to 128 bytes, no
/// control character.
fn hold_id(id: Result<Path<String>, PathRejection>) -> Result<String, Refused> {
    let Path(id) = id.map_err(|e| bad_request(format!("the hold id: {}", e.body_text())))?;
    check_hold_id(&id).map_err(|e| bad_request(e.to_string()))?;
    Ok(id)
}

/// The problem document of a failed read or action.
fn problem(e: ResolveError) -> Refused {
    let detail = e.to_string();
    let response = match e {
        ResolveError::UnknownId(id) => Problem::new(StatusCode::NOT_FOUND, "Not Found", detail)
            .with("id", id)
            .into_response(),
        ResolveError::NotAHold { id, verdict } => {
            Problem::new(StatusCode::CONFLICT, "Conflict", detail)
                .with("id", id)
                .with("verdict", verdict.as_str())
                .into_response()
        }
        ResolveError::Conflict { hold, action } => {
            Problem::new(StatusCode::CONFLICT, "Conflict", detail)
                .with("id", hold.id.clone())
                .with("state", hold.state.as_str())
                .with("action", action.as_str())
                .into_response()
        }
        ResolveError::NoReview(id) => Problem::new(StatusCode::CONFLICT, "Conflict", detail)
            .with("id", id)
            .into_response(),
        ResolveError::BadRequest(_) => return bad_request(detail),
        ResolveError::NoteTooLong { .. } => {
            Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "Content Too Large", detail).into_response()
        }
        ResolveError::Velocity(_) => return unavailable(detail),
    };
    response.into()
}

fn unavailable(detail: impl Into<String>) -> Refused {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Service Unavailable",
        detail,
    )
    .into_response()
    .into()
}

fn unfinished(e: impl std::fmt::Display) -> Refused {
    Problem::internal(e).into_response().into()
}

/// `GET /v1/holds`'s query, as given.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    state: Option<String>,
    reason: Option<String>,
    limit: Option<String>,
}

fn parse_query(q: ListQuery) -> Result<HoldQuery, Refused> {
    let state = match q.state.as_deref() {
        None | Some("pending") => Some(HoldState::Pending),
        Some("all") => None,
        Some(s) => Some(s.parse::<HoldState>().map_err(|_| {
            bad_request(format!(
                "`state={s}`: the state is pending (default), approved, rejected, expired or all"
            ))
        })?),
    };
    let limit = match q.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                bad_request(format!(
                    "`limit={text}`: the limit is 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"
                ))
            })?,
    };
    let reason_prefix = match q.reason {
        Some(r) if r.len() > MAX_REASON_PREFIX || r.chars().any(char::is_control) => {
            return Err(bad_request(format!(
                "`reason`: a reason-code prefix is at most {MAX_REASON_PREFIX} bytes without \
                 control characters"
            )));
        }
        Some(r) if r.is_empty() => None,
        r => r,
    };
    Ok(HoldQuery {
        state,
        reason_prefix,
        requested_before: None,
        limit,
    })
}

pub(crate) async fn list(
    State(service): State<Arc<Service>>,
    query: Result<Query<ListQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let g = service.current();
    may_read(&service, &g, &headers)?;
    let Query(query) = query.map_err(|e| {
        bad_request(format!(
            "{}; the query takes state=pending|approved|rejected|expired|all, reason=PREFIX, \
             limit=1..{MAX_LIMIT}",
            e.body_text()
        ))
    })?;
    let query = parse_query(query)?;
    let gate = g.clone();
    let listed = service
        .run(move |_| {
            let holds = gate.gate.holds(&query)?;
            let now = gate.gate.now();
            let mut out = Vec::with_capacity(holds.len());
            for hold in holds {
                let windows = gate.gate.account_windows(&hold, now)?;
                out.push((hold, windows));
            }
            Ok::<_, riskgate::velocity::VelocityError>(out)
        })
        .await
        .map_err(unfinished)?
        .map_err(|e| unavailable(e.to_string()))?;
    #[derive(Serialize)]
    struct Holds<'a> {
        holds: Vec<HoldView<'a>>,
    }
    let body = Holds {
        holds: listed
            .iter()
            .map(|(hold, windows)| HoldView {
                hold,
                windows,
                changed: None,
            })
            .collect(),
    };
    Ok(json_response(&g, &body))
}

pub(crate) async fn one(
    State(service): State<Arc<Service>>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let g = service.current();
    may_read(&service, &g, &headers)?;
    let id = hold_id(id)?;
    let gate = g.clone();
    let (hold, windows) = service
        .run(move |_| {
            let hold = gate.gate.hold(&id)?;
            let windows = gate.gate.account_windows(&hold, gate.gate.now())?;
            Ok::<_, ResolveError>((hold, windows))
        })
        .await
        .map_err(unfinished)?
        .map_err(problem)?;
    Ok(json_response(
        &g,
        &HoldView {
            hold: &hold,
            windows: &windows,
            changed: None,
        },
    ))
}

/// The body of an approve or reject: `{"note": "..."}`, or none.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    #[serde(default)]
    note: Option<String>,
}

fn parse_action_body(body: &[u8]) -> Result<String, Refused> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(String::new());
    }
    if let Some(d) = riskgate::model::find_duplicate_key(body) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "Bad Request",
            format!("the body repeats a key: {d}"),
        )
        .at(d.pointer)
        .into_response()
        .into());
    }
    let parsed: ActionBody = serde_json::from_slice(body).map_err(|e| {
        bad_request(format!(
            "the body is `{{\"note\": \"...\"}}` (or empty): {e}"
        ))
    })?;
    let note = parsed.note.unwrap_or_default();
    if note.len() > MAX_NOTE_BYTES {
        return Err(problem(ResolveError::NoteTooLong {
            len: note.len(),
            max: MAX_NOTE_BYTES,
        }));
    }
    Ok(note)
}

pub(crate) async fn approve(
    state: State<Arc<Service>>,
    timeout: Extension<BodyReadTimeout>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Refused> {
    act(state, timeout, id, headers, body, ReviewAction::Approve).await
}

pub(crate) async fn reject(
    state: State<Arc<Service>>,
    timeout: Extension<BodyReadTimeout>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Refused> {
    act(state, timeout, id, headers, body, ReviewAction::Reject).await
}

async fn act(
    State(service): State<Arc<Service>>,
    Extension(BodyReadTimeout(timeout)): Extension<BodyReadTimeout>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
    action: ReviewAction,
) -> Result<Response, Refused> {
    let g = service.current();
    let name = reviewer(&service, &g, &headers)?;
    let id = hold_id(id)?;
    let body = read_body(&headers, body, timeout, MAX_ACTION_BODY).await?;
    let note = parse_action_body(&body)?;
    let resolution = Resolution {
        action,
        reviewer: name,
        note,
    };
    let resolved = match service.resolve_async(g.clone(), id, resolution).await {
        Ok(r) => r,
        Err(ResolutionError::Resolve(e)) => return Err(problem(e)),
        Err(e @ ResolutionError::Unlogged { .. }) => {
            let ResolutionError::Unlogged { resolved, .. } = &e else {
                unreachable!()
            };
            return Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable",
                e.to_string(),
            )
            .with("id", resolved.hold.id.clone())
            .with("state", resolved.hold.state.as_str())
            .into_response()
            .into());
        }
        Err(e @ ResolutionError::Join(_)) => return Err(unfinished(e)),
    };
    // The action is done; windows the store cannot answer now are left out
    // rather than failing an answer whose action stands.
    let gate = g.clone();
    let hold = resolved.hold.clone();
    let windows = service
        .run(move |_| gate.gate.account_windows(&hold, gate.gate.now()))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    Ok(json_response(
        &g,
        &HoldView {
            hold: &resolved.hold,
            windows: &windows,
            changed: Some(resolved.changed),
        },
    ))
}

/// The review page: one self-contained file, no external resource.
pub const PAGE: &str = include_str!("review.html");

/// The Content-Security-Policy of the page: nothing but its own inline
/// script and style (by their sha256) and requests to this origin.
pub fn page_csp() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        let script = inline(PAGE, "script");
        let style = inline(PAGE, "style");
        format!(
            "default-src 'none'; script-src '{}'; style-src '{}'; connect-src 'self'; \
             img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            csp_hash(script),
            csp_hash(style)
        )
    })
}

/// The text of the page's one inline `<tag>` element.
fn inline<'a>(page: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = page.find(&open).map(|i| i + open.len());
    let end = page.find(&close);
    match (start, end) {
        (Some(s), Some(e)) if s <= e => &page[s..e],
        _ => "",
    }
}

/// `sha256-BASE64` of `text`, as CSP names an inline element.
pub fn csp_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::from("sha256-");
    for chunk in digest.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub(crate) async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, page_csp()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PAGE,
    )
        .into_response()
}

#[cfg(test)]
mod tests;
