//! The digest preview, from data loaded by a real extraction.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::finnhub_mock::FinnhubMock;
use crate::helpers::*;

#[tokio::test]
async fn the_preview_shows_loaded_prices_news_and_unavailable_data() {
    let mock = FinnhubMock::start().await;
    let app = TestApp::builder()
        .with_config(|c| mock.configure(c))
        .spawn()
        .await;
    app.confirmed_user().await;
    for s in ["AAPL", "ZZZZ"] {
        app.post(&app.api, "/api/v1/watchlist", json!({"symbol": s}))
            .await;
    }
    // News from the last day: make the mock's stories recent.
    quotidian::services::etl::run(
        &app.state,
        quotidian::services::etl::RunOptions {
            trigger: quotidian::domain::EtlTrigger::Cli,
            symbols: None,
        },
        &quotidian::services::etl::NoProgress,
    )
    .await
    .unwrap();
    sqlx::query("update news_items set published_at = now() - interval '1 hour'")
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("update quotes set trading_day = current_date")
        .execute(&app.db)
        .await
        .unwrap();

    let r = app
        .api
        .get(app.url("/api/v1/digests/preview"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let preview: Value = r.json().await.unwrap();
    let html = preview["html"].as_str().unwrap();
    let text = preview["text"].as_str().unwrap();
    assert_eq!(preview["sample_data"], false);
    assert!(
        preview["subject"].as_str().unwrap().contains("AAPL +1.44%"),
        "{}",
        preview["subject"]
    );
    for part in [html, text] {
        assert!(part.contains("AAPL Inc"), "company name from the profile");
        assert!(part.contains("$105.50"), "price");
        assert!(part.contains("AAPL beats estimates"), "headline");
        assert!(part.contains("Data unavailable"), "ZZZZ has no price");
        assert!(!part.contains("$0.00"), "never a price of 0");
    }
    assert!(html.contains("https://example.com/AAPL/1"));

    // News off: no headlines.
    app.api
        .patch(app.url("/api/v1/preferences"))
        .json(&json!({"include_news": false}))
        .send()
        .await
        .unwrap();
    let preview: Value = app
        .api
        .get(app.url("/api/v1/digests/preview"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !preview["text"]
            .as_str()
            .unwrap()
            .contains("beats estimates")
    );
}

#[tokio::test]
async fn the_offline_preview_is_labelled_sample_and_needs_a_session() {
    let app = spawn_app().await;
    app.confirmed_user().await;
    let preview: Value = app
        .api
        .get(app.url("/api/v1/digests/preview"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(preview["sample_data"], true);
    assert!(
        preview["subject"]
            .as_str()
            .unwrap()
            .starts_with("[Sample data]")
    );
    assert!(
        preview["text"]
            .as_str()
            .unwrap()
            .contains("Your watchlist is empty")
    );
    let anonymous = new_client()
        .get(app.url("/api/v1/digests/preview"))
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}
