//! Retention: old rows whose purpose is served are pruned; recent and unfinished ones
//! are kept; one process prunes at a time.

use std::time::Duration;

use quotidian::services::retention::{self, PruneReport};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Connection as _;
use uuid::Uuid;

use crate::helpers::*;

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql).execute(&app.db).await.unwrap();
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.db).await.unwrap()
}

/// One pass; the maintenance loop's own first pass may still hold the lock at start.
async fn prune(app: &TestApp) -> PruneReport {
    eventually(Duration::from_secs(10), async || {
        retention::prune(&app.state)
            .await
            .unwrap()
            .ok_or("the retention lock never came free")
    })
    .await
}

/// Old, recent and unfinished rows in every table retention looks after. Returns the
/// ids of digests (old with its record in S3, old with its record still queued, recent).
async fn seed(app: &TestApp, user: Uuid) -> (i64, i64, i64) {
    // Audit records: 1,200 written long ago (more than one batch), one written
    // yesterday, one never written.
    exec(
        app,
        "insert into audit_outbox (kind, key, body, created_at, written_at)
         select 'run', 'runs/old/' || g, '{}'::jsonb, now() - interval '41 days', now() - interval '40 days'
         from generate_series(1, 1200) g",
    )
    .await;
    exec(
        app,
        "insert into audit_outbox (kind, key, body, created_at, written_at) values
           ('run', 'runs/recent', '{}', now() - interval '1 day', now() - interval '1 day'),
           ('run', 'runs/unwritten', '{}', now() - interval '40 days', null)",
    )
    .await;
    // Transactional emails: sent and skipped long ago, sent yesterday, pending for long
    // (retried later, so the email worker leaves it alone meanwhile).
    exec(
        app,
        "insert into email_outbox (kind, recipient, subject, status, created_at, sent_at, next_attempt_at) values
           ('confirm_email', 'old@example.com', 'old', 'sent', now() - interval '40 days', now() - interval '40 days', now()),
           ('account_exists', 'old2@example.com', 'old', 'skipped', now() - interval '40 days', null, now()),
           ('confirm_email', 'recent@example.com', 'recent', 'sent', now() - interval '1 day', now() - interval '1 day', now()),
           ('reset_password', 'pending@example.com', 'pending', 'pending', now() - interval '40 days', null, now() + interval '1 hour')",
    )
    .await;
    // Digests.
    let mut ids = Vec::new();
    for (days_ago, status) in [(100, "sent"), (99, "sent"), (1, "sent"), (98, "sending")] {
        let id: i64 = sqlx::query_scalar(
            "insert into digest_jobs (user_id, local_date, trigger, due_at, status, attempts, recipient,
                 subject, html_body, text_body, content_hash, sent_at, finished_at, created_at)
             values ($1, current_date - $2::int, 'schedule', now() - make_interval(days => $2), $3, 1,
                 'someone@example.com', 'Quotidian', '<p>html</p>', 'text', 'sha256:00',
                 case when $3 = 'sent' then now() - make_interval(days => $2) end,
                 case when $3 = 'sent' then now() - make_interval(days => $2) end,
                 now() - make_interval(days => $2))
             returning id",
        )
        .bind(user)
        .bind(days_ago)
        .bind(status)
        .fetch_one(&app.db)
        .await
        .unwrap();
        ids.push(id);
    }
    // The first digest's record is in S3; the second's is still queued.
    for (id, written) in [(ids[0], true), (ids[1], false)] {
        sqlx::query(
            "insert into audit_outbox (kind, key, body, written_at)
             values ('delivery', 'deliveries/x/' || $1, jsonb_build_object('job_id', $1),
                     case when $2 then now() - interval '99 days' end)",
        )
        .bind(id)
        .bind(written)
        .execute(&app.db)
        .await
        .unwrap();
    }
    // Cached symbol searches.
    exec(
        app,
        "insert into symbol_searches (query, results, fetched_at) values
           ('old', '[]', now() - interval '40 days'), ('recent', '[]', now())",
    )
    .await;
    // SES events about digest sends: one received long ago, one today.
    exec(
        app,
        "insert into ses_send_events (send_token, event_type, ses_message_id, occurred_at, sns_message_id, received_at) values
           (gen_random_uuid(), 'Send', 'old', now() - interval '40 days', 'sns-old', now() - interval '40 days'),
           (gen_random_uuid(), 'Send', 'recent', now(), 'sns-recent', now())",
    )
    .await;
    // Digest runs: empty and old, empty and recent, old with a digest, never finished.
    exec(
        app,
        "insert into digest_runs (trigger, started_at, finished_at, due, queued, missed) values
           ('send_now', now() - interval '40 days', now() - interval '40 days', 1, 0, 0),
           ('send_now', now() - interval '1 hour', now() - interval '1 hour', 1, 0, 0),
           ('send_now', now() - interval '40 days', now() - interval '40 days', 1, 1, 0),
           ('schedule', now() - interval '40 days', null, 0, 0, 0)",
    )
    .await;
    sqlx::query(
        "update digest_jobs set run_id = (select id from digest_runs where queued = 1) where id = $1",
    )
    .bind(ids[2])
    .execute(&app.db)
    .await
    .unwrap();
    (ids[0], ids[1], ids[2])
}

