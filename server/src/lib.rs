//! The `tessera` binary as a library, so that integration tests can build the same
//! router the binary serves.
//!
//! # Layout
//! - [`cli`]: the command line (clap) and the commands `serve`, `migrate`, `user`, `client`, `keys`.
//! - [`config`]: what `serve` resolves from flags and environment (address, issuer, site).
//! - [`store`]: the core's storage traits on SQLite and PostgreSQL, plus browser sessions.
//! - [`web`]: the axum router — health checks, the Leptos pages and server functions,
//!   security headers, request logging.
//! - [`oauth`]: the protocol endpoints (authorize, token, revoke, introspect, userinfo,
//!   discovery, JWKS) and the sample protected resource — one file per endpoint.
//! - [`http`]: what every endpoint shares: the one strict form reader, client
//!   authentication, Bearer tokens, CORS, how errors become HTTP.
//! - [`crypto`]: signing keys and JWTs (`jwt`), the live key ring (`keyring`), the server
//!   secret (`server_secret`), issuing tokens (`issue`) and reading them (`verify`).
//! - [`demo`]: the step-by-step demo at `/demo` (its routes, its OAuth client, its steps by
//!   name) and the ready-to-try setup made by `serve --demo` on a new database.
//! - [`logging`]: tracing to stderr, human-readable or JSON.
//! - [`site`]: the compiled site (WASM, JS, CSS) served from memory when the release
//!   binary embeds it.
//! - [`telemetry`]: Prometheus metrics: the recorder, `GET /metrics`, the request metrics layer.

// Deeply nested Leptos view types (release builds, without `--cfg erase_components`).
#![recursion_limit = "256"]

pub mod cli;
pub mod config;
pub mod crypto;
pub mod demo;
pub mod http;
pub mod logging;
pub mod oauth;
pub mod site;
pub mod store;
pub mod telemetry;
pub mod web;

/// Seconds since the Unix epoch: the sign-in layer's clock, the one the server reads.
pub use tessera_services::clock::now;
