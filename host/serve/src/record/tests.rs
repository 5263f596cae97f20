//! Records from real evaluations, checked against
//! `docs/decision-log.schema.json` and read back into their types.

use super::*;
use crate::config::Config;
use crate::decision_log::{self, DecisionLog, LogOptions};
use crate::service::Service;
use riskgate::model::GateCode;
use riskgate::velocity::Velocity;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

const LAZARUS: &str = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";
const CLEAN: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const T0: u64 = 1_795_564_800_000;

fn schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/decision-log.schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// The JSON Schema keywords [`validate`] checks, and those it reads as
/// annotations (`pattern` is checked by hand where it matters, below).
const CHECKED: &[&str] = &[
    "$ref",
    "const",
    "enum",
    "type",
    "minimum",
    "maximum",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "anyOf",
    "oneOf",
];
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$defs",
    "title",
    "description",
    "default",
    "pattern",
];

/// Every keyword of `schema` is one [`validate`] knows.
fn keywords_known(schema: &Value, at: &str) {
    let Some(object) = schema.as_object() else {
        return;
    };
    for (key, sub) in object {
        assert!(
            CHECKED.contains(&key.as_str()) || ANNOTATIONS.contains(&key.as_str()),
            "keyword `{key}` at {at} is not checked by this test's validator"
        );
        match key.as_str() {
            "properties" | "$defs" => {
                for (name, s) in sub.as_object().unwrap() {
                    keywords_known(s, &format!("{at}/{key}/{name}"));
                }
            }
            "items" => keywords_known(sub, &format!("{at}/items")),
            "anyOf" | "oneOf" => {
                for (i, s) in sub.as_array().unwrap().iter().enumerate() {
                    keywords_known(s, &format!("{at}/{key}/{i}"));
                }
            }
            _ => {}
        }
    }
}

/// Checks `value` against `schema` (a subset of JSON Schema 2020-12: the
/// keywords in [`CHECKED`]), pushing what fails onto `errors`.
fn validate(root: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let s = schema.as_object().expect("a schema is an object");
    if let Some(r) = s.get("$ref") {
        let name = r
            .as_str()
            .and_then(|r| r.strip_prefix("#/$defs/"))
            .expect("local $ref");
        validate(root, &root["$defs"][name], value, at, errors);
    }
    if let Some(c) = s.get("const")
        && value != c
    {
        errors.push(format!("{at}: {value} is not {c}"));
    }
    if let Some(e) = s.get("enum")
        && !e.as_array().unwrap().contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {e}"));
    }
    if let Some(t) = s.get("type") {
        let ok = match t.as_str().unwrap() {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_u64() || value.is_i64(),
            "boolean" => value.is_boolean(),
            other => panic!("type {other}"),
        };
        if !ok {
            errors.push(format!("{at}: {value} is not of type {t}"));
        }
    }
    if let Some(min) = s.get("minimum").and_then(Value::as_f64)
        && value.as_f64().is_some_and(|v| v < min)
    {
        errors.push(format!("{at}: {value} < {min}"));
    }
    if let Some(max) = s.get("maximum").and_then(Value::as_f64)
        && value.as_f64().is_some_and(|v| v > max)
    {
        errors.push(format!("{at}: {value} > {max}"));
    }
    if let Some(object) = value.as_object() {
        for key in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !object.contains_key(key.as_str().unwrap()) {
                errors.push(format!("{at}: `{key}` is missing"));
            }
        }
        let properties = s.get("properties").and_then(Value::as_object);
        for (key, v) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(sub) => validate(root, sub, v, &format!("{at}/{key}"), errors),
                None if s.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{at}: `{key}` is not in the schema"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (s.get("items"), value.as_array()) {
        for (i, v) in array.iter().enumerate() {
            validate(root, items, v, &format!("{at}/{i}"), errors);
        }
    }
    let passes = |sub: &Value| {
        let mut e = Vec::new();
        validate(root, sub, value, at, &mut e);
        e.is_empty()
    };
    if let Some(any) = s.get("anyOf")
        && !any.as_array().unwrap().iter().any(passes)
    {
        errors.push(format!("{at}: {value} matches no schema of anyOf"));
    }
    if let Some(one) = s.get("oneOf") {
        let n = one.as_array().unwrap().iter().filter(|s| passes(s)).count();
        if n != 1 {
            errors.push(format!("{at}: {value} matches {n} schemas of oneOf"));
        }
    }
}

