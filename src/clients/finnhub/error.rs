//! Why a Finnhub call failed.

use super::RawResponse;

/// Why a Finnhub call failed, split by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum FinnhubError {
    /// Stop the run: no key is configured.
    #[error("no Finnhub API key is configured (FINNHUB_API_KEY)")]
    NoApiKey,
    /// Stop the run: every further call would be refused the same way.
    #[error("Finnhub refused the API key (HTTP {status})")]
    BadApiKey { status: u16 },
    /// Skip this symbol or endpoint: the key is fine but the plan does not cover the
    /// data (Finnhub answers 401 or 403 with "You don't have access to this
    /// resource." for, e.g., non-US symbols on the free plan).
    #[error("the Finnhub plan does not cover {path} (HTTP {status})")]
    NoAccess { status: u16, path: String },
    /// Skip this symbol: Finnhub knows nothing about it (all-zero quote, `{}`
    /// profile).
    #[error("Finnhub has no data for {} {:?}", .raw.path, .raw.params)]
    NoData { raw: Box<RawResponse> },
    /// Skip and alert: the answer was not what Finnhub documents.
    #[error("unexpected response from Finnhub {}: {reason}", .raw.path)]
    BadData {
        reason: String,
        raw: Box<RawResponse>,
    },
    /// Skip and alert: Finnhub refused the request itself (a 4xx other than 401,
    /// 403 and 429), so sending it again cannot help.
    #[error("Finnhub rejected the request (HTTP {status}): {body}")]
    Rejected { status: u16, body: String },
    /// Try again later: still answered 429 when the retries ran out.
    #[error("Finnhub rate limit still reached after {attempts} attempt(s)")]
    RateLimited { attempts: u32 },
    /// Try again later: 5xx, timeouts or connection failures until the retries ran
    /// out.
    #[error("Finnhub unavailable: {0}")]
    Unavailable(String),
}

impl FinnhubError {
    /// True when no further call can succeed until someone fixes the configuration.
    pub fn stops_the_run(&self) -> bool {
        matches!(self, Self::NoApiKey | Self::BadApiKey { .. })
    }

    /// True when the same call may well succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable(_))
    }

    /// The response behind a `NoData` or `BadData`, for the audit trail.
    pub fn raw(&self) -> Option<&RawResponse> {
        match self {
            Self::NoData { raw } | Self::BadData { raw, .. } => Some(raw),
            _ => None,
        }
    }
}
