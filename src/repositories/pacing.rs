//! Shared rate budgets (`send_pacing`): the SES send rate (ADR 0012) and the Finnhub
//! call budget (ADR 0013) of all processes together.

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

/// Like [`reserve`], but only while the budget's queue reaches less than
/// `allowance_secs` ahead of now (`None`: however far): `None` when it reaches further,
/// and nothing is reserved. How lower priorities wait until the more urgent work has
/// had its slots.
pub async fn reserve_within(
    db: impl PgExecutor<'_>,
    name: &str,
    interval_secs: f64,
    allowance_secs: Option<f64>,
) -> sqlx::Result<Option<f64>> {
    sqlx::query_scalar!(
        r#"update send_pacing
         set tat = greatest(tat, clock_timestamp()) + make_interval(secs => $2)
         where name = $1
           and ($3::float8 is null or tat <= clock_timestamp() + make_interval(secs => $3))
         returning extract(epoch from (tat - make_interval(secs => $2) - clock_timestamp()))::float8 as "delay_secs!""#,
        name,
        interval_secs,
        allowance_secs,
    )
    .fetch_optional(db)
    .await
}

/// How far ahead of now the budget `name` is reserved, in seconds (0 when idle).
pub async fn reserved_ahead(db: impl PgExecutor<'_>, name: &str) -> sqlx::Result<f64> {
    sqlx::query_scalar!(
        r#"select greatest(extract(epoch from (tat - clock_timestamp())), 0)::float8 as "ahead!"
         from send_pacing where name = $1"#,
        name,
    )
    .fetch_one(db)
    .await
}
