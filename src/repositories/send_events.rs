//! SES's events about digest sends whose outcome we do not know for certain, and the
//! jobs they settle (ADR 0006). A job is found by the send token its attempt gave SES
//! as a message tag.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::digest_jobs::JobRecordRow;
use crate::domain::{DigestStatus, DigestTrigger};

/// The job an event's send token names, locked for the caller's transaction.
#[derive(Debug, Clone)]
pub struct TokenJob {
    pub id: i64,
    pub status: DigestStatus,
    pub attempts: i32,
    pub recipient: Option<String>,
    pub outcome_unknown: bool,
    pub reconciled_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

pub async fn lock_job(tx: &mut PgConnection, token: Uuid) -> sqlx::Result<Option<TokenJob>> {
    sqlx::query_as!(
        TokenJob,
        r#"select id, status as "status: DigestStatus", attempts, recipient, outcome_unknown,
                  reconciled_at, last_error
         from digest_jobs where send_token = $1
         for update"#,
        token
    )
    .fetch_optional(tx)
    .await
}

/// One SES event about a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendEvent {
    /// SES's `eventType`: `Send`, `Delivery`, `Reject`, `Bounce` ...
    pub event_type: String,
    pub ses_message_id: String,
    pub occurred_at: DateTime<Utc>,
    /// What SES said besides the type (a reject's reason, a bounce's type, ...).
    pub detail: Option<String>,
}

/// Keeps an event; false when SNS delivered this message before.
pub async fn record(
    db: impl PgExecutor<'_>,
    token: Uuid,
    sns_message_id: &str,
    event: &SendEvent,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "insert into ses_send_events (send_token, event_type, ses_message_id, occurred_at, detail, sns_message_id)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (sns_message_id) do nothing",
        token,
        event.event_type,
        event.ses_message_id,
        event.occurred_at,
        event.detail,
        sns_message_id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The events kept for a send, oldest first.
pub async fn events_for(db: impl PgExecutor<'_>, token: Uuid) -> sqlx::Result<Vec<SendEvent>> {
    sqlx::query_as!(
        SendEvent,
        "select event_type, ses_message_id, occurred_at, detail from ses_send_events
         where send_token = $1 order by occurred_at, id",
        token
    )
    .fetch_all(db)
    .await
}

/// Which of these jobs (just ended "outcome unknown") have events waiting for them:
/// (job id, send token).
pub async fn with_events(
    db: impl PgExecutor<'_>,
    job_ids: &[i64],
) -> sqlx::Result<Vec<(i64, Uuid)>> {
    let rows = sqlx::query!(
        r#"select j.id, j.send_token as "send_token!" from digest_jobs j
         where j.id = any($1) and j.outcome_unknown
           and exists (select 1 from ses_send_events e where e.send_token = j.send_token)"#,
        job_ids
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.send_token)).collect())
}

/// What SES's events proved about a send.
pub struct Settlement<'a> {
    pub status: DigestStatus,
    pub ses_message_id: &'a str,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<&'a str>,
    pub evidence: &'a str,
}

/// Settles a job from its events (the caller holds its row lock): its status and SES
/// message id become what the events proved, and it is no longer "outcome unknown".
pub async fn settle(
    tx: &mut PgConnection,
    job_id: i64,
    settlement: &Settlement<'_>,
) -> sqlx::Result<Option<JobRecordRow>> {
    sqlx::query_as!(
        JobRecordRow,
        r#"update digest_jobs
         set status = $2, ses_message_id = $3, sent_at = $4, last_error = $5, evidence = $6,
             outcome_unknown = false, reconciled_at = now(),
             finished_at = coalesce(finished_at, now()), lease_until = null
         where id = $1
         returning id, user_id, local_date, run_id, trigger as "trigger: DigestTrigger", due_at,
                   status as "status: DigestStatus", attempts, last_error, content_hash,
                   ses_message_id, sent_at, finished_at, created_at"#,
        job_id,
        settlement.status as DigestStatus,
        settlement.ses_message_id,
        settlement.sent_at,
        settlement.last_error,
        settlement.evidence
    )
    .fetch_optional(tx)
    .await
}

/// Deletes up to `limit` events received more than `days` days ago.
pub async fn prune(db: impl PgExecutor<'_>, days: u32, limit: i64) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "delete from ses_send_events where id in (
             select id from ses_send_events
             where received_at < now() - make_interval(days => $1)
             order by received_at limit $2
         )",
        days as i32,
        limit
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Digests that ended "outcome unknown" and no event has settled (yet).
pub async fn unresolved(db: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"select count(*) as "count!" from digest_jobs where outcome_unknown"#)
        .fetch_one(db)
        .await
}
