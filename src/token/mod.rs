//! The token endpoint (RFC 6749 §3.2): parse the request into one variant per grant,
//! then check it with that grant's file. The `match` in [`TokenRequest::parse`] is the
//! index of what Tessera supports (the names are [`GrantType`]'s):
//!
//! | `grant_type`         | variant                              | checks in                |
//! |----------------------|--------------------------------------|--------------------------|
//! | `authorization_code` | [`TokenRequest::AuthorizationCode`]  | [`authorization_code`]   |
//! | `refresh_token`      | [`TokenRequest::RefreshToken`]       | [`refresh_token`]        |
//! | `client_credentials` | [`TokenRequest::ClientCredentials`]  | [`client_credentials`]   |
//! | `urn:…:device_code`  | [`TokenRequest::DeviceCode`]         | [`device_code`]          |
//!
//! Client authentication is separate ([`crate::client_auth`]); `client_id` and
//! `client_secret` are not read here.

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod refresh_token;

use crate::error::{ErrorCode, OAuthError};
use crate::model::GrantType;
use crate::params;
use crate::types::ScopeSet;

pub use authorization_code::{check_code, CodeRecord};
pub use client_credentials::check_client_credentials;
pub use device_code::poll_refusal;
pub use refresh_token::{check_refresh, RefreshRecord};

/// The parameters the token endpoint reads; RFC 6749 §3.2 forbids repeating them.
const RECOGNIZED: &[&str] = &[
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
    "device_code",
];

/// A token request, one variant per grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRequest {
    /// RFC 6749 §4.1.3, RFC 7636 §4.5.
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    /// RFC 6749 §6.
    RefreshToken {
        refresh_token: String,
        scope: Option<ScopeSet>,
    },
    /// RFC 6749 §4.4.2.
    ClientCredentials { scope: Option<ScopeSet> },
    /// RFC 8628 §3.4.
    DeviceCode { device_code: String },
}

impl TokenRequest {
    /// Reads the form body. RFC 6749 §3.2: a parameter sent without a value counts as
    /// omitted and none may be repeated; unknown parameters are ignored.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, OAuthError> {
        if let Some(name) = params::duplicated(pairs, RECOGNIZED) {
            return Err(OAuthError::invalid_request("repeated parameter").with_detail(format!("repeated {name}")));
        }
        let get = |name| params::get(pairs, name);
        let required = |name: &'static str, description: &'static str| {
            get(name)
                .map(str::to_owned)
                .ok_or_else(|| OAuthError::invalid_request(description))
        };
        let grant_type = get("grant_type").ok_or_else(|| OAuthError::invalid_request("missing grant_type"))?;
        let unsupported = || {
            OAuthError::new(ErrorCode::UnsupportedGrantType, "unsupported grant_type")
                .with_detail(format!("grant_type {grant_type:?}"))
        };
        match grant_type.parse::<GrantType>().map_err(|_| unsupported())? {
            GrantType::AuthorizationCode => Ok(Self::AuthorizationCode {
                code: required("code", "missing code")?,
                redirect_uri: get("redirect_uri").map(str::to_owned),
                code_verifier: get("code_verifier").map(str::to_owned),
            }),
            GrantType::RefreshToken => Ok(Self::RefreshToken {
                refresh_token: required("refresh_token", "missing refresh_token")?,
                scope: parse_scope(get("scope"))?,
            }),
            GrantType::ClientCredentials => Ok(Self::ClientCredentials {
                scope: parse_scope(get("scope"))?,
            }),
            // RFC 8628 §3.4: device_code REQUIRED.
            GrantType::DeviceCode => Ok(Self::DeviceCode {
                device_code: required("device_code", "missing device_code")?,
            }),
        }
    }

    /// The `grant_type` of this request.
    pub fn grant_type(&self) -> GrantType {
        match self {
            Self::AuthorizationCode { .. } => GrantType::AuthorizationCode,
            Self::RefreshToken { .. } => GrantType::RefreshToken,
            Self::ClientCredentials { .. } => GrantType::ClientCredentials,
            Self::DeviceCode { .. } => GrantType::DeviceCode,
        }
    }
}

