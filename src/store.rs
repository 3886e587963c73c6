//! The storage the protocol needs, as narrow traits. The server implements them for
//! SQLite and PostgreSQL (`server/src/store`); one test suite runs against both.
//! Times are Unix seconds, passed in by the caller.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{ClientAuthMethod, GrantType, SigningAlg};
use crate::policy;
use crate::token::{CodeRecord, RefreshRecord};
use crate::types::{RedirectUri, ScopeSet, Username};

#[derive(Debug, Error)]
pub enum StoreError {
    /// A uniqueness rule was broken; the string names what was duplicated.
    #[error("{0} already exists")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    /// The database failed or is unreachable. The detail is for logs, not for clients.
    #[error("storage error: {0}")]
    Backend(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: i64,
    /// Bumped each time the password is set: a browser session that signed in under an
    /// older epoch no longer speaks for this user.
    pub password_epoch: i64,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    /// Argon2id PHC string, never the password.
    pub password_hash: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub is_admin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    /// SHA-256 of the secret; `None` for public clients.
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<RedirectUri>,
    pub scopes: ScopeSet,
    pub is_public: bool,
    pub created_at: i64,
    pub settings: ClientSettings,
}

impl Client {
    /// Whether this client may use `grant`: a [`GrantType`], or its registered name (a
    /// name Tessera does not support is never allowed). With no explicit list,
    /// confidential clients get every grant and public clients those that need no secret
    /// ([`GrantType::allowed_for_public_client`]).
    pub fn allows_grant(&self, grant: impl AsRef<str>) -> bool {
        let Ok(grant) = grant.as_ref().parse::<GrantType>() else {
            return false;
        };
        if self.settings.grant_types.is_empty() {
            grant.granted_by_default() && (!self.is_public || grant.allowed_for_public_client())
        } else {
            self.settings.grant_types.iter().any(|g| g == grant.as_str())
        }
    }

    /// RFC 9700 §2.1.1: PKCE for every public client, and for confidential ones unless
    /// turned off for that client.
    pub fn requires_pkce(&self) -> bool {
        self.is_public || self.settings.require_pkce || self.settings.fapi2
    }

    /// RFC 9126 §5 per client, or the FAPI 2.0 profile (§5.3.2.2): authorization requests
    /// only by `/par`.
    pub fn requires_par(&self) -> bool {
        self.settings.require_pushed_authorization_requests || self.settings.fapi2
    }

    /// RFC 9449 §5 `dpop_bound_access_tokens`, or the FAPI 2.0 profile (§5.3.2.1: only
    /// sender-constrained access tokens): every token request carries a DPoP proof.
    pub fn requires_dpop(&self) -> bool {
        self.settings.dpop_bound_access_tokens || self.settings.fapi2
    }

    /// How this client authenticates at the token, introspection and revocation
    /// endpoints. A public client: `none`, whatever is stored. A confidential client:
    /// `private_key_jwt` when registered so; otherwise its secret, by either
    /// `client_secret_basic` or `client_secret_post` (as before this setting existed, so
    /// this returns the registered one of the two but both are accepted).
    pub fn auth_method(&self) -> ClientAuthMethod {
        if self.is_public {
            return ClientAuthMethod::None;
        }
        match self.settings.token_endpoint_auth_method.parse::<ClientAuthMethod>() {
            Ok(ClientAuthMethod::PrivateKeyJwt) => ClientAuthMethod::PrivateKeyJwt,
            Ok(ClientAuthMethod::ClientSecretPost) => ClientAuthMethod::ClientSecretPost,
            _ => ClientAuthMethod::ClientSecretBasic,
        }
    }