fn hex_digits(s: &Value, n: usize) -> bool {
    s.as_str().is_some_and(|s| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn withdrawal(id: &str, account: &str, destination: &str) -> Withdrawal {
    serde_json::from_value(json!({
        "id": id, "account": account, "asset": "ETH", "chain": "ethereum",
        "destination": destination, "amount": "1000", "decimals": 18,
        "usd_cents": 250, "requested_at": T0,
    }))
    .unwrap()
}

const HEAD: &str = "velocity = \"memory\"\n[limits]\ndeadline_us = 250000\nmax_clock_skew_ms = 0\n[decision_log]\ndir = \"log\"\n";

/// Every kind of record `serve` writes, from real evaluations: a start,
/// decisions (allow, a shadow policy's hits, bad input, a replay, a deny
/// with hits), a reload, resolutions (an approval under four eyes, the one
/// that settles the hold, a rejection, an expiry) and a reload that failed.
fn real_log(dir: &Path) -> Vec<Value> {
    let config_path = dir.join("riskgate.toml");
    let write = |policies: &str| {
        std::fs::write(&config_path, format!("{HEAD}{policies}")).unwrap();
    };
    write(
        "[[policy]]\nbundled = \"sanctions\"\nmode = \"shadow\"\n[[policy]]\nbundled = \"velocity\"\n",
    );
    let config = Config::from_file(&config_path).unwrap();
    let velocity = Arc::new(Velocity::default());
    let built = config.build(velocity.clone()).unwrap();
    let log = DecisionLog::open(&LogOptions::new(dir.join("log"))).unwrap();
    let service = Service::new(
        config,
        Some(config_path.clone()),
        built,
        velocity,
        Some(log),
    )
    .unwrap();
    let g = service.current();
    let mut bad = withdrawal("w-bad", "a-3", CLEAN);
    bad.account = String::new();
    let first = service.evaluate(
        &g,
        &[
            withdrawal("w-1", "a-1", CLEAN),
            withdrawal("w-2", "a-2", LAZARUS),
            bad,
        ],
    );
    assert_ne!(first[0].verdict, Verdict::Deny, "{first:?}");
    assert_eq!(first[2].reasons[0].code, GateCode::BadInput.as_str());
    let replay = service.evaluate(&g, &[withdrawal("w-1", "a-1", CLEAN)]);
    assert!(replay[0].replayed, "{replay:?}");

    write(
        "[[policy]]\nbundled = \"sanctions\"\n[[policy]]\nbundled = \"velocity\"\n\
         [review]\napprovals_required = { \"velocity.new\" = 2 }\nexpire_after_ms = 600000\n",
    );
    assert!(service.reload().ok);
    let g = service.current();
    let denied = service.evaluate(&g, &[withdrawal("w-3", "a-4", LAZARUS)]);
    assert_eq!(denied[0].verdict, Verdict::Deny, "{denied:?}");
    assert!(!denied[0].hits.is_empty());
    // Holds (new destinations), requested now and 20 minutes ago.
    let now = g.gate.now();
    let held: Vec<Withdrawal> = [("h-1", 0), ("h-2", 0), ("h-3", 20 * 60_000)]
        .iter()
        .map(|&(id, age)| Withdrawal {
            requested_at: now - age,
            ..withdrawal(id, id, CLEAN)
        })
        .collect();
    for d in service.evaluate(&g, &held) {
        assert_eq!(d.verdict, Verdict::Hold, "{d:?}");
    }
    let approve = |id: &str, who: &str| {
        service.resolve(&g, id, &riskgate::Resolution::approve(who, "checked"))
    };
    assert!(approve("h-1", "alice").unwrap().changed);
    assert!(!approve("h-1", "alice").unwrap().changed);
    let settled = approve("h-1", "bob").unwrap();
    assert_eq!(settled.hold.state, riskgate::model::HoldState::Approved);
    let rejected = service
        .resolve(&g, "h-2", &riskgate::Resolution::reject("bob", ""))
        .unwrap();
    assert!(rejected.changed);
    // Past its expiry: expired by the action, which is refused.
    assert!(matches!(
        approve("h-3", "alice"),
        Err(crate::service::ResolutionError::Resolve(
            riskgate::ResolveError::Conflict { .. }
        ))
    ));

    std::fs::write(&config_path, "[[policy]]\nmode = \"loud\"\n").unwrap();
    assert!(!service.reload().ok);
    drop(g);
    drop(service);
    let (records, torn) = decision_log::read_all(&dir.join("log")).unwrap();
    assert_eq!(torn, 0);
    records
}

#[test]
fn real_records_match_the_schema_and_read_back() {
    let schema = schema();
    keywords_known(&schema, "#");
    let dir = tempfile::tempdir().unwrap();
    let records = real_log(dir.path());
    let events: Vec<&str> = records
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "generation",
            "decision",
            "decision",
            "decision",
            "decision",
            "generation",
            "decision",
            "decision",
            "decision",
            "decision",
            "resolution",
            "resolution",
            "resolution",
            "resolution",
            "reload_failed"
        ]
    );
    for r in &records {
        let mut errors = Vec::new();
        validate(&schema, &schema, r, "", &mut errors);
        assert!(errors.is_empty(), "{r}\n{}", errors.join("\n"));
        assert_eq!(r["v"], RECORD_VERSION);
        // What the validator reads as annotations.
        if r["event"] == "decision" || r["event"] == "resolution" {
            assert!(hex_digits(&r["decision_id"], 32), "{r}");
        }
        for p in r["policies"].as_array().into_iter().flatten() {
            assert!(hex_digits(&p["sha256"], 64), "{r}");
        }
        // Reasons anywhere: a `gate.` code is a GateCode.
        let shadow = r["policies"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|p| p["reasons"].as_array().cloned().unwrap_or_default());
        for reason in r["reasons"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .chain(shadow)
        {
            let code = reason["code"].as_str().unwrap();
            if GateCode::is_gate(code) {
                assert!(GateCode::parse(code).is_some(), "{code}");
            }
        }
        // Read into the record types and written again: the same JSON.
        let typed = LogRecord::parse(r.to_string().as_bytes()).unwrap();
        assert_eq!(serde_json::to_value(&typed).unwrap(), *r);
    }
    // The shadow policy's own answer for the listed address, and the
    // enforced deny after the reload.
    let shadow = &records[2]["policies"][0];
    assert_eq!(shadow["mode"], "shadow");
    assert_eq!(shadow["verdict"], "deny");
    assert!(!shadow["hits"].as_array().unwrap().is_empty(), "{shadow}");
    // What replay needs to rebuild the chain: each policy's configuration
    // and fuel, and the generation's limits.
    let generation = &records[0];
    assert_eq!(generation["limits"]["deadline_us"], 250_000);
    assert_eq!(generation["limits"]["fuel"], riskgate::engine::DEFAULT_FUEL);
    for p in generation["policies"].as_array().unwrap() {
        assert_eq!(p["config"], "{}", "{p}");
        assert_eq!(p["fuel"], riskgate::engine::DEFAULT_FUEL, "{p}");
    }
    assert!(records[14].get("limits").is_none());
    assert_eq!(records[4]["replayed"], true);
    assert_eq!(records[6]["verdict"], "deny");
    assert!(records[14]["error"].is_string());
    // The resolutions: four eyes, a rejection, an expiry; none for the
    // approval that changed nothing.
    let resolutions: Vec<(&str, &str, &str, &str, u64)> = records[10..14]
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap(),
                r["action"].as_str().unwrap(),
                r["reviewer"].as_str().unwrap(),
                r["state"].as_str().unwrap(),
                r["approvals"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        resolutions,
        [
            ("h-1", "approve", "alice", "pending", 1),
            ("h-1", "approve", "bob", "approved", 2),
            ("h-2", "reject", "bob", "rejected", 0),
            ("h-3", "expire", "riskgate", "expired", 0),
        ]
    );
    for r in &records[10..14] {
        assert_eq!(r["generation"], 2, "{r}");
        assert_eq!(r["required"], 2, "{r}");
    }
    assert_eq!(records[10]["note"], "checked");
    assert!(records[10].get("counted").is_none());
    assert_eq!(records[11]["counted"]["amount"], 1000, "{}", records[11]);
    assert_eq!(records[11]["counted"]["at"], records[11]["at"]);
    assert_eq!(records[12]["note"], "");
}

#[test]
fn a_record_without_a_version_is_version_1() {
    let dir = tempfile::tempdir().unwrap();
    let records = real_log(dir.path());
    for r in records {
        let mut old = r.clone();
        old.as_object_mut().unwrap().remove("v");
        // Nor the fields added later within version 1.
        old.as_object_mut().unwrap().remove("limits");
        if old["event"] == "generation" || old["event"] == "reload_failed" {
            for p in old["policies"].as_array_mut().unwrap() {
                p.as_object_mut().unwrap().remove("config");
                p.as_object_mut().unwrap().remove("fuel");
            }
        }
        match LogRecord::parse(old.to_string().as_bytes()).unwrap() {
            LogRecord::Decision(d) => assert_eq!(d.v, 1),
            LogRecord::Generation(g) => assert_eq!(g.v, 1),
            LogRecord::Resolution(r) => assert_eq!(r.v, 1),
        }
        let mut errors = Vec::new();
        let schema = schema();
        validate(&schema, &schema, &old, "", &mut errors);
        assert!(errors.is_empty(), "{old}\n{}", errors.join("\n"));
    }
}
