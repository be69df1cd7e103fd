use sqlx::PgExecutor;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SymbolRow {
    pub symbol: String,
    pub display_symbol: String,
    pub description: String,
    pub kind: String,
}

/// A search answer cached within `max_age_secs`.
pub async fn cached_search(
    db: impl PgExecutor<'_>,
    query: &str,
    max_age_secs: i64,
) -> sqlx::Result<Option<serde_json::Value>> {
    sqlx::query_scalar!(
        "select results from symbol_searches where query = $1 and fetched_at > now() - make_interval(secs => $2)",
        query,
        max_age_secs as f64,
    )
    .fetch_optional(db)
    .await
}

pub async fn store_search(
    db: impl PgExecutor<'_>,
    query: &str,
    results: &serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into symbol_searches (query, results) values ($1, $2)
         on conflict (query) do update set results = excluded.results, fetched_at = now()",
        query,
        results,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn known(db: impl PgExecutor<'_>, symbol: &str) -> sqlx::Result<bool> {
    let found = sqlx::query_scalar!(
        r#"select true as "found!" from symbol_directory where symbol = $1"#,
        symbol,
    )
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}

pub async fn remember(db: impl PgExecutor<'_>, rows: &[SymbolRow]) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let symbols: Vec<&str> = rows.iter().map(|r| r.symbol.as_str()).collect();
    let displays: Vec<&str> = rows.iter().map(|r| r.display_symbol.as_str()).collect();
    let descriptions: Vec<&str> = rows.iter().map(|r| r.description.as_str()).collect();
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    sqlx::query!(
        "insert into symbol_directory (symbol, display_symbol, description, kind)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[])
         on conflict (symbol) do update set display_symbol = excluded.display_symbol,
             description = excluded.description, kind = excluded.kind, seen_at = now()",
        // The macro checks a `text[]` argument only as `&[String]`: `as` keeps the
        // borrowed strings and skips that check (the SQL casts type them).
        &symbols as &[&str],
        &displays as &[&str],
        &descriptions as &[&str],
        &kinds as &[&str],
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes up to `limit` cached searches fetched more than `days` ago; returns how many.
pub async fn prune_searches(db: impl PgExecutor<'_>, days: u32, limit: i64) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "delete from symbol_searches where query in (
             select query from symbol_searches
             where fetched_at < now() - make_interval(days => $1)
             order by fetched_at
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
