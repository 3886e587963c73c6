//! The console's custom scopes: list, define, describe, delete (refused while a client
//! lists the scope).

#[cfg(feature = "ssr")]
use std::collections::BTreeMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;
use super::Gate;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeRow {
    pub name: String,
    pub description: String,
    pub builtin: bool,
    /// Names of the clients that list it.
    pub used_by: Vec<String>,
}

#[server(prefix = "/ui", endpoint = "admin/scopes")]
pub async fn admin_scopes() -> Result<Gate<Vec<ScopeRow>>, ServerFnError> {
    let (a, flash) = match ssr::page().await? {
        Ok(x) => x,
        Err(gate) => return Ok(gate),
    };
    let clients = a.ctx.store.list_clients().await.map_err(crate::server::fail)?;
    let used_by = |name: &str| -> Vec<String> {
        clients
            .iter()
            .filter(|c| c.scopes.contains(name))
            .map(|c| c.name.clone())
            .collect()
    };
    let mut rows: Vec<ScopeRow> = tessera_core::scope::builtin_scopes()
        .iter()
        .map(|s| ScopeRow {
            name: s.name.to_string(),
            description: s.description.to_string(),
            builtin: true,
            used_by: used_by(&s.name),
        })
        .collect();
    for s in a.ctx.store.custom_scopes().await.map_err(crate::server::fail)? {
        rows.push(ScopeRow {
            used_by: used_by(&s.name),
            name: s.name,
            description: s.description,
            builtin: false,
        });
    }
    Ok(a.page(flash, rows))
}

#[server(prefix = "/ui", endpoint = "admin/scopes/create")]
pub async fn admin_create_scope(csrf: String, name: String, description: String) -> Result<(), ServerFnError> {
    use tessera_core::store::StoreError;
    let back = "/admin/scopes";
    let Some(a) = ssr::action(&csrf, back).await? else {
        return Ok(());
    };
    let valid = tessera_core::registration::validate_scope(&name, &description);
    let values = BTreeMap::from([("name".to_owned(), name), ("description".to_owned(), description)]);
    let (n, d) = match valid {
        Ok(v) => v,
        Err(errors) => return a.back_with_errors(back, errors, values).await,
    };
    match a.ctx.store.create_scope(&n, &d, crate::server::now()).await {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => {
            let errors = BTreeMap::from([(
                "name".to_owned(),
                format!("A scope named \u{201c}{n}\u{201d} exists already."),
            )]);
            return a.back_with_errors(back, errors, values).await;
        }
        Err(e) => return Err(crate::server::fail(e)),
    }
    a.audit(tessera_core::audit::Kind::ScopeCreated, |e| e.subject(&n))
        .await;
    a.notice(back, &format!("Scope \u{201c}{n}\u{201d} was created.")).await
}

#[server(prefix = "/ui", endpoint = "admin/scopes/update")]
pub async fn admin_update_scope(csrf: String, name: String, description: String) -> Result<(), ServerFnError> {
    let back = "/admin/scopes";
    let Some(a) = ssr::action(&csrf, back).await? else {
        return Ok(());
    };
    let field = format!("description:{name}");
    let d = match tessera_core::registration::scope_description(&description) {
        Ok(d) => d,
        Err(e) => {
            let values = BTreeMap::from([(field.clone(), description)]);
            return a.back_with_errors(back, BTreeMap::from([(field, e)]), values).await;
        }
    };
    if !a.ctx.store.update_scope(&name, &d).await.map_err(crate::server::fail)? {
        return a.form_error(back, "Only custom scopes can be changed.").await;
    }
    a.audit(tessera_core::audit::Kind::ScopeUpdated, |e| e.subject(&name))
        .await;
    a.notice(back, &format!("Scope \u{201c}{name}\u{201d} was saved."))
        .await
}

/// Deletes a custom scope, unless a client still lists it.
#[server(prefix = "/ui", endpoint = "admin/scopes/delete")]
pub async fn admin_delete_scope(csrf: String, name: String) -> Result<(), ServerFnError> {
    let back = "/admin/scopes";
    let Some(a) = ssr::action(&csrf, back).await? else {
        return Ok(());
    };
    if tessera_core::scope::is_builtin(&name) {
        return a.form_error(back, "The OpenID Connect scopes cannot be deleted.").await;
    }
    let users: Vec<String> = a
        .ctx
        .store
        .list_clients()
        .await
        .map_err(crate::server::fail)?
        .into_iter()
        .filter(|c| c.scopes.contains(&name))
        .map(|c| c.name)
        .collect();
    if !users.is_empty() {
        let text = format!(
            "Still listed by {}; remove it from {} first.",
            users.join(", "),
            if users.len() == 1 {
                "that client"
            } else {
                "those clients"
            }
        );
        return a
            .back_with_errors(back, BTreeMap::from([(format!("scope:{name}"), text)]), BTreeMap::new())
            .await;
    }
    if a.ctx.store.delete_scope(&name).await.map_err(crate::server::fail)? {
        a.audit(tessera_core::audit::Kind::ScopeDeleted, |e| e.subject(&name))
            .await;
    }
    a.notice(back, &format!("Scope \u{201c}{name}\u{201d} was deleted."))
        .await
}
