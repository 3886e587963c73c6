//! The keys that sign Tessera's JWTs: access tokens (RFC 9068, `typ: at+jwt`) and OpenID
//! Connect ID tokens (`typ: JWT`). Keys are generated here, stored in the database by the
//! caller (so every instance on one database shares them), loaded once into a [`KeySet`],
//! and published as a JWK Set (RFC 7517) for relying parties.
//!
//! Rotation: the store adds a new key for an algorithm and sets `retired_at` on the old one.
//! The newest unretired key of each algorithm signs; retired keys still verify and stay in
//! the JWKS until every token they signed has expired ([`StoredKey::still_published`]), after
//! which the caller drops them.
//!
//! Verification is jsonwebtoken's (on aws-lc-rs); signing, key generation and reading the
//! public half of a private key are aws-lc-rs's, with each private key parsed once. Nothing
//! here hand-rolls a signature check.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
    RSA_PSS_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;
use thiserror::Error;

/// `typ` header of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// `typ` header of ID tokens (RFC 7519 §5.1 recommends "JWT").
pub const ID_TOKEN_TYP: &str = "JWT";

/// Clock skew tolerated on `exp` (the policy file's `JWT_LEEWAY`).
pub const LEEWAY_SECS: u64 = tessera_core::policy::JWT_LEEWAY;

/// The JWS algorithms, named in the core so discovery, the console and the CLI share them.
pub use tessera_core::model::SigningAlg;

/// The jsonwebtoken name of `alg`, for verification.
fn jwt_alg(alg: SigningAlg) -> Algorithm {
    match alg {
        SigningAlg::RS256 => Algorithm::RS256,
        SigningAlg::ES256 => Algorithm::ES256,
        SigningAlg::EdDSA => Algorithm::EdDSA,
        SigningAlg::PS256 => Algorithm::PS256,
    }
}

/// One signing key as the database stores it.
#[derive(Clone)]
pub struct StoredKey {
    /// RFC 7638 thumbprint of the public key for keys made by [`generate`].
    pub kid: String,
    pub alg: SigningAlg,
    /// Unencrypted PKCS#8 (RFC 5208) DER of the private key.
    pub private_pkcs8_der: Vec<u8>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds when a newer key replaced it; `None` while it is the one signing.
    pub retired_at: Option<i64>,
}

impl StoredKey {
    /// Whether the key still belongs in the JWKS at `now`: active, or retired less than
    /// `max_token_lifetime` seconds ago (a token it signed may still be in use). The caller
    /// loads only these into a [`KeySet`] and may delete the rest.
    pub fn still_published(&self, now: i64, max_token_lifetime: i64) -> bool {
        self.retired_at
            .is_none_or(|retired| now < retired.saturating_add(max_token_lifetime))
    }
}

impl fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private_pkcs8_der", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish()
    }
}

/// Makes a new private key. Its `kid` is the RFC 7638 JWK thumbprint of its public key:
/// unique per key and recomputable from the published JWK.
pub fn generate(alg: SigningAlg, now: i64) -> anyhow::Result<StoredKey> {
    let rng = SystemRandom::new();
    let der = match alg {
        // PS256 gets its own RSA key, not RS256's (RFC 7518 §8: one key, one algorithm).
        SigningAlg::RS256 | SigningAlg::PS256 => aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048)
            .map_err(|e| anyhow!("generating RSA key: {e}"))?
            .as_der()
            .map_err(|e| anyhow!("encoding RSA key: {e}"))?
            .as_ref()
            .to_vec(),
        SigningAlg::ES256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|e| anyhow!("generating P-256 key: {e}"))?
            .as_ref()
            .to_vec(),
        // PKCS#8 v1, as `openssl genpkey` writes it: every Ed25519 reader accepts it.
        SigningAlg::EdDSA => Ed25519KeyPair::generate_pkcs8v1(&rng)
            .map_err(|e| anyhow!("generating Ed25519 key: {e}"))?
            .as_ref()
            .to_vec(),
    };
    let kid = PublicJwk::from_private(alg, &der)?.thumbprint();
    Ok(StoredKey {
        kid,
        alg,
        private_pkcs8_der: der,
        created_at: now,
        retired_at: None,
    })
}

/// Algorithms with no key among `keys` that is not yet retired at `now` (signing, or
/// published to sign soon): what the server must [`generate`] at start.
pub fn algs_without_active_key(keys: &[StoredKey], now: i64) -> Vec<SigningAlg> {
    SigningAlg::ALL
        .into_iter()
        .filter(|alg| {
            !keys
                .iter()
                .any(|k| k.alg == *alg && k.retired_at.is_none_or(|retired| retired > now))
        })
        .collect()
}

fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// The public members of a JWK, base64url without padding.
#[derive(Clone, Debug, PartialEq, Eq)]
enum PublicJwk {
    Rsa {
        n: String,
        e: String,
    },
    /// P-256.
    Ec {
        x: String,
        y: String,
    },
    /// Ed25519.
    Okp {
        x: String,
    },
}

impl PublicJwk {
    /// Reads the public half of a PKCS#8 private key, checking that it suits `alg`.
    fn from_private(alg: SigningAlg, der: &[u8]) -> anyhow::Result<PublicJwk> {
        match alg {
            SigningAlg::RS256 | SigningAlg::PS256 => {
                let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(der).map_err(|e| anyhow!("not an RSA key: {e}"))?;
                // RFC 7518 §3.3: 2048 bits or larger.
                if pair.public_modulus_len() < 256 {
                    bail!("RSA key shorter than 2048 bits");
                }
                let public = pair.public_key();
                Ok(PublicJwk::Rsa {
                    n: URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                    e: URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
                })
            }
            SigningAlg::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|e| anyhow!("not a P-256 key: {e}"))?;
                // SEC 1 §2.3.3 uncompressed point: 0x04 || X || Y.
                match pair.public_key().as_ref() {
                    [0x04, xy @ ..] if xy.len() == 64 => Ok(PublicJwk::Ec {
                        x: URL_SAFE_NO_PAD.encode(&xy[..32]),
                        y: URL_SAFE_NO_PAD.encode(&xy[32..]),
                    }),
                    _ => bail!("unexpected P-256 public key encoding"),
                }
            }
            SigningAlg::EdDSA => {
                let pair = Ed25519KeyPair::from_pkcs8(der).map_err(|e| anyhow!("not an Ed25519 key: {e}"))?;
                Ok(PublicJwk::Okp {
                    x: URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
                })
            }
        }
    }

    /// RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace.
    /// The values are base64url, which never needs JSON escaping.
    fn thumbprint(&self) -> String {
        let canonical = match self {
            PublicJwk::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
            PublicJwk::Ec { x, y } => format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#),
            PublicJwk::Okp { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
        };
        URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes()))
    }

    /// The verification key, built from exactly what the JWKS publishes.
    fn decoding_key(&self) -> anyhow::Result<DecodingKey> {
        let key = match self {
            PublicJwk::Rsa { n, e } => DecodingKey::from_rsa_components(n, e),
            PublicJwk::Ec { x, y } => DecodingKey::from_ec_components(x, y),
            PublicJwk::Okp { x } => DecodingKey::from_ed_components(x),
        };
        key.context("building verification key")
    }

    fn to_json(&self, kid: &str, alg: SigningAlg) -> serde_json::Value {
        let (kid, alg) = (kid, alg.as_str());
        match self {
            PublicJwk::Rsa { n, e } => json!({ "kty": "RSA", "use": "sig", "alg": alg, "kid": kid, "n": n, "e": e }),
            PublicJwk::Ec { x, y } => {
                json!({ "kty": "EC", "use": "sig", "alg": alg, "kid": kid, "crv": "P-256", "x": x, "y": y })
            }
            PublicJwk::Okp { x } => {
                json!({ "kty": "OKP", "use": "sig", "alg": alg, "kid": kid, "crv": "Ed25519", "x": x })
            }
        }
    }
}

/// A private key parsed once, when the [`KeySet`] is built. jsonwebtoken's `encode` would
/// re-parse the PKCS#8 document on every signature (for RSA that is most of the cost of a
/// token), so signing goes to aws-lc-rs directly; verification stays jsonwebtoken's.
enum PrivateKey {
    Rsa(RsaKeyPair),
    /// The same key type, signing with RSASSA-PSS (PS256).
    RsaPss(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl PrivateKey {
    fn parse(alg: SigningAlg, der: &[u8]) -> anyhow::Result<PrivateKey> {
        Ok(match alg {
            SigningAlg::RS256 => {
                PrivateKey::Rsa(RsaKeyPair::from_pkcs8(der).map_err(|e| anyhow!("loading RSA signing key: {e}"))?)
            }
            SigningAlg::PS256 => {
                PrivateKey::RsaPss(RsaKeyPair::from_pkcs8(der).map_err(|e| anyhow!("loading RSA signing key: {e}"))?)
            }
            SigningAlg::ES256 => PrivateKey::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|e| anyhow!("loading P-256 signing key: {e}"))?,
            ),
            SigningAlg::EdDSA => PrivateKey::Ed(
                Ed25519KeyPair::from_pkcs8(der).map_err(|e| anyhow!("loading Ed25519 signing key: {e}"))?,
            ),
        })
    }

