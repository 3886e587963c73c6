//! The authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2): validate a request
//! into an [`AuthorizeRequest`], decide what the user must do next, and build the
//! redirect back to the client.
//!
//! Order matters. Until the client and its redirect URI are verified, errors are shown
//! to the user ([`AuthorizeError::ShowToUser`]); after that they go back to the client
//! ([`AuthorizeError::Redirect`], with `state`).

use serde::{Deserialize, Serialize};

use crate::error::{AuthorizeError, ErrorCode, OAuthError};
use crate::model::GrantType;
use crate::params;
use crate::pkce::PkceChallenge;
use crate::scope::OPENID;
use crate::store::Client;
use crate::types::{RedirectUri, ScopeSet};

/// The parameters this endpoint reads or deliberately refuses. RFC 6749 §3.1: unknown
/// parameters are ignored, so only these are checked for repetition.
const RECOGNIZED: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
    "display",
    "ui_locales",
    "acr_values",
    "claims",
    "request",
    "request_uri",
    "dpop_jkt",
];

/// OIDC Core §3.1.2.1 `prompt`: which interactions the client asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
    pub select_account: bool,
}

impl Prompt {
    /// OIDC Core §3.1.2.1: a space-delimited list of none, login, consent, select_account;
    /// `none` with any other value is an error. Unknown values are refused too.
    pub fn parse(raw: Option<&str>) -> Result<Self, OAuthError> {
        let mut p = Self::default();
        for value in raw.unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
            match value {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                "select_account" => p.select_account = true,
                other => {
                    return Err(OAuthError::invalid_request("unsupported prompt value")
                        .with_detail(format!("prompt value {other:?}")))
                }
            }
        }
        if p.none && (p.login || p.consent || p.select_account) {
            return Err(OAuthError::invalid_request(
                "prompt=none cannot be combined with other values",
            ));
        }
        Ok(p)
    }
}

/// A validated authorization request; the server stores it as the pending authorization
/// while the user signs in and consents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    pub client_id: String,
    /// The redirect URI to answer to: the one sent (matched against the registered
    /// ones) or the single registered one.
    pub redirect_uri: RedirectUri,
    /// Whether `redirect_uri` was in the request; RFC 6749 §4.1.3 then requires it, with
    /// the same value, at the token endpoint.
    pub redirect_uri_in_request: bool,
    pub scopes: ScopeSet,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub pkce: Option<PkceChallenge>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// OIDC Core §3.1.2.1: an ID token the client got before, naming who it expects to be
    /// signed in (checked by the server, which holds the keys).
    #[serde(default)]
    pub id_token_hint: Option<String>,
    /// When the request arrived (Unix seconds).
    pub requested_at: i64,
    /// RFC 9449 §10: the thumbprint of the DPoP key the code is to be bound to.
    #[serde(default)]
    pub dpop_jkt: Option<String>,
    /// RFC 8707 §2: the `resource` values (checked against the registered APIs and the
    /// client by the server), in the order sent.
    #[serde(default)]
    pub resources: Vec<String>,
}

/// The first step: which client is asking. RFC 6749 §4.1.2.1: a missing, repeated or
/// unknown client_id is shown to the user, never redirected.
pub fn client_id(pairs: &[(String, String)]) -> Result<String, AuthorizeError> {
    let show = |d| AuthorizeError::ShowToUser(OAuthError::invalid_request(d));
    if params::duplicated(pairs, &["client_id"]).is_some() {
        return Err(show("repeated client_id"));
    }
    let id = params::get(pairs, "client_id").ok_or_else(|| show("missing client_id"))?;
    if id.len() > MAX_CLIENT_ID {
        return Err(show("client_id is too long"));
    }
    Ok(id.to_owned())
}

/// RFC 9126 §2.2: the prefix of every `request_uri` this server issues for a pushed
/// authorization request; the rest is the pushed request's opaque random id.
pub const PUSHED_REQUEST_URN: &str = "urn:ietf:params:oauth:request_uri:";

/// RFC 9126 §4: the id of the pushed request that `request_uri` names, when it is one of
/// ours; `None` when there is no `request_uri` or it is any other value (which
/// [`AuthorizeRequest::validate`] refuses as `request_uri_not_supported`). Nothing is
/// redirected before the pushed request is found: a repeated `request_uri` or an empty id
/// is shown to the user.
pub fn pushed_request_id(pairs: &[(String, String)]) -> Result<Option<String>, AuthorizeError> {
    let invalid = |d| AuthorizeError::ShowToUser(OAuthError::new(ErrorCode::InvalidRequestUri, d));
    let ours = |v: &str| v.starts_with(PUSHED_REQUEST_URN);
    let values: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "request_uri")
        .map(|(_, v)| v.as_str())
        .collect();
    match values.as_slice() {
        [] => Ok(None),
        [one] if ours(one) => match one.get(PUSHED_REQUEST_URN.len()..) {
            Some(id) if !id.is_empty() && id.len() <= crate::policy::MAX_PUSHED_REQUEST_ID => Ok(Some(id.to_owned())),
            _ => Err(invalid("request_uri is invalid, expired or already used")),
        },
        [_] => Ok(None),
        // RFC 6749 §3.1: no repeats; which one was meant cannot be told.
        _ if values.iter().any(|v| ours(v)) => Err(AuthorizeError::ShowToUser(OAuthError::invalid_request(
            "repeated request_uri",
        ))),
        _ => Ok(None),
    }
}

/// RFC 9126 §2.1: a pushed request must not itself name a `request_uri`; refused at the
/// push with invalid_request.
pub fn check_pushed_parameters(pairs: &[(String, String)]) -> Result<(), OAuthError> {
    if pairs.iter().any(|(k, _)| k == "request_uri") {
        return Err(OAuthError::invalid_request("request_uri must not be pushed"));
    }
    Ok(())
}

/// RFC 9126 §5 and §6 (`require_pushed_authorization_requests`): the refusal of a plain
/// authorization request from a client that must push. It goes where the request's own
/// validation would send an error: back to the client (invalid_request, with `state`)
/// once the redirect URI is verified, as node-oidc-provider does; shown to the user when
/// the client or redirect URI could not be verified.
pub fn pushed_request_required(validated: Result<AuthorizeRequest, AuthorizeError>) -> AuthorizeError {
    let required = OAuthError::invalid_request("pushed authorization request required");
    match validated {
        Ok(request) => request.error(required),
        Err(AuthorizeError::ShowToUser(e)) => AuthorizeError::ShowToUser(e),
        Err(redirect) => redirect.with_error(required),
    }
}

