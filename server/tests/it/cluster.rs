//! Several instances on one PostgreSQL, as real processes (`tessera serve`, each on its
//! own port, both with the same `--issuer`, as behind a load balancer): what one instance
//! writes, the other honours — browser sessions, codes, refresh families, revocations,
//! login counters, signing keys — within the documented bounds.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{self, Process, TestServer, CALLBACK, PKCE_VERIFIER};

const SCOPES: &str = "openid profile offline_access";

/// Two instances, A and B, on one fresh PostgreSQL database, both announcing A's address
/// as the issuer (tokens say `iss` = the public URL, whichever instance signed them).
/// `None` when PostgreSQL is not configured (skipped, said on stderr).
async fn pair(extra: &[&str]) -> Option<(Process, Process)> {
    let tdb = common::postgres_only().await?;
    let pa = common::free_port();
    let pb = std::iter::repeat_with(common::free_port).find(|&p| p != pa).unwrap();
    let issuer = format!("http://127.0.0.1:{pa}");
    let mut args = vec!["--issuer", issuer.as_str()];
    args.extend_from_slice(extra);
    // One after the other: the first creates the schema and the signing keys.
    let a = common::spawn_serve(&tdb.url, pa, &args).await;
    let b = common::spawn_serve(&tdb.url, pb, &args).await;
    Some((a, b))
}

/// `POST /token` as `web`; the status and the JSON body.
async fn token(at: &TestServer, secret: &str, form: &[(&str, &str)]) -> (u16, Value) {
    common::token(at, secret, form).await
}

async fn redeem(at: &TestServer, secret: &str, code: &str) -> (u16, Value) {
    token(
        at,
        secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", PKCE_VERIFIER),
        ],
    )
    .await
}

async fn refresh(at: &TestServer, secret: &str, rt: &str) -> (u16, Value) {
    token(at, secret, &[("grant_type", "refresh_token"), ("refresh_token", rt)]).await
}

