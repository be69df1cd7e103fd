//! The morning peak (issue 11): the real `quotidian worker` process against a Finnhub
//! mock that enforces Finnhub's limits and an SES stand-in that enforces a send rate,
//! with confirmed people seeded straight into a fresh database and due a few minutes
//! after the worker starts, so that its market-data planner has those minutes to fetch
//! ahead.
//!
//! Cases (each on a fresh database, with a fresh worker):
//! - `morning`: 20,000 people due at one instant in America/New_York, 4 minutes after
//!   the worker starts, each watching 10 of 1,000 symbols; news on for every second
//!   person, earnings on for every tenth; Finnhub at 1,800 calls a minute and 30 a
//!   second.
//! - `free`: Finnhub's free plan, 60 calls a minute (and 30 a second); 500 people over
//!   three zones due 6, 7 and 8 minutes after the worker starts, 10 of 100 symbols
//!   each, news and earnings as above. A minute apart, one quote per symbol can serve
//!   all three waves (fetched at most 300 s before the last send and after the other
//!   ~200 calls, at one a second); `BENCH_PEAK_WAVE_GAP_SECS` spreads them further.
//!
//! Stand-ins, all in this process on 127.0.0.1:
//! - Finnhub: Finnhub's response shapes for /quote, /stock/profile2, /company-news,
//!   /calendar/earnings and /stock/market-holiday, 50 ms latency, 429 with Finnhub's
//!   plain-text body beyond 30 calls in any second (and, on the free plan, 60 in any 60
//!   seconds); counts calls per endpoint and records when each quote was served.
//! - SES v2 `SendEmail` (what the SDK needs of it), answering SES's throttling error
//!   beyond 200 accepted sends in any second; records when each email arrived and for
//!   whom. The same server takes the audit records' S3 `PutObject`s (200 and an ETag),
//!   so neither the S3 emulator's CPU nor its availability enters the figures.
//!
//! The figures and targets are the issue's; the benchmark exits 0 whether they are met
//! or not. `scripts/bench peak`; `BENCH_PEAK_CASES=free scripts/bench peak` for one case.

#[path = "common/mod.rs"]
#[allow(dead_code)] // the memory readings are for the other benches
mod common;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::File;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;

const LATENCY: Duration = Duration::from_millis(50);
const FINNHUB_PER_SECOND: usize = 30;
const SES_RATE: usize = 200;
/// `QUOTIDIAN_QUOTE_MAX_AGE_SECS`, left at its default.
const QUOTE_MAX_AGE_SECS: f64 = 300.0;
const BUCKET: &str = "quotidian-bench-audit";

struct Case {
    name: &'static str,
    people: i64,
    symbols: i64,
    /// The waves' zones; people are dealt to them in turn.
    zones: &'static [&'static str],
    /// The worker starts this long before the first wave is due; each next wave is
    /// due `gap` later.
    lead: Duration,
    gap: Duration,
    calls_per_minute: usize,
    /// The mock's own per-minute window, where it is stricter than 30 a second.
    mock_per_minute: Option<usize>,
}

fn cases() -> Vec<Case> {
    let gap = std::env::var("BENCH_PEAK_WAVE_GAP_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    vec![
        Case {
            name: "morning",
            people: 20_000,
            symbols: 1_000,
            zones: &["America/New_York"],
            lead: Duration::from_secs(240),
            gap: Duration::ZERO,
            calls_per_minute: 1_800,
            mock_per_minute: None,
        },
        Case {
            name: "free",
            people: 500,
            symbols: 100,
            zones: &["America/New_York", "Europe/London", "Asia/Tokyo"],
            lead: Duration::from_secs(360),
            gap: Duration::from_secs(gap),
            calls_per_minute: 60,
            mock_per_minute: Some(60),
        },
    ]
}

// ---------------------------------------------------------------- Finnhub mock

#[derive(Default)]
struct FinnhubLog {
    last_second: VecDeque<Instant>,
    last_minute: VecDeque<Instant>,
    /// Admitted calls: (when, endpoint).
    calls: Vec<(DateTime<Utc>, String)>,
    refused: BTreeMap<String, u64>,
    /// When each symbol's quote was served.
    quotes: HashMap<String, Vec<DateTime<Utc>>>,
}

#[derive(Clone)]
struct Finnhub {
    per_minute: Option<usize>,
    log: Arc<Mutex<FinnhubLog>>,
}

