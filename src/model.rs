//! The protocol names Tessera supports, as enums: grant types, client authentication
//! methods and JWS signing algorithms. Each has an `ALL` list; discovery, the admin
//! console's options and the CLI's accepted values are built from it, so supporting a new
//! name starts by adding a variant here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A name that is not one of the values Tessera supports for `what`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unsupported {what} {name:?} (expected {expected})")]
pub struct UnknownName {
    /// What kind of name, e.g. "grant type".
    pub what: &'static str,
    pub name: String,
    /// The supported names, comma-separated.
    pub expected: String,
}

/// Implements `as_str`, `ALL`, `Display`, `FromStr` (case-sensitive, as the registries'
/// names are), `AsRef<str>` and serde as the registered string for a fieldless enum.
macro_rules! names {
    ($ty:ident, $what:literal, [$($variant:ident => $name:literal),+ $(,)?]) => {
        impl $ty {
            /// Every supported value, in the order discovery lists them.
            pub const ALL: [$ty; [$($name),+].len()] = [$($ty::$variant),+];

            /// The registered name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }

            /// The registered names of [`Self::ALL`].
            pub fn names() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.as_str()).collect()
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| UnknownName {
                    what: $what,
                    name: s.to_owned(),
                    expected: Self::names().join(", "),
                })
            }
        }

        impl TryFrom<String> for $ty {
            type Error = UnknownName;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                value.parse()
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> Self {
                value.as_str().to_owned()
            }
        }
    };
}

// The audit log's event kinds (`crate::audit`) are named the same way.
pub(crate) use names;

/// A `grant_type` of the token endpoint (RFC 6749 §4, IANA "OAuth Parameters").
/// Each has its request variant in [`crate::token::TokenRequest`] and its checks in a
/// file under `src/token/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum GrantType {
    /// RFC 6749 §4.1.
    AuthorizationCode,
    /// RFC 6749 §6.
    RefreshToken,
    /// RFC 6749 §4.4: a confidential client acting for itself.
    ClientCredentials,
    /// RFC 8628 §3.4: a device without a browser polls while the user approves elsewhere.
    DeviceCode,
}

names!(GrantType, "grant type", [
    AuthorizationCode => "authorization_code",
    RefreshToken => "refresh_token",
    ClientCredentials => "client_credentials",
    DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
]);

impl GrantType {
    /// Whether a client of this kind may ever be given the grant: client_credentials
    /// needs a secret to authenticate with, which a public client has not (RFC 6749 §4.4).
    pub fn allowed_for_public_client(self) -> bool {
        !matches!(self, GrantType::ClientCredentials)
    }

    /// Whether a client registered without an explicit list gets the grant. The device
    /// grant is opt-in: its user code can be phished (RFC 8628 §5.4), so only clients
    /// that need it are given it.
    pub fn granted_by_default(self) -> bool {
        !matches!(self, GrantType::DeviceCode)
    }
}

/// How a client authenticates at the token, revocation and introspection endpoints: a
/// `token_endpoint_auth_method` (RFC 7591 §2, OpenID Connect Discovery §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ClientAuthMethod {
    /// RFC 6749 §2.3.1: the Authorization header, HTTP Basic.
    ClientSecretBasic,
    /// RFC 6749 §2.3.1: `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// RFC 6749 §2.1 / RFC 8252 §8.4: a public client, identified but not authenticated.
    None,
    /// RFC 7523 §2.2 / OIDC Core §9: a JWT signed with one of the client's registered keys.
    PrivateKeyJwt,
}

names!(ClientAuthMethod, "client authentication method", [
    ClientSecretBasic => "client_secret_basic",
    ClientSecretPost => "client_secret_post",
    None => "none",
    PrivateKeyJwt => "private_key_jwt",
]);

impl ClientAuthMethod {
    /// Whether the method proves the client's identity (introspection requires that,
    /// RFC 7662 §2.1).
    pub fn authenticates(self) -> bool {
        !matches!(self, ClientAuthMethod::None)
    }
}

/// The JWS algorithms Tessera signs with (RFC 7518 §3.1, RFC 8037 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 on a 2048-bit key; OIDC Core §15.1 requires it.
    RS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// EdDSA on Ed25519.
    EdDSA,
    /// RSASSA-PSS with SHA-256 and MGF1 SHA-256 on a 2048-bit key (RFC 7518 §3.5); FAPI 2.0
    /// allows it where it does not allow RS256.
    PS256,
}

