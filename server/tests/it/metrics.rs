//! `GET /metrics`: where it is served (nowhere by default, behind a bearer token, on its own
//! listener), and that the counters move with the right labels. The recorder is
//! process-wide and other tests run in this process, so values are compared before and
//! after, never absolutely.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};

use crate::common;

const TOKEN: &str = "metrics-test-token-0123456789abcdef";

async fn with_token(db_url: &str) -> common::TestServer {
    common::serve_with(db_url, |c| {
        c.metrics_token = Some(tessera::telemetry::MetricsToken::parse(TOKEN).unwrap());
    })
    .await
}

/// The metrics text of `server`, read with the token.
async fn scrape(server: &common::TestServer) -> String {
    let res = reqwest::Client::new()
        .get(format!("{}/metrics", server.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

/// One sample line: the metric's name, its labels, its value.
fn parse_line(line: &str) -> Option<(&str, BTreeMap<&str, &str>, f64)> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let (series, value) = line.rsplit_once(' ')?;
    let value = value.parse().ok()?;
    let Some((name, labels)) = series.split_once('{') else {
        return Some((series, BTreeMap::new(), value));
    };
    let labels = labels
        .strip_suffix('}')?
        .split(',')
        .filter(|l| !l.is_empty())
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            Some((k, v.trim_matches('"')))
        })
        .collect();
    Some((name, labels, value))
}

/// The sum of `name`'s samples whose labels include all of `want`.
fn value(text: &str, name: &str, want: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter_map(parse_line)
        .filter(|(n, labels, _)| *n == name && want.iter().all(|(k, v)| labels.get(k) == Some(v)))
        .map(|(_, _, v)| v)
        .sum()
}

#[tokio::test]
async fn not_served_unless_configured() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    let res = reqwest::Client::new()
        .get(format!("{}/metrics", server.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(!res.text().await.unwrap().contains("tessera_"));
}

#[tokio::test]
async fn the_main_listener_wants_the_token() {
    let tdb = common::sqlite();
    let server = with_token(&tdb.url).await;
    let http = reqwest::Client::new();
    let url = format!("{}/metrics", server.base);
    for auth in [
        None,
        Some(format!("Bearer {TOKEN}x")),
        Some(format!("Basic {TOKEN}")),
        Some("Bearer".into()),
    ] {
        let mut req = http.get(&url);
        if let Some(auth) = &auth {
            req = req.header(AUTHORIZATION, auth);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "{auth:?}");
        assert!(res.headers()[WWW_AUTHENTICATE].to_str().unwrap().starts_with("Bearer"));
        assert!(!res.text().await.unwrap().contains("tessera_"), "{auth:?}");
    }
    let res = http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text().await.unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        value(&text, "tessera_build_info", &[("version", version)]),
        1.0,
        "{text}"
    );
    assert!(text.contains("# TYPE tessera_http_requests_total counter"), "{text}");
}

#[tokio::test]
async fn tokens_and_sign_ins_are_counted_by_label() {
    let tdb = common::sqlite();
    let server = with_token(&tdb.url).await;
    let secret = common::add_web_client(&server, "openid profile").await;
    let before = scrape(&server).await;

    let http = reqwest::Client::new();
    let token = |secret: String| {
        http.post(format!("{}/token", server.base))
            .basic_auth("web", Some(secret))
            .form(&[("grant_type", "client_credentials"), ("scope", "profile")])
            .send()
    };
    assert_eq!(token(secret.expose().to_owned()).await.unwrap().status(), 200);
    assert_eq!(token("not-the-secret".into()).await.unwrap().status(), 401);
    let browser = common::browser();
    let to = common::sign_in(&browser, &server, "nobody-metrics", "wrong").await;
    assert!(to.contains("error=invalid"), "{to}");

    let after = scrape(&server).await;
    let delta = |name: &str, labels: &[(&str, &str)]| value(&after, name, labels) - value(&before, name, labels);
    assert_eq!(
        delta("tessera_tokens_issued_total", &[("grant_type", "client_credentials")]),
        1.0,
        "{after}"
    );
    assert_eq!(delta("tessera_token_errors_total", &[("error", "invalid_client")]), 1.0);
    assert_eq!(delta("tessera_sign_in_total", &[("outcome", "invalid")]), 1.0);
    assert_eq!(delta("tessera_sign_in_total", &[("outcome", "succeeded")]), 0.0);
    let token_requests = |status| {
        delta(
            "tessera_http_requests_total",
            &[("route", "/token"), ("method", "POST"), ("status", status)],
        )
    };
    assert_eq!(token_requests("200"), 1.0);
    assert_eq!(token_requests("401"), 1.0);
    // Both timed, under the route's label.
    assert_eq!(
        delta("tessera_http_request_duration_seconds_count", &[("route", "/token")]),
        2.0,
        "{after}"
    );
    assert_eq!(
        delta(
            "tessera_http_request_duration_seconds_bucket",
            &[("route", "/token"), ("le", "+Inf")]
        ),
        2.0
    );
    // The client was read once from the database, then from the cache.
    assert!(
        delta(
            "tessera_cache_requests_total",
            &[("cache", "client"), ("result", "hit")]
        ) >= 1.0
    );
}

