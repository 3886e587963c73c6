//! The device flow's pages (RFC 8628 §3.3): `/device`, where the user types the code the
//! device shows; `/device/confirm`, which names the app and what it asks for and warns
//! about codes sent by someone else; `/device/done` and `/device/denied`. Plain form posts
//! to the `device` server functions, with the session's CSRF token.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::device::device_info;
use crate::api::sign_in::session_info;
use crate::pages::consent::{ApiList, ScopeList};

fn error_text(code: &str, retry: Option<u64>) -> String {
    match code {
        "expired" => "This page expired, or the code is no longer valid. Enter the code again.".to_owned(),
        "used" => "This code was already used. Start again on your device to get a new one.".to_owned(),
        "throttled" => match retry.unwrap_or(1) {
            1 => "Too many wrong codes. Try again in 1 second.".to_owned(),
            n => format!("Too many wrong codes. Try again in {n} seconds."),
        },
        _ => "That code is not valid. Check it on your device and try again.".to_owned(),
    }
}

#[component]
pub fn DevicePage() -> impl IntoView {
    let query = use_query_map();
    let info = Resource::new(|| (), |_| session_info());
    let code = move || query.with(|q| q.get("user_code").unwrap_or_default());
    let error = move || {
        query.with(|q| {
            let retry = q.get("retry").and_then(|r| r.parse::<u64>().ok());
            q.get("error").map(|e| error_text(&e, retry))
        })
    };
    view! {
        <section class="card narrow">
            <h1>"Connect a device"</h1>
            <p>"Enter the code shown on your TV, console or command line."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let csrf = info.await.map(|i| i.csrf).unwrap_or_default();
                    view! {
                        <form method="post" action="/ui/device/verify" class="stack">
                            {move || error().map(|text| view! {
                                <p class="error" role="alert" id="device-error">{text}</p>
                            })}
                            <input type="hidden" name="csrf" value=csrf/>
                            <label for="user_code">"Code"</label>
                            <input id="user_code" name="user_code" type="text" required autofocus
                                autocomplete="off" autocapitalize="characters" spellcheck="false"
                                maxlength="32" placeholder="XXXX-XXXX" value=code
                                aria-describedby=move || error().map(|_| "device-error")/>
                            <button type="submit" class="button">"Continue"</button>
                        </form>
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn DeviceConfirmPage() -> impl IntoView {
    let query = use_query_map();
    let info = Resource::new(|| (), |_| session_info());
    let device = Resource::new(|| (), |_| device_info());
    let expired = move || query.with(|q| q.get("error")).is_some();
    view! {
        <section class="card narrow consent">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let csrf = info.await.map(|i| i.csrf).unwrap_or_default();
                    match device.await {
                        Ok(Some(d)) => {
                            let signed_in = d.username.is_some();
                            let who = d.username.clone().unwrap_or_default();
                            view! {
                                <div class="consent-head">
                                    {d.client_logo.clone().map(|src| view! {
                                        <img class="client-logo" src=src alt="" width="48" height="48"/>
                                    })}
                                    <h1><span data-testid="client-name">{d.client_name.clone()}</span>
                                        " on a device wants to access your account"</h1>
                                </div>
                                // RFC 8628 §5.4: the code may have been sent by an attacker
                                // who started the flow on their own device.
                                <p class="error" role="alert" data-testid="device-warning">
                                    <strong>"Only continue if you started this yourself, on a device you have with you. "</strong>
                                    "If someone sent you this code, or asked you to enter it, choose Deny: "
                                    "allowing would give them access to your account."
                                </p>
                                {move || expired().then(|| view! {
                                    <p class="error" role="alert">"Your session expired. Please decide again."</p>
                                })}
                                <p>"Code " <code data-testid="user-code-hint">{d.user_code_hint.clone()}</code>
                                    ". If you allow it, " {d.client_name.clone()} " will be able to:"</p>
                                <ScopeList scopes=d.scopes/>
                                <ApiList apis=d.apis/>
                                {if signed_in {
                                    view! {
                                        <p class="signed-in-as">"Signed in as " <strong>{who}</strong></p>
                                        <form method="post" action="/ui/device/decide" class="consent-actions">
                                            <input type="hidden" name="csrf" value=csrf/>
                                            <button type="submit" name="decision" value="deny" class="button secondary">"Deny"</button>
                                            <button type="submit" name="decision" value="allow" class="button">"Allow"</button>
                                        </form>
                                    }.into_any()
                                } else {
                                    view! {
                                        <p><a class="button" href="/login?next=/device/confirm">"Sign in to continue"</a></p>
                                    }.into_any()
                                }}
                            }.into_any()
                        }
                        _ => view! {
                            <h1>"This code is no longer valid"</h1>
                            <p>"It expired or was already used. "
                                <a href="/device">"Enter a code"</a> " again, or start again on your device."</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn DeviceDonePage() -> impl IntoView {
    view! {
        <section class="card narrow">
            <h1>"You can go back to your device"</h1>
            <p data-testid="device-done">"The device is being signed in. You can close this page."</p>
        </section>
    }
}

#[component]
pub fn DeviceDeniedPage() -> impl IntoView {
    view! {
        <section class="card narrow">
            <h1>"Access denied"</h1>
            <p data-testid="device-denied">"The device was not given access to your account. You can close this page."</p>
        </section>
    }
}
