//! The HTTP surface of a real server on a free port: health checks, server-rendered
//! pages, security headers, and sign-in through the same form post a browser without
//! JavaScript makes.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE, X_FRAME_OPTIONS};
use serde_json::Value;

async fn add_user(server: &common::TestServer, name: &str, password: &str) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["user", "add", name, "--password-stdin", "--database-url", &server.url])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(password.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
}

/// Loads the login page and posts the form like a browser without JavaScript.
async fn sign_in(server: &common::TestServer, client: &reqwest::Client, user: &str, pw: &str) -> reqwest::Response {
    let page = client
        .get(format!("{}/login", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = common::input_value(&page, "csrf").expect("csrf field");
    client
        .post(format!("{}/ui/login", server.base))
        .header("accept", "text/html")
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", user),
            ("password", pw),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn health_and_readiness_on_every_backend() {
    for tdb in common::databases().await {
        let server = common::serve(&tdb.url).await;
        let client = common::browser();
        let res = client.get(format!("{}/healthz", server.base)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap()["status"], "ok");
        let res = client.get(format!("{}/readyz", server.base)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], "ready");
        assert_eq!(body["database"], tdb.name);
    }
}

#[tokio::test]
async fn pages_are_server_rendered_with_security_headers() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    let client = common::browser();
    for path in ["/", "/login"] {
        let res = client.get(format!("{}{path}", server.base)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let h = res.headers().clone();
        assert_eq!(h[X_FRAME_OPTIONS], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(h.contains_key("x-request-id"));
        let csp = h[CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        let body = res.text().await.unwrap();
        // The CSP nonce is the one on the page's hydration script.
        let nonce = csp.split("'nonce-").nth(1).and_then(|s| s.split('\'').next()).unwrap();
        assert!(
            body.contains(&format!("nonce=\"{nonce}\"")),
            "{path}: hydration script carries the nonce"
        );
        assert!(body.contains("/pkg/tessera.js"));
        if path == "/" {
            assert!(body.contains("<h1>Tessera"), "{body}");
        } else {
            assert!(body.contains("name=\"username\"") && body.contains("name=\"password\""));
            assert!(body.contains(">Sign in</button>"));
        }
    }
    let res = client
        .get(format!("{}/no/such/page", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn sign_in_and_out_with_a_plain_form_post() {
    for tdb in common::databases().await {
        let server = common::serve(&tdb.url).await;
        // Created by the CLI while the server runs: the server sees it at once.
        add_user(&server, "lena", "lena-password").await;
        let client = common::browser();

        let res = sign_in(&server, &client, "lena", "lena-password").await;
        assert_eq!(res.status(), 302, "{}", tdb.name);
        assert_eq!(res.headers()[LOCATION], "/");
        let home = client
            .get(format!("{}/", server.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let signed_in = home
            .split("data-testid=\"signed-in\"")
            .nth(1)
            .expect("signed-in marker");
        let text = &signed_in[..signed_in.find("</p>").unwrap()];
        assert!(
            text.contains("Signed in as") && text.contains("lena"),
            "{}: {text}",
            tdb.name
        );

        let csrf = common::input_value(&home, "csrf").unwrap();
        let res = client
            .post(format!("{}/ui/logout", server.base))
            .header("accept", "text/html")
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
        let home = client
            .get(format!("{}/", server.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!home.contains("data-testid=\"signed-in\""));
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    add_user(&server, "mia", "mia-password").await;
    let mut locations = Vec::new();
    for (user, pw) in [("mia", "wrong-password"), ("nobody", "mia-password")] {
        let client = common::browser();
        let res = sign_in(&server, &client, user, pw).await;
        assert_eq!(res.status(), 302);
        locations.push(res.headers()[LOCATION].to_str().unwrap().to_owned());
        let home = client
            .get(format!("{}/", server.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!home.contains("data-testid=\"signed-in\""));
    }
    assert_eq!(locations[0], "/login?next=/&error=invalid");
    assert_eq!(locations[0], locations[1]);
    let page = common::browser()
        .get(format!("{}{}", server.base, locations[0]))
        .send()
        .await
        .unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("role=\"alert\"") && page.contains("Wrong username or password."));
}

#[tokio::test]
async fn sign_in_without_the_session_csrf_token_is_refused() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    add_user(&server, "noah", "noah-password").await;
    let client = common::browser();
    // A cross-site form post: the attacker cannot read the victim's token.
    client.get(format!("{}/login", server.base)).send().await.unwrap();
    let res = client
        .post(format!("{}/ui/login", server.base))
        .header("accept", "text/html")
        .form(&[
            ("csrf", "forged"),
            ("username", "noah"),
            ("password", "noah-password"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()[LOCATION], "/login?next=/&error=expired");
    let home = client
        .get(format!("{}/", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!home.contains("data-testid=\"signed-in\""));
}

#[tokio::test]
async fn sign_in_cycles_the_session_id_and_sets_a_safe_cookie() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    add_user(&server, "olga", "olga-password").await;
    let client = common::browser();
    let res = client.get(format!("{}/login", server.base)).send().await.unwrap();
    let before = res.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        before.contains("HttpOnly") && before.contains("SameSite=Lax"),
        "{before}"
    );
    let page = res.text().await.unwrap();
    let csrf = common::input_value(&page, "csrf").unwrap();
    let res = client
        .post(format!("{}/ui/login", server.base))
        .header("accept", "text/html")
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "olga"),
            ("password", "olga-password"),
            ("next", "//evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    // An off-site `next` is never followed.
    assert_eq!(res.headers()[LOCATION], "/");
    let after = res.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let id = |c: &str| c.split(';').next().unwrap().to_owned();
    assert_ne!(id(&before), id(&after), "session fixation: the id changes at sign-in");
}

/// Browser apps (public clients) call the token, userinfo and discovery endpoints from
/// JavaScript; the authorization endpoint is a navigation and gets no CORS.
#[tokio::test]
async fn cors_on_the_endpoints_browser_apps_call() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    let client = reqwest::Client::new();
    for path in ["/token", "/userinfo", "/.well-known/openid-configuration", "/jwks.json"] {
        let res = client
            .request(reqwest::Method::OPTIONS, format!("{}{path}", server.base))
            .header("origin", "https://spa.example.com")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        assert_eq!(res.headers()["access-control-allow-origin"], "*", "{path}");
    }
    let res = client
        .get(format!("{}/authorize", server.base))
        .header("origin", "https://spa.example.com")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}
