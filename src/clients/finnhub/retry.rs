//! Which failed attempts are tried again, and how long to wait before each.

use std::time::Duration;

use backon::ExponentialBuilder;
use chrono::{DateTime, Utc};

use super::FinnhubError;

/// How failed attempts are retried. Only 429, 5xx, 408, timeouts and connection
/// failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff; each retry doubles it up to `max_delay`. Jitter adds a
    /// random 0-100 % on top, so callers that failed together do not retry together.
    pub min_delay: Duration,
    /// The longest backoff before jitter.
    pub max_delay: Duration,
    /// The longest `Retry-After` we honour; a larger one is cut down to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            // Finnhub's limit is per minute: 1, 2, 4, 8 s (plus jitter) spans about
            // a quarter to half of a minute, enough for a window to roll over.
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    pub(super) fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_max_times(self.max_retries as usize)
            .with_jitter()
    }
}

/// How one attempt failed, which decides whether backon tries again.
pub(super) enum AttemptError {
    RateLimited {
        retry_after: Option<Duration>,
    },
    Unavailable {
        reason: String,
        retry_after: Option<Duration>,
    },
    Final(FinnhubError),
}

impl AttemptError {
    pub(super) fn is_retryable(&self) -> bool {
        !matches!(self, Self::Final(_))
    }

    pub(super) fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } | Self::Unavailable { retry_after, .. } => {
                *retry_after
            }
            Self::Final(_) => None,
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            Self::RateLimited { .. } => "HTTP 429".to_owned(),
            Self::Unavailable { reason, .. } => reason.clone(),
            Self::Final(error) => error.to_string(),
        }
    }
}

/// The delay before the next retry: the backoff's proposal, stretched to honour the
/// server's `Retry-After` (itself capped at `max_retry_after`). `None` (the retries
/// are used up) stays `None`: Retry-After says when, not whether.
pub(super) fn retry_delay(
    proposed: Option<Duration>,
    retry_after: Option<Duration>,
    max_retry_after: Duration,
) -> Option<Duration> {
    let proposed = proposed?;
    Some(match retry_after {
        Some(wait) => proposed.max(wait.min(max_retry_after)),
        None => proposed,
    })
}

/// `Retry-After` is either whole seconds or an HTTP date. Anything else is ignored,
/// and the backoff decides.
pub(super) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use backon::BackoffBuilder as _;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = DateTime::parse_from_rfc3339("2024-05-03T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Fri, 03 May 2024 12:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        // A date already past means "now", not a negative wait.
        assert_eq!(
            parse_retry_after("Fri, 03 May 2024 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        for junk in ["", "-1", "1.5", "soon", "99999999999999999999999"] {
            assert_eq!(parse_retry_after(junk, now), None, "{junk:?}");
        }
    }

    #[test]
    fn retry_after_stretches_the_backoff_but_never_extends_the_bound() {
        let s = Duration::from_secs;
        let cap = s(60);
        assert_eq!(retry_delay(Some(s(2)), None, cap), Some(s(2)));
        assert_eq!(retry_delay(Some(s(2)), Some(s(5)), cap), Some(s(5)));
        assert_eq!(retry_delay(Some(s(8)), Some(s(5)), cap), Some(s(8)));
        assert_eq!(retry_delay(Some(s(2)), Some(s(3600)), cap), Some(cap));
        assert_eq!(retry_delay(None, Some(s(1)), cap), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_bound() {
        let policy = RetryPolicy {
            max_retries: 6,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(800),
            max_retry_after: Duration::from_secs(60),
        };
        for _ in 0..50 {
            let delays: Vec<Duration> = policy.backoff().build().collect();
            assert_eq!(delays.len(), 6, "one delay per retry");
            for (i, delay) in delays.iter().enumerate() {
                let base = Duration::from_millis(100 * 2u64.pow(i as u32)).min(policy.max_delay);
                assert!(
                    *delay >= base && *delay <= base * 2,
                    "retry {i}: {delay:?} not within [{base:?}, {:?}]",
                    base * 2
                );
            }
        }
    }
}
