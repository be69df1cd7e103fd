//! Extraction throughput against a local Finnhub mock with 50 ms latency per call.
//!
//! Scenarios (each in a child process of its own, so its peak memory is its own):
//! - `unlimited`: 1,000 symbols (watched by 2,000 users), no rate limit at the mock,
//!   the client's limiter opened wide: wall time of a first extraction (quote, profile,
//!   news per symbol + two market-wide calls) and of the next run's quote refresh.
//! - `limited`: 300 symbols, the mock answering 429 beyond 30 calls in any second, the
//!   client set to the same 30/s: wall time against the physical minimum (calls / 30 s)
//!   and the 429s received.
//!
//! Run with `scripts/bench etl`.

#[path = "common/mod.rs"]
mod common;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use quotidian::clients::audit::{AuditError, AuditStore, PutOutcome};
use quotidian::clients::mailer::{MailError, Mailer, OutgoingEmail};
use quotidian::config::Config;
use quotidian::services::etl::{self, NoProgress, RunOptions, RunOutcome};
use quotidian::startup;
use serde_json::json;

const LATENCY: Duration = Duration::from_millis(50);

struct NoMail;

#[async_trait::async_trait]
impl Mailer for NoMail {
    async fn send(&self, _: &OutgoingEmail) -> Result<String, MailError> {
        Ok(String::new())
    }
}

struct NoAudit;

#[async_trait::async_trait]
impl AuditStore for NoAudit {
    async fn put_once(&self, _: &str, _: &[u8], _: &str) -> Result<PutOutcome, AuditError> {
        Ok(PutOutcome::Written)
    }
}

#[derive(Clone)]
struct Mock {
    /// Calls allowed in any one-second window; `None` for no limit.
    per_second: Option<usize>,
    recent: Arc<Mutex<VecDeque<Instant>>>,
    served: Arc<AtomicU64>,
    refused: Arc<AtomicU64>,
}

impl Mock {
    fn admit(&self) -> bool {
        let Some(limit) = self.per_second else {
            return true;
        };
        let now = Instant::now();
        let mut recent = self.recent.lock().unwrap();
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            recent.pop_front();
        }
        if recent.len() >= limit {
            return false;
        }
        recent.push_back(now);
        true
    }
}

type Params = Query<HashMap<String, String>>;

async fn answer(mock: &Mock, body: serde_json::Value) -> Response {
    // Finnhub counts a call when it arrives; the latency is paid either way.
    let admitted = mock.admit();
    tokio::time::sleep(LATENCY).await;
    if !admitted {
        mock.refused.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "API limit reached. Please try again later. Remaining Limit: 0",
        )
            .into_response();
    }
    mock.served.fetch_add(1, Ordering::Relaxed);
    Json(body).into_response()
}

fn symbol(p: &Params) -> String {
    p.get("symbol").cloned().unwrap_or_default()
}

async fn quote(State(m): State<Mock>, p: Params) -> Response {
    let base = 50.0 + (symbol(&p).len() as f64) * 3.0;
    answer(&m, json!({"c": base + 1.0, "d": 1.0, "dp": 1.0 / base * 100.0, "h": base + 2.0, "l": base - 1.0, "o": base, "pc": base, "t": 1_795_208_400})).await
}

async fn profile(State(m): State<Mock>, p: Params) -> Response {
    let s = symbol(&p);
    answer(&m, json!({"country": "US", "currency": "USD", "exchange": "NASDAQ NMS - GLOBAL MARKET", "finnhubIndustry": "Technology",
        "ipo": "1999-01-22", "logo": "https://example.com/logo.png", "marketCapitalization": 12345.6, "name": format!("{s} Corp"),
        "phone": "1", "shareOutstanding": 100.5, "ticker": s, "weburl": "https://example.com/"})).await
}

async fn news(State(m): State<Mock>, p: Params) -> Response {
    let s = symbol(&p);
    let id = s
        .bytes()
        .fold(0i64, |h, b| h.wrapping_mul(31).wrapping_add(b as i64))
        .abs();
    answer(&m, json!([
        {"category": "company", "datetime": 1_795_700_000, "headline": format!("{s} reports results"), "id": id, "image": "",
         "related": s, "source": "Reuters", "summary": "A summary of the story, a few sentences long.", "url": format!("https://example.com/{s}/1")},
        {"category": "company", "datetime": 1_795_600_000, "headline": format!("{s} in the news"), "id": id + 1, "image": "",
         "related": s, "source": "MarketWatch", "summary": "Another summary.", "url": format!("https://example.com/{s}/2")}
    ])).await
}

async fn earnings(State(m): State<Mock>) -> Response {
    let rows: Vec<_> = (0..200)
        .map(|i| json!({"date": "2026-11-25", "epsActual": null, "epsEstimate": 1.2, "hour": "amc", "quarter": 4,
                        "revenueActual": null, "revenueEstimate": 1.0e9, "symbol": format!("S{i:04}"), "year": 2026}))
        .collect();
    answer(&m, json!({"earningsCalendar": rows})).await
}

async fn holidays(State(m): State<Mock>) -> Response {
    answer(&m, json!({"data": [{"eventName": "Thanksgiving Day", "atDate": "2026-11-26", "tradingHour": ""}], "exchange": "US", "timezone": "America/New_York"})).await
}

