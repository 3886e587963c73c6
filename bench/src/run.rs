//! `tessera-bench run`: one scenario against one server, or against several instances of
//! one deployment (repeated `--base`: same database, same issuer), the single-request
//! scenarios alternating between them request by request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use clap::{Args, ValueEnum};
use reqwest::header::{ACCEPT, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};

use crate::jose::{Assertions, Es256, Jtis, Presigned, Proofs};
use crate::lean::{Conn, Prepared};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Scenario {
    /// GET the OpenID Connect discovery document.
    Discovery,
    /// POST /token grant_type=client_credentials (the client decides the JWT algorithm).
    ClientCredentialsEs256,
    /// Same, with the RS256 client.
    ClientCredentialsRs256,
    /// client_credentials authenticated with `private_key_jwt`: a fresh ES256 assertion per
    /// request (`--client-key`), `aud` the issuer.
    ClientCredentialsPrivateKeyJwt,
    /// client_credentials (Basic, as ClientCredentialsEs256) with a fresh DPoP proof per
    /// request; the answer must be a DPoP-bound token.
    ClientCredentialsDpop,
    /// POST the introspection endpoint with a valid user access token (must be active).
    Introspection,
    /// GET /api/resource with a valid user access token (Tessera's sample resource).
    Resource,
    /// The same with a DPoP-bound user access token and a fresh proof (with `ath`) per call.
    ResourceDpop,
    /// refresh_token grant, each worker chaining its own rotating refresh tokens.
    Refresh,
    /// authorize (existing session, remembered consent) → code → token, with PKCE.
    CodeFlow,
    /// GET the login page, POST the login form (Argon2id): Tessera only.
    Login,
}

impl Scenario {
    pub const ALL: [Scenario; 11] = [
        Scenario::Discovery,
        Scenario::ClientCredentialsEs256,
        Scenario::ClientCredentialsRs256,
        Scenario::ClientCredentialsPrivateKeyJwt,
        Scenario::ClientCredentialsDpop,
        Scenario::Introspection,
        Scenario::Resource,
        Scenario::ResourceDpop,
        Scenario::Refresh,
        Scenario::CodeFlow,
        Scenario::Login,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Discovery => "discovery",
            Scenario::ClientCredentialsEs256 => "client_credentials_es256",
            Scenario::ClientCredentialsRs256 => "client_credentials_rs256",
            Scenario::ClientCredentialsPrivateKeyJwt => "client_credentials_private_key_jwt",
            Scenario::ClientCredentialsDpop => "client_credentials_dpop",
            Scenario::Introspection => "introspection",
            Scenario::Resource => "resource",
            Scenario::ResourceDpop => "resource_dpop",
            Scenario::Refresh => "refresh",
            Scenario::CodeFlow => "code_flow",
            Scenario::Login => "login",
        }
    }
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// A label for the report: `tessera` or `oidc-provider`.
    #[arg(long)]
    target: String,
    /// The server's issuer / base URL, e.g. http://127.0.0.1:28081. Repeat for several
    /// instances of one deployment (one database, one --issuer): each worker then sends the
    /// single-request scenarios' requests to them in turn, one request each (round-robin
    /// per request, each worker starting at another instance); sign-in, code flow and
    /// login go to the first. With several, the refresh scenario first checks that a
    /// refresh token rotated on the first instance is refused as reused by the second.
    #[arg(long, required = true)]
    base: Vec<String>,
    #[arg(long, value_enum)]
    scenario: Scenario,
    /// Measured window: `10s`, `500ms` or plain seconds.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Warm-up before the measured window (same load, not recorded).
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    warmup: Duration,
    /// Concurrent workers, one keep-alive connection each.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    #[arg(long)]
    client_id: String,
    #[arg(long)]
    client_secret: String,
    /// The client's ES256 private key (PKCS#8 DER, from `tessera-bench client-key`) for
    /// client_credentials_private_key_jwt.
    #[arg(long)]
    client_key: Option<std::path::PathBuf>,
    /// `scope` for client_credentials (oidc-provider needs `api` to issue a JWT).
    #[arg(long, default_value = "")]
    cc_scope: String,
    /// A registered redirect URI of the client (nothing needs to listen there).
    #[arg(long, default_value = "http://127.0.0.1:9/cb")]
    redirect_uri: String,
    /// The user to sign in as (code flow, refresh, login setup).
    #[arg(long, default_value = "bench")]
    username: String,
    #[arg(long, default_value = "bench-password")]
    password: String,
    /// The server's pid: its VmRSS is sampled during the run (peak RSS).
    #[arg(long)]
    pid: Option<u32>,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    request_timeout: Duration,
    /// Also write the JSON result here.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Assertions / DPoP proofs signed before the clock starts (0: each request signs its
    /// own). Default: 15,000 per second of warm-up and measurement, more than either server
    /// answers here; past them requests sign their own (`signed_live` in the result).
    #[arg(long)]
    presign: Option<usize>,
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, scale) = if let Some(v) = s.strip_suffix("ms") {
        (v, 0.001)
    } else if let Some(v) = s.strip_suffix('s') {
        (v, 1.0)
    } else if let Some(v) = s.strip_suffix('m') {
        (v, 60.0)
    } else {
        (s, 1.0)
    };
    let n: f64 = num.trim().parse().map_err(|_| format!("bad duration {s:?}"))?;
    if !(n.is_finite() && n >= 0.0) {
        return Err(format!("bad duration {s:?}"));
    }
    Ok(Duration::from_secs_f64(n * scale))
}

