//! The authorization endpoint (RFC 6749 §4.1.1), GET and POST, and `/authorize/resume`,
//! where the login and consent pages hand back. The core validates and decides; this
//! module stores what is pending, issues codes and turns decisions into redirects.

use axum::body::Bytes;
use axum::extract::{Query, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tessera_core::authorize::{self, Authentication, AuthorizeDecision, AuthorizeRequest, Pending};
use tessera_core::error::{AuthorizeError, ErrorCode, OAuthError};
use tessera_core::model::GrantType;
use tessera_core::params;
use tessera_core::scope;
use tessera_core::secret::{hash_secret, random_id, random_token};
use tessera_core::store::Client;
use tessera_core::token::CodeRecord;
use tessera_core::types::ScopeSet;
use tessera_services::{pending, session as signed_in, ServiceError};
use tower_sessions::Session;

use crate::http::form::{read_form, read_query};
use crate::http::request_object::verify_request_object;
use crate::http::response::{error_page, server_error};
use crate::web::AppState;

fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            let mut res = StatusCode::FOUND.into_response();
            res.headers_mut().insert(header::LOCATION, v);
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(_) => error_page(&server_error("redirect location is not a valid header")),
    }
}

/// Errors either go back to the client (verified redirect URI) or are shown to the user.
fn refuse(error: AuthorizeError, issuer: &str) -> Response {
    match error.redirect_url(issuer) {
        Some(url) => {
            tracing::info!(
                error = error.error().code.as_str(),
                "authorization request refused; redirecting to client"
            );
            found(&url)
        }
        None => error_page(error.error()),
    }
}

/// The caller's address (the TCP peer), when the server runs with it.
fn peer(extensions: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
}

pub async fn get(
    State(state): State<AppState>,
    session: Session,
    extensions: axum::http::Extensions,
    RawQuery(query): RawQuery,
) -> Response {
    // Parameters too large, too many or not decodable are invalid_request, shown to the
    // user: no redirect URI is verified yet.
    match read_query(query.as_deref()) {
        Ok(pairs) => handle(&state, &session, peer(&extensions), pairs).await,
        Err(e) => error_page(&e),
    }
}

/// RFC 6749 §3.1: the endpoint also accepts POST (form-encoded), as OIDC Core §3.1.2.1 requires.
pub async fn post(
    State(state): State<AppState>,
    session: Session,
    extensions: axum::http::Extensions,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    // OIDC Core §3.1.2.1: a POST carries the parameters form-serialized (HTML 4.01
    // §17.13.4.1); any other body is not read as one. No redirect URI is verified yet.
    match read_form(&headers, &body) {
        Ok(pairs) => handle(&state, &session, peer(&extensions), pairs).await,
        Err(e) => error_page(&e),
    }
}

/// RFC 9101 §6.3: with a `request` object, the request's parameters are those inside it
/// only (the `client_id` outside, already used to find the client, must be the object's);
/// without one, `pairs` as sent. Also says whether the request was signed. A bad object is
/// shown to the user: the redirect URI inside it cannot be trusted.
async fn unpack_request_object(
    state: &AppState,
    client: Option<&Client>,
    pairs: Vec<(String, String)>,
    now: i64,
) -> Result<(Vec<(String, String)>, bool), AuthorizeError> {
    let show = AuthorizeError::ShowToUser;
    if params::duplicated(&pairs, &["request", "request_uri"]).is_some() {
        return Err(show(OAuthError::invalid_request("repeated parameter")));
    }
    let Some(jws) = params::get(&pairs, "request") else {
        return Ok((pairs, false));
    };
    // RFC 9101 §5: one or the other.
    if params::get(&pairs, "request_uri").is_some() {
        return Err(show(OAuthError::invalid_request("request and request_uri together")));
    }
    // An unknown client is the core's to report.
    let Some(client) = client else {
        return Ok((pairs, false));
    };
    let inner = verify_request_object(state, client, jws, now).await.map_err(show)?;
    Ok((inner, true))
}

/// The limits on pending requests (#18 item 1), from the policy file.
pub use tessera_core::policy::{MAX_PENDING_PER_CLIENT, PENDING_PER_ADDRESS_PER_MINUTE};

