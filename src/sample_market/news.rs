//! Company and general news: a few labelled sample articles a day.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, Utc};
use serde::Serialize;

use super::calendar::{MARKET_CLOSE, new_york_date, new_york_timestamp};
use super::randomness::{digest, pick, unit};
use super::symbols::SampleSymbol;
use super::ymd;

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
pub(super) const GENERAL_NEWS_SLOT: i64 = 249;
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
pub(super) struct NewsItem {
    category: &'static str,
    datetime: i64,
    headline: String,
    pub(super) id: i64,
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
pub(super) fn company_news(
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
pub(super) fn general_news(now: DateTime<Utc>) -> Vec<NewsItem> {
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
#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_market::symbols::SAMPLE_SYMBOLS;
    use crate::sample_market::test_dates::date;

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
}
