//! Reading access tokens this server signed ([`verify_access_token`]), and the access
//! tokens this process has already verified, remembered until they expire.
//!
//! A resource server presents the same access token many times in its lifetime (every API
//! call, or every introspection). Checking its ES256 signature costs ~50 µs of CPU each
//! time (`tessera-bench floors`: ~20k verifications/s per core), more than everything
//! else such a request does. The outcome cannot change while the token lives and its key
//! stays published, so it is computed once.
//!
//! What is remembered: the claims of a token whose signature, `typ`, issuer and expiry
//! passed [`KeySet::verify`](crate::crypto::jwt::KeySet::verify), under the SHA-256 of the token
//! (the token itself is not kept), with the `kid` that signed it. A hit still checks, every
//! time, that the `kid` is published now (a key that stopped being published takes its
//! tokens with it), the expiry against the current time, and the audience the caller asks
//! for. Revocation and the user's state are the callers' checks on every request, as
//! before. Failures are never remembered.

use std::collections::HashMap;
use std::sync::RwLock;

use aws_lc_rs::digest::{digest, SHA256};

use crate::crypto::issue::AccessClaims;
use crate::crypto::jwt::{KeySet, VerifyError, ACCESS_TOKEN_TYP, LEEWAY_SECS};
use crate::web::AppState;

/// Bound on entries (~0.5 KB each). Past it, expired ones go, and if that is not enough,
/// all of them: the next use of each token verifies it again.
const MAX_ENTRIES: usize = 8192;

struct Verified {
    kid: String,
    claims: AccessClaims,
}

#[derive(Default)]
pub struct VerifiedTokens {
    entries: RwLock<HashMap<[u8; 32], Verified>>,
}

