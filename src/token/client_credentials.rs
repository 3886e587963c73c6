//! The client credentials grant (RFC 6749 §4.4): a confidential client acting for itself.

use crate::error::{ErrorCode, OAuthError};
use crate::scope::{OFFLINE_ACCESS, OPENID};
use crate::types::ScopeSet;

/// Scopes that only make sense with a user: no ID token (OIDC Core §3.1.2.1 ties
/// `openid` to an end-user) and no refresh token (RFC 6749 §4.4.3: SHOULD NOT be issued).
const USER_ONLY: &[&str] = &[OPENID, OFFLINE_ACCESS];

/// Returns the scopes of the access token to issue.
pub fn check_client_credentials(
    client_is_public: bool,
    allowed: &ScopeSet,
    requested: Option<&ScopeSet>,
) -> Result<ScopeSet, OAuthError> {
    // RFC 6749 §4.4: "MUST only be used by confidential clients".
    if client_is_public {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "client_credentials requires a confidential client",
        ));
    }
    match requested {
        // RFC 6749 §3.3: the default when scope is omitted is the client's own scopes.
        None => Ok(allowed.without(USER_ONLY)),
        Some(s) => {
            if let Some(bad) = s.iter().find(|t| USER_ONLY.contains(t)) {
                return Err(OAuthError::invalid_scope("scope requires a user").with_detail(format!("scope {bad:?}")));
            }
            if !s.is_subset(allowed) {
                return Err(OAuthError::invalid_scope("scope not allowed for this client")
                    .with_detail(format!("requested {s}, allowed {allowed}")));
            }
            Ok(s.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorCode::*;

    #[test]
    fn check_rules() {
        let allowed = ScopeSet::parse("openid offline_access api read").unwrap();
        // (name, public, requested, expected scopes or error)
        type Row<'a> = (&'a str, bool, Option<&'a str>, Result<&'a str, ErrorCode>);
        #[rustfmt::skip]
        let table: &[Row] = &[
            ("default strips user scopes", false, None, Ok("api read")),
            ("subset", false, Some("read"), Ok("read")),
            ("all allowed", false, Some("api read"), Ok("api read")),
            ("not allowed", false, Some("api admin"), Err(InvalidScope)),
            ("openid", false, Some("openid api"), Err(InvalidScope)),
            ("offline_access", false, Some("offline_access"), Err(InvalidScope)),
            ("public client", true, None, Err(UnauthorizedClient)),
            ("public client with scope", true, Some("api"), Err(UnauthorizedClient)),
        ];
        for (name, public, requested, expected) in table {
            let requested = requested.map(|s| ScopeSet::parse(s).unwrap());
            let got = check_client_credentials(*public, &allowed, requested.as_ref())
                .map(|s| s.to_string())
                .map_err(|e| e.code);
            assert_eq!(got, expected.map(str::to_owned), "{name}");
        }
        let only_oidc = ScopeSet::parse("openid").unwrap();
        assert!(check_client_credentials(false, &only_oidc, None).unwrap().is_empty());
    }
}
