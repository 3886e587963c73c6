//! The token side of the protocol against a real server, on SQLite and PostgreSQL: code
//! exchange with PKCE, refresh rotation and reuse detection, client credentials,
//! revocation, introspection, userinfo, the sample resource, discovery, the JWKS and key
//! rotation. The `oauth2` crate plays the client wherever a real client library fits;
//! raw requests check exact error statuses and headers.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AccessToken, AuthType, AuthorizationCode, ClientId, ClientSecret, EndpointNotSet, EndpointSet, ExtraTokenFields,
    IntrospectionUrl, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    RevocationErrorResponseType, RevocationUrl, Scope, StandardRevocableToken, StandardTokenResponse,
    TokenIntrospectionResponse, TokenResponse, TokenUrl,
};
use reqwest::header::{CACHE_CONTROL, WWW_AUTHENTICATE};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tessera::crypto::issue::{resource_audience, AccessClaims};
use tessera::crypto::jwt::{at_hash, SigningAlg};
use tessera::crypto::keyring::KeyRing;
use tessera_core::password::hash_password;
use tessera_core::pkce::PkceChallenge;
use tessera_core::secret::{hash_secret, random_id, random_token, ClientSecret as CoreSecret};
use tessera_core::store::{ClientSettings, NewClient, NewUser};
use tessera_core::token::CodeRecord;
use tessera_core::types::{RedirectUri, ScopeSet, Username};

const CB: &str = "https://app.example/cb";
const ALL_SCOPES: &str = "openid profile email offline_access";

// ---------------------------------------------------------------------------------------
// The oauth2 client, with the ID token the basic response type does not carry.

#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

type TokenResp = StandardTokenResponse<IdTokenField, BasicTokenType>;
type OidcClient = oauth2::Client<
    BasicErrorResponse,
    TokenResp,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointSet,
    EndpointSet,
>;