/// RFC 6749 §3.3: a malformed scope is invalid_scope; an empty one counts as omitted.
fn parse_scope(raw: Option<&str>) -> Result<Option<ScopeSet>, OAuthError> {
    raw.map(ScopeSet::parse)
        .transpose()
        .map(|s| s.filter(|s| !s.is_empty()))
        .map_err(|e| OAuthError::invalid_scope("invalid scope").with_detail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::pairs;

    #[test]
    fn parse_rules() {
        use ErrorCode::*;
        let code = |c: &str, r: Option<&str>, v: Option<&str>| TokenRequest::AuthorizationCode {
            code: c.into(),
            redirect_uri: r.map(Into::into),
            code_verifier: v.map(Into::into),
        };
        let refresh = |scope: Option<&str>| TokenRequest::RefreshToken {
            refresh_token: "r".into(),
            scope: scope.map(|s| ScopeSet::parse(s).unwrap()),
        };
        let cc = |scope: Option<&str>| TokenRequest::ClientCredentials {
            scope: scope.map(|s| ScopeSet::parse(s).unwrap()),
        };
        let ac = ("grant_type", "authorization_code");
        let rt = ("grant_type", "refresh_token");
        let cg = ("grant_type", "client_credentials");
        let cb = "https://a.example/cb";
        // (form, expected request or error)
        type Row<'a> = (Vec<(&'a str, &'a str)>, Result<TokenRequest, ErrorCode>);
        #[rustfmt::skip]
        let table: Vec<Row> = vec![
            (vec![ac, ("code", "c")], Ok(code("c", None, None))),
            (vec![ac, ("code", "c"), ("redirect_uri", cb), ("code_verifier", "v")], Ok(code("c", Some(cb), Some("v")))),
            // Client authentication and unknown parameters are not read here.
            (vec![ac, ("code", "c"), ("client_id", "x"), ("client_secret", "y"), ("unknown", "z")], Ok(code("c", None, None))),
            // RFC 6749 §3.2: empty means omitted.
            (vec![ac, ("code", "c"), ("code_verifier", "")], Ok(code("c", None, None))),
            (vec![ac], Err(InvalidRequest)),
            (vec![ac, ("code", "")], Err(InvalidRequest)),
            // RFC 6749 §3.2: no repeats.
            (vec![ac, ("code", "a"), ("code", "b")], Err(InvalidRequest)),
            (vec![ac, ac, ("code", "a")], Err(InvalidRequest)),
            (vec![cg, ("client_id", "a"), ("client_id", "a")], Err(InvalidRequest)),
            (vec![rt, ("refresh_token", "r")], Ok(refresh(None))),
            (vec![rt, ("refresh_token", "r"), ("scope", "openid email")], Ok(refresh(Some("email openid")))),
            (vec![rt, ("refresh_token", "r"), ("scope", "")], Ok(refresh(None))),
            (vec![rt, ("refresh_token", "r"), ("scope", "a\\b")], Err(InvalidScope)),
            (vec![rt], Err(InvalidRequest)),
            (vec![cg], Ok(cc(None))),
            (vec![cg, ("scope", "api")], Ok(cc(Some("api")))),
            (vec![], Err(InvalidRequest)),
            (vec![("grant_type", "")], Err(InvalidRequest)),
            (vec![("grant_type", "password"), ("username", "u"), ("password", "p")], Err(UnsupportedGrantType)),
            (vec![("grant_type", "implicit")], Err(UnsupportedGrantType)),
            (vec![("grant_type", "urn:ietf:params:oauth:grant-type:device_code")], Err(InvalidRequest)),
            (vec![("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("device_code", "d")],
             Ok(TokenRequest::DeviceCode { device_code: "d".into() })),
            (vec![("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("device_code", "d"), ("device_code", "e")],
             Err(InvalidRequest)),
            (vec![("grant_type", "device_code"), ("device_code", "d")], Err(UnsupportedGrantType)),
        ];
        for (list, expected) in table {
            let got = TokenRequest::parse(&pairs(&list)).map_err(|e| e.code);
            assert_eq!(got, expected, "{list:?}");
        }
    }

    #[test]
    fn grant_type_names() {
        for gt in GrantType::names() {
            let p = pairs(&[
                ("grant_type", gt),
                ("code", "c"),
                ("refresh_token", "r"),
                ("device_code", "d"),
            ]);
            assert_eq!(TokenRequest::parse(&p).unwrap().grant_type().as_str(), gt);
        }
    }
}
