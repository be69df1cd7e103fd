use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::Symbol;

#[derive(Debug)]
pub struct WatchlistItemRow {
    pub symbol: String,
    pub added_at: DateTime<Utc>,
}

pub async fn list(db: impl PgExecutor<'_>, user_id: Uuid) -> sqlx::Result<Vec<WatchlistItemRow>> {
    sqlx::query_as!(
        WatchlistItemRow,
        "select symbol, added_at from watchlist_items where user_id = $1 order by added_at, symbol",
        user_id,
    )
    .fetch_all(db)
    .await
}

pub async fn count(db: impl PgExecutor<'_>, user_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from watchlist_items where user_id = $1"#,
        user_id,
    )
    .fetch_one(db)
    .await
}

/// `None` when the symbol is already on the list.
pub async fn insert(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    symbol: &Symbol,
) -> sqlx::Result<Option<WatchlistItemRow>> {
    sqlx::query_as!(
        WatchlistItemRow,
        "insert into watchlist_items (user_id, symbol) values ($1, $2)
         on conflict do nothing
         returning symbol, added_at",
        user_id,
        symbol.as_ref(),
    )
    .fetch_optional(db)
    .await
}

pub async fn delete(db: impl PgExecutor<'_>, user_id: Uuid, symbol: &Symbol) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "delete from watchlist_items where user_id = $1 and symbol = $2",
        user_id,
        symbol.as_ref(),
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
