//! The loop that drains `email_outbox`: a batch whenever one is queued (woken by
//! `outbox_wakeup`) or every `QUOTIDIAN_OUTBOX_POLL_MS`. What a batch does (the
//! sends and their outcomes) is `services::email_outbox`.

use std::time::Duration;

use crate::services::email_outbox;
use crate::state::AppState;

/// Drains the outbox until the process stops; a batch in progress finishes first.
pub async fn run(state: AppState) {
    let idle = Duration::from_millis(state.config.ses.outbox_poll_ms);
    while !state.shutdown.is_cancelled() {
        match email_outbox::send_due(&state).await {
            Ok(0) => {
                tokio::select! {
                    _ = state.outbox_wakeup.notified() => {}
                    _ = tokio::time::sleep(idle) => {}
                    _ = state.shutdown.cancelled() => {}
                }
            }
            Ok(_) => {}
            Err(error) => {
                tracing::error!(error = ?error, "email outbox: claiming failed; retrying shortly");
                super::digests::pause(&state, idle.max(Duration::from_secs(1))).await;
            }
        }
    }
}
