//! One-time identifiers seen (`seen_jtis`): the replay check behind private_key_jwt
//! assertions and DPoP proofs, shared by every instance on the database.
//!
//! Group commit: every token request with an assertion or a proof records one identifier,
//! and one statement per request made concurrent requests queue for SQLite's write lock
//! (a sleep in the busy handler each time it was taken). Callers hand their identifier to
//! one writer task instead, which records whatever has queued up while its previous
//! statement ran, in one multi-row statement: alone, a caller waits for one statement as
//! before; under load, many share one. Each caller still learns whether *its* identifier
//! was new. Measured on SQLite, 32 concurrent callers, 20,000 identifiers: 19,400–33,700
//! recorded/s, against 10,700–11,400/s with one statement per caller.

use std::collections::HashSet;
use std::sync::OnceLock;

use sqlx::{PgPool, Postgres, QueryBuilder, Sqlite, SqlitePool};
use tessera_core::secret::hash_secret;
use tessera_core::store::StoreError;
use tokio::sync::{mpsc, oneshot};

use super::engine::{Engine, SqlStore};

/// The most identifiers one statement records (3 parameters each, far below either
/// engine's limit on parameters).
const MAX_BATCH: usize = 256;
/// Callers waiting for the writer at most; more wait to be queued (each is a request in
/// flight, which the server bounds anyway).
const QUEUE: usize = 4096;

/// One caller's identifier, and where its answer goes.
struct Pending {
    purpose: String,
    jti_hash: String,
    expires_at: i64,
    now: i64,
    reply: oneshot::Sender<Result<bool, StoreError>>,
}

/// The pool the writer task records on (a clone: the task outlives no store, but must own
/// what it uses).
#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The queue to the writer task, started on first use (from inside the runtime).
#[derive(Default)]
pub(super) struct ReplayWriter {
    queue: OnceLock<mpsc::Sender<Pending>>,
}

impl SqlStore {
    fn replay_pool(&self) -> Pool {
        match &self.engine {
            Engine::Sqlite { pool, .. } => Pool::Sqlite(pool.clone()),
            Engine::Postgres { pool, .. } => Pool::Postgres(pool.clone()),
        }
    }

    pub(super) async fn first_use(
        &self,
        purpose: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let queue = self.replay.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(write_batches(self.replay_pool(), rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            purpose: purpose.to_owned(),
            jti_hash: hash_secret(jti),
            expires_at,
            now,
            reply,
        };
        if queue.send(pending).await.is_err() {
            return Err(StoreError::Backend("the replay writer has stopped".into()));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(StoreError::Backend("the replay writer dropped a request".into())))
    }
}

/// The writer task: takes the first waiting identifier and every one queued behind it (up
/// to [`MAX_BATCH`]), records them in one statement, answers each caller; until the store
/// (and with it the queue's sender) is dropped.
async fn write_batches(pool: Pool, mut rx: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // One connection kept for the writer: on SQLite a connection that did not write the
    // last change drops its page cache and reads the pages back; this one stays warm.
    let mut conn: Option<Conn> = None;
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        if conn.is_none() {
            conn = pool.acquire().await;
        }
        let outcome = match conn.as_mut() {
            Some(c) => record(c, &batch).await,
            None => Err("no database connection for the replay writer".to_owned()),
        };
        let outcome = match outcome {
            Ok(answers) => answers,
            Err(e) => {
                // Whatever broke, the next batch starts on a fresh connection.
                conn = None;
                batch.iter().map(|_| Err(StoreError::Backend(e.clone()))).collect()
            }
        };
        for (pending, answer) in batch.drain(..).zip(outcome) {
            // A caller that went away (its request was cancelled) needs no answer.
            let _ = pending.reply.send(answer);
        }
    }
}

/// The writer's connection.
enum Conn {
    Sqlite(sqlx::pool::PoolConnection<Sqlite>),
    Postgres(sqlx::pool::PoolConnection<Postgres>),
}

impl Pool {
    async fn acquire(&self) -> Option<Conn> {
        let conn = match self {
            Pool::Sqlite(p) => p.acquire().await.map(Conn::Sqlite),
            Pool::Postgres(p) => p.acquire().await.map(Conn::Postgres),
        };
        conn.map_err(|e| tracing::warn!(error = %e, "replay writer: no connection"))
            .ok()
    }
}

/// Each identifier's answer, in order: `true` for the one caller that recorded it first.
async fn record(conn: &mut Conn, batch: &[Pending]) -> Result<Vec<Result<bool, StoreError>>, String> {
    // The same identifier twice in one batch: the first occurrence goes to the database
    // (one statement may not upsert a row twice), the others are replays whatever it says.
    let mut seen = HashSet::with_capacity(batch.len());
    let unique: Vec<&Pending> = batch
        .iter()
        .filter(|p| seen.insert((p.purpose.as_str(), p.jti_hash.as_str())))
        .collect();
    // An expired row may be taken over (its old use can no longer be replayed): as of
    // the earliest caller's clock, so no caller sees a row expire early.
    let now = batch.iter().map(|p| p.now).min().unwrap_or_default();
    let recorded = match conn {
        Conn::Sqlite(conn) => {
            let mut q = QueryBuilder::<Sqlite>::new(INSERT);
            q.push_values(&unique, |mut row, p| {
                row.push_bind(&p.purpose).push_bind(&p.jti_hash).push_bind(p.expires_at);
            });
            q.push(UPSERT).push_bind(now).push(RETURNING);
            q.build_query_as::<(String, String)>().fetch_all(&mut **conn).await
        }
        Conn::Postgres(conn) => {
            let mut q = QueryBuilder::<Postgres>::new(INSERT);
            q.push_values(&unique, |mut row, p| {
                row.push_bind(&p.purpose).push_bind(&p.jti_hash).push_bind(p.expires_at);
            });
            q.push(UPSERT).push_bind(now).push(RETURNING);
            q.build_query_as::<(String, String)>().fetch_all(&mut **conn).await
        }
    };
    let recorded = recorded.map_err(|e| e.to_string())?;
    let mut won: HashSet<(&str, &str)> = recorded.iter().map(|(p, h)| (p.as_str(), h.as_str())).collect();
    // Only the first caller of a key takes the database's answer: taking it removes it.
    Ok(batch
        .iter()
        .map(|p| Ok(won.remove(&(p.purpose.as_str(), p.jti_hash.as_str()))))
        .collect())
}

// One statement: a new identifier is inserted; a remembered one is taken over only if it
// has expired, which returns a row too; a live one conflicts, updates nothing and returns
// none. Of concurrent callers on any instance exactly one gets the row.
const INSERT: &str = "INSERT INTO seen_jtis (purpose, jti_hash, expires_at) ";
const UPSERT: &str = " ON CONFLICT (purpose, jti_hash) DO UPDATE SET expires_at = excluded.expires_at \
                      WHERE seen_jtis.expires_at <= ";
const RETURNING: &str = " RETURNING purpose, jti_hash";
