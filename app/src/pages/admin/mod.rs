//! The admin console: `/admin` (overview), clients, scopes, users and their grants, the
//! audit log.
//! Administrators only: anyone signed out is sent to the login and back, a signed-in
//! non-administrator gets 403. Plain form posts to the server functions in `api::admin`,
//! which answer with a redirect and a one-time flash (field errors, a new secret).
//!
//! One module per resource ([`clients`], [`scopes`], [`apis`], [`users`], and the [`grants`] card
//! both client and user pages show), the read-only [`audit`] log, the form pieces they
//! share in [`form`].

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::api::admin::{admin_overview, AdminPage, Gate};

mod apis;
mod audit;
mod clients;
mod devices;
use form::FlashLines;
mod form;
mod grants;
mod registration;
mod scopes;
mod users;

pub use apis::{AdminApiPage, AdminApisPage};
pub use audit::AdminAuditPage;
pub use clients::{AdminClientNewPage, AdminClientPage, AdminClientsPage};
pub use devices::AdminDevicesPage;
pub use registration::AdminRegistrationPage;
pub use scopes::AdminScopesPage;
pub use users::{AdminUserNewPage, AdminUserPage, AdminUsersPage};

/// Renders a loaded admin page, or the login redirect, or 403.
pub(super) fn gated<T>(
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
pub(super) fn Forbidden() -> impl IntoView {
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
pub(super) fn AdminNav(active: &'static str) -> impl IntoView {
    let links = [
        ("overview", "/admin", "Overview"),
        ("clients", "/admin/clients", "Clients"),
        ("scopes", "/admin/scopes", "Scopes"),
        ("apis", "/admin/apis", "APIs"),
        ("registration", "/admin/registration", "Registration"),
        ("users", "/admin/users", "Users"),
        ("audit", "/admin/audit", "Audit log"),
        ("devices", "/admin/devices", "Devices"),
    ];
    view! {
        <nav class="admin-nav" aria-label="Admin console">
            {links.into_iter().map(|(key, href, label)| view! {
                <a href=href aria-current=(key == active).then_some("page")>{label}</a>
            }).collect_view()}
        </nav>
    }
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
