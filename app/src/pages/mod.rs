//! One module per page.

pub mod account;
pub mod admin;
pub mod consent;
pub mod demo;
pub mod device;
pub mod home;
pub mod login;

use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="card">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <a href="/">"Go to the start page"</a>"."</p>
        </section>
    }
}
