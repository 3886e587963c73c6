//! Pooled connections handed from one query to the next without going back to the pool.
//!
//! sqlx returns a connection to its pool by spawning a task that pings it first (sqlx
//! 0.8, `PoolConnection::return_to_pool`): on PostgreSQL one more network round trip per
//! query, on SQLite one more hop to and from the connection's own thread. Under load that
//! was the largest cost after cryptography in the token and introspection paths. The store
//! therefore keeps up to `keep` connections checked out between queries and lends them
//! from here; only connections beyond that go back through the pool (and its ping).
//!
//! Why skipping the ping is safe: it checks that a connection is still usable and flushes
//! what an interrupted operation left behind. A connection lent from here is used again
//! only through sqlx, which does the same flush before its next statement (PostgreSQL
//! waits for outstanding replies; SQLite's worker thread runs commands in order), and a
//! connection that fails reports the error to that caller. An error that says a
//! connection broke (I/O, TLS, protocol, a dead SQLite worker) retires every kept
//! connection, the failing one included: they go back through the pool, whose ping closes
//! the broken ones. `keep` stays below the pool's size, so the session store, transactions
//! and migrations always find connections in the pool.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool};

pub struct Warm<DB: Database> {
    pool: Pool<DB>,
    idle: Mutex<Vec<PoolConnection<DB>>>,
    keep: usize,
    /// Bumped when a connection broke: leases from before are not kept again.
    generation: AtomicU64,
}

impl<DB: Database> Warm<DB> {
    /// Lends connections of `pool`, keeping at most `keep` of them between uses.
    pub fn new(pool: Pool<DB>, keep: usize) -> Warm<DB> {
        Warm {
            pool,
            idle: Mutex::new(Vec::with_capacity(keep)),
            keep,
            generation: AtomicU64::new(0),
        }
    }

    /// A kept connection if one is free, else one from the pool.
    pub async fn conn(&self) -> Result<Lease<'_, DB>, sqlx::Error> {
        let generation = self.generation.load(Ordering::Acquire);
        let kept = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match kept {
            Some(conn) => conn,
            None => self.pool.acquire().await?,
        };
        Ok(Lease {
            conn: Some(conn),
            home: self,
            generation,
        })
    }

    /// Passes a driver error through; one that says a connection broke retires every
    /// kept connection and every lease out now.
    pub fn saw(&self, e: sqlx::Error) -> sqlx::Error {
        let broken = matches!(
            e,
            sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::PoolClosed
        );
        if broken {
            // Under the lock, so that no lease from before is put back after the drain.
            let retired: Vec<_> = match self.idle.lock() {
                Ok(mut idle) => {
                    self.generation.fetch_add(1, Ordering::AcqRel);
                    idle.drain(..).collect()
                }
                Err(_) => Vec::new(),
            };
            drop(retired); // back to the pool, outside the lock
        }
        e
    }

    /// How many connections are kept right now (for tests).
    pub fn kept(&self) -> usize {
        self.idle.lock().map(|idle| idle.len()).unwrap_or(0)
    }
}

/// A lent connection; dereferences to the driver's connection, which is an executor.
pub struct Lease<'a, DB: Database> {
    /// `None` only inside `drop`.
    conn: Option<PoolConnection<DB>>,
    home: &'a Warm<DB>,
    generation: u64,
}

impl<DB: Database> Deref for Lease<'_, DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        match &self.conn {
            Some(conn) => conn,
            None => unreachable!("a lease holds its connection until dropped"),
        }
    }
}

impl<DB: Database> DerefMut for Lease<'_, DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match &mut self.conn {
            Some(conn) => conn,
            None => unreachable!("a lease holds its connection until dropped"),
        }
    }
}

impl<DB: Database> Drop for Lease<'_, DB> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if let Ok(mut idle) = self.home.idle.lock() {
            let current = self.home.generation.load(Ordering::Acquire) == self.generation;
            if current && idle.len() < self.home.keep {
                idle.push(conn);
                return;
            }
        }
        // Retired or not needed: back to the pool the usual way (with its ping), after the
        // lock is released.
        drop(conn);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::time::Duration;

    use sqlx::sqlite::SqlitePoolOptions;
    use sqlx::Sqlite;

    use super::*;

    async fn pool(max: u32) -> Pool<Sqlite> {
        SqlitePoolOptions::new()
            .max_connections(max)
            .connect("sqlite::memory:")
            .await
            .unwrap()
    }

    async fn answer(warm: &Warm<Sqlite>, n: i64) -> i64 {
        sqlx::query_scalar("SELECT $1")
            .bind(n)
            .fetch_one(&mut *warm.conn().await.unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn connections_are_kept_up_to_the_limit_and_lent_again() {
        let pool = pool(4).await;
        let warm = Warm::new(pool.clone(), 2);
        assert_eq!(answer(&warm, 7).await, 7);
        assert_eq!(warm.kept(), 1);
        // Kept connections stay checked out of the pool: one in use from its view.
        assert_eq!(pool.size() - pool.num_idle() as u32, 1);
        let (a, b, c) = (
            warm.conn().await.unwrap(),
            warm.conn().await.unwrap(),
            warm.conn().await.unwrap(),
        );
        assert_eq!(warm.kept(), 0);
        drop((a, b, c));
        assert_eq!(warm.kept(), 2, "at most `keep`; the third went back to the pool");
        assert_eq!(answer(&warm, 8).await, 8);
        assert_eq!(warm.kept(), 2);
    }

    #[tokio::test]
    async fn a_broken_connection_retires_every_kept_one_and_the_leases_out() {
        let warm = Warm::new(pool(4).await, 4);
        let out = warm.conn().await.unwrap();
        drop((warm.conn().await.unwrap(), warm.conn().await.unwrap()));
        assert_eq!(warm.kept(), 2);
        // A database's answer (here: a syntax error) is not a broken connection.
        let refused = sqlx::query("SELEKT 1").execute(&mut *warm.conn().await.unwrap()).await;
        let refused = warm.saw(refused.unwrap_err());
        assert!(matches!(refused, sqlx::Error::Database(_)));
        assert_eq!(warm.kept(), 2);
        let broken = warm.saw(sqlx::Error::Io(std::io::Error::other("connection reset")));
        assert!(matches!(broken, sqlx::Error::Io(_)));
        assert_eq!(warm.kept(), 0);
        drop(out);
        assert_eq!(warm.kept(), 0, "a lease from before the break is not kept");
        assert_eq!(answer(&warm, 9).await, 9);
        assert_eq!(warm.kept(), 1, "leases after it are");
    }

    #[tokio::test]
    async fn a_query_abandoned_midway_leaves_the_connection_usable() {
        let warm = Warm::new(pool(1).await, 1);
        // A query that takes a while, dropped long before it finishes.
        let slow = async {
            sqlx::query_scalar::<_, i64>(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000000) \
                 SELECT COUNT(*) FROM n",
            )
            .fetch_one(&mut *warm.conn().await.unwrap())
            .await
        };
        assert!(tokio::time::timeout(Duration::from_millis(5), slow).await.is_err());
        assert_eq!(warm.kept(), 1, "the abandoned lease was kept");
        // The only connection there is: the next statement runs after the abandoned one.
        assert_eq!(answer(&warm, 10).await, 10);
    }
}
