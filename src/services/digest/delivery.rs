//! Delivery: claims queued digests, makes their market data fresh, composes and sends
//! them through SES, and records each outcome with its audit record.
//!
//! At most one digest per person and day reaches SES (see docs/adr/0006):
//! - the job row is unique per (person, local date);
//! - a worker claims jobs under a lease (`claimed`: nothing sent yet, so an expired
//!   claim is simply re-queued);
//! - just before calling SES it commits `sending`; only a worker still holding that
//!   exact attempt may then finish the job;
//! - SES is called once per attempt with SDK retries off. An answer that proves the
//!   message was refused (throttling, paused sending, connection refused) re-queues
//!   the job; an ambiguous failure (a 5xx, a timeout, a dropped connection) and a
//!   `sending` lease that runs out (the worker died mid-call) both end the job as
//!   failed with "outcome unknown", never re-sent. A stopping process gives back what
//!   it claimed and finishes what it is sending.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use backon::{ExponentialBuilder, Retryable as _};
use chrono::{NaiveDate, Utc};
use futures_util::StreamExt as _;
use uuid::Uuid;

use super::{InputRequest, MarketSnapshot, compose, distinct_symbols, reconcile, unsubscribe_url};
use crate::backoff;
use crate::clients::mailer::{MailError, OutgoingEmail};
use crate::domain::{DigestStatus, DigestTrigger, Symbol};
use crate::repositories::digest_jobs::{self, ClaimedJobRow, RecipientRow, SendingContent};
use crate::services::audit;
use crate::services::etl;
use crate::state::AppState;

/// A `sending` job is declared "outcome unknown" once its worker has stopped renewing
/// its lease for this long (`QUOTIDIAN_DIGEST_LEASE_SECS`, default 150 s; see
/// `KeepLeases`): the worker died or was stopped inside the SES call.
fn sending_lease_secs(state: &AppState) -> f64 {
    state.config.digests.lease_secs as f64
}

/// A claim must outlast composing and pacing a whole batch (see `batch_size`).
pub fn claim_lease_secs(state: &AppState) -> f64 {
    2.0 * state.config.digests.lease_secs as f64
}

pub const UNKNOWN_OUTCOME: &str = "outcome unknown: the worker stopped while SES was being called; \
     not sent again, so that nobody gets two digests for one day";

pub const ACCOUNT_DELETED: &str = "not sent: the account was deleted first";

pub const DELETED_MID_SEND: &str = "outcome unknown: the account was deleted while the digest \
     was being sent and the worker did not report back; not sent again";

/// Records, in the deletion's transaction, the digests an account being deleted leaves
/// unfinished: their job rows go with the account, their delivery records must not.
/// Queued or claimed ones were never sent (`skipped`); one whose worker died inside the
/// SES call is "outcome unknown", as recovery would have recorded it; one inside the
/// SES call right now gets a record awaiting its worker's report, which the worker
/// completes on finding its job gone (see `try_finish`). The jobs are locked, so no
/// worker moves one on while this runs.
pub async fn record_unfinished_on_deletion(
    tx: &mut sqlx::PgConnection,
    user_id: Uuid,
) -> sqlx::Result<usize> {
    let unfinished = digest_jobs::lock_unfinished_for_user(tx, user_id).await?;
    let now = Utc::now();
    let mut ended = Vec::new();
    for found in &unfinished {
        let mut job = found.job.clone();
        job.finished_at = Some(now);
        match (job.status, found.lease_until) {
            (DigestStatus::Sending, Some(until)) if !found.lease_over => {
                job.status = DigestStatus::Failed;
                job.last_error = Some(DELETED_MID_SEND.into());
                audit::queue_awaiting_delivery(tx, &job, until).await?;
                continue;
            }
            (DigestStatus::Sending, _) => {
                job.status = DigestStatus::Failed;
                job.last_error = Some(UNKNOWN_OUTCOME.into());
            }
            _ => {
                job.status = DigestStatus::Skipped;
                job.last_error = Some(ACCOUNT_DELETED.into());
            }
        }
        ended.push(job);
    }
    let refs: Vec<_> = ended.iter().collect();
    audit::queue_deliveries(tx, &refs).await?;
    Ok(unfinished.len())
}

/// What one digest came to, for progress reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Failed,
    Skipped,
    /// Refused for now (throttling, a transient error): queued again.
    Retrying,
    /// This worker lost its claim; someone else has the job.
    Lost,
    /// Given back unsent: this process is shutting down.
    Released,
}

