//! The device authorization grant (RFC 8628), its device-side request and its user
//! codes: what `POST /device_authorization` accepts, the user code a person types at
//! `/device` (made, shown, normalised, hashed), and the record kept while they decide.
//! The polling answers are the token endpoint's ([`crate::token::device_code`]).

use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::error::OAuthError;
use crate::params;
use crate::secret::hash_secret;
use crate::store::Client;
use crate::types::ScopeSet;

/// RFC 8628 §6.1: the example charset — consonants only, so no word can be spelled and
/// nothing is mistaken for a digit; 20^8 ≈ 2^34.5 codes.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Characters of a user code (shown as two groups of four).
pub const USER_CODE_LEN: usize = 8;
/// The longest input read as a user code at all (dashes and spaces included).
pub const USER_CODE_INPUT_MAX: usize = 32;

/// The parameters `/device_authorization` reads; none may repeat (RFC 6749 §3.1).
const RECOGNIZED: &[&str] = &["client_id", "scope"];

/// A new user code, normalised (8 letters of [`USER_CODE_ALPHABET`]), from the operating
/// system's randomness, uniform (bytes of 240 and above are drawn again: 240 = 12 × 20).
pub fn generate_user_code() -> String {
    let mut out = String::with_capacity(USER_CODE_LEN);
    let mut buf = [0u8; 16];
    while out.len() < USER_CODE_LEN {
        OsRng.fill_bytes(&mut buf);
        for b in buf {
            if out.len() == USER_CODE_LEN {
                break;
            }
            if b < 240 {
                out.push(char::from(USER_CODE_ALPHABET[usize::from(b % 20)]));
            }
        }
    }
    out
}

/// RFC 8628 §6.1: a user code as people read it, `XXXX-XXXX`.
pub fn display_user_code(normalised: &str) -> String {
    match (normalised.get(..4), normalised.get(4..)) {
        (Some(a), Some(b)) if !b.is_empty() => format!("{a}-{b}"),
        _ => normalised.to_owned(),
    }
}

/// RFC 8628 §6.1: what the user typed, compared without case, dashes or spaces. `None`
/// if it cannot be a user code at all (wrong length or a character outside the alphabet).
pub fn normalise_user_code(input: &str) -> Option<String> {
    if input.len() > USER_CODE_INPUT_MAX {
        return None;
    }
    let code: String = input
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let ok = code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    ok.then_some(code)
}

/// The stored form of a normalised user code, by which it is looked up. SHA-256 like every
/// other code; at 34.5 bits this hides codes from a casual reader of the database, not from
/// one who copies it and searches all 20^8 (codes live minutes and are single use).
pub fn user_code_hash(normalised: &str) -> String {
    hash_secret(&format!("user_code:{normalised}"))
}

/// What the admin console shows of a user code: its first half (`WDJB-····`), enough to
/// match a code a user reads out, not enough to enter it.
pub fn user_code_hint(normalised: &str) -> String {
    format!("{}-····", normalised.get(..4).unwrap_or(""))
}

/// Where a device code stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    /// Waiting for the user (RFC 8628 §3.5 `authorization_pending`).
    Pending,
    /// The user allowed it; the next poll gets the tokens.
    Approved,
    /// The user (or an administrator) refused it (`access_denied`).
    Denied,
    /// Its tokens were issued; it is never redeemed again.
    Redeemed,
}

impl DeviceStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Redeemed => "redeemed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Denied, Self::Redeemed]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A device code as stored (by the hashes of its device code and user code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCode {
    pub user_code_hash: String,
    /// [`user_code_hint`].
    pub user_code_hint: String,
    pub client_id: String,
    pub scopes: ScopeSet,
    /// RFC 8707: the resources the device named; empty when none.
    pub resources: Vec<String>,
    pub status: DeviceStatus,
    /// Who allowed or denied it.
    pub user_id: Option<String>,
    /// The user's sign-in time when they allowed it (OIDC Core §2 `auth_time`).
    pub auth_time: Option<i64>,
    /// Seconds between polls, grown by each `slow_down` (RFC 8628 §3.5).
    pub interval: i64,
    /// When the device last polled.
    pub last_poll: Option<i64>,
    pub created_at: i64,
    /// The first instant (Unix seconds) at which the codes no longer count.
    pub expires_at: i64,
}

/// What a device authorization request asks for, checked against the client as
/// `/authorize` checks its scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRequest {
    pub scopes: ScopeSet,
    pub resources: Vec<String>,
}

