//! The console's server side: who may act (an administrator, with this session's CSRF
//! token), the one-time flash a form post leaves for the next render, and reading the
//! client form through the core's registration rules.

use std::collections::BTreeMap;

use leptos::prelude::*;
use tessera_core::audit::{Actor, Kind, NewEvent};
use tessera_core::model::{GrantType, SigningAlg};
use tessera_core::registration::{ClientRegistration, FieldErrors};
use tessera_core::store::{Client, ClientUpdate, GrantsOf, User};
use tower_sessions::Session;

use super::clients::ClientView;
use super::grants::{ConsentRow, FamilyRow, Grants};
use super::users::UserView;
use super::{AdminPage, Flash, Gate};
use crate::server::{self, ServerContext};

const FLASH_KEY: &str = "admin_flash";

fn session_err(e: tower_sessions::session::Error) -> ServerFnError {
    ServerFnError::new(format!("session: {e}"))
}

pub struct Admin {
    pub ctx: ServerContext,
    pub session: Session,
    pub user: User,
    pub csrf: String,
}

enum Who {
    Nobody,
    NotAdmin,
    // Boxed: an `Admin` is ~200 bytes, the other variants none.
    Admin(Box<Admin>),
}

async fn who() -> Result<Who, ServerFnError> {
    let session = server::session().await?;
    let ctx = server::context()?;
    let csrf = server::csrf_token(&session).await?;
    Ok(match server::current_user(&ctx, &session).await? {
        None => Who::Nobody,
        Some(u) if !u.is_admin => Who::NotAdmin,
        Some(user) => Who::Admin(Box::new(Admin {
            ctx,
            session,
            user,
            csrf,
        })),
    })
}

/// For a page loader: the administrator and the flash, or what to show instead.
pub async fn page<T>() -> Result<Result<(Admin, Flash), Gate<T>>, ServerFnError> {
    match who().await? {
        Who::Nobody => Ok(Err(Gate::SignIn)),
        Who::NotAdmin => Ok(Err(Gate::Forbidden)),
        Who::Admin(a) => {
            let flash = a.session.remove::<Flash>(FLASH_KEY).await.map_err(session_err)?;
            Ok(Ok((*a, flash.unwrap_or_default())))
        }
    }
}

/// For a form action: the administrator, or `None` once the answer (a redirect to the
/// login, or back with "session expired") is set. A signed-in non-administrator gets
/// 403 and nothing happens.
pub async fn action(csrf: &str, back: &str) -> Result<Option<Admin>, ServerFnError> {
    match who().await? {
        Who::Nobody => {
            leptos_axum::redirect(&server::login_url(back, "", None));
            Ok(None)
        }
        Who::NotAdmin => {
            if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
                res.set_status(http::StatusCode::FORBIDDEN);
            }
            Err(ServerFnError::new("forbidden: administrators only"))
        }
        Who::Admin(a) => {
            if server::csrf_ok(&a.session, csrf).await {
                Ok(Some(*a))
            } else {
                a.form_error(back, "Your session expired. Please try again.").await?;
                Ok(None)
            }
        }
    }
}

impl Admin {
    pub fn page<T>(&self, flash: Flash, data: T) -> Gate<T> {
        Gate::Page(AdminPage {
            csrf: self.csrf.clone(),
            flash,
            data,
        })
    }

    pub async fn redirect_with(&self, to: &str, flash: Flash) -> Result<(), ServerFnError> {
        self.session.insert(FLASH_KEY, &flash).await.map_err(session_err)?;
        leptos_axum::redirect(to);
        Ok(())
    }

    pub async fn notice(&self, to: &str, text: &str) -> Result<(), ServerFnError> {
        let flash = Flash {
            notice: Some(text.to_owned()),
            ..Default::default()
        };
        self.redirect_with(to, flash).await
    }

    pub async fn form_error(&self, to: &str, text: &str) -> Result<(), ServerFnError> {
        let flash = Flash {
            errors: BTreeMap::from([("form".to_owned(), text.to_owned())]),
            ..Default::default()
        };
        self.redirect_with(to, flash).await
    }

    pub async fn back_with_errors(
        &self,
        to: &str,
        errors: BTreeMap<String, String>,
        values: BTreeMap<String, String>,
    ) -> Result<(), ServerFnError> {
        let flash = Flash {
            errors,
            values,
            ..Default::default()
        };
        self.redirect_with(to, flash).await
    }