#[derive(Serialize, Debug)]
pub struct RunResult {
    pub target: String,
    pub scenario: Scenario,
    pub concurrency: usize,
    pub warmup_s: f64,
    pub duration_s: f64,
    /// Iterations completed inside the measured window (one iteration of code_flow is the
    /// authorize request(s) plus the token request; of login, the page plus the form post).
    pub requests: u64,
    pub errors: u64,
    /// The instances the requests alternated between (`--base` given this many times).
    pub instances: usize,
    /// The refresh scenario across instances: what the reuse check saw (it must pass for
    /// the run to report at all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reuse_check: Option<String>,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
    pub max_ms: f64,
    /// Peak VmRSS of the server during warm-up + measurement, in KiB (when --pid given).
    pub peak_rss_kb: Option<u64>,
    /// CPU seconds (user + system) the load generator spent in the measured window: what
    /// the client's side (including its signing) took from the cores the server shares.
    pub generator_cpu_s: Option<f64>,
    /// CPU seconds the server spent in the measured window (when --pid given).
    pub server_cpu_s: Option<f64>,
    /// The first few distinct errors.
    pub error_samples: Vec<String>,
    /// JWTs (assertions, DPoP proofs) signed before the clock started, and those requests
    /// signed themselves because the pool ran out (warm-up included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presigned: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_live: Option<u64>,
}

/// Endpoints from the discovery document, so one client fits both servers.
#[derive(Clone, Debug)]
struct Endpoints {
    discovery: String,
    issuer: String,
    authorize: String,
    token: String,
    introspection: String,
    resource: String,
}

struct Ctx {
    args: RunArgs,
    ep: Endpoints,
    /// A valid user access token (introspection, resource).
    shared_token: Option<String>,
    counter: AtomicU64,
    /// The request of a single-request scenario, sent through the lean client.
    prepared: Option<Prepared>,
    /// What is signed per request (assertions, DPoP proofs) and its `jti`s.
    signing: Signing,
}

/// Per-request JWTs, made in the load generator for both servers alike.
struct Signing {
    jtis: Jtis,
    /// private_key_jwt: the client's assertions for `/token`.
    assertions: Option<Assertions>,
    /// `form_urlencoded` body up to `client_assertion=` (the assertion follows).
    assertion_body: String,
    /// The DPoP key (one per run, generated here) and its proofs for the scenario's request.
    proofs: Option<Proofs>,
    /// The assertions or proofs signed before the clock started.
    pool: Option<Presigned>,
    /// Requests that found the pool empty and signed their own.
    live: AtomicU64,
}

impl Signing {
    /// The next pre-signed JWT, or one signed now by `sign`.
    fn next<'a>(
        &'a self,
        sign: impl FnOnce() -> std::result::Result<String, String>,
    ) -> std::result::Result<std::borrow::Cow<'a, str>, String> {
        if let Some(jwt) = self.pool.as_ref().and_then(Presigned::take) {
            return Ok(std::borrow::Cow::Borrowed(jwt));
        }
        self.live.fetch_add(1, Ordering::Relaxed);
        sign().map(std::borrow::Cow::Owned)
    }
}

/// RFC 7523 §2.2.
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What a worker keeps between iterations.
struct Worker {
    client: Client,
    /// The lean client's connections (single-request scenarios), one per instance.
    conns: Vec<Conn>,
    /// Which of `conns` the next request goes to (round-robin per request).
    next: usize,
    refresh_token: Option<String>,
}

impl Worker {
    fn new(ctx: &Ctx, client: Client, n: usize, refresh_token: Option<String>) -> Result<Worker> {
        let conns = ctx
            .args
            .base
            .iter()
            .map(|b| Conn::new(b, ctx.args.request_timeout))
            .collect::<Result<Vec<_>>>()?;
        Ok(Worker {
            client,
            next: n % conns.len(),
            conns,
            refresh_token,
        })
    }

    /// The connection for this request: the instances in turn.
    fn conn(&mut self) -> &mut Conn {
        let i = self.next % self.conns.len();
        self.next = self.next.wrapping_add(1);
        &mut self.conns[i]
    }
}

