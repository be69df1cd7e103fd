//! The earnings calendar: each symbol reports once a quarter on a fixed weekday.

use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;

use super::calendar::session_on_or_after;
use super::randomness::{digest, pick, unit};
use super::symbols::SampleSymbol;
use super::{round_to, ymd};

/// Companies report every quarter; 91 days is exactly 13 weeks, so a symbol's reports
/// keep falling on the same weekday.
const EARNINGS_CYCLE: i32 = 91;
/// A Monday: cycle days are counted from it, so cycle day `7w + k` is weekday `k` of
/// cycle week `w`.
const EARNINGS_ANCHOR: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 5) {
    Some(date) => date,
    None => panic!("1970-01-05 is a valid date"),
};
/// The longest `/calendar/earnings` range served, counted from `from`.
const MAX_EARNINGS_DAYS: u64 = 366;

/// Day of the 91-day cycle on which the symbol at `index` reports.
///
/// The first 13 symbols take a Tuesday in each of the 13 weeks of the cycle. Every
/// 7-day window holds exactly one Tuesday, so some symbol reports in any coming week,
/// which is what makes an "earnings this week" section show up in sample digests. The
/// rest get a hash-chosen Monday to Thursday.
fn earnings_cycle_day(index: usize, symbol: &SampleSymbol) -> i32 {
    let week = (index % 13) as i32;
    let weekday = if index < 13 {
        1
    } else {
        pick(&digest(&format!("{}|earnings", symbol.symbol)), 0, 4) as i32
    };
    week * 7 + weekday
}

/// One entry of Finnhub's `/calendar/earnings`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Earning {
    date: String,
    eps_actual: Option<f64>,
    eps_estimate: f64,
    hour: &'static str,
    quarter: u32,
    revenue_actual: Option<i64>,
    revenue_estimate: i64,
    symbol: &'static str,
    year: i32,
}

/// The report `symbol` publishes on `date`. Actuals exist only for dates before `today`.
fn earning(symbol: &SampleSymbol, date: NaiveDate, today: NaiveDate) -> Earning {
    let profile = digest(&format!("{}|earnings", symbol.symbol));
    let report = digest(&format!("{}|{}|earnings", symbol.symbol, ymd(date)));
    // The quarter reported is the one before the quarter that was running three weeks
    // earlier: a report in early April still covers Q4.
    let reference = date.checked_sub_days(Days::new(21)).unwrap_or(date);
    let running = (reference.month0() / 3) as i32 + reference.year() * 4;
    let reported = running - 1;
    let (year, quarter) = (reported.div_euclid(4), reported.rem_euclid(4) as u32 + 1);

    let price_to_earnings = 15.0 + unit(&profile, 1) * 25.0;
    let price_to_sales = 2.0 + unit(&profile, 2) * 8.0;
    let jitter = 0.95 + unit(&report, 0) * 0.1;
    let eps_estimate = round_to(symbol.base_price / price_to_earnings / 4.0 * jitter, 2);
    let market_cap = symbol.base_price * symbol.shares_outstanding * 1e6;
    // Estimates are round millions, as analysts' consensus figures usually are.
    let revenue_estimate =
        (market_cap / price_to_sales / 4.0 * jitter / 1e6).round() as i64 * 1_000_000;
    let reported_already = date < today;
    Earning {
        date: ymd(date),
        eps_actual: reported_already
            .then(|| round_to(eps_estimate * (0.92 + unit(&report, 1) * 0.2), 2)),
        eps_estimate,
        hour: if pick(&profile, 3, 2) == 0 {
            "bmo"
        } else {
            "amc"
        },
        quarter,
        revenue_actual: reported_already
            .then(|| (revenue_estimate as f64 * (0.97 + unit(&report, 2) * 0.07)).round() as i64),
        revenue_estimate,
        symbol: symbol.symbol,
        year,
    }
}

/// Earnings reports dated `from` to `to` (inclusive; at most `MAX_EARNINGS_DAYS` from
/// `from`), for one symbol or all, in date then symbol order.
pub(super) fn earnings_calendar(
    symbols: &[(usize, &SampleSymbol)],
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> Vec<Earning> {
    let to = to.min(
        from.checked_add_days(Days::new(MAX_EARNINGS_DAYS - 1))
            .unwrap_or(NaiveDate::MAX),
    );
    let mut entries = Vec::new();
    if from > to {
        return entries;
    }
    // A scheduled day that falls on a holiday moves to the next session, so scheduled
    // days up to a week before `from` can still land inside the range.
    let scan_from = from.checked_sub_days(Days::new(7)).unwrap_or(from);
    let scan_start = scan_from.num_days_from_ce();
    let anchor = EARNINGS_ANCHOR.num_days_from_ce();
    for &(index, symbol) in symbols {
        let cycle_day = earnings_cycle_day(index, symbol);
        let ahead = (cycle_day - (scan_start - anchor).rem_euclid(EARNINGS_CYCLE))
            .rem_euclid(EARNINGS_CYCLE);
        let mut scheduled = scan_start.checked_add(ahead);
        while let Some(day) = scheduled.and_then(NaiveDate::from_num_days_from_ce_opt) {
            if day > to {
                break;
            }
            let date = session_on_or_after(day);
            if (from..=to).contains(&date) {
                entries.push(earning(symbol, date, today));
            }
            scheduled = day.num_days_from_ce().checked_add(EARNINGS_CYCLE);
        }
    }
    entries.sort_by(|a, b| a.date.cmp(&b.date).then(a.symbol.cmp(b.symbol)));
    entries
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_market::calendar::is_trading_day;
    use crate::sample_market::symbols::SAMPLE_SYMBOLS;
    use crate::sample_market::test_dates::{date, days};

    #[test]
    fn every_week_has_an_earnings_report() {
        let all: Vec<_> = SAMPLE_SYMBOLS.iter().enumerate().collect();
        let today = date("2026-01-01");
        for start in days(date("2025-01-01"), 3 * 365) {
            let week = earnings_calendar(&all, start, start + Days::new(6), today);
            assert!(!week.is_empty(), "no earnings in the week from {start}");
            for entry in &week {
                assert!(is_trading_day(date(&entry.date)), "{entry:?}");
            }
        }
    }

    #[test]
    fn each_symbol_reports_quarterly_with_actuals_only_in_the_past() {
        let today = date("2026-03-01");
        for (index, entry) in SAMPLE_SYMBOLS.iter().enumerate() {
            let year = earnings_calendar(
                &[(index, entry)],
                date("2026-01-01"),
                date("2026-12-31"),
                today,
            );
            assert!((4..=5).contains(&year.len()), "{}: {year:?}", entry.symbol);
            for report in &year {
                let past = date(&report.date) < today;
                assert_eq!(report.eps_actual.is_some(), past, "{report:?}");
                assert_eq!(report.revenue_actual.is_some(), past, "{report:?}");
                assert!(report.eps_estimate > 0.0 && report.revenue_estimate > 0);
                assert!((1..=4).contains(&report.quarter));
            }
        }
    }
}
