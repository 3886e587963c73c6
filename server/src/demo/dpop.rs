//! The demo client's DPoP key (RFC 9449): a fresh P-256 key for each run, kept sealed with
//! the client's other secrets, and the proofs it signs — for the token endpoint, and with
//! `ath` for the API. The client side of what `crate::http::dpop` checks.

use anyhow::anyhow;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use tessera_core::dpop::{ath, jwk_thumbprint, ProofJwk, TYP};
use tessera_core::secret::random_id;

/// The client's key pair. Its private half never leaves the client (the session holds it
/// sealed); proofs carry the public half as `jwk`.
pub(super) struct DpopKey {
    pair: EcdsaKeyPair,
    pkcs8: Vec<u8>,
    jwk: Value,
    jkt: String,
}

/// A proof as sent (`jwt`) and as the page shows it (its header and claims).
#[derive(Debug, Clone)]
pub(super) struct Proof {
    pub(super) jwt: String,
    pub(super) header: Value,
    pub(super) claims: Value,
}

impl DpopKey {
    pub(super) fn generate() -> anyhow::Result<DpopKey> {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .map_err(|e| anyhow!("generating the DPoP key: {e}"))?;
        DpopKey::from_pkcs8(pkcs8.as_ref())
    }

    pub(super) fn from_pkcs8(der: &[u8]) -> anyhow::Result<DpopKey> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|e| anyhow!("loading the DPoP key: {e}"))?;
        // The uncompressed point: 0x04 || x || y, 32 bytes each (SEC 1 §2.3.3).
        let point = pair.public_key().as_ref();
        let (Some(x), Some(y)) = (point.get(1..33), point.get(33..65)) else {
            return Err(anyhow!("unexpected P-256 public key"));
        };
        let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
        // RFC 7518 §6.2.1: the public key as a JWK.
        let jwk = json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y });
        let parsed: ProofJwk = serde_json::from_value(jwk.clone())?;
        // RFC 7638: the thumbprint the server binds the tokens to (cnf.jkt).
        let jkt = jwk_thumbprint(&parsed).map_err(|e| anyhow!("thumbprint: {e}"))?;
        Ok(DpopKey {
            pair,
            pkcs8: der.to_vec(),
            jwk,
            jkt,
        })
    }

    /// The private key (PKCS #8), to be kept sealed.
    pub(super) fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The RFC 7638 thumbprint of the public key.
    pub(super) fn jkt(&self) -> &str {
        &self.jkt
    }

    /// RFC 9449 §4.2: a proof for one request — `htm` its method, `htu` its URL without
    /// query or fragment, a fresh `jti`, `iat` now; at a resource `ath`, the hash of the
    /// access token sent with it; `nonce` when the server asked for one (§8).
    pub(super) fn proof(
        &self,
        htm: &str,
        htu: &str,
        access_token: Option<&str>,
        nonce: Option<&str>,
        now: i64,
    ) -> anyhow::Result<Proof> {
        let header = json!({ "typ": TYP, "alg": "ES256", "jwk": self.jwk });
        let mut claims = json!({ "jti": random_id(), "htm": htm, "htu": htu, "iat": now });
        if let Some(token) = access_token {
            claims["ath"] = json!(ath(token));
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        // RFC 7518 §3.4: ES256 signs with the fixed-width R || S form.
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|e| anyhow!("signing the DPoP proof: {e}"))?;
        Ok(Proof {
            jwt: format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref())),
            header,
            claims,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server's own check accepts the demo client's proofs, and the key survives the
    /// round trip through its sealed PKCS #8 form.
    #[test]
    fn proofs_pass_the_servers_checks() {
        let key = DpopKey::generate().unwrap();
        let again = DpopKey::from_pkcs8(key.pkcs8()).unwrap();
        assert_eq!(again.jkt(), key.jkt());
        let now = 1_800_000_000;
        let proof = again
            .proof("GET", "https://id.example.com/api/resource", Some("tok"), None, now)
            .unwrap();
        let expected = tessera_core::dpop::Expected {
            method: "GET",
            url: "https://id.example.com/api/resource",
            access_token: Some("tok"),
        };
        let checked = crate::http::dpop::verify_proof(&proof.jwt, &expected, now).unwrap();
        assert_eq!(checked.jkt, key.jkt());
        assert_eq!(proof.claims["ath"], json!(ath("tok")));
        assert!(proof.header["jwk"].get("d").is_none(), "public key only");
    }
}