fn http() -> oauth2::reqwest::Client {
    oauth2::reqwest::ClientBuilder::new()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn oauth(base: &str, client_id: &str, secret: Option<&str>) -> OidcClient {
    let c = oauth2::Client::new(ClientId::new(client_id.to_owned()))
        .set_token_uri(TokenUrl::new(format!("{base}/token")).unwrap())
        // RFC 7009 §2: clients MUST use HTTPS, which oauth2 enforces; see `loopback`.
        .set_revocation_url(RevocationUrl::new(format!("{base}/revoke").replacen("http://", "https://", 1)).unwrap())
        .set_introspection_url(IntrospectionUrl::new(format!("{base}/introspect")).unwrap())
        .set_redirect_uri(RedirectUrl::new(CB.to_owned()).unwrap());
    match secret {
        Some(s) => c.set_client_secret(ClientSecret::new(s.to_owned())),
        // A public client sends client_id in the body.
        None => c.set_auth_type(AuthType::RequestBody),
    }
}

/// The transport for revocation requests: oauth2 insists on an https revocation URL (RFC
/// 7009 §2) and the test server speaks plain HTTP on loopback, so this sends the request
/// as built, to the same address over http.
async fn loopback(req: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, oauth2::reqwest::Error> {
    let (parts, body) = req.into_parts();
    let url = parts
        .uri
        .to_string()
        .replacen("https://127.0.0.1", "http://127.0.0.1", 1);
    let res = http()
        .request(parts.method, url)
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut out = oauth2::http::Response::builder().status(res.status());
    for (name, value) in res.headers() {
        out = out.header(name, value);
    }
    Ok(out.body(res.bytes().await?.to_vec()).unwrap())
}

/// The `error` of a failed oauth2 request.
fn oauth_error<RE: std::error::Error + 'static>(
    e: RequestTokenError<RE, BasicErrorResponse>,
) -> BasicErrorResponseType {
    match e {
        RequestTokenError::ServerResponse(r) => r.error().clone(),
        other => panic!("expected an error response, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Fixture: a server whose key ring the test can reach, a user, three clients.

struct Fx {
    server: common::TestServer,
    ring: Arc<KeyRing>,
    user_id: String,
    conf: (String, String),
    other: (String, String),
    public: String,
}

async fn serve(db_url: &str) -> (common::TestServer, Arc<KeyRing>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = tessera::config::Config::resolve(Some(addr), None, None, db_url, "target/site").unwrap();
    config.secret = Arc::new(common::test_secret());
    let db = tessera::store::open(db_url).await.unwrap();
    let ring = KeyRing::load(db.store.clone(), &common::test_secret(), tessera::now())
        .await
        .unwrap();
    let app = tessera::web::router(&config, db.clone(), ring.clone());
    tokio::spawn(async move {
        axum::serve(listener, axum::ServiceExt::into_make_service(app))
            .await
            .unwrap()
    });
    let server = common::TestServer {
        addr,
        base: format!("http://{addr}"),
        db,
        url: db_url.to_owned(),
    };
    (server, ring)
}

async fn add_client(server: &common::TestServer, public: bool, scopes: &str) -> (String, String) {
    let secret = (!public).then(CoreSecret::generate);
    let client = server
        .db
        .store
        .create_client(
            NewClient {
                client_id: random_id(),
                name: "Test App".into(),
                secret_hash: secret.as_ref().map(CoreSecret::hash),
                redirect_uris: vec![RedirectUri::parse(CB).unwrap()],
                scopes: ScopeSet::parse(scopes).unwrap(),
                is_public: public,
                settings: ClientSettings::default(),
            },
            tessera::now(),
        )
        .await
        .unwrap();
    (
        client.client_id,
        secret.map(|s| s.expose().to_owned()).unwrap_or_default(),
    )
}

async fn fixture(db_url: &str) -> Fx {
    let (server, ring) = serve(db_url).await;
    let user = server
        .db
        .store
        .create_user(
            NewUser {
                username: Username::parse("alice").unwrap(),
                password_hash: hash_password("correct horse").unwrap(),
                email: Some("alice@example.com".into()),
                name: Some("Alice Example".into()),
                is_admin: false,
            },
            tessera::now(),
        )
        .await
        .unwrap();
    let all = format!("{ALL_SCOPES} api");
    let conf = add_client(&server, false, &all).await;
    let other = add_client(&server, false, &all).await;
    let public = add_client(&server, true, ALL_SCOPES).await.0;
    Fx {
        server,
        ring,
        user_id: user.id,
        conf,
        other,
        public,
    }
}

impl Fx {
    fn base(&self) -> &str {
        &self.server.base
    }

    fn conf_client(&self) -> OidcClient {
        oauth(self.base(), &self.conf.0, Some(&self.conf.1))
    }

    /// Stores an authorization code as `/authorize` would, with a PKCE challenge.
    async fn code_with(&self, client_id: &str, scopes: &str, expires_in: i64) -> (String, PkceCodeVerifier) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let now = tessera::now();
        let code = random_token();
        let record = CodeRecord {
            client_id: client_id.to_owned(),
            redirect_uri: RedirectUri::parse(CB).unwrap(),
            redirect_uri_in_request: true,
            pkce: PkceChallenge::parse(Some(challenge.as_str()), Some("S256")).unwrap(),
            nonce: Some("n-0S6_WzA2Mj".into()),
            user_id: self.user_id.clone(),
            scopes: ScopeSet::parse(scopes).unwrap(),
            auth_time: now - 5,
            expires_at: now + expires_in,
            used: false,
            dpop_jkt: None,
            resources: Vec::new(),
        };
        self.server
            .db
            .store
            .put_code(&hash_secret(&code), &random_id(), &record, now)
            .await
            .unwrap();
        (code, verifier)
    }

    async fn code(&self, scopes: &str) -> (String, PkceCodeVerifier) {
        self.code_with(&self.conf.0, scopes, 60).await
    }

    /// A full code exchange by the confidential client.
    async fn tokens(&self, scopes: &str) -> TokenResp {
        let (code, verifier) = self.code(scopes).await;
        self.conf_client()
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&http())
            .await
            .unwrap()
    }

    async fn resource(&self, token: &str) -> reqwest::Response {
        http()
            .get(format!("{}/api/resource", self.base()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// A raw token request; client credentials in the body.
    async fn post_token(&self, form: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, Value) {
        let res = http()
            .post(format!("{}/token", self.base()))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        (status, headers, body)
    }
}

fn jwt_part(jwt: &str, i: usize) -> Value {
    let part = jwt.split('.').nth(i).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

async fn assert_invalid_token(res: reqwest::Response, why: &str) {
    assert_eq!(res.status(), 401, "{why}");
    let challenge = res.headers()[WWW_AUTHENTICATE].to_str().unwrap().to_owned();
    assert!(challenge.starts_with("Bearer realm=\"tessera\""), "{why}: {challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{why}: {challenge}");
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_token", "{why}");
}

// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn code_exchange_issues_working_tokens() {
    for tdb in common::databases().await {
        let fx = fixture(&tdb.url).await;
        let t = fx.tokens(ALL_SCOPES).await;
        let at = t.access_token().secret();
        let id_token = t.extra_fields().id_token.clone().expect("id_token");
        assert!(
            t.refresh_token().is_some(),
            "{}: offline_access gives a refresh token",
            tdb.name
        );
        assert_eq!(t.token_type(), &BasicTokenType::Bearer);
        assert_eq!(t.expires_in().unwrap().as_secs(), 3600);

        // RFC 9068 §2.1 header; ES256 and RS256 by default.
        let ah = jwt_part(at, 0);
        assert_eq!(
            (ah["typ"].as_str(), ah["alg"].as_str()),
            (Some("at+jwt"), Some("ES256"))
        );
        let ih = jwt_part(&id_token, 0);
        assert_eq!((ih["typ"].as_str(), ih["alg"].as_str()), (Some("JWT"), Some("RS256")));

        // RFC 9068 §2.2 claims.
        let a = jwt_part(at, 1);
        assert_eq!(a["iss"], fx.base());
        assert_eq!(a["aud"], resource_audience(fx.base()));
        assert_eq!(a["sub"], fx.user_id.as_str());
        assert_eq!(a["client_id"], fx.conf.0.as_str());
        assert_eq!(a["scope"], "email offline_access openid profile");
        for c in ["exp", "iat", "jti", "auth_time", "gid"] {
            assert!(!a[c].is_null(), "access token claim {c}");
        }

        // OIDC Core §2 / §3.1.3.6 claims.
        let id = jwt_part(&id_token, 1);
        assert_eq!(id["aud"], fx.conf.0.as_str());
        assert_eq!(id["azp"], fx.conf.0.as_str());
        assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
        assert_eq!(id["at_hash"], at_hash(SigningAlg::RS256, at));
        assert_eq!(id["auth_time"], a["auth_time"]);
        assert_eq!(id["name"], "Alice Example");
        assert_eq!(id["preferred_username"], "alice");
        assert_eq!(id["email"], "alice@example.com");
        assert_eq!(id["email_verified"], false);
        // The ID token verifies against the published keys.
        fx.ring
            .keys()
            .verify::<Value>(&id_token, "JWT", fx.base(), Some(&fx.conf.0))
            .unwrap();

        let res = fx.resource(at).await;
        assert_eq!(res.status(), 200, "{}", tdb.name);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["sub"], id["sub"]);
        assert_eq!(body["client_id"], fx.conf.0.as_str());
        assert_eq!(body["data"]["username"], "alice");
        assert_eq!(
            body["data"]["message"],
            "Hello, Alice Example! This came from the sample protected resource."
        );

        // Without offline_access: no refresh token; without openid: no ID token.
        let t = fx.tokens("openid").await;
        assert!(t.refresh_token().is_none() && t.extra_fields().id_token.is_some());
        let t = fx.tokens("profile").await;
        assert!(t.extra_fields().id_token.is_none());
    }
}

#[tokio::test]
async fn token_responses_are_never_cached() {
    for tdb in common::databases().await {
        let fx = fixture(&tdb.url).await;
        let (code, verifier) = fx.code("openid").await;
        let (id, secret) = (&fx.conf.0, &fx.conf.1);
        let ok = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CB),
            ("code_verifier", verifier.secret().as_str()),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
        ];
        let (status, headers, body) = fx.post_token(&ok).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers[CACHE_CONTROL], "no-store");
        // The same code again: an error, also not cacheable.
        let (status, headers, body) = fx.post_token(&ok).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
        assert_eq!(headers[CACHE_CONTROL], "no-store");
    }
}

#[tokio::test]
async fn code_exchange_refusals() {
    for tdb in common::databases().await {
        let fx = fixture(&tdb.url).await;
        let (id, secret) = (fx.conf.0.clone(), fx.conf.1.clone());
        let (other_id, other_secret) = (fx.other.0.clone(), fx.other.1.clone());
        let wrong_verifier = PkceCodeChallenge::new_random_sha256().1;

        // (case, code from (client, lifetime), redirect_uri, send right/wrong/no verifier, client, expected error)
        #[derive(Clone, Copy)]
        enum V {
            Right,
            Wrong,
            Missing,
        }
        /// (case, client id, code age, redirect_uri, verifier, credentials, expected error)
        type Case<'a> = (&'a str, &'a str, i64, &'a str, V, (&'a str, &'a str), &'a str);
        #[rustfmt::skip]
        let table: Vec<Case> = vec![
            ("missing PKCE verifier", &id, 60, CB, V::Missing, (&id, &secret), "invalid_grant"),
            ("wrong PKCE verifier", &id, 60, CB, V::Wrong, (&id, &secret), "invalid_grant"),
            ("wrong redirect_uri", &id, 60, "https://app.example/other", V::Right, (&id, &secret), "invalid_grant"),
            ("code of client A redeemed by client B", &id, 60, CB, V::Right, (&other_id, &other_secret), "invalid_grant"),
            ("expired code", &id, -1, CB, V::Right, (&id, &secret), "invalid_grant"),
        ];
        for (case, owner, lifetime, redirect_uri, v, (cid, csecret), want) in table {
            let (code, verifier) = fx.code_with(owner, "openid", lifetime).await;
            let mut form = vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect_uri),
                ("client_id", cid),
                ("client_secret", csecret),
            ];
            match v {
                V::Right => form.push(("code_verifier", verifier.secret())),
                V::Wrong => form.push(("code_verifier", wrong_verifier.secret())),
                V::Missing => {}
            }
            let (status, headers, body) = fx.post_token(&form).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some(want)),
                "{}: {case}",
                tdb.name
            );
            assert_eq!(headers[CACHE_CONTROL], "no-store", "{case}");
        }

        // A code never issued.
        let (status, _, body) = fx
            .post_token(&[
                ("grant_type", "authorization_code"),
                ("code", "nope"),
                ("client_id", &id),
                ("client_secret", &secret),
            ])
            .await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));

        // The oauth2 crate sees invalid_grant too.
        let (code, _) = fx.code("openid").await;
        let e = fx
            .conf_client()
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(wrong_verifier)
            .request_async(&http())
            .await
            .unwrap_err();
        assert_eq!(oauth_error(e), BasicErrorResponseType::InvalidGrant);
    }
}

