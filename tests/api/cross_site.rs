//! Cross-site request forgery: a page on another site makes a logged-in person's browser
//! send a state-changing request to us. The session cookie goes along (SameSite=Lax
//! still sends it on same-site requests, and older browsers ignore SameSite), so every
//! state change from another site is refused before any handler runs. What browsers
//! say about where a request comes from (`Sec-Fetch-Site`, else `Origin`) decides;
//! clients that send neither (curl, server-to-server) are not browsers and pass.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

/// What a browser sends with a request that another site started.
const CROSS_SITE: &[(&str, &str)] = &[
    ("origin", "https://evil.example"),
    ("sec-fetch-site", "cross-site"),
    // A sibling subdomain (which may be someone else's) is not us either.
    ("sec-fetch-site", "same-site"),
    // Sandboxed frames and some redirects send an opaque origin.
    ("origin", "null"),
];

async fn user_id(app: &TestApp, email: &str) -> Uuid {
    sqlx::query_scalar("select id from users where email = $1")
        .bind(email)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn send(
    app: &TestApp,
    client: &reqwest::Client,
    method: Method,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = client.request(method, app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn still_logged_in(app: &TestApp) -> bool {
    let me = app.api.get(app.url("/api/v1/me")).send().await.unwrap();
    me.status() == StatusCode::OK
}

#[tokio::test]
async fn cross_site_state_changes_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let email = app.confirmed_user().await;
    let user = user_id(&app, &email).await;

    for header in CROSS_SITE {
        let headers = [*header];
        let what = format!("{}: {}", header.0, header.1);

        let r = send(
            &app,
            &app.api,
            Method::POST,
            "/api/v1/digests/send-now",
            None,
            &headers,
        )
        .await;
        assert_problem(r, StatusCode::FORBIDDEN, "cross-site-request").await;
        let jobs: i64 = sqlx::query_scalar("select count(*) from digest_jobs where user_id = $1")
            .bind(user)
            .fetch_one(&app.db)
            .await
            .unwrap();
        assert_eq!(jobs, 0, "{what}: send-now queued a digest");

        let r = send(
            &app,
            &app.api,
            Method::POST,
            "/api/v1/auth/logout",
            None,
            &headers,
        )
        .await;
        assert_problem(r, StatusCode::FORBIDDEN, "cross-site-request").await;
        let r = send(
            &app,
            &app.api,
            Method::DELETE,
            "/api/v1/me/sessions",
            None,
            &headers,
        )
        .await;
        assert_problem(r, StatusCode::FORBIDDEN, "cross-site-request").await;
        let r = send(&app, &app.api, Method::DELETE, "/api/v1/me", None, &headers).await;
        assert_problem(r, StatusCode::FORBIDDEN, "cross-site-request").await;
        assert!(
            still_logged_in(&app).await,
            "{what}: the session was ended or the account deleted"
        );

        let r = send(
            &app,
            &app.api,
            Method::PATCH,
            "/api/v1/preferences",
            Some(json!({"paused": true})),
            &headers,
        )
        .await;
        assert_problem(r, StatusCode::FORBIDDEN, "cross-site-request").await;
        let r = send(
            &app,
            &app.api,
            Method::POST,
            "/api/v1/watchlist",
            Some(json!({"symbol": "AAPL"})),
            &headers,
        )
        .await;
        assert_problem(r, StatusCode::FORBIDDEN, "cross-site-request").await;
        let (paused, symbols): (bool, i64) = sqlx::query_as(
            "select p.paused, (select count(*) from watchlist_items w where w.user_id = p.user_id)
             from preferences p where p.user_id = $1",
        )
        .bind(user)
        .fetch_one(&app.db)
        .await
        .unwrap();
        assert!(!paused, "{what}: the digest was paused");
        assert_eq!(symbols, 0, "{what}: a symbol was added");

        // Logging someone into the attacker's account is refused too.
        let r = send(
            &app,
            &new_client(),
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"email": email, "password": PASSWORD})),
            &headers,
        )
        .await;
        assert_problem(r, StatusCode::FORBIDDEN, "cross-site-request").await;
    }
}

