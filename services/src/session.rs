//! What a browser session holds about its user: who signed in, how and when. A session
//! speaks for its user while the account is enabled and its password unchanged since.
//!
//! The session stores these keys (tower-sessions, JSON values): `user_id`, `auth_time`,
//! `password_epoch`, `amr` (the methods) and `csrf` ([`crate::csrf`]). Sessions from
//! before `amr` existed were all signed in with a password and read as such.

use serde::{Deserialize, Serialize};
use tessera_core::store::{Store, User};
use tower_sessions::Session;

use crate::ServiceError;

pub const USER_ID_KEY: &str = "user_id";
/// OIDC Core §2 `auth_time`: when this session's user last authenticated.
pub const AUTH_TIME_KEY: &str = "auth_time";
/// The user's password epoch when this session signed in ([`User::password_epoch`]).
pub const PASSWORD_EPOCH_KEY: &str = "password_epoch";
/// The methods this session's user authenticated with, in order ([`Method`]).
pub const METHODS_KEY: &str = "amr";
/// When a request last moved the session's idle expiry ([`touch`]).
pub const TOUCHED_KEY: &str = "touched";
/// The first instant at which the sign-in no longer counts, however active the session
/// (the absolute cap, `--session-max-age`); the idle timeout is the session store's.
pub const SIGNED_IN_UNTIL_KEY: &str = "signed_in_until";

/// A way of authenticating. Each value is also its RFC 8176 `amr` value; a new sign-in
/// method (a one-time code, a passkey, an upstream provider) is a new variant here and a
/// new function in [`crate::login`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    /// Something the user knows: a password checked with Argon2id.
    #[serde(rename = "pwd")]
    Password,
}

impl Method {
    /// RFC 8176 §2: the Authentication Method Reference value.
    pub fn amr(self) -> &'static str {
        match self {
            Method::Password => "pwd",
        }
    }
}

/// How and when this session's user signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    pub user_id: String,
    /// The methods completed, oldest first, each once.
    pub methods: Vec<Method>,
    /// OIDC Core §2: when the user last actively authenticated (the latest step).
    pub auth_time: i64,
    /// The password epoch the session signed in under.
    pub password_epoch: i64,
    /// When the sign-in ends, counted from its first step ([`SIGNED_IN_UNTIL_KEY`]).
    pub until: i64,
}

impl SignIn {
    /// Whether this sign-in still speaks for `user` (see [`speaks_for`]).
    pub fn speaks_for(&self, user: &User) -> bool {
        user.id == self.user_id && speaks_for(user, self.password_epoch)
    }
}

/// Whether a session signed in under `epoch` still speaks for `user`: the account is
/// enabled and its password has not been set since (OWASP ASVS 3.3.3: a password change
/// ends the user's other sessions).
pub fn speaks_for(user: &User, epoch: i64) -> bool {
    !user.disabled && user.password_epoch == epoch
}

/// What the session says about its sign-in, without asking the store whether the user
/// still exists ([`current_user`] does). A sign-in past its absolute cap is none.
pub async fn sign_in_record(session: &Session) -> Result<Option<SignIn>, ServiceError> {
    let record = stored_sign_in(session).await?;
    Ok(record.filter(|r| crate::clock::now() < r.until))
}

/// The sign-in as stored, expired or not.
async fn stored_sign_in(session: &Session) -> Result<Option<SignIn>, ServiceError> {
    let Some(user_id) = session.get::<String>(USER_ID_KEY).await? else {
        return Ok(None);
    };
    let Some(auth_time) = session.get::<i64>(AUTH_TIME_KEY).await? else {
        return Ok(None);
    };
    // Sessions from before epochs existed carry none and count as 0, the epoch of a
    // password never changed since; from before `amr`, the password was the only method.
    let password_epoch = session.get::<i64>(PASSWORD_EPOCH_KEY).await?.unwrap_or(0);
    let methods = session
        .get::<Vec<Method>>(METHODS_KEY)
        .await?
        .unwrap_or_else(|| vec![Method::Password]);
    // Sessions from before the cap existed end the default time after their sign-in.
    let until = session
        .get::<i64>(SIGNED_IN_UNTIL_KEY)
        .await?
        .unwrap_or_else(|| auth_time.saturating_add(tessera_core::policy::SESSION_MAX_AGE_DEFAULT));
    Ok(Some(SignIn {
        user_id,
        methods,
        auth_time,
        password_epoch,
        until,
    }))
}

