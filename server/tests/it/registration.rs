//! Dynamic client registration (RFC 7591) and management (RFC 7592): each mode, every
//! refusal with its status and code, read/update/delete, a registered client's code flow,
//! initial access tokens' uses under concurrency, and the janitor — on SQLite and PostgreSQL.

use serde_json::{json, Value};
use tessera_core::dynamic_registration::InitialTokenRequest;
use tessera_core::store::RegistrationSettings;

use crate::common::*;

async fn set_mode(server: &TestServer, mode: &str) {
    let store = &server.db.store;
    let mut s = store.registration_settings().await.unwrap();
    s.mode = mode.into();
    s.open_scopes = tessera_core::types::ScopeSet::parse("openid profile offline_access").unwrap();
    store.set_registration_settings(&s, 1).await.unwrap();
}

/// An initial access token with `scopes`, `uses` and `expires_in`; its value.
async fn initial_token(server: &TestServer, scopes: &str, confidential: bool, uses: i64, expires_in: i64) -> String {
    let known: Vec<String> = ["openid", "profile", "email", "offline_access"]
        .map(String::from)
        .to_vec();
    let (t, value) = InitialTokenRequest {
        description: "test",
        scopes,
        allow_confidential: confidential,
        uses,
        expires_in,
    }
    .validate(&known, tessera::now())
    .unwrap();
    server
        .db
        .store
        .create_initial_token(&t, &tessera_core::secret::hash_secret(&value))
        .await
        .unwrap();
    value
}

/// What the MCP TypeScript SDK's client sends.
fn public_metadata() -> Value {
    json!({
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_name": "Agent",
        "client_uri": "https://agent.example",
        "software_version": "1.0",
    })
}

async fn post(server: &TestServer, token: Option<&str>, body: &Value) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/register", server.base))
        .json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body, headers)
}

