//! What every endpoint shares, so that each one reads and answers requests the same way:
//! the one form reader, client authentication, Bearer tokens, CORS and how errors become
//! HTTP. The endpoints themselves are in [`crate::oauth`] (and the demo's in
//! [`crate::demo`]).
//!
//! - [`form`]: query strings and `application/x-www-form-urlencoded` bodies, read strictly.
//! - [`client_auth`]: who the client is at `/token`, `/revoke`, `/introspect` (RFC 6749
//!   §2.3), by secret or by `private_key_jwt` assertion (RFC 7523).
//! - [`client_metadata`]: clients known by a Client ID Metadata Document (a URL client_id).
//! - [`request_object`]: signed authorization requests (RFC 9101), for `/authorize` and `/par`.
//! - [`client_ip`]: which address a request comes from (the TCP peer, or the client a
//!   trusted reverse proxy names).
//! - [`bearer`]: access tokens presented to a protected resource (RFC 6750).
//! - [`cors`]: the CORS layer of the endpoints a browser app calls.
//! - [`dpop`]: DPoP proofs (RFC 9449): the `DPoP` header, its signature and rules, server
//!   nonces, replay checks.
//! - [`response`]: how an `OAuthError` becomes HTTP.
//! - [`resources`]: resource indicators (RFC 8707): the registered APIs a client may name.

pub mod bearer;
pub mod client_auth;
pub mod client_ip;
pub mod client_metadata;
pub mod cors;
pub mod dpop;
pub mod form;
pub mod request_object;
pub mod resources;
pub mod response;
