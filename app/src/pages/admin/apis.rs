//! `/admin/apis` and `/admin/api?id=…`: the APIs (resource servers, RFC 8707) a client
//! may name as `resource`, a new one, and one API's settings and deletion.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::form::{AlgSelect, FlashLines};
use super::{gated, AdminNav};
use crate::api::admin::apis::{admin_apis, ApiView, ApisPage};
use crate::api::admin::{AdminPage, Flash};
use crate::components::Field;

fn api_href(identifier: &str) -> String {
    let encoded: String = url_encode(identifier);
    format!("/admin/api?id={encoded}")
}

/// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
pub fn AdminApisPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| admin_apis(String::new()));
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                gated(data.await, "/admin/apis".into(), |p| view! {
                    <AdminNav active="apis"/>
                    <section class="card">
                        <h1>"APIs"</h1>
                        <p class="lead-small">"Resource servers a client may ask tokens for with "
                            <code>"resource="</code>" (RFC 8707). A token for an API has the API's identifier as "
                            <code>"aud"</code>", its algorithm and lifetime, and only the granted scopes that belong to it."</p>
                        <FlashLines flash=p.flash.clone()/>
                        <ApiTable apis=p.data.apis.clone()/>
                    </section>
                    <NewApiCard p/>
                }.into_any())
            })}
        </Suspense>
    }
}

#[component]
pub(super) fn ApiTable(apis: Vec<ApiView>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="admin-table" data-testid="apis-table">
                <thead><tr><th>"Name"</th><th>"Identifier"</th><th>"Scopes"</th><th>"Algorithm"</th>
                    <th>"Lifetime (s)"</th><th>"Clients"</th></tr></thead>
                <tbody>
                    {apis.into_iter().map(|a| {
                        let used = if a.sample && a.used_by.is_empty() {
                            "Clients with no allowed APIs".to_owned()
                        } else if a.used_by.is_empty() {
                            "—".to_owned()
                        } else {
                            a.used_by.join(", ")
                        };
                        view! {
                            <tr data-testid="api-row">
                                <td><a href=api_href(&a.identifier)>{a.name}</a>
                                    {a.sample.then(|| view! { " " <span class="tag">"Sample resource"</span> })}</td>
                                <td><code>{a.identifier}</code></td>
                                <td>{a.scopes}</td>
                                <td>{a.access_token_alg}</td>
                                <td>{a.access_token_ttl}</td>
                                <td>{used}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn NewApiCard(p: AdminPage<ApisPage>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"New API"</h2>
            <ApiForm csrf=p.csrf flash=p.flash api=None data=p.data/>
        </section>
    }
    .into_any()
}

#[component]
pub fn AdminApiPage() -> impl IntoView {
    let query = use_query_map();
    let id = move || query.with(|q| q.get("id").unwrap_or_default());
    let data = Resource::new(id, admin_apis);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let next = api_href(&id());
                gated(data.await, next, api_page)
            })}
        </Suspense>
    }
}

fn api_page(p: AdminPage<ApisPage>) -> AnyView {
    let Some(api) = p.data.api.clone() else {
        return view! {
            <AdminNav active="apis"/>
            <section class="card">
                <h1>"No such API"</h1>
                <FlashLines flash=p.flash/>
                <p><a href="/admin/apis">"← All APIs"</a></p>
            </section>
        }
        .into_any();
    };
    let delete = (!api.sample).then(|| {
        view! {
            <section class="card danger-zone">
                <h2>"Deletion"</h2>
                <div class="danger-item">
                    <div><h3>"Delete API"</h3>
                        <p class="muted">"Tokens already issued for it keep their audience until they expire; \
                            no new ones can be asked for."</p></div>
                    <form method="post" action="/ui/admin/apis/delete" class="inline-form">
                        <input type="hidden" name="csrf" value=p.csrf.clone()/>
                        <input type="hidden" name="identifier" value=api.identifier.clone()/>
                        <button type="submit" class="button danger">"Delete API"</button>
                    </form>
                </div>
            </section>
        }
    });
    view! {
        <AdminNav active="apis"/>
        <section class="card">
            <h1 data-testid="api-title">{api.name.clone()}</h1>
            <p class="muted">"Identifier " <code data-testid="api-identifier">{api.identifier.clone()}</code>
                " · registered " {api.created.clone()}</p>
            <FlashLines flash=p.flash.clone()/>
            <ApiForm csrf=p.csrf.clone() flash=p.flash.clone() api=Some(api) data=p.data.clone()/>
        </section>
        {delete}
    }
    .into_any()
}

#[component]
fn ApiForm(csrf: String, flash: Flash, api: Option<ApiView>, data: ApisPage) -> impl IntoView {
    let new = api.is_none();
    let a = api.unwrap_or(data.new_api);
    let action = if new {
        "/ui/admin/apis/create"
    } else {
        "/ui/admin/apis/update"
    };
    let scope_hint = format!(
        "Space-separated: the scopes a token for this API may carry. Available: {}.",
        data.scope_names.join(" ")
    );
    view! {
        <form method="post" action=action class="admin-form" data-testid="api-form">
            <input type="hidden" name="csrf" value=csrf/>
            {if new {
                view! {
                    <Field name="identifier" label="Identifier" kind="url" value=flash.value("identifier", "")
                        error=flash.error("identifier")
                        hint="An absolute URI without a fragment, e.g. https://api.example.com/ — the tokens' aud." required=true/>
                }.into_any()
            } else {
                view! { <input type="hidden" name="identifier" value=a.identifier.clone()/> }.into_any()
            }}
            <Field name="name" label="Name" value=flash.value("name", &a.name) error=flash.error("name") required=true/>
            <Field name="scopes" label="Scopes" value=flash.value("scopes", &a.scopes)
                error=flash.error("scopes") hint=scope_hint/>
            <div class="field-row">
                <AlgSelect name="access_token_alg" label="Access token algorithm" options=data.algs
                    value=flash.value("access_token_alg", &a.access_token_alg) error=flash.error("access_token_alg")/>
                <Field name="access_token_ttl" label="Access token lifetime (s)" kind="number"
                    value=flash.value("access_token_ttl", &a.access_token_ttl.to_string())
                    error=flash.error("access_token_ttl") hint=data.ttl_hint/>
            </div>
            <div class="form-actions">
                <button type="submit" class="button">{if new { "Register API" } else { "Save changes" }}</button>
                {(!new).then(|| view! { <a class="button secondary" href="/admin/apis">"Cancel"</a> })}
            </div>
        </form>
    }
    .into_any()
}
