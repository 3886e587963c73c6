//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592): the
//! server-wide mode, the policy a registration runs under (an initial access token's, or
//! `open` mode's), and client metadata (JSON) checked field by field through the one
//! registration rule ([`crate::registration`]), refusals carrying the RFC 7591 §3.2.2 codes.

use serde_json::{json, Map, Value};

use std::fmt;
use std::str::FromStr;

use crate::model::{names, ClientAuthMethod, GrantType, SigningAlg, UnknownName};
use crate::policy;
use crate::registration::ClientRegistration;
use crate::store::{Api, Client, ClientUpdate};
use crate::types::ScopeSet;

/// Who may call `POST /register`. Kept in the database, so every instance agrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RegistrationMode {
    /// No registration endpoint (404; discovery has no `registration_endpoint`).
    #[default]
    Off,
    /// RFC 7591 §3: only with an initial access token an administrator created.
    Token,
    /// Anyone: public clients only, under the open policy, at most
    /// [`policy::REGISTRATION_OPEN_MAX_CLIENTS`] of them.
    Open,
}

names!(RegistrationMode, "registration mode", [
    Off => "off",
    Token => "token",
    Open => "open",
]);

/// What a registration may ask for: the scopes, and whether the client may be confidential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The scopes a client may register; also its scopes when it asks for none.
    pub scopes: ScopeSet,
    /// Whether a confidential client (a secret or `private_key_jwt`) may be registered.
    pub allow_confidential: bool,
    /// `open` mode: nobody vouched for the caller, so no `jwks_uri` either (the server
    /// would fetch a URL of an anonymous caller's choosing).
    pub open: bool,
}

/// RFC 7591 §3.2.2's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataErrorCode {
    InvalidRedirectUri,
    InvalidClientMetadata,
}

impl MetadataErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            MetadataErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            MetadataErrorCode::InvalidClientMetadata => "invalid_client_metadata",
        }
    }
}

/// A refused registration (400), with a description naming the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataError {
    pub code: MetadataErrorCode,
    pub description: String,
}

fn invalid(description: impl Into<String>) -> MetadataError {
    MetadataError {
        code: MetadataErrorCode::InvalidClientMetadata,
        description: description.into(),
    }
}

fn invalid_uri(description: impl Into<String>) -> MetadataError {
    MetadataError {
        code: MetadataErrorCode::InvalidRedirectUri,
        description: description.into(),
    }
}

/// What the server knows that the metadata is checked against.
pub struct Context<'a> {
    pub issuer: &'a str,
    /// Every scope a client may list (built-in and defined).
    pub known_scopes: &'a [String],
    /// The registered APIs.
    pub apis: &'a [Api],
}

/// Client metadata that passed every check: what to store.
#[derive(Debug, Clone)]
pub struct Registered {
    pub is_public: bool,
    /// Whether the client authenticates with a secret (one is generated and shown once).
    pub uses_secret: bool,
    pub update: ClientUpdate,
}

/// The name a client gets when it sends no `client_name`.
pub const UNNAMED_CLIENT: &str = "Unnamed client";

/// RFC 7591 §2: a member that is absent or null is omitted.
fn member<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn string<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, MetadataError> {
    match member(obj, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(invalid(format!("{name} must be a string"))),
    }
}

fn boolean(obj: &Map<String, Value>, name: &str) -> Result<bool, MetadataError> {
    match member(obj, name) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(invalid(format!("{name} must be true or false"))),
    }
}

fn strings<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<Option<Vec<&'a str>>, MetadataError> {
    match member(obj, name) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| invalid(format!("{name} must be an array of strings")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(invalid(format!("{name} must be an array of strings"))),
    }
}

/// The console's field names, as RFC 7591 names them in an `error_description`.
fn rfc_field(field: &str) -> &str {
    match field {
        "name" => "client_name",
        "scopes" => "scope",
        "id_token_alg" => "id_token_signed_response_alg",
        "require_pkce" => "token_endpoint_auth_method",
        other => other,
    }
}

