//! Market data: raw responses, typed rows, freshness, ETL runs.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgExecutor};
use strum::VariantArray as _;

use crate::domain::market::{BarSource, DailyBar, Endpoint, MarketSource, Typed};
use crate::domain::{EtlOutcome, EtlRunStatus, EtlTrigger};

pub struct RawInsert<'a> {
    pub run_id: Option<i64>,
    pub source: MarketSource,
    pub endpoint: Endpoint,
    pub symbol: Option<&'a str>,
    pub params: &'a serde_json::Value,
    pub status: u16,
    pub body: &'a str,
}

#[derive(Debug)]
pub struct RawRow {
    pub id: i64,
    pub source: MarketSource,
    pub endpoint: String,
    pub symbol: Option<String>,
    pub params: serde_json::Value,
    pub status: i16,
    pub body: String,
    pub fetched_at: DateTime<Utc>,
}

/// Stores a raw response; returns its id and the database's fetch time.
pub async fn insert_raw(
    db: impl PgExecutor<'_>,
    raw: &RawInsert<'_>,
) -> sqlx::Result<(i64, DateTime<Utc>)> {
    let row = sqlx::query!(
        "insert into raw_responses (run_id, source, endpoint, symbol, params, status, body)
         values ($1, $2, $3, $4, $5, $6, $7)
         returning id, fetched_at",
        raw.run_id,
        raw.source as MarketSource,
        raw.endpoint.as_str(),
        raw.symbol,
        raw.params,
        raw.status as i16,
        raw.body,
    )
    .fetch_one(db)
    .await?;
    Ok((row.id, row.fetched_at))
}

