//! Client authentication at the token, revocation and introspection endpoints
//! (RFC 6749 §2.3, RFC 7523 §2.2): what the client presented, then whether it proves who
//! it claims to be (a `private_key_jwt` assertion's signature is the server's to check).

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

use crate::client_keys::{peek_claims, ASSERTION_TYPE};
use crate::error::OAuthError;
use crate::model::ClientAuthMethod;
use crate::params;
use crate::policy::CLIENT_ASSERTION_MAX_BYTES;
use crate::secret::{verify_secret, ClientSecret};
use crate::store::Client;

/// How a client identified itself.
#[derive(Debug, Clone, PartialEq)]
pub enum PresentedClient {
    /// RFC 6749 §2.3.1 `client_secret_basic`: the Authorization header.
    Basic { client_id: String, secret: ClientSecret },
    /// RFC 6749 §2.3.1 `client_secret_post`: both in the form body.
    Post { client_id: String, secret: ClientSecret },
    /// RFC 6749 §2.1 / RFC 8252 §8.4: a public client, identified but not authenticated.
    None { client_id: String },
    /// RFC 7523 §2.2 `private_key_jwt`: a JWT the client signed. `client_id` is the form's,
    /// else the (unverified) `sub` of the assertion, which only picks the keys to verify with.
    Assertion { client_id: String, assertion: String },
}

impl PresentedClient {
    pub fn client_id(&self) -> &str {
        match self {
            Self::Basic { client_id, .. }
            | Self::Post { client_id, .. }
            | Self::None { client_id }
            | Self::Assertion { client_id, .. } => client_id,
        }
    }

    /// RFC 6749 §5.2: when the client used the Authorization header, an invalid_client
    /// answer MUST be 401 with a `WWW-Authenticate` header for the scheme it used.
    pub fn used_basic(&self) -> bool {
        matches!(self, Self::Basic { .. })
    }

    /// The `token_endpoint_auth_method` (RFC 7591 §2) of what was presented.
    pub fn method(&self) -> ClientAuthMethod {
        match self {
            Self::Basic { .. } => ClientAuthMethod::ClientSecretBasic,
            Self::Post { .. } => ClientAuthMethod::ClientSecretPost,
            Self::None { .. } => ClientAuthMethod::None,
            Self::Assertion { .. } => ClientAuthMethod::PrivateKeyJwt,
        }
    }

    /// Reads the client from the `Authorization` header and the form body. When this
    /// fails and an Authorization header was sent, answer 401 with
    /// `WWW-Authenticate: Basic` (RFC 6749 §5.2).
    pub fn from_request(authorization: Option<&str>, form: &[(String, String)]) -> Result<Self, OAuthError> {
        let names = [
            "client_id",
            "client_secret",
            "client_assertion",
            "client_assertion_type",
        ];
        if let Some(name) = params::duplicated(form, &names) {
            return Err(OAuthError::invalid_request("repeated parameter").with_detail(format!("repeated {name}")));
        }
        let assertion_type = params::get(form, "client_assertion_type");
        let assertion = params::get(form, "client_assertion");
        if assertion_type.is_some() || assertion.is_some() {
            // RFC 6749 §2.3: a client MUST NOT use more than one authentication method.
            if authorization.is_some() || params::get(form, "client_secret").is_some() {
                return Err(OAuthError::invalid_request(
                    "more than one client authentication method",
                ));
            }
            return Self::parse_assertion(params::get(form, "client_id"), assertion_type, assertion);
        }
        Self::parse(
            authorization,
            params::get(form, "client_id"),
            params::get(form, "client_secret"),
        )
    }

