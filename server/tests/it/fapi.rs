//! The FAPI 2.0 Security Profile switched on for one client (`tessera_core::fapi`): what it
//! enforces at `/authorize`, `/par` and `/token`, each refusal with its exact status and
//! code, and the whole flow when every rule is met. Keys are generated here: the client's
//! (ES256 for its assertions, and an RSA key it must not use with RS256) and a DPoP key.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::header::LOCATION;
use serde_json::{json, Value};
use tessera_core::client_keys::ASSERTION_TYPE;
use tessera_core::model::SigningAlg;
use tessera_core::store::{ClientSettings, NewClient};
use tessera_core::types::{RedirectUri, ScopeSet};

use crate::client_keys::{assertion_claims, TestKey};
use crate::common::{self, TestServer, CALLBACK, PKCE_CHALLENGE, PKCE_VERIFIER};
use crate::dpop::{payload, Key};

const ALICE: (&str, &str) = ("alice", "correct horse battery");
const SCOPES: &str = "openid profile offline_access";

struct Fapi {
    server: TestServer,
    /// The client's signing key (ES256): its assertions.
    key: TestKey,
    /// An RSA key the client also registered: fine for PS256, refused for RS256.
    rsa: TestKey,
}

/// A server with alice and the client `bank` under the profile, registered as the
/// profile wants it: confidential, private_key_jwt with its keys, PS256 ID tokens.
async fn setup(url: &str, fapi2: bool) -> Fapi {
    let server = common::serve_with(url, |_| {}).await;
    common::add_user(&server, ALICE.0, ALICE.1, false).await;
    let key = TestKey::new(SigningAlg::ES256);
    let rsa = TestKey::new(SigningAlg::PS256);
    let jwks = json!({ "keys": [key.jwk(), rsa_jwk(&rsa)] }).to_string();
    server
        .db
        .store
        .create_client(
            NewClient {
                client_id: "bank".into(),
                name: "Bank".into(),
                secret_hash: None,
                redirect_uris: vec![RedirectUri::parse(CALLBACK).unwrap()],
                scopes: ScopeSet::parse(SCOPES).unwrap(),
                is_public: false,
                settings: ClientSettings {
                    token_endpoint_auth_method: "private_key_jwt".into(),
                    jwks: Some(jwks),
                    id_token_alg: "PS256".into(),
                    access_token_alg: "ES256".into(),
                    fapi2,
                    ..Default::default()
                },
            },
            1,
        )
        .await
        .unwrap();
    Fapi { server, key, rsa }
}

/// The RSA key's public JWK without `alg`: usable with RS256 and PS256 alike, so that
/// only the profile tells them apart.
fn rsa_jwk(rsa: &TestKey) -> Value {
    let mut jwk = rsa.jwk();
    jwk.as_object_mut().unwrap().remove("alg");
    jwk
}

impl Fapi {
    fn issuer(&self) -> String {
        self.server.base.clone()
    }

    /// A fresh assertion of `bank`, addressed to `aud`, signed with its ES256 key.
    fn assertion(&self, aud: &str) -> String {
        self.key.sign(&assertion_claims("bank", aud))
    }

