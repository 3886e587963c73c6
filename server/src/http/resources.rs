//! Resource indicators (RFC 8707) at the endpoints: each `resource` a request names must be
//! a registered API ([`Api`]) that the client may use. Shared by `/authorize`, `/par` and
//! `/token`; the core parses the parameter and picks a token's one audience
//! ([`tessera_core::resource`]).

use tessera_core::error::{ErrorCode, OAuthError};
use tessera_core::store::{Api, Client};

use crate::crypto::issue::resource_audience;
use crate::http::response::server_error;
use crate::web::AppState;

/// The registered API `identifier`, if `client` may use it. RFC 8707 §2: an unknown
/// resource, or one the client may not use, is `invalid_target`.
pub async fn allowed_api(state: &AppState, client: &Client, identifier: &str) -> Result<Api, OAuthError> {
    let refuse = |detail: String| {
        OAuthError::new(ErrorCode::InvalidTarget, "resource is not one this client may use").with_detail(detail)
    };
    let api = state.db.store.api(identifier).await.map_err(server_error)?;
    let Some(api) = api else {
        return Err(refuse(format!("no API registered as {identifier:?}")));
    };
    if !client.allows_resource(identifier, &resource_audience(&state.issuer)) {
        return Err(refuse(format!(
            "client {} may not use {identifier:?}",
            client.client_id
        )));
    }
    Ok(api)
}

/// [`allowed_api`] for each of `identifiers` (an authorization request's or a pushed
/// request's resources).
pub async fn check_allowed(state: &AppState, client: &Client, identifiers: &[String]) -> Result<(), OAuthError> {
    for identifier in identifiers {
        allowed_api(state, client, identifier).await?;
    }
    Ok(())
}

/// RFC 8707 §2.2: the API a token issued now is for, from the token request's `resource`
/// values and what the grant covers (see [`tessera_core::resource::audience`]); `None`:
/// the default audience (the sample resource), with the client's own token settings.
pub async fn token_target(
    state: &AppState,
    client: &Client,
    requested: &[String],
    authorized: &[String],
) -> Result<Option<Api>, OAuthError> {
    match tessera_core::resource::audience(requested, authorized)? {
        Some(identifier) => allowed_api(state, client, &identifier).await.map(Some),
        None => Ok(None),
    }
}
