//! Attacks on accounts: pre-registration takeover, sessions that outlive a password
//! change or reset (including the race with a login in flight), and links that a
//! database reader could use.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use quotidian::clients::mailer::{MailError, Mailer, OutgoingEmail};

use crate::helpers::*;

/// SES that is never reachable: every email stays pending.
struct Unreachable;

#[async_trait::async_trait]
impl Mailer for Unreachable {
    async fn send(&self, _: &OutgoingEmail) -> Result<String, MailError> {
        Err(MailError::Transient("connection refused".into()))
    }
}

const ATTACKER_PASSWORD: &str = "crimson-anvil-tundra-93";

/// Waits until `to` has received `n` emails whose subject contains `subject`; returns them.
async fn wait_for_emails(to: &str, subject: &str, n: usize) -> Vec<serde_json::Value> {
    eventually(Duration::from_secs(10), async || {
        let found: Vec<_> = emails_to(to)
            .await
            .into_iter()
            .filter(|m| m["subject"].as_str().is_some_and(|s| s.contains(subject)))
            .collect();
        if found.len() >= n {
            Ok(found)
        } else {
            Err(format!(
                "only {} of {n} emails to {to} ({subject:?})",
                found.len()
            ))
        }
    })
    .await
}

/// Sixty logins with the old password, one every 5 ms, each from its own client; the
/// clients come back with their answers.
fn login_stream(
    app: &TestApp,
    email: &str,
) -> tokio::task::JoinHandle<Vec<(StatusCode, reqwest::Client)>> {
    let address = app.address.clone();
    let email = email.to_owned();
    tokio::spawn(async move {
        let mut handles = Vec::new();
        for _ in 0..60 {
            let address = address.clone();
            let email = email.clone();
            handles.push(tokio::spawn(async move {
                let client = new_client();
                let response = client
                    .post(format!("{address}/api/v1/auth/login"))
                    .json(&json!({"email": email, "password": PASSWORD}))
                    .send()
                    .await
                    .unwrap();
                (response.status(), client)
            }));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    })
}

async fn me_status(app: &TestApp, client: &reqwest::Client) -> StatusCode {
    client
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn whoever_confirms_the_mailbox_sets_the_password() {
    let app = spawn_app().await;
    let email = unique_email();
    // The attacker signs up the victim's address first and never confirms.
    app.signup(&email, ATTACKER_PASSWORD).await;
    wait_for_emails(&email, "Confirm", 1).await;
    // The owner signs up later with their own password and confirms their own link.
    app.signup(&email, PASSWORD).await;
    let mails = wait_for_emails(&email, "Confirm", 2).await;
    let attackers_link = token_of(&link_in(&mails[0]));
    let owners_link = token_of(&link_in(&mails[1]));
    assert_eq!(app.confirm(&owners_link).await.status(), StatusCode::OK);

    assert_eq!(
        app.login_with(&new_client(), &email, ATTACKER_PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "the attacker's password must not open the owner's account"
    );
    assert_eq!(
        app.login_with(&new_client(), &email, PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    // The older link (which carries the attacker's password) died with the confirmation.
    assert_problem(
        app.confirm(&attackers_link).await,
        StatusCode::BAD_REQUEST,
        "invalid-token",
    )
    .await;
    assert_eq!(
        app.login_with(&new_client(), &email, PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn confirming_revokes_every_session_that_existed_before() {
    let app = spawn_app().await;
    let email = unique_email();
    app.signup(&email, ATTACKER_PASSWORD).await;
    wait_for_emails(&email, "Confirm", 1).await;
    // However a session of the unconfirmed account came to exist, it must not survive
    // the owner proving the mailbox.
    let user_id: uuid::Uuid = sqlx::query_scalar("select id from users where email = $1")
        .bind(&email)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let token = "S".repeat(43);
    use sha2::Digest as _;
    sqlx::query(
        "insert into sessions (id_hash, user_id, expires_at) values ($1, $2, now() + interval '1 day')",
    )
    .bind(sha2::Sha256::digest(token.as_bytes()).to_vec())
    .bind(user_id)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("update users set confirmed_at = null where id = $1")
        .bind(user_id)
        .execute(&app.db)
        .await
        .unwrap();

    app.signup(&email, PASSWORD).await;
    let mails = wait_for_emails(&email, "Confirm", 2).await;
    assert_eq!(
        app.confirm(&token_of(&link_in(&mails[1]))).await.status(),
        StatusCode::OK
    );
    let stolen = reqwest::Client::new()
        .get(app.url("/api/v1/me"))
        .header("cookie", format!("quotidian_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), StatusCode::UNAUTHORIZED);
}

/// Logins with the old password keep arriving while the password is reset: a login
/// that checked the old hash while the reset was committing must not leave a live
/// session behind.
#[tokio::test]
async fn no_session_outlives_a_reset_even_when_a_login_races_it() {
    let app = TestApp::builder()
        .with_config(|c| {
            c.limits.login_attempts_per_account_per_minute = nz(10000);
            c.limits.login_attempts_per_client_per_minute = nz(10000);
        })
        .spawn()
        .await;
    let email = app.confirmed_user().await;
    app.post(
        &new_client(),
        "/api/v1/auth/password-reset",
        json!({"email": email}),
    )
    .await;
    let token = token_of(&link_in(&wait_for_email(&email, "Reset").await));

    // A stream of logins with the old password, one every few milliseconds, around the
    // reset.
    let logins = login_stream(&app, &email);
    tokio::time::sleep(Duration::from_millis(60)).await;
    let reset = app
        .post(
            &new_client(),
            "/api/v1/auth/password-reset/confirm",
            json!({"token": token, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    let results = logins.await.unwrap();
    let logged_in: Vec<_> = results
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .collect();
    assert!(
        !logged_in.is_empty(),
        "no login got through before the reset"
    );
    let mut alive = 0;
    for (_, client) in &logged_in {
        if me_status(&app, client).await == StatusCode::OK {
            alive += 1;
        }
    }
    assert_eq!(
        alive,
        0,
        "{alive} of {} sessions opened with the old password outlived the reset",
        logged_in.len()
    );
    assert_eq!(
        app.login_with(&new_client(), &email, NEW_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn no_other_session_outlives_a_password_change_even_when_a_login_races_it() {
    let app = TestApp::builder()
        .with_config(|c| {
            c.limits.login_attempts_per_account_per_minute = nz(10000);
            c.limits.login_attempts_per_client_per_minute = nz(10000);
        })
        .spawn()
        .await;
    let email = app.confirmed_user().await;
    let logins = login_stream(&app, &email);
    tokio::time::sleep(Duration::from_millis(60)).await;
    let changed = app
        .api
        .put(app.url("/api/v1/me/password"))
        .json(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    let results = logins.await.unwrap();
    let logged_in: Vec<_> = results
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .collect();
    assert!(!logged_in.is_empty());
    let mut alive = 0;
    for (_, client) in &logged_in {
        if me_status(&app, client).await == StatusCode::OK {
            alive += 1;
        }
    }
    assert_eq!(alive, 0, "sessions opened with the old password survived");
    // The session that changed the password stays logged in.
    assert_eq!(me_status(&app, &app.api).await, StatusCode::OK);
}

/// A database reader (a backup, a replica, a support tool) sees the outbox: it must
/// hold no usable confirmation or reset link while the email waits to be sent.
#[tokio::test]
async fn a_pending_email_holds_no_usable_link() {
    // A mailer that never succeeds keeps the emails pending.
    let app = TestApp::builder()
        .with_mailer(std::sync::Arc::new(Unreachable))
        .spawn()
        .await;
    let email = unique_email();
    app.signup(&email, PASSWORD).await;
    // Once the worker has tried (and failed) to send it, the email is as it waits.
    eventually(Duration::from_secs(10), async || {
        let tried: i64 = sqlx::query_scalar(
            "select count(*) from email_outbox where recipient = $1 and attempts > 0 and last_error is not null",
        )
        .bind(&email)
        .fetch_one(&app.db)
        .await
        .unwrap();
        if tried > 0 {
            Ok(())
        } else {
            Err("the worker never tried to send the confirmation")
        }
    })
    .await;
    let rows: Vec<(Option<String>,)> =
        sqlx::query_as("select row_to_json(e)::text from email_outbox e where recipient = $1")
            .bind(&email)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert!(!rows.is_empty());
    for (row,) in rows {
        let row = row.unwrap_or_default();
        assert!(
            !row.contains("token="),
            "a pending outbox row holds a link: {row}"
        );
    }
}
