//! Every malformed request gets a 4xx problem+json that says what is wrong.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn raw_signup(
    app: &TestApp,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.api
        .post(app.url("/api/v1/auth/signup"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    let app = spawn_app().await;
    for body in ["{", "{\"email\": }", "not json", "{\"email\":\"a@b.com\",}"] {
        assert_problem(
            raw_signup(&app, "application/json", body).await,
            StatusCode::BAD_REQUEST,
            "malformed-request",
        )
        .await;
    }
}

#[tokio::test]
async fn wrong_types_missing_and_unknown_fields_are_422_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        (json!({"email": 42, "password": PASSWORD}), "email"),
        (json!({"email": "a@example.com"}), "password"),
        (json!({"password": PASSWORD}), "email"),
        (
            json!({"email": "a@example.com", "password": PASSWORD, "admin": true}),
            "admin",
        ),
        (
            json!({"email": "a@example.com", "password": ["x"]}),
            "password",
        ),
    ];
    for (body, field) in cases {
        let response = raw_signup(&app, "application/json", body.to_string()).await;
        let problem =
            assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
        assert_eq!(problem["errors"][0]["field"], field, "{body} -> {problem}");
    }
    let array = raw_signup(&app, "application/json", "[1,2]").await;
    assert_problem(array, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415() {
    let app = spawn_app().await;
    let response = raw_signup(
        &app,
        "application/x-www-form-urlencoded",
        "email=a%40b.com&password=x",
    )
    .await;
    assert_problem(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    )
    .await;
}

#[tokio::test]
async fn an_oversized_body_is_a_413() {
    let app = spawn_app().await;
    let huge = json!({"email": "a".repeat(100 * 1024), "password": PASSWORD}).to_string();
    assert_problem(
        raw_signup(&app, "application/json", huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
    )
    .await;
}

#[tokio::test]
async fn bad_emails_weak_passwords_and_unknown_zones_are_named() {
    let app = spawn_app().await;
    for email in [
        "",
        "plainaddress",
        "a@b",
        "Ada <ada@example.com>",
        "two@@example.com",
    ] {
        let problem = assert_problem(
            app.signup(email, PASSWORD).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "email", "{email}");
    }
    for password in ["short", "password1234", "aaaaaaaaaaaaaaaa", "1234567890123"] {
        let problem = assert_problem(
            app.signup(&unique_email(), password).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "password", "{password}");
    }
    let email = unique_email();
    let local = email.split('@').next().unwrap().to_owned();
    let problem = assert_problem(
        app.signup(&email, &format!("{local}-2026")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("email address"),
        "{problem}"
    );

    let zone = app
        .post(
            &app.api,
            "/api/v1/auth/signup",
            json!({"email": unique_email(), "password": PASSWORD, "time_zone": "Atlantis/Capital"}),
        )
        .await;
    let problem = assert_problem(zone, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(problem["errors"][0]["field"], "time_zone");

    // Every bad field at once is reported at once.
    let all = app
        .post(
            &app.api,
            "/api/v1/auth/signup",
            json!({"email": "nope", "password": "short", "time_zone": "Nowhere"}),
        )
        .await;
    let problem = assert_problem(all, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 3, "{problem}");

    let count: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0, "no refused signup created an account");
}

#[tokio::test]
async fn unknown_api_paths_are_404_and_wrong_methods_405() {
    let app = spawn_app().await;
    let missing = app
        .api
        .get(app.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_problem(missing, StatusCode::NOT_FOUND, "not-found").await;
    let wrong = app
        .api
        .delete(app.url("/api/v1/auth/signup"))
        .send()
        .await
        .unwrap();
    assert_problem(wrong, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed").await;
    let wrong = app
        .api
        .get(app.url("/api/v1/auth/login"))
        .send()
        .await
        .unwrap();
    assert_problem(wrong, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed").await;
}

#[tokio::test]
async fn a_refused_request_loses_nothing_already_stored() {
    let app = spawn_app().await;
    let email = app.confirmed_user().await;
    app.post(&app.api, "/api/v1/watchlist", json!({"symbol": "AAPL"}))
        .await;
    for body in ["{", "[]", "{\"symbol\": 1}", "{\"symbol\": \"A B\"}"] {
        let r = app
            .api
            .post(app.url("/api/v1/watchlist"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{body}");
    }
    let list: Value = app
        .api
        .get(app.url("/api/v1/watchlist"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["symbols"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.login_with(&new_client(), &email, PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn web_paths_serve_the_page_for_client_side_routes() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/confirm?token=abc",
        "/reset-password?token=abc",
        "/some/client/route",
    ] {
        let r = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
}

#[tokio::test]
async fn a_built_web_page_is_served_with_client_routes_and_cache_headers() {
    // A stand-in for web/dist: an index.html and one content-hashed asset.
    let dir = std::env::temp_dir().join(format!("quotidian-web-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>app</title>").unwrap();
    std::fs::write(dir.join("assets/index-3f2a9c.js"), "console.log(1)").unwrap();
    let app = TestApp::builder()
        .with_config(|c| c.server.web_dir = dir.to_str().unwrap().into())
        .spawn()
        .await;

    for path in ["/", "/watchlist", "/history/12"] {
        let r = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(r.headers()["cache-control"], "no-cache", "{path}");
        assert!(
            r.text().await.unwrap().contains("<title>app</title>"),
            "{path}"
        );
    }
    let r = reqwest::get(app.url("/assets/index-3f2a9c.js"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.text().await.unwrap(), "console.log(1)");
    // The API keeps its own answers: no page for a wrong API path or method.
    let r = reqwest::get(app.url("/api/v1/nope")).await.unwrap();
    assert_problem(r, StatusCode::NOT_FOUND, "not-found").await;
    let r = new_client()
        .delete(app.url("/watchlist"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_number_or_a_list_where_a_choice_belongs_is_a_422_naming_the_field() {
    // serde_json reports these while reading the text ("expected value"), as if the
    // body were not JSON; it is JSON, of the wrong shape.
    let app = spawn_app().await;
    app.confirmed_user().await;
    for days in [json!(5), json!(-58800), json!([1]), json!(["weekdays"])] {
        let response = app
            .api
            .patch(app.url("/api/v1/preferences"))
            .json(&json!({"days": days, "paused": true}))
            .send()
            .await
            .unwrap();
        let problem =
            assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
        assert_eq!(problem["errors"][0]["field"], "days", "{days} -> {problem}");
    }
    // Nothing was saved from those bodies.
    let stored: Value = app
        .api
        .get(app.url("/api/v1/preferences"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored["paused"], false);
    // Text that is not JSON is still a 400.
    let response = app
        .api
        .patch(app.url("/api/v1/preferences"))
        .header("content-type", "application/json")
        .body(r#"{"days": 5,}"#)
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::BAD_REQUEST, "malformed-request").await;
}

#[tokio::test]
async fn an_unsubscribe_link_whose_query_cannot_be_read_gets_the_page() {
    // The token twice: the query does not parse. Whoever followed the link gets the
    // same HTML page as for a bad token, as the document says, not a JSON problem.
    let app = spawn_app().await;
    let client = new_client();
    let url = app.url("/unsubscribe?token=a&token=b");
    for response in [
        client.get(&url).send().await.unwrap(),
        client.post(&url).send().await.unwrap(),
    ] {
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("This link does not work")
        );
    }
}
