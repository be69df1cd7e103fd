//! Market data: the `MarketData` trait and its Finnhub implementation, with the shared
//! rate limiter every Finnhub call in the process goes through.
//!
//! Every successful call returns the typed value together with the raw body and how
//! it was obtained ([`Fetched`]), because the ETL keeps each raw response for audit.
//! The API key travels in the `token` query parameter (the only way Finnhub reliably
//! accepts it), so it is part of every request URL: no URL is ever logged or put into
//! an error, and error texts built from anything the server sent are scrubbed of it.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use backon::{ExponentialBuilder, Retryable as _};
use chrono::{DateTime, NaiveDate, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use secrecy::{ExposeSecret as _, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::Config;
use crate::domain::Symbol;

/// Finnhub's cap on every plan, on top of the per-minute plan limit.
pub const FINNHUB_CALLS_PER_SECOND: NonZeroU32 = NonZeroU32::new(30).unwrap();

/// Bodies above this are refused rather than buffered: no Finnhub endpoint we call
/// comes near it, so a larger body means something is wrong upstream.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// How much of an unexpected error body is kept in an error message.
const MAX_ERROR_BODY_CHARS: usize = 500;

// ---------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------

/// `GET /quote`: the latest price of one symbol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    /// Current price.
    pub c: f64,
    /// Change since the previous close; null when Finnhub has no data.
    pub d: Option<f64>,
    /// Change since the previous close, in percent; null when Finnhub has no data.
    pub dp: Option<f64>,
    /// High of the day.
    pub h: f64,
    /// Low of the day.
    pub l: f64,
    /// Open of the day.
    pub o: f64,
    /// Previous close.
    pub pc: f64,
    /// Time of the quote, unix seconds.
    #[serde(default)]
    pub t: i64,
}

impl Quote {
    /// Finnhub answers an unknown symbol with 200 and every price 0: that is "no
    /// data", never a price of 0.
    pub fn is_all_zero(&self) -> bool {
        [self.c, self.h, self.l, self.o, self.pc]
            .iter()
            .all(|v| *v == 0.0)
    }

    /// When the quote was taken, if `t` is a plausible timestamp.
    pub fn as_of(&self) -> Option<DateTime<Utc>> {
        (self.t > 0)
            .then(|| DateTime::from_timestamp(self.t, 0))
            .flatten()
    }
}

/// `GET /stock/profile2`. Finnhub leaves fields out freely, so all are optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompanyProfile {
    pub country: Option<String>,
    pub currency: Option<String>,
    pub exchange: Option<String>,
    pub name: Option<String>,
    pub ticker: Option<String>,
    /// IPO date as Finnhub writes it (`1980-12-12`); kept as text because some
    /// profiles carry an empty or partial date.
    pub ipo: Option<String>,
    /// Market capitalisation in millions of `currency`.
    pub market_capitalization: Option<f64>,
    /// Shares outstanding, in millions.
    pub share_outstanding: Option<f64>,
    pub logo: Option<String>,
    pub phone: Option<String>,
    pub weburl: Option<String>,
    pub finnhub_industry: Option<String>,
}

impl CompanyProfile {
    /// `{}` is Finnhub's answer for an unknown symbol; a profile naming neither the
    /// company nor its ticker is just as useless to a digest.
    pub fn is_empty(&self) -> bool {
        self.ticker.as_deref().is_none_or(str::is_empty)
            && self.name.as_deref().is_none_or(str::is_empty)
    }
}

/// One article from `GET /company-news`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewsItem {
    #[serde(default)]
    pub category: String,
    /// Publication time, unix seconds.
    pub datetime: i64,
    pub headline: String,
    pub id: i64,
    #[serde(default)]
    pub image: String,
    /// Comma-separated symbols the article is about.
    #[serde(default)]
    pub related: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub summary: String,
    pub url: String,
}

impl NewsItem {
    /// Publication time, if `datetime` is a plausible timestamp.
    pub fn published_at(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(self.datetime, 0)
    }
}

/// `GET /search`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolSearch {
    #[serde(default)]
    pub count: u64,
    #[serde(default)]
    pub result: Vec<SymbolMatch>,
}

