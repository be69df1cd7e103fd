//! The companies the sample server knows about.

/// Exchange name Finnhub gives Nasdaq-listed companies in `/stock/profile2`.
const NASDAQ: &str = "NASDAQ NMS - GLOBAL MARKET";
/// Exchange name Finnhub gives NYSE-listed companies in `/stock/profile2`.
const NYSE: &str = "NEW YORK STOCK EXCHANGE, INC.";

/// One company the sample server knows about.
///
/// The figures are rounded, real-looking values (late 2025), not live data; prices
/// wander around `base_price` from day to day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleSymbol {
    /// Ticker as Finnhub writes it, e.g. `BRK.B`.
    pub symbol: &'static str,
    /// Company name as in Finnhub's profile (`Apple Inc`).
    pub name: &'static str,
    /// Listing exchange, in Finnhub's spelling.
    pub exchange: &'static str,
    /// Finnhub's industry classification (`finnhubIndustry`).
    pub industry: &'static str,
    /// Listing date, `YYYY-MM-DD`.
    pub ipo: &'static str,
    /// The price, in USD, that daily prices wander around.
    pub base_price: f64,
    /// Shares outstanding, in millions (Finnhub's unit for `shareOutstanding`).
    pub shares_outstanding: f64,
}

const fn sym(
    symbol: &'static str,
    name: &'static str,
    exchange: &'static str,
    industry: &'static str,
    ipo: &'static str,
    base_price: f64,
    shares_outstanding: f64,
) -> SampleSymbol {
    SampleSymbol {
        symbol,
        name,
        exchange,
        industry,
        ipo,
        base_price,
        shares_outstanding,
    }
}

