use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn add(app: &TestApp, client: &reqwest::Client, symbol: &str) -> reqwest::Response {
    app.post(client, "/api/v1/watchlist", json!({"symbol": symbol}))
        .await
}

async fn symbols(app: &TestApp, client: &reqwest::Client) -> Vec<String> {
    let body: Value = client
        .get(app.url("/api/v1/watchlist"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["symbol"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn add_list_and_remove_symbols() {
    let app = spawn_app().await;
    app.confirmed_user().await;
    assert!(symbols(&app, &app.api).await.is_empty());

    let created = add(&app, &app.api, " aapl ").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["symbol"], "AAPL");
    assert_eq!(
        add(&app, &app.api, "brk.b").await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        add(&app, &app.api, "NVDA").await.status(),
        StatusCode::CREATED
    );
    assert_eq!(symbols(&app, &app.api).await, ["AAPL", "BRK.B", "NVDA"]);

    let removed = app
        .api
        .delete(app.url("/api/v1/watchlist/brk.b"))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_eq!(symbols(&app, &app.api).await, ["AAPL", "NVDA"]);
    let again = app
        .api
        .delete(app.url("/api/v1/watchlist/BRK.B"))
        .send()
        .await
        .unwrap();
    assert_problem(again, StatusCode::NOT_FOUND, "not-found").await;
}

#[tokio::test]
async fn duplicates_and_bad_symbols_are_refused_without_losing_the_list() {
    let app = spawn_app().await;
    app.confirmed_user().await;
    add(&app, &app.api, "MSFT").await;
    assert_problem(
        add(&app, &app.api, "msft").await,
        StatusCode::CONFLICT,
        "already-exists",
    )
    .await;
    for bad in [
        "",
        "   ",
        "AA PL",
        "$AAPL",
        "ÄPFEL",
        "TOOLONGSYMBOLNAME12345",
        ".X",
    ] {
        let body = assert_problem(
            add(&app, &app.api, bad).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "symbol");
    }
    let bad_path = app
        .api
        .delete(app.url("/api/v1/watchlist/A%20B"))
        .send()
        .await
        .unwrap();
    assert_problem(bad_path, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(symbols(&app, &app.api).await, ["MSFT"]);
}

#[tokio::test]
async fn the_watchlist_has_a_maximum() {
    let app = TestApp::builder()
        .with_config(|c| c.accounts.watchlist_max = 3)
        .spawn()
        .await;
    app.confirmed_user().await;
    for s in ["AAPL", "MSFT", "NVDA"] {
        assert_eq!(add(&app, &app.api, s).await.status(), StatusCode::CREATED);
    }
    assert_problem(
        add(&app, &app.api, "AMZN").await,
        StatusCode::CONFLICT,
        "limit-reached",
    )
    .await;
    let body: Value = app
        .api
        .get(app.url("/api/v1/watchlist"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["max"], 3);
}

#[tokio::test]
async fn concurrent_adds_cannot_pass_the_maximum() {
    let app = TestApp::builder()
        .with_config(|c| c.accounts.watchlist_max = 5)
        .spawn()
        .await;
    app.confirmed_user().await;
    let names: Vec<String> = [
        "AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "META", "TSLA", "JPM", "V", "JNJ", "WMT", "PG",
        "XOM", "MA", "HD", "KO", "PEP", "DIS", "NFLX", "INTC",
    ]
    .map(String::from)
    .to_vec();
    let results =
        futures_util::future::join_all(names.iter().map(|s| add(&app, &app.api, s))).await;
    let created = results
        .iter()
        .filter(|r| r.status() == StatusCode::CREATED)
        .count();
    assert_eq!(created, 5);
    assert_eq!(symbols(&app, &app.api).await.len(), 5);
}

#[tokio::test]
async fn a_user_sees_and_changes_only_their_own_watchlist() {
    let app = spawn_app().await;
    app.confirmed_user().await;
    add(&app, &app.api, "AAPL").await;

    let other = new_client();
    app.confirmed_user_with_client(&unique_email(), &other)
        .await;
    assert!(symbols(&app, &other).await.is_empty());
    let steal = other
        .delete(app.url("/api/v1/watchlist/AAPL"))
        .send()
        .await
        .unwrap();
    assert_eq!(steal.status(), StatusCode::NOT_FOUND);
    assert_eq!(symbols(&app, &app.api).await, ["AAPL"]);
}
