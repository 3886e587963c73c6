//! The core's storage traits on SQLite and on PostgreSQL. Both run the same SQL text
//! (`$n` placeholders work on both), written once in `impl_store!`; what differs is how
//! a pool is opened and which migrations directory applies.

mod sessions;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use tessera_core::store::{Client, ClientStore, NewClient, NewUser, Store, StoreError, User, UserStore};
use tessera_core::types::{RedirectUri, ScopeSet};

pub use sessions::SessionBackend;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// An open database: the protocol's store and the session store, on one pool.
#[derive(Clone)]
pub struct Database {
    pub store: Arc<dyn Store>,
    pub sessions: SessionBackend,
}

/// Opens the database named by `url` (`sqlite:` or `postgres:`) and brings its schema up
/// to date. Errors name the URL without its password.
pub async fn open(url: &str) -> anyhow::Result<Database> {
    let shown = redact_url(url);
    if url.starts_with("sqlite:") {
        let pool = open_sqlite(url)
            .await
            .with_context(|| format!("cannot open database {shown}"))?;
        SQLITE_MIGRATIONS
            .run(&pool)
            .await
            .with_context(|| format!("cannot migrate database {shown}"))?;
        let sessions = SessionBackend::sqlite(pool.clone()).await?;
        Ok(Database {
            store: Arc::new(SqliteStore { pool }),
            sessions,
        })
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let options = PgConnectOptions::from_str(url).with_context(|| format!("invalid database URL {shown}"))?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .with_context(|| format!("cannot connect to database {shown}"))?;
        POSTGRES_MIGRATIONS
            .run(&pool)
            .await
            .with_context(|| format!("cannot migrate database {shown}"))?;
        let sessions = SessionBackend::postgres(pool.clone()).await?;
        Ok(Database {
            store: Arc::new(PgStore { pool }),
            sessions,
        })
    } else {
        anyhow::bail!("unsupported database URL {shown}: use sqlite://PATH or postgres://USER@HOST/DB")
    }
}

async fn open_sqlite(url: &str) -> anyhow::Result<SqlitePool> {
    let mut options = SqliteConnectOptions::from_str(url)?;
    if !url.contains("mode=ro") {
        options = options.create_if_missing(true);
    }
    let options = options
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    // Create the directory of a file database, so the default `data/tessera.db` just works.
    let path = options.get_filename();
    if path != std::path::Path::new(":memory:") {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create directory {}", dir.display()))?;
        }
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// The URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

pub struct SqliteStore {
    pool: SqlitePool,
}

pub struct PgStore {
    pool: PgPool,
}

fn backend_err(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Maps a unique-constraint violation to `Conflict(what)`, anything else to `Backend`.
fn insert_err(what: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what.to_owned()),
        _ => backend_err(e),
    }
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    username: String,
    email: Option<String>,
    name: Option<String>,
    is_admin: bool,
    disabled: bool,
    created_at: i64,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            username: r.username,
            email: r.email,
            name: r.name,
            is_admin: r.is_admin,
            disabled: r.disabled,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct CredentialRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    client_id: String,
    name: String,
    secret_hash: Option<String>,
    is_public: bool,
    redirect_uris: String,
    scopes: String,
    created_at: i64,
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;
    fn try_from(r: ClientRow) -> Result<Self, StoreError> {
        let uris: Vec<String> = serde_json::from_str(&r.redirect_uris)
            .map_err(|e| StoreError::Backend(format!("client {}: redirect_uris: {e}", r.client_id)))?;
        let redirect_uris = uris
            .iter()
            .map(|u| RedirectUri::parse(u))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Backend(format!("client {}: {e}", r.client_id)))?;
        let scopes =
            ScopeSet::parse(&r.scopes).map_err(|e| StoreError::Backend(format!("client {}: {e}", r.client_id)))?;
        Ok(Client {
            client_id: r.client_id,
            name: r.name,
            secret_hash: r.secret_hash,
            redirect_uris,
            scopes,
            is_public: r.is_public,
            created_at: r.created_at,
        })
    }
}

