//! The console's clients: the list, one client with its grants, create, update, rotate
//! the secret, delete.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::grants::Grants;
#[cfg(feature = "ssr")]
use super::ssr;
#[cfg(feature = "ssr")]
use super::Flash;
use super::Gate;
#[cfg(feature = "ssr")]
use serde_json::json;
#[cfg(feature = "ssr")]
use tessera_core::audit::Kind;
#[cfg(feature = "ssr")]
use tessera_services::audit::detail;

/// The form field of a grant type's checkbox: `grant_` and the name's last part (the
/// device grant's URN ends in `device_code`), so that it is a server function argument.
pub fn grant_field(grant: &str) -> String {
    format!("grant_{}", grant.rsplit(':').next().unwrap_or(grant))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub description: String,
    pub logo_uri: String,
    pub is_public: bool,
    pub redirect_uris: Vec<String>,
    pub scopes: String,
    pub grant_types: Vec<String>,
    pub require_pkce: bool,
    pub access_token_ttl: i64,
    pub refresh_token_ttl: i64,
    pub access_token_alg: String,
    pub id_token_alg: String,
    pub created: String,
    /// RFC 9126 §6: authorization requests only by `/par`.
    pub require_pushed_authorization_requests: bool,
    /// The FAPI 2.0 Security Profile (`tessera_core::fapi`).
    pub fapi2: bool,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none`.
    pub token_endpoint_auth_method: String,
    /// The inline JWK Set (JSON text), or empty.
    pub jwks: String,
    pub jwks_uri: String,
    pub require_signed_request_object: bool,
    /// RFC 9449 §5 `dpop_bound_access_tokens`.
    pub dpop_bound_access_tokens: bool,
    /// Identifiers of the APIs it may name as `resource` (RFC 8707); empty: the sample
    /// resource only.
    pub resources: Vec<String>,
    /// Registered dynamically (RFC 7591): by what ("open registration" or the initial
    /// access token) and when; `None`: by an administrator.
    #[serde(default)]
    pub dynamic: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientDetail {
    /// `None`: no such client.
    pub client: Option<ClientView>,
    pub grants: Grants,
    /// Every scope a client may list (built-in, then custom).
    pub scope_names: Vec<String>,
    /// The grant types a client may be given (the core's `GrantType::ALL`).
    pub grant_types: Vec<String>,
    /// The signing algorithms a client may choose (the core's `SigningAlg::ALL`, the
    /// access-token default first).
    pub algs: Vec<String>,
    /// What the "new client" form starts with (the core's defaults).
    pub new_client: ClientView,
    /// The allowed access and refresh token lifetimes, e.g. "60 to 86400" (the core's policy).
    pub ttl_hints: (String, String),
    /// The authentication methods a confidential client may choose (the core's
    /// `ClientAuthMethod::ALL` without `none`).
    pub auth_methods: Vec<String>,
    /// Identifiers of the registered APIs, which a client may be allowed.
    pub apis: Vec<String>,
    /// What the FAPI 2.0 switch enforces, one line each with its section
    /// (`tessera_core::fapi::ENFORCED`).
    pub fapi_rules: Vec<String>,
}

/// Every client; `kind` filters: `admin` (registered by an administrator), `dynamic`
/// (registered through `/register`), anything else all.
#[server(prefix = "/ui", endpoint = "admin/clients")]
pub async fn admin_clients(#[server(default)] kind: String) -> Result<Gate<Vec<ClientView>>, ServerFnError> {
    let (a, flash) = match ssr::page().await? {
        Ok(x) => x,
        Err(gate) => return Ok(gate),
    };
    let clients = a.ctx.store.list_clients().await.map_err(crate::server::fail)?;
    let dynamic = ssr::dynamic_origins(&a.ctx).await?;
    let views = clients
        .into_iter()
        .map(|c| {
            let origin = dynamic.get(&c.client_id).cloned();
            ClientView {
                dynamic: origin,
                ..ssr::client_view(c)
            }
        })
        .filter(|v| match kind.as_str() {
            "admin" => v.dynamic.is_none(),
            "dynamic" => v.dynamic.is_some(),
            _ => true,
        })
        .collect();
    Ok(a.page(flash, views))
}

/// One client with its grants; with an empty id, the "new client" form's data.
#[server(prefix = "/ui", endpoint = "admin/client")]
pub async fn admin_client(client_id: String) -> Result<Gate<ClientDetail>, ServerFnError> {
    use tessera_core::model::GrantType;
    use tessera_core::store::GrantsOf;
    let (a, flash) = match ssr::page().await? {
        Ok(x) => x,
        Err(gate) => return Ok(gate),
    };
    let scope_names = ssr::scope_names(&a.ctx).await?;
    let (client, grants) = if client_id.is_empty() {
        (None, Grants::default())
    } else {
        let client = a
            .ctx
            .store
            .client_by_id(&client_id)
            .await
            .map_err(crate::server::fail)?;
        let grants = ssr::grants(&a.ctx, GrantsOf::Client(&client_id)).await?;
        let origin = ssr::dynamic_origins(&a.ctx).await?.remove(&client_id);
        let view = client.map(|c| ClientView {
            dynamic: origin,
            ..ssr::client_view(c)
        });
        (view, grants)
    };
    Ok(a.page(
        flash,
        ClientDetail {
            client,
            grants,
            scope_names,
            grant_types: GrantType::names().into_iter().map(String::from).collect(),
            algs: ssr::alg_options(),
            new_client: ssr::new_client_view(),
            ttl_hints: ssr::ttl_hints(),
            auth_methods: ssr::auth_method_options(),
            apis: ssr::api_identifiers(&a.ctx).await?,
            fapi_rules: tessera_core::fapi::ENFORCED
                .iter()
                .map(|(rule, section)| format!("{rule} ({section})"))
                .collect(),
        },
    ))
}

/// Registers a client. A confidential client's secret is shown once, on the next page.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/ui", endpoint = "admin/clients/create")]
pub async fn admin_create_client(
    csrf: String,
    name: String,
    #[server(default)] description: String,
    #[server(default)] logo_uri: String,
    #[server(default)] client_type: String,
    #[server(default)] redirect_uris: String,
    #[server(default)] scopes: String,
    #[server(default)] grant_authorization_code: String,
    #[server(default)] grant_refresh_token: String,
    #[server(default)] grant_client_credentials: String,
    #[server(default)] grant_device_code: String,
    #[server(default)] require_pkce: String,
    #[server(default)] access_token_ttl: String,
    #[server(default)] refresh_token_ttl: String,
    #[server(default)] access_token_alg: String,
    #[server(default)] id_token_alg: String,
    #[server(default)] require_pushed_authorization_requests: String,
    #[server(default)] fapi2: String,
    #[server(default)] token_endpoint_auth_method: String,
    #[server(default)] jwks: String,
    #[server(default)] jwks_uri: String,
    #[server(default)] require_signed_request_object: String,
    #[server(default)] dpop_bound_access_tokens: String,
    #[server(default)] resources: String,
) -> Result<(), ServerFnError> {
    use tessera_core::secret::{random_id, ClientSecret};
    use tessera_core::store::NewClient;
    let back = "/admin/clients/new";
    let Some(a) = ssr::action(&csrf, back).await? else {
        return Ok(());
    };
    let form = ssr::ClientForm {
        name,
        description,
        logo_uri,
        is_public: client_type == "public",
        redirect_uris,
        scopes,
        grant_types: ssr::checked_grants(
            &grant_authorization_code,
            &grant_refresh_token,
            &grant_client_credentials,
            &grant_device_code,
        ),
        require_pkce: !require_pkce.is_empty(),
        access_token_ttl,
        refresh_token_ttl,
        access_token_alg,
        id_token_alg,
        require_pushed_authorization_requests: !require_pushed_authorization_requests.is_empty(),
        fapi2: !fapi2.is_empty(),
        token_endpoint_auth_method,
        jwks,
        jwks_uri,
        require_signed_request_object: !require_signed_request_object.is_empty(),
        issuer: a.ctx.issuer.clone(),
        dpop_bound_access_tokens: !dpop_bound_access_tokens.is_empty(),
        resources,
    };
    let known = ssr::scope_names(&a.ctx).await?;
    let apis = ssr::api_identifiers(&a.ctx).await?;
    let update = match form.validate(&known, &apis) {
        Ok(u) => u,
        Err(errors) => {
            let mut values = form.values();
            values.insert("client_type".into(), client_type);
            return a.back_with_errors(back, errors, values).await;
        }
    };
    // A private_key_jwt client has no secret (RFC 7523 §2.2: its keys authenticate it).
    let uses_secret = !form.is_public && update.settings.token_endpoint_auth_method != "private_key_jwt";
    let secret = uses_secret.then(ClientSecret::generate);
    let client = NewClient {
        client_id: random_id(),
        name: update.name,
        secret_hash: secret.as_ref().map(ClientSecret::hash),
        redirect_uris: update.redirect_uris,
        scopes: update.scopes,
        is_public: form.is_public,
        settings: update.settings,
    };
    let client = a
        .ctx
        .store
        .create_client(client, crate::server::now())
        .await
        .map_err(crate::server::fail)?;
    a.audit(Kind::ClientCreated, |e| {
        e.client(&client.client_id)
            .subject(&client.client_id)
            .detail(detail(json!({ "name": client.name, "public": client.is_public })))
    })
    .await;
    let flash = Flash {
        notice: Some(format!("Client \u{201c}{}\u{201d} was created.", client.name)),
        secret: secret.map(|s| s.expose().to_owned()),
        ..Default::default()
    };
    a.redirect_with(&ssr::client_path(&client.client_id), flash).await
}

/// Changes a client's settings; its id and type stay as registered.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/ui", endpoint = "admin/clients/update")]
pub async fn admin_update_client(
    csrf: String,
    client_id: String,
    name: String,
    #[server(default)] description: String,
    #[server(default)] logo_uri: String,
    #[server(default)] redirect_uris: String,
    #[server(default)] scopes: String,
    #[server(default)] grant_authorization_code: String,
    #[server(default)] grant_refresh_token: String,
    #[server(default)] grant_client_credentials: String,
    #[server(default)] grant_device_code: String,
    #[server(default)] require_pkce: String,
    #[server(default)] access_token_ttl: String,
    #[server(default)] refresh_token_ttl: String,
    #[server(default)] access_token_alg: String,
    #[server(default)] id_token_alg: String,
    #[server(default)] require_pushed_authorization_requests: String,
    #[server(default)] fapi2: String,
    #[server(default)] token_endpoint_auth_method: String,
    #[server(default)] jwks: String,
    #[server(default)] jwks_uri: String,
    #[server(default)] require_signed_request_object: String,
    #[server(default)] dpop_bound_access_tokens: String,
    #[server(default)] resources: String,
) -> Result<(), ServerFnError> {
    let back = ssr::client_path(&client_id);
    let Some(a) = ssr::action(&csrf, &back).await? else {
        return Ok(());
    };
    let Some(existing) = a
        .ctx
        .store
        .client_by_id(&client_id)
        .await
        .map_err(crate::server::fail)?
    else {
        return a.notice("/admin/clients", "That client no longer exists.").await;
    };
    let form = ssr::ClientForm {
        name,
        description,
        logo_uri,
        is_public: existing.is_public,
        redirect_uris,
        scopes,
        grant_types: ssr::checked_grants(
            &grant_authorization_code,
            &grant_refresh_token,
            &grant_client_credentials,
            &grant_device_code,
        ),
        require_pkce: !require_pkce.is_empty(),
        access_token_ttl,
        refresh_token_ttl,
        access_token_alg,
        id_token_alg,
        require_pushed_authorization_requests: !require_pushed_authorization_requests.is_empty(),
        fapi2: !fapi2.is_empty(),
        token_endpoint_auth_method,
        jwks,
        jwks_uri,
        require_signed_request_object: !require_signed_request_object.is_empty(),
        issuer: a.ctx.issuer.clone(),
        dpop_bound_access_tokens: !dpop_bound_access_tokens.is_empty(),
        resources,
    };
    let known = ssr::scope_names(&a.ctx).await?;
    let apis = ssr::api_identifiers(&a.ctx).await?;
    let update = match form.validate(&known, &apis) {
        Ok(u) => u,
        Err(errors) => return a.back_with_errors(&back, errors, form.values()).await,
    };
    a.ctx
        .store
        .update_client(&client_id, &update)
        .await
        .map_err(crate::server::fail)?;
    a.audit(Kind::ClientUpdated, |e| e.client(&client_id).subject(&client_id))
        .await;
    a.notice(&back, "Changes saved.").await
}

/// Replaces a confidential client's secret; the new one is shown once.
#[server(prefix = "/ui", endpoint = "admin/clients/rotate")]
pub async fn admin_rotate_secret(csrf: String, client_id: String) -> Result<(), ServerFnError> {
    use tessera_core::secret::ClientSecret;
    let back = ssr::client_path(&client_id);
    let Some(a) = ssr::action(&csrf, &back).await? else {
        return Ok(());
    };
    match a
        .ctx
        .store
        .client_by_id(&client_id)
        .await
        .map_err(crate::server::fail)?
    {
        Some(c) if !c.is_public => {}
        Some(_) => return a.form_error(&back, "A public client has no secret.").await,
        None => return a.notice("/admin/clients", "That client no longer exists.").await,
    }
    let secret = ClientSecret::generate();
    a.ctx
        .store
        .set_client_secret_hash(&client_id, &secret.hash())
        .await
        .map_err(crate::server::fail)?;
    a.audit(Kind::ClientSecretRotated, |e| e.client(&client_id).subject(&client_id))
        .await;
    let flash = Flash {
        notice: Some("A new secret was generated; the old one no longer works.".into()),
        secret: Some(secret.expose().to_owned()),
        ..Default::default()
    };
    a.redirect_with(&back, flash).await
}

/// Deletes a client and everything issued to it (the confirmation is the page's step).
#[server(prefix = "/ui", endpoint = "admin/clients/delete")]
pub async fn admin_delete_client(csrf: String, client_id: String) -> Result<(), ServerFnError> {
    let back = ssr::client_path(&client_id);
    let Some(a) = ssr::action(&csrf, &back).await? else {
        return Ok(());
    };
    let name = a
        .ctx
        .store
        .client_by_id(&client_id)
        .await
        .map_err(crate::server::fail)?
        .map(|c| c.name);
    if a.ctx
        .store
        .delete_client(&client_id)
        .await
        .map_err(crate::server::fail)?
    {
        let name = name.clone().unwrap_or_default();
        a.audit(Kind::ClientDeleted, |e| {
            e.client(&client_id)
                .subject(&client_id)
                .detail(detail(json!({ "name": name })))
        })
        .await;
    }
    let text = match name {
        Some(n) => format!("Client \u{201c}{n}\u{201d} was deleted."),
        None => "That client no longer exists.".to_owned(),
    };
    a.notice("/admin/clients", &text).await
}
