//! What Tessera's tokens say and how they are issued: JWT access tokens (RFC 9068), OpenID
//! Connect ID tokens (OIDC Core §2) and opaque refresh tokens (stored by hash, RFC 9700
//! §4.14.2 rotation). The token endpoint issues them; the other endpoints read access
//! tokens through [`crate::crypto::verify::verify_access_token`].

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tessera_core::error::OAuthError;
use tessera_core::scope::{self, OFFLINE_ACCESS, OPENID};
use tessera_core::secret::{hash_secret, random_id, random_token};
use tessera_core::store::{Api, Client, User};
use tessera_core::token::RefreshRecord;
use tessera_core::types::ScopeSet;

use crate::crypto::jwt::{at_hash, SigningAlg, ACCESS_TOKEN_TYP, ID_TOKEN_TYP};
use crate::crypto::keyring::MAX_TOKEN_LIFETIME;
use crate::http::response::server_error;
use crate::web::AppState;

/// OIDC Core §2 leaves the ID token lifetime to us; it is consumed right away.
pub const ID_TOKEN_TTL: i64 = tessera_core::policy::ID_TOKEN_LIFETIME;

/// The audience of access tokens issued without a `resource` (RFC 8707): the sample
/// protected resource (`/api/resource`), registered as an API under this identifier.
/// RFC 9068 §3: `aud` names the resource the token is meant for.
pub fn resource_audience(issuer: &str) -> String {
    tessera_core::resource::sample_identifier(issuer)
}

/// RFC 9068 §2.2: the claims of a JWT access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// The user's id, or for client_credentials the client's (RFC 9068 §2.2).
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    /// RFC 9068 §2.2.3: space-separated, as in RFC 6749 §3.3.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// RFC 9068 §2.2.1: when the user authenticated (user tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The token family (grant) id, so that revoking the grant reaches its access tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    /// RFC 9449 §6.1: a DPoP-bound token names its key's thumbprint (`cnf.jkt`, RFC 7800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// RFC 7800 §3.1 `cnf`, with the one member Tessera uses: RFC 9449 §6.1 `jkt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

/// RFC 9449 §5: a DPoP-bound access token is of type `DPoP` (RFC 6749 §7.1), else `Bearer`.
pub fn token_type(dpop_jkt: Option<&str>) -> &'static str {
    if dpop_jkt.is_some() {
        "DPoP"
    } else {
        "Bearer"
    }
}

impl AccessClaims {
    pub fn scopes(&self) -> ScopeSet {
        ScopeSet::parse(&self.scope).unwrap_or_default()
    }

    /// The thumbprint of the DPoP key this token is bound to, if it is.
    pub fn jkt(&self) -> Option<&str> {
        self.cnf.as_ref().map(|c| c.jkt.as_str())
    }
}

/// The user claims a set of granted scopes releases (OIDC Core §5.4), shared by the ID
/// token and the userinfo response. Only claims Tessera has a value for are sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// OIDC Core §5.1: Tessera does not verify addresses, so this is always false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

impl UserClaims {
    pub fn for_scopes(user: &User, scopes: &ScopeSet) -> Self {
        let allowed = scope::claims_for(scopes);
        let email = user.email.clone().filter(|_| allowed.contains("email"));
        Self {
            name: user.name.clone().filter(|_| allowed.contains("name")),
            preferred_username: allowed.contains("preferred_username").then(|| user.username.clone()),
            email_verified: email.as_ref().map(|_| false),
            email,
        }
    }
}

/// OIDC Core §2 and §3.1.3.6: the claims of an ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// OIDC Core §3.1.3.6: hash of the access token issued with it.
    pub at_hash: String,
    /// OIDC Core §2: the party the token was issued to.
    pub azp: String,
    #[serde(flatten)]
    pub user: UserClaims,
}

/// A client's configured algorithm, or `fallback` when unset or unknown.
fn alg_or(configured: &str, fallback: SigningAlg) -> SigningAlg {
    SigningAlg::from_str(configured).unwrap_or(fallback)
}

/// Access token lifetime: the client's setting, kept within what a retired signing key
/// stays published for, so that no valid token outlives its key in the JWKS.
fn access_ttl(client: &Client) -> i64 {
    client.settings.access_token_ttl.clamp(1, MAX_TOKEN_LIFETIME)
}