// RS256 first: the OIDC default. JWA names are case-sensitive (RFC 7518 §3.1).
names!(SigningAlg, "signing algorithm", [
    RS256 => "RS256",
    ES256 => "ES256",
    EdDSA => "EdDSA",
    PS256 => "PS256",
]);

impl SigningAlg {
    /// The default for access tokens: ES256, short and fast to verify.
    pub const ACCESS_TOKEN_DEFAULT: SigningAlg = SigningAlg::ES256;
    /// The default for ID tokens: RS256, as OIDC Core §3.1.3.7 expects when a client
    /// registered none.
    pub const ID_TOKEN_DEFAULT: SigningAlg = SigningAlg::RS256;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        #[rustfmt::skip]
        let table: &[(&str, &str)] = &[
            (GrantType::AuthorizationCode.as_str(), "authorization_code"),
            (GrantType::RefreshToken.as_str(), "refresh_token"),
            (GrantType::ClientCredentials.as_str(), "client_credentials"),
            (GrantType::DeviceCode.as_str(), "urn:ietf:params:oauth:grant-type:device_code"),
            (ClientAuthMethod::ClientSecretBasic.as_str(), "client_secret_basic"),
            (ClientAuthMethod::ClientSecretPost.as_str(), "client_secret_post"),
            (ClientAuthMethod::None.as_str(), "none"),
            (ClientAuthMethod::PrivateKeyJwt.as_str(), "private_key_jwt"),
            (SigningAlg::RS256.as_str(), "RS256"),
            (SigningAlg::ES256.as_str(), "ES256"),
            (SigningAlg::EdDSA.as_str(), "EdDSA"),
            (SigningAlg::PS256.as_str(), "PS256"),
        ];
        for (got, want) in table {
            assert_eq!(got, want);
        }
        for g in GrantType::ALL {
            assert_eq!(g.as_str().parse::<GrantType>(), Ok(g));
            assert_eq!(serde_json::to_value(g).unwrap(), serde_json::json!(g.as_str()));
            assert_eq!(
                serde_json::from_value::<GrantType>(serde_json::json!(g.as_str())).unwrap(),
                g
            );
            assert_eq!(g.to_string(), g.as_str());
        }
        for m in ClientAuthMethod::ALL {
            assert_eq!(m.as_str().parse::<ClientAuthMethod>(), Ok(m));
            assert_eq!(serde_json::to_value(m).unwrap(), serde_json::json!(m.as_str()));
        }
        for a in SigningAlg::ALL {
            assert_eq!(a.as_str().parse::<SigningAlg>(), Ok(a));
            assert_eq!(serde_json::to_value(a).unwrap(), serde_json::json!(a.as_str()));
        }
    }

    #[test]
    fn unknown_names_are_refused_with_the_list() {
        for bad in ["implicit", "password", "Authorization_Code", "", " refresh_token"] {
            assert!(bad.parse::<GrantType>().is_err(), "{bad:?}");
        }
        assert!(serde_json::from_value::<GrantType>(serde_json::json!("implicit")).is_err());
        // RFC 7518 §3.1: case-sensitive.
        for bad in ["rs256", "eddsa", "ps256", "HS256", "PS384", "none"] {
            assert!(bad.parse::<SigningAlg>().is_err(), "{bad:?}");
        }
        assert!("tls_client_auth".parse::<ClientAuthMethod>().is_err());
        let e = "PS512".parse::<SigningAlg>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unsupported signing algorithm \"PS512\" (expected RS256, ES256, EdDSA, PS256)"
        );
    }

    #[test]
    fn public_clients_and_authentication() {
        assert!(GrantType::AuthorizationCode.allowed_for_public_client());
        assert!(GrantType::RefreshToken.allowed_for_public_client());
        assert!(!GrantType::ClientCredentials.allowed_for_public_client());
        assert!(GrantType::DeviceCode.allowed_for_public_client());
        assert!(!GrantType::DeviceCode.granted_by_default());
        assert!(ClientAuthMethod::ClientSecretBasic.authenticates());
        assert!(!ClientAuthMethod::None.authenticates());
    }
}
