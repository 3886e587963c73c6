//! DPoP (RFC 9449) end to end: proofs made here with keys generated in the test (aws-lc-rs
//! ES256), sent to real servers — the code flow to a bound token, the resource and
//! userinfo with proofs, refresh, client credentials, introspection's `cnf`, nonces, and
//! every refusal with its exact status and error code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use tessera_core::store::{ClientSettings, NewClient};
use tessera_core::types::{RedirectUri, ScopeSet};

use crate::common::{self, TestServer, CALLBACK, PKCE_CHALLENGE, PKCE_VERIFIER};

/// A client's DPoP key.
pub(crate) struct Key {
    pair: EcdsaKeyPair,
    x: String,
    y: String,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl Key {
    pub(crate) fn new() -> Key {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let public = pair.public_key().as_ref().to_vec();
        assert_eq!(public[0], 4, "uncompressed point");
        Key {
            x: b64(&public[1..33]),
            y: b64(&public[33..65]),
            pair,
        }
    }

    pub(crate) fn jwk(&self) -> Value {
        json!({ "kty": "EC", "crv": "P-256", "x": self.x, "y": self.y })
    }

    /// RFC 7638, computed here independently of the server.
    pub(crate) fn jkt(&self) -> String {
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#, self.x, self.y);
        b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()).as_ref())
    }

    pub(crate) fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = self.pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", b64(sig.as_ref()))
    }

    pub(crate) fn header(&self) -> Value {
        json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk() })
    }

    pub(crate) fn claims(htm: &str, htu: &str) -> Value {
        json!({ "jti": tessera_core::secret::random_id(), "htm": htm, "htu": htu, "iat": now() })
    }

    /// A proof for `htm htu`, with `ath` for `token` and `nonce` when given.
    pub(crate) fn proof(&self, htm: &str, htu: &str, token: Option<&str>, nonce: Option<&str>) -> String {
        let mut claims = Key::claims(htm, htu);
        if let Some(t) = token {
            claims["ath"] = json!(tessera_core::dpop::ath(t));
        }
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        self.sign(&self.header(), &claims)
    }
}

/// The JSON payload of a JWT.
pub(crate) fn payload(jwt: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

struct Answer {
    status: u16,
    body: Value,
    nonce: Option<String>,
    challenge: String,
}

async fn answer(res: reqwest::Response) -> Answer {
    let header = |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let nonce = header("dpop-nonce");
    let challenge = header("www-authenticate").unwrap_or_default();
    let status = res.status().as_u16();
    let body = res.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        body,
        nonce,
        challenge,
    }
}

/// `POST /token` with `form`, as `client` (Basic with `secret`, or `client_id` in the form
/// for a public client), with these `DPoP` headers.
async fn token(server: &TestServer, client: (&str, Option<&str>), form: &[(&str, &str)], proofs: &[&str]) -> Answer {
    let mut form = form.to_vec();
    let mut req = reqwest::Client::new().post(format!("{}/token", server.base));
    match client.1 {
        Some(secret) => req = req.basic_auth(client.0, Some(secret)),
        None => form.push(("client_id", client.0)),
    }
    for p in proofs {
        req = req.header("DPoP", *p);
    }
    answer(req.form(&form).send().await.unwrap()).await
}

/// `GET path` with `Authorization: scheme token` and these proofs.
async fn get(server: &TestServer, path: &str, scheme: &str, token: &str, proofs: &[&str]) -> Answer {
    let mut req = reqwest::Client::new()
        .get(format!("{}{path}", server.base))
        .header("Authorization", format!("{scheme} {token}"));
    for p in proofs {
        req = req.header("DPoP", *p);
    }
    answer(req.send().await.unwrap()).await
}

const SCOPES: &str = "openid profile offline_access";

/// A server with the user alice, the confidential client `web` and the public client `spa`.
async fn fixture(url: &str) -> (TestServer, String) {
    fixture_with(url, |_| {}).await
}

async fn fixture_with(url: &str, configure: impl FnOnce(&mut tessera::config::Config)) -> (TestServer, String) {
    let server = common::serve_with(url, configure).await;
    common::add_user(&server, "alice", "correct horse battery", false).await;
    let secret = common::add_web_client(&server, "openid profile offline_access api").await;
    add_client(&server, "spa", true, false).await;
    (server, secret.expose().to_owned())
}

