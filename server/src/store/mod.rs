//! The core's storage traits on SQLite and on PostgreSQL. Both run the same SQL text
//! (`$n` placeholders work on both), written once in `impl_store!`; what differs is how
//! a pool is opened and which migrations directory applies.

mod client_cache;
mod engine;
mod rows;
mod sessions;
pub mod status_cache;
pub mod warm;

use std::sync::Arc;

use client_cache::ClientCache;
use rows::*;
use status_cache::StatusCache;

use async_trait::async_trait;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use tessera_core::store::{
    AccessTokenStatus, AccountStore, AdminStore, Client, ClientStore, ClientUpdate, CodeRedemption, Consent,
    ConsentEntry, ConsentedClient, CustomScope, FamilyEntry, GrantsOf, KeyRecord, NewClient, NewUser, OAuthStore,
    Purged, Store, StoreError, User, UserStore,
};
use tessera_core::throttle::Backoff;
use tessera_core::token::{CodeRecord, RefreshRecord};
use tessera_core::types::{RedirectUri, ScopeSet};

pub use engine::redact_url;
pub use sessions::SessionBackend;

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
        let pool = engine::sqlite(url, &shown).await?;
        let sessions = SessionBackend::sqlite(pool.clone()).await?;
        Ok(Database {
            store: Arc::new(SqliteStore {
                // 12 of 16 kept: 8% more refreshes and 7% more code flows per second than
                // 4 of 8 (fewer queries paying the pool's return ping), 1.6 MiB more RSS.
                warm: warm::Warm::new(pool.clone(), 12),
                pool,
                clients: ClientCache::default(),
                status: StatusCache::default(),
            }),
            sessions,
        })
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let pool = engine::postgres(url, &shown).await?;
        let sessions = SessionBackend::postgres(pool.clone()).await?;
        Ok(Database {
            store: Arc::new(PgStore {
                warm: warm::Warm::new(pool.clone(), 8),
                pool,
                clients: ClientCache::default(),
                status: StatusCache::default(),
            }),
            sessions,
        })
    } else {
        anyhow::bail!("unsupported database URL {shown}: use sqlite://PATH or postgres://USER@HOST/DB")
    }
}

pub struct SqliteStore {
    pool: SqlitePool,
    warm: warm::Warm<sqlx::Sqlite>,
    clients: ClientCache,
    status: StatusCache,
}