async fn discovery(server: &TestServer) -> Value {
    reqwest::get(format!("{}/.well-known/openid-configuration", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Registers a public client, signs in as alice and redeems the code: 200 with tokens.
async fn code_flow(server: &TestServer, client_id: &str) -> Value {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let path = format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid&state=s1\
         &code_challenge={PKCE_CHALLENGE}&code_challenge_method=S256",
        enc(CALLBACK)
    );
    let walk = authorize_as(&browser(), server, &path, ("alice", "correct horse")).await;
    let res = reqwest::Client::new()
        .post(format!("{}/token", server.base))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &walk.code),
            ("redirect_uri", CALLBACK),
            ("client_id", client_id),
            ("code_verifier", PKCE_VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn off_by_default_and_discovery_follows_the_mode() {
    for db in databases().await {
        let server = serve(&db.url).await;
        assert!(
            discovery(&server).await.get("registration_endpoint").is_none(),
            "{}",
            db.name
        );
        let (status, body, _) = post(&server, None, &public_metadata()).await;
        assert_eq!(status, 404, "{}", db.name);
        assert_eq!(body["error"], "invalid_request");
        // Even a valid token registers nothing while off.
        let t = initial_token(&server, "openid", false, 1, 3600).await;
        assert_eq!(post(&server, Some(&t), &public_metadata()).await.0, 404);
        assert_eq!(
            server.db.store.registration_settings().await.unwrap(),
            RegistrationSettings::default()
        );

        // Another instance on the same database (this one caches the mode for a few seconds).
        set_mode(&server, "token").await;
        let second = serve(&db.url).await;
        let d = discovery(&second).await;
        assert_eq!(
            d["registration_endpoint"],
            format!("{}/register", second.base),
            "{}",
            db.name
        );
        // `serve --registration-mode` writes the setting at start.
        let third = serve_with(&db.url, |c| {
            c.registration_mode = Some(tessera_core::dynamic_registration::RegistrationMode::Open)
        })
        .await;
        assert_eq!(third.db.store.registration_settings().await.unwrap().mode, "open");
        assert_eq!(post(&third, None, &public_metadata()).await.0, 201, "{}", db.name);
    }
}

#[tokio::test]
async fn open_mode_registers_a_public_client_that_signs_in() {
    for db in databases().await {
        let server = serve(&db.url).await;
        add_user(&server, "alice", "correct horse", false).await;
        set_mode(&server, "open").await;
        let (status, body, headers) = post(&server, None, &public_metadata()).await;
        assert_eq!(status, 201, "{}: {body}", db.name);
        assert_eq!(headers["cache-control"], "no-store");
        let client_id = body["client_id"].as_str().unwrap().to_owned();
        assert_eq!(body["client_name"], "Agent");
        assert_eq!(body["redirect_uris"], json!([CALLBACK]));
        assert_eq!(body["token_endpoint_auth_method"], "none");
        assert_eq!(body["grant_types"], json!(["authorization_code", "refresh_token"]));
        assert_eq!(body["response_types"], json!(["code"]));
        // No scope asked for: open mode's.
        assert_eq!(body["scope"], "offline_access openid profile");
        assert!(body["client_id_issued_at"].as_i64().unwrap() > 0);
        assert!(body.get("client_secret").is_none());
        // Unknown metadata is ignored, not echoed (RFC 7591 §2, §3.2.1).
        assert!(body.get("client_uri").is_none());
        assert_eq!(
            body["registration_client_uri"],
            format!("{}/register/{client_id}", server.base)
        );
        assert_eq!(body["registration_access_token"].as_str().unwrap().len(), 43);

        // Open mode: public clients only, no jwks_uri, scopes within the open policy.
        let mut confidential = public_metadata();
        confidential["token_endpoint_auth_method"] = json!("client_secret_basic");
        let (status, body, _) = post(&server, None, &confidential).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_client_metadata")),
            "{body}"
        );
        let mut scope = public_metadata();
        scope["scope"] = json!("openid email");
        let (status, body, _) = post(&server, None, &scope).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_client_metadata")));
        assert!(
            body["error_description"].as_str().unwrap().contains("\"email\""),
            "{body}"
        );

        // The registered client completes a real code flow; that is its first use.
        assert_eq!(
            server
                .db
                .store
                .dynamic_client(&client_id)
                .await
                .unwrap()
                .unwrap()
                .used_at,
            None
        );
        let tokens = code_flow(&server, &client_id).await;
        assert!(
            tokens["access_token"].is_string() && tokens["id_token"].is_string(),
            "{tokens}"
        );
        let d = server.db.store.dynamic_client(&client_id).await.unwrap().unwrap();
        assert!(d.used_at.is_some(), "{}", db.name);
        assert_eq!(d.initial_token_id, None);
        // The audit log names the registration.
        let events = server
            .db
            .store
            .events(&tessera_core::audit::Filter {
                kind: None,
                user: None,
                client_id: Some(client_id.clone()),
                since: None,
                before_id: None,
                limit: 50,
            })
            .await
            .unwrap();
        let created = events
            .iter()
            .find(|e| e.kind == "client.created")
            .expect("client.created");
        assert!(created.detail.contains("\"dynamic\":true"), "{}", created.detail);
    }
}

#[tokio::test]
async fn every_refusal_has_its_status_and_code() {
    for db in databases().await {
        let server = serve(&db.url).await;
        set_mode(&server, "token").await;
        let token = initial_token(&server, "openid profile", false, 100, 3600).await;

        // RFC 6750 §3.1: no token, an unknown one.
        for t in [None, Some("not-a-token")] {
            let (status, body, headers) = post(&server, t, &public_metadata()).await;
            assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")), "{t:?}");
            assert_eq!(body["error_description"], "the initial access token is invalid");
            let challenge = headers["www-authenticate"].to_str().unwrap();
            assert!(challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""));
        }

        // RFC 7591 §3.2.2, field by field.
        let uri = |u: &str| {
            let mut m = public_metadata();
            m["redirect_uris"] = json!([u]);
            m
        };
        let with = |k: &str, v: Value| {
            let mut m = public_metadata();
            m[k] = v;
            m
        };
        let cases: Vec<(&str, Value, &str, &str)> = vec![
            (
                "javascript:",
                uri("javascript:alert(1)"),
                "invalid_redirect_uri",
                "redirect_uris",
            ),
            (
                "data:",
                uri("data:text/html,hi"),
                "invalid_redirect_uri",
                "redirect_uris",
            ),
            (
                "fragment",
                uri("https://app.example/cb#x"),
                "invalid_redirect_uri",
                "fragment",
            ),
            (
                "http, not loopback",
                uri("http://app.example/cb"),
                "invalid_redirect_uri",
                "redirect_uris",
            ),
            (
                "implicit",
                with("grant_types", json!(["implicit"])),
                "invalid_client_metadata",
                "grant_types",
            ),
            (
                "password",
                with("grant_types", json!(["authorization_code", "password"])),
                "invalid_client_metadata",
                "\"password\" is not supported",
            ),
            (
                "token response",
                with("response_types", json!(["code", "token"])),
                "invalid_client_metadata",
                "response_types",
            ),
            (
                "scope outside",
                with("scope", json!("openid email")),
                "invalid_client_metadata",
                "scope: \"email\"",
            ),
            (
                "confidential",
                with("token_endpoint_auth_method", json!("client_secret_post")),
                "invalid_client_metadata",
                "only public clients",
            ),
            (
                "unknown method",
                with("token_endpoint_auth_method", json!("tls_client_auth")),
                "invalid_client_metadata",
                "tls_client_auth",
            ),
            ("not an object", json!(["x"]), "invalid_client_metadata", "JSON object"),
        ];
        for (what, body, code, part) in cases {
            let (status, got, _) = post(&server, Some(&token), &body).await;
            assert_eq!(
                (status, got["error"].as_str()),
                (400, Some(code)),
                "{}: {what}: {got}",
                db.name
            );
            let d = got["error_description"].as_str().unwrap();
            assert!(d.contains(part), "{what}: {d}");
        }
        // Not JSON at all.
        let res = reqwest::Client::new()
            .post(format!("{}/register", server.base))
            .bearer_auth(&token)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("redirect_uris=x")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        // Oversized.
        let mut big = public_metadata();
        big["client_uri"] = json!("x".repeat(40_000));
        let (status, got, _) = post(&server, Some(&token), &big).await;
        assert_eq!((status, got["error"].as_str()), (400, Some("invalid_client_metadata")));
        // None of the refusals took a use.
        let t = server
            .db
            .store
            .initial_token_by_hash(&tessera_core::secret::hash_secret(&token))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(t.uses_left, 100);

        // Used up, revoked (expired: below).
        let once = initial_token(&server, "openid", false, 1, 3600).await;
        let revoked = initial_token(&server, "openid", false, 5, 3600).await;
        assert_eq!(post(&server, Some(&once), &public_metadata()).await.0, 201);
        let store = &server.db.store;
        let revoked_id = store
            .initial_token_by_hash(&tessera_core::secret::hash_secret(&revoked))
            .await
            .unwrap()
            .unwrap()
            .id;
        assert!(store.revoke_initial_token(&revoked_id, tessera::now()).await.unwrap());
        assert!(!store.revoke_initial_token(&revoked_id, tessera::now()).await.unwrap());
        for (what, t) in [("used up", &once), ("revoked", &revoked)] {
            let (status, got, _) = post(&server, Some(t), &public_metadata()).await;
            assert_eq!(
                (status, got["error"].as_str()),
                (401, Some("invalid_token")),
                "{}: {what}",
                db.name
            );
        }
    }
}

#[tokio::test]
async fn an_expired_initial_token_is_refused() {
    let db = sqlite();
    let server = serve(&db.url).await;
    set_mode(&server, "token").await;
    let known = vec!["openid".to_owned()];
    // Created two minutes ago for one minute.
    let (t, value) = InitialTokenRequest {
        description: "",
        scopes: "openid",
        allow_confidential: false,
        uses: 5,
        expires_in: 60,
    }
    .validate(&known, tessera::now() - 120)
    .unwrap();
    server
        .db
        .store
        .create_initial_token(&t, &tessera_core::secret::hash_secret(&value))
        .await
        .unwrap();
    let (status, got, _) = post(&server, Some(&value), &public_metadata()).await;
    assert_eq!((status, got["error"].as_str()), (401, Some("invalid_token")));
}

#[tokio::test]
async fn concurrent_registrations_cannot_exceed_the_uses() {
    for db in databases().await {
        let server = serve(&db.url).await;
        set_mode(&server, "token").await;
        let token = initial_token(&server, "openid", false, 3, 3600).await;
        let mut tries = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let (url, token) = (format!("{}/register", server.base), token.clone());
            tries.spawn(async move {
                let res = reqwest::Client::new()
                    .post(url)
                    .bearer_auth(token)
                    .json(&public_metadata())
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap())
            });
        }
        let results = tries.join_all().await;
        let created = results.iter().filter(|(s, _)| *s == 201).count();
        let refused = results
            .iter()
            .filter(|(s, b)| *s == 401 && b["error"] == "invalid_token")
            .count();
        assert_eq!((created, refused), (3, 7), "{}", db.name);
        let dynamic = server.db.store.dynamic_clients().await.unwrap();
        assert_eq!(dynamic.len(), 3);
    }
}

