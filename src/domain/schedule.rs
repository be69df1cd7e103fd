use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone as _, Utc, Weekday,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::DomainError;

/// An IANA time zone name such as `America/New_York`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(DomainError::new("time_zone", "is required"));
        }
        trimmed.parse::<chrono_tz::Tz>().map(Self).map_err(|_| {
            DomainError::new(
                "time_zone",
                format!(
                    "'{trimmed}' is not an IANA time zone name; use one such as America/New_York"
                ),
            )
        })
    }

    pub fn utc() -> Self {
        Self(chrono_tz::UTC)
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.0
    }
}

/// A local wall-clock time of day, to the minute (`HH:MM`, 24-hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendTime(NaiveTime);

impl SendTime {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let trimmed = raw.trim();
        let invalid = || {
            DomainError::new(
                "send_time",
                format!("'{trimmed}' is not a time of day; use 24-hour HH:MM such as 07:30"),
            )
        };
        let (h, m) = trimmed.split_once(':').ok_or_else(invalid)?;
        // Two ASCII digits each: u32's parser would also take "+7" for the hour.
        let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !two_digits(h) || !two_digits(m) {
            return Err(invalid());
        }
        let hour: u32 = h.parse().map_err(|_| invalid())?;
        let minute: u32 = m.parse().map_err(|_| invalid())?;
        NaiveTime::from_hms_opt(hour, minute, 0)
            .map(Self)
            .ok_or_else(invalid)
    }

    pub fn from_naive(time: NaiveTime) -> Self {
        Self(time)
    }

    pub fn naive(&self) -> NaiveTime {
        self.0
    }

    pub fn to_hhmm(&self) -> String {
        self.0.format("%H:%M").to_string()
    }
}

/// Which local dates a digest is sent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Days {
    /// Every day of the week.
    EveryDay,
    /// Monday to Friday.
    Weekdays,
    /// Monday to Friday, except US market holidays.
    TradingDays,
}

impl Days {
    pub fn as_str(&self) -> &'static str {
        match self {
            Days::EveryDay => "every_day",
            Days::Weekdays => "weekdays",
            Days::TradingDays => "trading_days",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "every_day" => Ok(Days::EveryDay),
            "weekdays" => Ok(Days::Weekdays),
            "trading_days" => Ok(Days::TradingDays),
            other => Err(DomainError::new(
                "days",
                format!("'{other}' is not one of every_day, weekdays, trading_days"),
            )),
        }
    }

    fn includes(&self, date: NaiveDate, holidays: &[NaiveDate]) -> bool {
        let weekday = !matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        match self {
            Days::EveryDay => true,
            Days::Weekdays => weekday,
            Days::TradingDays => weekday && !holidays.contains(&date),
        }
    }
}

/// The outcome of [`Schedule::plan_due`]: local dates with the instant each was due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuePlan {
    pub missed: Vec<(NaiveDate, DateTime<Utc>)>,
    pub today: Option<(NaiveDate, DateTime<Utc>)>,
    pub next: DateTime<Utc>,
}

/// When a person wants their digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub time_zone: TimeZone,
    pub send_time: SendTime,
    pub days: Days,
}

impl Schedule {
    /// The first instant strictly after `now` at which a digest is due.
    ///
    /// `holidays` lists US market holidays (used by `TradingDays`). A send time that
    /// falls in a daylight-saving gap on some date is sent at the first instant after
    /// the gap; one that happens twice (fall back) is sent at the first occurrence, so
    /// every included local date yields exactly one instant.
    pub fn next_send_after(&self, now: DateTime<Utc>, holidays: &[NaiveDate]) -> DateTime<Utc> {
        self.next_send_after_served(now, holidays, None)
    }

