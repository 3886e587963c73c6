//! The built-in demo client behind `/demo`: a real confidential OAuth client with PKCE,
//! written with the `oauth2` crate, that talks HTTP to this server's own endpoints at the
//! issuer URL and records every message of the authorization code flow as a step of the
//! page's timeline.
//!
//! Mounted, and its client registered, only when the demo is on (`serve --demo`; #18 item
//! 8). Its secret is never stored: every instance derives it from the server secret
//! ([`crate::crypto::server_secret`]), which rotates, and only its SHA-256 hash is in `clients`. The run
//! lives in the browser's server-side session: the timeline in the clear, what the client
//! keeps to itself (PKCE verifier, state, nonce, tokens) sealed with a key derived from
//! the server secret, so the sessions table never holds a usable token. The page gets only
//! the rendered timeline.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AccessToken, AuthUrl, AuthorizationCode, ClientId, ClientSecret as OAuthSecret, CsrfToken, EndpointNotSet,
    EndpointSet, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RevocationUrl,
    Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tessera_app::demo_api::{
    DemoOptions, DemoRun, Message, Param, StepRecord, StepStatus, DEMO_CLIENT_ID, DEMO_RUN_KEY, DEMO_SCOPES,
};
use tessera_core::secret::{constant_time_eq, random_token, ClientSecret};
use tessera_core::store::{ClientSettings, NewClient};
use tessera_core::types::{RedirectUri, ScopeSet};
use tower_sessions::Session;

use crate::crypto::server_secret::ServerSecret;
use crate::store::Database;
use crate::web::AppState;

pub const DEMO_CLIENT_NAME: &str = "Tessera demo client";
/// Session key of what the client keeps to itself (never sent to the browser).
const SECRETS_KEY: &str = "demo.client";
/// Domain separation for what derives from the server secret.
const SECRET_LABEL: &str = "tessera-demo-client";
const SEAL_LABEL: &str = "tessera-demo-session";
/// The grants the demo uses, and so the only ones its client has.
const DEMO_GRANTS: [&str; 2] = ["authorization_code", "refresh_token"];
const MASKED: &str = "[client secret, hidden]";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/demo/start", post(start))
        .route("/demo/callback", get(callback))
        .route("/demo/refresh", post(refresh))
        .route("/demo/revoke", post(revoke))
        .route("/demo/api", post(call_api_again))
        .route("/demo/reset", post(reset))
}

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
            && existing.settings.grant_types == DEMO_GRANTS
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
                    grant_types: DEMO_GRANTS.map(str::to_owned).to_vec(),
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
struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

type TokenResp = StandardTokenResponse<IdTokenField, BasicTokenType>;
type DemoOAuth = oauth2::Client<
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

