//! What every endpoint shares, so that each one reads and answers requests the same way:
//! the one form reader, client authentication, Bearer tokens, CORS and how errors become
//! HTTP. The endpoints themselves are in [`crate::oauth`] (and the demo's in
//! [`crate::demo`]).
//!
//! - [`form`]: query strings and `application/x-www-form-urlencoded` bodies, read strictly.
//! - [`client_auth`]: who the client is at `/token`, `/revoke`, `/introspect` (RFC 6749 §2.3).
//! - [`client_ip`]: which address a request comes from (the TCP peer, or the client a
//!   trusted reverse proxy names).
//! - [`bearer`]: access tokens presented to a protected resource (RFC 6750).
//! - [`cors`]: the CORS layer of the endpoints a browser app calls.
//! - [`response`]: how an `OAuthError` becomes HTTP.
//! - [`resources`]: resource indicators (RFC 8707): the registered APIs a client may name.

pub mod bearer;
pub mod client_auth;
pub mod client_ip;
pub mod cors;
pub mod form;
pub mod resources;
pub mod response;
