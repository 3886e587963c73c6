//! Prometheus metrics: the process-wide recorder, `GET /metrics` (on its own listener or
//! behind a bearer token, never public by default) and the request metrics layer.
//!
//! Everything else records with the `metrics` macros where the event happens (the token
//! endpoint, the sign-in layer, the caches); until [`install`] runs they cost one atomic
//! load each and record nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, Gauge, SharedString, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use subtle::ConstantTimeEq;

/// The shortest `--metrics-token` accepted: 32 characters (`openssl rand -hex 16`).
pub const MIN_TOKEN_LEN: usize = 32;

/// The label of requests that matched no route (static files, unknown paths) or were
/// answered before routing (load shedding's 503, the timeout's 408).
pub const OTHER_ROUTE: &str = "other";

const REQUESTS: &str = "tessera_http_requests_total";
const DURATION: &str = "tessera_http_request_duration_seconds";
const IN_FLIGHT: &str = "tessera_in_flight_requests";

/// From 0.5 ms (a discovery document, a cached introspection) to 10 s (a sign-in waiting
/// for a hashing slot).
const DURATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The secret a scraper presents as `Authorization: Bearer TOKEN`. Never printed.
#[derive(Clone)]
pub struct MetricsToken(String);

impl MetricsToken {
    /// At least [`MIN_TOKEN_LEN`] characters, none of them whitespace or control.
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            raw.chars().count() >= MIN_TOKEN_LEN,
            "--metrics-token must be at least {MIN_TOKEN_LEN} characters (e.g. openssl rand -hex 16)"
        );
        anyhow::ensure!(
            raw.bytes().all(|b| b.is_ascii_graphic()),
            "--metrics-token must be printable ASCII without spaces (it is sent in a header)"
        );
        Ok(Self(raw.to_owned()))
    }

    /// Whether `headers` carry this token as a bearer credential, compared in constant time.
    fn admits(&self, headers: &HeaderMap) -> bool {
        crate::http::bearer::bearer_token(headers)
            .is_some_and(|presented| bool::from(presented.as_bytes().ct_eq(self.0.as_bytes())))
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(..)")
    }
}

/// Installs the Prometheus recorder once per process (tests start many servers in one)
/// and returns the handle that renders it. The first call also describes every metric
/// and starts the upkeep thread that keeps histograms from growing between scrapes.
pub fn install() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder =
            match PrometheusBuilder::new().set_buckets_for_metric(Matcher::Full(DURATION.into()), DURATION_BUCKETS) {
                Ok(builder) => builder,
                // Only an empty bucket list is refused; ours is not.
                Err(_) => PrometheusBuilder::new(),
            }
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics will stay empty");
        }
        describe();
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "metrics upkeep thread not started; histograms drain at each scrape only");
        }
        handle
    })
}

