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

use std::net::{Ipv4Addr, SocketAddr};

use axum::Json;
use axum::Router;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::America::New_York;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

// ---------------------------------------------------------------------------------
// The symbol table
// ---------------------------------------------------------------------------------

/// Exchange name Finnhub gives Nasdaq-listed companies in `/stock/profile2`.
const NASDAQ: &str = "NASDAQ NMS - GLOBAL MARKET";
/// Exchange name Finnhub gives NYSE-listed companies in `/stock/profile2`.
const NYSE: &str = "NEW YORK STOCK EXCHANGE, INC.";

/// One company the sample server knows about.
///
/// The figures are rounded, real-looking values (late 2025), not live data; prices
/// wander around `base_price` from day to day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleSymbol {
    /// Ticker as Finnhub writes it, e.g. `BRK.B`.
    pub symbol: &'static str,
    /// Company name as in Finnhub's profile (`Apple Inc`).
    pub name: &'static str,
    /// Listing exchange, in Finnhub's spelling.
    pub exchange: &'static str,
    /// Finnhub's industry classification (`finnhubIndustry`).
    pub industry: &'static str,
    /// Listing date, `YYYY-MM-DD`.
    pub ipo: &'static str,
    /// The price, in USD, that daily prices wander around.
    pub base_price: f64,
    /// Shares outstanding, in millions (Finnhub's unit for `shareOutstanding`).
    pub shares_outstanding: f64,
}

const fn sym(
    symbol: &'static str,
    name: &'static str,
    exchange: &'static str,
    industry: &'static str,
    ipo: &'static str,
    base_price: f64,
    shares_outstanding: f64,
) -> SampleSymbol {
    SampleSymbol {
        symbol,
        name,
        exchange,
        industry,
        ipo,
        base_price,
        shares_outstanding,
    }
}

/// Every symbol the sample server has data for, in a fixed order.
///
/// Append only: a symbol's position is part of its news ids (see `news_id`), so
/// reordering or removing entries would change ids that a database may already hold.
// One row per company reads better than rustfmt's one field per line.
#[rustfmt::skip]
pub const SAMPLE_SYMBOLS: &[SampleSymbol] = &[
    sym("AAPL", "Apple Inc", NASDAQ, "Technology", "1980-12-12", 265.0, 14_840.0),
    sym("MSFT", "Microsoft Corp", NASDAQ, "Technology", "1986-03-13", 480.0, 7_433.0),
    sym("GOOGL", "Alphabet Inc", NASDAQ, "Media", "2004-08-19", 300.0, 12_100.0),
    sym("AMZN", "Amazon.com Inc", NASDAQ, "Retail", "1997-05-15", 230.0, 10_600.0),
    sym("NVDA", "NVIDIA Corp", NASDAQ, "Semiconductors", "1999-01-22", 180.0, 24_400.0),
    sym("META", "Meta Platforms Inc", NASDAQ, "Media", "2012-05-18", 640.0, 2_520.0),
    sym("TSLA", "Tesla Inc", NASDAQ, "Automobiles", "2010-06-29", 420.0, 3_220.0),
    sym("BRK.B", "Berkshire Hathaway Inc", NYSE, "Insurance", "1996-05-09", 500.0, 2_157.0),
    sym("JPM", "JPMorgan Chase & Co", NYSE, "Banking", "1980-03-17", 305.0, 2_780.0),
    sym("V", "Visa Inc", NYSE, "Financial Services", "2008-03-19", 340.0, 1_940.0),
    sym("JNJ", "Johnson & Johnson", NYSE, "Pharmaceuticals", "1944-09-25", 200.0, 2_407.0),
    sym("WMT", "Walmart Inc", NASDAQ, "Retail", "1972-08-25", 110.0, 7_990.0),
    sym("PG", "Procter & Gamble Co", NYSE, "Consumer products", "1950-03-22", 150.0, 2_340.0),
    sym("XOM", "Exxon Mobil Corp", NYSE, "Energy", "1920-01-02", 117.0, 4_310.0),
    sym("MA", "Mastercard Inc", NYSE, "Financial Services", "2006-05-25", 560.0, 910.0),
    sym("HD", "Home Depot Inc", NYSE, "Retail", "1981-09-22", 360.0, 994.0),
    sym("KO", "Coca-Cola Co", NYSE, "Beverages", "1919-09-05", 70.0, 4_300.0),
    sym("PEP", "PepsiCo Inc", NASDAQ, "Beverages", "1972-06-01", 148.0, 1_372.0),
    sym("DIS", "Walt Disney Co", NYSE, "Media", "1957-11-12", 110.0, 1_800.0),
    sym("NFLX", "Netflix Inc", NASDAQ, "Media", "2002-05-23", 105.0, 4_230.0),
    sym("INTC", "Intel Corp", NASDAQ, "Semiconductors", "1971-10-13", 38.0, 4_370.0),
    sym("AMD", "Advanced Micro Devices Inc", NASDAQ, "Semiconductors", "1972-09-27", 220.0, 1_620.0),
    sym("CSCO", "Cisco Systems Inc", NASDAQ, "Communications", "1990-02-16", 77.0, 3_960.0),
    sym("ORCL", "Oracle Corp", NYSE, "Technology", "1986-03-12", 200.0, 2_810.0),
    sym("IBM", "International Business Machines Corp", NYSE, "Technology", "1915-11-11", 300.0, 930.0),
    sym("BA", "Boeing Co", NYSE, "Aerospace & Defense", "1962-01-02", 200.0, 756.0),
    sym("NKE", "Nike Inc", NYSE, "Textiles, Apparel & Luxury Goods", "1980-12-02", 65.0, 1_480.0),
    sym("MCD", "McDonald's Corp", NYSE, "Hotels, Restaurants & Leisure", "1965-04-21", 305.0, 714.0),
    sym("COST", "Costco Wholesale Corp", NASDAQ, "Retail", "1985-12-05", 900.0, 443.0),
    sym("CRM", "Salesforce Inc", NYSE, "Technology", "2004-06-23", 240.0, 957.0),
    sym("ADBE", "Adobe Inc", NASDAQ, "Technology", "1986-08-20", 340.0, 425.0),
    sym("PYPL", "PayPal Holdings Inc", NASDAQ, "Financial Services", "2015-07-06", 62.0, 970.0),
    sym("T", "AT&T Inc", NYSE, "Telecommunication", "1983-11-21", 25.0, 7_170.0),
    sym("VZ", "Verizon Communications Inc", NYSE, "Telecommunication", "1983-11-21", 41.0, 4_216.0),
    sym("PFE", "Pfizer Inc", NYSE, "Pharmaceuticals", "1944-01-03", 25.0, 5_690.0),
    sym("MRK", "Merck & Co Inc", NYSE, "Pharmaceuticals", "1946-05-27", 95.0, 2_500.0),
];

