//! The planner's leader at work (ADR 0013): each step reads who is due to read what
//! in the planning horizon, asks the pure [`planner`](super::planner) what to fetch
//! now, and makes the most urgent of those calls as one extraction run. One process
//! leads at a time (`workers::market` holds the lock); every call draws from the
//! Finnhub budget shared by all processes, at the priority the plan gave it.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::planner::{self, DemandInput};
use super::{EARNINGS_KEY, HOLIDAYS_KEY, NoProgress, RunReport, execute_all};
use crate::clients::finnhub::Priority;
use crate::domain::EtlOutcome;
use crate::domain::EtlTrigger;
use crate::domain::market::Endpoint;
use crate::repositories::market;
use crate::state::AppState;

/// One step makes at most this many seconds' worth of the budget's calls, so that a
/// digest coming due is planned again within seconds.
const STEP_SECS: f64 = 5.0;

/// A call that failed is not planned again for this long (a symbol Finnhub does not
/// know, for longer), so one bad symbol cannot eat the budget.
fn retry_after(outcome: EtlOutcome) -> Duration {
    match outcome {
        EtlOutcome::NoData | EtlOutcome::BadData | EtlOutcome::Rejected => Duration::minutes(30),
        _ => Duration::seconds(30),
    }
}

/// What the leader remembers between steps.
#[derive(Debug, Default)]
pub struct Leader {
    /// (symbol or market-wide key, endpoint) -> not before.
    held: HashMap<(String, String), DateTime<Utc>>,
    /// The daily history's inputs, read again every [`HISTORY_EVERY`] or when the
    /// watched symbols change: counting every watched symbol's bars each step would
    /// cost more than the step.
    history: Option<(DateTime<Utc>, planner::History)>,
}

const HISTORY_EVERY: Duration = Duration::seconds(60);

/// A symbol added to a watchlist this recently is being fetched by the process that
/// added it (`etl::fetch_new_symbol`); the planner fetches it only if that failed.
const JUST_ADDED_SECS: f64 = 15.0;

/// What one step did.
#[derive(Debug, Default)]
pub struct Step {
    /// Calls the plan wanted now (after the ones held back for their failures).
    pub wanted: usize,
    /// The run that made the first of them, if any.
    pub run: Option<RunReport>,
    /// When the plan as it stands next wants a call (with nothing to do now).
    pub wake_at: Option<DateTime<Utc>>,
}

