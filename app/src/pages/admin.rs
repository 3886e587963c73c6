//! The admin console: `/admin` (overview), clients, scopes, users and their grants.
//! Administrators only: anyone signed out is sent to the login and back, a signed-in
//! non-administrator gets 403. Plain form posts to the server functions in `admin_api`,
//! which answer with a redirect and a one-time flash (field errors, a new secret).

use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::CopyButton;
use crate::admin_api::{
    admin_client, admin_clients, admin_overview, admin_scopes, admin_user, admin_users, AdminPage, ClientDetail,
    ClientView, Flash, Gate, Grants, ScopeRow, UserDetail, UserView,
};

/// Renders a loaded admin page, or the login redirect, or 403.
fn gated<T>(
    loaded: Result<Gate<T>, ServerFnError>,
    next: String,
    render: impl FnOnce(AdminPage<T>) -> AnyView,
) -> AnyView {
    match loaded {
        Ok(Gate::Page(page)) => render(page),
        Ok(Gate::SignIn) => view! { <Redirect path=format!("/login?next={next}")/> }.into_any(),
        Ok(Gate::Forbidden) => view! { <Forbidden/> }.into_any(),
        Err(_) => view! {
            <section class="card"><p role="alert">"This page could not be loaded."</p></section>
        }
        .into_any(),
    }
}

#[component]
fn Forbidden() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::FORBIDDEN);
    }
    view! {
        <section class="card narrow" data-testid="forbidden">
            <h1>"Administrators only"</h1>
            <p>"Your account may not use the admin console. " <a href="/">"Go to the start page"</a>"."</p>
        </section>
    }
}

#[component]
fn AdminNav(active: &'static str) -> impl IntoView {
    let links = [
        ("overview", "/admin", "Overview"),
        ("clients", "/admin/clients", "Clients"),
        ("scopes", "/admin/scopes", "Scopes"),
        ("users", "/admin/users", "Users"),
    ];
    view! {
        <nav class="admin-nav" aria-label="Admin console">
            {links.into_iter().map(|(key, href, label)| view! {
                <a href=href aria-current=(key == active).then_some("page")>{label}</a>
            }).collect_view()}
        </nav>
    }
}

/// The flash's notice and whole-form error.
#[component]
fn FlashLines(flash: Flash) -> impl IntoView {
    let form_error = flash.error("form");
    view! {
        {flash.notice.map(|t| view! { <p class="notice" role="status" data-testid="notice">{t}</p> })}
        {form_error.map(|t| view! { <p class="error" role="alert" data-testid="form-error">{t}</p> })}
    }
}

/// A labelled input with its hint and its own error line.
#[component]
fn Field(
    name: &'static str,
    label: &'static str,
    value: String,
    error: Option<String>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let described = described_by(name, hint.is_some(), error.is_some());
    view! {
        <div class="field">
            <label for=name>{label}</label>
            <input id=name name=name type=kind value=value required=required
                aria-invalid=error.is_some().then_some("true") aria-describedby=described/>
            {hint.map(|h| view! { <p class="hint" id=format!("{name}-hint")>{h}</p> })}
            {error.map(|e| view! { <p class="field-error" id=format!("{name}-error")>{e}</p> })}
        </div>
    }
    .into_any()
}

fn described_by(name: &str, hint: bool, error: bool) -> Option<String> {
    let ids: Vec<String> = [(hint, "hint"), (error, "error")]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, s)| format!("{name}-{s}"))
        .collect();
    (!ids.is_empty()).then(|| ids.join(" "))
}

#[component]
fn TextArea(
    name: &'static str,
    label: &'static str,
    value: String,
    error: Option<String>,
    #[prop(optional, into)] hint: Option<String>,
) -> impl IntoView {
    let described = described_by(name, hint.is_some(), error.is_some());
    view! {
        <div class="field">
            <label for=name>{label}</label>
            <textarea id=name name=name rows="3"
                aria-invalid=error.is_some().then_some("true") aria-describedby=described>{value}</textarea>
            {hint.map(|h| view! { <p class="hint" id=format!("{name}-hint")>{h}</p> })}
            {error.map(|e| view! { <p class="field-error" id=format!("{name}-error")>{e}</p> })}
        </div>
    }
    .into_any()
}

