//! Client keys: `private_key_jwt` client authentication (RFC 7523, OIDC Core §9) at
//! `/token`, `/introspect` and `/revoke`, with keys registered inline or served from a
//! `jwks_uri` (a loopback server in the test), and signed request objects (RFC 9101) at
//! `/authorize`. Keys are generated in the test; each refusal with its exact status and code.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use reqwest::header::{LOCATION, WWW_AUTHENTICATE};
use serde_json::{json, Value};
use tessera::crypto::jwt::{generate, KeySet, StoredKey};
use tessera_core::client_keys::ASSERTION_TYPE;
use tessera_core::model::SigningAlg;
use tessera_core::secret::random_id;
use tessera_core::store::{ClientSettings, NewClient};
use tessera_core::types::{RedirectUri, ScopeSet};

use crate::common::{self, TestServer, CALLBACK, PKCE_CHALLENGE, PKCE_VERIFIER};

/// A client's key pair, made here; signs compact JWSs with any header we like.
pub(crate) struct TestKey {
    stored: StoredKey,
}

impl TestKey {
    pub(crate) fn new(alg: SigningAlg) -> Self {
        TestKey {
            stored: generate(alg, 0).unwrap(),
        }
    }

    pub(crate) fn kid(&self) -> &str {
        &self.stored.kid
    }

    /// The public JWK (with `kid` and `alg`), as the server publishes its own.
    pub(crate) fn jwk(&self) -> Value {
        KeySet::from_stored(std::slice::from_ref(&self.stored)).unwrap().jwks()["keys"][0].clone()
    }

    pub(crate) fn jwks(&self) -> String {
        json!({ "keys": [self.jwk()] }).to_string()
    }

    /// `header.claims.signature`, signed with `alg` (RS256, PS256, ES256 or EdDSA).
    pub(crate) fn sign_with(&self, header: &Value, claims: &Value) -> String {
        let mut jws = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let der = &self.stored.private_pkcs8_der;
        let rng = SystemRandom::new();
        let sig: Vec<u8> = match header["alg"].as_str().unwrap() {
            "ES256" => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .unwrap()
                .sign(&rng, jws.as_bytes())
                .unwrap()
                .as_ref()
                .to_vec(),
            "EdDSA" => Ed25519KeyPair::from_pkcs8(der)
                .unwrap()
                .sign(jws.as_bytes())
                .as_ref()
                .to_vec(),
            alg @ ("RS256" | "PS256") => {
                let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(der).unwrap();
                let padding: &'static dyn aws_lc_rs::signature::RsaEncoding = if alg == "RS256" {
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256
                } else {
                    &aws_lc_rs::signature::RSA_PSS_SHA256
                };
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &rng, jws.as_bytes(), &mut sig).unwrap();
                sig
            }
            other => panic!("test signs no {other}"),
        };
        jws.push('.');
        jws.push_str(&URL_SAFE_NO_PAD.encode(sig));
        jws
    }

    /// Signed with the key's own algorithm and `kid`.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        self.sign_with(&json!({ "alg": self.stored.alg.as_str(), "kid": self.kid() }), claims)
    }
}

/// `jws` with its header replaced (the signature left as it was).
fn with_header(jws: &str, header: &Value) -> String {
    let rest = &jws[jws.find('.').unwrap()..];
    format!("{}{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
}

/// The claims of a good assertion for `client_id`, addressed to `aud`.
pub(crate) fn assertion_claims(client_id: &str, aud: &str) -> Value {
    let now = tessera::now();
    json!({
        "iss": client_id, "sub": client_id, "aud": aud,
        "iat": now, "exp": now + 60, "jti": random_id(),
    })
}

/// Registers a confidential client (code and client_credentials grants) with `settings`.
async fn add_client(server: &TestServer, client_id: &str, secret_hash: Option<String>, settings: ClientSettings) {
    server
        .db
        .store
        .create_client(
            NewClient {
                client_id: client_id.into(),
                name: format!("{client_id} app"),
                secret_hash,
                redirect_uris: vec![RedirectUri::parse(CALLBACK).unwrap()],
                scopes: ScopeSet::parse("openid profile").unwrap(),
                is_public: false,
                settings,
            },
            1,
        )
        .await
        .unwrap();
}

fn key_settings(jwks: Option<String>, jwks_uri: Option<String>) -> ClientSettings {
    ClientSettings {
        token_endpoint_auth_method: "private_key_jwt".into(),
        jwks,
        jwks_uri,
        ..Default::default()
    }
}

/// POSTs `form` to `path`; the status, the JSON body and any `WWW-Authenticate`.
async fn post(server: &TestServer, path: &str, form: &[(&str, &str)]) -> (u16, Value, Option<String>) {
    let res = reqwest::Client::new()
        .post(format!("{}{path}", server.base))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let www = res
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body, www)
}

