//! The one validation of what an administrator registers — clients, users, custom
//! scopes, APIs — used by the admin console and the CLI alike, so both refuse the same things.
//! Every field is checked and every error reported, field by field (field → message,
//! worded for the console, which shows each next to its field); nothing is written here.

use std::collections::BTreeMap;

use crate::client_keys::{check_jwks, check_jwks_uri};
use crate::model::{ClientAuthMethod, GrantType, SigningAlg};
use crate::policy;
use crate::scope;
use crate::store::{ApiSettings, ClientSettings, ClientUpdate};
use crate::types::{parse_client_name, parse_email, RedirectUri, ScopeSet, Username};

/// Field name → message. The console's field names: a client's `name`, `description`,
/// `logo_uri`, `redirect_uris`, `scopes`, `grant_types`, `require_pkce`,
/// `access_token_ttl`, `refresh_token_ttl`, `access_token_alg`, `id_token_alg`,
/// `require_pushed_authorization_requests`, `token_endpoint_auth_method`, `jwks`, `jwks_uri`,
/// `require_signed_request_object`, `dpop_bound_access_tokens`, `resources`, `fapi2`; a user's
/// `username`, `name`, `email`, `password`; a scope's `name`, `description`; an API's
/// `identifier`, `name`, `scopes`, `access_token_alg`, `access_token_ttl`.
pub type FieldErrors = BTreeMap<String, String>;

/// Collects the first error of each field.
#[derive(Default)]
struct Errors(FieldErrors);

impl Errors {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.entry(field.to_owned()).or_insert_with(|| message.into());
    }

    /// `value` if no error was recorded, else every error.
    fn or<T>(self, value: Option<T>) -> Result<T, FieldErrors> {
        match value {
            Some(v) if self.0.is_empty() => Ok(v),
            _ => Err(self.0),
        }
    }
}

/// The scopes a new client starts with (the console's form, the CLI's `--scope` default).
pub const NEW_CLIENT_SCOPES: &str = "openid profile email offline_access";

/// The grants the console's "new client" form starts with checked: what a web app needs.
pub const NEW_CLIENT_GRANTS: [GrantType; 2] = [GrantType::AuthorizationCode, GrantType::RefreshToken];

/// A client as submitted (text as typed; the console and the CLI parse nothing first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRegistration {
    pub name: String,
    pub description: String,
    pub logo_uri: String,
    pub is_public: bool,
    /// Each redirect URI, exactly as it is to be matched (RFC 9700 §4.1.3); repeats are
    /// kept once.
    pub redirect_uris: Vec<String>,
    /// Space-separated scope names.
    pub scopes: String,
    /// `None`: the defaults for the client's type (see [`crate::store::Client::allows_grant`]).
    pub grant_types: Option<Vec<GrantType>>,
    pub require_pkce: bool,
    /// Seconds, as typed.
    pub access_token_ttl: String,
    /// Seconds, as typed.
    pub refresh_token_ttl: String,
    pub access_token_alg: String,
    pub id_token_alg: String,
    /// RFC 9126 §6: authorization requests only by `/par`.
    pub require_pushed_authorization_requests: bool,
    /// A [`ClientAuthMethod`] name; empty: the type's default (`none` for a public
    /// client, `client_secret_basic` for a confidential one).
    pub token_endpoint_auth_method: String,
    /// A JWK Set as JSON text; empty for none.
    pub jwks: String,
    /// Empty for none.
    pub jwks_uri: String,
    pub require_signed_request_object: bool,
    /// The server's issuer: an http loopback `jwks_uri` is allowed only when it is http on
    /// loopback too. Empty: unknown, so only https.
    pub issuer: String,
    /// RFC 9449 §5: every token request of this client must carry a DPoP proof.
    pub dpop_bound_access_tokens: bool,
    /// Identifiers of registered APIs the client may name as `resource` (RFC 8707); empty
    /// for the sample resource only.
    pub resources: Vec<String>,
    /// The FAPI 2.0 Security Profile ([`crate::fapi`]).
    pub fapi2: bool,
}

impl Default for ClientRegistration {
    /// A new client's form: what [`ClientSettings::default`] stores.
    fn default() -> Self {
        let s = ClientSettings::default();
        Self {
            name: String::new(),
            description: String::new(),
            logo_uri: String::new(),
            is_public: false,
            redirect_uris: Vec::new(),
            scopes: String::new(),
            grant_types: None,
            require_pkce: s.require_pkce,
            access_token_ttl: s.access_token_ttl.to_string(),
            refresh_token_ttl: s.refresh_token_ttl.to_string(),
            access_token_alg: s.access_token_alg,
            id_token_alg: s.id_token_alg,
            require_pushed_authorization_requests: s.require_pushed_authorization_requests,
            token_endpoint_auth_method: String::new(),
            jwks: String::new(),
            jwks_uri: String::new(),
            require_signed_request_object: s.require_signed_request_object,
            issuer: String::new(),
            dpop_bound_access_tokens: s.dpop_bound_access_tokens,
            resources: s.resources,
            fapi2: s.fapi2,
        }
    }
}

/// A lifetime in seconds within `range`.
fn lifetime(raw: &str, range: &std::ops::RangeInclusive<i64>) -> Result<i64, String> {
    match raw.trim().parse::<i64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(format!(
            "A whole number of seconds from {} to {}.",
            range.start(),
            range.end()
        )),
    }
}