#[component]
fn AlgSelect(
    name: &'static str,
    label: &'static str,
    options: Vec<String>,
    value: String,
    error: Option<String>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=name>{label}</label>
            <select id=name name=name aria-invalid=error.is_some().then_some("true")>
                {options.into_iter().map(|alg| view! {
                    <option value=alg.clone() selected=alg == value>{alg.clone()}</option>
                }).collect_view()}
            </select>
            {error.map(|e| view! { <p class="field-error" id=format!("{name}-error")>{e}</p> })}
        </div>
    }
    .into_any()
}

#[component]
pub fn AdminHomePage() -> impl IntoView {
    let data = Resource::new(|| (), |_| admin_overview());
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                gated(data.await, "/admin".into(), |p| view! {
                    <AdminNav active="overview"/>
                    <section class="card">
                        <h1>"Admin console"</h1>
                        <FlashLines flash=p.flash/>
                        <p class="lead-small">"Signed in as " <strong>{p.data.username}</strong> "."</p>
                        <div class="stat-grid">
                            <a class="stat" href="/admin/clients"><span class="stat-n">{p.data.clients}</span>
                                <span class="stat-label">"Clients"</span></a>
                            <a class="stat" href="/admin/scopes"><span class="stat-n">{p.data.custom_scopes}</span>
                                <span class="stat-label">"Custom scopes"</span></a>
                            <a class="stat" href="/admin/users"><span class="stat-n">{p.data.users}</span>
                                <span class="stat-label">"Users"</span></a>
                        </div>
                    </section>
                }.into_any())
            })}
        </Suspense>
    }
}

#[component]
pub fn AdminClientsPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| admin_clients());
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                gated(data.await, "/admin/clients".into(), |p| view! {
                    <AdminNav active="clients"/>
                    <section class="card">
                        <div class="card-head">
                            <h1>"Clients"</h1>
                            <a class="button" href="/admin/clients/new">"New client"</a>
                        </div>
                        <FlashLines flash=p.flash/>
                        <ClientTable clients=p.data/>
                    </section>
                }.into_any())
            })}
        </Suspense>
    }
}

#[component]
fn ClientTable(clients: Vec<ClientView>) -> impl IntoView {
    if clients.is_empty() {
        return view! { <p class="empty">"No clients yet."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="admin-table" data-testid="clients">
                <thead><tr><th>"Name"</th><th>"Client ID"</th><th>"Type"</th><th>"Redirect URIs"</th><th>"Created"</th></tr></thead>
                <tbody>
                    {clients.into_iter().map(|c| {
                        let href = format!("/admin/clients/{}", c.client_id);
                        view! {
                            <tr data-testid="client-row">
                                <td><a href=href>{c.name}</a></td>
                                <td><code>{c.client_id}</code></td>
                                <td><TypeBadge public=c.is_public/></td>
                                <td class="uris">{c.redirect_uris.into_iter().map(|u| view! { <div>{u}</div> }).collect_view()}</td>
                                <td class="nowrap">{c.created}</td>
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
fn TypeBadge(public: bool) -> impl IntoView {
    if public {
        view! { <span class="tag">"Public"</span> }.into_any()
    } else {
        view! { <span class="tag tag-strong">"Confidential"</span> }.into_any()
    }
}

#[component]
pub fn AdminClientNewPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| admin_client(String::new()));
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                gated(data.await, "/admin/clients/new".into(), |p| view! {
                    <AdminNav active="clients"/>
                    <section class="card">
                        <h1>"New client"</h1>
                        <FlashLines flash=p.flash.clone()/>
                        <ClientForm csrf=p.csrf flash=p.flash client=None scope_names=p.data.scope_names
                            grant_types=p.data.grant_types algs=p.data.algs defaults=p.data.new_client
                            ttl_hints=p.data.ttl_hints/>
                    </section>
                }.into_any())
            })}
        </Suspense>
    }
}

#[component]
pub fn AdminClientPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let confirm = move || query.with(|q| q.get("delete").is_some());
    let data = Resource::new(id, admin_client);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let next = format!("/admin/clients/{}", id());
                let confirm = confirm();
                gated(data.await, next, move |p| client_page(p, confirm))
            })}
        </Suspense>
    }
}

