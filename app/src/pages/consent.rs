//! The consent screen: which app asks, for what, on whose behalf — and Allow or Deny.
//! A plain form post to the `consent` server function, with the session's CSRF token.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::sign_in::{pending_info, session_info};

#[component]
pub fn ConsentPage() -> impl IntoView {
    let query = use_query_map();
    let request = move || query.with(|q| q.get("request").unwrap_or_default());
    let info = Resource::new(|| (), |_| session_info());
    let pending = Resource::new(request, pending_info);
    let expired = move || query.with(|q| q.get("error")).is_some();

    view! {
        <section class="card narrow consent">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let csrf = info.await.map(|i| i.csrf).unwrap_or_default();
                    match pending.await {
                        Ok(Some(p)) => {
                            let who = p.username.clone().unwrap_or_default();
                            view! {
                                <div class="consent-head">
                                    {p.client_logo.clone().map(|src| view! {
                                        <img class="client-logo" src=src alt="" width="48" height="48"/>
                                    })}
                                    <h1><span data-testid="client-name">{p.client_name.clone()}</span>
                                        " wants to access your account"</h1>
                                </div>
                                {p.client_host.clone().map(|host| view! {
                                    <p class="client-host" data-testid="client-host">"From "
                                        <strong class="client-host-name">{host}</strong>
                                        ". The app's name and logo are what it says about itself; this address is where it is published. Continue only if you trust it."</p>
                                })}
                                {move || expired().then(|| view! {
                                    <p class="error" role="alert">"Your session expired. Please decide again."</p>
                                })}
                                <p>"If you allow it, " {p.client_name.clone()} " will be able to:"</p>
                                <ScopeList scopes=p.scopes/>
                                <ApiList apis=p.apis/>
                                <p class="signed-in-as">"Signed in as " <strong>{who}</strong> " · "
                                    <a href=format!("/login?request={}", request())>"Not you?"</a></p>
                                <form method="post" action="/ui/consent" class="consent-actions">
                                    <input type="hidden" name="csrf" value=csrf/>
                                    <input type="hidden" name="request" value=request/>
                                    <button type="submit" name="decision" value="deny" class="button secondary">"Deny"</button>
                                    <button type="submit" name="decision" value="allow" class="button">"Allow"</button>
                                </form>
                            }.into_any()
                        }
                        _ => view! {
                            <h1>"This request has expired"</h1>
                            <p>"Go back to the application and start again."</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// Scopes as the user reads them: what each allows, then its name. The consent page, the
/// device flow's confirmation and My apps show them alike.
#[component]
pub fn ScopeList(scopes: Vec<crate::api::sign_in::ScopeView>) -> impl IntoView {
    view! {
        <ul class="scopes" data-testid="scopes">
            {scopes.into_iter().map(|s| view! {
                <li><span class="scope-desc">{s.description}</span>
                    " " <code class="scope-name">{s.name}</code></li>
            }).collect_view()}
        </ul>
    }
}

/// RFC 8707: the APIs a request asks tokens for, by name and identifier; nothing when it
/// names none. Shared with the device flow's confirmation page.
#[component]
pub fn ApiList(apis: Vec<crate::api::sign_in::ApiView>) -> impl IntoView {
    (!apis.is_empty()).then(|| {
        view! {
            <p class="apis" data-testid="apis">"For use at: "
                {apis.into_iter().map(|a| view! {
                    <span class="api"><strong class="api-name">{a.name}</strong>
                        " (" <code class="api-identifier">{a.identifier}</code> ") "</span>
                }).collect_view()}
            </p>
        }
    })
}
