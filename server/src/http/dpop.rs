//! DPoP proofs (RFC 9449) as requests carry them: the one `DPoP` header, its signature
//! checked with the key in its own header (jsonwebtoken's `DecodingKey::from_jwk`), the
//! core's rules ([`tessera_core::dpop`]), server nonces (§8) and replay checks (§11.1).
//!
//! Replay state: at `/token` and `/par` a proof's `jti` is recorded in the shared store
//! (`Store::first_use`, one row per token request, seen by every instance). At a protected
//! resource it is recorded in this process only ([`ResourceReplay`]): a database write per
//! API call would cost more than the rest of the call (see the README's "DPoP").

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;

use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::hmac;
use axum::http::HeaderMap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tessera_core::dpop::{self, invalid_proof, Expected, ProofClaims, ProofHeader};
use tessera_core::error::OAuthError;
use tessera_core::policy::DPOP_MAX_PROOF_BYTES;
use tessera_core::store::User;

use crate::crypto::issue::AccessClaims;
use crate::crypto::server_secret::ServerSecret;
use crate::http::bearer::{authorize_bearer, invalid_token, Scheme};
use crate::http::response::server_error;
use crate::web::AppState;

/// The request header carrying a proof (RFC 9449 §4.1).
pub const DPOP: &str = "dpop";
/// The response header carrying a server nonce (RFC 9449 §8.1).
pub const DPOP_NONCE: &str = "dpop-nonce";

/// A proof whose signature and claims checked out for its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The RFC 7638 thumbprint of the proof's key: what tokens are bound to (`cnf.jkt`).
    pub jkt: String,
    /// The JWS `alg` it was signed with.
    pub alg: String,
    pub jti: String,
    pub iat: i64,
    pub nonce: Option<String>,
}

/// RFC 9449 §4.3 check 1: at most one `DPoP` header; `None` when there is none. Bounded
/// in size before anything is decoded.
pub fn proof_header(headers: &HeaderMap) -> Result<Option<&str>, OAuthError> {
    let mut values = headers.get_all(DPOP).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(invalid_proof("more than one DPoP header"));
    }
    if first.len() > DPOP_MAX_PROOF_BYTES {
        return Err(invalid_proof(format!("DPoP header of {} bytes", first.len())));
    }
    first
        .to_str()
        .map(|s| Some(s.trim()))
        .map_err(|_| invalid_proof("DPoP header is not ASCII"))
}

/// RFC 9449 §4.3 on one proof for the request `expected`: a well-formed JWS (check 2), the
/// header rules and the key's thumbprint (checks 4, 5, 7: the core's), the signature with
/// the header's key (check 6), and the claims (checks 3, 8, 9, 11, 12: the core's). The
/// nonce (check 10) and the replay check are the callers' (they differ by endpoint).
pub fn verify_proof(proof: &str, expected: &Expected<'_>, now: i64) -> Result<Proof, OAuthError> {
    if proof.len() > DPOP_MAX_PROOF_BYTES {
        return Err(invalid_proof("proof too large"));
    }
    // §4.3 check 2: one well-formed compact JWS.
    let mut parts = proof.split('.');
    let (Some(header_b64), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(invalid_proof("not a compact JWS"));
    };
    let header_json = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| invalid_proof("header is not base64url"))?;
    let raw: serde_json::Value =
        serde_json::from_slice(&header_json).map_err(|_| invalid_proof("header is not JSON"))?;
    let header: ProofHeader = serde_json::from_value(raw.clone()).map_err(|e| invalid_proof(format!("header: {e}")))?;
    let jkt = dpop::check_header(&header)?;
    // §4.3 check 6: the signature, with the key the header carries (checked public above).
    let alg = Algorithm::from_str(&header.alg).map_err(|_| invalid_proof("alg"))?;
    let jwk: Jwk = serde_json::from_value(raw["jwk"].clone()).map_err(|e| invalid_proof(format!("jwk: {e}")))?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| invalid_proof(format!("jwk: {e}")))?;
    let mut validation = Validation::new(alg);
    // Time is the core's check (iat), against the time passed in; a proof has no exp or aud.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims::<&str>(&[]);
    let claims = jsonwebtoken::decode::<ProofClaims>(proof, &key, &validation)
        .map_err(|e| invalid_proof(format!("signature or claims: {e}")))?
        .claims;
    dpop::check_claims(&claims, expected, now)?;
    let (Some(jti), Some(iat)) = (claims.jti, claims.iat) else {
        return Err(invalid_proof("no jti or iat"));
    };
    Ok(Proof {
        jkt,
        alg: header.alg,
        jti,
        iat,
        nonce: claims.nonce,
    })
}

