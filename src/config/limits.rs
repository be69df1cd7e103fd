//! Rate limits on the flows that cost work or send email.

use std::num::NonZeroU32;

use super::reader::{Reader, positive_u32};

/// Per-client (per hour) and overall (per minute) limits on the unauthenticated flows
/// that send email or cost work, the login and symbol-search throttles, and how many
/// keys each rate limiter keeps at most.
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// `QUOTIDIAN_SYMBOL_SEARCHES_PER_MINUTE`, per account.
    pub symbol_searches_per_minute: NonZeroU32,
    /// `QUOTIDIAN_LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE`.
    pub login_attempts_per_account_per_minute: NonZeroU32,
    /// `QUOTIDIAN_LOGIN_ATTEMPTS_PER_CLIENT_PER_MINUTE`.
    pub login_attempts_per_client_per_minute: NonZeroU32,
    /// `QUOTIDIAN_SIGNUPS_PER_CLIENT_PER_HOUR`.
    pub signups_per_client_per_hour: NonZeroU32,
    /// `QUOTIDIAN_SIGNUPS_PER_MINUTE`.
    pub signups_per_minute: NonZeroU32,
    /// `QUOTIDIAN_RESETS_PER_CLIENT_PER_HOUR`.
    pub resets_per_client_per_hour: NonZeroU32,
    /// `QUOTIDIAN_RESETS_PER_MINUTE`.
    pub resets_per_minute: NonZeroU32,
    /// `QUOTIDIAN_CONFIRMS_PER_CLIENT_PER_HOUR`.
    pub confirms_per_client_per_hour: NonZeroU32,
    /// `QUOTIDIAN_CONFIRMS_PER_MINUTE`.
    pub confirms_per_minute: NonZeroU32,
    /// `QUOTIDIAN_RATE_LIMIT_MAX_KEYS`.
    pub max_keys: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            symbol_searches_per_minute: const { NonZeroU32::new(30).unwrap() },
            login_attempts_per_account_per_minute: const { NonZeroU32::new(5).unwrap() },
            login_attempts_per_client_per_minute: const { NonZeroU32::new(30).unwrap() },
            signups_per_client_per_hour: const { NonZeroU32::new(5).unwrap() },
            signups_per_minute: const { NonZeroU32::new(60).unwrap() },
            resets_per_client_per_hour: const { NonZeroU32::new(5).unwrap() },
            resets_per_minute: const { NonZeroU32::new(60).unwrap() },
            confirms_per_client_per_hour: const { NonZeroU32::new(20).unwrap() },
            confirms_per_minute: const { NonZeroU32::new(120).unwrap() },
            max_keys: 100_000,
        }
    }
}

impl LimitsConfig {
    pub(super) fn read(r: &mut Reader) -> Self {
        let d = Self::default();
        Self {
            symbol_searches_per_minute: r.or(
                "QUOTIDIAN_SYMBOL_SEARCHES_PER_MINUTE",
                d.symbol_searches_per_minute,
                positive_u32,
            ),
            login_attempts_per_account_per_minute: r.or(
                "QUOTIDIAN_LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE",
                d.login_attempts_per_account_per_minute,
                positive_u32,
            ),
            login_attempts_per_client_per_minute: r.or(
                "QUOTIDIAN_LOGIN_ATTEMPTS_PER_CLIENT_PER_MINUTE",
                d.login_attempts_per_client_per_minute,
                positive_u32,
            ),
            signups_per_client_per_hour: r.or(
                "QUOTIDIAN_SIGNUPS_PER_CLIENT_PER_HOUR",
                d.signups_per_client_per_hour,
                positive_u32,
            ),
            signups_per_minute: r.or(
                "QUOTIDIAN_SIGNUPS_PER_MINUTE",
                d.signups_per_minute,
                positive_u32,
            ),
            resets_per_client_per_hour: r.or(
                "QUOTIDIAN_RESETS_PER_CLIENT_PER_HOUR",
                d.resets_per_client_per_hour,
                positive_u32,
            ),
            resets_per_minute: r.or(
                "QUOTIDIAN_RESETS_PER_MINUTE",
                d.resets_per_minute,
                positive_u32,
            ),
            confirms_per_client_per_hour: r.or(
                "QUOTIDIAN_CONFIRMS_PER_CLIENT_PER_HOUR",
                d.confirms_per_client_per_hour,
                positive_u32,
            ),
            confirms_per_minute: r.or(
                "QUOTIDIAN_CONFIRMS_PER_MINUTE",
                d.confirms_per_minute,
                positive_u32,
            ),
            max_keys: r.or("QUOTIDIAN_RATE_LIMIT_MAX_KEYS", d.max_keys, |v| {
                let n = positive_u32(v)?.get();
                if !(100..=10_000_000).contains(&n) {
                    return Err("must be between 100 and 10000000".into());
                }
                Ok(n as usize)
            }),
        }
    }
}
