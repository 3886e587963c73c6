//! What the server functions need from the host process: the store (provided as
//! context by the server), the browser session, CSRF checks and password sign-in.

use std::sync::Arc;

use leptos::prelude::*;
use tessera_core::authorize::Pending;
use tessera_core::password;
use tessera_core::secret::{constant_time_eq, hash_secret, random_token};
use tessera_core::store::{Store, User};
use tower_sessions::Session;

/// Session keys.
pub const USER_ID_KEY: &str = "user_id";
/// OIDC Core §2 `auth_time`: when this session's user last entered their password.
pub const AUTH_TIME_KEY: &str = "auth_time";
pub const CSRF_KEY: &str = "csrf";
/// The user's password epoch when this session signed in ([`User::password_epoch`]).
pub const PASSWORD_EPOCH_KEY: &str = "password_epoch";

/// Provided by the server to every page render and server function.
#[derive(Clone)]
pub struct ServerContext {
    pub store: Arc<dyn Store>,
    /// The issuer identifier, sent as `iss` with authorization responses (RFC 9207).
    pub issuer: String,
    /// Whether the step-by-step demo is on (`serve --demo`): the pages link to it only then.
    pub demo: bool,
}

pub fn context() -> Result<ServerContext, ServerFnError> {
    use_context::<ServerContext>().ok_or_else(|| ServerFnError::new("server context missing"))
}

pub async fn session() -> Result<Session, ServerFnError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| ServerFnError::new(format!("no session: {e}")))
}

fn session_err(e: tower_sessions::session::Error) -> ServerFnError {
    ServerFnError::new(format!("session: {e}"))
}

/// The session's CSRF token, created on first use. A visitor nobody signed in to yet (the
/// login page) gets no server-side session for it (#18 item 1): their token lives in a
/// cookie of its own and the form repeats it (double submit, OWASP CSRF cheat sheet).
pub async fn csrf_token(session: &Session) -> Result<String, ServerFnError> {
    if let Some(token) = session.get::<String>(CSRF_KEY).await.map_err(session_err)? {
        return Ok(token);
    }
    if session.get::<String>(USER_ID_KEY).await.map_err(session_err)?.is_none() {
        if let Some(token) = anonymous_csrf_cookie().await {
            return Ok(token);
        }
        let token = random_token();
        set_anonymous_csrf_cookie(&token);
        return Ok(token);
    }
    let token = random_token();
    session.insert(CSRF_KEY, &token).await.map_err(session_err)?;
    Ok(token)
}

/// Whether a form's token is this session's token (synchronizer-token pattern), or, for a
/// session that has none, the anonymous CSRF cookie's (double submit).
pub async fn csrf_ok(session: &Session, presented: &str) -> bool {
    let headers = leptos_axum::extract::<http::HeaderMap>().await.unwrap_or_default();
    let issuer = use_context::<ServerContext>().map(|c| c.issuer).unwrap_or_default();
    csrf_ok_in(session, &headers, &issuer, presented).await
}

/// [`csrf_ok`] for a handler outside Leptos (the demo's), given the request's headers.
pub async fn csrf_ok_in(session: &Session, headers: &http::HeaderMap, issuer: &str, presented: &str) -> bool {
    if presented.is_empty() {
        return false;
    }
    match session.get::<String>(CSRF_KEY).await {
        Ok(Some(expected)) => constant_time_eq(&expected, presented),
        Ok(None) => csrf_cookie_in(headers, issuer.starts_with("https://"))
            .is_some_and(|expected| constant_time_eq(&expected, presented)),
        Err(_) => false,
    }
}

/// The anonymous CSRF cookie's name: `__Host-` on https, so that no other host (a
/// subdomain) can plant one (RFC 6265bis §4.1.3.2).
fn csrf_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-tessera_csrf"
    } else {
        "tessera_csrf"
    }
}

fn served_over_https() -> bool {
    use_context::<ServerContext>().is_some_and(|c| c.issuer.starts_with("https://"))
}

/// The anonymous CSRF token this browser holds, if it is one we could have made.
async fn anonymous_csrf_cookie() -> Option<String> {
    let headers = leptos_axum::extract::<http::HeaderMap>().await.ok()?;
    csrf_cookie_in(&headers, served_over_https())
}

