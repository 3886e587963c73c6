//! Resource indicators (RFC 8707): which API (resource server, [`crate::store::Api`]) an
//! access token is for. This module reads the `resource` parameter and decides a token's
//! audience; the server looks the identifiers up among the registered APIs.
//!
//! One audience per access token, as node-oidc-provider issues them: several resources
//! may be authorized at `/authorize`, and each token request names (or implies) one.

use crate::error::{ErrorCode, OAuthError};
use crate::policy::{API_IDENTIFIER_MAX_BYTES, MAX_RESOURCES};
use crate::types::ScopeSet;

/// The parameter's name at `/authorize`, `/par` and `/token` (RFC 8707 §2).
pub const PARAM: &str = "resource";

/// The identifier of the sample protected resource (`/api/resource`) under `issuer`:
/// `<issuer>/api`, the audience of tokens issued without a `resource`.
pub fn sample_identifier(issuer: &str) -> String {
    format!("{}/api", issuer.trim_end_matches('/'))
}

/// RFC 8707 §2: an absolute URI (RFC 3986 §4.3) without a fragment component. Bounded in
/// length, no whitespace; compared as written (no normalisation), like redirect URIs.
pub fn parse_identifier(raw: &str) -> Result<&str, &'static str> {
    if raw.is_empty() {
        return Err("Give the API's identifier, an absolute URI.");
    }
    if raw.len() > API_IDENTIFIER_MAX_BYTES {
        return Err("The identifier is too long (at most 512 bytes).");
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("The identifier must not contain spaces.");
    }
    // RFC 8707 §2: "MUST NOT include a fragment component".
    if raw.contains('#') {
        return Err("The identifier must not contain a fragment (#).");
    }
    // RFC 8707 §2: "MUST be an absolute URI": a scheme, then the rest.
    match url::Url::parse(raw) {
        Ok(_) => Ok(raw),
        Err(_) => Err("The identifier must be an absolute URI, such as https://api.example.com/."),
    }
}

fn invalid_target(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidTarget, description)
}

/// The `resource` values of a request, each checked by [`parse_identifier`], repeats kept
/// once, in the order sent. RFC 8707 §2: the parameter may repeat; a malformed value is
/// `invalid_target`. Empty values count as omitted (RFC 6749 §3.1).
pub fn requested(pairs: &[(String, String)]) -> Result<Vec<String>, OAuthError> {
    let mut out: Vec<String> = Vec::new();
    for (_, value) in pairs.iter().filter(|(k, v)| k == PARAM && !v.is_empty()) {
        let id = parse_identifier(value).map_err(|e| {
            invalid_target("resource must be an absolute URI without a fragment")
                .with_detail(format!("{e} ({value:?})"))
        })?;
        if !out.iter().any(|o| o == id) {
            out.push(id.to_owned());
        }
        if out.len() > MAX_RESOURCES {
            return Err(invalid_target("too many resource parameters"));
        }
    }
    Ok(out)
}

/// RFC 8707 §2.2: the one API a token issued now is for. `requested` is the token
/// request's `resource` values; `authorized` what the grant covers (the authorization
/// request's resources for a code or a refresh token; the client's allowed APIs for
/// client_credentials), empty when it named none.
///
/// - none requested: the single authorized resource, if there is exactly one; `None`
///   (the default audience) if none was; with several, the client must choose.
/// - one requested: it must be among those authorized (when any were).
/// - several requested: refused; an access token has one audience here.
pub fn audience(requested: &[String], authorized: &[String]) -> Result<Option<String>, OAuthError> {
    match (requested, authorized) {
        ([], []) => Ok(None),
        ([], [only]) => Ok(Some(only.clone())),
        ([], _) => Err(invalid_target("several resources were authorized; name one")),
        ([one], []) => Ok(Some(one.clone())),
        ([one], list) if list.contains(one) => Ok(Some(one.clone())),
        ([one], _) => {
            Err(invalid_target("resource was not authorized for this grant").with_detail(format!("resource {one:?}")))
        }
        _ => Err(invalid_target("one resource per token request")),
    }
}

/// The scopes an access token for an API carries: those granted that belong to the API.
/// A scope the API does not list (`openid` included, unless the API lists it) stays out.
pub fn scopes_for(granted: &ScopeSet, api_scopes: &ScopeSet) -> ScopeSet {
    granted.intersection(api_scopes)
}

/// Identifiers as a column keeps them: space-separated (an identifier has no spaces).
pub fn join(ids: &[String]) -> String {
    ids.join(" ")
}

