//! Issue 20: browser sessions end after an idle period (sliding while used) and at an
//! absolute cap however active; a refresh-token family ends at its absolute cap however
//! often it rotates.

use std::time::Duration;

use crate::common::{self, CALLBACK, PKCE_VERIFIER};

async fn signed_in(browser: &reqwest::Client, server: &common::TestServer) -> bool {
    let html = common::page(browser, server, "/").await.text().await.unwrap();
    html.contains("data-testid=\"signed-in\"")
}

#[tokio::test]
async fn a_session_used_within_its_idle_timeout_stays_signed_in_then_ends_when_left() {
    for tdb in common::databases().await {
        let server = common::serve_with(&tdb.url, |c| {
            c.lifetimes.session_idle_timeout = 4;
            c.lifetimes.session_max_age = 600;
        })
        .await;
        common::add_user(&server, "ida", "ida-password", false).await;
        let browser = common::browser();
        assert_eq!(common::sign_in(&browser, &server, "ida", "ida-password").await, "/");
        // Used every second for longer than the idle timeout: the expiry slides.
        for second in 1..=6 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            assert!(
                signed_in(&browser, &server).await,
                "{}: signed out after {second} s of use",
                tdb.name
            );
        }
        // Left alone for longer than the timeout: gone.
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(
            !signed_in(&browser, &server).await,
            "{}: still signed in when idle",
            tdb.name
        );
    }
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_cap_however_active() {
    for tdb in common::databases().await {
        let server = common::serve_with(&tdb.url, |c| {
            // Set directly (the command line refuses an idle timeout past the cap): the
            // idle timeout alone would keep this busy session forever.
            c.lifetimes.session_idle_timeout = 600;
            c.lifetimes.session_max_age = 3;
        })
        .await;
        common::add_user(&server, "max", "max-password", true).await;
        let browser = common::browser();
        assert_eq!(common::sign_in(&browser, &server, "max", "max-password").await, "/");
        assert!(signed_in(&browser, &server).await);
        let mut ended_after = None;
        for tenth in 1..=60 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if !signed_in(&browser, &server).await {
                ended_after = Some(tenth);
                break;
            }
        }
        let ended_after = ended_after.expect("signed in 6 s after a 3 s cap");
        // The cap is whole seconds from the sign-in's second: it ends 2 to 3 s after the
        // first check here (which follows the sign-in), never long before or after.
        assert!(
            (10..=40).contains(&ended_after),
            "{}: ended after {ended_after} tenths of a second, not at the 3 s cap",
            tdb.name
        );
        // The guarded pages send it to sign in again.
        let res = common::page(&browser, &server, "/admin").await;
        assert_eq!(res.status(), 302, "{}", tdb.name);
    }
}

#[tokio::test]
async fn a_refresh_family_ends_at_its_absolute_cap_however_often_it_rotates() {
    for tdb in common::databases().await {
        let server = common::serve_with(&tdb.url, |c| c.lifetimes.refresh_family_max_age = 3).await;
        common::add_user(&server, "rae", "rae-password", false).await;
        let secret = common::add_web_client(&server, "openid offline_access").await;
        let browser = common::browser();
        let walk = common::authorize_as(
            &browser,
            &server,
            &common::authorize_path("openid offline_access"),
            ("rae", "rae-password"),
        )
        .await;
        let (status, body) = common::token(
            &server,
            secret.expose(),
            &[
                ("grant_type", "authorization_code"),
                ("code", &walk.code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", PKCE_VERIFIER),
            ],
        )
        .await;
        assert_eq!(status, 200, "{}: {body}", tdb.name);
        let started = std::time::Instant::now();
        let mut refresh = body["refresh_token"].as_str().expect("refresh token").to_owned();
        // Rotating within the cap works (the client's own refresh lifetime is 30 days).
        let (status, body) = common::token(
            &server,
            secret.expose(),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
        assert_eq!(status, 200, "{}: {body}", tdb.name);
        refresh = body["refresh_token"].as_str().expect("rotated").to_owned();
        // Past the cap (counted from the code's redemption, whole seconds): refused, the
        // newest token of the family included.
        tokio::time::sleep(Duration::from_secs(4).saturating_sub(started.elapsed())).await;
        let (status, body) = common::token(
            &server,
            secret.expose(),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{}: {body}",
            tdb.name
        );
    }
}
