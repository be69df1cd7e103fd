//! Signup, login and reset must not reveal whether an address has an account: same
//! status, same body, comparable time.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test]
async fn signup_answers_the_same_for_new_and_existing_addresses() {
    let app = spawn_app().await;
    let existing = app.confirmed_user().await;
    let taken = answer(app.signup(&existing, NEW_PASSWORD).await).await;
    let fresh = answer(app.signup(&unique_email(), NEW_PASSWORD).await).await;
    assert_eq!(taken, fresh);
    assert_eq!(taken.0, StatusCode::ACCEPTED);
    // The owner of the existing account hears about it; nothing changed for them.
    let notice = wait_for_email(&existing, "Your Quotidian account").await;
    assert!(
        notice["body"]["text"]
            .as_str()
            .unwrap()
            .contains("already has an account")
    );
    assert_eq!(
        app.login_with(&new_client(), &existing, PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn login_answers_the_same_for_unknown_addresses_and_wrong_passwords() {
    let app = spawn_app().await;
    let existing = app.confirmed_user().await;
    let unknown = answer(
        app.login_with(&new_client(), &unique_email(), "some-wrong-password-1")
            .await,
    )
    .await;
    let wrong = answer(
        app.login_with(&new_client(), &existing, "some-wrong-password-1")
            .await,
    )
    .await;
    assert_eq!(unknown, wrong);
    assert_eq!(unknown.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn reset_answers_the_same_and_only_the_account_gets_mail() {
    let app = spawn_app().await;
    let existing = app.confirmed_user().await;
    let nobody = unique_email();
    let known = answer(
        app.post(
            &new_client(),
            "/api/v1/auth/password-reset",
            json!({"email": existing}),
        )
        .await,
    )
    .await;
    let unknown = answer(
        app.post(
            &new_client(),
            "/api/v1/auth/password-reset",
            json!({"email": nobody}),
        )
        .await,
    )
    .await;
    assert_eq!(known, unknown);
    assert_eq!(known.0, StatusCode::ACCEPTED);
    wait_for_email(&existing, "Reset").await;
    assert!(emails_to(&nobody).await.is_empty());
}

/// Unknown addresses cost an argon2 verification too. Without the dummy hash an
/// unknown address answers in ~1 ms against ~50 ms: a 3x bound catches that while
/// tolerating a busy machine.
#[tokio::test]
async fn login_and_signup_take_comparable_time_either_way() {
    let app = TestApp::builder()
        .with_config(|c| {
            c.limits.login_attempts_per_client_per_minute = nz(1000);
            c.limits.login_attempts_per_account_per_minute = nz(1000);
        })
        .spawn()
        .await;
    let existing = app.confirmed_user().await;
    let client = new_client();
    let mut known_login = Vec::new();
    let mut unknown_login = Vec::new();
    let mut known_signup = Vec::new();
    let mut unknown_signup = Vec::new();
    for i in 0..5 {
        let start = Instant::now();
        // Different account keys each time, so the per-account limiter stays out of it.
        let r = app
            .login_with(&client, &format!("{i}{existing}"), "some-wrong-password-1")
            .await;
        unknown_login.push(start.elapsed());
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let start = Instant::now();
        app.login_with(
            &client,
            &existing,
            if i < 4 {
                "some-wrong-password-1"
            } else {
                PASSWORD
            },
        )
        .await;
        known_login.push(start.elapsed());

        let start = Instant::now();
        app.signup(&existing, NEW_PASSWORD).await;
        known_signup.push(start.elapsed());
        let start = Instant::now();
        app.signup(&unique_email(), NEW_PASSWORD).await;
        unknown_signup.push(start.elapsed());
    }
    let (k, u) = (median(known_login), median(unknown_login));
    assert!(
        u * 3 > k && k * 3 > u,
        "login: known {k:?} vs unknown {u:?}"
    );
    let (k, u) = (median(known_signup), median(unknown_signup));
    assert!(
        u * 3 > k && k * 3 > u,
        "signup: known {k:?} vs unknown {u:?}"
    );
}