/// Stateless server nonces (RFC 9449 §8): an HMAC of the time slot under a key derived from
/// the server secret, so every instance with the same secret makes and accepts the same
/// ones, with nothing stored. Accepted in the slot it was made in and either neighbour.
fn nonce_for_slot(key: &hmac::Key, slot: i64) -> String {
    URL_SAFE_NO_PAD.encode(hmac::sign(key, &slot.to_be_bytes()).as_ref())
}

fn nonce_key(secret: &ServerSecret) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, &secret.derive("tessera dpop nonce"))
}

/// A fresh nonce to hand out (`DPoP-Nonce`).
pub fn fresh_nonce(secret: &ServerSecret, now: i64) -> String {
    nonce_for_slot(&nonce_key(secret), dpop::nonce_slot(now))
}

/// Whether `nonce` is one this deployment made for the current slot or a neighbour.
pub fn nonce_is_current(secret: &ServerSecret, nonce: &str, now: i64) -> bool {
    let key = nonce_key(secret);
    let slot = dpop::nonce_slot(now);
    [slot - 1, slot, slot + 1].iter().fold(false, |ok, s| {
        let want = nonce_for_slot(&key, *s);
        ok | (want.len() == nonce.len()
            && aws_lc_rs::constant_time::verify_slices_are_equal(want.as_bytes(), nonce.as_bytes()).is_ok())
    })
}

/// RFC 9449 §8: the nonce rule at an endpoint that issues nonces. With nonces required
/// (`--dpop-nonce`) a proof must carry a current one; without, a proof that carries one
/// must carry a current one (the client asked to be held to it). Otherwise `use_dpop_nonce`,
/// answered with a fresh nonce in `DPoP-Nonce`.
pub fn check_nonce(state: &AppState, proof: &Proof, now: i64) -> Result<(), OAuthError> {
    match proof.nonce.as_deref() {
        None if state.dpop_nonce_required => Err(dpop::use_nonce("nonce required")),
        None => Ok(()),
        Some(n) if nonce_is_current(&state.secret, n, now) => Ok(()),
        Some(_) => Err(dpop::use_nonce("stale or unknown nonce")),
    }
}

/// The endpoint URL a proof's `htu` must name: the issuer and the path, never the `Host`
/// header (which the client chooses).
pub fn endpoint_url(state: &AppState, path: &str) -> String {
    format!("{}{path}", state.issuer.trim_end_matches('/'))
}

/// The proof at an authorization-server endpoint (`/token`, `/par`): none if the request
/// has no `DPoP` header, else checked for `method` and this server's `path` (signature,
/// claims, nonce). Not yet recorded: call [`record_use`] once everything else about the
/// request checked out.
pub fn endpoint_proof(
    state: &AppState,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    now: i64,
) -> Result<Option<Proof>, OAuthError> {
    let Some(raw) = proof_header(headers)? else {
        return Ok(None);
    };
    let url = endpoint_url(state, path);
    let expected = Expected {
        method,
        url: &url,
        access_token: None,
    };
    let proof = verify_proof(raw, &expected, now)?;
    check_nonce(state, &proof, now)?;
    Ok(Some(proof))
}

/// RFC 9449 §11.1: a proof is used once, on any instance (the shared store), remembered
/// until its `iat` window has passed. A replay is `invalid_dpop_proof`.
pub async fn record_use(state: &AppState, proof: &Proof, now: i64) -> Result<(), OAuthError> {
    let first = state
        .db
        .store
        .first_use("dpop", &replay_key(proof), dpop::remember_until(proof.iat), now)
        .await
        .map_err(server_error)?;
    if first {
        Ok(())
    } else {
        Err(invalid_proof("jti replayed"))
    }
}

