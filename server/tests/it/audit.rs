//! The audit log through the real paths: sign-in over HTTP (failed, then succeeded),
//! consent granted and revoked, refresh-token and code reuse at `/token`, an
//! administrator's console action, `tessera keys rotate` and `tessera audit list`,
//! retention by `tessera purge`, and the `/admin/audit` page with its filters and gate.
//! The rows' filters and purge on both backends are in `storage::audit`.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::process::{Command, Output};

use common::{add_user, add_web_client, authorize_as, authorize_path, page, post_form, sign_in, token};
use reqwest::header::LOCATION;
use serde_json::Value;
use tessera_core::audit::{Actor, Event, Filter, Kind, NewEvent};
use tessera_core::store::Store;

/// Every recorded event, oldest first.
async fn events(store: &dyn Store) -> Vec<Event> {
    let mut all = store
        .events(&Filter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    all.reverse();
    all
}

fn kinds(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

fn one<'a>(events: &'a [Event], kind: &str) -> &'a Event {
    let found: Vec<&Event> = events.iter().filter(|e| e.kind == kind).collect();
    assert_eq!(found.len(), 1, "one {kind}: {events:#?}");
    found[0]
}

fn detail(e: &Event) -> Value {
    serde_json::from_str(&e.detail).unwrap()
}