    /// As [`PresentedClient::from_request`], from already extracted values (empty values
    /// count as absent, RFC 6749 §3.2).
    pub fn parse(
        authorization: Option<&str>,
        client_id: Option<&str>,
        client_secret: Option<&str>,
    ) -> Result<Self, OAuthError> {
        let client_id = client_id.filter(|s| !s.is_empty());
        let client_secret = client_secret.filter(|s| !s.is_empty());
        if let Some(header) = authorization {
            let (id, secret) = parse_basic(header)?;
            // RFC 6749 §2.3: a client MUST NOT use more than one authentication method.
            if client_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "more than one client authentication method",
                ));
            }
            // The body's client_id is allowed, but must name the same client.
            if client_id.is_some_and(|body_id| body_id != id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the Authorization header",
                ));
            }
            return Ok(Self::Basic {
                client_id: id,
                secret: ClientSecret::new(secret),
            });
        }
        match (client_id, client_secret) {
            (Some(id), Some(secret)) => Ok(Self::Post {
                client_id: id.to_owned(),
                secret: ClientSecret::new(secret.to_owned()),
            }),
            (Some(id), None) => Ok(Self::None {
                client_id: id.to_owned(),
            }),
            // RFC 6749 §5.2: no client authentication included -> invalid_client.
            (None, _) => Err(OAuthError::invalid_client("client authentication failed")
                .with_detail("no client identification presented")),
        }
    }
}

impl PresentedClient {
    /// RFC 7521 §4.2 / RFC 7523 §2.2: `client_assertion_type` names the JWT bearer type
    /// and `client_assertion` carries one JWT; `client_id` is optional (the assertion's
    /// `sub` names the client).
    fn parse_assertion(
        client_id: Option<&str>,
        assertion_type: Option<&str>,
        assertion: Option<&str>,
    ) -> Result<Self, OAuthError> {
        let fail = |why: &str| OAuthError::invalid_client("client authentication failed").with_detail(why.to_owned());
        let (Some(assertion_type), Some(assertion)) = (assertion_type, assertion) else {
            // RFC 7521 §4.2.1: a missing parameter is invalid_request.
            return Err(OAuthError::invalid_request(
                "client_assertion and client_assertion_type go together",
            ));
        };
        if assertion_type != ASSERTION_TYPE {
            return Err(fail("unsupported client_assertion_type"));
        }
        // Bounded before anything is decoded (policy).
        if assertion.len() > CLIENT_ASSERTION_MAX_BYTES {
            return Err(fail("client_assertion longer than the policy allows"));
        }
        let client_id = match client_id {
            Some(id) => id.to_owned(),
            None => peek_claims(assertion)
                .and_then(|c| c.get("sub").and_then(|s| s.as_str()).map(str::to_owned))
                .filter(|s| !s.is_empty())
                .ok_or_else(|| fail("client_assertion is not a JWT naming its client in sub"))?,
        };
        Ok(Self::Assertion {
            client_id,
            assertion: assertion.to_owned(),
        })
    }
}

/// What [`authenticate`] concluded.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The client proved who it is (or is public, and presented no credential).
    Authenticated,
    /// The client is registered for `private_key_jwt` and presented an assertion: it is
    /// authenticated only once the caller verified the assertion's signature with the
    /// client's keys and its claims ([`crate::client_keys::check_assertion`]).
    VerifyAssertion,
}

/// RFC 6749 §2.3.1 with RFC 7617: `Basic base64(urlencode(id) ":" urlencode(secret))`.
/// Anything else in the Authorization header is an unsupported method: invalid_client.
fn parse_basic(header: &str) -> Result<(String, String), OAuthError> {
    let malformed = |why: &str| OAuthError::invalid_client("client authentication failed").with_detail(why.to_owned());
    let (scheme, rest) = header
        .trim()
        .split_once(' ')
        .ok_or_else(|| malformed("no credentials"))?;
    // RFC 9110 §11.1: the scheme name is case-insensitive.
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed("Authorization scheme is not Basic"));
    }
    // Padding is required by RFC 7617; we accept its omission, which costs nothing.
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let decoded = LENIENT
        .decode(rest.trim())
        .map_err(|_| malformed("Basic credentials are not base64"))?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed("Basic credentials are not UTF-8"))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| malformed("Basic credentials lack ':'"))?;
    let id = crate::params::form_urldecode(id).ok_or_else(|| malformed("client id is not form-urlencoded"))?;
    let secret = crate::params::form_urldecode(secret).ok_or_else(|| malformed("secret is not form-urlencoded"))?;
    if id.is_empty() || secret.is_empty() {
        return Err(malformed("empty client id or secret"));
    }
    Ok((id, secret))
}