#[test]
fn form_bodies_are_read_strictly() {
    use tessera_core::params::parse_form;
    /// A body and the pairs it parses to, or `None` if it must be refused.
    type Case = (&'static str, Option<Vec<(&'static str, &'static str)>>);
    #[rustfmt::skip]
    let table: &[Case] = &[
        ("a=1&b=2", Some(vec![("a", "1"), ("b", "2")])),
        ("a=x+y%2Bz&&b=", Some(vec![("a", "x y+z"), ("b", "")])),
        ("flag", Some(vec![("flag", "")])),
        ("a=%E2%82%AC", Some(vec![("a", "\u{20ac}")])),
        ("", Some(vec![])),
        ("a=%zz", None),
        ("a=%2", None),
        ("a=%FF", None), // not UTF-8
    ];
    for (body, want) in table {
        let want = want.as_ref().map(|v| {
            v.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>()
        });
        assert_eq!(parse_form(body.as_bytes()).ok(), want, "{body}");
    }
    assert_eq!(parse_form(&[0xff]).ok(), None);
}

#[tokio::test]
async fn malformed_token_requests() {
    let tdb = common::sqlite();
    let fx = fixture(&tdb.url).await;
    let (id, secret) = (fx.conf.0.as_str(), fx.conf.1.as_str());
    let auth = [("client_id", id), ("client_secret", secret)];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        let mut v: Vec<(&str, &str)> = auth.to_vec();
        v.extend_from_slice(extra);
        v
    };
    /// (case, form pairs, expected error code)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    #[rustfmt::skip]
    let table: Vec<Case> = vec![
        ("unknown grant_type", with(&[("grant_type", "password"), ("username", "alice"), ("password", "x")]), "unsupported_grant_type"),
        ("missing grant_type", with(&[]), "invalid_request"),
        ("duplicated parameter", with(&[("grant_type", "authorization_code"), ("code", "a"), ("code", "b")]), "invalid_request"),
        ("duplicated grant_type", with(&[("grant_type", "client_credentials"), ("grant_type", "client_credentials")]), "invalid_request"),
        ("missing code", with(&[("grant_type", "authorization_code")]), "invalid_request"),
        ("unknown refresh token", with(&[("grant_type", "refresh_token"), ("refresh_token", "nope")]), "invalid_grant"),
    ];
    for (case, form, want) in table {
        let (status, _, body) = fx.post_token(&form).await;
        assert_eq!((status, body["error"].as_str()), (400, Some(want)), "{case}");
    }

    // RFC 6749 §3.2: the body must be a form.
    let raw = |content_type: &'static str, body: &'static str| {
        http()
            .post(format!("{}/token", fx.base()))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    for (case, ct, body) in [
        (
            "JSON body",
            "application/json",
            r#"{"grant_type":"client_credentials"}"#,
        ),
        (
            "bad percent escape",
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials&client_id=%zz",
        ),
    ] {
        let res = raw(ct, body).await.unwrap();
        assert_eq!(res.status(), 400, "{case}");
        assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_request", "{case}");
    }
    // A charset parameter is fine.
    let body = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let res = http()
        .post(format!("{}/token", fx.base()))
        .header("content-type", "application/x-www-form-urlencoded; charset=UTF-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn client_authentication_failures() {
    for tdb in common::databases().await {
        let fx = fixture(&tdb.url).await;
        let id = fx.conf.0.as_str();

        // RFC 6749 §5.2: after Basic, 401 with a Basic challenge.
        let res = http()
            .post(format!("{}/token", fx.base()))
            .basic_auth(id, Some("wrong"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        assert!(res.headers()[WWW_AUTHENTICATE].to_str().unwrap().starts_with("Basic"));
        assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_client");

        // Through the oauth2 crate (Basic by default).
        let e = oauth(fx.base(), id, Some("wrong"))
            .exchange_client_credentials()
            .request_async(&http())
            .await
            .unwrap_err();
        assert_eq!(oauth_error(e), BasicErrorResponseType::InvalidClient);

        // In the body: 400 (§5.2 allows it without an Authorization header).
        #[rustfmt::skip]
        let table: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("wrong secret in body", vec![("client_id", id), ("client_secret", "wrong")]),
            ("unknown client", vec![("client_id", "nobody"), ("client_secret", "x")]),
            ("confidential client without secret", vec![("client_id", id)]),
            ("public client with a secret", vec![("client_id", &fx.public), ("client_secret", "x")]),
            ("no client at all", vec![]),
        ];
        for (case, mut form) in table {
            form.push(("grant_type", "client_credentials"));
            let (status, headers, body) = fx.post_token(&form).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("invalid_client")),
                "{case}"
            );
            assert!(headers.get(WWW_AUTHENTICATE).is_none(), "{case}");
        }
    }
}

#[tokio::test]
async fn code_replay_revokes_what_the_code_issued() {
    for tdb in common::databases().await {
        let fx = fixture(&tdb.url).await;
        let (code, verifier) = fx.code(ALL_SCOPES).await;
        let verifier_copy = PkceCodeVerifier::new(verifier.secret().clone());
        let client = fx.conf_client();
        let first = client
            .exchange_code(AuthorizationCode::new(code.clone()))
            .set_pkce_verifier(verifier)
            .request_async(&http())
            .await
            .unwrap();
        assert_eq!(fx.resource(first.access_token().secret()).await.status(), 200);

        let e = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier_copy)
            .request_async(&http())
            .await
            .unwrap_err();
        assert_eq!(oauth_error(e), BasicErrorResponseType::InvalidGrant, "{}", tdb.name);

        // RFC 6749 §4.1.2: what the first exchange issued is revoked.
        assert_invalid_token(
            fx.resource(first.access_token().secret()).await,
            "replayed code's token",
        )
        .await;
        let e = client
            .exchange_refresh_token(first.refresh_token().unwrap())
            .request_async(&http())
            .await
            .unwrap_err();
        assert_eq!(oauth_error(e), BasicErrorResponseType::InvalidGrant);
    }
}

