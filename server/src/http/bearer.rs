//! Bearer access tokens presented to a protected resource (RFC 6750): reading the
//! `Authorization` header, and deciding whether the token it carries still stands (RFC
//! 9068 §4 verification, revocation, the client and user behind it). Used by `/userinfo`,
//! `/introspect` and the sample resource.

use axum::http::{header, HeaderMap};
use tessera_core::error::{ErrorCode, OAuthError};
use tessera_core::store::User;

use crate::crypto::issue::AccessClaims;
use crate::crypto::verify::verify_access_token;
use crate::http::response::server_error;
use crate::web::AppState;

/// RFC 6750 §3.1: a valid token without the scope the resource needs.
pub fn insufficient_scope() -> OAuthError {
    OAuthError::new(ErrorCode::InsufficientScope, "the token lacks the required scope")
}

/// RFC 6750 §3.1: the token is missing, malformed, expired, revoked or not ours.
pub fn invalid_token(detail: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidToken, "the access token is invalid").with_detail(detail)
}

/// RFC 6750 §2.1: `Authorization: Bearer <b64token>`; the scheme is case-insensitive
/// (RFC 9110 §11.1). `None` when absent or not a Bearer credential.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    match access_token(headers)? {
        (Scheme::Bearer, token) => Some(token),
        (Scheme::DPoP, _) => None,
    }
}

/// How an access token was presented: RFC 6750 Bearer, or RFC 9449 §7.1 DPoP (with a proof).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Bearer,
    DPoP,
}

/// `Authorization: Bearer <token>` or `Authorization: DPoP <token>` (RFC 9449 §7.1); the
/// scheme is case-insensitive (RFC 9110 §11.1). `None` when absent or another scheme.
pub fn access_token(headers: &HeaderMap) -> Option<(Scheme, &str)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    if token.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        Some((Scheme::Bearer, token))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Some((Scheme::DPoP, token))
    } else {
        None
    }
}

/// Verifies a Bearer token and checks, in one store call, that it is not revoked and, for
/// tokens of a user, that the user still exists and is not disabled. Every failure is invalid_token.
/// Client-credentials tokens (no family) come back with no user.
pub async fn authorize_bearer(
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
