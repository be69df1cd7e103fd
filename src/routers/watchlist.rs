use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ApiPath};
use crate::domain::CurrentUser;
use crate::domain::Symbol;
use crate::error::{ApiError, Problem};
use crate::services::watchlist::{self, Item};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, add))
        .routes(routes!(remove))
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"symbol": "AAPL", "added_at": "2026-11-21T09:10:00Z"}))]
pub struct WatchlistItem {
    pub symbol: String,
    pub added_at: DateTime<Utc>,
}

impl From<Item> for WatchlistItem {
    fn from(item: Item) -> Self {
        Self {
            symbol: item.symbol,
            added_at: item.added_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"symbols": [{"symbol": "AAPL", "added_at": "2026-11-21T09:10:00Z"}], "max": 50}))]
pub struct WatchlistResponse {
    /// In the order they were added.
    pub symbols: Vec<WatchlistItem>,
    /// How many symbols a watchlist may hold.
    pub max: u32,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"symbol": "msft"}))]
pub struct AddSymbolRequest {
    /// A ticker as Finnhub writes it (`AAPL`, `BRK.B`, `BINANCE:BTCUSDT`): up to 20
    /// letters, digits, `.`, `:` and `-`, starting with a letter or digit. Case and
    /// surrounding whitespace do not matter.
    #[schema(
        pattern = r"^[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[A-Za-z0-9][A-Za-z0-9.:-]{0,19}[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub symbol: String,
}

/// The watchlist.
#[utoipa::path(
    get, path = "/api/v1/watchlist", tag = "watchlist", operation_id = "list_watchlist",
    security(("session" = [])),
    responses(
        (status = 200, description = "The symbols on the watchlist", body = WatchlistResponse),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<WatchlistResponse>, ApiError> {
    let items = watchlist::list(&state, &user).await?;
    Ok(Json(WatchlistResponse {
        symbols: items.into_iter().map(Into::into).collect(),
        max: state.config.accounts.watchlist_max,
    }))
}

/// Add a symbol.
///
/// The symbol is normalised to upper case, checked for shape, and checked against
/// Finnhub's symbol lookup: an unknown symbol is refused with 422.
#[utoipa::path(
    post, path = "/api/v1/watchlist", tag = "watchlist",
    security(("session" = [])),
    request_body = AddSymbolRequest,
    responses(
        (status = 201, description = "Added", body = WatchlistItem),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already on the list (`already-exists`) or the list is full (`limit-reached`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a valid or not a known symbol", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "A symbol not seen before needs a lookup, and the account's search budget is spent", body = Problem, content_type = "application/problem+json",
            headers(("retry-after" = u64, description = "Seconds to wait"))),
        (status = 503, description = "The market data provider could not be reached to check the symbol", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<AddSymbolRequest>,
) -> Result<(StatusCode, Json<WatchlistItem>), ApiError> {
    let symbol = Symbol::parse(&body.symbol)?;
    crate::services::symbols::ensure_known(&state, &user, &symbol).await?;
    let item = watchlist::add(&state, &user, &symbol).await?;
    Ok((StatusCode::CREATED, Json(item.into())))
}

/// Remove a symbol.
#[utoipa::path(
    delete, path = "/api/v1/watchlist/{symbol}", tag = "watchlist",
    security(("session" = [])),
    params(("symbol" = String, Path, description = "The symbol to remove, as on the watchlist; case does not matter", example = "AAPL",
        pattern = r"^[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[A-Za-z0-9][A-Za-z0-9.:-]{0,19}[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not on the watchlist", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a valid symbol", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(symbol): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let symbol = Symbol::parse(&symbol)?;
    watchlist::remove(&state, &user, &symbol).await?;
    Ok(StatusCode::NO_CONTENT)
}
