//! The status enums against the database: every variant is stored through sqlx in
//! its column and read back as itself, and each column's CHECK constraint allows
//! exactly the enum's values, so neither side can gain a value the other refuses.

use std::collections::BTreeSet;
use std::fmt::Debug;

use quotidian::domain::market::MarketSource;
use quotidian::domain::{
    DigestStatus, DigestTrigger, EtlOutcome, EtlRunStatus, EtlTrigger, SuppressionReason,
};
use sqlx::{PgPool, Postgres};
use strum::VariantArray;

use crate::helpers::migrated_database;

/// The values the CHECK constraint on `table.column` allows, from the catalogue:
/// `CHECK ((status = ANY (ARRAY['pending'::text, 'claimed'::text, ...])))`.
async fn allowed(db: &PgPool, table: &str, column: &str) -> BTreeSet<String> {
    let definitions: Vec<String> = sqlx::query_scalar(
        "select pg_get_constraintdef(c.oid) from pg_constraint c
         join pg_attribute a on a.attrelid = c.conrelid and a.attnum = any (c.conkey)
         where c.contype = 'c' and c.conrelid = $1::regclass and a.attname = $2",
    )
    .bind(table)
    .bind(column)
    .fetch_all(db)
    .await
    .unwrap();
    assert_eq!(
        definitions.len(),
        1,
        "{table}.{column}: one CHECK constraint expected, found {definitions:?}"
    );
    // The quoted literals are every other piece between single quotes.
    definitions[0]
        .split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Stores every variant of `T` with `insert` (its `$1` is the value; it returns the
/// stored column, then the same as text) and reads it back; then compares the
/// variants with the column's constraint.
async fn check<T>(db: &PgPool, table: &str, column: &str, insert: &str)
where
    T: VariantArray + Copy + PartialEq + Debug + Into<&'static str>,
    T: for<'q> sqlx::Encode<'q, Postgres> + for<'r> sqlx::Decode<'r, Postgres>,
    T: sqlx::Type<Postgres> + Send + Sync + Unpin + 'static,
{
    for &value in T::VARIANTS {
        let (stored, text): (T, String) = sqlx::query_as(insert)
            .bind(value)
            .fetch_one(db)
            .await
            .unwrap_or_else(|e| panic!("{table}.{column} refused {value:?}: {e}"));
        assert_eq!(stored, value, "{table}.{column}");
        // Stored as the very text the API and the audit records carry.
        assert_eq!(text, Into::<&'static str>::into(value), "{table}.{column}");
    }
    let variants: BTreeSet<String> = T::VARIANTS
        .iter()
        .map(|&v| Into::<&'static str>::into(v).to_owned())
        .collect();
    assert_eq!(
        variants,
        allowed(db, table, column).await,
        "{table}.{column}: the enum and the CHECK constraint disagree"
    );
}

#[tokio::test]
async fn every_status_is_stored_and_read_back_and_matches_its_constraint() {
    let db = migrated_database().await;
    let user: uuid::Uuid = sqlx::query_scalar(
        "insert into users (email, password_hash) values ('statuses@example.com', 'x') returning id",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    // One job per (person, date): each insert takes the next free date.
    let job = |column: &str| {
        let (trigger, status) = match column {
            "trigger" => ("$1", "'pending'"),
            _ => ("'schedule'", "$1"),
        };
        format!(
            "with next as (select coalesce(max(local_date), current_date) + 1 as day
                           from digest_jobs where user_id = '{user}')
             insert into digest_jobs (user_id, local_date, trigger, due_at, status)
             select '{user}', next.day, {trigger}, now(), {status} from next
             returning {column}, {column}::text"
        )
    };
    check::<DigestStatus>(&db, "digest_jobs", "status", &job("status")).await;
    check::<DigestTrigger>(&db, "digest_jobs", "trigger", &job("trigger")).await;
    check::<DigestTrigger>(
        &db,
        "digest_runs",
        "trigger",
        "insert into digest_runs (trigger) values ($1) returning trigger, trigger::text",
    )
    .await;

    check::<EtlRunStatus>(
        &db,
        "etl_runs",
        "status",
        "insert into etl_runs (source, trigger, status) values ('sample', 'cli', $1) returning status, status::text",
    )
    .await;
    check::<EtlTrigger>(
        &db,
        "etl_runs",
        "trigger",
        "insert into etl_runs (source, trigger) values ('sample', $1) returning trigger, trigger::text",
    )
    .await;
    check::<MarketSource>(
        &db,
        "etl_runs",
        "source",
        "insert into etl_runs (source, trigger) values ($1, 'cli') returning source, source::text",
    )
    .await;
    check::<MarketSource>(
        &db,
        "raw_responses",
        "source",
        "insert into raw_responses (source, endpoint, params, status, body)
         values ($1, 'quote', '{}', 200, '{}') returning source, source::text",
    )
    .await;
    check::<EtlOutcome>(
        &db,
        "etl_failures",
        "outcome",
        "insert into etl_failures (run_id, symbol, endpoint, outcome, reason)
         select max(id), 'AAPL', 'quote', $1, 'test' from etl_runs returning outcome, outcome::text",
    )
    .await;

    check::<SuppressionReason>(
        &db,
        "suppressed_addresses",
        "reason",
        "insert into suppressed_addresses (email, reason)
         values (gen_random_uuid() || '@example.com', $1) returning reason, reason::text",
    )
    .await;
}

#[tokio::test]
async fn a_value_outside_the_enum_is_refused_by_the_database() {
    let db = migrated_database().await;
    for (sql, value) in [
        (
            "insert into digest_runs (trigger) values ($1) returning id",
            "send-now",
        ),
        (
            "insert into etl_runs (source, trigger) values ('sample', $1) returning id",
            "test",
        ),
    ] {
        let refused = sqlx::query_scalar::<_, i64>(sql)
            .bind(value)
            .fetch_one(&db)
            .await
            .expect_err(value);
        let code = refused
            .as_database_error()
            .and_then(|e| e.code())
            .map(|c| c.into_owned());
        assert_eq!(code.as_deref(), Some("23514"), "{value}: {refused}"); // check_violation
    }
}
