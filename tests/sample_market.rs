//! The offline sample market data server over real HTTP, checked against Finnhub's wire
//! format: the paths, parameters, field names and JSON types the Finnhub client relies
//! on, the all-zero / `{}` answers for unknown symbols, the 401 without a token, and
//! answers that are the same every time for the same date.

use std::collections::HashSet;
use std::net::SocketAddr;

use chrono::{DateTime, Days, NaiveDate, Utc};
use quotidian::sample_market::{self, Clock, SAMPLE_SYMBOLS};
use reqwest::StatusCode;
use serde_json::{Map, Value};

/// Wednesday 4 March 2026, 22:00 UTC: after the 16:00 New York close.
const WEDNESDAY_EVENING: &str = "2026-03-04T22:00:00Z";
/// The next day at the same time.
const THURSDAY_EVENING: &str = "2026-03-05T22:00:00Z";

struct Server {
    base: String,
    http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    async fn system() -> Self {
        Self::from(sample_market::spawn_local().await.expect("bind")).await
    }

    async fn at(instant: &str) -> Self {
        let now = DateTime::parse_from_rfc3339(instant).unwrap().to_utc();
        Self::from(
            sample_market::spawn_local_with_clock(Clock::Fixed(now))
                .await
                .expect("bind"),
        )
        .await
    }

    async fn from((addr, task): (SocketAddr, tokio::task::JoinHandle<()>)) -> Self {
        Server {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            task,
        }
    }

    /// `GET path` with `params` and a token; the status and the body as text.
    async fn get_raw(&self, path: &str, params: &[(&str, &str)]) -> (StatusCode, String) {
        let mut all = params.to_vec();
        all.push(("token", "sample"));
        self.send(path, &all).await
    }

    /// `GET path` with exactly `params` (no token added).
    async fn send(&self, path: &str, params: &[(&str, &str)]) -> (StatusCode, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .query(params)
            .send()
            .await
            .expect("request");
        let status = response.status();
        (status, response.text().await.expect("body"))
    }

    /// `GET path` with a token, expecting 200 and JSON.
    async fn get(&self, path: &str, params: &[(&str, &str)]) -> Value {
        let (status, body) = self.get_raw(path, params).await;
        assert_eq!(status, StatusCode::OK, "{path} {params:?}: {body}");
        serde_json::from_str(&body).expect("JSON body")
    }
}

/// The object's keys, sorted, to compare with the exact list Finnhub sends.
fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

fn object(value: &Value) -> &Map<String, Value> {
    value.as_object().expect("an object")
}

fn is_date(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() && s.len() == 10)
}

fn date(raw: &str) -> NaiveDate {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
}

#[tokio::test]
async fn quote_has_finnhubs_shape_and_consistent_numbers() {
    let server = Server::at(WEDNESDAY_EVENING).await;
    for entry in SAMPLE_SYMBOLS {
        let quote = server.get("/quote", &[("symbol", entry.symbol)]).await;
        assert_eq!(keys(&quote), ["c", "d", "dp", "h", "l", "o", "pc", "t"]);
        let n = |k: &str| {
            quote[k]
                .as_f64()
                .unwrap_or_else(|| panic!("{k} not a number"))
        };
        let (c, d, dp, h, l, o, pc) = (n("c"), n("d"), n("dp"), n("h"), n("l"), n("o"), n("pc"));
        assert!(c > 0.0 && pc > 0.0 && l > 0.0, "{quote}");
        assert!(h >= o.max(c) && l <= o.min(c), "{quote}");
        assert!((d - (c - pc)).abs() < 0.005, "{quote}");
        assert!((dp - d / pc * 100.0).abs() < 0.0001, "{quote}");
        // 16:00 New York on Wednesday 2026-03-04 (EST) is 21:00 UTC.
        assert_eq!(quote["t"].as_i64(), Some(1_772_658_000), "{quote}");
    }
}

