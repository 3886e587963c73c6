//! # Tessera services: the sign-in layer
//!
//! Everything between a browser and the protocol core that is about *who* is asking:
//! the session, the ways to sign in, the pending authorization requests the login and
//! consent pages work on. It depends on the core, tokio and tower-sessions; not on Leptos
//! or axum. The UI (`tessera-app`) and the server's OAuth endpoints both call it, and the
//! OAuth endpoints never import the UI crate.
//!
//! # Layout
//! - [`audit`]: recording a security event — one `tessera::audit` log line and one row,
//!   best-effort (a failed write is logged, never the caller's failure).
//! - [`session`]: what a browser session holds about its user — who signed in, **how**
//!   (the methods used, RFC 8176 `amr` values) and **when** (`auth_time`) — and whether it
//!   still speaks for them.
//! - [`login`]: the sign-in steps. Each method is one function returning a
//!   [`login::Outcome`] (`SignedIn`, `Invalid`, `Throttled`, `Busy`); the password one is
//!   the sequence back-off → one turn per account → Argon2 → counters → new session id.
//!   A second factor or an upstream provider is another function here, recording its
//!   [`session::Method`] with [`session::sign_in`].
//! - [`password`]: a user changing their own password, an administrator resetting one.
//! - [`csrf`]: the per-session CSRF token, and the anonymous double-submit cookie.
//! - [`pending`]: pending authorization requests by the opaque id the browser carries, and
//!   the per-address limit on starting new ones.
//! - [`pushed`]: pushed authorization requests (RFC 9126) by their `request_uri`, taken
//!   once at `/authorize`.
//! - [`device`]: the user's side of the device grant (RFC 8628): the user code entered
//!   at `/device` under a back-off like passwords', kept in the session, and the decision.
//! - [`argon`]: the bounded Argon2 pool and the per-account turn.
//! - [`clock`]: the time, passed in everywhere else.
//! - [`error`]: [`ServiceError`], what can fail below the UI (storage, session).

pub mod argon;
pub mod audit;
pub mod clock;
pub mod csrf;
pub mod device;
pub mod error;
pub mod login;
pub mod password;
pub mod pending;
pub mod pushed;
pub mod session;

pub use error::ServiceError;
