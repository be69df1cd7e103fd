//! Retention: rows whose purpose is served are pruned once their window
//! (`QUOTIDIAN_RETENTION_*_DAYS`) is over, so the database does not grow for ever
//! (ADR 0011).
//!
//! A pass prunes in batches of `BATCH` rows, each its own short statement that skips
//! rows someone else has locked, so no batch holds locks for long or waits on a worker.
//! One process prunes at a time: a pass first takes a session-level advisory lock on a
//! connection of its own and is skipped if another process holds it.

use anyhow::Context as _;
use sqlx::Connection as _;

use crate::repositories::{
    advisory_locks, audit_outbox, digest_history, digest_runs, email_outbox, send_events, symbols,
    users,
};
use crate::state::AppState;

/// Any number that is ours alone; advisory lock keys are global to the database.
pub const LOCK_KEY: i64 = 0x5155_4f54_5245_5400; // "QUOTRET\0"

/// Rows per statement: small enough that each batch is over in milliseconds.
const BATCH: i64 = 500;

/// What one pass pruned.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PruneReport {
    /// Audit outbox rows whose record S3 has held for the window.
    pub audit_records: u64,
    /// Transactional emails no longer pending.
    pub emails: u64,
    /// Digests whose HTML and text were dropped (the digest record stays).
    pub digest_bodies: u64,
    pub symbol_searches: u64,
    /// Digest runs that queued nothing.
    pub empty_runs: u64,
    /// SES events kept as evidence about digest sends.
    pub ses_events: u64,
    /// Accounts never confirmed within `QUOTIDIAN_UNCONFIRMED_ACCOUNT_DAYS` (ADR 0008).
    pub unconfirmed_accounts: u64,
}

impl PruneReport {
    fn total(&self) -> u64 {
        self.audit_records
            + self.emails
            + self.digest_bodies
            + self.symbol_searches
            + self.empty_runs
            + self.ses_events
            + self.unconfirmed_accounts
    }
}

/// Holds the retention lock while it lives. A connection outside the pool: the
/// session-level lock dies with it, so a crash or a cancelled pass can never leave it
/// held by a pooled connection that someone else then borrows.
struct RetentionLock(sqlx::PgConnection);

impl RetentionLock {
    /// `None` when another process holds it.
    async fn try_acquire(state: &AppState) -> anyhow::Result<Option<Self>> {
        let mut conn = sqlx::PgConnection::connect_with(&state.db.connect_options())
            .await
            .context("opening the retention lock connection")?;
        let locked = advisory_locks::try_lock(&mut conn, LOCK_KEY).await?;
        if locked {
            Ok(Some(Self(conn)))
        } else {
            let _ = conn.close().await;
            Ok(None)
        }
    }

    async fn release(self) {
        let _ = self.0.close().await;
    }
}

/// One retention pass over every table; `None` when another process is pruning.
pub async fn prune(state: &AppState) -> anyhow::Result<Option<PruneReport>> {
    let Some(lock) = RetentionLock::try_acquire(state).await? else {
        tracing::debug!("another process is pruning; skipping this pass");
        return Ok(None);
    };
    let result = prune_locked(state).await;
    lock.release().await;
    let report = result?;
    if report.total() > 0 {
        tracing::info!(
            audit_records = report.audit_records,
            emails = report.emails,
            digest_bodies = report.digest_bodies,
            symbol_searches = report.symbol_searches,
            empty_runs = report.empty_runs,
            ses_events = report.ses_events,
            unconfirmed_accounts = report.unconfirmed_accounts,
            "retention pass pruned old rows"
        );
    }
    Ok(Some(report))
}

async fn prune_locked(state: &AppState) -> anyhow::Result<PruneReport> {
    let days = &state.config.retention;
    let db = &state.db;
    Ok(PruneReport {
        audit_records: batches("audit outbox", || {
            audit_outbox::prune_written(db, days.audit_outbox_days, BATCH)
        })
        .await?,
        emails: batches("email outbox", || {
            email_outbox::prune_finished(db, days.email_outbox_days, BATCH)
        })
        .await?,
        digest_bodies: batches("digest bodies", || {
            digest_history::prune_bodies(db, days.digest_body_days, BATCH)
        })
        .await?,
        symbol_searches: batches("symbol searches", || {
            symbols::prune_searches(db, days.symbol_search_days, BATCH)
        })
        .await?,
        empty_runs: batches("empty digest runs", || {
            digest_runs::prune_empty_runs(db, days.empty_run_days, BATCH)
        })
        .await?,
        ses_events: batches("SES events", || {
            send_events::prune(db, days.ses_event_days, BATCH)
        })
        .await?,
        unconfirmed_accounts: batches("unconfirmed accounts", || {
            users::purge_unconfirmed(db, state.config.retention.unconfirmed_account_days, BATCH)
        })
        .await?,
    })
}

/// Runs `batch` until it prunes nothing; returns the total.
async fn batches<F, Fut>(what: &str, mut batch: F) -> anyhow::Result<u64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = sqlx::Result<u64>>,
{
    let mut total = 0;
    loop {
        match batch().await.with_context(|| format!("pruning {what}"))? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}