fn client_page(p: AdminPage<ClientDetail>, confirm: bool) -> AnyView {
    let Some(c) = p.data.client else {
        return view! {
            <AdminNav active="clients"/>
            <section class="card">
                <h1>"No such client"</h1>
                <FlashLines flash=p.flash/>
                <p><a href="/admin/clients">"← All clients"</a></p>
            </section>
        }
        .into_any();
    };
    let back = format!("/admin/clients/{}", c.client_id);
    view! {
        <AdminNav active="clients"/>
        <section class="card">
            <div class="card-head">
                <div>
                    <h1 data-testid="client-title">{c.name.clone()}</h1>
                    <p class="muted">"Client ID " <code data-testid="client-id">{c.client_id.clone()}</code>
                        " · " <TypeBadge public=c.is_public/> " · created " {c.created.clone()}</p>
                </div>
            </div>
            <FlashLines flash=p.flash.clone()/>
            {p.flash.secret.clone().map(|s| view! { <SecretBox secret=s/> })}
            <ClientForm csrf=p.csrf.clone() flash=p.flash client=Some(c.clone()) scope_names=p.data.scope_names
                grant_types=p.data.grant_types algs=p.data.algs defaults=p.data.new_client
                ttl_hints=p.data.ttl_hints/>
        </section>
        <GrantsCard grants=p.data.grants csrf=p.csrf.clone() back=back.clone() of_client=true/>
        <ClientDangerCard client=c csrf=p.csrf confirm/>
    }
    .into_any()
}

/// A secret shown once: selectable, with a copy button once the page is hydrated.
#[component]
fn SecretBox(secret: String) -> impl IntoView {
    let value = secret.clone();
    view! {
        <div class="secret-box" data-testid="new-secret">
            <p><strong>"Client secret"</strong>
                " — copy it now. It is shown only this once; Tessera keeps only its hash."</p>
            <div class="secret-row">
                <input type="text" readonly id="client-secret" aria-label="Client secret" value=secret
                    data-testid="client-secret" class="secret"/>
                <CopyButton value/>
            </div>
        </div>
    }
    .into_any()
}