/// The fixed request of a single-request scenario (refresh varies only its body).
fn prepare(ctx: &Ctx) -> Result<Option<Prepared>> {
    let a = &ctx.args;
    let token = ctx.shared_token.as_deref().unwrap_or_default();
    Ok(Some(match a.scenario {
        Scenario::Discovery => Prepared::get(&ctx.ep.discovery)?,
        Scenario::ClientCredentialsEs256 | Scenario::ClientCredentialsRs256 | Scenario::ClientCredentialsDpop => {
            Prepared::form(&ctx.ep.token, &cc_form(a))?.basic_auth(&a.client_id, &a.client_secret)?
        }
        // The body is made per request (the assertion); this one is never sent.
        Scenario::ClientCredentialsPrivateKeyJwt => Prepared::form(&ctx.ep.token, &cc_form(a))?,
        Scenario::Introspection => {
            Prepared::form(&ctx.ep.introspection, &[("token", token)])?.basic_auth(&a.client_id, &a.client_secret)?
        }
        Scenario::Resource => Prepared::get(&ctx.ep.resource)?.bearer(token)?,
        Scenario::ResourceDpop => Prepared::get(&ctx.ep.resource)?.dpop_token(token)?,
        Scenario::Refresh => Prepared::form(&ctx.ep.token, &[("grant_type", "refresh_token")])?
            .basic_auth(&a.client_id, &a.client_secret)?,
        Scenario::CodeFlow | Scenario::Login => return Ok(None),
    }))
}

fn cc_form(a: &RunArgs) -> Vec<(&'static str, &str)> {
    let mut form = vec![("grant_type", "client_credentials")];
    if !a.cc_scope.is_empty() {
        form.push(("scope", a.cc_scope.as_str()));
    }
    form
}

/// What this scenario signs per request. The DPoP key is made here, once; the resource's
/// proofs need the access token (`ath`), so they are set up after it is obtained.
fn signing(a: &RunArgs, ep: &Endpoints) -> Result<Signing> {
    let mut s = Signing {
        jtis: Jtis::new()?,
        assertions: None,
        assertion_body: String::new(),
        proofs: None,
        pool: None,
        live: AtomicU64::new(0),
    };
    match a.scenario {
        Scenario::ClientCredentialsPrivateKeyJwt => {
            let path = a
                .client_key
                .as_ref()
                .ok_or_else(|| anyhow!("{} needs --client-key", a.scenario.name()))?;
            let der = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            s.assertions = Some(Assertions::new(Es256::from_pkcs8(&der)?, &a.client_id, &ep.issuer));
            let mut form = cc_form(a);
            form.push(("client_assertion_type", ASSERTION_TYPE));
            s.assertion_body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish();
            s.assertion_body.push_str("&client_assertion=");
        }
        Scenario::ClientCredentialsDpop => {
            s.proofs = Some(Proofs::new(Es256::generate()?.0, "POST", &ep.token, None));
        }
        _ => {}
    }
    Ok(s)
}

/// Signs the run's assertions or proofs before the clock starts (see [`Presigned`]).
fn presign(ctx: &mut Ctx) -> Result<()> {
    let a = &ctx.args;
    let seconds = (a.warmup + a.duration).as_secs_f64();
    let n = a.presign.unwrap_or((15_000.0 * seconds).ceil() as usize);
    if n == 0 {
        return Ok(());
    }
    let s = &ctx.signing;
    let sign: Box<dyn Fn() -> std::result::Result<String, String> + Sync> = match (&s.assertions, &s.proofs) {
        (Some(assertions), _) => Box::new(|| assertions.sign(&s.jtis)),
        (None, Some(proofs)) => Box::new(|| proofs.sign(&s.jtis)),
        (None, None) => return Ok(()),
    };
    let started = Instant::now();
    let pool = Presigned::new(n, &*sign)?;
    eprintln!(
        "{}: {} JWTs signed before the clock started, in {:.1} s",
        a.scenario.name(),
        pool.len(),
        started.elapsed().as_secs_f64()
    );
    drop(sign);
    ctx.signing.pool = Some(pool);
    Ok(())
}

pub fn main(args: RunArgs) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let out = args.out.clone();
    let result = rt.block_on(run(args))?;
    let json = serde_json::to_string_pretty(&result)?;
    println!("{json}");
    if let Some(path) = out {
        std::fs::write(&path, format!("{json}\n")).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn client(args: &RunArgs, cookies: bool) -> Result<Client> {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(cookies)
        .pool_max_idle_per_host(1)
        .timeout(args.request_timeout)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .context("http client")
}

async fn discover(args: &RunArgs) -> Result<Endpoints> {
    let base = args.base[0].trim_end_matches('/').to_owned();
    let discovery = format!("{base}/.well-known/openid-configuration");
    let doc: Value = client(args, false)?
        .get(&discovery)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .with_context(|| format!("GET {discovery}"))?
        .json()
        .await
        .context("discovery document")?;
    let field = |name: &str| -> Result<String> {
        doc.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("discovery has no {name}"))
    };
    Ok(Endpoints {
        authorize: field("authorization_endpoint")?,
        token: field("token_endpoint")?,
        introspection: field("introspection_endpoint").unwrap_or_else(|_| format!("{base}/introspect")),
        resource: format!("{base}/api/resource"),
        issuer: field("issuer")?,
        discovery,
    })
}