/// Length bounds (bytes) on what `/authorize` accepts and keeps while the user signs in.
pub use crate::policy::{
    MAX_CLIENT_ID, MAX_ID_TOKEN_HINT, MAX_LOGIN_HINT, MAX_NONCE, MAX_REDIRECT_URI, MAX_SCOPE, MAX_STATE,
};

impl AuthorizeRequest {
    /// The second step, given the client looked up by [`client_id`]. `require_pkce` is
    /// the server's policy for confidential clients (public clients always need PKCE);
    /// `known_scope` says whether the server defines a scope at all.
    pub fn validate(
        pairs: &[(String, String)],
        client: Option<&Client>,
        require_pkce: bool,
        known_scope: impl Fn(&str) -> bool,
        now: i64,
    ) -> Result<Self, AuthorizeError> {
        let show = AuthorizeError::ShowToUser;
        let id = client_id(pairs)?;
        let client = client.filter(|c| c.client_id == id).ok_or_else(|| {
            show(OAuthError::invalid_request("unknown client").with_detail(format!("client_id {id:?}")))
        })?;

        // RFC 6749 §3.1: no repeats; a repeated redirect_uri cannot be verified.
        if params::duplicated(pairs, &["redirect_uri"]).is_some() {
            return Err(show(OAuthError::invalid_request("repeated redirect_uri")));
        }
        let (redirect_uri, redirect_uri_in_request) = match params::get(pairs, "redirect_uri") {
            Some(given) if given.len() > MAX_REDIRECT_URI => {
                return Err(show(OAuthError::invalid_request("redirect_uri is too long")))
            }
            Some(given) => {
                let matched = match_redirect_uri(given, client).ok_or_else(|| {
                    show(
                        OAuthError::invalid_request("redirect_uri is not registered for this client")
                            .with_detail(format!("redirect_uri {given:?}")),
                    )
                })?;
                (matched, true)
            }
            None => {
                // OIDC Core §3.1.2.1: redirect_uri is REQUIRED in an OpenID request.
                // RFC 6749 §3.1.2.3: otherwise it may be omitted if exactly one is registered.
                let openid = pairs
                    .iter()
                    .any(|(k, v)| k == "scope" && v.split(' ').any(|t| t == OPENID));
                match client.redirect_uris.as_slice() {
                    [only] if !openid => (only.clone(), false),
                    _ => return Err(show(OAuthError::invalid_request("missing redirect_uri"))),
                }
            }
        };

        // From here on the redirect URI is verified: errors go back to the client.
        let state_repeated = params::duplicated(pairs, &["state"]).is_some();
        // An overlong state is not echoed back (it would make the redirect as long).
        let state_too_long = params::get(pairs, "state").is_some_and(|s| s.len() > MAX_STATE);
        let state = if state_repeated || state_too_long {
            None
        } else {
            params::get(pairs, "state").map(str::to_owned)
        };
        let redirect = |error: OAuthError| AuthorizeError::Redirect {
            redirect_uri: redirect_uri.as_str().to_owned(),
            state: state.clone(),
            error,
        };
        let get = |name| params::get(pairs, name);

        // Bounded sizes (see MAX_STATE and the others): invalid_request, before any of
        // them is parsed or kept.
        for (name, max) in [
            ("state", MAX_STATE),
            ("nonce", MAX_NONCE),
            ("login_hint", MAX_LOGIN_HINT),
            ("id_token_hint", MAX_ID_TOKEN_HINT),
            ("scope", MAX_SCOPE),
        ] {
            if pairs.iter().any(|(k, v)| k == name && v.len() > max) {
                return Err(redirect(
                    OAuthError::invalid_request("parameter too long")
                        .with_detail(format!("{name} longer than {max} bytes")),
                ));
            }
        }
        // RFC 6749 §3.1: parameters MUST NOT be included more than once.
        if let Some(name) = params::duplicated(pairs, RECOGNIZED) {
            return Err(redirect(
                OAuthError::invalid_request("repeated parameter").with_detail(format!("repeated {name}")),
            ));
        }
        // OIDC Core §6: request objects are optional; we support neither form.
        if get("request").is_some() {
            return Err(redirect(OAuthError::new(
                ErrorCode::RequestNotSupported,
                "request parameter not supported",
            )));
        }
        if get("request_uri").is_some() {
            return Err(redirect(OAuthError::new(
                ErrorCode::RequestUriNotSupported,
                "request_uri parameter not supported",
            )));
        }
        // RFC 6749 §4.1.1: response_type is REQUIRED and must be "code" (the only flow
        // we offer; RFC 9700 §2.1.2 advises against the implicit grant).
        match get("response_type") {
            None => return Err(redirect(OAuthError::invalid_request("missing response_type"))),
            Some("code") => {}
            Some(other) => {
                return Err(redirect(
                    OAuthError::new(ErrorCode::UnsupportedResponseType, "response_type must be code")
                        .with_detail(format!("response_type {other:?}")),
                ))
            }
        }
        // OAuth 2.0 Multiple Response Type Encoding Practices §2.1: only query is offered.
        if get("response_mode").is_some_and(|m| m != "query") {
            return Err(redirect(OAuthError::invalid_request("unsupported response_mode")));
        }
        // RFC 6749 §3.3: the server may refuse a request without scope; we do rather than
        // guess a default, so that consent shows exactly what the client asked for.
        let scopes = get("scope")
            .map(ScopeSet::parse)
            .transpose()
            .map_err(|e| redirect(OAuthError::invalid_scope("invalid scope").with_detail(e.to_string())))?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| redirect(OAuthError::invalid_scope("scope required")))?;
        // RFC 6749 §3.3: every scope must be one the client may request and the server knows.
        if let Some(bad) = scopes.iter().find(|s| !client.scopes.contains(s) || !known_scope(s)) {
            return Err(redirect(
                OAuthError::invalid_scope("scope not allowed for this client").with_detail(format!("scope {bad:?}")),
            ));
        }
        // RFC 7636 §4.4.1 and RFC 9700 §2.1.1: PKCE S256, required for public clients
        // (and for all clients when the server says so).
        let pkce = PkceChallenge::parse(get("code_challenge"), get("code_challenge_method")).map_err(redirect)?;
        if pkce.is_none() && (client.is_public || require_pkce) {
            return Err(redirect(OAuthError::invalid_request("code_challenge required")));
        }
        let prompt = Prompt::parse(get("prompt")).map_err(redirect)?;
        // OIDC Core §3.1.2.1: max_age is a non-negative number of seconds.
        let max_age = get("max_age")
            .map(|raw| {
                raw.bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| raw.parse::<i64>().ok())
                    .flatten()
                    .ok_or_else(|| redirect(OAuthError::invalid_request("invalid max_age")))
            })
            .transpose()?;
        // RFC 9449 §10: dpop_jkt, when sent, is a JWK SHA-256 thumbprint.
        let dpop_jkt = get("dpop_jkt")
            .map(crate::dpop::parse_dpop_jkt)
            .transpose()
            .map_err(redirect)?;
        // RFC 8707 §2: absolute URIs without a fragment, else invalid_target (whether each
        // is a registered API the client may use is the server's check).
        let resources = crate::resource::requested(pairs).map_err(redirect)?;

        Ok(Self {
            client_id: id,
            redirect_uri,
            redirect_uri_in_request,
            scopes,
            state,
            nonce: get("nonce").map(str::to_owned),
            pkce,
            prompt,
            max_age,
            login_hint: get("login_hint").map(str::to_owned),
            id_token_hint: get("id_token_hint").map(str::to_owned),
            requested_at: now,
            dpop_jkt,
            resources,
        })
    }

    /// Checks a pending request again against its client as registered now, before
    /// acting on it (#18 item 9): while the user signed in, an administrator may have
    /// removed the client, the redirect URI (say, because it was compromised), a scope,
    /// the code grant, or turned PKCE on. A redirect URI no longer registered is shown to
    /// the user, never redirected to (RFC 6749 §4.1.2.1).
    pub fn recheck(&self, client: Option<&Client>) -> Result<(), AuthorizeError> {
        let show = AuthorizeError::ShowToUser;
        let client = client.filter(|c| c.client_id == self.client_id).ok_or_else(|| {
            show(OAuthError::invalid_request("unknown client").with_detail("client removed while pending"))
        })?;
        if match_redirect_uri(self.redirect_uri.as_str(), client).is_none() {
            return Err(show(
                OAuthError::invalid_request("redirect_uri is not registered for this client")
                    .with_detail("redirect_uri removed while pending"),
            ));
        }
        if !client.allows_grant(GrantType::AuthorizationCode) {
            return Err(self.error(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "client may not use the authorization code grant",
            )));
        }
        if let Some(bad) = self.scopes.iter().find(|s| !client.scopes.contains(s)) {
            return Err(self.error(
                OAuthError::invalid_scope("scope not allowed for this client")
                    .with_detail(format!("scope {bad:?} removed while pending")),
            ));
        }
        if self.pkce.is_none() && client.requires_pkce() {
            return Err(self.error(OAuthError::invalid_request("code_challenge required")));
        }
        Ok(())
    }

    /// An error to send back to this request's client.
    pub fn error(&self, error: OAuthError) -> AuthorizeError {
        AuthorizeError::Redirect {
            redirect_uri: self.redirect_uri.as_str().to_owned(),
            state: self.state.clone(),
            error,
        }
    }

    /// RFC 6749 §4.1.2.1: the user (or the server) refused the request.
    pub fn deny(&self) -> AuthorizeError {
        self.error(OAuthError::new(ErrorCode::AccessDenied, "the request was denied"))
    }

    /// The successful response for this request (RFC 6749 §4.1.2, RFC 9207 §2).
    pub fn success_url(&self, code: &str, iss: &str) -> String {
        success_redirect(self.redirect_uri.as_str(), code, self.state.as_deref(), iss)
    }
}

