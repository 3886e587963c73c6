//! The demo's steps by name. The page draws the ten arrows of RFC 6749 §4.1's figure
//! (`tessera_app::api::demo::STEPS`) and the session keeps the run's records in that order,
//! so on the wire a step is its number; here it is a [`Step`], and [`Step::number`] is the
//! one place the two meet. The actions after a run are [`Action`]s.

use tessera_app::api::demo::{DemoRun, Message, StepRecord, StepStatus};

/// One arrow of the diagram, numbered as the page numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The user presses Start at the client.
    AccessClient = 1,
    /// The client sends the browser to `/authorize` (RFC 6749 §4.1.1).
    RequestAuthorization = 2,
    /// The server shows its sign-in and consent pages.
    DisplayConsent = 3,
    /// The user allows (or denies) the request.
    GiveConsent = 4,
    /// The browser comes back to the client's redirect URI with a code (§4.1.2).
    IssueCode = 5,
    /// The client calls `/token` (§4.1.3).
    RequestToken = 6,
    /// The server checks the client, the code and PKCE.
    ValidateRequest = 7,
    /// The token response (§4.1.4).
    ReturnToken = 8,
    /// The client calls the API with the access token (RFC 6750 §2.1).
    CallApi = 9,
    /// The API's answer.
    ReturnData = 10,
}

impl Step {
    pub const ALL: [Step; 10] = [
        Step::AccessClient,
        Step::RequestAuthorization,
        Step::DisplayConsent,
        Step::GiveConsent,
        Step::IssueCode,
        Step::RequestToken,
        Step::ValidateRequest,
        Step::ReturnToken,
        Step::CallApi,
        Step::ReturnData,
    ];

    /// The step's number on the page and in the session's run (1-based).
    pub fn number(self) -> usize {
        self as usize
    }
}

/// Recording a step of the run by name.
pub trait MarkStep {
    /// Marks `step` with a status and a note, adding messages.
    fn mark_step(&mut self, step: Step, status: StepStatus, note: impl Into<String>, messages: Vec<Message>);
}

impl MarkStep for DemoRun {
    fn mark_step(&mut self, step: Step, status: StepStatus, note: impl Into<String>, messages: Vec<Message>) {
        self.mark(step.number(), status, note, messages);
    }
}

/// What the page offers once a run has tokens (each a form posting to `/demo/*`); each
/// adds a record to the run's `after` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `POST /demo/refresh`: the refresh token grant (RFC 6749 §6).
    Refresh,
    /// `POST /demo/revoke`: RFC 7009.
    Revoke,
    /// `POST /demo/api`: the API call again, with the access token held.
    CallApiAgain,
}

impl Action {
    /// The record's title, as the page shows it.
    pub fn title(self) -> &'static str {
        match self {
            Action::Refresh => "Refresh the token",
            Action::Revoke => "Revoke the token",
            Action::CallApiAgain => "Call the API again",
        }
    }

    pub fn record(self, status: StepStatus, note: impl Into<String>, messages: Vec<Message>) -> StepRecord {
        StepRecord {
            title: self.title().to_owned(),
            status,
            note: note.into(),
            messages,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_app::api::demo::STEPS;

    /// Each name is the arrow the page draws under its number.
    #[test]
    fn steps_are_the_pages_arrows() {
        let table: [(Step, &str); 10] = [
            (Step::AccessClient, "Access the client"),
            (Step::RequestAuthorization, "Request authorization"),
            (Step::DisplayConsent, "Display consent"),
            (Step::GiveConsent, "Give consent"),
            (Step::IssueCode, "Issue code"),
            (Step::RequestToken, "Request token"),
            (Step::ValidateRequest, "Validate the request"),
            (Step::ReturnToken, "Return token"),
            (Step::CallApi, "Call the API with the token"),
            (Step::ReturnData, "Return data"),
        ];
        assert_eq!(Step::ALL.len(), STEPS.len());
        for ((step, label), all) in table.iter().zip(Step::ALL) {
            assert_eq!(*step, all);
            let def = STEPS.iter().find(|d| d.n == step.number()).unwrap();
            assert_eq!(def.label, *label, "{step:?}");
        }
    }

    #[test]
    fn marking_by_name_marks_that_number() {
        let mut run = DemoRun::new(Default::default());
        run.mark_step(Step::IssueCode, StepStatus::Error, "no code", vec![]);
        let marked: Vec<usize> = (1..=10)
            .filter(|&n| run.step(n).is_some_and(|s| s.status == StepStatus::Error))
            .collect();
        assert_eq!(marked, [5]);
    }
}
