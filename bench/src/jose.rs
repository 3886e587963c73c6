//! What the load generator signs per request, the same for both servers: `private_key_jwt`
//! client assertions (RFC 7523 §2.2) and DPoP proofs (RFC 9449 §4.2), ES256 with aws-lc-rs.
//! Every JWT gets a fresh `jti` and the current `iat`; only the claims are formatted per
//! request, the header is encoded once. They are signed before the measured window
//! ([`Presigned`]), as many as the run can use.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context as _, Result};
use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use clap::Args;
use serde_json::{json, Value};

/// The `kid` of the bench client's registered key.
pub const CLIENT_KID: &str = "bench-es256";

/// An ES256 key pair.
pub struct Es256 {
    key: EcdsaKeyPair,
    rng: SystemRandom,
}

impl Es256 {
    /// A new key, and its PKCS#8 document.
    pub fn generate() -> Result<(Es256, Vec<u8>)> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|e| anyhow!("ES256 key: {e}"))?;
        let der = pkcs8.as_ref().to_vec();
        Ok((Es256::from_pkcs8(&der)?, der))
    }

    pub fn from_pkcs8(der: &[u8]) -> Result<Es256> {
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|e| anyhow!("ES256 PKCS#8 key: {e}"))?;
        Ok(Es256 {
            key,
            rng: SystemRandom::new(),
        })
    }

    /// The public key as a JWK (RFC 7518 §6.2.1): the uncompressed point's x and y.
    pub fn public_jwk(&self) -> Value {
        // 0x04 ‖ x ‖ y, 32 bytes each.
        let point = self.key.public_key().as_ref();
        let (x, y) = (
            point.get(1..33).unwrap_or_default(),
            point.get(33..).unwrap_or_default(),
        );
        json!({"kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y)})
    }

    /// `header_b64.claims_b64.signature_b64`; the signature is JWS's fixed r‖s (RFC 7518 §3.4).
    fn sign(&self, header_b64: &str, claims: &str) -> Result<String, String> {
        let mut jws = String::with_capacity(header_b64.len() + claims.len() * 4 / 3 + 100);
        jws.push_str(header_b64);
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(claims, &mut jws);
        let sig = self
            .key
            .sign(&self.rng, jws.as_bytes())
            .map_err(|e| format!("ES256 signing: {e}"))?;
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(sig.as_ref(), &mut jws);
        Ok(jws)
    }
}

/// Unique `jti`s: a random prefix per process and a counter.
pub struct Jtis {
    prefix: String,
    next: AtomicU64,
}

impl Jtis {
    pub fn new() -> Result<Jtis> {
        let mut r = [0u8; 12];
        SystemRandom::new().fill(&mut r).map_err(|e| anyhow!("random: {e}"))?;
        Ok(Jtis {
            prefix: URL_SAFE_NO_PAD.encode(r),
            next: AtomicU64::new(0),
        })
    }

    fn next(&self) -> String {
        format!("{}-{:x}", self.prefix, self.next.fetch_add(1, Ordering::Relaxed))
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A JSON string literal (quotes and escapes).
fn lit(s: &str) -> String {
    Value::from(s).to_string()
}

/// A client's `private_key_jwt` assertions: `iss` = `sub` = the client id, `aud` the issuer,
/// a minute to live.
pub struct Assertions {
    key: Es256,
    header_b64: String,
    /// `{"iss":…,"sub":…,"aud":…,"jti":` — the rest is per request.
    claims_head: String,
}

impl Assertions {
    pub fn new(key: Es256, client_id: &str, audience: &str) -> Assertions {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": CLIENT_KID}).to_string();
        Assertions {
            key,
            header_b64: URL_SAFE_NO_PAD.encode(header),
            claims_head: format!(
                r#"{{"iss":{id},"sub":{id},"aud":{aud},"jti":"#,
                id = lit(client_id),
                aud = lit(audience)
            ),
        }
    }

    pub fn sign(&self, jtis: &Jtis) -> Result<String, String> {
        let now = now();
        let claims = format!(
            r#"{}"{}","iat":{now},"exp":{}}}"#,
            self.claims_head,
            jtis.next(),
            now + 60
        );
        self.key.sign(&self.header_b64, &claims)
    }
}

/// DPoP proofs of one key for one request (method and URL), optionally with `ath`.
pub struct Proofs {
    key: Es256,
    header_b64: String,
    /// `"htm":…,"htu":…[,"ath":…]` — `jti` and `iat` are per request.
    fixed: String,
}

impl Proofs {
    pub fn new(key: Es256, method: &str, url: &str, access_token: Option<&str>) -> Proofs {
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.public_jwk()}).to_string();
        let mut fixed = format!(r#""htm":{},"htu":{}"#, lit(method), lit(url));
        if let Some(token) = access_token {
            // RFC 9449 §4.2: base64url of the SHA-256 of the access token's ASCII.
            let ath = URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes()));
            fixed.push_str(&format!(r#","ath":"{ath}""#));
        }
        Proofs {
            key,
            header_b64: URL_SAFE_NO_PAD.encode(header),
            fixed,
        }
    }

    /// The same key's proofs for another request.
    pub fn rebind(self, method: &str, url: &str, access_token: Option<&str>) -> Proofs {
        Proofs::new(self.key, method, url, access_token)
    }

    pub fn sign(&self, jtis: &Jtis) -> Result<String, String> {
        let claims = format!(r#"{{"jti":"{}",{},"iat":{}}}"#, jtis.next(), self.fixed, now());
        self.key.sign(&self.header_b64, &claims)
    }
}

/// JWTs signed before the clock starts, taken one per request: the client's ES256 signature
/// (~22 µs here) is the client's cost, and signing inside the measured window took it from
/// the cores the servers share (both servers alike). When the pool runs out, requests sign
/// their own (counted, and reported).
pub struct Presigned {
    items: Vec<String>,
    next: AtomicUsize,
}

impl Presigned {
    /// `n` JWTs from `sign`, on every core.
    pub fn new(n: usize, sign: &(dyn Fn() -> Result<String, String> + Sync)) -> Result<Presigned> {
        let threads = std::thread::available_parallelism().map_or(1, usize::from).max(1);
        let per = n.div_ceil(threads);
        let parts: Vec<Result<Vec<String>, String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let count = per.min(n.saturating_sub(t * per));
                    scope.spawn(move || (0..count).map(|_| sign()).collect::<Result<Vec<_>, _>>())
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("signing thread panicked".to_owned())))
                .collect()
        });
        let mut items = Vec::with_capacity(n);
        for part in parts {
            items.extend(part.map_err(|e| anyhow!(e))?);
        }
        Ok(Presigned {
            items,
            next: AtomicUsize::new(0),
        })
    }

    /// The next unused JWT; `None` once all are taken.
    pub fn take(&self) -> Option<&str> {
        self.items
            .get(self.next.fetch_add(1, Ordering::Relaxed))
            .map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }
}

