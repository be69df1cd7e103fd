//! Request throttling with `governor` (GCRA) rate limiters: logins per account and per
//! client, and signups, password resets and confirmations per client and overall.
//!
//! Login keys are the parsed, normalised address, whether or not an account exists,
//! so the limiter behaves the same for real and made-up addresses. A client is its
//! IPv4 address, or its IPv6 /64 (one subscriber's whole prefix; an attacker would
//! otherwise get a fresh budget from every one of its 2^64 addresses). Each keyed
//! limiter holds at most `max_keys` keys: past that it forgets idle keys, and if that
//! is not enough it starts afresh (logged), so no traffic can grow its memory without
//! bound. State is per process: with N instances an attacker gets at most N times the
//! budget, which still turns a password-guessing run from thousands of tries a minute
//! into a handful.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;

use crate::domain::EmailAddress;

/// Whole seconds (at least 1) until a refused key may try again, for `Retry-After`.
pub fn retry_after_secs(not_until: &governor::NotUntil<governor::clock::QuantaInstant>) -> u64 {
    not_until
        .wait_time_from(DefaultClock::default().now())
        .as_secs()
        .max(1)
}

/// A client as the limits see it: an IPv4 address, or an IPv6 address's /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl From<IpAddr> for ClientKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => ClientKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    ClientKey(IpAddr::V6(prefix.into()))
                }
            },
        }
    }
}

/// A keyed limiter whose number of keys is bounded.
pub struct BoundedKeyed<K: Hash + Eq + Clone> {
    quota: Quota,
    max_keys: usize,
    limiter: RwLock<Arc<DefaultKeyedRateLimiter<K>>>,
}

impl<K: Hash + Eq + Clone> BoundedKeyed<K> {
    pub fn new(quota: Quota, max_keys: usize) -> Self {
        Self {
            quota,
            max_keys: max_keys.max(1),
            limiter: RwLock::new(Arc::new(RateLimiter::keyed(quota))),
        }
    }

