//! Registered clients, kept in memory for a few seconds. The token, introspection and
//! revocation endpoints authenticate a client on every request; without this, looking the
//! client up costs more than signing the token.
//!
//! Freshness: every change made through this process's store (admin console, demo set-up)
//! drops the entry at once (`cached.rs` does, after each such write). A change made by another process — the CLI, or another instance
//! on the same PostgreSQL — reaches this one within [`TTL`]. Unknown ids are not cached, so
//! a client created elsewhere is usable immediately.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use tessera_core::store::Client;

/// How long a client read from the database is trusted.
pub const TTL: Duration = Duration::from_secs(5);
/// Bound on entries; past it, expired ones go, and if that is not enough, all of them.
const MAX_ENTRIES: usize = 4096;

#[derive(Default)]
pub struct ClientCache {
    entries: RwLock<HashMap<String, (Instant, Client)>>,
    /// Bumped by every invalidation, so that a read that raced a change does not put the
    /// old row back.
    generation: AtomicU64,
}

impl ClientCache {
    pub fn get(&self, client_id: &str) -> Option<Client> {
        let entries = self.entries.read().ok()?;
        let (at, client) = entries.get(client_id)?;
        (at.elapsed() < TTL).then(|| client.clone())
    }

    /// Whether `client_id` is cached and fresh, without copying it.
    pub fn contains(&self, client_id: &str) -> bool {
        self.entries
            .read()
            .is_ok_and(|entries| entries.get(client_id).is_some_and(|(at, _)| at.elapsed() < TTL))
    }

    /// Where a database read starts: pass the result to [`Self::put`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches `client` as read from the database, unless some client changed since
    /// `generation` was taken.
    pub fn put(&self, client: &Client, generation: u64) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (at, _)| at.elapsed() < TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(client.client_id.clone(), (Instant::now(), client.clone()));
    }

    /// A client changed (or went): forget it, and refuse puts from reads already under way.
    pub fn forget(&self, client_id: &str) {
        let mut entries = match self.entries.write() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(client_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::store::ClientSettings;
    use tessera_core::types::ScopeSet;

    fn client(id: &str, name: &str) -> Client {
        Client {
            client_id: id.into(),
            name: name.into(),
            secret_hash: Some("h".into()),
            is_public: false,
            redirect_uris: vec![],
            scopes: ScopeSet::default(),
            created_at: 0,
            settings: ClientSettings::default(),
        }
    }

    #[test]
    fn caches_until_forgotten() {
        let cache = ClientCache::default();
        assert!(cache.get("c1").is_none());
        cache.put(&client("c1", "one"), cache.generation());
        assert_eq!(cache.get("c1").unwrap().name, "one");
        assert!(cache.contains("c1") && !cache.contains("c2"));
        cache.forget("c1");
        assert!(cache.get("c1").is_none());
        assert!(!cache.contains("c1"));
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_cached() {
        let cache = ClientCache::default();
        let before = cache.generation();
        // The row is read (old name), then another task changes the client...
        cache.forget("c1");
        // ...and the stale read must not land.
        cache.put(&client("c1", "old"), before);
        assert!(cache.get("c1").is_none());
        cache.put(&client("c1", "new"), cache.generation());
        assert_eq!(cache.get("c1").unwrap().name, "new");
    }

    #[test]
    fn stays_bounded() {
        let cache = ClientCache::default();
        for i in 0..(MAX_ENTRIES + 10) {
            cache.put(&client(&format!("c{i}"), "x"), cache.generation());
        }
        assert!(cache.entries.read().unwrap().len() <= MAX_ENTRIES);
        assert!(cache.get(&format!("c{}", MAX_ENTRIES + 9)).is_some());
    }
}
