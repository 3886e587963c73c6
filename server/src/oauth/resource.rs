//! `GET /api/resource`: the sample protected resource. It accepts a Bearer access token
//! (RFC 6750 §2.1) meant for it (RFC 9068 §4: signature, `typ`, issuer, expiry, audience),
//! not revoked, for a signed-in user, and answers with a greeting. It shows what a
//! resource server does with Tessera's tokens.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tessera_core::error::{ErrorCode, OAuthError};
use tessera_core::scope::OPENID;
use tessera_core::store::User;

use crate::oauth::response::{bearer_error, server_error};
use crate::oauth::tokens::{resource_audience, verify_access_token, AccessClaims};
use crate::web::AppState;

pub async fn resource(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let now = crate::now();
    let audience = resource_audience(&state.issuer);
    let (claims, user) = match authorize_bearer(&state, bearer_token(&headers), Some(&audience), now).await {
        Ok(found) => found,
        Err(e) => return bearer_error(&e, None),
    };
    // RFC 6750 §3.1: a valid token without the scope the resource needs; a client's own
    // token (client_credentials) never has `openid`.
    let user = match user {
        Some(user) if claims.scopes().contains(OPENID) => user,
        _ => return bearer_error(&insufficient_scope(), Some(OPENID)),
    };
    let shown = user.name.clone().unwrap_or_else(|| user.username.clone());
    Json(json!({
        "sub": claims.sub,
        "client_id": claims.client_id,
        "scope": claims.scope,
        "data": {
            "username": user.username,
            "message": format!("Hello, {shown}! This came from the sample protected resource."),
            "server_time": now,
        },
    }))
    .into_response()
}

pub(crate) fn insufficient_scope() -> OAuthError {
    OAuthError::new(ErrorCode::InsufficientScope, "the token lacks the required scope")
}

pub(crate) fn invalid_token(detail: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidToken, "the access token is invalid").with_detail(detail)
}

/// RFC 6750 §2.1: `Authorization: Bearer <b64token>`; the scheme is case-insensitive
/// (RFC 9110 §11.1). `None` when absent or not a Bearer credential.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Verifies a Bearer token and checks, in one store call, that it is not revoked and, for
/// tokens of a user, that the user still exists and is not disabled. Every failure is invalid_token.
/// Client-credentials tokens (no family) come back with no user.
pub(crate) async fn authorize_bearer(
    state: &AppState,
    token: Option<&str>,
    audience: Option<&str>,
    now: i64,
) -> Result<(AccessClaims, Option<User>), OAuthError> {
    let token = token.ok_or_else(|| invalid_token("no Bearer token"))?;
    let claims = verify_access_token(state, token, audience, now)
        .await
        .map_err(|e| invalid_token(e.to_string()))?;
    // One round trip: revocation (token or grant) and, for a user's token, the user.
    let status = state
        .db
        .store
        .access_token_status(
            &claims.jti,
            claims.gid.as_deref(),
            claims.gid.as_ref().map(|_| claims.sub.as_str()),
        )
        .await
        .map_err(server_error)?;
    if status.revoked {
        return Err(invalid_token("revoked"));
    }
    // A client's tokens end with it: deleting a client (admin console, CLI) takes its
    // grants with it, and its own client_credentials tokens have no grant to look at.
    // Within the client cache's few seconds when deleted by another process.
    if !state
        .db
        .store
        .client_exists(&claims.client_id)
        .await
        .map_err(server_error)?
    {
        return Err(invalid_token("client deleted"));
    }
    // A token without a family is a client's own (client_credentials): no user behind it.
    if claims.gid.is_none() {
        return Ok((claims, None));
    }
    match status.user {
        Some(user) if !user.disabled => Ok((claims, Some(user))),
        _ => Err(invalid_token("user disabled or deleted")),
    }
}
