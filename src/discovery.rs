//! The authorization server metadata document (RFC 8414 §2, OpenID Connect Discovery
//! §3), served at `/.well-known/openid-configuration` and
//! `/.well-known/oauth-authorization-server`. Built from what the server actually has
//! (signing algorithms, scopes), so that it cannot drift from the truth.

use serde::Serialize;

use crate::model::{ClientAuthMethod, GrantType};
use crate::scope;
use crate::types::ScopeSet;

/// What varies between deployments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataOptions {
    /// The JWS algorithms of the keys in the JWKS, e.g. `["RS256", "ES256", "EdDSA", "PS256"]`.
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// Every scope a client may be registered for (built-in and administrator-defined).
    pub scopes_supported: Vec<String>,
}

/// ID token claims Tessera always may send (OIDC Core §2), besides those released by scopes.
const ID_TOKEN_CLAIMS: &[&str] = &["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce"];

/// The metadata document. Fields follow RFC 8414 §2 and OIDC Discovery §3; values
/// whose spec default is wrong for us (response modes, grant types, request_uri
/// support) are written out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub userinfo_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub scopes_supported: Vec<String>,
    pub response_types_supported: Vec<&'static str>,
    pub response_modes_supported: Vec<&'static str>,
    pub grant_types_supported: Vec<&'static str>,
    pub subject_types_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    pub code_challenge_methods_supported: Vec<&'static str>,
    pub claims_supported: Vec<String>,
    pub prompt_values_supported: Vec<&'static str>,
    pub authorization_response_iss_parameter_supported: bool,
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
    pub claims_parameter_supported: bool,
}

/// Builds the document. `issuer` is used as given (RFC 8414 §3.3: it must equal the
/// configured issuer exactly); endpoint URLs are joined without a doubled slash.
pub fn metadata(issuer: &str, opts: &MetadataOptions) -> ProviderMetadata {
    let base = issuer.trim_end_matches('/');
    let endpoint = |path: &str| format!("{base}{path}");
    let scopes = ScopeSet::parse(&opts.scopes_supported.join(" ")).unwrap_or_default();
    let mut claims: Vec<String> = ID_TOKEN_CLAIMS.iter().map(|c| (*c).to_owned()).collect();
    for c in scopes.iter().filter_map(scope::builtin).flat_map(|s| s.claims.iter()) {
        if !claims.iter().any(|have| have == c) {
            claims.push((*c).to_owned());
        }
    }
    ProviderMetadata {
        issuer: issuer.to_owned(),
        authorization_endpoint: endpoint("/authorize"),
        token_endpoint: endpoint("/token"),
        jwks_uri: endpoint("/jwks.json"),
        userinfo_endpoint: endpoint("/userinfo"),
        revocation_endpoint: endpoint("/revoke"),
        introspection_endpoint: endpoint("/introspect"),
        scopes_supported: opts.scopes_supported.clone(),
        response_types_supported: vec!["code"],
        // OIDC Discovery §3 default is ["query", "fragment"]; we only do query.
        response_modes_supported: vec!["query"],
        // OIDC Discovery §3 default includes implicit; RFC 9700 §2.1.2 rules it out.
        grant_types_supported: GrantType::names(),
        subject_types_supported: vec!["public"],
        id_token_signing_alg_values_supported: opts.id_token_signing_alg_values_supported.clone(),
        token_endpoint_auth_methods_supported: ClientAuthMethod::names(),
        // RFC 7009 §2.1: public clients may revoke their own tokens, identified by client_id.
        revocation_endpoint_auth_methods_supported: ClientAuthMethod::names(),
        // RFC 7662 §2.1: introspection requires an authenticated caller.
        introspection_endpoint_auth_methods_supported: ClientAuthMethod::ALL
            .iter()
            .filter(|m| m.authenticates())
            .map(|m| m.as_str())
            .collect(),
        // RFC 9700 §2.1.1: S256 only.
        code_challenge_methods_supported: vec!["S256"],
        claims_supported: claims,
        prompt_values_supported: vec!["none", "login", "consent", "select_account"],
        // RFC 9207 §3.
        authorization_response_iss_parameter_supported: true,
        request_parameter_supported: false,
        // OIDC Discovery §3: the default is true, so say no explicitly.
        request_uri_parameter_supported: false,
        claims_parameter_supported: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> MetadataOptions {
        MetadataOptions {
            id_token_signing_alg_values_supported: vec!["RS256".into(), "ES256".into(), "EdDSA".into()],
            scopes_supported: vec![
                "openid".into(),
                "profile".into(),
                "email".into(),
                "offline_access".into(),
                "api".into(),
            ],
        }
    }

    #[test]
    fn endpoints_and_fixed_values() {
        for issuer in ["https://id.example", "https://id.example/"] {
            let m = metadata(issuer, &opts());
            assert_eq!(m.issuer, issuer);
            #[rustfmt::skip]
            let table: &[(&str, &str)] = &[
                (&m.authorization_endpoint, "https://id.example/authorize"),
                (&m.token_endpoint, "https://id.example/token"),
                (&m.jwks_uri, "https://id.example/jwks.json"),
                (&m.userinfo_endpoint, "https://id.example/userinfo"),
                (&m.revocation_endpoint, "https://id.example/revoke"),
                (&m.introspection_endpoint, "https://id.example/introspect"),
            ];
            for (got, want) in table {
                assert_eq!(got, want);
            }
        }
        let m = metadata("https://id.example/tenant", &opts());
        assert_eq!(m.token_endpoint, "https://id.example/tenant/token");
    }

    #[test]
    fn json_shape() {
        let v = serde_json::to_value(metadata("https://id.example", &opts())).unwrap();
        #[rustfmt::skip]
        let table: &[(&str, serde_json::Value)] = &[
            ("response_types_supported", serde_json::json!(["code"])),
            ("response_modes_supported", serde_json::json!(["query"])),
            ("grant_types_supported", serde_json::json!(["authorization_code", "refresh_token", "client_credentials"])),
            ("subject_types_supported", serde_json::json!(["public"])),
            ("id_token_signing_alg_values_supported", serde_json::json!(["RS256", "ES256", "EdDSA"])),
            ("token_endpoint_auth_methods_supported", serde_json::json!(["client_secret_basic", "client_secret_post", "none"])),
            ("code_challenge_methods_supported", serde_json::json!(["S256"])),
            ("authorization_response_iss_parameter_supported", serde_json::json!(true)),
            ("request_parameter_supported", serde_json::json!(false)),
            ("request_uri_parameter_supported", serde_json::json!(false)),
            ("prompt_values_supported", serde_json::json!(["none", "login", "consent", "select_account"])),
            ("scopes_supported", serde_json::json!(["openid", "profile", "email", "offline_access", "api"])),
        ];
        for (key, want) in table {
            assert_eq!(&v[*key], want, "{key}");
        }
        let claims: Vec<&str> = v["claims_supported"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        for c in [
            "sub",
            "iss",
            "auth_time",
            "nonce",
            "name",
            "preferred_username",
            "email",
            "email_verified",
        ] {
            assert!(claims.contains(&c), "{c}");
        }
        assert_eq!(claims.iter().filter(|c| **c == "sub").count(), 1);
    }

    #[test]
    fn claims_follow_scopes() {
        let m = metadata(
            "https://id.example",
            &MetadataOptions {
                id_token_signing_alg_values_supported: vec!["EdDSA".into()],
                scopes_supported: vec!["openid".into()],
            },
        );
        assert!(!m.claims_supported.iter().any(|c| c == "email"));
    }
}
