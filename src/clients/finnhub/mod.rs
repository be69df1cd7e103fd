//! Market data: the `MarketData` trait and its Finnhub implementation, with the shared
//! rate limiter every Finnhub call in the process goes through.
//!
//! Every successful call returns the typed value together with the raw body and how
//! it was obtained ([`Fetched`]), because the ETL keeps each raw response for audit.
//! The API key travels in the `token` query parameter (the only way Finnhub reliably
//! accepts it), so it is part of every request URL: no URL is ever logged or put into
//! an error, and error texts built from anything the server sent are scrubbed of it.
//!
//! The module is split by concern: `responses` holds Finnhub's answers as we parse
//! them, `error` why a call failed, `limiter` the per-process rate limiter,
//! `retry` which failures are tried again and when, and `client` the HTTP client
//! that ties them together.

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::domain::Symbol;

mod budget;
mod client;
mod error;
mod limiter;
mod responses;
mod retry;

pub use budget::{CallBudget, Priority, current_priority, with_priority};
pub use client::{DEFAULT_BASE_URL, DEFAULT_REQUEST_TIMEOUT, FinnhubClient, FinnhubSettings};
pub use error::FinnhubError;
pub use limiter::{
    FINNHUB_CALLS_PER_SECOND, FREE_PLAN_CALLS_PER_MINUTE, FinnhubLimiter, LimiterConfig,
};
pub use responses::{
    Candles, CompanyProfile, Earning, EarningsCalendar, Fetched, MarketHoliday, MarketHolidays,
    NewsItem, Quote, RawResponse, SymbolMatch, SymbolSearch,
};
pub use retry::RetryPolicy;

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

    /// Daily bars (resolution D) of the sessions between `from` and `to` (inclusive
    /// dates, sent as unix seconds). Not on Finnhub's free plan. No bars is `NoData`.
    async fn daily_candles(
        &self,
        symbol: &Symbol,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Fetched<Candles>, FinnhubError>;

    /// How long a call has taken lately (a moving average), once one was made.
    fn observed_latency(&self) -> Option<std::time::Duration> {
        None
    }

    /// Calls a second the budget behind this source allows, when it has one.
    fn calls_per_second(&self) -> Option<f64> {
        None
    }
}
