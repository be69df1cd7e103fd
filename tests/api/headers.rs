//! What every response tells the browser: a Content-Security-Policy fitting what it is
//! (the web page, the unsubscribe pages, the API docs, JSON), never framed by another
//! site (the unsubscribe button must not be clickjacked), no MIME sniffing, no
//! tokens in Referer headers, HSTS over https; and over https a `__Host-` session
//! cookie that a sibling subdomain cannot set or overwrite.

use std::path::PathBuf;

use base64::Engine as _;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::json;
use sha2::Digest as _;

use crate::helpers::*;

const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// The directives of a policy, by name.
fn directives(policy: &str) -> std::collections::HashMap<String, Vec<String>> {
    policy
        .split(';')
        .filter_map(|d| {
            let mut words = d.split_whitespace();
            let name = words.next()?.to_owned();
            Some((name, words.map(str::to_owned).collect()))
        })
        .collect()
}

/// The headers every response carries, whatever it is.
fn assert_common(headers: &HeaderMap, what: &str) {
    let policy = directives(header(headers, "content-security-policy"));
    assert_eq!(
        policy.get("frame-ancestors").map(Vec::as_slice),
        Some(&["'none'".to_owned()][..]),
        "{what}: frame-ancestors"
    );
    assert_eq!(
        header(headers, "x-content-type-options"),
        "nosniff",
        "{what}"
    );
    assert_eq!(header(headers, "x-frame-options"), "DENY", "{what}");
    assert!(
        matches!(
            header(headers, "referrer-policy"),
            "no-referrer" | "strict-origin-when-cross-origin"
        ),
        "{what}"
    );
}

/// The CSP source for an inline block, as browsers hash it.
fn sha256_source(text: &str) -> String {
    let digest = sha2::Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The contents of every inline `<tag>` block (no `src`) in an HTML page.
fn inline_blocks(html: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let attributes = &after[..tag_end];
        let Some(body_end) = after.find(&close) else {
            break;
        };
        if !attributes.contains("src=") {
            found.push(after[tag_end + 1..body_end].to_owned());
        }
        rest = &after[body_end + close.len()..];
    }
    found
}

fn web_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quotidian-web-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(
        dir.join("index.html"),
        r#"<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>"#,
    )
    .unwrap();
    std::fs::write(dir.join("assets/index-abc123.js"), "console.log('hi');").unwrap();
    dir
}

#[tokio::test]
async fn json_answers_forbid_everything_and_are_not_sniffed_or_framed() {
    let app = spawn_app().await;
    let client = new_client();
    let responses = [
        client.get(app.url("/healthz")).send().await.unwrap(),
        client.get(app.url("/api/v1/me")).send().await.unwrap(),
        client
            .get(app.url("/api/v1/nothing-here"))
            .send()
            .await
            .unwrap(),
        client.get(app.url("/openapi.json")).send().await.unwrap(),
        client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": "x"}))
            .send()
            .await
            .unwrap(),
    ];
    for response in responses {
        let what = response.url().path().to_owned();
        assert_common(response.headers(), &what);
        assert_eq!(
            header(response.headers(), "content-security-policy"),
            API_POLICY,
            "{what}"
        );
        assert!(
            response
                .headers()
                .get("strict-transport-security")
                .is_none(),
            "{what}: HSTS over plain http"
        );
    }
}

