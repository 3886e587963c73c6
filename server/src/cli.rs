//! The command line. Every command that opens the database first brings its schema up to
//! date, so the CLI works on a new database and next to a running server on the same one.
//! Output meant for scripts (JSON) goes to stdout; logs and errors go to stderr.

use std::io::Read;
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use serde_json::json;
use tessera_core::audit::{Actor, Kind as AuditKind, NewEvent};
use tessera_core::model::{ClientAuthMethod, GrantType, SigningAlg};
use tessera_core::password::hash_password;
use tessera_core::policy;
use tessera_core::registration::{ApiRegistration, ClientRegistration, FieldErrors, UserRegistration};
use tessera_core::secret::{random_id, ClientSecret};
use tessera_core::store::{NewClient, NewUser, StoreError};
use tessera_core::types::RedirectUri;

use crate::config::{Config, DEFAULT_DATABASE_URL, DEFAULT_SITE_ROOT};
use crate::logging::{self, LogFormat};
use crate::store;
use tessera_services::audit;

#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about = "Tessera: an OAuth 2.0 and OpenID Connect authorization server"
)]
pub struct Cli {
    /// Database URL: sqlite://PATH[?mode=rwc] or postgres://USER[:PASSWORD]@HOST[:PORT]/DB
    #[arg(long, global = true, env = "TESSERA_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// Log format on stderr
    #[arg(long, global = true, env = "TESSERA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given)
    Serve(ServeArgs),
    /// Apply database migrations, then exit
    Migrate,
    /// Manage users
    #[command(subcommand)]
    User(UserCommand),
    /// Manage OAuth clients
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage token signing keys
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage APIs (resource servers) clients may ask tokens for with `resource` (RFC 8707)
    #[command(subcommand)]
    Api(ApiCommand),
    /// Read the audit log
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage scopes (those an API or a client may list besides the built-in ones)
    #[command(subcommand)]
    Scope(ScopeCommand),
    /// Device codes in flight (RFC 8628 device authorization grant)
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Dynamic client registration (RFC 7591): the mode and initial access tokens
    #[command(subcommand)]
    Registration(RegistrationCommand),
    /// Delete expired codes, refresh tokens and grants, and audit events past their
    /// retention, now (a running server does it every 15 minutes); prints what went
    Purge(RetentionArgs),
    /// Copy a SQLite database to PATH, consistently, while servers use it (PostgreSQL:
    /// use pg_dump); prints {"backup": PATH, "bytes": N}
    Backup {
        /// Where the copy goes; must not exist yet
        path: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new signing key active; the old one keeps verifying until its tokens expire.
    /// Running servers on the same database pick it up within a minute (their
    /// --key-reload-interval).
    Rotate {
        /// RS256, ES256, EdDSA, PS256, or all
        #[arg(long, default_value = "all")]
        alg: String,
        /// Seconds the new key is published before it signs (relying parties cache the
        /// JWKS for up to 5 minutes); the old key signs until then
        #[arg(long, default_value_t = crate::crypto::keyring::PUBLISH_BEFORE_SIGNING)]
        signs_in: i64,
    },
    /// Withdraw a key at once (thought compromised): no longer published nor trusted, and
    /// replaced if it was signing. Tokens it signed stop verifying. Running servers drop it
    /// within a minute.
    Revoke {
        /// The key's id (`kid`), as `tessera keys list` shows it (a thumbprint: it may start
        /// with `-`)
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
    /// List the signing keys (ids, algorithms, states; never key material)
    List,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// The newest audit events first (at most 50 at a time; --before pages back)
    List(AuditList),
}

#[derive(Debug, Args)]
pub struct AuditList {
    /// Print a JSON array instead of a table
    #[arg(long)]
    pub json: bool,
    /// Only events of this kind
    #[arg(long, value_parser = one_of::<AuditKind>(AuditKind::names()))]
    pub kind: Option<AuditKind>,
    /// How many (1 to 50)
    #[arg(long, default_value_t = policy::AUDIT_PAGE_SIZE,
          value_parser = clap::value_parser!(i64).range(1..=policy::AUDIT_PAGE_SIZE))]
    pub limit: i64,
    /// Only events older than this id (the last id of the previous page)
    #[arg(long)]
    pub before: Option<i64>,
}

/// How long audit events are kept; shared by `serve` (the periodic sweep) and `purge`.
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Days audit events are kept before the sweep deletes them (1 to 36500)
    #[arg(long, env = "TESSERA_AUDIT_RETENTION_DAYS", default_value_t = policy::AUDIT_RETENTION_DAYS_DEFAULT,
          value_parser = retention_days)]
    pub audit_retention_days: u32,
}

impl Default for RetentionArgs {
    fn default() -> Self {
        Self {
            audit_retention_days: policy::AUDIT_RETENTION_DAYS_DEFAULT,
        }
    }
}

/// `--audit-retention-days`: a whole number of days in the policy's range; 0 is refused
/// rather than read as "forever" (see `policy::AUDIT_RETENTION_DAYS_RANGE`).
fn retention_days(raw: &str) -> Result<u32, String> {
    let range = policy::AUDIT_RETENTION_DAYS_RANGE;
    let days: u32 = raw
        .trim()
        .parse()
        .map_err(|_| format!("{raw:?} is not a whole number of days"))?;
    if days == 0 {
        return Err(
            "0 would delete every event at once; to keep events for long, give a large number of days (at most 36500)"
                .into(),
        );
    }
    if !range.contains(&days) {
        return Err(format!("must be between {} and {} days", range.start(), range.end()));
    }
    Ok(days)
}

