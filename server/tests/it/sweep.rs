//! #18 "Proof": every route gets malformed input — random bytes, 64 KiB and 2 MiB
//! parameters, broken percent-encoding, wrong content types, repeated parameters, huge
//! headers, non-UTF-8, NUL — and must answer a 4xx (the RFC's error code where one
//! exists), never a 5xx; no handler panics; the server still answers afterwards; and
//! concurrent oversized forms do not make the process grow without bound.
//!
//! The route list is read from the router's sources, the Leptos route list and the
//! registered server functions, so a new route is swept too; [`KNOWN`] is the list as of
//! writing, and must all be found.
//!
//! Requests go through reqwest where it can say them exactly, and as raw bytes on a TCP
//! connection where it cannot (non-UTF-8 or NUL in the request line or a header, URIs over
//! 64 KiB, chunked bodies).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// --- Watching the server: panics on its threads, and its log ----------------------------

/// Panics on the runtime's worker threads, where the in-process server runs (the tests
/// use the multi-threaded runtime, so a test's own assertions panic on its own thread and
/// are not counted). `CatchPanicLayer` turns a handler's panic into a 500; the hook still
/// sees it.
static PANICS: AtomicUsize = AtomicUsize::new(0);
/// Panics this file causes on purpose, to show that the hook sees the worker threads.
static DELIBERATE: AtomicUsize = AtomicUsize::new(0);
const DELIBERATE_PANIC: &str = "sweep: a deliberate panic";
static PANIC_MESSAGES: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// The server's log at WARN and above (the request log stays off, as in the benchmark).
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogSink;

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the panic hook (chained to the previous one) and the log capture, once.
/// Returns the panic count so far, for [`finish`].
fn watch() -> usize {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            // tokio names them `tokio-rt-worker` (formerly `tokio-runtime-worker`), the
            // blocking pool's included.
            if thread.name().is_some_and(|n| n.starts_with("tokio-")) {
                if info.to_string().contains(DELIBERATE_PANIC) {
                    DELIBERATE.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                PANICS.fetch_add(1, Ordering::SeqCst);
                PANIC_MESSAGES
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(info.to_string());
            }
            previous(info);
        }));
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(|| LogSink)
            .try_init();
    });
    PANICS.load(Ordering::SeqCst)
}

/// The end of every sweep: no handler panicked, nothing in the log speaks of a panic, and
/// the server still answers its health check.
async fn finish(server: &common::TestServer, panics_before: usize) {
    let panics = PANICS.load(Ordering::SeqCst) - panics_before;
    let messages = PANIC_MESSAGES.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(panics, 0, "handler panics: {messages:#?}");
    let log = String::from_utf8_lossy(&LOG.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    assert!(!log.contains("panicked"), "a panic in the log:\n{log}");
    let res = reqwest::get(format!("{}/healthz", server.base)).await.unwrap();
    assert_eq!(res.status(), 200, "the server still answers after the sweep");
}

/// xorshift64: the same "random" inputs on every run, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 24) as u8).collect()
    }
    fn pick(&mut self, alphabet: &[u8], n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize])
            .collect()
    }
}

// --- Requests ------------------------------------------------------------------------------

/// One request, as bytes: what reqwest cannot send goes out raw.
#[derive(Clone, Debug)]
struct Probe {
    case: String,
    method: &'static str,
    target: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    chunked: bool,
}

impl Probe {
    fn new(case: impl Into<String>, method: &'static str, target: impl Into<Vec<u8>>) -> Probe {
        Probe {
            case: case.into(),
            method,
            target: target.into(),
            headers: Vec::new(),
            body: Vec::new(),
            chunked: false,
        }
    }
    fn header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Probe {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
    fn form(self, body: impl Into<Vec<u8>>) -> Probe {
        self.body(Some("application/x-www-form-urlencoded"), body)
    }
    fn body(mut self, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Probe {
        if let Some(ct) = content_type {
            self = self.header("content-type", ct);
        }
        self.body = body.into();
        self
    }
    fn basic(self, secret: &str) -> Probe {
        use base64::Engine;
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("web:{secret}"));
        self.header("authorization", format!("Basic {credentials}"))
    }
    fn chunked(mut self) -> Probe {
        self.chunked = true;
        self
    }
    /// How the request starts, for failure messages (the target shortened).
    fn describe(&self) -> String {
        let target = String::from_utf8_lossy(&self.target);
        let target: String = target.chars().take(120).collect();
        format!("{} {target} ({} body bytes)", self.method, self.body.len())
    }
}

#[derive(Debug)]
struct Answer {
    /// 0: no answer at all (the connection closed or reset first).
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
    fn json_error(&self) -> Option<String> {
        self.json()?["error"].as_str().map(str::to_owned)
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).chars().take(300).collect()
    }
    fn describe(&self) -> String {
        format!(
            "{} {:?} www-authenticate={:?} location={:?} body={:?}",
            self.status,
            self.json_error(),
            self.header("www-authenticate"),
            self.header("location").map(|l| l.chars().take(150).collect::<String>()),
            self.text()
        )
    }
}

/// Requests reqwest lost the answer to (a failed write after the server answered and
/// closed), sent again as raw bytes.
static REREAD: AtomicUsize = AtomicUsize::new(0);

/// The request as reqwest would send it, if it sends exactly these bytes.
fn as_reqwest(http: &reqwest::Client, addr: SocketAddr, p: &Probe) -> Option<reqwest::RequestBuilder> {
    if p.chunked {
        return None;
    }
    let target = std::str::from_utf8(&p.target).ok()?;
    let url = format!("http://{addr}{target}");
    let parsed = reqwest::Url::parse(&url).ok()?;
    // The http crate refuses URIs of 65,534 bytes and more.
    if parsed.as_str() != url || url.len() >= 65_534 {
        return None;
    }
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in &p.headers {
        let name = reqwest::header::HeaderName::from_bytes(k.as_bytes()).ok()?;
        let value = reqwest::header::HeaderValue::from_bytes(v).ok()?;
        headers.append(name, value);
    }
    let method = reqwest::Method::from_bytes(p.method.as_bytes()).ok()?;
    Some(http.request(method, parsed).headers(headers).body(p.body.clone()))
}

async fn send(http: &reqwest::Client, addr: SocketAddr, p: &Probe) -> Answer {
    let Some(req) = as_reqwest(http, addr, p) else {
        return raw(addr, p).await;
    };
    match req.send().await {
        // The server answered before reading all of the body and closed the connection:
        // reqwest reports the failed write, not the answer. Read it as raw bytes do.
        Err(e) if !e.is_timeout() => {
            REREAD.fetch_add(1, Ordering::SeqCst);
            raw(addr, p).await
        }
        Ok(res) => {
            let status = res.status().as_u16();
            let headers = res
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.as_bytes().to_vec()))
                .collect();
            let body = res.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            Answer { status, headers, body }
        }
        Err(e) => Answer {
            status: 0,
            headers: Vec::new(),
            body: format!("no answer: {e:?}").into_bytes(),
        },
    }
}