#[tokio::test]
async fn quotes_are_reproducible_and_move_from_day_to_day() {
    let wednesday = Server::at(WEDNESDAY_EVENING).await;
    let again = Server::at(WEDNESDAY_EVENING).await;
    let thursday = Server::at(THURSDAY_EVENING).await;
    let request = [("symbol", "AAPL")];
    let first = wednesday.get_raw("/quote", &request).await;
    assert_eq!(first, wednesday.get_raw("/quote", &request).await);
    assert_eq!(first, again.get_raw("/quote", &request).await);

    let wed = wednesday.get("/quote", &request).await;
    let thu = thursday.get("/quote", &request).await;
    assert_ne!(wed, thu);
    assert_eq!(
        thu["pc"], wed["c"],
        "previous close is the day before's close"
    );
    assert_eq!(
        thu["t"].as_i64().unwrap() - wed["t"].as_i64().unwrap(),
        86_400
    );
}

#[tokio::test]
async fn unknown_symbols_get_finnhubs_no_data_answers() {
    let server = Server::system().await;
    let (status, body) = server.get_raw("/quote", &[("symbol", "NOPE")]).await;
    assert_eq!(status, StatusCode::OK);
    let quote: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        quote,
        serde_json::json!({"c": 0, "d": null, "dp": null, "h": 0, "l": 0, "o": 0, "pc": 0, "t": 0})
    );

    let profile = server.get("/stock/profile2", &[("symbol", "NOPE")]).await;
    assert_eq!(profile, serde_json::json!({}));

    let news = server
        .get(
            "/company-news",
            &[
                ("symbol", "NOPE"),
                ("from", "2026-03-01"),
                ("to", "2026-03-04"),
            ],
        )
        .await;
    assert_eq!(news, serde_json::json!([]));
}

#[tokio::test]
async fn profile_has_finnhubs_shape() {
    let server = Server::at(WEDNESDAY_EVENING).await;
    let quote = server.get("/quote", &[("symbol", "MSFT")]).await;
    let profile = server.get("/stock/profile2", &[("symbol", "MSFT")]).await;
    assert_eq!(
        keys(&profile),
        [
            "country",
            "currency",
            "exchange",
            "finnhubIndustry",
            "ipo",
            "logo",
            "marketCapitalization",
            "name",
            "phone",
            "shareOutstanding",
            "ticker",
            "weburl",
        ]
    );
    for field in [
        "country",
        "currency",
        "exchange",
        "finnhubIndustry",
        "logo",
        "name",
        "phone",
        "ticker",
        "weburl",
    ] {
        assert!(profile[field].is_string(), "{field}: {profile}");
    }
    assert!(is_date(&profile["ipo"]));
    assert_eq!(profile["ticker"], "MSFT");
    assert_eq!(profile["name"], "Microsoft Corp");
    assert_eq!(profile["exchange"], "NASDAQ NMS - GLOBAL MARKET");
    assert!(
        profile["weburl"]
            .as_str()
            .unwrap()
            .starts_with("https://example.com/")
    );
    let shares = profile["shareOutstanding"].as_f64().unwrap();
    let cap = profile["marketCapitalization"].as_f64().unwrap();
    let price = quote["c"].as_f64().unwrap();
    assert!(
        (cap - price * shares).abs() < 0.01,
        "{cap} vs {price} * {shares}"
    );
}

#[tokio::test]
async fn every_endpoint_wants_a_token() {
    let server = Server::system().await;
    let requests: &[(&str, &[(&str, &str)])] = &[
        ("/quote", &[("symbol", "AAPL")]),
        ("/stock/profile2", &[("symbol", "AAPL")]),
        (
            "/company-news",
            &[
                ("symbol", "AAPL"),
                ("from", "2026-03-01"),
                ("to", "2026-03-04"),
            ],
        ),
        ("/news", &[("category", "general")]),
        ("/search", &[("q", "apple")]),
        ("/calendar/earnings", &[]),
        ("/stock/market-holiday", &[("exchange", "US")]),
        ("/no/such/endpoint", &[]),
    ];
    for (path, params) in requests {
        for token in [None, Some(""), Some("  ")] {
            let mut all = params.to_vec();
            if let Some(token) = token {
                all.push(("token", token));
            }
            let (status, body) = server.send(path, &all).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} token={token:?}");
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body, serde_json::json!({"error": "Invalid API key."}));
        }
    }
}

