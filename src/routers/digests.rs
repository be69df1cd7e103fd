use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Problem};
use crate::services::accounts::CurrentUser;
use crate::services::digest;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(preview))
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"local_date": "2026-11-23", "subject": "Quotidian Mon 23 Nov: NVDA +3.60%", "html": "<!doctype html>...", "text": "Your Quotidian digest ...", "sample_data": false}))]
pub struct DigestPreview {
    /// The recipient's local date the digest is for.
    pub local_date: NaiveDate,
    pub subject: String,
    /// The HTML part, exactly as the email would carry it.
    pub html: String,
    /// The plain-text part.
    pub text: String,
    /// True when the market data is the offline sample data.
    pub sample_data: bool,
}

/// Preview today's digest.
///
/// Renders the digest from the market data loaded so far, exactly as the email would
/// look, without sending anything. A ticker without a price shows as "data
/// unavailable".
#[utoipa::path(
    get, path = "/api/v1/digests/preview", tag = "digests",
    security(("session" = [])),
    responses(
        (status = 200, description = "The rendered digest", body = DigestPreview),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn preview(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<DigestPreview>, ApiError> {
    let (input, composed) = digest::preview(&state, &user).await?;
    Ok(Json(DigestPreview {
        local_date: input.local_date,
        subject: composed.subject,
        html: composed.html,
        text: composed.text,
        sample_data: input.sample,
    }))
}
