//! UI pieces more than one page uses: a copy-to-clipboard button, and labelled form
//! fields (the hint and error line tied to the input for screen readers).

use leptos::prelude::*;

/// A button that copies `value` to the clipboard once the page is hydrated, then says so.
#[component]
pub fn CopyButton(value: String, #[prop(default = "button secondary")] class: &'static str) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let _ = window().navigator().clipboard().write_text(&value);
            copied.set(true);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &value;
    };
    view! {
        <button type="button" class=class on:click=copy>
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}

/// A labelled input with its hint and its own error line.
#[component]
pub fn Field(
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

fn described_by(name: &str, hint: bool, error: bool) -> Option<String> {
    let ids: Vec<String> = [(hint, "hint"), (error, "error")]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, s)| format!("{name}-{s}"))
        .collect();
    (!ids.is_empty()).then(|| ids.join(" "))
}

#[component]
pub fn TextArea(
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
