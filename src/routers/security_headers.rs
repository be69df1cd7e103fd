//! The headers that tell browsers what a response may do: a Content-Security-Policy
//! that fits what the response is, and the same few headers on every response. See ADR
//! 0010 for why each policy is what it is.
//!
//! Handlers that render pages mark their responses with a [`Kind`] (a response
//! extension); a response without one is JSON (or text) and gets the policy that
//! allows nothing, except under `/docs`, whose pages come from utoipa-swagger-ui.

use std::sync::LazyLock;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use sha2::Digest as _;

/// What a response is, for its Content-Security-Policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// JSON, problem+json, text: nothing to run, nothing to load.
    Api,
    /// The built React page (index.html and its hashed assets).
    WebApp,
    /// The built-in page served until the React page is built (one inline script and
    /// style, allowed by hash).
    Placeholder,
    /// The service-rendered unsubscribe pages (an inline style, a form, no script).
    Unsubscribe,
    /// Swagger UI at `/docs` (its own scripts and styles, the spec from `/openapi.json`).
    Docs,
}

const API: &str = "default-src 'none'; frame-ancestors 'none'";

// The digest preview and history show the email's HTML in a sandboxed `srcdoc` frame,
// which inherits this policy: the email styles with inline `style` attributes (mail
// clients drop <style> elements) and shows companies' logos from wherever Finnhub
// points. `style-src-attr` allows those attributes without allowing <style> elements
// or inline scripts; a browser without it falls back to `style-src 'self'` and shows
// the preview unstyled.
const WEB_APP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
style-src-attr 'unsafe-inline'; img-src 'self' data: https:; font-src 'self'; \
connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
form-action 'self'; object-src 'none'";

// Swagger UI 5 has no inline script (its configuration is swagger-initializer.js);
// its stylesheet embeds SVG icons as data: URLs, and its logo is an SVG with one
// <style> element (`.logo_small_svg__cls-2{fill:#fff}.logo_small_svg__cls-3{fill:#85ea2d}`
// in 5.17.14), allowed by its hash. A new Swagger UI with another logo shows it
// unstyled, and the browser test of /docs fails on the violation.
const DOCS: &str = "default-src 'none'; script-src 'self'; \
style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; \
base-uri 'none'; form-action 'self'; object-src 'none'";

static PLACEHOLDER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; script-src {}; style-src {}; img-src 'self'; connect-src 'self'; \
frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        inline_sources(super::web::PLACEHOLDER, "script").join(" "),
        inline_sources(super::web::PLACEHOLDER, "style").join(" "),
    )
});

static UNSUBSCRIBE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; style-src {}; img-src 'self'; frame-ancestors 'none'; \
base-uri 'none'; form-action 'self'",
        inline_sources(super::unsubscribe::TEMPLATE, "style").join(" "),
    )
});

impl Kind {
    pub fn policy(self) -> &'static str {
        match self {
            Kind::Api => API,
            Kind::WebApp => WEB_APP,
            Kind::Docs => DOCS,
            Kind::Placeholder => &PLACEHOLDER,
            Kind::Unsubscribe => &UNSUBSCRIBE,
        }
    }
}

/// The CSP hash sources (`'sha256-…'`) of every inline `<tag>` block (one without
/// `src`) of a static page, so its policy follows the page when it is edited.
pub fn inline_sources(html: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut sources = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        let block = &rest[start..];
        let (Some(tag_end), Some(body_end)) = (block.find('>'), block.find(&close)) else {
            break;
        };
        if !block[..tag_end].contains("src=") {
            let digest = sha2::Sha256::digest(&block.as_bytes()[tag_end + 1..body_end]);
            sources.push(format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &block[body_end + close.len()..];
    }
    sources
}

/// What the layer needs to know of the configuration.
#[derive(Clone, Copy)]
pub struct Settings {
    /// People reach us over https: ask browsers never to use plain http.
    pub hsts: bool,
}

static PERMISSIONS_POLICY: HeaderName = HeaderName::from_static("permissions-policy");

/// Middleware: sets the policy for the response's [`Kind`] and the headers every
/// response carries. Outside the panic and timeout layers, so their answers get them
/// too.
pub async fn set_security_headers(
    State(settings): State<Settings>,
    request: Request,
    next: Next,
) -> Response {
    let docs = {
        let path = request.uri().path();
        path == "/docs" || path.starts_with("/docs/")
    };
    let mut response = next.run(request).await;
    let kind = response
        .extensions()
        .get::<Kind>()
        .copied()
        .unwrap_or(if docs { Kind::Docs } else { Kind::Api });
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(kind.policy()),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Older browsers that do not know frame-ancestors.
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Links from our emails carry tokens (confirm, reset, unsubscribe): no page of ours
    // tells anyone where the person came from. Our own fetches keep their Origin
    // header (CORS-mode requests always send it), which the cross-site check reads.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        PERMISSIONS_POLICY.clone(),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    if settings.hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_blocks_are_hashed_and_external_ones_skipped() {
        let html = "<style>a{}</style><script src=\"/x.js\"></script><script>\nrun()\n</script>";
        assert_eq!(inline_sources(html, "script").len(), 1);
        // echo -n 'a{}' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            inline_sources(html, "style"),
            ["'sha256-X1RutGBrXCt9KkSaXMK7tHftWiRscFHOhxsS8tv8hBk='"]
        );
    }

    #[test]
    fn every_policy_forbids_framing_and_plugins_are_never_allowed() {
        for kind in [
            Kind::Api,
            Kind::WebApp,
            Kind::Placeholder,
            Kind::Unsubscribe,
            Kind::Docs,
        ] {
            let policy = kind.policy();
            assert!(policy.contains("frame-ancestors 'none'"), "{kind:?}");
            assert!(!policy.contains("unsafe-eval"), "{kind:?}");
            assert!(
                !policy
                    .split(';')
                    .any(|d| d.trim().starts_with("script-src ") && d.contains("unsafe-inline")),
                "{kind:?}"
            );
        }
        assert!(Kind::Placeholder.policy().contains("script-src 'sha256-"));
        assert!(Kind::Unsubscribe.policy().contains("style-src 'sha256-"));
    }
}
