//! The store as the rest of the server sees it: [`SqlStore`] behind the two caches, the
//! one place where the core's storage traits are implemented. Every write that must
//! invalidate a cache does it here, after the write (never before: a read in between
//! would cache the old row), whether the write succeeded or not:
//!
//! - the client cache (`client_cache.rs`): `update_client`, `set_client_secret_hash`,
//!   `delete_client` forget that client;
//! - the access-token status cache (`status_cache.rs`): `revoke_access_token`,
//!   `revoke_family`, `revoke_consent`, `set_password`, `set_user_disabled`,
//!   `set_user_admin` retire every cached answer;
//! - the API cache (`api_cache.rs`): `create_api`, `update_api`, `delete_api` drop it. Writes by other processes reach the
//!   status cache through the database's `status_epoch` counter, read at most every
//!   [`status_cache::POLL`]; the client cache through its TTL.
//!
//! A new method is a line here delegating to `SqlStore`, plus, if its write can change a
//! cached answer, the invalidation after it.

use async_trait::async_trait;
use tessera_core::device::DeviceCode;
use tessera_core::store::{
    AccessTokenStatus, AccountStore, AdminStore, Api, ApiSettings, ApiStore, AuditStore, Client, ClientStore,
    ClientUpdate, CodeRedemption, Consent, ConsentEntry, ConsentedClient, CustomScope, FamilyEntry, GrantsOf,
    KeyRecord, NewClient, NewUser, OAuthStore, Purged, Store, StoreError, User, UserStore,
};
use tessera_core::store::{DeviceEntry, DevicePoll, DeviceStore, NewDeviceCode};
use tessera_core::store::{DynamicClient, InitialAccessToken, RegistrationSettings, RegistrationStore};
use tessera_core::throttle::Backoff;
use tessera_core::token::{CodeRecord, RefreshRecord};
use tessera_core::types::ScopeSet;

use super::api_cache::ApiCache;
use super::client_cache::ClientCache;
use super::engine::SqlStore;
use super::status_cache::{self, StatusCache};

pub(crate) struct CachedStore {
    sql: SqlStore,
    clients: ClientCache,
    status: StatusCache,
    apis: ApiCache,
}

impl CachedStore {
    pub(super) fn new(sql: SqlStore) -> CachedStore {
        CachedStore {
            sql,
            clients: ClientCache::default(),
            status: StatusCache::default(),
            apis: ApiCache::default(),
        }
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
        let (n,): (i64,) = self.sql.one("SELECT n FROM status_epoch WHERE id = 1", ()).await?;
        read.finish(n);
        Ok(self.status.generation())
    }
}

#[async_trait]
impl ApiStore for CachedStore {
    async fn apis(&self) -> Result<Vec<Api>, StoreError> {
        self.sql.apis().await
    }

    async fn api(&self, identifier: &str) -> Result<Option<Api>, StoreError> {
        let map = match self.apis.get() {
            Some(map) => {
                crate::telemetry::cache_lookup("api", true);
                map
            }
            None => {
                crate::telemetry::cache_lookup("api", false);
                let generation = self.apis.generation();
                self.apis.put(self.sql.apis().await?, generation)
            }
        };
        Ok(map.get(identifier).cloned())
    }

    async fn create_api(&self, identifier: &str, settings: &ApiSettings, now: i64) -> Result<Api, StoreError> {
        let created = self.sql.create_api(identifier, settings, now).await;
        self.apis.forget();
        created
    }

    async fn update_api(&self, identifier: &str, settings: &ApiSettings) -> Result<bool, StoreError> {
        let updated = self.sql.update_api(identifier, settings).await;
        self.apis.forget();
        updated
    }

    async fn delete_api(&self, identifier: &str) -> Result<bool, StoreError> {
        let deleted = self.sql.delete_api(identifier).await;
        self.apis.forget();
        deleted
    }
}

#[async_trait]
impl UserStore for CachedStore {
    async fn create_user(&self, user: NewUser, now: i64) -> Result<User, StoreError> {
        self.sql.create_user(user, now).await
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.sql.user_by_id(id).await
    }

    async fn credentials_by_username(&self, username: &str) -> Result<Option<(User, String)>, StoreError> {
        self.sql.credentials_by_username(username).await
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.sql.list_users().await
    }

