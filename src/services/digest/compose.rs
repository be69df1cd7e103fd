//! Digest input to an HTML and a plain-text part.

use askama::Template;
use chrono::NaiveDate;

use crate::domain::market::{EarningRow, NewsRow, ProfileRow, QuoteRow};

/// Headlines per ticker.
const MAX_NEWS: usize = 3;
const MAX_MOVERS: usize = 3;

/// Everything one digest shows; built by `input_for` or by tests.
#[derive(Debug, Clone)]
pub struct DigestInput {
    /// The recipient's local date the digest is for.
    pub local_date: NaiveDate,
    /// Shown with a "sample data" notice.
    pub sample: bool,
    /// In watchlist order.
    pub tickers: Vec<TickerInput>,
    /// The one-click unsubscribe page for this person, shown in the footer.
    pub unsubscribe_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TickerInput {
    pub symbol: String,
    pub profile: Option<ProfileRow>,
    /// `None`: the price could not be fetched; shown as "data unavailable".
    pub quote: Option<QuoteRow>,
    /// Newest first; the first three are shown.
    pub news: Vec<NewsRow>,
    pub next_earnings: Option<EarningRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Composed {
    pub subject: String,
    pub html: String,
    pub text: String,
}

struct QuoteView {
    price: String,
    change: String,
    change_percent: String,
    color: &'static str,
    open: String,
    previous_close: String,
    high: String,
    low: String,
    as_of: String,
}

struct NewsView {
    headline: String,
    source: String,
    url: String,
}

struct TickerView {
    symbol: String,
    name: String,
    logo: Option<String>,
    market_cap: String,
    quote: Option<QuoteView>,
    earnings: Option<String>,
    news: Vec<NewsView>,
}

#[derive(Template)]
#[template(path = "digest.html")]
struct HtmlPart<'a> {
    subject: &'a str,
    date_label: &'a str,
    sample: bool,
    movers: &'a str,
    tickers: &'a [TickerView],
    unsubscribe_url: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "digest.txt")]
struct TextPart<'a> {
    date_label: &'a str,
    sample: bool,
    movers: &'a str,
    tickers: &'a [TickerView],
    unsubscribe_url: Option<&'a str>,
}

fn money(value: f64, currency: Option<&str>) -> String {
    match currency.unwrap_or("USD") {
        "USD" => format!("${value:.2}"),
        other => format!("{value:.2} {other}"),
    }
}

fn signed(value: f64, decimals: usize) -> String {
    // A real minus sign reads better than a hyphen next to digits.
    if value < 0.0 {
        format!("\u{2212}{:.*}", decimals, -value)
    } else {
        format!("+{value:.decimals$}")
    }
}

fn market_cap(millions: Option<f64>, currency: Option<&str>) -> String {
    let Some(m) = millions else {
        return "n/a".into();
    };
    let symbol = if currency.unwrap_or("USD") == "USD" {
        "$"
    } else {
        ""
    };
    let suffix = if currency.unwrap_or("USD") == "USD" {
        String::new()
    } else {
        format!(" {}", currency.unwrap_or_default())
    };
    let shown = if m >= 1_000_000.0 {
        format!("{symbol}{:.2}T", m / 1_000_000.0)
    } else if m >= 1_000.0 {
        format!("{symbol}{:.1}B", m / 1_000.0)
    } else {
        format!("{symbol}{m:.0}M")
    };
    format!("{shown}{suffix}")
}

fn earnings_label(e: &EarningRow) -> String {
    let when = match e.hour.as_deref() {
        Some("bmo") => ", before the market opens",
        Some("amc") => ", after the market closes",
        Some("dmh") => ", during market hours",
        _ => "",
    };
    let estimate = e
        .eps_estimate
        .map(|eps| format!(" (EPS estimate {eps:.2})"))
        .unwrap_or_default();
    format!("{}{when}{estimate}", e.report_date.format("%a %-d %b"))
}

