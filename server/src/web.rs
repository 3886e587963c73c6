//! The HTTP side: one axum router with health checks, the Leptos pages and their server
//! functions, browser sessions in the database, security headers and request logs.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::Body;
use axum::extract::{FromRef, State};
use axum::http::{header, HeaderName, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use serde_json::json;
use tessera_app::server::ServerContext;
use tessera_app::{shell, App};
use tower::util::{BoxCloneSyncService, MapResponseLayer};
use tower::{Layer as _, ServiceBuilder, ServiceExt};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_http::LatencyUnit;
use tower_sessions::cookie::SameSite;
use tower_sessions::session_store::ExpiredDeletion;
use tower_sessions::{Expiry, SessionManagerLayer};
use tracing::Level;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::config::Config;
use crate::crypto::keyring::{KeyRing, MAX_TOKEN_LIFETIME};
use crate::store::{self, Database};
use crate::telemetry;

pub const SESSION_COOKIE: &str = "tessera_session";
/// The session cookie's name on https: the `__Host-` prefix makes browsers refuse it unless
/// it is `Secure`, for this host only and for every path (RFC 6265bis §4.1.3.2), so no
/// other host — a subdomain — can plant a session id (#18 item 7).
pub const SECURE_SESSION_COOKIE: &str = "__Host-tessera_session";

/// The largest request body read at all (from the policy file).
pub use tessera_core::policy::MAX_BODY_BYTES;

/// What every handler shares. axum clones the state for each request, so it is one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub db: Database,
    pub issuer: String,
    pub keys: Arc<KeyRing>,
    /// What secrets at rest derive from (the demo client's secret and session seal).
    pub secret: Arc<crate::crypto::server_secret::ServerSecret>,
    /// Discovery and JWKS, serialized once per key set.
    pub documents: crate::oauth::discovery::Documents,
    /// Access tokens whose signature was already checked here.
    pub verified: crate::crypto::verify::VerifiedTokens,
    /// Authorization requests left pending per client address (#18 item 1).
    pub pending_limiter: tessera_services::pending::Limiter,
    /// The operator's lifetimes (the refresh-token families' cap, here).
    pub lifetimes: tessera_core::policy::Lifetimes,
    /// RFC 9126 §5: every client must push its authorization requests (`--require-par`).
    pub require_par: bool,
    /// Clients' public keys (inline, or fetched from `jwks_uri` and cached).
    pub client_keys: crate::crypto::client_keys::ClientKeys,
    /// RFC 9449 §8: DPoP proofs at the token endpoint must carry a server nonce (`--dpop-nonce`).
    pub dpop_nonce_required: bool,
    /// DPoP proofs seen at this process's protected resources (RFC 9449 §11.1).
    pub dpop_replay: crate::http::dpop::ResourceReplay,
    /// Clients known by a Client ID Metadata Document; `None` when they are off.
    pub metadata_clients: Option<crate::http::client_metadata::MetadataClients>,
    /// Dynamic client registration (RFC 7591/7592): the mode as discovery last read it,
    /// and which clients' first use was recorded.
    pub registration: crate::oauth::register::Registration,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("tessera")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .build()
}

/// The whole application as one service: the router inside its middleware. Serve it with
/// `axum::ServiceExt::into_make_service_with_connect_info` (the login back-off reads the
/// peer address).
pub type AppService = BoxCloneSyncService<Request<Body>, Response, Infallible>;

