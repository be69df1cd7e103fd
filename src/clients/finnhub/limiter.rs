//! The one Finnhub rate limiter of the process.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::config::FinnhubConfig;

/// The free plan's limit, the default until `QUOTIDIAN_FINNHUB_CALLS_PER_MINUTE` says
/// which plan the key is on.
pub const FREE_PLAN_CALLS_PER_MINUTE: NonZeroU32 = NonZeroU32::new(60).unwrap();

/// Finnhub's cap on every plan, on top of the per-minute plan limit.
pub const FINNHUB_CALLS_PER_SECOND: NonZeroU32 = NonZeroU32::new(30).unwrap();

/// Limits for [`FinnhubLimiter`].
///
/// Each limit is enforced so that no window of its length ever holds more than the
/// limit, however Finnhub counts (fixed or sliding windows): a burst of `b` is paid
/// for by spacing the remaining calls over the window, `window / (limit - b + 1)`
/// apart. A plain `Quota::per_minute(n)` would refill one call every `60/n` s on top
/// of a full burst of `n`, letting a fresh process make nearly `2n` calls in its
/// first minute, which is how one earns 429s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimiterConfig {
    /// The plan's limit (60 on the free plan).
    pub calls_per_minute: NonZeroU32,
    /// Calls allowed back to back at the start of a minute. Default 1: calls are
    /// spread evenly, which keeps the full per-minute rate (a burst of `b` lowers the
    /// steady rate to `n - b + 1` a minute) and costs a lone call at most `60/n` s.
    pub minute_burst: NonZeroU32,
    /// Finnhub's per-second cap, [`FINNHUB_CALLS_PER_SECOND`] unless a test lowers it.
    pub calls_per_second: NonZeroU32,
    /// Calls allowed back to back within a second; default 1.
    pub second_burst: NonZeroU32,
}

impl LimiterConfig {
    /// Finnhub's documented limits for a plan of `calls_per_minute`.
    pub fn per_minute(calls_per_minute: NonZeroU32) -> Self {
        Self {
            calls_per_minute,
            minute_burst: NonZeroU32::MIN,
            calls_per_second: FINNHUB_CALLS_PER_SECOND,
            second_burst: NonZeroU32::MIN,
        }
    }
}

/// The one Finnhub rate limiter of the process: every call, retries included, waits
/// on it. Cheap to clone; clones share the budget.
#[derive(Clone)]
pub struct FinnhubLimiter {
    per_minute: Arc<DefaultDirectRateLimiter>,
    per_second: Arc<DefaultDirectRateLimiter>,
    config: LimiterConfig,
}

impl FinnhubLimiter {
    /// A fresh budget. Build one per process and clone it to every caller: two
    /// limiters would each spend the whole plan.
    pub fn new(config: LimiterConfig) -> Self {
        Self {
            per_minute: Arc::new(RateLimiter::direct(window_quota(
                config.calls_per_minute,
                Duration::from_secs(60),
                config.minute_burst,
            ))),
            per_second: Arc::new(RateLimiter::direct(window_quota(
                config.calls_per_second,
                Duration::from_secs(1),
                config.second_burst,
            ))),
            config,
        }
    }

    /// The production limiter: the configured plan rate and per-second cap (Finnhub's
    /// 30 a second unless raised for a local mock).
    pub fn from_config(config: &FinnhubConfig) -> Self {
        Self::new(LimiterConfig {
            calls_per_second: config.calls_per_second,
            ..LimiterConfig::per_minute(config.calls_per_minute)
        })
    }

    /// Waits until both budgets allow one more call, and takes it.
    pub async fn until_ready(&self) {
        // The minute budget first: it is the one that makes callers wait, and taking
        // it early only ever makes the pair stricter, never looser.
        self.per_minute.until_ready().await;
        self.per_second.until_ready().await;
    }

    /// The limits this limiter enforces.
    pub fn config(&self) -> LimiterConfig {
        self.config
    }
}

impl fmt::Debug for FinnhubLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FinnhubLimiter")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A GCRA quota that never lets more than `limit` calls into any `window`: with a
/// burst of `b`, the other calls of the window are spaced `window / (limit - b + 1)`
/// apart, so `b` back to back plus the ones spaced out make exactly `limit`.
fn window_quota(limit: NonZeroU32, window: Duration, burst: NonZeroU32) -> Quota {
    let burst = burst.min(limit);
    let spaced = u128::from(limit.get() - burst.get() + 1);
    // Rounded up: a period a nanosecond short lets the last spaced call land just
    // inside the window instead of exactly on its edge, one call too many.
    let nanos = window.as_nanos().div_ceil(spaced).max(1);
    let period = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(limit))
        .allow_burst(burst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::{Clock as _, FakeRelativeClock, Reference as _};

    /// Takes cells as fast as the quota allows for `run` of fake time and returns
    /// when each was granted.
    fn greedy_grants(quota: Quota, run: Duration) -> Vec<Duration> {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::direct_with_clock(quota, clock.clone());
        let start = clock.now();
        let mut grants = Vec::new();
        while clock.now().duration_since(start) < run.into() {
            match limiter.check() {
                Ok(()) => grants.push(clock.now().duration_since(start).into()),
                Err(not_until) => clock.advance(not_until.wait_time_from(clock.now())),
            }
        }
        grants
    }

    fn most_in_any_window(grants: &[Duration], window: Duration) -> usize {
        (0..grants.len())
            .map(|i| {
                grants[i..]
                    .iter()
                    .take_while(|t| **t < grants[i] + window)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn no_window_ever_holds_more_than_the_limit_whatever_the_burst() {
        let minute = Duration::from_secs(60);
        for (limit, burst) in [(60, 1), (60, 5), (60, 60), (120, 10), (30, 3)] {
            let limit = NonZeroU32::new(limit).unwrap();
            let burst = NonZeroU32::new(burst).unwrap();
            let grants = greedy_grants(window_quota(limit, minute, burst), minute * 5);
            assert_eq!(
                most_in_any_window(&grants, minute),
                limit.get() as usize,
                "limit {limit}, burst {burst}"
            );
            // The price of a burst is a lower steady rate, never a higher one.
            let steady = limit.get() - burst.min(limit).get() + 1;
            assert!(
                grants.len() >= (steady * 5) as usize,
                "limit {limit}, burst {burst}: only {} grants in 5 minutes",
                grants.len()
            );
        }
    }

    #[test]
    fn a_plain_per_minute_quota_would_overshoot() {
        // Why `window_quota` exists: governor's default burst of n lets almost 2n
        // calls into the first minute.
        let n = NonZeroU32::new(60).unwrap();
        let minute = Duration::from_secs(60);
        let grants = greedy_grants(Quota::per_minute(n), minute * 2);
        assert!(most_in_any_window(&grants, minute) > 100);
    }

    #[test]
    fn a_burst_larger_than_the_limit_is_clamped() {
        let second = Duration::from_secs(1);
        let quota = window_quota(
            NonZeroU32::new(5).unwrap(),
            second,
            NonZeroU32::new(50).unwrap(),
        );
        let grants = greedy_grants(quota, second * 3);
        assert_eq!(most_in_any_window(&grants, second), 5);
    }
}
