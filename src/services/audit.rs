//! Audit records: what they hold, their keys, and the flusher that puts them to S3.
//!
//! A record is queued in `audit_outbox` in the same transaction as the state it
//! describes, so a committed delivery always has its record queued. The flusher puts
//! each to S3 under a key derived from the record's own id with `If-None-Match: *`;
//! "already there" counts as done. S3 being down only grows the outbox.

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::clients::audit::{AuditError, PutOutcome};
use crate::domain::DigestStatus;
use crate::repositories::audit_outbox;
use crate::repositories::digest_jobs::JobRecordRow;
use crate::repositories::digest_runs::RunRow;
use crate::state::AppState;

pub const KIND_DELIVERY: &str = "delivery";
pub const KIND_RUN: &str = "run";
/// SES's events settled a delivery whose outcome was unknown. The delivery record stays
/// as it was written; this one says what was learnt afterwards, and from what.
pub const KIND_RECONCILIATION: &str = "reconciliation";
const FORMAT_VERSION: u32 = 1;

/// Lease on claimed records: longer than the S3 client's whole operation timeout.
const LEASE_SECS: f64 = 90.0;
const BATCH: i64 = 100;
const CONCURRENT_PUTS: usize = 8;

/// The key of a delivery record, derived from the record's id: a UUID made when the
/// record is queued, so keys never collide (not even across databases sharing a
/// bucket), and a record re-sent after a crash lands on its own key again.
pub fn delivery_key(job: &JobRecordRow, record_id: Uuid) -> String {
    format!("deliveries/{}/{record_id}.json", job.local_date)
}

pub fn run_key(run: &RunRow, record_id: Uuid) -> String {
    format!("runs/{}/{record_id}.json", run.started_at.date_naive())
}

/// SHA-256 of a digest's subject, HTML and text, as recorded in its audit record.
pub fn content_hash(subject: &str, html: &str, text: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [subject, html, text] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    format!("sha256:{:x}", hasher.finalize())
}

pub fn delivery_record(job: &JobRecordRow, record_id: Uuid) -> Value {
    json!({
        "record": KIND_DELIVERY,
        "version": FORMAT_VERSION,
        "record_id": record_id,
        "job_id": job.id,
        "user_id": job.user_id,
        "local_date": job.local_date,
        "run_id": job.run_id,
        "trigger": job.trigger,
        "outcome": job.status,
        "reason": job.last_error,
        "attempts": job.attempts,
        "ses_message_id": job.ses_message_id,
        "content_hash": job.content_hash,
        "due_at": job.due_at,
        "queued_at": job.created_at,
        "sent_at": job.sent_at,
        "finished_at": job.finished_at,
    })
}

pub fn run_record(run: &RunRow, record_id: Uuid) -> Value {
    json!({
        "record": KIND_RUN,
        "version": FORMAT_VERSION,
        "record_id": record_id,
        "run_id": run.id,
        "trigger": run.trigger,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "due": run.due,
        "queued": run.queued,
        "missed": run.missed,
    })
}

/// Queues the delivery records of finished jobs, in the caller's transaction.
pub async fn queue_deliveries(tx: &mut PgConnection, jobs: &[&JobRecordRow]) -> sqlx::Result<()> {
    let ids: Vec<Uuid> = jobs.iter().map(|_| Uuid::new_v4()).collect();
    let keys: Vec<String> = jobs
        .iter()
        .zip(&ids)
        .map(|(j, id)| delivery_key(j, *id))
        .collect();
    let bodies: Vec<Value> = jobs
        .iter()
        .zip(&ids)
        .map(|(j, id)| delivery_record(j, *id))
        .collect();
    audit_outbox::enqueue_many(&mut *tx, KIND_DELIVERY, &keys, &bodies).await
}

