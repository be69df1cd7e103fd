//! The digest loops of `serve` and `worker`: the scheduler pass, the delivery worker
//! and the audit flusher. Each is safe to run in any number of processes at once, and
//! each returns once `state.shutdown` is cancelled (see `workers::Workers`).

use std::time::Duration;

use chrono::Utc;

use crate::domain::DigestTrigger;
use crate::services::audit;
use crate::services::digest::delivery::{self, Quiet};
use crate::services::digest::schedule;
use crate::state::AppState;

/// Digests claimed per batch: enough to amortise the batch's market-data reads, few
/// enough that sending them at the paced rate takes a quarter of the claim lease.
pub fn batch_size(state: &AppState) -> i64 {
    let per_second = state.ses_pacer_rate();
    let lease = crate::services::digest::delivery::claim_lease_secs(state);
    (per_second * lease / 4.0).clamp(1.0, 500.0) as i64
}

/// Sleeps for `duration` or until the process stops; false when it stops.
pub(crate) async fn pause(state: &AppState, duration: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => true,
        () = state.shutdown.cancelled() => false,
    }
}

pub(crate) async fn scheduler(state: AppState) {
    let tick = Duration::from_millis(state.config.digests.scheduler_tick_ms);
    while !state.shutdown.is_cancelled() {
        if let Err(error) =
            schedule::schedule_due(&state, DigestTrigger::Schedule, Utc::now()).await
        {
            tracing::error!(error = ?error, "digest scheduler pass failed; retrying at the next tick");
        }
        if !pause(&state, tick).await {
            break;
        }
    }
}

/// Claims and sends batches until the process stops; a batch in progress on a
/// shutdown gives back what it has not started and finishes what it has.
pub(crate) async fn deliverer(state: AppState) {
    let idle = Duration::from_millis(state.config.digests.poll_ms);
    while !state.shutdown.is_cancelled() {
        match delivery::deliver_batch(&state, batch_size(&state), &Quiet).await {
            Ok(report) if report.claimed > 0 => {
                tracing::info!(?report, "digest batch delivered");
            }
            Ok(_) => {
                tokio::select! {
                    _ = state.digest_wakeup.notified() => {}
                    _ = tokio::time::sleep(idle) => {}
                    _ = state.shutdown.cancelled() => {}
                }
            }
            Err(error) => {
                tracing::error!(error = ?error, "digest delivery batch failed; retrying shortly");
                pause(&state, idle.max(Duration::from_secs(1))).await;
            }
        }
    }
}

/// Puts audit records to S3 until the process stops, then makes one last pass so the
/// records of the digests just finished are not left waiting for another process.
pub(crate) async fn flusher(state: AppState) {
    let idle = Duration::from_millis(state.config.digests.poll_ms);
    while !state.shutdown.is_cancelled() {
        match audit::flush_once(&state).await {
            Ok(r) if r.claimed > 0 && r.failed == 0 => {}
            Ok(_) => {
                tokio::select! {
                    _ = state.audit_wakeup.notified() => {}
                    _ = tokio::time::sleep(idle) => {}
                    _ = state.shutdown.cancelled() => {}
                }
            }
            Err(error) => {
                tracing::error!(error = ?error, "audit flush failed; retrying shortly");
                pause(&state, idle.max(Duration::from_secs(1))).await;
            }
        }
    }
    // The delivery loop may still be recording its last outcomes: a short last pass,
    // bounded by the shutdown deadline; what is left is flushed by any other process.
    tokio::time::sleep(Duration::from_millis(200)).await;
    match audit::flush_once(&state).await {
        Ok(r) => tracing::info!(written = r.claimed, "audit records flushed before stopping"),
        Err(error) => {
            tracing::warn!(error = ?error, "last audit flush failed; another process will write them")
        }
    }
}