fn tessera(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .env("TESSERA_SECRET", common::TEST_SECRET)
        .env_remove("TESSERA_DATABASE_URL")
        .env_remove("TESSERA_AUDIT_RETENTION_DAYS")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

fn stdout_json(out: &Output) -> Value {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// A user's whole story: a wrong password, a sign-in, consent, the normal token and
/// refresh exchanges (which record nothing), a refresh token and a code replayed, the app
/// revoked in My apps, sign-out. Each leaves one row naming who, what and from where.
#[tokio::test]
async fn a_users_security_events_are_recorded_with_who_and_where() {
    for tdb in common::databases().await {
        let server = common::serve(&tdb.url).await;
        let alice_id = add_user(&server, "alice", "alice-password", false).await;
        let secret = add_web_client(&server, "openid profile offline_access").await;
        let secret = secret.expose().to_owned();
        let browser = common::browser();

        let failed = sign_in(&browser, &server, "alice", "wrong-password").await;
        assert!(failed.contains("error=invalid"), "{failed}");
        let walk = authorize_as(
            &browser,
            &server,
            &authorize_path("openid profile offline_access"),
            ("alice", "alice-password"),
        )
        .await;
        assert_eq!(walk.pages, ["/login", "/consent"], "{}", tdb.name);

        let code_form = [
            ("grant_type", "authorization_code"),
            ("code", walk.code.as_str()),
            ("redirect_uri", common::CALLBACK),
            ("code_verifier", common::PKCE_VERIFIER),
        ];
        let (status, tokens) = token(&server, &secret, &code_form).await;
        assert_eq!(status, 200, "{tokens}");
        let rt1 = tokens["refresh_token"].as_str().unwrap().to_owned();
        let (status, refreshed) = token(
            &server,
            &secret,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
        )
        .await;
        assert_eq!(status, 200, "{refreshed}");
        // The normal path of /token wrote nothing.
        assert_eq!(
            kinds(&events(server.db.store.as_ref()).await),
            ["sign_in.failed", "sign_in.succeeded", "consent.granted"],
            "{}",
            tdb.name
        );

        let (status, _) = token(
            &server,
            &secret,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
        )
        .await;
        assert_eq!(status, 400, "reuse is refused");
        let (status, _) = token(&server, &secret, &code_form).await;
        assert_eq!(status, 400, "a replayed code is refused");

        let location = post_form(
            &browser,
            &server,
            "/account/apps",
            "/ui/account/apps/revoke",
            &[("client_id", "web")],
        )
        .await;
        assert_eq!(location, "/account/apps?revoked=web");
        let location = post_form(&browser, &server, "/account", "/ui/logout", &[]).await;
        assert_eq!(location, "/");

        let all = events(server.db.store.as_ref()).await;
        assert_eq!(
            kinds(&all),
            [
                "sign_in.failed",
                "sign_in.succeeded",
                "consent.granted",
                "refresh_token.reused",
                "code.reused",
                "consent.revoked",
                "sign_out",
            ],
            "{}",
            tdb.name
        );
        for e in &all {
            assert_eq!(e.address.as_deref(), Some("127.0.0.1"), "{e:?}");
        }
        let f = one(&all, "sign_in.failed");
        assert_eq!((f.actor_id.as_deref(), f.actor_name.as_deref()), (None, None));
        assert_eq!(f.subject.as_deref(), Some("alice"));
        assert_eq!(detail(f), serde_json::json!({ "reason": "invalid" }));
        assert!(!f.detail.contains("wrong-password"), "never the password");
        for kind in ["sign_in.succeeded", "consent.granted", "consent.revoked", "sign_out"] {
            let e = one(&all, kind);
            assert_eq!(e.actor_id.as_deref(), Some(alice_id.as_str()), "{kind}");
            assert_eq!(e.actor_name.as_deref(), Some("alice"), "{kind}");
            assert_eq!(e.subject.as_deref(), Some("alice"), "{kind}");
        }
        assert_eq!(one(&all, "consent.granted").client_id.as_deref(), Some("web"));
        assert_eq!(
            detail(one(&all, "consent.granted"))["scope"],
            "offline_access openid profile"
        );
        assert_eq!(one(&all, "consent.revoked").client_id.as_deref(), Some("web"));
        let reused = one(&all, "refresh_token.reused");
        assert_eq!(reused.actor_name, None);
        assert_eq!(reused.client_id.as_deref(), Some("web"));
        assert_eq!(reused.subject.as_deref(), Some("alice"));
        assert_eq!(detail(reused)["reason"], "refresh token reused");
        let code = one(&all, "code.reused");
        assert_eq!(code.client_id.as_deref(), Some("web"));
        assert_eq!(detail(code)["family_id"], detail(reused)["family_id"], "the same grant");
    }
}

/// The back-off bounds what an anonymous caller can add: failures whose password was
/// checked are recorded (the one reaching the limit as `throttled`); attempts refused
/// before the check are not.
#[tokio::test]
async fn only_checked_sign_in_failures_are_recorded() {
    use tessera_services::clock::FixedClock;
    let tdb = common::sqlite();
    let db = common::open(&tdb).await;
    let server_like = db.store.as_ref();
    server_like
        .create_user(
            tessera_core::store::NewUser {
                username: tessera_core::types::Username::parse("bob").unwrap(),
                password_hash: tessera_core::password::hash_password("bob-password").unwrap(),
                email: None,
                name: None,
                is_admin: false,
            },
            1,
        )
        .await
        .unwrap();
    let session = tower_sessions::Session::new(None, std::sync::Arc::new(db.sessions.clone()), None);
    let clock = FixedClock::at(1_800_000_000);
    let peer = Some("203.0.113.9".parse().unwrap());
    let threshold = tessera_core::throttle::PER_ACCOUNT.threshold;
    // A name longer than any account's is kept cut to the longest one.
    let long = "b".repeat(500);
    tessera_services::login::password(server_like, &session, &clock, &long, "x", peer, 3600)
        .await
        .unwrap();
    for _ in 0..threshold + 3 {
        tessera_services::login::password(server_like, &session, &clock, "bob", "nope", peer, 3600)
            .await
            .unwrap();
    }
    let all = events(server_like).await;
    let reasons: Vec<String> = all
        .iter()
        .map(|e| detail(e)["reason"].as_str().unwrap().to_owned())
        .collect();
    let mut want = vec!["invalid"; threshold as usize];
    want.push("throttled");
    assert_eq!(reasons, want, "{all:#?}");
    assert_eq!(
        all[0].subject.as_deref().map(str::len),
        Some(tessera_core::policy::USERNAME_MAX_CHARS)
    );
    assert!(all[1..].iter().all(|e| e.subject.as_deref() == Some("bob")));
    assert!(all.iter().all(|e| e.address.as_deref() == Some("203.0.113.9")));
}

/// An administrator's action in the console names them; the page lists it, filters, and
/// is for administrators only.
#[tokio::test]
async fn console_actions_name_the_admin_and_the_page_lists_and_filters() {
    for tdb in common::databases().await {
        let server = common::serve(&tdb.url).await;
        let root_id = add_user(&server, "root", "root-password", true).await;
        add_user(&server, "carol", "carol-password", false).await;
        let admin = common::browser();
        assert_eq!(sign_in(&admin, &server, "root", "root-password").await, "/");

        let form = [
            ("name", "Shop"),
            ("description", ""),
            ("logo_uri", ""),
            ("client_type", "confidential"),
            ("redirect_uris", "https://shop.example/cb"),
            ("scopes", "openid"),
            ("grant_authorization_code", "on"),
            ("require_pkce", "on"),
            ("access_token_ttl", "900"),
            ("refresh_token_ttl", "86400"),
            ("access_token_alg", "ES256"),
            ("id_token_alg", "RS256"),
        ];
        let location = post_form(&admin, &server, "/admin/clients/new", "/ui/admin/clients/create", &form).await;
        let client_id = location.strip_prefix("/admin/clients/").unwrap().to_owned();

        let all = events(server.db.store.as_ref()).await;
        let created = one(&all, "client.created");
        assert_eq!(created.actor_id.as_deref(), Some(root_id.as_str()), "{}", tdb.name);
        assert_eq!(created.actor_name.as_deref(), Some("root"));
        assert_eq!(created.subject.as_deref(), Some(client_id.as_str()));
        assert_eq!(created.client_id.as_deref(), Some(client_id.as_str()));
        assert_eq!(created.address.as_deref(), Some("127.0.0.1"));
        assert_eq!(detail(created), serde_json::json!({ "name": "Shop", "public": false }));

        // The page: newest first, every column.
        let res = page(&admin, &server, "/admin/audit").await;
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        assert!(html.contains("href=\"/admin/audit\""), "linked in the admin nav");
        let rows: Vec<&str> = html.split("data-testid=\"audit-row\"").skip(1).collect();
        assert_eq!(rows.len(), 2, "{}: {html}", tdb.name);
        assert!(rows[0].contains("client.created") && rows[0].contains(&client_id));
        assert!(rows[0].contains("root") && rows[0].contains("127.0.0.1"));
        assert!(rows[1].contains("sign_in.succeeded"));
        assert!(html.contains("<option value=\"key.rotated\""), "every kind is offered");
        // Filters: by kind, by user, a since date, and a bad date said so.
        let html = page(&admin, &server, "/admin/audit?kind=sign_in.succeeded")
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(html.matches("data-testid=\"audit-row\"").count(), 1);
        assert!(!html.contains("client.created</td>"));
        let html = page(&admin, &server, "/admin/audit?user=carol")
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains("No events."), "{html}");
        let html = page(&admin, &server, "/admin/audit?since=2999-01-01")
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains("No events."));
        let html = page(&admin, &server, "/admin/audit?since=yesterday")
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains("is not a date (YYYY-MM-DD)"), "{html}");
        assert_eq!(html.matches("data-testid=\"audit-row\"").count(), 0);

        // Others: the login for the signed-out, 403 for a signed-in non-administrator.
        let res = page(&common::browser(), &server, "/admin/audit").await;
        assert_eq!(res.status(), 302);
        assert!(res.headers()[LOCATION].to_str().unwrap().starts_with("/login?next="));
        let carol = common::browser();
        assert_eq!(sign_in(&carol, &server, "carol", "carol-password").await, "/");
        let res = page(&carol, &server, "/admin/audit").await;
        assert_eq!(res.status(), 403);
        assert!(!res.text().await.unwrap().contains("client.created"));
    }
}