/// Writes typed rows derived from raw row `raw_id`. Upserts: the response with the
/// higher raw id wins for a key, whatever order concurrent fetches commit in, so the
/// typed tables are a function of the raw rows and a rebuild reproduces them.
pub async fn store_typed(
    db: &mut PgConnection,
    raw_id: i64,
    fetched_at: DateTime<Utc>,
    sample: bool,
    typed: &Typed,
) -> sqlx::Result<()> {
    match typed {
        Typed::Quote(q) => {
            sqlx::query!(
                "insert into quotes (symbol, trading_day, price, change, change_percent, high, low, open,
                                     previous_close, quoted_at, fetched_at, raw_id, sample)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 on conflict (symbol, trading_day) do update set
                    price = excluded.price, change = excluded.change, change_percent = excluded.change_percent,
                    high = excluded.high, low = excluded.low, open = excluded.open,
                    previous_close = excluded.previous_close, quoted_at = excluded.quoted_at,
                    fetched_at = excluded.fetched_at, raw_id = excluded.raw_id, sample = excluded.sample
                  where quotes.raw_id <= excluded.raw_id",
                q.symbol,
                q.trading_day,
                q.price,
                q.change,
                q.change_percent,
                q.high,
                q.low,
                q.open,
                q.previous_close,
                q.quoted_at,
                fetched_at,
                raw_id,
                sample,
            )
            .execute(&mut *db)
            .await?;
        }
        Typed::Profile(p) => {
            sqlx::query!(
                "insert into company_profiles (symbol, name, exchange, country, currency, industry, ipo, logo,
                                               web_url, market_cap_millions, shares_outstanding, fetched_at,
                                               raw_id, sample)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 on conflict (symbol) do update set
                    name = excluded.name, exchange = excluded.exchange, country = excluded.country,
                    currency = excluded.currency, industry = excluded.industry, ipo = excluded.ipo,
                    logo = excluded.logo, web_url = excluded.web_url,
                    market_cap_millions = excluded.market_cap_millions,
                    shares_outstanding = excluded.shares_outstanding, fetched_at = excluded.fetched_at,
                    raw_id = excluded.raw_id, sample = excluded.sample
                  where company_profiles.raw_id <= excluded.raw_id",
                p.symbol,
                p.name,
                p.exchange,
                p.country,
                p.currency,
                p.industry,
                p.ipo,
                p.logo,
                p.web_url,
                p.market_cap_millions,
                p.shares_outstanding,
                fetched_at,
                raw_id,
                sample,
            )
            .execute(&mut *db)
            .await?;
        }
        Typed::News(items) => {
            for n in items {
                sqlx::query!(
                    "insert into news_items (id, headline, source, url, summary, image, category, published_at,
                                             fetched_at, raw_id, sample)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                     on conflict (id) do update set
                        headline = excluded.headline, source = excluded.source, url = excluded.url,
                        summary = excluded.summary, image = excluded.image, category = excluded.category,
                        published_at = excluded.published_at, fetched_at = excluded.fetched_at,
                        raw_id = excluded.raw_id, sample = excluded.sample
                      where news_items.raw_id <= excluded.raw_id",
                    n.id,
                    n.headline,
                    n.source,
                    n.url,
                    n.summary,
                    n.image,
                    n.category,
                    n.published_at,
                    fetched_at,
                    raw_id,
                    sample,
                )
                .execute(&mut *db)
                .await?;
                sqlx::query!(
                    "insert into news_symbols (news_id, symbol) values ($1, $2) on conflict do nothing",
                    n.id,
                    n.symbol,
                )
                .execute(&mut *db)
                .await?;
            }
        }
        Typed::Earnings(rows) => {
            for e in rows {
                sqlx::query!(
                    "insert into earnings (symbol, report_date, hour, year, quarter, eps_estimate, eps_actual,
                                           revenue_estimate, revenue_actual, fetched_at, raw_id, sample)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                     on conflict (symbol, report_date) do update set
                        hour = excluded.hour, year = excluded.year, quarter = excluded.quarter,
                        eps_estimate = excluded.eps_estimate, eps_actual = excluded.eps_actual,
                        revenue_estimate = excluded.revenue_estimate, revenue_actual = excluded.revenue_actual,
                        fetched_at = excluded.fetched_at, raw_id = excluded.raw_id, sample = excluded.sample
                      where earnings.raw_id <= excluded.raw_id",
                    e.symbol,
                    e.report_date,
                    e.hour,
                    e.year,
                    e.quarter,
                    e.eps_estimate,
                    e.eps_actual,
                    e.revenue_estimate,
                    e.revenue_actual,
                    fetched_at,
                    raw_id,
                    sample,
                )
                .execute(&mut *db)
                .await?;
            }
        }
        Typed::Holidays(rows) => {
            for h in rows {
                sqlx::query!(
                    "insert into market_holidays (exchange, holiday, event_name, trading_hour, raw_id, sample)
                     values ($1, $2, $3, $4, $5, $6)
                     on conflict (exchange, holiday) do update set
                        event_name = excluded.event_name, trading_hour = excluded.trading_hour,
                        raw_id = excluded.raw_id, sample = excluded.sample
                      where market_holidays.raw_id <= excluded.raw_id",
                    h.exchange,
                    h.holiday,
                    h.event_name,
                    h.trading_hour,
                    raw_id,
                    sample,
                )
                .execute(&mut *db)
                .await?;
            }
        }
        // Candles only give daily bars: `upsert_bars`.
        Typed::Candles { .. } => {}
    }
    Ok(())
}

