//! Clients known by an OAuth Client ID Metadata Document (`serve
//! --client-id-metadata-documents`): a `client_id` that is a URL is fetched, checked by the
//! core's rules (`tessera_core::client_metadata`) and kept as a row of `clients` under that
//! URL, so codes, grants and consents reference it like any client. The document is
//! fetched again at `/authorize` once its cache lifetime is over, and the row updated.
//!
//! Bounds: a fetch takes at most [`METADATA_DOCUMENT_FETCH_TIMEOUT_SECS`], reads at most
//! [`METADATA_DOCUMENT_MAX_BYTES`], follows redirects only on the same host, and (unless
//! the issuer itself is on loopback) never goes to a loopback, private or link-local
//! address. At most [`METADATA_CLIENTS_MAX`] such clients are kept: past it the oldest
//! goes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tessera_core::client_keys::loopback_http_allowed;
use tessera_core::client_metadata::{cache_seconds, check_url, client_from_document, looks_like_url, Known};
use tessera_core::error::OAuthError;
use tessera_core::policy::{METADATA_CLIENTS_MAX, METADATA_DOCUMENT_FETCH_TIMEOUT_SECS, METADATA_DOCUMENT_MAX_BYTES};
use tessera_core::store::{Client, ClientUpdate, NewClient, StoreError};

use crate::crypto::client_keys::{get_capped, outbound_http};
use crate::http::response::server_error;
use crate::web::AppState;

/// More cached documents than this and the cache starts over (entries refill on use).
const MAX_CACHED: usize = 10_000;

#[derive(Default)]
struct Entry {
    client: Option<Client>,
    fresh_until: i64,
}

pub struct MetadataClients {
    http: Option<reqwest::Client>,
    /// URL → the client last made from it; the async lock makes concurrent first uses wait
    /// for one fetch.
    entries: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Entry>>>>,
}

impl MetadataClients {
    /// `extra_ca`: PEM certificates trusted besides the public roots. Unless the issuer is
    /// on loopback (development, tests), documents are fetched from public addresses only,
    /// checked at connect time.
    pub fn new(extra_ca: Option<&[u8]>, issuer: &str) -> Self {
        let root = extra_ca.and_then(|pem| {
            reqwest::Certificate::from_pem(pem)
                .map_err(|e| tracing::error!(error = %e, "the client metadata CA is not a PEM certificate"))
                .ok()
        });
        Self {
            http: outbound_http(
                Duration::from_secs(METADATA_DOCUMENT_FETCH_TIMEOUT_SECS),
                root,
                !loopback_http_allowed(issuer),
            ),
            entries: Mutex::default(),
        }
    }
}

fn fetch_failed(detail: impl Into<String>) -> OAuthError {
    OAuthError::invalid_client("the client metadata document could not be fetched").with_detail(detail.into())
}

/// Addresses a metadata document is never fetched from on a public server: loopback,
/// private (RFC 1918, RFC 4193), link-local, shared (RFC 6598), unspecified, multicast.
pub(crate) fn internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| internal(IpAddr::V4(v4)))
        }
    }
}

/// Refuses a URL whose host is an internal address, unless the issuer is on loopback
/// (development, tests). Only addresses written in the URL are checked here: a name is
/// checked where the fetch resolves it, at connect time
/// (`crate::crypto::client_keys::PublicOnly`), so a name that changes its answer (DNS
/// rebinding) is refused too, with one lookup.
fn check_destination(url: &url::Url, issuer: &str) -> Result<(), OAuthError> {
    if loopback_http_allowed(issuer) {
        return Ok(());
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => return Ok(()),
    };
    if internal(ip) {
        return Err(fetch_failed(format!("{url} is on an internal address {ip}")));
    }
    Ok(())
}

/// The client `client_id` names, for `/authorize` and client authentication: a registered
/// one, or for a URL, the client its metadata document describes ([`resolve`]). With
/// metadata documents off, a URL names no client (the row a document once made included).
pub async fn client(state: &AppState, client_id: &str, now: i64) -> Result<Option<Client>, OAuthError> {
    if !looks_like_url(client_id) {
        return state.db.store.client_by_id(client_id).await.map_err(server_error);
    }
    resolve(state, client_id, now).await
}

