//! The digest queue: one job per (person, local date), queued by the scheduler,
//! claimed by workers with `for update skip locked`, and moved through its states
//! (ADR 0006; the state machine is described in the migration). Also what a delivery
//! batch reads about its recipients.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::{DigestStatus, DigestTrigger, SuppressionReason};

#[derive(Debug, Clone)]
pub struct DueUserRow {
    pub user_id: Uuid,
    pub time_zone: String,
    pub send_time: NaiveTime,
    pub days: String,
    pub next_send_at: DateTime<Utc>,
}

/// The database's clock. Every process schedules by this one clock, so a host whose
/// clock is off neither sends early nor records days as missed that have not ended.
/// (`statement_timestamp()`, not `now()`: inside a transaction that waited for a lock,
/// `now()` is the instant the transaction began.)
pub async fn database_now(db: impl PgExecutor<'_>) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar!(r#"select statement_timestamp() as "now!""#)
        .fetch_one(db)
        .await
}

/// The person's newest digest job date, and the latest instant one was due: what
/// [`crate::domain::Schedule::served_through`] needs. Every status counts, because
/// every job holds its (person, date) key.
pub async fn latest_for_user(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
) -> sqlx::Result<(Option<NaiveDate>, Option<DateTime<Utc>>)> {
    let latest = sqlx::query!(
        "select max(local_date) as local_date, max(due_at) as due_at
         from digest_jobs where user_id = $1",
        user_id
    )
    .fetch_one(db)
    .await?;
    Ok((latest.local_date, latest.due_at))
}

