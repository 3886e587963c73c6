//! Protected resource metadata (RFC 9728) for every registered API: what a client that got
//! a 401 from a resource reads to find the authorization server, the scopes and how to
//! present a token.
//!
//! - `GET /.well-known/oauth-protected-resource[/path]` (§3.1): for APIs whose identifier
//!   is on Tessera's own origin (the sample resource, `<issuer>/api`): the well-known
//!   segment sits between the origin and the identifier's path (and query).
//! - `GET /resource-metadata?resource=<identifier>`: the same document for ANY registered
//!   API, wherever it lives. Tessera cannot answer on another host, so an API on
//!   `https://api.example.com/mcp` serves `/.well-known/oauth-protected-resource/mcp`
//!   itself: by proxying (or copying) this document.

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tessera_core::store::Api;

use crate::web::AppState;

/// RFC 9728 §3: the well-known URI suffix.
pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The scheme, host and port of `url` (`http://127.0.0.1:3000`), if it has one.
fn origin(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    match parsed.origin() {
        o @ url::Origin::Tuple(..) => Some(o.ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// RFC 9728 §3.1: where the metadata of the resource `identifier` is published: the
/// well-known suffix inserted between the host and the path (and query); a terminating
/// slash after the host is removed. `None` for an identifier without a host (a URN).
pub fn metadata_url(identifier: &str) -> Option<String> {
    let parsed = url::Url::parse(identifier).ok()?;
    let origin = origin(identifier)?;
    // A path of only "/" is the terminating slash; a longer one keeps its own ending.
    let path = if parsed.path() == "/" { "" } else { parsed.path() };
    let query = parsed.query().map(|q| format!("?{q}")).unwrap_or_default();
    Some(format!("{origin}{WELL_KNOWN}{path}{query}"))
}

/// RFC 9728 §2: the document for `api`. DPoP algorithms (§2 `dpop_signing_alg_values_supported`)
/// are given for the sample resource, which accepts DPoP-bound tokens; another API's
/// acceptance of DPoP is its own, unknown here.
pub fn document(issuer: &str, api: &Api) -> Value {
    let mut doc = json!({
        "resource": api.identifier,
        "resource_name": api.settings.name,
        "authorization_servers": [issuer],
        "scopes_supported": api.settings.scopes.iter().collect::<Vec<_>>(),
        "bearer_methods_supported": ["header"],
    });
    if api.identifier == tessera_core::resource::sample_identifier(issuer) {
        doc["dpop_signing_alg_values_supported"] = json!(tessera_core::dpop::ALGS);
    }
    doc
}

fn answer(issuer: &str, api: Option<Api>, asked: &str) -> Response {
    match api {
        Some(api) => (
            // Short: an administrator's change of the API's scopes shows within a minute.
            [(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"))],
            Json(document(issuer, &api)),
        )
            .into_response(),
        None => {
            tracing::debug!(resource = %asked, "no registered API for protected resource metadata");
            (
                StatusCode::NOT_FOUND,
                Json(json!({ "error": "not_found", "error_description": "no such protected resource" })),
            )
                .into_response()
        }
    }
}

/// RFC 9728 §3.1: `GET /.well-known/oauth-protected-resource[/path]` on Tessera's origin.
/// The identifier is the origin plus what follows the suffix; for the bare suffix, the
/// origin with or without its terminating slash.
pub async fn well_known(State(state): State<AppState>, uri: Uri) -> Response {
    let Some(origin) = origin(&state.issuer) else {
        return answer(&state.issuer, None, "");
    };
    let rest = uri.path().strip_prefix(WELL_KNOWN).unwrap_or_default();
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let candidates: Vec<String> = if rest.is_empty() || rest == "/" {
        vec![format!("{origin}{query}"), format!("{origin}/{query}")]
    } else {
        vec![format!("{origin}{rest}{query}")]
    };
    for id in &candidates {
        match state.db.store.api(id).await {
            Ok(Some(api)) => return answer(&state.issuer, Some(api), id),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "reading an API for its metadata failed");
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
        }
    }
    answer(&state.issuer, None, candidates.first().map_or("", String::as_str))
}

#[derive(Deserialize)]
pub struct ByIdentifier {
    resource: Option<String>,
}

/// `GET /resource-metadata?resource=<identifier>`: the document of any registered API, for
/// an API on another origin to serve at its own well-known URL.
pub async fn by_identifier(State(state): State<AppState>, Query(q): Query<ByIdentifier>) -> Response {
    let Some(id) = q.resource.filter(|r| !r.is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "invalid_request", "error_description": "give resource=<identifier>" })),
        )
            .into_response();
    };
    match state.db.store.api(&id).await {
        Ok(api) => answer(&state.issuer, api, &id),
        Err(e) => {
            tracing::error!(error = %e, "reading an API for its metadata failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// RFC 9728 §5.1: a resource's 401 names its metadata in `WWW-Authenticate`, so a client
/// with no configuration can find the authorization server. Appended to the challenge(s)
/// already there.
pub fn with_resource_metadata(mut res: Response, identifier: &str) -> Response {
    if res.status() != StatusCode::UNAUTHORIZED {
        return res;
    }
    let Some(url) = metadata_url(identifier) else {
        return res;
    };
    if let Some(v) = res
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
    {
        if let Ok(v) = HeaderValue::from_str(&format!("{v}, resource_metadata=\"{url}\"")) {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls() {
        // RFC 9728 §3.1 and its examples.
        #[rustfmt::skip]
        let table: &[(&str, Option<&str>)] = &[
            ("https://resource.example.com", Some("https://resource.example.com/.well-known/oauth-protected-resource")),
            ("https://resource.example.com/", Some("https://resource.example.com/.well-known/oauth-protected-resource")),
            ("https://resource.example.com/resource1", Some("https://resource.example.com/.well-known/oauth-protected-resource/resource1")),
            ("https://r.example/a/b/", Some("https://r.example/.well-known/oauth-protected-resource/a/b/")),
            ("https://r.example/a?t=1", Some("https://r.example/.well-known/oauth-protected-resource/a?t=1")),
            ("http://127.0.0.1:3000/api", Some("http://127.0.0.1:3000/.well-known/oauth-protected-resource/api")),
            ("urn:example:billing", None),
        ];
        for (id, want) in table {
            assert_eq!(metadata_url(id).as_deref(), *want, "{id}");
        }
    }
}
