//! Server functions of the admin console (`/admin`): one loader per page and one action
//! per form. Every one checks that the session's user is an administrator; every action
//! also checks the CSRF token, validates the whole form with the core's parsers before
//! writing anything, and answers with a redirect. Field errors, the submitted values and
//! a new client secret travel back in a one-time flash kept in the server-side session,
//! so that a secret never appears in a URL and is shown exactly once.

use std::collections::BTreeMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What a form post leaves for the next page render, consumed by that render.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    pub notice: Option<String>,
    /// Field name → message; `form` for the form as a whole.
    pub errors: BTreeMap<String, String>,
    /// The values a refused form was submitted with (never passwords or secrets).
    pub values: BTreeMap<String, String>,
    /// A client secret just created or rotated.
    pub secret: Option<String>,
}

impl Flash {
    pub fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field).cloned()
    }

    /// The submitted value of `field` if the form came back, else `stored`.
    pub fn value(&self, field: &str, stored: &str) -> String {
        self.values.get(field).cloned().unwrap_or_else(|| stored.to_owned())
    }

    /// A checkbox: checked if it was submitted checked, or as stored when no form came back.
    pub fn checked(&self, field: &str, stored: bool) -> bool {
        if self.values.is_empty() {
            stored
        } else {
            self.values.contains_key(field)
        }
    }
}