pub trait DeliveryProgress: Send + Sync {
    fn finished(&self, _outcome: Outcome) {}
}

pub struct Quiet;
impl DeliveryProgress for Quiet {}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchReport {
    pub claimed: usize,
    pub sent: usize,
    pub failed: usize,
    pub skipped: usize,
    pub retrying: usize,
    pub lost: usize,
    /// Claimed, then given back unsent because the process is stopping.
    pub released: usize,
    /// Jobs re-queued or failed by lease recovery before the batch.
    pub recovered: usize,
}

impl BatchReport {
    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Sent => self.sent += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::Retrying => self.retrying += 1,
            Outcome::Lost => self.lost += 1,
            Outcome::Released => self.released += 1,
        }
    }
}

/// Returns jobs whose worker disappeared: claims to the queue, sends in flight to
/// "failed, outcome unknown" (with their audit records).
pub async fn recover_expired(state: &AppState) -> anyhow::Result<usize> {
    let released = digest_jobs::release_expired_claims(&state.db).await? as usize;
    let mut tx = state.db.begin().await?;
    let stuck = digest_jobs::fail_expired_sending(&mut tx, 1000, UNKNOWN_OUTCOME).await?;
    let refs: Vec<_> = stuck.iter().collect();
    audit::queue_deliveries(&mut tx, &refs).await?;
    // SES's events may already have said what became of them.
    let ids: Vec<i64> = stuck.iter().map(|j| j.id).collect();
    let settled = reconcile::settle_new_unknowns(&mut tx, &ids).await?;
    tx.commit().await?;
    for job in &stuck {
        tracing::warn!(job_id = job.id, user_id = %job.user_id, "digest outcome unknown after a worker stopped mid-send");
        crate::metrics::digest_finished(DigestStatus::Failed);
    }
    if settled < stuck.len() {
        tracing::error!(
            unknown = stuck.len() - settled,
            settled,
            "digests left 'outcome unknown' by a stopped worker; SES events settle them if they arrive"
        );
    }
    if !stuck.is_empty() {
        state.audit_wakeup.notify_waiters();
    }
    Ok(released + stuck.len())
}

/// Tops up what the planner left missing for this batch (usually nothing: it keeps
/// every due digest's data fresh ahead of its due time), for at most
/// `QUOTIDIAN_DELIVERY_TOP_UP_SECS`. News only for symbols someone in the batch reads
/// news of, earnings only when someone reads them. Failures are logged, not fatal: a
/// ticker without data shows "data unavailable".
async fn top_up(
    state: &AppState,
    lists: &HashMap<Uuid, Vec<String>>,
    recipients: &HashMap<Uuid, RecipientRow>,
) {
    let mut symbols: Vec<Symbol> = Vec::new();
    let mut wanted = etl::Wanted::default();
    for (user_id, list) in lists {
        let reader = recipients.get(user_id);
        wanted.earnings |= reader.is_some_and(|r| r.include_earnings);
        for raw in list {
            let Ok(symbol) = Symbol::parse(raw) else {
                continue;
            };
            if reader.is_some_and(|r| r.include_news) {
                wanted.news.insert(raw.clone());
            }
            if !symbols.contains(&symbol) {
                symbols.push(symbol);
            }
        }
    }
    if symbols.is_empty() {
        return;
    }
    let within = Duration::from_secs(u64::from(state.config.etl.top_up_secs));
    match etl::top_up(state, &symbols, &wanted, within).await {
        Ok(Some(report)) => tracing::info!(
            run_id = report.run.id,
            planned = report.planned.values().sum::<u32>(),
            "a delivery batch fetched market data the planner had not"
        ),
        Ok(None) => {}
        Err(error) => {
            tracing::error!(error = ?error, "topping up market data failed; composing with the data loaded so far");
        }
    }
}