fn describe() {
    describe_counter!(
        REQUESTS,
        "HTTP requests answered, by route (the matched path), method and status"
    );
    describe_histogram!(DURATION, Unit::Seconds, "Time to answer an HTTP request, by route");
    describe_gauge!(IN_FLIGHT, "HTTP requests being handled now");
    describe_gauge!("tessera_build_info", "Always 1; the version is in the label");
    describe_counter!(
        "tessera_tokens_issued_total",
        "Successful token responses at /token, by grant type"
    );
    describe_counter!(
        "tessera_token_errors_total",
        "Error responses at /token, by OAuth error code"
    );
    describe_counter!(
        "tessera_refresh_reuse_detected_total",
        "Refresh tokens presented again after rotation or revocation (the family is revoked)"
    );
    describe_counter!(
        "tessera_sign_in_total",
        "Password sign-in attempts, by outcome (succeeded, invalid, throttled, busy, error)"
    );
    describe_counter!(
        "tessera_cache_requests_total",
        "Cache lookups, by cache (client, token_status, verified_token) and result (hit, miss)"
    );
    gauge!("tessera_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

/// One cache lookup, for `tessera_cache_requests_total`.
pub fn cache_lookup(cache: &'static str, hit: bool) {
    counter!("tessera_cache_requests_total", "cache" => cache, "result" => if hit { "hit" } else { "miss" })
        .increment(1);
}

/// Who may read `/metrics` where it is served: anyone who reaches it, or the bearer of the
/// token.
#[derive(Clone)]
pub struct Access {
    handle: &'static PrometheusHandle,
    token: Option<MetricsToken>,
}

impl Access {
    pub fn new(token: Option<MetricsToken>) -> Self {
        Self {
            handle: install(),
            token,
        }
    }
}

/// `GET /metrics`: the Prometheus text format (0.0.4).
pub async fn metrics(State(access): State<Access>, headers: HeaderMap) -> Response {
    if let Some(token) = &access.token {
        if !token.admits(&headers) {
            return (
                StatusCode::UNAUTHORIZED,
                [(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"tessera-metrics\""),
                )],
                "a bearer token is required\n",
            )
                .into_response();
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        access.handle.render(),
    )
        .into_response()
}

/// `/metrics` where it is not served (no `--metrics-token`): as any unknown path.
pub async fn not_served() -> Response {
    (
        StatusCode::NOT_FOUND,
        "metrics are not served here (see --metrics-addr and --metrics-token)\n",
    )
        .into_response()
}

/// The separate metrics listener's whole application: `/metrics`, nothing else.
pub fn listener_app(access: Access) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(metrics))
        .with_state(access)
}

// ---------------------------------------------------------------------------------------
// The request metrics layer.

/// The route a request matched, copied from the request to its response by
/// [`RouteLayer`] inside the router, where axum knows it, for [`RequestMetrics`] outside.
#[derive(Clone)]
struct Route(MatchedPath);

/// Inside the router (`Router::layer`): puts the request's [`MatchedPath`] on its response.
#[derive(Clone, Copy, Default)]
pub struct RouteLayer;

impl<S> tower::Layer<S> for RouteLayer {
    type Service = RouteService<S>;
    fn layer(&self, inner: S) -> RouteService<S> {
        RouteService { inner }
    }
}

#[derive(Clone)]
pub struct RouteService<S> {
    inner: S,
}

impl<S, B> tower::Service<Request<B>> for RouteService<S>
where
    S: tower::Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = RouteFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let route = req.extensions().get::<MatchedPath>().cloned();
        RouteFuture {
            inner: self.inner.call(req),
            route,
        }
    }
}

pin_project_lite::pin_project! {
    pub struct RouteFuture<F> {
        #[pin]
        inner: F,
        route: Option<MatchedPath>,
    }
}

impl<F, E> Future for RouteFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = std::task::ready!(this.inner.poll(cx))?;
        if let Some(route) = this.route.take() {
            res.extensions_mut().insert(Route(route));
        }
        Poll::Ready(Ok(res))
    }
}

/// Outside the router and the load shedding: counts and times every answered request
/// (`tessera_http_requests_total`, `tessera_http_request_duration_seconds`), and the
/// requests in flight. A request whose connection closed before it was answered is not
/// counted; it leaves the in-flight gauge all the same.
#[derive(Clone)]
pub struct RequestMetricsLayer {
    in_flight: Gauge,
}

impl Default for RequestMetricsLayer {
    /// Installs the recorder first (else the gauge would record nowhere).
    fn default() -> Self {
        install();
        Self {
            in_flight: gauge!(IN_FLIGHT),
        }
    }
}

