//! The server functions the pages call, one module per area. They record UI decisions
//! only, through the sign-in layer (`tessera_services`) and the store; the OAuth protocol
//! endpoints are plain axum routes in the server. Every one is served under `/ui/…`.
//!
//! - [`sign_in`]: the session, login, consent and logout.
//! - [`home`]: the start page and the top bar.
//! - [`account`]: `/account` and `/account/apps` (password change, the apps a user has
//!   allowed, revoking one).
//! - [`device`]: the device flow's pages (RFC 8628): the user code, Allow or Deny.
//! - [`demo`]: the step-by-step demo's page data (the demo's client runs in the server).
//! - [`admin`]: the admin console, one module per resource, administrators only.

pub mod account;
pub mod admin;
pub mod demo;
pub mod device;
pub mod home;
pub mod sign_in;
