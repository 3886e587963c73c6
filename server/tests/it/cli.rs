//! The command-line contract: JSON on stdout and nothing else there, one-line errors with
//! a non-zero exit, no half-written rows, on SQLite and PostgreSQL.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

pub(crate) fn tessera(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .env("TESSERA_SECRET", common::TEST_SECRET)
        .args(args)
        .env_remove("TESSERA_DATABASE_URL")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tessera");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("wait")
}

pub(crate) fn stdout_json(out: &Output) -> Value {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "exactly one line on stdout: {text:?}");
    serde_json::from_str(text.trim()).expect("stdout is JSON")
}

/// A failure: non-zero exit, nothing on stdout, exactly one line on stderr.
pub(crate) fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success(), "expected failure");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "one line on stderr: {err:?}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn client_count(db: &str) -> usize {
    let out = tessera(&["client", "list", "--json", "--database-url", db], None);
    stdout_json(&out).as_array().unwrap().len()
}

#[tokio::test]
async fn client_add_prints_exactly_one_json_object() {
    for tdb in common::databases().await {
        let out = tessera(
            &[
                "--database-url",
                &tdb.url,
                "client",
                "add",
                "--name",
                "Web app",
                "--redirect-uri",
                "https://app.example.com/cb",
                "--redirect-uri",
                "http://127.0.0.1:9000/cb",
            ],
            None,
        );
        let v = stdout_json(&out);
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), 2, "{v}");
        let id = obj["client_id"].as_str().unwrap();
        let secret = obj["client_secret"].as_str().unwrap();
        assert_eq!(secret.len(), 43, "256-bit secret, base64url");

        // Stored only as a hash, with both redirect URIs exactly as given.
        let db = common::open(&tdb).await;
        let client = db.store.client_by_id(id).await.unwrap().expect("stored");
        let hash = client.secret_hash.expect("confidential");
        assert_ne!(hash, secret);
        assert!(tessera_core::secret::verify_secret(secret, &hash));
        assert_eq!(client.redirect_uris.len(), 2);
        assert_eq!(client.scopes.to_string(), "email offline_access openid profile");

        // Public clients get no secret at all.
        let out = tessera(
            &[
                "client",
                "add",
                "--public",
                "--name",
                "SPA",
                "--redirect-uri",
                "http://localhost:5173/cb",
                "--scope",
                "openid",
                "--database-url",
                &tdb.url,
            ],
            None,
        );
        let v = stdout_json(&out);
        assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
        let public = db
            .store
            .client_by_id(v["client_id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(public.is_public && public.secret_hash.is_none());
    }
}

#[tokio::test]
async fn user_add_reads_the_password_from_stdin() {
    for tdb in common::databases().await {
        let out = tessera(
            &[
                "user",
                "add",
                "Erin",
                "--password-stdin",
                "--admin",
                "--email",
                "erin@example.com",
                "--name",
                "Erin E",
                "--database-url",
                &tdb.url,
            ],
            Some("s3cret-pass\n"),
        );
        let v = stdout_json(&out);
        assert_eq!(v["username"], "erin");
        assert_eq!(v["is_admin"], true);
        let db = common::open(&tdb).await;
        let (user, hash) = db.store.credentials_by_username("erin").await.unwrap().unwrap();
        assert!(hash.starts_with("$argon2id$"));
        // Exactly one trailing newline is stripped, nothing else.
        assert!(tessera_core::password::verify_password("s3cret-pass", &hash));
        assert_eq!(user.email.as_deref(), Some("erin@example.com"));
        assert_eq!(user.name.as_deref(), Some("Erin E"));

        let out = tessera(
            &["user", "add", "frank", "--password-stdin", "--database-url", &tdb.url],
            Some("two  spaces \n\n"),
        );
        stdout_json(&out);
        let (_, hash) = db.store.credentials_by_username("frank").await.unwrap().unwrap();
        assert!(tessera_core::password::verify_password("two  spaces \n", &hash));

        let list = tessera(&["user", "list", "--json", "--database-url", &tdb.url], None);
        assert_eq!(stdout_json(&list).as_array().unwrap().len(), 2);
    }
}