#[tokio::test]
async fn sec_fetch_site_decides_over_origin_and_unknown_routes_are_refused_too() {
    let app = spawn_app().await;
    app.confirmed_user().await;
    // A browser that says cross-site is believed even if Origin looks like ours.
    let r = send(
        &app,
        &app.api,
        Method::POST,
        "/api/v1/auth/logout",
        None,
        &[("sec-fetch-site", "cross-site"), ("origin", &app.address)],
    )
    .await;
    assert_problem(r, StatusCode::FORBIDDEN, "cross-site-request").await;
    // Our own origin with another port, or https for http, is another origin.
    let other_port = format!("{}1", app.address);
    let https = app.address.replacen("http://", "https://", 1);
    for origin in [other_port.as_str(), https.as_str()] {
        let r = send(
            &app,
            &app.api,
            Method::POST,
            "/api/v1/auth/logout",
            None,
            &[("origin", origin)],
        )
        .await;
        assert_problem(r, StatusCode::FORBIDDEN, "cross-site-request").await;
    }
    assert!(still_logged_in(&app).await);
}

#[tokio::test]
async fn same_origin_user_initiated_and_headerless_requests_still_work() {
    let app = spawn_app().await;
    app.confirmed_user().await;

    let ours: &[&[(&str, &str)]] = &[
        &[("sec-fetch-site", "same-origin"), ("origin", &app.address)],
        &[("sec-fetch-site", "same-origin")],
        // Typed into the address bar, a bookmark: the person started it.
        &[("sec-fetch-site", "none")],
        // Browsers without Fetch Metadata send Origin on every POST.
        &[("origin", &app.address)],
        // curl, API clients.
        &[],
    ];
    for (i, headers) in ours.iter().enumerate() {
        let symbol = ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN"][i];
        let r = send(
            &app,
            &app.api,
            Method::POST,
            "/api/v1/watchlist",
            Some(json!({"symbol": symbol})),
            headers,
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{headers:?}");
    }
    let r = send(
        &app,
        &app.api,
        Method::PATCH,
        "/api/v1/preferences",
        Some(json!({"paused": true})),
        &[("sec-fetch-site", "same-origin"), ("origin", &app.address)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = send(
        &app,
        &app.api,
        Method::POST,
        "/api/v1/auth/logout",
        None,
        &[("sec-fetch-site", "same-origin"), ("origin", &app.address)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(!still_logged_in(&app).await);

    // Reading is never refused: links from other sites (a digest in a webmail) work.
    let r = send(
        &app,
        &app.api,
        Method::GET,
        "/healthz",
        None,
        &[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_public_url_is_the_origin_when_it_is_set() {
    let app = TestApp::builder()
        .with_config(|c| {
            c.server.public_url = Some(url::Url::parse("https://quotidian.example/").unwrap())
        })
        .spawn()
        .await;
    let r = send(
        &app,
        &new_client(),
        Method::POST,
        "/api/v1/auth/password-reset",
        Some(json!({"email": unique_email()})),
        &[("origin", "https://quotidian.example")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    // The bound address is not where people reach us.
    let r = send(
        &app,
        &new_client(),
        Method::POST,
        "/api/v1/auth/password-reset",
        Some(json!({"email": unique_email()})),
        &[("origin", &app.address)],
    )
    .await;
    assert_problem(r, StatusCode::FORBIDDEN, "cross-site-request").await;
}

#[tokio::test]
async fn one_click_unsubscribe_from_a_mail_provider_still_works() {
    let app = spawn_app().await;
    let email = app.confirmed_user().await;
    let user = user_id(&app, &email).await;
    let token = app.state.links.unsubscribe_token(user);

    // Gmail's servers POST the List-Unsubscribe URL (RFC 8058); a webmail's page may
    // submit it from the browser, from its own origin.
    let r = send(
        &app,
        &new_client(),
        Method::POST,
        &format!("/unsubscribe?token={token}"),
        None,
        &[
            ("origin", "https://mail.google.com"),
            ("sec-fetch-site", "cross-site"),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let paused: bool = sqlx::query_scalar("select paused from preferences where user_id = $1")
        .bind(user)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(paused, "the one-click unsubscribe did not pause the digest");
}

#[tokio::test]
async fn the_ses_webhook_is_not_refused_as_cross_site() {
    let app = spawn_app().await;
    // Not a signed SNS message: refused, but by the webhook, for what it is.
    let r = send(
        &app,
        &new_client(),
        Method::POST,
        "/webhooks/ses",
        Some(json!({"Type": "Notification"})),
        &[
            ("origin", "https://sns.example"),
            ("sec-fetch-site", "cross-site"),
        ],
    )
    .await;
    assert!(r.status().is_client_error());
    let body: Value = r.json().await.unwrap();
    assert_ne!(
        body["type"], "urn:quotidian:problem:cross-site-request",
        "{body}"
    );
}