impl DeviceRequest {
    /// RFC 8628 §3.1: `client_id` (read by client authentication) and `scope`; RFC 8707
    /// `resource`. `known_scope` says whether the server defines a scope.
    pub fn parse(
        pairs: &[(String, String)],
        client: &Client,
        known_scope: impl Fn(&str) -> bool,
    ) -> Result<Self, OAuthError> {
        // RFC 6749 §3.1: no parameter repeated.
        if let Some(name) = params::duplicated(pairs, RECOGNIZED) {
            return Err(OAuthError::invalid_request("repeated parameter").with_detail(format!("repeated {name}")));
        }
        // RFC 6749 §3.3 (as at /authorize): a scope is required rather than guessed, so the
        // consent page shows exactly what the device asked for.
        let scopes = params::get(pairs, "scope")
            .map(ScopeSet::parse)
            .transpose()
            .map_err(|e| OAuthError::invalid_scope("invalid scope").with_detail(e.to_string()))?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| OAuthError::invalid_scope("scope required"))?;
        // RFC 8628 §3.1 / RFC 6749 §3.3: each scope one the client may request and the
        // server knows.
        if let Some(bad) = scopes.iter().find(|s| !client.scopes.contains(s) || !known_scope(s)) {
            return Err(
                OAuthError::invalid_scope("scope not allowed for this client").with_detail(format!("scope {bad:?}"))
            );
        }
        // RFC 8707 §2: the `resource` values, each an absolute URI.
        let resources = crate::resource::requested(pairs)?;
        Ok(Self { scopes, resources })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::params::pairs;

    #[test]
    fn user_codes_are_eight_consonants_and_vary() {
        let a = generate_user_code();
        assert_eq!(a.len(), USER_CODE_LEN);
        assert!(a.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)), "{a}");
        // 100 codes, at 2^34.5 each: a repeat would mean the generator is broken.
        let many: std::collections::BTreeSet<String> = (0..100).map(|_| generate_user_code()).collect();
        assert_eq!(many.len(), 100);
        // Every letter of the alphabet turns up in 1,000 codes (8,000 draws).
        let seen: std::collections::BTreeSet<u8> = (0..1000).flat_map(|_| generate_user_code().into_bytes()).collect();
        assert_eq!(seen.len(), 20);
    }

    #[test]
    fn user_codes_are_compared_without_case_or_dashes() {
        #[rustfmt::skip]
        let table: &[(&str, Option<&str>)] = &[
            ("WDJB-MJHT", Some("WDJBMJHT")),
            ("wdjb-mjht", Some("WDJBMJHT")),
            ("WDJBMJHT", Some("WDJBMJHT")),
            (" wdjb mjht ", Some("WDJBMJHT")),
            ("W-D-J-B-M-J-H-T", Some("WDJBMJHT")),
            // Vowels and digits are not in the alphabet.
            ("WDJB-MJHA", None),
            ("WDJB-MJH1", None),
            ("WDJB-MJH", None),
            ("WDJB-MJHTT", None),
            ("", None),
            ("ẞDJB-MJHT", None),
        ];
        for (input, want) in table {
            assert_eq!(normalise_user_code(input).as_deref(), *want, "{input:?}");
        }
        assert_eq!(normalise_user_code(&format!("WDJBMJHT{}", "-".repeat(40))), None);
        assert_eq!(display_user_code("WDJBMJHT"), "WDJB-MJHT");
        assert_eq!(user_code_hint("WDJBMJHT"), "WDJB-····");
        assert_eq!(user_code_hash("WDJBMJHT"), user_code_hash("WDJBMJHT"));
        assert_ne!(user_code_hash("WDJBMJHT"), user_code_hash("WDJBMJHB"));
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            DeviceStatus::Pending,
            DeviceStatus::Approved,
            DeviceStatus::Denied,
            DeviceStatus::Redeemed,
        ] {
            assert_eq!(DeviceStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(DeviceStatus::parse("Pending"), None);
    }

    #[test]
    fn request_rules() {
        let client = Client {
            client_id: "tv".into(),
            name: "TV".into(),
            secret_hash: None,
            redirect_uris: vec![],
            scopes: ScopeSet::parse("openid profile offline_access").unwrap(),
            is_public: true,
            created_at: 0,
            settings: Default::default(),
        };
        let known = |s: &str| s != "profile";
        type Row<'a> = (Vec<(&'a str, &'a str)>, Result<&'a str, ErrorCode>);
        #[rustfmt::skip]
        let table: Vec<Row> = vec![
            (vec![("client_id", "tv"), ("scope", "openid")], Ok("openid")),
            (vec![("scope", "openid offline_access"), ("unknown", "x")], Ok("offline_access openid")),
            (vec![("client_id", "tv")], Err(ErrorCode::InvalidScope)),
            (vec![("scope", "")], Err(ErrorCode::InvalidScope)),
            (vec![("scope", "email")], Err(ErrorCode::InvalidScope)),
            // Allowed for the client, but not a scope the server defines.
            (vec![("scope", "profile")], Err(ErrorCode::InvalidScope)),
            (vec![("scope", "openid"), ("scope", "openid")], Err(ErrorCode::InvalidRequest)),
            (vec![("scope", "openid"), ("resource", "not a uri")], Err(ErrorCode::InvalidTarget)),
        ];
        for (list, want) in table {
            let got = DeviceRequest::parse(&pairs(&list), &client, known).map(|r| r.scopes.to_string());
            assert_eq!(got.as_deref().map_err(|e| e.code), want, "{list:?}");
        }
        let r = DeviceRequest::parse(
            &pairs(&[("scope", "openid"), ("resource", "https://api.example/")]),
            &client,
            known,
        )
        .unwrap();
        assert_eq!(r.resources, vec!["https://api.example/".to_owned()]);
    }
}