/// Builds the whole application. Used by `serve` and by the router tests.
pub fn router(config: &Config, db: Database, keys: Arc<KeyRing>) -> AppService {
    let state = AppState(Arc::new(Shared {
        leptos_options: leptos_options(config),
        db: db.clone(),
        issuer: config.issuer.clone(),
        keys,
        secret: config.secret.clone(),
        documents: Default::default(),
        verified: Default::default(),
        pending_limiter: Default::default(),
        lifetimes: config.lifetimes,
        require_par: config.require_par,
        client_keys: Default::default(),
        dpop_nonce_required: config.dpop_nonce,
        dpop_replay: Default::default(),
        metadata_clients: config.client_id_metadata_documents.then(|| {
            crate::http::client_metadata::MetadataClients::new(config.client_id_metadata_ca.as_deref(), &config.issuer)
        }),
        registration: Default::default(),
    }));
    let ctx = ServerContext {
        store: db.store.clone(),
        issuer: config.issuer.clone(),
        demo: config.demo,
        session_max_age: config.lifetimes.session_max_age,
    };
    let context = {
        let ctx = ctx.clone();
        move || provide_context(ctx.clone())
    };
    let routes = generate_route_list(App);

    let sessions = SessionManagerLayer::new(db.sessions.clone())
        .with_name(if config.https() {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        })
        .with_path("/")
        .with_http_only(true)
        // Lax, not Strict: a user arriving from a client's site via /authorize must keep
        // their session.
        .with_same_site(SameSite::Lax)
        .with_secure(config.https())
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            config.lifetimes.session_idle_timeout,
        )));

    let x_request_id = HeaderName::from_static("x-request-id");
    // Browser sessions only where a browser is: pages, server functions, /authorize and
    // the demo. The token, introspection, revocation, userinfo, discovery and resource
    // endpoints are called by clients and resource servers and never touch a session.
    let mut browser = Router::new().merge(crate::oauth::browser_routes());
    if config.demo {
        browser = browser.merge(crate::demo::routes());
    }
    let browser = browser
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        // The site's files: from memory when the binary embeds them (crate::site), else
        // from the directory; anything else is the Leptos 404 page either way.
        .fallback(crate::site::or_else(
            config.embedded_site.clone(),
            leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell),
        ))
        .layer(axum::middleware::from_fn_with_state(ctx.clone(), require_sign_in))
        .layer(axum::middleware::from_fn_with_state(config.demo, demo_gate))
        .layer(axum::middleware::from_fn(server_fn_client_errors))
        .layer(axum::middleware::from_fn_with_state(
            config.lifetimes.session_idle_timeout,
            keep_alive,
        ))
        .layer(sessions);
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(crate::oauth::client_routes())
        .merge(browser)
        .merge(metrics_route(config));
    // The route label of the request metrics: axum knows the matched path only inside the
    // router, so this copies it to the response for the layer outside.
    let app = if config.metrics() {
        app.layer(telemetry::RouteLayer)
    } else {
        app
    };
    let app = app.with_state(state);
    // A panic in a handler (a bug: handlers return errors) answers 500 with the security
    // headers instead of dropping the connection, and is logged.
    // No request body is read past MAX_BODY_BYTES, whoever reads it (the OAuth endpoints,
    // the pages' server functions): 413. The OAuth endpoints refuse more than
    // `params::MAX_FORM_BYTES` (16 KiB) themselves, as invalid_request.
    let app = RequestBodyLimitLayer::new(MAX_BODY_BYTES).layer(app);
    let app = ServiceExt::<Request<Body>>::map_response(CatchPanicLayer::custom(panic_response).layer(app), |res| {
        res.map(Body::new)
    });
    // The middleware wraps the finished router once, outside it. `Router::layer` would
    // wrap every route's handler in its own boxed copy, cloned on every request. Measured
    // on the discovery document: 93k req/s with seven `.layer` calls, 131k with one
    // composed `.layer`, 138-143k (vs 133k in the same session) this way.
    let outer = ServiceBuilder::new().layer(SetRequestIdLayer::new(x_request_id.clone(), RequestIds::new()));
    // Inside the security headers: the 503 of load shedding and the 408 of a request that
    // took too long (a slow upload included) carry them too (#18 item 2).
    let hsts = config.https();
    let proxies = config.trusted_proxies.clone();
    let inner = ServiceBuilder::new()
        // First, so that everything after sees the client behind a trusted proxy.
        .map_request(move |req: Request<Body>| proxies.rewrite(req))
        .layer(PropagateRequestIdLayer::new(x_request_id))
        .layer(MapResponseLayer::new(move |res| security_headers(res, hsts)))
        // Outside the shedding and the timeout, so their 503 and 408 are counted too.
        .option_layer(config.metrics().then(telemetry::RequestMetricsLayer::default))
        .layer(ShedLayer::new(config.max_in_flight))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ));
    if request_log_enabled() {
        let log = TraceLayer::new_for_http()
            .make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            })
            .on_request(())
            .on_response(
                DefaultOnResponse::new()
                    .level(Level::INFO)
                    .latency_unit(LatencyUnit::Micros),
            );
        // The log wraps the body to time it; back to axum's body type for `AppService`.
        let logged = outer.layer(log).layer(inner).service(app);
        AppService::new(logged.map_response(|res: Response<_>| res.map(Body::new)))
    } else {
        AppService::new(outer.layer(inner).service(app))
    }
}