/// Writes daily bars derived from raw row `raw_id`, in one statement. Of two bars for
/// the same symbol and date the table keeps a final one over one that is not, then of
/// two final bars the candle (it has the volume), then the later response: a total
/// order, so the table does not depend on the order loads commit in and a rebuild
/// reproduces it. A bar taken during a session never replaces the session's final bar.
pub async fn upsert_bars(
    db: impl PgExecutor<'_>,
    raw_id: i64,
    sample: bool,
    bars: &[DailyBar],
) -> sqlx::Result<u64> {
    if bars.is_empty() {
        return Ok(0);
    }
    let symbols: Vec<String> = bars.iter().map(|b| b.symbol.clone()).collect();
    let dates: Vec<NaiveDate> = bars.iter().map(|b| b.trading_date).collect();
    let opens: Vec<f64> = bars.iter().map(|b| b.open).collect();
    let highs: Vec<f64> = bars.iter().map(|b| b.high).collect();
    let lows: Vec<f64> = bars.iter().map(|b| b.low).collect();
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let volumes: Vec<Option<i64>> = bars.iter().map(|b| b.volume).collect();
    let sources: Vec<String> = bars.iter().map(|b| b.source.as_str().to_owned()).collect();
    let finals: Vec<bool> = bars.iter().map(|b| b.is_final).collect();
    let done = sqlx::query!(
        r#"insert into daily_bars (symbol, trading_date, open, high, low, close, volume, source, final,
                                 sample, raw_id)
         select b.symbol, b.trading_date, b.open, b.high, b.low, b.close, b.volume, b.source, b.final,
                $10, $11
         from unnest($1::text[], $2::date[], $3::float8[], $4::float8[], $5::float8[], $6::float8[],
                     $7::int8[], $8::text[], $9::bool[])
              as b(symbol, trading_date, open, high, low, close, volume, source, final)
         on conflict (symbol, trading_date) do update set
            open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
            volume = excluded.volume, source = excluded.source, final = excluded.final,
            sample = excluded.sample, raw_id = excluded.raw_id, updated_at = now()
          where (excluded.final, excluded.final and excluded.source = 'candle', excluded.raw_id)
             >= (daily_bars.final, daily_bars.final and daily_bars.source = 'candle', daily_bars.raw_id)"#,
        &symbols,
        &dates,
        &opens,
        &highs,
        &lows,
        &closes,
        &volumes as &[Option<i64>],
        &sources,
        &finals,
        sample,
        raw_id,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// A stored daily bar.
#[derive(Debug, Clone, PartialEq)]
pub struct BarRow {
    pub trading_date: NaiveDate,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: Option<i64>,
    pub source: BarSource,
    pub is_final: bool,
    pub sample: bool,
}

/// `symbol`'s bars from `from` to `to` (inclusive), in date order.
pub async fn daily_bars(
    db: impl PgExecutor<'_>,
    symbol: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<BarRow>> {
    sqlx::query_as!(
        BarRow,
        r#"select trading_date, open, high, low, close, volume, source as "source: BarSource",
                final as is_final, sample
         from daily_bars where symbol = $1 and trading_date between $2 and $3
         order by trading_date"#,
        symbol,
        from,
        to,
    )
    .fetch_all(db)
    .await
}

/// `symbol`'s last `count` bars, oldest first: what a chart of the last N sessions
/// draws.
pub async fn last_bars(
    db: impl PgExecutor<'_>,
    symbol: &str,
    count: i64,
) -> sqlx::Result<Vec<BarRow>> {
    let mut bars = sqlx::query_as!(
        BarRow,
        r#"select trading_date, open, high, low, close, volume, source as "source: BarSource",
                final as is_final, sample
         from daily_bars where symbol = $1
         order by trading_date desc limit $2"#,
        symbol,
        count,
    )
    .fetch_all(db)
    .await?;
    bars.reverse();
    Ok(bars)
}

/// Those of `symbols` with fewer than `min_bars` bars dated within the last year: the
/// ones a year of candles would fill in.
pub async fn symbols_without_history(
    db: impl PgExecutor<'_>,
    symbols: &[String],
    min_bars: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"select s.symbol as "symbol!"
         from unnest($1::text[]) as s(symbol)
         where (select count(*) from daily_bars b
                where b.symbol = s.symbol and b.trading_date > current_date - 366) < $2
         order by 1"#,
        symbols,
        min_bars,
    )
    .fetch_all(db)
    .await
}

/// The exchange's days closed all day (shortened sessions excluded).
pub async fn full_closures(
    db: impl PgExecutor<'_>,
    exchange: &str,
) -> sqlx::Result<Vec<NaiveDate>> {
    sqlx::query_scalar!(
        "select holiday from market_holidays
         where exchange = $1 and coalesce(trading_hour, '') = '' order by holiday",
        exchange,
    )
    .fetch_all(db)
    .await
}

/// The distinct symbols on the watchlists of confirmed, unpaused accounts: a symbol
/// watched by a thousand people is fetched once.
pub async fn watched_symbols(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        "select distinct w.symbol
         from watchlist_items w
         join users u on u.id = w.user_id
         join preferences p on p.user_id = w.user_id
         where u.confirmed_at is not null and not p.paused
         order by w.symbol",
    )
    .fetch_all(db)
    .await
}

