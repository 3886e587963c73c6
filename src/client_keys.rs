//! Client keys (RFC 7591 §2 `jwks` / `jwks_uri`) and the claims of what clients sign with
//! them: `private_key_jwt` assertions (RFC 7523 §3, OIDC Core §9) and request objects
//! (RFC 9101). Pure rules; fetching a `jwks_uri` and checking signatures are the server's
//! (`server/src/crypto/client_keys.rs`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::error::{ErrorCode, OAuthError};
use crate::policy::{
    CLIENT_ASSERTION_MAX_AHEAD, CLIENT_CLOCK_SKEW, CLIENT_JWKS_MAX_BYTES, CLIENT_JWKS_MAX_KEYS, JWKS_URI_MAX_BYTES,
    REQUEST_OBJECT_MAX_AHEAD,
};

/// RFC 7523 §2.2: the `client_assertion_type` of a JWT client assertion.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The JWS algorithms accepted from clients, for assertions and request objects (the
/// FAPI 2.0 set plus RS256). `none` and the HMAC algorithms never: a client's keys are
/// public, so an HMAC "signature" keyed by one would prove nothing.
pub const CLIENT_JWS_ALGS: [&str; 4] = ["RS256", "PS256", "ES256", "EdDSA"];

/// RFC 9101 §10.8: the `typ` a request object may carry (`application/` omitted).
pub const REQUEST_OBJECT_TYP: &str = "oauth-authz-req+jwt";

/// Whether a client may sign with `alg` (JWA names are case-sensitive, RFC 7518 §3.1).
pub fn alg_allowed(alg: &str) -> bool {
    CLIENT_JWS_ALGS.contains(&alg)
}

/// JWK members that only private (or symmetric) keys have: RFC 7518 §6.2.2 (EC `d`),
/// §6.3.2 (RSA `d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`), §6.4 (`oct` `k`), RFC 8037 §2 (OKP `d`).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

fn str_member<'a>(key: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    key.get(name).and_then(Value::as_str)
}

/// Whether `key` (a JWK) can verify a signature made with `alg`: the key type and curve
/// fit (RFC 7518 §3.3–3.5, RFC 8037 §3.1), its `alg` if given is `alg`, and its `use` if
/// given is `sig` (RFC 7517 §4.2).
pub fn key_fits_alg(key: &Map<String, Value>, alg: &str) -> bool {
    if str_member(key, "alg").is_some_and(|a| a != alg) {
        return false;
    }
    if str_member(key, "use").is_some_and(|u| u != "sig") {
        return false;
    }
    match (str_member(key, "kty"), alg) {
        (Some("RSA"), "RS256" | "PS256") => true,
        (Some("EC"), "ES256") => str_member(key, "crv") == Some("P-256"),
        (Some("OKP"), "EdDSA") => str_member(key, "crv") == Some("Ed25519"),
        _ => false,
    }
}

/// One key of a client's JWK Set, checked: public members only, a type we verify with.
fn check_key(key: &Value) -> Result<(), String> {
    let key = key.as_object().ok_or("Each key must be a JSON object.")?;
    if let Some(m) = PRIVATE_MEMBERS.iter().find(|m| key.contains_key(**m)) {
        return Err(format!(
            "A key has the private member \u{201c}{m}\u{201d}: register public keys only."
        ));
    }
    let kty = str_member(key, "kty").ok_or("Each key needs a \u{201c}kty\u{201d}.")?;
    let members: &[&str] = match kty {
        "RSA" => &["n", "e"],
        "EC" => &["crv", "x", "y"],
        "OKP" => &["crv", "x"],
        other => {
            return Err(format!(
                "Key type \u{201c}{other}\u{201d} is not supported: use RSA, EC (P-256) or OKP (Ed25519)."
            ))
        }
    };
    if let Some(m) = members.iter().find(|m| str_member(key, m).is_none_or(str::is_empty)) {
        return Err(format!("A {kty} key lacks \u{201c}{m}\u{201d}."));
    }
    if key.get("kid").is_some_and(|k| !k.is_string()) {
        return Err("A \u{201c}kid\u{201d} must be a string.".into());
    }
    if !CLIENT_JWS_ALGS.iter().any(|alg| key_fits_alg(key, alg)) {
        return Err(format!(
            "A key fits none of {}: check its kty, crv, alg and use.",
            CLIENT_JWS_ALGS.join(", ")
        ));
    }
    Ok(())
}

