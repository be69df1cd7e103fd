//! Daily candles (`/stock/candle`, resolution D): one bar per trading session, with
//! the very open, high, low and close the sample `/quote` gives for that session, and
//! a made-up but plausible volume.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use serde::Serialize;

use super::calendar::is_trading_day;
use super::prices::{latest_closed_session, quote_on};
use super::randomness::{digest, unit};
use super::symbols::SampleSymbol;
use super::ymd;

/// The longest range answered, counted back from its end: ten years of sessions is
/// more than any caller asks for, and bounds the work one request can cause.
const MAX_DAYS: u64 = 3660;

/// Finnhub's candle answer: parallel arrays in its field order, or `{"s":"no_data"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct SampleCandles {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) c: Vec<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) h: Vec<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) l: Vec<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) o: Vec<f64>,
    pub(super) s: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) t: Vec<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) v: Vec<i64>,
}

impl SampleCandles {
    pub(super) fn no_data() -> Self {
        Self {
            c: Vec::new(),
            h: Vec::new(),
            l: Vec::new(),
            o: Vec::new(),
            s: "no_data",
            t: Vec::new(),
            v: Vec::new(),
        }
    }
}

/// Shares traded in a session: between 0.3% and 1.2% of the shares outstanding, in
/// round lots, a pure function of (symbol, date).
pub(super) fn volume_on(symbol: &SampleSymbol, session: NaiveDate) -> i64 {
    let bytes = digest(&format!("{}|{}|volume", symbol.symbol, ymd(session)));
    let turnover = 0.003 + 0.009 * unit(&bytes, 0);
    let shares = symbol.shares_outstanding * 1_000_000.0 * turnover;
    ((shares / 100.0).round() as i64).max(1) * 100
}

/// Daily bars of the sessions whose bar time (00:00 UTC of the day, as Finnhub stamps
/// daily candles) lies within `from..=to` (unix seconds) and whose close has happened
/// by `now`: like the quote, never a session still in progress.
pub(super) fn daily_candles(
    symbol: &SampleSymbol,
    from: i64,
    to: i64,
    now: DateTime<Utc>,
) -> SampleCandles {
    let day = |t: i64| DateTime::from_timestamp(t, 0).map(|at| at.date_naive());
    let stamp = |d: NaiveDate| d.and_time(NaiveTime::MIN).and_utc().timestamp();
    let last_closed = latest_closed_session(now);
    // The first day stamped at or after `from`, the last at or before `to`.
    let (Some(first), Some(last)) = (
        day(from).map(|d| if stamp(d) < from { d + Days::new(1) } else { d }),
        day(to).map(|d| d.min(last_closed)),
    ) else {
        return SampleCandles::no_data();
    };
    let first = first.max(last.checked_sub_days(Days::new(MAX_DAYS)).unwrap_or(first));
    let mut out = SampleCandles {
        s: "ok",
        ..SampleCandles::no_data()
    };
    let mut date = first;
    while date <= last {
        if is_trading_day(date) {
            let q = quote_on(symbol, date);
            out.o.push(q.o);
            out.h.push(q.h);
            out.l.push(q.l);
            out.c.push(q.c);
            out.t.push(stamp(date));
            out.v.push(volume_on(symbol, date));
        }
        match date.succ_opt() {
            Some(next) => date = next,
            None => break,
        }
    }
    if out.t.is_empty() {
        SampleCandles::no_data()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_market::symbols::SAMPLE_SYMBOLS;
    use crate::sample_market::test_dates::{date, days};

    fn at(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw).unwrap().to_utc()
    }

    fn midnight(raw: &str) -> i64 {
        at(&format!("{raw}T00:00:00Z")).timestamp()
    }

    #[test]
    fn each_candle_is_the_quote_of_its_session() {
        let now = at("2026-12-01T22:00:00Z");
        for entry in SAMPLE_SYMBOLS {
            let candles = daily_candles(entry, midnight("2025-12-01"), now.timestamp(), now);
            assert_eq!(candles.s, "ok");
            // A year of sessions: about 250.
            assert!(
                (248..=254).contains(&candles.t.len()),
                "{}",
                candles.t.len()
            );
            for i in 0..candles.t.len() {
                let session = DateTime::from_timestamp(candles.t[i], 0)
                    .unwrap()
                    .date_naive();
                let q = quote_on(entry, session);
                assert_eq!(
                    (candles.o[i], candles.h[i], candles.l[i], candles.c[i]),
                    (q.o, q.h, q.l, q.c),
                    "{} {session}",
                    entry.symbol
                );
                assert!(is_trading_day(session), "{session}");
                assert!(candles.v[i] > 0);
            }
        }
    }

    #[test]
    fn only_sessions_in_the_range_and_already_closed() {
        let aapl = &SAMPLE_SYMBOLS[0];
        // Thanksgiving week 2026; asked on Friday 27th at noon New York time (an early
        // close is not modelled: Friday's session closes at 16:00).
        let now = at("2026-11-27T17:00:00Z");
        let c = daily_candles(aapl, midnight("2026-11-23"), now.timestamp(), now);
        let dates: Vec<NaiveDate> =
            c.t.iter()
                .map(|t| DateTime::from_timestamp(*t, 0).unwrap().date_naive())
                .collect();
        assert_eq!(
            dates,
            vec![date("2026-11-23"), date("2026-11-24"), date("2026-11-25")],
            "no Thanksgiving, no Friday before its close"
        );
        // The same session gives the same bar whenever it is asked for.
        let later = at("2027-03-01T12:00:00Z");
        let again = daily_candles(aapl, midnight("2026-11-24"), midnight("2026-11-24"), later);
        assert_eq!(again.t, vec![midnight("2026-11-24")]);
        assert_eq!((again.c[0], again.v[0]), (c.c[1], c.v[1]));
        // A weekend alone, or a range in the future, has no data.
        let weekend = daily_candles(aapl, midnight("2026-11-28"), midnight("2026-11-29"), later);
        assert_eq!(weekend, SampleCandles::no_data());
        let ahead = daily_candles(aapl, midnight("2027-06-01"), midnight("2027-06-30"), later);
        assert_eq!(ahead.s, "no_data");
    }

    #[test]
    fn volumes_are_plausible_and_vary() {
        let aapl = &SAMPLE_SYMBOLS[0];
        let volumes: Vec<i64> = days(date("2026-01-05"), 30)
            .map(|d| volume_on(aapl, d))
            .collect();
        // 14.84 billion shares outstanding: 45 to 180 million a day.
        assert!(
            volumes
                .iter()
                .all(|v| (40_000_000..=180_000_000).contains(v))
        );
        assert!(volumes.windows(2).any(|w| w[0] != w[1]));
        assert!(volumes.iter().all(|v| v % 100 == 0));
    }
}