fn csrf_cookie_in(headers: &http::HeaderMap, secure: bool) -> Option<String> {
    let name = csrf_cookie_name(secure);
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

fn set_anonymous_csrf_cookie(token: &str) {
    let Some(res) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    let secure = served_over_https();
    let cookie = format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200{}",
        csrf_cookie_name(secure),
        if secure { "; Secure" } else { "" }
    );
    if let Ok(value) = http::HeaderValue::from_str(&cookie) {
        res.append_header(http::header::SET_COOKIE, value);
    }
}

/// The signed-in user: the session's user, if they still exist, are enabled and have not
/// changed their password since this session signed in.
pub async fn current_user(ctx: &ServerContext, session: &Session) -> Result<Option<User>, ServerFnError> {
    session_user(ctx.store.as_ref(), session).await
}

/// [`current_user`] given the store (for handlers outside Leptos: the demo's).
pub async fn session_user(store: &dyn Store, session: &Session) -> Result<Option<User>, ServerFnError> {
    let Some(id) = session.get::<String>(USER_ID_KEY).await.map_err(session_err)? else {
        return Ok(None);
    };
    let user = store
        .user_by_id(&id)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    let epoch = signed_in_epoch(session).await?;
    Ok(user.filter(|u| speaks_for(u, epoch)))
}

/// The password epoch this session signed in under. Sessions from before epochs existed
/// carry none and count as 0, the epoch of a password never changed since.
pub async fn signed_in_epoch(session: &Session) -> Result<i64, ServerFnError> {
    Ok(session
        .get::<i64>(PASSWORD_EPOCH_KEY)
        .await
        .map_err(session_err)?
        .unwrap_or(0))
}

/// Whether a session signed in under `epoch` still speaks for `user`: the account is
/// enabled and its password has not been set since (OWASP ASVS 3.3.3: a password change
/// ends the user's other sessions).
pub fn speaks_for(user: &User, epoch: i64) -> bool {
    !user.disabled && user.password_epoch == epoch
}

/// After this session changed its own user's password: it stays signed in, under the new
/// epoch, while every other session of that user is signed out.
pub async fn keep_signed_in(session: &Session, epoch: i64) -> Result<(), ServerFnError> {
    session.insert(PASSWORD_EPOCH_KEY, epoch).await.map_err(session_err)
}

/// Runs Argon2id work (19 MiB and tens of milliseconds each) on the blocking pool, at most
/// one hash per core at a time: unbounded, a burst of logins took 19 MiB apiece (a
/// benchmark with 8 concurrent logins reached 1.9 GiB RSS). The memory itself is reused
/// (`tessera_core::password`), so it stays at one block per concurrent hash.
///
/// Callers queue for a slot here, first come first served, before a blocking thread is
/// involved. Waiting inside the blocking task instead (as this did before) parked one
/// thread per queued login and woke them in no particular order: at 32 concurrent logins
/// p99 was 490 ms against a 270 ms p50; queued here it is 285 ms, at the same throughput
/// (`tessera-bench` login). The slot travels into the blocking task, so it is held until
/// the hash is done even if the request that asked for it has gone. Tokio's semaphore
/// works across runtimes, which tests rely on (several share this process).
pub async fn argon2<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    argon2_slot()
        .await
        .map_err(|Busy| "busy: too many password checks waiting".to_owned())?
        .run(work)
        .await
}

/// At most this many password checks wait for an Argon2 slot; beyond that the answer is
/// "busy, try again" at once, so a burst of logins cannot queue without limit (#18 item
/// 3). At ~50 ms a hash on 2 cores the last in the queue waits about 0.8 s.
pub const ARGON2_QUEUE: usize = 32;

/// Every Argon2 slot is taken and [`ARGON2_QUEUE`] callers already wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// A taken Argon2 slot: [`ArgonSlot::run`] hashes with it.
pub struct ArgonSlot(tokio::sync::OwnedSemaphorePermit);

impl ArgonSlot {
    pub async fn run<T: Send + 'static>(self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
        let slot = self.0;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await
        .map_err(|e| e.to_string())
    }
}