/// Checks client metadata (RFC 7591 §2) under `policy`, field by field: unknown members
/// are ignored (§2: "the authorization server MUST ignore any client metadata sent by the
/// client that it does not understand"), known ones must be well-formed and supported.
pub fn check(metadata: &Value, policy: &Policy, ctx: &Context<'_>) -> Result<Registered, MetadataError> {
    let Some(obj) = metadata.as_object() else {
        return Err(invalid("the client metadata must be a JSON object"));
    };

    // RFC 7591 §2 redirect_uris; the console's rules (crate::types::RedirectUri): no
    // fragment, https or loopback http or a private-use scheme, never javascript:/data:.
    let redirect_uris = strings(obj, "redirect_uris")
        .map_err(|e| invalid_uri(e.description))?
        .unwrap_or_default();
    if redirect_uris.len() > policy::REGISTRATION_MAX_REDIRECT_URIS {
        return Err(invalid_uri(format!(
            "redirect_uris: list at most {} redirect URIs",
            policy::REGISTRATION_MAX_REDIRECT_URIS
        )));
    }
    for uri in &redirect_uris {
        if uri.len() > policy::MAX_REDIRECT_URI {
            return Err(invalid_uri(format!(
                "redirect_uris: a redirect URI is at most {} bytes",
                policy::MAX_REDIRECT_URI
            )));
        }
        if let Err(e) = crate::types::RedirectUri::parse(uri) {
            return Err(invalid_uri(format!("redirect_uris: {e}")));
        }
    }

    // RFC 7591 §2: token_endpoint_auth_method defaults to client_secret_basic. Where the
    // policy allows only public clients, an omitted method means none (§3.2.1 lets the
    // server substitute values; the response says which was registered).
    let method = match string(obj, "token_endpoint_auth_method")? {
        Some(raw) => raw.parse::<ClientAuthMethod>().map_err(|_| {
            invalid(format!(
                "token_endpoint_auth_method {raw:?} is not supported (supported: {})",
                ClientAuthMethod::names().join(", ")
            ))
        })?,
        None if policy.allow_confidential => ClientAuthMethod::ClientSecretBasic,
        None => ClientAuthMethod::None,
    };
    let is_public = method == ClientAuthMethod::None;
    if !is_public && !policy.allow_confidential {
        return Err(invalid(
            "token_endpoint_auth_method: this server registers only public clients here (use none)",
        ));
    }

    // RFC 7591 §2: grant_types defaults to authorization_code; only what Tessera supports.
    let grant_types = match strings(obj, "grant_types")? {
        None => vec![GrantType::AuthorizationCode],
        Some(names) => {
            let mut grants = Vec::new();
            for raw in names {
                let g = raw.parse::<GrantType>().map_err(|_| {
                    invalid(format!(
                        "grant_types: {raw:?} is not supported (supported: {})",
                        GrantType::names().join(", ")
                    ))
                })?;
                if !grants.contains(&g) {
                    grants.push(g);
                }
            }
            if grants.is_empty() {
                return Err(invalid("grant_types: list at least one grant type"));
            }
            grants
        }
    };
    // RFC 7591 §2: response_types defaults to code; Tessera has only the code flow.
    let response_types = strings(obj, "response_types")?.unwrap_or_else(|| vec!["code"]);
    if let Some(bad) = response_types.iter().find(|r| **r != "code") {
        return Err(invalid(format!(
            "response_types: {bad:?} is not supported (supported: code)"
        )));
    }
    // RFC 7591 §2.1: authorization_code goes with the code response type, both ways.
    let code_grant = grant_types.contains(&GrantType::AuthorizationCode);
    if code_grant != response_types.contains(&"code") {
        return Err(invalid(
            "grant_types and response_types disagree: authorization_code goes with the response type code (RFC 7591 §2.1)",
        ));
    }
    if is_public && grant_types.contains(&GrantType::ClientCredentials) {
        return Err(invalid(
            "grant_types: a public client (token_endpoint_auth_method none) cannot use client_credentials",
        ));
    }

    // RFC 7591 §2 scope: within the policy; none asked for, the policy's.
    let scopes = match string(obj, "scope")?.map(str::trim).filter(|s| !s.is_empty()) {
        None => policy.scopes.clone(),
        Some(raw) => {
            let asked = ScopeSet::parse(raw).map_err(|e| invalid(format!("scope: {e}")))?;
            if let Some(outside) = asked.iter().find(|s| !policy.scopes.contains(s)) {
                return Err(invalid(format!(
                    "scope: {outside:?} is not allowed by this server's registration policy (allowed: {})",
                    policy.scopes
                )));
            }
            asked
        }
    };

    let jwks = match member(obj, "jwks") {
        None => String::new(),
        Some(v @ Value::Object(_)) => v.to_string(),
        Some(_) => return Err(invalid("jwks must be a JWK Set (a JSON object)")),
    };
    let jwks_uri = string(obj, "jwks_uri")?.unwrap_or_default();
    if policy.open && !jwks_uri.is_empty() {
        return Err(invalid(
            "jwks_uri: not accepted from an open registration; send the keys as jwks",
        ));
    }
    let id_token_alg = string(obj, "id_token_signed_response_alg")?
        .map_or_else(|| SigningAlg::ID_TOKEN_DEFAULT.as_str().to_owned(), str::to_owned);

    // RFC 8707: the registered APIs whose scopes the client may ask for.
    let mut resources: Vec<String> = ctx
        .apis
        .iter()
        .filter(|api| api.settings.scopes.iter().any(|s| scopes.contains(s)))
        .map(|api| api.identifier.clone())
        .collect();
    resources.truncate(policy::MAX_RESOURCES);

    let form = ClientRegistration {
        name: string(obj, "client_name")?.unwrap_or(UNNAMED_CLIENT).to_owned(),
        logo_uri: string(obj, "logo_uri")?.unwrap_or_default().to_owned(),
        is_public,
        redirect_uris: redirect_uris.iter().map(|u| (*u).to_owned()).collect(),
        scopes: scopes.to_string(),
        grant_types: Some(grant_types),
        // RFC 9700 §2.1.1: PKCE for every client registered this way.
        require_pkce: true,
        id_token_alg,
        require_pushed_authorization_requests: boolean(obj, "require_pushed_authorization_requests")?,
        token_endpoint_auth_method: method.as_str().to_owned(),
        jwks,
        jwks_uri: jwks_uri.to_owned(),
        issuer: ctx.issuer.to_owned(),
        dpop_bound_access_tokens: boolean(obj, "dpop_bound_access_tokens")?,
        resources,
        ..ClientRegistration::default()
    };
    let apis: Vec<String> = ctx.apis.iter().map(|a| a.identifier.clone()).collect();
    let update = form.validate(ctx.known_scopes, &apis).map_err(|errors| {
        // Redirect URIs first: their code is the more specific one.
        let (field, message) = errors
            .iter()
            .find(|(f, _)| f.as_str() == "redirect_uris")
            .or_else(|| errors.iter().next())
            .map(|(f, m)| (f.clone(), m.clone()))
            .unwrap_or_default();
        let description = format!("{}: {message}", rfc_field(&field));
        if field == "redirect_uris" {
            invalid_uri(description)
        } else {
            invalid(description)
        }
    })?;
    Ok(Registered {
        is_public,
        uses_secret: !is_public && method != ClientAuthMethod::PrivateKeyJwt,
        update,
    })
}

