//! One storage suite, run unchanged against SQLite and PostgreSQL: each test is a
//! function of its database, and `per_backend!` makes it two tests, `sqlite::NAME` and
//! `postgres::NAME` (inside `oauth::`, `account::`, `admin::`, `audit::` for those modules), so a
//! failure names its backend and one backend's failure hides nothing of the other's.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use tessera_core::password::{hash_password, verify_password};
use tessera_core::store::{NewClient, NewUser, StoreError};
use tessera_core::types::{RedirectUri, ScopeSet, Username};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::SessionStore;

fn new_user(name: &str, admin: bool) -> NewUser {
    NewUser {
        username: Username::parse(name).unwrap(),
        password_hash: hash_password("password-123").unwrap(),
        email: Some(format!("{name}@example.com")),
        name: Some(name.to_uppercase()),
        is_admin: admin,
    }
}

fn new_client(id: &str, public: bool) -> NewClient {
    NewClient {
        client_id: id.into(),
        name: format!("client {id}"),
        secret_hash: (!public).then(|| "hash".to_owned()),
        redirect_uris: vec![
            RedirectUri::parse("https://app.example.com/cb").unwrap(),
            RedirectUri::parse("http://127.0.0.1:8080/cb").unwrap(),
        ],
        scopes: ScopeSet::parse("openid profile").unwrap(),
        is_public: public,
        settings: Default::default(),
    }
}

/// Whether the access token `jti` (of family `family`, if any) is revoked, as the resource
/// server asks it.
async fn is_revoked(s: &dyn tessera_core::store::Store, jti: &str, family: Option<&str>) -> bool {
    s.access_token_status(jti, family, None).await.unwrap().revoked
}

/// A code of `client` for `user_id`, issued at `now`, valid for 60 s, without PKCE.
fn plain_code(client: &str, user_id: &str, scopes: &ScopeSet, now: i64) -> tessera_core::token::CodeRecord {
    tessera_core::token::CodeRecord {
        client_id: client.into(),
        redirect_uri: RedirectUri::parse("https://app.example.com/cb").unwrap(),
        redirect_uri_in_request: true,
        pkce: None,
        nonce: None,
        user_id: user_id.into(),
        scopes: scopes.clone(),
        auth_time: now,
        expires_at: now + 60,
        used: false,
        dpop_jkt: None,
        resources: Vec::new(),
    }
}

/// Starts a token family the way the token endpoint does: by redeeming a code for it.
async fn start_family(
    s: &dyn tessera_core::store::Store,
    family: &str,
    client: &str,
    user_id: &str,
    scopes: &ScopeSet,
    now: i64,
) {
    use tessera_core::store::CodeRedemption;
    let record = plain_code(client, user_id, scopes, now);
    let code = format!("code-{family}");
    s.put_code(&code, family, &record, now).await.unwrap();
    let redeemed = s.redeem_code(&code, client, now).await.unwrap();
    assert!(matches!(redeemed, CodeRedemption::Redeemed { .. }), "{redeemed:?}");
}

/// A fresh PostgreSQL database when `TESSERA_TEST_POSTGRES_URL` names a server (the test
/// script always starts one); `None`, with a note, when it is unset. Under CI a missing
/// PostgreSQL is an error, not a silent skip.
async fn postgres_db() -> Option<common::TestDb> {
    match std::env::var("TESSERA_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(common::postgres(&url).await),
        _ if std::env::var_os("CI").is_some() => panic!("CI is set but TESSERA_TEST_POSTGRES_URL is not"),
        _ => {
            eprintln!("note: TESSERA_TEST_POSTGRES_URL not set; PostgreSQL case skipped (make test sets it)");
            None
        }
    }
}

/// For each `async fn NAME(tdb: common::TestDb)` listed, the tests `sqlite::NAME` and
/// `postgres::NAME` in the module where it is invoked, each on a fresh database.
macro_rules! per_backend {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(crate::common::sqlite()).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    if let Some(tdb) = crate::storage::postgres_db().await {
                        super::$test(tdb).await;
                    }
                }
            )*
        }
    };
}

async fn users_round_trip_on_every_backend(tdb: common::TestDb) {
    let db = common::open(&tdb).await;
    let s = &db.store;
    assert_eq!(s.count_users().await.unwrap(), 0, "{}", tdb.name);

    let alice = s.create_user(new_user("alice", true), 1_700_000_000).await.unwrap();
    assert_eq!(alice.username, "alice");
    assert!(alice.is_admin && !alice.disabled);
    assert_eq!(alice.created_at, 1_700_000_000);

    let (found, hash) = s.credentials_by_username("alice").await.unwrap().expect("alice exists");
    assert_eq!(found, alice, "{}", tdb.name);
    assert!(verify_password("password-123", &hash));
    assert_eq!(s.user_by_id(&alice.id).await.unwrap().as_ref(), Some(&alice));
    assert!(s.user_by_id("nope").await.unwrap().is_none());
    assert!(s.credentials_by_username("bob").await.unwrap().is_none());

    s.create_user(new_user("bob", false), 1).await.unwrap();
    let names: Vec<_> = s.list_users().await.unwrap().into_iter().map(|u| u.username).collect();
    assert_eq!(names, ["alice", "bob"], "{}", tdb.name);
    assert_eq!(s.count_users().await.unwrap(), 2);
}

async fn duplicate_username_is_a_conflict_and_writes_nothing(tdb: common::TestDb) {
    let db = common::open(&tdb).await;
    db.store.create_user(new_user("carol", false), 1).await.unwrap();
    let err = db.store.create_user(new_user("carol", true), 2).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref what) if what == "username"),
        "{}: {err:?}",
        tdb.name
    );
    let users = db.store.list_users().await.unwrap();
    assert_eq!(users.len(), 1);
    assert!(!users[0].is_admin, "the first row is untouched");
}

async fn clients_round_trip_on_every_backend(tdb: common::TestDb) {
    let db = common::open(&tdb).await;
    let s = &db.store;
    let c = s.create_client(new_client("c1", false), 10).await.unwrap();
    s.create_client(new_client("c2", true), 11).await.unwrap();
    let got = s.client_by_id("c1").await.unwrap().expect("c1");
    assert_eq!(got, c, "{}", tdb.name);
    assert_eq!(got.redirect_uris[1].as_str(), "http://127.0.0.1:8080/cb");
    assert!(got.scopes.contains("profile"));
    assert_eq!(got.secret_hash.as_deref(), Some("hash"));
    let pubc = s.client_by_id("c2").await.unwrap().expect("c2");
    assert!(pubc.is_public && pubc.secret_hash.is_none());

    let ids: Vec<_> = s
        .list_clients()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(ids, ["c1", "c2"]);
    assert!(matches!(
        s.create_client(new_client("c1", true), 12).await,
        Err(StoreError::Conflict(_))
    ));

    assert!(s.delete_client("c1").await.unwrap());
    assert!(!s.delete_client("c1").await.unwrap());
    assert!(s.client_by_id("c1").await.unwrap().is_none());
}

async fn reopening_migrates_idempotently_and_keeps_data(tdb: common::TestDb) {
    let db = common::open(&tdb).await;
    db.store.create_user(new_user("dave", false), 1).await.unwrap();
    drop(db);
    let again = common::open(&tdb).await;
    again.store.ping().await.unwrap();
    assert_eq!(again.store.count_users().await.unwrap(), 1, "{}", tdb.name);
    assert_eq!(again.store.backend(), tdb.name);
}

