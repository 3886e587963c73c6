//! The demo's OAuth client: registered as `tessera-demo` (a confidential client with
//! PKCE), written with the `oauth2` crate, talking HTTP to this server's own endpoints at
//! the issuer URL, and keeping a copy of every message it sends and receives, secrets
//! masked, for the page's timeline.
//!
//! Its secret is never stored: every instance derives it from the server secret
//! ([`crate::crypto::server_secret`]), which rotates, and only its SHA-256 hash is in
//! `clients`.

use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthUrl, ClientId, ClientSecret as OAuthSecret, EndpointNotSet, EndpointSet, ExtraTokenFields, RedirectUrl,
    RevocationUrl, StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tessera_app::api::demo::{Message, Param, DEMO_CLIENT_ID, DEMO_SCOPES};
use tessera_core::model::GrantType;
use tessera_core::secret::{constant_time_eq, ClientSecret};
use tessera_core::store::{ClientSettings, NewClient};
use tessera_core::types::{RedirectUri, ScopeSet};

use super::dpop::{DpopKey, Proof};
use crate::crypto::server_secret::ServerSecret;
use crate::store::Database;
use crate::web::AppState;

pub const DEMO_CLIENT_NAME: &str = "Tessera demo client";
/// Domain separation for what derives from the server secret.
const SECRET_LABEL: &str = "tessera-demo-client";
/// The grants the demo uses, and so the only ones its client has.
const DEMO_GRANTS: [GrantType; 2] = [GrantType::AuthorizationCode, GrantType::RefreshToken];
const MASKED: &str = "[client secret, hidden]";

pub fn redirect_uri(issuer: &str) -> String {
    format!("{issuer}/demo/callback")
}

/// The demo client's secret: base64url(HMAC-SHA256(server secret, label)). The same on
/// every instance sharing the server secret, nowhere in the database, and new when the
/// server secret is rotated.
pub fn client_secret(secret: &ServerSecret) -> ClientSecret {
    ClientSecret::new(URL_SAFE_NO_PAD.encode(secret.derive(SECRET_LABEL)))
}

