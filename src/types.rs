//! Values parsed once at the edge. After parsing, code takes `&RedirectUri`, `&Username`,
//! `&ScopeSet`: an invalid value cannot reach the protocol logic.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::policy;

/// Why a value given by a user, an administrator or a client was refused.
/// The message is safe to show to whoever sent the value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidValue {
    #[error(
        "username must be 1 to {} characters of letters, digits, '.', '_', '-' or '@'",
        policy::USERNAME_MAX_CHARS
    )]
    Username,
    #[error("redirect URI {0:?} is not an absolute URI")]
    RedirectUriNotAbsolute(String),
    #[error("redirect URI {0:?} must not contain a fragment (RFC 6749 §3.1.2)")]
    RedirectUriFragment(String),
    #[error("redirect URI {0:?} uses plain http on a host that is not loopback; use https (RFC 9700 §2.1)")]
    RedirectUriInsecure(String),
    #[error("redirect URI {0:?} uses a scheme that cannot be a redirect target")]
    RedirectUriScheme(String),
    #[error("scope {0:?} has characters not allowed in a scope token (RFC 6749 §3.3)")]
    ScopeToken(String),
    #[error("client name must be 1 to {} characters", policy::CLIENT_NAME_MAX_CHARS)]
    ClientName,
    #[error("email {0:?} is not a valid address")]
    Email(String),
}

/// The longest username (characters), from [`crate::policy`].
pub use crate::policy::USERNAME_MAX_CHARS as MAX_USERNAME_CHARS;