    /// POSTs `form` (plus the client's authentication with `assertion`) to `path`, with a
    /// `DPoP` header when given; the status and the JSON body.
    async fn post(&self, path: &str, form: &[(&str, &str)], assertion: &str, dpop: Option<&str>) -> (u16, Value) {
        let mut form = form.to_vec();
        form.push(("client_assertion_type", ASSERTION_TYPE));
        form.push(("client_assertion", assertion));
        let mut req = reqwest::Client::new().post(format!("{}{path}", self.server.base));
        if let Some(p) = dpop {
            req = req.header("DPoP", p);
        }
        let res = req.form(&form).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// A DPoP proof of `key` for `POST path`.
    fn proof(&self, key: &Key, path: &str) -> String {
        key.proof("POST", &format!("{}{path}", self.server.base), None, None)
    }
}

fn push_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("response_type", "code"),
        ("client_id", "bank"),
        ("redirect_uri", CALLBACK),
        ("scope", SCOPES),
        ("state", "s1"),
        ("code_challenge", PKCE_CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

#[track_caller]
fn refused(got: (u16, Value), status: u16, code: &str, what: &str) {
    assert_eq!(
        (got.0, got.1["error"].as_str()),
        (status, Some(code)),
        "{what}: {}",
        got.1
    );
}

/// Every rule of the switch, each refused with its code, and the flow that meets them all:
/// PAR with private_key_jwt (aud = the issuer), the real sign-in and consent, the code
/// exchanged with a DPoP proof for a bound token and a PS256 ID token, and refreshes that
/// do not rotate the refresh token.
#[tokio::test]
async fn a_fapi_client_goes_through_par_private_key_jwt_and_dpop_only() {
    let tdb = common::sqlite();
    let f = setup(&tdb.url, true).await;
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let iss = f.issuer();

    // §5.3.2.2: a plain authorization request is refused (redirected: the URI is registered).
    let plain = format!(
        "/authorize?response_type=code&client_id=bank&redirect_uri={}&scope=openid&state=s1\
         &code_challenge={PKCE_CHALLENGE}&code_challenge_method=S256",
        enc(CALLBACK)
    );
    let res = common::page(&common::browser(), &f.server, &plain).await;
    assert_eq!(res.status(), 302);
    let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with(CALLBACK), "{location}");
    assert!(location.contains("error=invalid_request"), "{location}");

    // §5.3.2.1: the assertion's aud is the issuer, as a string; an endpoint URL or an array
    // is refused under the profile (both are fine for other clients).
    let par = |aud: String| f.assertion(&aud);
    refused(
        f.post("/par", &push_form(), &par(format!("{iss}/par")), None).await,
        400,
        "invalid_client",
        "aud = the PAR endpoint",
    );
    let array_aud = f.key.sign(&{
        let mut c = assertion_claims("bank", &iss);
        c["aud"] = json!([iss.clone()]);
        c
    });
    refused(
        f.post("/par", &push_form(), &array_aud, None).await,
        400,
        "invalid_client",
        "aud as an array",
    );
    // §5.4: RS256 is refused, even with a key the client registered; PS256 with it is fine.
    let rs256 = f.rsa.sign_with(
        &json!({ "alg": "RS256", "kid": f.rsa.kid() }),
        &assertion_claims("bank", &iss),
    );
    refused(
        f.post("/par", &push_form(), &rs256, None).await,
        400,
        "invalid_client",
        "RS256 assertion",
    );
    // §5.3.2.2: the redirect URI must be pushed (Tessera requires it of every client).
    let without_redirect: Vec<_> = push_form().into_iter().filter(|(k, _)| *k != "redirect_uri").collect();
    refused(
        f.post("/par", &without_redirect, &par(iss.clone()), None).await,
        400,
        "invalid_request",
        "no redirect_uri in the push",
    );
    let ps256 = f.rsa.sign(&assertion_claims("bank", &iss));
    let (status, body) = f.post("/par", &push_form(), &ps256, None).await;
    assert_eq!(status, 201, "PS256 assertion: {body}");

    // The flow: push, sign in and allow, exchange.
    let (status, body) = f.post("/par", &push_form(), &par(iss.clone()), None).await;
    assert_eq!(status, 201, "{body}");
    let request_uri = body["request_uri"].as_str().unwrap().to_owned();
    let browser = common::browser();
    let code = common::authorize_as(
        &browser,
        &f.server,
        &format!("/authorize?client_id=bank&request_uri={}", enc(&request_uri)),
        ALICE,
    )
    .await
    .code;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", PKCE_VERIFIER),
    ];
    // §5.3.2.1: sender-constrained tokens only: no proof, no token (the code is not spent).
    refused(
        f.post("/token", &exchange, &par(iss.clone()), None).await,
        400,
        "invalid_request",
        "no DPoP proof",
    );
    // §5.4: a proof signed with RS256 is refused too.
    let rs256_proof = f.rsa.sign_with(
        &json!({ "typ": "dpop+jwt", "alg": "RS256", "jwk": rsa_jwk(&f.rsa) }),
        &Key::claims("POST", &format!("{iss}/token")),
    );
    refused(
        f.post("/token", &exchange, &par(iss.clone()), Some(&rs256_proof)).await,
        400,
        "invalid_dpop_proof",
        "RS256 DPoP proof",
    );
    let dpop = Key::new();
    let (status, tokens) = f
        .post("/token", &exchange, &par(iss.clone()), Some(&f.proof(&dpop, "/token")))
        .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    assert_eq!(
        payload(tokens["access_token"].as_str().unwrap())["cnf"]["jkt"],
        dpop.jkt()
    );
    let id_header: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            tokens["id_token"].as_str().unwrap().split('.').next().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(id_header["alg"], "PS256");
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();