async fn run(args: RunArgs) -> Result<RunResult> {
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    for b in &args.base {
        Url::parse(b).with_context(|| format!("--base {b}: not a URL"))?;
    }
    let ep = discover(&args).await?;
    let signing = signing(&args, &ep)?;
    let mut ctx = Ctx {
        args,
        ep,
        shared_token: None,
        counter: AtomicU64::new(0),
        prepared: None,
        signing,
    };

    // Shared setup: one sign-in and code flow for a user access token (DPoP-bound for
    // resource_dpop: the code is redeemed with a proof of a key made for it).
    if matches!(
        ctx.args.scenario,
        Scenario::Introspection | Scenario::Resource | Scenario::ResourceDpop
    ) {
        let token_proofs = if ctx.args.scenario == Scenario::ResourceDpop {
            Some(Proofs::new(Es256::generate()?.0, "POST", &ctx.ep.token, None))
        } else {
            None
        };
        let c = client(&ctx.args, true)?;
        let tokens = authorize_and_redeem(&ctx, &c, "openid profile", true, token_proofs.as_ref())
            .await
            .map_err(|e| anyhow!("setup (sign in, code flow): {e}"))?;
        let at = tokens
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("setup: no access_token in {tokens}"))?;
        if let Some(p) = token_proofs {
            dpop_bound(&tokens).map_err(|e| anyhow!("setup: {e}"))?;
            // The key the token is bound to signs the resource's proofs.
            ctx.signing.proofs = Some(p.rebind("GET", &ctx.ep.resource, Some(at)));
        }
        ctx.shared_token = Some(at.to_owned());
    }
    ctx.prepared = prepare(&ctx)?;
    presign(&mut ctx)?;
    let reuse_check = if ctx.args.scenario == Scenario::Refresh && ctx.args.base.len() > 1 {
        Some(
            reuse_across_instances(&ctx)
                .await
                .context("reuse check across instances")?,
        )
    } else {
        None
    };
    let ctx = Arc::new(ctx);

    // Per-worker setup, all before the clock starts.
    let mut setups = Vec::with_capacity(ctx.args.concurrency);
    for n in 0..ctx.args.concurrency {
        let ctx = Arc::clone(&ctx);
        setups.push(tokio::spawn(async move { setup_worker(&ctx, n).await }));
    }
    let mut workers = Vec::with_capacity(setups.len());
    for s in setups {
        workers.push(s.await.context("worker setup task")??);
    }

    let start = Instant::now();
    let warm_end = start + ctx.args.warmup;
    let end = warm_end + ctx.args.duration;

    let rss = ctx.args.pid.map(|pid| {
        tokio::spawn(async move {
            let mut peak = 0u64;
            loop {
                if let Some(kb) = vm_rss_kb(pid) {
                    peak = peak.max(kb);
                }
                if Instant::now() >= end {
                    return peak;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    });

    // CPU time over the measured window, both sides.
    let server_pid = ctx.args.pid;
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(warm_end.into()).await;
        let before = (cpu_s("self"), server_pid.and_then(|p| cpu_s(&p.to_string())));
        tokio::time::sleep_until(end.into()).await;
        let after = (cpu_s("self"), server_pid.and_then(|p| cpu_s(&p.to_string())));
        let diff = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
        (diff(before.0, after.0), diff(before.1, after.1))
    });

    let mut handles = Vec::with_capacity(workers.len());
    for mut w in workers {
        let ctx = Arc::clone(&ctx);
        handles.push(tokio::spawn(async move {
            let mut lat_us: Vec<u32> = Vec::new();
            let mut errors = 0u64;
            let mut samples: Vec<String> = Vec::new();
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let r = iteration(&ctx, &mut w).await;
                let t1 = Instant::now();
                if t0 < warm_end || t1 > end {
                    continue;
                }
                match r {
                    Ok(()) => lat_us.push(u32::try_from((t1 - t0).as_micros()).unwrap_or(u32::MAX)),
                    Err(e) => {
                        errors += 1;
                        if samples.len() < 5 && !samples.contains(&e) {
                            samples.push(e);
                        }
                    }
                }
            }
            (lat_us, errors, samples)
        }));
    }
    let mut lat: Vec<u32> = Vec::new();
    let mut errors = 0u64;
    let mut error_samples: Vec<String> = Vec::new();
    for h in handles {
        let (l, e, s) = h.await.context("worker task")?;
        lat.extend(l);
        errors += e;
        for x in s {
            if error_samples.len() < 5 && !error_samples.contains(&x) {
                error_samples.push(x);
            }
        }
    }
    let (generator_cpu_s, server_cpu_s) = cpu.await.context("CPU sampler")?;
    let peak_rss_kb = match rss {
        Some(h) => Some(h.await.context("rss sampler")?),
        None => None,
    };
    lat.sort_unstable();
    let pct = |q: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((lat.len() - 1) as f64 * q).round() as usize;
        lat.get(i).copied().map_or(0.0, |us| f64::from(us) / 1000.0)
    };
    let secs = ctx.args.duration.as_secs_f64().max(1e-9);
    let ok = lat.len() as u64;
    let mean_ms = if lat.is_empty() {
        0.0
    } else {
        lat.iter().map(|&u| f64::from(u)).sum::<f64>() / lat.len() as f64 / 1000.0
    };
    Ok(RunResult {
        target: ctx.args.target.clone(),
        scenario: ctx.args.scenario,
        concurrency: ctx.args.concurrency,
        warmup_s: ctx.args.warmup.as_secs_f64(),
        duration_s: ctx.args.duration.as_secs_f64(),
        requests: ok + errors,
        errors,
        instances: ctx.args.base.len(),
        reuse_check,
        rps: ok as f64 / secs,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        mean_ms,
        max_ms: lat.last().map_or(0.0, |&u| f64::from(u) / 1000.0),
        peak_rss_kb,
        generator_cpu_s,
        presigned: ctx.signing.pool.as_ref().map(Presigned::len),
        signed_live: ctx
            .signing
            .pool
            .as_ref()
            .map(|_| ctx.signing.live.load(Ordering::Relaxed)),
        server_cpu_s,
        error_samples,
    })
}

