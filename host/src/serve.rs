//! `riskgate serve`: the gate as an HTTP JSON service (axum on tokio).
//!
//! Every evaluation runs [`Gate::evaluate`], the same path as `riskgate
//! check`, on tokio's blocking pool (a durable velocity store syncs its log
//! before a decision returns). Client mistakes are answered with RFC 9457
//! problem documents (`application/problem+json`): 400 naming the JSON
//! pointer of the bad field, 413 for a body over [`MAX_BODY`], 415 for a
//! body that is not `application/json`; nothing a client sends is a 500.
//!
//! Endpoints: `POST /v1/evaluate` (one withdrawal, an array of them, or
//! `{"withdrawals": [...]}`), `POST /v1/withdrawals/{id}/release`,
//! `GET /v1/policies`, `GET /v1/lists`, `GET /healthz`, `GET /readyz`.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::velocity::VelocityError;
use crate::{Decision, Gate, Withdrawal};

/// Largest request body accepted, in bytes.
pub const MAX_BODY: usize = 1 << 20;
/// Most withdrawals in one batch.
pub const MAX_BATCH: usize = 1000;

/// An RFC 9457 problem document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: StatusCode,
    pub title: &'static str,
    pub detail: String,
    /// JSON pointer of the offending part of the request, if any.
    pub pointer: Option<String>,
}

impl Problem {
    fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            status,
            title,
            detail: detail.into(),
            pointer: None,
        }
    }

    /// A fault of the server itself (never a client's mistake).
    fn internal(e: impl std::fmt::Display) -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            e.to_string(),
        )
    }

    fn at(mut self, pointer: String) -> Self {
        self.pointer = Some(pointer);
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": "about:blank",
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Some(pointer) = self.pointer {
            body["pointer"] = Value::String(pointer);
        }
        (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}

/// The routes over `gate`.
pub fn router(gate: Arc<Gate>) -> Router {
    Router::new()
        .route("/v1/evaluate", post(evaluate))
        .route("/v1/withdrawals/{id}/release", post(release))
        .route("/v1/policies", get(policies))
        .route("/v1/lists", get(lists))
        .route(
            "/healthz",
            get(|| async { axum::Json(json!({"status": "ok"})) }),
        )
        .route("/readyz", get(ready))
        .fallback(|| async { Problem::new(StatusCode::NOT_FOUND, "Not Found", "no such endpoint") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(gate)
}

/// Serves `router(gate)` on `listener` until `shutdown` completes (then
/// finishes the requests in flight).
pub async fn run(
    listener: tokio::net::TcpListener,
    gate: Arc<Gate>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(gate))
        .with_graceful_shutdown(shutdown)
        .await
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case("application/json")
                || (mime.len() > 5 && mime[mime.len() - 5..].eq_ignore_ascii_case("+json"))
        })
}

