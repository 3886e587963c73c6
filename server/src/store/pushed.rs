//! Pushed authorization requests (`pushed_requests`, RFC 9126), by the hash of their
//! `request_uri` id, from `POST /par` until `/authorize` takes them.

use tessera_core::store::StoreError;

use super::engine::SqlStore;
use super::query::conflict;

impl SqlStore {
    /// Stores the request unless `client_id` has `max_per_client` live ones: false then.
    pub(super) async fn put_pushed_request(
        &self,
        id_hash: &str,
        client_id: &str,
        request_json: &str,
        now: i64,
        expires_at: i64,
        max_per_client: i64,
    ) -> Result<bool, StoreError> {
        // The cap in the INSERT itself, as for pending requests: one round trip, counted
        // on the (client_id, expires_at) index.
        let stored = self
            .execute(
                "INSERT INTO pushed_requests (id_hash, client_id, request, created_at, expires_at) \
                 SELECT $1, $2, $3, $4, $5 WHERE (SELECT COUNT(*) FROM pushed_requests \
                 WHERE client_id = $2 AND expires_at > $4) < $6",
                (id_hash, client_id, request_json, now, expires_at, max_per_client),
            )
            .await
            .map_err(conflict("pushed authorization request"))?;
        Ok(stored == 1)
    }

    /// One statement, so one use: the row is deleted and returned only to the caller whose
    /// DELETE removed it, on either engine (PostgreSQL: a concurrent DELETE waits for the
    /// first and then finds nothing). Another client's or an expired row is left alone.
    pub(super) async fn take_pushed_request(
        &self,
        id_hash: &str,
        client_id: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = self
            .optional(
                "DELETE FROM pushed_requests WHERE id_hash = $1 AND client_id = $2 AND expires_at > $3 \
                 RETURNING request",
                (id_hash, client_id, now),
            )
            .await?;
        Ok(row.map(|(r,)| r))
    }
}