/// HTTP/1.1 by hand: exactly these bytes, `Connection: close`, the answer read to the end.
async fn raw(addr: SocketAddr, p: &Probe) -> Answer {
    let mut req = Vec::new();
    req.extend_from_slice(p.method.as_bytes());
    req.push(b' ');
    req.extend_from_slice(&p.target);
    req.extend_from_slice(b" HTTP/1.1\r\nhost: sweep\r\nconnection: close\r\n");
    for (k, v) in &p.headers {
        req.extend_from_slice(k.as_bytes());
        req.extend_from_slice(b": ");
        req.extend_from_slice(v);
        req.extend_from_slice(b"\r\n");
    }
    if p.chunked {
        req.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
        for chunk in p.body.chunks(64 * 1024) {
            req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            req.extend_from_slice(chunk);
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(b"0\r\n\r\n");
    } else {
        if p.method != "GET" || !p.body.is_empty() {
            req.extend_from_slice(format!("content-length: {}\r\n", p.body.len()).as_bytes());
        }
        req.extend_from_slice(b"\r\n");
        req.extend_from_slice(&p.body);
    }
    raw_bytes(addr, req, Duration::from_secs(30)).await
}

/// Sends `req` as is and reads the answer until the server closes.
async fn raw_bytes(addr: SocketAddr, req: Vec<u8>, timeout: Duration) -> Answer {
    let conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = conn.into_split();
    // Written while the answer is read: a server that answers before reading all of a
    // large request (413, 431) is heard whatever becomes of the rest of the write. The
    // write half stays open until then (no half-close).
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&req).await;
        wr
    });
    let mut buf = Vec::new();
    let read = tokio::time::timeout(timeout, async {
        let mut chunk = vec![0u8; 64 * 1024];
        // A reset after the answer (the rest of a refused upload) ends the read too.
        while let Ok(n @ 1..) = rd.read(&mut chunk).await {
            buf.extend_from_slice(&chunk[..n]);
        }
    })
    .await;
    writer.abort();
    if read.is_err() {
        return Answer {
            status: 0,
            headers: Vec::new(),
            body: format!("no answer within {} s", timeout.as_secs()).into_bytes(),
        };
    }
    parse_response(&buf)
}

fn parse_response(buf: &[u8]) -> Answer {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Answer {
            status: 0,
            headers: Vec::new(),
            body: buf.to_vec(),
        };
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, Vec<u8>)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().as_bytes().to_vec()))
        .collect();
    let mut body = buf[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case(b"chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = body.as_slice();
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16).unwrap_or(0);
            if size == 0 || rest.len() < eol + 2 + size {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest = &rest[(eol + 4 + size).min(rest.len())..];
        }
        body = out;
    }
    Answer { status, headers, body }
}

// --- The routes ----------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Route {
    path: String,
    get: bool,
    post: bool,
}

/// Every route as of writing: the axum routes (`web.rs`, `oauth/mod.rs`, the demo
/// client's), the Leptos pages and the server functions. (path, GET, POST).
const KNOWN: &[(&str, bool, bool)] = &[
    ("/", true, false),
    ("/.well-known/oauth-authorization-server", true, false),
    ("/.well-known/openid-configuration", true, false),
    ("/account", true, false),
    ("/account/apps", true, false),
    ("/admin", true, false),
    ("/admin/clients", true, false),
    ("/admin/clients/new", true, false),
    ("/admin/clients/{id}", true, false),
    ("/admin/scopes", true, false),
    ("/admin/users", true, false),
    ("/admin/users/new", true, false),
    ("/admin/users/{id}", true, false),
    ("/api/resource", true, false),
    ("/authorize", true, true),
    ("/authorize/resume", true, false),
    ("/consent", true, false),
    ("/demo", true, false),
    ("/demo/api", false, true),
    ("/demo/callback", true, false),
    ("/demo/refresh", false, true),
    ("/demo/reset", false, true),
    ("/demo/revoke", false, true),
    ("/demo/start", false, true),
    ("/healthz", true, false),
    ("/introspect", false, true),
    ("/jwks.json", true, false),
    ("/login", true, false),
    ("/par", false, true),
    ("/readyz", true, false),
    ("/revoke", false, true),
    ("/token", false, true),
    ("/ui/account", false, true),
    ("/ui/account/apps", false, true),
    ("/ui/account/apps/revoke", false, true),
    ("/ui/account/password", false, true),
    ("/ui/admin/client", false, true),
    ("/ui/admin/clients", false, true),
    ("/ui/admin/clients/create", false, true),
    ("/ui/admin/clients/delete", false, true),
    ("/ui/admin/clients/rotate", false, true),
    ("/ui/admin/clients/update", false, true),
    ("/ui/admin/grants/consent", false, true),
    ("/ui/admin/grants/family", false, true),
    ("/ui/admin/overview", false, true),
    ("/ui/admin/scopes", false, true),
    ("/ui/admin/scopes/create", false, true),
    ("/ui/admin/scopes/delete", false, true),
    ("/ui/admin/scopes/update", false, true),
    ("/ui/admin/user", false, true),
    ("/ui/admin/users", false, true),
    ("/ui/admin/users/admin", false, true),
    ("/ui/admin/users/create", false, true),
    ("/ui/admin/users/disabled", false, true),
    ("/ui/admin/users/password", false, true),
    ("/ui/consent", false, true),
    ("/ui/demo", false, true),
    ("/ui/home", false, true),
    ("/ui/login", false, true),
    ("/ui/logout", false, true),
    ("/ui/nav", false, true),
    ("/ui/pending", false, true),
    ("/ui/session", false, true),
    ("/ui/status", false, true),
    ("/userinfo", true, true),
];

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path, text));
        }
    }
    out
}

/// The arguments of the call that `rest` starts inside of: up to the parenthesis that
/// closes it.
fn call_arguments(rest: &str) -> Option<&str> {
    let mut depth = 1;
    let end = rest.char_indices().find_map(|(i, c)| {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        (depth == 0).then_some(i)
    })?;
    Some(&rest[..end])
}

/// The `.route("PATH", get(..).post(..))` calls in the server's sources.
fn source_routes() -> Vec<Route> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    sources(&dir).iter().flat_map(|(_, text)| routes_in(text)).collect()
}

fn routes_in(text: &str) -> Vec<Route> {
    text.split(".route(")
        .skip(1)
        .filter_map(|rest| {
            let call = call_arguments(rest)?;
            let path = call.trim_start().strip_prefix('"')?.split('"').next()?.to_owned();
            Some(Route {
                path,
                get: call.contains("get("),
                post: call.contains("post("),
            })
        })
        .collect()
}

/// Every route the server has: found in the router's sources, the Leptos route list and
/// the server-function registry, and the [`KNOWN`] list (all of which must be found).
fn all_routes() -> Vec<Route> {
    let mut found = source_routes();
    for r in leptos_axum::generate_route_list(tessera_app::App) {
        found.push(Route {
            path: r.path().to_owned(),
            get: true,
            post: false,
        });
    }
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        found.push(Route {
            path: path.to_owned(),
            get: method == reqwest::Method::GET,
            post: method == reqwest::Method::POST,
        });
    }
    // One entry per path, its methods merged.
    found.sort();
    let mut routes: Vec<Route> = Vec::new();
    for r in found {
        match routes.last_mut() {
            Some(last) if last.path == r.path => {
                last.get |= r.get;
                last.post |= r.post;
            }
            _ => routes.push(r),
        }
    }
    for (path, get, post) in KNOWN {
        let r = routes.iter().find(|r| r.path == *path);
        assert!(
            r.is_some_and(|r| r.get == *get && r.post == *post),
            "{path} (GET {get}, POST {post}) not found as such in the router: {r:?}; the route discovery is broken"
        );
    }
    routes
}