#[tokio::test]
async fn a_confidential_client_under_a_token_gets_a_secret() {
    for db in databases().await {
        let server = serve(&db.url).await;
        set_mode(&server, "token").await;
        let token = initial_token(&server, "openid profile", true, 1, 3600).await;
        let (status, body, _) = post(
            &server,
            Some(&token),
            &json!({"grant_types": ["client_credentials"], "response_types": [],
                    "token_endpoint_auth_method": "client_secret_basic", "scope": "profile"}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["client_secret_expires_at"], 0);
        let (id, secret) = (
            body["client_id"].as_str().unwrap(),
            body["client_secret"].as_str().unwrap(),
        );
        // Stored hashed only.
        let c = server.db.store.client_by_id(id).await.unwrap().unwrap();
        assert_ne!(c.secret_hash.as_deref(), Some(secret));
        let res = reqwest::Client::new()
            .post(format!("{}/token", server.base))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials"), ("scope", "profile")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", db.name);
        let d = server.db.store.dynamic_client(id).await.unwrap().unwrap();
        assert!(d.used_at.is_some() && d.initial_token_id.is_some());
    }
}

#[tokio::test]
async fn read_update_delete() {
    for db in databases().await {
        let server = serve(&db.url).await;
        add_web_client(&server, "openid").await;
        set_mode(&server, "open").await;
        let (_, reg, _) = post(&server, None, &public_metadata()).await;
        let id = reg["client_id"].as_str().unwrap().to_owned();
        let rat = reg["registration_access_token"].as_str().unwrap().to_owned();
        let uri = reg["registration_client_uri"].as_str().unwrap().to_owned();
        let http = reqwest::Client::new();

        // RFC 7592 §2.1: read.
        let res = http.get(&uri).bearer_auth(&rat).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let got: Value = res.json().await.unwrap();
        assert_eq!(
            (got["client_id"].as_str(), got["client_name"].as_str()),
            (Some(id.as_str()), Some("Agent"))
        );
        assert!(got.get("registration_access_token").is_none());

        // A wrong token, none, or a client an administrator registered: 401 invalid_token.
        for (what, target, token) in [
            ("wrong token", uri.clone(), Some("wrong")),
            ("no token", uri.clone(), None),
            (
                "admin client",
                format!("{}/register/web", server.base),
                Some(rat.as_str()),
            ),
            (
                "unknown client",
                format!("{}/register/nope", server.base),
                Some(rat.as_str()),
            ),
        ] {
            for method in [reqwest::Method::GET, reqwest::Method::PUT, reqwest::Method::DELETE] {
                let mut req = http.request(method.clone(), &target).json(&json!({"client_id": id}));
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                let res = req.send().await.unwrap();
                assert_eq!(res.status(), 401, "{}: {what} {method}", db.name);
                assert!(res.headers()["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .contains("invalid_token"));
                let b: Value = res.json().await.unwrap();
                assert_eq!(b["error"], "invalid_token");
                assert_eq!(b["error_description"], "the registration access token is invalid");
            }
        }

        // RFC 7592 §2.2: replace.
        let mut new = public_metadata();
        new["client_id"] = json!(id);
        new["client_name"] = json!("Agent 2");
        new["redirect_uris"] = json!(["http://127.0.0.1:9/other"]);
        new["scope"] = json!("openid");
        let res = http.put(&uri).bearer_auth(&rat).json(&new).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let got: Value = res.json().await.unwrap();
        assert_eq!(got["client_name"], "Agent 2");
        assert_eq!(got["redirect_uris"], json!(["http://127.0.0.1:9/other"]));
        let c = server.db.store.client_by_id(&id).await.unwrap().unwrap();
        assert_eq!(
            (c.name.as_str(), c.scopes.to_string()),
            ("Agent 2", "openid".to_owned())
        );

        // Refused updates: validated as at registration, client_id required, type kept.
        let put = |body: Value| http.put(&uri).bearer_auth(&rat).json(&body).send();
        let mut bad_uri = new.clone();
        bad_uri["redirect_uris"] = json!(["javascript:alert(1)"]);
        let mut no_id = new.clone();
        no_id.as_object_mut().unwrap().remove("client_id");
        let mut other_id = new.clone();
        other_id["client_id"] = json!("web");
        let mut wider = new.clone();
        wider["scope"] = json!("openid email");
        let mut secret = new.clone();
        secret["client_secret"] = json!("guess");
        for (what, body, code) in [
            ("bad redirect", bad_uri, "invalid_redirect_uri"),
            ("no client_id", no_id, "invalid_client_metadata"),
            ("another client_id", other_id, "invalid_client_metadata"),
            ("scope outside", wider, "invalid_client_metadata"),
            ("wrong secret", secret, "invalid_client_metadata"),
        ] {
            let res = put(body).await.unwrap();
            assert_eq!(res.status(), 400, "{what}");
            let b: Value = res.json().await.unwrap();
            assert_eq!(b["error"], code, "{what}: {b}");
        }

        // RFC 7592 §2.3: delete; then the token no longer works and the client is gone.
        let res = http.delete(&uri).bearer_auth(&rat).send().await.unwrap();
        assert_eq!(res.status(), 204);
        assert!(server.db.store.client_by_id(&id).await.unwrap().is_none());
        assert!(server.db.store.dynamic_client(&id).await.unwrap().is_none());
        let res = http.get(&uri).bearer_auth(&rat).send().await.unwrap();
        assert_eq!(res.status(), 401, "{}", db.name);
    }
}

#[tokio::test]
async fn the_janitor_removes_unused_clients_and_keeps_used_ones() {
    for db in databases().await {
        let server = serve(&db.url).await;
        add_user(&server, "alice", "correct horse", false).await;
        set_mode(&server, "open").await;
        let (_, unused, _) = post(&server, None, &public_metadata()).await;
        let (_, used, _) = post(&server, None, &public_metadata()).await;
        let (unused, used) = (
            unused["client_id"].as_str().unwrap(),
            used["client_id"].as_str().unwrap(),
        );
        code_flow(&server, used).await;
        let store = &server.db.store;
        // Registered after the cut-off: kept.
        assert_eq!(
            store.purge_unused_dynamic_clients(tessera::now() - 3600).await.unwrap(),
            0
        );
        assert_eq!(
            store.purge_unused_dynamic_clients(tessera::now() + 1).await.unwrap(),
            1,
            "{}",
            db.name
        );
        assert!(store.client_by_id(unused).await.unwrap().is_none());
        assert!(store.dynamic_client(unused).await.unwrap().is_none());
        assert!(store.client_by_id(used).await.unwrap().is_some());
        // Its grants went with it: nothing refers to the removed client.
        assert_eq!(store.dynamic_clients().await.unwrap().len(), 1);
    }
}

/// Anonymous registrations share the per-address allowance of new authorization requests
/// (60 a minute): past it, 429 `temporarily_unavailable`, nothing stored; a registration
/// with an initial access token is not counted.
#[tokio::test]
async fn anonymous_registrations_are_limited_per_address() {
    let db = sqlite();
    let server = serve(&db.url).await;
    set_mode(&server, "open").await;
    let allowance = tessera_core::policy::PENDING_PER_ADDRESS_PER_MINUTE as usize;
    for i in 0..allowance {
        let (status, got, _) = post(&server, None, &public_metadata()).await;
        assert_eq!(status, 201, "registration {i}: {got}");
    }
    let (status, got, headers) = post(&server, None, &public_metadata()).await;
    assert_eq!(
        (status, got["error"].as_str()),
        (429, Some("temporarily_unavailable")),
        "{got}"
    );
    assert_eq!(headers.get("retry-after").unwrap(), "60");
    assert_eq!(server.db.store.dynamic_clients().await.unwrap().len(), allowance);
    let token = initial_token(&server, "openid", false, 1, 3600).await;
    let (status, got, _) = post(&server, Some(&token), &public_metadata()).await;
    assert_eq!(status, 201, "{got}");
}

#[tokio::test]
async fn open_mode_is_capped() {
    for db in databases().await {
        let server = serve(&db.url).await;
        let store = &server.db.store;
        let new = |id: &str| tessera_core::store::NewClient {
            client_id: id.into(),
            name: "x".into(),
            secret_hash: None,
            redirect_uris: vec![],
            scopes: tessera_core::types::ScopeSet::parse("openid").unwrap(),
            is_public: true,
            settings: Default::default(),
        };
        let record = |id: &str, token: Option<&str>| tessera_core::store::DynamicClient {
            client_id: id.into(),
            registration_token_hash: "h".into(),
            initial_token_id: token.map(String::from),
            policy_scopes: tessera_core::types::ScopeSet::parse("openid").unwrap(),
            allow_confidential: false,
            registered_at: 1,
            used_at: None,
        };
        assert!(store
            .register_dynamic_client(new("a"), &record("a", None), Some(2))
            .await
            .unwrap());
        // One registered with a token does not count against open mode's cap.
        assert!(store
            .register_dynamic_client(new("t"), &record("t", Some("tok")), None)
            .await
            .unwrap());
        assert!(store
            .register_dynamic_client(new("b"), &record("b", None), Some(2))
            .await
            .unwrap());
        assert!(
            !store
                .register_dynamic_client(new("c"), &record("c", None), Some(2))
                .await
                .unwrap(),
            "{}",
            db.name
        );
        // Refused: nothing stored.
        assert!(store.client_by_id("c").await.unwrap().is_none());
        assert_eq!(store.dynamic_clients().await.unwrap().len(), 3);
    }
}

/// Concurrent anonymous registrations stop exactly at the cap, on PostgreSQL too (where
/// each `INSERT … SELECT COUNT(*)` would otherwise count without the others' rows).
#[tokio::test]
async fn open_mode_cap_holds_under_concurrency() {
    for db in databases().await {
        let server = serve(&db.url).await;
        let mut tries = tokio::task::JoinSet::new();
        for i in 0..32 {
            let store = server.db.store.clone();
            tries.spawn(async move {
                let id = format!("open-{i}");
                let client = tessera_core::store::NewClient {
                    client_id: id.clone(),
                    name: "x".into(),
                    secret_hash: None,
                    redirect_uris: vec![],
                    scopes: tessera_core::types::ScopeSet::parse("openid").unwrap(),
                    is_public: true,
                    settings: Default::default(),
                };
                let record = tessera_core::store::DynamicClient {
                    client_id: id,
                    registration_token_hash: format!("h{i}"),
                    initial_token_id: None,
                    policy_scopes: tessera_core::types::ScopeSet::parse("openid").unwrap(),
                    allow_confidential: false,
                    registered_at: 1,
                    used_at: None,
                };
                store.register_dynamic_client(client, &record, Some(3)).await.unwrap()
            });
        }
        let accepted = tries.join_all().await.into_iter().filter(|ok| *ok).count();
        assert_eq!(accepted, 3, "{}", db.name);
        assert_eq!(server.db.store.dynamic_clients().await.unwrap().len(), 3, "{}", db.name);
    }
}

#[tokio::test]
async fn the_command_line_sets_the_mode_and_manages_initial_tokens() {
    use crate::cli::{one_line_error, stdout_json, tessera};
    for db in databases().await {
        let url = db.url.as_str();
        let got = stdout_json(&tessera(&["registration", "mode", "--database-url", url], None));
        assert_eq!(got["mode"], "off");
        let got = stdout_json(&tessera(
            &[
                "registration",
                "mode",
                "token",
                "--open-scopes",
                "openid profile",
                "--database-url",
                url,
            ],
            None,
        ));
        assert_eq!(
            (got["mode"].as_str(), got["open_scopes"].as_str()),
            (Some("token"), Some("openid profile"))
        );
        let err = one_line_error(&tessera(
            &["registration", "mode", "sometimes", "--database-url", url],
            None,
        ));
        assert!(err.contains("sometimes"), "{err}");
        let err = one_line_error(&tessera(
            &["registration", "mode", "--open-scopes", "nope", "--database-url", url],
            None,
        ));
        assert!(err.contains("unknown scope"), "{err}");

        let created = stdout_json(&tessera(
            &[
                "registration",
                "token",
                "create",
                "--expires-in",
                "2h",
                "--uses",
                "2",
                "--scopes",
                "openid",
                "--description",
                "CI",
                "--database-url",
                url,
            ],
            None,
        ));
        let (id, value) = (created["id"].as_str().unwrap(), created["token"].as_str().unwrap());
        assert_eq!(
            created["expires_at"].as_i64().unwrap() - created["created_at"].as_i64().unwrap(),
            7200
        );
        assert_eq!(
            (created["uses"].as_i64(), created["uses_left"].as_i64()),
            (Some(2), Some(2))
        );
        let err = one_line_error(&tessera(
            &[
                "registration",
                "token",
                "create",
                "--uses",
                "0",
                "--scopes",
                "nope",
                "--database-url",
                url,
            ],
            None,
        ));
        assert!(err.contains("--uses") && err.contains("Unknown scope"), "{err}");

        // The token registers a client at a server on this database; listing never shows values.
        let server = serve(url).await;
        assert_eq!(
            post(&server, Some(value), &public_metadata()).await.0,
            201,
            "{}",
            db.name
        );
        let list = stdout_json(&tessera(
            &["registration", "token", "list", "--database-url", url],
            None,
        ));
        assert_eq!(list[0]["uses_left"], 1);
        assert!(!list.to_string().contains(value));
        stdout_json(&tessera(
            &["registration", "token", "revoke", id, "--database-url", url],
            None,
        ));
        one_line_error(&tessera(
            &["registration", "token", "revoke", id, "--database-url", url],
            None,
        ));
        let (status, body, _) = post(&server, Some(value), &public_metadata()).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")));
    }
}

/// The value of the input marked `data-testid="initial-token"`, if the page shows one.
fn shown_token(html: &str) -> Option<String> {
    let at = html.find("data-testid=\"initial-token\"")?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let v = tag.find("value=\"")? + 7;
    Some(tag[v..v + tag[v..].find('"')?].to_owned())
}

async fn html(browser: &reqwest::Client, server: &TestServer, path: &str) -> String {
    let res = page(browser, server, path).await;
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.unwrap()
}

#[tokio::test]
async fn the_console_sets_the_mode_creates_tokens_and_marks_dynamic_clients() {
    for db in databases().await {
        let server = serve(&db.url).await;
        add_user(&server, "root", "root-password", true).await;
        add_web_client(&server, "openid").await;
        let admin = browser();
        assert_eq!(sign_in(&admin, &server, "root", "root-password").await, "/");
        let path = "/admin/registration";

        // The mode: refused values come back with an error; a good one is stored.
        let to = post_form(
            &admin,
            &server,
            path,
            "/ui/admin/registration/mode",
            &[("mode", "sometimes"), ("open_scopes", "openid")],
        )
        .await;
        assert_eq!(to, path);
        assert!(html(&admin, &server, path).await.contains("Choose off, token or open."));
        post_form(
            &admin,
            &server,
            path,
            "/ui/admin/registration/mode",
            &[("mode", "token"), ("open_scopes", "openid profile")],
        )
        .await;
        let s = server.db.store.registration_settings().await.unwrap();
        assert_eq!(
            (s.mode.as_str(), s.open_scopes.to_string()),
            ("token", "openid profile".to_owned()),
            "{}",
            db.name
        );

        // A token: refused fields, then one created and shown once.
        post_form(
            &admin,
            &server,
            path,
            "/ui/admin/registration/tokens/create",
            &[
                ("description", "CI"),
                ("scopes", "nope"),
                ("uses", "0"),
                ("expires_in", "1d"),
            ],
        )
        .await;
        let page_html = html(&admin, &server, path).await;
        assert!(
            page_html.contains("Unknown scope") && page_html.contains("A whole number from 1"),
            "{}",
            db.name
        );
        post_form(
            &admin,
            &server,
            path,
            "/ui/admin/registration/tokens/create",
            &[
                ("description", "CI"),
                ("scopes", "openid"),
                ("uses", "2"),
                ("expires_in", "7d"),
            ],
        )
        .await;
        let page_html = html(&admin, &server, path).await;
        let value = shown_token(&page_html).expect("the new token is shown");
        assert!(shown_token(&html(&admin, &server, path).await).is_none(), "shown once");
        let t = server.db.store.initial_tokens().await.unwrap().remove(0);
        assert_eq!(
            (t.description.as_str(), t.uses_left, t.expires_at - t.created_at),
            ("CI", 2, 7 * 86_400)
        );

        // It registers a client, which the clients list marks and filters.
        let (status, body, _) = post(&server, Some(&value), &public_metadata()).await;
        assert_eq!(status, 201, "{body}");
        let id = body["client_id"].as_str().unwrap();
        let all = html(&admin, &server, "/admin/clients").await;
        assert!(all.contains(id) && all.contains("Web App"));
        assert_eq!(all.matches("data-testid=\"dynamic-tag\"").count(), 1);
        let dynamic = html(&admin, &server, "/admin/clients?kind=dynamic").await;
        assert!(dynamic.contains(id) && !dynamic.contains("Web App"), "{}", db.name);
        let admin_made = html(&admin, &server, "/admin/clients?kind=admin").await;
        assert!(!admin_made.contains(id) && admin_made.contains("Web App"));
        let one = html(&admin, &server, &format!("/admin/clients/{id}")).await;
        assert!(one.contains(&format!("initial access token {} (CI)", t.id)), "{one}");

        // Revoked from the console: refused at /register.
        post_form(
            &admin,
            &server,
            path,
            "/ui/admin/registration/tokens/revoke",
            &[("id", &t.id)],
        )
        .await;
        assert_eq!(post(&server, Some(&value), &public_metadata()).await.0, 401);
        assert!(html(&admin, &server, path).await.contains("revoked"));
    }
}
