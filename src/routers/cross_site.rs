//! Refusing state changes that another site's page made a browser send (cross-site
//! request forgery). Several state changes carry no JSON body (send now, log out, log
//! out everywhere, delete a symbol), so the JSON content type is no defence for them,
//! and SameSite=Lax still sends the session cookie on requests from a sibling
//! subdomain; older browsers ignore SameSite altogether.
//!
//! Browsers say where a request comes from: `Sec-Fetch-Site` (every current browser),
//! else `Origin` (every browser sends it on a cross-origin POST). Clients that send
//! neither are not browsers (curl, server-to-server), so they are not forgeries and
//! pass. See ADR 0010.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::ORIGIN;
use axum::http::{HeaderMap, HeaderName};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::Config;
use crate::error::ApiError;

static SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// State-changing routes other sites must be able to reach: the RFC 8058 one-click
/// unsubscribe, which mail providers POST from their own servers or pages, and the SNS
/// webhook (server to server; it carries no cookie and is authenticated by its
/// signature).
pub const EXEMPT_PATHS: &[&str] = &["/unsubscribe", "/webhooks/ses"];

/// The origin people reach the service at (`QUOTIDIAN_PUBLIC_URL`, else the bound
/// address), serialized as browsers send it in `Origin`.
#[derive(Clone)]
pub struct OwnOrigin(Arc<str>);

impl OwnOrigin {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let base = url::Url::parse(&config.server.public_base())?;
        Ok(Self(base.origin().ascii_serialization().into()))
    }
}

/// Whether the browser (if it is one) says this request was started by our own pages
/// or by the person themselves (`Sec-Fetch-Site: none`: typed, bookmarked).
fn is_own(headers: &HeaderMap, own: &OwnOrigin) -> bool {
    if let Some(site) = headers.get(&SEC_FETCH_SITE) {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    match headers.get(ORIGIN) {
        Some(origin) => origin.as_bytes() == own.0.as_bytes(),
        None => true,
    }
}

/// Middleware: refuses an unsafe-method request (anything but GET, HEAD, OPTIONS,
/// TRACE) from another site with a 403 `cross-site-request`, before any handler or
/// extractor runs.
pub async fn refuse_cross_site(
    State(own): State<OwnOrigin>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method();
    if method.is_safe()
        || EXEMPT_PATHS.contains(&request.uri().path())
        || is_own(request.headers(), &own)
    {
        return next.run(request).await;
    }
    let headers = request.headers();
    let header = |name: &HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    tracing::info!(
        method = %method,
        path = request.uri().path(),
        sec_fetch_site = header(&SEC_FETCH_SITE),
        origin = header(&ORIGIN),
        "refused a cross-site request"
    );
    ApiError::cross_site_request().into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> OwnOrigin {
        OwnOrigin("https://quotidian.example".into())
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (HeaderName::from_static(k), v.parse().unwrap()))
            .collect()
    }

    #[test]
    fn fetch_metadata_decides_then_origin_then_nothing_is_not_a_browser() {
        let own = own();
        assert!(is_own(&headers(&[("sec-fetch-site", "same-origin")]), &own));
        assert!(is_own(&headers(&[("sec-fetch-site", "none")]), &own));
        assert!(!is_own(&headers(&[("sec-fetch-site", "same-site")]), &own));
        assert!(!is_own(&headers(&[("sec-fetch-site", "cross-site")]), &own));
        assert!(!is_own(
            &headers(&[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://quotidian.example")
            ]),
            &own
        ));
        assert!(is_own(
            &headers(&[("origin", "https://quotidian.example")]),
            &own
        ));
        for other in [
            "https://evil.example",
            "null",
            "http://quotidian.example",
            "https://quotidian.example:8443",
            "https://a.quotidian.example",
        ] {
            assert!(
                !is_own(&headers(&[("origin", other)]), &own),
                "{other} is not us"
            );
        }
        assert!(is_own(&HeaderMap::new(), &own));
    }

    #[test]
    fn the_origin_is_the_public_urls_without_path_or_default_port() {
        let config = Config::from_vars(
            &[
                ("DATABASE_URL", "postgres://u@localhost/db"),
                ("QUOTIDIAN_PUBLIC_URL", "https://Quotidian.example:443/app/"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        )
        .unwrap();
        assert_eq!(
            &*OwnOrigin::from_config(&config).unwrap().0,
            "https://quotidian.example"
        );
    }
}
