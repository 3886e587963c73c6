//! The console's APIs (resource servers, RFC 8707): list, register, change, delete
//! (refused while a client may use the API, and for the sample resource's own).

#[cfg(feature = "ssr")]
use std::collections::BTreeMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;
use super::Gate;
#[cfg(feature = "ssr")]
use serde_json::json;
#[cfg(feature = "ssr")]
use tessera_core::audit::Kind;
#[cfg(feature = "ssr")]
use tessera_services::audit::detail;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiView {
    pub identifier: String,
    pub name: String,
    pub scopes: String,
    pub access_token_alg: String,
    pub access_token_ttl: i64,
    pub created: String,
    /// The sample resource's API (`<issuer>/api`): registered by the server, not deletable.
    pub sample: bool,
    /// Names of the clients that may use it.
    pub used_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApisPage {
    pub apis: Vec<ApiView>,
    /// One API for the edit page (`None`: no such API); unused by the list.
    pub api: Option<ApiView>,
    /// Every scope an API may list (built-in, then custom).
    pub scope_names: Vec<String>,
    /// The signing algorithms (the core's `SigningAlg::ALL`, the access-token default first).
    pub algs: Vec<String>,
    /// The allowed access token lifetimes, e.g. "60 to 86400".
    pub ttl_hint: String,
    /// What the "new API" form starts with.
    pub new_api: ApiView,
}

#[cfg(feature = "ssr")]
fn api_path(identifier: &str) -> String {
    format!("/admin/api?id={}", crate::server::urlencode(identifier))
}

/// Every API, or with a non-empty `identifier`, that one for its edit page.
#[server(prefix = "/ui", endpoint = "admin/apis")]
pub async fn admin_apis(#[server(default)] identifier: String) -> Result<Gate<ApisPage>, ServerFnError> {
    use tessera_core::registration::ApiRegistration;
    let (a, flash) = match ssr::page().await? {
        Ok(x) => x,
        Err(gate) => return Ok(gate),
    };
    let clients = a.ctx.store.list_clients().await.map_err(crate::server::fail)?;
    let sample = tessera_core::resource::sample_identifier(&a.ctx.issuer);
    let view = |api: tessera_core::store::Api| ApiView {
        used_by: clients
            .iter()
            .filter(|c| c.allows_resource(&api.identifier, &sample))
            .map(|c| c.name.clone())
            .collect(),
        sample: api.identifier == sample,
        name: api.settings.name,
        scopes: api.settings.scopes.to_string(),
        access_token_alg: api.settings.access_token_alg.as_str().to_owned(),
        access_token_ttl: api.settings.access_token_ttl,
        created: crate::api::account::utc_date(api.created_at),
        identifier: api.identifier,
    };
    let apis: Vec<ApiView> = a
        .ctx
        .store
        .apis()
        .await
        .map_err(crate::server::fail)?
        .into_iter()
        .map(view)
        .collect();
    let api = apis.iter().find(|v| v.identifier == identifier).cloned();
    let d = ApiRegistration::default();
    let r = tessera_core::policy::ACCESS_TOKEN_LIFETIME_RANGE;
    Ok(a.page(
        flash,
        ApisPage {
            apis,
            api,
            scope_names: ssr::scope_names(&a.ctx).await?,
            algs: ssr::alg_options(),
            ttl_hint: format!("{} to {}", r.start(), r.end()),
            new_api: ApiView {
                identifier: String::new(),
                name: String::new(),
                scopes: String::new(),
                access_token_alg: d.access_token_alg,
                access_token_ttl: d.access_token_ttl.parse().unwrap_or_default(),
                created: String::new(),
                sample: false,
                used_by: Vec::new(),
            },
        },
    ))
}

/// The API form as posted, checked by the core's registration rules.
#[cfg(feature = "ssr")]
fn read_form(
    identifier: String,
    name: String,
    scopes: String,
    access_token_alg: String,
    access_token_ttl: String,
) -> (tessera_core::registration::ApiRegistration, BTreeMap<String, String>) {
    let values = BTreeMap::from([
        ("identifier".to_owned(), identifier.clone()),
        ("name".to_owned(), name.clone()),
        ("scopes".to_owned(), scopes.clone()),
        ("access_token_alg".to_owned(), access_token_alg.clone()),
        ("access_token_ttl".to_owned(), access_token_ttl.clone()),
    ]);
    let form = tessera_core::registration::ApiRegistration {
        identifier,
        name,
        scopes,
        access_token_alg,
        access_token_ttl,
    };
    (form, values)
}

/// Registers an API.
#[server(prefix = "/ui", endpoint = "admin/apis/create")]
pub async fn admin_create_api(
    csrf: String,
    #[server(default)] identifier: String,
    #[server(default)] name: String,
    #[server(default)] scopes: String,
    #[server(default)] access_token_alg: String,
    #[server(default)] access_token_ttl: String,
) -> Result<(), ServerFnError> {
    use tessera_core::store::StoreError;
    let back = "/admin/apis";
    let Some(a) = ssr::action(&csrf, back).await? else {
        return Ok(());
    };
    let (form, values) = read_form(identifier, name, scopes, access_token_alg, access_token_ttl);
    let known = ssr::scope_names(&a.ctx).await?;
    let (identifier, settings) = match form.validate(&known) {
        Ok(v) => v,
        Err(errors) => return a.back_with_errors(back, errors, values).await,
    };
    match a
        .ctx
        .store
        .create_api(&identifier, &settings, crate::server::now())
        .await
    {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => {
            let errors = BTreeMap::from([(
                "identifier".to_owned(),
                "An API with this identifier is registered already.".to_owned(),
            )]);
            return a.back_with_errors(back, errors, values).await;
        }
        Err(e) => return Err(crate::server::fail(e)),
    }
    a.audit(Kind::ApiCreated, |e| {
        e.subject(&identifier).detail(detail(json!({ "name": settings.name })))
    })
    .await;
    a.notice(
        &api_path(&identifier),
        &format!("API \u{201c}{}\u{201d} was registered.", settings.name),
    )
    .await
}

/// Changes an API's settings; its identifier stays as registered.
#[server(prefix = "/ui", endpoint = "admin/apis/update")]
pub async fn admin_update_api(
    csrf: String,
    identifier: String,
    #[server(default)] name: String,
    #[server(default)] scopes: String,
    #[server(default)] access_token_alg: String,
    #[server(default)] access_token_ttl: String,
) -> Result<(), ServerFnError> {
    let back = api_path(&identifier);
    let Some(a) = ssr::action(&csrf, &back).await? else {
        return Ok(());
    };
    let (form, values) = read_form(identifier.clone(), name, scopes, access_token_alg, access_token_ttl);
    let known = ssr::scope_names(&a.ctx).await?;
    let (_, settings) = match form.validate(&known) {
        Ok(v) => v,
        Err(errors) => return a.back_with_errors(&back, errors, values).await,
    };
    if !a
        .ctx
        .store
        .update_api(&identifier, &settings)
        .await
        .map_err(crate::server::fail)?
    {
        return a.notice("/admin/apis", "That API no longer exists.").await;
    }
    a.audit(Kind::ApiUpdated, |e| {
        e.subject(&identifier).detail(detail(json!({ "name": settings.name })))
    })
    .await;
    a.notice(&back, "Changes saved.").await
}

/// Deletes an API, unless a client may still use it or it is the sample resource's.
#[server(prefix = "/ui", endpoint = "admin/apis/delete")]
pub async fn admin_delete_api(csrf: String, identifier: String) -> Result<(), ServerFnError> {
    let back = api_path(&identifier);
    let Some(a) = ssr::action(&csrf, &back).await? else {
        return Ok(());
    };
    let sample = tessera_core::resource::sample_identifier(&a.ctx.issuer);
    if identifier == sample {
        return a
            .form_error(
                &back,
                "The sample resource's API cannot be deleted: the server registers it.",
            )
            .await;
    }
    let users: Vec<String> = a
        .ctx
        .store
        .list_clients()
        .await
        .map_err(crate::server::fail)?
        .into_iter()
        .filter(|c| c.settings.resources.contains(&identifier))
        .map(|c| c.name)
        .collect();
    if !users.is_empty() {
        let text = format!(
            "Still allowed to {}; remove it from their allowed APIs first.",
            users.join(", ")
        );
        return a.form_error(&back, &text).await;
    }
    if a.ctx.store.delete_api(&identifier).await.map_err(crate::server::fail)? {
        a.audit(Kind::ApiDeleted, |e| e.subject(&identifier)).await;
    }
    a.notice("/admin/apis", "The API was deleted.").await
}
