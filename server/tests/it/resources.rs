//! Resource indicators (RFC 8707) and registered APIs: the store on both backends, the
//! sample resource registered at start, `resource` at `/authorize` and `/token` (code,
//! refresh, client_credentials) setting `aud`, lifetime, algorithm and scopes from the API,
//! every `invalid_target`, the sample resource refusing another API's token, PS256 tokens
//! verified from the JWKS, the console's APIs page and `tessera api`.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use reqwest::header::LOCATION;
use serde_json::Value;
use tessera_core::model::SigningAlg;
use tessera_core::store::{ApiSettings, ClientUpdate, NewClient, StoreError};
use tessera_core::types::{RedirectUri, ScopeSet};

use crate::cli::{one_line_error, stdout_json, tessera};
use crate::common::{self, add_user, add_web_client, authorize_as, authorize_path, page, post_form, sign_in, token};

const BILLING: &str = "https://billing.example/";
const VERIFIER: &str = common::PKCE_VERIFIER;
const ALICE: (&str, &str) = ("alice", "alice-password");

fn settings(name: &str, scopes: &str, alg: SigningAlg, ttl: i64) -> ApiSettings {
    ApiSettings {
        name: name.into(),
        scopes: ScopeSet::parse(scopes).unwrap(),
        access_token_alg: alg,
        access_token_ttl: ttl,
    }
}

/// The header and the claims of a JWT, unverified.
fn parts(jwt: &str) -> (Value, Value) {
    let mut it = jwt.split('.');
    let mut next = || serde_json::from_slice(&URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap()).unwrap();
    (next(), next())
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The sample resource's identifier on `server`.
fn sample(server: &common::TestServer) -> String {
    format!("{}/api", server.base)
}

/// A server with the custom scope `billing:read`, the API [`BILLING`] (PS256, 600 s, its
/// one scope), the user alice, and the client `web` allowed `resources`.
async fn setup(resources: &[&str]) -> (common::TestServer, String, common::TestDb) {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    let store = &server.db.store;
    store
        .create_scope("billing:read", "Read your invoices", 1)
        .await
        .unwrap();
    store
        .create_api(BILLING, &settings("Billing", "billing:read", SigningAlg::PS256, 600), 1)
        .await
        .unwrap();
    add_user(&server, ALICE.0, ALICE.1, false).await;
    let secret = add_web_client(&server, "openid profile offline_access billing:read").await;
    allow(&server, "web", resources).await;
    (server, secret.expose().to_owned(), tdb)
}

/// Sets the APIs `client_id` may use.
async fn allow(server: &common::TestServer, client_id: &str, resources: &[&str]) {
    let store = &server.db.store;
    let c = store.client_by_id(client_id).await.unwrap().unwrap();
    let mut settings = c.settings.clone();
    settings.resources = resources.iter().map(|r| r.to_string()).collect();
    let update = ClientUpdate {
        name: c.name,
        redirect_uris: c.redirect_uris,
        scopes: c.scopes,
        settings,
    };
    assert!(store.update_client(client_id, &update).await.unwrap());
}

/// Authorizes `web` for `scope` with these `resource` parameters; returns the code.
async fn code_for(server: &common::TestServer, browser: &reqwest::Client, scope: &str, resources: &[&str]) -> String {
    let mut path = authorize_path(scope);
    for r in resources {
        path.push_str(&format!("&resource={}", enc(r)));
    }
    authorize_as(browser, server, &path, ALICE).await.code
}

async fn exchange(server: &common::TestServer, secret: &str, code: &str, resource: Option<&str>) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", common::CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    if let Some(r) = resource {
        form.push(("resource", r));
    }
    token(server, secret, &form).await
}

async fn call_sample(server: &common::TestServer, access_token: &str) -> (u16, String) {
    let res = reqwest::Client::new()
        .get(format!("{}/api/resource", server.base))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (res.status().as_u16(), challenge)
}