/// client_credentials at `/token` with `assertion` (and `extra` parameters).
async fn cc(server: &TestServer, assertion: &str, extra: &[(&str, &str)]) -> (u16, Value, Option<String>) {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    form.extend_from_slice(extra);
    post(server, "/token", &form).await
}

/// Asserts a refusal: exact status and `error`.
#[track_caller]
fn refused(got: (u16, Value, Option<String>), status: u16, code: &str, what: &str) {
    assert_eq!(
        (got.0, got.1["error"].as_str()),
        (status, Some(code)),
        "{what}: {:?}",
        got.1
    );
}

#[tokio::test]
async fn private_key_jwt_at_token_introspect_and_revoke() {
    for tdb in common::databases().await {
        let server = common::serve(&tdb.url).await;
        let base = server.base.clone();
        let es = TestKey::new(SigningAlg::ES256);
        add_client(&server, "kc", None, key_settings(Some(es.jwks()), None)).await;

        // /token, aud = the token endpoint URL (OIDC Core §9).
        let (status, body, _) = cc(
            &server,
            &es.sign(&assertion_claims("kc", &format!("{base}/token"))),
            &[],
        )
        .await;
        assert_eq!(status, 200, "{}: {body}", tdb.name);
        let access = body["access_token"].as_str().unwrap().to_owned();

        // aud = the issuer (FAPI 2.0), with client_id in the form too.
        let (status, body, _) = cc(
            &server,
            &es.sign(&assertion_claims("kc", &base)),
            &[("client_id", "kc")],
        )
        .await;
        assert_eq!(status, 200, "{body}");

        // /introspect authenticates the same way.
        let a = es.sign(&assertion_claims("kc", &format!("{base}/introspect")));
        let form = [
            ("token", access.as_str()),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &a),
        ];
        let (status, body, _) = post(&server, "/introspect", &form).await;
        assert_eq!((status, &body["active"]), (200, &json!(true)), "{body}");
        assert_eq!(body["client_id"], "kc");

        // /revoke too; then the token is inactive.
        let a = es.sign(&assertion_claims("kc", &base));
        let form = [
            ("token", access.as_str()),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &a),
        ];
        let (status, _, _) = post(&server, "/revoke", &form).await;
        assert_eq!(status, 200);
        let a = es.sign(&assertion_claims("kc", &base));
        let form = [
            ("token", access.as_str()),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &a),
        ];
        let (_, body, _) = post(&server, "/introspect", &form).await;
        assert_eq!(body["active"], false);

        // Every algorithm offered, with and without kid (then each key fitting the alg).
        let rsa = TestKey::new(SigningAlg::RS256);
        let ed = TestKey::new(SigningAlg::EdDSA);
        let mut rsa_any = rsa.jwk();
        rsa_any.as_object_mut().unwrap().remove("alg"); // usable with RS256 and PS256
        let jwks = json!({ "keys": [rsa_any, ed.jwk()] }).to_string();
        add_client(&server, "multi", None, key_settings(Some(jwks), None)).await;
        for (key, header) in [
            (&rsa, json!({ "alg": "RS256", "kid": rsa.kid() })),
            (&rsa, json!({ "alg": "PS256", "kid": rsa.kid() })),
            (&rsa, json!({ "alg": "PS256" })),
            (&ed, json!({ "alg": "EdDSA" })),
            (&ed, json!({ "alg": "EdDSA", "kid": ed.kid() })),
        ] {
            let a = key.sign_with(&header, &assertion_claims("multi", &base));
            let (status, body, _) = cc(&server, &a, &[]).await;
            assert_eq!(status, 200, "{header}: {body}");
        }
    }
}

