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
}

impl Default for EtlConfig {
    fn default() -> Self {
        Self {
            concurrency: 8,
            quote_max_age_secs: 300,
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
        }
    }

    /// How old stored market data may be before an extraction fetches it again.
    pub fn freshness(&self) -> crate::services::etl::Freshness {
        crate::services::etl::Freshness {
            quote: chrono::Duration::seconds(i64::from(self.quote_max_age_secs)),
            ..Default::default()
        }
    }
}
