//! The user's side of the device authorization grant (RFC 8628 §3.3): the user code typed
//! at `/device`, checked under the same back-off as passwords (per browser session and per
//! client address, counted apart from sign-in failures), remembered in the session while
//! the user signs in, and the user's decision on it.

use std::net::IpAddr;

use tessera_core::audit::{Actor, Kind, NewEvent};
use tessera_core::device::{self, DeviceCode, DeviceStatus};
use tessera_core::policy::{DEVICE_CODE_BACKOFF_PER_ADDRESS, DEVICE_CODE_BACKOFF_PER_SESSION};
use tessera_core::secret::hash_secret;
use tessera_core::store::{Store, User};
use tessera_core::throttle::{self, address_key, Backoff};
use tower_sessions::Session;

use crate::audit;
use crate::ServiceError;

/// The session key holding the hash of the user code this browser entered correctly.
pub const DEVICE_KEY: &str = "device_user_code";

/// How checking a user code ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A pending code: remembered in the session for the consent step.
    Found(DeviceCode),
    /// No such code (or malformed, or expired): counted as a failure.
    Invalid,
    /// The code exists but was decided already (allowed, denied, revoked, redeemed).
    Used,
    /// Too many wrong codes; try again in `retry_after` seconds.
    Throttled { retry_after: i64 },
}

/// The back-off counters a user-code attempt is held to: this browser session's (keyed
/// by its CSRF token, which a visitor nobody signed in to keeps in a cookie) and the client
/// address's. Prefixed `device:` so that wrong codes and wrong passwords count apart.
pub fn throttle_keys(csrf: &str, peer: Option<IpAddr>) -> Vec<(String, &'static Backoff)> {
    let mut keys = vec![(
        format!("device:session:{}", hash_secret(csrf)),
        &DEVICE_CODE_BACKOFF_PER_SESSION,
    )];
    if let Some(ip) = peer {
        keys.push((format!("device:{}", address_key(ip)), &DEVICE_CODE_BACKOFF_PER_ADDRESS));
    }
    keys
}

/// RFC 8628 §5.1: the user code has little entropy, so guessing is rate-limited. A blocked
/// attempt is refused before the store is asked; a wrong code counts against the session
/// and the address; a right one clears the session's counter and is remembered in it.
/// `csrf` is the form's token, already checked.
pub async fn enter(
    store: &dyn Store,
    session: &Session,
    csrf: &str,
    peer: Option<IpAddr>,
    input: &str,
    now: i64,
) -> Result<Outcome, ServiceError> {
    let keys = throttle_keys(csrf, peer);
    let names: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
    if let Some(until) = store.login_blocked_until(&names, now).await? {
        return Ok(Outcome::Throttled {
            retry_after: throttle::retry_after(until, now),
        });
    }
    let found = match device::normalise_user_code(input) {
        Some(code) => {
            store
                .device_code_by_user_code(&device::user_code_hash(&code), now)
                .await?
        }
        None => None,
    };
    match found {
        Some(code) if code.status == DeviceStatus::Pending => {
            if let Some((session_key, _)) = keys.first() {
                store.clear_login_failures(session_key).await?;
            }
            session.insert(DEVICE_KEY, &code.user_code_hash).await?;
            Ok(Outcome::Found(code))
        }
        Some(_) => Ok(Outcome::Used),
        None => {
            let mut blocked: Option<i64> = None;
            for (key, policy) in &keys {
                blocked = blocked.max(store.record_login_failure(key, policy, now).await?);
            }
            // As for sign-in: only codes looked up are recorded (the back-off refuses the
            // rest before), so a guesser adds rows only as fast as the back-off lets it.
            let reason = if blocked.is_some() { "throttled" } else { "invalid" };
            let event = NewEvent::new(Kind::DeviceCodeFailed, Actor::Anonymous, now)
                .address(peer)
                .detail(audit::detail(serde_json::json!({ "reason": reason })));
            audit::record(store, event).await;
            Ok(match blocked {
                Some(until) => Outcome::Throttled {
                    retry_after: throttle::retry_after(until, now),
                },
                None => Outcome::Invalid,
            })
        }
    }
}

/// The pending code this session entered, if it is still pending and unexpired.
pub async fn entered(store: &dyn Store, session: &Session, now: i64) -> Result<Option<DeviceCode>, ServiceError> {
    let Some(hash) = session.get::<String>(DEVICE_KEY).await? else {
        return Ok(None);
    };
    let code = store.device_code_by_user_code(&hash, now).await?;
    Ok(code.filter(|c| c.status == DeviceStatus::Pending))
}

/// Records `user`'s decision on the code this session entered: allowed (signed in at
/// `auth_time`, and remembered as a consent, so it appears, revocable, among the user's
/// apps) or denied. The session forgets the code either way. False if there was no
/// pending code to decide (expired, revoked, decided in another tab).
pub async fn decide(
    store: &dyn Store,
    session: &Session,
    user: &User,
    allow_at: Option<i64>,
    now: i64,
) -> Result<Option<DeviceCode>, ServiceError> {
    let Some(code) = entered(store, session, now).await? else {
        return Ok(None);
    };
    session.remove::<String>(DEVICE_KEY).await?;
    if !store
        .decide_device_code(&code.user_code_hash, &user.id, allow_at, now)
        .await?
    {
        return Ok(None);
    }
    if allow_at.is_some() {
        store
            .grant_consent(&user.id, &code.client_id, &code.scopes, now)
            .await?;
    }
    Ok(Some(code))
}