/// `active` of `POST /introspect` at `at`, as the client `web`.
async fn active(at: &TestServer, secret: &str, token: &str) -> bool {
    let v: Value = reqwest::Client::new()
        .post(format!("{}/introspect", at.base))
        .basic_auth("web", Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["active"].as_bool().unwrap()
}

/// Polls `at`'s introspection until `token` is inactive; how long that took. Fails after
/// `bound`.
async fn inactive_within(at: &TestServer, secret: &str, token: &str, bound: Duration) -> Duration {
    let start = Instant::now();
    while active(at, secret, token).await {
        assert!(
            start.elapsed() < bound,
            "{token:.16}… still active at {} after {bound:?}",
            at.base
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    start.elapsed()
}

fn invalid_grant(answer: &(u16, Value), what: &str) {
    assert_eq!(answer.0, 400, "{what}: {}", answer.1);
    assert_eq!(answer.1["error"], "invalid_grant", "{what}");
}

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_else(|| panic!("no {field} in {v}"))
}

/// A user signed in on A and holding a consent for `web` (given on A).
async fn signed_in_with_consent(a: &Process) -> (reqwest::Client, String) {
    common::add_user(a, "alice", "alice-password", false).await;
    let secret = common::add_web_client(a, SCOPES).await.expose().to_owned();
    let browser = common::browser();
    assert_eq!(common::sign_in(&browser, a, "alice", "alice-password").await, "/");
    let walk = common::authorize_as(&browser, a, &common::authorize_path(SCOPES), ("alice", "")).await;
    assert_eq!(walk.pages, ["/consent"], "signed in: consent only");
    (browser, secret)
}

#[tokio::test]
async fn a_session_and_a_code_from_one_instance_work_on_the_other_once() {
    let Some((a, b)) = pair(&[]).await else { return };
    let (browser, secret) = signed_in_with_consent(&a).await;

    // The session cookie A set is honoured by B (cookies are per host, not per port, as
    // behind one load balancer): B sends the signed-in user straight back with a code,
    // with neither the login nor the consent page.
    let walk = common::authorize_as(&browser, &b, &common::authorize_path(SCOPES), ("alice", "")).await;
    assert!(walk.pages.is_empty(), "B asked again: {:?}", walk.pages);
    let iss = format!(
        "iss={}",
        url::form_urlencoded::byte_serialize(a.base.as_bytes()).collect::<String>()
    );
    assert!(walk.callback_url.contains(&iss), "shared issuer: {}", walk.callback_url);
    let account = common::page(&browser, &b, "/account").await;
    assert_eq!(account.status(), 200, "My account on B");
    assert!(account.text().await.unwrap().contains("alice"));

    // A code issued by A, redeemed at B; once only, at either instance.
    let code = common::authorize_as(&browser, &a, &common::authorize_path(SCOPES), ("alice", ""))
        .await
        .code;
    let first = redeem(&b, &secret, &code).await;
    assert_eq!(first.0, 200, "{}", first.1);
    let at = str_of(&first.1, "access_token").to_owned();
    assert!(active(&a, &secret, &at).await && active(&b, &secret, &at).await);
    invalid_grant(&redeem(&a, &secret, &code).await, "second redemption at A");
    invalid_grant(&redeem(&b, &secret, &code).await, "third redemption at B");
    // The replay revoked what the code issued (RFC 6749 §4.1.2), on both instances.
    inactive_within(&a, &secret, &at, Duration::from_secs(1)).await;
    inactive_within(&b, &secret, &at, Duration::from_secs(1)).await;
    invalid_grant(
        &refresh(&a, &secret, str_of(&first.1, "refresh_token")).await,
        "refresh of a replayed code's grant",
    );
}

#[tokio::test]
async fn a_refresh_token_reused_on_the_other_instance_kills_the_family_everywhere() {
    let Some((a, b)) = pair(&[]).await else { return };
    let (browser, secret) = signed_in_with_consent(&a).await;
    let code = common::authorize_as(&browser, &a, &common::authorize_path(SCOPES), ("alice", ""))
        .await
        .code;
    let (status, t0) = redeem(&a, &secret, &code).await;
    assert_eq!(status, 200, "{t0}");
    let rt0 = str_of(&t0, "refresh_token");

    // Rotated on A; the rotated-out token presented to B is reuse (RFC 9700 §4.14.2).
    let (status, t1) = refresh(&a, &secret, rt0).await;
    assert_eq!(status, 200, "{t1}");
    let (rt1, at1) = (str_of(&t1, "refresh_token"), str_of(&t1, "access_token"));
    assert!(active(&b, &secret, at1).await, "B honours A's new access token");
    let (status, reused) = refresh(&b, &secret, rt0).await;
    invalid_grant(&(status, reused), "rt0 at B after rotation on A");

    // The whole family is dead, on both: the new refresh token and the access tokens.
    invalid_grant(&refresh(&a, &secret, rt1).await, "rt1 at A");
    invalid_grant(&refresh(&b, &secret, rt1).await, "rt1 at B");
    for server in [&a, &b] {
        inactive_within(server, &secret, at1, Duration::from_secs(1)).await;
        inactive_within(server, &secret, str_of(&t0, "access_token"), Duration::from_secs(1)).await;
    }
}

#[tokio::test]
async fn a_revocation_on_one_instance_is_enforced_by_the_other_within_the_bound() {
    let Some((a, b)) = pair(&[]).await else { return };
    let (browser, secret) = signed_in_with_consent(&a).await;
    let code = common::authorize_as(&browser, &a, &common::authorize_path(SCOPES), ("alice", ""))
        .await
        .code;
    let (status, t) = redeem(&a, &secret, &code).await;
    assert_eq!(status, 200, "{t}");
    let at = str_of(&t, "access_token");
    let resource = |server: &TestServer| {
        reqwest::Client::new()
            .get(format!("{}/api/resource", server.base))
            .bearer_auth(at)
            .send()
    };
    // B has checked (and cached) the token's status.
    for _ in 0..3 {
        assert!(active(&b, &secret, at).await);
        assert_eq!(resource(&b).await.unwrap().status(), 200);
    }

    // RFC 7009 at A. B reads the shared revocation counter at least every 100 ms
    // (store::status_cache::POLL): give it 1 s, requests included.
    let res = reqwest::Client::new()
        .post(format!("{}/revoke", a.base))
        .basic_auth("web", Some(&secret))
        .form(&[("token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let took = inactive_within(&b, &secret, at, Duration::from_secs(1)).await;
    eprintln!("revocation on A seen by B's introspection after {took:?}");
    assert_eq!(resource(&b).await.unwrap().status(), 401, "B's resource refuses it");
    assert!(!active(&a, &secret, at).await);
}

#[tokio::test]
async fn login_failures_counted_on_one_instance_throttle_on_the_other() {
    use tessera_core::throttle::PER_ACCOUNT;
    let Some((a, b)) = pair(&[]).await else { return };
    common::add_user(&a, "bob", "bob-password", false).await;
    let browser = common::browser();
    // One short of the per-account threshold, alternating between the instances...
    for i in 1..PER_ACCOUNT.threshold {
        let at: &TestServer = if i % 2 == 0 { &a } else { &b };
        let to = common::sign_in(&browser, at, "bob", "wrong").await;
        assert!(to.contains("error=invalid"), "failure {i}: {to}");
    }
    // ...so the next failure, wherever it lands, is the threshold-th: blocked. Each
    // instance counting alone would be two or three failures short.
    let to = common::sign_in(&browser, &a, "bob", "wrong").await;
    assert!(to.contains("error=throttled"), "A counted B's failures too: {to}");
}

#[tokio::test]
async fn keys_rotated_by_the_cli_are_published_and_used_by_every_instance() {
    let Some((a, b)) = pair(&["--key-reload-interval", "1"]).await else {
        return;
    };
    let secret = common::add_web_client(&a, "openid profile").await.expose().to_owned();
    let before = published_kids(&a).await;
    assert_eq!(before, published_kids(&b).await, "one key set");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .env("TESSERA_SECRET", common::TEST_SECRET)
        .args([
            "--database-url",
            &a.url,
            "keys",
            "rotate",
            "--alg",
            "ES256",
            "--signs-in",
            "0",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rotated: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kid = rotated["rotated"][0]["kid"].as_str().unwrap().to_owned();
    assert!(!before.contains(&kid));

    // Within the reload interval (1 s here), plus a request: both publish it...
    let start = Instant::now();
    for server in [&a, &b] {
        while !published_kids(server).await.contains(&kid) {
            assert!(
                start.elapsed() < Duration::from_secs(3),
                "{} does not publish {kid} after {:?}",
                server.base,
                start.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    eprintln!("a rotated key published by both instances after {:?}", start.elapsed());
    // ...and both sign with it (the client's access tokens are ES256), each accepted by
    // the other.
    for (signer, checker) in [(&a, &b), (&b, &a)] {
        let (status, t) = token(signer, &secret, &[("grant_type", "client_credentials")]).await;
        assert_eq!(status, 200, "{t}");
        let at = str_of(&t, "access_token");
        assert_eq!(jwt_kid(at), kid, "{} signs with the new key", signer.base);
        assert!(active(checker, &secret, at).await);
    }
}

#[test]
fn key_reload_interval_is_validated() {
    for bad in ["0", "3601", "-1", "soon"] {
        let flag = format!("--key-reload-interval={bad}");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .env("TESSERA_SECRET", common::TEST_SECRET)
            .args(["--database-url", "sqlite::memory:", "serve", "--addr", "127.0.0.1:0"])
            .arg(&flag)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{bad} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{bad}: {err}");
        assert!(err.contains("--key-reload-interval"), "{bad}: {err}");
    }
}

/// The `kid`s in the server's JWK Set.
async fn published_kids(server: &TestServer) -> Vec<String> {
    let jwks: Value = reqwest::get(format!("{}/jwks.json", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

fn jwt_kid(jwt: &str) -> String {
    use base64::Engine as _;
    let head = jwt.split('.').next().unwrap();
    let head: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(head).unwrap()).unwrap();
    head["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_demo_client_is_registered_once_for_the_shared_issuer() {
    let Some((a, b)) = pair(&["--demo-client"]).await else {
        return;
    };
    let clients = b.db.store.list_clients().await.unwrap();
    assert_eq!(clients.len(), 1, "one demo client");
    let demo = &clients[0];
    // Its redirect URI is the issuer's, whichever instance registered it; the second
    // instance found it up to date and left it (a re-registration would end its grants).
    assert!(
        demo.redirect_uris[0].as_str().starts_with(&a.base),
        "{:?}",
        demo.redirect_uris
    );
    drop(b);
    let tdb_url = a.url.clone();
    let port = common::free_port();
    let issuer = a.base.clone();
    // A second later, so that a re-registration would show in `created_at` (seconds).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let c = common::spawn_serve(&tdb_url, port, &["--issuer", &issuer, "--demo-client"]).await;
    let again = c.db.store.list_clients().await.unwrap();
    assert_eq!(
        (again[0].client_id.as_str(), again[0].created_at),
        (demo.client_id.as_str(), demo.created_at)
    );
}

#[tokio::test]
async fn a_client_added_or_removed_elsewhere_is_seen_by_every_instance_within_the_bound() {
    let Some((a, b)) = pair(&[]).await else { return };
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .env("TESSERA_SECRET", common::TEST_SECRET)
            .args(["--database-url", &a.url])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let grant = |server: &TestServer, id: String, secret: String| {
        let base = server.base.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/token"))
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let made = cli(&["client", "add", "--name", "Shared", "--redirect-uri", CALLBACK]);
    let (id, secret) = (
        str_of(&made, "client_id").to_owned(),
        str_of(&made, "client_secret").to_owned(),
    );
    // New: usable at once everywhere (unknown ids are not cached).
    for server in [&a, &b] {
        assert_eq!(grant(server, id.clone(), secret.clone()).await, 200, "{}", server.base);
    }
    // Removed: refused everywhere once the instances' client cache expires (5 s,
    // store::client_cache::TTL).
    cli(&["client", "remove", &id]);
    let start = Instant::now();
    for server in [&a, &b] {
        while grant(server, id.clone(), secret.clone()).await == 200 {
            assert!(
                start.elapsed() < Duration::from_secs(6),
                "{} still accepts it",
                server.base
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(grant(server, id.clone(), secret.clone()).await, 401, "{}", server.base);
    }
}

/// One-time identifiers hold across processes (`seen_jtis`, shared through the database):
/// a `private_key_jwt` assertion (RFC 7523 §3) and a DPoP proof (RFC 9449 §11.1) used at A
/// are refused at B.
#[tokio::test]
async fn assertion_and_dpop_proof_jtis_are_single_use_across_instances() {
    use crate::client_keys::{assertion_claims, TestKey};
    use crate::dpop::Key;
    use tessera_core::client_keys::ASSERTION_TYPE;
    use tessera_core::model::SigningAlg;
    use tessera_core::store::{ClientSettings, NewClient};
    use tessera_core::types::{RedirectUri, ScopeSet};

    let Some((a, b)) = pair(&[]).await else { return };
    let key = TestKey::new(SigningAlg::ES256);
    a.db.store
        .create_client(
            NewClient {
                client_id: "kc".into(),
                name: "Key client".into(),
                secret_hash: None,
                redirect_uris: vec![RedirectUri::parse(CALLBACK).unwrap()],
                scopes: ScopeSet::parse("profile").unwrap(),
                is_public: false,
                settings: ClientSettings {
                    token_endpoint_auth_method: "private_key_jwt".into(),
                    jwks: Some(key.jwks()),
                    ..Default::default()
                },
            },
            1,
        )
        .await
        .unwrap();
    // Both instances announce A's address as the issuer: the assertions' aud, the proofs' htu.
    let issuer = a.base.clone();
    let cc = |at: &TestServer, assertion: String, proof: Option<String>| {
        let mut req = reqwest::Client::new().post(format!("{}/token", at.base));
        if let Some(p) = proof {
            req = req.header("DPoP", p);
        }
        let form = [
            ("grant_type", "client_credentials".to_owned()),
            ("client_assertion_type", ASSERTION_TYPE.to_owned()),
            ("client_assertion", assertion),
        ];
        async move {
            let res = req.form(&form).send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    let assertion = key.sign(&assertion_claims("kc", &issuer));
    let (status, body) = cc(&a, assertion.clone(), None).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = cc(&b, assertion, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_client")),
        "assertion replayed at B: {body}"
    );

    let dpop = Key::new();
    let proof = dpop.proof("POST", &format!("{issuer}/token"), None, None);
    let (status, body) = cc(&a, key.sign(&assertion_claims("kc", &issuer)), Some(proof.clone())).await;
    assert_eq!((status, body["token_type"].as_str()), (200, Some("DPoP")), "{body}");
    let (status, body) = cc(&b, key.sign(&assertion_claims("kc", &issuer)), Some(proof)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "proof replayed at B: {body}"
    );
}
