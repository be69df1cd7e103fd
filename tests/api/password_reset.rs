use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

async fn request_reset(app: &TestApp, email: &str) -> reqwest::Response {
    app.post(
        &new_client(),
        "/api/v1/auth/password-reset",
        json!({"email": email}),
    )
    .await
}

async fn reset(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post(
        &new_client(),
        "/api/v1/auth/password-reset/confirm",
        json!({"token": token, "new_password": password}),
    )
    .await
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_logs_out_everywhere() {
    let app = spawn_app().await;
    let email = app.confirmed_user().await;
    assert_eq!(
        request_reset(&app, &email).await.status(),
        StatusCode::ACCEPTED
    );
    let link = link_in(&wait_for_email(&email, "Reset").await);
    assert!(link.starts_with(&format!("{}/reset-password?token=", app.address)));
    let token = token_of(&link);

    // A weak password is refused and does not use the link up.
    let weak = assert_problem(
        reset(&app, &token, "password1").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(
        weak["errors"][0]["field"], "new_password",
        "the field the request named"
    );
    assert_eq!(
        reset(&app, &token, NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(
        reset(&app, &token, "another-fine-passphrase-9").await,
        StatusCode::BAD_REQUEST,
        "invalid-token",
    )
    .await;

    // The session opened before the reset is gone; only the new password works.
    assert_eq!(
        app.api
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login_with(&new_client(), &email, PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login_with(&new_client(), &email, NEW_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_older_reset_link_dies_when_a_newer_one_is_used() {
    let app = spawn_app().await;
    let email = app.confirmed_user().await;
    request_reset(&app, &email).await;
    let first = token_of(&link_in(&wait_for_email(&email, "Reset").await));
    request_reset(&app, &email).await;
    let second = eventually(std::time::Duration::from_secs(10), async || {
        let resets: Vec<_> = emails_to(&email)
            .await
            .into_iter()
            .filter(|m| m["subject"].as_str().unwrap().contains("Reset"))
            .collect();
        match resets.len() {
            2 => Ok(token_of(&link_in(&resets[1]))),
            n => Err(format!("{n} reset emails, not 2")),
        }
    })
    .await;
    assert_eq!(
        reset(&app, &second, NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(
        reset(&app, &first, "another-fine-passphrase-9").await,
        StatusCode::BAD_REQUEST,
        "invalid-token",
    )
    .await;
}

#[tokio::test]
async fn an_expired_reset_link_is_refused() {
    let app = spawn_app().await;
    let email = app.confirmed_user().await;
    request_reset(&app, &email).await;
    let token = token_of(&link_in(&wait_for_email(&email, "Reset").await));
    sqlx::query("update email_tokens set expires_at = now() - interval '1 second' where purpose = 'reset_password'")
        .execute(&app.db)
        .await
        .unwrap();
    assert_problem(
        reset(&app, &token, NEW_PASSWORD).await,
        StatusCode::BAD_REQUEST,
        "invalid-token",
    )
    .await;
}

#[tokio::test]
async fn reset_emails_per_account_are_capped() {
    let app = spawn_app().await;
    let email = app.confirmed_user().await;
    for _ in 0..5 {
        assert_eq!(
            request_reset(&app, &email).await.status(),
            StatusCode::ACCEPTED
        );
    }
    // Links are minted when the worker sends: wait until every request was looked up
    // and every queued email sent.
    app.reset_lookups_done().await;
    eventually(std::time::Duration::from_secs(10), async || {
        let pending: i64 = sqlx::query_scalar(
            "select count(*) from email_outbox where kind = 'reset_password' and status = 'pending'",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        if pending == 0 {
            Ok(())
        } else {
            Err(format!("{pending} reset emails still pending"))
        }
    })
    .await;
    let issued: i64 =
        sqlx::query_scalar("select count(*) from email_tokens where purpose = 'reset_password'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(issued, 3, "at most three reset links an hour");
}

#[tokio::test]
async fn a_reset_confirms_an_unconfirmed_address() {
    let app = spawn_app().await;
    let email = unique_email();
    app.signup(&email, PASSWORD).await;
    request_reset(&app, &email).await;
    let token = token_of(&link_in(&wait_for_email(&email, "Reset").await));
    assert_eq!(
        reset(&app, &token, NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.login_with(&new_client(), &email, NEW_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}
