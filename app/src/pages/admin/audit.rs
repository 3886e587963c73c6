//! `/admin/audit`: the audit log, newest first, with its filters and "Older" paging.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::form::FlashLines;
use super::{gated, AdminNav};
use crate::api::admin::audit::{admin_audit, AuditLog, AuditRow};

#[component]
pub fn AdminAuditPage() -> impl IntoView {
    let query = use_query_map();
    let params = move || {
        query.with(|m| {
            let get = |k: &str| m.get(k).unwrap_or_default();
            (get("kind"), get("user"), get("client_id"), get("since"), get("before"))
        })
    };
    let data = Resource::new(params, |(kind, user, client_id, since, before)| {
        admin_audit(kind, user, client_id, since, before)
    });
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                gated(data.await, "/admin/audit".into(), |p| view! {
                    <AdminNav active="audit"/>
                    <section class="card">
                        <h1>"Audit log"</h1>
                        <FlashLines flash=p.flash/>
                        <AuditFilters log=p.data.clone()/>
                        {p.data.error.clone().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                        <AuditTable rows=p.data.rows.clone()/>
                        {p.data.older.clone().map(|href| view! {
                            <p class="pager"><a class="button secondary" href=href>"Older"</a></p>
                        })}
                    </section>
                }.into_any())
            })}
        </Suspense>
    }
}

#[component]
fn AuditFilters(log: AuditLog) -> impl IntoView {
    let selected = log.kind.clone();
    view! {
        <form method="get" action="/admin/audit" class="audit-filters" role="search">
            <label>"Kind"
                <select name="kind">
                    <option value="" selected=selected.is_empty()>"Any"</option>
                    {log.kinds.into_iter().map(|k| view! {
                        <option value=k.clone() selected=k == selected>{k.clone()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>"User"
                <input type="text" name="user" value=log.user placeholder="Actor or subject"/>
            </label>
            <label>"Client ID"
                <input type="text" name="client_id" value=log.client_id/>
            </label>
            <label>"Since (UTC)"
                <input type="text" name="since" value=log.since placeholder="YYYY-MM-DD" inputmode="numeric"/>
            </label>
            <button type="submit" class="button secondary">"Filter"</button>
        </form>
    }
}

#[component]
fn AuditTable(rows: Vec<AuditRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="empty">"No events."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="admin-table" data-testid="audit">
                <thead><tr>
                    <th>"Time (UTC)"</th><th>"Kind"</th><th>"Actor"</th><th>"Subject"</th>
                    <th>"Client"</th><th>"Address"</th><th>"Detail"</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| view! {
                        <tr data-testid="audit-row" data-id=r.id>
                            <td class="nowrap">{r.time}</td>
                            <td class="nowrap">{r.kind}</td>
                            <td>{r.actor}</td>
                            <td>{r.subject}</td>
                            <td><code>{r.client_id}</code></td>
                            <td class="nowrap">{r.address}</td>
                            <td><code>{r.detail}</code></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
