//! The Finnhub call budget of every process on the database (ADR 0013).
//!
//! Finnhub's limits are the API key's, not a process's: extraction, symbol search and
//! the watchlist's check in every `serve` and `worker` draw from one budget, the
//! `finnhub` row of `send_pacing` (the GCRA row ADR 0012 uses for SES). Calls are
//! spaced evenly at the stricter of the plan's per-minute and Finnhub's per-second
//! limit, less a headroom (`QUOTIDIAN_FINNHUB_HEADROOM_PERCENT`) that absorbs the
//! timer and network jitter between reserving a slot and the request reaching
//! Finnhub: evenly spaced calls never put more than the limit into any window of
//! either length.
//!
//! Priorities: a call may reserve a slot only while the budget is reserved less than
//! its priority's allowance ahead of now. Work for digests due soon reserves however
//! far ahead; a new symbol's fetch, a search and background refreshes wait, in that
//! order, until the more urgent work has had its slots. Background work takes only
//! slots nobody else wants (the budget idle).

use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;

use crate::clients::finnhub::{CallBudget, FinnhubLimiter, LimiterConfig, Priority};
use crate::config::FinnhubConfig;
use crate::repositories::pacing;

const BUDGET: &str = "finnhub";

/// How far ahead of now the budget may already be reserved for a call at `priority`
/// to take a slot (`None`: however far).
pub fn allowance(priority: Priority) -> Option<f64> {
    match priority {
        Priority::Due => None,
        Priority::NewSymbol => Some(2.0),
        Priority::Search => Some(1.0),
        Priority::Background => Some(0.0),
    }
}

/// Seconds between two calls of everyone together: the stricter of the two limits,
/// widened by `headroom` (a fraction, e.g. 0.05).
pub fn interval_secs(calls_per_minute: f64, calls_per_second: f64, headroom: f64) -> f64 {
    let base = (60.0 / calls_per_minute.max(0.001)).max(1.0 / calls_per_second.max(0.001));
    base / (1.0 - headroom.clamp(0.0, 0.9))
}

#[derive(Debug)]
pub struct SharedBudget {
    db: PgPool,
    interval: f64,
    /// Used when the database does not answer a reservation.
    fallback: FinnhubLimiter,
}

impl SharedBudget {
    pub fn new(db: PgPool, limits: LimiterConfig, headroom: f64) -> Self {
        Self {
            db,
            interval: interval_secs(
                f64::from(limits.calls_per_minute.get()),
                f64::from(limits.calls_per_second.get()),
                headroom,
            ),
            fallback: FinnhubLimiter::new(limits),
        }
    }

    pub fn from_config(db: PgPool, config: &FinnhubConfig) -> Self {
        Self::new(
            db,
            LimiterConfig {
                calls_per_second: config.calls_per_second,
                ..LimiterConfig::per_minute(config.calls_per_minute)
            },
            f64::from(config.headroom_percent) / 100.0,
        )
    }

    /// Seconds between two calls of all processes together.
    pub fn interval(&self) -> f64 {
        self.interval
    }
}

/// A slot used this late is given up and another one taken: see [`SharedBudget::acquire`].
fn late_tolerance(interval: f64) -> Duration {
    Duration::from_secs_f64((2.0 * interval).max(0.05))
}

/// How many slots one call gives up for being late before it goes anyway (a 429 is
/// then retried like any other).
const MAX_LATE_SLOTS: u32 = 5;

#[async_trait]
impl CallBudget for SharedBudget {
    /// Reserves the next slot the call's priority may take, and waits for it. A process
    /// that wakes up late for its slot (a stalled machine, a slow answer from the
    /// database) gives the slot up and takes a new one rather than sending late: late
    /// calls would reach Finnhub bunched together with the on-time calls of the other
    /// processes, above the limit in that second. A wasted slot only costs throughput.
    async fn acquire(&self, priority: Priority) {
        let allowance = allowance(priority);
        let mut late_slots = 0;
        loop {
            let reserved = match self.db.acquire().await {
                Ok(mut conn) => {
                    // Timed from here, so that waiting for a pooled connection does
                    // not count as lateness.
                    let asked = tokio::time::Instant::now();
                    pacing::reserve_within(&mut *conn, BUDGET, self.interval, allowance)
                        .await
                        .map(|wait| wait.map(|w| asked + Duration::from_secs_f64(w.max(0.0))))
                }
                Err(error) => Err(error),
            };
            match reserved {
                Ok(Some(slot)) => {
                    tokio::time::sleep_until(slot).await;
                    let late = tokio::time::Instant::now().saturating_duration_since(slot);
                    if late > late_tolerance(self.interval) && late_slots < MAX_LATE_SLOTS {
                        late_slots += 1;
                        tracing::debug!(
                            late_ms = late.as_millis() as u64,
                            "gave up a late Finnhub slot"
                        );
                        continue;
                    }
                    return;
                }
                Ok(None) => {
                    // More urgent work holds the slots ahead: look again about when
                    // they are used up.
                    let ahead = pacing::reserved_ahead(&self.db, BUDGET)
                        .await
                        .unwrap_or(self.interval);
                    let wait = (ahead - allowance.unwrap_or(0.0)).clamp(0.02, 1.0);
                    let jitter = 1.0 + rand::random::<f64>() * 0.2;
                    tokio::time::sleep(Duration::from_secs_f64(wait * jitter)).await;
                }
                Err(error) => {
                    tracing::warn!(error = ?error, "could not reserve a shared Finnhub slot; pacing this process alone");
                    self.fallback.until_ready().await;
                    return;
                }
            }
        }
    }

    fn calls_per_second(&self) -> f64 {
        1.0 / self.interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stricter_limit_sets_the_spacing() {
        // The free plan: one a second; a paid plan: Finnhub's 30 a second.
        assert!((interval_secs(60.0, 30.0, 0.0) - 1.0).abs() < 1e-9);
        assert!((interval_secs(3000.0, 30.0, 0.0) - 1.0 / 30.0).abs() < 1e-9);
        // 5% headroom: 28.5 a second.
        assert!((1.0 / interval_secs(3000.0, 30.0, 0.05) - 28.5).abs() < 1e-9);
    }

    #[test]
    fn the_more_urgent_the_work_the_further_ahead_it_may_reserve() {
        let order = [
            Priority::Due,
            Priority::NewSymbol,
            Priority::Search,
            Priority::Background,
        ];
        let reach = |p| allowance(p).unwrap_or(f64::INFINITY);
        for pair in order.windows(2) {
            assert!(reach(pair[0]) > reach(pair[1]), "{pair:?}");
        }
        assert_eq!(allowance(Priority::Background), Some(0.0));
    }
}