#[component]
fn ClientForm(
    csrf: String,
    flash: Flash,
    client: Option<ClientView>,
    scope_names: Vec<String>,
    /// The grant types to offer, one checkbox each (from the core's list).
    grant_types: Vec<String>,
    /// The signing algorithms to offer (from the core's list).
    algs: Vec<String>,
    /// A new client's starting values (the core's defaults).
    defaults: ClientView,
    /// The allowed access and refresh token lifetimes, as hints.
    ttl_hints: (String, String),
) -> impl IntoView {
    let new = client.is_none();
    let c = client.unwrap_or(defaults);
    let (access_ttl_hint, refresh_ttl_hint) = ttl_hints;
    let action = if new {
        "/ui/admin/clients/create"
    } else {
        "/ui/admin/clients/update"
    };
    let uris = flash.value("redirect_uris", &c.redirect_uris.join("\n"));
    let scope_hint = format!("Space-separated. Available: {}.", scope_names.join(" "));
    let public_checked = flash.values.get("client_type").is_some_and(|t| t == "public");
    view! {
        <form method="post" action=action class="admin-form" data-testid="client-form">
            <input type="hidden" name="csrf" value=csrf/>
            {(!new).then(|| view! { <input type="hidden" name="client_id" value=c.client_id.clone()/> })}
            <Field name="name" label="Name" value=flash.value("name", &c.name) error=flash.error("name") required=true/>
            <TextArea name="description" label="Description (optional)" value=flash.value("description", &c.description)
                error=flash.error("description")/>
            <Field name="logo_uri" label="Logo URL (optional)" kind="url" value=flash.value("logo_uri", &c.logo_uri)
                error=flash.error("logo_uri") hint="An https URL; the consent screen shows it."/>
            {new.then(|| view! {
                <fieldset class="field">
                    <legend>"Type"</legend>
                    <label class="check"><input type="radio" name="client_type" value="confidential"
                        checked=!public_checked/>"Confidential — a server that can keep a secret"</label>
                    <label class="check"><input type="radio" name="client_type" value="public"
                        checked=public_checked/>"Public — a browser or native app (no secret, PKCE always)"</label>
                </fieldset>
            })}
            <TextArea name="redirect_uris" label="Redirect URIs" value=uris error=flash.error("redirect_uris")
                hint="One per line: absolute, no fragment, https (plain http only on loopback)."/>
            <Field name="scopes" label="Allowed scopes" value=flash.value("scopes", &c.scopes)
                error=flash.error("scopes") hint=scope_hint/>
            <fieldset class="field">
                <legend>"Grant types"</legend>
                {grant_types.into_iter().map(|g| {
                    let name = format!("grant_{g}");
                    let checked = flash.checked(&name, c.grant_types.contains(&g));
                    view! { <label class="check"><input type="checkbox" name=name checked=checked/><code>{g}</code></label> }
                }).collect_view()}
                {flash.error("grant_types").map(|e| view! { <p class="field-error">{e}</p> })}
            </fieldset>
            <div class="field">
                <label class="check"><input type="checkbox" name="require_pkce" id="require_pkce"
                    checked=flash.checked("require_pkce", c.require_pkce)/>"Require PKCE"</label>
                {flash.error("require_pkce").map(|e| view! { <p class="field-error" id="require_pkce-error">{e}</p> })}
            </div>
            <div class="field-row">
                <Field name="access_token_ttl" label="Access token lifetime (s)" kind="number"
                    value=flash.value("access_token_ttl", &c.access_token_ttl.to_string())
                    error=flash.error("access_token_ttl") hint=access_ttl_hint/>
                <Field name="refresh_token_ttl" label="Refresh token lifetime (s)" kind="number"
                    value=flash.value("refresh_token_ttl", &c.refresh_token_ttl.to_string())
                    error=flash.error("refresh_token_ttl") hint=refresh_ttl_hint/>
            </div>
            <div class="field-row">
                <AlgSelect name="access_token_alg" label="Access token algorithm" options=algs.clone()
                    value=flash.value("access_token_alg", &c.access_token_alg) error=flash.error("access_token_alg")/>
                <AlgSelect name="id_token_alg" label="ID token algorithm" options=algs
                    value=flash.value("id_token_alg", &c.id_token_alg) error=flash.error("id_token_alg")/>
            </div>
            <div class="form-actions">
                <button type="submit" class="button">{if new { "Create client" } else { "Save changes" }}</button>
                <a class="button secondary" href="/admin/clients">"Cancel"</a>
            </div>
        </form>
    }
    .into_any()
}