/// The table entry (and its position, which news ids are built from) for a symbol.
/// Lenient on case and surrounding blanks, so `aapl` finds `AAPL`.
fn lookup(symbol: &str) -> Option<(usize, &'static SampleSymbol)> {
    let wanted = symbol.trim();
    SAMPLE_SYMBOLS
        .iter()
        .enumerate()
        .find(|(_, s)| s.symbol.eq_ignore_ascii_case(wanted))
}

// ---------------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------------

/// SHA-256 of a label: the only source of "randomness" here, so every value is a pure
/// function of its label and identical across runs and machines.
fn digest(label: &str) -> [u8; 32] {
    Sha256::digest(label.as_bytes()).into()
}

/// The `lane`-th (0..4) 64-bit lane of a digest as a number in `[0, 1)`.
fn unit(bytes: &[u8; 32], lane: usize) -> f64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[lane * 8..lane * 8 + 8]);
    // The top 53 bits fill an f64 mantissa exactly, so the result is exact and < 1.
    (u64::from_be_bytes(word) >> 11) as f64 / (1u64 << 53) as f64
}

/// The `lane`-th 64-bit lane of a digest, for picking among a few choices.
fn pick(bytes: &[u8; 32], lane: usize, choices: usize) -> usize {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[lane * 8..lane * 8 + 8]);
    (u64::from_be_bytes(word) % choices.max(1) as u64) as usize
}

