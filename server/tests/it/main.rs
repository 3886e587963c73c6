//! Tessera's integration tests, one binary with a module per area (one link of the whole
//! server instead of one per file). Each module starts real servers on loopback or opens
//! real databases (`common`); the storage suite runs on SQLite and PostgreSQL.
//!
//! - `storage`: the storage traits on both backends, each test once per backend.
//! - `login`: the sign-in layer below HTTP (the password sequence, sessions, password change).
//! - `cli`: the `tessera` command line, run as a process.
//! - `http`: the router: pages, sessions, CSRF, security headers, CORS.
//! - `flow`: the authorization code flow through the real pages, the `oauth2` crate as client.
//! - `par`: pushed authorization requests (RFC 9126): `/par`, then `/authorize` with its
//!   request_uri; one use across instances; PAR required per client and for the server.
//! - `token`: the token, revocation, introspection, userinfo, resource and discovery endpoints.
//! - `account`, `admin`, `demo`: My account / My apps, the admin console, the demo.
//! - `device`: the device authorization grant (RFC 8628): `/device_authorization`, the
//!   `/device` pages, every polling answer, one redemption, user-code guessing throttled.
//! - `dpop`: DPoP (RFC 9449): bound tokens at the token endpoint, the resource and userinfo.
//! - `audit`: the audit log through the real paths (HTTP, `/token`, the console, the CLI).
//! - `metrics`: `GET /metrics`: where it is served, and what it counts.
//! - `registration`: dynamic client registration (RFC 7591) and management (RFC 7592):
//!   modes, refusals, initial access tokens, read/update/delete, the janitor.
//! - `resources`: registered APIs and resource indicators (RFC 8707), PS256.
//! - `resource_metadata`: protected resource metadata (RFC 9728) and `resource_metadata` in 401s.
//! - `sweep`: malformed input to every route.
//! - `lifetimes`: sessions' idle and absolute lifetimes, refresh families' absolute one.
//! - `shutdown`: SIGTERM finishing the request in flight, then exiting.
//! - `site`: the compiled site served from memory (the release binary's embedded copy).
//! - `client_metadata`: Client ID Metadata Documents: a URL client_id fetched from loopback,
//!   the code flow with it, its cache, and every refusal.
//! - `client_keys`: private_key_jwt (inline keys and jwks_uri) and signed request objects.
//! - `cluster`: several `tessera serve` processes on one PostgreSQL.
//! - `crash`: `tessera serve` SIGKILLed under load, then restarted on the same database.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod account;
mod admin;
mod audit;
mod cli;
mod client_keys;
mod client_metadata;
mod cluster;
mod crash;
mod demo;
mod device;
mod dpop;
mod fapi;
mod flow;
mod http;
mod lifetimes;
mod login;
mod metrics;
mod par;
mod registration;
mod resource_metadata;
mod resources;
mod shutdown;
mod site;
mod storage;
mod sweep;
mod token;
