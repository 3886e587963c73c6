//! What a relying party reads before anything else: the metadata document (RFC 8414 §3,
//! OpenID Connect Discovery §4) at both well-known paths, and the JWK Set (RFC 7517) of
//! the keys that sign tokens. Both are built from the live key ring, so they cannot claim
//! an algorithm the server has no key for — and serialized once per key set, not per
//! request: they change only when the keys do.

use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use tessera_core::discovery::{metadata, MetadataOptions};
use tessera_core::scope::builtin_scopes;

use crate::crypto::jwt::KeySet;
use crate::web::AppState;

/// Both documents as bytes, for the key set they were made from.
struct Published {
    keys: KeySet,
    /// Whether it names the registration endpoint (RFC 7591 on).
    registration: bool,
    metadata: Bytes,
    jwks: Bytes,
}

impl Published {
    fn build(issuer: &str, require_par: bool, metadata_documents: bool, registration: bool, keys: KeySet) -> Published {
        let opts = MetadataOptions {
            id_token_signing_alg_values_supported: keys.algs().into_iter().map(|a| a.as_str().to_owned()).collect(),
            // Only the built-in scopes: administrator-defined scopes do not exist yet.
            scopes_supported: builtin_scopes().iter().map(|s| s.name.to_string()).collect(),
            require_pushed_authorization_requests: require_par,
            registration_endpoint: registration,
        };
        // Serializing derived structs and a `Value` cannot fail; an empty body would be
        // the visible symptom if it ever did.
        let mut document = serde_json::to_value(metadata(issuer, &opts)).unwrap_or_default();
        // draft-ietf-oauth-client-id-metadata-document §5: only when URL client ids are on.
        if metadata_documents {
            document["client_id_metadata_document_supported"] = serde_json::Value::Bool(true);
        }
        let metadata = serde_json::to_vec(&document).unwrap_or_default();
        let jwks = serde_json::to_vec(&keys.jwks()).unwrap_or_default();
        Published {
            keys,
            registration,
            metadata: metadata.into(),
            jwks: jwks.into(),
        }
    }
}

/// The documents of the current key set, made on first use after the keys change.
#[derive(Default)]
pub struct Documents(RwLock<Option<Arc<Published>>>);

impl Documents {
    /// `registration`: whether dynamic client registration is on (the metadata names its
    /// endpoint only then).
    fn current(&self, state: &AppState, registration: bool) -> Arc<Published> {
        let keys = state.keys.keys();
        if let Ok(cached) = self.0.read() {
            if let Some(p) = cached
                .as_ref()
                .filter(|p| p.keys.same_set(&keys) && p.registration == registration)
            {
                return p.clone();
            }
        }
        let fresh = Arc::new(Published::build(
            &state.issuer,
            state.require_par,
            state.metadata_clients.is_some(),
            registration,
            keys,
        ));
        if let Ok(mut cached) = self.0.write() {
            *cached = Some(fresh.clone());
        }
        fresh
    }
}

/// Relying parties cache these; five minutes keeps a rotated key's arrival prompt
/// (verifiers also refetch on an unknown `kid`).
fn json(body: Bytes) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")),
        ],
        body,
    )
        .into_response()
}

/// OpenID Connect Discovery §4.
pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    state.keys.refresh_if_needed(None, crate::now()).await;
    let registration = state.registration.is_on(&state).await;
    json(state.documents.current(&state, registration).metadata.clone())
}

/// RFC 8414 §3: the same document; every member is valid OAuth metadata.
pub async fn oauth_authorization_server(State(state): State<AppState>) -> Response {
    openid_configuration(State(state)).await
}

/// RFC 7517 §5: public members only; retired keys stay until their tokens expire.
pub async fn jwks(State(state): State<AppState>) -> Response {
    state.keys.refresh_if_needed(None, crate::now()).await;
    let registration = state.registration.is_on(&state).await;
    json(state.documents.current(&state, registration).jwks.clone())
}
