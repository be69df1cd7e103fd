//! Extract-load of market data from Finnhub into PostgreSQL.
//!
//! One run: take the distinct symbols on active watchlists, decide per symbol and
//! endpoint whether the stored data is still fresh, fetch what is not concurrently
//! (bounded by `QUOTIDIAN_ETL_CONCURRENCY` and by the process-wide Finnhub limiter),
//! and load each answer raw first, then typed from that raw row. A failing symbol is
//! recorded and the rest go on; a refused API key stops the run at once.

pub mod ahead;
pub mod planner;
pub mod typing;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures_util::StreamExt as _;
use sqlx::Connection as _;

use crate::clients::finnhub::{FinnhubError, Priority, RawResponse, with_priority};
use crate::domain::Symbol;
use crate::domain::market::{Endpoint, MarketSource, Typed};
use crate::domain::{EtlOutcome, EtlRunStatus, EtlTrigger};
use crate::repositories::advisory_locks;
use crate::repositories::market::{self, RawInsert, RunRow, RunTotals};
use crate::state::AppState;
use typing::TypingError;

/// Any number that is ours alone; `pg_try_advisory_lock` keys are global to the
/// database.
const EXTRACTION_LOCK: i64 = 0x5155_4f54_4554_4c00; // "QUOTETL\0"

/// Market-wide calls are tracked in `fetch_state` under these keys.
pub(crate) const EARNINGS_KEY: &str = "*earnings";
pub(crate) const HOLIDAYS_KEY: &str = "*holidays";
pub const HOLIDAY_EXCHANGE: &str = "US";

/// How far back a symbol's history reaches: what one candle call asks for.
pub const HISTORY_DAYS: i64 = 365;
/// A symbol with fewer bars than this in the last year has no history yet (a year
/// holds about 250 sessions): candles fill it in where the plan has them.
pub const HISTORY_MIN_BARS: i64 = 240;

/// Whether daily candles can be fetched: the configured plan has them
/// (`QUOTIDIAN_FINNHUB_CANDLES=on`), or the offline sample source stands in, which
/// always does.
pub fn candles_available(state: &AppState) -> bool {
    state.config.finnhub.candles || state.market_source.is_sample()
}

/// How old stored data may be before a run fetches it again.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    pub quote: Duration,
    pub profile: Duration,
    pub news: Duration,
    pub earnings: Duration,
    pub holidays: Duration,
}

impl Default for Freshness {
    fn default() -> Self {
        Self {
            quote: Duration::minutes(5),
            profile: Duration::days(7),
            news: Duration::minutes(60),
            earnings: Duration::hours(12),
            holidays: Duration::days(30),
        }
    }
}

/// One Finnhub call to make.
#[derive(Debug, Clone)]
pub struct Task {
    pub endpoint: Endpoint,
    /// `None` for market-wide calls.
    pub symbol: Option<Symbol>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// What someone reads, for a run over all watched symbols: only these symbols' news,
/// and earnings only when someone reads them.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    pub news: std::collections::HashSet<String>,
    pub earnings: bool,
}

impl Wanted {
    /// Everything, for every symbol in `symbols`.
    pub fn all(symbols: &[Symbol]) -> Self {
        Self {
            news: symbols.iter().map(|s| s.as_ref().to_owned()).collect(),
            earnings: true,
        }
    }
}

