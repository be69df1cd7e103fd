//! Digest delivery end to end: the scheduler, the delivery worker, SES (the emulator,
//! or a mailer that fails on purpose), the audit outbox and S3 (the emulator, or a
//! store that is down on purpose), unsubscribe, history and "send now".

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use quotidian::clients::audit::{AuditError, AuditStore, PutOutcome};
use quotidian::clients::mailer::{MailError, Mailer, OutgoingEmail, SesMailer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

pub(crate) async fn user_id(app: &TestApp, email: &str) -> Uuid {
    sqlx::query_scalar("select id from users where email = $1")
        .bind(email)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// A confirmed, logged-in person with a watchlist and an every-day schedule.
pub(crate) async fn subscriber(app: &TestApp) -> (String, Uuid) {
    let email = app.confirmed_user().await;
    for s in ["AAPL", "MSFT"] {
        let r = app
            .post(&app.api, "/api/v1/watchlist", json!({"symbol": s}))
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let r = app
        .api
        .patch(app.url("/api/v1/preferences"))
        .json(&json!({"time_zone": "UTC", "days": "every_day", "send_time": "00:00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let id = user_id(app, &email).await;
    (email, id)
}

/// Makes the person due right now (as if their send time had just arrived).
pub(crate) async fn make_due(app: &TestApp, user: Uuid) {
    sqlx::query(
        "update preferences set send_time = (now() at time zone 'UTC')::time, next_send_at = now() - interval '1 second'
         where user_id = $1",
    )
    .bind(user)
    .execute(&app.db)
    .await
    .unwrap();
}

pub(crate) async fn job_of(app: &TestApp, user: Uuid) -> Value {
    sqlx::query_scalar(
        "select to_jsonb(j) - 'html_body' - 'text_body' from digest_jobs j where user_id = $1 order by id",
    )
    .bind(user)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

/// Waits until the person's digest job has a final status.
pub(crate) async fn wait_for_final(app: &TestApp, user: Uuid) -> Value {
    eventually(Duration::from_secs(20), async || {
        let status: Option<String> = sqlx::query_scalar(
            "select status from digest_jobs where user_id = $1 and status in ('sent', 'failed', 'skipped', 'missed')
             order by id desc limit 1",
        )
        .bind(user)
        .fetch_optional(&app.db)
        .await
        .unwrap();
        status.ok_or("the digest never finished")
    })
    .await;
    job_of(app, user).await
}

/// Waits until every audit record is in S3; returns their keys.
pub(crate) async fn wait_for_audit(app: &TestApp) -> Vec<String> {
    eventually(Duration::from_secs(20), async || {
        let pending: i64 =
            sqlx::query_scalar("select count(*) from audit_outbox where written_at is null")
                .fetch_one(&app.db)
                .await
                .unwrap();
        if pending == 0 {
            Ok(())
        } else {
            Err(format!("{pending} audit records never reached S3"))
        }
    })
    .await;
    sqlx::query_scalar("select key from audit_outbox order by id")
        .fetch_all(&app.db)
        .await
        .unwrap()
}

/// Waits (up to 10 s) for a digest to `to` at the SES emulator.
async fn wait_for_digest(to: &str) -> Value {
    eventually(Duration::from_secs(10), async || {
        emails_to(to)
            .await
            .into_iter()
            .rev()
            .find(is_digest)
            .ok_or_else(|| format!("no digest reached {to}"))
    })
    .await
}

/// Digests carry the unsubscribe headers; account emails do not.
fn is_digest(email: &Value) -> bool {
    header(email, "List-Unsubscribe").is_some()
}

/// How many digests reached `to` at the SES emulator.
pub(crate) async fn digests_to(to: &str) -> usize {
    emails_to(to).await.iter().filter(|m| is_digest(m)).count()
}

/// The S3 key of a job's delivery record.
async fn delivery_key_of(app: &TestApp, job: &Value) -> String {
    let key: String = sqlx::query_scalar(
        "select key from audit_outbox where kind = 'delivery' and (body->>'job_id')::bigint = $1",
    )
    .bind(job["id"].as_i64().unwrap())
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(key.starts_with(&format!(
        "deliveries/{}/",
        job["local_date"].as_str().unwrap()
    )));
    key
}

fn header(email: &Value, name: &str) -> Option<String> {
    email["headers"].as_array()?.iter().find_map(|h| {
        h["name"]
            .as_str()?
            .eq_ignore_ascii_case(name)
            .then(|| h["value"].as_str().unwrap().to_owned())
    })
}

#[tokio::test]
async fn a_due_person_gets_one_digest_with_unsubscribe_headers_and_an_audit_record() {
    let app = spawn_app().await;
    let (email, user) = subscriber(&app).await;
    make_due(&app, user).await;

    let job = wait_for_final(&app, user).await;
    assert_eq!(job["status"], "sent", "{job}");
    let mail = wait_for_digest(&email).await;
    assert_eq!(mail["messageId"], job["ses_message_id"]);
    assert!(mail["body"]["html"].as_str().unwrap().contains("AAPL"));
    assert!(mail["body"]["text"].as_str().unwrap().contains("MSFT"));
    // RFC 8058 one-click unsubscribe, pointing at our signed link.
    let unsubscribe = header(&mail, "List-Unsubscribe").expect("List-Unsubscribe");
    assert!(
        unsubscribe.starts_with(&format!("<{}/unsubscribe?token=v1.", app.address)),
        "{unsubscribe}"
    );
    assert_eq!(
        header(&mail, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    // The same link is visible in both parts.
    let link = unsubscribe.trim_matches(['<', '>']);
    assert!(mail["body"]["text"].as_str().unwrap().contains(link));

    // The delivery record reaches S3, once, and says what was sent.
    let keys = wait_for_audit(&app).await;
    let key = delivery_key_of(&app, &job).await;
    assert!(keys.contains(&key), "{keys:?}");
    assert!(keys.iter().any(|k| k.starts_with("runs/")), "{keys:?}");
    let store = test_audit_store().await;
    let record: Value =
        serde_json::from_slice(&store.get(&key).await.unwrap().expect("in S3")).unwrap();
    assert_eq!(record["outcome"], "sent");
    assert_eq!(record["user_id"], user.to_string());
    assert_eq!(record["ses_message_id"], job["ses_message_id"]);
    assert_eq!(record["content_hash"], job["content_hash"]);
    assert!(
        record["content_hash"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    // Due again on the same day (say the schedule was edited back): still one digest.
    make_due(&app, user).await;
    // A check that nothing more happens: a fixed wait (several scheduler and worker
    // ticks), since `eventually` can only wait for something that does.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(digests_to(&email).await, 1, "one digest a day");
    let jobs: i64 = sqlx::query_scalar("select count(*) from digest_jobs where user_id = $1")
        .bind(user)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(jobs, 1);
}

#[tokio::test]
async fn unsubscribing_by_link_needs_no_login_and_stops_the_digest() {
    let app = spawn_app().await;
    let (email, user) = subscriber(&app).await;
    make_due(&app, user).await;
    wait_for_final(&app, user).await;
    let mail = wait_for_digest(&email).await;
    let link = header(&mail, "List-Unsubscribe").unwrap();
    let link = link.trim_matches(['<', '>']).to_owned();
    let anonymous = new_client();

    // GET only shows a confirmation: link scanners change nothing.
    let page = anonymous.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<form method=\"post\""), "{html}");
    let paused: bool = sqlx::query_scalar("select paused from preferences where user_id = $1")
        .bind(user)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(!paused);

    // RFC 8058 one-click POST.
    let r = anonymous
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (paused, next, when): (
        bool,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    ) = sqlx::query_as(
        "select paused, next_send_at, unsubscribed_at from preferences where user_id = $1",
    )
    .bind(user)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(paused && next.is_none() && when.is_some());
    // Idempotent.
    assert_eq!(
        anonymous.post(&link).send().await.unwrap().status(),
        StatusCode::OK
    );

    // A forged or mangled token is refused and changes nothing.
    let token = token_of(&link);
    let forged = format!("{}A", &token[..token.len() - 1]);
    let forged = if forged == token {
        format!("{}B", &token[..token.len() - 1])
    } else {
        forged
    };
    for bad in [
        app.url(&format!("/unsubscribe?token={forged}")),
        app.url("/unsubscribe?token=v1.AAAAAAAAAAAAAAAAAAAAAA.AAAA"),
        app.url("/unsubscribe"),
    ] {
        assert_eq!(
            anonymous.get(&bad).send().await.unwrap().status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            anonymous.post(&bad).send().await.unwrap().status(),
            StatusCode::BAD_REQUEST
        );
    }
    let r = app
        .post(&anonymous, "/api/v1/unsubscribe", json!({"token": forged}))
        .await;
    assert_problem(r, StatusCode::BAD_REQUEST, "invalid-token").await;
    let r = app
        .post(&anonymous, "/api/v1/unsubscribe", json!({"token": token}))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // Resuming is subscribing again: the next scheduled digest is sent.
    let r = app
        .api
        .patch(app.url("/api/v1/preferences"))
        .json(&json!({"paused": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    sqlx::query("delete from digest_jobs where user_id = $1")
        .bind(user)
        .execute(&app.db)
        .await
        .unwrap();
    make_due(&app, user).await;
    let job = wait_for_final(&app, user).await;
    assert_eq!(job["status"], "sent", "{job}");
}

#[tokio::test]
async fn send_now_keeps_one_digest_a_day_and_history_shows_it_as_sent() {
    let app = spawn_app().await;
    let (email, user) = subscriber(&app).await;
    let r = app
        .post(&app.api, "/api/v1/digests/send-now", json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let queued: Value = r.json().await.unwrap();
    let job = wait_for_final(&app, user).await;
    assert_eq!(job["status"], "sent");
    assert_eq!(queued["id"], job["id"]);
    wait_for_digest(&email).await;

    // A second request the same day, and the schedule coming due, add nothing.
    let r = app
        .post(&app.api, "/api/v1/digests/send-now", json!({}))
        .await;
    assert_problem(r, StatusCode::CONFLICT, "already-exists").await;
    make_due(&app, user).await;
    // A check that nothing more happens: a fixed wait (several scheduler and worker
    // ticks), since `eventually` can only wait for something that does.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(digests_to(&email).await, 1);

    // History: the list, then the digest exactly as sent.
    let list: Value = app
        .api
        .get(app.url("/api/v1/digests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["digests"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["digests"][0]["status"], "sent");
    assert_eq!(list["digests"][0]["trigger"], "send_now");
    let id = list["digests"][0]["id"].as_i64().unwrap();
    let one: Value = app
        .api
        .get(app.url(&format!("/api/v1/digests/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mail = wait_for_digest(&email).await;
    assert_eq!(one["html"], mail["body"]["html"]);
    assert_eq!(one["text"], mail["body"]["text"]);
    assert_eq!(one["subject"], mail["subject"]);

    // Someone else cannot read it; bad input is a 4xx.
    let other = new_client();
    app.confirmed_user_with_client(&unique_email(), &other)
        .await;
    let r = other
        .get(app.url(&format!("/api/v1/digests/{id}")))
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::NOT_FOUND, "not-found").await;
    let r = app
        .api
        .get(app.url("/api/v1/digests?limit=0"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .api
        .get(app.url("/api/v1/digests/abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = new_client()
        .post(app.url("/api/v1/digests/send-now"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// Refuses the first `throttle` sends as SES throttling does, then sends for real;
/// or answers every send with an ambiguous failure.
struct ScriptedMailer {
    inner: SesMailer,
    throttle: usize,
    unknown: bool,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl Mailer for ScriptedMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        // Account emails (confirmation) go straight through; digests carry headers.
        if email.headers.is_empty() {
            return self.inner.send(email).await;
        }
        if self.unknown {
            return Err(MailError::Unknown("operation timed out".into()));
        }
        if n < self.throttle + 1 {
            return Err(MailError::Transient(
                "throttled: TooManyRequestsException: Maximum sending rate exceeded.".into(),
            ));
        }
        self.inner.send(email).await
    }
}

#[tokio::test]
async fn throttling_is_retried_and_still_delivers_exactly_once() {
    let mailer = Arc::new(ScriptedMailer {
        inner: SesMailer::from_env(None).await,
        throttle: 3,
        unknown: false,
        calls: AtomicUsize::new(0),
    });
    let app = TestApp::builder().with_mailer(mailer.clone()).spawn().await;
    let (email, user) = subscriber(&app).await;
    mailer.calls.store(0, Ordering::SeqCst);
    make_due(&app, user).await;
    let job = wait_for_final(&app, user).await;
    assert_eq!(job["status"], "sent", "{job}");
    assert!(job["attempts"].as_i64().unwrap() >= 4, "{job}");
    assert_eq!(digests_to(&email).await, 1);
}

#[tokio::test]
async fn an_ambiguous_ses_failure_is_recorded_and_never_sent_again() {
    let mailer = Arc::new(ScriptedMailer {
        inner: SesMailer::from_env(None).await,
        throttle: 0,
        unknown: true,
        calls: AtomicUsize::new(0),
    });
    let app = TestApp::builder().with_mailer(mailer.clone()).spawn().await;
    let (_, user) = subscriber(&app).await;
    let before = mailer.calls.load(Ordering::SeqCst);
    make_due(&app, user).await;
    let job = wait_for_final(&app, user).await;
    assert_eq!(job["status"], "failed");
    assert!(
        job["last_error"]
            .as_str()
            .unwrap()
            .contains("outcome unknown"),
        "{job}"
    );
    // A check that nothing more happens: a fixed wait (several scheduler and worker
    // ticks), since `eventually` can only wait for something that does.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        mailer.calls.load(Ordering::SeqCst) - before,
        1,
        "one SES call only"
    );
    // The failure is visible to operators and in the audit trail.
    let keys = wait_for_audit(&app).await;
    assert!(keys.iter().any(|k| k.starts_with("deliveries/")));
}

#[tokio::test]
async fn a_worker_that_died_mid_send_leaves_a_recorded_failure_and_one_that_died_before_leaves_a_retry()
 {
    let app = TestApp::builder()
        .with_config(|c| c.digests.workers = false)
        .spawn()
        .await;
    let (email_a, a) = subscriber(&app).await;
    let client_b = new_client();
    let email_b = unique_email();
    app.confirmed_user_with_client(&email_b, &client_b).await;
    let b = user_id(&app, &email_b).await;
    // Two jobs as a crashed worker leaves them: one in the SES call, one only claimed.
    for (user, status) in [(a, "sending"), (b, "claimed")] {
        sqlx::query(
            "insert into digest_jobs (user_id, local_date, trigger, due_at, status, attempts, lease_until)
             values ($1, current_date, 'schedule', now(), $2, 1, now() - interval '1 second')",
        )
        .bind(user)
        .bind(status)
        .execute(&app.db)
        .await
        .unwrap();
    }
    use quotidian::services::digest::delivery;
    let report = delivery::deliver_batch(&app.state, 10, &delivery::Quiet)
        .await
        .unwrap();
    assert_eq!(report.recovered, 2);
    assert_eq!(report.sent, 1, "the claimed-only job is sent: {report:?}");
    let job_a = job_of(&app, a).await;
    assert_eq!(job_a["status"], "failed");
    assert!(
        job_a["last_error"]
            .as_str()
            .unwrap()
            .contains("outcome unknown")
    );
    assert_eq!(job_of(&app, b).await["status"], "sent");
    wait_for_digest(&email_b).await;
    assert_eq!(digests_to(&email_a).await, 0);
    // Both outcomes are queued for the audit trail.
    let keys: Vec<String> =
        sqlx::query_scalar("select key from audit_outbox where kind = 'delivery'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
}

#[tokio::test]
async fn after_downtime_earlier_days_are_missed_and_today_is_sent_late() {
    let app = TestApp::builder()
        .with_config(|c| c.digests.workers = false)
        .spawn()
        .await;
    let (_, user) = subscriber(&app).await;
    // The send time passed an hour ago today (UTC); the last digest due was 3 days ago.
    let now = chrono::Utc::now();
    let due_today = now - chrono::Duration::hours(1);
    if due_today.date_naive() != now.date_naive() {
        return; // within an hour of UTC midnight: "today" has no past send time to test
    }
    sqlx::query("update preferences set send_time = $2, next_send_at = $3 where user_id = $1")
        .bind(user)
        .bind(due_today.time())
        .bind(due_today - chrono::Duration::days(3))
        .execute(&app.db)
        .await
        .unwrap();
    use quotidian::services::digest::schedule;
    let report =
        schedule::schedule_due(&app.state, quotidian::domain::DigestTrigger::Schedule, now)
            .await
            .unwrap();
    assert_eq!((report.due, report.queued, report.missed), (1, 1, 3));
    let rows: Vec<(chrono::NaiveDate, String)> = sqlx::query_as(
        "select local_date, status from digest_jobs where user_id = $1 order by local_date",
    )
    .bind(user)
    .fetch_all(&app.db)
    .await
    .unwrap();
    let statuses: Vec<&str> = rows.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(statuses, ["missed", "missed", "missed", "pending"]);
    assert_eq!(rows[3].0, now.date_naive());
    let next: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("select next_send_at from preferences where user_id = $1")
            .bind(user)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(next > now && next - now <= chrono::Duration::days(1));
    // Missed days have their audit records too.
    let missed_records: i64 = sqlx::query_scalar(
        "select count(*) from audit_outbox where kind = 'delivery' and body->>'outcome' = 'missed'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(missed_records, 3);
    // A second pass finds nobody due.
    let again = schedule::schedule_due(&app.state, quotidian::domain::DigestTrigger::Schedule, now)
        .await
        .unwrap();
    assert_eq!(again.due, 0);
}

/// An S3 that is down until told otherwise.
struct SwitchableStore {
    inner: Arc<dyn AuditStore>,
    down: AtomicBool,
    refused: AtomicUsize,
}

#[async_trait::async_trait]
impl AuditStore for SwitchableStore {
    async fn put_once(
        &self,
        key: &str,
        body: &[u8],
        content_type: &str,
    ) -> Result<PutOutcome, AuditError> {
        if self.down.load(Ordering::SeqCst) {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Err(AuditError::Transient(
                "ServiceUnavailable: S3 is down".into(),
            ));
        }
        self.inner.put_once(key, body, content_type).await
    }
}

#[tokio::test]
async fn an_s3_outage_delays_audit_records_and_loses_none() {
    let store = Arc::new(SwitchableStore {
        inner: test_audit_store().await,
        down: AtomicBool::new(true),
        refused: AtomicUsize::new(0),
    });
    let app = TestApp::builder().with_audit(store.clone()).spawn().await;
    let (email, user) = subscriber(&app).await;
    make_due(&app, user).await;
    let job = wait_for_final(&app, user).await;
    assert_eq!(job["status"], "sent", "delivery does not wait for S3");
    wait_for_digest(&email).await;
    // The records wait in the outbox with the reason, while puts keep failing.
    eventually(Duration::from_secs(10), async || {
        match store.refused.load(Ordering::SeqCst) {
            0 => Err("no put reached the store while it was down"),
            _ => Ok(()),
        }
    })
    .await;
    let (pending, error): (i64, Option<String>) = sqlx::query_as(
        "select count(*), max(last_error) from audit_outbox where written_at is null",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(pending >= 2, "the run and the delivery record wait");
    assert!(error.unwrap().contains("S3 is down"));

    // S3 returns; the flusher's backoff is seconds, so push it along.
    store.down.store(false, Ordering::SeqCst);
    sqlx::query("update audit_outbox set next_attempt_at = now()")
        .execute(&app.db)
        .await
        .unwrap();
    app.state.audit_wakeup.notify_waiters();
    let keys = wait_for_audit(&app).await;
    let key = delivery_key_of(&app, &job).await;
    assert!(keys.contains(&key));
    assert!(test_audit_store().await.get(&key).await.unwrap().is_some());
}

#[tokio::test]
async fn operators_see_digest_runs_with_counts_and_reasons() {
    let operator = format!("ops-{}@example.com", Uuid::new_v4().simple());
    let app = TestApp::builder()
        .with_config(|c| c.accounts.operator_emails = vec![operator.clone()])
        .spawn()
        .await;
    let (_, user) = subscriber(&app).await;
    make_due(&app, user).await;
    wait_for_final(&app, user).await;
    // Not an operator.
    let r = app
        .api
        .get(app.url("/api/v1/operator/digest-runs"))
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::FORBIDDEN, "forbidden").await;
    let ops = new_client();
    app.confirmed_user_with_client(&operator, &ops).await;
    let list: Value = ops
        .get(app.url("/api/v1/operator/digest-runs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run = list["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["sent"] == 1)
        .unwrap_or_else(|| panic!("{list}"))
        .clone();
    assert_eq!(run["trigger"], "schedule");
    assert!(run["due"].as_i64().unwrap() >= 1);
    let detail: Value = ops
        .get(app.url(&format!("/api/v1/operator/digest-runs/{}", run["id"])))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["id"], run["id"]);
    assert!(detail["problems"].as_array().unwrap().is_empty());
    let r = ops
        .get(app.url("/api/v1/operator/digest-runs/999999"))
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::NOT_FOUND, "not-found").await;
}

#[tokio::test]
async fn suppressed_addresses_are_skipped_with_a_reason() {
    let app = spawn_app().await;
    let (email, user) = subscriber(&app).await;
    // A permanent bounce reported through SES's SNS notifications.
    sqlx::query("insert into suppressed_addresses (email, reason) values ($1, 'bounce')")
        .bind(&email)
        .execute(&app.db)
        .await
        .unwrap();
    make_due(&app, user).await;
    let job = wait_for_final(&app, user).await;
    assert_eq!(job["status"], "skipped");
    assert!(
        job["last_error"]
            .as_str()
            .unwrap()
            .contains("suppressed after a bounce"),
        "{job}"
    );
    // A check that nothing more happens: a fixed wait (several scheduler and worker
    // ticks), since `eventually` can only wait for something that does.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(digests_to(&email).await, 0);
    // The skip is visible in the person's history with its reason.
    let list: Value = app
        .api
        .get(app.url("/api/v1/digests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["digests"][0]["status"], "skipped");
    assert!(list["digests"][0]["reason"].as_str().is_some());
}

/// A batch whose market-data refresh takes longer than its claim lease must keep its
/// claims: otherwise another worker takes the same jobs over, counting an attempt each
/// time, while this one still means to send them.
#[tokio::test]
async fn a_slow_market_data_refresh_does_not_lose_the_batch_its_claims() {
    use crate::finnhub_mock::FinnhubMock;
    use quotidian::repositories::digest_jobs;
    let mock = FinnhubMock::start().await;
    // Quotes take 7 s: far past the 4 s claim lease (twice QUOTIDIAN_DIGEST_LEASE_SECS).
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/api/v1/quote"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(json!({"c": 10.0, "d": 0.5, "dp": 5.0, "h": 10.5, "l": 9.5, "o": 9.6, "pc": 9.5, "t": 1_764_000_000}))
                .set_delay(Duration::from_secs(7)),
        )
        .with_priority(1)
        .mount(&mock.server)
        .await;
    let app = TestApp::builder()
        .with_config(|c| {
            mock.configure(c);
            c.digests.workers = false;
            c.digests.lease_secs = 2;
            c.finnhub.request_timeout = Duration::from_secs(20);
        })
        .spawn()
        .await;
    let email = app.confirmed_user().await;
    let user = user_id(&app, &email).await;
    sqlx::query("insert into watchlist_items (user_id, symbol) values ($1, 'AAPL')")
        .bind(user)
        .execute(&app.db)
        .await
        .unwrap();
    let batch = deliver_todays_digest(&app, user).await;
    // Another worker comes by after the claim lease would have run out.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let released = digest_jobs::release_expired_claims(&app.db).await.unwrap();
    let taken = digest_jobs::claim(&app.db, 10, 4.0).await.unwrap();
    assert_eq!(
        (released, taken.len()),
        (0, 0),
        "another worker took over a job whose batch was still refreshing"
    );
    let report = batch.await.unwrap().unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(job_of(&app, user).await["attempts"], 1);
}

/// Answers digests only after `delay`, as SES on a bad day or a worker on a loaded
/// machine does; account emails go straight through.
struct SlowMailer {
    inner: SesMailer,
    delay: Duration,
}

#[async_trait::async_trait]
impl Mailer for SlowMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        if !email.headers.is_empty() {
            tokio::time::sleep(self.delay).await;
        }
        self.inner.send(email).await
    }
}

/// A worker that is alive and still waiting on SES keeps its `sending` lease: another
/// worker's recovery must not declare the digest "outcome unknown" just because the
/// call outlasts QUOTIDIAN_DIGEST_LEASE_SECS (the worker would then find its digest
/// taken from it and the sent email would be recorded as failed).
#[tokio::test]
async fn a_slow_ses_call_keeps_its_sending_lease_while_its_worker_lives() {
    use quotidian::services::digest::delivery;
    let mailer = Arc::new(SlowMailer {
        inner: SesMailer::from_env(None).await,
        delay: Duration::from_secs(5),
    });
    let app = TestApp::builder()
        .with_mailer(mailer)
        .with_config(|c| {
            c.digests.workers = false;
            c.digests.lease_secs = 2;
        })
        .spawn()
        .await;
    let email = app.confirmed_user().await;
    let user = user_id(&app, &email).await;
    let batch = deliver_todays_digest(&app, user).await;
    // Another worker's recovery comes by after the 2 s sending lease would have run out.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let recovered = delivery::recover_expired(&app.state).await.unwrap();
    assert_eq!(
        recovered, 0,
        "recovery ended a digest whose worker was still waiting on SES"
    );
    let report = batch.await.unwrap().unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    let job = job_of(&app, user).await;
    assert_eq!(job["status"], "sent", "{job}");
    assert_eq!(job["outcome_unknown"], false, "{job}");
    assert_eq!(digests_to(&email).await, 1);
}

/// Queues `user`'s digest for today, due now, and starts a delivery batch for it (the
/// app's own workers are off), as one worker would.
async fn deliver_todays_digest(
    app: &TestApp,
    user: Uuid,
) -> tokio::task::JoinHandle<anyhow::Result<quotidian::services::digest::delivery::BatchReport>> {
    sqlx::query(
        "insert into digest_jobs (user_id, local_date, trigger, due_at) values ($1, current_date, 'schedule', now())",
    )
    .bind(user)
    .execute(&app.db)
    .await
    .unwrap();
    let state = app.state.clone();
    tokio::spawn(async move {
        quotidian::services::digest::delivery::deliver_batch(
            &state,
            10,
            &quotidian::services::digest::delivery::Quiet,
        )
        .await
    })
}