/// Waits for an Argon2 slot, unless [`ARGON2_QUEUE`] callers already wait.
pub async fn argon2_slot() -> Result<ArgonSlot, Busy> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static WAITING: AtomicUsize = AtomicUsize::new(0);
    /// Counts one waiter while alive (a caller that goes away stops counting).
    struct Waiting;
    impl Drop for Waiting {
        fn drop(&mut self) {
            WAITING.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let slots = argon_slots().clone();
    if let Ok(permit) = slots.clone().try_acquire_owned() {
        return Ok(ArgonSlot(permit));
    }
    if WAITING.fetch_add(1, Ordering::SeqCst) >= ARGON2_QUEUE {
        WAITING.fetch_sub(1, Ordering::SeqCst);
        return Err(Busy);
    }
    let _waiting = Waiting;
    slots.acquire_owned().await.map(ArgonSlot).map_err(|_| Busy)
}

/// `available_parallelism()` slots for Argon2 work.
fn argon_slots() -> &'static std::sync::Arc<tokio::sync::Semaphore> {
    static SLOTS: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        std::sync::Arc::new(tokio::sync::Semaphore::new(n))
    })
}

/// One password check per account at a time on this instance (#18 item 3): a burst of
/// concurrent guesses at one account would otherwise all pass the back-off check before
/// any of them was counted. The others wait their turn (a double-clicked "Sign in" still
/// works) and then see the back-off as the previous attempt left it; a turn not given
/// within [`ACCOUNT_TURN_WAIT`] is answered "busy".
pub struct AccountTurn {
    key: String,
    // Dropped after `drop` below has run: the entry is removed while still held.
    _held: tokio::sync::OwnedMutexGuard<()>,
}

/// The longest wait for an account's turn.
pub const ACCOUNT_TURN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

type TurnMap = std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>;

fn turns() -> &'static TurnMap {
    static MAP: std::sync::OnceLock<TurnMap> = std::sync::OnceLock::new();
    MAP.get_or_init(Default::default)
}

/// Forgets `key`'s lock when nobody holds or waits for it (only the map's copy and, while
/// dropping a turn, the turn's own are left).
fn forget_turn(key: &str, others: usize) {
    let mut map = turns().lock().unwrap_or_else(|e| e.into_inner());
    if map
        .get(key)
        .is_some_and(|lock| std::sync::Arc::strong_count(lock) <= 1 + others)
    {
        map.remove(key);
    }
}

/// Waits for this account's turn (see [`AccountTurn`]).
pub async fn account_turn(account_key: &str) -> Result<AccountTurn, Busy> {
    let lock = {
        let mut map = turns().lock().unwrap_or_else(|e| e.into_inner());
        map.entry(account_key.to_owned()).or_default().clone()
    };
    match tokio::time::timeout(ACCOUNT_TURN_WAIT, lock.lock_owned()).await {
        Ok(held) => Ok(AccountTurn {
            key: account_key.to_owned(),
            _held: held,
        }),
        Err(_) => {
            forget_turn(account_key, 0);
            Err(Busy)
        }
    }
}

impl Drop for AccountTurn {
    fn drop(&mut self) {
        forget_turn(&self.key, 1);
    }
}

pub enum LoginFailure {
    /// Unknown user, wrong password or disabled account: one answer for all three.
    Invalid,
    Backend(String),
}

/// Checks a username and password with an Argon2 slot already taken ([`argon2_slot`]).
/// Argon2id runs on the blocking pool; an unknown username costs the same as a wrong
/// password.
pub async fn authenticate(
    ctx: &ServerContext,
    slot: ArgonSlot,
    username: &str,
    password: &str,
) -> Result<User, LoginFailure> {
    let found = ctx
        .store
        .credentials_by_username(&username.trim().to_ascii_lowercase())
        .await
        .map_err(|e| LoginFailure::Backend(e.to_string()))?;
    let password = password.to_owned();
    let checked = slot
        .run(move || match found {
            Some((user, hash)) => password::verify_password(&password, &hash).then_some(user),
            None => {
                password::verify_against_dummy(&password);
                None
            }
        })
        .await
        .map_err(|e| LoginFailure::Backend(e.to_string()))?;
    match checked {
        Some(user) if !user.disabled => Ok(user),
        _ => Err(LoginFailure::Invalid),
    }
}

