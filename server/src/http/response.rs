//! The one place that knows how an [`OAuthError`] becomes HTTP: RFC 6749 §5.2 JSON for
//! the token, revocation and introspection endpoints, RFC 6750 §3 `WWW-Authenticate` for
//! bearer-protected resources, and a plain page for errors shown to the user (§4.1.2.1).
//! The public `error_description` is the short fixed text; the detail goes to the log.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tessera_core::error::OAuthError;

/// Token responses, success or error, must not be cached (RFC 6749 §5.1, §5.2).
pub fn no_store(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

fn log(error: &OAuthError) {
    match &error.detail {
        Some(detail) => tracing::info!(error = error.code.as_str(), detail = %detail, "request refused"),
        None => tracing::debug!(error = error.code.as_str(), "request refused"),
    }
}

/// RFC 6749 §5.2: a JSON error. `basic_auth` says whether the client used HTTP Basic, in
/// which case `invalid_client` is a 401 with `WWW-Authenticate: Basic`.
pub fn token_error(error: &OAuthError, basic_auth: bool) -> Response {
    log(error);
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({ "error": error.code.as_str(), "error_description": error.description });
    let mut res = (status, Json(body)).into_response();
    if error.code == tessera_core::error::ErrorCode::InvalidClient {
        if basic_auth {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"tessera\", charset=\"UTF-8\""),
            );
        } else if status == StatusCode::UNAUTHORIZED {
            // §5.2 allows 400 when the client did not use an Authorization header.
            *res.status_mut() = StatusCode::BAD_REQUEST;
        }
    }
    no_store(res)
}

/// RFC 6750 §3: 401 `invalid_token` / 403 `insufficient_scope`, described in the
/// `WWW-Authenticate: Bearer` header as well as in a JSON body.
pub fn bearer_error(error: &OAuthError, scope: Option<&str>) -> Response {
    log(error);
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut challenge = format!(
        "Bearer realm=\"tessera\", error=\"{}\", error_description=\"{}\"",
        error.code.as_str(),
        error.description.replace('"', "'")
    );
    if let Some(scope) = scope {
        challenge.push_str(&format!(", scope=\"{scope}\""));
    }
    let mut res = (
        status,
        Json(json!({ "error": error.code.as_str(), "error_description": error.description })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

/// A refusal at a protected resource, in the scheme the token was (or must be) presented
/// with: RFC 6750 §3 for Bearer, RFC 9449 §7.1 for DPoP (`WWW-Authenticate: DPoP algs=...,
/// error=...`; invalid_dpop_proof and invalid_token are 401, insufficient_scope 403).
pub fn resource_error(error: &OAuthError, scope: Option<&str>, scheme: crate::http::bearer::Scheme) -> Response {
    if scheme == crate::http::bearer::Scheme::Bearer {
        return bearer_error(error, scope);
    }
    log(error);
    use tessera_core::error::ErrorCode;
    let status = match error.code {
        ErrorCode::InvalidDpopProof | ErrorCode::InvalidToken | ErrorCode::UseDpopNonce => StatusCode::UNAUTHORIZED,
        _ => StatusCode::from_u16(error.status()).unwrap_or(StatusCode::UNAUTHORIZED),
    };
    let mut challenge = format!(
        "DPoP algs=\"{}\", error=\"{}\", error_description=\"{}\"",
        tessera_core::dpop::algs_challenge(),
        error.code.as_str(),
        error.description.replace('"', "'")
    );
    if let Some(scope) = scope {
        challenge.push_str(&format!(", scope=\"{scope}\""));
    }
    let mut res = (
        status,
        Json(json!({ "error": error.code.as_str(), "error_description": error.description })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

/// RFC 6749 §4.1.2.1: when the client or redirect URI cannot be trusted, tell the user
/// and never redirect.
pub fn error_page(error: &OAuthError) -> Response {
    log(error);
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>Authorization error · Tessera</title>\
         <link rel=\"stylesheet\" href=\"/pkg/tessera.css\"></head><body><header class=\"topbar\">\
         <a class=\"brand\" href=\"/\"><span class=\"brand-mark\" aria-hidden=\"true\"></span>Tessera</a></header>\
         <main class=\"page\"><section class=\"card narrow\"><h1>This sign-in request cannot be completed</h1>\
         <p class=\"error\" role=\"alert\"><strong>{code}</strong>: {desc}</p>\
         <p>The application that sent you here is misconfigured or the link is broken. \
         You have not been redirected anywhere. Go back to the application and try again, \
         or contact its developers.</p></section></main></body></html>",
        code = html_escape(error.code.as_str()),
        desc = html_escape(&error.description),
    );
    let mut res = (StatusCode::BAD_REQUEST, axum::response::Html(body)).into_response();
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'self'; frame-ancestors 'none'"),
    );
    res
}

pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// An internal failure, as the protocol's `server_error`.
pub fn server_error(e: impl std::fmt::Display) -> OAuthError {
    tracing::error!(error = %e, "internal error");
    OAuthError::server_error(e.to_string())
}

/// RFC 7591 §3.2.2: a refused registration, 400 with `invalid_redirect_uri` or
/// `invalid_client_metadata` and a description naming the field.
pub fn registration_error(error: &tessera_core::dynamic_registration::MetadataError) -> Response {
    tracing::info!(error = error.code.as_str(), detail = %error.description, "registration refused");
    let body = json!({ "error": error.code.as_str(), "error_description": error.description });
    no_store((StatusCode::BAD_REQUEST, Json(body)).into_response())
}
