//! The console's dynamic client registration (RFC 7591): the mode (stored in the
//! database, so every instance follows), open mode's scopes, and initial access tokens
//! (create — the value shown once —, list, revoke).

#[cfg(feature = "ssr")]
use std::collections::BTreeMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;
use super::Gate;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: String,
    pub description: String,
    pub scopes: String,
    pub confidential: bool,
    pub uses_left: i64,
    pub uses_total: i64,
    pub created: String,
    pub expires: String,
    /// "active", "expired", "used up" or "revoked".
    pub state: String,
    /// Clients it registered that still exist.
    pub clients: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationPage {
    /// off, token or open.
    pub mode: String,
    pub open_scopes: String,
    pub tokens: Vec<TokenView>,
    /// Every scope a client may list (built-in, then custom).
    pub scope_names: Vec<String>,
    /// How many clients were registered dynamically (and still exist).
    pub dynamic_clients: usize,
    pub open_cap: i64,
    /// Days an unused dynamic client is kept (the janitor's default).
    pub unused_days: i64,
}

#[server(prefix = "/ui", endpoint = "admin/registration")]
pub async fn admin_registration() -> Result<Gate<RegistrationPage>, ServerFnError> {
    let (a, flash) = match ssr::page().await? {
        Ok(x) => x,
        Err(gate) => return Ok(gate),
    };
    let store = &a.ctx.store;
    let settings = store.registration_settings().await.map_err(crate::server::fail)?;
    let dynamic = store.dynamic_clients().await.map_err(crate::server::fail)?;
    let now = crate::server::now();
    let tokens = store
        .initial_tokens()
        .await
        .map_err(crate::server::fail)?
        .into_iter()
        .map(|t| TokenView {
            state: if t.revoked_at.is_some() {
                "revoked"
            } else if t.expires_at <= now {
                "expired"
            } else if t.uses_left <= 0 {
                "used up"
            } else {
                "active"
            }
            .to_owned(),
            clients: dynamic
                .iter()
                .filter(|d| d.initial_token_id.as_deref() == Some(t.id.as_str()))
                .count(),
            id: t.id,
            description: t.description,
            scopes: t.scopes.to_string(),
            confidential: t.allow_confidential,
            uses_left: t.uses_left,
            uses_total: t.uses_total,
            created: crate::api::account::utc_date(t.created_at),
            expires: crate::api::account::utc_date(t.expires_at),
        })
        .collect();
    Ok(a.page(
        flash,
        RegistrationPage {
            mode: settings.mode,
            open_scopes: settings.open_scopes.to_string(),
            tokens,
            scope_names: ssr::scope_names(&a.ctx).await?,
            dynamic_clients: dynamic.len(),
            open_cap: tessera_core::policy::REGISTRATION_OPEN_MAX_CLIENTS,
            unused_days: tessera_core::policy::REGISTRATION_UNUSED_TTL_DEFAULT / 86_400,
        },
    ))
}

/// Sets the mode and open mode's scopes.
#[server(prefix = "/ui", endpoint = "admin/registration/mode")]
pub async fn admin_set_registration_mode(
    csrf: String,
    #[server(default)] mode: String,
    #[server(default)] open_scopes: String,
) -> Result<(), ServerFnError> {
    use tessera_core::dynamic_registration::RegistrationMode;
    let back = "/admin/registration";
    let Some(a) = ssr::action(&csrf, back).await? else {
        return Ok(());
    };
    let mut errors = BTreeMap::new();
    let parsed = mode.parse::<RegistrationMode>();
    if parsed.is_err() {
        errors.insert("mode".to_owned(), "Choose off, token or open.".to_owned());
    }
    let known = ssr::scope_names(&a.ctx).await?;
    let scopes = match tessera_core::types::ScopeSet::parse(&open_scopes) {
        Ok(s) if s.is_empty() => Err("List at least one scope.".to_owned()),
        Ok(s) => {
            let unknown = s.iter().find(|n| !known.iter().any(|k| k == n)).map(str::to_owned);
            match unknown {
                Some(u) => Err(format!(
                    "Unknown scope \u{201c}{u}\u{201d}: define it under Scopes first."
                )),
                None => Ok(s),
            }
        }
        Err(e) => Err(e.to_string()),
    };
    let scopes = scopes.map_err(|e| errors.insert("open_scopes".to_owned(), e)).ok();
    let (Ok(mode), Some(open_scopes)) = (parsed, scopes) else {
        let values = BTreeMap::from([("mode".to_owned(), mode), ("open_scopes".to_owned(), open_scopes)]);
        return a.back_with_errors(back, errors, values).await;
    };
    let settings = tessera_core::store::RegistrationSettings {
        mode: mode.as_str().to_owned(),
        open_scopes,
    };
    a.ctx
        .store
        .set_registration_settings(&settings, crate::server::now())
        .await
        .map_err(crate::server::fail)?;
    a.notice(back, &format!("Dynamic client registration is now {}.", mode.as_str()))
        .await
}

/// Creates an initial access token; its value is shown once, on the next page.
#[server(prefix = "/ui", endpoint = "admin/registration/tokens/create")]
pub async fn admin_create_initial_token(
    csrf: String,
    #[server(default)] description: String,
    #[server(default)] scopes: String,
    #[server(default)] uses: String,
    #[server(default)] expires_in: String,
    #[server(default)] confidential: String,
) -> Result<(), ServerFnError> {
    use tessera_core::dynamic_registration::{parse_duration, InitialTokenRequest};
    let back = "/admin/registration";
    let Some(a) = ssr::action(&csrf, back).await? else {
        return Ok(());
    };
    let values = BTreeMap::from([
        ("description".to_owned(), description.clone()),
        ("scopes".to_owned(), scopes.clone()),
        ("uses".to_owned(), uses.clone()),
        ("expires_in".to_owned(), expires_in.clone()),
    ]);
    let request = InitialTokenRequest {
        description: &description,
        scopes: &scopes,
        allow_confidential: !confidential.is_empty(),
        uses: uses.trim().parse().unwrap_or(0),
        expires_in: parse_duration(&expires_in).unwrap_or(0),
    };
    let known = ssr::scope_names(&a.ctx).await?;
    let (token, value) = match request.validate(&known, crate::server::now()) {
        Ok(v) => v,
        Err(errors) => return a.back_with_errors(back, errors, values).await,
    };
    a.ctx
        .store
        .create_initial_token(&token, &tessera_core::secret::hash_secret(&value))
        .await
        .map_err(crate::server::fail)?;
    let flash = super::Flash {
        notice: Some("The initial access token was created. Copy it now: it is not shown again.".to_owned()),
        secret: Some(value),
        ..Default::default()
    };
    a.redirect_with(back, flash).await
}

#[server(prefix = "/ui", endpoint = "admin/registration/tokens/revoke")]
pub async fn admin_revoke_initial_token(csrf: String, id: String) -> Result<(), ServerFnError> {
    let back = "/admin/registration";
    let Some(a) = ssr::action(&csrf, back).await? else {
        return Ok(());
    };
    let revoked = a
        .ctx
        .store
        .revoke_initial_token(&id, crate::server::now())
        .await
        .map_err(crate::server::fail)?;
    if revoked {
        a.notice(back, "The initial access token was revoked.").await
    } else {
        a.form_error(back, "No such token, or it was revoked already.").await
    }
}