/// The cache key of a token: SHA-256 of its exact bytes.
pub fn token_digest(token: &str) -> [u8; 32] {
    let d = digest(&SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

impl VerifiedTokens {
    /// The claims of a token verified before, checked against `keys`, `audience` and `now`
    /// as [`KeySet::verify`] would. `None`: not seen (or its key is no longer published),
    /// verify it in full.
    pub fn check(
        &self,
        digest: &[u8; 32],
        keys: &KeySet,
        audience: Option<&str>,
        now: i64,
    ) -> Option<Result<AccessClaims, VerifyError>> {
        let entries = self.entries.read().ok()?;
        let hit = entries.get(digest)?;
        keys.get(&hit.kid)?;
        // jsonwebtoken's rule: expired once `exp` is more than the leeway in the past.
        if hit.claims.exp < now.saturating_sub(LEEWAY_SECS as i64) {
            return Some(Err(VerifyError::Expired));
        }
        if audience.is_some_and(|aud| aud != hit.claims.aud) {
            return Some(Err(VerifyError::WrongAudience));
        }
        Some(Ok(hit.claims.clone()))
    }

    /// Remembers a token that has just passed full verification with the key `kid`.
    pub fn remember(&self, digest: [u8; 32], kid: &str, claims: &AccessClaims, now: i64) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, v| v.claims.exp >= now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            digest,
            Verified {
                kid: kid.to_owned(),
                claims: claims.clone(),
            },
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.read().map(|e| e.len()).unwrap_or(0)
    }
}

/// Verifies an access token this server signed: signature by a published key, `typ`
/// at+jwt (RFC 9068 §4), issuer, expiry, and the audience when given. A `kid` this
/// instance does not know triggers one reload of the key ring first (a key rotated
/// elsewhere). A token verified before is answered from [`VerifiedTokens`], which
/// still checks its key, expiry and audience. Revocation is the caller's check (it needs
/// the store).
pub async fn verify_access_token(
    state: &AppState,
    token: &str,
    audience: Option<&str>,
    now: i64,
) -> Result<AccessClaims, VerifyError> {
    // Keys rotated or withdrawn elsewhere are seen within a minute, cache hit or not.
    state.keys.refresh_if_needed(None, now).await;
    // A token seen before: its signature is not checked again (see the module's opening).
    let digest = token_digest(token);
    if let Some(outcome) = state.verified.check(&digest, &state.keys.keys(), audience, now) {
        crate::telemetry::cache_lookup("verified_token", true);
        return outcome;
    }
    crate::telemetry::cache_lookup("verified_token", false);
    let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
    let kid = header.kid.ok_or(VerifyError::UnknownKey)?;
    state.keys.refresh_if_needed(Some(&kid), now).await;
    let claims = state
        .keys
        .keys()
        .verify::<AccessClaims>(token, ACCESS_TOKEN_TYP, &state.issuer, audience)?;
    state.verified.remember(digest, &kid, &claims, now);
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::jwt::{generate, SigningAlg};

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            iss: "https://as.example".into(),
            sub: "user-1".into(),
            aud: "https://as.example/api".into(),
            exp,
            iat: exp - 3600,
            jti: "jti-1".into(),
            client_id: "client-1".into(),
            scope: "openid".into(),
            auth_time: None,
            gid: Some("family-1".into()),
            cnf: None,
        }
    }

    #[test]
    fn a_remembered_token_is_still_checked_for_key_expiry_and_audience() {
        let now = 1_800_000_000;
        let key = generate(SigningAlg::ES256, now).unwrap();
        let other = generate(SigningAlg::ES256, now).unwrap();
        let keys = KeySet::from_stored(std::slice::from_ref(&key)).unwrap();
        let cache = VerifiedTokens::default();
        let d = token_digest("header.payload.signature");

        assert!(cache.check(&d, &keys, None, now).is_none(), "never seen");
        cache.remember(d, &key.kid, &claims(now + 60), now);
        assert_eq!(cache.check(&d, &keys, None, now), Some(Ok(claims(now + 60))));
        assert_eq!(
            cache.check(&d, &keys, Some("https://as.example/api"), now),
            Some(Ok(claims(now + 60)))
        );
        assert_eq!(
            cache.check(&d, &keys, Some("https://elsewhere.example"), now),
            Some(Err(VerifyError::WrongAudience))
        );
        // Within the leeway still valid, past it expired — as jsonwebtoken decides.
        let leeway = LEEWAY_SECS as i64;
        assert!(matches!(cache.check(&d, &keys, None, now + 60 + leeway), Some(Ok(_))));
        assert_eq!(
            cache.check(&d, &keys, None, now + 61 + leeway),
            Some(Err(VerifyError::Expired))
        );
        // Its key no longer published: not an answer from the cache (full verification
        // then refuses the token).
        let rotated = KeySet::from_stored(std::slice::from_ref(&other)).unwrap();
        assert!(cache.check(&d, &rotated, None, now).is_none());
        // Another token (one byte differs) is not this one.
        assert!(cache
            .check(&token_digest("header.payload.signaturf"), &keys, None, now)
            .is_none());
    }

    #[test]
    fn the_cache_stays_bounded_and_drops_expired_tokens_first() {
        let now = 1_800_000_000;
        let cache = VerifiedTokens::default();
        for i in 0..MAX_ENTRIES as u32 {
            let exp = if i % 2 == 0 { now - 10 } else { now + 60 };
            cache.remember(token_digest(&i.to_string()), "kid", &claims(exp), now);
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
        cache.remember(token_digest("one more"), "kid", &claims(now + 60), now);
        assert_eq!(cache.len(), MAX_ENTRIES / 2 + 1, "the expired half went");
        // All live and full: everything goes rather than growing.
        let full = VerifiedTokens::default();
        for i in 0..MAX_ENTRIES as u32 {
            full.remember(token_digest(&i.to_string()), "kid", &claims(now + 60), now);
        }
        full.remember(token_digest("one more"), "kid", &claims(now + 60), now);
        assert_eq!(full.len(), 1);
    }
}