async fn add_client(server: &TestServer, id: &str, public: bool, dpop_required: bool) -> Option<String> {
    let secret = (!public).then(tessera_core::secret::ClientSecret::generate);
    server
        .db
        .store
        .create_client(
            NewClient {
                client_id: id.into(),
                name: id.into(),
                secret_hash: secret.as_ref().map(|s| s.hash()),
                redirect_uris: vec![RedirectUri::parse(CALLBACK).unwrap()],
                scopes: ScopeSet::parse("openid profile offline_access api").unwrap(),
                is_public: public,
                settings: ClientSettings {
                    dpop_bound_access_tokens: dpop_required,
                    ..Default::default()
                },
            },
            1,
        )
        .await
        .unwrap();
    secret.map(|s| s.expose().to_owned())
}

/// A code for `client_id` (alice signs in and allows), with `extra` query parameters.
async fn code(server: &TestServer, client_id: &str, extra: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let path = format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope={}&state=s1\
         &code_challenge={PKCE_CHALLENGE}&code_challenge_method=S256{extra}",
        enc(CALLBACK),
        enc(SCOPES)
    );
    let browser = common::browser();
    common::authorize_as(&browser, server, &path, ("alice", "correct horse battery"))
        .await
        .code
}

fn code_form(code: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
        ("code_verifier", PKCE_VERIFIER),
    ]
}