#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:3000]; wins over LEPTOS_SITE_ADDR
    #[arg(long, env = "TESSERA_ADDR")]
    pub addr: Option<SocketAddr>,
    /// Issuer identifier (https URL, or http on loopback) [default: http://ADDR]
    #[arg(long, env = "TESSERA_ISSUER")]
    pub issuer: Option<String>,
    /// The step-by-step demo at /demo and its client; on a new database, also create an
    /// admin user and print its credentials
    #[arg(long, env = "TESSERA_DEMO", value_parser = clap::builder::BoolishValueParser::new())]
    pub demo: bool,
    /// Directory of the compiled site (WASM, JS, CSS) built by cargo-leptos; given, it wins
    /// over the copy a release binary embeds [default: the embedded copy, else target/site]
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<String>,
    /// Only the step-by-step demo at /demo and its client (no admin user is created);
    /// --demo implies it
    #[arg(long, env = "TESSERA_DEMO_CLIENT", value_parser = clap::builder::BoolishValueParser::new())]
    pub demo_client: bool,
    /// Requests handled at once; beyond, 503 with Retry-After [default: 1024]
    #[arg(long, env = "TESSERA_MAX_IN_FLIGHT")]
    pub max_in_flight: Option<usize>,
    /// Seconds a request may take, body upload included; then 408 [default: 30]
    #[arg(long, env = "TESSERA_REQUEST_TIMEOUT")]
    pub request_timeout: Option<u64>,
    /// A reverse proxy (address or network, repeatable; comma-separated in the
    /// environment) whose X-Forwarded-For names the client [default: none]
    #[arg(long = "trusted-proxy", env = "TESSERA_TRUSTED_PROXIES", value_delimiter = ',',
          value_parser = crate::http::client_ip::parse_trusted)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Seconds without a request after which a browser session ends [default: 43200]
    #[arg(long, env = "TESSERA_SESSION_IDLE_TIMEOUT")]
    pub session_idle_timeout: Option<i64>,
    /// Seconds after signing in at which a browser session ends however active
    /// [default: 604800]
    #[arg(long, env = "TESSERA_SESSION_MAX_AGE")]
    pub session_max_age: Option<i64>,
    /// Seconds after the user's approval at which a grant can no longer be refreshed,
    /// however often its refresh tokens rotate [default: 7776000]
    #[arg(long, env = "TESSERA_REFRESH_FAMILY_MAX_AGE")]
    pub refresh_family_max_age: Option<i64>,
    #[command(flatten)]
    pub retention: RetentionArgs,
    /// Seconds between reloads of the signing keys from the database: a key rotated by
    /// `tessera keys rotate` or another instance is published here within this (1 to 3600)
    /// [default: 60]
    #[arg(long, env = "TESSERA_KEY_RELOAD_INTERVAL")]
    pub key_reload_interval: Option<i64>,
    /// Serve GET /metrics (Prometheus) on this second address only, e.g. on a private
    /// network for the scraper [default: not served]
    #[arg(long, env = "TESSERA_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Serve GET /metrics on the main address too, to `Authorization: Bearer TOKEN` only
    /// (at least 32 characters); also required on --metrics-addr when set
    #[arg(long, env = "TESSERA_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Every client must push its authorization requests to /par first (RFC 9126); a plain
    /// /authorize is refused. Clients can also require it one by one
    #[arg(long, env = "TESSERA_REQUIRE_PAR", value_parser = clap::builder::BoolishValueParser::new())]
    pub require_par: bool,
    /// Require a server nonce in DPoP proofs at the token endpoint (RFC 9449 §8): a proof
    /// without a current one gets `use_dpop_nonce` and a nonce to retry with [default: off]
    #[arg(long, env = "TESSERA_DPOP_NONCE", value_parser = clap::builder::BoolishValueParser::new())]
    pub dpop_nonce: bool,
    /// Accept client ids that are https URLs of OAuth Client ID Metadata Documents, fetched
    /// when a client first uses them (draft-ietf-oauth-client-id-metadata-document; the MCP
    /// authorization spec's preferred registration) [default: off]
    #[arg(long, env = "TESSERA_CLIENT_ID_METADATA_DOCUMENTS", value_parser = clap::builder::BoolishValueParser::new())]
    pub client_id_metadata_documents: bool,
    /// A PEM file of extra certificate authorities trusted when fetching client metadata
    /// documents (a private network's CA); the public roots are always trusted
    #[arg(long, env = "TESSERA_CLIENT_ID_METADATA_CA")]
    pub client_id_metadata_ca: Option<std::path::PathBuf>,
    /// Set dynamic client registration's mode at start (off, token, open); it is stored in
    /// the database, which every instance reads [default: as stored, off on a new database]
    #[arg(long, env = "TESSERA_REGISTRATION_MODE",
          value_parser = one_of::<tessera_core::dynamic_registration::RegistrationMode>(
              tessera_core::dynamic_registration::RegistrationMode::names()))]
    pub registration_mode: Option<tessera_core::dynamic_registration::RegistrationMode>,
    /// Seconds a dynamically registered client may go without being issued a token before
    /// the janitor removes it (at least 60) [default: 604800, 7 days]
    #[arg(long, env = "TESSERA_REGISTRATION_UNUSED_TTL")]
    pub registration_unused_ttl: Option<i64>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input
    Add(UserAdd),
    /// List users
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct UserAdd {
    pub username: String,
    /// Read the password from standard input (one trailing newline is stripped)
    #[arg(long, required = true)]
    pub password_stdin: bool,
    /// Give the user access to the admin console
    #[arg(long)]
    pub admin: bool,
    #[arg(long)]
    pub email: Option<String>,
    /// Display name
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints {"client_id": .., "client_secret": ..} on stdout
    Add(ClientAdd),
    /// List clients
    List(ListArgs),
    /// Remove a client
    Remove {
        /// Generated ids are base64url: one may start with `-`
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
}

#[derive(Debug, Args)]
pub struct ClientAdd {
    #[arg(long)]
    pub name: String,
    /// A redirect URI, matched exactly (repeat for several); required unless the client has
    /// no authorization_code grant (e.g. only the device grant)
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// Scopes the client may request, space-separated
    #[arg(long, default_value = tessera_core::registration::NEW_CLIENT_SCOPES)]
    pub scope: String,
    /// A public client (no secret; PKCE required), e.g. a single-page or native app
    #[arg(long)]
    pub public: bool,
    /// Let this confidential client omit PKCE (public clients always need it; RFC 9700 §2.1.1
    /// recommends it for everyone)
    #[arg(long)]
    pub pkce_optional: bool,
    /// A grant type the client may use (repeat for several) [default: all a client of its
    /// type may use]
    #[arg(long = "grant-type", value_parser = one_of::<GrantType>(GrantType::names()))]
    pub grant_types: Vec<GrantType>,
    /// Access token signing algorithm
    #[arg(long, default_value_t = SigningAlg::ACCESS_TOKEN_DEFAULT, value_parser = one_of::<SigningAlg>(SigningAlg::names()))]
    pub access_token_alg: SigningAlg,
    /// ID token signing algorithm (`id_token_signed_response_alg`)
    #[arg(long, default_value_t = SigningAlg::ID_TOKEN_DEFAULT, value_parser = one_of::<SigningAlg>(SigningAlg::names()))]
    pub id_token_alg: SigningAlg,
    /// Access token lifetime in seconds (60 to 86400)
    #[arg(long, default_value_t = policy::ACCESS_TOKEN_LIFETIME_DEFAULT)]
    pub access_token_ttl: i64,
    /// Refresh token lifetime in seconds (3600 to 31536000)
    #[arg(long, default_value_t = policy::REFRESH_TOKEN_LIFETIME_DEFAULT)]
    pub refresh_token_ttl: i64,
    /// Accept this client's authorization requests only when pushed to /par first (RFC 9126)
    #[arg(long)]
    pub require_par: bool,
    /// How the client authenticates at the token endpoint [default: none for a public
    /// client, client_secret_basic (Basic or form) for a confidential one]; private_key_jwt
    /// needs --jwks or --jwks-uri and gets no secret
    #[arg(long, value_parser = one_of::<ClientAuthMethod>(ClientAuthMethod::names()))]
    pub token_endpoint_auth_method: Option<ClientAuthMethod>,
    /// The client's public keys, a JWK Set as JSON (e.g. --jwks "$(cat jwks.json)")
    #[arg(long)]
    pub jwks: Option<String>,
    /// Where the client publishes its JWK Set (https; http on loopback only for a loopback
    /// issuer)
    #[arg(long)]
    pub jwks_uri: Option<String>,
    /// Accept this client's authorization requests only as signed request objects (RFC 9101)
    #[arg(long)]
    pub require_signed_request_object: bool,
    /// The issuer the server runs with (decides whether a loopback http --jwks-uri is allowed)
    #[arg(long, env = "TESSERA_ISSUER")]
    pub issuer: Option<String>,
    /// Require a DPoP proof on every token request of this client: its access tokens are
    /// always sender-constrained (`dpop_bound_access_tokens`, RFC 9449 §5)
    #[arg(long)]
    pub dpop: bool,
    /// An API (its identifier, as `tessera api list` shows it) the client may name as
    /// `resource` (repeat for several) [default: the sample resource only]
    #[arg(long = "resource")]
    pub resources: Vec<String>,
    /// The FAPI 2.0 Security Profile for this client: PAR, private_key_jwt (with --jwks or
    /// --jwks-uri), PKCE S256, DPoP-bound tokens, PS256/ES256/EdDSA only (so also
    /// --id-token-alg PS256 or ES256), no refresh-token rotation
    #[arg(long)]
    pub fapi2: bool,
}

#[derive(Debug, Subcommand)]
pub enum ScopeCommand {
    /// Define a scope, as the console's Scopes page does; prints it as JSON
    Add {
        /// The scope's name, e.g. `mcp:tools`
        name: String,
        /// What it allows, as the consent page shows it to users
        #[arg(long)]
        description: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// List unexpired device codes not yet redeemed (the user code shows its first half)
    List(ListArgs),
    /// Deny a pending or approved device code: its device's next poll gets access_denied
    Revoke {
        /// The user code, as the device shows it (case and dashes do not matter)
        user_code: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiCommand {
    /// Register an API; prints it as JSON
    Add(ApiAdd),
    /// List APIs
    List(ListArgs),
    /// Change an API's settings (those not given stay as they are); prints it as JSON
    Update(ApiUpdate),
    /// Remove an API (refused while a client may use it)
    Remove {
        /// The API's identifier
        identifier: String,
    },
}

#[derive(Debug, Args)]
pub struct ApiAdd {
    /// The identifier: an absolute URI without a fragment, e.g. https://api.example.com/;
    /// the `resource` clients send and the `aud` of its tokens
    pub identifier: String,
    #[arg(long)]
    pub name: String,
    /// The scopes that belong to the API, space-separated
    #[arg(long)]
    pub scope: String,
    /// Access token signing algorithm
    #[arg(long, default_value_t = SigningAlg::ACCESS_TOKEN_DEFAULT, value_parser = one_of::<SigningAlg>(SigningAlg::names()))]
    pub access_token_alg: SigningAlg,
    /// Access token lifetime in seconds (60 to 86400)
    #[arg(long, default_value_t = policy::ACCESS_TOKEN_LIFETIME_DEFAULT)]
    pub access_token_ttl: i64,
}

#[derive(Debug, Args)]
pub struct ApiUpdate {
    /// The API's identifier
    pub identifier: String,
    #[arg(long)]
    pub name: Option<String>,
    /// The scopes that belong to the API, space-separated
    #[arg(long)]
    pub scope: Option<String>,
    /// Access token signing algorithm
    #[arg(long, value_parser = one_of::<SigningAlg>(SigningAlg::names()))]
    pub access_token_alg: Option<SigningAlg>,
    /// Access token lifetime in seconds (60 to 86400)
    #[arg(long)]
    pub access_token_ttl: Option<i64>,
}

/// Clap's parser for one of the core's names (its `ALL` list), listed in `--help`.
fn one_of<T>(names: Vec<&'static str>) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: std::str::FromStr<Err = tessera_core::model::UnknownName> + Clone + Send + Sync + 'static,
{
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(names).try_map(|s| s.parse::<T>())
}

/// The core's field errors as one line, each named as the command line spells it.
fn refused(what: &str, errors: FieldErrors) -> anyhow::Error {
    let flag = |field: &str| match field {
        "username" | "password" => field.to_owned(),
        "redirect_uris" => "--redirect-uri".to_owned(),
        "scopes" => "--scope".to_owned(),
        "grant_types" => "--grant-type".to_owned(),
        "require_pkce" => "--pkce-optional".to_owned(),
        "require_pushed_authorization_requests" => "--require-par".to_owned(),
        "fapi2" => "--fapi2".to_owned(),
        "resources" => "--resource".to_owned(),
        "identifier" => "identifier".to_owned(),
        other => format!("--{}", other.replace('_', "-")),
    };
    let parts: Vec<String> = errors.iter().map(|(f, m)| format!("{}: {m}", flag(f))).collect();
    anyhow::anyhow!("{what} refused: {}", parts.join("; "))
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array instead of a table
    #[arg(long)]
    pub json: bool,
}

/// Parses arguments, runs the command and turns any error into one line on stderr.
pub async fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    // `tessera --version` also says whether this binary carries the site. (Leaked once:
    // clap takes a `&'static str` without its `string` feature.)
    let version: &'static str =
        Box::leak(format!("{}, {}", env!("CARGO_PKG_VERSION"), crate::site::describe()).into_boxed_str());
    let cli = match Cli::command()
        .version(version)
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => return clap_error(e),
    };
    logging::init(cli.log_format);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the error and its causes, outermost first.
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

fn clap_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            // Clap's message is the lines before the first blank one; keep it to one line.
            let rendered = e.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            eprintln!("{} (see 'tessera --help')", message.join(" "));
            ExitCode::from(2)
        }
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let db_url = cli.database_url;
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => {
            let leptos_addr = std::env::var("LEPTOS_SITE_ADDR").ok();
            let mut config = Config::resolve(
                args.addr,
                leptos_addr.as_deref(),
                args.issuer.as_deref(),
                &db_url,
                args.site_root.as_deref().unwrap_or(DEFAULT_SITE_ROOT),
            )?;
            // An explicit site root (developers: cargo leptos watch) wins over the embedded copy.
            if args.site_root.is_none() {
                config.embedded_site = crate::site::embedded();
            }
            if let Some(n) = args.max_in_flight {
                anyhow::ensure!(n > 0, "--max-in-flight must be at least 1");
                config.max_in_flight = n;
            }
            if let Some(secs) = args.request_timeout {
                anyhow::ensure!(secs > 0, "--request-timeout must be at least 1 second");
                config.request_timeout = std::time::Duration::from_secs(secs);
            }
            if let Some(secs) = args.key_reload_interval {
                anyhow::ensure!(
                    (1..=3600).contains(&secs),
                    "--key-reload-interval must be between 1 and 3600 seconds"
                );
                config.key_reload_every = secs;
            }
            config.trusted_proxies = crate::http::client_ip::TrustedProxies::new(args.trusted_proxies.clone());
            let l = &mut config.lifetimes;
            l.session_idle_timeout = args.session_idle_timeout.unwrap_or(l.session_idle_timeout);
            l.session_max_age = args.session_max_age.unwrap_or(l.session_max_age);
            l.refresh_family_max_age = args.refresh_family_max_age.unwrap_or(l.refresh_family_max_age);
            l.check().map_err(anyhow::Error::msg)?;
            config.metrics_addr = args.metrics_addr;
            config.metrics_token = args
                .metrics_token
                .as_deref()
                .map(crate::telemetry::MetricsToken::parse)
                .transpose()?;
            config.demo = args.demo || args.demo_client;
            config.require_par = args.require_par;
            config.audit_retention_days = args.retention.audit_retention_days;
            config.dpop_nonce = args.dpop_nonce;
            config.client_id_metadata_documents = args.client_id_metadata_documents;
            if let Some(path) = &args.client_id_metadata_ca {
                let pem = std::fs::read(path)
                    .with_context(|| format!("cannot read --client-id-metadata-ca {}", path.display()))?;
                reqwest::Certificate::from_pem(&pem)
                    .with_context(|| format!("--client-id-metadata-ca {}: not a PEM certificate", path.display()))?;
                config.client_id_metadata_ca = Some(pem);
            }
            config.registration_mode = args.registration_mode;
            if let Some(secs) = args.registration_unused_ttl {
                anyhow::ensure!(secs >= 60, "--registration-unused-ttl must be at least 60 seconds");
                config.registration_unused_ttl = secs;
            }
            config.secret = std::sync::Arc::new(crate::crypto::server_secret::ServerSecret::load()?);
            crate::web::serve(config, args.demo).await
        }
        Command::Migrate => {
            store::open(&db_url).await?;
            tracing::info!(database = %store::redact_url(&db_url), "migrations applied");
            Ok(())
        }
        Command::User(UserCommand::Add(add)) => user_add(&db_url, add).await,
        Command::User(UserCommand::List(list)) => user_list(&db_url, list).await,
        Command::Client(ClientCommand::Add(add)) => client_add(&db_url, add).await,
        Command::Client(ClientCommand::List(list)) => client_list(&db_url, list).await,
        Command::Client(ClientCommand::Remove { client_id }) => client_remove(&db_url, &client_id).await,
        Command::Keys(KeysCommand::Rotate { alg, signs_in }) => keys_rotate(&db_url, &alg, signs_in).await,
        Command::Keys(KeysCommand::Revoke { kid }) => {
            let db = store::open(&db_url).await?;
            let secret = crate::crypto::server_secret::ServerSecret::load_existing()?;
            let revoked = crate::crypto::keyring::revoke(db.store.as_ref(), &secret, &kid, crate::now()).await?;
            let event = cli_event(AuditKind::KeyRevoked)
                .subject(&kid)
                .detail(json!({ "replaced_by": revoked.replaced_by }).to_string());
            audit::record(db.store.as_ref(), event).await;
            println!("{}", json!({ "revoked": revoked }));
            Ok(())
        }
        Command::Keys(KeysCommand::List) => {
            let db = store::open(&db_url).await?;
            println!(
                "{}",
                json!({ "keys": crate::crypto::keyring::list(db.store.as_ref(), crate::now()).await? })
            );
            Ok(())
        }
        Command::Api(command) => api_command(&db_url, command).await,
        Command::Scope(ScopeCommand::Add { name, description }) => scope_add(&db_url, &name, &description).await,
        Command::Purge(retention) => purge(&db_url, retention.audit_retention_days).await,
        Command::Audit(AuditCommand::List(list)) => audit_list(&db_url, list).await,
        Command::Device(command) => device_command(&db_url, command).await,
        Command::Registration(command) => registration_command(&db_url, command).await,
        Command::Backup { path } => {
            let bytes = store::backup(&db_url, &path).await?;
            println!("{}", json!({ "backup": path.display().to_string(), "bytes": bytes }));
            Ok(())
        }
    }
}

async fn purge(db_url: &str, audit_retention_days: u32) -> anyhow::Result<()> {
    let db = store::open(db_url).await?;
    let now = crate::now();
    let p = db
        .store
        .purge_expired(now, crate::crypto::keyring::MAX_TOKEN_LIFETIME)
        .await?;
    let events = db
        .store
        .purge_events(crate::web::audit_cutoff(now, audit_retention_days))
        .await?;
    let mut purged = serde_json::to_value(p)?;
    purged["audit_events"] = events.into();
    println!("{}", json!({ "purged": purged }));
    Ok(())
}

/// An event the command line records: its actor is "cli", it has no address.
fn cli_event(kind: AuditKind) -> NewEvent {
    NewEvent::new(kind, Actor::Cli, crate::now())
}

async fn audit_list(db_url: &str, list: AuditList) -> anyhow::Result<()> {
    let db = store::open(db_url).await?;
    let filter = tessera_core::audit::Filter {
        kind: list.kind,
        before_id: list.before,
        limit: list.limit,
        ..Default::default()
    };
    let events = db.store.events(&filter).await?;
    if list.json {
        println!("{}", serde_json::to_string(&events)?);
        return Ok(());
    }
    println!(
        "{:<8} {:<20} {:<22} {:<16} {:<24} {:<16} DETAIL",
        "ID", "TIME (UTC)", "KIND", "ACTOR", "SUBJECT", "ADDRESS"
    );
    for e in events {
        let at = tessera_core::audit::utc_timestamp(e.at);
        let subject = match (&e.subject, &e.client_id) {
            (Some(s), Some(c)) if s != c => format!("{s} ({c})"),
            (Some(s), _) => s.clone(),
            (None, Some(c)) => c.clone(),
            (None, None) => "-".into(),
        };
        println!(
            "{:<8} {:<20} {:<22} {:<16} {:<24} {:<16} {}",
            e.id,
            at,
            e.kind,
            e.actor_name.as_deref().unwrap_or("-"),
            subject,
            e.address.as_deref().unwrap_or("-"),
            e.detail
        );
    }
    Ok(())
}

fn read_password_from_stdin() -> anyhow::Result<String> {
    let mut raw = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut raw)
        .context("cannot read the password from standard input")?;
    let password = raw
        .strip_suffix('\n')
        .map(|p| p.strip_suffix('\r').unwrap_or(p))
        .unwrap_or(&raw);
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password.to_owned())
}

