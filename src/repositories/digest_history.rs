//! A person's digests as they were sent: the history list, one digest with its body,
//! and dropping old bodies (the record stays).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::{DigestStatus, DigestTrigger};

#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub id: i64,
    pub local_date: NaiveDate,
    pub trigger: DigestTrigger,
    pub status: DigestStatus,
    pub subject: Option<String>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub body_pruned_at: Option<DateTime<Utc>>,
}

/// A person's digests, newest date first; `before` pages backwards by local date.
pub async fn history(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    before: Option<NaiveDate>,
    limit: i64,
) -> sqlx::Result<Vec<HistoryRow>> {
    sqlx::query_as!(
        HistoryRow,
        r#"select id, local_date, trigger as "trigger: DigestTrigger", status as "status: DigestStatus",
                subject, last_error, sent_at, created_at, body_pruned_at
         from digest_jobs
         where user_id = $1 and ($2::date is null or local_date < $2)
         order by local_date desc limit $3"#,
        user_id,
        before,
        limit,
    )
    .fetch_all(db)
    .await
}

#[derive(Debug, Clone)]
pub struct SentDigestRow {
    pub id: i64,
    pub local_date: NaiveDate,
    pub trigger: DigestTrigger,
    pub status: DigestStatus,
    pub recipient: Option<String>,
    pub subject: Option<String>,
    pub html_body: Option<String>,
    pub text_body: Option<String>,
    pub content_hash: Option<String>,
    pub ses_message_id: Option<String>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub body_pruned_at: Option<DateTime<Utc>>,
}

pub async fn get_for_user(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    id: i64,
) -> sqlx::Result<Option<SentDigestRow>> {
    sqlx::query_as!(
        SentDigestRow,
        r#"select id, local_date, trigger as "trigger: DigestTrigger", status as "status: DigestStatus",
                recipient, subject, html_body, text_body, content_hash, ses_message_id, last_error,
                sent_at, body_pruned_at
         from digest_jobs where user_id = $1 and id = $2"#,
        user_id,
        id,
    )
    .fetch_optional(db)
    .await
}

/// Drops the HTML and text of up to `limit` digests finished more than `days` ago whose
/// delivery record is in S3 already (the record's content hash stays checkable until
/// then); the job row, subject and hash stay. Returns how many.
pub async fn prune_bodies(db: impl PgExecutor<'_>, days: u32, limit: i64) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "with old as (
             select j.id from digest_jobs j
             where j.html_body is not null
               and j.finished_at < now() - make_interval(days => $1)
               and not exists (
                   select 1 from audit_outbox a
                   where a.kind = 'delivery' and a.written_at is null
                     and (a.body->>'job_id')::bigint = j.id
               )
             order by j.finished_at
             limit $2
             for update skip locked
         )
         update digest_jobs j
         set html_body = null, text_body = null, body_pruned_at = now()
         from old where j.id = old.id",
        days as i32,
        limit,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
