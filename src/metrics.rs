//! Prometheus metrics: the process-wide recorder, and one function per thing we count,
//! so metric names and labels are spelled in this file only.
//!
//! The `metrics` facade has one global recorder per process, so ours is installed
//! once, on first use, and shared by every app in the process (the API tests start
//! many). Each recording function installs it itself: a count taken before the first
//! scrape would otherwise go to the facade's no-op recorder and be lost.

use std::sync::OnceLock;
use std::time::Duration;

use ::metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;

use crate::domain::DigestStatus;
use crate::repositories;

const DIGESTS: &str = "quotidian_digests_total";
const SES_SEND: &str = "quotidian_ses_send_seconds";
const FINNHUB_CALLS: &str = "quotidian_finnhub_calls_total";
const FINNHUB_RATE_LIMITED: &str = "quotidian_finnhub_rate_limited_total";
const OUTBOX_BACKLOG: &str = "quotidian_outbox_backlog";
const WORKER_RESTARTS: &str = "quotidian_worker_restarts_total";
const DIGESTS_RECONCILED: &str = "quotidian_digests_reconciled_total";

/// 1 ms to 10 s: SES answers in tens of milliseconds, and 10 s is the SDK's timeout
/// for one attempt.
const SES_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A scrape must answer even when the database does not.
const BACKLOG_QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// How often histogram samples are folded into their buckets between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (idempotent) and returns the handle used to render.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(install)
}

fn builder() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(SES_SEND.to_owned()), SES_BUCKETS)
        .expect("the bucket list is not empty")
}

fn install() -> PrometheusHandle {
    let recorder = builder().build_recorder();
    let handle = recorder.handle();
    if let Err(error) = ::metrics::set_global_recorder(recorder) {
        // Only code outside this module can have taken the slot. Serving an empty
        // exposition beats refusing to start over it.
        tracing::error!(error = %error, "another metrics recorder is installed; /metrics will not show Quotidian's metrics");
        return handle;
    }
    describe();
    handle
}

/// The HELP lines of the exposition.
fn describe() {
    describe_counter!(
        DIGESTS,
        Unit::Count,
        "Digests that reached a final state, by outcome (sent, failed, skipped, missed)."
    );
    describe_histogram!(
        SES_SEND,
        Unit::Seconds,
        "Duration of SES SendEmail calls, by result (ok, throttled, transient, permanent, unknown)."
    );
    describe_counter!(
        FINNHUB_CALLS,
        Unit::Count,
        "HTTP requests to Finnhub, retries included, by endpoint and status (0: no response)."
    );
    describe_counter!(
        FINNHUB_RATE_LIMITED,
        Unit::Count,
        "Finnhub requests answered with 429."
    );
    describe_counter!(
        WORKER_RESTARTS,
        Unit::Count,
        "Background loops started again after they panicked or returned, by loop."
    );
    describe_counter!(
        DIGESTS_RECONCILED,
        Unit::Count,
        "Digests whose SES outcome was unknown and SES's own events settled, by what they proved (sent, failed)."
    );
    describe_gauge!(
        OUTBOX_BACKLOG,
        Unit::Count,
        "Rows waiting in an outbox (email, audit, digest_jobs), as of the last scrape."
    );
}

/// A supervised background loop was started again.
pub fn worker_restarted(name: &'static str) {
    handle();
    counter!(WORKER_RESTARTS, "worker" => name).increment(1);
}

/// One digest reached a final state (sent, failed, skipped, missed).
pub fn digest_finished(outcome: DigestStatus) {
    handle();
    counter!(DIGESTS, "outcome" => outcome.as_str()).increment(1);
}

/// SES's events settled a digest whose outcome was unknown: sent or failed.
pub fn digest_reconciled(outcome: DigestStatus) {
    handle();
    counter!(DIGESTS_RECONCILED, "outcome" => outcome.as_str()).increment(1);
}

/// Time one SES SendEmail call took, and whether it succeeded ("ok", "throttled", "transient", "permanent", "unknown").
pub fn ses_send(latency: Duration, result: &'static str) {
    handle();
    ::metrics::histogram!(SES_SEND, "result" => result).record(latency.as_secs_f64());
}

/// One HTTP call to Finnhub finished with this status (200, 429, 500...; 0 for no response).
pub fn finnhub_call(endpoint: &str, status: u16) {
    handle();
    counter!(FINNHUB_CALLS, "endpoint" => endpoint.to_owned(), "status" => status.to_string())
        .increment(1);
    if status == 429 {
        counter!(FINNHUB_RATE_LIMITED).increment(1);
    }
}

