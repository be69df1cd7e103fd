//! A flood of 1,000 signups and 1,000 password resets from one client, while a real
//! person logs in: how many requests get through, how many emails go out, and how
//! logins fare. Run side by side in one process: once with the default limits, once
//! with the limits lifted (what the service did before ADR 0008).
//!
//! `scripts/bench flood` (release build, local PostgreSQL). Prints the figures.

#[allow(dead_code)] // the memory readings are for the other benches
#[path = "common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use quotidian::clients::mailer::{MailError, Mailer, OutgoingEmail};
use quotidian::config::Config;
use quotidian::domain::Password;
use quotidian::services::passwords::PasswordHasher;
use quotidian::startup::Application;

const FLOOD: usize = 1000;
const IN_FLIGHT: usize = 32;
const PASSWORD: &str = "velvet-harbor-oxide-42";
const VICTIM: &str = "victim@example.com";

/// Counts what would have reached SES.
#[derive(Default)]
struct CountingMailer(AtomicUsize);

#[async_trait]
impl Mailer for CountingMailer {
    async fn send(&self, _: &OutgoingEmail) -> Result<String, MailError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(format!("bench-{}", uuid::Uuid::new_v4()))
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Outcome {
    accepted: usize,
    refused: usize,
    other: usize,
    emails_sent: usize,
    login_p50: f64,
    login_max: f64,
    logins_ok: usize,
    logins: usize,
    seconds: f64,
}

async fn run(limits_on: bool) -> Outcome {
    let db = common::BenchDb::create().await;
    let mut vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), db.url.clone()),
        ("QUOTIDIAN_BIND".into(), "127.0.0.1:0".into()),
        (
            "QUOTIDIAN_SECRET_KEY".into(),
            "bench-secret-key-of-at-least-32-characters".into(),
        ),
        ("QUOTIDIAN_OUTBOX_POLL_MS".into(), "100".into()),
        ("QUOTIDIAN_DIGEST_WORKERS".into(), "off".into()),
        ("QUOTIDIAN_LOG_FORMAT".into(), "json".into()),
        // The person logging in is not the attacker; their own limit is not measured.
        (
            "QUOTIDIAN_LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE".into(),
            "1000".into(),
        ),
    ]);
    if !limits_on {
        for name in [
            "QUOTIDIAN_SIGNUPS_PER_CLIENT_PER_HOUR",
            "QUOTIDIAN_SIGNUPS_PER_MINUTE",
            "QUOTIDIAN_RESETS_PER_CLIENT_PER_HOUR",
            "QUOTIDIAN_RESETS_PER_MINUTE",
        ] {
            vars.insert(name.into(), "1000000".into());
        }
    }
    let config = Config::from_vars(&vars).unwrap();
    let mailer = Arc::new(CountingMailer::default());
    let app = Application::build(config, mailer.clone()).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let pool = app.state().db.clone();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let hash = PasswordHasher::new(1)
        .hash(&Password::parse_new(PASSWORD, &[]).unwrap())
        .await
        .unwrap();
    sqlx::query("insert into users (email, password_hash, confirmed_at) values ($1, $2, now())")
        .bind(VICTIM)
        .bind(&hash)
        .execute(&pool)
        .await
        .unwrap();

    // The person: one login every 250 ms for as long as the flood lasts.
    let stop = Arc::new(AtomicBool::new(false));
    let person = {
        let (stop, url) = (stop.clone(), format!("{address}/api/v1/auth/login"));
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut samples = Vec::new();
            let mut ok = 0;
            while !stop.load(Ordering::Relaxed) {
                let start = Instant::now();
                let status = client
                    .post(&url)
                    .json(&serde_json::json!({"email": VICTIM, "password": PASSWORD}))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                samples.push(start.elapsed());
                if status == 200 {
                    ok += 1;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            (samples, ok)
        })
    };

    // The attacker: 1,000 signups of fresh addresses and 1,000 resets (half for the
    // victim, half for made-up addresses), 32 in flight.
    let started = Instant::now();
    let client = reqwest::Client::new();
    let requests = (0..FLOOD).flat_map(|i| {
        let reset_for = if i % 2 == 0 {
            VICTIM.to_owned()
        } else {
            format!("nobody-{i}@example.com")
        };
        [
            ("signup", serde_json::json!({"email": format!("flood-{i}@example.com"), "password": PASSWORD})),
            ("password-reset", serde_json::json!({"email": reset_for})),
        ]
    });
    use futures_util::StreamExt as _;
    let statuses: Vec<u16> = futures_util::stream::iter(requests)
        .map(|(path, body)| {
            let client = client.clone();
            let url = format!("{address}/api/v1/auth/{path}");
            async move {
                client
                    .post(url)
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let (mut samples, logins_ok) = person.await.unwrap();
    // Let the outbox drain.
    for _ in 0..600 {
        let pending: i64 =
            sqlx::query_scalar("select count(*) from email_outbox where status = 'pending'")
                .fetch_one(&pool)
                .await
                .unwrap();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    samples.sort();
    let outcome = Outcome {
        accepted: statuses.iter().filter(|s| **s == 202).count(),
        refused: statuses.iter().filter(|s| **s == 429).count(),
        other: statuses.iter().filter(|s| **s != 202 && **s != 429).count(),
        emails_sent: mailer.0.load(Ordering::Relaxed),
        login_p50: ms(samples[samples.len() / 2]),
        login_max: ms(*samples.last().unwrap()),
        logins_ok,
        logins: samples.len(),
        seconds,
    };
    pool.close().await;
    db.drop().await;
    outcome
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "flood: {FLOOD} signups + {FLOOD} password resets from one client ({IN_FLIGHT} in flight), one person logging in every 250 ms"
    );
    for (label, limits_on) in [("limits lifted (before)", false), ("default limits", true)] {
        let o = rt.block_on(run(limits_on));
        println!(
            "{label:<24} accepted {:>4}  refused (429) {:>4}  other {:>2}  emails sent {:>4}  in {:>5.1} s  logins ok {}/{}  login p50 {:>6.1} ms  max {:>6.1} ms",
            o.accepted,
            o.refused,
            o.other,
            o.emails_sent,
            o.seconds,
            o.logins_ok,
            o.logins,
            o.login_p50,
            o.login_max
        );
    }
}
