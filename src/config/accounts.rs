//! Accounts: sessions, password hashing, operators, what one account may hold.

use secrecy::SecretString;

use crate::domain::EmailAddress;

use super::reader::{Reader, list, positive_u32};

#[derive(Debug, Clone)]
pub struct AccountsConfig {
    /// `QUOTIDIAN_SECRET_KEY`: signs tokens that must survive restarts (unsubscribe
    /// links). When unset, a key generated once and kept in the database is used,
    /// shared by every process.
    pub secret_key: Option<SecretString>,
    /// `QUOTIDIAN_SESSION_TTL_HOURS`.
    pub session_ttl_hours: u32,
    /// `QUOTIDIAN_MAX_CONCURRENT_HASHES`: argon2 hashes computed at once; default one
    /// per CPU.
    pub max_concurrent_hashes: usize,
    /// `QUOTIDIAN_OPERATOR_EMAILS`: accounts (by email) that may see operator
    /// resources such as ETL runs.
    pub operator_emails: Vec<String>,
    /// `QUOTIDIAN_WATCHLIST_MAX`: symbols one watchlist may hold.
    pub watchlist_max: u32,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        Self {
            secret_key: None,
            session_ttl_hours: 168,
            max_concurrent_hashes: std::thread::available_parallelism().map_or(2, |n| n.get()),
            operator_emails: Vec::new(),
            watchlist_max: 50,
        }
    }
}

impl AccountsConfig {
    pub(super) fn read(r: &mut Reader) -> Self {
        let d = Self::default();
        Self {
            operator_emails: r.or("QUOTIDIAN_OPERATOR_EMAILS", d.operator_emails, |v| {
                list(v, |e| {
                    EmailAddress::parse(e)
                        .map(|a| a.as_ref().to_owned())
                        .map_err(|err| format!("'{e}' {}", err.message))
                })
            }),
            secret_key: r.maybe("QUOTIDIAN_SECRET_KEY", |v| {
                if v.len() < 32 {
                    Err("must be at least 32 characters long".into())
                } else {
                    Ok(SecretString::from(v.to_owned()))
                }
            }),
            session_ttl_hours: r.or("QUOTIDIAN_SESSION_TTL_HOURS", d.session_ttl_hours, |v| {
                let hours = positive_u32(v)?.get();
                if hours > 24 * 90 {
                    return Err("must be at most 2160 (90 days)".into());
                }
                Ok(hours)
            }),
            max_concurrent_hashes: r.or(
                "QUOTIDIAN_MAX_CONCURRENT_HASHES",
                d.max_concurrent_hashes,
                |v| positive_u32(v).map(|n| n.get() as usize),
            ),
            watchlist_max: r.or("QUOTIDIAN_WATCHLIST_MAX", d.watchlist_max, |v| {
                let n = positive_u32(v)?.get();
                if n > 500 {
                    return Err("must be at most 500".into());
                }
                Ok(n)
            }),
        }
    }

    pub fn is_operator(&self, email: &str) -> bool {
        self.operator_emails.iter().any(|e| e == email)
    }
}
