//! Callbacks from AWS. SES reports bounces and complaints through a configuration
//! set's event destination, an SNS topic, which POSTs each event here.

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::RawBody;
use crate::error::{ApiError, FieldError, Problem};
use crate::services::sns::{self, Envelope, Outcome};
use crate::state::AppState;

/// SNS messages are at most 256 KiB, and the envelope escapes the SES event inside it,
/// so this route takes more than the API's usual limit.
pub const MAX_SNS_BODY_BYTES: usize = 512 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ses_notification))
        .layer(DefaultBodyLimit::max(MAX_SNS_BODY_BYTES))
}

/// What a notification came to: `suppressed`, `reconciled` (an event that settled a
/// digest whose SES outcome was unknown; a bounce may also do so and then says
/// `suppressed`), `recorded` (an event about a digest still being sent, kept as
/// evidence), `ignored` (a transient bounce, a delivery of a digest known to be sent,
/// an SES test message, or a bounce or complaint about mail we did not send to that
/// address), `subscription_confirmed` or `unsubscribed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookOutcome {
    Suppressed,
    Reconciled,
    Recorded,
    Ignored,
    SubscriptionConfirmed,
    Unsubscribed,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"outcome": "suppressed", "suppressed": 1}))]
pub struct WebhookReceipt {
    pub outcome: WebhookOutcome,
    /// Addresses this message suppressed (they may have been suppressed already).
    pub suppressed: usize,
}

impl From<Outcome> for WebhookReceipt {
    fn from(outcome: Outcome) -> Self {
        let (outcome, suppressed) = match outcome {
            Outcome::Suppressed(n) => (WebhookOutcome::Suppressed, n),
            Outcome::Ignored => (WebhookOutcome::Ignored, 0),
            Outcome::SubscriptionConfirmed => (WebhookOutcome::SubscriptionConfirmed, 0),
            Outcome::Unsubscribed => (WebhookOutcome::Unsubscribed, 0),
            Outcome::Reconciled => (WebhookOutcome::Reconciled, 0),
            Outcome::Recorded => (WebhookOutcome::Recorded, 0),
        };
        Self {
            outcome,
            suppressed,
        }
    }
}

impl From<sns::Error> for ApiError {
    fn from(e: sns::Error) -> Self {
        match e {
            sns::Error::Malformed(detail) => ApiError::malformed(detail),
            sns::Error::Invalid { field, message } => {
                ApiError::validation(vec![FieldError { field, message }])
            }
            sns::Error::Untrusted(detail) => ApiError::forbidden_with(detail),
            sns::Error::Unavailable(detail) => ApiError::unavailable(detail),
            sns::Error::Unexpected(source) => ApiError::from(source),
        }
    }
}

/// Receive an SES bounce or complaint notification from Amazon SNS.
///
/// For the SNS subscription of the topic SES publishes bounce and complaint events to.
/// The body is the SNS message as SNS sends it (`Content-Type: text/plain`; JSON is
/// read whatever the content type). Nothing is believed until its topic is one of
/// `QUOTIDIAN_SNS_TOPIC_ARNS` (unset, every message is refused), the message is less
/// than an hour old, and the SNS signature (SignatureVersion 1 or 2) verifies against
/// a certificate fetched from `https://sns.<region>.amazonaws.com/SimpleNotificationService-<hex>.pem`.
/// A subscription confirmation is confirmed by visiting its SubscribeURL (on SNS, for
/// the same topic). A permanent bounce or a complaint suppresses the recipients we sent
/// that message to (SES's `mail.messageId` matched against the emails and digests we
/// sent); anything else is accepted and ignored.
#[utoipa::path(
    post, path = "/webhooks/ses", tag = "webhooks",
    request_body(
        description = "An SNS message (Notification, SubscriptionConfirmation or UnsubscribeConfirmation)",
        content((Envelope = "application/json"), (Envelope = "text/plain"))
    ),
    responses(
        (status = 200, description = "Verified and handled", body = WebhookReceipt),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not shown to come from SNS: no topic configured or a topic not accepted, older than an hour, certificate or subscribe URL not an SNS one, or a bad signature", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body larger than 512 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an SNS message, or an SES event missing its fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The signing certificate or the subscription URL could not be reached; SNS retries", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn ses_notification(
    State(state): State<AppState>,
    RawBody(body): RawBody,
) -> Result<Json<WebhookReceipt>, ApiError> {
    let envelope = Envelope::parse(&body)?;
    let outcome = sns::receive(&state, envelope).await?;
    Ok(Json(outcome.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_spell_each_outcome_as_the_api_always_has() {
        for (outcome, wire, suppressed) in [
            (Outcome::Suppressed(2), "suppressed", 2),
            (Outcome::Reconciled, "reconciled", 0),
            (Outcome::Recorded, "recorded", 0),
            (Outcome::Ignored, "ignored", 0),
            (Outcome::SubscriptionConfirmed, "subscription_confirmed", 0),
            (Outcome::Unsubscribed, "unsubscribed", 0),
        ] {
            let receipt = serde_json::to_value(WebhookReceipt::from(outcome)).unwrap();
            assert_eq!(
                receipt,
                serde_json::json!({"outcome": wire, "suppressed": suppressed})
            );
        }
    }
}