/// The signed-in user: the session's user, if they still exist, are enabled and have not
/// changed their password since this session signed in.
pub async fn current_user(store: &dyn Store, session: &Session) -> Result<Option<User>, ServiceError> {
    Ok(signed_in(store, session).await?.map(|(user, _)| user))
}

/// [`current_user`] with how and when they signed in.
pub async fn signed_in(store: &dyn Store, session: &Session) -> Result<Option<(User, SignIn)>, ServiceError> {
    let Some(record) = sign_in_record(session).await? else {
        return Ok(None);
    };
    let user = store.user_by_id(&record.user_id).await?;
    Ok(user.filter(|u| record.speaks_for(u)).map(|u| (u, record)))
}

/// Records that `user` authenticated with `method` at `now`, under a fresh session id (no
/// session fixation) and a fresh CSRF token; the sign-in ends `max_age` seconds after its
/// first step. A further step by the same user (a second factor, or signing in again for
/// `prompt=login`) adds its method and moves `auth_time` but not the end;
/// a session another user had signed in to starts empty, so nothing of theirs (the demo's
/// tokens among it) carries over (#18 item 7). What an anonymous visitor started (a demo
/// run on its way through sign-in) stays.
pub async fn sign_in(
    session: &Session,
    user: &User,
    method: Method,
    now: i64,
    max_age: i64,
) -> Result<(), ServiceError> {
    let previous = session.get::<String>(USER_ID_KEY).await?;
    if previous.is_some_and(|p| p != user.id) {
        session.clear().await;
    }
    // Steps add up only while the earlier ones still speak for the user.
    let (mut methods, until) = match sign_in_record(session).await? {
        Some(p) if p.user_id == user.id && p.password_epoch == user.password_epoch => (p.methods, p.until),
        _ => (Vec::new(), now.saturating_add(max_age)),
    };
    if !methods.contains(&method) {
        methods.push(method);
    }
    session.remove::<String>(crate::csrf::CSRF_KEY).await?;
    session.cycle_id().await?;
    session.insert(USER_ID_KEY, &user.id).await?;
    session.insert(AUTH_TIME_KEY, now).await?;
    session.insert(PASSWORD_EPOCH_KEY, user.password_epoch).await?;
    session.insert(METHODS_KEY, &methods).await?;
    session.insert(SIGNED_IN_UNTIL_KEY, until).await?;
    session.insert(TOUCHED_KEY, now).await?;
    Ok(())
}

/// Keeps a signed-in session alive while it is used (the idle timeout slides): the store
/// moves a session's expiry only when the session is written, and reading pages writes
/// nothing. So a request of a signed-in session writes it again once `idle / 12` has passed
/// since the last such write: at most a dozen writes per idle period however busy the
/// user, and the session ends between `idle * 11/12` and `idle` after its last request.
/// The absolute cap ([`SIGNED_IN_UNTIL_KEY`]) is not moved. Returns whether it wrote.
pub async fn touch(session: &Session, now: i64, idle: i64) -> Result<bool, ServiceError> {
    // No cookie came with the request: nothing to keep alive.
    if session.id().is_none() {
        return Ok(false);
    }
    let Some(record) = sign_in_record(session).await? else {
        return Ok(false);
    };
    let last = session.get::<i64>(TOUCHED_KEY).await?.unwrap_or(record.auth_time);
    if now.saturating_sub(last) < (idle / 12).max(1) {
        return Ok(false);
    }
    session.insert(TOUCHED_KEY, now).await?;
    Ok(true)
}

/// After this session changed its own user's password: it stays signed in, under the new
/// epoch, while every other session of that user is signed out.
pub async fn keep_signed_in(session: &Session, epoch: i64) -> Result<(), ServiceError> {
    session.insert(PASSWORD_EPOCH_KEY, epoch).await?;
    Ok(())
}

/// Signs out: the session and its cookie's id are gone.
pub async fn sign_out(session: &Session) -> Result<(), ServiceError> {
    session.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_stored_as_their_amr_values() {
        // RFC 8176 §2: "pwd". What a session stores is what an ID token's `amr` will say.
        assert_eq!(serde_json::to_string(&vec![Method::Password]).unwrap(), r#"["pwd"]"#);
        assert_eq!(serde_json::from_str::<Method>(r#""pwd""#).unwrap(), Method::Password);
        assert!(serde_json::from_str::<Method>(r#""otp""#).is_err());
        assert_eq!(Method::Password.amr(), "pwd");
    }
}
