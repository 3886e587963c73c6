//! Protected resource metadata (RFC 9728): the sample resource's document at its
//! well-known URL, another API on Tessera's origin, an API elsewhere offered at
//! `/resource-metadata`, and `resource_metadata` in the 401s of the sample resource and
//! userinfo.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{json, Value};
use tessera_core::model::SigningAlg;
use tessera_core::store::ApiSettings;
use tessera_core::types::ScopeSet;

use crate::common;

const MCP: &str = "https://mcp.example/mcp";

fn settings(name: &str, scopes: &str) -> ApiSettings {
    ApiSettings {
        name: name.into(),
        scopes: ScopeSet::parse(scopes).unwrap(),
        access_token_alg: SigningAlg::ES256,
        access_token_ttl: 600,
    }
}

async fn get(url: &str) -> (u16, Option<String>, Value) {
    let res = reqwest::get(url).await.unwrap();
    let status = res.status().as_u16();
    let cache = res
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, cache, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn documents_of_registered_apis() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    let base = &server.base;
    let store = &server.db.store;
    store.create_scope("tools:call", "Call tools", 1).await.unwrap();
    store.create_api(MCP, &settings("MCP", "tools:call"), 1).await.unwrap();
    let tenant = format!("{base}/tenant/x");
    store
        .create_api(&tenant, &settings("Tenant", "tools:call"), 1)
        .await
        .unwrap();

    // RFC 9728 §3.1: the sample resource `<issuer>/api` at `/.well-known/oauth-protected-resource/api`.
    let (status, cache, doc) = get(&format!("{base}/.well-known/oauth-protected-resource/api")).await;
    assert_eq!(status, 200);
    assert_eq!(cache.as_deref(), Some("public, max-age=60"));
    assert_eq!(doc["resource"], json!(format!("{base}/api")));
    assert_eq!(doc["authorization_servers"], json!([base]));
    assert_eq!(doc["scopes_supported"], json!(["email", "openid", "profile"]));
    assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    assert!(doc["dpop_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("ES256")));

    // Another API on Tessera's own origin, keyed by its path.
    let (status, _, doc) = get(&format!("{base}/.well-known/oauth-protected-resource/tenant/x")).await;
    assert_eq!(status, 200);
    assert_eq!(doc["resource"], json!(tenant));
    assert_eq!(doc["scopes_supported"], json!(["tools:call"]));
    assert!(doc.get("dpop_signing_alg_values_supported").is_none());

    // Nothing at paths no API has, nor at the bare suffix (no API is the origin itself).
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/nope",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let (status, _, doc) = get(&format!("{base}{path}")).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(doc["error"], "not_found");
    }

    // An API on another host: its document, by identifier, for it to serve or proxy.
    let (status, _, doc) = get(&format!(
        "{base}/resource-metadata?resource={}",
        url::form_urlencoded::byte_serialize(MCP.as_bytes()).collect::<String>()
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(doc["resource"], json!(MCP));
    assert_eq!(doc["resource_name"], json!("MCP"));
    assert_eq!(doc["authorization_servers"], json!([base]));
    assert_eq!(doc["scopes_supported"], json!(["tools:call"]));
    let (status, _, _) = get(&format!(
        "{base}/resource-metadata?resource=https%3A%2F%2Fother.example%2F"
    ))
    .await;
    assert_eq!(status, 404);
    let (status, _, doc) = get(&format!("{base}/resource-metadata")).await;
    assert_eq!(status, 400);
    assert_eq!(doc["error"], "invalid_request");

    // An API the administrator removed has no document any more.
    assert!(store.delete_api(&tenant).await.unwrap());
    let (status, _, _) = get(&format!("{base}/.well-known/oauth-protected-resource/tenant/x")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn unauthorized_answers_name_the_metadata() {
    let tdb = common::sqlite();
    let server = common::serve(&tdb.url).await;
    let base = &server.base;
    let want = format!("resource_metadata=\"{base}/.well-known/oauth-protected-resource/api\"");
    let http = reqwest::Client::new();
    // RFC 9728 §5.1: with no token, and with a bad one.
    for (path, token) in [
        ("/api/resource", None),
        ("/api/resource", Some("bad")),
        ("/userinfo", None),
        ("/userinfo", Some("bad")),
    ] {
        let mut req = http.get(format!("{base}{path}"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "{path}");
        let challenge = res.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        assert!(challenge.contains(&want), "{path}: {challenge}");
    }
    // The URL it names answers.
    let (status, _, doc) = get(&format!("{base}/.well-known/oauth-protected-resource/api")).await;
    assert_eq!(status, 200);
    assert_eq!(doc["resource"], json!(format!("{base}/api")));
}

#[tokio::test]
async fn an_api_added_with_the_cli_has_its_document() {
    use crate::cli::{one_line_error, stdout_json, tessera};
    let tdb = common::sqlite();
    let db = tdb.url.as_str();
    // `tessera scope add`: the console's rule, then the store; a repeat is refused.
    let v = stdout_json(&tessera(
        &[
            "scope",
            "add",
            "mcp:tools",
            "--description",
            "Use the tools",
            "--database-url",
            db,
        ],
        None,
    ));
    assert_eq!(v["name"], "mcp:tools");
    let err = one_line_error(&tessera(
        &[
            "scope",
            "add",
            "mcp:tools",
            "--description",
            "Again",
            "--database-url",
            db,
        ],
        None,
    ));
    assert!(err.contains("exists already"), "{err}");
    let err = one_line_error(&tessera(
        &["scope", "add", "bad scope", "--description", "x", "--database-url", db],
        None,
    ));
    assert!(!err.is_empty());
    stdout_json(&tessera(
        &[
            "api",
            "add",
            MCP,
            "--name",
            "MCP",
            "--scope",
            "mcp:tools",
            "--database-url",
            db,
        ],
        None,
    ));
    let server = common::serve(db).await;
    let (status, _, doc) = get(&format!(
        "{}/resource-metadata?resource={}",
        server.base, "https%3A%2F%2Fmcp.example%2Fmcp"
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(doc["scopes_supported"], json!(["mcp:tools"]));
}
