//! HTTP resources. Each module parses requests into domain types, calls one service
//! function and shapes the answer; each returns an `OpenApiRouter` so the OpenAPI
//! document is built from the same declarations that route requests.

pub mod auth;
pub mod cross_site;
pub mod digests;
pub mod extract;
pub mod health;
pub mod me;
pub mod metrics;
pub mod operator;
pub mod preferences;
pub mod security_headers;
pub mod symbols;
pub mod unsubscribe;
pub mod watchlist;
pub mod web;
pub mod webhooks;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::config::Config;
use crate::error::{FieldError, Problem, ProblemKind};
use crate::state::AppState;

/// The session cookie over plain http (local use).
pub const SESSION_COOKIE: &str = "quotidian_session";
/// The session cookie over https: the `__Host-` prefix makes browsers refuse it unless
/// it is Secure, has Path=/ and no Domain, so no sibling subdomain or plain-http page
/// can plant or overwrite it.
pub const HOST_SESSION_COOKIE: &str = "__Host-quotidian_session";

/// The name of the session cookie for how people reach this service.
pub fn session_cookie_name(config: &Config) -> &'static str {
    if config.server.cookies_secure() {
        HOST_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

const SESSION_DESCRIPTION: &str = "Server-side session, set by POST /api/v1/auth/login (HttpOnly, SameSite=Lax). \
Named `quotidian_session` over plain http and `__Host-quotidian_session` (Secure) when the service is reached over https.";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Quotidian API",
        description = "A personalized daily market digest. Every action of the web page is available here.\n\n\
Errors are RFC 9457 `application/problem+json` documents whose `type` is a stable URN \
(`urn:quotidian:problem:<slug>`, the slugs listed by the `ProblemKind` schema): `malformed-request` (400), `invalid-token` (400), `unauthenticated` (401), \
`invalid-credentials` (401), `email-not-confirmed` (403), `forbidden` (403), `cross-site-request` (403), \
`not-found` (404), `method-not-allowed` (405), `already-exists` (409), `limit-reached` (409), \
`payload-too-large` (413), `unsupported-media-type` (415), `validation` (422, with per-field `errors`), `too-many-requests` (429, with `Retry-After`), \
`internal` (500), `unavailable` (503).\n\nAuthentication is a session cookie set by `POST /api/v1/auth/login`.\n\n\
A state-changing request (POST, PUT, PATCH, DELETE) that a browser sends for another site's page is refused with \
403 `cross-site-request`: a browser's `Sec-Fetch-Site` must be `same-origin` or `none`, or, without it, `Origin` must \
be this service's public URL. Clients that send neither header (curl, servers) are not affected. The one-click \
`POST /unsubscribe` and `POST /webhooks/ses` accept requests from anywhere.",
        license(name = "MIT")
    ),
    modifiers(&SessionCookie),
    tags(
        (name = "auth", description = "Signup, email confirmation, login, logout and password reset"),
        (name = "account", description = "The logged-in account"),
        (name = "watchlist", description = "The symbols the digest covers"),
        (name = "preferences", description = "When the digest is sent and what it holds"),
        (name = "digests", description = "The daily digest: preview, send now, and the history of what was sent"),
        (name = "operations", description = "Health, readiness and, for operators, an overview of queues and budgets, extraction and digest runs and suppressed addresses"),
        (name = "webhooks", description = "Callbacks from AWS: SES bounces and complaints through SNS"),
    ),
    components(schemas(Problem, FieldError, ProblemKind))
)]
pub struct ApiDoc;

struct SessionCookie;

impl Modify for SessionCookie {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        name_session_cookie(openapi, SESSION_COOKIE);
    }
}

/// Documents the session cookie under `name`: the served document names the cookie of
/// the running service; `quotidian openapi` and the snapshot the plain-http one.
pub fn name_session_cookie(openapi: &mut utoipa::openapi::OpenApi, name: &str) {
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            name,
            SESSION_DESCRIPTION,
        ))),
    );
}

/// Adds the 403 `cross-site-request` answer to every state-changing operation the
/// cross-site check covers (an existing 403 keeps its content and says both).
fn document_cross_site_refusal(openapi: &mut utoipa::openapi::OpenApi) {
    const DESCRIPTION: &str = "Sent from another site's page (`cross-site-request`)";
    for (path, item) in &mut openapi.paths.paths {
        if cross_site::EXEMPT_PATHS.contains(&path.as_str()) {
            continue;
        }
        let operations = [
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            let responses = &mut operation.responses.responses;
            match responses.get_mut("403") {
                Some(RefOr::T(existing)) => {
                    existing.description = format!(
                        "{}; or sent from another site's page (`cross-site-request`)",
                        existing.description
                    );
                }
                Some(RefOr::Ref(_)) => {}
                None => {
                    let response = ResponseBuilder::new()
                        .description(DESCRIPTION)
                        .content(
                            "application/problem+json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Problem")))
                                .build(),
                        )
                        .build();
                    responses.insert("403".to_owned(), RefOr::T(response));
                }
            }
        }
    }
}

/// A problem+json answer with `description`.
fn problem_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}

/// Adds the answers the extractors give before a handler runs (routers/extract.rs) to
/// every operation they can reach, unless the operation documents the status itself:
/// a JSON request body can be refused with 400, 413, 415 and 422, a query string or a
/// path parameter that cannot be read with 400.
fn document_extractor_refusals(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    let body_limit_kib = crate::error::MAX_BODY_BYTES / 1024;
    let json_body = [
        (
            "400",
            "The body is not JSON (`malformed-request`)".to_owned(),
        ),
        (
            "413",
            format!("The body is larger than {body_limit_kib} KiB (`payload-too-large`)"),
        ),
        (
            "415",
            "The body is not sent as `application/json` (`unsupported-media-type`)".to_owned(),
        ),
        (
            "422",
            "A field is missing, unknown or of the wrong type (`validation`)".to_owned(),
        ),
    ];
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            let takes_json = operation
                .request_body
                .as_ref()
                .is_some_and(|body| body.content.keys().eq(["application/json"]));
            let reads_parameters = operation
                .parameters
                .iter()
                .flatten()
                .any(|p| matches!(p.parameter_in, ParameterIn::Query | ParameterIn::Path));
            let responses = &mut operation.responses.responses;
            if takes_json {
                for (status, description) in &json_body {
                    responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| problem_response(description));
                }
            }
            if reads_parameters {
                responses.entry("400".to_owned()).or_insert_with(|| {
                    problem_response(
                        "A query or path parameter could not be read (`malformed-request`)",
                    )
                });
            }
        }
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

/// The routes and the OpenAPI document that describes them.
pub fn api_router_and_document() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut openapi) = api_router().split_for_parts();
    document_cross_site_refusal(&mut openapi);
    document_extractor_refusals(&mut openapi);
    (router, openapi)
}

/// The OpenAPI document, as served at `/openapi.json` over plain http.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router_and_document().1
}
