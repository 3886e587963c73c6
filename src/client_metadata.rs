//! OAuth Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document-03):
//! a `client_id` that is an https URL names a JSON document of the client's metadata. This
//! module holds the rules — which URLs may be client ids, what a fetched document must
//! say, how long it is kept — and turns a document into a client through the one
//! registration rule ([`crate::registration`]). The server fetches; nothing here does I/O.

use serde_json::Value;

use crate::error::OAuthError;
use crate::model::{ClientAuthMethod, GrantType};
use crate::policy::{METADATA_DOCUMENT_CACHE_MAX, METADATA_DOCUMENT_CACHE_MIN, METADATA_URL_MAX_BYTES};
use crate::registration::ClientRegistration;
use crate::store::NewClient;

/// Whether `client_id` is meant as a metadata document's URL (and not a registered id,
/// which Tessera makes without a scheme): it starts with `https://` or `http://`.
pub fn looks_like_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

fn loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// Draft §3: the client identifier URL "MUST have an https scheme, MUST contain a path
/// component, MUST NOT contain single-dot or double-dot path segments, MUST NOT contain a
/// fragment, MUST NOT contain a username or password". Plain http is accepted on a
/// loopback host when the issuer is http on loopback too (local development, tests). The
/// error is the log's detail; the client sees `invalid_request`.
pub fn check_url(raw: &str, issuer: &str) -> Result<url::Url, String> {
    if raw.len() > METADATA_URL_MAX_BYTES {
        return Err(format!("longer than {METADATA_URL_MAX_BYTES} bytes"));
    }
    let url = url::Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if loopback(&url) && crate::client_keys::loopback_http_allowed(issuer) => {}
        _ => return Err("not https (http only on loopback, for a loopback issuer)".into()),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host".into());
    }
    if raw.contains('#') {
        return Err("has a fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("has a username or password".into());
    }
    // The parser resolves dot segments: look at the text as sent.
    let path = raw
        .split_once("://")
        .map(|(_, rest)| rest)
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("");
    let path = path.split(['?']).next().unwrap_or("");
    if path.is_empty() || path == "/" {
        return Err("no path component".into());
    }
    if path
        .split('/')
        .any(|seg| seg == "." || seg == ".." || seg.eq_ignore_ascii_case("%2e") || seg.eq_ignore_ascii_case("%2e%2e"))
    {
        return Err("has a dot path segment".into());
    }
    Ok(url)
}

/// How long a fetched document is used before it is fetched again, from its
/// `Cache-Control` (draft §4.4: the server may cache it per HTTP caching, RFC 9111):
/// `max-age` within [`METADATA_DOCUMENT_CACHE_MIN`]..=[`METADATA_DOCUMENT_CACHE_MAX`];
/// `no-store`/`no-cache` the floor (the document is still needed through the flow that
/// fetched it); none given, the floor as well.
pub fn cache_seconds(cache_control: Option<&str>) -> i64 {
    let Some(value) = cache_control else {
        return METADATA_DOCUMENT_CACHE_MIN;
    };
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return METADATA_DOCUMENT_CACHE_MIN;
        }
        if let Some(n) = lower.strip_prefix("max-age=") {
            max_age = n.trim_matches('"').parse::<i64>().ok();
        }
    }
    max_age
        .unwrap_or(METADATA_DOCUMENT_CACHE_MIN)
        .clamp(METADATA_DOCUMENT_CACHE_MIN, METADATA_DOCUMENT_CACHE_MAX)
}

fn bad(description: &'static str, detail: impl Into<String>) -> OAuthError {
    OAuthError::invalid_client(description).with_detail(detail.into())
}

/// What Tessera allows a metadata-document client, beyond what its document says.
pub struct Known<'a> {
    pub issuer: &'a str,
    /// Every scope a client may list (built-in and defined).
    pub scopes: &'a [String],
    /// Every registered API's identifier.
    pub apis: &'a [String],
}

fn strings(doc: &Value, field: &str) -> Result<Option<Vec<String>>, OAuthError> {
    match doc.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| {
                bad(
                    "invalid client metadata document",
                    format!("{field} is not a list of strings"),
                )
            }),
        Some(_) => Err(bad(
            "invalid client metadata document",
            format!("{field} is not a list"),
        )),
    }
}

fn string(doc: &Value, field: &str) -> Result<Option<String>, OAuthError> {
    match doc.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(
            "invalid client metadata document",
            format!("{field} is not a string"),
        )),
    }
}

