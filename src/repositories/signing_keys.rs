use sqlx::PgExecutor;

/// The key stored under `name`, storing `candidate` first if there is none. Two
/// processes racing both end up with whichever was stored first.
pub async fn get_or_create(
    db: impl PgExecutor<'_> + Copy,
    name: &str,
    candidate: &str,
) -> sqlx::Result<String> {
    sqlx::query!(
        "insert into signing_keys (name, secret) values ($1, $2) on conflict (name) do nothing",
        name,
        candidate,
    )
    .execute(db)
    .await?;
    sqlx::query_scalar!("select secret from signing_keys where name = $1", name)
        .fetch_one(db)
        .await
}
