//! Sending the queued account emails (confirmation, "account exists", password reset)
//! through the Mailer, and recording each outcome in `email_outbox`.
//!
//! Delivery is at-least-once: a row is claimed under a lease, sent, then marked. A
//! crash between SES accepting and the mark means the lease runs out and the email
//! goes again, which is harmless for confirmation and reset links (the digest has its
//! own, stronger protocol). Each email is rendered, and its link minted, just before
//! the send (`emails::prepare`); a suppressed address is skipped. The loop that calls
//! this is `workers::email_outbox`.

use std::time::Duration;

use futures_util::StreamExt as _;

use super::emails::{self, Prepared};
use crate::clients::mailer::MailError;
use crate::repositories::email_outbox::{self, OutboxEmail};
use crate::state::AppState;

const BATCH: i64 = 20;
/// Longer than the SES client's whole operation timeout (30 s), so a slow send is
/// never taken over by a second worker while it is still in flight.
const LEASE_SECS: i64 = 120;
const MAX_ATTEMPTS: i32 = 8;
const CONCURRENT_SENDS: usize = 4;

/// Backoff after the n-th failed attempt: 10 s, 20 s, 40 s ... capped at 30 minutes.
pub fn retry_delay_secs(attempts: i32) -> i64 {
    let delay =
        crate::backoff::exponential(Duration::from_secs(10), attempts, Duration::from_secs(1800));
    delay.as_secs() as i64
}

/// Claims and sends one batch; returns how many were claimed.
pub async fn send_due(state: &AppState) -> anyhow::Result<usize> {
    let batch = email_outbox::claim_due(&state.db, BATCH, LEASE_SECS).await?;
    let claimed = batch.len();
    futures_util::stream::iter(batch)
        .for_each_concurrent(CONCURRENT_SENDS, |email| deliver(state, email))
        .await;
    Ok(claimed)
}

#[tracing::instrument(skip_all, fields(outbox_id = email.id, kind = %email.kind, attempt = email.attempts))]
async fn deliver(state: &AppState, email: OutboxEmail) {
    let outgoing = match emails::prepare(state, &email).await {
        Ok(Prepared::Send(outgoing)) => outgoing,
        Ok(Prepared::Skip(reason)) => {
            tracing::info!(reason, "email not sent");
            if let Err(error) = email_outbox::mark_skipped(&state.db, email.id, reason).await {
                tracing::error!(error = ?error, "email outbox: could not record the skip");
            }
            return;
        }
        Err(error) => {
            // The lease runs out and the row is claimed again.
            tracing::error!(error = ?error, "email outbox: could not prepare the email");
            return;
        }
    };
    let outcome = state.mailer.send(&outgoing).await;
    let recorded = match &outcome {
        Ok(message_id) => {
            tracing::info!(%message_id, "email sent");
            email_outbox::mark_sent(&state.db, email.id, message_id).await
        }
        // A link email that may have gone out is sent again: a second copy is harmless.
        Err(MailError::Transient(why) | MailError::Unknown(why))
            if email.attempts < MAX_ATTEMPTS =>
        {
            let delay = retry_delay_secs(email.attempts);
            tracing::warn!(error = %why, delay_secs = delay, "email send failed; will retry");
            email_outbox::mark_retry(&state.db, email.id, why, delay).await
        }
        Err(error) => {
            tracing::error!(error = %error, "email send failed for good");
            email_outbox::mark_failed(&state.db, email.id, &error.to_string()).await
        }
    };
    if let Err(error) = recorded {
        // The lease will expire and the email be retried: at-least-once holds.
        tracing::error!(error = ?error, "email outbox: could not record the outcome");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(retry_delay_secs(1), 10);
        assert_eq!(retry_delay_secs(2), 20);
        assert_eq!(retry_delay_secs(3), 40);
        assert_eq!(retry_delay_secs(10), 1800);
        assert_eq!(retry_delay_secs(100), 1800);
    }
}
