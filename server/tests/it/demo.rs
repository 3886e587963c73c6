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
    let status = res.status();
    match res.headers().get(LOCATION) {
        Some(l) => l.to_str().unwrap().to_owned(),
        None => panic!("{action}: {status} {}", res.text().await.unwrap_or_default()),
    }
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

// ---------------------------------------------------------------------------------------
// The PAR and DPoP options (#21): each adds its arrows to the diagram, with the real
// messages.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use tessera_app::api::demo::{DemoRun, DemoView, Message, StepRecord, StepStatus, STEPS};

/// The run as the page's server function hands it over (`/ui/demo`).
async fn demo_view(browser: &reqwest::Client, server: &common::TestServer) -> DemoView {
    let res = browser
        .post(format!("{}/ui/demo", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn current_run(browser: &reqwest::Client, server: &common::TestServer) -> DemoRun {
    demo_view(browser, server).await.run.expect("a run")
}

/// What [`run_demo`] leaves: the server and its database (bind `db`: dropped, the file is
/// gone under the running server), the browser, where the client first sent it, and the run.
struct Ran {
    db: common::TestDb,
    server: common::TestServer,
    browser: reqwest::Client,
    authorize: String,
    run: DemoRun,
}

/// A server with the demo on and ada, and a browser that ran the demo with `extra` options
/// as ada, through sign-in and consent, back to the page.
async fn run_demo(configure: impl FnOnce(&mut tessera::config::Config), extra: &[(&str, &str)]) -> Ran {
    let db = common::sqlite();
    let server = common::serve_with(&db.url, |c| {
        c.demo = true;
        configure(c);
    })
    .await;
    common::add_user(&server, "ada", "ada-password", false).await;
    let browser = common::browser();
    let authorize = start_run(&browser, &server, extra).await;
    let callback = format!("{}/demo/callback", server.base);
    let walk = common::authorize_to(&browser, &server, &authorize, ("ada", "ada-password"), &callback).await;
    let path = walk.callback_url.strip_prefix(server.base.as_str()).unwrap();
    let res = common::page(&browser, &server, path).await;
    assert_eq!(res.headers()[LOCATION], "/demo");
    let run = current_run(&browser, &server).await;
    Ran {
        db,
        server,
        browser,
        authorize,
        run,
    }
}

fn titles(run: &DemoRun) -> Vec<&str> {
    run.steps.iter().map(|s| s.title.as_str()).collect()
}

fn all_done(run: &DemoRun) {
    for (i, s) in run.steps.iter().enumerate() {
        assert_eq!(s.status, StepStatus::Done, "step {} {}: {}", i + 1, s.title, s.note);
    }
}

fn step<'a>(run: &'a DemoRun, title: &str) -> &'a StepRecord {
    run.steps
        .iter()
        .find(|s| s.title == title)
        .unwrap_or_else(|| panic!("no step {title}"))
}

fn message<'a>(record: &'a StepRecord, title: &str) -> &'a Message {
    record
        .messages
        .iter()
        .find(|m| m.title.contains(title))
        .unwrap_or_else(|| panic!("no message {title} in {}", record.title))
}

fn value<'a>(m: &'a Message, name: &str) -> &'a str {
    m.params
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no {name} in {}", m.title))
        .value
        .as_str()
}

/// A decoded JWT message's part (`Header:` or `Claims:`) as JSON.
fn decoded(m: &Message, part: &str) -> serde_json::Value {
    let start = m.text.find(&format!("{part}:\n")).unwrap() + part.len() + 2;
    let rest = &m.text[start..];
    let end = rest.find("\n\n").unwrap_or(rest.len());
    serde_json::from_str(&rest[..end]).unwrap()
}

/// RFC 7638, computed here apart from the server and the demo client.
fn thumbprint(jwk: &serde_json::Value) -> String {
    let canonical = format!(
        r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
        jwk["crv"].as_str().unwrap(),
        jwk["x"].as_str().unwrap(),
        jwk["y"].as_str().unwrap()
    );
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()).as_ref())
}