    fn current(&self) -> Arc<DefaultKeyedRateLimiter<K>> {
        self.limiter
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Takes one unit of `key`'s budget; `Err(seconds)` says how long to wait.
    pub fn check(&self, key: &K) -> Result<(), u64> {
        let mut limiter = self.current();
        if limiter.len() >= self.max_keys {
            limiter.retain_recent();
            if limiter.len() >= self.max_keys {
                tracing::warn!(
                    keys = limiter.len(),
                    max_keys = self.max_keys,
                    "rate limiter full of recently active keys; starting afresh"
                );
                let fresh = Arc::new(RateLimiter::keyed(self.quota));
                *self
                    .limiter
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh.clone();
                limiter = fresh;
            }
        }
        limiter.check_key(key).map_err(|n| retry_after_secs(&n))
    }

    pub fn len(&self) -> usize {
        self.current().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets keys whose budget is full again, so memory follows recent clients.
    pub fn forget_idle(&self) {
        let limiter = self.current();
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }
}

pub struct LoginThrottle {
    per_account: BoundedKeyed<String>,
    per_client: BoundedKeyed<ClientKey>,
}

impl LoginThrottle {
    pub fn new(
        per_account_per_minute: NonZeroU32,
        per_client_per_minute: NonZeroU32,
        max_keys: usize,
    ) -> Self {
        Self {
            per_account: BoundedKeyed::new(Quota::per_minute(per_account_per_minute), max_keys),
            per_client: BoundedKeyed::new(Quota::per_minute(per_client_per_minute), max_keys),
        }
    }

    /// Takes one attempt from the client's budget; checked before anything is parsed.
    pub fn check_client(&self, client: IpAddr) -> Result<(), u64> {
        self.per_client.check(&ClientKey::from(client))
    }

    /// Takes one attempt from the account's budget, keyed on the normalised address
    /// (at most 254 characters), so `Ada@Example.com` and `ada@example.com` share one.
    pub fn check_account(&self, account: &EmailAddress) -> Result<(), u64> {
        self.per_account.check(&account.as_ref().to_owned())
    }

    pub fn forget_idle(&self) {
        self.per_account.forget_idle();
        self.per_client.forget_idle();
    }

    /// Keys held (accounts, clients), for tests and metrics.
    pub fn keys(&self) -> (usize, usize) {
        (self.per_account.len(), self.per_client.len())
    }
}

/// One flow's limits (signup, reset, confirmation): per client, and for everyone
/// together, so neither one client nor many can turn it into an email cannon.
pub struct FlowThrottle {
    per_client: BoundedKeyed<ClientKey>,
    global: DefaultDirectRateLimiter,
}

impl FlowThrottle {
    pub fn new(
        per_client_per_hour: NonZeroU32,
        global_per_minute: NonZeroU32,
        max_keys: usize,
    ) -> Self {
        Self {
            per_client: BoundedKeyed::new(Quota::per_hour(per_client_per_hour), max_keys),
            global: RateLimiter::direct(Quota::per_minute(global_per_minute)),
        }
    }

    /// Takes one request from the client's and the global budget.
    pub fn check(&self, client: IpAddr) -> Result<(), u64> {
        self.per_client.check(&ClientKey::from(client))?;
        self.global.check().map_err(|n| retry_after_secs(&n))
    }

    pub fn forget_idle(&self) {
        self.per_client.forget_idle();
    }
}

/// The limits on the unauthenticated flows that send email or cost work.
pub struct AbuseLimits {
    pub signup: FlowThrottle,
    pub reset: FlowThrottle,
    pub confirm: FlowThrottle,
    /// Password-reset lookups run detached (so the answer's timing reveals nothing);
    /// at most this many at once, each holding at most one pool connection.
    pub reset_work: Arc<Semaphore>,
}

/// Detached password-reset lookups in flight at most.
pub const MAX_RESET_LOOKUPS: usize = 8;

impl AbuseLimits {
    pub fn from_config(config: &crate::config::Config) -> Self {
        let l = &config.limits;
        Self {
            signup: FlowThrottle::new(
                l.signups_per_client_per_hour,
                l.signups_per_minute,
                l.max_keys,
            ),
            reset: FlowThrottle::new(
                l.resets_per_client_per_hour,
                l.resets_per_minute,
                l.max_keys,
            ),
            confirm: FlowThrottle::new(
                l.confirms_per_client_per_hour,
                l.confirms_per_minute,
                l.max_keys,
            ),
            reset_work: Arc::new(Semaphore::new(MAX_RESET_LOOKUPS)),
        }
    }

    pub fn forget_idle(&self) {
        self.signup.forget_idle();
        self.reset.forget_idle();
        self.confirm.forget_idle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(t: &LoginThrottle, account: &str, ip: IpAddr) -> Result<(), u64> {
        t.check_client(ip)?;
        t.check_account(&EmailAddress::parse(account).unwrap())
    }

    #[test]
    fn refuses_after_the_budget_per_account_and_per_client() {
        let t = LoginThrottle::new(
            NonZeroU32::new(3).unwrap(),
            NonZeroU32::new(5).unwrap(),
            1000,
        );
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert!(check(&t, "a@example.com", ip).is_ok());
        }
        let wait = check(&t, " A@Example.com", ip).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        // Another account from the same client still has budget until the client's
        // own budget (5) runs out.
        assert!(check(&t, "b@example.com", ip).is_ok());
        assert!(check(&t, "c@example.com", ip).is_err());
        // Another client is unaffected by the first one's budget.
        assert!(check(&t, "d@example.com", "192.0.2.2".parse().unwrap()).is_ok());
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        let t = LoginThrottle::new(
            NonZeroU32::new(100).unwrap(),
            NonZeroU32::new(2).unwrap(),
            1000,
        );
        assert!(t.check_client("2001:db8:1:2::1".parse().unwrap()).is_ok());
        assert!(
            t.check_client("2001:db8:1:2:ffff::9".parse().unwrap())
                .is_ok()
        );
        // A third address in the same /64 shares the budget ...
        assert!(
            t.check_client("2001:db8:1:2:abcd::1".parse().unwrap())
                .is_err()
        );
        // ... another /64 does not.
        assert!(t.check_client("2001:db8:1:3::1".parse().unwrap()).is_ok());
        // An IPv4-mapped address is the IPv4 client.
        assert_eq!(
            ClientKey::from("::ffff:192.0.2.7".parse::<IpAddr>().unwrap()),
            ClientKey::from("192.0.2.7".parse::<IpAddr>().unwrap())
        );
    }

    #[test]
    fn memory_is_bounded_whatever_the_traffic() {
        let t = LoginThrottle::new(
            NonZeroU32::new(5).unwrap(),
            NonZeroU32::new(5).unwrap(),
            500,
        );
        for i in 0..20_000u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            let _ = t.check_client(ip);
            let _ = t.check_account(&EmailAddress::parse(&format!("u{i}@example.com")).unwrap());
            let (accounts, clients) = t.keys();
            assert!(accounts <= 500 && clients <= 500, "{accounts} {clients}");
        }
    }
}
