//! The step-by-step demo at `/demo`: the routes the page's forms post to, and the run of
//! the authorization code flow they drive, step by step ([`steps::Step`]), through the
//! built-in client ([`client`]). Also the first-run setup of `serve --demo` ([`setup`]).
//!
//! Mounted, and its client registered, only when the demo is on (`serve --demo`; #18 item
//! 8). The run lives in the browser's server-side session: the timeline in the clear, what
//! the client keeps to itself (PKCE verifier, state, nonce, tokens) sealed with a key
//! derived from the server secret, so the sessions table never holds a usable token. The
//! page gets only the rendered timeline.

pub mod client;
mod dpop;
pub mod setup;
pub mod steps;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use oauth2::url::Url;
use oauth2::{
    AccessToken, AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RefreshToken, Scope,
    StandardRevocableToken, TokenResponse,
};
use serde::{Deserialize, Serialize};
use tessera_app::api::demo::{DemoOptions, DemoRun, Message, StepStatus, DEMO_CLIENT_ID, DEMO_RUN_KEY, DEMO_SCOPES};
use tessera_core::secret::{constant_time_eq, random_token};
use tower_sessions::Session;

use crate::http::form::{read_form, read_query};
use crate::web::AppState;
use client::{
    authorize_param_meaning, call_api, decode_jwt, jwt_claims, oauth_client, param, proof_message, push_request,
    short_error, Exchange, Recorder,
};
use dpop::DpopKey;
use steps::{Action, MarkStep, Step};

/// Session key of what the client keeps to itself (never sent to the browser).
const SECRETS_KEY: &str = "demo.client";
/// Domain separation for the key that seals it.
const SEAL_LABEL: &str = "tessera-demo-session";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/demo/start", post(start))
        .route("/demo/callback", get(callback))
        .route("/demo/refresh", post(refresh))
        .route("/demo/revoke", post(revoke))
        .route("/demo/api", post(call_api_again))
        .route("/demo/reset", post(reset))
}

// ---------------------------------------------------------------------------------------
// What the client keeps in the session.

#[derive(Debug, Default, Serialize, Deserialize)]
struct Secrets {
    /// The state the client expects back; empty once the callback has used it.
    state: String,
    nonce: String,
    verifier: Option<String>,
    access_token: Option<String>,
    refresh_token: Option<String>,
    /// The user the tokens were issued to: the session's user when they arrived.
    #[serde(default)]
    owner: Option<String>,
    /// With the DPoP option: the run's private key (PKCS #8, base64url).
    #[serde(default)]
    dpop_key: Option<String>,
}

impl Secrets {
    /// The run's DPoP key, if it has one.
    fn dpop_key(&self) -> Option<Arc<DpopKey>> {
        let der = URL_SAFE_NO_PAD.decode(self.dpop_key.as_deref()?).ok()?;
        match DpopKey::from_pkcs8(&der) {
            Ok(key) => Some(Arc::new(key)),
            Err(e) => {
                tracing::warn!(error = %e, "the demo's DPoP key does not load");
                None
            }
        }
    }
}

/// The run and the client's secrets, opened. Secrets that do not open (sealed under a
/// server secret since rotated away, or tampered with) count as none.
async fn load(state: &AppState, session: &Session) -> (Option<DemoRun>, Secrets) {
    let run = session.get::<DemoRun>(DEMO_RUN_KEY).await.ok().flatten();
    let secrets = session
        .get::<String>(SECRETS_KEY)
        .await
        .ok()
        .flatten()
        .and_then(|sealed| URL_SAFE_NO_PAD.decode(sealed).ok())
        .and_then(|sealed| state.secret.sealer(SEAL_LABEL).open(&sealed, SECRETS_KEY.as_bytes()))
        .and_then(|(plain, _)| serde_json::from_slice(&plain).ok())
        .unwrap_or_default();
    (run, secrets)
}

async fn store(state: &AppState, session: &Session, run: &DemoRun, secrets: &Secrets) -> anyhow::Result<()> {
    let plain = serde_json::to_vec(secrets)?;
    let sealed = state.secret.sealer(SEAL_LABEL).seal(&plain, SECRETS_KEY.as_bytes())?;
    session.insert(DEMO_RUN_KEY, run).await?;
    session.insert(SECRETS_KEY, URL_SAFE_NO_PAD.encode(sealed)).await?;
    Ok(())
}

