use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::EmailAddress;

#[derive(Debug)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Bumped by every password change, reset and confirmation; sessions opened with an
    /// older version are dead.
    pub credential_version: i64,
}

pub async fn find_by_email(
    db: impl PgExecutor<'_>,
    email: &EmailAddress,
) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as!(
        UserRow,
        "select id, email, password_hash, confirmed_at, created_at, credential_version
         from users where email = $1",
        email.as_ref(),
    )
    .fetch_optional(db)
    .await
}

pub async fn find_by_id(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as!(
        UserRow,
        "select id, email, password_hash, confirmed_at, created_at, credential_version
         from users where id = $1",
        id,
    )
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
    sqlx::query_scalar!(
        "insert into users (email, password_hash) values ($1, $2)
         on conflict (email) do nothing
         returning id",
        email.as_ref(),
        password_hash,
    )
    .fetch_optional(db)
    .await
}

/// Locks the user's row until the transaction ends: serialises read-check-write
/// sequences (such as the watchlist size limit) per user.
pub async fn lock(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<bool> {
    let found = sqlx::query_scalar!(
        r#"select true as "found!" from users where id = $1 for update"#,
        id
    )
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}

pub async fn mark_confirmed(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "update users set confirmed_at = coalesce(confirmed_at, now()), updated_at = now()
         where id = $1",
        id,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Sets the password (when given) and bumps the credential version, which ends every
/// session opened before; returns the new version.
pub async fn update_password(
    db: impl PgExecutor<'_>,
    id: Uuid,
    password_hash: Option<&str>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "update users
         set password_hash = coalesce($2, password_hash),
             credential_version = credential_version + 1, updated_at = now()
         where id = $1
         returning credential_version",
        id,
        password_hash,
    )
    .fetch_one(db)
    .await
}

/// Deletes up to `limit` accounts that were never confirmed and are older than
/// `days`; returns how many.
pub async fn purge_unconfirmed(
    db: impl PgExecutor<'_>,
    days: u32,
    limit: i64,
) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "delete from users where id in (
             select id from users
             where confirmed_at is null and created_at < now() - make_interval(days => $1)
             order by created_at
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

/// Deletes the account; every table referencing it cascades.
pub async fn delete(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query!("delete from users where id = $1", id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}
