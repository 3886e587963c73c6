//! OAuth Client ID Metadata Documents: off by default; on, a URL client_id is fetched from
//! a small server on loopback, made a client, and used through the whole code flow; the
//! cache keeps it; every refusal (not https, a mismatching client_id, oversize, slow, bad
//! redirect URIs, an error status, a redirect to another host) is an error page with its
//! code; the consent page shows the host; the console marks it; the number kept is capped.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::common::{self, add_user, authorize_to, page, CALLBACK, PKCE_CHALLENGE, PKCE_VERIFIER};

const ALICE: (&str, &str) = ("alice", "alice-password");

/// The documents' server: `base` and how many times each path was asked for.
struct Docs {
    base: String,
    hits: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
}

impl Docs {
    fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }
    fn hits(&self, name: &str) -> usize {
        self.hits.lock().unwrap().get(name).copied().unwrap_or(0)
    }
}

#[derive(Clone)]
struct DocState {
    base: String,
    hits: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
}

async fn doc(State(s): State<DocState>, Path(name): Path<String>) -> Response {
    *s.hits.lock().unwrap().entry(name.clone()).or_default() += 1;
    let me = format!("{}/{name}", s.base);
    let good = json!({ "client_id": me, "client_name": "Agent", "redirect_uris": [CALLBACK] });
    let json_with = |cache: &'static str, body: String| {
        (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, cache),
            ],
            body,
        )
            .into_response()
    };
    match name.as_str() {
        "good.json" | "second.json" => json_with("max-age=600", good.to_string()),
        "mismatch.json" => {
            let mut d = good.clone();
            d["client_id"] = json!(format!("{}/other.json", s.base));
            json_with("max-age=600", d.to_string())
        }
        "big.json" => {
            let mut d = good.clone();
            d["client_uri"] = json!(format!("https://x.example/{}", "a".repeat(6 * 1024)));
            json_with("max-age=600", d.to_string())
        }
        "slow.json" => {
            tokio::time::sleep(Duration::from_secs(8)).await;
            json_with("max-age=600", good.to_string())
        }
        "badredirect.json" => {
            let mut d = good.clone();
            d["redirect_uris"] = json!(["http://evil.example/cb"]);
            json_with("max-age=600", d.to_string())
        }
        "secret.json" => {
            let mut d = good.clone();
            d["token_endpoint_auth_method"] = json!("client_secret_basic");
            json_with("max-age=600", d.to_string())
        }
        "elsewhere.json" => {
            // Another host (localhost is not 127.0.0.1): not followed.
            let to = s.base.replace("127.0.0.1", "localhost") + "/good.json";
            (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn docs() -> Docs {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(std::sync::Mutex::new(Default::default()));
    let state = DocState {
        base: base.clone(),
        hits: hits.clone(),
    };
    let app = axum::Router::new()
        .route("/{name}", axum::routing::get(doc))
        .with_state(state);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Docs { base, hits }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn authorize(client_id: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=s1\
         &code_challenge={PKCE_CHALLENGE}&code_challenge_method=S256",
        enc(client_id),
        enc(CALLBACK)
    )
}

async fn discovery(server: &common::TestServer) -> Value {
    reqwest::get(format!("{}/.well-known/oauth-authorization-server", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn off_by_default() {
    let docs = docs().await;
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    assert!(discovery(&server)
        .await
        .get("client_id_metadata_document_supported")
        .is_none());
    let res = page(&common::browser(), &server, &authorize(&docs.url("good.json"))).await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("invalid_request") || html.contains("invalid_client"),
        "{html}"
    );
    // Never fetched.
    assert_eq!(docs.hits("good.json"), 0);
}

#[tokio::test]
async fn code_flow_with_a_metadata_document() {
    let docs = docs().await;
    let tdb = common::sqlite();
    let server = common::serve_with(&tdb.url, |c| c.client_id_metadata_documents = true).await;
    add_user(&server, ALICE.0, ALICE.1, false).await;
    // draft §5 (authorization server metadata).
    assert_eq!(
        discovery(&server).await["client_id_metadata_document_supported"],
        json!(true)
    );

    let client_id = docs.url("good.json");
    let browser = common::browser();
    let walk = authorize_to(&browser, &server, &authorize(&client_id), ALICE, CALLBACK).await;
    assert_eq!(walk.pages, ["/login", "/consent"]);
    // The consent page shows the host the document came from.
    let consent = walk.consent_html.unwrap();
    assert!(consent.contains("data-testid=\"client-host\""), "{consent}");
    assert!(consent.contains("127.0.0.1"), "{consent}");
    assert!(consent.contains("Agent"));

    // The client exists as a public client under its URL.
    let client = server.db.store.client_by_id(&client_id).await.unwrap().unwrap();
    assert!(client.is_public);
    assert_eq!(client.name, "Agent");
    assert_eq!(client.settings.token_endpoint_auth_method, "none");

    // A public client's exchange: client_id in the form, the PKCE verifier.
    let res = reqwest::Client::new()
        .post(format!("{}/token", server.base))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", walk.code.as_str()),
            ("redirect_uri", CALLBACK),
            ("client_id", client_id.as_str()),
            ("code_verifier", PKCE_VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert!(body["access_token"].is_string(), "{body}");
    // No secret to authenticate with: a client_secret is refused.
    let res = reqwest::Client::new()
        .post(format!("{}/token", server.base))
        .basic_auth(&client_id, Some("guess"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // Cached (max-age=600): a second authorization does not fetch again.
    let walk = authorize_to(&browser, &server, &authorize(&client_id), ALICE, CALLBACK).await;
    assert!(!walk.code.is_empty());
    assert_eq!(docs.hits("good.json"), 1);

    // The console marks it.
    add_user(&server, "root", "root-password-1", true).await;
    let admin = common::browser();
    common::sign_in(&admin, &server, "root", "root-password-1").await;
    let html = page(&admin, &server, "/admin/clients").await.text().await.unwrap();
    assert!(html.contains("data-testid=\"metadata-document\""), "{html}");
    let detail = page(
        &admin,
        &server,
        &format!("/admin/clients/{}", enc(&client_id).replace('+', "%20")),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(detail.contains("data-testid=\"metadata-document\""), "{detail}");

    // Removed in the console: the next use fetches the document again and re-creates it.
    assert!(server.db.store.delete_client(&client_id).await.unwrap());
    let walk = authorize_to(&browser, &server, &authorize(&client_id), ALICE, CALLBACK).await;
    assert!(!walk.code.is_empty());
    assert_eq!(docs.hits("good.json"), 2);
}

#[tokio::test]
async fn refusals() {
    let docs = docs().await;
    let tdb = common::sqlite();
    let server = common::serve_with(&tdb.url, |c| c.client_id_metadata_documents = true).await;
    let browser = common::browser();
    // (client_id, error code, text of the description)
    let table: Vec<(String, &str, &str)> = vec![
        // draft §3: https only (http on loopback for a loopback issuer only), a path, no fragment.
        (
            "http://client.example/c.json".into(),
            "invalid_request",
            "not a valid client metadata document URL",
        ),
        (
            format!("{}/", docs.base),
            "invalid_request",
            "not a valid client metadata document URL",
        ),
        (
            docs.url("a/../good.json"),
            "invalid_request",
            "not a valid client metadata document URL",
        ),
        // draft §4.1: the document's client_id must equal the URL.
        (docs.url("mismatch.json"), "invalid_client", "does not match"),
        // Size cap (5 KiB), timeout (5 s), error status, a redirect to another host.
        (docs.url("big.json"), "invalid_client", "too large"),
        (docs.url("slow.json"), "invalid_client", "could not be fetched"),
        (docs.url("missing.json"), "invalid_client", "could not be fetched"),
        (docs.url("elsewhere.json"), "invalid_client", "could not be fetched"),
        // Redirect URIs by the console's rules; never a shared secret.
        (docs.url("badredirect.json"), "invalid_client", "invalid redirect_uris"),
        (docs.url("secret.json"), "invalid_client", "token_endpoint_auth_method"),
    ];
    for (client_id, code, text) in &table {
        let started = std::time::Instant::now();
        let res = page(&browser, &server, &authorize(client_id)).await;
        // Shown to the user, never redirected: the redirect URI is not verified.
        assert_eq!(res.status(), 400, "{client_id}");
        let html = res.text().await.unwrap();
        assert!(html.contains(code), "{client_id}: {html}");
        assert!(html.contains(text), "{client_id}: {html}");
        assert!(server.db.store.client_by_id(client_id).await.unwrap().is_none());
        assert!(started.elapsed() < Duration::from_secs(7), "{client_id}");
    }
    assert_eq!(docs.hits("elsewhere.json"), 1);
    assert_eq!(docs.hits("good.json"), 0, "the redirect to another host was followed");

    // A redirect_uri the document does not list: invalid_request, shown (RFC 6749 §4.1.2.1).
    let path = authorize(&docs.url("second.json")).replace(&enc(CALLBACK), &enc("http://127.0.0.1:9/other"));
    let res = page(&browser, &server, &path).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("invalid_request"));
}

#[tokio::test]
async fn the_number_of_such_clients_is_capped() {
    use tessera_core::policy::METADATA_CLIENTS_MAX;
    use tessera_core::store::NewClient;
    use tessera_core::types::{RedirectUri, ScopeSet};
    let docs = docs().await;
    let tdb = common::sqlite();
    let server = common::serve_with(&tdb.url, |c| c.client_id_metadata_documents = true).await;
    let store = &server.db.store;
    // As many as allowed already, the first the oldest; and one registered client.
    common::add_web_client(&server, "openid").await;
    for i in 0..METADATA_CLIENTS_MAX {
        let client = NewClient {
            client_id: format!("https://c{i}.example/client.json"),
            name: format!("C{i}"),
            secret_hash: None,
            redirect_uris: vec![RedirectUri::parse(CALLBACK).unwrap()],
            scopes: ScopeSet::parse("openid").unwrap(),
            is_public: true,
            settings: Default::default(),
        };
        store.create_client(client, 10 + i as i64).await.unwrap();
    }
    let res = page(&common::browser(), &server, &authorize(&docs.url("good.json"))).await;
    assert_eq!(res.status(), 302, "to the login page");
    let clients = store.list_clients().await.unwrap();
    let documented = clients.iter().filter(|c| c.client_id.starts_with("http")).count();
    assert_eq!(documented, METADATA_CLIENTS_MAX);
    // The oldest went; the new one and the registered client stay.
    assert!(store
        .client_by_id("https://c0.example/client.json")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .client_by_id("https://c1.example/client.json")
        .await
        .unwrap()
        .is_some());
    assert!(store.client_by_id(&docs.url("good.json")).await.unwrap().is_some());
    assert!(store.client_by_id("web").await.unwrap().is_some());
}