#[tokio::test]
async fn bad_assertions_are_invalid_client() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    let base = server.base.clone();
    let token_url = format!("{base}/token");
    let es = TestKey::new(SigningAlg::ES256);
    let rsa = TestKey::new(SigningAlg::RS256);
    let jwks = json!({ "keys": [es.jwk(), rsa.jwk()] }).to_string();
    add_client(&server, "kc", None, key_settings(Some(jwks), None)).await;
    let now = tessera::now();
    let with = |edit: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut c = assertion_claims("kc", &token_url);
        edit(c.as_object_mut().unwrap());
        c
    };
    let other = TestKey::new(SigningAlg::ES256);
    let none_jws = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(assertion_claims("kc", &token_url).to_string())
    );
    // RFC 8725 §2.1: HS256 "signed" with the client's public key as the HMAC secret.
    let public_n = rsa.jwk()["n"].as_str().unwrap().to_owned();
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            kid: Some(rsa.kid().to_owned()),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        },
        &assertion_claims("kc", &token_url),
        &jsonwebtoken::EncodingKey::from_secret(public_n.as_bytes()),
    )
    .unwrap();
    let mut tampered = es.sign(&assertion_claims("kc", &token_url));
    tampered.insert(tampered.rfind('.').unwrap() + 1, 'A');
    let oversize = es.sign(&with(&|c| {
        c.insert("pad".into(), json!("x".repeat(9000)));
    }));
    let cases: Vec<(&str, String)> = vec![
        (
            "wrong aud",
            es.sign(&with(&|c| {
                c.insert("aud".into(), json!("https://other.example/token"));
            })),
        ),
        (
            "expired exp",
            es.sign(&with(&|c| {
                c.insert("exp".into(), json!(now - 120));
            })),
        ),
        (
            "exp too far ahead",
            es.sign(&with(&|c| {
                c.insert("exp".into(), json!(now + 3600));
            })),
        ),
        (
            "no exp",
            es.sign(&with(&|c| {
                c.remove("exp");
            })),
        ),
        (
            "iat in the future",
            es.sign(&with(&|c| {
                c.insert("iat".into(), json!(now + 600));
            })),
        ),
        (
            "no jti",
            es.sign(&with(&|c| {
                c.remove("jti");
            })),
        ),
        (
            "wrong iss",
            es.sign(&with(&|c| {
                c.insert("iss".into(), json!("someone"));
            })),
        ),
        (
            "wrong sub",
            es.sign(&with(&|c| {
                c.insert("sub".into(), json!("someone"));
            })),
        ),
        ("unknown key", other.sign(&assertion_claims("kc", &token_url))),
        (
            "unknown key, no kid",
            other.sign_with(&json!({"alg": "ES256"}), &assertion_claims("kc", &token_url)),
        ),
        (
            "key of another alg",
            with_header(
                &es.sign(&assertion_claims("kc", &token_url)),
                &json!({"alg": "RS256", "kid": es.kid()}),
            ),
        ),
        ("alg none", none_jws),
        ("HS256 with the public key", hs),
        ("bad signature", tampered),
        ("oversize", oversize),
        ("not a JWT", "not-a-jwt".into()),
        // RFC 8725 §2.8: a request object (it travels through the browser) is no assertion,
        // by its typ or by what it says.
        (
            "typed as a request object",
            es.sign_with(
                &json!({"alg": "ES256", "kid": es.kid(), "typ": "oauth-authz-req+jwt"}),
                &assertion_claims("kc", &token_url),
            ),
        ),
        (
            "a request object's claims",
            es.sign(&with(&|c| {
                c.insert("response_type".into(), json!("code"));
                c.insert("client_id".into(), json!("kc"));
            })),
        ),
    ];
    for (what, assertion) in &cases {
        refused(
            cc(&server, assertion, &[("client_id", "kc")]).await,
            400,
            "invalid_client",
            what,
        );
    }

    // A replayed jti (RFC 7523 §3 item 7).
    let a = es.sign(&assertion_claims("kc", &token_url));
    assert_eq!(cc(&server, &a, &[]).await.0, 200);
    refused(cc(&server, &a, &[]).await, 400, "invalid_client", "replayed jti");

    // client_id in the form naming another client than the assertion's iss/sub.
    add_client(&server, "other", None, key_settings(Some(es.jwks()), None)).await;
    let a = es.sign(&assertion_claims("kc", &token_url));
    refused(
        cc(&server, &a, &[("client_id", "other")]).await,
        400,
        "invalid_client",
        "client_id mismatch",
    );

    // A secret client never authenticates with an assertion, even one signed right.
    let secret = tessera_core::secret::ClientSecret::generate();
    let mut settings = key_settings(Some(es.jwks()), None);
    settings.token_endpoint_auth_method = "client_secret_basic".into();
    add_client(&server, "sc", Some(secret.hash()), settings).await;
    let a = es.sign(&assertion_claims("sc", &token_url));
    refused(
        cc(&server, &a, &[]).await,
        400,
        "invalid_client",
        "assertion for a secret client",
    );

    // A private_key_jwt client never with a secret (even one left in the store).
    let leftover = tessera_core::secret::ClientSecret::generate();
    add_client(
        &server,
        "kc2",
        Some(leftover.hash()),
        key_settings(Some(es.jwks()), None),
    )
    .await;
    let res = reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth("kc2", Some(leftover.expose()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers()[WWW_AUTHENTICATE].to_str().unwrap().starts_with("Basic"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "kc2"),
        ("client_secret", leftover.expose()),
    ];
    refused(
        post(&server, "/token", &form).await,
        400,
        "invalid_client",
        "secret (post) for a pkjwt client",
    );

    // A pkjwt client presenting nothing at all.
    let form = [("grant_type", "client_credentials"), ("client_id", "kc")];
    refused(
        post(&server, "/token", &form).await,
        400,
        "invalid_client",
        "no credential",
    );

    // An assertion type we do not know; an assertion beside Basic (two methods).
    let a = es.sign(&assertion_claims("kc", &token_url));
    let form = [
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
        ),
        ("client_assertion", a.as_str()),
    ];
    refused(
        post(&server, "/token", &form).await,
        400,
        "invalid_client",
        "unknown assertion type",
    );
    let res = reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth("kc", Some("x"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", a.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_request");
}