async fn oauth_client(state: &AppState) -> anyhow::Result<DemoOAuth> {
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
struct Exchange {
    request: String,
    response: String,
    body: String,
}

/// The transport handed to oauth2: sends each request to this server and keeps a copy of
/// request and response, the client secret masked.
#[derive(Clone)]
struct Recorder {
    issuer: String,
    seen: Arc<Mutex<Vec<Exchange>>>,
}

#[derive(Debug, thiserror::Error)]
enum TransportError {
    #[error("http: {0}")]
    Http(#[from] oauth2::reqwest::Error),
    #[error("{0}")]
    Other(String),
}

impl Recorder {
    fn new(issuer: &str) -> Self {
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

    async fn send(&self, req: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, TransportError> {
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

    fn last(&self) -> Exchange {
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
/// (the resource server checks it in steps 9–10; a real client verifies the ID token
/// against the JWKS, OIDC Core §3.1.3.7).
fn decode_jwt(title: &str, jwt: &str) -> Message {
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

fn jwt_claims(jwt: &str) -> serde_json::Value {
    jwt.split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn param(name: &str, value: &str, meaning: &str) -> Param {
    Param {
        name: name.to_owned(),
        value: value.to_owned(),
        meaning: meaning.to_owned(),
    }
}

fn authorize_param_meaning(name: &str) -> &'static str {
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

// ---------------------------------------------------------------------------------------
// What the client keeps in the session.

#[derive(Debug, Default, Serialize, Deserialize)]
struct Secrets {
    /// The state the client expects back; empty once the callback has used it.
    state: String,
    nonce: String,
    verifier: Option<String>,
    access_token: Option<String>,
    refresh_token: Option<String>,
    /// The user the tokens were issued to: the session's user when they arrived.
    #[serde(default)]
    owner: Option<String>,
}

/// The run and the client's secrets, opened. Secrets that do not open (sealed under a
/// server secret since rotated away, or tampered with) count as none.
async fn load(state: &AppState, session: &Session) -> (Option<DemoRun>, Secrets) {
    let run = session.get::<DemoRun>(DEMO_RUN_KEY).await.ok().flatten();
    let secrets = session
        .get::<String>(SECRETS_KEY)
        .await
        .ok()
        .flatten()
        .and_then(|sealed| URL_SAFE_NO_PAD.decode(sealed).ok())
        .and_then(|sealed| state.secret.sealer(SEAL_LABEL).open(&sealed, SECRETS_KEY.as_bytes()))
        .and_then(|(plain, _)| serde_json::from_slice(&plain).ok())
        .unwrap_or_default();
    (run, secrets)
}

async fn store(state: &AppState, session: &Session, run: &DemoRun, secrets: &Secrets) -> anyhow::Result<()> {
    let plain = serde_json::to_vec(secrets)?;
    let sealed = state.secret.sealer(SEAL_LABEL).seal(&plain, SECRETS_KEY.as_bytes())?;
    session.insert(DEMO_RUN_KEY, run).await?;
    session.insert(SECRETS_KEY, URL_SAFE_NO_PAD.encode(sealed)).await?;
    Ok(())
}

/// Keeps the run and goes back to the page.
async fn save(state: &AppState, session: &Session, run: &DemoRun, secrets: &Secrets) -> Response {
    match store(state, session, run, secrets).await {
        Ok(()) => Redirect::to("/demo").into_response(),
        Err(e) => failed(e),
    }
}

fn failed(e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "demo client failed");
    Redirect::to("/demo?error=failed").into_response()
}

fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw).into_owned().collect()
}

fn get_param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The session's CSRF token (or, before the session has one, the anonymous CSRF cookie's)
/// must come with every form.
async fn csrf_checked(state: &AppState, session: &Session, headers: &HeaderMap, form: &[(String, String)]) -> bool {
    let presented = get_param(form, "csrf").unwrap_or_default();
    tessera_app::server::csrf_ok_in(session, headers, &state.issuer, presented).await
}

// ---------------------------------------------------------------------------------------
// Steps 1–2: start.

async fn start(State(state): State<AppState>, session: Session, headers: HeaderMap, body: Bytes) -> Response {
    let form = pairs(&body);
    if !csrf_checked(&state, &session, &headers, &form).await {
        return Redirect::to("/demo?error=expired").into_response();
    }
    let options = DemoOptions {
        scopes: DEMO_SCOPES
            .iter()
            .filter(|s| form.iter().any(|(k, v)| k == "scope" && v == *s))
            .map(|s| s.to_string())
            .collect(),
        pkce: get_param(&form, "pkce").is_some(),
        prompt_consent: get_param(&form, "prompt_consent").is_some(),
        tamper_state: get_param(&form, "tamper_state").is_some(),
    };
    let client = match oauth_client(&state).await {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let nonce = random_token();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(options.scopes.iter().map(|s| Scope::new(s.clone())))
        .add_extra_param("nonce", nonce.clone());
    if options.pkce {
        request = request.set_pkce_challenge(challenge);
    }
    if options.prompt_consent {
        request = request.add_extra_param("prompt", "consent");
    }
    let (url, sent_state) = request.url();
    // "Tamper with state": what comes back is not what this client remembers, as when an
    // attacker feeds the victim's browser a callback of the attacker's own (RFC 6749 §10.12).
    let remembered = if options.tamper_state {
        random_token()
    } else {
        sent_state.secret().clone()
    };

    let mut run = DemoRun::new(options.clone());
    let mut chosen = vec![
        param("scope", &options.scopes.join(" "), "the permissions to ask for"),
        param("PKCE", if options.pkce { "on" } else { "off" }, "send a code_challenge"),
        param(
            "prompt=consent",
            if options.prompt_consent { "on" } else { "off" },
            "ask for consent again",
        ),
    ];
    if options.tamper_state {
        chosen.push(param(
            "tamper with state",
            "on",
            "the client will see a state it did not send",
        ));
    }
    run.mark(
        1,
        StepStatus::Done,
        "You pressed Start: the client application (this server's built-in demo client) begins a sign-in.",
        vec![Message {
            title: "The browser's request to the client".into(),
            text: "POST /demo/start HTTP/1.1".into(),
            params: chosen,
        }],
    );
    let params = url
        .query_pairs()
        .map(|(k, v)| param(&k, &v, authorize_param_meaning(&k)))
        .collect();
    run.mark(
        2,
        StepStatus::Done,
        "The client redirects the browser to the authorization endpoint (RFC 6749 §4.1.1). The client \
         keeps the PKCE verifier, the state and the nonce to itself.",
        vec![Message {
            title: "The redirect to the authorization server".into(),
            text: format!("HTTP/1.1 303 See Other\nLocation: {url}"),
            params,
        }],
    );
    let secrets = Secrets {
        state: remembered,
        nonce,
        verifier: options.pkce.then(|| verifier.secret().clone()),
        ..Default::default()
    };
    match store(&state, &session, &run, &secrets).await {
        Ok(()) => Redirect::to(url.as_str()).into_response(),
        Err(e) => failed(e),
    }
}

// ---------------------------------------------------------------------------------------
// Steps 3–10: the callback, the token exchange and the API call.

async fn callback(State(state): State<AppState>, session: Session, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let (run, mut secrets) = load(&state, &session).await;
    let Some(mut run) = run else {
        return Redirect::to("/demo?error=norun").into_response();
    };
    let params = pairs(query.as_bytes());
    let explained = params
        .iter()
        .map(|(k, v)| {
            let meaning = match k.as_str() {
                "code" => "the authorization code: short-lived, single use, useless without the client's secret and PKCE verifier",
                "state" => "must equal the state the client sent",
                "iss" => "who issued the response (RFC 9207: mix-up protection)",
                "error" => "why there is no code (RFC 6749 §4.1.2.1)",
                "error_description" => "a human-readable explanation",
                _ => "",
            };
            param(k, v, meaning)
        })
        .collect();
    let arrival = Message {
        title: "The browser arrives at the client's redirect URI".into(),
        text: format!("GET /demo/callback?{query} HTTP/1.1"),
        params: explained,
    };

    if secrets.state.is_empty() {
        run.mark(
            5,
            StepStatus::Error,
            "This callback was already handled (or no authorization request is in progress): the client ignores it.",
            vec![arrival],
        );
        return save(&state, &session, &run, &secrets).await;
    }
    let expected_state = std::mem::take(&mut secrets.state);

    // RFC 6749 §10.12: a response whose state is not the one this client sent is not for us,
    // whatever it says, an error included: checked before anything else (#18 item 9).
    let state_ok = get_param(&params, "state").is_some_and(|s| constant_time_eq(s, &expected_state));
    if !state_ok {
        run.mark(
            5,
            StepStatus::Error,
            "The state that came back is not the one the client stored: the client refuses the response (a code \
             or an error alike) and acts on nothing in it (RFC 6749 §10.12, CSRF protection).",
            vec![arrival],
        );
        return save(&state, &session, &run, &secrets).await;
    }

    if let Some(error) = get_param(&params, "error") {
        let description = get_param(&params, "error_description").unwrap_or_default();
        if error == "access_denied" {
            run.mark(3, StepStatus::Done, "The server showed its consent screen.", vec![]);
            run.mark(4, StepStatus::Error, "You chose Deny.", vec![]);
            run.mark(
                5,
                StepStatus::Error,
                format!(
                    "No code: the server sent the browser back with error=access_denied (RFC 6749 §4.1.2.1): \
                     \u{201c}{description}\u{201d}."
                ),
                vec![arrival],
            );
        } else {
            run.mark(
                2,
                StepStatus::Error,
                format!("The server refused the authorization request: {error}: {description}"),
                vec![],
            );
            run.mark(
                5,
                StepStatus::Error,
                format!("No code: the server sent the browser back with error={error}."),
                vec![arrival],
            );
        }
        return save(&state, &session, &run, &secrets).await;
    }

    run.mark(
        3,
        StepStatus::Done,
        "The server showed its sign-in and consent pages — or skipped them because you were signed in and had \
         consented to these scopes before (prompt=consent asks again).",
        vec![],
    );
    run.mark(
        4,
        StepStatus::Done,
        "You allowed the request (or had before): the server records the consent.",
        vec![],
    );

    // RFC 9207 §2.4: this server always sends `iss`; it must be the expected issuer.
    if get_param(&params, "iss") != Some(state.issuer.as_str()) {
        run.mark(
            5,
            StepStatus::Error,
            "The iss parameter is missing or names another server: the client refuses the code (RFC 9207).",
            vec![arrival],
        );
        return save(&state, &session, &run, &secrets).await;
    }
    let Some(code) = get_param(&params, "code") else {
        run.mark(5, StepStatus::Error, "No code in the response.", vec![arrival]);
        return save(&state, &session, &run, &secrets).await;
    };
    run.mark(
        5,
        StepStatus::Done,
        "The server redirected the browser back with a code. The client checked that state is the one it \
         sent and iss is this server.",
        vec![arrival],
    );

    // Steps 6–8: the back-channel exchange.
    let client = match oauth_client(&state).await {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let recorder = Recorder::new(&state.issuer);
    let transport = |req: oauth2::HttpRequest| {
        let r = recorder.clone();
        async move { r.send(req).await }
    };
    let mut exchange = client.exchange_code(AuthorizationCode::new(code.to_owned()));
    if let Some(v) = secrets.verifier.take() {
        exchange = exchange.set_pkce_verifier(PkceCodeVerifier::new(v));
    }
    let result = exchange.request_async(&transport).await;
    let seen = recorder.last();
    run.mark(
        6,
        StepStatus::Done,
        "The client's server calls the token endpoint directly (not through the browser), authenticating \
         with its secret (HTTP Basic) and proving PKCE with the verifier (RFC 6749 §4.1.3, RFC 7636 §4.5).",
        vec![Message {
            title: "Token request".into(),
            text: seen.request.clone(),
            params: vec![],
        }],
    );
    let response_message = Message {
        title: "Token response".into(),
        text: seen.response.clone(),
        params: vec![],
    };
    let token = match result {
        Ok(t) => t,
        Err(e) => {
            run.mark(
                7,
                StepStatus::Error,
                format!(
                    "The server refused the token request: {}",
                    short_error(&seen, &e.to_string())
                ),
                vec![],
            );
            run.mark(8, StepStatus::Error, "No tokens.", vec![response_message]);
            return save(&state, &session, &run, &secrets).await;
        }
    };
    run.mark(
        7,
        StepStatus::Done,
        "The server checked the client's secret; that the code is this client's, unused and unexpired; that \
         redirect_uri is the one of the authorization request; and that SHA-256(code_verifier) equals the \
         code_challenge (RFC 7636 §4.6).",
        vec![],
    );
    let access = token.access_token().secret().clone();
    let mut messages = vec![response_message, decode_jwt("Access token (RFC 9068)", &access)];
    let mut note =
        "The server answered with an access token (a JWT for the API) and, with openid, an ID token saying who \
         signed in."
            .to_owned();
    let mut status = StepStatus::Done;
    if let Some(id_token) = token.extra_fields().id_token.as_deref() {
        messages.push(decode_jwt("ID token (OIDC Core §2)", id_token));
        // OIDC Core §3.1.3.7: the ID token must repeat the nonce of the request.
        let nonce_ok = jwt_claims(id_token)
            .get("nonce")
            .and_then(|n| n.as_str())
            .is_some_and(|n| constant_time_eq(n, &secrets.nonce));
        if nonce_ok {
            note.push_str(" The client checked that the ID token's nonce is the one it sent.");
        } else {
            status = StepStatus::Error;
            note = "The ID token's nonce is not the one the client sent: the client rejects it.".into();
        }
    }
    run.mark(8, status, note, messages);
    secrets.access_token = Some(access.clone());
    secrets.owner = session_user(&state, &session).await;
    secrets.refresh_token = token.refresh_token().map(|r| r.secret().clone());
    run.has_tokens = status == StepStatus::Done;
    run.has_refresh_token = run.has_tokens && secrets.refresh_token.is_some();
    if status == StepStatus::Error {
        return save(&state, &session, &run, &secrets).await;
    }

    // Steps 9–10: the API call.
    let (request, response, ok) = call_api(&state.issuer, &access).await;
    run.mark(
        9,
        StepStatus::Done,
        "The client calls the API with the access token as a Bearer token (RFC 6750 §2.1).",
        vec![request],
    );
    run.mark(
        10,
        if ok { StepStatus::Done } else { StepStatus::Error },
        if ok {
            "The API checked the token (signature, issuer, audience, expiry, not revoked) and answered."
        } else {
            "The API refused the token."
        },
        vec![response],
    );
    save(&state, &session, &run, &secrets).await
}

fn short_error(seen: &Exchange, fallback: &str) -> String {
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
async fn call_api(issuer: &str, access_token: &str) -> (Message, Message, bool) {
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

// ---------------------------------------------------------------------------------------
// After the run.

/// The run to act on: the form's CSRF token checked, and the tokens only while this
/// session still speaks for the user they were issued to (#18 item 7). After a sign-out,
/// a password change elsewhere or a disabled account, the run is over: no refresh with a
/// token its user no longer stands behind.
async fn after_run(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(DemoRun, Secrets), Response> {
    let form = pairs(body);
    if !csrf_checked(state, session, headers, &form).await {
        return Err(Redirect::to("/demo?error=expired").into_response());
    }
    match load(state, session).await {
        (Some(run), secrets) if secrets.owner.is_none() || secrets.owner == session_user(state, session).await => {
            Ok((run, secrets))
        }
        (Some(_), _) => {
            let _ = session.remove_value(DEMO_RUN_KEY).await;
            let _ = session.remove_value(SECRETS_KEY).await;
            Err(Redirect::to("/demo?error=norun").into_response())
        }
        (None, _) => Err(Redirect::to("/demo?error=norun").into_response()),
    }
}

/// The id of the user this session speaks for, if any (signed in, enabled, password
/// unchanged since).
async fn session_user(state: &AppState, session: &Session) -> Option<String> {
    tessera_app::server::session_user(state.db.store.as_ref(), session)
        .await
        .ok()
        .flatten()
        .map(|u| u.id)
}

async fn refresh(State(state): State<AppState>, session: Session, headers: HeaderMap, body: Bytes) -> Response {
    let (mut run, mut secrets) = match after_run(&state, &session, &headers, &body).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Some(refresh_token) = secrets.refresh_token.clone() else {
        return Redirect::to("/demo").into_response();
    };
    let client = match oauth_client(&state).await {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let recorder = Recorder::new(&state.issuer);
    let transport = |req: oauth2::HttpRequest| {
        let r = recorder.clone();
        async move { r.send(req).await }
    };
    let token = RefreshToken::new(refresh_token);
    let result = client.exchange_refresh_token(&token).request_async(&transport).await;
    let seen = recorder.last();
    let mut messages = vec![
        Message {
            title: "Token request".into(),
            text: seen.request.clone(),
            params: vec![],
        },
        Message {
            title: "Token response".into(),
            text: seen.response.clone(),
            params: vec![],
        },
    ];
    let entry = match result {
        Ok(t) => {
            let access = t.access_token().secret().clone();
            messages.push(decode_jwt("New access token", &access));
            secrets.access_token = Some(access);
            // Refresh tokens rotate: the old one is now spent (RFC 9700 §4.14.2).
            secrets.refresh_token = t.refresh_token().map(|r| r.secret().clone());
            run.has_tokens = true;
            run.has_refresh_token = secrets.refresh_token.is_some();
            StepRecord {
                title: "Refresh the token".into(),
                status: StepStatus::Done,
                note: "The client traded its refresh token for a new access token and a new refresh token; the \
                       old refresh token is spent (rotation, RFC 9700 §4.14.2)."
                    .into(),
                messages,
            }
        }
        Err(e) => StepRecord {
            title: "Refresh the token".into(),
            status: StepStatus::Error,
            note: format!("The server refused: {}", short_error(&seen, &e.to_string())),
            messages,
        },
    };
    run.after.push(entry);
    save(&state, &session, &run, &secrets).await
}

async fn revoke(State(state): State<AppState>, session: Session, headers: HeaderMap, body: Bytes) -> Response {
    let (mut run, mut secrets) = match after_run(&state, &session, &headers, &body).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    // RFC 7009 §2.1: revoking the refresh token also ends the access tokens of the same
    // grant on this server; without one, the access token itself is revoked.
    let (revocable, what) = match (&secrets.refresh_token, &secrets.access_token) {
        (Some(r), _) => (
            StandardRevocableToken::RefreshToken(RefreshToken::new(r.clone())),
            "refresh token",
        ),
        (None, Some(a)) => (
            StandardRevocableToken::AccessToken(AccessToken::new(a.clone())),
            "access token",
        ),
        (None, None) => return Redirect::to("/demo").into_response(),
    };
    let client = match oauth_client(&state).await {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let recorder = Recorder::new(&state.issuer);
    let transport = |req: oauth2::HttpRequest| {
        let r = recorder.clone();
        async move { r.send(req).await }
    };
    let result = match client.revoke_token(revocable) {
        Ok(req) => req.request_async(&transport).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let seen = recorder.last();
    let messages = vec![
        Message {
            title: "Revocation request".into(),
            text: seen.request.clone(),
            params: vec![],
        },
        Message {
            title: "Revocation response".into(),
            text: seen.response.clone(),
            params: vec![],
        },
    ];
    let entry = match result {
        Ok(()) => {
            secrets.refresh_token = None;
            run.has_refresh_token = false;
            StepRecord {
                title: "Revoke the token".into(),
                status: StepStatus::Done,
                note: format!(
                    "The client revoked its {what} (RFC 7009). The access token from the same grant no longer \
                     works: call the API again to see the 401."
                ),
                messages,
            }
        }
        Err(e) => StepRecord {
            title: "Revoke the token".into(),
            status: StepStatus::Error,
            note: format!("The revocation failed: {}", short_error(&seen, &e)),
            messages,
        },
    };
    run.after.push(entry);
    save(&state, &session, &run, &secrets).await
}

async fn call_api_again(State(state): State<AppState>, session: Session, headers: HeaderMap, body: Bytes) -> Response {
    let (mut run, secrets) = match after_run(&state, &session, &headers, &body).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Some(access) = secrets.access_token.clone() else {
        return Redirect::to("/demo").into_response();
    };
    let (request, response, ok) = call_api(&state.issuer, &access).await;
    run.after.push(StepRecord {
        title: "Call the API again".into(),
        status: if ok { StepStatus::Done } else { StepStatus::Error },
        note: if ok {
            "The API accepted the access token again.".into()
        } else {
            "The API refused the access token: 401 with WWW-Authenticate (RFC 6750 §3), as after a revocation.".into()
        },
        messages: vec![request, response],
    });
    save(&state, &session, &run, &secrets).await
}

async fn reset(State(state): State<AppState>, session: Session, headers: HeaderMap, body: Bytes) -> Response {
    let form = pairs(&body);
    if csrf_checked(&state, &session, &headers, &form).await {
        let _ = session.remove_value(DEMO_RUN_KEY).await;
        let _ = session.remove_value(SECRETS_KEY).await;
    }
    Redirect::to("/demo").into_response()
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
