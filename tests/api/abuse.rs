//! Abuse of the unauthenticated flows: email bombing through signup and reset, a flood
//! that starves logins, clients hiding behind forwarded headers or IPv6 prefixes,
//! mail to suppressed addresses, accounts that are never confirmed, and the Finnhub
//! budget spent through the watchlist.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// The test process talks to the app from 127.0.0.1, which these apps treat as their
/// proxy, so each request's `X-Forwarded-For` is its client.
fn behind_proxy(c: &mut Config) {
    c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
}

async fn post_as(
    app: &TestApp,
    client: &str,
    path: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    new_client()
        .post(app.url(path))
        .header("x-forwarded-for", client)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn outbox_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from email_outbox")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn signup_reset_and_confirm_are_limited_per_client_with_retry_after() {
    let app = TestApp::builder()
        .with_config(|c| {
            behind_proxy(c);
            c.limits.signups_per_client_per_hour = nz(3);
            c.limits.resets_per_client_per_hour = nz(2);
            c.limits.confirms_per_client_per_hour = nz(2);
        })
        .spawn()
        .await;
    let signup = |client: &'static str| {
        let body = json!({"email": unique_email(), "password": PASSWORD});
        post_as(&app, client, "/api/v1/auth/signup", body)
    };
    for _ in 0..3 {
        assert_eq!(signup("198.51.100.1").await.status(), StatusCode::ACCEPTED);
    }
    let refused = signup("198.51.100.1").await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1, "{retry_after}");
    assert_problem(refused, StatusCode::TOO_MANY_REQUESTS, "too-many-requests").await;
    // Another client has its own budget.
    assert_eq!(signup("198.51.100.2").await.status(), StatusCode::ACCEPTED);

    let reset = || {
        let body = json!({"email": unique_email()});
        post_as(&app, "198.51.100.3", "/api/v1/auth/password-reset", body)
    };
    assert_eq!(reset().await.status(), StatusCode::ACCEPTED);
    assert_eq!(reset().await.status(), StatusCode::ACCEPTED);
    assert_problem(
        reset().await,
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-requests",
    )
    .await;

    let confirm = || {
        post_as(
            &app,
            "198.51.100.4",
            "/api/v1/auth/confirm",
            json!({"token": "A".repeat(43)}),
        )
    };
    assert_eq!(confirm().await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(confirm().await.status(), StatusCode::BAD_REQUEST);
    assert_problem(
        confirm().await,
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-requests",
    )
    .await;
}

