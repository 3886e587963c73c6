//! The protocol endpoints, as plain axum handlers: RFC 6749 fixes their wire format
//! (redirects with query parameters, JSON errors with exact statuses, Basic auth,
//! `Cache-Control: no-store`), which Leptos server functions cannot give.
//!
//! - [`authorize`]: `/authorize` (GET and POST) and `/authorize/resume`, where the login
//!   and consent pages hand back.
//! - [`token`]: `/token` — authorization_code, refresh_token, client_credentials, device_code.
//! - [`par`]: `/par`, pushed authorization requests (RFC 9126), taken at `/authorize`.
//! - [`device`]: `/device_authorization` (RFC 8628); the user enters the code at the
//!   `/device` pages (the app's), the device polls `/token`.
//! - [`revoke`], [`introspect`]: RFC 7009 and RFC 7662.
//! - [`userinfo`]: OIDC Core §5.3. [`resource`]: the sample protected resource.
//! - [`discovery`]: RFC 8414 / OIDC Discovery metadata and the JWKS.
//! - [`resource_metadata`]: RFC 9728 protected resource metadata of the registered APIs.
//! - [`register`]: dynamic client registration (RFC 7591) and management (RFC 7592).
//!
//! What they share (the form reader, client authentication, Bearer tokens, CORS, how
//! errors become HTTP) is in [`crate::http`]; the tokens they issue and read, in
//! [`crate::crypto`].

pub mod authorize;
pub mod device;
pub mod discovery;
pub mod introspect;
pub mod par;
pub mod register;
pub mod resource;
pub mod resource_metadata;
pub mod revoke;
pub mod token;
pub mod userinfo;

use axum::routing::{get, post};
use axum::Router;

use crate::web::AppState;

/// Endpoints that clients and resource servers call: no browser session.
pub fn client_routes() -> Router<AppState> {
    // Endpoints a browser app (a public client) calls from JavaScript get CORS; the
    // authorization endpoint is a navigation and must not.
    let cross_origin = Router::new()
        .route("/token", post(token::token))
        .route("/par", post(par::par))
        .route("/device_authorization", post(device::device_authorization))
        .route("/revoke", post(revoke::revoke))
        .route("/introspect", post(introspect::introspect))
        .route("/userinfo", get(userinfo::userinfo).post(userinfo::userinfo))
        .route("/jwks.json", get(discovery::jwks))
        .route("/register", post(register::register))
        .route(
            "/register/{client_id}",
            get(register::read).put(register::update).delete(register::delete),
        )
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::oauth_authorization_server),
        )
        .route(resource_metadata::WELL_KNOWN, get(resource_metadata::well_known))
        .route(
            "/.well-known/oauth-protected-resource/{*path}",
            get(resource_metadata::well_known),
        )
        .route("/resource-metadata", get(resource_metadata::by_identifier))
        .layer(crate::http::cors::cors());
    Router::new()
        .route("/api/resource", get(resource::resource))
        .merge(cross_origin)
}

/// The authorization endpoint, where the user's browser session says who is signed in.
pub fn browser_routes() -> Router<AppState> {
    Router::new()
        .route("/authorize", get(authorize::get).post(authorize::post))
        .route("/authorize/resume", get(authorize::resume))
}
