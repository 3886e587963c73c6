//! Scopes an administrator defined (`scopes`); the built-in ones are not rows.

use tessera_core::store::{CustomScope, StoreError};

use super::engine::SqlStore;
use super::query::conflict;

impl SqlStore {
    pub(super) async fn custom_scopes(&self) -> Result<Vec<CustomScope>, StoreError> {
        let rows: Vec<(String, String, i64)> = self
            .all("SELECT name, description, created_at FROM scopes ORDER BY name", ())
            .await?;
        Ok(rows
            .into_iter()
            .map(|(name, description, created_at)| CustomScope {
                name,
                description,
                created_at,
            })
            .collect())
    }

    pub(super) async fn create_scope(
        &self,
        name: &str,
        description: &str,
        now: i64,
    ) -> Result<CustomScope, StoreError> {
        self.execute(
            "INSERT INTO scopes (name, description, created_at) VALUES ($1, $2, $3)",
            (name, description, now),
        )
        .await
        .map_err(conflict("scope"))?;
        Ok(CustomScope {
            name: name.to_owned(),
            description: description.to_owned(),
            created_at: now,
        })
    }

    pub(super) async fn update_scope(&self, name: &str, description: &str) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                "UPDATE scopes SET description = $2 WHERE name = $1",
                (name, description),
            )
            .await?;
        Ok(changed > 0)
    }

    pub(super) async fn delete_scope(&self, name: &str) -> Result<bool, StoreError> {
        let deleted = self.execute("DELETE FROM scopes WHERE name = $1", (name,)).await?;
        Ok(deleted > 0)
    }
}