/// Claims up to `limit` ready digests and delivers them. Once the process is stopping
/// (`state.shutdown`), digests not yet being sent are given back to the queue at once;
/// the ones already in the SES call finish and are recorded.
pub async fn deliver_batch(
    state: &AppState,
    limit: i64,
    progress: &dyn DeliveryProgress,
) -> anyhow::Result<BatchReport> {
    let mut report = BatchReport {
        recovered: recover_expired(state).await?,
        ..BatchReport::default()
    };
    let jobs = digest_jobs::claim(&state.db, limit, claim_lease_secs(state)).await?;
    report.claimed = jobs.len();
    if jobs.is_empty() {
        return Ok(report);
    }
    // However long the market-data refresh or an SES call takes, the jobs stay this
    // worker's until the batch ends (the task is aborted when the guard drops).
    let _keep_alive = KeepLeases::spawn(state, &jobs);
    let user_ids: Vec<Uuid> = jobs.iter().map(|j| j.user_id).collect();
    let recipients: HashMap<Uuid, RecipientRow> = digest_jobs::recipients(&state.db, &user_ids)
        .await?
        .into_iter()
        .map(|r| (r.user_id, r))
        .collect();
    let mut lists: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (user_id, symbol) in digest_jobs::watchlists(&state.db, &user_ids).await? {
        lists.entry(user_id).or_default().push(symbol);
    }
    let symbols = distinct_symbols(lists.values());
    // A shutdown does not wait for the market-data top-up: the jobs are given back.
    tokio::select! {
        () = top_up(state, &lists, &recipients) => {}
        () = state.shutdown.cancelled() => {}
    }
    let first = jobs.iter().map(|j| j.local_date).min().expect("not empty");
    let last = jobs.iter().map(|j| j.local_date).max().expect("not empty");
    let snapshot = Arc::new(
        MarketSnapshot::load(state, &symbols, Utc::now(), first, last)
            .await
            .context("loading market data for a digest batch")?,
    );
    let empty = Vec::new();
    let outcomes: Vec<Outcome> = futures_util::stream::iter(jobs)
        .map(|job| {
            let recipient = recipients.get(&job.user_id);
            let symbols = lists.get(&job.user_id).unwrap_or(&empty);
            let snapshot = snapshot.clone();
            async move {
                let outcome = deliver_one(state, &snapshot, recipient, symbols, &job).await;
                progress.finished(outcome);
                outcome
            }
        })
        .buffer_unordered(state.config.digests.concurrency)
        .collect()
        .await;
    for outcome in outcomes {
        report.count(outcome);
    }
    if report.sent + report.failed + report.skipped > 0 {
        state.audit_wakeup.notify_waiters();
    }
    Ok(report)
}

/// Renews a batch's leases while the batch runs: its claims (so a slow refresh or a
/// long paced send never lets another worker take the jobs over, and count an attempt
/// for each, while this one still means to send them) and the leases of its digests
/// inside the SES call (so a slow call on a loaded machine is not declared "outcome
/// unknown" while its worker still waits for the answer). Every third of the sending
/// lease; only a worker that died stops renewing.
struct KeepLeases(tokio::task::JoinHandle<()>);

impl KeepLeases {
    fn spawn(state: &AppState, jobs: &[ClaimedJobRow]) -> Self {
        let db = state.db.clone();
        let claim = claim_lease_secs(state);
        let sending = sending_lease_secs(state);
        let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
        let attempts: Vec<i32> = jobs.iter().map(|j| j.attempts).collect();
        Self(tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs_f64(sending / 3.0));
            every.tick().await;
            loop {
                every.tick().await;
                match digest_jobs::extend_leases(&db, &ids, &attempts, claim, sending).await {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(error = ?error, "could not renew the batch's leases");
                    }
                }
            }
        }))
    }
}