    /// Like [`Schedule::next_send_after`], on a local date later than `served` (the
    /// last local date in this zone that already had its digest, from
    /// [`Schedule::served_through`]). After the zone or the send time changed, this is
    /// what keeps the next digest off a day the person already had one.
    pub fn next_send_after_served(
        &self,
        now: DateTime<Utc>,
        holidays: &[NaiveDate],
        served: Option<NaiveDate>,
    ) -> DateTime<Utc> {
        let tz = self.time_zone.tz();
        let mut first = now.with_timezone(&tz).date_naive();
        if let Some(served) = served {
            first = first.max(served + Duration::days(1));
        }
        // Two weeks covers any run of weekends and holidays; the fallback is
        // unreachable for the rule sets above but keeps the function total.
        for offset in 0..15 {
            let date = first + Duration::days(offset);
            if !self.days.includes(date, holidays) {
                continue;
            }
            let instant = self.instant_on(date);
            if instant > now {
                return instant;
            }
        }
        self.instant_on(first + Duration::days(15))
    }

    /// The last local date, in this schedule's zone, that already had its digest, given
    /// the person's newest digest job: the later of that job's own date (its key, in the
    /// zone it was queued in) and the date on which it was due as this zone reckons it.
    /// The first keeps a date from getting a second job after a move west across the
    /// date line; the second keeps a day lived in the new zone from getting a second
    /// digest after a move east (ADR 0006).
    pub fn served_through(
        &self,
        latest_date: Option<NaiveDate>,
        latest_due: Option<DateTime<Utc>>,
    ) -> Option<NaiveDate> {
        let lived = latest_due.map(|t| t.with_timezone(&self.time_zone.tz()).date_naive());
        latest_date.max(lived)
    }

    /// What a scheduler pass at `now` does for a person whose next digest was due at
    /// `due` (`due <= now`): digests due on an earlier local date than today's are
    /// missed (the service was not running on that day), one due today is sent even if
    /// late, and `next` is the first send instant after `now`.
    pub fn plan_due(
        &self,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
        holidays: &[NaiveDate],
    ) -> DuePlan {
        let tz = self.time_zone.tz();
        let today = now.with_timezone(&tz).date_naive();
        let mut plan = DuePlan {
            missed: Vec::new(),
            today: None,
            next: self.next_send_after(now, holidays),
        };
        let mut instant = due;
        // Sixty occurrences reach back two months and more; a longer outage records
        // the most recent sixty misses only.
        let mut occurrences = Vec::new();
        while instant <= now {
            occurrences.push(instant);
            instant = self.next_send_after(instant, holidays);
        }
        let skip = occurrences.len().saturating_sub(60);
        for instant in occurrences.into_iter().skip(skip) {
            let date = instant.with_timezone(&tz).date_naive();
            if date < today {
                plan.missed.push((date, instant));
            } else {
                plan.today = Some((date, instant));
            }
        }
        plan
    }

