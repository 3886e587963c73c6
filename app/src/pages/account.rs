//! `/account` (who I am, change my password, sign out) and `/account/apps` (the apps I
//! have allowed, and Revoke). Signed-in only: anyone else is sent to the login and back.
//! Plain form posts to the server functions in `api::account`, so they work without WASM.

use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::api::account::{account_info, my_apps, AccountView, AppView};
use crate::pages::consent::ScopeList;

/// What `?pw=` says after a change-password post: (field, text). The field is the input
/// the message belongs to, or "form" for the whole form.
fn password_message(code: &str) -> Option<(&'static str, &'static str)> {
    Some(match code {
        "changed" => ("ok", "Your password was changed. You were signed out everywhere else."),
        "current" => ("current", "That is not your current password."),
        "mismatch" => ("confirm", "The two new passwords do not match."),
        "short" => ("new", "Use at least 8 characters."),
        "long" => ("new", "Use at most 1024 characters."),
        "throttled" => ("form", "Too many failed attempts. Try again in a few minutes."),
        "busy" => (
            "form",
            "The server is busy checking other passwords. Try again in a moment.",
        ),
        "expired" => ("form", "Your session expired. Please try again."),
        _ => return None,
    })
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let info = Resource::new(|| (), |_| account_info());

    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match info.await {
                    Ok(Some(me)) => {
                        let csrf = me.csrf.clone();
                        let username = me.username.clone();
                        view! {
                            <AccountCard me/>
                            <PasswordCard csrf username/>
                        }
                        .into_any()
                    }
                    Ok(None) => view! { <Redirect path="/login?next=/account"/> }.into_any(),
                    Err(_) => view! {
                        <section class="card narrow"><p role="alert">"Your account could not be loaded."</p></section>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AccountCard(me: AccountView) -> impl IntoView {
    view! {
        <section class="card narrow">
            <h1>"Your account"</h1>
            <dl class="facts" data-testid="account-facts">
                <dt>"Username"</dt>
                <dd data-testid="account-username">{me.username}</dd>
                <dt>"Name"</dt>
                <dd>{me.name.unwrap_or_else(|| "—".to_owned())}</dd>
                <dt>"Email"</dt>
                <dd>{me.email.unwrap_or_else(|| "—".to_owned())}</dd>
                <dt>"Role"</dt>
                <dd>{if me.is_admin { "Administrator" } else { "User" }}</dd>
            </dl>
            <div class="row-actions">
                <a class="button secondary" href="/account/apps">"My apps"</a>
                {me.is_admin.then(|| view! { <a class="button secondary" href="/admin">"Admin console"</a> })}
                <form method="post" action="/ui/logout" class="inline-form">
                    <input type="hidden" name="csrf" value=me.csrf/>
                    <button type="submit" class="button secondary">"Sign out"</button>
                </form>
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn PasswordCard(csrf: String, username: String) -> impl IntoView {
    let query = use_query_map();
    let message = move || query.with(|q| q.get("pw")).and_then(|c| password_message(&c));
    let text_for = move |field: &'static str| message().filter(|(f, _)| *f == field).map(|(_, t)| t);

    view! {
        <section class="card narrow">
            <h2>"Change password"</h2>
            {move || text_for("ok").map(|t| view! {
                <p class="notice" role="status" data-testid="password-changed">{t}</p>
            })}
            {move || text_for("form").map(|t| view! { <p class="error" role="alert">{t}</p> })}
            <form method="post" action="/ui/account/password" class="stack">
                <input type="hidden" name="csrf" value=csrf/>
                // For password managers: which account this new password belongs to.
                <input type="text" name="username" autocomplete="username" value=username
                    class="visually-hidden" tabindex="-1" aria-hidden="true" readonly/>
                <PasswordField name="current_password" label="Current password" autocomplete="current-password"
                    error=Signal::derive(move || text_for("current"))/>
                <PasswordField name="new_password" label="New password" autocomplete="new-password"
                    error=Signal::derive(move || text_for("new"))/>
                <PasswordField name="confirm_password" label="Confirm new password" autocomplete="new-password"
                    error=Signal::derive(move || text_for("confirm"))/>
                <button type="submit" class="button">"Change password"</button>
            </form>
        </section>
    }
    .into_any()
}

/// A labelled password input with its own error line, tied together for screen readers.
#[component]
fn PasswordField(
    name: &'static str,
    label: &'static str,
    autocomplete: &'static str,
    error: Signal<Option<&'static str>>,
) -> impl IntoView {
    let error_id = format!("{name}-error");
    let described = error_id.clone();
    view! {
        <label for=name>{label}</label>
        <input id=name name=name type="password" autocomplete=autocomplete required
            aria-invalid=move || error.get().map(|_| "true")
            aria-describedby=move || error.get().map(|_| described.clone())/>
        {move || error.get().map(|t| view! { <p class="field-error" id=error_id.clone()>{t}</p> })}
    }
    .into_any()
}

#[component]
pub fn MyAppsPage() -> impl IntoView {
    let query = use_query_map();
    let revoked = move || query.with(|q| q.get("revoked").unwrap_or_default());
    let expired = move || query.with(|q| q.get("error")).is_some();
    let apps = Resource::new(revoked, my_apps);

    view! {
        <section class="card">
            <h1>"Apps you have allowed"</h1>
            <p class="lead-small">
                "These apps can act on your behalf with the permissions below. Revoke one and it loses "
                "access at once; it has to ask you again next time."
            </p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match apps.await {
                        Ok(Some(view)) => {
                            let csrf = view.csrf.clone();
                            view! {
                                {view.revoked.map(|name| view! {
                                    <p class="notice" role="status" data-testid="revoked">
                                        "Access for " <strong>{name}</strong> " was revoked."
                                    </p>
                                })}
                                {move || expired().then(|| view! {
                                    <p class="error" role="alert">"Your session expired. Please try again."</p>
                                })}
                                {if view.apps.is_empty() {
                                    view! {
                                        <p class="empty" data-testid="no-apps">"No apps have access to your account."</p>
                                    }
                                    .into_any()
                                } else {
                                    view! {
                                        <ul class="apps" data-testid="apps">
                                            {view.apps.into_iter().map(|app| view! {
                                                <AppItem app csrf=csrf.clone()/>
                                            }).collect_view()}
                                        </ul>
                                    }
                                    .into_any()
                                }}
                            }
                            .into_any()
                        }
                        Ok(None) => view! { <Redirect path="/login?next=/account/apps"/> }.into_any(),
                        Err(_) => view! { <p role="alert">"Your apps could not be loaded."</p> }.into_any(),
                    }
                })}
            </Suspense>
            <p class="back"><a href="/account">"← Your account"</a></p>
        </section>
    }
}

#[component]
fn AppItem(app: AppView, csrf: String) -> impl IntoView {
    let label = format!("Revoke access for {}", app.client_name);
    view! {
        <li class="app" data-testid="app">
            <div class="app-head">
                <div>
                    <h2 class="app-name">{app.client_name}</h2>
                    <p class="app-meta">"Allowed on " {app.granted}</p>
                </div>
                <form method="post" action="/ui/account/apps/revoke" class="inline-form">
                    <input type="hidden" name="csrf" value=csrf/>
                    <input type="hidden" name="client_id" value=app.client_id/>
                    <button type="submit" class="button danger" aria-label=label>"Revoke"</button>
                </form>
            </div>
            <ScopeList scopes=app.scopes/>
        </li>
    }
}