impl Finnhub {
    /// Finnhub counts a call when it arrives; a refused call does not use the budget.
    fn admit(&self, endpoint: &str, symbol: &str) -> bool {
        let now = Instant::now();
        let mut log = self.log.lock().unwrap();
        let prune = |q: &mut VecDeque<Instant>, window: Duration| {
            while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
                q.pop_front();
            }
        };
        prune(&mut log.last_second, Duration::from_secs(1));
        prune(&mut log.last_minute, Duration::from_secs(60));
        let over = log.last_second.len() >= FINNHUB_PER_SECOND
            || self.per_minute.is_some_and(|m| log.last_minute.len() >= m);
        if over {
            *log.refused.entry(endpoint.to_owned()).or_default() += 1;
            return false;
        }
        log.last_second.push_back(now);
        log.last_minute.push_back(now);
        let at = Utc::now();
        log.calls.push((at, endpoint.to_owned()));
        if endpoint == "/quote" {
            log.quotes.entry(symbol.to_owned()).or_default().push(at);
        }
        true
    }
}

fn number(symbol: &str) -> f64 {
    symbol.trim_start_matches('S').parse::<f64>().unwrap_or(0.0)
}

async fn finnhub(State(mock): State<Finnhub>, uri: Uri) -> Response {
    let params: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let symbol = params.get("symbol").cloned().unwrap_or_default();
    let endpoint = uri.path().to_owned();
    let admitted = mock.admit(&endpoint, &symbol);
    tokio::time::sleep(LATENCY).await;
    if !admitted {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "API limit reached. Please try again later. Remaining Limit: 0",
        )
            .into_response();
    }
    let today = Utc::now().date_naive();
    let body = match endpoint.as_str() {
        "/quote" => {
            let base = 20.0 + number(&symbol) / 10.0;
            let d = (number(&symbol) % 7.0 - 3.0) / 4.0;
            json!({"c": base + d, "d": d, "dp": d / base * 100.0, "h": base + 1.5, "l": base - 1.0,
                   "o": base + 0.2, "pc": base, "t": Utc::now().timestamp()})
        }
        "/stock/profile2" => json!({
            "country": "US", "currency": "USD", "exchange": "NASDAQ NMS - GLOBAL MARKET",
            "finnhubIndustry": "Technology", "ipo": "1999-01-22", "logo": "https://example.com/logo.png",
            "marketCapitalization": 12_345.6, "name": format!("{symbol} Corp"), "phone": "14085551234",
            "shareOutstanding": 100.5, "ticker": symbol, "weburl": "https://example.com/"
        }),
        "/company-news" => {
            let id = 1_000_000 + number(&symbol) as i64 * 10;
            let now = Utc::now().timestamp();
            json!([
                {"category": "company", "datetime": now - 3_600, "headline": format!("{symbol} reports results"), "id": id,
                 "image": "", "related": symbol, "source": "Reuters", "summary": "A summary of the story, a few sentences long.",
                 "url": format!("https://example.com/{symbol}/1")},
                {"category": "company", "datetime": now - 7_200, "headline": format!("{symbol} in the news"), "id": id + 1,
                 "image": "", "related": symbol, "source": "MarketWatch", "summary": "Another summary.",
                 "url": format!("https://example.com/{symbol}/2")}
            ])
        }
        "/calendar/earnings" => {
            let date = (today + chrono::Duration::days(3)).to_string();
            let rows: Vec<Value> = (0..50)
                .map(|i| json!({"date": date, "epsActual": null, "epsEstimate": 1.2, "hour": "amc", "quarter": 4,
                                "revenueActual": null, "revenueEstimate": 1.0e9, "symbol": format!("S{:04}", i * 20),
                                "year": 2026}))
                .collect();
            json!({ "earningsCalendar": rows })
        }
        "/stock/market-holiday" => json!({"data": [
            {"eventName": "Christmas", "atDate": "2026-12-25", "tradingHour": ""},
            {"eventName": "New Year's Day", "atDate": "2027-01-01", "tradingHour": ""}
        ], "exchange": "US", "timezone": "America/New_York"}),
        _ => return (StatusCode::NOT_FOUND, "404 page not found").into_response(),
    };
    axum::Json(body).into_response()
}

// ---------------------------------------------------------------- SES (and S3) stand-in