/// The arguments of each server function (`#[server(prefix = .., endpoint = ..)]` in the
/// app's sources), by path: what a well-formed call sends, so that the other inputs reach
/// the function rather than stopping at a missing argument.
fn server_fn_arguments() -> Vec<(String, Vec<String>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src");
    let mut out = Vec::new();
    for (_, text) in sources(&dir) {
        for (at, marker) in text.match_indices("#[server(") {
            // The whole text from here: the function's own `#[server(default)]` argument
            // attributes come after its attribute.
            let rest = &text[at + marker.len()..];
            let Some(attribute) = call_arguments(rest) else {
                continue;
            };
            let value = |key: &str| {
                let at = attribute.find(&format!("{key} = \""))? + key.len() + 4;
                attribute[at..].split('"').next().map(str::to_owned)
            };
            let (Some(prefix), Some(endpoint)) = (value("prefix"), value("endpoint")) else {
                continue;
            };
            let Some(params) = rest
                .find("fn ")
                .and_then(|at| rest[at..].find('(').map(|open| at + open + 1))
                .and_then(|start| call_arguments(&rest[start..]))
            else {
                continue;
            };
            let mut names = Vec::new();
            let mut depth = 0;
            let mut current = String::new();
            for c in params.chars().chain([',']) {
                match c {
                    '(' | '[' | '<' => depth += 1,
                    ')' | ']' | '>' => depth -= 1,
                    ',' if depth == 0 => {
                        // `#[server(default)] name: Type` -> `name`
                        let param = std::mem::take(&mut current);
                        let param = param.rsplit(']').next().unwrap_or(&param);
                        if let Some((name, _)) = param.split_once(':') {
                            names.push(name.trim().trim_start_matches("mut ").to_owned());
                        }
                        continue;
                    }
                    _ => {}
                }
                current.push(c);
            }
            out.push((format!("{prefix}/{endpoint}"), names));
        }
    }
    out
}

/// What a route is, for what it must answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `/token`, `/revoke`, `/introspect`: RFC 6749 §5.2 JSON errors.
    ClientAuth,
    /// `/userinfo`, `/api/resource`: RFC 6750 §3 `WWW-Authenticate: Bearer`.
    Bearer,
    /// `/authorize`: the error page or a redirect to the client with the error.
    Authorize,
    /// `/authorize/resume`: 400 for anything but a live pending request.
    Resume,
    /// Health checks, discovery, JWKS: the same document whatever else comes along.
    Document,
    /// A page: the status it has for a signed-out visitor.
    Page(u16),
    /// The demo, off by default: 404.
    Demo,
    /// A Leptos server function.
    ServerFn,
    /// A route found that this file does not know yet: swept, held to "no 5xx".
    Other,
}

fn kind(path: &str) -> Kind {
    match path {
        "/token" | "/revoke" | "/introspect" | "/par" | "/device_authorization" => Kind::ClientAuth,
        "/userinfo" | "/api/resource" => Kind::Bearer,
        "/authorize" => Kind::Authorize,
        "/authorize/resume" => Kind::Resume,
        "/healthz"
        | "/readyz"
        | "/jwks.json"
        | "/.well-known/openid-configuration"
        | "/.well-known/oauth-authorization-server" => Kind::Document,
        "/demo" => Kind::Demo,
        p if p.starts_with("/demo/") || p.starts_with("/ui/demo") => Kind::Demo,
        p if p.starts_with("/ui/") => Kind::ServerFn,
        "/" | "/login" | "/consent" => Kind::Page(200),
        p if KNOWN.iter().any(|(k, ..)| *k == p) && (p.starts_with("/admin") || p.starts_with("/account")) => {
            // Signed out: the redirect to the login, before anything is rendered.
            Kind::Page(302)
        }
        _ => Kind::Other,
    }
}

// --- What must come back -------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Want {
    Status(u16),
    /// RFC 6749 §5.2: this status and `error`, `Cache-Control: no-store`, and with 401 a
    /// `WWW-Authenticate: Basic` challenge.
    OAuth(u16, &'static str),
    /// RFC 6750 §3: this status, and `WWW-Authenticate: Bearer` with this `error`.
    Bearer(u16, &'static str),
    /// RFC 6750 §3.1 for a request that carries no usable credential: 401 invalid_token
    /// (the product's choice, tests/token.rs) or 400 invalid_request.
    BearerRefused,
    /// RFC 6749 §4.1.2.1: the error page (400) naming this code, or a redirect to the
    /// client's verified redirect URI with `error=` this code.
    Authorize(&'static str),
    /// RFC 7662 §2.2: `{"active": false}`.
    Inactive,
    /// Anything but a 5xx (a server function, a route this file does not know).
    No5xx,
}

/// Whether `a` is what `want` says; the status is never 5xx and there is always an answer.
fn check(want: &Want, a: &Answer) -> Result<(), String> {
    if a.status == 0 || a.status >= 500 {
        return Err("no answer or a server error".into());
    }
    let ok = match want {
        Want::Status(s) => a.status == *s,
        Want::OAuth(s, code) => {
            a.status == *s
                && a.json_error().as_deref() == Some(*code)
                && a.header("cache-control").as_deref() == Some("no-store")
                && (*s != 401 || a.header("www-authenticate").is_some_and(|h| h.starts_with("Basic ")))
        }
        Want::Bearer(s, code) => {
            a.status == *s
                && a.header("www-authenticate")
                    .is_some_and(|h| h.starts_with("Bearer ") && h.contains(&format!("error=\"{code}\"")))
        }
        Want::BearerRefused => {
            check(&Want::Bearer(401, "invalid_token"), a).is_ok()
                || check(&Want::Bearer(400, "invalid_request"), a).is_ok()
        }
        Want::Authorize(code) => match a.status {
            400 => {
                a.header("content-type").is_some_and(|t| t.starts_with("text/html"))
                    && String::from_utf8_lossy(&a.body).contains(&format!("<strong>{code}</strong>"))
            }
            302 => a
                .header("location")
                .is_some_and(|l| l.starts_with(common::CALLBACK) && l.contains(&format!("error={code}&"))),
            _ => false,
        },
        Want::Inactive => a.status == 200 && a.json() == Some(serde_json::json!({ "active": false })),
        Want::No5xx => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("wanted {want:?}"))
    }
}

// --- The inputs ----------------------------------------------------------------------------

/// Broken percent-encoding: a lone `%`, non-hex digits, a sign (which `from_str_radix`
/// would take), an escape that decodes to invalid UTF-8, a truncated escape.
const BROKEN: [&str; 6] = ["%", "%zz", "%+F", "%C3%28", "%f", "a%"];

/// What is refused before the application sees it (hyper: 400 for a request line or
/// header that is not HTTP, 431 for headers too large).
fn http_level(route: &Route, path: &str, plain: &dyn Fn(&str) -> Probe, rng: &mut Rng) -> Vec<(Probe, Want)> {
    let method = if route.get { "GET" } else { "POST" };
    let raw_target = |suffix: &[u8]| {
        let mut t = path.as_bytes().to_vec();
        t.extend_from_slice(suffix);
        t
    };
    let mut random = b"?".to_vec();
    random.extend(rng.bytes(200));
    let mut high = b"?client_id=".to_vec();
    high.extend(rng.bytes(100).iter().map(|b| b | 0x80));
    let mut many = plain("200 headers");
    for i in 0..200 {
        many = many.header(&format!("x-sweep-{i}"), "a");
    }
    vec![
        (
            Probe::new("random raw bytes in the query", method, raw_target(&random)),
            Want::Status(400),
        ),
        (
            Probe::new("raw bytes 0x80-0xff in the query", method, raw_target(&high)),
            Want::Status(400),
        ),
        (
            Probe::new(
                "non-UTF-8 bytes in the query",
                method,
                raw_target(b"?client_id=\xff\xfe&request=\xc3\x28&next=/\xc0\xaf"),
            ),
            Want::Status(400),
        ),
        (
            Probe::new("raw NUL in the query", method, raw_target(b"?client_id=a\0b")),
            Want::Status(400),
        ),
        (
            Probe::new("non-UTF-8 in the path", method, raw_target(b"/\xff\xfe")),
            Want::Status(400),
        ),
        (
            plain("raw NUL in a header").header("x-sweep", b"a\0b".to_vec()),
            Want::Status(400),
        ),
        (
            plain("raw NUL in Authorization").header("authorization", b"Basic d2Vi\0Og==".to_vec()),
            Want::Status(400),
        ),
        (
            plain("2 MiB header").header("x-sweep", "a".repeat(2 << 20)),
            Want::Status(431),
        ),
        (many, Want::Status(431)),
    ]
}

/// Query inputs, on the route's plain request.
fn query_inputs(rng: &mut Rng) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in 0..3 {
        let encoded: String = rng
            .bytes(200)
            .iter()
            .map(|&b| match b {
                b'=' | b'&' => (b as char).to_string(),
                b if b.is_ascii_alphanumeric() => (b as char).to_string(),
                b => format!("%{b:02X}"),
            })
            .collect();
        out.push((format!("random query {i}"), encoded));
    }
    for name in ["client_id", "request", "next"] {
        // At 64 KiB the URI is too long for hyper (414); just under, the route reads it.
        out.push((format!("64 KiB {name}"), format!("{name}={}", "a".repeat(64 << 10))));
        out.push((format!("60 KiB {name}"), format!("{name}={}", "a".repeat(60 << 10))));
    }
    out.push(("2 MiB query".into(), format!("client_id={}", "a".repeat(2 << 20))));
    for bad in BROKEN {
        out.push((
            format!("broken percent-encoding {bad} in the query"),
            format!("client_id={bad}&request={bad}&next={bad}&state={bad}&q={bad}&revoked={bad}"),
        ));
    }
    out.push(("broken percent-encoding in names".into(), "%zz=1&%=2&%C3%28=3".into()));
    out.push((
        "percent-encoded NUL in the query".into(),
        "client_id=%00&request=%00&next=/%00&state=%00".into(),
    ));
    out.push((
        "repeated parameters in the query".into(),
        "client_id=web&client_id=web&request=a&request=b&next=/&next=/x&state=a&state=b\
         &response_type=code&response_type=code"
            .into(),
    ));
    out.push(("100 parameters in the query".into(), "a&".repeat(100)));
    out.push(("10,000 empty parameters in the query".into(), "&".repeat(10_000)));
    out
}

