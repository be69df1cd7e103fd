//! The session cookie over https is `__Host-quotidian_session`: Secure, Path=/, no
//! Domain, so no sibling subdomain (and no plain-http page) can set or overwrite it —
//! a planted session cookie would log a person into someone else's account. Over plain
//! http (local use) it stays `quotidian_session`, which the auth tests pin.

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn over_https_the_session_cookie_is_host_only_and_read_only_under_that_name() {
    let app = TestApp::builder()
        .with_config(|c| {
            c.server.public_url = Some(url::Url::parse("https://quotidian.example/").unwrap())
        })
        .spawn()
        .await;

    let email = unique_email();
    assert_eq!(
        app.signup(&email, PASSWORD).await.status(),
        StatusCode::ACCEPTED
    );
    let token = token_of(&link_in(&wait_for_email(&email, "Confirm").await));
    assert_eq!(app.confirm(&token).await.status(), StatusCode::OK);
    let login = app.login_with(&new_client(), &email, PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("__Host-quotidian_session="),
        "over https the session cookie has the __Host- prefix: {cookie}"
    );
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    assert!(attributes.contains(&"Secure"), "{cookie}");
    assert!(attributes.contains(&"HttpOnly"), "{cookie}");
    assert!(attributes.contains(&"Path=/"), "{cookie}");
    assert!(
        !attributes
            .iter()
            .any(|a| a.to_ascii_lowercase().starts_with("domain")),
        "{cookie}"
    );
    let session = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Host-quotidian_session=")
        .to_owned();

    // The session is read from the prefixed cookie only: an unprefixed one may have
    // been planted by a sibling subdomain.
    let plain = reqwest::Client::new();
    let me = plain
        .get(app.url("/api/v1/me"))
        .header("cookie", format!("__Host-quotidian_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me = plain
        .get(app.url("/api/v1/me"))
        .header("cookie", format!("quotidian_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);

    // Logging out clears the prefixed cookie.
    let out = plain
        .post(app.url("/api/v1/auth/logout"))
        .header("cookie", format!("__Host-quotidian_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let cleared = out.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("__Host-quotidian_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
}

#[tokio::test]
async fn the_served_api_document_names_the_cookie_in_use() {
    let app = TestApp::builder()
        .with_config(|c| {
            c.server.public_url = Some(url::Url::parse("https://quotidian.example/").unwrap())
        })
        .spawn()
        .await;
    let doc: serde_json::Value = reqwest::get(app.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["components"]["securitySchemes"]["session"]["name"],
        "__Host-quotidian_session"
    );
    let plain = spawn_app().await;
    let doc: serde_json::Value = reqwest::get(plain.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["components"]["securitySchemes"]["session"]["name"],
        "quotidian_session"
    );
}
