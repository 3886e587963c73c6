//! The one reader of request parameters: every endpoint reads its query string or form
//! body here, strictly (`tessera_core::params::parse_form`): bounded before anything is
//! decoded, a bad `%` escape or bytes that are not UTF-8 refused rather than guessed at.
//! Repeats are kept for the caller (the core) to refuse where the RFCs forbid them.

use axum::http::{header, HeaderMap};
use tessera_core::error::OAuthError;

/// RFC 6749 §3.2 (and OIDC Core §3.1.2.1 for `POST /authorize`): the parameters of an
/// `application/x-www-form-urlencoded` POST body. Any other body is invalid_request.
pub fn read_form(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    if !is_form(headers) {
        return Err(OAuthError::invalid_request(
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    parse(body)
}

/// RFC 6749 §3.1: the parameters of a query string (the part after `?`, if any), read as
/// strictly as a form body.
pub fn read_query(raw: Option<&str>) -> Result<Vec<(String, String)>, OAuthError> {
    parse(raw.unwrap_or_default().as_bytes())
}

fn parse(raw: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    tessera_core::params::parse_form(raw).map_err(|e| OAuthError::invalid_request(e.description()))
}

/// Whether the body is declared `application/x-www-form-urlencoded` (parameters allowed).
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}
