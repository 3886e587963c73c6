//! Client authentication for the endpoints clients call with their credentials (`/token`,
//! `/revoke`, `/introspect`; RFC 6749 §2.3): what the request presents, read here, and
//! whether it proves the client, decided by the core ([`tessera_core::client_auth`]); a
//! `private_key_jwt` assertion (RFC 7523) is verified here with the client's keys.

use axum::http::{header, HeaderMap};
use tessera_core::client_auth::{self, Outcome, PresentedClient};
use tessera_core::client_keys::{check_assertion, REQUEST_OBJECT_TYP};
use tessera_core::error::OAuthError;
use tessera_core::policy::CLIENT_ASSERTION_MAX_BYTES;
use tessera_core::store::Client;

use crate::http::response::server_error;
use crate::web::AppState;

/// Whether the request carries an `Authorization` header: RFC 6749 §5.2 then makes an
/// invalid_client answer 401 with `WWW-Authenticate` (see `response::token_error`).
pub fn has_authorization(headers: &HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION)
}

/// RFC 6749 §2.3 / §3.2.1: who the client says it is, checked against its registration.
/// `pairs` is the request's form body ([`crate::http::form::read_form`]).
pub async fn authenticate_client(
    state: &AppState,
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> Result<Client, OAuthError> {
    let authorization = match headers.get(header::AUTHORIZATION) {
        Some(v) => Some(v.to_str().map_err(|_| {
            OAuthError::invalid_client("client authentication failed").with_detail("Authorization header is not ASCII")
        })?),
        None => None,
    };
    let presented = PresentedClient::from_request(authorization, pairs)?;
    // A URL client_id is a client metadata document's (fetched again once its cache
    // lifetime is over).
    let client = crate::http::client_metadata::client(state, presented.client_id(), crate::now()).await?;
    let outcome = client_auth::authenticate(&presented, client.as_ref())?;
    let client = client.ok_or_else(|| OAuthError::invalid_client("client authentication failed"))?;
    if let (Outcome::VerifyAssertion, PresentedClient::Assertion { assertion, .. }) = (outcome, &presented) {
        verify_assertion(state, &client, assertion, crate::now()).await?;
    }
    Ok(client)
}

/// The values an assertion's `aud` may name this server by (RFC 7523 §3 item 3): the
/// issuer (FAPI 2.0 §5.3.2.1 recommends it) or the URL of an endpoint that authenticates
/// clients (OIDC Core §9 names the token endpoint's).
pub fn assertion_audiences(issuer: &str) -> Vec<String> {
    let mut aud = vec![issuer.to_owned()];
    aud.extend(["/token", "/introspect", "/revoke", "/par", "/device_authorization"].map(|p| format!("{issuer}{p}")));
    aud
}

/// RFC 7523 §3 / OIDC Core §9: signed with one of the client's registered keys, the
/// claims right, and the `jti` not seen before on any instance — recorded only after
/// everything else checked out, so that unauthenticated callers cannot fill the table.
async fn verify_assertion(state: &AppState, client: &Client, assertion: &str, now: i64) -> Result<(), OAuthError> {
    let fail = |detail: String| OAuthError::invalid_client("client authentication failed").with_detail(detail);
    let claims = state
        .client_keys
        .verify(
            client,
            &state.issuer,
            assertion,
            CLIENT_ASSERTION_MAX_BYTES,
            &[REQUEST_OBJECT_TYP],
            now,
        )
        .await
        .map_err(|e| fail(format!("client_assertion: {e}")))?;
    let id = check_assertion(&claims, &client.client_id, &assertion_audiences(&state.issuer), now)
        .map_err(|e| fail(format!("client_assertion: {e}")))?;
    if client.settings.fapi2 {
        tessera_core::fapi::check_assertion_audience(&claims, &state.issuer)
            .map_err(|e| fail(format!("client_assertion: {e}")))?;
    }
    // RFC 7523 §3 item 7: a jti seen before is a replay.
    match state
        .db
        .store
        .first_use("client_assertion", &id.jti, id.remember_until, now)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(fail("client_assertion: jti already used".into())),
        Err(e) => Err(server_error(e)),
    }
}
