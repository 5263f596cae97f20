//! The review page of `riskgate serve` in a real headless browser
//! (chromium via chromedriver): a reviewer signs in with a token, sees the
//! pending holds, writes a note and approves one; the API then shows it
//! approved and counted in the account's windows, and the decision log
//! holds its resolution record. `RISKGATE_SCREENSHOT=PATH` writes the
//! page's screenshot there (`docs/review-page.png`).

use crate::support::{CLEAN, Server};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ALICE: &str = "alice-3f9c1e7d52b8";
const ADMIN: &str = "admin-6a0d94c1b7e2";
const NOTE: &str = "Called the customer: the second withdrawal today is expected.";

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A withdrawal of 0.25 ETH worth $812.40 requested `age_ms` ago, to a
/// destination used for a year unless `new_destination`.
fn withdrawal(
    id: &str,
    account: &str,
    destination: &str,
    age_ms: u64,
    new_destination: bool,
) -> Value {
    let mut w = json!({
        "id": id, "account": account, "asset": "ETH", "chain": "ethereum",
        "destination": destination, "amount": "250000000000000000", "decimals": 18,
        "usd_cents": 81_240, "requested_at": now_ms() - age_ms,
        "destination_first_used_at": now_ms() - 365 * 86_400_000,
    });
    if new_destination {
        w.as_object_mut()
            .unwrap()
            .remove("destination_first_used_at");
    }
    w
}

/// `riskgate serve` allowing one withdrawal a day per account (a second is
/// HOLD `velocity.count_24h`), a new destination held for two approvals,
/// reviewer alice.
fn serve(dir: &Path) -> Server {
    std::fs::write(dir.join("alice.token"), format!("{ALICE}\n")).unwrap();
    std::fs::write(dir.join("bob.token"), "bob-0e5b7c2a91d4\n").unwrap();
    let config = format!(
        "velocity = \"memory\"\ncache_dir = \"cache\"\n\
         [limits]\ndeadline_us = 250000\nmax_clock_skew_ms = 0\n\
         [admin]\ntoken = \"{ADMIN}\"\n\
         [decision_log]\ndir = \"log\"\n\
         [[reviewer]]\nname = \"alice\"\ntoken_file = \"alice.token\"\n\
         [[reviewer]]\nname = \"bob\"\ntoken_file = \"bob.token\"\n\
         [review]\napprovals_required = {{ \"velocity.new\" = 2 }}\n\
         [[policy]]\nbundled = \"sanctions\"\n\
         [[policy]]\nbundled = \"velocity\"\n\
         config = {{ rules = [{{ scope = \"account\", window = \"24h\", max_count = 1 }}] }}\n"
    );
    let path = dir.join("riskgate.toml");
    std::fs::write(&path, config).unwrap();
    Server::with_config(&path).unwrap_or_else(|(code, err)| panic!("exit {code}: {err}"))
}

