//! Sign-in steps. Each way of signing in is one function here that checks what the user
//! presented, records the attempt, and on success records the step in the session
//! ([`crate::session::sign_in`] with its [`Method`]); it answers with an [`Outcome`] the
//! UI turns into a page. Today there is the password; a second factor or an upstream
//! provider is another function beside it, and a sign-in that needs more than one step
//! reads [`crate::session::SignIn::methods`] to know which are done.

use std::net::IpAddr;

use tessera_core::audit::{Actor, Kind, NewEvent};
use tessera_core::password;
use tessera_core::policy::AUDIT_SUBJECT_MAX_CHARS;
use tessera_core::store::{Store, User};
use tessera_core::throttle::{self, account_key, address_key, Backoff, PER_ACCOUNT, PER_ADDRESS};
use tessera_core::types::Username;
use tower_sessions::Session;

use crate::argon::{self, ArgonSlot};
use crate::audit;
use crate::clock::Clock;
use crate::session::{self, Method};
use crate::ServiceError;

/// How a sign-in attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The user is signed in; the session has a new id and a new CSRF token.
    SignedIn(User),
    /// Unknown user, wrong password or disabled account: one answer for all three.
    Invalid,
    /// Too many failures: refused before the password was checked, or this failure
    /// reached the limit. Try again in `retry_after` seconds.
    Throttled { retry_after: i64 },
    /// Too many password checks are waiting already; try again in a moment.
    Busy,
}

/// The back-off counters a sign-in as `username` from `peer` is held to: the account's
/// and the client address's. Without a peer address (router tests) only the account's.
pub fn throttle_keys(username: &str, peer: Option<IpAddr>) -> Vec<(String, &'static Backoff)> {
    let mut keys = vec![(account_key(username), &PER_ACCOUNT)];
    if let Some(ip) = peer {
        keys.push((address_key(ip), &PER_ADDRESS));
    }
    keys
}

/// Signs in with a username and password, in this order:
/// 1. back-off (`tessera_core::throttle`): a blocked attempt is refused before Argon2
///    runs, whatever the password, and says when to try again;
/// 2. one attempt per account at a time, then a bounded wait for a hashing slot, the
///    block checked again after both waits, and the attempt counted before the hash
///    (#18 item 3: a burst of concurrent guesses gets no more tries than one at a time);
/// 3. Argon2id (an unknown username costs the same as a wrong password);
/// 4. success clears the account's counter and signs the session in under a new id, for
///    at most `session_max_age` seconds; a failure also counts against the client address;
/// 5. the audit log records the outcome (`sign_in.succeeded` / `sign_in.failed`).
///
/// Every attempt is counted by outcome for `/metrics` (`tessera_sign_in_total`).
pub async fn password(
    store: &dyn Store,
    session: &Session,
    clock: &dyn Clock,
    username: &str,
    password: &str,
    peer: Option<IpAddr>,
    session_max_age: i64,
) -> Result<Outcome, ServiceError> {
    let outcome = password_steps(store, session, clock, username, password, peer, session_max_age).await;
    let label = match &outcome {
        Ok(outcome) => outcome.label(),
        Err(_) => "error",
    };
    metrics::counter!("tessera_sign_in_total", "outcome" => label).increment(1);
    outcome
}

impl Outcome {
    /// The outcome as `tessera_sign_in_total` labels it.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::SignedIn(_) => "succeeded",
            Outcome::Invalid => "invalid",
            Outcome::Throttled { .. } => "throttled",
            Outcome::Busy => "busy",
        }
    }
}

