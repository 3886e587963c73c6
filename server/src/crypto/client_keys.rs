//! Clients' public keys, and the check of what clients sign with them: `private_key_jwt`
//! assertions (RFC 7523) and request objects (RFC 9101). An inline JWK Set is parsed once
//! per content; a `jwks_uri` is fetched with a timeout and a size cap, kept per URI for
//! [`JWKS_URI_CACHE_TTL`], fetched again on an unknown `kid` at most once per
//! [`JWKS_URI_MIN_REFETCH`], and never followed to another host. The rules (which keys,
//! which algorithms, which claims) are the core's (`tessera_core::client_keys`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Map, Value};
use tessera_core::client_keys::{alg_allowed, check_jwks_uri, key_fits_alg};
use tessera_core::policy::{
    CLIENT_JWKS_MAX_BYTES, CLIENT_JWKS_MAX_KEYS, JWKS_URI_CACHE_TTL, JWKS_URI_FETCH_TIMEOUT_SECS, JWKS_URI_MIN_REFETCH,
};
use tessera_core::store::Client;

/// One usable public key of a client.
struct Key {
    kid: Option<String>,
    /// The JWK's members, for [`key_fits_alg`].
    jwk: Map<String, Value>,
    decoding: DecodingKey,
}

type Keys = Arc<Vec<Key>>;

/// What is known of one `jwks_uri`.
#[derive(Default)]
struct Remote {
    keys: Option<Keys>,
    fetched_at: i64,
    last_attempt: Option<i64>,
}

/// More entries than this and a cache starts over (a bound, not an eviction policy:
/// registered clients are few, and each entry is refilled on its next use).
const MAX_CACHED: usize = 10_000;

/// The keys of every client that has any, as verifiers. One per server (in `AppState`).
pub struct ClientKeys {
    /// `None` if the HTTP client could not be built (then `jwks_uri` clients fail, logged).
    http: Option<reqwest::Client>,
    /// client_id → (the JWK Set text it was parsed from, its keys).
    inline: Mutex<HashMap<String, (String, Keys)>>,
    /// jwks_uri → its state; the async lock makes concurrent misses wait for one fetch.
    remote: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Remote>>>>,
}

impl Default for ClientKeys {
    fn default() -> Self {
        Self {
            http: outbound_http(Duration::from_secs(JWKS_URI_FETCH_TIMEOUT_SECS), None, false),
            inline: Mutex::default(),
            remote: Mutex::default(),
        }
    }
}

/// Name resolution that refuses a name with any internal address
/// ([`crate::http::client_metadata::internal`]). It runs when the connection is made, so the
/// address checked is the address connected to: a name that answers with a public address
/// for an earlier check and an internal one for the fetch (DNS rebinding) is refused.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: the connector sets the URL's port on every address returned.
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            public_addresses(&host, addrs).map_err(Into::into)
        })
    }
}

/// `addrs` if there are some and none is internal.
fn public_addresses(host: &str, addrs: Vec<std::net::SocketAddr>) -> Result<reqwest::dns::Addrs, String> {
    if addrs.is_empty() {
        return Err(format!("{host} has no address"));
    }
    if let Some(a) = addrs.iter().find(|a| crate::http::client_metadata::internal(a.ip())) {
        return Err(format!("{host} resolves to the internal address {}", a.ip()));
    }
    Ok(Box::new(addrs.into_iter()))
}

/// An HTTP client for fetching what clients publish (a `jwks_uri`, a client metadata
/// document): the whole request within `timeout`; redirects only within the same scheme,
/// host and port, at most three (what a client publishes comes from the client's own
/// server); `extra_root` trusted besides the public roots; with `public_only`, names are
/// resolved by [`PublicOnly`] (connections to internal addresses refused). `None` if it
/// cannot be built (logged).
pub fn outbound_http(
    timeout: Duration,
    extra_root: Option<reqwest::Certificate>,
    public_only: bool,
) -> Option<reqwest::Client> {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().cloned();
        let same = first.is_some_and(|f| {
            f.scheme() == attempt.url().scheme()
                && f.host_str() == attempt.url().host_str()
                && f.port_or_known_default() == attempt.url().port_or_known_default()
        });
        if attempt.previous().len() > 3 || !same {
            attempt.stop()
        } else {
            attempt.follow()
        }
    });
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(policy)
        .user_agent(concat!("tessera/", env!("CARGO_PKG_VERSION")));
    if let Some(root) = extra_root {
        builder = builder.add_root_certificate(root);
    }
    if public_only {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    builder
        .build()
        .map_err(|e| tracing::error!(error = %e, "cannot build the outbound HTTP client"))
        .ok()
}

