//! Sign in. A plain HTML form posted to the `login` server function: it works before
//! the WASM has loaded and after, and the browser's password manager understands it.
//! With `?request=ID` it is a step of an authorization request and names the app.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::sign_in::{pending_info, session_info};

fn error_text(code: &str, retry: Option<u64>) -> String {
    match code {
        "expired" => "Your session expired. Please sign in again.".to_owned(),
        "throttled" => match retry.unwrap_or(1) {
            1 => "Too many failed attempts. Try again in 1 second.".to_owned(),
            n => format!("Too many failed attempts. Try again in {n} seconds."),
        },
        "busy" => "The server is busy checking other sign-ins. Try again in a moment.".to_owned(),
        _ => "Wrong username or password.".to_owned(),
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let request = move || query.with(|q| q.get("request").unwrap_or_default());
    let info = Resource::new(|| (), |_| session_info());
    let pending = Resource::new(request, |id| async move {
        if id.is_empty() {
            Ok(None)
        } else {
            pending_info(id).await
        }
    });
    let next = move || query.with(|q| q.get("next").unwrap_or_else(|| "/".to_owned()));
    let error = move || {
        query.with(|q| {
            let retry = q.get("retry").and_then(|r| r.parse::<u64>().ok());
            q.get("error").map(|code| error_text(&code, retry))
        })
    };
    let username = move || query.with(|q| q.get("login_hint").unwrap_or_default());

    view! {
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let csrf = info.await.map(|i| i.csrf).unwrap_or_default();
                    let pending = pending.await.ok().flatten();
                    view! {
                        {pending.map(|p| view! {
                            <p class="context" data-testid="login-context">
                                "to continue to " <strong>{p.client_name}</strong>
                            </p>
                        })}
                        <form method="post" action="/ui/login" class="stack">
                            {move || error().map(|text| view! {
                                <p class="error" role="alert" id="login-error">{text}</p>
                            })}
                            <input type="hidden" name="csrf" value=csrf/>
                            <input type="hidden" name="next" value=next/>
                            <input type="hidden" name="request" value=request/>
                            <label for="username">"Username"</label>
                            <input id="username" name="username" type="text" autocomplete="username"
                                required autofocus value=username
                                aria-describedby=move || error().map(|_| "login-error")/>
                            <label for="password">"Password"</label>
                            <input id="password" name="password" type="password"
                                autocomplete="current-password" required/>
                            <button type="submit" class="button">"Sign in"</button>
                        </form>
                    }
                })}
            </Suspense>
        </section>
    }
}