/// Keeps the run and goes back to the page.
async fn save(state: &AppState, session: &Session, run: &DemoRun, secrets: &Secrets) -> Response {
    match store(state, session, run, secrets).await {
        Ok(()) => Redirect::to("/demo").into_response(),
        Err(e) => failed(e),
    }
}

fn failed(e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "demo client failed");
    Redirect::to("/demo?error=failed").into_response()
}

/// The parameters of one of the page's forms, read by the server's one reader
/// ([`read_form`]). A body that does not read as a form has none, and so no CSRF token.
fn form(headers: &HeaderMap, body: &[u8]) -> Vec<(String, String)> {
    read_form(headers, body).unwrap_or_default()
}

fn get_param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The session's CSRF token (or, before the session has one, the anonymous CSRF cookie's)
/// must come with every form.
async fn csrf_checked(state: &AppState, session: &Session, headers: &HeaderMap, form: &[(String, String)]) -> bool {
    let presented = get_param(form, "csrf").unwrap_or_default();
    tessera_services::csrf::check(session, headers, state.issuer.starts_with("https://"), presented).await
}

// ---------------------------------------------------------------------------------------
// Start: Step::AccessClient and Step::RequestAuthorization.

async fn start(State(state): State<AppState>, session: Session, headers: HeaderMap, body: Bytes) -> Response {
    let form = form(&headers, &body);
    if !csrf_checked(&state, &session, &headers, &form).await {
        return Redirect::to("/demo?error=expired").into_response();
    }
    let options = DemoOptions {
        scopes: DEMO_SCOPES
            .iter()
            .filter(|s| form.iter().any(|(k, v)| k == "scope" && v == *s))
            .map(|s| s.to_string())
            .collect(),
        pkce: get_param(&form, "pkce").is_some(),
        prompt_consent: get_param(&form, "prompt_consent").is_some(),
        tamper_state: get_param(&form, "tamper_state").is_some(),
        par: get_param(&form, "par").is_some(),
        dpop: get_param(&form, "dpop").is_some(),
    };
    let client = match oauth_client(&state).await {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    // RFC 9449: a fresh key for each run, kept by the client alone.
    let dpop_key = match options.dpop.then(DpopKey::generate).transpose() {
        Ok(key) => key,
        Err(e) => return failed(e),
    };
    let nonce = random_token();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(options.scopes.iter().map(|s| Scope::new(s.clone())))
        .add_extra_param("nonce", nonce.clone());
    if options.pkce {
        request = request.set_pkce_challenge(challenge);
    }
    if options.prompt_consent {
        request = request.add_extra_param("prompt", "consent");
    }
    if let Some(key) = &dpop_key {
        // RFC 9449 §10: the code is bound to the key the client will prove at /token.
        request = request.add_extra_param("dpop_jkt", key.jkt().to_owned());
    }
    let (url, sent_state) = request.url();
    // "Tamper with state": what comes back is not what this client remembers, as when an
    // attacker feeds the victim's browser a callback of the attacker's own (RFC 6749 §10.12).
    let remembered = if options.tamper_state {
        random_token()
    } else {
        sent_state.secret().clone()
    };

    let mut run = DemoRun::new(options.clone());
    let on_off = |on: bool| if on { "on" } else { "off" };
    let mut chosen = vec![
        param("scope", &options.scopes.join(" "), "the permissions to ask for"),
        param("PKCE", on_off(options.pkce), "send a code_challenge"),
        param(
            "prompt=consent",
            on_off(options.prompt_consent),
            "ask for consent again",
        ),
        param(
            "PAR",
            on_off(options.par),
            "push the request to the server first (RFC 9126)",
        ),
        param(
            "DPoP",
            on_off(options.dpop),
            "bind the tokens to a key of the client's (RFC 9449)",
        ),
    ];
    if options.tamper_state {
        chosen.push(param(
            "tamper with state",
            "on",
            "the client will see a state it did not send",
        ));
    }
    let mut note =
        "You pressed Start: the client application (this server's built-in demo client) begins a sign-in.".to_owned();
    if dpop_key.is_some() {
        note.push_str(
            " It makes a new key pair for DPoP (P-256); the private key never leaves it, and the authorization \
             request names the public key's thumbprint (dpop_jkt), so the code is bound to it.",
        );
    }
    run.mark_step(
        Step::AccessClient,
        StepStatus::Done,
        note,
        vec![Message {
            title: "The browser's request to the client".into(),
            text: "POST /demo/start HTTP/1.1".into(),
            params: chosen,
        }],
    );
    let secrets = Secrets {
        state: remembered,
        nonce,
        verifier: options.pkce.then(|| verifier.secret().clone()),
        dpop_key: dpop_key.as_ref().map(|k| URL_SAFE_NO_PAD.encode(k.pkcs8())),
        ..Default::default()
    };

    let url = if options.par {
        match push(&state, &mut run, &url).await {
            Some(url) => url,
            // Refused: nothing to send the browser to.
            None => return save(&state, &session, &run, &secrets).await,
        }
    } else {
        let params = url
            .query_pairs()
            .map(|(k, v)| param(&k, &v, authorize_param_meaning(&k)))
            .collect();
        run.mark_step(
            Step::RequestAuthorization,
            StepStatus::Done,
            "The client redirects the browser to the authorization endpoint (RFC 6749 §4.1.1). The client \
             keeps the PKCE verifier, the state and the nonce to itself.",
            vec![Message {
                title: "The redirect to the authorization server".into(),
                text: format!("HTTP/1.1 303 See Other\nLocation: {url}"),
                params,
            }],
        );
        url
    };
    match store(&state, &session, &run, &secrets).await {
        Ok(()) => Redirect::to(url.as_str()).into_response(),
        Err(e) => failed(e),
    }
}

/// With PAR (Step::PushRequest, Step::ReturnRequestUri, Step::RequestAuthorization): the
/// authorization request `url` carries is pushed to `/par` (RFC 9126 §2.1) and the browser
/// is sent with only `client_id` and the `request_uri` (§4). None when the push failed
/// (recorded in the run).
async fn push(state: &AppState, run: &mut DemoRun, url: &Url) -> Option<Url> {
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let (seen, outcome) = push_request(state, &pairs).await;
    let pushed = pairs
        .iter()
        .map(|(k, v)| param(k, v, authorize_param_meaning(k)))
        .collect();
    run.mark_step(
        Step::PushRequest,
        StepStatus::Done,
        "Instead of putting the authorization request in the browser's URL, the client posts it straight to \
         the server's PAR endpoint, authenticating as at the token endpoint (RFC 9126 §2.1). The server checks \
         it now, as /authorize would, and answers the client, never the browser.",
        vec![Message {
            title: "The pushed authorization request".into(),
            text: seen.request.clone(),
            params: pushed,
        }],
    );
    let response = |params| Message {
        title: "The PAR response".into(),
        text: seen.response.clone(),
        params,
    };
    let request_uri = match outcome {
        Ok(uri) => uri,
        Err(e) => {
            run.mark_step(
                Step::ReturnRequestUri,
                StepStatus::Error,
                format!("The server refused the pushed request: {e}. The browser goes nowhere."),
                vec![response(vec![])],
            );
            return None;
        }
    };
    let expires_in = serde_json::from_str::<serde_json::Value>(&seen.body)
        .ok()
        .and_then(|v| v.get("expires_in").map(|e| e.to_string()))
        .unwrap_or_default();
    run.mark_step(
        Step::ReturnRequestUri,
        StepStatus::Done,
        "The server keeps the request and answers 201 with a reference to it (RFC 9126 §2.2).",
        vec![response(vec![
            param(
                "request_uri",
                &request_uri,
                "stands for the pushed request: single use, only for this client",
            ),
            param("expires_in", &expires_in, "seconds the reference stays valid"),
        ])],
    );
    let authorize = Url::parse_with_params(
        &format!("{}/authorize", state.issuer),
        [("client_id", DEMO_CLIENT_ID), ("request_uri", request_uri.as_str())],
    )
    .ok()?;
    let params = authorize
        .query_pairs()
        .map(|(k, v)| param(&k, &v, authorize_param_meaning(&k)))
        .collect();
    run.mark_step(
        Step::RequestAuthorization,
        StepStatus::Done,
        "The client redirects the browser to the authorization endpoint with only its client_id and the \
         request_uri (RFC 9126 §4): the request's parameters never pass through the browser, which can neither \
         read nor change them. The client keeps the PKCE verifier, the state and the nonce to itself.",
        vec![Message {
            title: "The redirect to the authorization server".into(),
            text: format!("HTTP/1.1 303 See Other\nLocation: {authorize}"),
            params,
        }],
    );
    Some(authorize)
}

// ---------------------------------------------------------------------------------------
// The callback (Step::DisplayConsent to Step::IssueCode), the token exchange
// (Step::RequestToken to Step::ReturnToken) and the API call (Step::CallApi, Step::ReturnData).

async fn callback(State(state): State<AppState>, session: Session, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let (run, mut secrets) = load(&state, &session).await;
    let Some(mut run) = run else {
        return Redirect::to("/demo?error=norun").into_response();
    };
    // What does not read as a query (read_query refuses it) carries no state, so the
    // client refuses it like any response it did not ask for.
    let params = read_query(Some(&query)).unwrap_or_default();
    let explained = params
        .iter()
        .map(|(k, v)| {
            let meaning = match k.as_str() {
                "code" => "the authorization code: short-lived, single use, useless without the client's secret and PKCE verifier",
                "state" => "must equal the state the client sent",
                "iss" => "who issued the response (RFC 9207: mix-up protection)",
                "error" => "why there is no code (RFC 6749 §4.1.2.1)",
                "error_description" => "a human-readable explanation",
                _ => "",
            };
            param(k, v, meaning)
        })
        .collect();
    let arrival = Message {
        title: "The browser arrives at the client's redirect URI".into(),
        text: format!("GET /demo/callback?{query} HTTP/1.1"),
        params: explained,
    };

    if secrets.state.is_empty() {
        run.mark_step(
            Step::IssueCode,
            StepStatus::Error,
            "This callback was already handled (or no authorization request is in progress): the client ignores it.",
            vec![arrival],
        );
        return save(&state, &session, &run, &secrets).await;
    }
    let expected_state = std::mem::take(&mut secrets.state);

    // RFC 6749 §10.12: a response whose state is not the one this client sent is not for us,
    // whatever it says, an error included: checked before anything else (#18 item 9).
    let state_ok = get_param(&params, "state").is_some_and(|s| constant_time_eq(s, &expected_state));
    if !state_ok {
        run.mark_step(
            Step::IssueCode,
            StepStatus::Error,
            "The state that came back is not the one the client stored: the client refuses the response (a code \
             or an error alike) and acts on nothing in it (RFC 6749 §10.12, CSRF protection).",
            vec![arrival],
        );
        return save(&state, &session, &run, &secrets).await;
    }

    if let Some(error) = get_param(&params, "error") {
        let description = get_param(&params, "error_description").unwrap_or_default();
        if error == "access_denied" {
            run.mark_step(
                Step::DisplayConsent,
                StepStatus::Done,
                "The server showed its consent screen.",
                vec![],
            );
            run.mark_step(Step::GiveConsent, StepStatus::Error, "You chose Deny.", vec![]);
            run.mark_step(
                Step::IssueCode,
                StepStatus::Error,
                format!(
                    "No code: the server sent the browser back with error=access_denied (RFC 6749 §4.1.2.1): \
                     \u{201c}{description}\u{201d}."
                ),
                vec![arrival],
            );
        } else {
            run.mark_step(
                Step::RequestAuthorization,
                StepStatus::Error,
                format!("The server refused the authorization request: {error}: {description}"),
                vec![],
            );
            run.mark_step(
                Step::IssueCode,
                StepStatus::Error,
                format!("No code: the server sent the browser back with error={error}."),
                vec![arrival],
            );
        }
        return save(&state, &session, &run, &secrets).await;
    }

    run.mark_step(
        Step::DisplayConsent,
        StepStatus::Done,
        "The server showed its sign-in and consent pages — or skipped them because you were signed in and had \
         consented to these scopes before (prompt=consent asks again).",
        vec![],
    );
    run.mark_step(
        Step::GiveConsent,
        StepStatus::Done,
        "You allowed the request (or had before): the server records the consent.",
        vec![],
    );

    // RFC 9207 §2.4: this server always sends `iss`; it must be the expected issuer.
    if get_param(&params, "iss") != Some(state.issuer.as_str()) {
        run.mark_step(
            Step::IssueCode,
            StepStatus::Error,
            "The iss parameter is missing or names another server: the client refuses the code (RFC 9207).",
            vec![arrival],
        );
        return save(&state, &session, &run, &secrets).await;
    }
    let Some(code) = get_param(&params, "code") else {
        run.mark_step(
            Step::IssueCode,
            StepStatus::Error,
            "No code in the response.",
            vec![arrival],
        );
        return save(&state, &session, &run, &secrets).await;
    };
    run.mark_step(
        Step::IssueCode,
        StepStatus::Done,
        "The server redirected the browser back with a code. The client checked that state is the one it \
         sent and iss is this server.",
        vec![arrival],
    );

    // The back-channel exchange.
    let client = match oauth_client(&state).await {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let dpop_key = if run.options.dpop { secrets.dpop_key() } else { None };
    let recorder = Recorder::new(&state.issuer, dpop_key.clone());
    let transport = |req: oauth2::HttpRequest| {
        let r = recorder.clone();
        async move { r.send(req).await }
    };
    let mut exchange = client.exchange_code(AuthorizationCode::new(code.to_owned()));
    if let Some(v) = secrets.verifier.take() {
        exchange = exchange.set_pkce_verifier(PkceCodeVerifier::new(v));
    }
    let result = exchange.request_async(&transport).await;
    let exchanges = recorder.all();
    let seen = recorder.last();
    if let Some(key) = &dpop_key {
        mark_proofs(&mut run, key, &exchanges);
    }
    let mut note = "The client's server calls the token endpoint directly (not through the browser), authenticating \
                    with its secret (HTTP Basic) and proving PKCE with the verifier (RFC 6749 §4.1.3, RFC 7636 §4.5)."
        .to_owned();
    if dpop_key.is_some() {
        note.push_str(" The DPoP header carries the proof (RFC 9449 §5).");
    }
    if exchanges.len() > 1 {
        note.push_str(
            " The server first asked for a nonce (use_dpop_nonce, RFC 9449 §8): the client signed a new proof \
             with the nonce from DPoP-Nonce and sent the request again.",
        );
    }
    run.mark_step(Step::RequestToken, StepStatus::Done, note, token_requests(&exchanges));
    let response_message = Message {
        title: "Token response".into(),
        text: seen.response.clone(),
        params: vec![],
    };
    let token = match result {
        Ok(t) => t,
        Err(e) => {
            run.mark_step(
                Step::ValidateRequest,
                StepStatus::Error,
                format!(
                    "The server refused the token request: {}",
                    short_error(&seen, &e.to_string())
                ),
                vec![],
            );
            run.mark_step(
                Step::ReturnToken,
                StepStatus::Error,
                "No tokens.",
                vec![response_message],
            );
            return save(&state, &session, &run, &secrets).await;
        }
    };
    let mut note =
        "The server checked the client's secret; that the code is this client's, unused and unexpired; that \
                    redirect_uri is the one of the authorization request; and that SHA-256(code_verifier) equals the \
                    code_challenge (RFC 7636 §4.6)."
            .to_owned();
    if dpop_key.is_some() {
        note.push_str(
            " And the DPoP proof (RFC 9449 §4.3): its signature with the key in its header, typ and alg, htm and \
             htu naming this request, iat within a minute, a jti never seen before, and the key's thumbprint \
             equal to the code's dpop_jkt.",
        );
    }
    run.mark_step(Step::ValidateRequest, StepStatus::Done, note, vec![]);
    let access = token.access_token().secret().clone();
    let mut decoded = decode_jwt("Access token (RFC 9068)", &access);
    let mut note =
        "The server answered with an access token (a JWT for the API) and, with openid, an ID token saying who \
         signed in."
            .to_owned();
    let mut status = StepStatus::Done;
    if let Some(key) = &dpop_key {
        // RFC 9449 §5 and §6.1: a bound token says so, and carries the key's thumbprint.
        let token_type = token.token_type().as_ref().to_owned();
        let jkt = jwt_claims(&access)
            .pointer("/cnf/jkt")
            .and_then(|j| j.as_str())
            .map(str::to_owned);
        decoded.params = vec![
            param(
                "token_type",
                &token_type,
                "DPoP: the token is bound to a key and must come with a proof (RFC 9449 §5)",
            ),
            param(
                "cnf.jkt",
                jkt.as_deref().unwrap_or("[missing]"),
                "the thumbprint of the client's DPoP key (RFC 9449 §6.1): without that key's proof the token is refused",
            ),
        ];
        if token_type.eq_ignore_ascii_case("dpop") && jkt.as_deref() == Some(key.jkt()) {
            note.push_str(
                " The access token is bound to the client's key: token_type is DPoP and the token's cnf.jkt is the \
                 thumbprint of the key in the proof, so whoever steals the token cannot use it without the private key.",
            );
        } else {
            status = StepStatus::Error;
            note = "The server did not bind the access token to the client's key (token_type DPoP, cnf.jkt).".into();
        }
    }
    let mut messages = vec![response_message, decoded];
    if let Some(id_token) = token.extra_fields().id_token.as_deref() {
        messages.push(decode_jwt("ID token (OIDC Core §2)", id_token));
        // OIDC Core §3.1.3.7: the ID token must repeat the nonce of the request.
        let nonce_ok = jwt_claims(id_token)
            .get("nonce")
            .and_then(|n| n.as_str())
            .is_some_and(|n| constant_time_eq(n, &secrets.nonce));
        if nonce_ok {
            if status == StepStatus::Done {
                note.push_str(" The client checked that the ID token's nonce is the one it sent.");
            }
        } else {
            status = StepStatus::Error;
            note = "The ID token's nonce is not the one the client sent: the client rejects it.".into();
        }
    }
    run.mark_step(Step::ReturnToken, status, note, messages);
    secrets.access_token = Some(access.clone());
    secrets.owner = session_user(&state, &session).await;
    secrets.refresh_token = token.refresh_token().map(|r| r.secret().clone());
    run.has_tokens = status == StepStatus::Done;
    run.has_refresh_token = run.has_tokens && secrets.refresh_token.is_some();
    if status == StepStatus::Error {
        return save(&state, &session, &run, &secrets).await;
    }

    if dpop_key.is_some() {
        // RFC 9449 §7.2: what a thief holding only the token gets.
        let bare = call_api(&state.issuer, &access, None).await;
        run.mark_step(
            Step::CallApiBearer,
            StepStatus::Done,
            "To show what the binding is for, the client presents the bound token as a plain Bearer token, \
             without a proof — as anyone who stole the token would have to.",
            vec![bare.request.clone()],
        );
        let refused = bare.refused_as_unbound();
        run.mark_step(
            Step::RefuseToken,
            if refused { StepStatus::Done } else { StepStatus::Error },
            if refused {
                "The API refuses it: a DPoP-bound token is never accepted as a Bearer token (RFC 9449 §7.2). The \
                 401's WWW-Authenticate names the DPoP scheme and error=\"invalid_token\"."
            } else {
                "The API did not refuse the bound token without its proof as it should (RFC 9449 §7.2)."
            },
            vec![bare.response],
        );
    }

    // The API call.
    let call = call_api(&state.issuer, &access, dpop_key.as_deref()).await;
    let ok = call.ok();
    let (asked, answered) = if dpop_key.is_some() {
        (
            "The client calls the API with the token under the DPoP scheme (Authorization: DPoP) and a new proof \
             for this request, whose ath is the hash of the token (RFC 9449 §7.1).",
            "The API checked the token (signature, issuer, audience, expiry, not revoked) and the proof: signed \
             by the key the token is bound to (cnf.jkt), for this method and URL, with ath the token's hash, not \
             seen before. Then it answered.",
        )
    } else {
        (
            "The client calls the API with the access token as a Bearer token (RFC 6750 §2.1).",
            "The API checked the token (signature, issuer, audience, expiry, not revoked) and answered.",
        )
    };
    run.mark_step(
        Step::CallApi,
        StepStatus::Done,
        asked,
        [Some(call.request), call.proof].into_iter().flatten().collect(),
    );
    run.mark_step(
        Step::ReturnData,
        if ok { StepStatus::Done } else { StepStatus::Error },
        if ok { answered } else { "The API refused the token." },
        vec![call.response],
    );
    save(&state, &session, &run, &secrets).await
}

/// Step::SignProof: the proof (or proofs, after a nonce) that went with the token request.
fn mark_proofs(run: &mut DemoRun, key: &DpopKey, exchanges: &[Exchange]) {
    let proofs: Vec<Message> = exchanges
        .iter()
        .filter_map(|e| e.proof.as_ref())
        .enumerate()
        .map(|(i, p)| {
            let title = if i == 0 {
                "The DPoP proof for the token request"
            } else {
                "The DPoP proof, signed again with the server's nonce"
            };
            proof_message(title, p, key)
        })
        .collect();
    if proofs.is_empty() {
        run.mark_step(Step::SignProof, StepStatus::Error, "No proof was made.", vec![]);
        return;
    }
    run.mark_step(
        Step::SignProof,
        StepStatus::Done,
        "The client signs a DPoP proof with its private key: a short JWT whose header carries the public key \
         (jwk) and whose claims name this one request (htm, htu), with a fresh jti and the time (RFC 9449 §4.2). \
         It proves that whoever sends the request holds the key.",
        proofs,
    );
}

/// The token request as sent; after a `use_dpop_nonce`, the first attempt and its answer too.
fn token_requests(exchanges: &[Exchange]) -> Vec<Message> {
    let mut messages = Vec::new();
    for (i, e) in exchanges.iter().enumerate() {
        let last = i + 1 == exchanges.len();
        messages.push(Message {
            title: if i == 0 {
                "Token request".into()
            } else {
                "Token request, again with the nonce".into()
            },
            text: e.request.clone(),
            params: vec![],
        });
        if !last {
            messages.push(Message {
                title: "Token response: a nonce is needed".into(),
                text: e.response.clone(),
                params: vec![],
            });
        }
    }
    messages
}

// ---------------------------------------------------------------------------------------
// After the run: the follow-up actions ([`Action`]).

/// The run to act on: the form's CSRF token checked, and the tokens only while this
/// session still speaks for the user they were issued to (#18 item 7). After a sign-out,
/// a password change elsewhere or a disabled account, the run is over: no refresh with a
/// token its user no longer stands behind.
async fn after_run(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(DemoRun, Secrets), Response> {
    let form = form(headers, body);
    if !csrf_checked(state, session, headers, &form).await {
        return Err(Redirect::to("/demo?error=expired").into_response());
    }
    match load(state, session).await {
        (Some(run), secrets) if secrets.owner.is_none() || secrets.owner == session_user(state, session).await => {
            Ok((run, secrets))
        }
        (Some(_), _) => {
            let _ = session.remove_value(DEMO_RUN_KEY).await;
            let _ = session.remove_value(SECRETS_KEY).await;
            Err(Redirect::to("/demo?error=norun").into_response())
        }
        (None, _) => Err(Redirect::to("/demo?error=norun").into_response()),
    }
}

/// The id of the user this session speaks for, if any (signed in, enabled, password
/// unchanged since).
async fn session_user(state: &AppState, session: &Session) -> Option<String> {
    tessera_services::session::current_user(state.db.store.as_ref(), session)
        .await
        .ok()
        .flatten()
        .map(|u| u.id)
}

async fn refresh(State(state): State<AppState>, session: Session, headers: HeaderMap, body: Bytes) -> Response {
    let (mut run, mut secrets) = match after_run(&state, &session, &headers, &body).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Some(refresh_token) = secrets.refresh_token.clone() else {
        return Redirect::to("/demo").into_response();
    };
    let client = match oauth_client(&state).await {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    // RFC 9449 §5: with DPoP, the refresh request carries a proof too, and the new access
    // token is bound to the same key.
    let dpop_key = if run.options.dpop { secrets.dpop_key() } else { None };
    let recorder = Recorder::new(&state.issuer, dpop_key.clone());
    let transport = |req: oauth2::HttpRequest| {
        let r = recorder.clone();
        async move { r.send(req).await }
    };
    let token = RefreshToken::new(refresh_token);
    let result = client.exchange_refresh_token(&token).request_async(&transport).await;
    let exchanges = recorder.all();
    let seen = recorder.last();
    let mut messages = Vec::new();
    if let Some(key) = &dpop_key {
        if let Some(proof) = exchanges.iter().rev().find_map(|e| e.proof.as_ref()) {
            messages.push(proof_message("The DPoP proof for the refresh request", proof, key));
        }
    }
    messages.extend(token_requests(&exchanges));
    messages.push(Message {
        title: "Token response".into(),
        text: seen.response.clone(),
        params: vec![],
    });
    let (status, note) = match result {
        Ok(t) => {
            let access = t.access_token().secret().clone();
            let mut decoded = decode_jwt("New access token", &access);
            if dpop_key.is_some() {
                let jkt = jwt_claims(&access)
                    .pointer("/cnf/jkt")
                    .and_then(|j| j.as_str())
                    .unwrap_or("[missing]")
                    .to_owned();
                decoded.params = vec![param(
                    "cnf.jkt",
                    &jkt,
                    "still the thumbprint of the client's DPoP key: the new token is bound to it too",
                )];
            }
            messages.push(decoded);
            secrets.access_token = Some(access);
            // Refresh tokens rotate: the old one is now spent (RFC 9700 §4.14.2).
            secrets.refresh_token = t.refresh_token().map(|r| r.secret().clone());
            run.has_tokens = true;
            run.has_refresh_token = secrets.refresh_token.is_some();
            let mut note = "The client traded its refresh token for a new access token and a new refresh token; \
                            the old refresh token is spent (rotation, RFC 9700 §4.14.2)."
                .to_owned();
            if dpop_key.is_some() {
                note.push_str(
                    " A DPoP proof of the same key came with the request, so the new access token is bound to \
                     that key too.",
                );
            }
            (StepStatus::Done, note)
        }
        Err(e) => (
            StepStatus::Error,
            format!("The server refused: {}", short_error(&seen, &e.to_string())),
        ),
    };
    run.after.push(Action::Refresh.record(status, note, messages));
    save(&state, &session, &run, &secrets).await
}

async fn revoke(State(state): State<AppState>, session: Session, headers: HeaderMap, body: Bytes) -> Response {
    let (mut run, mut secrets) = match after_run(&state, &session, &headers, &body).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    // RFC 7009 §2.1: revoking the refresh token also ends the access tokens of the same
    // grant on this server; without one, the access token itself is revoked.
    let (revocable, what) = match (&secrets.refresh_token, &secrets.access_token) {
        (Some(r), _) => (
            StandardRevocableToken::RefreshToken(RefreshToken::new(r.clone())),
            "refresh token",
        ),
        (None, Some(a)) => (
            StandardRevocableToken::AccessToken(AccessToken::new(a.clone())),
            "access token",
        ),
        (None, None) => return Redirect::to("/demo").into_response(),
    };
    let client = match oauth_client(&state).await {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let recorder = Recorder::new(&state.issuer, None);
    let transport = |req: oauth2::HttpRequest| {
        let r = recorder.clone();
        async move { r.send(req).await }
    };
    let result = match client.revoke_token(revocable) {
        Ok(req) => req.request_async(&transport).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let seen = recorder.last();
    let messages = vec![
        Message {
            title: "Revocation request".into(),
            text: seen.request.clone(),
            params: vec![],
        },
        Message {
            title: "Revocation response".into(),
            text: seen.response.clone(),
            params: vec![],
        },
    ];
    let (status, note) = match result {
        Ok(()) => {
            secrets.refresh_token = None;
            run.has_refresh_token = false;
            (
                StepStatus::Done,
                format!(
                    "The client revoked its {what} (RFC 7009). The access token from the same grant no longer \
                     works: call the API again to see the 401."
                ),
            )
        }
        Err(e) => (
            StepStatus::Error,
            format!("The revocation failed: {}", short_error(&seen, &e)),
        ),
    };
    run.after.push(Action::Revoke.record(status, note, messages));
    save(&state, &session, &run, &secrets).await
}

async fn call_api_again(State(state): State<AppState>, session: Session, headers: HeaderMap, body: Bytes) -> Response {
    let (mut run, secrets) = match after_run(&state, &session, &headers, &body).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Some(access) = secrets.access_token.clone() else {
        return Redirect::to("/demo").into_response();
    };
    // With DPoP, under the DPoP scheme with a new proof (a proof is used once).
    let dpop_key = if run.options.dpop { secrets.dpop_key() } else { None };
    let call = call_api(&state.issuer, &access, dpop_key.as_deref()).await;
    let (status, note) = if call.ok() {
        (StepStatus::Done, "The API accepted the access token again.")
    } else {
        (
            StepStatus::Error,
            "The API refused the access token: 401 with WWW-Authenticate (RFC 6750 §3), as after a revocation.",
        )
    };
    let messages = [Some(call.request), call.proof, Some(call.response)]
        .into_iter()
        .flatten()
        .collect();
    run.after.push(Action::CallApiAgain.record(status, note, messages));
    save(&state, &session, &run, &secrets).await
}

async fn reset(State(state): State<AppState>, session: Session, headers: HeaderMap, body: Bytes) -> Response {
    let form = form(&headers, &body);
    if csrf_checked(&state, &session, &headers, &form).await {
        let _ = session.remove_value(DEMO_RUN_KEY).await;
        let _ = session.remove_value(SECRETS_KEY).await;
    }
    Redirect::to("/demo").into_response()
}
