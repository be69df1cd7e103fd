//! Symbol lookup through Finnhub's search, cached in PostgreSQL, and the check that a
//! symbol exists before it joins a watchlist.

use super::{Error, Result};
use crate::clients::finnhub::{FinnhubError, Priority, with_priority};
use crate::domain::CurrentUser;
use crate::domain::{DomainError, Symbol};
use crate::repositories::symbols::{self, SymbolRow};
use crate::state::AppState;

/// Search answers change rarely; a day keeps Finnhub calls for typing-as-you-search
/// down to one per distinct query per day.
const SEARCH_CACHE_SECS: i64 = 24 * 3600;
pub const MAX_QUERY_CHARS: usize = 50;
const MAX_RESULTS: usize = 20;

fn unavailable(error: &FinnhubError) -> Error {
    tracing::warn!(error = %error, "symbol lookup failed");
    Error::Unavailable(
        "The market data provider could not be reached to look the symbol up; try again in a minute.".into(),
    )
}

/// Looks up (cache first) the symbols matching `query`.
async fn lookup(state: &AppState, query: &str) -> Result<Vec<SymbolRow>> {
    let key = query.trim().to_lowercase();
    if let Some(cached) = symbols::cached_search(&state.db, &key, SEARCH_CACHE_SECS).await?
        && let Ok(rows) = serde_json::from_value::<Vec<SymbolRow>>(cached)
    {
        return Ok(rows);
    }
    // A person is waiting: ahead of background refreshes, behind digests due soon.
    let fetched = with_priority(Priority::Search, state.market.search(query.trim()))
        .await
        .map_err(|e| unavailable(&e))?;
    let rows: Vec<SymbolRow> = fetched
        .value
        .result
        .into_iter()
        .filter(|m| Symbol::parse(&m.symbol).is_ok())
        .map(|m| SymbolRow {
            symbol: m.symbol.to_ascii_uppercase(),
            display_symbol: if m.display_symbol.is_empty() {
                m.symbol.clone()
            } else {
                m.display_symbol
            },
            description: m.description,
            kind: m.kind,
        })
        .collect();
    let json = serde_json::to_value(&rows).map_err(anyhow::Error::from)?;
    symbols::store_search(&state.db, &key, &json).await?;
    symbols::remember(&state.db, &rows).await?;
    Ok(rows)
}

/// Symbols matching free text, for search-as-you-type. Rate-limited per account.
pub async fn search(state: &AppState, user: &CurrentUser, query: &str) -> Result<Vec<SymbolRow>> {
    let trimmed = query.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_QUERY_CHARS {
        return Err(
            DomainError::new("q", format!("must be 1 to {MAX_QUERY_CHARS} characters")).into(),
        );
    }
    charge_search(state, user)?;
    let mut rows = lookup(state, trimmed).await?;
    rows.truncate(MAX_RESULTS);
    Ok(rows)
}

/// Takes one lookup from the account's search budget.
fn charge_search(state: &AppState, user: &CurrentUser) -> Result<()> {
    state
        .search_throttle
        .check_key(&user.user_id)
        .map_err(|n| Error::TooManyAttempts {
            retry_after_secs: super::throttle::retry_after_secs(&n),
        })
}

/// Succeeds when Finnhub knows `symbol`; a clear 4xx when it does not. A symbol we
/// have not seen yet costs a lookup from the account's search budget, so adding made-up
/// symbols cannot spend the Finnhub budget that digests need.
pub async fn ensure_known(state: &AppState, user: &CurrentUser, symbol: &Symbol) -> Result<()> {
    if symbols::known(&state.db, symbol.as_ref()).await? {
        return Ok(());
    }
    charge_search(state, user)?;
    let rows = lookup(state, symbol.as_ref()).await?;
    let exact = rows.iter().any(|r| {
        r.symbol == symbol.as_ref() || r.display_symbol.eq_ignore_ascii_case(symbol.as_ref())
    });
    if exact {
        Ok(())
    } else {
        Err(DomainError::new(
            "symbol",
            format!("{symbol} is not a symbol the market data provider knows; search for the company by name"),
        )
        .into())
    }
}