fn ymd(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

// ---------------------------------------------------------------------------------
// The NYSE calendar
// ---------------------------------------------------------------------------------

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
fn nyse_holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
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

fn is_trading_day(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
        && !nyse_holidays(date.year()).iter().any(|(d, _)| *d == date)
}

/// Weekends plus holidays never make more than four closed days in a row; the bound
/// only keeps a pathological date (the ends of chrono's range) from looping.
const MAX_CLOSED_RUN: usize = 10;

/// The last trading day on or before `date`.
fn session_on_or_before(date: NaiveDate) -> NaiveDate {
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
fn previous_session(session: NaiveDate) -> NaiveDate {
    session.pred_opt().map_or(session, session_on_or_before)
}

/// The first trading day on or after `date`.
fn session_on_or_after(date: NaiveDate) -> NaiveDate {
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
fn new_york_timestamp(date: NaiveDate, time: NaiveTime) -> i64 {
    let local = date.and_time(time);
    match New_York.from_local_datetime(&local).earliest() {
        Some(at) => at.timestamp(),
        None => local.and_utc().timestamp() + 5 * 3600,
    }
}

fn new_york_date(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&New_York).date_naive()
}

const MARKET_CLOSE: NaiveTime = match NaiveTime::from_hms_opt(16, 0, 0) {
    Some(time) => time,
    None => panic!("16:00 is a valid time"),
};

// ---------------------------------------------------------------------------------
// Prices
// ---------------------------------------------------------------------------------

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
struct SampleQuote {
    c: f64,
    d: Option<f64>,
    dp: Option<f64>,
    h: f64,
    l: f64,
    o: f64,
    pc: f64,
    t: i64,
}

/// The quote for the trading session on `date`, or for the last one before it when the
/// market was closed that day (a weekend's quote is Friday's, as on Finnhub).
fn quote_on(symbol: &SampleSymbol, date: NaiveDate) -> SampleQuote {
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
fn latest_closed_session(now: DateTime<Utc>) -> NaiveDate {
    let today = new_york_date(now);
    let session = session_on_or_before(today);
    if session == today && now.timestamp() < new_york_timestamp(today, MARKET_CLOSE) {
        previous_session(today)
    } else {
        session
    }
}

// ---------------------------------------------------------------------------------
// News
// ---------------------------------------------------------------------------------

/// Shown as the `source` of every article, so no reader mistakes it for real news.
const NEWS_SOURCE: &str = "Quotidian sample data";
/// Finnhub's free plan serves about a year of news; we serve a short window because a
/// digest only ever asks for the last few days, and it bounds the response size.
const MAX_NEWS_DAYS: u64 = 20;
/// No sample news before this date; keeps news ids positive whatever the caller asks.
const NEWS_EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(date) => date,
    None => panic!("1970-01-01 is a valid date"),
};
/// Slot of general news in the id scheme; symbols use slots 0..GENERAL_NEWS_SLOT.
const GENERAL_NEWS_SLOT: i64 = 249;
/// At most this many articles per slot per day, also part of the id scheme.
const ITEMS_PER_SLOT: i64 = 4;

const COMPANY_HEADLINES: &[&str] = &[
    "{name} ({symbol}) schedules investor day",
    "Analysts revisit price targets on {name}",
    "{name} files routine disclosure with regulators",
    "What the latest {industry} data could mean for {name}",
    "{name} announces a new product partnership",
    "Options traders position ahead of {name} earnings",
    "{name} executive to speak at an industry conference",
    "Fund managers adjust {symbol} holdings, filings show",
    "{name} outlines long-term goals in annual report",
    "{symbol} volume in focus as {industry} names move",
];

const GENERAL_HEADLINES: &[&str] = &[
    "Stocks edge higher as investors weigh economic data",
    "Treasury yields steady ahead of Federal Reserve remarks",
    "Oil prices slip on supply outlook",
    "Tech shares lead a mixed session on Wall Street",
    "Dollar firms against major currencies",
    "Small caps lag as traders take profits",
    "Investors look ahead to a busy week of earnings",
    "Consumer sentiment survey draws market attention",
];

/// One article in Finnhub's `/company-news` and `/news` shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct NewsItem {
    category: &'static str,
    datetime: i64,
    headline: String,
    id: i64,
    image: &'static str,
    related: String,
    source: &'static str,
    summary: String,
    url: String,
}

/// A news id unique by construction (day, slot, item), so it is stable across runs and
/// never collides, unlike a truncated hash.
fn news_id(date: NaiveDate, slot: i64, item: i64) -> i64 {
    let day = i64::from(date.num_days_from_ce() - NEWS_EPOCH.num_days_from_ce());
    (day * 1000) + slot * ITEMS_PER_SLOT + item
}

/// A publication time between 06:00 and 20:00 New York time on `date`.
fn publication_time(date: NaiveDate, fraction: f64) -> i64 {
    let minute = 6 * 60 + (fraction * (14.0 * 60.0)) as u32;
    let time = NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap_or(MARKET_CLOSE);
    new_york_timestamp(date, time)
}

fn sample_url(id: i64) -> String {
    format!("https://example.com/quotidian-sample/news/{id}")
}

/// One symbol's articles on one day: one to three, published by `now` at the latest.
fn company_news_on(
    index: usize,
    symbol: &SampleSymbol,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Vec<NewsItem> {
    let bytes = digest(&format!("{}|{}|news", symbol.symbol, ymd(date)));
    let count = 1 + pick(&bytes, 0, 3);
    let fill = |template: &str| {
        template
            .replace("{name}", symbol.name)
            .replace("{symbol}", symbol.symbol)
            .replace("{industry}", &symbol.industry.to_lowercase())
    };
    (0..count)
        .filter_map(|k| {
            let item = digest(&format!("{}|{}|news|{k}", symbol.symbol, ymd(date)));
            let datetime = publication_time(date, unit(&item, 0));
            if datetime > now.timestamp() {
                return None;
            }
            let id = news_id(date, index as i64, k as i64);
            let headline = fill(COMPANY_HEADLINES[pick(&item, 1, COMPANY_HEADLINES.len())]);
            Some(NewsItem {
                category: "company",
                datetime,
                headline: format!("[Sample] {headline}"),
                id,
                image: "",
                related: symbol.symbol.to_owned(),
                source: NEWS_SOURCE,
                summary: format!(
                    "Generated sample data from Quotidian's offline demo mode: this is not \
                     real news about {} ({}), and none of it happened.",
                    symbol.name, symbol.symbol
                ),
                url: sample_url(id),
            })
        })
        .collect()
}

/// `symbol`'s articles from `from` to `to` (inclusive), newest first. Only the last
/// `MAX_NEWS_DAYS` days up to today are served, whatever range is asked for.
fn company_news(
    index: usize,
    symbol: &SampleSymbol,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Vec<NewsItem> {
    let to = to.min(new_york_date(now));
    let earliest = to
        .checked_sub_days(Days::new(MAX_NEWS_DAYS - 1))
        .unwrap_or(NaiveDate::MIN);
    let from = from.max(earliest).max(NEWS_EPOCH);
    let mut items = Vec::new();
    let mut day = from;
    while day <= to {
        items.extend(company_news_on(index, symbol, day, now));
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    sort_newest_first(&mut items);
    items
}

/// General market news: two articles a day for the last three days, newest first.
fn general_news(now: DateTime<Utc>) -> Vec<NewsItem> {
    let today = new_york_date(now);
    let mut items = Vec::new();
    for back in 0..3 {
        let Some(date) = today.checked_sub_days(Days::new(back)) else {
            continue;
        };
        if date < NEWS_EPOCH {
            continue;
        }
        for k in 0..2 {
            let bytes = digest(&format!("general|{}|{k}", ymd(date)));
            let datetime = publication_time(date, unit(&bytes, 0));
            if datetime > now.timestamp() {
                continue;
            }
            let id = news_id(date, GENERAL_NEWS_SLOT, k);
            let headline = GENERAL_HEADLINES[pick(&bytes, 1, GENERAL_HEADLINES.len())];
            items.push(NewsItem {
                category: "general",
                datetime,
                headline: format!("[Sample] {headline}"),
                id,
                image: "",
                related: String::new(),
                source: NEWS_SOURCE,
                summary: "Generated sample data from Quotidian's offline demo mode: this is \
                          not real market news."
                    .to_owned(),
                url: sample_url(id),
            });
        }
    }
    sort_newest_first(&mut items);
    items
}

fn sort_newest_first(items: &mut [NewsItem]) {
    items.sort_by(|a, b| b.datetime.cmp(&a.datetime).then(b.id.cmp(&a.id)));
}

// ---------------------------------------------------------------------------------
// Earnings
// ---------------------------------------------------------------------------------

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
struct Earning {
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
fn earnings_calendar(
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

// ---------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------

/// Where the sample server takes "now" from: the system clock in service, a fixed
/// instant in tests and demos that must give the same answers every time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The current time.
    System,
    /// Always this instant.
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// The clock's current instant.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(at) => *at,
        }
    }
}

/// The sample Finnhub API at the root (`/quote`, `/stock/profile2`, ...), on the system
/// clock. Point the Finnhub client's base URL at wherever this is served.
pub fn router() -> Router {
    router_with_clock(Clock::System)
}

/// [`router`] with "now" taken from `clock`, so answers can be pinned to a date.
pub fn router_with_clock(clock: Clock) -> Router {
    Router::new()
        .route("/quote", get(quote))
        .route("/stock/profile2", get(profile))
        .route("/company-news", get(company_news_handler))
        .route("/news", get(general_news_handler))
        .route("/search", get(search))
        .route("/calendar/earnings", get(earnings))
        .route("/stock/market-holiday", get(market_holidays))
        .fallback(not_found)
        // Outermost, so an unknown path without a token is a 401 as on Finnhub.
        .layer(middleware::from_fn(require_token))
        .with_state(clock)
}

/// Serves [`router`] on `listener` until the task is dropped or the listener fails.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router()).await
}

/// Binds `127.0.0.1:0` and serves [`router`] in the background. Returns the address
/// (use `http://{addr}` as the Finnhub base URL) and the serving task; aborting the
/// task stops the server.
pub async fn spawn_local() -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    spawn_local_with_clock(Clock::System).await
}

/// [`spawn_local`] with "now" taken from `clock`.
pub async fn spawn_local_with_clock(clock: Clock) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let app = router_with_clock(clock);
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "sample market data server stopped");
        }
    });
    Ok((addr, task))
}

