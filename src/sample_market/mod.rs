//! An offline, Finnhub-compatible HTTP server with deterministic sample data.
//!
//! When no `FINNHUB_API_KEY` is configured the service still has to work end to end, so
//! it points its real Finnhub client at this server instead of `https://finnhub.io/api/v1`.
//! Because the real client (and everything after it) must not be able to tell the
//! difference, this module speaks Finnhub's wire format: the same paths and query
//! parameters, the same JSON field names and types, `200` with an all-zero quote or `{}`
//! for an unknown symbol, `401 {"error": "Invalid API key."}` without a `token`, and
//! 4xx `{"error": "..."}` for bad parameters.
//!
//! The data is made up but reproducible: every number is derived from SHA-256 of
//! `"SYMBOL|YYYY-MM-DD"` (plus a few labelled variants), so the same request on the same
//! day answers byte for byte the same body, on any machine, with no state and no files.
//! Everything a person could read (headlines, summaries, sources, links) says it is
//! sample data, and every link points to `example.com`.
//!
//! One module per concern: `symbols` (the companies), `randomness` (SHA-256 as the
//! only source of made-up values), `calendar` (NYSE holidays and sessions), `prices`, `candles`,
//! `news`, `earnings`, and `http` (the routes and their Finnhub-shaped answers).

use chrono::NaiveDate;

mod calendar;
mod candles;
mod earnings;
mod http;
mod news;
mod prices;
mod randomness;
mod symbols;

/// Date helpers the sample source's unit tests share.
#[cfg(test)]
mod test_dates {
    use chrono::{Days, NaiveDate};

    pub fn date(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
    }

    /// `count` consecutive days from `from`.
    pub fn days(from: NaiveDate, count: u64) -> impl Iterator<Item = NaiveDate> {
        (0..count).map(move |n| from + Days::new(n))
    }
}

pub use http::{Clock, router, router_with_clock, serve, spawn_local, spawn_local_with_clock};
pub use symbols::{SAMPLE_SYMBOLS, SampleSymbol};

pub(super) fn ymd(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub(super) fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::earnings::earnings_calendar;
    use super::news::company_news;
    use super::prices::quote_on;
    use super::*;

    #[test]
    fn extreme_dates_do_not_panic() {
        let now = Utc::now();
        let all: Vec<_> = SAMPLE_SYMBOLS.iter().enumerate().collect();
        for (from, to) in [
            (NaiveDate::MIN, NaiveDate::MAX),
            (NaiveDate::MAX, NaiveDate::MAX),
            (NaiveDate::MIN, NaiveDate::MIN),
        ] {
            let _ = earnings_calendar(&all, from, to, now.date_naive());
            let _ = company_news(0, &SAMPLE_SYMBOLS[0], from, to, now);
        }
        let _ = quote_on(&SAMPLE_SYMBOLS[0], NaiveDate::MIN);
        let _ = quote_on(&SAMPLE_SYMBOLS[0], NaiveDate::MAX);
    }
}