/// Every symbol the sample server has data for, in a fixed order.
///
/// Append only: a symbol's position is part of its news ids (see `news_id`), so
/// reordering or removing entries would change ids that a database may already hold.
// One row per company reads better than rustfmt's one field per line.
#[rustfmt::skip]
pub const SAMPLE_SYMBOLS: &[SampleSymbol] = &[
    sym("AAPL", "Apple Inc", NASDAQ, "Technology", "1980-12-12", 265.0, 14_840.0),
    sym("MSFT", "Microsoft Corp", NASDAQ, "Technology", "1986-03-13", 480.0, 7_433.0),
    sym("GOOGL", "Alphabet Inc", NASDAQ, "Media", "2004-08-19", 300.0, 12_100.0),
    sym("AMZN", "Amazon.com Inc", NASDAQ, "Retail", "1997-05-15", 230.0, 10_600.0),
    sym("NVDA", "NVIDIA Corp", NASDAQ, "Semiconductors", "1999-01-22", 180.0, 24_400.0),
    sym("META", "Meta Platforms Inc", NASDAQ, "Media", "2012-05-18", 640.0, 2_520.0),
    sym("TSLA", "Tesla Inc", NASDAQ, "Automobiles", "2010-06-29", 420.0, 3_220.0),
    sym("BRK.B", "Berkshire Hathaway Inc", NYSE, "Insurance", "1996-05-09", 500.0, 2_157.0),
    sym("JPM", "JPMorgan Chase & Co", NYSE, "Banking", "1980-03-17", 305.0, 2_780.0),
    sym("V", "Visa Inc", NYSE, "Financial Services", "2008-03-19", 340.0, 1_940.0),
    sym("JNJ", "Johnson & Johnson", NYSE, "Pharmaceuticals", "1944-09-25", 200.0, 2_407.0),
    sym("WMT", "Walmart Inc", NASDAQ, "Retail", "1972-08-25", 110.0, 7_990.0),
    sym("PG", "Procter & Gamble Co", NYSE, "Consumer products", "1950-03-22", 150.0, 2_340.0),
    sym("XOM", "Exxon Mobil Corp", NYSE, "Energy", "1920-01-02", 117.0, 4_310.0),
    sym("MA", "Mastercard Inc", NYSE, "Financial Services", "2006-05-25", 560.0, 910.0),
    sym("HD", "Home Depot Inc", NYSE, "Retail", "1981-09-22", 360.0, 994.0),
    sym("KO", "Coca-Cola Co", NYSE, "Beverages", "1919-09-05", 70.0, 4_300.0),
    sym("PEP", "PepsiCo Inc", NASDAQ, "Beverages", "1972-06-01", 148.0, 1_372.0),
    sym("DIS", "Walt Disney Co", NYSE, "Media", "1957-11-12", 110.0, 1_800.0),
    sym("NFLX", "Netflix Inc", NASDAQ, "Media", "2002-05-23", 105.0, 4_230.0),
    sym("INTC", "Intel Corp", NASDAQ, "Semiconductors", "1971-10-13", 38.0, 4_370.0),
    sym("AMD", "Advanced Micro Devices Inc", NASDAQ, "Semiconductors", "1972-09-27", 220.0, 1_620.0),
    sym("CSCO", "Cisco Systems Inc", NASDAQ, "Communications", "1990-02-16", 77.0, 3_960.0),
    sym("ORCL", "Oracle Corp", NYSE, "Technology", "1986-03-12", 200.0, 2_810.0),
    sym("IBM", "International Business Machines Corp", NYSE, "Technology", "1915-11-11", 300.0, 930.0),
    sym("BA", "Boeing Co", NYSE, "Aerospace & Defense", "1962-01-02", 200.0, 756.0),
    sym("NKE", "Nike Inc", NYSE, "Textiles, Apparel & Luxury Goods", "1980-12-02", 65.0, 1_480.0),
    sym("MCD", "McDonald's Corp", NYSE, "Hotels, Restaurants & Leisure", "1965-04-21", 305.0, 714.0),
    sym("COST", "Costco Wholesale Corp", NASDAQ, "Retail", "1985-12-05", 900.0, 443.0),
    sym("CRM", "Salesforce Inc", NYSE, "Technology", "2004-06-23", 240.0, 957.0),
    sym("ADBE", "Adobe Inc", NASDAQ, "Technology", "1986-08-20", 340.0, 425.0),
    sym("PYPL", "PayPal Holdings Inc", NASDAQ, "Financial Services", "2015-07-06", 62.0, 970.0),
    sym("T", "AT&T Inc", NYSE, "Telecommunication", "1983-11-21", 25.0, 7_170.0),
    sym("VZ", "Verizon Communications Inc", NYSE, "Telecommunication", "1983-11-21", 41.0, 4_216.0),
    sym("PFE", "Pfizer Inc", NYSE, "Pharmaceuticals", "1944-01-03", 25.0, 5_690.0),
    sym("MRK", "Merck & Co Inc", NYSE, "Pharmaceuticals", "1946-05-27", 95.0, 2_500.0),
];

/// The table entry (and its position, which news ids are built from) for a symbol.
/// Lenient on case and surrounding blanks, so `aapl` finds `AAPL`.
pub(super) fn lookup(symbol: &str) -> Option<(usize, &'static SampleSymbol)> {
    let wanted = symbol.trim();
    SAMPLE_SYMBOLS
        .iter()
        .enumerate()
        .find(|(_, s)| s.symbol.eq_ignore_ascii_case(wanted))
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_market::http::parse_date;
    use crate::sample_market::news::GENERAL_NEWS_SLOT;

    #[test]
    fn the_symbol_table_is_well_formed() {
        assert!(SAMPLE_SYMBOLS.len() >= 36);
        // News ids give each symbol a slot below the general-news slot.
        assert!((SAMPLE_SYMBOLS.len() as i64) < GENERAL_NEWS_SLOT);
        for (i, entry) in SAMPLE_SYMBOLS.iter().enumerate() {
            assert!(
                SAMPLE_SYMBOLS[..i].iter().all(|s| s.symbol != entry.symbol),
                "{} is listed twice",
                entry.symbol
            );
            assert!([NASDAQ, NYSE].contains(&entry.exchange), "{}", entry.symbol);
            assert!(parse_date(entry.ipo).is_some(), "{}", entry.symbol);
            assert!(entry.base_price > 0.0 && entry.shares_outstanding > 0.0);
            assert_eq!(lookup(&entry.symbol.to_lowercase()).unwrap().1, entry);
        }
    }
}
