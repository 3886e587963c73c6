//! The authorization code flow through the real pages, as a browser without JavaScript
//! walks it (cookies, redirects, form posts with the session's CSRF token), with the
//! `oauth2` crate as the client. Plus every refusal of the authorization endpoint.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope,
    TokenResponse, TokenUrl,
};
use reqwest::header::LOCATION;
use tessera_core::password::hash_password;
use tessera_core::secret::ClientSecret as Secret;
use tessera_core::store::NewClient;
use tessera_core::types::{RedirectUri, ScopeSet, Username};

const REDIRECT: &str = "http://127.0.0.1:9/callback";

struct Setup {
    server: common::TestServer,
    client_id: String,
    secret: String,
}

async fn setup(db_url: &str) -> Setup {
    let server = common::serve(db_url).await;
    let store = &server.db.store;
    store
        .create_user(
            tessera_core::store::NewUser {
                username: Username::parse("quinn").unwrap(),
                password_hash: hash_password("quinn-password").unwrap(),
                email: Some("quinn@example.com".into()),
                name: Some("Quinn Q".into()),
                is_admin: false,
            },
            1,
        )
        .await
        .unwrap();
    let secret = Secret::generate();
    store
        .create_client(
            NewClient {
                client_id: "web".into(),
                name: "Web App".into(),
                secret_hash: Some(secret.hash()),
                redirect_uris: vec![RedirectUri::parse(REDIRECT).unwrap()],
                scopes: ScopeSet::parse("openid profile email offline_access").unwrap(),
                is_public: false,
                settings: Default::default(),
            },
            1,
        )
        .await
        .unwrap();
    Setup {
        server,
        client_id: "web".into(),
        secret: secret.expose().to_owned(),
    }
}

/// What the browser does at each page.
#[derive(Clone, Copy, PartialEq)]
enum Consent {
    Allow,
    Deny,
}

/// Follows redirects from `url`, signing in and answering the consent screen, until the
/// browser is sent to the client's redirect URI (returned) or to a page that is not a
/// redirect (returned as `Err(status, body)`). `pages` records the pages shown.
async fn walk(
    browser: &reqwest::Client,
    base: &str,
    url: &str,
    consent: Consent,
    pages: &mut Vec<String>,
) -> Result<url::Url, (u16, String)> {
    let mut next = url.to_owned();
    for _ in 0..12 {
        let absolute = if next.starts_with('/') {
            format!("{base}{next}")
        } else {
            next.clone()
        };
        if absolute.starts_with(REDIRECT) {
            return Ok(url::Url::parse(&absolute).unwrap());
        }
        let res = browser.get(&absolute).send().await.unwrap();
        let status = res.status().as_u16();
        if status == 302 {
            next = res.headers()[LOCATION].to_str().unwrap().to_owned();
            continue;
        }
        let path = url::Url::parse(&absolute).unwrap().path().to_owned();
        let body = res.text().await.unwrap();
        if status != 200 || !(path == "/login" || path == "/consent") {
            return Err((status, body));
        }
        pages.push(path.clone());
        let csrf = common::input_value(&body, "csrf").expect("csrf");
        let request = common::input_value(&body, "request").expect("request id");
        let form: Vec<(&str, &str)> = if path == "/login" {
            vec![
                ("csrf", &csrf),
                ("request", &request),
                ("next", "/"),
                ("username", "quinn"),
                ("password", "quinn-password"),
            ]
        } else {
            assert!(body.contains("Web App"), "consent names the client");
            assert!(body.contains("Signed in as"), "consent says who is signed in");
            let decision = if consent == Consent::Allow { "allow" } else { "deny" };
            vec![("csrf", &csrf), ("request", &request), ("decision", decision)]
        };
        let res = browser
            .post(format!("{base}/ui{path}"))
            .header("accept", "text/html")
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302, "form post on {path} redirects");
        next = res.headers()[LOCATION].to_str().unwrap().to_owned();
    }
    panic!("too many redirects");
}

fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn oauth_client(
    s: &Setup,
) -> oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
> {
    BasicClient::new(ClientId::new(s.client_id.clone()))
        .set_client_secret(ClientSecret::new(s.secret.clone()))
        .set_auth_uri(AuthUrl::new(format!("{}/authorize", s.server.base)).unwrap())
        .set_token_uri(TokenUrl::new(format!("{}/token", s.server.base)).unwrap())
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
}

