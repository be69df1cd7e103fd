//! What every Finnhub call draws from: a call budget, and the priority of the work
//! the call is for.
//!
//! The client asks its [`CallBudget`] for a slot before each attempt (retries
//! included). The budget of a process on its own is the in-memory [`FinnhubLimiter`];
//! the service's budget is shared by every process on the database
//! (`services::market_budget`, ADR 0013), and it serves the more urgent work first.
//!
//! The priority travels with the work, not with the call: a caller wraps what it does
//! in [`with_priority`], and every Finnhub call made inside draws at that priority.
//! Work that says nothing is [`Priority::Background`].

use std::fmt;
use std::future::Future;

use async_trait::async_trait;

use super::FinnhubLimiter;

/// Who a call is for, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Market data a digest due soon reads.
    Due,
    /// A symbol someone just added, so their preview shows its price.
    NewSymbol,
    /// Symbol search and the watchlist's existence check: a person is waiting.
    Search,
    /// Refreshes no deadline waits for (profiles, history, the holiday calendar).
    Background,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Due => "due",
            Self::NewSymbol => "new_symbol",
            Self::Search => "search",
            Self::Background => "background",
        }
    }
}

tokio::task_local! {
    static PRIORITY: Priority;
}

/// Runs `work` with its Finnhub calls drawing at `priority`.
pub async fn with_priority<F: Future>(priority: Priority, work: F) -> F::Output {
    PRIORITY.scope(priority, work).await
}

/// The priority of the work this task is doing ([`Priority::Background`] unless a
/// caller said otherwise).
pub fn current_priority() -> Priority {
    PRIORITY.try_with(|p| *p).unwrap_or(Priority::Background)
}

/// Slots for Finnhub calls.
#[async_trait]
pub trait CallBudget: Send + Sync + fmt::Debug {
    /// Waits until a call at `priority` may be made, and takes its slot.
    async fn acquire(&self, priority: Priority);

    /// Calls a second this budget allows at most, for sizing how many calls are kept
    /// in flight.
    fn calls_per_second(&self) -> f64;
}

/// A process on its own: every priority waits in the same line.
#[async_trait]
impl CallBudget for FinnhubLimiter {
    async fn acquire(&self, _priority: Priority) {
        self.until_ready().await;
    }

    fn calls_per_second(&self) -> f64 {
        let config = self.config();
        (f64::from(config.calls_per_minute.get()) / 60.0)
            .min(f64::from(config.calls_per_second.get()))
    }
}
