//! The NYSE calendar: holidays, sessions, and New York time.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::America::New_York;

/// Days the NYSE closed outside its regular holiday rules (national days of mourning,
/// Hurricane Sandy), so that sessions computed for those dates match history.
const SPECIAL_CLOSURES: &[(i32, u32, u32, &str)] = &[
    (
        2004,
        6,
        11,
        "National Day of Mourning for President Ronald Reagan",
    ),
    (
        2007,
        1,
        2,
        "National Day of Mourning for President Gerald Ford",
    ),
    (2012, 10, 29, "Hurricane Sandy"),
    (2012, 10, 30, "Hurricane Sandy"),
    (
        2018,
        12,
        5,
        "National Day of Mourning for President George H.W. Bush",
    ),
    (
        2025,
        1,
        9,
        "National Day of Mourning for President Jimmy Carter",
    ),
];

/// Easter Sunday (Gregorian), by the anonymous "Meeus/Jones/Butcher" algorithm.
fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let month = (h + l - 7 * m + 114).div_euclid(31);
    let day = (h + l - 7 * m + 114).rem_euclid(31) + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

fn last_weekday_of_month(year: i32, month: u32, weekday: Weekday) -> Option<NaiveDate> {
    (1..=5)
        .rev()
        .find_map(|n| NaiveDate::from_weekday_of_month_opt(year, month, weekday, n))
}

/// NYSE's rule for a fixed-date holiday on a weekend: Sunday moves to Monday, Saturday
/// to the Friday before.
fn observed(date: NaiveDate) -> Option<NaiveDate> {
    match date.weekday() {
        Weekday::Sat => date.pred_opt(),
        Weekday::Sun => date.succ_opt(),
        _ => Some(date),
    }
}

/// The NYSE's full-day closures of a year, in date order, by today's rules (Juneteenth
/// from 2022, when the exchange first closed for it) plus the special closures above.
/// Early closes (13:00) are not closures and are not listed.
pub(super) fn nyse_holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let fixed = |month, day| NaiveDate::from_ymd_opt(year, month, day);
    let mut days: Vec<(Option<NaiveDate>, &'static str)> = vec![
        // A Saturday New Year's Day is not made up on Friday 31 December: NYSE rule 7.2
        // spares the last trading day of the year.
        (
            fixed(1, 1).and_then(|d| match d.weekday() {
                Weekday::Sat => None,
                _ => observed(d),
            }),
            "New Year's Day",
        ),
        (
            NaiveDate::from_weekday_of_month_opt(year, 1, Weekday::Mon, 3),
            "Birthday of Martin Luther King, Jr",
        ),
        (
            NaiveDate::from_weekday_of_month_opt(year, 2, Weekday::Mon, 3),
            "Washington's Birthday",
        ),
        (
            easter_sunday(year).and_then(|d| d.checked_sub_days(Days::new(2))),
            "Good Friday",
        ),
        (last_weekday_of_month(year, 5, Weekday::Mon), "Memorial Day"),
        (fixed(7, 4).and_then(observed), "Independence Day"),
        (
            NaiveDate::from_weekday_of_month_opt(year, 9, Weekday::Mon, 1),
            "Labor Day",
        ),
        (
            NaiveDate::from_weekday_of_month_opt(year, 11, Weekday::Thu, 4),
            "Thanksgiving Day",
        ),
        (fixed(12, 25).and_then(observed), "Christmas"),
    ];
    if year >= 2022 {
        days.push((fixed(6, 19).and_then(observed), "Juneteenth"));
    }
    for &(y, month, day, name) in SPECIAL_CLOSURES {
        if y == year {
            days.push((fixed(month, day), name));
        }
    }
    let mut days: Vec<(NaiveDate, &'static str)> = days
        .into_iter()
        .filter_map(|(date, name)| Some((date?, name)))
        .collect();
    days.sort();
    days
}

pub(super) fn is_trading_day(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
        && !nyse_holidays(date.year()).iter().any(|(d, _)| *d == date)
}

/// Weekends plus holidays never make more than four closed days in a row; the bound
/// only keeps a pathological date (the ends of chrono's range) from looping.
const MAX_CLOSED_RUN: usize = 10;

/// The last trading day on or before `date`.
pub(super) fn session_on_or_before(date: NaiveDate) -> NaiveDate {
    let mut day = date;
    for _ in 0..MAX_CLOSED_RUN {
        if is_trading_day(day) {
            return day;
        }
        match day.pred_opt() {
            Some(prev) => day = prev,
            None => break,
        }
    }
    date
}

/// The trading day before `session`.
pub(super) fn previous_session(session: NaiveDate) -> NaiveDate {
    session.pred_opt().map_or(session, session_on_or_before)
}

/// The first trading day on or after `date`.
pub(super) fn session_on_or_after(date: NaiveDate) -> NaiveDate {
    let mut day = date;
    for _ in 0..MAX_CLOSED_RUN {
        if is_trading_day(day) {
            return day;
        }
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    date
}

/// Unix seconds of a New York wall-clock time on `date`; the fallback (a fixed -5 h)
/// is only reached for times that do not exist in New York, which callers avoid.
pub(super) fn new_york_timestamp(date: NaiveDate, time: NaiveTime) -> i64 {
    let local = date.and_time(time);
    match New_York.from_local_datetime(&local).earliest() {
        Some(at) => at.timestamp(),
        None => local.and_utc().timestamp() + 5 * 3600,
    }
}

pub(super) fn new_york_date(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&New_York).date_naive()
}

pub(super) const MARKET_CLOSE: NaiveTime = match NaiveTime::from_hms_opt(16, 0, 0) {
    Some(time) => time,
    None => panic!("16:00 is a valid time"),
};
#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_market::test_dates::date;
    use crate::sample_market::ymd;

    #[test]
    fn nyse_holidays_match_the_published_calendars() {
        let expected: &[(i32, &[&str])] = &[
            (
                2025,
                &[
                    "2025-01-01",
                    "2025-01-09",
                    "2025-01-20",
                    "2025-02-17",
                    "2025-04-18",
                    "2025-05-26",
                    "2025-06-19",
                    "2025-07-04",
                    "2025-09-01",
                    "2025-11-27",
                    "2025-12-25",
                ],
            ),
            (
                2026,
                &[
                    "2026-01-01",
                    "2026-01-19",
                    "2026-02-16",
                    "2026-04-03",
                    "2026-05-25",
                    "2026-06-19",
                    "2026-07-03",
                    "2026-09-07",
                    "2026-11-26",
                    "2026-12-25",
                ],
            ),
            (
                2027,
                &[
                    "2027-01-01",
                    "2027-01-18",
                    "2027-02-15",
                    "2027-03-26",
                    "2027-05-31",
                    "2027-06-18",
                    "2027-07-05",
                    "2027-09-06",
                    "2027-11-25",
                    "2027-12-24",
                ],
            ),
        ];
        for (year, dates) in expected {
            let got: Vec<String> = nyse_holidays(*year).iter().map(|(d, _)| ymd(*d)).collect();
            assert_eq!(got, *dates, "{year}");
        }
        // New Year's Day 2028 is a Saturday: Friday 2027-12-31 stays a trading day.
        assert!(is_trading_day(date("2027-12-31")));
        assert!(!is_trading_day(date("2026-11-26")));
    }

    #[test]
    fn easter_matches_known_dates() {
        for (year, easter) in [
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2027, "2027-03-28"),
            (2038, "2038-04-25"),
        ] {
            assert_eq!(easter_sunday(year), Some(date(easter)));
        }
    }
}