fn http() -> oauth2::reqwest::Client {
    oauth2::reqwest::ClientBuilder::new()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Steps 1–10 of the flow: authorize, login, consent, code, token, resource.
#[tokio::test]
async fn the_whole_flow_with_a_real_client_on_every_backend() {
    for tdb in common::databases().await {
        let s = setup(&tdb.url).await;
        let client = oauth_client(&s);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (auth_url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(["openid", "profile", "email", "offline_access"].map(|s| Scope::new(s.into())))
            .add_extra_param("nonce", "n-0S6_WzA2Mj")
            .set_pkce_challenge(challenge)
            .url();

        let browser = common::browser();
        let mut pages = Vec::new();
        let callback = walk(&browser, &s.server.base, auth_url.as_str(), Consent::Allow, &mut pages)
            .await
            .unwrap();
        assert_eq!(pages, ["/login", "/consent"], "{}", tdb.name);
        assert_eq!(query(&callback, "state").as_deref(), Some(state.secret().as_str()));
        assert_eq!(
            query(&callback, "iss").as_deref(),
            Some(s.server.base.as_str()),
            "RFC 9207 iss"
        );
        let code = query(&callback, "code").expect("code");
        assert_eq!(code.len(), 43, "256-bit code");

        let token = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&http())
            .await
            .expect("token exchange");
        assert!(token.refresh_token().is_some(), "offline_access gives a refresh token");

        let res = reqwest::Client::new()
            .get(format!("{}/api/resource", s.server.base))
            .bearer_auth(token.access_token().secret())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", tdb.name);
        let body: serde_json::Value = res.json().await.unwrap();
        let user = s
            .server
            .db
            .store
            .credentials_by_username("quinn")
            .await
            .unwrap()
            .unwrap()
            .0;
        assert_eq!(body["sub"], user.id.as_str());
        assert_eq!(body["client_id"], "web");

        // A second authorization for the same scopes skips login (session) and consent
        // (remembered).
        let (challenge, _) = PkceCodeChallenge::new_random_sha256();
        let (url, _) = client
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new("openid".into()))
            .set_pkce_challenge(challenge)
            .url();
        let mut pages = Vec::new();
        let callback = walk(&browser, &s.server.base, url.as_str(), Consent::Allow, &mut pages)
            .await
            .unwrap();
        assert!(pages.is_empty(), "no page shown: {pages:?}");
        assert!(query(&callback, "code").is_some());

        // prompt=consent asks again; prompt=login asks for the password again.
        for (prompt, want) in [("consent", vec!["/consent"]), ("login", vec!["/login"])] {
            let (challenge, _) = PkceCodeChallenge::new_random_sha256();
            let (url, _) = client
                .authorize_url(CsrfToken::new_random)
                .add_scope(Scope::new("openid".into()))
                .add_extra_param("prompt", prompt)
                .set_pkce_challenge(challenge)
                .url();
            let mut pages = Vec::new();
            walk(&browser, &s.server.base, url.as_str(), Consent::Allow, &mut pages)
                .await
                .unwrap();
            assert_eq!(pages, want, "prompt={prompt}");
        }
    }
}

fn authorize_url(s: &Setup, extra: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&format!("{}/authorize", s.server.base)).unwrap();
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn good<'a>() -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", "web"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile"),
        ("state", "xyz"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

fn with(
    mut params: Vec<(&'static str, &'static str)>,
    key: &'static str,
    value: Option<&'static str>,
) -> Vec<(&'static str, &'static str)> {
    params.retain(|(k, _)| *k != key);
    if let Some(v) = value {
        params.push((key, v));
    }
    params
}

#[tokio::test]
async fn deny_returns_access_denied_with_the_state() {
    let tdb = common::sqlite();
    let s = setup(&tdb.url).await;
    let browser = common::browser();
    let mut pages = Vec::new();
    let cb = walk(
        &browser,
        &s.server.base,
        &authorize_url(&s, &good()),
        Consent::Deny,
        &mut pages,
    )
    .await
    .unwrap();
    assert_eq!(query(&cb, "error").as_deref(), Some("access_denied"));
    assert_eq!(query(&cb, "state").as_deref(), Some("xyz"));
    assert_eq!(query(&cb, "iss").as_deref(), Some(s.server.base.as_str()));
    assert!(query(&cb, "code").is_none());
    // Nothing was remembered: the next request asks again.
    let mut pages = Vec::new();
    walk(
        &browser,
        &s.server.base,
        &authorize_url(&s, &good()),
        Consent::Allow,
        &mut pages,
    )
    .await
    .unwrap();
    assert_eq!(pages, ["/consent"]);
}

/// RFC 6749 §4.1.2.1: an unknown client or a redirect URI that does not match is shown to
/// the user, never redirected.
#[tokio::test]
async fn untrusted_client_or_redirect_uri_gets_an_error_page_not_a_redirect() {
    let tdb = common::sqlite();
    let s = setup(&tdb.url).await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (with(good(), "client_id", Some("nobody")), "invalid_request"),
        (with(good(), "client_id", None), "invalid_request"),
        (
            with(good(), "redirect_uri", Some("http://127.0.0.1:9/callback/other")),
            "invalid_request",
        ),
        (
            with(good(), "redirect_uri", Some("http://127.0.0.1:9/CALLBACK")),
            "invalid_request",
        ),
        (
            with(good(), "redirect_uri", Some("https://evil.example/callback")),
            "invalid_request",
        ),
        ([good(), vec![("client_id", "web")]].concat(), "invalid_request"),
        // RFC 9101 §6.3: a request object this client cannot have signed (it has no keys);
        // the redirect URI inside an unverified object is not trusted.
        (
            with(good(), "request", Some("eyJhbGciOiJub25lIn0.e30.")),
            "invalid_request_object",
        ),
    ];
    for (params, code) in cases {
        let res = common::browser().get(authorize_url(&s, &params)).send().await.unwrap();
        assert_eq!(res.status(), 400, "{params:?}");
        assert!(res.headers().get(LOCATION).is_none(), "never redirect: {params:?}");
        let body = res.text().await.unwrap();
        assert!(body.contains(code), "{params:?}: {body}");
    }
}