/// RFC 9700 §4.1.3: redirect URIs are compared as exact strings. RFC 8252 §7.3: a
/// native (public) client's loopback IP redirect URI matches whatever port it uses.
fn match_redirect_uri(given: &str, client: &Client) -> Option<RedirectUri> {
    if let Some(exact) = client.redirect_uris.iter().find(|r| r.as_str() == given) {
        return Some(exact.clone());
    }
    if !client.is_public {
        return None;
    }
    let given_portless = without_loopback_port(given)?;
    client
        .redirect_uris
        .iter()
        .any(|r| without_loopback_port(r.as_str()).as_deref() == Some(given_portless.as_str()))
        .then(|| RedirectUri::parse(given).ok())
        .flatten()
}

/// `http://127.0.0.1:PORT/rest` → `http://127.0.0.1/rest` (also `[::1]`); `None` if the
/// string is not an http loopback IP URI. Plain string work, so no normalisation creeps
/// into the exact comparison. RFC 8252 §8.3: `localhost` is not given the port exception.
fn without_loopback_port(uri: &str) -> Option<String> {
    for host in ["http://127.0.0.1", "http://[::1]"] {
        let Some(rest) = uri.strip_prefix(host) else { continue };
        let rest = match rest.strip_prefix(':') {
            Some(after) => {
                let digits = after.bytes().take_while(u8::is_ascii_digit).count();
                if digits == 0 || digits > 5 {
                    return None;
                }
                after.get(digits..)?
            }
            None => rest,
        };
        return (rest.is_empty() || rest.starts_with(['/', '?'])).then(|| format!("{host}{rest}"));
    }
    None
}

/// Who is signed in, as far as the authorization decision cares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    pub user_id: String,
    /// OIDC Core §2 `auth_time`: when the user last actively authenticated.
    pub auth_time: i64,
}

/// What the user did while this pending request was open. A login or consent that
/// happened for this request satisfies `prompt=login` / `prompt=consent`; without this,
/// both prompts would ask again forever. Both count only for the user who did them
/// (`by`): if another user signs in on the same browser meanwhile, they start over.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    pub logged_in: bool,
    pub consented: bool,
    /// The user id the flags are for.
    #[serde(default)]
    pub by: Option<String>,
}