/// User + system CPU seconds of a process (`self` or a pid) from /proc/PID/stat (fields 14
/// and 15, in USER_HZ = 100 ticks a second on Linux).
fn cpu_s(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after it are plain.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut f = rest.split_ascii_whitespace().skip(11);
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

fn vm_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The token endpoint of instance `i`: the discovered one's path on that instance.
fn token_at(ctx: &Ctx, i: usize) -> Result<String> {
    let path = Url::parse(&ctx.ep.token).context("token endpoint")?.path().to_owned();
    Ok(format!("{}{path}", ctx.args.base[i].trim_end_matches('/')))
}

/// RFC 9700 §4.14.2 across instances: a refresh token rotated on the first instance, then
/// presented to the second, must be refused (`invalid_grant`), and the token the rotation
/// issued must be dead too (the family revoked), on the first.
async fn reuse_across_instances(ctx: &Ctx) -> Result<String> {
    let a = &ctx.args;
    let c = client(a, true)?;
    let tokens = authorize_and_redeem(ctx, &c, "openid profile offline_access", true, None)
        .await
        .map_err(|e| anyhow!("sign in, code flow: {e}"))?;
    let rt0 = has_str(&tokens, "refresh_token").map_err(|e| anyhow!(e))?.to_owned();
    let refresh = |i: usize, rt: String| {
        let c = c.clone();
        async move {
            let res = c
                .post(token_at(ctx, i)?)
                .basic_auth(&a.client_id, Some(&a.client_secret))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", rt.as_str())])
                .send()
                .await?;
            let status = res.status();
            let body: Value = res.json().await?;
            anyhow::Ok((status, body))
        }
    };
    let (status, rotated) = refresh(0, rt0.clone()).await?;
    if status != StatusCode::OK {
        bail!("rotation on {}: HTTP {status} {rotated}", a.base[0]);
    }
    let rt1 = has_str(&rotated, "refresh_token").map_err(|e| anyhow!(e))?.to_owned();
    let refused = |what: &str, (status, body): (StatusCode, Value)| {
        if status == StatusCode::BAD_REQUEST && body["error"] == "invalid_grant" {
            Ok(())
        } else {
            Err(anyhow!("{what}: expected invalid_grant, got HTTP {status} {body}"))
        }
    };
    refused("the rotated-out token at the second instance", refresh(1, rt0).await?)?;
    refused("the family's new token at the first instance", refresh(0, rt1).await?)?;
    Ok(format!(
        "rotated at {}, the old token refused as reused at {} (invalid_grant), the new one then refused at {}",
        a.base[0], a.base[1], a.base[0]
    ))
}

async fn setup_worker(ctx: &Ctx, n: usize) -> Result<Worker> {
    match ctx.args.scenario {
        Scenario::CodeFlow => {
            // Sign in and consent once; iterations reuse the session cookie.
            let c = client(&ctx.args, true)?;
            authorize_and_redeem(ctx, &c, "openid profile", true, None)
                .await
                .map_err(|e| anyhow!("setup (sign in, consent): {e}"))?;
            Worker::new(ctx, c, n, None)
        }
        Scenario::Refresh => {
            // prompt=consent: oidc-provider grants offline_access only with it.
            let c = client(&ctx.args, true)?;
            let tokens = authorize_and_redeem(ctx, &c, "openid profile offline_access", true, None)
                .await
                .map_err(|e| anyhow!("setup (refresh token): {e}"))?;
            let rt = tokens
                .get("refresh_token")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("setup: no refresh_token in {tokens}"))?;
            Worker::new(ctx, client(&ctx.args, false)?, n, Some(rt.to_owned()))
        }
        _ => Worker::new(ctx, client(&ctx.args, false)?, n, None),
    }
}

