//! Recording an audit event (`tessera_core::audit`): one `tessera::audit` log line (so
//! `--log-format json` carries every event, machine-readable) and one row in the store.
//!
//! Best-effort: the write is awaited, so tests see the row once the action has answered,
//! but its failure is logged at error level and never fails the action it describes. Only
//! rare paths record: sign-in, account and console actions, and at the token endpoint
//! only the reuse of a code or refresh token, never a normal exchange.

use tessera_core::audit::NewEvent;
use tessera_core::store::AuditStore;

/// Logs `event` and stores it; a storage failure is logged, not returned.
pub async fn record<S: AuditStore + ?Sized>(store: &S, event: NewEvent) {
    let (actor_id, actor) = event.actor.columns();
    tracing::info!(
        target: "tessera::audit",
        kind = event.kind.as_str(),
        actor = actor.unwrap_or("-"),
        actor_id,
        client_id = event.client_id.as_deref(),
        subject = event.subject.as_deref(),
        address = event.address.as_deref(),
        detail = %event.detail,
        "audit event"
    );
    if let Err(e) = store.record_event(&event).await {
        tracing::error!(target: "tessera::audit", kind = event.kind.as_str(), error = %e, "audit event not stored");
    }
}

/// `json` as a string, for [`NewEvent::detail`].
pub fn detail(json: serde_json::Value) -> String {
    json.to_string()
}
