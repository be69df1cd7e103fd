//! The Finnhub REST client: one request per attempt, through the call budget,
//! retried by the policy, the token kept out of every log line and error.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use backon::Retryable as _;
use chrono::{NaiveDate, Utc};
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use secrecy::{ExposeSecret as _, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use super::budget::current_priority;
use super::retry::{AttemptError, parse_retry_after, retry_delay};
use super::{
    CallBudget, Candles, CompanyProfile, EarningsCalendar, Fetched, FinnhubError, MarketData,
    MarketHolidays, NewsItem, Quote, RawResponse, RetryPolicy, SymbolSearch,
};
use crate::config::FinnhubConfig;
use crate::domain::Symbol;

/// Finnhub's own address; `FINNHUB_BASE_URL` points elsewhere (a mock, the sample
/// source).
pub const DEFAULT_BASE_URL: &str = "https://finnhub.io/api/v1";

/// How long one attempt may take, from sending the request to the end of the body.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Bodies above this are refused rather than buffered: no Finnhub endpoint we call
/// comes near it, so a larger body means something is wrong upstream.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// How much of an unexpected error body is kept in an error message.
const MAX_ERROR_BODY_CHARS: usize = 500;

/// Everything a [`FinnhubClient`] needs besides its call budget.
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
    /// Production defaults: [`DEFAULT_REQUEST_TIMEOUT`] per attempt and
    /// [`RetryPolicy::default`].
    pub fn new(base_url: Url, api_key: Option<SecretString>) -> Self {
        Self {
            base_url,
            api_key,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            retry: RetryPolicy::default(),
        }
    }

    /// Settings from the service configuration (timeout and retry policy included).
    pub fn from_config(config: &FinnhubConfig) -> Self {
        let mut settings = Self::new(config.base_url.clone(), config.api_key.clone());
        settings.request_timeout = config.request_timeout;
        settings.retry.max_retries = config.max_retries;
        settings.retry.min_delay = config.retry_base;
        settings
    }
}

/// The Finnhub REST client. Cheap to share behind an `Arc`; it holds one connection
/// pool for all calls.
#[derive(Debug)]
pub struct FinnhubClient {
    http: reqwest::Client,
    base_url: Url,
    api_key: Option<SecretString>,
    budget: Arc<dyn CallBudget>,
    /// Moving average of an attempt's duration, in microseconds (0: none yet).
    latency_micros: AtomicU64,
    retry: RetryPolicy,
    request_timeout: Duration,
}

impl FinnhubClient {
    /// Builds the client and its connection pool. Fails only on a base URL that
    /// is not http(s) or on a TLS setup error.
    /// `budget` is what every attempt draws from: a [`FinnhubLimiter`] for a process
    /// on its own, the shared budget in the service.
    pub fn new(
        settings: FinnhubSettings,
        budget: impl CallBudget + 'static,
    ) -> anyhow::Result<Self> {
        Self::with_budget(settings, Arc::new(budget))
    }

    pub fn with_budget(
        settings: FinnhubSettings,
        budget: Arc<dyn CallBudget>,
    ) -> anyhow::Result<Self> {
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
            budget,
            latency_micros: AtomicU64::new(0),
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

    /// One request, after waiting for a slot of the call budget.
    async fn attempt(
        &self,
        url: &Url,
        path: &str,
        key: &SecretString,
        params: &[(&'static str, String)],
        attempts: &AtomicU32,
        rate_limited: &AtomicU32,
    ) -> Result<Reply, AttemptError> {
        self.budget.acquire(current_priority()).await;
        let started = std::time::Instant::now();
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

        self.observe(started.elapsed());
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

    /// Folds one attempt's duration into the moving average (weight 1/8).
    fn observe(&self, took: Duration) {
        let sample = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
        let _ = self
            .latency_micros
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(if old == 0 {
                    sample
                } else {
                    old - old / 8 + sample / 8
                })
            });
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
    fn observed_latency(&self) -> Option<Duration> {
        match self.latency_micros.load(Ordering::Relaxed) {
            0 => None,
            micros => Some(Duration::from_micros(micros)),
        }
    }

    fn calls_per_second(&self) -> Option<f64> {
        Some(self.budget.calls_per_second())
    }

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

    #[tracing::instrument(name = "finnhub.daily_candles", skip_all, fields(symbol = %symbol, %from, %to))]
    async fn daily_candles(
        &self,
        symbol: &Symbol,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Fetched<Candles>, FinnhubError> {
        let (start, end) = unix_range(from, to);
        let fetched: Fetched<Candles> = self
            .get_json(
                "/stock/candle",
                vec![
                    ("symbol", symbol.to_string()),
                    ("resolution", "D".to_owned()),
                    ("from", start.to_string()),
                    ("to", end.to_string()),
                ],
            )
            .await?;
        if fetched.value.is_no_data() {
            return Err(FinnhubError::NoData {
                raw: Box::new(fetched.raw),
            });
        }
        Ok(fetched)
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

/// `from`'s 00:00 and `to`'s 23:59:59 UTC: every bar dated within the two days
/// (daily bars are stamped at 00:00 UTC of their day).
fn unix_range(from: NaiveDate, to: NaiveDate) -> (i64, i64) {
    let start = from.and_time(chrono::NaiveTime::MIN).and_utc().timestamp();
    let end = to.and_time(chrono::NaiveTime::MIN).and_utc().timestamp() + 86_399;
    (start, end)
}

/// A 2xx answer.
struct Reply {
    status: u16,
    body: String,
    truncated: bool,
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
