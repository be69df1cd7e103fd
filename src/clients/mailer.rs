//! Sending email: the `Mailer` trait and its AWS SES v2 implementation.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sesv2::error::{ProvideErrorMetadata as _, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageHeader};

/// One email, ready to send.
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Extra headers (for example `List-Unsubscribe`).
    pub headers: Vec<(String, String)>,
}

/// Why a send failed, split by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Worth retrying later: throttling, quota, network, a 5xx.
    #[error("transient: {0}")]
    Transient(String),
    /// Retrying will not help: the message or address was rejected.
    #[error("permanent: {0}")]
    Permanent(String),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends the email and returns the provider's message id.
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError>;
}

pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    configuration_set: Option<String>,
}

impl SesMailer {
    /// Builds a client from the standard AWS environment (`AWS_REGION`,
    /// `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_SESV2`, credentials chain).
    pub async fn from_env(configuration_set: Option<String>) -> Self {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(10))
            .operation_timeout(Duration::from_secs(30))
            .build();
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .timeout_config(timeouts)
            .load()
            .await;
        Self {
            client: aws_sdk_sesv2::Client::new(&shared),
            configuration_set,
        }
    }

    pub fn new(client: aws_sdk_sesv2::Client, configuration_set: Option<String>) -> Self {
        Self {
            client,
            configuration_set,
        }
    }
}

fn content(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError::Permanent(format!("building content: {e}")))
}

#[async_trait]
impl Mailer for SesMailer {
    #[tracing::instrument(name = "ses.send_email", skip_all, fields(kind = "SendEmail"))]
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        let headers = email
            .headers
            .iter()
            .map(|(name, value)| {
                MessageHeader::builder()
                    .name(name)
                    .value(value)
                    .build()
                    .map_err(|e| MailError::Permanent(format!("building header {name}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(
                Body::builder()
                    .html(content(&email.html)?)
                    .text(content(&email.text)?)
                    .build(),
            )
            .set_headers((!headers.is_empty()).then_some(headers))
            .build();
        let started = std::time::Instant::now();
        let result = self
            .client
            .send_email()
            .from_email_address(&email.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await;
        let elapsed = started.elapsed();
        match result {
            Ok(out) => {
                crate::metrics::ses_send(elapsed, "ok");
                Ok(out.message_id().unwrap_or_default().to_owned())
            }
            Err(err) => {
                let throttled = is_throttling(&err);
                let error = classify(err);
                let label = match &error {
                    _ if throttled => "throttled",
                    MailError::Transient(_) => "transient",
                    MailError::Permanent(_) => "permanent",
                };
                crate::metrics::ses_send(elapsed, label);
                Err(error)
            }
        }
    }
}

/// SES refused for rate or quota reasons (for the metrics: retried like any other
/// transient failure).
fn is_throttling(err: &SdkError<SendEmailError>) -> bool {
    match err {
        SdkError::ServiceError(service) => {
            matches!(
                service.err(),
                SendEmailError::TooManyRequestsException(_)
                    | SendEmailError::LimitExceededException(_)
                    | SendEmailError::SendingPausedException(_)
            ) || service.raw().status().as_u16() == 429
        }
        _ => false,
    }
}

fn classify(err: SdkError<SendEmailError>) -> MailError {
    match &err {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            let what = format!(
                "{}: {}",
                inner.code().unwrap_or("SES error"),
                inner.message().unwrap_or("no message")
            );
            match inner {
                SendEmailError::TooManyRequestsException(_)
                | SendEmailError::LimitExceededException(_)
                | SendEmailError::SendingPausedException(_) => MailError::Transient(what),
                SendEmailError::MessageRejected(_)
                | SendEmailError::BadRequestException(_)
                | SendEmailError::MailFromDomainNotVerifiedException(_)
                | SendEmailError::NotFoundException(_)
                | SendEmailError::AccountSuspendedException(_) => MailError::Permanent(what),
                _ if service.raw().status().is_server_error() => MailError::Transient(what),
                _ if service.raw().status().as_u16() == 429 => MailError::Transient(what),
                _ => MailError::Permanent(what),
            }
        }
        // Timeouts, connection failures, unreadable responses: nothing says the
        // message was refused, so try again.
        other => MailError::Transient(error_chain(other)),
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
