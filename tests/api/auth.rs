use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn signup_emails_a_working_confirmation_link() {
    let app = spawn_app().await;
    let email = unique_email();
    let response = app.signup(&email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let mail = wait_for_email(&email, "Confirm").await;
    assert_eq!(mail["from"], "Quotidian <digest@quotidian.test>");
    let link = link_in(&mail);
    assert!(
        link.starts_with(&format!("{}/confirm?token=", app.address)),
        "{link}"
    );
    assert!(mail["body"]["html"].as_str().unwrap().contains(&link));

    // The link opens a page (the web app handles it) ...
    let page = reqwest::get(&link).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Confirm"));
    // ... which confirms through the API.
    let confirmed = app.confirm(&token_of(&link)).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert_eq!(
        app.login_with(&app.api, &email, PASSWORD).await.status(),
        StatusCode::OK
    );
    let me: Value = app
        .api
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], email);
    assert!(me["confirmed_at"].is_string());
}

#[tokio::test]
async fn an_unconfirmed_account_cannot_log_in_and_is_not_scheduled() {
    let app = spawn_app().await;
    let email = unique_email();
    app.signup(&email, PASSWORD).await;
    let response = app.login_with(&app.api, &email, PASSWORD).await;
    assert_problem(response, StatusCode::FORBIDDEN, "email-not-confirmed").await;
    let next: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
        "select p.next_send_at from preferences p join users u on u.id = p.user_id where u.email = $1",
    )
    .bind(&email)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(next.is_none(), "an unconfirmed account must get no digest");
}

#[tokio::test]
async fn confirmation_links_are_single_use_and_expire() {
    let app = spawn_app().await;
    let email = unique_email();
    app.signup(&email, PASSWORD).await;
    let token = token_of(&link_in(&wait_for_email(&email, "Confirm").await));
    assert_eq!(app.confirm(&token).await.status(), StatusCode::OK);
    assert_problem(
        app.confirm(&token).await,
        StatusCode::BAD_REQUEST,
        "invalid-token",
    )
    .await;

    let other = unique_email();
    app.signup(&other, PASSWORD).await;
    let token = token_of(&link_in(&wait_for_email(&other, "Confirm").await));
    sqlx::query("update email_tokens set expires_at = now() - interval '1 second'")
        .execute(&app.db)
        .await
        .unwrap();
    assert_problem(
        app.confirm(&token).await,
        StatusCode::BAD_REQUEST,
        "invalid-token",
    )
    .await;
    assert_problem(
        app.confirm("not-a-token").await,
        StatusCode::BAD_REQUEST,
        "invalid-token",
    )
    .await;
    let made_up = "A".repeat(43);
    assert_problem(
        app.confirm(&made_up).await,
        StatusCode::BAD_REQUEST,
        "invalid-token",
    )
    .await;
}

#[tokio::test]
async fn tokens_are_stored_only_as_hashes_and_passwords_only_as_argon2id() {
    let app = spawn_app().await;
    let email = unique_email();
    app.signup(&email, PASSWORD).await;
    let token = token_of(&link_in(&wait_for_email(&email, "Confirm").await));
    let stored: Vec<u8> = sqlx::query_scalar("select token_hash from email_tokens")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_ne!(stored, token.as_bytes());
    let hash: String = sqlx::query_scalar("select password_hash from users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"));
    assert!(!hash.contains(PASSWORD));
    // The outbox never held the link (see takeover.rs), nor, once sent, the hash.
    let kept: Option<String> =
        sqlx::query_scalar("select password_hash from email_outbox where status = 'sent'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(kept.is_none());
}

