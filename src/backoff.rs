//! Delays between attempts of the durable queues (the email outbox, digest jobs, audit
//! records), whose next attempt is a timestamp in the database rather than a sleeping
//! task. Retry loops inside one call use backon instead.

use std::time::Duration;

/// `base` after the first failed attempt, doubling after each further one, capped at `cap`.
pub fn exponential(base: Duration, attempts: i32, cap: Duration) -> Duration {
    let doublings = attempts.clamp(1, 32) as u32 - 1;
    base.saturating_mul(1 << doublings.min(20)).min(cap)
}

/// `delay` plus up to a fifth more at random, so that many jobs refused at once (SES
/// throttling a burst) do not all come back in the same instant.
pub fn jittered(delay: Duration) -> Duration {
    delay + delay.mul_f64(rand::random_range(0.0..=0.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_the_base_up_to_the_cap() {
        let s = Duration::from_secs;
        assert_eq!(exponential(s(10), 1, s(1800)), s(10));
        assert_eq!(exponential(s(10), 2, s(1800)), s(20));
        assert_eq!(exponential(s(10), 3, s(1800)), s(40));
        assert_eq!(exponential(s(10), 0, s(1800)), s(10));
        assert_eq!(exponential(s(10), 10, s(1800)), s(1800));
        assert_eq!(exponential(s(10), i32::MAX, s(1800)), s(1800));
    }

    #[test]
    fn jitter_adds_at_most_a_fifth() {
        for _ in 0..1000 {
            let d = jittered(Duration::from_secs(10));
            assert!(
                d >= Duration::from_secs(10) && d <= Duration::from_secs(12),
                "{d:?}"
            );
        }
    }
}
