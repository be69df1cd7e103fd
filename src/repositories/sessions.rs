use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(Debug)]
pub struct SessionUser {
    pub user_id: Uuid,
    pub email: String,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    id_hash: &[u8],
    user_id: Uuid,
    ttl_secs: i64,
    user_agent: Option<&str>,
    credential_version: i64,
) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar!(
        "insert into sessions (id_hash, user_id, expires_at, user_agent, credential_version)
         values ($1, $2, now() + make_interval(secs => $3), $4, $5)
         returning expires_at",
        id_hash,
        user_id,
        ttl_secs as f64,
        user_agent,
        credential_version,
    )
    .fetch_one(db)
    .await
}

/// The live session's user. A session opened with credentials that have changed
/// since (an older `credential_version`) is not live, whatever its expiry.
pub async fn find_live(
    db: impl PgExecutor<'_>,
    id_hash: &[u8],
) -> sqlx::Result<Option<SessionUser>> {
    // `last_seen_at` is refreshed at most every five minutes, so an authenticated
    // request is a read, not a row write each time.
    sqlx::query_as!(
        SessionUser,
        "with live as (
             select s.user_id, u.email, s.expires_at
             from sessions s join users u on u.id = s.user_id
             where s.id_hash = $1 and s.expires_at > now()
               and s.credential_version = u.credential_version
         ), touched as (
             update sessions set last_seen_at = now()
             where id_hash = $1 and last_seen_at < now() - interval '5 minutes'
               and exists (select 1 from live)
         )
         select user_id, email, expires_at from live",
        id_hash,
    )
    .fetch_optional(db)
    .await
}

pub async fn delete(db: impl PgExecutor<'_>, id_hash: &[u8]) -> sqlx::Result<()> {
    sqlx::query!("delete from sessions where id_hash = $1", id_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Revokes every session of the user except `keep` (the one making the request).
pub async fn delete_for_user(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    keep: Option<&[u8]>,
) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "delete from sessions where user_id = $1 and ($2::bytea is null or id_hash <> $2)",
        user_id,
        keep,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Moves one session to the credential version just set, so the session that
/// changed the password stays logged in.
pub async fn set_credential_version(
    db: impl PgExecutor<'_>,
    id_hash: &[u8],
    credential_version: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update sessions set credential_version = $2 where id_hash = $1",
        id_hash,
        credential_version,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn purge_expired(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "delete from sessions s using users u
         where s.user_id = u.id
           and (s.expires_at < now() or s.credential_version <> u.credential_version)",
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
