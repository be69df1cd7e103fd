use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::EmailAddress;

#[derive(Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub async fn find_by_email(
    db: impl PgExecutor<'_>,
    email: &EmailAddress,
) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(
        "select id, email, password_hash, confirmed_at, created_at from users where email = $1",
    )
    .bind(email.as_ref())
    .fetch_optional(db)
    .await
}

pub async fn find_by_id(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(
        "select id, email, password_hash, confirmed_at, created_at from users where id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Inserts a new account; `None` when the address is already taken (the unique index
/// decides, so two concurrent signups cannot both win).
pub async fn insert(
    db: impl PgExecutor<'_>,
    email: &EmailAddress,
    password_hash: &str,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(
        "insert into users (email, password_hash) values ($1, $2)
         on conflict (email) do nothing
         returning id",
    )
    .bind(email.as_ref())
    .bind(password_hash)
    .fetch_optional(db)
    .await
}

/// Locks the user's row until the transaction ends: serialises read-check-write
/// sequences (such as the watchlist size limit) per user.
pub async fn lock(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<bool> {
    let found: Option<i32> = sqlx::query_scalar("select 1 from users where id = $1 for update")
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(found.is_some())
}

pub async fn mark_confirmed(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<()> {
    sqlx::query(
        "update users set confirmed_at = coalesce(confirmed_at, now()), updated_at = now()
         where id = $1",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn update_password(
    db: impl PgExecutor<'_>,
    id: Uuid,
    password_hash: &str,
) -> sqlx::Result<()> {
    sqlx::query("update users set password_hash = $2, updated_at = now() where id = $1")
        .bind(id)
        .bind(password_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes the account; every table referencing it cascades.
pub async fn delete(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query("delete from users where id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}