async fn user_add(db_url: &str, add: UserAdd) -> anyhow::Result<()> {
    // Validate everything before touching the database (the console's rules): bad input
    // writes nothing.
    let password = read_password_from_stdin()?;
    let valid = UserRegistration {
        username: add.username,
        name: add.name.unwrap_or_default(),
        email: add.email.unwrap_or_default(),
        password,
    };
    let user = valid.validate().map_err(|e| refused("user", e))?;
    let username = user.username.clone();
    let password_hash = hash_password(&valid.password)?;
    let db = store::open(db_url).await?;
    let user = db
        .store
        .create_user(
            NewUser {
                username: user.username,
                password_hash,
                email: user.email,
                name: user.name,
                is_admin: add.admin,
            },
            crate::now(),
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => anyhow::anyhow!("user {:?} already exists", username.as_str()),
            other => other.into(),
        })?;
    let event = cli_event(AuditKind::UserCreated)
        .subject(&user.username)
        .detail(json!({ "user_id": user.id, "admin": user.is_admin }).to_string());
    audit::record(db.store.as_ref(), event).await;
    println!(
        "{}",
        json!({ "id": user.id, "username": user.username, "is_admin": user.is_admin })
    );
    Ok(())
}

async fn user_list(db_url: &str, list: ListArgs) -> anyhow::Result<()> {
    let db = store::open(db_url).await?;
    let users = db.store.list_users().await?;
    if list.json {
        println!("{}", serde_json::to_string(&users)?);
        return Ok(());
    }
    println!("{:<24} {:<6} {:<9} EMAIL", "USERNAME", "ADMIN", "DISABLED");
    for u in users {
        println!(
            "{:<24} {:<6} {:<9} {}",
            u.username,
            u.is_admin,
            u.disabled,
            u.email.unwrap_or_default()
        );
    }
    Ok(())
}

