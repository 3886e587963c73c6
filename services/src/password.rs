//! Setting a password: a user changing their own (they must know the current one, and a
//! wrong one counts against the account's back-off), and an administrator resetting one.
//! Either ends the user's other sessions: the new password epoch no longer matches theirs.

use tessera_core::password::{self, PasswordError};
use tessera_core::policy::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};
use tessera_core::store::{Store, User};
use tessera_core::throttle::{account_key, PER_ACCOUNT};
use tower_sessions::Session;

use crate::argon;
use crate::clock::Clock;
use crate::login::{guarded_check, Checked};
use crate::session::keep_signed_in;
use crate::ServiceError;

/// How a password change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Changed,
    /// The current password was wrong.
    WrongCurrent,
    /// The account is blocked by the login back-off.
    Throttled,
    /// The new password and its confirmation differ.
    Mismatch,
    TooShort,
    TooLong,
    /// Too many password checks are waiting already.
    Busy,
    /// The user is gone (deleted meanwhile).
    NoSuchUser,
}

impl Change {
    /// The code the account page shows a message for (`/account?pw=…`).
    pub fn code(self) -> &'static str {
        match self {
            Change::Changed => "changed",
            Change::WrongCurrent => "current",
            Change::Throttled => "throttled",
            Change::Mismatch => "mismatch",
            Change::TooShort => "short",
            Change::TooLong => "long",
            Change::Busy => "busy",
            Change::NoSuchUser => "gone",
        }
    }
}

/// `user` (signed in on `session`) changes their password. As at sign-in (#18 item 3):
/// one check of this account's password at a time, a bounded wait for the hashing slot,
/// the block checked again after it, and the attempt counted before the hash (a success
/// clears it). On success this session stays signed in under the new epoch and a new
/// session id, so a session id captured before the change is worth nothing.
pub async fn change(
    store: &dyn Store,
    session: &Session,
    clock: &dyn Clock,
    user: &User,
    current: &str,
    new: String,
    confirm: &str,
) -> Result<Change, ServiceError> {
    let account = (account_key(&user.username), &PER_ACCOUNT);
    let keys = std::slice::from_ref(&account.0);
    if store.login_blocked_until(keys, clock.now()).await?.is_some() {
        return Ok(Change::Throttled);
    }
    if new != confirm {
        return Ok(Change::Mismatch);
    }
    let len = new.chars().count();
    if len < PASSWORD_MIN_CHARS {
        return Ok(Change::TooShort);
    }
    if len > PASSWORD_MAX_CHARS {
        return Ok(Change::TooLong);
    }
    // As at sign-in: one check at a time, the block checked again, the attempt counted
    // before the hash (a success clears it below).
    match guarded_check(store, clock, keys, &account, &user.username, current).await? {
        Checked::Blocked { .. } => return Ok(Change::Throttled),
        Checked::Busy => return Ok(Change::Busy),
        Checked::Done { user: None, .. } => return Ok(Change::WrongCurrent),
        Checked::Done { user: Some(_), .. } => {}
    }
    let hash = match argon::argon2(move || password::hash_password(&new))
        .await
        .map_err(ServiceError::Internal)?
    {
        Ok(hash) => hash,
        Err(PasswordError::TooShort) => return Ok(Change::TooShort),
        Err(PasswordError::TooLong) => return Ok(Change::TooLong),
        Err(e) => return Err(ServiceError::Internal(e.to_string())),
    };
    let Some(epoch) = store.set_password(&user.id, &hash).await? else {
        return Ok(Change::NoSuchUser);
    };
    store.clear_login_failures(&account.0).await?;
    keep_signed_in(session, epoch).await?;
    session.cycle_id().await?;
    Ok(Change::Changed)
}

/// An administrator (`admin`, signed in on `session`) sets `user_id`'s password, already
/// checked against the password rules. `false` if that user no longer exists. The user's
/// sessions are signed out by the new epoch; an administrator resetting their own
/// password keeps this one.
pub async fn reset(
    store: &dyn Store,
    session: &Session,
    admin: &User,
    user_id: &str,
    new: String,
) -> Result<bool, ServiceError> {
    let hash = hash(new).await?;
    let Some(epoch) = store.set_password(user_id, &hash).await? else {
        return Ok(false);
    };
    if user_id == admin.id {
        keep_signed_in(session, epoch).await?;
    }
    Ok(true)
}

/// Argon2id of a new password, through the bounded pool.
pub async fn hash(password: String) -> Result<String, ServiceError> {
    argon::argon2(move || password::hash_password(&password))
        .await
        .map_err(ServiceError::Internal)?
        .map_err(|e| ServiceError::Internal(e.to_string()))
}