#[tokio::test]
async fn old_rows_are_pruned_and_recent_or_unfinished_ones_are_kept() {
    let app = TestApp::builder()
        .with_config(|c| c.digests.workers = false)
        .spawn()
        .await;
    let email = app.confirmed_user().await;
    let user: Uuid = sqlx::query_scalar("select id from users where email = $1")
        .bind(&email)
        .fetch_one(&app.db)
        .await
        .unwrap();
    // The confirmation email above is a sent outbox row of today: it stays.
    let (old, old_unrecorded, recent) = seed(&app, user).await;

    let report = prune(&app).await;
    assert!(report.audit_records >= 1200, "{report:?}");

    // Audit records: only those written to S3 long ago are gone.
    let keys: Vec<String> = sqlx::query_scalar("select key from audit_outbox order by key")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert!(!keys.iter().any(|k| k.starts_with("runs/old/")), "{keys:?}");
    for kept in ["runs/recent", "runs/unwritten"] {
        assert!(keys.iter().any(|k| k == kept), "{kept} was pruned");
    }
    assert!(keys.contains(&format!("deliveries/x/{old_unrecorded}")));

    // Emails: the old finished ones are gone, recent and pending ones stay.
    let recipients: Vec<String> =
        sqlx::query_scalar("select recipient from email_outbox order by recipient")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert!(
        !recipients.iter().any(|r| r.starts_with("old")),
        "{recipients:?}"
    );
    for kept in ["pending@example.com", "recent@example.com", email.as_str()] {
        assert!(recipients.iter().any(|r| r == kept), "{kept} was pruned");
    }

    // Digests: every record stays; only the old body whose audit record is in S3 goes.
    assert_eq!(
        count(&app, "select count(*) from digest_jobs").await,
        4,
        "digest records are kept"
    );
    let bodies: Vec<(i64, bool)> = sqlx::query_as(
        "select id, html_body is not null and text_body is not null from digest_jobs",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    for (id, has_body) in bodies {
        assert_eq!(has_body, id != old, "digest {id}");
    }

    // The history says the body is no longer kept.
    let r = app
        .api
        .get(app.url(&format!("/api/v1/digests/{old}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let one: Value = r.json().await.unwrap();
    assert!(one["html"].is_null() && one["text"].is_null(), "{one}");
    assert!(one["body_removed_at"].is_string(), "{one}");
    assert_eq!(one["content_hash"], "sha256:00", "{one}");
    assert_eq!(one["subject"], "Quotidian", "{one}");
    let kept: Value = app
        .api
        .get(app.url(&format!("/api/v1/digests/{recent}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(kept["html"], "<p>html</p>");
    assert!(kept["body_removed_at"].is_null(), "{kept}");
    let list: Value = app
        .api
        .get(app.url("/api/v1/digests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let summary = list["digests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == old)
        .unwrap_or_else(|| panic!("{list}"));
    assert!(summary["body_removed_at"].is_string(), "{summary}");

    // Symbol searches: the old cache entry goes.
    let queries: Vec<String> = sqlx::query_scalar("select query from symbol_searches")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(queries, ["recent"]);

    // SES events: the old one goes.
    let events: Vec<String> = sqlx::query_scalar("select ses_message_id from ses_send_events")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(events, ["recent"]);
    assert_eq!(report.ses_events, 1, "{report:?}");

    // Runs: only the old empty one goes.
    let runs: Vec<(String, i32, bool)> = sqlx::query_as(
        "select trigger, queued, started_at > now() - interval '1 day' from digest_runs order by id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        runs,
        [
            ("send_now".to_owned(), 0, true),
            ("send_now".to_owned(), 1, false),
            ("schedule".to_owned(), 0, false),
        ]
    );

    // A second pass finds nothing more to do.
    let again = prune(&app).await;
    assert_eq!(again, PruneReport::default(), "{again:?}");
}

#[tokio::test]
async fn a_pass_is_skipped_while_another_process_holds_the_retention_lock() {
    let app = TestApp::builder()
        .with_config(|c| c.digests.workers = false)
        .spawn()
        .await;
    // Another process (this connection) is pruning. Taken first: the app's own pass at
    // start-up may be running, and this waits for it to end.
    let mut other = sqlx::PgConnection::connect_with(&app.db.connect_options())
        .await
        .unwrap();
    sqlx::query("select pg_advisory_lock($1)")
        .bind(retention::LOCK_KEY)
        .execute(&mut other)
        .await
        .unwrap();
    exec(
        &app,
        "insert into symbol_searches (query, results, fetched_at) values ('old', '[]', now() - interval '40 days')",
    )
    .await;

    assert_eq!(retention::prune(&app.state).await.unwrap(), None);
    assert_eq!(count(&app, "select count(*) from symbol_searches").await, 1);

    // Two passes at once while it holds the lock: neither works.
    let (a, b) = tokio::join!(retention::prune(&app.state), retention::prune(&app.state));
    assert_eq!((a.unwrap(), b.unwrap()), (None, None));
    assert_eq!(count(&app, "select count(*) from symbol_searches").await, 1);

    // Once it is done, the next pass works. (The app's own start-up pass may be that
    // pass: on a loaded machine it can reach retention only now, and then ours finds
    // nothing left.)
    other.close().await.unwrap();
    let report = prune(&app).await;
    assert!(report.symbol_searches <= 1, "{report:?}");
    assert_eq!(count(&app, "select count(*) from symbol_searches").await, 0);
}

#[tokio::test]
async fn two_passes_at_once_never_both_prune() {
    let app = TestApp::builder()
        .with_config(|c| c.digests.workers = false)
        .spawn()
        .await;
    // Enough old rows that a pass takes a while.
    exec(
        &app,
        "insert into audit_outbox (kind, key, body, written_at)
         select 'run', 'runs/old/' || g, '{}'::jsonb, now() - interval '40 days'
         from generate_series(1, 20000) g",
    )
    .await;
    // Let the maintenance loop's first pass end before racing two of our own.
    prune(&app).await;
    exec(
        &app,
        "insert into audit_outbox (kind, key, body, written_at)
         select 'run', 'runs/again/' || g, '{}'::jsonb, now() - interval '40 days'
         from generate_series(1, 20000) g",
    )
    .await;
    let (a, b) = tokio::join!(retention::prune(&app.state), retention::prune(&app.state));
    let (a, b) = (a.unwrap(), b.unwrap());
    let worked: Vec<&PruneReport> = [&a, &b].into_iter().flatten().collect();
    assert!(!worked.is_empty(), "one of the passes ran");
    // Whichever passes ran did not share the work: the rows were pruned by one pass, or
    // (if the first had finished before the second began) the second found none.
    assert!(
        worked.iter().any(|r| r.audit_records == 20000),
        "{a:?} {b:?}"
    );
    assert_eq!(count(&app, "select count(*) from audit_outbox").await, 0);
}
