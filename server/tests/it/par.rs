//! Pushed authorization requests (RFC 9126): `POST /par` and `/authorize` with the
//! `request_uri` it returns, through the real login and consent pages; every refusal with
//! its status and code; one use, also under concurrency and across two instances on one
//! PostgreSQL; `require_pushed_authorization_requests` per client and for the server.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::{self, TestServer, CALLBACK, PKCE_CHALLENGE, PKCE_VERIFIER};

use reqwest::header::{CACHE_CONTROL, LOCATION, WWW_AUTHENTICATE};
use serde_json::Value;
use tessera_core::secret::hash_secret;
use tessera_core::store::{ClientSettings, NewClient};
use tessera_core::types::{RedirectUri, ScopeSet};

const URN: &str = "urn:ietf:params:oauth:request_uri:";
const ALICE: (&str, &str) = ("alice", "alice-password");
/// The public client `spa`'s redirect URI (a loopback one: any port matches).
const SPA_CALLBACK: &str = "http://127.0.0.1/spa";

struct Setup {
    server: TestServer,
    /// The confidential client `web`'s secret.
    secret: String,
}

/// A server with the user alice, the confidential client `web` (Basic auth, redirect URI
/// [`CALLBACK`], PKCE required by default) and the public client `spa`.
async fn setup_with(db_url: &str, configure: impl FnOnce(&mut tessera::config::Config)) -> Setup {
    let server = common::serve_with(db_url, configure).await;
    common::add_user(&server, ALICE.0, ALICE.1, false).await;
    let secret = common::add_web_client(&server, "openid profile email").await;
    add_client(&server, "spa", true, SPA_CALLBACK, Default::default()).await;
    Setup {
        server,
        secret: secret.expose().to_owned(),
    }
}

async fn setup(db_url: &str) -> Setup {
    setup_with(db_url, |_| {}).await
}

async fn add_client(server: &TestServer, id: &str, public: bool, redirect: &str, settings: ClientSettings) {
    server
        .db
        .store
        .create_client(
            NewClient {
                client_id: id.into(),
                name: format!("{id} app"),
                secret_hash: (!public).then(|| tessera_core::secret::ClientSecret::generate().hash()),
                redirect_uris: vec![RedirectUri::parse(redirect).unwrap()],
                scopes: ScopeSet::parse("openid profile").unwrap(),
                is_public: public,
                settings,
            },
            1,
        )
        .await
        .unwrap();
}

