//! One-time identifiers seen (`seen_jtis`): the replay check behind private_key_jwt
//! assertions and DPoP proofs, shared by every instance on the database.

use tessera_core::secret::hash_secret;
use tessera_core::store::StoreError;

use super::engine::SqlStore;

impl SqlStore {
    pub(super) async fn first_use(
        &self,
        purpose: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        // One statement: a new identifier is inserted; a remembered one is taken over only
        // if it has expired (its old use can no longer be replayed), which returns a row
        // too; a live one conflicts, updates nothing and returns none. Of concurrent
        // callers on any instance exactly one gets the row.
        let row: Option<(i64,)> = self
            .optional(
                "INSERT INTO seen_jtis (purpose, jti_hash, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (purpose, jti_hash) DO UPDATE SET expires_at = excluded.expires_at \
                 WHERE seen_jtis.expires_at <= $4 \
                 RETURNING expires_at",
                (purpose, hash_secret(jti), expires_at, now),
            )
            .await?;
        Ok(row.is_some())
    }
}
