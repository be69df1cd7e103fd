use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Problem};
use crate::repositories;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Status {
    pub status: String,
}

/// Liveness.
///
/// Answers as long as the process serves HTTP; checks nothing else.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive", body = Status)))]
pub async fn healthz() -> Json<Status> {
    Json(Status {
        status: "ok".into(),
    })
}

/// Readiness.
///
/// Ready when the database answers within two seconds and no background loop (email
/// outbox, scheduler, delivery, audit, maintenance) has stopped for good.
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Status),
        (status = 503, description = "The database is unreachable, or a background loop died", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    let dead = state.loops.dead();
    if !dead.is_empty() {
        tracing::warn!(?dead, "readiness: background loops died");
        return Err(ApiError::unavailable(format!(
            "Background work has stopped in this process: {}.",
            dead.join(", ")
        )));
    }
    let ping = repositories::health::ping(&state.db);
    match tokio::time::timeout(Duration::from_secs(2), ping).await {
        Ok(Ok(_)) => Ok(Json(Status {
            status: "ready".into(),
        })),
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "readiness: database query failed");
            Err(ApiError::unavailable("The database is not answering."))
        }
        Err(_) => {
            tracing::warn!("readiness: database timed out");
            Err(ApiError::unavailable(
                "The database did not answer within 2 seconds.",
            ))
        }
    }
}