/// RFC 7591 §3.2.1 / RFC 7592 §3: the client's registered metadata, as the registration
/// and read responses carry it (without the secret and the registration credentials,
/// which the server adds where it has them).
pub fn client_metadata(client: &Client) -> Map<String, Value> {
    let grants: Vec<&str> = GrantType::ALL
        .iter()
        .filter(|g| client.allows_grant(g.as_str()))
        .map(|g| g.as_str())
        .collect();
    let response_types: Vec<&str> = if grants.contains(&GrantType::AuthorizationCode.as_str()) {
        vec!["code"]
    } else {
        vec![]
    };
    let mut m = Map::new();
    m.insert("client_id".into(), json!(client.client_id));
    m.insert("client_id_issued_at".into(), json!(client.created_at));
    m.insert("client_name".into(), json!(client.name));
    let uris: Vec<&str> = client.redirect_uris.iter().map(|u| u.as_str()).collect();
    m.insert("redirect_uris".into(), json!(uris));
    m.insert("grant_types".into(), json!(grants));
    m.insert("response_types".into(), json!(response_types));
    m.insert(
        "token_endpoint_auth_method".into(),
        json!(client.auth_method().as_str()),
    );
    m.insert("scope".into(), json!(client.scopes.to_string()));
    m.insert(
        "id_token_signed_response_alg".into(),
        json!(client.settings.id_token_alg),
    );
    m.insert(
        "require_pushed_authorization_requests".into(),
        json!(client.settings.require_pushed_authorization_requests),
    );
    m.insert(
        "dpop_bound_access_tokens".into(),
        json!(client.settings.dpop_bound_access_tokens),
    );
    if let Some(logo) = &client.settings.logo_uri {
        m.insert("logo_uri".into(), json!(logo));
    }
    if let Some(jwks) = client
        .settings
        .jwks
        .as_deref()
        .and_then(|j| serde_json::from_str::<Value>(j).ok())
    {
        m.insert("jwks".into(), jwks);
    }
    if let Some(uri) = &client.settings.jwks_uri {
        m.insert("jwks_uri".into(), json!(uri));
    }
    if !client.is_public && client.secret_hash.is_some() {
        // RFC 7591 §3.2.1: REQUIRED with a secret; 0, it does not expire.
        m.insert("client_secret_expires_at".into(), json!(0));
    }
    m
}