/// `web`'s authorization request, as pushed (client_id comes from Basic authentication).
fn web_request() -> Vec<(&'static str, &'static str)> {
    vec![
        ("response_type", "code"),
        ("redirect_uri", CALLBACK),
        ("scope", "openid profile"),
        ("state", "s1"),
        ("code_challenge", PKCE_CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

/// `request` with the parameters in `changes` replaced, or removed when the value is "".
fn changed<'a>(request: &[(&'a str, &'a str)], changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v: Vec<_> = request
        .iter()
        .copied()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .collect();
    v.extend(changes.iter().copied().filter(|(_, val)| !val.is_empty()));
    v
}

/// Form parameters, as pushed.
type Form<'a> = Vec<(&'a str, &'a str)>;

/// How the client authenticates at `/par`.
#[derive(Clone, Copy)]
enum Auth<'a> {
    Basic(&'a str, &'a str),
    /// Nothing beyond the form (a public client's client_id, or client_secret_post).
    Form,
}

struct Pushed {
    status: u16,
    body: Value,
    cache_control: Option<String>,
    www_authenticate: Option<String>,
}

impl Pushed {
    fn request_uri(&self) -> String {
        assert_eq!(self.status, 201, "{}", self.body);
        self.body["request_uri"].as_str().unwrap().to_owned()
    }

    fn error(&self) -> (u16, &str) {
        (self.status, self.body["error"].as_str().unwrap_or("<none>"))
    }
}

async fn push(server: &TestServer, auth: Auth<'_>, form: &[(&str, &str)]) -> Pushed {
    let mut req = reqwest::Client::new().post(format!("{}/par", server.base)).form(form);
    if let Auth::Basic(id, secret) = auth {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await.unwrap();
    let header = |name| {
        res.headers()
            .get(name)
            .map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_owned())
    };
    let (cache_control, www_authenticate) = (header(CACHE_CONTROL), header(WWW_AUTHENTICATE));
    Pushed {
        status: res.status().as_u16(),
        body: res.json().await.unwrap_or(Value::Null),
        cache_control,
        www_authenticate,
    }
}

/// `web` pushes its usual request.
async fn push_web(s: &Setup) -> String {
    push(&s.server, Auth::Basic("web", &s.secret), &web_request())
        .await
        .request_uri()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn authorize_path(client_id: &str, request_uri: &str) -> String {
    format!(
        "/authorize?client_id={}&request_uri={}",
        enc(client_id),
        enc(request_uri)
    )
}

/// `/authorize` must show `code` to the user: 400, an HTML page, no redirect.
async fn assert_shown(browser: &reqwest::Client, server: &TestServer, path: &str, code: &str) {
    let res = common::page(browser, server, path).await;
    assert_eq!(res.status(), 400, "{path}");
    assert!(res.headers().get(LOCATION).is_none(), "{path}: no redirect");
    let html = res.text().await.unwrap();
    assert!(html.contains(&format!("<strong>{code}</strong>")), "{path}: {html}");
}

/// `/authorize` must lead to the login page (the pushed request taken and pending).
async fn assert_to_login(browser: &reqwest::Client, server: &TestServer, path: &str) {
    let res = common::page(browser, server, path).await;
    assert_eq!(res.status(), 302, "{path}");
    let to = res.headers()[LOCATION].to_str().unwrap();
    assert!(to.starts_with("/login?request="), "{path}: {to}");
}

/// The query of a redirect to `web`'s callback.
fn callback_query(location: &str) -> Vec<(String, String)> {
    assert!(location.starts_with(CALLBACK), "{location}");
    url::Url::parse(location).unwrap().query_pairs().into_owned().collect()
}

fn get<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Moves every pushed request `secs` into the past (they then expire by the database's own
/// comparison, as they would with time passing).
async fn age_pushed_requests(url: &str, secs: i64) {
    use sqlx::Connection;
    let sql = format!("UPDATE pushed_requests SET created_at = created_at - {secs}, expires_at = expires_at - {secs}");
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query(&sql).execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(&sql).execute(&mut c).await.unwrap();
    }
}

async fn pushed_rows(url: &str) -> i64 {
    use sqlx::Connection;
    let sql = "SELECT COUNT(*) FROM pushed_requests";
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    }
}

/// GETs every URL at once, each from a browser of its own; their statuses.
async fn at_once(urls: impl Iterator<Item = String>) -> Vec<u16> {
    let mut set = tokio::task::JoinSet::new();
    for url in urls {
        set.spawn(async move {
            let res = common::browser().get(url).header("accept", "text/html").send().await;
            res.unwrap().status().as_u16()
        });
    }
    set.join_all().await
}

/// Push, then the browser at `/authorize` with only client_id and request_uri: login,
/// consent, the code at the callback with the pushed state, and tokens for the pushed
/// scopes. Parameters sent to `/authorize` next to request_uri are ignored (RFC 9126 §4).
#[tokio::test]
async fn push_then_authorize_login_consent_and_token() {
    for tdb in common::databases().await {
        let s = setup(&tdb.url).await;
        let pushed = push(&s.server, Auth::Basic("web", &s.secret), &web_request()).await;
        assert_eq!(pushed.status, 201, "{}: {}", tdb.name, pushed.body);
        assert_eq!(pushed.body["expires_in"], 60);
        assert_eq!(pushed.cache_control.as_deref(), Some("no-store"));
        let request_uri = pushed.request_uri();
        let id = request_uri.strip_prefix(URN).expect("our URN");
        assert_eq!(id.len(), 43, "256 random bits, base64url");

        // Everything but client_id next to request_uri is ignored: another scope, state
        // and redirect URI (even an unregistered one) change nothing.
        let path = format!(
            "{}&scope=email&state=evil&redirect_uri={}&response_type=token",
            authorize_path("web", &request_uri),
            enc("https://evil.example/cb")
        );
        let browser = common::browser();
        let walk = common::authorize_as(&browser, &s.server, &path, ALICE).await;
        assert_eq!(walk.pages, ["/login", "/consent"], "{}", tdb.name);
        let consent = walk.consent_html.unwrap();
        assert!(consent.contains("profile") && !consent.contains(">email<"), "{consent}");
        let q = callback_query(&walk.callback_url);
        assert_eq!(get(&q, "state"), Some("s1"));
        assert_eq!(get(&q, "iss"), Some(s.server.base.as_str()));

        let (status, tokens) = common::token(
            &s.server,
            &s.secret,
            &[
                ("grant_type", "authorization_code"),
                ("code", &walk.code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", PKCE_VERIFIER),
            ],
        )
        .await;
        assert_eq!(status, 200, "{}: {tokens}", tdb.name);
        assert_eq!(tokens["scope"], "openid profile");
        assert!(tokens["id_token"].is_string() && tokens["access_token"].is_string());

        // One use: the same request_uri again is refused, shown to the user.
        assert_shown(&browser, &s.server, &path, "invalid_request_uri").await;

        // A public client pushes with its client_id alone, PKCE required as at /authorize.
        let spa = [
            ("client_id", "spa"),
            ("response_type", "code"),
            ("redirect_uri", "http://127.0.0.1:51000/spa"),
            ("scope", "openid"),
            ("code_challenge", PKCE_CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        let uri = push(&s.server, Auth::Form, &spa).await.request_uri();
        assert_to_login(&common::browser(), &s.server, &authorize_path("spa", &uri)).await;
    }
}

/// The request is taken at /authorize and lives on as an ordinary pending request: the
/// login page can be reloaded (node-oidc-provider behaves the same), the request_uri not.
#[tokio::test]
async fn reloading_the_login_page_works_after_the_request_uri_is_spent() {
    let tdb = common::sqlite();
    let s = setup(&tdb.url).await;
    let uri = push_web(&s).await;
    let browser = common::browser();
    let res = common::page(&browser, &s.server, &authorize_path("web", &uri)).await;
    let login = res.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(!login.contains(uri.strip_prefix(URN).unwrap()), "a new opaque id");
    for _ in 0..2 {
        assert_eq!(common::page(&browser, &s.server, &login).await.status(), 200);
    }
    assert_eq!(pushed_rows(&tdb.url).await, 0, "taken");
    assert_shown(&browser, &s.server, &authorize_path("web", &uri), "invalid_request_uri").await;
    // Nor is a pushed id accepted where a pending request's is.
    let pushed_id = push_web(&s).await.strip_prefix(URN).unwrap().to_owned();
    let res = common::page(&browser, &s.server, &format!("/authorize/resume?request={pushed_id}")).await;
    assert_eq!(res.status(), 400);
}

/// RFC 9126 §2.1, §2.3: what /authorize would refuse is refused at the push, as JSON with
/// the RFC 6749 code, never later as a redirect; client authentication as at /token.
#[tokio::test]
async fn refusals_at_the_push() {
    let tdb = common::sqlite();
    let s = setup(&tdb.url).await;
    add_client(
        &s.server,
        "machine",
        false,
        "https://m.example/cb",
        ClientSettings {
            grant_types: vec!["client_credentials".into()],
            ..Default::default()
        },
    )
    .await;
    let basic = Auth::Basic("web", &s.secret);
    let req = web_request();
    let spa_ok = vec![
        ("client_id", "spa"),
        ("response_type", "code"),
        ("redirect_uri", SPA_CALLBACK),
        ("scope", "openid"),
        ("code_challenge", PKCE_CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let with_secret = changed(&req, &[("client_id", "web")]);
    #[rustfmt::skip]
    let table: Vec<(&str, Auth, Form, u16, &str)> = vec![
        ("redirect_uri not registered", basic, changed(&req, &[("redirect_uri", "https://evil.example/cb")]), 400, "invalid_request"),
        ("redirect_uri missing (openid)", basic, changed(&req, &[("redirect_uri", "")]), 400, "invalid_request"),
        ("scope not allowed", basic, changed(&req, &[("scope", "openid offline_access")]), 400, "invalid_scope"),
        ("scope unknown", basic, changed(&req, &[("scope", "openid nope")]), 400, "invalid_scope"),
        ("scope missing", basic, changed(&req, &[("scope", "")]), 400, "invalid_scope"),
        ("PKCE missing", basic, changed(&req, &[("code_challenge", ""), ("code_challenge_method", "")]), 400, "invalid_request"),
        ("PKCE plain", basic, changed(&req, &[("code_challenge_method", "plain")]), 400, "invalid_request"),
        ("public client without PKCE", Auth::Form, changed(&spa_ok, &[("code_challenge", ""), ("code_challenge_method", "")]), 400, "invalid_request"),
        ("response_type token", basic, changed(&req, &[("response_type", "token")]), 400, "unsupported_response_type"),
        ("response_type missing", basic, changed(&req, &[("response_type", "")]), 400, "invalid_request"),
        ("prompt unknown", basic, changed(&req, &[("prompt", "create")]), 400, "invalid_request"),
        ("repeated scope", basic, [req.clone(), vec![("scope", "openid")]].concat(), 400, "invalid_request"),
        ("request_uri pushed", basic, changed(&req, &[("request_uri", "urn:ietf:params:oauth:request_uri:abc")]), 400, "invalid_request"),
        ("unsigned request object", basic, changed(&req, &[("request", "eyJhbGciOiJub25lIn0.e30.")]), 400, "invalid_request_object"),
        ("client_id of another client", basic, changed(&req, &[("client_id", "spa")]), 400, "invalid_request"),
        ("another client's wrong secret", Auth::Basic("machine", "wrong"), req.clone(), 401, "invalid_client"),
        ("wrong secret (Basic)", Auth::Basic("web", "wrong"), req.clone(), 401, "invalid_client"),
        ("unknown client (Basic)", Auth::Basic("nobody", "x"), req.clone(), 401, "invalid_client"),
        ("wrong secret (post)", Auth::Form, changed(&with_secret, &[("client_secret", "wrong")]), 400, "invalid_client"),
        ("confidential client without its secret", Auth::Form, with_secret.clone(), 400, "invalid_client"),
        ("no client at all", Auth::Form, req.clone(), 400, "invalid_client"),
        ("unknown public client", Auth::Form, changed(&spa_ok, &[("client_id", "nobody")]), 400, "invalid_client"),
    ];
    for (name, auth, form, status, code) in &table {
        let p = push(&s.server, *auth, form).await;
        assert_eq!(p.error(), (*status, *code), "{name}: {}", p.body);
        assert_eq!(p.cache_control.as_deref(), Some("no-store"), "{name}");
        if *status == 401 {
            assert!(
                p.www_authenticate.as_deref().unwrap_or("").starts_with("Basic"),
                "{name}"
            );
        }
    }
    assert_eq!(pushed_rows(&tdb.url).await, 0, "nothing refused was stored");

    let http = reqwest::Client::new();
    let par = format!("{}/par", s.server.base);
    // RFC 9126 §2.3: GET is 405; a body that is not a form, or too large, invalid_request.
    assert_eq!(http.get(&par).send().await.unwrap().status(), 405);
    let res = http
        .post(&par)
        .basic_auth("web", Some(&s.secret))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_request");
    let big = "x".repeat(tessera_core::policy::MAX_FORM_BYTES);
    let p = push(&s.server, basic, &changed(&req, &[("nonce", &big)])).await;
    assert_eq!(p.error(), (400, "invalid_request"));
    assert_eq!(pushed_rows(&tdb.url).await, 0);
    // The same requests succeed once corrected: the refusals were about what they named.
    push(&s.server, Auth::Form, &spa_ok).await.request_uri();
    push(
        &s.server,
        Auth::Form,
        &changed(&with_secret, &[("client_secret", &s.secret)]),
    )
    .await
    .request_uri();
}

/// A confidential client authenticated but without the authorization code grant.
#[tokio::test]
async fn a_client_without_the_code_grant_cannot_push() {
    let tdb = common::sqlite();
    let s = setup(&tdb.url).await;
    let secret = tessera_core::secret::ClientSecret::generate();
    s.server
        .db
        .store
        .create_client(
            NewClient {
                client_id: "machine".into(),
                name: "Machine".into(),
                secret_hash: Some(secret.hash()),
                redirect_uris: vec![RedirectUri::parse(CALLBACK).unwrap()],
                scopes: ScopeSet::parse("openid profile").unwrap(),
                is_public: false,
                settings: ClientSettings {
                    grant_types: vec!["client_credentials".into()],
                    ..Default::default()
                },
            },
            1,
        )
        .await
        .unwrap();
    let p = push(&s.server, Auth::Basic("machine", secret.expose()), &web_request()).await;
    assert_eq!(p.error(), (400, "unauthorized_client"), "{}", p.body);
}

/// RFC 9126 §4 at /authorize: an expired, unknown, used or another client's request_uri,
/// or none of client_id, is shown to the user (400, no redirect); another request_uri
/// value stays request_uri_not_supported, sent back to the client.
#[tokio::test]
async fn refusals_at_authorize() {
    for tdb in common::databases().await {
        let s = setup(&tdb.url).await;
        let browser = common::browser();
        let server = &s.server;

        // Another client's: refused, and not spent (the rightful client can still use it).
        let uri = push_web(&s).await;
        assert_shown(&browser, server, &authorize_path("spa", &uri), "invalid_request_uri").await;
        assert_shown(&browser, server, &authorize_path("nobody", &uri), "invalid_request_uri").await;
        // client_id missing: RFC 9126 §4 requires it.
        let path = format!("/authorize?request_uri={}", enc(&uri));
        assert_shown(&browser, server, &path, "invalid_request").await;
        assert_to_login(&browser, server, &authorize_path("web", &uri)).await;
        // Used.
        assert_shown(&browser, server, &authorize_path("web", &uri), "invalid_request_uri").await;

        // Expired: a minute and a second later.
        let uri = push_web(&s).await;
        age_pushed_requests(&tdb.url, 61).await;
        assert_shown(&browser, server, &authorize_path("web", &uri), "invalid_request_uri").await;
        // Just inside its minute it still works.
        let uri = push_web(&s).await;
        age_pushed_requests(&tdb.url, 59).await;
        assert_to_login(&browser, server, &authorize_path("web", &uri)).await;

        // Unknown, or our prefix without an id.
        let unknown = format!("{URN}{}", "A".repeat(43));
        assert_shown(
            &browser,
            server,
            &authorize_path("web", &unknown),
            "invalid_request_uri",
        )
        .await;
        assert_shown(&browser, server, &authorize_path("web", URN), "invalid_request_uri").await;

        // Any other request_uri: not supported, sent back once the redirect URI is verified.
        let path = format!(
            "{}&request_uri={}",
            common::authorize_path("openid"),
            enc("https://client.example/request.jwt")
        );
        let res = common::page(&browser, server, &path).await;
        assert_eq!(res.status(), 302, "{}", tdb.name);
        let q = callback_query(res.headers()[LOCATION].to_str().unwrap());
        assert_eq!(get(&q, "error"), Some("request_uri_not_supported"));
        assert_eq!(get(&q, "state"), Some("s1"));
    }
}

/// RFC 9126 §4: one use, even when the browser (or an attacker) sends the request_uri
/// many times at once: exactly one gets the login page.
#[tokio::test]
async fn concurrent_uses_of_one_request_uri_yield_one_success() {
    for tdb in common::databases().await {
        let s = setup(&tdb.url).await;
        let uri = push_web(&s).await;
        let path = authorize_path("web", &uri);
        let statuses = at_once((0..8).map(|_| format!("{}{path}", s.server.base))).await;
        let won = statuses.iter().filter(|s| **s == 302).count();
        let refused = statuses.iter().filter(|s| **s == 400).count();
        assert_eq!((won, refused), (1, 7), "{}: {statuses:?}", tdb.name);
    }
}

/// Two `tessera serve` processes on one PostgreSQL: a request pushed to one is usable on
/// the other, once; concurrent uses on both give exactly one success.
#[tokio::test]
async fn one_use_across_two_instances() {
    let Some(tdb) = common::postgres_only().await else {
        return;
    };
    let a = common::spawn_serve(&tdb.url, common::free_port(), &[]).await;
    // B requires PAR of every client (`tessera serve --require-par`): pushed requests
    // still work there, plain ones do not, and its discovery says so.
    let b = common::spawn_serve(&tdb.url, common::free_port(), &["--require-par"]).await;
    common::add_user(&a, ALICE.0, ALICE.1, false).await;
    let secret = common::add_web_client(&a, "openid profile").await;
    let secret = secret.expose();
    let required = |server: &TestServer| {
        let url = format!("{}/.well-known/openid-configuration", server.base);
        async move {
            let d: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
            d["require_pushed_authorization_requests"].as_bool()
        }
    };
    assert_eq!((required(&a).await, required(&b).await), (Some(false), Some(true)));
    let plain = common::authorize_path("openid");
    let res = common::page(&common::browser(), &b, &plain).await;
    let q = callback_query(res.headers()[LOCATION].to_str().unwrap());
    assert_eq!(
        get(&q, "error_description"),
        Some("pushed authorization request required")
    );
    assert_to_login(&common::browser(), &a, &plain).await;

    // Pushed on A, used on B, replayed on A.
    let uri = push(&a, Auth::Basic("web", secret), &web_request()).await.request_uri();
    let browser = common::browser();
    assert_to_login(&browser, &b, &authorize_path("web", &uri)).await;
    assert_shown(&browser, &a, &authorize_path("web", &uri), "invalid_request_uri").await;
    assert_shown(&browser, &b, &authorize_path("web", &uri), "invalid_request_uri").await;

    // Concurrent uses on both instances, several rounds.
    for round in 0..5 {
        let uri = push(&b, Auth::Basic("web", secret), &web_request()).await.request_uri();
        let path = authorize_path("web", &uri);
        let urls = (0..6).map(|i| format!("{}{path}", if i % 2 == 0 { &a.base } else { &b.base }));
        let statuses = at_once(urls).await;
        let won = statuses.iter().filter(|s| **s == 302).count();
        assert_eq!(won, 1, "round {round}: {statuses:?}");
        assert!(statuses.iter().all(|s| *s == 302 || *s == 400), "{statuses:?}");
    }
}

/// RFC 9126 §6: a client registered to require PAR is refused at a plain /authorize with
/// invalid_request, redirected with state once its redirect URI is verified (as
/// node-oidc-provider does), shown when not; its pushed requests work.
#[tokio::test]
async fn par_required_for_one_client() {
    let tdb = common::sqlite();
    let s = setup(&tdb.url).await;
    let store = &s.server.db.store;
    let mut web = store.client_by_id("web").await.unwrap().unwrap();
    web.settings.require_pushed_authorization_requests = true;
    let update = tessera_core::store::ClientUpdate {
        name: web.name.clone(),
        redirect_uris: web.redirect_uris.clone(),
        scopes: web.scopes.clone(),
        settings: web.settings.clone(),
    };
    assert!(store.update_client("web", &update).await.unwrap());
    let browser = common::browser();

    let res = common::page(&browser, &s.server, &common::authorize_path("openid")).await;
    assert_eq!(res.status(), 302);
    let q = callback_query(res.headers()[LOCATION].to_str().unwrap());
    assert_eq!(get(&q, "error"), Some("invalid_request"));
    assert_eq!(
        get(&q, "error_description"),
        Some("pushed authorization request required")
    );
    assert_eq!(get(&q, "state"), Some("s1"));
    // An unverified redirect URI is never redirected to, PAR or not.
    let evil = common::authorize_path("openid").replace(&enc(CALLBACK), &enc("https://evil.example/cb"));
    assert_shown(&browser, &s.server, &evil, "invalid_request").await;
    // Another request_uri value is no way around it.
    let other = format!(
        "{}&request_uri={}",
        common::authorize_path("openid"),
        enc("https://x.example/r")
    );
    let res = common::page(&browser, &s.server, &other).await;
    let q = callback_query(res.headers()[LOCATION].to_str().unwrap());
    assert_eq!(
        get(&q, "error_description"),
        Some("pushed authorization request required")
    );

    // Pushed, it goes through; another client is not affected.
    let uri = push_web(&s).await;
    assert_to_login(&browser, &s.server, &authorize_path("web", &uri)).await;
    let spa = format!(
        "/authorize?response_type=code&client_id=spa&redirect_uri={}&scope=openid\
         &code_challenge={PKCE_CHALLENGE}&code_challenge_method=S256",
        enc(SPA_CALLBACK)
    );
    assert_to_login(&browser, &s.server, &spa).await;
}

/// `--require-par`: every client must push; discovery says so. Off by default, and
/// discovery always names the endpoint.
#[tokio::test]
async fn par_required_for_every_client_and_discovery() {
    let tdb = common::sqlite();
    let http = reqwest::Client::new();
    let discovery = |base: String| {
        let http = http.clone();
        async move {
            let d: Value = http
                .get(format!("{base}/.well-known/openid-configuration"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let m: Value = http
                .get(format!("{base}/.well-known/oauth-authorization-server"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(d, m);
            d
        }
    };
    let plain = setup(&tdb.url).await;
    let d = discovery(plain.server.base.clone()).await;
    assert_eq!(
        d["pushed_authorization_request_endpoint"],
        format!("{}/par", plain.server.base)
    );
    assert_eq!(d["require_pushed_authorization_requests"], false);
    assert_to_login(&common::browser(), &plain.server, &common::authorize_path("openid")).await;

    let tdb = common::sqlite();
    let s = setup_with(&tdb.url, |c| c.require_par = true).await;
    let d = discovery(s.server.base.clone()).await;
    assert_eq!(d["require_pushed_authorization_requests"], true);
    let browser = common::browser();
    let res = common::page(&browser, &s.server, &common::authorize_path("openid")).await;
    assert_eq!(res.status(), 302);
    let q = callback_query(res.headers()[LOCATION].to_str().unwrap());
    assert_eq!(
        (get(&q, "error"), get(&q, "state")),
        (Some("invalid_request"), Some("s1"))
    );
    // An unknown client is still shown its own error.
    assert_shown(
        &browser,
        &s.server,
        "/authorize?client_id=nobody&response_type=code&scope=openid",
        "invalid_request",
    )
    .await;
    let uri = push_web(&s).await;
    assert_to_login(&browser, &s.server, &authorize_path("web", &uri)).await;
}

/// The store: the per-client cap on live pushed requests (counted in the INSERT),
/// taking (only by the pushing client, only before expiry, once), and the janitor.
#[tokio::test]
async fn storage_cap_take_and_purge() {
    for tdb in common::databases().await {
        let db = common::open(&tdb).await;
        let s = &db.store;
        for id in ["c1", "c2"] {
            s.create_client(
                NewClient {
                    client_id: id.into(),
                    name: id.into(),
                    secret_hash: None,
                    redirect_uris: vec![RedirectUri::parse(CALLBACK).unwrap()],
                    scopes: ScopeSet::parse("openid").unwrap(),
                    is_public: true,
                    settings: Default::default(),
                },
                1,
            )
            .await
            .unwrap();
        }
        let now = 10_000;
        let put = |id: &'static str, client: &'static str, at: i64| async move {
            s.put_pushed_request(&hash_secret(id), client, "{}", at, at + 60, 2)
                .await
                .unwrap()
        };
        assert!(put("a", "c1", now).await);
        assert!(put("b", "c1", now).await);
        assert!(!put("c", "c1", now).await, "{}: at the cap", tdb.name);
        assert!(put("c", "c2", now).await, "another client has its own cap");
        // Expired rows do not count.
        assert!(put("d", "c1", now + 60).await);
        // Taken by the pushing client only, before expiry, once.
        assert_eq!(s.take_pushed_request(&hash_secret("a"), "c2", now).await.unwrap(), None);
        assert_eq!(
            s.take_pushed_request(&hash_secret("a"), "c1", now + 60).await.unwrap(),
            None
        );
        assert_eq!(
            s.take_pushed_request(&hash_secret("a"), "c1", now + 59)
                .await
                .unwrap()
                .as_deref(),
            Some("{}")
        );
        assert_eq!(s.take_pushed_request(&hash_secret("a"), "c1", now).await.unwrap(), None);
        // The janitor removes expired ones (b and c at now + 60), not live ones (d).
        s.purge_expired(now + 61, 0).await.unwrap();
        assert_eq!(pushed_rows(&tdb.url).await, 1, "{}", tdb.name);
        assert!(s
            .take_pushed_request(&hash_secret("d"), "c1", now + 61)
            .await
            .unwrap()
            .is_some());
    }
}

/// The `<input>` tag named `name` in a page.
fn input_tag<'a>(html: &'a str, name: &str) -> &'a str {
    let at = html.find(&format!("name=\"{name}\"")).expect("the field");
    let start = html[..at].rfind('<').unwrap();
    &html[start..at + html[at..].find('>').unwrap()]
}

/// The per-client setting from the console (a checkbox, on create and edit) and from the
/// command line (`tessera client add --require-par`); `tessera serve --require-par` for all.
#[tokio::test]
async fn console_and_cli_set_par_required() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    common::add_user(&server, "root", "root-password", true).await;
    let admin = common::browser();
    common::sign_in(&admin, &server, "root", "root-password").await;
    let new = common::page(&admin, &server, "/admin/clients/new")
        .await
        .text()
        .await
        .unwrap();
    assert!(!input_tag(&new, "require_pushed_authorization_requests").contains("checked"));
    let mut form = vec![
        ("name", "Bank"),
        ("client_type", "confidential"),
        ("redirect_uris", "https://bank.example/cb"),
        ("scopes", "openid"),
        ("grant_authorization_code", "on"),
        ("require_pkce", "on"),
        ("access_token_ttl", "900"),
        ("refresh_token_ttl", "86400"),
        ("access_token_alg", "ES256"),
        ("id_token_alg", "RS256"),
        ("require_pushed_authorization_requests", "on"),
    ];
    let location = common::post_form(&admin, &server, "/admin/clients/new", "/ui/admin/clients/create", &form).await;
    let client = server.db.store.list_clients().await.unwrap().remove(0);
    assert!(client.settings.require_pushed_authorization_requests);
    let html = common::page(&admin, &server, &location).await.text().await.unwrap();
    assert!(input_tag(&html, "require_pushed_authorization_requests").contains("checked"));
    // Unchecked on edit: off again.
    form.retain(|(k, _)| *k != "require_pushed_authorization_requests" && *k != "client_type");
    form.push(("client_id", &client.client_id));
    common::post_form(&admin, &server, &location, "/ui/admin/clients/update", &form).await;
    let edited = server.db.store.client_by_id(&client.client_id).await.unwrap().unwrap();
    assert!(!edited.settings.require_pushed_authorization_requests);

    let cli = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .env("TESSERA_SECRET", common::TEST_SECRET)
            .env_remove("TESSERA_DATABASE_URL")
            .args(["--database-url", &tdb.url, "client", "add", "--name", "CLI"])
            .args(["--redirect-uri", "https://cli.example/cb"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let id: Value = serde_json::from_slice(&out.stdout).unwrap();
        id["client_id"].as_str().unwrap().to_owned()
    };
    let (with, without) = (cli(&["--require-par"]), cli(&[]));
    let setting = |id: String| {
        let store = server.db.store.clone();
        async move {
            let c = store.client_by_id(&id).await.unwrap().unwrap();
            c.settings.require_pushed_authorization_requests
        }
    };
    assert!(setting(with).await);
    assert!(!setting(without).await);
}
