//! Server functions of the admin console (`/admin`): one loader per page and one action
//! per form. Every one checks that the session's user is an administrator; every action
//! also checks the CSRF token, validates the whole form with the core's parsers before
//! writing anything, and answers with a redirect. Field errors, the submitted values and
//! a new client secret travel back in a one-time flash kept in the server-side session,
//! so that a secret never appears in a URL and is shown exactly once.
//!
//! One module per resource, each with its page data and its actions: [`clients`],
//! [`scopes`], [`apis`], [`users`], [`grants`], [`devices`] (device codes in flight), [`registration`] (dynamic client registration), and the read-only [`audit`] log. Shared here: the gate every page passes
//! ([`Gate`], [`AdminPage`]) and the one way a form gets feedback ([`Flash`]); `ssr`
//! (server only) holds the administrator check, the flash's storage and the form readers.

use std::collections::BTreeMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub mod apis;
pub mod audit;
pub mod clients;
pub mod devices;
pub mod grants;
pub mod registration;
pub mod scopes;
#[cfg(feature = "ssr")]
mod ssr;
pub mod users;

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

#[server(prefix = "/ui", endpoint = "admin/overview")]
pub async fn admin_overview() -> Result<Gate<Overview>, ServerFnError> {
    let (a, flash) = match ssr::page().await? {
        Ok(x) => x,
        Err(gate) => return Ok(gate),
    };
    let clients = a.ctx.store.list_clients().await.map_err(crate::server::fail)?.len();
    let users = a.ctx.store.count_users().await.map_err(crate::server::fail)? as usize;
    let custom_scopes = a.ctx.store.custom_scopes().await.map_err(crate::server::fail)?.len();
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