/// Body inputs for a POST route: (case, content type, body).
fn body_inputs(rng: &mut Rng) -> Vec<(String, Option<&'static str>, Vec<u8>, bool)> {
    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
    let mut out = Vec::new();
    for i in 0..3 {
        let mut body = rng.bytes(512 << i);
        body[7] = 0xff;
        out.push((format!("random bytes {i}"), FORM, body, false));
    }
    for i in 0..3 {
        let body = rng.pick(b"ab=&%+0F9zc_", 300);
        out.push((format!("random form characters {i}"), FORM, body, false));
    }
    let pad = |n: usize| format!("grant_type=client_credentials&x={}", "a".repeat(n)).into_bytes();
    out.push(("64 KiB parameter".into(), FORM, pad(64 << 10), false));
    out.push(("60 KiB parameter".into(), FORM, pad(60 << 10), false));
    out.push(("2 MiB body".into(), FORM, pad(2 << 20), false));
    out.push(("2 MiB chunked body".into(), FORM, pad(2 << 20), true));
    for bad in BROKEN {
        out.push((
            format!("broken percent-encoding {bad} in the body"),
            FORM,
            format!(
                "grant_type=client_credentials&client_id={bad}&csrf={bad}&username={bad}&password={bad}\
                 &next={bad}&request={bad}&token={bad}&access_token={bad}&x={bad}"
            )
            .into_bytes(),
            false,
        ));
    }
    out.push((
        "non-UTF-8 body".into(),
        FORM,
        b"grant_type=\xff\xfe&client_id=\xc3\x28&csrf=\xc0\xaf&token=\x80".to_vec(),
        false,
    ));
    out.push((
        "raw NUL in the body".into(),
        FORM,
        b"grant_type=client_credentials&client_id=a\0b&csrf=\0&token=\0".to_vec(),
        false,
    ));
    out.push((
        "percent-encoded NUL in the body".into(),
        FORM,
        b"grant_type=%00&client_id=%00&csrf=%00&username=%00&token=%00&request=%00".to_vec(),
        false,
    ));
    let form = b"grant_type=client_credentials&client_id=web&csrf=x&token=x&request=x".to_vec();
    out.push(("text/plain body".into(), Some("text/plain"), form.clone(), false));
    out.push(("no Content-Type".into(), None, form, false));
    out.push((
        "application/json body".into(),
        Some("application/json"),
        br#"{"grant_type":"client_credentials","client_id":"web","csrf":"x","token":"x"}"#.to_vec(),
        false,
    ));
    out.push((
        "multipart garbage".into(),
        Some("multipart/form-data; boundary=xyz"),
        b"--xyz\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--xy\xff".to_vec(),
        false,
    ));
    out.push((
        "repeated parameters in the body".into(),
        FORM,
        b"grant_type=client_credentials&grant_type=authorization_code&client_id=web&client_id=web\
          &token=a&token=b&csrf=a&csrf=b&request=a&request=b"
            .to_vec(),
        false,
    ));
    out.push((
        "100 parameters in the body".into(),
        FORM,
        "a&".repeat(100).into_bytes(),
        false,
    ));
    out
}

/// Header inputs, on the route's plain request.
fn header_inputs() -> Vec<(String, &'static str, Vec<u8>)> {
    let mut out: Vec<(String, &'static str, Vec<u8>)> = vec![
        (
            "64 KiB Cookie".into(),
            "cookie",
            format!("tessera_session={}", "a".repeat(64 << 10)).into_bytes(),
        ),
        (
            "non-ASCII Cookie".into(),
            "cookie",
            b"tessera_session=\xff\xfe%zz; a=\x80".to_vec(),
        ),
        (
            "64 KiB Basic".into(),
            "authorization",
            format!("Basic {}", "QUFB".repeat(16 << 10)).into_bytes(),
        ),
        (
            "64 KiB Bearer".into(),
            "authorization",
            format!("Bearer {}", "a".repeat(64 << 10)).into_bytes(),
        ),
        (
            "non-ASCII Basic".into(),
            "authorization",
            b"Basic \xff\xfe\xfd".to_vec(),
        ),
        (
            "non-ASCII Bearer".into(),
            "authorization",
            b"Bearer \xc3\x28.\xff".to_vec(),
        ),
    ];
    for (what, value) in [
        ("Basic %%%", "Basic %%%"),
        ("Basic alone", "Basic"),
        ("Basic and a space", "Basic "),
        ("Basic !!!!", "Basic !!!!"),
        ("Basic without a colon", "Basic d2Vi"),
        ("Basic of ':'", "Basic Og=="),
        ("Basic of non-UTF-8", "Basic //79"),
        ("Basic of web:%zz", "Basic d2ViOiV6eg=="),
        ("Basic with broken padding", "Basic d2ViOnM===="),
        ("Bearer alone", "Bearer"),
        ("an unknown scheme", "Digest x"),
    ] {
        out.push((
            format!("Authorization {what}"),
            "authorization",
            value.as_bytes().to_vec(),
        ));
    }
    out
}

