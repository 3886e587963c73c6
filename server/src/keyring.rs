//! The signing keys a running server uses. Loaded from the database at start (generating
//! an active key for any algorithm that has none), kept in memory so no request parses a
//! key, and reloaded when a token names a `kid` this instance has not seen and at least
//! once a minute — so keys rotated by another instance or by `tessera keys rotate` are
//! picked up without a restart.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use anyhow::Context;
use tessera_core::store::{KeyRecord, Store};

use crate::keys::{self, KeySet, SigningAlg, StoredKey};

/// How long a retired key stays published: longer than any token it can have signed
/// (access and ID tokens live at most this long).
pub const MAX_TOKEN_LIFETIME: i64 = 24 * 3600;
const RELOAD_EVERY: i64 = 60;

pub struct KeyRing {
    store: Arc<dyn Store>,
    current: RwLock<KeySet>,
    loaded_at: AtomicI64,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
    /// Key sets built (every key parsed) so far, the first load included.
    builds: AtomicU64,
}

fn to_stored(r: &KeyRecord) -> anyhow::Result<StoredKey> {
    Ok(StoredKey {
        kid: r.kid.clone(),
        alg: r
            .alg
            .parse()
            .map_err(|_| anyhow::anyhow!("signing key {} has unknown alg {:?}", r.kid, r.alg))?,
        private_pkcs8_der: r.private_der.clone(),
        created_at: r.created_at,
        retired_at: r.retired_at,
    })
}

fn to_record(k: &StoredKey) -> KeyRecord {
    KeyRecord {
        kid: k.kid.clone(),
        alg: k.alg.as_str().to_owned(),
        private_der: k.private_pkcs8_der.clone(),
        created_at: k.created_at,
        retired_at: k.retired_at,
    }
}

/// The keys `store` holds that are still published at `now`.
async fn published(store: &dyn Store, now: i64) -> anyhow::Result<Vec<StoredKey>> {
    Ok(store
        .signing_keys()
        .await?
        .iter()
        .map(to_stored)
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .filter(|k| k.still_published(now, MAX_TOKEN_LIFETIME))
        .collect())
}

impl KeyRing {
    /// Loads the keys, first creating an active key for every algorithm that lacks one.
    pub async fn load(store: Arc<dyn Store>, now: i64) -> anyhow::Result<Arc<KeyRing>> {
        let existing: Vec<StoredKey> = store
            .signing_keys()
            .await?
            .iter()
            .map(to_stored)
            .collect::<anyhow::Result<_>>()?;
        for alg in keys::algs_without_active_key(&existing) {
            let key = keys::generate(alg, now)?;
            store
                .insert_signing_key(&to_record(&key))
                .await
                .context("cannot store a new signing key")?;
            tracing::info!(kid = %key.kid, alg = alg.as_str(), "generated signing key");
        }
        let set = KeySet::from_stored(&published(store.as_ref(), now).await?)?;
        Ok(Arc::new(KeyRing {
            store,
            current: RwLock::new(set),
            loaded_at: AtomicI64::new(now),
            reloading: tokio::sync::Mutex::new(()),
            builds: AtomicU64::new(1),
        }))
    }

    /// The keys as of the last load (cheap: an `Arc` inside).
    pub fn keys(&self) -> KeySet {
        match self.current.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reloads if the last load is older than a minute, or when `kid` is not known here
    /// (a key rotated by another process). One reload runs at a time: for a stale set, the
    /// requests that find one under way go on with the keys they have; for an unknown
    /// kid, they wait for it and look again. A reload that finds the same keys keeps the
    /// parsed set, so a stream of tokens naming made-up kids costs one light query each,
    /// one at a time, not the parsing of every key.
    pub async fn refresh_if_needed(&self, kid: Option<&str>, now: i64) {
        if now - self.loaded_at.load(Ordering::Relaxed) >= RELOAD_EVERY {
            if let Ok(_turn) = self.reloading.try_lock() {
                if now - self.loaded_at.load(Ordering::Relaxed) >= RELOAD_EVERY {
                    self.reload_logged(now).await;
                }
            }
        }
        let Some(kid) = kid else {
            return;
        };
        if self.keys().get(kid).is_some() {
            return;
        }
        let _turn = self.reloading.lock().await;
        if self.keys().get(kid).is_none() {
            self.reload_logged(now).await;
        }
    }

    async fn reload_logged(&self, now: i64) {
        if let Err(e) = self.reload(now).await {
            tracing::warn!(error = %e, "reloading signing keys failed; keeping the current ones");
        }
    }

    /// Reads the published keys and, if they differ from the current set, parses them.
    pub async fn reload(&self, now: i64) -> anyhow::Result<()> {
        let stored = published(self.store.as_ref(), now).await?;
        if !self.keys().is_built_from(&stored) {
            let set = KeySet::from_stored(&stored)?;
            self.builds.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut current) = self.current.write() {
                *current = set;
            }
        }
        self.loaded_at.store(now, Ordering::Relaxed);
        Ok(())
    }

    /// How many times a key set was built (every key parsed), the first load included.
    pub fn builds(&self) -> u64 {
        self.builds.load(Ordering::Relaxed)
    }
}

/// `tessera keys rotate`: a new active key for `alg`; the previous ones are retired and
/// stay published for [`MAX_TOKEN_LIFETIME`]. Returns the new kid.
pub async fn rotate(store: &dyn Store, alg: SigningAlg, now: i64) -> anyhow::Result<String> {
    let key = keys::generate(alg, now)?;
    store.insert_signing_key(&to_record(&key)).await?;
    store.retire_signing_keys(alg.as_str(), &key.kid, now).await?;
    Ok(key.kid)
}
