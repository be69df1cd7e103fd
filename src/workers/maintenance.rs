//! Housekeeping: expired sessions and links, idle rate-limiter keys, and retention
//! (rows whose purpose is served and accounts never confirmed, ADR 0011).

use std::time::Duration;

use crate::repositories::{sessions, tokens};
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
        // One process at a time; the others skip the pass. Unconfirmed accounts too.
        if let Err(error) = crate::services::retention::prune(&state).await {
            tracing::warn!(error = ?error, "retention pass failed");
        }
    }
}
