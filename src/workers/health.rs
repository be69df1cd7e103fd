//! Which background loops run and which have died for good: what `/readyz` reports
//! and what makes `worker` exit non-zero. Kept apart from the loops themselves, so the
//! application state can hold it without depending on them.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Which loops run, and which have died for good.
#[derive(Debug, Default)]
pub struct LoopHealth {
    loops: Mutex<BTreeMap<&'static str, LoopState>>,
    dead: tokio::sync::Notify,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopState {
    Running,
    /// Stopped on a shutdown, as asked.
    Stopped,
    /// Failed too often; not restarted.
    Dead,
}

impl LoopHealth {
    pub(super) fn set(&self, name: &'static str, state: LoopState) {
        self.loops
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name, state);
        if state == LoopState::Dead {
            self.dead.notify_waiters();
        }
    }

    /// The loops that died, by name.
    pub fn dead(&self) -> Vec<&'static str> {
        self.loops
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|(_, s)| **s == LoopState::Dead)
            .map(|(n, _)| *n)
            .collect()
    }

    /// Resolves once some loop has died.
    pub async fn any_dead(&self) {
        loop {
            let notified = self.dead.notified();
            if !self.dead().is_empty() {
                return;
            }
            notified.await;
        }
    }
}
