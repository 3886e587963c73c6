//! One storage suite, run unchanged against SQLite and PostgreSQL.

mod common;

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
    }
}

#[tokio::test]
async fn users_round_trip_on_every_backend() {
    for tdb in common::databases().await {
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
}

#[tokio::test]
async fn duplicate_username_is_a_conflict_and_writes_nothing() {
    for tdb in common::databases().await {
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
}

#[tokio::test]
async fn clients_round_trip_on_every_backend() {
    for tdb in common::databases().await {
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
}

#[tokio::test]
async fn reopening_migrates_idempotently_and_keeps_data() {
    for tdb in common::databases().await {
        let db = common::open(&tdb).await;
        db.store.create_user(new_user("dave", false), 1).await.unwrap();
        drop(db);
        let again = common::open(&tdb).await;
        again.store.ping().await.unwrap();
        assert_eq!(again.store.count_users().await.unwrap(), 1, "{}", tdb.name);
        assert_eq!(again.store.backend(), tdb.name);
    }
}

#[tokio::test]
async fn sessions_live_in_the_same_database() {
    for tdb in common::databases().await {
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
