//! Unsubscribing from the digest without logging in: the page linked from every
//! digest (GET shows a confirmation, so link scanners that follow it change nothing),
//! the RFC 8058 one-click POST that mail clients send to the `List-Unsubscribe` URL,
//! and the same action as JSON for the web page.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ApiQuery};
use super::security_headers::Kind;
use crate::error::{ApiError, Problem};
use crate::services::Error;
use crate::services::digest::history;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(page, one_click))
        .routes(routes!(unsubscribe_api))
}

/// The page's source, for the hash of its inline style in its CSP.
pub(super) const TEMPLATE: &str = include_str!("../../templates/unsubscribe.html");

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct Page<'a> {
    title: &'a str,
    message: &'a str,
    form_token: Option<&'a str>,
}

fn render(status: StatusCode, page: Page<'_>) -> Response {
    match page.render() {
        Ok(html) => (status, axum::Extension(Kind::Unsubscribe), Html(html)).into_response(),
        Err(error) => ApiError::from(anyhow::Error::new(error)).into_response(),
    }
}

fn invalid() -> Response {
    render(
        StatusCode::BAD_REQUEST,
        Page {
            title: "This link does not work",
            message: "This unsubscribe link is not valid. Use the link from your latest digest, or log in and pause your digest from your schedule settings.",
            form_token: None,
        },
    )
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenParams {
    /// The signed token from the digest's unsubscribe link.
    pub token: Option<String>,
}

/// Unsubscribe page.
///
/// Shows a confirmation with an Unsubscribe button; following the link changes
/// nothing by itself.
#[utoipa::path(
    get, path = "/unsubscribe", tag = "digests",
    params(TokenParams),
    responses(
        (status = 200, description = "Confirmation page", content_type = "text/html", body = String),
        (status = 400, description = "The token is missing or not valid, or the query string cannot be read", content_type = "text/html", body = String),
    )
)]
pub async fn page(
    State(state): State<AppState>,
    query: Result<ApiQuery<TokenParams>, ApiError>,
) -> Response {
    // A query string that cannot be read (the token twice, say) is a broken link too:
    // whoever followed it gets the page, not a JSON problem.
    let Ok(ApiQuery(TokenParams { token: Some(token) })) = query else {
        return invalid();
    };
    if state.links.verify_unsubscribe(&token).is_none() {
        return invalid();
    }
    render(
        StatusCode::OK,
        Page {
            title: "Unsubscribe from Quotidian",
            message: "You will stop receiving the daily digest. You can resume it any time from your schedule settings.",
            form_token: Some(&token),
        },
    )
}

/// One-click unsubscribe (RFC 8058).
///
/// What mail clients POST to the `List-Unsubscribe` URL (body
/// `List-Unsubscribe=One-Click`), and what the confirmation page's button sends.
/// Pauses the digest; idempotent.
#[utoipa::path(
    post, path = "/unsubscribe", tag = "digests",
    params(TokenParams),
    responses(
        (status = 200, description = "Unsubscribed", content_type = "text/html", body = String),
        (status = 400, description = "The token is missing or not valid, or the query string cannot be read", content_type = "text/html", body = String),
    )
)]
pub async fn one_click(
    State(state): State<AppState>,
    query: Result<ApiQuery<TokenParams>, ApiError>,
) -> Response {
    let Ok(ApiQuery(TokenParams { token: Some(token) })) = query else {
        return invalid();
    };
    match history::unsubscribe(&state, &token).await {
        Ok(()) => render(
            StatusCode::OK,
            Page {
                title: "You are unsubscribed",
                message: "You will not receive the daily digest any more. To get it again, log in and resume it from your schedule settings.",
                form_token: None,
            },
        ),
        Err(Error::InvalidToken) => invalid(),
        Err(other) => ApiError::from(other).into_response(),
    }
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"token": "v1.AAAAAAAAAAAAAAAAAAAAAA.c2lnbmF0dXJl"}))]
pub struct UnsubscribeRequest {
    /// The signed token from the digest's unsubscribe link.
    pub token: String,
}

/// Unsubscribe with the token from a digest's link.
///
/// For the web page's unsubscribe screen; no login needed.
#[utoipa::path(
    post, path = "/api/v1/unsubscribe", tag = "digests",
    request_body = UnsubscribeRequest,
    responses(
        (status = 204, description = "Unsubscribed (also when already unsubscribed)"),
        (status = 400, description = "The token is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unsubscribe_api(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<UnsubscribeRequest>,
) -> Result<StatusCode, ApiError> {
    history::unsubscribe(&state, &body.token).await?;
    Ok(StatusCode::NO_CONTENT)
}