    /// The JWS signature over `message` (RFC 7518 §3.3 PKCS#1 v1.5, §3.4 the fixed-width
    /// R || S form, §3.5 PSS with a salt as long as the hash, RFC 8037 §3.1 Ed25519).
    fn sign(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        let rng = SystemRandom::new();
        match self {
            PrivateKey::Rsa(pair) => {
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|e| anyhow!("RSA signature failed: {e}"))?;
                Ok(sig)
            }
            PrivateKey::RsaPss(pair) => {
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PSS_SHA256, &rng, message, &mut sig)
                    .map_err(|e| anyhow!("RSA-PSS signature failed: {e}"))?;
                Ok(sig)
            }
            PrivateKey::Ec(pair) => Ok(pair
                .sign(&rng, message)
                .map_err(|e| anyhow!("ECDSA signature failed: {e}"))?
                .as_ref()
                .to_vec()),
            PrivateKey::Ed(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

/// A loaded key: parsed once, when the [`KeySet`] is built.
pub struct SigningKey {
    kid: String,
    alg: SigningAlg,
    created_at: i64,
    retired_at: Option<i64>,
    private: PrivateKey,
    decoding: DecodingKey,
    jwk: PublicJwk,
}

impl SigningKey {
    pub fn kid(&self) -> &str {
        &self.kid
    }
    pub fn alg(&self) -> SigningAlg {
        self.alg
    }
    pub fn created_at(&self) -> i64 {
        self.created_at
    }
    pub fn retired_at(&self) -> Option<i64> {
        self.retired_at
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// Why a JWT was refused. All of them mean `invalid_token` to a client; the variant is for logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum VerifyError {
    #[error("malformed token")]
    Malformed,
    /// No `kid`, or a `kid` that is not (or no longer) published.
    #[error("unknown signing key")]
    UnknownKey,
    /// The signature does not verify, or the header's `alg` is not the named key's algorithm.
    #[error("bad signature")]
    BadSignature,
    /// The header's `typ` is not the one expected (e.g. an ID token offered as an access token).
    #[error("wrong token type")]
    WrongType,
    #[error("token expired")]
    Expired,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong audience")]
    WrongAudience,
}

/// Every published key, parsed once; cheap to clone.
#[derive(Clone, Debug)]
pub struct KeySet {
    /// Newest first.
    keys: Arc<[SigningKey]>,
}

impl KeySet {
    /// Loads keys as stored. Fails on a key that does not parse or does not suit its `alg`,
    /// and on a repeated `kid` (a token must name exactly one key).
    pub fn from_stored(stored: &[StoredKey]) -> anyhow::Result<KeySet> {
        let mut kids = HashSet::new();
        let mut keys = Vec::with_capacity(stored.len());
        for s in stored {
            if !kids.insert(s.kid.as_str()) {
                bail!("duplicate signing key id {}", s.kid);
            }
            let jwk = PublicJwk::from_private(s.alg, &s.private_pkcs8_der).with_context(|| format!("key {}", s.kid))?;
            keys.push(SigningKey {
                kid: s.kid.clone(),
                alg: s.alg,
                created_at: s.created_at,
                retired_at: s.retired_at,
                private: PrivateKey::parse(s.alg, &s.private_pkcs8_der).with_context(|| format!("key {}", s.kid))?,
                decoding: jwk.decoding_key().with_context(|| format!("key {}", s.kid))?,
                jwk,
            });
        }
        keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.kid.cmp(&b.kid)));
        Ok(KeySet { keys: keys.into() })
    }

    /// The key that signs new tokens of `alg` now: the newest one whose time to sign has
    /// come (`created_at`; a rotation publishes a key before it signs, RPs cache the JWKS)
    /// and that is not retired yet.
    pub fn active(&self, alg: SigningAlg) -> Option<&SigningKey> {
        self.active_at(alg, system_now())
    }

    /// [`KeySet::active`] at `now`.
    pub fn active_at(&self, alg: SigningAlg, now: i64) -> Option<&SigningKey> {
        self.keys
            .iter()
            .find(|k| k.alg == alg && k.created_at <= now && k.retired_at.is_none_or(|retired| retired > now))
    }

    /// Whether `other` is this very set (one load of the key ring), not just equal keys.
    pub fn same_set(&self, other: &KeySet) -> bool {
        Arc::ptr_eq(&self.keys, &other.keys)
    }

    /// Whether this set is exactly `stored`: the same keys (by kid and algorithm) in the
    /// same state (retired or not). A reload that finds nothing changed keeps the set it
    /// has instead of parsing every key again.
    pub fn is_built_from(&self, stored: &[StoredKey]) -> bool {
        self.keys.len() == stored.len()
            && stored.iter().all(|s| {
                self.get(&s.kid)
                    .is_some_and(|k| k.alg == s.alg && k.retired_at == s.retired_at && k.created_at == s.created_at)
            })
    }

    /// Any published key, active or retired.
    pub fn get(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Algorithms that have an active key, in [`SigningAlg::ALL`] order: what discovery
    /// may advertise.
    pub fn algs(&self) -> Vec<SigningAlg> {
        SigningAlg::ALL
            .into_iter()
            .filter(|alg| self.active(*alg).is_some())
            .collect()
    }

    /// Signs `claims` with the active key of `alg`; the header carries `alg`, `kid` and `typ`.
    /// RFC 7515 §7.1 compact serialization: base64url(header) "." base64url(claims) "."
    /// base64url(signature over the first two parts).
    pub fn sign<T: Serialize>(&self, alg: SigningAlg, typ: &str, claims: &T) -> anyhow::Result<String> {
        let key = self.active(alg).ok_or_else(|| anyhow!("no active {alg} signing key"))?;
        let mut header = Header::new(jwt_alg(alg));
        header.typ = Some(typ.to_owned());
        header.kid = Some(key.kid.clone());
        let header = serde_json::to_vec(&header).context("encoding JWT header")?;
        let claims = serde_json::to_vec(claims).context("encoding JWT claims")?;
        let mut jwt = String::with_capacity((header.len() + claims.len()) * 4 / 3 + 360);
        URL_SAFE_NO_PAD.encode_string(&header, &mut jwt);
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(&claims, &mut jwt);
        let signature = key.private.sign(jwt.as_bytes())?;
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut jwt);
        Ok(jwt)
    }

    /// Verifies a token this server signed and returns its claims.
    ///
    /// - The `kid` picks the key; only published keys count (RFC 7515 §4.1.4).
    /// - The header's `alg` must be that key's algorithm, so neither `none` nor an
    ///   algorithm swap (RFC 8725 §2.1, §3.1) gets through.
    /// - `typ` must match `expected_typ` (RFC 8725 §3.11; RFC 9068 §4 for access tokens),
    ///   compared as RFC 7515 §4.1.9 says: case-insensitively, `application/` optional.
    /// - `exp` and `iss` are required, and `aud` when `audience` is given; with
    ///   `audience: None` the audience is not checked (the issuer reading its own tokens).
    ///
    /// `exp` is checked against the system clock by jsonwebtoken, which cannot take the time
    /// as an argument, with [`LEEWAY_SECS`] of tolerance.
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        expected_typ: &str,
        issuer: &str,
        audience: Option<&str>,
    ) -> Result<T, VerifyError> {
        self.verify_with(token, expected_typ, issuer, audience, true)
    }

