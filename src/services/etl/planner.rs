//! What to fetch ahead of the send minute, and in which order (ADR 0013). Pure: the
//! leader (`workers::market`) gathers the inputs, this decides, the ETL executes.
//!
//! - **Only what someone reads.** A symbol's company news only when someone holding it
//!   reads news, the earnings calendar only when someone due reads earnings.
//! - **Fresh at the time it is read.** A digest due at `d` is read until its whole wave
//!   has been sent (`d` + the people due by then ÷ the SES rate). A quote is fetched
//!   once for every read within `QUOTIDIAN_QUOTE_MAX_AGE_SECS` of it: as late as that
//!   allows, but before the first due time; news and earnings likewise with their own
//!   ages.
//! - **In deadline order**, at a priority: work for a digest due within
//!   [`PlanSettings::due_soon`] is `Due`; a symbol nobody has fetched yet is
//!   `NewSymbol` (its preview shows a price at once); profiles and the holiday calendar
//!   refresh in the `Background`, each profile at its own time of the week, so a
//!   thousand symbols' profiles do not all fall due on the same day.

use std::collections::HashMap;

use chrono::{DateTime, Datelike as _, Duration, NaiveDate, Utc, Weekday};

use super::{EARNINGS_KEY, HOLIDAYS_KEY, Task};
use crate::clients::finnhub::Priority;
use crate::domain::Symbol;
use crate::domain::market::Endpoint;

/// One person-wave reading a symbol: the digests due at `due` read it until
/// `read_until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    pub due: DateTime<Utc>,
    pub read_until: DateTime<Utc>,
    /// Someone of this wave reads the symbol's news.
    pub news: bool,
}

/// Who reads a symbol in the planning horizon.
#[derive(Debug, Clone)]
pub struct SymbolDemand {
    pub symbol: Symbol,
    /// Ordered by `due`.
    pub reads: Vec<Read>,
}

