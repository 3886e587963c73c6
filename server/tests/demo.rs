//! The demo client's registration: created on start, its secret stored only as a hash and
//! the same on every call (so every instance on one database knows it), re-registered
//! when the issuer changes.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use tessera::demo_client::{client_secret, ensure, redirect_uri};
use tessera_app::demo_api::DEMO_CLIENT_ID;

#[tokio::test]
async fn demo_client_is_registered_with_a_derived_secret() {
    for db in common::databases().await {
        let database = common::open(&db).await;
        tessera::keyring::KeyRing::load(database.store.clone(), tessera::now())
            .await
            .unwrap();
        let store = database.store.as_ref();

        ensure(&database, "http://127.0.0.1:3000").await.unwrap();
        let client = store.client_by_id(DEMO_CLIENT_ID).await.unwrap().expect(db.name);
        let secret = client_secret(store).await.unwrap();
        assert_eq!(
            client.secret_hash.as_deref(),
            Some(secret.hash().as_str()),
            "{}",
            db.name
        );
        assert_ne!(
            client.secret_hash.as_deref(),
            Some(secret.expose()),
            "never in the clear"
        );
        assert!(!client.is_public && client.requires_pkce());
        assert_eq!(client.redirect_uris[0].as_str(), redirect_uri("http://127.0.0.1:3000"));

        // Idempotent: a second start keeps the row (same created_at).
        ensure(&database, "http://127.0.0.1:3000").await.unwrap();
        let again = store.client_by_id(DEMO_CLIENT_ID).await.unwrap().unwrap();
        assert_eq!(again, client);
        assert_eq!(client_secret(store).await.unwrap().expose(), secret.expose());

        // A new issuer: the redirect URI follows.
        ensure(&database, "https://id.example.com").await.unwrap();
        let moved = store.client_by_id(DEMO_CLIENT_ID).await.unwrap().unwrap();
        assert_eq!(moved.redirect_uris[0].as_str(), "https://id.example.com/demo/callback");
        assert_eq!(moved.secret_hash, client.secret_hash);
    }
}
