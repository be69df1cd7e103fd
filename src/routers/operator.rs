//! Resources for the people who run Quotidian (`QUOTIDIAN_OPERATOR_EMAILS`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiPath, ApiQuery};
use crate::domain::CurrentUser;
use crate::domain::market::MarketSource;
use crate::domain::{
    DigestStatus, DigestTrigger, DomainError, EmailAddress, EtlOutcome, EtlRunStatus, EtlTrigger,
    SuppressionReason,
};
use crate::error::{ApiError, Problem};
use crate::repositories::digest_runs::{self, RunProblemRow, RunSummaryRow};
use crate::repositories::market::{self, FailureRow, RunRow};
use crate::repositories::operations::{self, QueuesRow};
use crate::repositories::suppressions::{self, SuppressionRow};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_overview))
        .routes(routes!(list_runs))
        .routes(routes!(get_run))
        .routes(routes!(list_digest_runs))
        .routes(routes!(get_digest_run))
        .routes(routes!(list_suppressions))
        .routes(routes!(lift_suppression))
}

fn require_operator(state: &AppState, user: &CurrentUser) -> Result<(), ApiError> {
    if state.config.accounts.is_operator(&user.email) {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

#[derive(Serialize, ToSchema)]
pub struct Queue {
    /// Items waiting: not yet sent (email), not yet finished (digests: pending,
    /// claimed or being sent), not yet stored in S3 (audit records).
    pub depth: i64,
    /// When the oldest waiting item was queued; null when the queue is empty.
    pub oldest_queued_at: Option<DateTime<Utc>>,
    /// How long the oldest waiting item has waited, in whole seconds; null when empty.
    pub oldest_age_secs: Option<i64>,
}

impl Queue {
    fn new(depth: i64, oldest: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        Self {
            depth,
            oldest_queued_at: oldest,
            oldest_age_secs: oldest.map(|at| (now - at).num_seconds().max(0)),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Queues {
    /// Transactional emails (confirmation, password reset, notices).
    pub email_outbox: Queue,
    /// Digests queued or being sent.
    pub digest_jobs: Queue,
    /// Audit records waiting to be put to S3.
    pub audit_outbox: Queue,
}

#[derive(Serialize, ToSchema)]
pub struct FinnhubBudget {
    /// `finnhub`, or `sample` when the offline sample data stands in (no API key).
    pub source: MarketSource,
    /// The plan's limit (`QUOTIDIAN_FINNHUB_CALLS_PER_MINUTE`), per process.
    pub calls_per_minute: u32,
    /// The per-second cap (`QUOTIDIAN_FINNHUB_CALLS_PER_SECOND`), per process.
    pub calls_per_second: u32,
    /// Extraction responses stored in the last minute by every process: one per
    /// request that got an answer, retries and symbol searches not counted.
    pub calls_last_minute: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SesBudget {
    /// Digest sends per second: `QUOTIDIAN_SES_MAX_SEND_RATE`, or the account's maximum
    /// send rate from SES.
    pub send_rate_per_second: f64,
    /// True when the rate was set by `QUOTIDIAN_SES_MAX_SEND_RATE` rather than read from SES.
    pub configured: bool,
    /// True when every process on the database shares the rate (`QUOTIDIAN_SES_PACING=global`);
    /// false when each process sends at it on its own.
    pub shared: bool,
    /// True when sends name an SES configuration set (`QUOTIDIAN_SES_CONFIGURATION_SET`),
    /// whose events can settle a digest whose SES outcome is unknown (ADR 0006).
    pub events: bool,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "as_of": "2026-11-23T12:31:00Z",
    "queues": {
        "email_outbox": {"depth": 0, "oldest_queued_at": null, "oldest_age_secs": null},
        "digest_jobs": {"depth": 3, "oldest_queued_at": "2026-11-23T12:30:00Z", "oldest_age_secs": 60},
        "audit_outbox": {"depth": 5, "oldest_queued_at": "2026-11-23T12:30:01Z", "oldest_age_secs": 59}
    },
    "finnhub": {"source": "finnhub", "calls_per_minute": 60, "calls_per_second": 30, "calls_last_minute": 41},
    "ses": {"send_rate_per_second": 14.0, "configured": false, "shared": true, "events": true},
    "suppressed_addresses": 2,
    "unresolved_outcomes": 0
}))]
pub struct Overview {
    /// The database's clock when the counts were taken.
    pub as_of: DateTime<Utc>,
    pub queues: Queues,
    pub finnhub: FinnhubBudget,
    /// The SES budget of the process that answered.
    pub ses: SesBudget,
    /// Addresses no email goes to.
    pub suppressed_addresses: i64,
    /// Digests whose SES call ended without an answer and no SES event has settled:
    /// the person may or may not have them (ADR 0006).
    pub unresolved_outcomes: i64,
}

/// The state of the service at a glance.
///
/// Operators only. How many emails, digests and audit records wait and how long the
/// oldest has waited; the Finnhub budget and the calls made in the last minute; the
/// SES send rate in use; how many addresses are suppressed; how many digests have an
/// SES outcome nobody knows yet.
#[utoipa::path(
    get, path = "/api/v1/operator/overview", tag = "operations",
    security(("session" = [])),
    responses(
        (status = 200, description = "Queues and budgets now", body = Overview),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_overview(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Overview>, ApiError> {
    require_operator(&state, &user)?;
    let q: QueuesRow = operations::queues(&state.db).await?;
    let source = state.market_source;
    let calls_last_minute =
        operations::market_calls_last_minute(&state.db, source.as_str()).await?;
    let unresolved_outcomes = crate::repositories::send_events::unresolved(&state.db).await?;
    Ok(Json(Overview {
        as_of: q.as_of,
        queues: Queues {
            email_outbox: Queue::new(q.email_pending, q.email_oldest, q.as_of),
            digest_jobs: Queue::new(q.digest_pending, q.digest_oldest, q.as_of),
            audit_outbox: Queue::new(q.audit_pending, q.audit_oldest, q.as_of),
        },
        finnhub: FinnhubBudget {
            source,
            calls_per_minute: state.config.finnhub.calls_per_minute.get(),
            calls_per_second: state.config.finnhub.calls_per_second.get(),
            calls_last_minute,
        },
        ses: SesBudget {
            send_rate_per_second: state.ses_pacer_rate(),
            configured: state.config.ses.max_send_rate.is_some(),
            shared: state.ses_pacer.scope() == crate::services::pacing::Scope::Global,
            events: state.config.ses.configuration_set.is_some(),
        },
        suppressed_addresses: q.suppressed,
        unresolved_outcomes,
    }))
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": 42, "started_at": "2026-11-21T11:00:00Z", "finished_at": "2026-11-21T11:00:09Z", "status": "partial", "source": "finnhub", "trigger": "cli", "symbols": 120, "calls": 245, "retries": 3, "rate_limited": 2, "failures": 1, "error": null}))]
pub struct EtlRun {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `running`, `succeeded`, `partial` (some symbols failed) or `failed`.
    pub status: EtlRunStatus,
    /// `finnhub`, or `sample` for the offline sample source.
    pub source: MarketSource,
    /// What started it: `cli` (`quotidian etl`) or `digest` (a digest batch bringing
    /// its market data up to date).
    pub trigger: EtlTrigger,
    pub symbols: i32,
    /// HTTP requests made, retries included.
    pub calls: i32,
    pub retries: i32,
    /// 429 answers received.
    pub rate_limited: i32,
    pub failures: i32,
    /// Why the whole run failed, if it did.
    pub error: Option<String>,
}

impl From<RunRow> for EtlRun {
    fn from(r: RunRow) -> Self {
        Self {
            id: r.id,
            started_at: r.started_at,
            finished_at: r.finished_at,
            status: r.status,
            source: r.source,
            trigger: r.trigger,
            symbols: r.symbols,
            calls: r.calls,
            retries: r.retries,
            rate_limited: r.rate_limited,
            failures: r.failures,
            error: r.error,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EtlFailure {
    pub symbol: String,
    pub endpoint: String,
    /// `no_data`, `bad_data`, `unavailable`, `rate_limited` or `rejected`.
    pub outcome: EtlOutcome,
    pub reason: String,
    pub recorded_at: DateTime<Utc>,
}

impl From<FailureRow> for EtlFailure {
    fn from(f: FailureRow) -> Self {
        Self {
            symbol: f.symbol,
            endpoint: f.endpoint,
            outcome: f.outcome,
            reason: f.reason,
            recorded_at: f.recorded_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EtlRunList {
    /// Newest first.
    pub runs: Vec<EtlRun>,
    /// Pass as `before` for the next page; null on the last page.
    pub next_before: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct EtlRunDetail {
    #[serde(flatten)]
    pub run: EtlRun,
    pub failure_details: Vec<EtlFailure>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunListParams {
    /// Only runs with an id below this (for paging).
    pub before: Option<i64>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// List market-data extraction runs.
///
/// Operators only. Each run with its counts: symbols, calls, retries, 429s, failures.
#[utoipa::path(
    get, path = "/api/v1/operator/etl-runs", tag = "operations",
    security(("session" = [])),
    params(RunListParams),
    responses(
        (status = 200, description = "Runs, newest first", body = EtlRunList),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "limit out of range", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_runs(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(params): ApiQuery<RunListParams>,
) -> Result<Json<EtlRunList>, ApiError> {
    require_operator(&state, &user)?;
    let limit = params.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(crate::domain::DomainError::new("limit", "must be between 1 and 100").into());
    }
    let rows = market::list_runs(&state.db, params.before, limit).await?;
    let next_before = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    Ok(Json(EtlRunList {
        runs: rows.into_iter().map(Into::into).collect(),
        next_before,
    }))
}

/// One extraction run with its per-symbol failures.
#[utoipa::path(
    get, path = "/api/v1/operator/etl-runs/{id}", tag = "operations",
    security(("session" = [])),
    params(("id" = i64, Path, description = "Run id")),
    responses(
        (status = 200, description = "The run", body = EtlRunDetail),
        (status = 400, description = "Id is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such run", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_run(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<EtlRunDetail>, ApiError> {
    require_operator(&state, &user)?;
    let run = market::get_run(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("There is no extraction run {id}.")))?;
    let failures = market::run_failures(&state.db, id).await?;
    Ok(Json(EtlRunDetail {
        run: run.into(),
        failure_details: failures.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": 7, "trigger": "schedule", "started_at": "2026-11-23T12:30:00Z", "finished_at": "2026-11-23T12:30:01Z", "due": 120, "queued": 119, "missed": 1, "sent": 117, "failed": 1, "skipped": 1, "in_progress": 0}))]
pub struct DigestRun {
    pub id: i64,
    /// `schedule` (a scheduler pass), `manual` (`quotidian run`) or `send_now`.
    pub trigger: DigestTrigger,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// People found due.
    pub due: i32,
    /// Digests queued.
    pub queued: i32,
    /// Days recorded as missed (the service was down on them).
    pub missed: i32,
    pub sent: i64,
    pub failed: i64,
    /// Not sent on purpose: paused, unsubscribed, suppressed, unconfirmed.
    pub skipped: i64,
    /// Queued or being sent right now.
    pub in_progress: i64,
}

impl From<RunSummaryRow> for DigestRun {
    fn from(r: RunSummaryRow) -> Self {
        Self {
            id: r.id,
            trigger: r.trigger,
            started_at: r.started_at,
            finished_at: r.finished_at,
            due: r.due,
            queued: r.queued,
            missed: r.missed,
            sent: r.sent,
            failed: r.failed,
            skipped: r.skipped,
            in_progress: r.in_progress,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DigestRunProblem {
    pub job_id: i64,
    pub user_id: uuid::Uuid,
    pub local_date: chrono::NaiveDate,
    /// `failed`, `skipped` or `missed`.
    pub status: DigestStatus,
    pub attempts: i32,
    pub reason: Option<String>,
    /// The key of the digest's audit record in the audit bucket
    /// (`deliveries/<local date>/<record id>.json`); null while it has none.
    #[schema(example = "deliveries/2026-11-23/5f0c7a52-8a0e-4c1b-9d59-0f4b7a6c2e11.json")]
    pub audit_key: Option<String>,
    /// When the record was put to the bucket; null while it waits in the audit outbox.
    pub audit_stored_at: Option<DateTime<Utc>>,
}

impl From<RunProblemRow> for DigestRunProblem {
    fn from(r: RunProblemRow) -> Self {
        Self {
            job_id: r.job_id,
            user_id: r.user_id,
            local_date: r.local_date,
            status: r.status,
            attempts: r.attempts,
            reason: r.last_error,
            audit_key: r.audit_key,
            audit_stored_at: r.audit_written_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DigestRunList {
    /// Newest first.
    pub runs: Vec<DigestRun>,
    /// Pass as `before` for the next page; null on the last page.
    pub next_before: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DigestRunDetail {
    #[serde(flatten)]
    pub run: DigestRun,
    /// Up to 500 digests of the run that were not sent, with the reason and audit record.
    pub problems: Vec<DigestRunProblem>,
    /// The S3 bucket the audit records are put to (`QUOTIDIAN_S3_BUCKET`).
    #[schema(example = "quotidian-audit")]
    pub audit_bucket: String,
}

/// List digest runs.
///
/// Operators only. Each scheduler pass, `quotidian run` or "send now" with where its
/// digests stand: sent, failed, skipped, missed, in progress.
#[utoipa::path(
    get, path = "/api/v1/operator/digest-runs", tag = "operations",
    security(("session" = [])),
    params(RunListParams),
    responses(
        (status = 200, description = "Runs, newest first", body = DigestRunList),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "limit out of range", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_digest_runs(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(params): ApiQuery<RunListParams>,
) -> Result<Json<DigestRunList>, ApiError> {
    require_operator(&state, &user)?;
    let limit = params.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(crate::domain::DomainError::new("limit", "must be between 1 and 100").into());
    }
    let rows = digest_runs::list_runs(&state.db, params.before, limit).await?;
    let next_before = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    Ok(Json(DigestRunList {
        runs: rows.into_iter().map(Into::into).collect(),
        next_before,
    }))
}

/// One digest run with the digests that were not sent.
#[utoipa::path(
    get, path = "/api/v1/operator/digest-runs/{id}", tag = "operations",
    security(("session" = [])),
    params(("id" = i64, Path, description = "Run id")),
    responses(
        (status = 200, description = "The run", body = DigestRunDetail),
        (status = 400, description = "Id is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such run", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_digest_run(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<DigestRunDetail>, ApiError> {
    require_operator(&state, &user)?;
    let run = digest_runs::get_run(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("There is no digest run {id}.")))?;
    let problems = digest_runs::run_problems(&state.db, id, 500).await?;
    Ok(Json(DigestRunDetail {
        run: run.into(),
        problems: problems.into_iter().map(Into::into).collect(),
        audit_bucket: state.config.s3.bucket.clone(),
    }))
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"email": "ada@example.com", "reason": "bounce", "detail": "Permanent/General: smtp; 550 5.1.1 user unknown", "suppressed_at": "2026-11-21T12:00:00Z"}))]
pub struct Suppression {
    pub email: String,
    /// `bounce` (a permanent bounce), `complaint` or `manual`.
    pub reason: SuppressionReason,
    /// The bounce type and diagnostic, or the complaint's feedback type, as SES gave it.
    pub detail: Option<String>,
    pub suppressed_at: DateTime<Utc>,
}

impl From<SuppressionRow> for Suppression {
    fn from(r: SuppressionRow) -> Self {
        Self {
            email: r.email,
            reason: r.reason,
            detail: r.detail,
            suppressed_at: r.suppressed_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SuppressionList {
    /// Newest first.
    pub suppressions: Vec<Suppression>,
    /// Pass as `before` for the next page; null on the last page.
    pub next_before: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuppressionListParams {
    /// The `next_before` of the previous page.
    pub before: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// The paging cursor after `row`: its time and address, opaque to clients.
fn cursor_after(row: &SuppressionRow) -> String {
    let raw = format!("{}.{}", row.suppressed_at.timestamp_micros(), row.email);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn parse_cursor(cursor: &str) -> Result<(DateTime<Utc>, String), DomainError> {
    let invalid = || DomainError::new("before", "is not a next_before from this list");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| invalid())?;
    let raw = String::from_utf8(raw).map_err(|_| invalid())?;
    let (micros, email) = raw.split_once('.').ok_or_else(invalid)?;
    let at = micros
        .parse()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(invalid)?;
    Ok((at, email.to_owned()))
}

/// List suppressed addresses.
///
/// Operators only. The addresses no email goes to (a permanent bounce, a complaint, or
/// by hand), newest first, with the reason and SES's detail.
#[utoipa::path(
    get, path = "/api/v1/operator/suppressions", tag = "operations",
    security(("session" = [])),
    params(SuppressionListParams),
    responses(
        (status = 200, description = "Suppressions, newest first", body = SuppressionList),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "limit out of range, or before is not a cursor from this list", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_suppressions(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(params): ApiQuery<SuppressionListParams>,
) -> Result<Json<SuppressionList>, ApiError> {
    require_operator(&state, &user)?;
    let limit = params.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(DomainError::new("limit", "must be between 1 and 100").into());
    }
    let before = params.before.as_deref().map(parse_cursor).transpose()?;
    let rows = suppressions::list(
        &state.db,
        before.as_ref().map(|(at, email)| (*at, email.as_str())),
        limit,
    )
    .await?;
    let next_before = (rows.len() as i64 == limit)
        .then(|| rows.last().map(cursor_after))
        .flatten();
    Ok(Json(SuppressionList {
        suppressions: rows.into_iter().map(Into::into).collect(),
        next_before,
    }))
}

/// Lift the suppression of an address.
///
/// Operators only. Email goes to the address again (digests, if the person is still
/// subscribed). A later bounce or complaint suppresses it again.
#[utoipa::path(
    delete, path = "/api/v1/operator/suppressions/{email}", tag = "operations",
    security(("session" = [])),
    params(("email" = String, Path, description = "The suppressed address; case does not matter", example = "ada@example.com", format = Email, max_length = 254)),
    responses(
        (status = 204, description = "Lifted"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The address is not suppressed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an email address", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn lift_suppression(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(email): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    require_operator(&state, &user)?;
    let email = EmailAddress::parse(&email)?;
    if !crate::services::suppressions::lift(&state, &user, &email).await? {
        return Err(ApiError::not_found("That address is not suppressed."));
    }
    Ok(StatusCode::NO_CONTENT)
}
