//! Settling "outcome unknown" from SES's own events (ADR 0006): each digest attempt
//! gives SES a send token as a message tag, and the signed SES events SNS posts to
//! `/webhooks/ses` carry it back. The SES emulator does not publish events, so the
//! tests post them as SNS would, signed with the test key, for the messages the
//! emulator really accepted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quotidian::clients::mailer::{MailError, Mailer, OutgoingEmail, SesMailer};
use serde_json::Value;
use uuid::Uuid;

use crate::delivery::{digests_to, job_of, make_due, subscriber, wait_for_final};
use crate::helpers::*;
use crate::sns::Sns;
use crate::sns_signer::ses_event;

/// SES that takes every digest and then fails to answer (a 500 after accepting): the
/// worker cannot know the message went. Account emails go straight through.
struct AcceptsThenFails {
    inner: SesMailer,
    calls: AtomicUsize,
    /// (recipient, send token tag, SES message id) of each digest SES took.
    taken: Mutex<Vec<(String, String, String)>>,
}

impl AcceptsThenFails {
    async fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: SesMailer::from_env(None).await,
            calls: AtomicUsize::new(0),
            taken: Mutex::default(),
        })
    }

    fn last(&self) -> (String, String, String) {
        self.taken
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a digest was sent")
    }
}

#[async_trait::async_trait]
impl Mailer for AcceptsThenFails {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        if email.tags.is_empty() {
            return self.inner.send(email).await;
        }
        self.calls.fetch_add(1, Ordering::SeqCst);
        let id = self.inner.send(email).await?;
        let token = email
            .tags
            .iter()
            .find(|(name, _)| name == "quotidian-send")
            .map(|(_, value)| value.clone())
            .expect("a digest carries its send token");
        self.taken
            .lock()
            .unwrap()
            .push((email.to.clone(), token, id));
        Err(MailError::Unknown("InternalFailure: HTTP 500".into()))
    }
}

async fn receipt(sns: &Sns, event: &Value) -> String {
    let r = sns.post(&sns.notification(event, "2")).await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    body["outcome"].as_str().unwrap().to_owned()
}

/// A person whose digest SES accepted without the worker learning it.
async fn unknown_digest(sns: &Sns) -> (String, Uuid, Value) {
    let (email, user) = subscriber(&sns.app).await;
    make_due(&sns.app, user).await;
    let job = wait_for_final(&sns.app, user).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["outcome_unknown"], true, "{job}");
    (email, user, job)
}

