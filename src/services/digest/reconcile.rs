//! Settling "outcome unknown" from SES's own events (ADR 0006).
//!
//! Every attempt that reaches `sending` gets a fresh random send token, given to SES as
//! the message tag `quotidian-send`. With a configuration set whose event destination
//! is our SNS topic, SES publishes `Send`, `Delivery`, `Bounce`, `Reject` ... events
//! carrying that tag and SES's message id, and the webhook hands them here:
//!
//! - an event for a send whose outcome is unknown settles it: any event but a refusal
//!   proves SES accepted the message (`sent`, with SES's message id); a `Reject` or a
//!   `Rendering Failure` proves it was not delivered (`failed`, with SES's reason);
//! - an event that arrives while the send is still `sending` (its worker inside the
//!   SES call, or dead and its lease not yet over) is kept, and settles the job the
//!   moment it ends "outcome unknown" (`settle_new_unknowns`, in the same transaction);
//! - an event about a send recorded as sent is not needed and not kept;
//! - an event whose token names no send of ours, or whose recipients do not include the
//!   send's recipient, is ignored: the token is unguessable, so only SES can have it.
//!
//! A settlement never re-sends anything: it only records what SES did.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::DigestStatus;
use crate::repositories::send_events::{self, SendEvent, Settlement, TokenJob};
use crate::services::audit;

/// Message tag naming the kind of email (`digest`).
pub const TAG_KIND: &str = "quotidian-kind";
/// Message tag carrying the send token of a digest attempt.
pub const TAG_SEND: &str = "quotidian-send";

/// The SES message tags of a digest attempt.
pub fn digest_tags(send_token: Uuid) -> Vec<(String, String)> {
    vec![
        (TAG_KIND.into(), "digest".into()),
        (TAG_SEND.into(), send_token.to_string()),
    ]
}

/// An SES event about one of our digest sends, as the webhook read it.
pub struct IncomingEvent<'a> {
    pub send_token: Uuid,
    /// SNS's id of the message that carried it (SNS may deliver one twice).
    pub sns_message_id: &'a str,
    /// `mail.destination`: whom the message was addressed to.
    pub destination: &'a [String],
    pub event: SendEvent,
}

/// What an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    /// It settled a digest whose outcome was unknown.
    Settled,
    /// Kept as evidence: the send has not ended yet.
    Recorded,
    /// Not needed (the send is known) or not about a send of ours.
    Ignored,
}

/// Event types proving SES did not deliver the message. Every other event type
/// (`Send`, `Delivery`, `Bounce`, `Complaint`, `DeliveryDelay`, `Open`, `Click` ...)
/// proves SES accepted it.
pub fn is_refusal(event_type: &str) -> bool {
    matches!(event_type, "Reject" | "Rendering Failure")
}

/// What a send's events prove, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// SES accepted the message at `at`.
    Sent {
        ses_message_id: String,
        at: DateTime<Utc>,
        evidence: String,
    },
    /// SES accepted the call but did not deliver the message.
    NotDelivered {
        ses_message_id: String,
        reason: String,
        evidence: String,
    },
}

impl Verdict {
    pub fn status(&self) -> DigestStatus {
        match self {
            Self::Sent { .. } => DigestStatus::Sent,
            Self::NotDelivered { .. } => DigestStatus::Failed,
        }
    }
}

fn describe(event: &SendEvent) -> String {
    let at = event.occurred_at.format("%Y-%m-%dT%H:%M:%SZ");
    match &event.detail {
        Some(detail) => format!("{} at {at} ({detail})", event.event_type),
        None => format!("{} at {at}", event.event_type),
    }
}

/// The verdict of a send's events (oldest first): a refusal outweighs everything (SES
/// reports `Send` before it rejects), else the first event proves acceptance.
pub fn verdict(events: &[SendEvent]) -> Option<Verdict> {
    let first = events.first()?;
    let listed = events.iter().map(describe).collect::<Vec<_>>().join("; ");
    if let Some(refusal) = events.iter().find(|e| is_refusal(&e.event_type)) {
        return Some(Verdict::NotDelivered {
            ses_message_id: refusal.ses_message_id.clone(),
            reason: format!("not delivered: SES reported {}", describe(refusal)),
            evidence: format!("SES events: {listed}"),
        });
    }
    let accepted_at = events.iter().map(|e| e.occurred_at).min()?;
    Some(Verdict::Sent {
        ses_message_id: first.ses_message_id.clone(),
        at: accepted_at,
        evidence: format!("SES events: {listed}"),
    })
}

/// May this job's status be decided (or revised) by SES's events? Every send not
/// recorded as sent from SES's own answer: an unknown outcome, a settled one (a later
/// refusal revises it), and an attempt taken as refused (queued again, or given up
/// on): if SES says it accepted it after all, that is the truth, and no further
/// attempt is made.
fn settleable(job: &TokenJob) -> bool {
    job.status != DigestStatus::Sent || job.reconciled_at.is_some()
}