/// Up to `limit` people whose next digest is due by `now`, locked until the
/// transaction ends; rows another scheduler holds are skipped. An index range scan
/// over due rows only (`preferences_next_send_at_idx`).
pub async fn lock_due_users(
    tx: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<DueUserRow>> {
    sqlx::query_as!(
        DueUserRow,
        r#"select user_id, time_zone, send_time, days, next_send_at as "next_send_at!"
         from preferences
         where next_send_at <= $1
         order by next_send_at
         limit $2
         for update skip locked"#,
        now,
        limit
    )
    .fetch_all(tx)
    .await
}

pub async fn set_next_send(
    tx: &mut PgConnection,
    user_ids: &[Uuid],
    next: &[Option<DateTime<Utc>>],
) -> sqlx::Result<()> {
    sqlx::query!(
        "update preferences p set next_send_at = n.next
         from unnest($1::uuid[], $2::timestamptz[]) as n (user_id, next)
         where p.user_id = n.user_id",
        user_ids,
        next as &[Option<DateTime<Utc>>]
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// Jobs to create, column by column.
#[derive(Debug, Default)]
pub struct NewJobs {
    pub user_ids: Vec<Uuid>,
    pub local_dates: Vec<NaiveDate>,
    pub due_ats: Vec<DateTime<Utc>>,
    /// `pending`, or `missed` for a local date that had already ended.
    pub statuses: Vec<DigestStatus>,
    pub errors: Vec<Option<String>>,
}

impl NewJobs {
    pub fn push(
        &mut self,
        user_id: Uuid,
        local_date: NaiveDate,
        due_at: DateTime<Utc>,
        status: DigestStatus,
        error: Option<String>,
    ) {
        self.user_ids.push(user_id);
        self.local_dates.push(local_date);
        self.due_ats.push(due_at);
        self.statuses.push(status);
        self.errors.push(error);
    }

    pub fn len(&self) -> usize {
        self.user_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.user_ids.is_empty()
    }
}

/// A job as the audit trail records it. (`FromRow` too: tests read jobs with their own
/// queries.)
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRecordRow {
    pub id: i64,
    pub user_id: Uuid,
    pub local_date: NaiveDate,
    pub run_id: Option<i64>,
    pub trigger: DigestTrigger,
    pub due_at: DateTime<Utc>,
    pub status: DigestStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub content_hash: Option<String>,
    pub ses_message_id: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Inserts the jobs that do not exist yet (one per person and local date) and returns
/// those it inserted. Missed ones are inserted already finished.
pub async fn insert_jobs(
    tx: &mut PgConnection,
    run_id: Option<i64>,
    trigger: DigestTrigger,
    jobs: &NewJobs,
) -> sqlx::Result<Vec<JobRecordRow>> {
    sqlx::query_as!(
        JobRecordRow,
        r#"insert into digest_jobs (user_id, local_date, run_id, trigger, due_at, status, last_error, finished_at)
         select j.user_id, j.local_date, $1, $2, j.due_at, j.status, j.error,
                case when j.status = 'pending' then null else now() end
         from unnest($3::uuid[], $4::date[], $5::timestamptz[], $6::text[], $7::text[])
              as j (user_id, local_date, due_at, status, error)
         on conflict (user_id, local_date) do nothing
         returning id, user_id, local_date, run_id, trigger as "trigger: DigestTrigger", due_at,
                   status as "status: DigestStatus", attempts, last_error, content_hash,
                   ses_message_id, sent_at, finished_at, created_at"#,
        run_id,
        trigger as DigestTrigger,
        &jobs.user_ids,
        &jobs.local_dates,
        &jobs.due_ats,
        &jobs.statuses as &[DigestStatus],
        &jobs.errors as &[Option<String>]
    )
    .fetch_all(tx)
    .await
}

/// A digest still on its way, as account deletion finds it.
#[derive(Debug, Clone)]
pub struct UnfinishedJobRow {
    pub job: JobRecordRow,
    pub lease_until: Option<DateTime<Utc>>,
    /// True unless a worker's lease on it is still running.
    pub lease_over: bool,
}

/// The person's digests not finished yet, locked until the transaction ends: a worker
/// cannot move one on (claim it, start sending it, finish it) meanwhile.
pub async fn lock_unfinished_for_user(
    tx: &mut PgConnection,
    user_id: Uuid,
) -> sqlx::Result<Vec<UnfinishedJobRow>> {
    let rows = sqlx::query!(
        r#"select id, user_id, local_date, run_id, trigger as "trigger: DigestTrigger", due_at,
                   status as "status: DigestStatus", attempts, last_error, content_hash,
                   ses_message_id, sent_at, finished_at, created_at,
                   lease_until, coalesce(lease_until < now(), true) as "lease_over!"
         from digest_jobs
         where user_id = $1 and status in ('pending', 'claimed', 'sending')
         order by id
         for update"#,
        user_id
    )
    .fetch_all(tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| UnfinishedJobRow {
            job: JobRecordRow {
                id: r.id,
                user_id: r.user_id,
                local_date: r.local_date,
                run_id: r.run_id,
                trigger: r.trigger,
                due_at: r.due_at,
                status: r.status,
                attempts: r.attempts,
                last_error: r.last_error,
                content_hash: r.content_hash,
                ses_message_id: r.ses_message_id,
                sent_at: r.sent_at,
                finished_at: r.finished_at,
                created_at: r.created_at,
            },
            lease_until: r.lease_until,
            lease_over: r.lease_over,
        })
        .collect())
}

pub async fn find_for_day(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    local_date: NaiveDate,
) -> sqlx::Result<Option<JobRecordRow>> {
    sqlx::query_as!(
        JobRecordRow,
        r#"select id, user_id, local_date, run_id, trigger as "trigger: DigestTrigger", due_at,
                   status as "status: DigestStatus", attempts, last_error, content_hash,
                   ses_message_id, sent_at, finished_at, created_at
         from digest_jobs where user_id = $1 and local_date = $2"#,
        user_id,
        local_date
    )
    .fetch_optional(db)
    .await
}

// ---- delivery ----------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct ClaimedJobRow {
    pub id: i64,
    pub user_id: Uuid,
    pub local_date: NaiveDate,
    pub trigger: DigestTrigger,
    pub attempts: i32,
}

/// Claims up to `limit` ready jobs under a lease. Nothing has been sent for a claimed
/// job, so one whose lease runs out simply goes back to `pending`.
pub async fn claim(
    db: impl PgExecutor<'_>,
    limit: i64,
    lease_secs: f64,
) -> sqlx::Result<Vec<ClaimedJobRow>> {
    sqlx::query_as!(
        ClaimedJobRow,
        r#"with ready as (
             select id from digest_jobs
             where status = 'pending' and next_attempt_at <= now()
             order by next_attempt_at, id
             limit $1
             for update skip locked
         )
         update digest_jobs j
         set status = 'claimed', attempts = j.attempts + 1,
             lease_until = now() + make_interval(secs => $2)
         from ready where j.id = ready.id
         returning j.id, j.user_id, j.local_date, j.trigger as "trigger: DigestTrigger", j.attempts"#,
        limit,
        lease_secs
    )
    .fetch_all(db)
    .await
}

pub struct SendingContent<'a> {
    /// This attempt's send token, given to SES as a message tag (see `send_events`).
    pub send_token: Uuid,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub html: &'a str,
    pub text: &'a str,
    pub content_hash: &'a str,
}

