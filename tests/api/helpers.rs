#![allow(dead_code)] // shared by several test binaries, each using a part
use std::net::{Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use quotidian::clients::audit::{AuditStore, S3AuditStore};
use quotidian::clients::mailer::{Mailer, SesMailer};
pub use quotidian::config::Config;
use quotidian::startup::Application;
use quotidian::state::AppState;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::{Connection as _, PgConnection, PgPool};

#[path = "eventually.rs"]
mod eventually;
pub use eventually::eventually;

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

/// A fresh database with every migration applied, and no app running against it.
pub async fn migrated_database() -> sqlx::PgPool {
    let pool = sqlx::PgPool::connect(&fresh_database().await)
        .await
        .expect("connect to the fresh database");
    quotidian::startup::MIGRATOR
        .run(&pool)
        .await
        .expect("migrate the fresh database");
    pool
}

/// The app with the test configuration, the SES emulator and the S3 emulator:
/// `TestApp::builder().spawn()`.
pub async fn spawn_app() -> TestApp {
    TestApp::builder().spawn().await
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

/// A limit for a test configuration (panics on 0).
pub fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).expect("a limit above 0")
}

/// The configuration every test app starts from: the production defaults, with fast
/// loops, a fixed secret and limits out of the way. Its database is a placeholder:
/// [`TestAppBuilder::spawn`] creates a fresh one.
pub fn test_config() -> Config {
    let mut c = Config::with_database(SecretString::from(String::new()));
    c.server.bind = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    // Never the checkout's web/dist: whether `scripts/run` or the browser tests built
    // it must not change what the API tests see (the built-in page stands in). Tests of
    // the served web page give their own directory.
    c.server.web_dir = "/nonexistent/quotidian-web-not-built".into();
    c.accounts.secret_key = Some(SecretString::from(
        "test-secret-key-of-at-least-32-characters",
    ));
    c.accounts.max_concurrent_hashes = 2;
    c.s3.bucket = TEST_BUCKET.to_owned();
    c.ses.outbox_poll_ms = 100;
    c.ses.max_send_rate = Some(1000.0);
    c.digests.scheduler_tick_ms = 200;
    c.digests.poll_ms = 100;
    c.digests.retry_base_ms = 100;
    c.etl.plan_tick_ms = 100;
    // Every test client is 127.0.0.1: the abuse limits get their own tests.
    c.limits.signups_per_client_per_hour = nz(10_000);
    c.limits.signups_per_minute = nz(10_000);
    c.limits.resets_per_client_per_hour = nz(10_000);
    c.limits.resets_per_minute = nz(10_000);
    c.limits.confirms_per_client_per_hour = nz(10_000);
    c.limits.confirms_per_minute = nz(10_000);
    c
}

/// What a test app is started with; see [`TestApp::builder`].
pub struct TestAppBuilder {
    config: Config,
    mailer: Option<Arc<dyn Mailer>>,
    audit: Option<Arc<dyn AuditStore>>,
}

impl TestApp {
    /// [`test_config`], the SES emulator and the S3 emulator, each replaceable:
    /// `TestApp::builder().with_config(|c| c.digests.workers = false).spawn().await`.
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            config: test_config(),
            mailer: None,
            audit: None,
        }
    }
}

impl TestAppBuilder {
    /// Changes the typed configuration (the database excepted: each app gets a fresh
    /// one). May be called more than once; later changes win.
    pub fn with_config(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(&mut self.config);
        self
    }

    /// Sends email through `mailer` instead of the SES emulator.
    pub fn with_mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Writes audit records to `audit` instead of the S3 emulator.
    pub fn with_audit(mut self, audit: Arc<dyn AuditStore>) -> Self {
        self.audit = Some(audit);
        self
    }

    /// Starts the app on port 0 against a fresh, migrated database.
    pub async fn spawn(self) -> TestApp {
        if std::env::var("TEST_LOG").is_ok() {
            quotidian::telemetry::init(false);
        }
        let mut config = self.config;
        config.database.url = SecretString::from(fresh_database().await);
        let mailer: Arc<dyn Mailer> = match self.mailer {
            Some(m) => m,
            None => {
                ses_url(); // fail early with a clear message when the emulator is not configured
                Arc::new(SesMailer::from_env(None).await)
            }
        };
        let audit: Arc<dyn AuditStore> = match self.audit {
            Some(a) => a,
            None => test_audit_store().await,
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

    /// Waits until every password-reset lookup this app started has finished (they
    /// run detached from the request, each holding one permit).
    pub async fn reset_lookups_done(&self) {
        use quotidian::services::throttle::MAX_RESET_LOOKUPS;
        eventually(Duration::from_secs(10), async || {
            match MAX_RESET_LOOKUPS - self.state.abuse.reset_work.available_permits() {
                0 => Ok(()),
                running => Err(format!("{running} password reset lookups still running")),
            }
        })
        .await
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
    eventually(Duration::from_secs(10), async || {
        emails_to(to)
            .await
            .into_iter()
            .rev()
            .find(|m| m["subject"].as_str().is_some_and(|s| s.contains(subject)))
            .ok_or_else(|| format!("no email to {to} with subject containing {subject:?}"))
    })
    .await
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
