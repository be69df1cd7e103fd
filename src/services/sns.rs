//! What the SES events posted to `/webhooks/ses` through SNS lead to, once
//! `clients::sns` has verified the message: bounces and complaints suppress addresses,
//! and events about a digest send settle an unknown outcome
//! (`services::digest::reconcile`).

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::Deserialize;

pub use crate::clients::sns::{Envelope, Error, MAX_MESSAGE_AGE, Verifier};
use crate::clients::sns::{invalid, trusted_subscribe_url, untrusted};
use crate::domain::{EmailAddress, SuppressionReason};
use crate::repositories::send_events::SendEvent;
use crate::repositories::{sent_messages, suppressions};
use crate::services::digest::reconcile;
use crate::state::AppState;

/// At most this much of what SES says about a recipient is kept.
const MAX_DETAIL_CHARS: usize = 500;

/// What a verified message led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// This many addresses are now suppressed (they may have been already).
    Suppressed(usize),
    /// Nothing to do: a transient bounce, a delivery, an SES test message ...
    Ignored,
    SubscriptionConfirmed,
    Unsubscribed,
    /// It settled a digest whose SES outcome was unknown (ADR 0006).
    Reconciled,
    /// Kept as evidence about a digest still being sent.
    Recorded,
}

/// Verifies an SNS message and acts on it: confirms a subscription, or suppresses the
/// addresses of a permanent bounce or a complaint.
#[tracing::instrument(skip_all, fields(kind = %envelope.kind, message_id = %envelope.message_id))]
pub async fn receive(state: &AppState, envelope: Envelope) -> Result<Outcome, Error> {
    state
        .sns
        .verify(&envelope, &state.config, Utc::now())
        .await?;
    match envelope.kind.as_str() {
        "SubscriptionConfirmation" => {
            let raw = envelope.subscribe_url.as_deref().unwrap_or_default();
            let url = trusted_subscribe_url(
                raw,
                &envelope.topic_arn,
                &state.config.sns.cert_url_prefixes,
            )
            .ok_or_else(|| {
                untrusted("The SubscribeURL is not an SNS URL confirming this topic.")
            })?;
            state.sns.confirm_subscription(url).await?;
            tracing::info!(topic_arn = %envelope.topic_arn, "SNS subscription confirmed");
            Ok(Outcome::SubscriptionConfirmed)
        }
        "UnsubscribeConfirmation" => {
            // Deliberately not followed: its SubscribeURL would subscribe us again.
            tracing::warn!(
                topic_arn = %envelope.topic_arn,
                "this endpoint was unsubscribed from the SNS topic; bounces and complaints no longer arrive"
            );
            Ok(Outcome::Unsubscribed)
        }
        _ => on_notification(state, &envelope).await,
    }
}

/// An SES event in either format: notifications (`notificationType`) or event
/// publishing through a configuration set (`eventType`). Only what suppression and
/// settling digest outcomes need.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesEvent {
    notification_type: Option<String>,
    event_type: Option<String>,
    bounce: Option<Bounce>,
    complaint: Option<Complaint>,
    #[serde(default)]
    mail: Option<Mail>,
    #[serde(default)]
    reject: Option<Reject>,
    #[serde(default)]
    failure: Option<RenderingFailure>,
    #[serde(default)]
    delivery: Option<Timestamped>,
    #[serde(default)]
    delivery_delay: Option<Timestamped>,
}

