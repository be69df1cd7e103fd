use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

pub struct NewEmail<'a> {
    pub user_id: Option<Uuid>,
    pub kind: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub html_body: &'a str,
    pub text_body: &'a str,
}

#[derive(Debug, sqlx::FromRow)]
pub struct OutboxEmail {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub html_body: Option<String>,
    pub text_body: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

pub async fn enqueue(db: impl PgExecutor<'_>, email: &NewEmail<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into email_outbox (user_id, kind, recipient, subject, html_body, text_body)
         values ($1, $2, $3, $4, $5, $6)
         returning id",
    )
    .bind(email.user_id)
    .bind(email.kind)
    .bind(email.recipient)
    .bind(email.subject)
    .bind(email.html_body)
    .bind(email.text_body)
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
    sqlx::query_as(
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
         returning e.id, e.kind, e.recipient, e.subject, e.html_body, e.text_body, e.attempts, e.created_at",
    )
    .bind(limit)
    .bind(lease_secs as f64)
    .fetch_all(db)
    .await
}

/// Records the send and clears the bodies: they hold single-use links nobody should
/// be able to read back from the database.
pub async fn mark_sent(db: impl PgExecutor<'_>, id: i64, message_id: &str) -> sqlx::Result<()> {
    sqlx::query(
        "update email_outbox
         set status = 'sent', sent_at = now(), ses_message_id = $2, last_error = null,
             html_body = null, text_body = null
         where id = $1",
    )
    .bind(id)
    .bind(message_id)
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
    sqlx::query(
        "update email_outbox
         set last_error = $2, next_attempt_at = now() + make_interval(secs => $3)
         where id = $1",
    )
    .bind(id)
    .bind(error)
    .bind(delay_secs as f64)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn mark_failed(db: impl PgExecutor<'_>, id: i64, error: &str) -> sqlx::Result<()> {
    sqlx::query(
        "update email_outbox
         set status = 'failed', last_error = $2, html_body = null, text_body = null
         where id = $1",
    )
    .bind(id)
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}