/// What an access token issued now looks like: its audience, lifetime, algorithm and
/// scopes. For an API named by `resource` (RFC 8707), the API's settings and the granted
/// scopes that belong to it; otherwise the sample resource with the client's settings and
/// every granted scope.
struct Target {
    aud: String,
    ttl: i64,
    alg: SigningAlg,
    scopes: ScopeSet,
}

impl Target {
    fn new(state: &AppState, client: &Client, api: Option<&Api>, granted: &ScopeSet) -> Target {
        match api {
            Some(api) => Target {
                aud: api.identifier.clone(),
                ttl: api.settings.access_token_ttl.clamp(1, MAX_TOKEN_LIFETIME),
                alg: api.settings.access_token_alg,
                scopes: tessera_core::resource::scopes_for(granted, &api.settings.scopes),
            },
            None => Target {
                aud: resource_audience(&state.issuer),
                ttl: access_ttl(client),
                alg: alg_or(&client.settings.access_token_alg, SigningAlg::ES256),
                scopes: granted.clone(),
            },
        }
    }
}

/// Signs an access token, bound to the DPoP key `dpop_jkt` when given; returns the JWT, its
/// lifetime in seconds and its scopes.
#[allow(clippy::too_many_arguments)]
fn sign_access_token(
    state: &AppState,
    client: &Client,
    api: Option<&Api>,
    sub: &str,
    scopes: &ScopeSet,
    auth_time: Option<i64>,
    gid: Option<&str>,
    dpop_jkt: Option<&str>,
    now: i64,
) -> Result<(String, i64, ScopeSet), OAuthError> {
    let Target { aud, ttl, alg, scopes } = Target::new(state, client, api, scopes);
    let claims = AccessClaims {
        iss: state.issuer.clone(),
        sub: sub.to_owned(),
        aud,
        exp: now.saturating_add(ttl),
        iat: now,
        jti: random_id(),
        client_id: client.client_id.clone(),
        scope: scopes.to_string(),
        auth_time,
        gid: gid.map(str::to_owned),
        cnf: dpop_jkt.map(|jkt| Confirmation { jkt: jkt.to_owned() }),
    };
    let jwt = state
        .keys
        .keys()
        .sign(alg, ACCESS_TOKEN_TYP, &claims)
        .map_err(server_error)?;
    Ok((jwt, ttl, scopes))
}

/// What a user's tokens are issued for: a grant from the authorization code, or its
/// continuation through a refresh token.
pub struct UserGrant<'a> {
    pub client: &'a Client,
    pub user: &'a User,
    /// The scopes of the tokens issued now (a refresh may narrow them).
    pub scopes: &'a ScopeSet,
    /// The scopes of the whole grant, which a new refresh token carries (RFC 6749 §6:
    /// a narrowed refresh does not shrink what later refreshes may ask for).
    pub grant_scopes: &'a ScopeSet,
    pub auth_time: i64,
    /// OIDC Core §3.1.3.6: echoed into the ID token; absent on refresh.
    pub nonce: Option<&'a str>,
    pub family_id: &'a str,
    pub refresh: RefreshIssue,
    /// RFC 9449 §5: the key of the request's DPoP proof, which the access token (and a
    /// public client's new refresh token) is bound to.
    pub dpop_jkt: Option<&'a str>,
    /// RFC 8707: the API the access token is for; `None` for the sample resource.
    pub api: Option<&'a Api>,
}

/// The refresh token a user grant's response carries, if any.
pub enum RefreshIssue {
    /// Mint and store a new one when the grant includes `offline_access` and the client
    /// may refresh (the authorization code grant).
    StoreNew,
    /// The successor the rotation already stored (the refresh grant).
    Stored(String),
    /// None: the refresh token presented stays valid as it is (a FAPI 2.0 client's refresh,
    /// which is not rotated; RFC 6749 §6 lets the response leave it out).
    Keep,
}

/// When a refresh token issued now expires: the client's setting (at least a second), but
/// never after its family's absolute cap, counted from `family_created_at`.
pub fn refresh_expiry(client: &Client, family_created_at: i64, family_max_age: i64, now: i64) -> i64 {
    now.saturating_add(client.settings.refresh_token_ttl.max(1))
        .min(family_created_at.saturating_add(family_max_age))
}