    /// Records what this administrator did in the audit log, at this request's address
    /// (best-effort: [`tessera_services::audit::record`]); `build` adds the subject,
    /// client and detail.
    pub async fn audit(&self, kind: Kind, build: impl FnOnce(NewEvent) -> NewEvent) {
        let event = NewEvent::new(kind, Actor::user(&self.user.id, &self.user.username), server::now())
            .address(server::peer().await);
        tessera_services::audit::record(self.ctx.store.as_ref(), build(event)).await;
    }

    /// A user's username, the audit log's subject for an action on them (their id if
    /// they are gone or the store fails: the log is best-effort).
    pub async fn username_of(&self, user_id: &str) -> String {
        match self.ctx.store.user_by_id(user_id).await {
            Ok(Some(u)) => u.username,
            _ => user_id.to_owned(),
        }
    }
}

pub fn client_path(client_id: &str) -> String {
    format!("/admin/clients/{}", server::urlencode(client_id))
}

pub fn user_path(user_id: &str) -> String {
    format!("/admin/users/{}", server::urlencode(user_id))
}

/// Only pages of the admin console are returned to.
pub fn admin_back(back: &str) -> String {
    let back = server::safe_next(back);
    if back.starts_with("/admin") {
        back
    } else {
        "/admin".to_owned()
    }
}

pub fn client_view(c: Client) -> ClientView {
    let grant_types = GrantType::ALL
        .into_iter()
        .filter(|g| c.allows_grant(g))
        .map(String::from)
        .collect();
    ClientView {
        grant_types,
        require_pkce: c.requires_pkce(),
        client_id: c.client_id,
        name: c.name,
        description: c.settings.description.unwrap_or_default(),
        logo_uri: c.settings.logo_uri.unwrap_or_default(),
        is_public: c.is_public,
        redirect_uris: c.redirect_uris.into_iter().map(String::from).collect(),
        scopes: c.scopes.to_string(),
        access_token_ttl: c.settings.access_token_ttl,
        refresh_token_ttl: c.settings.refresh_token_ttl,
        access_token_alg: c.settings.access_token_alg,
        id_token_alg: c.settings.id_token_alg,
        created: crate::api::account::utc_date(c.created_at),
        require_pushed_authorization_requests: c.settings.require_pushed_authorization_requests,
        fapi2: c.settings.fapi2,
        token_endpoint_auth_method: c.settings.token_endpoint_auth_method,
        jwks: c.settings.jwks.unwrap_or_default(),
        jwks_uri: c.settings.jwks_uri.unwrap_or_default(),
        require_signed_request_object: c.settings.require_signed_request_object,
        dpop_bound_access_tokens: c.settings.dpop_bound_access_tokens,
        resources: c.settings.resources,
        dynamic: None,
    }
}

pub fn user_view(u: User) -> UserView {
    UserView {
        id: u.id,
        username: u.username,
        name: u.name.unwrap_or_default(),
        email: u.email.unwrap_or_default(),
        is_admin: u.is_admin,
        disabled: u.disabled,
        created: crate::api::account::utc_date(u.created_at),
    }
}

pub async fn grants(ctx: &ServerContext, of: GrantsOf<'_>) -> Result<Grants, ServerFnError> {
    let consents = ctx
        .store
        .consents_of(of)
        .await
        .map_err(crate::server::fail)?
        .into_iter()
        .map(|c| ConsentRow {
            user_id: c.consent.user_id,
            username: c.username,
            client_id: c.consent.client_id,
            client_name: c.client_name,
            scopes: c.consent.scopes.to_string(),
            granted: crate::api::account::utc_date(c.consent.granted_at),
        })
        .collect();
    let families = ctx
        .store
        .active_families(of, server::now())
        .await
        .map_err(crate::server::fail)?
        .into_iter()
        .map(|f| FamilyRow {
            family_id: f.family_id,
            client_id: f.client_id,
            client_name: f.client_name,
            username: f.username.unwrap_or_default(),
            scopes: f.scopes.to_string(),
            created: crate::api::account::utc_date(f.created_at),
        })
        .collect();
    Ok(Grants { consents, families })
}

/// Every scope a client may be given: the built-in ones, then the custom ones.
pub async fn scope_names(ctx: &ServerContext) -> Result<Vec<String>, ServerFnError> {
    let mut names: Vec<String> = tessera_core::scope::builtin_scopes()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    names.extend(
        ctx.store
            .custom_scopes()
            .await
            .map_err(crate::server::fail)?
            .into_iter()
            .map(|s| s.name),
    );
    Ok(names)
}