impl Drop for KeepLeases {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why a claimed digest is not sent at all, if it is not.
fn skip_reason(job: &ClaimedJobRow, recipient: &RecipientRow) -> Option<String> {
    if let Some(reason) = &recipient.suppressed {
        return Some(format!(
            "address suppressed after a {reason} reported by SES; not sent"
        ));
    }
    if !recipient.confirmed {
        return Some("address not confirmed".into());
    }
    if recipient.unsubscribed && job.trigger != DigestTrigger::SendNow {
        return Some("unsubscribed".into());
    }
    if recipient.paused && job.trigger != DigestTrigger::SendNow {
        return Some("paused".into());
    }
    None
}

fn local_today(recipient: &RecipientRow) -> Option<NaiveDate> {
    let tz: chrono_tz::Tz = recipient.time_zone.parse().ok()?;
    Some(Utc::now().with_timezone(&tz).date_naive())
}

#[tracing::instrument(name = "digest.deliver", skip_all, fields(job_id = job.id, user_id = %job.user_id, attempt = job.attempts))]
async fn deliver_one(
    state: &AppState,
    snapshot: &MarketSnapshot,
    recipient: Option<&RecipientRow>,
    symbols: &[String],
    job: &ClaimedJobRow,
) -> Outcome {
    let Some(recipient) = recipient else {
        // The account was deleted after the job was claimed; its job row went with it.
        return Outcome::Lost;
    };
    if state.shutdown.is_cancelled() {
        return release(state, job).await;
    }
    if let Some(reason) = skip_reason(job, recipient) {
        return finish(state, job, DigestStatus::Skipped, Some(&reason), None).await;
    }
    if local_today(recipient).is_some_and(|today| today > job.local_date) {
        let reason = format!("not sent: {} ended before it could be sent", job.local_date);
        return finish(state, job, DigestStatus::Failed, Some(&reason), None).await;
    }
    let input = snapshot.input(&InputRequest {
        local_date: job.local_date,
        symbols,
        include_news: recipient.include_news,
        include_earnings: recipient.include_earnings,
        sample_source: state.market_source.is_sample(),
        unsubscribe_url: Some(unsubscribe_url(state, job.user_id)),
    });
    let composed = match compose(&input) {
        Ok(c) => c,
        Err(error) => {
            let reason = format!("could not compose the digest: {error:#}");
            return finish(state, job, DigestStatus::Failed, Some(&reason), None).await;
        }
    };
    let hash = audit::content_hash(&composed.subject, &composed.html, &composed.text);
    let unsubscribe = input.unsubscribe_url.clone().unwrap_or_default();
    // Waiting for the pacer is the last moment to give the job back on a shutdown.
    tokio::select! {
        () = state.ses_pacer.until_ready() => {}
        () = state.shutdown.cancelled() => return release(state, job).await,
    }
    // A fresh token per attempt: SES tags its events about this message with it.
    let send_token = Uuid::new_v4();
    let content = SendingContent {
        send_token,
        recipient: &recipient.email,
        subject: &composed.subject,
        html: &composed.html,
        text: &composed.text,
        content_hash: &hash,
    };
    match digest_jobs::mark_sending(
        &state.db,
        job.id,
        job.attempts,
        sending_lease_secs(state),
        &content,
    )
    .await
    {
        Ok(true) => {}
        Ok(false) => return Outcome::Lost,
        Err(error) => {
            // Nothing was sent; the claim expires and the job is taken again.
            tracing::error!(error = ?error, "could not mark the digest as sending");
            return Outcome::Lost;
        }
    }
    let email = OutgoingEmail {
        from: state.config.ses.sender.clone(),
        to: recipient.email.clone(),
        subject: composed.subject,
        html: composed.html,
        text: composed.text,
        headers: vec![
            ("List-Unsubscribe".into(), format!("<{unsubscribe}>")),
            (
                "List-Unsubscribe-Post".into(),
                "List-Unsubscribe=One-Click".into(),
            ),
        ],
        tags: reconcile::digest_tags(send_token),
    };
    // SES latency and outcome are counted by the SES adapter itself.
    match state.mailer.send(&email).await {
        Ok(message_id) => finish(state, job, DigestStatus::Sent, None, Some(&message_id)).await,
        Err(error @ MailError::Transient(_)) => {
            let max = state.config.digests.max_attempts as i32;
            if job.attempts >= max {
                let reason = format!("gave up after {} attempts: {error}", job.attempts);
                return finish(state, job, DigestStatus::Failed, Some(&reason), None).await;
            }
            let delay = retry_delay_ms(state.config.digests.retry_base_ms, job.attempts);
            tracing::warn!(error = %error, delay_ms = delay, "SES refused the digest for now; will retry");
            match digest_jobs::retry_later(
                &state.db,
                job.id,
                job.attempts,
                &error.to_string(),
                delay,
            )
            .await
            {
                Ok(true) => {
                    state.digest_wakeup.notify_waiters();
                    Outcome::Retrying
                }
                // No longer ours (recovery ended it: nothing more to record), or gone
                // with its account, whose deletion left a record awaiting this outcome.
                Ok(false) => {
                    let reason =
                        format!("{error}; not tried again: the account was deleted meanwhile");
                    finish(state, job, DigestStatus::Failed, Some(&reason), None).await
                }
                Err(db_error) => {
                    // Still `sending`: recovery will record it as "outcome unknown",
                    // which is wrong only in the safe direction.
                    tracing::error!(error = ?db_error, "could not re-queue the digest");
                    Outcome::Lost
                }
            }
        }
        Err(error @ MailError::Permanent(_)) => {
            finish(
                state,
                job,
                DigestStatus::Failed,
                Some(&error.to_string()),
                None,
            )
            .await
        }
        Err(error @ MailError::Unknown(_)) => {
            let reason =
                format!("{error}; not sent again, so that nobody gets two digests for one day");
            finish_unknown(state, job, &reason).await
        }
    }
}

/// Gives a claimed job back to the queue unsent (this process is stopping).
async fn release(state: &AppState, job: &ClaimedJobRow) -> Outcome {
    match digest_jobs::release_claim(&state.db, job.id, job.attempts).await {
        Ok(true) => Outcome::Released,
        Ok(false) => Outcome::Lost,
        Err(error) => {
            // The claim's lease runs out and another worker takes it; nothing was sent.
            tracing::warn!(error = ?error, "could not give the digest back; its claim will expire");
            Outcome::Lost
        }
    }
}

/// Backoff before attempt n+1: base, 2×base, 4×base ... capped at 10 minutes, with up
/// to 20% jitter so throttled workers do not return in step.
pub fn retry_delay_ms(base_ms: u64, attempts: i32) -> u64 {
    let delay = backoff::exponential(
        Duration::from_millis(base_ms),
        attempts,
        Duration::from_secs(600),
    );
    backoff::jittered(delay).as_millis() as u64
}

/// Records a final outcome and its audit record in one transaction, retrying the
/// database for a while: after SES accepted a digest, losing that fact would turn a
/// sent digest into an "outcome unknown" one.
async fn finish(
    state: &AppState,
    job: &ClaimedJobRow,
    status: DigestStatus,
    error: Option<&str>,
    message_id: Option<&str>,
) -> Outcome {
    record(state, job, status, error, message_id, false).await
}

/// Records that the SES call ended without proof either way: `failed`, "outcome
/// unknown", until SES's events settle it (`reconcile`).
async fn finish_unknown(state: &AppState, job: &ClaimedJobRow, reason: &str) -> Outcome {
    record(state, job, DigestStatus::Failed, Some(reason), None, true).await
}

async fn record(
    state: &AppState,
    job: &ClaimedJobRow,
    status: DigestStatus,
    error: Option<&str>,
    message_id: Option<&str>,
    unknown: bool,
) -> Outcome {
    // 8 attempts over about 40 s: 200 ms, 400 ms ... capped at 10 s between them.
    let recorded = (|| try_finish(state, job, status, error, message_id, unknown))
        .retry(
            ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(200))
                .with_max_delay(Duration::from_secs(10))
                .with_max_times(7),
        )
        .notify(|e, delay| {
            tracing::warn!(error = ?e, delay_ms = delay.as_millis() as u64, "recording the digest outcome failed; retrying");
        })
        .await;
    match recorded {
        Ok(true) => {
            crate::metrics::digest_finished(status);
            if let Some(why) = error {
                tracing::warn!(status = status.as_str(), reason = why, "digest not sent");
            }
            match status {
                DigestStatus::Sent => Outcome::Sent,
                DigestStatus::Skipped => Outcome::Skipped,
                _ => Outcome::Failed,
            }
        }
        Ok(false) => Outcome::Lost,
        Err(e) => {
            tracing::error!(error = ?e, status = status.as_str(), "could not record the digest outcome");
            Outcome::Lost
        }
    }
}

