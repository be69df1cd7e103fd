//! Deleting an account while one of its digests is on its way: the digest's delivery
//! still ends with a complete audit record in S3.

use std::sync::Arc;
use std::time::Duration;

use quotidian::clients::mailer::{MailError, Mailer, OutgoingEmail, SesMailer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::helpers::*;

/// Sends account emails straight away; holds each digest inside the SES call until the
/// test releases it, and says when one has arrived there.
struct HeldMailer {
    inner: SesMailer,
    arrived: Semaphore,
    release: Semaphore,
}

#[async_trait::async_trait]
impl Mailer for HeldMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        if email.headers.is_empty() {
            return self.inner.send(email).await;
        }
        self.arrived.add_permits(1);
        self.release.acquire().await.expect("open").forget();
        self.inner.send(email).await
    }
}

async fn user_id(app: &TestApp, email: &str) -> Uuid {
    sqlx::query_scalar("select id from users where email = $1")
        .bind(email)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// A confirmed, logged-in person with a watchlist, due right now.
async fn due_subscriber(app: &TestApp) -> (String, Uuid) {
    let email = app.confirmed_user().await;
    let r = app
        .post(&app.api, "/api/v1/watchlist", json!({"symbol": "AAPL"}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let user = user_id(app, &email).await;
    sqlx::query(
        "update preferences set time_zone = 'UTC', days = 'every_day',
             send_time = (now() at time zone 'UTC')::time, next_send_at = now() - interval '1 second'
         where user_id = $1",
    )
    .bind(user)
    .execute(&app.db)
    .await
    .unwrap();
    (email, user)
}

async fn delete_account(app: &TestApp) {
    let r = app
        .api
        .delete(app.url("/api/v1/me"))
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

/// Waits until the delivery record of `job_id` is in S3 and returns it.
async fn delivery_record_in_s3(app: &TestApp, job_id: i64) -> Value {
    let key: String = eventually(Duration::from_secs(20), async || {
        sqlx::query_scalar(
            "select key from audit_outbox
             where kind = 'delivery' and (body->>'job_id')::bigint = $1 and written_at is not null",
        )
        .bind(job_id)
        .fetch_optional(&app.db)
        .await
        .unwrap()
        .ok_or_else(|| format!("the delivery record of job {job_id} never reached S3"))
    })
    .await;
    let bytes = test_audit_store()
        .await
        .get(&key)
        .await
        .unwrap()
        .expect("the record is in S3");
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn deleting_the_account_during_the_ses_call_still_leaves_a_complete_audit_record() {
    let mailer = Arc::new(HeldMailer {
        inner: SesMailer::from_env(None).await,
        arrived: Semaphore::new(0),
        release: Semaphore::new(0),
    });
    let app = TestApp::builder().with_mailer(mailer.clone()).spawn().await;
    let (email, user) = due_subscriber(&app).await;

    // The digest is inside the SES call (its job is `sending`) ...
    tokio::time::timeout(Duration::from_secs(20), mailer.arrived.acquire())
        .await
        .expect("the digest reached the mailer")
        .unwrap()
        .forget();
    let (job_id, local_date, run_id, status): (i64, chrono::NaiveDate, Option<i64>, String) =
        sqlx::query_as("select id, local_date, run_id, status from digest_jobs where user_id = $1")
            .bind(user)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(status, "sending");

    // ... when the person deletes their account; then SES accepts the digest.
    delete_account(&app).await;
    let jobs_left: i64 = sqlx::query_scalar("select count(*) from digest_jobs where user_id = $1")
        .bind(user)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(jobs_left, 0, "the account's data is gone");
    mailer.release.add_permits(1);

    let record = delivery_record_in_s3(&app, job_id).await;
    assert_eq!(record["outcome"], "sent", "{record}");
    assert_eq!(record["user_id"], user.to_string());
    assert_eq!(record["local_date"], local_date.to_string());
    assert_eq!(record["run_id"], json!(run_id));
    assert_eq!(record["trigger"], "schedule");
    assert_eq!(record["attempts"], 1);
    assert!(record["reason"].is_null(), "{record}");
    for field in ["due_at", "queued_at", "sent_at", "finished_at"] {
        assert!(record[field].is_string(), "{field} missing: {record}");
    }
    assert!(
        record["content_hash"]
            .as_str()
            .is_some_and(|h| h.starts_with("sha256:")),
        "{record}"
    );
    // The record names the message SES accepted.
    let sent = emails_to(&email).await;
    let digest = sent
        .iter()
        .find(|m| {
            m["headers"].as_array().is_some_and(|h| {
                h.iter()
                    .any(|h| h["name"].as_str() == Some("List-Unsubscribe"))
            })
        })
        .expect("the digest reached SES");
    assert_eq!(record["ses_message_id"], digest["messageId"], "{record}");
    // Exactly one record for that delivery.
    let records: i64 = sqlx::query_scalar(
        "select count(*) from audit_outbox where kind = 'delivery' and (body->>'job_id')::bigint = $1",
    )
    .bind(job_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(records, 1);
}

#[tokio::test]
async fn deleting_the_account_records_the_digests_it_leaves_unfinished() {
    let app = TestApp::builder()
        .with_config(|c| c.digests.workers = false)
        .spawn()
        .await;
    let email = app.confirmed_user().await;
    let user = user_id(&app, &email).await;
    // Three digests under way as deletion finds them: one queued, one whose worker died
    // inside the SES call long ago, one inside the SES call right now.
    let mut ids = Vec::new();
    for (days_ago, status, lease) in [
        (0, "pending", None),
        (1, "sending", Some("-1 minute")),
        (2, "sending", Some("10 minutes")),
    ] {
        let id: i64 = sqlx::query_scalar(
            "insert into digest_jobs (user_id, local_date, trigger, due_at, status, attempts, lease_until)
             values ($1, current_date - $2::int, 'schedule', now(), $3,
                     case when $3 = 'pending' then 0 else 1 end, now() + $4::interval)
             returning id",
        )
        .bind(user)
        .bind(days_ago)
        .bind(status)
        .bind(lease)
        .fetch_one(&app.db)
        .await
        .unwrap();
        ids.push(id);
    }
    delete_account(&app).await;

    let record_of = |id: i64| {
        let db = app.db.clone();
        async move {
            let (body, due): (Value, bool) = sqlx::query_as(
                "select body, next_attempt_at <= now() from audit_outbox
                 where kind = 'delivery' and (body->>'job_id')::bigint = $1",
            )
            .bind(id)
            .fetch_one(&db)
            .await
            .unwrap_or_else(|e| panic!("no delivery record for job {id}: {e}"));
            (body, due)
        }
    };
    let (queued, due) = record_of(ids[0]).await;
    assert_eq!(queued["outcome"], "skipped", "{queued}");
    assert!(queued["reason"].as_str().unwrap().contains("deleted"));
    assert_eq!(queued["user_id"], user.to_string());
    assert!(due);

    let (dead, due) = record_of(ids[1]).await;
    assert_eq!(dead["outcome"], "failed", "{dead}");
    assert!(dead["reason"].as_str().unwrap().contains("outcome unknown"));
    assert!(due);

    // The live send's worker reports its outcome into this record; should it never
    // report, the record is put to S3 once its lease is over, as "outcome unknown".
    let (live, due) = record_of(ids[2]).await;
    assert_eq!(live["outcome"], "failed", "{live}");
    assert!(live["reason"].as_str().unwrap().contains("outcome unknown"));
    assert_eq!(live["attempts"], 1);
    assert!(!due, "held back until the worker's lease is over");
}