/// A refused request, answered in Finnhub's error shape: a 4xx and `{"error": "..."}`.
#[derive(Debug)]
struct Rejection {
    status: StatusCode,
    message: String,
}

impl Rejection {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Rejection {
            status,
            message: message.into(),
        }
    }

    fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

type Answer = Result<Response, Rejection>;

async fn not_found() -> Rejection {
    Rejection::new(StatusCode::NOT_FOUND, "Not found.")
}

/// Query parameters, decoded leniently: bad percent-encoding is replaced rather than
/// refused, so no query string can produce a non-JSON rejection. The first occurrence
/// of a repeated name wins.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: Option<&str>) -> Self {
        Params(
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The trimmed value of `name`, if present and not blank.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The date in `name`, if given; a value that is not `YYYY-MM-DD` is refused.
    fn date(&self, name: &str) -> Result<Option<NaiveDate>, Rejection> {
        self.get(name)
            .map(|raw| {
                parse_date(raw).ok_or_else(|| {
                    Rejection::unprocessable(format!(
                        "Wrong date format for '{name}'. Use YYYY-MM-DD."
                    ))
                })
            })
            .transpose()
    }

    fn symbol(&self) -> Result<&str, Rejection> {
        self.get("symbol")
            .ok_or_else(|| Rejection::unprocessable("Missing required parameter: symbol."))
    }
}