#[derive(Default)]
struct AwsLog {
    last_second: VecDeque<Instant>,
    /// Accepted sends: (recipient, when).
    received: Vec<(String, DateTime<Utc>)>,
    throttled: u64,
    s3_puts: u64,
}

#[derive(Clone, Default)]
struct Aws {
    log: Arc<Mutex<AwsLog>>,
}

async fn aws(State(aws): State<Aws>, method: Method, uri: Uri, body: Bytes) -> Response {
    if method == Method::POST && uri.path() == "/v2/email/outbound-emails" {
        let request: Value = serde_json::from_slice(&body).unwrap_or_default();
        let to = request["Destination"]["ToAddresses"][0]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let now = Instant::now();
        let mut log = aws.log.lock().unwrap();
        while log
            .last_second
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            log.last_second.pop_front();
        }
        if log.last_second.len() >= SES_RATE {
            log.throttled += 1;
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("x-amzn-errortype", "TooManyRequestsException"),
                    ("content-type", "application/json"),
                ],
                r#"{"message":"Maximum sending rate exceeded."}"#,
            )
                .into_response();
        }
        log.last_second.push_back(now);
        log.received.push((to, Utc::now()));
        let n = log.received.len();
        return (
            [("content-type", "application/json")],
            format!(r#"{{"MessageId":"peak-{n:010}"}}"#),
        )
            .into_response();
    }
    if method == Method::PUT {
        aws.log.lock().unwrap().s3_puts += 1;
        return (StatusCode::OK, [("etag", "\"bench\"")]).into_response();
    }
    ([("content-type", "application/json")], "{}").into_response()
}

async fn serve(app: Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (address, handle)
}

// ---------------------------------------------------------------- CPU from /proc

/// (ppid, utime + stime, cutime + cstime) in clock ticks, and the command name.
fn proc_stat(pid: u32) -> Option<(u32, u64, u64, String)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_owned();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    Some((n(1) as u32, n(11) + n(12), n(13) + n(14), comm))
}

/// Clock ticks a second (`getconf CLK_TCK`; 100 on Linux).
const TICKS: f64 = 100.0;

fn process_cpu(pid: u32) -> f64 {
    proc_stat(pid).map_or(0.0, |(_, own, _, _)| own as f64 / TICKS)
}

/// CPU seconds of the whole PostgreSQL cluster: the postmaster's own and its reaped
/// children's (backends that have exited), plus every live child's.
fn cluster_cpu(postmaster: u32) -> f64 {
    let mut ticks = proc_stat(postmaster).map_or(0, |(_, own, reaped, _)| own + reaped);
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some((ppid, own, _, comm)) = proc_stat(pid)
            && ppid == postmaster
            && comm.starts_with("postgres")
        {
            ticks += own;
        }
    }
    ticks as f64 / TICKS
}

/// Live backends of one database (their command line names it), and their CPU.
fn database_backends_cpu(postmaster: u32, database: &str) -> (usize, f64) {
    let mut n = 0;
    let mut ticks = 0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some((ppid, own, _, _)) = proc_stat(pid)
            && ppid == postmaster
            && std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.contains(database))
        {
            n += 1;
            ticks += own;
        }
    }
    (n, ticks as f64 / TICKS)
}

// ---------------------------------------------------------------- the run

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ceil_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    let secs = t.timestamp();
    let up = (secs + 59).div_euclid(60) * 60;
    DateTime::from_timestamp(up, 0).unwrap()
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

async fn seed(db: &PgPool, case: &Case) {
    sqlx::query(
        "insert into users (email, password_hash, confirmed_at)
         select 'p' || g || '@peak.example.com', 'not-a-hash', now() from generate_series(1, $1) g",
    )
    .bind(case.people)
    .execute(db)
    .await
    .unwrap();
    // Person n: zone n mod zones, news when n is even, earnings when n is a multiple
    // of 10. Not due yet: the due instants are set when the worker starts.
    sqlx::query(
        "insert into preferences (user_id, time_zone, send_time, days, include_news, include_earnings, next_send_at)
         select id, ($1::text[])[1 + n % cardinality($1::text[])], '07:00', 'every_day',
                n % 2 = 0, n % 10 = 0, null
         from (select id, split_part(substr(email, 2), '@', 1)::bigint as n from users) u",
    )
    .bind(case.zones.iter().map(|z| z.to_string()).collect::<Vec<_>>())
    .execute(db)
    .await
    .unwrap();
    // Ten distinct symbols each: a start and a stride from a hash of the person,
    // stride * 9 < symbols, so the ten never repeat.
    sqlx::query(
        "insert into watchlist_items (user_id, symbol)
         select u.id, 'S' || lpad((((hashtext(u.id::text)::bigint & 2147483647) % $1
                 + k * (1 + (hashtext(u.id::text || 'stride')::bigint & 2147483647) % ($1 / 10 - 1))) % $1)::text, 4, '0')
         from users u, generate_series(0, 9) k",
    )
    .bind(case.symbols)
    .execute(db)
    .await
    .unwrap();
}

