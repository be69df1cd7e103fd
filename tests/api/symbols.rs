//! Symbol search and the existence check on watchlist adds.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::finnhub_mock::FinnhubMock;
use crate::helpers::*;

async fn search(app: &TestApp, q: &str) -> reqwest::Response {
    app.api
        .get(app.url("/api/v1/symbols"))
        .query(&[("q", q)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn search_finds_symbols_by_name_and_caches_the_answer() {
    let mock = FinnhubMock::start().await;
    let app = TestApp::builder()
        .with_config(|c| mock.configure(c))
        .spawn()
        .await;
    app.confirmed_user().await;
    let r = search(&app, "tsla").await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["results"][0]["symbol"], "TSLA");
    assert_eq!(body["sample_data"], false);
    let calls = mock.arrivals.total();
    search(&app, " TSLA ").await;
    assert_eq!(
        mock.arrivals.total(),
        calls,
        "the same query is answered from the cache"
    );
}

#[tokio::test]
async fn the_offline_sample_source_answers_and_says_so() {
    let app = spawn_app().await; // no FINNHUB_API_KEY: the sample source stands in
    app.confirmed_user().await;
    let body: Value = search(&app, "apple").await.json().await.unwrap();
    assert_eq!(body["sample_data"], true);
    assert!(
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["symbol"] == "AAPL"),
        "{body}"
    );
}

#[tokio::test]
async fn bad_queries_and_floods_are_refused() {
    let app = TestApp::builder()
        .with_config(|c| c.limits.symbol_searches_per_minute = nz(3))
        .spawn()
        .await;
    app.confirmed_user().await;
    let missing = app
        .api
        .get(app.url("/api/v1/symbols"))
        .send()
        .await
        .unwrap();
    assert_problem(missing, StatusCode::BAD_REQUEST, "malformed-request").await;
    assert_problem(
        search(&app, "   ").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_problem(
        search(&app, &"x".repeat(51)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    for q in ["a", "b", "c"] {
        assert_eq!(search(&app, q).await.status(), StatusCode::OK);
    }
    assert_problem(
        search(&app, "d").await,
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-requests",
    )
    .await;
    let anonymous = new_client()
        .get(app.url("/api/v1/symbols?q=apple"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unknown_symbols_are_refused_with_a_clear_message() {
    let mock = FinnhubMock::start().await;
    let app = TestApp::builder()
        .with_config(|c| mock.configure(c))
        .spawn()
        .await;
    app.confirmed_user().await;
    let r = app
        .post(&app.api, "/api/v1/watchlist", json!({"symbol": "NOSUCH"}))
        .await;
    let problem = assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("NOSUCH is not a symbol"),
        "{problem}"
    );

    let list: Value = app
        .api
        .get(app.url("/api/v1/watchlist"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(list["symbols"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn an_unreachable_provider_is_a_503_and_stores_nothing() {
    // Nothing listens on port 9.
    let app = TestApp::builder()
        .with_config(|c| {
            c.finnhub.base_url = url::Url::parse("http://127.0.0.1:9/api/v1").unwrap();
            c.finnhub.api_key = Some("test-key".into());
            c.finnhub.max_retries = 1;
            c.finnhub.retry_base = std::time::Duration::from_millis(10);
        })
        .spawn()
        .await;
    app.confirmed_user().await;
    let r = app
        .post(&app.api, "/api/v1/watchlist", json!({"symbol": "MSFT"}))
        .await;
    let problem = assert_problem(r, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("try again"),
        "{problem}"
    );
    assert_problem(
        search(&app, "apple").await,
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
    )
    .await;
    let list: Value = app
        .api
        .get(app.url("/api/v1/watchlist"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(list["symbols"].as_array().unwrap().is_empty());
}
