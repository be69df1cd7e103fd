//! Sending email: the `Mailer` trait and its AWS SES v2 implementation.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sesv2::error::{ProvideErrorMetadata as _, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{
    Body, Content, Destination, EmailContent, Message, MessageHeader, MessageTag,
};

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
    /// SES message tags (name, value: ASCII letters, digits, `_` and `-`). SES puts
    /// them on every event it publishes about the message through the configuration
    /// set, which is how a send whose answer was lost is settled later (ADR 0006).
    pub tags: Vec<(String, String)>,
}

/// Why a send failed, split by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// SES did not take the message and said so, or it never reached SES: throttling,
    /// quota, paused sending, a connection that could not be opened. Worth retrying.
    #[error("transient: {0}")]
    Transient(String),
    /// Retrying will not help: the message or address was rejected.
    #[error("permanent: {0}")]
    Permanent(String),
    /// The request may have reached SES but no answer proves it refused the message (a
    /// 5xx, a timeout, a connection dropped mid-call, an unreadable response): the email
    /// may or may not have been accepted. Digests are never re-sent after this (at most once a day);
    /// transactional emails are, since a second copy of a link is harmless.
    #[error("outcome unknown: {0}")]
    Unknown(String),
}

impl MailError {
    /// True when SES answered that it was throttling us (rate or quota).
    pub fn is_throttling(&self) -> bool {
        matches!(self, Self::Transient(why) if why.starts_with(THROTTLED))
    }
}

/// Prefix of the reason given for SES throttling answers.
const THROTTLED: &str = "throttled: ";

#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends the email and returns the provider's message id. Makes one attempt:
    /// retrying is the caller's decision, since a blind retry can send twice.
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError>;

    /// The account's maximum send rate (emails per second), when the provider says.
    async fn max_send_rate(&self) -> Option<f64> {
        None
    }
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
        // No SDK retries: the SDK would retry a timed-out SendEmail that SES may
        // already have accepted, sending it twice. Callers retry what is safe to retry.
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .timeout_config(timeouts)
            .retry_config(aws_config::retry::RetryConfig::disabled())
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
        let tags = email
            .tags
            .iter()
            .map(|(name, value)| {
                MessageTag::builder()
                    .name(name)
                    .value(value)
                    .build()
                    .map_err(|e| MailError::Permanent(format!("building tag {name}: {e}")))
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
            .set_email_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await;
        let elapsed = started.elapsed();
        match result {
            Ok(out) => {
                crate::metrics::ses_send(elapsed, "ok");
                Ok(out.message_id().unwrap_or_default().to_owned())
            }
            Err(err) => {
                let error = classify(err);
                let label = match &error {
                    e if e.is_throttling() => "throttled",
                    MailError::Transient(_) => "transient",
                    MailError::Permanent(_) => "permanent",
                    MailError::Unknown(_) => "unknown",
                };
                crate::metrics::ses_send(elapsed, label);
                Err(error)
            }
        }
    }

    async fn max_send_rate(&self) -> Option<f64> {
        match self.client.get_account().send().await {
            Ok(account) => account
                .send_quota()
                .map(|q| q.max_send_rate())
                .filter(|r| *r > 0.0),
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), "SES GetAccount failed; using the default send rate");
                None
            }
        }
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
                | SendEmailError::LimitExceededException(_) => {
                    MailError::Transient(format!("{THROTTLED}{what}"))
                }
                SendEmailError::SendingPausedException(_) => MailError::Transient(what),
                SendEmailError::MessageRejected(_)
                | SendEmailError::BadRequestException(_)
                | SendEmailError::MailFromDomainNotVerifiedException(_)
                | SendEmailError::NotFoundException(_)
                | SendEmailError::AccountSuspendedException(_) => MailError::Permanent(what),
                _ if service.raw().status().as_u16() == 429 => {
                    MailError::Transient(format!("{THROTTLED}{what}"))
                }
                // A 500, 502 or 504 can come after SES accepted the message (ADR 0006).
                _ if service.raw().status().is_server_error() => MailError::Unknown(what),
                _ => MailError::Permanent(what),
            }
        }
        // The connection was never made: nothing reached SES, so it is safe to retry.
        SdkError::DispatchFailure(failure) if is_connect_failure(failure) => {
            MailError::Transient(error_chain(&err))
        }
        // Request construction failed before anything was sent.
        SdkError::ConstructionFailure(_) => MailError::Permanent(error_chain(&err)),
        // Timeouts, connections dropped mid-call, unreadable responses: SES may have
        // accepted the message.
        other => MailError::Unknown(error_chain(other)),
    }
}

/// A failure to open the connection (refused, unreachable, DNS), as opposed to one
/// that happened after the request may have been written: decided from the error
/// types the SDK's HTTP client reports (hyper-util's `is_connect`, the SDK's DNS
/// error), never from their text.
fn is_connect_failure(failure: &aws_smithy_runtime_api::client::result::DispatchFailure) -> bool {
    if failure.is_timeout() || failure.is_user() {
        return false;
    }
    let Some(connector) = failure.as_connector_error() else {
        return false;
    };
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(connector);
    while let Some(s) = source {
        if let Some(e) = s.downcast_ref::<hyper_util::client::legacy::Error>()
            && e.is_connect()
        {
            return true;
        }
        if s.downcast_ref::<aws_smithy_runtime_api::client::dns::ResolveDnsError>()
            .is_some()
        {
            return true;
        }
        source = s.source();
    }
    false
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