/// The message the event is about.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mail {
    /// The id SES gave the message when it accepted it from us.
    #[serde(default)]
    message_id: Option<String>,
    /// When SES accepted it.
    #[serde(default)]
    timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    destination: Vec<String>,
    /// The message tags we sent it with (and SES's own `ses:` ones), each a list.
    #[serde(default)]
    tags: std::collections::HashMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reject {
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RenderingFailure {
    #[serde(default)]
    error_message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Timestamped {
    #[serde(default)]
    timestamp: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    #[serde(default)]
    bounce_sub_type: Option<String>,
    bounced_recipients: Vec<Recipient>,
    #[serde(default)]
    timestamp: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    complained_recipients: Vec<Recipient>,
    #[serde(default)]
    complaint_feedback_type: Option<String>,
    #[serde(default)]
    timestamp: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: String,
    #[serde(default)]
    diagnostic_code: Option<String>,
}

async fn on_notification(state: &AppState, envelope: &Envelope) -> Result<Outcome, Error> {
    let Ok(event) = serde_json::from_str::<serde_json::Value>(&envelope.message) else {
        // SES sends a plain-text test message when a topic is attached to it.
        tracing::info!("SNS notification whose message is not JSON; ignored");
        return Ok(Outcome::Ignored);
    };
    let event: SesEvent =
        serde_json::from_value(event).map_err(|e| invalid("Message", e.to_string()))?;
    let kind = event
        .event_type
        .as_deref()
        .or(event.notification_type.as_deref())
        .unwrap_or_default();
    let message_id = Some(envelope.message_id.as_str());
    let kind = kind.to_owned();
    // A digest's send token first: a bounce's suppression finds the recipient by the
    // SES message id, which settling an unknown outcome records.
    let digest = settle_digest(state, envelope, &kind, &event).await?;
    let mail_id = event.mail.and_then(|m| m.message_id);
    let mail_id = mail_id.as_deref();
    let outcome = match kind.as_str() {
        "Bounce" => {
            let bounce = event
                .bounce
                .ok_or_else(|| invalid("Message", "a Bounce event without a bounce object"))?;
            if bounce.bounce_type != "Permanent" {
                tracing::info!(
                    bounce_type = %bounce.bounce_type,
                    recipients = bounce.bounced_recipients.len(),
                    "bounce that is not permanent; addresses not suppressed"
                );
                return Ok(Outcome::Ignored);
            }
            let kind = format!(
                "{}/{}",
                bounce.bounce_type,
                bounce.bounce_sub_type.as_deref().unwrap_or("Undetermined")
            );
            let entries = bounce.bounced_recipients.iter().map(|r| {
                let detail = match &r.diagnostic_code {
                    Some(code) => format!("{kind}: {code}"),
                    None => kind.clone(),
                };
                (r.email_address.as_str(), Some(detail))
            });
            suppress_sent(
                state,
                SuppressionReason::Bounce,
                entries,
                mail_id,
                message_id,
            )
            .await
        }
        "Complaint" => {
            let complaint = event.complaint.ok_or_else(|| {
                invalid("Message", "a Complaint event without a complaint object")
            })?;
            let detail = complaint.complaint_feedback_type;
            let entries = complaint
                .complained_recipients
                .iter()
                .map(|r| (r.email_address.as_str(), detail.clone()));
            suppress_sent(
                state,
                SuppressionReason::Complaint,
                entries,
                mail_id,
                message_id,
            )
            .await
        }
        other => {
            tracing::debug!(kind = other, "SES event that suppresses nobody");
            Ok(Outcome::Ignored)
        }
    }?;
    Ok(match (outcome, digest) {
        (Outcome::Ignored, reconcile::EventOutcome::Settled) => Outcome::Reconciled,
        (Outcome::Ignored, reconcile::EventOutcome::Recorded) => Outcome::Recorded,
        (outcome, _) => outcome,
    })
}

/// Hands an event about one of our digest sends (it carries the `quotidian-send` tag)
/// to `reconcile`, which settles an unknown outcome or keeps the event as evidence.
async fn settle_digest(
    state: &AppState,
    envelope: &Envelope,
    kind: &str,
    event: &SesEvent,
) -> Result<reconcile::EventOutcome, Error> {
    let Some(mail) = &event.mail else {
        return Ok(reconcile::EventOutcome::Ignored);
    };
    let Some(token) = mail
        .tags
        .get(reconcile::TAG_SEND)
        .and_then(|values| values.first())
    else {
        return Ok(reconcile::EventOutcome::Ignored);
    };
    let Ok(send_token) = uuid::Uuid::parse_str(token) else {
        tracing::warn!(tag = %token, "SES event with a send token that is not ours; ignored");
        return Ok(reconcile::EventOutcome::Ignored);
    };
    let (Some(ses_message_id), Some(accepted_at)) = (mail.message_id.clone(), mail.timestamp)
    else {
        return Err(invalid(
            "Message",
            "an SES event about a digest without mail.messageId or mail.timestamp",
        ));
    };
    let (occurred_at, detail) = match kind {
        "Reject" => (None, event.reject.as_ref().and_then(|r| r.reason.clone())),
        "Rendering Failure" => (
            None,
            event.failure.as_ref().and_then(|f| f.error_message.clone()),
        ),
        "Bounce" => (
            event.bounce.as_ref().and_then(|b| b.timestamp),
            event.bounce.as_ref().map(|b| {
                format!(
                    "{}/{}",
                    b.bounce_type,
                    b.bounce_sub_type.as_deref().unwrap_or("Undetermined")
                )
            }),
        ),
        "Complaint" => (
            event.complaint.as_ref().and_then(|c| c.timestamp),
            event
                .complaint
                .as_ref()
                .and_then(|c| c.complaint_feedback_type.clone()),
        ),
        "Delivery" => (event.delivery.as_ref().and_then(|d| d.timestamp), None),
        "DeliveryDelay" => (
            event.delivery_delay.as_ref().and_then(|d| d.timestamp),
            None,
        ),
        _ => (None, None),
    };
    let incoming = reconcile::IncomingEvent {
        send_token,
        sns_message_id: &envelope.message_id,
        destination: &mail.destination,
        event: SendEvent {
            event_type: kind.to_owned(),
            ses_message_id,
            occurred_at: occurred_at.unwrap_or(accepted_at),
            detail: detail.map(|d| d.chars().take(MAX_DETAIL_CHARS).collect()),
        },
    };
    let mut tx = state.db.begin().await.context("starting a transaction")?;
    let outcome = reconcile::on_event(&mut tx, &incoming).await?;
    tx.commit().await.context("committing an SES event")?;
    Ok(outcome)
}

/// The address of a recipient as SES reports it: usually bare, sometimes with a
/// display name (`Ada <ada@example.com>`).
fn recipient_address(raw: &str) -> Option<EmailAddress> {
    EmailAddress::parse(raw).ok().or_else(|| {
        let start = raw.rfind('<')? + 1;
        let end = start + raw[start..].find('>')?;
        EmailAddress::parse(&raw[start..end]).ok()
    })
}

/// Suppresses the reported addresses that we sent the message (`mail_id`, SES's id)
/// to, in one transaction, so a retried delivery finds all or none of them done.
///
/// Only those: a signed event proves SNS delivered it, not that it is about our mail
/// (an SES configuration set may be shared, a topic may be fed by other senders), and
/// a bounce naming an address we never wrote to must not stop that person's digest.
async fn suppress_sent<'a>(
    state: &AppState,
    reason: SuppressionReason,
    entries: impl Iterator<Item = (&'a str, Option<String>)>,
    mail_id: Option<&str>,
    sns_message_id: Option<&str>,
) -> Result<Outcome, Error> {
    let Some(mail_id) = mail_id.filter(|id| !id.is_empty()) else {
        tracing::warn!(
            reason = reason.as_str(),
            "SES event without mail.messageId; nobody suppressed"
        );
        return Ok(Outcome::Ignored);
    };
    let sent_to = sent_messages::recipients_of(&state.db, mail_id).await?;
    if sent_to.is_empty() {
        tracing::warn!(
            reason = reason.as_str(),
            ses_message_id = mail_id,
            "SES event about a message we have no record of sending; nobody suppressed"
        );
        return Ok(Outcome::Ignored);
    }
    let mut tx = state.db.begin().await.context("starting a transaction")?;
    let mut suppressed = 0;
    let mut unreadable = 0;
    let mut strangers = 0;
    for (raw, detail) in entries {
        let Some(email) = recipient_address(raw) else {
            unreadable += 1;
            continue;
        };
        if !sent_to
            .iter()
            .any(|to| to.trim().eq_ignore_ascii_case(email.as_ref()))
        {
            strangers += 1;
            continue;
        }
        let detail = detail.map(|d| d.chars().take(MAX_DETAIL_CHARS).collect::<String>());
        suppressions::suppress(
            &mut *tx,
            email.as_ref(),
            reason,
            detail.as_deref(),
            sns_message_id,
        )
        .await?;
        suppressed += 1;
    }
    tx.commit().await.context("committing suppressions")?;
    if strangers > 0 {
        tracing::warn!(
            reason = reason.as_str(),
            strangers,
            ses_message_id = mail_id,
            "SES reported recipients we did not send this message to; not suppressed"
        );
    }
    if unreadable > 0 {
        tracing::warn!(
            unreadable,
            "SES reported recipients that are not email addresses; skipped"
        );
    }
    if suppressed == 0 {
        return Ok(Outcome::Ignored);
    }
    tracing::info!(reason = reason.as_str(), suppressed, "addresses suppressed");
    Ok(Outcome::Suppressed(suppressed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_with_display_names_are_read() {
        assert_eq!(
            recipient_address("Ada <Ada@Example.com>").unwrap().as_ref(),
            "ada@example.com"
        );
        assert_eq!(
            recipient_address(" ADA@example.com").unwrap().as_ref(),
            "ada@example.com"
        );
        assert!(recipient_address("not an address").is_none());
    }
}
