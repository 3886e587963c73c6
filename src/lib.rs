//! # Tessera core
//!
//! The protocol logic of Tessera, an OAuth 2.0 and OpenID Connect authorization server.
//! Pure Rust: no web framework, no database driver, no async runtime. The `tessera`
//! server (axum) and the `tessera-app` UI (Leptos) adapt what this crate decides.
//!
//! # Layout
//! - [`audit`]: the audit log's event kinds ([`audit::Kind`], with its `ALL` list), what
//!   one event holds, and the filter the console lists them by.
//! - [`model`]: the protocol names Tessera supports as enums — [`model::GrantType`],
//!   [`model::ClientAuthMethod`], [`model::SigningAlg`] — each with its `ALL` list, from
//!   which discovery, the admin console's options and the CLI's accepted values are built.
//! - [`policy`]: every lifetime and bound (codes, pending requests, tokens, passwords,
//!   names, request sizes, login back-off), each documented; start here to change one.
//! - [`registration`]: the one validation of what an administrator registers — clients,
//!   users, custom scopes — with field-by-field errors; the console and the CLI both call it.
//! - [`types`]: values parsed once at the edge — usernames (and their one normalisation),
//!   redirect URIs, scopes — and passed as types afterwards.
//! - [`secret`]: 256-bit random tokens and client secrets, their SHA-256 hashes and the
//!   constant-time check of a presented value against a stored hash.
//! - [`password`]: Argon2id hashing and verification of human passwords.
//! - [`store`]: the narrow storage traits the protocol needs; the server implements them
//!   for SQLite and PostgreSQL and runs one shared test suite against both.
//! - [`params`]: request parameters as `(name, value)` pairs — repeats refused, empty
//!   values read as omitted.
//! - [`error`]: the registered error codes, [`error::OAuthError`] (short public text,
//!   internal detail apart) and whether an authorization error may redirect.
//! - [`pkce`]: RFC 7636 S256 challenges and the check of the verifier.
//! - [`scope`]: the built-in OpenID Connect scopes, their consent text and claims.
//! - [`client_auth`]: what a client presented at the token endpoint (Basic, form, none)
//!   and whether it authenticates.
//! - [`client_keys`]: clients' public keys (`jwks`, `jwks_uri`) and the claims of what
//!   they sign: `private_key_jwt` assertions and request objects (RFC 7523, RFC 9101).
//! - [`authorize`]: the authorization endpoint — validate the request, decide between
//!   login, consent and issuing a code, build the redirect back.
//! - [`token`]: the token endpoint — one request variant per grant, one file per grant.
//!   A new grant is a [`model::GrantType`] variant, a [`token::TokenRequest`] variant and
//!   a file under `token/`.
//! - [`resource`]: resource indicators (RFC 8707) — the `resource` parameter, and which
//!   registered API ([`store::Api`]) an access token is for.
//! - [`fapi`]: the FAPI 2.0 Security Profile switched on per client: what it enforces and
//!   the registration rules it adds.
//! - [`discovery`]: the RFC 8414 / OpenID Connect Discovery metadata document.
//! - [`dpop`]: DPoP (RFC 9449) proofs' header and claim rules, the JWK thumbprint, and the
//!   key bindings of codes and refresh tokens.
//! - [`device`]: the device authorization grant (RFC 8628) — the device's request, user
//!   codes (made, shown, normalised, hashed) and the record kept while the user decides.
//! - [`dynamic_registration`]: dynamic client registration (RFC 7591/7592): the mode,
//!   the policy a registration runs under, client metadata checked through [`registration`].
//! - [`throttle`]: how a login back-off rule applies and what its counters are keyed by
//!   (per account and per client address; the numbers are in [`policy`]).

pub mod audit;
pub mod authorize;
pub mod civil;
pub mod client_auth;
pub mod client_keys;
pub mod client_metadata;
pub mod device;
pub mod discovery;
pub mod dpop;
pub mod dynamic_registration;
pub mod error;
pub mod fapi;
pub mod model;
pub mod params;
pub mod password;
pub mod pkce;
pub mod policy;
pub mod registration;
pub mod resource;
pub mod scope;
pub mod secret;
pub mod store;
pub mod throttle;
pub mod token;
pub mod types;