struct Minimum {
    quotes: i64,
    profiles: i64,
    news: i64,
    earnings: i64,
    holidays: i64,
}

async fn minimum(db: &PgPool) -> Minimum {
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(db)
            .await
            .unwrap()
    };
    let watched = count("select count(distinct symbol) from watchlist_items").await;
    Minimum {
        quotes: watched,
        // A fresh database: no symbol's profile was ever fetched.
        profiles: watched,
        news: count(
            "select count(distinct w.symbol) from watchlist_items w
             join preferences p on p.user_id = w.user_id where p.include_news",
        )
        .await,
        earnings: count("select count(*) from preferences where include_earnings limit 1")
            .await
            .min(1),
        holidays: 1,
    }
}

fn start_worker(case: &Case, database_url: &str, finnhub: &str, aws: &str, log: &File) -> Child {
    Command::new(env!("CARGO_BIN_EXE_quotidian"))
        .arg("worker")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("FINNHUB_API_KEY", "bench-key")
        .env("FINNHUB_BASE_URL", finnhub)
        .env(
            "QUOTIDIAN_FINNHUB_CALLS_PER_MINUTE",
            case.calls_per_minute.to_string(),
        )
        .env(
            "QUOTIDIAN_FINNHUB_CALLS_PER_SECOND",
            FINNHUB_PER_SECOND.to_string(),
        )
        .env("QUOTIDIAN_SES_MAX_SEND_RATE", SES_RATE.to_string())
        .env("AWS_ENDPOINT_URL_SESV2", aws)
        .env("AWS_ENDPOINT_URL_S3", aws)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("QUOTIDIAN_S3_BUCKET", BUCKET)
        .env(
            "QUOTIDIAN_SECRET_KEY",
            "bench-secret-key-of-at-least-32-characters",
        )
        .env("QUOTIDIAN_PUBLIC_URL", "https://quotidian.example")
        .env("QUOTIDIAN_LOG_FORMAT", "json")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log.try_clone().unwrap())
        .spawn()
        .expect("start quotidian worker")
}