async fn records(app: &TestApp, kind: &str, job_id: i64) -> Vec<Value> {
    sqlx::query_scalar(
        "select body from audit_outbox where kind = $1 and (body->>'job_id')::bigint = $2 order by id",
    )
    .bind(kind)
    .bind(job_id)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_send_event_settles_an_unknown_outcome_as_sent_and_nothing_is_sent_again() {
    let mailer = AcceptsThenFails::new().await;
    let sns = Sns::start_with_mailer(|_| {}, mailer.clone()).await;
    let (email, user, job) = unknown_digest(&sns).await;
    let (to, token, ses_id) = mailer.last();
    assert_eq!(to, email);
    assert!(
        job["last_error"]
            .as_str()
            .unwrap()
            .contains("outcome unknown"),
        "{job}"
    );

    let send = ses_event("Send", &ses_id, &email, &[("quotidian-send", &token)]);
    assert_eq!(receipt(&sns, &send).await, "reconciled");
    let job = job_of(&sns.app, user).await;
    assert_eq!(job["status"], "sent", "{job}");
    assert_eq!(job["ses_message_id"], ses_id.as_str());
    assert_eq!(job["outcome_unknown"], false);
    assert!(job["reconciled_at"].is_string(), "{job}");
    assert!(job["last_error"].is_null(), "{job}");
    assert!(
        job["evidence"].as_str().unwrap().contains("Send at"),
        "{job}"
    );

    // The delivery record stays as written; a reconciliation record says what SES's
    // events proved, and reaches S3.
    let id = job["id"].as_i64().unwrap();
    let delivery = records(&sns.app, "delivery", id).await;
    assert_eq!(delivery.len(), 1);
    assert_eq!(delivery[0]["outcome"], "failed");
    let settled = records(&sns.app, "reconciliation", id).await;
    assert_eq!(settled.len(), 1, "{settled:?}");
    assert_eq!(settled[0]["outcome"], "sent");
    assert_eq!(settled[0]["ses_message_id"], ses_id.as_str());
    assert!(
        settled[0]["previous_outcome"]
            .as_str()
            .unwrap()
            .starts_with("outcome unknown"),
        "{}",
        settled[0]
    );
    assert_eq!(settled[0]["events"][0]["event_type"], "Send");
    crate::delivery::wait_for_audit(&sns.app).await;

    // SNS delivering the same message again changes nothing; a later Delivery is kept.
    let again = sns.notification(&send, "2");
    for _ in 0..2 {
        let r = sns.post(&again).await;
        assert_eq!(r.status(), reqwest::StatusCode::OK);
    }
    let delivered = ses_event("Delivery", &ses_id, &email, &[("quotidian-send", &token)]);
    assert_eq!(receipt(&sns, &delivered).await, "recorded");
    assert_eq!(records(&sns.app, "reconciliation", id).await.len(), 1);

    // Settling recorded SES's message id, so a bounce of that message now suppresses
    // the address as it would for any digest SES answered for.
    let bounce = ses_event("Bounce", &ses_id, &email, &[("quotidian-send", &token)]);
    assert_eq!(receipt(&sns, &bounce).await, "suppressed");
    assert_eq!(sns.suppressed().await.len(), 1);

    // One SES call, one email: settling never sends.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mailer.calls.load(Ordering::SeqCst), 1);
    assert_eq!(digests_to(&email).await, 1);
    assert_eq!(job_of(&sns.app, user).await["status"], "sent");
}

#[tokio::test]
async fn a_reject_event_keeps_the_digest_failed_with_ses_reason() {
    let mailer = AcceptsThenFails::new().await;
    let sns = Sns::start_with_mailer(|_| {}, mailer.clone()).await;
    let (email, user, _) = unknown_digest(&sns).await;
    let (_, token, ses_id) = mailer.last();
    let tags = [("quotidian-send", token.as_str())];

    // SES reports the send first and then the rejection; the rejection decides.
    assert_eq!(
        receipt(&sns, &ses_event("Send", &ses_id, &email, &tags)).await,
        "reconciled"
    );
    assert_eq!(job_of(&sns.app, user).await["status"], "sent");
    assert_eq!(
        receipt(&sns, &ses_event("Reject", &ses_id, &email, &tags)).await,
        "reconciled"
    );
    let job = job_of(&sns.app, user).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["outcome_unknown"], false);
    let reason = job["last_error"].as_str().unwrap();
    assert!(
        reason.contains("Reject") && reason.contains("Bad content"),
        "{reason}"
    );
    let settled = records(&sns.app, "reconciliation", job["id"].as_i64().unwrap()).await;
    assert_eq!(settled.len(), 2);
    assert_eq!(settled[1]["previous_outcome"], "sent");
    assert_eq!(settled[1]["outcome"], "failed");
}

#[tokio::test]
async fn events_not_about_our_send_change_nothing() {
    let mailer = AcceptsThenFails::new().await;
    let sns = Sns::start_with_mailer(|_| {}, mailer.clone()).await;
    let (email, user, _) = unknown_digest(&sns).await;
    let (_, token, ses_id) = mailer.last();
    let stranger = Uuid::new_v4().to_string();
    for event in [
        // A token no send of ours has.
        ses_event("Send", &ses_id, &email, &[("quotidian-send", &stranger)]),
        // Not a token at all.
        ses_event("Send", &ses_id, &email, &[("quotidian-send", "guess")]),
        // Our token, but a message to somebody else.
        ses_event(
            "Send",
            &ses_id,
            "mallory@example.net",
            &[("quotidian-send", &token)],
        ),
        // No token: another sender's mail on a shared configuration set.
        ses_event("Send", &ses_id, &email, &[]),
    ] {
        assert_eq!(receipt(&sns, &event).await, "ignored", "{event}");
    }
    let job = job_of(&sns.app, user).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["outcome_unknown"], true);
    let kept: i64 = sqlx::query_scalar("select count(*) from ses_send_events")
        .fetch_one(&sns.app.db)
        .await
        .unwrap();
    assert_eq!(kept, 0, "nothing is kept from events that are not ours");
}

