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

#[async_trait]
impl CallBudget for SharedBudget {
    async fn acquire(&self, priority: Priority) {
        let allowance = allowance(priority);
        loop {
            match pacing::reserve_within(&self.db, BUDGET, self.interval, allowance).await {
                Ok(Some(wait)) => {
                    if wait > 0.0 {
                        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
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
