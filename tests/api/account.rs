use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn change_password_needs_the_current_one_and_logs_out_other_sessions() {
    let app = spawn_app().await;
    let email = app.confirmed_user().await;
    let phone = new_client();
    app.login_with(&phone, &email, PASSWORD).await;

    let wrong = app
        .api
        .put(app.url("/api/v1/me/password"))
        .json(&json!({"current_password": "not-my-password-at-all", "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(body["errors"][0]["field"], "current_password");

    let weak = app
        .api
        .put(app.url("/api/v1/me/password"))
        .json(&json!({"current_password": PASSWORD, "new_password": "123456789012"}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(weak, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(body["errors"][0]["field"], "new_password");

    let ok = app
        .api
        .put(app.url("/api/v1/me/password"))
        .json(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.api
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        phone
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
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
async fn deleting_the_account_removes_all_its_data() {
    let app = spawn_app().await;
    let email = app.confirmed_user().await;
    app.post(&app.api, "/api/v1/watchlist", json!({"symbol": "AAPL"}))
        .await;
    // Someone else's data must survive.
    let other = new_client();
    let other_email = unique_email();
    app.confirmed_user_with_client(&other_email, &other).await;
    app.post(&other, "/api/v1/watchlist", json!({"symbol": "MSFT"}))
        .await;

    let wrong = app
        .api
        .delete(app.url("/api/v1/me"))
        .json(&json!({"password": "not-my-password-at-all"}))
        .send()
        .await
        .unwrap();
    assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;

    let user_id: uuid::Uuid = sqlx::query_scalar("select id from users where email = $1")
        .bind(&email)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let deleted = app
        .api
        .delete(app.url("/api/v1/me"))
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(
        deleted.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );

    for table in [
        "users",
        "sessions",
        "watchlist_items",
        "preferences",
        "email_tokens",
        "email_outbox",
    ] {
        let column = if table == "users" { "id" } else { "user_id" };
        let left: i64 =
            sqlx::query_scalar(&format!("select count(*) from {table} where {column} = $1"))
                .bind(user_id)
                .fetch_one(&app.db)
                .await
                .unwrap();
        assert_eq!(left, 0, "{table} still holds the deleted account's rows");
    }
    assert_eq!(
        app.login_with(&new_client(), &email, PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let others: serde_json::Value = other
        .get(app.url("/api/v1/watchlist"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(others["symbols"][0]["symbol"], "MSFT");
}
