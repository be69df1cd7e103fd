//! The readiness probe's question to the database.

use sqlx::PgExecutor;

/// One round trip that needs a working connection and nothing else (no table).
pub async fn ping(db: impl PgExecutor<'_>) -> sqlx::Result<()> {
    sqlx::query_scalar!(r#"select 1 as "one!""#)
        .fetch_one(db)
        .await?;
    Ok(())
}
