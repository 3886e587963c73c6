//! Pending authorization requests (`auth_requests`), by the hash of their opaque id,
//! while the user signs in and consents.

use tessera_core::store::StoreError;

use super::engine::SqlStore;
use super::query::conflict;

impl SqlStore {
    /// Stores the request unless `client_id` has `max_per_client` live ones: false then.
    pub(super) async fn put_auth_request(
        &self,
        id_hash: &str,
        client_id: &str,
        request_json: &str,
        now: i64,
        expires_at: i64,
        max_per_client: i64,
    ) -> Result<bool, StoreError> {
        let row = (id_hash, client_id, request_json, now, expires_at, max_per_client);
        self.insert_capped("auth_requests", "authorization request", row).await
    }

    /// Inserts a request into `table` (`auth_requests` or `pushed_requests`, which share
    /// their columns) unless its client already has `max_per_client` live ones: false then.
    /// The cap is in the INSERT itself (one round trip, no count-then-insert race wider
    /// than one statement), counted on the (client_id, expires_at) index.
    pub(super) async fn insert_capped(
        &self,
        table: &'static str,
        what: &'static str,
        (id_hash, client_id, request_json, now, expires_at, max_per_client): (&str, &str, &str, i64, i64, i64),
    ) -> Result<bool, StoreError> {
        let stored = self
            .execute(
                &format!(
                    "INSERT INTO {table} (id_hash, client_id, request, created_at, expires_at) \
                     SELECT $1, $2, $3, $4, $5 WHERE (SELECT COUNT(*) FROM {table} \
                     WHERE client_id = $2 AND expires_at > $4) < $6"
                ),
                (id_hash, client_id, request_json, now, expires_at, max_per_client),
            )
            .await
            .map_err(conflict(what))?;
        Ok(stored == 1)
    }

    pub(super) async fn auth_request(&self, id_hash: &str, now: i64) -> Result<Option<String>, StoreError> {
        let request: Option<(String,)> = self
            .optional(
                "SELECT request FROM auth_requests WHERE id_hash = $1 AND expires_at > $2",
                (id_hash, now),
            )
            .await?;
        Ok(request.map(|(r,)| r))
    }

    pub(super) async fn update_auth_request(&self, id_hash: &str, request_json: &str) -> Result<(), StoreError> {
        self.execute(
            "UPDATE auth_requests SET request = $2 WHERE id_hash = $1",
            (id_hash, request_json),
        )
        .await?;
        Ok(())
    }

    /// Whether this call deleted it: of concurrent callers, exactly one.
    pub(super) async fn delete_auth_request(&self, id_hash: &str) -> Result<bool, StoreError> {
        let deleted = self
            .execute("DELETE FROM auth_requests WHERE id_hash = $1", (id_hash,))
            .await?;
        Ok(deleted == 1)
    }
}