    async fn count_users(&self) -> Result<i64, StoreError> {
        self.sql.count_users().await
    }
}

#[async_trait]
impl ClientStore for CachedStore {
    async fn create_client(&self, client: NewClient, now: i64) -> Result<Client, StoreError> {
        self.sql.create_client(client, now).await
    }

    async fn client_by_id(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        if let Some(client) = self.clients.get(client_id) {
            crate::telemetry::cache_lookup("client", true);
            return Ok(Some(client));
        }
        crate::telemetry::cache_lookup("client", false);
        let generation = self.clients.generation();
        let client = self.sql.client_by_id(client_id).await?;
        if let Some(c) = &client {
            self.clients.put(c, generation);
        }
        Ok(client)
    }

    async fn client_exists(&self, client_id: &str) -> Result<bool, StoreError> {
        Ok(self.clients.contains(client_id) || self.client_by_id(client_id).await?.is_some())
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        self.sql.list_clients().await
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        let deleted = self.sql.delete_client(client_id).await;
        self.clients.forget(client_id);
        deleted
    }
}

#[async_trait]
impl OAuthStore for CachedStore {
    async fn signing_keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        self.sql.signing_keys().await
    }

    async fn insert_signing_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
        self.sql.insert_signing_key(key).await
    }

    async fn retire_signing_keys(&self, alg: &str, keep_kid: &str, now: i64) -> Result<u64, StoreError> {
        self.sql.retire_signing_keys(alg, keep_kid, now).await
    }

    async fn replace_signing_key_material(&self, kid: &str, private_der: &[u8]) -> Result<bool, StoreError> {
        self.sql.replace_signing_key_material(kid, private_der).await
    }

    async fn set_signing_key_retired_at(&self, kid: &str, retired_at: i64) -> Result<bool, StoreError> {
        self.sql.set_signing_key_retired_at(kid, retired_at).await
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
        self.sql
            .put_auth_request(id_hash, client_id, request_json, now, expires_at, max_per_client)
            .await
    }

    async fn auth_request(&self, id_hash: &str, now: i64) -> Result<Option<String>, StoreError> {
        self.sql.auth_request(id_hash, now).await
    }

    async fn update_auth_request(&self, id_hash: &str, request_json: &str) -> Result<(), StoreError> {
        self.sql.update_auth_request(id_hash, request_json).await
    }

    async fn delete_auth_request(&self, id_hash: &str) -> Result<bool, StoreError> {
        self.sql.delete_auth_request(id_hash).await
    }

    async fn put_code(
        &self,
        code_hash: &str,
        family_id: &str,
        record: &CodeRecord,
        now: i64,
    ) -> Result<(), StoreError> {
        self.sql.put_code(code_hash, family_id, record, now).await
    }

    async fn redeem_code(&self, code_hash: &str, client_id: &str, now: i64) -> Result<CodeRedemption, StoreError> {
        self.sql.redeem_code(code_hash, client_id, now).await
    }

    async fn revoke_family(&self, family_id: &str, now: i64) -> Result<(), StoreError> {
        let revoked = self.sql.revoke_family(family_id, now).await;
        self.status.invalidate();
        revoked
    }

    async fn is_family_revoked(&self, family_id: &str) -> Result<bool, StoreError> {
        self.sql.is_family_revoked(family_id).await
    }

    async fn put_refresh_token(&self, token_hash: &str, record: &RefreshRecord, now: i64) -> Result<(), StoreError> {
        self.sql.put_refresh_token(token_hash, record, now).await
    }

    async fn refresh_grant(&self, token_hash: &str) -> Result<Option<(RefreshRecord, Option<User>)>, StoreError> {
        self.sql.refresh_grant(token_hash).await
    }

    async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        successor_hash: &str,
        successor_expires_at: i64,
        successor_dpop_jkt: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.sql
            .rotate_refresh_token(
                token_hash,
                successor_hash,
                successor_expires_at,
                successor_dpop_jkt,
                now,
            )
            .await
    }

    async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
        let revoked = self.sql.revoke_access_token(jti, expires_at).await;
        self.status.invalidate();
        revoked
    }

    async fn first_use(&self, purpose: &str, jti: &str, expires_at: i64, now: i64) -> Result<bool, StoreError> {
        self.sql.first_use(purpose, jti, expires_at, now).await
    }

    async fn put_pushed_request(
        &self,
        id_hash: &str,
        client_id: &str,
        request_json: &str,
        now: i64,
        expires_at: i64,
        max_per_client: i64,
    ) -> Result<bool, StoreError> {
        self.sql
            .put_pushed_request(id_hash, client_id, request_json, now, expires_at, max_per_client)
            .await
    }

    async fn take_pushed_request(
        &self,
        id_hash: &str,
        client_id: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        self.sql.take_pushed_request(id_hash, client_id, now).await
    }

    async fn purge_expired(&self, now: i64, grace: i64) -> Result<Purged, StoreError> {
        self.sql.purge_expired(now, grace).await
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
                crate::telemetry::cache_lookup("token_status", true);
                return Ok(hit);
            }
        }
        crate::telemetry::cache_lookup("token_status", false);
        let status = self.sql.access_token_status(jti, family_id, user_id).await?;
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
        self.sql.user_and_consent(user_id, client_id).await
    }

    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &ScopeSet,
        now: i64,
    ) -> Result<(), StoreError> {
        self.sql.grant_consent(user_id, client_id, scopes, now).await
    }
}