/// GET `uri` with `accept`: a success status (a redirect not followed is an error), at
/// most `max_bytes` of body, read chunk by chunk so a larger one is never held. Returns
/// the body and the `Cache-Control` header. The error is the log's detail.
pub async fn get_capped(
    http: &reqwest::Client,
    uri: &str,
    accept: &str,
    max_bytes: usize,
) -> Result<(Vec<u8>, Option<String>), String> {
    let mut res = http
        .get(uri)
        .header(reqwest::header::ACCEPT, accept)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "timed out".to_owned()
            } else {
                // With its causes: "resolves to the internal address …" is one.
                let mut detail = format!("request failed: {e}");
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    detail.push_str(&format!(": {cause}"));
                    source = cause.source();
                }
                detail
            }
        })?;
    if !res.status().is_success() {
        return Err(format!("answered {}", res.status()));
    }
    let too_big = || format!("larger than {max_bytes} bytes");
    if res.content_length().is_some_and(|n| n > max_bytes as u64) {
        return Err(too_big());
    }
    let cache_control = res
        .headers()
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = Vec::new();
    loop {
        let chunk = res.chunk().await.map_err(|e| {
            if e.is_timeout() {
                "timed out".to_owned()
            } else {
                format!("reading failed: {e}")
            }
        })?;
        let Some(chunk) = chunk else { break };
        if body.len() + chunk.len() > max_bytes {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, cache_control))
}

/// Parses a JWK Set into the keys Tessera can verify with; keys it cannot use are
/// skipped (a `jwks_uri` may publish encryption keys too), private ones included: only
/// public members are ever read, but a set that publishes private keys is not trusted.
fn parse_keys(set: &Value) -> Result<Vec<Key>, String> {
    let list = set.get("keys").and_then(Value::as_array).ok_or("not a JWK Set")?;
    let mut keys = Vec::new();
    for raw in list.iter().take(CLIENT_JWKS_MAX_KEYS) {
        let Some(members) = raw.as_object() else { continue };
        if ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]
            .iter()
            .any(|m| members.contains_key(*m))
        {
            return Err("the JWK Set holds a private or symmetric key".into());
        }
        let Ok(jwk) = serde_json::from_value::<Jwk>(raw.clone()) else {
            continue;
        };
        let Ok(decoding) = DecodingKey::from_jwk(&jwk) else {
            continue;
        };
        keys.push(Key {
            kid: members.get("kid").and_then(Value::as_str).map(str::to_owned),
            jwk: members.clone(),
            decoding,
        });
    }
    if keys.is_empty() {
        return Err("no usable key in the JWK Set".into());
    }
    Ok(keys)
}