/// Records the digest and moves the job to `sending`, committed before SES is called.
/// False when this worker's claim is gone (its lease ran out and someone else took
/// the job): then it must not send.
pub async fn mark_sending(
    db: impl PgExecutor<'_>,
    id: i64,
    attempts: i32,
    lease_secs: f64,
    content: &SendingContent<'_>,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update digest_jobs
         set status = 'sending', lease_until = now() + make_interval(secs => $3),
             recipient = $4, subject = $5, html_body = $6, text_body = $7, content_hash = $8,
             send_token = $9
         where id = $1 and status = 'claimed' and attempts = $2",
        id,
        attempts,
        lease_secs,
        content.recipient,
        content.subject,
        content.html,
        content.text,
        content.content_hash,
        content.send_token
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends a job this worker holds (`claimed` or `sending`, same attempt) as `sent`,
/// `failed` or `skipped`; `outcome_unknown` when the SES call ended without proof
/// either way. `None` when the job is no longer this worker's.
pub async fn finish(
    tx: &mut PgConnection,
    id: i64,
    attempts: i32,
    status: DigestStatus,
    error: Option<&str>,
    ses_message_id: Option<&str>,
    outcome_unknown: bool,
) -> sqlx::Result<Option<JobRecordRow>> {
    sqlx::query_as!(
        JobRecordRow,
        r#"update digest_jobs
         set status = $3, last_error = $4, ses_message_id = $5, outcome_unknown = $6,
             sent_at = case when $3 = 'sent' then now() end,
             finished_at = now(), lease_until = null
         where id = $1 and attempts = $2 and status in ('claimed', 'sending')
         returning id, user_id, local_date, run_id, trigger as "trigger: DigestTrigger", due_at,
                   status as "status: DigestStatus", attempts, last_error, content_hash,
                   ses_message_id, sent_at, finished_at, created_at"#,
        id,
        attempts,
        status as DigestStatus,
        error,
        ses_message_id,
        outcome_unknown
    )
    .fetch_optional(tx)
    .await
}

/// SES refused the digest for now (throttling, a transient error): back to `pending`.
pub async fn retry_later(
    db: impl PgExecutor<'_>,
    id: i64,
    attempts: i32,
    error: &str,
    delay_ms: u64,
) -> sqlx::Result<bool> {
    let delay_secs = delay_ms as f64 / 1000.0;
    let done = sqlx::query!(
        "update digest_jobs
         set status = 'pending', lease_until = null, last_error = $3,
             next_attempt_at = now() + make_interval(secs => $4)
         where id = $1 and attempts = $2 and status in ('claimed', 'sending')",
        id,
        attempts,
        error,
        delay_secs
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Renews the leases of a batch this worker still holds, as long as it lives: a claim
/// for `claim_secs` more, a digest inside its SES call for `sending_secs` more (so only
/// a worker that stopped renewing has its send declared "outcome unknown"). Returns
/// how many it still holds.
pub async fn extend_leases(
    db: impl PgExecutor<'_>,
    ids: &[i64],
    attempts: &[i32],
    claim_secs: f64,
    sending_secs: f64,
) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "update digest_jobs j
         set lease_until = now() + make_interval(
             secs => case when j.status = 'claimed' then $3::float8 else $4::float8 end)
         from unnest($1::bigint[], $2::int[]) as held (id, attempts)
         where j.id = held.id and j.attempts = held.attempts
           and j.status in ('claimed', 'sending')",
        ids,
        attempts,
        claim_secs,
        sending_secs
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Gives back a job this worker claimed but will not send (it is shutting down):
/// pending again at once, and the claim's attempt does not count. False when the
/// claim is no longer this worker's.
pub async fn release_claim(db: impl PgExecutor<'_>, id: i64, attempts: i32) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update digest_jobs
         set status = 'pending', lease_until = null, attempts = attempts - 1,
             next_attempt_at = now()
         where id = $1 and attempts = $2 and status = 'claimed'",
        id,
        attempts
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Claims whose lease ran out (the worker stopped before sending): back to `pending`.
pub async fn release_expired_claims(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "update digest_jobs set status = 'pending', lease_until = null
         where status = 'claimed' and lease_until < now()"
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Jobs left in `sending` by a worker that stopped during the SES call: they may have
/// been delivered, so they end as failed ("outcome unknown") and are never re-sent.
pub async fn fail_expired_sending(
    tx: &mut PgConnection,
    limit: i64,
    reason: &str,
) -> sqlx::Result<Vec<JobRecordRow>> {
    sqlx::query_as!(
        JobRecordRow,
        r#"with stuck as (
             select id from digest_jobs
             where status = 'sending' and lease_until < now()
             limit $1
             for update skip locked
         )
         update digest_jobs j
         set status = 'failed', last_error = $2, finished_at = now(), lease_until = null,
             outcome_unknown = true
         from stuck where j.id = stuck.id
         returning j.id, j.user_id, j.local_date, j.run_id, j.trigger as "trigger: DigestTrigger",
                   j.due_at, j.status as "status: DigestStatus", j.attempts, j.last_error,
                   j.content_hash, j.ses_message_id, j.sent_at, j.finished_at, j.created_at"#,
        limit,
        reason
    )
    .fetch_all(tx)
    .await
}

/// What a batch of digests needs to know about its recipients.
#[derive(Debug, Clone)]
pub struct RecipientRow {
    pub user_id: Uuid,
    pub email: String,
    pub confirmed: bool,
    pub time_zone: String,
    pub paused: bool,
    pub unsubscribed: bool,
    pub include_news: bool,
    pub include_earnings: bool,
    pub suppressed: Option<SuppressionReason>,
}

pub async fn recipients(
    db: impl PgExecutor<'_>,
    user_ids: &[Uuid],
) -> sqlx::Result<Vec<RecipientRow>> {
    sqlx::query_as!(
        RecipientRow,
        r#"select u.id as user_id, u.email, u.confirmed_at is not null as "confirmed!", p.time_zone, p.paused,
                p.unsubscribed_at is not null as "unsubscribed!", p.include_news, p.include_earnings,
                s.reason as "suppressed?: SuppressionReason"
         from users u join preferences p on p.user_id = u.id
              left join suppressed_addresses s on s.email = u.email
         where u.id = any($1)"#,
        user_ids
    )
    .fetch_all(db)
    .await
}

/// The watchlists of several people, in each list's order.
pub async fn watchlists(
    db: impl PgExecutor<'_>,
    user_ids: &[Uuid],
) -> sqlx::Result<Vec<(Uuid, String)>> {
    let rows = sqlx::query!(
        "select user_id, symbol from watchlist_items where user_id = any($1)
         order by user_id, added_at, symbol",
        user_ids
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.user_id, r.symbol)).collect())
}

/// Digests not yet finished, and the earliest instant one of them may be tried again.
pub async fn unfinished(db: impl PgExecutor<'_>) -> sqlx::Result<(i64, Option<DateTime<Utc>>)> {
    let left = sqlx::query!(
        r#"select count(*) as "count!", min(next_attempt_at) filter (where status = 'pending') as next
         from digest_jobs where status in ('pending', 'claimed', 'sending')"#
    )
    .fetch_one(db)
    .await?;
    Ok((left.count, left.next))
}
