//! `/admin/devices`: the device codes in flight (RFC 8628), each revocable.

use leptos::prelude::*;

use super::form::FlashLines;
use super::{gated, AdminNav};
use crate::api::admin::devices::{admin_devices, DeviceRow};

#[component]
pub fn AdminDevicesPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| admin_devices());
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                gated(data.await, "/admin/devices".into(), |p| view! {
                    <AdminNav active="devices"/>
                    <section class="card">
                        <h1>"Devices"</h1>
                        <p class="lead-small">"Device codes in flight (RFC 8628): a TV or command-line tool waiting \
                            for someone to enter its code at /device. Revoking one denies it: the device's next \
                            poll is refused."</p>
                        <FlashLines flash=p.flash.clone()/>
                        <DeviceTable rows=p.data csrf=p.csrf/>
                    </section>
                }.into_any())
            })}
        </Suspense>
    }
}

#[component]
fn DeviceTable(rows: Vec<DeviceRow>, csrf: String) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="empty">"No device codes in flight."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="admin-table" data-testid="devices">
                <thead><tr><th>"Client"</th><th>"User code"</th><th>"State"</th><th>"User"</th>
                    <th>"Expires"</th><th></th></tr></thead>
                <tbody>
                    {rows.into_iter().map(|d| {
                        let aria = format!("Revoke device code {} of {}", d.user_code, d.client_name);
                        view! {
                            <tr data-testid="device-row">
                                <td>{d.client_name}</td>
                                <td><code>{d.user_code}</code></td>
                                <td>{d.state}</td>
                                <td>{d.user}</td>
                                <td class="nowrap">{d.expires}</td>
                                <td class="actions">
                                    {d.revocable.then(|| view! {
                                        <form method="post" action="/ui/admin/devices/revoke" class="inline-form">
                                            <input type="hidden" name="csrf" value=csrf.clone()/>
                                            <input type="hidden" name="id" value=d.id/>
                                            <button type="submit" class="button danger small" aria-label=aria>"Revoke"</button>
                                        </form>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