/// Decides which calls a run makes. Pure, so freshness rules are unit-testable.
pub fn plan(
    symbols: &[Symbol],
    wanted: &Wanted,
    last_fetched: &HashMap<(String, String), DateTime<Utc>>,
    now: DateTime<Utc>,
    fresh: &Freshness,
) -> (Vec<Task>, usize) {
    let stale = |key: &str, endpoint: Endpoint, max_age: Duration| {
        last_fetched
            .get(&(key.to_owned(), endpoint.as_str().to_owned()))
            .is_none_or(|at| now - *at >= max_age)
    };
    let today = now.date_naive();
    let mut tasks = Vec::new();
    let mut reused = 0;
    for symbol in symbols {
        let key = symbol.as_ref();
        if stale(key, Endpoint::Quote, fresh.quote) {
            tasks.push(Task {
                endpoint: Endpoint::Quote,
                symbol: Some(symbol.clone()),
                from: None,
                to: None,
            });
        } else {
            reused += 1;
        }
        if stale(key, Endpoint::Profile, fresh.profile) {
            tasks.push(Task {
                endpoint: Endpoint::Profile,
                symbol: Some(symbol.clone()),
                from: None,
                to: None,
            });
        }
        if wanted.news.contains(key) && stale(key, Endpoint::CompanyNews, fresh.news) {
            // News since the last fetch (its day again, as Finnhub filters by date and
            // ids deduplicate), at most a week back.
            let from = last_fetched
                .get(&(key.to_owned(), Endpoint::CompanyNews.as_str().to_owned()))
                .map(|at| at.date_naive())
                .unwrap_or(today - Duration::days(2))
                .max(today - Duration::days(7));
            tasks.push(Task {
                endpoint: Endpoint::CompanyNews,
                symbol: Some(symbol.clone()),
                from: Some(from),
                to: Some(today),
            });
        }
    }
    if !symbols.is_empty()
        && wanted.earnings
        && stale(EARNINGS_KEY, Endpoint::Earnings, fresh.earnings)
    {
        // One market-wide call for the coming week instead of one per symbol.
        tasks.push(Task {
            endpoint: Endpoint::Earnings,
            symbol: None,
            from: Some(today),
            to: Some(today + Duration::days(7)),
        });
    }
    if stale(HOLIDAYS_KEY, Endpoint::MarketHolidays, fresh.holidays) {
        tasks.push(Task {
            endpoint: Endpoint::MarketHolidays,
            symbol: None,
            from: None,
            to: None,
        });
    }
    (tasks, reused)
}

/// Told about a run's progress (the CLI draws a bar with it).
pub trait Progress: Send + Sync {
    fn started(&self, _symbols: usize, _calls: usize) {}
    fn call_done(&self, _endpoint: Endpoint, _symbol: Option<&str>, _ok: bool) {}
}

pub struct NoProgress;
impl Progress for NoProgress {}

#[derive(Debug)]
pub enum RunOutcome {
    Completed(Box<RunReport>),
    /// Another instance holds the extraction lock.
    Busy,
}

#[derive(Debug)]
pub struct RunReport {
    pub run: RunRow,
    pub failures: Vec<market::FailureRow>,
    /// Calls that loaded data, per endpoint.
    pub loaded: BTreeMap<Endpoint, u32>,
    /// Calls planned, per endpoint.
    pub planned: BTreeMap<Endpoint, u32>,
    /// Symbols whose quote was fresh enough to reuse.
    pub quotes_reused: usize,
    pub raw_purged: u64,
}

pub struct RunOptions {
    pub trigger: EtlTrigger,
    /// Only these symbols (default: every symbol on an active watchlist).
    pub symbols: Option<Vec<Symbol>>,
}

/// Holds the extraction lock for as long as it lives. A connection of its own, outside
/// the pool: the session-level advisory lock dies with it, so a crash or a cancelled
/// run can never leave the lock held by a pooled connection someone else then borrows.
struct ExtractionLock(sqlx::PgConnection);

impl ExtractionLock {
    /// `None` when another instance holds it.
    async fn try_acquire(state: &AppState) -> anyhow::Result<Option<Self>> {
        let mut conn = sqlx::PgConnection::connect_with(&state.db.connect_options())
            .await
            .context("opening the extraction lock connection")?;
        let locked = advisory_locks::try_lock(&mut conn, EXTRACTION_LOCK).await?;
        Ok(locked.then_some(Self(conn)))
    }

    async fn release(self) {
        let _ = self.0.close().await;
    }
}

