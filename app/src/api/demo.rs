//! The step-by-step demo (`/demo`): the shape of a run as the page shows it, the steps
//! of the authorization code flow (ten, and more with PAR or DPoP), and the server function that reads the run from
//! the browser's session. The demo client itself (the OAuth protocol side) runs in the
//! server crate (`server/src/demo/`) and writes the run into the session; the page only
//! renders it.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Session key of the rendered run (what the page may show).
pub const DEMO_RUN_KEY: &str = "demo";
/// The demo client's fixed `client_id`.
pub const DEMO_CLIENT_ID: &str = "tessera-demo";
/// Scopes the demo client is registered for, in the order the page offers them.
pub const DEMO_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The four participants of the sequence diagram, left to right.
pub const LANES: [&str; 4] = [
    "User",
    "Client application",
    "Authorization server",
    "Resource server (API)",
];
/// The same, short enough for a phone's width.
pub const LANES_SHORT: [&str; 4] = ["User", "Client", "Auth server", "API"];

/// One arrow of the diagram: a stable name (`id`, which the demo client's `Step` names it
/// by), from which lane to which (indexes into [`LANES`]; equal for a step inside one
/// participant) and what it does. Its number is its place in [`steps_for`]'s list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepDef {
    pub id: &'static str,
    pub from: usize,
    pub to: usize,
    pub label: &'static str,
}

const fn arrow(id: &'static str, from: usize, to: usize, label: &'static str) -> StepDef {
    StepDef { id, from, to, label }
}

/// RFC 6749 §4.1, figure 3, with the token's use at the resource server (RFC 6750): the
/// diagram of a run with neither PAR nor DPoP.
pub const STEPS: [StepDef; 10] = [
    arrow("access-client", 0, 1, "Access the client"),
    arrow("request-authorization", 1, 2, "Request authorization"),
    arrow("display-consent", 2, 0, "Display consent"),
    arrow("give-consent", 0, 2, "Give consent"),
    arrow("issue-code", 2, 1, "Issue code"),
    arrow("request-token", 1, 2, "Request token"),
    arrow("validate-request", 2, 2, "Validate the request"),
    arrow("return-token", 2, 1, "Return token"),
    arrow("call-api", 1, 3, "Call the API with the token"),
    arrow("return-data", 3, 1, "Return data"),
];

/// RFC 9126 §2: the client pushes the request to `/par` and gets a `request_uri` back,
/// before it sends the browser to `/authorize` (with only `client_id` and `request_uri`).
pub const PAR_STEPS: [StepDef; 2] = [
    arrow("push-request", 1, 2, "Push the request (PAR)"),
    arrow("return-request-uri", 2, 1, "Return a request_uri"),
];

/// RFC 9449 §4: the client signs a proof with its own key before the token request.
pub const DPOP_PROOF_STEP: StepDef = arrow("sign-proof", 1, 1, "Sign a DPoP proof");

/// RFC 9449 §7.2: a DPoP-bound token without its proof is refused, before the call with one.
pub const DPOP_REFUSAL_STEPS: [StepDef; 2] = [
    arrow("call-api-bearer", 1, 3, "Call the API without the proof"),
    arrow("refuse-token", 3, 1, "Refuse the token"),
];

/// The arrows of a run with `options`, in the order the page numbers them (from 1).
pub fn steps_for(options: &DemoOptions) -> Vec<StepDef> {
    let mut steps = Vec::with_capacity(STEPS.len() + 5);
    for def in STEPS {
        match def.id {
            "request-authorization" if options.par => steps.extend(PAR_STEPS),
            "request-token" if options.dpop => steps.push(DPOP_PROOF_STEP),
            "call-api" if options.dpop => steps.extend(DPOP_REFUSAL_STEPS),
            _ => {}
        }
        steps.push(def);
    }
    steps
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepStatus {
    #[default]
    Pending,
    Done,
    Error,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Error => "error",
        }
    }
}

/// A parameter of a message with what it means.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub value: String,
    pub meaning: String,
}

/// One real message of a step: an HTTP request or response as sent, or a decoded token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub title: String,
    /// Shown verbatim (preformatted).
    pub text: String,
    pub params: Vec<Param>,
}

/// A step of the diagram, or an action after the run, as it happened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub title: String,
    pub status: StepStatus,
    /// One or two sentences on what happened and why.
    pub note: String,
    pub messages: Vec<Message>,
}

/// What the user chose before pressing Start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoOptions {
    pub scopes: Vec<String>,
    pub pkce: bool,
    pub prompt_consent: bool,
    /// The client remembers a different `state` than it sends, so the callback's check fails.
    pub tamper_state: bool,
    /// Push the authorization request to `/par` first (RFC 9126). Absent in a run saved
    /// before the option existed: off.
    #[serde(default)]
    pub par: bool,
    /// Bind the tokens to a key of the client's with DPoP proofs (RFC 9449).
    #[serde(default)]
    pub dpop: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            scopes: DEMO_SCOPES.iter().map(|s| s.to_string()).collect(),
            pkce: true,
            prompt_consent: false,
            tamper_state: false,
            par: false,
            dpop: false,
        }
    }
}

/// A run of the demo: its steps ([`steps_for`] its options), then the actions taken after it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoRun {
    pub options: DemoOptions,
    pub steps: Vec<StepRecord>,
    pub after: Vec<StepRecord>,
    /// The client holds an access token (the follow-up buttons make sense).
    pub has_tokens: bool,
    pub has_refresh_token: bool,
}

impl DemoRun {
    pub fn new(options: DemoOptions) -> Self {
        let steps = steps_for(&options)
            .iter()
            .map(|s| StepRecord {
                title: s.label.to_owned(),
                ..Default::default()
            })
            .collect();
        Self {
            options,
            steps,
            ..Default::default()
        }
    }

    /// Step `n` (1-based) of the diagram.
    pub fn step(&mut self, n: usize) -> Option<&mut StepRecord> {
        self.steps.get_mut(n.wrapping_sub(1))
    }

    /// Marks step `n` with a status and a note, adding messages.
    pub fn mark(&mut self, n: usize, status: StepStatus, note: impl Into<String>, messages: Vec<Message>) {
        if let Some(step) = self.step(n) {
            step.status = status;
            step.note = note.into();
            step.messages.extend(messages);
        }
    }
}

/// What the demo page needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoView {
    pub run: Option<DemoRun>,
    pub csrf: String,
    pub username: Option<String>,
    pub issuer: String,
}

#[server(prefix = "/ui", endpoint = "demo")]
pub async fn demo_info() -> Result<DemoView, ServerFnError> {
    let session = crate::server::session().await?;
    let ctx = crate::server::context()?;
    let csrf = crate::server::csrf_token(&session).await?;
    let user = crate::server::current_user(&ctx, &session).await?;
    // A run from an older shape of this struct is simply not shown.
    let run = session.get::<DemoRun>(DEMO_RUN_KEY).await.ok().flatten();
    Ok(DemoView {
        run,
        csrf,
        username: user.map(|u| u.username),
        issuer: ctx.issuer,
    })
}
