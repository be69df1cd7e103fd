//! The web page: the built React app from `QUOTIDIAN_WEB_DIR` when it exists, with
//! client-side routes falling back to its `index.html`; until then a small built-in
//! page that handles the links in our emails.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::{Html, IntoResponse, Response};
use tower::ServiceExt as _;
use tower_http::services::{ServeDir, ServeFile};

use super::security_headers::Kind;
use crate::error::ApiError;
use crate::state::AppState;

pub(super) const PLACEHOLDER: &str = include_str!("../../web/placeholder/index.html");

/// Anything no route matched.
pub async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if path == "/api" || path.starts_with("/api/") {
        return ApiError::not_found(format!("There is no API resource at {path}.")).into_response();
    }
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return ApiError::method_not_allowed().into_response();
    }
    let dir = &state.config.server.web_dir;
    let index = dir.join("index.html");
    if index.is_file() {
        // Vite names everything under assets/ by its content hash: those never change
        // and may be cached for good. Everything else (index.html, for every client
        // route) is revalidated, so a new deploy is picked up at once.
        let cache = if path.starts_with("/assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        let serve = ServeDir::new(dir).fallback(ServeFile::new(index));
        let mut response = match serve.oneshot(request).await {
            Ok(response) => response.map(Body::new),
            Err(never) => match never {},
        };
        if response.status().is_success() {
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        }
        // Every answer from the page's files, a 304 included: a browser revalidating
        // index.html takes the 304's headers for the cached page.
        response.extensions_mut().insert(Kind::WebApp);
        return response;
    }
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Extension(Kind::Placeholder),
        Html(PLACEHOLDER),
    )
        .into_response()
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