#[tokio::test]
async fn the_web_page_runs_only_its_own_scripts_and_keeps_its_policy_on_revalidation() {
    let dir = web_dir();
    let app = TestApp::builder()
        .with_config(|c| c.server.web_dir = dir.to_str().unwrap().into())
        .spawn()
        .await;
    let client = new_client();
    for path in [
        "/",
        "/schedule",
        "/history/2026-01-01",
        "/assets/index-abc123.js",
    ] {
        let r = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_common(r.headers(), path);
        let policy = directives(header(r.headers(), "content-security-policy"));
        assert_eq!(policy["script-src"], ["'self'"], "{path}");
        assert_eq!(policy["object-src"], ["'none'"], "{path}");
        assert_eq!(policy["base-uri"], ["'none'"], "{path}");
        assert_eq!(policy["connect-src"], ["'self'"], "{path}");
        // The digest preview (a srcdoc frame, which inherits this policy) shows the
        // email's inline style attributes and the companies' logos; no <style>
        // elements are allowed.
        assert_eq!(policy["style-src"], ["'self'"], "{path}");
        assert_eq!(policy["style-src-attr"], ["'unsafe-inline'"], "{path}");
        assert!(policy["img-src"].contains(&"https:".to_owned()), "{path}");
    }
    // A revalidated index.html (304) keeps the page's policy: browsers replace the
    // cached headers with the 304's.
    let first = client.get(app.url("/")).send().await.unwrap();
    let modified = header(first.headers(), "last-modified").to_owned();
    let policy = header(first.headers(), "content-security-policy").to_owned();
    let again = client
        .get(app.url("/"))
        .header("if-modified-since", modified)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(again.headers(), "content-security-policy"), policy);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn the_built_in_page_allows_exactly_its_own_inline_script_and_style() {
    let app = TestApp::builder()
        .with_config(|c| c.server.web_dir = "/nonexistent/quotidian-web".into())
        .spawn()
        .await;
    let r = new_client().get(app.url("/confirm")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_common(r.headers(), "placeholder");
    let policy = directives(header(r.headers(), "content-security-policy"));
    let html = r.text().await.unwrap();
    let scripts = inline_blocks(&html, "script");
    let styles = inline_blocks(&html, "style");
    assert!(!scripts.is_empty() && !styles.is_empty());
    assert_eq!(
        policy["script-src"],
        scripts.iter().map(|s| sha256_source(s)).collect::<Vec<_>>()
    );
    assert_eq!(
        policy["style-src"],
        styles.iter().map(|s| sha256_source(s)).collect::<Vec<_>>()
    );
    assert_eq!(policy["connect-src"], ["'self'"]);
}

#[tokio::test]
async fn the_unsubscribe_pages_allow_only_their_own_style_and_form_and_send_no_referrer() {
    let app = spawn_app().await;
    let email = app.confirmed_user().await;
    let user: uuid::Uuid = sqlx::query_scalar("select id from users where email = $1")
        .bind(&email)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let token = app.state.links.unsubscribe_token(user);
    let client = new_client();
    let pages = [
        client
            .get(app.url(&format!("/unsubscribe?token={token}")))
            .send()
            .await
            .unwrap(),
        client
            .post(app.url(&format!("/unsubscribe?token={token}")))
            .send()
            .await
            .unwrap(),
        client
            .get(app.url("/unsubscribe?token=forged"))
            .send()
            .await
            .unwrap(),
    ];
    for page in pages {
        let what = format!("{} {}", page.status(), page.url().path());
        assert_common(page.headers(), &what);
        // The page's URL holds the token: it must not leave in a Referer header.
        assert_eq!(
            header(page.headers(), "referrer-policy"),
            "no-referrer",
            "{what}"
        );
        let policy = directives(header(page.headers(), "content-security-policy"));
        let html = page.text().await.unwrap();
        let styles = inline_blocks(&html, "style");
        assert_eq!(styles.len(), 1, "{what}");
        assert_eq!(policy["default-src"], ["'none'"], "{what}");
        assert_eq!(policy["style-src"], [sha256_source(&styles[0])], "{what}");
        assert_eq!(policy["form-action"], ["'self'"], "{what}");
        assert!(!policy.contains_key("script-src"), "{what}: no scripts");
    }
}

#[tokio::test]
async fn the_api_docs_run_only_their_own_scripts() {
    let app = spawn_app().await;
    let client = new_client();
    for path in ["/docs/", "/docs/swagger-initializer.js"] {
        let r = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_common(r.headers(), path);
        let policy = directives(header(r.headers(), "content-security-policy"));
        assert_eq!(policy["script-src"], ["'self'"], "{path}");
        assert_eq!(policy["connect-src"], ["'self'"], "{path}");
    }
}

#[tokio::test]
async fn over_https_responses_ask_browsers_to_stay_on_https() {
    let app = TestApp::builder()
        .with_config(|c| {
            c.server.public_url = Some(url::Url::parse("https://quotidian.example/").unwrap())
        })
        .spawn()
        .await;
    for path in ["/healthz", "/unsubscribe", "/docs/"] {
        let r = new_client().get(app.url(path)).send().await.unwrap();
        assert_eq!(
            header(r.headers(), "strict-transport-security"),
            "max-age=63072000; includeSubDomains",
            "{path}"
        );
    }
}
