//! `POST /webhooks/ses`: SES bounces and complaints through SNS, signed with a key and
//! self-signed certificate made here and served by wiremock under the configured
//! `QUOTIDIAN_SNS_CERT_URL_PREFIXES`, exactly as SNS serves its own.

use std::sync::LazyLock;

use base64::Engine as _;
use chrono::{Duration, Utc};
use quotidian::repositories::suppressions;
use reqwest::StatusCode;
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:quotidian-ses-events";
const CERT_PATH: &str = "/SimpleNotificationService-test.pem";

struct Signer {
    key: rsa::RsaPrivateKey,
    cert_pem: String,
}

/// One RSA key and certificate for the whole test binary: generating them is the slow
/// part.
static SIGNER: LazyLock<Signer> = LazyLock::new(|| {
    let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key");
    let cert = rcgen::CertificateParams::new(vec!["sns.quotidian.test".to_owned()])
        .unwrap()
        .self_signed(&key_pair)
        .unwrap();
    Signer {
        key: rsa::RsaPrivateKey::from_pkcs8_der(&key_pair.serialize_der()).unwrap(),
        cert_pem: cert.pem(),
    }
});

/// The string SNS signs, built here from AWS's documentation rather than with the
/// code under test.
fn string_to_sign(m: &Value) -> String {
    let names: &[&str] = if m["Type"] == "Notification" {
        &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ]
    } else {
        &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]
    };
    names
        .iter()
        .filter_map(|name| m[*name].as_str().map(|v| format!("{name}\n{v}\n")))
        .collect()
}

/// Signs `m` in place with its SignatureVersion.
fn sign(m: &mut Value) {
    let text = string_to_sign(m);
    let key = SIGNER.key.clone();
    let signature = match m["SignatureVersion"].as_str().unwrap() {
        "1" => rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(key)
            .sign(text.as_bytes())
            .to_vec(),
        "2" => rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(key)
            .sign(text.as_bytes())
            .to_vec(),
        other => panic!("no SignatureVersion {other}"),
    };
    m["Signature"] = base64::engine::general_purpose::STANDARD
        .encode(signature)
        .into();
}

fn sns_timestamp(at: chrono::DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

struct Sns {
    app: TestApp,
    /// Serves the certificate and the subscription confirmation URL.
    aws: MockServer,
}

impl Sns {
    async fn start() -> Self {
        Self::start_with(&[]).await
    }

    async fn start_with(extra: &[(&str, &str)]) -> Self {
        let aws = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(CERT_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_string(SIGNER.cert_pem.clone()))
            .mount(&aws)
            .await;
        let prefix = aws.uri();
        let mut settings = vec![("QUOTIDIAN_SNS_CERT_URL_PREFIXES", prefix.as_str())];
        settings.extend_from_slice(extra);
        let app = spawn_app_with(&settings, None).await;
        Self { app, aws }
    }

    fn cert_url(&self) -> String {
        format!("{}{CERT_PATH}", self.aws.uri())
    }

    /// A signed notification carrying `event` (an SES event) as its Message.
    fn notification(&self, event: &Value, version: &str) -> Value {
        let mut m = json!({
            "Type": "Notification",
            "MessageId": uuid::Uuid::new_v4().to_string(),
            "TopicArn": TOPIC,
            "Message": event.to_string(),
            "Timestamp": sns_timestamp(Utc::now()),
            "SignatureVersion": version,
            "SigningCertURL": self.cert_url(),
            "UnsubscribeURL": format!("{}/?Action=Unsubscribe", self.aws.uri()),
        });
        sign(&mut m);
        m
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

    async fn post(&self, m: &Value) -> reqwest::Response {
        self.post_raw(m.to_string()).await
    }

    async fn suppressed(&self) -> Vec<(String, String, Option<String>, Option<String>)> {
        sqlx::query_as(
            "select email, reason, detail, sns_message_id from suppressed_addresses order by email",
        )
        .fetch_all(&self.app.db)
        .await
        .unwrap()
    }
}

fn bounce_event(bounce_type: &str, recipients: &[&str], publishing: bool) -> Value {
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
            "messageId": "0100018c-mail",
            "destination": recipients,
        },
    })
}

fn complaint_event(recipients: &[&str], publishing: bool) -> Value {
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
        "mail": {"messageId": "0100018c-mail", "destination": recipients},
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
        let m = sns.notification(&bounce_event("Permanent", &[&address], publishing), version);
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
                .unwrap()
                .as_deref(),
            Some("bounce")
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
async fn a_complaint_suppresses_every_complaining_recipient() {
    let sns = Sns::start().await;
    let m = sns.notification(
        &complaint_event(&["ada@example.com", "Grace <grace@example.com>"], true),
        "2",
    );
    assert_receipt(sns.post(&m).await, "suppressed", 2).await;
    let m = sns.notification(&complaint_event(&["alan@example.com"], false), "1");
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
    for bounce_type in ["Transient", "Undetermined"] {
        let m = sns.notification(&bounce_event(bounce_type, &["full@example.com"], true), "2");
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
    let m = sns.notification(
        &bounce_event("Permanent", &["twice@example.com"], true),
        "2",
    );
    assert_receipt(sns.post(&m).await, "suppressed", 1).await;
    assert_receipt(sns.post(&m).await, "suppressed", 1).await;
    assert_eq!(sns.suppressed().await.len(), 1);
}

#[tokio::test]
async fn a_message_changed_after_signing_is_refused_and_stores_nothing() {
    let sns = Sns::start().await;
    for version in ["1", "2"] {
        let mut m = sns.notification(
            &bounce_event("Permanent", &["ada@example.com"], true),
            version,
        );
        m["Message"] = bounce_event("Permanent", &["victim@example.com"], true)
            .to_string()
            .into();
        assert_problem(sns.post(&m).await, StatusCode::FORBIDDEN, "forbidden").await;

        // A Subject added after signing changes the signed string too.
        let mut m = sns.notification(
            &bounce_event("Permanent", &["ada@example.com"], true),
            version,
        );
        m["Subject"] = "added".into();
        assert_problem(sns.post(&m).await, StatusCode::FORBIDDEN, "forbidden").await;

        // A signature made for SHA1 does not pass as SHA256, nor the other way.
        let mut m = sns.notification(
            &bounce_event("Permanent", &["ada@example.com"], true),
            version,
        );
        m["SignatureVersion"] = if version == "1" { "2" } else { "1" }.into();
        assert_problem(sns.post(&m).await, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let mut m = sns.notification(&bounce_event("Permanent", &["ada@example.com"], true), "2");
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
        .respond_with(ResponseTemplate::new(200).set_body_string(SIGNER.cert_pem.clone()))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let event = bounce_event("Permanent", &["ada@example.com"], true);
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
    let mut m = sns.notification(&bounce_event("Permanent", &["ada@example.com"], true), "2");
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
    let sns = Sns::start_with(&[("QUOTIDIAN_SNS_TOPIC_ARNS", TOPIC)]).await;
    let event = bounce_event("Permanent", &["ada@example.com"], true);
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
        let m = sns.notification(&bounce_event("Permanent", &[&address], true), "2");
        assert_receipt(sns.post(&m).await, "suppressed", 1).await;
    }
    let fetches = sns
        .aws
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == CERT_PATH)
        .count();
    assert_eq!(fetches, 1);
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

    let complete = sns.notification(&bounce_event("Permanent", &["ada@example.com"], true), "2");
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
    let mut event = bounce_event("Permanent", &["large@example.com"], true);
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
