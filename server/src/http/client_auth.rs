//! Client authentication for the endpoints clients call with their credentials (`/token`,
//! `/revoke`, `/introspect`; RFC 6749 §2.3): what the request presents, read here, and
//! whether it proves the client, decided by the core ([`tessera_core::client_auth`]).

use axum::http::{header, HeaderMap};
use tessera_core::client_auth::{self, PresentedClient};
use tessera_core::error::OAuthError;
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
    let client = state
        .db
        .store
        .client_by_id(presented.client_id())
        .await
        .map_err(server_error)?;
    client_auth::authenticate(&presented, client.as_ref())?;
    client.ok_or_else(|| OAuthError::invalid_client("client authentication failed"))
}
