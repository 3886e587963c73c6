//! `/demo`: the authorization code flow as a sequence diagram whose steps (ten, more with
//! the PAR and DPoP options) light up as the built-in demo client runs, each with the real
//! message of that step. All buttons
//! are plain HTML forms posting to the demo client's routes (`/demo/*` in the server), so
//! the page works before the WASM has loaded.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::demo::{
    demo_info, steps_for, DemoOptions, DemoRun, Message, StepRecord, StepStatus, DEMO_SCOPES, LANES, LANES_SHORT,
};

/// The grid classes of an arrow from lane `from` to lane `to`.
fn arrow_class(from: usize, to: usize) -> String {
    let (lo, hi) = (from.min(to), from.max(to));
    let dir = if from == to {
        "self"
    } else if from < to {
        "ltr"
    } else {
        "rtl"
    };
    format!("arrow lanes-{lo}-{hi} {dir}")
}

// Each section of this page is type-erased (`AnyView`): nested as one static type, the
// page overflowed rustc's recursion limit in a release build without `--cfg
// erase_components` (Tessera's builds all set it, `.cargo/config.toml`; `cargo leptos build
// --release` does not).
fn messages_view(messages: Vec<Message>) -> AnyView {
    messages
        .into_iter()
        .map(|m| {
            let params = (!m.params.is_empty()).then(|| {
                view! {
                    <table class="params">
                        <thead><tr><th>"Parameter"</th><th>"Value"</th><th>"Meaning"</th></tr></thead>
                        <tbody>
                            {m.params.into_iter().map(|p| view! {
                                <tr><td><code>{p.name}</code></td><td class="value"><code>{p.value}</code></td>
                                    <td>{p.meaning}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }
            });
            view! {
                <div class="message">
                    <h4>{m.title}</h4>
                    {(!m.text.is_empty()).then(|| view! { <pre>{m.text}</pre> })}
                    {params}
                </div>
            }
        })
        .collect_view()
        .into_any()
}

fn step_body(record: StepRecord) -> AnyView {
    let has_messages = !record.messages.is_empty();
    let open = record.status == StepStatus::Error;
    view! {
        {(!record.note.is_empty()).then(|| view! { <p class="step-note">{record.note}</p> })}
        {has_messages.then(|| view! {
            <details class="step-messages" open=open>
                <summary>"Show the messages"</summary>
                {messages_view(record.messages)}
            </details>
        })}
    }
    .into_any()
}

/// The arrows of the run's options (before a run, of the default options), numbered in
/// order, each with what happened at it.
fn diagram(run: Option<DemoRun>) -> AnyView {
    let (options, records) = run.map(|r| (r.options, r.steps)).unwrap_or_default();
    view! {
        <div class="flow" role="list" aria-label="The steps of the authorization code flow">
            <div class="lanes" aria-hidden="true">
                {LANES.iter().enumerate().map(|(i, name)| view! {
                    <div class=format!("lane lane-{i}")>
                        <span class="lane-long">{*name}</span><span class="lane-short">{LANES_SHORT[i]}</span>
                    </div>
                }).collect_view()}
            </div>
            {steps_for(&options).into_iter().enumerate().map(|(i, def)| {
                let n = i + 1;
                let record = records.get(i).cloned().unwrap_or_default();
                let status = record.status.as_str();
                let from = LANES[def.from];
                let to = LANES[def.to];
                view! {
                    <div class="step" role="listitem" data-testid=format!("step-{n}") data-step=def.id
                        data-status=status>
                        <div class="step-row">
                            <div class=arrow_class(def.from, def.to)>
                                <span class="step-label"><span class="step-n">{n}</span>" " {def.label}</span>
                                <span class="line" aria-hidden="true"></span>
                            </div>
                        </div>
                        <p class="visually-hidden">{format!("From {from} to {to}. Status: {status}.")}</p>
                        <div class="step-detail">{step_body(record)}</div>
                    </div>
                }
            }).collect_view()}
        </div>
    }
    .into_any()
}

fn options_form(csrf: String, options: DemoOptions) -> AnyView {
    view! {
        <form method="post" action="/demo/start" class="demo-options">
            <input type="hidden" name="csrf" value=csrf/>
            <fieldset>
                <legend>"Scopes to request"</legend>
                {DEMO_SCOPES.iter().map(|s| {
                    let checked = options.scopes.iter().any(|o| o == s);
                    view! {
                        <label class="check"><input type="checkbox" name="scope" value=*s checked=checked/>
                            <code>{*s}</code></label>
                    }
                }).collect_view()}
            </fieldset>
            <fieldset>
                <legend>"Options"</legend>
                <label class="check"><input type="checkbox" name="pkce" value="on" checked=options.pkce/>
                    "PKCE (off: the server refuses, it requires PKCE)"</label>
                <label class="check"><input type="checkbox" name="prompt_consent" value="on"
                    checked=options.prompt_consent/>
                    <span><code>"prompt=consent"</code>" (ask for consent even if given before)"</span></label>
                <label class="check"><input type="checkbox" name="tamper_state" value="on"
                    checked=options.tamper_state/>
                    <span>"Tamper with "<code>"state"</code>" (the client must catch it)"</span></label>
            </fieldset>
            <fieldset>
                <legend>"FAPI 2.0 building blocks"</legend>
                <label class="check"><input type="checkbox" name="par" value="on" checked=options.par/>
                    "Push the request (PAR)"</label>
                <label class="check"><input type="checkbox" name="dpop" value="on" checked=options.dpop/>
                    "Bind tokens with DPoP"</label>
                <p class="muted fieldset-note">
                    "PAR: the client sends the authorization request to the server directly and the browser carries "
                    "only a reference to it (RFC 9126). DPoP: the tokens are bound to a key the client holds, so "
                    "a stolen token is useless without it (RFC 9449)."
                </p>
            </fieldset>
            <button type="submit" class="button" data-testid="demo-start">"Start"</button>
        </form>
    }
    .into_any()
}

fn after_view(csrf: String, run: &DemoRun) -> AnyView {
    let post = move |action: &'static str, label: &'static str, enabled: bool, testid: &'static str| {
        let csrf = csrf.clone();
        view! {
            <form method="post" action=format!("/demo/{action}") class="inline-form">
                <input type="hidden" name="csrf" value=csrf/>
                <button type="submit" class="button secondary" disabled=!enabled data-testid=testid>{label}</button>
            </form>
        }
    };
    let entries = run.after.clone();
    view! {
        <div class="demo-actions">
            {post("refresh", "Refresh the token", run.has_refresh_token, "demo-refresh")}
            {post("revoke", "Revoke the token", run.has_tokens, "demo-revoke")}
            {post("api", "Call the API again", run.has_tokens, "demo-api")}
            {post("reset", "Start over", true, "demo-reset")}
        </div>
        {(!entries.is_empty()).then(|| view! {
            <ol class="after">
                {entries.into_iter().enumerate().map(|(i, e)| {
                    let status = e.status.as_str();
                    let title = e.title.clone();
                    view! {
                        <li class="after-entry" data-testid=format!("after-{}", i + 1) data-status=status>
                            <h3><span class="badge">{status}</span>" " {title}</h3>
                            {step_body(e)}
                        </li>
                    }
                }).collect_view()}
            </ol>
        })}
    }
    .into_any()
}

fn error_text(code: &str) -> &'static str {
    match code {
        "expired" => "Your session expired. Please press Start again.",
        "norun" => "There is no run in progress in this session. Press Start.",
        _ => "Something went wrong. Please press Start again.",
    }
}

#[component]
pub fn DemoPage() -> impl IntoView {
    let info = Resource::new(|| (), |_| demo_info());
    let query = use_query_map();
    let error = move || query.with(|q| q.get("error")).map(|c| error_text(&c));

    view! {
        <section class="hero">
            <h1>"The authorization code flow, step by step"</h1>
            <p class="lead">
                "A real OAuth client (the built-in " <code>"tessera-demo"</code>
                " client, running on this server) signs you in with this server, exchanges the code for tokens and "
                "calls an API. Each step lights up as it happens, with the real message of that step."
            </p>
        </section>
        {move || error().map(|text| view! { <p class="error" role="alert">{text}</p> })}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match info.await {
                    Ok(view) => {
                        let options = view.run.as_ref().map(|r| r.options.clone()).unwrap_or_default();
                        let after = view.run.as_ref().filter(|r| r.steps.iter().any(|s| s.status != StepStatus::Pending))
                            .map(|r| after_view(view.csrf.clone(), r));
                        view! {
                            <section class="card">
                                <h2>"Before you start"</h2>
                                <p class="muted">{match view.username {
                                    Some(u) => format!("Signed in as {u}: the server will skip the sign-in step."),
                                    None => "You are not signed in: the server will ask you to sign in first.".to_owned(),
                                }}</p>
                                {options_form(view.csrf.clone(), options)}
                            </section>
                            <section class="card" data-testid="diagram">
                                <h2>"The flow"</h2>
                                {diagram(view.run.clone())}
                            </section>
                            {after.map(|a| view! {
                                <section class="card" data-testid="after-run">
                                    <h2>"After the run"</h2>
                                    {a}
                                </section>
                            })}
                        }.into_any()
                    }
                    Err(_) => view! { <p role="alert">"The demo could not be loaded."</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
