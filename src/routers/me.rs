use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum_extra::extract::cookie::CookieJar;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::auth::removal_cookie;
use super::extract::ApiJson;
use crate::domain::CurrentUser;
use crate::domain::Password;
use crate::error::{ApiError, Problem};
use crate::services::accounts;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me, delete_me))
        .routes(routes!(change_password))
        .routes(routes!(revoke_sessions))
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0d7c2a4e-6a43-4f0e-9d85-2b1f0b7f6c11", "email": "ada@example.com", "created_at": "2026-11-21T09:00:00Z", "confirmed_at": "2026-11-21T09:05:00Z", "operator": false}))]
pub struct MeResponse {
    pub id: Uuid,
    pub email: String,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    /// True for the accounts in `QUOTIDIAN_OPERATOR_EMAILS`, which may use the
    /// `/api/v1/operator/...` resources.
    pub operator: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "velvet-harbor-oxide-42", "new_password": "quiet-lantern-meadow-77"}))]
pub struct ChangePasswordRequest {
    #[schema(min_length = 1, max_length = 128)]
    pub current_password: String,
    /// 10 to 128 characters and hard to guess, as at signup.
    #[schema(min_length = 10, max_length = 128)]
    pub new_password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"password": "velvet-harbor-oxide-42"}))]
pub struct DeleteAccountRequest {
    /// The current password, to confirm that the person at the keyboard means it.
    #[schema(min_length = 1, max_length = 128)]
    pub password: String,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"revoked": 3}))]
pub struct RevokedResponse {
    /// How many sessions were ended, this one included.
    pub revoked: u64,
}

/// The logged-in account.
#[utoipa::path(
    get, path = "/api/v1/me", tag = "account",
    security(("session" = [])),
    responses(
        (status = 200, description = "The account", body = MeResponse),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_me(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<MeResponse>, ApiError> {
    let profile = accounts::profile(&state, &user).await?;
    let operator = state.config.accounts.is_operator(&profile.email);
    Ok(Json(MeResponse {
        operator,
        id: profile.user_id,
        email: profile.email,
        created_at: profile.created_at,
        confirmed_at: profile.confirmed_at,
    }))
}

/// Delete the account and all its data.
///
/// Needs the current password. Removes the account, its sessions, watchlist,
/// preferences and pending emails at once; it cannot be undone.
#[utoipa::path(
    delete, path = "/api/v1/me", tag = "account",
    security(("session" = [])),
    request_body = DeleteAccountRequest,
    responses(
        (status = 204, description = "Account deleted; the session cookie is cleared"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong password", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_me(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
    ApiJson(body): ApiJson<DeleteAccountRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let password = Password::presented(&body.password)?;
    accounts::delete_account(&state, &user, &password).await?;
    Ok((
        jar.add(removal_cookie(&state.config)),
        StatusCode::NO_CONTENT,
    ))
}

/// Change the password.
///
/// Needs the current password. Every other session of the account is logged out; this
/// one stays.
#[utoipa::path(
    put, path = "/api/v1/me/password", tag = "account",
    security(("session" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Password changed"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong current password or weak new one", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let current =
        Password::presented(&body.current_password).map_err(|e| e.for_field("current_password"))?;
    accounts::change_password(&state, &user, &current, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Log out everywhere.
///
/// Ends every session of the account, on every device, this one included.
#[utoipa::path(
    delete, path = "/api/v1/me/sessions", tag = "account",
    security(("session" = [])),
    responses(
        (status = 200, description = "Sessions ended; the cookie is cleared", body = RevokedResponse),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_sessions(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
) -> Result<impl IntoResponse, ApiError> {
    let revoked = accounts::logout_everywhere(&state, &user).await?;
    Ok((
        jar.add(removal_cookie(&state.config)),
        Json(RevokedResponse { revoked }),
    ))
}