/// Rotate the secret; delete, with a confirmation step.
#[component]
fn ClientDangerCard(client: ClientView, csrf: String, confirm: bool) -> impl IntoView {
    let path = format!("/admin/clients/{}", client.client_id);
    let rotate = (!client.is_public).then(|| {
        view! {
            <div class="danger-item">
                <div><h3>"Rotate secret"</h3>
                    <p class="muted">"A new secret replaces the current one at once."</p></div>
                <form method="post" action="/ui/admin/clients/rotate" class="inline-form">
                    <input type="hidden" name="csrf" value=csrf.clone()/>
                    <input type="hidden" name="client_id" value=client.client_id.clone()/>
                    <button type="submit" class="button secondary">"Rotate secret"</button>
                </form>
            </div>
        }
    });
    let delete = if confirm {
        view! {
            <div class="confirm-box" role="alertdialog" aria-labelledby="confirm-delete" data-testid="confirm-delete">
                <p id="confirm-delete"><strong>"Delete \u{201c}" {client.name.clone()} "\u{201d}?"</strong>
                    " Its tokens stop working and every consent to it is forgotten. This cannot be undone."</p>
                <div class="form-actions">
                    <form method="post" action="/ui/admin/clients/delete" class="inline-form">
                        <input type="hidden" name="csrf" value=csrf/>
                        <input type="hidden" name="client_id" value=client.client_id/>
                        <button type="submit" class="button danger">"Yes, delete this client"</button>
                    </form>
                    <a class="button secondary" href=path>"Cancel"</a>
                </div>
            </div>
        }
        .into_any()
    } else {
        view! {
            <div class="danger-item">
                <div><h3>"Delete client"</h3>
                    <p class="muted">"Removes the client and everything issued to it."</p></div>
                <a class="button danger" href=format!("{path}?delete=confirm")>"Delete client…"</a>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="card danger-zone">
            <h2>"Secret and deletion"</h2>
            {rotate}
            {delete}
        </section>
    }
    .into_any()
}

/// Active consents and refresh-token families of one client (`of_client`) or one user.
#[component]
fn GrantsCard(grants: Grants, csrf: String, back: String, of_client: bool) -> impl IntoView {
    let who = if of_client { "User" } else { "Client" };
    let consents = grants
        .consents
        .into_iter()
        .map(|g| GrantRow {
            label: if of_client { g.username } else { g.client_name },
            scopes: g.scopes,
            when: g.granted,
            fields: vec![("user_id", g.user_id), ("client_id", g.client_id)],
        })
        .collect();
    let families = grants
        .families
        .into_iter()
        .map(|f| GrantRow {
            label: if of_client { f.username } else { f.client_name },
            scopes: f.scopes,
            when: f.created,
            fields: vec![("family_id", f.family_id)],
        })
        .collect();
    let consents = GrantTable {
        testid: "consents",
        empty: "No consents.",
        headers: [who, "Granted"],
        action: "/ui/admin/grants/consent",
        what: "consent",
    }
    .view(consents, &csrf, &back);
    let families = GrantTable {
        testid: "families",
        empty: "No active refresh tokens.",
        headers: [who, "Since"],
        action: "/ui/admin/grants/family",
        what: "refresh token",
    }
    .view(families, &csrf, &back);
    view! {
        <section class="card" data-testid="grants">
            <h2>"Grants"</h2>
            <h3>"Consents"</h3>
            {consents}
            <h3>"Refresh tokens"</h3>
            {families}
        </section>
    }
    .into_any()
}

/// One revocable grant: whose, its scopes, since when, and what its Revoke form posts.
struct GrantRow {
    label: String,
    scopes: String,
    when: String,
    fields: Vec<(&'static str, String)>,
}

/// A table of revocable grants (consents, or refresh-token families).
struct GrantTable {
    testid: &'static str,
    empty: &'static str,
    /// The first column (User or Client) and the date column.
    headers: [&'static str; 2],
    action: &'static str,
    /// For the Revoke button's label: "Revoke {what} of {label}".
    what: &'static str,
}

impl GrantTable {
    fn view(self, rows: Vec<GrantRow>, csrf: &str, back: &str) -> AnyView {
        if rows.is_empty() {
            return view! { <p class="empty">{self.empty}</p> }.into_any();
        }
        let [who, when] = self.headers;
        let (action, what) = (self.action, self.what);
        let rows = rows
            .into_iter()
            .map(|r| {
                let aria = format!("Revoke {what} of {}", r.label);
                view! {
                    <tr>
                        <td>{r.label}</td>
                        <td><code>{r.scopes}</code></td>
                        <td class="nowrap">{r.when}</td>
                        <td class="actions">
                            <form method="post" action=action class="inline-form">
                                <input type="hidden" name="csrf" value=csrf.to_owned()/>
                                {r.fields.into_iter().map(|(name, value)| view! {
                                    <input type="hidden" name=name value=value/>
                                }).collect_view()}
                                <input type="hidden" name="back" value=back.to_owned()/>
                                <button type="submit" class="button danger small" aria-label=aria>"Revoke"</button>
                            </form>
                        </td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="table-wrap">
                <table class="admin-table" data-testid=self.testid>
                    <thead><tr><th>{who}</th><th>"Scopes"</th><th>{when}</th><th></th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    }
}

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
fn ScopeTable(rows: Vec<ScopeRow>, csrf: String, flash: Flash) -> impl IntoView {
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
fn ScopeRowView(s: ScopeRow, csrf: String, flash: Flash) -> impl IntoView {
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
fn NewScopeCard(csrf: String, flash: Flash) -> impl IntoView {
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

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.with(|m| m.get("q").unwrap_or_default());
    let data = Resource::new(q, admin_users);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let current = q();
                gated(data.await, "/admin/users".into(), move |p| view! {
                    <AdminNav active="users"/>
                    <section class="card">
                        <div class="card-head">
                            <h1>"Users"</h1>
                            <a class="button" href="/admin/users/new">"New user"</a>
                        </div>
                        <FlashLines flash=p.flash/>
                        <form method="get" action="/admin/users" class="search" role="search">
                            <input type="search" name="q" value=current aria-label="Search users"
                                placeholder="Username, name or email"/>
                            <button type="submit" class="button secondary">"Search"</button>
                        </form>
                        <UserTable users=p.data/>
                    </section>
                }.into_any())
            })}
        </Suspense>
    }
}

#[component]
fn UserTable(users: Vec<UserView>) -> impl IntoView {
    if users.is_empty() {
        return view! { <p class="empty">"No users found."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="admin-table" data-testid="users">
                <thead><tr><th>"Username"</th><th>"Name"</th><th>"Email"</th><th>"Status"</th><th>"Created"</th></tr></thead>
                <tbody>
                    {users.into_iter().map(|u| view! {
                        <tr data-testid="user-row">
                            <td><a href=format!("/admin/users/{}", u.id)>{u.username}</a></td>
                            <td>{u.name}</td>
                            <td>{u.email}</td>
                            <td><UserBadges admin=u.is_admin disabled=u.disabled/></td>
                            <td class="nowrap">{u.created}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn UserBadges(admin: bool, disabled: bool) -> impl IntoView {
    view! {
        {admin.then(|| view! { <span class="tag tag-strong">"Admin"</span> })}
        {disabled.then(|| view! { <span class="tag tag-danger">"Disabled"</span> })}
        {(!admin && !disabled).then(|| view! { <span class="tag">"User"</span> })}
    }
}

#[component]
pub fn AdminUserNewPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| admin_user(String::new()));
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                gated(data.await, "/admin/users/new".into(), |p| {
                    let f = p.flash;
                    view! {
                        <AdminNav active="users"/>
                        <section class="card">
                            <h1>"New user"</h1>
                            <FlashLines flash=f.clone()/>
                            <form method="post" action="/ui/admin/users/create" class="admin-form" data-testid="user-form">
                                <input type="hidden" name="csrf" value=p.csrf/>
                                <Field name="username" label="Username" value=f.value("username", "")
                                    error=f.error("username") required=true
                                    hint="Letters, digits, '.', '_', '-' or '@'; case does not matter."/>
                                <Field name="name" label="Name (optional)" value=f.value("name", "") error=f.error("name")/>
                                <Field name="email" label="Email (optional)" kind="email" value=f.value("email", "")
                                    error=f.error("email")/>
                                <Field name="password" label="Password" kind="password" value=String::new()
                                    error=f.error("password") required=true hint=p.data.password_hint/>
                                <label class="check"><input type="checkbox" name="is_admin"
                                    checked=f.checked("is_admin", false)/>"Administrator"</label>
                                <div class="form-actions">
                                    <button type="submit" class="button">"Create user"</button>
                                    <a class="button secondary" href="/admin/users">"Cancel"</a>
                                </div>
                            </form>
                        </section>
                    }
                    .into_any()
                })
            })}
        </Suspense>
    }
}

#[component]
pub fn AdminUserPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let data = Resource::new(id, admin_user);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                gated(data.await, format!("/admin/users/{}", id()), user_page)
            })}
        </Suspense>
    }
}

