//! Crash safety, with real processes: `tessera serve` is SIGKILLed while several clients
//! redeem codes, refresh tokens and get client-credentials tokens and an administrator
//! creates users, then started again on the same database (a SQLite file, PostgreSQL).
//! Every answer a caller received is checked afterwards: what was acknowledged is still
//! there, and nothing spent (a code, a rotated refresh token) can be spent again.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::LOCATION;
use serde_json::Value;

use crate::common::{self, Process, TestDb, CALLBACK, PKCE_VERIFIER};

const SCOPES: &str = "openid profile offline_access";
/// Token, code and refresh workers running when the kill comes.
const WORKERS: usize = 4;
/// How long the load runs before the SIGKILL.
const LOAD_BEFORE_KILL: Duration = Duration::from_millis(1500);

/// What the callers were told, and only that: a request whose answer was lost in the crash
/// is in no list.
#[derive(Default, Debug)]
struct Ledger {
    /// Codes issued (the redirect received) and not presented: each must redeem once.
    unspent_codes: Vec<String>,
    /// Codes redeemed (tokens received): each must be refused from now on.
    redeemed_codes: Vec<String>,
    /// Refresh tokens that were answered with a new one: each must be refused.
    rotated: Vec<String>,
    /// The newest refresh token of each chain and its access token: each must work.
    live: Vec<(String, String)>,
    /// client_credentials access tokens: each must stay active.
    access: Vec<String>,
    /// Users the admin console confirmed creating.
    users: Vec<String>,
    /// Whether the worker ended because a request failed (the crash), not by running out
    /// of time.
    interrupted: bool,
}

impl Ledger {
    fn merge(&mut self, other: Ledger) {
        self.unspent_codes.extend(other.unspent_codes);
        self.redeemed_codes.extend(other.redeemed_codes);
        self.rotated.extend(other.rotated);
        self.live.extend(other.live);
        self.access.extend(other.access);
        self.users.extend(other.users);
    }
}

type Answer = Result<(u16, Value), String>;

/// `POST /token` as `web`; an error only when no answer came.
async fn post_token(http: &reqwest::Client, base: &str, secret: &str, form: &[(&str, &str)]) -> Answer {
    let res = http
        .post(format!("{base}/token"))
        .basic_auth("web", Some(secret))
        .form(form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let body = res.json().await.map_err(|e| e.to_string())?;
    Ok((status, body))
}

/// An answer that must be a success: its body.
fn ok(answer: Answer, what: &str) -> Result<Value, String> {
    let (status, body) = answer?;
    // A refusal while the server was up is a bug, not the crash: fail loudly.
    assert_eq!(status, 200, "{what}: {body}");
    Ok(body)
}

fn field(v: &Value, name: &str) -> String {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {v}"))
        .to_owned()
}

/// `/authorize` with the signed-in browser and a remembered consent: the code.
async fn new_code(browser: &reqwest::Client, base: &str) -> Result<String, String> {
    let res = browser
        .get(format!("{base}{}", common::authorize_path(SCOPES)))
        .header("accept", "text/html")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let to = res.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_owned());
    let to = to.unwrap_or_else(|| panic!("authorize: {} without a redirect", res.status()));
    assert!(to.starts_with(CALLBACK), "authorize: {to}");
    let url = url::Url::parse(&to).unwrap();
    Ok(url.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned())
}

/// One client of the server under load: codes (most redeemed, some kept), a chain of
/// refreshes from each, and client_credentials tokens, until a request goes unanswered.
async fn client_worker(
    browser: reqwest::Client,
    base: String,
    secret: String,
    n: usize,
    stop: Arc<AtomicBool>,
) -> Ledger {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut ledger = Ledger::default();
    let mut chain: Option<(String, String)> = None;
    let result: Result<(), String> = async {
        for i in 0.. {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let code = new_code(&browser, &base).await?;
            if (i + n) % 4 == 3 {
                ledger.unspent_codes.push(code);
                continue;
            }
            let form = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", CALLBACK),
                ("code_verifier", PKCE_VERIFIER),
            ];
            let t = ok(post_token(&http, &base, &secret, &form).await, "redeem")?;
            ledger.redeemed_codes.push(code);
            if let Some(done) = chain.replace((field(&t, "refresh_token"), field(&t, "access_token"))) {
                ledger.live.push(done);
            }
            for _ in 0..3 {
                // In flight: if no answer comes, whether it was rotated is unknown, so
                // the chain is in no list.
                let (rt, _) = chain.take().unwrap();
                let form = [("grant_type", "refresh_token"), ("refresh_token", rt.as_str())];
                let t = ok(post_token(&http, &base, &secret, &form).await, "refresh")?;
                ledger.rotated.push(rt);
                chain = Some((field(&t, "refresh_token"), field(&t, "access_token")));
            }
            let form = [("grant_type", "client_credentials")];
            let t = ok(post_token(&http, &base, &secret, &form).await, "client_credentials")?;
            ledger.access.push(field(&t, "access_token"));
        }
        Ok(())
    }
    .await;
    ledger.live.extend(chain);
    ledger.interrupted = result.is_err();
    ledger
}