impl Leader {
    /// Plans once and makes the most urgent calls.
    pub async fn step(&mut self, state: &AppState) -> anyhow::Result<Step> {
        let now = Utc::now();
        let mut settings = state.config.etl.plan_settings();
        settings.candles = super::candles_available(state);
        let horizon = now + settings.horizon;
        let rows: Vec<DemandInput> = market::demand_until(&state.db, horizon)
            .await?
            .into_iter()
            .map(|r| DemandInput {
                symbol: r.symbol,
                due: r.due,
                news: r.news,
                earnings: r.earnings,
            })
            .collect();
        let counts = market::due_counts_until(&state.db, horizon).await?;
        let never_quoted = market::never_quoted(&state.db).await?;
        let demand = planner::demand(&rows, &counts, &never_quoted, state.ses_rate);
        // The watched symbols every step (a symbol just added needs its history at
        // once); their bar counts and the calendar when those change, or every minute.
        let watched = market::watched_symbols(&state.db).await?;
        let history = match self.history.take() {
            Some((at, history))
                if now - at < HISTORY_EVERY && same_symbols(&history.watched, &watched) =>
            {
                (at, history)
            }
            _ => (now, history(state, watched, settings.candles).await?),
        };
        let history = &self.history.insert(history).1;

        let mut keys: Vec<String> = demand
            .symbols
            .iter()
            .map(|d| d.symbol.as_ref().to_owned())
            .chain(demand.idle.iter().map(|s| s.as_ref().to_owned()))
            .chain(history.watched.iter().map(|s| s.as_ref().to_owned()))
            .collect();
        keys.extend([EARNINGS_KEY.to_owned(), HOLIDAYS_KEY.to_owned()]);
        let fetched: planner::Fetched = market::fetch_state(&state.db, &keys)
            .await?
            .into_iter()
            .map(|(s, e, at)| ((s, e), at))
            .collect();

        self.held.retain(|_, until| *until > now);
        let mut planned = planner::plan_with_history(&demand, history, &fetched, now, &settings);
        planned.retain(|p| !self.held.contains_key(&held_key(&p.task)));
        if planned.iter().any(|p| p.priority == Priority::NewSymbol) {
            // The process that added a symbol fetches its quote and profile itself at
            // once.
            let adding = market::recently_added(&state.db, JUST_ADDED_SECS).await?;
            planned.retain(|p| {
                p.priority != Priority::NewSymbol
                    || !matches!(p.task.endpoint, Endpoint::Quote | Endpoint::Profile)
                    || p.task
                        .symbol
                        .as_ref()
                        .is_none_or(|s| !adding.iter().any(|a| a == s.as_ref()))
            });
        }
        let wanted = planned.len();
        if planned.is_empty() {
            return Ok(Step {
                wake_at: planner::next_wake(&demand, &fetched, now, &settings),
                ..Step::default()
            });
        }
        let per_second = state.market.calls_per_second().unwrap_or(1.0);
        planned.truncate(((per_second * STEP_SECS).ceil() as usize).max(1));
        let symbols = planned
            .iter()
            .filter_map(|p| p.task.symbol.as_ref())
            .collect::<std::collections::HashSet<_>>()
            .len();
        let tasks = planned.into_iter().map(|p| (p.task, p.priority)).collect();
        let report = execute_all(
            state,
            EtlTrigger::Planner,
            symbols,
            tasks,
            None,
            &NoProgress,
        )
        .await?;
        for failure in &report.failures {
            let key = if failure.symbol == "(market)" {
                match Endpoint::parse(&failure.endpoint) {
                    Some(Endpoint::Earnings) => EARNINGS_KEY.to_owned(),
                    _ => HOLIDAYS_KEY.to_owned(),
                }
            } else {
                failure.symbol.clone()
            };
            self.held.insert(
                (key, failure.endpoint.clone()),
                now + retry_after(failure.outcome),
            );
        }
        Ok(Step {
            wanted,
            run: Some(report),
            wake_at: None,
        })
    }
}

/// The daily history's inputs: every watched symbol, those short of a year of bars
/// (only asked for when candles could fill them), the exchange's closures.
async fn history(
    state: &AppState,
    watched: Vec<String>,
    candles: bool,
) -> anyhow::Result<planner::History> {
    let short = if candles {
        market::symbols_without_history(&state.db, &watched, super::HISTORY_MIN_BARS).await?
    } else {
        Vec::new()
    };
    let parse = |all: Vec<String>| {
        all.iter()
            .filter_map(|s| crate::domain::Symbol::parse(s).ok())
            .collect()
    };
    Ok(planner::History {
        watched: parse(watched),
        short: parse(short),
        closures: market::full_closures(&state.db, super::HOLIDAY_EXCHANGE).await?,
    })
}

fn same_symbols(parsed: &[crate::domain::Symbol], raw: &[String]) -> bool {
    parsed.len() == raw.len() && parsed.iter().zip(raw).all(|(a, b)| a.as_ref() == b)
}

fn held_key(task: &super::Task) -> (String, String) {
    let key = match (&task.symbol, task.endpoint) {
        (Some(symbol), _) => symbol.as_ref().to_owned(),
        (None, Endpoint::Earnings) => EARNINGS_KEY.to_owned(),
        (None, _) => HOLIDAYS_KEY.to_owned(),
    };
    (key, task.endpoint.as_str().to_owned())
}