impl ClientKeys {
    /// The client's keys; `kid` is the one wanted, for a `jwks_uri` a reason to fetch
    /// again (rate-limited) when it is unknown. The error is the log's detail.
    async fn keys_for(&self, client: &Client, issuer: &str, kid: Option<&str>, now: i64) -> Result<Keys, String> {
        if let Some(text) = &client.settings.jwks {
            return self.inline_keys(&client.client_id, text);
        }
        let Some(uri) = &client.settings.jwks_uri else {
            return Err("the client has no registered keys".into());
        };
        // Registered under the rules; checked again here, as the issuer may have changed.
        check_jwks_uri(uri, issuer).map_err(|_| format!("jwks_uri {uri:?} is not allowed for this issuer"))?;
        let entry = {
            let mut remote = self.remote.lock().map_err(|_| "key cache poisoned")?;
            if remote.len() >= MAX_CACHED && !remote.contains_key(uri) {
                remote.clear();
            }
            remote.entry(uri.clone()).or_default().clone()
        };
        let mut state = entry.lock().await;
        let fresh = state.keys.is_some() && now - state.fetched_at < JWKS_URI_CACHE_TTL;
        let has_kid = |keys: &Keys| kid.is_none_or(|kid| keys.iter().any(|k| k.kid.as_deref() == Some(kid)));
        if let Some(keys) = state.keys.as_ref().filter(|k| fresh && has_kid(k)) {
            return Ok(keys.clone());
        }
        // Stale, never fetched, or the kid is unknown: fetch, unless fetched (or tried)
        // too recently — then what we have, if fresh.
        if state.last_attempt.is_some_and(|t| now - t < JWKS_URI_MIN_REFETCH) {
            return match &state.keys {
                Some(keys) if fresh => Ok(keys.clone()),
                _ => Err(format!(
                    "jwks_uri {uri:?}: no fresh keys, and fetched less than {JWKS_URI_MIN_REFETCH} s ago"
                )),
            };
        }
        state.last_attempt = Some(now);
        match self.fetch(uri).await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                state.keys = Some(keys.clone());
                state.fetched_at = now;
                Ok(keys)
            }
            Err(e) => {
                tracing::warn!(jwks_uri = %uri, error = %e, "fetching a client's jwks_uri failed");
                match &state.keys {
                    Some(keys) if fresh => Ok(keys.clone()),
                    _ => Err(format!("jwks_uri {uri:?}: {e}")),
                }
            }
        }
    }

    fn inline_keys(&self, client_id: &str, text: &str) -> Result<Keys, String> {
        let mut inline = self.inline.lock().map_err(|_| "key cache poisoned")?;
        if let Some((parsed_from, keys)) = inline.get(client_id) {
            if parsed_from == text {
                return Ok(keys.clone());
            }
        }
        let set: Value = serde_json::from_str(text).map_err(|e| format!("stored jwks: {e}"))?;
        let keys = Arc::new(parse_keys(&set)?);
        if inline.len() >= MAX_CACHED {
            inline.clear();
        }
        inline.insert(client_id.to_owned(), (text.to_owned(), keys.clone()));
        Ok(keys)
    }

    /// GET the JWK Set: a success status, at most [`CLIENT_JWKS_MAX_BYTES`], JSON.
    async fn fetch(&self, uri: &str) -> Result<Vec<Key>, String> {
        let http = self.http.as_ref().ok_or("no HTTP client")?;
        let (body, _) = get_capped(
            http,
            uri,
            "application/jwk-set+json, application/json",
            CLIENT_JWKS_MAX_BYTES,
        )
        .await?;
        let set: Value = serde_json::from_slice(&body).map_err(|_| "not JSON")?;
        parse_keys(&set)
    }

    /// Verifies a compact JWS the client signed, with the client's registered keys only:
    /// at most `max_bytes`, an algorithm from [`tessera_core::client_keys::CLIENT_JWS_ALGS`]
    /// (`none` and HMAC never), the key named by `kid`, or without one each key that fits
    /// the algorithm; a `typ` in `refused_typs` (compared case-insensitively) is refused, to
    /// keep one kind of JWT from passing for another (RFC 8725 §3.11). Returns the claims,
    /// none of them checked yet (the core's rules do that, with the time passed in). The
    /// error is the log's detail.
    pub async fn verify(
        &self,
        client: &Client,
        issuer: &str,
        jws: &str,
        max_bytes: usize,
        refused_typs: &[&str],
        now: i64,
    ) -> Result<Map<String, Value>, String> {
        if jws.len() > max_bytes {
            return Err(format!("longer than {max_bytes} bytes"));
        }
        // An unknown `alg` (`none` among them) fails here: jsonwebtoken has no such algorithm.
        let header = jsonwebtoken::decode_header(jws).map_err(|e| format!("unreadable JWS header: {e}"))?;
        let alg = format!("{:?}", header.alg);
        if !alg_allowed(&alg) {
            return Err(format!("alg {alg} is not accepted from clients"));
        }
        // FAPI 2.0 §5.4: a client under the profile signs (assertions, request objects) with
        // PS256, ES256 or EdDSA only.
        if client.settings.fapi2 && !tessera_core::fapi::allows_alg(&alg) {
            return Err(format!("alg {alg} is not allowed under FAPI 2.0"));
        }
        if let Some(typ) = header.typ.as_deref() {
            let bare = typ.strip_prefix("application/").unwrap_or(typ);
            if refused_typs.iter().any(|t| t.eq_ignore_ascii_case(bare)) {
                return Err(format!("typ {typ} is not accepted here"));
            }
        }
        let kid = header.kid.as_deref();
        let keys = self.keys_for(client, issuer, kid, now).await?;
        let candidates: Vec<&Key> = keys
            .iter()
            .filter(|k| kid.is_none_or(|kid| k.kid.as_deref() == Some(kid)))
            .filter(|k| key_fits_alg(&k.jwk, &alg))
            .collect();
        if candidates.is_empty() {
            return Err(format!("no registered key for kid {kid:?} and alg {alg}"));
        }
        let mut validation = Validation::new(header.alg);
        // The claims are the core's to check, against the time passed in.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims = HashSet::new();
        for key in candidates {
            if let Ok(data) = jsonwebtoken::decode::<Map<String, Value>>(jws, &key.decoding, &validation) {
                return Ok(data.claims);
            }
        }
        Err("signature does not verify with any registered key".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn public_addresses_only() {
        let addr = |s: &str| -> SocketAddr { s.parse().unwrap() };
        assert!(public_addresses("a.example", vec![addr("93.184.216.34:0")]).is_ok());
        let mixed = public_addresses("a.example", vec![addr("93.184.216.34:0"), addr("10.0.0.1:0")]);
        assert!(mixed.is_err_and(|e| e.contains("internal address 10.0.0.1")));
        assert!(public_addresses("a.example", vec![addr("[::1]:0")]).is_err());
        assert!(public_addresses("a.example", vec![]).is_err());
    }

    /// The rule holds where the connection is made: a name that resolves to loopback is not
    /// connected to, though a server answers there (what DNS rebinding would reach).
    #[tokio::test]
    async fn public_only_client_does_not_connect_to_internal_addresses() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
                    .await;
            }
        });
        let url = format!("http://localhost:{port}/doc");
        let open = outbound_http(Duration::from_secs(5), None, false).unwrap();
        assert_eq!(open.get(&url).send().await.unwrap().status(), 200);
        let public = outbound_http(Duration::from_secs(5), None, true).unwrap();
        let err = public.get(&url).send().await.unwrap_err();
        let chain = {
            let mut s = err.to_string();
            let mut src = std::error::Error::source(&err);
            while let Some(e) = src {
                s.push_str(&format!(": {e}"));
                src = e.source();
            }
            s
        };
        assert!(chain.contains("resolves to the internal address"), "{chain}");
    }
}
