//! Addresses that must not be emailed again (`suppressed_addresses`), and what
//! operators see and lift of them.
//!
//! Every function takes the normalised address (`EmailAddress::as_ref()`, the form
//! `users.email` is stored in); the table refuses anything not lower-cased.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::domain::SuppressionReason;

/// Suppresses an address. Idempotent: SNS delivers at least once, so the same event
/// may arrive twice, and a later event for an address that is already suppressed
/// leaves the first reason and time in place (it is in the log).
pub async fn suppress(
    db: impl PgExecutor<'_>,
    email: &str,
    reason: SuppressionReason,
    detail: Option<&str>,
    sns_message_id: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into suppressed_addresses (email, reason, detail, sns_message_id)
         values ($1, $2, $3, $4)
         on conflict (email) do nothing",
        email,
        reason as SuppressionReason,
        detail,
        sns_message_id,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn is_suppressed(db: impl PgExecutor<'_>, email: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from suppressed_addresses where email = $1) as "suppressed!""#,
        email,
    )
    .fetch_one(db)
    .await
}

/// Why the address is suppressed; `None` when it is not.
pub async fn reason_for(
    db: impl PgExecutor<'_>,
    email: &str,
) -> sqlx::Result<Option<SuppressionReason>> {
    sqlx::query_scalar!(
        r#"select reason as "reason: SuppressionReason" from suppressed_addresses where email = $1"#,
        email
    )
    .fetch_optional(db)
    .await
}

#[derive(Debug)]
pub struct SuppressionRow {
    pub email: String,
    pub reason: SuppressionReason,
    pub detail: Option<String>,
    pub suppressed_at: DateTime<Utc>,
}

/// Suppressions newest first, `limit` of them, starting after `before` (the
/// `(suppressed_at, email)` of the last row of the previous page): the address breaks
/// ties between rows suppressed in the same microsecond, so paging skips none.
pub async fn list(
    db: impl PgExecutor<'_>,
    before: Option<(DateTime<Utc>, &str)>,
    limit: i64,
) -> sqlx::Result<Vec<SuppressionRow>> {
    let (before_at, before_email) = before.unzip();
    sqlx::query_as!(
        SuppressionRow,
        r#"select email, reason as "reason: SuppressionReason", detail, suppressed_at
         from suppressed_addresses
         where $1::timestamptz is null or (suppressed_at, email) < ($1, $2)
         order by suppressed_at desc, email desc
         limit $3"#,
        before_at,
        before_email,
        limit,
    )
    .fetch_all(db)
    .await
}

/// Lifts the suppression of an address; its reason when there was one, `None` when
/// the address was not suppressed.
pub async fn lift(db: impl PgExecutor<'_>, email: &str) -> sqlx::Result<Option<SuppressionReason>> {
    sqlx::query_scalar!(
        r#"delete from suppressed_addresses where email = $1 returning reason as "reason: SuppressionReason""#,
        email,
    )
    .fetch_optional(db)
    .await
}
