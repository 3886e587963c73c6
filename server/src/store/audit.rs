//! The audit log (`audit_events`): one insert per event, the console's filtered listing
//! newest first, and the janitor's deletion of events past their retention.

use tessera_core::audit::{Event, Filter, NewEvent};
use tessera_core::store::StoreError;

use super::engine::SqlStore;

/// Rows deleted per statement by [`SqlStore::purge_events`] (short write transactions).
const BATCH: u64 = 500;

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    at: i64,
    kind: String,
    actor_id: Option<String>,
    actor_name: Option<String>,
    client_id: Option<String>,
    subject: Option<String>,
    address: Option<String>,
    detail: String,
}

impl SqlStore {
    pub(super) async fn record_event(&self, e: &NewEvent) -> Result<(), StoreError> {
        let (actor_id, actor_name) = e.actor.columns();
        self.execute(
            "INSERT INTO audit_events (at, kind, actor_id, actor_name, client_id, subject, address, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            (
                e.at,
                e.kind.as_str(),
                actor_id,
                actor_name,
                e.client_id.as_deref(),
                e.subject.as_deref(),
                e.address.as_deref(),
                e.detail.as_str(),
            ),
        )
        .await?;
        Ok(())
    }

    pub(super) async fn events(&self, f: &Filter) -> Result<Vec<Event>, StoreError> {
        // One statement for every combination of filters: an unset one is NULL and
        // matches everything. Newest first is the primary key backwards.
        let rows: Vec<EventRow> = self
            .all(
                "SELECT id, at, kind, actor_id, actor_name, client_id, subject, address, detail \
                 FROM audit_events \
                 WHERE ($1 IS NULL OR kind = $1) \
                   AND ($2 IS NULL OR actor_name = $2 OR subject = $2) \
                   AND ($3 IS NULL OR client_id = $3) \
                   AND ($4 IS NULL OR at >= $4) \
                   AND ($5 IS NULL OR id < $5) \
                 ORDER BY id DESC LIMIT $6",
                (
                    f.kind.map(|k| k.as_str()),
                    f.user.as_deref(),
                    f.client_id.as_deref(),
                    f.since,
                    f.before_id,
                    f.limit.max(0),
                ),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| Event {
                id: r.id,
                at: r.at,
                kind: r.kind,
                actor_id: r.actor_id,
                actor_name: r.actor_name,
                client_id: r.client_id,
                subject: r.subject,
                address: r.address,
                detail: r.detail,
            })
            .collect())
    }

    pub(super) async fn purge_events(&self, before: i64) -> Result<u64, StoreError> {
        let sql = format!(
            "DELETE FROM audit_events WHERE id IN \
             (SELECT id FROM audit_events WHERE at < $1 LIMIT {BATCH})"
        );
        let mut total = 0;
        loop {
            let done = self.execute(&sql, (before,)).await?;
            total += done;
            if done < BATCH {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }
}