#[tokio::test]
async fn many_clients_together_meet_the_global_limit() {
    let app = TestApp::builder()
        .with_config(|c| {
            behind_proxy(c);
            c.limits.signups_per_minute = nz(5);
        })
        .spawn()
        .await;
    let mut accepted = 0;
    for i in 0..20 {
        let body = json!({"email": unique_email(), "password": PASSWORD});
        let client = format!("203.0.113.{i}");
        match post_as(&app, &client, "/api/v1/auth/signup", body)
            .await
            .status()
        {
            StatusCode::ACCEPTED => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(accepted, 5);
}

#[tokio::test]
async fn an_ipv6_client_cannot_rotate_addresses_within_its_slash_64() {
    let app = TestApp::builder()
        .with_config(|c| {
            behind_proxy(c);
            c.limits.signups_per_client_per_hour = nz(2);
        })
        .spawn()
        .await;
    let mut statuses = Vec::new();
    for i in 1..=4 {
        let body = json!({"email": unique_email(), "password": PASSWORD});
        let client = format!("2001:db8:42:7::{i:x}");
        statuses.push(
            post_as(&app, &client, "/api/v1/auth/signup", body)
                .await
                .status(),
        );
    }
    assert_eq!(
        statuses,
        [
            StatusCode::ACCEPTED,
            StatusCode::ACCEPTED,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

#[tokio::test]
async fn a_forwarded_header_from_an_untrusted_peer_buys_no_fresh_budget() {
    // No trusted proxies: whatever X-Forwarded-For says, the client is the peer.
    let app = TestApp::builder()
        .with_config(|c| c.limits.login_attempts_per_client_per_minute = nz(3))
        .spawn()
        .await;
    let mut last = StatusCode::OK;
    for i in 0..5 {
        let body = json!({"email": unique_email(), "password": PASSWORD});
        last = post_as(&app, &format!("192.0.2.{i}"), "/api/v1/auth/login", body)
            .await
            .status();
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn login_attempts_count_against_the_normalised_address() {
    let app = TestApp::builder()
        .with_config(|c| c.limits.login_attempts_per_account_per_minute = nz(3))
        .spawn()
        .await;
    let email = unique_email();
    let spellings = [
        email.clone(),
        email.to_uppercase(),
        format!("  {email}"),
        email.replace("example.com", "EXAMPLE.com"),
    ];
    let mut statuses = Vec::new();
    for spelling in &spellings {
        statuses.push(
            app.login_with(&new_client(), spelling, "wrong-password-123")
                .await
                .status(),
        );
    }
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
}

/// 1,000 signups and 1,000 resets from one client: logins keep answering and only a
/// handful of emails are queued.
#[tokio::test]
async fn a_flood_of_signups_and_resets_sends_a_handful_of_emails() {
    let app = TestApp::builder()
        .with_config(|c| {
            behind_proxy(c);
            c.limits.signups_per_client_per_hour = nz(5);
            c.limits.resets_per_client_per_hour = nz(5);
        })
        .spawn()
        .await;
    let victim = app.confirmed_user().await;
    let before = outbox_count(&app).await;
    let flood = {
        let address = app.address.clone();
        let victim = victim.clone();
        tokio::spawn(async move {
            let client = new_client();
            let mut refused = 0;
            for i in 0..1000 {
                let reset_for = if i % 2 == 0 {
                    victim.clone()
                } else {
                    unique_email()
                };
                let requests = [
                    (
                        "/api/v1/auth/signup",
                        json!({"email": unique_email(), "password": PASSWORD}),
                    ),
                    ("/api/v1/auth/password-reset", json!({"email": reset_for})),
                ];
                for (path, body) in requests {
                    let status = client
                        .post(format!("{address}{path}"))
                        .header("x-forwarded-for", "198.51.100.66")
                        .json(&body)
                        .send()
                        .await
                        .unwrap()
                        .status();
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        refused += 1;
                    }
                }
            }
            refused
        })
    };
    // A real user logs in while the flood goes on.
    let start = std::time::Instant::now();
    let login = app.login_with(&new_client(), &victim, PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "login took {:?}",
        start.elapsed()
    );
    let refused = flood.await.unwrap();
    assert_eq!(refused, 1990, "5 signups and 5 resets an hour get through");
    // Signups queue before they answer; resets are looked up detached.
    app.reset_lookups_done().await;
    let queued = outbox_count(&app).await - before;
    assert!(queued <= 10, "the flood queued {queued} emails");
}

#[tokio::test]
async fn transactional_mail_to_a_suppressed_address_is_skipped_with_the_reason() {
    let app = spawn_app().await;
    let email = app.confirmed_user().await;
    sqlx::query("insert into suppressed_addresses (email, reason) values ($1, 'complaint')")
        .bind(&email)
        .execute(&app.db)
        .await
        .unwrap();
    let sent_before = emails_to(&email).await.len();
    app.post(
        &new_client(),
        "/api/v1/auth/password-reset",
        json!({"email": email}),
    )
    .await;
    let (status, reason) = eventually(Duration::from_secs(10), async || {
        let row: Option<(String, Option<String>)> = sqlx::query_as(
            "select status, last_error from email_outbox where kind = 'reset_password'",
        )
        .fetch_optional(&app.db)
        .await
        .unwrap();
        row.filter(|r| r.0 != "pending")
            .ok_or("reset email never handled")
    })
    .await;
    assert_eq!(status, "skipped");
    assert!(reason.unwrap().contains("suppressed"));
    assert_eq!(emails_to(&email).await.len(), sent_before);
}

#[tokio::test]
async fn accounts_never_confirmed_are_purged_after_the_configured_days() {
    let app = TestApp::builder()
        .with_config(|c| c.retention.unconfirmed_account_days = 3)
        .spawn()
        .await;
    let stale = unique_email();
    let fresh = unique_email();
    app.signup(&stale, PASSWORD).await;
    app.signup(&fresh, PASSWORD).await;
    let confirmed = app.confirmed_user().await;
    sqlx::query("update users set created_at = now() - interval '4 days' where email <> $1")
        .bind(&fresh)
        .execute(&app.db)
        .await
        .unwrap();
    let report = quotidian::services::retention::prune(&app.state)
        .await
        .unwrap()
        .expect("no other process is pruning");
    assert_eq!(report.unconfirmed_accounts, 1);
    let left: Vec<String> = sqlx::query_scalar("select email from users order by email")
        .fetch_all(&app.db)
        .await
        .unwrap();
    let mut expected = vec![fresh, confirmed];
    expected.sort();
    assert_eq!(left, expected);
}

#[tokio::test]
async fn adding_unseen_symbols_spends_the_search_budget() {
    let app = TestApp::builder()
        .with_config(|c| c.limits.symbol_searches_per_minute = nz(2))
        .spawn()
        .await;
    app.confirmed_user().await;
    let add = |symbol: &str| app.post(&app.api, "/api/v1/watchlist", json!({"symbol": symbol}));
    assert_eq!(add("ZZQA").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(add("ZZQB").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_problem(
        add("ZZQC").await,
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-requests",
    )
    .await;
}

#[tokio::test]
async fn one_mailbox_is_one_account_however_the_address_is_written() {
    let app = spawn_app().await;
    let local = format!("ada-{}", uuid::Uuid::new_v4().simple());
    let typed = format!("{}@Bu\u{308}cher.Example", local.to_uppercase());
    assert_eq!(
        app.signup(&typed, PASSWORD).await.status(),
        StatusCode::ACCEPTED
    );
    let stored = format!("{local}@xn--bcher-kva.example");
    let token = token_of(&link_in(&wait_for_email(&stored, "Confirm").await));
    assert_eq!(app.confirm(&token).await.status(), StatusCode::OK);
    let composed = format!("{local}@b\u{fc}cher.example");
    assert_eq!(
        app.login_with(&new_client(), &composed, PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    // Signing the other spelling up is the existing account, not a second one.
    app.signup(&composed, PASSWORD).await;
    let accounts: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(accounts, 1);

    let refused = app.signup("j\u{f6}rg@example.com", PASSWORD).await;
    let body = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert!(body.to_string().contains("before the @"), "{body}");
}