/// The back-off counters a sign-in as `username` from this connection is held to: the
/// account's and the client address's. The address is the TCP peer (`ConnectInfo`); a
/// server run without it (router tests) only counts per account.
pub async fn throttle_keys(username: &str) -> Vec<(String, &'static tessera_core::throttle::Backoff)> {
    use tessera_core::throttle::{account_key, address_key, PER_ACCOUNT, PER_ADDRESS};
    let mut keys = vec![(account_key(username), &PER_ACCOUNT)];
    if let Ok(axum::extract::ConnectInfo(peer)) =
        leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>().await
    {
        keys.push((address_key(peer.ip()), &PER_ADDRESS));
    }
    keys
}

/// Binds the session to the user under a fresh session id (no session fixation) and a
/// fresh CSRF token. A session another user signed in to before starts empty: nothing of
/// theirs (the demo's tokens among it) carries over to the next user (#18 item 7). What
/// an anonymous visitor started (a demo run on its way through sign-in) stays.
pub async fn sign_in(session: &Session, user: &User) -> Result<(), ServerFnError> {
    let previous = session.get::<String>(USER_ID_KEY).await.map_err(session_err)?;
    if previous.is_some_and(|p| p != user.id) {
        session.clear().await;
    }
    session.remove::<String>(CSRF_KEY).await.map_err(session_err)?;
    session.cycle_id().await.map_err(session_err)?;
    session.insert(USER_ID_KEY, &user.id).await.map_err(session_err)?;
    session.insert(AUTH_TIME_KEY, now()).await.map_err(session_err)?;
    session
        .insert(PASSWORD_EPOCH_KEY, user.password_epoch)
        .await
        .map_err(session_err)?;
    Ok(())
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// A pending authorization request by the id the browser carries.
pub async fn load_pending(ctx: &ServerContext, id: &str) -> Result<Option<Pending>, ServerFnError> {
    let json = ctx
        .store
        .auth_request(&hash_secret(id), now())
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    json.map(|j| serde_json::from_str(&j).map_err(|e| ServerFnError::new(e.to_string())))
        .transpose()
}

pub async fn save_pending(ctx: &ServerContext, id: &str, pending: &Pending) -> Result<(), ServerFnError> {
    let json = serde_json::to_string(pending).map_err(|e| ServerFnError::new(e.to_string()))?;
    ctx.store
        .update_auth_request(&hash_secret(id), &json)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

pub async fn forget_pending(ctx: &ServerContext, id: &str) -> Result<(), ServerFnError> {
    ctx.store
        .delete_auth_request(&hash_secret(id))
        .await
        .map(|_| ())
        .map_err(|e| ServerFnError::new(e.to_string()))
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

    /// One test, not two: the slots are one per process, shared by every test here.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn argon2_work_runs_one_per_core_and_keeps_its_slot_until_done() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        use std::time::Duration;

        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..cores * 4)
            .map(|i| {
                let (running, peak) = (running.clone(), peak.clone());
                tokio::spawn(argon2(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                }))
            })
            .collect();
        for (i, job) in jobs.into_iter().enumerate() {
            assert_eq!(job.await.unwrap(), Ok(i));
        }
        assert_eq!(
            peak.load(Ordering::SeqCst),
            cores,
            "at most (and, queued, exactly) one per core"
        );

        // A caller that goes away mid-hash: the slot stays taken until the work is done.
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (finish_tx, finish_rx) = std::sync::mpsc::channel::<()>();
        let abandoned = tokio::spawn(argon2(move || {
            started_tx.send(()).unwrap();
            finish_rx.recv_timeout(Duration::from_secs(10)).ok();
        }));
        tokio::task::spawn_blocking(move || started_rx.recv_timeout(Duration::from_secs(10)))
            .await
            .unwrap()
            .unwrap();
        abandoned.abort();
        assert!(abandoned.await.unwrap_err().is_cancelled());
        assert_eq!(argon_slots().available_permits(), cores - 1, "still hashing: slot held");
        finish_tx.send(()).unwrap();
        for _ in 0..500 {
            if argon_slots().available_permits() == cores {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the slot was not given back after the work finished");
    }

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
