#![allow(dead_code)] // shared by several test binaries, each using a part
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quotidian::clients::audit::{AuditStore, S3AuditStore};
use quotidian::clients::mailer::{Mailer, SesMailer};
use quotidian::config::Config;
use quotidian::startup::Application;
use quotidian::state::AppState;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::{Connection as _, PgConnection, PgPool};

pub const PASSWORD: &str = "velvet-harbor-oxide-42";
pub const NEW_PASSWORD: &str = "quiet-lantern-meadow-77";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests through scripts/test, which starts PostgreSQL and the SES emulator")
    })
}

pub fn ses_url() -> String {
    env("AWS_ENDPOINT_URL_SESV2")
}

/// An address no other test uses, so tests can share the SES emulator's mailbox.
pub fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

pub struct TestApp {
    pub address: String,
    pub db: PgPool,
    /// The running app's state, for tests that need to reach behind the API.
    pub state: AppState,
    /// A client with its own cookie jar (one browser).
    pub api: reqwest::Client,
    /// `http://127.0.0.1:<port>` of the metrics listener, when QUOTIDIAN_METRICS_BIND is set.
    pub metrics_address: Option<String>,
}

/// Creates a fresh, empty database and returns its URL.
async fn fresh_database() -> String {
    let admin_url = env("TEST_DATABASE_URL");
    let name = format!("quotidian_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .expect("connect to TEST_DATABASE_URL");
    sqlx::query(&format!(r#"create database "{name}""#))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&name);
    url.to_string()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[], None).await
}

/// The bucket test apps write audit records to, in the S3 emulator.
pub const TEST_BUCKET: &str = "quotidian-test-audit";

static BUCKET: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

/// The audit store of the S3 emulator, with the test bucket created once per run.
pub async fn test_audit_store() -> Arc<S3AuditStore> {
    env("AWS_ENDPOINT_URL_S3");
    let store = Arc::new(S3AuditStore::from_env(TEST_BUCKET).await);
    BUCKET
        .get_or_init(|| async {
            store
                .ensure_bucket(None, None)
                .await
                .expect("create the test bucket in the S3 emulator");
        })
        .await;
    store
}

/// Starts the app with extra environment settings and, optionally, another mailer.
pub async fn spawn_app_with(settings: &[(&str, &str)], mailer: Option<Arc<dyn Mailer>>) -> TestApp {
    let audit: Arc<dyn AuditStore> = test_audit_store().await;
    spawn_app_full(settings, mailer, audit).await
}

/// Starts the app with settings, a mailer and an audit store of the test's choosing.
pub async fn spawn_app_full(
    settings: &[(&str, &str)],
    mailer: Option<Arc<dyn Mailer>>,
    audit: Arc<dyn AuditStore>,
) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        quotidian::telemetry::init(false);
    }
    let mut vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), fresh_database().await),
        ("QUOTIDIAN_BIND".into(), "127.0.0.1:0".into()),
        ("QUOTIDIAN_OUTBOX_POLL_MS".into(), "100".into()),
        (
            "QUOTIDIAN_SECRET_KEY".into(),
            "test-secret-key-of-at-least-32-characters".into(),
        ),
        ("QUOTIDIAN_MAX_CONCURRENT_HASHES".into(), "2".into()),
        ("QUOTIDIAN_S3_BUCKET".into(), TEST_BUCKET.into()),
        ("QUOTIDIAN_SES_MAX_SEND_RATE".into(), "1000".into()),
        ("QUOTIDIAN_SCHEDULER_TICK_MS".into(), "200".into()),
        ("QUOTIDIAN_DIGEST_POLL_MS".into(), "100".into()),
        ("QUOTIDIAN_DIGEST_RETRY_BASE_MS".into(), "100".into()),
        // Every test client is 127.0.0.1: the abuse limits get their own tests.
        (
            "QUOTIDIAN_SIGNUPS_PER_CLIENT_PER_HOUR".into(),
            "10000".into(),
        ),
        ("QUOTIDIAN_SIGNUPS_PER_MINUTE".into(), "10000".into()),
        (
            "QUOTIDIAN_RESETS_PER_CLIENT_PER_HOUR".into(),
            "10000".into(),
        ),
        ("QUOTIDIAN_RESETS_PER_MINUTE".into(), "10000".into()),
        (
            "QUOTIDIAN_CONFIRMS_PER_CLIENT_PER_HOUR".into(),
            "10000".into(),
        ),
        ("QUOTIDIAN_CONFIRMS_PER_MINUTE".into(), "10000".into()),
    ]);
    for (k, v) in settings {
        vars.insert((*k).into(), (*v).into());
    }
    let config = Config::from_vars(&vars).expect("valid test configuration");
    let mailer: Arc<dyn Mailer> = match mailer {
        Some(m) => m,
        None => {
            ses_url(); // fail early with a clear message when the emulator is not configured
            Arc::new(SesMailer::from_env(None).await)
        }
    };
    let app = Application::build_with(config, mailer, audit)
        .await
        .expect("build application");
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_address = app
        .metrics_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    TestApp {
        address,
        db: state.db.clone(),
        state,
        api: new_client(),
        metrics_address,
    }
}

pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post(
        &self,
        client: &reqwest::Client,
        path: &str,
        body: Value,
    ) -> reqwest::Response {
        client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn signup(&self, email: &str, password: &str) -> reqwest::Response {
        self.post(
            &self.api,
            "/api/v1/auth/signup",
            json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn login_with(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        self.post(
            client,
            "/api/v1/auth/login",
            json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn confirm(&self, token: &str) -> reqwest::Response {
        self.post(&self.api, "/api/v1/auth/confirm", json!({"token": token}))
            .await
    }

    /// Signs up, confirms through the emailed link and logs `self.api` in.
    pub async fn confirmed_user(&self) -> String {
        let email = unique_email();
        self.confirmed_user_with_client(&email, &self.api).await;
        email
    }

    pub async fn confirmed_user_with_client(&self, email: &str, client: &reqwest::Client) {
        assert_eq!(
            self.signup(email, PASSWORD).await.status(),
            StatusCode::ACCEPTED
        );
        let link = link_in(&wait_for_email(email, "Confirm").await);
        let token = token_of(&link);
        assert_eq!(self.confirm(&token).await.status(), StatusCode::OK);
        assert_eq!(
            self.login_with(client, email, PASSWORD).await.status(),
            StatusCode::OK
        );
    }
}

/// Every email the SES emulator holds for `to`, oldest first.
pub async fn emails_to(to: &str) -> Vec<Value> {
    let store: Value = reqwest::get(format!("{}/store", ses_url()))
        .await
        .expect("SES emulator reachable")
        .json()
        .await
        .unwrap();
    store["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["destination"]["to"]
                .as_array()
                .is_some_and(|to_list| to_list.iter().any(|t| t.as_str() == Some(to)))
        })
        .cloned()
        .collect()
}

/// Waits (up to 10 s) for an email to `to` whose subject contains `subject`.
pub async fn wait_for_email(to: &str, subject: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = emails_to(to)
            .await
            .into_iter()
            .rev()
            .find(|m| m["subject"].as_str().is_some_and(|s| s.contains(subject)))
        {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "no email to {to} with subject containing {subject:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The first http(s) link with a token in the email's text part.
pub fn link_in(email: &Value) -> String {
    let text = email["body"]["text"].as_str().expect("text part");
    text.split_whitespace()
        .find(|w| w.starts_with("http") && w.contains("token="))
        .expect("a link with a token in the text part")
        .to_owned()
}

pub fn token_of(link: &str) -> String {
    url::Url::parse(link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .expect("token parameter")
}

/// Asserts a problem+json answer with the given status and `type` slug; returns it.
pub async fn assert_problem(response: reqwest::Response, status: StatusCode, slug: &str) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["type"],
        format!("urn:quotidian:problem:{slug}"),
        "{body}"
    );
    assert_eq!(body["status"], status.as_u16());
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}
