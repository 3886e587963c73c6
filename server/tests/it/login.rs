//! The sign-in layer below HTTP (`tessera_services`): the password login sequence, how
//! a session records who signed in, how and when, and a password change — on a real
//! store and session store, with a clock the tests move.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;

use tessera_core::policy;
use tessera_core::store::{NewUser, Store, User};
use tessera_core::throttle::{PER_ACCOUNT, PER_ADDRESS};
use tessera_services::clock::{Clock, FixedClock};
use tessera_services::login::{self, Outcome};
use tessera_services::password::{self, Change};
use tessera_services::session::{self, Method};
use tower_sessions::Session;

/// The tests' start: the real time, since a sign-in's absolute cap is checked against it.
static T0: std::sync::LazyLock<i64> = std::sync::LazyLock::new(tessera_services::clock::now);

async fn add_user(store: &dyn Store, name: &str, password: &str) -> User {
    store
        .create_user(
            NewUser {
                username: tessera_core::types::Username::parse(name).unwrap(),
                password_hash: tessera_core::password::hash_password(password).unwrap(),
                email: None,
                name: None,
                is_admin: false,
            },
            *T0,
        )
        .await
        .unwrap()
}

fn session(db: &tessera::store::Database) -> Session {
    Session::new(None, Arc::new(db.sessions.clone()), None)
}