/// The inverse of [`join`].
pub fn split(raw: &str) -> Vec<String> {
    raw.split_whitespace().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::pairs;

    #[test]
    fn identifier_rules() {
        // (raw, accepted)
        #[rustfmt::skip]
        let table: &[(&str, bool)] = &[
            ("https://api.example.com", true),
            ("https://api.example.com/v1/", true),
            ("https://api.example.com/?tenant=a", true),
            ("urn:example:billing", true),
            ("http://localhost:8080/api", true),
            // RFC 8707 §2: absolute, no fragment.
            ("/api", false),
            ("api.example.com", false),
            ("https://api.example.com/#x", false),
            ("https://api.example.com/#", false),
            ("", false),
            ("https://api.example.com/a b", false),
            ("https://api.example.com/\n", false),
        ];
        for (raw, ok) in table {
            assert_eq!(parse_identifier(raw).is_ok(), *ok, "{raw:?}");
        }
        let long = format!("https://a.example/{}", "x".repeat(API_IDENTIFIER_MAX_BYTES));
        assert!(parse_identifier(&long).unwrap_err().contains("too long"));
        assert!(parse_identifier(&long[..API_IDENTIFIER_MAX_BYTES]).is_ok());
        assert!(parse_identifier("https://a.example/#f")
            .unwrap_err()
            .contains("fragment"));
    }

    #[test]
    fn requested_values() {
        let a = "https://a.example/";
        let b = "https://b.example/";
        // (form, expected list or error)
        #[rustfmt::skip]
        type Row<'a> = (Vec<(&'a str, &'a str)>, Result<Vec<&'a str>, ErrorCode>);
        let table: Vec<Row> = vec![
            (vec![], Ok(vec![])),
            (vec![("resource", "")], Ok(vec![])),
            (vec![("resource", a)], Ok(vec![a])),
            // RFC 8707 §2: may repeat; kept once each.
            (vec![("resource", a), ("resource", b), ("resource", a)], Ok(vec![a, b])),
            (vec![("resource", "relative/path")], Err(ErrorCode::InvalidTarget)),
            (
                vec![("resource", a), ("resource", "https://b.example/#frag")],
                Err(ErrorCode::InvalidTarget),
            ),
            (vec![("scope", "openid")], Ok(vec![])),
        ];
        for (form, want) in table {
            let got = requested(&pairs(&form)).map_err(|e| e.code);
            let want = want.map(|v| v.into_iter().map(String::from).collect::<Vec<_>>());
            assert_eq!(got, want, "{form:?}");
        }
        let many: Vec<(String, String)> = (0..=MAX_RESOURCES)
            .map(|i| ("resource".to_owned(), format!("https://r{i}.example/")))
            .collect();
        assert_eq!(requested(&many).unwrap_err().code, ErrorCode::InvalidTarget);
        assert_eq!(requested(&many[..MAX_RESOURCES]).unwrap().len(), MAX_RESOURCES);
    }

    #[test]
    fn audience_rules() {
        let a = || "https://a.example/".to_owned();
        let b = || "https://b.example/".to_owned();
        // (requested, authorized, expected audience or error)
        #[rustfmt::skip]
        type Row = (Vec<String>, Vec<String>, Result<Option<String>, ErrorCode>);
        let table: Vec<Row> = vec![
            (vec![], vec![], Ok(None)),
            (vec![], vec![a()], Ok(Some(a()))),
            (vec![], vec![a(), b()], Err(ErrorCode::InvalidTarget)),
            (vec![a()], vec![], Ok(Some(a()))),
            (vec![a()], vec![a(), b()], Ok(Some(a()))),
            // RFC 8707 §2.2: not among those authorized.
            (vec![b()], vec![a()], Err(ErrorCode::InvalidTarget)),
            (vec![a(), b()], vec![a(), b()], Err(ErrorCode::InvalidTarget)),
        ];
        for (req, auth, want) in table {
            assert_eq!(audience(&req, &auth).map_err(|e| e.code), want, "{req:?} {auth:?}");
        }
    }

    #[test]
    fn scopes_and_columns() {
        let granted = ScopeSet::parse("openid profile billing:read").unwrap();
        let api = ScopeSet::parse("billing:read billing:write").unwrap();
        assert_eq!(scopes_for(&granted, &api).to_string(), "billing:read");
        let ids = vec!["https://a.example/".to_owned(), "urn:b".to_owned()];
        assert_eq!(split(&join(&ids)), ids);
        assert!(split("").is_empty());
    }
}