/// Queues the delivery record of a job whose outcome is not known yet (it is inside
/// the SES call), to be put to S3 as it is from `until` on unless its worker reports
/// the outcome first (`complete_awaiting_delivery`).
pub async fn queue_awaiting_delivery(
    tx: &mut PgConnection,
    job: &JobRecordRow,
    until: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<()> {
    let id = Uuid::new_v4();
    audit_outbox::enqueue_awaiting(
        &mut *tx,
        &delivery_key(job, id),
        &delivery_record(job, id),
        until,
    )
    .await
}

/// Writes a worker's outcome into the delivery record awaiting it; false when no record
/// awaits that job attempt (or the flusher has already taken it).
pub async fn complete_awaiting_delivery(
    tx: &mut PgConnection,
    job_id: i64,
    attempts: i32,
    status: DigestStatus,
    reason: Option<&str>,
    ses_message_id: Option<&str>,
) -> sqlx::Result<bool> {
    let now = chrono::Utc::now();
    let patch = json!({
        "outcome": status,
        "reason": reason,
        "ses_message_id": ses_message_id,
        "sent_at": (status == DigestStatus::Sent).then_some(now),
        "finished_at": now,
    });
    audit_outbox::complete_awaiting(&mut *tx, job_id, attempts, &patch).await
}

/// Queues the record of a settlement: the job as it is now, what it was before, and the
/// SES events that proved it.
pub async fn queue_reconciliation(
    tx: &mut PgConnection,
    job: &JobRecordRow,
    previously: &str,
    evidence: &str,
    events: &[crate::repositories::send_events::SendEvent],
) -> sqlx::Result<()> {
    let id = Uuid::new_v4();
    let key = format!("reconciliations/{}/{id}.json", job.local_date);
    let events: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "event_type": e.event_type,
                "ses_message_id": e.ses_message_id,
                "occurred_at": e.occurred_at,
                "detail": e.detail,
            })
        })
        .collect();
    let body = json!({
        "record": KIND_RECONCILIATION,
        "version": FORMAT_VERSION,
        "record_id": id,
        "job_id": job.id,
        "user_id": job.user_id,
        "local_date": job.local_date,
        "attempts": job.attempts,
        "previous_outcome": previously,
        "outcome": job.status,
        "reason": job.last_error,
        "ses_message_id": job.ses_message_id,
        "sent_at": job.sent_at,
        "evidence": evidence,
        "events": events,
        "reconciled_at": chrono::Utc::now(),
    });
    audit_outbox::enqueue(&mut *tx, KIND_RECONCILIATION, &key, &body).await
}

pub async fn queue_run(tx: &mut PgConnection, run: &RunRow) -> sqlx::Result<()> {
    let id = Uuid::new_v4();
    audit_outbox::enqueue(&mut *tx, KIND_RUN, &run_key(run, id), &run_record(run, id)).await
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FlushReport {
    pub claimed: usize,
    pub written: usize,
    pub already_there: usize,
    pub failed: usize,
}

/// Backoff after the n-th failed put: 2 s, 4 s ... capped at 5 minutes.
fn retry_delay_secs(attempts: i32) -> f64 {
    let delay = crate::backoff::exponential(
        std::time::Duration::from_secs(2),
        attempts,
        std::time::Duration::from_secs(300),
    );
    delay.as_secs_f64()
}

/// Puts one batch of pending records to the audit store.
pub async fn flush_once(state: &AppState) -> anyhow::Result<FlushReport> {
    use futures_util::StreamExt as _;

    let batch = audit_outbox::claim(&state.db, BATCH, LEASE_SECS).await?;
    let mut report = FlushReport {
        claimed: batch.len(),
        ..FlushReport::default()
    };
    let results: Vec<(i64, i32, Result<PutOutcome, AuditError>)> =
        futures_util::stream::iter(batch)
            .map(|record| async move {
                let body = serde_json::to_vec_pretty(&record.body).unwrap_or_default();
                let outcome = state
                    .audit
                    .put_once(&record.key, &body, "application/json")
                    .await;
                (record.id, record.attempts, outcome)
            })
            .buffer_unordered(CONCURRENT_PUTS)
            .collect()
            .await;
    let mut done = Vec::new();
    for (id, attempts, outcome) in results {
        match outcome {
            Ok(PutOutcome::Written) => {
                report.written += 1;
                done.push(id);
            }
            Ok(PutOutcome::AlreadyThere) => {
                report.already_there += 1;
                done.push(id);
            }
            Err(error) => {
                report.failed += 1;
                let delay = retry_delay_secs(attempts);
                tracing::warn!(record = id, attempts, delay_secs = delay, error = %error, "audit record not stored yet; will retry");
                audit_outbox::mark_retry(&state.db, id, &error.to_string(), delay).await?;
            }
        }
    }
    audit_outbox::mark_written(&state.db, &done).await?;
    Ok(report)
}

/// Flushes until nothing is due or `deadline` passes; for `quotidian run`.
pub async fn flush_all(state: &AppState, deadline: Duration) -> anyhow::Result<FlushReport> {
    let until = tokio::time::Instant::now() + deadline;
    let mut total = FlushReport::default();
    loop {
        let r = flush_once(state).await?;
        total.claimed += r.claimed;
        total.written += r.written;
        total.already_there += r.already_there;
        total.failed += r.failed;
        if r.claimed == 0 || r.failed > 0 || tokio::time::Instant::now() >= until {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_hash_separates_its_parts() {
        assert_ne!(content_hash("ab", "c", ""), content_hash("a", "bc", ""));
        assert_eq!(content_hash("s", "h", "t"), content_hash("s", "h", "t"));
        assert!(content_hash("s", "h", "t").starts_with("sha256:"));
    }

    #[test]
    fn put_retries_back_off() {
        assert_eq!(retry_delay_secs(1), 2.0);
        assert_eq!(retry_delay_secs(3), 8.0);
        assert_eq!(retry_delay_secs(30), 300.0);
    }
}