async fn sessions_live_in_the_same_database(tdb: common::TestDb) {
    let db = common::open(&tdb).await;
    let mut record = Record {
        id: Id::default(),
        data: [("user_id".to_owned(), serde_json::json!("u1"))].into_iter().collect(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    db.sessions.create(&mut record).await.unwrap();
    // A second handle on the same database (another instance) sees the session.
    let other = common::open(&tdb).await;
    let loaded = other.sessions.load(&record.id).await.unwrap().expect("session");
    assert_eq!(
        loaded.data.get("user_id"),
        Some(&serde_json::json!("u1")),
        "{}",
        tdb.name
    );
    other.sessions.delete(&record.id).await.unwrap();
    assert!(db.sessions.load(&record.id).await.unwrap().is_none());
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode() {
    let tdb = common::sqlite();
    common::open(&tdb).await;
    use sqlx::Connection;
    // WAL is a property of the database file, so a fresh connection reports it.
    let mut conn = sqlx::SqliteConnection::connect(&tdb.url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

/// The store's connections checkpoint the WAL every 10,000 pages, not SQLite's 1,000: after
/// a few thousand commits the WAL file holds more than 1,000 pages (SQLite reuses the file
/// from its start after a checkpoint, so at 1,000 it would stay near 4 MiB).
#[tokio::test]
async fn sqlite_checkpoints_the_wal_every_ten_thousand_pages() {
    let tdb = common::sqlite();
    let db = common::open(&tdb).await;
    let s = &db.store;
    let uid = s.create_user(new_user("wal", false), 1).await.unwrap().id;
    s.create_client(new_client("c1", false), 1).await.unwrap();
    start_family(&**s, "fam", "c1", &uid, &ScopeSet::parse("openid").unwrap(), 1).await;
    let record = account::refresh(&uid, "c1", "fam");
    let wal = std::path::PathBuf::from(tdb.url.trim_start_matches("sqlite://").split('?').next().unwrap())
        .with_extension("db-wal");
    let page = 4096;
    let mut commits = 0;
    while std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) <= 1200 * page && commits < 20_000 {
        s.put_refresh_token(&tessera_core::secret::random_id(), &record, 1)
            .await
            .unwrap();
        commits += 1;
    }
    let size = std::fs::metadata(&wal).unwrap().len();
    assert!(size > 1200 * page, "WAL {size} bytes after {commits} commits");
}

mod oauth {
    use super::*;
    use std::sync::Arc;
    use tessera_core::pkce::PkceChallenge;
    use tessera_core::store::{CodeRedemption, KeyRecord, Store};
    use tessera_core::token::{CodeRecord, RefreshRecord};

    async fn user_and_client(store: &Arc<dyn Store>) -> String {
        let user = store.create_user(new_user("pat", false), 1).await.unwrap();
        store.create_client(new_client("c1", false), 1).await.unwrap();
        user.id
    }

    fn code_record(user_id: &str, now: i64) -> CodeRecord {
        CodeRecord {
            client_id: "c1".into(),
            redirect_uri: RedirectUri::parse("https://app.example.com/cb").unwrap(),
            redirect_uri_in_request: true,
            pkce: PkceChallenge::parse(Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), Some("S256")).unwrap(),
            nonce: Some("n-0S6_WzA2Mj".into()),
            user_id: user_id.into(),
            scopes: ScopeSet::parse("openid profile").unwrap(),
            auth_time: now - 5,
            expires_at: now + 60,
            used: false,
            dpop_jkt: None,
            resources: Vec::new(),
        }
    }

    async fn a_code_is_redeemed_exactly_once_even_concurrently(tdb: common::TestDb) {
        let db = common::open(&tdb).await;
        let uid = user_and_client(&db.store).await;
        let record = code_record(&uid, 1000);
        db.store.put_code("h1", "fam1", &record, 1000).await.unwrap();

        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = db.store.clone();
            tasks.push(tokio::spawn(async move {
                store.redeem_code("h1", "c1", 1001).await.unwrap()
            }));
        }
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                CodeRedemption::Redeemed {
                    record: got,
                    family_id,
                    user,
                    family_revoked,
                } => {
                    won += 1;
                    assert!(!family_revoked, "{}", tdb.name);
                    assert_eq!(got, record, "{}: the record round-trips", tdb.name);
                    assert_eq!(family_id, "fam1");
                    let user = user.expect("the code's user comes with it");
                    assert_eq!((user.id.as_str(), user.disabled), (uid.as_str(), false), "{}", tdb.name);
                }
                CodeRedemption::AlreadyUsed { family_id } => assert_eq!(family_id, "fam1"),
                other => panic!("{}: {other:?}", tdb.name),
            }
        }
        assert_eq!(won, 1, "{}: exactly one redemption wins", tdb.name);
        // The winning redemption started the family: a refresh token can join it (the
        // foreign key refuses an unknown family), and it is live.
        let refresh = RefreshRecord {
            family_id: "fam1".into(),
            client_id: "c1".into(),
            user_id: uid.clone(),
            scopes: record.scopes.clone(),
            auth_time: record.auth_time,
            expires_at: 5000,
            rotated: false,
            revoked: false,
            family_created_at: 0,
            dpop_jkt: None,
            resources: Vec::new(),
        };
        db.store.put_refresh_token("rt-fam1", &refresh, 1001).await.unwrap();
        assert!(!db.store.is_family_revoked("fam1").await.unwrap(), "{}", tdb.name);
        assert!(matches!(
            db.store.redeem_code("nope", "c1", 1001).await.unwrap(),
            CodeRedemption::Unknown
        ));
        // Another client presenting the code: refused, and the code is not spent.
        db.store.put_code("h-other", "fam-other", &record, 1000).await.unwrap();
        assert!(matches!(
            db.store.redeem_code("h-other", "c2", 1001).await.unwrap(),
            CodeRedemption::OtherClient
        ));
        assert!(matches!(
            db.store.redeem_code("h-other", "c1", 1001).await.unwrap(),
            CodeRedemption::Redeemed { .. }
        ));
    }

    async fn refresh_tokens_rotate_once_and_family_revocation_reaches_everything(tdb: common::TestDb) {
        let db = common::open(&tdb).await;
        let s = &db.store;
        let uid = user_and_client(s).await;
        let scopes = ScopeSet::parse("openid offline_access").unwrap();
        start_family(&**s, "fam", "c1", &uid, &scopes, 10).await;
        let rec = RefreshRecord {
            family_id: "fam".into(),
            client_id: "c1".into(),
            user_id: uid.clone(),
            scopes: scopes.clone(),
            auth_time: 9,
            expires_at: 10_000,
            rotated: false,
            revoked: false,
            // Read from the family, started at 10 above: the absolute cap counts from it.
            family_created_at: 10,
            dpop_jkt: None,
            resources: Vec::new(),
        };
        s.put_refresh_token("r1", &rec, 10).await.unwrap();
        assert_eq!(s.refresh_token("r1").await.unwrap().unwrap(), rec, "{}", tdb.name);
        let (got, user) = s.refresh_grant("r1").await.unwrap().unwrap();
        assert_eq!(got, rec, "{}", tdb.name);
        assert_eq!(
            user.map(|u| u.id),
            Some(uid.clone()),
            "{}: the token's user comes with it",
            tdb.name
        );
        assert!(s.refresh_grant("nope").await.unwrap().is_none());

        assert!(s.rotate_refresh_token("r1", "r2", 20_000, None, 11).await.unwrap());
        assert!(
            !s.rotate_refresh_token("r1", "r1b", 20_000, None, 12).await.unwrap(),
            "{}: second rotation refused",
            tdb.name
        );
        assert!(s.refresh_token("r1").await.unwrap().unwrap().rotated);
        assert!(
            s.refresh_token("r1b").await.unwrap().is_none(),
            "{}: no successor for a refused rotation",
            tdb.name
        );
        // The successor continues the grant: same family, client, user, scopes and
        // auth_time; its own expiry.
        assert_eq!(
            s.refresh_token("r2").await.unwrap().unwrap(),
            RefreshRecord {
                expires_at: 20_000,
                ..rec.clone()
            },
            "{}",
            tdb.name
        );

        // Concurrent rotations of one token: exactly one wins, and only its successor exists.
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = db.store.clone();
            tasks.push(tokio::spawn(async move {
                let successor = format!("r3-{i}");
                let won = store
                    .rotate_refresh_token("r2", &successor, 30_000, None, 13)
                    .await
                    .unwrap();
                (won, store.refresh_token(&successor).await.unwrap().is_some())
            }));
        }
        let mut winners = 0;
        for t in tasks {
            let (won, successor_stored) = t.await.unwrap();
            assert_eq!(
                won, successor_stored,
                "{}: a successor exists exactly when its rotation won",
                tdb.name
            );
            winners += usize::from(won);
        }
        assert_eq!(winners, 1, "{}: exactly one concurrent rotation wins", tdb.name);

        assert!(!is_revoked(&**s, "jti-1", Some("fam")).await);
        assert!(!s.is_family_revoked("fam").await.unwrap());
        s.revoke_family("fam", 20).await.unwrap();
        assert!(s.is_family_revoked("fam").await.unwrap());
        let mut family_tokens = vec!["r1".to_owned(), "r2".to_owned()];
        family_tokens.extend((0..8).map(|i| format!("r3-{i}")));
        let mut revoked = 0;
        for t in &family_tokens {
            if let Some(r) = s.refresh_token(t).await.unwrap() {
                assert!(r.revoked, "{}: {t} revoked with its family, newest included", tdb.name);
                revoked += 1;
            }
        }
        assert_eq!(revoked, 3, "{}", tdb.name);
        assert!(!s.rotate_refresh_token("r2", "r4", 30_000, None, 21).await.unwrap());
        assert!(s.refresh_token("r4").await.unwrap().is_none());
        assert!(is_revoked(&**s, "jti-1", Some("fam")).await);
        assert!(
            s.access_token_status("jti-1", Some("fam"), None).await.unwrap().revoked,
            "{}: a revoked family revokes its access tokens",
            tdb.name
        );
        assert!(!is_revoked(&**s, "jti-1", None).await);
    }

    async fn access_token_revocation_and_consents(tdb: common::TestDb) {
        let db = common::open(&tdb).await;
        let s = &db.store;
        let uid = user_and_client(s).await;
        s.revoke_access_token("jti-9", 500).await.unwrap();
        s.revoke_access_token("jti-9", 500).await.unwrap(); // idempotent
        assert!(is_revoked(&**s, "jti-9", None).await, "{}", tdb.name);

        // The resource server's single round trip: revocation and the user together.
        let st = s.access_token_status("jti-9", None, Some(&uid)).await.unwrap();
        assert!(st.revoked, "{}", tdb.name);
        assert_eq!(
            st.user.as_ref().map(|u| u.id.as_str()),
            Some(uid.as_str()),
            "{}",
            tdb.name
        );
        let st = s
            .access_token_status("jti-live", Some("no-family"), Some(&uid))
            .await
            .unwrap();
        assert!(!st.revoked, "{}", tdb.name);
        assert!(!st.user.as_ref().unwrap().disabled);
        let st = s.access_token_status("jti-live", None, Some("nobody")).await.unwrap();
        assert!(!st.revoked && st.user.is_none(), "{}: unknown user", tdb.name);
        let st = s.access_token_status("jti-live", None, None).await.unwrap();
        assert!(!st.revoked && st.user.is_none(), "{}: no user asked for", tdb.name);
        s.set_user_disabled(&uid, true).await.unwrap();
        let st = s.access_token_status("jti-live", None, Some(&uid)).await.unwrap();
        assert!(st.user.unwrap().disabled, "{}", tdb.name);

        assert!(s.consent(&uid, "c1").await.unwrap().is_none());
        let (u, c) = s.user_and_consent(&uid, "c1").await.unwrap().unwrap();
        assert_eq!(
            (u.id.as_str(), c),
            (uid.as_str(), None),
            "{}: a user without consent",
            tdb.name
        );
        assert!(s.user_and_consent("nobody", "c1").await.unwrap().is_none());
        s.grant_consent(&uid, "c1", &ScopeSet::parse("openid").unwrap(), 30)
            .await
            .unwrap();
        s.grant_consent(&uid, "c1", &ScopeSet::parse("profile").unwrap(), 31)
            .await
            .unwrap();
        let c = s.consent(&uid, "c1").await.unwrap().unwrap();
        assert_eq!(
            c.scopes.to_string(),
            "openid profile",
            "{}: consents accumulate",
            tdb.name
        );
        assert_eq!(c.granted_at, 31);
        let (u, with_user) = s.user_and_consent(&uid, "c1").await.unwrap().unwrap();
        assert_eq!((u.id, with_user), (uid.clone(), Some(c)), "{}", tdb.name);
        assert_eq!(s.user_and_consent(&uid, "c2").await.unwrap().unwrap().1, None);
        // Removing the client removes what hangs off it.
        assert!(s.delete_client("c1").await.unwrap());
        assert!(s.consent(&uid, "c1").await.unwrap().is_none(), "{}: cascade", tdb.name);
    }

    async fn pending_requests_expire_and_keys_rotate(tdb: common::TestDb) {
        let db = common::open(&tdb).await;
        let s = &db.store;
        user_and_client(s).await;
        assert!(s.put_auth_request("p1", "c1", "{\"a\":1}", 100, 700, 2).await.unwrap());
        // The per-client cap counts live requests only, in the INSERT itself.
        assert!(s.put_auth_request("p2", "c1", "{}", 100, 700, 2).await.unwrap());
        assert!(
            !s.put_auth_request("p3", "c1", "{}", 100, 700, 2).await.unwrap(),
            "{}: capped",
            tdb.name
        );
        assert!(s.auth_request("p3", 200).await.unwrap().is_none());
        assert!(
            s.put_auth_request("p3", "c1", "{}", 700, 1300, 2).await.unwrap(),
            "{}: the others expired",
            tdb.name
        );
        assert!(s.delete_auth_request("p2").await.unwrap());
        assert_eq!(s.auth_request("p1", 200).await.unwrap().as_deref(), Some("{\"a\":1}"));
        s.update_auth_request("p1", "{\"a\":2}").await.unwrap();
        assert_eq!(s.auth_request("p1", 200).await.unwrap().as_deref(), Some("{\"a\":2}"));
        assert!(
            s.auth_request("p1", 700).await.unwrap().is_none(),
            "{}: expired",
            tdb.name
        );
        assert!(s.delete_auth_request("p1").await.unwrap(), "{}", tdb.name);
        assert!(
            !s.delete_auth_request("p1").await.unwrap(),
            "{}: deleted once",
            tdb.name
        );

        for (kid, t) in [("k1", 1), ("k2", 2)] {
            let key = KeyRecord {
                kid: kid.into(),
                alg: "ES256".into(),
                private_der: vec![1, 2, 3],
                created_at: t,
                retired_at: None,
            };
            s.insert_signing_key(&key).await.unwrap();
        }
        assert_eq!(s.retire_signing_keys("ES256", "k2", 50).await.unwrap(), 1);
        let keys = s.signing_keys().await.unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].retired_at, Some(50));
        assert_eq!(keys[1].retired_at, None);
        assert_eq!(keys[1].private_der, vec![1, 2, 3], "{}: bytes round-trip", tdb.name);
    }

    per_backend!(
        a_code_is_redeemed_exactly_once_even_concurrently,
        refresh_tokens_rotate_once_and_family_revocation_reaches_everything,
        access_token_revocation_and_consents,
        pending_requests_expire_and_keys_rotate,
    );
}