const USER_COLUMNS: &str = "id, username, email, name, is_admin, disabled, created_at";
const CLIENT_COLUMNS: &str = "client_id, name, secret_hash, is_public, redirect_uris, scopes, created_at";

macro_rules! impl_store {
    ($store:ty, $backend:literal) => {
        #[async_trait]
        impl UserStore for $store {
            async fn create_user(&self, user: NewUser, now: i64) -> Result<User, StoreError> {
                let id = uuid::Uuid::new_v4().to_string();
                sqlx::query(
                    "INSERT INTO users (id, username, password_hash, email, name, is_admin, disabled, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7)",
                )
                .bind(&id)
                .bind(user.username.as_str())
                .bind(&user.password_hash)
                .bind(&user.email)
                .bind(&user.name)
                .bind(user.is_admin)
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(insert_err("username"))?;
                Ok(User {
                    id,
                    username: user.username.as_str().to_owned(),
                    email: user.email,
                    name: user.name,
                    is_admin: user.is_admin,
                    disabled: false,
                    created_at: now,
                })
            }

            async fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
                let row: Option<UserRow> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend_err)?;
                Ok(row.map(User::from))
            }

            async fn credentials_by_username(&self, username: &str) -> Result<Option<(User, String)>, StoreError> {
                let row: Option<CredentialRow> = sqlx::query_as(&format!(
                    "SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = $1"
                ))
                .bind(username)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend_err)?;
                Ok(row.map(|r| (User::from(r.user), r.password_hash)))
            }

            async fn list_users(&self) -> Result<Vec<User>, StoreError> {
                let rows: Vec<UserRow> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY username"))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend_err)?;
                Ok(rows.into_iter().map(User::from).collect())
            }

            async fn count_users(&self) -> Result<i64, StoreError> {
                sqlx::query_scalar("SELECT COUNT(*) FROM users")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(backend_err)
            }
        }

        #[async_trait]
        impl ClientStore for $store {
            async fn create_client(&self, client: NewClient, now: i64) -> Result<Client, StoreError> {
                let uris: Vec<&str> = client.redirect_uris.iter().map(RedirectUri::as_str).collect();
                let uris_json = serde_json::to_string(&uris).map_err(|e| StoreError::Backend(e.to_string()))?;
                sqlx::query(
                    "INSERT INTO clients (client_id, name, secret_hash, is_public, redirect_uris, scopes, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&client.client_id)
                .bind(&client.name)
                .bind(&client.secret_hash)
                .bind(client.is_public)
                .bind(&uris_json)
                .bind(client.scopes.to_string())
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(insert_err("client_id"))?;
                Ok(Client {
                    client_id: client.client_id,
                    name: client.name,
                    secret_hash: client.secret_hash,
                    redirect_uris: client.redirect_uris,
                    scopes: client.scopes,
                    is_public: client.is_public,
                    created_at: now,
                })
            }

            async fn client_by_id(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
                let row: Option<ClientRow> = sqlx::query_as(&format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1"
                ))
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend_err)?;
                row.map(Client::try_from).transpose()
            }

            async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
                let rows: Vec<ClientRow> = sqlx::query_as(&format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients ORDER BY created_at, client_id"
                ))
                .fetch_all(&self.pool)
                .await
                .map_err(backend_err)?;
                rows.into_iter().map(Client::try_from).collect()
            }

            async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM clients WHERE client_id = $1")
                    .bind(client_id)
                    .execute(&self.pool)
                    .await
                    .map_err(backend_err)?;
                Ok(done.rows_affected() > 0)
            }
        }

        #[async_trait]
        impl Store for $store {
            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1")
                    .execute(&self.pool)
                    .await
                    .map_err(backend_err)?;
                Ok(())
            }

            fn backend(&self) -> &'static str {
                $backend
            }
        }
    };
}

impl_store!(SqliteStore, "sqlite");
impl_store!(PgStore, "postgres");