#[tokio::test]
async fn apis_are_stored_on_both_backends() {
    for tdb in common::databases().await {
        let db = common::open(&tdb).await;
        let store = &db.store;
        let s = settings("Billing", "openid billing:read", SigningAlg::PS256, 600);
        let api = store.create_api(BILLING, &s, 7).await.unwrap();
        assert_eq!((api.identifier.as_str(), api.created_at), (BILLING, 7), "{}", tdb.name);
        // RFC 8707: the identifier is unique.
        let dup = store.create_api(BILLING, &s, 8).await.unwrap_err();
        assert!(
            matches!(dup, StoreError::Conflict(ref w) if w == "API"),
            "{}: {dup:?}",
            tdb.name
        );
        store
            .create_api("urn:example:a", &settings("A", "openid", SigningAlg::ES256, 60), 9)
            .await
            .unwrap();
        let all = store.apis().await.unwrap();
        let ids: Vec<&str> = all.iter().map(|a| a.identifier.as_str()).collect();
        assert_eq!(ids, [BILLING, "urn:example:a"], "{}", tdb.name);
        assert_eq!(all[0].settings, s, "{}", tdb.name);
        // Through the cache: a change made here is seen at once.
        assert_eq!(store.api(BILLING).await.unwrap().unwrap().settings.name, "Billing");
        let changed = settings("Billing v2", "billing:read", SigningAlg::EdDSA, 900);
        assert!(store.update_api(BILLING, &changed).await.unwrap());
        assert_eq!(
            store.api(BILLING).await.unwrap().unwrap().settings,
            changed,
            "{}",
            tdb.name
        );
        assert!(!store.update_api("urn:none", &changed).await.unwrap());
        assert!(store.delete_api(BILLING).await.unwrap());
        assert!(store.api(BILLING).await.unwrap().is_none(), "{}", tdb.name);
        assert!(!store.delete_api(BILLING).await.unwrap());

        // A client's allowed APIs round-trip.
        let client_settings = tessera_core::store::ClientSettings {
            resources: vec!["urn:example:a".into(), BILLING.into()],
            ..Default::default()
        };
        store
            .create_client(
                NewClient {
                    client_id: "c1".into(),
                    name: "C1".into(),
                    secret_hash: Some("h".into()),
                    redirect_uris: vec![RedirectUri::parse("https://c1.example/cb").unwrap()],
                    scopes: ScopeSet::parse("openid").unwrap(),
                    is_public: false,
                    settings: client_settings.clone(),
                },
                1,
            )
            .await
            .unwrap();
        let c = store.client_by_id("c1").await.unwrap().unwrap();
        assert_eq!(c.settings.resources, client_settings.resources, "{}", tdb.name);
        assert!(c.allows_resource(BILLING, "https://as.example/api"));
        assert!(!c.allows_resource("https://as.example/api", "https://as.example/api"));
    }
}

#[tokio::test]
async fn the_sample_resource_is_registered_at_start_once_per_issuer() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    let api = server
        .db
        .store
        .api(&sample(&server))
        .await
        .unwrap()
        .expect("sample API");
    assert_eq!(api.settings.name, "Sample resource");
    assert_eq!(api.settings.scopes.to_string(), "email openid profile");
    // A second instance on the same database finds it (no error, still one).
    let again = common::serve(&tdb.url).await;
    let apis = again.db.store.apis().await.unwrap();
    assert_eq!(apis.iter().filter(|a| a.identifier == sample(&server)).count(), 1);
    // Another issuer registers its own.
    let other = common::serve_with(&tdb.url, |c| c.issuer = "https://other.example".into()).await;
    let apis = other.db.store.apis().await.unwrap();
    assert!(
        apis.iter().any(|a| a.identifier == "https://other.example/api"),
        "{apis:?}"
    );
}

