//! The authorization server metadata document (RFC 8414 §2, OpenID Connect Discovery
//! §3), served at `/.well-known/openid-configuration` and
//! `/.well-known/oauth-authorization-server`. Built from what the server actually has
//! (signing algorithms, scopes), so that it cannot drift from the truth.

use serde::Serialize;

use crate::client_keys::CLIENT_JWS_ALGS;
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
    /// RFC 9126 §5: whether every client must push its authorization requests
    /// (`--require-par`); clients may also require it one by one.
    pub require_pushed_authorization_requests: bool,
    /// RFC 8414 §2 `registration_endpoint`: published only while dynamic client
    /// registration (RFC 7591) is on (mode `token` or `open`).
    pub registration_endpoint: bool,
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
    /// RFC 8414 §2: the algorithms `private_key_jwt` assertions may be signed with, at
    /// each endpoint that authenticates clients.
    pub token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub revocation_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub introspection_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    /// OIDC Discovery §3 / RFC 9101 §10.1: the algorithms request objects may be signed with.
    pub request_object_signing_alg_values_supported: Vec<&'static str>,
    /// RFC 9126 §5.
    pub pushed_authorization_request_endpoint: String,
    /// RFC 9126 §5: the server-wide setting; per-client ones are not published.
    pub require_pushed_authorization_requests: bool,
    /// RFC 9449 §5.1: the algorithms a DPoP proof may use.
    pub dpop_signing_alg_values_supported: Vec<&'static str>,
    /// RFC 8628 §4.
    pub device_authorization_endpoint: String,
    /// RFC 8414 §2 / RFC 7591 §3: only while registration is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
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
        // RFC 9101: signed request objects by value (`request`).
        request_parameter_supported: true,
        // OIDC Discovery §3: the default is true, so say no explicitly. This is about
        // fetching a request object from the client's URL; our own PAR URNs (RFC 9126 §4)
        // are advertised by the endpoint below.
        request_uri_parameter_supported: false,
        claims_parameter_supported: false,
        token_endpoint_auth_signing_alg_values_supported: CLIENT_JWS_ALGS.to_vec(),
        revocation_endpoint_auth_signing_alg_values_supported: CLIENT_JWS_ALGS.to_vec(),
        introspection_endpoint_auth_signing_alg_values_supported: CLIENT_JWS_ALGS.to_vec(),
        request_object_signing_alg_values_supported: CLIENT_JWS_ALGS.to_vec(),
        pushed_authorization_request_endpoint: endpoint("/par"),
        require_pushed_authorization_requests: opts.require_pushed_authorization_requests,
        dpop_signing_alg_values_supported: crate::dpop::ALGS.to_vec(),
        device_authorization_endpoint: endpoint("/device_authorization"),
        registration_endpoint: opts.registration_endpoint.then(|| endpoint("/register")),
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
            require_pushed_authorization_requests: false,
            registration_endpoint: false,
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
                (&m.pushed_authorization_request_endpoint, "https://id.example/par"),
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
            ("grant_types_supported", serde_json::json!(["authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"])),
            ("device_authorization_endpoint", serde_json::json!("https://id.example/device_authorization")),
            ("subject_types_supported", serde_json::json!(["public"])),
            ("id_token_signing_alg_values_supported", serde_json::json!(["RS256", "ES256", "EdDSA"])),
            ("token_endpoint_auth_methods_supported", serde_json::json!(["client_secret_basic", "client_secret_post", "none", "private_key_jwt"])),
            ("introspection_endpoint_auth_methods_supported", serde_json::json!(["client_secret_basic", "client_secret_post", "private_key_jwt"])),
            ("token_endpoint_auth_signing_alg_values_supported", serde_json::json!(["RS256", "PS256", "ES256", "EdDSA"])),
            ("revocation_endpoint_auth_signing_alg_values_supported", serde_json::json!(["RS256", "PS256", "ES256", "EdDSA"])),
            ("introspection_endpoint_auth_signing_alg_values_supported", serde_json::json!(["RS256", "PS256", "ES256", "EdDSA"])),
            ("request_object_signing_alg_values_supported", serde_json::json!(["RS256", "PS256", "ES256", "EdDSA"])),
            ("code_challenge_methods_supported", serde_json::json!(["S256"])),
            ("authorization_response_iss_parameter_supported", serde_json::json!(true)),
            ("request_parameter_supported", serde_json::json!(true)),
            ("request_uri_parameter_supported", serde_json::json!(false)),
            ("pushed_authorization_request_endpoint", serde_json::json!("https://id.example/par")),
            ("require_pushed_authorization_requests", serde_json::json!(false)),
            ("prompt_values_supported", serde_json::json!(["none", "login", "consent", "select_account"])),
            ("scopes_supported", serde_json::json!(["openid", "profile", "email", "offline_access", "api"])),
            ("dpop_signing_alg_values_supported", serde_json::json!(["ES256", "PS256", "RS256", "EdDSA"])),
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
                require_pushed_authorization_requests: false,
                registration_endpoint: false,
            },
        );
        assert!(!m.claims_supported.iter().any(|c| c == "email"));
    }

    /// RFC 9126 §5: the server-wide PAR requirement is published as configured.
    #[test]
    fn pushed_authorization_requests_required() {
        let mut o = opts();
        o.require_pushed_authorization_requests = true;
        let v = serde_json::to_value(metadata("https://id.example", &o)).unwrap();
        assert_eq!(v["require_pushed_authorization_requests"], serde_json::json!(true));
    }

    /// RFC 8414 §2: `registration_endpoint` only while registration is on.
    #[test]
    fn registration_endpoint_only_when_on() {
        let mut o = opts();
        let v = serde_json::to_value(metadata("https://id.example/", &o)).unwrap();
        assert!(v.get("registration_endpoint").is_none());
        o.registration_endpoint = true;
        let v = serde_json::to_value(metadata("https://id.example/", &o)).unwrap();
        assert_eq!(v["registration_endpoint"], "https://id.example/register");
    }
}
