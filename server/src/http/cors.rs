//! CORS for the endpoints a browser app (a public client) calls from JavaScript.

use axum::http::header;
use tower_http::cors::{Any, CorsLayer};

/// CORS for the endpoints a browser app (a public client) calls directly: `/token`,
/// `/revoke`, `/introspect`, `/userinfo`, `/jwks.json`, `/register[/{id}]` and `/.well-known/*`. Any origin,
/// never credentials: these endpoints authenticate by what the request carries (client
/// id, Bearer token), not by cookies, so a foreign origin gains nothing a server-side
/// client would not have.
pub fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        // PUT and DELETE: RFC 7592's read/update/delete of a registration (`/register/{id}`);
        // the other endpoints have no such handler and answer 405 as before.
        .allow_methods([
            axum::http::Method::GET,
            axum::http::Method::POST,
            axum::http::Method::PUT,
            axum::http::Method::DELETE,
        ])
        // RFC 9449: a browser app sends its proof in `DPoP` and reads `DPoP-Nonce`.
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static(crate::http::dpop::DPOP),
        ])
        .expose_headers([
            header::WWW_AUTHENTICATE,
            header::HeaderName::from_static(crate::http::dpop::DPOP_NONCE),
        ])
        .max_age(std::time::Duration::from_secs(600))
        // No `Vary`: every CORS header here is the same whatever the request's Origin and
        // Access-Control-Request-* say, so a cache has nothing to tell apart (Fetch
        // standard §3.2.5). tower-http would otherwise build the header on every response.
        .vary([])
}
