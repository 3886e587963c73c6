//! The demo's OAuth client: registered as `tessera-demo` (a confidential client with
//! PKCE), written with the `oauth2` crate, talking HTTP to this server's own endpoints at
//! the issuer URL, and keeping a copy of every message it sends and receives, secrets
//! masked, for the page's timeline.
//!
//! Its secret is never stored: every instance derives it from the server secret
//! ([`crate::crypto::server_secret`]), which rotates, and only its SHA-256 hash is in
//! `clients`.

use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
    body: String,
}

/// The transport handed to oauth2: sends each request to this server and keeps a copy of
/// request and response, the client secret masked.
#[derive(Clone)]
pub(super) struct Recorder {
    issuer: String,
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
    pub(super) fn new(issuer: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            seen: Arc::default(),
        }
    }

    /// The issuer's own URL for the path of `uri`.
    fn target(&self, uri: &oauth2::http::Uri) -> String {
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        format!("{}{path}", self.issuer)
    }

    pub(super) async fn send(&self, req: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, TransportError> {
        let (parts, body) = req.into_parts();
        let url = self.target(&parts.uri);
        let mut shown = format!("{} {} HTTP/1.1\n", parts.method, path_of(&url));
        shown.push_str(&format!("Host: {}\n", host_of(&self.issuer)));
        for (name, value) in &parts.headers {
            let value = value.to_str().unwrap_or("[binary]");
            if name == oauth2::http::header::AUTHORIZATION {
                shown.push_str(&format!("{name}: {}\n", mask_basic(value)));
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
            .request(parts.method, &url)
            .headers(parts.headers)
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
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(Exchange {
                request: shown,
                response: res_shown,
                body: text,
            });
        }
        out.body(bytes).map_err(|e| TransportError::Other(e.to_string()))
    }

    pub(super) fn last(&self) -> Exchange {
        self.seen
            .lock()
            .ok()
            .and_then(|s| s.last().cloned())
            .unwrap_or_default()
    }
}

fn shown_response_header(name: &str) -> bool {
    matches!(name, "content-type" | "cache-control" | "pragma" | "www-authenticate")
}

fn path_of(url: &str) -> &str {
    url.find("://")
        .and_then(|i| url[i + 3..].find('/').map(|j| &url[i + 3 + j..]))
        .unwrap_or("/")
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

/// `GET /api/resource` with the token; the request and the answer as messages.
pub(super) async fn call_api(issuer: &str, access_token: &str) -> (Message, Message, bool) {
    let url = format!("{issuer}/api/resource");
    let request = Message {
        title: "API request".into(),
        text: format!(
            "GET /api/resource HTTP/1.1\nHost: {}\nAuthorization: Bearer {}",
            host_of(issuer),
            shorten(access_token)
        ),
        params: vec![],
    };
    let sent = async { http()?.get(&url).bearer_auth(access_token).send().await };
    let (text, ok) = match sent.await {
        Ok(res) => {
            let status = res.status();
            let mut head = format!("HTTP/1.1 {status}\n");
            for (name, value) in res.headers() {
                if shown_response_header(name.as_str()) {
                    head.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or("[binary]")));
                }
            }
            let body = res.text().await.unwrap_or_default();
            let pretty = pretty_json(&body);
            if !pretty.is_empty() {
                head.push('\n');
                head.push_str(&pretty);
            }
            (head, status.is_success())
        }
        Err(e) => (format!("The request failed: {e}"), false),
    };
    let response = Message {
        title: "API response".into(),
        text,
        params: vec![],
    };
    (request, response, ok)
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
}