/// What identifies a use: the key and the `jti` it chose (another key's equal `jti` is
/// another proof).
fn replay_key(proof: &Proof) -> String {
    format!("{}.{}", proof.jkt, proof.jti)
}

/// RFC 9449 §8: `res` with a fresh `DPoP-Nonce`: on a success answering a DPoP request (for
/// the client's next proof) and on use_dpop_nonce (to retry with).
pub fn with_fresh_nonce(state: &AppState, mut res: axum::response::Response, now: i64) -> axum::response::Response {
    if let Ok(v) = axum::http::HeaderValue::from_str(&fresh_nonce(&state.secret, now)) {
        res.headers_mut().insert(DPOP_NONCE, v);
    }
    res
}

/// For `/par` (RFC 9449 §10.1): the thumbprint of the proof's key if the request carries a
/// `DPoP` header, after every check including the nonce and the replay check. `None`
/// without a header. Call it once the rest of the request checked out (it records the `jti`).
pub async fn verified_jkt(
    state: &AppState,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    now: i64,
) -> Result<Option<String>, OAuthError> {
    let Some(proof) = endpoint_proof(state, headers, method, path, now)? else {
        return Ok(None);
    };
    record_use(state, &proof, now).await?;
    Ok(Some(proof.jkt))
}

/// Proofs seen at the protected resources of this process (RFC 9449 §11.1), until their
/// `iat` window has passed. Two generations, each [`GENERATION`] seconds long: a use is
/// remembered for at least one whole generation after it was recorded, longer than any
/// proof stays acceptable; the older generation is dropped whole. Bounded: past
/// [`MAX_ENTRIES`] the older generation is dropped early (replays older than the time
/// since are then not caught here, only under abnormal load).
#[derive(Default)]
pub struct ResourceReplay {
    inner: Mutex<Generations>,
}

#[derive(Default)]
struct Generations {
    started: i64,
    current: HashMap<[u8; 16], ()>,
    previous: HashMap<[u8; 16], ()>,
}

/// A proof's `iat` is accepted within the window either side of now, and its use is
/// refused while remembered: one generation must outlast both sides of the window.
pub const GENERATION: i64 = 2 * tessera_core::policy::DPOP_IAT_WINDOW + 1;
/// About 40 MB at the most (16-byte keys, both generations).
pub const MAX_ENTRIES: usize = 1 << 20;

impl ResourceReplay {
    /// True the first time this process sees the proof (within its window).
    pub fn first_use(&self, proof: &Proof, now: i64) -> bool {
        let d = digest(&SHA256, replay_key(proof).as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&d.as_ref()[..16]);
        let Ok(mut g) = self.inner.lock() else {
            return false;
        };
        if now >= g.started.saturating_add(GENERATION) || g.current.len() + g.previous.len() >= MAX_ENTRIES {
            g.previous = std::mem::take(&mut g.current);
            g.started = now;
        }
        if g.previous.contains_key(&key) {
            return false;
        }
        g.current.insert(key, ()).is_none()
    }
}

/// A refusal at a protected resource, and the scheme its `WWW-Authenticate` challenge uses.
#[derive(Debug)]
pub struct Refusal {
    pub error: OAuthError,
    pub scheme: Scheme,
}