/// Registers the demo client if it is missing, or re-registers it when its redirect URI
/// (the issuer changed), its secret (the server secret rotated) or its grants are out of
/// date. Run on `serve` start when the demo is on.
pub async fn ensure(db: &Database, issuer: &str, server_secret: &ServerSecret) -> anyhow::Result<()> {
    let store = db.store.as_ref();
    let secret = client_secret(server_secret);
    let redirect = RedirectUri::parse(&redirect_uri(issuer))?;
    if let Some(existing) = store.client_by_id(DEMO_CLIENT_ID).await? {
        let up_to_date = existing.redirect_uris == [redirect.clone()]
            && existing.settings.grant_types == DEMO_GRANTS.map(GrantType::as_str)
            && existing
                .secret_hash
                .as_deref()
                .is_some_and(|h| constant_time_eq(h, &secret.hash()));
        if up_to_date {
            return Ok(());
        }
        tracing::info!(client_id = DEMO_CLIENT_ID, "re-registering the demo client");
        store.delete_client(DEMO_CLIENT_ID).await?;
    }
    store
        .create_client(
            NewClient {
                client_id: DEMO_CLIENT_ID.to_owned(),
                name: DEMO_CLIENT_NAME.to_owned(),
                secret_hash: Some(secret.hash()),
                redirect_uris: vec![redirect],
                scopes: ScopeSet::parse(&DEMO_SCOPES.join(" "))?,
                is_public: false,
                settings: ClientSettings {
                    description: Some("Built in: the step-by-step demo at /demo".into()),
                    grant_types: DEMO_GRANTS.map(|g| g.as_str().to_owned()).to_vec(),
                    ..Default::default()
                },
            },
            crate::now(),
        )
        .await?;
    tracing::info!(client_id = DEMO_CLIENT_ID, "registered the demo client");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The oauth2 client.

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

pub(super) type TokenResp = StandardTokenResponse<IdTokenField, BasicTokenType>;
pub(super) type DemoOAuth = oauth2::Client<
    BasicErrorResponse,
    TokenResp,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointSet,
>;

pub(super) async fn oauth_client(state: &AppState) -> anyhow::Result<DemoOAuth> {
    let secret = client_secret(&state.secret);
    let issuer = &state.issuer;
    Ok(oauth2::Client::new(ClientId::new(DEMO_CLIENT_ID.to_owned()))
        .set_client_secret(OAuthSecret::new(secret.expose().to_owned()))
        .set_auth_uri(AuthUrl::new(format!("{issuer}/authorize"))?)
        .set_token_uri(TokenUrl::new(format!("{issuer}/token"))?)
        // RFC 7009 §2 makes oauth2 insist on https here; the transport (`Recorder`) sends
        // every request to the issuer's own scheme and host, so a loopback http issuer works.
        .set_revocation_url(RevocationUrl::new(
            format!("{issuer}/revoke").replacen("http://", "https://", 1),
        )?)
        .set_redirect_uri(RedirectUrl::new(redirect_uri(issuer))?))
}

fn http() -> Result<oauth2::reqwest::Client, oauth2::reqwest::Error> {
    oauth2::reqwest::ClientBuilder::new()
        // RFC 6749 §5.1 / RFC 9700: a client must not follow redirects from the token endpoint.
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
}

/// One HTTP exchange as the page shows it.
#[derive(Clone, Default)]
pub(super) struct Exchange {
    pub(super) request: String,
    pub(super) response: String,
    pub(super) body: String,
    /// The DPoP proof sent with the request, if any.
    pub(super) proof: Option<Proof>,
}

/// The transport handed to oauth2: sends each request to this server and keeps a copy of
/// request and response, the client secret masked. With a DPoP key, every request carries
/// a proof for it (RFC 9449 §5), and one refused with `use_dpop_nonce` is sent again, once,
/// with a proof of the server's nonce (§8).
#[derive(Clone)]
pub(super) struct Recorder {
    issuer: String,
    dpop: Option<Arc<DpopKey>>,
    seen: Arc<Mutex<Vec<Exchange>>>,
}

#[derive(Debug, thiserror::Error)]
pub(super) enum TransportError {
    #[error("http: {0}")]
    Http(#[from] oauth2::reqwest::Error),
    #[error("{0}")]
    Other(String),
}

impl Recorder {
    pub(super) fn new(issuer: &str, dpop: Option<Arc<DpopKey>>) -> Self {
        Self {
            issuer: issuer.to_owned(),
            dpop,
            seen: Arc::default(),
        }
    }

    /// `uri` at the issuer's own scheme and host. Its path already holds whatever path
    /// the issuer has (the endpoints are built from the issuer), so only the origin is
    /// the issuer's: an issuer `https://id.example/auth` must not become `/auth/auth/token`.
    fn target(&self, uri: &oauth2::http::Uri) -> String {
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        format!("{}{path}", origin_of(&self.issuer))
    }

    pub(super) async fn send(&self, req: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, TransportError> {
        let (parts, body) = req.into_parts();
        let url = self.target(&parts.uri);
        let mut nonce = None;
        loop {
            let mut headers = parts.headers.clone();
            let proof = match &self.dpop {
                Some(key) => {
                    // RFC 9449 §4.2: htu is the URL without query and fragment.
                    let htu = url.split(['?', '#']).next().unwrap_or(&url);
                    let proof = key
                        .proof(parts.method.as_str(), htu, None, nonce.as_deref(), crate::now())
                        .map_err(|e| TransportError::Other(e.to_string()))?;
                    let value = oauth2::http::HeaderValue::from_str(&proof.jwt)
                        .map_err(|e| TransportError::Other(e.to_string()))?;
                    headers.insert(DPOP_HEADER, value);
                    Some(proof)
                }
                None => None,
            };
            let (exchange, response) = self.exchange(&parts.method, &url, headers, body.clone(), proof).await?;
            let asked = asked_for_nonce(&exchange, &response);
            if let Ok(mut seen) = self.seen.lock() {
                seen.push(exchange);
            }
            match asked {
                Some(given) if nonce.is_none() && self.dpop.is_some() => nonce = Some(given),
                _ => return Ok(response),
            }
        }
    }

    async fn exchange(
        &self,
        method: &oauth2::http::Method,
        url: &str,
        headers: oauth2::http::HeaderMap,
        body: Vec<u8>,
        proof: Option<Proof>,
    ) -> Result<(Exchange, oauth2::HttpResponse), TransportError> {
        let mut shown = format!("{method} {} HTTP/1.1\n", path_of(url));
        shown.push_str(&format!("Host: {}\n", host_of(&self.issuer)));
        for (name, value) in &headers {
            let value = value.to_str().unwrap_or("[binary]");
            if name == oauth2::http::header::AUTHORIZATION {
                shown.push_str(&format!("{name}: {}\n", mask_basic(value)));
            } else if name == DPOP_HEADER {
                shown.push_str(&format!("DPoP: {}\n", shorten(value)));
            } else {
                shown.push_str(&format!("{name}: {value}\n"));
            }
        }
        let body_text = String::from_utf8_lossy(&body).into_owned();
        if !body_text.is_empty() {
            shown.push('\n');
            shown.push_str(&mask_form(&body_text));
        }
        let res = http()?
            .request(method.clone(), url)
            .headers(headers)
            .body(body)
            .send()
            .await?;
        let status = res.status();
        let mut out = oauth2::http::Response::builder().status(status);
        let mut res_shown = format!("HTTP/1.1 {status}\n");
        for (name, value) in res.headers() {
            out = out.header(name, value);
            if shown_response_header(name.as_str()) {
                res_shown.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or("[binary]")));
            }
        }
        let bytes = res.bytes().await?.to_vec();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let pretty = pretty_json(&mask_tokens_json(&text));
        if !pretty.is_empty() {
            res_shown.push('\n');
            res_shown.push_str(&pretty);
        }
        let response = out.body(bytes).map_err(|e| TransportError::Other(e.to_string()))?;
        let exchange = Exchange {
            request: shown,
            response: res_shown,
            body: text,
            proof,
        };
        Ok((exchange, response))
    }

    pub(super) fn last(&self) -> Exchange {
        self.seen
            .lock()
            .ok()
            .and_then(|s| s.last().cloned())
            .unwrap_or_default()
    }

    /// Every exchange, in order (more than one when the server asked for a DPoP nonce).
    pub(super) fn all(&self) -> Vec<Exchange> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// The request header that carries a DPoP proof (RFC 9449 §4.1).
const DPOP_HEADER: &str = "dpop";

/// RFC 9449 §8: a `400 use_dpop_nonce` with the nonce to use in `DPoP-Nonce`.
fn asked_for_nonce(exchange: &Exchange, response: &oauth2::HttpResponse) -> Option<String> {
    let error = serde_json::from_str::<serde_json::Value>(&exchange.body)
        .ok()
        .and_then(|v| v.get("error")?.as_str().map(str::to_owned));
    if response.status() != oauth2::http::StatusCode::BAD_REQUEST || error.as_deref() != Some("use_dpop_nonce") {
        return None;
    }
    response
        .headers()
        .get("dpop-nonce")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn shown_response_header(name: &str) -> bool {
    matches!(
        name,
        "content-type" | "cache-control" | "pragma" | "www-authenticate" | "dpop-nonce"
    )
}

fn path_of(url: &str) -> &str {
    url.find("://")
        .and_then(|i| url[i + 3..].find('/').map(|j| &url[i + 3 + j..]))
        .unwrap_or("/")
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    match url.find("://") {
        Some(i) => match url[i + 3..].find('/') {
            Some(j) => &url[..i + 3 + j],
            None => url,
        },
        None => url,
    }
}

fn host_of(issuer: &str) -> &str {
    issuer
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or(rest))
        .unwrap_or(issuer)
}

/// `Basic base64(id:secret)` becomes a readable line with the secret hidden.
fn mask_basic(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("basic") => {
            format!("Basic base64(\"{DEMO_CLIENT_ID}:{MASKED}\")")
        }
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => format!("Bearer {}", shorten(token)),
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("dpop") => format!("DPoP {}", shorten(token)),
        _ => "[hidden]".to_owned(),
    }
}

/// A token as the timeline shows it: its start and its length, never the whole (the
/// timeline is kept in the session, so it must not hold a usable token; #18 item 8).
fn shorten(token: &str) -> String {
    let start: String = token.chars().take(12).collect();
    format!("{start}… [{} characters, hidden]", token.chars().count())
}

/// The parameters that carry tokens, in request bodies and token responses.
const TOKEN_FIELDS: [&str; 4] = ["access_token", "refresh_token", "id_token", "token"];

fn mask_form(body: &str) -> String {
    url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| {
            let v = if k == "client_secret" {
                MASKED.into()
            } else if TOKEN_FIELDS.contains(&k.as_ref()) {
                shorten(&v).into()
            } else {
                v
            };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("\n&")
}

/// A token response with its tokens shortened ([`shorten`]); other text as it is.
fn mask_tokens_json(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(mut map)) => {
            for field in TOKEN_FIELDS {
                if let Some(serde_json::Value::String(t)) = map.get(field) {
                    let short = shorten(t);
                    map.insert(field.to_owned(), serde_json::Value::String(short));
                }
            }
            serde_json::Value::Object(map).to_string()
        }
        _ => text.to_owned(),
    }
}