pub struct PgStore {
    pool: PgPool,
    warm: warm::Warm<sqlx::Postgres>,
    clients: ClientCache,
    status: StatusCache,
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

/// The statements SQLite and PostgreSQL spell differently: two steps in one round trip.
/// SQLite runs a `;`-separated list in one call (sqlx binds `$n` by number in each
/// statement); PostgreSQL takes one statement per call, so there it is a data-modifying
/// CTE, which is also atomic.
struct Dialect {
    /// `$1` code hash, `$2` now. Marks the code used if it was not, reads it with `won`
    /// (1 if this call marked it) and its user, and, if this call won, creates the code's
    /// token family (unless a replay created it first). SQLite's `changes()` is the count
    /// of the last INSERT/UPDATE/DELETE, so the SELECT between leaves it the UPDATE's.
    redeem_code: &'static str,
    /// `$1` old hash, `$2` now, `$3` successor hash, `$4` successor expiry.
    rotate_refresh: &'static str,
    /// Rows `rotate_refresh` affects when it rotated: 2 on SQLite (the successor inserted,
    /// the old token updated by the same statement), 1 on PostgreSQL (the INSERT fed by
    /// the UPDATE); 0 when the token was no longer current.
    rotated_rows: u64,
}

const SQLITE: Dialect = Dialect {
    redeem_code: concat!(
        "UPDATE auth_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL AND client_id = $3; \
         SELECT c.family_id, c.client_id, c.user_id, c.redirect_uri, c.redirect_uri_given, c.scopes, c.nonce, \
         c.code_challenge, c.auth_time, c.expires_at, c.used_at, changes() AS won, \
         (SELECT f.revoked_at FROM token_families f WHERE f.family_id = c.family_id) AS family_revoked_at, \
         ",
        joined_user_columns!(),
        " FROM auth_codes c LEFT JOIN users u ON u.id = c.user_id WHERE c.code_hash = $1; \
         INSERT INTO token_families (family_id, client_id, user_id, scopes, created_at) \
         SELECT family_id, client_id, user_id, scopes, $2 FROM auth_codes WHERE code_hash = $1 AND changes() = 1 \
         ON CONFLICT (family_id) DO NOTHING"
    ),
    // One statement, so one transaction and one commit (it was an INSERT then an UPDATE,
    // two commits). While the old token is current, the SELECT yields two rows with its
    // grant: one under the successor's hash (inserted) and one under its own hash, which
    // conflicts with it and so, through the upsert, marks it rotated. SQLite reads the
    // SELECT in full before inserting (it reads the table written to), and a statement
    // holds the write lock throughout: nobody rotates in between.
    rotate_refresh: "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scopes, auth_time, \
         created_at, expires_at) \
         SELECT n.token_hash, r.family_id, r.client_id, r.user_id, r.scopes, r.auth_time, $2, $4 \
         FROM refresh_tokens r, (SELECT $1 AS token_hash UNION ALL SELECT $3) AS n \
         WHERE r.token_hash = $1 AND r.rotated_at IS NULL AND r.revoked_at IS NULL \
         AND EXISTS (SELECT 1 FROM token_families f WHERE f.family_id = r.family_id AND f.revoked_at IS NULL) \
         ON CONFLICT (token_hash) DO UPDATE SET rotated_at = excluded.created_at \
         WHERE refresh_tokens.token_hash = $1",
    rotated_rows: 2,
};

const POSTGRES: Dialect = Dialect {
    redeem_code: concat!(
        "WITH won AS (UPDATE auth_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL AND client_id = $3 \
         RETURNING family_id, client_id, user_id, scopes), \
         family AS (INSERT INTO token_families (family_id, client_id, user_id, scopes, created_at) \
         SELECT family_id, client_id, user_id, scopes, $2 FROM won ON CONFLICT (family_id) DO NOTHING) \
         SELECT c.family_id, c.client_id, c.user_id, c.redirect_uri, c.redirect_uri_given, c.scopes, c.nonce, \
         c.code_challenge, c.auth_time, c.expires_at, c.used_at, (SELECT COUNT(*) FROM won) AS won, \
         (SELECT f.revoked_at FROM token_families f WHERE f.family_id = c.family_id) AS family_revoked_at, \
         ", joined_user_columns!(), " FROM auth_codes c LEFT JOIN users u ON u.id = c.user_id WHERE c.code_hash = $1"
    ),
    rotate_refresh: "WITH old AS (UPDATE refresh_tokens SET rotated_at = $2 \
         WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL AND EXISTS \
         (SELECT 1 FROM token_families f WHERE f.family_id = refresh_tokens.family_id AND f.revoked_at IS NULL) \
         RETURNING family_id, client_id, user_id, scopes, auth_time) \
         INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scopes, auth_time, created_at, expires_at) \
         SELECT $3, family_id, client_id, user_id, scopes, auth_time, $2, $4 FROM old",
    rotated_rows: 1,
};

macro_rules! impl_store {
    ($store:ty, $backend:literal, $dialect:ident) => {
        impl $store {
            /// Maps a driver error, retiring the kept connections if it says one broke.
            fn sql_err(&self) -> impl Fn(sqlx::Error) -> StoreError + '_ {
                move |e| backend_err(self.warm.saw(e))
            }

            /// [`insert_err`], retiring the kept connections if one broke.
            fn sql_insert_err<'a>(&'a self, what: &'a str) -> impl FnOnce(sqlx::Error) -> StoreError + 'a {
                move |e| insert_err(what)(self.warm.saw(e))
            }

            /// The generation to cache an access-token status under, reading the database's
            /// `status_epoch` first when the last read is too old; `None` while another
            /// request reads it (answer from the database, uncached).
            async fn status_generation(&self) -> Result<Option<status_cache::Generation>, StoreError> {
                if let Some(generation) = self.status.generation() {
                    return Ok(Some(generation));
                }
                let Some(read) = self.status.start_counter_read() else {
                    return Ok(None);
                };
                let n: i64 = sqlx::query_scalar("SELECT n FROM status_epoch WHERE id = 1")
                    .fetch_one(&mut *self.warm.lease().await?)
                    .await
                    .map_err(self.sql_err())?;
                read.finish(n);
                Ok(self.status.generation())
            }
        }

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
                .execute(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_insert_err("username"))?;
                Ok(User {
                    id,
                    username: user.username.as_str().to_owned(),
                    email: user.email,
                    name: user.name,
                    is_admin: user.is_admin,
                    disabled: false,
                    created_at: now,
                    password_epoch: 0,
                })
            }

