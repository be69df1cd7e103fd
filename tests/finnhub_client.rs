//! The Finnhub client against a wiremock Finnhub speaking the real response shapes:
//! every endpoint's happy path, each failure mode and what the caller is told, the
//! token's whereabouts, and the shared rate limiter measured in real time.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use quotidian::clients::finnhub::{
    FinnhubClient, FinnhubError, FinnhubLimiter, FinnhubSettings, LimiterConfig, MarketData,
    RetryPolicy,
};
use quotidian::domain::Symbol;
use secrecy::SecretString;
use url::Url;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockBuilder, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "fh-test-key-c0ffee1234";

const AAPL_QUOTE: &str = r#"{"c":189.84,"d":1.53,"dp":0.8125,"h":190.32,"l":188.19,"o":189.33,"pc":188.31,"t":1714766400}"#;

const AAPL_PROFILE: &str = r#"{"country":"US","currency":"USD","estimateCurrency":"USD","exchange":"NASDAQ NMS - GLOBAL MARKET","finnhubIndustry":"Technology","ipo":"1980-12-12","logo":"https://static2.finnhub.io/file/publicdatany/finnhubimage/stock_logo/AAPL.png","marketCapitalization":2925372.5,"name":"Apple Inc","phone":"14089961010","shareOutstanding":15441.88,"ticker":"AAPL","weburl":"https://www.apple.com/"}"#;

const AAPL_NEWS: &str = r#"[{"category":"company","datetime":1714741200,"headline":"Apple beats estimates, announces record $110 billion buyback","id":127312345,"image":"https://s.yimg.com/ny/api/res/1.2/apple-buyback.jpg","related":"AAPL","source":"Yahoo","summary":"Apple reported fiscal second-quarter results that topped Wall Street expectations.","url":"https://finnhub.io/api/news?id=4f1d0c9e3b"},{"category":"company","datetime":1714654800,"headline":"What to watch in Apple's earnings","id":127298765,"image":"","related":"AAPL","source":"MarketWatch","summary":"","url":"https://finnhub.io/api/news?id=8a2b7e6d1c"}]"#;

const APPLE_SEARCH: &str = r#"{"count":4,"result":[{"description":"APPLE INC","displaySymbol":"AAPL","symbol":"AAPL","type":"Common Stock"},{"description":"APPLE INC","displaySymbol":"AAPL.SW","symbol":"AAPL.SW","type":"Common Stock"},{"description":"APPLE INC","displaySymbol":"APC.BE","symbol":"APC.BE","type":"Common Stock"},{"description":"APPLE INC - CDR","displaySymbol":"AAPL.NE","symbol":"AAPL.NE","type":""}]}"#;

const AAPL_EARNINGS: &str = r#"{"earningsCalendar":[{"date":"2024-05-02","epsActual":1.53,"epsEstimate":1.5,"hour":"amc","quarter":2,"revenueActual":90753000000,"revenueEstimate":90347000000,"symbol":"AAPL","year":2024},{"date":"2024-08-01","epsActual":null,"epsEstimate":1.34,"hour":"amc","quarter":3,"revenueActual":null,"revenueEstimate":84500000000,"symbol":"AAPL","year":2024}]}"#;

const US_HOLIDAYS: &str = r#"{"data":[{"eventName":"Christmas","atDate":"2024-12-25","tradingHour":""},{"eventName":"Christmas Eve","atDate":"2024-12-24","tradingHour":"09:30-13:00"},{"eventName":"Thanksgiving Day","atDate":"2024-11-28","tradingHour":""}],"exchange":"US","timezone":"America/New_York"}"#;

const UNKNOWN_QUOTE: &str = r#"{"c":0,"d":null,"dp":null,"h":0,"l":0,"o":0,"pc":0,"t":0}"#;

const LIMIT_BODY: &str = "API limit reached. Please try again later. Remaining Limit: 0";

const MAX_RETRIES: u32 = 3;

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