impl Interaction {
    /// `user_id` signed in for this request: any earlier flags of another user are void.
    pub fn logged_in_as(&mut self, user_id: &str) {
        self.of(user_id).logged_in = true;
    }

    /// `user_id` consented for this request: any earlier flags of another user are void.
    pub fn consented_as(&mut self, user_id: &str) {
        self.of(user_id).consented = true;
    }

    /// These flags as `user_id`'s: cleared first if they were another user's.
    fn of(&mut self, user_id: &str) -> &mut Self {
        if self.by.as_deref() != Some(user_id) {
            *self = Self {
                by: Some(user_id.to_owned()),
                ..Self::default()
            };
        }
        self
    }

    /// The flags as they apply to `user_id`.
    fn for_user(&self, user_id: &str) -> (bool, bool) {
        match self.by.as_deref() {
            Some(by) if by == user_id => (self.logged_in, self.consented),
            _ => (false, false),
        }
    }
}

/// A validated request waiting for the user, as stored between `/authorize` and the
/// login and consent pages. The browser carries only an opaque id for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub request: AuthorizeRequest,
    pub interaction: Interaction,
}

/// How long a user has to sign in and decide (see [`crate::policy`]).
pub use crate::policy::PENDING_LIFETIME;

/// What the server should do next with a validated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeDecision {
    /// Send the user to the login page.
    LoginRequired,
    /// Send the user to the consent page; `new_scopes` are those not granted before.
    ConsentRequired { user_id: String, new_scopes: ScopeSet },
    /// Issue an authorization code for this user.
    Issue { user_id: String, auth_time: i64 },
}

/// Decides the next step. `granted` is the consent on record for this user and client
/// (including one just given); `done` says what happened during this request.
pub fn decide(
    req: &AuthorizeRequest,
    session: Option<&Authentication>,
    granted: Option<&ScopeSet>,
    done: &Interaction,
    now: i64,
) -> Result<AuthorizeDecision, AuthorizeError> {
    let (logged_in, consented) = session.map_or((false, false), |s| done.for_user(&s.user_id));
    let session = session.filter(|s| logged_in || !login_needed(req, s, now));
    let Some(session) = session else {
        // OIDC Core §3.1.2.1 prompt=none: never show a page; §3.1.2.6 login_required.
        if req.prompt.none {
            return Err(req.error(OAuthError::new(ErrorCode::LoginRequired, "login required")));
        }
        return Ok(AuthorizeDecision::LoginRequired);
    };
    // RFC 6749 §4.1.1 / OIDC Core §3.1.2.4: the user approves the scopes; prompt=consent
    // asks again even when a consent is on record.
    let covered = granted.is_some_and(|g| req.scopes.is_subset(g));
    if !covered || (req.prompt.consent && !consented) {
        if req.prompt.none {
            return Err(req.error(OAuthError::new(ErrorCode::ConsentRequired, "consent required")));
        }
        let new_scopes = match granted {
            Some(g) => req.scopes.difference(g),
            None => req.scopes.clone(),
        };
        return Ok(AuthorizeDecision::ConsentRequired {
            user_id: session.user_id.clone(),
            new_scopes,
        });
    }
    Ok(AuthorizeDecision::Issue {
        user_id: session.user_id.clone(),
        auth_time: session.auth_time,
    })
}

/// OIDC Core §3.1.2.1: prompt=login and prompt=select_account ask the user to
/// authenticate again (with one session per browser, choosing an account is signing in
/// as it); max_age bounds the age of the authentication.
fn login_needed(req: &AuthorizeRequest, session: &Authentication, now: i64) -> bool {
    req.prompt.login
        || req.prompt.select_account
        || req
            .max_age
            .is_some_and(|max| now.saturating_sub(session.auth_time) > max)
}

/// RFC 6749 §4.1.2 and RFC 9207 §2: `code`, `state` (if the request had one) and `iss`
/// added to the redirect URI, keeping its own query (§3.1.2).
pub fn success_redirect(redirect_uri: &str, code: &str, state: Option<&str>, iss: &str) -> String {
    let mut pairs = vec![("code", code)];
    pairs.extend(state.map(|s| ("state", s)));
    pairs.push(("iss", iss));
    append_query(redirect_uri, &pairs)
}

/// RFC 6749 §4.1.2.1 and RFC 9207 §2: `error`, `error_description`, `state`, `iss`. The
/// internal detail is never included.
pub fn error_redirect(redirect_uri: &str, error: &OAuthError, state: Option<&str>, iss: &str) -> String {
    let mut pairs = vec![
        ("error", error.code.as_str()),
        ("error_description", error.description.as_str()),
    ];
    pairs.extend(state.map(|s| ("state", s)));
    pairs.push(("iss", iss));
    append_query(redirect_uri, &pairs)
}