/// Runs one extraction unless another instance is running one.
pub async fn run(
    state: &AppState,
    options: RunOptions,
    progress: &dyn Progress,
) -> anyhow::Result<RunOutcome> {
    let Some(lock) = ExtractionLock::try_acquire(state).await? else {
        tracing::info!("another instance is extracting market data; skipping this run");
        return Ok(RunOutcome::Busy);
    };
    let result = run_locked(state, options, progress).await;
    lock.release().await;
    result.map(|r| RunOutcome::Completed(Box::new(r)))
}

struct CallResult {
    endpoint: Endpoint,
    attempts: u32,
    rate_limited: u32,
    loaded: bool,
}

#[tracing::instrument(name = "etl.run", skip_all, fields(trigger = %options.trigger))]
async fn run_locked(
    state: &AppState,
    options: RunOptions,
    progress: &dyn Progress,
) -> anyhow::Result<RunReport> {
    let readers: HashMap<String, bool> = market::watched_symbols_with_readers(&state.db)
        .await?
        .into_iter()
        .collect();
    let symbols: Vec<Symbol> = match options.symbols {
        Some(s) => s,
        None => readers
            .keys()
            .filter_map(|s| Symbol::parse(s).ok())
            .collect(),
    };
    let mut keys: Vec<String> = symbols.iter().map(|s| s.as_ref().to_owned()).collect();
    keys.extend([EARNINGS_KEY.to_owned(), HOLIDAYS_KEY.to_owned()]);
    let last_fetched: HashMap<(String, String), DateTime<Utc>> =
        market::fetch_state(&state.db, &keys)
            .await?
            .into_iter()
            .map(|(s, e, at)| ((s, e), at))
            .collect();
    // News only for symbols someone reads news of; earnings only when someone reads
    // them (symbols named on the command line count as read).
    let wanted = Wanted {
        news: symbols
            .iter()
            .filter(|s| readers.get(s.as_ref()).copied().unwrap_or(true))
            .map(|s| s.as_ref().to_owned())
            .collect(),
        earnings: market::anyone_reads_earnings(&state.db).await?,
    };
    let (tasks, quotes_reused) = plan(
        &symbols,
        &wanted,
        &last_fetched,
        Utc::now(),
        &state.config.etl.freshness(),
    );
    let tasks = tasks.into_iter().map(|t| (t, Priority::Due)).collect();
    let mut report =
        execute_all(state, options.trigger, symbols.len(), tasks, None, progress).await?;
    report.quotes_reused = quotes_reused;
    Ok(report)
}

/// Fetches what a delivery batch still lacks when it starts (the planner keeps it
/// fresh ahead of the due time, so this is usually nothing): its symbols' stale or
/// missing data, what `wanted` says someone in the batch reads, at `Due` priority. A
/// call not started within `within` is not made; the batch then composes with what is
/// stored ("data unavailable" where nothing is). `None` when nothing was missing.
pub async fn top_up(
    state: &AppState,
    symbols: &[Symbol],
    wanted: &Wanted,
    within: std::time::Duration,
) -> anyhow::Result<Option<RunReport>> {
    let mut keys: Vec<String> = symbols.iter().map(|s| s.as_ref().to_owned()).collect();
    keys.extend([EARNINGS_KEY.to_owned(), HOLIDAYS_KEY.to_owned()]);
    let last_fetched = market::fetch_state(&state.db, &keys)
        .await?
        .into_iter()
        .map(|(s, e, at)| ((s, e), at))
        .collect();
    let (tasks, _) = plan(
        symbols,
        wanted,
        &last_fetched,
        Utc::now(),
        &state.config.etl.freshness(),
    );
    if tasks.is_empty() || within.is_zero() {
        return Ok(None);
    }
    let deadline = tokio::time::Instant::now() + within;
    let tasks = tasks.into_iter().map(|t| (t, Priority::Due)).collect();
    let report = execute_all(
        state,
        EtlTrigger::Digest,
        symbols.len(),
        tasks,
        Some(deadline),
        &NoProgress,
    )
    .await?;
    Ok(Some(report))
}

