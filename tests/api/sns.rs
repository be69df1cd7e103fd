//! `POST /webhooks/ses`: SES bounces and complaints through SNS, signed with a key and
//! self-signed certificate made here and served by wiremock under the configured
//! `QUOTIDIAN_SNS_CERT_URL_PREFIXES`, exactly as SNS serves its own.

use std::sync::Arc;

use chrono::{Duration, Utc};
use quotidian::clients::mailer::Mailer;
use quotidian::repositories::suppressions;
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;
use crate::sns_signer::{CERT_PATH, TOPIC, cert_pem, sign, sns_timestamp};

pub struct Sns {
    pub app: TestApp,
    /// Serves the certificate and the subscription confirmation URL.
    aws: MockServer,
}

impl Sns {
    /// The app as production must run it: accepting messages from our topic only.
    pub async fn start() -> Self {
        Self::start_with(|c| c.sns.topic_arns = vec![TOPIC.to_owned()]).await
    }

    /// With exactly `configure` besides the certificate prefix (no topic unless set).
    async fn start_with(configure: impl FnOnce(&mut Config)) -> Self {
        Self::start_full(configure, None).await
    }

    /// Accepting messages from our topic, configured by `configure`, with a mailer of
    /// the test's choosing.
    pub async fn start_with_mailer(
        configure: impl FnOnce(&mut Config),
        mailer: Arc<dyn Mailer>,
    ) -> Self {
        Self::start_full(
            |c| {
                c.sns.topic_arns = vec![TOPIC.to_owned()];
                configure(c);
            },
            Some(mailer),
        )
        .await
    }

    async fn start_full(
        configure: impl FnOnce(&mut Config),
        mailer: Option<Arc<dyn Mailer>>,
    ) -> Self {
        let aws = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(CERT_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_string(cert_pem()))
            .mount(&aws)
            .await;
        // As QUOTIDIAN_SNS_CERT_URL_PREFIXES normalises it: ending in `/`.
        let prefix = format!("{}/", aws.uri());
        let mut builder = TestApp::builder()
            .with_config(|c| c.sns.cert_url_prefixes = vec![prefix])
            .with_config(configure);
        if let Some(mailer) = mailer {
            builder = builder.with_mailer(mailer);
        }
        let app = builder.spawn().await;
        Self { app, aws }
    }

    fn cert_url(&self) -> String {
        format!("{}{CERT_PATH}", self.aws.uri())
    }

    /// A signed notification carrying `event` (an SES event) as its Message.
    pub fn notification(&self, event: &Value, version: &str) -> Value {
        crate::sns_signer::notification(&self.aws.uri(), event, version)
    }

    async fn post_raw(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.app
            .api
            .post(self.app.url("/webhooks/ses"))
            // What SNS sends, not application/json.
            .header("content-type", "text/plain; charset=UTF-8")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, m: &Value) -> reqwest::Response {
        self.post_raw(m.to_string()).await
    }

    /// Records a transactional email to `to` as sent by SES, the way the outbox worker
    /// does; returns its SES message id.
    async fn sent_email(&self, to: &str) -> String {
        let id = ses_message_id();
        sqlx::query(
            "insert into email_outbox (kind, recipient, subject, status, ses_message_id, sent_at)
             values ('account_exists', $1, 'A notice', 'sent', $2, now())",
        )
        .bind(to.to_lowercase())
        .bind(&id)
        .execute(&self.app.db)
        .await
        .unwrap();
        id
    }

    /// Records a digest to `to` as sent by SES, the way the delivery worker does;
    /// returns its SES message id.
    async fn sent_digest(&self, to: &str) -> String {
        let id = ses_message_id();
        sqlx::query(
            "with u as (
                 insert into users (email, password_hash) values ($1, 'not a hash') returning id
             )
             insert into digest_jobs (user_id, local_date, trigger, due_at, status, recipient,
                                      subject, ses_message_id, sent_at, finished_at)
             select u.id, current_date, 'schedule', now(), 'sent', $1, 'Your digest', $2, now(), now()
             from u",
        )
        .bind(to.to_lowercase())
        .bind(&id)
        .execute(&self.app.db)
        .await
        .unwrap();
        id
    }

    /// Requests wiremock received for `path`.
    async fn hits(&self, path: &str) -> usize {
        self.aws
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path() == path)
            .count()
    }

    pub async fn suppressed(&self) -> Vec<(String, String, Option<String>, Option<String>)> {
        sqlx::query_as(
            "select email, reason, detail, sns_message_id from suppressed_addresses order by email",
        )
        .fetch_all(&self.app.db)
        .await
        .unwrap()
    }
}