/// One hit of a symbol search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SymbolMatch {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub display_symbol: String,
    pub symbol: String,
    /// `Common Stock`, `ETP`, `ADR`, ... (empty for some instruments).
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// `GET /calendar/earnings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EarningsCalendar {
    #[serde(default)]
    pub earnings_calendar: Vec<Earning>,
}

/// One company's earnings release. Figures are null until they are known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Earning {
    pub symbol: String,
    pub date: NaiveDate,
    /// `bmo` (before market open), `amc` (after market close), `dmh` (during market
    /// hours), or empty when not announced.
    #[serde(default)]
    pub hour: String,
    pub year: Option<i32>,
    pub quarter: Option<i32>,
    pub eps_estimate: Option<f64>,
    pub eps_actual: Option<f64>,
    pub revenue_estimate: Option<f64>,
    pub revenue_actual: Option<f64>,
}

/// `GET /stock/market-holiday`: the exchange's holidays, past and coming.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketHolidays {
    #[serde(default)]
    pub data: Vec<MarketHoliday>,
    pub exchange: Option<String>,
    /// IANA zone the trading hours are in, e.g. `America/New_York`.
    pub timezone: Option<String>,
}

/// One holiday: closed all day, or open for `trading_hour` only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketHoliday {
    #[serde(default)]
    pub event_name: String,
    pub at_date: NaiveDate,
    /// Empty when the market is closed all day, else the shortened session such as
    /// `09:30-13:00`.
    #[serde(default)]
    pub trading_hour: String,
}

impl MarketHoliday {
    /// True for a full closure, false for a shortened session.
    pub fn closed_all_day(&self) -> bool {
        self.trading_hour.trim().is_empty()
    }
}

/// A typed answer together with the exchange that produced it.
#[derive(Debug, Clone)]
pub struct Fetched<T> {
    /// The parsed answer.
    pub value: T,
    /// The request and response it was parsed from.
    pub raw: RawResponse,
}

impl<T> Fetched<T> {
    /// Transforms the value and keeps the exchange it came from.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Fetched<U> {
        Fetched {
            value: f(self.value),
            raw: self.raw,
        }
    }
}

/// What was asked and what came back, as the audit trail keeps it. Never holds the
/// API key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RawResponse {
    /// Endpoint path relative to the base URL, e.g. `/quote`.
    pub path: String,
    /// Query parameters as sent, without `token`.
    pub params: Vec<(String, String)>,
    /// HTTP status of the final attempt (always 2xx here).
    pub status: u16,
    /// The body exactly as received (invalid UTF-8 replaced).
    pub body: String,
    /// Requests sent for this call, the successful one included.
    pub attempts: u32,
    /// How many of those were answered with 429.
    pub rate_limited: u32,
    /// When the final response was read.
    pub received_at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------

/// Why a Finnhub call failed, split by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum FinnhubError {
    /// Stop the run: no key is configured.
    #[error("no Finnhub API key is configured (FINNHUB_API_KEY)")]
    NoApiKey,
    /// Stop the run: every further call would be refused the same way.
    #[error("Finnhub refused the API key (HTTP {status})")]
    BadApiKey { status: u16 },
    /// Skip this symbol or endpoint: the key is fine but the plan does not cover the
    /// data (Finnhub answers 401 or 403 with "You don't have access to this
    /// resource." for, e.g., non-US symbols on the free plan).
    #[error("the Finnhub plan does not cover {path} (HTTP {status})")]
    NoAccess { status: u16, path: String },
    /// Skip this symbol: Finnhub knows nothing about it (all-zero quote, `{}`
    /// profile).
    #[error("Finnhub has no data for {} {:?}", .raw.path, .raw.params)]
    NoData { raw: Box<RawResponse> },
    /// Skip and alert: the answer was not what Finnhub documents.
    #[error("unexpected response from Finnhub {}: {reason}", .raw.path)]
    BadData {
        reason: String,
        raw: Box<RawResponse>,
    },
    /// Skip and alert: Finnhub refused the request itself (a 4xx other than 401,
    /// 403 and 429), so sending it again cannot help.
    #[error("Finnhub rejected the request (HTTP {status}): {body}")]
    Rejected { status: u16, body: String },
    /// Try again later: still answered 429 when the retries ran out.
    #[error("Finnhub rate limit still reached after {attempts} attempt(s)")]
    RateLimited { attempts: u32 },
    /// Try again later: 5xx, timeouts or connection failures until the retries ran
    /// out.
    #[error("Finnhub unavailable: {0}")]
    Unavailable(String),
}

