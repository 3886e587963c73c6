//! What can fail in this layer: the store, or the session behind the cookie. Neither is
//! the user's fault; adapters answer it as a server error.

use tessera_core::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("session: {0}")]
    Session(#[from] tower_sessions::session::Error),
    /// A background task (an Argon2 hash) failed, or stored JSON did not read back.
    #[error("{0}")]
    Internal(String),
}