async fn handle(
    state: &AppState,
    session: &Session,
    peer: Option<std::net::IpAddr>,
    pairs: Vec<(String, String)>,
) -> Response {
    let now = crate::now();
    let client_id = match authorize::client_id(&pairs) {
        Ok(id) => id,
        Err(e) => return refuse(e, &state.issuer),
    };
    // RFC 9126 §4: a request_uri of ours names a pushed request, which is all the request
    // there is; any other parameter sent with it (client_id aside) is ignored.
    match authorize::pushed_request_id(&pairs) {
        Ok(Some(id)) => return pushed(state, session, peer, &client_id, &id, now).await,
        Ok(None) => {}
        Err(e) => return refuse(e, &state.issuer),
    }
    // A URL client_id is fetched as a client metadata document; its refusals are shown to
    // the user: no redirect URI is verified.
    let client = match crate::http::client_metadata::client(state, &client_id, now).await {
        Ok(c) => c,
        Err(e) => return error_page(&e),
    };
    let validated = validate(state, pairs, client.as_ref(), now).await;
    // RFC 9126 §5, §6: when the server or this client requires PAR, a plain request is
    // refused (invalid_request, redirected once the redirect URI is verified).
    let par_required = state.require_par || client.as_ref().is_some_and(|c| c.requires_par());
    if par_required {
        return refuse(authorize::pushed_request_required(validated), &state.issuer);
    }
    let request = match validated {
        Ok(r) => r,
        Err(e) => return refuse(e, &state.issuer),
    };
    start(state, session, peer, request, now).await
}

/// The custom scopes that may appear in `client`'s requests. Custom scopes are known while
/// their row exists; they are read only for a client that lists any, so the usual
/// OIDC-only client costs no extra query.
pub(crate) async fn custom_scopes_of(
    state: &AppState,
    client: &Client,
) -> Result<Vec<String>, tessera_core::store::StoreError> {
    if !client.scopes.iter().any(|s| !scope::is_builtin(s)) {
        return Ok(Vec::new());
    }
    Ok(state
        .db
        .store
        .custom_scopes()
        .await?
        .into_iter()
        .map(|s| s.name)
        .collect())
}

/// The one validation of an authorization request's parameters, at `/authorize` and at
/// `/par` alike (RFC 9126 §2.1: a pushed request is checked as `/authorize` would): the
/// core's rules, with the server's scopes and PKCE policy, and the client's grant types.
/// Whatever the request asks for is in the returned [`AuthorizeRequest`], which both
/// endpoints store as it is. A signed request object (RFC 9101) is unpacked here, so both
/// endpoints accept one.
pub(crate) async fn validate(
    state: &AppState,
    pairs: Vec<(String, String)>,
    client: Option<&Client>,
    now: i64,
) -> Result<AuthorizeRequest, AuthorizeError> {
    let (pairs, signed) = unpack_request_object(state, client, pairs, now).await?;
    let requires_pkce = client.is_none_or(|c| c.requires_pkce());
    let custom = match client {
        Some(c) => custom_scopes_of(state, c)
            .await
            .map_err(|e| AuthorizeError::ShowToUser(server_error(e)))?,
        None => Vec::new(),
    };
    // The core also requires the scope in the client's own list.
    let known_scope = |s: &str| scope::is_builtin(s) || custom.iter().any(|c| c == s);
    let request = AuthorizeRequest::validate(&pairs, client, requires_pkce, known_scope, now)?;
    // RFC 9101 §10.5: this client's requests must come as signed request objects.
    if !signed && client.is_some_and(|c| c.settings.require_signed_request_object) {
        let e = OAuthError::invalid_request("this client must send a signed request object")
            .with_detail("require_signed_request_object");
        return Err(request.error(e));
    }
    if !client.is_some_and(|c| c.allows_grant(GrantType::AuthorizationCode)) {
        let e = OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "client may not use the authorization code grant",
        );
        return Err(request.error(e));
    }
    // RFC 8707 §2: each resource a registered API the client may use, else invalid_target
    // (the redirect URI is verified by now; at /par the error goes to the client as JSON).
    if let Some(c) = client {
        if let Err(e) = crate::http::resources::check_allowed(state, c, &request.resources).await {
            if e.code == ErrorCode::ServerError {
                return Err(AuthorizeError::ShowToUser(e));
            }
            return Err(request.error(e));
        }
    }
    Ok(request)
}