#[tokio::test]
async fn code_flow_to_a_bound_token_used_at_the_resource_and_refreshed() {
    let db = common::sqlite();
    let (server, secret) = fixture(&db.url).await;
    let key = Key::new();
    let token_url = format!("{}/token", server.base);
    let resource_url = format!("{}/api/resource", server.base);
    let code = code(&server, "web", "").await;
    let a = token(
        &server,
        ("web", Some(&secret)),
        &code_form(&code),
        &[&key.proof("POST", &token_url, None, None)],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    // RFC 9449 §5: token_type DPoP, cnf.jkt in the access token, a nonce for next time.
    assert_eq!(a.body["token_type"], "DPoP");
    assert!(a.nonce.is_some(), "DPoP-Nonce on a DPoP token response");
    let at = a.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(payload(&at)["cnf"]["jkt"], key.jkt());
    let rt = a.body["refresh_token"].as_str().unwrap().to_owned();

    // The resource and userinfo, with a proof for each request.
    let ok = get(
        &server,
        "/api/resource",
        "DPoP",
        &at,
        &[&key.proof("GET", &resource_url, Some(&at), None)],
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let userinfo_url = format!("{}/userinfo", server.base);
    let ok = get(
        &server,
        "/userinfo",
        "DPoP",
        &at,
        &[&key.proof("GET", &userinfo_url, Some(&at), None)],
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    // RFC 9449 §7.2: a bound token as Bearer is refused, with a DPoP challenge.
    let refused = |a: &Answer, error: &str| {
        assert_eq!(a.status, 401, "{error}: {}", a.body);
        assert!(a.challenge.starts_with("DPoP "), "{}", a.challenge);
        assert!(a.challenge.contains(&format!("error=\"{error}\"")), "{}", a.challenge);
        assert!(
            a.challenge.contains("algs=\"ES256 PS256 RS256 EdDSA\""),
            "{}",
            a.challenge
        );
        assert_eq!(a.body["error"], error);
    };
    refused(
        &get(&server, "/api/resource", "Bearer", &at, &[]).await,
        "invalid_token",
    );
    refused(&get(&server, "/userinfo", "Bearer", &at, &[]).await, "invalid_token");
    // A proof from another key: the token is not bound to it.
    let other = Key::new();
    let wrong_key = other.proof("GET", &resource_url, Some(&at), None);
    refused(
        &get(&server, "/api/resource", "DPoP", &at, &[&wrong_key]).await,
        "invalid_token",
    );
    // ath missing or for another token; no proof at all; the same proof twice.
    let mut no_ath = Key::claims("GET", &resource_url);
    no_ath["jti"] = json!("no-ath");
    let no_ath = key.sign(&key.header(), &no_ath);
    refused(
        &get(&server, "/api/resource", "DPoP", &at, &[&no_ath]).await,
        "invalid_dpop_proof",
    );
    let wrong_ath = key.proof("GET", &resource_url, Some("another.access.token"), None);
    refused(
        &get(&server, "/api/resource", "DPoP", &at, &[&wrong_ath]).await,
        "invalid_dpop_proof",
    );
    refused(
        &get(&server, "/api/resource", "DPoP", &at, &[]).await,
        "invalid_dpop_proof",
    );
    let once = key.proof("GET", &resource_url, Some(&at), None);
    assert_eq!(get(&server, "/api/resource", "DPoP", &at, &[&once]).await.status, 200);
    refused(
        &get(&server, "/api/resource", "DPoP", &at, &[&once]).await,
        "invalid_dpop_proof",
    );
    // A proof for another URL (htu) or method (htm).
    let other_url = key.proof("GET", &userinfo_url, Some(&at), None);
    refused(
        &get(&server, "/api/resource", "DPoP", &at, &[&other_url]).await,
        "invalid_dpop_proof",
    );
    let other_method = key.proof("POST", &resource_url, Some(&at), None);
    refused(
        &get(&server, "/api/resource", "DPoP", &at, &[&other_method]).await,
        "invalid_dpop_proof",
    );

    // RFC 9449 §6.2: introspection says the key.
    let res = reqwest::Client::new()
        .post(format!("{}/introspect", server.base))
        .basic_auth("web", Some(&secret))
        .form(&[("token", at.as_str())])
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(body["cnf"]["jkt"], key.jkt());

    // Refresh with the same key: a new bound token (a confidential client's refresh token
    // is not bound, so another key works too and binds the new access token to it).
    let a = token(
        &server,
        ("web", Some(&secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
        &[&key.proof("POST", &token_url, None, None)],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["token_type"], "DPoP");
    let at2 = a.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(payload(&at2)["cnf"]["jkt"], key.jkt());
    let rt2 = a.body["refresh_token"].as_str().unwrap().to_owned();
    let a = token(
        &server,
        ("web", Some(&secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt2)],
        &[&other.proof("POST", &token_url, None, None)],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        payload(a.body["access_token"].as_str().unwrap())["cnf"]["jkt"],
        other.jkt()
    );

    // Unbound tokens keep working as Bearer.
    let plain = token(
        &server,
        ("web", Some(&secret)),
        &[("grant_type", "client_credentials"), ("scope", "api")],
        &[],
    )
    .await;
    assert_eq!(plain.body["token_type"], "Bearer");
    assert!(plain.nonce.is_none());
    assert!(payload(plain.body["access_token"].as_str().unwrap())
        .get("cnf")
        .is_none());
}

#[tokio::test]
async fn client_credentials_with_dpop_and_every_refusal_at_the_token_endpoint() {
    let db = common::sqlite();
    let (server, secret) = fixture(&db.url).await;
    let key = Key::new();
    let url = format!("{}/token", server.base);
    let cc = [("grant_type", "client_credentials"), ("scope", "api")];
    let send = |proofs: Vec<String>| {
        let server = &server;
        let secret = secret.clone();
        async move {
            let refs: Vec<&str> = proofs.iter().map(String::as_str).collect();
            token(server, ("web", Some(&secret)), &cc, &refs).await
        }
    };

    let ok = send(vec![key.proof("POST", &url, None, None)]).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["token_type"], "DPoP");
    assert_eq!(
        payload(ok.body["access_token"].as_str().unwrap())["cnf"]["jkt"],
        key.jkt()
    );

    let with = |f: &dyn Fn(&mut Value, &mut Value)| {
        let mut header = key.header();
        let mut claims = Key::claims("POST", &url);
        f(&mut header, &mut claims);
        key.sign(&header, &claims)
    };
    let replayed = key.proof("POST", &url, None, None);
    assert_eq!(send(vec![replayed.clone()]).await.status, 200);
    let unsigned = {
        let header = json!({ "typ": "dpop+jwt", "alg": "none", "jwk": key.jwk() });
        format!(
            "{}.{}.",
            b64(header.to_string().as_bytes()),
            b64(Key::claims("POST", &url).to_string().as_bytes())
        )
    };
    let hs256 = {
        let header = json!({ "typ": "dpop+jwt", "alg": "HS256", "jwk": key.jwk() });
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(Key::claims("POST", &url).to_string().as_bytes())
        );
        let mac = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.x.as_bytes()),
            input.as_bytes(),
        );
        format!("{input}.{}", b64(mac.as_ref()))
    };
    let mut tampered = key.proof("POST", &url, None, None);
    tampered.push('A');
    let t = now();
    #[rustfmt::skip]
    let table: Vec<(&str, Vec<String>)> = vec![
        ("wrong htm", vec![key.proof("GET", &url, None, None)]),
        ("wrong htu", vec![key.proof("POST", &format!("{}/par", server.base), None, None)]),
        ("htu on another host", vec![key.proof("POST", "https://evil.example/token", None, None)]),
        ("stale iat", vec![with(&|_, c| c["iat"] = json!(t - 120))]),
        ("future iat", vec![with(&|_, c| c["iat"] = json!(t + 120))]),
        ("no jti", vec![with(&|_, c| { c.as_object_mut().unwrap().remove("jti"); })]),
        ("replayed jti", vec![replayed]),
        ("private key in jwk", vec![with(&|h, _| h["jwk"]["d"] = json!("c2VjcmV0"))]),
        ("alg none", vec![unsigned]),
        ("HS256", vec![hs256]),
        ("typ JWT", vec![with(&|h, _| h["typ"] = json!("JWT"))]),
        ("no typ", vec![with(&|h, _| { h.as_object_mut().unwrap().remove("typ"); })]),
        ("no jwk", vec![with(&|h, _| { h.as_object_mut().unwrap().remove("jwk"); })]),
        ("another key in jwk", vec![with(&|h, _| h["jwk"] = Key::new().jwk())]),
        ("bad signature", vec![tampered]),
        ("not a JWT", vec!["not-a-jwt".into()]),
        ("two DPoP headers", vec![key.proof("POST", &url, None, None), key.proof("POST", &url, None, None)]),
        ("too large", vec![format!("{}.{}.x", "a".repeat(9000), "b")]),
    ];
    for (name, proofs) in table {
        let a = send(proofs).await;
        assert_eq!(
            (a.status, a.body["error"].as_str()),
            (400, Some("invalid_dpop_proof")),
            "{name}: {}",
            a.body
        );
    }
}

#[tokio::test]
async fn a_public_clients_refresh_token_is_bound_to_its_key() {
    let db = common::sqlite();
    let (server, _) = fixture(&db.url).await;
    let key = Key::new();
    let url = format!("{}/token", server.base);
    let code = code(&server, "spa", "").await;
    let a = token(
        &server,
        ("spa", None),
        &code_form(&code),
        &[&key.proof("POST", &url, None, None)],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let rt = a.body["refresh_token"].as_str().unwrap().to_owned();
    let refresh = [("grant_type", "refresh_token"), ("refresh_token", rt.as_str())];
    // Another key, or none: invalid_grant, and nothing spent.
    let other = Key::new();
    let a = token(
        &server,
        ("spa", None),
        &refresh,
        &[&other.proof("POST", &url, None, None)],
    )
    .await;
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{}",
        a.body
    );
    let a = token(&server, ("spa", None), &refresh, &[]).await;
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{}",
        a.body
    );
    // The key it is bound to: a new pair, the successor still bound.
    let a = token(
        &server,
        ("spa", None),
        &refresh,
        &[&key.proof("POST", &url, None, None)],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let rt2 = a.body["refresh_token"].as_str().unwrap().to_owned();
    let a = token(
        &server,
        ("spa", None),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt2)],
        &[&other.proof("POST", &url, None, None)],
    )
    .await;
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{}",
        a.body
    );
}