/// A loopback HTTP server playing the client's `jwks_uri`; counts the fetches of `/jwks`.
struct JwksServer {
    base: String,
    fetches: Arc<AtomicUsize>,
}

async fn jwks_server(jwks: String) -> JwksServer {
    use axum::response::{IntoResponse, Redirect};
    use axum::routing::get;
    let fetches = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let counter = fetches.clone();
    let app = axum::Router::new()
        .route(
            "/jwks",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let body = jwks.clone();
                async move { ([("content-type", "application/jwk-set+json")], body).into_response() }
            }),
        )
        // Same host: followed. Another host (localhost is not 127.0.0.1): not.
        .route("/moved", get(|| async { Redirect::temporary("/jwks") }))
        .route(
            "/elsewhere",
            get(move || async move { Redirect::temporary(&format!("http://localhost:{port}/jwks")) }),
        )
        .route(
            "/big",
            get(|| async { format!(r#"{{"keys":[],"pad":"{}"}}"#, "x".repeat(40_000)) }),
        )
        .route(
            "/broken",
            get(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "no") }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    JwksServer {
        base: format!("http://127.0.0.1:{port}"),
        fetches,
    }
}

#[tokio::test]
async fn private_key_jwt_with_a_jwks_uri() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    let base = server.base.clone();
    let key = TestKey::new(SigningAlg::ES256);
    let remote = jwks_server(key.jwks()).await;
    add_client(
        &server,
        "uri",
        None,
        key_settings(None, Some(format!("{}/jwks", remote.base))),
    )
    .await;

    for _ in 0..3 {
        let (status, body, _) = cc(&server, &key.sign(&assertion_claims("uri", &base)), &[]).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(remote.fetches.load(Ordering::SeqCst), 1, "fetched once, then cached");

    // An unknown kid may make us fetch again, but not more than once a minute: the client
    // cannot make us hammer its URI.
    let stranger = TestKey::new(SigningAlg::ES256);
    for _ in 0..3 {
        refused(
            cc(&server, &stranger.sign(&assertion_claims("uri", &base)), &[]).await,
            400,
            "invalid_client",
            "unknown kid",
        );
    }
    assert!(remote.fetches.load(Ordering::SeqCst) <= 2, "rate-limited refetch");

    // Redirects are followed on the same host only; a failing or oversized URI fails the
    // client, each with invalid_client.
    add_client(
        &server,
        "moved",
        None,
        key_settings(None, Some(format!("{}/moved", remote.base))),
    )
    .await;
    let (status, body, _) = cc(&server, &key.sign(&assertion_claims("moved", &base)), &[]).await;
    assert_eq!(status, 200, "same-host redirect: {body}");
    for path in ["elsewhere", "big", "broken"] {
        let id = format!("c-{path}");
        add_client(
            &server,
            &id,
            None,
            key_settings(None, Some(format!("{}/{path}", remote.base))),
        )
        .await;
        refused(
            cc(&server, &key.sign(&assertion_claims(&id, &base)), &[]).await,
            400,
            "invalid_client",
            path,
        );
    }
}

/// RFC 7523 §3 item 7 across instances: an assertion used at one Tessera is refused at
/// another on the same PostgreSQL database.
#[tokio::test]
async fn a_jti_is_single_use_across_instances() {
    let Some(tdb) = common::postgres_only().await else {
        return;
    };
    let one = common::serve(&tdb.url).await;
    let two = common::serve(&tdb.url).await;
    let key = TestKey::new(SigningAlg::EdDSA);
    add_client(&one, "kc", None, key_settings(Some(key.jwks()), None)).await;
    // Each instance checks aud against its own issuer; name both.
    let claims = |aud: Value| {
        let mut c = assertion_claims("kc", "");
        c["aud"] = aud;
        c
    };
    let a = key.sign(&claims(json!([one.base, two.base])));
    assert_eq!(cc(&one, &a, &[]).await.0, 200);
    refused(
        cc(&two, &a, &[]).await,
        400,
        "invalid_client",
        "replay at the other instance",
    );
    let b = key.sign(&claims(json!([one.base, two.base])));
    assert_eq!(cc(&two, &b, &[]).await.0, 200);
    refused(
        cc(&one, &b, &[]).await,
        400,
        "invalid_client",
        "replay back at the first",
    );
}

#[tokio::test]
async fn discovery_lists_private_key_jwt_and_request_objects() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    let m: Value = reqwest::get(format!("{}/.well-known/openid-configuration", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let algs = json!(["RS256", "PS256", "ES256", "EdDSA"]);
    assert!(m["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("private_key_jwt")));
    for field in [
        "token_endpoint_auth_signing_alg_values_supported",
        "introspection_endpoint_auth_signing_alg_values_supported",
        "revocation_endpoint_auth_signing_alg_values_supported",
        "request_object_signing_alg_values_supported",
    ] {
        assert_eq!(m[field], algs, "{field}");
    }
    assert_eq!(m["request_parameter_supported"], true);
    assert_eq!(m["request_uri_parameter_supported"], false);
}

// --- Signed request objects (RFC 9101) at /authorize ----------------------------------

/// What a good request object for `client_id` says (a code flow with PKCE).
fn request_claims(server: &TestServer, client_id: &str, scope: &str) -> Value {
    let now = tessera::now();
    json!({
        "iss": client_id, "aud": server.base, "exp": now + 300, "nbf": now, "iat": now,
        "jti": random_id(), "client_id": client_id, "response_type": "code",
        "redirect_uri": CALLBACK, "scope": scope, "state": "inside",
        "code_challenge": PKCE_CHALLENGE, "code_challenge_method": "S256",
    })
}

fn authorize_path(params: &[(&str, &str)]) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("/authorize?{query}")
}

/// A refusal shown to the user: 400, no redirect, the code on the page.
async fn shown(server: &TestServer, params: &[(&str, &str)], code: &str, what: &str) {
    let res = common::page(&common::browser(), server, &authorize_path(params)).await;
    assert_eq!(res.status(), 400, "{what}");
    assert!(res.headers().get(LOCATION).is_none(), "{what}: never redirected");
    let body = res.text().await.unwrap();
    assert!(body.contains(code), "{what}: {body}");
}

#[tokio::test]
async fn signed_request_objects_at_authorize() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    common::add_user(&server, "alice", "correct horse battery", false).await;
    let key = TestKey::new(SigningAlg::ES256);
    let secret = tessera_core::secret::ClientSecret::generate();
    // A secret client with keys for its request objects.
    add_client(
        &server,
        "web",
        Some(secret.hash()),
        ClientSettings {
            jwks: Some(key.jwks()),
            ..Default::default()
        },
    )
    .await;

    // Parameters come from inside the object only (RFC 9101 §6.3): the scope and state
    // outside are ignored.
    let jws = key.sign(&request_claims(&server, "web", "openid"));
    let path = authorize_path(&[
        ("client_id", "web"),
        ("request", &jws),
        ("scope", "openid profile"),
        ("state", "outside"),
        ("response_type", "code"),
    ]);
    let walk = common::authorize_as(&common::browser(), &server, &path, ("alice", "correct horse battery")).await;
    assert!(walk.callback_url.contains("state=inside"), "{}", walk.callback_url);
    let (status, body) = common::token(
        &server,
        secret.expose(),
        &[
            ("grant_type", "authorization_code"),
            ("code", &walk.code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", PKCE_VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "openid", "the scope inside the object");

    // Refusals, shown to the user (the redirect URI inside cannot be trusted).
    let now = tessera::now();
    let edit = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut c = request_claims(&server, "web", "openid");
        f(c.as_object_mut().unwrap());
        key.sign(&c)
    };
    let other = TestKey::new(SigningAlg::ES256);
    let mut tampered = key.sign(&request_claims(&server, "web", "openid"));
    tampered.insert(tampered.rfind('.').unwrap() + 1, 'A');
    let cases: Vec<(&str, String)> = vec![
        ("bad signature", tampered),
        ("unknown key", other.sign(&request_claims(&server, "web", "openid"))),
        (
            "wrong aud",
            edit(&|c| {
                c.insert("aud".into(), json!("https://other.example"));
            }),
        ),
        (
            "expired",
            edit(&|c| {
                c.insert("exp".into(), json!(now - 600));
            }),
        ),
        (
            "no exp",
            edit(&|c| {
                c.remove("exp");
            }),
        ),
        (
            "nbf ahead",
            edit(&|c| {
                c.insert("nbf".into(), json!(now + 600));
            }),
        ),
        (
            "wrong iss",
            edit(&|c| {
                c.insert("iss".into(), json!("other"));
            }),
        ),
        (
            "client_id inside is another",
            edit(&|c| {
                c.insert("client_id".into(), json!("other"));
            }),
        ),
        (
            "claims object",
            edit(&|c| {
                c.insert("claims".into(), json!({"id_token": {}}));
            }),
        ),
        (
            "typed as an access token",
            key.sign_with(
                &json!({"alg": "ES256", "kid": key.kid(), "typ": "at+jwt"}),
                &request_claims(&server, "web", "openid"),
            ),
        ),
    ];
    for (what, jws) in &cases {
        shown(
            &server,
            &[("client_id", "web"), ("request", jws)],
            "invalid_request_object",
            what,
        )
        .await;
    }
    // The client_id outside must be the object's (RFC 9101 §6.3), and name a client.
    add_client(
        &server,
        "other",
        Some(secret.hash()),
        ClientSettings {
            jwks: Some(key.jwks()),
            ..Default::default()
        },
    )
    .await;
    let jws = key.sign(&request_claims(&server, "web", "openid"));
    shown(
        &server,
        &[("client_id", "other"), ("request", &jws)],
        "invalid_request_object",
        "client_id mismatch",
    )
    .await;
    shown(
        &server,
        &[("client_id", "nobody"), ("request", &jws)],
        "invalid_request",
        "unknown client",
    )
    .await;
    // request and request_uri together; request_uri alone is not supported.
    shown(
        &server,
        &[("client_id", "web"), ("request", &jws), ("request_uri", "urn:x")],
        "invalid_request",
        "both",
    )
    .await;

    // A client without keys cannot send a request object.
    add_client(&server, "nokeys", Some(secret.hash()), ClientSettings::default()).await;
    let jws = key.sign(&request_claims(&server, "nokeys", "openid"));
    shown(
        &server,
        &[("client_id", "nokeys"), ("request", &jws)],
        "invalid_request_object",
        "no keys",
    )
    .await;
}

#[tokio::test]
async fn a_client_may_require_signed_request_objects() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    let key = TestKey::new(SigningAlg::EdDSA);
    let secret = tessera_core::secret::ClientSecret::generate();
    add_client(
        &server,
        "strict",
        Some(secret.hash()),
        ClientSettings {
            jwks: Some(key.jwks()),
            require_signed_request_object: true,
            ..Default::default()
        },
    )
    .await;
    // A plain request: invalid_request, redirected (the redirect URI is registered).
    let res = common::page(
        &common::browser(),
        &server,
        &authorize_path(&[
            ("client_id", "strict"),
            ("response_type", "code"),
            ("redirect_uri", CALLBACK),
            ("scope", "openid"),
            ("state", "s"),
            ("code_challenge", PKCE_CHALLENGE),
            ("code_challenge_method", "S256"),
        ]),
    )
    .await;
    assert_eq!(res.status(), 302);
    let loc = url::Url::parse(res.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert!(loc.as_str().starts_with(CALLBACK), "{loc}");
    let error = loc
        .query_pairs()
        .find(|(k, _)| k == "error")
        .map(|(_, v)| v.into_owned());
    assert_eq!(error.as_deref(), Some("invalid_request"));
    // Signed: on to the login page.
    // Typed as RFC 9101 §10.8 recommends.
    let jws = key.sign_with(
        &json!({"alg": "EdDSA", "kid": key.kid(), "typ": "oauth-authz-req+jwt"}),
        &request_claims(&server, "strict", "openid"),
    );
    let res = common::page(
        &common::browser(),
        &server,
        &authorize_path(&[("client_id", "strict"), ("request", &jws)]),
    )
    .await;
    assert_eq!(res.status(), 302);
    assert!(res.headers()[LOCATION].to_str().unwrap().starts_with("/login?"));
}

/// Registration refuses what cannot be a client's public keys (the CLI runs the console's
/// one validation): a private key, an http jwks_uri for a non-loopback issuer, both.
#[tokio::test]
async fn registration_refuses_bad_keys() {
    let tdb = common::sqlite();
    let key = TestKey::new(SigningAlg::ES256);
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--database-url",
            &tdb.url,
            "client",
            "add",
            "--name",
            "Keyed",
            "--redirect-uri",
            CALLBACK,
            "--token-endpoint-auth-method",
            "private_key_jwt",
        ];
        args.extend_from_slice(extra);
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .env("TESSERA_SECRET", common::TEST_SECRET)
            .env_remove("TESSERA_ISSUER")
            .args(args)
            .output()
            .unwrap()
    };
    let mut private = key.jwk();
    private["d"] = json!("c2VjcmV0");
    let private = json!({ "keys": [private] }).to_string();
    let jwks = key.jwks();
    #[rustfmt::skip]
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--jwks", &private], "--jwks: A key has the private member"),
        (vec!["--jwks-uri", "http://keys.example/jwks"], "--jwks-uri: Give an absolute https URL"),
        (vec!["--jwks-uri", "http://127.0.0.1:9/jwks", "--issuer", "https://id.example"], "--jwks-uri: Give an absolute https URL"),
        (vec!["--jwks", &jwks, "--jwks-uri", "https://keys.example/jwks"], "not both"),
        (vec![], "--jwks: private_key_jwt needs the client's public keys"),
    ];
    for (extra, message) in &cases {
        let out = run(extra);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?}");
        assert!(stderr.contains(message), "{extra:?}: {stderr}");
    }
    // Good keys: registered, and no secret printed.
    for extra in [
        vec!["--jwks", jwks.as_str()],
        vec![
            "--jwks-uri",
            "http://127.0.0.1:9/jwks",
            "--issuer",
            "http://127.0.0.1:3000",
        ],
    ] {
        let out = run(&extra);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            printed["client_id"].is_string() && printed.get("client_secret").is_none(),
            "{printed}"
        );
    }
}