#[tokio::test]
async fn company_news_has_finnhubs_shape_and_is_labelled_sample() {
    let server = Server::at(WEDNESDAY_EVENING).await;
    let params = [
        ("symbol", "NVDA"),
        ("from", "2026-02-25"),
        ("to", "2026-03-04"),
    ];
    let (_, first) = server.get_raw("/company-news", &params).await;
    assert_eq!(first, server.get_raw("/company-news", &params).await.1);
    let news: Value = serde_json::from_str(&first).unwrap();
    let items = news.as_array().expect("an array");
    // One to three articles a day for eight days.
    assert!((8..=24).contains(&items.len()), "{} items", items.len());

    let from = DateTime::parse_from_rfc3339("2026-02-25T05:00:00Z").unwrap();
    let to = DateTime::parse_from_rfc3339("2026-03-05T05:00:00Z").unwrap();
    let mut ids = HashSet::new();
    let mut previous = i64::MAX;
    for item in items {
        assert_eq!(
            keys(item),
            [
                "category", "datetime", "headline", "id", "image", "related", "source", "summary",
                "url"
            ]
        );
        let fields = object(item);
        assert_eq!(fields["category"], "company");
        assert_eq!(fields["related"], "NVDA");
        assert_eq!(fields["source"], "Quotidian sample data");
        assert!(fields["image"].is_string());
        let headline = fields["headline"].as_str().unwrap();
        assert!(headline.starts_with("[Sample] "), "{headline}");
        let summary = fields["summary"].as_str().unwrap();
        assert!(summary.contains("sample data"), "{summary}");
        let url = fields["url"].as_str().unwrap();
        assert!(url.starts_with("https://example.com/"), "{url}");
        let id = fields["id"].as_i64().expect("integer id");
        assert!(ids.insert(id), "duplicate id {id}");
        let at = fields["datetime"].as_i64().expect("unix seconds");
        assert!(at >= from.timestamp() && at < to.timestamp(), "{item}");
        assert!(at <= previous, "newest first");
        previous = at;
    }
}

#[tokio::test]
async fn company_news_serves_a_bounded_window_up_to_now() {
    let server = Server::at(WEDNESDAY_EVENING).await;
    let items = server
        .get(
            "/company-news",
            &[
                ("symbol", "AAPL"),
                ("from", "1990-01-01"),
                ("to", "2099-12-31"),
            ],
        )
        .await;
    let items = items.as_array().unwrap();
    assert!(
        !items.is_empty() && items.len() <= 3 * 21,
        "{}",
        items.len()
    );
    let now = DateTime::parse_from_rfc3339(WEDNESDAY_EVENING).unwrap();
    assert!(
        items
            .iter()
            .all(|item| item["datetime"].as_i64().unwrap() <= now.timestamp())
    );

    let reversed = server
        .get(
            "/company-news",
            &[
                ("symbol", "AAPL"),
                ("from", "2026-03-04"),
                ("to", "2026-03-01"),
            ],
        )
        .await;
    assert_eq!(reversed, serde_json::json!([]));
}

#[tokio::test]
async fn company_news_refuses_bad_dates_with_a_json_error() {
    let server = Server::system().await;
    let cases: &[&[(&str, &str)]] = &[
        &[("symbol", "AAPL")],
        &[("symbol", "AAPL"), ("from", "2026-03-01")],
        &[("symbol", "AAPL"), ("from", ""), ("to", "")],
        &[
            ("symbol", "AAPL"),
            ("from", "yesterday"),
            ("to", "2026-03-04"),
        ],
        &[
            ("symbol", "AAPL"),
            ("from", "2026-02-30"),
            ("to", "2026-03-04"),
        ],
        &[
            ("symbol", "AAPL"),
            ("from", "2026-3-1"),
            ("to", "2026-03-04"),
        ],
        &[("from", "2026-03-01"), ("to", "2026-03-04")],
    ];
    for params in cases {
        let (status, body) = server.get_raw("/company-news", params).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{params:?}");
        let body: Value = serde_json::from_str(&body).expect("JSON error body");
        assert_eq!(keys(&body), ["error"]);
        assert!(body["error"].is_string());
    }
}

