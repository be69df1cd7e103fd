//! The transactional email outbox (`email_outbox`). A row says which email to send to
//! whom; the body, and the single-use link inside it, are made only when the worker
//! sends it, so a pending row holds nothing a database reader could use.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

/// An email to send; `password_hash` is what a confirmation link will carry.
pub struct NewEmail<'a> {
    pub user_id: Uuid,
    pub kind: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub password_hash: Option<&'a str>,
}

#[derive(Debug)]
pub struct OutboxEmail {
    pub id: i64,
    pub user_id: Option<Uuid>,
    pub kind: String,
    pub recipient: String,
    pub password_hash: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

pub async fn enqueue(db: impl PgExecutor<'_>, email: &NewEmail<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into email_outbox (user_id, kind, recipient, subject, password_hash)
         values ($1, $2, $3, $4, $5)
         returning id",
        email.user_id,
        email.kind,
        email.recipient,
        email.subject,
        email.password_hash,
    )
    .fetch_one(db)
    .await
}

/// How many emails of these kinds were queued for the user within the window (sent or
/// not): the per-account caps on notices and reset links.
pub async fn count_recent(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    kinds: &[&str],
    window_secs: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from email_outbox
         where user_id = $1 and kind = any($2)
           and created_at > now() - make_interval(secs => $3)"#,
        user_id,
        // The macro checks a `text[]` argument only as `&[String]`: `as` keeps the
        // borrowed strings and skips that check (PostgreSQL still types it).
        kinds as &[&str],
        window_secs as f64,
    )
    .fetch_one(db)
    .await
}

/// Claims up to `limit` due emails for `lease_secs`: their `next_attempt_at` moves past
/// the lease, so another worker (or this one after a crash) takes them again only if
/// this one never reports back. `skip locked` lets several workers claim side by side.
pub async fn claim_due(
    db: impl PgExecutor<'_>,
    limit: i64,
    lease_secs: i64,
) -> sqlx::Result<Vec<OutboxEmail>> {
    sqlx::query_as!(
        OutboxEmail,
        "with due as (
             select id from email_outbox
             where status = 'pending' and next_attempt_at <= now()
             order by next_attempt_at
             limit $1
             for update skip locked
         )
         update email_outbox e
         set attempts = e.attempts + 1,
             next_attempt_at = now() + make_interval(secs => $2)
         from due
         where e.id = due.id
         returning e.id, e.user_id, e.kind, e.recipient, e.password_hash, e.attempts, e.created_at",
        limit,
        lease_secs as f64,
    )
    .fetch_all(db)
    .await
}

/// Records the send. The password hash has moved into the link's token by now.
pub async fn mark_sent(db: impl PgExecutor<'_>, id: i64, message_id: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "update email_outbox
         set status = 'sent', sent_at = now(), ses_message_id = $2, last_error = null,
             password_hash = null
         where id = $1",
        id,
        message_id,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn mark_retry(
    db: impl PgExecutor<'_>,
    id: i64,
    error: &str,
    delay_secs: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update email_outbox
         set last_error = $2, next_attempt_at = now() + make_interval(secs => $3)
         where id = $1",
        id,
        error,
        delay_secs as f64,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn mark_failed(db: impl PgExecutor<'_>, id: i64, error: &str) -> sqlx::Result<()> {
    finish_unsent(db, id, "failed", error).await
}

/// Not sent on purpose (a suppressed address, an account confirmed meanwhile).
pub async fn mark_skipped(db: impl PgExecutor<'_>, id: i64, reason: &str) -> sqlx::Result<()> {
    finish_unsent(db, id, "skipped", reason).await
}

async fn finish_unsent(
    db: impl PgExecutor<'_>,
    id: i64,
    status: &str,
    reason: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update email_outbox
         set status = $2, last_error = $3, password_hash = null
         where id = $1",
        id,
        status,
        reason,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes up to `limit` emails queued more than `days` ago that are no longer pending
/// (sent, failed or skipped); returns how many. Pending ones are never pruned.
pub async fn prune_finished(db: impl PgExecutor<'_>, days: u32, limit: i64) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "delete from email_outbox where id in (
             select id from email_outbox
             where status <> 'pending' and created_at < now() - make_interval(days => $1)
             order by created_at
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
