//! The grants card of a client or user page: consents and token families, each revocable.

use leptos::prelude::*;

use crate::api::admin::grants::Grants;

/// Active consents and refresh-token families of one client (`of_client`) or one user.
#[component]
pub(super) fn GrantsCard(grants: Grants, csrf: String, back: String, of_client: bool) -> impl IntoView {
    let who = if of_client { "User" } else { "Client" };
    let consents = grants
        .consents
        .into_iter()
        .map(|g| GrantRow {
            label: if of_client { g.username } else { g.client_name },
            scopes: g.scopes,
            when: g.granted,
            fields: vec![("user_id", g.user_id), ("client_id", g.client_id)],
        })
        .collect();
    let families = grants
        .families
        .into_iter()
        .map(|f| GrantRow {
            label: if of_client { f.username } else { f.client_name },
            scopes: f.scopes,
            when: f.created,
            fields: vec![("family_id", f.family_id)],
        })
        .collect();
    let consents = GrantTable {
        testid: "consents",
        empty: "No consents.",
        headers: [who, "Granted"],
        action: "/ui/admin/grants/consent",
        what: "consent",
    }
    .view(consents, &csrf, &back);
    let families = GrantTable {
        testid: "families",
        empty: "No active refresh tokens.",
        headers: [who, "Since"],
        action: "/ui/admin/grants/family",
        what: "refresh token",
    }
    .view(families, &csrf, &back);
    view! {
        <section class="card" data-testid="grants">
            <h2>"Grants"</h2>
            <h3>"Consents"</h3>
            {consents}
            <h3>"Refresh tokens"</h3>
            {families}
        </section>
    }
    .into_any()
}

/// One revocable grant: whose, its scopes, since when, and what its Revoke form posts.
pub(super) struct GrantRow {
    label: String,
    scopes: String,
    when: String,
    fields: Vec<(&'static str, String)>,
}

/// A table of revocable grants (consents, or refresh-token families).
pub(super) struct GrantTable {
    testid: &'static str,
    empty: &'static str,
    /// The first column (User or Client) and the date column.
    headers: [&'static str; 2],
    action: &'static str,
    /// For the Revoke button's label: "Revoke {what} of {label}".
    what: &'static str,
}

impl GrantTable {
    fn view(self, rows: Vec<GrantRow>, csrf: &str, back: &str) -> AnyView {
        if rows.is_empty() {
            return view! { <p class="empty">{self.empty}</p> }.into_any();
        }
        let [who, when] = self.headers;
        let (action, what) = (self.action, self.what);
        let rows = rows
            .into_iter()
            .map(|r| {
                let aria = format!("Revoke {what} of {}", r.label);
                view! {
                    <tr>
                        <td>{r.label}</td>
                        <td><code>{r.scopes}</code></td>
                        <td class="nowrap">{r.when}</td>
                        <td class="actions">
                            <form method="post" action=action class="inline-form">
                                <input type="hidden" name="csrf" value=csrf.to_owned()/>
                                {r.fields.into_iter().map(|(name, value)| view! {
                                    <input type="hidden" name=name value=value/>
                                }).collect_view()}
                                <input type="hidden" name="back" value=back.to_owned()/>
                                <button type="submit" class="button danger small" aria-label=aria>"Revoke"</button>
                            </form>
                        </td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="table-wrap">
                <table class="admin-table" data-testid=self.testid>
                    <thead><tr><th>{who}</th><th>"Scopes"</th><th>{when}</th><th></th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    }
}