/// The client a fetched document describes, `url` being the `client_id` it was fetched
/// from. Every refusal is `invalid_client` (the client's identity could not be
/// established), its cause in the detail:
///
/// - draft §4.1: the document's `client_id` MUST equal the URL (simple string comparison);
/// - draft §4.1: no `client_secret` / `client_secret_expires_at`, and no shared-secret
///   authentication method (`client_secret_*`): a document is public;
/// - `token_endpoint_auth_method` is `none` unless the document gives keys (`jwks` or
///   `jwks_uri`), then `private_key_jwt` (RFC 7523);
/// - redirect URIs, name, logo, keys and scopes: the console's rules
///   ([`ClientRegistration::validate`]); at least one redirect URI; only the
///   authorization_code and refresh_token grants;
/// - scopes: the document's `scope` (each must exist), or with none, every scope there is
///   (the user consents to each); APIs: every registered one.
pub fn client_from_document(url: &str, body: &[u8], known: &Known<'_>) -> Result<NewClient, OAuthError> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| bad("invalid client metadata document", format!("not JSON: {e}")))?;
    if !doc.is_object() {
        return Err(bad("invalid client metadata document", "not a JSON object"));
    }
    match doc.get("client_id").and_then(Value::as_str) {
        Some(id) if id == url => {}
        other => {
            return Err(bad(
                "client_id in the metadata document does not match",
                format!("document says {other:?}, fetched from {url:?}"),
            ))
        }
    }
    if doc.get("client_secret").is_some() || doc.get("client_secret_expires_at").is_some() {
        return Err(bad(
            "invalid client metadata document",
            "a document must not hold a client_secret",
        ));
    }
    let jwks = match doc.get("jwks") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.to_string()),
        Some(_) => return Err(bad("invalid client metadata document", "jwks is not an object")),
    };
    let jwks_uri = string(&doc, "jwks_uri")?;
    let has_keys = jwks.is_some() || jwks_uri.is_some();
    let method = match string(&doc, "token_endpoint_auth_method")?.as_deref() {
        None if has_keys => ClientAuthMethod::PrivateKeyJwt,
        None | Some("none") => ClientAuthMethod::None,
        Some("private_key_jwt") => ClientAuthMethod::PrivateKeyJwt,
        Some(other) => {
            return Err(bad(
                "unsupported token_endpoint_auth_method in the metadata document",
                format!("{other:?}: only none or private_key_jwt"),
            ))
        }
    };
    if method == ClientAuthMethod::PrivateKeyJwt && !has_keys {
        return Err(bad(
            "invalid client metadata document",
            "private_key_jwt without jwks or jwks_uri",
        ));
    }
    let redirect_uris = strings(&doc, "redirect_uris")?.unwrap_or_default();
    if redirect_uris.is_empty() {
        return Err(bad("invalid client metadata document", "no redirect_uris"));
    }
    let grant_types = match strings(&doc, "grant_types")? {
        None => vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        Some(names) => {
            let mut grants = Vec::new();
            for name in names {
                match name.parse::<GrantType>() {
                    Ok(g @ (GrantType::AuthorizationCode | GrantType::RefreshToken)) => grants.push(g),
                    _ => {
                        return Err(bad(
                            "unsupported grant_types in the metadata document",
                            format!("{name:?}: only authorization_code and refresh_token"),
                        ))
                    }
                }
            }
            grants
        }
    };
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let scopes = match string(&doc, "scope")? {
        Some(s) if !s.trim().is_empty() => s,
        _ => known.scopes.join(" "),
    };
    let form = ClientRegistration {
        name: string(&doc, "client_name")?
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(host),
        logo_uri: string(&doc, "logo_uri")?.unwrap_or_default(),
        is_public: method == ClientAuthMethod::None,
        redirect_uris,
        scopes,
        grant_types: Some(grant_types),
        require_pkce: true,
        token_endpoint_auth_method: method.as_str().to_owned(),
        jwks: jwks.unwrap_or_default(),
        jwks_uri: jwks_uri.unwrap_or_default(),
        issuer: known.issuer.to_owned(),
        resources: known.apis.to_vec(),
        ..ClientRegistration::default()
    };
    let valid = form.validate(known.scopes, known.apis).map_err(|errors| {
        let detail = errors
            .iter()
            .map(|(field, e)| format!("{field}: {e}"))
            .collect::<Vec<_>>()
            .join("; ");
        if errors.contains_key("redirect_uris") {
            bad("invalid redirect_uris in the metadata document", detail)
        } else {
            bad("invalid client metadata document", detail)
        }
    })?;
    Ok(NewClient {
        client_id: url.to_owned(),
        name: valid.name,
        secret_hash: None,
        redirect_uris: valid.redirect_uris,
        scopes: valid.scopes,
        is_public: method == ClientAuthMethod::None,
        settings: valid.settings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LOOP_ISSUER: &str = "http://127.0.0.1:3000";
    const ISSUER: &str = "https://id.example.com";

    #[test]
    fn url_rules() {
        // (client_id, issuer, accepted)
        #[rustfmt::skip]
        let table: &[(&str, &str, bool)] = &[
            ("https://app.example.com/client.json", ISSUER, true),
            ("https://app.example.com:8443/oauth/client?v=1", ISSUER, true),
            // Draft §3: https, a path, no dot segments, no fragment, no user info.
            ("http://app.example.com/client.json", ISSUER, false),
            ("https://app.example.com", ISSUER, false),
            ("https://app.example.com/", ISSUER, false),
            ("https://app.example.com/a/../client.json", ISSUER, false),
            ("https://app.example.com/./client.json", ISSUER, false),
            ("https://app.example.com/client.json#x", ISSUER, false),
            ("https://user:pw@app.example.com/client.json", ISSUER, false),
            ("ftp://app.example.com/client.json", ISSUER, false),
            // Loopback http only for a loopback issuer.
            ("http://127.0.0.1:9/client.json", LOOP_ISSUER, true),
            ("http://127.0.0.1:9/client.json", ISSUER, false),
            ("http://app.example.com/client.json", LOOP_ISSUER, false),
        ];
        for (raw, issuer, ok) in table {
            assert_eq!(check_url(raw, issuer).is_ok(), *ok, "{raw} {issuer}");
        }
        assert!(looks_like_url("https://a.example/c"));
        assert!(!looks_like_url("Xy9k2_client"));
    }

    #[test]
    fn cache_lifetimes() {
        let (min, max) = (METADATA_DOCUMENT_CACHE_MIN, METADATA_DOCUMENT_CACHE_MAX);
        #[rustfmt::skip]
        let table: &[(Option<&str>, i64)] = &[
            (None, min),
            (Some("max-age=600"), 600.clamp(min, max)),
            (Some("public, max-age=1"), min),
            (Some("max-age=99999999"), max),
            (Some("no-store"), min),
            (Some("max-age=600, no-cache"), min),
            (Some("garbage"), min),
        ];
        for (header, want) in table {
            assert_eq!(cache_seconds(*header), *want, "{header:?}");
        }
    }

    fn known() -> (Vec<String>, Vec<String>) {
        (
            vec![
                "openid".into(),
                "profile".into(),
                "email".into(),
                "offline_access".into(),
            ],
            vec!["https://id.example.com/api".into()],
        )
    }

    #[test]
    fn documents() {
        let url = "https://app.example.com/client.json";
        let (scopes, apis) = known();
        let k = Known {
            issuer: ISSUER,
            scopes: &scopes,
            apis: &apis,
        };
        let ok = |doc: Value| client_from_document(url, doc.to_string().as_bytes(), &k);
        let base = json!({ "client_id": url, "client_name": "App", "redirect_uris": ["https://app.example.com/cb"] });

        let c = ok(base.clone()).unwrap();
        assert!(c.is_public);
        assert_eq!(c.client_id, url);
        assert_eq!(c.name, "App");
        assert_eq!(c.settings.token_endpoint_auth_method, "none");
        assert_eq!(c.scopes.to_string(), "email offline_access openid profile");
        assert_eq!(c.settings.resources, apis);
        assert_eq!(c.redirect_uris[0].as_str(), "https://app.example.com/cb");

        let mut named = base.clone();
        named["client_name"] = Value::Null;
        named["scope"] = json!("openid");
        let c = ok(named).unwrap();
        assert_eq!(c.name, "app.example.com");
        assert_eq!(c.scopes.to_string(), "openid");

        let jwks = json!({ "keys": [{ "kty": "EC", "crv": "P-256", "kid": "k",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" }] });
        let mut keyed = base.clone();
        keyed["jwks"] = jwks;
        let c = ok(keyed).unwrap();
        assert!(!c.is_public);
        assert_eq!(c.settings.token_endpoint_auth_method, "private_key_jwt");

        // (change, the cause the detail names)
        #[rustfmt::skip]
        let refusals: Vec<(Value, &str)> = vec![
            (json!({ "client_id": "https://other.example.com/client.json" }), "does not match"),
            (json!({ "client_id": format!("{url}/") }), "does not match"),
            (json!({ "client_id": null }), "does not match"),
            (json!({ "client_secret": "s" }), "client_secret"),
            (json!({ "token_endpoint_auth_method": "client_secret_basic" }), "only none or private_key_jwt"),
            (json!({ "token_endpoint_auth_method": "private_key_jwt" }), "without jwks"),
            (json!({ "redirect_uris": [] }), "no redirect_uris"),
            (json!({ "redirect_uris": ["http://app.example.com/cb"] }), "redirect_uris"),
            (json!({ "redirect_uris": ["https://app.example.com/cb#f"] }), "redirect_uris"),
            (json!({ "redirect_uris": "https://app.example.com/cb" }), "not a list"),
            (json!({ "grant_types": ["client_credentials"] }), "only authorization_code"),
            (json!({ "scope": "openid admin:everything" }), "scopes"),
        ];
        for (change, cause) in refusals {
            let mut doc = base.clone();
            for (k, v) in change.as_object().unwrap() {
                doc[k] = v.clone();
            }
            let e = ok(doc).unwrap_err();
            assert_eq!(e.code, crate::error::ErrorCode::InvalidClient, "{change}");
            let detail = e.detail.clone().unwrap_or_default();
            assert!(
                detail.contains(cause) || e.description.contains(cause),
                "{change}: {detail} / {}",
                e.description
            );
        }
        assert!(client_from_document(url, b"not json", &k).is_err());
        assert!(client_from_document(url, b"[1]", &k).is_err());
    }
}