/// A replay can revoke a family before the first exchange has created it: the first
/// exchange's tokens must then be born revoked.
async fn revoking_a_family_before_it_exists_still_revokes_it(tdb: common::TestDb) {
    use tessera_core::pkce::PkceChallenge;
    use tessera_core::store::CodeRedemption;
    use tessera_core::token::CodeRecord;
    let db = common::open(&tdb).await;
    let s = &db.store;
    let user = s.create_user(new_user("ray", false), 1).await.unwrap();
    s.create_client(new_client("c1", false), 1).await.unwrap();
    let record = CodeRecord {
        client_id: "c1".into(),
        redirect_uri: RedirectUri::parse("https://app.example.com/cb").unwrap(),
        redirect_uri_in_request: true,
        pkce: PkceChallenge::parse(Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), Some("S256")).unwrap(),
        nonce: None,
        user_id: user.id.clone(),
        scopes: ScopeSet::parse("openid").unwrap(),
        auth_time: 1,
        expires_at: 100,
        used: false,
        dpop_jkt: None,
        resources: Vec::new(),
    };
    s.put_code("h2", "famy", &record, 1).await.unwrap();
    s.revoke_family("famy", 5).await.unwrap();
    assert!(matches!(
        s.redeem_code("h2", "c1", 6).await.unwrap(),
        CodeRedemption::Redeemed {
            family_revoked: true,
            ..
        }
    ));
    assert!(s.is_family_revoked("famy").await.unwrap(), "{}", tdb.name);
}

/// #18 item 4: the family is the single source of truth. A refresh token stored after its
/// family was revoked (the first exchange losing a race to a code replay, or a rotation
/// committing while a revocation runs on PostgreSQL) is dead at birth: refused for
/// refresh, rotation and introspection alike.
async fn a_refresh_token_stored_after_its_family_was_revoked_is_dead(tdb: common::TestDb) {
    let db = common::open(&tdb).await;
    let s = &db.store;
    let uid = s.create_user(new_user("ray", false), 1).await.unwrap().id;
    s.create_client(new_client("c1", false), 1).await.unwrap();
    let scopes = ScopeSet::parse("openid offline_access").unwrap();
    start_family(&**s, "fam", "c1", &uid, &scopes, 10).await;
    // The replay's revocation lands first ...
    s.revoke_family("fam", 11).await.unwrap();
    // ... then the first exchange stores its refresh token, unrevoked in its own row.
    s.put_refresh_token("late", &account::refresh(&uid, "c1", "fam"), 12)
        .await
        .unwrap();
    let (record, _) = s.refresh_grant("late").await.unwrap().unwrap();
    assert!(record.revoked, "{}: born revoked through its family", tdb.name);
    assert!(s.refresh_token("late").await.unwrap().unwrap().revoked, "{}", tdb.name);
    assert!(
        !s.rotate_refresh_token("late", "late2", 20_000, None, 13).await.unwrap(),
        "{}: a token of a revoked family never rotates",
        tdb.name
    );
    assert!(s.refresh_token("late2").await.unwrap().is_none(), "{}", tdb.name);
}

