//! What a digest reads from the typed market-data tables.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;

use crate::domain::market::{EarningRow, NewsRow, ProfileRow, QuoteRow};

#[derive(sqlx::FromRow)]
struct QuoteDb {
    symbol: String,
    trading_day: NaiveDate,
    price: f64,
    change: Option<f64>,
    change_percent: Option<f64>,
    high: f64,
    low: f64,
    open: f64,
    previous_close: f64,
    quoted_at: DateTime<Utc>,
    sample: bool,
}

/// The latest quote per symbol from `since` on, with its sample flag.
pub async fn latest_quotes(
    db: impl PgExecutor<'_>,
    symbols: &[String],
    since: NaiveDate,
) -> sqlx::Result<Vec<(QuoteRow, bool)>> {
    let rows: Vec<QuoteDb> = sqlx::query_as(
        "select distinct on (symbol) symbol, trading_day, price, change, change_percent, high, low, open,
                previous_close, quoted_at, sample
         from quotes where symbol = any($1) and trading_day >= $2
         order by symbol, trading_day desc",
    )
    .bind(symbols)
    .bind(since)
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

#[derive(sqlx::FromRow)]
struct ProfileDb {
    symbol: String,
    name: String,
    exchange: Option<String>,
    country: Option<String>,
    currency: Option<String>,
    industry: Option<String>,
    ipo: Option<NaiveDate>,
    logo: Option<String>,
    web_url: Option<String>,
    market_cap_millions: Option<f64>,
    shares_outstanding: Option<f64>,
}

pub async fn profiles(
    db: impl PgExecutor<'_>,
    symbols: &[String],
) -> sqlx::Result<Vec<ProfileRow>> {
    let rows: Vec<ProfileDb> = sqlx::query_as(
        "select symbol, name, exchange, country, currency, industry, ipo, logo, web_url, market_cap_millions,
                shares_outstanding
         from company_profiles where symbol = any($1)",
    )
    .bind(symbols)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|p| ProfileRow {
            symbol: p.symbol,
            name: p.name,
            exchange: p.exchange,
            country: p.country,
            currency: p.currency,
            industry: p.industry,
            ipo: p.ipo,
            logo: p.logo,
            web_url: p.web_url,
            market_cap_millions: p.market_cap_millions,
            shares_outstanding: p.shares_outstanding,
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct NewsDb {
    id: i64,
    symbol: String,
    headline: String,
    source: String,
    url: String,
    summary: String,
    image: Option<String>,
    category: Option<String>,
    published_at: DateTime<Utc>,
}

/// News about the symbols published after `since`, newest first.
pub async fn recent_news(
    db: impl PgExecutor<'_>,
    symbols: &[String],
    since: DateTime<Utc>,
) -> sqlx::Result<Vec<NewsRow>> {
    let rows: Vec<NewsDb> = sqlx::query_as(
        "select n.id, s.symbol, n.headline, n.source, n.url, n.summary, n.image, n.category, n.published_at
         from news_symbols s join news_items n on n.id = s.news_id
         where s.symbol = any($1) and n.published_at > $2
         order by s.symbol, n.published_at desc, n.id",
    )
    .bind(symbols)
    .bind(since)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|n| NewsRow {
            id: n.id,
            symbol: n.symbol,
            headline: n.headline,
            source: n.source,
            url: n.url,
            summary: n.summary,
            image: n.image,
            category: n.category,
            published_at: n.published_at,
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct EarningDb {
    symbol: String,
    report_date: NaiveDate,
    hour: Option<String>,
    year: Option<i32>,
    quarter: Option<i32>,
    eps_estimate: Option<f64>,
    eps_actual: Option<f64>,
    revenue_estimate: Option<f64>,
    revenue_actual: Option<f64>,
}

/// Every earnings release of the symbols between `from` and `to` (inclusive), by
/// symbol and date.
pub async fn earnings_between(
    db: impl PgExecutor<'_>,
    symbols: &[String],
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<EarningRow>> {
    let rows: Vec<EarningDb> = sqlx::query_as(
        "select symbol, report_date, hour, year, quarter, eps_estimate, eps_actual,
                revenue_estimate, revenue_actual
         from earnings where symbol = any($1) and report_date between $2 and $3
         order by symbol, report_date",
    )
    .bind(symbols)
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(earning_row).collect())
}

fn earning_row(e: EarningDb) -> EarningRow {
    EarningRow {
        symbol: e.symbol,
        report_date: e.report_date,
        hour: e.hour,
        year: e.year,
        quarter: e.quarter,
        eps_estimate: e.eps_estimate,
        eps_actual: e.eps_actual,
        revenue_estimate: e.revenue_estimate,
        revenue_actual: e.revenue_actual,
    }
}
