//! Login throttling per account and per client, with `governor` (GCRA) rate limiters.
//!
//! Keys are the normalised email as typed, whether or not an account exists, so the
//! limiter behaves the same for real and made-up addresses. State is per process: with
//! N instances an attacker gets at most N times the budget, which still turns a
//! password-guessing run from thousands of tries a minute into a handful.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Whole seconds (at least 1) until a refused key may try again, for `Retry-After`.
pub fn retry_after_secs(not_until: &governor::NotUntil<governor::clock::QuantaInstant>) -> u64 {
    not_until
        .wait_time_from(DefaultClock::default().now())
        .as_secs()
        .max(1)
}

pub struct LoginThrottle {
    per_account: DefaultKeyedRateLimiter<String>,
    per_client: DefaultKeyedRateLimiter<IpAddr>,
}

impl LoginThrottle {
    pub fn new(per_account_per_minute: NonZeroU32, per_client_per_minute: NonZeroU32) -> Self {
        Self {
            per_account: RateLimiter::keyed(Quota::per_minute(per_account_per_minute)),
            per_client: RateLimiter::keyed(Quota::per_minute(per_client_per_minute)),
        }
    }

    /// Takes one attempt from both budgets; `Err(seconds)` says how long to wait.
    pub fn check(&self, account: &str, client: IpAddr) -> Result<(), u64> {
        self.per_client
            .check_key(&client)
            .map_err(|n| retry_after_secs(&n))?;
        self.per_account
            .check_key(&account.trim().to_lowercase())
            .map_err(|n| retry_after_secs(&n))
    }

    /// Forgets keys whose budget is full again, so memory follows recent attackers,
    /// not every address ever seen.
    pub fn forget_idle(&self) {
        self.per_account.retain_recent();
        self.per_client.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_the_budget_per_account_and_per_client() {
        let t = LoginThrottle::new(NonZeroU32::new(3).unwrap(), NonZeroU32::new(5).unwrap());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert!(t.check("a@example.com", ip).is_ok());
        }
        let wait = t.check("A@Example.com", ip).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        // Another account from the same client still has budget until the client's
        // own budget (5) runs out.
        assert!(t.check("b@example.com", ip).is_ok());
        assert!(t.check("c@example.com", ip).is_err());
        // Another client is unaffected by the first one's budget.
        assert!(
            t.check("d@example.com", "192.0.2.2".parse().unwrap())
                .is_ok()
        );
    }
}
