//! A person's digests as they were sent, and "send now".

use chrono::{NaiveDate, Utc};

use crate::domain::{CurrentUser, DigestStatus, DigestTrigger};
use crate::repositories::digest_history::{self, HistoryRow, SentDigestRow};
use crate::repositories::digest_jobs::{self, NewJobs};
use crate::repositories::digest_runs;
use crate::repositories::preferences;
use crate::services::{Error, Result, audit};
use crate::state::AppState;

pub async fn list(
    state: &AppState,
    user: &CurrentUser,
    before: Option<NaiveDate>,
    limit: u32,
) -> Result<Vec<HistoryRow>> {
    Ok(digest_history::history(&state.db, user.user_id, before, i64::from(limit)).await?)
}

pub async fn get(state: &AppState, user: &CurrentUser, id: i64) -> Result<Option<SentDigestRow>> {
    Ok(digest_history::get_for_user(&state.db, user.user_id, id).await?)
}

/// Queues today's digest now. The same one-per-day rule holds: if today's digest is
/// already queued or sent (by the schedule or an earlier "send now"), nothing new is
/// queued and the existing one is returned with `false`.
pub async fn send_now(state: &AppState, user: &CurrentUser) -> Result<(HistoryRow, bool)> {
    if state.send_now_throttle.check_key(&user.user_id).is_err() {
        return Err(Error::TooManyAttempts {
            retry_after_secs: 3600 / u64::from(state.config.digests.send_now_per_hour.get()),
        });
    }
    let prefs = preferences::get(&state.db, user.user_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("account has no preferences row"))?;
    let tz: chrono_tz::Tz = prefs
        .time_zone
        .parse()
        .map_err(|_| anyhow::anyhow!("stored time zone is invalid"))?;
    let now = Utc::now();
    let today = now.with_timezone(&tz).date_naive();
    let mut tx = state.db.begin().await?;
    let run_id = digest_runs::create_run(&mut *tx, DigestTrigger::SendNow).await?;
    let mut jobs = NewJobs::default();
    jobs.push(user.user_id, today, now, DigestStatus::Pending, None);
    let inserted =
        digest_jobs::insert_jobs(&mut tx, Some(run_id), DigestTrigger::SendNow, &jobs).await?;
    let queued = !inserted.is_empty();
    let run = digest_runs::finish_run(&mut *tx, run_id, 1, i32::from(queued), 0).await?;
    audit::queue_run(&mut tx, &run).await?;
    tx.commit().await?;
    state.digest_wakeup.notify_waiters();
    state.audit_wakeup.notify_waiters();
    let row = digest_history::history(&state.db, user.user_id, today.succ_opt(), 1)
        .await?
        .into_iter()
        .find(|r| r.local_date == today)
        .ok_or_else(|| anyhow::anyhow!("today's digest job is missing"))?;
    Ok((row, queued))
}

/// Unsubscribes the person an unsubscribe token names: their schedule is paused until
/// they resume it. Idempotent; `InvalidToken` for a token we did not sign or an
/// account that no longer exists.
pub async fn unsubscribe(state: &AppState, token: &str) -> Result<()> {
    let user_id = state
        .links
        .verify_unsubscribe(token)
        .ok_or(Error::InvalidToken)?;
    if !preferences::unsubscribe(&state.db, user_id).await? {
        return Err(Error::InvalidToken);
    }
    tracing::info!(%user_id, "unsubscribed through the email link");
    Ok(())
}
