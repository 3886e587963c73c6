//! The demo's steps by name. The page draws the arrows of a run's options
//! (`tessera_app::api::demo::steps_for`: the ten of RFC 6749 §4.1's figure, with PAR's and
//! DPoP's around them) and the session keeps the run's records in that order, so on the
//! wire a step is its number; here it is a [`Step`], and [`Step::number`] is the one place
//! the two meet. The actions after a run are [`Action`]s.

use tessera_app::api::demo::{steps_for, DemoOptions, DemoRun, Message, StepRecord, StepStatus};

/// One arrow of the diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The user presses Start at the client.
    AccessClient,
    /// With PAR: the client posts the authorization request to `/par` (RFC 9126 §2.1).
    PushRequest,
    /// With PAR: the server answers with a `request_uri` (RFC 9126 §2.2).
    ReturnRequestUri,
    /// The client sends the browser to `/authorize` (RFC 6749 §4.1.1).
    RequestAuthorization,
    /// The server shows its sign-in and consent pages.
    DisplayConsent,
    /// The user allows (or denies) the request.
    GiveConsent,
    /// The browser comes back to the client's redirect URI with a code (§4.1.2).
    IssueCode,
    /// With DPoP: the client signs a proof for the token request (RFC 9449 §4).
    SignProof,
    /// The client calls `/token` (§4.1.3).
    RequestToken,
    /// The server checks the client, the code and PKCE.
    ValidateRequest,
    /// The token response (§4.1.4).
    ReturnToken,
    /// With DPoP: the client presents the bound token as a plain Bearer token.
    CallApiBearer,
    /// With DPoP: the API refuses it (RFC 9449 §7.2).
    RefuseToken,
    /// The client calls the API with the access token (RFC 6750 §2.1, RFC 9449 §7.1).
    CallApi,
    /// The API's answer.
    ReturnData,
}

impl Step {
    pub const ALL: [Step; 15] = [
        Step::AccessClient,
        Step::PushRequest,
        Step::ReturnRequestUri,
        Step::RequestAuthorization,
        Step::DisplayConsent,
        Step::GiveConsent,
        Step::IssueCode,
        Step::SignProof,
        Step::RequestToken,
        Step::ValidateRequest,
        Step::ReturnToken,
        Step::CallApiBearer,
        Step::RefuseToken,
        Step::CallApi,
        Step::ReturnData,
    ];

    /// The arrow's name in the page's list (`StepDef::id`).
    pub fn id(self) -> &'static str {
        match self {
            Step::AccessClient => "access-client",
            Step::PushRequest => "push-request",
            Step::ReturnRequestUri => "return-request-uri",
            Step::RequestAuthorization => "request-authorization",
            Step::DisplayConsent => "display-consent",
            Step::GiveConsent => "give-consent",
            Step::IssueCode => "issue-code",
            Step::SignProof => "sign-proof",
            Step::RequestToken => "request-token",
            Step::ValidateRequest => "validate-request",
            Step::ReturnToken => "return-token",
            Step::CallApiBearer => "call-api-bearer",
            Step::RefuseToken => "refuse-token",
            Step::CallApi => "call-api",
            Step::ReturnData => "return-data",
        }
    }

    /// The step's number on the page and in the session's run (1-based) for a run with
    /// `options`; none when such a run has no such arrow (PAR's without PAR, say).
    pub fn number(self, options: &DemoOptions) -> Option<usize> {
        steps_for(options)
            .iter()
            .position(|def| def.id == self.id())
            .map(|i| i + 1)
    }
}

/// Recording a step of the run by name.
pub trait MarkStep {
    /// Marks `step` with a status and a note, adding messages. A step the run's options
    /// do not draw is not recorded.
    fn mark_step(&mut self, step: Step, status: StepStatus, note: impl Into<String>, messages: Vec<Message>);
}

