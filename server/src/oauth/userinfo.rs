//! `GET|POST /userinfo` (OpenID Connect Core §5.3): the claims about the signed-in user
//! that the access token's scopes release, for a Bearer access token (RFC 6750) or a
//! DPoP-bound one with its proof (RFC 9449 §7).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tessera_core::params;
use tessera_core::scope::OPENID;

use crate::crypto::issue::UserClaims;
use crate::http::bearer::{access_token, insufficient_scope, Scheme};
use crate::http::dpop::authorize_resource;
use crate::http::form::read_form;
use crate::http::response::{bearer_error, no_store, resource_error};
use crate::web::AppState;
use tessera_core::error::OAuthError;

pub async fn userinfo(State(state): State<AppState>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    let now = crate::now();
    let form_token = match form_token(&method, &headers, &body) {
        Ok(t) => t,
        // RFC 6750 §3.1: a repeated parameter is invalid_request, 400.
        Err(detail) => return bearer_error(&OAuthError::invalid_request(detail), None),
    };
    let presented = match (access_token(&headers), form_token.as_deref()) {
        // RFC 6750 §2: a client MUST NOT use more than one method per request; §3.1: that
        // is invalid_request, 400.
        (Some(_), Some(_)) => {
            return bearer_error(
                &OAuthError::invalid_request("the access token was sent in more than one way"),
                None,
            )
        }
        // RFC 6750 §2.2: a token in the body is a Bearer token.
        (header, body) => header.or(body.map(|t| (Scheme::Bearer, t))),
    };
    let scheme = presented.map_or(Scheme::Bearer, |(s, _)| s);
    // OIDC Core §5.3: any access token of ours; the audience is the resource's, not ours,
    // so it is not checked here.
    let found = authorize_resource(&state, &headers, presented, method.as_str(), "/userinfo", None, now).await;
    let (claims, user) = match found {
        Ok(found) => found,
        // RFC 9728 §5.1: userinfo takes the sample resource's tokens; its metadata says where
        // to get one.
        Err(r) => {
            return crate::oauth::resource_metadata::with_resource_metadata(
                resource_error(&r.error, None, r.scheme),
                &crate::crypto::issue::resource_audience(&state.issuer),
            )
        }
    };
    // OIDC Core §5.3.3 / RFC 6750 §3.1: userinfo needs a token issued for `openid`.
    let scopes = claims.scopes();
    let user = match user {
        Some(user) if scopes.contains(OPENID) => user,
        _ => return resource_error(&insufficient_scope(), Some(OPENID), scheme),
    };
    let mut body = json!({ "sub": user.id });
    if let (Some(map), Ok(serde_json::Value::Object(extra))) = (
        body.as_object_mut(),
        serde_json::to_value(UserClaims::for_scopes(&user, &scopes)),
    ) {
        map.extend(extra);
    }
    no_store(Json(body).into_response())
}

/// RFC 6750 §2.2: the `access_token` form parameter of a POST with a form body. Other
/// bodies are ignored.
fn form_token(method: &Method, headers: &HeaderMap, body: &[u8]) -> Result<Option<String>, &'static str> {
    if method != Method::POST || body.is_empty() {
        return Ok(None);
    }
    let Ok(pairs) = read_form(headers, body) else {
        return Ok(None);
    };
    if params::duplicated(&pairs, &["access_token"]).is_some() {
        return Err("repeated access_token");
    }
    Ok(params::get(&pairs, "access_token").map(str::to_owned))
}
