//! The email outbox: a failing SES gets retries and a recorded reason, never a lost
//! email or a failed request.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use quotidian::clients::mailer::{MailError, Mailer, OutgoingEmail, SesMailer};
use reqwest::StatusCode;

use crate::helpers::*;

/// Fails the first `failures` sends the given way, then hands over to the real SES
/// client (against the emulator).
struct Flaky {
    failures: usize,
    permanent: bool,
    calls: AtomicUsize,
    real: SesMailer,
}

#[async_trait]
impl Mailer for Flaky {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(if self.permanent {
                MailError::Permanent("MessageRejected: Email address is not verified".into())
            } else {
                MailError::Transient(
                    "TooManyRequestsException: Maximum sending rate exceeded".into(),
                )
            });
        }
        self.real.send(email).await
    }
}

async fn outbox_row(app: &TestApp) -> (String, i32, Option<String>) {
    sqlx::query_as("select status, attempts, last_error from email_outbox")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn wait_for_status(app: &TestApp, status: &str) -> (String, i32, Option<String>) {
    eventually(Duration::from_secs(10), async || {
        let row = outbox_row(app).await;
        // A claimed row is `pending` with an attempt counted before its outcome is
        // known; for `pending`, wait for the recorded failure.
        if row.0 == status && (status != "pending" || row.2.is_some()) {
            Ok(row)
        } else {
            Err(format!("outbox row stuck at {row:?}"))
        }
    })
    .await
}

#[tokio::test]
async fn a_throttled_send_is_retried_with_the_reason_recorded() {
    let mailer = Arc::new(Flaky {
        failures: 1,
        permanent: false,
        calls: AtomicUsize::new(0),
        real: SesMailer::from_env(None).await,
    });
    let app = TestApp::builder().with_mailer(mailer.clone()).spawn().await;
    let email = unique_email();
    assert_eq!(
        app.signup(&email, PASSWORD).await.status(),
        StatusCode::ACCEPTED
    );

    let (status, attempts, error) = wait_for_status(&app, "pending").await;
    assert_eq!((status.as_str(), attempts), ("pending", 1));
    assert!(error.unwrap().contains("Maximum sending rate exceeded"));
    let delay: f64 = sqlx::query_scalar(
        "select extract(epoch from next_attempt_at - now())::float8 from email_outbox",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(
        (5.0..=10.5).contains(&delay),
        "backoff before the retry: {delay}"
    );

    // Let the backoff pass.
    sqlx::query("update email_outbox set next_attempt_at = now()")
        .execute(&app.db)
        .await
        .unwrap();
    let (_, attempts, error) = wait_for_status(&app, "sent").await;
    assert_eq!(attempts, 2);
    assert!(error.is_none());
    wait_for_email(&email, "Confirm").await;
}

#[tokio::test]
async fn a_rejected_send_ends_as_failed_with_the_reason() {
    let mailer = Arc::new(Flaky {
        failures: usize::MAX,
        permanent: true,
        calls: AtomicUsize::new(0),
        real: SesMailer::from_env(None).await,
    });
    let app = TestApp::builder().with_mailer(mailer).spawn().await;
    app.signup(&unique_email(), PASSWORD).await;
    let (_, attempts, error) = wait_for_status(&app, "failed").await;
    assert_eq!(attempts, 1, "a permanent rejection is not retried");
    assert!(error.unwrap().contains("MessageRejected"));
}

#[tokio::test]
async fn ses_being_down_does_not_fail_the_request() {
    // Nothing listens on port 9: every send fails to connect.
    let config = aws_sdk_sesv2::Config::builder()
        .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
        .region(aws_sdk_sesv2::config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .build();
    let down = Arc::new(SesMailer::new(
        aws_sdk_sesv2::Client::from_conf(config),
        None,
    ));
    let app = TestApp::builder().with_mailer(down).spawn().await;
    assert_eq!(
        app.signup(&unique_email(), PASSWORD).await.status(),
        StatusCode::ACCEPTED
    );
    let (_, _, error) = wait_for_status(&app, "pending").await;
    assert!(error.is_some_and(|e| !e.is_empty()));
}
