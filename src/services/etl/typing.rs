//! Raw Finnhub bodies to typed rows: a pure function of what was stored, so that the
//! live load and `quotidian etl --rebuild` cannot disagree.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone as _, Utc};
use chrono_tz::America::New_York;

use crate::clients::finnhub::{
    Candles, CompanyProfile, EarningsCalendar, MarketHolidays, NewsItem, Quote,
};
use crate::domain::market::{
    BarSource, CandleRow, DailyBar, EarningRow, Endpoint, HolidayRow, NewsRow, ProfileRow,
    QuoteRow, Typed,
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
        Endpoint::Candles => {
            let symbol = need_symbol()?;
            let candles: Candles = parse(body)?;
            Ok(Typed::Candles {
                symbol: symbol.to_owned(),
                bars: candle_rows(symbol, &candles)?,
            })
        }
    }
}

fn candle_rows(symbol: &str, candles: &Candles) -> Result<Vec<CandleRow>, TypingError> {
    match candles.s.as_str() {
        "ok" => {}
        "no_data" => return Err(TypingError::NoData(format!("no candles for {symbol}"))),
        other => {
            return Err(TypingError::BadData(format!(
                "candles for {symbol} have status '{other}'"
            )));
        }
    }
    let n = candles.t.len();
    let lengths = [
        candles.o.len(),
        candles.h.len(),
        candles.l.len(),
        candles.c.len(),
    ];
    // Volume may be left out altogether, but a partial column cannot be matched to
    // its bars.
    if lengths.iter().any(|len| *len != n) || !(candles.v.is_empty() || candles.v.len() == n) {
        return Err(TypingError::BadData(format!(
            "candles for {symbol} have arrays of different lengths (t {n}, o/h/l/c {lengths:?}, v {})",
            candles.v.len()
        )));
    }
    if n == 0 {
        return Err(TypingError::NoData(format!("no candles for {symbol}")));
    }
    let mut rows: Vec<CandleRow> = Vec::with_capacity(n);
    for i in 0..n {
        // Daily bars are stamped at 00:00 UTC of their day (some sources use New
        // York midnight, 04:00/05:00 UTC): the UTC date is the session's either way.
        let trading_date = DateTime::from_timestamp(candles.t[i], 0)
            .filter(|_| candles.t[i] > 0)
            .ok_or_else(|| {
                TypingError::BadData(format!(
                    "candle for {symbol} has no time (t = {})",
                    candles.t[i]
                ))
            })?
            .date_naive();
        let (open, high, low, close) = (candles.o[i], candles.h[i], candles.l[i], candles.c[i]);
        if [open, high, low, close]
            .iter()
            .any(|p| !p.is_finite() || *p <= 0.0)
        {
            return Err(TypingError::BadData(format!(
                "candle for {symbol} on {trading_date} has an impossible price"
            )));
        }
        let volume = candles
            .v
            .get(i)
            .filter(|v| v.is_finite() && **v >= 0.0)
            .map(|v| v.round() as i64);
        rows.push(CandleRow {
            trading_date,
            open,
            high,
            low,
            close,
            volume,
        });
    }
    rows.sort_by_key(|r| r.trading_date);
    // A date given twice: the later entry stands.
    rows.reverse();
    rows.dedup_by_key(|r| r.trading_date);
    rows.reverse();
    Ok(rows)
}

/// The regular close of the New York session on `date` (16:00 America/New_York). Early
/// closes (13:00) are not known here: a bar of such a day becomes final with the first
/// fetch after 16:00, usually the next morning's quote.
pub fn session_close(date: NaiveDate) -> DateTime<Utc> {
    let close = date.and_time(NaiveTime::from_hms_opt(16, 0, 0).expect("16:00 is a time"));
    New_York
        .from_local_datetime(&close)
        .earliest()
        .map_or_else(|| close.and_utc(), |at| at.to_utc())
}

