//! Audit records waiting to be put to S3. Written in the same transaction as the
//! state they describe; the flusher marks them written once S3 holds them.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// Queues a record; a second record under the same key is ignored (the first wins,
/// as it does in the bucket).
pub async fn enqueue(
    db: impl PgExecutor<'_>,
    kind: &str,
    key: &str,
    body: &serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into audit_outbox (kind, key, body) values ($1, $2, $3) on conflict (key) do nothing",
        kind,
        key,
        body,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Queues several records at once (same kind).
pub async fn enqueue_many(
    db: impl PgExecutor<'_>,
    kind: &str,
    keys: &[String],
    bodies: &[serde_json::Value],
) -> sqlx::Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "insert into audit_outbox (kind, key, body)
         select $1, k, b from unnest($2::text[], $3::jsonb[]) as r (k, b)
         on conflict (key) do nothing",
        kind,
        keys,
        bodies,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Queues a delivery record that stands in for an outcome not known yet: it is put to S3
/// as it is only from `until` on, unless the worker reports first
/// (`complete_awaiting`).
pub async fn enqueue_awaiting(
    db: impl PgExecutor<'_>,
    key: &str,
    body: &serde_json::Value,
    until: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into audit_outbox (kind, key, body, next_attempt_at, awaiting_outcome)
         values ('delivery', $1, $2, $3, true)
         on conflict (key) do nothing",
        key,
        body,
        until,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Writes a worker's outcome (`patch`: the fields it knows) into the record awaiting
/// that job attempt, and makes it due now. False when there is none, or when the
/// flusher has already taken it (it is then put to S3 as "outcome unknown": wrong
/// only in the safe direction, and never changed once taken).
pub async fn complete_awaiting(
    db: impl PgExecutor<'_>,
    job_id: i64,
    attempts: i32,
    patch: &serde_json::Value,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update audit_outbox
         set body = body || $3, awaiting_outcome = false, next_attempt_at = now()
         where kind = 'delivery' and written_at is null and awaiting_outcome
           and (body->>'job_id')::bigint = $1 and (body->>'attempts')::int = $2
           and attempts = 0",
        job_id,
        attempts,
        patch,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug)]
pub struct PendingRecord {
    pub id: i64,
    pub key: String,
    pub body: serde_json::Value,
    pub attempts: i32,
}

/// Claims up to `limit` unwritten records under a lease (their next attempt moves
/// past it), so several flushers share the work and a crashed one's records return.
pub async fn claim(
    db: impl PgExecutor<'_>,
    limit: i64,
    lease_secs: f64,
) -> sqlx::Result<Vec<PendingRecord>> {
    sqlx::query_as!(
        PendingRecord,
        "with due as (
             select id from audit_outbox
             where written_at is null and next_attempt_at <= now()
             order by next_attempt_at, id
             limit $1
             for update skip locked
         )
         update audit_outbox a
         set attempts = a.attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
         from due where a.id = due.id
         returning a.id, a.key, a.body, a.attempts",
        limit,
        lease_secs,
    )
    .fetch_all(db)
    .await
}

pub async fn mark_written(db: impl PgExecutor<'_>, ids: &[i64]) -> sqlx::Result<()> {
    sqlx::query!(
        "update audit_outbox set written_at = now(), last_error = null where id = any($1)",
        ids,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn mark_retry(
    db: impl PgExecutor<'_>,
    id: i64,
    error: &str,
    delay_secs: f64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update audit_outbox set last_error = $2, next_attempt_at = now() + make_interval(secs => $3)
         where id = $1",
        id,
        error,
        delay_secs,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Records not yet in S3.
pub async fn backlog(db: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "backlog!" from audit_outbox where written_at is null"#
    )
    .fetch_one(db)
    .await
}

/// Deletes up to `limit` records written to S3 more than `days` ago (S3 keeps them);
/// returns how many.
pub async fn prune_written(db: impl PgExecutor<'_>, days: u32, limit: i64) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "delete from audit_outbox where id in (
             select id from audit_outbox
             where written_at < now() - make_interval(days => $1)
             order by written_at
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
