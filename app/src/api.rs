//! Server functions behind the pages. Each state-changing one checks the session's CSRF
//! token and answers with a redirect, so the same form works as a plain HTML post
//! before the WASM has loaded and after.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What a page needs to know about the browser's session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// The signed-in user's username, if any.
    pub username: Option<String>,
    pub is_admin: bool,
    /// The token every form of this session carries (double-checked on the server).
    pub csrf: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    pub database: String,
    pub ready: bool,
}

#[server(prefix = "/ui", endpoint = "session")]
pub async fn session_info() -> Result<SessionView, ServerFnError> {
    let session = crate::server::session().await?;
    let ctx = crate::server::context()?;
    let csrf = crate::server::csrf_token(&session).await?;
    let user = crate::server::current_user(&ctx, &session).await?;
    Ok(SessionView {
        username: user.as_ref().map(|u| u.username.clone()),
        is_admin: user.is_some_and(|u| u.is_admin),
        csrf,
    })
}

/// Signs in with a username and password. On failure, back to the login page with a
/// generic error that does not say which of the two was wrong.
#[server(prefix = "/ui", endpoint = "login")]
pub async fn login(csrf: String, username: String, password: String, next: String) -> Result<(), ServerFnError> {
    use crate::server::{self, LoginFailure};
    let session = server::session().await?;
    let ctx = server::context()?;
    let next = server::safe_next(&next);
    if !server::csrf_ok(&session, &csrf).await {
        leptos_axum::redirect(&server::login_url(&next, Some("expired")));
        return Ok(());
    }
    match server::authenticate(&ctx, &username, &password).await {
        Ok(user) => {
            server::sign_in(&session, &user).await?;
            leptos_axum::redirect(&next);
        }
        Err(LoginFailure::Invalid) => leptos_axum::redirect(&server::login_url(&next, Some("invalid"))),
        Err(LoginFailure::Backend(e)) => return Err(ServerFnError::new(e)),
    }
    Ok(())
}

#[server(prefix = "/ui", endpoint = "logout")]
pub async fn logout(csrf: String) -> Result<(), ServerFnError> {
    let session = crate::server::session().await?;
    if crate::server::csrf_ok(&session, &csrf).await {
        session.flush().await.map_err(|e| ServerFnError::new(e.to_string()))?;
    }
    leptos_axum::redirect("/");
    Ok(())
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