/// A space-separated list of at least one scope, each among `known_scopes` (built-in or
/// defined): a client's scopes and an API's are checked alike.
fn known_scope_list(raw: &str, known_scopes: &[String]) -> Result<ScopeSet, String> {
    let s = ScopeSet::parse(raw).map_err(|e| e.to_string())?;
    if s.is_empty() {
        return Err("List at least one scope.".to_owned());
    }
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

/// "Choose A, B or C.", the default first.
fn choose_alg(default: SigningAlg) -> String {
    let mut names = vec![default.as_str()];
    names.extend(SigningAlg::ALL.iter().filter(|a| **a != default).map(|a| a.as_str()));
    let last = names.pop().unwrap_or_default();
    format!("Choose {} or {last}.", names.join(", "))
}

impl ClientRegistration {
    /// Checks every field against the rules below, given the names of every scope a
    /// client may list (built-in and defined) and the identifiers of the registered APIs.
    /// Returns what to store, or every error.
    pub fn validate(&self, known_scopes: &[String], known_apis: &[String]) -> Result<ClientUpdate, FieldErrors> {
        let mut err = Errors::default();
        let name = parse_client_name(&self.name)
            .map_err(|e| err.add("name", e.to_string()))
            .ok();
        let description = self.description.trim();
        if description.chars().count() > policy::CLIENT_DESCRIPTION_MAX_CHARS {
            err.add(
                "description",
                format!("Use at most {} characters.", policy::CLIENT_DESCRIPTION_MAX_CHARS),
            );
        }
        let logo = self.logo_uri.trim();
        if !logo.is_empty() {
            let ok = url::Url::parse(logo).is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some());
            if !ok || logo.len() > policy::LOGO_URI_MAX_BYTES {
                err.add("logo_uri", "Give an absolute https URL, or leave it empty.");
            }
        }
        let mut uris = Vec::new();
        for raw in &self.redirect_uris {
            match RedirectUri::parse(raw) {
                Ok(u) if !uris.contains(&u) => uris.push(u),
                Ok(_) => {}
                Err(e) => err.add("redirect_uris", e.to_string()),
            }
        }
        let grants: Vec<GrantType> = match &self.grant_types {
            Some(chosen) => GrantType::ALL.into_iter().filter(|g| chosen.contains(g)).collect(),
            None => GrantType::ALL
                .into_iter()
                .filter(|g| g.granted_by_default() && (!self.is_public || g.allowed_for_public_client()))
                .collect(),
        };
        if grants.is_empty() {
            err.add("grant_types", "Choose at least one grant type.");
        }
        // RFC 6749 §4.4: the client authenticates itself, which needs a secret.
        if self.is_public && grants.iter().any(|g| !g.allowed_for_public_client()) {
            err.add(
                "grant_types",
                "A public client cannot use client_credentials: it has no secret.",
            );
        }
        // RFC 6749 §3.1.2.2: the code grant redirects to a registered URI.
        if grants.contains(&GrantType::AuthorizationCode) && uris.is_empty() {
            err.add(
                "redirect_uris",
                "The authorization code grant needs at least one redirect URI.",
            );
        }
        if self.is_public && !self.require_pkce {
            err.add("require_pkce", "A public client always needs PKCE (RFC 9700 §2.1.1).");
        }
        let scopes = known_scope_list(&self.scopes, known_scopes)
            .map_err(|e| err.add("scopes", e))
            .ok();
        let access_token_ttl = lifetime(&self.access_token_ttl, &policy::ACCESS_TOKEN_LIFETIME_RANGE)
            .map_err(|e| err.add("access_token_ttl", e))
            .ok();
        let refresh_token_ttl = lifetime(&self.refresh_token_ttl, &policy::REFRESH_TOKEN_LIFETIME_RANGE)
            .map_err(|e| err.add("refresh_token_ttl", e))
            .ok();
        if self.access_token_alg.parse::<SigningAlg>().is_err() {
            err.add("access_token_alg", choose_alg(SigningAlg::ACCESS_TOKEN_DEFAULT));
        }
        if self.id_token_alg.parse::<SigningAlg>().is_err() {
            err.add("id_token_alg", choose_alg(SigningAlg::ID_TOKEN_DEFAULT));
        }
        let auth_method = self.check_keys(&mut err);
        let jwks = self.jwks.trim();
        let jwks_uri = self.jwks_uri.trim();
        // RFC 8707: a client names only APIs that are registered; repeats kept once.
        let mut resources: Vec<String> = Vec::new();
        for raw in self.resources.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
            if !known_apis.iter().any(|k| k == raw) {
                err.add(
                    "resources",
                    format!("Unknown API \u{201c}{raw}\u{201d}: register it under APIs first."),
                );
            } else if !resources.iter().any(|r| r == raw) {
                resources.push(raw.to_owned());
            }
        }
        if resources.len() > policy::MAX_RESOURCES {
            err.add("resources", format!("Allow at most {} APIs.", policy::MAX_RESOURCES));
        }
        if self.fapi2 {
            let profile = crate::fapi::Registration {
                is_public: self.is_public,
                auth_method,
                has_keys: !jwks.is_empty() || !jwks_uri.is_empty(),
                access_token_alg: &self.access_token_alg,
                id_token_alg: &self.id_token_alg,
            };
            for (field, message) in crate::fapi::registration_errors(&profile) {
                err.add(field, message);
            }
        }
        let valid = match (name, scopes, access_token_ttl, refresh_token_ttl) {
            (Some(name), Some(scopes), Some(access_token_ttl), Some(refresh_token_ttl)) => Some(ClientUpdate {
                name,
                redirect_uris: uris,
                scopes,
                settings: ClientSettings {
                    description: (!description.is_empty()).then(|| description.to_owned()),
                    logo_uri: (!logo.is_empty()).then(|| logo.to_owned()),
                    // Left empty, the type's defaults apply when the client asks.
                    grant_types: match self.grant_types {
                        Some(_) => grants.iter().map(|g| g.as_str().to_owned()).collect(),
                        None => Vec::new(),
                    },
                    require_pkce: self.is_public || self.require_pkce,
                    access_token_ttl,
                    refresh_token_ttl,
                    access_token_alg: self.access_token_alg.clone(),
                    id_token_alg: self.id_token_alg.clone(),
                    require_pushed_authorization_requests: self.require_pushed_authorization_requests,
                    token_endpoint_auth_method: auth_method.as_str().to_owned(),
                    jwks: (!jwks.is_empty()).then(|| jwks.to_owned()),
                    jwks_uri: (!jwks_uri.is_empty()).then(|| jwks_uri.to_owned()),
                    require_signed_request_object: self.require_signed_request_object,
                    dpop_bound_access_tokens: self.dpop_bound_access_tokens,
                    resources,
                    fapi2: self.fapi2,
                },
            }),
            _ => None,
        };
        err.or(valid)
    }
}

