//! Digest throughput of one process: with market data already loaded and an
//! unthrottled local SES stand-in, how many digests are composed and sent per second,
//! the CPU time per digest, and the process's memory over a 100,000-person run.
//!
//! - The SES stand-in is a separate process (this binary again), answering `SendEmail`
//!   like SES v2 does, so its CPU is not counted as ours. The real AWS SDK talks to it.
//! - PostgreSQL is the local server: each digest is claimed, recorded as `sending`
//!   with its content, finished, and gets its audit record queued, as in production.
//! - Audit records are queued in the outbox but not put to S3 here (the flusher is a
//!   separate loop; the S3 emulator would measure the emulator).
//!
//! `scripts/bench digests` (100,000 people); `BENCH_PEOPLE=20000 scripts/bench digests`
//! for a shorter run.

#[path = "common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::response::IntoResponse;
use quotidian::clients::audit::{AuditError, AuditStore, PutOutcome};
use quotidian::clients::mailer::{Mailer, SesMailer};
use quotidian::config::Config;
use quotidian::services::digest::delivery::{self, DeliveryProgress, Outcome};
use quotidian::services::digest::schedule;
use quotidian::services::etl::{self, NoProgress, RunOptions};
use quotidian::{startup, workers};

struct NoAudit;

#[async_trait::async_trait]
impl AuditStore for NoAudit {
    async fn put_once(&self, _: &str, _: &[u8], _: &str) -> Result<PutOutcome, AuditError> {
        Ok(PutOutcome::Written)
    }
}

/// The SES stand-in: accepts every send, keeps a count.
async fn ses_stand_in() {
    let count = Arc::new(AtomicU64::new(0));
    let app = Router::new().fallback(move || {
        let n = count.fetch_add(1, Ordering::Relaxed);
        async move {
            (
                [("content-type", "application/json")],
                format!(r#"{{"MessageId":"bench-{n:010}"}}"#),
            )
                .into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("{}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.unwrap();
}

/// User + system CPU seconds of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 14th and
    // 15th fields overall, in clock ticks (100 a second on Linux).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

struct Counter(AtomicU64);
impl DeliveryProgress for Counter {
    fn finished(&self, outcome: Outcome) {
        if outcome == Outcome::Sent {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn bench(ses: String, people: i64) {
    let bench_db = common::BenchDb::create().await;
    let vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), bench_db.url.clone()),
        (
            "QUOTIDIAN_SECRET_KEY".into(),
            "bench-secret-key-of-at-least-32-characters".into(),
        ),
        (
            "QUOTIDIAN_PUBLIC_URL".into(),
            "https://quotidian.example".into(),
        ),
        ("QUOTIDIAN_SES_MAX_SEND_RATE".into(), "100000".into()),
        ("QUOTIDIAN_DIGEST_CONCURRENCY".into(), "32".into()),
        ("QUOTIDIAN_DIGEST_WORKERS".into(), "off".into()),
    ]);
    let config = Config::from_vars(&vars).unwrap();
    let db = startup::connect_database(&config).await.unwrap();
    startup::migrate(&db).await.unwrap();
    // SAFETY of the environment: set before any AWS client reads it, single-threaded use.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&ses)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
            "test", "test", None, None, "bench",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let mailer: Arc<dyn Mailer> = Arc::new(SesMailer::new(aws_sdk_sesv2::Client::new(&sdk), None));
    let (market, market_source) = startup::market_from_config(&config, &db).await.unwrap();
    let state = startup::build_state(
        config,
        db.clone(),
        startup::Clients {
            mailer,
            audit: Arc::new(NoAudit),
            market,
            market_source,
        },
    )
    .await
    .unwrap();

    // People: confirmed, due now, five of the sample source's tickers each.
    let seeded = Instant::now();
    sqlx::query(
        "insert into users (email, password_hash, confirmed_at)
         select 'p' || g || '@bench.example.com', 'not-a-hash', now() from generate_series(1, $1) g",
    )
    .bind(people)
    .execute(&db)
    .await
    .unwrap();
    sqlx::query(
        "insert into preferences (user_id, time_zone, send_time, days, next_send_at)
         select id, 'UTC', (now() at time zone 'UTC')::time, 'every_day', now() - interval '1 second' from users",
    )
    .execute(&db)
    .await
    .unwrap();
    sqlx::query(
        "insert into watchlist_items (user_id, symbol)
         select u.id, w.s from users u,
              lateral (select s from unnest(array['AAPL','MSFT','NVDA','AMZN','GOOGL','META','TSLA','JPM','V','WMT','KO','DIS']) as t (s)
                       order by md5(u.id::text || t.s) limit 5) w",
    )
    .execute(&db)
    .await
    .unwrap();
    // Market data loaded beforehand, as the issue asks (fresh rows are then reused).
    etl::run(
        &state,
        RunOptions {
            trigger: quotidian::domain::EtlTrigger::Cli,
            symbols: None,
        },
        &NoProgress,
    )
    .await
    .unwrap();
    println!(
        "[digests] {people} people seeded and market data loaded in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );

    let rss_start = common::proc_status_mib("VmRSS:");
    let cpu_start = cpu_seconds();
    let started = Instant::now();
    let report = schedule::schedule_due(
        &state,
        quotidian::domain::DigestTrigger::Manual,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let scheduled_in = started.elapsed();
    let counter = Counter(AtomicU64::new(0));
    let batch = workers::digests::batch_size(&state);
    let mut checkpoints = Vec::new();
    let mut next_checkpoint = people / 4;
    loop {
        let r = delivery::deliver_batch(&state, batch, &counter)
            .await
            .unwrap();
        let sent = counter.0.load(Ordering::Relaxed) as i64;
        if sent >= next_checkpoint {
            checkpoints.push((sent, common::proc_status_mib("VmRSS:")));
            next_checkpoint += people / 4;
        }
        if r.claimed == 0 {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    let sent = counter.0.load(Ordering::Relaxed);
    println!(
        "[digests] scheduled {} people in {:.1} s; sent {sent} digests in {elapsed:.1} s: {:.0} digests/s by one process",
        report.queued,
        scheduled_in.as_secs_f64(),
        sent as f64 / elapsed
    );
    println!(
        "[digests] CPU {:.2} ms per digest ({cpu:.1} s user+system over {sent}; 2 cores available)",
        cpu * 1000.0 / sent.max(1) as f64
    );
    let marks: Vec<String> = checkpoints
        .iter()
        .map(|(n, rss)| format!("{rss:.0} MiB after {n}"))
        .collect();
    println!(
        "[digests] memory: RSS {rss_start:.0} MiB before sending; {}; peak RSS {:.0} MiB",
        marks.join(", "),
        common::proc_status_mib("VmHWM:")
    );
    assert_eq!(sent as i64, people, "every digest sent");
    db.close().await;
    bench_db.drop().await;
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if std::env::var("DIGEST_BENCH_ROLE").as_deref() == Ok("ses") {
        runtime.block_on(ses_stand_in());
        return;
    }
    let people: i64 = std::env::var("BENCH_PEOPLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut stand_in = std::process::Command::new(std::env::current_exe().unwrap())
        .env("DIGEST_BENCH_ROLE", "ses")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(stand_in.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let ses = format!("http://{}", line.trim());
    runtime.block_on(bench(ses, people));
    let _ = stand_in.kill();
    let _ = stand_in.wait();
}