#[tokio::test]
async fn duplicate_username_is_refused_without_changing_the_first() {
    for tdb in common::databases().await {
        stdout_json(&tessera(
            &["user", "add", "gina", "--password-stdin", "--database-url", &tdb.url],
            Some("first-password"),
        ));
        let out = tessera(
            &[
                "user",
                "add",
                "GINA",
                "--password-stdin",
                "--admin",
                "--database-url",
                &tdb.url,
            ],
            Some("second-password"),
        );
        let err = one_line_error(&out);
        assert!(err.contains("already exists"), "{err}");
        let db = common::open(&tdb).await;
        let (user, hash) = db.store.credentials_by_username("gina").await.unwrap().unwrap();
        assert!(!user.is_admin);
        assert!(tessera_core::password::verify_password("first-password", &hash));
    }
}

#[tokio::test]
async fn malformed_redirect_uris_are_refused_and_nothing_is_written() {
    for tdb in common::databases().await {
        for (uri, why) in [
            ("/relative/cb", "not an absolute URI"),
            ("cb", "not an absolute URI"),
            ("https://app.example.com/cb#section", "fragment"),
            ("http://app.example.com/cb", "https"),
            ("javascript:alert(1)", "scheme"),
        ] {
            let out = tessera(
                &[
                    "client",
                    "add",
                    "--name",
                    "x",
                    "--redirect-uri",
                    "https://ok.example.com/cb",
                    "--redirect-uri",
                    uri,
                    "--database-url",
                    &tdb.url,
                ],
                None,
            );
            let err = one_line_error(&out);
            assert!(err.contains(why), "{uri}: {err}");
        }
        assert_eq!(client_count(&tdb.url), 0, "{}: no client was written", tdb.name);
    }
}

#[test]
fn bad_input_gets_one_line_errors() {
    let tdb = common::sqlite();
    let cases: &[(&[&str], Option<&str>, &str)] = &[
        (&["--no-such-flag"], None, "unexpected argument"),
        (
            &["serve", "--trusted-proxy", "proxy.internal"],
            None,
            "is not an IP address or network",
        ),
        (
            &["serve", "--session-max-age", "10", "--database-url", &tdb.url],
            None,
            "--session-max-age 10: must be 300 to",
        ),
        (
            &[
                "serve",
                "--session-idle-timeout",
                "7200",
                "--session-max-age",
                "3600",
                "--database-url",
                &tdb.url,
            ],
            None,
            "would never apply",
        ),
        (
            &["serve", "--refresh-family-max-age", "60", "--database-url", &tdb.url],
            None,
            "--refresh-family-max-age 60",
        ),
        (&["user", "add", "hal"], None, "--password-stdin"),
        (
            &["user", "add", "hal", "--password-stdin", "--database-url", &tdb.url],
            Some(""),
            "no password",
        ),
        (
            &["user", "add", "hal", "--password-stdin", "--database-url", &tdb.url],
            Some("short\n"),
            "at least 8",
        ),
        (
            &[
                "user",
                "add",
                "bad name",
                "--password-stdin",
                "--database-url",
                &tdb.url,
            ],
            Some("long-enough"),
            "username",
        ),
        (
            &[
                "user",
                "add",
                "ida",
                "--password-stdin",
                "--email",
                "nope",
                "--database-url",
                &tdb.url,
            ],
            Some("long-enough"),
            "email",
        ),
        (
            &["client", "add", "--name", "x", "--database-url", &tdb.url],
            None,
            "--redirect-uri",
        ),
        (
            &[
                "client",
                "add",
                "--name",
                " ",
                "--redirect-uri",
                "https://a.example/cb",
                "--database-url",
                &tdb.url,
            ],
            None,
            "client name",
        ),
        (
            &[
                "client",
                "add",
                "--name",
                "x",
                "--redirect-uri",
                "https://a.example/cb",
                "--scope",
                "a\"b",
                "--database-url",
                &tdb.url,
            ],
            None,
            "scope",
        ),
        (
            &["client", "remove", "nope", "--database-url", &tdb.url],
            None,
            "no client",
        ),
        (
            &["client", "list", "--database-url", "mysql://localhost/x"],
            None,
            "unsupported database URL",
        ),
        (
            &["client", "list", "--database-url", "postgres://nobody:pw@127.0.0.1:1/x"],
            None,
            "cannot connect",
        ),
        (&["serve", "--addr", "not-an-address"], None, "invalid value"),
        (
            &["serve", "--issuer", "http://id.example.com", "--database-url", &tdb.url],
            None,
            "issuer",
        ),
    ];
    for (args, stdin, want) in cases {
        let out = tessera(args, *stdin);
        let err = one_line_error(&out);
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains(":pw@"), "passwords in URLs are redacted: {err}");
    }
    // Usage errors exit 2, runtime errors 1.
    assert_eq!(tessera(&["--no-such-flag"], None).status.code(), Some(2));
    assert_eq!(
        tessera(&["client", "remove", "nope", "--database-url", &tdb.url], None)
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn database_url_is_accepted_before_or_after_the_subcommand_and_from_the_environment() {
    let tdb = common::sqlite();
    stdout_json(&tessera(
        &["--database-url", &tdb.url, "user", "add", "jo", "--password-stdin"],
        Some("password-1"),
    ));
    stdout_json(&tessera(
        &["user", "add", "kim", "--password-stdin", "--database-url", &tdb.url],
        Some("password-2"),
    ));
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .env("TESSERA_SECRET", common::TEST_SECRET)
        .args(["user", "list", "--json"])
        .env("TESSERA_DATABASE_URL", &tdb.url)
        .output()
        .unwrap();
    let names: Vec<String> = stdout_json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["jo", "kim"]);
}

