//! The console's audit log (`/admin/audit`): the newest events first, a page at a time,
//! filtered by kind, user (actor or subject), client and a first day. Read-only.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;
use super::Gate;

/// One event as the table shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    /// `YYYY-MM-DD HH:MM:SS`, UTC.
    pub time: String,
    pub kind: String,
    /// The actor's name, or "anonymous".
    pub actor: String,
    pub subject: String,
    pub client_id: String,
    pub address: String,
    pub detail: String,
}

/// A page of the log and the filters it was read with (echoed into the form).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLog {
    pub rows: Vec<AuditRow>,
    /// Every kind name, for the filter's options.
    pub kinds: Vec<String>,
    pub kind: String,
    pub user: String,
    pub client_id: String,
    pub since: String,
    /// A filter that could not be read; then no events are listed (an unfiltered list
    /// could be mistaken for the filtered one).
    pub error: Option<String>,
    /// The link to the next, older page, if there is one.
    pub older: Option<String>,
}

/// `before` is the id the previous page ended at ("older" paging); every parameter may be
/// empty.
#[server(prefix = "/ui", endpoint = "admin/audit")]
pub async fn admin_audit(
    #[server(default)] kind: String,
    #[server(default)] user: String,
    #[server(default)] client_id: String,
    #[server(default)] since: String,
    #[server(default)] before: String,
) -> Result<Gate<AuditLog>, ServerFnError> {
    use tessera_core::audit::{parse_date, utc_timestamp, Filter, Kind};
    use tessera_core::policy::AUDIT_PAGE_SIZE;
    let (a, flash) = match ssr::page().await? {
        Ok(x) => x,
        Err(gate) => return Ok(gate),
    };
    let trimmed = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let mut log = AuditLog {
        kinds: Kind::names().into_iter().map(String::from).collect(),
        kind: kind.trim().to_owned(),
        user: user.trim().to_owned(),
        client_id: client_id.trim().to_owned(),
        since: since.trim().to_owned(),
        ..Default::default()
    };
    let mut filter = Filter {
        user: trimmed(&user),
        client_id: trimmed(&client_id),
        limit: AUDIT_PAGE_SIZE + 1,
        ..Default::default()
    };
    let mut errors = Vec::new();
    if let Some(k) = trimmed(&kind) {
        match k.parse::<Kind>() {
            Ok(k) => filter.kind = Some(k),
            Err(_) => errors.push(format!("There is no event kind \u{201c}{k}\u{201d}.")),
        }
    }
    if let Some(d) = trimmed(&since) {
        match parse_date(&d) {
            Some(t) => filter.since = Some(t),
            None => errors.push(format!("\u{201c}{d}\u{201d} is not a date (YYYY-MM-DD).")),
        }
    }
    if let Some(b) = trimmed(&before) {
        match b.parse::<i64>() {
            Ok(id) => filter.before_id = Some(id),
            Err(_) => errors.push("The page to show is not a valid one.".to_owned()),
        }
    }
    if !errors.is_empty() {
        log.error = Some(errors.join(" "));
        return Ok(a.page(flash, log));
    }
    let mut events = a.ctx.store.events(&filter).await.map_err(crate::server::fail)?;
    // One more than a page was asked for: its presence says an older page exists.
    if events.len() as i64 > AUDIT_PAGE_SIZE {
        events.truncate(AUDIT_PAGE_SIZE as usize);
        if let Some(last) = events.last() {
            let enc = crate::server::urlencode;
            log.older = Some(format!(
                "/admin/audit?kind={}&user={}&client_id={}&since={}&before={}",
                enc(&log.kind),
                enc(&log.user),
                enc(&log.client_id),
                enc(&log.since),
                last.id
            ));
        }
    }
    log.rows = events
        .into_iter()
        .map(|e| AuditRow {
            id: e.id,
            time: utc_timestamp(e.at),
            kind: e.kind,
            actor: e.actor_name.unwrap_or_else(|| "anonymous".to_owned()),
            subject: e.subject.unwrap_or_default(),
            client_id: e.client_id.unwrap_or_default(),
            address: e.address.unwrap_or_default(),
            detail: if e.detail == "{}" { String::new() } else { e.detail },
        })
        .collect();
    Ok(a.page(flash, log))
}