/// RFC 7517 §5: a JWK Set of public keys Tessera can verify client signatures with, of
/// bounded size. The error is worded for the console (field `jwks`).
pub fn check_jwks(raw: &str) -> Result<(), String> {
    if raw.len() > CLIENT_JWKS_MAX_BYTES {
        return Err(format!("Use at most {CLIENT_JWKS_MAX_BYTES} bytes."));
    }
    let set: Value = serde_json::from_str(raw).map_err(|_| "Give a JWK Set: JSON like {\"keys\": [...]}.")?;
    let keys = set
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("Give a JWK Set: JSON like {\"keys\": [...]}.")?;
    if keys.is_empty() || keys.len() > CLIENT_JWKS_MAX_KEYS {
        return Err(format!("List from 1 to {CLIENT_JWKS_MAX_KEYS} keys."));
    }
    keys.iter().try_for_each(check_key)?;
    let mut kids: Vec<&str> = keys
        .iter()
        .filter_map(|k| k.get("kid").and_then(Value::as_str))
        .collect();
    let n = kids.len();
    kids.sort_unstable();
    kids.dedup();
    if kids.len() != n {
        return Err("Two keys have the same \u{201c}kid\u{201d}.".into());
    }
    Ok(())
}

/// Whether `url`'s host is a loopback address or `localhost`.
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// Whether plain http `jwks_uri`s on loopback hosts are allowed: only when the issuer
/// itself is http on loopback (local development and tests).
pub fn loopback_http_allowed(issuer: &str) -> bool {
    url::Url::parse(issuer).is_ok_and(|u| u.scheme() == "http" && is_loopback(&u))
}

/// RFC 7591 §2 `jwks_uri`: https (the keys must come from the client, not from whoever
/// is on the path), no fragment, bounded length; http only on loopback when the issuer is
/// loopback ([`loopback_http_allowed`]). The error is worded for the console.
pub fn check_jwks_uri(raw: &str, issuer: &str) -> Result<(), String> {
    let https = "Give an absolute https URL (http only on loopback, for a loopback issuer).";
    if raw.len() > JWKS_URI_MAX_BYTES {
        return Err(format!("Use at most {JWKS_URI_MAX_BYTES} bytes."));
    }
    let url = url::Url::parse(raw).map_err(|_| https.to_owned())?;
    if url.host_str().is_none_or(str::is_empty) || url.fragment().is_some() || !url.username().is_empty() {
        return Err(https.into());
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&url) && loopback_http_allowed(issuer) => Ok(()),
        _ => Err(https.into()),
    }
}

/// The claims of a compact JWS, unverified: for deciding which client an assertion names
/// before its keys are known. Never trust what this returns beyond that.
pub fn peek_claims(jws: &str) -> Option<Map<String, Value>> {
    let mut parts = jws.split('.');
    let (_, payload, _, None) = (parts.next()?, parts.next()?, parts.next()?, parts.next()) else {
        return None;
    };
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A NumericDate (RFC 7519 §2): seconds, possibly fractional; read as whole seconds.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, String> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => match v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)) {
            Some(n) => Ok(Some(n)),
            None => Err(format!("{name} is not a number")),
        },
    }
}