    /// Whether the client registered public keys (`jwks` or `jwks_uri`), needed for
    /// `private_key_jwt` and for signed request objects.
    pub fn has_keys(&self) -> bool {
        self.settings.jwks.is_some() || self.settings.jwks_uri.is_some()
    }
    /// Whether this client may ask for tokens for the API `identifier` (RFC 8707):
    /// one of its listed resources, or with none listed, `default` (the sample API's).
    pub fn allows_resource(&self, identifier: &str, default: &str) -> bool {
        if self.settings.resources.is_empty() {
            identifier == default
        } else {
            self.settings.resources.iter().any(|r| r == identifier)
        }
    }
}

/// Per-client protocol settings, with secure defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSettings {
    pub description: Option<String>,
    pub logo_uri: Option<String>,
    /// [`GrantType`] names. Empty: the defaults for the client's type, never the device
    /// grant (see
    /// [`Client::allows_grant`]).
    pub grant_types: Vec<String>,
    pub require_pkce: bool,
    /// Seconds.
    pub access_token_ttl: i64,
    /// Seconds.
    pub refresh_token_ttl: i64,
    /// A [`SigningAlg`] name; [`SigningAlg::ACCESS_TOKEN_DEFAULT`] by default.
    pub access_token_alg: String,
    /// A [`SigningAlg`] name; [`SigningAlg::ID_TOKEN_DEFAULT`] by default.
    pub id_token_alg: String,
    /// RFC 9126 §6: this client's authorization requests must be pushed (`/par`) first; a
    /// plain `/authorize` is refused.
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// A [`ClientAuthMethod`] name (RFC 7591 §2); see [`Client::auth_method`].
    pub token_endpoint_auth_method: String,
    /// The client's public keys, a JWK Set as JSON text (RFC 7591 §2 `jwks`), checked by
    /// [`crate::client_keys::check_jwks`].
    pub jwks: Option<String>,
    /// Where the client publishes its JWK Set (RFC 7591 §2 `jwks_uri`); never with `jwks`.
    pub jwks_uri: Option<String>,
    /// RFC 9101 §10.5: `/authorize` accepts this client's requests only as signed
    /// request objects.
    pub require_signed_request_object: bool,
    /// RFC 9449 §5 `dpop_bound_access_tokens`: every token request must carry a DPoP proof.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// Identifiers of the APIs ([`Api`]) the client may name as `resource` (RFC 8707).
    /// Empty: only the sample resource's (see [`Client::allows_resource`]).
    pub resources: Vec<String>,
    /// The FAPI 2.0 Security Profile for this client ([`crate::fapi`]).
    #[serde(default)]
    pub fapi2: bool,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            description: None,
            logo_uri: None,
            grant_types: Vec::new(),
            require_pkce: true,
            access_token_ttl: policy::ACCESS_TOKEN_LIFETIME_DEFAULT,
            refresh_token_ttl: policy::REFRESH_TOKEN_LIFETIME_DEFAULT,
            access_token_alg: SigningAlg::ACCESS_TOKEN_DEFAULT.as_str().into(),
            id_token_alg: SigningAlg::ID_TOKEN_DEFAULT.as_str().into(),
            require_pushed_authorization_requests: false,
            token_endpoint_auth_method: ClientAuthMethod::ClientSecretBasic.as_str().into(),
            jwks: None,
            jwks_uri: None,
            require_signed_request_object: false,
            dpop_bound_access_tokens: false,
            resources: Vec::new(),
            fapi2: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewClient {
    pub client_id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<RedirectUri>,
    pub scopes: ScopeSet,
    pub is_public: bool,
    pub settings: ClientSettings,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn create_user(&self, user: NewUser, now: i64) -> Result<User, StoreError>;
    async fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError>;
    /// The user and their password hash, for login.
    async fn credentials_by_username(&self, username: &str) -> Result<Option<(User, String)>, StoreError>;
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    async fn count_users(&self) -> Result<i64, StoreError>;
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn create_client(&self, client: NewClient, now: i64) -> Result<Client, StoreError>;
    async fn client_by_id(&self, client_id: &str) -> Result<Option<Client>, StoreError>;
    /// Whether the client is (still) registered: asked on every presentation of a token,
    /// so answered without building the client where it can be.
    async fn client_exists(&self, client_id: &str) -> Result<bool, StoreError>;
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    /// Whether a client was removed.
    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError>;
}

/// A stored signing key (the server parses it; the store only keeps bytes).
#[derive(Clone)]
pub struct KeyRecord {
    pub kid: String,
    pub alg: String,
    pub private_der: Vec<u8>,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

impl std::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRecord")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// What happened when a code was presented at the token endpoint.
// One value per token request, moved straight into the grant: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum CodeRedemption {
    /// This caller, and only this one, marked the code used. The record is as it was
    /// before (`used == false`); `user` is the user it was issued to, if they still exist.
    Redeemed {
        record: CodeRecord,
        family_id: String,
        /// The family was revoked before this redemption created it (a replay or a
        /// revoked consent got there first): the caller must issue nothing.
        family_revoked: bool,
        user: Option<User>,
    },
    /// Used before: RFC 6749 §4.1.2 says deny, and revoke what it issued.
    AlreadyUsed {
        family_id: String,
    },
    /// Issued to another client (RFC 6749 §4.1.3): refused, and left as it was, so that a
    /// leaked code presented by someone else does not burn it for its client.
    OtherClient,
    Unknown,
}

/// What [`OAuthStore::purge_expired`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Purged {
    pub codes: u64,
    pub refresh_tokens: u64,
    pub families: u64,
    pub revoked_access_tokens: u64,
}

