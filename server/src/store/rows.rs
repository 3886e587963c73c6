//! Rows as the database returns them, and how they become the core's types. The column
//! lists here are the ones every query of a table selects, so a row type and its
//! columns change together.

use tessera_core::pkce::PkceChallenge;
use tessera_core::store::{Client, ClientSettings, StoreError, User};
use tessera_core::token::{CodeRecord, RefreshRecord};
use tessera_core::types::{RedirectUri, ScopeSet};

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    pub(super) id: String,
    pub(super) username: String,
    pub(super) email: Option<String>,
    pub(super) name: Option<String>,
    pub(super) is_admin: bool,
    pub(super) disabled: bool,
    pub(super) created_at: i64,
    pub(super) password_epoch: i64,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            username: r.username,
            email: r.email,
            name: r.name,
            is_admin: r.is_admin,
            disabled: r.disabled,
            created_at: r.created_at,
            password_epoch: r.password_epoch,
        }
    }
}

/// A user LEFT JOINed as `u` beside another table's row: all NULL when there is none.
#[derive(sqlx::FromRow)]
pub(super) struct JoinedUserRow {
    pub(super) u_id: Option<String>,
    pub(super) u_username: Option<String>,
    pub(super) u_email: Option<String>,
    pub(super) u_name: Option<String>,
    pub(super) u_is_admin: Option<bool>,
    pub(super) u_disabled: Option<bool>,
    pub(super) u_created_at: Option<i64>,
    pub(super) u_password_epoch: Option<i64>,
}

impl JoinedUserRow {
    pub(super) fn into_user(self) -> Option<User> {
        match (
            self.u_id,
            self.u_username,
            self.u_is_admin,
            self.u_disabled,
            self.u_created_at,
            self.u_password_epoch,
        ) {
            (Some(id), Some(username), Some(is_admin), Some(disabled), Some(created_at), Some(password_epoch)) => {
                Some(User {
                    id,
                    username,
                    email: self.u_email,
                    name: self.u_name,
                    is_admin,
                    disabled,
                    created_at,
                    password_epoch,
                })
            }
            _ => None,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct CredentialRow {
    #[sqlx(flatten)]
    pub(super) user: UserRow,
    pub(super) password_hash: String,
}

#[derive(sqlx::FromRow)]
pub(super) struct ClientRow {
    pub(super) client_id: String,
    pub(super) name: String,
    pub(super) secret_hash: Option<String>,
    pub(super) is_public: bool,
    pub(super) redirect_uris: String,
    pub(super) scopes: String,
    pub(super) created_at: i64,
    pub(super) description: Option<String>,
    pub(super) logo_uri: Option<String>,
    pub(super) grant_types: String,
    pub(super) require_pkce: bool,
    pub(super) access_token_ttl: i64,
    pub(super) refresh_token_ttl: i64,
    pub(super) access_token_alg: String,
    pub(super) id_token_alg: String,
    pub(super) token_endpoint_auth_method: String,
    pub(super) jwks: Option<String>,
    pub(super) jwks_uri: Option<String>,
    pub(super) require_signed_request_object: bool,
    pub(super) require_pushed_authorization_requests: bool,
    pub(super) dpop_bound_access_tokens: bool,
    pub(super) resources: String,
    pub(super) fapi2: bool,
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;
    fn try_from(r: ClientRow) -> Result<Self, StoreError> {
        let uris: Vec<String> = serde_json::from_str(&r.redirect_uris)
            .map_err(|e| StoreError::Backend(format!("client {}: redirect_uris: {e}", r.client_id)))?;
        let redirect_uris = uris
            .iter()
            .map(|u| RedirectUri::parse(u))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Backend(format!("client {}: {e}", r.client_id)))?;
        let scopes =
            ScopeSet::parse(&r.scopes).map_err(|e| StoreError::Backend(format!("client {}: {e}", r.client_id)))?;
        Ok(Client {
            client_id: r.client_id,
            name: r.name,
            secret_hash: r.secret_hash,
            redirect_uris,
            scopes,
            is_public: r.is_public,
            created_at: r.created_at,
            settings: ClientSettings {
                description: r.description,
                logo_uri: r.logo_uri,
                grant_types: r.grant_types.split_whitespace().map(str::to_owned).collect(),
                require_pkce: r.require_pkce,
                access_token_ttl: r.access_token_ttl,
                refresh_token_ttl: r.refresh_token_ttl,
                access_token_alg: r.access_token_alg,
                id_token_alg: r.id_token_alg,
                token_endpoint_auth_method: r.token_endpoint_auth_method,
                jwks: r.jwks,
                jwks_uri: r.jwks_uri,
                require_signed_request_object: r.require_signed_request_object,
                require_pushed_authorization_requests: r.require_pushed_authorization_requests,
                dpop_bound_access_tokens: r.dpop_bound_access_tokens,
                resources: tessera_core::resource::split(&r.resources),
                fapi2: r.fapi2,
            },
        })
    }
}

pub(super) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("stored {what} is unreadable: {e}"))
}