type IterResult = std::result::Result<(), String>;

fn err_status(what: &str, status: StatusCode, body: &str) -> String {
    let mut b: String = body.chars().take(160).collect();
    b = b.replace('\n', " ");
    format!("{what}: HTTP {} {b}", status.as_u16())
}

async fn iteration(ctx: &Ctx, w: &mut Worker) -> IterResult {
    let a = &ctx.args;
    let Some(p) = ctx.prepared.as_ref() else {
        return match a.scenario {
            Scenario::CodeFlow => authorize_and_redeem(ctx, &w.client, "openid profile", false, None)
                .await
                .map(|_| ()),
            _ => login(ctx, &w.client).await,
        };
    };
    match a.scenario {
        Scenario::Discovery | Scenario::Resource => {
            lean_ok(a.scenario.name(), w.conn().send(p, None).await).map(|_| ())
        }
        Scenario::ResourceDpop => {
            let proof = ctx.signing.next(|| proofs(ctx)?.sign(&ctx.signing.jtis))?;
            lean_ok(
                a.scenario.name(),
                w.conn().send_with(p, Some(("dpop", &proof)), None).await,
            )
            .map(|_| ())
        }
        Scenario::ClientCredentialsEs256 | Scenario::ClientCredentialsRs256 => {
            let v = lean_json("token", w.conn().send(p, None).await)?;
            has_str(&v, "access_token").map(|_| ())
        }
        Scenario::ClientCredentialsPrivateKeyJwt => {
            let assertions = ctx.signing.assertions.as_ref().ok_or("no client key")?;
            let mut body = ctx.signing.assertion_body.clone();
            body.push_str(&ctx.signing.next(|| assertions.sign(&ctx.signing.jtis))?);
            let v = lean_json("token", w.conn().send(p, Some(body.into())).await)?;
            has_str(&v, "access_token").map(|_| ())
        }
        Scenario::ClientCredentialsDpop => {
            let proof = ctx.signing.next(|| proofs(ctx)?.sign(&ctx.signing.jtis))?;
            let v = lean_json("token", w.conn().send_with(p, Some(("dpop", &proof)), None).await)?;
            dpop_bound(&v)
        }
        Scenario::Introspection => {
            let v = lean_json("introspect", w.conn().send(p, None).await)?;
            if v.get("active").and_then(Value::as_bool) == Some(true) {
                Ok(())
            } else {
                Err(format!("introspect: not active: {v}"))
            }
        }
        Scenario::Refresh => {
            let Some(rt) = w.refresh_token.take() else {
                return Err("refresh chain broken".to_owned());
            };
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "refresh_token")
                .append_pair("refresh_token", &rt)
                .finish();
            let v = lean_json("refresh", w.conn().send(p, Some(body.into())).await)?;
            // Rotation: the next iteration must use the new one.
            w.refresh_token = Some(has_str(&v, "refresh_token")?.to_owned());
            Ok(())
        }
        Scenario::CodeFlow | Scenario::Login => Err("not a single-request scenario".to_owned()),
    }
}

fn proofs(ctx: &Ctx) -> std::result::Result<&Proofs, String> {
    ctx.signing.proofs.as_ref().ok_or_else(|| "no DPoP key".to_owned())
}

/// A token response with an access token bound to the proof's key (RFC 9449 §5:
/// `token_type` DPoP).
fn dpop_bound(v: &Value) -> IterResult {
    has_str(v, "access_token")?;
    match has_str(v, "token_type")? {
        t if t.eq_ignore_ascii_case("dpop") => Ok(()),
        t => Err(format!("token: token_type {t}, not DPoP")),
    }
}

fn lean_ok(
    what: &str,
    res: std::result::Result<(StatusCode, bytes::Bytes), String>,
) -> std::result::Result<bytes::Bytes, String> {
    let (status, body) = res.map_err(|e| format!("{what}: {e}"))?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(err_status(what, status, &String::from_utf8_lossy(&body)))
    }
}

