//! Market-data extraction against a Finnhub mock with real response shapes.

use std::time::Duration;

use quotidian::domain::{EtlOutcome, EtlRunStatus, EtlTrigger, Symbol};
use quotidian::services::etl::{self, NoProgress, RunOptions, RunOutcome, RunReport};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Connection as _;

use crate::finnhub_mock::FinnhubMock;
use crate::helpers::*;

/// Puts `symbols` on the watchlist of `client`'s account straight into the database:
/// adding through the API would fetch each symbol at once (the new-symbol fetch),
/// and these tests count the calls of the extraction itself.
async fn watch(app: &TestApp, client: &reqwest::Client, symbols: &[&str]) {
    let me: Value = client
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = uuid::Uuid::parse_str(me["id"].as_str().unwrap()).unwrap();
    for s in symbols {
        sqlx::query("insert into watchlist_items (user_id, symbol) values ($1, upper($2))")
            .bind(id)
            .bind(s)
            .execute(&app.db)
            .await
            .unwrap();
    }
}

/// The mock, and no background loops: nothing but the extraction under test calls
/// Finnhub (the planner's leader would fetch the watched symbols on its own).
fn alone(mock: &FinnhubMock, c: &mut quotidian::config::Config) {
    mock.configure(c);
    c.digests.workers = false;
}

async fn extract(app: &TestApp) -> RunReport {
    match etl::run(
        &app.state,
        RunOptions {
            trigger: EtlTrigger::Cli,
            symbols: None,
        },
        &NoProgress,
    )
    .await
    .unwrap()
    {
        RunOutcome::Completed(report) => *report,
        RunOutcome::Busy => panic!("extraction unexpectedly busy"),
    }
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.db).await.unwrap()
}

#[tokio::test]
async fn a_symbol_watched_by_many_is_fetched_once_and_loaded_raw_and_typed() {
    let mock = FinnhubMock::start().await;
    let app = TestApp::builder()
        .with_config(|c| alone(&mock, c))
        .spawn()
        .await;
    app.confirmed_user().await;
    watch(&app, &app.api, &["AAPL", "MSFT"]).await;
    let other = new_client();
    app.confirmed_user_with_client(&unique_email(), &other)
        .await;
    watch(&app, &other, &["aapl"]).await;

    let report = extract(&app).await;
    assert_eq!(
        report.run.status,
        EtlRunStatus::Succeeded,
        "{:?}",
        report.failures
    );
    assert_eq!(report.run.symbols, 2);
    assert_eq!(
        mock.arrivals.count("/quote", "AAPL"),
        1,
        "AAPL fetched once for two watchers"
    );
    assert_eq!(mock.arrivals.count("/stock/profile2", "AAPL"), 1);
    assert_eq!(mock.arrivals.count("/company-news", "AAPL"), 1);
    assert_eq!(
        mock.arrivals.count("/calendar/earnings", ""),
        1,
        "one market-wide earnings call"
    );

    // Bronze: every response, without the token.
    let raw = count(&app, "select count(*) from raw_responses").await;
    assert_eq!(raw, report.run.calls as i64);
    let leaked = count(
        &app,
        "select count(*) from raw_responses where params::text like '%token%'",
    )
    .await;
    assert_eq!(leaked, 0);
    // Silver: what a digest needs.
    let price: f64 = sqlx::query_scalar("select price from quotes where symbol = 'AAPL'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(price, 105.5);
    assert_eq!(
        count(&app, "select count(*) from company_profiles").await,
        2
    );
    assert_eq!(
        count(&app, "select count(*) from news_items where id = 7").await,
        1,
        "news deduplicated by id"
    );
    assert_eq!(
        count(&app, "select count(*) from news_symbols where news_id = 7").await,
        2
    );
    assert_eq!(
        count(&app, "select count(*) from earnings where symbol = 'AAPL'").await,
        1
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from market_holidays where holiday = '2026-11-26'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&app, "select count(*) from quotes where sample").await,
        0
    );
}