/// #18 item 4 (a): a code still in flight when the user revokes the app's access must not
/// become a new grant afterwards. Revoking the consent spends the user's outstanding codes
/// for that client; a redemption then sees a used code.
async fn revoking_a_consent_spends_that_clients_outstanding_codes(tdb: common::TestDb) {
    use tessera_core::store::CodeRedemption;
    let db = common::open(&tdb).await;
    let s = &db.store;
    let pat = s.create_user(new_user("pat", false), 1).await.unwrap().id;
    let sam = s.create_user(new_user("sam", false), 1).await.unwrap().id;
    s.create_client(new_client("c1", false), 1).await.unwrap();
    let openid = ScopeSet::parse("openid").unwrap();
    s.grant_consent(&pat, "c1", &openid, 5).await.unwrap();
    s.grant_consent(&sam, "c1", &openid, 5).await.unwrap();
    s.put_code("pat-code", "fp", &plain_code("c1", &pat, &openid, 10), 10)
        .await
        .unwrap();
    s.put_code("sam-code", "fs", &plain_code("c1", &sam, &openid, 10), 10)
        .await
        .unwrap();
    assert!(s.revoke_consent(&pat, "c1", 20).await.unwrap());
    let redeemed = s.redeem_code("pat-code", "c1", 21).await.unwrap();
    assert!(
        matches!(redeemed, CodeRedemption::AlreadyUsed { .. }),
        "{}: {redeemed:?}",
        tdb.name
    );
    assert!(s.is_family_revoked("fp").await.unwrap(), "{}", tdb.name);
    // Another user's code for the same client is untouched.
    let other = s.redeem_code("sam-code", "c1", 21).await.unwrap();
    assert!(
        matches!(other, CodeRedemption::Redeemed { .. }),
        "{}: {other:?}",
        tdb.name
    );
    assert!(!s.is_family_revoked("fs").await.unwrap(), "{}", tdb.name);
}

/// "My apps", password changes and the login back-off counters.
mod account {
    use super::*;
    use tessera_core::throttle::{PER_ACCOUNT, PER_ADDRESS};
    use tessera_core::token::RefreshRecord;

    pub(super) fn refresh(uid: &str, client: &str, family: &str) -> RefreshRecord {
        RefreshRecord {
            family_id: family.into(),
            client_id: client.into(),
            user_id: uid.into(),
            scopes: ScopeSet::parse("openid").unwrap(),
            auth_time: 1,
            expires_at: 10_000,
            rotated: false,
            revoked: false,
            family_created_at: 0,
            dpop_jkt: None,
            resources: Vec::new(),
        }
    }

    async fn revoking_a_consent_revokes_that_clients_tokens_for_that_user_only(tdb: common::TestDb) {
        let db = common::open(&tdb).await;
        let s = &db.store;
        let pat = s.create_user(new_user("pat", false), 1).await.unwrap().id;
        let sam = s.create_user(new_user("sam", false), 1).await.unwrap().id;
        s.create_client(new_client("c1", false), 1).await.unwrap();
        let mut c2 = new_client("c2", false);
        c2.name = "Another".into();
        s.create_client(c2, 1).await.unwrap();
        let openid = ScopeSet::parse("openid profile").unwrap();
        for (uid, client) in [(&pat, "c1"), (&pat, "c2"), (&sam, "c1")] {
            s.grant_consent(uid, client, &openid, 50).await.unwrap();
        }
        // Two grants of pat to c1, one of pat to c2, one of sam to c1.
        for (family, uid, client) in [
            ("f1", &pat, "c1"),
            ("f2", &pat, "c1"),
            ("f3", &pat, "c2"),
            ("f4", &sam, "c1"),
        ] {
            start_family(&**s, family, client, uid, &openid, 60).await;
            s.put_refresh_token(&format!("rt-{family}"), &refresh(uid, client, family), 60)
                .await
                .unwrap();
        }

        let apps = s.consents_for_user(&pat).await.unwrap();
        let listed: Vec<_> = apps
            .iter()
            .map(|a| (a.client_name.as_str(), a.consent.client_id.as_str()))
            .collect();
        assert_eq!(
            listed,
            [("Another", "c2"), ("client c1", "c1")],
            "{}: by name",
            tdb.name
        );
        assert_eq!(apps[1].consent.scopes, openid);
        assert_eq!(apps[1].consent.granted_at, 50);

        assert!(s.revoke_consent(&pat, "c1", 70).await.unwrap(), "{}", tdb.name);
        assert!(
            !s.revoke_consent(&pat, "c1", 71).await.unwrap(),
            "{}: already gone",
            tdb.name
        );
        assert!(s.consent(&pat, "c1").await.unwrap().is_none());
        for family in ["f1", "f2"] {
            assert!(s.is_family_revoked(family).await.unwrap(), "{}: {family}", tdb.name);
            let rt = s.refresh_token(&format!("rt-{family}")).await.unwrap().unwrap();
            assert!(rt.revoked, "{}: refresh token of {family}", tdb.name);
            assert!(is_revoked(&**s, "any-jti", Some(family)).await);
        }
        // Other clients of the same user, and other users of the same client, keep theirs.
        for family in ["f3", "f4"] {
            assert!(!s.is_family_revoked(family).await.unwrap(), "{}: {family}", tdb.name);
            assert!(!s.refresh_token(&format!("rt-{family}")).await.unwrap().unwrap().revoked);
        }
        assert!(s.consent(&pat, "c2").await.unwrap().is_some());
        assert!(s.consent(&sam, "c1").await.unwrap().is_some());
        let left: Vec<_> = s
            .consents_for_user(&pat)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.consent.client_id)
            .collect();
        assert_eq!(left, ["c2"]);
    }

    async fn set_password_replaces_the_hash_and_bumps_the_epoch(tdb: common::TestDb) {
        let db = common::open(&tdb).await;
        let s = &db.store;
        let pat = s.create_user(new_user("pat", false), 1).await.unwrap();
        assert_eq!(pat.password_epoch, 0);
        let hash = hash_password("a-new-password").unwrap();
        assert_eq!(s.set_password(&pat.id, &hash).await.unwrap(), Some(1), "{}", tdb.name);
        let (user, stored) = s.credentials_by_username("pat").await.unwrap().unwrap();
        assert!(verify_password("a-new-password", &stored), "{}", tdb.name);
        assert!(!verify_password("password-123", &stored));
        assert_eq!(user.password_epoch, 1);
        // Every read of the user carries the epoch sessions are checked against.
        assert_eq!(s.set_password(&pat.id, &hash).await.unwrap(), Some(2));
        assert_eq!(s.user_by_id(&pat.id).await.unwrap().unwrap().password_epoch, 2);
        let (joined, _) = s.user_and_consent(&pat.id, "no-client").await.unwrap().unwrap();
        assert_eq!(joined.password_epoch, 2, "{}", tdb.name);
        assert_eq!(s.set_password("nobody", &hash).await.unwrap(), None);
    }

    async fn login_failures_back_off_per_key_and_clear(tdb: common::TestDb) {
        let db = common::open(&tdb).await;
        let s = &db.store;
        let user = "user:pat".to_owned();
        let ip = "ip:192.0.2.1".to_owned();
        let keys = [user.clone(), ip.clone()];
        let now = 1_000_000;
        assert_eq!(s.login_blocked_until(&keys, now).await.unwrap(), None);
        for i in 1..PER_ACCOUNT.threshold {
            assert_eq!(
                s.record_login_failure(&user, &PER_ACCOUNT, now + i).await.unwrap(),
                None
            );
        }
        assert_eq!(
            s.login_blocked_until(&keys, now + 4).await.unwrap(),
            None,
            "{}",
            tdb.name
        );
        // The fifth failure blocks for 1 s, the sixth for 2 s, the seventh for 4 s.
        assert_eq!(
            s.record_login_failure(&user, &PER_ACCOUNT, now + 5).await.unwrap(),
            Some(now + 6),
            "{}",
            tdb.name
        );
        assert_eq!(
            s.record_login_failure(&user, &PER_ACCOUNT, now + 6).await.unwrap(),
            Some(now + 8)
        );
        assert_eq!(
            s.record_login_failure(&user, &PER_ACCOUNT, now + 8).await.unwrap(),
            Some(now + 12)
        );
        assert_eq!(s.login_blocked_until(&keys, now + 9).await.unwrap(), Some(now + 12));
        // Through its last whole second (the clock counts whole seconds), then over.
        assert_eq!(s.login_blocked_until(&keys, now + 12).await.unwrap(), Some(now + 12));
        assert_eq!(s.login_blocked_until(&keys, now + 13).await.unwrap(), None, "expired");
        // Another key is not affected.
        assert_eq!(
            s.login_blocked_until(std::slice::from_ref(&ip), now + 9).await.unwrap(),
            None
        );

        // The address has its own, higher threshold; the later block wins.
        for i in 1..PER_ADDRESS.threshold {
            assert_eq!(
                s.record_login_failure(&ip, &PER_ADDRESS, now + 9).await.unwrap(),
                None,
                "{i}"
            );
        }
        assert_eq!(
            s.record_login_failure(&ip, &PER_ADDRESS, now + 9).await.unwrap(),
            Some(now + 10)
        );
        assert_eq!(
            s.record_login_failure(&user, &PER_ACCOUNT, now + 9).await.unwrap(),
            Some(now + 17)
        );
        assert_eq!(s.login_blocked_until(&keys, now + 9).await.unwrap(), Some(now + 17));

        // Clearing the account's counter lifts its block and starts it over.
        s.clear_login_failures(&user).await.unwrap();
        assert_eq!(
            s.login_blocked_until(std::slice::from_ref(&user), now + 9)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            s.record_login_failure(&user, &PER_ACCOUNT, now + 9).await.unwrap(),
            None
        );

        // A run older than the window starts over.
        let later = now + 10 + PER_ADDRESS.window;
        assert_eq!(
            s.record_login_failure(&ip, &PER_ADDRESS, later).await.unwrap(),
            None,
            "{}",
            tdb.name
        );
    }

    async fn concurrent_failures_all_count(tdb: common::TestDb) {
        let db = common::open(&tdb).await;
        let now = 5_000;
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let s = db.store.clone();
                tokio::spawn(async move { s.record_login_failure("user:race", &PER_ACCOUNT, now).await.unwrap() })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        // Ten failures: blocked for 2^(10-5) = 32 s.
        assert_eq!(
            db.store
                .record_login_failure("user:race", &PER_ACCOUNT, now)
                .await
                .unwrap(),
            Some(now + 64),
            "{}: the eleventh failure",
            tdb.name
        );
    }

    per_backend!(
        revoking_a_consent_revokes_that_clients_tokens_for_that_user_only,
        set_password_replaces_the_hash_and_bumps_the_epoch,
        login_failures_back_off_per_key_and_clear,
        concurrent_failures_all_count,
    );
}