impl<S> tower::Layer<S> for RequestMetricsLayer {
    type Service = RequestMetrics<S>;
    fn layer(&self, inner: S) -> RequestMetrics<S> {
        RequestMetrics {
            inner,
            in_flight: self.in_flight.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RequestMetrics<S> {
    inner: S,
    in_flight: Gauge,
}

impl<S, B> tower::Service<Request<B>> for RequestMetrics<S>
where
    S: tower::Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = MetricsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let method = method_label(req.method());
        self.in_flight.increment(1.0);
        MetricsFuture {
            inner: self.inner.call(req),
            started: Instant::now(),
            method,
            guard: InFlight(self.in_flight.clone()),
        }
    }
}

/// Leaves the in-flight gauge when the request's future ends, answered or dropped.
struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

pin_project_lite::pin_project! {
    pub struct MetricsFuture<F> {
        #[pin]
        inner: F,
        started: Instant,
        method: &'static str,
        guard: InFlight,
    }
}

impl<F, E> Future for MetricsFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let res = std::task::ready!(this.inner.poll(cx))?;
        let elapsed = this.started.elapsed().as_secs_f64();
        let route = match res.extensions().get::<Route>() {
            Some(Route(path)) => path.as_str(),
            None => OTHER_ROUTE,
        };
        let (method, status) = (*this.method, res.status().as_u16());
        HANDLES.with_borrow_mut(|handles| {
            let handles = match handles.get_mut(route) {
                Some(h) => h,
                None => handles.entry(route.into()).or_insert_with(|| RouteHandles {
                    duration: metrics::histogram!(DURATION, "route" => route.to_owned()),
                    requests: Vec::new(),
                }),
            };
            handles.duration.record(elapsed);
            let requests = match handles.requests.iter().find(|(m, s, _)| *m == method && *s == status) {
                Some((_, _, c)) => c,
                None => {
                    let c = counter!(REQUESTS, "route" => route.to_owned(), "method" => method, "status" => status_label(res.status()));
                    handles.requests.push((method, status, c));
                    &handles.requests[handles.requests.len() - 1].2
                }
            };
            requests.increment(1);
        });
        Poll::Ready(Ok(res))
    }
}

/// A route's series, by method and status.
struct RouteHandles {
    duration: metrics::Histogram,
    requests: Vec<(&'static str, u16, metrics::Counter)>,
}

thread_local! {
    /// The request series' handles, per worker thread: the registry's lookup (building a
    /// labelled key, hashing it, a shared lock) happens once per series and thread instead
    /// of on every request. The route and method labels are bounded, so is this.
    static HANDLES: std::cell::RefCell<std::collections::HashMap<Box<str>, RouteHandles>> =
        Default::default();
}

/// The methods this server answers; anything else is one label, so a client cannot make
/// new series at will.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

fn status_label(status: StatusCode) -> SharedString {
    let common = match status.as_u16() {
        200 => "200",
        204 => "204",
        302 => "302",
        303 => "303",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        408 => "408",
        413 => "413",
        429 => "429",
        500 => "500",
        503 => "503",
        _ => return status.as_str().to_owned().into(),
    };
    common.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_rules() {
        assert!(MetricsToken::parse("short").is_err());
        assert!(MetricsToken::parse(&"a".repeat(MIN_TOKEN_LEN - 1)).is_err());
        assert!(MetricsToken::parse(&format!("{} b", "a".repeat(MIN_TOKEN_LEN))).is_err());
        let token = MetricsToken::parse(&"a".repeat(MIN_TOKEN_LEN)).unwrap();
        assert!(!format!("{token:?}").contains("aaaa"), "never printed");
        let mut headers = HeaderMap::new();
        assert!(!token.admits(&headers));
        headers.insert(
            header::AUTHORIZATION,
            format!("Bearer {}", "a".repeat(MIN_TOKEN_LEN)).parse().unwrap(),
        );
        assert!(token.admits(&headers));
        headers.insert(
            header::AUTHORIZATION,
            format!("Bearer {}", "a".repeat(MIN_TOKEN_LEN + 1)).parse().unwrap(),
        );
        assert!(!token.admits(&headers));
    }

    #[test]
    fn labels_are_bounded() {
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
        assert_eq!(status_label(StatusCode::IM_A_TEAPOT).as_ref(), "418");
        assert_eq!(status_label(StatusCode::OK).as_ref(), "200");
    }
}
