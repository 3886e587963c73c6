//! Dynamic client registration: `POST /register` (RFC 7591) and the client configuration
//! endpoint `/register/{client_id}` (RFC 7592: GET reads, PUT replaces, DELETE removes).
//! The mode (off, token, open) is a database setting, so every instance agrees; the
//! metadata rules are the core's ([`tessera_core::dynamic_registration`]).

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use tessera_core::audit::{Actor, Kind, NewEvent};
use tessera_core::dynamic_registration::{
    self as dcr, client_metadata, same_method_family, MetadataError, Policy, RegistrationMode,
};
use tessera_core::error::{ErrorCode, OAuthError};
use tessera_core::policy;
use tessera_core::secret::{hash_secret, random_id, random_token, verify_secret, ClientSecret};
use tessera_core::store::{Client, DynamicClient, NewClient};

use crate::http::bearer::bearer_token;
use crate::http::response::{bearer_error, no_store, registration_error, server_error, token_error};
use crate::web::AppState;

/// How long this process trusts the mode it read for discovery; `/register` always reads it.
const MODE_TTL: Duration = Duration::from_secs(5);

/// The most client ids [`Registration::note_used`] remembers.
const NOTED_MAX: usize = 100_000;

/// What the endpoints keep in memory: the mode as discovery last read it, and the
/// dynamically registered clients this process has already recorded as used.
#[derive(Default)]
pub struct Registration {
    mode: Mutex<Option<(Instant, RegistrationMode)>>,
    /// Client ids whose first token this process has recorded (or that are not dynamic):
    /// one `UPDATE` per client and process, then nothing. At most [`NOTED_MAX`].
    noted: Mutex<HashSet<String>>,
}

impl Registration {
    /// Whether registration is on, as discovery publishes it (read at most every
    /// [`MODE_TTL`]; a change made elsewhere shows within that).
    pub async fn is_on(&self, state: &AppState) -> bool {
        let cached = self
            .mode
            .lock()
            .ok()
            .and_then(|m| *m)
            .filter(|(at, _)| at.elapsed() < MODE_TTL);
        let mode = match cached {
            Some((_, mode)) => mode,
            None => {
                let mode = mode(state).await.unwrap_or_default();
                if let Ok(mut m) = self.mode.lock() {
                    *m = Some((Instant::now(), mode));
                }
                mode
            }
        };
        mode != RegistrationMode::Off
    }

    /// After a token was issued to `client_id`: records a dynamically registered client's
    /// first use (the janitor keeps used ones), once per client and process.
    pub async fn note_used(&self, state: &AppState, client_id: &str, now: i64) {
        if self.noted.lock().map(|n| n.contains(client_id)).unwrap_or(true) {
            return;
        }
        match state.db.store.mark_dynamic_client_used(client_id, now).await {
            Ok(()) => {
                if let Ok(mut n) = self.noted.lock() {
                    // Clients come and go (RFC 7592 deletes, the janitor): past the bound
                    // start over, which costs one more no-op UPDATE per client.
                    if n.len() >= NOTED_MAX {
                        n.clear();
                    }
                    n.insert(client_id.to_owned());
                }
            }
            Err(e) => tracing::warn!(error = %e, client_id, "recording a dynamic client's use failed"),
        }
    }
}

async fn mode(state: &AppState) -> Result<RegistrationMode, OAuthError> {
    let s = state.db.store.registration_settings().await.map_err(server_error)?;
    Ok(s.mode.parse().unwrap_or_default())
}

/// Why a request was refused, and how it is answered.
enum Refusal {
    /// Registration is off: there is no endpoint (404).
    Off,
    /// RFC 6750 §3.1 (RFC 7591 §3, RFC 7592 §2): 401 `invalid_token`.
    Token(OAuthError),
    /// RFC 7591 §3.2.2: 400 with `invalid_redirect_uri` / `invalid_client_metadata`.
    Metadata(MetadataError),
    /// `open` mode's cap on anonymously registered clients is reached (403).
    Full,
    /// Too many anonymous registrations from this address in the last minute (429).
    Busy,
    Server(OAuthError),
}