/// Strictly `YYYY-MM-DD`: chrono alone would also take `2026-1-5` or `+2026-01-05`.
fn parse_date(raw: &str) -> Option<NaiveDate> {
    let shaped = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    shaped
        .then(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok())
        .flatten()
}

/// Any non-blank `token`, in the query (how the Finnhub client sends it) or in the
/// `X-Finnhub-Token` header (which Finnhub also accepts).
async fn require_token(request: Request, next: Next) -> Response {
    let in_query = Params::parse(request.uri().query()).get("token").is_some();
    let in_header = header_token(request.headers());
    if in_query || in_header {
        next.run(request).await
    } else {
        Rejection::new(StatusCode::UNAUTHORIZED, "Invalid API key.").into_response()
    }
}

fn header_token(headers: &HeaderMap) -> bool {
    headers
        .get("x-finnhub-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().is_empty())
}

/// `GET /quote?symbol=`
async fn quote(State(clock): State<Clock>, RawQuery(raw): RawQuery) -> Answer {
    let params = Params::parse(raw.as_deref());
    Ok(match lookup(params.symbol()?) {
        Some((_, entry)) => {
            Json(quote_on(entry, latest_closed_session(clock.now()))).into_response()
        }
        // Finnhub's answer for a symbol it has no data for, integers and all.
        None => Json(json!({
            "c": 0, "d": null, "dp": null, "h": 0, "l": 0, "o": 0, "pc": 0, "t": 0
        }))
        .into_response(),
    })
}

/// `GET /stock/profile2?symbol=`
async fn profile(State(clock): State<Clock>, RawQuery(raw): RawQuery) -> Answer {
    let params = Params::parse(raw.as_deref());
    let Some((index, entry)) = lookup(params.symbol()?) else {
        return Ok(Json(json!({})).into_response());
    };
    let price = quote_on(entry, latest_closed_session(clock.now())).c;
    Ok(Json(json!({
        "country": "US",
        "currency": "USD",
        "exchange": entry.exchange,
        "finnhubIndustry": entry.industry,
        "ipo": entry.ipo,
        "logo": "",
        "marketCapitalization": round_to(price * entry.shares_outstanding, 2),
        "name": entry.name,
        // 555-0100..555-0199 are reserved for fiction: never someone's real number.
        "phone": format!("1800555{:04}", 100 + index),
        "shareOutstanding": entry.shares_outstanding,
        "ticker": entry.symbol,
        "weburl": format!(
            "https://example.com/quotidian-sample/company/{}",
            entry.symbol.to_ascii_lowercase()
        ),
    }))
    .into_response())
}

/// `GET /company-news?symbol=&from=&to=`: all three are required, as on Finnhub.
async fn company_news_handler(State(clock): State<Clock>, RawQuery(raw): RawQuery) -> Answer {
    let params = Params::parse(raw.as_deref());
    let symbol = params.symbol()?;
    let (Some(from), Some(to)) = (params.date("from")?, params.date("to")?) else {
        return Err(Rejection::unprocessable(
            "Missing required parameters: from and to (YYYY-MM-DD).",
        ));
    };
    let items = match lookup(symbol) {
        Some((index, entry)) => company_news(index, entry, from, to, clock.now()),
        None => Vec::new(),
    };
    Ok(Json(items).into_response())
}

/// `GET /news?category=general[&minId=]`
async fn general_news_handler(State(clock): State<Clock>, RawQuery(raw): RawQuery) -> Answer {
    let params = Params::parse(raw.as_deref());
    let category = params
        .get("category")
        .ok_or_else(|| Rejection::unprocessable("Missing required parameter: category."))?;
    let min_id = params
        .get("minId")
        .map(str::parse::<i64>)
        .transpose()
        .map_err(|_| Rejection::unprocessable("Wrong format for 'minId'. Use an integer."))?
        .unwrap_or(0);
    // Only general news is generated; Finnhub's other categories (forex, crypto,
    // merger) answer an empty list rather than pretend.
    let items: Vec<NewsItem> = if category.eq_ignore_ascii_case("general") {
        general_news(clock.now())
            .into_iter()
            .filter(|item| item.id > min_id)
            .collect()
    } else {
        Vec::new()
    };
    Ok(Json(items).into_response())
}

/// `GET /search?q=`: a blank or missing query matches nothing.
async fn search(RawQuery(raw): RawQuery) -> Answer {
    let params = Params::parse(raw.as_deref());
    let query = params.get("q").unwrap_or_default().to_lowercase();
    let mut hits: Vec<(u8, &SampleSymbol)> = Vec::new();
    if !query.is_empty() {
        for entry in SAMPLE_SYMBOLS {
            let ticker = entry.symbol.to_lowercase();
            // Best match first: the exact ticker, then ticker prefixes, then names.
            let rank = if ticker == query {
                0
            } else if ticker.starts_with(&query) {
                1
            } else if entry.name.to_lowercase().contains(&query) {
                2
            } else {
                continue;
            };
            hits.push((rank, entry));
        }
    }
    hits.sort_by_key(|(rank, _)| *rank);
    let result: Vec<_> = hits
        .iter()
        .map(|(_, entry)| {
            json!({
                // Finnhub's search descriptions are upper case.
                "description": entry.name.to_uppercase(),
                "displaySymbol": entry.symbol,
                "symbol": entry.symbol,
                "type": "Common Stock",
            })
        })
        .collect();
    Ok(Json(json!({ "count": result.len(), "result": result })).into_response())
}

/// `GET /calendar/earnings?from=&to=[&symbol=]`. Finnhub treats every parameter as
/// optional; missing dates default to the coming 30 days.
async fn earnings(State(clock): State<Clock>, RawQuery(raw): RawQuery) -> Answer {
    let params = Params::parse(raw.as_deref());
    let today = new_york_date(clock.now());
    let from = params.date("from")?.unwrap_or(today);
    let to = match params.date("to")? {
        Some(to) => to,
        None => from.checked_add_days(Days::new(30)).unwrap_or(from),
    };
    let symbols: Vec<(usize, &SampleSymbol)> = match params.get("symbol") {
        Some(symbol) => lookup(symbol).into_iter().collect(),
        None => SAMPLE_SYMBOLS.iter().enumerate().collect(),
    };
    let calendar = earnings_calendar(&symbols, from, to, today);
    Ok(Json(json!({ "earningsCalendar": calendar })).into_response())
}

/// The years `/stock/market-holiday` lists: 2025 to 2027 at least, and always through
/// the year after "now", since Finnhub lists coming holidays as well as recent ones.
/// The cap only bounds the answer if the clock is absurd.
fn holiday_years(today: NaiveDate) -> std::ops::RangeInclusive<i32> {
    2025..=today.year().saturating_add(1).clamp(2027, 2100)
}

/// `GET /stock/market-holiday?exchange=US`
async fn market_holidays(State(clock): State<Clock>, RawQuery(raw): RawQuery) -> Answer {
    let params = Params::parse(raw.as_deref());
    let exchange = params
        .get("exchange")
        .ok_or_else(|| Rejection::unprocessable("Missing required parameter: exchange."))?;
    if !exchange.eq_ignore_ascii_case("US") {
        // Only the US calendar is modelled; other exchanges get an empty list rather
        // than made-up closures.
        let body = json!({ "data": [], "exchange": exchange, "timezone": "" });
        return Ok(Json(body).into_response());
    }
    let mut data: Vec<_> = holiday_years(new_york_date(clock.now()))
        .flat_map(nyse_holidays)
        .collect();
    // Newest first, the order Finnhub lists them in.
    data.sort_by_key(|(date, _)| std::cmp::Reverse(*date));
    let data: Vec<_> = data
        .into_iter()
        .map(|(date, name)| json!({ "atDate": ymd(date), "eventName": name, "tradingHour": "" }))
        .collect();
    let body = json!({ "data": data, "exchange": "US", "timezone": "America/New_York" });
    Ok(Json(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
    }

    fn days(from: NaiveDate, count: u64) -> impl Iterator<Item = NaiveDate> {
        (0..count).map(move |n| from + Days::new(n))
    }

    #[test]
    fn the_symbol_table_is_well_formed() {
        assert!(SAMPLE_SYMBOLS.len() >= 36);
        // News ids give each symbol a slot below the general-news slot.
        assert!((SAMPLE_SYMBOLS.len() as i64) < GENERAL_NEWS_SLOT);
        for (i, entry) in SAMPLE_SYMBOLS.iter().enumerate() {
            assert!(
                SAMPLE_SYMBOLS[..i].iter().all(|s| s.symbol != entry.symbol),
                "{} is listed twice",
                entry.symbol
            );
            assert!([NASDAQ, NYSE].contains(&entry.exchange), "{}", entry.symbol);
            assert!(parse_date(entry.ipo).is_some(), "{}", entry.symbol);
            assert!(entry.base_price > 0.0 && entry.shares_outstanding > 0.0);
            assert_eq!(lookup(&entry.symbol.to_lowercase()).unwrap().1, entry);
        }
    }

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

    #[test]
    fn news_ids_are_unique_and_news_is_capped_to_the_past() {
        let now = DateTime::parse_from_rfc3339("2026-03-04T15:00:00Z")
            .unwrap()
            .to_utc();
        let mut ids = std::collections::HashSet::new();
        for (index, entry) in SAMPLE_SYMBOLS.iter().enumerate() {
            let items = company_news(index, entry, date("2000-01-01"), date("2030-01-01"), now);
            assert!(
                items.len() >= MAX_NEWS_DAYS as usize - 1,
                "{}",
                entry.symbol
            );
            assert!(items.len() <= 3 * MAX_NEWS_DAYS as usize);
            for item in &items {
                assert!(item.datetime <= now.timestamp());
                assert!(ids.insert(item.id), "duplicate id {}", item.id);
            }
        }
        for item in general_news(now) {
            assert!(ids.insert(item.id), "duplicate id {}", item.id);
        }
    }

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

    #[test]
    fn dates_are_parsed_strictly() {
        assert_eq!(parse_date("2026-01-05"), Some(date("2026-01-05")));
        for bad in [
            "2026-1-5",
            "+2026-01-05",
            "2026-02-30",
            "20260105",
            "",
            "2026-01-05x",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
