//! Shared test support: the databases every suite runs against, and a real server on a
//! free port.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;

use tessera::config::Config;
use tessera::store::{self, Database};
use tessera_core::secret::random_id;

/// A database for one test, removed afterwards where possible.
pub struct TestDb {
    pub name: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// One fresh SQLite database, and one fresh PostgreSQL database when
/// `TESSERA_TEST_POSTGRES_URL` names a server (the test script always starts one). Under
/// CI a missing PostgreSQL is an error, not a silent skip.
pub async fn databases() -> Vec<TestDb> {
    let mut dbs = vec![sqlite()];
    match std::env::var("TESSERA_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => dbs.push(postgres(&url).await),
        _ if std::env::var_os("CI").is_some() => panic!("CI is set but TESSERA_TEST_POSTGRES_URL is not"),
        _ => eprintln!("note: TESSERA_TEST_POSTGRES_URL not set; PostgreSQL cases skipped (make test sets it)"),
    }
    dbs
}

pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/tessera.db?mode=rwc", dir.path().display());
    TestDb {
        name: "sqlite",
        url,
        _dir: Some(dir),
    }
}

/// A new, empty database on the test server, so tests never see each other's rows.
pub async fn postgres(admin_url: &str) -> TestDb {
    use sqlx::Connection;
    let name = format!("t_{}", random_id().to_ascii_lowercase().replace(['-', '_'], ""));
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to test PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let mut url = url::Url::parse(admin_url).expect("postgres url");
    url.set_path(&name);
    TestDb {
        name: "postgres",
        url: url.to_string(),
        _dir: None,
    }
}

pub async fn open(db: &TestDb) -> Database {
    store::open(&db.url).await.expect("open database")
}

/// A running Tessera on 127.0.0.1 with an ephemeral port, serving `db`.
pub struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    pub db: Database,
    pub url: String,
}

/// The server secret of every test server and every `tessera` the tests run (pass it as
/// `TESSERA_SECRET`), so they can read each other's encrypted signing keys.
pub const TEST_SECRET: &str = "tessera-test-server-secret-0123456789abcdef";

pub fn test_secret() -> tessera::crypto::server_secret::ServerSecret {
    tessera::crypto::server_secret::ServerSecret::new(TEST_SECRET, &[]).expect("test secret")
}

pub async fn serve(db_url: &str) -> TestServer {
    serve_with(db_url, |_| {}).await
}

/// [`serve`] with the configuration changed by `configure` (limits, the demo).
pub async fn serve_with(db_url: &str, configure: impl FnOnce(&mut Config)) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut config = Config::resolve(Some(addr), None, None, db_url, "target/site").expect("config");
    config.secret = std::sync::Arc::new(test_secret());
    configure(&mut config);
    let db = store::open(db_url).await.expect("open");
    let keys = tessera::web::prepare(&db, &config).await.expect("keys, demo client");
    let app = tessera::web::router(&config, db.clone(), keys);
    tokio::spawn(async move {
        axum::serve(
            listener,
            axum::ServiceExt::into_make_service_with_connect_info::<SocketAddr>(app),
        )
        .await
        .expect("serve");
    });
    TestServer {
        addr,
        base: format!("http://{addr}"),
        db,
        url: db_url.to_owned(),
    }
}

/// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        // A request the server never answers fails the test with its URL, not a hang.
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("client")
}

/// The value of `<input ... name="NAME" value="...">` in a page.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + 7;
    let end = tag[v..].find('"')?;
    Some(tag[v..v + end].to_owned())
}

/// A user created straight in the store, with the display name "<name> Example".
pub async fn add_user(server: &TestServer, name: &str, password: &str, admin: bool) -> String {
    use tessera_core::store::NewUser;
    let user = server
        .db
        .store
        .create_user(
            NewUser {
                username: tessera_core::types::Username::parse(name).unwrap(),
                password_hash: tessera_core::password::hash_password(password).unwrap(),
                email: Some(format!("{name}@example.com")),
                name: Some(format!("{name} Example")),
                is_admin: admin,
            },
            1,
        )
        .await
        .unwrap();
    user.id
}