/// The identifiers of the registered APIs (RFC 8707 resource servers).
pub async fn api_identifiers(ctx: &ServerContext) -> Result<Vec<String>, ServerFnError> {
    Ok(ctx
        .store
        .apis()
        .await
        .map_err(crate::server::fail)?
        .into_iter()
        .map(|a| a.identifier)
        .collect())
}

/// Argon2id through the server's bounded Argon2 pool.
pub async fn hash(password: String) -> Result<String, ServerFnError> {
    tessera_services::password::hash(password).await.map_err(server::fail)
}

/// The signing algorithms the form offers, the access-token default first.
pub fn alg_options() -> Vec<String> {
    let default = SigningAlg::ACCESS_TOKEN_DEFAULT;
    std::iter::once(default)
        .chain(SigningAlg::ALL.into_iter().filter(|a| *a != default))
        .map(String::from)
        .collect()
}

/// The "new client" form's starting values: what the core stores by default.
pub fn new_client_view() -> ClientView {
    use tessera_core::registration::{NEW_CLIENT_GRANTS, NEW_CLIENT_SCOPES};
    let s = tessera_core::store::ClientSettings::default();
    ClientView {
        client_id: String::new(),
        name: String::new(),
        description: String::new(),
        logo_uri: String::new(),
        is_public: false,
        redirect_uris: Vec::new(),
        scopes: NEW_CLIENT_SCOPES.into(),
        grant_types: NEW_CLIENT_GRANTS.into_iter().map(String::from).collect(),
        require_pkce: s.require_pkce,
        access_token_ttl: s.access_token_ttl,
        refresh_token_ttl: s.refresh_token_ttl,
        access_token_alg: s.access_token_alg,
        id_token_alg: s.id_token_alg,
        created: String::new(),
        require_pushed_authorization_requests: s.require_pushed_authorization_requests,
        fapi2: s.fapi2,
        token_endpoint_auth_method: s.token_endpoint_auth_method,
        jwks: String::new(),
        jwks_uri: String::new(),
        require_signed_request_object: s.require_signed_request_object,
        dpop_bound_access_tokens: s.dpop_bound_access_tokens,
        resources: s.resources,
        dynamic: None,
    }
}

/// Client id → how it was registered dynamically ("open registration" or "initial access
/// token ID (description)", and when), for every client registered through `/register`.
pub async fn dynamic_origins(
    ctx: &crate::server::ServerContext,
) -> Result<std::collections::HashMap<String, String>, ServerFnError> {
    let tokens = ctx.store.initial_tokens().await.map_err(crate::server::fail)?;
    let dynamic = ctx.store.dynamic_clients().await.map_err(crate::server::fail)?;
    Ok(dynamic
        .into_iter()
        .map(|d| {
            let by = match &d.initial_token_id {
                None => "open registration".to_owned(),
                Some(id) => match tokens
                    .iter()
                    .find(|t| &t.id == id)
                    .filter(|t| !t.description.is_empty())
                {
                    Some(t) => format!("initial access token {id} ({})", t.description),
                    None => format!("initial access token {id}"),
                },
            };
            let used = if d.used_at.is_some() { "" } else { ", not used yet" };
            let text = format!(
                "Registered dynamically by {by} on {}{used}",
                crate::api::account::utc_date(d.registered_at)
            );
            (d.client_id, text)
        })
        .collect())
}

/// The authentication methods the form offers a confidential client (a public one is
/// always `none`).
pub fn auth_method_options() -> Vec<String> {
    use tessera_core::model::ClientAuthMethod;
    ClientAuthMethod::ALL
        .into_iter()
        .filter(|m| *m != ClientAuthMethod::None)
        .map(|m| m.as_str().to_owned())
        .collect()
}

/// "MIN to MAX" of the access and refresh token lifetimes a client may have.
pub fn ttl_hints() -> (String, String) {
    use tessera_core::policy::{ACCESS_TOKEN_LIFETIME_RANGE as A, REFRESH_TOKEN_LIFETIME_RANGE as R};
    (
        format!("{} to {}", A.start(), A.end()),
        format!("{} to {}", R.start(), R.end()),
    )
}

