//! The digest: what one person gets on one day, composed from the typed market data.
//!
//! Composition is a pure function of its input (`compose`), rendered by compiled,
//! auto-escaping askama templates, so the preview, the sent email and the history show
//! the same thing for the same data.

pub mod compose;

use std::collections::HashMap;

use anyhow::Context as _;
use chrono::{Duration, Utc};

use super::Result;
use super::accounts::CurrentUser;
use crate::repositories::{digest, preferences, watchlist};
use crate::state::AppState;
pub use compose::{Composed, DigestInput, TickerInput, compose};

/// News older than this is not "from the last day".
const NEWS_WINDOW_HOURS: i64 = 24;
/// A quote older than this many days is too stale to show as today's.
const QUOTE_MAX_AGE_DAYS: i64 = 4;
const EARNINGS_HORIZON_DAYS: i64 = 7;

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

    let quotes = digest::latest_quotes(
        &state.db,
        &symbols,
        local_date - Duration::days(QUOTE_MAX_AGE_DAYS),
    )
    .await?;
    let any_sample_quote = quotes.iter().any(|(_, sample)| *sample);
    let mut quotes: HashMap<String, _> = quotes
        .into_iter()
        .map(|(q, _)| (q.symbol.clone(), q))
        .collect();
    let mut profiles: HashMap<String, _> = digest::profiles(&state.db, &symbols)
        .await?
        .into_iter()
        .map(|p| (p.symbol.clone(), p))
        .collect();
    let mut news: HashMap<String, Vec<_>> = HashMap::new();
    if prefs.include_news {
        for item in digest::recent_news(
            &state.db,
            &symbols,
            now - Duration::hours(NEWS_WINDOW_HOURS),
        )
        .await?
        {
            news.entry(item.symbol.clone()).or_default().push(item);
        }
    }
    let mut earnings: HashMap<String, _> = if prefs.include_earnings {
        digest::next_earnings(
            &state.db,
            &symbols,
            local_date,
            local_date + Duration::days(EARNINGS_HORIZON_DAYS),
        )
        .await?
        .into_iter()
        .map(|e| (e.symbol.clone(), e))
        .collect()
    } else {
        HashMap::new()
    };

    let tickers = symbols
        .into_iter()
        .map(|symbol| TickerInput {
            quote: quotes.remove(&symbol),
            profile: profiles.remove(&symbol),
            news: news.remove(&symbol).unwrap_or_default(),
            next_earnings: earnings.remove(&symbol),
            symbol,
        })
        .collect();
    Ok(DigestInput {
        local_date,
        sample: state.market_source.is_sample() || any_sample_quote,
        tickers,
    })
}

/// Today's digest for the logged-in person, rendered now and not sent.
pub async fn preview(state: &AppState, user: &CurrentUser) -> Result<(DigestInput, Composed)> {
    let input = input_for(state, user.user_id).await?;
    let composed = compose(&input)?;
    Ok((input, composed))
}