impl Purged {
    pub fn total(&self) -> u64 {
        self.codes + self.refresh_tokens + self.families + self.revoked_access_tokens
    }
}

/// What [`OAuthStore::access_token_status`] found for a verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenStatus {
    /// The token itself, or its whole grant family, was revoked.
    pub revoked: bool,
    /// The user asked about, if they exist (disabled or not: the caller decides).
    pub user: Option<User>,
}

/// A consent: which scopes a user allowed a client, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub user_id: String,
    pub client_id: String,
    pub scopes: ScopeSet,
    pub granted_at: i64,
}

/// Codes, tokens, keys, consents and pending authorization requests. Secrets arrive
/// here already hashed (`*_hash`), never in the clear.
#[async_trait]
pub trait OAuthStore: Send + Sync {
    async fn signing_keys(&self) -> Result<Vec<KeyRecord>, StoreError>;
    async fn insert_signing_key(&self, key: &KeyRecord) -> Result<(), StoreError>;
    /// Marks every active key of `alg` except `keep_kid` retired at `now`.
    async fn retire_signing_keys(&self, alg: &str, keep_kid: &str, now: i64) -> Result<u64, StoreError>;
    /// Replaces a key's stored material (re-encrypted under a new key-encryption key);
    /// false if there is no such key.
    async fn replace_signing_key_material(&self, kid: &str, private_der: &[u8]) -> Result<bool, StoreError>;
    /// Sets one key's `retired_at` (an emergency withdrawal sets it long enough ago that
    /// the key is neither published nor trusted); false if there is no such key.
    async fn set_signing_key_retired_at(&self, kid: &str, retired_at: i64) -> Result<bool, StoreError>;

    /// Stores a pending request unless `client_id` already has `max_per_client` live ones
    /// (checked in the same statement): false, and nothing stored, when at the cap.
    async fn put_auth_request(
        &self,
        id_hash: &str,
        client_id: &str,
        request_json: &str,
        now: i64,
        expires_at: i64,
        max_per_client: i64,
    ) -> Result<bool, StoreError>;
    /// The pending request's JSON, if it exists and has not expired.
    async fn auth_request(&self, id_hash: &str, now: i64) -> Result<Option<String>, StoreError>;
    async fn update_auth_request(&self, id_hash: &str, request_json: &str) -> Result<(), StoreError>;
    /// Whether this call deleted it: of concurrent callers, exactly one gets `true`, which
    /// is how a pending request yields at most one code.
    async fn delete_auth_request(&self, id_hash: &str) -> Result<bool, StoreError>;

    /// Stores a pushed authorization request (RFC 9126 §2.2) under the hash of its
    /// `request_uri` id, unless `client_id` already has `max_per_client` live ones (checked
    /// in the same statement): false, and nothing stored, when at the cap.
    async fn put_pushed_request(
        &self,
        id_hash: &str,
        client_id: &str,
        request_json: &str,
        now: i64,
        expires_at: i64,
        max_per_client: i64,
    ) -> Result<bool, StoreError>;
    /// Deletes and returns the pushed request if it exists, was pushed by `client_id` and
    /// has not expired (RFC 9126 §4: one use). One statement: of concurrent callers on any
    /// instance at most one gets it; another client's or an expired one stays as it is.
    async fn take_pushed_request(&self, id_hash: &str, client_id: &str, now: i64)
        -> Result<Option<String>, StoreError>;

    async fn put_code(&self, code_hash: &str, family_id: &str, record: &CodeRecord, now: i64)
        -> Result<(), StoreError>;
    /// Atomically marks the code used if it was issued to `client_id`: of concurrent
    /// callers exactly one gets `Redeemed`. The winner's call also starts the code's token
    /// family (left alone if a replay already created it revoked) and reads the code's
    /// user, all in one round trip.
    async fn redeem_code(&self, code_hash: &str, client_id: &str, now: i64) -> Result<CodeRedemption, StoreError>;