/// The grant checkboxes as posted (one field `grant_{name}` per grant type), in
/// `GrantType::ALL` order.
pub fn checked_grants(
    authorization_code: &str,
    refresh_token: &str,
    client_credentials: &str,
    device_code: &str,
) -> Vec<GrantType> {
    [
        (GrantType::AuthorizationCode, authorization_code),
        (GrantType::RefreshToken, refresh_token),
        (GrantType::ClientCredentials, client_credentials),
        (GrantType::DeviceCode, device_code),
    ]
    .into_iter()
    .filter(|(_, on)| !on.is_empty())
    .map(|(g, _)| g)
    .collect()
}

/// The client form as posted.
pub struct ClientForm {
    pub name: String,
    pub description: String,
    pub logo_uri: String,
    pub is_public: bool,
    pub redirect_uris: String,
    pub scopes: String,
    pub grant_types: Vec<GrantType>,
    pub require_pkce: bool,
    pub access_token_ttl: String,
    pub refresh_token_ttl: String,
    pub access_token_alg: String,
    pub id_token_alg: String,
    pub require_pushed_authorization_requests: bool,
    pub fapi2: bool,
    pub token_endpoint_auth_method: String,
    pub jwks: String,
    pub jwks_uri: String,
    pub require_signed_request_object: bool,
    /// The server's issuer (decides whether a loopback http `jwks_uri` is allowed).
    pub issuer: String,
    pub dpop_bound_access_tokens: bool,
    /// API identifiers, one per line.
    pub resources: String,
}

impl ClientForm {
    /// The values to show again when the form comes back with errors.
    pub fn values(&self) -> BTreeMap<String, String> {
        let mut v = BTreeMap::from([
            ("name".to_owned(), self.name.clone()),
            ("description".to_owned(), self.description.clone()),
            ("logo_uri".to_owned(), self.logo_uri.clone()),
            ("redirect_uris".to_owned(), self.redirect_uris.clone()),
            ("scopes".to_owned(), self.scopes.clone()),
            ("access_token_ttl".to_owned(), self.access_token_ttl.clone()),
            ("refresh_token_ttl".to_owned(), self.refresh_token_ttl.clone()),
            ("access_token_alg".to_owned(), self.access_token_alg.clone()),
            ("id_token_alg".to_owned(), self.id_token_alg.clone()),
            (
                "token_endpoint_auth_method".to_owned(),
                self.token_endpoint_auth_method.clone(),
            ),
            ("jwks".to_owned(), self.jwks.clone()),
            ("jwks_uri".to_owned(), self.jwks_uri.clone()),
            ("resources".to_owned(), self.resources.clone()),
        ]);
        if self.require_signed_request_object {
            v.insert("require_signed_request_object".into(), "on".into());
        }
        for g in &self.grant_types {
            v.insert(super::clients::grant_field(g.as_str()), "on".into());
        }
        if self.require_pkce {
            v.insert("require_pkce".into(), "on".into());
        }
        if self.require_pushed_authorization_requests {
            v.insert("require_pushed_authorization_requests".into(), "on".into());
        }
        if self.fapi2 {
            v.insert("fapi2".into(), "on".into());
        }
        if self.dpop_bound_access_tokens {
            v.insert("dpop_bound_access_tokens".into(), "on".into());
        }
        v
    }

    /// Every field checked by the core's one client validation, every error
    /// reported, nothing written. Redirect URIs and APIs are one per line, blank lines
    /// skipped.
    pub fn validate(&self, known_scopes: &[String], known_apis: &[String]) -> Result<ClientUpdate, FieldErrors> {
        ClientRegistration {
            name: self.name.clone(),
            description: self.description.clone(),
            logo_uri: self.logo_uri.clone(),
            is_public: self.is_public,
            redirect_uris: self
                .redirect_uris
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            scopes: self.scopes.clone(),
            grant_types: Some(self.grant_types.clone()),
            require_pkce: self.require_pkce,
            access_token_ttl: self.access_token_ttl.clone(),
            refresh_token_ttl: self.refresh_token_ttl.clone(),
            access_token_alg: self.access_token_alg.clone(),
            id_token_alg: self.id_token_alg.clone(),
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            fapi2: self.fapi2,
            // A public client has no choice (the form sends none for it).
            token_endpoint_auth_method: if self.is_public {
                String::new()
            } else {
                self.token_endpoint_auth_method.clone()
            },
            jwks: self.jwks.clone(),
            jwks_uri: self.jwks_uri.clone(),
            require_signed_request_object: self.require_signed_request_object,
            issuer: self.issuer.clone(),
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            resources: self.resources.lines().map(str::to_owned).collect(),
        }
        .validate(known_scopes, known_apis)
    }
}
