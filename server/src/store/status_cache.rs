//! Answers of [`access_token_status`](tessera_core::store::OAuthStore::access_token_status),
//! kept while nothing that could change them has been written.
//!
//! Introspection and the sample resource ask, on every request, whether the token (or its
//! grant) was revoked and whether its user still exists and is enabled. With signatures
//! already cached (`crypto::verify`), that database round trip was half of such a
//! request's cost, and its answer almost never changes.
//!
//! Freshness, two counters:
//! - the database's `status_epoch` row, which triggers bump on every write that can end a
//!   token early — an access token revoked, a family revoked (or created revoked), any
//!   change to a user — whoever writes it: this process, another instance on the same
//!   PostgreSQL, or the CLI (migrations `0005_status_epoch.sql`);
//! - a counter in this process, bumped by the store's own such writes once they return
//!   (`cached.rs`), so that this process sees them at its next request without waiting for
//!   a read of the row.
//!
//! An answer is stored with both counters as they were *before* its query ran, and used
//! only while both are unchanged and the row was read less than [`POLL`] ago. When it is
//! older, one request reads it again (the others meanwhile go to the database, uncached).
//! So a revocation through this process takes effect at once, and one through any other
//! process within [`POLL`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use tessera_core::store::AccessTokenStatus;

/// How old the last read of the database's counter may be for cached answers to be used:
/// the longest a revocation made by another process goes unseen here.
pub const POLL: Duration = Duration::from_millis(100);
/// Bound on entries (~0.3 KB each). Past it, answers of older generations go, and if that is
/// not enough, all of them.
const MAX_ENTRIES: usize = 8192;

/// The two counters an answer was read under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation {
    db: u64,
    local: u64,
}

struct Entry {
    family_id: Option<String>,
    user_id: Option<String>,
    generation: Generation,
    status: AccessTokenStatus,
}

pub struct StatusCache {
    /// By the token's `jti`.
    entries: RwLock<HashMap<String, Entry>>,
    /// The database counter as last read.
    db: AtomicU64,
    /// This process's own invalidating writes.
    local: AtomicU64,
    epoch: Instant,
    /// When the read that set `db` started, in µs since `epoch`, plus one (0: never).
    read_at: AtomicU64,
    /// A request is reading the database counter now.
    reading: AtomicBool,
}

impl Default for StatusCache {
    fn default() -> Self {
        StatusCache {
            entries: RwLock::default(),
            db: AtomicU64::new(0),
            local: AtomicU64::new(0),
            epoch: Instant::now(),
            read_at: AtomicU64::new(0),
            reading: AtomicBool::new(false),
        }
    }
}

/// The right to read the database counter, held by one request at a time; dropping it
/// unread (the request went away) frees it for the next one.
pub struct CounterRead<'a> {
    cache: &'a StatusCache,
    started: u64,
}

impl CounterRead<'_> {
    /// The value read from `status_epoch`.
    pub fn finish(self, n: i64) {
        // Counter first, then its time: whoever sees the time sees this counter (or newer).
        self.cache.db.store(n as u64, Ordering::Release);
        self.cache.read_at.store(self.started, Ordering::Release);
    }
}

impl Drop for CounterRead<'_> {
    fn drop(&mut self) {
        self.cache.reading.store(false, Ordering::Release);
    }
}