/// RFC 6749 §3.1.2: the redirect URI's query is kept and ours appended, encoded as
/// `application/x-www-form-urlencoded` (Appendix B). Redirect URIs never carry a fragment.
fn append_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    let query = ser.finish();
    let sep = match uri.find('?') {
        None => "?",
        Some(_) if uri.ends_with('?') || uri.ends_with('&') => "",
        Some(_) => "&",
    };
    format!("{uri}{sep}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::pairs;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn client(id: &str, public: bool, uris: &[&str], scopes: &str) -> Client {
        Client {
            client_id: id.to_owned(),
            name: id.to_owned(),
            secret_hash: None,
            redirect_uris: uris.iter().map(|u| RedirectUri::parse(u).unwrap()).collect(),
            scopes: ScopeSet::parse(scopes).unwrap(),
            is_public: public,
            created_at: 0,
            settings: Default::default(),
        }
    }

    fn clients() -> Vec<Client> {
        vec![
            client(
                "conf",
                false,
                &[
                    "https://app.example/cb",
                    "https://app.example/cb2?x=1",
                    "http://127.0.0.1:8080/cb",
                ],
                "openid profile email offline_access api legacy",
            ),
            client(
                "pub",
                true,
                &["http://127.0.0.1/cb", "http://[::1]:9/cb", "com.example.app:/cb"],
                "openid profile",
            ),
            client("single", false, &["https://one.example/cb"], "api openid"),
        ]
    }

    #[derive(Debug, PartialEq)]
    enum Want {
        Ok,
        Show(ErrorCode),
        Redirect(ErrorCode, Option<String>),
    }

    fn outcome(r: &Result<AuthorizeRequest, AuthorizeError>) -> Want {
        match r {
            Ok(_) => Want::Ok,
            Err(AuthorizeError::ShowToUser(e)) => Want::Show(e.code),
            Err(AuthorizeError::Redirect { state, error, .. }) => Want::Redirect(error.code, state.clone()),
        }
    }

    type Pair = (&'static str, &'static str);

    /// A minimal valid request of the confidential client `conf`.
    const BASE: [Pair; 5] = [
        ("client_id", "conf"),
        ("redirect_uri", "https://app.example/cb"),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "xyz"),
    ];

    /// `base` with the parameters in `extra` replaced, or removed when the value is "<drop>".
    fn patched(base: &[Pair], extra: &[Pair]) -> Vec<Pair> {
        let mut v: Vec<_> = base
            .iter()
            .copied()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .collect();
        v.extend(extra.iter().copied().filter(|(_, val)| *val != "<drop>"));
        v
    }

    fn run(list: &[(&str, &str)], require_pkce: bool) -> Result<AuthorizeRequest, AuthorizeError> {
        let p = pairs(list);
        let all = clients();
        let found = client_id(&p).ok().and_then(|id| all.iter().find(|c| c.client_id == id));
        AuthorizeRequest::validate(&p, found, require_pkce, |s| s != "legacy", 1000)
    }

    #[test]
    fn validation_rules() {
        use ErrorCode::*;
        let base = BASE;
        let with = |extra: &[Pair]| patched(&base, extra);
        let pkce = [("code_challenge", CHALLENGE), ("code_challenge_method", "S256")];
        let mut pub_ok = vec![
            ("client_id", "pub"),
            ("redirect_uri", "http://127.0.0.1:51234/cb"),
            ("response_type", "code"),
            ("scope", "openid"),
        ];
        pub_ok.extend(pkce);
        let pub_with = |extra: &[Pair]| patched(&pub_ok, extra);
        let st = || Some("xyz".to_owned());
        let plus = |extra: &[Pair]| [base.as_slice(), extra].concat();
        #[rustfmt::skip]
        let table: Vec<(&str, Vec<Pair>, Want)> = vec![
            ("minimal valid", base.to_vec(), Want::Ok),
            // (a) client
            ("missing client_id", with(&[("client_id", "<drop>")]), Want::Show(InvalidRequest)),
            ("empty client_id", with(&[("client_id", "")]), Want::Show(InvalidRequest)),
            ("unknown client", with(&[("client_id", "nope")]), Want::Show(InvalidRequest)),
            ("repeated client_id", plus(&[("client_id", "conf")]), Want::Show(InvalidRequest)),
            // (b) redirect_uri
            ("registered with query", with(&[("redirect_uri", "https://app.example/cb2?x=1")]), Want::Ok),
            ("unregistered", with(&[("redirect_uri", "https://evil.example/cb")]), Want::Show(InvalidRequest)),
            ("prefix only", with(&[("redirect_uri", "https://app.example/cb/more")]), Want::Show(InvalidRequest)),
            ("trailing slash", with(&[("redirect_uri", "https://app.example/cb/")]), Want::Show(InvalidRequest)),
            ("case differs", with(&[("redirect_uri", "https://APP.example/cb")]), Want::Show(InvalidRequest)),
            ("extra query", with(&[("redirect_uri", "https://app.example/cb?x=1")]), Want::Show(InvalidRequest)),
            ("repeated redirect_uri", plus(&[("redirect_uri", "https://app.example/cb")]), Want::Show(InvalidRequest)),
            ("omitted, two registered", with(&[("redirect_uri", "<drop>"), ("scope", "api")]), Want::Show(InvalidRequest)),
            ("omitted, one registered, OAuth", with(&[("client_id", "single"), ("redirect_uri", "<drop>"), ("scope", "api")]), Want::Ok),
            ("omitted, one registered, OIDC", with(&[("client_id", "single"), ("redirect_uri", "<drop>")]), Want::Show(InvalidRequest)),
            // RFC 8252 §7.3 loopback, public clients only
            ("loopback any port v4", pub_ok.clone(), Want::Ok),
            ("loopback registered without port", pub_with(&[("redirect_uri", "http://127.0.0.1/cb")]), Want::Ok),
            ("loopback any port v6", pub_with(&[("redirect_uri", "http://[::1]:4000/cb")]), Want::Ok),
            ("loopback v6 without port", pub_with(&[("redirect_uri", "http://[::1]/cb")]), Want::Ok),
            ("loopback other path", pub_with(&[("redirect_uri", "http://127.0.0.1:5000/other")]), Want::Show(InvalidRequest)),
            ("loopback other host family", pub_with(&[("redirect_uri", "http://[::1]:5000/cb")]), Want::Ok),
            ("localhost gets no exception", pub_with(&[("redirect_uri", "http://localhost:5000/cb")]), Want::Show(InvalidRequest)),
            ("userinfo trick", pub_with(&[("redirect_uri", "http://127.0.0.1:80@evil.example/cb")]), Want::Show(InvalidRequest)),
            ("bad port", pub_with(&[("redirect_uri", "http://127.0.0.1:99999/cb")]), Want::Show(InvalidRequest)),
            ("private-use scheme exact", pub_with(&[("redirect_uri", "com.example.app:/cb")]), Want::Ok),
            ("confidential loopback exact", with(&[("redirect_uri", "http://127.0.0.1:8080/cb")]), Want::Ok),
            ("confidential gets no port exception", with(&[("redirect_uri", "http://127.0.0.1:9090/cb")]), Want::Show(InvalidRequest)),
            // (c) errors now redirect, with state
            ("repeated state", plus(&[("state", "abc")]), Want::Redirect(InvalidRequest, None)),
            ("repeated scope", plus(&[("scope", "openid")]), Want::Redirect(InvalidRequest, st())),
            ("repeated nonce", plus(&[("nonce", "a"), ("nonce", "b")]), Want::Redirect(InvalidRequest, st())),
            ("repeated unknown param is ignored", plus(&[("audience", "a"), ("audience", "b")]), Want::Ok),
            // RFC 8707 §2: resource may repeat; each an absolute URI without a fragment.
            ("two resources", plus(&[("resource", "https://a.example/"), ("resource", "urn:b")]), Want::Ok),
            ("relative resource", plus(&[("resource", "a")]), Want::Redirect(InvalidTarget, st())),
            ("resource with a fragment", plus(&[("resource", "https://a.example/#x")]), Want::Redirect(InvalidTarget, st())),
            ("request object", with(&[("request", "eyJ...")]), Want::Redirect(RequestNotSupported, st())),
            ("request_uri", with(&[("request_uri", "urn:x")]), Want::Redirect(RequestUriNotSupported, st())),
            ("missing response_type", with(&[("response_type", "<drop>")]), Want::Redirect(InvalidRequest, st())),
            ("token response_type", with(&[("response_type", "token")]), Want::Redirect(UnsupportedResponseType, st())),
            ("hybrid response_type", with(&[("response_type", "code id_token")]), Want::Redirect(UnsupportedResponseType, st())),
            ("response_mode query", with(&[("response_mode", "query")]), Want::Ok),
            ("response_mode fragment", with(&[("response_mode", "fragment")]), Want::Redirect(InvalidRequest, st())),
            ("missing scope", with(&[("scope", "<drop>")]), Want::Redirect(InvalidScope, st())),
            ("empty scope", with(&[("scope", "  ")]), Want::Redirect(InvalidScope, st())),
            ("malformed scope", with(&[("scope", "open\"id")]), Want::Redirect(InvalidScope, st())),
            ("scope not allowed for client", with(&[("scope", "openid admin")]), Want::Redirect(InvalidScope, st())),
            ("scope allowed but unknown to server", with(&[("scope", "legacy")]), Want::Redirect(InvalidScope, st())),
            ("all allowed scopes", with(&[("scope", "openid profile email offline_access api")]), Want::Ok),
            ("public without PKCE", pub_with(&[("code_challenge", "<drop>"), ("code_challenge_method", "<drop>")]), Want::Redirect(InvalidRequest, None)),
            ("public with plain PKCE", pub_with(&[("code_challenge_method", "plain")]), Want::Redirect(InvalidRequest, None)),
            ("confidential with PKCE", plus(&pkce), Want::Ok),
            ("PKCE method without challenge", with(&[("code_challenge_method", "S256")]), Want::Redirect(InvalidRequest, st())),
            ("prompt none", with(&[("prompt", "none")]), Want::Ok),
            ("prompt login consent", with(&[("prompt", "login consent")]), Want::Ok),
            ("prompt none login", with(&[("prompt", "none login")]), Want::Redirect(InvalidRequest, st())),
            ("prompt unknown", with(&[("prompt", "create")]), Want::Redirect(InvalidRequest, st())),
            ("max_age 0", with(&[("max_age", "0")]), Want::Ok),
            ("max_age negative", with(&[("max_age", "-1")]), Want::Redirect(InvalidRequest, st())),
            ("max_age plus sign", with(&[("max_age", "+5")]), Want::Redirect(InvalidRequest, st())),
            ("max_age text", with(&[("max_age", "soon")]), Want::Redirect(InvalidRequest, st())),
            ("max_age overflow", with(&[("max_age", "99999999999999999999")]), Want::Redirect(InvalidRequest, st())),
            ("empty values are omitted", with(&[("nonce", ""), ("prompt", ""), ("max_age", "")]), Want::Ok),
            // RFC 9449 §10: dpop_jkt is a JWK SHA-256 thumbprint.
            ("dpop_jkt", with(&[("dpop_jkt", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")]), Want::Ok),
            ("dpop_jkt malformed", with(&[("dpop_jkt", "not-a-thumbprint")]), Want::Redirect(InvalidRequest, st())),
        ];
        for (name, list, expected) in &table {
            assert_eq!(outcome(&run(list, false)), *expected, "{name}");
        }
        let two = run(
            &plus(&[
                ("resource", "urn:b"),
                ("resource", "https://a.example/"),
                ("resource", "urn:b"),
            ]),
            false,
        );
        assert_eq!(
            two.unwrap().resources,
            ["urn:b", "https://a.example/"],
            "in order, once each"
        );
        // Server policy: PKCE for confidential clients too.
        assert_eq!(outcome(&run(&base, true)), Want::Redirect(InvalidRequest, st()));
        assert_eq!(outcome(&run(&plus(&pkce), true)), Want::Ok);
    }

    /// What `/authorize` keeps while the user signs in is bounded: one byte over each
    /// limit is invalid_request (shown to the user while the redirect URI is unverified,
    /// else sent back without echoing an overlong state), at the limit it is accepted.
    #[test]
    fn length_bounds() {
        use ErrorCode::*;
        let base = BASE;
        let x = |n: usize| -> &'static str { "x".repeat(n).leak() };
        let with = |extra: &[Pair]| patched(&base, extra);
        let st = || Some("xyz".to_owned());
        #[rustfmt::skip]
        let table: Vec<(&str, Vec<Pair>, Want)> = vec![
            ("state at the limit", with(&[("state", x(MAX_STATE))]), Want::Ok),
            ("state over", with(&[("state", x(MAX_STATE + 1))]), Want::Redirect(InvalidRequest, None)),
            ("nonce at the limit", with(&[("nonce", x(MAX_NONCE))]), Want::Ok),
            ("nonce over", with(&[("nonce", x(MAX_NONCE + 1))]), Want::Redirect(InvalidRequest, st())),
            ("login_hint at the limit", with(&[("login_hint", x(MAX_LOGIN_HINT))]), Want::Ok),
            ("login_hint over", with(&[("login_hint", x(MAX_LOGIN_HINT + 1))]), Want::Redirect(InvalidRequest, st())),
            ("scope over", with(&[("scope", x(MAX_SCOPE + 1))]), Want::Redirect(InvalidRequest, st())),
            ("client_id over", with(&[("client_id", x(MAX_CLIENT_ID + 1))]), Want::Show(InvalidRequest)),
            ("redirect_uri over", with(&[("redirect_uri", x(MAX_REDIRECT_URI + 1))]), Want::Show(InvalidRequest)),
            // A repeated overlong value is caught too (not only the first occurrence).
            ("second nonce over", [base.as_slice(), &[("nonce", "a"), ("nonce", x(MAX_NONCE + 1))]].concat(), Want::Redirect(InvalidRequest, st())),
        ];
        for (name, list, expected) in &table {
            assert_eq!(outcome(&run(list, false)), *expected, "{name}");
        }
    }

    /// RFC 9126 §4: which `request_uri` values name one of our pushed requests; §2.1: none
    /// may be pushed.
    #[test]
    fn pushed_request_references() {
        use ErrorCode::*;
        let urn = |id: &str| format!("{PUSHED_REQUEST_URN}{id}");
        let long = urn(&"x".repeat(crate::policy::MAX_PUSHED_REQUEST_ID + 1));
        #[derive(Debug, PartialEq)]
        enum W {
            Id(&'static str),
            NotOurs,
            Show(ErrorCode),
        }
        let run = |values: &[&str]| {
            let p: Vec<(String, String)> = [("client_id", "conf")]
                .into_iter()
                .chain(values.iter().map(|v| ("request_uri", *v)))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            match pushed_request_id(&p) {
                Ok(Some(id)) => W::Id(id.leak()),
                Ok(None) => W::NotOurs,
                Err(AuthorizeError::ShowToUser(e)) => W::Show(e.code),
                Err(e) => panic!("redirected: {e:?}"),
            }
        };
        let ab = urn("abc");
        #[rustfmt::skip]
        let table: Vec<(&str, Vec<&str>, W)> = vec![
            ("none", vec![], W::NotOurs),
            ("ours", vec![&ab], W::Id("abc")),
            ("someone else's URL", vec!["https://client.example/req.jwt"], W::NotOurs),
            ("another URN", vec!["urn:example:abc"], W::NotOurs),
            ("ours without an id", vec![PUSHED_REQUEST_URN], W::Show(InvalidRequestUri)),
            ("ours with an overlong id", vec![&long], W::Show(InvalidRequestUri)),
            ("ours twice", vec![&ab, &ab], W::Show(InvalidRequest)),
            ("ours and another", vec!["https://x.example", &ab], W::Show(InvalidRequest)),
            ("two of someone else's", vec!["https://x.example", "https://y.example"], W::NotOurs),
        ];
        for (name, values, want) in table {
            assert_eq!(run(&values), want, "{name}");
        }
        assert!(check_pushed_parameters(&pairs(&BASE)).is_ok());
        let with_uri = patched(&BASE, &[("request_uri", "urn:x")]);
        assert_eq!(
            check_pushed_parameters(&pairs(&with_uri)).unwrap_err().code,
            InvalidRequest
        );
    }

    /// RFC 9126 §6: a client that must push gets invalid_request at a plain /authorize,
    /// redirected once the redirect URI is verified (with state), shown otherwise.
    #[test]
    fn pushed_request_required_goes_where_validation_sends_errors() {
        use ErrorCode::*;
        let required = |list: &[Pair]| outcome(&Err(pushed_request_required(run(list, false))));
        let st = || Some("xyz".to_owned());
        assert_eq!(required(&BASE), Want::Redirect(InvalidRequest, st()));
        // A later error (scope) is replaced: the client hears why first.
        let bad_scope = patched(&BASE, &[("scope", "admin")]);
        assert_eq!(required(&bad_scope), Want::Redirect(InvalidRequest, st()));
        let r = pushed_request_required(run(&BASE, false));
        assert_eq!(r.error().description, "pushed authorization request required");
        // The redirect URI unverified: shown, with its own reason.
        let bad_uri = patched(&BASE, &[("redirect_uri", "https://evil.example/cb")]);
        assert_eq!(required(&bad_uri), Want::Show(InvalidRequest));
        let r = pushed_request_required(run(&bad_uri, false));
        assert_eq!(r.error().description, "redirect_uri is not registered for this client");
    }

    #[test]
    fn validated_request_fields() {
        let r = run(
            &[
                ("client_id", "pub"),
                ("redirect_uri", "http://127.0.0.1:51234/cb"),
                ("response_type", "code"),
                ("scope", "profile openid"),
                ("state", "s t"),
                ("nonce", "n"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
                ("prompt", "consent"),
                ("max_age", "300"),
                ("login_hint", "alice"),
                ("ignored", "x"),
            ],
            false,
        )
        .unwrap();
        assert_eq!(r.redirect_uri.as_str(), "http://127.0.0.1:51234/cb");
        assert!(r.redirect_uri_in_request);
        assert_eq!(r.scopes.to_string(), "openid profile");
        assert_eq!(r.state.as_deref(), Some("s t"));
        assert_eq!(r.nonce.as_deref(), Some("n"));
        assert_eq!(r.pkce.as_ref().map(PkceChallenge::as_str), Some(CHALLENGE));
        assert_eq!(
            r.prompt,
            Prompt {
                consent: true,
                ..Prompt::default()
            }
        );
        assert_eq!(
            (r.max_age, r.login_hint.as_deref(), r.requested_at),
            (Some(300), Some("alice"), 1000)
        );
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<AuthorizeRequest>(&json).unwrap(), r);

        let single = run(
            &[("client_id", "single"), ("response_type", "code"), ("scope", "api")],
            false,
        )
        .unwrap();
        assert_eq!(single.redirect_uri.as_str(), "https://one.example/cb");
        assert!(!single.redirect_uri_in_request);
    }

    fn request(prompt: &str, max_age: Option<i64>, scopes: &str) -> AuthorizeRequest {
        AuthorizeRequest {
            client_id: "conf".into(),
            redirect_uri: RedirectUri::parse("https://app.example/cb").unwrap(),
            redirect_uri_in_request: true,
            scopes: ScopeSet::parse(scopes).unwrap(),
            state: Some("st".into()),
            nonce: None,
            pkce: None,
            prompt: Prompt::parse(Some(prompt)).unwrap(),
            max_age,
            login_hint: None,
            id_token_hint: None,
            requested_at: 1000,
            dpop_jkt: None,
            resources: Vec::new(),
        }
    }

    #[test]
    fn decisions() {
        use AuthorizeDecision as D;
        #[derive(Debug, PartialEq)]
        enum Want {
            Login,
            Consent(String),
            Issue,
            Err(ErrorCode),
        }
        let alice = Authentication {
            user_id: "alice".into(),
            auth_time: 900,
        };
        let g_openid = ScopeSet::parse("openid").unwrap();
        let g_all = ScopeSet::parse("openid profile").unwrap();
        let nothing = Interaction::default();
        let mut logged_in = Interaction::default();
        logged_in.logged_in_as("alice");
        let mut consented = Interaction::default();
        consented.consented_as("alice");
        // The flags of another user who signed in on this browser earlier.
        let mut by_bob = Interaction::default();
        by_bob.logged_in_as("bob");
        by_bob.consented_as("bob");
        let now = 1000;
        // (name, prompt, max_age, session, granted, interaction, expected)
        type Row<'a> = (
            &'a str,
            &'a str,
            Option<i64>,
            Option<&'a Authentication>,
            Option<&'a ScopeSet>,
            &'a Interaction,
            Want,
        );
        #[rustfmt::skip]
        let table: Vec<Row> = vec![
            ("no session", "", None, None, None, &nothing, Want::Login),
            ("no session, prompt=none", "none", None, None, None, &nothing, Want::Err(ErrorCode::LoginRequired)),
            ("no consent yet", "", None, Some(&alice), None, &nothing, Want::Consent("openid profile".into())),
            ("partial consent", "", None, Some(&alice), Some(&g_openid), &nothing, Want::Consent("profile".into())),
            ("consent on record", "", None, Some(&alice), Some(&g_all), &nothing, Want::Issue),
            ("prompt=none, all on record", "none", None, Some(&alice), Some(&g_all), &nothing, Want::Issue),
            ("prompt=none, consent missing", "none", None, Some(&alice), Some(&g_openid), &nothing, Want::Err(ErrorCode::ConsentRequired)),
            ("prompt=login, old session", "login", None, Some(&alice), Some(&g_all), &nothing, Want::Login),
            ("prompt=login, logged in now", "login", None, Some(&alice), Some(&g_all), &logged_in, Want::Issue),
            ("prompt=select_account", "select_account", None, Some(&alice), Some(&g_all), &nothing, Want::Login),
            ("prompt=consent, on record", "consent", None, Some(&alice), Some(&g_all), &nothing, Want::Consent("".into())),
            ("prompt=consent, consented now", "consent", None, Some(&alice), Some(&g_all), &consented, Want::Issue),
            ("consented now but not recorded", "", None, Some(&alice), Some(&g_openid), &consented, Want::Consent("profile".into())),
            ("max_age not exceeded", "", Some(100), Some(&alice), Some(&g_all), &nothing, Want::Issue),
            ("max_age exceeded", "", Some(99), Some(&alice), Some(&g_all), &nothing, Want::Login),
            ("max_age exceeded, prompt=none", "none", Some(99), Some(&alice), Some(&g_all), &nothing, Want::Err(ErrorCode::LoginRequired)),
            ("max_age exceeded, logged in now", "", Some(0), Some(&alice), Some(&g_all), &logged_in, Want::Issue),
            ("logged in flag without session", "", None, None, None, &logged_in, Want::Login),
            ("prompt=login, another user logged in for it", "login", None, Some(&alice), Some(&g_all), &by_bob, Want::Login),
            ("prompt=consent, another user consented", "consent", None, Some(&alice), Some(&g_all), &by_bob, Want::Consent("".into())),
        ];
        for (name, prompt, max_age, session, granted, done, expected) in table {
            let req = request(prompt, max_age, "openid profile");
            let got = match decide(&req, session, granted, done, now) {
                Ok(D::LoginRequired) => Want::Login,
                Ok(D::ConsentRequired { user_id, new_scopes }) => {
                    assert_eq!(user_id, "alice");
                    Want::Consent(new_scopes.to_string())
                }
                Ok(D::Issue { user_id, auth_time }) => {
                    assert_eq!((user_id.as_str(), auth_time), ("alice", 900));
                    Want::Issue
                }
                Err(AuthorizeError::Redirect {
                    state,
                    error,
                    redirect_uri,
                }) => {
                    assert_eq!(
                        (state.as_deref(), redirect_uri.as_str()),
                        (Some("st"), "https://app.example/cb")
                    );
                    Want::Err(error.code)
                }
                Err(AuthorizeError::ShowToUser(e)) => panic!("{name}: shown {e:?}"),
            };
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn redirect_urls() {
        let iss = "https://id.example";
        #[rustfmt::skip]
        let table: &[(&str, Option<&str>, &str)] = &[
            ("https://c.example/cb", Some("xyz"), "https://c.example/cb?code=abc&state=xyz&iss=https%3A%2F%2Fid.example"),
            ("https://c.example/cb", None, "https://c.example/cb?code=abc&iss=https%3A%2F%2Fid.example"),
            // RFC 6749 §3.1.2: the registered query is kept.
            ("https://c.example/cb?x=1", None, "https://c.example/cb?x=1&code=abc&iss=https%3A%2F%2Fid.example"),
            ("https://c.example/cb?", None, "https://c.example/cb?code=abc&iss=https%3A%2F%2Fid.example"),
            ("https://c.example", None, "https://c.example?code=abc&iss=https%3A%2F%2Fid.example"),
            ("com.example.app:/cb", Some("a b&c=d"), "com.example.app:/cb?code=abc&state=a+b%26c%3Dd&iss=https%3A%2F%2Fid.example"),
        ];
        for (uri, state, expected) in table {
            assert_eq!(success_redirect(uri, "abc", *state, iss), *expected);
        }
        let e = OAuthError::invalid_scope("scope not allowed").with_detail("secret detail");
        let url = error_redirect("https://c.example/cb?x=1", &e, Some("s"), iss);
        assert_eq!(
            url,
            "https://c.example/cb?x=1&error=invalid_scope&error_description=scope+not+allowed&state=s&iss=https%3A%2F%2Fid.example"
        );
        assert!(!url.contains("secret"));
        let req = request("", None, "openid");
        assert_eq!(
            req.deny().redirect_url(iss).unwrap(),
            "https://app.example/cb?error=access_denied&error_description=the+request+was+denied&state=st&iss=https%3A%2F%2Fid.example"
        );
        assert_eq!(
            req.success_url("c", iss),
            "https://app.example/cb?code=c&state=st&iss=https%3A%2F%2Fid.example"
        );
    }
}