#[tokio::test]
async fn dpop_jkt_binds_the_code_to_a_key() {
    let db = common::sqlite();
    let (server, secret) = fixture(&db.url).await;
    let key = Key::new();
    let url = format!("{}/token", server.base);
    let bound = format!("&dpop_jkt={}", key.jkt());
    // RFC 9449 §10.1: another key's proof, or none, cannot redeem it.
    let c = code(&server, "web", &bound).await;
    let a = token(
        &server,
        ("web", Some(&secret)),
        &code_form(&c),
        &[&Key::new().proof("POST", &url, None, None)],
    )
    .await;
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{}",
        a.body
    );
    let c = code(&server, "web", &bound).await;
    let a = token(&server, ("web", Some(&secret)), &code_form(&c), &[]).await;
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{}",
        a.body
    );
    let c = code(&server, "web", &bound).await;
    let a = token(
        &server,
        ("web", Some(&secret)),
        &code_form(&c),
        &[&key.proof("POST", &url, None, None)],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        payload(a.body["access_token"].as_str().unwrap())["cnf"]["jkt"],
        key.jkt()
    );
}

#[tokio::test]
async fn a_client_that_requires_dpop_gets_invalid_request_without_a_proof() {
    let db = common::sqlite();
    let (server, _) = fixture(&db.url).await;
    let secret = add_client(&server, "bound", false, true).await.unwrap();
    let cc = [("grant_type", "client_credentials"), ("scope", "api")];
    let a = token(&server, ("bound", Some(&secret)), &cc, &[]).await;
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (400, Some("invalid_request")),
        "{}",
        a.body
    );
    let url = format!("{}/token", server.base);
    let a = token(
        &server,
        ("bound", Some(&secret)),
        &cc,
        &[&Key::new().proof("POST", &url, None, None)],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["token_type"], "DPoP");
}