    /// Revokes the family and every refresh token in it; access tokens carrying the family
    /// id are refused from then on.
    async fn revoke_family(&self, family_id: &str, now: i64) -> Result<(), StoreError>;
    async fn is_family_revoked(&self, family_id: &str) -> Result<bool, StoreError>;

    async fn put_refresh_token(&self, token_hash: &str, record: &RefreshRecord, now: i64) -> Result<(), StoreError>;
    async fn refresh_token(&self, token_hash: &str) -> Result<Option<RefreshRecord>, StoreError> {
        Ok(self.refresh_grant(token_hash).await?.map(|(record, _)| record))
    }
    /// A refresh token and, in the same round trip, its user if they still exist.
    async fn refresh_grant(&self, token_hash: &str) -> Result<Option<(RefreshRecord, Option<User>)>, StoreError>;
    /// RFC 9700 §4.14.2 rotation in one round trip: marks a current (unrotated, unrevoked)
    /// refresh token rotated and stores its successor `successor_hash` (same family,
    /// client, user, scopes, auth_time and DPoP binding; expiring at `successor_expires_at`;
    /// bound to `successor_dpop_jkt` if the token was not bound, RFC 9449 §5). False, and
    /// nothing stored, if another caller got there first or the token was not current.
    async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        successor_hash: &str,
        successor_expires_at: i64,
        successor_dpop_jkt: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError>;

    async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<(), StoreError>;
    /// Remembers a one-time identifier (`jti`) for `purpose` until `expires_at`: true the
    /// first time, false while an earlier use is still remembered, on every instance. Of
    /// concurrent callers with the same value exactly one gets `true`. Callers check
    /// everything else first, so only authenticated requests add rows (and the janitor
    /// removes them once expired).
    async fn first_use(&self, purpose: &str, jti: &str, expires_at: i64, now: i64) -> Result<bool, StoreError>;
    /// Deletes what can no longer matter, in small batches (short write transactions):
    /// remembered revocations of access tokens that have expired; codes, and refresh tokens
    /// in any state (rotated ones included: reuse detection, RFC 9700 §4.14.2, holds while
    /// a token would still be valid), expired for longer than `grace`; token families
    /// revoked longer than `grace` ago; and families older than `grace` with no refresh
    /// tokens left. `grace` must be at least the longest access-token lifetime: a
    /// family is what revokes its access tokens, so it stays while any of them can live.
    /// Also clears expired authorization requests, stale login-failure counters,
    /// expired one-time identifiers and expired pushed requests (not counted in [`Purged`]).
    async fn purge_expired(&self, now: i64, grace: i64) -> Result<Purged, StoreError>;
    /// Everything a resource server needs to know about a verified access token beyond its
    /// signature, in one round trip: whether it or its grant family was revoked, and, when
    /// `user_id` is given, that user if they still exist.
    async fn access_token_status(
        &self,
        jti: &str,
        family_id: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<AccessTokenStatus, StoreError>;

    async fn consent(&self, user_id: &str, client_id: &str) -> Result<Option<Consent>, StoreError> {
        Ok(self
            .user_and_consent(user_id, client_id)
            .await?
            .and_then(|(_, consent)| consent))
    }
    /// A user, if they exist, with what they allowed `client_id`: what `/authorize` needs
    /// of a signed-in browser, in one round trip.
    async fn user_and_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<Option<(User, Option<Consent>)>, StoreError>;
    /// Adds `scopes` to what the user allowed the client.
    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &ScopeSet,
        now: i64,
    ) -> Result<(), StoreError>;
}

/// A consent as the user's "my apps" list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentedClient {
    pub consent: Consent,
    pub client_name: String,
}

/// What a signed-in user manages themselves, and the login back-off counters
/// (policy in [`crate::throttle`]).
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Replaces the user's Argon2id hash and bumps their password epoch, which signs out
    /// every session signed in before. The new epoch; `None` if there is no such user.
    async fn set_password(&self, user_id: &str, password_hash: &str) -> Result<Option<i64>, StoreError>;
    /// Every client the user has consented to, by client name.
    async fn consents_for_user(&self, user_id: &str) -> Result<Vec<ConsentedClient>, StoreError>;
    /// Forgets the consent and revokes every token family of this user and client (their
    /// refresh tokens at once, their access tokens at the resource server's next check),
    /// so the next authorization asks again. False if there was no consent.
    async fn revoke_consent(&self, user_id: &str, client_id: &str, now: i64) -> Result<bool, StoreError>;

    /// The latest time until which any of `keys` is blocked, if that is after `now`.
    async fn login_blocked_until(&self, keys: &[String], now: i64) -> Result<Option<i64>, StoreError>;
    /// Counts one failure for `key` (atomically, across instances) and returns until when
    /// it is now blocked under `policy`, if it is.
    async fn record_login_failure(
        &self,
        key: &str,
        policy: &crate::throttle::Backoff,
        now: i64,
    ) -> Result<Option<i64>, StoreError>;
    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError>;
}