async fn password_steps(
    store: &dyn Store,
    session: &Session,
    clock: &dyn Clock,
    username: &str,
    password: &str,
    peer: Option<IpAddr>,
    session_max_age: i64,
) -> Result<Outcome, ServiceError> {
    let keys = throttle_keys(username, peer);
    let key_names: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
    let now = clock.now();
    if let Some(until) = store.login_blocked_until(&key_names, now).await? {
        return Ok(Outcome::Throttled {
            retry_after: throttle::retry_after(until, now),
        });
    }
    let Some(account) = keys.first() else {
        return Err(ServiceError::Internal("no throttle key".into()));
    };
    let (user, account_blocked_until, now) =
        match guarded_check(store, clock, &key_names, account, username, password).await? {
            Checked::Blocked { until, now } => {
                return Ok(Outcome::Throttled {
                    retry_after: throttle::retry_after(until, now),
                })
            }
            Checked::Busy => return Ok(Outcome::Busy),
            Checked::Done {
                user,
                account_blocked_until,
                now,
            } => (user, account_blocked_until, now),
        };
    match user {
        Some(user) => {
            // Success clears the account's counter (this attempt included); the
            // address's runs out on its own.
            store.clear_login_failures(&account.0).await?;
            session::sign_in(session, &user, Method::Password, now, session_max_age).await?;
            let event = NewEvent::new(Kind::SignInSucceeded, Actor::user(&user.id, &user.username), now)
                .subject(&user.username)
                .address(peer);
            audit::record(store, event).await;
            Ok(Outcome::SignedIn(user))
        }
        None => {
            // The account counted this attempt already; the address counts failures.
            let mut blocked_until = account_blocked_until;
            for (key, policy) in keys.iter().skip(1) {
                let until = store.record_login_failure(key, policy, now).await?;
                blocked_until = blocked_until.max(until);
            }
            let outcome = match blocked_until {
                Some(until) => Outcome::Throttled {
                    retry_after: throttle::retry_after(until, now),
                },
                None => Outcome::Invalid,
            };
            // Only attempts whose password was checked are recorded (the one that
            // reaches the limit says `throttled`): those the back-off refuses before
            // Argon2 cost the caller nothing and would let anyone grow the audit table
            // without bound. So an anonymous caller adds rows only as fast as the
            // back-off and the Argon2 pool let it guess.
            let reason = if blocked_until.is_some() {
                "throttled"
            } else {
                "invalid"
            };
            let tried: String = username.chars().take(AUDIT_SUBJECT_MAX_CHARS).collect();
            let event = NewEvent::new(Kind::SignInFailed, Actor::Anonymous, now)
                .subject(tried)
                .address(peer)
                .detail(audit::detail(serde_json::json!({ "reason": reason })));
            audit::record(store, event).await;
            Ok(outcome)
        }
    }
}

/// What a [`guarded_check`] found.
pub(crate) enum Checked {
    /// Blocked, as found when checked again after the waits.
    Blocked { until: i64, now: i64 },
    /// No turn for this account, or no hashing slot, in time.
    Busy,
    /// The password was checked (`user` if it was right); the account's counter already
    /// counts this attempt.
    Done {
        user: Option<User>,
        account_blocked_until: Option<i64>,
        now: i64,
    },
}

/// The part of every password check that keeps a burst of concurrent guesses from getting
/// more tries than one at a time would (#18 item 3): one check per account at a time, a
/// bounded wait for a hashing slot, the block (`key_names`) checked again after both
/// waits, the attempt counted against `account` before the hash, then Argon2id. Signing
/// in and changing a password both go through it.
pub(crate) async fn guarded_check(
    store: &dyn Store,
    clock: &dyn Clock,
    key_names: &[String],
    (account, policy): &(String, &'static Backoff),
    username: &str,
    password: &str,
) -> Result<Checked, ServiceError> {
    let Ok(_turn) = argon::account_turn(account).await else {
        return Ok(Checked::Busy);
    };
    let Ok(slot) = argon::argon2_slot().await else {
        return Ok(Checked::Busy);
    };
    let now = clock.now();
    if let Some(until) = store.login_blocked_until(key_names, now).await? {
        return Ok(Checked::Blocked { until, now });
    }
    let account_blocked_until = store.record_login_failure(account, policy, now).await?;
    let user = check_password(store, slot, username, password).await?;
    Ok(Checked::Done {
        user,
        account_blocked_until,
        now,
    })
}

/// Checks a username and password with an Argon2 slot already taken
/// ([`argon::argon2_slot`]): the user if the password is theirs and the account enabled.
/// Argon2id runs on the blocking pool; an unknown username costs the same as a wrong
/// password.
pub async fn check_password(
    store: &dyn Store,
    slot: ArgonSlot,
    username: &str,
    password: &str,
) -> Result<Option<User>, ServiceError> {
    let found = store.credentials_by_username(&Username::normalise(username)).await?;
    let password = password.to_owned();
    let checked = slot
        .run(move || match found {
            Some((user, hash)) => password::verify_password(&password, &hash).then_some(user),
            None => {
                password::verify_against_dummy(&password);
                None
            }
        })
        .await
        .map_err(ServiceError::Internal)?;
    Ok(checked.filter(|user| !user.disabled))
}
