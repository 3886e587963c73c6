//! The admin console over real HTTP, as a browser without JavaScript uses it: who may
//! see it, CSRF, field errors that save nothing, clients (secret shown once, edit,
//! rotate, delete), custom scopes that work at `/authorize` and on the consent screen,
//! users (create, disable, admin flag) and revoking a grant.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::{add_user, add_web_client, authorize_path, page, post_form, sign_in, token};

use reqwest::header::LOCATION;
use tessera_core::secret::ClientSecret;

const REDIRECT: &str = common::CALLBACK;
const VERIFIER: &str = common::PKCE_VERIFIER;

async fn text(browser: &reqwest::Client, server: &common::TestServer, path: &str) -> String {
    let res = page(browser, server, path).await;
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.unwrap()
}

async fn admin_browser(server: &common::TestServer) -> reqwest::Client {
    add_user(server, "root", "root-password", true).await;
    let browser = common::browser();
    assert_eq!(sign_in(&browser, server, "root", "root-password").await, "/");
    browser
}

/// The value of the input marked `data-testid="client-secret"`, if the page shows one.
fn shown_secret(html: &str) -> Option<String> {
    let at = html.find("data-testid=\"client-secret\"")?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let v = tag.find("value=\"")? + 7;
    Some(tag[v..v + tag[v..].find('"')?].to_owned())
}

fn client_form<'a>(name: &'a str, uris: &'a str, scopes: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("description", "An app"),
        ("logo_uri", ""),
        ("client_type", "confidential"),
        ("redirect_uris", uris),
        ("scopes", scopes),
        ("grant_authorization_code", "on"),
        ("grant_refresh_token", "on"),
        ("grant_client_credentials", "on"),
        ("require_pkce", "on"),
        ("access_token_ttl", "900"),
        ("refresh_token_ttl", "86400"),
        ("access_token_alg", "ES256"),
        ("id_token_alg", "RS256"),
    ]
}