#[tokio::test]
async fn general_news_is_labelled_sample_with_unique_ids() {
    let server = Server::at(WEDNESDAY_EVENING).await;
    let news = server.get("/news", &[("category", "general")]).await;
    let items = news.as_array().unwrap();
    assert!((3..=6).contains(&items.len()), "{}", items.len());
    let mut ids = HashSet::new();
    for item in items {
        assert_eq!(item["category"], "general");
        assert_eq!(item["source"], "Quotidian sample data");
        assert!(item["headline"].as_str().unwrap().starts_with("[Sample] "));
        assert!(item["summary"].as_str().unwrap().contains("sample data"));
        assert!(
            item["url"]
                .as_str()
                .unwrap()
                .starts_with("https://example.com/")
        );
        assert!(item["datetime"].is_i64());
        assert!(ids.insert(item["id"].as_i64().unwrap()));
    }
    // `minId` keeps only newer articles, as on Finnhub.
    let newest = ids.iter().max().unwrap().to_string();
    let newer = server
        .get("/news", &[("category", "general"), ("minId", &newest)])
        .await;
    assert_eq!(newer, serde_json::json!([]));
}

#[tokio::test]
async fn search_matches_names_and_ticker_prefixes() {
    let server = Server::system().await;

    let apple = server.get("/search", &[("q", "apple")]).await;
    assert_eq!(keys(&apple), ["count", "result"]);
    assert_eq!(apple["count"], 1);
    assert_eq!(
        apple["result"][0],
        serde_json::json!({
            "description": "APPLE INC",
            "displaySymbol": "AAPL",
            "symbol": "AAPL",
            "type": "Common Stock"
        })
    );

    let prefix = server.get("/search", &[("q", "ms")]).await;
    let symbols: Vec<&str> = prefix["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(symbols.first(), Some(&"MSFT"), "{prefix}");
    assert_eq!(prefix["count"].as_u64(), Some(symbols.len() as u64));

    let brk = server.get("/search", &[("q", "brk.")]).await;
    assert_eq!(brk["result"][0]["symbol"], "BRK.B");

    let exact_first = server.get("/search", &[("q", "t")]).await;
    assert_eq!(exact_first["result"][0]["symbol"], "T");

    let empty = serde_json::json!({"count": 0, "result": []});
    assert_eq!(server.get("/search", &[("q", "")]).await, empty);
    assert_eq!(server.get("/search", &[]).await, empty);
    assert_eq!(server.get("/search", &[("q", "zzzz")]).await, empty);
}

#[tokio::test]
async fn earnings_calendar_has_finnhubs_shape() {
    let server = Server::at(WEDNESDAY_EVENING).await;
    let calendar = server
        .get(
            "/calendar/earnings",
            &[("from", "2026-01-01"), ("to", "2026-07-15")],
        )
        .await;
    assert_eq!(keys(&calendar), ["earningsCalendar"]);
    let entries = calendar["earningsCalendar"].as_array().unwrap();
    // Each symbol reports once a quarter: at least twice in 196 days.
    for sample in SAMPLE_SYMBOLS {
        let reports = entries
            .iter()
            .filter(|entry| entry["symbol"] == sample.symbol)
            .count();
        assert!(reports >= 2, "{}: {reports} reports", sample.symbol);
    }
    let today = date("2026-03-04");
    for entry in entries {
        assert_eq!(
            keys(entry),
            [
                "date",
                "epsActual",
                "epsEstimate",
                "hour",
                "quarter",
                "revenueActual",
                "revenueEstimate",
                "symbol",
                "year"
            ]
        );
        assert!(is_date(&entry["date"]));
        assert!(["bmo", "amc"].contains(&entry["hour"].as_str().unwrap()));
        assert!(entry["quarter"].is_u64() && entry["year"].is_u64());
        assert!(entry["epsEstimate"].is_number() && entry["revenueEstimate"].is_number());
        let past = date(entry["date"].as_str().unwrap()) < today;
        assert_eq!(entry["epsActual"].is_number(), past, "{entry}");
        assert_eq!(entry["revenueActual"].is_number(), past, "{entry}");
        assert_eq!(entry["epsActual"].is_null(), !past, "{entry}");
        assert_eq!(entry["revenueActual"].is_null(), !past, "{entry}");
    }

    let msft = server
        .get(
            "/calendar/earnings",
            &[
                ("from", "2026-01-01"),
                ("to", "2026-12-31"),
                ("symbol", "MSFT"),
            ],
        )
        .await;
    let msft = msft["earningsCalendar"].as_array().unwrap();
    assert!((4..=5).contains(&msft.len()), "{msft:?}");
    assert!(msft.iter().all(|entry| entry["symbol"] == "MSFT"));

    let unknown = server
        .get(
            "/calendar/earnings",
            &[
                ("from", "2026-01-01"),
                ("to", "2026-12-31"),
                ("symbol", "NOPE"),
            ],
        )
        .await;
    assert_eq!(unknown, serde_json::json!({"earningsCalendar": []}));
}

#[tokio::test]
async fn some_symbol_reports_earnings_in_any_coming_week() {
    let server = Server::at(WEDNESDAY_EVENING).await;
    let first = date("2026-03-02");
    for offset in 0..91 {
        let from = first + Days::new(offset);
        let to = from + Days::new(6);
        let (from, to) = (from.to_string(), to.to_string());
        let week = server
            .get("/calendar/earnings", &[("from", &from), ("to", &to)])
            .await;
        let entries = week["earningsCalendar"].as_array().unwrap();
        assert!(!entries.is_empty(), "no earnings from {from} to {to}");
        for entry in entries {
            let day = entry["date"].as_str().unwrap();
            assert!(from.as_str() <= day && day <= to.as_str(), "{entry}");
        }
    }
}

#[tokio::test]
async fn market_holidays_list_the_real_nyse_closures() {
    let server = Server::at(WEDNESDAY_EVENING).await;
    let holidays = server
        .get("/stock/market-holiday", &[("exchange", "US")])
        .await;
    assert_eq!(keys(&holidays), ["data", "exchange", "timezone"]);
    assert_eq!(holidays["exchange"], "US");
    assert_eq!(holidays["timezone"], "America/New_York");
    let data = holidays["data"].as_array().unwrap();
    for day in data {
        assert_eq!(keys(day), ["atDate", "eventName", "tradingHour"]);
        assert!(is_date(&day["atDate"]) && day["eventName"].is_string());
        assert_eq!(day["tradingHour"], "");
    }
    let named = |at: &str| {
        data.iter()
            .find(|day| day["atDate"] == at)
            .map(|day| day["eventName"].as_str().unwrap().to_owned())
    };
    assert_eq!(named("2026-11-26").as_deref(), Some("Thanksgiving Day"));
    assert_eq!(named("2026-12-25").as_deref(), Some("Christmas"));
    // Observed days: Independence Day 2026 is a Saturday, Christmas 2027 too.
    assert_eq!(named("2026-07-03").as_deref(), Some("Independence Day"));
    assert_eq!(named("2027-12-24").as_deref(), Some("Christmas"));
    assert_eq!(named("2027-03-26").as_deref(), Some("Good Friday"));
    assert_eq!(named("2026-07-04"), None);
    assert_eq!(named("2027-12-31"), None);
    let in_year = |year: &str| {
        data.iter()
            .filter(|day| day["atDate"].as_str().unwrap().starts_with(year))
            .count()
    };
    // Ten regular holidays a year, plus the 2025 day of mourning for Jimmy Carter.
    assert_eq!(
        (in_year("2025"), in_year("2026"), in_year("2027")),
        (11, 10, 10)
    );
}

#[tokio::test]
async fn odd_input_gets_json_answers_not_failures() {
    let server = Server::system().await;
    let requests: &[(&str, &[(&str, &str)])] = &[
        ("/quote", &[]),
        ("/quote", &[("symbol", "")]),
        ("/quote", &[("symbol", "\u{0}%%\u{feff}")]),
        ("/stock/profile2", &[("symbol", " ")]),
        (
            "/company-news",
            &[
                ("symbol", "AAPL"),
                ("from", "0000-01-01"),
                ("to", "9999-12-31"),
            ],
        ),
        (
            "/company-news",
            &[
                ("symbol", "AAPL"),
                ("from", "99999-01-01"),
                ("to", "2026-01-01"),
            ],
        ),
        ("/news", &[]),
        ("/news", &[("category", "forex")]),
        ("/news", &[("category", "general"), ("minId", "lots")]),
        ("/search", &[("q", &"a".repeat(5000))]),
        (
            "/calendar/earnings",
            &[("from", "0001-01-01"), ("to", "9999-12-31")],
        ),
        (
            "/calendar/earnings",
            &[("from", "9999-12-31"), ("to", "0001-01-01")],
        ),
        ("/calendar/earnings", &[("from", "nonsense")]),
        (
            "/calendar/earnings",
            &[("from", ""), ("to", ""), ("symbol", "")],
        ),
        ("/stock/market-holiday", &[]),
        ("/stock/market-holiday", &[("exchange", "L")]),
    ];
    for (path, params) in requests {
        let (status, body) = server.get_raw(path, params).await;
        assert!(
            status.is_success() || status.is_client_error(),
            "{path} {params:?}: {status}"
        );
        let body: Value = serde_json::from_str(&body)
            .unwrap_or_else(|_| panic!("{path} {params:?}: not JSON: {body}"));
        if status.is_client_error() {
            assert!(body["error"].is_string(), "{path} {params:?}: {body}");
        }
    }
    // Raw bytes that are not valid percent-encoding or UTF-8.
    let response = server
        .http
        .get(format!("{}/quote?symbol=%ff%fe&token=%zz", server.base))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success() || response.status().is_client_error());
    let _: Value = response.json().await.expect("JSON");
    // The server is still up after all that.
    assert_eq!(
        server.get_raw("/quote", &[("symbol", "AAPL")]).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_system_clock_serves_a_recent_close() {
    let server = Server::system().await;
    let quote = server.get("/quote", &[("symbol", "AAPL")]).await;
    let t = quote["t"].as_i64().unwrap();
    let now = Utc::now().timestamp();
    // The latest close is in the past, and never more than a long weekend ago.
    assert!(t <= now && now - t < 6 * 86_400, "t={t} now={now}");
}

/// The point of the sample server: the service's own Finnhub client, pointed at it,
/// reads every endpoint without a decoding error and gets usable data.
#[tokio::test]
async fn the_finnhub_client_reads_every_endpoint() {
    use quotidian::clients::finnhub::{
        FinnhubClient, FinnhubError, FinnhubLimiter, FinnhubSettings, LimiterConfig, MarketData,
    };
    use quotidian::domain::Symbol;

    let server = Server::at(WEDNESDAY_EVENING).await;
    let roomy = std::num::NonZeroU32::new(1_000).unwrap();
    let limiter = FinnhubLimiter::new(LimiterConfig {
        calls_per_minute: roomy,
        minute_burst: roomy,
        calls_per_second: roomy,
        second_burst: roomy,
    });
    let settings = FinnhubSettings::new(
        url::Url::parse(&server.base).unwrap(),
        Some(secrecy::SecretString::from("sample")),
    );
    let client = FinnhubClient::new(settings, limiter).expect("client builds");
    let brk = Symbol::parse("BRK.B").unwrap();

    let quote = client.quote(&brk).await.expect("quote").value;
    assert!(quote.c > 0.0 && !quote.is_all_zero());
    let profile = client.profile(&brk).await.expect("profile").value;
    assert_eq!(profile.ticker.as_deref(), Some("BRK.B"));
    let news = client
        .company_news(&brk, date("2026-03-02"), date("2026-03-04"))
        .await
        .expect("news")
        .value;
    assert!(!news.is_empty() && news.iter().all(|item| item.related == "BRK.B"));
    let search = client.search("berkshire").await.expect("search").value;
    assert_eq!(search.result[0].symbol, "BRK.B");
    let earnings = client
        .earnings(date("2026-03-02"), date("2026-03-08"), None)
        .await
        .expect("earnings")
        .value;
    assert!(!earnings.earnings_calendar.is_empty());
    let holidays = client.market_holidays("US").await.expect("holidays").value;
    assert!(holidays.data.iter().all(|day| day.closed_all_day()));

    let unknown = Symbol::parse("NOPE").unwrap();
    assert!(matches!(
        client.quote(&unknown).await,
        Err(FinnhubError::NoData { .. })
    ));
    assert!(matches!(
        client.profile(&unknown).await,
        Err(FinnhubError::NoData { .. })
    ));
}