impl StatusCache {
    fn micros(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX - 1) + 1
    }

    /// The counters to stamp a database read with, if the database's was read recently
    /// enough for cached answers to be trusted; `None` otherwise.
    pub fn generation(&self) -> Option<Generation> {
        let read_at = self.read_at.load(Ordering::Acquire);
        if read_at == 0 || self.micros().saturating_sub(read_at) >= POLL.as_micros() as u64 {
            return None;
        }
        Some(self.counters())
    }

    /// Both counters as they are now.
    fn counters(&self) -> Generation {
        Generation {
            db: self.db.load(Ordering::Acquire),
            local: self.local.load(Ordering::Acquire),
        }
    }

    /// The right to read the database counter now, unless another request is at it.
    pub fn start_counter_read(&self) -> Option<CounterRead<'_>> {
        self.reading
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()?;
        Some(CounterRead {
            cache: self,
            started: self.micros(),
        })
    }

    /// The answer for `jti` read under `generation`, if there is one.
    pub fn get(
        &self,
        jti: &str,
        family_id: Option<&str>,
        user_id: Option<&str>,
        generation: Generation,
    ) -> Option<AccessTokenStatus> {
        let entries = self.entries.read().ok()?;
        let hit = entries.get(jti)?;
        if hit.generation != generation || hit.family_id.as_deref() != family_id || hit.user_id.as_deref() != user_id {
            return None;
        }
        Some(hit.status.clone())
    }

    /// Keeps an answer the database gave after `generation` was taken.
    pub fn put(
        &self,
        jti: &str,
        family_id: Option<&str>,
        user_id: Option<&str>,
        generation: Generation,
        status: &AccessTokenStatus,
    ) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        // Something was written while the query ran: the answer may be from before it.
        if self.counters() != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.generation == generation);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            jti.to_owned(),
            Entry {
                family_id: family_id.map(str::to_owned),
                user_id: user_id.map(str::to_owned),
                generation,
                status: status.clone(),
            },
        );
    }

    /// This process wrote something that may end tokens early: no answer from before counts.
    pub fn invalidate(&self) {
        self.local.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> AccessTokenStatus {
        AccessTokenStatus {
            revoked: false,
            user: None,
        }
    }

    fn read_counter(cache: &StatusCache, n: i64) -> Generation {
        cache.start_counter_read().expect("free").finish(n);
        cache.generation().expect("fresh")
    }

    #[test]
    fn nothing_is_trusted_before_the_counter_is_read() {
        let cache = StatusCache::default();
        assert_eq!(cache.generation(), None);
        let g = read_counter(&cache, 7);
        cache.put("a", None, None, g, &live());
        assert_eq!(cache.get("a", None, None, g), Some(live()));
    }

    #[test]
    fn a_local_write_or_a_new_database_counter_retires_every_answer() {
        let cache = StatusCache::default();
        let g = read_counter(&cache, 1);
        cache.put("a", Some("f"), Some("u"), g, &live());
        cache.invalidate();
        let after_local = cache.generation().unwrap();
        assert_ne!(after_local, g);
        assert_eq!(cache.get("a", Some("f"), Some("u"), after_local), None);

        let g = read_counter(&cache, 1);
        cache.put("a", Some("f"), Some("u"), g, &live());
        assert!(cache.get("a", Some("f"), Some("u"), g).is_some());
        // Same counter read again: still good. Another process wrote: gone.
        assert_eq!(read_counter(&cache, 1), g);
        let bumped = read_counter(&cache, 2);
        assert_eq!(cache.get("a", Some("f"), Some("u"), bumped), None);
    }

    #[test]
    fn an_answer_is_for_the_family_and_user_it_was_asked_with() {
        let cache = StatusCache::default();
        let g = read_counter(&cache, 0);
        cache.put("a", Some("f"), Some("u"), g, &live());
        assert_eq!(cache.get("a", Some("other"), Some("u"), g), None);
        assert_eq!(cache.get("a", Some("f"), None, g), None);
        assert_eq!(cache.get("b", Some("f"), Some("u"), g), None);
    }

    #[test]
    fn a_counter_older_than_poll_stops_the_cache_until_read_again() {
        let cache = StatusCache::default();
        let g = read_counter(&cache, 3);
        cache.put("a", None, None, g, &live());
        std::thread::sleep(POLL + Duration::from_millis(20));
        assert_eq!(cache.generation(), None);
        // One reader at a time; a reader that goes away frees the turn.
        let turn = cache.start_counter_read().unwrap();
        assert!(cache.start_counter_read().is_none());
        drop(turn);
        assert_eq!(read_counter(&cache, 3), g);
        assert!(cache.get("a", None, None, g).is_some());
    }

    #[test]
    fn the_bound_keeps_current_answers_first() {
        let cache = StatusCache::default();
        let old = read_counter(&cache, 0);
        for i in 0..MAX_ENTRIES - 1 {
            cache.put(&format!("old-{i}"), None, None, old, &live());
        }
        let g = read_counter(&cache, 1);
        cache.put("new", None, None, g, &live());
        assert_eq!(cache.entries.read().unwrap().len(), MAX_ENTRIES);
        cache.put("newer", None, None, g, &live());
        let entries = cache.entries.read().unwrap();
        assert_eq!(entries.len(), 2);
        assert!(entries.contains_key("new") && entries.contains_key("newer"));
    }
}
