//! Typed market data, as loaded from Finnhub's raw responses.

use chrono::{DateTime, NaiveDate, Utc};

/// Where market data came from: the real API, or the offline sample source
/// (`etl_runs.source`, `raw_responses.source`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
    sqlx::Type,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum MarketSource {
    Finnhub,
    Sample,
}

impl MarketSource {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn is_sample(&self) -> bool {
        matches!(self, MarketSource::Sample)
    }
}

/// Which Finnhub call a raw response answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    Quote,
    Profile,
    CompanyNews,
    Earnings,
    MarketHolidays,
    /// Daily candles (`/stock/candle`, resolution D): history, where the plan has it.
    Candles,
}

impl Endpoint {
    pub const ALL: [Endpoint; 6] = [
        Endpoint::Quote,
        Endpoint::Profile,
        Endpoint::CompanyNews,
        Endpoint::Earnings,
        Endpoint::MarketHolidays,
        Endpoint::Candles,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Endpoint::Quote => "quote",
            Endpoint::Profile => "profile",
            Endpoint::CompanyNews => "company_news",
            Endpoint::Earnings => "earnings",
            Endpoint::MarketHolidays => "market_holidays",
            Endpoint::Candles => "candles",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == raw)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct QuoteRow {
    pub symbol: String,
    /// The New York trading day the quote belongs to.
    pub trading_day: NaiveDate,
    pub price: f64,
    pub change: Option<f64>,
    pub change_percent: Option<f64>,
    pub high: f64,
    pub low: f64,
    pub open: f64,
    pub previous_close: f64,
    pub quoted_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProfileRow {
    pub symbol: String,
    pub name: String,
    pub exchange: Option<String>,
    pub country: Option<String>,
    pub currency: Option<String>,
    pub industry: Option<String>,
    pub ipo: Option<NaiveDate>,
    pub logo: Option<String>,
    pub web_url: Option<String>,
    pub market_cap_millions: Option<f64>,
    pub shares_outstanding: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewsRow {
    pub id: i64,
    pub symbol: String,
    pub headline: String,
    pub source: String,
    pub url: String,
    pub summary: String,
    pub image: Option<String>,
    pub category: Option<String>,
    pub published_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EarningRow {
    pub symbol: String,
    pub report_date: NaiveDate,
    pub hour: Option<String>,
    pub year: Option<i32>,
    pub quarter: Option<i32>,
    pub eps_estimate: Option<f64>,
    pub eps_actual: Option<f64>,
    pub revenue_estimate: Option<f64>,
    pub revenue_actual: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HolidayRow {
    pub exchange: String,
    pub holiday: NaiveDate,
    pub event_name: String,
    pub trading_hour: Option<String>,
}

/// One session of a daily candle answer, as Finnhub gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct CandleRow {
    pub trading_date: NaiveDate,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: Option<i64>,
}

/// What one raw response types into.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    Quote(QuoteRow),
    Profile(ProfileRow),
    News(Vec<NewsRow>),
    Earnings(Vec<EarningRow>),
    Holidays(Vec<HolidayRow>),
    Candles {
        symbol: String,
        bars: Vec<CandleRow>,
    },
}

/// Where a daily bar came from (`daily_bars.source`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    sqlx::Type,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum BarSource {
    /// Our own `/quote` fetch: that day's open, high, low and close; no volume.
    Quote,
    /// Finnhub's daily candles.
    Candle,
}

impl BarSource {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One symbol's open, high, low, close (and volume where known) for one New York
/// trading date: a row of `daily_bars`.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyBar {
    pub symbol: String,
    pub trading_date: NaiveDate,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: Option<i64>,
    pub source: BarSource,
    /// Taken after that session's close: it will not change any more.
    pub is_final: bool,
}