async fn start_mock(per_second: Option<usize>) -> (SocketAddr, Mock) {
    let mock = Mock {
        per_second,
        recent: Arc::default(),
        served: Arc::default(),
        refused: Arc::default(),
    };
    let app = Router::new()
        .route("/quote", get(quote))
        .route("/stock/profile2", get(profile))
        .route("/company-news", get(news))
        .route("/calendar/earnings", get(earnings))
        .route("/stock/market-holiday", get(holidays))
        .with_state(mock.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, mock)
}

async fn scenario(name: &str) {
    let (symbols, per_second_at_mock, client_per_second, client_per_minute, concurrency) =
        match name {
            "unlimited" => (1000, None, "100000", "6000000", "128"),
            "limited" => (300, Some(30), "30", "1800", "32"),
            other => panic!("unknown scenario {other}"),
        };
    let (addr, mock) = start_mock(per_second_at_mock).await;

    let bench_db = common::BenchDb::create().await;
    let vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), bench_db.url.clone()),
        ("FINNHUB_BASE_URL".into(), format!("http://{addr}")),
        ("FINNHUB_API_KEY".into(), "bench-key".into()),
        (
            "QUOTIDIAN_FINNHUB_CALLS_PER_SECOND".into(),
            client_per_second.into(),
        ),
        (
            "QUOTIDIAN_FINNHUB_CALLS_PER_MINUTE".into(),
            client_per_minute.into(),
        ),
        ("QUOTIDIAN_ETL_CONCURRENCY".into(), concurrency.into()),
        (
            "QUOTIDIAN_SECRET_KEY".into(),
            "bench-secret-key-of-at-least-32-characters".into(),
        ),
    ]);
    let config = Config::from_vars(&vars).unwrap();
    let db = startup::connect_database(&config).await.unwrap();
    startup::migrate(&db).await.unwrap();
    let (market, source) = startup::market_from_config(&config, &db).await.unwrap();
    let state = startup::build_state(
        config,
        db.clone(),
        startup::Clients {
            mailer: Arc::new(NoMail),
            audit: Arc::new(NoAudit),
            market,
            market_source: source,
        },
    )
    .await
    .unwrap();

    // 2,000 confirmed users, two per symbol: the extraction must fetch each symbol once.
    sqlx::query(
        "insert into users (email, password_hash, confirmed_at)
         select 'u' || g || '@example.com', 'unused', now() from generate_series(1, $1 * 2) g",
    )
    .bind(symbols)
    .execute(&db)
    .await
    .unwrap();
    sqlx::query("insert into preferences (user_id) select id from users")
        .execute(&db)
        .await
        .unwrap();
    sqlx::query(
        "insert into watchlist_items (user_id, symbol)
         select id, 'S' || lpad((row_number() over (order by id) % $1)::text, 4, '0') from users",
    )
    .bind(symbols)
    .execute(&db)
    .await
    .unwrap();

    let run = |state: quotidian::state::AppState| async move {
        let started = Instant::now();
        let outcome = etl::run(
            &state,
            RunOptions {
                trigger: quotidian::domain::EtlTrigger::Cli,
                symbols: None,
            },
            &NoProgress,
        )
        .await
        .unwrap();
        let RunOutcome::Completed(report) = outcome else {
            panic!("busy")
        };
        (started.elapsed(), report)
    };

    let (elapsed, report) = run(state.clone()).await;
    let calls = report.run.calls as f64;
    println!(
        "[{name}] first extraction: {} symbols, {} calls, {} loaded, status {}, wall {:.2} s ({:.0} calls/s), 429s received {}",
        report.run.symbols,
        report.run.calls,
        report.loaded.values().sum::<u32>(),
        report.run.status,
        elapsed.as_secs_f64(),
        calls / elapsed.as_secs_f64(),
        report.run.rate_limited
    );
    if name == "limited" {
        let minimum = calls / 30.0;
        println!(
            "[{name}] physical minimum {minimum:.2} s (calls / 30 per s) -> ratio {:.3}; mock refused {} calls",
            elapsed.as_secs_f64() / minimum,
            mock.refused.load(Ordering::Relaxed)
        );
    } else {
        // The next run: quotes older than their limit, everything else fresh.
        sqlx::query("update fetch_state set fetched_at = now() - interval '10 minutes' where endpoint = 'quote'")
            .execute(&db)
            .await
            .unwrap();
        let (elapsed, report) = run(state.clone()).await;
        println!(
            "[{name}] quote refresh: {} calls, wall {:.2} s ({:.0} calls/s)",
            report.run.calls,
            elapsed.as_secs_f64(),
            report.run.calls as f64 / elapsed.as_secs_f64()
        );
    }
    println!(
        "[{name}] peak RSS of the process: {:.1} MiB",
        common::proc_status_mib("VmHWM:")
    );
    db.close().await;
    bench_db.drop().await;
}

fn main() {
    // `cargo bench` passes `--bench`; a scenario name in the environment means "I am
    // the child process for that scenario".
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Ok(name) = std::env::var("ETL_BENCH_SCENARIO") {
        runtime.block_on(scenario(&name));
        return;
    }
    let me = std::env::current_exe().unwrap();
    for name in ["unlimited", "limited"] {
        let status = std::process::Command::new(&me)
            .env("ETL_BENCH_SCENARIO", name)
            .status()
            .unwrap();
        assert!(status.success(), "scenario {name} failed");
    }
}
