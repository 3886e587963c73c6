//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.6).

use serde::{Deserialize, Serialize};

use crate::authorize::AuthorizeRequest;
use crate::error::OAuthError;
use crate::pkce::PkceChallenge;
use crate::types::{RedirectUri, ScopeSet};

use crate::policy::CODE_LIFETIME;

/// What the server stores for an authorization code (keyed by the code's SHA-256 hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRecord {
    pub client_id: String,
    pub redirect_uri: RedirectUri,
    /// Whether the authorization request carried `redirect_uri` explicitly.
    pub redirect_uri_in_request: bool,
    pub pkce: Option<PkceChallenge>,
    pub nonce: Option<String>,
    pub user_id: String,
    pub scopes: ScopeSet,
    pub auth_time: i64,
    /// The first instant (Unix seconds) at which the code is no longer valid.
    pub expires_at: i64,
    /// Set when the code is exchanged. RFC 6749 §4.1.2: a second use MUST be denied and
    /// SHOULD revoke the tokens issued from it.
    pub used: bool,
    /// RFC 9449 §10: the DPoP key (thumbprint) the code may only be exchanged with.
    #[serde(default)]
    pub dpop_jkt: Option<String>,
    /// RFC 8707 §2: the resources the authorization request named; the token request may
    /// choose among them. Empty when it named none.
    #[serde(default)]
    pub resources: Vec<String>,
}

impl CodeRecord {
    /// The record for a code issued now for `req` to `user_id`.
    pub fn issue(req: &AuthorizeRequest, user_id: &str, auth_time: i64, now: i64) -> Self {
        Self {
            client_id: req.client_id.clone(),
            redirect_uri: req.redirect_uri.clone(),
            redirect_uri_in_request: req.redirect_uri_in_request,
            pkce: req.pkce.clone(),
            nonce: req.nonce.clone(),
            user_id: user_id.to_owned(),
            scopes: req.scopes.clone(),
            auth_time,
            expires_at: now.saturating_add(CODE_LIFETIME),
            used: false,
            dpop_jkt: req.dpop_jkt.clone(),
            resources: req.resources.clone(),
        }
    }
}