#[tokio::test]
async fn concurrent_redemption_of_one_code() {
    for tdb in common::databases().await {
        let fx = fixture(&tdb.url).await;
        let (code, verifier) = fx.code("openid").await;
        let url = format!("{}/token", fx.base());
        let form = vec![
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".to_owned(), code),
            ("redirect_uri".to_owned(), CB.to_owned()),
            ("code_verifier".to_owned(), verifier.secret().clone()),
            ("client_id".to_owned(), fx.conf.0.clone()),
            ("client_secret".to_owned(), fx.conf.1.clone()),
        ];
        let client = http();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (client, url, form) = (client.clone(), url.clone(), form.clone());
                tokio::spawn(async move {
                    let res = client.post(url).form(&form).send().await.unwrap();
                    let status = res.status().as_u16();
                    (status, res.json::<Value>().await.unwrap())
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            let (status, body) = t.await.unwrap();
            match status {
                200 => ok += 1,
                _ => assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant"))),
            }
        }
        assert_eq!(ok, 1, "{}: exactly one redemption wins", tdb.name);
    }
}

#[tokio::test]
async fn refresh_rotation_and_reuse_detection() {
    for tdb in common::databases().await {
        let fx = fixture(&tdb.url).await;
        let client = fx.conf_client();
        let first = fx.tokens(ALL_SCOPES).await;
        let rt1 = first.refresh_token().unwrap().clone();
        let auth_time = jwt_part(first.access_token().secret(), 1)["auth_time"].clone();

        // Rotation: a new refresh token, the same family, narrowed scope on request.
        let second = client
            .exchange_refresh_token(&rt1)
            .add_scope(Scope::new("openid".into()))
            .add_scope(Scope::new("profile".into()))
            .request_async(&http())
            .await
            .unwrap();
        let rt2 = second.refresh_token().expect("rotated refresh token").clone();
        assert_ne!(rt1.secret(), rt2.secret());
        let a2 = jwt_part(second.access_token().secret(), 1);
        assert_eq!(a2["scope"], "openid profile");
        assert_eq!(a2["auth_time"], auth_time, "OIDC Core §12.2: original auth_time");
        let id2 = jwt_part(second.extra_fields().id_token.as_ref().unwrap(), 1);
        assert_eq!(id2["auth_time"], auth_time);
        assert!(id2.get("email").is_none(), "narrowed scope releases no email");
        assert_eq!(fx.resource(second.access_token().secret()).await.status(), 200);

        // A wider scope than granted.
        let e = client
            .exchange_refresh_token(&rt2)
            .add_scope(Scope::new("api".into()))
            .request_async(&http())
            .await
            .unwrap_err();
        assert_eq!(oauth_error(e), BasicErrorResponseType::InvalidScope);

        // Another client cannot use it.
        let e = oauth(fx.base(), &fx.other.0, Some(&fx.other.1))
            .exchange_refresh_token(&rt2)
            .request_async(&http())
            .await
            .unwrap_err();
        assert_eq!(oauth_error(e), BasicErrorResponseType::InvalidGrant);

        // Reuse of the rotated token: refused, and the whole family dies.
        let e = client
            .exchange_refresh_token(&rt1)
            .request_async(&http())
            .await
            .unwrap_err();
        assert_eq!(oauth_error(e), BasicErrorResponseType::InvalidGrant, "{}", tdb.name);
        let e = client
            .exchange_refresh_token(&rt2)
            .request_async(&http())
            .await
            .unwrap_err();
        assert_eq!(
            oauth_error(e),
            BasicErrorResponseType::InvalidGrant,
            "newest token is dead"
        );
        for at in [first.access_token(), second.access_token()] {
            assert_invalid_token(fx.resource(at.secret()).await, "family access token").await;
        }
    }
}

#[tokio::test]
async fn client_credentials_grant() {
    for tdb in common::databases().await {
        let fx = fixture(&tdb.url).await;
        let t = fx
            .conf_client()
            .exchange_client_credentials()
            .add_scope(Scope::new("api".into()))
            .request_async(&http())
            .await
            .unwrap();
        assert!(t.refresh_token().is_none() && t.extra_fields().id_token.is_none());
        let claims = jwt_part(t.access_token().secret(), 1);
        assert_eq!(claims["sub"], fx.conf.0.as_str());
        assert_eq!(claims["client_id"], fx.conf.0.as_str());
        assert_eq!(claims["scope"], "api");
        assert!(claims.get("gid").is_none());

        // The sample resource wants a user's token: 403 insufficient_scope.
        let res = fx.resource(t.access_token().secret()).await;
        assert_eq!(res.status(), 403, "{}", tdb.name);
        let challenge = res.headers()[WWW_AUTHENTICATE].to_str().unwrap().to_owned();
        assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
        assert!(challenge.contains("scope=\"openid\""), "{challenge}");
        // So does userinfo.
        let res = http()
            .get(format!("{}/userinfo", fx.base()))
            .bearer_auth(t.access_token().secret())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);

        // openid needs a user: invalid_scope.
        let e = fx
            .conf_client()
            .exchange_client_credentials()
            .add_scope(Scope::new("openid".into()))
            .request_async(&http())
            .await
            .unwrap_err();
        assert_eq!(oauth_error(e), BasicErrorResponseType::InvalidScope);

        // RFC 6749 §4.4: public clients are not allowed the grant (the client's grant list
        // refuses it before the grant's own check).
        let e = oauth(fx.base(), &fx.public, None)
            .exchange_client_credentials()
            .request_async(&http())
            .await
            .unwrap_err();
        assert_eq!(oauth_error(e), BasicErrorResponseType::UnauthorizedClient);
    }
}

#[tokio::test]
async fn public_client_exchanges_a_code_with_pkce() {
    let tdb = common::sqlite();
    let fx = fixture(&tdb.url).await;
    let (code, verifier) = fx.code_with(&fx.public, ALL_SCOPES, 60).await;
    let client = oauth(fx.base(), &fx.public, None);
    let t = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .unwrap();
    assert_eq!(fx.resource(t.access_token().secret()).await.status(), 200);
    let t2 = client
        .exchange_refresh_token(t.refresh_token().unwrap())
        .request_async(&http())
        .await
        .unwrap();
    assert_eq!(fx.resource(t2.access_token().secret()).await.status(), 200);
}

/// #18 item 9: a code is bound to its client before it is spent. Someone holding a leaked
/// code who presents it as another client (a public one needs no secret) is refused and
/// does not burn it: the client it was issued to still redeems it.
#[tokio::test]
async fn a_code_presented_by_another_client_is_not_burned() {
    for tdb in common::databases().await {
        let fx = fixture(&tdb.url).await;
        let (code, verifier) = fx.code("openid").await;
        let (status, _, body) = fx
            .post_token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CB),
                ("client_id", &fx.public),
                ("code_verifier", verifier.secret()),
            ])
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{}",
            tdb.name
        );
        let t = fx
            .conf_client()
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&http())
            .await
            .unwrap_or_else(|e| panic!("{}: the rightful client lost its code: {e:?}", tdb.name));
        assert_eq!(
            fx.resource(t.access_token().secret()).await.status(),
            200,
            "{}",
            tdb.name
        );
    }
}

