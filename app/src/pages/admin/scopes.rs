//! `/admin/scopes`: the custom scopes, each editable in place, and a new one.

use leptos::prelude::*;

use super::form::FlashLines;
use super::{gated, AdminNav};
use crate::api::admin::scopes::{admin_scopes, ScopeRow};
use crate::api::admin::Flash;
use crate::components::Field;

#[component]
pub fn AdminScopesPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| admin_scopes());
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                gated(data.await, "/admin/scopes".into(), |p| view! {
                    <AdminNav active="scopes"/>
                    <section class="card">
                        <h1>"Scopes"</h1>
                        <p class="lead-small">"The description is what the consent screen shows. The OpenID Connect \
                            scopes are built in; custom ones can be changed, and deleted once no client lists them."</p>
                        <FlashLines flash=p.flash.clone()/>
                        <ScopeTable rows=p.data csrf=p.csrf.clone() flash=p.flash.clone()/>
                    </section>
                    <NewScopeCard csrf=p.csrf flash=p.flash/>
                }.into_any())
            })}
        </Suspense>
    }
}

#[component]
pub(super) fn ScopeTable(rows: Vec<ScopeRow>, csrf: String, flash: Flash) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="admin-table" data-testid="scopes-table">
                <thead><tr><th>"Scope"</th><th>"Consent text"</th><th>"Used by"</th><th></th></tr></thead>
                <tbody>
                    {rows.into_iter().map(|s| view! { <ScopeRowView s csrf=csrf.clone() flash=flash.clone()/> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
pub(super) fn ScopeRowView(s: ScopeRow, csrf: String, flash: Flash) -> impl IntoView {
    let used = if s.used_by.is_empty() {
        "—".to_owned()
    } else {
        s.used_by.join(", ")
    };
    if s.builtin {
        return view! {
            <tr data-testid="scope-row">
                <td><code>{s.name}</code> " " <span class="tag">"Built-in"</span></td>
                <td>{s.description}</td>
                <td>{used}</td>
                <td></td>
            </tr>
        }
        .into_any();
    }
    let field = format!("description:{}", s.name);
    let input_id = format!("scope-desc-{}", s.name);
    let form_id = format!("scope-form-{}", s.name);
    let desc_error = flash.error(&field);
    let row_error = flash.error(&format!("scope:{}", s.name));
    let value = flash.value(&field, &s.description);
    let label = format!("Consent text for {}", s.name);
    let delete_label = format!("Delete scope {}", s.name);
    view! {
        <tr data-testid="scope-row">
            <td><code>{s.name.clone()}</code> " " <span class="tag tag-strong">"Custom"</span></td>
            <td>
                <form method="post" action="/ui/admin/scopes/update" id=form_id.clone() class="inline-edit">
                    <input type="hidden" name="csrf" value=csrf.clone()/>
                    <input type="hidden" name="name" value=s.name.clone()/>
                    <input type="text" name="description" id=input_id value=value aria-label=label
                        aria-invalid=desc_error.is_some().then_some("true")/>
                    <button type="submit" class="button secondary small">"Save"</button>
                </form>
                {desc_error.map(|e| view! { <p class="field-error">{e}</p> })}
                {row_error.map(|e| view! { <p class="field-error" data-testid="scope-error">{e}</p> })}
            </td>
            <td>{used}</td>
            <td class="actions">
                <form method="post" action="/ui/admin/scopes/delete" class="inline-form">
                    <input type="hidden" name="csrf" value=csrf/>
                    <input type="hidden" name="name" value=s.name/>
                    <button type="submit" class="button danger small" aria-label=delete_label>"Delete"</button>
                </form>
            </td>
        </tr>
    }
    .into_any()
}

#[component]
pub(super) fn NewScopeCard(csrf: String, flash: Flash) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"New scope"</h2>
            <form method="post" action="/ui/admin/scopes/create" class="admin-form" data-testid="scope-form">
                <input type="hidden" name="csrf" value=csrf/>
                <div class="field-row">
                    <Field name="name" label="Name" value=flash.value("name", "") error=flash.error("name")
                        hint="One word, e.g. invoices:read" required=true/>
                    <Field name="description" label="Consent text" value=flash.value("description", "")
                        error=flash.error("description") hint="Completes \u{201c}This app wants to …\u{201d}" required=true/>
                </div>
                <div class="form-actions"><button type="submit" class="button">"Create scope"</button></div>
            </form>
        </section>
    }
    .into_any()
}