/// Once client and redirect URI are trusted, errors go back to the client with the
/// error code, the state and iss.
#[tokio::test]
async fn refusals_are_redirected_to_the_client_with_the_exact_error() {
    for tdb in common::databases().await {
        let s = setup(&tdb.url).await;
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (
                with(good(), "response_type", Some("token")),
                "unsupported_response_type",
            ),
            (with(good(), "response_type", None), "invalid_request"),
            (with(good(), "scope", Some("openid admin")), "invalid_scope"),
            (with(good(), "code_challenge", None), "invalid_request"),
            (with(good(), "code_challenge_method", Some("plain")), "invalid_request"),
            ([good(), vec![("scope", "openid")]].concat(), "invalid_request"),
            (with(good(), "prompt", Some("none")), "login_required"),
            (with(good(), "max_age", Some("soon")), "invalid_request"),
            (
                with(good(), "request_uri", Some("https://client.example/req")),
                "request_uri_not_supported",
            ),
        ];
        for (params, code) in cases {
            let res = common::browser().get(authorize_url(&s, &params)).send().await.unwrap();
            assert_eq!(res.status(), 302, "{}: {params:?}", tdb.name);
            let loc = url::Url::parse(res.headers()[LOCATION].to_str().unwrap()).unwrap();
            assert!(loc.as_str().starts_with(REDIRECT), "{loc}");
            assert_eq!(query(&loc, "error").as_deref(), Some(code), "{params:?}");
            assert!(query(&loc, "error_description").is_some());
            assert_eq!(query(&loc, "state").as_deref(), Some("xyz"), "{params:?}");
            assert_eq!(query(&loc, "iss").as_deref(), Some(s.server.base.as_str()));
        }
    }
}

