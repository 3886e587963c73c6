//! The compiled site served from memory (`tessera::site`), as a release binary that embeds
//! it serves it, through the whole router: types, validators, security headers, HEAD, and
//! the Leptos 404 page for what the site does not hold. (The embedding itself, a real
//! release binary run from an empty directory, is checked by scripts/standalone-check.sh.)

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use axum::body::Bytes;
use reqwest::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use tessera::site::Site;

use crate::common;

const WASM: &[u8] = b"\0asm\x01\0\0\0 embedded";
const JS: &[u8] = b"export default function init() {} // embedded";
const CSS: &[u8] = b"body { color: black } /* embedded */";

fn embedded() -> Arc<Site> {
    Arc::new(Site::new([
        ("pkg/tessera.wasm", Bytes::from_static(WASM)),
        ("pkg/tessera.js", Bytes::from_static(JS)),
        ("pkg/tessera.css", Bytes::from_static(CSS)),
    ]))
}

fn header(res: &reqwest::Response, name: reqwest::header::HeaderName) -> &str {
    res.headers()
        .get(&name)
        .unwrap_or_else(|| panic!("no {name}"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn the_embedded_site_is_served_from_memory() {
    let db = common::sqlite();
    // No site on disk at all: every file must come from memory.
    let server = common::serve_with(&db.url, |c| {
        c.site_root = "/nonexistent/tessera-site".into();
        c.embedded_site = Some(embedded());
    })
    .await;
    let http = common::browser();

    for (path, ty, bytes) in [
        ("/pkg/tessera.wasm", "application/wasm", WASM),
        ("/pkg/tessera.js", "text/javascript; charset=utf-8", JS),
        ("/pkg/tessera.css", "text/css; charset=utf-8", CSS),
    ] {
        let res = http.get(format!("{}{path}", server.base)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(header(&res, CONTENT_TYPE), ty, "{path}");
        assert_eq!(header(&res, CACHE_CONTROL), "no-cache", "{path}");
        // The security headers every response carries.
        assert_eq!(header(&res, X_FRAME_OPTIONS), "DENY");
        assert_eq!(header(&res, X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(
            header(&res, CONTENT_SECURITY_POLICY),
            "default-src 'none'; frame-ancestors 'none'"
        );
        let etag = header(&res, ETAG).to_owned();
        assert_eq!(res.bytes().await.unwrap(), bytes, "{path}");

        // Revalidation: 304 without a body, with the same validator.
        let res = http
            .get(format!("{}{path}", server.base))
            .header(IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 304, "{path}");
        assert_eq!(header(&res, ETAG), etag);
        assert_eq!(header(&res, CACHE_CONTROL), "no-cache");
        assert!(res.bytes().await.unwrap().is_empty());

        // HEAD: the headers of GET, no body.
        let res = http.head(format!("{}{path}", server.base)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(header(&res, CONTENT_TYPE), ty);
        assert_eq!(header(&res, CONTENT_LENGTH), bytes.len().to_string());
        assert_eq!(header(&res, ETAG), etag);
        assert!(res.bytes().await.unwrap().is_empty());
    }

    // What the site does not hold is the Leptos 404 page, as from a directory.
    for path in ["/pkg/missing.js", "/favicon.svg", "/no-such-page"] {
        let res = http.get(format!("{}{path}", server.base)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        assert_eq!(header(&res, CONTENT_TYPE), "text/html; charset=utf-8", "{path}");
        assert_eq!(header(&res, X_FRAME_OPTIONS), "DENY");
        assert!(res.text().await.unwrap().contains("<html"), "{path}");
    }
    // Only GET and HEAD read a file.
    let res = http
        .post(format!("{}/pkg/tessera.js", server.base))
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 200);
    assert_ne!(res.bytes().await.unwrap(), JS);

    // The pages link the files the memory serves.
    let login = http.get(format!("{}/login", server.base)).send().await.unwrap();
    let html = login.text().await.unwrap();
    for file in ["/pkg/tessera.js", "/pkg/tessera.wasm", "/pkg/tessera.css"] {
        assert!(html.contains(file), "the login page does not reference {file}");
    }
}

#[tokio::test]
async fn without_an_embedded_site_files_come_from_the_site_root() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir(site.path().join("pkg")).unwrap();
    std::fs::write(site.path().join("pkg/tessera.css"), b"/* from disk */").unwrap();
    let db = common::sqlite();
    let root = site.path().to_str().unwrap().to_owned();
    let server = common::serve_with(&db.url, |c| c.site_root = root).await;
    let res = common::browser()
        .get(format!("{}/pkg/tessera.css", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap(), b"/* from disk */".as_slice());
}

#[test]
fn version_says_whether_the_site_is_embedded() {
    // Test builds embed nothing (only `cargo xtask build --release` does).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!("tessera {}, site not embedded", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
}
