//! The console's users: search, one user with their grants, create, reset a password
//! (through the sign-in layer), disable, make administrator.

#[cfg(feature = "ssr")]
use std::collections::BTreeMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::grants::Grants;
#[cfg(feature = "ssr")]
use super::ssr;
use super::Gate;

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

#[server(prefix = "/ui", endpoint = "admin/users")]
pub async fn admin_users(#[server(default)] q: String) -> Result<Gate<Vec<UserView>>, ServerFnError> {
    let (a, flash) = match ssr::page().await? {
        Ok(x) => x,
        Err(gate) => return Ok(gate),
    };
    let users = a.ctx.store.search_users(&q).await.map_err(crate::server::fail)?;
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
        let user = a.ctx.store.user_by_id(&user_id).await.map_err(crate::server::fail)?;
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
        Err(e) => return Err(crate::server::fail(e)),
    };
    a.audit(tessera_core::audit::Kind::UserCreated, |e| {
        e.subject(&user.username)
            .detail(tessera_services::audit::detail(serde_json::json!({
                "user_id": user.id,
                "admin": user.is_admin,
            })))
    })
    .await;
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
        .map_err(crate::server::fail)?
    {
        return a.notice("/admin/users", "That user no longer exists.").await;
    }
    let username = a.username_of(&user_id).await;
    a.audit(tessera_core::audit::Kind::PasswordReset, |e| e.subject(username))
        .await;
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
    if a.ctx
        .store
        .set_user_disabled(&user_id, disabled)
        .await
        .map_err(crate::server::fail)?
    {
        let username = a.username_of(&user_id).await;
        a.audit(tessera_core::audit::Kind::UserUpdated, |e| {
            e.subject(username).detail(tessera_services::audit::detail(
                serde_json::json!({ "disabled": disabled }),
            ))
        })
        .await;
    }
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
    if a.ctx
        .store
        .set_user_admin(&user_id, admin)
        .await
        .map_err(crate::server::fail)?
    {
        let username = a.username_of(&user_id).await;
        a.audit(tessera_core::audit::Kind::UserUpdated, |e| {
            e.subject(username)
                .detail(tessera_services::audit::detail(serde_json::json!({ "admin": admin })))
        })
        .await;
    }
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
