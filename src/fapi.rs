//! The FAPI 2.0 Security Profile (OpenID FAPI 2.0 Security Profile, final), switched on per
//! client: what the switch enforces, in one list the console shows and the README quotes,
//! and the registration rules it adds. The checks at the endpoints read
//! [`crate::store::Client`]'s `requires_*` methods, which fold the switch in.
//!
//! Tessera implements the profile's sender-constraining with DPoP (RFC 9449) and its
//! client authentication with `private_key_jwt` (mutual TLS is not offered).

use crate::model::ClientAuthMethod;

/// FAPI 2.0 Security Profile §5.4: "shall only use PS256, ES256 or EdDSA (using the
/// Ed25519 variant)" — for what Tessera signs and for what it accepts from the client
/// (client assertions, request objects, DPoP proofs).
pub const ALLOWED_ALGS: [&str; 3] = ["PS256", "ES256", "EdDSA"];

/// Whether `alg` (a JWS `alg` name) is allowed under the profile.
pub fn allows_alg(alg: &str) -> bool {
    ALLOWED_ALGS.contains(&alg)
}

/// §5.3.2.1: "shall only accept its issuer identifier value ... as a string in the aud
/// claim received in client authentication assertions".
pub fn check_assertion_audience(
    claims: &serde_json::Map<String, serde_json::Value>,
    issuer: &str,
) -> Result<(), String> {
    match claims.get("aud") {
        Some(serde_json::Value::String(aud)) if aud == issuer => Ok(()),
        other => Err(format!("aud {other:?} is not the issuer as a string (FAPI 2.0)")),
    }
}

/// What the switch enforces, each rule with the section requiring it, as the client's
/// settings page lists it.
pub const ENFORCED: [(&str, &str); 8] = [
    (
        "Pushed authorization requests only: a plain /authorize is refused with invalid_request",
        "§5.3.2.2",
    ),
    (
        "Confidential client authenticating with private_key_jwt; the assertion's aud must be the issuer, as a string",
        "§5.3.2.1",
    ),
    ("PKCE with S256", "§5.3.2.2"),
    (
        "DPoP-bound access tokens: a token request without a DPoP proof is refused with invalid_request",
        "§5.3.2.1",
    ),
    ("iss in the authorization response (RFC 9207)", "§5.3.2.2"),
    ("Authorization codes live at most 60 seconds", "§5.3.2.1"),
    (
        "Only PS256, ES256 and EdDSA: for the client's ID and access tokens, and for its assertions, request objects and DPoP proofs",
        "§5.4",
    ),
    (
        "No refresh-token rotation: a refresh returns a new access token and leaves the refresh token as it was",
        "§5.3.2.1",
    ),
];

/// The parts of a client registration the profile constrains.
#[derive(Debug, Clone, Copy)]
pub struct Registration<'a> {
    pub is_public: bool,
    pub auth_method: ClientAuthMethod,
    pub has_keys: bool,
    pub access_token_alg: &'a str,
    pub id_token_alg: &'a str,
}

/// The registration errors the switch adds (console field name → message). What the
/// profile requires and a setting can simply be forced to (PAR, DPoP, PKCE) is forced, not
/// refused: see [`crate::store::Client`]'s `requires_*` methods.
pub fn registration_errors(r: &Registration<'_>) -> Vec<(&'static str, String)> {
    let mut errors = Vec::new();
    // §5.3.2.1: "shall only support confidential clients".
    if r.is_public {
        errors.push(("fapi2", "FAPI 2.0 allows confidential clients only.".to_owned()));
    }
    // §5.3.2.1: client authentication by mutual TLS or private_key_jwt; Tessera offers the latter.
    if !r.is_public && r.auth_method != ClientAuthMethod::PrivateKeyJwt {
        errors.push((
            "token_endpoint_auth_method",
            "FAPI 2.0 requires private_key_jwt.".to_owned(),
        ));
    }
    if r.auth_method == ClientAuthMethod::PrivateKeyJwt && !r.has_keys {
        errors.push((
            "jwks",
            "FAPI 2.0 requires the client's public keys (a JWK Set or its URI).".to_owned(),
        ));
    }
    // §5.4: PS256, ES256 or EdDSA only.
    for (field, alg) in [
        ("access_token_alg", r.access_token_alg),
        ("id_token_alg", r.id_token_alg),
    ] {
        if !allows_alg(alg) {
            errors.push((field, "FAPI 2.0 allows PS256, ES256 or EdDSA.".to_owned()));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Registration<'static> {
        Registration {
            is_public: false,
            auth_method: ClientAuthMethod::PrivateKeyJwt,
            has_keys: true,
            access_token_alg: "ES256",
            id_token_alg: "PS256",
        }
    }

    #[test]
    fn registration_rules() {
        let fields = |r: Registration<'_>| -> Vec<&'static str> {
            registration_errors(&r).into_iter().map(|(f, _)| f).collect()
        };
        #[rustfmt::skip]
        let table: Vec<(Registration<'static>, Vec<&str>)> = vec![
            (ok(), vec![]),
            (Registration { id_token_alg: "EdDSA", ..ok() }, vec![]),
            (Registration { is_public: true, auth_method: ClientAuthMethod::None, has_keys: false, ..ok() }, vec!["fapi2"]),
            (Registration { auth_method: ClientAuthMethod::ClientSecretBasic, has_keys: false, ..ok() }, vec!["token_endpoint_auth_method"]),
            (Registration { auth_method: ClientAuthMethod::ClientSecretPost, ..ok() }, vec!["token_endpoint_auth_method"]),
            (Registration { has_keys: false, ..ok() }, vec!["jwks"]),
            (Registration { id_token_alg: "RS256", ..ok() }, vec!["id_token_alg"]),
            (Registration { access_token_alg: "RS256", id_token_alg: "RS256", ..ok() }, vec!["access_token_alg", "id_token_alg"]),
        ];
        for (r, want) in table {
            assert_eq!(fields(r), want, "{r:?}");
        }
    }

    #[test]
    fn assertion_audience() {
        let claims = |aud: serde_json::Value| {
            let mut m = serde_json::Map::new();
            m.insert("aud".into(), aud);
            m
        };
        let iss = "https://id.example";
        assert!(check_assertion_audience(&claims(serde_json::json!(iss)), iss).is_ok());
        // An endpoint URL, an array (even of just the issuer) or another value: refused.
        for aud in [
            serde_json::json!("https://id.example/token"),
            serde_json::json!([iss]),
            serde_json::json!("https://id.example/"),
        ] {
            assert!(check_assertion_audience(&claims(aud.clone()), iss).is_err(), "{aud}");
        }
        assert!(check_assertion_audience(&serde_json::Map::new(), iss).is_err());
    }

    #[test]
    fn algorithms() {
        for alg in ["PS256", "ES256", "EdDSA"] {
            assert!(allows_alg(alg), "{alg}");
        }
        // §5.4 excludes RS256 (PKCS#1 v1.5), symmetric and unsigned.
        for alg in ["RS256", "HS256", "none", "ES384", "es256", ""] {
            assert!(!allows_alg(alg), "{alg}");
        }
    }
}