impl ClientRegistration {
    /// The authentication method and the keys (RFC 7591 §2): `none` exactly for public
    /// clients; `private_key_jwt` needs keys; `jwks` or `jwks_uri`, never both; a client
    /// that must sign its requests needs keys too. Returns the method to store.
    fn check_keys(&self, err: &mut Errors) -> ClientAuthMethod {
        let default = if self.is_public {
            ClientAuthMethod::None
        } else {
            ClientAuthMethod::ClientSecretBasic
        };
        let raw = self.token_endpoint_auth_method.trim();
        let method = if raw.is_empty() {
            default
        } else {
            match raw.parse::<ClientAuthMethod>() {
                Ok(m) => m,
                Err(_) => {
                    err.add(
                        "token_endpoint_auth_method",
                        format!("Choose {}.", ClientAuthMethod::names().join(", ")),
                    );
                    default
                }
            }
        };
        if self.is_public != (method == ClientAuthMethod::None) {
            err.add(
                "token_endpoint_auth_method",
                "A public client uses none; a confidential one a secret or private_key_jwt.",
            );
        }
        let jwks = self.jwks.trim();
        let jwks_uri = self.jwks_uri.trim();
        if !jwks.is_empty() {
            if let Err(e) = check_jwks(jwks) {
                err.add("jwks", e);
            }
        }
        if !jwks_uri.is_empty() {
            if let Err(e) = check_jwks_uri(jwks_uri, &self.issuer) {
                err.add("jwks_uri", e);
            }
        }
        if !jwks.is_empty() && !jwks_uri.is_empty() {
            err.add("jwks_uri", "Give either a JWK Set or a JWKS URI, not both.");
        }
        let has_keys = !jwks.is_empty() || !jwks_uri.is_empty();
        if method == ClientAuthMethod::PrivateKeyJwt && !has_keys {
            err.add(
                "jwks",
                "private_key_jwt needs the client's public keys: a JWK Set or a JWKS URI.",
            );
        }
        if self.require_signed_request_object && !has_keys {
            err.add(
                "require_signed_request_object",
                "Signed request objects need the client's public keys: a JWK Set or a JWKS URI.",
            );
        }
        method
    }
}

/// A user as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserRegistration {
    pub username: String,
    /// Display name; empty for none.
    pub name: String,
    /// Empty for none.
    pub email: String,
    pub password: String,
}

/// A user that passed [`UserRegistration::validate`]; the password still needs hashing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidUser {
    pub username: Username,
    pub name: Option<String>,
    pub email: Option<String>,
}

impl UserRegistration {
    pub fn validate(&self) -> Result<ValidUser, FieldErrors> {
        let mut err = Errors::default();
        let username = Username::parse(self.username.trim())
            .map_err(|e| err.add("username", e.to_string()))
            .ok();
        let email = if self.email.trim().is_empty() {
            None
        } else {
            parse_email(&self.email)
                .map_err(|e| err.add("email", e.to_string()))
                .ok()
        };
        let name = self.name.trim();
        if name.chars().count() > policy::USER_NAME_MAX_CHARS || name.chars().any(char::is_control) {
            err.add(
                "name",
                format!("Use at most {} characters.", policy::USER_NAME_MAX_CHARS),
            );
        }
        if let Err(e) = password_rule(&self.password) {
            err.add("password", e);
        }
        err.or(username.map(|username| ValidUser {
            username,
            name: (!name.is_empty()).then(|| name.to_owned()),
            email,
        }))
    }
}

/// A new password's length ([`policy::PASSWORD_MIN_CHARS`] to
/// [`policy::PASSWORD_MAX_CHARS`] characters), with the console's message.
pub fn password_rule(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < policy::PASSWORD_MIN_CHARS {
        Err(format!("Use at least {} characters.", policy::PASSWORD_MIN_CHARS))
    } else if n > policy::PASSWORD_MAX_CHARS {
        Err(format!("Use at most {} characters.", policy::PASSWORD_MAX_CHARS))
    } else {
        Ok(())
    }
}

