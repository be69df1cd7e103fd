//! A Finnhub stand-in for API tests: wiremock answering with Finnhub's real response
//! shapes, deriving each answer from the query so any symbol "exists", while `ZZZZ`
//! is unknown (all-zero quote, `{}` profile) and `BOOM` always fails with 500.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quotidian::config::Config;
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::nz;

pub const API_KEY: &str = "test-finnhub-key";

fn param(request: &Request, name: &str) -> String {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Records when each request arrived, then answers like Finnhub would.
#[derive(Clone, Default)]
pub struct Arrivals(pub Arc<Mutex<Vec<(Instant, String, String)>>>);

impl Arrivals {
    pub fn count(&self, endpoint: &str, symbol: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, e, s)| e == endpoint && s == symbol)
            .count()
    }

    pub fn total(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub fn instants(&self) -> Vec<Instant> {
        self.0.lock().unwrap().iter().map(|(i, _, _)| *i).collect()
    }
}

struct Finnhub {
    arrivals: Arrivals,
}

impl Respond for Finnhub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let endpoint = request.url.path().trim_start_matches("/api/v1").to_owned();
        let symbol = param(request, "symbol");
        self.arrivals
            .0
            .lock()
            .unwrap()
            .push((Instant::now(), endpoint.clone(), symbol.clone()));
        if symbol == "BOOM" {
            return ResponseTemplate::new(500).set_body_string("Internal Server Error");
        }
        let body = match endpoint.as_str() {
            "/quote" if symbol == "ZZZZ" => {
                json!({"c": 0, "d": null, "dp": null, "h": 0, "l": 0, "o": 0, "pc": 0, "t": 0})
            }
            "/quote" => {
                let base = 100.0 + symbol.len() as f64;
                json!({"c": base + 1.5, "d": 1.5, "dp": 1.5 / base * 100.0, "h": base + 2.0, "l": base - 1.0,
                       "o": base, "pc": base, "t": 1_795_208_400})
            }
            "/stock/profile2" if symbol == "ZZZZ" => json!({}),
            "/stock/profile2" => json!({
                "country": "US", "currency": "USD", "exchange": "NASDAQ NMS - GLOBAL MARKET",
                "finnhubIndustry": "Technology", "ipo": "1980-12-12", "logo": "https://example.com/logo.png",
                "marketCapitalization": 3_900_000.5, "name": format!("{symbol} Inc"), "phone": "14089961010",
                "shareOutstanding": 14_840.39, "ticker": symbol, "weburl": "https://example.com/"
            }),
            "/company-news" if symbol == "ZZZZ" => json!([]),
            "/company-news" => json!([
                {"category": "company", "datetime": 1_795_700_000, "headline": format!("{symbol} beats estimates"),
                 "id": 1000 + symbol.len() as i64, "image": "", "related": symbol, "source": "Reuters",
                 "summary": "Summary.", "url": format!("https://example.com/{symbol}/1")},
                {"category": "company", "datetime": 1_795_600_000, "headline": "Markets rally",
                 "id": 7, "image": "", "related": symbol, "source": "MarketWatch",
                 "summary": "Shared story.", "url": "https://example.com/shared"}
            ]),
            "/calendar/earnings" => json!({"earningsCalendar": [
                {"date": "2026-11-25", "epsActual": null, "epsEstimate": 1.2, "hour": "amc", "quarter": 4,
                 "revenueActual": null, "revenueEstimate": 1.0e9, "symbol": "AAPL", "year": 2026}
            ]}),
            "/stock/market-holiday" => json!({"data": [
                {"eventName": "Thanksgiving Day", "atDate": "2026-11-26", "tradingHour": ""},
                {"eventName": "Christmas", "atDate": "2026-12-25", "tradingHour": ""}
            ], "exchange": "US", "timezone": "America/New_York"}),
            "/search" => {
                let q = param(request, "q").to_uppercase();
                if q == "NOSUCH" {
                    json!({"count": 0, "result": []})
                } else {
                    json!({"count": 1, "result": [{"description": format!("{q} INC"), "displaySymbol": q, "symbol": q, "type": "Common Stock"}]})
                }
            }
            _ => return ResponseTemplate::new(404).set_body_string("404 page not found"),
        };
        ResponseTemplate::new(200).set_body_json(body)
    }
}

pub struct FinnhubMock {
    pub server: MockServer,
    pub arrivals: Arrivals,
}

impl FinnhubMock {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let arrivals = Arrivals::default();
        Mock::given(method("GET"))
            .and(query_param("token", API_KEY))
            .respond_with(Finnhub {
                arrivals: arrivals.clone(),
            })
            .mount(&server)
            .await;
        Self { server, arrivals }
    }

    /// A mock that refuses the key on every call.
    pub async fn refusing_the_key() -> Self {
        let server = MockServer::start().await;
        let arrivals = Arrivals::default();
        Mock::given(method("GET"))
            .and(path("/api/v1/quote"))
            .respond_with(
                ResponseTemplate::new(401).set_body_json(json!({"error": "Invalid API key."})),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(401).set_body_json(json!({"error": "Invalid API key."})),
            )
            .mount(&server)
            .await;
        Self { server, arrivals }
    }

    /// The next call to `endpoint` (e.g. `/quote`) is answered with Finnhub's 429;
    /// later calls as usual.
    pub async fn rate_limit_once(&self, endpoint: &str) {
        Mock::given(method("GET"))
            .and(path(format!("/api/v1{endpoint}")))
            .respond_with(
                ResponseTemplate::new(429).set_body_string(
                    "API limit reached. Please try again later. Remaining Limit: 0",
                ),
            )
            .up_to_n_times(1)
            // Ahead of the catch-all mock, which was mounted first.
            .with_priority(1)
            .mount(&self.server)
            .await;
    }

    pub fn base_url(&self) -> String {
        format!("{}/api/v1", self.server.uri())
    }

    /// Points the app at this mock, with quick retries and no rate limit to speak of:
    /// `TestApp::builder().with_config(|c| mock.configure(c))`.
    pub fn configure(&self, c: &mut Config) {
        c.finnhub.base_url = url::Url::parse(&self.base_url()).unwrap();
        c.finnhub.api_key = Some(SecretString::from(API_KEY));
        c.finnhub.retry_base = Duration::from_millis(10);
        c.finnhub.max_retries = 2;
        c.finnhub.calls_per_minute = nz(60_000);
        c.finnhub.calls_per_second = nz(1000);
    }
}
