//! What `tessera serve` runs with, resolved once from flags, environment and defaults.

use std::net::SocketAddr;

use anyhow::{bail, Context};

pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/tessera.db?mode=rwc";
pub const DEFAULT_SITE_ROOT: &str = "target/site";

#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    /// The issuer identifier (RFC 8414 §2): https, or http on loopback; no query or fragment.
    pub issuer: String,
    pub database_url: String,
    /// Where cargo-leptos put the compiled site (`pkg/` with the WASM, JS and CSS).
    pub site_root: String,
    /// Requests handled at once; more are answered 503 with `Retry-After` at once
    /// (load shedding) rather than queued without limit.
    pub max_in_flight: usize,
    /// The longest a request may take, body upload included: then 408.
    pub request_timeout: std::time::Duration,
    /// The step-by-step demo at `/demo` and its built-in client (`serve --demo`). Off, the
    /// demo's pages answer 404 and its client is not registered.
    pub demo: bool,
    /// What secrets at rest derive from ([`crate::crypto::server_secret`]). `resolve` makes a random
    /// one; `serve` loads the configured one.
    pub secret: std::sync::Arc<crate::crypto::server_secret::ServerSecret>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`); none
    /// by default: the TCP peer is the client.
    pub trusted_proxies: crate::http::client_ip::TrustedProxies,
    /// Browser sessions' idle and absolute lifetimes, refresh-token families' absolute one.
    pub lifetimes: tessera_core::policy::Lifetimes,
    /// Days the periodic sweep keeps audit events (`--audit-retention-days`).
    pub audit_retention_days: u32,
    /// The site served from memory instead of `site_root`: the release binary's embedded
    /// copy when no `--site-root` is given ([`crate::site`]). `resolve` leaves it unset.
    pub embedded_site: Option<std::sync::Arc<crate::site::Site>>,
    /// Seconds between reloads of the signing keys from the database (`--key-reload-interval`):
    /// how soon a key rotated by the CLI or another instance is published and used here.
    pub key_reload_every: i64,
    /// A second listener that serves only `GET /metrics` (`--metrics-addr`), for a
    /// private network; none by default.
    pub metrics_addr: Option<SocketAddr>,
    /// The bearer token `/metrics` requires (`--metrics-token`); with it, `/metrics` is
    /// also served on the main listener. Neither set: `/metrics` answers 404.
    pub metrics_token: Option<crate::telemetry::MetricsToken>,
    /// RFC 9126 §5 `require_pushed_authorization_requests` for every client (`--require-par`):
    /// a plain `/authorize` is refused; only `request_uri`s from `POST /par` are accepted.
    pub require_par: bool,
    /// RFC 9449 §8: DPoP proofs at the token endpoint must carry a server nonce
    /// (`--dpop-nonce`); off by default.
    pub dpop_nonce: bool,
    /// Client ID Metadata Documents: a `client_id` that is an https URL is fetched
    /// (`--client-id-metadata-documents`); off by default.
    pub client_id_metadata_documents: bool,
    /// PEM certificates trusted besides the public roots when fetching those documents
    /// (`--client-id-metadata-ca`).
    pub client_id_metadata_ca: Option<Vec<u8>>,
    /// Dynamic client registration's mode, written to the database at start
    /// (`--registration-mode`); `None`: as stored (off unless changed by the CLI or console).
    pub registration_mode: Option<tessera_core::dynamic_registration::RegistrationMode>,
    /// Seconds a dynamically registered client may go without a token before the janitor
    /// removes it (`--registration-unused-ttl`).
    pub registration_unused_ttl: i64,
}

impl Config {
    /// Whether the issuer is https: cookies then get `__Host-` and `Secure`, responses HSTS.
    pub fn https(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// Whether metrics are recorded and served somewhere.
    pub fn metrics(&self) -> bool {
        self.metrics_addr.is_some() || self.metrics_token.is_some()
    }
}

pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 30;

impl Config {
    /// `--addr` (or `TESSERA_ADDR`) wins over cargo-leptos' `LEPTOS_SITE_ADDR`, which wins
    /// over the default. The issuer defaults to `http://` + the address.
    pub fn resolve(
        addr: Option<SocketAddr>,
        leptos_site_addr: Option<&str>,
        issuer: Option<&str>,
        database_url: &str,
        site_root: &str,
    ) -> anyhow::Result<Self> {
        let addr = match (addr, leptos_site_addr) {
            (Some(a), _) => a,
            (None, Some(raw)) => raw
                .parse()
                .with_context(|| format!("invalid LEPTOS_SITE_ADDR {raw:?}"))?,
            (None, None) => DEFAULT_ADDR.parse()?,
        };
        let issuer = match issuer {
            Some(raw) => parse_issuer(raw)?,
            None => format!("http://{addr}"),
        };
        Ok(Self {
            addr,
            issuer,
            database_url: database_url.to_owned(),
            site_root: site_root.to_owned(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            request_timeout: std::time::Duration::from_secs(DEFAULT_REQUEST_TIMEOUT_SECS),
            demo: false,
            secret: std::sync::Arc::new(crate::crypto::server_secret::ServerSecret::random()),
            trusted_proxies: Default::default(),
            lifetimes: Default::default(),
            audit_retention_days: tessera_core::policy::AUDIT_RETENTION_DAYS_DEFAULT,
            embedded_site: None,
            key_reload_every: tessera_core::policy::KEY_RELOAD_EVERY,
            metrics_addr: None,
            metrics_token: None,
            require_par: false,
            dpop_nonce: false,
            client_id_metadata_documents: false,
            client_id_metadata_ca: None,
            registration_mode: None,
            registration_unused_ttl: tessera_core::policy::REGISTRATION_UNUSED_TTL_DEFAULT,
        })
    }
}

/// RFC 8414 §2: the issuer is an https URL with no query or fragment. Plain http is
/// accepted on loopback hosts for local use.
pub fn parse_issuer(raw: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(raw).with_context(|| format!("invalid issuer {raw:?}: not an absolute URL"))?;
    if url.query().is_some() || url.fragment().is_some() {
        bail!("invalid issuer {raw:?}: must not have a query or fragment (RFC 8414 §2)");
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => bail!("invalid issuer {raw:?}: use https (http only on a loopback host)"),
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addr_precedence() {
        let own: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let c = Config::resolve(Some(own), Some("127.0.0.1:5000"), None, "sqlite::memory:", "site").unwrap();
        assert_eq!(c.addr, own);
        assert_eq!(c.issuer, "http://127.0.0.1:4000");
        let c = Config::resolve(None, Some("127.0.0.1:5000"), None, "sqlite::memory:", "site").unwrap();
        assert_eq!(c.addr.port(), 5000);
        let c = Config::resolve(None, None, None, "sqlite::memory:", "site").unwrap();
        assert_eq!(c.addr.to_string(), DEFAULT_ADDR);
        assert!(Config::resolve(None, Some("nonsense"), None, "x", "site").is_err());
    }

    #[test]
    fn issuer_rules() {
        assert_eq!(
            parse_issuer("https://id.example.com/").unwrap(),
            "https://id.example.com"
        );
        assert_eq!(
            parse_issuer("https://id.example.com/tenant").unwrap(),
            "https://id.example.com/tenant"
        );
        assert!(parse_issuer("http://127.0.0.1:3000").is_ok());
        assert!(parse_issuer("http://id.example.com").is_err());
        assert!(parse_issuer("https://id.example.com/?x=1").is_err());
        assert!(parse_issuer("https://id.example.com/#f").is_err());
        assert!(parse_issuer("id.example.com").is_err());
    }
}
