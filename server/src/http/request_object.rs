//! Signed authorization requests (RFC 9101, JAR): a `request` object verified with the
//! client's registered keys, its claims checked by the core, its parameters returned in
//! place of those sent beside it. Used by `/authorize`, and by `/par` for pushed requests.

use tessera_core::client_keys::request_object_params;
use tessera_core::error::{ErrorCode, OAuthError};
use tessera_core::policy::REQUEST_OBJECT_MAX_BYTES;
use tessera_core::store::Client;

use crate::web::AppState;

/// JWT types that are something else than a request object (RFC 8725 §3.11): access
/// tokens (RFC 9068), DPoP proofs (RFC 9449), logout tokens, ID tokens as some servers
/// type them.
const NOT_REQUEST_OBJECTS: [&str; 4] = ["at+jwt", "dpop+jwt", "logout+jwt", "id_token+jwt"];

/// RFC 9101 §6.1–§6.3: verifies `jws` (the `request` parameter) for `client` — signed with
/// one of its registered keys (RS256, PS256, ES256 or EdDSA; never `none`), `iss` the
/// client, `aud` the issuer, `exp` present and short, `nbf`, `client_id` the client — and
/// returns the authorization request's parameters from inside the object only (string
/// values; numbers as their text). Every failure is `invalid_request_object`, with the
/// cause in the detail; a client without registered keys cannot send one.
pub async fn verify_request_object(
    state: &AppState,
    client: &Client,
    jws: &str,
    now: i64,
) -> Result<Vec<(String, String)>, OAuthError> {
    let invalid =
        |detail: String| OAuthError::new(ErrorCode::InvalidRequestObject, "invalid request object").with_detail(detail);
    if !client.has_keys() {
        return Err(invalid("the client has no registered keys".into()));
    }
    let claims = state
        .client_keys
        .verify(
            client,
            &state.issuer,
            jws,
            REQUEST_OBJECT_MAX_BYTES,
            &NOT_REQUEST_OBJECTS,
            now,
        )
        .await
        .map_err(|e| invalid(format!("request object: {e}")))?;
    request_object_params(&claims, &client.client_id, &state.issuer, now)
}
