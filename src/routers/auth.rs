use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{ApiJson, ClientIp, UserAgent};
use super::session_cookie_name;
use crate::config::Config;
use crate::domain::CurrentUser;
use crate::domain::{EmailAddress, Password, TimeZone};
use crate::error::{ApiError, Problem};
use crate::services::accounts;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(confirm))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(request_password_reset))
        .routes(routes!(reset_password))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.com", "password": "velvet-harbor-oxide-42", "time_zone": "Europe/London"}))]
pub struct SignupRequest {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 10 to 128 characters and hard to guess (a strength estimate, zxcvbn score 3 or
    /// more, that does not count the email address); a passphrase of several words works.
    #[schema(min_length = 10, max_length = 128)]
    pub password: String,
    /// IANA time zone for the digest schedule; defaults to UTC. Changeable later.
    pub time_zone: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"message": "Check your inbox: we sent a link to confirm your address."}))]
pub struct MessageResponse {
    pub message: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "q9tK0mZ2c1X8b3Yp4Rw7s6Vn5Lh0Jd2Fg9Ha1Qe3Uo8"}))]
pub struct TokenRequest {
    /// The `token` parameter of the link in the email.
    pub token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.com", "password": "velvet-harbor-oxide-42"}))]
pub struct LoginRequest {
    pub email: String,
    #[schema(min_length = 1, max_length = 128)]
    pub password: String,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"user_id": "0d7c2a4e-6a43-4f0e-9d85-2b1f0b7f6c11", "email": "ada@example.com", "expires_at": "2026-11-28T09:00:00Z"}))]
pub struct SessionResponse {
    pub user_id: Uuid,
    pub email: String,
    /// When this session ends; log in again after it.
    pub expires_at: DateTime<Utc>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.com"}))]
pub struct PasswordResetRequest {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "q9tK0mZ2c1X8b3Yp4Rw7s6Vn5Lh0Jd2Fg9Ha1Qe3Uo8", "new_password": "quiet-lantern-meadow-77"}))]
pub struct PasswordResetConfirmRequest {
    /// The `token` parameter of the link in the email.
    pub token: String,
    /// 10 to 128 characters and hard to guess, as at signup.
    #[schema(min_length = 10, max_length = 128)]
    pub new_password: String,
}

pub(super) fn session_cookie(config: &Config, token: String, max_age_secs: i64) -> Cookie<'static> {
    // Over https the name has the __Host- prefix, which needs Secure, Path=/ and no
    // Domain: all three are set here.
    Cookie::build((session_cookie_name(config), token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(config.server.cookies_secure())
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build()
}

/// A cookie that tells the browser to drop the session cookie.
pub(super) fn removal_cookie(config: &Config) -> Cookie<'static> {
    session_cookie(config, String::new(), 0)
}

