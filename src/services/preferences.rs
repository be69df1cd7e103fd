//! Schedule and content preferences, and the `next_send_at` the scheduler reads.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::Result;
use super::accounts::CurrentUser;
use crate::domain::{Days, Schedule, SendTime, TimeZone};
use crate::repositories::preferences::{self, PreferencesRow};
use crate::repositories::{market, users};
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

/// When the next digest is due: never while unconfirmed or paused. Trading days skip
/// the US market holidays the ETL has loaded.
async fn next_send_at(
    db: &mut PgConnection,
    schedule: &Schedule,
    confirmed: bool,
    paused: bool,
) -> Result<Option<DateTime<Utc>>> {
    if !confirmed || paused {
        return Ok(None);
    }
    let holidays = if schedule.days == Days::TradingDays {
        market::holidays(&mut *db, crate::services::etl::HOLIDAY_EXCHANGE).await?
    } else {
        Vec::new()
    };
    Ok(Some(schedule.next_send_after(Utc::now(), &holidays)))
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
    let parsed = from_row(&row)?;
    let confirmed = users::find_by_id(&mut *tx, user.user_id)
        .await?
        .is_some_and(|u| u.confirmed_at.is_some());
    row.next_send_at = next_send_at(&mut tx, &parsed.schedule, confirmed, row.paused).await?;
    let saved = preferences::update(&mut *tx, user.user_id, &row).await?;
    tx.commit().await?;
    Ok(from_row(&saved)?)
}

/// Recomputes `next_send_at` after something other than the preferences changed
/// (the address was confirmed), inside the caller's transaction.
pub async fn reschedule(tx: &mut PgConnection, user_id: Uuid) -> Result<()> {
    let Some(mut row) = preferences::get_for_update(&mut *tx, user_id).await? else {
        return Ok(());
    };
    let parsed = from_row(&row)?;
    let confirmed = users::find_by_id(&mut *tx, user_id)
        .await?
        .is_some_and(|u| u.confirmed_at.is_some());
    row.next_send_at = next_send_at(&mut *tx, &parsed.schedule, confirmed, row.paused).await?;
    preferences::update(&mut *tx, user_id, &row).await?;
    Ok(())
}
