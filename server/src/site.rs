//! The compiled site (WASM bundle, its JavaScript, the stylesheet, the assets) served from
//! memory, for a release binary that carries it: `cargo xtask build --release` embeds the
//! site into the `tessera` binary (`server/build.rs`, `src/main.rs`), so it runs from any
//! directory. Without an embedded copy, or with an explicit `--site-root`, the site is
//! served from the directory as before (leptos_axum's file handler).
//!
//! File names are not content-hashed (`/pkg/tessera.wasm` is the same URL in every
//! version), so responses say `Cache-Control: no-cache` with a strong `ETag`: browsers keep
//! their copy but revalidate it on every load (a `304` without a body, RFC 9111 §5.2.2.4,
//! RFC 9110 §13.1.2), and never run last version's bundle against a new server.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use axum::response::Response;

/// What the binary embeds: each file's path under the site root (`pkg/tessera.wasm`,
/// `/`-separated, no leading `/`) and its bytes.
pub type Files = &'static [(&'static str, &'static [u8])];

static EMBEDDED: OnceLock<Arc<Site>> = OnceLock::new();

/// Called once by `main` with the table compiled into the binary (empty when the build
/// embedded nothing). The ETags are computed here, once.
pub fn embed(files: Files) {
    if files.is_empty() {
        return;
    }
    let site = Site::new(files.iter().map(|(p, b)| (*p, Bytes::from_static(b))));
    let _ = EMBEDDED.set(Arc::new(site));
}

/// The embedded site, if this binary carries one.
pub fn embedded() -> Option<Arc<Site>> {
    EMBEDDED.get().cloned()
}

/// One line for `tessera --version` and the startup log: whether the site is embedded.
pub fn describe() -> String {
    match embedded() {
        Some(site) => format!(
            "site embedded ({} files, {} KiB)",
            site.files.len(),
            site.total_bytes().div_ceil(1024)
        ),
        None => "site not embedded (served from --site-root)".to_owned(),
    }
}

/// A set of files served from memory.
#[derive(Debug)]
pub struct Site {
    files: HashMap<Box<str>, File>,
}

#[derive(Debug)]
struct File {
    body: Bytes,
    content_type: HeaderValue,
    etag: HeaderValue,
}

impl Site {
    /// `files`: paths relative to the site root (`pkg/tessera.js`) and their contents.
    pub fn new<'a>(files: impl IntoIterator<Item = (&'a str, Bytes)>) -> Site {
        let files = files
            .into_iter()
            .map(|(path, body)| {
                let path = path.trim_start_matches('/');
                let file = File {
                    content_type: HeaderValue::from_static(content_type(path)),
                    etag: etag(&body),
                    body,
                };
                (path.into(), file)
            })
            .collect();
        Site { files }
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn total_bytes(&self) -> usize {
        self.files.values().map(|f| f.body.len()).sum()
    }

    /// The response for a request of `path` (the URI's path), or `None` when the site has
    /// no such file or the method is neither GET nor HEAD: the caller's fallback answers
    /// (the Leptos 404 page). The caller's layers add the security headers.
    pub fn respond(&self, method: &Method, path: &str, headers: &HeaderMap) -> Option<Response> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let file = self.files.get(path.strip_prefix('/')?)?;
        let not_modified = headers
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| matches_etag(v, &file.etag)));
        let mut res = if not_modified {
            // RFC 9110 §15.4.5: a 304 carries the ETag and Cache-Control a 200 would.
            Response::builder().status(StatusCode::NOT_MODIFIED).body(Body::empty())
        } else {
            // HEAD: hyper sends the headers (Content-Length included) and drops the body.
            Response::builder()
                .header(header::CONTENT_TYPE, file.content_type.clone())
                .header(header::CONTENT_LENGTH, file.body.len())
                .body(Body::from(file.body.clone()))
        }
        .ok()?;
        let h = res.headers_mut();
        h.insert(header::ETAG, file.etag.clone());
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        Some(res)
    }
}

/// The router's fallback: `site`'s file when it has the requested one, else `files` (the
/// Leptos handler: the site directory's file, or the 404 page).
pub fn or_else<S, F, Fut>(
    site: Option<Arc<Site>>,
    files: F,
) -> impl Fn(Uri, State<S>, Request<Body>) -> Pin<Box<dyn Future<Output = Response> + Send>> + Clone + Send + Sync + 'static
where
    S: Send + Sync + 'static,
    F: Fn(Uri, State<S>, Request<Body>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    move |uri, state, req| {
        if let Some(res) = site
            .as_ref()
            .and_then(|s| s.respond(req.method(), uri.path(), req.headers()))
        {
            return Box::pin(std::future::ready(res));
        }
        Box::pin(files(uri, state, req))
    }
}

/// RFC 9110 §13.1.2: `If-None-Match` is `*` or a list of entity tags, compared weakly.
fn matches_etag(header: &str, etag: &HeaderValue) -> bool {
    let ours = etag.as_bytes();
    header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).as_bytes() == ours)
}

