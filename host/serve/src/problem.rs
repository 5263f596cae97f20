//! RFC 9457 problem documents, and reading an evaluate body.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use riskgate::Withdrawal;

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
    /// Extension members (RFC 9457 §3.2), e.g. a hold's `state` on a 409.
    pub extra: serde_json::Map<String, Value>,
}

impl Problem {
    pub fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            status,
            title,
            detail: detail.into(),
            pointer: None,
            extra: serde_json::Map::new(),
        }
    }

    /// A fault of the server itself (never a client's mistake).
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            e.to_string(),
        )
    }

    pub fn at(mut self, pointer: String) -> Self {
        self.pointer = Some(pointer);
        self
    }

    /// With the extension member `name` (never one of the standard ones).
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        debug_assert!(!["type", "title", "status", "detail", "pointer"].contains(&name));
        self.extra.insert(name.to_string(), value.into());
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
        for (name, value) in self.extra {
            body[name] = value;
        }
        (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}

pub fn is_json(headers: &HeaderMap) -> bool {
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
    // The common shapes go straight into withdrawals, with no JSON tree in
    // between, in one pass. A body read this way repeats no key: serde
    // refuses a field given twice, `Withdrawal` denies unknown fields, and
    // every value it accepts is a number or a string (the test below
    // repeats each field). Anything else, and every mistake, goes on below.
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {
            if let Ok(w) = serde_json::from_slice::<Withdrawal>(body) {
                return Ok((vec![w], false));
            }
        }
        Some(b'[') => {
            if let Ok(ws) = serde_json::from_slice::<Vec<Withdrawal>>(body)
                && !ws.is_empty()
                && ws.len() <= MAX_BATCH
            {
                return Ok((ws, true));
            }
        }
        _ => {}
    }
    // A JSON tree keeps the last of two equal keys and serde the first
    // error: a repeated key anywhere is refused before either reads it.
    if let Some(d) = riskgate::model::find_duplicate_key(body) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "Bad Request",
            format!("the body repeats a key: {d}"),
        )
        .at(d.pointer));
    }
    // Through the tree, to name the bad field.
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
        // A repeated key, at the top or in a batch item, is pointed at.
        let twice = w.replace(
            r#""amount":"1","#,
            &format!(
                r#""amount":"1","destination":"{}","#,
                "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"
            ),
        );
        let p = parse_body(twice.as_bytes()).unwrap_err();
        assert_eq!(p.pointer.as_deref(), Some("/destination"), "{p:?}");
        let p = parse_body(format!(r#"{{"withdrawals":[{w},{twice}]}}"#).as_bytes()).unwrap_err();
        assert_eq!(
            p.pointer.as_deref(),
            Some("/withdrawals/1/destination"),
            "{p:?}"
        );
        // Every field given twice, with the same value or another, alone or
        // in a batch: the one-pass read must refuse it too, since it runs
        // before the repeated-key check.
        let full = serde_json::json!({
            "id": "w1", "account": "a", "asset": "ETH", "chain": "ethereum",
            "destination": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "amount": "1",
            "decimals": 18, "usd_cents": 5, "requested_at": 1795564800000u64,
            "account_created_at": 1, "credential_changed_at": 2,
            "destination_first_used_at": 3
        });
        let text = full.to_string();
        assert!(parse_body(text.as_bytes()).is_ok(), "{text}");
        for (key, value) in full.as_object().unwrap() {
            for again in [value.clone(), serde_json::json!(7), serde_json::json!("7")] {
                let twice = format!("{},\"{key}\":{again}}}", &text[..text.len() - 1]);
                let p = parse_body(twice.as_bytes()).unwrap_err();
                assert_eq!(p.pointer.as_deref(), Some(&*format!("/{key}")), "{twice}");
                let p = parse_body(format!("[{text},{twice}]").as_bytes()).unwrap_err();
                assert_eq!(p.pointer.as_deref(), Some(&*format!("/1/{key}")), "{twice}");
            }
        }
        for bad in ["", "nope", "3", "[]", r#"{"withdrawals":3}"#] {
            let p = parse_body(bad.as_bytes()).unwrap_err();
            assert_eq!(p.status, StatusCode::BAD_REQUEST, "{bad}");
        }
    }
}
