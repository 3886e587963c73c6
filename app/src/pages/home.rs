//! The start page: what Tessera is, who is signed in, and a live status check.

use leptos::prelude::*;

use crate::api::{server_status, session_info, StatusView};

#[component]
pub fn HomePage() -> impl IntoView {
    let info = Resource::new(|| (), |_| session_info());
    let status = Action::new(|_: &()| server_status());

    view! {
        <section class="hero">
            <h1>"Tessera"</h1>
            <p class="lead">
                "An OAuth 2.0 and OpenID Connect authorization server: it signs people in and hands "
                "your applications tokens they can trust."
            </p>
        </section>
        <section class="card">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match info.await {
                        Ok(info) => match info.username {
                            Some(name) => view! {
                                <p data-testid="signed-in">"Signed in as " <strong>{name}</strong></p>
                                <form method="post" action="/ui/logout" class="inline-form">
                                    <input type="hidden" name="csrf" value=info.csrf/>
                                    <button type="submit" class="button secondary">"Sign out"</button>
                                </form>
                            }.into_any(),
                            None => view! {
                                <p>"You are not signed in."</p>
                                <a class="button" href="/login">"Sign in"</a>
                            }.into_any(),
                        },
                        Err(_) => view! { <p role="alert">"The session could not be read."</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        <section class="card">
            <h2>"Server status"</h2>
            <button type="button" class="button secondary" on:click=move |_| { status.dispatch(()); }>
                "Check server status"
            </button>
            <p data-testid="status" aria-live="polite">
                {move || match status.value().get() {
                    None if status.pending().get() => "Checking…".to_owned(),
                    None => String::new(),
                    Some(Ok(StatusView { database, ready })) => {
                        format!("database: {database} · {}", if ready { "ready" } else { "not reachable" })
                    }
                    Some(Err(e)) => format!("status check failed: {e}"),
                }}
            </p>
        </section>
    }
}
