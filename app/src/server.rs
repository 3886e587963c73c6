//! What the server functions need from the host process: the store (provided as
//! context by the server), the browser session, and adapters from Leptos's request to the
//! sign-in layer (`tessera_services`), which holds the session, CSRF and sign-in logic.
//! The URLs of the login flow's pages are built here.

use std::sync::Arc;

use leptos::prelude::*;
use tessera_core::store::{Store, User};
use tower_sessions::Session;

pub use tessera_services::clock::now;

/// Provided by the server to every page render and server function.
#[derive(Clone)]
pub struct ServerContext {
    pub store: Arc<dyn Store>,
    /// The issuer identifier, sent as `iss` with authorization responses (RFC 9207).
    pub issuer: String,
    /// Whether the step-by-step demo is on (`serve --demo`): the pages link to it only then.
    pub demo: bool,
    /// A sign-in's absolute lifetime in seconds (`--session-max-age`).
    pub session_max_age: i64,
}

impl ServerContext {
    /// Whether this server is served over https (cookies then get `__Host-` and `Secure`).
    pub fn https(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

pub fn context() -> Result<ServerContext, ServerFnError> {
    use_context::<ServerContext>().ok_or_else(|| ServerFnError::new("server context missing"))
}

pub async fn session() -> Result<Session, ServerFnError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| ServerFnError::new(format!("no session: {e}")))
}

/// The UI's one error path: a failure below it (the store, the session, the sign-in
/// layer) becomes a server function error; the page shows its error state. What a user
/// did wrong is never an error here: it is a redirect with feedback (the login page's
/// `?error=`, the console's flash, the account page's `?pw=`).
pub fn fail(e: impl std::fmt::Display) -> ServerFnError {
    ServerFnError::new(e.to_string())
}

async fn request_headers() -> http::HeaderMap {
    leptos_axum::extract::<http::HeaderMap>().await.unwrap_or_default()
}

/// The session's CSRF token, created on first use ([`tessera_services::csrf::token`]); a
/// new anonymous token's cookie is set on the response.
pub async fn csrf_token(session: &Session) -> Result<String, ServerFnError> {
    let secure = use_context::<ServerContext>().is_some_and(|c| c.https());
    let cookie = tessera_services::csrf::cookie_in(&request_headers().await, secure);
    let token = tessera_services::csrf::token(session, cookie, secure)
        .await
        .map_err(fail)?;
    if let (Some(cookie), Some(res)) = (&token.set_cookie, use_context::<leptos_axum::ResponseOptions>()) {
        if let Ok(value) = http::HeaderValue::from_str(cookie) {
            res.append_header(http::header::SET_COOKIE, value);
        }
    }
    Ok(token.value)
}

/// Whether a form's token is this session's ([`tessera_services::csrf::check`]).
pub async fn csrf_ok(session: &Session, presented: &str) -> bool {
    let secure = use_context::<ServerContext>().is_some_and(|c| c.https());
    tessera_services::csrf::check(session, &request_headers().await, secure, presented).await
}

/// The signed-in user ([`tessera_services::session::current_user`]).
pub async fn current_user(ctx: &ServerContext, session: &Session) -> Result<Option<User>, ServerFnError> {
    tessera_services::session::current_user(ctx.store.as_ref(), session)
        .await
        .map_err(fail)
}

/// The client address (the TCP peer, `ConnectInfo`); none for a server run without it
/// (router tests), which then counts sign-in failures per account only.
pub async fn peer() -> Option<std::net::IpAddr> {
    leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .await
        .ok()
        .map(|c| c.0.ip())
}

/// Records what the signed-in `user` did themselves in the audit log, at this request's
/// address, with the user as actor and subject (best-effort:
/// [`tessera_services::audit::record`]); `build` adds the client and detail.
pub async fn audit(
    ctx: &ServerContext,
    user: &User,
    kind: tessera_core::audit::Kind,
    build: impl FnOnce(tessera_core::audit::NewEvent) -> tessera_core::audit::NewEvent,
) {
    use tessera_core::audit::{Actor, NewEvent};
    let event = NewEvent::new(kind, Actor::user(&user.id, &user.username), now())
        .subject(&user.username)
        .address(peer().await);
    tessera_services::audit::record(ctx.store.as_ref(), build(event)).await;
}

/// Where the protocol continues once the page has recorded the user's decision.
pub fn resume_url(request_id: &str) -> String {
    format!("/authorize/resume?request={}", urlencode(request_id))
}

/// Only a path on this server is followed after sign-in (open redirect, RFC 9700 §4.11):
/// never `//host` or a full URL. Browsers drop TAB, LF and CR inside URLs and read `\` as
/// `/` (WHATWG URL), so `/\t/evil.example` would be `//evil.example`: every control
/// character, whitespace and backslash is refused. Then, resolved as a browser would
/// against this server, it must stay on this server.
pub fn safe_next(next: &str) -> String {
    const HERE: &str = "http://tessera.invalid/";
    let clean = next.starts_with('/') && !next.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    let stays = match url::Url::parse(HERE) {
        Ok(here) => here.join(next).is_ok_and(|u| u.origin() == here.origin()),
        Err(_) => false,
    };
    if clean && stays {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

pub fn login_url(next: &str, request: &str, error: Option<&str>) -> String {
    let mut url = if request.is_empty() {
        format!("/login?next={}", urlencode(next))
    } else {
        format!("/login?request={}", urlencode(request))
    };
    if let Some(e) = error {
        url.push_str("&error=");
        url.push_str(e);
    }
    url
}

/// The login page saying "try again in N seconds".
pub fn throttled_url(next: &str, request: &str, retry_after: i64) -> String {
    format!("{}&retry={retry_after}", login_url(next, request, Some("throttled")))
}

/// The login page saying the server is busy checking passwords ([`Busy`]).
pub fn busy_url(next: &str, request: &str) -> String {
    format!("{}&retry=1", login_url(next, request, Some("busy")))
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Security headers of an HTML page. The Content-Security-Policy allows only this
/// origin's scripts plus the inline hydration scripts carrying this response's nonce,
/// and forbids framing (clickjacking on login and consent).
pub fn set_page_security_headers() {
    use http::header::{HeaderValue, CONTENT_SECURITY_POLICY};
    let Some(res) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    let nonce = leptos::nonce::use_nonce().map(|n| n.to_string()).unwrap_or_default();
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data: https:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        res.insert_header(CONTENT_SECURITY_POLICY, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_stay_on_this_site() {
        let table = [
            ("/", "/"),
            ("/authorize/resume?id=abc", "/authorize/resume?id=abc"),
            ("//evil.example/x", "/"),
            ("https://evil.example/", "/"),
            ("/\\evil.example", "/"),
            ("", "/"),
            ("/a\r\nSet-Cookie: x=1", "/"),
        ];
        for (input, want) in table {
            assert_eq!(safe_next(input), want, "{input:?}");
        }
    }

    #[test]
    fn login_url_encodes_next() {
        assert_eq!(
            login_url("/a?b=c&d", "", Some("invalid")),
            "/login?next=/a%3Fb%3Dc%26d&error=invalid"
        );
        assert_eq!(login_url("/", "", None), "/login?next=/");
        // A login for a pending authorization request goes back to it, not to `next`.
        assert_eq!(
            login_url("/", "abc", Some("invalid")),
            "/login?request=abc&error=invalid"
        );
    }
}