/// `/authorize?client_id=..&request_uri=urn:ietf:params:oauth:request_uri:ID`: takes the
/// request `client_id` pushed under ID (one use, RFC 9126 §4) and goes on with it as with
/// any new request. Consumed here, as node-oidc-provider does: from now on it is an
/// ordinary pending request with its own opaque id, so reloading the login page works
/// while the `request_uri` cannot be replayed.
async fn pushed(
    state: &AppState,
    session: &Session,
    peer: Option<std::net::IpAddr>,
    client_id: &str,
    id: &str,
    now: i64,
) -> Response {
    let request = match tessera_services::pushed::take(state.db.store.as_ref(), id, client_id, now).await {
        Ok(Some(request)) => request,
        // Unknown, expired, used, or pushed by another client: shown, never redirected
        // (nothing says which redirect URI this browser may be sent to).
        Ok(None) => {
            return error_page(
                &OAuthError::new(
                    ErrorCode::InvalidRequestUri,
                    "request_uri is invalid, expired or already used",
                )
                .with_detail(format!("no live pushed request for client_id {client_id:?}")),
            )
        }
        Err(e) => return error_page(&server_error(e)),
    };
    // RFC 9126 §4: checked when pushed; checked again against the client as it is now
    // (an administrator may have changed it since), as a resumed request is.
    let client = match state.db.store.client_by_id(&request.client_id).await {
        Ok(client) => client,
        Err(e) => return error_page(&server_error(e)),
    };
    if let Err(e) = request.recheck(client.as_ref()) {
        return refuse(e, &state.issuer);
    }
    // RFC 8707 §2: each resource a registered API the client may use, else invalid_target
    // (the redirect URI is verified by now).
    if let Some(c) = client.as_ref() {
        if let Err(e) = crate::http::resources::check_allowed(state, c, &request.resources).await {
            if e.code == ErrorCode::ServerError {
                return error_page(&e);
            }
            return refuse(request.error(e), &state.issuer);
        }
    }
    start(state, session, peer, request, now).await
}

/// A request just validated (or taken from its push) and nothing decided yet: on to
/// sign-in, consent or the code.
async fn start(
    state: &AppState,
    session: &Session,
    peer: Option<std::net::IpAddr>,
    request: AuthorizeRequest,
    now: i64,
) -> Response {
    let pending = Pending {
        request,
        interaction: Default::default(),
    };
    proceed(state, session, pending, New(peer), now).await
}

/// Where a request being decided comes from: new at `/authorize` (from this address), or
/// pending under this id.
enum Origin {
    New(Option<std::net::IpAddr>),
    Resumed(String),
}
use Origin::{New, Resumed};

#[derive(Deserialize)]
pub struct ResumeParams {
    request: String,
}

/// Where the login and consent pages send the browser after recording a decision.
pub async fn resume(State(state): State<AppState>, session: Session, Query(p): Query<ResumeParams>) -> Response {
    let now = crate::now();
    let pending = match pending::load(state.db.store.as_ref(), &p.request, now).await {
        Ok(Some(pending)) => pending,
        Ok(None) => return error_page(&gone()),
        Err(e) => return error_page(&server_error(e)),
    };
    // #18 item 9: the client may have changed while the user signed in.
    let client = match state.db.store.client_by_id(&pending.request.client_id).await {
        Ok(client) => client,
        Err(e) => return error_page(&server_error(e)),
    };
    if let Err(e) = pending.request.recheck(client.as_ref()) {
        forget(&state, Some(&p.request)).await;
        return refuse(e, &state.issuer);
    }
    // RFC 8707 §2: the resources too (an API removed, or no longer allowed the client).
    if let Some(c) = client.as_ref() {
        if let Err(e) = crate::http::resources::check_allowed(&state, c, &pending.request.resources).await {
            if e.code == ErrorCode::ServerError {
                return error_page(&e);
            }
            forget(&state, Some(&p.request)).await;
            return refuse(pending.request.error(e), &state.issuer);
        }
    }
    proceed(&state, &session, pending, Resumed(p.request), now).await
}

/// The signed-in user, if the session has one who still speaks for them (the sign-in
/// layer's rule: exists, enabled, password unchanged since), and what they allowed
/// `client_id` before (one round trip for both).
async fn authentication(
    state: &AppState,
    session: &Session,
    client_id: &str,
) -> Result<(Option<Authentication>, Option<ScopeSet>), ServiceError> {
    let Some(record) = signed_in::sign_in_record(session).await? else {
        return Ok((None, None));
    };
    match state.db.store.user_and_consent(&record.user_id, client_id).await? {
        Some((user, consent)) if record.speaks_for(&user) => Ok((
            Some(Authentication {
                user_id: user.id,
                auth_time: record.auth_time,
            }),
            consent.map(|c| c.scopes),
        )),
        _ => Ok((None, None)),
    }
}

async fn proceed(state: &AppState, session: &Session, pending: Pending, origin: Origin, now: i64) -> Response {
    match step(state, session, pending, origin, now).await {
        Ok(res) => res,
        Err(e) => error_page(&e),
    }
}

