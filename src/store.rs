//! The storage the protocol needs, as narrow traits. The server implements them for
//! SQLite and PostgreSQL (`server/src/store`); one test suite runs against both.
//! Times are Unix seconds, passed in by the caller.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::types::{RedirectUri, ScopeSet, Username};

#[derive(Debug, Error)]
pub enum StoreError {
    /// A uniqueness rule was broken; the string names what was duplicated.
    #[error("{0} already exists")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    /// The database failed or is unreachable. The detail is for logs, not for clients.
    #[error("storage error: {0}")]
    Backend(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    /// Argon2id PHC string, never the password.
    pub password_hash: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub is_admin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    /// SHA-256 of the secret; `None` for public clients.
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<RedirectUri>,
    pub scopes: ScopeSet,
    pub is_public: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewClient {
    pub client_id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<RedirectUri>,
    pub scopes: ScopeSet,
    pub is_public: bool,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn create_user(&self, user: NewUser, now: i64) -> Result<User, StoreError>;
    async fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError>;
    /// The user and their password hash, for login.
    async fn credentials_by_username(&self, username: &str) -> Result<Option<(User, String)>, StoreError>;
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    async fn count_users(&self) -> Result<i64, StoreError>;
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn create_client(&self, client: NewClient, now: i64) -> Result<Client, StoreError>;
    async fn client_by_id(&self, client_id: &str) -> Result<Option<Client>, StoreError>;
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    /// Whether a client was removed.
    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError>;
}

/// Everything Tessera stores, behind one object.
#[async_trait]
pub trait Store: UserStore + ClientStore {
    /// One round trip to the database, for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;
    /// "sqlite" or "postgres".
    fn backend(&self) -> &'static str;
}
