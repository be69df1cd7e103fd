//! The audit trail: the `AuditStore` trait and its Amazon S3 implementation.
//!
//! Records are write-once. `put_once` is a conditional write (`If-None-Match: *`), so a
//! record is never overwritten, and nothing here deletes one. A caller that re-sends a
//! record after a crash gets `AlreadyThere` and treats it as done: the outbox that feeds
//! this store can then be at-least-once while the bucket holds each record exactly once.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::create_bucket::CreateBucketError;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, CreateBucketConfiguration,
    DefaultRetention, ExpirationStatus, LifecycleRule, LifecycleRuleFilter,
    ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetentionMode, ObjectLockRule,
    Transition, TransitionStorageClass,
};
use backon::{ExponentialBuilder, Retryable as _};

/// What a `put_once` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// This call stored the record.
    Written,
    /// A record under that key was already stored (by an earlier attempt, or anyone
    /// else); it was left as it was.
    AlreadyThere,
}

/// Why an audit-store call failed, split by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Worth retrying later: throttling, a 5xx, a timeout, the network, a conflicting
    /// concurrent write that outlasted our own retries.
    #[error("transient: {0}")]
    Transient(String),
    /// Retrying will not help: access denied, no such bucket, a malformed request.
    #[error("permanent: {0}")]
    Permanent(String),
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Stores `body` under `key` unless something is stored there already. Never
    /// overwrites.
    async fn put_once(
        &self,
        key: &str,
        body: &[u8],
        content_type: &str,
    ) -> Result<PutOutcome, AuditError>;
}

/// Name of the lifecycle rule `ensure_bucket` installs.
const LIFECYCLE_RULE_ID: &str = "quotidian-audit-to-glacier";

pub struct S3AuditStore {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3AuditStore {
    /// Builds a client from the standard AWS environment (`AWS_REGION`,
    /// `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_S3`, credentials chain).
    pub async fn from_env(bucket: impl Into<String>) -> Self {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(10))
            .operation_timeout(Duration::from_secs(30))
            .build();
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .timeout_config(timeouts)
            .load()
            .await;
        Self::from_sdk_config(&shared, bucket)
    }

    /// Builds a client from an already loaded AWS configuration.
    pub fn from_sdk_config(shared: &aws_config::SdkConfig, bucket: impl Into<String>) -> Self {
        // Path-style addressing (`endpoint/bucket/key`): emulators and custom endpoints
        // have no per-bucket DNS names. Real S3 still serves it for bucket names without
        // dots, which is all we use.
        let config = aws_sdk_s3::config::Builder::from(shared)
            .force_path_style(true)
            .build();
        Self::new(aws_sdk_s3::Client::from_conf(config), bucket)
    }

    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Creates the bucket if it is missing and applies the retention settings; safe to
    /// run again (`quotidian audit setup`).
    ///
    /// - `object_lock_days`: the bucket is created with Object Lock, and every new
    ///   record gets a default retention of that many days in GOVERNANCE mode. Object
    ///   Lock can only be switched on when a bucket is created (or, on AWS, later with
    ///   versioning on); on a bucket without it this fails with a `Permanent` error.
    /// - `transition_to_glacier_after_days`: a lifecycle rule moves records to GLACIER
    ///   after that many days. It replaces the bucket's whole lifecycle configuration:
    ///   the bucket is meant to hold the audit trail and nothing else.
    #[tracing::instrument(name = "s3.ensure_bucket", skip(self), fields(bucket = %self.bucket))]
    pub async fn ensure_bucket(
        &self,
        object_lock_days: Option<u32>,
        transition_to_glacier_after_days: Option<u32>,
    ) -> Result<(), AuditError> {
        let mut create = self.client.create_bucket().bucket(&self.bucket);
        // us-east-1 is the one region that takes no location constraint (it rejects one).
        if let Some(region) = self.client.config().region().map(|r| r.as_ref())
            && region != "us-east-1"
        {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        if object_lock_days.is_some() {
            create = create.object_lock_enabled_for_bucket(true);
        }
        match create.send().await {
            Ok(_) => tracing::info!("created the audit bucket"),
            // Ours already (us-east-1 answers 200 instead, which lands above).
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), CreateBucketError::BucketAlreadyOwnedByYou(_)) => {}
            Err(err) => return Err(classify(err)),
        }

