//! `riskgate serve`: the gate as an HTTP JSON service (axum routes on
//! hyper's HTTP/1 and tokio, behind the bounded edge of `server`).
//!
//! Every evaluation runs [`Gate::evaluate_deferred`](riskgate::Gate), the
//! path of `riskgate check` without its wait: on the async worker that read
//! the request with the in-memory or the durable velocity store (the
//! durable store's one sync for the request awaited, then the decision
//! log's batch), on tokio's blocking pool with Redis. The
//! API is described by `docs/openapi.json`.
//!
//! - `config`: the TOML configuration and building a gate from it.
//! - `service`: the generation served (swapped whole by a reload), the
//!   decision log records, metrics updates.
//! - `metrics`: the Prometheus metrics.
//! - `problem`: RFC 9457 problem documents and reading evaluate bodies.
//! - `holds`: the review of holds (list, read, approve, reject) and the
//!   review page.
//! - `server`: the accept loop, connection limit and timeouts, graceful
//!   shutdown with a grace period.
//! - `fault`: test hooks that crash the process at named points (crash
//!   tests only).

pub mod config;
pub mod decision_log;
pub mod fault;
pub mod holds;
pub mod metrics;
pub mod problem;
pub mod record;
pub mod server;
pub mod service;

use std::future::Future;
use std::sync::Arc;

use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, http};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::json;

pub use problem::{MAX_BATCH, MAX_BODY, Problem, parse_body};
pub use service::{Generation, ReloadReport, Service};

use riskgate::velocity::VelocityError;

/// The response header naming the generation that decided a request.
pub const GENERATION_HEADER: &str = "x-riskgate-generation";

/// The world the host serves (policies built against an earlier 0.1.x are served too).
pub const WORLD: &str = riskgate::inspect::WORLD;

/// How long a request body may take to arrive (`[server]`).
#[derive(Clone, Copy)]
pub(crate) struct BodyReadTimeout(Duration);

/// The routes over `service`; bodies are read within `server`'s
/// `body_read_timeout_ms`. Every client error is a problem document.
pub fn router(service: Arc<Service>, server: &config::ServerConfig) -> Router {
    Router::new()
        .route("/v1/evaluate", post(evaluate))
        .route("/v1/withdrawals/{id}/release", post(release))
        .route("/v1/policies", get(policies))
        .route("/v1/lists", get(lists))
        .route("/v1/admin/reload", post(reload))
        .route("/v1/holds", get(holds::list))
        .route("/v1/holds/{id}", get(holds::one))
        .route("/v1/holds/{id}/approve", post(holds::approve))
        .route("/v1/holds/{id}/reject", post(holds::reject))
        .route("/review", get(holds::page))
        .route("/metrics", get(metrics))
        .route(
            "/healthz",
            get(|| async { axum::Json(json!({"status": "ok"})) }),
        )
        .route("/readyz", get(ready))
        .fallback(|| async { Problem::new(StatusCode::NOT_FOUND, "Not Found", "no such endpoint") })
        // With the `Allow` header of the path's methods.
        .method_not_allowed_fallback(|method: http::Method| async move {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "Method Not Allowed",
                format!("{method} is not served at this path (see Allow)"),
            )
        })
        .layer(Extension(BodyReadTimeout(server.body_read_timeout())))
        .with_state(service)
}

/// Serves `router(service)` on `listener` with the limits of `server`
/// until `shutdown` completes; then the requests in flight get the grace
/// period (see [`server`]).
pub async fn run<L: server::Accept>(
    listener: L,
    service: Arc<Service>,
    server: config::ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let routes = router(service.clone(), &server);
    let expiry = tokio::spawn(expire_holds(service));
    let served = server::serve(listener, routes, server, shutdown).await;
    expiry.abort();
    served
}

/// Expires pending holds past `[review] expire_after_ms` for as long as it
/// runs: every quarter of the expiry (at most 30 s; the setting read again
/// each time, so a reload can turn it on or off), on the blocking pool, a
/// resolution record written for each hold expired.
pub async fn expire_holds(service: Arc<Service>) {
    let mut last_error: Option<String> = None;
    loop {
        let period = service.expiry_period().unwrap_or(Duration::from_secs(30));
        tokio::time::sleep(period).await;
        if service.expiry_period().is_none() {
            continue;
        }
        let s = service.clone();
        let outcome = match tokio::task::spawn_blocking(move || s.expire_due()).await {
            Ok(Ok(n)) => {
                if n > 0 {
                    tracing::info!("expired {n} hold(s) pending past [review] expire_after_ms");
                }
                None
            }
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        // Each failure once, not at every tick.
        if outcome.is_some() && outcome != last_error {
            tracing::warn!("expiring holds: {}", outcome.as_deref().unwrap_or_default());
        }
        last_error = outcome;
    }
}

/// The body of a request, at most `limit` bytes, read within the
/// timeout: 413 over the size, 408 when it does not arrive in time.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    timeout: Duration,
    limit: usize,
) -> Result<axum::body::Bytes, Response> {
    let too_large = || {
        server::closing(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Content Too Large",
            format!("the body is over {limit} bytes"),
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Ok(Err(e)) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "Bad Request",
            format!("the body could not be read: {e}"),
        )
        .into_response()),
        Err(_) => Err(server::closing(Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "Request Timeout",
            format!("the body did not arrive within {} ms", timeout.as_millis()),
        ))),
    }
}

pub(crate) fn with_generation(mut response: Response, generation: u64) -> Response {
    response
        .headers_mut()
        .insert(GENERATION_HEADER, HeaderValue::from(generation));
    response
}