/// More than a page: 50 shown, "Older" leads to the rest with the filter kept.
#[tokio::test]
async fn the_page_shows_fifty_and_pages_back_by_id() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    add_user(&server, "root", "root-password", true).await;
    for i in 0..60 {
        let e = NewEvent::new(Kind::SignInFailed, Actor::Anonymous, 1_800_000_000 + i).subject(format!("u{i}"));
        server.db.store.record_event(&e).await.unwrap();
    }
    let admin = common::browser();
    assert_eq!(sign_in(&admin, &server, "root", "root-password").await, "/");
    let html = page(&admin, &server, "/admin/audit?kind=sign_in.failed")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(html.matches("data-testid=\"audit-row\"").count(), 50);
    assert!(html.contains(">u59<") && !html.contains(">u9<"), "newest first");
    let at = html.find(">Older<").expect("an Older link");
    let start = html[..at].rfind("href=\"").unwrap() + 6;
    let href = html[start..at].split('"').next().unwrap().replace("&amp;", "&");
    assert!(href.contains("kind=sign_in.failed"), "{href}");
    let html = page(&admin, &server, &href).await.text().await.unwrap();
    assert_eq!(html.matches("data-testid=\"audit-row\"").count(), 10, "{href}");
    assert!(html.contains(">u9<") && html.contains(">u0<"));
    assert!(!html.contains(">Older<"), "the last page");
}