/// Checks the proof message of `record`: ES256, a public jwk, for `htm htu`; its key's
/// thumbprint, which it returns.
fn check_proof(m: &Message, htm: &str, htu: &str) -> String {
    let header = decoded(m, "Header");
    let claims = decoded(m, "Claims");
    assert_eq!(header["typ"], "dpop+jwt");
    assert_eq!(header["alg"], "ES256");
    assert!(header["jwk"].get("d").is_none(), "a public key only");
    assert_eq!(claims["htm"], htm);
    assert_eq!(claims["htu"], htu);
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert!(claims["iat"].as_i64().is_some());
    let jkt = thumbprint(&header["jwk"]);
    assert_eq!(value(m, "thumbprint (jkt)"), jkt);
    jkt
}

/// The plain run is the ten arrows of RFC 6749 §4.1, as before the options existed.
#[tokio::test]
async fn a_plain_demo_run_has_the_ten_steps() {
    let Ran {
        db: _db,
        server,
        browser,
        authorize,
        run,
    } = run_demo(|_| {}, &[]).await;
    assert_eq!(titles(&run), STEPS.map(|s| s.label));
    all_done(&run);
    assert!(authorize.contains("code_challenge="), "{authorize}");
    assert!(!run.options.par && !run.options.dpop);
    let html = common::page(&browser, &server, "/demo").await.text().await.unwrap();
    assert!(html.contains("data-testid=\"step-10\""));
    assert!(!html.contains("data-testid=\"step-11\""));
    assert!(
        html.contains("name=\"par\"") && html.contains("name=\"dpop\""),
        "the options are offered"
    );
    let api = message(step(&run, "Call the API with the token"), "API request");
    assert!(api.text.contains("Authorization: Bearer "), "{}", api.text);
}

/// With PAR: the request is pushed to /par with the client's credentials (secret hidden),
/// the server answers 201 with a request_uri, and the browser carries only that.
#[tokio::test]
async fn a_demo_run_with_par_pushes_the_request() {
    let Ran {
        db: _db,
        server,
        browser,
        authorize,
        run,
    } = run_demo(|_| {}, &[("par", "on")]).await;
    assert_eq!(
        titles(&run)[..4],
        [
            "Access the client",
            "Push the request (PAR)",
            "Return a request_uri",
            "Request authorization"
        ]
    );
    assert_eq!(run.steps.len(), 12);
    all_done(&run);

    let pushed = message(&run.steps[1], "pushed authorization request");
    assert!(pushed.text.starts_with("POST /par HTTP/1.1\n"), "{}", pushed.text);
    assert!(pushed.text.contains("[client secret, hidden]"), "{}", pushed.text);
    assert!(pushed.text.contains("response_type=code"));
    assert!(value(pushed, "code_challenge_method") == "S256");
    assert_eq!(value(pushed, "redirect_uri"), format!("{}/demo/callback", server.base));
    let secret = client_secret(&common::test_secret());
    assert!(!pushed.text.contains(secret.expose()), "the secret is hidden");

    let answer = message(&run.steps[2], "PAR response");
    assert!(answer.text.starts_with("HTTP/1.1 201 Created"), "{}", answer.text);
    let request_uri = value(answer, "request_uri");
    assert!(
        request_uri.starts_with("urn:ietf:params:oauth:request_uri:"),
        "{request_uri}"
    );
    assert_eq!(value(answer, "expires_in"), "60");

    // The browser went to /authorize with client_id and request_uri only.
    let url = url::Url::parse(&authorize).unwrap();
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(
        query,
        [
            ("client_id".to_owned(), DEMO_CLIENT_ID.to_owned()),
            ("request_uri".to_owned(), request_uri.to_owned())
        ]
    );
    let redirect = message(&run.steps[3], "redirect");
    let names: Vec<&str> = redirect.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["client_id", "request_uri"]);
    assert!(!redirect.text.contains("code_challenge"));

    let html = common::page(&browser, &server, "/demo").await.text().await.unwrap();
    assert!(html.contains("data-testid=\"step-12\"") && !html.contains("data-testid=\"step-13\""));
    assert!(html.contains("data-step=\"push-request\""));
}

