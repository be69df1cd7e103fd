//! Daily history: bars from our own quotes, a year of candles for a new symbol where
//! the plan has them (the sample source always does), the rebuild, and the reads
//! charts will use.

use std::time::Duration;

use chrono::{NaiveDate, Utc};
use quotidian::domain::EtlTrigger;
use quotidian::domain::market::{BarSource, DailyBar};
use quotidian::repositories::market::{self, BarRow};
use quotidian::services::etl::{self, NoProgress, RunOptions, RunOutcome};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::finnhub_mock::FinnhubMock;
use crate::helpers::*;

async fn watch(app: &TestApp, symbols: &[&str]) {
    for s in symbols {
        let r = app
            .post(&app.api, "/api/v1/watchlist", json!({"symbol": s}))
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "adding {s}");
    }
}

async fn extract(app: &TestApp) {
    let outcome = etl::run(
        &app.state,
        RunOptions {
            trigger: EtlTrigger::Cli,
            symbols: None,
        },
        &NoProgress,
    )
    .await
    .unwrap();
    assert!(matches!(outcome, RunOutcome::Completed(_)));
}

async fn bars(app: &TestApp, symbol: &str) -> Vec<BarRow> {
    let (from, to) = (
        NaiveDate::from_ymd_opt(2000, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(2100, 1, 1).unwrap(),
    );
    market::daily_bars(&app.db, symbol, from, to).await.unwrap()
}

/// Waits until the planner has stored `symbol`'s year of candles.
async fn year_of_bars(app: &TestApp, symbol: &str) -> Vec<BarRow> {
    eventually(Duration::from_secs(20), async || {
        let got = bars(app, symbol).await;
        if got.iter().filter(|b| b.source == BarSource::Candle).count() >= 240 {
            Ok(got)
        } else {
            Err(format!("{symbol} has {} bars", got.len()))
        }
    })
    .await
}

#[tokio::test]
async fn an_extraction_stores_the_quotes_day_as_a_bar() {
    let mock = FinnhubMock::start().await;
    let app = TestApp::builder()
        .with_config(|c| mock.configure(c))
        .spawn()
        .await;
    app.confirmed_user().await;
    watch(&app, &["AAPL", "ZZZZ"]).await;
    extract(&app).await;

    // The mock's quote was taken at Friday 2026-11-20's close (16:00 New York) and
    // fetched after it: the day's final bar, o/h/l/c from the quote, no volume.
    let aapl = bars(&app, "AAPL").await;
    assert_eq!(
        aapl,
        vec![BarRow {
            trading_date: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            open: 104.0,
            high: 106.0,
            low: 103.0,
            close: 105.5,
            volume: None,
            source: BarSource::Quote,
            is_final: true,
            sample: false,
        }]
    );
    let quote: (f64, f64, f64, f64) =
        sqlx::query_as("select open, high, low, price from quotes where symbol = 'AAPL'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        quote,
        (aapl[0].open, aapl[0].high, aapl[0].low, aapl[0].close)
    );
    // An all-zero quote is no bar, never a price of 0.
    assert!(bars(&app, "ZZZZ").await.is_empty());
    // Candles are off for a real key unless the plan is said to have them: the
    // planner (running all along) never asked.
    assert_eq!(mock.arrivals.count("/stock/candle", "AAPL"), 0);
}

#[tokio::test]
async fn with_candles_a_new_symbol_gets_a_year_of_history_once() {
    // No FINNHUB_API_KEY: the sample source, which always has candles.
    let app = spawn_app().await;
    app.confirmed_user().await;
    watch(&app, &["MSFT"]).await;

    let history = year_of_bars(&app, "MSFT").await;
    assert!(history.len() <= 256, "{}", history.len());
    assert!(
        history
            .iter()
            .all(|b| b.sample && b.volume.is_some() || b.source == BarSource::Quote)
    );
    assert!(
        history
            .windows(2)
            .all(|w| w[0].trading_date < w[1].trading_date)
    );
    let first = history.first().unwrap().trading_date;
    let last = history.last().unwrap().trading_date;
    let today = Utc::now().date_naive();
    assert!((today - last).num_days() <= 5, "the latest session: {last}");
    assert!((today - first).num_days() >= 360, "a year back: {first}");
    // The quote's day and the candle of the same session agree.
    let quote: (NaiveDate, f64, f64, f64, f64) = sqlx::query_as(
        "select trading_day, open, high, low, price from quotes where symbol = 'MSFT'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let same = history
        .iter()
        .find(|b| b.trading_date == quote.0)
        .expect("the quote's session has a bar");
    assert_eq!(
        (same.open, same.high, same.low, same.close),
        (quote.1, quote.2, quote.3, quote.4)
    );
    assert!(same.is_final);

    // What a 30-day chart reads: the last 30 bars, oldest first.
    let chart = market::last_bars(&app.db, "MSFT", 30).await.unwrap();
    assert_eq!(chart.len(), 30);
    assert_eq!(chart[..], history[history.len() - 30..]);

    // One candle call, never again once the history is there.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let calls: i64 = sqlx::query_scalar(
        "select count(*) from raw_responses where endpoint = 'candles' and symbol = 'MSFT'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn rebuild_re_derives_the_daily_bars() {
    let app = spawn_app().await;
    app.confirmed_user().await;
    watch(&app, &["AAPL"]).await;
    year_of_bars(&app, "AAPL").await;

    let snapshot = async || -> Vec<Value> {
        sqlx::query_scalar(
            "select to_jsonb(b) - 'updated_at' from daily_bars b order by symbol, trading_date",
        )
        .fetch_all(&app.db)
        .await
        .unwrap()
    };
    let before = snapshot().await;
    sqlx::query("delete from daily_bars where trading_date > current_date - 100")
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("update daily_bars set close = 1")
        .execute(&app.db)
        .await
        .unwrap();
    // The planner holds the extraction lock only while it fetches; retry until free.
    let report = eventually(Duration::from_secs(10), async || {
        etl::rebuild(&app.state)
            .await
            .unwrap()
            .ok_or("an extraction holds the lock")
    })
    .await;
    assert!(report.typed_loaded > 0);
    assert_eq!(snapshot().await, before);
}

#[tokio::test]
async fn a_final_bar_is_never_replaced_by_one_that_is_not() {
    let app = spawn_app().await;
    let day = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let bar = |close: f64, source: BarSource, is_final: bool| DailyBar {
        symbol: "TEST".into(),
        trading_date: day,
        open: 1.0,
        high: 9.0,
        low: 0.5,
        close,
        volume: (source == BarSource::Candle).then_some(1000),
        source,
        is_final,
    };
    let put = async |raw_id: i64, b: DailyBar| {
        market::upsert_bars(&app.db, raw_id, false, &[b])
            .await
            .unwrap();
        bars(&app, "TEST").await[0].close
    };
    assert_eq!(put(10, bar(1.0, BarSource::Quote, false)).await, 1.0);
    // A later quote during the session replaces the earlier one.
    assert_eq!(put(11, bar(2.0, BarSource::Quote, false)).await, 2.0);
    // The closing quote makes it final...
    assert_eq!(put(12, bar(3.0, BarSource::Quote, true)).await, 3.0);
    // ...and no quote taken during the session, even a later response, undoes it.
    assert_eq!(put(13, bar(4.0, BarSource::Quote, false)).await, 3.0);
    assert_eq!(put(14, bar(4.0, BarSource::Candle, false)).await, 3.0);
    // A final candle (it has the volume) wins over a final quote, whatever their order.
    assert_eq!(put(9, bar(5.0, BarSource::Candle, true)).await, 5.0);
    assert_eq!(put(15, bar(6.0, BarSource::Quote, true)).await, 5.0);
    assert_eq!(bars(&app, "TEST").await[0].volume, Some(1000));
}