/// A new custom scope's name: one RFC 6749 §3.3 scope token, not a built-in one.
pub fn scope_name(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("Give the scope a name.".into());
    }
    if raw.len() > policy::SCOPE_NAME_MAX_BYTES {
        return Err(format!("Use at most {} characters.", policy::SCOPE_NAME_MAX_BYTES));
    }
    let set = ScopeSet::parse(raw).map_err(|e| e.to_string())?;
    if set.len() != 1 {
        return Err("A scope name is one word, without spaces.".into());
    }
    if scope::is_builtin(raw) {
        return Err(format!("\u{201c}{raw}\u{201d} is a built-in scope."));
    }
    Ok(raw.to_owned())
}

/// A custom scope's description: the consent screen shows it, on one line.
pub fn scope_description(raw: &str) -> Result<String, String> {
    let d = raw.trim();
    if d.is_empty() {
        return Err("Describe what the scope allows; the consent screen shows it.".into());
    }
    if d.chars().count() > policy::SCOPE_DESCRIPTION_MAX_CHARS || d.chars().any(char::is_control) {
        return Err(format!(
            "Use at most {} characters on one line.",
            policy::SCOPE_DESCRIPTION_MAX_CHARS
        ));
    }
    Ok(d.to_owned())
}

/// A new custom scope: its name and description, each checked.
pub fn validate_scope(name: &str, description: &str) -> Result<(String, String), FieldErrors> {
    let mut err = Errors::default();
    let name = scope_name(name).map_err(|e| err.add("name", e)).ok();
    let description = scope_description(description)
        .map_err(|e| err.add("description", e))
        .ok();
    err.or(name.zip(description))
}

/// An API (resource server) as submitted, text as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRegistration {
    /// Fixed once registered: the console shows it read-only when editing.
    pub identifier: String,
    pub name: String,
    /// Space-separated scope names.
    pub scopes: String,
    pub access_token_alg: String,
    /// Seconds, as typed.
    pub access_token_ttl: String,
}

impl Default for ApiRegistration {
    /// A new API's form: the access-token defaults clients have.
    fn default() -> Self {
        Self {
            identifier: String::new(),
            name: String::new(),
            scopes: String::new(),
            access_token_alg: SigningAlg::ACCESS_TOKEN_DEFAULT.as_str().into(),
            access_token_ttl: policy::ACCESS_TOKEN_LIFETIME_DEFAULT.to_string(),
        }
    }
}

