use sqlx::PgExecutor;

/// Rows waiting in each outbox. `None` when the table does not exist (yet) in this
/// database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    pub email: i64,
    pub audit: Option<i64>,
    pub digest_jobs: Option<i64>,
}

/// Counts every outbox's pending rows in one round trip.
///
/// `audit_outbox` and `digest_jobs` arrive with later migrations, and a query naming a
/// missing table fails as a whole at parse time, whatever guards it. So their counts
/// run through `query_to_xml`, which parses its text only when called, and the `case`
/// calls it only once `to_regclass` has found the table.
pub async fn outbox_backlog(db: impl PgExecutor<'_>) -> sqlx::Result<Backlog> {
    sqlx::query_as!(
        Backlog,
        r#"select
             (select count(*) from email_outbox where status = 'pending') as "email!",
             case when to_regclass('public.audit_outbox') is not null then
                 (xpath('/row/n/text()', query_to_xml(
                     'select count(*) as n from public.audit_outbox where written_at is null',
                     false, true, '')))[1]::text::bigint
             end as "audit?",
             case when to_regclass('public.digest_jobs') is not null then
                 (xpath('/row/n/text()', query_to_xml(
                     'select count(*) as n from public.digest_jobs where status in (''pending'', ''claimed'', ''sending'')',
                     false, true, '')))[1]::text::bigint
             end as "digest_jobs?""#,
    )
    .fetch_one(db)
    .await
}
