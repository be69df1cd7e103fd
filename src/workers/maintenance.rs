//! Housekeeping: expired sessions and links, accounts never confirmed, idle
//! rate-limiter keys, and retention (rows whose purpose is served, ADR 0011).

use std::time::Duration;

use crate::repositories::{sessions, tokens, users};
use crate::state::AppState;

pub async fn run(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(600));
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = state.shutdown.cancelled() => return,
        }
        state.login_throttle.forget_idle();
        state.abuse.forget_idle();
        purge_unconfirmed(&state).await;
        match sessions::purge_expired(&state.db).await {
            Ok(n) if n > 0 => tracing::info!(purged = n, "expired sessions purged"),
            Ok(_) => {}
            Err(error) => tracing::warn!(error = ?error, "purging expired sessions failed"),
        }
        match tokens::purge_expired(&state.db).await {
            Ok(n) if n > 0 => tracing::info!(purged = n, "expired email links purged"),
            Ok(_) => {}
            Err(error) => tracing::warn!(error = ?error, "purging expired email links failed"),
        }
        // One process at a time; the others skip the pass.
        if let Err(error) = crate::services::retention::prune(&state).await {
            tracing::warn!(error = ?error, "retention pass failed");
        }
    }
}

/// Deletes accounts never confirmed within `QUOTIDIAN_UNCONFIRMED_ACCOUNT_DAYS`, in small
/// batches (each its own short statement; `skip locked` lets instances share the work).
pub async fn purge_unconfirmed(state: &AppState) -> u64 {
    let mut purged = 0;
    loop {
        match users::purge_unconfirmed(&state.db, state.config.unconfirmed_account_days, 500).await
        {
            Ok(0) => break,
            Ok(n) => purged += n,
            Err(error) => {
                tracing::warn!(error = ?error, "purging unconfirmed accounts failed");
                break;
            }
        }
    }
    if purged > 0 {
        tracing::info!(purged, "accounts never confirmed were deleted");
    }
    purged
}
