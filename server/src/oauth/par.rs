//! `POST /par`, pushed authorization requests (RFC 9126): the client sends its
//! authorization request straight to us, authenticated as at the token endpoint; it gets
//! exactly the checks `/authorize` makes, now, with errors as JSON to the client; and it
//! is kept for a minute under a `request_uri` the browser then brings to `/authorize`.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;
use tessera_core::authorize::check_pushed_parameters;
use tessera_core::error::{AuthorizeError, ErrorCode, OAuthError};
use tessera_core::params;
use tessera_core::policy::{MAX_PUSHED_PER_CLIENT, PUSHED_REQUEST_LIFETIME};
use tessera_core::store::Client;
use tessera_services::pushed;

use crate::http::client_auth::{authenticate_client, has_authorization};
use crate::http::dpop;
use crate::http::form::read_form;
use crate::http::response::{no_store, server_error, token_error};
use crate::web::AppState;

/// RFC 9126 §2.2: 201 with `request_uri` and `expires_in`; §2.3: errors as at the token
/// endpoint. Neither may be cached.
pub async fn par(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = crate::now();
    let peer = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    match push(&state, &headers, &body, peer, now).await {
        Ok(request_uri) => {
            let body = json!({ "request_uri": request_uri, "expires_in": PUSHED_REQUEST_LIFETIME });
            let res = no_store((StatusCode::CREATED, Json(body)).into_response());
            if headers.contains_key(dpop::DPOP) {
                dpop::with_fresh_nonce(&state, res, now)
            } else {
                res
            }
        }
        Err(e) => {
            let res = token_error(&e, has_authorization(&headers));
            // RFC 9449 §8: use_dpop_nonce comes with the nonce to retry with.
            if e.code == ErrorCode::UseDpopNonce {
                dpop::with_fresh_nonce(&state, res, now)
            } else {
                res
            }
        }
    }
}

async fn push(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    peer: Option<IpAddr>,
    now: i64,
) -> Result<String, OAuthError> {
    // The form is bounded as at every endpoint (policy::MAX_FORM_BYTES, MAX_PARAMS).
    let form = read_form(headers, body)?;
    // RFC 9126 §2: the client authenticates as it would at the token endpoint, with any
    // method it may use; a public client identifies itself with client_id.
    let client = authenticate_client(state, headers, &form).await?;
    let pairs = authorization_parameters(&client, form)?;
    check_pushed_parameters(&pairs)?;
    // RFC 9126 §2.1: the same validation as /authorize, now; every refusal goes to the
    // client as JSON (§2.3), never as a redirect.
    let mut request = super::authorize::validate(state, pairs, Some(&client), now)
        .await
        .map_err(AuthorizeError::into_error)?;
    // RFC 9449 §10.1: a DPoP proof at the push binds the code to its key, as `dpop_jkt`
    // does (and must agree with it when both are sent). Checked last: it records the jti.
    let proof_jkt = dpop::verified_jkt(state, headers, "POST", "/par", now).await?;
    request.dpop_jkt = tessera_core::dpop::par_binding(request.dpop_jkt.as_deref(), proof_jkt.as_deref())?;
    // A public client's push is anonymous: it counts against the same per-address
    // allowance as a new pending request at /authorize (a confidential client pushes from
    // its own server, for all its users, and is not limited by address).
    let busy = || {
        OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "too many requests; try again shortly",
        )
    };
    if client.is_public && !state.pending_limiter.allow(peer) {
        return Err(busy().with_detail("pushed requests per address over the limit"));
    }
    pushed::create(state.db.store.as_ref(), &request, now, MAX_PUSHED_PER_CLIENT)
        .await
        .map_err(server_error)?
        .ok_or_else(|| {
            tracing::warn!(client_id = %client.client_id, "pushed authorization requests at the per-client cap");
            busy().with_detail("pushed requests per client at the cap")
        })
}

/// The authorization request's parameters as pushed: the one place they come from.
/// A signed `request` object (RFC 9101) among them is unpacked by the validation, as at
/// `/authorize`: its parameters then replace the form's.
fn authorization_parameters(
    client: &Client,
    mut form: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, OAuthError> {
    // RFC 9126 §2.1: client_id belongs to the authorization request; it must name the
    // client that authenticated, and is taken from the authentication when absent (a
    // client using HTTP Basic or an assertion need not repeat it).
    match params::get(&form, "client_id") {
        Some(id) if id != client.client_id => {
            return Err(OAuthError::invalid_request(
                "client_id does not match the authenticated client",
            ))
        }
        Some(_) => {}
        None => {
            form.retain(|(k, _)| k != "client_id");
            form.push(("client_id".to_owned(), client.client_id.clone()));
        }
    }
    Ok(form)
}
