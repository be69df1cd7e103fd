//! Daily prices: closes that wander around each symbol's base price.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Serialize;

use super::calendar::{
    MARKET_CLOSE, new_york_date, new_york_timestamp, previous_session, session_on_or_before,
};
use super::randomness::{digest, unit};
use super::symbols::SampleSymbol;
use super::{round_to, ymd};

/// A close is the base price times one daily shock for each of the last
/// `PRICE_WINDOW` calendar days. A moving window (rather than a shock around the base
/// price) makes consecutive closes correlated like real prices, while keeping each
/// close a pure function of (symbol, date) that needs no history to compute.
const PRICE_WINDOW: u64 = 20;
/// Largest daily shock, as a fraction. Day-to-day moves come out around 1%, like a
/// large-cap stock; over the window prices stay within roughly ±15% of the base.
const MAX_SHOCK: f64 = 0.012;
/// Largest overnight gap between the previous close and the open.
const MAX_GAP: f64 = 0.006;
/// Largest intraday excursion beyond the open/close range.
const MAX_WICK: f64 = 0.012;

/// Close of `symbol` on `date`, in cents. Integer cents keep the quote's arithmetic
/// exact: `d` is exactly `c - pc`, and `h`/`l` bound `o`/`c` with no rounding slop.
///
/// The running product uses only multiplication (no `exp`/`ln`), which IEEE 754 makes
/// bit-for-bit reproducible on every platform.
fn close_cents(symbol: &SampleSymbol, date: NaiveDate) -> i64 {
    let mut price = symbol.base_price;
    for back in 0..PRICE_WINDOW {
        if let Some(day) = date.checked_sub_days(Days::new(back)) {
            let bytes = digest(&format!("{}|{}", symbol.symbol, ymd(day)));
            price *= 1.0 + (unit(&bytes, 0) - 0.5) * 2.0 * MAX_SHOCK;
        }
    }
    ((price * 100.0).round() as i64).max(1)
}

/// A quote in Finnhub's `/quote` shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct SampleQuote {
    pub(super) c: f64,
    d: Option<f64>,
    dp: Option<f64>,
    pub(super) h: f64,
    pub(super) l: f64,
    pub(super) o: f64,
    pc: f64,
    t: i64,
}

/// The quote for the trading session on `date`, or for the last one before it when the
/// market was closed that day (a weekend's quote is Friday's, as on Finnhub).
pub(super) fn quote_on(symbol: &SampleSymbol, date: NaiveDate) -> SampleQuote {
    let session = session_on_or_before(date);
    let c = close_cents(symbol, session);
    let pc = close_cents(symbol, previous_session(session));
    let bytes = digest(&format!("{}|{}", symbol.symbol, ymd(session)));
    let o = ((pc as f64 * (1.0 + (unit(&bytes, 1) - 0.5) * 2.0 * MAX_GAP)).round() as i64).max(1);
    let top = o.max(c);
    let bottom = o.min(c);
    let h = top + (top as f64 * unit(&bytes, 2) * MAX_WICK).ceil() as i64;
    let l = (bottom - (bottom as f64 * unit(&bytes, 3) * MAX_WICK).floor() as i64).max(1);
    let cents = |v: i64| v as f64 / 100.0;
    SampleQuote {
        c: cents(c),
        // Finnhub gives the change to the cent and the percentage to four decimals.
        d: Some(cents(c - pc)),
        dp: Some(round_to((c - pc) as f64 / pc as f64 * 100.0, 4)),
        h: cents(h),
        l: cents(l),
        o: cents(o),
        pc: cents(pc),
        t: new_york_timestamp(session, MARKET_CLOSE),
    }
}

/// The last trading day whose 16:00 close is at or before `now`: like Finnhub between
/// sessions, a quote never claims a close that has not happened yet. (During a session
/// Finnhub would show live prices; the sample stays on the previous close.)
pub(super) fn latest_closed_session(now: DateTime<Utc>) -> NaiveDate {
    let today = new_york_date(now);
    let session = session_on_or_before(today);
    if session == today && now.timestamp() < new_york_timestamp(today, MARKET_CLOSE) {
        previous_session(today)
    } else {
        session
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_market::symbols::SAMPLE_SYMBOLS;
    use crate::sample_market::test_dates::{date, days};

    #[test]
    fn quote_arithmetic_holds_for_every_symbol_over_a_year() {
        for entry in SAMPLE_SYMBOLS {
            for day in days(date("2025-06-01"), 300) {
                let q = quote_on(entry, day);
                let label = format!("{} {day}", entry.symbol);
                assert!(q.c > 0.0 && q.pc > 0.0 && q.o > 0.0 && q.l > 0.0, "{label}");
                assert!(q.h >= q.o.max(q.c), "{label}: {q:?}");
                assert!(q.l <= q.o.min(q.c), "{label}: {q:?}");
                let d = q.d.unwrap();
                assert!((d - (q.c - q.pc)).abs() < 0.005, "{label}: {q:?}");
                // dp is rounded to four decimals from exact cents.
                let dp = q.dp.unwrap();
                assert!((dp - d / q.pc * 100.0).abs() <= 0.00005 + 1e-9, "{label}");
                assert_eq!(dp, round_to(dp, 4), "{label}");
                // Sample prices stay near the base, like a large cap over months.
                assert!(
                    (q.c / entry.base_price - 1.0).abs() < 0.3,
                    "{label}: {} vs base {}",
                    q.c,
                    entry.base_price
                );
            }
        }
    }

    #[test]
    fn previous_close_is_the_previous_sessions_close() {
        let aapl = &SAMPLE_SYMBOLS[0];
        // Monday 2026-01-19 is MLK Day, so Tuesday's previous close is Friday's.
        let friday = quote_on(aapl, date("2026-01-16"));
        let tuesday = quote_on(aapl, date("2026-01-20"));
        assert_eq!(tuesday.pc, friday.c);
        // Weekend and holiday quotes repeat the last session's quote.
        assert_eq!(quote_on(aapl, date("2026-01-19")), friday);
        assert_eq!(quote_on(aapl, date("2026-01-18")), friday);
        assert_ne!(tuesday.c, friday.c);
        // t is 16:00 in New York: 21:00 UTC in winter, 20:00 UTC in summer.
        assert_eq!(
            friday.t,
            DateTime::parse_from_rfc3339("2026-01-16T21:00:00Z")
                .unwrap()
                .timestamp()
        );
        assert_eq!(
            quote_on(aapl, date("2026-07-01")).t,
            DateTime::parse_from_rfc3339("2026-07-01T20:00:00Z")
                .unwrap()
                .timestamp()
        );
    }

    #[test]
    fn quotes_only_show_closes_that_have_happened() {
        let at = |raw: &str| DateTime::parse_from_rfc3339(raw).unwrap().to_utc();
        // Wednesday 2026-03-04, before and after the 16:00 EST close.
        assert_eq!(
            latest_closed_session(at("2026-03-04T20:59:59Z")),
            date("2026-03-03")
        );
        assert_eq!(
            latest_closed_session(at("2026-03-04T21:00:00Z")),
            date("2026-03-04")
        );
        // Saturday: Friday's close.
        assert_eq!(
            latest_closed_session(at("2026-03-07T12:00:00Z")),
            date("2026-03-06")
        );
        // Late Friday evening in New York is already Saturday in UTC.
        assert_eq!(
            latest_closed_session(at("2026-03-07T03:00:00Z")),
            date("2026-03-06")
        );
    }
}