/// The administrator creating users through the console until a request goes unanswered.
async fn admin_worker(admin: reqwest::Client, base: String, stop: Arc<AtomicBool>) -> Ledger {
    let mut ledger = Ledger::default();
    let result: Result<(), String> = async {
        for i in 0.. {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let html = admin
                .get(format!("{base}/admin/users/new"))
                .header("accept", "text/html")
                .send()
                .await
                .map_err(|e| e.to_string())?
                .text()
                .await
                .map_err(|e| e.to_string())?;
            let csrf = common::input_value(&html, "csrf").expect("csrf");
            let name = format!("user{i}");
            let res = admin
                .post(format!("{base}/ui/admin/users/create"))
                .header("accept", "text/html")
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("username", name.as_str()),
                    ("name", ""),
                    ("email", ""),
                    ("password", "user-password"),
                ])
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let to = res.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_owned());
            let created = to
                .as_deref()
                .is_some_and(|l| l.starts_with("/admin/users/") && l != "/admin/users/new");
            assert!(created, "{name}: {to:?}");
            ledger.users.push(name);
        }
        Ok(())
    }
    .await;
    ledger.interrupted = result.is_err();
    ledger
}

async fn crash_under_load(tdb: TestDb) {
    let port = common::free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let args = ["--issuer", issuer.as_str()];
    let mut server: Process = common::spawn_serve(&tdb.url, port, &args).await;
    let base = server.base.clone();
    common::add_user(&server, "root", "root-password", true).await;
    common::add_user(&server, "alice", "alice-password", false).await;
    let secret = common::add_web_client(&server, SCOPES).await.expose().to_owned();

    // Acknowledged by the server about to crash: a client and a user made in the admin
    // console, a consent given by alice.
    let admin = common::browser();
    assert_eq!(common::sign_in(&admin, &server, "root", "root-password").await, "/");
    let form = [
        ("name", "Console app"),
        ("description", ""),
        ("logo_uri", ""),
        ("client_type", "confidential"),
        ("redirect_uris", CALLBACK),
        ("scopes", "openid profile"),
        ("grant_client_credentials", "on"),
        ("require_pkce", "on"),
        ("access_token_ttl", "900"),
        ("refresh_token_ttl", "86400"),
        ("access_token_alg", "ES256"),
        ("id_token_alg", "RS256"),
    ];
    let at = common::post_form(&admin, &server, "/admin/clients/new", "/ui/admin/clients/create", &form).await;
    let console_client = at.strip_prefix("/admin/clients/").expect("created").to_owned();
    let html = common::page(&admin, &server, &at).await.text().await.unwrap();
    let console_secret = shown_secret(&html).expect("secret shown");
    let zoe = [
        ("username", "zoe"),
        ("name", ""),
        ("email", ""),
        ("password", "zoe-password"),
    ];
    let at = common::post_form(&admin, &server, "/admin/users/new", "/ui/admin/users/create", &zoe).await;
    assert!(at.starts_with("/admin/users/"), "{at}");
    let alice = common::browser();
    let walk = common::authorize_as(
        &alice,
        &server,
        &common::authorize_path(SCOPES),
        ("alice", "alice-password"),
    )
    .await;
    assert_eq!(walk.pages, ["/login", "/consent"]);

    // Load, then SIGKILL in the middle of it.
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for n in 0..WORKERS {
        let worker = client_worker(alice.clone(), base.clone(), secret.clone(), n, stop.clone());
        tasks.push(tokio::spawn(worker));
    }
    tasks.push(tokio::spawn(admin_worker(admin.clone(), base.clone(), stop.clone())));
    tokio::time::sleep(LOAD_BEFORE_KILL).await;
    server.kill9();
    stop.store(true, Ordering::Relaxed);
    let mut ledger = Ledger::default();
    let mut interrupted = 0;
    for task in tasks {
        let l = task.await.unwrap();
        interrupted += usize::from(l.interrupted);
        ledger.merge(l);
    }
    eprintln!(
        "{}: at the kill: {} codes redeemed, {} unspent, {} refresh tokens rotated, {} chains, {} client tokens, {} users; {interrupted} of {} callers cut off",
        tdb.name,
        ledger.redeemed_codes.len(),
        ledger.unspent_codes.len(),
        ledger.rotated.len(),
        ledger.live.len(),
        ledger.access.len(),
        ledger.users.len(),
        WORKERS + 1
    );
    assert!(interrupted > 0, "the kill came after the load stopped");
    for (what, n) in [
        ("codes redeemed", ledger.redeemed_codes.len()),
        ("codes unspent", ledger.unspent_codes.len()),
        ("refresh tokens rotated", ledger.rotated.len()),
        ("users created", ledger.users.len()),
    ] {
        assert!(n > 0, "{}: no {what} before the kill: no load", tdb.name);
    }
    drop(server);

    // Started again on the same database, same address and issuer.
    let server = common::spawn_serve(&tdb.url, port, &args).await;
    let http = reqwest::Client::new();
    let token = |form: Vec<(&'static str, String)>| {
        let http = http.clone();
        let base = base.clone();
        let secret = secret.clone();
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_token(&http, &base, &secret, &form).await.unwrap()
        }
    };
    let active = |t: String| {
        let http = http.clone();
        let base = base.clone();
        let secret = secret.clone();
        async move {
            let v: Value = http
                .post(format!("{base}/introspect"))
                .basic_auth("web", Some(&secret))
                .form(&[("token", t)])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["active"] == true
        }
    };

    // Nothing acknowledged is lost. Alice's session and consent: straight to a code.
    assert!(new_code(&alice, &base).await.is_ok());
    // The console's client and users.
    let res = http
        .post(format!("{base}/token"))
        .basic_auth(&console_client, Some(&console_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}: the console's client", tdb.name);
    for name in ledger.users.iter().chain([&"zoe".to_owned()]) {
        let found = server.db.store.credentials_by_username(name).await.unwrap();
        assert!(found.is_some(), "{}: user {name} lost", tdb.name);
    }
    let last = ledger.users.last().unwrap();
    assert_eq!(
        common::sign_in(&common::browser(), &server, last, "user-password").await,
        "/"
    );
    // Access tokens, the newest refresh token of every chain, unspent codes.
    for at in ledger.access.iter().chain(ledger.live.iter().map(|(_, at)| at)) {
        assert!(active(at.clone()).await, "{}: access token lost", tdb.name);
    }
    for (rt, _) in &ledger.live {
        let (status, body) = token(vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", rt.clone()),
        ])
        .await;
        assert_eq!(status, 200, "{}: refresh token lost: {body}", tdb.name);
    }
    let redeem = |code: &String| {
        token(vec![
            ("grant_type", "authorization_code".into()),
            ("code", code.clone()),
            ("redirect_uri", CALLBACK.into()),
            ("code_verifier", PKCE_VERIFIER.into()),
        ])
    };
    for code in &ledger.unspent_codes {
        let (status, body) = redeem(code).await;
        assert_eq!(status, 200, "{}: code lost: {body}", tdb.name);
    }

    // Nothing spent can be spent again: codes redeemed before the kill (and those just
    // redeemed), refresh tokens rotated before it.
    for code in ledger.redeemed_codes.iter().chain(&ledger.unspent_codes) {
        let (status, body) = redeem(code).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{}: code twice",
            tdb.name
        );
    }
    for rt in &ledger.rotated {
        let (status, body) = token(vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", rt.clone()),
        ])
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{}: refresh token twice",
            tdb.name
        );
    }
}

/// The value of the input marked `data-testid="client-secret"`, if the page shows one.
fn shown_secret(html: &str) -> Option<String> {
    let at = html.find("data-testid=\"client-secret\"")?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let v = tag.find("value=\"")? + 7;
    Some(tag[v..v + tag[v..].find('"')?].to_owned())
}

#[tokio::test]
async fn sigkill_under_load_on_sqlite_loses_nothing_acknowledged() {
    crash_under_load(common::sqlite()).await;
}

#[tokio::test]
async fn sigkill_under_load_on_postgres_loses_nothing_acknowledged() {
    let Some(tdb) = common::postgres_only().await else {
        return;
    };
    crash_under_load(tdb).await;
}
