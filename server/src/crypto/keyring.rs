//! The signing keys a running server uses. Loaded from the database at start (generating
//! an active key for any algorithm that has none), kept in memory so no request parses a
//! key, and reloaded when a token names a `kid` this instance has not seen and at least
//! once a minute — so keys rotated by another instance or by `tessera keys rotate` are
//! picked up without a restart.
//!
//! Private keys are encrypted at rest (#18 item 10): AES-256-GCM under a key-encryption
//! key derived from the server secret ([`crate::crypto::server_secret`]), bound to their kid. A key
//! stored before that, or under a previous server secret, is re-encrypted at load.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use anyhow::Context;
use tessera_core::store::{KeyRecord, Store};

use crate::crypto::jwt::{self, KeySet, SigningAlg, StoredKey};
use crate::crypto::server_secret::{Sealer, ServerSecret};

pub use tessera_core::policy::KEY_RELOAD_EVERY;
/// How long a retired key stays published: longer than any token it can have signed
/// (access and ID tokens live at most this long).
pub use tessera_core::policy::MAX_TOKEN_LIFETIME;
/// At most one reload for unknown kids this often (#18 item 9): a stream of tokens naming
/// made-up kids costs one query per window, and nobody waits in a queue for it. A key
/// rotated elsewhere is still found within this many seconds.
const UNKNOWN_KID_RELOAD_EVERY: i64 = 5;

/// The label the key-encryption key is derived under.
pub const KEK_LABEL: &str = "tessera-signing-keys";

pub struct KeyRing {
    store: Arc<dyn Store>,
    kek: Sealer,
    current: RwLock<KeySet>,
    loaded_at: AtomicI64,
    /// Seconds between reloads ([`KEY_RELOAD_EVERY`] unless `serve --key-reload-interval`).
    reload_every: AtomicI64,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
    /// Key sets built (every key parsed) so far, the first load included.
    builds: AtomicU64,
    /// Reloads (database reads) so far, the first load excluded.
    reloads: AtomicU64,
    /// When an unknown kid last caused a reload.
    unknown_kid_reload_at: AtomicI64,
}

/// A stored key, decrypted; and whether its stored form should be re-encrypted (written in
/// the clear before encryption at rest, or under a previous server secret).
fn to_stored(r: &KeyRecord, kek: &Sealer) -> anyhow::Result<(StoredKey, bool)> {
    let (der, reseal) = if Sealer::is_sealed(&r.private_der) {
        let (der, current) = kek.open(&r.private_der, r.kid.as_bytes()).ok_or_else(|| {
            anyhow::anyhow!(
                "signing key {} cannot be decrypted: the server secret is not the one it was encrypted \
                 under (set it in TESSERA_SECRET or TESSERA_SECRET_FILE; after a rotation, the old one \
                 in TESSERA_SECRET_PREVIOUS)",
                r.kid
            )
        })?;
        (der, !current)
    } else {
        (r.private_der.clone(), true)
    };
    let key = StoredKey {
        kid: r.kid.clone(),
        alg: r
            .alg
            .parse()
            .map_err(|_| anyhow::anyhow!("signing key {} has unknown alg {:?}", r.kid, r.alg))?,
        private_pkcs8_der: der,
        created_at: r.created_at,
        retired_at: r.retired_at,
    };
    Ok((key, reseal))
}

fn to_record(k: &StoredKey, kek: &Sealer) -> anyhow::Result<KeyRecord> {
    Ok(KeyRecord {
        kid: k.kid.clone(),
        alg: k.alg.as_str().to_owned(),
        private_der: kek.seal(&k.private_pkcs8_der, k.kid.as_bytes())?,
        created_at: k.created_at,
        retired_at: k.retired_at,
    })
}

/// Every stored key, decrypted; any stored in the clear or under a previous server secret
/// is re-encrypted under the current one on the way.
async fn all_keys(store: &dyn Store, kek: &Sealer) -> anyhow::Result<Vec<StoredKey>> {
    let mut keys = Vec::new();
    for record in store.signing_keys().await? {
        let (key, reseal) = to_stored(&record, kek)?;
        if reseal {
            let sealed = kek.seal(&key.private_pkcs8_der, key.kid.as_bytes())?;
            store.replace_signing_key_material(&key.kid, &sealed).await?;
            tracing::info!(kid = %key.kid, "encrypted a signing key under the current server secret");
        }
        keys.push(key);
    }
    Ok(keys)
}

/// The keys `store` holds that are still published at `now`.
async fn published(store: &dyn Store, kek: &Sealer, now: i64) -> anyhow::Result<Vec<StoredKey>> {
    Ok(all_keys(store, kek)
        .await?
        .into_iter()
        .filter(|k| k.still_published(now, MAX_TOKEN_LIFETIME))
        .collect())
}

impl KeyRing {
    /// Loads the keys, first creating an active key for every algorithm that lacks one.
    /// Private keys are encrypted under `secret`'s key-encryption key.
    pub async fn load(store: Arc<dyn Store>, secret: &ServerSecret, now: i64) -> anyhow::Result<Arc<KeyRing>> {
        let kek = secret.sealer(KEK_LABEL);
        let existing = all_keys(store.as_ref(), &kek).await?;
        for alg in jwt::algs_without_active_key(&existing, now) {
            let key = jwt::generate(alg, now)?;
            store
                .insert_signing_key(&to_record(&key, &kek)?)
                .await
                .context("cannot store a new signing key")?;
            tracing::info!(kid = %key.kid, alg = alg.as_str(), "generated signing key");
        }
        let set = KeySet::from_stored(&published(store.as_ref(), &kek, now).await?)?;
        Ok(Arc::new(KeyRing {
            store,
            kek,
            current: RwLock::new(set),
            loaded_at: AtomicI64::new(now),
            reload_every: AtomicI64::new(KEY_RELOAD_EVERY),
            reloading: tokio::sync::Mutex::new(()),
            builds: AtomicU64::new(1),
            reloads: AtomicU64::new(0),
            unknown_kid_reload_at: AtomicI64::new(i64::MIN / 2),
        }))
    }