/// A symbol just added to a watchlist: its quote (unless fresh) and profile (unless
/// stored) at once, at `NewSymbol` priority, so the preview shows its price within
/// seconds rather than at the next digest.
pub async fn fetch_new_symbol(state: &AppState, symbol: &Symbol) -> anyhow::Result<()> {
    let fetched = market::fetch_state(&state.db, &[symbol.as_ref().to_owned()]).await?;
    let last = |endpoint: Endpoint| {
        fetched
            .iter()
            .find(|(_, e, _)| e == endpoint.as_str())
            .map(|(_, _, at)| *at)
    };
    let quote_age = state.config.etl.freshness().quote;
    let mut tasks = Vec::new();
    if last(Endpoint::Quote).is_none_or(|at| Utc::now() - at >= quote_age) {
        tasks.push(Endpoint::Quote);
    }
    if last(Endpoint::Profile).is_none() {
        tasks.push(Endpoint::Profile);
    }
    if tasks.is_empty() {
        return Ok(());
    }
    let tasks = tasks
        .into_iter()
        .map(|endpoint| {
            let task = Task {
                endpoint,
                symbol: Some(symbol.clone()),
                from: None,
                to: None,
            };
            (task, Priority::NewSymbol)
        })
        .collect();
    execute_all(state, EtlTrigger::Watchlist, 1, tasks, None, &NoProgress).await?;
    Ok(())
}

/// How many Finnhub calls to keep in flight: enough to use the budget's rate at the
/// latency calls have lately had (twice the product, for the variance), at least 2,
/// at most `QUOTIDIAN_ETL_CONCURRENCY`. Calls waiting for their slot count as in
/// flight, so the budget, not this, sets the pace.
pub fn in_flight(state: &AppState) -> usize {
    let cap = state.config.etl.concurrency.max(1);
    let rate = state.market.calls_per_second().unwrap_or(30.0);
    let latency = state
        .market
        .observed_latency()
        .unwrap_or(std::time::Duration::from_millis(200))
        .as_secs_f64();
    ((rate * latency * 2.0).ceil() as usize + 1).clamp(2.min(cap), cap)
}