#[test]
fn help_and_version_succeed() {
    let out = tessera(&["--help"], None);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["serve", "migrate", "user", "client"] {
        assert!(text.contains(cmd), "{text}");
    }
    assert!(tessera(&["--version"], None).status.success());
}

#[tokio::test]
async fn client_add_sets_pkce_and_signing_per_client() {
    let tdb = common::sqlite();
    let v = stdout_json(&tessera(
        &[
            "client",
            "add",
            "--name",
            "Legacy",
            "--redirect-uri",
            "https://legacy.example.com/cb",
            "--pkce-optional",
            "--access-token-alg",
            "RS256",
            "--id-token-alg",
            "EdDSA",
            "--access-token-ttl",
            "600",
            "--dpop",
            "--database-url",
            &tdb.url,
        ],
        None,
    ));
    let db = common::open(&tdb).await;
    let c = db
        .store
        .client_by_id(v["client_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!c.requires_pkce());
    assert_eq!(
        (c.settings.access_token_alg.as_str(), c.settings.id_token_alg.as_str()),
        ("RS256", "EdDSA")
    );
    assert_eq!(c.settings.access_token_ttl, 600);
    assert!(c.settings.dpop_bound_access_tokens, "--dpop");
    // Defaults: PKCE required, ES256 access tokens, RS256 ID tokens, DPoP optional.
    let v = stdout_json(&tessera(
        &[
            "client",
            "add",
            "--name",
            "New",
            "--redirect-uri",
            "https://new.example.com/cb",
            "--database-url",
            &tdb.url,
        ],
        None,
    ));
    let c = db
        .store
        .client_by_id(v["client_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(c.requires_pkce());
    assert_eq!(
        (c.settings.access_token_alg.as_str(), c.settings.id_token_alg.as_str()),
        ("ES256", "RS256")
    );
    assert!(!c.settings.dpop_bound_access_tokens);
    // Refused: a public client without PKCE, an unknown algorithm, a lifetime out of range.
    for args in [
        vec!["--public", "--pkce-optional"],
        vec!["--access-token-alg", "HS256"],
        vec!["--access-token-ttl", "999999"],
    ] {
        let mut all = vec![
            "client",
            "add",
            "--name",
            "X",
            "--redirect-uri",
            "https://x.example.com/cb",
            "--database-url",
            &tdb.url,
        ];
        all.extend(args.iter());
        one_line_error(&tessera(&all, None));
    }
}

#[test]
fn logs_go_to_stderr_as_text_or_json() {
    let tdb = common::sqlite();
    let out = tessera(&["--log-format", "json", "migrate", "--database-url", &tdb.url], None);
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "logs never go to stdout");
    let err = String::from_utf8(out.stderr).unwrap();
    let line = err
        .lines()
        .find(|l| l.contains("migrations applied"))
        .expect("a log line");
    let v: Value = serde_json::from_str(line).expect("JSON log line");
    assert_eq!(v["level"], "INFO");
    assert_eq!(v["message"], "migrations applied");
    let out = tessera(&["migrate", "--database-url", &tdb.url], None);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("migrations applied") && serde_json::from_str::<Value>(err.trim()).is_err(),
        "{err}"
    );
}

/// `tessera serve` on a free port with `RUST_LOG` as given; returns what two requests to
/// /healthz answered in `x-request-id` (the first sends its own id) and the server's stderr.
async fn serve_and_log(rust_log: Option<&str>) -> (String, String, String) {
    let tdb = common::sqlite();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.env("TESSERA_SECRET", common::TEST_SECRET);
    cmd.args(["--log-format", "json", "serve", "--addr", &format!("127.0.0.1:{port}")])
        .args(["--issuer", &base, "--database-url", &tdb.url])
        .env_remove("TESSERA_DATABASE_URL")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(filter) = rust_log {
        cmd.env("RUST_LOG", filter);
    }
    let mut child = cmd.spawn().expect("run tessera serve");
    let http = reqwest::Client::new();
    let health = format!("{base}/healthz");
    let mut up = false;
    for _ in 0..200 {
        if http.get(&health).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let id_of = |res: reqwest::Response| {
        assert_eq!(res.status(), 200);
        res.headers()["x-request-id"].to_str().unwrap().to_owned()
    };
    let ids = if up {
        let own = http
            .get(&health)
            .header("x-request-id", "cli-test-7")
            .send()
            .await
            .unwrap();
        let made = http.get(&health).send().await.unwrap();
        Some((id_of(own), id_of(made)))
    } else {
        None
    };
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let (own, made) = ids.unwrap_or_else(|| panic!("serve never answered: {stderr}"));
    (own, made, stderr)
}

#[tokio::test]
async fn serve_logs_each_request_with_its_id_at_info_and_not_at_warn() {
    let (own, made, stderr) = serve_and_log(None).await;
    assert_eq!(own, "cli-test-7", "a request's own id is kept");
    assert_ne!(made, own);
    assert!(!made.is_empty());
    let lines: Vec<Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &Value| v["message"] == "finished processing request")
        .collect();
    let with_id = |id: &str| {
        lines
            .iter()
            .any(|v| v["span"]["request_id"] == id && v["span"]["path"] == "/healthz" && v["status"] == 200)
    };
    assert!(with_id("cli-test-7") && with_id(&made), "request lines: {stderr}");

    // Quieter than INFO: no request lines (the layer is left out), ids still on responses.
    let (own, made, stderr) = serve_and_log(Some("warn")).await;
    assert_eq!(own, "cli-test-7");
    assert!(!made.is_empty());
    assert!(!stderr.contains("finished processing request"), "{stderr}");
}

#[tokio::test]
async fn purge_deletes_what_expired_long_ago_and_reports_it() {
    use tessera_core::store::{NewClient, NewUser};
    use tessera_core::token::{CodeRecord, RefreshRecord};
    use tessera_core::types::{RedirectUri, ScopeSet, Username};
    for tdb in common::databases().await {
        let db = common::open(&tdb).await;
        let s = &db.store;
        let user = s
            .create_user(
                NewUser {
                    username: Username::parse("pat").unwrap(),
                    password_hash: "x".into(),
                    email: None,
                    name: None,
                    is_admin: false,
                },
                1,
            )
            .await
            .unwrap();
        s.create_client(
            NewClient {
                client_id: "c1".into(),
                name: "c1".into(),
                secret_hash: Some("hash".into()),
                redirect_uris: vec![RedirectUri::parse("https://app.example.com/cb").unwrap()],
                scopes: ScopeSet::parse("openid offline_access").unwrap(),
                is_public: false,
                settings: Default::default(),
            },
            1,
        )
        .await
        .unwrap();
        let now = tessera::now();
        // The grant, started the way the token endpoint starts one: by redeeming its code.
        let code = CodeRecord {
            client_id: "c1".into(),
            redirect_uri: RedirectUri::parse("https://app.example.com/cb").unwrap(),
            redirect_uri_in_request: true,
            pkce: None,
            nonce: None,
            user_id: user.id.clone(),
            scopes: ScopeSet::parse("openid offline_access").unwrap(),
            auth_time: now,
            expires_at: now + 60,
            used: false,
            dpop_jkt: None,
            resources: Vec::new(),
        };
        s.put_code("code", "fam", &code, now).await.unwrap();
        s.redeem_code("code", "c1", now).await.unwrap();
        let rt = |expires_at: i64| RefreshRecord {
            family_id: "fam".into(),
            client_id: "c1".into(),
            user_id: user.id.clone(),
            scopes: ScopeSet::parse("openid offline_access").unwrap(),
            auth_time: 1,
            expires_at,
            rotated: false,
            revoked: false,
            family_created_at: 0,
            dpop_jkt: None,
            resources: Vec::new(),
        };
        // Expired two days ago: goes. Valid for another hour: stays, and so does its grant.
        s.put_refresh_token("old", &rt(now - 2 * 86_400), now - 3 * 86_400)
            .await
            .unwrap();
        s.put_refresh_token("current", &rt(now + 3600), now).await.unwrap();
        s.revoke_access_token("jti-gone", now - 10).await.unwrap();

        let out = tessera(&["--database-url", &tdb.url, "purge"], None);
        let v = stdout_json(&out);
        assert_eq!(v["purged"]["refresh_tokens"], 1, "{v} ({})", tdb.name);
        assert_eq!(v["purged"]["revoked_access_tokens"], 1, "{v}");
        assert_eq!(v["purged"]["families"], 0, "{v}");
        assert!(s.refresh_token("old").await.unwrap().is_none());
        assert!(s.refresh_token("current").await.unwrap().is_some());

        // Nothing left the second time.
        let v = stdout_json(&tessera(&["--database-url", &tdb.url, "purge"], None));
        assert_eq!(v["purged"]["refresh_tokens"], 0, "{v}");
    }
}

/// `client add` with `extra` arguments is refused with `want` (the console's message, named
/// by the command line's flag) on every backend, and writes nothing. `client add` applies
/// the console's rules (the core's `registration`).
async fn client_add_is_refused(extra: &[&str], want: &str) {
    for tdb in common::databases().await {
        let mut args = vec![
            "client",
            "add",
            "--name",
            "X",
            "--redirect-uri",
            "https://x.example.com/cb",
            "--database-url",
            &tdb.url,
        ];
        args.extend(extra.iter());
        let err = one_line_error(&tessera(&args, None));
        assert!(err.contains(want), "{}: {extra:?}: {err}", tdb.name);
        assert!(err.contains("client refused"), "{err}");
        assert_eq!(client_count(&tdb.url), 0, "{}: no client was written", tdb.name);
    }
}

#[tokio::test]
async fn client_add_refuses_an_undefined_scope() {
    client_add_is_refused(
        &["--scope", "openid invoices:read"],
        "--scope: Unknown scope \u{201c}invoices:read\u{201d}: define it under Scopes first.",
    )
    .await;
}

#[tokio::test]
async fn client_add_refuses_an_empty_scope() {
    client_add_is_refused(&["--scope", ""], "--scope: List at least one scope.").await;
}

#[tokio::test]
async fn client_add_refuses_a_refresh_lifetime_out_of_range() {
    client_add_is_refused(
        &["--refresh-token-ttl", "60"],
        "--refresh-token-ttl: A whole number of seconds from 3600 to 31536000.",
    )
    .await;
    client_add_is_refused(
        &["--refresh-token-ttl", "31536001"],
        "--refresh-token-ttl: A whole number of seconds from 3600 to 31536000.",
    )
    .await;
}

/// A public client whose only grant is client_credentials (which needs a secret) would be
/// left with no grant it can use.
#[tokio::test]
async fn client_add_refuses_a_client_with_no_usable_grant() {
    client_add_is_refused(
        &["--public", "--grant-type", "client_credentials"],
        "--grant-type: A public client cannot use client_credentials: it has no secret.",
    )
    .await;
}

#[tokio::test]
async fn client_add_accepts_defined_scopes_chosen_grants_and_lifetimes() {
    for tdb in common::databases().await {
        let db = common::open(&tdb).await;
        db.store
            .create_scope("invoices:read", "Read your invoices", 1)
            .await
            .unwrap();
        let v = stdout_json(&tessera(
            &[
                "client",
                "add",
                "--name",
                "X",
                "--redirect-uri",
                "https://x.example.com/cb",
                "--scope",
                "openid invoices:read",
                "--grant-type",
                "authorization_code",
                "--refresh-token-ttl",
                "7200",
                "--database-url",
                &tdb.url,
            ],
            None,
        ));
        let c = db
            .store
            .client_by_id(v["client_id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(c.allows_grant("authorization_code") && !c.allows_grant("refresh_token"));
        assert_eq!(c.settings.refresh_token_ttl, 7200);
        assert!(c.scopes.contains("invoices:read"));
    }
}

#[tokio::test]
async fn backup_copies_a_serving_sqlite_database_and_never_overwrites() {
    let tdb = common::sqlite();
    // A server is using the database while the copy is taken.
    let server = common::serve(&tdb.url).await;
    common::add_user(&server, "bea", "bea-password", false).await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    let copy_s = copy.to_str().unwrap();

    let out = tessera(&["backup", copy_s, "--database-url", &tdb.url], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = stdout_json(&out);
    assert_eq!(printed["backup"], copy_s);
    assert!(printed["bytes"].as_u64().unwrap() > 0);
    // The copy is a working database with what the original held.
    let copy_url = format!("sqlite://{copy_s}");
    let list = tessera(&["user", "list", "--json", "--database-url", &copy_url], None);
    assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
    assert!(String::from_utf8_lossy(&list.stdout).contains("\"bea\""));

    // Never over an existing file, never from a database that is not there, and
    // PostgreSQL is pg_dump's job: one line each, exit 1.
    let missing = format!("sqlite://{}/nothing-here.db", dir.path().display());
    let other = dir.path().join("other.db");
    let cases = [
        (
            vec!["backup", copy_s, "--database-url", tdb.url.as_str()],
            "already exists",
        ),
        (
            vec!["backup", other.to_str().unwrap(), "--database-url", missing.as_str()],
            "cannot open",
        ),
        (
            vec![
                "backup",
                other.to_str().unwrap(),
                "--database-url",
                "postgres://u@127.0.0.1:1/db",
            ],
            "pg_dump",
        ),
    ];
    for (args, want) in cases {
        let out = tessera(&args, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            one_line_error(&out).contains(want),
            "{args:?}: {}",
            one_line_error(&out)
        );
    }
    assert!(!other.exists(), "nothing written on a refusal");
}
