use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiPath, ApiQuery};
use crate::domain::CurrentUser;
use crate::domain::{DigestStatus, DigestTrigger, DomainError};
use crate::error::{ApiError, Problem};
use crate::repositories::digest_history::{HistoryRow, SentDigestRow};
use crate::services::digest;
use crate::services::digest::history;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(preview))
        .routes(routes!(list))
        .routes(routes!(get_one))
        .routes(routes!(send_now))
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

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": 812, "local_date": "2026-11-23", "trigger": "schedule", "status": "sent", "subject": "Quotidian Mon 23 Nov: NVDA +3.60%", "reason": null, "sent_at": "2026-11-23T12:30:01Z", "queued_at": "2026-11-23T12:30:00Z", "body_removed_at": null}))]
pub struct DigestSummary {
    pub id: i64,
    /// The recipient's local date the digest is for (one digest per date).
    pub local_date: NaiveDate,
    /// What queued it: the schedule, `quotidian run`, or "send now".
    pub trigger: DigestTrigger,
    /// `pending`, `claimed` or `sending` (on its way), `sent`, `failed`, `skipped`
    /// (paused, unsubscribed, suppressed) or `missed` (the service was down that day).
    pub status: DigestStatus,
    pub subject: Option<String>,
    /// Why it was not sent, when it was not.
    pub reason: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub queued_at: DateTime<Utc>,
    /// When the digest's HTML and text were removed under the retention policy
    /// (`QUOTIDIAN_RETENTION_DIGEST_BODY_DAYS`); null while they are kept.
    pub body_removed_at: Option<DateTime<Utc>>,
}

impl From<HistoryRow> for DigestSummary {
    fn from(r: HistoryRow) -> Self {
        Self {
            id: r.id,
            local_date: r.local_date,
            trigger: r.trigger,
            status: r.status,
            subject: r.subject,
            reason: r.last_error,
            sent_at: r.sent_at,
            queued_at: r.created_at,
            body_removed_at: r.body_pruned_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DigestList {
    /// Newest date first.
    pub digests: Vec<DigestSummary>,
    /// Pass as `before` for the next page; null on the last page.
    pub next_before: Option<NaiveDate>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Only digests for local dates before this one (YYYY-MM-DD), for paging.
    pub before: Option<NaiveDate>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// List the digests sent to me.
///
/// Newest first, paged by local date. Includes digests that failed, were skipped or
/// missed, each with its reason.
#[utoipa::path(
    get, path = "/api/v1/digests", tag = "digests", operation_id = "list_digests",
    security(("session" = [])),
    params(HistoryParams),
    responses(
        (status = 200, description = "A page of digests", body = DigestList),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "limit out of range", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> Result<Json<DigestList>, ApiError> {
    let limit = params.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(DomainError::new("limit", "must be between 1 and 100").into());
    }
    let rows = history::list(&state, &user, params.before, limit).await?;
    let next_before = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.local_date))
        .flatten();
    Ok(Json(DigestList {
        digests: rows.into_iter().map(Into::into).collect(),
        next_before,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct SentDigest {
    pub id: i64,
    pub local_date: NaiveDate,
    pub trigger: DigestTrigger,
    pub status: DigestStatus,
    /// The address it was sent to.
    pub recipient: Option<String>,
    pub subject: Option<String>,
    /// The HTML part exactly as sent; null when nothing was sent or when it is no
    /// longer kept (see `body_removed_at`).
    pub html: Option<String>,
    /// The plain-text part exactly as sent; null like `html`.
    pub text: Option<String>,
    /// SHA-256 of subject, HTML and text, as in the audit record.
    pub content_hash: Option<String>,
    pub ses_message_id: Option<String>,
    pub reason: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    /// When the HTML and text were removed under the retention policy
    /// (`QUOTIDIAN_RETENTION_DIGEST_BODY_DAYS`); the record, subject and content hash
    /// stay. Null while they are kept.
    pub body_removed_at: Option<DateTime<Utc>>,
}

impl From<SentDigestRow> for SentDigest {
    fn from(r: SentDigestRow) -> Self {
        Self {
            id: r.id,
            local_date: r.local_date,
            trigger: r.trigger,
            status: r.status,
            recipient: r.recipient,
            subject: r.subject,
            html: r.html_body,
            text: r.text_body,
            content_hash: r.content_hash,
            ses_message_id: r.ses_message_id,
            reason: r.last_error,
            sent_at: r.sent_at,
            body_removed_at: r.body_pruned_at,
        }
    }
}

/// One of my digests, as it was sent.
///
/// Its HTML and text are kept for `QUOTIDIAN_RETENTION_DIGEST_BODY_DAYS` (default 90);
/// after that `html` and `text` are null and `body_removed_at` says when they went.
#[utoipa::path(
    get, path = "/api/v1/digests/{id}", tag = "digests",
    security(("session" = [])),
    params(("id" = i64, Path, description = "Digest id from the history")),
    responses(
        (status = 200, description = "The digest as sent", body = SentDigest),
        (status = 400, description = "Id is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such digest of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_one(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<SentDigest>, ApiError> {
    let row = history::get(&state, &user, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("You have no digest {id}.")))?;
    Ok(Json(row.into()))
}

/// Send today's digest now.
///
/// Queues today's digest for immediate delivery. One digest per day still holds: if
/// today's was already queued or sent, nothing new is queued and the answer is 409
/// with the existing one's status. Limited per account (`QUOTIDIAN_SEND_NOW_PER_HOUR`).
#[utoipa::path(
    post, path = "/api/v1/digests/send-now", tag = "digests",
    security(("session" = [])),
    responses(
        (status = 202, description = "Queued; it arrives within moments", body = DigestSummary),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Today's digest already exists", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Asked too often", body = Problem, content_type = "application/problem+json",
            headers(("retry-after" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn send_now(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<(StatusCode, Json<DigestSummary>), ApiError> {
    let (row, queued) = history::send_now(&state, &user).await?;
    if !queued {
        return Err(ApiError::already_exists(format!(
            "Today's digest ({}) is already {}: one digest a day.",
            row.local_date, row.status
        )));
    }
    Ok((StatusCode::ACCEPTED, Json(row.into())))
}