async fn try_finish(
    state: &AppState,
    job: &ClaimedJobRow,
    status: DigestStatus,
    error: Option<&str>,
    message_id: Option<&str>,
    unknown: bool,
) -> anyhow::Result<bool> {
    let mut tx = state.db.begin().await?;
    let Some(row) = digest_jobs::finish(
        &mut tx,
        job.id,
        job.attempts,
        status,
        error,
        message_id,
        unknown,
    )
    .await?
    else {
        // Not ours any more: recovery ended it (and recorded it), or its account was
        // deleted while it was being sent, and the deletion left a delivery record
        // awaiting this outcome. Only a job that was `sending` has one.
        let completed = audit::complete_awaiting_delivery(
            &mut tx,
            job.id,
            job.attempts,
            status,
            error,
            message_id,
        )
        .await?;
        tx.commit().await?;
        if completed {
            tracing::info!(
                job_id = job.id,
                status = status.as_str(),
                "digest outcome recorded after its account was deleted"
            );
        }
        return Ok(completed);
    };
    audit::queue_deliveries(&mut tx, &[&row]).await?;
    if unknown {
        reconcile::settle_new_unknowns(&mut tx, &[row.id]).await?;
    }
    tx.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_with_bounded_jitter() {
        for attempts in 1..6 {
            let d = retry_delay_ms(1000, attempts);
            let base = 1000 << (attempts - 1);
            assert!(d >= base && d <= base + base / 5, "{attempts}: {d}");
        }
        assert!(retry_delay_ms(1000, 40) <= 720_000);
    }
}
