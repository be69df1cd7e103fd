//! The HTTP side: Finnhub's paths, parameters, token check and error shape.

use std::net::{Ipv4Addr, SocketAddr};

use axum::Json;
use axum::Router;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::calendar::{new_york_date, nyse_holidays};
use super::candles::{SampleCandles, daily_candles};
use super::earnings::earnings_calendar;
use super::news::{NewsItem, company_news, general_news};
use super::prices::{latest_closed_session, quote_on};
use super::symbols::{SAMPLE_SYMBOLS, SampleSymbol, lookup};
use super::{round_to, ymd};

/// Where the sample server takes "now" from: the system clock in service, a fixed
/// instant in tests and demos that must give the same answers every time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The current time.
    System,
    /// Always this instant.
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// The clock's current instant.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(at) => *at,
        }
    }
}

/// The sample Finnhub API at the root (`/quote`, `/stock/profile2`, ...), on the system
/// clock. Point the Finnhub client's base URL at wherever this is served.
pub fn router() -> Router {
    router_with_clock(Clock::System)
}

/// [`router`] with "now" taken from `clock`, so answers can be pinned to a date.
pub fn router_with_clock(clock: Clock) -> Router {
    Router::new()
        .route("/quote", get(quote))
        .route("/stock/profile2", get(profile))
        .route("/company-news", get(company_news_handler))
        .route("/news", get(general_news_handler))
        .route("/search", get(search))
        .route("/calendar/earnings", get(earnings))
        .route("/stock/market-holiday", get(market_holidays))
        .route("/stock/candle", get(candles))
        .fallback(not_found)
        // Outermost, so an unknown path without a token is a 401 as on Finnhub.
        .layer(middleware::from_fn(require_token))
        .with_state(clock)
}

/// Serves [`router`] on `listener` until the task is dropped or the listener fails.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router()).await
}

/// Binds `127.0.0.1:0` and serves [`router`] in the background. Returns the address
/// (use `http://{addr}` as the Finnhub base URL) and the serving task; aborting the
/// task stops the server.
pub async fn spawn_local() -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    spawn_local_with_clock(Clock::System).await
}

/// [`spawn_local`] with "now" taken from `clock`.
pub async fn spawn_local_with_clock(clock: Clock) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let app = router_with_clock(clock);
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "sample market data server stopped");
        }
    });
    Ok((addr, task))
}

/// A refused request, answered in Finnhub's error shape: a 4xx and `{"error": "..."}`.
#[derive(Debug)]
struct Rejection {
    status: StatusCode,
    message: String,
}

impl Rejection {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Rejection {
            status,
            message: message.into(),
        }
    }

    fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

type Answer = Result<Response, Rejection>;

async fn not_found() -> Rejection {
    Rejection::new(StatusCode::NOT_FOUND, "Not found.")
}

/// Query parameters, decoded leniently: bad percent-encoding is replaced rather than
/// refused, so no query string can produce a non-JSON rejection. The first occurrence
/// of a repeated name wins.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: Option<&str>) -> Self {
        Params(
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The trimmed value of `name`, if present and not blank.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The date in `name`, if given; a value that is not `YYYY-MM-DD` is refused.
    fn date(&self, name: &str) -> Result<Option<NaiveDate>, Rejection> {
        self.get(name)
            .map(|raw| {
                parse_date(raw).ok_or_else(|| {
                    Rejection::unprocessable(format!(
                        "Wrong date format for '{name}'. Use YYYY-MM-DD."
                    ))
                })
            })
            .transpose()
    }

    fn symbol(&self) -> Result<&str, Rejection> {
        self.get("symbol")
            .ok_or_else(|| Rejection::unprocessable("Missing required parameter: symbol."))
    }
}

/// Strictly `YYYY-MM-DD`: chrono alone would also take `2026-1-5` or `+2026-01-05`.
pub(super) fn parse_date(raw: &str) -> Option<NaiveDate> {
    let shaped = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    shaped
        .then(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok())
        .flatten()
}

/// Any non-blank `token`, in the query (how the Finnhub client sends it) or in the
/// `X-Finnhub-Token` header (which Finnhub also accepts).
async fn require_token(request: Request, next: Next) -> Response {
    let in_query = Params::parse(request.uri().query()).get("token").is_some();
    let in_header = header_token(request.headers());
    if in_query || in_header {
        next.run(request).await
    } else {
        Rejection::new(StatusCode::UNAUTHORIZED, "Invalid API key.").into_response()
    }
}

