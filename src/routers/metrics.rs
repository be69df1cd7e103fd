use axum::Extension;
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
/// On the public listener unless `QUOTIDIAN_METRICS_BIND` gives metrics one of their
/// own (then this path is a 404 here). Digest outcomes, SES send latency, Finnhub calls by endpoint and status, 429s, and
/// the backlog of each outbox (counted at scrape time). The backlog keeps its last
/// value when the database does not answer; the scrape itself never fails over it.
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 404, description = "Metrics are served on their own listener (QUOTIDIAN_METRICS_BIND)", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn metrics(
    State(state): State<AppState>,
    own_listener: Option<Extension<MetricsListener>>,
) -> Result<impl IntoResponse, crate::error::ApiError> {
    // With a listener of their own, metrics are not on the public port at all.
    if state.config.server.metrics_bind.is_some() && own_listener.is_none() {
        return Err(crate::error::ApiError::not_found(
            "Metrics are served on their own listener here.",
        ));
    }
    crate::metrics::refresh_backlog(&state.db).await;
    Ok((
        [(CONTENT_TYPE, EXPOSITION)],
        crate::metrics::handle().render(),
    ))
}

/// Marks requests that came in on `QUOTIDIAN_METRICS_BIND`.
#[derive(Clone, Copy)]
pub struct MetricsListener;

/// The router of the metrics listener: `/metrics` and nothing else.
pub fn own_listener(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(metrics))
        .layer(Extension(MetricsListener))
        .with_state(state)
}

/// Serves `/metrics` on its own listener until `shutdown` resolves.
pub async fn serve_own_listener(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, own_listener(state))
        .with_graceful_shutdown(shutdown)
        .await
}