/// Makes `tasks`' calls (each at its priority) as one run of `trigger`, loading what
/// they return, and records the run. The caller decides what to fetch. A call not
/// started by `deadline` is not made (calls in flight then finish).
pub async fn execute_all(
    state: &AppState,
    trigger: EtlTrigger,
    symbols: usize,
    tasks: Vec<(Task, Priority)>,
    deadline: Option<tokio::time::Instant>,
    progress: &dyn Progress,
) -> anyhow::Result<RunReport> {
    let mut planned = BTreeMap::new();
    for (t, _) in &tasks {
        *planned.entry(t.endpoint).or_insert(0) += 1;
    }

    let source = state.market_source;
    let run_id = market::start_run(&state.db, source, trigger, symbols as i32).await?;
    tracing::info!(run_id, symbols, calls = tasks.len(), "extraction started");
    progress.started(symbols, tasks.len());

    let stop = Arc::new(AtomicBool::new(false));
    let fatal: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
    let results: Vec<CallResult> = futures_util::stream::iter(tasks)
        .map(|(task, priority)| {
            let (stop, fatal) = (stop.clone(), fatal.clone());
            async move {
                let endpoint = task.endpoint;
                let symbol = task.symbol.as_ref().map(|s| s.as_ref().to_owned());
                let late = deadline.is_some_and(|d| tokio::time::Instant::now() >= d);
                let result = if late || stop.load(Ordering::Relaxed) {
                    CallResult {
                        endpoint,
                        attempts: 0,
                        rate_limited: 0,
                        loaded: false,
                    }
                } else {
                    with_priority(
                        priority,
                        execute(state, source, run_id, task, &stop, &fatal),
                    )
                    .await
                };
                progress.call_done(endpoint, symbol.as_deref(), result.loaded);
                result
            }
        })
        .buffer_unordered(in_flight(state))
        .collect()
        .await;

    let mut loaded = BTreeMap::new();
    let (mut calls, mut retries, mut rate_limited) = (0i32, 0i32, 0i32);
    for r in &results {
        calls += r.attempts as i32;
        retries += r.attempts.saturating_sub(1) as i32;
        rate_limited += r.rate_limited as i32;
        if r.loaded {
            *loaded.entry(r.endpoint).or_insert(0) += 1;
        }
    }
    let raw_purged = purge_raw(state, trigger == EtlTrigger::Cli).await?;
    let failures = market::run_failures(&state.db, run_id).await?;
    let error = fatal.lock().expect("not poisoned").clone();
    let status = match (&error, failures.is_empty()) {
        (Some(_), _) => EtlRunStatus::Failed,
        (None, true) => EtlRunStatus::Succeeded,
        (None, false) => EtlRunStatus::Partial,
    };
    let run = market::finish_run(
        &state.db,
        run_id,
        &RunTotals {
            status,
            calls,
            retries,
            rate_limited,
            failures: failures.len() as i32,
            error,
        },
    )
    .await?;
    tracing::info!(
        run_id,
        status = status.as_str(),
        calls,
        retries,
        rate_limited,
        failures = failures.len(),
        "extraction finished"
    );
    Ok(RunReport {
        run,
        failures,
        loaded,
        planned,
        quotes_reused: 0,
        raw_purged,
    })
}

/// Purges raw responses past their retention: always for `quotidian etl`, otherwise at
/// most every ten minutes per process (the planner runs many small extractions).
async fn purge_raw(state: &AppState, always: bool) -> sqlx::Result<u64> {
    static LAST: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let now = Utc::now().timestamp();
    let last = LAST.load(Ordering::Relaxed);
    if !always && now - last < 600
        || LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return Ok(0);
    }
    market::purge_raw_older_than(&state.db, state.config.retention.raw_response_days).await
}