fn header_token(headers: &HeaderMap) -> bool {
    headers
        .get("x-finnhub-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().is_empty())
}

/// `GET /quote?symbol=`
async fn quote(State(clock): State<Clock>, RawQuery(raw): RawQuery) -> Answer {
    let params = Params::parse(raw.as_deref());
    Ok(match lookup(params.symbol()?) {
        Some((_, entry)) => {
            Json(quote_on(entry, latest_closed_session(clock.now()))).into_response()
        }
        // Finnhub's answer for a symbol it has no data for, integers and all.
        None => Json(json!({
            "c": 0, "d": null, "dp": null, "h": 0, "l": 0, "o": 0, "pc": 0, "t": 0
        }))
        .into_response(),
    })
}

/// `GET /stock/candle?symbol=&resolution=D&from=&to=` (unix seconds). Only daily bars
/// are modelled: another resolution, like an unknown symbol, has no data.
async fn candles(State(clock): State<Clock>, RawQuery(raw): RawQuery) -> Answer {
    let params = Params::parse(raw.as_deref());
    let symbol = params.symbol()?;
    let resolution = params
        .get("resolution")
        .ok_or_else(|| Rejection::unprocessable("Missing required parameter: resolution."))?;
    let unix = |name: &str| {
        params
            .get(name)
            .ok_or_else(|| {
                Rejection::unprocessable(format!("Missing required parameter: {name}."))
            })?
            .parse::<i64>()
            .map_err(|_| {
                Rejection::unprocessable(format!("Wrong format for '{name}'. Use unix seconds."))
            })
    };
    let (from, to) = (unix("from")?, unix("to")?);
    let answer = match lookup(symbol) {
        Some((_, entry)) if resolution == "D" => daily_candles(entry, from, to, clock.now()),
        _ => SampleCandles::no_data(),
    };
    Ok(Json(answer).into_response())
}

/// `GET /stock/profile2?symbol=`
async fn profile(State(clock): State<Clock>, RawQuery(raw): RawQuery) -> Answer {
    let params = Params::parse(raw.as_deref());
    let Some((index, entry)) = lookup(params.symbol()?) else {
        return Ok(Json(json!({})).into_response());
    };
    let price = quote_on(entry, latest_closed_session(clock.now())).c;
    Ok(Json(json!({
        "country": "US",
        "currency": "USD",
        "exchange": entry.exchange,
        "finnhubIndustry": entry.industry,
        "ipo": entry.ipo,
        "logo": "",
        "marketCapitalization": round_to(price * entry.shares_outstanding, 2),
        "name": entry.name,
        // 555-0100..555-0199 are reserved for fiction: never someone's real number.
        "phone": format!("1800555{:04}", 100 + index),
        "shareOutstanding": entry.shares_outstanding,
        "ticker": entry.symbol,
        "weburl": format!(
            "https://example.com/quotidian-sample/company/{}",
            entry.symbol.to_ascii_lowercase()
        ),
    }))
    .into_response())
}

/// `GET /company-news?symbol=&from=&to=`: all three are required, as on Finnhub.
async fn company_news_handler(State(clock): State<Clock>, RawQuery(raw): RawQuery) -> Answer {
    let params = Params::parse(raw.as_deref());
    let symbol = params.symbol()?;
    let (Some(from), Some(to)) = (params.date("from")?, params.date("to")?) else {
        return Err(Rejection::unprocessable(
            "Missing required parameters: from and to (YYYY-MM-DD).",
        ));
    };
    let items = match lookup(symbol) {
        Some((index, entry)) => company_news(index, entry, from, to, clock.now()),
        None => Vec::new(),
    };
    Ok(Json(items).into_response())
}

/// `GET /news?category=general[&minId=]`
async fn general_news_handler(State(clock): State<Clock>, RawQuery(raw): RawQuery) -> Answer {
    let params = Params::parse(raw.as_deref());
    let category = params
        .get("category")
        .ok_or_else(|| Rejection::unprocessable("Missing required parameter: category."))?;
    let min_id = params
        .get("minId")
        .map(str::parse::<i64>)
        .transpose()
        .map_err(|_| Rejection::unprocessable("Wrong format for 'minId'. Use an integer."))?
        .unwrap_or(0);
    // Only general news is generated; Finnhub's other categories (forex, crypto,
    // merger) answer an empty list rather than pretend.
    let items: Vec<NewsItem> = if category.eq_ignore_ascii_case("general") {
        general_news(clock.now())
            .into_iter()
            .filter(|item| item.id > min_id)
            .collect()
    } else {
        Vec::new()
    };
    Ok(Json(items).into_response())
}

/// `GET /search?q=`: a blank or missing query matches nothing.
async fn search(RawQuery(raw): RawQuery) -> Answer {
    let params = Params::parse(raw.as_deref());
    let query = params.get("q").unwrap_or_default().to_lowercase();
    let mut hits: Vec<(u8, &SampleSymbol)> = Vec::new();
    if !query.is_empty() {
        for entry in SAMPLE_SYMBOLS {
            let ticker = entry.symbol.to_lowercase();
            // Best match first: the exact ticker, then ticker prefixes, then names.
            let rank = if ticker == query {
                0
            } else if ticker.starts_with(&query) {
                1
            } else if entry.name.to_lowercase().contains(&query) {
                2
            } else {
                continue;
            };
            hits.push((rank, entry));
        }
    }
    hits.sort_by_key(|(rank, _)| *rank);
    let result: Vec<_> = hits
        .iter()
        .map(|(_, entry)| {
            json!({
                // Finnhub's search descriptions are upper case.
                "description": entry.name.to_uppercase(),
                "displaySymbol": entry.symbol,
                "symbol": entry.symbol,
                "type": "Common Stock",
            })
        })
        .collect();
    Ok(Json(json!({ "count": result.len(), "result": result })).into_response())
}

/// `GET /calendar/earnings?from=&to=[&symbol=]`. Finnhub treats every parameter as
/// optional; missing dates default to the coming 30 days.
async fn earnings(State(clock): State<Clock>, RawQuery(raw): RawQuery) -> Answer {
    let params = Params::parse(raw.as_deref());
    let today = new_york_date(clock.now());
    let from = params.date("from")?.unwrap_or(today);
    let to = match params.date("to")? {
        Some(to) => to,
        None => from.checked_add_days(Days::new(30)).unwrap_or(from),
    };
    let symbols: Vec<(usize, &SampleSymbol)> = match params.get("symbol") {
        Some(symbol) => lookup(symbol).into_iter().collect(),
        None => SAMPLE_SYMBOLS.iter().enumerate().collect(),
    };
    let calendar = earnings_calendar(&symbols, from, to, today);
    Ok(Json(json!({ "earningsCalendar": calendar })).into_response())
}

/// The years `/stock/market-holiday` lists: 2025 to 2027 at least, and always through
/// the year after "now", since Finnhub lists coming holidays as well as recent ones.
/// The cap only bounds the answer if the clock is absurd.
fn holiday_years(today: NaiveDate) -> std::ops::RangeInclusive<i32> {
    2025..=today.year().saturating_add(1).clamp(2027, 2100)
}

/// `GET /stock/market-holiday?exchange=US`
async fn market_holidays(State(clock): State<Clock>, RawQuery(raw): RawQuery) -> Answer {
    let params = Params::parse(raw.as_deref());
    let exchange = params
        .get("exchange")
        .ok_or_else(|| Rejection::unprocessable("Missing required parameter: exchange."))?;
    if !exchange.eq_ignore_ascii_case("US") {
        // Only the US calendar is modelled; other exchanges get an empty list rather
        // than made-up closures.
        let body = json!({ "data": [], "exchange": exchange, "timezone": "" });
        return Ok(Json(body).into_response());
    }
    let mut data: Vec<_> = holiday_years(new_york_date(clock.now()))
        .flat_map(nyse_holidays)
        .collect();
    // Newest first, the order Finnhub lists them in.
    data.sort_by_key(|(date, _)| std::cmp::Reverse(*date));
    let data: Vec<_> = data
        .into_iter()
        .map(|(date, name)| json!({ "atDate": ymd(date), "eventName": name, "tradingHour": "" }))
        .collect();
    let body = json!({ "data": data, "exchange": "US", "timezone": "America/New_York" });
    Ok(Json(body).into_response())
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_market::test_dates::date;

    #[test]
    fn dates_are_parsed_strictly() {
        assert_eq!(parse_date("2026-01-05"), Some(date("2026-01-05")));
        for bad in [
            "2026-1-5",
            "+2026-01-05",
            "2026-02-30",
            "20260105",
            "",
            "2026-01-05x",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
