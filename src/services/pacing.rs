//! Pacing digest sends to the SES account's send rate.
//!
//! The rate is the account's, not a process's: with `global` pacing (the default)
//! every process on the database reserves its send slots from one shared budget in
//! PostgreSQL (`repositories::pacing`), so three workers together send at the rate one
//! would, and a process that starts or stops changes nothing for the others. `local`
//! pacing (one `governor` limiter per process, the behaviour before ADR 0012) is kept
//! for a single-process deployment and as the fallback when the database does not
//! answer the reservation.

use std::time::Duration;

use sqlx::PgPool;

use crate::repositories::pacing;

const BUDGET: &str = "ses";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One budget for every process on the database.
    Global,
    /// A budget per process.
    Local,
}

pub struct SendPacer {
    rate: f64,
    scope: Scope,
    db: PgPool,
    local: governor::DefaultDirectRateLimiter,
}

impl SendPacer {
    pub fn new(db: PgPool, rate: f64, scope: Scope) -> Self {
        Self {
            rate,
            scope,
            db,
            local: local_pacer(rate),
        }
    }

    /// Sends per second, for everyone together (global) or for this process (local).
    pub fn rate(&self) -> f64 {
        self.rate
    }

    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// Waits for this process's next send slot.
    pub async fn until_ready(&self) {
        if self.scope == Scope::Local {
            return self.local.until_ready().await;
        }
        match pacing::reserve(&self.db, BUDGET, 1.0 / self.rate.max(0.001)).await {
            Ok(wait) if wait > 0.0 => tokio::time::sleep(Duration::from_secs_f64(wait)).await,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(error = ?error, "could not reserve a shared send slot; pacing this process alone");
                self.local.until_ready().await;
            }
        }
    }
}

/// A pacer letting `rate` sends a second through, evenly spaced.
pub fn local_pacer(rate: f64) -> governor::DefaultDirectRateLimiter {
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let quota = governor::Quota::with_period(period.max(Duration::from_nanos(1)))
        .expect("a positive period");
    governor::RateLimiter::direct(quota)
}
