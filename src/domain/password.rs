use secrecy::{ExposeSecret, SecretString};

use super::DomainError;

/// A password strong enough to accept. Holds the secret without ever printing it.
pub struct Password(SecretString);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl Password {
    pub const MIN_CHARS: usize = 10;
    /// Argon2 cost does not depend on length, but a cap keeps request bodies and the
    /// strength estimator cheap.
    pub const MAX_CHARS: usize = 128;

    /// Parses a new password; `context` holds words it must not be built from (the
    /// user's email address), which the strength estimator penalises.
    pub fn parse_new(raw: &str, context: &[&str]) -> Result<Self, DomainError> {
        let chars = raw.chars().count();
        let weak = |why: String| DomainError::new("password", why);
        if chars < Self::MIN_CHARS {
            return Err(weak(format!(
                "must be at least {} characters long",
                Self::MIN_CHARS
            )));
        }
        if chars > Self::MAX_CHARS {
            return Err(weak(format!(
                "must be at most {} characters long",
                Self::MAX_CHARS
            )));
        }
        let lowered = raw.to_lowercase();
        if context
            .iter()
            .any(|word| word.chars().count() >= 4 && lowered.contains(&word.to_lowercase()))
        {
            return Err(weak("must not contain your email address".into()));
        }
        let estimate = zxcvbn::zxcvbn(raw, context);
        if (estimate.score() as u8) < 3 {
            let hint = estimate
                .feedback()
                .and_then(|f| f.warning().map(|w| w.to_string()))
                .filter(|w| !w.is_empty())
                .unwrap_or_else(|| "it is too easy to guess".to_string());
            return Err(weak(format!(
                "is too weak ({hint}); try a longer passphrase of several unrelated words"
            )));
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    /// Wraps a password presented for verification (login, re-authentication). Not
    /// checked for strength: old passwords must still be able to log in.
    pub fn presented(raw: &str) -> Result<Self, DomainError> {
        if raw.is_empty() {
            return Err(DomainError::new("password", "is required"));
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(DomainError::new(
                "password",
                format!("must be at most {} characters long", Self::MAX_CHARS),
            ));
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    pub fn secret(&self) -> &SecretString {
        &self.0
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_short_long_and_guessable_passwords() {
        assert!(Password::parse_new("short", &[]).is_err());
        assert!(Password::parse_new(&"x".repeat(129), &[]).is_err());
        assert!(Password::parse_new("password123", &[]).is_err());
        assert!(Password::parse_new("aaaaaaaaaaaaaaaa", &[]).is_err());
        // Built from the user's own address.
        assert!(
            Password::parse_new(
                "ada.lovelace2024",
                &["ada.lovelace@example.com", "ada", "lovelace"]
            )
            .is_err()
        );
    }

    #[test]
    fn accepts_a_passphrase() {
        assert!(Password::parse_new("velvet-harbor-oxide-42", &[]).is_ok());
    }

    #[test]
    fn never_prints_the_secret() {
        let p = Password::parse_new("velvet-harbor-oxide-42", &[]).unwrap();
        assert!(!format!("{p:?}").contains("velvet"));
    }
}