#[tokio::test]
async fn a_resource_sets_audience_lifetime_algorithm_and_scopes() {
    let (server, secret, _tdb) = setup(&[BILLING]).await;
    let browser = common::browser();
    // RFC 8707: the consent page names the API the tokens will be for.
    let walk = authorize_as(
        &browser,
        &server,
        &format!(
            "{}&resource={}",
            authorize_path("openid offline_access billing:read"),
            enc(BILLING)
        ),
        ALICE,
    )
    .await;
    let consent = walk.consent_html.expect("the consent page");
    assert!(consent.contains("data-testid=\"apis\""), "{consent}");
    assert!(consent.contains("Billing") && consent.contains(BILLING), "{consent}");
    let code = walk.code;
    // No resource at the token endpoint: the one authorized.
    let (status, body) = exchange(&server, &secret, &code, None).await;
    assert_eq!(status, 200, "{body}");
    let (header, claims) = parts(body["access_token"].as_str().unwrap());
    assert_eq!(header["alg"], "PS256");
    assert_eq!(claims["aud"], BILLING);
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 600);
    assert_eq!(body["expires_in"], 600);
    // Only the scopes that belong to the API.
    assert_eq!(claims["scope"], "billing:read");
    assert_eq!(body["scope"], "billing:read");
    // The ID token is about the grant, as before.
    assert!(body["id_token"].is_string());
    // RFC 9068 §4: the sample resource refuses a token meant for another API.
    let (status, challenge) = call_sample(&server, body["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");

    // Naming it explicitly gives the same.
    let code = code_for(&server, &browser, "openid billing:read", &[BILLING]).await;
    let (status, body) = exchange(&server, &secret, &code, Some(BILLING)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(parts(body["access_token"].as_str().unwrap()).1["aud"], BILLING);
}

#[tokio::test]
async fn a_resource_not_authorized_is_invalid_target_at_the_token_endpoint() {
    let (server, secret, _tdb) = setup(&[BILLING]).await;
    let sample_id = sample(&server);
    allow(&server, "web", &[BILLING, &sample_id]).await;
    let browser = common::browser();
    // RFC 8707 §2.2: authorized for billing, asks for the sample resource.
    let code = code_for(&server, &browser, "openid billing:read", &[BILLING]).await;
    let (status, body) = exchange(&server, &secret, &code, Some(&sample_id)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
    // Several authorized and none named: the client must choose.
    let code = code_for(&server, &browser, "openid billing:read", &[BILLING, &sample_id]).await;
    let (status, body) = exchange(&server, &secret, &code, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
    // Two at once: one audience per token.
    let code = code_for(&server, &browser, "openid billing:read", &[BILLING, &sample_id]).await;
    let res = reqwest::Client::new()
        .post(format!("{}/token", server.base))
        .basic_auth("web", Some(&secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", common::CALLBACK),
            ("code_verifier", VERIFIER),
            ("resource", BILLING),
            ("resource", sample_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_target");
    // Malformed: not absolute, or with a fragment.
    for bad in ["billing", "https://billing.example/#x"] {
        let code = code_for(&server, &browser, "openid", &[]).await;
        let (status, body) = exchange(&server, &secret, &code, Some(bad)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_target")),
            "{bad}: {body}"
        );
    }
    // Without any resource anywhere: the sample resource, as before.
    let code = code_for(&server, &browser, "openid", &[]).await;
    let (status, body) = exchange(&server, &secret, &code, None).await;
    assert_eq!(status, 200, "{body}");
    let claims = parts(body["access_token"].as_str().unwrap()).1;
    assert_eq!(claims["aud"], sample_id);
    assert_eq!(
        call_sample(&server, body["access_token"].as_str().unwrap()).await.0,
        200
    );
}

#[tokio::test]
async fn refresh_narrows_to_one_of_the_grants_resources() {
    let (server, secret, _tdb) = setup(&[]).await;
    let sample_id = sample(&server);
    allow(&server, "web", &[BILLING, &sample_id]).await;
    let browser = common::browser();
    let code = code_for(
        &server,
        &browser,
        "openid offline_access billing:read",
        &[BILLING, &sample_id],
    )
    .await;
    let (status, body) = exchange(&server, &secret, &code, Some(BILLING)).await;
    assert_eq!(status, 200, "{body}");
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let refresh_with = |rt: String, resource: Option<String>| {
        let server = &server;
        let secret = &secret;
        async move {
            let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt.as_str())];
            if let Some(r) = resource.as_deref() {
                form.push(("resource", r));
            }
            token(server, secret, &form).await
        }
    };
    // Not covered by the grant, and several covered with none named: refused, and the
    // refresh token not spent (checked before rotation).
    let (status, body) = refresh_with(refresh.clone(), Some("https://other.example/".into())).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
    let (status, body) = refresh_with(refresh.clone(), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target")),
        "{body}"
    );
    // The sample resource: the other of the grant's two.
    let (status, body) = refresh_with(refresh, Some(sample_id.clone())).await;
    assert_eq!(status, 200, "{body}");
    let (header, claims) = parts(body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], sample_id);
    assert_eq!(header["alg"], "ES256", "the sample API's algorithm");
    assert_eq!(claims["scope"], "openid", "the sample API's scopes among those granted");
    assert_eq!(
        call_sample(&server, body["access_token"].as_str().unwrap()).await.0,
        200
    );
    // And back to billing with the successor.
    let (status, body) = refresh_with(body["refresh_token"].as_str().unwrap().to_owned(), Some(BILLING.into())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(parts(body["access_token"].as_str().unwrap()).1["aud"], BILLING);
}

#[tokio::test]
async fn an_unknown_or_disallowed_resource_at_authorize_redirects_with_invalid_target() {
    let (server, _secret, _tdb) = setup(&[BILLING]).await;
    server
        .db
        .store
        .create_api(
            "https://payroll.example/",
            &settings("Payroll", "openid", SigningAlg::ES256, 600),
            1,
        )
        .await
        .unwrap();
    let browser = common::browser();
    // Unknown, registered but not allowed to this client, the sample one (not in its
    // list), malformed: each goes back to the (verified) redirect URI with state.
    let sample_id = sample(&server);
    for bad in [
        "https://unknown.example/",
        "https://payroll.example/",
        sample_id.as_str(),
        "https://billing.example/#f",
        "relative",
    ] {
        let path = format!("{}&resource={}", authorize_path("openid"), enc(bad));
        let res = page(&browser, &server, &path).await;
        assert_eq!(res.status(), 302, "{bad}");
        let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
        assert!(location.starts_with(common::CALLBACK), "{bad}: {location}");
        let url = url::Url::parse(&location).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(
            q.get("error").map(String::as_str),
            Some("invalid_target"),
            "{bad}: {location}"
        );
        assert_eq!(q.get("state").map(String::as_str), Some("s1"), "{bad}");
    }
    // An allowed one leads to the login.
    let path = format!("{}&resource={}", authorize_path("openid"), enc(BILLING));
    let res = page(&browser, &server, &path).await;
    assert!(res.headers()[LOCATION].to_str().unwrap().starts_with("/login"));
}

#[tokio::test]
async fn a_resource_no_longer_allowed_while_signing_in_is_invalid_target() {
    let (server, _secret, _tdb) = setup(&[BILLING]).await;
    let browser = common::browser();
    let path = format!("{}&resource={}", authorize_path("openid"), enc(BILLING));
    let resume = common::sign_in_for_request(&browser, &server, &path, ALICE).await;
    // While alice signed in, the administrator took the API away from the client.
    allow(&server, "web", &[]).await;
    let res = page(&browser, &server, &resume).await;
    assert_eq!(res.status(), 302);
    let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with(common::CALLBACK), "{location}");
    assert!(location.contains("error=invalid_target"), "{location}");
}

#[tokio::test]
async fn client_credentials_with_a_resource() {
    let (server, _, _tdb) = setup(&[]).await;
    let secret = tessera_core::secret::ClientSecret::generate();
    let s = tessera_core::store::ClientSettings {
        grant_types: vec!["client_credentials".into()],
        resources: vec![BILLING.into()],
        ..Default::default()
    };
    server
        .db
        .store
        .create_client(
            NewClient {
                client_id: "svc".into(),
                name: "Service".into(),
                secret_hash: Some(secret.hash()),
                redirect_uris: vec![],
                scopes: ScopeSet::parse("billing:read").unwrap(),
                is_public: false,
                settings: s,
            },
            1,
        )
        .await
        .unwrap();
    let cc = |extra: Vec<(&'static str, String)>| {
        let server = &server;
        let secret = secret.expose().to_owned();
        async move {
            let mut form = vec![("grant_type", "client_credentials".to_owned())];
            form.extend(extra);
            let res = reqwest::Client::new()
                .post(format!("{}/token", server.base))
                .basic_auth("svc", Some(secret))
                .form(&form)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = cc(vec![("resource", BILLING.into())]).await;
    assert_eq!(status, 200, "{body}");
    let (header, claims) = parts(body["access_token"].as_str().unwrap());
    assert_eq!(
        (header["alg"].as_str(), claims["aud"].as_str()),
        (Some("PS256"), Some(BILLING))
    );
    assert_eq!(claims["sub"], "svc");
    assert_eq!(body["expires_in"], 600);
    // RFC 8707 §2: not in the client's list (the sample resource included), unknown,
    // malformed, two at once.
    for bad in [
        vec![("resource", sample(&server))],
        vec![("resource", "https://unknown.example/".to_owned())],
        vec![("resource", "https://billing.example/#x".to_owned())],
        vec![("resource", BILLING.to_owned()), ("resource", sample(&server))],
    ] {
        let (status, body) = cc(bad.clone()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_target")),
            "{bad:?}: {body}"
        );
    }
    // None named: the sample resource's audience, as before the registry.
    let (status, body) = cc(vec![]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(parts(body["access_token"].as_str().unwrap()).1["aud"], sample(&server));
}

#[tokio::test]
async fn ps256_keys_sign_id_tokens_that_verify_with_the_jwks() {
    let (server, secret, _tdb) = setup(&[]).await;
    let store = &server.db.store;
    let c = store.client_by_id("web").await.unwrap().unwrap();
    let mut s = c.settings.clone();
    s.id_token_alg = "PS256".into();
    s.access_token_alg = "PS256".into();
    let update = ClientUpdate {
        name: c.name,
        redirect_uris: c.redirect_uris,
        scopes: c.scopes,
        settings: s,
    };
    assert!(store.update_client("web", &update).await.unwrap());
    let browser = common::browser();
    let code = code_for(&server, &browser, "openid", &[]).await;
    let (status, body) = exchange(&server, &secret, &code, None).await;
    assert_eq!(status, 200, "{body}");
    let id_token = body["id_token"].as_str().unwrap();
    let (header, _) = parts(id_token);
    assert_eq!(header["alg"], "PS256");
    assert_eq!(parts(body["access_token"].as_str().unwrap()).0["alg"], "PS256");

    // The JWKS publishes an RSA key for PS256 (its own, not RS256's).
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(format!("{}/jwks.json", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let raw: Value = serde_json::to_value(&jwks).unwrap();
    let ps: Vec<&Value> = raw["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["alg"] == "PS256")
        .collect();
    assert_eq!(ps.len(), 1, "{raw}");
    assert_eq!(ps[0]["kty"], "RSA");
    assert_eq!(ps[0]["kid"], header["kid"]);
    let rs = raw["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["alg"] == "RS256")
        .unwrap();
    assert_ne!(rs["kid"], ps[0]["kid"]);
    // Verified as a relying party would: the key from the JWKS, jsonwebtoken's PS256.
    let jwk = jwks.find(header["kid"].as_str().unwrap()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::PS256);
    v.set_audience(&["web"]);
    v.set_issuer(&[server.base.as_str()]);
    let verified = jsonwebtoken::decode::<Value>(id_token, &key, &v).unwrap();
    assert_eq!(verified.claims["aud"], "web");
    // Discovery lists it (from SigningAlg::ALL and the keys present).
    let meta: Value = reqwest::get(format!("{}/.well-known/openid-configuration", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let algs = meta["id_token_signing_alg_values_supported"].as_array().unwrap();
    assert!(algs.iter().any(|a| a == "PS256"), "{meta}");
}

async fn text(browser: &reqwest::Client, server: &common::TestServer, path: &str) -> String {
    let res = page(browser, server, path).await;
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.unwrap()
}

#[tokio::test]
async fn the_console_lists_creates_edits_and_deletes_apis() {
    let (server, _, _tdb) = setup(&[]).await;
    add_user(&server, "root", "root-password", true).await;
    let browser = common::browser();
    assert_eq!(sign_in(&browser, &server, "root", "root-password").await, "/");
    let html = text(&browser, &server, "/admin/apis").await;
    assert!(html.contains(&sample(&server)), "the sample API is listed");
    assert!(html.contains(BILLING));
    assert!(html.contains("href=\"/admin/apis\""), "linked in the admin nav");

    let form = |id: &'static str, alg: &'static str, ttl: &'static str| {
        vec![
            ("identifier", id),
            ("name", "Payroll"),
            ("scopes", "openid billing:read"),
            ("access_token_alg", alg),
            ("access_token_ttl", ttl),
        ]
    };
    // Field errors save nothing and are shown next to their field.
    let back = post_form(
        &browser,
        &server,
        "/admin/apis",
        "/ui/admin/apis/create",
        &form("https://payroll.example/#x", "PS256", "600"),
    )
    .await;
    assert_eq!(back, "/admin/apis");
    let html = text(&browser, &server, "/admin/apis").await;
    assert!(html.contains("must not contain a fragment"), "{html}");
    assert!(server
        .db
        .store
        .api("https://payroll.example/#x")
        .await
        .unwrap()
        .is_none());
    let back = post_form(
        &browser,
        &server,
        "/admin/apis",
        "/ui/admin/apis/create",
        &form("https://payroll.example/", "HS256", "10"),
    )
    .await;
    assert_eq!(back, "/admin/apis");
    let html = text(&browser, &server, "/admin/apis").await;
    assert!(html.contains("Choose ES256, RS256, EdDSA or PS256."), "{html}");
    assert!(html.contains("from 60 to 86400"));
    // Created.
    let back = post_form(
        &browser,
        &server,
        "/admin/apis",
        "/ui/admin/apis/create",
        &form("https://payroll.example/", "PS256", "600"),
    )
    .await;
    let page_path = "/admin/api?id=https%3A//payroll.example/";
    assert_eq!(back, page_path);
    let api = server.db.store.api("https://payroll.example/").await.unwrap().unwrap();
    assert_eq!(
        api.settings,
        settings("Payroll", "openid billing:read", SigningAlg::PS256, 600)
    );
    let html = text(&browser, &server, page_path).await;
    assert!(html.contains("was registered"), "{html}");
    // A duplicate identifier.
    let back = post_form(
        &browser,
        &server,
        "/admin/apis",
        "/ui/admin/apis/create",
        &form(BILLING, "ES256", "600"),
    )
    .await;
    assert_eq!(back, "/admin/apis");
    assert!(text(&browser, &server, "/admin/apis")
        .await
        .contains("registered already"));
    // Edited.
    let back = post_form(
        &browser,
        &server,
        page_path,
        "/ui/admin/apis/update",
        &[
            ("identifier", "https://payroll.example/"),
            ("name", "Payroll 2"),
            ("scopes", "openid"),
            ("access_token_alg", "EdDSA"),
            ("access_token_ttl", "900"),
        ],
    )
    .await;
    assert_eq!(back, page_path);
    let api = server.db.store.api("https://payroll.example/").await.unwrap().unwrap();
    assert_eq!(api.settings, settings("Payroll 2", "openid", SigningAlg::EdDSA, 900));

    // The client form: allowed APIs, each a registered one.
    let client_page = "/admin/clients/web";
    let client_fields = |resources: &'static str| {
        vec![
            ("client_id", "web"),
            ("name", "Web App"),
            ("redirect_uris", common::CALLBACK),
            ("scopes", "openid"),
            ("grant_authorization_code", "on"),
            ("require_pkce", "on"),
            ("access_token_ttl", "900"),
            ("refresh_token_ttl", "86400"),
            ("access_token_alg", "ES256"),
            ("id_token_alg", "PS256"),
            ("resources", resources),
        ]
    };
    post_form(
        &browser,
        &server,
        client_page,
        "/ui/admin/clients/update",
        &client_fields("https://nope.example/"),
    )
    .await;
    let html = text(&browser, &server, client_page).await;
    assert!(html.contains("register it under APIs first"), "{html}");
    assert!(server
        .db
        .store
        .client_by_id("web")
        .await
        .unwrap()
        .unwrap()
        .settings
        .resources
        .is_empty());
    post_form(
        &browser,
        &server,
        client_page,
        "/ui/admin/clients/update",
        &client_fields("https://payroll.example/\n"),
    )
    .await;
    let c = server.db.store.client_by_id("web").await.unwrap().unwrap();
    assert_eq!(c.settings.resources, ["https://payroll.example/"]);
    assert_eq!(c.settings.id_token_alg, "PS256");
    assert!(text(&browser, &server, client_page)
        .await
        .contains("https://payroll.example/"));

    // Deleting: refused while a client may use it, and for the sample resource's API.
    let delete = |id: String| vec![("identifier", id)];
    let del = |id: &str| {
        let fields = delete(id.to_owned());
        let browser = &browser;
        let server = &server;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form(browser, server, page_path, "/ui/admin/apis/delete", &fields).await
        }
    };
    let back = del("https://payroll.example/").await;
    assert_eq!(back, page_path);
    assert!(text(&browser, &server, page_path)
        .await
        .contains("Still allowed to Web App"));
    assert!(server.db.store.api("https://payroll.example/").await.unwrap().is_some());
    del(&sample(&server)).await;
    assert!(server.db.store.api(&sample(&server)).await.unwrap().is_some());
    allow(&server, "web", &[]).await;
    assert_eq!(del("https://payroll.example/").await, "/admin/apis");
    assert!(server.db.store.api("https://payroll.example/").await.unwrap().is_none());

    // Each change is in the audit log.
    let events = server
        .db
        .store
        .events(&tessera_core::audit::Filter {
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .filter(|e| e.subject.as_deref() == Some("https://payroll.example/"))
        .map(|e| e.kind.as_str())
        .collect();
    assert_eq!(kinds, ["api.deleted", "api.updated", "api.created"]);

    // A non-administrator may not.
    add_user(&server, "bob", "bob-password", false).await;
    let other = common::browser();
    sign_in(&other, &server, "bob", "bob-password").await;
    assert_eq!(page(&other, &server, "/admin/apis").await.status(), 403);
}

#[tokio::test]
async fn the_cli_manages_apis_and_allowed_resources() {
    let tdb = common::sqlite();
    let db = tdb.url.as_str();
    let v = stdout_json(&tessera(
        &[
            "api",
            "add",
            "https://cli.example/",
            "--name",
            "CLI API",
            "--scope",
            "openid profile",
            "--access-token-alg",
            "PS256",
            "--access-token-ttl",
            "300",
            "--database-url",
            db,
        ],
        None,
    ));
    assert_eq!(v["identifier"], "https://cli.example/");
    assert_eq!(
        (v["access_token_alg"].as_str(), v["access_token_ttl"].as_i64()),
        (Some("PS256"), Some(300))
    );
    // The console's rules, one line each.
    let err = one_line_error(&tessera(
        &[
            "api",
            "add",
            "https://cli.example/#x",
            "--name",
            "X",
            "--scope",
            "openid",
            "--database-url",
            db,
        ],
        None,
    ));
    assert!(
        err.contains("identifier: The identifier must not contain a fragment"),
        "{err}"
    );
    let err = one_line_error(&tessera(
        &[
            "api",
            "add",
            "https://cli.example/",
            "--name",
            "Again",
            "--scope",
            "openid",
            "--database-url",
            db,
        ],
        None,
    ));
    assert!(err.contains("registered already"), "{err}");
    let err = one_line_error(&tessera(
        &[
            "api",
            "add",
            "https://b.example/",
            "--name",
            "B",
            "--scope",
            "nope",
            "--database-url",
            db,
        ],
        None,
    ));
    assert!(err.contains("--scope: Unknown scope"), "{err}");

    let v = stdout_json(&tessera(
        &[
            "api",
            "update",
            "https://cli.example/",
            "--access-token-ttl",
            "900",
            "--database-url",
            db,
        ],
        None,
    ));
    assert_eq!(
        (v["access_token_ttl"].as_i64(), v["name"].as_str()),
        (Some(900), Some("CLI API"))
    );
    let list = stdout_json(&tessera(&["api", "list", "--json", "--database-url", db], None));
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["https://cli.example/"]);

    // A client allowed it; an unknown API is refused.
    let err = one_line_error(&tessera(
        &[
            "client",
            "add",
            "--name",
            "C",
            "--redirect-uri",
            "https://c.example/cb",
            "--resource",
            "https://nope.example/",
            "--database-url",
            db,
        ],
        None,
    ));
    assert!(err.contains("--resource: Unknown API"), "{err}");
    let v = stdout_json(&tessera(
        &[
            "client",
            "add",
            "--name",
            "C",
            "--redirect-uri",
            "https://c.example/cb",
            "--resource",
            "https://cli.example/",
            "--id-token-alg",
            "PS256",
            "--database-url",
            db,
        ],
        None,
    ));
    let store = common::open(&tdb).await.store;
    let c = store
        .client_by_id(v["client_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.settings.resources, ["https://cli.example/"]);
    assert_eq!(c.settings.id_token_alg, "PS256");
    let err = one_line_error(&tessera(
        &["api", "remove", "https://cli.example/", "--database-url", db],
        None,
    ));
    assert!(err.contains("still allowed"), "{err}");
    stdout_json(&tessera(
        &[
            "client",
            "remove",
            v["client_id"].as_str().unwrap(),
            "--database-url",
            db,
        ],
        None,
    ));
    let v = stdout_json(&tessera(
        &["api", "remove", "https://cli.example/", "--database-url", db],
        None,
    ));
    assert_eq!(v["removed"], true);
    assert!(store.apis().await.unwrap().is_empty());
    let err = one_line_error(&tessera(
        &["api", "remove", "https://cli.example/", "--database-url", db],
        None,
    ));
    assert!(err.contains("no API"), "{err}");
}