/// Last successful fetch per (symbol, endpoint), for the symbols given.
pub async fn fetch_state(
    db: impl PgExecutor<'_>,
    symbols: &[String],
) -> sqlx::Result<Vec<(String, String, DateTime<Utc>)>> {
    let rows = sqlx::query!(
        "select symbol, endpoint, fetched_at from fetch_state where symbol = any($1)",
        symbols,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.symbol, r.endpoint, r.fetched_at))
        .collect())
}

pub async fn mark_fetched(
    db: impl PgExecutor<'_>,
    symbol: &str,
    endpoint: Endpoint,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into fetch_state (symbol, endpoint, fetched_at) values ($1, $2, $3)
         on conflict (symbol, endpoint) do update set fetched_at = greatest(fetch_state.fetched_at, excluded.fetched_at)",
        symbol,
        endpoint.as_str(),
        at,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn purge_raw_older_than(db: impl PgExecutor<'_>, days: u32) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "delete from raw_responses where fetched_at < now() - make_interval(days => $1)",
        days as i32,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes the typed rows that retained raw rows can rebuild (those derived from raw
/// id `from_raw_id` on); older rows whose raw data was purged stay as they are.
pub async fn delete_rebuildable(db: &mut PgConnection, from_raw_id: i64) -> sqlx::Result<u64> {
    let mut deleted = 0;
    for &table in TypedTable::VARIANTS {
        deleted += delete_from(&mut *db, table, from_raw_id).await?;
    }
    Ok(deleted)
}

/// The typed tables, each derived from raw rows (their `raw_id`), in the order
/// [`delete_rebuildable`] empties them.
#[derive(Debug, Clone, Copy, strum::VariantArray)]
enum TypedTable {
    Quotes,
    CompanyProfiles,
    NewsItems,
    Earnings,
    MarketHolidays,
    DailyBars,
}

/// Deletes the rows of `table` derived from raw id `from_raw_id` on; returns how many.
/// One checked query per table (a table name cannot be a bind parameter).
async fn delete_from(
    db: impl PgExecutor<'_>,
    table: TypedTable,
    from_raw_id: i64,
) -> sqlx::Result<u64> {
    let done = match table {
        TypedTable::Quotes => {
            sqlx::query!("delete from quotes where raw_id >= $1", from_raw_id)
                .execute(db)
                .await?
        }
        TypedTable::CompanyProfiles => {
            sqlx::query!(
                "delete from company_profiles where raw_id >= $1",
                from_raw_id
            )
            .execute(db)
            .await?
        }
        TypedTable::NewsItems => {
            sqlx::query!("delete from news_items where raw_id >= $1", from_raw_id)
                .execute(db)
                .await?
        }
        TypedTable::Earnings => {
            sqlx::query!("delete from earnings where raw_id >= $1", from_raw_id)
                .execute(db)
                .await?
        }
        TypedTable::MarketHolidays => {
            sqlx::query!(
                "delete from market_holidays where raw_id >= $1",
                from_raw_id
            )
            .execute(db)
            .await?
        }
        TypedTable::DailyBars => {
            sqlx::query!("delete from daily_bars where raw_id >= $1", from_raw_id)
                .execute(db)
                .await?
        }
    };
    Ok(done.rows_affected())
}

pub async fn min_raw_id(db: impl PgExecutor<'_>) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!("select min(id) from raw_responses")
        .fetch_one(db)
        .await
}

/// A page of raw rows in id order, for replaying them.
pub async fn raw_page(
    db: impl PgExecutor<'_>,
    after_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<RawRow>> {
    sqlx::query_as!(
        RawRow,
        r#"select id, source as "source: MarketSource", endpoint, symbol, params, status, body, fetched_at
         from raw_responses where id > $1 order by id limit $2"#,
        after_id,
        limit,
    )
    .fetch_all(db)
    .await
}

pub async fn holidays(
    db: impl PgExecutor<'_>,
    exchange: &str,
) -> sqlx::Result<Vec<chrono::NaiveDate>> {
    sqlx::query_scalar!(
        "select holiday from market_holidays where exchange = $1 order by holiday",
        exchange,
    )
    .fetch_all(db)
    .await
}

// ---- runs -------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: EtlRunStatus,
    pub source: MarketSource,
    pub trigger: EtlTrigger,
    pub symbols: i32,
    pub calls: i32,
    pub retries: i32,
    pub rate_limited: i32,
    pub failures: i32,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FailureRow {
    pub symbol: String,
    pub endpoint: String,
    pub outcome: EtlOutcome,
    pub reason: String,
    pub recorded_at: DateTime<Utc>,
}

pub async fn start_run(
    db: impl PgExecutor<'_>,
    source: MarketSource,
    trigger: EtlTrigger,
    symbols: i32,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into etl_runs (source, trigger, symbols) values ($1, $2, $3) returning id",
        source as MarketSource,
        trigger as EtlTrigger,
        symbols,
    )
    .fetch_one(db)
    .await
}

pub async fn record_failure(
    db: impl PgExecutor<'_>,
    run_id: i64,
    symbol: &str,
    endpoint: Endpoint,
    outcome: EtlOutcome,
    reason: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into etl_failures (run_id, symbol, endpoint, outcome, reason) values ($1, $2, $3, $4, $5)",
        run_id,
        symbol,
        endpoint.as_str(),
        outcome as EtlOutcome,
        reason,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub struct RunTotals {
    pub status: EtlRunStatus,
    pub calls: i32,
    pub retries: i32,
    pub rate_limited: i32,
    pub failures: i32,
    pub error: Option<String>,
}

pub async fn finish_run(
    db: impl PgExecutor<'_>,
    run_id: i64,
    totals: &RunTotals,
) -> sqlx::Result<RunRow> {
    sqlx::query_as!(
        RunRow,
        r#"update etl_runs set finished_at = now(), status = $2, calls = $3, retries = $4, rate_limited = $5,
                             failures = $6, error = $7
         where id = $1
         returning id, started_at, finished_at, status as "status: EtlRunStatus",
                   source as "source: MarketSource", trigger as "trigger: EtlTrigger", symbols, calls,
                   retries, rate_limited, failures, error"#,
        run_id,
        totals.status as EtlRunStatus,
        totals.calls,
        totals.retries,
        totals.rate_limited,
        totals.failures,
        totals.error.as_deref(),
    )
    .fetch_one(db)
    .await
}

pub async fn list_runs(
    db: impl PgExecutor<'_>,
    before_id: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<RunRow>> {
    sqlx::query_as!(
        RunRow,
        r#"select id, started_at, finished_at, status as "status: EtlRunStatus",
                source as "source: MarketSource", trigger as "trigger: EtlTrigger", symbols, calls,
                retries, rate_limited, failures, error
         from etl_runs where ($1::bigint is null or id < $1) order by id desc limit $2"#,
        before_id,
        limit,
    )
    .fetch_all(db)
    .await
}

pub async fn get_run(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<RunRow>> {
    sqlx::query_as!(
        RunRow,
        r#"select id, started_at, finished_at, status as "status: EtlRunStatus",
                source as "source: MarketSource", trigger as "trigger: EtlTrigger", symbols, calls,
                retries, rate_limited, failures, error
         from etl_runs where id = $1"#,
        id,
    )
    .fetch_optional(db)
    .await
}

pub async fn run_failures(db: impl PgExecutor<'_>, run_id: i64) -> sqlx::Result<Vec<FailureRow>> {
    sqlx::query_as!(
        FailureRow,
        r#"select symbol, endpoint, outcome as "outcome: EtlOutcome", reason, recorded_at from etl_failures
         where run_id = $1 order by symbol, endpoint"#,
        run_id,
    )
    .fetch_all(db)
    .await
}

/// Every symbol on an active watchlist, and whether anyone holding it reads news.
pub async fn watched_symbols_with_readers(
    db: impl PgExecutor<'_>,
) -> sqlx::Result<Vec<(String, bool)>> {
    let rows = sqlx::query!(
        r#"select w.symbol, bool_or(p.include_news) as "news!"
         from watchlist_items w
         join users u on u.id = w.user_id
         join preferences p on p.user_id = w.user_id
         where u.confirmed_at is not null and not p.paused
         group by w.symbol
         order by w.symbol"#,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.symbol, r.news)).collect())
}

/// Whether any active account's digest includes earnings.
pub async fn anyone_reads_earnings(db: impl PgExecutor<'_>) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists (
             select 1 from preferences p join users u on u.id = p.user_id
             where u.confirmed_at is not null and not p.paused and p.include_earnings
           ) as "exists!""#,
    )
    .fetch_one(db)
    .await
}

/// One (symbol, due time) of the planning horizon: digests due then (or queued, with
/// `due` their due time) hold the symbol.
#[derive(Debug, Clone)]
pub struct DemandRow {
    pub symbol: String,
    pub due: DateTime<Utc>,
    pub news: bool,
    pub earnings: bool,
}

/// Who reads which symbol when, up to `horizon`: accounts whose next digest is due by
/// then, and digests queued or claimed but not yet sent (their due time has passed).
pub async fn demand_until(
    db: impl PgExecutor<'_>,
    horizon: DateTime<Utc>,
) -> sqlx::Result<Vec<DemandRow>> {
    sqlx::query_as!(
        DemandRow,
        r#"select w.symbol as "symbol!", d.due as "due!",
                  bool_or(d.include_news) as "news!", bool_or(d.include_earnings) as "earnings!"
         from (
             select p.user_id, p.next_send_at as due, p.include_news, p.include_earnings
             from preferences p
             where p.next_send_at <= $1
             union all
             select j.user_id, j.due_at, p.include_news, p.include_earnings
             from digest_jobs j join preferences p on p.user_id = j.user_id
             where j.status in ('pending', 'claimed')
         ) d
         join watchlist_items w on w.user_id = d.user_id
         group by w.symbol, d.due
         order by w.symbol, d.due"#,
        horizon,
    )
    .fetch_all(db)
    .await
}

/// How many digests are due at each instant up to `horizon` (queued ones included),
/// for how long a wave takes to send.
pub async fn due_counts_until(
    db: impl PgExecutor<'_>,
    horizon: DateTime<Utc>,
) -> sqlx::Result<Vec<(DateTime<Utc>, i64)>> {
    let rows = sqlx::query!(
        r#"select due as "due!", count(*) as "people!"
         from (
             select next_send_at as due from preferences where next_send_at <= $1
             union all
             select due_at from digest_jobs where status in ('pending', 'claimed')
         ) d
         group by due
         order by due"#,
        horizon,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.due, r.people)).collect())
}

/// Watched symbols (on any watchlist) whose quote was never fetched.
pub async fn never_quoted(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"select distinct w.symbol as "symbol!"
         from watchlist_items w
         where not exists (
             select 1 from fetch_state f where f.symbol = w.symbol and f.endpoint = 'quote'
         )
         order by 1"#,
    )
    .fetch_all(db)
    .await
}

/// Symbols added to a watchlist within the last `secs` seconds: the process that added
/// each fetches it at once, so the planner leaves them alone meanwhile.
pub async fn recently_added(db: impl PgExecutor<'_>, secs: f64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"select distinct symbol as "symbol!" from watchlist_items
         where added_at > now() - make_interval(secs => $1)"#,
        secs,
    )
    .fetch_all(db)
    .await
}
