//! Tessera's user interface: server-rendered Leptos pages that hydrate in the browser.
//!
//! # Layout
//! - [`shell`] and [`App`]: the HTML document and the routes.
//! - `pages/`: one module per page (home, login, consent, account, demo, and `admin/`
//!   split by resource).
//! - `components`: pieces more than one page uses (the copy button, labelled fields).
//! - [`api`]: the server functions the pages call, one module per area (`sign_in`,
//!   `home`, `account`, `demo`, and `admin/` split by resource: clients, scopes, users,
//!   grants, audit), adapting the sign-in layer (`tessera_services`) and the store.
//! - `server` (ssr only): what the server functions need from the host — the store, the
//!   session, CSRF checks, authentication.

pub mod api;
mod components;
mod pages;
#[cfg(feature = "ssr")]
pub mod server;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::{path, SsrMode};

/// The HTML document every page is rendered into.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    server::set_page_security_headers();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Only runs in the browser, after hydration: end-to-end tests wait for this marker.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/tessera.css"/>
        <Title text="Tessera"/>
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true"></span>
                    "Tessera"
                </A>
                <TopNav/>
            </header>
            <main class="page">
                <Routes fallback=pages::NotFound>
                    <Route path=path!("/") view=pages::home::HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=pages::login::LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/consent") view=pages::consent::ConsentPage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=pages::account::AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/apps") view=pages::account::MyAppsPage ssr=SsrMode::Async/>
                    <Route path=path!("/demo") view=pages::demo::DemoPage ssr=SsrMode::Async/>
                    <Route path=path!("/device") view=pages::device::DevicePage ssr=SsrMode::Async/>
                    <Route path=path!("/device/confirm") view=pages::device::DeviceConfirmPage ssr=SsrMode::Async/>
                    <Route path=path!("/device/done") view=pages::device::DeviceDonePage ssr=SsrMode::Async/>
                    <Route path=path!("/device/denied") view=pages::device::DeviceDeniedPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view=pages::admin::AdminHomePage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/clients") view=pages::admin::AdminClientsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/clients/new") view=pages::admin::AdminClientNewPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/clients/:id") view=pages::admin::AdminClientPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/scopes") view=pages::admin::AdminScopesPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/apis") view=pages::admin::AdminApisPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/api") view=pages::admin::AdminApiPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users") view=pages::admin::AdminUsersPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users/new") view=pages::admin::AdminUserNewPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users/:id") view=pages::admin::AdminUserPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/audit") view=pages::admin::AdminAuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/devices") view=pages::admin::AdminDevicesPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/registration") view=pages::admin::AdminRegistrationPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// The top bar's links: the admin console for administrators, the demo, the apps a user
/// allowed, their account. Who is signed in is read again on every navigation (signing in
/// or out changes it).
#[component]
fn TopNav() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let nav = Resource::new(move || location.pathname.get(), |_| api::home::nav_info());
    view! {
        <nav class="topnav" aria-label="Main">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let nav = nav.await.ok();
                    let is_admin = nav.as_ref().is_some_and(|n| n.is_admin);
                    let demo = nav.as_ref().is_some_and(|n| n.demo);
                    view! {
                        {is_admin.then(|| view! { <A href="/admin">"Admin"</A> })}
                        {demo.then(|| view! { <A href="/demo">"Demo"</A> })}
                    }
                })}
            </Suspense>
            <A href="/account/apps">"My apps"</A>
            <A href="/account" exact=true>"My account"</A>
        </nav>
    }
}

/// Called by the `tessera-frontend` WASM bundle.
#[cfg(feature = "hydrate")]
pub fn hydrate() {
    leptos::mount::hydrate_body(App);
}