#[tokio::test]
async fn one_failing_symbol_does_not_spoil_the_run() {
    let mock = FinnhubMock::start().await;
    let app = TestApp::builder()
        .with_config(|c| alone(&mock, c))
        .spawn()
        .await;
    app.confirmed_user().await;
    watch(&app, &app.api, &["AAPL", "ZZZZ", "BOOM"]).await;

    let report = extract(&app).await;
    assert_eq!(report.run.status, EtlRunStatus::Partial);
    let outcome = |symbol: &str, endpoint: &str| {
        report
            .failures
            .iter()
            .find(|f| f.symbol == symbol && f.endpoint == endpoint)
            .map(|f| f.outcome)
    };
    assert_eq!(outcome("ZZZZ", "quote"), Some(EtlOutcome::NoData));
    assert_eq!(outcome("ZZZZ", "profile"), Some(EtlOutcome::NoData));
    assert_eq!(outcome("BOOM", "quote"), Some(EtlOutcome::Unavailable));
    assert!(
        report.run.retries >= 2,
        "5xx answers were retried: {}",
        report.run.retries
    );
    // Never a price of 0 for the unknown symbol; the good one is loaded.
    assert_eq!(
        count(
            &app,
            "select count(*) from quotes where symbol in ('ZZZZ', 'BOOM')"
        )
        .await,
        0
    );
    assert_eq!(
        count(&app, "select count(*) from quotes where symbol = 'AAPL'").await,
        1
    );
    // The empty answers are still in the audit trail.
    assert_eq!(
        count(
            &app,
            "select count(*) from raw_responses where symbol = 'ZZZZ' and endpoint = 'quote'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn fresh_quotes_are_reused_by_the_next_run() {
    let mock = FinnhubMock::start().await;
    let app = TestApp::builder()
        .with_config(|c| alone(&mock, c))
        .spawn()
        .await;
    app.confirmed_user().await;
    watch(&app, &app.api, &["AAPL", "MSFT"]).await;
    extract(&app).await;
    let before = mock.arrivals.total();
    let second = extract(&app).await;
    assert_eq!(second.quotes_reused, 2);
    assert_eq!(
        mock.arrivals.total(),
        before,
        "nothing was stale, nothing was fetched"
    );
    assert_eq!(second.run.calls, 0);

    // Once the quotes are older than the limit they are fetched again, the rest not.
    sqlx::query("update fetch_state set fetched_at = fetched_at - interval '6 minutes' where endpoint = 'quote'")
        .execute(&app.db)
        .await
        .unwrap();
    let third = extract(&app).await;
    assert_eq!(third.run.calls, 2);
    assert_eq!(mock.arrivals.count("/quote", "AAPL"), 2);
    assert_eq!(mock.arrivals.count("/stock/profile2", "AAPL"), 1);
}

#[tokio::test]
async fn the_limiter_holds_the_call_rate_under_the_configured_limit() {
    let mock = FinnhubMock::start().await;
    let app = TestApp::builder()
        .with_config(|c| {
            alone(&mock, c);
            c.finnhub.calls_per_second = nz(8);
            c.etl.concurrency = 16;
        })
        .spawn()
        .await;
    app.confirmed_user().await;
    // Five symbols: 15 per-symbol calls + 2 market-wide.
    watch(&app, &app.api, &["AAPL", "MSFT", "NVDA", "AMZN", "META"]).await;
    // Let the per-second window the searches used roll over: time passing is the point.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let start = mock.arrivals.total();
    let report = extract(&app).await;
    let instants = &mock.arrivals.instants()[start..];
    assert_eq!(instants.len(), 17);
    assert_eq!(report.run.rate_limited, 0);
    // No window of one second holds more than the limit. The limiter spaces the
    // calls 125 ms apart as they leave; arrival times at the mock carry scheduling
    // jitter on a busy 2-core runner, so the window checked is 900 ms: a limiter
    // letting 9 calls a second through (111 ms apart) still fails it.
    for (i, first) in instants.iter().enumerate() {
        let within = instants[i..]
            .iter()
            .filter(|t| t.duration_since(*first) < Duration::from_millis(900))
            .count();
        assert!(within <= 8, "{within} calls within 900 ms");
    }
    let span = instants.last().unwrap().duration_since(instants[0]);
    assert!(
        span >= Duration::from_millis(1700),
        "17 calls at 8/s take about 2 s, took {span:?}"
    );
}

#[tokio::test]
async fn rebuild_from_raw_reproduces_the_typed_rows() {
    let mock = FinnhubMock::start().await;
    let app = TestApp::builder()
        .with_config(|c| alone(&mock, c))
        .spawn()
        .await;
    app.confirmed_user().await;
    watch(&app, &app.api, &["AAPL", "MSFT", "ZZZZ"]).await;
    extract(&app).await;

    let snapshot = |app: &TestApp| {
        let db = app.db.clone();
        async move {
            let mut all = Vec::new();
            for sql in [
                "select to_jsonb(q) - 'fetched_at' from quotes q order by symbol, trading_day",
                "select to_jsonb(p) - 'fetched_at' from company_profiles p order by symbol",
                "select to_jsonb(n) - 'fetched_at' from news_items n order by id",
                "select to_jsonb(s) from news_symbols s order by news_id, symbol",
                "select to_jsonb(e) - 'fetched_at' from earnings e order by symbol, report_date",
                "select to_jsonb(h) from market_holidays h order by exchange, holiday",
            ] {
                let rows: Vec<Value> = sqlx::query_scalar(sql).fetch_all(&db).await.unwrap();
                all.push(rows);
            }
            all
        }
    };
    let before = snapshot(&app).await;
    assert!(before.iter().all(|t| !t.is_empty()));
    // Simulate a typing bug having damaged the typed tables.
    sqlx::query("delete from quotes")
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("update company_profiles set name = 'wrong'")
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("delete from news_items")
        .execute(&app.db)
        .await
        .unwrap();

    let calls_before = mock.arrivals.total();
    let report = etl::rebuild(&app.state)
        .await
        .unwrap()
        .expect("no extraction is running");
    assert_eq!(
        mock.arrivals.total(),
        calls_before,
        "rebuild never calls Finnhub"
    );
    assert!(report.raw_rows > 0);
    assert_eq!(
        report.no_data, 2,
        "ZZZZ's quote and profile type to nothing, again"
    );
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn a_refused_api_key_stops_the_run_with_a_clear_reason() {
    let mock = FinnhubMock::refusing_the_key().await;
    let app = TestApp::builder()
        .with_config(|c| alone(&mock, c))
        .spawn()
        .await;
    app.confirmed_user().await;
    // The watchlist cannot be validated with a refused key: add rows directly.
    let user_id: uuid::Uuid = sqlx::query_scalar("select id from users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    for s in ["AAPL", "MSFT", "NVDA"] {
        sqlx::query("insert into watchlist_items (user_id, symbol) values ($1, $2)")
            .bind(user_id)
            .bind(s)
            .execute(&app.db)
            .await
            .unwrap();
    }
    let report = extract(&app).await;
    assert_eq!(report.run.status, EtlRunStatus::Failed);
    assert!(
        report.run.error.as_deref().unwrap().contains("API key"),
        "{:?}",
        report.run.error
    );
    let requests = mock.server.received_requests().await.unwrap().len();
    assert!(
        requests <= app.state.config.etl.concurrency,
        "stopped at once, not after every call: {requests}"
    );
}

#[tokio::test]
async fn only_one_instance_extracts_at_a_time() {
    let mock = FinnhubMock::start().await;
    let app = TestApp::builder()
        .with_config(|c| alone(&mock, c))
        .spawn()
        .await;
    let admin_url = app.state.db.connect_options();
    let mut other_instance = sqlx::PgConnection::connect_with(&admin_url).await.unwrap();
    const EXTRACTION_LOCK: i64 = 0x5155_4f54_4554_4c00;
    sqlx::query("select pg_advisory_lock($1)")
        .bind(EXTRACTION_LOCK)
        .execute(&mut other_instance)
        .await
        .unwrap();
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
    assert!(matches!(outcome, RunOutcome::Busy));
    drop(other_instance);
    // A crashed holder's lock dies with its connection (the server notices the
    // closed connection a moment later).
    eventually(Duration::from_secs(10), async || {
        // A bigint advisory key shows in pg_locks as its two 32-bit halves.
        let held: i64 = sqlx::query_scalar(
            "select count(*) from pg_locks where locktype = 'advisory'
             and classid = $1::oid and objid = $2::oid and objsubid = 1",
        )
        .bind(EXTRACTION_LOCK >> 32)
        .bind(EXTRACTION_LOCK & 0xffff_ffff)
        .fetch_one(&app.db)
        .await
        .unwrap();
        if held == 0 {
            Ok(())
        } else {
            Err("the closed connection still holds the extraction lock")
        }
    })
    .await;
    let outcome = etl::run(
        &app.state,
        RunOptions {
            trigger: EtlTrigger::Cli,
            symbols: Some(vec![Symbol::parse("AAPL").unwrap()]),
        },
        &NoProgress,
    )
    .await
    .unwrap();
    assert!(matches!(outcome, RunOutcome::Completed(_)));
}

#[tokio::test]
async fn operators_see_runs_and_their_failures_through_the_api() {
    let mock = FinnhubMock::start().await;
    let operator = unique_email();
    let app = TestApp::builder()
        .with_config(|c| {
            alone(&mock, c);
            c.accounts.operator_emails = vec![operator.clone()];
        })
        .spawn()
        .await;
    app.confirmed_user_with_client(&operator, &app.api).await;
    watch(&app, &app.api, &["AAPL", "ZZZZ"]).await;
    let report = extract(&app).await;

    let list: Value = app
        .api
        .get(app.url("/api/v1/operator/etl-runs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["runs"][0]["id"], report.run.id);
    assert_eq!(list["runs"][0]["status"], "partial");
    assert_eq!(list["runs"][0]["source"], "finnhub");
    let detail: Value = app
        .api
        .get(app.url(&format!("/api/v1/operator/etl-runs/{}", report.run.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        detail["failure_details"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["symbol"] == "ZZZZ" && f["outcome"] == "no_data")
    );
    let missing = app
        .api
        .get(app.url("/api/v1/operator/etl-runs/999999"))
        .send()
        .await
        .unwrap();
    assert_problem(missing, StatusCode::NOT_FOUND, "not-found").await;
    let bad_limit = app
        .api
        .get(app.url("/api/v1/operator/etl-runs?limit=0"))
        .send()
        .await
        .unwrap();
    assert_problem(bad_limit, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;

    let someone = new_client();
    app.confirmed_user_with_client(&unique_email(), &someone)
        .await;
    let refused = someone
        .get(app.url("/api/v1/operator/etl-runs"))
        .send()
        .await
        .unwrap();
    assert_problem(refused, StatusCode::FORBIDDEN, "forbidden").await;
    let anonymous = new_client()
        .get(app.url("/api/v1/operator/etl-runs"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