/// The method family a client authenticates with: a client may move between
/// `client_secret_basic` and `client_secret_post` by an update, not to or from `none` or
/// `private_key_jwt` (that would need a secret issued or taken away).
pub fn same_method_family(a: ClientAuthMethod, b: ClientAuthMethod) -> bool {
    let family = |m: ClientAuthMethod| match m {
        ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost => 0,
        ClientAuthMethod::None => 1,
        ClientAuthMethod::PrivateKeyJwt => 2,
    };
    family(a) == family(b)
}

/// A new initial access token as an administrator asks for it (console or CLI), checked
/// field by field (`description`, `scopes`, `uses`, `expires_in`): what to store, and the
/// token's value, to be shown once and stored only hashed.
pub struct InitialTokenRequest<'a> {
    pub description: &'a str,
    /// Space-separated; each a known scope.
    pub scopes: &'a str,
    pub allow_confidential: bool,
    pub uses: i64,
    /// Seconds from `now`.
    pub expires_in: i64,
}

impl InitialTokenRequest<'_> {
    pub fn validate(
        &self,
        known_scopes: &[String],
        now: i64,
    ) -> Result<(crate::store::InitialAccessToken, String), crate::registration::FieldErrors> {
        let mut errors = crate::registration::FieldErrors::new();
        let description = self.description.trim();
        if description.chars().count() > policy::CLIENT_DESCRIPTION_MAX_CHARS
            || description.chars().any(char::is_control)
        {
            errors.insert(
                "description".into(),
                format!(
                    "Use at most {} characters on one line.",
                    policy::CLIENT_DESCRIPTION_MAX_CHARS
                ),
            );
        }
        let scopes = match ScopeSet::parse(self.scopes) {
            Ok(s) if s.is_empty() => Err("List at least one scope.".to_owned()),
            Ok(s) => {
                let unknown = s
                    .iter()
                    .find(|n| !known_scopes.iter().any(|k| k == n))
                    .map(str::to_owned);
                match unknown {
                    Some(unknown) => Err(format!(
                        "Unknown scope \u{201c}{unknown}\u{201d}: define it under Scopes first."
                    )),
                    None => Ok(s),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        let scopes = scopes.map_err(|e| errors.insert("scopes".into(), e)).ok();
        if !(1..=policy::INITIAL_ACCESS_TOKEN_MAX_USES).contains(&self.uses) {
            errors.insert(
                "uses".into(),
                format!("A whole number from 1 to {}.", policy::INITIAL_ACCESS_TOKEN_MAX_USES),
            );
        }
        if !(60..=policy::INITIAL_ACCESS_TOKEN_MAX_LIFETIME).contains(&self.expires_in) {
            errors.insert(
                "expires_in".into(),
                format!(
                    "From 60 seconds to {} days.",
                    policy::INITIAL_ACCESS_TOKEN_MAX_LIFETIME / 86_400
                ),
            );
        }
        match scopes {
            Some(scopes) if errors.is_empty() => {
                let value = crate::secret::random_token();
                let token = crate::store::InitialAccessToken {
                    id: crate::secret::random_id(),
                    description: description.to_owned(),
                    scopes,
                    allow_confidential: self.allow_confidential,
                    uses_total: self.uses,
                    uses_left: self.uses,
                    created_at: now,
                    expires_at: now.saturating_add(self.expires_in),
                    revoked_at: None,
                };
                Ok((token, value))
            }
            _ => Err(errors),
        }
    }
}

/// A duration as an administrator types it: seconds, or a number with `s`, `m`, `h`, `d`.
pub fn parse_duration(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let (digits, unit) = match raw.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&raw[..i], c),
        _ => (raw, 's'),
    };
    let n: i64 = digits.trim().parse().ok()?;
    let factor = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    n.checked_mul(factor).filter(|s| *s > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ApiSettings;

    const JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"k1","use":"sig","alg":"ES256"}]}"#;

    fn known() -> Vec<String> {
        ["openid", "profile", "email", "offline_access", "mcp:tools", "admin:all"]
            .map(String::from)
            .to_vec()
    }

    fn apis() -> Vec<Api> {
        vec![Api {
            identifier: "https://mcp.example/".into(),
            settings: ApiSettings {
                name: "MCP".into(),
                scopes: ScopeSet::parse("mcp:tools").unwrap(),
                access_token_alg: SigningAlg::ES256,
                access_token_ttl: 300,
            },
            created_at: 0,
        }]
    }

    fn open() -> Policy {
        Policy {
            scopes: ScopeSet::parse("openid profile offline_access mcp:tools").unwrap(),
            allow_confidential: false,
            open: true,
        }
    }

    fn token_policy() -> Policy {
        Policy {
            allow_confidential: true,
            open: false,
            ..open()
        }
    }

    fn run(body: Value, policy: &Policy) -> Result<Registered, MetadataError> {
        let known = known();
        let apis = apis();
        let ctx = Context {
            issuer: "https://id.example",
            known_scopes: &known,
            apis: &apis,
        };
        check(&body, policy, &ctx)
    }

    /// What the MCP TypeScript SDK sends.
    fn mcp() -> Value {
        json!({
            "redirect_uris": ["http://localhost:3333/callback"],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "MCP Inspector",
            "client_uri": "https://github.com/modelcontextprotocol/inspector",
            "software_id": "x",
        })
    }

    #[test]
    fn refusals() {
        use MetadataErrorCode::*;
        type Change = fn(&mut Map<String, Value>);
        #[rustfmt::skip]
        let table: &[(&str, Change, MetadataErrorCode, &str)] = &[
            ("javascript:", |m| { m.insert("redirect_uris".into(), json!(["javascript:alert(1)"])); }, InvalidRedirectUri, "redirect_uris"),
            ("data:", |m| { m.insert("redirect_uris".into(), json!(["data:text/html,x"])); }, InvalidRedirectUri, "redirect_uris"),
            ("fragment", |m| { m.insert("redirect_uris".into(), json!(["https://a.example/cb#x"])); }, InvalidRedirectUri, "fragment"),
            ("plain http", |m| { m.insert("redirect_uris".into(), json!(["http://a.example/cb"])); }, InvalidRedirectUri, "redirect_uris"),
            ("not strings", |m| { m.insert("redirect_uris".into(), json!([1])); }, InvalidRedirectUri, "array of strings"),
            ("too many", |m| { m.insert("redirect_uris".into(), json!(vec!["https://a.example/cb"; 11])); }, InvalidRedirectUri, "at most 10"),
            ("none for the code grant", |m| { m.remove("redirect_uris"); }, InvalidRedirectUri, "needs at least one redirect URI"),
            ("implicit", |m| { m.insert("grant_types".into(), json!(["implicit"])); }, InvalidClientMetadata, "grant_types: \"implicit\" is not supported"),
            ("password", |m| { m.insert("grant_types".into(), json!(["password"])); }, InvalidClientMetadata, "not supported"),
            ("token response", |m| { m.insert("response_types".into(), json!(["token"])); }, InvalidClientMetadata, "response_types"),
            ("code without its grant", |m| { m.insert("grant_types".into(), json!(["refresh_token"])); }, InvalidClientMetadata, "disagree"),
            ("public client_credentials", |m| { m.insert("grant_types".into(), json!(["authorization_code", "client_credentials"])); }, InvalidClientMetadata, "client_credentials"),
            ("scope outside", |m| { m.insert("scope".into(), json!("openid admin:all")); }, InvalidClientMetadata, "\"admin:all\" is not allowed"),
            ("unknown method", |m| { m.insert("token_endpoint_auth_method".into(), json!("tls_client_auth")); }, InvalidClientMetadata, "token_endpoint_auth_method"),
            ("confidential in open", |m| { m.insert("token_endpoint_auth_method".into(), json!("client_secret_basic")); }, InvalidClientMetadata, "only public clients"),
            ("jwks_uri in open", |m| { m.insert("jwks_uri".into(), json!("https://a.example/jwks")); }, InvalidClientMetadata, "jwks_uri"),
            ("jwks not an object", |m| { m.insert("jwks".into(), json!("x")); }, InvalidClientMetadata, "jwks"),
            ("private key in jwks", |m| { m.insert("jwks".into(), json!({"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}]})); }, InvalidClientMetadata, "jwks"),
            ("name not a string", |m| { m.insert("client_name".into(), json!(5)); }, InvalidClientMetadata, "client_name must be a string"),
            ("name too long", |m| { m.insert("client_name".into(), json!("n".repeat(200))); }, InvalidClientMetadata, "client_name"),
            ("http logo", |m| { m.insert("logo_uri".into(), json!("http://a.example/l.png")); }, InvalidClientMetadata, "logo_uri"),
            ("unknown alg", |m| { m.insert("id_token_signed_response_alg".into(), json!("none")); }, InvalidClientMetadata, "id_token_signed_response_alg"),
            ("dpop not a bool", |m| { m.insert("dpop_bound_access_tokens".into(), json!("yes")); }, InvalidClientMetadata, "dpop_bound_access_tokens"),
        ];
        for (what, change, code, part) in table {
            let mut body = mcp();
            change(body.as_object_mut().unwrap());
            let e = run(body, &open()).expect_err(what);
            assert_eq!(e.code, *code, "{what}: {e:?}");
            assert!(e.description.contains(part), "{what}: {}", e.description);
        }
        assert_eq!(run(json!([]), &open()).unwrap_err().code, InvalidClientMetadata);
    }

    #[test]
    fn what_a_registration_stores() {
        // The MCP SDK's request: unknown members ignored, a public code-flow client.
        let r = run(mcp(), &open()).unwrap();
        assert!(r.is_public && !r.uses_secret);
        assert_eq!(r.update.name, "MCP Inspector");
        assert_eq!(r.update.settings.grant_types, ["authorization_code", "refresh_token"]);
        assert_eq!(r.update.settings.token_endpoint_auth_method, "none");
        assert!(r.update.settings.require_pkce);
        // No scope asked for: the policy's; the APIs sharing a scope are allowed.
        assert_eq!(r.update.scopes.to_string(), "mcp:tools offline_access openid profile");
        assert_eq!(r.update.settings.resources, ["https://mcp.example/"]);
        // A narrower scope, no API in it.
        let mut body = mcp();
        body["scope"] = json!("openid");
        let r = run(body, &open()).unwrap();
        assert_eq!(r.update.scopes.to_string(), "openid");
        assert!(r.update.settings.resources.is_empty());
        // Open mode, method omitted: public (RFC 7591 §3.2.1 substitution).
        let mut body = mcp();
        body.as_object_mut().unwrap().remove("token_endpoint_auth_method");
        assert!(run(body.clone(), &open()).unwrap().is_public);
        // Under a token that allows confidential clients, omitted is client_secret_basic.
        let r = run(body, &token_policy()).unwrap();
        assert!(!r.is_public && r.uses_secret);
        assert_eq!(r.update.settings.token_endpoint_auth_method, "client_secret_basic");
        // client_credentials only: no redirect URI, no response type.
        let r = run(
            json!({"grant_types": ["client_credentials"], "response_types": [], "token_endpoint_auth_method": "client_secret_post"}),
            &token_policy(),
        )
        .unwrap();
        assert_eq!(r.update.settings.grant_types, ["client_credentials"]);
        // private_key_jwt with inline keys: no secret.
        let r = run(
            json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt",
                   "jwks": serde_json::from_str::<Value>(JWKS).unwrap(), "client_name": "K"}),
            &token_policy(),
        )
        .unwrap();
        assert!(!r.is_public && !r.uses_secret);
        assert!(r.update.settings.jwks.is_some());
        // null members are omitted.
        let mut body = mcp();
        body["scope"] = Value::Null;
        body["client_name"] = Value::Null;
        assert_eq!(run(body, &open()).unwrap().update.name, UNNAMED_CLIENT);
    }

    #[test]
    fn initial_tokens() {
        let req = |scopes, uses, expires_in| InitialTokenRequest {
            description: " CI ",
            scopes,
            allow_confidential: false,
            uses,
            expires_in,
        };
        let (t, value) = req("openid mcp:tools", 5, 3600).validate(&known(), 100).unwrap();
        assert_eq!((t.uses_left, t.uses_total, t.expires_at), (5, 5, 3700));
        assert_eq!(t.description, "CI");
        assert_eq!(value.len(), 43);
        assert!(t.usable(3699) && !t.usable(3700));
        let e = req("nope", 0, 10).validate(&known(), 0).unwrap_err();
        assert_eq!(e.keys().collect::<Vec<_>>(), ["expires_in", "scopes", "uses"]);
        assert_eq!(parse_duration("7d"), Some(604_800));
        assert_eq!(parse_duration("90m"), Some(5400));
        assert_eq!(parse_duration("3600"), Some(3600));
        assert_eq!(parse_duration("2w"), None);
        assert_eq!(parse_duration("-5"), None);
    }

    #[test]
    fn modes_and_families() {
        assert_eq!("open".parse::<RegistrationMode>(), Ok(RegistrationMode::Open));
        assert!("Open".parse::<RegistrationMode>().is_err());
        assert_eq!(RegistrationMode::default(), RegistrationMode::Off);
        use ClientAuthMethod::*;
        assert!(same_method_family(ClientSecretBasic, ClientSecretPost));
        assert!(!same_method_family(None, ClientSecretBasic));
        assert!(!same_method_family(PrivateKeyJwt, ClientSecretPost));
    }
}