fn view(t: &TickerInput) -> TickerView {
    let currency = t.profile.as_ref().and_then(|p| p.currency.as_deref());
    let quote = t.quote.as_ref().map(|q| {
        let change = q.change.unwrap_or(q.price - q.previous_close);
        let percent = q.change_percent.unwrap_or_else(|| {
            if q.previous_close > 0.0 {
                change / q.previous_close * 100.0
            } else {
                0.0
            }
        });
        QuoteView {
            price: money(q.price, currency),
            change: signed(change, 2),
            change_percent: format!("{}%", signed(percent, 2)),
            color: if change < 0.0 { "#b42318" } else { "#067647" },
            open: money(q.open, currency),
            previous_close: money(q.previous_close, currency),
            high: money(q.high, currency),
            low: money(q.low, currency),
            as_of: q.trading_day.format("%a %-d %b").to_string(),
        }
    });
    TickerView {
        symbol: t.symbol.clone(),
        name: t
            .profile
            .as_ref()
            .map_or_else(|| t.symbol.clone(), |p| p.name.clone()),
        logo: t
            .profile
            .as_ref()
            .and_then(|p| p.logo.clone())
            .filter(|l| l.starts_with("https://")),
        market_cap: market_cap(
            t.profile.as_ref().and_then(|p| p.market_cap_millions),
            currency,
        ),
        quote,
        earnings: t.next_earnings.as_ref().map(earnings_label),
        news: t
            .news
            .iter()
            .filter(|n| n.url.starts_with("https://") || n.url.starts_with("http://"))
            .take(MAX_NEWS)
            .map(|n| NewsView {
                headline: n.headline.clone(),
                source: if n.source.is_empty() {
                    "source unknown".into()
                } else {
                    n.source.clone()
                },
                url: n.url.clone(),
            })
            .collect(),
    }
}

