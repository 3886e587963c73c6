//! Opening a database: the pool for SQLite (with Tessera's busy handler) or PostgreSQL,
//! and the migrations of each.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Sqlite};
use tessera_core::store::StoreError;

use super::warm::Warm;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// The core's storage traits' SQL, on whichever engine was opened. Its methods live in
/// one file per table (`users.rs`, `clients.rs`, ...); [`super::cached::CachedStore`]
/// puts the caches in front and implements the traits.
pub(crate) struct SqlStore {
    pub(super) engine: Engine,
    /// The group-commit writer of one-time identifiers (`replay.rs`).
    pub(super) replay: super::replay::ReplayWriter,
}

/// The open engine. Queries go through `warm`, which keeps connections between them;
/// transactions take theirs from `pool`.
pub(super) enum Engine {
    Sqlite { pool: SqlitePool, warm: Warm<Sqlite> },
    Postgres { pool: PgPool, warm: Warm<Postgres> },
}

impl SqlStore {
    pub(super) fn sqlite(pool: SqlitePool) -> SqlStore {
        SqlStore {
            engine: Engine::Sqlite {
                // 12 of 16 kept: 8% more refreshes and 7% more code flows per second than
                // 4 of 8 (fewer queries paying the pool's return ping), 1.6 MiB more RSS.
                warm: Warm::new(pool.clone(), 12),
                pool,
            },
            replay: Default::default(),
        }
    }

    pub(super) fn postgres(pool: PgPool) -> SqlStore {
        SqlStore {
            engine: Engine::Postgres {
                warm: Warm::new(pool.clone(), 8),
                pool,
            },
            replay: Default::default(),
        }
    }

    /// "sqlite" or "postgres".
    pub(super) fn backend(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite { .. } => "sqlite",
            Engine::Postgres { .. } => "postgres",
        }
    }

    /// One round trip, for readiness checks.
    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        self.execute("SELECT 1", ()).await?;
        Ok(())
    }
}

/// A SQLite pool on `url`, its schema brought up to date; `shown` names it in errors.
pub(super) async fn sqlite(url: &str, shown: &str) -> anyhow::Result<SqlitePool> {
    let pool = open_sqlite(url)
        .await
        .with_context(|| format!("cannot open database {shown}"))?;
    SQLITE_MIGRATIONS
        .run(&pool)
        .await
        .with_context(|| format!("cannot migrate database {shown}"))?;
    Ok(pool)
}

/// A PostgreSQL pool on `url`, its schema brought up to date; `shown` names it in errors.
pub(super) async fn postgres(url: &str, shown: &str) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(url).with_context(|| format!("invalid database URL {shown}"))?;
    // No ping before every acquire (sqlx's default): it doubles the round trips of each
    // query. A connection the server dropped fails its next query and is discarded.
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .min_connections(1)
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .with_context(|| format!("cannot connect to database {shown}"))?;
    POSTGRES_MIGRATIONS
        .run(&pool)
        .await
        .with_context(|| format!("cannot migrate database {shown}"))?;
    Ok(pool)
}

