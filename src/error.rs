//! One error type for the HTTP surface, rendered as RFC 9457 `application/problem+json`.
//!
//! The `type` of each problem is a stable URN the web page and API clients can branch
//! on; `detail` is for people. Internal causes go to the log (with the request id from
//! the surrounding span), never to the client.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::DomainError;

/// Request bodies above this are refused with 413 (`payload-too-large`) before they
/// are parsed.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:quotidian:problem:validation",
    "title": "Your request has invalid fields",
    "status": 422,
    "detail": "email: is not a valid email address",
    "errors": [{"field": "email", "message": "is not a valid email address"}]
}))]
pub struct Problem {
    /// Stable identifier of the kind of problem, `urn:quotidian:problem:<slug>`, where
    /// `<slug>` is one of the `ProblemKind` values.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short, human-readable summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, for people.
    pub detail: String,
    /// Field-level problems, for `validation`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// The request field, e.g. `email`.
    pub field: String,
    pub message: String,
}

// Listed in the OpenAPI document as the `ProblemKind` schema: the web page's
// TypeScript takes the slugs from there (web/src/api/problem.ts).
/// The kinds of problem this API answers with: the `<slug>` of a problem's `type`,
/// `urn:quotidian:problem:<slug>`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    ToSchema,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum ProblemKind {
    MalformedRequest,
    Validation,
    UnsupportedMediaType,
    PayloadTooLarge,
    Unauthenticated,
    InvalidCredentials,
    EmailNotConfirmed,
    InvalidToken,
    Forbidden,
    CrossSiteRequest,
    NotFound,
    MethodNotAllowed,
    AlreadyExists,
    LimitReached,
    TooManyRequests,
    Internal,
    Unavailable,
}

impl ProblemKind {
    /// The slug, e.g. `cross-site-request`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The problem's `type`: `urn:quotidian:problem:<slug>`.
    pub fn urn(self) -> String {
        format!("{PROBLEM_URN_PREFIX}{self}")
    }
}

pub const PROBLEM_URN_PREFIX: &str = "urn:quotidian:problem:";

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: ProblemKind,
    title: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    retry_after_secs: Option<u64>,
    /// Logged, never shown.
    source: Option<anyhow::Error>,
}

impl ApiError {
    fn new(
        status: StatusCode,
        kind: ProblemKind,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after_secs: None,
            source: None,
        }
    }

    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ProblemKind::MalformedRequest,
            "The request could not be read",
            detail,
        )
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        let mut err = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::Validation,
            "Your request has invalid fields",
            detail,
        );
        err.errors = errors;
        err
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ProblemKind::Unauthenticated,
            "You need to log in",
            "This needs a valid session: log in first (your session may have expired).",
        )
    }

    pub fn invalid_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ProblemKind::InvalidCredentials,
            "Wrong email or password",
            "The email address or password is not right.",
        )
    }

    pub fn email_not_confirmed() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ProblemKind::EmailNotConfirmed,
            "Email address not confirmed",
            "Confirm your email address through the link we sent you; sign up again to get a new link.",
        )
    }

    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ProblemKind::InvalidToken,
            "This link is not valid",
            "The link is unknown, already used or expired; ask for a new one.",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ProblemKind::Forbidden,
            "Not allowed",
            "Your account may not use this resource.",
        )
    }

    /// `forbidden`, saying why: for callers that are not accounts (a webhook sender).
    pub fn forbidden_with(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ProblemKind::Forbidden,
            "Not allowed",
            detail,
        )
    }

    /// A state change another site's page made the browser send (ADR 0010).
    pub fn cross_site_request() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ProblemKind::CrossSiteRequest,
            "Cross-site request refused",
            "This change was sent from another site, so it was refused. Make it from Quotidian's own page.",
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ProblemKind::NotFound,
            "Not found",
            detail,
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ProblemKind::MethodNotAllowed,
            "Method not allowed",
            "This resource does not support that HTTP method.",
        )
    }

    pub fn already_exists(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            ProblemKind::AlreadyExists,
            "Already exists",
            detail,
        )
    }

    pub fn limit_reached(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            ProblemKind::LimitReached,
            "Limit reached",
            detail,
        )
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ProblemKind::TooManyRequests,
            "Too many attempts",
            format!("Too many attempts; try again in {retry_after_secs} seconds."),
        );
        err.retry_after_secs = Some(retry_after_secs);
        err
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ProblemKind::Unavailable,
            "Service unavailable",
            detail,
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn kind(&self) -> ProblemKind {
        self.kind
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(source: anyhow::Error) -> Self {
        let mut err = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ProblemKind::Internal,
            "Something went wrong on our side",
            "An unexpected error occurred; it has been logged. Please try again.",
        );
        err.source = Some(source);
        err
    }
}

/// A failed query in a handler that reads straight from a repository: a 500, logged
/// with its cause, like any unexpected error.
impl From<sqlx::Error> for ApiError {
    fn from(source: sqlx::Error) -> Self {
        Self::from(anyhow::Error::new(source).context("database query failed"))
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        Self::validation(vec![FieldError {
            field: e.field.to_string(),
            message: e.message,
        }])
    }
}

impl From<Vec<DomainError>> for ApiError {
    fn from(errors: Vec<DomainError>) -> Self {
        Self::validation(
            errors
                .into_iter()
                .map(|e| FieldError {
                    field: e.field.to_string(),
                    message: e.message,
                })
                .collect(),
        )
    }
}