/// The query of `POST /v1/evaluate`: `?explain=true` adds each decision's
/// explanation (`riskgate::explain`) to the response, as its `explain`
/// field; the decision and its record are the same either way.
#[derive(serde::Deserialize, Default)]
struct EvaluateQuery {
    #[serde(default)]
    explain: bool,
}

/// A decision with its explanation, as `?explain=true` answers it.
#[derive(serde::Serialize)]
struct Explained<'a> {
    #[serde(flatten)]
    decision: &'a riskgate::Decision,
    explain: &'a riskgate::Explanation,
}

async fn evaluate(
    State(service): State<Arc<Service>>,
    Extension(BodyReadTimeout(timeout)): Extension<BodyReadTimeout>,
    query: Result<Query<EvaluateQuery>, QueryRejection>,
    request: axum::extract::Request,
) -> Result<Response, Response> {
    // The head's headers as they are (the `HeaderMap` extractor would
    // clone them).
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let Query(query) = query.map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "Bad Request",
            format!(
                "{}; the query takes `explain=true` or `explain=false`",
                e.body_text()
            ),
        )
        .into_response()
    })?;
    if !problem::is_json(&headers) {
        return Err(server::closing(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type",
            "send the withdrawal as application/json",
        )));
    }
    let body = read_body(&headers, body, timeout, MAX_BODY).await?;
    let (withdrawals, batch) = parse_body(&body).map_err(IntoResponse::into_response)?;
    // One generation for the whole request.
    let generation = service.current();
    let number = generation.number;
    let (decisions, explanations) = service
        .evaluate_explained_async(generation, withdrawals, query.explain)
        .await
        .map_err(|e| {
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                e.to_string(),
            )
            .into_response()
        })?;
    #[derive(serde::Serialize)]
    struct Decisions<T> {
        decisions: Vec<T>,
    }
    // Serialised straight into the body's buffer, sized for the decisions.
    let mut body = Vec::with_capacity(512 * decisions.len());
    match (&explanations, batch) {
        (None, true) => serde_json::to_writer(
            &mut body,
            &Decisions {
                decisions: decisions.iter().collect(),
            },
        ),
        (None, false) => serde_json::to_writer(&mut body, &decisions[0]),
        (Some(explanations), batch) => {
            let mut explained = decisions
                .iter()
                .zip(explanations)
                .map(|(decision, explain)| Explained { decision, explain });
            if batch {
                serde_json::to_writer(
                    &mut body,
                    &Decisions {
                        decisions: explained.collect(),
                    },
                )
            } else {
                serde_json::to_writer(&mut body, &explained.next())
            }
        }
    }
    .map_err(|e| Problem::internal(e).into_response())?;
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(GENERATION_HEADER, HeaderValue::from(number));
    Ok(response)
}

async fn release(
    State(service): State<Arc<Service>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    let Path(id) =
        id.map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "Bad Request", e.body_text()))?;
    if id.is_empty() || id.len() > riskgate::model::caps::ID {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "Bad Request",
            format!(
                "a withdrawal id is 1 to {} bytes",
                riskgate::model::caps::ID
            ),
        ));
    }
    let released = tokio::task::spawn_blocking(move || service.velocity().release(&id))
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

async fn policies(State(service): State<Arc<Service>>) -> Response {
    let g = service.current();
    let list: Vec<serde_json::Value> = g
        .policies
        .iter()
        .map(|p| {
            let mut v = serde_json::to_value(p).unwrap_or_default();
            v["world"] = json!(WORLD);
            v
        })
        .collect();
    with_generation(
        axum::Json(json!({ "generation": g.number, "policies": list })).into_response(),
        g.number,
    )
}

async fn lists(State(service): State<Arc<Service>>) -> Response {
    let g = service.current();
    with_generation(
        axum::Json(json!({ "generation": g.number, "lists": g.lists })).into_response(),
        g.number,
    )
}

async fn metrics(State(service): State<Arc<Service>>) -> Response {
    // The pending holds are counted now, on the blocking pool (a scan).
    let s = service.clone();
    let pending = tokio::task::spawn_blocking(move || s.pending_by_reason())
        .await
        .ok()
        .flatten();
    let text = service
        .metrics()
        .encode_with(service.log().map(|l| l.stats()), pending.as_deref());
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}

/// The bearer token of an admin request, checked.
fn authorize(service: &Service, headers: &HeaderMap) -> Result<(), Box<Response>> {
    if !service.admin_enabled() {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "admin endpoints are off: set [admin] token (or token_file) in the config",
        )
        .into_response()
        .into());
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        })
        .map(|(_, t)| t.trim());
    match token {
        Some(t) if service.admin_allows(t) => Ok(()),
        _ => {
            let mut p = Problem::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "admin endpoints need `Authorization: Bearer <token>` with the configured token",
            )
            .into_response();
            p.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"riskgate-admin\""),
            );
            Err(p.into())
        }
    }
}

async fn reload(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    authorize(&service, &headers).map_err(|r| *r)?;
    let report = tokio::task::spawn_blocking(move || service.reload())
        .await
        .map_err(|e| Problem::internal(e).into_response())?;
    let status = if report.ok {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, axum::Json(report)).into_response())
}

async fn ready(State(service): State<Arc<Service>>) -> Response {
    let g = service.current();
    if g.gate.modes().contains(&riskgate::Mode::Enforce) {
        axum::Json(json!({"status": "ready", "generation": g.number})).into_response()
    } else {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            "no enforced policy is loaded",
        )
        .into_response()
    }
}