/// What a route of this kind must answer to the input named `case`, in `area` (`body`:
/// the body sent, for the inputs whose answer depends on how it decodes).
fn want(kind: Kind, area: Area, case: &str, body: &[u8]) -> Want {
    let too_big = case.starts_with("64 KiB parameter") || case.starts_with("2 MiB body");
    match (kind, area) {
        // hyper's limits: a URI of 64 KiB or more (http's `Uri` holds less) is 414; a
        // request head over its 400 KiB buffer, 431.
        (_, Area::Query) if case.starts_with("64 KiB ") => Want::Status(414),
        (_, Area::Query) if case.starts_with("2 MiB ") => Want::Status(431),
        // The body limit comes first, on every route (Content-Length).
        (_, Area::Body) if too_big => Want::Status(413),
        (Kind::Demo, _) => Want::Status(404),
        // A body over the limit that comes chunked is refused as it is read: 413, as for
        // every route that reads it.
        (Kind::ServerFn, Area::Body) if case.contains("chunked") => Want::Status(413),
        (Kind::ServerFn | Kind::Other, _) => Want::No5xx,
        (Kind::ClientAuth, Area::Body) if case.contains("chunked") => Want::Status(413),
        // RFC 6749 §5.2: what is not a valid form body is invalid_request; a valid one
        // without a client is invalid_client (400: no Authorization header was used).
        (Kind::ClientAuth, Area::Body) => {
            let is_form = !(case.starts_with("text/plain")
                || case.starts_with("no Content-Type")
                || case.starts_with("application/json")
                || case.starts_with("multipart"));
            match tessera_core::params::parse_form(body) {
                Ok(pairs)
                    if is_form
                        && tessera_core::params::duplicated(&pairs, &["client_id", "client_secret"]).is_none() =>
                {
                    Want::OAuth(400, "invalid_client")
                }
                _ => Want::OAuth(400, "invalid_request"),
            }
        }
        (Kind::ClientAuth, Area::Query) => Want::OAuth(400, "invalid_client"),
        (Kind::ClientAuth, Area::Header)
            if case.contains("Authorization") || case.contains("Basic") || case.contains("Bearer") =>
        {
            Want::OAuth(401, "invalid_client")
        }
        (Kind::ClientAuth, Area::Header) => Want::OAuth(400, "invalid_client"),
        (Kind::Bearer, Area::Body) if case.contains("chunked") => Want::Status(413),
        // RFC 6750 §3.1: a Bearer token that is not valid.
        (Kind::Bearer, Area::Header) if case == "64 KiB Bearer" => Want::Bearer(401, "invalid_token"),
        // A body that is not a form, or holds no access_token, carries no credential.
        (Kind::Bearer, _) => Want::BearerRefused,
        (Kind::Authorize, Area::Body) if case.contains("chunked") => Want::Status(413),
        // A body not declared a form is not read as one (OIDC Core §3.1.2.1; it used to be,
        // found by this sweep), and each of the others lacks a valid client_id, repeats it, or is too large: shown
        // to the user, never redirected (RFC 6749 §4.1.2.1).
        (Kind::Authorize, _) => Want::Authorize("invalid_request"),
        (Kind::Resume, _) => Want::Status(400),
        (Kind::Document, _) => Want::Status(200),
        (Kind::Page(status), _) => Want::Status(status),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Area {
    Query,
    Body,
    Header,
}

/// Every generic input for one route, with what it must answer. `arguments`: the server
/// functions' (see [`server_fn_arguments`]).
fn route_probes(route: &Route, rng: &mut Rng, arguments: &[(String, Vec<String>)]) -> Vec<(Probe, Want)> {
    let k = kind(&route.path);
    let path = route.path.replace("{id}", "x");
    // The well-formed request each input is added to (or replaces the query or body of).
    let plain_body = match arguments.iter().find(|(p, _)| *p == route.path) {
        Some((_, names)) => names.iter().map(|n| format!("{n}=x")).collect::<Vec<_>>().join("&"),
        None => "grant_type=client_credentials".to_owned(),
    };
    let plain = |case: &str| {
        if route.get {
            Probe::new(case, "GET", path.clone())
        } else {
            Probe::new(case, "POST", path.clone()).form(plain_body.clone())
        }
    };
    let mut out = Vec::new();
    // hyper's refusals are the same on every route; the demo gate is inside them.
    for (p, w) in http_level(route, &path, &plain, rng) {
        out.push((p, w));
    }
    for (case, query) in query_inputs(rng) {
        let mut p = plain(&case);
        p.target = format!("{path}?{query}").into_bytes();
        let w = want(k, Area::Query, &case, &[]);
        out.push((p, w));
    }
    if route.post {
        for (case, content_type, body, chunked) in body_inputs(rng) {
            let mut p = Probe::new(case.clone(), "POST", path.clone()).body(content_type, body.clone());
            if chunked {
                p = p.chunked();
            }
            let w = want(k, Area::Body, &case, &body);
            out.push((p, w));
        }
    }
    for (case, name, value) in header_inputs() {
        let w = want(k, Area::Header, &case, &[]);
        out.push((plain(&case).header(name, value), w));
    }
    // A Content-Type that is not ASCII, on a form body.
    if route.post {
        let case = "non-ASCII Content-Type";
        let p = Probe::new(case, "POST", path.clone()).body(None, "grant_type=client_credentials");
        let w = match k {
            Kind::ClientAuth => Want::OAuth(400, "invalid_request"),
            _ => want(k, Area::Body, case, b"grant_type=client_credentials"),
        };
        out.push((
            p.header("content-type", b"application/x-www-form-urlencoded\xff".to_vec()),
            w,
        ));
    }
    // Methods the route does not have: 405 from the router (the demo's gate answers 404
    // first). GET and POST where only the other is routed, and methods no route has.
    let mut methods = vec!["PUT", "DELETE", "TRACE", "BREW"];
    if !route.get {
        methods.push("GET");
    }
    if !route.post {
        methods.push("POST");
    }
    for method in methods {
        let w = match k {
            Kind::Demo => Want::Status(404),
            Kind::Other => Want::No5xx,
            _ => Want::Status(405),
        };
        out.push((
            Probe::new(format!("method {method}"), method, path.clone()).form(plain_body.clone()),
            w,
        ));
    }
    // Path parameters: what a page reads from the path.
    if route.path.contains("{id}") {
        for bad in ["%ff", "%", "%zz", "%C3%28", "%00", "..%2F..%2F", "%2e%2e"] {
            let target = route.path.replace("{id}", bad);
            out.push((
                Probe::new(format!("path parameter {bad}"), "GET", target),
                want(k, Area::Query, "", &[]),
            ));
        }
        let target = route.path.replace("{id}", &"a".repeat(64 << 10));
        out.push((Probe::new("64 KiB path parameter", "GET", target), Want::Status(414)));
        let target = route.path.replace("{id}", &"a".repeat(60 << 10));
        out.push((
            Probe::new("60 KiB path parameter", "GET", target),
            want(k, Area::Query, "", &[]),
        ));
    }
    for (p, _) in &mut out {
        p.case = format!("{} {}: {}", p.method, route.path, p.case);
    }
    out
}

/// Sends every probe in turn; returns the failures, one line each.
async fn sweep(server: &common::TestServer, probes: &[(Probe, Want)], known_bug: fn(&Answer) -> bool) -> Sweep {
    // A new connection for every request: one the server closed after refusing a body
    // unread (413) is never reused for the next probe.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut result = Sweep::default();
    let reread = REREAD.load(Ordering::SeqCst);
    for (p, w) in probes {
        let a = send(&http, server.addr, p).await;
        result.sent += 1;
        if let Err(why) = check(w, &a) {
            if known_bug(&a) {
                result.known.push(format!("{} — {}", p.case, a.describe()));
            } else {
                result.failures.push(format!(
                    "{}\n    {}\n    {why}, got {}",
                    p.case,
                    p.describe(),
                    a.describe()
                ));
            }
        }
    }
    result.reread = REREAD.load(Ordering::SeqCst) - reread;
    result
}

#[derive(Default)]
struct Sweep {
    sent: usize,
    reread: usize,
    failures: Vec<String>,
    known: Vec<String>,
}

impl Sweep {
    fn assert_clean(&self, what: &str, started: Instant) {
        println!(
            "{what}: {} requests in {:.1} s ({} sent again raw), {} failures, {} known",
            self.sent,
            started.elapsed().as_secs_f64(),
            self.reread,
            self.failures.len(),
            self.known.len()
        );
        const SHOWN: usize = 40;
        let more = match self.failures.len().saturating_sub(SHOWN) {
            0 => String::new(),
            n => format!("\n... and {n} more"),
        };
        assert!(
            self.failures.is_empty(),
            "{what}: {} of {} requests answered wrongly:\n{}{more}",
            self.failures.len(),
            self.sent,
            self.failures[..self.failures.len().min(SHOWN)].join("\n")
        );
    }
}

fn no_known_bug(_: &Answer) -> bool {
    false
}

fn probes_for(kinds: impl Fn(Kind) -> bool, rng: &mut Rng) -> Vec<(Probe, Want)> {
    let arguments = server_fn_arguments();
    all_routes()
        .iter()
        .filter(|r| kinds(kind(&r.path)))
        .flat_map(|r| route_probes(r, rng, &arguments))
        .collect()
}

// --- The tests -----------------------------------------------------------------------------

/// The watch works: a panic in a task on the runtime's worker threads, where the server's
/// handlers run, is seen by the hook (through the same thread filter as any other).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panic_watch_sees_panics_on_the_server_threads() {
    watch();
    let before = DELIBERATE.load(Ordering::SeqCst);
    let task = tokio::spawn(async { panic!("{DELIBERATE_PANIC}") });
    assert!(task.await.is_err());
    assert_eq!(DELIBERATE.load(Ordering::SeqCst) - before, 1);
}

/// The route list is the router's: everything in [`KNOWN`] is found, and everything found
/// is swept by one of the tests below (a route this file does not know is held to "no
/// 5xx").
#[tokio::test]
async fn every_route_is_found_and_swept() {
    let routes = all_routes();
    assert!(routes.len() >= KNOWN.len());
    // Each server function's arguments are found, for its well-formed calls.
    let arguments = server_fn_arguments();
    for r in routes.iter().filter(|r| kind(&r.path) == Kind::ServerFn) {
        assert!(
            arguments.iter().any(|(p, _)| *p == r.path),
            "{}: its #[server] arguments were not found in app/src",
            r.path
        );
    }
    let login = arguments
        .iter()
        .find(|(p, _)| p == "/ui/login")
        .map(|(_, a)| a.join(","));
    assert_eq!(login.as_deref(), Some("csrf,username,password,next,request"));
    let unknown: Vec<&str> = routes
        .iter()
        .filter(|r| kind(&r.path) == Kind::Other)
        .map(|r| r.path.as_str())
        .collect();
    println!(
        "{} routes; not yet classified here (swept as \"no 5xx\"): {unknown:?}",
        routes.len()
    );
}

/// The protocol endpoints: RFC 6749 §5.2 errors at the token, revocation and
/// introspection endpoints, RFC 6750 §3 at userinfo and the resource, the error page or
/// a redirect with the error at /authorize; 413 for bodies over 64 KiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn protocol_endpoints_answer_bad_input_with_the_rfc_error() {
    let panics = watch();
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    let secret = common::add_web_client(&server, "openid").await;
    let secret = secret.expose();
    let started = Instant::now();
    let mut rng = Rng(0x5eed_0001_d00d_f00d);
    let mut probes = probes_for(
        |k| {
            matches!(
                k,
                Kind::ClientAuth | Kind::Bearer | Kind::Authorize | Kind::Resume | Kind::Document
            )
        },
        &mut rng,
    );
    probes.extend(authenticated_probes(secret, &mut rng));
    probes.extend(authorize_probes());
    let result = sweep(&server, &probes, no_known_bug).await;
    result.assert_clean("protocol endpoints", started);
    finish(&server, panics).await;
}

