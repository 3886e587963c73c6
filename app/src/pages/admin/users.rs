//! `/admin/users`, `/admin/users/new` and `/admin/users/:id`: search, create, and one
//! user's actions (reset password, disable, administrator).

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::form::FlashLines;
use super::grants::GrantsCard;
use super::{gated, AdminNav};
use crate::api::admin::users::{admin_user, admin_users, UserDetail, UserView};
use crate::api::admin::{AdminPage, Flash};
use crate::components::Field;

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.with(|m| m.get("q").unwrap_or_default());
    let data = Resource::new(q, admin_users);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let current = q();
                gated(data.await, "/admin/users".into(), move |p| view! {
                    <AdminNav active="users"/>
                    <section class="card">
                        <div class="card-head">
                            <h1>"Users"</h1>
                            <a class="button" href="/admin/users/new">"New user"</a>
                        </div>
                        <FlashLines flash=p.flash/>
                        <form method="get" action="/admin/users" class="search" role="search">
                            <input type="search" name="q" value=current aria-label="Search users"
                                placeholder="Username, name or email"/>
                            <button type="submit" class="button secondary">"Search"</button>
                        </form>
                        <UserTable users=p.data/>
                    </section>
                }.into_any())
            })}
        </Suspense>
    }
}

#[component]
pub(super) fn UserTable(users: Vec<UserView>) -> impl IntoView {
    if users.is_empty() {
        return view! { <p class="empty">"No users found."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="admin-table" data-testid="users">
                <thead><tr><th>"Username"</th><th>"Name"</th><th>"Email"</th><th>"Status"</th><th>"Created"</th></tr></thead>
                <tbody>
                    {users.into_iter().map(|u| view! {
                        <tr data-testid="user-row">
                            <td><a href=format!("/admin/users/{}", u.id)>{u.username}</a></td>
                            <td>{u.name}</td>
                            <td>{u.email}</td>
                            <td><UserBadges admin=u.is_admin disabled=u.disabled/></td>
                            <td class="nowrap">{u.created}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
pub(super) fn UserBadges(admin: bool, disabled: bool) -> impl IntoView {
    view! {
        {admin.then(|| view! { <span class="tag tag-strong">"Admin"</span> })}
        {disabled.then(|| view! { <span class="tag tag-danger">"Disabled"</span> })}
        {(!admin && !disabled).then(|| view! { <span class="tag">"User"</span> })}
    }
}

#[component]
pub fn AdminUserNewPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| admin_user(String::new()));
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                gated(data.await, "/admin/users/new".into(), |p| {
                    let f = p.flash;
                    view! {
                        <AdminNav active="users"/>
                        <section class="card">
                            <h1>"New user"</h1>
                            <FlashLines flash=f.clone()/>
                            <form method="post" action="/ui/admin/users/create" class="admin-form" data-testid="user-form">
                                <input type="hidden" name="csrf" value=p.csrf/>
                                <Field name="username" label="Username" value=f.value("username", "")
                                    error=f.error("username") required=true
                                    hint="Letters, digits, '.', '_', '-' or '@'; case does not matter."/>
                                <Field name="name" label="Name (optional)" value=f.value("name", "") error=f.error("name")/>
                                <Field name="email" label="Email (optional)" kind="email" value=f.value("email", "")
                                    error=f.error("email")/>
                                <Field name="password" label="Password" kind="password" value=String::new()
                                    error=f.error("password") required=true hint=p.data.password_hint/>
                                <label class="check"><input type="checkbox" name="is_admin"
                                    checked=f.checked("is_admin", false)/>"Administrator"</label>
                                <div class="form-actions">
                                    <button type="submit" class="button">"Create user"</button>
                                    <a class="button secondary" href="/admin/users">"Cancel"</a>
                                </div>
                            </form>
                        </section>
                    }
                    .into_any()
                })
            })}
        </Suspense>
    }
}

#[component]
pub fn AdminUserPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let data = Resource::new(id, admin_user);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                gated(data.await, format!("/admin/users/{}", id()), user_page)
            })}
        </Suspense>
    }
}

pub(super) fn user_page(p: AdminPage<UserDetail>) -> AnyView {
    let Some(u) = p.data.user else {
        return view! {
            <AdminNav active="users"/>
            <section class="card"><h1>"No such user"</h1><FlashLines flash=p.flash/>
                <p><a href="/admin/users">"← All users"</a></p></section>
        }
        .into_any();
    };
    let back = format!("/admin/users/{}", u.id);
    view! {
        <AdminNav active="users"/>
        <section class="card">
            <h1 data-testid="user-title">{u.username.clone()}</h1>
            <FlashLines flash=p.flash.clone()/>
            <dl class="facts">
                <dt>"Name"</dt><dd>{if u.name.is_empty() { "—".to_owned() } else { u.name.clone() }}</dd>
                <dt>"Email"</dt><dd>{if u.email.is_empty() { "—".to_owned() } else { u.email.clone() }}</dd>
                <dt>"Status"</dt><dd data-testid="user-status"><UserBadges admin=u.is_admin disabled=u.disabled/></dd>
                <dt>"Created"</dt><dd>{u.created.clone()}</dd>
            </dl>
            <UserActions user=u csrf=p.csrf.clone() flash=p.flash is_self=p.data.is_self
                password_hint=p.data.password_hint/>
        </section>
        <GrantsCard grants=p.data.grants csrf=p.csrf back of_client=false/>
    }
    .into_any()
}

#[component]
pub(super) fn UserActions(
    user: UserView,
    csrf: String,
    flash: Flash,
    is_self: bool,
    password_hint: String,
) -> impl IntoView {
    let toggle = |action: &'static str, field: &'static str, value: bool, label: &'static str, class: &'static str| {
        view! {
            <form method="post" action=action class="inline-form">
                <input type="hidden" name="csrf" value=csrf.clone()/>
                <input type="hidden" name="user_id" value=user.id.clone()/>
                <input type="hidden" name=field value=value.to_string()/>
                <button type="submit" class=class>{label}</button>
            </form>
        }
    };
    let disable = if user.disabled {
        toggle(
            "/ui/admin/users/disabled",
            "disabled",
            false,
            "Enable user",
            "button secondary",
        )
        .into_any()
    } else if is_self {
        ().into_any()
    } else {
        toggle(
            "/ui/admin/users/disabled",
            "disabled",
            true,
            "Disable user",
            "button danger",
        )
        .into_any()
    };
    let admin = if !user.is_admin {
        toggle(
            "/ui/admin/users/admin",
            "admin",
            true,
            "Make administrator",
            "button secondary",
        )
        .into_any()
    } else if is_self {
        ().into_any()
    } else {
        toggle(
            "/ui/admin/users/admin",
            "admin",
            false,
            "Revoke administrator",
            "button secondary",
        )
        .into_any()
    };
    view! {
        <div class="row-actions">{disable}{admin}</div>
        <h2>"Reset password"</h2>
        <form method="post" action="/ui/admin/users/password" class="admin-form">
            <input type="hidden" name="csrf" value=csrf.clone()/>
            <input type="hidden" name="user_id" value=user.id.clone()/>
            <Field name="password" label="New password" kind="password" value=String::new()
                error=flash.error("password") required=true hint=password_hint/>
            <div class="form-actions"><button type="submit" class="button">"Reset password"</button></div>
        </form>
    }
    .into_any()
}