    /// Reload every `secs` seconds (at least one) instead of [`KEY_RELOAD_EVERY`]: the
    /// bound within which a key rotated elsewhere is published and used here.
    pub fn set_reload_every(&self, secs: i64) {
        self.reload_every.store(secs.max(1), Ordering::Relaxed);
    }

    /// The keys as of the last load (cheap: an `Arc` inside).
    pub fn keys(&self) -> KeySet {
        match self.current.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reloads if the last load is older than the reload interval (a minute), or when `kid` is not known here
    /// (a key rotated by another process). One reload runs at a time: for a stale set, the
    /// requests that find one under way go on with the keys they have; for an unknown
    /// kid, they wait for it and look again. A reload that finds the same keys keeps the
    /// parsed set, so a stream of tokens naming made-up kids costs one light query each,
    /// one at a time, not the parsing of every key.
    pub async fn refresh_if_needed(&self, kid: Option<&str>, now: i64) {
        let every = self.reload_every.load(Ordering::Relaxed);
        if now - self.loaded_at.load(Ordering::Relaxed) >= every {
            if let Ok(_turn) = self.reloading.try_lock() {
                if now - self.loaded_at.load(Ordering::Relaxed) >= every {
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
        let recent = |at: i64| now.saturating_sub(at) < UNKNOWN_KID_RELOAD_EVERY;
        if recent(self.unknown_kid_reload_at.load(Ordering::Relaxed)) {
            return;
        }
        let _turn = self.reloading.lock().await;
        if self.keys().get(kid).is_none() && !recent(self.unknown_kid_reload_at.load(Ordering::Relaxed)) {
            self.unknown_kid_reload_at.store(now, Ordering::Relaxed);
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
        self.reloads.fetch_add(1, Ordering::Relaxed);
        let stored = published(self.store.as_ref(), &self.kek, now).await?;
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

    /// How many times the keys were read again from the database since the first load.
    pub fn reloads(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    /// How many times a key set was built (every key parsed), the first load included.
    pub fn builds(&self) -> u64 {
        self.builds.load(Ordering::Relaxed)
    }
}

/// How long `tessera keys rotate` publishes a new key before it signs (the policy file's).
pub use tessera_core::policy::PUBLISH_BEFORE_SIGNING;

/// `tessera keys rotate`: a new key for `alg`, published at once and signing from
/// `signs_from` on; the previous ones sign until then, are retired at that moment and stay
/// published for [`MAX_TOKEN_LIFETIME`] after. Returns the new kid.
pub async fn rotate(
    store: &dyn Store,
    secret: &ServerSecret,
    alg: SigningAlg,
    signs_from: i64,
) -> anyhow::Result<String> {
    let kek = secret.sealer(KEK_LABEL);
    // The stored keys must open with this secret: a key added under another one (a CLI run
    // with the wrong secret) would stop the servers from loading their keys.
    all_keys(store, &kek).await?;
    let key = jwt::generate(alg, signs_from)?;
    store.insert_signing_key(&to_record(&key, &kek)?).await?;
    store.retire_signing_keys(alg.as_str(), &key.kid, signs_from).await?;
    Ok(key.kid)
}

/// What `tessera keys revoke` did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Revoked {
    pub kid: String,
    pub alg: String,
    /// The key that signs in its place, if the revoked one was signing.
    pub replaced_by: Option<String>,
}

/// `tessera keys revoke KID`, the emergency withdrawal of a key thought compromised: it is
/// no longer published nor trusted (its `retired_at` is set further back than any token
/// lives, so every server drops it at its next key reload, within a minute), and if it was
/// signing, a new key of its algorithm signs from now on. Tokens it signed stop verifying.
pub async fn revoke(store: &dyn Store, secret: &ServerSecret, kid: &str, now: i64) -> anyhow::Result<Revoked> {
    let record = store
        .signing_keys()
        .await?
        .into_iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| anyhow::anyhow!("no signing key {kid:?} (tessera keys list shows them)"))?;
    let alg: SigningAlg = record
        .alg
        .parse()
        .map_err(|_| anyhow::anyhow!("signing key {kid} has unknown alg {:?}", record.alg))?;
    let replaced_by = match record.retired_at {
        None => Some(rotate(store, secret, alg, now).await?),
        Some(_) => None,
    };
    let withdrawn_at = now.saturating_sub(MAX_TOKEN_LIFETIME + 1);
    store.set_signing_key_retired_at(kid, withdrawn_at).await?;
    Ok(Revoked {
        kid: kid.to_owned(),
        alg: alg.as_str().to_owned(),
        replaced_by,
    })
}

/// `tessera keys list`: every stored key, without key material.
pub async fn list(store: &dyn Store, now: i64) -> anyhow::Result<Vec<serde_json::Value>> {
    Ok(store
        .signing_keys()
        .await?
        .into_iter()
        .map(|k| {
            let state = match k.retired_at {
                None if k.created_at > now => "published, signs from created_at",
                None => "active",
                Some(at) if at > now => "active until retired_at",
                Some(at) if now < at.saturating_add(MAX_TOKEN_LIFETIME) => "retired (still verifies)",
                Some(_) => "withdrawn",
            };
            serde_json::json!({
                "kid": k.kid,
                "alg": k.alg,
                "created_at": k.created_at,
                "retired_at": k.retired_at,
                "state": state,
                "encrypted": Sealer::is_sealed(&k.private_der),
            })
        })
        .collect())
}