/// `tessera keys rotate` is recorded with the actor "cli"; `tessera audit list` shows it.
#[tokio::test]
async fn cli_key_rotation_is_recorded_and_listed() {
    for tdb in common::databases().await {
        let server = common::serve(&tdb.url).await;
        let printed = stdout_json(&tessera(&[
            "keys",
            "rotate",
            "--signs-in",
            "0",
            "--database-url",
            &tdb.url,
        ]));
        let kids: Vec<&str> = printed["rotated"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["kid"].as_str().unwrap())
            .collect();
        let all = events(server.db.store.as_ref()).await;
        assert_eq!(kinds(&all), ["key.rotated"; 4], "{}", tdb.name);
        for (e, kid) in all.iter().zip(&kids) {
            assert_eq!((e.actor_id.as_deref(), e.actor_name.as_deref()), (None, Some("cli")));
            assert_eq!(e.subject.as_deref(), Some(*kid));
            assert_eq!(e.address, None);
        }

        let listed = stdout_json(&tessera(&[
            "audit",
            "list",
            "--json",
            "--kind",
            "key.rotated",
            "--limit",
            "2",
            "--database-url",
            &tdb.url,
        ]));
        let listed = listed.as_array().unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0]["subject"], kids[3], "newest first");
        let table = tessera(&["audit", "list", "--database-url", &tdb.url]);
        assert!(table.status.success());
        assert_eq!(String::from_utf8_lossy(&table.stdout).matches("key.rotated").count(), 4);

        let bad = tessera(&["audit", "list", "--kind", "key.lost", "--database-url", &tdb.url]);
        assert!(!bad.status.success());
        let err = String::from_utf8_lossy(&bad.stderr);
        assert!(err.contains("key.lost") && err.contains("key.rotated"), "{err}");
    }
}

/// Retention: `tessera purge` deletes events older than the retention, only those, and
/// says how many; 0 days is refused with a reason.
#[tokio::test]
async fn purge_removes_only_events_past_their_retention() {
    let tdb = common::sqlite();
    let db = common::open(&tdb).await;
    let now = tessera::now();
    let day = 86_400;
    for (age, subject) in [(100 * day, "old"), (95 * day, "older than 90"), (10 * day, "recent")] {
        let e = NewEvent::new(Kind::SignInFailed, Actor::Anonymous, now - age).subject(subject);
        db.store.record_event(&e).await.unwrap();
    }
    let v = stdout_json(&tessera(&[
        "purge",
        "--audit-retention-days",
        "97",
        "--database-url",
        &tdb.url,
    ]));
    assert_eq!(v["purged"]["audit_events"], 1, "{v}");
    let v = stdout_json(&tessera(&["purge", "--database-url", &tdb.url]));
    assert_eq!(v["purged"]["audit_events"], 1, "the default, 90 days: {v}");
    let left = events(db.store.as_ref()).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].subject.as_deref(), Some("recent"));

    let zero = tessera(&["purge", "--audit-retention-days", "0", "--database-url", &tdb.url]);
    assert!(!zero.status.success());
    let err = String::from_utf8_lossy(&zero.stderr);
    assert!(
        err.contains("--audit-retention-days") && err.contains("large number of days"),
        "{err}"
    );
    let env = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .env("TESSERA_AUDIT_RETENTION_DAYS", "ninety")
        .args(["purge", "--database-url", &tdb.url])
        .output()
        .unwrap();
    assert!(!env.status.success());
    assert!(String::from_utf8_lossy(&env.stderr).contains("not a whole number of days"));
    assert_eq!(
        events(db.store.as_ref()).await.len(),
        1,
        "a refused purge deletes nothing"
    );
}