impl ApiError {
    /// Wrong types, missing or unknown fields: the body parsed as JSON but is not the
    /// shape this endpoint takes. `detail` is serde's message, led by the field's path.
    pub(crate) fn json_data(detail: String) -> Self {
        let mut err = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::Validation,
            "Your request has invalid fields",
            detail.clone(),
        );
        err.errors = vec![FieldError {
            field: field_from_serde_message(&detail).unwrap_or_else(|| "body".into()),
            message: detail,
        }];
        err
    }

    pub(crate) fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemKind::UnsupportedMediaType,
            "Unsupported media type",
            "Send the body as JSON with 'Content-Type: application/json'.",
        )
    }

    fn json_body_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::PayloadTooLarge,
            "Request body too large",
            format!(
                "The body is larger than this API accepts ({} KiB).",
                MAX_BODY_BYTES / 1024
            ),
        )
    }

    /// A JSON body that could not be read at all: too large (413), or cut off (400).
    pub(crate) fn from_json_body_rejection(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::json_body_too_large()
        } else {
            Self::malformed(format!(
                "The body could not be read: {}",
                rejection.body_text()
            ))
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let text = rejection.body_text();
        match rejection {
            JsonRejection::JsonDataError(_) => Self::json_data(
                text.strip_prefix("Failed to deserialize the JSON body into the target type: ")
                    .unwrap_or(&text)
                    .to_owned(),
            ),
            JsonRejection::JsonSyntaxError(_) => {
                Self::malformed(format!("The body is not valid JSON: {text}"))
            }
            JsonRejection::MissingJsonContentType(_) => Self::unsupported_media_type(),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Self::json_body_too_large(),
            _ => Self::malformed(format!("The body could not be read: {text}")),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ProblemKind::PayloadTooLarge,
                "Request body too large",
                "The body is larger than this endpoint accepts.",
            )
        } else {
            Self::malformed(format!(
                "The body could not be read: {}",
                rejection.body_text()
            ))
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::malformed(format!("Invalid query string: {}", rejection.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::malformed(format!("Invalid path: {}", rejection.body_text()))
    }
}

/// Pulls the field name out of a deserialisation message so clients can point at it:
/// a path prefix (`days: unknown variant ...`, added by axum) wins, then a backticked
/// name (`missing field `email``, `unknown field `x``).
pub(crate) fn field_from_serde_message(message: &str) -> Option<String> {
    let is_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'))
    };
    if let Some((prefix, _)) = message.split_once(": ")
        && is_name(prefix)
    {
        return Some(prefix.to_owned());
    }
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    let name = &message[start..end];
    is_name(name).then(|| name.to_owned())
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(source) = &self.source {
            tracing::error!(error = ?source, "request failed");
        } else if self.status.is_server_error() {
            tracing::error!(kind = self.kind.as_str(), detail = %self.detail, "request failed");
        }
        let body = Problem {
            kind: self.kind.urn(),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail,
            errors: self.errors,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// What each service failure means to an API client (ADR 0001: this file decides).
impl From<crate::services::Error> for ApiError {
    fn from(e: crate::services::Error) -> Self {
        use crate::services::Error;
        match e {
            Error::Invalid(errors) => ApiError::from(errors),
            Error::InvalidCredentials => ApiError::invalid_credentials(),
            Error::EmailNotConfirmed => ApiError::email_not_confirmed(),
            Error::InvalidToken => ApiError::invalid_token(),
            Error::NotFound(what) => ApiError::not_found(what),
            Error::AlreadyExists(what) => ApiError::already_exists(what),
            Error::LimitReached(what) => ApiError::limit_reached(what),
            Error::TooManyAttempts { retry_after_secs } => {
                ApiError::too_many_requests(retry_after_secs)
            }
            Error::Forbidden => ApiError::forbidden(),
            Error::Unavailable(why) => ApiError::unavailable(why),
            Error::Unexpected(source) => ApiError::from(source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_kinds_have_one_kebab_case_slug() {
        use strum::VariantArray as _;
        for &kind in ProblemKind::VARIANTS {
            let slug = kind.as_str();
            assert_eq!(serde_json::to_value(kind).unwrap(), slug);
            assert_eq!(kind.to_string(), slug);
            assert!(
                slug.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{slug}"
            );
            assert_eq!(kind.urn(), format!("urn:quotidian:problem:{slug}"));
        }
        assert_eq!(
            ProblemKind::CrossSiteRequest.urn(),
            "urn:quotidian:problem:cross-site-request"
        );
    }

    #[test]
    fn pulls_field_names_out_of_serde_messages() {
        assert_eq!(
            field_from_serde_message("missing field `password` at line 1 column 20").as_deref(),
            Some("password")
        );
        assert_eq!(
            field_from_serde_message(
                "unknown field `pasword`, expected one of `email`, `password`"
            )
            .as_deref(),
            Some("pasword")
        );
        assert_eq!(
            field_from_serde_message(
                "days: unknown variant `someday`, expected one of `every_day`"
            )
            .as_deref(),
            Some("days")
        );
        assert_eq!(
            field_from_serde_message("email: invalid type: integer `1`, expected a string")
                .as_deref(),
            Some("email")
        );
        assert_eq!(field_from_serde_message("expected value at line 1"), None);
    }
}