/// The withdrawals of an evaluate body, and whether it was a batch.
pub fn parse_body(body: &[u8]) -> Result<(Vec<Withdrawal>, bool), Problem> {
    let bad = |detail: String| Problem::new(StatusCode::BAD_REQUEST, "Bad Request", detail);
    let value: Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    let (items, pointer, batch) = match value {
        Value::Array(items) => (items, String::new(), true),
        Value::Object(mut map) if map.contains_key("withdrawals") => {
            match map.remove("withdrawals") {
                Some(Value::Array(items)) => (items, "/withdrawals".to_string(), true),
                _ => {
                    return Err(
                        bad("`withdrawals` must be an array".into()).at("/withdrawals".into())
                    );
                }
            }
        }
        single @ Value::Object(_) => (vec![single], String::new(), false),
        _ => {
            return Err(bad(
                "expected a withdrawal object or an array of them".into()
            ));
        }
    };
    if batch && items.is_empty() {
        return Err(bad("a batch holds at least one withdrawal".into()).at(pointer));
    }
    if items.len() > MAX_BATCH {
        return Err(bad(format!("a batch holds at most {MAX_BATCH} withdrawals")).at(pointer));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let at = if batch {
            format!("{pointer}/{i}")
        } else {
            String::new()
        };
        match serde_json::from_value::<Withdrawal>(item) {
            Ok(w) => out.push(w),
            Err(e) => {
                let text = e.to_string();
                // serde names the field in backticks: point at it.
                let field = text.split('`').nth(1).filter(|f| {
                    !f.is_empty() && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
                let pointer = match field {
                    Some(f) => format!("{at}/{f}"),
                    None => at,
                };
                return Err(bad(format!("withdrawal: {text}")).at(pointer));
            }
        }
    }
    Ok((out, batch))
}

async fn evaluate(
    State(gate): State<Arc<Gate>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    if !is_json(&headers) {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type",
            "send the withdrawal as application/json",
        ));
    }
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Content Too Large",
                format!("the body is over {MAX_BODY} bytes"),
            )
        } else {
            Problem::new(StatusCode::BAD_REQUEST, "Bad Request", e.body_text())
        }
    })?;
    let (withdrawals, batch) = parse_body(&body)?;
    let decisions: Vec<Decision> =
        tokio::task::spawn_blocking(move || withdrawals.iter().map(|w| gate.evaluate(w)).collect())
            .await
            .map_err(|e| {
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                    format!("the evaluation did not finish: {e}"),
                )
            })?;
    let body = if batch {
        serde_json::to_string(&json!({ "decisions": decisions }))
    } else {
        serde_json::to_string(&decisions[0])
    }
    .map_err(Problem::internal)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn release(
    State(gate): State<Arc<Gate>>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    if id.is_empty() || id.len() > crate::model::caps::ID {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "Bad Request",
            format!("a withdrawal id is 1 to {} bytes", crate::model::caps::ID),
        ));
    }
    let released = tokio::task::spawn_blocking(move || gate.velocity().release(&id))
        .await
        .map_err(Problem::internal)?;
    match released {
        Ok(r) => Ok(axum::Json(r).into_response()),
        Err(e @ VelocityError::UnknownId(_)) => Err(Problem::new(
            StatusCode::NOT_FOUND,
            "Not Found",
            e.to_string(),
        )),
        Err(e) => Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            e.to_string(),
        )),
    }
}

async fn policies(State(gate): State<Arc<Gate>>) -> Response {
    let list: Vec<Value> = gate
        .policies()
        .iter()
        .map(|p| {
            json!({
                "name": p.name(),
                "version": p.version(),
                "sha256": hex::encode(p.sha256()),
                "origin": p.origin(),
                "world": "riskgate:policy/gate-policy@0.1.0",
            })
        })
        .collect();
    axum::Json(json!({ "policies": list })).into_response()
}

async fn lists(State(gate): State<Arc<Gate>>) -> Response {
    let screener = gate.screener();
    let list: Vec<Value> = screener
        .sets()
        .map(|s| {
            json!({
                "name": s.name(),
                "version": s.version(),
                "source": s.source(),
                "count": s.len(),
            })
        })
        .collect();
    axum::Json(json!({ "lists": list })).into_response()
}

async fn ready(State(gate): State<Arc<Gate>>) -> Response {
    if gate.policies().is_empty() {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            "no policy is loaded",
        )
        .into_response()
    } else {
        axum::Json(json!({"status": "ready"})).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_parse_as_one_withdrawal_or_a_batch_and_bad_fields_are_pointed_at() {
        let w = r#"{"id":"w1","account":"a","asset":"ETH","chain":"ethereum",
            "destination":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","amount":"1",
            "decimals":18,"requested_at":1795564800000}"#;
        let (one, batch) = parse_body(w.as_bytes()).unwrap();
        assert_eq!((one.len(), batch), (1, false));
        let (two, batch) = parse_body(format!("[{w},{w}]").as_bytes()).unwrap();
        assert_eq!((two.len(), batch), (2, true));
        let (two, _) = parse_body(format!(r#"{{"withdrawals":[{w},{w}]}}"#).as_bytes()).unwrap();
        assert_eq!(two.len(), 2);
        let missing = w.replace(r#""account":"a","#, "");
        let p = parse_body(format!("[{w},{missing}]").as_bytes()).unwrap_err();
        assert_eq!(p.status, StatusCode::BAD_REQUEST);
        assert_eq!(p.pointer.as_deref(), Some("/1/account"), "{p:?}");
        for bad in ["", "nope", "3", "[]", r#"{"withdrawals":3}"#] {
            let p = parse_body(bad.as_bytes()).unwrap_err();
            assert_eq!(p.status, StatusCode::BAD_REQUEST, "{bad}");
        }
    }
}
