//! High-entropy random values (client secrets, later codes and refresh tokens) and how
//! they are stored: as a SHA-256 hash, checked in constant time. SHA-256 rather than
//! Argon2 is right here because the values are 256-bit random, not guessable passwords.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 32 random bytes from the operating system, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A shorter random identifier (128 bits), for client ids and the like: unique, not secret.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a random secret: base64url(SHA-256(value)).
pub fn hash_secret(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()))
}

/// Whether `presented` hashes to `stored_hash`, compared in constant time.
pub fn verify_secret(presented: &str, stored_hash: &str) -> bool {
    let presented_hash = hash_secret(presented);
    presented_hash.as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

/// Constant-time equality of two strings (for CSRF tokens and the like). The length may
/// leak, the content does not.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// A client secret in the clear: exists only between generation and the one time it is
/// shown. Its `Debug` never prints the value.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    pub fn generate() -> Self {
        Self(random_token())
    }

    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> String {
        hash_secret(&self.0)
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

impl PartialEq for ClientSecret {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_distinct() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.len(), 43);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(random_id()).unwrap().len(), 16);
    }

    #[test]
    fn hash_is_sha256_base64url() {
        // SHA-256("abc") from FIPS 180-2, base64url-encoded.
        assert_eq!(hash_secret("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    }

    #[test]
    fn verify_accepts_only_the_value() {
        let s = ClientSecret::generate();
        let stored = s.hash();
        assert!(verify_secret(s.expose(), &stored));
        assert!(!verify_secret("wrong", &stored));
        assert!(!verify_secret("", &stored));
        assert!(!stored.contains(s.expose()));
    }

    #[test]
    fn debug_is_redacted() {
        let s = ClientSecret::new("super-secret".into());
        assert_eq!(format!("{s:?}"), "ClientSecret([redacted])");
    }
}