/// RFC 6749 §3.2.1 and §2.3: a confidential client MUST authenticate with its registered
/// method — its secret (checked in constant time against the stored hash; Basic or form
/// alike), or a `private_key_jwt` assertion (RFC 7523, never a secret then); a public
/// client has no credential and presents none. Every failure is invalid_client with the
/// same public text.
pub fn authenticate(presented: &PresentedClient, client: Option<&Client>) -> Result<Outcome, OAuthError> {
    let fail = |detail: &str| OAuthError::invalid_client("client authentication failed").with_detail(detail.to_owned());
    let client = client.ok_or_else(|| fail("unknown client"))?;
    if client.client_id != presented.client_id() {
        return Err(fail("looked-up client does not match the presented client_id"));
    }
    let key_client = client.auth_method() == ClientAuthMethod::PrivateKeyJwt;
    match (presented, client.is_public) {
        (PresentedClient::None { .. }, true) => Ok(Outcome::Authenticated),
        (_, true) => Err(fail("public client presented a credential")),
        (PresentedClient::None { .. }, false) => Err(fail("confidential client presented no credential")),
        (PresentedClient::Assertion { .. }, false) if key_client => Ok(Outcome::VerifyAssertion),
        (PresentedClient::Assertion { .. }, false) => Err(fail("secret client presented an assertion")),
        (PresentedClient::Basic { .. } | PresentedClient::Post { .. }, false) if key_client => {
            Err(fail("private_key_jwt client presented a secret"))
        }
        (PresentedClient::Basic { secret, .. } | PresentedClient::Post { secret, .. }, false) => {
            let hash = client
                .secret_hash
                .as_deref()
                .ok_or_else(|| fail("confidential client has no stored secret"))?;
            if verify_secret(secret.expose(), hash) {
                Ok(Outcome::Authenticated)
            } else {
                Err(fail("wrong client secret"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::secret::hash_secret;
    use crate::types::ScopeSet;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    fn basic(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    #[derive(Debug, PartialEq)]
    enum Want {
        Basic(&'static str, &'static str),
        Post(&'static str, &'static str),
        None(&'static str),
        Err(ErrorCode),
    }

    fn got(r: Result<PresentedClient, OAuthError>) -> (String, Option<String>, &'static str) {
        match r {
            Ok(PresentedClient::Basic { client_id, secret }) => (client_id, Some(secret.expose().to_owned()), "basic"),
            Ok(PresentedClient::Post { client_id, secret }) => (client_id, Some(secret.expose().to_owned()), "post"),
            Ok(PresentedClient::None { client_id }) => (client_id, None, "none"),
            Ok(PresentedClient::Assertion { client_id, assertion }) => (client_id, Some(assertion), "assertion"),
            Err(e) => (e.code.as_str().to_owned(), None, "err"),
        }
    }

    fn want(w: &Want) -> (String, Option<String>, &'static str) {
        match w {
            Want::Basic(i, s) => ((*i).to_owned(), Some((*s).to_owned()), "basic"),
            Want::Post(i, s) => ((*i).to_owned(), Some((*s).to_owned()), "post"),
            Want::None(i) => ((*i).to_owned(), None, "none"),
            Want::Err(c) => (c.as_str().to_owned(), None, "err"),
        }
    }

    #[test]
    fn parse_rules() {
        // (authorization header, body client_id, body client_secret, expected)
        type Row<'a> = (Option<String>, Option<&'a str>, Option<&'a str>, Want);
        #[rustfmt::skip]
        let table: Vec<Row> = vec![
            (Some(basic("app:s3cret")), None, None, Want::Basic("app", "s3cret")),
            // RFC 6749 §2.3.1: both parts are form-urlencoded.
            (Some(basic("my%3Aapp:a+b%2Bc%25")), None, None, Want::Basic("my:app", "a b+c%")),
            // The secret may contain ':' after the first separator.
            (Some(basic("app:x:y")), None, None, Want::Basic("app", "x:y")),
            // Scheme is case-insensitive; padding optional.
            (Some(format!("bAsIc {}", STANDARD.encode("app:s"))), None, None, Want::Basic("app", "s")),
            (Some("Basic YXBwOnM".to_owned()), None, None, Want::Basic("app", "s")),
            // Same client_id in the body is allowed.
            (Some(basic("app:s")), Some("app"), None, Want::Basic("app", "s")),
            // RFC 6749 §2.3: more than one method.
            (Some(basic("app:s")), None, Some("s"), Want::Err(ErrorCode::InvalidRequest)),
            (Some(basic("app:s")), Some("other"), None, Want::Err(ErrorCode::InvalidRequest)),
            // Malformed Basic.
            (Some("Basic !!!".to_owned()), None, None, Want::Err(ErrorCode::InvalidClient)),
            (Some(basic("no-colon")), None, None, Want::Err(ErrorCode::InvalidClient)),
            (Some(basic(":s")), None, None, Want::Err(ErrorCode::InvalidClient)),
            (Some(basic("app:")), None, None, Want::Err(ErrorCode::InvalidClient)),
            (Some(basic("app:bad%zz")), None, None, Want::Err(ErrorCode::InvalidClient)),
            (Some(basic("app:bad%2")), None, None, Want::Err(ErrorCode::InvalidClient)),
            (Some("Basic".to_owned()), None, None, Want::Err(ErrorCode::InvalidClient)),
            (Some("Bearer abc".to_owned()), Some("app"), None, Want::Err(ErrorCode::InvalidClient)),
            // Body methods.
            (None, Some("app"), Some("s"), Want::Post("app", "s")),
            (None, Some("app"), None, Want::None("app")),
            (None, Some("app"), Some(""), Want::None("app")), // empty = omitted (§3.2)
            // Nothing at all.
            (None, None, None, Want::Err(ErrorCode::InvalidClient)),
            (None, Some(""), None, Want::Err(ErrorCode::InvalidClient)),
            (None, None, Some("s"), Want::Err(ErrorCode::InvalidClient)),
        ];
        for (header, id, secret, expected) in &table {
            let r = PresentedClient::parse(header.as_deref(), *id, *secret);
            assert_eq!(got(r), want(expected), "{header:?} {id:?} {secret:?}");
        }
    }

    #[test]
    fn from_request_refuses_repeats() {
        let form = crate::params::pairs(&[("client_id", "a"), ("client_id", "a")]);
        let e = PresentedClient::from_request(None, &form).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        let form = crate::params::pairs(&[("grant_type", "x"), ("client_id", "a"), ("client_secret", "s")]);
        let p = PresentedClient::from_request(None, &form).unwrap();
        assert_eq!(
            (p.client_id(), p.method().as_str(), p.used_basic()),
            ("a", "client_secret_post", false)
        );
        let p = PresentedClient::from_request(Some(&basic("a:s")), &[]).unwrap();
        assert!(p.used_basic());
    }

    #[test]
    fn assertion_parse_rules() {
        let payload = URL_SAFE_NO_PAD.encode(r#"{"sub":"kc","iss":"kc"}"#);
        let jwt = format!("eyJhbGciOiJFUzI1NiJ9.{payload}.c2ln");
        let t = ASSERTION_TYPE;
        let long = "a".repeat(CLIENT_ASSERTION_MAX_BYTES + 1);
        // (authorization, form, expected client_id or error code)
        type Row<'a> = (Option<String>, Vec<(&'a str, &'a str)>, Result<&'a str, ErrorCode>);
        #[rustfmt::skip]
        let table: Vec<Row> = vec![
            (None, vec![("client_assertion_type", t), ("client_assertion", &jwt)], Ok("kc")),
            // RFC 7521 §4.2: the form's client_id, when given, names the client.
            (None, vec![("client_id", "other"), ("client_assertion_type", t), ("client_assertion", &jwt)], Ok("other")),
            (None, vec![("client_assertion", &jwt)], Err(ErrorCode::InvalidRequest)),
            (None, vec![("client_assertion_type", t)], Err(ErrorCode::InvalidRequest)),
            (None, vec![("client_assertion_type", "urn:other"), ("client_assertion", &jwt)], Err(ErrorCode::InvalidClient)),
            (None, vec![("client_assertion_type", t), ("client_assertion", "not-a-jwt")], Err(ErrorCode::InvalidClient)),
            (None, vec![("client_assertion_type", t), ("client_assertion", &long)], Err(ErrorCode::InvalidClient)),
            // RFC 6749 §2.3: one method only.
            (None, vec![("client_secret", "s"), ("client_id", "kc"), ("client_assertion_type", t), ("client_assertion", &jwt)], Err(ErrorCode::InvalidRequest)),
            (Some(basic("kc:s")), vec![("client_assertion_type", t), ("client_assertion", &jwt)], Err(ErrorCode::InvalidRequest)),
            (None, vec![("client_assertion_type", t), ("client_assertion", &jwt), ("client_assertion", &jwt)], Err(ErrorCode::InvalidRequest)),
        ];
        for (header, form, want) in table {
            let r = PresentedClient::from_request(header.as_deref(), &crate::params::pairs(&form));
            match (r, want) {
                (Ok(p), Ok(id)) => {
                    assert_eq!((p.client_id(), p.method()), (id, ClientAuthMethod::PrivateKeyJwt));
                    assert!(!p.used_basic());
                }
                (Err(e), Err(code)) => assert_eq!(e.code, code, "{form:?}"),
                (r, w) => panic!("{form:?}: got {r:?}, want {w:?}"),
            }
        }
    }

    fn client(id: &str, public: bool, secret: Option<&str>) -> Client {
        Client {
            client_id: id.to_owned(),
            name: "App".to_owned(),
            secret_hash: secret.map(hash_secret),
            redirect_uris: vec![],
            scopes: ScopeSet::default(),
            is_public: public,
            created_at: 0,
            settings: Default::default(),
        }
    }

    #[test]
    fn authenticate_rules() {
        let s = |v: &str| ClientSecret::new(v.to_owned());
        let basic_ok = PresentedClient::Basic {
            client_id: "conf".into(),
            secret: s("right"),
        };
        let post_ok = PresentedClient::Post {
            client_id: "conf".into(),
            secret: s("right"),
        };
        let post_wrong = PresentedClient::Post {
            client_id: "conf".into(),
            secret: s("wrong"),
        };
        let none_conf = PresentedClient::None {
            client_id: "conf".into(),
        };
        let none_pub = PresentedClient::None {
            client_id: "pub".into(),
        };
        let pub_with_secret = PresentedClient::Post {
            client_id: "pub".into(),
            secret: s("anything"),
        };
        let assertion = PresentedClient::Assertion {
            client_id: "conf".into(),
            assertion: "a.b.c".into(),
        };
        let key_assertion = PresentedClient::Assertion {
            client_id: "kc".into(),
            assertion: "a.b.c".into(),
        };
        let key_secret = PresentedClient::Basic {
            client_id: "kc".into(),
            secret: s("right"),
        };
        let pub_assertion = PresentedClient::Assertion {
            client_id: "pub".into(),
            assertion: "a.b.c".into(),
        };
        let mut key_client = client("kc", false, Some("right"));
        key_client.settings.token_endpoint_auth_method = "private_key_jwt".into();
        let mut public_claims_key = client("pub", true, None);
        public_claims_key.settings.token_endpoint_auth_method = "private_key_jwt".into();
        let conf = client("conf", false, Some("right"));
        let conf_no_hash = client("conf", false, None);
        let public = client("pub", true, None);
        #[rustfmt::skip]
        let table: Vec<(&PresentedClient, Option<&Client>, bool)> = vec![
            (&basic_ok, Some(&conf), true),
            (&post_ok, Some(&conf), true),
            (&post_wrong, Some(&conf), false),
            (&none_conf, Some(&conf), false),
            (&basic_ok, Some(&conf_no_hash), false),
            (&none_pub, Some(&public), true),
            (&pub_with_secret, Some(&public), false),
            (&basic_ok, None, false),
            (&none_pub, Some(&conf), false), // lookup mismatch
            // A secret client never with an assertion; a key client never with a secret
            // (even one left over in the store).
            (&assertion, Some(&conf), false),
            (&key_secret, Some(&key_client), false),
            (&pub_assertion, Some(&public), false),
            (&pub_assertion, Some(&public_claims_key), false),
            (&none_pub, Some(&public_claims_key), true),
        ];
        for (presented, c, ok) in table {
            let r = authenticate(presented, c);
            assert_eq!(r.is_ok(), ok, "{presented:?} {c:?}");
            if let Ok(outcome) = &r {
                assert_eq!(*outcome, Outcome::Authenticated);
            }
            if let Err(e) = r {
                assert_eq!(e.code, ErrorCode::InvalidClient);
                assert_eq!(e.description, "client authentication failed");
                assert!(e.detail.is_some());
            }
        }
        // Only a key client's assertion is left to the caller to verify.
        assert_eq!(
            authenticate(&key_assertion, Some(&key_client)),
            Ok(Outcome::VerifyAssertion)
        );
    }
}