#[tokio::test]
async fn the_route_label_is_the_matched_path() {
    let tdb = common::sqlite();
    let server = with_token(&tdb.url).await;
    let before = scrape(&server).await;
    let browser = common::browser();
    for path in [
        "/admin/clients/abc",
        "/admin/clients/def",
        "/no/such/page",
        "/pkg/none.js",
    ] {
        common::page(&browser, &server, path).await;
    }
    let after = scrape(&server).await;
    let delta = |labels: &[(&str, &str)]| {
        value(&after, "tessera_http_requests_total", labels) - value(&before, "tessera_http_requests_total", labels)
    };
    // Signed out, both admin pages redirect to the login, under one label.
    assert_eq!(
        delta(&[("route", "/admin/clients/{id}"), ("method", "GET"), ("status", "302")]),
        2.0,
        "{after}"
    );
    assert_eq!(delta(&[("route", "other"), ("method", "GET")]), 2.0, "{after}");
    for raw in ["/admin/clients/abc", "/no/such/page", "/pkg/none.js"] {
        assert!(!after.contains(&format!("route=\"{raw}\"")), "{raw}: {after}");
    }
}

/// `tessera serve` on free ports with `args`; the base URLs of its main listener and of
/// the port `--metrics-addr` gets, once it answers.
async fn serve_process(tdb: &common::TestDb, args: &[&str]) -> (std::process::Child, String, String) {
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .to_string()
    };
    let (main, metrics) = (free(), free());
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .env("TESSERA_SECRET", common::TEST_SECRET)
        .env_remove("TESSERA_DATABASE_URL")
        .env_remove("TESSERA_METRICS_TOKEN")
        .env("TESSERA_METRICS_ADDR", &metrics)
        .args(["serve", "--addr", &main, "--database-url", &tdb.url])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run tessera serve");
    let (main, metrics) = (format!("http://{main}"), format!("http://{metrics}"));
    for _ in 0..200 {
        if reqwest::get(format!("{main}/healthz")).await.is_ok() {
            return (child, main, metrics);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    panic!("serve never answered");
}

#[tokio::test]
async fn the_metrics_listener_serves_only_metrics() {
    let tdb = common::sqlite();
    let (mut child, main, metrics) = serve_process(&tdb, &[]).await;
    let get = |url: String| async move { reqwest::get(url).await.unwrap() };
    let res = get(format!("{metrics}/metrics")).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    // The main listener's own health check above was counted.
    assert!(
        value(
            &text,
            "tessera_http_requests_total",
            &[("route", "/healthz"), ("status", "200")]
        ) >= 1.0,
        "{text}"
    );
    assert_eq!(get(format!("{main}/metrics")).await.status(), 404);
    assert_eq!(get(format!("{metrics}/healthz")).await.status(), 404);
    assert_eq!(get(format!("{metrics}/token")).await.status(), 404);
    child.kill().unwrap();
    child.wait().unwrap();

    // With a token as well, the metrics listener asks for it too.
    let (mut child, main, metrics) = serve_process(&tdb, &["--metrics-token", TOKEN]).await;
    let http = reqwest::Client::new();
    assert_eq!(get(format!("{metrics}/metrics")).await.status(), 401);
    for base in [&metrics, &main] {
        let res = http
            .get(format!("{base}/metrics"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{base}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_short_token_is_refused_at_startup() {
    let tdb = common::sqlite();
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .env("TESSERA_SECRET", common::TEST_SECRET)
        .env_remove("TESSERA_DATABASE_URL")
        .env("TESSERA_METRICS_TOKEN", "too-short")
        .args(["serve", "--addr", "127.0.0.1:0", "--database-url", &tdb.url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("--metrics-token must be at least 32 characters"), "{err}");
    assert!(!err.contains("too-short"), "the token is not echoed: {err}");
}