/// A job as a worker killed inside the SES call leaves it: `sending`, lease running.
async fn sending_job(app: &TestApp, user: Uuid, email: &str, token: Uuid, status: &str) -> i64 {
    sqlx::query_scalar(
        "insert into digest_jobs (user_id, local_date, trigger, due_at, status, attempts, lease_until,
                                  recipient, subject, send_token)
         values ($1, current_date, 'schedule', now(), $2, 1, now() + interval '1 hour', $3, 'Your digest', $4)
         returning id",
    )
    .bind(user)
    .bind(status)
    .bind(email)
    .bind(token)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_event_during_the_send_settles_the_digest_the_moment_its_worker_is_declared_dead() {
    let sns =
        Sns::start_with_mailer(|c| c.digests.workers = false, AcceptsThenFails::new().await).await;
    let app = &sns.app;
    let email = app.confirmed_user().await;
    let user = crate::delivery::user_id(app, &email).await;
    let token = Uuid::new_v4();
    let id = sending_job(app, user, &email, token, "sending").await;

    // SES's event arrives while the job is still in the (dead) worker's hands.
    let tags = [("quotidian-send", token.to_string())];
    let tags: Vec<(&str, &str)> = tags.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let event = ses_event("Send", "0100019a-accepted", &email, &tags);
    assert_eq!(receipt(&sns, &event).await, "recorded");
    assert_eq!(job_of(app, user).await["status"], "sending");

    // The lease runs out; recovery declares the outcome unknown and, in the same
    // transaction, settles it from the event already there.
    sqlx::query("update digest_jobs set lease_until = now() - interval '1 second' where id = $1")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();
    use quotidian::services::digest::delivery;
    let report = delivery::deliver_batch(&app.state, 10, &delivery::Quiet)
        .await
        .unwrap();
    assert_eq!(report.recovered, 1, "{report:?}");
    let job = job_of(app, user).await;
    assert_eq!(job["status"], "sent", "{job}");
    assert_eq!(job["ses_message_id"], "0100019a-accepted");
    assert_eq!(job["outcome_unknown"], false);
    assert_eq!(records(app, "delivery", id).await[0]["outcome"], "failed");
    assert_eq!(
        records(app, "reconciliation", id).await[0]["outcome"],
        "sent"
    );
}

#[tokio::test]
async fn an_attempt_taken_as_refused_but_accepted_by_ses_is_not_made_again() {
    let sns =
        Sns::start_with_mailer(|c| c.digests.workers = false, AcceptsThenFails::new().await).await;
    let app = &sns.app;
    let email = app.confirmed_user().await;
    let user = crate::delivery::user_id(app, &email).await;
    let token = Uuid::new_v4();
    // Attempt 1 was answered as throttled and queued again; SES says it took it.
    let id = sending_job(app, user, &email, token, "pending").await;
    let token = token.to_string();
    let event = ses_event(
        "Send",
        "0100019a-late",
        &email,
        &[("quotidian-send", &token)],
    );
    assert_eq!(receipt(&sns, &event).await, "reconciled");
    let job = job_of(app, user).await;
    assert_eq!(job["status"], "sent", "{job}");
    use quotidian::services::digest::delivery;
    let report = delivery::deliver_batch(&app.state, 10, &delivery::Quiet)
        .await
        .unwrap();
    assert_eq!(report.claimed, 0, "{report:?}");
    assert_eq!(digests_to(&email).await, 0);
    assert_eq!(records(app, "reconciliation", id).await.len(), 1);
}