/// Who may see an admin page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Gate<T> {
    /// Nobody is signed in: the page sends the browser to the login and back.
    SignIn,
    /// Signed in, but not an administrator: 403.
    Forbidden,
    Page(AdminPage<T>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminPage<T> {
    pub csrf: String,
    pub flash: Flash,
    pub data: T,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub username: String,
    pub clients: usize,
    pub users: usize,
    pub custom_scopes: usize,
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRow {
    pub user_id: String,
    pub username: String,
    pub client_id: String,
    pub client_name: String,
    pub scopes: String,
    pub granted: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyRow {
    pub family_id: String,
    pub client_id: String,
    pub client_name: String,
    pub username: String,
    pub scopes: String,
    pub created: String,
}

/// The active grants of one client or one user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    pub consents: Vec<ConsentRow>,
    pub families: Vec<FamilyRow>,
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeRow {
    pub name: String,
    pub description: String,
    pub builtin: bool,
    /// Names of the clients that list it.
    pub used_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub name: String,
    pub email: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub created: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDetail {
    pub user: Option<UserView>,
    pub grants: Grants,
    /// The administrator looking at their own account (cannot lock themselves out).
    pub is_self: bool,
    /// The password length rule, e.g. "At least 8 characters." (the core's policy).
    pub password_hint: String,
}

#[server(prefix = "/ui", endpoint = "admin/overview")]
pub async fn admin_overview() -> Result<Gate<Overview>, ServerFnError> {
    let (a, flash) = match ssr::page().await? {
        Ok(x) => x,
        Err(gate) => return Ok(gate),
    };
    let clients = a.ctx.store.list_clients().await.map_err(ssr::store_err)?.len();
    let users = a.ctx.store.count_users().await.map_err(ssr::store_err)? as usize;
    let custom_scopes = a.ctx.store.custom_scopes().await.map_err(ssr::store_err)?.len();
    Ok(a.page(
        flash,
        Overview {
            username: a.user.username.clone(),
            clients,
            users,
            custom_scopes,
        },
    ))
}

#[server(prefix = "/ui", endpoint = "admin/clients")]
pub async fn admin_clients() -> Result<Gate<Vec<ClientView>>, ServerFnError> {
    let (a, flash) = match ssr::page().await? {
        Ok(x) => x,
        Err(gate) => return Ok(gate),
    };
    let clients = a.ctx.store.list_clients().await.map_err(ssr::store_err)?;
    Ok(a.page(flash, clients.into_iter().map(ssr::client_view).collect()))
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
        let client = a.ctx.store.client_by_id(&client_id).await.map_err(ssr::store_err)?;
        let grants = ssr::grants(&a.ctx, GrantsOf::Client(&client_id)).await?;
        (client.map(ssr::client_view), grants)
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
        },
    ))
}

#[server(prefix = "/ui", endpoint = "admin/scopes")]
pub async fn admin_scopes() -> Result<Gate<Vec<ScopeRow>>, ServerFnError> {
    let (a, flash) = match ssr::page().await? {
        Ok(x) => x,
        Err(gate) => return Ok(gate),
    };
    let clients = a.ctx.store.list_clients().await.map_err(ssr::store_err)?;
    let used_by = |name: &str| -> Vec<String> {
        clients
            .iter()
            .filter(|c| c.scopes.contains(name))
            .map(|c| c.name.clone())
            .collect()
    };
    let mut rows: Vec<ScopeRow> = tessera_core::scope::builtin_scopes()
        .iter()
        .map(|s| ScopeRow {
            name: s.name.to_string(),
            description: s.description.to_string(),
            builtin: true,
            used_by: used_by(&s.name),
        })
        .collect();
    for s in a.ctx.store.custom_scopes().await.map_err(ssr::store_err)? {
        rows.push(ScopeRow {
            used_by: used_by(&s.name),
            name: s.name,
            description: s.description,
            builtin: false,
        });
    }
    Ok(a.page(flash, rows))
}

#[server(prefix = "/ui", endpoint = "admin/users")]
pub async fn admin_users(#[server(default)] q: String) -> Result<Gate<Vec<UserView>>, ServerFnError> {
    let (a, flash) = match ssr::page().await? {
        Ok(x) => x,
        Err(gate) => return Ok(gate),
    };
    let users = a.ctx.store.search_users(&q).await.map_err(ssr::store_err)?;
    Ok(a.page(flash, users.into_iter().map(ssr::user_view).collect()))
}

/// One user with their grants; with an empty id, the "new user" form's data.
#[server(prefix = "/ui", endpoint = "admin/user")]
pub async fn admin_user(user_id: String) -> Result<Gate<UserDetail>, ServerFnError> {
    use tessera_core::store::GrantsOf;
    let (a, flash) = match ssr::page().await? {
        Ok(x) => x,
        Err(gate) => return Ok(gate),
    };
    let (user, grants) = if user_id.is_empty() {
        (None, Grants::default())
    } else {
        let user = a.ctx.store.user_by_id(&user_id).await.map_err(ssr::store_err)?;
        (
            user.map(ssr::user_view),
            ssr::grants(&a.ctx, GrantsOf::User(&user_id)).await?,
        )
    };
    let is_self = a.user.id == user_id;
    let password_hint = format!("At least {} characters.", tessera_core::policy::PASSWORD_MIN_CHARS);
    Ok(a.page(
        flash,
        UserDetail {
            user,
            grants,
            is_self,
            password_hint,
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
    #[server(default)] require_pkce: String,
    #[server(default)] access_token_ttl: String,
    #[server(default)] refresh_token_ttl: String,
    #[server(default)] access_token_alg: String,
    #[server(default)] id_token_alg: String,
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
        ),
        require_pkce: !require_pkce.is_empty(),
        access_token_ttl,
        refresh_token_ttl,
        access_token_alg,
        id_token_alg,
    };
    let known = ssr::scope_names(&a.ctx).await?;
    let update = match form.validate(&known) {
        Ok(u) => u,
        Err(errors) => {
            let mut values = form.values();
            values.insert("client_type".into(), client_type);
            return a.back_with_errors(back, errors, values).await;
        }
    };
    let secret = (!form.is_public).then(ClientSecret::generate);
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
        .map_err(ssr::store_err)?;
    tracing::info!(admin = %a.user.id, client = %client.client_id, "client created");
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
    #[server(default)] require_pkce: String,
    #[server(default)] access_token_ttl: String,
    #[server(default)] refresh_token_ttl: String,
    #[server(default)] access_token_alg: String,
    #[server(default)] id_token_alg: String,
) -> Result<(), ServerFnError> {
    let back = ssr::client_path(&client_id);
    let Some(a) = ssr::action(&csrf, &back).await? else {
        return Ok(());
    };
    let Some(existing) = a.ctx.store.client_by_id(&client_id).await.map_err(ssr::store_err)? else {
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
        ),
        require_pkce: !require_pkce.is_empty(),
        access_token_ttl,
        refresh_token_ttl,
        access_token_alg,
        id_token_alg,
    };
    let known = ssr::scope_names(&a.ctx).await?;
    let update = match form.validate(&known) {
        Ok(u) => u,
        Err(errors) => return a.back_with_errors(&back, errors, form.values()).await,
    };
    a.ctx
        .store
        .update_client(&client_id, &update)
        .await
        .map_err(ssr::store_err)?;
    tracing::info!(admin = %a.user.id, client = %client_id, "client updated");
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
    match a.ctx.store.client_by_id(&client_id).await.map_err(ssr::store_err)? {
        Some(c) if !c.is_public => {}
        Some(_) => return a.form_error(&back, "A public client has no secret.").await,
        None => return a.notice("/admin/clients", "That client no longer exists.").await,
    }
    let secret = ClientSecret::generate();
    a.ctx
        .store
        .set_client_secret_hash(&client_id, &secret.hash())
        .await
        .map_err(ssr::store_err)?;
    tracing::info!(admin = %a.user.id, client = %client_id, "client secret rotated");
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
        .map_err(ssr::store_err)?
        .map(|c| c.name);
    a.ctx.store.delete_client(&client_id).await.map_err(ssr::store_err)?;
    tracing::info!(admin = %a.user.id, client = %client_id, "client deleted");
    let text = match name {
        Some(n) => format!("Client \u{201c}{n}\u{201d} was deleted."),
        None => "That client no longer exists.".to_owned(),
    };
    a.notice("/admin/clients", &text).await
}

#[server(prefix = "/ui", endpoint = "admin/scopes/create")]
pub async fn admin_create_scope(csrf: String, name: String, description: String) -> Result<(), ServerFnError> {
    use tessera_core::store::StoreError;
    let back = "/admin/scopes";
    let Some(a) = ssr::action(&csrf, back).await? else {
        return Ok(());
    };
    let valid = tessera_core::registration::validate_scope(&name, &description);
    let values = BTreeMap::from([("name".to_owned(), name), ("description".to_owned(), description)]);
    let (n, d) = match valid {
        Ok(v) => v,
        Err(errors) => return a.back_with_errors(back, errors, values).await,
    };
    match a.ctx.store.create_scope(&n, &d, crate::server::now()).await {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => {
            let errors = BTreeMap::from([(
                "name".to_owned(),
                format!("A scope named \u{201c}{n}\u{201d} exists already."),
            )]);
            return a.back_with_errors(back, errors, values).await;
        }
        Err(e) => return Err(ssr::store_err(e)),
    }
    tracing::info!(admin = %a.user.id, scope = %n, "scope created");
    a.notice(back, &format!("Scope \u{201c}{n}\u{201d} was created.")).await
}

#[server(prefix = "/ui", endpoint = "admin/scopes/update")]
pub async fn admin_update_scope(csrf: String, name: String, description: String) -> Result<(), ServerFnError> {
    let back = "/admin/scopes";
    let Some(a) = ssr::action(&csrf, back).await? else {
        return Ok(());
    };
    let field = format!("description:{name}");
    let d = match tessera_core::registration::scope_description(&description) {
        Ok(d) => d,
        Err(e) => {
            let values = BTreeMap::from([(field.clone(), description)]);
            return a.back_with_errors(back, BTreeMap::from([(field, e)]), values).await;
        }
    };
    if !a.ctx.store.update_scope(&name, &d).await.map_err(ssr::store_err)? {
        return a.form_error(back, "Only custom scopes can be changed.").await;
    }
    a.notice(back, &format!("Scope \u{201c}{name}\u{201d} was saved."))
        .await
}

/// Deletes a custom scope, unless a client still lists it.
#[server(prefix = "/ui", endpoint = "admin/scopes/delete")]
pub async fn admin_delete_scope(csrf: String, name: String) -> Result<(), ServerFnError> {
    let back = "/admin/scopes";
    let Some(a) = ssr::action(&csrf, back).await? else {
        return Ok(());
    };
    if tessera_core::scope::is_builtin(&name) {
        return a.form_error(back, "The OpenID Connect scopes cannot be deleted.").await;
    }
    let users: Vec<String> = a
        .ctx
        .store
        .list_clients()
        .await
        .map_err(ssr::store_err)?
        .into_iter()
        .filter(|c| c.scopes.contains(&name))
        .map(|c| c.name)
        .collect();
    if !users.is_empty() {
        let text = format!(
            "Still listed by {}; remove it from {} first.",
            users.join(", "),
            if users.len() == 1 {
                "that client"
            } else {
                "those clients"
            }
        );
        return a
            .back_with_errors(back, BTreeMap::from([(format!("scope:{name}"), text)]), BTreeMap::new())
            .await;
    }
    a.ctx.store.delete_scope(&name).await.map_err(ssr::store_err)?;
    tracing::info!(admin = %a.user.id, scope = %name, "scope deleted");
    a.notice(back, &format!("Scope \u{201c}{name}\u{201d} was deleted."))
        .await
}

#[server(prefix = "/ui", endpoint = "admin/users/create")]
pub async fn admin_create_user(
    csrf: String,
    username: String,
    #[server(default)] name: String,
    #[server(default)] email: String,
    password: String,
    #[server(default)] is_admin: String,
) -> Result<(), ServerFnError> {
    use tessera_core::registration::UserRegistration;
    use tessera_core::store::{NewUser, StoreError};
    let back = "/admin/users/new";
    let Some(a) = ssr::action(&csrf, back).await? else {
        return Ok(());
    };
    let valid = UserRegistration {
        username: username.clone(),
        name: name.clone(),
        email: email.clone(),
        password: password.clone(),
    }
    .validate();
    let mut values = BTreeMap::from([
        ("username".to_owned(), username.clone()),
        ("name".to_owned(), name.clone()),
        ("email".to_owned(), email.clone()),
    ]);
    if !is_admin.is_empty() {
        values.insert("is_admin".into(), "on".into());
    }
    let valid = match valid {
        Ok(v) => v,
        Err(errors) => return a.back_with_errors(back, errors, values).await,
    };
    let uname = valid.username.clone();
    let hash = ssr::hash(password).await?;
    let user = NewUser {
        username: valid.username,
        password_hash: hash,
        email: valid.email,
        name: valid.name,
        is_admin: !is_admin.is_empty(),
    };
    let user = match a.ctx.store.create_user(user, crate::server::now()).await {
        Ok(u) => u,
        Err(StoreError::Conflict(_)) => {
            let errors = BTreeMap::from([(
                "username".to_owned(),
                format!("The username \u{201c}{uname}\u{201d} is taken."),
            )]);
            return a.back_with_errors(back, errors, values).await;
        }
        Err(e) => return Err(ssr::store_err(e)),
    };
    tracing::info!(admin = %a.user.id, user = %user.id, "user created");
    a.notice(
        &ssr::user_path(&user.id),
        &format!("User \u{201c}{}\u{201d} was created.", user.username),
    )
    .await
}

#[server(prefix = "/ui", endpoint = "admin/users/password")]
pub async fn admin_reset_password(csrf: String, user_id: String, password: String) -> Result<(), ServerFnError> {
    let back = ssr::user_path(&user_id);
    let Some(a) = ssr::action(&csrf, &back).await? else {
        return Ok(());
    };
    if let Err(e) = tessera_core::registration::password_rule(&password) {
        return a
            .back_with_errors(&back, BTreeMap::from([("password".to_owned(), e)]), BTreeMap::new())
            .await;
    }
    let store = a.ctx.store.as_ref();
    if !tessera_services::password::reset(store, &a.session, &a.user, &user_id, password)
        .await
        .map_err(crate::server::svc_err)?
    {
        return a.notice("/admin/users", "That user no longer exists.").await;
    }
    a.notice(&back, "The password was reset.").await
}

/// `disabled` is "true" or "false". A disabled user cannot sign in, and their sessions
/// and tokens stop working at the next check.
#[server(prefix = "/ui", endpoint = "admin/users/disabled")]
pub async fn admin_set_disabled(csrf: String, user_id: String, disabled: String) -> Result<(), ServerFnError> {
    let back = ssr::user_path(&user_id);
    let Some(a) = ssr::action(&csrf, &back).await? else {
        return Ok(());
    };
    let disabled = disabled == "true";
    if disabled && a.user.id == user_id {
        return a.form_error(&back, "You cannot disable your own account.").await;
    }
    a.ctx
        .store
        .set_user_disabled(&user_id, disabled)
        .await
        .map_err(ssr::store_err)?;
    tracing::info!(admin = %a.user.id, user = %user_id, disabled, "user disabled flag changed");
    a.notice(
        &back,
        if disabled {
            "The user was disabled."
        } else {
            "The user was enabled."
        },
    )
    .await
}

/// `admin` is "true" or "false".
#[server(prefix = "/ui", endpoint = "admin/users/admin")]
pub async fn admin_set_admin(csrf: String, user_id: String, admin: String) -> Result<(), ServerFnError> {
    let back = ssr::user_path(&user_id);
    let Some(a) = ssr::action(&csrf, &back).await? else {
        return Ok(());
    };
    let admin = admin == "true";
    if !admin && a.user.id == user_id {
        return a
            .form_error(&back, "You cannot take your own administrator rights away.")
            .await;
    }
    a.ctx
        .store
        .set_user_admin(&user_id, admin)
        .await
        .map_err(ssr::store_err)?;
    tracing::info!(admin = %a.user.id, user = %user_id, is_admin = admin, "user admin flag changed");
    a.notice(
        &back,
        if admin {
            "The user is now an administrator."
        } else {
            "The user is no longer an administrator."
        },
    )
    .await
}

/// Forgets a user's consent to a client and revokes the tokens it gave. `back` is the
/// admin page to return to.
#[server(prefix = "/ui", endpoint = "admin/grants/consent")]
pub async fn admin_revoke_consent(
    csrf: String,
    user_id: String,
    client_id: String,
    back: String,
) -> Result<(), ServerFnError> {
    let back = ssr::admin_back(&back);
    let Some(a) = ssr::action(&csrf, &back).await? else {
        return Ok(());
    };
    a.ctx
        .store
        .revoke_consent(&user_id, &client_id, crate::server::now())
        .await
        .map_err(ssr::store_err)?;
    tracing::info!(admin = %a.user.id, user = %user_id, client = %client_id, "consent revoked by an administrator");
    a.notice(&back, "The consent was revoked.").await
}

/// Revokes one token family: its refresh token at once, its access tokens at their next check.
#[server(prefix = "/ui", endpoint = "admin/grants/family")]
pub async fn admin_revoke_family(csrf: String, family_id: String, back: String) -> Result<(), ServerFnError> {
    let back = ssr::admin_back(&back);
    let Some(a) = ssr::action(&csrf, &back).await? else {
        return Ok(());
    };
    a.ctx
        .store
        .revoke_family(&family_id, crate::server::now())
        .await
        .map_err(ssr::store_err)?;
    tracing::info!(admin = %a.user.id, family = %family_id, "token family revoked by an administrator");
    a.notice(&back, "The refresh token was revoked.").await
}

#[cfg(feature = "ssr")]
mod ssr {
    use std::collections::BTreeMap;

    use leptos::prelude::*;
    use tessera_core::model::{GrantType, SigningAlg};
    use tessera_core::registration::{ClientRegistration, FieldErrors};
    use tessera_core::store::{Client, ClientUpdate, GrantsOf, StoreError, User};
    use tower_sessions::Session;

    use super::*;
    use crate::server::{self, ServerContext};

    const FLASH_KEY: &str = "admin_flash";

    pub fn store_err(e: StoreError) -> ServerFnError {
        ServerFnError::new(e.to_string())
    }

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
            .map_err(store_err)?
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
            .map_err(store_err)?
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
                .map_err(store_err)?
                .into_iter()
                .map(|s| s.name),
        );
        Ok(names)
    }

    /// Argon2id through the server's bounded Argon2 pool.
    pub async fn hash(password: String) -> Result<String, ServerFnError> {
        tessera_services::password::hash(password)
            .await
            .map_err(server::svc_err)
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
        }
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
    pub fn checked_grants(authorization_code: &str, refresh_token: &str, client_credentials: &str) -> Vec<GrantType> {
        [
            (GrantType::AuthorizationCode, authorization_code),
            (GrantType::RefreshToken, refresh_token),
            (GrantType::ClientCredentials, client_credentials),
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
            ]);
            for g in &self.grant_types {
                v.insert(format!("grant_{g}"), "on".into());
            }
            if self.require_pkce {
                v.insert("require_pkce".into(), "on".into());
            }
            v
        }

        /// Every field checked by the core's one client validation, every error
        /// reported, nothing written. Redirect URIs are one per line, blank lines skipped.
        pub fn validate(&self, known_scopes: &[String]) -> Result<ClientUpdate, FieldErrors> {
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
            }
            .validate(known_scopes)
        }
    }
}
