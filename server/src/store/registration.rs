//! Dynamic client registration (RFC 7591/7592): the server-wide settings rows
//! (`settings`), initial access tokens (`initial_access_tokens`) and which clients were
//! registered dynamically (`dynamic_clients`).

use tessera_core::store::{DynamicClient, InitialAccessToken, NewClient, RegistrationSettings, StoreError};
use tessera_core::types::ScopeSet;

use super::engine::{Engine, SqlStore};
use super::query::conflict;
use super::rows::scopes_of;

const MODE: &str = "registration_mode";
/// The PostgreSQL advisory lock anonymous registrations take turns on (any fixed number;
/// no other lock in Tessera uses it).
const OPEN_REGISTRATION_LOCK: i64 = 0x7465_7373_6f70_656e;
const OPEN_SCOPES: &str = "registration_open_scopes";

const TOKEN_COLUMNS: &str =
    "id, description, scopes, allow_confidential, uses_total, uses_left, created_at, expires_at, revoked_at";
type TokenRow = (String, String, String, bool, i64, i64, i64, i64, Option<i64>);

fn token_of(r: TokenRow) -> Result<InitialAccessToken, StoreError> {
    let (id, description, scopes, allow_confidential, uses_total, uses_left, created_at, expires_at, revoked_at) = r;
    Ok(InitialAccessToken {
        id,
        description,
        scopes: scopes_of(&scopes)?,
        allow_confidential,
        uses_total,
        uses_left,
        created_at,
        expires_at,
        revoked_at,
    })
}

const DYNAMIC_COLUMNS: &str =
    "client_id, registration_token_hash, initial_token_id, policy_scopes, allow_confidential, registered_at, used_at";
type DynamicRow = (String, String, Option<String>, String, bool, i64, Option<i64>);

fn dynamic_of(r: DynamicRow) -> Result<DynamicClient, StoreError> {
    let (
        client_id,
        registration_token_hash,
        initial_token_id,
        policy_scopes,
        allow_confidential,
        registered_at,
        used_at,
    ) = r;
    Ok(DynamicClient {
        client_id,
        registration_token_hash,
        initial_token_id,
        policy_scopes: scopes_of(&policy_scopes)?,
        allow_confidential,
        registered_at,
        used_at,
    })
}

impl SqlStore {
    pub(super) async fn registration_settings(&self) -> Result<RegistrationSettings, StoreError> {
        let rows: Vec<(String, String)> = self
            .all(
                "SELECT name, value FROM settings WHERE name IN ($1, $2)",
                (MODE, OPEN_SCOPES),
            )
            .await?;
        let mut s = RegistrationSettings::default();
        for (name, value) in rows {
            if name == MODE {
                s.mode = value;
            } else {
                s.open_scopes = ScopeSet::parse(&value).unwrap_or_default();
            }
        }
        Ok(s)
    }

    pub(super) async fn set_registration_settings(&self, s: &RegistrationSettings, now: i64) -> Result<(), StoreError> {
        for (name, value) in [(MODE, s.mode.clone()), (OPEN_SCOPES, s.open_scopes.to_string())] {
            self.execute(
                "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (name, value, now),
            )
            .await?;
        }
        Ok(())
    }

    pub(super) async fn create_initial_token(
        &self,
        t: &InitialAccessToken,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            &format!("INSERT INTO initial_access_tokens (token_hash, {TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
            (
                token_hash,
                &t.id,
                &t.description,
                t.scopes.to_string(),
                t.allow_confidential,
                t.uses_total,
                t.uses_left,
                t.created_at,
                t.expires_at,
                t.revoked_at,
            ),
        )
        .await
        .map_err(conflict("initial access token"))?;
        Ok(())
    }

    pub(super) async fn initial_tokens(&self) -> Result<Vec<InitialAccessToken>, StoreError> {
        let rows: Vec<TokenRow> = self
            .all(
                &format!("SELECT {TOKEN_COLUMNS} FROM initial_access_tokens ORDER BY created_at DESC, id"),
                (),
            )
            .await?;
        rows.into_iter().map(token_of).collect()
    }

    pub(super) async fn initial_token_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<InitialAccessToken>, StoreError> {
        let row: Option<TokenRow> = self
            .optional(
                &format!("SELECT {TOKEN_COLUMNS} FROM initial_access_tokens WHERE token_hash = $1"),
                (token_hash,),
            )
            .await?;
        row.map(token_of).transpose()
    }