/// With the client authenticated, the errors RFC 6749 §5.2, RFC 7009 and RFC 7662 name
/// for what is wrong with the request itself.
fn authenticated_probes(secret: &str, rng: &mut Rng) -> Vec<(Probe, Want)> {
    let token =
        |case: &str, body: &str| Probe::new(format!("POST /token: {case}"), "POST", "/token").form(body.to_owned());
    let random_grant = String::from_utf8(rng.pick(b"abcdefghijklmnopqrstuvwxyz_:-.~", 1024)).unwrap();
    let mut out: Vec<(Probe, Want)> = vec![
        (
            token(
                "repeated grant_type",
                "grant_type=client_credentials&grant_type=authorization_code",
            )
            .basic(secret),
            Want::OAuth(400, "invalid_request"),
        ),
        (
            token(
                "repeated grant_type, same value",
                "grant_type=client_credentials&grant_type=client_credentials",
            )
            .basic(secret),
            Want::OAuth(400, "invalid_request"),
        ),
        (
            token("repeated code", "grant_type=authorization_code&code=a&code=b").basic(secret),
            Want::OAuth(400, "invalid_request"),
        ),
        (
            token(
                "repeated scope",
                "grant_type=client_credentials&scope=openid&scope=openid",
            )
            .basic(secret),
            Want::OAuth(400, "invalid_request"),
        ),
        (
            token("no grant_type", "x=1").basic(secret),
            Want::OAuth(400, "invalid_request"),
        ),
        (
            token("unknown grant_type", "grant_type=password&username=a&password=b").basic(secret),
            Want::OAuth(400, "unsupported_grant_type"),
        ),
        (
            token("NUL grant_type", "grant_type=%00").basic(secret),
            Want::OAuth(400, "unsupported_grant_type"),
        ),
        (
            token("1 KiB random grant_type", &format!("grant_type={random_grant}")).basic(secret),
            Want::OAuth(400, "unsupported_grant_type"),
        ),
        (
            token("scope with a quote", "grant_type=client_credentials&scope=a%22b").basic(secret),
            Want::OAuth(400, "invalid_scope"),
        ),
        (
            token(
                "garbage code",
                &format!("grant_type=authorization_code&code={}", "%00x".repeat(2000)),
            )
            .basic(secret),
            Want::OAuth(400, "invalid_grant"),
        ),
        (
            token(
                "garbage refresh_token",
                "grant_type=refresh_token&refresh_token=a.b.c%00",
            )
            .basic(secret),
            Want::OAuth(400, "invalid_grant"),
        ),
        // RFC 6749 §2.3: one authentication method per request.
        (
            token(
                "Basic and client_secret",
                "grant_type=client_credentials&client_secret=x",
            )
            .basic(secret),
            Want::OAuth(400, "invalid_request"),
        ),
        (
            token(
                "Basic and another client_id",
                "grant_type=client_credentials&client_id=other",
            )
            .basic(secret),
            Want::OAuth(400, "invalid_request"),
        ),
        (
            token(
                "repeated client_secret",
                &format!("grant_type=client_credentials&client_id=web&client_secret={secret}&client_secret={secret}"),
            ),
            Want::OAuth(400, "invalid_request"),
        ),
        (
            token("wrong secret", "grant_type=client_credentials").basic("wrong"),
            Want::OAuth(401, "invalid_client"),
        ),
        (
            token("secret with broken percent-encoding", "grant_type=client_credentials").basic("%zz"),
            Want::OAuth(401, "invalid_client"),
        ),
        (
            Probe::new("POST /token: text/plain, authenticated", "POST", "/token")
                .body(Some("text/plain"), "grant_type=client_credentials")
                .basic(secret),
            Want::OAuth(400, "invalid_request"),
        ),
        (
            Probe::new("POST /token: JSON, authenticated", "POST", "/token")
                .body(Some("application/json"), r#"{"grant_type":"client_credentials"}"#)
                .basic(secret),
            Want::OAuth(400, "invalid_request"),
        ),
    ];
    for path in ["/revoke", "/introspect"] {
        let p = |case: &str, body: &str| {
            Probe::new(format!("POST {path}: {case}"), "POST", path)
                .form(body.to_owned())
                .basic(secret)
        };
        let fine = if path == "/revoke" {
            Want::Status(200)
        } else {
            Want::Inactive
        };
        out.extend([
            (
                p("repeated token", "token=a&token=b"),
                Want::OAuth(400, "invalid_request"),
            ),
            (
                p(
                    "repeated token_type_hint",
                    "token=a&token_type_hint=a&token_type_hint=b",
                ),
                Want::OAuth(400, "invalid_request"),
            ),
            (
                p("no token", "token_type_hint=access_token"),
                Want::OAuth(400, "invalid_request"),
            ),
            (p("empty token", "token="), Want::OAuth(400, "invalid_request")),
            // Not form encoding (RFC 6749 §3.2, as RFC 7009 §2.1 and RFC 7662 §2.1 ask).
            (
                p(
                    "token that decodes to non-UTF-8",
                    &format!("token={}", "%FF%FE".repeat(10)),
                ),
                Want::OAuth(400, "invalid_request"),
            ),
            // RFC 7009 §2.2 / RFC 7662 §2.2: a token that is not valid is not an error.
            (p("NUL token", "token=%00"), fine.clone()),
            (p("garbage JWT", "token=a.b.c"), fine.clone()),
            (
                p(
                    "8 KiB garbage JWT",
                    &format!("token={}.{}.x", "e".repeat(4096), "A".repeat(4096)),
                ),
                fine.clone(),
            ),
            (p("non-ASCII token", "token=%C3%A9%E2%82%AC.x.y"), fine.clone()),
        ]);
    }
    // RFC 6750 §3.1: a token that is not valid.
    for path in ["/userinfo", "/api/resource"] {
        for (case, token) in [
            ("garbage JWT", "a.b.c".to_owned()),
            (
                "8 KiB garbage JWT",
                format!("{}.{}.x", "e".repeat(4096), "A".repeat(4096)),
            ),
            ("JWT of non-JSON", "bm90IGpzb24.bm90IGpzb24.AAAA".to_owned()),
        ] {
            out.push((
                Probe::new(format!("GET {path}: {case}"), "GET", path)
                    .header("authorization", format!("Bearer {token}")),
                Want::Bearer(401, "invalid_token"),
            ));
        }
    }
    out
}

/// /authorize with a valid request and one thing wrong: repeated parameters are
/// invalid_request (RFC 6749 §3.1) — shown to the user while the client or redirect URI
/// is in doubt, redirected to the client after.
fn authorize_probes() -> Vec<(Probe, Want)> {
    let base = common::authorize_path("openid");
    let get = |case: &str, target: String| Probe::new(format!("GET /authorize: {case}"), "GET", target);
    let post = |case: &str, body: String| {
        Probe::new(format!("POST /authorize: {case}"), "POST", "/authorize").form(body.into_bytes())
    };
    let query = base["/authorize?".len()..].to_owned();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    vec![
        (
            get("repeated client_id", format!("{base}&client_id=web")),
            Want::Authorize("invalid_request"),
        ),
        (
            get(
                "repeated redirect_uri",
                format!("{base}&redirect_uri={}", enc(common::CALLBACK)),
            ),
            Want::Authorize("invalid_request"),
        ),
        (
            get("repeated state", format!("{base}&state=s2")),
            Want::Authorize("invalid_request"),
        ),
        (
            get("repeated response_type", format!("{base}&response_type=code")),
            Want::Authorize("invalid_request"),
        ),
        (
            get("repeated scope", format!("{base}&scope=openid")),
            Want::Authorize("invalid_request"),
        ),
        (
            get("repeated code_challenge", format!("{base}&code_challenge=x")),
            Want::Authorize("invalid_request"),
        ),
        (
            get("60 KiB nonce", format!("{base}&nonce={}", "n".repeat(60 << 10))),
            Want::Authorize("invalid_request"),
        ),
        (
            get(
                "redirect_uri with broken percent-encoding",
                base.replace("redirect_uri=", "redirect_uri=%zz"),
            ),
            Want::Authorize("invalid_request"),
        ),
        (
            get(
                "code_challenge_method %zz",
                base.replace("code_challenge_method=S256", "code_challenge_method=%zz"),
            ),
            Want::Authorize("invalid_request"),
        ),
        (
            post("repeated client_id", format!("{query}&client_id=web")),
            Want::Authorize("invalid_request"),
        ),
        (
            post("repeated state", format!("{query}&state=s2")),
            Want::Authorize("invalid_request"),
        ),
        (
            post("100 parameters", format!("{query}&{}", "a&".repeat(100))),
            Want::Authorize("invalid_request"),
        ),
    ]
}

/// The pages, the demo (off: 404) and paths that are no route: the same status as for
/// a plain visit, whatever comes with the request; never a 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_and_unknown_paths_answer_bad_input_without_a_server_error() {
    let panics = watch();
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    let started = Instant::now();
    let mut rng = Rng(0x5eed_0002_d00d_f00d);
    let mut probes = probes_for(|k| matches!(k, Kind::Page(_) | Kind::Demo | Kind::Other), &mut rng);
    for target in [
        "/%ff",
        "/%",
        "/%zz",
        "/%C3%28",
        "/%00",
        "/ui/%ff",
        "/ui/",
        "/ui",
        "/pkg/%ff",
        "/pkg/..%2F..%2FCargo.toml",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/no/such/page?%zz",
    ] {
        for method in ["GET", "POST"] {
            probes.push((
                Probe::new(format!("{method} {target}"), method, target).form("a=%zz"),
                Want::No5xx,
            ));
        }
    }
    let result = sweep(&server, &probes, no_known_bug).await;
    result.assert_clean("pages", started);
    finish(&server, panics).await;
}