/// A scope defined by an administrator (the built-in ones live in [`crate::scope`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomScope {
    pub name: String,
    /// Shown on the consent screen, completing "This application wants to …".
    pub description: String,
    pub created_at: i64,
}

/// The settings of a client an administrator may change; the client id and the secret
/// are not among them (the secret changes only by rotation).
#[derive(Debug, Clone)]
pub struct ClientUpdate {
    pub name: String,
    pub redirect_uris: Vec<RedirectUri>,
    pub scopes: ScopeSet,
    pub settings: ClientSettings,
}

/// A consent as the admin console lists it, with both names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentEntry {
    pub consent: Consent,
    pub client_name: String,
    pub username: String,
}

/// A token family that still has a current refresh token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyEntry {
    pub family_id: String,
    pub client_id: String,
    pub client_name: String,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub scopes: ScopeSet,
    pub created_at: i64,
}

/// Whose grants to list.
#[derive(Debug, Clone, Copy)]
pub enum GrantsOf<'a> {
    Client(&'a str),
    User(&'a str),
}

/// What the admin console changes beyond the other traits.
#[async_trait]
pub trait AdminStore: Send + Sync {
    /// False if there is no such client.
    async fn update_client(&self, client_id: &str, update: &ClientUpdate) -> Result<bool, StoreError>;
    /// Replaces the secret's hash (rotation); false if there is no such client.
    async fn set_client_secret_hash(&self, client_id: &str, secret_hash: &str) -> Result<bool, StoreError>;

    async fn custom_scopes(&self) -> Result<Vec<CustomScope>, StoreError>;
    /// `Conflict("scope")` if the name is taken.
    async fn create_scope(&self, name: &str, description: &str, now: i64) -> Result<CustomScope, StoreError>;
    async fn update_scope(&self, name: &str, description: &str) -> Result<bool, StoreError>;
    async fn delete_scope(&self, name: &str) -> Result<bool, StoreError>;

    /// Users whose username, email or name contains `q` (case-insensitive); all for "".
    async fn search_users(&self, q: &str) -> Result<Vec<User>, StoreError>;
    async fn set_user_disabled(&self, user_id: &str, disabled: bool) -> Result<bool, StoreError>;
    async fn set_user_admin(&self, user_id: &str, is_admin: bool) -> Result<bool, StoreError>;

    async fn consents_of(&self, of: GrantsOf<'_>) -> Result<Vec<ConsentEntry>, StoreError>;
    /// Unrevoked families with an unrotated, unrevoked refresh token alive at `now`.
    async fn active_families(&self, of: GrantsOf<'_>, now: i64) -> Result<Vec<FamilyEntry>, StoreError>;
}

/// The audit log (`crate::audit`): written best-effort by whoever saw the event, read by
/// the admin console and the CLI, trimmed by the janitor.
#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn record_event(&self, event: &crate::audit::NewEvent) -> Result<(), StoreError>;
    /// Newest first, at most `filter.limit`.
    async fn events(&self, filter: &crate::audit::Filter) -> Result<Vec<crate::audit::Event>, StoreError>;
    /// Deletes events recorded before `before` (in batches); how many went.
    async fn purge_events(&self, before: i64) -> Result<u64, StoreError>;
}

/// An API (resource server) an administrator registered: what an access token issued for
/// it (RFC 8707 `resource`) carries and how it is signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Api {
    /// RFC 8707 §2: an absolute URI without a fragment; the token's `aud`. Never changes.
    pub identifier: String,
    pub settings: ApiSettings,
    pub created_at: i64,
}

/// What an administrator may change about an API (everything but its identifier).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiSettings {
    pub name: String,
    /// The scopes that belong to the API: a token for it carries those granted among them.
    pub scopes: ScopeSet,
    pub access_token_alg: SigningAlg,
    /// Seconds, within [`policy::ACCESS_TOKEN_LIFETIME_RANGE`].
    pub access_token_ttl: i64,
}

