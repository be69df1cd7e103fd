use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::ApiJson;
use crate::domain::CurrentUser;
use crate::domain::{Days, SendTime, TimeZone};
use crate::error::{ApiError, Problem};
use crate::services::preferences::{self, Changes, Preferences};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_preferences, update_preferences))
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "time_zone": "America/New_York", "send_time": "07:30", "days": "weekdays", "paused": false,
    "include_news": true, "include_earnings": true, "next_send_at": "2026-11-23T12:30:00Z"
}))]
pub struct PreferencesResponse {
    /// IANA time zone name.
    pub time_zone: String,
    /// Local send time, 24-hour `HH:MM`.
    pub send_time: String,
    pub days: Days,
    /// While paused, no digests are sent.
    pub paused: bool,
    pub include_news: bool,
    pub include_earnings: bool,
    /// When the next digest is due; null while paused or before the address is
    /// confirmed.
    pub next_send_at: Option<DateTime<Utc>>,
}

impl From<Preferences> for PreferencesResponse {
    fn from(p: Preferences) -> Self {
        Self {
            time_zone: p.schedule.time_zone.name().to_owned(),
            send_time: p.schedule.send_time.to_hhmm(),
            days: p.schedule.days,
            paused: p.paused,
            include_news: p.include_news,
            include_earnings: p.include_earnings,
            next_send_at: p.next_send_at,
        }
    }
}

/// A partial update: fields left out stay as they are.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"time_zone": "Europe/Paris", "send_time": "06:45", "days": "trading_days", "paused": false}))]
pub struct PreferencesUpdate {
    /// IANA time zone name, e.g. `America/New_York`.
    pub time_zone: Option<String>,
    /// Local send time, 24-hour `HH:MM`.
    #[schema(
        pattern = r"^[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*(?:[01][0-9]|2[0-3]):[0-5][0-9][\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub send_time: Option<String>,
    pub days: Option<Days>,
    /// Pause (true) or resume (false) the digest.
    pub paused: Option<bool>,
    pub include_news: Option<bool>,
    pub include_earnings: Option<bool>,
}

/// Schedule and content preferences.
#[utoipa::path(
    get, path = "/api/v1/preferences", tag = "preferences",
    security(("session" = [])),
    responses(
        (status = 200, description = "The preferences", body = PreferencesResponse),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_preferences(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<PreferencesResponse>, ApiError> {
    Ok(Json(preferences::get(&state, &user).await?.into()))
}

/// Change the schedule or content.
///
/// Time zone, local send time, days (`every_day`, `weekdays`, `trading_days`), pause and
/// resume, news and earnings on or off. The answer holds the next send time computed
/// from the new values.
#[utoipa::path(
    patch, path = "/api/v1/preferences", tag = "preferences",
    security(("session" = [])),
    request_body = PreferencesUpdate,
    responses(
        (status = 200, description = "Saved", body = PreferencesResponse),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown time zone, impossible time, unknown days value or wrong type", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_preferences(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<PreferencesUpdate>,
) -> Result<Json<PreferencesResponse>, ApiError> {
    let mut errors = Vec::new();
    let time_zone = body
        .time_zone
        .as_deref()
        .map(TimeZone::parse)
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let send_time = body
        .send_time
        .as_deref()
        .map(SendTime::parse)
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    if !errors.is_empty() {
        return Err(ApiError::from(errors));
    }
    let changes = Changes {
        time_zone,
        send_time,
        days: body.days,
        paused: body.paused,
        include_news: body.include_news,
        include_earnings: body.include_earnings,
    };
    Ok(Json(
        preferences::update(&state, &user, changes).await?.into(),
    ))
}