    /// The UTC instant of this schedule's send time on a local date.
    pub fn instant_on(&self, date: NaiveDate) -> DateTime<Utc> {
        let tz = self.time_zone.tz();
        let local = date.and_time(self.send_time.naive());
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            LocalResult::None => {
                // In a gap: walk forward minute by minute to the first wall-clock time
                // that exists (gaps are at most a few hours).
                let mut probe = local;
                for _ in 0..(4 * 60) {
                    probe += Duration::minutes(1);
                    if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                        return t.with_timezone(&Utc);
                    }
                }
                Utc.from_utc_datetime(&local)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn schedule(tz: &str, time: &str, days: Days) -> Schedule {
        Schedule {
            time_zone: TimeZone::parse(tz).unwrap(),
            send_time: SendTime::parse(time).unwrap(),
            days,
        }
    }

    #[test]
    fn parses_times_and_refuses_impossible_ones() {
        assert_eq!(SendTime::parse("07:30").unwrap().to_hhmm(), "07:30");
        assert_eq!(SendTime::parse("00:00").unwrap().to_hhmm(), "00:00");
        for bad in [
            "24:00", "12:60", "7:30", "07:3", "0730", "ab:cd", "", "07:30:00", "-1:00", "+7:30",
            "07:+3",
        ] {
            assert!(SendTime::parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn parses_iana_zones_only() {
        assert_eq!(
            TimeZone::parse("America/New_York").unwrap().name(),
            "America/New_York"
        );
        for bad in ["", "Mars/Olympus", "EST5EDT-ish", "america/new york"] {
            assert!(TimeZone::parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn later_today_when_the_time_has_not_passed() {
        let s = schedule("America/New_York", "07:30", Days::EveryDay);
        // 2026-01-15 10:00 UTC is 05:00 in New York (EST, UTC-5).
        let next = s.next_send_after(utc("2026-01-15T10:00:00Z"), &[]);
        assert_eq!(next, utc("2026-01-15T12:30:00Z"));
    }

    #[test]
    fn tomorrow_when_the_time_has_passed() {
        let s = schedule("Europe/Paris", "07:30", Days::EveryDay);
        let next = s.next_send_after(utc("2026-01-15T10:00:00Z"), &[]);
        assert_eq!(next, utc("2026-01-16T06:30:00Z"));
    }

    #[test]
    fn weekdays_skip_the_weekend() {
        let s = schedule("UTC", "08:00", Days::Weekdays);
        // Friday 2026-01-16 09:00 -> Monday 2026-01-19 08:00.
        let next = s.next_send_after(utc("2026-01-16T09:00:00Z"), &[]);
        assert_eq!(next, utc("2026-01-19T08:00:00Z"));
    }

    #[test]
    fn trading_days_skip_holidays() {
        let s = schedule("America/New_York", "08:00", Days::TradingDays);
        let mlk = NaiveDate::from_ymd_opt(2026, 1, 19).unwrap();
        // Friday after the send time -> Monday is a holiday -> Tuesday.
        let next = s.next_send_after(utc("2026-01-16T20:00:00Z"), &[mlk]);
        assert_eq!(next, utc("2026-01-20T13:00:00Z"));
    }

    #[test]
    fn spring_forward_gap_sends_after_the_gap() {
        // 2026-03-08 02:00 -> 03:00 in New York: 02:30 does not exist that day.
        let s = schedule("America/New_York", "02:30", Days::EveryDay);
        let next = s.next_send_after(utc("2026-03-08T05:00:00Z"), &[]);
        assert_eq!(next, utc("2026-03-08T07:00:00Z")); // 03:00 EDT
        // And the day after is back to a normal 02:30 EDT.
        let after = s.next_send_after(next, &[]);
        assert_eq!(after, utc("2026-03-09T06:30:00Z"));
    }

    #[test]
    fn fall_back_sends_once_at_the_first_occurrence() {
        // 2026-11-01 01:30 happens twice in New York (EDT then EST).
        let s = schedule("America/New_York", "01:30", Days::EveryDay);
        let first = s.next_send_after(utc("2026-11-01T04:00:00Z"), &[]);
        assert_eq!(first, utc("2026-11-01T05:30:00Z")); // 01:30 EDT
        let second = s.next_send_after(first, &[]);
        assert_eq!(second, utc("2026-11-02T06:30:00Z")); // next day, 01:30 EST
    }

    #[test]
    fn far_east_and_far_west_zones() {
        // Kiribati is UTC+14, Niue UTC-11: the same UTC instant is two local dates apart.
        let kiribati = schedule("Pacific/Kiritimati", "06:00", Days::EveryDay);
        let niue = schedule("Pacific/Niue", "06:00", Days::EveryDay);
        let now = utc("2026-06-10T12:00:00Z");
        assert_eq!(
            kiribati.next_send_after(now, &[]),
            utc("2026-06-10T16:00:00Z")
        );
        assert_eq!(niue.next_send_after(now, &[]), utc("2026-06-10T17:00:00Z"));
    }

    /// Drives a schedule the way the scheduler does, one pass a minute over `days`
    /// days from `start`, and returns every (local date, instant) queued.
    fn simulate(
        s: &Schedule,
        start: DateTime<Utc>,
        days: i64,
        holidays: &[NaiveDate],
    ) -> Vec<(NaiveDate, DateTime<Utc>)> {
        let mut next = s.next_send_after(start, holidays);
        let mut queued = Vec::new();
        let mut now = start;
        while now < start + Duration::days(days) {
            now += Duration::minutes(1);
            if next <= now {
                let plan = s.plan_due(next, now, holidays);
                assert!(plan.missed.is_empty(), "a pass every minute never misses");
                queued.extend(plan.today);
                next = plan.next;
            }
        }
        queued
    }

    fn one_per_date(queued: &[(NaiveDate, DateTime<Utc>)]) {
        let mut dates: Vec<NaiveDate> = queued.iter().map(|(d, _)| *d).collect();
        let n = dates.len();
        dates.dedup();
        assert_eq!(dates.len(), n, "a local date was queued twice: {queued:?}");
    }

    #[test]
    fn exactly_one_digest_per_local_date_across_spring_forward() {
        // New York springs forward on 2026-03-08: 02:30 does not exist that day.
        let s = schedule("America/New_York", "02:30", Days::EveryDay);
        let queued = simulate(&s, utc("2026-03-06T00:00:00Z"), 5, &[]);
        one_per_date(&queued);
        let dates: Vec<String> = queued.iter().map(|(d, _)| d.to_string()).collect();
        assert_eq!(
            dates,
            [
                "2026-03-06",
                "2026-03-07",
                "2026-03-08",
                "2026-03-09",
                "2026-03-10"
            ]
        );
        // On the day itself it goes at 03:00 EDT, the first instant after the gap.
        assert_eq!(queued[2].1, utc("2026-03-08T07:00:00Z"));
    }

    #[test]
    fn exactly_one_digest_per_local_date_across_fall_back() {
        // New York falls back on 2026-11-01: 01:30 happens twice that day.
        let s = schedule("America/New_York", "01:30", Days::EveryDay);
        let queued = simulate(&s, utc("2026-10-30T00:00:00Z"), 5, &[]);
        one_per_date(&queued);
        assert_eq!(queued.len(), 5);
        let sunday = queued
            .iter()
            .find(|(d, _)| d.to_string() == "2026-11-01")
            .unwrap();
        assert_eq!(
            sunday.1,
            utc("2026-11-01T05:30:00Z"),
            "the first 01:30 (EDT)"
        );
    }

    #[test]
    fn utc_plus_14_and_utc_minus_11_each_get_their_own_dates() {
        for (zone, offset_hours) in [("Pacific/Kiritimati", 14), ("Pacific/Pago_Pago", -11)] {
            let s = schedule(zone, "07:00", Days::EveryDay);
            let queued = simulate(&s, utc("2026-06-01T00:00:00Z"), 4, &[]);
            one_per_date(&queued);
            assert!(queued.len() >= 3, "{zone}: {queued:?}");
            for (date, instant) in &queued {
                // 07:00 local is 07:00 - offset in UTC.
                let expected = date.and_hms_opt(7, 0, 0).unwrap() - Duration::hours(offset_hours);
                assert_eq!(instant.naive_utc(), expected, "{zone}");
            }
        }
    }

    #[test]
    fn a_move_east_across_the_date_line_waits_for_a_day_without_a_digest() {
        // Sent 07:00 in Pago Pago (UTC-11) on 10 June = 18:00 UTC = 08:00 on 11 June in
        // Kiritimati (UTC+14). Moving there at 18:30 UTC with a 09:00 send time, 11 June
        // there has had its digest already: the next is on 12 June.
        let kiritimati = schedule("Pacific/Kiritimati", "09:00", Days::EveryDay);
        let date = NaiveDate::from_ymd_opt(2026, 6, 10).unwrap();
        let due = utc("2026-06-10T18:00:00Z");
        let served = kiritimati.served_through(Some(date), Some(due));
        assert_eq!(served, NaiveDate::from_ymd_opt(2026, 6, 11));
        let now = utc("2026-06-10T18:30:00Z");
        assert_eq!(
            kiritimati.next_send_after(now, &[]),
            utc("2026-06-10T19:00:00Z"),
            "without the rule: an hour later, the same day there"
        );
        assert_eq!(
            kiritimati.next_send_after_served(now, &[], served),
            utc("2026-06-11T19:00:00Z") // 09:00 on 12 June in Kiritimati
        );
    }

    #[test]
    fn a_move_west_across_the_date_line_skips_the_date_already_had() {
        // Sent 07:00 in Kiritimati on 11 June = 17:00 UTC on 10 June = 06:00 on 10 June
        // in Pago Pago. Moving there, 10 June is the day it arrived and 11 June is the
        // date it was for: the next is on 12 June, Pago Pago time.
        let pago = schedule("Pacific/Pago_Pago", "09:00", Days::EveryDay);
        let date = NaiveDate::from_ymd_opt(2026, 6, 11).unwrap();
        let due = utc("2026-06-10T17:00:00Z");
        let served = pago.served_through(Some(date), Some(due));
        assert_eq!(served, Some(date));
        let next = pago.next_send_after_served(utc("2026-06-10T17:30:00Z"), &[], served);
        assert_eq!(next, utc("2026-06-12T20:00:00Z"));
    }

    #[test]
    fn a_later_send_time_on_a_day_already_served_starts_tomorrow() {
        let s = schedule("UTC", "18:00", Days::Weekdays);
        let served = s.served_through(
            NaiveDate::from_ymd_opt(2026, 6, 12), // a Friday
            Some(utc("2026-06-12T07:00:00Z")),
        );
        let next = s.next_send_after_served(utc("2026-06-12T08:00:00Z"), &[], served);
        assert_eq!(next, utc("2026-06-15T18:00:00Z"), "Monday");
        // Nothing served: the usual next instant.
        assert_eq!(
            s.next_send_after_served(utc("2026-06-12T08:00:00Z"), &[], None),
            utc("2026-06-12T18:00:00Z")
        );
    }

    #[test]
    fn trading_days_across_a_holiday_weekend() {
        // Thanksgiving 2026 is Thursday 26 November.
        let thanksgiving = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let s = schedule("America/New_York", "08:00", Days::TradingDays);
        let queued = simulate(&s, utc("2026-11-24T00:00:00Z"), 7, &[thanksgiving]);
        let dates: Vec<String> = queued.iter().map(|(d, _)| d.to_string()).collect();
        assert_eq!(
            dates,
            ["2026-11-24", "2026-11-25", "2026-11-27", "2026-11-30"]
        );
    }

    #[test]
    fn after_downtime_today_is_sent_late_and_earlier_days_are_missed() {
        let s = schedule("Europe/Paris", "07:00", Days::EveryDay);
        // Due Monday 07:00 Paris; the service comes back on Wednesday at 15:00 Paris.
        let due = utc("2026-11-23T06:00:00Z");
        let now = utc("2026-11-25T14:00:00Z");
        let plan = s.plan_due(due, now, &[]);
        let missed: Vec<String> = plan.missed.iter().map(|(d, _)| d.to_string()).collect();
        assert_eq!(missed, ["2026-11-23", "2026-11-24"]);
        assert_eq!(
            plan.today,
            Some((
                NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
                utc("2026-11-25T06:00:00Z")
            ))
        );
        assert_eq!(plan.next, utc("2026-11-26T06:00:00Z"));
    }

    #[test]
    fn a_digest_due_late_yesterday_evening_is_missed_after_local_midnight() {
        let s = schedule("America/Los_Angeles", "23:30", Days::EveryDay);
        let due = utc("2026-11-24T07:30:00Z"); // Mon 23:30 in Los Angeles
        let plan = s.plan_due(due, utc("2026-11-24T08:10:00Z"), &[]); // Tue 00:10 there
        assert_eq!(plan.missed.len(), 1);
        assert_eq!(plan.today, None);
        assert_eq!(plan.next, utc("2026-11-25T07:30:00Z"));
    }
}