/// With PAR and without PKCE the server refuses at the push, as JSON to the client: the
/// browser goes nowhere.
#[tokio::test]
async fn a_refused_push_stops_the_run_before_the_browser_moves() {
    let db = common::sqlite();
    let server = common::serve_with(&db.url, |c| c.demo = true).await;
    let browser = common::browser();
    let html = common::page(&browser, &server, "/demo").await.text().await.unwrap();
    let csrf = common::input_value(&html, "csrf").unwrap();
    let res = browser
        .post(format!("{}/demo/start", server.base))
        .form(&[("csrf", csrf.as_str()), ("scope", "openid"), ("par", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()[LOCATION], "/demo");
    let run = current_run(&browser, &server).await;
    assert_eq!(run.steps[1].status, StepStatus::Done);
    let refused = &run.steps[2];
    assert_eq!(refused.status, StepStatus::Error);
    assert!(refused.note.contains("invalid_request"), "{}", refused.note);
    assert!(message(refused, "PAR response").text.starts_with("HTTP/1.1 400"));
    assert_eq!(run.steps[3].status, StepStatus::Pending);
}

/// With DPoP: a proof at /token (its header and claims shown), a DPoP-bound access token
/// (cnf.jkt = the proof's key), the API refusing it as Bearer and taking it with a proof;
/// then refresh and the API again, with proofs.
#[tokio::test]
async fn a_demo_run_with_dpop_binds_the_tokens() {
    let Ran {
        db,
        server,
        browser,
        authorize,
        run,
    } = run_demo(|_| {}, &[("dpop", "on")]).await;
    assert_eq!(run.steps.len(), 13);
    assert_eq!(
        titles(&run)[5..],
        [
            "Sign a DPoP proof",
            "Request token",
            "Validate the request",
            "Return token",
            "Call the API without the proof",
            "Refuse the token",
            "Call the API with the token",
            "Return data"
        ]
    );
    all_done(&run);
    let base = &server.base;

    let proof = message(step(&run, "Sign a DPoP proof"), "DPoP proof for the token request");
    let jkt = check_proof(proof, "POST", &format!("{base}/token"));
    // The code was bound to the key at /authorize (RFC 9449 §10).
    let url = url::Url::parse(&authorize).unwrap();
    assert_eq!(
        url.query_pairs()
            .find(|(k, _)| k == "dpop_jkt")
            .map(|(_, v)| v.into_owned()),
        Some(jkt.clone())
    );
    let request = message(step(&run, "Request token"), "Token request");
    assert!(
        request.text.contains("\ndpop: eyJ") || request.text.contains("\nDPoP: eyJ"),
        "{}",
        request.text
    );

    let returned = step(&run, "Return token");
    let response = message(returned, "Token response");
    assert!(response.text.contains("\"token_type\": \"DPoP\""), "{}", response.text);
    let access = message(returned, "Access token");
    assert_eq!(decoded(access, "Claims")["cnf"]["jkt"], jkt.as_str());
    assert_eq!(value(access, "cnf.jkt"), jkt);

    let bare = message(step(&run, "Call the API without the proof"), "API request");
    assert!(bare.text.contains("Authorization: Bearer "), "{}", bare.text);
    let refused = message(step(&run, "Refuse the token"), "API response");
    assert!(refused.text.starts_with("HTTP/1.1 401"), "{}", refused.text);
    assert!(refused.text.contains("www-authenticate: DPoP "), "{}", refused.text);
    assert!(refused.text.contains("error=\"invalid_token\""), "{}", refused.text);

    let call = step(&run, "Call the API with the token");
    assert!(message(call, "API request").text.contains("Authorization: DPoP "));
    let api_proof = message(call, "DPoP proof for this call");
    assert_eq!(check_proof(api_proof, "GET", &format!("{base}/api/resource")), jkt);
    assert!(!value(api_proof, "ath").is_empty());
    let data = message(step(&run, "Return data"), "API response");
    assert!(data.text.starts_with("HTTP/1.1 200"), "{}", data.text);

    // Refresh with a proof: the new access token is bound to the same key.
    assert_eq!(demo_action(&browser, &server, "/demo/refresh").await, "/demo");
    let run = current_run(&browser, &server).await;
    let refreshed = &run.after[0];
    assert_eq!(refreshed.status, StepStatus::Done, "{}", refreshed.note);
    check_proof(
        message(refreshed, "DPoP proof for the refresh"),
        "POST",
        &format!("{base}/token"),
    );
    assert_eq!(value(message(refreshed, "New access token"), "cnf.jkt"), jkt);
    // The API again, under DPoP with a new proof.
    assert_eq!(demo_action(&browser, &server, "/demo/api").await, "/demo");
    let run = current_run(&browser, &server).await;
    assert_eq!(run.after[1].status, StepStatus::Done, "{}", run.after[1].note);
    check_proof(
        message(&run.after[1], "DPoP proof for this call"),
        "GET",
        &format!("{base}/api/resource"),
    );
    // Neither the tokens nor the proofs (nor the key) are in the sessions table in the clear.
    for row in session_rows(&db).await {
        assert!(!has_jwt(&row), "a JWT in the sessions table");
    }
    // Revoked, the token is refused even with its proof.
    assert_eq!(demo_action(&browser, &server, "/demo/revoke").await, "/demo");
    assert_eq!(demo_action(&browser, &server, "/demo/api").await, "/demo");
    let run = current_run(&browser, &server).await;
    assert_eq!(run.after[3].status, StepStatus::Error);
    assert!(message(&run.after[3], "API response").text.starts_with("HTTP/1.1 401"));
}

/// Both options: fifteen steps, the pushed request names the key (dpop_jkt), the token is
/// bound to it.
#[tokio::test]
async fn a_demo_run_with_par_and_dpop() {
    let Ran { db: _db, run, .. } = run_demo(|_| {}, &[("par", "on"), ("dpop", "on")]).await;
    assert_eq!(run.steps.len(), 15);
    all_done(&run);
    assert_eq!(run.steps[1].title, "Push the request (PAR)");
    assert_eq!(run.steps[7].title, "Sign a DPoP proof");
    assert_eq!(run.steps[12].title, "Refuse the token");
    let jkt = value(
        message(step(&run, "Sign a DPoP proof"), "DPoP proof for the token request"),
        "thumbprint (jkt)",
    );
    let pushed = message(step(&run, "Push the request (PAR)"), "pushed authorization request");
    assert_eq!(value(pushed, "dpop_jkt"), jkt);
    assert!(value(
        message(step(&run, "Return a request_uri"), "PAR response"),
        "request_uri"
    )
    .starts_with("urn:ietf:params:oauth:request_uri:"));
    assert_eq!(
        value(message(step(&run, "Return token"), "Access token"), "cnf.jkt"),
        jkt
    );
}

/// With server nonces on, the token request is refused once with use_dpop_nonce and sent
/// again with a proof of the nonce (RFC 9449 §8); both attempts are shown.
#[tokio::test]
async fn the_demo_client_retries_with_the_servers_dpop_nonce() {
    let Ran {
        db: _db,
        server,
        browser,
        run,
        ..
    } = run_demo(|c| c.dpop_nonce = true, &[("dpop", "on")]).await;
    all_done(&run);
    let proofs = &step(&run, "Sign a DPoP proof").messages;
    assert_eq!(proofs.len(), 2);
    assert!(decoded(&proofs[0], "Claims").get("nonce").is_none());
    let nonce = decoded(&proofs[1], "Claims")["nonce"].as_str().unwrap().to_owned();
    let request = step(&run, "Request token");
    let asked = message(request, "a nonce is needed");
    assert!(asked.text.contains("use_dpop_nonce"), "{}", asked.text);
    assert!(asked.text.contains(&format!("dpop-nonce: {nonce}")), "{}", asked.text);
    message(request, "again with the nonce");
    // The refresh needs a nonce too: it retries the same way.
    assert_eq!(demo_action(&browser, &server, "/demo/refresh").await, "/demo");
    let run = current_run(&browser, &server).await;
    assert_eq!(run.after[0].status, StepStatus::Done, "{}", run.after[0].note);
}

/// A run saved before the options existed (no `par`, no `dpop`) still reads: both off.
#[test]
fn a_run_saved_before_the_options_reads_as_plain() {
    let old = serde_json::json!({
        "options": { "scopes": ["openid"], "pkce": true, "prompt_consent": false, "tamper_state": false },
        "steps": [], "after": [], "has_tokens": false, "has_refresh_token": false
    });
    let run: DemoRun = serde_json::from_value(old).unwrap();
    assert!(!run.options.par && !run.options.dpop);
}
