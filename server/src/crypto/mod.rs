//! The server's keys and secrets, and what it signs with them.
//!
//! - [`jwt`]: signing keys (RS256, ES256, EdDSA) — generation, the key set, JWT sign and
//!   verify, the JWK Set.
//! - [`keyring`]: the key set a running server uses, loaded from the database, reloaded
//!   when keys rotate elsewhere; `tessera keys rotate/revoke/list`.
//! - [`server_secret`]: the server secret, what derives from it, and sealing at rest.
//! - [`issue`]: what the tokens say (claims) and issuing them (access, ID, refresh).
//! - [`verify`]: reading access tokens, with the cache of those already verified.
//! - [`client_keys`]: clients' public keys (inline or fetched from `jwks_uri`, cached) and
//!   the verification of what clients sign: assertions and request objects.

pub mod client_keys;
pub mod issue;
pub mod jwt;
pub mod keyring;
pub mod server_secret;
pub mod verify;