/// The registered APIs (resource servers).
#[async_trait]
pub trait ApiStore: Send + Sync {
    /// By identifier.
    async fn apis(&self) -> Result<Vec<Api>, StoreError>;
    /// Asked by the token endpoint on every request that names a resource: cached.
    async fn api(&self, identifier: &str) -> Result<Option<Api>, StoreError>;
    /// `Conflict("API")` if the identifier is taken.
    async fn create_api(&self, identifier: &str, settings: &ApiSettings, now: i64) -> Result<Api, StoreError>;
    /// False if there is no such API.
    async fn update_api(&self, identifier: &str, settings: &ApiSettings) -> Result<bool, StoreError>;
    async fn delete_api(&self, identifier: &str) -> Result<bool, StoreError>;
}

/// A device code to store (RFC 8628 §3.2): both codes by hash, never in the clear.
#[derive(Debug, Clone)]
pub struct NewDeviceCode {
    pub device_code_hash: String,
    pub user_code_hash: String,
    pub user_code_hint: String,
    pub client_id: String,
    pub scopes: ScopeSet,
    pub resources: Vec<String>,
    pub interval: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What a poll of the token endpoint found (RFC 8628 §3.4, §3.5).
// One value per poll, moved straight into the answer: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum DevicePoll {
    /// No such device code (or the janitor removed it).
    Unknown,
    /// Issued to another client: refused, and left as it was.
    OtherClient,
    /// Past its `expires_in`.
    Expired,
    /// The user has not decided. `slow_down`: this poll came before the interval had
    /// passed since the last one, and the interval (now `interval`) grew.
    Pending { slow_down: bool, interval: i64 },
    /// The user, or an administrator, refused it.
    Denied,
    /// This caller, and only this one, redeemed the approved code: its record, the token
    /// family it starts, and its user if they still exist.
    Redeemed {
        record: crate::device::DeviceCode,
        family_id: String,
        user: Option<User>,
    },
    /// Redeemed before.
    AlreadyRedeemed,
}

/// A device code in flight, as the admin console and `tessera device list` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceEntry {
    pub code: crate::device::DeviceCode,
    pub client_name: String,
    /// Who allowed or denied it, if anyone has.
    pub username: Option<String>,
}

/// Device codes (RFC 8628) from `/device_authorization` until their tokens are issued or
/// they expire; the janitor deletes expired ones ([`OAuthStore::purge_expired`]).
#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// Stores the code unless its client has `max_per_client` unexpired ones or all
    /// clients `max_total` (checked in the same statement): false, and nothing stored,
    /// then. `Conflict` if the user code is taken (the caller draws another).
    async fn put_device_code(
        &self,
        code: &NewDeviceCode,
        max_per_client: i64,
        max_total: i64,
    ) -> Result<bool, StoreError>;
    /// The unexpired device code with this user code, whatever its status.
    async fn device_code_by_user_code(
        &self,
        user_code_hash: &str,
        now: i64,
    ) -> Result<Option<crate::device::DeviceCode>, StoreError>;
    /// The user's decision on a pending, unexpired code: approved by `user_id` (signed in
    /// at `auth_time`), or denied when `auth_time` is `None`. False if it was no longer
    /// pending (decided already, expired, revoked).
    async fn decide_device_code(
        &self,
        user_code_hash: &str,
        user_id: &str,
        auth_time: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// One poll by `client_id` at `now`. A pending code records the poll (and grows its
    /// interval by `slow_down_step`, up to `max_interval`, when it came too early); an
    /// approved one is redeemed by one conditional UPDATE, so of concurrent polls on any
    /// instance exactly one gets `Redeemed`, and that call starts the token family.
    async fn poll_device_code(
        &self,
        device_code_hash: &str,
        client_id: &str,
        now: i64,
        slow_down_step: i64,
        max_interval: i64,
    ) -> Result<DevicePoll, StoreError>;
    /// Unexpired codes not yet redeemed, newest first.
    async fn device_codes(&self, now: i64) -> Result<Vec<DeviceEntry>, StoreError>;
    /// Denies a pending or approved code (the device's next poll gets `access_denied`);
    /// false if there was none.
    async fn revoke_device_code(&self, user_code_hash: &str) -> Result<bool, StoreError>;
}

