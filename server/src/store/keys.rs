//! Signing keys (`signing_keys`): the store keeps their (encrypted) bytes; the server
//! parses them (`keyring`).

use tessera_core::store::{KeyRecord, StoreError};

use super::engine::SqlStore;
use super::query::conflict;
use super::rows::KeyRow;

impl SqlStore {
    pub(super) async fn signing_keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let rows: Vec<KeyRow> = self
            .all(
                "SELECT kid, alg, private_key, created_at, retired_at FROM signing_keys ORDER BY created_at, kid",
                (),
            )
            .await?;
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

    pub(super) async fn insert_signing_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO signing_keys (kid, alg, private_key, created_at, retired_at) VALUES ($1, $2, $3, $4, $5)",
            (&key.kid, &key.alg, &key.private_der, key.created_at, key.retired_at),
        )
        .await
        .map_err(conflict("kid"))?;
        Ok(())
    }

    pub(super) async fn retire_signing_keys(&self, alg: &str, keep_kid: &str, now: i64) -> Result<u64, StoreError> {
        Ok(self
            .execute(
                "UPDATE signing_keys SET retired_at = $3 WHERE alg = $1 AND kid <> $2 AND retired_at IS NULL",
                (alg, keep_kid, now),
            )
            .await?)
    }

    pub(super) async fn replace_signing_key_material(&self, kid: &str, private_der: &[u8]) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                "UPDATE signing_keys SET private_key = $2 WHERE kid = $1",
                (kid, private_der),
            )
            .await?;
        Ok(changed == 1)
    }

    pub(super) async fn set_signing_key_retired_at(&self, kid: &str, retired_at: i64) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                "UPDATE signing_keys SET retired_at = $2 WHERE kid = $1",
                (kid, retired_at),
            )
            .await?;
        Ok(changed == 1)
    }
}
