//! Values that are valid by construction. Routers parse raw input into these once;
//! everything past the router trusts them.

mod email;
pub mod market;
mod password;
mod schedule;
pub mod status;
mod symbol;
mod user;

pub use email::EmailAddress;
pub use password::Password;
pub use schedule::{Days, Schedule, SendTime, TimeZone};
pub use status::{
    DigestStatus, DigestTrigger, EtlOutcome, EtlRunStatus, EtlTrigger, SuppressionReason,
};
pub use symbol::Symbol;
pub use user::CurrentUser;

/// Why a raw value was refused, phrased for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DomainError {
    pub field: &'static str,
    pub message: String,
}

impl DomainError {
    /// The same problem reported against another request field (a password parsed
    /// from `new_password` or `current_password`, say).
    pub fn for_field(mut self, field: &'static str) -> Self {
        self.field = field;
        self
    }

    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