#[tokio::test]
async fn login_sets_a_secure_session_cookie_and_logout_ends_it() {
    let app = spawn_app().await;
    let email = unique_email();
    app.signup(&email, PASSWORD).await;
    let token = token_of(&link_in(&wait_for_email(&email, "Confirm").await));
    app.confirm(&token).await;

    let response = app.login_with(&app.api, &email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("quotidian_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(cookie.contains("Path=/"));
    assert!(
        !cookie.contains("Secure"),
        "plain http public URL: no Secure flag"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["email"], email);

    assert_eq!(
        app.api
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let out = app
        .api
        .post(app.url("/api/v1/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let me = app.api.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_problem(me, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let count: i64 = sqlx::query_scalar("select count(*) from sessions")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0, "logout deletes the session on the server");
}

#[tokio::test]
async fn cookies_are_secure_when_the_public_url_is_https() {
    let app = TestApp::builder()
        .with_config(|c| {
            c.server.public_url = Some(url::Url::parse("https://quotidian.example.com").unwrap())
        })
        .spawn()
        .await;
    let email = unique_email();
    app.signup(&email, PASSWORD).await;
    let link = link_in(&wait_for_email(&email, "Confirm").await);
    assert!(link.starts_with("https://quotidian.example.com/confirm?token="));
    app.confirm(&token_of(&link)).await;
    let response = app.login_with(&app.api, &email, PASSWORD).await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn wrong_password_is_refused() {
    let app = spawn_app().await;
    let email = app.confirmed_user().await;
    let response = app
        .login_with(&new_client(), &email, "velvet-harbor-oxide-43")
        .await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid-credentials").await;
}

#[tokio::test]
async fn protected_endpoints_need_a_live_session() {
    let app = spawn_app().await;
    let anonymous = new_client();
    for (method, path) in [
        ("GET", "/api/v1/me"),
        ("DELETE", "/api/v1/me"),
        ("PUT", "/api/v1/me/password"),
        ("DELETE", "/api/v1/me/sessions"),
        ("GET", "/api/v1/watchlist"),
        ("POST", "/api/v1/watchlist"),
        ("DELETE", "/api/v1/watchlist/AAPL"),
        ("GET", "/api/v1/preferences"),
        ("PATCH", "/api/v1/preferences"),
        ("POST", "/api/v1/auth/logout"),
    ] {
        let response = anonymous
            .request(method.parse().unwrap(), app.url(path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
    }
    // A forged cookie is no better than none.
    let forged = anonymous
        .get(app.url("/api/v1/me"))
        .header("cookie", format!("quotidian_session={}", "x".repeat(43)))
        .send()
        .await
        .unwrap();
    assert_problem(forged, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test]
async fn an_expired_session_is_refused() {
    let app = spawn_app().await;
    app.confirmed_user().await;
    assert_eq!(
        app.api
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    sqlx::query("update sessions set expires_at = now() - interval '1 second'")
        .execute(&app.db)
        .await
        .unwrap();
    let response = app.api.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_problem(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test]
async fn sessions_last_as_configured() {
    let app = TestApp::builder()
        .with_config(|c| c.accounts.session_ttl_hours = 2)
        .spawn()
        .await;
    let email = unique_email();
    app.signup(&email, PASSWORD).await;
    app.confirm(&token_of(&link_in(
        &wait_for_email(&email, "Confirm").await,
    )))
    .await;
    let response = app.login_with(&app.api, &email, PASSWORD).await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("Max-Age=7200"), "{cookie}");
    let body: Value = response.json().await.unwrap();
    let expires: chrono::DateTime<chrono::Utc> =
        body["expires_at"].as_str().unwrap().parse().unwrap();
    let hours = (expires - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((1.9..=2.0).contains(&hours), "{hours}");
}

#[tokio::test]
async fn log_out_everywhere_revokes_every_session() {
    let app = spawn_app().await;
    let email = app.confirmed_user().await;
    let laptop = new_client();
    assert_eq!(
        app.login_with(&laptop, &email, PASSWORD).await.status(),
        StatusCode::OK
    );

    let response = app
        .api
        .delete(app.url("/api/v1/me/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["revoked"], 2);
    for client in [&app.api, &laptop] {
        let me = client.get(app.url("/api/v1/me")).send().await.unwrap();
        assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn repeated_logins_for_one_account_are_refused_with_429() {
    let app = TestApp::builder()
        .with_config(|c| c.limits.login_attempts_per_account_per_minute = nz(3))
        .spawn()
        .await;
    let email = app.confirmed_user().await; // one attempt used by the successful login
    for _ in 0..2 {
        let r = app
            .login_with(&new_client(), &email, "wrong-password-here-1")
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = app.login_with(&new_client(), &email, PASSWORD).await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS, "too-many-requests").await;
    // Case and whitespace do not make a new account key.
    let shouted = app
        .login_with(
            &new_client(),
            &format!(" {} ", email.to_uppercase()),
            PASSWORD,
        )
        .await;
    assert_eq!(shouted.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn repeated_logins_from_one_client_are_refused_with_429() {
    let app = TestApp::builder()
        .with_config(|c| c.limits.login_attempts_per_client_per_minute = nz(4))
        .spawn()
        .await;
    for _ in 0..4 {
        let r = app.login_with(&app.api, &unique_email(), PASSWORD).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = app.login_with(&app.api, &unique_email(), PASSWORD).await;
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS, "too-many-requests").await;
}

#[tokio::test]
async fn signing_up_again_before_confirming_sends_a_link_that_sets_the_new_password() {
    let app = spawn_app().await;
    let email = unique_email();
    app.signup(&email, PASSWORD).await;
    wait_for_email(&email, "Confirm").await;
    app.signup(&email, NEW_PASSWORD).await;
    let second = eventually(std::time::Duration::from_secs(10), async || {
        let mut emails = emails_to(&email).await;
        if emails.len() >= 2 {
            Ok(emails.pop().unwrap())
        } else {
            Err("second confirmation email never arrived")
        }
    })
    .await;
    app.confirm(&token_of(&link_in(&second))).await;
    // The link proves the mailbox; the password is the one of the signup that asked
    // for it (see takeover.rs for the attack this prevents).
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
async fn signup_notices_for_one_address_are_capped() {
    let app = spawn_app().await;
    let email = app.confirmed_user().await;
    for _ in 0..10 {
        assert_eq!(
            app.signup(&email, NEW_PASSWORD).await.status(),
            StatusCode::ACCEPTED
        );
    }
    // Each signup queued its email (or not) before it answered.
    let queued: i64 = sqlx::query_scalar(
        "select count(*) from email_outbox where recipient = $1 and kind = 'account_exists'",
    )
    .bind(&email)
    .fetch_one(&app.db)
    .await
    .unwrap();
    // The confirmation counts too: three signup emails an hour in all.
    assert_eq!(
        queued, 2,
        "ten signups for a taken address queued {queued} notices"
    );
}
