//! Business rules. Services own transactions and call repositories and clients; they
//! never see HTTP types and never write SQL.

pub mod accounts;
pub mod audit;
pub mod digest;
pub mod email_outbox;
pub mod emails;
pub mod etl;
pub mod links;
pub mod market_budget;
pub mod pacing;
pub mod passwords;
pub mod preferences;
pub mod retention;
pub mod sns;
pub mod suppressions;
pub mod symbols;
pub mod throttle;
pub mod tokens;
pub mod watchlist;

use crate::domain::DomainError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input")]
    Invalid(Vec<DomainError>),
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("email address not confirmed")]
    EmailNotConfirmed,
    #[error("the link is unknown, used or expired")]
    InvalidToken,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    LimitReached(String),
    #[error("too many attempts")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("forbidden")]
    Forbidden,
    /// A dependency (Finnhub) could not answer; the request may succeed later.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DomainError> for Error {
    fn from(e: DomainError) -> Self {
        Error::Invalid(vec![e])
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Unexpected(anyhow::Error::new(e).context("database query failed"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