impl From<MetadataError> for Refusal {
    fn from(e: MetadataError) -> Self {
        Refusal::Metadata(e)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let res = match self {
            Refusal::Off => (
                StatusCode::NOT_FOUND,
                Json(json!({
                    "error": "invalid_request",
                    "error_description": "dynamic client registration is not enabled on this server",
                })),
            )
                .into_response(),
            Refusal::Token(e) => bearer_error(&e, None),
            Refusal::Metadata(e) => registration_error(&e),
            Refusal::Full => (
                StatusCode::FORBIDDEN,
                Json(json!({
                    "error": "access_denied",
                    "error_description": "this server has reached its limit of openly registered clients",
                })),
            )
                .into_response(),
            Refusal::Busy => (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "60")],
                Json(json!({
                    "error": "temporarily_unavailable",
                    "error_description": "too many registrations from this address; try again in a minute",
                })),
            )
                .into_response(),
            Refusal::Server(e) => token_error(&e, false),
        };
        no_store(res)
    }
}

/// RFC 7591 §3: the initial access token is missing, unknown, expired, revoked or used up.
fn bad_token(detail: &str) -> Refusal {
    Refusal::Token(OAuthError::new(ErrorCode::InvalidToken, "the initial access token is invalid").with_detail(detail))
}

/// RFC 7592 §2: the registration access token is missing or not this client's.
fn bad_registration_token(detail: &str) -> Refusal {
    Refusal::Token(
        OAuthError::new(ErrorCode::InvalidToken, "the registration access token is invalid").with_detail(detail),
    )
}

fn server(e: impl std::fmt::Display) -> Refusal {
    Refusal::Server(server_error(e))
}

