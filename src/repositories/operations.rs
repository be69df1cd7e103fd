//! What the operator console's overview reads: queue depths, recent Finnhub calls,
//! suppressed addresses. Counts over every process sharing the database.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// Waiting items and the oldest one's queue time, for each queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuesRow {
    /// The database's clock, so ages are measured against the same clock as the rows.
    pub as_of: DateTime<Utc>,
    pub email_pending: i64,
    pub email_oldest: Option<DateTime<Utc>>,
    pub digest_pending: i64,
    pub digest_oldest: Option<DateTime<Utc>>,
    pub audit_pending: i64,
    pub audit_oldest: Option<DateTime<Utc>>,
    pub suppressed: i64,
}

/// One round trip; each count is over the partial index of its pending rows (the same
/// definitions as the `quotidian_outbox_backlog` gauge).
pub async fn queues(db: impl PgExecutor<'_>) -> sqlx::Result<QueuesRow> {
    // sqlx cannot tell whether an expression (an aggregate, `now()`, a subquery's
    // column) may be null: `!` where it never is (`count(*)`, `now()`), `?` where it may
    // (`min` over no rows).
    sqlx::query_as!(
        QueuesRow,
        r#"select now() as "as_of!",
             e.n as "email_pending!", e.oldest as "email_oldest?",
             d.n as "digest_pending!", d.oldest as "digest_oldest?",
             a.n as "audit_pending!", a.oldest as "audit_oldest?",
             (select count(*) from suppressed_addresses) as "suppressed!"
         from (select count(*) as n, min(created_at) as oldest
               from email_outbox where status = 'pending') e,
              (select count(*) as n, min(created_at) as oldest
               from digest_jobs where status in ('pending', 'claimed', 'sending')) d,
              (select count(*) as n, min(created_at) as oldest
               from audit_outbox where written_at is null) a"#,
    )
    .fetch_one(db)
    .await
}

/// Extraction responses from `source` stored in the last minute: one per request that
/// got an answer, its retries not counted (over `raw_responses_fetched_idx`).
pub async fn market_calls_last_minute(db: impl PgExecutor<'_>, source: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "calls!" from raw_responses
         where source = $1 and fetched_at > now() - interval '1 minute'"#,
        source,
    )
    .fetch_one(db)
    .await
}