/// Shaped like the ids SES gives the messages it accepts.
fn ses_message_id() -> String {
    format!(
        "0100018c{}-000000",
        &uuid::Uuid::new_v4().simple().to_string()[..24]
    )
}

/// An SES bounce event for the message SES knows as `mail_id`.
fn bounce_event(bounce_type: &str, recipients: &[&str], publishing: bool, mail_id: &str) -> Value {
    let kind = if publishing {
        "eventType"
    } else {
        "notificationType"
    };
    json!({
        kind: "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": if bounce_type == "Permanent" { "General" } else { "MailboxFull" },
            "bouncedRecipients": recipients.iter().map(|r| json!({
                "emailAddress": r,
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown",
            })).collect::<Vec<_>>(),
            "timestamp": "2026-11-21T12:00:00.000Z",
            "feedbackId": "0100018c-feedback",
        },
        "mail": {
            "timestamp": "2026-11-21T11:59:58.000Z",
            "source": "digest@quotidian.test",
            "messageId": mail_id,
            "destination": recipients,
        },
    })
}

fn complaint_event(recipients: &[&str], publishing: bool, mail_id: &str) -> Value {
    let kind = if publishing {
        "eventType"
    } else {
        "notificationType"
    };
    json!({
        kind: "Complaint",
        "complaint": {
            "complainedRecipients": recipients.iter().map(|r| json!({"emailAddress": r})).collect::<Vec<_>>(),
            "complaintFeedbackType": "abuse",
            "timestamp": "2026-11-21T12:00:00.000Z",
            "feedbackId": "0100018c-feedback",
        },
        "mail": {"messageId": mail_id, "destination": recipients},
    })
}

async fn assert_receipt(response: reqwest::Response, outcome: &str, suppressed: u64) {
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["outcome"], outcome, "{body}");
    assert_eq!(body["suppressed"], suppressed, "{body}");
}