    /// [`KeySet::verify`] without the expiry check: for an `id_token_hint`, which OIDC Core
    /// §3.1.2.1 allows to have expired (it names a user; it grants nothing).
    pub fn verify_ignoring_expiry<T: DeserializeOwned>(
        &self,
        token: &str,
        expected_typ: &str,
        issuer: &str,
        audience: Option<&str>,
    ) -> Result<T, VerifyError> {
        self.verify_with(token, expected_typ, issuer, audience, false)
    }

    fn verify_with<T: DeserializeOwned>(
        &self,
        token: &str,
        expected_typ: &str,
        issuer: &str,
        audience: Option<&str>,
        check_expiry: bool,
    ) -> Result<T, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.get(kid))
            .ok_or(VerifyError::UnknownKey)?;
        if header.alg != jwt_alg(key.alg) {
            return Err(VerifyError::BadSignature);
        }
        if !header
            .typ
            .as_deref()
            .is_some_and(|typ| same_media_type(typ, expected_typ))
        {
            return Err(VerifyError::WrongType);
        }

        let mut validation = Validation::new(jwt_alg(key.alg));
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[issuer]);
        let mut required = vec!["exp", "iss"];
        if !check_expiry {
            validation.validate_exp = false;
            required.retain(|c| *c != "exp");
        }
        match audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);

        jsonwebtoken::decode::<T>(token, &key.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => VerifyError::BadSignature,
                ErrorKind::ExpiredSignature => VerifyError::Expired,
                ErrorKind::InvalidIssuer => VerifyError::WrongIssuer,
                ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => VerifyError::WrongIssuer,
                ErrorKind::InvalidAudience => VerifyError::WrongAudience,
                ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => VerifyError::WrongAudience,
                _ => VerifyError::Malformed,
            })
    }

    /// The JWK Set (RFC 7517 §5) of every key in the set: public members only.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = self.keys.iter().map(|k| k.jwk.to_json(&k.kid, k.alg)).collect();
        json!({ "keys": keys })
    }
}

/// RFC 7515 §4.1.9: `typ` is a media type, compared case-insensitively, and its
/// `application/` prefix may be left out.
fn same_media_type(a: &str, b: &str) -> bool {
    fn short(t: &str) -> &str {
        match t.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &t[12..],
            _ => t,
        }
    }
    short(a).eq_ignore_ascii_case(short(b))
}

