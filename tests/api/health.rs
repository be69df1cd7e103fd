use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn healthz_answers_with_a_request_id() {
    let app = spawn_app().await;
    let r = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID request id: {id}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn a_request_id_sent_by_the_client_is_kept() {
    let app = spawn_app().await;
    let r = app
        .api
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-me-123");
}

#[tokio::test]
async fn readyz_reports_the_database() {
    let app = spawn_app().await;
    let r = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.db.close().await;
    let r = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_problem(r, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    // Liveness does not depend on the database.
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_database_outage_is_a_500_problem_not_a_crash() {
    let app = spawn_app().await;
    app.confirmed_user().await;
    app.db.close().await;
    let r = app
        .api
        .get(app.url("/api/v1/watchlist"))
        .send()
        .await
        .unwrap();
    let body = assert_problem(r, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
    assert!(
        !body["detail"].as_str().unwrap().contains("pool"),
        "internals stay in the log: {body}"
    );
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        StatusCode::OK
    );
}

/// A background loop that keeps failing is restarted, then declared dead, and the
/// process stops saying it is ready.
#[tokio::test]
async fn a_background_loop_that_keeps_dying_makes_readyz_fail() {
    let app = spawn_app().await;
    let starts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = starts.clone();
    quotidian::workers::supervise(&app.state, "doomed", move |_| {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            panic!("this loop always fails");
        }
    });
    let ready = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
    let body: serde_json::Value = eventually(std::time::Duration::from_secs(20), async || {
        let r = reqwest::get(app.url("/readyz")).await.unwrap();
        if r.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE {
            Ok(r.json().await.unwrap())
        } else {
            Err("readyz still 200")
        }
    })
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("doomed"),
        "{body}"
    );
    // It was started again after each panic before being given up on.
    assert_eq!(starts.load(std::sync::atomic::Ordering::SeqCst), 6);
}
