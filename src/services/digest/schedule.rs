//! The scheduler pass: finds the people who are due, queues one digest job per person
//! and local date, records missed days, and moves each person's next send instant on.

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::{Days, DigestStatus, DigestTrigger, Schedule, SendTime, TimeZone};
use crate::repositories::digest_jobs::{self, DueUserRow, NewJobs};
use crate::repositories::digest_runs;
use crate::repositories::market;
use crate::repositories::preferences::PreferencesRow;
use crate::services::audit;
use crate::services::etl::HOLIDAY_EXCHANGE;
use crate::state::AppState;

/// People handled per transaction: the lock on their preference rows is held that long.
const BATCH: i64 = 1000;

/// A host clock this far from the database's is worth a warning.
const CLOCK_SKEW_WARNING_SECS: i64 = 5;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleReport {
    pub run_id: Option<i64>,
    /// People found due.
    pub due: u32,
    /// Digest jobs queued (a person who already has today's digest, say from "send
    /// now", gets none).
    pub queued: u32,
    /// Days recorded as missed.
    pub missed: u32,
}

fn schedule_of(row: &DueUserRow) -> anyhow::Result<Schedule> {
    Ok(Schedule {
        time_zone: TimeZone::parse(&row.time_zone).context("stored time zone")?,
        send_time: SendTime::from_naive(row.send_time),
        days: Days::parse(&row.days).context("stored days")?,
    })
}

/// What one batch of due people came to, inside the transaction that locks them.
struct Queued {
    jobs: u32,
    missed: u32,
    /// Each person's next send instant, in the order they were given.
    nexts: Vec<Option<DateTime<Utc>>>,
}

/// The scheduler's rules for people who are due at `now`, whose preference rows `tx`
/// holds locked: today's digest is queued (even late), digests due on a local date
/// that has ended are recorded as missed (with their audit records), and each person's
/// next send instant is worked out. Both the scheduler pass and a schedule change
/// ([`settle_due`]) go through here, so the two cannot disagree.
async fn queue_due(
    tx: &mut PgConnection,
    run_id: i64,
    trigger: DigestTrigger,
    due: &[DueUserRow],
    now: DateTime<Utc>,
    holidays: &[NaiveDate],
) -> anyhow::Result<Queued> {
    let mut jobs = NewJobs::default();
    let mut nexts = Vec::with_capacity(due.len());
    for row in due {
        let schedule = match schedule_of(row) {
            Ok(s) => s,
            Err(error) => {
                // Only a hand-edited row gets here; stop scheduling it, loudly.
                tracing::error!(user_id = %row.user_id, error = ?error, "unreadable schedule; not scheduling");
                nexts.push(None);
                continue;
            }
        };
        let plan = schedule.plan_due(row.next_send_at, now, holidays);
        for (date, due_at) in plan.missed {
            jobs.push(
                row.user_id,
                date,
                due_at,
                DigestStatus::Missed,
                Some(format!(
                    "not sent: the service was not running on {date} (due {due_at})"
                )),
            );
        }
        if let Some((date, due_at)) = plan.today {
            jobs.push(row.user_id, date, due_at, DigestStatus::Pending, None);
        }
        nexts.push(Some(plan.next));
    }
    let inserted = digest_jobs::insert_jobs(tx, Some(run_id), trigger, &jobs).await?;
    let missed: Vec<_> = inserted
        .iter()
        .filter(|j| j.status == DigestStatus::Missed)
        .collect();
    audit::queue_deliveries(tx, &missed).await?;
    Ok(Queued {
        jobs: (inserted.len() - missed.len()) as u32,
        missed: missed.len() as u32,
        nexts,
    })
}

