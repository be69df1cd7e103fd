//! Black-box tests: the real application on port 0, a fresh PostgreSQL database per
//! test, and the SES v2 emulator. Run through `scripts/test`, which starts both.

mod abuse;
mod account;
mod account_deletion;
mod auth;
mod bad_input;
mod cross_site;
mod delivery;
mod digests;
mod email_outbox;
mod enumeration;
mod etl;
mod finnhub_mock;
mod headers;
mod health;
mod helpers;
mod history;
mod metrics;
mod openapi;
mod operator;
mod password_reset;
mod planner;
mod preferences;
mod reconcile;
mod retention;
mod scheduling;
mod ses_mailer;
mod session_cookie;
mod sns;
#[path = "../support/sns_signer.rs"]
mod sns_signer;
mod statuses;
mod suppressions;
mod symbols;
mod takeover;
mod watchlist;