/// A strong validator: the first 16 bytes of the contents' SHA-256, quoted.
fn etag(body: &[u8]) -> HeaderValue {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body);
    let hex: String = digest.as_ref()[..16].iter().map(|b| format!("{b:02x}")).collect();
    HeaderValue::from_str(&format!("\"{hex}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// The media type by extension, for what a Leptos site holds. `.wasm` must be
/// `application/wasm`: browsers refuse to compile a module while it streams otherwise
/// (`WebAssembly.instantiateStreaming`).
fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e).to_ascii_lowercase();
    match ext.as_str() {
        "wasm" => "application/wasm",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const WASM: &[u8] = b"\0asm\x01\0\0\0";

    fn site() -> Site {
        Site::new([
            ("pkg/tessera.wasm", Bytes::from_static(WASM)),
            ("pkg/tessera.js", Bytes::from_static(b"export default 1;")),
            ("pkg/tessera.css", Bytes::from_static(b"body{}")),
            ("favicon.svg", Bytes::from_static(b"<svg/>")),
            ("blob.bin", Bytes::from_static(b"x")),
        ])
    }

    fn get(site: &Site, method: Method, path: &str, inm: Option<&str>) -> Option<Response> {
        let mut headers = HeaderMap::new();
        if let Some(v) = inm {
            headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
        }
        site.respond(&method, path, &headers)
    }

    fn h(res: &Response, name: header::HeaderName) -> &str {
        res.headers().get(name).unwrap().to_str().unwrap()
    }

    async fn body(res: Response) -> Bytes {
        axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap()
    }

    #[tokio::test]
    async fn serves_each_file_with_its_type_and_validators() {
        let site = site();
        for (path, ty, bytes) in [
            ("/pkg/tessera.wasm", "application/wasm", WASM),
            (
                "/pkg/tessera.js",
                "text/javascript; charset=utf-8",
                b"export default 1;".as_slice(),
            ),
            ("/pkg/tessera.css", "text/css; charset=utf-8", b"body{}"),
            ("/favicon.svg", "image/svg+xml", b"<svg/>"),
            ("/blob.bin", "application/octet-stream", b"x"),
        ] {
            let res = get(&site, Method::GET, path, None).unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert_eq!(h(&res, header::CONTENT_TYPE), ty, "{path}");
            assert_eq!(h(&res, header::CACHE_CONTROL), "no-cache");
            assert_eq!(h(&res, header::CONTENT_LENGTH), bytes.len().to_string());
            let tag = h(&res, header::ETAG).to_owned();
            assert!(tag.len() == 34 && tag.starts_with('"') && tag.ends_with('"'), "{tag}");
            assert_eq!(body(res).await, bytes, "{path}");
        }
        assert_eq!(site.len(), 5);
        assert_eq!(site.total_bytes(), WASM.len() + 17 + 6 + 6 + 1);
    }

    #[tokio::test]
    async fn etags_differ_by_content_and_revalidate_to_304() {
        let site = site();
        let js = get(&site, Method::GET, "/pkg/tessera.js", None).unwrap();
        let css = get(&site, Method::GET, "/pkg/tessera.css", None).unwrap();
        let tag = h(&js, header::ETAG).to_owned();
        assert_ne!(tag, h(&css, header::ETAG));

        for inm in [tag.clone(), format!("W/{tag}"), format!("\"other\", {tag}"), "*".into()] {
            let res = get(&site, Method::GET, "/pkg/tessera.js", Some(&inm)).unwrap();
            assert_eq!(res.status(), StatusCode::NOT_MODIFIED, "{inm}");
            assert_eq!(h(&res, header::ETAG), tag);
            assert_eq!(h(&res, header::CACHE_CONTROL), "no-cache");
            assert!(body(res).await.is_empty());
        }
        // Another file's tag, or a stale one: the full file.
        let css_tag = h(&css, header::ETAG).to_owned();
        let res = get(&site, Method::GET, "/pkg/tessera.js", Some(&css_tag)).unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(body(res).await, b"export default 1;".as_slice());
    }

    #[tokio::test]
    async fn head_has_the_headers_of_get() {
        let res = get(&site(), Method::HEAD, "/pkg/tessera.wasm", None).unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(h(&res, header::CONTENT_TYPE), "application/wasm");
        assert_eq!(h(&res, header::CONTENT_LENGTH), WASM.len().to_string());
    }

    #[test]
    fn unknown_paths_and_other_methods_fall_through() {
        let site = site();
        for path in [
            "/",
            "/pkg",
            "/pkg/",
            "/pkg/other.js",
            "pkg/tessera.js",
            "/PKG/tessera.js",
            "/login",
        ] {
            assert!(get(&site, Method::GET, path, None).is_none(), "{path}");
        }
        for m in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
            assert!(get(&site, m.clone(), "/pkg/tessera.js", None).is_none(), "{m}");
        }
    }

    #[test]
    fn nothing_is_embedded_in_a_test_build() {
        assert!(embedded().is_none());
        assert!(describe().contains("not embedded"));
    }
}