async fn client_add(db_url: &str, add: ClientAdd) -> anyhow::Result<()> {
    // The console's rules, which need the scopes defined in the database: open it first,
    // but write nothing unless every field passes.
    let db = store::open(db_url).await?;
    let known = scope_names(db.store.as_ref()).await?;
    let valid = ClientRegistration {
        name: add.name,
        is_public: add.public,
        redirect_uris: add.redirect_uris,
        scopes: add.scope,
        grant_types: (!add.grant_types.is_empty()).then_some(add.grant_types),
        require_pkce: !add.pkce_optional,
        access_token_ttl: add.access_token_ttl.to_string(),
        refresh_token_ttl: add.refresh_token_ttl.to_string(),
        access_token_alg: add.access_token_alg.to_string(),
        id_token_alg: add.id_token_alg.to_string(),
        require_pushed_authorization_requests: add.require_par,
        fapi2: add.fapi2,
        token_endpoint_auth_method: add
            .token_endpoint_auth_method
            .map(|m| m.to_string())
            .unwrap_or_default(),
        jwks: add.jwks.unwrap_or_default(),
        jwks_uri: add.jwks_uri.unwrap_or_default(),
        require_signed_request_object: add.require_signed_request_object,
        issuer: add.issuer.unwrap_or_default(),
        dpop_bound_access_tokens: add.dpop,
        resources: add.resources,
        ..Default::default()
    }
    .validate(&known, &api_identifiers(db.store.as_ref()).await?)
    .map_err(|e| refused("client", e))?;
    // A private_key_jwt client authenticates with its keys (RFC 7523): no secret.
    let uses_secret =
        !add.public && valid.settings.token_endpoint_auth_method != ClientAuthMethod::PrivateKeyJwt.as_str();
    let secret = uses_secret.then(ClientSecret::generate);
    let client = NewClient {
        client_id: random_id(),
        name: valid.name,
        secret_hash: secret.as_ref().map(ClientSecret::hash),
        redirect_uris: valid.redirect_uris,
        scopes: valid.scopes,
        is_public: add.public,
        settings: valid.settings,
    };
    let client = db.store.create_client(client, crate::now()).await?;
    let event = cli_event(AuditKind::ClientCreated)
        .client(&client.client_id)
        .subject(&client.client_id)
        .detail(json!({ "name": client.name, "public": client.is_public }).to_string());
    audit::record(db.store.as_ref(), event).await;
    let out = match secret {
        Some(secret) => json!({ "client_id": client.client_id, "client_secret": secret.expose() }),
        None => json!({ "client_id": client.client_id }),
    };
    println!("{out}");
    Ok(())
}

