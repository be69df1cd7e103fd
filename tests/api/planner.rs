//! Market data ahead of the send minute (ADR 0013): what the planner's leader fetches
//! and when, the new-symbol fetch, and the Finnhub budget shared by every process on
//! the database.

use std::time::{Duration, Instant};

use chrono::{Timelike as _, Utc};
use quotidian::clients::finnhub::{CallBudget, LimiterConfig, Priority};
use quotidian::services::market_budget::SharedBudget;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::finnhub_mock::FinnhubMock;
use crate::helpers::*;

async fn preview(app: &TestApp) -> Value {
    let r = app
        .api
        .get(app.url("/api/v1/digests/preview"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

async fn add(app: &TestApp, client: &reqwest::Client, symbol: &str) {
    let r = app
        .post(client, "/api/v1/watchlist", json!({"symbol": symbol}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "adding {symbol}");
}

/// The preview shows a symbol's price within seconds of its being added, with no
/// digest sent and no extraction run by anyone (the planner is off: no workers).
#[tokio::test]
async fn a_symbol_just_added_shows_its_price_in_the_preview_within_seconds() {
    let mock = FinnhubMock::start().await;
    let app = TestApp::builder()
        .with_config(|c| {
            mock.configure(c);
            c.digests.workers = false;
        })
        .spawn()
        .await;
    app.confirmed_user().await;
    add(&app, &app.api, "AAPL").await;
    let started = Instant::now();
    eventually(Duration::from_secs(10), async || {
        let quotes: i64 = sqlx::query_scalar("select count(*) from quotes where symbol = 'AAPL'")
            .fetch_one(&app.db)
            .await
            .unwrap();
        if quotes == 1 {
            Ok(())
        } else {
            Err("AAPL's quote was not loaded")
        }
    })
    .await;
    // The mock's quotes carry a fixed date of their own; make it today's.
    sqlx::query("update quotes set trading_day = current_date")
        .execute(&app.db)
        .await
        .unwrap();
    let text = preview(&app).await["text"].as_str().unwrap().to_owned();
    assert!(
        text.contains("$105.50") && text.contains("AAPL Inc"),
        "{text}"
    );
    println!("price in the preview {:?} after the add", started.elapsed());
    assert_eq!(mock.arrivals.count("/quote", "AAPL"), 1);
    assert_eq!(mock.arrivals.count("/stock/profile2", "AAPL"), 1);
    // Nothing else (no news, no earnings) but the search that checked AAPL exists.
    assert_eq!(
        mock.arrivals.count("/search", "") + 2,
        mock.arrivals.total()
    );
    let trigger: String = sqlx::query_scalar("select trigger from etl_runs")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(trigger, "watchlist");
}

/// The same with the built-in sample source, as an offline `scripts/run` user sees it.
#[tokio::test]
async fn a_sample_symbol_just_added_shows_its_price_in_the_preview() {
    let app = TestApp::builder()
        .with_config(|c| c.digests.workers = false)
        .spawn()
        .await;
    app.confirmed_user().await;
    add(&app, &app.api, "MSFT").await;
    eventually(Duration::from_secs(10), async || {
        let p = preview(&app).await;
        let text = p["text"].as_str().unwrap_or_default().to_owned();
        if text.contains("Microsoft") && !text.contains("Data unavailable") {
            Ok(())
        } else {
            Err(format!("no sample price in the preview yet: {text}"))
        }
    })
    .await;
}

/// Sets the account's digest to the next whole minute, UTC, every day.
async fn due_next_minute(app: &TestApp, client: &reqwest::Client, news: bool) {
    let at = Utc::now() + chrono::Duration::minutes(1);
    let r = client
        .patch(app.url("/api/v1/preferences"))
        .json(&json!({
            "time_zone": "UTC",
            "send_time": format!("{:02}:{:02}", at.hour(), at.minute()),
            "days": "every_day",
            "include_news": news,
            "include_earnings": false,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// One person due at the next minute reads AAPL with news; another, due then too,
/// reads MSFT without news; a third reads NVDA but is due only tomorrow. Ahead of the
/// due minute the leader fetches AAPL's news and nobody's earnings; quotes are fetched
/// again before the due time so that they are at most the configured age when the
/// digests are sent; NVDA gets only its first price.
#[tokio::test]
async fn the_planner_fetches_only_what_is_read_and_before_it_is_due() {
    let mock = FinnhubMock::start().await;
    let app = TestApp::builder()
        .with_config(|c| {
            mock.configure(c);
            c.etl.quote_max_age_secs = 20;
            c.etl.plan_tick_ms = 100;
        })
        .spawn()
        .await;
    let (a, b, c) = (new_client(), new_client(), new_client());
    for (client, symbol) in [(&a, "AAPL"), (&b, "MSFT"), (&c, "NVDA")] {
        app.confirmed_user_with_client(&unique_email(), client)
            .await;
        add(&app, client, symbol).await;
    }
    due_next_minute(&app, &a, true).await;
    due_next_minute(&app, &b, false).await;
    let r = c
        .patch(app.url("/api/v1/preferences"))
        .json(
            &json!({"time_zone": "UTC", "send_time": "00:00", "days": "every_day",
                      "include_news": true, "include_earnings": true}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // NVDA's next digest must be more than the planning horizon away for this test.
    let minutes_to_midnight = 24 * 60 - (Utc::now().hour() * 60 + Utc::now().minute());
    let nvda_far = minutes_to_midnight > 80;

    // Both digests sent.
    eventually(Duration::from_secs(100), async || {
        let sent: i64 =
            sqlx::query_scalar("select count(*) from digest_jobs where status = 'sent'")
                .fetch_one(&app.db)
                .await
                .unwrap();
        if sent == 2 {
            Ok(())
        } else {
            Err(format!("{sent} of 2 digests sent"))
        }
    })
    .await;

    assert_eq!(
        mock.arrivals.count("/company-news", "AAPL"),
        1,
        "AAPL's reader reads news"
    );
    assert_eq!(
        mock.arrivals.count("/company-news", "MSFT"),
        0,
        "nobody reads MSFT's news"
    );
    assert_eq!(
        mock.arrivals.count("/calendar/earnings", ""),
        0,
        "nobody due reads earnings"
    );
    if nvda_far {
        assert_eq!(
            mock.arrivals.count("/quote", "NVDA"),
            1,
            "only NVDA's first price"
        );
        assert_eq!(
            mock.arrivals.count("/company-news", "NVDA"),
            0,
            "NVDA is read tomorrow"
        );
    }
    // Each sent digest's quotes were fetched by the planner before its due time, and
    // were at most the configured 20 s old at it; the batch topped up nothing.
    let rows: Vec<(String, f64)> = sqlx::query_as(
        "select f.symbol, extract(epoch from (j.due_at - f.fetched_at))::float8
         from digest_jobs j
         join watchlist_items w on w.user_id = j.user_id
         join fetch_state f on f.symbol = w.symbol and f.endpoint = 'quote'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    for (symbol, age_at_due) in rows {
        assert!(
            (0.0..=20.0).contains(&age_at_due),
            "{symbol}'s quote was {age_at_due:.1} s old at the due time"
        );
    }
    let digest_runs: i64 =
        sqlx::query_scalar("select count(*) from etl_runs where trigger = 'digest'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        digest_runs, 0,
        "the planner left nothing for delivery to fetch"
    );
}

/// Two processes' budgets on one database (two `SharedBudget`s here) together keep to
/// the one rate, and the less urgent work waits while the urgent work holds the slots
/// ahead.
#[tokio::test]
async fn budgets_on_one_database_share_one_rate_and_serve_the_urgent_first() {
    let db = migrated_database().await;
    let limits = LimiterConfig {
        calls_per_second: nz(20),
        ..LimiterConfig::per_minute(nz(60_000))
    };
    let one = SharedBudget::new(db.clone(), limits, 0.0);
    let two = SharedBudget::new(db.clone(), limits, 0.0);
    let started = Instant::now();
    // 30 due calls from each: 60 calls at 20 a second take at least 2.95 s together.
    let due = async |budget: &SharedBudget| {
        for _ in 0..30 {
            budget.acquire(Priority::Due).await;
        }
    };
    let background = async || {
        // Let the due work reserve its slots first.
        tokio::time::sleep(Duration::from_millis(300)).await;
        one.acquire(Priority::Background).await;
        started.elapsed()
    };
    let ((), (), background_at) = tokio::join!(due(&one), due(&two), background());
    let all_due = started.elapsed();
    assert!(
        all_due >= Duration::from_millis(2900),
        "60 calls at 20/s across two budgets took only {all_due:?}"
    );
    assert!(
        background_at >= Duration::from_millis(2500),
        "a background call took a slot at {background_at:?}, while due work held the next {all_due:?}"
    );
}

/// Digests already queued (the scheduler has taken them, no worker has claimed them
/// yet) are still read: their symbols stay in the demand the planner plans for.
#[tokio::test]
async fn queued_digests_are_still_read() {
    let app = TestApp::builder()
        .with_config(|c| c.digests.workers = false)
        .spawn()
        .await;
    app.confirmed_user().await;
    let me: Value = app
        .api
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = uuid::Uuid::parse_str(me["id"].as_str().unwrap()).unwrap();
    sqlx::query("insert into watchlist_items (user_id, symbol) values ($1, 'AAPL')")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();
    // Queued a minute ago by the scheduler, which moved next_send_at to tomorrow.
    sqlx::query(
        "update preferences set next_send_at = now() + interval '1 day' where user_id = $1",
    )
    .bind(id)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "insert into digest_jobs (user_id, local_date, trigger, due_at, status)
         values ($1, current_date, 'schedule', now() - interval '1 minute', 'pending')",
    )
    .bind(id)
    .execute(&app.db)
    .await
    .unwrap();
    let horizon = Utc::now() + chrono::Duration::minutes(75);
    let demand = quotidian::repositories::market::demand_until(&app.db, horizon)
        .await
        .unwrap();
    assert_eq!(
        demand.iter().map(|d| d.symbol.as_str()).collect::<Vec<_>>(),
        vec!["AAPL"]
    );
    let counts = quotidian::repositories::market::due_counts_until(&app.db, horizon)
        .await
        .unwrap();
    assert_eq!(counts.iter().map(|(_, n)| n).sum::<i64>(), 1);
}