#[tokio::test]
async fn a_signed_permanent_bounce_suppresses_with_either_signature_version_and_format() {
    let sns = Sns::start().await;
    for (i, (version, publishing)) in [("1", true), ("2", true), ("1", false), ("2", false)]
        .into_iter()
        .enumerate()
    {
        let address = format!("Bounced.{i}@Example.com");
        let mail_id = if i % 2 == 0 {
            sns.sent_email(&address).await
        } else {
            sns.sent_digest(&address).await
        };
        let m = sns.notification(
            &bounce_event("Permanent", &[&address], publishing, &mail_id),
            version,
        );
        assert_receipt(sns.post(&m).await, "suppressed", 1).await;

        let stored = address.to_lowercase();
        assert!(
            suppressions::is_suppressed(&sns.app.db, &stored)
                .await
                .unwrap(),
            "SignatureVersion {version}, publishing format {publishing}"
        );
        assert_eq!(
            suppressions::reason_for(&sns.app.db, &stored)
                .await
                .unwrap(),
            Some(quotidian::domain::SuppressionReason::Bounce)
        );
    }
    let rows = sns.suppressed().await;
    assert_eq!(rows.len(), 4);
    let (email, reason, detail, message_id) = &rows[0];
    assert_eq!(email, "bounced.0@example.com");
    assert_eq!(reason, "bounce");
    assert_eq!(
        detail.as_deref(),
        Some("Permanent/General: smtp; 550 5.1.1 user unknown")
    );
    assert!(message_id.is_some());
    assert!(
        !suppressions::is_suppressed(&sns.app.db, "someone.else@example.com")
            .await
            .unwrap()
    );
    assert_eq!(
        suppressions::reason_for(&sns.app.db, "someone.else@example.com")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_complaint_suppresses_the_complaining_recipient() {
    let sns = Sns::start().await;
    for (address, publishing, version) in [
        ("ada@example.com", true, "2"),
        ("alan@example.com", false, "1"),
    ] {
        let mail_id = sns.sent_digest(address).await;
        let m = sns.notification(&complaint_event(&[address], publishing, &mail_id), version);
        assert_receipt(sns.post(&m).await, "suppressed", 1).await;
    }
    // SES may name the recipient with a display name.
    let mail_id = sns.sent_email("grace@example.com").await;
    let m = sns.notification(
        &complaint_event(&["Grace <grace@example.com>"], true, &mail_id),
        "2",
    );
    assert_receipt(sns.post(&m).await, "suppressed", 1).await;

    let rows = sns.suppressed().await;
    let emails: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        emails,
        ["ada@example.com", "alan@example.com", "grace@example.com"]
    );
    assert!(
        rows.iter()
            .all(|r| r.1 == "complaint" && r.2.as_deref() == Some("abuse"))
    );
}

#[tokio::test]
async fn a_transient_bounce_suppresses_nobody() {
    let sns = Sns::start().await;
    let mail_id = sns.sent_digest("full@example.com").await;
    for bounce_type in ["Transient", "Undetermined"] {
        let m = sns.notification(
            &bounce_event(bounce_type, &["full@example.com"], true, &mail_id),
            "2",
        );
        assert_receipt(sns.post(&m).await, "ignored", 0).await;
    }
    assert!(sns.suppressed().await.is_empty());
}

#[tokio::test]
async fn other_events_and_ses_test_messages_are_accepted_and_ignored() {
    let sns = Sns::start().await;
    let delivery = json!({"eventType": "Delivery", "mail": {"messageId": "m"}, "delivery": {"recipients": ["ada@example.com"]}});
    let m = sns.notification(&delivery, "2");
    assert_receipt(sns.post(&m).await, "ignored", 0).await;

    // SES publishes a plain-text message when a topic is attached to it.
    let mut m = sns.notification(&json!(null), "2");
    m["Message"] = "Successfully validated SNS topic for Amazon SES event publishing.".into();
    m["Subject"] = "Amazon SES Setup Notification".into();
    sign(&mut m);
    assert_receipt(sns.post(&m).await, "ignored", 0).await;
    assert!(sns.suppressed().await.is_empty());
}

#[tokio::test]
async fn the_same_notification_twice_is_harmless() {
    let sns = Sns::start().await;
    let mail_id = sns.sent_digest("twice@example.com").await;
    let m = sns.notification(
        &bounce_event("Permanent", &["twice@example.com"], true, &mail_id),
        "2",
    );
    assert_receipt(sns.post(&m).await, "suppressed", 1).await;
    assert_receipt(sns.post(&m).await, "suppressed", 1).await;
    assert_eq!(sns.suppressed().await.len(), 1);
}

#[tokio::test]
async fn a_message_changed_after_signing_is_refused_and_stores_nothing() {
    let sns = Sns::start().await;
    let mail_id = sns.sent_digest("ada@example.com").await;
    let victim_mail_id = sns.sent_digest("victim@example.com").await;
    for version in ["1", "2"] {
        let mut m = sns.notification(
            &bounce_event("Permanent", &["ada@example.com"], true, &mail_id),
            version,
        );
        m["Message"] = bounce_event("Permanent", &["victim@example.com"], true, &victim_mail_id)
            .to_string()
            .into();
        assert_problem(sns.post(&m).await, StatusCode::FORBIDDEN, "forbidden").await;

        // A Subject added after signing changes the signed string too.
        let mut m = sns.notification(
            &bounce_event("Permanent", &["ada@example.com"], true, &mail_id),
            version,
        );
        m["Subject"] = "added".into();
        assert_problem(sns.post(&m).await, StatusCode::FORBIDDEN, "forbidden").await;

        // A signature made for SHA1 does not pass as SHA256, nor the other way.
        let mut m = sns.notification(
            &bounce_event("Permanent", &["ada@example.com"], true, &mail_id),
            version,
        );
        m["SignatureVersion"] = if version == "1" { "2" } else { "1" }.into();
        assert_problem(sns.post(&m).await, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let mut m = sns.notification(
        &bounce_event("Permanent", &["ada@example.com"], true, &mail_id),
        "2",
    );
    m["SignatureVersion"] = "3".into();
    assert_problem(sns.post(&m).await, StatusCode::FORBIDDEN, "forbidden").await;
    m["SignatureVersion"] = "2".into();
    m["Signature"] = "bm90IGEgc2lnbmF0dXJl".into();
    assert_problem(sns.post(&m).await, StatusCode::FORBIDDEN, "forbidden").await;

    assert!(sns.suppressed().await.is_empty());
}

#[tokio::test]
async fn a_certificate_url_off_the_allowed_hosts_is_never_fetched() {
    let sns = Sns::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(cert_pem()))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let mail_id = sns.sent_digest("ada@example.com").await;
    let event = bounce_event("Permanent", &["ada@example.com"], true, &mail_id);
    for url in [
        format!("{}{CERT_PATH}", elsewhere.uri()),
        // Not an SNS host, and https is not enough.
        "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem".to_owned(),
        // An SNS host, but over plain http.
        "http://sns.us-east-1.amazonaws.com/cert.pem".to_owned(),
    ] {
        let mut m = sns.notification(&event, "2");
        m["SigningCertURL"] = url.clone().into();
        sign(&mut m);
        let problem = assert_problem(sns.post(&m).await, StatusCode::FORBIDDEN, "forbidden").await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("SigningCertURL"),
            "{url}: {problem}"
        );
    }
    assert!(sns.suppressed().await.is_empty());
    elsewhere.verify().await;
}

#[tokio::test]
async fn a_message_signed_more_than_an_hour_ago_is_refused() {
    let sns = Sns::start().await;
    let mail_id = sns.sent_digest("ada@example.com").await;
    let mut m = sns.notification(
        &bounce_event("Permanent", &["ada@example.com"], true, &mail_id),
        "2",
    );
    m["Timestamp"] = sns_timestamp(Utc::now() - Duration::minutes(61)).into();
    sign(&mut m);
    let problem = assert_problem(sns.post(&m).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("hour"),
        "{problem}"
    );

    // Fifty-nine minutes is still fine.
    m["Timestamp"] = sns_timestamp(Utc::now() - Duration::minutes(59)).into();
    sign(&mut m);
    assert_receipt(sns.post(&m).await, "suppressed", 1).await;
}

#[tokio::test]
async fn only_the_configured_topics_are_accepted_when_some_are() {
    let sns = Sns::start().await;
    let mail_id = sns.sent_digest("ada@example.com").await;
    let event = bounce_event("Permanent", &["ada@example.com"], true, &mail_id);
    let mut m = sns.notification(&event, "2");
    m["TopicArn"] = "arn:aws:sns:us-east-1:999999999999:someone-elses-topic".into();
    sign(&mut m);
    assert_problem(sns.post(&m).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert!(sns.suppressed().await.is_empty());

    let m = sns.notification(&event, "2");
    assert_receipt(sns.post(&m).await, "suppressed", 1).await;
}

#[tokio::test]
async fn the_signing_certificate_is_fetched_once() {
    let sns = Sns::start().await;
    for i in 0..3 {
        let address = format!("cached{i}@example.com");
        let mail_id = sns.sent_digest(&address).await;
        let m = sns.notification(&bounce_event("Permanent", &[&address], true, &mail_id), "2");
        assert_receipt(sns.post(&m).await, "suppressed", 1).await;
    }
    assert_eq!(sns.hits(CERT_PATH).await, 1);
}

#[tokio::test]
async fn a_signed_subscription_confirmation_visits_its_subscribe_url_once() {
    let sns = Sns::start().await;
    Mock::given(method("GET"))
        .and(path("/confirm"))
        .and(query_param("Action", "ConfirmSubscription"))
        .and(query_param("Token", "confirm-token-123"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<ConfirmSubscriptionResponse/>"))
        .expect(1)
        .mount(&sns.aws)
        .await;
    for version in ["1", "2"] {
        let mut m = json!({
            "Type": "SubscriptionConfirmation",
            "MessageId": uuid::Uuid::new_v4().to_string(),
            "Token": "confirm-token-123",
            "TopicArn": TOPIC,
            "Message": format!("You have chosen to subscribe to the topic {TOPIC}.\nTo confirm the subscription, visit the SubscribeURL included in this message."),
            "SubscribeURL": format!("{}/confirm?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=confirm-token-123", sns.aws.uri()),
            "Timestamp": sns_timestamp(Utc::now()),
            "SignatureVersion": version,
            "SigningCertURL": sns.cert_url(),
        });
        sign(&mut m);
        if version == "1" {
            // Forged first: a tampered confirmation visits nothing.
            let mut forged = m.clone();
            forged["Token"] = "other-token".into();
            assert_problem(sns.post(&forged).await, StatusCode::FORBIDDEN, "forbidden").await;
            assert_receipt(sns.post(&m).await, "subscription_confirmed", 0).await;
        } else {
            // A SubscribeURL off SNS is never visited, signed or not.
            m["SubscribeURL"] = "https://evil.example/confirm?Action=ConfirmSubscription".into();
            sign(&mut m);
            assert_problem(sns.post(&m).await, StatusCode::FORBIDDEN, "forbidden").await;
        }
    }
    sns.aws.verify().await;
}

#[tokio::test]
async fn a_malformed_body_is_a_problem_not_a_500() {
    let sns = Sns::start().await;
    for body in ["", "not json", "{", "{\"Type\": }"] {
        assert_problem(
            sns.post_raw(body).await,
            StatusCode::BAD_REQUEST,
            "malformed-request",
        )
        .await;
    }

    let complete = sns.notification(
        &bounce_event("Permanent", &["ada@example.com"], true, &ses_message_id()),
        "2",
    );
    for field in ["Signature", "TopicArn", "Message", "SigningCertURL"] {
        let mut m = complete.clone();
        m.as_object_mut().unwrap().remove(field);
        let problem = assert_problem(
            sns.post(&m).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let mut m = complete.clone();
    m["Type"] = "Gossip".into();
    assert_problem(
        sns.post(&m).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    let mut m = complete.clone();
    m["Timestamp"] = "last tuesday".into();
    assert_problem(
        sns.post(&m).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_problem(
        sns.post(&json!([1, 2])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;

    // Correctly signed, but the SES event inside lacks what a bounce needs.
    let m = sns.notification(&json!({"eventType": "Bounce", "mail": {}}), "2");
    assert_problem(
        sns.post(&m).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    let m = sns.notification(
        &json!({"eventType": "Bounce", "bounce": {"bounceType": "Permanent"}}),
        "2",
    );
    assert_problem(
        sns.post(&m).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;

    assert!(sns.suppressed().await.is_empty());
}

#[tokio::test]
async fn large_notifications_fit_and_oversized_bodies_are_a_413() {
    let sns = Sns::start().await;
    // Beyond the API's 64 KiB, as an SES event with its original headers can be.
    let mail_id = sns.sent_digest("large@example.com").await;
    let mut event = bounce_event("Permanent", &["large@example.com"], true, &mail_id);
    event["mail"]["headers"] = json!([{"name": "X-Padding", "value": "x".repeat(200 * 1024)}]);
    let m = sns.notification(&event, "2");
    assert_receipt(sns.post(&m).await, "suppressed", 1).await;

    assert_problem(
        sns.post_raw("x".repeat(600 * 1024)).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
    )
    .await;
}

// The attacks of issue 9: each test below performs one and failed before its fix.

/// A correctly signed confirmation of `topic`'s subscription, visiting `subscribe_url`.
fn confirmation(sns: &Sns, topic: &str, subscribe_url: &str) -> Value {
    let mut m = json!({
        "Type": "SubscriptionConfirmation",
        "MessageId": uuid::Uuid::new_v4().to_string(),
        "Token": "confirm-token-123",
        "TopicArn": topic,
        "Message": format!("You have chosen to subscribe to the topic {topic}."),
        "SubscribeURL": subscribe_url,
        "Timestamp": sns_timestamp(Utc::now()),
        "SignatureVersion": "2",
        "SigningCertURL": sns.cert_url(),
    });
    sign(&mut m);
    m
}

#[tokio::test]
async fn with_no_topic_configured_signed_messages_are_refused_and_nothing_is_followed() {
    // Anyone's AWS account can create a topic, subscribe us to it and publish
    // correctly signed messages: without a topic list there is nobody to trust.
    let sns = Sns::start_with(|_| {}).await;
    Mock::given(method("GET"))
        .and(path("/confirm"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<ConfirmSubscriptionResponse/>"))
        .expect(0)
        .mount(&sns.aws)
        .await;
    let someone_elses = "arn:aws:sns:us-east-1:999999999999:not-ours";
    let subscribe_url = format!(
        "{}/confirm?Action=ConfirmSubscription&TopicArn={someone_elses}&Token=confirm-token-123",
        sns.aws.uri()
    );
    let m = confirmation(&sns, someone_elses, &subscribe_url);
    let problem = assert_problem(sns.post(&m).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("topic"),
        "{problem}"
    );

    let mail_id = sns.sent_digest("victim@example.com").await;
    for topic in [someone_elses, TOPIC] {
        let mut m = sns.notification(
            &bounce_event("Permanent", &["victim@example.com"], true, &mail_id),
            "2",
        );
        m["TopicArn"] = topic.into();
        sign(&mut m);
        assert_problem(sns.post(&m).await, StatusCode::FORBIDDEN, "forbidden").await;
    }
    assert!(sns.suppressed().await.is_empty());
    // Refused before any fetch.
    assert_eq!(sns.hits(CERT_PATH).await, 0);
    sns.aws.verify().await;
}

#[tokio::test]
async fn a_bounce_suppresses_only_addresses_we_sent_that_message_to() {
    let sns = Sns::start().await;
    let to_ada = sns.sent_email("ada@example.com").await;
    let to_grace = sns.sent_digest("grace@example.com").await;

    // SES reports a message we have no record of sending, naming the victim.
    let unknown = ses_message_id();
    // A message we did send, but to somebody else; and one with no id at all.
    let mut no_id = bounce_event("Permanent", &["victim@example.com"], true, "x");
    no_id["mail"].as_object_mut().unwrap().remove("messageId");
    for event in [
        bounce_event("Permanent", &["victim@example.com"], true, &unknown),
        bounce_event("Permanent", &["victim@example.com"], false, &to_ada),
        complaint_event(&["victim@example.com"], true, &to_grace),
        // Our record says grace, not ada: ids and recipients go together.
        bounce_event("Permanent", &["ada@example.com"], true, &to_grace),
        no_id,
    ] {
        let m = sns.notification(&event, "2");
        assert_receipt(sns.post(&m).await, "ignored", 0).await;
    }
    assert!(sns.suppressed().await.is_empty());

    // A real recipient alongside a stranger: only the real one.
    let m = sns.notification(
        &complaint_event(
            &["Ada <ada@example.com>", "victim@example.com"],
            true,
            &to_ada,
        ),
        "2",
    );
    assert_receipt(sns.post(&m).await, "suppressed", 1).await;
    let emails: Vec<String> = sns.suppressed().await.into_iter().map(|r| r.0).collect();
    assert_eq!(emails, ["ada@example.com"]);
}

#[tokio::test]
async fn a_bounce_of_the_confirmation_email_we_sent_suppresses_its_address() {
    // End to end: the id is the one the SES emulator gave the outbox worker.
    let sns = Sns::start().await;
    let email = unique_email();
    assert_eq!(
        sns.app.signup(&email, PASSWORD).await.status(),
        StatusCode::ACCEPTED
    );
    wait_for_email(&email, "Confirm").await;
    let mail_id: String = eventually(std::time::Duration::from_secs(5), async || {
        sqlx::query_scalar(
            "select ses_message_id from email_outbox where recipient = $1 and status = 'sent'",
        )
        .bind(&email)
        .fetch_optional(&sns.app.db)
        .await
        .unwrap()
        .flatten()
        .ok_or("the outbox never recorded the SES message id")
    })
    .await;
    let m = sns.notification(&bounce_event("Permanent", &[&email], true, &mail_id), "1");
    assert_receipt(sns.post(&m).await, "suppressed", 1).await;
    assert!(
        suppressions::is_suppressed(&sns.app.db, &email)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn certificate_and_subscribe_urls_must_have_the_shape_of_sns_urls() {
    let sns = Sns::start().await;
    // Whatever is asked of the prefix host other than the certificate is a failure of
    // the rule; it would even serve the right certificate.
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(cert_pem()))
        .mount(&sns.aws)
        .await;
    let mail_id = sns.sent_digest("ada@example.com").await;
    let event = bounce_event("Permanent", &["ada@example.com"], true, &mail_id);
    let aws = sns.aws.uri();
    for url in [
        // An S3 bucket named "sns" answers at sns.s3.amazonaws.com: anyone can fill it.
        "https://sns.s3.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem".to_owned(),
        "https://sns.s3-website.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
            .to_owned(),
        "https://sns.evil.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem".to_owned(),
        "https://sns.us-east-1.amazonaws.com/cert.txt".to_owned(),
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.txt"
            .to_owned(),
        // Under the configured prefix the path rule still holds.
        format!("{aws}/cert.pem"),
        format!("{aws}/SimpleNotificationService-0123456789abcdef.txt"),
        format!("{aws}/SimpleNotificationService-not-hex.pem"),
        format!("{aws}/nested/SimpleNotificationService-0123456789abcdef.pem"),
        format!("{aws}{CERT_PATH}?download=1"),
    ] {
        let mut m = sns.notification(&event, "2");
        m["SigningCertURL"] = url.clone().into();
        sign(&mut m);
        let problem = assert_problem(sns.post(&m).await, StatusCode::FORBIDDEN, "forbidden").await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("SigningCertURL"),
            "{url}: {problem}"
        );
    }
    assert!(
        sns.aws.received_requests().await.unwrap().is_empty(),
        "nothing was fetched"
    );

    for subscribe_url in [
        format!(
            "https://sns.s3.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=t"
        ),
        format!(
            "https://sns.us-east-1.amazonaws.com/x?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=t"
        ),
        // Signed by SNS, but confirming somebody else's topic.
        format!(
            "{aws}/confirm?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:999999999999:other&Token=t"
        ),
        format!("{aws}/confirm?Action=Unsubscribe&TopicArn={TOPIC}&Token=t"),
    ] {
        let m = confirmation(&sns, TOPIC, &subscribe_url);
        let problem = assert_problem(sns.post(&m).await, StatusCode::FORBIDDEN, "forbidden").await;
        assert!(
            problem["detail"].as_str().unwrap().contains("SubscribeURL"),
            "{subscribe_url}: {problem}"
        );
    }
    let visited = sns
        .aws
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() != CERT_PATH)
        .count();
    assert_eq!(visited, 0);
    assert!(sns.suppressed().await.is_empty());
}

#[tokio::test]
async fn a_failing_certificate_url_is_not_fetched_again_for_every_forged_message() {
    let sns = Sns::start().await;
    let broken = "/SimpleNotificationService-deadbeefdeadbeefdeadbeefdeadbeef.pem";
    Mock::given(method("GET"))
        .and(path(broken))
        .respond_with(ResponseTemplate::new(500))
        .mount(&sns.aws)
        .await;
    // Nothing mounted here: wiremock answers 404.
    let missing = "/SimpleNotificationService-00000000000000000000000000000000.pem";
    let event = bounce_event("Permanent", &["ada@example.com"], true, &ses_message_id());
    for (cert_path, status, slug) in [
        (broken, StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        (missing, StatusCode::FORBIDDEN, "forbidden"),
    ] {
        let forged = || {
            let mut m = sns.notification(&event, "2");
            m["SigningCertURL"] = format!("{}{cert_path}", sns.aws.uri()).into();
            m
        };
        for _ in 0..5 {
            assert_problem(sns.post(&forged()).await, status, slug).await;
        }
        let sns = &sns;
        let at_once = futures_util::future::join_all((0..10).map(|_| {
            let m = forged();
            async move { sns.post(&m).await.status() }
        }))
        .await;
        assert!(at_once.iter().all(|s| *s == status), "{at_once:?}");
        assert_eq!(sns.hits(cert_path).await, 1, "{cert_path}");
    }
    // The good certificate is unaffected.
    let mail_id = sns.sent_digest("ada@example.com").await;
    let m = sns.notification(
        &bounce_event("Permanent", &["ada@example.com"], true, &mail_id),
        "2",
    );
    assert_receipt(sns.post(&m).await, "suppressed", 1).await;
}