/// What the admin console changes: client settings and secrets, custom scopes, users'
/// flags, and the grants listed per client or per user.
mod admin {
    use super::*;
    use tessera_core::store::{ClientSettings, ClientUpdate, GrantsOf};
    use tessera_core::token::RefreshRecord;

    async fn client_update_and_secret_rotation(tdb: common::TestDb) {
        let db = common::open(&tdb).await;
        let s = &db.store;
        s.create_client(new_client("c1", false), 5).await.unwrap();
        // Read first, so that the changes below must get past the store's client cache.
        assert_eq!(s.client_by_id("c1").await.unwrap().unwrap().name, "client c1");
        let update = ClientUpdate {
            name: "Renamed".into(),
            redirect_uris: vec![RedirectUri::parse("https://new.example.com/cb").unwrap()],
            scopes: ScopeSet::parse("openid email").unwrap(),
            settings: ClientSettings {
                description: Some("About".into()),
                logo_uri: Some("https://new.example.com/logo.png".into()),
                grant_types: vec!["authorization_code".into()],
                require_pkce: false,
                access_token_ttl: 600,
                refresh_token_ttl: 7200,
                access_token_alg: "RS256".into(),
                id_token_alg: "EdDSA".into(),
                require_pushed_authorization_requests: true,
                token_endpoint_auth_method: "client_secret_post".into(),
                jwks: Some(r#"{"keys":[]}"#.into()),
                jwks_uri: None,
                require_signed_request_object: true,
                dpop_bound_access_tokens: true,
                resources: Vec::new(),
                fapi2: true,
            },
        };
        assert!(s.update_client("c1", &update).await.unwrap());
        assert!(!s.update_client("nope", &update).await.unwrap());
        let c = s.client_by_id("c1").await.unwrap().unwrap();
        assert_eq!(c.name, "Renamed", "{}", tdb.name);
        assert_eq!(c.redirect_uris, update.redirect_uris);
        assert_eq!(c.scopes, update.scopes);
        assert_eq!(c.settings, update.settings);
        assert_eq!((c.client_id.as_str(), c.created_at, c.is_public), ("c1", 5, false));
        assert_eq!(c.secret_hash.as_deref(), Some("hash"), "update leaves the secret alone");

        assert!(s.set_client_secret_hash("c1", "new-hash").await.unwrap());
        assert!(!s.set_client_secret_hash("nope", "x").await.unwrap());
        let c = s.client_by_id("c1").await.unwrap().unwrap();
        assert_eq!(c.secret_hash.as_deref(), Some("new-hash"), "{}", tdb.name);
        // Moving to private_key_jwt drops the secret: it must never be accepted again.
        let mut keyed = update.clone();
        keyed.settings.token_endpoint_auth_method = "private_key_jwt".into();
        keyed.settings.jwks = None;
        keyed.settings.jwks_uri = Some("https://c1.example/jwks".into());
        assert!(s.update_client("c1", &keyed).await.unwrap());
        let c = s.client_by_id("c1").await.unwrap().unwrap();
        assert_eq!(c.settings, keyed.settings, "{}", tdb.name);
        assert_eq!(c.secret_hash, None, "{}", tdb.name);
        assert!(s.delete_client("c1").await.unwrap());
        assert!(
            s.client_by_id("c1").await.unwrap().is_none(),
            "{}: deleted, not cached",
            tdb.name
        );

        // A change made by another process (the CLI, another instance) is not seen
        // through the cache at once, but within its lifetime.
        s.create_client(new_client("c2", false), 5).await.unwrap();
        assert!(s.client_by_id("c2").await.unwrap().is_some());
        let other = common::open(&tdb).await;
        assert!(other.store.delete_client("c2").await.unwrap());
        tokio::time::sleep(std::time::Duration::from_millis(5100)).await;
        assert!(
            s.client_by_id("c2").await.unwrap().is_none(),
            "{}: gone within 5 s",
            tdb.name
        );
    }

    async fn custom_scopes_round_trip(tdb: common::TestDb) {
        let db = common::open(&tdb).await;
        let s = &db.store;
        assert!(
            s.custom_scopes().await.unwrap().is_empty(),
            "{}: built-ins are not rows",
            tdb.name
        );
        s.create_scope("invoices:read", "Read your invoices", 7).await.unwrap();
        s.create_scope("api", "Call the API", 8).await.unwrap();
        assert!(matches!(
            s.create_scope("api", "again", 9).await,
            Err(StoreError::Conflict(_))
        ));
        let names: Vec<_> = s.custom_scopes().await.unwrap().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["api", "invoices:read"], "{}", tdb.name);
        assert!(s.update_scope("api", "Use the API").await.unwrap());
        assert!(!s.update_scope("nope", "x").await.unwrap());
        let api = s.custom_scopes().await.unwrap().remove(0);
        assert_eq!((api.description.as_str(), api.created_at), ("Use the API", 8));
        assert!(s.delete_scope("api").await.unwrap());
        assert!(!s.delete_scope("api").await.unwrap());
        assert_eq!(s.custom_scopes().await.unwrap().len(), 1, "{}", tdb.name);
    }

    async fn user_search_and_flags(tdb: common::TestDb) {
        let db = common::open(&tdb).await;
        let s = &db.store;
        let alice = s.create_user(new_user("alice", false), 1).await.unwrap();
        s.create_user(new_user("bob", false), 2).await.unwrap();
        s.create_user(new_user("per_cent", false), 3).await.unwrap();
        let found = |q: &'static str| {
            let s = s.clone();
            async move {
                s.search_users(q)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|u| u.username)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(found("").await, ["alice", "bob", "per_cent"], "{}", tdb.name);
        assert_eq!(found("ALI").await, ["alice"], "{}: case-insensitive", tdb.name);
        assert_eq!(found("bob@example").await, ["bob"], "{}: by email", tdb.name);
        assert_eq!(
            found("_").await,
            ["per_cent"],
            "{}: LIKE wildcards are literal",
            tdb.name
        );
        assert!(found("%").await.is_empty(), "{}", tdb.name);

        assert!(s.set_user_disabled(&alice.id, true).await.unwrap());
        assert!(s.set_user_admin(&alice.id, true).await.unwrap());
        assert!(!s.set_user_admin("nope", true).await.unwrap());
        let a = s.user_by_id(&alice.id).await.unwrap().unwrap();
        assert!(a.disabled && a.is_admin, "{}", tdb.name);
        assert!(s.set_user_disabled(&alice.id, false).await.unwrap());
        assert!(!s.user_by_id(&alice.id).await.unwrap().unwrap().disabled);
    }