/// `/metrics` on the main listener: to the bearer of `--metrics-token` only; without one,
/// 404 (then it is served on `--metrics-addr` or nowhere).
fn metrics_route<S: Clone + Send + Sync + 'static>(config: &Config) -> Router<S> {
    match &config.metrics_token {
        Some(token) => Router::new()
            .route("/metrics", get(telemetry::metrics))
            .with_state(telemetry::Access::new(Some(token.clone()))),
        None => Router::new().route("/metrics", get(telemetry::not_served)),
    }
}

/// Server functions (`/ui/*`) whose arguments do not decode — a missing or repeated field,
/// a body that is not a form, not UTF-8, or over the size limit — are the caller's
/// mistake, but server_fn answers them 500 like a failure of ours. Here they become 400
/// (413 for the size), with server_fn's explanation kept as the body.
async fn server_fn_client_errors(req: Request<Body>, next: axum::middleware::Next) -> Response {
    if !req.uri().path().starts_with("/ui/") {
        return next.run(req).await;
    }
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR || !res.headers().contains_key("serverfnerror") {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let text = String::from_utf8_lossy(&bytes);
    if text.starts_with("Args|") || text.starts_with("Deserialization|") {
        parts.status = if text.contains("length limit exceeded") {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::BAD_REQUEST
        };
        tracing::info!(status = parts.status.as_u16(), error = %text, "server function arguments refused");
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// A signed-in session used within its idle timeout stays signed in
/// ([`tessera_services::session::touch`]), up to its absolute cap. Static files do not
/// count (and load no session).
async fn keep_alive(
    State(idle): State<i64>,
    session: tower_sessions::Session,
    req: Request<Body>,
    next: axum::middleware::Next,
) -> Response {
    let asset = req.uri().path().starts_with("/pkg/");
    let res = next.run(req).await;
    if !asset {
        let now = tessera_services::clock::now();
        if let Err(e) = tessera_services::session::touch(&session, now, idle).await {
            tracing::warn!(error = %e, "could not keep the session alive");
        }
    }
    res
}

/// Whether `path` is the demo's: its page, its client's routes, its server functions.
fn is_demo(path: &str) -> bool {
    path == "/demo" || path.starts_with("/demo/") || path.starts_with("/ui/demo")
}

/// With the demo off (the default without `--demo`), everything of it answers 404: the
/// page would otherwise render and offer a client that is not registered (#18 item 8).
async fn demo_gate(State(enabled): State<bool>, req: Request<Body>, next: axum::middleware::Next) -> Response {
    if !enabled && is_demo(req.uri().path()) {
        return (
            StatusCode::NOT_FOUND,
            "the demo is not enabled on this server (serve --demo)",
        )
            .into_response();
    }
    next.run(req).await
}

/// Load shedding (#18 item 2): at most `max` requests are handled at once; one more is
/// answered `503 Service Unavailable` with `Retry-After: 1` at once instead of queueing
/// without limit (each waiting request holds memory and a connection).
#[derive(Clone)]
struct ShedLayer(Arc<tokio::sync::Semaphore>);

impl ShedLayer {
    fn new(max: usize) -> Self {
        Self(Arc::new(tokio::sync::Semaphore::new(max.max(1))))
    }
}

impl<S> tower::Layer<S> for ShedLayer {
    type Service = Shed<S>;
    fn layer(&self, inner: S) -> Shed<S> {
        Shed {
            inner,
            permits: self.0.clone(),
        }
    }
}

#[derive(Clone)]
struct Shed<S> {
    inner: S,
    permits: Arc<tokio::sync::Semaphore>,
}

impl<S, B> tower::Service<Request<B>> for Shed<S>
where
    S: tower::Service<Request<B>, Response = Response>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let response = self.inner.call(req);
                Box::pin(async move {
                    let res = response.await;
                    drop(permit);
                    res
                })
            }
            Err(_) => Box::pin(async {
                let mut res = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(json!({
                        "error": "temporarily_unavailable",
                        "error_description": "the server is busy; try again shortly",
                    })),
                )
                    .into_response();
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                Ok(res)
            }),
        }
    }
}