fn pretty_json(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_owned())
}

/// A JWT's header and claims, decoded for display only: the signature is not checked here
/// (the resource server checks it at the API call; a real client verifies the ID token
/// against the JWKS, OIDC Core §3.1.3.7).
pub(super) fn decode_jwt(title: &str, jwt: &str) -> Message {
    let mut parts = jwt.split('.');
    let decode = |p: Option<&str>| {
        p.and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
            .map(|b| pretty_json(&String::from_utf8_lossy(&b)))
            .unwrap_or_else(|| "[not decodable]".to_owned())
    };
    let header = decode(parts.next());
    let claims = decode(parts.next());
    Message {
        title: format!("{title}, decoded (signature not verified by this view)"),
        text: format!("Header:\n{header}\n\nClaims:\n{claims}"),
        params: Vec::new(),
    }
}

pub(super) fn jwt_claims(jwt: &str) -> serde_json::Value {
    jwt.split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

pub(super) fn param(name: &str, value: &str, meaning: &str) -> Param {
    Param {
        name: name.to_owned(),
        value: value.to_owned(),
        meaning: meaning.to_owned(),
    }
}

pub(super) fn authorize_param_meaning(name: &str) -> &'static str {
    match name {
        "response_type" => "code: the authorization code flow (RFC 6749 §4.1.1)",
        "client_id" => "which application asks",
        "state" => "a random value the client checks when the browser comes back (RFC 6749 §10.12: CSRF)",
        "code_challenge" => "SHA-256 of a secret verifier only the client knows (PKCE, RFC 7636 §4.2)",
        "code_challenge_method" => "S256: the challenge is a SHA-256 hash",
        "redirect_uri" => "where the server sends the browser back; must match a registered URI exactly",
        "scope" => "what the client asks for",
        "nonce" => "a random value the ID token must repeat (OIDC Core §3.1.2.1: replay protection)",
        "prompt" => "consent: ask the user again even if they consented before",
        "dpop_jkt" => "the thumbprint of the client's DPoP key: the code is bound to it (RFC 9449 §10)",
        "request_uri" => "the reference to the pushed request: single use, valid for a minute (RFC 9126 §4)",
        _ => "",
    }
}