/// `at_hash` (OIDC Core §3.1.3.6; `c_hash` in §3.3.2.11 is the same over the code):
/// base64url of the left half of the hash of the ASCII access token, using the hash of the
/// ID token's `alg`. SHA-256 for RS256, PS256 and ES256. For EdDSA the JWA name fixes no hash; the
/// common reading (the one OpenID Foundation certified providers such as node-oidc-provider
/// use) takes Ed25519's own, SHA-512.
pub fn at_hash(alg: SigningAlg, access_token: &str) -> String {
    let hash = match alg {
        SigningAlg::RS256 | SigningAlg::PS256 | SigningAlg::ES256 => &digest::SHA256,
        SigningAlg::EdDSA => &digest::SHA512,
    };
    let d = digest::digest(hash, access_token.as_bytes());
    let bytes = d.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    const ISS: &str = "https://issuer.example";

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Claims {
        iss: String,
        sub: String,
        aud: String,
        exp: i64,
        iat: i64,
        jti: String,
    }

    fn claims(exp_in: i64) -> Claims {
        let now = crate::now();
        Claims {
            iss: ISS.into(),
            sub: "user-1".into(),
            aud: "client-1".into(),
            exp: now + exp_in,
            iat: now,
            jti: "jti-1".into(),
        }
    }

    fn set_of(keys: &[StoredKey]) -> KeySet {
        KeySet::from_stored(keys).unwrap()
    }

    fn b64_json(v: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    fn header_of(token: &str) -> serde_json::Value {
        let part = token.split('.').next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    /// Replaces the header of `token`, keeping payload and signature.
    fn with_header(token: &str, header: serde_json::Value) -> String {
        let mut parts = token.splitn(2, '.');
        parts.next();
        format!("{}.{}", b64_json(&header), parts.next().unwrap())
    }

    #[test]
    fn alg_names_round_trip() {
        for alg in SigningAlg::ALL {
            assert_eq!(alg.as_str().parse::<SigningAlg>().unwrap(), alg);
        }
        assert!("rs256".parse::<SigningAlg>().is_err());
        assert!("none".parse::<SigningAlg>().is_err());
    }

    /// RFC 7638 §3.1's example key and thumbprint.
    #[test]
    fn thumbprint_matches_rfc7638_example() {
        let jwk = PublicJwk::Rsa {
            n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into(),
            e: "AQAB".into(),
        };
        assert_eq!(jwk.thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn each_alg_signs_verifies_and_publishes_only_public_parts() {
        for (alg, kty, crv) in [
            (SigningAlg::RS256, "RSA", None),
            (SigningAlg::ES256, "EC", Some("P-256")),
            (SigningAlg::EdDSA, "OKP", Some("Ed25519")),
            (SigningAlg::PS256, "RSA", None),
        ] {
            let stored = generate(alg, 1_000).unwrap();
            let set = set_of(std::slice::from_ref(&stored));
            assert_eq!(set.algs(), vec![alg]);
            assert_eq!(set.active(alg).unwrap().kid(), stored.kid);

            let c = claims(300);
            let token = set.sign(alg, ACCESS_TOKEN_TYP, &c).unwrap();
            let header = header_of(&token);
            assert_eq!(header["alg"], alg.as_str(), "{alg}");
            assert_eq!(header["kid"], stored.kid.as_str(), "{alg}");
            assert_eq!(header["typ"], "at+jwt", "{alg}");

            let back: Claims = set.verify(&token, ACCESS_TOKEN_TYP, ISS, Some("client-1")).unwrap();
            assert_eq!(back, c, "{alg}");
            let _: Claims = set.verify(&token, ACCESS_TOKEN_TYP, ISS, None).unwrap();

            let jwks = set.jwks();
            let keys = jwks["keys"].as_array().unwrap();
            assert_eq!(keys.len(), 1);
            let jwk = keys[0].as_object().unwrap();
            assert_eq!(jwk["kid"], stored.kid.as_str());
            assert_eq!(jwk["kty"], kty);
            assert_eq!(jwk["alg"], alg.as_str());
            assert_eq!(jwk["use"], "sig");
            assert_eq!(jwk.get("crv").and_then(|v| v.as_str()), crv);
            for private in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
                assert!(!jwk.contains_key(private), "{alg} JWK leaks {private}");
            }

            // The kid is the RFC 7638 thumbprint of the JWK as published.
            let published = match kty {
                "RSA" => PublicJwk::Rsa {
                    n: jwk["n"].as_str().unwrap().into(),
                    e: jwk["e"].as_str().unwrap().into(),
                },
                "EC" => PublicJwk::Ec {
                    x: jwk["x"].as_str().unwrap().into(),
                    y: jwk["y"].as_str().unwrap().into(),
                },
                _ => PublicJwk::Okp {
                    x: jwk["x"].as_str().unwrap().into(),
                },
            };
            assert_eq!(published.thumbprint(), stored.kid, "{alg}");
            if kty == "RSA" {
                assert_eq!(jwk["e"], "AQAB");
                assert_eq!(URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap().len(), 256);
            }
        }
    }

    #[test]
    fn a_new_key_gets_a_new_kid() {
        let a = generate(SigningAlg::ES256, 0).unwrap();
        let b = generate(SigningAlg::ES256, 0).unwrap();
        assert_ne!(a.kid, b.kid);
    }

    #[test]
    fn stored_key_debug_hides_the_private_key() {
        let k = generate(SigningAlg::EdDSA, 0).unwrap();
        let shown = format!("{k:?}");
        assert!(shown.contains("[redacted]"));
        assert!(!shown.contains(&format!("{:?}", k.private_pkcs8_der)));
    }

    #[test]
    fn refuses_bad_key_material() {
        let mut wrong_alg = generate(SigningAlg::ES256, 0).unwrap();
        wrong_alg.alg = SigningAlg::EdDSA;
        assert!(KeySet::from_stored(&[wrong_alg]).is_err());

        let mut garbage = generate(SigningAlg::EdDSA, 0).unwrap();
        garbage.private_pkcs8_der = vec![0x30, 0x03, 0x02, 0x01, 0x00];
        assert!(KeySet::from_stored(&[garbage]).is_err());

        let k = generate(SigningAlg::EdDSA, 0).unwrap();
        assert!(KeySet::from_stored(&[k.clone(), k]).is_err());
    }

    #[test]
    fn no_active_key_means_no_signature() {
        let set = set_of(&[generate(SigningAlg::ES256, 0).unwrap()]);
        assert!(set.sign(SigningAlg::EdDSA, ACCESS_TOKEN_TYP, &claims(60)).is_err());
    }

    #[test]
    fn rejects_tampered_and_foreign_tokens() {
        let set = set_of(&[generate(SigningAlg::ES256, 0).unwrap()]);
        let verify = |t: &str| set.verify::<Claims>(t, ACCESS_TOKEN_TYP, ISS, Some("client-1"));
        let token = set.sign(SigningAlg::ES256, ACCESS_TOKEN_TYP, &claims(300)).unwrap();
        assert!(verify(&token).is_ok());

        // One character of the payload changed.
        let dot = token.find('.').unwrap();
        let mut bytes = token.clone().into_bytes();
        let i = dot + 5;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(verify(&tampered), Err(VerifyError::BadSignature));

        // Signed by a key this set does not hold.
        let other = set_of(&[generate(SigningAlg::ES256, 0).unwrap()]);
        let foreign = other.sign(SigningAlg::ES256, ACCESS_TOKEN_TYP, &claims(300)).unwrap();
        assert_eq!(verify(&foreign), Err(VerifyError::UnknownKey));

        // No kid at all.
        let mut h = header_of(&token);
        h.as_object_mut().unwrap().remove("kid");
        assert_eq!(verify(&with_header(&token, h)), Err(VerifyError::UnknownKey));

        // Not a JWT.
        assert_eq!(verify("not-a-jwt"), Err(VerifyError::Malformed));
        assert_eq!(verify(""), Err(VerifyError::Malformed));
    }

    #[test]
    fn rejects_wrong_type_expiry_issuer_and_audience() {
        let set = set_of(&[generate(SigningAlg::EdDSA, 0).unwrap()]);
        let sign = |typ: &str, c: &Claims| set.sign(SigningAlg::EdDSA, typ, c).unwrap();
        let as_access_token = |t: &str| set.verify::<Claims>(t, ACCESS_TOKEN_TYP, ISS, Some("client-1"));

        // An ID token offered as an access token, and the other way round.
        let id_token = sign(ID_TOKEN_TYP, &claims(300));
        assert_eq!(as_access_token(&id_token), Err(VerifyError::WrongType));
        let access_token = sign(ACCESS_TOKEN_TYP, &claims(300));
        assert_eq!(
            set.verify::<Claims>(&access_token, ID_TOKEN_TYP, ISS, Some("client-1")),
            Err(VerifyError::WrongType)
        );
        assert!(set
            .verify::<Claims>(&id_token, ID_TOKEN_TYP, ISS, Some("client-1"))
            .is_ok());

        // RFC 9068 §4: "application/at+jwt" is the same type; case does not matter.
        assert!(as_access_token(&sign("application/at+jwt", &claims(300))).is_ok());
        assert!(as_access_token(&sign("AT+JWT", &claims(300))).is_ok());
        assert_eq!(
            as_access_token(&sign("application/jwt", &claims(300))),
            Err(VerifyError::WrongType)
        );

        // Expired beyond the leeway.
        let expired = sign(ACCESS_TOKEN_TYP, &claims(-(LEEWAY_SECS as i64) - 60));
        assert_eq!(as_access_token(&expired), Err(VerifyError::Expired));

        let mut c = claims(300);
        c.iss = "https://evil.example".into();
        assert_eq!(
            as_access_token(&sign(ACCESS_TOKEN_TYP, &c)),
            Err(VerifyError::WrongIssuer)
        );

        let mut c = claims(300);
        c.aud = "client-2".into();
        assert_eq!(
            as_access_token(&sign(ACCESS_TOKEN_TYP, &c)),
            Err(VerifyError::WrongAudience)
        );

        // Required claims missing.
        let bare = set
            .sign(
                SigningAlg::EdDSA,
                ACCESS_TOKEN_TYP,
                &json!({ "iss": ISS, "aud": "client-1" }),
            )
            .unwrap();
        assert_eq!(as_access_token(&bare), Err(VerifyError::Malformed));
        let exp = crate::now() + 300;
        let no_aud = set
            .sign(SigningAlg::EdDSA, ACCESS_TOKEN_TYP, &json!({ "iss": ISS, "exp": exp }))
            .unwrap();
        assert_eq!(
            set.verify::<serde_json::Value>(&no_aud, ACCESS_TOKEN_TYP, ISS, Some("client-1")),
            Err(VerifyError::WrongAudience)
        );
        let no_iss = set
            .sign(
                SigningAlg::EdDSA,
                ACCESS_TOKEN_TYP,
                &json!({ "aud": "client-1", "exp": exp }),
            )
            .unwrap();
        assert_eq!(
            set.verify::<serde_json::Value>(&no_iss, ACCESS_TOKEN_TYP, ISS, Some("client-1")),
            Err(VerifyError::WrongIssuer)
        );
    }

    #[test]
    fn rejects_alg_none_and_alg_swaps() {
        let rsa = generate(SigningAlg::RS256, 0).unwrap();
        let ec = generate(SigningAlg::ES256, 0).unwrap();
        let set = set_of(&[rsa.clone(), ec.clone()]);
        let verify = |t: &str| set.verify::<Claims>(t, ACCESS_TOKEN_TYP, ISS, Some("client-1"));
        let es_token = set.sign(SigningAlg::ES256, ACCESS_TOKEN_TYP, &claims(300)).unwrap();

        // alg "none" with an empty signature.
        let payload = b64_json(&serde_json::to_value(claims(300)).unwrap());
        let none_header = json!({ "alg": "none", "typ": "at+jwt", "kid": ec.kid });
        assert!(verify(&format!("{}.{payload}.", b64_json(&none_header))).is_err());

        // An RS256 header on the ES256 key's kid.
        let swapped = with_header(&es_token, json!({ "alg": "RS256", "typ": "at+jwt", "kid": ec.kid }));
        assert_eq!(verify(&swapped), Err(VerifyError::BadSignature));

        // The ES256 signature presented under the RSA key's kid.
        let moved = with_header(&es_token, json!({ "alg": "ES256", "typ": "at+jwt", "kid": rsa.kid }));
        assert_eq!(verify(&moved), Err(VerifyError::BadSignature));

        // HS256 keyed with the RSA public key (the classic confusion): refused before any MAC.
        let jwks = set.jwks();
        let rsa_jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == rsa.kid.as_str())
            .unwrap();
        let hs_header = json!({ "alg": "HS256", "typ": "at+jwt", "kid": rsa.kid });
        let forged = jsonwebtoken::encode(
            &serde_json::from_value::<Header>(hs_header).unwrap(),
            &claims(300),
            &jsonwebtoken::EncodingKey::from_secret(rsa_jwk["n"].as_str().unwrap().as_bytes()),
        )
        .unwrap();
        assert_eq!(verify(&forged), Err(VerifyError::BadSignature));
    }

    /// RFC 7518 §3.5: PS256 signs with its own RSA key; a relying party verifies it from the
    /// JWKS alone, and a PS256 signature does not pass as RS256 (nor the other way round).
    #[test]
    fn ps256_signs_with_its_own_key_and_verifies_from_the_jwks() {
        let rs = generate(SigningAlg::RS256, 0).unwrap();
        let ps = generate(SigningAlg::PS256, 0).unwrap();
        assert_ne!(rs.kid, ps.kid);
        let set = set_of(&[rs.clone(), ps.clone()]);
        let token = set.sign(SigningAlg::PS256, ID_TOKEN_TYP, &claims(300)).unwrap();
        assert_eq!(header_of(&token)["alg"], "PS256");
        assert_eq!(header_of(&token)["kid"], ps.kid.as_str());

        // As a relying party would: the JWK from the JWKS, jsonwebtoken's PS256.
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(set.jwks()).unwrap();
        let jwk = jwks.find(&ps.kid).unwrap();
        let key = DecodingKey::from_jwk(jwk).unwrap();
        let mut v = Validation::new(Algorithm::PS256);
        v.set_audience(&["client-1"]);
        let back = jsonwebtoken::decode::<Claims>(&token, &key, &v).unwrap();
        assert_eq!(back.claims.sub, "user-1");

        let verify = |t: &str| set.verify::<Claims>(t, ID_TOKEN_TYP, ISS, Some("client-1"));
        assert!(verify(&token).is_ok());
        // The PSS signature under an RS256 header, on either key: refused.
        let as_rs = with_header(&token, json!({ "alg": "RS256", "typ": "JWT", "kid": ps.kid }));
        assert_eq!(verify(&as_rs), Err(VerifyError::BadSignature));
        let on_rs_key = with_header(&token, json!({ "alg": "PS256", "typ": "JWT", "kid": rs.kid }));
        assert_eq!(verify(&on_rs_key), Err(VerifyError::BadSignature));
    }

    #[test]
    fn rotation_keeps_old_tokens_valid() {
        let old = generate(SigningAlg::ES256, 100).unwrap();
        let before = set_of(std::slice::from_ref(&old));
        let old_token = before.sign(SigningAlg::ES256, ACCESS_TOKEN_TYP, &claims(300)).unwrap();

        let new = generate(SigningAlg::ES256, 200).unwrap();
        let retired = StoredKey {
            retired_at: Some(200),
            ..old.clone()
        };
        let after = set_of(&[retired.clone(), new.clone()]);

        assert_eq!(after.active(SigningAlg::ES256).unwrap().kid(), new.kid);
        assert_eq!(after.algs(), vec![SigningAlg::ES256]);
        let new_token = after.sign(SigningAlg::ES256, ACCESS_TOKEN_TYP, &claims(300)).unwrap();
        assert_eq!(header_of(&new_token)["kid"], new.kid.as_str());
        for t in [&old_token, &new_token] {
            assert!(after
                .verify::<Claims>(t, ACCESS_TOKEN_TYP, ISS, Some("client-1"))
                .is_ok());
        }

        let kids: HashSet<String> = after.jwks()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kids, HashSet::from([old.kid.clone(), new.kid.clone()]));

        // Published until the longest-lived token it signed has expired.
        assert!(retired.still_published(200 + 3599, 3600));
        assert!(!retired.still_published(200 + 3600, 3600));
        assert!(new.still_published(i64::MAX, 3600));
    }

    #[test]
    fn reports_algs_that_need_a_key() {
        let es = generate(SigningAlg::ES256, 0).unwrap();
        let ed_retired = StoredKey {
            retired_at: Some(5),
            ..generate(SigningAlg::EdDSA, 0).unwrap()
        };
        assert_eq!(algs_without_active_key(&[], 10), SigningAlg::ALL.to_vec());
        assert_eq!(
            algs_without_active_key(&[es.clone(), ed_retired.clone()], 10),
            vec![SigningAlg::RS256, SigningAlg::EdDSA, SigningAlg::PS256]
        );
        // Retired in the future (a rotation's new key is published first): still active.
        assert_eq!(
            algs_without_active_key(&[es, ed_retired], 4),
            vec![SigningAlg::RS256, SigningAlg::PS256]
        );
    }

    /// Expected values computed independently (Python hashlib) for the access token of
    /// OIDC Core Appendix A.
    #[test]
    fn at_hash_takes_the_left_half_of_the_algs_hash() {
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnTV";
        assert_eq!(at_hash(SigningAlg::RS256, token), "Mmye9cCm5caYPQI7FWIOig");
        assert_eq!(at_hash(SigningAlg::ES256, token), "Mmye9cCm5caYPQI7FWIOig");
        assert_eq!(at_hash(SigningAlg::PS256, token), "Mmye9cCm5caYPQI7FWIOig");
        assert_eq!(
            at_hash(SigningAlg::EdDSA, token),
            "vrGy8TvAWmyyhGe8DMtV6HPgQTsQuTz4Oy13ki18RQw"
        );
    }

    #[test]
    fn typ_comparison_follows_rfc7515() {
        assert!(same_media_type("at+jwt", "at+jwt"));
        assert!(same_media_type("application/at+jwt", "at+jwt"));
        assert!(same_media_type("Application/AT+JWT", "at+jwt"));
        assert!(same_media_type("JWT", "jwt"));
        assert!(!same_media_type("jwt", "at+jwt"));
        assert!(!same_media_type("application/", "at+jwt"));
        assert!(!same_media_type("xapplication/at+jwt", "at+jwt"));
    }
}