impl MarkStep for DemoRun {
    fn mark_step(&mut self, step: Step, status: StepStatus, note: impl Into<String>, messages: Vec<Message>) {
        if let Some(n) = step.number(&self.options) {
            self.mark(n, status, note, messages);
        }
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

    fn options(par: bool, dpop: bool) -> DemoOptions {
        DemoOptions {
            par,
            dpop,
            ..Default::default()
        }
    }

    /// Without PAR or DPoP, the ten arrows of RFC 6749 §4.1's figure, numbered as before.
    #[test]
    fn the_plain_run_is_the_ten_arrows() {
        let table: [(Step, usize, &str); 10] = [
            (Step::AccessClient, 1, "Access the client"),
            (Step::RequestAuthorization, 2, "Request authorization"),
            (Step::DisplayConsent, 3, "Display consent"),
            (Step::GiveConsent, 4, "Give consent"),
            (Step::IssueCode, 5, "Issue code"),
            (Step::RequestToken, 6, "Request token"),
            (Step::ValidateRequest, 7, "Validate the request"),
            (Step::ReturnToken, 8, "Return token"),
            (Step::CallApi, 9, "Call the API with the token"),
            (Step::ReturnData, 10, "Return data"),
        ];
        let plain = DemoOptions::default();
        assert_eq!(steps_for(&plain), STEPS);
        for (step, n, label) in table {
            assert_eq!(step.number(&plain), Some(n), "{step:?}");
            assert_eq!(STEPS[n - 1].label, label, "{step:?}");
        }
        for step in [
            Step::PushRequest,
            Step::ReturnRequestUri,
            Step::SignProof,
            Step::CallApiBearer,
            Step::RefuseToken,
        ] {
            assert_eq!(step.number(&plain), None, "{step:?}");
        }
    }

    /// Every arrow the page draws, for every combination of options, is exactly one
    /// [`Step`], in [`Step::ALL`]'s order.
    #[test]
    fn every_arrow_is_a_step_in_order() {
        for (par, dpop, count) in [
            (false, false, 10),
            (true, false, 12),
            (false, true, 13),
            (true, true, 15),
        ] {
            let options = options(par, dpop);
            let defs = steps_for(&options);
            assert_eq!(defs.len(), count, "par {par} dpop {dpop}");
            let named: Vec<Step> = defs
                .iter()
                .map(|d| {
                    let found: Vec<Step> = Step::ALL.into_iter().filter(|s| s.id() == d.id).collect();
                    assert_eq!(found.len(), 1, "{}", d.id);
                    found[0]
                })
                .collect();
            let in_order: Vec<Step> = Step::ALL.into_iter().filter(|s| named.contains(s)).collect();
            assert_eq!(named, in_order, "par {par} dpop {dpop}");
            for (i, step) in named.iter().enumerate() {
                assert_eq!(step.number(&options), Some(i + 1));
            }
        }
    }

    #[test]
    fn the_options_place_their_arrows() {
        let both = options(true, true);
        let at = |s: Step| s.number(&both).unwrap();
        assert_eq!(
            [
                Step::AccessClient,
                Step::PushRequest,
                Step::ReturnRequestUri,
                Step::RequestAuthorization
            ]
            .map(at),
            [1, 2, 3, 4]
        );
        assert_eq!(
            [Step::IssueCode, Step::SignProof, Step::RequestToken].map(at),
            [7, 8, 9]
        );
        assert_eq!(
            [
                Step::ReturnToken,
                Step::CallApiBearer,
                Step::RefuseToken,
                Step::CallApi,
                Step::ReturnData
            ]
            .map(at),
            [11, 12, 13, 14, 15]
        );
        assert_eq!(Step::SignProof.number(&options(true, false)), None);
        assert_eq!(Step::PushRequest.number(&options(false, true)), None);
    }

    #[test]
    fn marking_by_name_marks_that_number() {
        let mut run = DemoRun::new(Default::default());
        run.mark_step(Step::IssueCode, StepStatus::Error, "no code", vec![]);
        // Not drawn in a plain run: nothing marked.
        run.mark_step(Step::RefuseToken, StepStatus::Error, "not drawn", vec![]);
        let marked: Vec<usize> = (1..=10)
            .filter(|&n| run.step(n).is_some_and(|s| s.status == StepStatus::Error))
            .collect();
        assert_eq!(marked, [5]);
        assert_eq!(run.steps.len(), 10);

        let mut run = DemoRun::new(options(true, true));
        run.mark_step(Step::RefuseToken, StepStatus::Done, "refused", vec![]);
        assert_eq!(run.steps.len(), 15);
        assert_eq!(run.step(13).unwrap().status, StepStatus::Done);
        assert_eq!(run.step(13).unwrap().title, "Refuse the token");
    }
}