/// The biggest moves, by absolute percentage, among tickers with a price.
fn movers(tickers: &[TickerInput]) -> String {
    let mut moves: Vec<(&str, f64)> = tickers
        .iter()
        .filter_map(|t| {
            let q = t.quote.as_ref()?;
            let pct = q.change_percent.or_else(|| {
                (q.previous_close > 0.0)
                    .then(|| (q.price - q.previous_close) / q.previous_close * 100.0)
            })?;
            Some((t.symbol.as_str(), pct))
        })
        .collect();
    if moves.is_empty() {
        return "no prices are available today".into();
    }
    moves.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(b.0)));
    moves
        .iter()
        .take(MAX_MOVERS)
        .map(|(s, pct)| format!("{s} {}%", signed(*pct, 2)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Renders the digest. Fails only if a template fails to render, which a compiled
/// template does not do for these types; the error is still propagated, not unwrapped.
pub fn compose(input: &DigestInput) -> anyhow::Result<Composed> {
    let tickers: Vec<TickerView> = input.tickers.iter().map(view).collect();
    let movers = movers(&input.tickers);
    let date_label = input.local_date.format("%A %-d %B %Y").to_string();
    let subject = if input.tickers.is_empty() {
        format!(
            "Your Quotidian digest for {}",
            input.local_date.format("%a %-d %b")
        )
    } else {
        format!(
            "Quotidian {}: {}",
            input.local_date.format("%a %-d %b"),
            movers
        )
    };
    let subject = if input.sample {
        format!("[Sample data] {subject}")
    } else {
        subject
    };
    let html = HtmlPart {
        subject: &subject,
        date_label: &date_label,
        sample: input.sample,
        movers: &movers,
        tickers: &tickers,
        unsubscribe_url: input.unsubscribe_url.as_deref(),
    }
    .render()?;
    let text = TextPart {
        date_label: &date_label,
        sample: input.sample,
        movers: &movers,
        tickers: &tickers,
        unsubscribe_url: input.unsubscribe_url.as_deref(),
    }
    .render()?;
    Ok(Composed {
        subject,
        html,
        text,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone as _, Utc};

    use super::*;

    fn quote(symbol: &str, price: f64, pc: f64) -> QuoteRow {
        QuoteRow {
            symbol: symbol.into(),
            trading_day: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            price,
            change: Some(((price - pc) * 100.0).round() / 100.0),
            change_percent: Some(((price - pc) / pc * 10_000.0).round() / 100.0),
            high: price.max(pc) + 1.0,
            low: price.min(pc) - 1.0,
            open: pc + 0.5,
            previous_close: pc,
            quoted_at: Utc.with_ymd_and_hms(2026, 11, 20, 21, 0, 0).unwrap(),
        }
    }

    fn profile(symbol: &str, name: &str, cap: f64) -> ProfileRow {
        ProfileRow {
            symbol: symbol.into(),
            name: name.into(),
            exchange: Some("NASDAQ".into()),
            country: Some("US".into()),
            currency: Some("USD".into()),
            industry: Some("Technology".into()),
            ipo: None,
            logo: Some(format!("https://example.com/{symbol}.png")),
            web_url: None,
            market_cap_millions: Some(cap),
            shares_outstanding: None,
        }
    }

    fn news(symbol: &str, id: i64, headline: &str) -> NewsRow {
        NewsRow {
            id,
            symbol: symbol.into(),
            headline: headline.into(),
            source: "Reuters".into(),
            url: format!("https://example.com/news/{id}"),
            summary: String::new(),
            image: None,
            category: None,
            published_at: Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap(),
        }
    }

    fn input() -> DigestInput {
        DigestInput {
            local_date: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
            sample: false,
            unsubscribe_url: Some("https://quotidian.example/unsubscribe?token=abc&amp=1".into()),
            tickers: vec![
                TickerInput {
                    symbol: "AAPL".into(),
                    profile: Some(profile("AAPL", "Apple Inc", 3_879_324.4)),
                    quote: Some(quote("AAPL", 261.41, 263.58)),
                    news: vec![
                        news("AAPL", 1, "Apple <b>ships</b> & \"delights\""),
                        news("AAPL", 2, "Second"),
                        news("AAPL", 3, "Third"),
                        news("AAPL", 4, "Fourth is not shown"),
                    ],
                    next_earnings: None,
                },
                TickerInput {
                    symbol: "NVDA".into(),
                    profile: Some(profile("NVDA", "NVIDIA Corp", 4_499_604.0)),
                    quote: Some(quote("NVDA", 184.41, 178.0)),
                    news: vec![],
                    next_earnings: Some(EarningRow {
                        symbol: "NVDA".into(),
                        report_date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
                        hour: Some("amc".into()),
                        year: Some(2026),
                        quarter: Some(3),
                        eps_estimate: Some(1.52),
                        eps_actual: None,
                        revenue_estimate: None,
                        revenue_actual: None,
                    }),
                },
                TickerInput {
                    symbol: "ZZZZ".into(),
                    profile: None,
                    quote: None,
                    news: vec![],
                    next_earnings: None,
                },
            ],
        }
    }

    #[test]
    fn the_html_part_is_pinned() {
        insta::assert_snapshot!("digest_html", compose(&input()).unwrap().html);
    }

    #[test]
    fn the_text_part_is_pinned() {
        insta::assert_snapshot!("digest_text", compose(&input()).unwrap().text);
    }

    #[test]
    fn movers_lead_and_missing_data_is_never_a_zero_price() {
        let digest = compose(&input()).unwrap();
        assert_eq!(
            digest.subject,
            "Quotidian Sat 21 Nov: NVDA +3.60%, AAPL \u{2212}0.82%"
        );
        for part in [&digest.html, &digest.text] {
            assert!(part.contains("Data unavailable"), "{part}");
            assert!(!part.contains("$0.00"));
            assert!(part.contains("$261.41"));
            assert!(part.contains("$3.88T"));
            assert!(
                !part.contains("Fourth is not shown"),
                "at most three headlines"
            );
            assert!(part.contains("Tue 24 Nov, after the market closes (EPS estimate 1.52)"));
        }
    }

    #[test]
    fn headlines_are_escaped_in_html_and_plain_in_text() {
        let digest = compose(&input()).unwrap();
        assert!(
            digest
                .html
                .contains("Apple &#60;b&#62;ships&#60;/b&#62; &#38; &#34;delights&#34;"),
            "{}",
            digest.html
        );
        assert!(!digest.html.contains("<b>ships</b>"));
        assert!(digest.text.contains("Apple <b>ships</b> & \"delights\""));
    }

    #[test]
    fn sample_data_is_labelled_and_an_empty_list_says_so() {
        let mut sample = input();
        sample.sample = true;
        let digest = compose(&sample).unwrap();
        assert!(digest.subject.starts_with("[Sample data]"));
        assert!(digest.html.contains("Sample data:"));
        assert!(digest.text.contains("SAMPLE DATA"));
        let empty = DigestInput {
            tickers: vec![],
            ..input()
        };
        let digest = compose(&empty).unwrap();
        assert!(digest.text.contains("Your watchlist is empty"));
    }
}
