//! Digest runs: one row per scheduler pass or "send now", with what it found due, what
//! it queued and what it recorded missed, and the problems of its digests.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::{DigestStatus, DigestTrigger};

pub async fn create_run(db: impl PgExecutor<'_>, trigger: DigestTrigger) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into digest_runs (trigger) values ($1) returning id",
        trigger as DigestTrigger,
    )
    .fetch_one(db)
    .await
}

#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: i64,
    pub trigger: DigestTrigger,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub due: i32,
    pub queued: i32,
    pub missed: i32,
}

pub async fn finish_run(
    db: impl PgExecutor<'_>,
    run_id: i64,
    due: i32,
    queued: i32,
    missed: i32,
) -> sqlx::Result<RunRow> {
    sqlx::query_as!(
        RunRow,
        r#"update digest_runs set finished_at = now(), due = $2, queued = $3, missed = $4
         where id = $1
         returning id, trigger as "trigger: DigestTrigger", started_at, finished_at, due, queued, missed"#,
        run_id,
        due,
        queued,
        missed,
    )
    .fetch_one(db)
    .await
}

/// A run with where its digests stand now.
#[derive(Debug, Clone)]
pub struct RunSummaryRow {
    pub id: i64,
    pub trigger: DigestTrigger,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub due: i32,
    pub queued: i32,
    pub missed: i32,
    pub sent: i64,
    pub failed: i64,
    pub skipped: i64,
    pub in_progress: i64,
}

// `list_runs` and `get_run` select the same summary, written out in each: the macros
// take one string literal, and one query for both (`$1 is null or r.id = $1`) would lose
// the primary-key lookup under a generic plan.

/// Newest first; `before` pages backwards by id.
pub async fn list_runs(
    db: impl PgExecutor<'_>,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<RunSummaryRow>> {
    sqlx::query_as!(
        RunSummaryRow,
        r#"select r.id, r.trigger as "trigger: DigestTrigger", r.started_at, r.finished_at, r.due, r.queued, r.missed,
        count(*) filter (where j.status = 'sent') as "sent!",
        count(*) filter (where j.status = 'failed') as "failed!",
        count(*) filter (where j.status = 'skipped') as "skipped!",
        count(*) filter (where j.status in ('pending', 'claimed', 'sending')) as "in_progress!"
 from digest_runs r left join digest_jobs j on j.run_id = r.id
 where ($1::bigint is null or r.id < $1)
 group by r.id order by r.id desc limit $2"#,
        before,
        limit,
    )
    .fetch_all(db)
    .await
}

pub async fn get_run(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<RunSummaryRow>> {
    sqlx::query_as!(
        RunSummaryRow,
        r#"select r.id, r.trigger as "trigger: DigestTrigger", r.started_at, r.finished_at, r.due, r.queued, r.missed,
        count(*) filter (where j.status = 'sent') as "sent!",
        count(*) filter (where j.status = 'failed') as "failed!",
        count(*) filter (where j.status = 'skipped') as "skipped!",
        count(*) filter (where j.status in ('pending', 'claimed', 'sending')) as "in_progress!"
 from digest_runs r left join digest_jobs j on j.run_id = r.id
 where r.id = $1 group by r.id"#,
        id,
    )
    .fetch_optional(db)
    .await
}

/// Jobs of a run that did not end as sent, for operators, with their audit record.
#[derive(Debug, Clone)]
pub struct RunProblemRow {
    pub job_id: i64,
    pub user_id: Uuid,
    pub local_date: NaiveDate,
    pub status: DigestStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// The delivery record's key in the audit bucket; none while the job has no record.
    pub audit_key: Option<String>,
    pub audit_written_at: Option<DateTime<Utc>>,
}

pub async fn run_problems(
    db: impl PgExecutor<'_>,
    run_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<RunProblemRow>> {
    // A job has one delivery record (it is queued when the job finishes); the first
    // one is taken should that ever change. `audit_outbox_delivery_job_idx`.
    // `audit_key?`: sqlx reads `audit_outbox.key` as not null (the column is) and misses
    // that the lateral left join makes it null for a job without a record.
    sqlx::query_as!(
        RunProblemRow,
        r#"select j.id as job_id, j.user_id, j.local_date, j.status as "status: DigestStatus", j.attempts,
                j.last_error, a.key as "audit_key?", a.written_at as audit_written_at
         from digest_jobs j
         left join lateral (
             select key, written_at from audit_outbox
             where kind = 'delivery' and body ->> 'job_id' = j.id::text
             order by id limit 1
         ) a on true
         where j.run_id = $1 and j.status in ('failed', 'skipped', 'missed')
         order by j.id limit $2"#,
        run_id,
        limit,
    )
    .fetch_all(db)
    .await
}

/// Deletes up to `limit` runs finished more than `days` ago that queued nothing and
/// recorded nothing missed (their audit record keeps what they were); returns how many.
pub async fn prune_empty_runs(db: impl PgExecutor<'_>, days: u32, limit: i64) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "delete from digest_runs where id in (
             select r.id from digest_runs r
             where r.queued = 0 and r.missed = 0
               and r.finished_at < now() - make_interval(days => $1)
               and not exists (select 1 from digest_jobs j where j.run_id = r.id)
             order by r.finished_at
             limit $2
             for update skip locked
         )",
        days as i32,
        limit,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
