//! The errors of the protocol: the registered error codes, one error type that keeps the
//! short public description apart from the internal detail, and the authorization
//! endpoint's choice between redirecting an error and showing it to the user.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Every `error` value Tessera sends, serialized as its registered string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // RFC 6749 §4.1.2.1 (authorization endpoint); invalid_request, unauthorized_client and
    // invalid_scope also appear in §5.2 (token endpoint).
    InvalidRequest,
    UnauthorizedClient,
    AccessDenied,
    UnsupportedResponseType,
    InvalidScope,
    ServerError,
    TemporarilyUnavailable,
    // RFC 6749 §5.2 (token endpoint).
    InvalidClient,
    InvalidGrant,
    UnsupportedGrantType,
    // OpenID Connect Core §3.1.2.6.
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    AccountSelectionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    // RFC 6750 §3.1 (resource requests: userinfo).
    InvalidToken,
    InsufficientScope,
    // RFC 9126 §2.2 (pushed authorization requests).
    InvalidRequestUri,
    // RFC 7009 §2.2.1 (revocation).
    UnsupportedTokenType,
    // OIDC Core §3.1.2.6, RFC 9101 §6.2 (signed request objects).
    InvalidRequestObject,
    // RFC 9449 §5, §7.1 (DPoP proofs), §8 (server nonces).
    InvalidDpopProof,
    UseDpopNonce,
    // RFC 8707 §2 (resource indicators).
    InvalidTarget,
    // RFC 8628 §3.5 (device authorization grant, while polling).
    AuthorizationPending,
    SlowDown,
    ExpiredToken,
}

impl ErrorCode {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::AccountSelectionRequired => "account_selection_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::InvalidRequestUri => "invalid_request_uri",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::InvalidRequestObject => "invalid_request_object",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::InvalidTarget => "invalid_target",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth error. `description` is what the client sees as `error_description`: short,
/// fixed, free of user data. `detail` is the cause, for the log only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
    pub detail: Option<String>,
}

impl OAuthError {
    /// The description is a `&'static str` on purpose: public text is fixed, never built
    /// from the request. Put what varies in [`OAuthError::with_detail`].
    pub fn new(code: ErrorCode, description: &'static str) -> Self {
        Self {
            code,
            description: description.to_owned(),
            detail: None,
        }
    }

