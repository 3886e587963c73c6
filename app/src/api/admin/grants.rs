//! What users have allowed and hold: consents and token families, as the client and user
//! pages list them, and revoking either.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;

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
        .map_err(crate::server::fail)?;
    let username = a.username_of(&user_id).await;
    a.audit(tessera_core::audit::Kind::ConsentRevoked, |e| {
        e.client(&client_id).subject(username)
    })
    .await;
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
        .map_err(crate::server::fail)?;
    a.audit(tessera_core::audit::Kind::GrantRevoked, |e| {
        e.detail(tessera_services::audit::detail(
            serde_json::json!({ "family_id": family_id }),
        ))
    })
    .await;
    a.notice(&back, "The refresh token was revoked.").await
}