/// The pages only a signed-in user may see: the admin console and the account pages.
fn is_guarded(path: &str) -> bool {
    ["/admin", "/account"].iter().any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// Signed out, a guarded page answers a real redirect to the login (and back), decided
/// before any of the page is rendered: whatever the request's `Accept` header, with or
/// without JavaScript. (Rendered by Leptos, the same redirect was a 302 only for requests
/// that accept `text/html`; anything else got a 200 with an empty page.) The pages keep
/// their own checks: this is the first door, not the only one. Signed in but not an
/// administrator, `/admin` still renders its 403 page.
async fn require_sign_in(
    State(ctx): State<ServerContext>,
    session: tower_sessions::Session,
    req: Request<Body>,
    next: axum::middleware::Next,
) -> Response {
    if !(req.method() == axum::http::Method::GET || req.method() == axum::http::Method::HEAD)
        || !is_guarded(req.uri().path())
    {
        return next.run(req).await;
    }
    match tessera_services::session::current_user(ctx.store.as_ref(), &session).await {
        Ok(Some(_)) => next.run(req).await,
        Ok(None) => {
            let back = req.uri().path_and_query().map_or(req.uri().path(), |pq| pq.as_str());
            let to = tessera_app::server::login_url(back, "", None);
            match HeaderValue::from_str(&to) {
                Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
                Err(_) => next.run(req).await,
            }
        }
        // The page reports a storage failure itself.
        Err(_) => next.run(req).await,
    }
}

fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = what, "a request handler panicked");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "error": "server_error" })),
    )
        .into_response()
}

/// Whether the request log can print anything: its span (this module's target) or its
/// response line (`tower_http::trace`), both at INFO. When neither can (`RUST_LOG=warn`,
/// as the benchmark runs) the layer is left out: it cost 11% of discovery's throughput
/// for output nobody would see. Internal errors are logged where they happen either way.
fn request_log_enabled() -> bool {
    tracing::enabled!(Level::INFO) || tracing::enabled!(target: "tower_http::trace::on_response", Level::INFO)
}

/// On every response: no framing anywhere (RFC 9700 §4.16: clickjacking), no MIME
/// sniffing, no referrer (authorization responses carry codes in the URL). Pages set their
/// own nonce-based CSP; everything else gets the strictest one. With an https issuer,
/// HSTS (RFC 6797): browsers then never use plain http to this host for a year.
fn security_headers(mut res: Response, hsts: bool) -> Response {
    let h = res.headers_mut();
    if hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    res
}

/// `x-request-id` for requests that arrive without one: a random prefix per process and a
/// counter, so ids stay unique across restarts and instances without the system call for
/// randomness that a UUIDv4 per request costs.
#[derive(Clone)]
struct RequestIds {
    prefix: u64,
    next: Arc<AtomicU64>,
}

impl RequestIds {
    fn new() -> RequestIds {
        RequestIds {
            prefix: uuid::Uuid::new_v4().as_u64_pair().0,
            next: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{:016x}-{n:x}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

/// The process is up.
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// The database answers.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let backend = state.db.store.backend();
    match state.db.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready", "database": backend }))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": backend })),
            )
        }
    }
}

/// `tessera serve`: open and migrate the database, optionally set up the demo, listen.
/// What a server needs in the database before it serves: its signing keys (an active one
/// per algorithm), the demo's client when the demo is on (#18 item 8: never otherwise), and
/// the registration mode when `--registration-mode` gives one.
pub async fn prepare(db: &Database, config: &Config) -> anyhow::Result<Arc<KeyRing>> {
    let keys = KeyRing::load(db.store.clone(), &config.secret, crate::now()).await?;
    keys.set_reload_every(config.key_reload_every);
    crate::oauth::resource::ensure_registered(db.store.as_ref(), &config.issuer, crate::now()).await?;
    if config.demo {
        crate::demo::client::ensure(db, &config.issuer, &config.secret).await?;
    }
    // `--registration-mode`: the database setting every instance reads, set at start.
    if let Some(mode) = config.registration_mode {
        let mut s = db.store.registration_settings().await?;
        s.mode = mode.as_str().to_owned();
        db.store.set_registration_settings(&s, crate::now()).await?;
    }
    Ok(keys)
}

