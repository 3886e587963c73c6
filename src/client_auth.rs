//! Client authentication at the token, revocation and introspection endpoints
//! (RFC 6749 §2.3): what the client presented, then whether it proves who it claims to be.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

use crate::error::OAuthError;
use crate::model::ClientAuthMethod;
use crate::params;
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
}

impl PresentedClient {
    pub fn client_id(&self) -> &str {
        match self {
            Self::Basic { client_id, .. } | Self::Post { client_id, .. } | Self::None { client_id } => client_id,
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
        }
    }

    /// Reads the client from the `Authorization` header and the form body. When this
    /// fails and an Authorization header was sent, answer 401 with
    /// `WWW-Authenticate: Basic` (RFC 6749 §5.2).
    pub fn from_request(authorization: Option<&str>, form: &[(String, String)]) -> Result<Self, OAuthError> {
        if let Some(name) = params::duplicated(form, &["client_id", "client_secret"]) {
            return Err(OAuthError::invalid_request("repeated parameter").with_detail(format!("repeated {name}")));
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

/// RFC 6749 §3.2.1 and §2.3: a confidential client MUST authenticate with its secret
/// (checked in constant time against the stored hash); a public client has no secret
/// and presents none. Every failure is invalid_client with the same public text.
pub fn authenticate(presented: &PresentedClient, client: Option<&Client>) -> Result<(), OAuthError> {
    let fail = |detail: &str| OAuthError::invalid_client("client authentication failed").with_detail(detail.to_owned());
    let client = client.ok_or_else(|| fail("unknown client"))?;
    if client.client_id != presented.client_id() {
        return Err(fail("looked-up client does not match the presented client_id"));
    }
    match (presented, client.is_public) {
        (PresentedClient::None { .. }, true) => Ok(()),
        (_, true) => Err(fail("public client presented a secret")),
        (PresentedClient::None { .. }, false) => Err(fail("confidential client presented no secret")),
        (PresentedClient::Basic { secret, .. } | PresentedClient::Post { secret, .. }, false) => {
            let hash = client
                .secret_hash
                .as_deref()
                .ok_or_else(|| fail("confidential client has no stored secret"))?;
            if verify_secret(secret.expose(), hash) {
                Ok(())
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
    use base64::engine::general_purpose::STANDARD;

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
        ];
        for (presented, c, ok) in table {
            let r = authenticate(presented, c);
            assert_eq!(r.is_ok(), ok, "{presented:?} {c:?}");
            if let Err(e) = r {
                assert_eq!(e.code, ErrorCode::InvalidClient);
                assert_eq!(e.description, "client authentication failed");
                assert!(e.detail.is_some());
            }
        }
    }
}
