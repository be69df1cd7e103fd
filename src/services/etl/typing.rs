//! Raw Finnhub bodies to typed rows: a pure function of what was stored, so that the
//! live load and `quotidian etl --rebuild` cannot disagree.

use chrono::NaiveDate;
use chrono_tz::America::New_York;

use crate::clients::finnhub::{CompanyProfile, EarningsCalendar, MarketHolidays, NewsItem, Quote};
use crate::domain::market::{
    EarningRow, Endpoint, HolidayRow, NewsRow, ProfileRow, QuoteRow, Typed,
};

/// Why a stored response gives no typed rows.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TypingError {
    /// Finnhub's way of saying it knows nothing (all-zero quote, `{}` profile).
    #[error("no data: {0}")]
    NoData(String),
    /// Not the shape Finnhub documents.
    #[error("bad data: {0}")]
    BadData(String),
}

fn parse<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, TypingError> {
    serde_json::from_str(body).map_err(|e| TypingError::BadData(e.to_string()))
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Types one stored response. `symbol` is the symbol it was requested for (none for
/// market-wide calls); `exchange` the exchange parameter of a holiday call.
pub fn type_raw(
    endpoint: Endpoint,
    symbol: Option<&str>,
    exchange: Option<&str>,
    body: &str,
) -> Result<Typed, TypingError> {
    let need_symbol =
        || symbol.ok_or_else(|| TypingError::BadData("response stored without its symbol".into()));
    match endpoint {
        Endpoint::Quote => {
            let symbol = need_symbol()?;
            let q: Quote = parse(body)?;
            if q.is_all_zero() {
                return Err(TypingError::NoData(format!("all-zero quote for {symbol}")));
            }
            let quoted_at = q.as_of().ok_or_else(|| {
                TypingError::BadData(format!("quote for {symbol} has no time (t = {})", q.t))
            })?;
            let prices = [q.c, q.h, q.l, q.o, q.pc];
            if prices.iter().any(|p| !p.is_finite() || *p < 0.0) || q.c == 0.0 {
                return Err(TypingError::BadData(format!(
                    "quote for {symbol} has an impossible price"
                )));
            }
            Ok(Typed::Quote(QuoteRow {
                symbol: symbol.to_owned(),
                trading_day: quoted_at.with_timezone(&New_York).date_naive(),
                price: q.c,
                change: q.d,
                change_percent: q.dp,
                high: q.h,
                low: q.l,
                open: q.o,
                previous_close: q.pc,
                quoted_at,
            }))
        }
        Endpoint::Profile => {
            let symbol = need_symbol()?;
            let p: CompanyProfile = parse(body)?;
            if p.is_empty() {
                return Err(TypingError::NoData(format!("empty profile for {symbol}")));
            }
            let ipo = p
                .ipo
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
            Ok(Typed::Profile(ProfileRow {
                symbol: symbol.to_owned(),
                name: non_empty(p.name.clone())
                    .or_else(|| non_empty(p.ticker.clone()))
                    .unwrap_or_else(|| symbol.to_owned()),
                exchange: non_empty(p.exchange),
                country: non_empty(p.country),
                currency: non_empty(p.currency),
                industry: non_empty(p.finnhub_industry),
                ipo,
                logo: non_empty(p.logo),
                web_url: non_empty(p.weburl),
                market_cap_millions: p
                    .market_capitalization
                    .filter(|v| v.is_finite() && *v > 0.0),
                shares_outstanding: p.share_outstanding.filter(|v| v.is_finite() && *v > 0.0),
            }))
        }
        Endpoint::CompanyNews => {
            let symbol = need_symbol()?;
            let items: Vec<NewsItem> = parse(body)?;
            // An item without a headline, link or time is useless to a digest; keep
            // the rest rather than dropping the whole answer.
            let rows = items
                .into_iter()
                .filter_map(|n| {
                    let published_at = n.published_at().filter(|_| n.datetime > 0)?;
                    let headline = n.headline.trim().to_owned();
                    let url = n.url.trim().to_owned();
                    if headline.is_empty() || url.is_empty() {
                        return None;
                    }
                    Some(NewsRow {
                        id: n.id,
                        symbol: symbol.to_owned(),
                        headline,
                        source: n.source.trim().to_owned(),
                        url,
                        summary: n.summary.trim().to_owned(),
                        image: non_empty(Some(n.image)),
                        category: non_empty(Some(n.category)),
                        published_at,
                    })
                })
                .collect();
            Ok(Typed::News(rows))
        }
        Endpoint::Earnings => {
            let calendar: EarningsCalendar = parse(body)?;
            Ok(Typed::Earnings(
                calendar
                    .earnings_calendar
                    .into_iter()
                    .filter(|e| !e.symbol.trim().is_empty())
                    .map(|e| EarningRow {
                        symbol: e.symbol.trim().to_ascii_uppercase(),
                        report_date: e.date,
                        hour: non_empty(Some(e.hour)),
                        year: e.year,
                        quarter: e.quarter,
                        eps_estimate: e.eps_estimate,
                        eps_actual: e.eps_actual,
                        revenue_estimate: e.revenue_estimate,
                        revenue_actual: e.revenue_actual,
                    })
                    .collect(),
            ))
        }
        Endpoint::MarketHolidays => {
            let holidays: MarketHolidays = parse(body)?;
            let exchange = exchange
                .map(str::to_owned)
                .or(holidays.exchange.clone())
                .unwrap_or_else(|| "US".to_owned());
            Ok(Typed::Holidays(
                holidays
                    .data
                    .into_iter()
                    .map(|h| HolidayRow {
                        exchange: exchange.clone(),
                        holiday: h.at_date,
                        trading_hour: non_empty(Some(h.trading_hour.clone())),
                        event_name: h.event_name,
                    })
                    .collect(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_types_to_its_new_york_trading_day() {
        // 2026-11-20 21:00 UTC = 16:00 in New York.
        let body = r#"{"c":261.74,"d":-1.2,"dp":-0.4563,"h":263.31,"l":260.68,"o":261.07,"pc":262.94,"t":1795208400}"#;
        match type_raw(Endpoint::Quote, Some("AAPL"), None, body).unwrap() {
            Typed::Quote(q) => {
                assert_eq!(
                    q.trading_day,
                    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
                );
                assert_eq!(q.price, 261.74);
                assert_eq!(q.change, Some(-1.2));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn all_zero_quotes_and_empty_profiles_are_no_data_never_zero_prices() {
        let zero = r#"{"c":0,"d":null,"dp":null,"h":0,"l":0,"o":0,"pc":0,"t":0}"#;
        assert!(matches!(
            type_raw(Endpoint::Quote, Some("NOPE"), None, zero),
            Err(TypingError::NoData(_))
        ));
        assert!(matches!(
            type_raw(Endpoint::Profile, Some("NOPE"), None, "{}"),
            Err(TypingError::NoData(_))
        ));
    }

    #[test]
    fn malformed_or_unexpected_json_is_bad_data() {
        for body in ["<html>", "", "[1,2]", r#"{"c":"abc"}"#] {
            assert!(
                matches!(
                    type_raw(Endpoint::Quote, Some("AAPL"), None, body),
                    Err(TypingError::BadData(_))
                ),
                "{body}"
            );
        }
        assert!(matches!(
            type_raw(Endpoint::CompanyNews, Some("AAPL"), None, "{}"),
            Err(TypingError::BadData(_))
        ));
        let negative = r#"{"c":-5,"d":0,"dp":0,"h":1,"l":1,"o":1,"pc":1,"t":1795208400}"#;
        assert!(matches!(
            type_raw(Endpoint::Quote, Some("AAPL"), None, negative),
            Err(TypingError::BadData(_))
        ));
    }

    #[test]
    fn news_items_without_headline_or_link_are_dropped_not_the_answer() {
        let body = r#"[
            {"category":"company","datetime":1795700000,"headline":"Apple ships","id":1,"image":"","related":"AAPL","source":"Reuters","summary":"s","url":"https://example.com/1"},
            {"category":"company","datetime":1795700000,"headline":"","id":2,"image":"","related":"AAPL","source":"Reuters","summary":"s","url":"https://example.com/2"}
        ]"#;
        match type_raw(Endpoint::CompanyNews, Some("AAPL"), None, body).unwrap() {
            Typed::News(rows) => {
                assert_eq!(rows.len(), 1);
                assert_eq!(rows[0].id, 1);
                assert_eq!(rows[0].symbol, "AAPL");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn earnings_and_holidays() {
        let earnings = r#"{"earningsCalendar":[{"date":"2026-11-25","epsActual":null,"epsEstimate":1.2,"hour":"amc","quarter":4,"revenueActual":null,"revenueEstimate":1000,"symbol":"nvda","year":2026}]}"#;
        match type_raw(Endpoint::Earnings, None, None, earnings).unwrap() {
            Typed::Earnings(rows) => {
                assert_eq!(rows[0].symbol, "NVDA");
                assert_eq!(rows[0].hour.as_deref(), Some("amc"));
            }
            other => panic!("{other:?}"),
        }
        let holidays = r#"{"data":[{"eventName":"Thanksgiving Day","atDate":"2026-11-26","tradingHour":""}],"exchange":"US","timezone":"America/New_York"}"#;
        match type_raw(Endpoint::MarketHolidays, None, Some("US"), holidays).unwrap() {
            Typed::Holidays(rows) => {
                assert_eq!(
                    rows[0].holiday,
                    NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
                );
                assert_eq!(rows[0].trading_hour, None);
            }
            other => panic!("{other:?}"),
        }
    }
}
