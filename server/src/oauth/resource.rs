//! `GET /api/resource`: the sample protected resource. It accepts a Bearer access token
//! (RFC 6750 §2.1), or a DPoP-bound one with its proof (RFC 9449 §7), meant for it (RFC
//! 9068 §4: signature, `typ`, issuer, expiry, audience), not revoked, for a signed-in user,
//! and answers with a greeting. It shows what a resource server does with Tessera's tokens.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tessera_core::scope::OPENID;

use crate::crypto::issue::resource_audience;
use crate::http::bearer::{access_token, insufficient_scope, Scheme};
use crate::http::dpop::authorize_resource;
use crate::http::response::resource_error;
use crate::web::AppState;

pub async fn resource(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let now = crate::now();
    let audience = resource_audience(&state.issuer);
    let presented = access_token(&headers);
    let scheme = presented.map_or(Scheme::Bearer, |(s, _)| s);
    let found = authorize_resource(
        &state,
        &headers,
        presented,
        "GET",
        "/api/resource",
        Some(&audience),
        now,
    )
    .await;
    let (claims, user) = match found {
        Ok(found) => found,
        Err(r) => return resource_error(&r.error, None, r.scheme),
    };
    // RFC 6750 §3.1: a valid token without the scope the resource needs; a client's own
    // token (client_credentials) never has `openid`.
    let user = match user {
        Some(user) if claims.scopes().contains(OPENID) => user,
        _ => return resource_error(&insufficient_scope(), Some(OPENID), scheme),
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
