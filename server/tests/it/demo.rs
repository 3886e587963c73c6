//! The step-by-step demo and its built-in client: off unless the server runs with
//! `--demo`; registered with only the grants it uses and a secret derived from the server
//! secret (so it rotates with it); its run over HTTP, with the tokens sealed in the
//! session, tied to the user they were issued to, and the callback's state checked first.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use reqwest::header::LOCATION;
use tessera::crypto::server_secret::ServerSecret;
use tessera::demo::client::{client_secret, ensure, redirect_uri};
use tessera_app::api::demo::DEMO_CLIENT_ID;

const SECRET_A: &str = "demo-test-secret-aaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SECRET_B: &str = "demo-test-secret-bbbbbbbbbbbbbbbbbbbbbbbbbbbb";

#[tokio::test]
async fn demo_client_is_registered_with_a_derived_secret_and_only_its_grants() {
    for db in common::databases().await {
        let database = common::open(&db).await;
        let store = database.store.as_ref();
        let secret_a = ServerSecret::new(SECRET_A, &[]).unwrap();

        ensure(&database, "http://127.0.0.1:3000", &secret_a).await.unwrap();
        let client = store.client_by_id(DEMO_CLIENT_ID).await.unwrap().expect(db.name);
        let secret = client_secret(&secret_a);
        assert_eq!(
            client.secret_hash.as_deref(),
            Some(secret.hash().as_str()),
            "{}",
            db.name
        );
        assert_ne!(
            client.secret_hash.as_deref(),
            Some(secret.expose()),
            "never in the clear"
        );
        assert!(!client.is_public && client.requires_pkce());
        assert_eq!(client.redirect_uris[0].as_str(), redirect_uri("http://127.0.0.1:3000"));
        // #18 item 8: only what the demo uses; no client_credentials.
        assert!(client.allows_grant("authorization_code") && client.allows_grant("refresh_token"));
        assert!(!client.allows_grant("client_credentials"), "{}", db.name);

        // Idempotent: a second start keeps the row (same created_at).
        ensure(&database, "http://127.0.0.1:3000", &secret_a).await.unwrap();
        let again = store.client_by_id(DEMO_CLIENT_ID).await.unwrap().unwrap();
        assert_eq!(again, client);

        // A new issuer: the redirect URI follows.
        ensure(&database, "https://id.example.com", &secret_a).await.unwrap();
        let moved = store.client_by_id(DEMO_CLIENT_ID).await.unwrap().unwrap();
        assert_eq!(moved.redirect_uris[0].as_str(), "https://id.example.com/demo/callback");
        assert_eq!(moved.secret_hash, client.secret_hash);

        // #18 item 8: the secret rotates with the server secret.
        let secret_b = ServerSecret::new(SECRET_B, &[SECRET_A]).unwrap();
        ensure(&database, "https://id.example.com", &secret_b).await.unwrap();
        let rotated = store.client_by_id(DEMO_CLIENT_ID).await.unwrap().unwrap();
        assert_eq!(
            rotated.secret_hash.as_deref(),
            Some(client_secret(&secret_b).hash().as_str())
        );
        assert_ne!(rotated.secret_hash, client.secret_hash, "{}", db.name);
    }
}

