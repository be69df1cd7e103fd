//! `GET /metrics`. The recorder is global to the test process and other tests record
//! into it at the same time, so counters are compared with a reading taken before
//! (at least this much more), never with exact values.

use std::time::Duration;

use quotidian::repositories::metrics::outbox_backlog;
use quotidian::services::etl::{self, NoProgress, RunOptions, RunOutcome};
use reqwest::StatusCode;
use serde_json::json;

use crate::finnhub_mock::FinnhubMock;
use crate::helpers::*;

async fn scrape(app: &TestApp) -> String {
    let r = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

/// The value of `series` (name with its labels, exactly as rendered), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

#[tokio::test]
async fn metrics_are_served_as_prometheus_text() {
    let app = spawn_app().await;
    let r = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/plain; version=0.0.4");
    let text = r.text().await.unwrap();
    assert!(
        text.contains(r#"quotidian_outbox_backlog{kind="email"}"#),
        "{text}"
    );
    assert!(text.contains("# HELP quotidian_outbox_backlog "), "{text}");
}

#[tokio::test]
async fn a_database_outage_does_not_fail_the_scrape() {
    let app = spawn_app().await;
    scrape(&app).await;
    app.db.close().await;
    // Still a 200, and the gauge keeps the value of the last count.
    let text = scrape(&app).await;
    assert!(
        text.contains(r#"quotidian_outbox_backlog{kind="email"}"#),
        "{text}"
    );
}

#[tokio::test]
async fn the_backlog_counts_each_outbox_once_its_table_exists() {
    let app = spawn_app().await;
    // Far in the future, so the outbox worker leaves it alone.
    sqlx::query(
        "insert into email_outbox (kind, recipient, subject, next_attempt_at)
         values ('account_exists', 'nobody@example.com', 'Later', now() + interval '1 day')",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let tables_exist: bool = sqlx::query_scalar(
        "select to_regclass('public.audit_outbox') is not null
            and to_regclass('public.digest_jobs') is not null",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();

    let backlog = outbox_backlog(&app.db).await.unwrap();
    assert_eq!(backlog.email, 1);
    if tables_exist {
        // Their migrations have landed: the counts are there, whatever they are.
        assert!(backlog.audit.is_some() && backlog.digest_jobs.is_some());
        return;
    }
    assert_eq!((backlog.audit, backlog.digest_jobs), (None, None));

    // Stand-ins with just the columns the count reads.
    for sql in [
        "create table audit_outbox (id int, written_at timestamptz)",
        "insert into audit_outbox values (1, null), (2, now()), (3, null)",
        "create table digest_jobs (id int, status text)",
        "insert into digest_jobs values (1, 'pending'), (2, 'claimed'), (3, 'sending'), (4, 'sent'), (5, 'failed')",
    ] {
        sqlx::query(sql).execute(&app.db).await.unwrap();
    }
    let backlog = outbox_backlog(&app.db).await.unwrap();
    assert_eq!(
        (backlog.email, backlog.audit, backlog.digest_jobs),
        (1, Some(2), Some(3))
    );
    let text = scrape(&app).await;
    assert!(
        text.contains(r#"quotidian_outbox_backlog{kind="audit"}"#)
            && text.contains(r#"quotidian_outbox_backlog{kind="digest_jobs"}"#),
        "{text}"
    );
}

#[tokio::test]
async fn finnhub_calls_and_429s_are_counted() {
    let mock = FinnhubMock::start().await;
    let app = TestApp::builder()
        .with_config(|c| {
            mock.configure(c);
            c.digests.workers = false;
        })
        .spawn()
        .await;
    app.confirmed_user().await;
    let r = app
        .post(&app.api, "/api/v1/watchlist", json!({"symbol": "AAPL"}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // The add fetches AAPL at once; the extraction below then fetches its quote again
    // once it is stale.
    eventually(Duration::from_secs(10), async || {
        match mock.arrivals.count("/stock/profile2", "AAPL") {
            1 => Ok(()),
            n => Err(format!("{n} profile calls")),
        }
    })
    .await;
    sqlx::query("update fetch_state set fetched_at = fetched_at - interval '1 hour' where endpoint = 'quote'")
        .execute(&app.db)
        .await
        .unwrap();
    mock.rate_limit_once("/quote").await;

    let quote_429 = r#"quotidian_finnhub_calls_total{endpoint="/quote",status="429"}"#;
    let quote_200 = r#"quotidian_finnhub_calls_total{endpoint="/quote",status="200"}"#;
    let limited = "quotidian_finnhub_rate_limited_total";
    let before = scrape(&app).await;

    let report = match etl::run(
        &app.state,
        RunOptions {
            trigger: quotidian::domain::EtlTrigger::Cli,
            symbols: None,
        },
        &NoProgress,
    )
    .await
    .unwrap()
    {
        RunOutcome::Completed(report) => *report,
        RunOutcome::Busy => panic!("extraction unexpectedly busy"),
    };
    assert_eq!(report.run.rate_limited, 1, "the mock answered 429 once");

    let after = scrape(&app).await;
    for (series, grew_by) in [(quote_429, 1.0), (quote_200, 1.0), (limited, 1.0)] {
        assert!(
            sample(&after, series) >= sample(&before, series) + grew_by,
            "{series}: {} before, {} after",
            sample(&before, series),
            sample(&after, series)
        );
    }
}

#[tokio::test]
async fn metrics_can_have_a_listener_of_their_own_off_the_public_port() {
    let app = TestApp::builder()
        .with_config(|c| c.server.metrics_bind = Some("127.0.0.1:0".parse().unwrap()))
        .spawn()
        .await;
    let public = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_problem(public, StatusCode::NOT_FOUND, "not-found").await;
    let own = app.metrics_address.as_deref().expect("a metrics listener");
    let r = reqwest::get(format!("{own}/metrics")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("quotidian_"));
    // Nothing else is served there.
    let other = reqwest::get(format!("{own}/api/v1/me")).await.unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}
