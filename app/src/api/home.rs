//! Server functions of the start page and the top bar: who is signed in, this server's
//! addresses, whether the database answers. None of them writes the session.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    pub database: String,
    pub ready: bool,
}

/// Whether the database answers; the home page's "Check server status" button.
#[server(prefix = "/ui", endpoint = "status")]
pub async fn server_status() -> Result<StatusView, ServerFnError> {
    let ctx = crate::server::context()?;
    let ready = ctx.store.ping().await.is_ok();
    Ok(StatusView {
        database: ctx.store.backend().to_owned(),
        ready,
    })
}

/// What the start page shows: who is signed in and this server's addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeView {
    pub username: Option<String>,
    pub is_admin: bool,
    /// The sign-out form's token, for a signed-in session only: an anonymous visit to the
    /// start page creates no session.
    pub csrf: String,
    /// The issuer identifier; discovery and JWKS live under it.
    pub issuer: String,
    /// Whether the step-by-step demo is on.
    pub demo: bool,
}

#[server(prefix = "/ui", endpoint = "home")]
pub async fn home_info() -> Result<HomeView, ServerFnError> {
    let session = crate::server::session().await?;
    let ctx = crate::server::context()?;
    let user = crate::server::current_user(&ctx, &session).await?;
    let csrf = match &user {
        Some(_) => crate::server::csrf_token(&session).await?,
        None => String::new(),
    };
    Ok(HomeView {
        username: user.as_ref().map(|u| u.username.clone()),
        is_admin: user.is_some_and(|u| u.is_admin),
        csrf,
        issuer: ctx.issuer,
        demo: ctx.demo,
    })
}

/// What the top bar needs: whether to offer the admin console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NavView {
    pub signed_in: bool,
    pub is_admin: bool,
    /// Whether the step-by-step demo is on.
    pub demo: bool,
}

/// Reads the session, never writes it (no session for an anonymous page view).
#[server(prefix = "/ui", endpoint = "nav")]
pub async fn nav_info() -> Result<NavView, ServerFnError> {
    let session = crate::server::session().await?;
    let ctx = crate::server::context()?;
    let user = crate::server::current_user(&ctx, &session).await?;
    Ok(NavView {
        signed_in: user.is_some(),
        is_admin: user.is_some_and(|u| u.is_admin),
        demo: ctx.demo,
    })
}
