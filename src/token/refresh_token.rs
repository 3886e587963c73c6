//! The refresh token grant (RFC 6749 §6), with rotation (RFC 9700 §4.14.2): each use
//! replaces the token; a replaced token used again marks its family as stolen.

use serde::{Deserialize, Serialize};

use crate::error::OAuthError;
use crate::types::ScopeSet;

/// What the server stores for a refresh token (keyed by the token's SHA-256 hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRecord {
    /// Shared by all tokens descended from one authorization code, so that reuse can
    /// revoke the whole line.
    pub family_id: String,
    pub client_id: String,
    pub user_id: String,
    /// The scopes of the original grant; a refresh can narrow but never widen them.
    pub scopes: ScopeSet,
    /// OIDC Core §12.2: an ID token issued on refresh keeps the original auth_time.
    pub auth_time: i64,
    /// The first instant (Unix seconds) at which the token is no longer valid.
    pub expires_at: i64,
    /// Replaced by a newer token of the family.
    pub rotated: bool,
    /// Revoked (RFC 7009) or its family revoked.
    pub revoked: bool,
    /// When the family began (its code was redeemed): the absolute cap on refreshing
    /// counts from here. Read from the family; storing a token ignores it.
    #[serde(default)]
    pub family_created_at: i64,
    /// RFC 9449 §5: the DPoP key (thumbprint) a public client's refresh token is bound to.
    #[serde(default)]
    pub dpop_jkt: Option<String>,
    /// RFC 8707: the resources the grant's authorization request named (empty: none).
    /// Read from the family; storing a token ignores it.
    #[serde(default)]
    pub resources: Vec<String>,
}

/// Checks a presented refresh token and returns the scopes of the new access token.
/// If `record.rotated`, the server should revoke the whole family (RFC 9700 §4.14.2):
/// either the client or an attacker holds a stolen copy.
pub fn check_refresh(
    record: &RefreshRecord,
    client_id: &str,
    requested: Option<&ScopeSet>,
    now: i64,
    family_max_age: i64,
) -> Result<ScopeSet, OAuthError> {
    let fail = |detail: &str| OAuthError::invalid_grant("invalid refresh token").with_detail(detail.to_owned());
    // RFC 6749 §6: the token must have been issued to the authenticated client.
    if record.client_id != client_id {
        return Err(fail("refresh token was issued to another client"));
    }
    if record.revoked {
        return Err(fail("refresh token revoked"));
    }
    // RFC 9700 §4.14.2: a rotated token is spent.
    if record.rotated {
        return Err(fail("refresh token reused after rotation"));
    }
    if now >= record.expires_at {
        return Err(fail("refresh token expired"));
    }
    // The absolute cap (issue 20): rotation slides each token's expiry forward, but the
    // grant as a whole ends this long after the user approved it (RFC 9700 §4.14.2
    // leaves refresh token lifetimes to the server), and the user signs in again.
    if now >= record.family_created_at.saturating_add(family_max_age) {
        return Err(fail("the grant reached its maximum age; the user must sign in again"));
    }
    // RFC 6749 §6: the requested scope MUST NOT include any scope not originally
    // granted; omitted means the original scope.
    match requested {
        Some(s) if !s.is_subset(&record.scopes) => Err(OAuthError::invalid_scope("scope exceeds the original grant")
            .with_detail(format!("requested {s}, granted {}", record.scopes))),
        Some(s) => Ok(s.clone()),
        None => Ok(record.scopes.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn record(rotated: bool, revoked: bool) -> RefreshRecord {
        RefreshRecord {
            family_id: "f".into(),
            client_id: "app".into(),
            user_id: "alice".into(),
            scopes: ScopeSet::parse("openid profile offline_access").unwrap(),
            auth_time: 10,
            expires_at: 1000,
            rotated,
            revoked,
            family_created_at: 0,
            dpop_jkt: None,
            resources: Vec::new(),
        }
    }

    #[test]
    fn check_rules() {
        use ErrorCode::*;
        let all = "offline_access openid profile";
        // (name, record, client, requested scope, now, expected scopes or error)
        type Row<'a> = (
            &'a str,
            RefreshRecord,
            &'a str,
            Option<&'a str>,
            i64,
            Result<&'a str, ErrorCode>,
        );
        #[rustfmt::skip]
        let table: &[Row] = &[
            ("valid, scope omitted", record(false, false), "app", None, 500, Ok(all)),
            ("narrower scope", record(false, false), "app", Some("openid"), 500, Ok("openid")),
            ("same scope", record(false, false), "app", Some(all), 500, Ok(all)),
            ("wider scope", record(false, false), "app", Some("openid email"), 500, Err(InvalidScope)),
            ("other client", record(false, false), "evil", None, 500, Err(InvalidGrant)),
            ("rotated", record(true, false), "app", None, 500, Err(InvalidGrant)),
            ("revoked", record(false, true), "app", None, 500, Err(InvalidGrant)),
            ("last valid second", record(false, false), "app", None, 999, Ok(all)),
            ("expired", record(false, false), "app", None, 1000, Err(InvalidGrant)),
        ];
        let max_age = i64::MAX;
        for (name, rec, client, requested, now, expected) in table {
            let requested = requested.map(|s| ScopeSet::parse(s).unwrap());
            let got = check_refresh(rec, client, requested.as_ref(), *now, max_age)
                .map(|s| s.to_string())
                .map_err(|e| e.code);
            assert_eq!(got, expected.map(str::to_owned), "{name}");
        }
        // The family began at 0 and may refresh until 900: a token valid until 1000
        // still ends with its family.
        let rec = record(false, false);
        assert!(check_refresh(&rec, "app", None, 899, 900).is_ok());
        let err = check_refresh(&rec, "app", None, 900, 900).unwrap_err();
        assert_eq!(err.code, InvalidGrant);
        assert!(format!("{err:?}").contains("maximum age"), "{err:?}");
    }
}
