//! Market-data extraction.

use super::reader::{Reader, positive_u32};

#[derive(Debug, Clone)]
pub struct EtlConfig {
    /// `QUOTIDIAN_ETL_CONCURRENCY`: Finnhub calls in flight at once during an
    /// extraction.
    pub concurrency: usize,
    /// `QUOTIDIAN_QUOTE_MAX_AGE_SECS`: a quote fetched within this many seconds is
    /// reused rather than fetched again (0 fetches every run).
    pub quote_max_age_secs: u32,
    /// `QUOTIDIAN_MARKET_PLAN_TICK_MS`: how often the planner's leader looks again
    /// when it has nothing to fetch, and how often the other processes try to take
    /// over the lead (ADR 0013).
    pub plan_tick_ms: u32,
    /// `QUOTIDIAN_DELIVERY_TOP_UP_SECS`: how long a delivery batch spends fetching
    /// what the planner left missing before it composes with what is stored.
    pub top_up_secs: u32,
}

impl Default for EtlConfig {
    fn default() -> Self {
        Self {
            concurrency: 8,
            quote_max_age_secs: 300,
            plan_tick_ms: 1000,
            top_up_secs: 10,
        }
    }
}

impl EtlConfig {
    pub(super) fn read(r: &mut Reader) -> Self {
        let d = Self::default();
        Self {
            concurrency: r.or("QUOTIDIAN_ETL_CONCURRENCY", d.concurrency, |v| {
                let n = positive_u32(v)?.get();
                if n > 1024 {
                    return Err("must be at most 1024".into());
                }
                Ok(n as usize)
            }),
            quote_max_age_secs: r.or("QUOTIDIAN_QUOTE_MAX_AGE_SECS", d.quote_max_age_secs, |v| {
                v.parse::<u32>()
                    .map_err(|_| "must be a whole number of seconds (0 fetches every run)".into())
            }),
            plan_tick_ms: r.or("QUOTIDIAN_MARKET_PLAN_TICK_MS", d.plan_tick_ms, |v| {
                let n = positive_u32(v)?.get();
                if n > 60_000 {
                    return Err("must be at most 60000 (a minute)".into());
                }
                Ok(n)
            }),
            top_up_secs: r.or("QUOTIDIAN_DELIVERY_TOP_UP_SECS", d.top_up_secs, |v| match v
                .parse::<u32>()
            {
                Ok(n) if n <= 120 => Ok(n),
                _ => Err("must be a whole number of seconds from 0 to 120".into()),
            }),
        }
    }

    /// How old stored market data may be before an extraction fetches it again.
    pub fn freshness(&self) -> crate::services::etl::Freshness {
        crate::services::etl::Freshness {
            quote: chrono::Duration::seconds(i64::from(self.quote_max_age_secs)),
            ..Default::default()
        }
    }

    /// What the planner plans with: the configured quote age, the defaults for the rest.
    pub fn plan_settings(&self) -> crate::services::etl::planner::PlanSettings {
        crate::services::etl::planner::PlanSettings {
            quote_max_age: chrono::Duration::seconds(i64::from(self.quote_max_age_secs)),
            ..Default::default()
        }
    }
}