    pub(super) async fn use_initial_token(&self, token_hash: &str, now: i64) -> Result<bool, StoreError> {
        // One statement: the row lock (PostgreSQL) or the write lock (SQLite) orders
        // concurrent callers; each sees the count the previous one left.
        let done = self
            .execute(
                "UPDATE initial_access_tokens SET uses_left = uses_left - 1 \
                 WHERE token_hash = $1 AND uses_left > 0 AND revoked_at IS NULL AND expires_at > $2",
                (token_hash, now),
            )
            .await?;
        Ok(done == 1)
    }

    pub(super) async fn revoke_initial_token(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let done = self
            .execute(
                "UPDATE initial_access_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                (id, now),
            )
            .await?;
        Ok(done == 1)
    }

    /// The client first, then its registration row, only while under `open_cap` (checked
    /// in that statement); at the cap the client is removed again.
    pub(super) async fn register_dynamic_client(
        &self,
        client: NewClient,
        d: &DynamicClient,
        open_cap: Option<i64>,
    ) -> Result<bool, StoreError> {
        let client_id = client.client_id.clone();
        self.create_client(client, d.registered_at).await?;
        let mut tx = self.begin().await?;
        if open_cap.is_some() && matches!(self.engine, Engine::Postgres { .. }) {
            // PostgreSQL runs concurrent `INSERT … SELECT COUNT(*)` side by side, each
            // counting without the others' rows (the cap was overshot by about the number
            // of concurrent requests): anonymous registrations take turns here, until commit.
            tx.execute("SELECT pg_advisory_xact_lock($1)", (OPEN_REGISTRATION_LOCK,))
                .await?;
        }
        let inserted = tx
            .execute(
                &format!(
                    "INSERT INTO dynamic_clients ({DYNAMIC_COLUMNS}) \
                     SELECT $1, $2, $3, $4, $5, $6, NULL \
                     WHERE $7 < 0 OR (SELECT COUNT(*) FROM dynamic_clients WHERE initial_token_id IS NULL) < $7"
                ),
                (
                    &d.client_id,
                    &d.registration_token_hash,
                    &d.initial_token_id,
                    d.policy_scopes.to_string(),
                    d.allow_confidential,
                    d.registered_at,
                    open_cap.unwrap_or(-1),
                ),
            )
            .await;
        let inserted = match inserted {
            Ok(1) => tx.commit().await.map(|()| 1),
            other => {
                // Rolled back before the client row goes (SQLite: the write lock with it).
                drop(tx);
                other
            }
        };
        match inserted {
            Ok(1) => Ok(true),
            other => {
                self.delete_client(&client_id).await?;
                other.map(|_| false).map_err(Into::into)
            }
        }
    }

    pub(super) async fn dynamic_client(&self, client_id: &str) -> Result<Option<DynamicClient>, StoreError> {
        let row: Option<DynamicRow> = self
            .optional(
                &format!("SELECT {DYNAMIC_COLUMNS} FROM dynamic_clients WHERE client_id = $1"),
                (client_id,),
            )
            .await?;
        row.map(dynamic_of).transpose()
    }

    pub(super) async fn dynamic_clients(&self) -> Result<Vec<DynamicClient>, StoreError> {
        let rows: Vec<DynamicRow> = self
            .all(
                &format!("SELECT {DYNAMIC_COLUMNS} FROM dynamic_clients ORDER BY registered_at, client_id"),
                (),
            )
            .await?;
        rows.into_iter().map(dynamic_of).collect()
    }

    pub(super) async fn mark_dynamic_client_used(&self, client_id: &str, now: i64) -> Result<(), StoreError> {
        self.execute(
            "UPDATE dynamic_clients SET used_at = $2 WHERE client_id = $1 AND used_at IS NULL",
            (client_id, now),
        )
        .await?;
        Ok(())
    }

    /// The ids deleted, so that the cache can forget them.
    pub(super) async fn purge_unused_dynamic_clients(&self, registered_before: i64) -> Result<Vec<String>, StoreError> {
        const BATCH: u64 = 500;
        let mut gone = Vec::new();
        loop {
            let ids: Vec<(String,)> = self
                .all(
                    &format!(
                        "DELETE FROM clients WHERE client_id IN \
                         (SELECT client_id FROM dynamic_clients WHERE used_at IS NULL AND registered_at < $1 \
                          LIMIT {BATCH}) RETURNING client_id"
                    ),
                    (registered_before,),
                )
                .await?;
            let n = ids.len() as u64;
            // The foreign key cascades; not every SQLite connection enforces it.
            for (id,) in &ids {
                self.execute("DELETE FROM dynamic_clients WHERE client_id = $1", (id,))
                    .await?;
            }
            gone.extend(ids.into_iter().map(|(id,)| id));
            if n < BATCH {
                return Ok(gone);
            }
            tokio::task::yield_now().await;
        }
    }
}