/// RFC 7519 §4.1.3: `aud` is a string or an array of strings.
fn audience(claims: &Map<String, Value>) -> Vec<&str> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// `exp` required and not passed (with [`CLIENT_CLOCK_SKEW`]) nor more than `max_ahead`
/// away; `nbf` and `iat`, if present, not in the future (RFC 7519 §4.1.4–4.1.6).
fn check_times(claims: &Map<String, Value>, max_ahead: i64, now: i64) -> Result<i64, String> {
    let exp = numeric_date(claims, "exp")?.ok_or("no exp")?;
    if exp + CLIENT_CLOCK_SKEW <= now {
        return Err(format!("expired at {exp} (now {now})"));
    }
    if exp > now + max_ahead + CLIENT_CLOCK_SKEW {
        return Err(format!("exp {exp} is more than {max_ahead} s ahead (now {now})"));
    }
    for name in ["nbf", "iat"] {
        if let Some(t) = numeric_date(claims, name)? {
            if t > now + CLIENT_CLOCK_SKEW {
                return Err(format!("{name} {t} is in the future (now {now})"));
            }
        }
    }
    Ok(exp)
}

/// What a verified assertion leaves to remember: its `jti` until `remember_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionId {
    pub jti: String,
    /// `exp` plus the tolerated skew: after that the assertion is refused as expired anyway.
    pub remember_until: i64,
}

/// The longest `jti` accepted (bytes); it is stored hashed, but parsed first.
const MAX_JTI: usize = 256;

/// RFC 7523 §3 and OIDC Core §9: the claims of a `private_key_jwt` assertion whose
/// signature the caller verified with `client_id`'s keys. `audiences` are the values that
/// name this server (the issuer, the endpoint URLs). The error is the log's detail; the
/// client always sees invalid_client.
pub fn check_assertion(
    claims: &Map<String, Value>,
    client_id: &str,
    audiences: &[String],
    now: i64,
) -> Result<AssertionId, String> {
    // RFC 7523 §3 item 1 / OIDC Core §9: iss is the client_id.
    if str_member(claims, "iss") != Some(client_id) {
        return Err("iss is not the client_id".into());
    }
    // RFC 8725 §2.8 (cross-JWT confusion): a request object, which travels through the
    // browser, is signed with the same keys; it is never an assertion.
    if claims.contains_key("response_type") {
        return Err("a request object (response_type), not an assertion".into());
    }
    // RFC 7523 §3 item 2.B: sub is the client_id.
    if str_member(claims, "sub") != Some(client_id) {
        return Err("sub is not the client_id".into());
    }
    // RFC 7523 §3 item 3: aud identifies this server (the issuer or the endpoint URL).
    let aud = audience(claims);
    if !aud.iter().any(|a| audiences.iter().any(|ours| ours == a)) {
        return Err(format!("aud {aud:?} does not name this server"));
    }
    // RFC 7523 §3 items 4–6, with a short window for exp (policy).
    let exp = check_times(claims, CLIENT_ASSERTION_MAX_AHEAD, now)?;
    // OIDC Core §9: jti is REQUIRED; RFC 7523 §3 item 7 lets us refuse a replay of it.
    let jti = str_member(claims, "jti")
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI)
        .ok_or("no jti (or one longer than 256 bytes)")?;
    Ok(AssertionId {
        jti: jti.to_owned(),
        remember_until: exp + CLIENT_CLOCK_SKEW,
    })
}

/// JWT claims of a request object that are not authorization request parameters.
const JWT_ONLY_CLAIMS: [&str; 6] = ["iss", "aud", "exp", "nbf", "iat", "jti"];

fn invalid_object(detail: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequestObject, "invalid request object").with_detail(detail)
}

