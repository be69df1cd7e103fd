use std::str::FromStr;

use super::DomainError;

/// A syntactically valid, normalised email address that SES can deliver to: trimmed,
/// Unicode NFC, lower-cased, with its domain in ASCII (IDNA: `bücher.example` becomes
/// `xn--bcher-kva.example`), so one mailbox is one account however it is typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// RFC 5321 caps a forward path at 256 octets including the angle brackets.
    const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        use unicode_normalization::UnicodeNormalization as _;
        let invalid = |why: &str| DomainError::new("email", why.to_string());
        let trimmed: String = raw.trim().nfc().collect();
        if trimmed.is_empty() {
            return Err(invalid("is required"));
        }
        if trimmed.len() > 4 * Self::MAX_LEN {
            return Err(invalid("is longer than 254 characters"));
        }
        let Some((local, domain)) = trimmed.rsplit_once('@') else {
            return Err(invalid("is not a valid email address"));
        };
        if !local.is_ascii() {
            // SES sends only to ASCII local parts (no SMTPUTF8).
            return Err(invalid(
                "has characters before the @ that email cannot be delivered to; use only ASCII letters, digits and punctuation there",
            ));
        }
        let domain = idna::domain_to_ascii(domain)
            .map_err(|_| invalid("has a domain that is not a valid domain name"))?;
        let candidate = format!("{}@{domain}", local.to_ascii_lowercase());
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
    fn one_mailbox_is_one_address_however_it_is_typed() {
        // NFC: "ü" typed as one code point or as "u" + combining diaeresis.
        let composed = EmailAddress::parse("ada@b\u{fc}cher.example").unwrap();
        let decomposed = EmailAddress::parse("ADA@Bu\u{308}cher.Example").unwrap();
        assert_eq!(composed, decomposed);
        assert_eq!(composed.as_ref(), "ada@xn--bcher-kva.example");
        // The punycode form is the same mailbox.
        assert_eq!(
            EmailAddress::parse("ada@XN--BCHER-KVA.example").unwrap(),
            composed
        );
    }

    #[test]
    fn refuses_what_ses_cannot_send_to() {
        let err = EmailAddress::parse("j\u{f6}rg@example.com").unwrap_err();
        assert!(err.message.contains("before the @"), "{}", err.message);
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
