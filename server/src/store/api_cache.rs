//! The registered APIs, kept in memory for a few seconds. The token endpoint looks an API
//! up on every request that names a `resource` (RFC 8707); there are few APIs and they
//! rarely change, so the whole table is cached as one map: a lookup, known identifier or
//! not, costs no query while the map is fresh (unknown identifiers from anonymous callers
//! included).
//!
//! Freshness: every change made through this process's store drops the map at once
//! (`cached.rs` does, after each such write). A change made by another process — the CLI,
//! or another instance on the same PostgreSQL — reaches this one within [`TTL`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tessera_core::store::Api;

/// How long the table read from the database is trusted (the client cache's TTL).
pub const TTL: Duration = super::client_cache::TTL;

/// Every registered API, by identifier.
pub type ApiMap = Arc<HashMap<String, Api>>;

#[derive(Default)]
pub struct ApiCache {
    map: RwLock<Option<(Instant, ApiMap)>>,
    /// Bumped by every invalidation, so that a read that raced a change does not put the
    /// old table back.
    generation: AtomicU64,
}

impl ApiCache {
    /// The table, if read less than [`TTL`] ago.
    pub fn get(&self) -> Option<ApiMap> {
        let map = self.map.read().ok()?;
        let (at, apis) = map.as_ref()?;
        (at.elapsed() < TTL).then(|| apis.clone())
    }

    /// Where a database read starts: pass the result to [`Self::put`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches the table as read from the database, unless an API changed since
    /// `generation` was taken. Returns it as a map either way.
    pub fn put(&self, apis: Vec<Api>, generation: u64) -> ApiMap {
        let map: ApiMap = Arc::new(apis.into_iter().map(|a| (a.identifier.clone(), a)).collect());
        if let Ok(mut slot) = self.map.write() {
            if self.generation.load(Ordering::Acquire) == generation {
                *slot = Some((Instant::now(), map.clone()));
            }
        }
        map
    }

    /// An API changed (or went): forget the table, and refuse puts from reads under way.
    pub fn forget(&self) {
        let mut slot = match self.map.write() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        self.generation.fetch_add(1, Ordering::AcqRel);
        *slot = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::model::SigningAlg;
    use tessera_core::store::ApiSettings;
    use tessera_core::types::ScopeSet;

    fn api(id: &str, name: &str) -> Api {
        Api {
            identifier: id.into(),
            settings: ApiSettings {
                name: name.into(),
                scopes: ScopeSet::default(),
                access_token_alg: SigningAlg::ES256,
                access_token_ttl: 600,
            },
            created_at: 0,
        }
    }

    #[test]
    fn caches_until_forgotten() {
        let cache = ApiCache::default();
        assert!(cache.get().is_none());
        let map = cache.put(vec![api("urn:a", "A")], cache.generation());
        assert_eq!(map["urn:a"].settings.name, "A");
        assert_eq!(cache.get().unwrap()["urn:a"].settings.name, "A");
        assert!(
            !cache.get().unwrap().contains_key("urn:b"),
            "unknown: answered from the map"
        );
        cache.forget();
        assert!(cache.get().is_none());
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_cached() {
        let cache = ApiCache::default();
        let before = cache.generation();
        cache.forget();
        let map = cache.put(vec![api("urn:a", "old")], before);
        assert_eq!(map["urn:a"].settings.name, "old", "the caller still gets its read");
        assert!(cache.get().is_none());
        cache.put(vec![api("urn:a", "new")], cache.generation());
        assert_eq!(cache.get().unwrap()["urn:a"].settings.name, "new");
    }
}
