//! `GET /api/resource`: the sample protected resource. It accepts a Bearer access token
//! (RFC 6750 §2.1), or a DPoP-bound one with its proof (RFC 9449 §7), meant for it (RFC
//! 9068 §4: signature, `typ`, issuer, expiry, audience), not revoked, for a signed-in user,
//! and answers with a greeting. It shows what a resource server does with Tessera's tokens.
//! It is a registered API (RFC 8707) like any other: [`ensure_registered`] adds it when
//! missing.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tessera_core::model::SigningAlg;
use tessera_core::scope::OPENID;
use tessera_core::store::{ApiSettings, Store, StoreError};
use tessera_core::types::ScopeSet;

use crate::crypto::issue::resource_audience;
use crate::http::bearer::{access_token, insufficient_scope, Scheme};
use crate::http::dpop::authorize_resource;
use crate::http::response::resource_error;
use crate::oauth::resource_metadata::with_resource_metadata;
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
        Err(r) => return with_resource_metadata(resource_error(&r.error, None, r.scheme), &audience),
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

/// The sample resource's API as first registered: the OIDC scopes (it answers only tokens
/// with `openid`), and the access-token defaults clients have.
pub fn sample_api() -> ApiSettings {
    ApiSettings {
        name: "Sample resource".into(),
        scopes: ScopeSet::parse("openid profile email").unwrap_or_default(),
        access_token_alg: SigningAlg::ACCESS_TOKEN_DEFAULT,
        access_token_ttl: tessera_core::policy::ACCESS_TOKEN_LIFETIME_DEFAULT,
    }
}

/// Registers the sample resource as an API under [`resource_audience`] if no API has that
/// identifier. Every instance does this at start (the insert is idempotent: of several
/// instances starting at once, one adds it, the others find it taken), so a new database
/// and a changed `--issuer` both get it; an API under an earlier issuer's identifier stays
/// until an administrator removes it. One removed is added again at the next start.
pub async fn ensure_registered(store: &dyn Store, issuer: &str, now: i64) -> Result<(), StoreError> {
    let identifier = resource_audience(issuer);
    if store.api(&identifier).await?.is_some() {
        return Ok(());
    }
    match store.create_api(&identifier, &sample_api(), now).await {
        Ok(_) => {
            tracing::info!(identifier = %identifier, "registered the sample resource as an API");
            Ok(())
        }
        Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