#[async_trait]
impl AccountStore for CachedStore {
    async fn set_password(&self, user_id: &str, password_hash: &str) -> Result<Option<i64>, StoreError> {
        let epoch = self.sql.set_password(user_id, password_hash).await;
        self.status.invalidate();
        epoch
    }

    async fn consents_for_user(&self, user_id: &str) -> Result<Vec<ConsentedClient>, StoreError> {
        self.sql.consents_for_user(user_id).await
    }

    async fn revoke_consent(&self, user_id: &str, client_id: &str, now: i64) -> Result<bool, StoreError> {
        let revoked = self.sql.revoke_consent(user_id, client_id, now).await;
        self.status.invalidate();
        revoked
    }

    async fn login_blocked_until(&self, keys: &[String], now: i64) -> Result<Option<i64>, StoreError> {
        self.sql.login_blocked_until(keys, now).await
    }

    async fn record_login_failure(&self, key: &str, policy: &Backoff, now: i64) -> Result<Option<i64>, StoreError> {
        self.sql.record_login_failure(key, policy, now).await
    }

    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        self.sql.clear_login_failures(key).await
    }
}

#[async_trait]
impl AdminStore for CachedStore {
    async fn update_client(&self, client_id: &str, update: &ClientUpdate) -> Result<bool, StoreError> {
        let updated = self.sql.update_client(client_id, update).await;
        self.clients.forget(client_id);
        updated
    }

    async fn set_client_secret_hash(&self, client_id: &str, secret_hash: &str) -> Result<bool, StoreError> {
        let updated = self.sql.set_client_secret_hash(client_id, secret_hash).await;
        self.clients.forget(client_id);
        updated
    }

    async fn custom_scopes(&self) -> Result<Vec<CustomScope>, StoreError> {
        self.sql.custom_scopes().await
    }

    async fn create_scope(&self, name: &str, description: &str, now: i64) -> Result<CustomScope, StoreError> {
        self.sql.create_scope(name, description, now).await
    }

    async fn update_scope(&self, name: &str, description: &str) -> Result<bool, StoreError> {
        self.sql.update_scope(name, description).await
    }

    async fn delete_scope(&self, name: &str) -> Result<bool, StoreError> {
        self.sql.delete_scope(name).await
    }

    async fn search_users(&self, q: &str) -> Result<Vec<User>, StoreError> {
        self.sql.search_users(q).await
    }

    async fn set_user_disabled(&self, user_id: &str, disabled: bool) -> Result<bool, StoreError> {
        let changed = self.sql.set_user_disabled(user_id, disabled).await;
        self.status.invalidate();
        changed
    }

    async fn set_user_admin(&self, user_id: &str, is_admin: bool) -> Result<bool, StoreError> {
        let changed = self.sql.set_user_admin(user_id, is_admin).await;
        self.status.invalidate();
        changed
    }

    async fn consents_of(&self, of: GrantsOf<'_>) -> Result<Vec<ConsentEntry>, StoreError> {
        self.sql.consents_of(of).await
    }

    async fn active_families(&self, of: GrantsOf<'_>, now: i64) -> Result<Vec<FamilyEntry>, StoreError> {
        self.sql.active_families(of, now).await
    }
}

