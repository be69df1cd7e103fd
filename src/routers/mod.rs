//! HTTP resources. Each module parses requests into domain types, calls one service
//! function and shapes the answer; each returns an `OpenApiRouter` so the OpenAPI
//! document is built from the same declarations that route requests.

pub mod auth;
pub mod digests;
pub mod extract;
pub mod health;
pub mod me;
pub mod metrics;
pub mod operator;
pub mod preferences;
pub mod symbols;
pub mod unsubscribe;
pub mod watchlist;
pub mod web;
pub mod webhooks;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::error::{FieldError, Problem};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "quotidian_session";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Quotidian API",
        description = "A personalized daily market digest. Every action of the web page is available here.\n\n\
Errors are RFC 9457 `application/problem+json` documents whose `type` is a stable URN \
(`urn:quotidian:problem:<slug>`): `malformed-request` (400), `invalid-token` (400), `unauthenticated` (401), \
`invalid-credentials` (401), `email-not-confirmed` (403), `forbidden` (403), `not-found` (404), `method-not-allowed` (405), \
`already-exists` (409), `limit-reached` (409), `payload-too-large` (413), `unsupported-media-type` (415), \
`validation` (422, with per-field `errors`), `too-many-requests` (429, with `Retry-After`), `internal` (500), \
`unavailable` (503).\n\nAuthentication is a session cookie set by `POST /api/v1/auth/login`.",
        license(name = "MIT")
    ),
    modifiers(&SessionCookie),
    tags(
        (name = "auth", description = "Signup, email confirmation, login, logout and password reset"),
        (name = "account", description = "The logged-in account"),
        (name = "watchlist", description = "The symbols the digest covers"),
        (name = "preferences", description = "When the digest is sent and what it holds"),
        (name = "digests", description = "The daily digest: preview, send now, and the history of what was sent"),
        (name = "operations", description = "Health, readiness and, for operators, extraction and digest runs and suppressed addresses"),
        (name = "webhooks", description = "Callbacks from AWS: SES bounces and complaints through SNS"),
    ),
    components(schemas(Problem, FieldError))
)]
pub struct ApiDoc;

struct SessionCookie;

impl Modify for SessionCookie {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "Server-side session, set by POST /api/v1/auth/login (HttpOnly, SameSite=Lax).",
            ))),
        );
    }
}

/// Every documented route.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(me::router())
        .merge(watchlist::router())
        .merge(preferences::router())
        .merge(symbols::router())
        .merge(digests::router())
        .merge(unsubscribe::router())
        .merge(operator::router())
        .merge(health::router())
        .merge(metrics::router())
        .merge(webhooks::router())
}

/// The OpenAPI document, as served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().split_for_parts().1
}