/// The console refuses the same (one validation for both), and registers a
/// private_key_jwt client without a secret.
#[tokio::test]
async fn the_console_registers_keys() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    common::add_user(&server, "root", "root-password", true).await;
    let admin = common::browser();
    assert_eq!(common::sign_in(&admin, &server, "root", "root-password").await, "/");
    let key = TestKey::new(SigningAlg::ES256);
    let mut private = key.jwk();
    private["d"] = json!("c2VjcmV0");
    let private = json!({ "keys": [private] }).to_string();
    let jwks = key.jwks();
    let form = |jwks: &'static str, jwks_uri: &'static str| {
        vec![
            ("name", "Keyed"),
            ("client_type", "confidential"),
            ("redirect_uris", CALLBACK),
            ("scopes", "openid"),
            ("grant_authorization_code", "on"),
            ("require_pkce", "on"),
            ("access_token_ttl", "900"),
            ("refresh_token_ttl", "86400"),
            ("access_token_alg", "ES256"),
            ("id_token_alg", "RS256"),
            ("token_endpoint_auth_method", "private_key_jwt"),
            ("jwks", jwks),
            ("jwks_uri", jwks_uri),
        ]
    };
    let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
    for (fields, message) in [
        (form(leak(&private), ""), "private member"),
        (form("", "http://keys.example/jwks"), "Give an absolute https URL"),
        (form(leak(&jwks), "https://keys.example/jwks"), "not both"),
        (form("", ""), "private_key_jwt needs the client"),
    ] {
        let at = common::post_form(
            &admin,
            &server,
            "/admin/clients/new",
            "/ui/admin/clients/create",
            &fields,
        )
        .await;
        assert_eq!(at, "/admin/clients/new");
        let html = common::page(&admin, &server, &at).await.text().await.unwrap();
        assert!(html.contains(message), "{message}: {html}");
    }
    assert!(server.db.store.list_clients().await.unwrap().is_empty());
    // The issuer is loopback here, so a loopback http jwks_uri is allowed.
    let at = common::post_form(
        &admin,
        &server,
        "/admin/clients/new",
        "/ui/admin/clients/create",
        &form("", "http://127.0.0.1:9/jwks"),
    )
    .await;
    let html = common::page(&admin, &server, &at).await.text().await.unwrap();
    assert!(!html.contains("data-testid=\"client-secret\""), "no secret shown");
    let clients = server.db.store.list_clients().await.unwrap();
    assert_eq!(clients.len(), 1);
    let c = &clients[0];
    assert_eq!(c.settings.token_endpoint_auth_method, "private_key_jwt");
    assert_eq!(c.settings.jwks_uri.as_deref(), Some("http://127.0.0.1:9/jwks"));
    assert_eq!(c.secret_hash, None);
}
