use super::DomainError;

/// A ticker symbol as Finnhub writes it: upper-case letters and digits, with `.`, `:`
/// or `-` inside (`BRK.B`, `RDS-A`, `BINANCE:BTCUSDT`, `0700.HK`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol(String);

impl Symbol {
    pub const MAX_LEN: usize = 20;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let candidate = raw.trim().to_ascii_uppercase();
        let invalid = |why: &str| DomainError::new("symbol", why.to_string());
        if candidate.is_empty() {
            return Err(invalid("is required"));
        }
        if candidate.len() > Self::MAX_LEN {
            return Err(invalid("is longer than 20 characters"));
        }
        let mut chars = candidate.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-'));
        if !first_ok || !rest_ok {
            return Err(invalid(
                "may contain only letters, digits, '.', ':' and '-', starting with a letter or digit",
            ));
        }
        Ok(Self(candidate))
    }
}

impl AsRef<str> for Symbol {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Symbol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_to_upper_case() {
        assert_eq!(Symbol::parse(" aapl ").unwrap().as_ref(), "AAPL");
        assert_eq!(Symbol::parse("brk.b").unwrap().as_ref(), "BRK.B");
        assert_eq!(
            Symbol::parse("BINANCE:BTCUSDT").unwrap().as_ref(),
            "BINANCE:BTCUSDT"
        );
    }

    #[test]
    fn refuses_what_finnhub_cannot_name() {
        for bad in [
            "",
            " ",
            ".AAPL",
            "AA PL",
            "AAPL;DROP",
            "ÄPPLE",
            "A/B",
            &"A".repeat(21),
        ] {
            assert!(Symbol::parse(bad).is_err(), "accepted {bad:?}");
        }
    }
}