/// The daily bars a typed response gives, fetched at `fetched_at`: a quote gives its
/// trading day's bar (open, high, low and its price as the close), candles one bar a
/// session. A bar is final when it was taken after its session's close.
pub fn daily_bars(typed: &Typed, fetched_at: DateTime<Utc>) -> Vec<DailyBar> {
    match typed {
        Typed::Quote(q) => {
            // Finnhub may leave the day's range at 0 before the first trade: no bar
            // rather than a price of 0.
            if [q.open, q.high, q.low, q.price].iter().any(|p| *p <= 0.0) {
                return Vec::new();
            }
            vec![DailyBar {
                symbol: q.symbol.clone(),
                trading_date: q.trading_day,
                open: q.open,
                high: q.high,
                low: q.low,
                close: q.price,
                volume: None,
                source: BarSource::Quote,
                is_final: fetched_at >= session_close(q.trading_day),
            }]
        }
        Typed::Candles { symbol, bars } => bars
            .iter()
            .map(|b| DailyBar {
                symbol: symbol.clone(),
                trading_date: b.trading_date,
                open: b.open,
                high: b.high,
                low: b.low,
                close: b.close,
                volume: b.volume,
                source: BarSource::Candle,
                // Finnhub's last candle during a session is that session so far.
                is_final: fetched_at >= session_close(b.trading_date),
            })
            .collect(),
        _ => Vec::new(),
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

    fn at(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw).unwrap().to_utc()
    }

    fn day(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn candles_type_to_one_row_a_session_and_no_data_is_not_an_error_of_shape() {
        // 2026-11-19 and 2026-11-20 at 00:00 UTC, as Finnhub stamps daily bars.
        let ok = r#"{"c":[261.5,262.94],"h":[263,264.1],"l":[259.8,261.2],"o":[260,261.6],"s":"ok","t":[1795046400,1795132800],"v":[41234567,39876543.0]}"#;
        match type_raw(Endpoint::Candles, Some("AAPL"), None, ok).unwrap() {
            Typed::Candles { symbol, bars } => {
                assert_eq!(symbol, "AAPL");
                assert_eq!(bars.len(), 2);
                assert_eq!(bars[0].trading_date, day("2026-11-19"));
                assert_eq!(bars[1].trading_date, day("2026-11-20"));
                assert_eq!(
                    (bars[1].open, bars[1].high, bars[1].low, bars[1].close),
                    (261.6, 264.1, 261.2, 262.94)
                );
                assert_eq!(bars[1].volume, Some(39_876_543));
            }
            other => panic!("{other:?}"),
        }
        // Without a volume column the bars still stand.
        let no_volume = r#"{"c":[1.5],"h":[2],"l":[1],"o":[1.2],"s":"ok","t":[1795046400]}"#;
        match type_raw(Endpoint::Candles, Some("AAPL"), None, no_volume).unwrap() {
            Typed::Candles { bars, .. } => assert_eq!(bars[0].volume, None),
            other => panic!("{other:?}"),
        }
        for body in [
            r#"{"s":"no_data"}"#,
            r#"{"c":[],"h":[],"l":[],"o":[],"s":"ok","t":[],"v":[]}"#,
        ] {
            assert!(
                matches!(
                    type_raw(Endpoint::Candles, Some("NOPE"), None, body),
                    Err(TypingError::NoData(_))
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn candles_with_mismatched_arrays_or_impossible_prices_are_bad_data() {
        for body in [
            // One close short.
            r#"{"c":[261.5],"h":[263,264.1],"l":[259.8,261.2],"o":[260,261.6],"s":"ok","t":[1795046400,1795132800],"v":[1,2]}"#,
            // A volume short.
            r#"{"c":[261.5,262],"h":[263,264.1],"l":[259.8,261.2],"o":[260,261.6],"s":"ok","t":[1795046400,1795132800],"v":[1]}"#,
            // A price of 0.
            r#"{"c":[0],"h":[263],"l":[259.8],"o":[260],"s":"ok","t":[1795046400],"v":[1]}"#,
            r#"{"s":"error"}"#,
            r#"{"c":"x","s":"ok"}"#,
            "<html>",
        ] {
            assert!(
                matches!(
                    type_raw(Endpoint::Candles, Some("AAPL"), None, body),
                    Err(TypingError::BadData(_))
                ),
                "{body}"
            );
        }
    }

    fn quote_row(trading_day: &str) -> QuoteRow {
        QuoteRow {
            symbol: "AAPL".into(),
            trading_day: day(trading_day),
            price: 262.94,
            change: Some(1.0),
            change_percent: Some(0.4),
            high: 264.1,
            low: 261.2,
            open: 261.6,
            previous_close: 261.94,
            quoted_at: at("2026-11-20T19:30:00Z"),
        }
    }

    #[test]
    fn a_quote_gives_its_days_bar_final_once_taken_after_the_close() {
        let quote = Typed::Quote(quote_row("2026-11-20"));
        // 16:00 New York is 21:00 UTC in November.
        let during = daily_bars(&quote, at("2026-11-20T20:59:59Z"));
        assert_eq!(
            during,
            vec![DailyBar {
                symbol: "AAPL".into(),
                trading_date: day("2026-11-20"),
                open: 261.6,
                high: 264.1,
                low: 261.2,
                close: 262.94,
                volume: None,
                source: BarSource::Quote,
                is_final: false,
            }]
        );
        assert!(daily_bars(&quote, at("2026-11-20T21:00:00Z"))[0].is_final);
        // In summer the close is 20:00 UTC.
        let july = Typed::Quote(quote_row("2026-07-01"));
        assert!(!daily_bars(&july, at("2026-07-01T19:59:00Z"))[0].is_final);
        assert!(daily_bars(&july, at("2026-07-01T20:00:00Z"))[0].is_final);
        // A day's range of 0 (no trade yet) is no bar, never a price of 0.
        let mut untraded = quote_row("2026-11-20");
        untraded.open = 0.0;
        assert!(daily_bars(&Typed::Quote(untraded), at("2026-11-21T12:00:00Z")).is_empty());
    }

    #[test]
    fn candle_bars_are_final_except_a_session_still_open() {
        let candles = Typed::Candles {
            symbol: "AAPL".into(),
            bars: ["2026-11-19", "2026-11-20"]
                .iter()
                .map(|d| CandleRow {
                    trading_date: day(d),
                    open: 1.0,
                    high: 2.0,
                    low: 0.5,
                    close: 1.5,
                    volume: Some(10),
                })
                .collect(),
        };
        let bars = daily_bars(&candles, at("2026-11-20T18:00:00Z"));
        assert_eq!(
            bars.iter()
                .map(|b| (b.is_final, b.source))
                .collect::<Vec<_>>(),
            vec![(true, BarSource::Candle), (false, BarSource::Candle)]
        );
        assert!(
            daily_bars(&candles, at("2026-11-21T00:00:00Z"))
                .iter()
                .all(|b| b.is_final)
        );
    }
}