fn user_page(p: AdminPage<UserDetail>) -> AnyView {
    let Some(u) = p.data.user else {
        return view! {
            <AdminNav active="users"/>
            <section class="card"><h1>"No such user"</h1><FlashLines flash=p.flash/>
                <p><a href="/admin/users">"← All users"</a></p></section>
        }
        .into_any();
    };
    let back = format!("/admin/users/{}", u.id);
    view! {
        <AdminNav active="users"/>
        <section class="card">
            <h1 data-testid="user-title">{u.username.clone()}</h1>
            <FlashLines flash=p.flash.clone()/>
            <dl class="facts">
                <dt>"Name"</dt><dd>{if u.name.is_empty() { "—".to_owned() } else { u.name.clone() }}</dd>
                <dt>"Email"</dt><dd>{if u.email.is_empty() { "—".to_owned() } else { u.email.clone() }}</dd>
                <dt>"Status"</dt><dd data-testid="user-status"><UserBadges admin=u.is_admin disabled=u.disabled/></dd>
                <dt>"Created"</dt><dd>{u.created.clone()}</dd>
            </dl>
            <UserActions user=u csrf=p.csrf.clone() flash=p.flash is_self=p.data.is_self
                password_hint=p.data.password_hint/>
        </section>
        <GrantsCard grants=p.data.grants csrf=p.csrf back of_client=false/>
    }
    .into_any()
}