/// Checks a presented code against its record. Every failure is invalid_grant with the
/// same public text (RFC 6749 §5.2), the reason in the detail. On a reused code
/// (`record.used`) the server should also revoke what the code produced.
pub fn check_code(
    record: &CodeRecord,
    client_id: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    now: i64,
) -> Result<(), OAuthError> {
    let fail = |detail: &str| OAuthError::invalid_grant("invalid authorization code").with_detail(detail.to_owned());
    // RFC 6749 §4.1.3: the code was issued to the authenticated client.
    if record.client_id != client_id {
        return Err(fail("code was issued to another client"));
    }
    // RFC 6749 §4.1.2: single use.
    if record.used {
        return Err(fail("code already used"));
    }
    // RFC 6749 §4.1.2: short-lived.
    if now >= record.expires_at {
        return Err(fail("code expired"));
    }
    // RFC 6749 §4.1.3: redirect_uri required if it was in the authorization request, and
    // then identical. If sent when it was not required, it must still be the one used.
    match redirect_uri {
        Some(given) if given != record.redirect_uri.as_str() => return Err(fail("redirect_uri mismatch")),
        None if record.redirect_uri_in_request => return Err(fail("redirect_uri missing")),
        _ => {}
    }
    match (&record.pkce, verifier) {
        // RFC 7636 §4.6: the verifier must hash to the stored challenge.
        (Some(challenge), Some(v)) if challenge.verify(v) => Ok(()),
        (Some(_), Some(_)) => Err(fail("code_verifier does not match")),
        // RFC 7636 §4.5: code_verifier is REQUIRED when a challenge was sent.
        (Some(_), None) => Err(fail("code_verifier missing")),
        // RFC 9700 §2.1.1: a verifier without a challenge is a PKCE downgrade attempt.
        (None, Some(_)) => Err(fail("code_verifier sent but no challenge was")),
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const CB: &str = "https://app.example/cb";

    fn record(pkce: bool, in_request: bool, used: bool) -> CodeRecord {
        CodeRecord {
            client_id: "app".into(),
            redirect_uri: RedirectUri::parse(CB).unwrap(),
            redirect_uri_in_request: in_request,
            pkce: pkce.then(|| PkceChallenge::parse(Some(CHALLENGE), Some("S256")).unwrap().unwrap()),
            nonce: None,
            user_id: "alice".into(),
            scopes: ScopeSet::parse("openid").unwrap(),
            auth_time: 90,
            expires_at: 160,
            used,
            dpop_jkt: None,
            resources: vec!["https://api.example/".into()],
        }
    }

    #[test]
    fn check_rules() {
        let other_cb = "https://app.example/other";
        // (name, record(pkce, redirect_uri_in_request, used), client, redirect_uri, verifier, now, ok)
        type Row<'a> = (
            &'a str,
            CodeRecord,
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            i64,
            bool,
        );
        #[rustfmt::skip]
        let table: &[Row] = &[
            ("valid with PKCE", record(true, true, false), "app", Some(CB), Some(VERIFIER), 100, true),
            ("valid without PKCE", record(false, true, false), "app", Some(CB), None, 100, true),
            ("other client", record(true, true, false), "evil", Some(CB), Some(VERIFIER), 100, false),
            ("used", record(true, true, true), "app", Some(CB), Some(VERIFIER), 100, false),
            ("last valid second", record(true, true, false), "app", Some(CB), Some(VERIFIER), 159, true),
            ("expired", record(true, true, false), "app", Some(CB), Some(VERIFIER), 160, false),
            ("redirect_uri missing", record(true, true, false), "app", None, Some(VERIFIER), 100, false),
            ("redirect_uri differs", record(true, true, false), "app", Some(other_cb), Some(VERIFIER), 100, false),
            ("redirect_uri not required", record(true, false, false), "app", None, Some(VERIFIER), 100, true),
            ("redirect_uri optional but wrong", record(true, false, false), "app", Some(other_cb), Some(VERIFIER), 100, false),
            ("redirect_uri optional and right", record(true, false, false), "app", Some(CB), Some(VERIFIER), 100, true),
            ("verifier missing", record(true, true, false), "app", Some(CB), None, 100, false),
            ("verifier wrong", record(true, true, false), "app", Some(CB), Some(CHALLENGE), 100, false),
            ("verifier malformed", record(true, true, false), "app", Some(CB), Some("short"), 100, false),
            ("downgrade: verifier without challenge", record(false, true, false), "app", Some(CB), Some(VERIFIER), 100, false),
        ];
        for (name, rec, client, uri, verifier, now, ok) in table {
            let r = check_code(rec, client, *uri, *verifier, *now);
            assert_eq!(r.is_ok(), *ok, "{name}");
            if let Err(e) = r {
                assert_eq!(e.code, crate::error::ErrorCode::InvalidGrant, "{name}");
                assert_eq!(e.description, "invalid authorization code");
            }
        }
    }

    #[test]
    fn issue_copies_the_request() {
        let req = crate::authorize::AuthorizeRequest {
            client_id: "app".into(),
            redirect_uri: RedirectUri::parse(CB).unwrap(),
            redirect_uri_in_request: true,
            scopes: ScopeSet::parse("openid").unwrap(),
            state: Some("s".into()),
            nonce: None,
            pkce: PkceChallenge::parse(Some(CHALLENGE), Some("S256")).unwrap(),
            prompt: Default::default(),
            max_age: None,
            login_hint: None,
            id_token_hint: None,
            requested_at: 50,
            dpop_jkt: None,
            resources: vec!["https://api.example/".into()],
        };
        let rec = CodeRecord::issue(&req, "alice", 90, 100);
        assert_eq!(rec, record(true, true, false));
        let json = serde_json::to_string(&rec).unwrap();
        assert_eq!(serde_json::from_str::<CodeRecord>(&json).unwrap(), rec);
    }
}
