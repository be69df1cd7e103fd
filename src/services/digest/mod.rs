//! The digest: what one person gets on one day, composed from the typed market data.
//!
//! Composition is a pure function of its input (`compose`), rendered by compiled,
//! auto-escaping askama templates, so the preview, the sent email and the history show
//! the same thing for the same data.

pub mod compose;
pub mod delivery;
pub mod history;
pub mod reconcile;
pub mod schedule;

use std::collections::{HashMap, HashSet};

use anyhow::Context as _;
use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::Result;
use crate::domain::CurrentUser;
use crate::domain::market::{EarningRow, NewsRow, ProfileRow, QuoteRow};
use crate::repositories::{digest, preferences, watchlist};
use crate::state::AppState;
pub use compose::{Composed, DigestInput, TickerInput, compose};

/// News older than this is not "from the last day".
const NEWS_WINDOW_HOURS: i64 = 24;
/// A quote older than this many days is too stale to show as today's.
const QUOTE_MAX_AGE_DAYS: i64 = 4;
const EARNINGS_HORIZON_DAYS: i64 = 7;

/// The market data behind a batch of digests, read once for all of them.
#[derive(Debug, Default)]
pub struct MarketSnapshot {
    quotes: HashMap<String, (QuoteRow, bool)>,
    profiles: HashMap<String, ProfileRow>,
    news: HashMap<String, Vec<NewsRow>>,
    earnings: HashMap<String, Vec<EarningRow>>,
}

impl MarketSnapshot {
    /// Reads what digests for local dates `first..=last` can show for `symbols`.
    pub async fn load(
        state: &AppState,
        symbols: &[String],
        now: DateTime<Utc>,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<Self> {
        if symbols.is_empty() {
            return Ok(Self::default());
        }
        let db = &state.db;
        let quotes =
            digest::latest_quotes(db, symbols, first - Duration::days(QUOTE_MAX_AGE_DAYS)).await?;
        let profiles = digest::profiles(db, symbols).await?;
        let news =
            digest::recent_news(db, symbols, now - Duration::hours(NEWS_WINDOW_HOURS)).await?;
        let earnings = digest::earnings_between(
            db,
            symbols,
            first,
            last + Duration::days(EARNINGS_HORIZON_DAYS),
        )
        .await?;
        let mut snapshot = Self {
            quotes: quotes
                .into_iter()
                .map(|(q, sample)| (q.symbol.clone(), (q, sample)))
                .collect(),
            profiles: profiles
                .into_iter()
                .map(|p| (p.symbol.clone(), p))
                .collect(),
            ..Self::default()
        };
        for item in news {
            snapshot
                .news
                .entry(item.symbol.clone())
                .or_default()
                .push(item);
        }
        for e in earnings {
            snapshot
                .earnings
                .entry(e.symbol.clone())
                .or_default()
                .push(e);
        }
        Ok(snapshot)
    }

    /// One person's digest input for `local_date`.
    pub fn input(&self, request: &InputRequest<'_>) -> DigestInput {
        let oldest_quote = request.local_date - Duration::days(QUOTE_MAX_AGE_DAYS);
        let horizon = request.local_date + Duration::days(EARNINGS_HORIZON_DAYS);
        let mut any_sample = false;
        let tickers = request
            .symbols
            .iter()
            .map(|symbol| {
                let quote = self
                    .quotes
                    .get(symbol)
                    .filter(|(q, _)| q.trading_day >= oldest_quote)
                    .map(|(q, sample)| {
                        any_sample |= *sample;
                        q.clone()
                    });
                TickerInput {
                    symbol: symbol.clone(),
                    profile: self.profiles.get(symbol).cloned(),
                    quote,
                    news: if request.include_news {
                        self.news.get(symbol).cloned().unwrap_or_default()
                    } else {
                        Vec::new()
                    },
                    next_earnings: if request.include_earnings {
                        self.earnings.get(symbol).and_then(|rows| {
                            rows.iter()
                                .find(|e| {
                                    e.report_date >= request.local_date && e.report_date <= horizon
                                })
                                .cloned()
                        })
                    } else {
                        None
                    },
                }
            })
            .collect();
        DigestInput {
            local_date: request.local_date,
            sample: request.sample_source || any_sample,
            tickers,
            unsubscribe_url: request.unsubscribe_url.clone(),
        }
    }
}

/// Whose digest, for which day, with what.
pub struct InputRequest<'a> {
    pub local_date: NaiveDate,
    pub symbols: &'a [String],
    pub include_news: bool,
    pub include_earnings: bool,
    /// The data source is the offline sample source.
    pub sample_source: bool,
    pub unsubscribe_url: Option<String>,
}

/// The unsubscribe page for a person, as linked from their digests.
pub fn unsubscribe_url(state: &AppState, user_id: uuid::Uuid) -> String {
    format!(
        "{}/unsubscribe?token={}",
        state.config.server.public_base(),
        state.links.unsubscribe_token(user_id)
    )
}

/// Gathers a user's digest input from the database as of now.
pub async fn input_for(state: &AppState, user_id: uuid::Uuid) -> Result<DigestInput> {
    let prefs = preferences::get(&state.db, user_id)
        .await?
        .context("account has no preferences row")?;
    let tz: chrono_tz::Tz = prefs
        .time_zone
        .parse()
        .map_err(|_| anyhow::anyhow!("stored time zone is invalid"))?;
    let now = Utc::now();
    let local_date = now.with_timezone(&tz).date_naive();
    let symbols: Vec<String> = watchlist::list(&state.db, user_id)
        .await?
        .into_iter()
        .map(|w| w.symbol)
        .collect();
    let snapshot = MarketSnapshot::load(state, &symbols, now, local_date, local_date).await?;
    Ok(snapshot.input(&InputRequest {
        local_date,
        symbols: &symbols,
        include_news: prefs.include_news,
        include_earnings: prefs.include_earnings,
        sample_source: state.market_source.is_sample(),
        unsubscribe_url: Some(unsubscribe_url(state, user_id)),
    }))
}

/// Today's digest for the logged-in person, rendered now and not sent.
pub async fn preview(state: &AppState, user: &CurrentUser) -> Result<(DigestInput, Composed)> {
    let input = input_for(state, user.user_id).await?;
    let composed = compose(&input)?;
    Ok((input, composed))
}

/// The symbols of several watchlists, without repeats.
pub fn distinct_symbols<'a>(lists: impl IntoIterator<Item = &'a Vec<String>>) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for list in lists {
        for s in list {
            if seen.insert(s.as_str()) {
                out.push(s.clone());
            }
        }
    }
    out
}