impl ApiRegistration {
    /// Checks every field, given the names of every scope (built-in and defined). Returns
    /// the identifier and what to store, or every error.
    pub fn validate(&self, known_scopes: &[String]) -> Result<(String, ApiSettings), FieldErrors> {
        let mut err = Errors::default();
        let raw = self.identifier.trim();
        let identifier = match crate::resource::parse_identifier(raw) {
            // RFC 8707 §2: "SHOULD NOT include a query component".
            Ok(id) if url::Url::parse(id).is_ok_and(|u| u.query().is_some()) => {
                err.add("identifier", "Leave out the query (?…): RFC 8707 §2.");
                None
            }
            Ok(id) => Some(id.to_owned()),
            Err(e) => {
                err.add("identifier", e);
                None
            }
        };
        let name = self.name.trim();
        if name.is_empty() {
            err.add("name", "Give the API a name.");
        } else if name.chars().count() > policy::API_NAME_MAX_CHARS || name.chars().any(char::is_control) {
            err.add(
                "name",
                format!("Use at most {} characters on one line.", policy::API_NAME_MAX_CHARS),
            );
        }
        let scopes = known_scope_list(&self.scopes, known_scopes)
            .map_err(|e| err.add("scopes", e))
            .ok();
        let alg = self
            .access_token_alg
            .parse::<SigningAlg>()
            .map_err(|_| err.add("access_token_alg", choose_alg(SigningAlg::ACCESS_TOKEN_DEFAULT)))
            .ok();
        let ttl = lifetime(&self.access_token_ttl, &policy::ACCESS_TOKEN_LIFETIME_RANGE)
            .map_err(|e| err.add("access_token_ttl", e))
            .ok();
        let valid = match (identifier, scopes, alg, ttl) {
            (Some(identifier), Some(scopes), Some(access_token_alg), Some(access_token_ttl)) => Some((
                identifier,
                ApiSettings {
                    name: name.to_owned(),
                    scopes,
                    access_token_alg,
                    access_token_ttl,
                },
            )),
            _ => None,
        };
        err.or(valid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `None`: accepted; else the field refused and a part of its message.
    type Want = Option<(&'static str, &'static str)>;

    const JWKS: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;

    fn known() -> Vec<String> {
        ["openid", "profile", "email", "offline_access", "invoices:read"]
            .map(String::from)
            .to_vec()
    }

    fn apis() -> Vec<String> {
        vec!["https://as.example/api".into(), "https://billing.example/".into()]
    }

    /// A confidential client every rule accepts.
    fn good() -> ClientRegistration {
        ClientRegistration {
            name: "Shop".into(),
            redirect_uris: vec!["https://shop.example/cb".into()],
            scopes: "openid profile".into(),
            grant_types: Some(vec![GrantType::AuthorizationCode, GrantType::RefreshToken]),
            ..Default::default()
        }
    }

    fn public() -> ClientRegistration {
        ClientRegistration {
            is_public: true,
            ..good()
        }
    }

    #[test]
    fn client_rules() {
        use GrantType::*;
        type Change = fn(&mut ClientRegistration);
        // (what, change to the good client, None if accepted or Some((field, message part)))
        #[rustfmt::skip]
        let table: &[(&str, ClientRegistration, Change, Want)] = &[
            ("the good client", good(), |_| {}, None),
            ("a public client", public(), |_| {}, None),
            ("name trimmed", good(), |c| c.name = "  Shop ".into(), None),
            ("no name", good(), |c| c.name = "  ".into(), Some(("name", "client name must be 1 to 100 characters"))),
            ("name too long", good(), |c| c.name = "x".repeat(101), Some(("name", "1 to 100"))),
            ("name of 100", good(), |c| c.name = "x".repeat(100), None),
            ("description of 500", good(), |c| c.description = "d".repeat(500), None),
            ("description too long", good(), |c| c.description = "d".repeat(501), Some(("description", "Use at most 500 characters."))),
            ("https logo", good(), |c| c.logo_uri = "https://shop.example/logo.png".into(), None),
            ("http logo", good(), |c| c.logo_uri = "http://shop.example/logo.png".into(), Some(("logo_uri", "Give an absolute https URL, or leave it empty."))),
            ("relative logo", good(), |c| c.logo_uri = "/logo.png".into(), Some(("logo_uri", "absolute https"))),
            ("logo too long", good(), |c| c.logo_uri = format!("https://a.example/{}", "x".repeat(2000)), Some(("logo_uri", "absolute https"))),
            ("redirect URI with a fragment", good(), |c| c.redirect_uris.push("https://shop.example/cb#x".into()), Some(("redirect_uris", "must not contain a fragment"))),
            ("plain http redirect URI", good(), |c| c.redirect_uris = vec!["http://shop.example/cb".into()], Some(("redirect_uris", "plain http on a host that is not loopback"))),
            ("loopback redirect URI", good(), |c| c.redirect_uris = vec!["http://127.0.0.1:8080/cb".into()], None),
            ("code grant without redirect URI", good(), |c| c.redirect_uris.clear(), Some(("redirect_uris", "The authorization code grant needs at least one redirect URI."))),
            ("client_credentials without redirect URI", good(), |c| { c.redirect_uris.clear(); c.grant_types = Some(vec![ClientCredentials]) }, None),
            ("no grant", good(), |c| c.grant_types = Some(vec![]), Some(("grant_types", "Choose at least one grant type."))),
            ("public client_credentials", public(), |c| c.grant_types = Some(vec![ClientCredentials]), Some(("grant_types", "A public client cannot use client_credentials: it has no secret."))),
            ("confidential client_credentials", good(), |c| c.grant_types = Some(vec![ClientCredentials]), None),
            ("public client without PKCE", public(), |c| c.require_pkce = false, Some(("require_pkce", "A public client always needs PKCE (RFC 9700 §2.1.1)."))),
            ("confidential client without PKCE", good(), |c| c.require_pkce = false, None),
            ("no scope", good(), |c| c.scopes = " ".into(), Some(("scopes", "List at least one scope."))),
            ("undefined scope", good(), |c| c.scopes = "openid invoices:write".into(), Some(("scopes", "Unknown scope \u{201c}invoices:write\u{201d}: define it under Scopes first."))),
            ("defined custom scope", good(), |c| c.scopes = "openid invoices:read".into(), None),
            ("malformed scope", good(), |c| c.scopes = "a\"b".into(), Some(("scopes", "not allowed in a scope token"))),
            ("access lifetime 60", good(), |c| c.access_token_ttl = "60".into(), None),
            ("access lifetime 86400", good(), |c| c.access_token_ttl = " 86400 ".into(), None),
            ("access lifetime 59", good(), |c| c.access_token_ttl = "59".into(), Some(("access_token_ttl", "A whole number of seconds from 60 to 86400."))),
            ("access lifetime 86401", good(), |c| c.access_token_ttl = "86401".into(), Some(("access_token_ttl", "from 60 to 86400"))),
            ("access lifetime not a number", good(), |c| c.access_token_ttl = "1h".into(), Some(("access_token_ttl", "from 60 to 86400"))),
            ("refresh lifetime 3600", good(), |c| c.refresh_token_ttl = "3600".into(), None),
            ("refresh lifetime a year", good(), |c| c.refresh_token_ttl = "31536000".into(), None),
            ("refresh lifetime 3599", good(), |c| c.refresh_token_ttl = "3599".into(), Some(("refresh_token_ttl", "A whole number of seconds from 3600 to 31536000."))),
            ("refresh lifetime over a year", good(), |c| c.refresh_token_ttl = "31536001".into(), Some(("refresh_token_ttl", "from 3600 to 31536000"))),
            ("EdDSA access tokens", good(), |c| c.access_token_alg = "EdDSA".into(), None),
            ("PS256 access tokens", good(), |c| c.access_token_alg = "PS256".into(), None),
            ("PS256 ID tokens", good(), |c| c.id_token_alg = "PS256".into(), None),
            ("unknown access alg", good(), |c| c.access_token_alg = "HS256".into(), Some(("access_token_alg", "Choose ES256, RS256, EdDSA or PS256."))),
            ("lower-case alg", good(), |c| c.access_token_alg = "es256".into(), Some(("access_token_alg", "Choose ES256"))),
            ("unknown ID token alg", good(), |c| c.id_token_alg = "none".into(), Some(("id_token_alg", "Choose RS256, ES256, EdDSA or PS256."))),
            // The FAPI 2.0 profile (src/fapi.rs): private_key_jwt with keys, no RS256.
            ("FAPI 2.0 as required", good(), |c| { c.fapi2 = true; c.token_endpoint_auth_method = "private_key_jwt".into(); c.jwks = JWKS.into(); c.id_token_alg = "PS256".into() }, None),
            ("FAPI 2.0 with a secret", good(), |c| { c.fapi2 = true; c.id_token_alg = "PS256".into() }, Some(("token_endpoint_auth_method", "FAPI 2.0 requires private_key_jwt."))),
            ("FAPI 2.0 with RS256 ID tokens", good(), |c| { c.fapi2 = true; c.token_endpoint_auth_method = "private_key_jwt".into(); c.jwks = JWKS.into() }, Some(("id_token_alg", "FAPI 2.0 allows PS256, ES256 or EdDSA."))),
            ("FAPI 2.0 public client", public(), |c| { c.fapi2 = true; c.id_token_alg = "ES256".into() }, Some(("fapi2", "confidential clients only"))),
            ("a registered API", good(), |c| c.resources = vec!["https://billing.example/".into()], None),
            ("two registered APIs", good(), |c| c.resources = vec!["https://billing.example/".into(), " https://as.example/api ".into()], None),
            ("an unregistered API", good(), |c| c.resources = vec!["https://other.example/".into()], Some(("resources", "Unknown API \u{201c}https://other.example/\u{201d}: register it under APIs first."))),
            ("an API with different case", good(), |c| c.resources = vec!["https://BILLING.example/".into()], Some(("resources", "Unknown API"))),
            // Authentication method and keys (RFC 7591 §2).
            ("client_secret_post", good(), |c| c.token_endpoint_auth_method = "client_secret_post".into(), None),
            ("unknown method", good(), |c| c.token_endpoint_auth_method = "tls_client_auth".into(), Some(("token_endpoint_auth_method", "Choose client_secret_basic"))),
            ("confidential none", good(), |c| c.token_endpoint_auth_method = "none".into(), Some(("token_endpoint_auth_method", "A public client uses none"))),
            ("public with a secret method", public(), |c| c.token_endpoint_auth_method = "client_secret_basic".into(), Some(("token_endpoint_auth_method", "A public client uses none"))),
            ("public private_key_jwt", public(), |c| { c.token_endpoint_auth_method = "private_key_jwt".into(); c.jwks = JWKS.into() }, Some(("token_endpoint_auth_method", "A public client uses none"))),
            ("private_key_jwt with jwks", good(), |c| { c.token_endpoint_auth_method = "private_key_jwt".into(); c.jwks = JWKS.into() }, None),
            ("private_key_jwt with jwks_uri", good(), |c| { c.token_endpoint_auth_method = "private_key_jwt".into(); c.jwks_uri = "https://shop.example/jwks".into() }, None),
            ("private_key_jwt without keys", good(), |c| c.token_endpoint_auth_method = "private_key_jwt".into(), Some(("jwks", "private_key_jwt needs the client's public keys"))),
            ("private key in jwks", good(), |c| c.jwks = r#"{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}]}"#.into(), Some(("jwks", "private member \u{201c}d\u{201d}"))),
            ("jwks not a set", good(), |c| c.jwks = "[]".into(), Some(("jwks", "Give a JWK Set"))),
            ("both jwks and jwks_uri", good(), |c| { c.jwks = JWKS.into(); c.jwks_uri = "https://shop.example/jwks".into() }, Some(("jwks_uri", "not both"))),
            ("http jwks_uri", good(), |c| c.jwks_uri = "http://shop.example/jwks".into(), Some(("jwks_uri", "absolute https URL"))),
            ("loopback jwks_uri, https issuer", good(), |c| { c.jwks_uri = "http://127.0.0.1:9/jwks".into(); c.issuer = "https://id.example".into() }, Some(("jwks_uri", "absolute https URL"))),
            ("loopback jwks_uri, loopback issuer", good(), |c| { c.jwks_uri = "http://127.0.0.1:9/jwks".into(); c.issuer = "http://127.0.0.1:3000".into() }, None),
            ("signed requests without keys", good(), |c| c.require_signed_request_object = true, Some(("require_signed_request_object", "need the client's public keys"))),
            ("signed requests with keys", public(), |c| { c.require_signed_request_object = true; c.jwks = JWKS.into() }, None),
        ];
        for (what, base, change, want) in table {
            let mut c = base.clone();
            change(&mut c);
            let got = c.validate(&known(), &apis());
            match want {
                None => assert!(got.is_ok(), "{what}: {got:?}"),
                Some((field, part)) => {
                    let errors = got.expect_err(what);
                    let message = errors.get(*field).unwrap_or_else(|| panic!("{what}: {errors:?}"));
                    assert!(message.contains(part), "{what}: {message}");
                }
            }
        }
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let c = ClientRegistration {
            name: String::new(),
            scopes: "nope".into(),
            access_token_ttl: "0".into(),
            ..public()
        };
        let errors = c.validate(&known(), &apis()).unwrap_err();
        let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(fields, ["access_token_ttl", "name", "scopes"]);
    }

    #[test]
    fn what_a_valid_client_stores() {
        let mut c = good();
        c.name = " Shop ".into();
        c.description = "  ".into();
        c.redirect_uris = vec!["https://a.example/cb".into(), "https://a.example/cb".into()];
        c.require_pkce = false;
        let u = c.validate(&known(), &apis()).unwrap();
        assert_eq!(u.name, "Shop");
        assert_eq!(u.redirect_uris.len(), 1, "repeats kept once");
        assert_eq!(u.settings.description, None);
        assert_eq!(u.settings.grant_types, ["authorization_code", "refresh_token"]);
        assert!(!u.settings.require_pkce);
        assert_eq!(
            (u.settings.access_token_ttl, u.settings.refresh_token_ttl),
            (
                policy::ACCESS_TOKEN_LIFETIME_DEFAULT,
                policy::REFRESH_TOKEN_LIFETIME_DEFAULT
            )
        );
        assert_eq!(
            (u.settings.access_token_alg.as_str(), u.settings.id_token_alg.as_str()),
            ("ES256", "RS256")
        );
        // Grants in ALL order, whatever order they were chosen in.
        c.grant_types = Some(vec![GrantType::ClientCredentials, GrantType::AuthorizationCode]);
        let u = c.validate(&known(), &apis()).unwrap();
        assert_eq!(u.settings.grant_types, ["authorization_code", "client_credentials"]);
        // No list: stored empty, the type's defaults apply; a public client always has PKCE.
        let p = ClientRegistration {
            grant_types: None,
            ..public()
        };
        let u = p.validate(&known(), &apis()).unwrap();
        assert!(u.settings.grant_types.is_empty() && u.settings.require_pkce);
        // PAR is off unless asked for; asked for, it is stored.
        assert!(!u.settings.require_pushed_authorization_requests);
        let par = ClientRegistration {
            require_pushed_authorization_requests: true,
            ..public()
        };
        assert!(
            par.validate(&known(), &apis())
                .unwrap()
                .settings
                .require_pushed_authorization_requests
        );
        // The method defaults by type; keys are stored trimmed, empty as none.
        assert_eq!(u.settings.token_endpoint_auth_method, "none");
        let u = good().validate(&known(), &apis()).unwrap();
        assert_eq!(u.settings.token_endpoint_auth_method, "client_secret_basic");
        assert_eq!((u.settings.jwks, u.settings.jwks_uri), (None, None));
        let mut k = good();
        k.token_endpoint_auth_method = "private_key_jwt".into();
        k.jwks = format!(" {JWKS} ");
        k.require_signed_request_object = true;
        let u = k.validate(&known(), &apis()).unwrap();
        assert_eq!(u.settings.token_endpoint_auth_method, "private_key_jwt");
        assert_eq!(u.settings.jwks.as_deref(), Some(JWKS));
        assert!(u.settings.require_signed_request_object);
        // Allowed APIs: trimmed, repeats once, blanks ignored; none by default.
        assert!(u.settings.resources.is_empty());
        c.resources = vec![
            " https://billing.example/".into(),
            "".into(),
            "https://billing.example/".into(),
        ];
        let u = c.validate(&known(), &apis()).unwrap();
        assert_eq!(u.settings.resources, ["https://billing.example/"]);
    }

    #[test]
    fn user_rules() {
        type Change = fn(&mut UserRegistration);
        let good = || UserRegistration {
            username: "Alice".into(),
            name: "Alice Example".into(),
            email: "alice@example.com".into(),
            password: "correct horse".into(),
        };
        #[rustfmt::skip]
        let table: &[(&str, Change, Want)] = &[
            ("good", |_| {}, None),
            ("username trimmed", |u| u.username = " alice ".into(), None),
            ("username with a space", |u| u.username = "bad name".into(), Some(("username", "username must be 1 to 64 characters"))),
            ("username too long", |u| u.username = "a".repeat(65), Some(("username", "1 to 64"))),
            ("no email", |u| u.email = " ".into(), None),
            ("bad email", |u| u.email = "nope".into(), Some(("email", "is not a valid address"))),
            ("no display name", |u| u.name = String::new(), None),
            ("display name too long", |u| u.name = "n".repeat(101), Some(("name", "Use at most 100 characters."))),
            ("display name with a newline", |u| u.name = "a\nb".into(), Some(("name", "Use at most 100 characters."))),
            ("password of 8", |u| u.password = "12345678".into(), None),
            ("password of 7", |u| u.password = "1234567".into(), Some(("password", "Use at least 8 characters."))),
            ("password of 1024", |u| u.password = "p".repeat(1024), None),
            ("password of 1025", |u| u.password = "p".repeat(1025), Some(("password", "Use at most 1024 characters."))),
        ];
        for (what, change, want) in table {
            let mut u = good();
            change(&mut u);
            let got = u.validate();
            match want {
                None => assert!(got.is_ok(), "{what}: {got:?}"),
                Some((field, part)) => {
                    let errors = got.expect_err(what);
                    let message = errors.get(*field).unwrap_or_else(|| panic!("{what}: {errors:?}"));
                    assert!(message.contains(part), "{what}: {message}");
                }
            }
        }
        let v = good().validate().unwrap();
        assert_eq!(
            (v.username.as_str(), v.name.as_deref(), v.email.as_deref()),
            ("alice", Some("Alice Example"), Some("alice@example.com"))
        );
    }

    #[test]
    fn scope_rules() {
        // (name, description, None if accepted or Some((field, message part)))
        #[rustfmt::skip]
        let table: &[(&str, &str, Want)] = &[
            ("invoices:read", "Read your invoices", None),
            (" invoices:read ", " Read your invoices ", None),
            ("", "d", Some(("name", "Give the scope a name."))),
            (&"s".repeat(64), "d", None),
            (&"s".repeat(65), "d", Some(("name", "Use at most 64 characters."))),
            ("two words", "d", Some(("name", "A scope name is one word, without spaces."))),
            // RFC 6749 §3.3: no '"' or '\' in a scope token.
            ("a\"b", "d", Some(("name", "not allowed in a scope token"))),
            ("a\\b", "d", Some(("name", "not allowed in a scope token"))),
            ("openid", "d", Some(("name", "\u{201c}openid\u{201d} is a built-in scope."))),
            ("offline_access", "d", Some(("name", "is a built-in scope"))),
            ("x", " ", Some(("description", "Describe what the scope allows; the consent screen shows it."))),
            ("x", &"d".repeat(200), None),
            ("x", &"d".repeat(201), Some(("description", "Use at most 200 characters on one line."))),
            ("x", "two\nlines", Some(("description", "on one line"))),
        ];
        for (name, description, want) in table {
            let got = validate_scope(name, description);
            match want {
                None => assert!(got.is_ok(), "{name:?}: {got:?}"),
                Some((field, part)) => {
                    let errors = got.expect_err(name);
                    let message = errors.get(*field).unwrap_or_else(|| panic!("{name:?}: {errors:?}"));
                    assert!(message.contains(part), "{name:?}: {message}");
                }
            }
        }
        assert_eq!(
            validate_scope(" a:b ", " Does b ").unwrap(),
            ("a:b".to_owned(), "Does b".to_owned())
        );
    }

    #[test]
    fn alg_choices_put_the_default_first() {
        assert_eq!(choose_alg(SigningAlg::ES256), "Choose ES256, RS256, EdDSA or PS256.");
        assert_eq!(choose_alg(SigningAlg::RS256), "Choose RS256, ES256, EdDSA or PS256.");
    }

    #[test]
    fn api_rules() {
        type Change = fn(&mut ApiRegistration);
        let good = || ApiRegistration {
            identifier: "https://billing.example/".into(),
            name: "Billing".into(),
            scopes: "invoices:read openid".into(),
            ..Default::default()
        };
        #[rustfmt::skip]
        let table: &[(&str, Change, Want)] = &[
            ("good", |_| {}, None),
            ("a URN", |a| a.identifier = "urn:example:billing".into(), None),
            ("identifier trimmed", |a| a.identifier = " https://billing.example/ ".into(), None),
            ("no identifier", |a| a.identifier = " ".into(), Some(("identifier", "Give the API's identifier, an absolute URI."))),
            // RFC 8707 §2: absolute URI, no fragment, no query (SHOULD NOT).
            ("relative identifier", |a| a.identifier = "/api".into(), Some(("identifier", "must be an absolute URI"))),
            ("fragment", |a| a.identifier = "https://billing.example/#x".into(), Some(("identifier", "must not contain a fragment"))),
            ("query", |a| a.identifier = "https://billing.example/?a=b".into(), Some(("identifier", "Leave out the query"))),
            ("spaces", |a| a.identifier = "https://billing.example/a b".into(), Some(("identifier", "must not contain spaces"))),
            ("identifier too long", |a| a.identifier = format!("https://b.example/{}", "x".repeat(600)), Some(("identifier", "too long"))),
            ("no name", |a| a.name = " ".into(), Some(("name", "Give the API a name."))),
            ("name of 100", |a| a.name = "n".repeat(100), None),
            ("name too long", |a| a.name = "n".repeat(101), Some(("name", "Use at most 100 characters on one line."))),
            ("name with a newline", |a| a.name = "a\nb".into(), Some(("name", "on one line"))),
            ("no scope", |a| a.scopes = "".into(), Some(("scopes", "List at least one scope."))),
            ("unknown scope", |a| a.scopes = "invoices:write".into(), Some(("scopes", "Unknown scope \u{201c}invoices:write\u{201d}"))),
            ("malformed scope", |a| a.scopes = "a\\b".into(), Some(("scopes", "not allowed in a scope token"))),
            ("PS256", |a| a.access_token_alg = "PS256".into(), None),
            ("unknown alg", |a| a.access_token_alg = "HS256".into(), Some(("access_token_alg", "Choose ES256, RS256, EdDSA or PS256."))),
            ("lifetime 60", |a| a.access_token_ttl = "60".into(), None),
            ("lifetime 59", |a| a.access_token_ttl = "59".into(), Some(("access_token_ttl", "from 60 to 86400"))),
            ("lifetime 86401", |a| a.access_token_ttl = "86401".into(), Some(("access_token_ttl", "from 60 to 86400"))),
        ];
        for (what, change, want) in table {
            let mut a = good();
            change(&mut a);
            let got = a.validate(&known());
            match want {
                None => assert!(got.is_ok(), "{what}: {got:?}"),
                Some((field, part)) => {
                    let errors = got.expect_err(what);
                    let message = errors.get(*field).unwrap_or_else(|| panic!("{what}: {errors:?}"));
                    assert!(message.contains(part), "{what}: {message}");
                }
            }
        }
        let (id, settings) = good().validate(&known()).unwrap();
        assert_eq!(id, "https://billing.example/");
        assert_eq!(settings.scopes.to_string(), "invoices:read openid");
        assert_eq!(settings.access_token_alg, SigningAlg::ES256);
        assert_eq!(settings.access_token_ttl, policy::ACCESS_TOKEN_LIFETIME_DEFAULT);
    }
}
