//! Addresses that must not be emailed again (`suppressed_addresses`).
//!
//! Every function takes the normalised address (`EmailAddress::as_ref()`, the form
//! `users.email` is stored in); the table refuses anything not lower-cased.

use sqlx::PgExecutor;

/// Suppresses an address. Idempotent: SNS delivers at least once, so the same event
/// may arrive twice, and a later event for an address that is already suppressed
/// leaves the first reason and time in place (it is in the log).
pub async fn suppress(
    db: impl PgExecutor<'_>,
    email: &str,
    reason: &str,
    detail: Option<&str>,
    sns_message_id: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into suppressed_addresses (email, reason, detail, sns_message_id)
         values ($1, $2, $3, $4)
         on conflict (email) do nothing",
    )
    .bind(email)
    .bind(reason)
    .bind(detail)
    .bind(sns_message_id)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn is_suppressed(db: impl PgExecutor<'_>, email: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("select exists (select 1 from suppressed_addresses where email = $1)")
        .bind(email)
        .fetch_one(db)
        .await
}

/// Why the address is suppressed (`bounce`, `complaint` or `manual`); `None` when it
/// is not.
pub async fn reason_for(db: impl PgExecutor<'_>, email: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("select reason from suppressed_addresses where email = $1")
        .bind(email)
        .fetch_optional(db)
        .await
}