fn stop(mut worker: Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(worker.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if worker.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = worker.kill();
    let _ = worker.wait();
}

/// The worker's log lines counted by (level, message), most frequent first.
fn log_summary(path: &std::path::Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for line in text.lines() {
        let key = match serde_json::from_str::<Value>(line) {
            Ok(v) => format!(
                "{} {}",
                v["level"].as_str().unwrap_or("?"),
                v["fields"]["message"]
                    .as_str()
                    .or(v["message"].as_str())
                    .unwrap_or("?")
            ),
            Err(_) => format!("(not JSON) {}", line.chars().take(120).collect::<String>()),
        };
        *counts.entry(key).or_default() += 1;
    }
    let mut out: Vec<(usize, String)> = counts.into_iter().map(|(k, n)| (n, k)).collect();
    out.sort_by(|a, b| b.cmp(a));
    out
}

async fn run(case: &Case) {
    let tag = format!("[peak:{}]", case.name);
    let finnhub_mock = Finnhub {
        per_minute: case.mock_per_minute,
        log: Arc::default(),
    };
    let (finnhub_url, finnhub_task) = serve(
        Router::new()
            .fallback(finnhub)
            .with_state(finnhub_mock.clone()),
    )
    .await;
    let aws_mock = Aws::default();
    let (aws_url, aws_task) = serve(Router::new().fallback(aws).with_state(aws_mock.clone())).await;

    let bench_db = common::BenchDb::create().await;
    let database = bench_db
        .url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let db = PgPool::connect(&bench_db.url).await.unwrap();
    quotidian::startup::migrate(&db).await.unwrap();
    let seeding = Instant::now();
    seed(&db, case).await;
    let min = minimum(&db).await;
    let backend: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&db)
        .await
        .unwrap();
    let postmaster = proc_stat(backend as u32).map_or(0, |(ppid, ..)| ppid);
    let news_on: i64 = sqlx::query_scalar("select count(*) from preferences where include_news")
        .fetch_one(&db)
        .await
        .unwrap();
    let earnings_on: i64 =
        sqlx::query_scalar("select count(*) from preferences where include_earnings")
            .fetch_one(&db)
            .await
            .unwrap();
    let seeded_in = seeding.elapsed();

    // The due instants (whole minutes, as send times are), then the worker exactly
    // `lead` before the first of them, so that every run gives the planner the same
    // time to fetch ahead.
    let span = |d: Duration| chrono::Duration::from_std(d).unwrap();
    let first_due = ceil_minute(Utc::now() + span(case.lead) + chrono::Duration::seconds(2));
    let dues: Vec<DateTime<Utc>> = (0..case.zones.len())
        .map(|i| first_due + span(case.gap * i as u32))
        .collect();
    for (zone, due) in case.zones.iter().zip(&dues) {
        sqlx::query(
            "update preferences set send_time = ($1 at time zone time_zone)::time, next_send_at = $1
             where time_zone = $2",
        )
        .bind(*due)
        .bind(*zone)
        .execute(&db)
        .await
        .unwrap();
    }
    let log_path = std::env::temp_dir().join(format!("quotidian-peak-{}-worker.log", case.name));
    let log = File::create(&log_path).unwrap();
    let start_at = first_due - span(case.lead);
    if let Ok(wait) = (start_at - Utc::now()).to_std() {
        tokio::time::sleep(wait).await;
    }
    let started = Utc::now();
    let pg_before = cluster_cpu(postmaster);
    let worker = start_worker(case, &bench_db.url, &finnhub_url, &aws_url, &log);
    let worker_pid = worker.id();
    let wall = Instant::now();

    let waves: Vec<String> = case
        .zones
        .iter()
        .zip(&dues)
        .map(|(zone, due)| {
            let local = due.with_timezone(&zone.parse::<chrono_tz::Tz>().unwrap());
            format!(
                "{} {} ({due}, +{} s)",
                local.format("%H:%M"),
                zone,
                (*due - started).num_seconds()
            )
        })
        .collect();
    println!(
        "{tag} {} people seeded in {:.1} s, each watching 10 of {} symbols; news on for {news_on}, earnings on for {earnings_on}; due at {}; worker started at {started}",
        case.people,
        seeded_in.as_secs_f64(),
        case.symbols,
        waves.join(", ")
    );

    // Until every digest has an outcome (or long past when it should have).
    let last_due = *dues.last().unwrap();
    let deadline = last_due + chrono::Duration::seconds(case.people / SES_RATE as i64 + 240);
    let mut last_print = Instant::now();
    let mut finished_at = None;
    // CPU so far when the first wave falls due: what fetching ahead cost.
    let mut at_due: Option<(f64, f64)> = None;
    loop {
        if at_due.is_none() && Utc::now() >= first_due {
            at_due = Some((process_cpu(worker_pid), cluster_cpu(postmaster) - pg_before));
        }
        let (done, jobs): (i64, i64) = sqlx::query_as(
            "select count(*) filter (where status in ('sent', 'failed', 'skipped', 'missed')), count(*)
             from digest_jobs",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        if done >= case.people {
            finished_at = Some(Utc::now());
            break;
        }
        if Utc::now() > deadline {
            println!(
                "{tag} gave up waiting: {done} of {} digests finished, {jobs} queued",
                case.people
            );
            break;
        }
        if last_print.elapsed() >= Duration::from_secs(60) {
            last_print = Instant::now();
            let (calls, refused) = {
                let l = finnhub_mock.log.lock().unwrap();
                (l.calls.len(), l.refused.values().sum::<u64>())
            };
            println!(
                "{tag}   +{:.0} s: Finnhub calls {calls} (429s {refused}), digests queued {jobs}, finished {done}",
                wall.elapsed().as_secs_f64()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let worker_cpu = process_cpu(worker_pid);
    let pg_cpu = cluster_cpu(postmaster) - pg_before;
    let (backends, backends_cpu) = database_backends_cpu(postmaster, &database);
    stop(worker);

    // ---- figures
    let rows: Vec<(String, DateTime<Utc>, String)> = sqlx::query_as(
        "select u.email, j.due_at, j.status from digest_jobs j join users u on u.id = j.user_id",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    let mut lists: HashMap<String, Vec<String>> = HashMap::new();
    for (email, symbol) in sqlx::query_as::<_, (String, String)>(
        "select u.email, w.symbol from watchlist_items w join users u on u.id = w.user_id",
    )
    .fetch_all(&db)
    .await
    .unwrap()
    {
        lists.entry(email).or_default().push(symbol);
    }
    let (received, throttled, s3_puts) = {
        let l = aws_mock.log.lock().unwrap();
        (l.received.clone(), l.throttled, l.s3_puts)
    };
    let mut first_receipt: HashMap<&str, DateTime<Utc>> = HashMap::new();
    let mut duplicates = 0;
    for (to, at) in &received {
        match first_receipt.entry(to.as_str()) {
            std::collections::hash_map::Entry::Occupied(_) => duplicates += 1,
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(*at);
            }
        }
    }
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    let mut latencies = Vec::new();
    let mut late_by_wave: BTreeMap<DateTime<Utc>, (usize, f64)> = BTreeMap::new();
    for (email, due, status) in &rows {
        *by_status.entry(status.as_str()).or_default() += 1;
        if let Some(at) = first_receipt.get(email.as_str()) {
            let secs = (*at - *due).num_milliseconds() as f64 / 1000.0;
            latencies.push(secs);
            let w = late_by_wave.entry(*due).or_default();
            w.0 += 1;
            w.1 = w.1.max(secs);
        }
    }
    latencies.sort_by(f64::total_cmp);

    let (calls, refused, quotes) = {
        let l = finnhub_mock.log.lock().unwrap();
        (l.calls.clone(), l.refused.clone(), l.quotes.clone())
    };
    let mut ages = Vec::new();
    let mut digest_max_ages = Vec::new();
    let mut unquoted = 0usize;
    for (to, at) in &first_receipt {
        let mut worst: f64 = 0.0;
        for symbol in lists.get(*to).into_iter().flatten() {
            let served = quotes.get(symbol).map_or(&[][..], |v| v.as_slice());
            // Quote times are in arrival order: the last one at or before the send.
            let i = served.partition_point(|t| t <= at);
            if i == 0 {
                unquoted += 1;
                continue;
            }
            let age = (*at - served[i - 1]).num_milliseconds() as f64 / 1000.0;
            worst = worst.max(age);
            ages.push(age);
        }
        digest_max_ages.push(worst);
    }
    ages.sort_by(f64::total_cmp);
    digest_max_ages.sort_by(f64::total_cmp);

    let sent = first_receipt.len();
    println!(
        "{tag} {sent} of {} people received their digest ({} emails accepted, {duplicates} duplicates, {throttled} sends throttled by the stand-in, {s3_puts} audit records put to S3); job statuses {by_status:?}; finished {:.1} s after the first due instant",
        case.people,
        received.len(),
        finished_at.map_or(f64::NAN, |t| (t - first_due).num_milliseconds() as f64
            / 1000.0)
    );
    for (due, (n, worst)) in &late_by_wave {
        println!("{tag}   wave due {due}: {n} sent, the last {worst:.1} s after its due time");
    }
    let p99_latency = percentile(&latencies, 0.99);
    println!(
        "{tag} due->sent latency (SES stand-in's receipt - digest_jobs.due_at): p50 {:.1} s, p99 {p99_latency:.1} s, max {:.1} s",
        percentile(&latencies, 0.50),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    let p99_age = percentile(&ages, 0.99);
    println!(
        "{tag} quote age at send (send - latest /quote served for the symbol before it): p99 {p99_age:.1} s, max {:.1} s over {} digest-symbol pairs; per digest (its oldest quote) p50 {:.1} s, p99 {:.1} s; {unquoted} pairs had no quote served before their send",
        ages.last().copied().unwrap_or(f64::NAN),
        ages.len(),
        percentile(&digest_max_ages, 0.50),
        percentile(&digest_max_ages, 0.99),
    );

    // Finnhub calls against the minimum.
    let endpoints = [
        ("/quote", "quote", min.quotes),
        ("/stock/profile2", "profile", min.profiles),
        ("/company-news", "company news", min.news),
        ("/calendar/earnings", "earnings", min.earnings),
        ("/stock/market-holiday", "holidays", min.holidays),
    ];
    let made = |path: &str| calls.iter().filter(|(_, e)| e == path).count();
    let after_due = |path: &str| {
        calls
            .iter()
            .filter(|(t, e)| e == path && *t >= first_due)
            .count()
    };
    println!("{tag} Finnhub calls      made  minimum  429s  made after the first due instant");
    let mut total = 0usize;
    let mut total_min = 0i64;
    for (path, label, minimum) in endpoints {
        total += made(path);
        total_min += minimum;
        println!(
            "{tag}   {label:<14} {:>6}  {minimum:>7}  {:>4}  {:>6}",
            made(path),
            refused.get(path).copied().unwrap_or(0),
            after_due(path)
        );
    }
    let other: usize = calls
        .iter()
        .filter(|(_, e)| !endpoints.iter().any(|(p, ..)| *p == e.as_str()))
        .count();
    total += other;
    if other > 0 {
        println!("{tag}   other          {other:>6}        0");
    }
    let all_refused: u64 = refused.values().sum();
    let ratio = total as f64 / total_min.max(1) as f64;
    println!(
        "{tag}   total          {total:>6}  {total_min:>7}  {all_refused:>4}  {:>6}   ratio {ratio:.3}",
        calls.iter().filter(|(t, _)| *t >= first_due).count()
    );
    if let (Some(first), Some(last)) = (calls.first(), calls.last()) {
        println!(
            "{tag}   first call +{:.1} s, last call +{:.1} s after the worker started; the first due instant was +{:.0} s",
            (first.0 - started).num_milliseconds() as f64 / 1000.0,
            (last.0 - started).num_milliseconds() as f64 / 1000.0,
            (first_due - started).num_seconds()
        );
    }

    let per = |cpu: f64| cpu * 1000.0 / sent.max(1) as f64;
    println!(
        "{tag} CPU per digest: worker {:.3} ms ({worker_cpu:.2} s user+system of the process, start to finish, over {sent} digests); PostgreSQL {:.3} ms ({pg_cpu:.2} s over every process of the cluster, shared with whatever else used it meanwhile; the bench database's {backends} live backends {backends_cpu:.2} s)",
        per(worker_cpu),
        per(pg_cpu)
    );

    if let Some((worker_ahead, pg_ahead)) = at_due {
        println!(
            "{tag}   of which before the first due instant (planning and fetching ahead): worker {worker_ahead:.2} s, PostgreSQL {pg_ahead:.2} s; after it (scheduling, sending, auditing): worker {:.3} ms, PostgreSQL {:.3} ms per digest",
            per(worker_cpu - worker_ahead),
            per(pg_cpu - pg_ahead)
        );
    }

    let people = case.people as f64;
    let latency_target = 5.0 + people / SES_RATE as f64;
    let calls_target = 1.02 * total_min as f64;
    println!("{tag} targets:");
    println!(
        "{tag}   {} Finnhub calls {total} <= 1.02 x minimum {total_min} = {calls_target:.0}",
        verdict(total as f64 <= calls_target)
    );
    println!(
        "{tag}   {} 429s {all_refused} = 0",
        verdict(all_refused == 0)
    );
    println!(
        "{tag}   {} p99 due->sent {p99_latency:.1} s <= 5 s + {people} / {SES_RATE} = {latency_target:.0} s{}",
        verdict(p99_latency <= latency_target && sent as i64 == case.people),
        if sent as i64 == case.people {
            String::new()
        } else {
            format!(" (and only {sent} of {people} sent)")
        }
    );
    println!(
        "{tag}   {} quote age at send p99 {p99_age:.1} s <= {QUOTE_MAX_AGE_SECS:.0} s{}",
        verdict(p99_age <= QUOTE_MAX_AGE_SECS && unquoted == 0),
        if unquoted == 0 {
            String::new()
        } else {
            format!(" (and {unquoted} pairs without a quote)")
        }
    );
    println!(
        "{tag} worker log {} (most frequent lines):",
        log_path.display()
    );
    for (n, line) in log_summary(&log_path).into_iter().take(10) {
        println!(
            "{tag}   {n:>6} x {}",
            line.chars().take(160).collect::<String>()
        );
    }

    finnhub_task.abort();
    aws_task.abort();
    db.close().await;
    bench_db.drop().await;
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let only = std::env::var("BENCH_PEAK_CASES").ok();
    for case in cases() {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|n| n.trim() == case.name))
        {
            continue;
        }
        runtime.block_on(run(&case));
    }
}