/// RFC 7591 §3.1: the metadata is a JSON object in an `application/json` body.
fn read_metadata(headers: &HeaderMap, body: &[u8]) -> Result<Value, Refusal> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("application/json"));
    let invalid = |d: String| {
        Refusal::Metadata(MetadataError {
            code: dcr::MetadataErrorCode::InvalidClientMetadata,
            description: d,
        })
    };
    if !json {
        return Err(invalid("send the client metadata as application/json".into()));
    }
    if body.len() > policy::REGISTRATION_MAX_BODY_BYTES {
        return Err(invalid(format!(
            "the client metadata is larger than {} bytes",
            policy::REGISTRATION_MAX_BODY_BYTES
        )));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| invalid(format!("the body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(invalid("the client metadata must be a JSON object".into()));
    }
    Ok(value)
}

/// The metadata checked under `policy`, against the server's scopes and APIs.
async fn check(state: &AppState, metadata: &Value, policy: &Policy) -> Result<dcr::Registered, Refusal> {
    let store = &state.db.store;
    let known = crate::store::scope_names(store.as_ref()).await.map_err(server)?;
    let apis = store.apis().await.map_err(server)?;
    let ctx = dcr::Context {
        issuer: &state.issuer,
        known_scopes: &known,
        apis: &apis,
    };
    Ok(dcr::check(metadata, policy, &ctx)?)
}

fn client_uri(state: &AppState, client_id: &str) -> String {
    format!("{}/register/{client_id}", state.issuer.trim_end_matches('/'))
}

/// `POST /register` (RFC 7591 §3.1). In `token` mode, and in `open` mode when one is
/// presented, an initial access token (Bearer) decides the policy; without one, `open`
/// mode's policy: public clients only, the open scopes, at most
/// [`policy::REGISTRATION_OPEN_MAX_CLIENTS`] such clients.
pub async fn register(
    State(state): State<AppState>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let peer = peer.map(|axum::Extension(axum::extract::ConnectInfo(addr))| addr.ip());
    match register_inner(&state, &headers, &body, peer, crate::now()).await {
        Ok(res) => res,
        Err(refusal) => refusal.into_response(),
    }
}

async fn register_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    peer: Option<std::net::IpAddr>,
    now: i64,
) -> Result<Response, Refusal> {
    let store = &state.db.store;
    let settings = store.registration_settings().await.map_err(server)?;
    let mode: RegistrationMode = settings.mode.parse().unwrap_or_default();
    let presented = bearer_token(headers);
    // (token hash, its id, the policy)
    let grant = match (mode, presented) {
        (RegistrationMode::Off, _) => return Err(Refusal::Off),
        // RFC 7591 §3: the initial access token is a Bearer token (RFC 6750).
        (RegistrationMode::Token, None) => return Err(bad_token("an initial access token is required")),
        (_, Some(token)) => {
            let hash = hash_secret(token);
            let t = store.initial_token_by_hash(&hash).await.map_err(server)?;
            let t = match t {
                None => return Err(bad_token("unknown initial access token")),
                Some(t) if t.revoked_at.is_some() => return Err(bad_token("revoked initial access token")),
                Some(t) if t.expires_at <= now => return Err(bad_token("expired initial access token")),
                Some(t) if t.uses_left <= 0 => return Err(bad_token("used-up initial access token")),
                Some(t) => t,
            };
            let policy = Policy {
                scopes: t.scopes,
                allow_confidential: t.allow_confidential,
                open: false,
            };
            Some((hash, t.id, policy))
        }
        (RegistrationMode::Open, None) => None,
    };
    let policy = match &grant {
        Some((_, _, p)) => p.clone(),
        None => Policy {
            scopes: settings.open_scopes.clone(),
            allow_confidential: false,
            open: true,
        },
    };
    // An anonymous registration (open mode, no token) counts against the per-address
    // allowance of new authorization requests: a caller cannot register (and delete, and
    // register again: two audit events each) without limit.
    if grant.is_none() && !state.pending_limiter.allow(peer) {
        return Err(Refusal::Busy);
    }
    let metadata = read_metadata(headers, body)?;
    // Everything is checked before a use of the token is taken.
    let registered = check(state, &metadata, &policy).await?;
    if let Some((hash, _, _)) = &grant {
        // One statement: concurrent registrations cannot exceed the token's uses.
        if !store.use_initial_token(hash, now).await.map_err(server)? {
            return Err(bad_token("initial access token used up (concurrently)"));
        }
    }
    let client_id = random_id();
    let secret = registered.uses_secret.then(ClientSecret::generate);
    let registration_token = random_token();
    let u = registered.update;
    let client = NewClient {
        client_id: client_id.clone(),
        name: u.name,
        secret_hash: secret.as_ref().map(ClientSecret::hash),
        redirect_uris: u.redirect_uris,
        scopes: u.scopes,
        is_public: registered.is_public,
        settings: u.settings,
    };
    let record = DynamicClient {
        client_id: client_id.clone(),
        registration_token_hash: hash_secret(&registration_token),
        initial_token_id: grant.as_ref().map(|(_, id, _)| id.clone()),
        policy_scopes: policy.scopes.clone(),
        allow_confidential: policy.allow_confidential,
        registered_at: now,
        used_at: None,
    };
    let cap = grant.is_none().then_some(policy::REGISTRATION_OPEN_MAX_CLIENTS);
    if !store
        .register_dynamic_client(client, &record, cap)
        .await
        .map_err(server)?
    {
        return Err(Refusal::Full);
    }
    let client = store
        .client_by_id(&client_id)
        .await
        .map_err(server)?
        .ok_or_else(|| server("the client just registered is gone"))?;
    // The audit log: who registered what (nobody signed in: the token, or open mode).
    let event = NewEvent::new(Kind::ClientCreated, Actor::Anonymous, now)
        .client(&client_id)
        .subject(&client_id)
        .detail(
            json!({
                "name": client.name,
                "public": client.is_public,
                "dynamic": true,
                "initial_token": record.initial_token_id,
            })
            .to_string(),
        );
    tessera_services::audit::record(store.as_ref(), event).await;
    // RFC 7591 §3.2.1: 201 with the registered metadata and the credentials.
    let mut body = client_metadata(&client);
    if let Some(secret) = &secret {
        body.insert("client_secret".into(), json!(secret.expose()));
    }
    body.insert("registration_access_token".into(), json!(registration_token));
    body.insert("registration_client_uri".into(), json!(client_uri(state, &client_id)));
    Ok(no_store(
        (StatusCode::CREATED, Json(Value::Object(body))).into_response(),
    ))
}

/// RFC 7592 §2: the registration access token (Bearer) for this very client; anything
/// else, a client registered by an administrator included, is 401 `invalid_token`.
async fn managed(state: &AppState, client_id: &str, headers: &HeaderMap) -> Result<(Client, DynamicClient), Refusal> {
    let store = &state.db.store;
    let token =
        bearer_token(headers).ok_or_else(|| bad_registration_token("a registration access token is required"))?;
    let Some(d) = store.dynamic_client(client_id).await.map_err(server)? else {
        return Err(bad_registration_token("not a dynamically registered client"));
    };
    if !verify_secret(token, &d.registration_token_hash) {
        return Err(bad_registration_token("wrong registration access token"));
    }
    match store.client_by_id(client_id).await.map_err(server)? {
        Some(c) => Ok((c, d)),
        None => Err(bad_registration_token("the client is gone")),
    }
}

