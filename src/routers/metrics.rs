use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Prometheus' text exposition format.
const EXPOSITION: &str = "text/plain; version=0.0.4";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// Prometheus metrics.
///
/// Digest outcomes, SES send latency, Finnhub calls by endpoint and status, 429s, and
/// the backlog of each outbox (counted at scrape time). The backlog keeps its last
/// value when the database does not answer; the scrape itself never fails over it.
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain; version=0.0.4"))
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    crate::metrics::refresh_backlog(&state.db).await;
    (
        [(CONTENT_TYPE, EXPOSITION)],
        crate::metrics::handle().render(),
    )
}
