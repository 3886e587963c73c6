//! CSRF tokens for every form. A signed-in session keeps its token server-side
//! (synchronizer token). A visitor nobody signed in to yet (the login page) gets no
//! server-side session for it (#18 item 1): their token lives in a cookie of its own and
//! the form repeats it (double submit, OWASP CSRF cheat sheet).

use tessera_core::secret::{constant_time_eq, random_token};
use tower_sessions::Session;

use crate::session::USER_ID_KEY;
use crate::ServiceError;

pub const CSRF_KEY: &str = "csrf";

/// The token a form of this session carries, and the anonymous cookie to set when one
/// was just made for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub value: String,
    /// A `Set-Cookie` value, for a new anonymous token.
    pub set_cookie: Option<String>,
}

/// The session's CSRF token, created on first use. `cookie` is the anonymous token the
/// request carried ([`cookie_in`]); `secure` whether this server is served over https.
pub async fn token(session: &Session, cookie: Option<String>, secure: bool) -> Result<Token, ServiceError> {
    if let Some(value) = session.get::<String>(CSRF_KEY).await? {
        return Ok(Token {
            value,
            set_cookie: None,
        });
    }
    if session.get::<String>(USER_ID_KEY).await?.is_none() {
        if let Some(value) = cookie {
            return Ok(Token {
                value,
                set_cookie: None,
            });
        }
        let value = random_token();
        let set_cookie = Some(set_cookie(&value, secure));
        return Ok(Token { value, set_cookie });
    }
    let value = random_token();
    session.insert(CSRF_KEY, &value).await?;
    Ok(Token {
        value,
        set_cookie: None,
    })
}

/// Whether a form's token is this session's token, or, for a session that has none, the
/// anonymous CSRF cookie's. Compared in constant time.
pub async fn check(session: &Session, headers: &http::HeaderMap, secure: bool, presented: &str) -> bool {
    if presented.is_empty() {
        return false;
    }
    match session.get::<String>(CSRF_KEY).await {
        Ok(Some(expected)) => constant_time_eq(&expected, presented),
        Ok(None) => cookie_in(headers, secure).is_some_and(|expected| constant_time_eq(&expected, presented)),
        Err(_) => false,
    }
}

/// The anonymous CSRF cookie's name: `__Host-` on https, so that no other host (a
/// subdomain) can plant one (RFC 6265bis §4.1.3.2).
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-tessera_csrf"
    } else {
        "tessera_csrf"
    }
}

/// The anonymous CSRF token this request carries, if it is one we could have made.
pub fn cookie_in(headers: &http::HeaderMap, secure: bool) -> Option<String> {
    let name = cookie_name(secure);
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| v.len() == 43 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// The `Set-Cookie` value for an anonymous token: HttpOnly, SameSite=Strict, twelve hours.
pub fn set_cookie(token: &str, secure: bool) -> String {
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200{}",
        cookie_name(secure),
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::COOKIE, http::HeaderValue::from_str(cookie).unwrap());
        h
    }

    #[test]
    fn only_a_well_formed_cookie_of_the_right_name_counts() {
        let token = "a".repeat(43);
        let table = [
            (format!("tessera_csrf={token}"), false, Some(token.clone())),
            (format!("x=1; tessera_csrf={token}; y=2"), false, Some(token.clone())),
            // On https only the __Host- cookie, which no subdomain can plant.
            (format!("tessera_csrf={token}"), true, None),
            (format!("__Host-tessera_csrf={token}"), true, Some(token.clone())),
            // Not a token we could have made: wrong length or alphabet.
            ("tessera_csrf=short".to_owned(), false, None),
            (format!("tessera_csrf={}", "a".repeat(42) + "!"), false, None),
        ];
        for (cookie, secure, want) in table {
            assert_eq!(cookie_in(&headers(&cookie), secure), want, "{cookie} secure={secure}");
        }
    }

    #[test]
    fn the_anonymous_cookie_is_strict_http_only_and_secure_on_https() {
        assert_eq!(
            set_cookie("t", false),
            "tessera_csrf=t; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200"
        );
        assert_eq!(
            set_cookie("t", true),
            "__Host-tessera_csrf=t; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure"
        );
    }
}