/// Acts on an event about a digest send, in one transaction.
pub async fn on_event(
    tx: &mut PgConnection,
    incoming: &IncomingEvent<'_>,
) -> anyhow::Result<EventOutcome> {
    let Some(job) = send_events::lock_job(tx, incoming.send_token).await? else {
        tracing::warn!(
            event_type = %incoming.event.event_type,
            ses_message_id = %incoming.event.ses_message_id,
            "SES event names a digest send we have no record of; ignored"
        );
        return Ok(EventOutcome::Ignored);
    };
    let addressed = job.recipient.as_deref().is_some_and(|to| {
        incoming
            .destination
            .iter()
            .any(|d| d.trim().eq_ignore_ascii_case(to.trim()))
    });
    if !addressed {
        tracing::warn!(
            job_id = job.id,
            event_type = %incoming.event.event_type,
            "SES event with a digest's send token but another recipient; ignored"
        );
        return Ok(EventOutcome::Ignored);
    }
    let in_flight = job.status == DigestStatus::Sending;
    if !in_flight && !settleable(&job) {
        tracing::debug!(job_id = job.id, status = %job.status, "SES event about a digest whose outcome is known");
        return Ok(EventOutcome::Ignored);
    }
    let new = send_events::record(
        &mut *tx,
        incoming.send_token,
        incoming.sns_message_id,
        &incoming.event,
    )
    .await?;
    if !new {
        // SNS delivered this message before; it has been acted on.
        return Ok(EventOutcome::Ignored);
    }
    if in_flight {
        return Ok(EventOutcome::Recorded);
    }
    Ok(if settle_one(tx, &job, incoming.send_token).await? {
        EventOutcome::Settled
    } else {
        EventOutcome::Recorded
    })
}

/// Settles, in the caller's transaction, those of `job_ids` (just ended "outcome
/// unknown" in it) that already have events; returns how many.
pub async fn settle_new_unknowns(tx: &mut PgConnection, job_ids: &[i64]) -> anyhow::Result<usize> {
    if job_ids.is_empty() {
        return Ok(0);
    }
    let mut settled = 0;
    for (job_id, token) in send_events::with_events(&mut *tx, job_ids).await? {
        let Some(job) = send_events::lock_job(tx, token).await? else {
            continue;
        };
        debug_assert_eq!(job.id, job_id);
        if settle_one(tx, &job, token).await? {
            settled += 1;
        }
    }
    Ok(settled)
}

/// Applies the verdict of the send's events to its job, with a reconciliation audit
/// record; false when the events prove nothing new.
async fn settle_one(tx: &mut PgConnection, job: &TokenJob, token: Uuid) -> anyhow::Result<bool> {
    let events = send_events::events_for(&mut *tx, token).await?;
    let Some(verdict) = verdict(&events) else {
        return Ok(false);
    };
    if !job.outcome_unknown && job.status == verdict.status() {
        return Ok(false);
    }
    let previously = if job.outcome_unknown {
        format!(
            "outcome unknown: {}",
            job.last_error.as_deref().unwrap_or("no reason recorded")
        )
    } else {
        job.status.to_string()
    };
    let settlement = match &verdict {
        Verdict::Sent {
            ses_message_id,
            at,
            evidence,
        } => Settlement {
            status: DigestStatus::Sent,
            ses_message_id,
            sent_at: Some(*at),
            last_error: None,
            evidence,
        },
        Verdict::NotDelivered {
            ses_message_id,
            reason,
            evidence,
        } => Settlement {
            status: DigestStatus::Failed,
            ses_message_id,
            sent_at: None,
            last_error: Some(reason),
            evidence,
        },
    };
    let Some(row) = send_events::settle(tx, job.id, &settlement).await? else {
        return Ok(false);
    };
    audit::queue_reconciliation(tx, &row, &previously, settlement.evidence, &events).await?;
    crate::metrics::digest_reconciled(verdict.status());
    tracing::info!(
        job_id = job.id,
        outcome = verdict.status().as_str(),
        previously = %previously,
        "digest outcome settled from SES events"
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, secs: i64, detail: Option<&str>) -> SendEvent {
        SendEvent {
            event_type: kind.into(),
            ses_message_id: "0100019a-ses-id".into(),
            occurred_at: DateTime::from_timestamp(1_790_000_000 + secs, 0).unwrap(),
            detail: detail.map(Into::into),
        }
    }

    #[test]
    fn no_events_prove_nothing() {
        assert_eq!(verdict(&[]), None);
    }

    #[test]
    fn any_acceptance_event_proves_the_message_was_sent_at_the_earliest() {
        for kind in ["Send", "Delivery", "Bounce", "Complaint", "DeliveryDelay"] {
            let v = verdict(&[event(kind, 5, None), event("Delivery", 9, None)]).unwrap();
            let Verdict::Sent {
                at,
                ses_message_id,
                evidence,
            } = v
            else {
                panic!("{kind}: {v:?}")
            };
            assert_eq!(at.timestamp(), 1_790_000_005);
            assert_eq!(ses_message_id, "0100019a-ses-id");
            assert!(evidence.contains(kind), "{evidence}");
        }
    }

    #[test]
    fn a_refusal_outweighs_the_send_event_before_it() {
        let v = verdict(&[
            event("Send", 1, None),
            event("Reject", 2, Some("Bad content")),
        ])
        .unwrap();
        assert_eq!(v.status(), DigestStatus::Failed);
        let Verdict::NotDelivered { reason, .. } = v else {
            unreachable!()
        };
        assert!(
            reason.contains("Reject") && reason.contains("Bad content"),
            "{reason}"
        );
        assert!(is_refusal("Rendering Failure"));
        assert!(!is_refusal("Delivery"));
    }

    #[test]
    fn tags_are_valid_ses_tag_values() {
        let tags = digest_tags(Uuid::new_v4());
        for (name, value) in &tags {
            for s in [name, value] {
                assert!(
                    s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                    "{s}"
                );
            }
        }
    }
}
