//! The signing keys a running server uses. Loaded from the database at start (generating
//! an active key for any algorithm that has none), kept in memory so no request parses a
//! key, and reloaded when a token names a `kid` this instance has not seen and at least
//! once a minute — so keys rotated by another instance or by `tessera keys rotate` are
//! picked up without a restart.

use std::sync::atomic::{AtomicI64, Ordering};
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

async fn load_set(store: &dyn Store, now: i64) -> anyhow::Result<KeySet> {
    let stored = store
        .signing_keys()
        .await?
        .iter()
        .map(to_stored)
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .filter(|k| k.still_published(now, MAX_TOKEN_LIFETIME))
        .collect::<Vec<_>>();
    KeySet::from_stored(&stored)
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
        let set = load_set(store.as_ref(), now).await?;
        Ok(Arc::new(KeyRing {
            store,
            current: RwLock::new(set),
            loaded_at: AtomicI64::new(now),
        }))
    }

    /// The keys as of the last load (cheap: an `Arc` inside).
    pub fn keys(&self) -> KeySet {
        match self.current.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reloads if the last load is older than a minute, or when `kid` is not known here.
    pub async fn refresh_if_needed(&self, kid: Option<&str>, now: i64) {
        let stale = now - self.loaded_at.load(Ordering::Relaxed) >= RELOAD_EVERY;
        let unknown = kid.is_some_and(|k| self.keys().get(k).is_none());
        if stale || unknown {
            if let Err(e) = self.reload(now).await {
                tracing::warn!(error = %e, "reloading signing keys failed; keeping the current ones");
            }
        }
    }

    pub async fn reload(&self, now: i64) -> anyhow::Result<()> {
        let set = load_set(self.store.as_ref(), now).await?;
        if let Ok(mut current) = self.current.write() {
            *current = set;
        }
        self.loaded_at.store(now, Ordering::Relaxed);
        Ok(())
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
