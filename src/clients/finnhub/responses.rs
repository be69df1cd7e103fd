//! Finnhub's answers as we parse them, and the raw exchange each was parsed from.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

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

/// `GET /stock/candle`: parallel arrays, one entry per bar, or `{"s":"no_data"}`.
/// Volumes are numbers that may come as floats; typing rounds them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Candles {
    /// `ok` or `no_data`.
    pub s: String,
    #[serde(default)]
    pub o: Vec<f64>,
    #[serde(default)]
    pub h: Vec<f64>,
    #[serde(default)]
    pub l: Vec<f64>,
    #[serde(default)]
    pub c: Vec<f64>,
    #[serde(default)]
    pub v: Vec<f64>,
    /// Bar times, unix seconds (the day's 00:00 UTC for daily bars).
    #[serde(default)]
    pub t: Vec<i64>,
}

impl Candles {
    /// Finnhub's answer when it has no bars in the range (or for an unknown symbol).
    pub fn is_no_data(&self) -> bool {
        self.s == "no_data" || (self.s == "ok" && self.t.is_empty())
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