impl SymbolDemand {
    /// (due, read until) of every read, or of the reads that include news.
    fn windows(&self, news_only: bool) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.reads
            .iter()
            .filter(|r| r.news || !news_only)
            .map(|r| (r.due, r.read_until))
            .collect()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Demand {
    pub symbols: Vec<SymbolDemand>,
    /// Watched symbols nobody is due to read in the horizon.
    pub idle: Vec<Symbol>,
    /// When the first digest that includes earnings is due, and read until.
    pub earnings: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

#[derive(Debug, Clone, Copy)]
pub struct PlanSettings {
    pub quote_max_age: Duration,
    pub news_max_age: Duration,
    pub earnings_max_age: Duration,
    pub holidays_max_age: Duration,
    /// Work for a digest due within this is `Due`.
    pub due_soon: Duration,
    /// Slack kept between a fetch and the end of its freshness.
    pub margin: Duration,
    /// How far ahead the leader looks at due times.
    pub horizon: Duration,
    /// Daily candles can be fetched (the plan has them, or the sample source).
    pub candles: bool,
    /// How long after a session's close its closing quote is fetched, so that the
    /// closing auction's price is in it.
    pub close_settle: Duration,
}

impl Default for PlanSettings {
    fn default() -> Self {
        Self {
            quote_max_age: Duration::minutes(5),
            news_max_age: Duration::minutes(60),
            earnings_max_age: Duration::hours(12),
            holidays_max_age: Duration::days(30),
            due_soon: Duration::minutes(15),
            margin: Duration::seconds(10),
            horizon: Duration::minutes(75),
            candles: false,
            close_settle: Duration::minutes(5),
        }
    }
}

/// One row of who reads what: the digests due at `due` (or queued, with `due` their
/// due time) include `symbol`; some of them with news, some with earnings.
#[derive(Debug, Clone)]
pub struct DemandInput {
    pub symbol: String,
    pub due: DateTime<Utc>,
    pub news: bool,
    pub earnings: bool,
}

/// Builds the planner's [`Demand`]: each wave is read from its due time until the
/// digests due by then have been sent at `send_rate` a second (the waves queue behind
/// each other), so a quote must stay fresh until the last of them.
/// `due_counts` is how many digests are due at each instant, in any order;
/// `never_quoted` the watched symbols no quote was ever fetched for.
pub fn demand(
    rows: &[DemandInput],
    due_counts: &[(DateTime<Utc>, i64)],
    never_quoted: &[String],
    send_rate: f64,
) -> Demand {
    let mut counts = due_counts.to_vec();
    counts.sort();
    let mut read_until: HashMap<DateTime<Utc>, DateTime<Utc>> = HashMap::new();
    let mut sent_by: Option<DateTime<Utc>> = None;
    for (due, people) in counts {
        let start = sent_by.map_or(due, |t| t.max(due));
        let secs = people.max(0) as f64 / send_rate.max(0.001);
        let end = start + Duration::milliseconds((secs * 1000.0).ceil() as i64);
        read_until.insert(due, end);
        sent_by = Some(end);
    }
    let until = |due: DateTime<Utc>| read_until.get(&due).copied().unwrap_or(due);

    let mut by_symbol: std::collections::BTreeMap<&str, Vec<Read>> = Default::default();
    let mut earnings: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
    for row in rows {
        by_symbol.entry(&row.symbol).or_default().push(Read {
            due: row.due,
            read_until: until(row.due),
            news: row.news,
        });
        if row.earnings && earnings.is_none_or(|(due, _)| row.due < due) {
            earnings = Some((row.due, until(row.due)));
        }
    }
    let symbols: Vec<SymbolDemand> = by_symbol
        .into_iter()
        .filter_map(|(symbol, mut reads)| {
            reads.sort_by_key(|r| r.due);
            Some(SymbolDemand {
                symbol: Symbol::parse(symbol).ok()?,
                reads,
            })
        })
        .collect();
    let idle = never_quoted
        .iter()
        .filter(|s| !symbols.iter().any(|d| d.symbol.as_ref() == s.as_str()))
        .filter_map(|s| Symbol::parse(s).ok())
        .collect();
    Demand {
        symbols,
        idle,
        earnings,
    }
}

/// One call the leader should make now.
#[derive(Debug, Clone)]
pub struct Planned {
    pub task: Task,
    pub priority: Priority,
    /// When the data must be there; the order of the work.
    pub deadline: DateTime<Utc>,
}

/// Last successful fetch per (symbol or market-wide key, endpoint).
pub type Fetched = HashMap<(String, String), DateTime<Utc>>;

fn last(fetched: &Fetched, key: &str, endpoint: Endpoint) -> Option<DateTime<Utc>> {
    fetched
        .get(&(key.to_owned(), endpoint.as_str().to_owned()))
        .copied()
}

/// When a value with `max_age`, last fetched at `last`, must be fetched again to be
/// fresh for every read of `reads` still unserved: `None` when nothing needs it;
/// otherwise (the earliest time a fetch serves the next group of reads, that group's
/// first due time).
fn next_fetch(
    reads: &[(DateTime<Utc>, DateTime<Utc>)],
    last: Option<DateTime<Utc>>,
    max_age: Duration,
    margin: Duration,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    // Reads the last fetch still serves need nothing.
    let first = reads
        .iter()
        .position(|(_, until)| last.is_none_or(|at| at + max_age < *until + margin))?;
    let (due, _) = reads[first];
    // One fetch serves every read that ends within `max_age` of it, so the group
    // grows while a fetch before the first due time can still cover it.
    let mut latest_end = reads[first].1;
    for (_, until) in &reads[first + 1..] {
        if *until - max_age + margin <= due {
            latest_end = latest_end.max(*until);
        } else {
            break;
        }
    }
    let start = (latest_end - max_age + margin).min(due - margin);
    Some((start, due))
}

/// The profile's weekly refresh: each symbol at its own time of the week (a hash of
/// the symbol), so many symbols' refreshes are spread evenly over the week; never
/// within a day of the last fetch.
pub fn profile_refresh_due(symbol: &str, last: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    let week = 7 * 24 * 3600_i64;
    let offset = (fnv1a(symbol.as_bytes()) % week as u64) as i64;
    // The most recent instant of this symbol's weekly slot, at or before now.
    let since = (now.timestamp() - offset).rem_euclid(week);
    let slot = now.timestamp() - since;
    // A profile fetched in the last day (a symbol first fetched just before its slot)
    // waits for the next slot rather than being fetched again minutes later.
    last.timestamp() < slot && now - last >= Duration::days(1)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn task(endpoint: Endpoint, symbol: Option<&Symbol>) -> Task {
    Task {
        endpoint,
        symbol: symbol.cloned(),
        from: None,
        to: None,
    }
}

/// The calls to make now, most urgent first.
pub fn plan(
    demand: &Demand,
    fetched: &Fetched,
    now: DateTime<Utc>,
    settings: &PlanSettings,
) -> Vec<Planned> {
    let mut out = Vec::new();
    let today = now.date_naive();
    let priority_for = |due: DateTime<Utc>| {
        if due - now <= settings.due_soon {
            Priority::Due
        } else {
            Priority::Background
        }
    };
    let push = |out: &mut Vec<Planned>, task: Task, priority, deadline| {
        out.push(Planned {
            task,
            priority,
            deadline,
        })
    };

    for wanted in &demand.symbols {
        let symbol = &wanted.symbol;
        let key = symbol.as_ref();
        let first_due = wanted.reads.first().map_or(now, |r| r.due);
        let reads = wanted.windows(false);

        let quoted = last(fetched, key, Endpoint::Quote);
        if quoted.is_none() {
            push(
                &mut out,
                task(Endpoint::Quote, Some(symbol)),
                Priority::NewSymbol,
                now,
            );
        } else if let Some((start, due)) =
            next_fetch(&reads, quoted, settings.quote_max_age, settings.margin)
            && start <= now
        {
            push(
                &mut out,
                task(Endpoint::Quote, Some(symbol)),
                priority_for(due),
                due,
            );
        }

        match last(fetched, key, Endpoint::Profile) {
            None => {
                let priority = priority_for(first_due).min(Priority::NewSymbol);
                push(
                    &mut out,
                    task(Endpoint::Profile, Some(symbol)),
                    priority,
                    first_due,
                );
            }
            Some(at) if profile_refresh_due(key, at, now) => push(
                &mut out,
                task(Endpoint::Profile, Some(symbol)),
                Priority::Background,
                now + Duration::days(1),
            ),
            Some(_) => {}
        }

        let news_reads = wanted.windows(true);
        let news_at = last(fetched, key, Endpoint::CompanyNews);
        if let Some((start, due)) =
            next_fetch(&news_reads, news_at, settings.news_max_age, settings.margin)
            && start <= now
        {
            // News since the last fetch (its day again, as Finnhub filters by date and
            // ids deduplicate), at most a week back.
            let from = news_at
                .map(|at| at.date_naive())
                .unwrap_or(today - Duration::days(2))
                .max(today - Duration::days(7));
            push(
                &mut out,
                Task {
                    endpoint: Endpoint::CompanyNews,
                    symbol: Some(symbol.clone()),
                    from: Some(from),
                    to: Some(today),
                },
                priority_for(due),
                due,
            );
        }
    }

    // A watched symbol nobody reads soon still gets its first price at once.
    for symbol in &demand.idle {
        if last(fetched, symbol.as_ref(), Endpoint::Quote).is_none() {
            push(
                &mut out,
                task(Endpoint::Quote, Some(symbol)),
                Priority::NewSymbol,
                now,
            );
        }
    }

    if let Some((due, until)) = demand.earnings
        && let Some((start, due)) = next_fetch(
            &[(due, until)],
            last(fetched, EARNINGS_KEY, Endpoint::Earnings),
            settings.earnings_max_age,
            settings.margin,
        )
        && start <= now
    {
        // One market-wide call for the coming week instead of one per symbol.
        push(
            &mut out,
            Task {
                endpoint: Endpoint::Earnings,
                symbol: None,
                from: Some(today),
                to: Some(today + Duration::days(7)),
            },
            priority_for(due),
            due,
        );
    }

    match last(fetched, HOLIDAYS_KEY, Endpoint::MarketHolidays) {
        // The schedule's trading days need it.
        None if !demand.symbols.is_empty() || !demand.idle.is_empty() => push(
            &mut out,
            task(Endpoint::MarketHolidays, None),
            Priority::Due,
            now,
        ),
        Some(at) if now - at >= settings.holidays_max_age => push(
            &mut out,
            task(Endpoint::MarketHolidays, None),
            Priority::Background,
            now + Duration::days(1),
        ),
        _ => {}
    }

    out.sort_by(|a, b| {
        (a.priority, a.deadline, rank(a.task.endpoint)).cmp(&(
            b.priority,
            b.deadline,
            rank(b.task.endpoint),
        ))
    });
    out
}

/// The earliest instant after `now` at which [`plan`] would want a quote, news or the
/// earnings calendar for the demand as it stands (`None`: nothing later in the
/// horizon). The leader sleeps until then instead of reading the demand again every
/// tick: those reads cost the database more, the more people watch.
pub fn next_wake(
    demand: &Demand,
    fetched: &Fetched,
    now: DateTime<Utc>,
    settings: &PlanSettings,
) -> Option<DateTime<Utc>> {
    let later = |start: DateTime<Utc>| (start > now).then_some(start);
    let mut wake: Option<DateTime<Utc>> = None;
    let mut consider = |at: Option<DateTime<Utc>>| {
        if let Some(at) = at {
            wake = Some(wake.map_or(at, |w| w.min(at)));
        }
    };
    for wanted in &demand.symbols {
        let key = wanted.symbol.as_ref();
        let reads = wanted.windows(false);
        let news = wanted.windows(true);
        if let Some(quoted) = last(fetched, key, Endpoint::Quote) {
            consider(
                next_fetch(
                    &reads,
                    Some(quoted),
                    settings.quote_max_age,
                    settings.margin,
                )
                .and_then(|(start, _)| later(start)),
            );
        }
        consider(
            next_fetch(
                &news,
                last(fetched, key, Endpoint::CompanyNews),
                settings.news_max_age,
                settings.margin,
            )
            .and_then(|(start, _)| later(start)),
        );
    }
    if let Some((due, until)) = demand.earnings {
        consider(
            next_fetch(
                &[(due, until)],
                last(fetched, EARNINGS_KEY, Endpoint::Earnings),
                settings.earnings_max_age,
                settings.margin,
            )
            .and_then(|(start, _)| later(start)),
        );
    }
    wake
}

/// Within one deadline: the price first, then what the digest shows beside it.
fn rank(endpoint: Endpoint) -> u8 {
    match endpoint {
        Endpoint::Quote => 0,
        Endpoint::MarketHolidays => 1,
        Endpoint::Profile => 2,
        Endpoint::Earnings => 3,
        Endpoint::CompanyNews => 4,
        Endpoint::Candles => 5,
    }
}

/// What the daily history needs from the leader: who is watched, whose history is
/// short, and the exchange's calendar.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Every watched symbol (whether or not anyone reads it soon): each gets its final
    /// bar after every session's close.
    pub watched: Vec<Symbol>,
    /// Watched symbols with less than a year of bars (`market::symbols_without_history`):
    /// candles fill them in, where the plan has them.
    pub short: Vec<Symbol>,
    /// Days the exchange is closed all day (`market::full_closures`).
    pub closures: Vec<NaiveDate>,
}

/// The close (16:00 New York) of the last session that closed at or before `now`,
/// weekends and `closures` skipped. Early closes count as 16:00.
pub fn last_close(now: DateTime<Utc>, closures: &[NaiveDate]) -> Option<DateTime<Utc>> {
    let today = now
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    // Weekends and holidays never close the market more than four days in a row.
    (0..10)
        .filter_map(|back| today.checked_sub_days(chrono::Days::new(back)))
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .filter(|d| !closures.contains(d))
        .map(super::typing::session_close)
        .find(|close| *close <= now)
}

/// [`plan`], plus what the daily history needs: after each session's close (and
/// `close_settle`), one quote of every watched symbol not quoted since, at
/// `Background` priority, so that its final bar is stored; with candles available, a
/// watched symbol without a year of history gets one candle call for the past
/// [`HISTORY_DAYS`](super::HISTORY_DAYS) at `NewSymbol` priority, and never another
/// once one has been fetched.
pub fn plan_with_history(
    demand: &Demand,
    history: &History,
    fetched: &Fetched,
    now: DateTime<Utc>,
    settings: &PlanSettings,
) -> Vec<Planned> {
    let mut out = plan(demand, fetched, now, settings);
    let quoted: std::collections::HashSet<String> = out
        .iter()
        .filter(|p| p.task.endpoint == Endpoint::Quote)
        .filter_map(|p| p.task.symbol.as_ref().map(|s| s.as_ref().to_owned()))
        .collect();
    let mut seen = std::collections::HashSet::new();
    let watched: Vec<&Symbol> = demand
        .symbols
        .iter()
        .map(|d| &d.symbol)
        .chain(&demand.idle)
        .chain(&history.watched)
        .filter(|s| seen.insert(s.as_ref().to_owned()))
        .collect();

    if let Some(close) = last_close(now, &history.closures)
        && now >= close + settings.close_settle
    {
        let settled = close + settings.close_settle;
        for symbol in &watched {
            let key = symbol.as_ref();
            if quoted.contains(key) {
                continue;
            }
            // Never quoted: `plan` fetches it at once as a new symbol.
            if last(fetched, key, Endpoint::Quote).is_some_and(|at| at < settled) {
                out.push(Planned {
                    task: task(Endpoint::Quote, Some(symbol)),
                    priority: Priority::Background,
                    // Before the next session opens.
                    deadline: close + Duration::hours(17),
                });
            }
        }
    }

    if settings.candles {
        let today = now.date_naive();
        for symbol in &watched {
            let key = symbol.as_ref();
            let short = history.short.iter().any(|s| s.as_ref() == key);
            if short && last(fetched, key, Endpoint::Candles).is_none() {
                out.push(Planned {
                    task: Task {
                        endpoint: Endpoint::Candles,
                        symbol: Some((*symbol).clone()),
                        from: Some(today - Duration::days(super::HISTORY_DAYS)),
                        to: Some(today),
                    },
                    priority: Priority::NewSymbol,
                    deadline: now,
                });
            }
        }
    }

    out.sort_by(|a, b| {
        (a.priority, a.deadline, rank(a.task.endpoint)).cmp(&(
            b.priority,
            b.deadline,
            rank(b.task.endpoint),
        ))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(s: &str) -> Symbol {
        Symbol::parse(s).unwrap()
    }

    fn now() -> DateTime<Utc> {
        "2026-12-01T11:50:00Z".parse().unwrap()
    }

    fn mins(m: i64) -> Duration {
        Duration::minutes(m)
    }

    /// `symbol` read by a wave due `due` from now, sent over `spread_secs`.
    fn wanted(symbol: &str, reads: &[(i64, i64, bool)]) -> SymbolDemand {
        SymbolDemand {
            symbol: sym(symbol),
            reads: reads
                .iter()
                .map(|(due_mins, spread_secs, news)| Read {
                    due: now() + mins(*due_mins),
                    read_until: now() + mins(*due_mins) + Duration::seconds(*spread_secs),
                    news: *news,
                })
                .collect(),
        }
    }

    /// Everything already fetched `ago` minutes before now.
    fn all_fetched(symbols: &[&str], ago: i64) -> Fetched {
        let mut f = Fetched::new();
        for s in symbols {
            for e in [Endpoint::Quote, Endpoint::Profile, Endpoint::CompanyNews] {
                f.insert(((*s).into(), e.as_str().into()), now() - mins(ago));
            }
        }
        f.insert((EARNINGS_KEY.into(), "earnings".into()), now() - mins(ago));
        f.insert(
            (HOLIDAYS_KEY.into(), "market_holidays".into()),
            now() - mins(ago),
        );
        f
    }

    fn calls(planned: &[Planned]) -> Vec<(Endpoint, Option<String>, Priority)> {
        planned
            .iter()
            .map(|p| {
                (
                    p.task.endpoint,
                    p.task.symbol.as_ref().map(|s| s.to_string()),
                    p.priority,
                )
            })
            .collect()
    }

    #[test]
    fn news_only_for_symbols_someone_reads_news_of_and_earnings_only_when_someone_reads_them() {
        let demand = Demand {
            symbols: vec![
                wanted("AAPL", &[(3, 10, true)]),
                wanted("MSFT", &[(3, 10, false)]),
            ],
            idle: vec![],
            earnings: None,
        };
        let planned = plan(
            &demand,
            &all_fetched(&["AAPL", "MSFT"], 90),
            now(),
            &PlanSettings::default(),
        );
        let got = calls(&planned);
        assert!(got.contains(&(Endpoint::CompanyNews, Some("AAPL".into()), Priority::Due)));
        assert!(
            !got.iter()
                .any(|c| c.0 == Endpoint::CompanyNews && c.1.as_deref() == Some("MSFT"))
        );
        assert!(
            !got.iter().any(|c| c.0 == Endpoint::Earnings),
            "nobody reads earnings: {got:?}"
        );

        let with_earnings = Demand {
            earnings: Some((now() + mins(3), now() + mins(3))),
            ..demand
        };
        let mut fetched = all_fetched(&["AAPL", "MSFT"], 90);
        fetched.insert(
            (EARNINGS_KEY.into(), "earnings".into()),
            now() - Duration::hours(13),
        );
        let got = calls(&plan(
            &with_earnings,
            &fetched,
            now(),
            &PlanSettings::default(),
        ));
        assert_eq!(
            got.iter().filter(|c| c.0 == Endpoint::Earnings).count(),
            1,
            "{got:?}"
        );
    }

    #[test]
    fn a_quote_is_fetched_as_late_as_its_freshness_allows_but_before_the_due_time() {
        // Due in 10 minutes, a 5-minute quote age: nothing yet.
        let demand = Demand {
            symbols: vec![wanted("AAPL", &[(10, 0, false)])],
            ..Demand::default()
        };
        let settings = PlanSettings::default();
        let fetched = all_fetched(&["AAPL"], 30);
        let quotes = |at: DateTime<Utc>| {
            calls(&plan(&demand, &fetched, at, &settings))
                .into_iter()
                .filter(|c| c.0 == Endpoint::Quote)
                .count()
        };
        assert_eq!(quotes(now()), 0);
        // 4 min 50 s before the due time (the margin), it is due.
        assert_eq!(quotes(now() + mins(5)), 0);
        assert_eq!(quotes(now() + mins(5) + Duration::seconds(10)), 1);
        assert_eq!(quotes(now() + mins(9)), 1);
    }

    #[test]
    fn a_long_wave_is_read_until_its_last_send() {
        // 20,000 people at 200 a second: read for 100 s after the due time, so the
        // quote is fetched 100 s later than for a lone reader (still before the due
        // time), and stays fresh until the last of them is sent.
        let settings = PlanSettings::default();
        let fetched = all_fetched(&["AAPL"], 30);
        let lone = Demand {
            symbols: vec![wanted("AAPL", &[(10, 0, false)])],
            ..Demand::default()
        };
        let wave = Demand {
            symbols: vec![wanted("AAPL", &[(10, 100, false)])],
            ..Demand::default()
        };
        let at = now() + mins(5) + Duration::seconds(30);
        let quotes = |d: &Demand| {
            plan(d, &fetched, at, &settings)
                .iter()
                .filter(|p| p.task.endpoint == Endpoint::Quote)
                .count()
        };
        assert_eq!(quotes(&lone), 1);
        assert_eq!(quotes(&wave), 0);
        let later = now() + mins(6) + Duration::seconds(50);
        let quotes_later = plan(&wave, &fetched, later, &settings)
            .iter()
            .filter(|p| p.task.endpoint == Endpoint::Quote)
            .count();
        assert_eq!(quotes_later, 1);
    }

    #[test]
    fn one_quote_serves_every_wave_within_its_freshness() {
        // Waves due in 4, 6 and 8 minutes: one fetch at 4 min - 5 min + 8 min... i.e.
        // as soon as it is fresh until the last of them, before the first.
        let demand = Demand {
            symbols: vec![wanted(
                "AAPL",
                &[(4, 0, false), (6, 0, false), (8, 0, false)],
            )],
            ..Demand::default()
        };
        let settings = PlanSettings::default();
        let planned = plan(
            &demand,
            &all_fetched(&["AAPL"], 30),
            now() + mins(3) + Duration::seconds(20),
            &settings,
        );
        let quote = planned
            .iter()
            .find(|p| p.task.endpoint == Endpoint::Quote)
            .expect("planned");
        assert_eq!(quote.deadline, now() + mins(4), "the first wave's due time");
        // Just fetched (at 3:20): fresh until 8:20, which serves all three waves.
        let mut fetched = all_fetched(&["AAPL"], 30);
        fetched.insert(
            ("AAPL".into(), "quote".into()),
            now() + mins(3) + Duration::seconds(20),
        );
        let again = plan(&demand, &fetched, now() + mins(5), &settings);
        assert!(
            !again.iter().any(|p| p.task.endpoint == Endpoint::Quote),
            "{:?}",
            calls(&again)
        );
    }

    #[test]
    fn work_comes_in_priority_then_deadline_order() {
        let demand = Demand {
            symbols: vec![
                wanted("LATE", &[(4, 0, false)]),
                wanted("SOON", &[(2, 0, false)]),
                wanted("FAR", &[(60 * 20, 0, false)]),
            ],
            idle: vec![sym("NEWBIE")],
            earnings: None,
        };
        let mut fetched = all_fetched(&["LATE", "SOON", "FAR"], 30);
        // FAR's profile is a week and a day old: a background refresh.
        fetched.insert(("FAR".into(), "profile".into()), now() - Duration::days(8));
        let got = calls(&plan(&demand, &fetched, now(), &PlanSettings::default()));
        assert_eq!(
            got,
            vec![
                (Endpoint::Quote, Some("SOON".into()), Priority::Due),
                (Endpoint::Quote, Some("LATE".into()), Priority::Due),
                (Endpoint::Quote, Some("NEWBIE".into()), Priority::NewSymbol),
                (Endpoint::Profile, Some("FAR".into()), Priority::Background),
            ]
        );
    }

    #[test]
    fn nothing_is_fetched_that_is_still_fresh_when_read() {
        let demand = Demand {
            symbols: vec![wanted("AAPL", &[(2, 30, true)])],
            idle: vec![sym("MSFT")],
            earnings: Some((now() + mins(2), now() + mins(3))),
        };
        let got = plan(
            &demand,
            &all_fetched(&["AAPL", "MSFT"], 1),
            now(),
            &PlanSettings::default(),
        );
        assert!(got.is_empty(), "{:?}", calls(&got));
    }

    #[test]
    fn profiles_refresh_weekly_each_at_its_own_time() {
        let week = Duration::days(7);
        let start: DateTime<Utc> = "2026-11-02T00:00:00Z".parse().unwrap();
        // Each symbol refreshes exactly once a week...
        for s in ["AAPL", "MSFT", "NVDA"] {
            let mut last = start;
            let mut refreshes = 0;
            let mut t = start;
            while t < start + week * 3 {
                if profile_refresh_due(s, last, t) {
                    refreshes += 1;
                    last = t;
                }
                t += Duration::hours(1);
            }
            assert_eq!(refreshes, 3, "{s}");
        }
        // ...and 700 symbols' refreshes spread over the week's days.
        let mut per_day = [0u32; 7];
        for i in 0..700 {
            let s = format!("S{i}");
            let fetched = start + week;
            let day = (1..=7 * 24)
                .find(|h| profile_refresh_due(&s, fetched, fetched + Duration::hours(*h)))
                .map(|h| h - 1)
                .map_or(6, |h| h / 24) as usize;
            per_day[day] += 1;
        }
        assert!(
            per_day.iter().all(|n| (60..=140).contains(n)),
            "{per_day:?}"
        );
    }

    #[test]
    fn the_leader_wakes_when_the_next_quote_falls_due() {
        // Due in 10 minutes, quotes 5 minutes old at most, fetched 30 minutes ago:
        // nothing now; the next fetch at 10 min - 10 s (the margin).
        let demand = Demand {
            symbols: vec![wanted("AAPL", &[(10, 0, false)])],
            ..Demand::default()
        };
        let settings = PlanSettings::default();
        let fetched = all_fetched(&["AAPL"], 30);
        assert!(plan(&demand, &fetched, now(), &settings).is_empty());
        let wake = next_wake(&demand, &fetched, now(), &settings).expect("a wake-up");
        assert_eq!(wake, now() + mins(5) + Duration::seconds(10));
        assert_eq!(
            calls(&plan(&demand, &fetched, wake, &settings)),
            vec![(Endpoint::Quote, Some("AAPL".into()), Priority::Due)]
        );
        // Nobody due: no wake-up.
        assert_eq!(
            next_wake(&Demand::default(), &fetched, now(), &settings),
            None
        );
    }

    #[test]
    fn waves_are_read_until_the_digests_due_by_then_are_sent() {
        let at = |m: i64| now() + mins(m);
        let row = |symbol: &str, due: i64, news: bool, earnings: bool| DemandInput {
            symbol: symbol.into(),
            due: at(due),
            news,
            earnings,
        };
        let rows = [
            row("AAPL", 10, false, false),
            row("AAPL", 11, true, false),
            row("MSFT", 11, false, true),
        ];
        // 20,000 people at 10 min and 100 at 11 min, 200 a second: the first wave takes
        // 100 s, so the second starts behind it at 11:40 and ends at 11:40.5.
        let counts = [(at(11), 100), (at(10), 20_000)];
        let d = demand(&rows, &counts, &["NEWB".into(), "AAPL".into()], 200.0);
        let aapl = &d.symbols[0];
        assert_eq!(aapl.symbol.as_ref(), "AAPL");
        assert_eq!(aapl.reads[0].read_until, at(10) + Duration::seconds(100));
        assert_eq!(
            aapl.reads[1].read_until,
            at(11) + Duration::milliseconds(40_500)
        );
        assert!(aapl.reads[1].news && !aapl.reads[0].news);
        assert_eq!(
            d.earnings,
            Some((at(11), at(11) + Duration::milliseconds(40_500)))
        );
        // A never-quoted symbol someone is due to read is planned with its reads, not idle.
        assert_eq!(d.idle, vec![sym("NEWB")]);
    }

    #[test]
    fn a_profile_fetched_just_before_its_slot_waits_for_the_next_one() {
        let start: DateTime<Utc> = "2026-11-02T00:00:00Z".parse().unwrap();
        // AAPL's slot: the first hour of the week in which a refresh falls due.
        let slot = (1..=7 * 24)
            .map(|h| start + Duration::hours(h))
            .find(|t| profile_refresh_due("AAPL", start, *t))
            .expect("a slot within the week");
        let fetched = slot - Duration::minutes(62);
        assert!(!profile_refresh_due(
            "AAPL",
            fetched,
            slot + Duration::minutes(1)
        ));
        assert!(!profile_refresh_due(
            "AAPL",
            fetched,
            slot + Duration::hours(20)
        ));
        assert!(profile_refresh_due(
            "AAPL",
            fetched,
            slot + Duration::days(7)
        ));
    }

    #[test]
    fn a_symbol_never_fetched_gets_its_price_and_profile_at_once() {
        let demand = Demand {
            symbols: vec![wanted("AAPL", &[(60 * 10, 0, false)])],
            ..Demand::default()
        };
        let mut fetched = all_fetched(&[], 1);
        fetched.remove(&(HOLIDAYS_KEY.to_owned(), "market_holidays".to_owned()));
        let got = calls(&plan(&demand, &fetched, now(), &PlanSettings::default()));
        assert_eq!(
            got,
            vec![
                (Endpoint::MarketHolidays, None, Priority::Due),
                (Endpoint::Quote, Some("AAPL".into()), Priority::NewSymbol),
                (Endpoint::Profile, Some("AAPL".into()), Priority::NewSymbol),
            ]
        );
    }

    mod history {
        use super::*;

        fn at(raw: &str) -> DateTime<Utc> {
            raw.parse().unwrap()
        }

        fn day(raw: &str) -> NaiveDate {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
        }

        fn history(watched: &[&str], short: &[&str]) -> History {
            History {
                watched: watched.iter().map(|s| sym(s)).collect(),
                short: short.iter().map(|s| sym(s)).collect(),
                closures: vec![day("2026-11-26")],
            }
        }

        /// Every symbol quoted at `quoted`, everything else fetched an hour before.
        fn fetched(symbols: &[&str], quoted: DateTime<Utc>) -> Fetched {
            let mut f = Fetched::new();
            for s in symbols {
                for e in [Endpoint::Profile, Endpoint::CompanyNews] {
                    f.insert(((*s).into(), e.as_str().into()), quoted);
                }
                f.insert(((*s).into(), "quote".into()), quoted);
            }
            f.insert((HOLIDAYS_KEY.into(), "market_holidays".into()), quoted);
            f
        }

        fn quotes(planned: &[Planned]) -> Vec<(String, Priority)> {
            planned
                .iter()
                .filter(|p| p.task.endpoint == Endpoint::Quote)
                .map(|p| (p.task.symbol.as_ref().unwrap().to_string(), p.priority))
                .collect()
        }

        #[test]
        fn the_last_close_skips_weekends_holidays_and_the_session_in_progress() {
            let closures = [day("2026-11-26")];
            // Wednesday 2026-11-25, 15:59 New York: Tuesday's close.
            assert_eq!(
                last_close(at("2026-11-25T20:59:00Z"), &closures),
                Some(at("2026-11-24T21:00:00Z"))
            );
            assert_eq!(
                last_close(at("2026-11-25T21:00:00Z"), &closures),
                Some(at("2026-11-25T21:00:00Z"))
            );
            // Thanksgiving (closed) and the Friday morning after: Wednesday's close.
            assert_eq!(
                last_close(at("2026-11-27T15:00:00Z"), &closures),
                Some(at("2026-11-25T21:00:00Z"))
            );
            // Sunday: Friday's close; in summer 16:00 is 20:00 UTC.
            assert_eq!(
                last_close(at("2026-07-12T12:00:00Z"), &[]),
                Some(at("2026-07-10T20:00:00Z"))
            );
        }

        #[test]
        fn every_watched_symbol_gets_one_quote_after_each_close_in_the_background() {
            let settings = PlanSettings::default();
            let watched = history(&["AAPL", "MSFT"], &[]);
            // Quoted at noon on Tuesday 2026-11-24.
            let f = fetched(&["AAPL", "MSFT"], at("2026-11-24T17:00:00Z"));
            let plan_at = |now: &str, f: &Fetched| {
                quotes(&plan_with_history(
                    &Demand::default(),
                    &watched,
                    f,
                    at(now),
                    &settings,
                ))
            };
            // Before the close (and its settling minutes): nothing.
            assert_eq!(plan_at("2026-11-24T20:59:00Z", &f), vec![]);
            assert_eq!(plan_at("2026-11-24T21:04:00Z", &f), vec![]);
            // After it, each watched symbol once, in the background.
            assert_eq!(
                plan_at("2026-11-24T21:05:00Z", &f),
                vec![
                    ("AAPL".into(), Priority::Background),
                    ("MSFT".into(), Priority::Background)
                ]
            );
            // Once fetched after the close: nothing more that evening, nor before
            // Wednesday's close; then again.
            let after = fetched(&["AAPL", "MSFT"], at("2026-11-24T21:06:00Z"));
            for now in ["2026-11-25T03:00:00Z", "2026-11-25T20:00:00Z"] {
                assert_eq!(plan_at(now, &after), vec![], "{now}");
            }
            assert_eq!(plan_at("2026-11-25T21:10:00Z", &after).len(), 2);
            // Thanksgiving has no close: Wednesday's closing quote serves until Friday's.
            let wednesday = fetched(&["AAPL", "MSFT"], at("2026-11-25T21:06:00Z"));
            for now in ["2026-11-26T22:00:00Z", "2026-11-27T20:00:00Z"] {
                assert_eq!(plan_at(now, &wednesday), vec![], "{now}");
            }
            assert_eq!(plan_at("2026-11-27T21:05:00Z", &wednesday).len(), 2);
        }

        #[test]
        fn a_symbol_read_soon_is_not_quoted_twice_for_its_close() {
            let settings = PlanSettings::default();
            let now = at("2026-11-24T21:30:00Z");
            // AAPL is due to be read in 3 minutes: `plan` fetches it for that; the close
            // needs no second call. Symbols in `demand` count as watched.
            let demand = Demand {
                symbols: vec![SymbolDemand {
                    symbol: sym("AAPL"),
                    reads: vec![Read {
                        due: now + mins(3),
                        read_until: now + mins(3),
                        news: false,
                    }],
                }],
                idle: vec![],
                earnings: None,
            };
            let got = quotes(&plan_with_history(
                &demand,
                &history(&[], &[]),
                &fetched(&["AAPL"], at("2026-11-24T17:00:00Z")),
                now,
                &settings,
            ));
            assert_eq!(got, vec![("AAPL".into(), Priority::Due)]);
        }

        #[test]
        fn a_symbol_without_history_gets_one_year_of_candles_when_the_plan_has_them() {
            let now = at("2026-11-24T15:00:00Z");
            let f = fetched(&["AAPL", "MSFT"], now - mins(1));
            let h = history(&["AAPL", "MSFT"], &["MSFT"]);
            let candles = |settings: &PlanSettings, f: &Fetched| {
                plan_with_history(&Demand::default(), &h, f, now, settings)
                    .into_iter()
                    .filter(|p| p.task.endpoint == Endpoint::Candles)
                    .collect::<Vec<_>>()
            };
            // Without candles in the plan: never.
            assert!(candles(&PlanSettings::default(), &f).is_empty());
            let on = PlanSettings {
                candles: true,
                ..PlanSettings::default()
            };
            let got = candles(&on, &f);
            assert_eq!(got.len(), 1, "only the symbol without history");
            assert_eq!(got[0].task.symbol.as_ref().unwrap().as_ref(), "MSFT");
            assert_eq!(got[0].priority, Priority::NewSymbol);
            assert_eq!(got[0].task.to, Some(day("2026-11-24")));
            assert_eq!(got[0].task.from, Some(day("2025-11-24")));
            // Once fetched, never again, even if the history is still short (a young
            // listing has fewer sessions than a year).
            let mut fetched_once = f.clone();
            fetched_once.insert(("MSFT".into(), "candles".into()), now - Duration::days(30));
            assert!(candles(&on, &fetched_once).is_empty());
        }
    }
}
