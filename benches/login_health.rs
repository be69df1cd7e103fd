//! `GET /healthz` latency while 50 logins run at once.
//!
//! Argon2 must not stall the async runtime: if it ran on the runtime's threads, health
//! checks would queue behind hashes. Run with `scripts/bench` (release build, local
//! PostgreSQL). Prints the latency percentiles without and with the login load.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use quotidian::clients::mailer::{MailError, Mailer, OutgoingEmail};
use quotidian::config::Config;
use quotidian::domain::Password;
use quotidian::services::passwords::PasswordHasher;
use quotidian::startup::Application;
use sqlx::{Connection as _, PgConnection};

const CONCURRENT_LOGINS: usize = 50;
const LOAD_SECONDS: u64 = 15;
const PASSWORD: &str = "velvet-harbor-oxide-42";

/// Logins send no email; the bench measures HTTP and hashing only.
struct NoMail;

#[async_trait]
impl Mailer for NoMail {
    async fn send(&self, _: &OutgoingEmail) -> Result<String, MailError> {
        Ok("bench".into())
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn report(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label:<28} n={:<6} p50={:>7.2} ms  p95={:>7.2} ms  p99={:>7.2} ms  max={:>7.2} ms",
        samples.len(),
        ms(percentile(&samples, 0.50)),
        ms(percentile(&samples, 0.95)),
        ms(percentile(&samples, 0.99)),
        ms(*samples.last().unwrap()),
    );
}

/// Samples `/healthz` every 10 ms until `stop`.
async fn sample_health(
    client: reqwest::Client,
    url: String,
    stop: Arc<AtomicBool>,
) -> Vec<Duration> {
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let start = Instant::now();
        let response = client.get(&url).send().await.expect("healthz reachable");
        assert!(response.status().is_success());
        response.bytes().await.unwrap();
        samples.push(start.elapsed());
    }
    samples
}

fn main() {
    let admin_url =
        std::env::var("TEST_DATABASE_URL").expect("run through scripts/bench (TEST_DATABASE_URL)");
    // The server gets its own runtime (as in production: 2 worker threads on this
    // machine); the load generator runs on another, so it does not steal the server's
    // worker threads.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (address, db_url) = server_rt.block_on(async {
        let name = format!("quotidian_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap();
        sqlx::query(&format!(r#"create database "{name}""#))
            .execute(&mut admin)
            .await
            .unwrap();
        let mut db_url = url::Url::parse(&admin_url).unwrap();
        db_url.set_path(&name);
        let vars: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".into(), db_url.to_string()),
            ("QUOTIDIAN_BIND".into(), "127.0.0.1:0".into()),
            (
                "QUOTIDIAN_SECRET_KEY".into(),
                "bench-secret-key-of-at-least-32-characters".into(),
            ),
            // The limiter would otherwise (rightly) refuse most of this load.
            (
                "QUOTIDIAN_LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE".into(),
                "1000000".into(),
            ),
            (
                "QUOTIDIAN_LOGIN_ATTEMPTS_PER_CLIENT_PER_MINUTE".into(),
                "1000000".into(),
            ),
        ]);
        let config = Config::from_vars(&vars).unwrap();
        let hashes = config.accounts.max_concurrent_hashes;
        let app = Application::build(config, Arc::new(NoMail)).await.unwrap();
        let address = format!("http://127.0.0.1:{}", app.port());
        let db = app.state().db.clone();
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        let hash = PasswordHasher::new(1)
            .hash(&Password::parse_new(PASSWORD, &[]).unwrap())
            .await
            .unwrap();
        for i in 0..CONCURRENT_LOGINS {
            sqlx::query(
                "insert into users (email, password_hash, confirmed_at) values ($1, $2, now())",
            )
            .bind(format!("bench-{i}@example.com"))
            .bind(&hash)
            .execute(&db)
            .await
            .unwrap();
        }
        println!(
            "server: {address}, {hashes} concurrent argon2 hashes, {} CPUs",
            std::thread::available_parallelism().unwrap()
        );
        (address, db_url)
    });

    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    client_rt.block_on(async {
        let health_url = format!("{address}/healthz");
        let client = reqwest::Client::new();

        // Baseline: no load.
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = tokio::spawn(sample_health(client.clone(), health_url.clone(), stop.clone()));
        tokio::time::sleep(Duration::from_secs(3)).await;
        stop.store(true, Ordering::Relaxed);
        report("healthz, idle", sampler.await.unwrap());

        // Under load: 50 clients logging in back to back.
        let stop = Arc::new(AtomicBool::new(false));
        let logins = Arc::new(AtomicU64::new(0));
        let mut workers = Vec::new();
        for i in 0..CONCURRENT_LOGINS {
            let (stop, logins, url) = (stop.clone(), logins.clone(), format!("{address}/api/v1/auth/login"));
            workers.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let start = Instant::now();
                    let r = client
                        .post(&url)
                        .json(&serde_json::json!({"email": format!("bench-{i}@example.com"), "password": PASSWORD}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200, "login failed");
                    latencies.push(start.elapsed());
                    logins.fetch_add(1, Ordering::Relaxed);
                }
                latencies
            }));
        }
        // Let the login queue fill before sampling.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let sampler = tokio::spawn(sample_health(client.clone(), health_url.clone(), stop.clone()));
        let started = Instant::now();
        let before = logins.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(LOAD_SECONDS)).await;
        let done = logins.load(Ordering::Relaxed) - before;
        let elapsed = started.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        report(&format!("healthz, {CONCURRENT_LOGINS} logins at once"), sampler.await.unwrap());
        let mut login_latencies = Vec::new();
        for w in workers {
            login_latencies.extend(w.await.unwrap());
        }
        report("login (under the same load)", login_latencies);
        println!("logins completed: {done} in {elapsed:.1} s = {:.1} logins/s", done as f64 / elapsed);
    });

    server_rt.block_on(async {
        let mut admin = PgConnection::connect(&admin_url).await.unwrap();
        let name = db_url.path().trim_start_matches('/').to_owned();
        let _ = sqlx::query(&format!(r#"drop database if exists "{name}" with (force)"#))
            .execute(&mut admin)
            .await;
    });
}