pub(super) fn short_error(seen: &Exchange, fallback: &str) -> String {
    serde_json::from_str::<serde_json::Value>(&seen.body)
        .ok()
        .and_then(|v| {
            let error = v.get("error")?.as_str()?.to_owned();
            let desc = v.get("error_description").and_then(|d| d.as_str()).unwrap_or_default();
            Some(format!("{error}: {desc}"))
        })
        .unwrap_or_else(|| fallback.to_owned())
}

/// RFC 9126 §2.1: the authorization request's parameters, posted to `/par` with the
/// client's credentials (HTTP Basic, as the oauth2 crate authenticates at the token
/// endpoint; the crate has no PAR). The exchange as sent, and the answer's `request_uri` or
/// why there is none.
pub(super) async fn push_request(state: &AppState, pairs: &[(String, String)]) -> (Exchange, Result<String, String>) {
    let secret = client_secret(&state.secret);
    // RFC 6749 §2.3.1: the id and the secret form-encoded, then HTTP Basic.
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let basic = STANDARD.encode(format!("{}:{}", enc(DEMO_CLIENT_ID), enc(secret.expose())));
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let request = oauth2::http::Request::builder()
        .method(oauth2::http::Method::POST)
        .uri(format!("{}/par", state.issuer))
        .header(oauth2::http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(oauth2::http::header::ACCEPT, "application/json")
        .header(oauth2::http::header::AUTHORIZATION, format!("Basic {basic}"))
        .body(body.into_bytes());
    let recorder = Recorder::new(&state.issuer, None);
    let result = match request {
        Ok(request) => recorder.send(request).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let seen = recorder.last();
    let outcome = match result {
        // RFC 9126 §2.2: 201 with the request_uri.
        Ok(res) if res.status() == oauth2::http::StatusCode::CREATED => {
            serde_json::from_slice::<serde_json::Value>(res.body())
                .ok()
                .and_then(|v| v.get("request_uri")?.as_str().map(str::to_owned))
                .ok_or_else(|| "the answer has no request_uri".to_owned())
        }
        Ok(res) => Err(short_error(&seen, &format!("HTTP {}", res.status()))),
        Err(e) => Err(e),
    };
    (seen, outcome)
}

/// One call of the sample API as the page shows it.
pub(super) struct ApiCall {
    pub(super) request: Message,
    /// The DPoP proof sent with it, decoded.
    pub(super) proof: Option<Message>,
    pub(super) response: Message,
    /// The HTTP status, if an answer came.
    pub(super) status: Option<u16>,
    /// The answer's `WWW-Authenticate` challenge.
    pub(super) challenge: String,
}

impl ApiCall {
    pub(super) fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// RFC 9449 §7.2: the refusal of a DPoP-bound token presented as Bearer.
    pub(super) fn refused_as_unbound(&self) -> bool {
        self.status == Some(401)
            && self.challenge.starts_with("DPoP ")
            && self.challenge.contains("error=\"invalid_token\"")
    }
}

/// `GET /api/resource` with the access token: as a Bearer token (RFC 6750 §2.1), or, with
/// the client's DPoP key, as `Authorization: DPoP` with a proof whose `ath` is the token's
/// hash (RFC 9449 §7.1).
pub(super) async fn call_api(issuer: &str, access_token: &str, dpop: Option<&DpopKey>) -> ApiCall {
    let url = format!("{issuer}/api/resource");
    let mut shown = format!("GET /api/resource HTTP/1.1\nHost: {}\n", host_of(issuer));
    let mut req = match http() {
        Ok(client) => client.get(&url),
        Err(e) => return ApiCall::failed(shown, e.to_string()),
    };
    let mut proof = None;
    match dpop {
        Some(key) => {
            let made = match key.proof("GET", &url, Some(access_token), None, crate::now()) {
                Ok(p) => p,
                Err(e) => return ApiCall::failed(shown, e.to_string()),
            };
            shown.push_str(&format!(
                "Authorization: DPoP {}\nDPoP: {}",
                shorten(access_token),
                shorten(&made.jwt)
            ));
            req = req
                .header(oauth2::http::header::AUTHORIZATION, format!("DPoP {access_token}"))
                .header(DPOP_HEADER, made.jwt.as_str());
            proof = Some(proof_message("The DPoP proof for this call", &made, key));
        }
        None => {
            shown.push_str(&format!("Authorization: Bearer {}", shorten(access_token)));
            req = req.bearer_auth(access_token);
        }
    }
    let request = Message {
        title: "API request".into(),
        text: shown,
        params: vec![],
    };
    let (text, status, challenge) = match req.send().await {
        Ok(res) => {
            let status = res.status();
            let mut head = format!("HTTP/1.1 {status}\n");
            for (name, value) in res.headers() {
                if shown_response_header(name.as_str()) {
                    head.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or("[binary]")));
                }
            }
            let challenge = res
                .headers()
                .get(oauth2::http::header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = res.text().await.unwrap_or_default();
            let pretty = pretty_json(&body);
            if !pretty.is_empty() {
                head.push('\n');
                head.push_str(&pretty);
            }
            (head, Some(status.as_u16()), challenge)
        }
        Err(e) => (format!("The request failed: {e}"), None, String::new()),
    };
    ApiCall {
        request,
        proof,
        response: Message {
            title: "API response".into(),
            text,
            params: vec![],
        },
        status,
        challenge,
    }
}

impl ApiCall {
    fn failed(shown: String, error: String) -> ApiCall {
        ApiCall {
            request: Message {
                title: "API request".into(),
                text: shown,
                params: vec![],
            },
            proof: None,
            response: Message {
                title: "API response".into(),
                text: format!("The request failed: {error}"),
                params: vec![],
            },
            status: None,
            challenge: String::new(),
        }
    }
}

/// A DPoP proof decoded, each member with what it means (RFC 9449 §4.2), and the key's
/// thumbprint that the server binds tokens to.
pub(super) fn proof_message(title: &str, proof: &Proof, key: &DpopKey) -> Message {
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let mut params = vec![
        param("typ", "dpop+jwt", "this JWT is a DPoP proof (RFC 9449 §4.2)"),
        param("alg", "ES256", "signed with the client's P-256 key"),
        param(
            "jwk",
            &proof.header["jwk"].to_string(),
            "the client's public key: the server checks the signature with it (never a private key)",
        ),
    ];
    let meanings = [
        (
            "jti",
            "a random id for this proof alone: the server refuses it a second time (§11.1)",
        ),
        ("htm", "the HTTP method of the request it comes with"),
        ("htu", "the URL of the request it comes with (without query)"),
        (
            "iat",
            "when the client made it: accepted only within a minute of the server's clock",
        ),
        (
            "ath",
            "base64url SHA-256 of the access token sent with it: the proof is for that token (§7.1)",
        ),
        ("nonce", "the value the server gave in DPoP-Nonce (§8)"),
    ];
    for (name, meaning) in meanings {
        if let Some(value) = proof.claims.get(name) {
            let value = value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string());
            params.push(param(name, &value, meaning));
        }
    }
    params.push(param(
        "thumbprint (jkt)",
        key.jkt(),
        "SHA-256 of the public key (RFC 7638): the server binds the tokens to it as cnf.jkt",
    ));
    Message {
        title: format!("{title}, decoded"),
        text: format!(
            "Header:\n{}\n\nClaims:\n{}",
            pretty(&proof.header),
            pretty(&proof.claims)
        ),
        params,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn basic_credentials_are_masked() {
        let value = format!("Basic {}", STANDARD.encode("tessera-demo:s3cret"));
        let shown = mask_basic(&value);
        assert!(!shown.contains("s3cret") && !shown.contains(&STANDARD.encode("tessera-demo:s3cret")));
        assert_eq!(
            mask_form("a=1&client_secret=s3cret"),
            format!("a=1\n&client_secret={MASKED}")
        );
    }

    #[test]
    fn paths_and_hosts() {
        assert_eq!(path_of("http://127.0.0.1:3939/token?x=1"), "/token?x=1");
        assert_eq!(host_of("https://id.example.com"), "id.example.com");
    }

    /// The transport sends to the issuer's origin and the endpoint's own path: an issuer
    /// with a path is not doubled, and the revocation URL (made https for the oauth2
    /// crate) goes back to a loopback http issuer's scheme.
    #[test]
    fn the_transport_keeps_the_endpoint_path() {
        let at = |issuer: &str, uri: &str| Recorder::new(issuer, None).target(&uri.parse().unwrap());
        assert_eq!(
            at("https://id.example/auth", "https://id.example/auth/token"),
            "https://id.example/auth/token"
        );
        assert_eq!(
            at("http://127.0.0.1:3939", "https://127.0.0.1:3939/revoke"),
            "http://127.0.0.1:3939/revoke"
        );
        assert_eq!(
            at("https://id.example", "https://id.example/token?x=1"),
            "https://id.example/token?x=1"
        );
    }
}