impl FinnhubError {
    /// True when no further call can succeed until someone fixes the configuration.
    pub fn stops_the_run(&self) -> bool {
        matches!(self, Self::NoApiKey | Self::BadApiKey { .. })
    }

    /// True when the same call may well succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable(_))
    }

    /// The response behind a `NoData` or `BadData`, for the audit trail.
    pub fn raw(&self) -> Option<&RawResponse> {
        match self {
            Self::NoData { raw } | Self::BadData { raw, .. } => Some(raw),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------
// Rate limiter
// ---------------------------------------------------------------------------------

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
    pub fn from_config(config: &Config) -> Self {
        Self::new(LimiterConfig {
            calls_per_second: config.finnhub_calls_per_second,
            ..LimiterConfig::per_minute(config.finnhub_calls_per_minute)
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

// ---------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------

/// How failed attempts are retried. Only 429, 5xx, 408, timeouts and connection
/// failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff; each retry doubles it up to `max_delay`. Jitter adds a
    /// random 0-100 % on top, so callers that failed together do not retry together.
    pub min_delay: Duration,
    /// The longest backoff before jitter.
    pub max_delay: Duration,
    /// The longest `Retry-After` we honour; a larger one is cut down to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            // Finnhub's limit is per minute: 1, 2, 4, 8 s (plus jitter) spans about
            // a quarter to half of a minute, enough for a window to roll over.
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_max_times(self.max_retries as usize)
            .with_jitter()
    }
}

/// Everything a [`FinnhubClient`] needs besides the limiter.
#[derive(Debug, Clone)]
pub struct FinnhubSettings {
    /// E.g. `https://finnhub.io/api/v1`; endpoint paths are appended to it.
    pub base_url: Url,
    /// Sent as the `token` query parameter; without one every call is `NoApiKey`.
    pub api_key: Option<SecretString>,
    /// Per attempt, from sending the request to the end of the body.
    pub request_timeout: Duration,
    /// Which failures are retried, how often and how far apart.
    pub retry: RetryPolicy,
}

impl FinnhubSettings {
    /// Production defaults: a 10 s timeout per attempt and [`RetryPolicy::default`].
    pub fn new(base_url: Url, api_key: Option<SecretString>) -> Self {
        Self {
            base_url,
            api_key,
            request_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        }
    }

    /// Settings from the service configuration (timeout and retry policy included).
    pub fn from_config(config: &Config) -> Self {
        let mut settings = Self::new(
            config.finnhub_base_url.clone(),
            config.finnhub_api_key.clone(),
        );
        settings.request_timeout = Duration::from_millis(config.finnhub_timeout_ms);
        settings.retry.max_retries = config.finnhub_max_retries;
        settings.retry.min_delay = Duration::from_millis(config.finnhub_retry_base_ms);
        settings
    }
}

/// Market data the digest needs. Implemented by [`FinnhubClient`]; tests that do not
/// exercise HTTP can substitute a fake.
#[async_trait]
pub trait MarketData: Send + Sync {
    /// Latest price. An unknown symbol is `NoData`.
    async fn quote(&self, symbol: &Symbol) -> Result<Fetched<Quote>, FinnhubError>;

    /// Company profile. An unknown symbol is `NoData`. Changes rarely: cache it.
    async fn profile(&self, symbol: &Symbol) -> Result<Fetched<CompanyProfile>, FinnhubError>;

    /// News about a North American company published between `from` and `to`
    /// (inclusive dates). No news is an empty list, not an error.
    async fn company_news(
        &self,
        symbol: &Symbol,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Fetched<Vec<NewsItem>>, FinnhubError>;

    /// Symbols matching free text (a name, an ISIN, a ticker).
    async fn search(&self, query: &str) -> Result<Fetched<SymbolSearch>, FinnhubError>;

    /// Earnings releases between `from` and `to`, for one symbol or for all.
    async fn earnings(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        symbol: Option<&Symbol>,
    ) -> Result<Fetched<EarningsCalendar>, FinnhubError>;

    /// Holidays of an exchange, e.g. `US`.
    async fn market_holidays(
        &self,
        exchange: &str,
    ) -> Result<Fetched<MarketHolidays>, FinnhubError>;
}

/// The Finnhub REST client. Cheap to share behind an `Arc`; it holds one connection
/// pool for all calls.
#[derive(Debug)]
pub struct FinnhubClient {
    http: reqwest::Client,
    base_url: Url,
    api_key: Option<SecretString>,
    limiter: FinnhubLimiter,
    retry: RetryPolicy,
    request_timeout: Duration,
}

impl FinnhubClient {
    /// Builds the client and its connection pool. Fails only on a base URL that
    /// is not http(s) or on a TLS setup error.
    pub fn new(settings: FinnhubSettings, limiter: FinnhubLimiter) -> anyhow::Result<Self> {
        let FinnhubSettings {
            base_url,
            api_key,
            request_timeout,
            retry,
        } = settings;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.cannot_be_a_base() {
            anyhow::bail!("the Finnhub base URL must be an http:// or https:// URL");
        }
        let http = reqwest::Client::builder()
            .timeout(request_timeout)
            .connect_timeout(request_timeout.min(Duration::from_secs(5)))
            // A redirect would carry the token in its query to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("quotidian/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the Finnhub HTTP client")?;
        Ok(Self {
            http,
            base_url,
            api_key,
            limiter,
            retry,
            request_timeout,
        })
    }

    fn endpoint(&self, path: &str) -> Url {
        let mut url = self.base_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend(path.split('/').filter(|s| !s.is_empty()));
        }
        url
    }

    /// Sends `GET path?params&token=...`, retrying what is worth retrying, and
    /// returns the final 2xx exchange.
    async fn fetch(
        &self,
        path: &str,
        params: Vec<(&'static str, String)>,
    ) -> Result<RawResponse, FinnhubError> {
        let key = self.api_key.as_ref().ok_or(FinnhubError::NoApiKey)?;
        let url = self.endpoint(path);
        let attempts = AtomicU32::new(0);
        let rate_limited = AtomicU32::new(0);

        // backon drives the loop; `adjust` is where Retry-After overrides its delay.
        let outcome = (|| self.attempt(&url, path, key, &params, &attempts, &rate_limited))
            .retry(self.retry.backoff())
            .when(AttemptError::is_retryable)
            .adjust(|err, proposed| {
                retry_delay(proposed, err.retry_after(), self.retry.max_retry_after)
            })
            .notify(|err, delay| {
                tracing::warn!(
                    path,
                    reason = %err.describe(),
                    delay_ms = delay.as_millis() as u64,
                    "Finnhub call failed; retrying"
                );
            })
            .await;

        let attempts = attempts.into_inner();
        let rate_limited = rate_limited.into_inner();
        match outcome {
            Ok(reply) => {
                let raw = RawResponse {
                    path: path.to_owned(),
                    params: params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                    status: reply.status,
                    body: reply.body,
                    attempts,
                    rate_limited,
                    received_at: Utc::now(),
                };
                if reply.truncated {
                    return Err(FinnhubError::BadData {
                        reason: format!("response body larger than {MAX_BODY_BYTES} bytes"),
                        raw: Box::new(raw),
                    });
                }
                Ok(raw)
            }
            Err(AttemptError::RateLimited { .. }) => Err(FinnhubError::RateLimited { attempts }),
            Err(AttemptError::Unavailable { reason, .. }) => {
                let plural = if attempts == 1 { "" } else { "s" };
                Err(FinnhubError::Unavailable(format!(
                    "{reason} (after {attempts} attempt{plural})"
                )))
            }
            Err(AttemptError::Final(error)) => Err(error),
        }
    }

    /// One request, after waiting for the shared limiter.
    async fn attempt(
        &self,
        url: &Url,
        path: &str,
        key: &SecretString,
        params: &[(&'static str, String)],
        attempts: &AtomicU32,
        rate_limited: &AtomicU32,
    ) -> Result<Reply, AttemptError> {
        self.limiter.until_ready().await;
        attempts.fetch_add(1, Ordering::Relaxed);
        let redact = |text: &str| redact(text, key);

        let response = self
            .http
            .get(url.clone())
            .query(params)
            .query(&[("token", key.expose_secret())])
            .send()
            .await
            .inspect_err(|_| crate::metrics::finnhub_call(path, 0))
            .map_err(|e| AttemptError::Unavailable {
                reason: redact(&describe_transport_error(e, self.request_timeout)),
                retry_after: None,
            })?;

        let status = response.status();
        crate::metrics::finnhub_call(path, status.as_u16());
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, Utc::now()));

        if status == StatusCode::TOO_MANY_REQUESTS {
            rate_limited.fetch_add(1, Ordering::Relaxed);
            return Err(AttemptError::RateLimited { retry_after });
        }
        if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
            return Err(AttemptError::Unavailable {
                reason: format!("HTTP {}", status.as_u16()),
                retry_after,
            });
        }

        let (body, truncated) =
            read_body(response)
                .await
                .map_err(|e| AttemptError::Unavailable {
                    reason: redact(&describe_transport_error(e, self.request_timeout)),
                    retry_after: None,
                })?;

        if status.is_success() {
            return Ok(Reply {
                status: status.as_u16(),
                body,
                truncated,
            });
        }
        let error = if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            // Finnhub uses both codes for a bad key and for data outside the plan;
            // only the body tells them apart, and only a bad key should stop a run.
            if body
                .to_ascii_lowercase()
                .contains("access to this resource")
            {
                FinnhubError::NoAccess {
                    status: status.as_u16(),
                    path: path.to_owned(),
                }
            } else {
                FinnhubError::BadApiKey {
                    status: status.as_u16(),
                }
            }
        } else {
            FinnhubError::Rejected {
                status: status.as_u16(),
                // Scrubbed before shortening, so a cut cannot leave half a key.
                body: shorten(&redact(&body)),
            }
        };
        Err(AttemptError::Final(error))
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        params: Vec<(&'static str, String)>,
    ) -> Result<Fetched<T>, FinnhubError> {
        let raw = self.fetch(path, params).await?;
        match serde_json::from_str::<T>(&raw.body) {
            Ok(value) => Ok(Fetched { value, raw }),
            Err(e) => Err(FinnhubError::BadData {
                reason: e.to_string(),
                raw: Box::new(raw),
            }),
        }
    }
}

#[async_trait]
impl MarketData for FinnhubClient {
    #[tracing::instrument(name = "finnhub.quote", skip_all, fields(symbol = %symbol))]
    async fn quote(&self, symbol: &Symbol) -> Result<Fetched<Quote>, FinnhubError> {
        let fetched: Fetched<Quote> = self
            .get_json("/quote", vec![("symbol", symbol.to_string())])
            .await?;
        if fetched.value.is_all_zero() {
            return Err(FinnhubError::NoData {
                raw: Box::new(fetched.raw),
            });
        }
        if fetched.value.c <= 0.0 {
            return Err(FinnhubError::BadData {
                reason: format!("current price is {}", fetched.value.c),
                raw: Box::new(fetched.raw),
            });
        }
        Ok(fetched)
    }

    #[tracing::instrument(name = "finnhub.profile", skip_all, fields(symbol = %symbol))]
    async fn profile(&self, symbol: &Symbol) -> Result<Fetched<CompanyProfile>, FinnhubError> {
        let fetched: Fetched<CompanyProfile> = self
            .get_json("/stock/profile2", vec![("symbol", symbol.to_string())])
            .await?;
        if fetched.value.is_empty() {
            return Err(FinnhubError::NoData {
                raw: Box::new(fetched.raw),
            });
        }
        Ok(fetched)
    }

    #[tracing::instrument(name = "finnhub.company_news", skip_all, fields(symbol = %symbol, %from, %to))]
    async fn company_news(
        &self,
        symbol: &Symbol,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Fetched<Vec<NewsItem>>, FinnhubError> {
        self.get_json(
            "/company-news",
            vec![
                ("symbol", symbol.to_string()),
                ("from", from.format("%Y-%m-%d").to_string()),
                ("to", to.format("%Y-%m-%d").to_string()),
            ],
        )
        .await
    }

    #[tracing::instrument(name = "finnhub.search", skip_all, fields(query = %query))]
    async fn search(&self, query: &str) -> Result<Fetched<SymbolSearch>, FinnhubError> {
        self.get_json("/search", vec![("q", query.to_owned())])
            .await
    }

    #[tracing::instrument(name = "finnhub.earnings", skip_all, fields(%from, %to))]
    async fn earnings(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        symbol: Option<&Symbol>,
    ) -> Result<Fetched<EarningsCalendar>, FinnhubError> {
        let mut params = vec![
            ("from", from.format("%Y-%m-%d").to_string()),
            ("to", to.format("%Y-%m-%d").to_string()),
        ];
        if let Some(symbol) = symbol {
            params.push(("symbol", symbol.to_string()));
        }
        self.get_json("/calendar/earnings", params).await
    }

    #[tracing::instrument(name = "finnhub.market_holidays", skip_all, fields(exchange = %exchange))]
    async fn market_holidays(
        &self,
        exchange: &str,
    ) -> Result<Fetched<MarketHolidays>, FinnhubError> {
        self.get_json(
            "/stock/market-holiday",
            vec![("exchange", exchange.to_owned())],
        )
        .await
    }
}

// ---------------------------------------------------------------------------------
// Retry plumbing
// ---------------------------------------------------------------------------------

/// A 2xx answer.
struct Reply {
    status: u16,
    body: String,
    truncated: bool,
}

/// How one attempt failed, which decides whether backon tries again.
enum AttemptError {
    RateLimited {
        retry_after: Option<Duration>,
    },
    Unavailable {
        reason: String,
        retry_after: Option<Duration>,
    },
    Final(FinnhubError),
}

impl AttemptError {
    fn is_retryable(&self) -> bool {
        !matches!(self, Self::Final(_))
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } | Self::Unavailable { retry_after, .. } => {
                *retry_after
            }
            Self::Final(_) => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::RateLimited { .. } => "HTTP 429".to_owned(),
            Self::Unavailable { reason, .. } => reason.clone(),
            Self::Final(error) => error.to_string(),
        }
    }
}

/// The delay before the next retry: the backoff's proposal, stretched to honour the
/// server's `Retry-After` (itself capped at `max_retry_after`). `None` (the retries
/// are used up) stays `None`: Retry-After says when, not whether.
fn retry_delay(
    proposed: Option<Duration>,
    retry_after: Option<Duration>,
    max_retry_after: Duration,
) -> Option<Duration> {
    let proposed = proposed?;
    Some(match retry_after {
        Some(wait) => proposed.max(wait.min(max_retry_after)),
        None => proposed,
    })
}

/// `Retry-After` is either whole seconds or an HTTP date. Anything else is ignored,
/// and the backoff decides.
fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// The body as text, at most `MAX_BODY_BYTES` of it; `true` when cut short.
async fn read_body(mut response: reqwest::Response) -> Result<(String, bool), reqwest::Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > MAX_BODY_BYTES {
            bytes.extend_from_slice(&chunk[..MAX_BODY_BYTES - bytes.len()]);
            return Ok((String::from_utf8_lossy(&bytes).into_owned(), true));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((String::from_utf8_lossy(&bytes).into_owned(), false))
}

/// A transport failure in our own words: reqwest's own message names the URL, which
/// carries the token.
fn describe_transport_error(error: reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("timed out after {} ms", timeout.as_millis());
    }
    let what = if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "could not read the response"
    } else {
        "request failed"
    };
    let error = error.without_url();
    let mut text = format!("{what}: {error}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn redact(text: &str, key: &SecretString) -> String {
    let key = key.expose_secret();
    if key.is_empty() {
        text.to_owned()
    } else {
        text.replace(key, "[redacted]")
    }
}

fn shorten(body: &str) -> String {
    let body = body.trim();
    match body.char_indices().nth(MAX_ERROR_BODY_CHARS) {
        Some((cut, _)) => format!("{}...", &body[..cut]),
        None => body.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backon::BackoffBuilder as _;
    use governor::clock::{Clock as _, FakeRelativeClock, Reference as _};

    fn quote(json: &str) -> Quote {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn an_all_zero_quote_is_no_data_even_with_null_changes() {
        let unknown = quote(r#"{"c":0,"d":null,"dp":null,"h":0,"l":0,"o":0,"pc":0,"t":0}"#);
        assert!(unknown.is_all_zero());
        let real = quote(
            r#"{"c":189.84,"d":1.53,"dp":0.8125,"h":190.32,"l":188.19,"o":189.33,"pc":188.31,"t":1714766400}"#,
        );
        assert!(!real.is_all_zero());
        // A missing current price next to real figures is not "no data": it is a
        // broken answer, and the caller must not read 0 as a price either way.
        let broken = quote(r#"{"c":0,"d":null,"dp":null,"h":0,"l":0,"o":0,"pc":188.31,"t":0}"#);
        assert!(!broken.is_all_zero());
    }

    #[test]
    fn an_empty_profile_is_recognised() {
        let empty: CompanyProfile = serde_json::from_str("{}").unwrap();
        assert!(empty.is_empty());
        let partial: CompanyProfile =
            serde_json::from_str(r#"{"ticker":"AAPL","country":null}"#).unwrap();
        assert!(!partial.is_empty());
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = DateTime::parse_from_rfc3339("2024-05-03T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Fri, 03 May 2024 12:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        // A date already past means "now", not a negative wait.
        assert_eq!(
            parse_retry_after("Fri, 03 May 2024 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        for junk in ["", "-1", "1.5", "soon", "99999999999999999999999"] {
            assert_eq!(parse_retry_after(junk, now), None, "{junk:?}");
        }
    }

    #[test]
    fn retry_after_stretches_the_backoff_but_never_extends_the_bound() {
        let s = Duration::from_secs;
        let cap = s(60);
        assert_eq!(retry_delay(Some(s(2)), None, cap), Some(s(2)));
        assert_eq!(retry_delay(Some(s(2)), Some(s(5)), cap), Some(s(5)));
        assert_eq!(retry_delay(Some(s(8)), Some(s(5)), cap), Some(s(8)));
        assert_eq!(retry_delay(Some(s(2)), Some(s(3600)), cap), Some(cap));
        assert_eq!(retry_delay(None, Some(s(1)), cap), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_bound() {
        let policy = RetryPolicy {
            max_retries: 6,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(800),
            max_retry_after: Duration::from_secs(60),
        };
        for _ in 0..50 {
            let delays: Vec<Duration> = policy.backoff().build().collect();
            assert_eq!(delays.len(), 6, "one delay per retry");
            for (i, delay) in delays.iter().enumerate() {
                let base = Duration::from_millis(100 * 2u64.pow(i as u32)).min(policy.max_delay);
                assert!(
                    *delay >= base && *delay <= base * 2,
                    "retry {i}: {delay:?} not within [{base:?}, {:?}]",
                    base * 2
                );
            }
        }
    }

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

    #[test]
    fn the_key_is_scrubbed_from_text() {
        let key = SecretString::from("sk-abc123");
        assert_eq!(
            redact("GET /quote?token=sk-abc123&x=sk-abc123", &key),
            "GET /quote?token=[redacted]&x=[redacted]"
        );
        assert_eq!(
            redact("nothing here", &SecretString::from("")),
            "nothing here"
        );
    }

    #[test]
    fn long_error_bodies_are_shortened_on_a_char_boundary() {
        let body = "é".repeat(MAX_ERROR_BODY_CHARS + 10);
        let short = shorten(&body);
        assert!(short.ends_with("..."));
        assert_eq!(short.chars().count(), MAX_ERROR_BODY_CHARS + 3);
    }
}
