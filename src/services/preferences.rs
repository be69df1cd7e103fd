//! Schedule and content preferences, and the `next_send_at` the scheduler reads.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::Result;
use crate::domain::CurrentUser;
use crate::domain::{Days, Schedule, SendTime, TimeZone};
use crate::repositories::preferences::{self, PreferencesRow};
use crate::repositories::{digest_jobs, market, users};
use crate::services::digest::schedule::{self, ScheduleReport};
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct Preferences {
    pub schedule: Schedule,
    pub paused: bool,
    pub include_news: bool,
    pub include_earnings: bool,
    pub next_send_at: Option<DateTime<Utc>>,
}

/// A partial update: `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct Changes {
    pub time_zone: Option<TimeZone>,
    pub send_time: Option<SendTime>,
    pub days: Option<Days>,
    pub paused: Option<bool>,
    pub include_news: Option<bool>,
    pub include_earnings: Option<bool>,
}

fn from_row(row: &PreferencesRow) -> anyhow::Result<Preferences> {
    // The row was written through these same types; a parse failure here means the
    // database was edited by hand, which is worth a loud error.
    Ok(Preferences {
        schedule: Schedule {
            time_zone: TimeZone::parse(&row.time_zone).context("stored time zone")?,
            send_time: SendTime::from_naive(row.send_time),
            days: Days::parse(&row.days).context("stored days")?,
        },
        paused: row.paused,
        include_news: row.include_news,
        include_earnings: row.include_earnings,
        next_send_at: row.next_send_at,
    })
}

/// When the next digest is due, as of the database's `now`: never while unconfirmed or
/// paused; never on a local date that already had its digest, in this zone or the one
/// it was sent in (ADR 0006). Trading days skip the US market holidays the ETL loaded.
async fn next_send_at(
    db: &mut PgConnection,
    user_id: Uuid,
    schedule: &Schedule,
    confirmed: bool,
    paused: bool,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    if !confirmed || paused {
        return Ok(None);
    }
    let holidays = if schedule.days == Days::TradingDays {
        market::holidays(&mut *db, crate::services::etl::HOLIDAY_EXCHANGE).await?
    } else {
        Vec::new()
    };
    let (latest_date, latest_due) = digest_jobs::latest_for_user(&mut *db, user_id).await?;
    let served = schedule.served_through(latest_date, latest_due);
    Ok(Some(
        schedule.next_send_after_served(now, &holidays, served),
    ))
}

/// Sets `row.next_send_at` for the schedule `row` now holds. First, whatever was due
/// under the schedule as it stood (`before`, the row as locked) is queued or recorded
/// missed exactly as the scheduler would have, since the scheduler skips a row this
/// transaction holds and would otherwise never see that instant again. The caller
/// holds the row locked in `tx`.
async fn move_next_send(
    tx: &mut PgConnection,
    user_id: Uuid,
    before: &PreferencesRow,
    row: &mut PreferencesRow,
) -> Result<Option<ScheduleReport>> {
    let now = digest_jobs::database_now(&mut *tx).await?;
    let settled = schedule::settle_due(&mut *tx, user_id, before, now).await?;
    let parsed = from_row(row)?;
    let confirmed = users::find_by_id(&mut *tx, user_id)
        .await?
        .is_some_and(|u| u.confirmed_at.is_some());
    row.next_send_at = next_send_at(
        &mut *tx,
        user_id,
        &parsed.schedule,
        confirmed,
        row.paused,
        now,
    )
    .await?;
    Ok(settled)
}

pub async fn get(state: &AppState, user: &CurrentUser) -> Result<Preferences> {
    let row = preferences::get(&state.db, user.user_id)
        .await?
        .context("account has no preferences row")?;
    Ok(from_row(&row)?)
}

#[tracing::instrument(skip_all, fields(user_id = %user.user_id))]
pub async fn update(state: &AppState, user: &CurrentUser, changes: Changes) -> Result<Preferences> {
    let mut tx = state.db.begin().await?;
    let mut row = preferences::get_for_update(&mut *tx, user.user_id)
        .await?
        .context("account has no preferences row")?;
    let before = row.clone();
    if let Some(tz) = changes.time_zone {
        row.time_zone = tz.name().to_owned();
    }
    if let Some(time) = changes.send_time {
        row.send_time = time.naive();
    }
    if let Some(days) = changes.days {
        row.days = days.as_str().to_owned();
    }
    if let Some(paused) = changes.paused {
        row.paused = paused;
    }
    if let Some(news) = changes.include_news {
        row.include_news = news;
    }
    if let Some(earnings) = changes.include_earnings {
        row.include_earnings = earnings;
    }
    // Refuse a row the scheduler could not read before anything is queued for it.
    from_row(&row)?;
    let settled = move_next_send(&mut tx, user.user_id, &before, &mut row).await?;
    let saved = preferences::update(&mut *tx, user.user_id, &row).await?;
    tx.commit().await?;
    if settled.is_some() {
        state.digest_wakeup.notify_waiters();
        state.audit_wakeup.notify_waiters();
    }
    Ok(from_row(&saved)?)
}

/// Recomputes `next_send_at` after something other than the preferences changed
/// (the address was confirmed, the password reset), inside the caller's transaction.
/// A digest due by now is queued first, as in [`update`]; the delivery worker finds
/// it at its next poll.
pub async fn reschedule(tx: &mut PgConnection, user_id: Uuid) -> Result<()> {
    let Some(mut row) = preferences::get_for_update(&mut *tx, user_id).await? else {
        return Ok(());
    };
    let before = row.clone();
    move_next_send(&mut *tx, user_id, &before, &mut row).await?;
    preferences::update(&mut *tx, user_id, &row).await?;
    Ok(())
}
