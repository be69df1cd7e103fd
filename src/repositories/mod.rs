//! All SQL lives here. Functions take any executor (pool, connection or transaction),
//! so the service that needs atomicity decides where the transaction boundary is.

pub mod advisory_locks;
pub mod audit_outbox;
pub mod digest;
pub mod digest_history;
pub mod digest_jobs;
pub mod digest_runs;
pub mod email_outbox;
pub mod health;
pub mod market;
pub mod metrics;
pub mod operations;
pub mod pacing;
pub mod preferences;
pub mod send_events;
pub mod sent_messages;
pub mod sessions;
pub mod signing_keys;
pub mod suppressions;
pub mod symbols;
pub mod tokens;
pub mod users;
pub mod watchlist;