#[tokio::test]
async fn revocation() {
    for tdb in common::databases().await {
        let fx = fixture(&tdb.url).await;
        let client = fx.conf_client();

        // RFC 7009: an access token; the refresh token of the grant keeps working.
        let t = fx.tokens(ALL_SCOPES).await;
        client
            .revoke_token(StandardRevocableToken::AccessToken(t.access_token().clone()))
            .unwrap()
            .request_async(&loopback)
            .await
            .unwrap();
        assert_invalid_token(fx.resource(t.access_token().secret()).await, "revoked access token").await;
        let t2 = client
            .exchange_refresh_token(t.refresh_token().unwrap())
            .request_async(&http())
            .await
            .unwrap();
        assert_eq!(fx.resource(t2.access_token().secret()).await.status(), 200);

        // §2.1: a refresh token takes the grant's access tokens with it.
        client
            .revoke_token(StandardRevocableToken::RefreshToken(
                t2.refresh_token().unwrap().clone(),
            ))
            .unwrap()
            .request_async(&loopback)
            .await
            .unwrap();
        assert_invalid_token(fx.resource(t2.access_token().secret()).await, "family revoked").await;
        let e = client
            .exchange_refresh_token(t2.refresh_token().unwrap())
            .request_async(&http())
            .await
            .unwrap_err();
        assert_eq!(oauth_error(e), BasicErrorResponseType::InvalidGrant, "{}", tdb.name);

        // §2.2: an unknown or garbage token: 200, nothing happens.
        let mine = fx.tokens(ALL_SCOPES).await;
        let other = oauth(fx.base(), &fx.other.0, Some(&fx.other.1));
        for token in [
            StandardRevocableToken::AccessToken(AccessToken::new("a.b.c".into())),
            StandardRevocableToken::RefreshToken(RefreshToken::new("unknown".into())),
        ] {
            other
                .revoke_token(token)
                .unwrap()
                .request_async(&loopback)
                .await
                .unwrap();
        }
        // §2.1: another client's valid token: refused (400 invalid_request), nothing revoked.
        for token in [
            StandardRevocableToken::AccessToken(mine.access_token().clone()),
            StandardRevocableToken::RefreshToken(mine.refresh_token().unwrap().clone()),
        ] {
            let e = other
                .revoke_token(token)
                .unwrap()
                .request_async(&loopback)
                .await
                .unwrap_err();
            let RequestTokenError::ServerResponse(r) = e else {
                panic!("{}: expected an error response, got {e:?}", tdb.name)
            };
            assert_eq!(
                r.error(),
                &RevocationErrorResponseType::Basic(BasicErrorResponseType::InvalidRequest)
            );
        }
        // A public client, which anyone can name, is not told: 200, nothing revoked.
        let res = http()
            .post(format!("{}/revoke", fx.base()))
            .form(&[
                ("client_id", fx.public.as_str()),
                ("token", mine.access_token().secret()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", tdb.name);
        assert_eq!(fx.resource(mine.access_token().secret()).await.status(), 200);
        client
            .exchange_refresh_token(mine.refresh_token().unwrap())
            .request_async(&http())
            .await
            .unwrap();

        // Raw: missing token, bad client.
        let post = |form: Vec<(&str, &str)>| http().post(format!("{}/revoke", fx.base())).form(&form).send();
        let res = post(vec![("client_id", &fx.conf.0), ("client_secret", &fx.conf.1)])
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_request");
        let res = post(vec![
            ("client_id", &fx.conf.0),
            ("client_secret", "wrong"),
            ("token", "x"),
        ])
        .await
        .unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_client");
        let res = post(vec![
            ("client_id", &fx.conf.0),
            ("client_secret", &fx.conf.1),
            ("token", "x"),
        ])
        .await
        .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
    }
}

#[tokio::test]
async fn introspection() {
    for tdb in common::databases().await {
        let fx = fixture(&tdb.url).await;
        let client = fx.conf_client();
        let t = fx.tokens(ALL_SCOPES).await;

        let r = client
            .introspect(t.access_token())
            .request_async(&http())
            .await
            .unwrap();
        assert!(r.active(), "{}", tdb.name);
        assert_eq!(r.client_id().unwrap().as_str(), fx.conf.0);
        assert_eq!(r.username(), Some("alice"));
        assert_eq!(r.sub(), Some(fx.user_id.as_str()));
        assert_eq!(r.scopes().unwrap().len(), 4);

        // Resource servers introspect other clients' access tokens too.
        let other = oauth(fx.base(), &fx.other.0, Some(&fx.other.1));
        assert!(other
            .introspect(t.access_token())
            .request_async(&http())
            .await
            .unwrap()
            .active());

        // A refresh token: only for its own client.
        let rt = AccessToken::new(t.refresh_token().unwrap().secret().clone());
        let raw = |c: (&str, &str), token: &str| {
            let form = [("token", token.to_owned())];
            http()
                .post(format!("{}/introspect", fx.base()))
                .basic_auth(c.0, Some(c.1))
                .form(&form)
                .send()
        };
        let body: Value = raw((&fx.conf.0, &fx.conf.1), rt.secret())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["active"], true);
        assert_eq!(body["token_type"], "refresh_token");
        assert_eq!(body["sub"], fx.user_id.as_str());
        let body: Value = raw((&fx.other.0, &fx.other.1), rt.secret())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body, json!({ "active": false }));

        // Inactive: garbage, revoked; nothing but `active`.
        for token in ["garbage", "a.b.c"] {
            let res = raw((&fx.conf.0, &fx.conf.1), token).await.unwrap();
            assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
            assert_eq!(res.json::<Value>().await.unwrap(), json!({ "active": false }));
        }
        client
            .revoke_token(StandardRevocableToken::RefreshToken(t.refresh_token().unwrap().clone()))
            .unwrap()
            .request_async(&loopback)
            .await
            .unwrap();
        let r = client
            .introspect(t.access_token())
            .request_async(&http())
            .await
            .unwrap();
        assert!(!r.active());
        let body: Value = raw((&fx.conf.0, &fx.conf.1), rt.secret())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body, json!({ "active": false }));

        // Public clients may not introspect; wrong secrets neither.
        let res = http()
            .post(format!("{}/introspect", fx.base()))
            .form(&[("client_id", fx.public.as_str()), ("token", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_client");
        let res = raw((&fx.conf.0, "wrong"), "x").await.unwrap();
        assert_eq!(res.status(), 401);
        assert!(res.headers().contains_key(WWW_AUTHENTICATE));
    }
}

#[tokio::test]
async fn deleting_a_client_ends_its_tokens() {
    async fn own_token(client: &OidcClient) -> AccessToken {
        client
            .exchange_client_credentials()
            .add_scope(Scope::new("api".into()))
            .request_async(&http())
            .await
            .unwrap()
            .access_token()
            .clone()
    }
    async fn active(by: &OidcClient, token: &AccessToken) -> bool {
        by.introspect(token).request_async(&http()).await.unwrap().active()
    }
    for tdb in common::databases().await {
        let fx = fixture(&tdb.url).await;
        let user_tokens = fx.tokens(ALL_SCOPES).await;
        let access = user_tokens.access_token();
        let conf_own = own_token(&fx.conf_client()).await;
        let other = oauth(fx.base(), &fx.other.0, Some(&fx.other.1));
        let other_own = own_token(&other).await;
        assert_eq!(fx.resource(access.secret()).await.status(), 200, "{}", tdb.name);
        assert!(active(&other, access).await && active(&other, &conf_own).await);

        assert!(fx.server.db.store.delete_client(&fx.conf.0).await.unwrap());

        // Its user's token (the grant went with the client) and its own token: both dead
        // at the resource, at userinfo and to introspection.
        assert_invalid_token(fx.resource(access.secret()).await, "user token of a deleted client").await;
        let res = http()
            .get(format!("{}/userinfo", fx.base()))
            .bearer_auth(access.secret())
            .send()
            .await
            .unwrap();
        assert_invalid_token(res, "userinfo").await;
        assert!(!active(&other, access).await, "{}", tdb.name);
        assert!(!active(&other, &conf_own).await, "{}", tdb.name);
        // Another client's token is untouched.
        assert!(active(&other, &other_own).await, "{}", tdb.name);
    }
}

#[tokio::test]
async fn bearer_token_refusals_at_the_resource() {
    for tdb in common::databases().await {
        let fx = fixture(&tdb.url).await;
        let t = fx.tokens(ALL_SCOPES).await;
        let at = t.access_token().secret().clone();
        let now = tessera::now();
        let claims: AccessClaims = serde_json::from_value(jwt_part(&at, 1)).unwrap();
        let sign = |c: &AccessClaims, typ: &str| fx.ring.keys().sign(SigningAlg::ES256, typ, c).unwrap();

        // RFC 6750 §3.1 with the product's choice of invalid_token even when missing.
        let res = http().get(format!("{}/api/resource", fx.base())).send().await.unwrap();
        assert_invalid_token(res, "missing").await;
        let res = http()
            .get(format!("{}/api/resource", fx.base()))
            .basic_auth("a", Some("b"))
            .send()
            .await
            .unwrap();
        assert_invalid_token(res, "Basic instead of Bearer").await;

        // One character of the payload changed.
        let dot = at.find('.').unwrap();
        let mut bytes = at.clone().into_bytes();
        bytes[dot + 5] = if bytes[dot + 5] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();

        let expired = sign(
            &AccessClaims {
                exp: now - 120,
                iat: now - 3720,
                ..claims.clone()
            },
            "at+jwt",
        );
        let wrong_aud = sign(
            &AccessClaims {
                aud: "https://elsewhere.example".into(),
                ..claims.clone()
            },
            "at+jwt",
        );
        let wrong_iss = sign(
            &AccessClaims {
                iss: "https://evil.example".into(),
                ..claims.clone()
            },
            "at+jwt",
        );
        let id_token = t.extra_fields().id_token.clone().unwrap();
        for (why, token) in [
            ("malformed", "not-a-jwt".to_owned()),
            ("tampered", tampered),
            ("expired", expired),
            ("wrong audience", wrong_aud),
            ("wrong issuer", wrong_iss),
            ("ID token as access token", id_token),
        ] {
            assert_invalid_token(fx.resource(&token).await, why).await;
        }
        // The original still works.
        assert_eq!(fx.resource(&at).await.status(), 200);
    }
}

#[tokio::test]
async fn userinfo_releases_what_the_scopes_allow() {
    for tdb in common::databases().await {
        let fx = fixture(&tdb.url).await;
        let get = |token: String| http().get(format!("{}/userinfo", fx.base())).bearer_auth(token).send();
        let email_only = fx.tokens("openid email").await.access_token().secret().clone();
        let res = get(email_only.clone()).await.unwrap();
        assert_eq!(res.status(), 200, "{}", tdb.name);
        assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(
            res.json::<Value>().await.unwrap(),
            json!({ "sub": fx.user_id, "email": "alice@example.com", "email_verified": false })
        );

        let profile = fx.tokens("openid profile").await.access_token().secret().clone();
        let body: Value = get(profile).await.unwrap().json().await.unwrap();
        assert_eq!(
            body,
            json!({ "sub": fx.user_id, "name": "Alice Example", "preferred_username": "alice" })
        );

        // POST works too, header or RFC 6750 §2.2 form body.
        let res = http()
            .post(format!("{}/userinfo", fx.base()))
            .bearer_auth(&email_only)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let res = http()
            .post(format!("{}/userinfo", fx.base()))
            .form(&[("access_token", email_only.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);

        // Without openid: 403 insufficient_scope.
        let no_openid = fx.tokens("profile").await.access_token().secret().clone();
        let res = get(no_openid).await.unwrap();
        assert_eq!(res.status(), 403);
        assert!(res.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("insufficient_scope"));

        assert_invalid_token(get("garbage".into()).await.unwrap(), "userinfo garbage").await;
        let res = http().get(format!("{}/userinfo", fx.base())).send().await.unwrap();
        assert_invalid_token(res, "userinfo without token").await;
    }
}

#[tokio::test]
async fn discovery_and_jwks() {
    let tdb = common::sqlite();
    let fx = fixture(&tdb.url).await;
    let base = fx.base();
    for path in ["openid-configuration", "oauth-authorization-server"] {
        let res = http().get(format!("{base}/.well-known/{path}")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()[CACHE_CONTROL].to_str().unwrap().contains("max-age"));
        let m: Value = res.json().await.unwrap();
        #[rustfmt::skip]
        let table: &[(&str, Value)] = &[
            ("issuer", json!(base)),
            ("authorization_endpoint", json!(format!("{base}/authorize"))),
            ("token_endpoint", json!(format!("{base}/token"))),
            ("jwks_uri", json!(format!("{base}/jwks.json"))),
            ("userinfo_endpoint", json!(format!("{base}/userinfo"))),
            ("revocation_endpoint", json!(format!("{base}/revoke"))),
            ("introspection_endpoint", json!(format!("{base}/introspect"))),
            ("authorization_response_iss_parameter_supported", json!(true)),
            ("code_challenge_methods_supported", json!(["S256"])),
            ("id_token_signing_alg_values_supported", json!(["RS256", "ES256", "EdDSA", "PS256"])),
            ("scopes_supported", json!(["openid", "profile", "email", "offline_access"])),
            (
                "grant_types_supported",
                json!([
                    "authorization_code",
                    "refresh_token",
                    "client_credentials",
                    "urn:ietf:params:oauth:grant-type:device_code"
                ]),
            ),
            ("device_authorization_endpoint", json!(format!("{base}/device_authorization"))),
        ];
        for (key, want) in table {
            assert_eq!(&m[*key], want, "{path}: {key}");
        }
    }

    let res = http().get(format!("{base}/jwks.json")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let jwks: Value = res.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 4);
    for k in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(
                k.get(private).is_none(),
                "JWK {} has private member {private}",
                k["kid"]
            );
        }
        assert_eq!(k["use"], "sig");
    }
    // The access token's kid is published.
    let at = fx.tokens("openid").await.access_token().secret().clone();
    let kid = jwt_part(&at, 0)["kid"].clone();
    assert!(keys.iter().any(|k| k["kid"] == kid));
}

/// The `kid`s in the server's JWK Set.
async fn published_kids(base: &str) -> Vec<String> {
    let jwks: Value = http()
        .get(format!("{base}/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// A token naming a kid nobody published makes the server look for new keys (one light
/// query, at most one per few seconds), but not parse its keys again: made-up kids are
/// no way to load it.
#[tokio::test]
async fn made_up_kids_are_refused_without_rebuilding_the_key_set() {
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    for tdb in common::databases().await {
        let fx = fixture(&tdb.url).await;
        let t = fx.tokens(ALL_SCOPES).await;
        let at = t.access_token().secret().clone();
        let builds = fx.ring.builds();
        let reloads = fx.ring.reloads();
        let forged: Vec<String> = (0..40)
            .map(|_| {
                let mut header = jwt_part(&at, 0);
                header["kid"] = json!(random_id());
                let rest = at.split_once('.').unwrap().1;
                format!("{}.{rest}", b64(&header))
            })
            .collect();
        let mut all = tokio::task::JoinSet::new();
        for token in forged {
            let url = format!("{}/api/resource", fx.base());
            all.spawn(async move { http().get(url).bearer_auth(token).send().await.unwrap() });
        }
        while let Some(res) = all.join_next().await {
            assert_invalid_token(res.unwrap(), "made-up kid").await;
        }
        assert_eq!(fx.ring.builds(), builds, "{}: keys parsed again", tdb.name);
        // #18 item 9: and read from the database at most once for all 40 (they queued on
        // one lock for a query each before).
        assert!(
            fx.ring.reloads() <= reloads + 1,
            "{}: {} reloads",
            tdb.name,
            fx.ring.reloads() - reloads
        );
        // The real token still works.
        assert_eq!(fx.resource(&at).await.status(), 200);
    }
}

#[tokio::test]
async fn keys_rotate_keeps_old_tokens_valid() {
    for tdb in common::databases().await {
        let fx = fixture(&tdb.url).await;
        let before = fx.tokens(ALL_SCOPES).await;
        let old_at = before.access_token().secret().clone();
        let old_kid = jwt_part(&old_at, 0)["kid"].as_str().unwrap().to_owned();
        // Published before the rotation (the server keeps the serialized JWKS per key set,
        // so what follows also checks that the cached document is replaced).
        assert_eq!(published_kids(fx.base()).await.len(), 4);

        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .env("TESSERA_SECRET", common::TEST_SECRET)
            .args(["keys", "rotate", "--signs-in", "0", "--database-url", &tdb.url])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
        let rotated = printed["rotated"].as_array().unwrap();
        let algs: Vec<&str> = rotated.iter().map(|r| r["alg"].as_str().unwrap()).collect();
        assert_eq!(algs, ["RS256", "ES256", "EdDSA", "PS256"]);
        let new_kid = |alg: &str| -> String {
            rotated.iter().find(|r| r["alg"] == alg).unwrap()["kid"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_ne!(new_kid("ES256"), old_kid);

        // A second instance on the same database signs with the new keys at once.
        let (second, _) = serve(&tdb.url).await;
        let (code, verifier) = fx.code(ALL_SCOPES).await;
        let fresh = oauth(&second.base, &fx.conf.0, Some(&fx.conf.1))
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&http())
            .await
            .unwrap();
        let fresh_at = fresh.access_token().secret().clone();
        assert_eq!(jwt_part(&fresh_at, 0)["kid"], new_kid("ES256").as_str());
        let fresh_id = fresh.extra_fields().id_token.clone().unwrap();
        assert_eq!(jwt_part(&fresh_id, 0)["kid"], new_kid("RS256").as_str());
        // Its tokens name its own issuer (its own address), so check them there.
        let res = http()
            .get(format!("{}/api/resource", second.base))
            .bearer_auth(&fresh_at)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);

        // The first instance: its old token still verifies, and a token under a kid it has
        // not seen makes it reload (signed here for its issuer with the new key).
        assert_eq!(fx.resource(&old_at).await.status(), 200, "{}", tdb.name);
        let ring2 = KeyRing::load(fx.server.db.store.clone(), &common::test_secret(), tessera::now())
            .await
            .unwrap();
        let mut claims: AccessClaims = serde_json::from_value(jwt_part(&old_at, 1)).unwrap();
        claims.jti = random_id();
        let under_new_key = ring2.keys().sign(SigningAlg::ES256, "at+jwt", &claims).unwrap();
        assert_eq!(jwt_part(&under_new_key, 0)["kid"], new_kid("ES256").as_str());
        let builds = fx.ring.builds();
        assert_eq!(fx.resource(&under_new_key).await.status(), 200);
        assert_eq!(fx.ring.builds(), builds + 1, "the new keys were parsed once");

        // Having reloaded, it publishes old and new keys and signs with the new ones.
        let kids = published_kids(fx.base()).await;
        assert_eq!(kids.len(), 8, "{kids:?}");
        assert!(kids.contains(&old_kid) && kids.contains(&new_kid("ES256")));
        let after = fx.tokens("openid").await;
        assert_eq!(
            jwt_part(after.access_token().secret(), 0)["kid"],
            new_kid("ES256").as_str()
        );
        assert_eq!(fx.resource(after.access_token().secret()).await.status(), 200);
        assert_eq!(fx.resource(&old_at).await.status(), 200);

        // A bad algorithm name writes nothing.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .env("TESSERA_SECRET", common::TEST_SECRET)
            .args(["keys", "rotate", "--alg", "HS256", "--database-url", &tdb.url])
            .output()
            .unwrap();
        assert!(!out.status.success());
    }
}

/// #18 item 10: `tessera keys revoke KID` withdraws a key at once: replaced if it was
/// signing, gone from the JWKS, and the tokens it signed refused — at the next key reload
/// of a running server (here forced).
#[tokio::test]
async fn keys_revoke_withdraws_a_key_and_its_tokens() {
    for tdb in common::databases().await {
        let fx = fixture(&tdb.url).await;
        let before = fx.tokens(ALL_SCOPES).await;
        let old_at = before.access_token().secret().clone();
        let old_kid = jwt_part(&old_at, 0)["kid"].as_str().unwrap().to_owned();
        assert_eq!(fx.resource(&old_at).await.status(), 200);

        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .env("TESSERA_SECRET", common::TEST_SECRET)
            .args(["keys", "revoke", &old_kid, "--database-url", &tdb.url])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(printed["revoked"]["kid"], old_kid.as_str());
        let new_kid = printed["revoked"]["replaced_by"]
            .as_str()
            .expect("a new signing key")
            .to_owned();

        fx.ring.reload(tessera::now()).await.unwrap();
        assert_invalid_token(fx.resource(&old_at).await, "signed by a revoked key").await;
        let kids = published_kids(fx.base()).await;
        assert!(!kids.contains(&old_kid), "{}: still published", tdb.name);
        assert!(kids.contains(&new_kid));
        let after = fx.tokens("openid").await;
        assert_eq!(jwt_part(after.access_token().secret(), 0)["kid"], new_kid.as_str());
        assert_eq!(fx.resource(after.access_token().secret()).await.status(), 200);

        // `keys list` says so, and shows no key material.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["keys", "list", "--database-url", &tdb.url])
            .output()
            .unwrap();
        let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
        let entry = listed["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == old_kid.as_str())
            .unwrap();
        assert_eq!(entry["state"], "withdrawn");
        assert_eq!(entry["encrypted"], true);
        // An unknown kid is an error that says so, and changes nothing.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .env("TESSERA_SECRET", common::TEST_SECRET)
            .args(["keys", "revoke", "no-such-kid", "--database-url", &tdb.url])
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("no signing key"));
    }
}

/// #18 item 9: removing a scope from a client narrows the grants it already holds at
/// their next refresh; removing offline_access ends refreshing.
#[tokio::test]
async fn removing_a_scope_from_a_client_narrows_its_grants_at_refresh() {
    use tessera_core::store::ClientUpdate;
    for tdb in common::databases().await {
        let fx = fixture(&tdb.url).await;
        let client = fx.conf_client();
        let first = fx.tokens(ALL_SCOPES).await;
        let store = fx.server.db.store.clone();
        let id = fx.conf.0.clone();
        let update_scopes = |scopes: &'static str| {
            let (store, id) = (store.clone(), id.clone());
            async move {
                let c = store.client_by_id(&id).await.unwrap().unwrap();
                let update = ClientUpdate {
                    name: c.name,
                    redirect_uris: c.redirect_uris,
                    scopes: ScopeSet::parse(scopes).unwrap(),
                    settings: c.settings,
                };
                assert!(store.update_client(&id, &update).await.unwrap());
            }
        };
        update_scopes("openid offline_access email").await;
        let second = client
            .exchange_refresh_token(first.refresh_token().unwrap())
            .request_async(&http())
            .await
            .unwrap();
        let claims = jwt_part(second.access_token().secret(), 1);
        assert_eq!(claims["scope"], "email offline_access openid", "{}", tdb.name);
        let id = jwt_part(second.extra_fields().id_token.as_ref().unwrap(), 1);
        assert!(id.get("name").is_none(), "{}: profile no longer released", tdb.name);
        // Asking for the removed scope is asking for more than the grant now is.
        let e = client
            .exchange_refresh_token(second.refresh_token().unwrap())
            .add_scope(Scope::new("profile".into()))
            .request_async(&http())
            .await
            .unwrap_err();
        assert_eq!(oauth_error(e), BasicErrorResponseType::InvalidScope);

        update_scopes("openid email").await;
        let third = fx.tokens("openid email").await;
        assert!(third.refresh_token().is_none());
        let (status, _, body) = fx
            .post_token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", second.refresh_token().unwrap().secret()),
                ("client_id", &fx.conf.0),
                ("client_secret", &fx.conf.1),
            ])
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{}",
            tdb.name
        );
    }
}

/// #18 item 10: a rotated key is published before it signs (relying parties cache the
/// JWKS for five minutes): in the JWKS at once, signing only from its time on, while the
/// old key signs until then.
#[tokio::test]
async fn a_rotated_key_is_published_before_it_signs() {
    let tdb = common::sqlite();
    let fx = fixture(&tdb.url).await;
    let old_kid = jwt_part(fx.tokens("openid").await.access_token().secret(), 0)["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .env("TESSERA_SECRET", common::TEST_SECRET)
        .args([
            "keys",
            "rotate",
            "--alg",
            "ES256",
            "--signs-in",
            "2",
            "--database-url",
            &tdb.url,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let new_kid = printed["rotated"][0]["kid"].as_str().unwrap().to_owned();
    fx.ring.reload(tessera::now()).await.unwrap();
    assert!(published_kids(fx.base()).await.contains(&new_kid), "published at once");
    let kid_now = |t: TokenResp| {
        jwt_part(t.access_token().secret(), 0)["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        kid_now(fx.tokens("openid").await),
        old_kid,
        "the old key signs until then"
    );
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let after = fx.tokens("openid").await;
    assert_eq!(fx.resource(after.access_token().secret()).await.status(), 200);
    assert_eq!(
        kid_now(after),
        new_kid,
        "the new key signs from its time on, without a reload"
    );
}

/// #18 item 4 (c), with real concurrency over HTTP: refreshes racing the revocation of
/// their grant (RFC 7009). However the race goes, nothing it handed out stays alive: no
/// refresh token refreshes, no access token is accepted.
#[tokio::test]
async fn refreshes_racing_a_revocation_leave_no_live_token() {
    for tdb in common::databases().await {
        let fx = fixture(&tdb.url).await;
        let creds = (fx.conf.0.clone(), fx.conf.1.clone());
        for round in 0..5 {
            let rt = fx.tokens(ALL_SCOPES).await.refresh_token().unwrap().secret().clone();
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..5 {
                let (base, (id, secret), rt) = (fx.base().to_owned(), creds.clone(), rt.clone());
                tasks.spawn(async move {
                    let form: Vec<(&str, &str)> = if i == 2 {
                        vec![("token", &rt), ("token_type_hint", "refresh_token")]
                    } else {
                        vec![("grant_type", "refresh_token"), ("refresh_token", &rt)]
                    };
                    let path = if i == 2 { "revoke" } else { "token" };
                    let res = http()
                        .post(format!("{base}/{path}"))
                        .basic_auth(&id, Some(&secret))
                        .form(&form)
                        .send()
                        .await
                        .unwrap();
                    (
                        path,
                        res.status().as_u16(),
                        res.json::<Value>().await.unwrap_or(Value::Null),
                    )
                });
            }
            let mut issued = Vec::new();
            while let Some(done) = tasks.join_next().await {
                let (path, status, body) = done.unwrap();
                if path == "token" && status == 200 {
                    issued.push(body);
                }
            }
            for body in issued {
                let (status, _, answer) = fx
                    .post_token(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", body["refresh_token"].as_str().unwrap()),
                        ("client_id", &creds.0),
                        ("client_secret", &creds.1),
                    ])
                    .await;
                assert_eq!(
                    status, 400,
                    "{} round {round}: a refresh token outlived the revocation: {answer}",
                    tdb.name
                );
                let res = fx.resource(body["access_token"].as_str().unwrap()).await;
                assert_eq!(
                    res.status(),
                    401,
                    "{} round {round}: an access token outlived it",
                    tdb.name
                );
            }
        }
    }
}

/// `tessera keys …` next to a server must use the server's secret: with another one (or
/// none configured, where `serve` would have made one) it refuses and adds no key the
/// servers could not decrypt.
#[tokio::test]
async fn key_commands_refuse_a_secret_that_is_not_the_servers() {
    let tdb = common::sqlite();
    let fx = fixture(&tdb.url).await;
    let before = fx.server.db.store.signing_keys().await.unwrap().len();
    let wrong = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .env("TESSERA_SECRET", "another-secret-that-is-long-enough-0123456789")
        .args(["keys", "rotate", "--database-url", &tdb.url])
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("TESSERA_SECRET"));
    let dir = tempfile::tempdir().unwrap();
    let none = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(dir.path())
        .env_remove("TESSERA_SECRET")
        .env_remove("TESSERA_SECRET_FILE")
        .args(["keys", "rotate", "--database-url", &tdb.url])
        .output()
        .unwrap();
    assert!(!none.status.success());
    assert!(!dir.path().join("data").exists(), "no secret made up by a key command");
    assert_eq!(
        fx.server.db.store.signing_keys().await.unwrap().len(),
        before,
        "no key added"
    );
    // The server still loads its keys.
    fx.ring.reload(tessera::now()).await.unwrap();
    assert_eq!(
        fx.resource(fx.tokens("openid").await.access_token().secret())
            .await
            .status(),
        200
    );
}
