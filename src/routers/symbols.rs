use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::ApiQuery;
use crate::domain::CurrentUser;
use crate::error::{ApiError, Problem};
use crate::services::symbols;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// A company name or ticker, 1 to 50 characters not counting surrounding whitespace.
    #[param(
        example = "apple",
        pattern = r"^[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000](?:[\s\S]{0,48}[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub q: String,
}

#[derive(Serialize, ToSchema)]
pub struct SymbolHit {
    /// The symbol to add to a watchlist.
    pub symbol: String,
    pub display_symbol: String,
    /// The company or instrument name.
    pub description: String,
    /// `Common Stock`, `ETP`, `ADR`, ...
    pub kind: String,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"query": "apple", "results": [{"symbol": "AAPL", "display_symbol": "AAPL", "description": "APPLE INC", "kind": "Common Stock"}], "sample_data": false}))]
pub struct SearchResponse {
    pub query: String,
    pub results: Vec<SymbolHit>,
    /// True when the offline sample source stands in for Finnhub.
    pub sample_data: bool,
}

/// Search symbols.
///
/// Finds symbols by company name or ticker through Finnhub's symbol lookup (cached for
/// a day). Limited per account (`QUOTIDIAN_SYMBOL_SEARCHES_PER_MINUTE`).
#[utoipa::path(
    get, path = "/api/v1/symbols", tag = "watchlist",
    security(("session" = [])),
    params(SearchParams),
    responses(
        (status = 200, description = "Matching symbols, best first", body = SearchResponse),
        (status = 400, description = "Missing query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or overlong query", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many searches", body = Problem, content_type = "application/problem+json",
            headers(("retry-after" = u64, description = "Seconds to wait"))),
        (status = 503, description = "The market data provider is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> Result<Json<SearchResponse>, ApiError> {
    let rows = symbols::search(&state, &user, &params.q).await?;
    Ok(Json(SearchResponse {
        query: params.q.trim().to_owned(),
        results: rows
            .into_iter()
            .map(|r| SymbolHit {
                symbol: r.symbol,
                display_symbol: r.display_symbol,
                description: r.description,
                kind: r.kind,
            })
            .collect(),
        sample_data: state.market_source.is_sample(),
    }))
}
