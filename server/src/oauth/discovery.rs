//! What a relying party reads before anything else: the metadata document (RFC 8414 §3,
//! OpenID Connect Discovery §4) at both well-known paths, and the JWK Set (RFC 7517) of
//! the keys that sign tokens. Both are built from the live key ring, so they cannot claim
//! an algorithm the server has no key for.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tessera_core::discovery::{metadata, MetadataOptions};
use tessera_core::scope::builtin_scopes;

use crate::web::AppState;

/// Relying parties cache these; five minutes keeps a rotated key's arrival prompt
/// (verifiers also refetch on an unknown `kid`).
fn cacheable(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    res
}

fn document(state: &AppState) -> Response {
    let opts = MetadataOptions {
        id_token_signing_alg_values_supported: state
            .keys
            .keys()
            .algs()
            .into_iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        // Only the built-in scopes: administrator-defined scopes do not exist yet.
        scopes_supported: builtin_scopes().iter().map(|s| s.name.to_string()).collect(),
    };
    cacheable(Json(metadata(&state.issuer, &opts)).into_response())
}

/// OpenID Connect Discovery §4.
pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    state.keys.refresh_if_needed(None, crate::now()).await;
    document(&state)
}

/// RFC 8414 §3: the same document; every member is valid OAuth metadata.
pub async fn oauth_authorization_server(State(state): State<AppState>) -> Response {
    state.keys.refresh_if_needed(None, crate::now()).await;
    document(&state)
}

/// RFC 7517 §5: public members only; retired keys stay until their tokens expire.
pub async fn jwks(State(state): State<AppState>) -> Response {
    state.keys.refresh_if_needed(None, crate::now()).await;
    cacheable(Json(state.keys.keys().jwks()).into_response())
}
