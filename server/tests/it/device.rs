//! The device authorization grant (RFC 8628): `/device_authorization`, the `/device`
//! pages driven as a browser without JavaScript, and polling `/token` — every answer in
//! order, denial, expiry, refusals, one redemption, and user-code guessing throttled.

use serde_json::Value;
use tessera_core::store::{NewClient, NewDeviceCode};
use tessera_core::types::ScopeSet;

use crate::common::*;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Registers the public client `tv` allowed the device grant (and refresh tokens).
async fn add_tv_client(server: &TestServer) {
    let settings = tessera_core::store::ClientSettings {
        grant_types: vec![DEVICE_GRANT.into(), "refresh_token".into()],
        ..Default::default()
    };
    server
        .db
        .store
        .create_client(
            NewClient {
                client_id: "tv".into(),
                name: "Living Room TV".into(),
                secret_hash: None,
                redirect_uris: vec![],
                scopes: ScopeSet::parse("openid profile offline_access").unwrap(),
                is_public: true,
                settings,
            },
            1,
        )
        .await
        .unwrap();
}

async fn post(server: &TestServer, path: &str, form: &[(&str, &str)]) -> (u16, Value, reqwest::header::HeaderMap) {
    let res = reqwest::Client::new()
        .post(format!("{}{path}", server.base))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, res.json().await.unwrap(), headers)
}

