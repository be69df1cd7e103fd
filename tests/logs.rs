//! The logs of a request: JSON lines that all carry the request id, and never a
//! password or a token. A test binary of its own, because the log subscriber is
//! global to the process.

#[path = "api/helpers.rs"]
mod helpers;

use std::io::Write;
use std::sync::{Arc, Mutex};

use helpers::*;
use serde_json::Value;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn request_logs_are_json_with_a_request_id_and_no_secrets() {
    let captured = Captured::default();
    let sink = captured.clone();
    quotidian::telemetry::init_with_writer(true, move || sink.clone());

    let app = spawn_app().await;
    let email = unique_email();
    app.signup(&email, PASSWORD).await;
    let link = link_in(&wait_for_email(&email, "Confirm").await);
    let token = token_of(&link);
    app.confirm(&token).await;
    let login = app.login_with(&app.api, &email, PASSWORD).await;
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    let session = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("quotidian_session=")
        .to_owned();
    app.login_with(&new_client(), &email, "a-wrong-password-xyz")
        .await;

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for secret in [
        PASSWORD,
        "a-wrong-password-xyz",
        token.as_str(),
        session.as_str(),
    ] {
        assert!(!text.contains(secret), "a secret reached the logs");
    }
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let in_requests: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["spans"]
                .as_array()
                .is_some_and(|s| s.first().is_some_and(|s| s["name"] == "request"))
        })
        .collect();
    assert!(
        in_requests.len() >= 8,
        "expected request logs, got {}",
        in_requests.len()
    );
    for line in &in_requests {
        let id = line["spans"][0]["request_id"].as_str().unwrap_or_default();
        assert_eq!(id.len(), 36, "line without a request id: {line}");
    }
    // Lines from inside services (nested spans) carry it too.
    assert!(
        in_requests
            .iter()
            .any(|l| l["message"] == "account created, confirmation queued"),
        "service lines are inside the request span"
    );
}
