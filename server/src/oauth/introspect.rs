//! `POST /introspect` (RFC 7662): tells an authenticated confidential client whether a
//! token is active, and what it is for. Anything not active is `{"active": false}` and
//! nothing more (§2.2: no hint why).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use tessera_core::error::{ErrorCode, OAuthError};
use tessera_core::params;
use tessera_core::secret::hash_secret;
use tessera_core::store::Client;

use crate::http::bearer::authorize_bearer;
use crate::http::client_auth::{authenticate_client, has_authorization};
use crate::http::form::read_form;
use crate::http::response::{no_store, server_error, token_error};
use crate::web::AppState;

pub async fn introspect(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let now = crate::now();
    match introspect_inner(&state, &headers, &body, now).await {
        Ok(body) => no_store(Json(body).into_response()),
        Err(e) => token_error(&e, has_authorization(&headers)),
    }
}

fn inactive() -> Value {
    json!({ "active": false })
}

async fn introspect_inner(state: &AppState, headers: &HeaderMap, body: &[u8], now: i64) -> Result<Value, OAuthError> {
    let pairs = read_form(headers, body)?;
    let client = authenticate_client(state, headers, &pairs).await?;
    // RFC 7662 §2.1 / §4: the caller must be authorized; only confidential clients, which
    // hold a credential, are (a public client could be anyone).
    if client.is_public {
        return Err(OAuthError::invalid_client("client authentication failed")
            .with_detail("public client at the introspection endpoint"));
    }
    if params::duplicated(&pairs, &["token", "token_type_hint"]).is_some() {
        return Err(OAuthError::invalid_request("repeated parameter"));
    }
    // RFC 7662 §2.1: token is REQUIRED.
    let token = params::get(&pairs, "token").ok_or_else(|| OAuthError::invalid_request("missing token"))?;
    if token.contains('.') {
        access_token(state, token, now).await
    } else {
        refresh_token(state, &client, token, now).await
    }
}

/// An access token of any client: resource servers introspect tokens issued to others.
/// Live means what it means at the sample resource ([`authorize_bearer`]): verified, not
/// revoked, and its user (if any) still active; only the audience is not checked.
async fn access_token(state: &AppState, token: &str, now: i64) -> Result<Value, OAuthError> {
    let (claims, user) = match authorize_bearer(state, Some(token), None, now).await {
        Ok(found) => found,
        Err(e) if e.code == ErrorCode::ServerError => return Err(e),
        Err(_) => return Ok(inactive()),
    };
    let username = user.map(|u| u.username);
    // RFC 7662 §2.2.
    let mut body = json!({
        "active": true,
        "scope": claims.scope,
        "client_id": claims.client_id,
        // RFC 9449 §6.2: a DPoP-bound token is of type DPoP and says its key in cnf.
        "token_type": crate::crypto::issue::token_type(claims.jkt()),
        "exp": claims.exp,
        "iat": claims.iat,
        "sub": claims.sub,
        "aud": claims.aud,
        "iss": claims.iss,
        "jti": claims.jti,
    });
    if let Some(username) = username {
        body["username"] = json!(username);
    }
    if let Some(cnf) = &claims.cnf {
        body["cnf"] = json!(cnf);
    }
    Ok(body)
}

/// A refresh token only for the client it was issued to: it is that client's secret.
async fn refresh_token(state: &AppState, client: &Client, token: &str, now: i64) -> Result<Value, OAuthError> {
    let record = state
        .db
        .store
        .refresh_token(&hash_secret(token))
        .await
        .map_err(server_error)?;
    Ok(match record {
        Some(r) if r.client_id == client.client_id && !r.rotated && !r.revoked && now < r.expires_at => json!({
            "active": true,
            "scope": r.scopes.to_string(),
            "client_id": r.client_id,
            "token_type": "refresh_token",
            "exp": r.expires_at,
            "sub": r.user_id,
        }),
        _ => inactive(),
    })
}
