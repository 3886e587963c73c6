//! `POST /revoke` (RFC 7009): a client tells us it no longer needs a token. A refresh
//! token takes its whole grant with it (§2.1: "SHOULD also invalidate all access tokens
//! based on the same authorization grant"); an access token is put on the deny list until
//! it expires.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::error::OAuthError;
use tessera_core::params;
use tessera_core::secret::hash_secret;
use tessera_core::store::Client;

use crate::crypto::verify::verify_access_token;
use crate::http::client_auth::{authenticate_client, has_authorization};
use crate::http::form::read_form;
use crate::http::response::{no_store, server_error, token_error};
use crate::web::AppState;

pub async fn revoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let now = crate::now();
    match revoke_inner(&state, &headers, &body, now).await {
        // RFC 7009 §2.2: 200 whether or not there was anything to revoke.
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => token_error(&e, has_authorization(&headers)),
    }
}

async fn revoke_inner(state: &AppState, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), OAuthError> {
    let pairs = read_form(headers, body)?;
    // RFC 7009 §2.1: the client authenticates as at the token endpoint.
    let client = authenticate_client(state, headers, &pairs).await?;
    if params::duplicated(&pairs, &["token", "token_type_hint"]).is_some() {
        return Err(OAuthError::invalid_request("repeated parameter"));
    }
    // RFC 7009 §2.1: token is REQUIRED. token_type_hint is only a hint (§2.1: the server
    // searches all types anyway), so it is not read.
    let token = params::get(&pairs, "token").ok_or_else(|| OAuthError::invalid_request("missing token"))?;

    // Refresh tokens are opaque and ours are never JWTs; a JWT is an access token.
    if !token.contains('.') {
        return revoke_refresh_token(state, &client, token, now).await;
    }
    // RFC 7009 §2.2: an invalid token (bad signature, expired) needs no revocation and
    // gets the same 200. An expired token is already dead.
    match verify_access_token(state, token, None, now).await {
        Ok(claims) if claims.client_id == client.client_id => state
            .db
            .store
            .revoke_access_token(&claims.jti, claims.exp)
            .await
            .map_err(server_error),
        Ok(_) => not_yours(&client, "access token"),
        Err(e) => {
            tracing::debug!(error = %e, "revocation of an invalid access token ignored");
            Ok(())
        }
    }
}

async fn revoke_refresh_token(state: &AppState, client: &Client, token: &str, now: i64) -> Result<(), OAuthError> {
    let store = &state.db.store;
    match store.refresh_token(&hash_secret(token)).await.map_err(server_error)? {
        // §2.1: the token must have been issued to the client asking.
        Some(record) if record.client_id == client.client_id => {
            store.revoke_family(&record.family_id, now).await.map_err(server_error)
        }
        Some(_) => not_yours(client, "refresh token"),
        None => Ok(()),
    }
}

/// A valid token issued to another client. RFC 7009 §2.1: the request is refused and the
/// client told (400 invalid_request). A public client, which anyone can claim to be, gets
/// the 200 of an unknown token instead, so that it cannot learn which tokens are valid.
fn not_yours(client: &Client, kind: &str) -> Result<(), OAuthError> {
    tracing::info!(client_id = %client.client_id, "revocation of another client's {kind} refused");
    if client.is_public {
        return Ok(());
    }
    Err(OAuthError::invalid_request("the token was not issued to this client")
        .with_detail(format!("another client's {kind}")))
}
