//! Pushed authorization requests (RFC 9126): what `POST /par` validated, kept under the
//! SHA-256 of the random id in its `request_uri` for [`PUSHED_REQUEST_LIFETIME`] seconds,
//! until `/authorize` takes it (once) and goes on with it as a pending request.

use tessera_core::authorize::{AuthorizeRequest, PUSHED_REQUEST_URN};
use tessera_core::policy::PUSHED_REQUEST_LIFETIME;
use tessera_core::secret::{hash_secret, random_token};
use tessera_core::store::Store;

use crate::ServiceError;

fn json_err(e: serde_json::Error) -> ServiceError {
    ServiceError::Internal(format!("pushed request: {e}"))
}

/// Stores a validated request and returns its `request_uri`
/// (`urn:ietf:params:oauth:request_uri:` + 256 random bits, RFC 9126 §2.2), unless its
/// client already has `max_per_client` live ones.
pub async fn create(
    store: &dyn Store,
    request: &AuthorizeRequest,
    now: i64,
    max_per_client: i64,
) -> Result<Option<String>, ServiceError> {
    let id = random_token();
    let json = serde_json::to_string(request).map_err(json_err)?;
    let stored = store
        .put_pushed_request(
            &hash_secret(&id),
            &request.client_id,
            &json,
            now,
            now + PUSHED_REQUEST_LIFETIME,
            max_per_client,
        )
        .await?;
    Ok(stored.then(|| format!("{PUSHED_REQUEST_URN}{id}")))
}

/// Takes the request pushed by `client_id` under `id` (the part of the `request_uri` after
/// the URN prefix) if it is there and has not expired: of concurrent callers on any
/// instance at most one gets it (RFC 9126 §4: one use).
pub async fn take(
    store: &dyn Store,
    id: &str,
    client_id: &str,
    now: i64,
) -> Result<Option<AuthorizeRequest>, ServiceError> {
    let json = store.take_pushed_request(&hash_secret(id), client_id, now).await?;
    json.map(|j| serde_json::from_str(&j).map_err(json_err)).transpose()
}
