//! The core's storage traits (`tessera_core::store`) on SQLite and on PostgreSQL.
//!
//! Where things are:
//! - `engine.rs`: opening a pool (the SQLite busy handler, PostgreSQL's options) and the
//!   migrations; [`SqlStore`](engine::SqlStore), the open engine.
//! - `query.rs`: how a method runs a statement (`execute`, `one`, `optional`, `all`,
//!   `begin`): the SQL written once, its parameters a tuple, on either engine.
//! - `rows.rs`: rows as the database returns them and their column lists.
//! - One file per thing stored, each holding its table's SQL as `SqlStore` methods:
//!   `users.rs`, `clients.rs`, `scopes.rs`, `keys.rs` (signing keys), `pending.rs`
//!   (pending authorization requests), `grants.rs` (codes, token families, refresh and
//!   revoked access tokens; the few statements the engines spell differently),
//!   `consents.rs`, `throttle.rs` (login back-off), `purge.rs` (the janitor), `backup.rs` (`tessera backup`),
//!   `audit.rs` (the audit log), `replay.rs` (one-time identifiers seen: assertion and
//!   DPoP proof `jti`s), `pushed.rs` (pushed authorization requests, RFC 9126), `apis.rs`
//!   (registered APIs, RFC 8707 resource servers), `device.rs` (device codes, RFC 8628).
//!   (registered APIs, RFC 8707 resource servers), `registration.rs` (dynamic client
//!   registration, RFC 7591/7592: settings, initial access tokens, dynamic clients).
//! - `cached.rs`: the caches in front (`client_cache.rs`, `status_cache.rs`,
//!   `api_cache.rs`) and the
//!   traits' implementation, with every cache invalidation.
//! - `warm.rs`: connections kept between queries; `sessions.rs`: browser sessions.
//!
//! A new table: its migration for both engines (`migrations/`), its row in `rows.rs` if
//! it has one, its queries in a new file here, and a delegating line per trait method in
//! `cached.rs`.

mod api_cache;
mod apis;
mod audit;
mod backup;
mod cached;
mod client_cache;
mod clients;
mod consents;
mod device;
mod engine;
mod grants;
mod keys;
mod pending;
mod purge;
mod pushed;
mod query;
mod registration;
mod replay;
mod rows;
mod scopes;
mod sessions;
pub mod status_cache;
mod throttle;
mod users;
pub mod warm;

use std::sync::Arc;

use tessera_core::store::Store;

use cached::CachedStore;
use engine::SqlStore;

pub use backup::backup;
pub use engine::redact_url;
pub use sessions::SessionBackend;

/// An open database: the protocol's store and the session store, on one pool.
#[derive(Clone)]
pub struct Database {
    pub store: Arc<dyn Store>,
    pub sessions: SessionBackend,
}

/// Every scope name a client or an API may list: the built-in ones, then those defined
/// (the console's Scopes page, `tessera scope add`).
pub async fn scope_names(
    store: &dyn tessera_core::store::Store,
) -> Result<Vec<String>, tessera_core::store::StoreError> {
    let mut known: Vec<String> = tessera_core::scope::builtin_scopes()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    known.extend(store.custom_scopes().await?.into_iter().map(|s| s.name));
    Ok(known)
}

/// Opens the database named by `url` (`sqlite:` or `postgres:`) and brings its schema up
/// to date. Errors name the URL without its password.
pub async fn open(url: &str) -> anyhow::Result<Database> {
    let shown = redact_url(url);
    let (sql, sessions) = if url.starts_with("sqlite:") {
        let pool = engine::sqlite(url, &shown).await?;
        let sessions = SessionBackend::sqlite(pool.clone()).await?;
        (SqlStore::sqlite(pool), sessions)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let pool = engine::postgres(url, &shown).await?;
        let sessions = SessionBackend::postgres(pool.clone()).await?;
        (SqlStore::postgres(pool), sessions)
    } else {
        anyhow::bail!("unsupported database URL {shown}: use sqlite://PATH or postgres://USER@HOST/DB")
    };
    Ok(Database {
        store: Arc::new(CachedStore::new(sql)),
        sessions,
    })
}