    // §5.3.2.1: no refresh-token rotation. The response carries no new refresh token, and
    // the same one works again (under rotation, a second use would be reuse and revoke all).
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
    ];
    for round in 0..2 {
        let (status, body) = f
            .post("/token", &refresh, &par(iss.clone()), Some(&f.proof(&dpop, "/token")))
            .await;
        assert_eq!(status, 200, "refresh {round}: {body}");
        assert!(body.get("refresh_token").is_none(), "refresh {round}: {body}");
        assert_eq!(body["token_type"], "DPoP");
        assert_ne!(body["access_token"], tokens["access_token"]);
    }
    // And still no proof, no token.
    refused(
        f.post("/token", &refresh, &par(iss.clone()), None).await,
        400,
        "invalid_request",
        "refresh without a proof",
    );
}

/// The same client without the switch: every one of those requests is accepted, so each
/// refusal above is the switch's doing.
#[tokio::test]
async fn without_the_switch_the_same_requests_pass() {
    let tdb = common::sqlite();
    let f = setup(&tdb.url, false).await;
    let iss = f.issuer();
    let (status, body) = f
        .post("/par", &push_form(), &f.assertion(&format!("{iss}/par")), None)
        .await;
    assert_eq!(status, 201, "{body}");
    let rs256 = f.rsa.sign_with(
        &json!({ "alg": "RS256", "kid": f.rsa.kid() }),
        &assertion_claims("bank", &iss),
    );
    let (status, body) = f.post("/par", &push_form(), &rs256, None).await;
    assert_eq!(status, 201, "{body}");

    let (status, body) = f
        .post(
            "/token",
            &[("grant_type", "client_credentials")],
            &f.assertion(&iss),
            None,
        )
        .await;
    assert_eq!((status, body["token_type"].as_str()), (200, Some("Bearer")), "{body}");
}

/// The console and the CLI refuse a FAPI 2.0 client registered against the profile, field
/// by field, and accept one registered as it wants.
#[tokio::test]
async fn the_cli_refuses_a_client_against_the_profile() {
    let tdb = common::sqlite();
    let f = setup(&tdb.url, true).await;
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .env("TESSERA_SECRET", common::TEST_SECRET)
            .args([
                "--database-url",
                &tdb.url,
                "client",
                "add",
                "--name",
                "Other",
                "--redirect-uri",
                CALLBACK,
            ])
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--fapi2"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--token-endpoint-auth-method: FAPI 2.0 requires private_key_jwt."),
        "{err}"
    );
    assert!(
        err.contains("--id-token-alg: FAPI 2.0 allows PS256, ES256 or EdDSA."),
        "{err}"
    );
    let jwks = json!({ "keys": [f.key.jwk()] }).to_string();
    let out = run(&[
        "--fapi2",
        "--token-endpoint-auth-method",
        "private_key_jwt",
        "--jwks",
        &jwks,
        "--id-token-alg",
        "ES256",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = printed["client_id"].as_str().unwrap();
    let client = f.server.db.store.client_by_id(id).await.unwrap().unwrap();
    assert!(client.settings.fapi2 && client.requires_par() && client.requires_dpop() && client.requires_pkce());
}