/// The client a URL `client_id` names, fetched (or from the cache) and kept in `clients`.
/// `Ok(None)` when metadata documents are off or `client_id` is no URL. Refusals: `invalid_request` for a URL the draft does not
/// allow as a client id, `invalid_client` for a document that cannot be fetched or is
/// not acceptable.
pub async fn resolve(state: &AppState, client_id: &str, now: i64) -> Result<Option<Client>, OAuthError> {
    let Some(this) = state.metadata_clients.as_ref() else {
        return Ok(None);
    };
    if !looks_like_url(client_id) {
        return Ok(None);
    }
    // Draft §3: the URL's own rules.
    let url = check_url(client_id, &state.issuer).map_err(|e| {
        OAuthError::invalid_request("client_id is not a valid client metadata document URL").with_detail(e)
    })?;
    let entry = {
        let mut entries = this
            .entries
            .lock()
            .map_err(|_| server_error("metadata cache poisoned"))?;
        if entries.len() >= MAX_CACHED && !entries.contains_key(client_id) {
            entries.clear();
        }
        entries.entry(client_id.to_owned()).or_default().clone()
    };
    let mut cached = entry.lock().await;
    if let Some(client) = cached.client.as_ref().filter(|_| now < cached.fresh_until) {
        // Unless an administrator (or the cap) removed it meanwhile: then fetch again.
        if state.db.store.client_exists(client_id).await.map_err(server_error)? {
            return Ok(Some(client.clone()));
        }
    }
    check_destination(&url, &state.issuer)?;
    let http = this
        .http
        .as_ref()
        .ok_or_else(|| server_error("no HTTP client for metadata documents"))?;
    let (body, cache_control) = get_capped(http, client_id, "application/json", METADATA_DOCUMENT_MAX_BYTES)
        .await
        .map_err(|e| {
            tracing::info!(client_id, error = %e, "fetching a client metadata document failed");
            if e.starts_with("larger than") {
                OAuthError::invalid_client("the client metadata document is too large").with_detail(e)
            } else {
                fetch_failed(e)
            }
        })?;
    let store = state.db.store.as_ref();
    let scopes = crate::store::scope_names(state.db.store.as_ref())
        .await
        .map_err(server_error)?;
    let apis: Vec<String> = store
        .apis()
        .await
        .map_err(server_error)?
        .into_iter()
        .map(|a| a.identifier)
        .collect();
    let known = Known {
        issuer: &state.issuer,
        scopes: &scopes,
        apis: &apis,
    };
    let new = client_from_document(client_id, &body, &known)?;
    let client = keep(state, new, now).await.map_err(server_error)?;
    cached.client = Some(client.clone());
    cached.fresh_until = now + cache_seconds(cache_control.as_deref());
    Ok(Some(client))
}

/// Inserts or updates the client's row. A new one past [`METADATA_CLIENTS_MAX`] first
/// removes the oldest such client (its grants go with it: its users authorize again).
async fn keep(state: &AppState, new: NewClient, now: i64) -> Result<Client, StoreError> {
    let store = state.db.store.as_ref();
    if let Some(existing) = store.client_by_id(&new.client_id).await? {
        if existing.is_public == new.is_public {
            let update = ClientUpdate {
                name: new.name.clone(),
                redirect_uris: new.redirect_uris.clone(),
                scopes: new.scopes.clone(),
                settings: new.settings.clone(),
            };
            let same = existing.name == update.name
                && existing.redirect_uris == update.redirect_uris
                && existing.scopes == update.scopes
                && existing.settings == update.settings;
            if !same {
                store.update_client(&new.client_id, &update).await?;
            }
            return Ok(Client {
                name: update.name,
                redirect_uris: update.redirect_uris,
                scopes: update.scopes,
                settings: update.settings,
                ..existing
            });
        }
        // Public became keyed (or back): the stored type cannot change in place.
        store.delete_client(&new.client_id).await?;
    }
    let mut documented: Vec<Client> = store
        .list_clients()
        .await?
        .into_iter()
        .filter(|c| looks_like_url(&c.client_id))
        .collect();
    if documented.len() >= METADATA_CLIENTS_MAX {
        documented.sort_by_key(|c| c.created_at);
        let excess = documented.len() + 1 - METADATA_CLIENTS_MAX;
        for old in documented.iter().take(excess) {
            tracing::info!(client_id = %old.client_id, "removed the oldest metadata-document client to make room");
            store.delete_client(&old.client_id).await?;
        }
    }
    let client_id = new.client_id.clone();
    match store.create_client(new.clone(), now).await {
        Ok(c) => {
            tracing::info!(client_id = %c.client_id, "registered a client from its metadata document");
            Ok(c)
        }
        // Another instance (or request) made it first: it is the same document.
        Err(StoreError::Conflict(_)) => store
            .client_by_id(&client_id)
            .await?
            .ok_or_else(|| StoreError::Backend("client vanished".into())),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses() {
        #[rustfmt::skip]
        let table: &[(&str, bool)] = &[
            ("127.0.0.1", true), ("10.1.2.3", true), ("172.16.0.1", true), ("192.168.1.1", true),
            ("169.254.169.254", true), ("100.64.0.1", true), ("0.0.0.0", true), ("::1", true),
            ("fe80::1", true), ("fd00::1", true), ("::ffff:10.0.0.1", true),
            ("93.184.216.34", false), ("2606:2800:220:1::1", false), ("100.128.0.1", false),
        ];
        for (ip, want) in table {
            assert_eq!(internal(ip.parse().unwrap()), *want, "{ip}");
        }
    }
}