fn lean_json(
    what: &str,
    res: std::result::Result<(StatusCode, bytes::Bytes), String>,
) -> std::result::Result<Value, String> {
    let body = lean_ok(what, res)?;
    serde_json::from_slice(&body).map_err(|e| format!("{what}: bad JSON: {e}"))
}

async fn json_ok(what: &str, res: reqwest::Result<reqwest::Response>) -> std::result::Result<Value, String> {
    let res = res.map_err(|e| format!("{what}: {e}"))?;
    let status = res.status();
    let body = res.bytes().await.map_err(|e| format!("{what}: body: {e}"))?;
    if !status.is_success() {
        return Err(err_status(what, status, &String::from_utf8_lossy(&body)));
    }
    serde_json::from_slice(&body).map_err(|e| format!("{what}: bad JSON: {e}"))
}

fn has_str<'a>(v: &'a Value, name: &str) -> std::result::Result<&'a str, String> {
    v.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no {name} in response"))
}

fn pkce(ctx: &Ctx) -> (String, String) {
    let n = ctx.counter.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    // 43..128 unreserved characters (RFC 7636 §4.1); uniqueness is all a benchmark needs.
    let verifier = format!("bench-{nanos:032x}-{n:020x}-pkce-verifier");
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// Authorization request → (sign-in and consent pages when `interactive`) → code → token
/// response. Without `interactive`, any page on the way is an error: the session and the
/// remembered consent must carry the request straight to the redirect URI. With `dpop`,
/// the code is redeemed with a proof (the tokens are bound to its key).
async fn authorize_and_redeem(
    ctx: &Ctx,
    c: &Client,
    scope: &str,
    interactive: bool,
    dpop: Option<&Proofs>,
) -> std::result::Result<Value, String> {
    let a = &ctx.args;
    let (verifier, challenge) = pkce(ctx);
    let mut url = Url::parse(&ctx.ep.authorize).map_err(|e| format!("authorize URL: {e}"))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &a.client_id)
            .append_pair("redirect_uri", &a.redirect_uri)
            .append_pair("scope", scope)
            .append_pair("state", "bench-state")
            .append_pair("nonce", "bench-nonce")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        if interactive && scope.contains("offline_access") {
            q.append_pair("prompt", "consent");
        }
    }
    let code = walk(ctx, c, url, interactive).await?;
    let mut req = c.post(&ctx.ep.token);
    if let Some(p) = dpop {
        req = req.header("dpop", p.sign(&ctx.signing.jtis)?);
    }
    let res = req
        .basic_auth(&a.client_id, Some(&a.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", a.redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await;
    let v = json_ok("token (code)", res).await?;
    has_str(&v, "access_token")?;
    Ok(v)
}

/// Follows redirects from the authorization request to the client's redirect URI and
/// returns the code, answering Tessera's or oidc-provider's (dev) login and consent forms
/// on the way when `interactive`.
async fn walk(ctx: &Ctx, c: &Client, start: Url, interactive: bool) -> std::result::Result<String, String> {
    let a = &ctx.args;
    let mut url = start;
    for _ in 0..16 {
        if url.as_str().starts_with(&a.redirect_uri) {
            if let Some(code) = query(&url, "code") {
                return Ok(code);
            }
            return Err(format!(
                "authorize: no code: error={:?} {:?}",
                query(&url, "error"),
                query(&url, "error_description")
            ));
        }
        let res = c
            .get(url.clone())
            .send()
            .await
            .map_err(|e| format!("GET {}: {e}", url.path()))?;
        let status = res.status();
        if status.is_redirection() {
            url = next_url(&url, &res)?;
            continue;
        }
        let body = res.text().await.map_err(|e| format!("GET {}: body: {e}", url.path()))?;
        if !status.is_success() {
            return Err(err_status(&format!("GET {}", url.path()), status, &body));
        }
        if !interactive {
            return Err(format!(
                "authorize: unexpected page {} (session or consent lost)",
                url.path()
            ));
        }
        let (post_to, form) = answer_page(ctx, &url, &body)?;
        let res = c
            .post(post_to.clone())
            .header(ACCEPT, "text/html")
            .form(&form)
            .send()
            .await
            .map_err(|e| format!("POST {}: {e}", post_to.path()))?;
        let status = res.status();
        if !status.is_redirection() {
            let body = res.text().await.unwrap_or_default();
            return Err(err_status(&format!("POST {}", post_to.path()), status, &body));
        }
        url = next_url(&post_to, &res)?;
    }
    Err("authorize: too many redirects".to_owned())
}

/// The form that answers a sign-in or consent page: Tessera's (`/login`, `/consent`, with
/// a CSRF token, posted to `/ui/...`) or oidc-provider's dev interactions (a form with a
/// hidden `prompt` of `login` or `consent`).
fn answer_page(ctx: &Ctx, url: &Url, body: &str) -> std::result::Result<(Url, Vec<(String, String)>), String> {
    let a = &ctx.args;
    let own = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    if let Some(csrf) = input_value(body, "csrf") {
        let request = input_value(body, "request").unwrap_or_default();
        let path = url.path().to_owned();
        let form = match path.as_str() {
            "/login" => vec![
                own("csrf", &csrf),
                own("request", &request),
                own("next", "/"),
                own("username", &a.username),
                own("password", &a.password),
            ],
            "/consent" => vec![own("csrf", &csrf), own("request", &request), own("decision", "allow")],
            other => return Err(format!("unexpected page {other}")),
        };
        let post_to = url.join(&format!("/ui{path}")).map_err(|e| format!("form URL: {e}"))?;
        return Ok((post_to, form));
    }
    let action = form_action(body).ok_or_else(|| format!("no form on page {}", url.path()))?;
    let post_to = url.join(&action).map_err(|e| format!("form URL: {e}"))?;
    let form = match input_value(body, "prompt").as_deref() {
        Some("login") => vec![
            own("prompt", "login"),
            own("login", &a.username),
            own("password", &a.password),
        ],
        Some("consent") => vec![own("prompt", "consent")],
        other => return Err(format!("unknown interaction {other:?} on {}", url.path())),
    };
    Ok((post_to, form))
}

async fn login(ctx: &Ctx, c: &Client) -> IterResult {
    let a = &ctx.args;
    let base = a.base[0].trim_end_matches('/');
    // A fresh session each time: keep cookies by hand, not in a jar.
    let res = c
        .get(format!("{base}/login"))
        .send()
        .await
        .map_err(|e| format!("GET /login: {e}"))?;
    let status = res.status();
    let cookies: Vec<String> = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::to_owned)
        .collect();
    let body = res.text().await.map_err(|e| format!("GET /login: body: {e}"))?;
    if !status.is_success() {
        return Err(err_status("GET /login", status, &body));
    }
    let csrf = input_value(&body, "csrf").ok_or("GET /login: no csrf field")?;
    let res = c
        .post(format!("{base}/ui/login"))
        .header(ACCEPT, "text/html")
        .header(COOKIE, cookies.join("; "))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", a.username.as_str()),
            ("password", a.password.as_str()),
            ("next", "/"),
        ])
        .send()
        .await
        .map_err(|e| format!("POST /ui/login: {e}"))?;
    let status = res.status();
    let location = res
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = res.text().await.unwrap_or_default();
    if !status.is_redirection() {
        return Err(err_status("POST /ui/login", status, &body));
    }
    if location.starts_with("/login") {
        return Err(format!("POST /ui/login: refused → {location}"));
    }
    Ok(())
}