/// The Leptos server functions (`/ui/*`), each called with all of its arguments plus one
/// bad input: never a panic, never a dropped connection, never a 5xx. Found by this sweep:
/// server_fn turned every argument error (a missing or repeated field, a body that is not
/// a form or not UTF-8, a chunked body over 64 KiB) into 500; `curl -d csrf=x
/// http://HOST/ui/login` got "500 Args|missing field `username`". Now 400 (413 for the
/// size), as at the protocol endpoints (server/src/web.rs, `server_fn_client_errors`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_functions_refuse_malformed_arguments_with_a_4xx() {
    let panics = watch();
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    let started = Instant::now();
    let mut rng = Rng(0x5eed_0003_d00d_f00d);
    let probes = probes_for(|k| k == Kind::ServerFn, &mut rng);
    let result = sweep(&server, &probes, no_known_bug).await;
    finish(&server, panics).await;
    result.assert_clean("server functions, strict", started);
}

/// RFC 6750 §3.1 names `invalid_request` (400) for a request that "repeats the same
/// parameter, uses more than one method for including an access token, or is otherwise
/// malformed". Found by this sweep: `/userinfo` answered both with 401 `invalid_token`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn userinfo_refuses_malformed_requests_as_invalid_request() {
    let panics = watch();
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    let secret = common::add_web_client(&server, "openid").await;
    let (status, body) = common::token(&server, secret.expose(), &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 200, "{body}");
    let at = body["access_token"].as_str().unwrap().to_owned();
    let probes = vec![
        (
            Probe::new("POST /userinfo: repeated access_token", "POST", "/userinfo")
                .form(format!("access_token={at}&access_token={at}")),
            Want::Bearer(400, "invalid_request"),
        ),
        (
            Probe::new("POST /userinfo: token in the header and the body", "POST", "/userinfo")
                .form(format!("access_token={at}"))
                .header("authorization", format!("Bearer {at}")),
            Want::Bearer(400, "invalid_request"),
        ),
    ];
    let result = sweep(&server, &probes, no_known_bug).await;
    finish(&server, panics).await;
    result.assert_clean("userinfo, RFC 6750 §3.1", Instant::now());
}

