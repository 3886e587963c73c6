//! Registered APIs (`apis`, RFC 8707 resource servers). Reads here always go to the
//! database; the API cache is in front of them in `cached.rs`.

use tessera_core::model::SigningAlg;
use tessera_core::store::{Api, ApiSettings, StoreError};

use super::engine::SqlStore;
use super::query::conflict;
use super::rows::{corrupt, scopes_of};

const API_COLUMNS: &str = "identifier, name, scopes, access_token_alg, access_token_ttl, created_at";

type ApiRow = (String, String, String, String, i64, i64);

fn api_of((identifier, name, scopes, alg, access_token_ttl, created_at): ApiRow) -> Result<Api, StoreError> {
    Ok(Api {
        settings: ApiSettings {
            name,
            scopes: scopes_of(&scopes)?,
            access_token_alg: alg.parse::<SigningAlg>().map_err(|e| corrupt("access_token_alg", e))?,
            access_token_ttl,
        },
        identifier,
        created_at,
    })
}

impl SqlStore {
    pub(super) async fn apis(&self) -> Result<Vec<Api>, StoreError> {
        let rows: Vec<ApiRow> = self
            .all(&format!("SELECT {API_COLUMNS} FROM apis ORDER BY identifier"), ())
            .await?;
        rows.into_iter().map(api_of).collect()
    }

    pub(super) async fn create_api(&self, identifier: &str, s: &ApiSettings, now: i64) -> Result<Api, StoreError> {
        self.execute(
            &format!("INSERT INTO apis ({API_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"),
            (
                identifier,
                &s.name,
                s.scopes.to_string(),
                s.access_token_alg.as_str(),
                s.access_token_ttl,
                now,
            ),
        )
        .await
        .map_err(conflict("API"))?;
        Ok(Api {
            identifier: identifier.to_owned(),
            settings: s.clone(),
            created_at: now,
        })
    }

    pub(super) async fn update_api(&self, identifier: &str, s: &ApiSettings) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                "UPDATE apis SET name = $2, scopes = $3, access_token_alg = $4, access_token_ttl = $5 \
                 WHERE identifier = $1",
                (
                    identifier,
                    &s.name,
                    s.scopes.to_string(),
                    s.access_token_alg.as_str(),
                    s.access_token_ttl,
                ),
            )
            .await?;
        Ok(changed > 0)
    }

    pub(super) async fn delete_api(&self, identifier: &str) -> Result<bool, StoreError> {
        let deleted = self
            .execute("DELETE FROM apis WHERE identifier = $1", (identifier,))
            .await?;
        Ok(deleted > 0)
    }
}
