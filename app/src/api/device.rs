//! Server functions of the device flow's pages (RFC 8628 §3.3): entering the user code,
//! what the confirmation page shows, and the user's Allow or Deny. Each form carries the
//! session's CSRF token and is answered with a redirect, so it works before the WASM has
//! loaded. The logic is the sign-in layer's (`tessera_services::device`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::sign_in::{ApiView, ScopeView};

/// What the confirmation page shows about the code this browser entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceView {
    pub client_name: String,
    pub client_logo: Option<String>,
    pub scopes: Vec<ScopeView>,
    /// The first half of the user code (`WDJB-····`), to compare with the device's screen.
    pub user_code_hint: String,
    /// Who is signed in, if anyone.
    pub username: Option<String>,
    /// RFC 8707: the APIs the device named (`resource`).
    #[serde(default)]
    pub apis: Vec<ApiView>,
}

/// Checks a user code. Right: on to the confirmation (through sign-in when nobody is
/// signed in). Wrong, used or throttled: back to `/device` saying so.
#[server(prefix = "/ui", endpoint = "device/verify")]
pub async fn device_verify(csrf: String, user_code: String) -> Result<(), ServerFnError> {
    use crate::server::{self, fail};
    use tessera_services::device::{self, Outcome};
    let session = server::session().await?;
    let ctx = server::context()?;
    // Echoed back only as a normalised code or not at all: a raw value may not belong in a URL.
    let again = |error: &str| {
        let code = tessera_core::device::normalise_user_code(&user_code)
            .map(|c| format!("&user_code={}", tessera_core::device::display_user_code(&c)))
            .unwrap_or_default();
        format!("/device?error={error}{code}")
    };
    if !server::csrf_ok(&session, &csrf).await {
        leptos_axum::redirect(&again("expired"));
        return Ok(());
    }
    let outcome = device::enter(
        ctx.store.as_ref(),
        &session,
        &csrf,
        server::peer().await,
        &user_code,
        server::now(),
    )
    .await
    .map_err(fail)?;
    let url = match outcome {
        Outcome::Found(_) => match server::current_user(&ctx, &session).await? {
            Some(_) => "/device/confirm".to_owned(),
            None => server::login_url("/device/confirm", "", None),
        },
        Outcome::Invalid => again("invalid"),
        Outcome::Used => again("used"),
        Outcome::Throttled { retry_after } => format!("/device?error=throttled&retry={retry_after}"),
    };
    leptos_axum::redirect(&url);
    Ok(())
}

/// The code this browser entered, if it is still waiting for a decision.
#[server(prefix = "/ui", endpoint = "device/info")]
pub async fn device_info() -> Result<Option<DeviceView>, ServerFnError> {
    use crate::server::{self, fail};
    let session = server::session().await?;
    let ctx = server::context()?;
    let Some(code) = tessera_services::device::entered(ctx.store.as_ref(), &session, server::now())
        .await
        .map_err(fail)?
    else {
        return Ok(None);
    };
    let Some(client) = ctx.store.client_by_id(&code.client_id).await.map_err(fail)? else {
        return Ok(None);
    };
    let custom = ctx.store.custom_scopes().await.map_err(fail)?;
    let user = server::current_user(&ctx, &session).await?;
    let apis = crate::api::sign_in::describe_apis(ctx.store.as_ref(), &code.resources).await?;
    Ok(Some(DeviceView {
        apis,
        client_name: client.name,
        client_logo: client.settings.logo_uri,
        scopes: crate::api::account::describe_scopes(&code.scopes, &custom),
        user_code_hint: code.user_code_hint,
        username: user.map(|u| u.username),
    }))
}

/// Allow or Deny for the code this browser entered: the device's next poll gets its
/// tokens, or `access_denied` (RFC 8628 §3.5).
#[server(prefix = "/ui", endpoint = "device/decide")]
pub async fn device_decide(csrf: String, decision: String) -> Result<(), ServerFnError> {
    use crate::server::{self, fail};
    let session = server::session().await?;
    let ctx = server::context()?;
    if !server::csrf_ok(&session, &csrf).await {
        leptos_axum::redirect("/device/confirm?error=expired");
        return Ok(());
    }
    let Some((user, sign_in)) = tessera_services::session::signed_in(ctx.store.as_ref(), &session)
        .await
        .map_err(fail)?
    else {
        leptos_axum::redirect(&server::login_url("/device/confirm", "", None));
        return Ok(());
    };
    let allow = decision == "allow";
    let now = server::now();
    let decided = tessera_services::device::decide(
        ctx.store.as_ref(),
        &session,
        &user,
        allow.then_some(sign_in.auth_time),
        now,
    )
    .await
    .map_err(fail)?;
    let url = match decided {
        None => "/device?error=expired",
        Some(code) if allow => {
            server::audit(&ctx, &user, tessera_core::audit::Kind::ConsentGranted, |e| {
                e.client(&code.client_id).detail(tessera_services::audit::detail(
                    serde_json::json!({ "scope": code.scopes.to_string(), "grant": "device_code" }),
                ))
            })
            .await;
            "/device/done"
        }
        Some(_) => "/device/denied",
    };
    leptos_axum::redirect(url);
    Ok(())
}