        if let Some(days) = object_lock_days {
            // GOVERNANCE rather than COMPLIANCE: both stop the service's own credentials
            // (and anyone else's) from deleting or overwriting a record before its time,
            // which is the point. But in COMPLIANCE mode not even the account root can
            // shorten a retention or remove a record, so a mistaken retention period, a
            // legal erasure request, or closing the account would have to wait it out.
            // GOVERNANCE leaves that door to principals explicitly granted
            // s3:BypassGovernanceRetention, an audited, deliberate act.
            let lock = ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(
                    ObjectLockRule::builder()
                        .default_retention(
                            DefaultRetention::builder()
                                .mode(ObjectLockRetentionMode::Governance)
                                .days(days_i32(days, "object_lock_days")?)
                                .build(),
                        )
                        .build(),
                )
                .build();
            self.client
                .put_object_lock_configuration()
                .bucket(&self.bucket)
                .object_lock_configuration(lock)
                .send()
                .await
                .map_err(classify)?;
        }

        if let Some(days) = transition_to_glacier_after_days {
            let rule = LifecycleRule::builder()
                .id(LIFECYCLE_RULE_ID)
                .status(ExpirationStatus::Enabled)
                // An empty prefix: every record.
                .filter(LifecycleRuleFilter::builder().prefix("").build())
                .transitions(
                    Transition::builder()
                        .days(days_i32(days, "transition_to_glacier_after_days")?)
                        .storage_class(TransitionStorageClass::Glacier)
                        .build(),
                )
                .build()
                .map_err(|e| AuditError::Permanent(format!("building lifecycle rule: {e}")))?;
            let lifecycle = BucketLifecycleConfiguration::builder()
                .rules(rule)
                .build()
                .map_err(|e| AuditError::Permanent(format!("building lifecycle: {e}")))?;
            self.client
                .put_bucket_lifecycle_configuration()
                .bucket(&self.bucket)
                .lifecycle_configuration(lifecycle)
                .send()
                .await
                .map_err(classify)?;
        }
        Ok(())
    }

    /// Reads a record back; `None` when there is none under `key`.
    #[tracing::instrument(name = "s3.get_object", skip(self), fields(bucket = %self.bucket))]
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, AuditError> {
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(SdkError::ServiceError(e)) if matches!(e.err(), GetObjectError::NoSuchKey(_)) => {
                return Ok(None);
            }
            Err(err) => return Err(classify(err)),
        };
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|e| AuditError::Transient(format!("reading the body: {e}")))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    /// One conditional PutObject.
    async fn put_attempt(
        &self,
        key: &str,
        body: &[u8],
        content_type: &str,
    ) -> Result<PutOutcome, PutFailure> {
        let result = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body.to_vec()))
            .if_none_match("*")
            .send()
            .await;
        match result {
            Ok(_) => Ok(PutOutcome::Written),
            Err(err) => match verdict_of(&err) {
                // The SDK may itself have retried an attempt whose reply was lost; then
                // the 412 is our own earlier write, which is just as done.
                Verdict::AlreadyThere => Ok(PutOutcome::AlreadyThere),
                Verdict::Conflict => Err(PutFailure::Conflict(describe(&err))),
                Verdict::Transient => {
                    Err(PutFailure::Failed(AuditError::Transient(describe(&err))))
                }
                Verdict::Permanent => {
                    Err(PutFailure::Failed(AuditError::Permanent(describe(&err))))
                }
            },
        }
    }
}

#[async_trait]
impl AuditStore for S3AuditStore {
    #[tracing::instrument(name = "s3.put_object", skip(self, body), fields(bucket = %self.bucket, bytes = body.len()))]
    async fn put_once(
        &self,
        key: &str,
        body: &[u8],
        content_type: &str,
    ) -> Result<PutOutcome, AuditError> {
        // 409 ConditionalRequestConflict: another write to the same key was in flight.
        // Once it settles, our next attempt gets 412 (or succeeds, if that one failed).
        // The SDK's own retries do not cover it, so retry here, briefly.
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(50))
            .with_max_delay(Duration::from_secs(1))
            .with_max_times(5)
            .with_jitter();
        let outcome = (|| self.put_attempt(key, body, content_type))
            .retry(backoff)
            .when(|failure| matches!(failure, PutFailure::Conflict(_)))
            .notify(|failure, delay| {
                tracing::warn!(
                    reason = %failure,
                    delay_ms = delay.as_millis() as u64,
                    "conditional write conflicted; retrying"
                );
            })
            .await;
        match outcome {
            Ok(outcome) => Ok(outcome),
            Err(PutFailure::Conflict(what)) => Err(AuditError::Transient(what)),
            Err(PutFailure::Failed(err)) => Err(err),
        }
    }
}

/// How one put attempt failed.
#[derive(Debug, thiserror::Error)]
enum PutFailure {
    #[error("conflict: {0}")]
    Conflict(String),
    #[error(transparent)]
    Failed(AuditError),
}

/// What an S3 error means for us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// 412 PreconditionFailed on a conditional write: the key is taken.
    AlreadyThere,
    /// 409 ConditionalRequestConflict: a concurrent write to the key; try again.
    Conflict,
    Transient,
    Permanent,
}

