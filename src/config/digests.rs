//! How digests are scheduled, sent and audited, and how long a stopping process
//! lets that work finish.

use std::num::NonZeroU32;
use std::time::Duration;

use super::reader::{Reader, millis, positive_u32};

#[derive(Debug, Clone)]
pub struct DigestsConfig {
    /// `QUOTIDIAN_DIGEST_WORKERS` (`on`/`off`): run the scheduler, delivery and audit
    /// workers in this process (`serve`, `worker`).
    pub workers: bool,
    /// `QUOTIDIAN_SCHEDULER_TICK_MS`: how often the scheduler looks for people who
    /// are due.
    pub scheduler_tick_ms: u64,
    /// `QUOTIDIAN_DIGEST_POLL_MS`: how long an idle delivery or audit worker waits
    /// before looking again.
    pub poll_ms: u64,
    /// `QUOTIDIAN_DIGEST_CONCURRENCY`: digests sent at once by one process.
    pub concurrency: usize,
    /// `QUOTIDIAN_DIGEST_RETRY_BASE_MS`: first retry delay after SES throttling or a
    /// transient error; doubles each time.
    pub retry_base_ms: u64,
    /// `QUOTIDIAN_DIGEST_MAX_ATTEMPTS`: attempts before a digest is recorded as
    /// failed.
    pub max_attempts: u32,
    /// `QUOTIDIAN_SEND_NOW_PER_HOUR`: "send now" requests per account per hour.
    pub send_now_per_hour: NonZeroU32,
    /// `QUOTIDIAN_DIGEST_LEASE_SECS`: how long a digest may stay `sending` before its
    /// worker is presumed dead and the digest is recorded as "outcome unknown"
    /// (longer than the SES client's 30 s timeout). Claims not yet sending are
    /// released after twice this.
    pub lease_secs: u64,
    /// `QUOTIDIAN_SHUTDOWN_GRACE_SECS`: how long a stopping process lets its work in
    /// flight finish; shorter than the lease, so a stopped worker's sends are never
    /// taken for dead ones. `None`: half the lease, from 1 to 30 s (see
    /// [`DigestsConfig::shutdown_grace`]).
    pub shutdown_grace_secs: Option<u64>,
}

impl Default for DigestsConfig {
    fn default() -> Self {
        Self {
            workers: true,
            scheduler_tick_ms: 5000,
            poll_ms: 1000,
            concurrency: 8,
            retry_base_ms: 5000,
            max_attempts: 8,
            send_now_per_hour: const { NonZeroU32::new(3).unwrap() },
            lease_secs: 150,
            shutdown_grace_secs: None,
        }
    }
}

impl DigestsConfig {
    pub(super) fn read(r: &mut Reader) -> Self {
        let d = Self::default();
        let workers = r.or("QUOTIDIAN_DIGEST_WORKERS", d.workers, |v| match v {
            "on" => Ok(true),
            "off" => Ok(false),
            _ => Err("must be on or off".into()),
        });
        let scheduler_tick_ms = r.or(
            "QUOTIDIAN_SCHEDULER_TICK_MS",
            d.scheduler_tick_ms,
            millis(10),
        );
        let poll_ms = r.or("QUOTIDIAN_DIGEST_POLL_MS", d.poll_ms, millis(10));
        let concurrency = r.or("QUOTIDIAN_DIGEST_CONCURRENCY", d.concurrency, |v| {
            let n = positive_u32(v)?.get();
            if n > 256 {
                return Err("must be at most 256".into());
            }
            Ok(n as usize)
        });
        let retry_base_ms = r.or(
            "QUOTIDIAN_DIGEST_RETRY_BASE_MS",
            d.retry_base_ms,
            millis(10),
        );
        let max_attempts = r.or("QUOTIDIAN_DIGEST_MAX_ATTEMPTS", d.max_attempts, |v| {
            let n = positive_u32(v)?.get();
            if n > 50 {
                return Err("must be at most 50".into());
            }
            Ok(n)
        });
        let send_now_per_hour = r.or(
            "QUOTIDIAN_SEND_NOW_PER_HOUR",
            d.send_now_per_hour,
            positive_u32,
        );
        let lease_secs = r.or("QUOTIDIAN_DIGEST_LEASE_SECS", d.lease_secs, |v| {
            let n = positive_u32(v)?.get();
            if !(2..=3600).contains(&n) {
                return Err("must be between 2 and 3600".into());
            }
            Ok(u64::from(n))
        });
        let shutdown_grace_secs = r.maybe("QUOTIDIAN_SHUTDOWN_GRACE_SECS", |v| {
            let n = u64::from(positive_u32(v)?.get());
            if n >= lease_secs {
                return Err(format!(
                    "must be shorter than QUOTIDIAN_DIGEST_LEASE_SECS ({lease_secs})"
                ));
            }
            Ok(n)
        });
        Self {
            workers,
            scheduler_tick_ms,
            poll_ms,
            concurrency,
            retry_base_ms,
            max_attempts,
            send_now_per_hour,
            lease_secs,
            shutdown_grace_secs,
        }
    }

    /// How long a stopping process waits for its work in flight.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(
            self.shutdown_grace_secs
                .unwrap_or((self.lease_secs / 2).clamp(1, 30)),
        )
    }
}