/// A GET as a browser makes it: with `Accept: text/html`, so that a page's redirect is a
/// real 302 (leptos_axum answers script requests differently).
pub async fn page(browser: &reqwest::Client, server: &TestServer, path: &str) -> reqwest::Response {
    browser
        .get(format!("{}{path}", server.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
}

/// Posts to `action` the given fields plus the CSRF token found on `page_path`, as a
/// browser without JavaScript does; returns where the server redirects.
pub async fn post_form(
    browser: &reqwest::Client,
    server: &TestServer,
    page_path: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> String {
    let html = page(browser, server, page_path).await.text().await.unwrap();
    let csrf = input_value(&html, "csrf").expect("csrf field");
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let res = browser
        .post(format!("{}{action}", server.base))
        .header("accept", "text/html")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302, "{action}");
    res.headers()[reqwest::header::LOCATION].to_str().unwrap().to_owned()
}

/// Posts the login form with this session's CSRF token; returns where it redirects.
pub async fn sign_in(browser: &reqwest::Client, server: &TestServer, user: &str, pw: &str) -> String {
    post_form(
        browser,
        server,
        "/login",
        "/ui/login",
        &[("username", user), ("password", pw), ("next", "/")],
    )
    .await
}

// --- The confidential client `web` and a browser walking the code flow -----------------

/// The redirect URI of the test client `web` (nothing listens there).
pub const CALLBACK: &str = "http://127.0.0.1:9/callback";
/// RFC 7636 Appendix B's verifier and its S256 challenge.
pub const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const PKCE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Registers the confidential client `web` (redirect URI [`CALLBACK`]) with `scopes`.
pub async fn add_web_client(server: &TestServer, scopes: &str) -> tessera_core::secret::ClientSecret {
    use tessera_core::store::NewClient;
    use tessera_core::types::{RedirectUri, ScopeSet};
    let secret = tessera_core::secret::ClientSecret::generate();
    server
        .db
        .store
        .create_client(
            NewClient {
                client_id: "web".into(),
                name: "Web App".into(),
                secret_hash: Some(secret.hash()),
                redirect_uris: vec![RedirectUri::parse(CALLBACK).unwrap()],
                scopes: ScopeSet::parse(scopes).unwrap(),
                is_public: false,
                settings: Default::default(),
            },
            1,
        )
        .await
        .unwrap();
    secret
}

/// `/authorize` for `web` with `scope`, PKCE S256 and `state=s1`.
pub fn authorize_path(scope: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "/authorize?response_type=code&client_id=web&redirect_uri={}&scope={}&state=s1\
         &code_challenge={PKCE_CHALLENGE}&code_challenge_method=S256",
        enc(CALLBACK),
        enc(scope)
    )
}

/// What a browser saw walking from `/authorize` to the client's callback.
pub struct Walk {
    /// The pages shown on the way (`/login`, `/consent`), in order.
    pub pages: Vec<String>,
    /// The consent page's HTML, if it was shown.
    pub consent_html: Option<String>,
    pub code: String,
    /// The whole redirect to the client (code, state, iss).
    pub callback_url: String,
}

/// Follows `path` (an `/authorize` URL) as a browser without JavaScript: signs in as
/// `user` and allows when asked, until the redirect to [`CALLBACK`].
pub async fn authorize_as(browser: &reqwest::Client, server: &TestServer, path: &str, user: (&str, &str)) -> Walk {
    authorize_to(browser, server, path, user, CALLBACK).await
}

/// [`authorize_as`] for a client whose redirect URI starts with `callback`.
pub async fn authorize_to(
    browser: &reqwest::Client,
    server: &TestServer,
    path: &str,
    user: (&str, &str),
    callback: &str,
) -> Walk {
    use reqwest::header::LOCATION;
    let mut next = path.to_owned();
    let mut walk = Walk {
        pages: Vec::new(),
        consent_html: None,
        code: String::new(),
        callback_url: String::new(),
    };
    for _ in 0..10 {
        if next.starts_with(callback) {
            let url = url::Url::parse(&next).unwrap();
            let code = url
                .query_pairs()
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned());
            walk.code = code.unwrap_or_else(|| panic!("no code: {next}"));
            walk.callback_url = next;
            return walk;
        }
        // Absolute URLs on this server (as a client's redirect has them) are paths here.
        next = next.strip_prefix(server.base.as_str()).unwrap_or(&next).to_owned();
        let res = page(browser, server, &next).await;
        if res.status() == 302 {
            next = res.headers()[LOCATION].to_str().unwrap().to_owned();
            continue;
        }
        let path = url::Url::parse(&format!("http://x{next}")).unwrap().path().to_owned();
        let html = res.text().await.unwrap();
        let csrf = input_value(&html, "csrf").expect("csrf");
        let request = input_value(&html, "request").expect("request");
        let form: Vec<(&str, &str)> = match path.as_str() {
            "/login" => vec![
                ("csrf", &csrf),
                ("request", &request),
                ("next", "/"),
                ("username", user.0),
                ("password", user.1),
            ],
            "/consent" => vec![("csrf", &csrf), ("request", &request), ("decision", "allow")],
            other => panic!("unexpected page {other}"),
        };
        let res = browser
            .post(format!("{}/ui{path}", server.base))
            .header("accept", "text/html")
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
        next = res.headers()[LOCATION].to_str().unwrap().to_owned();
        if path == "/consent" {
            walk.consent_html = Some(html);
        }
        walk.pages.push(path);
    }
    panic!("too many redirects");
}

