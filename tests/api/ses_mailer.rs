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