            async fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
                let row: Option<UserRow> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *self.warm.lease().await?)
                    .await
                    .map_err(self.sql_err())?;
                Ok(row.map(User::from))
            }

            async fn credentials_by_username(&self, username: &str) -> Result<Option<(User, String)>, StoreError> {
                let row: Option<CredentialRow> = sqlx::query_as(&format!(
                    "SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = $1"
                ))
                .bind(username)
                .fetch_optional(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_err())?;
                Ok(row.map(|r| (User::from(r.user), r.password_hash)))
            }

            async fn list_users(&self) -> Result<Vec<User>, StoreError> {
                let rows: Vec<UserRow> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY username"))
                    .fetch_all(&mut *self.warm.lease().await?)
                    .await
                    .map_err(self.sql_err())?;
                Ok(rows.into_iter().map(User::from).collect())
            }

            async fn count_users(&self) -> Result<i64, StoreError> {
                sqlx::query_scalar("SELECT COUNT(*) FROM users")
                    .fetch_one(&mut *self.warm.lease().await?)
                    .await
                    .map_err(self.sql_err())
            }
        }

        #[async_trait]
        impl ClientStore for $store {
            async fn create_client(&self, client: NewClient, now: i64) -> Result<Client, StoreError> {
                let uris: Vec<&str> = client.redirect_uris.iter().map(RedirectUri::as_str).collect();
                let uris_json = serde_json::to_string(&uris).map_err(|e| StoreError::Backend(e.to_string()))?;
                let st = &client.settings;
                sqlx::query(
                    "INSERT INTO clients (client_id, name, secret_hash, is_public, redirect_uris, scopes, created_at, \
                     description, logo_uri, grant_types, require_pkce, access_token_ttl, refresh_token_ttl, \
                     access_token_alg, id_token_alg) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                )
                .bind(&client.client_id)
                .bind(&client.name)
                .bind(&client.secret_hash)
                .bind(client.is_public)
                .bind(&uris_json)
                .bind(client.scopes.to_string())
                .bind(now)
                .bind(&st.description)
                .bind(&st.logo_uri)
                .bind(st.grant_types.join(" "))
                .bind(st.require_pkce)
                .bind(st.access_token_ttl)
                .bind(st.refresh_token_ttl)
                .bind(&st.access_token_alg)
                .bind(&st.id_token_alg)
                .execute(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_insert_err("client_id"))?;
                Ok(Client {
                    client_id: client.client_id,
                    name: client.name,
                    secret_hash: client.secret_hash,
                    redirect_uris: client.redirect_uris,
                    scopes: client.scopes,
                    is_public: client.is_public,
                    created_at: now,
                    settings: client.settings,
                })
            }

            async fn client_by_id(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
                if let Some(client) = self.clients.get(client_id) {
                    return Ok(Some(client));
                }
                let generation = self.clients.generation();
                let row: Option<ClientRow> = sqlx::query_as(&format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1"
                ))
                .bind(client_id)
                .fetch_optional(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_err())?;
                let client = row.map(Client::try_from).transpose()?;
                if let Some(c) = &client {
                    self.clients.put(c, generation);
                }
                Ok(client)
            }

            async fn client_exists(&self, client_id: &str) -> Result<bool, StoreError> {
                Ok(self.clients.contains(client_id) || self.client_by_id(client_id).await?.is_some())
            }

            async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
                let rows: Vec<ClientRow> = sqlx::query_as(&format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients ORDER BY created_at, client_id"
                ))
                .fetch_all(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_err())?;
                rows.into_iter().map(Client::try_from).collect()
            }

            async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM clients WHERE client_id = $1")
                    .bind(client_id)
                    .execute(&mut *self.warm.lease().await?)
                    .await;
                // After the write, never before: a read between the two would cache the old row.
                self.clients.forget(client_id);
                Ok(done.map_err(self.sql_err())?.rows_affected() > 0)
            }
        }

        #[async_trait]
        impl OAuthStore for $store {
            async fn signing_keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
                let rows: Vec<KeyRow> = sqlx::query_as(
                    "SELECT kid, alg, private_key, created_at, retired_at FROM signing_keys ORDER BY created_at, kid",
                )
                .fetch_all(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_err())?;
                Ok(rows
                    .into_iter()
                    .map(|r| KeyRecord {
                        kid: r.kid,
                        alg: r.alg,
                        private_der: r.private_key,
                        created_at: r.created_at,
                        retired_at: r.retired_at,
                    })
                    .collect())
            }

            async fn insert_signing_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO signing_keys (kid, alg, private_key, created_at, retired_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&key.kid)
                .bind(&key.alg)
                .bind(&key.private_der)
                .bind(key.created_at)
                .bind(key.retired_at)
                .execute(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_insert_err("kid"))?;
                Ok(())
            }

            async fn retire_signing_keys(&self, alg: &str, keep_kid: &str, now: i64) -> Result<u64, StoreError> {
                let done = sqlx::query(
                    "UPDATE signing_keys SET retired_at = $3 WHERE alg = $1 AND kid <> $2 AND retired_at IS NULL",
                )
                .bind(alg)
                .bind(keep_kid)
                .bind(now)
                .execute(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_err())?;
                Ok(done.rows_affected())
            }

            async fn replace_signing_key_material(&self, kid: &str, private_der: &[u8]) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE signing_keys SET private_key = $2 WHERE kid = $1")
                    .bind(kid)
                    .bind(private_der)
                    .execute(&mut *self.warm.lease().await?)
                    .await
                    .map_err(self.sql_err())?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_signing_key_retired_at(&self, kid: &str, retired_at: i64) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE signing_keys SET retired_at = $2 WHERE kid = $1")
                    .bind(kid)
                    .bind(retired_at)
                    .execute(&mut *self.warm.lease().await?)
                    .await
                    .map_err(self.sql_err())?;
                Ok(done.rows_affected() == 1)
            }

            async fn put_auth_request(
                &self,
                id_hash: &str,
                client_id: &str,
                request_json: &str,
                now: i64,
                expires_at: i64,
                max_per_client: i64,
            ) -> Result<bool, StoreError> {
                // The cap in the INSERT itself (one round trip, no count-then-insert race
                // wider than one statement); counted on the (client_id, expires_at) index.
                let done = sqlx::query(
                    "INSERT INTO auth_requests (id_hash, client_id, request, created_at, expires_at) \
                     SELECT $1, $2, $3, $4, $5 WHERE (SELECT COUNT(*) FROM auth_requests \
                     WHERE client_id = $2 AND expires_at > $4) < $6",
                )
                .bind(id_hash)
                .bind(client_id)
                .bind(request_json)
                .bind(now)
                .bind(expires_at)
                .bind(max_per_client)
                .execute(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_insert_err("authorization request"))?;
                Ok(done.rows_affected() == 1)
            }

            async fn auth_request(&self, id_hash: &str, now: i64) -> Result<Option<String>, StoreError> {
                sqlx::query_scalar("SELECT request FROM auth_requests WHERE id_hash = $1 AND expires_at > $2")
                    .bind(id_hash)
                    .bind(now)
                    .fetch_optional(&mut *self.warm.lease().await?)
                    .await
                    .map_err(self.sql_err())
            }

            async fn update_auth_request(&self, id_hash: &str, request_json: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE auth_requests SET request = $2 WHERE id_hash = $1")
                    .bind(id_hash)
                    .bind(request_json)
                    .execute(&mut *self.warm.lease().await?)
                    .await
                    .map_err(self.sql_err())?;
                Ok(())
            }

            async fn delete_auth_request(&self, id_hash: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM auth_requests WHERE id_hash = $1")
                    .bind(id_hash)
                    .execute(&mut *self.warm.lease().await?)
                    .await
                    .map_err(self.sql_err())?;
                Ok(done.rows_affected() == 1)
            }

            async fn put_code(
                &self,
                code_hash: &str,
                family_id: &str,
                r: &CodeRecord,
                now: i64,
            ) -> Result<(), StoreError> {
                sqlx::query(&format!(
                    "INSERT INTO auth_codes (code_hash, {CODE_COLUMNS}, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $12)"
                ))
                .bind(code_hash)
                .bind(family_id)
                .bind(&r.client_id)
                .bind(&r.user_id)
                .bind(r.redirect_uri.as_str())
                .bind(r.redirect_uri_in_request)
                .bind(r.scopes.to_string())
                .bind(&r.nonce)
                .bind(r.pkce.as_ref().map(|p| p.as_str().to_owned()))
                .bind(r.auth_time)
                .bind(r.expires_at)
                .bind(now)
                .execute(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_insert_err("code"))?;
                Ok(())
            }

            async fn redeem_code(&self, code_hash: &str, client_id: &str, now: i64) -> Result<CodeRedemption, StoreError> {
                // One conditional UPDATE: the database decides which concurrent caller wins.
                #[derive(sqlx::FromRow)]
                struct Row {
                    #[sqlx(flatten)]
                    code: CodeRow,
                    won: i64,
                    family_revoked_at: Option<i64>,
                    #[sqlx(flatten)]
                    user: JoinedUserRow,
                }
                // Every statement must run (SQLite's list ends with the INSERT): fetch_all.
                let row: Option<Row> = sqlx::query_as($dialect.redeem_code)
                    .bind(code_hash)
                    .bind(now)
                    .bind(client_id)
                    .fetch_all(&mut *self.warm.lease().await?)
                    .await
                    .map_err(self.sql_err())?
                    .pop();
                Ok(match row {
                    None => CodeRedemption::Unknown,
                    // Left unspent: the code is bound to its client before it is burned.
                    Some(row) if row.code.client_id != client_id => CodeRedemption::OtherClient,
                    Some(row) if row.won == 1 => {
                        let (mut record, family_id) = row.code.into_record()?;
                        record.used = false;
                        CodeRedemption::Redeemed {
                            record,
                            family_id,
                            family_revoked: row.family_revoked_at.is_some(),
                            user: row.user.into_user(),
                        }
                    }
                    Some(row) => CodeRedemption::AlreadyUsed {
                        family_id: row.code.family_id,
                    },
                })
            }

            async fn revoke_family(&self, family_id: &str, now: i64) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(self.sql_err())?;
                // The family may not exist yet (a replay racing the first exchange): create
                // it revoked from its code, so the first exchange's tokens are born revoked.
                sqlx::query(
                    "INSERT INTO token_families (family_id, client_id, user_id, scopes, created_at, revoked_at) \
                     SELECT family_id, client_id, user_id, scopes, $2, $2 FROM auth_codes WHERE family_id = $1 \
                     ON CONFLICT (family_id) DO NOTHING",
                )
                .bind(family_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(self.sql_err())?;
                sqlx::query("UPDATE token_families SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
                    .bind(family_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(self.sql_err())?;
                sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
                    .bind(family_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(self.sql_err())?;
                let committed = tx.commit().await.map_err(self.sql_err());
                self.status.invalidate();
                committed
            }

            async fn is_family_revoked(&self, family_id: &str) -> Result<bool, StoreError> {
                let revoked: Option<Option<i64>> =
                    sqlx::query_scalar("SELECT revoked_at FROM token_families WHERE family_id = $1")
                        .bind(family_id)
                        .fetch_optional(&mut *self.warm.lease().await?)
                        .await
                        .map_err(self.sql_err())?;
                Ok(matches!(revoked, Some(Some(_))))
            }

            async fn put_refresh_token(&self, token_hash: &str, r: &RefreshRecord, now: i64) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scopes, auth_time, \
                     created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(token_hash)
                .bind(&r.family_id)
                .bind(&r.client_id)
                .bind((!r.user_id.is_empty()).then_some(r.user_id.as_str()))
                .bind(r.scopes.to_string())
                .bind(r.auth_time)
                .bind(now)
                .bind(r.expires_at)
                .execute(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_insert_err("refresh token"))?;
                Ok(())
            }

            async fn refresh_grant(
                &self,
                token_hash: &str,
            ) -> Result<Option<(RefreshRecord, Option<User>)>, StoreError> {
                #[derive(sqlx::FromRow)]
                struct Row {
                    #[sqlx(flatten)]
                    token: RefreshRow,
                    #[sqlx(flatten)]
                    user: JoinedUserRow,
                }
                let row: Option<Row> = sqlx::query_as(&format!(
                    "SELECT r.family_id, r.client_id, r.user_id, r.scopes, r.auth_time, r.expires_at, r.rotated_at, \
                     {REFRESH_REVOKED_AT}, {JOINED_USER_COLUMNS} \
                     FROM refresh_tokens r LEFT JOIN token_families f ON f.family_id = r.family_id \
                     LEFT JOIN users u ON u.id = r.user_id WHERE r.token_hash = $1"
                ))
                .bind(token_hash)
                .fetch_optional(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_err())?;
                row.map(|r| Ok((RefreshRecord::try_from(r.token)?, r.user.into_user())))
                    .transpose()
            }

            async fn rotate_refresh_token(
                &self,
                token_hash: &str,
                successor_hash: &str,
                successor_expires_at: i64,
                now: i64,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query($dialect.rotate_refresh)
                    .bind(token_hash)
                    .bind(now)
                    .bind(successor_hash)
                    .bind(successor_expires_at)
                    .execute(&mut *self.warm.lease().await?)
                    .await
                    .map_err(self.sql_insert_err("refresh token"))?;
                // One statement on both backends: it rotated entirely or not at all.
                Ok(done.rows_affected() == $dialect.rotated_rows)
            }

            async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
                let done = sqlx::query(
                    "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
                )
                .bind(jti)
                .bind(expires_at)
                .execute(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_err());
                self.status.invalidate();
                done.map(|_| ())
            }

            async fn purge_expired(&self, now: i64, grace: i64) -> Result<Purged, StoreError> {
                // Each statement deletes at most BATCH rows, so that on SQLite no request
                // waits behind a long write; expired rows are the oldest, found first.
                const BATCH: u64 = 500;
                let old = now.saturating_sub(grace);
                let steps: [(String, i64); 7] = [
                    (
                        format!("DELETE FROM revoked_access_tokens WHERE jti IN \
                         (SELECT jti FROM revoked_access_tokens WHERE expires_at < $1 LIMIT {BATCH})"),
                        now,
                    ),
                    (
                        format!("DELETE FROM auth_codes WHERE code_hash IN \
                         (SELECT code_hash FROM auth_codes WHERE expires_at < $1 LIMIT {BATCH})"),
                        old,
                    ),
                    (
                        format!("DELETE FROM refresh_tokens WHERE token_hash IN \
                         (SELECT token_hash FROM refresh_tokens WHERE expires_at < $1 LIMIT {BATCH})"),
                        old,
                    ),
                    // A revoked family's refresh tokens first (the foreign key would cascade,
                    // but not every SQLite connection enforces it), then the family. A family
                    // starts when its code is redeemed, so a day-old family's code has expired
                    // and gone in the step above, give or take its 60 s; should that spent
                    // code be replayed, revoking a family that no longer exists still works.
                    (
                        format!("DELETE FROM refresh_tokens WHERE token_hash IN \
                         (SELECT r.token_hash FROM refresh_tokens r JOIN token_families f \
                          ON f.family_id = r.family_id WHERE f.revoked_at < $1 LIMIT {BATCH})"),
                        old,
                    ),
                    (
                        format!("DELETE FROM token_families WHERE family_id IN \
                         (SELECT f.family_id FROM token_families f WHERE \
                          (f.revoked_at < $1 OR (f.created_at < $1 \
                           AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family_id = f.family_id))) \
                          LIMIT {BATCH})"),
                        old,
                    ),
                    // Not grants, not counted: authorization requests an hour past their
                    // expiry, and login-failure counters nobody has touched for a day and
                    // that block nothing (a counter that old starts over anyway).
                    (
                        format!("DELETE FROM auth_requests WHERE id_hash IN \
                         (SELECT id_hash FROM auth_requests WHERE expires_at < $1 LIMIT {BATCH})"),
                        now.saturating_sub(3600),
                    ),
                    (
                        format!("DELETE FROM login_failures WHERE key IN \
                         (SELECT key FROM login_failures WHERE window_start < $1 \
                          AND COALESCE(blocked_until, 0) < $1 + 86400 LIMIT {BATCH})"),
                        now.saturating_sub(86_400),
                    ),
                ];
                let mut counts = [0u64; 7];
                for (i, (sql, cutoff)) in steps.iter().enumerate() {
                    loop {
                        let done = sqlx::query(sql)
                            .bind(*cutoff)
                            .execute(&mut *self.warm.lease().await?)
                            .await
                            .map_err(self.sql_err())?
                            .rows_affected();
                        counts[i] += done;
                        if done < BATCH {
                            break;
                        }
                        tokio::task::yield_now().await;
                    }
                }
                Ok(Purged {
                    revoked_access_tokens: counts[0],
                    codes: counts[1],
                    refresh_tokens: counts[2] + counts[3],
                    families: counts[4],
                })
            }

            async fn access_token_status(
                &self,
                jti: &str,
                family_id: Option<&str>,
                user_id: Option<&str>,
            ) -> Result<AccessTokenStatus, StoreError> {
                // Unchanged since it was last asked, as far as writes anywhere tell
                // (`status_cache`): no round trip.
                let generation = self.status_generation().await?;
                if let Some(generation) = generation {
                    if let Some(hit) = self.status.get(jti, family_id, user_id, generation) {
                        return Ok(hit);
                    }
                }
                // One round trip: both revocation checks, and the user row when asked for
                // (a LEFT JOIN against a one-row table, so "no such user" is still a row).
                #[derive(sqlx::FromRow)]
                struct Row {
                    revoked: i64,
                    #[sqlx(flatten)]
                    user: JoinedUserRow,
                }
                let row: Row = sqlx::query_as(&format!(
                    "SELECT (SELECT COUNT(*) FROM revoked_access_tokens WHERE jti = $1) + \
                     (SELECT COUNT(*) FROM token_families WHERE family_id = $2 AND revoked_at IS NOT NULL) AS revoked, \
                     {JOINED_USER_COLUMNS} FROM (SELECT 1 AS one) AS one LEFT JOIN users u ON u.id = $3",
                ))
                .bind(jti)
                .bind(family_id.unwrap_or(""))
                .bind(user_id.unwrap_or(""))
                .fetch_one(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_err())?;
                let status = AccessTokenStatus {
                    revoked: row.revoked > 0,
                    user: row.user.into_user(),
                };
                if let Some(generation) = generation {
                    self.status.put(jti, family_id, user_id, generation, &status);
                }
                Ok(status)
            }

            async fn user_and_consent(
                &self,
                user_id: &str,
                client_id: &str,
            ) -> Result<Option<(User, Option<Consent>)>, StoreError> {
                #[derive(sqlx::FromRow)]
                struct Row {
                    #[sqlx(flatten)]
                    user: UserRow,
                    consent_scopes: Option<String>,
                    granted_at: Option<i64>,
                }
                let row: Option<Row> = sqlx::query_as(
                    "SELECT u.id, u.username, u.email, u.name, u.is_admin, u.disabled, u.created_at, u.password_epoch, \
                     c.scopes AS consent_scopes, c.granted_at \
                     FROM users u LEFT JOIN consents c ON c.user_id = u.id AND c.client_id = $2 WHERE u.id = $1",
                )
                .bind(user_id)
                .bind(client_id)
                .fetch_optional(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_err())?;
                row.map(|r| {
                    let consent = match (r.consent_scopes, r.granted_at) {
                        (Some(scopes), Some(granted_at)) => Some(Consent {
                            user_id: user_id.to_owned(),
                            client_id: client_id.to_owned(),
                            scopes: scopes_of(&scopes)?,
                            granted_at,
                        }),
                        _ => None,
                    };
                    Ok((User::from(r.user), consent))
                })
                .transpose()
            }

            async fn grant_consent(
                &self,
                user_id: &str,
                client_id: &str,
                scopes: &ScopeSet,
                now: i64,
            ) -> Result<(), StoreError> {
                let merged = match self.consent(user_id, client_id).await? {
                    Some(existing) => scopes_of(&format!("{} {}", existing.scopes, scopes))?,
                    None => scopes.clone(),
                };
                sqlx::query(
                    "INSERT INTO consents (user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = $3, granted_at = $4",
                )
                .bind(user_id)
                .bind(client_id)
                .bind(merged.to_string())
                .bind(now)
                .execute(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_err())?;
                Ok(())
            }
        }

        #[async_trait]
        impl AccountStore for $store {
            async fn set_password(&self, user_id: &str, password_hash: &str) -> Result<Option<i64>, StoreError> {
                let epoch = sqlx::query_scalar(
                    "UPDATE users SET password_hash = $2, password_epoch = password_epoch + 1 WHERE id = $1 \
                     RETURNING password_epoch",
                )
                .bind(user_id)
                .bind(password_hash)
                .fetch_optional(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_err());
                self.status.invalidate();
                epoch
            }

            async fn consents_for_user(&self, user_id: &str) -> Result<Vec<ConsentedClient>, StoreError> {
                let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
                    "SELECT c.client_id, cl.name, c.scopes, c.granted_at FROM consents c \
                     JOIN clients cl ON cl.client_id = c.client_id \
                     WHERE c.user_id = $1 ORDER BY cl.name, c.client_id",
                )
                .bind(user_id)
                .fetch_all(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_err())?;
                rows.into_iter()
                    .map(|(client_id, client_name, scopes, granted_at)| {
                        Ok(ConsentedClient {
                            consent: Consent {
                                user_id: user_id.to_owned(),
                                client_id,
                                scopes: scopes_of(&scopes)?,
                                granted_at,
                            },
                            client_name,
                        })
                    })
                    .collect()
            }

            async fn revoke_consent(&self, user_id: &str, client_id: &str, now: i64) -> Result<bool, StoreError> {
                // One transaction: no moment where the consent is gone but its tokens live.
                let mut tx = self.pool.begin().await.map_err(self.sql_err())?;
                // #18 item 4: a code still in flight must not become a grant after this.
                // Every code of this user and client gets its family, born revoked (a code
                // being redeemed right now included), and the unused ones are spent, so a
                // redemption sees a used code.
                sqlx::query(
                    "INSERT INTO token_families (family_id, client_id, user_id, scopes, created_at, revoked_at) \
                     SELECT family_id, client_id, user_id, scopes, $3, $3 FROM auth_codes \
                     WHERE user_id = $1 AND client_id = $2 ON CONFLICT (family_id) DO NOTHING",
                )
                .bind(user_id)
                .bind(client_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(self.sql_err())?;
                sqlx::query("UPDATE auth_codes SET used_at = $3 WHERE user_id = $1 AND client_id = $2 AND used_at IS NULL")
                    .bind(user_id)
                    .bind(client_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(self.sql_err())?;
                let done = sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
                    .bind(user_id)
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(self.sql_err())?;
                sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $3 WHERE revoked_at IS NULL AND family_id IN \
                     (SELECT family_id FROM token_families WHERE user_id = $1 AND client_id = $2)",
                )
                .bind(user_id)
                .bind(client_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(self.sql_err())?;
                sqlx::query(
                    "UPDATE token_families SET revoked_at = $3 \
                     WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL",
                )
                .bind(user_id)
                .bind(client_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(self.sql_err())?;
                let committed = tx.commit().await.map_err(self.sql_err());
                self.status.invalidate();
                committed?;
                Ok(done.rows_affected() > 0)
            }

            async fn login_blocked_until(&self, keys: &[String], now: i64) -> Result<Option<i64>, StoreError> {
                let mut latest: Option<i64> = None;
                for key in keys {
                    let until: Option<Option<i64>> =
                        sqlx::query_scalar("SELECT blocked_until FROM login_failures WHERE key = $1")
                            .bind(key)
                            .fetch_optional(&mut *self.warm.lease().await?)
                            .await
                            .map_err(self.sql_err())?;
                    if let Some(Some(until)) = until {
                        if until > now {
                            latest = Some(latest.map_or(until, |l| l.max(until)));
                        }
                    }
                }
                Ok(latest)
            }

            async fn record_login_failure(
                &self,
                key: &str,
                policy: &Backoff,
                now: i64,
            ) -> Result<Option<i64>, StoreError> {
                // The increment is one upsert, so concurrent failures on several instances
                // all count; a run older than the window starts over.
                let failures: i64 = sqlx::query_scalar(
                    "INSERT INTO login_failures (key, failures, window_start, blocked_until) \
                     VALUES ($1, 1, $2, NULL) \
                     ON CONFLICT (key) DO UPDATE SET \
                       failures = CASE WHEN login_failures.window_start <= $3 THEN 1 \
                                       ELSE login_failures.failures + 1 END, \
                       window_start = CASE WHEN login_failures.window_start <= $3 THEN $2 \
                                           ELSE login_failures.window_start END \
                     RETURNING failures",
                )
                .bind(key)
                .bind(now)
                .bind(now - policy.window)
                .fetch_one(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_err())?;
                let block = policy.block_for(failures);
                if block == 0 {
                    return Ok(None);
                }
                let until = now + block;
                sqlx::query(
                    "UPDATE login_failures SET blocked_until = $2 \
                     WHERE key = $1 AND (blocked_until IS NULL OR blocked_until < $2)",
                )
                .bind(key)
                .bind(until)
                .execute(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_err())?;
                Ok(Some(until))
            }

            async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM login_failures WHERE key = $1")
                    .bind(key)
                    .execute(&mut *self.warm.lease().await?)
                    .await
                    .map_err(self.sql_err())?;
                Ok(())
            }
        }

        #[async_trait]
        impl AdminStore for $store {
            async fn update_client(&self, client_id: &str, u: &ClientUpdate) -> Result<bool, StoreError> {
                let uris: Vec<&str> = u.redirect_uris.iter().map(RedirectUri::as_str).collect();
                let uris_json = serde_json::to_string(&uris).map_err(|e| StoreError::Backend(e.to_string()))?;
                let st = &u.settings;
                // One statement: the client changes as a whole or not at all.
                let done = sqlx::query(
                    "UPDATE clients SET name = $2, redirect_uris = $3, scopes = $4, description = $5, logo_uri = $6, \
                     grant_types = $7, require_pkce = $8, access_token_ttl = $9, refresh_token_ttl = $10, \
                     access_token_alg = $11, id_token_alg = $12 WHERE client_id = $1",
                )
                .bind(client_id)
                .bind(&u.name)
                .bind(&uris_json)
                .bind(u.scopes.to_string())
                .bind(&st.description)
                .bind(&st.logo_uri)
                .bind(st.grant_types.join(" "))
                .bind(st.require_pkce)
                .bind(st.access_token_ttl)
                .bind(st.refresh_token_ttl)
                .bind(&st.access_token_alg)
                .bind(&st.id_token_alg)
                .execute(&mut *self.warm.lease().await?)
                .await;
                self.clients.forget(client_id);
                Ok(done.map_err(self.sql_err())?.rows_affected() > 0)
            }

            async fn set_client_secret_hash(&self, client_id: &str, secret_hash: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE clients SET secret_hash = $2 WHERE client_id = $1")
                    .bind(client_id)
                    .bind(secret_hash)
                    .execute(&mut *self.warm.lease().await?)
                    .await;
                self.clients.forget(client_id);
                Ok(done.map_err(self.sql_err())?.rows_affected() > 0)
            }

            async fn custom_scopes(&self) -> Result<Vec<CustomScope>, StoreError> {
                let rows: Vec<(String, String, i64)> =
                    sqlx::query_as("SELECT name, description, created_at FROM scopes ORDER BY name")
                        .fetch_all(&mut *self.warm.lease().await?)
                        .await
                        .map_err(self.sql_err())?;
                Ok(rows
                    .into_iter()
                    .map(|(name, description, created_at)| CustomScope {
                        name,
                        description,
                        created_at,
                    })
                    .collect())
            }

            async fn create_scope(&self, name: &str, description: &str, now: i64) -> Result<CustomScope, StoreError> {
                sqlx::query("INSERT INTO scopes (name, description, created_at) VALUES ($1, $2, $3)")
                    .bind(name)
                    .bind(description)
                    .bind(now)
                    .execute(&mut *self.warm.lease().await?)
                    .await
                    .map_err(self.sql_insert_err("scope"))?;
                Ok(CustomScope {
                    name: name.to_owned(),
                    description: description.to_owned(),
                    created_at: now,
                })
            }

            async fn update_scope(&self, name: &str, description: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE scopes SET description = $2 WHERE name = $1")
                    .bind(name)
                    .bind(description)
                    .execute(&mut *self.warm.lease().await?)
                    .await
                    .map_err(self.sql_err())?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_scope(&self, name: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM scopes WHERE name = $1")
                    .bind(name)
                    .execute(&mut *self.warm.lease().await?)
                    .await
                    .map_err(self.sql_err())?;
                Ok(done.rows_affected() > 0)
            }

            async fn search_users(&self, q: &str) -> Result<Vec<User>, StoreError> {
                let escaped: String = q
                    .trim()
                    .to_lowercase()
                    .chars()
                    .flat_map(|c| match c {
                        '%' | '_' | '\\' => vec!['\\', c],
                        c => vec![c],
                    })
                    .collect();
                let pattern = format!("%{escaped}%");
                let rows: Vec<UserRow> = sqlx::query_as(&format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE LOWER(username) LIKE $1 ESCAPE '\\' \
                     OR LOWER(COALESCE(email, '')) LIKE $1 ESCAPE '\\' OR LOWER(COALESCE(name, '')) LIKE $1 ESCAPE '\\' \
                     ORDER BY username"
                ))
                .bind(&pattern)
                .fetch_all(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_err())?;
                Ok(rows.into_iter().map(User::from).collect())
            }

            async fn set_user_disabled(&self, user_id: &str, disabled: bool) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE users SET disabled = $2 WHERE id = $1")
                    .bind(user_id)
                    .bind(disabled)
                    .execute(&mut *self.warm.lease().await?)
                    .await
                    .map_err(self.sql_err());
                self.status.invalidate();
                Ok(done?.rows_affected() > 0)
            }

            async fn set_user_admin(&self, user_id: &str, is_admin: bool) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE users SET is_admin = $2 WHERE id = $1")
                    .bind(user_id)
                    .bind(is_admin)
                    .execute(&mut *self.warm.lease().await?)
                    .await
                    .map_err(self.sql_err());
                self.status.invalidate();
                Ok(done?.rows_affected() > 0)
            }

            async fn consents_of(&self, of: GrantsOf<'_>) -> Result<Vec<ConsentEntry>, StoreError> {
                let (column, id) = match of {
                    GrantsOf::Client(id) => ("c.client_id", id),
                    GrantsOf::User(id) => ("c.user_id", id),
                };
                let rows: Vec<(String, String, String, i64, String, String)> = sqlx::query_as(&format!(
                    "SELECT c.user_id, c.client_id, c.scopes, c.granted_at, cl.name, u.username FROM consents c \
                     JOIN clients cl ON cl.client_id = c.client_id JOIN users u ON u.id = c.user_id \
                     WHERE {column} = $1 ORDER BY cl.name, u.username"
                ))
                .bind(id)
                .fetch_all(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_err())?;
                rows.into_iter()
                    .map(|(user_id, client_id, scopes, granted_at, client_name, username)| {
                        Ok(ConsentEntry {
                            consent: Consent {
                                user_id,
                                client_id,
                                scopes: scopes_of(&scopes)?,
                                granted_at,
                            },
                            client_name,
                            username,
                        })
                    })
                    .collect()
            }

            async fn active_families(&self, of: GrantsOf<'_>, now: i64) -> Result<Vec<FamilyEntry>, StoreError> {
                let (column, id) = match of {
                    GrantsOf::Client(id) => ("f.client_id", id),
                    GrantsOf::User(id) => ("f.user_id", id),
                };
                type Row = (String, String, String, Option<String>, Option<String>, String, i64);
                let rows: Vec<Row> = sqlx::query_as(&format!(
                    "SELECT f.family_id, f.client_id, cl.name, f.user_id, u.username, f.scopes, f.created_at \
                     FROM token_families f JOIN clients cl ON cl.client_id = f.client_id \
                     LEFT JOIN users u ON u.id = f.user_id \
                     WHERE {column} = $1 AND f.revoked_at IS NULL AND EXISTS (SELECT 1 FROM refresh_tokens r \
                       WHERE r.family_id = f.family_id AND r.revoked_at IS NULL AND r.rotated_at IS NULL \
                       AND r.expires_at > $2) \
                     ORDER BY f.created_at DESC, f.family_id"
                ))
                .bind(id)
                .bind(now)
                .fetch_all(&mut *self.warm.lease().await?)
                .await
                .map_err(self.sql_err())?;
                rows.into_iter()
                    .map(|(family_id, client_id, client_name, user_id, username, scopes, created_at)| {
                        Ok(FamilyEntry {
                            family_id,
                            client_id,
                            client_name,
                            user_id,
                            username,
                            scopes: scopes_of(&scopes)?,
                            created_at,
                        })
                    })
                    .collect()
            }
        }

        #[async_trait]
        impl Store for $store {
            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1")
                    .execute(&mut *self.warm.lease().await?)
                    .await
                    .map_err(self.sql_err())?;
                Ok(())
            }

            fn backend(&self) -> &'static str {
                $backend
            }
        }
    };
}

impl_store!(SqliteStore, "sqlite", SQLITE);
impl_store!(PgStore, "postgres", POSTGRES);
