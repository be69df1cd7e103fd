//! The SES v2 adapter against the emulator: the real SDK request path.

use quotidian::clients::mailer::{MailError, Mailer, OutgoingEmail, SesMailer};

use crate::helpers::*;

fn email(to: &str) -> OutgoingEmail {
    OutgoingEmail {
        from: "Quotidian <digest@quotidian.test>".into(),
        to: to.into(),
        subject: "Adapter test ✓".into(),
        html: "<p>Hello <b>there</b></p>".into(),
        text: "Hello there".into(),
        headers: vec![
            (
                "List-Unsubscribe".into(),
                "<https://quotidian.example/u/abc>".into(),
            ),
            (
                "List-Unsubscribe-Post".into(),
                "List-Unsubscribe=One-Click".into(),
            ),
        ],
        tags: Vec::new(),
    }
}

#[tokio::test]
async fn sends_html_text_and_custom_headers() {
    ses_url();
    let mailer = SesMailer::from_env(None).await;
    let to = unique_email();
    let id = mailer
        .send(&email(&to))
        .await
        .expect("the emulator accepts the send");
    assert!(!id.is_empty());

    let stored = wait_for_email(&to, "Adapter test").await;
    assert_eq!(stored["messageId"], id);
    assert_eq!(stored["subject"], "Adapter test ✓");
    assert_eq!(stored["body"]["html"], "<p>Hello <b>there</b></p>");
    assert_eq!(stored["body"]["text"], "Hello there");
    let headers = stored["headers"].as_array().expect("custom headers arrive");
    let header = |name: &str| {
        headers
            .iter()
            .find(|h| h["name"].as_str().unwrap().eq_ignore_ascii_case(name))
            .map(|h| h["value"].as_str().unwrap().to_owned())
    };
    assert_eq!(
        header("List-Unsubscribe").as_deref(),
        Some("<https://quotidian.example/u/abc>")
    );
    assert_eq!(
        header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_transient_error() {
    let config = aws_sdk_sesv2::Config::builder()
        .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
        .region(aws_sdk_sesv2::config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .build();
    let mailer = SesMailer::new(aws_sdk_sesv2::Client::from_conf(config), None);
    match mailer.send(&email(&unique_email())).await {
        Err(MailError::Transient(why)) => assert!(!why.is_empty()),
        other => panic!("expected a transient error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_refused_message_is_a_permanent_error() {
    ses_url();
    let mailer = SesMailer::from_env(None).await;
    // The emulator, like SES, refuses a send whose sender is not an address.
    let mut bad = email(&unique_email());
    bad.from = String::new();
    match mailer.send(&bad).await {
        Err(MailError::Permanent(why)) => assert!(!why.is_empty()),
        other => panic!("expected a permanent error, got {other:?}"),
    }
}

/// An SES client pointed at `endpoint`, without SDK retries (as the app runs it).
fn mailer_at(endpoint: &str) -> SesMailer {
    let config = aws_sdk_sesv2::Config::builder()
        .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
        .region(aws_sdk_sesv2::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_sesv2::config::retry::RetryConfig::disabled())
        .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .build();
    SesMailer::new(aws_sdk_sesv2::Client::from_conf(config), None)
}

async fn answered(status: u16, error_type: &str) -> Result<String, MailError> {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let ses = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/email/outbound-emails"))
        .respond_with(
            ResponseTemplate::new(status)
                .insert_header("x-amzn-errortype", error_type)
                .insert_header("content-type", "application/json")
                .set_body_string(r#"{"message":"something went wrong"}"#),
        )
        .mount(&ses)
        .await;
    mailer_at(&ses.uri()).send(&email(&unique_email())).await
}

/// A 5xx from SES does not prove the message was refused: SES may have accepted it
/// before failing to answer, so a digest must not be sent again after one.
#[tokio::test]
async fn a_server_error_from_ses_is_an_unknown_outcome_not_a_refusal() {
    for status in [500, 502, 504] {
        match answered(status, "InternalFailure").await {
            Err(MailError::Unknown(why)) => assert!(!why.is_empty()),
            other => panic!("{status}: expected an unknown outcome, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn throttling_and_rejections_are_told_apart_by_their_error_kinds() {
    match answered(429, "TooManyRequestsException").await {
        Err(e @ MailError::Transient(_)) => assert!(e.is_throttling(), "{e}"),
        other => panic!("expected throttling, got {other:?}"),
    }
    match answered(400, "MessageRejected").await {
        Err(MailError::Permanent(_)) => {}
        other => panic!("expected a rejection, got {other:?}"),
    }
    match answered(400, "SendingPausedException").await {
        Err(MailError::Transient(_)) => {}
        other => panic!("expected a transient refusal, got {other:?}"),
    }
}

/// Message tags and the configuration set are what SES's events about a message carry
/// back (ADR 0006): they must be on the wire, and the emulator must take them.
#[tokio::test]
async fn tags_and_the_configuration_set_go_to_ses_with_the_message() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let mut tagged = email(&unique_email());
    tagged.tags = vec![
        ("quotidian-kind".into(), "digest".into()),
        (
            "quotidian-send".into(),
            "6f1c1c9e-2d7a-4c41-9d0e-55d0c3a0e0f1".into(),
        ),
    ];

    let ses = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/email/outbound-emails"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_string(r#"{"MessageId":"0100019a-test"}"#),
        )
        .mount(&ses)
        .await;
    let config = aws_sdk_sesv2::Config::builder()
        .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
        .region(aws_sdk_sesv2::config::Region::new("us-east-1"))
        .endpoint_url(ses.uri())
        .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .build();
    let mailer = SesMailer::new(
        aws_sdk_sesv2::Client::from_conf(config),
        Some("quotidian-events".into()),
    );
    assert_eq!(mailer.send(&tagged).await.unwrap(), "0100019a-test");
    let requests = ses.received_requests().await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["ConfigurationSetName"], "quotidian-events");
    assert_eq!(
        body["EmailTags"],
        serde_json::json!([
            {"Name": "quotidian-kind", "Value": "digest"},
            {"Name": "quotidian-send", "Value": "6f1c1c9e-2d7a-4c41-9d0e-55d0c3a0e0f1"},
        ])
    );

    // The emulator accepts both, as SES does.
    ses_url();
    let real = SesMailer::from_env(Some("quotidian-events".into())).await;
    let id = real.send(&tagged).await.expect("the emulator takes tags");
    assert!(!id.is_empty());
}
