//! Shared send slots (`send_pacing`): the SES rate budget of all processes together.

use sqlx::PgExecutor;

/// Reserves the next send slot of `name`, `interval_secs` after the previous one (or
/// now, when the budget is idle), and returns how many seconds from now it starts.
/// One statement on one row: the row lock is held for microseconds. The database clock
/// decides, so a worker whose clock is off paces like the others.
pub async fn reserve(db: impl PgExecutor<'_>, name: &str, interval_secs: f64) -> sqlx::Result<f64> {
    sqlx::query_scalar!(
        r#"update send_pacing
         set tat = greatest(tat, clock_timestamp()) + make_interval(secs => $2)
         where name = $1
         returning extract(epoch from (tat - make_interval(secs => $2) - clock_timestamp()))::float8 as "delay_secs!""#,
        name,
        interval_secs,
    )
    .fetch_one(db)
    .await
}