/// #18 item 8: without `--demo` the demo's page, routes and server functions answer 404,
/// the start page does not offer it, and its client is not registered (so an
/// administrator who removes it does not see it come back).
#[tokio::test]
async fn the_demo_is_off_unless_enabled() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    let browser = common::browser();
    for path in ["/demo", "/demo/callback?code=x&state=y"] {
        assert_eq!(common::page(&browser, &server, path).await.status(), 404, "{path}");
    }
    for path in ["/demo/start", "/demo/refresh", "/ui/demo"] {
        let res = browser.post(format!("{}{path}", server.base)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    assert!(server.db.store.client_by_id(DEMO_CLIENT_ID).await.unwrap().is_none());
    let home = common::page(&browser, &server, "/").await.text().await.unwrap();
    assert!(!home.contains("href=\"/demo\""));

    let on = common::serve_with(&common::sqlite().url, |c| c.demo = true).await;
    assert_eq!(common::page(&browser, &on, "/demo").await.status(), 200);
    assert!(on.db.store.client_by_id(DEMO_CLIENT_ID).await.unwrap().is_some());
    let home = common::page(&browser, &on, "/").await.text().await.unwrap();
    assert!(home.contains("href=\"/demo\""), "offered when on");
}

/// Starts a demo run (PKCE, offline_access) from `/demo`; where the client sends the browser.
async fn start_run(browser: &reqwest::Client, server: &common::TestServer, extra: &[(&str, &str)]) -> String {
    let html = common::page(browser, server, "/demo").await.text().await.unwrap();
    let csrf = common::input_value(&html, "csrf").expect("csrf on the demo page");
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("scope", "openid"),
        ("scope", "profile"),
        ("scope", "offline_access"),
        ("pkce", "on"),
    ];
    form.extend_from_slice(extra);
    let res = browser
        .post(format!("{}/demo/start", server.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    res.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// A demo form post (`/demo/refresh`, ...) with the page's CSRF token; where it leads.
async fn demo_action(browser: &reqwest::Client, server: &common::TestServer, action: &str) -> String {
    let html = common::page(browser, server, "/demo").await.text().await.unwrap();
    let csrf = common::input_value(&html, "csrf").unwrap_or_default();
    let res = browser
        .post(format!("{}{action}", server.base))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    res.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// Whether `bytes` hold a compact JWS: `eyJ…` base64url, a dot, base64url, a dot.
fn has_jwt(bytes: &[u8]) -> bool {
    let b64 = |c: &u8| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_';
    (0..bytes.len()).any(|i| {
        if !bytes[i..].starts_with(b"eyJ") {
            return false;
        }
        let mut j = i;
        for _ in 0..2 {
            let run = bytes[j..].iter().take_while(|c| b64(c)).count();
            if run < 10 || bytes.get(j + run) != Some(&b'.') {
                return false;
            }
            j += run + 1;
        }
        true
    })
}

/// Every session row's stored bytes.
async fn session_rows(tdb: &common::TestDb) -> Vec<Vec<u8>> {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&tdb.url).await.unwrap();
    sqlx::query_scalar("SELECT data FROM tower_sessions")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

/// #18 items 7 and 8: a whole run over HTTP. The tokens the client got are nowhere in the
/// sessions table in the clear; they serve only while the session still speaks for the
/// user they were issued to — another user signing in on the same browser ends the run.
#[tokio::test]
async fn a_demo_run_keeps_its_tokens_sealed_and_tied_to_its_user() {
    let tdb = common::sqlite();
    let server = common::serve_with(&tdb.url, |c| c.demo = true).await;
    common::add_user(&server, "ada", "ada-password", false).await;
    common::add_user(&server, "bob", "bob-password", false).await;
    let browser = common::browser();
    let authorize = start_run(&browser, &server, &[]).await;
    let callback = format!("{}/demo/callback", server.base);
    let walk = common::authorize_to(&browser, &server, &authorize, ("ada", "ada-password"), &callback).await;
    assert!(!walk.code.is_empty());
    // The browser arrives at the callback; the client exchanges the code.
    let path = walk.callback_url.strip_prefix(server.base.as_str()).unwrap();
    let res = common::page(&browser, &server, path).await;
    assert_eq!(res.headers()[LOCATION], "/demo");
    let html = common::page(&browser, &server, "/demo").await.text().await.unwrap();
    assert!(
        html.contains("The API checked the token"),
        "the run reached the API call"
    );

    // No whole JWT in any session row (the timeline shows tokens shortened; what the
    // client keeps is sealed), and the sealed secrets are there.
    let rows = session_rows(&tdb).await;
    assert!(!rows.is_empty());
    assert!(
        has_jwt(b"x:eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2ln"),
        "the check finds one"
    );
    for row in &rows {
        assert!(
            !has_jwt(row),
            "a JWT in the sessions table: {}",
            String::from_utf8_lossy(row)
        );
    }
    assert!(
        rows.iter()
            .any(|r| r.windows(15).any(|w| w == "characters, hid".as_bytes())),
        "the timeline shows tokens shortened"
    );
    // ada may refresh...
    assert_eq!(demo_action(&browser, &server, "/demo/refresh").await, "/demo");
    // ...until bob signs in on the same browser: the run is over.
    assert_eq!(common::sign_in(&browser, &server, "bob", "bob-password").await, "/");
    assert_eq!(
        demo_action(&browser, &server, "/demo/refresh").await,
        "/demo?error=norun"
    );
}

/// #18 item 9: the callback checks `state` before anything else: a forged
/// `error=access_denied` with a state the client did not send is refused, not shown as
/// the user's refusal.
#[tokio::test]
async fn the_demo_callback_checks_state_before_acting_on_an_error() {
    let tdb = common::sqlite();
    let server = common::serve_with(&tdb.url, |c| c.demo = true).await;
    let browser = common::browser();
    start_run(&browser, &server, &[]).await;
    let res = common::page(
        &browser,
        &server,
        "/demo/callback?error=access_denied&error_description=forged&state=not-the-one",
    )
    .await;
    assert_eq!(res.headers()[LOCATION], "/demo");
    let html = common::page(&browser, &server, "/demo").await.text().await.unwrap();
    assert!(html.contains("is not the one the client stored"), "{html}");
    assert!(!html.contains("You chose Deny"), "acted on a forged error");
}