/// Bytes that are not HTTP at all: a 400 from hyper or a closed connection, never a hang
/// or a 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn garbage_on_the_wire_gets_a_400_or_a_closed_connection() {
    let panics = watch();
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    let mut rng = Rng(0x5eed_0004_d00d_f00d);
    let mut cases: Vec<(String, Vec<u8>)> = (0..8)
        .map(|i| {
            let mut bytes = rng.bytes(64 << i);
            bytes.extend_from_slice(b"\r\n\r\n");
            (format!("{} random bytes", bytes.len()), bytes)
        })
        .collect();
    for (case, bytes) in [
        ("a bare newline", &b"\r\n\r\n"[..]),
        ("HTTP/9.9", b"GET / HTTP/9.9\r\nhost: x\r\n\r\n"),
        ("no version", b"GET /\r\n\r\n"),
        ("a method of NULs", b"\0\0\0 / HTTP/1.1\r\nhost: x\r\n\r\n"),
        ("a non-UTF-8 method", b"G\xffT / HTTP/1.1\r\nhost: x\r\n\r\n"),
        (
            "Content-Length: abc",
            b"POST /token HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n",
        ),
        (
            "Content-Length: -1",
            b"POST /token HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n",
        ),
        (
            "two different Content-Lengths",
            b"POST /token HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab",
        ),
        (
            "a huge Content-Length",
            b"POST /token HTTP/1.1\r\nhost: x\r\ncontent-length: 99999999999999999999999\r\n\r\n",
        ),
        (
            "a broken chunk size",
            b"POST /token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n\
              transfer-encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
        ),
        (
            "a header without a colon",
            b"GET /healthz HTTP/1.1\r\nhost: x\r\nno colon here\r\n\r\n",
        ),
        (
            "a header name with a space",
            b"GET /healthz HTTP/1.1\r\nhost: x\r\nbad name: x\r\n\r\n",
        ),
        (
            "obsolete line folding",
            b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-a: b\r\n c\r\n\r\n",
        ),
    ] {
        cases.push((case.to_owned(), bytes.to_vec()));
    }
    let mut failures = Vec::new();
    for (case, bytes) in &cases {
        let a = raw_bytes(server.addr, bytes.clone(), Duration::from_secs(2)).await;
        // 0: closed without an answer, or still waiting for a request (hyper skips empty
        // lines before one, RFC 9112 §2.2).
        if !(a.status == 0 || (400..500).contains(&a.status)) {
            failures.push(format!("{case}: {}", a.describe()));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    finish(&server, panics).await;
}

/// This process's resident set size, in KiB (the server runs in it).
fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"))
}

/// 32 concurrent 60 KiB `a&a&…` forms at /token (POST) and /authorize (POST and GET),
/// round after round: each is refused on its byte count before it is split (400
/// invalid_request), and the process does not grow with them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_stays_bounded_under_concurrent_oversized_forms() {
    const CONCURRENT: usize = 32;
    const ROUNDS: usize = 8;
    const BOUND_KIB: u64 = 64 * 1024;
    let panics = watch();
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    let body = "a&".repeat(30 * 1024);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let round = |n: usize| {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..CONCURRENT {
            let (http, base, body) = (http.clone(), server.base.clone(), body.clone());
            set.spawn(async move {
                let (what, req) = match (i + n) % 3 {
                    0 => (
                        "POST /token",
                        http.post(format!("{base}/token")).basic_auth("web", Some("x")),
                    ),
                    1 => ("POST /authorize", http.post(format!("{base}/authorize"))),
                    _ => ("GET /authorize", http.get(format!("{base}/authorize?{body}"))),
                };
                let req = if what.starts_with("POST") {
                    req.header("content-type", "application/x-www-form-urlencoded")
                        .body(body)
                } else {
                    req
                };
                match req.send().await {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        let text = res.text().await.unwrap_or_default();
                        (what, status, text)
                    }
                    Err(e) => (what, 0, e.to_string()),
                }
            });
        }
        set.join_all()
    };
    // A first round warms up what any server holds once (connections, caches, pools).
    round(0).await;
    let before = rss_kib("VmRSS:");
    let started = Instant::now();
    for n in 1..=ROUNDS {
        for (what, status, text) in round(n).await {
            assert_eq!(status, 400, "{what}: {text}");
            if what == "POST /token" {
                let json: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(json["error"], "invalid_request", "{what}");
                assert_eq!(json["error_description"], "request too large", "{what}");
            } else {
                assert!(text.contains("<strong>invalid_request</strong>"), "{what}: {text}");
            }
        }
    }
    let after = rss_kib("VmRSS:");
    let peak = rss_kib("VmHWM:");
    let growth = after.saturating_sub(before);
    println!(
        "memory: {} requests of 60 KiB ({CONCURRENT} at a time) in {:.1} s; VmRSS {before} KiB before, \
         {after} KiB after (+{growth} KiB), VmHWM {peak} KiB",
        CONCURRENT * ROUNDS,
        started.elapsed().as_secs_f64()
    );
    assert!(growth < BOUND_KIB, "VmRSS grew by {growth} KiB (bound {BOUND_KIB} KiB)");
    finish(&server, panics).await;
}