/// RFC 9101 §4–§6: the claims of a request object whose signature the caller verified
/// with `client_id`'s keys, checked (`iss` = client_id, `aud` = issuer, `exp` required and
/// short, `nbf`, `client_id`), then returned as the authorization request's parameters
/// (`client_id` included). Values are strings; numbers become their text; anything else
/// (booleans, null, arrays, objects: `claims` and `authorization_details` among them) is
/// refused, as no parameter Tessera reads takes them.
pub fn request_object_params(
    claims: &Map<String, Value>,
    client_id: &str,
    issuer: &str,
    now: i64,
) -> Result<Vec<(String, String)>, OAuthError> {
    // RFC 9101 §4 (and FAPI 2.0 Message Signing §5.3.1): iss is the client_id.
    if str_member(claims, "iss") != Some(client_id) {
        return Err(invalid_object("iss is not the client_id"));
    }
    // RFC 9101 §4: aud is (or contains) the issuer.
    if !audience(claims).contains(&issuer) {
        return Err(invalid_object(format!("aud {:?} is not the issuer", audience(claims))));
    }
    check_times(claims, REQUEST_OBJECT_MAX_AHEAD, now).map_err(invalid_object)?;
    // RFC 9101 §5: client_id inside the object is the client's (and §6.3: the one outside).
    if str_member(claims, "client_id") != Some(client_id) {
        return Err(invalid_object("client_id claim missing or not the client"));
    }
    // RFC 9101 §4: request and request_uri MUST NOT be inside a request object.
    if claims.contains_key("request") || claims.contains_key("request_uri") {
        return Err(invalid_object("request or request_uri inside the request object"));
    }
    let mut pairs = Vec::with_capacity(claims.len());
    for (name, value) in claims {
        if JWT_ONLY_CLAIMS.contains(&name.as_str()) {
            continue;
        }
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(invalid_object(format!("{name} is not a string or number"))),
        };
        pairs.push((name.clone(), text));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    const RSA: &str = r#"{"kty":"RSA","n":"0vx7","e":"AQAB"}"#;
    const EC: &str = r#"{"kty":"EC","crv":"P-256","x":"f83O","y":"x_FE"}"#;
    const OKP: &str = r#"{"kty":"OKP","crv":"Ed25519","x":"11qY"}"#;

    #[test]
    fn jwks_rules() {
        let set = |keys: &str| format!(r#"{{"keys":[{keys}]}}"#);
        #[rustfmt::skip]
        let table: Vec<(String, bool)> = vec![
            (set(RSA), true),
            (set(EC), true),
            (set(OKP), true),
            (set(&format!("{RSA},{EC},{OKP}")), true),
            (set(r#"{"kty":"RSA","n":"a","e":"AQAB","alg":"PS256","use":"sig","kid":"1"}"#), true),
            // Private members.
            (set(r#"{"kty":"RSA","n":"a","e":"AQAB","d":"x"}"#), false),
            (set(r#"{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"x"}"#), false),
            (set(r#"{"kty":"RSA","n":"a","e":"AQAB","p":"x"}"#), false),
            (set(r#"{"kty":"oct","k":"c2VjcmV0"}"#), false),
            // Unusable: wrong curve, alg or use; missing members; no kty.
            (set(r#"{"kty":"EC","crv":"P-384","x":"a","y":"b"}"#), false),
            (set(r#"{"kty":"RSA","n":"a","e":"AQAB","alg":"HS256"}"#), false),
            (set(r#"{"kty":"RSA","n":"a","e":"AQAB","alg":"RS512"}"#), false),
            (set(r#"{"kty":"RSA","n":"a","e":"AQAB","use":"enc"}"#), false),
            (set(r#"{"kty":"RSA","n":"a"}"#), false),
            (set(r#"{"n":"a","e":"AQAB"}"#), false),
            (set(r#"{"kty":"RSA","n":"a","e":"AQAB","kid":1}"#), false),
            // Duplicate kid, no keys, not a set.
            (set(r#"{"kty":"OKP","crv":"Ed25519","x":"a","kid":"k"},{"kty":"OKP","crv":"Ed25519","x":"b","kid":"k"}"#), false),
            (set(""), false),
            (RSA.to_owned(), false),
            ("not json".to_owned(), false),
            (format!(r#"{{"keys":[{}]}}"#, vec![OKP; CLIENT_JWKS_MAX_KEYS + 1].join(",")), false),
            (format!(r#"{{"keys":[{OKP}],"pad":"{}"}}"#, "x".repeat(CLIENT_JWKS_MAX_BYTES)), false),
        ];
        for (raw, ok) in &table {
            assert_eq!(check_jwks(raw).is_ok(), *ok, "{raw:.120} {:?}", check_jwks(raw));
        }
    }

    #[test]
    fn jwks_uri_rules() {
        let https = "https://id.example.com";
        let local = "http://127.0.0.1:3000";
        #[rustfmt::skip]
        let table = [
            ("https://client.example.com/jwks.json", https, true),
            ("https://client.example.com/jwks.json", local, true),
            ("http://127.0.0.1:8080/jwks", local, true),
            ("http://localhost:8080/jwks", "http://localhost:3000", true),
            ("http://127.0.0.1:8080/jwks", https, false),
            ("http://client.example.com/jwks", local, false),
            ("https://client.example.com/jwks#k", https, false),
            ("https://user@client.example.com/jwks", https, false),
            ("ftp://client.example.com/jwks", https, false),
            ("/jwks", https, false),
        ];
        for (uri, issuer, ok) in table {
            assert_eq!(check_jwks_uri(uri, issuer).is_ok(), ok, "{uri} {issuer}");
        }
        assert!(check_jwks_uri(&format!("https://c.example/{}", "a".repeat(JWKS_URI_MAX_BYTES)), https).is_err());
    }

    #[test]
    fn key_fits() {
        let rsa = map(serde_json::from_str(RSA).unwrap());
        assert!(key_fits_alg(&rsa, "RS256") && key_fits_alg(&rsa, "PS256"));
        assert!(!key_fits_alg(&rsa, "ES256") && !key_fits_alg(&rsa, "HS256"));
        let ec = map(serde_json::from_str(EC).unwrap());
        assert!(key_fits_alg(&ec, "ES256") && !key_fits_alg(&ec, "RS256"));
        let okp = map(serde_json::from_str(OKP).unwrap());
        assert!(key_fits_alg(&okp, "EdDSA") && !key_fits_alg(&okp, "ES256"));
        for alg in ["none", "HS256", "RS512", "ES384", "rs256"] {
            assert!(!alg_allowed(alg), "{alg}");
        }
    }

    #[test]
    fn peek() {
        let payload = URL_SAFE_NO_PAD.encode(r#"{"sub":"app"}"#);
        assert_eq!(peek_claims(&format!("e30.{payload}.sig")).unwrap()["sub"], json!("app"));
        assert!(peek_claims(&format!("e30.{payload}")).is_none());
        assert!(peek_claims(&format!("e30.{payload}.s.x")).is_none());
        assert!(peek_claims("e30.!!!.s").is_none());
        assert!(peek_claims(&format!("e30.{}.s", URL_SAFE_NO_PAD.encode("[1]"))).is_none());
    }

    #[test]
    fn assertion_rules() {
        const NOW: i64 = 1_000_000;
        let now = NOW;
        let aud = vec!["https://as.example".to_owned(), "https://as.example/token".to_owned()];
        let good = json!({"iss":"app","sub":"app","aud":"https://as.example/token","exp":now+60,"iat":now,"jti":"j1"});
        let with = |f: &dyn Fn(&mut Map<String, Value>)| {
            let mut m = map(good.clone());
            f(&mut m);
            check_assertion(&m, "app", &aud, now)
        };
        assert_eq!(
            with(&|_| {}),
            Ok(AssertionId {
                jti: "j1".into(),
                remember_until: now + 60 + CLIENT_CLOCK_SKEW
            })
        );
        type Edit = Box<dyn Fn(&mut Map<String, Value>)>;
        #[rustfmt::skip]
        let table: Vec<(Edit, bool)> = vec![
            (Box::new(|m| { m.insert("aud".into(), json!(["x", "https://as.example"])); }), true),
            (Box::new(|m| { m.insert("aud".into(), json!("https://other.example/token")); }), false),
            (Box::new(|m| { m.remove("aud"); }), false),
            (Box::new(|m| { m.insert("iss".into(), json!("other")); }), false),
            (Box::new(|m| { m.insert("sub".into(), json!("other")); }), false),
            (Box::new(|m| { m.remove("sub"); }), false),
            (Box::new(|m| { m.remove("exp"); }), false),
            (Box::new(|m| { m.insert("exp".into(), json!("soon")); }), false),
            (Box::new(|m| { m.insert("exp".into(), json!(NOW - CLIENT_CLOCK_SKEW)); }), false),
            (Box::new(|m| { m.insert("exp".into(), json!(NOW - 10)); }), true), // within skew
            (Box::new(|m| { m.insert("exp".into(), json!(NOW + CLIENT_ASSERTION_MAX_AHEAD + CLIENT_CLOCK_SKEW + 1)); }), false),
            (Box::new(|m| { m.insert("exp".into(), json!(NOW + CLIENT_ASSERTION_MAX_AHEAD)); }), true),
            (Box::new(|m| { m.insert("exp".into(), json!((NOW + 30) as f64 + 0.5)); }), true),
            (Box::new(|m| { m.insert("iat".into(), json!(NOW + CLIENT_CLOCK_SKEW + 1)); }), false),
            (Box::new(|m| { m.insert("nbf".into(), json!(NOW + CLIENT_CLOCK_SKEW + 1)); }), false),
            (Box::new(|m| { m.insert("nbf".into(), json!(NOW)); }), true),
            (Box::new(|m| { m.remove("jti"); }), false),
            (Box::new(|m| { m.insert("jti".into(), json!("")); }), false),
            (Box::new(|m| { m.insert("jti".into(), json!("x".repeat(257))); }), false),
            (Box::new(|m| { m.insert("response_type".into(), json!("code")); }), false),
        ];
        for (i, (edit, ok)) in table.iter().enumerate() {
            assert_eq!(with(edit.as_ref()).is_ok(), *ok, "row {i}: {:?}", with(edit.as_ref()));
        }
    }

    #[test]
    fn request_object_rules() {
        const NOW: i64 = 1_000_000;
        let now = NOW;
        let iss = "https://as.example";
        let good = json!({
            "iss": "app", "aud": iss, "exp": now + 300, "nbf": now, "iat": now, "jti": "r1",
            "client_id": "app", "response_type": "code", "scope": "openid", "max_age": 60,
        });
        let mut got = request_object_params(&map(good.clone()), "app", iss, now).unwrap();
        got.sort();
        let want: Vec<(String, String)> = [
            ("client_id", "app"),
            ("max_age", "60"),
            ("response_type", "code"),
            ("scope", "openid"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(got, want);
        type Edit = Box<dyn Fn(&mut Map<String, Value>)>;
        #[rustfmt::skip]
        let table: Vec<Edit> = vec![
            Box::new(|m| { m.insert("iss".into(), json!("other")); }),
            Box::new(|m| { m.insert("aud".into(), json!("https://other.example")); }),
            Box::new(|m| { m.remove("exp"); }),
            Box::new(|m| { m.insert("exp".into(), json!(NOW - 3600)); }),
            Box::new(|m| { m.insert("exp".into(), json!(NOW + REQUEST_OBJECT_MAX_AHEAD + CLIENT_CLOCK_SKEW + 1)); }),
            Box::new(|m| { m.insert("nbf".into(), json!(NOW + 3600)); }),
            Box::new(|m| { m.remove("client_id"); }),
            Box::new(|m| { m.insert("client_id".into(), json!("other")); }),
            Box::new(|m| { m.insert("request_uri".into(), json!("urn:x")); }),
            Box::new(|m| { m.insert("request".into(), json!("a.b.c")); }),
            Box::new(|m| { m.insert("claims".into(), json!({"userinfo": {}})); }),
            Box::new(|m| { m.insert("prompt".into(), json!(["login"])); }),
            Box::new(|m| { m.insert("state".into(), json!(true)); }),
        ];
        for (i, edit) in table.iter().enumerate() {
            let mut m = map(good.clone());
            edit(&mut m);
            let e = request_object_params(&m, "app", iss, now).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidRequestObject, "row {i}");
            assert!(e.detail.is_some());
        }
    }
}
