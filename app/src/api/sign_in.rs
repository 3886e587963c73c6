//! Server functions of signing in and deciding: the session as the login and consent
//! pages see it, login, consent, logout. Each state-changing one checks the session's
//! CSRF token and answers with a redirect, so the same form works as a plain HTML post
//! before the WASM has loaded and after. The logic is the sign-in layer's
//! (`tessera_services`); these adapt it to pages.

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
/// generic error that does not say which of the two was wrong. With `request` (an
/// authorization request waiting for this login), success hands back to the protocol.
#[server(prefix = "/ui", endpoint = "login")]
pub async fn login(
    csrf: String,
    username: String,
    password: String,
    next: String,
    #[server(default)] request: String,
) -> Result<(), ServerFnError> {
    use crate::server::{self, fail};
    use tessera_services::login::{self, Outcome};
    let session = server::session().await?;
    let ctx = server::context()?;
    let next = server::safe_next(&next);
    if !server::csrf_ok(&session, &csrf).await {
        leptos_axum::redirect(&server::login_url(&next, &request, Some("expired")));
        return Ok(());
    }
    let clock = tessera_services::clock::SystemClock;
    let outcome = login::password(
        ctx.store.as_ref(),
        &session,
        &clock,
        &username,
        &password,
        server::peer().await,
        ctx.session_max_age,
    )
    .await
    .map_err(fail)?;
    let url = match outcome {
        Outcome::SignedIn(user) if !request.is_empty() => {
            tessera_services::pending::logged_in(ctx.store.as_ref(), &request, &user.id, server::now())
                .await
                .map_err(fail)?;
            server::resume_url(&request)
        }
        Outcome::SignedIn(_) => next,
        Outcome::Invalid => server::login_url(&next, &request, Some("invalid")),
        Outcome::Throttled { retry_after } => server::throttled_url(&next, &request, retry_after),
        Outcome::Busy => server::busy_url(&next, &request),
    };
    leptos_axum::redirect(&url);
    Ok(())
}

/// One requested scope, as the consent screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeView {
    pub name: String,
    pub description: String,
}

/// What the login and consent pages show about a pending authorization request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingView {
    pub client_name: String,
    pub client_logo: Option<String>,
    pub scopes: Vec<ScopeView>,
    /// Who is signed in now, if anyone.
    pub username: Option<String>,
    /// For a client known by its metadata document (a URL client_id): the host that
    /// published it, the one thing about the client that is verified.
    #[serde(default)]
    pub client_host: Option<String>,
    /// RFC 8707: the APIs the request names (`resource`), which the tokens will be for.
    #[serde(default)]
    pub apis: Vec<ApiView>,
}

/// An API (resource server) a request names, as the consent screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiView {
    /// Its name in the console; its identifier if it has gone since the request began.
    pub name: String,
    pub identifier: String,
}

/// The APIs `resources` name, for a consent screen (the browser's and the device flow's).
#[cfg(feature = "ssr")]
pub(crate) async fn describe_apis(
    store: &dyn tessera_core::store::Store,
    resources: &[String],
) -> Result<Vec<ApiView>, ServerFnError> {
    let mut apis = Vec::with_capacity(resources.len());
    for identifier in resources {
        let api = store.api(identifier).await.map_err(crate::server::fail)?;
        apis.push(ApiView {
            name: api.map_or_else(|| identifier.clone(), |a| a.settings.name),
            identifier: identifier.clone(),
        });
    }
    Ok(apis)
}

#[server(prefix = "/ui", endpoint = "pending")]
pub async fn pending_info(request: String) -> Result<Option<PendingView>, ServerFnError> {
    let ctx = crate::server::context()?;
    let session = crate::server::session().await?;
    let Some(pending) = tessera_services::pending::load(ctx.store.as_ref(), &request, crate::server::now())
        .await
        .map_err(crate::server::fail)?
    else {
        return Ok(None);
    };
    let client = ctx
        .store
        .client_by_id(&pending.request.client_id)
        .await
        .map_err(crate::server::fail)?;
    let Some(client) = client else {
        return Ok(None);
    };
    let custom = ctx.store.custom_scopes().await.map_err(crate::server::fail)?;
    let scopes = crate::api::account::describe_scopes(&pending.request.scopes, &custom);
    let user = crate::server::current_user(&ctx, &session).await?;
    let client_host = tessera_core::client_metadata::looks_like_url(&client.client_id)
        .then(|| url::Url::parse(&client.client_id).ok()?.host_str().map(str::to_owned))
        .flatten();
    let apis = describe_apis(ctx.store.as_ref(), &pending.request.resources).await?;
    Ok(Some(PendingView {
        apis,
        client_host,
        client_name: client.name,
        client_logo: client.settings.logo_uri,
        scopes,
        username: user.map(|u| u.username),
    }))
}

/// Records the user's Allow or Deny for a pending request. Allow remembers the consent
/// and hands back to the protocol; Deny sends `access_denied` to the client
/// (RFC 6749 §4.1.2.1) with its state.
#[server(prefix = "/ui", endpoint = "consent")]
pub async fn consent(csrf: String, request: String, decision: String) -> Result<(), ServerFnError> {
    use crate::server;
    let session = server::session().await?;
    let ctx = server::context()?;
    if !server::csrf_ok(&session, &csrf).await {
        // Encoded: a raw value cannot always go into a Location header.
        let back = format!("/consent?request={}&error=expired", server::urlencode(&request));
        leptos_axum::redirect(&back);
        return Ok(());
    }
    let Some(user) = server::current_user(&ctx, &session).await? else {
        leptos_axum::redirect(&server::login_url("/", &request, None));
        return Ok(());
    };
    let Some(mut pending) = tessera_services::pending::load(ctx.store.as_ref(), &request, server::now())
        .await
        .map_err(server::fail)?
    else {
        // Expired or already finished: the resume route explains.
        leptos_axum::redirect(&server::resume_url(&request));
        return Ok(());
    };
    if decision == "allow" {
        ctx.store
            .grant_consent(
                &user.id,
                &pending.request.client_id,
                &pending.request.scopes,
                server::now(),
            )
            .await
            .map_err(crate::server::fail)?;
        server::audit(&ctx, &user, tessera_core::audit::Kind::ConsentGranted, |e| {
            e.client(&pending.request.client_id)
                .detail(tessera_services::audit::detail(
                    serde_json::json!({ "scope": pending.request.scopes.to_string() }),
                ))
        })
        .await;
        pending.interaction.consented_as(&user.id);
        tessera_services::pending::save(ctx.store.as_ref(), &request, &pending)
            .await
            .map_err(server::fail)?;
        leptos_axum::redirect(&server::resume_url(&request));
    } else {
        tessera_services::pending::take(ctx.store.as_ref(), &request)
            .await
            .map_err(server::fail)?;
        match pending.request.deny().redirect_url(&ctx.issuer) {
            Some(url) => leptos_axum::redirect(&url),
            None => leptos_axum::redirect("/"),
        }
    }
    Ok(())
}

#[server(prefix = "/ui", endpoint = "logout")]
pub async fn logout(csrf: String) -> Result<(), ServerFnError> {
    let session = crate::server::session().await?;
    if crate::server::csrf_ok(&session, &csrf).await {
        let ctx = crate::server::context()?;
        let user = crate::server::current_user(&ctx, &session).await?;
        tessera_services::session::sign_out(&session)
            .await
            .map_err(crate::server::fail)?;
        if let Some(user) = user {
            crate::server::audit(&ctx, &user, tessera_core::audit::Kind::SignedOut, |e| e).await;
        }
    }
    leptos_axum::redirect("/");
    Ok(())
}
