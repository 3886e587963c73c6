//! The console's form pieces, shared by every resource: a labelled field with its hint
//! and error, a text area, the algorithm select, and the flash's notice and form error.

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

/// A labelled input with its hint and its own error line.
#[component]
pub(super) fn Field(
    name: &'static str,
    label: &'static str,
    value: String,
    error: Option<String>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let described = described_by(name, hint.is_some(), error.is_some());
    view! {
        <div class="field">
            <label for=name>{label}</label>
            <input id=name name=name type=kind value=value required=required
                aria-invalid=error.is_some().then_some("true") aria-describedby=described/>
            {hint.map(|h| view! { <p class="hint" id=format!("{name}-hint")>{h}</p> })}
            {error.map(|e| view! { <p class="field-error" id=format!("{name}-error")>{e}</p> })}
        </div>
    }
    .into_any()
}

pub(super) fn described_by(name: &str, hint: bool, error: bool) -> Option<String> {
    let ids: Vec<String> = [(hint, "hint"), (error, "error")]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, s)| format!("{name}-{s}"))
        .collect();
    (!ids.is_empty()).then(|| ids.join(" "))
}

#[component]
pub(super) fn TextArea(
    name: &'static str,
    label: &'static str,
    value: String,
    error: Option<String>,
    #[prop(optional, into)] hint: Option<String>,
) -> impl IntoView {
    let described = described_by(name, hint.is_some(), error.is_some());
    view! {
        <div class="field">
            <label for=name>{label}</label>
            <textarea id=name name=name rows="3"
                aria-invalid=error.is_some().then_some("true") aria-describedby=described>{value}</textarea>
            {hint.map(|h| view! { <p class="hint" id=format!("{name}-hint")>{h}</p> })}
            {error.map(|e| view! { <p class="field-error" id=format!("{name}-error")>{e}</p> })}
        </div>
    }
    .into_any()
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
