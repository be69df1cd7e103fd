//! The scheduler pass: finds the people who are due, queues one digest job per person
//! and local date, records missed days, and moves each person's next send instant on.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::domain::{Days, Schedule, SendTime, TimeZone};
use crate::repositories::digest_jobs::{self, DueUserRow, NewJobs};
use crate::repositories::market;
use crate::services::audit;
use crate::services::etl::HOLIDAY_EXCHANGE;
use crate::state::AppState;

/// People handled per transaction: the lock on their preference rows is held that long.
const BATCH: i64 = 1000;

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

/// One scheduler pass as of `now`. Safe to run in several processes at once: each
/// locks the due rows it takes (`skip locked`), and the unique (person, date) key
/// makes a second job for the same day impossible.
#[tracing::instrument(name = "digest.schedule", skip(state))]
pub async fn schedule_due(
    state: &AppState,
    trigger: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<ScheduleReport> {
    let holidays = market::holidays(&state.db, HOLIDAY_EXCHANGE).await?;
    let mut report = ScheduleReport::default();
    loop {
        let mut tx = state.db.begin().await?;
        let due = digest_jobs::lock_due_users(&mut tx, now, BATCH).await?;
        if due.is_empty() {
            tx.commit().await?;
            break;
        }
        let run_id = match report.run_id {
            Some(id) => id,
            None => {
                let id = digest_jobs::create_run(&mut *tx, trigger).await?;
                report.run_id = Some(id);
                id
            }
        };
        let mut jobs = NewJobs::default();
        let mut ids = Vec::with_capacity(due.len());
        let mut nexts = Vec::with_capacity(due.len());
        for row in &due {
            ids.push(row.user_id);
            let schedule = match schedule_of(row) {
                Ok(s) => s,
                Err(error) => {
                    // Only a hand-edited row gets here; stop scheduling it, loudly.
                    tracing::error!(user_id = %row.user_id, error = ?error, "unreadable schedule; not scheduling");
                    nexts.push(None);
                    continue;
                }
            };
            let plan = schedule.plan_due(row.next_send_at, now, &holidays);
            for (date, due_at) in plan.missed {
                jobs.push(
                    row.user_id,
                    date,
                    due_at,
                    "missed",
                    Some(format!(
                        "not sent: the service was not running on {date} (due {due_at})"
                    )),
                );
            }
            if let Some((date, due_at)) = plan.today {
                jobs.push(row.user_id, date, due_at, "pending", None);
            }
            nexts.push(Some(plan.next));
        }
        let inserted = digest_jobs::insert_jobs(&mut tx, Some(run_id), trigger, &jobs).await?;
        let missed: Vec<_> = inserted.iter().filter(|j| j.status == "missed").collect();
        audit::queue_deliveries(&mut tx, &missed).await?;
        digest_jobs::set_next_send(&mut tx, &ids, &nexts).await?;
        tx.commit().await?;
        for _ in &missed {
            crate::metrics::digest_finished("missed");
        }
        report.due += due.len() as u32;
        report.missed += missed.len() as u32;
        report.queued += (inserted.len() - missed.len()) as u32;
        if (due.len() as i64) < BATCH {
            break;
        }
    }
    if let Some(run_id) = report.run_id {
        let mut tx = state.db.begin().await?;
        let run = digest_jobs::finish_run(
            &mut *tx,
            run_id,
            report.due as i32,
            report.queued as i32,
            report.missed as i32,
        )
        .await?;
        audit::queue_run(&mut tx, &run).await?;
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
