//! The audit log's vocabulary: the kinds of security event Tessera records, and what one
//! event holds. Recording (one row and one `tessera::audit` log line) is the sign-in
//! layer's (`tessera_services::audit`); the rows live behind [`crate::store::AuditStore`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::{names, UnknownName};

/// What happened, as a dotted name (`sign_in.failed`). The admin console's filter and the
/// CLI's `--kind` list [`Kind::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Kind {
    SignInSucceeded,
    /// Detail: `reason` (`invalid` or `throttled`); the subject is the username tried.
    SignInFailed,
    /// RFC 8628 §5.1: a wrong user code entered at `/device`. Detail: `reason` (`invalid`
    /// or `throttled`, the failure that reached the back-off's limit); never the code.
    DeviceCodeFailed,
    SignedOut,
    /// By the user themselves, on their account page.
    PasswordChanged,
    /// By an administrator, in the console.
    PasswordReset,
    ConsentGranted,
    /// By the user in "my apps", or by an administrator (the actor says which).
    ConsentRevoked,
    /// RFC 9700 §4.14.2: a rotated refresh token presented again; its family was revoked.
    RefreshTokenReused,
    /// RFC 6749 §4.1.2: a code presented twice; what it issued was revoked.
    CodeReused,
    ClientCreated,
    ClientUpdated,
    ClientDeleted,
    ClientSecretRotated,
    UserCreated,
    /// Disabled, enabled, made or unmade administrator (detail says which).
    UserUpdated,
    ScopeCreated,
    ScopeUpdated,
    ScopeDeleted,
    KeyRotated,
    KeyRevoked,
    /// An administrator revoked one token family (a client's or a user's grant).
    GrantRevoked,
    /// An API (resource server, RFC 8707) registered, changed or removed; the subject is
    /// its identifier.
    ApiCreated,
    ApiUpdated,
    ApiDeleted,
}

names!(Kind, "audit event kind", [
    SignInSucceeded => "sign_in.succeeded",
    SignInFailed => "sign_in.failed",
    DeviceCodeFailed => "device_code.failed",
    SignedOut => "sign_out",
    PasswordChanged => "password.changed",
    PasswordReset => "password.reset",
    ConsentGranted => "consent.granted",
    ConsentRevoked => "consent.revoked",
    RefreshTokenReused => "refresh_token.reused",
    CodeReused => "code.reused",
    ClientCreated => "client.created",
    ClientUpdated => "client.updated",
    ClientDeleted => "client.deleted",
    ClientSecretRotated => "client.secret_rotated",
    UserCreated => "user.created",
    UserUpdated => "user.updated",
    ScopeCreated => "scope.created",
    ScopeUpdated => "scope.updated",
    ScopeDeleted => "scope.deleted",
    KeyRotated => "key.rotated",
    KeyRevoked => "key.revoked",
    GrantRevoked => "grant.revoked",
    ApiCreated => "api.created",
    ApiUpdated => "api.updated",
    ApiDeleted => "api.deleted",
]);

/// Who did it: nobody signed in, a user (id and the username at the time), or the
/// command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Anonymous,
    User { id: String, name: String },
    Cli,
}

impl Actor {
    /// The name stored as the CLI's actor.
    pub const CLI: &'static str = "cli";

    pub fn user(id: &str, name: &str) -> Self {
        Actor::User {
            id: id.to_owned(),
            name: name.to_owned(),
        }
    }

    /// The stored columns: user id, actor name.
    pub fn columns(&self) -> (Option<&str>, Option<&str>) {
        match self {
            Actor::Anonymous => (None, None),
            Actor::User { id, name } => (Some(id), Some(name)),
            Actor::Cli => (None, Some(Self::CLI)),
        }
    }
}

/// An event to record. `detail` is a small JSON object (never a password or a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub at: i64,
    pub kind: Kind,
    pub actor: Actor,
    pub client_id: Option<String>,
    /// The user (by username), client (by id), key (by kid) or scope the event is about.
    pub subject: Option<String>,
    /// The client's IP address as the server sees it (after `--trusted-proxy`).
    pub address: Option<String>,
    pub detail: String,
}

impl NewEvent {
    /// An event with no client, subject, address or detail yet.
    pub fn new(kind: Kind, actor: Actor, at: i64) -> Self {
        Self {
            at,
            kind,
            actor,
            client_id: None,
            subject: None,
            address: None,
            detail: "{}".to_owned(),
        }
    }

    pub fn client(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    pub fn address(mut self, address: Option<std::net::IpAddr>) -> Self {
        self.address = address.map(|ip| ip.to_canonical().to_string());
        self
    }

    /// A JSON object, already serialised (the core has no JSON library).
    pub fn detail(mut self, json: String) -> Self {
        self.detail = json;
        self
    }
}

/// A recorded event, as the console and `tessera audit list` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: i64,
    pub at: i64,
    /// A [`Kind`] name (kept as text: a row written by a newer version still lists).
    pub kind: String,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    pub address: Option<String>,
    pub detail: String,
}

/// Which events to list, newest first. Every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub kind: Option<Kind>,
    /// The actor's name or the subject, exactly.
    pub user: Option<String>,
    pub client_id: Option<String>,
    /// At or after (Unix seconds).
    pub since: Option<i64>,
    /// Only events older than this id: the next page after a page ending at it.
    pub before_id: Option<i64>,
    /// At most this many (the caller bounds it).
    pub limit: i64,
}

/// `at` (Unix seconds) as `YYYY-MM-DD HH:MM:SS` in UTC, as the console and the CLI show
/// an event's time.
pub fn utc_timestamp(at: i64) -> String {
    let (y, m, d) = crate::civil::civil_from_days(at.div_euclid(86_400));
    let secs = at.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A `YYYY-MM-DD` date (the console's "since" field) as the Unix time of its start, UTC;
/// `None` if it is not a real date.
pub fn parse_date(raw: &str) -> Option<i64> {
    let mut parts = raw.trim().splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || d < 1 {
        return None;
    }
    let days = crate::civil::days_from_civil(y, m, d);
    // Day 31 of a 30-day month would roll over into the next: not a real date.
    (crate::civil::civil_from_days(days) == (y, m, d)).then_some(days * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_dates() {
        let table = [
            (0, "1970-01-01 00:00:00"),
            (951_782_400, "2000-02-29 00:00:00"),
            (1_796_550_065, "2026-12-06 09:41:05"),
            (-1, "1969-12-31 23:59:59"),
        ];
        for (at, want) in table {
            assert_eq!(utc_timestamp(at), want, "{at}");
        }
        let dates = [
            ("1970-01-01", Some(0)),
            ("2000-02-29", Some(951_782_400)),
            (" 2026-12-06 ", Some(1_796_515_200)),
            ("2001-02-29", None),
            ("2026-04-31", None),
            ("2026-13-01", None),
            ("2026-00-10", None),
            ("2026-1-01", None),
            ("26-01-01", None),
            ("yesterday", None),
            ("", None),
        ];
        for (raw, want) in dates {
            assert_eq!(parse_date(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>().unwrap(), k);
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.as_str()));
        }
        let mut names = Kind::names();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Kind::ALL.len(), "every kind has its own name");
        assert!("sign_in.unknown".parse::<Kind>().is_err());
    }

    #[test]
    fn actor_columns() {
        assert_eq!(Actor::Anonymous.columns(), (None, None));
        assert_eq!(Actor::Cli.columns(), (None, Some("cli")));
        assert_eq!(Actor::user("u1", "alice").columns(), (Some("u1"), Some("alice")));
    }
}