    async fn grants_per_client_and_per_user(tdb: common::TestDb) {
        let db = common::open(&tdb).await;
        let s = &db.store;
        let uid = s.create_user(new_user("gina", false), 1).await.unwrap().id;
        s.create_client(new_client("c1", false), 1).await.unwrap();
        s.create_client(new_client("c2", false), 1).await.unwrap();
        let scopes = ScopeSet::parse("openid offline_access").unwrap();
        s.grant_consent(&uid, "c1", &scopes, 10).await.unwrap();
        s.grant_consent(&uid, "c2", &scopes, 11).await.unwrap();
        let refresh = |family: &str, client: &str, expires_at: i64| RefreshRecord {
            family_id: family.into(),
            client_id: client.into(),
            user_id: uid.clone(),
            scopes: scopes.clone(),
            auth_time: 9,
            expires_at,
            rotated: false,
            revoked: false,
            family_created_at: 0,
            dpop_jkt: None,
            resources: Vec::new(),
        };
        // f1: live; f2: its only token expired; f3: revoked; f4: other client.
        for (fam, client, created) in [("f1", "c1", 20), ("f2", "c1", 21), ("f3", "c1", 22), ("f4", "c2", 23)] {
            start_family(&**s, fam, client, &uid, &scopes, created).await;
        }
        s.put_refresh_token("t1", &refresh("f1", "c1", 1_000), 20)
            .await
            .unwrap();
        s.put_refresh_token("t2", &refresh("f2", "c1", 50), 21).await.unwrap();
        s.put_refresh_token("t3", &refresh("f3", "c1", 1_000), 22)
            .await
            .unwrap();
        s.put_refresh_token("t4", &refresh("f4", "c2", 1_000), 23)
            .await
            .unwrap();
        s.revoke_family("f3", 30).await.unwrap();

        let fams = |of| {
            let s = s.clone();
            async move {
                s.active_families(of, 100)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|f| f.family_id)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(fams(GrantsOf::Client("c1")).await, ["f1"], "{}", tdb.name);
        assert_eq!(
            fams(GrantsOf::User(&uid)).await,
            ["f4", "f1"],
            "{}: newest first",
            tdb.name
        );
        let f = s.active_families(GrantsOf::Client("c1"), 100).await.unwrap().remove(0);
        assert_eq!(
            (f.client_name.as_str(), f.username.as_deref(), f.created_at),
            ("client c1", Some("gina"), 20)
        );

        let consents = s.consents_of(GrantsOf::Client("c1")).await.unwrap();
        assert_eq!(consents.len(), 1, "{}", tdb.name);
        assert_eq!(
            (consents[0].username.as_str(), consents[0].consent.granted_at),
            ("gina", 10)
        );
        let by_user = s.consents_of(GrantsOf::User(&uid)).await.unwrap();
        let clients: Vec<_> = by_user.iter().map(|c| c.client_name.as_str()).collect();
        assert_eq!(clients, ["client c1", "client c2"], "{}", tdb.name);

        s.revoke_family("f1", 40).await.unwrap();
        assert!(fams(GrantsOf::Client("c1")).await.is_empty(), "{}", tdb.name);
    }

    per_backend!(
        client_update_and_secret_rotation,
        custom_scopes_round_trip,
        user_search_and_flags,
        grants_per_client_and_per_user,
    );
}

/// The janitor deletes what can no longer matter and nothing else, in batches.
async fn purging_expired_grants_keeps_everything_that_can_still_matter(tdb: common::TestDb) {
    use tessera_core::store::{CodeRedemption, Purged};
    use tessera_core::token::RefreshRecord;
    let now = 1_000_000;
    let grace = 86_400;
    let old = now - grace;
    let db = common::open(&tdb).await;
    let s = &*db.store;
    let user = s.create_user(new_user("ida", false), 1).await.unwrap();
    s.create_client(new_client("c1", false), 1).await.unwrap();
    let scopes = ScopeSet::parse("openid offline_access").unwrap();
    let rt = |family: &str, expires_at: i64| RefreshRecord {
        family_id: family.into(),
        client_id: "c1".into(),
        user_id: user.id.clone(),
        scopes: scopes.clone(),
        auth_time: 1,
        expires_at,
        rotated: false,
        revoked: false,
        family_created_at: 0,
        dpop_jkt: None,
        resources: Vec::new(),
    };

    // A live grant: its spent code (expired, within the grace), a current and a
    // rotated refresh token (kept for reuse detection), and 1200 long-expired ones.
    start_family(s, "live", "c1", &user.id, &scopes, now - 100).await;
    s.put_refresh_token("rt-live", &rt("live", now + 1000), now - 50)
        .await
        .unwrap();
    s.put_refresh_token("rt-rotated", &rt("live", now + 500), now - 60)
        .await
        .unwrap();
    assert!(s
        .rotate_refresh_token("rt-rotated", "rt-next", now + 900, None, now - 55)
        .await
        .unwrap());
    for i in 0..1200 {
        s.put_refresh_token(&format!("rt-old-{i}"), &rt("live", old - 1), old - 100)
            .await
            .unwrap();
    }
    // A grant whose every code and token expired long ago.
    start_family(s, "stale", "c1", &user.id, &scopes, old - 1000).await;
    s.put_refresh_token("rt-stale", &rt("stale", old - 10), old - 900)
        .await
        .unwrap();
    // A grant revoked long ago (its refresh token would otherwise still be valid), and
    // one revoked recently: that one's access tokens may still be presented.
    start_family(s, "revoked-old", "c1", &user.id, &scopes, old - 5000).await;
    s.put_refresh_token("rt-revoked-old", &rt("revoked-old", now + 10_000), old - 4000)
        .await
        .unwrap();
    s.revoke_family("revoked-old", old - 1).await.unwrap();
    start_family(s, "revoked-recent", "c1", &user.id, &scopes, now - 5000).await;
    s.revoke_family("revoked-recent", now - 10).await.unwrap();
    // Remembered access-token revocations: one past its expiry, one not.
    s.revoke_access_token("jti-expired", now - 1).await.unwrap();
    s.revoke_access_token("jti-live", now + 100).await.unwrap();

    let purged = s.purge_expired(now, grace).await.unwrap();
    assert_eq!(
        purged,
        Purged {
            codes: 2, // the stale and the revoked-old grants' codes
            refresh_tokens: 1200 + 1 + 1,
            families: 2,
            revoked_access_tokens: 1,
        },
        "{}",
        tdb.name
    );

    // Kept: the live grant's tokens and code, the recent revocation, the live jti.
    assert!(s.refresh_token("rt-live").await.unwrap().is_some(), "{}", tdb.name);
    assert!(s.refresh_token("rt-rotated").await.unwrap().unwrap().rotated);
    assert!(s.refresh_token("rt-next").await.unwrap().is_some());
    assert!(matches!(
        s.redeem_code("code-live", "c1", now).await.unwrap(),
        CodeRedemption::AlreadyUsed { .. }
    ));
    assert!(is_revoked(s, "any", Some("revoked-recent")).await, "{}", tdb.name);
    assert!(is_revoked(s, "jti-live", None).await);
    // Gone.
    assert!(s.refresh_token("rt-old-0").await.unwrap().is_none());
    assert!(s.refresh_token("rt-old-1199").await.unwrap().is_none());
    assert!(s.refresh_token("rt-stale").await.unwrap().is_none());
    assert!(s.refresh_token("rt-revoked-old").await.unwrap().is_none());
    assert!(matches!(
        s.redeem_code("code-stale", "c1", now).await.unwrap(),
        CodeRedemption::Unknown
    ));
    assert!(!is_revoked(s, "jti-expired", None).await);

    // Nothing left to do the second time.
    assert_eq!(
        s.purge_expired(now, grace).await.unwrap(),
        Purged::default(),
        "{}",
        tdb.name
    );
}

/// What the resource server learns about access token `jti` of `family` of `user`.
async fn status(
    s: &dyn tessera_core::store::Store,
    jti: &str,
    family: &str,
    user: &str,
) -> tessera_core::store::AccessTokenStatus {
    s.access_token_status(jti, Some(family), Some(user)).await.unwrap()
}

/// Runs one statement on `tdb` behind the store's back (triggers still fire).
async fn raw_execute(tdb: &common::TestDb, sql: &str) {
    use sqlx::Connection;
    if tdb.name == "sqlite" {
        let mut conn = sqlx::SqliteConnection::connect(&tdb.url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(&tdb.url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
}

/// Access-token status answers are cached (server/src/store/status_cache.rs): a write made
/// through the same store takes effect at once; one made by another instance on the same
/// database — every kind that can end a token early — within the cache's poll interval.
async fn cached_token_status_follows_revocations_here_at_once_and_elsewhere_within_the_poll(tdb: common::TestDb) {
    use tessera::store::status_cache::POLL;
    let settle = POLL + std::time::Duration::from_millis(100);
    let here = common::open(&tdb).await;
    let there = common::open(&tdb).await;
    let (a, b) = (&here.store, &there.store);
    let name = tdb.name;
    let uid = a.create_user(new_user("sam", false), 1).await.unwrap().id;
    let other = a.create_user(new_user("kim", false), 1).await.unwrap().id;
    a.create_client(new_client("c1", false), 1).await.unwrap();
    a.create_client(new_client("c2", false), 1).await.unwrap();
    let openid = ScopeSet::parse("openid").unwrap();
    for (family, client, user) in [("f1", "c1", &uid), ("f2", "c1", &uid), ("f3", "c2", &other)] {
        start_family(&**a, family, client, user, &openid, 10).await;
    }
    let live = |s: tessera_core::store::AccessTokenStatus| !s.revoked && s.user.is_some_and(|u| !u.disabled);

    // The cache is in use: the deny-list row deleted behind the store's back (no
    // trigger on delete; only the janitor deletes, and only expired entries) still
    // answers revoked.
    assert!(live(status(&**a, "j1", "f1", &uid).await));
    a.revoke_access_token("j1", 10_000).await.unwrap();
    assert!(status(&**a, "j1", "f1", &uid).await.revoked, "{name}: at once");
    raw_execute(&tdb, "DELETE FROM revoked_access_tokens WHERE jti = 'j1'").await;
    assert!(status(&**a, "j1", "f1", &uid).await.revoked, "{name}: cached");

    // Another instance: an access token revoked.
    assert!(live(status(&**a, "j2", "f1", &uid).await));
    b.revoke_access_token("j2", 10_000).await.unwrap();
    tokio::time::sleep(settle).await;
    assert!(status(&**a, "j2", "f1", &uid).await.revoked, "{name}: AT");

    // A family revoked.
    assert!(live(status(&**a, "j3", "f2", &uid).await));
    b.revoke_family("f2", 20).await.unwrap();
    tokio::time::sleep(settle).await;
    assert!(status(&**a, "j3", "f2", &uid).await.revoked, "{name}: family");

    // A family created revoked (its code replayed before the first exchange finished).
    assert!(live(status(&**a, "j4", "f-new", &uid).await));
    let code = plain_code("c1", &uid, &openid, 10);
    a.put_code("code-f-new", "f-new", &code, 10).await.unwrap();
    b.revoke_family("f-new", 30).await.unwrap();
    tokio::time::sleep(settle).await;
    assert!(status(&**a, "j4", "f-new", &uid).await.revoked, "{name}: born revoked");

    // A consent revoked: that client's families for that user.
    a.grant_consent(&other, "c2", &openid, 10).await.unwrap();
    assert!(live(status(&**a, "j5", "f3", &other).await));
    assert!(b.revoke_consent(&other, "c2", 40).await.unwrap());
    tokio::time::sleep(settle).await;
    assert!(status(&**a, "j5", "f3", &other).await.revoked, "{name}: consent");

    // A user disabled (a live token of another family of theirs).
    start_family(&**a, "f4", "c1", &uid, &openid, 50).await;
    assert!(live(status(&**a, "j6", "f4", &uid).await));
    assert!(b.set_user_disabled(&uid, true).await.unwrap());
    tokio::time::sleep(settle).await;
    let seen = status(&**a, "j6", "f4", &uid).await;
    assert!(!seen.revoked && seen.user.unwrap().disabled, "{name}: user disabled");
    // ...and enabled again, here: at once.
    assert!(a.set_user_disabled(&uid, false).await.unwrap());
    assert!(live(status(&**a, "j6", "f4", &uid).await), "{name}");

    // Family and consent revocations here: at once too.
    start_family(&**a, "f5", "c1", &uid, &openid, 60).await;
    start_family(&**a, "f6", "c2", &uid, &openid, 60).await;
    a.grant_consent(&uid, "c2", &openid, 60).await.unwrap();
    assert!(live(status(&**a, "j7", "f5", &uid).await));
    assert!(live(status(&**a, "j8", "f6", &uid).await));
    a.revoke_family("f5", 70).await.unwrap();
    assert!(status(&**a, "j7", "f5", &uid).await.revoked, "{name}: family here");
    assert!(a.revoke_consent(&uid, "c2", 70).await.unwrap());
    assert!(status(&**a, "j8", "f6", &uid).await.revoked, "{name}: consent here");
}

/// #18 item 10: private signing keys are encrypted at rest under a key derived from the
/// server secret; a key stored in the clear (before this) is encrypted at the next load;
/// the wrong secret cannot load them (and says what to set); a rotated secret reads them
/// with the old one as previous and re-encrypts them under the new.
async fn signing_keys_are_encrypted_at_rest_and_follow_the_server_secret(tdb: common::TestDb) {
    use tessera::crypto::keyring::KeyRing;
    use tessera::crypto::server_secret::{Sealer, ServerSecret};
    const A: &str = "storage-test-secret-aaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "storage-test-secret-bbbbbbbbbbbbbbbbbbbbbbbbbb";
    let db = common::open(&tdb).await;
    let s = db.store.clone();
    // A key from before encryption at rest: plain PKCS#8.
    let legacy = tessera::crypto::jwt::generate(tessera::crypto::jwt::SigningAlg::ES256, 1).unwrap();
    s.insert_signing_key(&tessera_core::store::KeyRecord {
        kid: legacy.kid.clone(),
        alg: "ES256".into(),
        private_der: legacy.private_pkcs8_der.clone(),
        created_at: 1,
        retired_at: None,
    })
    .await
    .unwrap();

    let a = ServerSecret::new(A, &[]).unwrap();
    let ring = KeyRing::load(s.clone(), &a, tessera::now()).await.unwrap();
    assert!(
        ring.keys().get(&legacy.kid).is_some(),
        "{}: the legacy key still signs",
        tdb.name
    );
    let stored = s.signing_keys().await.unwrap();
    assert_eq!(stored.len(), 4, "{}: one per algorithm", tdb.name);
    for k in &stored {
        assert!(
            Sealer::is_sealed(&k.private_der),
            "{}: {} stored in the clear",
            tdb.name,
            k.kid
        );
        assert_ne!(k.private_der.first(), Some(&0x30), "not PKCS#8 DER");
    }
    assert!(!stored.iter().any(|k| k
        .private_der
        .windows(16)
        .any(|w| legacy.private_pkcs8_der.windows(16).any(|l| l == w))));

    // The wrong secret: refused, with what to do.
    let e = KeyRing::load(s.clone(), &ServerSecret::new(B, &[]).unwrap(), tessera::now())
        .await
        .err()
        .expect("another secret cannot decrypt the keys");
    assert!(e.to_string().contains("TESSERA_SECRET"), "{e}");

    // Rotation: B with A as previous reads them and re-encrypts under B...
    let rotated = KeyRing::load(s.clone(), &ServerSecret::new(B, &[A]).unwrap(), tessera::now())
        .await
        .unwrap();
    assert!(rotated.keys().get(&legacy.kid).is_some());
    // ...after which B alone is enough, and A alone no longer is.
    KeyRing::load(s.clone(), &ServerSecret::new(B, &[]).unwrap(), tessera::now())
        .await
        .unwrap();
    assert!(
        KeyRing::load(s.clone(), &a, tessera::now()).await.is_err(),
        "{}",
        tdb.name
    );
}

/// The audit log (`audit_events`): what goes in comes out, newest first; every filter
/// and the "older" paging; the janitor's purge by age.
mod audit {
    use super::*;
    use tessera_core::audit::{Actor, Filter, Kind, NewEvent};

    const T0: i64 = 1_800_000_000;

    async fn audit_events_filter_page_and_purge(tdb: common::TestDb) {
        let db = common::open(&tdb).await;
        let s = &db.store;
        let page = |f: Filter| Filter { limit: 50, ..f };
        assert!(s.events(&page(Filter::default())).await.unwrap().is_empty());

        let failed = NewEvent::new(Kind::SignInFailed, Actor::Anonymous, T0)
            .subject("alice")
            .address(Some("::ffff:192.0.2.7".parse().unwrap()))
            .detail(r#"{"reason":"invalid"}"#.into());
        s.record_event(&failed).await.unwrap();
        let signed_in = NewEvent::new(Kind::SignInSucceeded, Actor::user("u-alice", "alice"), T0 + 10)
            .subject("alice")
            .address(Some("2001:db8::1".parse().unwrap()));
        s.record_event(&signed_in).await.unwrap();
        let created = NewEvent::new(Kind::ClientCreated, Actor::user("u-root", "root"), T0 + 86_400)
            .client("shop")
            .subject("shop");
        s.record_event(&created).await.unwrap();
        let rotated = NewEvent::new(Kind::KeyRotated, Actor::Cli, T0 + 2 * 86_400).subject("kid-1");
        s.record_event(&rotated).await.unwrap();

        let all = s.events(&page(Filter::default())).await.unwrap();
        let kinds: Vec<&str> = all.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["key.rotated", "client.created", "sign_in.succeeded", "sign_in.failed"],
            "{}: newest first",
            tdb.name
        );
        let first = &all[3];
        assert_eq!(first.at, T0);
        assert_eq!((first.actor_id.as_deref(), first.actor_name.as_deref()), (None, None));
        assert_eq!(first.subject.as_deref(), Some("alice"));
        assert_eq!(
            first.address.as_deref(),
            Some("192.0.2.7"),
            "a mapped IPv4 address reads as IPv4"
        );
        assert_eq!(first.detail, r#"{"reason":"invalid"}"#);
        assert_eq!(all[2].actor_id.as_deref(), Some("u-alice"));
        assert_eq!(all[2].address.as_deref(), Some("2001:db8::1"));
        assert_eq!(all[2].detail, "{}");
        assert_eq!(
            (all[0].actor_id.as_deref(), all[0].actor_name.as_deref()),
            (None, Some("cli"))
        );
        assert!(all.windows(2).all(|w| w[0].id > w[1].id));

        let ids = |events: Vec<tessera_core::audit::Event>| events.into_iter().map(|e| e.kind).collect::<Vec<_>>();
        let by_kind = s
            .events(&page(Filter {
                kind: Some(Kind::SignInFailed),
                ..Default::default()
            }))
            .await
            .unwrap();
        assert_eq!(ids(by_kind), ["sign_in.failed"], "{}", tdb.name);
        // The user filter matches the actor's name or the subject.
        let alice = s
            .events(&page(Filter {
                user: Some("alice".into()),
                ..Default::default()
            }))
            .await
            .unwrap();
        assert_eq!(ids(alice), ["sign_in.succeeded", "sign_in.failed"]);
        let root = s
            .events(&page(Filter {
                user: Some("root".into()),
                ..Default::default()
            }))
            .await
            .unwrap();
        assert_eq!(ids(root), ["client.created"]);
        let shop = s
            .events(&page(Filter {
                client_id: Some("shop".into()),
                ..Default::default()
            }))
            .await
            .unwrap();
        assert_eq!(ids(shop), ["client.created"]);
        let since = s
            .events(&page(Filter {
                since: Some(T0 + 86_400),
                ..Default::default()
            }))
            .await
            .unwrap();
        assert_eq!(ids(since), ["key.rotated", "client.created"]);
        let none = s
            .events(&page(Filter {
                kind: Some(Kind::SignInFailed),
                user: Some("root".into()),
                ..Default::default()
            }))
            .await
            .unwrap();
        assert!(none.is_empty(), "filters combine");

        // Paging: two at a time, the next page older than the last id seen.
        let first_page = s
            .events(&Filter {
                limit: 2,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(first_page.len(), 2);
        let older = s
            .events(&Filter {
                limit: 2,
                before_id: Some(first_page[1].id),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(ids(older), ["sign_in.succeeded", "sign_in.failed"], "{}", tdb.name);

        // The janitor deletes what was recorded before the cut-off, nothing else.
        assert_eq!(s.purge_events(T0 + 86_400).await.unwrap(), 2, "{}", tdb.name);
        let left = s.events(&page(Filter::default())).await.unwrap();
        assert_eq!(ids(left), ["key.rotated", "client.created"]);
        assert_eq!(s.purge_events(T0 + 86_400).await.unwrap(), 0);
    }

    /// More than one batch of old events goes in one purge.
    async fn purging_audit_events_goes_past_one_batch(tdb: common::TestDb) {
        let db = common::open(&tdb).await;
        let s = &db.store;
        for i in 0..1_001 {
            let e = NewEvent::new(Kind::SignInFailed, Actor::Anonymous, T0 + i).subject("x");
            s.record_event(&e).await.unwrap();
        }
        let recent = NewEvent::new(Kind::SignedOut, Actor::user("u", "u"), T0 + 10_000);
        s.record_event(&recent).await.unwrap();
        assert_eq!(s.purge_events(T0 + 5_000).await.unwrap(), 1_001, "{}", tdb.name);
        let left = s
            .events(&Filter {
                limit: 50,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].kind, "sign_out");
    }

    per_backend!(
        audit_events_filter_page_and_purge,
        purging_audit_events_goes_past_one_batch
    );
}

/// One-time identifiers (`seen_jtis`): accepted once per purpose while remembered, by
/// exactly one of many concurrent callers, again once expired, and purged after.
async fn one_time_identifiers_are_accepted_once(tdb: common::TestDb) {
    let db = common::open(&tdb).await;
    let s = db.store.clone();
    let now = 1_000_000;
    assert!(s.first_use("dpop", "abc", now + 60, now).await.unwrap());
    assert!(!s.first_use("dpop", "abc", now + 60, now + 1).await.unwrap());
    // Another purpose keeps its own identifiers.
    assert!(s.first_use("client_assertion", "abc", now + 60, now).await.unwrap());
    // A very long value is stored by its hash: accepted once as well.
    let long = "j".repeat(10_000);
    assert!(s.first_use("dpop", &long, now + 60, now).await.unwrap());
    assert!(!s.first_use("dpop", &long, now + 60, now).await.unwrap());
    // Once its remembered use has expired, a value is taken again (its old use can no
    // longer be presented); until then it is not.
    assert!(!s.first_use("dpop", "abc", now + 200, now + 59).await.unwrap());
    assert!(s.first_use("dpop", "abc", now + 200, now + 60).await.unwrap());
    assert!(!s.first_use("dpop", "abc", now + 300, now + 100).await.unwrap());
    // Concurrent callers: exactly one wins.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.first_use("dpop", "race", now + 60, now).await.unwrap()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap());
    }
    assert_eq!(winners, 1);
    // Many at once (recorded together, several in one statement): each of 50 values is
    // taken by exactly one of its 4 callers, in whatever batch they land.
    let mut tasks = Vec::new();
    for i in 0..200 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let jti = format!("many-{}", i % 50);
            (i % 50, s.first_use("dpop", &jti, now + 60, now).await.unwrap())
        }));
    }
    let mut taken = [0; 50];
    for t in tasks {
        let (i, won) = t.await.unwrap();
        taken[i] += usize::from(won);
    }
    assert_eq!(taken, [1; 50]);
    assert!(!s.first_use("dpop", "many-7", now + 60, now).await.unwrap());
    // The janitor removes expired identifiers only.
    s.purge_expired(now + 250, 0).await.unwrap();
    let count = |sql: &'static str| {
        let tdb = &tdb;
        async move {
            use sqlx::Connection;
            if tdb.name == "sqlite" {
                let mut c = sqlx::SqliteConnection::connect(&tdb.url).await.unwrap();
                sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut c).await.unwrap()
            } else {
                let mut c = sqlx::PgConnection::connect(&tdb.url).await.unwrap();
                sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut c).await.unwrap()
            }
        }
    };
    // Everything expired by now + 250 (the latest, "abc", at now + 200); a new one stays.
    assert_eq!(count("SELECT COUNT(*) FROM seen_jtis").await, 0);
    assert!(s.first_use("dpop", "abc", now + 400, now + 300).await.unwrap());
    s.purge_expired(now + 300, 0).await.unwrap();
    assert_eq!(count("SELECT COUNT(*) FROM seen_jtis").await, 1);
}

/// RFC 9449 §10 and §5: a code keeps the `dpop_jkt` it was issued with; a refresh token
/// keeps its key through rotation, and an unbound one's successor takes the key given.
async fn dpop_bindings_are_kept_with_codes_and_refresh_tokens(tdb: common::TestDb) {
    use tessera_core::store::CodeRedemption;
    use tessera_core::token::RefreshRecord;
    let db = common::open(&tdb).await;
    let s = &db.store;
    let user = s.create_user(new_user("dee", false), 1).await.unwrap();
    s.create_client(new_client("c1", false), 1).await.unwrap();
    let scopes = ScopeSet::parse("openid offline_access").unwrap();
    let mut code = plain_code("c1", &user.id, &scopes, 100);
    code.dpop_jkt = Some("jkt-code".into());
    s.put_code("hc", "famd", &code, 100).await.unwrap();
    match s.redeem_code("hc", "c1", 101).await.unwrap() {
        CodeRedemption::Redeemed { record, .. } => {
            assert_eq!(record.dpop_jkt.as_deref(), Some("jkt-code"), "{}", tdb.name)
        }
        other => panic!("{}: {other:?}", tdb.name),
    }
    let rec = |jkt: Option<&str>| RefreshRecord {
        family_id: "famd".into(),
        client_id: "c1".into(),
        user_id: user.id.clone(),
        scopes: scopes.clone(),
        auth_time: 99,
        expires_at: 10_000,
        rotated: false,
        revoked: false,
        family_created_at: 101,
        dpop_jkt: jkt.map(str::to_owned),
        resources: Vec::new(),
    };
    let jkt = |hash: &'static str| async move { s.refresh_token(hash).await.unwrap().unwrap().dpop_jkt };
    s.put_refresh_token("bound", &rec(Some("k1")), 101).await.unwrap();
    assert_eq!(jkt("bound").await.as_deref(), Some("k1"), "{}", tdb.name);
    // A bound token's successor keeps its key, whatever key is offered.
    assert!(s
        .rotate_refresh_token("bound", "bound2", 20_000, Some("k2"), 102)
        .await
        .unwrap());
    assert_eq!(jkt("bound2").await.as_deref(), Some("k1"), "{}", tdb.name);
    // An unbound one's successor is bound to the key given, or stays unbound.
    s.put_refresh_token("free", &rec(None), 101).await.unwrap();
    assert!(s
        .rotate_refresh_token("free", "free2", 20_000, None, 102)
        .await
        .unwrap());
    assert_eq!(jkt("free2").await, None, "{}", tdb.name);
    assert!(s
        .rotate_refresh_token("free2", "free3", 20_000, Some("k3"), 103)
        .await
        .unwrap());
    assert_eq!(jkt("free3").await.as_deref(), Some("k3"), "{}", tdb.name);
}

per_backend!(
    users_round_trip_on_every_backend,
    duplicate_username_is_a_conflict_and_writes_nothing,
    clients_round_trip_on_every_backend,
    reopening_migrates_idempotently_and_keeps_data,
    sessions_live_in_the_same_database,
    revoking_a_family_before_it_exists_still_revokes_it,
    a_refresh_token_stored_after_its_family_was_revoked_is_dead,
    revoking_a_consent_spends_that_clients_outstanding_codes,
    purging_expired_grants_keeps_everything_that_can_still_matter,
    cached_token_status_follows_revocations_here_at_once_and_elsewhere_within_the_poll,
    signing_keys_are_encrypted_at_rest_and_follow_the_server_secret,
    one_time_identifiers_are_accepted_once,
    dpop_bindings_are_kept_with_codes_and_refresh_tokens,
);
