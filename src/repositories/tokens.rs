use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    ConfirmEmail,
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::ConfirmEmail => "confirm_email",
            Purpose::ResetPassword => "reset_password",
        }
    }
}

/// Mints a link for a reset, or for a confirmation while the account is still
/// unconfirmed (`password_hash` is the hash the confirmation will apply). `false` when
/// nothing was minted: the account is gone, or (for a confirmation) confirmed already.
pub async fn insert(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
    user_id: Uuid,
    purpose: Purpose,
    ttl_secs: i64,
    password_hash: Option<&str>,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "insert into email_tokens (token_hash, user_id, purpose, expires_at, password_hash)
         select $1, u.id, $3, now() + make_interval(secs => $4), $5
         from users u
         where u.id = $2 and ($3 <> 'confirm_email' or u.confirmed_at is null)",
        token_hash,
        user_id,
        purpose.as_str(),
        ttl_secs as f64,
        password_hash,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The user a live (unused, unexpired) token belongs to, without using it up.
pub async fn peek(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
    purpose: Purpose,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "select user_id from email_tokens
         where token_hash = $1 and purpose = $2 and used_at is null and expires_at > now()",
        token_hash,
        purpose.as_str(),
    )
    .fetch_optional(db)
    .await
}

/// A used-up link: whose it was, and for a confirmation the password hash it carries.
#[derive(Debug)]
pub struct Consumed {
    pub user_id: Uuid,
    pub password_hash: Option<String>,
}

/// Uses a live token up and returns what it carried. One statement, so two concurrent
/// uses of the same link cannot both succeed.
pub async fn consume(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
    purpose: Purpose,
) -> sqlx::Result<Option<Consumed>> {
    sqlx::query_as!(
        Consumed,
        "update email_tokens set used_at = now()
         where token_hash = $1 and purpose = $2 and used_at is null and expires_at > now()
         returning user_id, password_hash",
        token_hash,
        purpose.as_str(),
    )
    .fetch_optional(db)
    .await
}

/// Retires every other live token of this purpose (an older reset link must die once
/// the password has been reset).
pub async fn retire_all(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    purpose: Purpose,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update email_tokens set used_at = now()
         where user_id = $1 and purpose = $2 and used_at is null",
        user_id,
        purpose.as_str(),
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn purge_expired(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    // Kept a day past expiry so "this link expired" and "already used" stay
    // distinguishable in support conversations.
    let done = sqlx::query!("delete from email_tokens where expires_at < now() - interval '1 day'")
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