/// The access token presented to a protected resource (`method` on this server's `path`),
/// checked as RFC 6750 and RFC 9449 §7 say:
/// - `Bearer`: the token as [`authorize_bearer`] checks it; a DPoP-bound one is refused
///   (§7.2: never accepted as a bearer token), with a `DPoP` challenge.
/// - `DPoP`: exactly one proof (§7.1), valid for this request with `ath` the token's hash,
///   the token itself, bound to the proof's key (§4.3 check 12), and the proof not seen
///   before by this process ([`ResourceReplay`]).
pub async fn authorize_resource(
    state: &AppState,
    headers: &HeaderMap,
    presented: Option<(Scheme, &str)>,
    method: &str,
    path: &str,
    audience: Option<&str>,
    now: i64,
) -> Result<(AccessClaims, Option<User>), Refusal> {
    let dpop_refusal = |error| Refusal {
        error,
        scheme: Scheme::DPoP,
    };
    let (scheme, token) = match presented {
        Some((scheme, token)) => (scheme, Some(token)),
        None => (Scheme::Bearer, None),
    };
    if scheme == Scheme::Bearer {
        let (claims, user) = authorize_bearer(state, token, audience, now)
            .await
            .map_err(|error| Refusal {
                error,
                scheme: Scheme::Bearer,
            })?;
        // RFC 9449 §7.2: a DPoP-bound token needs its proof; as Bearer it is refused.
        if claims.jkt().is_some() {
            return Err(dpop_refusal(invalid_token("DPoP-bound token presented as Bearer")));
        }
        return Ok((claims, user));
    }
    let raw = proof_header(headers)
        .map_err(dpop_refusal)?
        .ok_or_else(|| dpop_refusal(invalid_proof("DPoP scheme without a DPoP header")))?;
    let url = endpoint_url(state, path);
    let expected = Expected {
        method,
        url: &url,
        access_token: token,
    };
    let proof = verify_proof(raw, &expected, now).map_err(dpop_refusal)?;
    let (claims, user) = authorize_bearer(state, token, audience, now)
        .await
        .map_err(dpop_refusal)?;
    // RFC 9449 §4.3 check 12: the token is bound to the proof's key.
    match claims.jkt() {
        Some(jkt) if jkt == proof.jkt => {}
        Some(_) => return Err(dpop_refusal(invalid_token("token bound to another DPoP key"))),
        None => {
            return Err(dpop_refusal(invalid_token(
                "DPoP scheme with a token that is not DPoP-bound",
            )))
        }
    }
    // RFC 9449 §11.1: once, in this process (see the module's opening).
    if !state.dpop_replay.first_use(&proof, now) {
        return Err(dpop_refusal(invalid_proof("jti replayed")));
    }
    Ok((claims, user))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proof(jti: &str) -> Proof {
        Proof {
            jkt: "k".into(),
            alg: "ES256".into(),
            jti: jti.into(),
            iat: 0,
            nonce: None,
        }
    }

    #[test]
    fn resource_replay_remembers_a_whole_generation() {
        let r = ResourceReplay::default();
        let now = 1_800_000_000;
        assert!(r.first_use(&proof("a"), now));
        assert!(!r.first_use(&proof("a"), now));
        assert!(r.first_use(&proof("b"), now));
        // Still remembered a generation later (in the previous one), gone after two.
        assert!(!r.first_use(&proof("a"), now + GENERATION));
        assert!(r.first_use(&proof("a"), now + 2 * GENERATION + 1));
        // Another key's equal jti is another proof.
        let other = Proof {
            jkt: "other".into(),
            ..proof("b")
        };
        assert!(r.first_use(&other, now + 2 * GENERATION + 1));
    }

    #[test]
    fn nonces_rotate_by_slot_and_need_the_secret() {
        let secret = ServerSecret::new(&"s".repeat(40), &[]).unwrap();
        let other = ServerSecret::new(&"t".repeat(40), &[]).unwrap();
        let slot = tessera_core::policy::DPOP_NONCE_SLOT;
        let now = 1_800_000_000 - 1_800_000_000 % slot;
        let n = fresh_nonce(&secret, now);
        assert_eq!(n.len(), 43);
        assert!(nonce_is_current(&secret, &n, now));
        assert!(nonce_is_current(&secret, &n, now + slot - 1));
        assert!(
            nonce_is_current(&secret, &n, now + 2 * slot - 1),
            "the next slot accepts it"
        );
        assert!(
            !nonce_is_current(&secret, &n, now + 2 * slot),
            "two slots on it is stale"
        );
        assert!(nonce_is_current(&secret, &n, now - 1), "an instance a little behind");
        assert!(!nonce_is_current(&other, &n, now), "another deployment's");
        assert!(!nonce_is_current(&secret, "", now));
    }
}
