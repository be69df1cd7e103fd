//! Housekeeping: expired sessions and links, idle rate-limiter keys.

use std::time::Duration;

use crate::repositories::{sessions, tokens};
use crate::state::AppState;

pub async fn run(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(600));
    loop {
        every.tick().await;
        state.login_throttle.forget_idle();
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
    }
}
