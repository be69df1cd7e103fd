//! What a digest reads from the typed market-data tables.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;

use crate::domain::market::{EarningRow, NewsRow, ProfileRow, QuoteRow};

/// The latest quote per symbol from `since` on, with its sample flag.
pub async fn latest_quotes(
    db: impl PgExecutor<'_>,
    symbols: &[String],
    since: NaiveDate,
) -> sqlx::Result<Vec<(QuoteRow, bool)>> {
    let rows = sqlx::query!(
        "select distinct on (symbol) symbol, trading_day, price, change, change_percent, high, low, open,
                previous_close, quoted_at, sample
         from quotes where symbol = any($1) and trading_day >= $2
         order by symbol, trading_day desc",
        symbols,
        since,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|q| {
            (
                QuoteRow {
                    symbol: q.symbol,
                    trading_day: q.trading_day,
                    price: q.price,
                    change: q.change,
                    change_percent: q.change_percent,
                    high: q.high,
                    low: q.low,
                    open: q.open,
                    previous_close: q.previous_close,
                    quoted_at: q.quoted_at,
                },
                q.sample,
            )
        })
        .collect())
}

pub async fn profiles(
    db: impl PgExecutor<'_>,
    symbols: &[String],
) -> sqlx::Result<Vec<ProfileRow>> {
    sqlx::query_as!(
        ProfileRow,
        "select symbol, name, exchange, country, currency, industry, ipo, logo, web_url, market_cap_millions,
                shares_outstanding
         from company_profiles where symbol = any($1)",
        symbols,
    )
    .fetch_all(db)
    .await
}

/// News about the symbols published after `since`, newest first.
pub async fn recent_news(
    db: impl PgExecutor<'_>,
    symbols: &[String],
    since: DateTime<Utc>,
) -> sqlx::Result<Vec<NewsRow>> {
    sqlx::query_as!(
        NewsRow,
        "select n.id, s.symbol, n.headline, n.source, n.url, n.summary, n.image, n.category, n.published_at
         from news_symbols s join news_items n on n.id = s.news_id
         where s.symbol = any($1) and n.published_at > $2
         order by s.symbol, n.published_at desc, n.id",
        symbols,
        since,
    )
    .fetch_all(db)
    .await
}

/// Every earnings release of the symbols between `from` and `to` (inclusive), by
/// symbol and date.
pub async fn earnings_between(
    db: impl PgExecutor<'_>,
    symbols: &[String],
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<EarningRow>> {
    sqlx::query_as!(
        EarningRow,
        "select symbol, report_date, hour, year, quarter, eps_estimate, eps_actual,
                revenue_estimate, revenue_actual
         from earnings where symbol = any($1) and report_date between $2 and $3
         order by symbol, report_date",
        symbols,
        from,
        to,
    )
    .fetch_all(db)
    .await
}
