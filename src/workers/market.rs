//! The market-data planner's loop (ADR 0013). Every `serve` and `worker` runs it; one
//! of them leads: the process holding a session advisory lock on a connection of its
//! own. The lock dies with that connection, so when the leader's process dies or is
//! stopped another process takes the lead within a tick; nobody else plans meanwhile,
//! so no call is made twice for want of coordination.

use std::time::Duration;

use sqlx::Connection as _;

use crate::repositories::{advisory_locks, health};
use crate::services::etl::ahead::Leader;
use crate::state::AppState;

/// Any number that is ours alone; advisory lock keys are global to the database.
const PLANNER_LOCK: i64 = 0x5155_4f54_504c_414e; // "QUOTPLAN"

pub async fn planner(state: AppState) {
    let tick = Duration::from_millis(u64::from(state.config.etl.plan_tick_ms));
    loop {
        match try_lead(&state).await {
            Ok(Some(conn)) => lead(&state, conn, tick).await,
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(error = ?error, "could not try for the market-data planner's lead")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(tick) => {}
            () = state.shutdown.cancelled() => return,
        }
    }
}

/// The lock's connection when this process now leads.
async fn try_lead(state: &AppState) -> anyhow::Result<Option<sqlx::PgConnection>> {
    let mut conn = sqlx::PgConnection::connect_with(&state.db.connect_options()).await?;
    if advisory_locks::try_lock(&mut conn, PLANNER_LOCK).await? {
        Ok(Some(conn))
    } else {
        let _ = conn.close().await;
        Ok(None)
    }
}

/// Plans and fetches until the process stops or the lock's connection fails. A step
/// in progress finishes before the process stops (it is a few seconds of calls), so
/// its run is recorded.
async fn lead(state: &AppState, mut conn: sqlx::PgConnection, tick: Duration) {
    tracing::info!("this process leads the market-data planner");
    let mut leader = Leader::default();
    while !state.shutdown.is_cancelled() {
        if let Err(error) = health::ping(&mut conn).await {
            tracing::warn!(error = ?error, "lost the market-data planner's lock connection; giving up the lead");
            return;
        }
        let pause = match leader.step(state).await {
            Ok(step) if step.run.is_some() => None,
            Ok(step) => Some(idle_pause(step.wake_at, tick)),
            Err(error) => {
                tracing::warn!(error = ?error, "a market-data planning step failed");
                Some(tick)
            }
        };
        if let Some(pause) = pause {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = state.shutdown.cancelled() => {}
            }
        }
    }
    let _ = conn.close().await;
}

/// How long an idle leader sleeps: until the plan next wants a call, at least a tick,
/// at most 15 ticks (15 s by default: how soon it sees a schedule changed to a time
/// within the horizon, or a symbol short of history; delivery tops up whatever that
/// misses). Reading the demand costs the database more the more people watch, so an
/// idle leader does not read it every tick.
fn idle_pause(wake_at: Option<chrono::DateTime<chrono::Utc>>, tick: Duration) -> Duration {
    let longest = tick * 15;
    let until_wake = wake_at
        .map(|at| (at - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO))
        .unwrap_or(longest);
    until_wake.clamp(tick, longest)
}
