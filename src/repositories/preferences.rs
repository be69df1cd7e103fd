use chrono::{DateTime, NaiveTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct PreferencesRow {
    pub time_zone: String,
    pub send_time: NaiveTime,
    pub days: String,
    pub paused: bool,
    pub include_news: bool,
    pub include_earnings: bool,
    pub next_send_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

pub async fn insert_default(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    time_zone: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into preferences (user_id, time_zone) values ($1, $2)",
        user_id,
        time_zone,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Reads the row and locks it until the transaction ends, so two concurrent updates
/// cannot compute `next_send_at` from each other's stale values.
pub async fn get_for_update(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
) -> sqlx::Result<Option<PreferencesRow>> {
    sqlx::query_as!(
        PreferencesRow,
        "select time_zone, send_time, days, paused, include_news, include_earnings, next_send_at, updated_at
         from preferences where user_id = $1 for update",
        user_id,
    )
    .fetch_optional(db)
    .await
}

pub async fn get(db: impl PgExecutor<'_>, user_id: Uuid) -> sqlx::Result<Option<PreferencesRow>> {
    sqlx::query_as!(
        PreferencesRow,
        "select time_zone, send_time, days, paused, include_news, include_earnings, next_send_at, updated_at
         from preferences where user_id = $1",
        user_id,
    )
    .fetch_optional(db)
    .await
}

pub async fn update(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    row: &PreferencesRow,
) -> sqlx::Result<PreferencesRow> {
    sqlx::query_as!(
        PreferencesRow,
        "update preferences set
            time_zone = $2, send_time = $3, days = $4, paused = $5,
            include_news = $6, include_earnings = $7, next_send_at = $8, updated_at = now(),
            -- Resuming after an unsubscribe is subscribing again.
            unsubscribed_at = case when $5 then unsubscribed_at end
         where user_id = $1
         returning time_zone, send_time, days, paused, include_news, include_earnings, next_send_at, updated_at",
        user_id,
        row.time_zone,
        row.send_time,
        row.days,
        row.paused,
        row.include_news,
        row.include_earnings,
        row.next_send_at,
    )
    .fetch_one(db)
    .await
}

/// Stops the schedule after an unsubscribe: paused, no next send, and when.
/// False when there is no such account.
pub async fn unsubscribe(db: impl PgExecutor<'_>, user_id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update preferences
         set paused = true, next_send_at = null, unsubscribed_at = coalesce(unsubscribed_at, now()),
             updated_at = now()
         where user_id = $1",
        user_id,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