fn aapl() -> Symbol {
    Symbol::parse("AAPL").unwrap()
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Limits loose enough that only the limiter tests ever wait on them.
fn roomy_limiter() -> FinnhubLimiter {
    FinnhubLimiter::new(LimiterConfig {
        calls_per_minute: nz(60_000),
        minute_burst: nz(1_000),
        calls_per_second: nz(1_000),
        second_burst: nz(1_000),
    })
}

fn settings(server: &MockServer) -> FinnhubSettings {
    // A base path, as in production (`/api/v1`), so the mocks also check that
    // endpoint paths are appended to it rather than replacing it.
    let base = Url::parse(&format!("{}/api/v1", server.uri())).unwrap();
    let mut settings = FinnhubSettings::new(base, Some(SecretString::from(KEY)));
    settings.request_timeout = Duration::from_secs(2);
    settings.retry = RetryPolicy {
        max_retries: MAX_RETRIES,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        max_retry_after: Duration::from_secs(5),
    };
    settings
}

fn client_with(settings: FinnhubSettings, limiter: FinnhubLimiter) -> FinnhubClient {
    FinnhubClient::new(settings, limiter).expect("client builds")
}

fn client(server: &MockServer) -> FinnhubClient {
    client_with(settings(server), roomy_limiter())
}

/// A Finnhub GET that carries our token.
fn finnhub(endpoint: &str) -> MockBuilder {
    Mock::given(method("GET"))
        .and(path(format!("/api/v1{endpoint}")))
        .and(query_param("token", KEY))
}

fn json(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

fn rate_limited() -> ResponseTemplate {
    ResponseTemplate::new(429).set_body_string(LIMIT_BODY)
}

async fn request_count(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

/// Answers with `template` and notes when each request arrived: wiremock keeps the
/// requests but not their arrival times.
#[derive(Clone)]
struct Clocked {
    arrivals: Arc<Mutex<Vec<Instant>>>,
    template: ResponseTemplate,
}

impl Clocked {
    fn new(template: ResponseTemplate) -> Self {
        Self {
            arrivals: Arc::default(),
            template,
        }
    }

    fn arrivals(&self) -> Vec<Instant> {
        let mut arrivals = self.arrivals.lock().unwrap().clone();
        arrivals.sort();
        arrivals
    }
}

impl Respond for Clocked {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.arrivals.lock().unwrap().push(Instant::now());
        self.template.clone()
    }
}

fn most_in_any_window(arrivals: &[Instant], window: Duration) -> usize {
    (0..arrivals.len())
        .map(|i| {
            arrivals[i..]
                .iter()
                .take_while(|t| **t < arrivals[i] + window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

// ----------------------------------------------------------------------------------
// Every endpoint, 200
// ----------------------------------------------------------------------------------

#[tokio::test]
async fn quote_returns_the_price_and_the_exchange_for_the_audit_trail() {
    let server = MockServer::start().await;
    finnhub("/quote")
        .and(query_param("symbol", "AAPL"))
        .respond_with(json(AAPL_QUOTE))
        .expect(1)
        .mount(&server)
        .await;

    let fetched = client(&server).quote(&aapl()).await.unwrap();

    assert_eq!(fetched.value.c, 189.84);
    assert_eq!(fetched.value.d, Some(1.53));
    assert_eq!(fetched.value.pc, 188.31);
    assert_eq!(
        fetched.value.as_of().unwrap().to_rfc3339(),
        "2024-05-03T20:00:00+00:00"
    );
    let raw = &fetched.raw;
    assert_eq!(raw.body, AAPL_QUOTE, "the body is kept byte for byte");
    assert_eq!(raw.status, 200);
    assert_eq!(raw.path, "/quote");
    assert_eq!(raw.params, vec![("symbol".into(), "AAPL".into())]);
    assert_eq!((raw.attempts, raw.rate_limited), (1, 0));
}

#[tokio::test]
async fn profile_reads_finnhubs_camel_case_fields() {
    let server = MockServer::start().await;
    finnhub("/stock/profile2")
        .and(query_param("symbol", "AAPL"))
        .respond_with(json(AAPL_PROFILE))
        .expect(1)
        .mount(&server)
        .await;

    let profile = client(&server).profile(&aapl()).await.unwrap().value;

    assert_eq!(profile.name.as_deref(), Some("Apple Inc"));
    assert_eq!(profile.ticker.as_deref(), Some("AAPL"));
    assert_eq!(profile.market_capitalization, Some(2925372.5));
    assert_eq!(profile.share_outstanding, Some(15441.88));
    assert_eq!(profile.finnhub_industry.as_deref(), Some("Technology"));
    assert_eq!(profile.ipo.as_deref(), Some("1980-12-12"));
}

#[tokio::test]
async fn company_news_sends_the_date_range() {
    let server = MockServer::start().await;
    finnhub("/company-news")
        .and(query_param("symbol", "AAPL"))
        .and(query_param("from", "2024-05-01"))
        .and(query_param("to", "2024-05-03"))
        .respond_with(json(AAPL_NEWS))
        .expect(1)
        .mount(&server)
        .await;

    let fetched = client(&server)
        .company_news(&aapl(), date("2024-05-01"), date("2024-05-03"))
        .await
        .unwrap();

    let news = &fetched.value;
    assert_eq!(news.len(), 2);
    assert_eq!(news[0].id, 127312345);
    assert_eq!(news[0].source, "Yahoo");
    assert_eq!(
        news[0].published_at().unwrap().to_rfc3339(),
        "2024-05-03T13:00:00+00:00"
    );
    assert_eq!(news[1].image, "");
    assert_eq!(fetched.raw.params.len(), 3);
}

#[tokio::test]
async fn daily_candles_ask_for_resolution_d_over_whole_days_in_unix_seconds() {
    let server = MockServer::start().await;
    // 2024-05-01 00:00:00 UTC to 2024-05-03 23:59:59 UTC.
    finnhub("/stock/candle")
        .and(query_param("symbol", "AAPL"))
        .and(query_param("resolution", "D"))
        .and(query_param("from", "1714521600"))
        .and(query_param("to", "1714780799"))
        .respond_with(json(
            r#"{"c":[169.3,173.03,183.38],"h":[172.71,173.42,187],"l":[169.11,170.89,182.66],"o":[169.58,172.51,186.65],"s":"ok","t":[1714521600,1714608000,1714694400],"v":[50383147,94214915,163224109]}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let fetched = client(&server)
        .daily_candles(&aapl(), date("2024-05-01"), date("2024-05-03"))
        .await
        .unwrap();
    assert_eq!(fetched.value.t.len(), 3);
    assert_eq!(fetched.value.c[2], 183.38);
    assert_eq!(fetched.raw.path, "/stock/candle");

    // No bars (outside the range, or a symbol Finnhub does not know): no data, with
    // the answer kept for the audit trail.
    let empty = MockServer::start().await;
    finnhub("/stock/candle")
        .respond_with(json(r#"{"s":"no_data"}"#))
        .mount(&empty)
        .await;
    match client(&empty)
        .daily_candles(&aapl(), date("2024-05-04"), date("2024-05-05"))
        .await
    {
        Err(FinnhubError::NoData { raw }) => assert_eq!(raw.body, r#"{"s":"no_data"}"#),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn search_encodes_free_text() {
    let server = MockServer::start().await;
    finnhub("/search")
        .and(query_param("q", "apple inc & co"))
        .respond_with(json(APPLE_SEARCH))
        .expect(1)
        .mount(&server)
        .await;

    let search = client(&server)
        .search("apple inc & co")
        .await
        .unwrap()
        .value;

    assert_eq!(search.count, 4);
    assert_eq!(search.result[0].symbol, "AAPL");
    assert_eq!(search.result[0].display_symbol, "AAPL");
    assert_eq!(search.result[0].kind, "Common Stock");
    assert_eq!(search.result[3].kind, "");
}

#[tokio::test]
async fn earnings_with_and_without_a_symbol_and_null_figures() {
    let server = MockServer::start().await;
    finnhub("/calendar/earnings")
        .and(query_param("symbol", "AAPL"))
        .and(query_param("from", "2024-05-01"))
        .and(query_param("to", "2024-08-31"))
        .respond_with(json(AAPL_EARNINGS))
        .expect(1)
        .mount(&server)
        .await;
    finnhub("/calendar/earnings")
        .and(query_param_is_missing("symbol"))
        .respond_with(json(r#"{"earningsCalendar":[]}"#))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);

    let calendar = client
        .earnings(date("2024-05-01"), date("2024-08-31"), Some(&aapl()))
        .await
        .unwrap()
        .value
        .earnings_calendar;
    assert_eq!(calendar.len(), 2);
    assert_eq!(calendar[0].date, date("2024-05-02"));
    assert_eq!(calendar[0].hour, "amc");
    assert_eq!(calendar[0].eps_actual, Some(1.53));
    assert_eq!(calendar[0].revenue_actual, Some(90_753_000_000.0));
    assert_eq!(calendar[1].eps_actual, None);
    assert_eq!(calendar[1].revenue_actual, None);

    let everyone = client
        .earnings(date("2024-05-01"), date("2024-05-01"), None)
        .await
        .unwrap();
    assert!(everyone.value.earnings_calendar.is_empty());
}

#[tokio::test]
async fn market_holidays_tell_closures_from_short_days() {
    let server = MockServer::start().await;
    finnhub("/stock/market-holiday")
        .and(query_param("exchange", "US"))
        .respond_with(json(US_HOLIDAYS))
        .expect(1)
        .mount(&server)
        .await;

    let holidays = client(&server).market_holidays("US").await.unwrap().value;

    assert_eq!(holidays.timezone.as_deref(), Some("America/New_York"));
    assert_eq!(holidays.data.len(), 3);
    assert_eq!(holidays.data[0].at_date, date("2024-12-25"));
    assert!(holidays.data[0].closed_all_day());
    assert_eq!(holidays.data[1].event_name, "Christmas Eve");
    assert!(!holidays.data[1].closed_all_day());
}

// ----------------------------------------------------------------------------------
// Retries
// ----------------------------------------------------------------------------------

#[tokio::test]
async fn a_429_is_retried_and_counted() {
    let server = MockServer::start().await;
    finnhub("/quote")
        .respond_with(rate_limited())
        .up_to_n_times(1)
        .mount(&server)
        .await;
    finnhub("/quote")
        .respond_with(json(AAPL_QUOTE))
        .mount(&server)
        .await;

    let fetched = client(&server).quote(&aapl()).await.unwrap();

    assert_eq!(fetched.value.c, 189.84);
    assert_eq!((fetched.raw.attempts, fetched.raw.rate_limited), (2, 1));
    assert_eq!(request_count(&server).await, 2);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = MockServer::start().await;
    finnhub("/quote")
        .respond_with(rate_limited().insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    finnhub("/quote")
        .respond_with(json(AAPL_QUOTE))
        .mount(&server)
        .await;

    let started = Instant::now();
    let fetched = client(&server).quote(&aapl()).await.unwrap();

    // The backoff alone would wait 10-20 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(990),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fetched.raw.rate_limited, 1);
}

#[tokio::test]
async fn a_429_that_persists_ends_as_rate_limited_after_the_bound() {
    let server = MockServer::start().await;
    finnhub("/quote")
        .respond_with(rate_limited())
        .mount(&server)
        .await;

    let error = client(&server).quote(&aapl()).await.unwrap_err();

    assert!(
        matches!(error, FinnhubError::RateLimited { attempts } if attempts == MAX_RETRIES + 1),
        "{error:?}"
    );
    assert!(error.is_transient() && !error.stops_the_run());
    assert_eq!(request_count(&server).await, (MAX_RETRIES + 1) as usize);
}

#[tokio::test]
async fn a_500_is_retried() {
    let server = MockServer::start().await;
    finnhub("/stock/profile2")
        .respond_with(ResponseTemplate::new(500).set_body_string("Internal Server Error"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    finnhub("/stock/profile2")
        .respond_with(json(AAPL_PROFILE))
        .mount(&server)
        .await;

    let fetched = client(&server).profile(&aapl()).await.unwrap();

    assert_eq!(fetched.value.ticker.as_deref(), Some("AAPL"));
    assert_eq!((fetched.raw.attempts, fetched.raw.rate_limited), (2, 0));
}

#[tokio::test]
async fn a_timeout_is_retried_then_reported_unavailable() {
    let server = MockServer::start().await;
    finnhub("/quote")
        .respond_with(json(AAPL_QUOTE).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let mut settings = settings(&server);
    settings.request_timeout = Duration::from_millis(200);

    let started = Instant::now();
    let error = client_with(settings, roomy_limiter())
        .quote(&aapl())
        .await
        .unwrap_err();

    let FinnhubError::Unavailable(reason) = &error else {
        panic!("expected Unavailable, got {error:?}");
    };
    assert!(reason.contains("timed out"), "{reason}");
    assert!(
        reason.contains(&format!("after {} attempts", MAX_RETRIES + 1)),
        "{reason}"
    );
    assert_eq!(request_count(&server).await, (MAX_RETRIES + 1) as usize);
    // Each attempt was cut at the timeout, not left to the server's 3 s.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retries_wait_for_the_limiter_too() {
    let server = MockServer::start().await;
    let limited = Clocked::new(rate_limited());
    let ok = Clocked::new(json(AAPL_QUOTE));
    finnhub("/quote")
        .respond_with(limited.clone())
        .up_to_n_times(1)
        .mount(&server)
        .await;
    finnhub("/quote")
        .respond_with(ok.clone())
        .mount(&server)
        .await;
    // Two calls a second, evenly spaced: the retry may not come sooner than 0.5 s
    // after the first attempt, whatever the 10 ms backoff says.
    let limiter = FinnhubLimiter::new(LimiterConfig {
        calls_per_minute: nz(6_000),
        minute_burst: nz(1),
        calls_per_second: nz(2),
        second_burst: nz(1),
    });

    client_with(settings(&server), limiter)
        .quote(&aapl())
        .await
        .unwrap();

    let gap = ok.arrivals()[0] - limited.arrivals()[0];
    assert!(gap >= Duration::from_millis(450), "{gap:?}");
}

// ----------------------------------------------------------------------------------
// Answers that are not data
// ----------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_json_is_bad_data_with_serdes_reason() {
    let server = MockServer::start().await;
    finnhub("/quote")
        .and(query_param("symbol", "AAPL"))
        .respond_with(json(r#"{"c":189.84,"d":1.53,"dp":"#))
        .mount(&server)
        .await;
    finnhub("/quote")
        .and(query_param("symbol", "MSFT"))
        .respond_with(json(r#"{"c":"n/a","h":0,"l":0,"o":0,"pc":0,"t":0}"#))
        .mount(&server)
        .await;
    let client = client(&server);

    let error = client.quote(&aapl()).await.unwrap_err();
    let FinnhubError::BadData { reason, raw } = &error else {
        panic!("expected BadData, got {error:?}");
    };
    assert!(reason.contains("EOF"), "{reason}");
    assert_eq!(
        raw.body, r#"{"c":189.84,"d":1.53,"dp":"#,
        "kept for the audit"
    );

    let error = client
        .quote(&Symbol::parse("MSFT").unwrap())
        .await
        .unwrap_err();
    let FinnhubError::BadData { reason, .. } = &error else {
        panic!("expected BadData, got {error:?}");
    };
    assert!(reason.contains("invalid type"), "{reason}");
    // Not retried: the same request would get the same answer.
    assert_eq!(request_count(&server).await, 2);
}

#[tokio::test]
async fn an_all_zero_quote_is_no_data_never_a_price_of_zero() {
    let server = MockServer::start().await;
    finnhub("/quote")
        .respond_with(json(UNKNOWN_QUOTE))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server)
        .quote(&Symbol::parse("ZZZZZ").unwrap())
        .await
        .unwrap_err();

    let FinnhubError::NoData { raw } = &error else {
        panic!("expected NoData, got {error:?}");
    };
    assert_eq!(raw.body, UNKNOWN_QUOTE);
    assert_eq!(raw.params, vec![("symbol".into(), "ZZZZZ".into())]);
    assert!(!error.is_transient() && !error.stops_the_run());
}

#[tokio::test]
async fn an_empty_profile_is_no_data() {
    let server = MockServer::start().await;
    finnhub("/stock/profile2")
        .respond_with(json("{}"))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server)
        .profile(&Symbol::parse("ZZZZZ").unwrap())
        .await
        .unwrap_err();

    assert!(matches!(error, FinnhubError::NoData { .. }), "{error:?}");
    assert_eq!(error.raw().map(|r| r.body.as_str()), Some("{}"));
}

#[tokio::test]
async fn a_refused_key_stops_at_once() {
    let server = MockServer::start().await;
    finnhub("/quote")
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_raw(r#"{"error":"Invalid API key."}"#, "application/json"),
        )
        .mount(&server)
        .await;

    let error = client(&server).quote(&aapl()).await.unwrap_err();

    assert!(
        matches!(error, FinnhubError::BadApiKey { status: 401 }),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "Finnhub refused the API key (HTTP 401)");
    assert!(error.stops_the_run());
    assert_eq!(request_count(&server).await, 1, "never retried");
}

#[tokio::test]
async fn data_outside_the_plan_is_not_a_bad_key() {
    // Finnhub's answer for, e.g., a non-US symbol on the free plan.
    let server = MockServer::start().await;
    finnhub("/stock/profile2")
        .respond_with(ResponseTemplate::new(403).set_body_raw(
            r#"{"error":"You don't have access to this resource."}"#,
            "application/json",
        ))
        .mount(&server)
        .await;

    let error = client(&server)
        .profile(&Symbol::parse("0700.HK").unwrap())
        .await
        .unwrap_err();

    assert!(
        matches!(&error, FinnhubError::NoAccess { status: 403, path } if path == "/stock/profile2"),
        "{error:?}"
    );
    assert!(!error.stops_the_run() && !error.is_transient());
    assert_eq!(request_count(&server).await, 1, "never retried");
}

#[tokio::test]
async fn other_client_errors_are_rejected_without_retrying() {
    let server = MockServer::start().await;
    finnhub("/calendar/earnings")
        .respond_with(
            ResponseTemplate::new(422)
                .set_body_raw(r#"{"error":"Wrong date format."}"#, "application/json"),
        )
        .mount(&server)
        .await;

    let error = client(&server)
        .earnings(date("2024-05-01"), date("2024-05-03"), None)
        .await
        .unwrap_err();

    assert!(
        matches!(&error, FinnhubError::Rejected { status: 422, body } if body.contains("Wrong date format")),
        "{error:?}"
    );
    assert_eq!(request_count(&server).await, 1);
}

#[tokio::test]
async fn without_a_key_nothing_is_sent() {
    let server = MockServer::start().await;
    let mut settings = settings(&server);
    settings.api_key = None;

    let error = client_with(settings, roomy_limiter())
        .quote(&aapl())
        .await
        .unwrap_err();

    assert!(matches!(error, FinnhubError::NoApiKey), "{error:?}");
    assert_eq!(request_count(&server).await, 0);
}

// ----------------------------------------------------------------------------------
// The token
// ----------------------------------------------------------------------------------

#[tokio::test]
async fn the_token_goes_in_the_query_and_never_into_an_error() {
    let server = MockServer::start().await;
    // Only requests carrying the token match (`finnhub()`); anything else would get
    // wiremock's 404 and fail the happy path below.
    finnhub("/quote")
        .and(query_param("symbol", "AAPL"))
        .respond_with(json(AAPL_QUOTE))
        .mount(&server)
        .await;
    let errors_for = [
        (
            "KEY401",
            ResponseTemplate::new(401).set_body_string(format!("Invalid API key {KEY}")),
        ),
        (
            "NOPLAN",
            ResponseTemplate::new(403).set_body_string("You don't have access to this resource."),
        ),
        // A server that echoes the request back must not smuggle the key out.
        (
            "ECHO",
            ResponseTemplate::new(400).set_body_string(format!("bad request: /quote?token={KEY}")),
        ),
        ("LIMIT", rate_limited()),
        (
            "DOWN",
            ResponseTemplate::new(503).set_body_string(format!("down {KEY}")),
        ),
        ("SLOW", json(AAPL_QUOTE).set_delay(Duration::from_secs(3))),
        ("BROKEN", json("<html>oops</html>")),
        ("ZERO", json(UNKNOWN_QUOTE)),
    ];
    for (symbol, template) in &errors_for {
        finnhub("/quote")
            .and(query_param("symbol", *symbol))
            .respond_with(template.clone())
            .mount(&server)
            .await;
    }
    let mut settings = settings(&server);
    settings.request_timeout = Duration::from_millis(200);
    let client = client_with(settings, roomy_limiter());

    let fetched = client.quote(&aapl()).await.unwrap();
    assert!(!format!("{:?}", fetched.raw).contains(KEY));
    assert!(!serde_json::to_string(&fetched.raw).unwrap().contains(KEY));
    assert!(!format!("{client:?}").contains(KEY));

    let mut errors = Vec::new();
    for (symbol, _) in &errors_for {
        errors.push(
            client
                .quote(&Symbol::parse(symbol).unwrap())
                .await
                .unwrap_err(),
        );
    }
    // Nothing listening: reqwest's own message for this names the full URL.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut unreachable = FinnhubSettings::new(
        Url::parse(&format!("http://127.0.0.1:{closed}/api/v1")).unwrap(),
        Some(SecretString::from(KEY)),
    );
    unreachable.retry.max_retries = 0;
    errors.push(
        client_with(unreachable, roomy_limiter())
            .quote(&aapl())
            .await
            .unwrap_err(),
    );

    let kinds: Vec<&str> = errors
        .iter()
        .map(|e| match e {
            FinnhubError::BadApiKey { .. } => "BadApiKey",
            FinnhubError::NoAccess { .. } => "NoAccess",
            FinnhubError::Rejected { .. } => "Rejected",
            FinnhubError::RateLimited { .. } => "RateLimited",
            FinnhubError::Unavailable(_) => "Unavailable",
            FinnhubError::BadData { .. } => "BadData",
            FinnhubError::NoData { .. } => "NoData",
            FinnhubError::NoApiKey => "NoApiKey",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "BadApiKey",
            "NoAccess",
            "Rejected",
            "RateLimited",
            "Unavailable",
            "Unavailable",
            "BadData",
            "NoData",
            "Unavailable"
        ]
    );
    for error in &errors {
        let shown = format!("{error} / {error:?}");
        assert!(!shown.contains(KEY), "the key leaked: {shown}");
    }
    // The echo was kept, minus the key.
    assert!(
        errors[2].to_string().contains("token=[redacted]"),
        "{}",
        errors[2]
    );
    assert!(
        errors[8].to_string().contains("could not connect"),
        "{}",
        errors[8]
    );
}

// ----------------------------------------------------------------------------------
// The shared limiter, in real time
// ----------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_from_clients_sharing_a_limiter_respect_the_per_second_cap() {
    let server = MockServer::start().await;
    let clocked = Clocked::new(json(AAPL_QUOTE));
    finnhub("/quote")
        .respond_with(clocked.clone())
        .mount(&server)
        .await;
    // The per-minute budget is roomy here; the per-second cap (10, burst 2) binds.
    let limiter = FinnhubLimiter::new(LimiterConfig {
        calls_per_minute: nz(6_000),
        minute_burst: nz(1),
        calls_per_second: nz(10),
        second_burst: nz(2),
    });
    // Two clients, as two workers of one process would hold: one budget.
    let clients = [
        Arc::new(client_with(settings(&server), limiter.clone())),
        Arc::new(client_with(settings(&server), limiter.clone())),
    ];
    const CALLS: u32 = 20;

    let started = Instant::now();
    let calls = (0..CALLS).map(|i| {
        let client = Arc::clone(&clients[i as usize % 2]);
        tokio::spawn(async move { client.quote(&aapl()).await })
    });
    for call in futures_util::future::join_all(calls).await {
        call.unwrap().unwrap();
    }
    let elapsed = started.elapsed();

    // A burst of 2, then the other 18 spaced 1/9 s apart, keeps any second at 10.
    let floor = Duration::from_secs(1) * (CALLS - 2) / 9;
    assert!(elapsed >= floor - Duration::from_millis(20), "{elapsed:?}");
    let arrivals = clocked.arrivals();
    assert_eq!(arrivals.len(), CALLS as usize);
    // A little under a second, so scheduling noise on a busy machine cannot push a
    // call that was due exactly one second later into the window.
    let most = most_in_any_window(&arrivals, Duration::from_millis(950));
    assert!(most <= 10, "{most} calls within one second");
}

#[tokio::test]
async fn the_per_minute_budget_allows_its_burst_then_spaces_calls() {
    let server = MockServer::start().await;
    let clocked = Clocked::new(json(AAPL_QUOTE));
    finnhub("/quote")
        .respond_with(clocked.clone())
        .mount(&server)
        .await;
    // 120 a minute with a burst of 3: three at once, then one every 60/118 s.
    let limiter = FinnhubLimiter::new(LimiterConfig {
        minute_burst: nz(3),
        ..LimiterConfig::per_minute(nz(120))
    });
    let client = Arc::new(client_with(settings(&server), limiter));

    let calls = (0..6).map(|_| {
        let client = Arc::clone(&client);
        tokio::spawn(async move { client.quote(&aapl()).await })
    });
    for call in futures_util::future::join_all(calls).await {
        call.unwrap().unwrap();
    }

    let arrivals = clocked.arrivals();
    let since_first: Vec<Duration> = arrivals.iter().map(|t| *t - arrivals[0]).collect();
    assert!(
        since_first[2] < Duration::from_millis(300),
        "{since_first:?}"
    );
    let spacing = Duration::from_secs(60) / 118;
    assert!(
        since_first[5] >= spacing * 3 - Duration::from_millis(20),
        "{since_first:?}"
    );
}