/// Makes one call and loads its answer; never fails the run except through `stop`.
async fn execute(
    state: &AppState,
    source: MarketSource,
    run_id: i64,
    task: Task,
    stop: &AtomicBool,
    fatal: &std::sync::Mutex<Option<String>>,
) -> CallResult {
    let market = &state.market;
    let endpoint = task.endpoint;
    let fetched: Result<RawResponse, FinnhubError> = match (endpoint, &task.symbol) {
        (Endpoint::Quote, Some(s)) => market.quote(s).await.map(|f| f.raw),
        (Endpoint::Profile, Some(s)) => market.profile(s).await.map(|f| f.raw),
        (Endpoint::CompanyNews, Some(s)) => market
            .company_news(
                s,
                task.from.unwrap_or_default(),
                task.to.unwrap_or_default(),
            )
            .await
            .map(|f| f.raw),
        (Endpoint::Earnings, _) => market
            .earnings(
                task.from.unwrap_or_default(),
                task.to.unwrap_or_default(),
                None,
            )
            .await
            .map(|f| f.raw),
        (Endpoint::MarketHolidays, _) => market
            .market_holidays(HOLIDAY_EXCHANGE)
            .await
            .map(|f| f.raw),
        (Endpoint::Candles, Some(s)) => {
            let to = task.to.unwrap_or_else(|| Utc::now().date_naive());
            let from = task.from.unwrap_or(to - Duration::days(HISTORY_DAYS));
            market.daily_candles(s, from, to).await.map(|f| f.raw)
        }
        (_, None) => unreachable!("per-symbol tasks are planned with their symbol"),
    };
    let symbol = task.symbol.as_ref().map(|s| s.as_ref());
    let label = symbol.unwrap_or("(market)");
    let mut result = CallResult {
        endpoint,
        attempts: 1,
        rate_limited: 0,
        loaded: false,
    };

    let record = |outcome: EtlOutcome, reason: String| async move {
        if let Err(e) =
            market::record_failure(&state.db, run_id, label, endpoint, outcome, &reason).await
        {
            tracing::error!(error = ?e, "could not record an extraction failure");
        }
    };
    match fetched {
        Ok(raw) => {
            result.attempts = raw.attempts;
            result.rate_limited = raw.rate_limited;
            match load(state, source, run_id, endpoint, symbol, &raw).await {
                Ok(Ok(())) => result.loaded = true,
                Ok(Err(TypingError::NoData(why))) => record(EtlOutcome::NoData, why).await,
                Ok(Err(TypingError::BadData(why))) => record(EtlOutcome::BadData, why).await,
                Err(e) => {
                    record(
                        EtlOutcome::Unavailable,
                        format!("storing the response failed: {e:#}"),
                    )
                    .await
                }
            }
        }
        Err(error) => {
            if let Some(raw) = error.raw() {
                result.attempts = raw.attempts;
                result.rate_limited = raw.rate_limited;
                // Kept for the audit trail even though nothing types from it.
                let _ = insert_raw(state, source, run_id, endpoint, symbol, raw).await;
            }
            // (outcome, requests made, of which answered 429) where the error knows.
            let (outcome, counts) = match &error {
                FinnhubError::NoData { .. } => (EtlOutcome::NoData, None),
                FinnhubError::BadData { .. } => (EtlOutcome::BadData, None),
                FinnhubError::NoAccess { .. } | FinnhubError::Rejected { .. } => {
                    (EtlOutcome::Rejected, None)
                }
                FinnhubError::RateLimited { attempts } => {
                    (EtlOutcome::RateLimited, Some((*attempts, *attempts)))
                }
                // Only reported once the retries are spent.
                FinnhubError::Unavailable(_) => (
                    EtlOutcome::Unavailable,
                    Some((state.config.finnhub.max_retries + 1, 0)),
                ),
                FinnhubError::NoApiKey | FinnhubError::BadApiKey { .. } => {
                    if !stop.swap(true, Ordering::Relaxed) {
                        *fatal.lock().expect("not poisoned") = Some(error.to_string());
                        tracing::error!(error = %error, "extraction stopped");
                    }
                    return result;
                }
            };
            if let Some((attempts, limited)) = counts {
                result.attempts = attempts;
                result.rate_limited = limited;
            }
            tracing::warn!(symbol = label, endpoint = endpoint.as_str(), error = %error, "extraction call failed");
            record(outcome, error.to_string()).await;
        }
    }
    result
}

async fn insert_raw(
    state: &AppState,
    source: MarketSource,
    run_id: i64,
    endpoint: Endpoint,
    symbol: Option<&str>,
    raw: &RawResponse,
) -> sqlx::Result<(i64, DateTime<Utc>)> {
    let params = params_json(&raw.params);
    market::insert_raw(
        &state.db,
        &RawInsert {
            run_id: Some(run_id),
            source,
            endpoint,
            symbol,
            params: &params,
            status: raw.status,
            body: &raw.body,
        },
    )
    .await
}

