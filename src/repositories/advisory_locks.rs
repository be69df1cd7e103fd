//! PostgreSQL advisory locks: "one process at a time" for work any process may do.

use sqlx::PgConnection;

/// Takes the session-level advisory lock `key` on this connection if nobody holds it;
/// it is held until the connection unlocks it or closes.
pub async fn try_lock(conn: &mut PgConnection, key: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar!(r#"select pg_try_advisory_lock($1) as "locked!""#, key)
        .fetch_one(conn)
        .await
}
