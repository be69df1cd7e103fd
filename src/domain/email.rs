use std::str::FromStr;

use super::DomainError;

/// A syntactically valid, normalised (trimmed, lower-cased) email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// RFC 5321 caps a forward path at 256 octets including the angle brackets.
    const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let candidate = raw.trim().to_lowercase();
        let invalid = |why: &str| DomainError::new("email", why.to_string());
        if candidate.is_empty() {
            return Err(invalid("is required"));
        }
        if candidate.len() > Self::MAX_LEN {
            return Err(invalid("is longer than 254 characters"));
        }
        // The crate accepts display-name forms and quoted local parts; we want a bare
        // address a mail server will route, so check the shape ourselves as well.
        if candidate.contains(['<', '>', ' ', '"', ',']) {
            return Err(invalid("is not a valid email address"));
        }
        let parsed = email_address::EmailAddress::from_str(&candidate)
            .map_err(|_| invalid("is not a valid email address"))?;
        let domain = parsed.domain();
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(invalid("needs a domain such as example.com"));
        }
        Ok(Self(candidate))
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        let email = EmailAddress::parse("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(email.as_ref(), "ada.lovelace@example.com");
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "",
            "   ",
            "plainaddress",
            "@example.com",
            "ada@",
            "ada@localhost",
            "ada@example..com",
            "Ada <ada@example.com>",
            "ada lovelace@example.com",
            "a,b@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "accepted {bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
    }
}
