//! `/admin/registration`: dynamic client registration (RFC 7591) — the mode and open
//! mode's scopes, and the initial access tokens (a new one's value shown once, revoking).

use leptos::prelude::*;

use super::form::{AlgSelect, FlashLines};
use super::{gated, AdminNav};
use crate::api::admin::registration::{admin_registration, RegistrationPage, TokenView};
use crate::api::admin::AdminPage;
use crate::components::{CopyButton, Field};

#[component]
pub fn AdminRegistrationPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| admin_registration());
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                gated(data.await, "/admin/registration".into(), registration_page)
            })}
        </Suspense>
    }
}

fn registration_page(p: AdminPage<RegistrationPage>) -> AnyView {
    let d = p.data.clone();
    let scope_hint = format!("Space-separated. Available: {}.", d.scope_names.join(" "));
    let modes = vec!["off".to_owned(), "token".to_owned(), "open".to_owned()];
    view! {
        <AdminNav active="registration"/>
        <section class="card">
            <h1>"Dynamic client registration"</h1>
            <p class="lead-small">"Software may register itself as a client at "<code>"POST /register"</code>
                " (RFC 7591) and manage its registration (RFC 7592). "
                <strong>"off"</strong>": no endpoint. "
                <strong>"token"</strong>": only with an initial access token created below. "
                <strong>"open"</strong>": anyone may register a public client with the open scopes (at most "
                {d.open_cap}" such clients) — for local development and public clients only. Clients never "
                "issued a token are removed after "{d.unused_days}" days (serve --registration-unused-ttl)."</p>
            <FlashLines flash=p.flash.clone()/>
            {p.flash.secret.clone().map(|value| {
                let copy = value.clone();
                view! {
                    <div class="secret-box" data-testid="new-initial-token">
                        <p><strong>"Initial access token"</strong>
                            " — copy it now. It is shown only this once; Tessera keeps only its hash."</p>
                        <div class="secret-row">
                            <input type="text" readonly aria-label="Initial access token" value=value
                                data-testid="initial-token" class="secret"/>
                            <CopyButton value=copy/>
                        </div>
                    </div>
                }
            })}
            <form method="post" action="/ui/admin/registration/mode" class="admin-form" data-testid="mode-form">
                <input type="hidden" name="csrf" value=p.csrf.clone()/>
                <div class="field-row">
                    <AlgSelect name="mode" label="Mode" options=modes
                        value=p.flash.value("mode", &d.mode) error=p.flash.error("mode")/>
                    <Field name="open_scopes" label="Scopes in open mode" value=p.flash.value("open_scopes", &d.open_scopes)
                        error=p.flash.error("open_scopes") hint=scope_hint.clone()/>
                </div>
                <div class="form-actions"><button type="submit" class="button">"Save"</button></div>
            </form>
            <p class="muted">{d.dynamic_clients}" client(s) registered dynamically. "
                <a href="/admin/clients?kind=dynamic">"See them"</a></p>
        </section>
        <section class="card">
            <h2>"Initial access tokens"</h2>
            <TokenTable tokens=d.tokens.clone() csrf=p.csrf.clone()/>
            <h3>"New token"</h3>
            <form method="post" action="/ui/admin/registration/tokens/create" class="admin-form" data-testid="token-form">
                <input type="hidden" name="csrf" value=p.csrf.clone()/>
                <Field name="description" label="Description" value=p.flash.value("description", "")
                    error=p.flash.error("description") hint="Who or what it is for."/>
                <Field name="scopes" label="Scopes" value=p.flash.value("scopes", "openid profile email offline_access")
                    error=p.flash.error("scopes") hint=scope_hint/>
                <div class="field-row">
                    <Field name="uses" label="Uses" kind="number" value=p.flash.value("uses", "1")
                        error=p.flash.error("uses") hint="How many clients it may register."/>
                    <Field name="expires_in" label="Expires in" value=p.flash.value("expires_in", "1d")
                        error=p.flash.error("expires_in") hint="Seconds, or e.g. 30m, 12h, 7d (at most 365d)."/>
                </div>
                <label class="check"><input type="checkbox" name="confidential" value="on"/>
                    " May register confidential clients (a secret or private_key_jwt)"</label>
                <div class="form-actions"><button type="submit" class="button">"Create token"</button></div>
            </form>
        </section>
    }
    .into_any()
}

#[component]
fn TokenTable(tokens: Vec<TokenView>, csrf: String) -> impl IntoView {
    if tokens.is_empty() {
        return view! { <p class="empty">"No initial access tokens yet."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="admin-table" data-testid="initial-tokens">
                <thead><tr><th>"Id"</th><th>"Description"</th><th>"Scopes"</th><th>"Confidential"</th>
                    <th>"Uses left"</th><th>"Expires"</th><th>"State"</th><th>"Clients"</th><th></th></tr></thead>
                <tbody>
                    {tokens.into_iter().map(|t| {
                        let revocable = t.state != "revoked";
                        let csrf = csrf.clone();
                        let id = t.id.clone();
                        view! {
                            <tr data-testid="initial-token-row">
                                <td><code>{t.id}</code></td>
                                <td>{t.description}</td>
                                <td>{t.scopes}</td>
                                <td>{if t.confidential { "yes" } else { "no" }}</td>
                                <td>{format!("{} of {}", t.uses_left, t.uses_total)}</td>
                                <td class="nowrap">{t.expires}</td>
                                <td>{t.state}</td>
                                <td>{t.clients}</td>
                                <td>{revocable.then(|| view! {
                                    <form method="post" action="/ui/admin/registration/tokens/revoke" class="inline-form">
                                        <input type="hidden" name="csrf" value=csrf/>
                                        <input type="hidden" name="id" value=id/>
                                        <button type="submit" class="button secondary">"Revoke"</button>
                                    </form>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