/// Issues an access token, a refresh token (when the grant includes `offline_access` and
/// the client may refresh) and an ID token (when `openid` is among the scopes), and returns
/// the RFC 6749 §5.1 token response.
pub async fn issue_for_user(state: &AppState, grant: &UserGrant<'_>, now: i64) -> Result<Value, OAuthError> {
    let client = grant.client;
    let (access_token, expires_in, token_scopes) = sign_access_token(
        state,
        client,
        grant.api,
        &grant.user.id,
        grant.scopes,
        Some(grant.auth_time),
        Some(grant.family_id),
        grant.dpop_jkt,
        now,
    )?;
    let mut body = json!({
        "access_token": access_token,
        "token_type": token_type(grant.dpop_jkt),
        "expires_in": expires_in,
        // RFC 6749 §5.1: the access token's scope (narrower for an API, RFC 8707).
        "scope": token_scopes.to_string(),
    });

    match &grant.refresh {
        // OIDC Core §11: offline_access asks for a refresh token; RFC 6749 §6 needs the
        // client to be allowed the refresh_token grant to use one.
        RefreshIssue::StoreNew
            if grant.grant_scopes.contains(OFFLINE_ACCESS)
                && client.allows_grant(tessera_core::model::GrantType::RefreshToken) =>
        {
            let refresh_token = random_token();
            let record = RefreshRecord {
                family_id: grant.family_id.to_owned(),
                client_id: client.client_id.clone(),
                user_id: grant.user.id.clone(),
                scopes: grant.grant_scopes.clone(),
                auth_time: grant.auth_time,
                expires_at: refresh_expiry(client, now, state.lifetimes.refresh_family_max_age, now),
                rotated: false,
                revoked: false,
                family_created_at: now,
                dpop_jkt: tessera_core::dpop::refresh_token_binding(client.is_public, grant.dpop_jkt),
                // The family keeps the grant's resources (from its code); not stored here.
                resources: Vec::new(),
            };
            state
                .db
                .store
                .put_refresh_token(&hash_secret(&refresh_token), &record, now)
                .await
                .map_err(server_error)?;
            body["refresh_token"] = json!(refresh_token);
        }
        RefreshIssue::StoreNew | RefreshIssue::Keep => {}
        RefreshIssue::Stored(refresh_token) => body["refresh_token"] = json!(refresh_token),
    }

    // OIDC Core §3.1.3.3: an OpenID Connect request gets an ID token.
    if grant.scopes.contains(OPENID) {
        let alg = alg_or(&client.settings.id_token_alg, SigningAlg::RS256);
        let claims = IdClaims {
            iss: state.issuer.clone(),
            sub: grant.user.id.clone(),
            aud: client.client_id.clone(),
            exp: now.saturating_add(ID_TOKEN_TTL),
            iat: now,
            auth_time: grant.auth_time,
            nonce: grant.nonce.map(str::to_owned),
            at_hash: at_hash(alg, &access_token),
            azp: client.client_id.clone(),
            user: UserClaims::for_scopes(grant.user, grant.scopes),
        };
        let id_token = state
            .keys
            .keys()
            .sign(alg, ID_TOKEN_TYP, &claims)
            .map_err(server_error)?;
        body["id_token"] = json!(id_token);
    }
    Ok(body)
}

/// RFC 6749 §4.4.3: client_credentials gets an access token only; its subject is the
/// client itself. `api`: the API named by `resource` (RFC 8707), if any. Bound to the
/// DPoP key `dpop_jkt` when given (RFC 9449 §5).
pub fn issue_for_client(
    state: &AppState,
    client: &Client,
    api: Option<&Api>,
    scopes: &ScopeSet,
    dpop_jkt: Option<&str>,
    now: i64,
) -> Result<Value, OAuthError> {
    let (access_token, expires_in, scopes) =
        sign_access_token(state, client, api, &client.client_id, scopes, None, None, dpop_jkt, now)?;
    let scopes = &scopes;
    let mut body = json!({
        "access_token": access_token,
        "token_type": token_type(dpop_jkt),
        "expires_in": expires_in,
    });
    if !scopes.is_empty() {
        body["scope"] = json!(scopes.to_string());
    }
    Ok(body)
}