// Nothing cached depends on the audit log.
#[async_trait]
impl AuditStore for CachedStore {
    async fn record_event(&self, event: &tessera_core::audit::NewEvent) -> Result<(), StoreError> {
        self.sql.record_event(event).await
    }

    async fn events(
        &self,
        filter: &tessera_core::audit::Filter,
    ) -> Result<Vec<tessera_core::audit::Event>, StoreError> {
        self.sql.events(filter).await
    }

    async fn purge_events(&self, before: i64) -> Result<u64, StoreError> {
        self.sql.purge_events(before).await
    }
}

#[async_trait]
impl DeviceStore for CachedStore {
    async fn put_device_code(
        &self,
        code: &NewDeviceCode,
        max_per_client: i64,
        max_total: i64,
    ) -> Result<bool, StoreError> {
        self.sql.put_device_code(code, max_per_client, max_total).await
    }

    async fn device_code_by_user_code(&self, user_code_hash: &str, now: i64) -> Result<Option<DeviceCode>, StoreError> {
        self.sql.device_code_by_user_code(user_code_hash, now).await
    }

    async fn decide_device_code(
        &self,
        user_code_hash: &str,
        user_id: &str,
        auth_time: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.sql
            .decide_device_code(user_code_hash, user_id, auth_time, now)
            .await
    }

    async fn poll_device_code(
        &self,
        device_code_hash: &str,
        client_id: &str,
        now: i64,
        slow_down_step: i64,
        max_interval: i64,
    ) -> Result<DevicePoll, StoreError> {
        self.sql
            .poll_device_code(device_code_hash, client_id, now, slow_down_step, max_interval)
            .await
    }

    async fn device_codes(&self, now: i64) -> Result<Vec<DeviceEntry>, StoreError> {
        self.sql.device_codes(now).await
    }

    async fn revoke_device_code(&self, user_code_hash: &str) -> Result<bool, StoreError> {
        self.sql.revoke_device_code(user_code_hash).await
    }
}

#[async_trait]
impl RegistrationStore for CachedStore {
    async fn registration_settings(&self) -> Result<RegistrationSettings, StoreError> {
        self.sql.registration_settings().await
    }

    async fn set_registration_settings(&self, settings: &RegistrationSettings, now: i64) -> Result<(), StoreError> {
        self.sql.set_registration_settings(settings, now).await
    }

    async fn create_initial_token(&self, token: &InitialAccessToken, token_hash: &str) -> Result<(), StoreError> {
        self.sql.create_initial_token(token, token_hash).await
    }

    async fn initial_tokens(&self) -> Result<Vec<InitialAccessToken>, StoreError> {
        self.sql.initial_tokens().await
    }

    async fn initial_token_by_hash(&self, token_hash: &str) -> Result<Option<InitialAccessToken>, StoreError> {
        self.sql.initial_token_by_hash(token_hash).await
    }

    async fn use_initial_token(&self, token_hash: &str, now: i64) -> Result<bool, StoreError> {
        self.sql.use_initial_token(token_hash, now).await
    }

    async fn revoke_initial_token(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        self.sql.revoke_initial_token(id, now).await
    }

    async fn register_dynamic_client(
        &self,
        client: NewClient,
        registration: &DynamicClient,
        open_cap: Option<i64>,
    ) -> Result<bool, StoreError> {
        self.sql.register_dynamic_client(client, registration, open_cap).await
    }

    async fn dynamic_client(&self, client_id: &str) -> Result<Option<DynamicClient>, StoreError> {
        self.sql.dynamic_client(client_id).await
    }

    async fn dynamic_clients(&self) -> Result<Vec<DynamicClient>, StoreError> {
        self.sql.dynamic_clients().await
    }

    async fn mark_dynamic_client_used(&self, client_id: &str, now: i64) -> Result<(), StoreError> {
        self.sql.mark_dynamic_client_used(client_id, now).await
    }

    async fn purge_unused_dynamic_clients(&self, registered_before: i64) -> Result<u64, StoreError> {
        let gone = self.sql.purge_unused_dynamic_clients(registered_before).await?;
        for id in &gone {
            self.clients.forget(id);
        }
        Ok(gone.len() as u64)
    }
}

#[async_trait]
impl Store for CachedStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.sql.ping().await
    }

    fn backend(&self) -> &'static str {
        self.sql.backend()
    }
}
