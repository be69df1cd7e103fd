use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::{Error, Result};
use crate::domain::CurrentUser;
use crate::domain::Symbol;
use crate::repositories::{users, watchlist};
use crate::state::AppState;

pub struct Item {
    pub symbol: String,
    pub added_at: DateTime<Utc>,
}

fn item(row: watchlist::WatchlistItemRow) -> Item {
    Item {
        symbol: row.symbol,
        added_at: row.added_at,
    }
}

pub async fn list(state: &AppState, user: &CurrentUser) -> Result<Vec<Item>> {
    let rows = watchlist::list(&state.db, user.user_id).await?;
    Ok(rows.into_iter().map(item).collect())
}

#[tracing::instrument(skip_all, fields(user_id = %user.user_id, %symbol))]
pub async fn add(state: &AppState, user: &CurrentUser, symbol: &Symbol) -> Result<Item> {
    let max = i64::from(state.config.accounts.watchlist_max);
    let mut tx = state.db.begin().await?;
    // Lock the user so two concurrent adds cannot both pass the size check.
    users::lock(&mut *tx, user.user_id).await?;
    if watchlist::count(&mut *tx, user.user_id).await? >= max {
        return Err(Error::LimitReached(format!(
            "Your watchlist already holds the maximum of {max} symbols; remove one first."
        )));
    }
    let added = watchlist::insert(&mut *tx, user.user_id, symbol)
        .await?
        .ok_or_else(|| Error::AlreadyExists(format!("{symbol} is already on your watchlist.")))?;
    tx.commit().await.context("committing watchlist add")?;
    // Its price at once (within the shared Finnhub budget), not at the next digest:
    // the preview shows it within seconds. In the background, so the answer does not
    // wait for Finnhub; the planner fetches it if this fails.
    let (state, symbol) = (state.clone(), symbol.clone());
    tokio::spawn(async move {
        if let Err(error) = crate::services::etl::fetch_new_symbol(&state, &symbol).await {
            tracing::warn!(error = ?error, %symbol, "fetching a newly added symbol failed");
        }
    });
    Ok(item(added))
}

pub async fn remove(state: &AppState, user: &CurrentUser, symbol: &Symbol) -> Result<()> {
    if watchlist::delete(&state.db, user.user_id, symbol).await? {
        Ok(())
    } else {
        Err(Error::NotFound(format!(
            "{symbol} is not on your watchlist."
        )))
    }
}