    /// Internal detail for the log; never sent to the client.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn invalid_request(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_client(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    pub fn invalid_grant(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_scope(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    pub fn server_error(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::ServerError, "internal error").with_detail(detail)
    }

    /// The HTTP status for a JSON error response. RFC 6749 §5.2: 400 unless noted;
    /// invalid_client is 401 (required when the client used the Authorization header,
    /// allowed otherwise, so always 401 here). RFC 6750 §3.1: invalid_token 401,
    /// insufficient_scope 403. server_error and temporarily_unavailable map to the HTTP
    /// statuses they stand for (they exist as codes only because a redirect cannot carry one).
    pub fn status(&self) -> u16 {
        match self.code {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => 401,
            ErrorCode::InsufficientScope => 403,
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

/// A failure at the authorization endpoint. RFC 6749 §4.1.2.1: if the client or the
/// redirect URI cannot be verified, the user agent MUST NOT be redirected; the error is
/// shown to the user instead. Every other error goes back to the client's redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Send the browser to `redirect_uri` (already verified) with the error in the query.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
    /// Show an error page; do not redirect anywhere.
    ShowToUser(OAuthError),
}

impl AuthorizeError {
    pub fn error(&self) -> &OAuthError {
        match self {
            Self::Redirect { error, .. } | Self::ShowToUser(error) => error,
        }
    }

    /// The error itself, wherever it was to go (a JSON answer at `/par`, RFC 9126 §2.3).
    pub fn into_error(self) -> OAuthError {
        match self {
            Self::Redirect { error, .. } | Self::ShowToUser(error) => error,
        }
    }

    /// Another error sent the same way (to the same verified redirect URI, or shown).
    pub fn with_error(self, error: OAuthError) -> Self {
        match self {
            Self::Redirect {
                redirect_uri, state, ..
            } => Self::Redirect {
                redirect_uri,
                state,
                error,
            },
            Self::ShowToUser(_) => Self::ShowToUser(error),
        }
    }

    /// The URL to redirect to, with `error`, `error_description`, `state` and `iss`
    /// (RFC 9207 §2) appended; `None` for an error that must be shown to the user.
    pub fn redirect_url(&self, iss: &str) -> Option<String> {
        match self {
            Self::Redirect {
                redirect_uri,
                state,
                error,
            } => Some(crate::authorize::error_redirect(
                redirect_uri,
                error,
                state.as_deref(),
                iss,
            )),
            Self::ShowToUser(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[(ErrorCode, &str, u16)] = &[
        (ErrorCode::InvalidRequest, "invalid_request", 400),
        (ErrorCode::UnauthorizedClient, "unauthorized_client", 400),
        (ErrorCode::AccessDenied, "access_denied", 400),
        (ErrorCode::UnsupportedResponseType, "unsupported_response_type", 400),
        (ErrorCode::InvalidScope, "invalid_scope", 400),
        (ErrorCode::ServerError, "server_error", 500),
        (ErrorCode::TemporarilyUnavailable, "temporarily_unavailable", 503),
        (ErrorCode::InvalidClient, "invalid_client", 401),
        (ErrorCode::InvalidGrant, "invalid_grant", 400),
        (ErrorCode::UnsupportedGrantType, "unsupported_grant_type", 400),
        (ErrorCode::LoginRequired, "login_required", 400),
        (ErrorCode::ConsentRequired, "consent_required", 400),
        (ErrorCode::InteractionRequired, "interaction_required", 400),
        (ErrorCode::AccountSelectionRequired, "account_selection_required", 400),
        (ErrorCode::RequestNotSupported, "request_not_supported", 400),
        (ErrorCode::RequestUriNotSupported, "request_uri_not_supported", 400),
        (ErrorCode::InvalidToken, "invalid_token", 401),
        (ErrorCode::InsufficientScope, "insufficient_scope", 403),
        (ErrorCode::InvalidRequestUri, "invalid_request_uri", 400),
        (ErrorCode::UnsupportedTokenType, "unsupported_token_type", 400),
        (ErrorCode::InvalidRequestObject, "invalid_request_object", 400),
        (ErrorCode::InvalidDpopProof, "invalid_dpop_proof", 400),
        (ErrorCode::UseDpopNonce, "use_dpop_nonce", 400),
        (ErrorCode::InvalidTarget, "invalid_target", 400),
    ];

    #[test]
    fn codes_strings_serde_and_status() {
        for (code, s, status) in ALL {
            assert_eq!(code.as_str(), *s);
            assert_eq!(code.to_string(), *s);
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), *code);
            assert_eq!(OAuthError::new(*code, "x").status(), *status, "{s}");
        }
    }

    #[test]
    fn detail_is_kept_apart_from_description() {
        let e = OAuthError::invalid_grant("invalid code").with_detail("code abc expired at 12");
        assert_eq!(e.description, "invalid code");
        assert_eq!(e.detail.as_deref(), Some("code abc expired at 12"));
        assert_eq!(e.to_string(), "invalid_grant: invalid code");
        let s = OAuthError::server_error("db down");
        assert_eq!(
            (s.code, s.description.as_str()),
            (ErrorCode::ServerError, "internal error")
        );
    }

    #[test]
    fn show_to_user_never_redirects() {
        let e = AuthorizeError::ShowToUser(OAuthError::invalid_request("x"));
        assert_eq!(e.redirect_url("https://issuer.example"), None);
        let r = AuthorizeError::Redirect {
            redirect_uri: "https://c.example/cb".into(),
            state: Some("s".into()),
            error: OAuthError::new(ErrorCode::AccessDenied, "denied"),
        };
        assert_eq!(
            r.redirect_url("https://issuer.example").unwrap(),
            "https://c.example/cb?error=access_denied&error_description=denied&state=s&iss=https%3A%2F%2Fissuer.example"
        );
        assert_eq!(r.error().code, ErrorCode::AccessDenied);
    }
}