/// RFC 7592 §3: what is registered (the secret and the registration access token are
/// stored hashed, so they are not repeated).
fn configuration(state: &AppState, client: &Client) -> Map<String, Value> {
    let mut body = client_metadata(client);
    body.insert(
        "registration_client_uri".into(),
        json!(client_uri(state, &client.client_id)),
    );
    body
}

/// `GET /register/{client_id}` (RFC 7592 §2.1).
pub async fn read(State(state): State<AppState>, Path(client_id): Path<String>, headers: HeaderMap) -> Response {
    match managed(&state, &client_id, &headers).await {
        Ok((client, _)) => no_store(Json(Value::Object(configuration(&state, &client))).into_response()),
        Err(r) => r.into_response(),
    }
}

/// `PUT /register/{client_id}` (RFC 7592 §2.2): the metadata replaces what is registered,
/// checked as at registration under the policy the client registered with.
pub async fn update(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match update_inner(&state, &client_id, &headers, &body).await {
        Ok(res) => res,
        Err(r) => r.into_response(),
    }
}

async fn update_inner(
    state: &AppState,
    client_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Refusal> {
    let (client, d) = managed(state, client_id, headers).await?;
    let metadata = read_metadata(headers, body)?;
    let invalid = |d: &str| {
        Refusal::Metadata(MetadataError {
            code: dcr::MetadataErrorCode::InvalidClientMetadata,
            description: d.to_owned(),
        })
    };
    // RFC 7592 §2.2: the request MUST carry the client's id, which cannot change.
    if metadata.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err(invalid("client_id: give this client's client_id; it cannot change"));
    }
    // RFC 7592 §2.2: a client_secret sent must be the current one; it is never changed here.
    if let Some(sent) = metadata.get("client_secret").filter(|v| !v.is_null()) {
        let matches = match (sent.as_str(), &client.secret_hash) {
            (Some(s), Some(hash)) => verify_secret(s, hash),
            _ => false,
        };
        if !matches {
            return Err(invalid("client_secret: not this client's secret"));
        }
    }
    let policy = Policy {
        scopes: d.policy_scopes.clone(),
        allow_confidential: d.allow_confidential,
        open: d.initial_token_id.is_none(),
    };
    let registered = check(state, &metadata, &policy).await?;
    let new_method = registered
        .update
        .settings
        .token_endpoint_auth_method
        .parse()
        .unwrap_or(tessera_core::model::ClientAuthMethod::None);
    if registered.is_public != client.is_public || !same_method_family(client.auth_method(), new_method) {
        return Err(invalid(&format!(
            "token_endpoint_auth_method: cannot change from {} to {new_method}; register a new client instead",
            client.auth_method()
        )));
    }
    let store = &state.db.store;
    if !store
        .update_client(client_id, &registered.update)
        .await
        .map_err(server)?
    {
        return Err(bad_registration_token("the client is gone"));
    }
    let client = store
        .client_by_id(client_id)
        .await
        .map_err(server)?
        .ok_or_else(|| bad_registration_token("the client is gone"))?;
    Ok(no_store(
        Json(Value::Object(configuration(state, &client))).into_response(),
    ))
}

/// `DELETE /register/{client_id}` (RFC 7592 §2.3): 204; its grants go with it.
pub async fn delete(State(state): State<AppState>, Path(client_id): Path<String>, headers: HeaderMap) -> Response {
    let result = async {
        managed(&state, &client_id, &headers).await?;
        state.db.store.delete_client(&client_id).await.map_err(server)?;
        let event = NewEvent::new(Kind::ClientDeleted, Actor::Anonymous, crate::now())
            .client(&client_id)
            .subject(&client_id)
            .detail(json!({ "dynamic": true, "by": "registration access token" }).to_string());
        tessera_services::audit::record(state.db.store.as_ref(), event).await;
        Ok::<_, Refusal>(no_store(StatusCode::NO_CONTENT.into_response()))
    }
    .await;
    match result {
        Ok(res) => res,
        Err(r) => r.into_response(),
    }
}