/// Sign up.
///
/// Creates an account and emails a confirmation link (double opt-in); no digest is sent
/// before the address is confirmed. The answer is the same whether or not the address
/// already has an account (an existing account gets an email saying so instead), so it
/// cannot be used to find out who has signed up.
#[utoipa::path(
    post, path = "/api/v1/auth/signup", tag = "auth",
    request_body = SignupRequest,
    responses(
        (status = 202, description = "Confirmation email queued", body = MessageResponse),
        (status = 400, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid email, weak password or unknown time zone", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client, or from everyone", body = Problem, content_type = "application/problem+json",
            headers(("retry-after" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn signup(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiJson(body): ApiJson<SignupRequest>,
) -> Result<impl IntoResponse, ApiError> {
    // Collect every bad field so one answer names them all.
    let mut errors = Vec::new();
    let email = EmailAddress::parse(&body.email)
        .map_err(|e| errors.push(e))
        .ok();
    let context: Vec<&str> = email
        .as_ref()
        .map(|e| vec![e.as_ref(), e.as_ref().split('@').next().unwrap_or_default()])
        .unwrap_or_default();
    let password = Password::parse_new(&body.password, &context)
        .map_err(|e| errors.push(e))
        .ok();
    let time_zone = body
        .time_zone
        .as_deref()
        .map_or(Ok(TimeZone::utc()), TimeZone::parse)
        .map_err(|e| errors.push(e))
        .ok();
    let (Some(email), Some(password), Some(time_zone)) = (email, password, time_zone) else {
        return Err(ApiError::from(errors));
    };
    accounts::signup(&state, client, &email, &password, time_zone).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(MessageResponse {
            message: "Check your inbox: we sent a link to confirm your address.".into(),
        }),
    ))
}

/// Confirm an email address.
///
/// Uses the single-use token from the confirmation email. After it the account can log
/// in and its digests are scheduled.
#[utoipa::path(
    post, path = "/api/v1/auth/confirm", tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Address confirmed", body = MessageResponse),
        (status = 400, description = "Unknown, used or expired link", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client, or from everyone", body = Problem, content_type = "application/problem+json",
            headers(("retry-after" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn confirm(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<Json<MessageResponse>, ApiError> {
    accounts::confirm_email(&state, client, body.token.trim()).await?;
    Ok(Json(MessageResponse {
        message: "Your email address is confirmed. You can log in now.".into(),
    }))
}

/// Log in.
///
/// Opens a session and sets it as an HttpOnly cookie. Wrong passwords and unknown
/// addresses get the same answer; repeated attempts per account and per client are
/// refused with 429 for a while.
#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; the session cookie is set", body = SessionResponse,
            headers(("set-cookie" = String, description = "quotidian_session=...; HttpOnly; SameSite=Lax; Path=/ (over https: __Host-quotidian_session=...; HttpOnly; SameSite=Lax; Secure; Path=/)"))),
        (status = 401, description = "Wrong email or password", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Email address not confirmed yet", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid email", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = Problem, content_type = "application/problem+json",
            headers(("retry-after" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    UserAgent(user_agent): UserAgent,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let password = Password::presented(&body.password)?;
    let session = accounts::login(
        &state,
        &body.email,
        &password,
        client,
        user_agent.as_deref(),
    )
    .await?;
    let max_age = i64::from(state.config.accounts.session_ttl_hours) * 3600;
    let jar = jar.add(session_cookie(&state.config, session.token, max_age));
    Ok((
        jar,
        Json(SessionResponse {
            user_id: session.user_id,
            email: session.email,
            expires_at: session.expires_at,
        }),
    ))
}

/// Log out.
///
/// Ends this session on the server and clears the cookie.
#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "auth",
    security(("session" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    user: CurrentUser,
    jar: CookieJar,
) -> Result<impl IntoResponse, ApiError> {
    accounts::logout(&state, &user).await?;
    Ok((
        jar.add(removal_cookie(&state.config)),
        StatusCode::NO_CONTENT,
    ))
}

/// Ask for a password reset link.
///
/// If the address has an account, a single-use link valid for one hour is emailed to
/// it. The answer is the same either way.
#[utoipa::path(
    post, path = "/api/v1/auth/password-reset", tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "If the account exists, a reset email is on its way", body = MessageResponse),
        (status = 422, description = "Invalid email", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client, or from everyone", body = Problem, content_type = "application/problem+json",
            headers(("retry-after" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn request_password_reset(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiJson(body): ApiJson<PasswordResetRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let email = EmailAddress::parse(&body.email)?;
    accounts::request_password_reset(&state, client, email)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(MessageResponse {
            message:
                "If an account exists for that address, we sent it a link to reset the password."
                    .into(),
        }),
    ))
}

/// Choose a new password with a reset link.
///
/// Uses the single-use token from the reset email. Every session of the account is
/// logged out.
#[utoipa::path(
    post, path = "/api/v1/auth/password-reset/confirm", tag = "auth",
    request_body = PasswordResetConfirmRequest,
    responses(
        (status = 204, description = "Password changed; log in with the new one"),
        (status = 400, description = "Unknown, used or expired link", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Weak password", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reset_password(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PasswordResetConfirmRequest>,
) -> Result<StatusCode, ApiError> {
    accounts::reset_password(&state, body.token.trim(), &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
