//! Operators list suppressed addresses and lift them (`/api/v1/operator/suppressions`).

use quotidian::repositories::suppressions;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// An app with one operator, and that operator's logged-in client.
async fn app_with_operator() -> (TestApp, reqwest::Client) {
    let operator = unique_email();
    let app = TestApp::builder()
        .with_config(|c| c.accounts.operator_emails = vec![operator.clone()])
        .spawn()
        .await;
    let ops = new_client();
    app.confirmed_user_with_client(&operator, &ops).await;
    (app, ops)
}

/// Suppresses `email` as if it had happened `minutes_ago`.
async fn suppressed(app: &TestApp, email: &str, reason: &str, detail: &str, minutes_ago: i32) {
    sqlx::query(
        "insert into suppressed_addresses (email, reason, detail, suppressed_at)
         values ($1, $2, $3, now() - make_interval(mins => $4))",
    )
    .bind(email)
    .bind(reason)
    .bind(detail)
    .bind(minutes_ago)
    .execute(&app.db)
    .await
    .unwrap();
}

async fn get(client: &reqwest::Client, app: &TestApp, path: &str) -> reqwest::Response {
    client.get(app.url(path)).send().await.unwrap()
}

async fn lift(client: &reqwest::Client, app: &TestApp, email: &str) -> reqwest::Response {
    client
        .delete(app.url(&format!("/api/v1/operator/suppressions/{email}")))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn operators_page_through_suppressions_newest_first() {
    let (app, ops) = app_with_operator().await;
    suppressed(&app, "old@example.com", "bounce", "Permanent/General", 30).await;
    suppressed(&app, "new@example.com", "complaint", "abuse", 1).await;
    suppressed(&app, "mid@example.com", "manual", "asked by phone", 10).await;

    let first: Value = get(&ops, &app, "/api/v1/operator/suppressions?limit=2")
        .await
        .json()
        .await
        .unwrap();
    let page = first["suppressions"].as_array().unwrap();
    let emails: Vec<&str> = page.iter().map(|s| s["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["new@example.com", "mid@example.com"], "{first}");
    assert_eq!(page[0]["reason"], "complaint");
    assert_eq!(page[0]["detail"], "abuse");
    assert!(page[0]["suppressed_at"].as_str().is_some(), "{first}");
    let cursor = first["next_before"]
        .as_str()
        .expect("a next page")
        .to_owned();

    let second: Value = ops
        .get(app.url("/api/v1/operator/suppressions"))
        .query(&[("limit", "2"), ("before", cursor.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let page = second["suppressions"].as_array().unwrap();
    assert_eq!(page.len(), 1, "{second}");
    assert_eq!(page[0]["email"], "old@example.com");
    assert_eq!(page[0]["reason"], "bounce");
    assert!(second["next_before"].is_null(), "{second}");

    for bad in ["limit=0", "limit=101", "before=not-a-cursor"] {
        let r = get(&ops, &app, &format!("/api/v1/operator/suppressions?{bad}")).await;
        assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    }
}

#[tokio::test]
async fn operators_lift_a_suppression_once() {
    let (app, ops) = app_with_operator().await;
    suppressed(&app, "lifted@example.com", "bounce", "Permanent/General", 5).await;
    suppressed(&app, "kept@example.com", "bounce", "Permanent/General", 5).await;

    // Case does not matter, as everywhere an address is read.
    assert_eq!(
        lift(&ops, &app, "Lifted@Example.com").await.status(),
        StatusCode::NO_CONTENT
    );
    assert!(
        !suppressions::is_suppressed(&app.db, "lifted@example.com")
            .await
            .unwrap()
    );
    assert!(
        suppressions::is_suppressed(&app.db, "kept@example.com")
            .await
            .unwrap()
    );
    assert_problem(
        lift(&ops, &app, "lifted@example.com").await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    assert_problem(
        lift(&ops, &app, "not-an-address").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
}

#[tokio::test]
async fn only_operators_see_or_lift_suppressions() {
    let (app, _ops) = app_with_operator().await;
    suppressed(&app, "kept@example.com", "complaint", "abuse", 5).await;

    let anonymous = new_client();
    assert_problem(
        get(&anonymous, &app, "/api/v1/operator/suppressions").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_problem(
        lift(&anonymous, &app, "kept@example.com").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;

    app.confirmed_user().await;
    assert_problem(
        get(&app.api, &app, "/api/v1/operator/suppressions").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_problem(
        lift(&app.api, &app, "kept@example.com").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert!(
        suppressions::is_suppressed(&app.db, "kept@example.com")
            .await
            .unwrap()
    );
}