fn next_url(current: &Url, res: &reqwest::Response) -> std::result::Result<Url, String> {
    let loc = res
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            format!(
                "{} {}: redirect without Location",
                res.status().as_u16(),
                current.path()
            )
        })?;
    current.join(loc).map_err(|e| format!("bad Location {loc:?}: {e}"))
}

fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#x2F;", "/")
        .replace("&#39;", "'")
}

/// The value of `<input ... name="NAME" ... value="...">` in a page.
fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let tag_start = html.get(..at)?.rfind('<')?;
    let tag_end = at + html.get(at..)?.find('>')?;
    let tag = html.get(tag_start..tag_end)?;
    let v = tag.find("value=\"")? + 7;
    let end = tag.get(v..)?.find('"')?;
    Some(unescape(tag.get(v..v + end)?))
}

/// The `action` of the first `<form>` in a page.
fn form_action(html: &str) -> Option<String> {
    let at = html.find("<form")?;
    let rest = html.get(at..)?;
    let tag = rest.get(..rest.find('>')?)?;
    let v = tag.find("action=\"")? + 8;
    let end = tag.get(v..)?.find('"')?;
    Some(unescape(tag.get(v..v + end)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cpu_time_is_read() {
        let t0 = cpu_s("self").unwrap();
        let mut x = 0u64;
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(150) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(cpu_s("self").unwrap() - t0 >= 0.05);
        assert_eq!(cpu_s("0"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("x").is_err());
    }

    #[test]
    fn forms() {
        let page = r#"<form autocomplete="off" action="/interaction/abc" method="post">
            <input type="hidden" name="prompt" value="login"/><input name="csrf" type="hidden" value="a&amp;b">"#;
        assert_eq!(form_action(page).as_deref(), Some("/interaction/abc"));
        assert_eq!(input_value(page, "prompt").as_deref(), Some("login"));
        assert_eq!(input_value(page, "csrf").as_deref(), Some("a&b"));
        assert_eq!(input_value(page, "nope"), None);
    }
}