#[tokio::test]
async fn a_required_nonce_is_asked_for_then_accepted() {
    let db = common::sqlite();
    let (server, secret) = fixture_with(&db.url, |c| c.dpop_nonce = true).await;
    let key = Key::new();
    let url = format!("{}/token", server.base);
    let cc = [("grant_type", "client_credentials"), ("scope", "api")];
    // RFC 9449 §8: 400 use_dpop_nonce with a DPoP-Nonce to retry with.
    let a = token(
        &server,
        ("web", Some(&secret)),
        &cc,
        &[&key.proof("POST", &url, None, None)],
    )
    .await;
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (400, Some("use_dpop_nonce")),
        "{}",
        a.body
    );
    let nonce = a.nonce.expect("DPoP-Nonce with use_dpop_nonce");
    let a = token(
        &server,
        ("web", Some(&secret)),
        &cc,
        &[&key.proof("POST", &url, None, Some("made-up"))],
    )
    .await;
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (400, Some("use_dpop_nonce")),
        "{}",
        a.body
    );
    let a = token(
        &server,
        ("web", Some(&secret)),
        &cc,
        &[&key.proof("POST", &url, None, Some(&nonce))],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.nonce.is_some());
}

#[tokio::test]
async fn discovery_lists_the_dpop_algorithms() {
    let db = common::sqlite();
    let server = common::serve(&db.url).await;
    let doc: Value = reqwest::get(format!("{}/.well-known/openid-configuration", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["dpop_signing_alg_values_supported"],
        json!(["ES256", "PS256", "RS256", "EdDSA"])
    );
}

/// RFC 9449 §11.1: a proof used at one instance is refused at another on the same database.
#[tokio::test]
async fn a_replayed_proof_is_refused_by_another_instance() {
    let Some(db) = common::postgres_only().await else {
        return;
    };
    // One deployment: both instances name the same issuer (as behind one load balancer).
    let issuer = "http://tessera.test";
    let (a, secret) = fixture_with(&db.url, |c| c.issuer = issuer.into()).await;
    let b = common::serve_with(&db.url, |c| c.issuer = issuer.into()).await;
    let key = Key::new();
    let proof = key.proof("POST", &format!("{issuer}/token"), None, None);
    let cc = [("grant_type", "client_credentials"), ("scope", "api")];
    let first = token(&a, ("web", Some(&secret)), &cc, &[&proof]).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let again = token(&b, ("web", Some(&secret)), &cc, &[&proof]).await;
    assert_eq!(
        (again.status, again.body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{}",
        again.body
    );
    // A fresh proof works at the second instance (its nonce and keys are the same too).
    let fresh = token(
        &b,
        ("web", Some(&secret)),
        &cc,
        &[&key.proof("POST", &format!("{issuer}/token"), None, None)],
    )
    .await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
}

/// A proof signed with `alg` by a freshly generated key of its type: the key's JWK, its
/// RFC 7638 thumbprint, and the proof.
fn proof_with(alg: &str, htu: &str) -> (String, String) {
    use aws_lc_rs::signature::{Ed25519KeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256};
    let rng = SystemRandom::new();
    let thumb =
        |canonical: String| b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()).as_ref());
    let input = |jwk: &Value| {
        format!(
            "{}.{}",
            b64(json!({ "typ": "dpop+jwt", "alg": alg, "jwk": jwk })
                .to_string()
                .as_bytes()),
            b64(Key::claims("POST", htu).to_string().as_bytes())
        )
    };
    match alg {
        "EdDSA" => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
            let x = b64(pair.public_key().as_ref());
            let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": x });
            let input = input(&jwk);
            let sig = pair.sign(input.as_bytes());
            (
                thumb(format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#)),
                format!("{input}.{}", b64(sig.as_ref())),
            )
        }
        "RS256" | "PS256" => {
            let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
            let public = pair.public_key();
            let n = b64(public.modulus().big_endian_without_leading_zero());
            let e = b64(public.exponent().big_endian_without_leading_zero());
            let jwk = json!({ "kty": "RSA", "n": n, "e": e });
            let input = input(&jwk);
            let mut sig = vec![0; pair.public_modulus_len()];
            let padding = if alg == "RS256" {
                &RSA_PKCS1_SHA256
            } else {
                &RSA_PSS_SHA256
            };
            pair.sign(padding, &rng, input.as_bytes(), &mut sig).unwrap();
            (
                thumb(format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#)),
                format!("{input}.{}", b64(&sig)),
            )
        }
        other => panic!("{other}"),
    }
}

/// Every algorithm discovery advertises makes a proof Tessera accepts and binds to.
#[tokio::test]
async fn every_advertised_algorithm_makes_a_valid_proof() {
    let db = common::sqlite();
    let (server, secret) = fixture(&db.url).await;
    let url = format!("{}/token", server.base);
    let cc = [("grant_type", "client_credentials"), ("scope", "api")];
    for alg in ["EdDSA", "RS256", "PS256"] {
        let (jkt, proof) = proof_with(alg, &url);
        let a = token(&server, ("web", Some(&secret)), &cc, &[&proof]).await;
        assert_eq!(a.status, 200, "{alg}: {}", a.body);
        assert_eq!(
            payload(a.body["access_token"].as_str().unwrap())["cnf"]["jkt"],
            jkt,
            "{alg}"
        );
    }
}

/// `POST /par` as `web` (Basic) with `extra` parameters and these `DPoP` headers; then, for
/// a 201, the code alice gets through `/authorize?request_uri=`.
async fn push_for_code(
    server: &TestServer,
    secret: &str,
    extra: &[(&str, &str)],
    proofs: &[&str],
) -> Result<String, Answer> {
    let mut form = vec![
        ("response_type", "code"),
        ("redirect_uri", CALLBACK),
        ("scope", SCOPES),
        ("state", "s1"),
        ("code_challenge", PKCE_CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    form.extend_from_slice(extra);
    let mut req = reqwest::Client::new()
        .post(format!("{}/par", server.base))
        .basic_auth("web", Some(secret));
    for p in proofs {
        req = req.header("DPoP", *p);
    }
    let a = answer(req.form(&form).send().await.unwrap()).await;
    if a.status != 201 {
        return Err(a);
    }
    let request_uri = a.body["request_uri"].as_str().unwrap().to_owned();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let path = format!("/authorize?client_id=web&request_uri={}", enc(&request_uri));
    let browser = common::browser();
    Ok(
        common::authorize_as(&browser, server, &path, ("alice", "correct horse battery"))
            .await
            .code,
    )
}

/// RFC 9449 §10.1: a DPoP proof at the PAR endpoint binds the pushed request's code to the
/// proof's key, like `dpop_jkt`; with both, they must agree.
#[tokio::test]
async fn a_proof_at_the_par_endpoint_binds_the_code() {
    let db = common::sqlite();
    let (server, secret) = fixture(&db.url).await;
    let key = Key::new();
    let par_url = format!("{}/par", server.base);
    let token_url = format!("{}/token", server.base);
    // Pushed with a proof: another key cannot redeem the code; the same key can.
    let c = push_for_code(&server, &secret, &[], &[&key.proof("POST", &par_url, None, None)])
        .await
        .map_err(|a| a.body)
        .unwrap();
    let a = token(
        &server,
        ("web", Some(&secret)),
        &code_form(&c),
        &[&Key::new().proof("POST", &token_url, None, None)],
    )
    .await;
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{}",
        a.body
    );
    let c = push_for_code(&server, &secret, &[], &[&key.proof("POST", &par_url, None, None)])
        .await
        .map_err(|a| a.body)
        .unwrap();
    let a = token(
        &server,
        ("web", Some(&secret)),
        &code_form(&c),
        &[&key.proof("POST", &token_url, None, None)],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        payload(a.body["access_token"].as_str().unwrap())["cnf"]["jkt"],
        key.jkt()
    );
    // dpop_jkt naming another key than the proof's: invalid_request at the push.
    let other = Key::new().jkt();
    let a = push_for_code(
        &server,
        &secret,
        &[("dpop_jkt", &other)],
        &[&key.proof("POST", &par_url, None, None)],
    )
    .await
    .unwrap_err();
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (400, Some("invalid_request")),
        "{}",
        a.body
    );
    // A proof for another endpoint is no proof for /par.
    let a = push_for_code(&server, &secret, &[], &[&key.proof("POST", &token_url, None, None)])
        .await
        .unwrap_err();
    assert_eq!(
        (a.status, a.body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{}",
        a.body
    );
}
