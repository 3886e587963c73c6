//! `POST /device_authorization` (RFC 8628 §3.1, §3.2): a device without a browser asks
//! for a device code (which it polls `/token` with) and a user code (which the user
//! types at `/device` on a phone or computer). Clients authenticate as at `/token`;
//! public clients identify themselves with `client_id`.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};
use tessera_core::device::{self, DeviceRequest};
use tessera_core::error::{ErrorCode, OAuthError};
use tessera_core::model::GrantType;
use tessera_core::policy::{DEVICE_CODE_LIFETIME, DEVICE_POLL_INTERVAL, MAX_DEVICE_CODES, MAX_DEVICE_CODES_PER_CLIENT};
use tessera_core::scope;
use tessera_core::secret::{hash_secret, random_token};
use tessera_core::store::{NewDeviceCode, StoreError};

use crate::http::client_auth::{authenticate_client, has_authorization};
use crate::http::form::read_form;
use crate::http::response::{no_store, server_error, token_error};
use crate::web::AppState;

/// Draws of a user code before giving up: a collision among at most
/// [`MAX_DEVICE_CODES`] live codes in 20^8 is one in 2.5 million, so a second draw is rare
/// and a fourth never needed.
const USER_CODE_DRAWS: usize = 4;

/// RFC 8628 §3.2: 200 with the codes; errors as at the token endpoint (RFC 6749 §5.2).
/// Neither may be cached.
pub async fn device_authorization(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = crate::now();
    let peer = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    match start(&state, &headers, &body, peer, now).await {
        Ok(body) => no_store(Json(body).into_response()),
        Err(e) => token_error(&e, has_authorization(&headers)),
    }
}

async fn start(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    peer: Option<IpAddr>,
    now: i64,
) -> Result<Value, OAuthError> {
    // Bounded as at every endpoint (policy::MAX_FORM_BYTES, MAX_PARAMS).
    let pairs = read_form(headers, body)?;
    // RFC 8628 §3.1: client authentication as at the token endpoint (RFC 6749 §3.2.1);
    // a public client identifies itself with client_id.
    let client = authenticate_client(state, headers, &pairs).await?;
    // RFC 8628 §3.1 / RFC 6749 §5.2: a client not registered for the device grant.
    if !client.allows_grant(GrantType::DeviceCode) {
        return Err(
            OAuthError::new(ErrorCode::UnauthorizedClient, "grant type not allowed for this client")
                .with_detail(format!("{} lacks the device_code grant", client.client_id)),
        );
    }
    // As /authorize: the custom scopes this client may ask for.
    let custom = super::authorize::custom_scopes_of(state, &client)
        .await
        .map_err(server_error)?;
    let known_scope = |s: &str| scope::is_builtin(s) || custom.iter().any(|c| c == s);
    let request = DeviceRequest::parse(&pairs, &client, known_scope)?;
    // RFC 8707 §2: each resource a registered API this client may use.
    crate::http::resources::check_allowed(state, &client, &request.resources).await?;
    // A public client's request is anonymous: it counts against the same per-address
    // allowance as a new pending request at /authorize and a push at /par.
    let busy = || {
        OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "too many requests; try again shortly",
        )
    };
    if client.is_public && !state.pending_limiter.allow(peer) {
        return Err(busy().with_detail("device authorization requests per address over the limit"));
    }

    let device_code = random_token();
    let expires_at = now.saturating_add(DEVICE_CODE_LIFETIME);
    for _ in 0..USER_CODE_DRAWS {
        let user_code = device::generate_user_code();
        let new = NewDeviceCode {
            device_code_hash: hash_secret(&device_code),
            user_code_hash: device::user_code_hash(&user_code),
            user_code_hint: device::user_code_hint(&user_code),
            client_id: client.client_id.clone(),
            scopes: request.scopes.clone(),
            resources: request.resources.clone(),
            interval: DEVICE_POLL_INTERVAL,
            created_at: now,
            expires_at,
        };
        match state
            .db
            .store
            .put_device_code(&new, MAX_DEVICE_CODES_PER_CLIENT, MAX_DEVICE_CODES)
            .await
        {
            Ok(true) => return Ok(response(&state.issuer, &device_code, &user_code)),
            // Per client, or in all: the cap of codes in flight (policy.rs). The RFC names
            // no error for this; temporarily_unavailable (503) says "try again later".
            Ok(false) => {
                tracing::warn!(client_id = %client.client_id, "device codes in flight at the cap");
                return Err(busy().with_detail("device codes in flight at the cap"));
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(server_error(e)),
        }
    }
    Err(server_error("no free user code after several draws"))
}

/// RFC 8628 §3.2: the device code, the user code as shown (§6.1), where to enter it,
/// the same with the code filled in (§3.3.1), the lifetime and the polling interval.
fn response(issuer: &str, device_code: &str, user_code: &str) -> Value {
    let base = issuer.trim_end_matches('/');
    let shown = device::display_user_code(user_code);
    json!({
        "device_code": device_code,
        "user_code": shown,
        "verification_uri": format!("{base}/device"),
        "verification_uri_complete": format!("{base}/device?user_code={shown}"),
        "expires_in": DEVICE_CODE_LIFETIME,
        "interval": DEVICE_POLL_INTERVAL,
    })
}
