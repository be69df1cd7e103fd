//! Background loops that run inside `serve` and `worker`, supervised: a loop that
//! panics or returns while the process is not stopping is started again; one that
//! keeps failing is declared dead, which `/readyz` reports and which makes `worker`
//! exit non-zero. On a shutdown (`Workers::shutdown`) the loops stop taking work,
//! finish what is in flight within a deadline, and return.

pub mod digests;
pub mod email_outbox;
pub mod health;
pub mod maintenance;
pub mod market;

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::state::AppState;
pub use health::{LoopHealth, LoopState};

/// A loop restarted this many times within `RESTART_WINDOW` is given up on.
const MAX_RESTARTS: usize = 5;
const RESTART_WINDOW: Duration = Duration::from_secs(600);

/// Runs `make()` as a task until the process stops, starting it again when it panics
/// or returns early; after `MAX_RESTARTS` within ten minutes it is declared dead.
pub fn supervise<F, Fut>(state: &AppState, name: &'static str, make: F) -> JoinHandle<()>
where
    F: Fn(AppState) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let state = state.clone();
    tokio::spawn(async move {
        let mut restarts: Vec<Instant> = Vec::new();
        loop {
            state.loops.set(name, LoopState::Running);
            let outcome = tokio::spawn(make(state.clone())).await;
            if state.shutdown.is_cancelled() {
                state.loops.set(name, LoopState::Stopped);
                return;
            }
            match outcome {
                Ok(()) => {
                    tracing::error!(worker = name, "a background loop returned; restarting it")
                }
                Err(e) if e.is_panic() => {
                    tracing::error!(worker = name, "a background loop panicked; restarting it");
                }
                Err(_) => tracing::error!(
                    worker = name,
                    "a background loop was cancelled; restarting it"
                ),
            }
            crate::metrics::worker_restarted(name);
            let now = Instant::now();
            restarts.retain(|t| now.duration_since(*t) < RESTART_WINDOW);
            restarts.push(now);
            if restarts.len() > MAX_RESTARTS {
                tracing::error!(
                    worker = name,
                    restarts = restarts.len(),
                    "a background loop keeps failing; giving up on it"
                );
                state.loops.set(name, LoopState::Dead);
                return;
            }
            // A moment's pause, so a loop failing at once does not spin.
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = state.shutdown.cancelled() => {
                    state.loops.set(name, LoopState::Stopped);
                    return;
                }
            }
        }
    })
}

/// The supervised loops of one process.
pub struct Workers {
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

/// Which supervised loops a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loops {
    /// `serve` and `worker`: the email outbox, maintenance and metrics upkeep loops and,
    /// with `digests`, the scheduler, delivery, audit and market-data planner loops.
    Service { digests: bool },
    /// `run`: the audit loop only, beside the run's own delivery in the foreground (it
    /// schedules once and sends with a progress bar), so the audit records reach S3
    /// while the run sends rather than all at its end.
    DigestRun,
}

/// Starts the loops `loops` names. Each watches `state.shutdown`, the process's one
/// cancellation token; `Workers::shutdown` cancels it and waits for them.
pub fn spawn_all(state: &AppState, loops: Loops) -> Workers {
    let digests = match loops {
        Loops::Service { digests } => digests,
        Loops::DigestRun => {
            return Workers {
                tasks: vec![("audit", supervise(state, "audit", digests::flusher))],
            };
        }
    };
    let mut tasks = vec![
        (
            "email_outbox",
            supervise(state, "email_outbox", email_outbox::run),
        ),
        (
            "maintenance",
            supervise(state, "maintenance", maintenance::run),
        ),
        (
            "metrics_upkeep",
            supervise(state, "metrics_upkeep", |s: AppState| async move {
                tokio::select! {
                    () = crate::metrics::run_upkeep() => {}
                    () = s.shutdown.cancelled() => {}
                }
            }),
        ),
    ];
    if digests {
        tasks.push((
            "scheduler",
            supervise(state, "scheduler", digests::scheduler),
        ));
        tasks.push(("delivery", supervise(state, "delivery", digests::deliverer)));
        tasks.push(("audit", supervise(state, "audit", digests::flusher)));
        tasks.push((
            "market_planner",
            supervise(state, "market_planner", market::planner),
        ));
    }
    Workers { tasks }
}

impl Workers {
    /// Stops the loops: they take no new work, and what is in flight (a digest in its
    /// SES call, an email being sent) finishes and is recorded. Loops still running
    /// after `grace` are aborted (their leases make that safe, at the price ADR 0006
    /// describes).
    pub async fn shutdown(self, state: &AppState, grace: Duration) {
        state.shutdown.cancel();
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + grace;
        for (name, mut task) in self.tasks {
            match tokio::time::timeout_at(deadline, &mut task).await {
                Ok(_) => {}
                Err(_) => {
                    tracing::error!(
                        worker = name,
                        grace_secs = grace.as_secs(),
                        "a background loop did not stop in time; aborting it"
                    );
                    task.abort();
                }
            }
        }
        tracing::info!(
            took_ms = started.elapsed().as_millis() as u64,
            "background loops stopped"
        );
    }
}