/// A login name: 1 to [`policy::USERNAME_MAX_CHARS`] characters from a conservative set.
/// Stored lower-case ([`Username::normalise`]), so that "Alice" and "alice" are one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let ok = !raw.is_empty()
            && raw.chars().count() <= MAX_USERNAME_CHARS
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if ok {
            Ok(Self(Self::normalise(raw)))
        } else {
            Err(InvalidValue::Username)
        }
    }

    /// The one username normalisation: surrounding spaces dropped, ASCII lower-cased. What
    /// an account is stored under, looked up by at sign-in and throttled by; a typed name
    /// that is not a valid username is normalised the same way, so that it is looked up
    /// (and found absent) like any other.
    pub fn normalise(raw: &str) -> String {
        raw.trim().to_ascii_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> Self {
        value.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A registered redirect URI. Kept as the exact string that was registered, because
/// RFC 9700 §4.1.3 requires exact string matching at the authorization endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUri(String);

impl RedirectUri {
    /// RFC 6749 §3.1.2: an absolute URI without a fragment. RFC 9700 §2.1 and RFC 8252
    /// §7: https, plain http only on a loopback host, or a private-use scheme of a native
    /// app (one containing a dot, such as `com.example.app:/cb`).
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let err_owned = || raw.to_owned();
        let url = url::Url::parse(raw).map_err(|_| InvalidValue::RedirectUriNotAbsolute(err_owned()))?;
        if raw.contains('#') || url.fragment().is_some() {
            return Err(InvalidValue::RedirectUriFragment(err_owned()));
        }
        match url.scheme() {
            "https" => {
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(InvalidValue::RedirectUriNotAbsolute(err_owned()));
                }
            }
            "http" => {
                let loopback = match url.host() {
                    Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                    Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                    Some(url::Host::Domain(d)) => d == "localhost",
                    None => false,
                };
                if !loopback {
                    return Err(InvalidValue::RedirectUriInsecure(err_owned()));
                }
            }
            scheme if scheme.contains('.') => {}
            _ => return Err(InvalidValue::RedirectUriScheme(err_owned())),
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RedirectUri {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RedirectUri> for String {
    fn from(value: RedirectUri) -> Self {
        value.0
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A set of scope tokens (RFC 6749 §3.3): space-delimited, order-insensitive, no duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ScopeSet(BTreeSet<String>);

impl ScopeSet {
    /// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, separated by spaces.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let mut set = BTreeSet::new();
        for token in raw.split(' ').filter(|t| !t.is_empty()) {
            let valid = token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid {
                return Err(InvalidValue::ScopeToken(token.to_owned()));
            }
            set.insert(token.to_owned());
        }
        Ok(Self(set))
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// This set less the named scopes.
    pub fn without(&self, names: &[&str]) -> ScopeSet {
        Self(
            self.0
                .iter()
                .filter(|s| !names.contains(&s.as_str()))
                .cloned()
                .collect(),
        )
    }

    /// The scopes in both sets.
    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.intersection(&other.0).cloned().collect())
    }

    /// The scopes of this set that are not in `other`.
    pub fn difference(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.difference(&other.0).cloned().collect())
    }
}

impl TryFrom<String> for ScopeSet {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ScopeSet> for String {
    fn from(value: ScopeSet) -> Self {
        value.to_string()
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(s)?;
            first = false;
        }
        Ok(())
    }
}

/// A client's display name, shown on the consent screen.
pub fn parse_client_name(raw: &str) -> Result<String, InvalidValue> {
    let trimmed = raw.trim();
    if trimmed.is_empty()
        || trimmed.chars().count() > policy::CLIENT_NAME_MAX_CHARS
        || trimmed.chars().any(char::is_control)
    {
        return Err(InvalidValue::ClientName);
    }
    Ok(trimmed.to_owned())
}

/// A deliberately loose email check: one `@`, something on both sides, no spaces.
pub fn parse_email(raw: &str) -> Result<String, InvalidValue> {
    let raw = raw.trim();
    let ok = raw.len() <= policy::EMAIL_MAX_BYTES
        && !raw.contains(char::is_whitespace)
        && raw
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(InvalidValue::Email(raw.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_rules() {
        // (input, accepted?)
        let table: &[(&str, bool)] = &[
            ("https://app.example.com/callback", true),
            ("https://app.example.com/cb?x=1", true),
            ("http://127.0.0.1:8080/cb", true),
            ("http://[::1]/cb", true),
            ("http://localhost:3000/cb", true),
            ("com.example.app:/oauth2redirect", true),
            ("/relative/path", false),
            ("callback", false),
            ("https://app.example.com/cb#frag", false),
            ("https://app.example.com/cb#", false),
            ("http://app.example.com/cb", false),
            ("http://10.0.0.1/cb", false),
            ("javascript:alert(1)", false),
            ("data:text/html,hi", false),
            ("file:///etc/passwd", false),
            ("", false),
        ];
        for (raw, ok) in table {
            assert_eq!(RedirectUri::parse(raw).is_ok(), *ok, "{raw}");
        }
    }

    #[test]
    fn redirect_uri_keeps_the_exact_string() {
        // url::Url would add a trailing slash; exact matching needs the original.
        let uri = RedirectUri::parse("https://app.example.com").unwrap();
        assert_eq!(uri.as_str(), "https://app.example.com");
    }

    #[test]
    fn redirect_uri_errors_name_the_rule() {
        assert!(matches!(
            RedirectUri::parse("/cb"),
            Err(InvalidValue::RedirectUriNotAbsolute(_))
        ));
        assert!(matches!(
            RedirectUri::parse("https://a.example/cb#x"),
            Err(InvalidValue::RedirectUriFragment(_))
        ));
        assert!(matches!(
            RedirectUri::parse("http://a.example/cb"),
            Err(InvalidValue::RedirectUriInsecure(_))
        ));
    }

    #[test]
    fn usernames() {
        for ok in ["alice", "a", "bob.smith", "c_d-e", "x@example.com", &"a".repeat(64)] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(Username::parse("Alice").unwrap().as_str(), "alice");
        for bad in ["", " alice", "al ice", "al/ice", "élise", &"a".repeat(65)] {
            assert_eq!(Username::parse(bad), Err(InvalidValue::Username), "{bad}");
        }
    }

    #[test]
    fn scope_sets() {
        let s = ScopeSet::parse("openid  profile openid email").unwrap();
        assert_eq!(s.to_string(), "email openid profile");
        assert!(s.contains("profile"));
        assert!(ScopeSet::parse("openid").unwrap().is_subset(&s));
        assert!(!ScopeSet::parse("openid admin").unwrap().is_subset(&s));
        // RFC 6749 §3.3 excludes '"' and '\'.
        assert!(ScopeSet::parse("a\"b").is_err());
        assert!(ScopeSet::parse("a\\b").is_err());
        assert!(ScopeSet::parse("").unwrap().is_empty());
        assert_eq!(s.len(), 3);
        assert_eq!(s.without(&["openid", "x"]).to_string(), "email profile");
        assert_eq!(
            s.difference(&ScopeSet::parse("email x").unwrap()).to_string(),
            "openid profile"
        );
    }

    #[test]
    fn names_and_emails() {
        assert_eq!(parse_client_name("  My App ").unwrap(), "My App");
        assert!(parse_client_name("   ").is_err());
        assert!(parse_client_name(&"x".repeat(101)).is_err());
        assert!(parse_email("a@b.example").is_ok());
        for bad in ["ab.example", "@b.example", "a@b", "a b@c.example", "a@b@c.example"] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
    }
}
