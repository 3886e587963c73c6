//! # Tessera core
//!
//! The protocol logic of Tessera, an OAuth 2.0 and OpenID Connect authorization server.
//! Pure Rust: no web framework, no database driver, no async runtime. The `tessera`
//! server (axum) and the `tessera-app` UI (Leptos) adapt what this crate decides.
//!
//! # Layout
//! - [`types`]: values parsed once at the edge — usernames, redirect URIs, scopes —
//!   and passed as types afterwards.
//! - [`secret`]: 256-bit random tokens and client secrets, their SHA-256 hashes and the
//!   constant-time check of a presented value against a stored hash.
//! - [`password`]: Argon2id hashing and verification of human passwords.
//! - [`store`]: the narrow storage traits the protocol needs; the server implements them
//!   for SQLite and PostgreSQL and runs one shared test suite against both.

pub mod password;
pub mod secret;
pub mod store;
pub mod types;
