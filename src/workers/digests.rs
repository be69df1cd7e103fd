//! The digest loops of `serve` and `worker`: the scheduler pass, the delivery worker
//! and the audit flusher. Each is safe to run in any number of processes at once.

use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;

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

/// Handles to the three loops; aborting stops them all.
pub struct DigestWorkers(Vec<JoinHandle<()>>);

impl DigestWorkers {
    pub fn abort(self) {
        for h in self.0 {
            h.abort();
        }
    }
}

pub fn spawn(state: &AppState) -> DigestWorkers {
    DigestWorkers(vec![
        tokio::spawn(scheduler(state.clone())),
        tokio::spawn(deliverer(state.clone())),
        tokio::spawn(flusher(state.clone())),
    ])
}

async fn scheduler(state: AppState) {
    let tick = Duration::from_millis(state.config.digest.scheduler_tick_ms);
    loop {
        if let Err(error) = schedule::schedule_due(&state, "schedule", Utc::now()).await {
            tracing::error!(error = ?error, "digest scheduler pass failed; retrying at the next tick");
        }
        tokio::time::sleep(tick).await;
    }
}

async fn deliverer(state: AppState) {
    let idle = Duration::from_millis(state.config.digest.poll_ms);
    loop {
        match delivery::deliver_batch(&state, batch_size(&state), &Quiet).await {
            Ok(report) if report.claimed > 0 => {
                tracing::info!(?report, "digest batch delivered");
            }
            Ok(_) => {
                tokio::select! {
                    _ = state.digest_wakeup.notified() => {}
                    _ = tokio::time::sleep(idle) => {}
                }
            }
            Err(error) => {
                tracing::error!(error = ?error, "digest delivery batch failed; retrying shortly");
                tokio::time::sleep(idle.max(Duration::from_secs(1))).await;
            }
        }
    }
}

async fn flusher(state: AppState) {
    let idle = Duration::from_millis(state.config.digest.poll_ms);
    loop {
        match audit::flush_once(&state).await {
            Ok(r) if r.claimed > 0 && r.failed == 0 => {}
            Ok(_) => {
                tokio::select! {
                    _ = state.audit_wakeup.notified() => {}
                    _ = tokio::time::sleep(idle) => {}
                }
            }
            Err(error) => {
                tracing::error!(error = ?error, "audit flush failed; retrying shortly");
                tokio::time::sleep(idle.max(Duration::from_secs(1))).await;
            }
        }
    }
}