async fn client_list(db_url: &str, list: ListArgs) -> anyhow::Result<()> {
    let db = store::open(db_url).await?;
    let clients = db.store.list_clients().await?;
    if list.json {
        let view: Vec<_> = clients
            .iter()
            .map(|c| {
                json!({
                    "client_id": c.client_id,
                    "name": c.name,
                    "type": if c.is_public { "public" } else { "confidential" },
                    "token_endpoint_auth_method": c.auth_method().as_str(),
                    "redirect_uris": c.redirect_uris,
                    "scope": c.scopes,
                    "created_at": c.created_at,
                    "require_pushed_authorization_requests": c.settings.require_pushed_authorization_requests,
                    "fapi2": c.settings.fapi2,
                })
            })
            .collect();
        println!("{}", serde_json::to_string(&view)?);
        return Ok(());
    }
    println!("{:<24} {:<13} {:<24} REDIRECT_URIS", "CLIENT_ID", "TYPE", "NAME");
    for c in clients {
        let uris: Vec<&str> = c.redirect_uris.iter().map(RedirectUri::as_str).collect();
        let kind = if c.is_public { "public" } else { "confidential" };
        println!("{:<24} {:<13} {:<24} {}", c.client_id, kind, c.name, uris.join(" "));
    }
    Ok(())
}