async fn step(
    state: &AppState,
    session: &Session,
    pending: Pending,
    origin: Origin,
    now: i64,
) -> Result<Response, OAuthError> {
    let store = &state.db.store;
    let (id, peer) = match origin {
        Resumed(id) => (Some(id), None),
        New(peer) => (None, peer),
    };
    let req = &pending.request;
    let (auth, granted) = authentication(state, session, &req.client_id)
        .await
        .map_err(server_error)?;
    // OIDC Core §3.1.2.2: with prompt=none, an id_token_hint naming someone other than the
    // signed-in user is login_required; one that is not our ID token for this client is
    // invalid_request (#18 item 9).
    if let (Some(hint), true) = (&req.id_token_hint, req.prompt.none) {
        #[derive(serde::Deserialize)]
        struct Hint {
            sub: String,
        }
        let keys = state.keys.keys();
        let named = keys.verify_ignoring_expiry::<Hint>(
            hint,
            crate::crypto::jwt::ID_TOKEN_TYP,
            &state.issuer,
            Some(&req.client_id),
        );
        let refusal = match (named, &auth) {
            (Err(e), _) => Some(
                OAuthError::invalid_request("id_token_hint is not an ID token this server issued to this client")
                    .with_detail(e.to_string()),
            ),
            (Ok(hint), Some(a)) if hint.sub == a.user_id => None,
            (Ok(_), _) => Some(
                OAuthError::new(ErrorCode::LoginRequired, "login required")
                    .with_detail("id_token_hint names another user than the one signed in"),
            ),
        };
        if let Some(e) = refusal {
            forget(state, id.as_deref()).await;
            return Ok(refuse(req.error(e), &state.issuer));
        }
    }
    let decision = authorize::decide(req, auth.as_ref(), granted.as_ref(), &pending.interaction, now);
    let page = match decision {
        Err(e) => {
            forget(state, id.as_deref()).await;
            return Ok(refuse(e, &state.issuer));
        }
        Ok(AuthorizeDecision::Issue { user_id, auth_time }) => {
            // One pending request, one code: whoever deletes it issues; a concurrent or
            // repeated resume finds it gone (#18 item 9).
            if let Some(id) = id.as_deref() {
                if !pending::take(store.as_ref(), id).await.map_err(server_error)? {
                    return Err(gone());
                }
            }
            // RFC 6749 §4.1.2 / RFC 9700 §4.2: a 256-bit one-time code, stored by hash,
            // bound to client, redirect URI, PKCE challenge, nonce, user, scopes and auth time.
            let code = random_token();
            let record = CodeRecord::issue(req, &user_id, auth_time, now);
            store
                .put_code(&hash_secret(&code), &random_id(), &record, now)
                .await
                .map_err(server_error)?;
            return Ok(found(&req.success_url(&code, &state.issuer)));
        }
        Ok(AuthorizeDecision::LoginRequired) => "/login",
        Ok(AuthorizeDecision::ConsentRequired { .. }) => "/consent",
    };
    let id = match id {
        Some(id) => id,
        None => {
            // #18 item 1: what an anonymous caller can leave stored is bounded per address
            // and per client; beyond, the client hears temporarily_unavailable.
            let busy = || {
                refuse(
                    req.error(OAuthError::new(
                        ErrorCode::TemporarilyUnavailable,
                        "too many sign-ins in progress; try again shortly",
                    )),
                    &state.issuer,
                )
            };
            if !state.pending_limiter.allow(peer) {
                return Ok(busy());
            }
            let created = pending::create(store.as_ref(), &pending, now, MAX_PENDING_PER_CLIENT)
                .await
                .map_err(server_error)?;
            let Some(id) = created else {
                tracing::warn!(client_id = %req.client_id, "pending authorization requests at the per-client cap");
                return Ok(busy());
            };
            id
        }
    };
    let mut location = format!("{page}?request={id}");
    if let (Some(hint), "/login") = (&req.login_hint, page) {
        location.push_str("&login_hint=");
        location.extend(url::form_urlencoded::byte_serialize(hint.as_bytes()));
    }
    Ok(found(&location))
}

/// A pending request that is no longer there.
fn gone() -> OAuthError {
    OAuthError::invalid_request(
        "this sign-in request has expired or was already completed; start again from the application",
    )
}

async fn forget(state: &AppState, id: Option<&str>) {
    if let Some(id) = id {
        if let Err(e) = pending::take(state.db.store.as_ref(), id).await {
            tracing::warn!(error = %e, "could not delete a finished authorization request");
        }
    }
}