async fn open_sqlite(url: &str) -> anyhow::Result<SqlitePool> {
    let mut options = SqliteConnectOptions::from_str(url)?;
    if !url.contains("mode=ro") {
        options = options.create_if_missing(true);
    }
    let options = options
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // Copy the WAL back into the database file (and fsync both) every 10,000 pages,
        // ~40 MB, instead of SQLite's 1,000: a page rewritten by many commits in between
        // is copied once, and the fsyncs come a tenth as often. Refresh +5%, code flow
        // +7% (alternating benchmark runs); 100,000 gained nothing more. A clean shutdown
        // still checkpoints and removes the WAL.
        .pragma("wal_autocheckpoint", "10000");
    // Create the directory of a file database, so the default `data/tessera.db` just works.
    let path = options.get_filename();
    if path != std::path::Path::new(":memory:") {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create directory {}", dir.display()))?;
        }
    }
    // An embedded file cannot go away under a connection: no ping before every acquire
    // (sqlx's default), which would be one more hop to the connection's thread per query.
    let pool = SqlitePoolOptions::new()
        .max_connections(16)
        .min_connections(1)
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|conn, _| {
            Box::pin(async move {
                let mut handle = conn.lock_handle().await?;
                let db = handle.as_raw_handle().as_ptr();
                // SAFETY: `db` is this open connection, held exclusively through `handle`
                // for the call; the handler is a plain function that keeps no state.
                let rc = unsafe { libsqlite3_sys::sqlite3_busy_handler(db, Some(busy_wait), std::ptr::null_mut()) };
                if rc != libsqlite3_sys::SQLITE_OK {
                    return Err(sqlx::Error::Protocol(format!("sqlite3_busy_handler failed: {rc}")));
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// SQLite's busy handler for Tessera's connections: when another connection holds the
/// write lock, wait 200 µs, doubling to at most 3.2 ms, and give up after about 10 s (as the
/// `busy_timeout` it replaces). SQLite's own handler sleeps 1, 2, 5, 10, 15, 20, 25, 25...
/// ms, so a writer that found the lock taken slept up to 25 ms or more even when the lock
/// was free again 100 µs later. Measured on 32 concurrent refreshes: p99 54–60 → 31–32 ms,
/// p50 5.7 → 6.7 ms (fairer, same mean), throughput unchanged; the code flow's p99 28 → 22 ms.
extern "C" fn busy_wait(_: *mut std::ffi::c_void, attempt: std::ffi::c_int) -> std::ffi::c_int {
    match busy_wait_micros(attempt) {
        Some(micros) => {
            BUSY_WAITS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            std::thread::sleep(Duration::from_micros(micros));
            1
        }
        None => 0,
    }
}

/// How long the `attempt`-th wait for a busy database lasts; `None`: give up.
fn busy_wait_micros(attempt: std::ffi::c_int) -> Option<u64> {
    const GIVE_UP_AFTER: std::ffi::c_int = 3_100;
    (0..GIVE_UP_AFTER)
        .contains(&attempt)
        .then(|| 200u64 << attempt.clamp(0, 4))
}

/// How many times a connection has waited for another's write lock (all pools).
static BUSY_WAITS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_waits_grow_to_a_few_milliseconds_and_give_up_after_about_ten_seconds() {
        assert_eq!(busy_wait_micros(0), Some(200));
        assert_eq!(busy_wait_micros(1), Some(400));
        assert_eq!(busy_wait_micros(4), Some(3200));
        assert_eq!(busy_wait_micros(1000), Some(3200));
        let total: u64 = (0..).map_while(busy_wait_micros).sum();
        assert!((9_000_000..11_000_000).contains(&total), "{total} µs");
        assert_eq!(busy_wait_micros(-1), None);
    }

    /// A writer that finds the write lock taken waits in Tessera's handler, and gets
    /// through once the other connection commits.
    #[tokio::test]
    async fn a_blocked_writer_waits_in_our_busy_handler_then_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        let pool = open_sqlite(&url).await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)").execute(&pool).await.unwrap();

        let mut holder = pool.acquire().await.unwrap();
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *holder).await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut *holder)
            .await
            .unwrap();
        let waits_before = BUSY_WAITS.load(std::sync::atomic::Ordering::Relaxed);
        let writer = {
            let pool = pool.clone();
            tokio::spawn(async move { sqlx::query("INSERT INTO t VALUES (2)").execute(&pool).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!writer.is_finished(), "the second writer waits for the lock");
        sqlx::query("COMMIT").execute(&mut *holder).await.unwrap();
        writer.await.unwrap().unwrap();
        assert!(BUSY_WAITS.load(std::sync::atomic::Ordering::Relaxed) > waits_before);
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 2);
        drop(holder);
        pool.close().await;
    }
}