#[tokio::test]
async fn only_administrators_get_in() {
    for tdb in common::databases().await {
        let server = common::serve(&tdb.url).await;
        add_user(&server, "joe", "joe-password", false).await;
        let anon = common::browser();
        for path in [
            "/admin",
            "/admin/clients",
            "/admin/clients/new",
            "/admin/scopes",
            "/admin/users",
        ] {
            let res = page(&anon, &server, path).await;
            assert_eq!(res.status(), 302, "{}: {path}", tdb.name);
            assert_eq!(res.headers()[LOCATION], format!("/login?next={path}"));
        }

        let joe = common::browser();
        assert_eq!(sign_in(&joe, &server, "joe", "joe-password").await, "/");
        for path in ["/admin", "/admin/clients", "/admin/users/new", "/admin/scopes"] {
            let res = page(&joe, &server, path).await;
            assert_eq!(res.status(), 403, "{}: {path}", tdb.name);
            let html = res.text().await.unwrap();
            assert!(html.contains("Administrators only"), "{html}");
            assert!(!html.contains("client-form"));
        }
        // The server functions refuse too, even with this session's valid CSRF token.
        let html = text(&joe, &server, "/account").await;
        let csrf = common::input_value(&html, "csrf").unwrap();
        let mut form = client_form("Sneaky", REDIRECT, "openid");
        form.push(("csrf", &csrf));
        let res = joe
            .post(format!("{}/ui/admin/clients/create", server.base))
            .header("accept", "text/html")
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{}", tdb.name);
        let res = joe
            .post(format!("{}/ui/admin/scopes/create", server.base))
            .form(&[("csrf", csrf.as_str()), ("name", "x"), ("description", "y")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        assert!(server.db.store.list_clients().await.unwrap().is_empty());
        assert!(server.db.store.custom_scopes().await.unwrap().is_empty());
        // Signed out, a post is sent to the login.
        let res = anon
            .post(format!("{}/ui/admin/scopes/create", server.base))
            .header("accept", "text/html")
            .form(&[("csrf", "x"), ("name", "x"), ("description", "y")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
        assert_eq!(res.headers()[LOCATION], "/login?next=/admin/scopes");

        // An admin is offered the console from their account page.
        let admin = admin_browser(&server).await;
        assert!(text(&admin, &server, "/account").await.contains("href=\"/admin\""));
        assert!(text(&admin, &server, "/admin").await.contains("Admin console"));
    }
}

#[tokio::test]
async fn clients_are_created_edited_rotated_and_deleted() {
    for tdb in common::databases().await {
        let server = common::serve(&tdb.url).await;
        let admin = admin_browser(&server).await;
        let store = &server.db.store;

        // A forged CSRF token: back to the form, nothing saved.
        let mut form = client_form("Forged", REDIRECT, "openid");
        form.push(("csrf", "forged"));
        let res = admin
            .post(format!("{}/ui/admin/clients/create", server.base))
            .header("accept", "text/html")
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()[LOCATION], "/admin/clients/new");
        assert!(text(&admin, &server, "/admin/clients/new")
            .await
            .contains("Your session expired"));
        assert!(store.list_clients().await.unwrap().is_empty(), "{}", tdb.name);

        // Field errors, each next to its field, with what was typed kept; nothing saved.
        let bad = [
            ("name", "Shop"),
            ("client_type", "public"),
            ("redirect_uris", "https://shop.example/cb#frag"),
            ("scopes", "openid nope"),
            ("grant_authorization_code", "on"),
            ("grant_client_credentials", "on"),
            ("require_pkce", "on"),
            ("access_token_ttl", "5"),
            ("refresh_token_ttl", "86400"),
            ("access_token_alg", "ES256"),
            ("id_token_alg", "RS256"),
        ];
        let location = post_form(&admin, &server, "/admin/clients/new", "/ui/admin/clients/create", &bad).await;
        assert_eq!(location, "/admin/clients/new");
        let html = text(&admin, &server, &location).await;
        for (field, text) in [
            ("redirect_uris", "must not contain a fragment"),
            ("scopes", "define it under Scopes first"),
            ("access_token_ttl", "from 60 to 86400"),
            ("grant_types", "cannot use client_credentials"),
        ] {
            assert!(html.contains(text), "{}: {field}: {html}", tdb.name);
        }
        assert!(html.contains("id=\"redirect_uris-error\""));
        assert!(html.contains("aria-invalid=\"true\""));
        assert!(html.contains("value=\"Shop\""), "the name typed is kept");
        assert!(store.list_clients().await.unwrap().is_empty(), "{}", tdb.name);
        // The flash is used once.
        assert!(!text(&admin, &server, "/admin/clients/new")
            .await
            .contains("must not contain a fragment"));

        // Created: the secret is shown on the next page only, and never in a URL.
        let form = client_form("Shop", REDIRECT, "openid profile offline_access");
        let location = post_form(&admin, &server, "/admin/clients/new", "/ui/admin/clients/create", &form).await;
        let clients = store.list_clients().await.unwrap();
        assert_eq!(clients.len(), 1, "{}", tdb.name);
        let client = &clients[0];
        assert_eq!(location, format!("/admin/clients/{}", client.client_id));
        let html = text(&admin, &server, &location).await;
        let secret = shown_secret(&html).expect("secret shown once");
        assert!(!location.contains(&secret));
        assert_eq!(client.secret_hash, Some(ClientSecret::new(secret.clone()).hash()));
        assert_eq!(client.settings.access_token_ttl, 900);
        assert_eq!(client.settings.description.as_deref(), Some("An app"));
        assert!(client.requires_pkce() && client.allows_grant("client_credentials"));
        assert!(
            !client.settings.dpop_bound_access_tokens,
            "DPoP is optional unless checked"
        );
        let again = text(&admin, &server, &location).await;
        assert!(shown_secret(&again).is_none(), "{}: shown only once", tdb.name);
        assert!(!again.contains(&secret));
        // The secret works.
        let res = reqwest::Client::new()
            .post(format!("{}/token", server.base))
            .basic_auth(&client.client_id, Some(&secret))
            .form(&[("grant_type", "client_credentials"), ("scope", "profile")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", tdb.name);
        let list = text(&admin, &server, "/admin/clients").await;
        assert!(list.contains("Shop") && list.contains(&client.client_id) && list.contains(REDIRECT));
        assert!(list.contains("Confidential"));

        // Edit: a bad redirect URI saves nothing (not even the valid name change)...
        let mut edit = client_form("Shop 2", "http://shop.example/cb", "openid");
        edit.push(("client_id", &client.client_id));
        let location = post_form(&admin, &server, &location, "/ui/admin/clients/update", &edit).await;
        let html = text(&admin, &server, &location).await;
        assert!(html.contains("plain http on a host that is not loopback"), "{html}");
        assert!(html.contains("value=\"Shop 2\""));
        assert_eq!(
            store.client_by_id(&client.client_id).await.unwrap().unwrap().name,
            "Shop"
        );
        // ...and a good one saves everything.
        let uris = "https://shop.example/cb\nhttp://localhost:8080/cb";
        let mut edit = client_form("Shop 2", uris, "openid email");
        edit.push(("client_id", &client.client_id));
        edit.push(("dpop_bound_access_tokens", "on"));
        let location = post_form(&admin, &server, &location, "/ui/admin/clients/update", &edit).await;
        let html = text(&admin, &server, &location).await;
        assert!(html.contains("Changes saved."));
        assert!(
            html.contains("name=\"dpop_bound_access_tokens\" id=\"dpop_bound_access_tokens\" checked"),
            "the DPoP box shows the setting"
        );
        let edited = store.client_by_id(&client.client_id).await.unwrap().unwrap();
        assert_eq!(edited.name, "Shop 2", "{}", tdb.name);
        let uris: Vec<&str> = edited.redirect_uris.iter().map(|u| u.as_str()).collect();
        assert_eq!(uris, ["https://shop.example/cb", "http://localhost:8080/cb"]);
        assert_eq!(edited.scopes.to_string(), "email openid");
        assert_eq!(edited.secret_hash, client.secret_hash, "editing keeps the secret");
        assert!(
            edited.settings.dpop_bound_access_tokens,
            "{}: Require DPoP saved",
            tdb.name
        );

        // The FAPI 2.0 switch on a client that authenticates with a secret and signs ID
        // tokens with RS256: refused next to each field, nothing saved; the page lists what
        // the switch enforces.
        let mut edit = client_form("Shop 2", "https://shop.example/cb", "openid email");
        edit.push(("client_id", &client.client_id));
        edit.push(("fapi2", "on"));
        let location = post_form(&admin, &server, &location, "/ui/admin/clients/update", &edit).await;
        let html = text(&admin, &server, &location).await;
        assert!(html.contains("FAPI 2.0 requires private_key_jwt."), "{html}");
        assert!(html.contains("FAPI 2.0 allows PS256, ES256 or EdDSA."), "{html}");
        assert!(html.contains("Pushed authorization requests only"), "{html}");
        assert!(html.contains("No refresh-token rotation"), "{html}");
        let unchanged = store.client_by_id(&client.client_id).await.unwrap().unwrap();
        assert!(!unchanged.settings.fapi2, "{}: nothing saved", tdb.name);

        // Rotation: a new secret, shown once; the old one stops working.
        let location = post_form(
            &admin,
            &server,
            &location,
            "/ui/admin/clients/rotate",
            &[("client_id", &client.client_id)],
        )
        .await;
        let new_secret = shown_secret(&text(&admin, &server, &location).await).expect("new secret");
        assert_ne!(new_secret, secret);
        let rotated = store.client_by_id(&client.client_id).await.unwrap().unwrap();
        assert_eq!(
            rotated.secret_hash,
            Some(ClientSecret::new(new_secret).hash()),
            "{}",
            tdb.name
        );

        // Delete: a confirmation step, then gone.
        let confirm = text(&admin, &server, &format!("{location}?delete=confirm")).await;
        assert!(confirm.contains("Yes, delete this client"));
        let location = post_form(
            &admin,
            &server,
            &location,
            "/ui/admin/clients/delete",
            &[("client_id", &client.client_id)],
        )
        .await;
        assert_eq!(location, "/admin/clients");
        assert!(text(&admin, &server, &location).await.contains("was deleted"));
        assert!(
            store.client_by_id(&client.client_id).await.unwrap().is_none(),
            "{}",
            tdb.name
        );
    }
}

/// Follows `/authorize` as a browser, signing in and allowing when asked; returns the
/// consent page's HTML (if shown) and the code.
async fn authorize(
    browser: &reqwest::Client,
    server: &common::TestServer,
    scope: &str,
    user: (&str, &str),
) -> (Option<String>, String) {
    let walk = common::authorize_as(browser, server, &authorize_path(scope), user).await;
    (walk.consent_html, walk.code)
}

#[tokio::test]
async fn custom_scopes_work_at_authorize_and_are_described_on_consent() {
    for tdb in common::databases().await {
        let server = common::serve(&tdb.url).await;
        let admin = admin_browser(&server).await;
        add_user(&server, "ann", "ann-password", false).await;
        add_web_client(&server, "openid invoices:read").await;

        // Not defined yet: the client may list it, but the server does not know it.
        let res = page(&common::browser(), &server, &authorize_path("openid invoices:read")).await;
        let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
        assert!(
            location.starts_with(REDIRECT) && location.contains("error=invalid_scope"),
            "{location}"
        );

        // Field errors: a built-in name, an empty description; nothing saved.
        let location = post_form(
            &admin,
            &server,
            "/admin/scopes",
            "/ui/admin/scopes/create",
            &[("name", "email"), ("description", " ")],
        )
        .await;
        let html = text(&admin, &server, &location).await;
        assert!(html.contains("is a built-in scope") && html.contains("the consent screen shows it"));
        assert!(server.db.store.custom_scopes().await.unwrap().is_empty());

        post_form(
            &admin,
            &server,
            "/admin/scopes",
            "/ui/admin/scopes/create",
            &[("name", "invoices:read"), ("description", "Read your invoices")],
        )
        .await;
        let html = text(&admin, &server, "/admin/scopes").await;
        assert!(
            html.contains("was created") && html.contains("Read your invoices"),
            "{html}"
        );
        assert!(html.contains("Web App"), "used by the client");

        let browser = common::browser();
        let (consent, _) = authorize(&browser, &server, "openid invoices:read", ("ann", "ann-password")).await;
        let consent = consent.expect("consent shown");
        assert!(consent.contains("Read your invoices"), "{}: {consent}", tdb.name);

        // Changed text shows up; a built-in or a listed scope cannot be deleted.
        post_form(
            &admin,
            &server,
            "/admin/scopes",
            "/ui/admin/scopes/update",
            &[("name", "invoices:read"), ("description", "See your invoices")],
        )
        .await;
        assert_eq!(
            server.db.store.custom_scopes().await.unwrap()[0].description,
            "See your invoices"
        );
        post_form(
            &admin,
            &server,
            "/admin/scopes",
            "/ui/admin/scopes/delete",
            &[("name", "openid")],
        )
        .await;
        assert!(text(&admin, &server, "/admin/scopes")
            .await
            .contains("cannot be deleted"));
        post_form(
            &admin,
            &server,
            "/admin/scopes",
            "/ui/admin/scopes/delete",
            &[("name", "invoices:read")],
        )
        .await;
        let html = text(&admin, &server, "/admin/scopes").await;
        assert!(html.contains("Still listed by Web App"), "{}: {html}", tdb.name);
        assert_eq!(server.db.store.custom_scopes().await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn users_are_created_disabled_and_made_admin() {
    for tdb in common::databases().await {
        let server = common::serve(&tdb.url).await;
        let admin = admin_browser(&server).await;
        let store = &server.db.store;

        let location = post_form(
            &admin,
            &server,
            "/admin/users/new",
            "/ui/admin/users/create",
            &[("username", "bad name"), ("email", "nope"), ("password", "short")],
        )
        .await;
        assert_eq!(location, "/admin/users/new");
        let html = text(&admin, &server, &location).await;
        assert!(html.contains("id=\"username-error\"") && html.contains("id=\"password-error\""));
        assert!(html.contains("is not a valid address"));
        assert!(html.contains("value=\"bad name\""), "kept");
        assert!(!html.contains("value=\"short\""), "passwords are never echoed");
        assert_eq!(store.count_users().await.unwrap(), 1, "{}", tdb.name);

        let location = post_form(
            &admin,
            &server,
            "/admin/users/new",
            "/ui/admin/users/create",
            &[
                ("username", "Zoe"),
                ("name", "Zoe Example"),
                ("email", "zoe@example.com"),
                ("password", "zoe-password"),
            ],
        )
        .await;
        let (zoe, _) = store.credentials_by_username("zoe").await.unwrap().expect("created");
        assert_eq!(location, format!("/admin/users/{}", zoe.id));
        assert!(!zoe.is_admin && zoe.name.as_deref() == Some("Zoe Example"));
        // Taken username: a field error.
        post_form(
            &admin,
            &server,
            "/admin/users/new",
            "/ui/admin/users/create",
            &[("username", "zoe"), ("password", "zoe-password")],
        )
        .await;
        assert!(text(&admin, &server, "/admin/users/new").await.contains("is taken"));

        let list = text(&admin, &server, "/admin/users?q=ZOE").await;
        assert!(
            list.contains("zoe@example.com") && !list.contains("root@example.com"),
            "{list}"
        );

        assert_eq!(sign_in(&common::browser(), &server, "zoe", "zoe-password").await, "/");
        let user_page = location.clone();
        post_form(
            &admin,
            &server,
            &user_page,
            "/ui/admin/users/disabled",
            &[("user_id", &zoe.id), ("disabled", "true")],
        )
        .await;
        assert!(store.user_by_id(&zoe.id).await.unwrap().unwrap().disabled);
        assert_eq!(
            sign_in(&common::browser(), &server, "zoe", "zoe-password").await,
            "/login?next=/&error=invalid",
            "{}: a disabled user cannot sign in",
            tdb.name
        );
        post_form(
            &admin,
            &server,
            &user_page,
            "/ui/admin/users/disabled",
            &[("user_id", &zoe.id), ("disabled", "false")],
        )
        .await;

        // Reset password, then admin rights: Zoe gets into the console. A session Zoe
        // signed in before the reset is signed out by it.
        let zoe_before = common::browser();
        assert_eq!(sign_in(&zoe_before, &server, "zoe", "zoe-password").await, "/");
        assert_eq!(page(&zoe_before, &server, "/account").await.status(), 200);
        let location = post_form(
            &admin,
            &server,
            &user_page,
            "/ui/admin/users/password",
            &[("user_id", &zoe.id), ("password", "x")],
        )
        .await;
        assert!(text(&admin, &server, &location)
            .await
            .contains("Use at least 8 characters."));
        post_form(
            &admin,
            &server,
            &user_page,
            "/ui/admin/users/password",
            &[("user_id", &zoe.id), ("password", "zoe-new-password")],
        )
        .await;
        post_form(
            &admin,
            &server,
            &user_page,
            "/ui/admin/users/admin",
            &[("user_id", &zoe.id), ("admin", "true")],
        )
        .await;
        let res = page(&zoe_before, &server, "/account").await;
        assert_eq!(
            (
                res.status().as_u16(),
                res.headers().get(LOCATION).and_then(|l| l.to_str().ok())
            ),
            (302, Some("/login?next=/account")),
            "{}: the reset ended Zoe's earlier session",
            tdb.name
        );
        let zoe_browser = common::browser();
        assert_eq!(sign_in(&zoe_browser, &server, "zoe", "zoe-new-password").await, "/");
        assert_eq!(
            page(&zoe_browser, &server, "/admin/users").await.status(),
            200,
            "{}",
            tdb.name
        );

        // An admin cannot lock themselves out.
        let root = store.credentials_by_username("root").await.unwrap().unwrap().0;
        let own = format!("/admin/users/{}", root.id);
        // Resetting their own password keeps the admin's session and ends their others.
        let root_elsewhere = common::browser();
        assert_eq!(sign_in(&root_elsewhere, &server, "root", "root-password").await, "/");
        post_form(
            &admin,
            &server,
            &own,
            "/ui/admin/users/password",
            &[("user_id", &root.id), ("password", "root-new-password")],
        )
        .await;
        assert_eq!(
            page(&admin, &server, "/admin/users").await.status(),
            200,
            "{}",
            tdb.name
        );
        assert_eq!(page(&root_elsewhere, &server, "/admin/users").await.status(), 302);
        post_form(
            &admin,
            &server,
            &own,
            "/ui/admin/users/disabled",
            &[("user_id", &root.id), ("disabled", "true")],
        )
        .await;
        post_form(
            &admin,
            &server,
            &own,
            "/ui/admin/users/admin",
            &[("user_id", &root.id), ("admin", "false")],
        )
        .await;
        let root = store.user_by_id(&root.id).await.unwrap().unwrap();
        assert!(root.is_admin && !root.disabled, "{}", tdb.name);
    }
}

#[tokio::test]
async fn revoking_a_grant_kills_its_refresh_token() {
    for tdb in common::databases().await {
        let server = common::serve(&tdb.url).await;
        let admin = admin_browser(&server).await;
        let ann = add_user(&server, "ann", "ann-password", false).await;
        let secret = add_web_client(&server, "openid profile offline_access").await;

        let mut refresh = Vec::new();
        for _ in 0..2 {
            let (_, code) = authorize(
                &common::browser(),
                &server,
                "openid offline_access",
                ("ann", "ann-password"),
            )
            .await;
            let (status, tokens) = token(
                &server,
                secret.expose(),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                ],
            )
            .await;
            assert_eq!(status, 200, "{tokens}");
            refresh.push(tokens["refresh_token"].as_str().unwrap().to_owned());
        }

        let html = text(&admin, &server, "/admin/clients/web").await;
        assert!(
            html.contains("data-testid=\"consents\"") && html.contains("ann"),
            "{html}"
        );
        let families = server
            .db
            .store
            .active_families(tessera_core::store::GrantsOf::Client("web"), tessera::now())
            .await
            .unwrap();
        assert_eq!(families.len(), 2, "{}", tdb.name);
        assert!(html.contains(&families[0].family_id));

        // Revoke one family: its refresh token dies, the other one lives.
        post_form(
            &admin,
            &server,
            "/admin/clients/web",
            "/ui/admin/grants/family",
            &[("family_id", &families[0].family_id), ("back", "/admin/clients/web")],
        )
        .await;
        let mut outcomes = Vec::new();
        let mut next_refresh = String::new();
        for r in &refresh {
            let (status, body) = token(
                &server,
                secret.expose(),
                &[("grant_type", "refresh_token"), ("refresh_token", r)],
            )
            .await;
            if status == 200 {
                next_refresh = body["refresh_token"].as_str().unwrap().to_owned();
            }
            outcomes.push((status, body["error"].as_str().map(str::to_owned)));
        }
        outcomes.sort();
        assert_eq!(
            outcomes,
            [(200, None), (400, Some("invalid_grant".to_owned()))],
            "{}",
            tdb.name
        );
        assert_eq!(
            text(&admin, &server, "/admin/clients/web")
                .await
                .matches("Revoke refresh token of")
                .count(),
            1
        );

        // Revoking the consent (from the user's page) takes the rest.
        let user_page = format!("/admin/users/{ann}");
        assert!(text(&admin, &server, &user_page).await.contains("Web App"));
        let location = post_form(
            &admin,
            &server,
            &user_page,
            "/ui/admin/grants/consent",
            &[("user_id", &ann), ("client_id", "web"), ("back", &user_page)],
        )
        .await;
        assert_eq!(location, user_page);
        let (status, _) = token(
            &server,
            secret.expose(),
            &[("grant_type", "refresh_token"), ("refresh_token", &next_refresh)],
        )
        .await;
        assert_eq!(status, 400, "{}", tdb.name);
        assert!(server.db.store.consent(&ann, "web").await.unwrap().is_none());
        // `back` never leaves the console.
        let location = post_form(
            &admin,
            &server,
            &user_page,
            "/ui/admin/grants/consent",
            &[
                ("user_id", &ann),
                ("client_id", "web"),
                ("back", "https://evil.example/"),
            ],
        )
        .await;
        assert_eq!(location, "/admin");
    }
}