/// Starts `path` (an `/authorize` URL) anonymously and signs in as `user` on the login
/// page it leads to; returns the resume URL the login hands back (the pending request, now
/// logged in), without following it.
pub async fn sign_in_for_request(
    browser: &reqwest::Client,
    server: &TestServer,
    path: &str,
    user: (&str, &str),
) -> String {
    use reqwest::header::LOCATION;
    let res = page(browser, server, path).await;
    assert_eq!(res.status(), 302);
    let login = res.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(login.starts_with("/login?request="), "{login}");
    let html = page(browser, server, &login).await.text().await.unwrap();
    let form = [
        ("csrf", input_value(&html, "csrf").unwrap()),
        ("request", input_value(&html, "request").unwrap()),
        ("next", "/".to_owned()),
        ("username", user.0.to_owned()),
        ("password", user.1.to_owned()),
    ];
    let res = browser
        .post(format!("{}/ui/login", server.base))
        .header("accept", "text/html")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let resume = res.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(resume.starts_with("/authorize/resume?request="), "{resume}");
    resume
}

/// `POST /token` as the client `web` (Basic authentication); the status and JSON body.
pub async fn token(server: &TestServer, secret: &str, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/token", server.base))
        .basic_auth("web", Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

// --- `tessera serve` as a process of its own (several instances, SIGKILL) --------------

/// The only PostgreSQL database of a test that needs PostgreSQL itself (several instances
/// on one database): `None`, with a note, when `TESSERA_TEST_POSTGRES_URL` is unset (an
/// error under CI, as in [`databases`]).
pub async fn postgres_only() -> Option<TestDb> {
    match std::env::var("TESSERA_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(postgres(&url).await),
        _ if std::env::var_os("CI").is_some() => panic!("CI is set but TESSERA_TEST_POSTGRES_URL is not"),
        _ => {
            eprintln!("note: TESSERA_TEST_POSTGRES_URL not set; PostgreSQL test skipped (make test sets it)");
            None
        }
    }
}

/// A loopback port free at the time of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// `tessera serve` run as a separate process (the real binary) on `127.0.0.1:port`. Derefs
/// to a [`TestServer`] whose `db` is this test's own connection to the same database, so
/// the flow helpers work on it. Killed (SIGKILL) when dropped.
pub struct Process {
    pub server: TestServer,
    child: std::process::Child,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Process {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.server
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// SIGKILL, as a crash or the OOM killer would: no shutdown code runs.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// What the process logged (stderr and stdout).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Starts `tessera serve --addr 127.0.0.1:PORT [extra]` on `db_url` with the test secret
/// and waits (at most 30 s) until `/readyz` answers 200.
pub async fn spawn_serve(db_url: &str, port: u16, extra: &[&str]) -> Process {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("tessera.log");
    let out = std::fs::File::create(&log).expect("log file");
    let addr = format!("127.0.0.1:{port}");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .env("TESSERA_SECRET", TEST_SECRET)
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .env_remove("TESSERA_DATABASE_URL")
        .args(["--database-url", db_url, "serve", "--addr", &addr])
        .args(extra)
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().expect("log file"))
        .stderr(out)
        .spawn()
        .expect("spawn tessera serve");
    let mut process = Process {
        server: TestServer {
            addr: addr.parse().expect("addr"),
            base: format!("http://{addr}"),
            db: store::open(db_url).await.expect("open"),
            url: db_url.to_owned(),
        },
        child,
        log,
        _dir: dir,
    };
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = process.child.try_wait() {
            panic!("tessera serve exited ({status}): {}", process.log());
        }
        let ready = client
            .get(format!("{}/readyz", process.base))
            .timeout(std::time::Duration::from_secs(1))
            .send()
            .await;
        if matches!(ready, Ok(ref r) if r.status() == 200) {
            return process;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "tessera serve not ready in 30 s: {}",
            process.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
