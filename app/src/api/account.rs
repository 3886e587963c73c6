//! Server functions behind `/account` and `/account/apps`: who I am, change my password,
//! the apps I have allowed and taking that back. Every state-changing one checks the
//! session's CSRF token and answers with a redirect, so the forms work without WASM.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::sign_in::ScopeView;

/// The signed-in user, as `/account` shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub username: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub is_admin: bool,
    pub csrf: String,
}

/// One app the user has allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppView {
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<ScopeView>,
    /// When, as a UTC date ("26 Nov 2026").
    pub granted: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyAppsView {
    pub apps: Vec<AppView>,
    /// The name of the app just revoked, for the confirmation.
    pub revoked: Option<String>,
    pub csrf: String,
}

/// `None` when nobody is signed in (the page then sends the browser to the login).
#[server(prefix = "/ui", endpoint = "account")]
pub async fn account_info() -> Result<Option<AccountView>, ServerFnError> {
    let session = crate::server::session().await?;
    let ctx = crate::server::context()?;
    let csrf = crate::server::csrf_token(&session).await?;
    Ok(crate::server::current_user(&ctx, &session).await?.map(|u| AccountView {
        username: u.username,
        name: u.name,
        email: u.email,
        is_admin: u.is_admin,
        csrf,
    }))
}

/// Changes the signed-in user's password. Needs the current one (a borrowed, unlocked
/// session alone is not enough) and counts a wrong one against the account's login
/// back-off. Field-level outcomes go back in `?pw=`: `changed`, `current`, `throttled`,
/// `mismatch`, `short`, `long`, `expired`.
#[server(prefix = "/ui", endpoint = "account/password")]
pub async fn change_password(
    csrf: String,
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), ServerFnError> {
    use crate::server;
    use tessera_services::password::{self, Change};
    let session = server::session().await?;
    let ctx = server::context()?;
    let back = |code: &str| leptos_axum::redirect(&format!("/account?pw={code}"));
    if !server::csrf_ok(&session, &csrf).await {
        back("expired");
        return Ok(());
    }
    let Some(user) = server::current_user(&ctx, &session).await? else {
        leptos_axum::redirect(&server::login_url("/account", "", None));
        return Ok(());
    };
    let clock = tessera_services::clock::SystemClock;
    match password::change(
        ctx.store.as_ref(),
        &session,
        &clock,
        &user,
        &current_password,
        new_password,
        &confirm_password,
    )
    .await
    .map_err(server::fail)?
    {
        Change::NoSuchUser => leptos_axum::redirect(&server::login_url("/account", "", None)),
        Change::Changed => {
            server::audit(&ctx, &user, tessera_core::audit::Kind::PasswordChanged, |e| e).await;
            back(Change::Changed.code())
        }
        outcome => back(outcome.code()),
    }
    Ok(())
}

/// The apps the signed-in user has allowed. `revoked` (a client id from the revoke
/// redirect) is looked up for the confirmation text.
#[server(prefix = "/ui", endpoint = "account/apps")]
pub async fn my_apps(#[server(default)] revoked: String) -> Result<Option<MyAppsView>, ServerFnError> {
    let session = crate::server::session().await?;
    let ctx = crate::server::context()?;
    let csrf = crate::server::csrf_token(&session).await?;
    let Some(user) = crate::server::current_user(&ctx, &session).await? else {
        return Ok(None);
    };
    let custom = ctx.store.custom_scopes().await.map_err(crate::server::fail)?;
    let apps = ctx
        .store
        .consents_for_user(&user.id)
        .await
        .map_err(crate::server::fail)?
        .into_iter()
        .map(|c| AppView {
            scopes: describe_scopes(&c.consent.scopes, &custom),
            granted: utc_date(c.consent.granted_at),
            client_id: c.consent.client_id,
            client_name: c.client_name,
        })
        .collect();
    let revoked = if revoked.is_empty() {
        None
    } else {
        ctx.store
            .client_by_id(&revoked)
            .await
            .map_err(crate::server::fail)?
            .map(|c| c.name)
    };
    Ok(Some(MyAppsView { apps, revoked, csrf }))
}

/// Takes back the user's consent to `client_id` and revokes the tokens it got from them.
#[server(prefix = "/ui", endpoint = "account/apps/revoke")]
pub async fn revoke_app(csrf: String, client_id: String) -> Result<(), ServerFnError> {
    use crate::server;
    let session = server::session().await?;
    let ctx = server::context()?;
    if !server::csrf_ok(&session, &csrf).await {
        leptos_axum::redirect("/account/apps?error=expired");
        return Ok(());
    }
    let Some(user) = server::current_user(&ctx, &session).await? else {
        leptos_axum::redirect(&server::login_url("/account/apps", "", None));
        return Ok(());
    };
    if ctx
        .store
        .revoke_consent(&user.id, &client_id, server::now())
        .await
        .map_err(crate::server::fail)?
    {
        server::audit(&ctx, &user, tessera_core::audit::Kind::ConsentRevoked, |e| {
            e.client(&client_id)
        })
        .await;
    }
    leptos_axum::redirect(&format!("/account/apps?revoked={}", server::urlencode(&client_id)));
    Ok(())
}

/// Built-in scopes in their usual order (openid first) with their consent text, then the
/// custom ones with the text an administrator gave them.
#[cfg(feature = "ssr")]
pub(crate) fn describe_scopes(
    scopes: &tessera_core::types::ScopeSet,
    custom: &[tessera_core::store::CustomScope],
) -> Vec<ScopeView> {
    let builtin_rank = |name: &str| {
        tessera_core::scope::builtin_scopes()
            .iter()
            .position(|s| s.name == name)
            .unwrap_or(usize::MAX)
    };
    let mut names: Vec<&str> = scopes.iter().collect();
    names.sort_by_key(|n| (builtin_rank(n), n.to_string()));
    names
        .into_iter()
        .map(|name| ScopeView {
            name: name.to_owned(),
            description: tessera_core::scope::builtin(name)
                .map(|s| s.description.to_string())
                .or_else(|| custom.iter().find(|c| c.name == name).map(|c| c.description.clone()))
                .unwrap_or_else(|| format!("Use the \u{201c}{name}\u{201d} permission")),
        })
        .collect()
}

/// Unix seconds as "26 Nov 2026" (UTC).
#[cfg(feature = "ssr")]
pub(crate) fn utc_date(unix: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (year, month, day) = tessera_core::civil::civil_from_days(unix.div_euclid(86_400));
    let name = MONTHS.get((month - 1) as usize).copied().unwrap_or("?");
    format!("{day} {name} {year}")
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::utc_date;

    #[test]
    fn dates() {
        let table = [
            (0, "1 Jan 1970"),
            (951_782_400, "29 Feb 2000"),
            (1_700_000_000, "14 Nov 2023"),
            (1_798_761_599, "31 Dec 2026"),
            (-86_400, "31 Dec 1969"),
        ];
        for (t, want) in table {
            assert_eq!(utc_date(t), want, "{t}");
        }
    }
}