/// Pending rows in an outbox: kind is "email", "audit" or "digest_jobs".
pub fn outbox_backlog(kind: &'static str, pending: i64) {
    handle();
    // Counts stay far below 2^53, where f64 would start rounding.
    gauge!(OUTBOX_BACKLOG, "kind" => kind).set(pending as f64);
}

/// Sets the backlog gauges from the database. A failure is logged and the gauges keep
/// their previous values: a scrape reports what it can rather than failing.
pub async fn refresh_backlog(db: &PgPool) {
    match tokio::time::timeout(
        BACKLOG_QUERY_TIMEOUT,
        repositories::metrics::outbox_backlog(db),
    )
    .await
    {
        Ok(Ok(backlog)) => {
            outbox_backlog("email", backlog.email);
            if let Some(pending) = backlog.audit {
                outbox_backlog("audit", pending);
            }
            if let Some(pending) = backlog.digest_jobs {
                outbox_backlog("digest_jobs", pending);
            }
        }
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "metrics: counting the outbox backlog failed");
        }
        Err(_) => tracing::warn!("metrics: counting the outbox backlog timed out"),
    }
}

/// Folds recorded histogram samples into their buckets now and then, so memory stays
/// flat when nobody scrapes (rendering does the same on every scrape).
pub async fn run_upkeep() {
    let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        handle().run_upkeep();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `record` against a recorder of its own, built like the global one, and
    /// renders it: exact values, whatever other tests record meanwhile.
    fn render_alone(record: impl FnOnce()) -> String {
        // Installed first, so its descriptions go to the global recorder and not to
        // the local one below.
        handle();
        let recorder = builder().build_recorder();
        let rendered = recorder.handle();
        ::metrics::with_local_recorder(&recorder, || {
            describe();
            record();
        });
        rendered.render()
    }

    #[test]
    fn recorded_values_render_as_prometheus_text_with_help_lines() {
        let text = render_alone(|| {
            finnhub_call("/quote", 429);
            finnhub_call("/quote", 429);
            finnhub_call("/quote", 200);
            finnhub_call("/quote", 0);
            digest_finished(DigestStatus::Sent);
            ses_send(Duration::from_millis(40), "ok");
            ses_send(Duration::from_secs(3), "throttled");
            outbox_backlog("email", 7);
        });
        for line in [
            r#"quotidian_finnhub_calls_total{endpoint="/quote",status="429"} 2"#,
            r#"quotidian_finnhub_calls_total{endpoint="/quote",status="200"} 1"#,
            r#"quotidian_finnhub_calls_total{endpoint="/quote",status="0"} 1"#,
            "quotidian_finnhub_rate_limited_total 2",
            r#"quotidian_digests_total{outcome="sent"} 1"#,
            r#"quotidian_outbox_backlog{kind="email"} 7"#,
            // A real histogram with our buckets, not a summary with quantiles.
            "# TYPE quotidian_ses_send_seconds histogram",
            r#"quotidian_ses_send_seconds_bucket{result="ok",le="0.001"} 0"#,
            r#"quotidian_ses_send_seconds_bucket{result="ok",le="0.05"} 1"#,
            r#"quotidian_ses_send_seconds_bucket{result="throttled",le="2.5"} 0"#,
            r#"quotidian_ses_send_seconds_bucket{result="throttled",le="5"} 1"#,
            r#"quotidian_ses_send_seconds_count{result="throttled"} 1"#,
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing `{line}` in:\n{text}"
            );
        }
        for name in [
            DIGESTS,
            SES_SEND,
            FINNHUB_CALLS,
            FINNHUB_RATE_LIMITED,
            OUTBOX_BACKLOG,
        ] {
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "no HELP for {name}:\n{text}"
            );
        }
    }

    #[test]
    fn only_a_429_counts_as_rate_limited() {
        let text = render_alone(|| {
            for status in [200, 0, 500, 401] {
                finnhub_call("/quote", status);
            }
        });
        assert!(
            !text.contains("quotidian_finnhub_rate_limited_total "),
            "{text}"
        );
    }

    #[test]
    fn the_global_handle_is_installed_once_and_renders() {
        assert!(std::ptr::eq(handle(), handle()));
        digest_finished(DigestStatus::Missed);
        assert!(
            handle()
                .render()
                .contains(r#"quotidian_digests_total{outcome="missed"}"#)
        );
    }
}