/// Decides from the HTTP status and S3 error code of a service error.
fn service_verdict(status: u16, code: Option<&str>) -> Verdict {
    match (status, code) {
        (412, _) | (_, Some("PreconditionFailed")) => Verdict::AlreadyThere,
        (_, Some("ConditionalRequestConflict")) => Verdict::Conflict,
        (
            _,
            Some(
                "SlowDown"
                | "Throttling"
                | "ThrottlingException"
                | "RequestTimeout"
                | "RequestTimeTooSkewed"
                | "InternalError"
                | "ServiceUnavailable"
                | "OperationAborted",
            ),
        ) => Verdict::Transient,
        (408 | 429, _) => Verdict::Transient,
        (s, _) if s >= 500 => Verdict::Transient,
        // AccessDenied, NoSuchBucket, InvalidBucketName, InvalidRequest, InvalidArgument,
        // InvalidAccessKeyId, SignatureDoesNotMatch, PermanentRedirect (wrong region) ...
        _ => Verdict::Permanent,
    }
}

fn verdict_of<E>(err: &SdkError<E, HttpResponse>) -> Verdict
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(service) => {
            service_verdict(service.raw().status().as_u16(), service.err().code())
        }
        // The request could not even be built: retrying builds the same one.
        SdkError::ConstructionFailure(_) => Verdict::Permanent,
        // Timeouts, connection failures, unreadable responses: nothing says the request
        // was refused, so try again.
        _ => Verdict::Transient,
    }
}

fn describe<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => format!(
            "HTTP {} {}: {}",
            service.raw().status().as_u16(),
            service.err().code().unwrap_or("S3 error"),
            service.err().message().unwrap_or("no message")
        ),
        other => error_chain(other),
    }
}

/// An error of any S3 call other than the conditional put, as an `AuditError`.
fn classify<E>(err: SdkError<E, HttpResponse>) -> AuditError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let what = describe(&err);
    match verdict_of(&err) {
        Verdict::Conflict | Verdict::Transient => AuditError::Transient(what),
        // A 412 outside a conditional put is not "already there": nothing asked for it.
        Verdict::AlreadyThere | Verdict::Permanent => AuditError::Permanent(what),
    }
}

fn days_i32(days: u32, what: &str) -> Result<i32, AuditError> {
    match i32::try_from(days) {
        Ok(days) if days > 0 => Ok(days),
        _ => Err(AuditError::Permanent(format!(
            "{what} must be between 1 and {}, got {days}",
            i32::MAX
        ))),
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precondition_failed_means_already_there() {
        assert_eq!(
            service_verdict(412, Some("PreconditionFailed")),
            Verdict::AlreadyThere
        );
        // Some S3-compatible stores send the status without the code, or vice versa.
        assert_eq!(service_verdict(412, None), Verdict::AlreadyThere);
    }

    #[test]
    fn conditional_request_conflict_is_retried() {
        assert_eq!(
            service_verdict(409, Some("ConditionalRequestConflict")),
            Verdict::Conflict
        );
    }

    #[test]
    fn other_conflicts_are_permanent() {
        assert_eq!(
            service_verdict(409, Some("InvalidBucketState")),
            Verdict::Permanent
        );
        assert_eq!(
            service_verdict(409, Some("BucketAlreadyExists")),
            Verdict::Permanent
        );
    }

    #[test]
    fn throttling_and_server_errors_are_transient() {
        assert_eq!(service_verdict(503, Some("SlowDown")), Verdict::Transient);
        assert_eq!(
            service_verdict(500, Some("InternalError")),
            Verdict::Transient
        );
        assert_eq!(service_verdict(502, None), Verdict::Transient);
        assert_eq!(service_verdict(429, None), Verdict::Transient);
        assert_eq!(
            service_verdict(400, Some("RequestTimeout")),
            Verdict::Transient
        );
    }

    #[test]
    fn refusals_are_permanent() {
        assert_eq!(
            service_verdict(403, Some("AccessDenied")),
            Verdict::Permanent
        );
        assert_eq!(
            service_verdict(404, Some("NoSuchBucket")),
            Verdict::Permanent
        );
        assert_eq!(
            service_verdict(400, Some("InvalidRequest")),
            Verdict::Permanent
        );
        assert_eq!(
            service_verdict(301, Some("PermanentRedirect")),
            Verdict::Permanent
        );
    }

    #[test]
    fn retention_days_must_fit() {
        assert_eq!(days_i32(30, "d").unwrap(), 30);
        assert!(matches!(days_i32(0, "d"), Err(AuditError::Permanent(_))));
        assert!(matches!(
            days_i32(u32::MAX, "d"),
            Err(AuditError::Permanent(_))
        ));
    }
}