fn params_json(params: &[(String, String)]) -> serde_json::Value {
    serde_json::Value::Object(
        params
            .iter()
            .filter(|(k, _)| k != "token")
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
}

/// Raw row, then typed rows from it, then freshness: one transaction, so a crash never
/// leaves typed data without the raw row it came from.
async fn load(
    state: &AppState,
    source: MarketSource,
    run_id: i64,
    endpoint: Endpoint,
    symbol: Option<&str>,
    raw: &RawResponse,
) -> anyhow::Result<Result<(), TypingError>> {
    let params = params_json(&raw.params);
    let mut tx = state.db.begin().await?;
    let (raw_id, fetched_at) = market::insert_raw(
        &mut *tx,
        &RawInsert {
            run_id: Some(run_id),
            source,
            endpoint,
            symbol,
            params: &params,
            status: raw.status,
            body: &raw.body,
        },
    )
    .await?;
    let exchange = params.get("exchange").and_then(|v| v.as_str());
    let typed = match typing::type_raw(endpoint, symbol, exchange, &raw.body) {
        Ok(t) => t,
        Err(e) => {
            tx.commit().await?;
            return Ok(Err(e));
        }
    };
    store(&mut tx, raw_id, fetched_at, source.is_sample(), &typed).await?;
    let key = match endpoint {
        Endpoint::Earnings => EARNINGS_KEY,
        Endpoint::MarketHolidays => HOLIDAYS_KEY,
        _ => symbol.unwrap_or_default(),
    };
    market::mark_fetched(&mut *tx, key, endpoint, fetched_at).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Stores what one raw row types into: its typed rows, and the daily bars they give
/// (a quote its day's bar, candles their sessions'). The live load and the rebuild
/// both come through here.
async fn store(
    tx: &mut sqlx::PgConnection,
    raw_id: i64,
    fetched_at: DateTime<Utc>,
    sample: bool,
    typed: &Typed,
) -> sqlx::Result<()> {
    market::store_typed(&mut *tx, raw_id, fetched_at, sample, typed).await?;
    let bars = typing::daily_bars(typed, fetched_at);
    market::upsert_bars(&mut *tx, raw_id, sample, &bars).await?;
    Ok(())
}

#[derive(Debug, Default)]
pub struct RebuildReport {
    pub raw_rows: u64,
    pub typed_deleted: u64,
    pub typed_loaded: u64,
    pub no_data: u64,
    pub bad_data: u64,
}

/// Rebuilds the typed tables from the retained raw rows, without calling Finnhub: the
/// typed rows derived from retained raw rows are deleted and derived again, in the
/// order the responses arrived. Rows whose raw data was already purged stay. Takes the
/// extraction lock, so it never interleaves with a run; `None` when a run holds it.
pub async fn rebuild(state: &AppState) -> anyhow::Result<Option<RebuildReport>> {
    let Some(lock) = ExtractionLock::try_acquire(state).await? else {
        return Ok(None);
    };
    let result = rebuild_locked(state).await;
    lock.release().await;
    result.map(Some)
}

async fn rebuild_locked(state: &AppState) -> anyhow::Result<RebuildReport> {
    let mut report = RebuildReport::default();
    let mut tx = state.db.begin().await?;
    let Some(min_id) = market::min_raw_id(&mut *tx).await? else {
        return Ok(report);
    };
    report.typed_deleted = market::delete_rebuildable(&mut tx, min_id).await?;
    let mut after = min_id - 1;
    loop {
        let page = market::raw_page(&mut *tx, after, 500).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for raw in &page {
            report.raw_rows += 1;
            let Some(endpoint) = Endpoint::parse(&raw.endpoint) else {
                report.bad_data += 1;
                continue;
            };
            let exchange = raw.params.get("exchange").and_then(|v| v.as_str());
            match typing::type_raw(endpoint, raw.symbol.as_deref(), exchange, &raw.body) {
                Ok(typed) => {
                    store(
                        &mut tx,
                        raw.id,
                        raw.fetched_at,
                        raw.source.is_sample(),
                        &typed,
                    )
                    .await?;
                    report.typed_loaded += 1;
                }
                Err(TypingError::NoData(_)) => report.no_data += 1,
                Err(TypingError::BadData(_)) => report.bad_data += 1,
            }
        }
    }
    tx.commit().await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(s: &str) -> Symbol {
        Symbol::parse(s).unwrap()
    }

    #[test]
    fn a_first_run_fetches_everything_once() {
        let now = Utc::now();
        let (tasks, reused) = plan(
            &[sym("AAPL"), sym("MSFT")],
            &Wanted::all(&[sym("AAPL"), sym("MSFT")]),
            &HashMap::new(),
            now,
            &Freshness::default(),
        );
        assert_eq!(reused, 0);
        let count = |e: Endpoint| tasks.iter().filter(|t| t.endpoint == e).count();
        assert_eq!(count(Endpoint::Quote), 2);
        assert_eq!(count(Endpoint::Profile), 2);
        assert_eq!(count(Endpoint::CompanyNews), 2);
        assert_eq!(
            count(Endpoint::Earnings),
            1,
            "one market-wide earnings call"
        );
        assert_eq!(count(Endpoint::MarketHolidays), 1);
    }

    #[test]
    fn a_run_fetches_news_only_where_someone_reads_it_and_earnings_only_when_read() {
        let symbols = [sym("AAPL"), sym("MSFT")];
        let wanted = Wanted {
            news: ["AAPL".to_owned()].into(),
            earnings: false,
        };
        let (tasks, _) = plan(
            &symbols,
            &wanted,
            &HashMap::new(),
            Utc::now(),
            &Freshness::default(),
        );
        let news: Vec<_> = tasks
            .iter()
            .filter(|t| t.endpoint == Endpoint::CompanyNews)
            .map(|t| t.symbol.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(news, vec!["AAPL"]);
        assert!(!tasks.iter().any(|t| t.endpoint == Endpoint::Earnings));
    }

    #[test]
    fn fresh_data_is_reused() {
        let now = Utc::now();
        let mut last = HashMap::new();
        let at = |mins: i64| now - Duration::minutes(mins);
        last.insert(("AAPL".into(), "quote".into()), at(2));
        last.insert(("AAPL".into(), "profile".into()), at(60 * 24 * 3));
        last.insert(("AAPL".into(), "company_news".into()), at(10));
        last.insert(("MSFT".into(), "quote".into()), at(6));
        last.insert(("MSFT".into(), "profile".into()), at(60 * 24 * 8));
        last.insert((EARNINGS_KEY.into(), "earnings".into()), at(60));
        last.insert((HOLIDAYS_KEY.into(), "market_holidays".into()), at(60 * 24));
        let (tasks, reused) = plan(
            &[sym("AAPL"), sym("MSFT")],
            &Wanted::all(&[sym("AAPL"), sym("MSFT")]),
            &last,
            now,
            &Freshness::default(),
        );
        let names: Vec<(Endpoint, Option<String>)> = tasks
            .iter()
            .map(|t| (t.endpoint, t.symbol.as_ref().map(|s| s.to_string())))
            .collect();
        assert_eq!(reused, 1);
        assert_eq!(
            names,
            vec![
                (Endpoint::Quote, Some("MSFT".into())),
                (Endpoint::Profile, Some("MSFT".into())),
                (Endpoint::CompanyNews, Some("MSFT".into())),
            ]
        );
    }

    #[test]
    fn news_is_fetched_since_the_last_fetch_and_at_most_a_week_back() {
        let now = Utc::now();
        let mut last = HashMap::new();
        last.insert(
            ("AAPL".into(), "company_news".into()),
            now - Duration::days(3),
        );
        last.insert(
            ("MSFT".into(), "company_news".into()),
            now - Duration::days(30),
        );
        let (tasks, _) = plan(
            &[sym("AAPL"), sym("MSFT")],
            &Wanted::all(&[sym("AAPL"), sym("MSFT")]),
            &last,
            now,
            &Freshness::default(),
        );
        let from = |s: &str| {
            tasks
                .iter()
                .find(|t| {
                    t.endpoint == Endpoint::CompanyNews && t.symbol.as_ref().unwrap().as_ref() == s
                })
                .unwrap()
                .from
                .unwrap()
        };
        assert_eq!(from("AAPL"), (now - Duration::days(3)).date_naive());
        assert_eq!(from("MSFT"), now.date_naive() - Duration::days(7));
    }
}
