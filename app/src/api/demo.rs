//! The step-by-step demo (`/demo`): the shape of a run as the page shows it, the ten
//! steps of the authorization code flow, and the server function that reads the run from
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

/// One arrow of the diagram: its number, from which lane to which (indexes into
/// [`LANES`]; equal for a step inside one participant) and what it does.
#[derive(Debug, Clone, Copy)]
pub struct StepDef {
    pub n: usize,
    pub from: usize,
    pub to: usize,
    pub label: &'static str,
}

/// RFC 6749 §4.1, figure 3, with the token's use at the resource server (RFC 6750).
pub const STEPS: [StepDef; 10] = [
    StepDef {
        n: 1,
        from: 0,
        to: 1,
        label: "Access the client",
    },
    StepDef {
        n: 2,
        from: 1,
        to: 2,
        label: "Request authorization",
    },
    StepDef {
        n: 3,
        from: 2,
        to: 0,
        label: "Display consent",
    },
    StepDef {
        n: 4,
        from: 0,
        to: 2,
        label: "Give consent",
    },
    StepDef {
        n: 5,
        from: 2,
        to: 1,
        label: "Issue code",
    },
    StepDef {
        n: 6,
        from: 1,
        to: 2,
        label: "Request token",
    },
    StepDef {
        n: 7,
        from: 2,
        to: 2,
        label: "Validate the request",
    },
    StepDef {
        n: 8,
        from: 2,
        to: 1,
        label: "Return token",
    },
    StepDef {
        n: 9,
        from: 1,
        to: 3,
        label: "Call the API with the token",
    },
    StepDef {
        n: 10,
        from: 3,
        to: 1,
        label: "Return data",
    },
];

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
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            scopes: DEMO_SCOPES.iter().map(|s| s.to_string()).collect(),
            pkce: true,
            prompt_consent: false,
            tamper_state: false,
        }
    }
}

/// A run of the demo: the ten steps, then the actions taken after it.
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
        Self {
            options,
            steps: STEPS
                .iter()
                .map(|s| StepRecord {
                    title: s.label.to_owned(),
                    ..Default::default()
                })
                .collect(),
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