#[component]
fn UserActions(user: UserView, csrf: String, flash: Flash, is_self: bool, password_hint: String) -> impl IntoView {
    let toggle = |action: &'static str, field: &'static str, value: bool, label: &'static str, class: &'static str| {
        view! {
            <form method="post" action=action class="inline-form">
                <input type="hidden" name="csrf" value=csrf.clone()/>
                <input type="hidden" name="user_id" value=user.id.clone()/>
                <input type="hidden" name=field value=value.to_string()/>
                <button type="submit" class=class>{label}</button>
            </form>
        }
    };
    let disable = if user.disabled {
        toggle(
            "/ui/admin/users/disabled",
            "disabled",
            false,
            "Enable user",
            "button secondary",
        )
        .into_any()
    } else if is_self {
        ().into_any()
    } else {
        toggle(
            "/ui/admin/users/disabled",
            "disabled",
            true,
            "Disable user",
            "button danger",
        )
        .into_any()
    };
    let admin = if !user.is_admin {
        toggle(
            "/ui/admin/users/admin",
            "admin",
            true,
            "Make administrator",
            "button secondary",
        )
        .into_any()
    } else if is_self {
        ().into_any()
    } else {
        toggle(
            "/ui/admin/users/admin",
            "admin",
            false,
            "Revoke administrator",
            "button secondary",
        )
        .into_any()
    };
    view! {
        <div class="row-actions">{disable}{admin}</div>
        <h2>"Reset password"</h2>
        <form method="post" action="/ui/admin/users/password" class="admin-form">
            <input type="hidden" name="csrf" value=csrf.clone()/>
            <input type="hidden" name="user_id" value=user.id.clone()/>
            <Field name="password" label="New password" kind="password" value=String::new()
                error=flash.error("password") required=true hint=password_hint/>
            <div class="form-actions"><button type="submit" class="button">"Reset password"</button></div>
        </form>
    }
    .into_any()
}