#[tokio::test]
async fn prompt_none_with_a_session_but_no_consent_is_consent_required() {
    let tdb = common::sqlite();
    let s = setup(&tdb.url).await;
    let browser = common::browser();
    // Sign in (then deny, so no consent is on record).
    walk(
        &browser,
        &s.server.base,
        &authorize_url(&s, &good()),
        Consent::Deny,
        &mut Vec::new(),
    )
    .await
    .unwrap();
    let res = browser
        .get(authorize_url(&s, &with(good(), "prompt", Some("none"))))
        .send()
        .await
        .unwrap();
    let loc = url::Url::parse(res.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert_eq!(query(&loc, "error").as_deref(), Some("consent_required"));
    // After consenting once, prompt=none succeeds silently.
    walk(
        &browser,
        &s.server.base,
        &authorize_url(&s, &good()),
        Consent::Allow,
        &mut Vec::new(),
    )
    .await
    .unwrap();
    let res = browser
        .get(authorize_url(&s, &with(good(), "prompt", Some("none"))))
        .send()
        .await
        .unwrap();
    let loc = url::Url::parse(res.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert!(query(&loc, "code").is_some(), "{loc}");
}

#[tokio::test]
async fn post_to_the_authorization_endpoint_works_like_get() {
    let tdb = common::sqlite();
    let s = setup(&tdb.url).await;
    let res = common::browser()
        .post(format!("{}/authorize", s.server.base))
        .form(&good())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert!(res.headers()[LOCATION].to_str().unwrap().starts_with("/login?request="));
}

#[tokio::test]
async fn login_and_consent_pages_cannot_be_framed_and_expired_requests_are_explained() {
    let tdb = common::sqlite();
    let s = setup(&tdb.url).await;
    let browser = common::browser();
    let res = browser.get(authorize_url(&s, &good())).send().await.unwrap();
    let login = res.headers()[LOCATION].to_str().unwrap().to_owned();
    let page = browser.get(format!("{}{login}", s.server.base)).send().await.unwrap();
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert!(
        page.text().await.unwrap().contains("Web App"),
        "the login page names the app"
    );
    let res = browser
        .get(format!("{}/authorize/resume?request=unknown", s.server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("expired"));
}

/// #18 item 9: a pending request resumed within its 10 minutes is checked again against
/// the client as it is now. A redirect URI removed (say, because it was compromised) no
/// longer receives the code; a scope removed from the client is refused to it.
#[tokio::test]
async fn a_resumed_request_is_checked_against_the_client_as_it_is_now() {
    use tessera_core::store::ClientUpdate;
    // (case, change to the client, expected: an error page, or this error at the callback)
    type Change = fn(&mut ClientUpdate);
    let cases: [(&str, Change, Option<&str>); 3] = [
        (
            "redirect URI removed",
            |u| u.redirect_uris = vec![RedirectUri::parse("https://moved.example/cb").unwrap()],
            None,
        ),
        (
            "scope removed",
            |u| u.scopes = ScopeSet::parse("openid").unwrap(),
            Some("invalid_scope"),
        ),
        (
            "code grant withdrawn",
            |u| u.settings.grant_types = vec!["client_credentials".into()],
            Some("unauthorized_client"),
        ),
    ];
    for (case, change, want) in cases {
        for tdb in common::databases().await {
            let server = common::serve(&tdb.url).await;
            common::add_user(&server, "ada", "ada-password", false).await;
            common::add_web_client(&server, "openid profile").await;
            let browser = common::browser();
            let path = common::authorize_path("openid profile");
            let resume = common::sign_in_for_request(&browser, &server, &path, ("ada", "ada-password")).await;
            // The client changes before the signed-in request resumes.
            let client = server.db.store.client_by_id("web").await.unwrap().unwrap();
            let mut update = ClientUpdate {
                name: client.name,
                redirect_uris: client.redirect_uris,
                scopes: client.scopes,
                settings: client.settings,
            };
            change(&mut update);
            assert!(server.db.store.update_client("web", &update).await.unwrap());
            let res = common::page(&browser, &server, &resume).await;
            match want {
                None => {
                    assert_eq!(res.status(), 400, "{} {case}: an error page", tdb.name);
                    assert!(res.headers().get(LOCATION).is_none(), "{} {case}", tdb.name);
                }
                Some(error) => {
                    assert_eq!(res.status(), 302, "{} {case}", tdb.name);
                    let loc = url::Url::parse(res.headers()[LOCATION].to_str().unwrap()).unwrap();
                    assert_eq!(
                        query(&loc, "error").as_deref(),
                        Some(error),
                        "{} {case}: {loc}",
                        tdb.name
                    );
                    assert!(query(&loc, "code").is_none(), "{} {case}", tdb.name);
                }
            }
        }
    }
}

/// #18 item 9: one pending request gives at most one code, however many times (and however
/// concurrently) its resume URL is followed.
#[tokio::test]
async fn concurrent_resumes_of_one_request_issue_one_code() {
    for tdb in common::databases().await {
        let server = common::serve(&tdb.url).await;
        common::add_user(&server, "ada", "ada-password", false).await;
        common::add_web_client(&server, "openid profile").await;
        let browser = common::browser();
        // Consent on record first, so the resumed request goes straight to a code.
        common::authorize_as(
            &browser,
            &server,
            &common::authorize_path("openid profile"),
            ("ada", "ada-password"),
        )
        .await;
        let resume = common::sign_in_for_request(
            &browser,
            &server,
            &format!("{}&prompt=login", common::authorize_path("openid profile")),
            ("ada", "ada-password"),
        )
        .await;
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (browser, url) = (browser.clone(), format!("{}{resume}", server.base));
            tasks.push(tokio::spawn(async move {
                let res = browser.get(url).send().await.unwrap();
                res.headers()
                    .get(LOCATION)
                    .map(|l| l.to_str().unwrap().to_owned())
                    .filter(|l| l.starts_with(common::CALLBACK) && l.contains("code="))
            }));
        }
        let mut codes = 0;
        for t in tasks {
            codes += usize::from(t.await.unwrap().is_some());
        }
        assert_eq!(codes, 1, "{}: one request, {codes} codes", tdb.name);
    }
}

/// #18 item 9, OIDC Core §3.1.2.2: with prompt=none, an `id_token_hint` naming another
/// user than the one signed in is login_required; one that is not this server's ID token
/// for the client is invalid_request; the right user gets a code.
#[tokio::test]
async fn prompt_none_honours_the_id_token_hint() {
    for tdb in common::databases().await {
        let server = common::serve(&tdb.url).await;
        common::add_user(&server, "ada", "ada-password", false).await;
        common::add_user(&server, "bob", "bob-password", false).await;
        let secret = common::add_web_client(&server, "openid profile").await;
        let ada = common::browser();
        let walk = common::authorize_as(
            &ada,
            &server,
            &common::authorize_path("openid"),
            ("ada", "ada-password"),
        )
        .await;
        let (status, tokens) = common::token(
            &server,
            secret.expose(),
            &[
                ("grant_type", "authorization_code"),
                ("code", &walk.code),
                ("redirect_uri", common::CALLBACK),
                ("code_verifier", common::PKCE_VERIFIER),
            ],
        )
        .await;
        assert_eq!(status, 200, "{tokens}");
        let hint = tokens["id_token"].as_str().unwrap().to_owned();
        let bob = common::browser();
        common::authorize_as(
            &bob,
            &server,
            &common::authorize_path("openid"),
            ("bob", "bob-password"),
        )
        .await;

        let silent = |hint: &str| {
            let enc: String = url::form_urlencoded::byte_serialize(hint.as_bytes()).collect();
            format!("{}&prompt=none&id_token_hint={enc}", common::authorize_path("openid"))
        };
        let answer = |res: reqwest::Response| {
            let loc = url::Url::parse(res.headers()[LOCATION].to_str().unwrap()).unwrap();
            (query(&loc, "error"), query(&loc, "code").is_some())
        };
        // (who asks, hint, expected error or a code)
        let cases: [(&str, &reqwest::Client, String, Option<&str>); 4] = [
            ("ada, her own hint", &ada, hint.clone(), None),
            ("bob, ada's hint", &bob, hint.clone(), Some("login_required")),
            (
                "bob, a made-up hint",
                &bob,
                "eyJhbGciOiJub25lIn0.e30.".to_owned(),
                Some("invalid_request"),
            ),
            (
                "ada, a tampered hint",
                &ada,
                format!("{hint}x"),
                Some("invalid_request"),
            ),
        ];
        for (case, browser, hint, want) in cases {
            let (error, code) = answer(common::page(browser, &server, &silent(&hint)).await);
            assert_eq!(error.as_deref(), want, "{} {case}", tdb.name);
            assert_eq!(code, want.is_none(), "{} {case}", tdb.name);
        }
    }
}

/// #18 item 1: one address cannot leave authorization requests pending without limit:
/// past its allowance (60 a minute) the client hears temporarily_unavailable
/// (RFC 6749 §4.1.2.1) and nothing more is stored.
#[tokio::test]
async fn pending_requests_are_limited_per_address() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    common::add_web_client(&server, "openid").await;
    let anon = common::browser();
    let mut stored = 0;
    let mut refused = None;
    for i in 0..tessera::oauth::authorize::PENDING_PER_ADDRESS_PER_MINUTE + 5 {
        let res = common::page(&anon, &server, &common::authorize_path("openid")).await;
        let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
        if location.starts_with("/login?request=") {
            stored += 1;
        } else {
            refused = Some((i, location));
            break;
        }
    }
    let (at, location) = refused.expect("an allowance");
    assert_eq!(
        at,
        tessera::oauth::authorize::PENDING_PER_ADDRESS_PER_MINUTE,
        "refused only past the allowance"
    );
    let loc = url::Url::parse(&location).unwrap();
    assert!(location.starts_with(common::CALLBACK), "{location}");
    assert_eq!(query(&loc, "error").as_deref(), Some("temporarily_unavailable"));
    assert_eq!(query(&loc, "state").as_deref(), Some("s1"));
    assert_eq!(stored, tessera::oauth::authorize::PENDING_PER_ADDRESS_PER_MINUTE);
}
