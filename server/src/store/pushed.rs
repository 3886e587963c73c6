//! Pushed authorization requests (`pushed_requests`, RFC 9126), by the hash of their
//! `request_uri` id, from `POST /par` until `/authorize` takes them.

use tessera_core::store::StoreError;

use super::engine::SqlStore;

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
        // The same capped insert as pending requests (`pending.rs`).
        let row = (id_hash, client_id, request_json, now, expires_at, max_per_client);
        self.insert_capped("pushed_requests", "pushed authorization request", row)
            .await
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