/// Everything Tessera stores, behind one object.
#[async_trait]
pub trait Store:
    UserStore
    + ClientStore
    + OAuthStore
    + AccountStore
    + AdminStore
    + AuditStore
    + ApiStore
    + DeviceStore
    + RegistrationStore
{
    /// One round trip to the database, for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;
    /// "sqlite" or "postgres".
    fn backend(&self) -> &'static str;
}

/// Who may register clients dynamically (RFC 7591), as stored: the mode, and the scopes
/// `open` mode lets an anonymous caller register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationSettings {
    /// A [`crate::dynamic_registration::RegistrationMode`] name.
    pub mode: String,
    pub open_scopes: ScopeSet,
}

impl Default for RegistrationSettings {
    /// Off; open mode would allow the built-in OpenID Connect scopes.
    fn default() -> Self {
        Self {
            mode: "off".into(),
            open_scopes: ScopeSet::parse(crate::registration::NEW_CLIENT_SCOPES).unwrap_or_default(),
        }
    }
}

/// An initial access token (RFC 7591 §3): the policy it grants, how long and how often.
/// Only its hash is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitialAccessToken {
    /// A public identifier (lists, revocation, and the clients it registered).
    pub id: String,
    pub description: String,
    /// The scopes a client registered with it may have.
    pub scopes: ScopeSet,
    /// Whether it may register confidential clients.
    pub allow_confidential: bool,
    pub uses_total: i64,
    pub uses_left: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

impl InitialAccessToken {
    /// Whether it may register a client at `now`.
    pub fn usable(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now && self.uses_left > 0
    }
}

/// What a dynamically registered client carries beside the client itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicClient {
    pub client_id: String,
    /// SHA-256 of the registration access token (RFC 7592 §1).
    pub registration_token_hash: String,
    /// The initial access token that registered it; `None`: `open` mode.
    pub initial_token_id: Option<String>,
    /// The policy it registered under, which its updates stay within.
    pub policy_scopes: ScopeSet,
    pub allow_confidential: bool,
    pub registered_at: i64,
    /// When it was first issued a token; `None`: never (the janitor removes it after a while).
    pub used_at: Option<i64>,
}

/// Dynamic client registration (RFC 7591/7592): the mode, initial access tokens, and which
/// clients were registered that way.
#[async_trait]
pub trait RegistrationStore: Send + Sync {
    /// The stored settings, or the defaults (off).
    async fn registration_settings(&self) -> Result<RegistrationSettings, StoreError>;
    async fn set_registration_settings(&self, settings: &RegistrationSettings, now: i64) -> Result<(), StoreError>;

    /// Stores a new token by the hash of its value.
    async fn create_initial_token(&self, token: &InitialAccessToken, token_hash: &str) -> Result<(), StoreError>;
    /// Newest first.
    async fn initial_tokens(&self) -> Result<Vec<InitialAccessToken>, StoreError>;
    /// The token whose value hashes to `token_hash`, in whatever state.
    async fn initial_token_by_hash(&self, token_hash: &str) -> Result<Option<InitialAccessToken>, StoreError>;
    /// Takes one use, in one statement, if the token is usable at `now`: of concurrent
    /// callers at most `uses_left` succeed, on every instance.
    async fn use_initial_token(&self, token_hash: &str, now: i64) -> Result<bool, StoreError>;
    /// False if there is no such token or it was already revoked.
    async fn revoke_initial_token(&self, id: &str, now: i64) -> Result<bool, StoreError>;

    /// Stores the client and its registration; with `open_cap`, only while fewer than that
    /// many clients registered in `open` mode exist (false, nothing stored, at the cap).
    async fn register_dynamic_client(
        &self,
        client: NewClient,
        registration: &DynamicClient,
        open_cap: Option<i64>,
    ) -> Result<bool, StoreError>;
    async fn dynamic_client(&self, client_id: &str) -> Result<Option<DynamicClient>, StoreError>;
    async fn dynamic_clients(&self) -> Result<Vec<DynamicClient>, StoreError>;
    /// Records the first token issued to a dynamically registered client (nothing for
    /// another client, or when already recorded).
    async fn mark_dynamic_client_used(&self, client_id: &str, now: i64) -> Result<(), StoreError>;
    /// Deletes the dynamically registered clients never issued a token and registered
    /// before `registered_before`; how many went.
    async fn purge_unused_dynamic_clients(&self, registered_before: i64) -> Result<u64, StoreError>;
}
