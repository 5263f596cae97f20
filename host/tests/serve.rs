//! End-to-end tests of `riskgate serve`: the real binary on a loopback
//! port, driven over plain HTTP/1.1.

mod support;

use serde_json::{Value, json};
use support::{CLEAN, LAZARUS, Server, withdrawal};

#[test]
fn serve_evaluates_releases_describes_and_refuses_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    // One withdrawal: the decision, as `check` prints it.
    let (status, ctype, d) = server.json("POST", "/v1/evaluate", &withdrawal("w-1", CLEAN));
    assert_eq!(status, 200, "{d}");
    assert!(ctype.starts_with("application/json"), "{ctype}");
    assert_eq!(d["id"], "w-1");
    assert_eq!(d["verdict"], "allow", "{d}");
    // A repeat is replayed, not counted again.
    let (_, _, again) = server.json("POST", "/v1/evaluate", &withdrawal("w-1", CLEAN));
    assert_eq!(again["replayed"], true, "{again}");

    // A batch, in order; the designated destination is denied with evidence.
    let batch = json!({ "withdrawals": [withdrawal("w-2", CLEAN), withdrawal("w-3", LAZARUS)] });
    let (status, _, out) = server.json("POST", "/v1/evaluate", &batch);
    assert_eq!(status, 200, "{out}");
    let decisions = out["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 2);
    assert_eq!(decisions[0]["id"], "w-2");
    assert_eq!(decisions[1]["verdict"], "deny", "{}", decisions[1]);
    assert!(!decisions[1]["hits"].as_array().unwrap().is_empty());

    // Release: the first time it frees the contribution, then it is unknown.
    let (status, _, r) = server.json("POST", "/v1/withdrawals/w-2/release", &json!({}));
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["had_contribution"], true, "{r}");
    let (status, ctype, r) = server.json("POST", "/v1/withdrawals/w-2/release", &json!({}));
    assert_eq!(status, 404, "{r}");
    assert_eq!(ctype, "application/problem+json");

    // Client mistakes: problem documents, never a 500.
    let mut missing = withdrawal("w-4", CLEAN);
    missing.as_object_mut().unwrap().remove("account");
    let (status, ctype, p) = server.json(
        "POST",
        "/v1/evaluate",
        &json!([withdrawal("w-5", CLEAN), missing]),
    );
    assert_eq!(
        (status, ctype.as_str()),
        (400, "application/problem+json"),
        "{p}"
    );
    assert_eq!(p["status"], 400);
    assert_eq!(p["pointer"], "/1/account", "{p}");
    let (status, _, text) = server.call(
        "POST",
        "/v1/evaluate",
        Some("application/json"),
        b"{not json",
    );
    assert_eq!(status, 400, "{text}");
    let (status, ctype, _) = server.call("POST", "/v1/evaluate", Some("text/plain"), b"{}");
    assert_eq!((status, ctype.as_str()), (415, "application/problem+json"));
    let big = vec![b' '; 2 << 20];
    let (status, ctype, _) = server.call("POST", "/v1/evaluate", Some("application/json"), &big);
    assert_eq!((status, ctype.as_str()), (413, "application/problem+json"));
    let (status, _, _) = server.call("GET", "/v2/nothing", None, b"");
    assert_eq!(status, 404);

    // What is loaded.
    let (status, _, text) = server.call("GET", "/v1/policies", None, b"");
    assert_eq!(status, 200);
    let policies: Value = serde_json::from_str(&text).unwrap();
    let names: Vec<&str> = policies["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sanctions", "velocity"]);
    assert_eq!(
        policies["policies"][0]["sha256"].as_str().unwrap().len(),
        64
    );
    let (_, _, text) = server.call("GET", "/v1/lists", None, b"");
    let lists: Value = serde_json::from_str(&text).unwrap();
    assert!(lists["lists"][0]["count"].as_u64().unwrap() > 0, "{lists}");
    assert_eq!(server.call("GET", "/healthz", None, b"").0, 200);
    assert_eq!(server.call("GET", "/readyz", None, b"").0, 200);

    // Still serving after all of that, from many clients at once.
    std::thread::scope(|s| {
        for t in 0..8 {
            let server = &server;
            s.spawn(move || {
                for i in 0..25 {
                    let id = format!("c-{t}-{i}");
                    let dest = format!("0x{:040x}", t * 100 + i + 1);
                    let (status, _, d) =
                        server.json("POST", "/v1/evaluate", &withdrawal(&id, &dest));
                    assert_eq!(status, 200, "{d}");
                    assert_eq!(d["id"], id.as_str());
                }
            });
        }
    });
}

#[cfg(unix)]
#[test]
fn serve_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    assert_eq!(server.call("GET", "/healthz", None, b"").0, 200);
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(server.child.id() as i32, libc::SIGTERM);
    }
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// Every operation of `docs/openapi.json` is served at its path and
/// method, and the document covers every endpoint of the service.
#[test]
fn the_openapi_document_matches_the_routes() {
    let doc: Value = serde_json::from_str(include_str!("../../docs/openapi.json")).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            operations.push((method.to_uppercase(), path.clone()));
        }
    }
    operations.sort();
    let mut expected: Vec<(String, String)> = [
        ("POST", "/v1/evaluate"),
        ("POST", "/v1/withdrawals/{id}/release"),
        ("GET", "/v1/policies"),
        ("GET", "/v1/lists"),
        ("POST", "/v1/admin/reload"),
        ("GET", "/metrics"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    expected.sort();
    assert_eq!(operations, expected);

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (_, _, not_found) = server.call("GET", "/v1/none", None, b"");
    for (method, path) in &operations {
        let path = path.replace("{id}", "no-such-id");
        let (status, _, body) = server.call(method, &path, Some("application/json"), b"{}");
        assert!(
            body != not_found && status != 405,
            "{method} {path}: {status} {body}"
        );
    }
}
