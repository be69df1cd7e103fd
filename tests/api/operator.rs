//! The operator console's API: `GET /api/v1/operator/overview` (queues and budgets),
//! the audit record of each digest that was not sent, and `operator` in `GET /api/v1/me`.

use std::time::Duration;

use quotidian::repositories::digest_jobs::JobRecordRow;
use quotidian::repositories::digest_runs;
use quotidian::services::audit;
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::*;

/// An app whose scheduler, delivery and audit workers are off (what the test queues
/// stays queued), with one operator and that operator's logged-in client.
async fn quiet_app_with_operator() -> (TestApp, reqwest::Client, String) {
    let operator = unique_email();
    let app = TestApp::builder()
        .with_config(|c| {
            c.accounts.operator_emails = vec![operator.clone()];
            c.digests.workers = false;
        })
        .spawn()
        .await;
    let ops = new_client();
    app.confirmed_user_with_client(&operator, &ops).await;
    (app, ops, operator)
}

async fn user_id(app: &TestApp, email: &str) -> Uuid {
    sqlx::query_scalar("select id from users where email = $1")
        .bind(email)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn get_json(client: &reqwest::Client, app: &TestApp, path: &str) -> Value {
    let response = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    response.json().await.unwrap()
}

async fn execute(app: &TestApp, sql: &str) {
    sqlx::query(sql).execute(&app.db).await.unwrap();
}

#[tokio::test]
async fn me_says_whether_the_account_is_an_operator() {
    let (app, ops, operator) = quiet_app_with_operator().await;
    let me = get_json(&ops, &app, "/api/v1/me").await;
    assert_eq!(me["email"], operator.as_str());
    assert_eq!(me["operator"], true, "{me}");

    app.confirmed_user().await;
    let me = get_json(&app.api, &app, "/api/v1/me").await;
    assert_eq!(me["operator"], false, "{me}");
}

#[tokio::test]
async fn only_operators_see_the_overview() {
    let (app, ops, _) = quiet_app_with_operator().await;
    let anonymous = new_client();
    let r = anonymous
        .get(app.url("/api/v1/operator/overview"))
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::UNAUTHORIZED, "unauthenticated").await;

    app.confirmed_user().await;
    let r = app
        .api
        .get(app.url("/api/v1/operator/overview"))
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::FORBIDDEN, "forbidden").await;

    let r = ops
        .get(app.url("/api/v1/operator/overview"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_overview_counts_what_waits_and_how_long_the_oldest_has() {
    let (app, ops, operator) = quiet_app_with_operator().await;
    let user = user_id(&app, &operator).await;

    // Two emails waiting (held back an hour, so the email worker leaves them), the
    // oldest queued ten minutes ago; a sent one does not count.
    execute(
        &app,
        "insert into email_outbox (kind, recipient, subject, next_attempt_at, created_at, status)
         values ('reset_password', 'a@example.com', 's', now() + interval '1 hour', now() - interval '10 minutes', 'pending'),
                ('reset_password', 'b@example.com', 's', now() + interval '1 hour', now() - interval '2 minutes', 'pending'),
                ('reset_password', 'c@example.com', 's', now(), now() - interval '1 day', 'sent')",
    )
    .await;
    // One digest in progress, queued five minutes ago; a sent one does not count. One
    // whose SES outcome is unknown, one SES's events settled.
    sqlx::query(
        "insert into digest_jobs (user_id, local_date, trigger, due_at, status, created_at, outcome_unknown, reconciled_at)
         values ($1, current_date, 'schedule', now(), 'pending', now() - interval '5 minutes', false, null),
                ($1, current_date - 1, 'schedule', now(), 'sent', now() - interval '1 day', false, null),
                ($1, current_date - 2, 'schedule', now(), 'failed', now() - interval '2 days', true, null),
                ($1, current_date - 3, 'schedule', now(), 'sent', now() - interval '3 days', false, now())",
    )
    .bind(user)
    .execute(&app.db)
    .await
    .unwrap();
    // Three audit records not in S3 yet, the oldest from an hour ago; one that is.
    execute(
        &app,
        "insert into audit_outbox (kind, key, body, created_at, written_at)
         values ('run', 'runs/t/1.json', '{}', now() - interval '1 hour', null),
                ('run', 'runs/t/2.json', '{}', now() - interval '1 minute', null),
                ('run', 'runs/t/3.json', '{}', now(), null),
                ('run', 'runs/t/4.json', '{}', now() - interval '2 days', now())",
    )
    .await;
    execute(
        &app,
        "insert into suppressed_addresses (email, reason) values ('x@example.com', 'bounce'), ('y@example.com', 'complaint')",
    )
    .await;
    // Two market data responses in the last minute and one before it.
    execute(
        &app,
        "insert into raw_responses (source, endpoint, symbol, params, status, body, fetched_at)
         values ('sample', '/quote', 'AAPL', '{}', 200, '{}', now()),
                ('sample', '/quote', 'MSFT', '{}', 200, '{}', now() - interval '20 seconds'),
                ('sample', '/quote', 'NVDA', '{}', 200, '{}', now() - interval '5 minutes')",
    )
    .await;

    // The operator's own confirmation email may still be marked sent a moment after
    // the emulator got it.
    let overview = eventually(Duration::from_secs(10), async || {
        let overview = get_json(&ops, &app, "/api/v1/operator/overview").await;
        if overview["queues"]["email_outbox"]["depth"] == 2 {
            Ok(overview)
        } else {
            Err(format!("email outbox depth is not 2: {overview}"))
        }
    })
    .await;
    let queues = &overview["queues"];
    assert_eq!(queues["email_outbox"]["depth"], 2, "{overview}");
    assert_eq!(queues["digest_jobs"]["depth"], 1, "{overview}");
    assert_eq!(queues["audit_outbox"]["depth"], 3, "{overview}");
    for (queue, secs) in [
        ("email_outbox", 600),
        ("digest_jobs", 300),
        ("audit_outbox", 3600),
    ] {
        let age = queues[queue]["oldest_age_secs"].as_i64().unwrap();
        assert!((secs..secs + 30).contains(&age), "{queue}: {overview}");
        assert!(queues[queue]["oldest_queued_at"].is_string(), "{overview}");
    }
    assert_eq!(overview["suppressed_addresses"], 2, "{overview}");
    assert_eq!(overview["unresolved_outcomes"], 1, "{overview}");
    assert!(overview["as_of"].is_string());

    // No Finnhub key in the tests: the sample source, under the default budget.
    let finnhub = &overview["finnhub"];
    assert_eq!(finnhub["source"], "sample", "{overview}");
    assert_eq!(finnhub["calls_per_minute"], 60);
    assert_eq!(finnhub["calls_per_second"], 30);
    assert_eq!(finnhub["calls_last_minute"], 2, "{overview}");
    // The test apps set QUOTIDIAN_SES_MAX_SEND_RATE=1000.
    assert_eq!(overview["ses"]["send_rate_per_second"], 1000.0);
    assert_eq!(overview["ses"]["configured"], true);
    // No configuration set: nothing settles an unknown outcome.
    assert_eq!(overview["ses"]["events"], false);

    // Empty queues have no oldest item.
    execute(&app, "update audit_outbox set written_at = now()").await;
    let overview = get_json(&ops, &app, "/api/v1/operator/overview").await;
    let audit = &overview["queues"]["audit_outbox"];
    assert_eq!(audit["depth"], 0, "{overview}");
    assert!(audit["oldest_queued_at"].is_null(), "{overview}");
    assert!(audit["oldest_age_secs"].is_null(), "{overview}");
}

async fn job_record(app: &TestApp, id: i64) -> JobRecordRow {
    sqlx::query_as(
        "select id, user_id, local_date, run_id, trigger, due_at, status, attempts, last_error,
                content_hash, ses_message_id, sent_at, finished_at, created_at
         from digest_jobs where id = $1",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_digest_that_was_not_sent_names_its_audit_record() {
    let (app, ops, operator) = quiet_app_with_operator().await;
    let failing = user_id(&app, &operator).await;
    let other = app.confirmed_user().await;
    let skipped = user_id(&app, &other).await;
    let run = digest_runs::create_run(&app.db, quotidian::domain::DigestTrigger::Schedule)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (user, status, reason) in [
        (
            failing,
            "failed",
            "SES refused the message: MessageRejected",
        ),
        (skipped, "skipped", "paused"),
    ] {
        let id: i64 = sqlx::query_scalar(
            "insert into digest_jobs (user_id, local_date, run_id, trigger, due_at, status, attempts, last_error, finished_at)
             values ($1, current_date, $2, 'schedule', now(), $3, 1, $4, now()) returning id",
        )
        .bind(user)
        .bind(run)
        .bind(status)
        .bind(reason)
        .fetch_one(&app.db)
        .await
        .unwrap();
        ids.push(id);
    }
    // The failed digest's delivery record is queued the way the delivery worker does;
    // the skipped one has none yet.
    let failed_job = job_record(&app, ids[0]).await;
    let mut tx = app.db.begin().await.unwrap();
    audit::queue_deliveries(&mut tx, &[&failed_job])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let key: String = sqlx::query_scalar("select key from audit_outbox where kind = 'delivery'")
        .fetch_one(&app.db)
        .await
        .unwrap();

    let path = format!("/api/v1/operator/digest-runs/{run}");
    let detail = get_json(&ops, &app, &path).await;
    assert_eq!(detail["audit_bucket"], TEST_BUCKET, "{detail}");
    let problems = detail["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{detail}");
    let failed = &problems[0];
    assert_eq!(failed["job_id"], ids[0]);
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["reason"], "SES refused the message: MessageRejected");
    assert_eq!(failed["audit_key"], key.as_str(), "{detail}");
    // `deliveries/<local date>/<record id>.json`, the id being the record's UUID.
    let record_id = key
        .strip_prefix(&format!("deliveries/{}/", failed_job.local_date))
        .and_then(|rest| rest.strip_suffix(".json"))
        .unwrap_or_else(|| panic!("unexpected key {key}"));
    assert!(Uuid::parse_str(record_id).is_ok(), "{key}");
    assert!(
        failed["audit_stored_at"].is_null(),
        "not in S3 yet: {detail}"
    );
    assert_eq!(problems[1]["status"], "skipped");
    assert!(problems[1]["audit_key"].is_null(), "{detail}");

    // Once the flusher has put it to S3, the detail says when.
    execute(&app, "update audit_outbox set written_at = now()").await;
    let detail = get_json(&ops, &app, &path).await;
    assert!(
        detail["problems"][0]["audit_stored_at"].is_string(),
        "{detail}"
    );

    // Not for everyone.
    let r = app.api.get(app.url(&path)).send().await.unwrap();
    assert_problem(r, StatusCode::FORBIDDEN, "forbidden").await;
}