async fn device_command(db_url: &str, command: DeviceCommand) -> anyhow::Result<()> {
    match command {
        DeviceCommand::List(list) => {
            let db = store::open(db_url).await?;
            let now = crate::now();
            let entries = db.store.device_codes(now).await?;
            if list.json {
                let view: Vec<_> = entries
                    .iter()
                    .map(|e| {
                        json!({
                            "client_id": e.code.client_id,
                            "client_name": e.client_name,
                            "user_code": e.code.user_code_hint,
                            "state": e.code.status.as_str(),
                            "user": e.username,
                            "scope": e.code.scopes,
                            "created_at": e.code.created_at,
                            "expires_at": e.code.expires_at,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string(&view)?);
                return Ok(());
            }
            println!(
                "{:<24} {:<10} {:<9} {:<16} EXPIRES_IN",
                "CLIENT_ID", "USER_CODE", "STATE", "USER"
            );
            for e in entries {
                println!(
                    "{:<24} {:<10} {:<9} {:<16} {}s",
                    e.code.client_id,
                    e.code.user_code_hint,
                    e.code.status.as_str(),
                    e.username.as_deref().unwrap_or("-"),
                    (e.code.expires_at - now).max(0)
                );
            }
            Ok(())
        }
        DeviceCommand::Revoke { user_code } => {
            // RFC 8628 §6.1: as the user would type it, without case or dashes.
            let Some(code) = tessera_core::device::normalise_user_code(&user_code) else {
                bail!("{user_code:?} is not a user code (8 letters of BCDFGHJKLMNPQRSTVWXZ, e.g. WDJB-MJHT)");
            };
            let db = store::open(db_url).await?;
            if !db
                .store
                .revoke_device_code(&tessera_core::device::user_code_hash(&code))
                .await?
            {
                bail!(
                    "no pending or approved device code {}",
                    tessera_core::device::display_user_code(&code)
                );
            }
            let event = cli_event(AuditKind::GrantRevoked)
                .detail(json!({ "device_code": tessera_core::device::user_code_hint(&code) }).to_string());
            audit::record(db.store.as_ref(), event).await;
            println!(
                "{}",
                json!({ "user_code": tessera_core::device::display_user_code(&code), "revoked": true })
            );
            Ok(())
        }
    }
}

async fn keys_rotate(db_url: &str, alg: &str, signs_in: i64) -> anyhow::Result<()> {
    anyhow::ensure!(
        (0..=86_400).contains(&signs_in),
        "--signs-in must be between 0 and 86400 seconds"
    );
    // Validate before touching the database.
    let algs: Vec<SigningAlg> = if alg == "all" {
        SigningAlg::ALL.to_vec()
    } else {
        vec![alg.parse().map_err(|_| {
            anyhow::anyhow!(
                "unknown algorithm {alg:?} (expected {} or all)",
                SigningAlg::names().join(", ")
            )
        })?]
    };
    let db = store::open(db_url).await?;
    let secret = crate::crypto::server_secret::ServerSecret::load_existing()?;
    let mut rotated = Vec::new();
    let signs_from = crate::now() + signs_in;
    for alg in algs {
        let kid = crate::crypto::keyring::rotate(db.store.as_ref(), &secret, alg, signs_from).await?;
        let event = cli_event(AuditKind::KeyRotated)
            .subject(&kid)
            .detail(json!({ "alg": alg.as_str(), "signs_from": signs_from }).to_string());
        audit::record(db.store.as_ref(), event).await;
        rotated.push(json!({ "alg": alg.as_str(), "kid": kid, "signs_from": signs_from }));
    }
    println!("{}", json!({ "rotated": rotated }));
    Ok(())
}

async fn client_remove(db_url: &str, client_id: &str) -> anyhow::Result<()> {
    let db = store::open(db_url).await?;
    if !db.store.delete_client(client_id).await? {
        bail!("no client with id {client_id:?}");
    }
    let event = cli_event(AuditKind::ClientDeleted).client(client_id).subject(client_id);
    audit::record(db.store.as_ref(), event).await;
    println!("{}", json!({ "client_id": client_id, "removed": true }));
    Ok(())
}

/// Every scope name a client or an API may list: built-in, then defined.
async fn scope_names(store: &dyn tessera_core::store::Store) -> anyhow::Result<Vec<String>> {
    Ok(store::scope_names(store).await?)
}

/// The identifiers of the registered APIs.
async fn api_identifiers(store: &dyn tessera_core::store::Store) -> anyhow::Result<Vec<String>> {
    Ok(store.apis().await?.into_iter().map(|a| a.identifier).collect())
}

fn api_json(api: &tessera_core::store::Api) -> serde_json::Value {
    json!({
        "identifier": api.identifier,
        "name": api.settings.name,
        "scope": api.settings.scopes,
        "access_token_alg": api.settings.access_token_alg,
        "access_token_ttl": api.settings.access_token_ttl,
        "created_at": api.created_at,
    })
}

/// `tessera api add|list|update|remove`: the console's APIs page, with its rules.
/// `tessera scope add`: the console's rule (`validate_scope`), then the store.
async fn scope_add(db_url: &str, name: &str, description: &str) -> anyhow::Result<()> {
    let (name, description) =
        tessera_core::registration::validate_scope(name, description).map_err(|e| refused("scope", e))?;
    let db = store::open(db_url).await?;
    let store = db.store.as_ref();
    store
        .create_scope(&name, &description, crate::now())
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => anyhow::anyhow!("a scope {name:?} exists already"),
            other => other.into(),
        })?;
    audit::record(store, cli_event(AuditKind::ScopeCreated).subject(&name)).await;
    println!("{}", json!({ "name": name, "description": description }));
    Ok(())
}

async fn api_command(db_url: &str, command: ApiCommand) -> anyhow::Result<()> {
    let db = store::open(db_url).await?;
    let store = db.store.as_ref();
    match command {
        ApiCommand::Add(add) => {
            let (identifier, settings) = ApiRegistration {
                identifier: add.identifier,
                name: add.name,
                scopes: add.scope,
                access_token_alg: add.access_token_alg.to_string(),
                access_token_ttl: add.access_token_ttl.to_string(),
            }
            .validate(&scope_names(store).await?)
            .map_err(|e| refused("API", e))?;
            let api = store
                .create_api(&identifier, &settings, crate::now())
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(_) => anyhow::anyhow!("an API {identifier:?} is registered already"),
                    other => other.into(),
                })?;
            let event = cli_event(AuditKind::ApiCreated)
                .subject(&identifier)
                .detail(json!({ "name": api.settings.name }).to_string());
            audit::record(store, event).await;
            println!("{}", api_json(&api));
        }
        ApiCommand::List(list) => {
            let apis = store.apis().await?;
            if list.json {
                let view: Vec<_> = apis.iter().map(api_json).collect();
                println!("{}", serde_json::to_string(&view)?);
                return Ok(());
            }
            println!("{:<40} {:<24} {:<6} {:<7} SCOPES", "IDENTIFIER", "NAME", "ALG", "TTL");
            for a in apis {
                println!(
                    "{:<40} {:<24} {:<6} {:<7} {}",
                    a.identifier,
                    a.settings.name,
                    a.settings.access_token_alg,
                    a.settings.access_token_ttl,
                    a.settings.scopes
                );
            }
        }
        ApiCommand::Update(u) => {
            let Some(api) = store.api(&u.identifier).await? else {
                bail!("no API {:?}", u.identifier);
            };
            let s = api.settings;
            let (_, settings) = ApiRegistration {
                identifier: api.identifier.clone(),
                name: u.name.unwrap_or(s.name),
                scopes: u.scope.unwrap_or_else(|| s.scopes.to_string()),
                access_token_alg: u.access_token_alg.unwrap_or(s.access_token_alg).to_string(),
                access_token_ttl: u.access_token_ttl.unwrap_or(s.access_token_ttl).to_string(),
            }
            .validate(&scope_names(store).await?)
            .map_err(|e| refused("API", e))?;
            if !store.update_api(&api.identifier, &settings).await? {
                bail!("no API {:?}", api.identifier);
            }
            let event = cli_event(AuditKind::ApiUpdated)
                .subject(&api.identifier)
                .detail(json!({ "name": settings.name }).to_string());
            audit::record(store, event).await;
            let updated = tessera_core::store::Api { settings, ..api };
            println!("{}", api_json(&updated));
        }
        ApiCommand::Remove { identifier } => {
            let users: Vec<String> = store
                .list_clients()
                .await?
                .into_iter()
                .filter(|c| c.settings.resources.contains(&identifier))
                .map(|c| c.client_id)
                .collect();
            if !users.is_empty() {
                bail!(
                    "API {identifier:?} is still allowed to client(s) {}; remove it from them first",
                    users.join(", ")
                );
            }
            if !store.delete_api(&identifier).await? {
                bail!("no API {identifier:?}");
            }
            audit::record(store, cli_event(AuditKind::ApiDeleted).subject(&identifier)).await;
            println!("{}", json!({ "identifier": identifier, "removed": true }));
        }
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum RegistrationCommand {
    /// Print the mode (and open mode's scopes), or set it: off (no /register), token (an
    /// initial access token is required), open (anyone may register a public client).
    /// Every instance on the database follows within seconds; prints the settings as JSON
    Mode {
        /// off, token or open [default: print the current settings]
        #[arg(value_parser = one_of::<RegistrationMode>(RegistrationMode::names()))]
        mode: Option<RegistrationMode>,
        /// The scopes a client registered in open mode may have, space-separated
        #[arg(long)]
        open_scopes: Option<String>,
    },
    /// Initial access tokens
    #[command(subcommand)]
    Token(RegistrationTokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum RegistrationTokenCommand {
    /// Create one; prints it as JSON with its value, shown this once (stored hashed)
    Create(TokenCreate),
    /// List them as JSON (never their values)
    List,
    /// Revoke one by its id
    Revoke {
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct TokenCreate {
    /// How long it can be used: seconds, or a number with s, m, h or d (at most 365d)
    #[arg(long, default_value = "1d")]
    pub expires_in: String,
    /// How many clients it may register
    #[arg(long, default_value_t = 1)]
    pub uses: i64,
    /// The scopes a client registered with it may have, space-separated
    #[arg(long, default_value = tessera_core::registration::NEW_CLIENT_SCOPES)]
    pub scopes: String,
    /// It may register confidential clients (a secret or private_key_jwt), not only public ones
    #[arg(long)]
    pub confidential: bool,
    /// A note for the list (who it is for)
    #[arg(long, default_value = "")]
    pub description: String,
}

use tessera_core::dynamic_registration::RegistrationMode;

fn initial_token_json(t: &tessera_core::store::InitialAccessToken) -> serde_json::Value {
    json!({
        "id": t.id,
        "description": t.description,
        "scopes": t.scopes.to_string(),
        "confidential": t.allow_confidential,
        "uses": t.uses_total,
        "uses_left": t.uses_left,
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "revoked_at": t.revoked_at,
    })
}

/// `tessera registration mode|token ...`: what the console's Registration page does.
async fn registration_command(db_url: &str, command: RegistrationCommand) -> anyhow::Result<()> {
    let db = store::open(db_url).await?;
    let store = db.store.as_ref();
    let now = crate::now();
    match command {
        RegistrationCommand::Mode { mode, open_scopes } => {
            let mut s = store.registration_settings().await?;
            if let Some(raw) = open_scopes {
                let known = scope_names(store).await?;
                let scopes =
                    tessera_core::types::ScopeSet::parse(&raw).map_err(|e| anyhow::anyhow!("--open-scopes: {e}"))?;
                if let Some(unknown) = scopes.iter().find(|n| !known.iter().any(|k| k == n)) {
                    bail!("--open-scopes: unknown scope {unknown:?}");
                }
                s.open_scopes = scopes;
            }
            if let Some(mode) = mode {
                s.mode = mode.as_str().to_owned();
            }
            store.set_registration_settings(&s, now).await?;
            println!(
                "{}",
                json!({ "mode": s.mode, "open_scopes": s.open_scopes.to_string() })
            );
        }
        RegistrationCommand::Token(RegistrationTokenCommand::Create(c)) => {
            let expires_in = tessera_core::dynamic_registration::parse_duration(&c.expires_in)
                .ok_or_else(|| anyhow::anyhow!("--expires-in: give seconds, or a number with s, m, h or d"))?;
            let (token, value) = tessera_core::dynamic_registration::InitialTokenRequest {
                description: &c.description,
                scopes: &c.scopes,
                allow_confidential: c.confidential,
                uses: c.uses,
                expires_in,
            }
            .validate(&scope_names(store).await?, now)
            .map_err(|e| refused("initial access token", e))?;
            store
                .create_initial_token(&token, &tessera_core::secret::hash_secret(&value))
                .await?;
            let mut out = initial_token_json(&token);
            out["token"] = value.into();
            println!("{out}");
        }
        RegistrationCommand::Token(RegistrationTokenCommand::List) => {
            let view: Vec<_> = store.initial_tokens().await?.iter().map(initial_token_json).collect();
            println!("{}", serde_json::to_string(&view)?);
        }
        RegistrationCommand::Token(RegistrationTokenCommand::Revoke { id }) => {
            if !store.revoke_initial_token(&id, now).await? {
                bail!("no initial access token {id:?} that is not revoked already");
            }
            println!("{}", json!({ "id": id, "revoked": true }));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use clap::Parser;

    use super::*;

    /// Key ids are thumbprints and client / token ids random base64url: about one in 64
    /// starts with `-`, which clap would otherwise take for an option.
    #[test]
    fn ids_that_start_with_a_dash_are_values() {
        let kid = "-lFz0Yc9bXf6aA";
        match Cli::try_parse_from(["tessera", "keys", "revoke", kid]).unwrap().command {
            Some(Command::Keys(KeysCommand::Revoke { kid: got })) => assert_eq!(got, kid),
            other => panic!("{other:?}"),
        }
        match Cli::try_parse_from(["tessera", "client", "remove", "-abc"])
            .unwrap()
            .command
        {
            Some(Command::Client(ClientCommand::Remove { client_id })) => assert_eq!(client_id, "-abc"),
            other => panic!("{other:?}"),
        }
    }
}