#[derive(Args, Debug)]
pub struct ClientKeyArgs {
    /// Where the private key goes (PKCS#8 DER), for `run --client-key`.
    #[arg(long)]
    out: std::path::PathBuf,
}

/// `tessera-bench client-key`: a new ES256 key for the bench's `private_key_jwt` client;
/// writes the private key and prints the public JWK Set to register on both servers.
pub fn client_key(args: ClientKeyArgs) -> Result<()> {
    let (key, der) = Es256::generate()?;
    std::fs::write(&args.out, der).with_context(|| format!("writing {}", args.out.display()))?;
    let mut jwk = key.public_jwk();
    jwk["kid"] = json!(CLIENT_KID);
    jwk["alg"] = json!("ES256");
    jwk["use"] = json!("sig");
    println!("{}", json!({ "keys": [jwk] }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};

    fn parts(jws: &str) -> (Value, Value, Vec<u8>, String) {
        let p: Vec<&str> = jws.split('.').collect();
        assert_eq!(p.len(), 3);
        let de = |s: &str| URL_SAFE_NO_PAD.decode(s).unwrap();
        (
            serde_json::from_slice(&de(p[0])).unwrap(),
            serde_json::from_slice(&de(p[1])).unwrap(),
            de(p[2]),
            format!("{}.{}", p[0], p[1]),
        )
    }

    fn verifies(jwk: &Value, input: &str, sig: &[u8]) -> bool {
        let de = |k: &str| URL_SAFE_NO_PAD.decode(jwk[k].as_str().unwrap()).unwrap();
        let mut point = vec![4u8];
        point.extend(de("x"));
        point.extend(de("y"));
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
            .verify(input.as_bytes(), sig)
            .is_ok()
    }

    #[test]
    fn assertions_are_signed_with_unique_jtis() {
        let (key, der) = Es256::generate().unwrap();
        let jwk = key.public_jwk();
        let a = Assertions::new(Es256::from_pkcs8(&der).unwrap(), "c\"1", "http://127.0.0.1:1");
        let jtis = Jtis::new().unwrap();
        let (h, c, sig, input) = parts(&a.sign(&jtis).unwrap());
        assert_eq!(h["alg"], "ES256");
        assert_eq!(h["kid"], CLIENT_KID);
        assert_eq!(c["iss"], "c\"1");
        assert_eq!(c["sub"], "c\"1");
        assert_eq!(c["aud"], "http://127.0.0.1:1");
        assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 60);
        assert!(verifies(&jwk, &input, &sig));
        let (_, c2, _, _) = parts(&a.sign(&jtis).unwrap());
        assert_ne!(c["jti"], c2["jti"]);
    }

    #[test]
    fn proofs_carry_the_key_and_ath() {
        let (key, _) = Es256::generate().unwrap();
        let p = Proofs::new(key, "GET", "http://h/api/resource", Some("tok"));
        let (h, c, sig, input) = parts(&p.sign(&Jtis::new().unwrap()).unwrap());
        assert_eq!(h["typ"], "dpop+jwt");
        assert!(h["jwk"].get("d").is_none());
        assert!(verifies(&h["jwk"], &input, &sig));
        assert_eq!(c["htm"], "GET");
        assert_eq!(c["htu"], "http://h/api/resource");
        assert_eq!(c["ath"], URL_SAFE_NO_PAD.encode(digest(&SHA256, b"tok")));
        assert!(c["iat"].as_i64().unwrap() > 1_700_000_000);
        let (key, _) = Es256::generate().unwrap();
        let (_, c, _, _) = parts(
            &Proofs::new(key, "POST", "http://h/token", None)
                .sign(&Jtis::new().unwrap())
                .unwrap(),
        );
        assert!(c.get("ath").is_none());
    }
}