fn hold(server: &Server, id: &str) -> Value {
    let auth = format!("Bearer {ALICE}");
    let r = server.request(
        "GET",
        &format!("/v1/holds/{id}"),
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn hour_count(hold: &Value) -> u64 {
    hold["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["window_ms"] == 3_600_000)
        .and_then(|w| w["count"].as_u64())
        .unwrap_or_else(|| panic!("no 1 h window: {hold}"))
}

#[test]
fn a_reviewer_approves_a_hold_on_the_review_page() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    let decide = |w: Value| server.evaluate(&w).json()["verdict"].clone();
    assert_eq!(
        decide(withdrawal("wd-7101", "acct-1842", CLEAN, 600_000, false)),
        "allow"
    );
    assert_eq!(
        decide(withdrawal("wd-7102", "acct-1842", CLEAN, 240_000, false)),
        "hold"
    );
    let fresh = "0x52908400098527886E0F7030069857D2E4169EE7";
    assert_eq!(
        decide(withdrawal("wd-7103", "acct-2290", fresh, 90_000, true)),
        "hold"
    );
    let before = hold(&server, "wd-7102");
    assert_eq!(before["state"], "pending");
    assert_eq!(hour_count(&before), 1, "{before}");

    if !crate::support::with_chromedriver("the browser test of the review page", |port| {
        drive(port, &server)
    }) {
        return;
    }

    // The API: approved by alice with the note, counted in the account's
    // windows from the approval on.
    let after = hold(&server, "wd-7102");
    assert_eq!(after["state"], "approved", "{after}");
    let entry = &after["decision"]["review"]["entries"][0];
    assert_eq!(
        (entry["reviewer"].as_str(), entry["note"].as_str()),
        (Some("alice"), Some(NOTE))
    );
    assert_eq!(hour_count(&after), 2, "{after}");
    // The other hold is still pending; the admin may read it.
    let auth = format!("Bearer {ADMIN}");
    let r = server.request("GET", "/v1/holds", &[("Authorization", &auth)], b"");
    assert_eq!(r.status, 200, "{}", r.body);
    let ids: Vec<String> = r.json()["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["wd-7103", "wd-7104"]);
    // The approval in the decision log.
    let (log, _) = riskgate_serve::decision_log::read_all(&dir.path().join("log")).unwrap();
    let resolutions: Vec<&Value> = log.iter().filter(|r| r["event"] == "resolution").collect();
    assert_eq!(resolutions.len(), 1, "{resolutions:?}");
    let r = resolutions[0];
    assert_eq!(
        (r["id"].as_str(), r["action"].as_str()),
        (Some("wd-7102"), Some("approve"))
    );
    assert_eq!(
        (r["reviewer"].as_str(), r["note"].as_str()),
        (Some("alice"), Some(NOTE))
    );
    assert_eq!(r["counted"]["usd_cents"], 81_240, "{r}");
    // A later withdrawal of the account sees the approved one in its window.
    let next = server
        .evaluate(&withdrawal("wd-7105", "acct-1842", CLEAN, 0, false))
        .json();
    assert_eq!(next["verdict"], "hold", "{next}");
    assert_eq!(next["reasons"][0]["code"], "velocity.count_24h", "{next}");
    let detail = next["reasons"][0]["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("3 withdrawals per account in 24h"),
        "{detail}"
    );
}

/// Polls `check` until it answers `Some`, for at most 15 s.
async fn until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn drive(port: u16, server: &Server) {
    use fantoccini::{Client, Locator};
    let client = crate::support::browser_session(
        port,
        &["--window-size=1280,900", "--force-device-scale-factor=1"],
    )
    .await;
    let text = |client: &Client, css: String| {
        let client = client.clone();
        async move {
            match client.find(Locator::Css(&css)).await {
                Ok(e) => e.text().await.ok(),
                Err(_) => None,
            }
        }
    };

    client
        .goto(&format!("http://{}/review", server.addr))
        .await
        .unwrap();
    assert_eq!(client.title().await.unwrap(), "riskgate review");
    // A wrong token: back to the sign-in form, saying why.
    let token = client.find(Locator::Id("token")).await.unwrap();
    assert!(token.is_displayed().await.unwrap());
    token.send_keys("not-a-token").await.unwrap();
    client
        .find(Locator::Id("sign-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let why = until("the sign-in error", || async {
        text(&client, "#sign-in-error".into())
            .await
            .filter(|t| !t.is_empty())
    })
    .await;
    assert!(why.contains("not a reviewer's"), "{why}");

    // Alice signs in: the queue, oldest first, with what a reviewer needs.
    let token = client.find(Locator::Id("token")).await.unwrap();
    token.send_keys(ALICE).await.unwrap();
    client
        .find(Locator::Id("sign-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let card = r#".hold[data-id="wd-7102"]"#;
    let shown = until("the hold in the queue", || text(&client, card.to_string())).await;
    for expected in [
        "wd-7102",
        "acct-1842",
        "ETH",
        "ethereum",
        "250000000000000000",
        "$812.40",
        "velocity.count_24h",
        "approvals 0 / 1",
    ] {
        assert!(shown.contains(expected), "{expected}: {shown}");
    }
    let ids = client.find_all(Locator::Css(".hold")).await.unwrap();
    let mut order = Vec::new();
    for e in &ids {
        order.push(e.attr("data-id").await.unwrap().unwrap());
    }
    assert_eq!(order, ["wd-7102", "wd-7103"]);
    let other = text(&client, r#".hold[data-id="wd-7103"] .approvals"#.into()).await;
    assert_eq!(other.as_deref(), Some("approvals 0 / 2"));
    let hour = text(
        &client,
        format!(r#"{card} tr[data-window="3600000"] .count"#),
    )
    .await;
    assert_eq!(hour.as_deref(), Some("1"));

    // A note survives the 2 s refresh; a hold arriving meanwhile appears.
    let note = client
        .find(Locator::Css(&format!("{card} .note")))
        .await
        .unwrap();
    note.send_keys(NOTE).await.unwrap();
    let arrived = server.evaluate(&withdrawal(
        "wd-7104",
        "acct-3377",
        "0xde0B295669a9FD93d5F28D9Ec85E40f4cb697BAe",
        0,
        true,
    ));
    assert_eq!(arrived.json()["verdict"], "hold");
    until("the new hold", || {
        text(&client, r#".hold[data-id="wd-7104"]"#.to_string())
    })
    .await;
    let kept = note.prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some(NOTE));
    let status = text(&client, "#status".into()).await.unwrap_or_default();
    assert!(status.starts_with("3 pending"), "{status}");

    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    if let Some(path) = std::env::var_os("RISKGATE_SCREENSHOT") {
        std::fs::write(&path, &png).unwrap();
        eprintln!("screenshot: {}", Path::new(&path).display());
    }

    // Approve: the hold leaves the queue, the status says so.
    client
        .find(Locator::Css(&format!("{card} .approve")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let status = until("the approval", || async {
        text(&client, "#status".into())
            .await
            .filter(|t| t.contains("approved"))
    })
    .await;
    assert_eq!(status, "wd-7102 approved");
    until("the hold to leave the queue", || async {
        match client.find(Locator::Css(card)).await {
            Err(_) => Some(()),
            Ok(_) => None,
        }
    })
    .await;

    // Signing out forgets the token.
    client
        .find(Locator::Id("sign-out"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let stored = client
        .execute(
            "return sessionStorage.getItem('riskgate-review-token');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(stored, Value::Null);
    assert!(
        client
            .find(Locator::Id("token"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap()
    );
    client.close().await.unwrap();
}