/// One scheduler pass, by the database's clock (read in each batch's transaction).
/// `process_now` is this process's own clock: it decides nothing and is only compared
/// with the database's, to warn about a host whose clock is off. Safe to run in several
/// processes at once: each locks the due rows it takes (`skip locked`), and the unique
/// (person, date) key makes a second job for the same day impossible.
#[tracing::instrument(name = "digest.schedule", skip(state))]
pub async fn schedule_due(
    state: &AppState,
    trigger: DigestTrigger,
    process_now: DateTime<Utc>,
) -> anyhow::Result<ScheduleReport> {
    let holidays = market::holidays(&state.db, HOLIDAY_EXCHANGE).await?;
    let mut report = ScheduleReport::default();
    let mut warned = false;
    loop {
        let mut tx = state.db.begin().await?;
        let now = digest_jobs::database_now(&mut *tx).await?;
        if !warned && (now - process_now).num_seconds().abs() > CLOCK_SKEW_WARNING_SECS {
            warned = true;
            tracing::warn!(
                skew_secs = (process_now - now).num_seconds(),
                database_now = %now,
                "this host's clock differs from the database's; scheduling follows the database"
            );
        }
        let due = digest_jobs::lock_due_users(&mut tx, now, BATCH).await?;
        if due.is_empty() {
            tx.commit().await?;
            break;
        }
        let run_id = match report.run_id {
            Some(id) => id,
            None => {
                let id = digest_runs::create_run(&mut *tx, trigger).await?;
                report.run_id = Some(id);
                id
            }
        };
        let queued = queue_due(&mut tx, run_id, trigger, &due, now, &holidays).await?;
        let ids: Vec<_> = due.iter().map(|r| r.user_id).collect();
        digest_jobs::set_next_send(&mut tx, &ids, &queued.nexts).await?;
        tx.commit().await?;
        for _ in 0..queued.missed {
            crate::metrics::digest_finished(DigestStatus::Missed);
        }
        report.due += due.len() as u32;
        report.missed += queued.missed;
        report.queued += queued.jobs;
        if (due.len() as i64) < BATCH {
            break;
        }
    }
    if let Some(run_id) = report.run_id {
        let mut tx = state.db.begin().await?;
        finish_run(&mut tx, run_id, &report).await?;
        tx.commit().await?;
        tracing::info!(
            run_id,
            due = report.due,
            queued = report.queued,
            missed = report.missed,
            "digests scheduled"
        );
        state.digest_wakeup.notify_waiters();
        state.audit_wakeup.notify_waiters();
    }
    Ok(report)
}

async fn finish_run(
    tx: &mut PgConnection,
    run_id: i64,
    report: &ScheduleReport,
) -> anyhow::Result<()> {
    let run = digest_runs::finish_run(
        &mut *tx,
        run_id,
        report.due as i32,
        report.queued as i32,
        report.missed as i32,
    )
    .await?;
    audit::queue_run(tx, &run).await?;
    Ok(())
}

/// Before a person's `next_send_at` is moved for any other reason (their preferences
/// were saved, their address confirmed, their password reset), does what the scheduler
/// would have done had it reached them first: if their digest is due by `now`, it is
/// queued, or recorded as missed, as one scheduler run (trigger `schedule`) in `tx`.
/// The caller must hold the person's preferences row locked in `tx` and pass the row
/// as it was before the change, with the database's `now`. Without this, a save in the
/// minute a digest fell due (while the scheduler skipped the locked row) moved
/// `next_send_at` past it and the digest was lost with no record.
pub async fn settle_due(
    tx: &mut PgConnection,
    user_id: Uuid,
    row: &PreferencesRow,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<ScheduleReport>> {
    let Some(next_send_at) = row.next_send_at.filter(|t| *t <= now) else {
        return Ok(None);
    };
    let due = DueUserRow {
        user_id,
        time_zone: row.time_zone.clone(),
        send_time: row.send_time,
        days: row.days.clone(),
        next_send_at,
    };
    let holidays = market::holidays(&mut *tx, HOLIDAY_EXCHANGE).await?;
    let run_id = digest_runs::create_run(&mut *tx, DigestTrigger::Schedule).await?;
    let queued = queue_due(tx, run_id, DigestTrigger::Schedule, &[due], now, &holidays).await?;
    let report = ScheduleReport {
        run_id: Some(run_id),
        due: 1,
        queued: queued.jobs,
        missed: queued.missed,
    };
    finish_run(tx, run_id, &report).await?;
    // Counted before the caller commits: a rollback after this (rare) overcounts.
    for _ in 0..queued.missed {
        crate::metrics::digest_finished(DigestStatus::Missed);
    }
    tracing::info!(
        run_id,
        %user_id,
        queued = report.queued,
        missed = report.missed,
        "due digest settled before the schedule moved"
    );
    Ok(Some(report))
}
