//! `/admin/clients`, `/admin/clients/new` and `/admin/clients/:id`: the list, the form,
//! the secret shown once, and deleting a client.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::form::{AlgSelect, FlashLines};
use super::grants::GrantsCard;
use super::{gated, AdminNav};
use crate::api::admin::clients::{admin_client, admin_clients, ClientDetail, ClientView};
use crate::api::admin::{AdminPage, Flash};
use crate::components::{CopyButton, Field, TextArea};

#[component]
pub fn AdminClientsPage() -> impl IntoView {
    let query = use_query_map();
    let kind = move || query.with(|q| q.get("kind").unwrap_or_default());
    let data = Resource::new(kind, admin_clients);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let kind = kind();
                gated(data.await, "/admin/clients".into(), move |p| view! {
                    <AdminNav active="clients"/>
                    <section class="card">
                        <div class="card-head">
                            <h1>"Clients"</h1>
                            <a class="button" href="/admin/clients/new">"New client"</a>
                        </div>
                        <FlashLines flash=p.flash/>
                        <ClientFilter kind/>
                        <ClientTable clients=p.data/>
                    </section>
                }.into_any())
            })}
        </Suspense>
    }
}

#[component]
pub(super) fn ClientTable(clients: Vec<ClientView>) -> impl IntoView {
    if clients.is_empty() {
        return view! { <p class="empty">"No clients yet."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="admin-table" data-testid="clients">
                <thead><tr><th>"Name"</th><th>"Client ID"</th><th>"Type"</th><th>"Redirect URIs"</th><th>"Created"</th></tr></thead>
                <tbody>
                    {clients.into_iter().map(|c| {
                        let href = format!("/admin/clients/{}", url_segment(&c.client_id));
                        let documented = is_metadata_document(&c.client_id);
                        view! {
                            <tr data-testid="client-row">
                                <td><a href=href>{c.name}</a>
                                    {c.dynamic.clone().map(|origin| view! {
                                        " " <span class="tag" title=origin data-testid="dynamic-tag">"Dynamic"</span>
                                    })}</td>
                                <td><code>{c.client_id}</code></td>
                                <td><TypeBadge public=c.is_public/>
                                    {documented.then(|| view! { " " <MetadataBadge/> })}</td>
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

/// All clients, those an administrator registered, or those registered dynamically.
#[component]
fn ClientFilter(kind: String) -> impl IntoView {
    let links = [
        ("", "All"),
        ("admin", "Admin-created"),
        ("dynamic", "Dynamically registered"),
    ];
    view! {
        <p class="filters" data-testid="client-filter">"Show: "
            {links.into_iter().map(|(k, label)| {
                let href = if k.is_empty() { "/admin/clients".to_owned() } else { format!("/admin/clients?kind={k}") };
                let current = (k == kind.as_str() || (k.is_empty() && !matches!(kind.as_str(), "admin" | "dynamic")))
                    .then_some("page");
                view! { <a href=href aria-current=current>{label}</a> " " }
            }).collect_view()}
        </p>
    }
}

#[component]
pub(super) fn TypeBadge(public: bool) -> impl IntoView {
    if public {
        view! { <span class="tag">"Public"</span> }.into_any()
    } else {
        view! { <span class="tag tag-strong">"Confidential"</span> }.into_any()
    }
}

/// A client known by its Client ID Metadata Document: its id is the document's URL
/// (registered ids never have a scheme). It changes when the document does.
fn is_metadata_document(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// A client id as one path segment (a metadata document's URL has slashes).
fn url_segment(client_id: &str) -> String {
    client_id
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
fn MetadataBadge() -> impl IntoView {
    view! {
        <span class="tag" data-testid="metadata-document"
            title="Registered by its Client ID Metadata Document: its settings come from the document at its URL">
            "Metadata document"</span>
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
                            ttl_hints=p.data.ttl_hints auth_methods=p.data.auth_methods
                            apis=p.data.apis fapi_rules=p.data.fapi_rules/>
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

pub(super) fn client_page(p: AdminPage<ClientDetail>, confirm: bool) -> AnyView {
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
                        " · " <TypeBadge public=c.is_public/>
                        {is_metadata_document(&c.client_id).then(|| view! { " " <MetadataBadge/> })}
                        " · created " {c.created.clone()}</p>
                    {c.dynamic.clone().map(|origin| view! {
                        <p class="muted" data-testid="client-dynamic"><span class="tag">"Dynamic"</span> " " {origin}</p>
                    })}
                </div>
            </div>
            <FlashLines flash=p.flash.clone()/>
            {p.flash.secret.clone().map(|s| view! { <SecretBox secret=s/> })}
            <ClientForm csrf=p.csrf.clone() flash=p.flash client=Some(c.clone()) scope_names=p.data.scope_names
                grant_types=p.data.grant_types algs=p.data.algs defaults=p.data.new_client
                ttl_hints=p.data.ttl_hints auth_methods=p.data.auth_methods
                            apis=p.data.apis fapi_rules=p.data.fapi_rules/>
        </section>
        <GrantsCard grants=p.data.grants csrf=p.csrf.clone() back=back.clone() of_client=true/>
        <ClientDangerCard client=c csrf=p.csrf confirm/>
    }
    .into_any()
}

/// A secret shown once: selectable, with a copy button once the page is hydrated.
#[component]
pub(super) fn SecretBox(secret: String) -> impl IntoView {
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
pub(super) fn ClientForm(
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
    /// The authentication methods a confidential client may choose.
    auth_methods: Vec<String>,
    /// The registered APIs' identifiers, as a hint for the allowed APIs.
    apis: Vec<String>,
    /// What the FAPI 2.0 switch enforces, one line each.
    fapi_rules: Vec<String>,
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
    let resources = flash.value("resources", &c.resources.join("\n"));
    let resources_hint = format!(
        "One API identifier per line (RFC 8707 resource); empty: the sample resource only. Registered: {}.",
        apis.join(" ")
    );
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
                    let name = crate::api::admin::clients::grant_field(&g);
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
            <div class="field">
                <label class="check"><input type="checkbox" name="require_pushed_authorization_requests"
                    id="require_pushed_authorization_requests"
                    checked=flash.checked("require_pushed_authorization_requests", c.require_pushed_authorization_requests)/>
                    "Require pushed authorization requests (PAR)"</label>
                <p class="hint">"The client must POST its request to /par first; a plain /authorize is refused (RFC 9126)."</p>
                <label class="check"><input type="checkbox" name="dpop_bound_access_tokens" id="dpop_bound_access_tokens"
                    checked=flash.checked("dpop_bound_access_tokens", c.dpop_bound_access_tokens)/>
                    "Require DPoP (sender-constrained tokens)"</label>
                <p class="hint">"Every token request must carry a DPoP proof (RFC 9449); access tokens are bound to the client's key."</p>
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
            <fieldset class="field">
                <legend>"Client authentication and keys"</legend>
                <AlgSelect name="token_endpoint_auth_method" label="Authentication method (confidential clients)"
                    options=auth_methods value=flash.value("token_endpoint_auth_method", &c.token_endpoint_auth_method)
                    error=flash.error("token_endpoint_auth_method")/>
                <TextArea name="jwks" label="Public keys: JWK Set (optional)" value=flash.value("jwks", &c.jwks)
                    error=flash.error("jwks")
                    hint="JSON {\"keys\": [...]}: public RSA, EC P-256 or Ed25519 keys only. For private_key_jwt and signed request objects."/>
                <Field name="jwks_uri" label="Public keys: JWKS URI (optional)" kind="url"
                    value=flash.value("jwks_uri", &c.jwks_uri) error=flash.error("jwks_uri")
                    hint="Where the client publishes its JWK Set (https). Either this or a JWK Set, not both."/>
                <label class="check"><input type="checkbox" name="require_signed_request_object"
                    checked=flash.checked("require_signed_request_object", c.require_signed_request_object)/>
                    "Require signed request objects (RFC 9101)"</label>
                {flash.error("require_signed_request_object").map(|e| view! { <p class="field-error">{e}</p> })}
            </fieldset>
            <TextArea name="resources" label="Allowed APIs" value=resources error=flash.error("resources")
                hint=resources_hint/>
            <fieldset class="field" data-testid="fapi2">
                <legend>"FAPI 2.0 Security Profile"</legend>
                <label class="check"><input type="checkbox" name="fapi2" id="fapi2"
                    checked=flash.checked("fapi2", c.fapi2)/>"Enforce FAPI 2.0 for this client"</label>
                {flash.error("fapi2").map(|e| view! { <p class="field-error" id="fapi2-error">{e}</p> })}
                <p class="hint">"When on, Tessera enforces (OpenID FAPI 2.0 Security Profile, final); set the authentication method, keys and algorithms above to match:"</p>
                <ul class="hint fapi-rules">
                    {fapi_rules.into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}
                </ul>
            </fieldset>
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
pub(super) fn ClientDangerCard(client: ClientView, csrf: String, confirm: bool) -> impl IntoView {
    let path = format!("/admin/clients/{}", client.client_id);
    // A private_key_jwt client has no secret to rotate.
    let rotate = (!client.is_public && client.token_endpoint_auth_method != "private_key_jwt").then(|| {
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