/// Audit events recorded before this are past a retention of `days` (the sweep and
/// `tessera purge` delete them).
pub fn audit_cutoff(now: i64, days: u32) -> i64 {
    now.saturating_sub(i64::from(days) * 86_400)
}

/// `demo_setup`: on a new database, create the demo's admin user (`serve --demo`).
pub async fn serve(config: Config, demo_setup: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let db = store::open(&config.database_url).await?;
    if demo_setup {
        crate::demo::setup::ensure(&db, &config).await?;
    }
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    let metrics_listener = match config.metrics_addr {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (--metrics-addr)"))?,
        ),
        None => None,
    };

    // The janitor: expired sessions, the codes, refresh tokens, families and revocations
    // that can no longer matter (`OAuthStore::purge_expired`), and audit events past
    // `--audit-retention-days`. Every instance runs it; the deletes are idempotent.
    let sessions = db.sessions.clone();
    let store = db.store.clone();
    let audit_retention_days = config.audit_retention_days;
    let registration_unused_ttl = config.registration_unused_ttl;
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(15 * 60));
        loop {
            every.tick().await;
            if let Err(e) = sessions.delete_expired().await {
                tracing::warn!(error = %e, "expired session cleanup failed");
            }
            match store.purge_expired(crate::now(), MAX_TOKEN_LIFETIME).await {
                Ok(p) if p.total() > 0 => tracing::info!(
                    codes = p.codes,
                    refresh_tokens = p.refresh_tokens,
                    families = p.families,
                    revoked_access_tokens = p.revoked_access_tokens,
                    "purged expired grants"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purging expired grants failed"),
            }
            match store
                .purge_events(audit_cutoff(crate::now(), audit_retention_days))
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(audit_events = n, "purged audit events past their retention"),
                Err(e) => tracing::warn!(error = %e, "purging old audit events failed"),
            }
            // Dynamically registered clients never issued a token (--registration-unused-ttl).
            match store
                .purge_unused_dynamic_clients(crate::now().saturating_sub(registration_unused_ttl))
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(clients = n, "removed unused dynamically registered clients"),
                Err(e) => tracing::warn!(error = %e, "removing unused dynamic clients failed"),
            }
        }
    });

    let keys = prepare(&db, &config).await?;
    let app = router(&config, db, keys);
    match &config.embedded_site {
        Some(site) => tracing::info!(
            files = site.len(),
            bytes = site.total_bytes(),
            "serving the site embedded in the binary"
        ),
        None => tracing::info!(site_root = %config.site_root, "serving the site from a directory"),
    }
    tracing::info!(
        addr = %config.addr,
        issuer = %config.issuer,
        database = %store::redact_url(&config.database_url),
        ready_ms = started.elapsed().as_millis() as u64,
        "Tessera is ready"
    );
    // The peer address feeds the per-address login back-off and pending-request limit. It
    // is the TCP peer, or behind a `--trusted-proxy` the client its X-Forwarded-For names
    // (http::client_ip); a header from anyone else is not believed.
    // One signal stops both listeners; each finishes its in-flight requests.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let stopped = move || {
        let mut stopping = stopping.clone();
        async move {
            let _ = stopping.wait_for(|stop| *stop).await;
        }
    };
    let metrics = async {
        let Some(listener) = metrics_listener else {
            return Ok(());
        };
        tracing::info!(addr = %config.metrics_addr.map(|a| a.to_string()).unwrap_or_default(), "metrics are served on /metrics");
        let app = telemetry::listener_app(telemetry::Access::new(config.metrics_token.clone()));
        axum::serve(listener, app).with_graceful_shutdown(stopped()).await
    };
    let main = axum::serve(
        listener,
        axum::ServiceExt::into_make_service_with_connect_info::<std::net::SocketAddr>(app),
    )
    .with_graceful_shutdown(stopped());
    tokio::try_join!(std::future::IntoFuture::into_future(main), metrics)?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