/// Each event is also one `tessera::audit` log line; `--log-format json` makes it a
/// machine-readable object with the row's fields.
#[tokio::test]
async fn each_event_is_one_json_log_line() {
    let tdb = common::sqlite();
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .env("TESSERA_SECRET", common::TEST_SECRET)
        .env_remove("RUST_LOG")
        .args([
            "--log-format",
            "json",
            "keys",
            "rotate",
            "--alg",
            "ES256",
            "--database-url",
            &tdb.url,
        ])
        .output()
        .unwrap();
    let printed = stdout_json(&out);
    let kid = printed["rotated"][0]["kid"].as_str().unwrap();
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "tessera::audit")
        .collect();
    assert_eq!(lines.len(), 1, "{}", String::from_utf8_lossy(&out.stderr));
    let line = &lines[0];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["kind"], "key.rotated");
    assert_eq!(line["actor"], "cli");
    assert_eq!(line["subject"], kid);
    let detail: Value = serde_json::from_str(line["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["alg"], "ES256");
}

/// The address recorded is the client's as the server sees it: behind a trusted proxy,
/// the one its `X-Forwarded-For` names; from anyone else, the TCP peer.
#[tokio::test]
async fn the_address_is_the_client_behind_a_trusted_proxy() {
    let tdb = common::sqlite();
    let forwarded = |client: &str| {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", client.parse().unwrap());
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap()
    };
    let behind = common::serve_with(&tdb.url, |c| {
        c.trusted_proxies = tessera::http::client_ip::TrustedProxies::new(vec![
            tessera::http::client_ip::parse_trusted("127.0.0.1").unwrap(),
        ]);
    })
    .await;
    add_user(&behind, "ivy", "ivy-password", false).await;
    assert_eq!(
        sign_in(&forwarded("203.0.113.6"), &behind, "ivy", "ivy-password").await,
        "/"
    );
    let direct = common::serve(&tdb.url).await;
    assert_eq!(
        sign_in(&forwarded("203.0.113.7"), &direct, "ivy", "ivy-password").await,
        "/"
    );
    let all = events(behind.db.store.as_ref()).await;
    let addresses: Vec<Option<&str>> = all.iter().map(|e| e.address.as_deref()).collect();
    assert_eq!(addresses, [Some("203.0.113.6"), Some("127.0.0.1")]);
}

/// An administrator revoking a user's consent is recorded with the administrator as the
/// actor and the user as the subject.
#[tokio::test]
async fn an_admin_revoking_a_consent_is_the_actor() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    let root_id = add_user(&server, "root", "root-password", true).await;
    let dan = add_user(&server, "dan", "dan-password", false).await;
    add_web_client(&server, "openid").await;
    let scopes = tessera_core::types::ScopeSet::parse("openid").unwrap();
    server.db.store.grant_consent(&dan, "web", &scopes, 1).await.unwrap();
    let admin = common::browser();
    assert_eq!(sign_in(&admin, &server, "root", "root-password").await, "/");
    let user_page = format!("/admin/users/{dan}");
    let location = post_form(
        &admin,
        &server,
        &user_page,
        "/ui/admin/grants/consent",
        &[("user_id", &dan), ("client_id", "web"), ("back", &user_page)],
    )
    .await;
    assert_eq!(location, user_page);
    let all = events(server.db.store.as_ref()).await;
    let revoked = one(&all, "consent.revoked");
    assert_eq!(revoked.actor_id.as_deref(), Some(root_id.as_str()));
    assert_eq!(revoked.actor_name.as_deref(), Some("root"));
    assert_eq!(revoked.subject.as_deref(), Some("dan"));
    assert_eq!(revoked.client_id.as_deref(), Some("web"));
}
