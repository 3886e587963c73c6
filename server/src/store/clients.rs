//! Registered clients (`clients`). Reads here always go to the database; the client
//! cache is in front of them in `cached.rs`.

use tessera_core::store::{Client, ClientUpdate, NewClient, StoreError};
use tessera_core::types::RedirectUri;

use super::engine::SqlStore;
use super::query::conflict;
use super::rows::{ClientRow, CLIENT_COLUMNS};

/// The redirect URIs as the `redirect_uris` column keeps them: a JSON array.
fn uris_json(uris: &[RedirectUri]) -> Result<String, StoreError> {
    let uris: Vec<&str> = uris.iter().map(RedirectUri::as_str).collect();
    serde_json::to_string(&uris).map_err(|e| StoreError::Backend(e.to_string()))
}

impl SqlStore {
    pub(super) async fn create_client(&self, client: NewClient, now: i64) -> Result<Client, StoreError> {
        let uris_json = uris_json(&client.redirect_uris)?;
        let st = &client.settings;
        self.execute(
            "INSERT INTO clients (client_id, name, secret_hash, is_public, redirect_uris, scopes, created_at, \
             description, logo_uri, grant_types, require_pkce, access_token_ttl, refresh_token_ttl, \
             access_token_alg, id_token_alg, token_endpoint_auth_method, jwks, jwks_uri, \
             require_signed_request_object, require_pushed_authorization_requests, dpop_bound_access_tokens, \
             resources, fapi2) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)",
            (
                &client.client_id,
                &client.name,
                &client.secret_hash,
                client.is_public,
                &uris_json,
                client.scopes.to_string(),
                now,
                &st.description,
                &st.logo_uri,
                st.grant_types.join(" "),
                st.require_pkce,
                st.access_token_ttl,
                st.refresh_token_ttl,
                &st.access_token_alg,
                &st.id_token_alg,
                &st.token_endpoint_auth_method,
                &st.jwks,
                &st.jwks_uri,
                st.require_signed_request_object,
                st.require_pushed_authorization_requests,
                st.dpop_bound_access_tokens,
                tessera_core::resource::join(&st.resources),
                st.fapi2,
            ),
        )
        .await
        .map_err(conflict("client_id"))?;
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

    pub(super) async fn client_by_id(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        let row: Option<ClientRow> = self
            .optional(
                &format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1"),
                (client_id,),
            )
            .await?;
        row.map(Client::try_from).transpose()
    }

    pub(super) async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        let rows: Vec<ClientRow> = self
            .all(
                &format!("SELECT {CLIENT_COLUMNS} FROM clients ORDER BY created_at, client_id"),
                (),
            )
            .await?;
        rows.into_iter().map(Client::try_from).collect()
    }

    pub(super) async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        let deleted = self
            .execute("DELETE FROM clients WHERE client_id = $1", (client_id,))
            .await?;
        Ok(deleted > 0)
    }

    pub(super) async fn update_client(&self, client_id: &str, u: &ClientUpdate) -> Result<bool, StoreError> {
        let uris_json = uris_json(&u.redirect_uris)?;
        let st = &u.settings;
        // One statement: the client changes as a whole or not at all. A client moved to
        // private_key_jwt loses its secret (it must never be accepted again).
        let changed = self
            .execute(
                "UPDATE clients SET name = $2, redirect_uris = $3, scopes = $4, description = $5, logo_uri = $6, \
                 grant_types = $7, require_pkce = $8, access_token_ttl = $9, refresh_token_ttl = $10, \
                 access_token_alg = $11, id_token_alg = $12, token_endpoint_auth_method = $13, jwks = $14, \
                 jwks_uri = $15, require_signed_request_object = $16, \
                 require_pushed_authorization_requests = $17, dpop_bound_access_tokens = $18, resources = $19, fapi2 = $20, \
                 secret_hash = CASE WHEN $13 = 'private_key_jwt' THEN NULL ELSE secret_hash END \
                 WHERE client_id = $1",
                (
                    client_id,
                    &u.name,
                    &uris_json,
                    u.scopes.to_string(),
                    &st.description,
                    &st.logo_uri,
                    st.grant_types.join(" "),
                    st.require_pkce,
                    st.access_token_ttl,
                    st.refresh_token_ttl,
                    &st.access_token_alg,
                    &st.id_token_alg,
                    &st.token_endpoint_auth_method,
                    &st.jwks,
                    &st.jwks_uri,
                    st.require_signed_request_object,
                    st.require_pushed_authorization_requests,
                    st.dpop_bound_access_tokens,
                    tessera_core::resource::join(&st.resources),
                st.fapi2,
                ),
            )
            .await?;
        Ok(changed > 0)
    }

    /// Replaces the secret's hash (rotation).
    pub(super) async fn set_client_secret_hash(&self, client_id: &str, secret_hash: &str) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                "UPDATE clients SET secret_hash = $2 WHERE client_id = $1",
                (client_id, secret_hash),
            )
            .await?;
        Ok(changed > 0)
    }
}
