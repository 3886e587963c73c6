//! `GET /api/resource`: the sample protected resource. It accepts a Bearer access token
//! (RFC 6750 §2.1) meant for it (RFC 9068 §4: signature, `typ`, issuer, expiry, audience),
//! not revoked, for a signed-in user, and answers with a greeting. It shows what a
//! resource server does with Tessera's tokens.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tessera_core::scope::OPENID;

use crate::crypto::issue::resource_audience;
use crate::http::bearer::{authorize_bearer, bearer_token, insufficient_scope};
use crate::http::response::bearer_error;
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
