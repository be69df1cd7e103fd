//! Finnhub: the key, where to reach it, its rate limits and how failed calls are
//! retried. The defaults are Finnhub's own facts and the client's policy, written
//! once in `clients::finnhub` and only read here.

use std::num::NonZeroU32;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::reader::{Reader, positive_u32};
use crate::clients::finnhub::{
    DEFAULT_BASE_URL, DEFAULT_REQUEST_TIMEOUT, FINNHUB_CALLS_PER_SECOND,
    FREE_PLAN_CALLS_PER_MINUTE, RetryPolicy,
};

#[derive(Debug, Clone)]
pub struct FinnhubConfig {
    /// `FINNHUB_API_KEY`; without one the built-in sample source stands in.
    pub api_key: Option<SecretString>,
    /// `FINNHUB_BASE_URL`.
    pub base_url: Url,
    /// `QUOTIDIAN_FINNHUB_CALLS_PER_MINUTE`: the plan's limit.
    pub calls_per_minute: NonZeroU32,
    /// `QUOTIDIAN_FINNHUB_CALLS_PER_SECOND`: Finnhub caps every plan at 30 a second;
    /// higher only for local mocks.
    pub calls_per_second: NonZeroU32,
    /// `QUOTIDIAN_FINNHUB_MAX_RETRIES`: retries after a failed call (429, 5xx,
    /// timeout).
    pub max_retries: u32,
    /// `QUOTIDIAN_FINNHUB_RETRY_BASE_MS`: the first retry's backoff; each retry
    /// doubles it.
    pub retry_base: Duration,
    /// `QUOTIDIAN_FINNHUB_TIMEOUT_MS`: per attempt.
    pub request_timeout: Duration,
    /// `QUOTIDIAN_FINNHUB_HEADROOM_PERCENT`: how far below the limits the shared call
    /// budget spaces calls, for the jitter between a reserved slot and the request
    /// reaching Finnhub (ADR 0013).
    pub headroom_percent: u32,
    /// `QUOTIDIAN_FINNHUB_CANDLES` (`on`/`off`): whether the plan includes daily candles
    /// (`/stock/candle`; not on the free plan). With them a newly watched symbol gets a
    /// year of history at once; without, history grows from our own daily quotes. The
    /// offline sample source always has them.
    pub candles: bool,
}

impl Default for FinnhubConfig {
    fn default() -> Self {
        let retry = RetryPolicy::default();
        Self {
            api_key: None,
            base_url: Url::parse(DEFAULT_BASE_URL).expect("the default Finnhub URL parses"),
            calls_per_minute: FREE_PLAN_CALLS_PER_MINUTE,
            calls_per_second: FINNHUB_CALLS_PER_SECOND,
            max_retries: retry.max_retries,
            retry_base: retry.min_delay,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            headroom_percent: 5,
            candles: false,
        }
    }
}

impl FinnhubConfig {
    pub(super) fn read(r: &mut Reader) -> Self {
        let d = Self::default();
        Self {
            api_key: r.maybe("FINNHUB_API_KEY", |v| {
                if v.chars().any(char::is_whitespace) {
                    Err("must not contain whitespace".into())
                } else {
                    Ok(SecretString::from(v.to_owned()))
                }
            }),
            base_url: r.or("FINNHUB_BASE_URL", d.base_url, |v| {
                let url = Url::parse(v).map_err(|e| format!("is not a URL ({e})"))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err("must be an http:// or https:// URL".into());
                }
                Ok(url)
            }),
            calls_per_minute: r.or(
                "QUOTIDIAN_FINNHUB_CALLS_PER_MINUTE",
                d.calls_per_minute,
                positive_u32,
            ),
            calls_per_second: r.or(
                "QUOTIDIAN_FINNHUB_CALLS_PER_SECOND",
                d.calls_per_second,
                positive_u32,
            ),
            max_retries: r.or("QUOTIDIAN_FINNHUB_MAX_RETRIES", d.max_retries, |v| match v
                .parse::<u32>()
            {
                Ok(n) if n <= 10 => Ok(n),
                _ => Err("must be a whole number from 0 to 10".into()),
            }),
            retry_base: r.or("QUOTIDIAN_FINNHUB_RETRY_BASE_MS", d.retry_base, |v| {
                positive_u32(v).map(|n| Duration::from_millis(u64::from(n.get())))
            }),
            request_timeout: r.or("QUOTIDIAN_FINNHUB_TIMEOUT_MS", d.request_timeout, |v| {
                positive_u32(v).map(|n| Duration::from_millis(u64::from(n.get())))
            }),
            headroom_percent: r.or(
                "QUOTIDIAN_FINNHUB_HEADROOM_PERCENT",
                d.headroom_percent,
                |v| match v.parse::<u32>() {
                    Ok(n) if n <= 50 => Ok(n),
                    _ => Err("must be a whole number from 0 to 50".into()),
                },
            ),
            candles: r.or("QUOTIDIAN_FINNHUB_CANDLES", d.candles, |v| match v {
                "on" => Ok(true),
                "off" => Ok(false),
                _ => Err("must be on or off".into()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::finnhub::{FinnhubLimiter, FinnhubSettings, LimiterConfig};

    #[test]
    fn the_defaults_are_the_clients_own() {
        let config = FinnhubConfig::default();
        let configured = FinnhubSettings::from_config(&config);
        let plain = FinnhubSettings::new(config.base_url.clone(), None);
        assert_eq!(configured.request_timeout, plain.request_timeout);
        assert_eq!(configured.retry, plain.retry);
        assert_eq!(configured.base_url.as_str(), "https://finnhub.io/api/v1");
        assert_eq!(
            FinnhubLimiter::from_config(&config).config(),
            LimiterConfig::per_minute(FREE_PLAN_CALLS_PER_MINUTE)
        );
    }

    fn read(vars: &[(&str, &str)]) -> (FinnhubConfig, Vec<String>) {
        let vars: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut r = Reader::new(&vars);
        let config = FinnhubConfig::read(&mut r);
        (config, r.into_errors())
    }

    #[test]
    fn candles_are_off_unless_the_plan_is_said_to_have_them() {
        assert!(!read(&[]).0.candles);
        assert!(read(&[("QUOTIDIAN_FINNHUB_CANDLES", "on")]).0.candles);
        assert!(!read(&[("QUOTIDIAN_FINNHUB_CANDLES", "off")]).0.candles);
        let (_, errors) = read(&[("QUOTIDIAN_FINNHUB_CANDLES", "yes")]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains("QUOTIDIAN_FINNHUB_CANDLES"),
            "{errors:?}"
        );
    }
}
