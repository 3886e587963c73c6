//! Pending authorization requests: what `/authorize` validated and keeps while the user
//! signs in and decides. The browser carries only an opaque 256-bit id; the store keeps
//! the request under the id's SHA-256 hash, for [`PENDING_LIFETIME`] seconds. Starting
//! one is bounded per client address ([`Limiter`]) and per client ([`create`]).

use tessera_core::authorize::{Pending, PENDING_LIFETIME};
use tessera_core::secret::{hash_secret, random_token};
use tessera_core::store::Store;

use crate::ServiceError;

fn json_err(e: serde_json::Error) -> ServiceError {
    ServiceError::Internal(format!("pending request: {e}"))
}

/// Stores a new pending request and returns its id, unless `client_id` already has
/// `max_per_client` live ones (#18 item 1: what an anonymous caller can leave stored is
/// bounded).
pub async fn create(
    store: &dyn Store,
    pending: &Pending,
    now: i64,
    max_per_client: i64,
) -> Result<Option<String>, ServiceError> {
    let id = random_token();
    let json = serde_json::to_string(pending).map_err(json_err)?;
    let stored = store
        .put_auth_request(
            &hash_secret(&id),
            &pending.request.client_id,
            &json,
            now,
            now + PENDING_LIFETIME,
            max_per_client,
        )
        .await?;
    Ok(stored.then_some(id))
}

/// The pending request under `id`, unless it expired or was finished.
pub async fn load(store: &dyn Store, id: &str, now: i64) -> Result<Option<Pending>, ServiceError> {
    let json = store.auth_request(&hash_secret(id), now).await?;
    json.map(|j| serde_json::from_str(&j).map_err(json_err)).transpose()
}

/// Saves what the user did on the request (its interaction flags).
pub async fn save(store: &dyn Store, id: &str, pending: &Pending) -> Result<(), ServiceError> {
    let json = serde_json::to_string(pending).map_err(json_err)?;
    Ok(store.update_auth_request(&hash_secret(id), &json).await?)
}

/// Deletes the request; `true` for the one caller that did (of concurrent callers exactly
/// one gets `true`: one pending request, one code).
pub async fn take(store: &dyn Store, id: &str) -> Result<bool, ServiceError> {
    Ok(store.delete_auth_request(&hash_secret(id)).await?)
}

/// Records that `user_id` signed in for the request, if it is still pending (this login
/// satisfies its `prompt=login` / `max_age`).
pub async fn logged_in(store: &dyn Store, id: &str, user_id: &str, now: i64) -> Result<(), ServiceError> {
    if let Some(mut pending) = load(store, id, now).await? {
        pending.interaction.logged_in_as(user_id);
        save(store, id, &pending).await?;
    }
    Ok(())
}

/// Pending requests started per client address: a keyed rate limiter (governor), by the
/// address's back-off key (IPv6 per /64). Its memory is one small entry per address seen
/// recently; addresses whose allowance is full again are dropped as it goes.
pub struct Limiter {
    limiter: governor::RateLimiter<
        String,
        governor::state::keyed::DefaultKeyedStateStore<String>,
        governor::clock::DefaultClock,
    >,
    checks: std::sync::atomic::AtomicU64,
}

impl Default for Limiter {
    fn default() -> Self {
        let per_minute = std::num::NonZeroU32::new(tessera_core::policy::PENDING_PER_ADDRESS_PER_MINUTE)
            .unwrap_or(std::num::NonZeroU32::MIN);
        Self {
            limiter: governor::RateLimiter::keyed(governor::Quota::per_minute(per_minute)),
            checks: Default::default(),
        }
    }
}

impl Limiter {
    /// Whether `peer` may leave one more request pending now. Every 4096 checks, the state
    /// of addresses whose allowance is full again is dropped, so the map holds only the
    /// addresses seen in about the last minute.
    pub fn allow(&self, peer: Option<std::net::IpAddr>) -> bool {
        let Some(ip) = peer else {
            return true;
        };
        if self.checks.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter.check_key(&tessera_core::throttle::address_key(ip)).is_ok()
    }
}