pub(super) fn scopes_of(raw: &str) -> Result<ScopeSet, StoreError> {
    ScopeSet::parse(raw).map_err(|e| corrupt("scopes", e))
}

#[derive(sqlx::FromRow)]
pub(super) struct CodeRow {
    pub(super) family_id: String,
    pub(super) client_id: String,
    pub(super) user_id: String,
    pub(super) redirect_uri: String,
    pub(super) redirect_uri_given: bool,
    pub(super) scopes: String,
    pub(super) nonce: Option<String>,
    pub(super) code_challenge: Option<String>,
    pub(super) auth_time: i64,
    pub(super) expires_at: i64,
    pub(super) used_at: Option<i64>,
    pub(super) dpop_jkt: Option<String>,
    pub(super) resources: String,
}

impl CodeRow {
    pub(super) fn into_record(self) -> Result<(CodeRecord, String), StoreError> {
        let pkce = match self.code_challenge.as_deref() {
            Some(c) => {
                PkceChallenge::parse(Some(c), Some(PkceChallenge::METHOD)).map_err(|e| corrupt("code_challenge", e))?
            }
            None => None,
        };
        let record = CodeRecord {
            client_id: self.client_id,
            redirect_uri: RedirectUri::parse(&self.redirect_uri).map_err(|e| corrupt("redirect_uri", e))?,
            redirect_uri_in_request: self.redirect_uri_given,
            pkce,
            nonce: self.nonce,
            user_id: self.user_id,
            scopes: scopes_of(&self.scopes)?,
            auth_time: self.auth_time,
            expires_at: self.expires_at,
            used: self.used_at.is_some(),
            dpop_jkt: self.dpop_jkt,
            resources: tessera_core::resource::split(&self.resources),
        };
        Ok((record, self.family_id))
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct RefreshRow {
    pub(super) family_id: String,
    pub(super) client_id: String,
    pub(super) user_id: Option<String>,
    pub(super) scopes: String,
    pub(super) auth_time: Option<i64>,
    pub(super) expires_at: i64,
    pub(super) rotated_at: Option<i64>,
    pub(super) revoked_at: Option<i64>,
    pub(super) family_created_at: i64,
    pub(super) dpop_jkt: Option<String>,
    pub(super) resources: String,
}

impl TryFrom<RefreshRow> for RefreshRecord {
    type Error = StoreError;
    fn try_from(r: RefreshRow) -> Result<Self, StoreError> {
        Ok(RefreshRecord {
            family_id: r.family_id,
            client_id: r.client_id,
            user_id: r.user_id.unwrap_or_default(),
            scopes: scopes_of(&r.scopes)?,
            auth_time: r.auth_time.unwrap_or_default(),
            expires_at: r.expires_at,
            rotated: r.rotated_at.is_some(),
            revoked: r.revoked_at.is_some(),
            family_created_at: r.family_created_at,
            dpop_jkt: r.dpop_jkt,
            resources: tessera_core::resource::split(&r.resources),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct KeyRow {
    pub(super) kid: String,
    pub(super) alg: String,
    pub(super) private_key: Vec<u8>,
    pub(super) created_at: i64,
    pub(super) retired_at: Option<i64>,
}

/// A refresh token's `revoked_at` as every read must see it (`r` the token, `f` its family,
/// LEFT JOINed): the family is the single source of truth. A token stored after its family
/// was revoked — the first exchange losing a race to a code replay, or, on PostgreSQL, a
/// rotation committing while a revocation runs — is revoked at birth; so is one whose
/// family row is gone.
pub(super) const REFRESH_REVOKED_AT: &str =
    "COALESCE(r.revoked_at, f.revoked_at, CASE WHEN f.family_id IS NULL THEN r.created_at END) AS revoked_at";

pub(super) const USER_COLUMNS: &str = "id, username, email, name, is_admin, disabled, created_at, password_epoch";
pub(super) const CLIENT_COLUMNS: &str = "client_id, name, secret_hash, is_public, redirect_uris, scopes, created_at, \
     description, logo_uri, grant_types, require_pkce, access_token_ttl, refresh_token_ttl, access_token_alg, id_token_alg, \
     token_endpoint_auth_method, jwks, jwks_uri, require_signed_request_object, \
     require_pushed_authorization_requests, dpop_bound_access_tokens, resources, fapi2";
pub(super) const CODE_COLUMNS: &str =
    "family_id, client_id, user_id, redirect_uri, redirect_uri_given, scopes, nonce, \
     code_challenge, auth_time, expires_at, used_at, dpop_jkt, resources";
/// The columns of [`JoinedUserRow`], for a `LEFT JOIN users u` (a macro, for `concat!`).
macro_rules! joined_user_columns {
    () => {
        "u.id AS u_id, u.username AS u_username, u.email AS u_email, u.name AS u_name, \
         u.is_admin AS u_is_admin, u.disabled AS u_disabled, u.created_at AS u_created_at, \
         u.password_epoch AS u_password_epoch"
    };
}
pub(super) use joined_user_columns;
pub(super) const JOINED_USER_COLUMNS: &str = joined_user_columns!();
