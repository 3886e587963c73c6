//! The scopes Tessera knows without configuration: the OpenID Connect ones, what each
//! means to a person on the consent screen, and which claims each releases.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde::Serialize;

use crate::types::ScopeSet;

pub const OPENID: &str = "openid";
pub const PROFILE: &str = "profile";
pub const EMAIL: &str = "email";
pub const OFFLINE_ACCESS: &str = "offline_access";

/// A scope as the consent screen and the admin console show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeInfo {
    pub name: Cow<'static, str>,
    /// One line for the person granting it, completing "This application wants to …".
    pub description: Cow<'static, str>,
    /// Claims released in the ID token / userinfo response when the scope is granted.
    pub claims: &'static [&'static str],
    /// Built into Tessera (as opposed to defined by an administrator).
    pub builtin: bool,
}

/// OIDC Core §5.4: the claims the `profile` scope requests.
const PROFILE_CLAIMS: &[&str] = &[
    "name",
    "family_name",
    "given_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
];

static BUILTIN: [ScopeInfo; 4] = [
    // OIDC Core §3.1.2.1: `openid` makes the request an OpenID Connect one; it releases
    // the subject identifier (§5.1 `sub`).
    ScopeInfo {
        name: Cow::Borrowed(OPENID),
        description: Cow::Borrowed("Sign you in with your account"),
        claims: &["sub"],
        builtin: true,
    },
    ScopeInfo {
        name: Cow::Borrowed(PROFILE),
        description: Cow::Borrowed("See your name and username"),
        claims: PROFILE_CLAIMS,
        builtin: true,
    },
    // OIDC Core §5.4: email -> email, email_verified.
    ScopeInfo {
        name: Cow::Borrowed(EMAIL),
        description: Cow::Borrowed("See your email address"),
        claims: &["email", "email_verified"],
        builtin: true,
    },
    // OIDC Core §11: a refresh token that works while you are not signed in.
    ScopeInfo {
        name: Cow::Borrowed(OFFLINE_ACCESS),
        description: Cow::Borrowed("Stay connected to your account when you are not using it"),
        claims: &[],
        builtin: true,
    },
];

/// The built-in scopes, in the order the consent screen lists them.
pub fn builtin_scopes() -> &'static [ScopeInfo] {
    &BUILTIN
}

pub fn builtin(name: &str) -> Option<&'static ScopeInfo> {
    BUILTIN.iter().find(|s| s.name == name)
}

pub fn is_builtin(name: &str) -> bool {
    builtin(name).is_some()
}

/// OIDC Core §5.4: the claims the granted scopes release. Without `openid` there is no
/// OpenID Connect request and so no claims at all (§3.1.2.1).
pub fn claims_for(scopes: &ScopeSet) -> BTreeSet<&'static str> {
    if !scopes.contains(OPENID) {
        return BTreeSet::new();
    }
    scopes
        .iter()
        .filter_map(builtin)
        .flat_map(|s| s.claims.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_per_scope_set() {
        #[rustfmt::skip]
        let table: &[(&str, &[&str])] = &[
            ("openid", &["sub"]),
            ("openid email", &["email", "email_verified", "sub"]),
            ("email", &[]), // no openid: plain OAuth, no claims
            ("openid offline_access", &["sub"]),
            ("openid custom", &["sub"]),
        ];
        for (scopes, expected) in table {
            let got: Vec<_> = claims_for(&ScopeSet::parse(scopes).unwrap()).into_iter().collect();
            assert_eq!(got, *expected, "{scopes}");
        }
        let profile = claims_for(&ScopeSet::parse("openid profile").unwrap());
        for c in ["name", "preferred_username", "updated_at", "sub"] {
            assert!(profile.contains(c), "{c}");
        }
        assert!(!profile.contains("email"));
    }

    #[test]
    fn builtin_list() {
        let names: Vec<_> = builtin_scopes().iter().map(|s| s.name.as_ref()).collect();
        assert_eq!(names, ["openid", "profile", "email", "offline_access"]);
        assert!(builtin_scopes().iter().all(|s| s.builtin && !s.description.is_empty()));
        assert!(is_builtin("email"));
        assert!(!is_builtin("admin"));
        // Every built-in name is a valid scope token.
        for s in builtin_scopes() {
            assert!(ScopeSet::parse(&s.name).unwrap().contains(&s.name));
        }
    }
}
