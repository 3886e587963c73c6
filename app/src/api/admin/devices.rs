//! The device codes in flight (RFC 8628): listed with their client, the first half of
//! their user code, their state and expiry; a pending or approved one can be revoked (its
//! device's next poll gets `access_denied`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;
use super::Gate;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRow {
    /// What the Revoke form posts: the hash of the user code (the code itself is not kept).
    pub id: String,
    pub client_id: String,
    pub client_name: String,
    /// `WDJB-····`.
    pub user_code: String,
    /// pending, approved or denied.
    pub state: String,
    /// Who allowed or denied it.
    pub user: String,
    /// "in 9 min".
    pub expires: String,
    pub revocable: bool,
}

#[server(prefix = "/ui", endpoint = "admin/devices")]
pub async fn admin_devices() -> Result<Gate<Vec<DeviceRow>>, ServerFnError> {
    let (a, flash) = match ssr::page().await? {
        Ok(x) => x,
        Err(gate) => return Ok(gate),
    };
    let now = crate::server::now();
    let entries = a.ctx.store.device_codes(now).await.map_err(crate::server::fail)?;
    let rows = entries
        .into_iter()
        .map(|e| {
            let minutes = ((e.code.expires_at - now).max(0) + 59) / 60;
            let status = e.code.status;
            DeviceRow {
                id: e.code.user_code_hash,
                client_id: e.code.client_id,
                client_name: e.client_name,
                user_code: e.code.user_code_hint,
                state: status.as_str().to_owned(),
                user: e.username.unwrap_or_default(),
                expires: format!("in {minutes} min"),
                revocable: matches!(
                    status,
                    tessera_core::device::DeviceStatus::Pending | tessera_core::device::DeviceStatus::Approved
                ),
            }
        })
        .collect();
    Ok(a.page(flash, rows))
}

/// Denies a device code in flight: its device's next poll gets `access_denied`.
#[server(prefix = "/ui", endpoint = "admin/devices/revoke")]
pub async fn admin_revoke_device(csrf: String, id: String) -> Result<(), ServerFnError> {
    let back = "/admin/devices";
    let Some(a) = ssr::action(&csrf, back).await? else {
        return Ok(());
    };
    let revoked = a.ctx.store.revoke_device_code(&id).await.map_err(crate::server::fail)?;
    if !revoked {
        return a.form_error(back, "That device code was no longer in flight.").await;
    }
    a.audit(tessera_core::audit::Kind::GrantRevoked, |e| {
        e.detail(tessera_services::audit::detail(
            serde_json::json!({ "device_code": "revoked" }),
        ))
    })
    .await;
    a.notice(back, "The device code was revoked.").await
}
