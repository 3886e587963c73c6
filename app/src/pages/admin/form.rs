//! The console's own form pieces, shared by every resource: the flash's notice and form
//! error, and the algorithm select. Generic fields are in `crate::components`.

use leptos::prelude::*;

use crate::api::admin::Flash;

/// The flash's notice and whole-form error.
#[component]
pub(super) fn FlashLines(flash: Flash) -> impl IntoView {
    let form_error = flash.error("form");
    view! {
        {flash.notice.map(|t| view! { <p class="notice" role="status" data-testid="notice">{t}</p> })}
        {form_error.map(|t| view! { <p class="error" role="alert" data-testid="form-error">{t}</p> })}
    }
}

#[component]
pub(super) fn AlgSelect(
    name: &'static str,
    label: &'static str,
    options: Vec<String>,
    value: String,
    error: Option<String>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=name>{label}</label>
            <select id=name name=name aria-invalid=error.is_some().then_some("true")>
                {options.into_iter().map(|alg| view! {
                    <option value=alg.clone() selected=alg == value>{alg.clone()}</option>
                }).collect_view()}
            </select>
            {error.map(|e| view! { <p class="field-error" id=format!("{name}-error")>{e}</p> })}
        </div>
    }
    .into_any()
}