async fn attempt(
    db: &tessera::store::Database,
    s: &Session,
    clock: &FixedClock,
    user: &str,
    pw: &str,
    peer: Option<std::net::IpAddr>,
) -> Outcome {
    login::password(
        db.store.as_ref(),
        s,
        clock,
        user,
        pw,
        peer,
        policy::SESSION_MAX_AGE_DEFAULT,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn right_password_signs_in_recording_how_and_when() {
    for tdb in common::databases().await {
        let db = common::open(&tdb).await;
        let ada = add_user(db.store.as_ref(), "ada", "ada-password").await;
        let clock = FixedClock::at(*T0);
        let s = session(&db);
        s.insert("csrf", "before").await.unwrap();

        let outcome = attempt(&db, &s, &clock, " ADA ", "ada-password", None).await;
        assert_eq!(outcome, Outcome::SignedIn(ada.clone()), "{}", tdb.name);
        let record = session::sign_in_record(&s).await.unwrap().expect("signed in");
        assert_eq!(record.user_id, ada.id);
        assert_eq!(record.methods, vec![Method::Password]);
        assert_eq!(record.auth_time, *T0);
        assert_eq!(record.password_epoch, ada.password_epoch);
        assert_eq!(
            s.get::<String>("csrf").await.unwrap(),
            None,
            "a new CSRF token after sign-in"
        );
        let current = session::current_user(db.store.as_ref(), &s).await.unwrap();
        assert_eq!(current.map(|u| u.id), Some(ada.id.clone()));

        // Signing in again (prompt=login) moves auth_time and lists the method once.
        clock.advance(60);
        assert!(matches!(
            attempt(&db, &s, &clock, "ada", "ada-password", None).await,
            Outcome::SignedIn(_)
        ));
        let record = session::sign_in_record(&s).await.unwrap().unwrap();
        assert_eq!((record.methods, record.auth_time), (vec![Method::Password], *T0 + 60));
        assert_eq!(Method::Password.amr(), "pwd");
    }
}

#[tokio::test]
async fn wrong_unknown_and_disabled_are_one_answer() {
    for tdb in common::databases().await {
        let db = common::open(&tdb).await;
        let bo = add_user(db.store.as_ref(), "bo", "bo-password").await;
        let clock = FixedClock::at(*T0);
        let s = session(&db);
        assert_eq!(attempt(&db, &s, &clock, "bo", "wrong", None).await, Outcome::Invalid);
        assert_eq!(
            attempt(&db, &s, &clock, "nobody", "bo-password", None).await,
            Outcome::Invalid
        );
        db.store.set_user_disabled(&bo.id, true).await.unwrap();
        assert_eq!(
            attempt(&db, &s, &clock, "bo", "bo-password", None).await,
            Outcome::Invalid,
            "{}",
            tdb.name
        );
        assert_eq!(session::sign_in_record(&s).await.unwrap(), None);
    }
}

#[tokio::test]
async fn failures_back_off_per_account_and_success_clears_them() {
    for tdb in common::databases().await {
        let db = common::open(&tdb).await;
        add_user(db.store.as_ref(), "cy", "cy-password").await;
        let clock = FixedClock::at(*T0);
        let s = session(&db);
        for _ in 1..PER_ACCOUNT.threshold {
            assert_eq!(attempt(&db, &s, &clock, "cy", "wrong", None).await, Outcome::Invalid);
        }
        // The threshold-th failure blocks for 1 s (through the next whole second: "try again
        // in 2 s"); while blocked even the right password
        // is refused, before Argon2.
        assert_eq!(
            attempt(&db, &s, &clock, "cy", "wrong", None).await,
            Outcome::Throttled { retry_after: 2 }
        );
        assert_eq!(
            attempt(&db, &s, &clock, "CY", "cy-password", None).await,
            Outcome::Throttled { retry_after: 2 },
            "{}",
            tdb.name
        );
        // The next whole second it still holds: the clock counts whole seconds, and a 1 s
        // block recorded late in a second must not end a moment later.
        clock.advance(1);
        assert_eq!(
            attempt(&db, &s, &clock, "cy", "cy-password", None).await,
            Outcome::Throttled { retry_after: 1 },
            "{}",
            tdb.name
        );
        clock.advance(1);
        assert!(matches!(
            attempt(&db, &s, &clock, "cy", "cy-password", None).await,
            Outcome::SignedIn(_)
        ));
        // Cleared: the full number of failures again before the next block.
        for _ in 1..PER_ACCOUNT.threshold {
            assert_eq!(attempt(&db, &s, &clock, "cy", "wrong", None).await, Outcome::Invalid);
        }
    }
}

#[tokio::test]
async fn failures_count_per_client_address_across_usernames() {
    for tdb in common::databases().await {
        let db = common::open(&tdb).await;
        add_user(db.store.as_ref(), "dee", "dee-password").await;
        let clock = FixedClock::at(*T0);
        let s = session(&db);
        let peer: std::net::IpAddr = "192.0.2.7".parse().unwrap();
        // Different names, so no account reaches its threshold: only the address counts.
        for i in 1..PER_ADDRESS.threshold {
            let name = format!("guess{i}");
            assert_eq!(attempt(&db, &s, &clock, &name, "x", Some(peer)).await, Outcome::Invalid);
        }
        assert_eq!(
            attempt(&db, &s, &clock, "guess-last", "x", Some(peer)).await,
            Outcome::Throttled { retry_after: 2 },
            "{}",
            tdb.name
        );
        // The address is blocked for everyone behind it; another address is not.
        assert!(matches!(
            attempt(&db, &s, &clock, "dee", "dee-password", Some(peer)).await,
            Outcome::Throttled { .. }
        ));
        let other: std::net::IpAddr = "192.0.2.8".parse().unwrap();
        assert!(matches!(
            attempt(&db, &s, &clock, "dee", "dee-password", Some(other)).await,
            Outcome::SignedIn(_)
        ));
    }
}

#[tokio::test]
async fn another_users_sign_in_starts_the_session_empty() {
    for tdb in common::databases().await {
        let db = common::open(&tdb).await;
        add_user(db.store.as_ref(), "eve", "eve-password").await;
        add_user(db.store.as_ref(), "fay", "fay-password").await;
        let clock = FixedClock::at(*T0);
        let s = session(&db);
        // What an anonymous visitor started stays through their sign-in...
        s.insert("demo", "run").await.unwrap();
        assert!(matches!(
            attempt(&db, &s, &clock, "eve", "eve-password", None).await,
            Outcome::SignedIn(_)
        ));
        assert_eq!(s.get::<String>("demo").await.unwrap().as_deref(), Some("run"));
        // ...but not into another user's.
        assert!(matches!(
            attempt(&db, &s, &clock, "fay", "fay-password", None).await,
            Outcome::SignedIn(_)
        ));
        assert_eq!(s.get::<String>("demo").await.unwrap(), None, "{}", tdb.name);
    }
}

#[tokio::test]
async fn password_change_checks_then_signs_out_other_sessions_only() {
    for tdb in common::databases().await {
        let db = common::open(&tdb).await;
        let gus = add_user(db.store.as_ref(), "gus", "gus-password").await;
        let clock = FixedClock::at(*T0);
        let (mine, other) = (session(&db), session(&db));
        for s in [&mine, &other] {
            assert!(matches!(
                attempt(&db, s, &clock, "gus", "gus-password", None).await,
                Outcome::SignedIn(_)
            ));
        }
        let store = db.store.as_ref();
        let change = |current: &'static str, new: &'static str, confirm: &'static str| {
            password::change(store, &mine, &clock, &gus, current, new.to_owned(), confirm)
        };
        assert_eq!(
            change("gus-password", "new-password-1", "other").await.unwrap(),
            Change::Mismatch
        );
        assert_eq!(
            change("gus-password", "short", "short").await.unwrap(),
            Change::TooShort
        );
        assert_eq!(
            change("wrong", "new-password-1", "new-password-1").await.unwrap(),
            Change::WrongCurrent
        );
        assert_eq!(
            change("gus-password", "new-password-1", "new-password-1")
                .await
                .unwrap(),
            Change::Changed,
            "{}",
            tdb.name
        );
        assert!(
            session::current_user(store, &mine).await.unwrap().is_some(),
            "this session stays"
        );
        assert!(
            session::current_user(store, &other).await.unwrap().is_none(),
            "the other is out"
        );
        assert!(matches!(
            attempt(&db, &other, &clock, "gus", "new-password-1", None).await,
            Outcome::SignedIn(_)
        ));
        assert_eq!(clock.now(), *T0);
    }
}
