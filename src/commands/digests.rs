//! `quotidian run` (one digest run now, in the foreground), `quotidian worker` (the
//! background loops without HTTP) and `quotidian setup-audit` (the S3 bucket).

use std::time::{Duration, Instant};

use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};

use crate::clients::audit::S3AuditStore;
use crate::config::Config;
use crate::domain::DigestTrigger;
use crate::repositories::{audit_outbox, digest_jobs};
use crate::services::audit;
use crate::services::digest::delivery::{self, BatchReport, DeliveryProgress, Outcome};
use crate::services::digest::schedule;
use crate::startup;
use crate::workers;

struct Bar(ProgressBar);

impl DeliveryProgress for Bar {
    fn finished(&self, outcome: Outcome) {
        if !matches!(
            outcome,
            Outcome::Retrying | Outcome::Lost | Outcome::Released
        ) {
            self.0.inc(1);
        }
    }
}

/// How long `run` waits for digests that SES refused for now before it reports them
/// as still queued (the workers of `serve`/`worker` carry on with them).
const RETRY_PATIENCE: Duration = Duration::from_secs(600);

/// How long `quotidian run`'s batches fetch missing market data, unless
/// `QUOTIDIAN_DELIVERY_TOP_UP_SECS` says otherwise.
const RUN_TOP_UP_SECS: u32 = 120;

/// Schedules whoever is due now, sends every ready digest with a progress bar, puts
/// the audit records to S3, and prints a summary.
/// Schedules who is due and sends until the queue is empty. On SIGTERM/SIGINT
/// (`stop`) it stops as `worker` does: claimed digests go back to the queue at once,
/// those inside the SES call finish and are recorded, and it reports what is left.
pub async fn run(
    config: Config,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<bool> {
    let mut config = config;
    // `run` may have no planner fetching ahead of it (no `serve` or `worker` running):
    // unless told otherwise, its batches wait up to two minutes for the market data
    // they lack rather than the service's 10 s.
    if std::env::var_os("QUOTIDIAN_DELIVERY_TOP_UP_SECS").is_none() {
        config.etl.top_up_secs = RUN_TOP_UP_SECS;
    }
    let state = startup::headless_state(config).await?;
    let loops = workers::spawn_all(&state, workers::Loops::DigestRun);
    let shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        stop.await;
        shutdown.cancel();
    });
    let started = Instant::now();
    if state.market_source.is_sample() {
        println!(
            "Using the built-in SAMPLE market data (no FINNHUB_API_KEY set): digests are labelled as sample data."
        );
    }
    let scheduled = schedule::schedule_due(&state, DigestTrigger::Manual, Utc::now()).await?;
    let (waiting, _) = digest_jobs::unfinished(&state.db).await?;
    println!(
        "{} due, {} queued now, {} missed (due on a day that has ended); {} digests to send at {} a second.",
        scheduled.due,
        scheduled.queued,
        scheduled.missed,
        waiting,
        state.ses_pacer_rate()
    );
    let bar = ProgressBar::new(waiting as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} sending [{bar:40}] {pos}/{len} digests, {per_sec}, {elapsed}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let progress = Bar(bar.clone());
    let mut total = BatchReport::default();
    let patience = Instant::now() + RETRY_PATIENCE;
    loop {
        let r = delivery::deliver_batch(&state, workers::digests::batch_size(&state), &progress)
            .await?;
        total.claimed += r.claimed;
        total.sent += r.sent;
        total.failed += r.failed;
        total.skipped += r.skipped;
        total.recovered += r.recovered;
        if state.shutdown.is_cancelled() {
            break;
        }
        if r.claimed > 0 {
            continue;
        }
        let (left, next) = digest_jobs::unfinished(&state.db).await?;
        if left == 0 || Instant::now() >= patience {
            break;
        }
        // Waiting out a retry delay (throttling) or another worker's lease.
        let wait = next
            .map(|t| (t - Utc::now()).to_std().unwrap_or_default())
            .unwrap_or(Duration::from_secs(1))
            .clamp(Duration::from_millis(50), Duration::from_secs(5));
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = state.shutdown.cancelled() => break,
        }
    }
    bar.finish_and_clear();
    if state.shutdown.is_cancelled() {
        println!(
            "Stopped: digests not yet being sent went back to the queue; serve or worker sends them."
        );
    }
    // Stopping: the audit records get what is left of the grace period; any process
    // writes the rest later.
    let flush_for = if state.shutdown.is_cancelled() {
        state.config.digests.shutdown_grace()
    } else {
        Duration::from_secs(60)
    };
    // The audit loop wrote records as the run went; it stops now, and a last pass
    // writes what the run's final outcomes added.
    loops.shutdown(&state, flush_for).await;
    let flushed = audit::flush_all(&state, flush_for).await?;
    let backlog = audit_outbox::backlog(&state.db).await?;
    let (left, _) = digest_jobs::unfinished(&state.db).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "Digest run {} in {:.1} s: {} sent, {} failed, {} skipped, {} still queued.",
        scheduled
            .run_id
            .map_or_else(|| "(nobody was due)".to_owned(), |id| id.to_string()),
        secs,
        total.sent,
        total.failed,
        total.skipped,
        left
    );
    println!(
        "Audit: records written to s3://{} as the run went ({} in the last pass, {} already there), {} waiting in the outbox{}.",
        state.config.s3.bucket,
        flushed.written,
        flushed.already_there,
        backlog,
        if backlog > 0 {
            " (S3 unreachable? they are retried by serve/worker)"
        } else {
            ""
        }
    );
    Ok(total.failed == 0 && left == 0)
}

/// The scheduler, delivery, audit and email workers, without the HTTP API. On
/// SIGTERM/SIGINT it stops taking work, finishes what is in flight within
/// `QUOTIDIAN_SHUTDOWN_GRACE_SECS`, and exits 0.
pub async fn worker(
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let metrics_listener = startup::bind_metrics(&config).await?;
    let state = startup::headless_state(config).await?;
    tracing::info!("quotidian worker started");
    let workers = workers::spawn_all(&state, workers::Loops::Service { digests: true });
    let metrics = metrics_listener.map(|listener| {
        tokio::spawn(crate::routers::metrics::serve_own_listener(
            listener,
            state.clone(),
            state.shutdown.clone().cancelled_owned(),
        ))
    });
    // A loop that keeps failing ends the process with an error, so the supervisor
    // (systemd, Kubernetes) restarts it and an operator sees it.
    let dead = tokio::select! {
        () = shutdown => None,
        () = state.loops.any_dead() => Some(state.loops.dead()),
    };
    tracing::info!("stopping: no new work is taken; finishing what is in flight");
    workers
        .shutdown(&state, state.config.digests.shutdown_grace())
        .await;
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    if let Some(dead) = dead {
        anyhow::bail!("background loops stopped for good: {}", dead.join(", "));
    }
    Ok(())
}

/// Creates the audit bucket (with Object Lock when asked) and its lifecycle rule.
pub async fn setup_audit(
    config: Config,
    object_lock_days: Option<u32>,
    glacier_after_days: Option<u32>,
) -> anyhow::Result<()> {
    let store = S3AuditStore::from_env(config.s3.bucket.clone()).await;
    store
        .ensure_bucket(object_lock_days, glacier_after_days)
        .await?;
    println!(
        "Audit bucket s3://{} is ready (Object Lock: {}, lifecycle to Glacier: {}).",
        store.bucket(),
        object_lock_days.map_or("off".into(), |d| format!("{d} days, governance mode")),
        glacier_after_days.map_or("off".into(), |d| format!("after {d} days")),
    );
    Ok(())
}