/// `POST /device_authorization` as `tv`.
async fn start(server: &TestServer, scope: &str) -> Value {
    let (status, body, headers) = post(
        server,
        "/device_authorization",
        &[("client_id", "tv"), ("scope", scope)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    body
}

/// One poll of `/token` by `tv`.
async fn poll(server: &TestServer, device_code: &str) -> (u16, Value) {
    let (status, body, _) = post(
        server,
        "/token",
        &[
            ("grant_type", DEVICE_GRANT),
            ("client_id", "tv"),
            ("device_code", device_code),
        ],
    )
    .await;
    (status, body)
}

fn error_of(answer: &(u16, Value)) -> (u16, &str) {
    (answer.0, answer.1["error"].as_str().unwrap_or("(none)"))
}

/// Enters `user_code` at `/device` with this browser; where the server sends it.
async fn enter_code(browser: &reqwest::Client, server: &TestServer, user_code: &str) -> String {
    post_form(
        browser,
        server,
        "/device",
        "/ui/device/verify",
        &[("user_code", user_code)],
    )
    .await
}

/// Enters the code, signs in as `user` where asked, checks the confirmation page, and
/// decides; returns where the decision leads.
async fn decide(server: &TestServer, user_code: &str, user: (&str, &str), decision: &str) -> String {
    let browser = browser();
    let next = enter_code(&browser, server, user_code).await;
    assert_eq!(next, "/login?next=/device/confirm");
    let next = post_form(
        &browser,
        server,
        &next,
        "/ui/login",
        &[("username", user.0), ("password", user.1), ("next", "/device/confirm")],
    )
    .await;
    assert_eq!(next, "/device/confirm");
    let html = page(&browser, server, "/device/confirm").await.text().await.unwrap();
    assert!(html.contains("Living Room TV"), "{html}");
    assert!(html.contains("Only continue if you started this yourself"), "{html}");
    post_form(
        &browser,
        server,
        "/device/confirm",
        "/ui/device/decide",
        &[("decision", decision)],
    )
    .await
}

#[tokio::test]
async fn every_polling_answer_in_order() {
    for db in databases().await {
        let server = serve(&db.url).await;
        add_user(&server, "alice", "correct horse battery", false).await;
        add_tv_client(&server).await;

        let started = start(&server, "openid offline_access").await;
        let user_code = started["user_code"].as_str().unwrap().to_owned();
        // RFC 8628 §6.1: XXXX-XXXX from the consonant alphabet.
        assert_eq!(user_code.len(), 9, "{user_code}");
        assert_eq!(&user_code[4..5], "-");
        assert!(user_code
            .replace('-', "")
            .bytes()
            .all(|b| b"BCDFGHJKLMNPQRSTVWXZ".contains(&b)));
        assert_eq!(started["verification_uri"], format!("{}/device", server.base));
        assert_eq!(
            started["verification_uri_complete"],
            format!("{}/device?user_code={user_code}", server.base)
        );
        assert_eq!(started["expires_in"], 600);
        assert_eq!(started["interval"], 5);
        let device_code = started["device_code"].as_str().unwrap().to_owned();
        assert!(device_code.len() >= 43);

        // RFC 8628 §3.5: pending, then too fast: slow_down, the interval now 5 s longer.
        assert_eq!(
            error_of(&poll(&server, &device_code).await),
            (400, "authorization_pending"),
            "{}",
            db.name
        );
        assert_eq!(
            error_of(&poll(&server, &device_code).await),
            (400, "slow_down"),
            "{}",
            db.name
        );
        let hash = tessera_core::device::user_code_hash(&user_code.replace('-', ""));
        let stored = server
            .db
            .store
            .device_code_by_user_code(&hash, tessera::now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.interval, 10);
        // Nothing in the clear: the row is found by the user code's hash only.
        assert_ne!(stored.user_code_hash, user_code);

        // The verification page prefilled from verification_uri_complete.
        let b = browser();
        let html = page(&b, &server, &format!("/device?user_code={user_code}"))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(input_value(&html, "user_code").as_deref(), Some(user_code.as_str()));
        assert!(html.contains("Continue"));

        // Compared without case or dash (RFC 8628 §6.1).
        let typed = user_code.replace('-', "").to_lowercase();
        let done = decide(&server, &typed, ("alice", "correct horse battery"), "allow").await;
        // (The confirmation page named offline_access among the scopes: see `decide`.)
        assert_eq!(done, "/device/done");
        let html = page(&b, &server, "/device/done").await.text().await.unwrap();
        assert!(html.contains("You can go back to your device"));

        // Approved: the tokens, as the code flow issues them.
        let (status, tokens) = poll(&server, &device_code).await;
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(tokens["token_type"], "Bearer");
        assert!(tokens["access_token"].is_string());
        assert!(tokens["refresh_token"].is_string(), "offline_access: {tokens}");
        assert!(tokens["id_token"].is_string(), "openid: {tokens}");
        assert_eq!(tokens["scope"], "offline_access openid");
        // The access token works at userinfo, for alice.
        let info: Value = reqwest::Client::new()
            .get(format!("{}/userinfo", server.base))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(info["sub"].is_string(), "{info}");
        // The refresh token refreshes.
        let (status, refreshed, _) = post(
            &server,
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "tv"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
        assert_eq!(status, 200, "{refreshed}");

        // Redeemed exactly once.
        assert_eq!(error_of(&poll(&server, &device_code).await), (400, "invalid_grant"));
        // The code cannot be entered again either.
        let again = enter_code(&browser(), &server, &user_code).await;
        assert!(again.starts_with("/device?error=used"), "{again}");
    }
}

#[tokio::test]
async fn denied_expired_and_revoked() {
    for db in databases().await {
        let server = serve(&db.url).await;
        add_user(&server, "alice", "correct horse battery", false).await;
        add_tv_client(&server).await;

        // Denied: access_denied, and the page says so.
        let started = start(&server, "openid").await;
        let device_code = started["device_code"].as_str().unwrap();
        let to = decide(
            &server,
            started["user_code"].as_str().unwrap(),
            ("alice", "correct horse battery"),
            "deny",
        )
        .await;
        assert_eq!(to, "/device/denied");
        assert_eq!(
            error_of(&poll(&server, device_code).await),
            (400, "access_denied"),
            "{}",
            db.name
        );

        // Expired: expired_token; its user code is no longer accepted.
        let now = tessera::now();
        let code = NewDeviceCode {
            device_code_hash: tessera_core::secret::hash_secret("expired-device-code"),
            user_code_hash: tessera_core::device::user_code_hash("BBBBCCCC"),
            user_code_hint: "BBBB-····".into(),
            client_id: "tv".into(),
            scopes: ScopeSet::parse("openid").unwrap(),
            resources: vec![],
            interval: 5,
            created_at: now - 700,
            expires_at: now - 100,
        };
        assert!(server.db.store.put_device_code(&code, 10, 10).await.unwrap());
        assert_eq!(
            error_of(&poll(&server, "expired-device-code").await),
            (400, "expired_token")
        );
        let to = enter_code(&browser(), &server, "BBBB-CCCC").await;
        assert!(to.starts_with("/device?error=invalid"), "{to}");
        // The janitor removes it.
        server.db.store.purge_expired(now, 86_400).await.unwrap();
        assert_eq!(
            error_of(&poll(&server, "expired-device-code").await),
            (400, "invalid_grant")
        );

        // Revoked by an administrator while pending: the device gets access_denied.
        let started = start(&server, "openid").await;
        let user_code = started["user_code"].as_str().unwrap().replace('-', "");
        // Listed with the denied one (until it expires).
        let listed = server.db.store.device_codes(tessera::now()).await.unwrap();
        let mut states: Vec<&str> = listed.iter().map(|e| e.code.status.as_str()).collect();
        states.sort();
        assert_eq!(states, ["denied", "pending"]);
        assert!(listed.iter().all(|e| e.client_name == "Living Room TV"));
        let denied = listed.iter().find(|e| e.code.status.as_str() == "denied").unwrap();
        assert_eq!(denied.username.as_deref(), Some("alice"));
        assert!(server
            .db
            .store
            .revoke_device_code(&tessera_core::device::user_code_hash(&user_code))
            .await
            .unwrap());
        assert_eq!(
            error_of(&poll(&server, started["device_code"].as_str().unwrap()).await),
            (400, "access_denied")
        );
    }
}

#[tokio::test]
async fn refusals() {
    let db = sqlite();
    let server = serve(&db.url).await;
    add_tv_client(&server).await;
    let web_secret = add_web_client(&server, "openid profile").await;

    // RFC 8628 §3.1 / RFC 6749 §5.2: an unknown client.
    // (400 without an Authorization header, as at /token: RFC 6749 §5.2.)
    let (status, body, _) = post(
        &server,
        "/device_authorization",
        &[("client_id", "nobody"), ("scope", "openid")],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_client")));
    // A confidential client with a wrong secret.
    let res = reqwest::Client::new()
        .post(format!("{}/device_authorization", server.base))
        .basic_auth("web", Some("wrong"))
        .form(&[("scope", "openid")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // A client not registered for the device grant (the defaults never include it).
    let res = reqwest::Client::new()
        .post(format!("{}/device_authorization", server.base))
        .basic_auth("web", Some(web_secret.expose()))
        .form(&[("scope", "openid")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
    // ... nor at the token endpoint.
    let (status, body) = token(
        &server,
        web_secret.expose(),
        &[("grant_type", DEVICE_GRANT), ("device_code", "x")],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unauthorized_client")));
    // Scopes: required, and each allowed to the client.
    for (scope, error) in [
        ("", "invalid_scope"),
        ("email", "invalid_scope"),
        ("openid nope", "invalid_scope"),
    ] {
        let (status, body, _) = post(
            &server,
            "/device_authorization",
            &[("client_id", "tv"), ("scope", scope)],
        )
        .await;
        assert_eq!((status, body["error"].as_str()), (400, Some(error)), "{scope:?}");
    }
    // RFC 8707: a resource that is not a registered API.
    let (status, body, _) = post(
        &server,
        "/device_authorization",
        &[
            ("client_id", "tv"),
            ("scope", "openid"),
            ("resource", "https://unknown.example/"),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_target")));
    // Repeated parameters.
    let (status, body, _) = post(
        &server,
        "/device_authorization",
        &[("client_id", "tv"), ("scope", "openid"), ("scope", "openid")],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")));

    // Polling: device_code missing, unknown, or another client's.
    let (status, body, _) = post(&server, "/token", &[("grant_type", DEVICE_GRANT), ("client_id", "tv")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")));
    assert_eq!(error_of(&poll(&server, "no-such-code").await), (400, "invalid_grant"));

    // Discovery (RFC 8628 §4).
    let meta: Value = reqwest::get(format!("{}/.well-known/oauth-authorization-server", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        meta["device_authorization_endpoint"],
        format!("{}/device_authorization", server.base)
    );
    assert!(meta["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&Value::from(DEVICE_GRANT)));
}

/// A confidential client authenticates as at /token; a code is its client's only.
#[tokio::test]
async fn confidential_client_and_another_clients_code() {
    let db = sqlite();
    let server = serve(&db.url).await;
    add_tv_client(&server).await;
    let secret = tessera_core::secret::ClientSecret::generate();
    let settings = tessera_core::store::ClientSettings {
        grant_types: vec![DEVICE_GRANT.into()],
        ..Default::default()
    };
    server
        .db
        .store
        .create_client(
            NewClient {
                client_id: "box".into(),
                name: "Set-top box".into(),
                secret_hash: Some(secret.hash()),
                redirect_uris: vec![],
                scopes: ScopeSet::parse("openid").unwrap(),
                is_public: false,
                settings,
            },
            1,
        )
        .await
        .unwrap();
    let res = reqwest::Client::new()
        .post(format!("{}/device_authorization", server.base))
        .basic_auth("box", Some(secret.expose()))
        .form(&[("scope", "openid")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let device_code = body["device_code"].as_str().unwrap();
    // The public client `tv` may not poll with box's device code.
    assert_eq!(error_of(&poll(&server, device_code).await), (400, "invalid_grant"));
    // box may, with its secret.
    let res = reqwest::Client::new()
        .post(format!("{}/token", server.base))
        .basic_auth("box", Some(secret.expose()))
        .form(&[("grant_type", DEVICE_GRANT), ("device_code", device_code)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "authorization_pending");
}

/// Of concurrent polls of an approved code, exactly one gets tokens (one conditional
/// UPDATE, on either engine).
#[tokio::test]
async fn redeemed_exactly_once_under_concurrency() {
    for db in databases().await {
        let server = serve(&db.url).await;
        add_user(&server, "alice", "correct horse battery", false).await;
        add_tv_client(&server).await;
        let started = start(&server, "openid").await;
        let device_code = started["device_code"].as_str().unwrap().to_owned();
        let to = decide(
            &server,
            started["user_code"].as_str().unwrap(),
            ("alice", "correct horse battery"),
            "allow",
        )
        .await;
        assert_eq!(to, "/device/done");
        let polls = (0..8).map(|_| {
            let server_base = server.base.clone();
            let device_code = device_code.clone();
            tokio::spawn(async move {
                let res = reqwest::Client::new()
                    .post(format!("{server_base}/token"))
                    .form(&[
                        ("grant_type", DEVICE_GRANT),
                        ("client_id", "tv"),
                        ("device_code", &device_code),
                    ])
                    .send()
                    .await
                    .unwrap();
                res.status().as_u16()
            })
        });
        let mut statuses = Vec::new();
        for p in polls {
            statuses.push(p.await.unwrap());
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "{}: {statuses:?}",
            db.name
        );
        assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 7, "{statuses:?}");
    }
}

/// RFC 8628 §5.1: wrong user codes are throttled like wrong passwords: per browser
/// session (the 5th), then per address (the 20th), apart from sign-in's counters.
#[tokio::test]
async fn user_code_guessing_is_throttled() {
    for db in databases().await {
        let server = serve(&db.url).await;
        add_user(&server, "alice", "correct horse battery", false).await;
        add_tv_client(&server).await;
        let started = start(&server, "openid").await;
        let right = started["user_code"].as_str().unwrap().to_owned();
        let wrong = if right == "BBBB-BBBB" { "CCCC-CCCC" } else { "BBBB-BBBB" };

        // Blocks run from 1 s: to test that a block refuses even the right code without
        // racing the clock, a key is pushed further with more failures through the store.
        let block_longer = |key: String, policy: &'static tessera_core::throttle::Backoff| {
            let store = server.db.store.clone();
            async move {
                for _ in 0..5 {
                    store.record_login_failure(&key, policy, tessera::now()).await.unwrap();
                }
            }
        };

        // One session: four wrong codes are "invalid", the fifth blocks it.
        let guesser = browser();
        let html = page(&guesser, &server, "/device").await.text().await.unwrap();
        let csrf = input_value(&html, "csrf").unwrap();
        for i in 1..=4 {
            let to = enter_code(&guesser, &server, wrong).await;
            assert!(
                to.starts_with("/device?error=invalid"),
                "{}: attempt {i}: {to}",
                db.name
            );
        }
        let to = enter_code(&guesser, &server, wrong).await;
        assert!(to.starts_with("/device?error=throttled&retry="), "{to}");
        // Blocked, even the right code is refused for this session...
        let session_key = format!("device:session:{}", tessera_core::secret::hash_secret(&csrf));
        block_longer(session_key, &tessera_core::policy::DEVICE_CODE_BACKOFF_PER_SESSION).await;
        let to = enter_code(&guesser, &server, &right).await;
        assert!(to.starts_with("/device?error=throttled"), "{to}");
        // ... but not for another session at the same address (5 of 20 so far).
        let to = enter_code(&browser(), &server, &right).await;
        assert_eq!(to, "/login?next=/device/confirm");

        // Fresh sessions from the same address: the 20th failure blocks the address.
        for i in 6..20 {
            let to = enter_code(&browser(), &server, wrong).await;
            assert!(to.starts_with("/device?error=invalid"), "attempt {i}: {to}");
        }
        let to = enter_code(&browser(), &server, wrong).await;
        assert!(to.starts_with("/device?error=throttled"), "{to}");
        block_longer(
            "device:ip:127.0.0.1".to_owned(),
            &tessera_core::policy::DEVICE_CODE_BACKOFF_PER_ADDRESS,
        )
        .await;
        let to = enter_code(&browser(), &server, &right).await;
        assert!(to.starts_with("/device?error=throttled"), "{to}");
        // Sign-in's own counters are untouched: alice signs in from the same address.
        assert_eq!(
            sign_in(&browser(), &server, "alice", "correct horse battery").await,
            "/"
        );
        // Each wrong code looked up is in the audit log (oldest first: 4 invalid, the
        // session's block, 14 invalid, the address's block); those the back-off refused
        // before looking are not, and the code tried never is.
        let events = server
            .db
            .store
            .events(&tessera_core::audit::Filter {
                limit: 100,
                kind: Some(tessera_core::audit::Kind::DeviceCodeFailed),
                ..Default::default()
            })
            .await
            .unwrap();
        let reasons: Vec<String> = events
            .iter()
            .rev()
            .map(|e| serde_json::from_str::<serde_json::Value>(&e.detail).unwrap()["reason"].to_string())
            .collect();
        let mut want = vec!["\"invalid\""; 4];
        want.push("\"throttled\"");
        want.extend(vec!["\"invalid\""; 14]);
        want.push("\"throttled\"");
        assert_eq!(reasons, want, "{}", db.name);
        for e in &events {
            assert_eq!(e.address.as_deref(), Some("127.0.0.1"));
            assert!(!e.detail.contains(&wrong[..4]) && e.subject.is_none(), "{e:?}");
        }
    }
}

/// CSRF on every form: a post without this session's token changes nothing.
#[tokio::test]
async fn forms_need_their_csrf_token() {
    let db = sqlite();
    let server = serve(&db.url).await;
    add_user(&server, "alice", "correct horse battery", false).await;
    add_tv_client(&server).await;
    let started = start(&server, "openid").await;
    let b = browser();
    let res = b
        .post(format!("{}/ui/device/verify", server.base))
        .header("accept", "text/html")
        .form(&[
            ("csrf", "forged"),
            ("user_code", started["user_code"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/device?error=expired"));
    // Entered properly and signed in, a forged decision is refused too.
    enter_code(&b, &server, started["user_code"].as_str().unwrap()).await;
    post_form(
        &b,
        &server,
        "/login?next=/device/confirm",
        "/ui/login",
        &[
            ("username", "alice"),
            ("password", "correct horse battery"),
            ("next", "/device/confirm"),
        ],
    )
    .await;
    let res = b
        .post(format!("{}/ui/device/decide", server.base))
        .header("accept", "text/html")
        .form(&[("csrf", "forged"), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/device/confirm?error=expired");
    assert_eq!(
        error_of(&poll(&server, started["device_code"].as_str().unwrap()).await),
        (400, "authorization_pending")
    );
}

/// The console: a client given the device grant through the client form, its code listed
/// on /admin/devices, and revoked there (the device's next poll: access_denied). Allowing
/// records a consent: the user's "My apps" revocation ends the device's tokens.
#[tokio::test]
async fn console_lists_and_revokes() {
    for db in databases().await {
        let server = serve(&db.url).await;
        add_user(&server, "root", "root-password", true).await;
        add_user(&server, "alice", "correct horse battery", false).await;
        let admin = browser();
        assert_eq!(sign_in(&admin, &server, "root", "root-password").await, "/");
        let to = post_form(
            &admin,
            &server,
            "/admin/clients/new",
            "/ui/admin/clients/create",
            &[
                ("name", "Console TV"),
                ("client_type", "public"),
                ("redirect_uris", ""),
                ("scopes", "openid offline_access"),
                ("grant_device_code", "on"),
                ("grant_refresh_token", "on"),
                ("require_pkce", "on"),
                ("access_token_ttl", "900"),
                ("refresh_token_ttl", "86400"),
                ("access_token_alg", "ES256"),
                ("id_token_alg", "RS256"),
            ],
        )
        .await;
        assert!(to.starts_with("/admin/clients/"), "{}: {to}", db.name);
        let clients = server.db.store.list_clients().await.unwrap();
        let tv = clients.iter().find(|c| c.name == "Console TV").unwrap();
        assert!(tv.allows_grant(DEVICE_GRANT));
        assert!(!tv.allows_grant("authorization_code"));
        let client_id = tv.client_id.clone();
        let html = page(&admin, &server, &format!("/admin/clients/{client_id}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains("name=\"grant_device_code\""), "the form's checkbox");

        let (status, started, _) = post(
            &server,
            "/device_authorization",
            &[("client_id", client_id.as_str()), ("scope", "openid")],
        )
        .await;
        assert_eq!(status, 200, "{started}");
        let user_code = started["user_code"].as_str().unwrap();
        let html = page(&admin, &server, "/admin/devices").await.text().await.unwrap();
        assert!(html.contains("Console TV"), "{html}");
        assert!(html.contains(&format!("{}-····", &user_code[..4])), "{html}");
        assert!(!html.contains(user_code), "the whole user code is never shown");
        assert!(html.contains("pending"));
        let id = tessera_core::device::user_code_hash(&user_code.replace('-', ""));
        let to = post_form(
            &admin,
            &server,
            "/admin/devices",
            "/ui/admin/devices/revoke",
            &[("id", &id)],
        )
        .await;
        assert_eq!(to, "/admin/devices");
        let (status, body, _) = post(
            &server,
            "/token",
            &[
                ("grant_type", DEVICE_GRANT),
                ("client_id", client_id.as_str()),
                ("device_code", started["device_code"].as_str().unwrap()),
            ],
        )
        .await;
        assert_eq!((status, body["error"].as_str()), (400, Some("access_denied")));
        // Not an administrator: no device list.
        let joe = browser();
        sign_in(&joe, &server, "alice", "correct horse battery").await;
        assert_eq!(page(&joe, &server, "/admin/devices").await.status(), 403);

        // Allowed, then revoked by the user under My apps: the refresh token dies.
        add_tv_client(&server).await;
        let started = start(&server, "openid offline_access").await;
        let to = decide(
            &server,
            started["user_code"].as_str().unwrap(),
            ("alice", "correct horse battery"),
            "allow",
        )
        .await;
        assert_eq!(to, "/device/done");
        let (status, tokens) = poll(&server, started["device_code"].as_str().unwrap()).await;
        assert_eq!(status, 200);
        let alice = server
            .db
            .store
            .credentials_by_username("alice")
            .await
            .unwrap()
            .unwrap()
            .0;
        assert!(server
            .db
            .store
            .revoke_consent(&alice.id, "tv", tessera::now())
            .await
            .unwrap());
        let (status, body, _) = post(
            &server,
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "tv"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    }
}

/// `tessera device list` and `tessera device revoke` (the binary: rebuild it first).
#[tokio::test]
async fn cli_lists_and_revokes() {
    use crate::cli::{one_line_error, stdout_json, tessera};
    let db = sqlite();
    let server = serve(&db.url).await;
    add_tv_client(&server).await;
    let started = start(&server, "openid").await;
    let user_code = started["user_code"].as_str().unwrap().to_owned();
    let listed = stdout_json(&tessera(&["--database-url", &db.url, "device", "list", "--json"], None));
    assert_eq!(listed[0]["client_id"], "tv");
    assert_eq!(listed[0]["state"], "pending");
    assert_eq!(listed[0]["user_code"], format!("{}-····", &user_code[..4]));
    // Typed as a user would: lower case, no dash.
    let typed = user_code.replace('-', "").to_lowercase();
    let out = stdout_json(&tessera(&["--database-url", &db.url, "device", "revoke", &typed], None));
    assert_eq!(out["revoked"], true);
    assert_eq!(out["user_code"], user_code.as_str());
    assert_eq!(
        error_of(&poll(&server, started["device_code"].as_str().unwrap()).await),
        (400, "access_denied")
    );
    // Again: nothing left to revoke; and a malformed code is named as such.
    let e = one_line_error(&tessera(&["--database-url", &db.url, "device", "revoke", &typed], None));
    assert!(e.contains("no pending or approved device code"), "{e}");
    let e = one_line_error(&tessera(
        &["--database-url", &db.url, "device", "revoke", "AEIOU"],
        None,
    ));
    assert!(e.contains("is not a user code"), "{e}");
}

/// The store itself, polled by 16 tasks released at once (two of them through a second
/// pool on the same database, as a second instance): exactly one redemption.
#[tokio::test]
async fn one_redemption_in_the_store() {
    for db in databases().await {
        let server = serve(&db.url).await;
        let alice = add_user(&server, "alice", "correct horse battery", false).await;
        add_tv_client(&server).await;
        let other = open(&db).await;
        let now = tessera::now();
        let code = NewDeviceCode {
            device_code_hash: tessera_core::secret::hash_secret("raced-device-code"),
            user_code_hash: tessera_core::device::user_code_hash("RRRRSSSS"),
            user_code_hint: "RRRR-····".into(),
            client_id: "tv".into(),
            scopes: ScopeSet::parse("openid").unwrap(),
            resources: vec![],
            interval: 5,
            created_at: now,
            expires_at: now + 600,
        };
        assert!(server.db.store.put_device_code(&code, 10, 10).await.unwrap());
        assert!(server
            .db
            .store
            .decide_device_code(&code.user_code_hash, &alice, Some(now), now)
            .await
            .unwrap());
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(16));
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let store = if i % 8 == 0 {
                    other.store.clone()
                } else {
                    server.db.store.clone()
                };
                let barrier = barrier.clone();
                let hash = code.device_code_hash.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.poll_device_code(&hash, "tv", now, 5, 60).await.unwrap()
                })
            })
            .collect();
        let mut redeemed = 0;
        for t in tasks {
            match t.await.unwrap() {
                tessera_core::store::DevicePoll::Redeemed { .. } => redeemed += 1,
                tessera_core::store::DevicePoll::AlreadyRedeemed => {}
                other => panic!("{}: {other:?}", db.name),
            }
        }
        assert_eq!(redeemed, 1, "{}", db.name);
    }
}

/// Codes in flight are capped per client and in all (checked in the INSERT itself); an
/// expired code no longer counts, and a taken user code is a conflict (a new one is drawn).
#[tokio::test]
async fn codes_in_flight_are_capped() {
    for db in databases().await {
        let server = serve(&db.url).await;
        add_tv_client(&server).await;
        let store = &server.db.store;
        let now = tessera::now();
        let code = |n: &str, user: &str, expires_at: i64| NewDeviceCode {
            device_code_hash: tessera_core::secret::hash_secret(n),
            user_code_hash: tessera_core::device::user_code_hash(user),
            user_code_hint: "····".into(),
            client_id: "tv".into(),
            scopes: ScopeSet::parse("openid").unwrap(),
            resources: vec![],
            interval: 5,
            created_at: now,
            expires_at,
        };
        assert!(store
            .put_device_code(&code("a", "BBBBBBBB", now + 600), 2, 3)
            .await
            .unwrap());
        assert!(store
            .put_device_code(&code("b", "BBBBBBBC", now + 600), 2, 3)
            .await
            .unwrap());
        // Per client: 2.
        assert!(
            !store
                .put_device_code(&code("c", "BBBBBBBD", now + 600), 2, 3)
                .await
                .unwrap(),
            "{}",
            db.name
        );
        // In all: 2 of 2.
        assert!(!store
            .put_device_code(&code("c", "BBBBBBBD", now + 600), 10, 2)
            .await
            .unwrap());
        assert!(store
            .put_device_code(&code("c", "BBBBBBBD", now + 600), 10, 3)
            .await
            .unwrap());
        // An expired one does not count.
        assert!(store
            .put_device_code(&code("d", "BBBBBBBF", now - 1), 10, 10)
            .await
            .unwrap());
        assert!(store
            .put_device_code(&code("e", "BBBBBBBG", now + 600), 4, 4)
            .await
            .unwrap());
        // The same user code twice: a conflict, nothing stored.
        let taken = store.put_device_code(&code("f", "BBBBBBBB", now + 600), 100, 100).await;
        assert!(
            matches!(taken, Err(tessera_core::store::StoreError::Conflict(_))),
            "{taken:?}"
        );
    }
}

/// A public client's requests are anonymous: past the per-address allowance (60 a minute,
/// shared with new authorization requests) the answer is 503 temporarily_unavailable.
#[tokio::test]
async fn anonymous_requests_per_address_are_limited() {
    let db = sqlite();
    let server = serve(&db.url).await;
    add_tv_client(&server).await;
    let mut answers = Vec::new();
    for _ in 0..70 {
        let (status, body, _) = post(
            &server,
            "/device_authorization",
            &[("client_id", "tv"), ("scope", "openid")],
        )
        .await;
        answers.push((status, body["error"].as_str().map(str::to_owned)));
    }
    // The first 60 pass; then (the allowance refills one a second) mostly refusals.
    assert!(answers[..60].iter().all(|(s, _)| *s == 200), "{answers:?}");
    let refused = answers[60..].iter().filter(|(s, _)| *s == 503).count();
    assert!(refused >= 5, "{answers:?}");
    assert!(answers
        .iter()
        .all(|a| a.0 == 200 || *a == (503, Some("temporarily_unavailable".to_owned()))));
}

/// RFC 8707: the confirmation page names the APIs the device asked tokens for.
#[tokio::test]
async fn the_confirmation_page_names_the_apis_asked_for() {
    const BILLING: &str = "https://billing.example/";
    let tdb = sqlite();
    let server = serve(&tdb.url).await;
    add_user(&server, "alice", "correct horse battery", false).await;
    let store = &server.db.store;
    let api = tessera_core::store::ApiSettings {
        name: "Billing".into(),
        scopes: ScopeSet::parse("openid").unwrap(),
        access_token_alg: tessera_core::model::SigningAlg::ES256,
        access_token_ttl: 600,
    };
    store.create_api(BILLING, &api, 1).await.unwrap();
    let settings = tessera_core::store::ClientSettings {
        grant_types: vec![DEVICE_GRANT.into()],
        resources: vec![BILLING.into()],
        ..Default::default()
    };
    let client = NewClient {
        client_id: "tv".into(),
        name: "Living Room TV".into(),
        secret_hash: None,
        redirect_uris: vec![],
        scopes: ScopeSet::parse("openid").unwrap(),
        is_public: true,
        settings,
    };
    store.create_client(client, 1).await.unwrap();
    let (status, started, _) = post(
        &server,
        "/device_authorization",
        &[("client_id", "tv"), ("scope", "openid"), ("resource", BILLING)],
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let browser = browser();
    let next = enter_code(&browser, &server, started["user_code"].as_str().unwrap()).await;
    let next = post_form(
        &browser,
        &server,
        &next,
        "/ui/login",
        &[
            ("username", "alice"),
            ("password", "correct horse battery"),
            ("next", "/device/confirm"),
        ],
    )
    .await;
    assert_eq!(next, "/device/confirm");
    let html = page(&browser, &server, "/device/confirm").await.text().await.unwrap();
    assert!(html.contains("data-testid=\"apis\""), "{html}");
    assert!(html.contains("Billing") && html.contains(BILLING), "{html}");
}
