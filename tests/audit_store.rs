//! The S3 audit store against the local S3 emulator (moto_server, started by
//! scripts/test, which exports AWS_ENDPOINT_URL_S3). Each test uses its own bucket.
//! Answers moto never gives (409 conflicts, throttling, access denied) come from a
//! wiremock stand-in speaking S3's error format.

use std::sync::Arc;

use aws_sdk_s3::types::{ObjectLockRetentionMode, TransitionStorageClass};
use quotidian::clients::audit::{AuditError, AuditStore, PutOutcome, S3AuditStore};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn emulator_url() -> String {
    std::env::var("AWS_ENDPOINT_URL_S3").expect(
        "AWS_ENDPOINT_URL_S3 is not set: run through scripts/test (it starts the S3 emulator)",
    )
}

fn unique_bucket() -> String {
    format!("audit-test-{}", uuid::Uuid::new_v4().simple())
}

/// A store on a fresh bucket name (not created yet).
async fn store() -> S3AuditStore {
    emulator_url();
    S3AuditStore::from_env(unique_bucket()).await
}

/// A plain S3 client on the emulator, to look behind the store's back.
async fn raw_client() -> aws_sdk_s3::Client {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(emulator_url())
        .load()
        .await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(true)
            .build(),
    )
}

#[tokio::test]
async fn ensure_bucket_creates_a_locked_bucket_with_a_glacier_rule_and_is_idempotent() {
    let store = store().await;
    store.ensure_bucket(Some(30), Some(90)).await.unwrap();
    // A second setup run (say, `quotidian audit setup` again) changes nothing and is fine.
    store.ensure_bucket(Some(30), Some(90)).await.unwrap();

    let s3 = raw_client().await;
    let lock = s3
        .get_object_lock_configuration()
        .bucket(store.bucket())
        .send()
        .await
        .unwrap();
    let retention = lock
        .object_lock_configuration()
        .and_then(|c| c.rule())
        .and_then(|r| r.default_retention())
        .expect("a default retention");
    assert_eq!(retention.mode(), Some(&ObjectLockRetentionMode::Governance));
    assert_eq!(retention.days(), Some(30));

    let lifecycle = s3
        .get_bucket_lifecycle_configuration()
        .bucket(store.bucket())
        .send()
        .await
        .unwrap();
    assert_eq!(lifecycle.rules().len(), 1, "{lifecycle:?}");
    let transitions = lifecycle.rules()[0].transitions();
    assert_eq!(transitions.len(), 1);
    assert_eq!(transitions[0].days(), Some(90));
    assert_eq!(
        transitions[0].storage_class(),
        Some(&TransitionStorageClass::Glacier)
    );

    // Records written there carry the retention.
    store
        .put_once("2026/11/21/digest-1.json", b"{}", "application/json")
        .await
        .unwrap();
    let head = s3
        .head_object()
        .bucket(store.bucket())
        .key("2026/11/21/digest-1.json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.object_lock_mode(),
        Some(&aws_sdk_s3::types::ObjectLockMode::Governance)
    );
    assert!(head.object_lock_retain_until_date().is_some());
}

#[tokio::test]
async fn put_once_writes_a_record_and_get_reads_it_back() {
    let store = store().await;
    store.ensure_bucket(None, None).await.unwrap();
    let body = br#"{"digest":"d-1","to":"a@example.com"}"#;

    let outcome = store
        .put_once("digests/d-1.json", body, "application/json")
        .await
        .unwrap();

    assert_eq!(outcome, PutOutcome::Written);
    assert_eq!(
        store.get("digests/d-1.json").await.unwrap().as_deref(),
        Some(&body[..])
    );
    assert_eq!(store.get("digests/never-written.json").await.unwrap(), None);
    let head = raw_client()
        .await
        .head_object()
        .bucket(store.bucket())
        .key("digests/d-1.json")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("application/json"));
}

#[tokio::test]
async fn a_second_put_of_the_same_key_is_already_there_and_never_overwrites() {
    let store = store().await;
    // Object Lock turns on versioning, so an overwrite would also leave a second version.
    store.ensure_bucket(Some(1), None).await.unwrap();

    let first = store
        .put_once("digests/d-2.json", b"first", "text/plain")
        .await
        .unwrap();
    let second = store
        .put_once("digests/d-2.json", b"second, different", "text/plain")
        .await
        .unwrap();

    assert_eq!(first, PutOutcome::Written);
    assert_eq!(second, PutOutcome::AlreadyThere);
    assert_eq!(
        store.get("digests/d-2.json").await.unwrap().as_deref(),
        Some(&b"first"[..])
    );
    let versions = raw_client()
        .await
        .list_object_versions()
        .bucket(store.bucket())
        .prefix("digests/d-2.json")
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 1, "{versions:?}");
}

#[tokio::test]
async fn concurrent_puts_of_one_key_write_it_exactly_once() {
    let store = Arc::new(store().await);
    store.ensure_bucket(None, None).await.unwrap();

    let tasks = (0..16).map(|i| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let body = format!("writer {i}");
            let outcome = store
                .put_once("digests/d-3.json", body.as_bytes(), "text/plain")
                .await;
            (body, outcome)
        })
    });
    let results = futures_util::future::join_all(tasks).await;

    let mut winners = Vec::new();
    for result in results {
        let (body, outcome) = result.unwrap();
        match outcome.unwrap() {
            PutOutcome::Written => winners.push(body),
            PutOutcome::AlreadyThere => {}
        }
    }
    assert_eq!(winners.len(), 1, "writers that got Written: {winners:?}");
    assert_eq!(
        store.get("digests/d-3.json").await.unwrap(),
        Some(winners[0].clone().into_bytes())
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_transient() {
    emulator_url();
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url("http://127.0.0.1:9")
        .load()
        .await;
    let store = S3AuditStore::from_sdk_config(&shared, unique_bucket());

    let put = store.put_once("digests/d-4.json", b"x", "text/plain").await;
    let get = store.get("digests/d-4.json").await;
    let setup = store.ensure_bucket(None, None).await;

    assert!(matches!(put, Err(AuditError::Transient(_))), "{put:?}");
    assert!(matches!(get, Err(AuditError::Transient(_))), "{get:?}");
    assert!(matches!(setup, Err(AuditError::Transient(_))), "{setup:?}");
}

#[tokio::test]
async fn a_missing_bucket_is_permanent() {
    let store = store().await; // never created

    let put = store.put_once("digests/d-5.json", b"x", "text/plain").await;
    let get = store.get("digests/d-5.json").await;

    match &put {
        Err(AuditError::Permanent(what)) => assert!(what.contains("NoSuchBucket"), "{what}"),
        other => panic!("expected a permanent NoSuchBucket error, got {other:?}"),
    }
    assert!(matches!(get, Err(AuditError::Permanent(_))), "{get:?}");
}

/// A store whose S3 is a wiremock server; the SDK's own retries are off, so each
/// request the mock sees is one the store itself made.
async fn store_on(server: &MockServer) -> S3AuditStore {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(server.uri())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    S3AuditStore::from_sdk_config(&shared, "audit-mock")
}

/// An S3 error reply (rest-xml).
fn s3_error(status: u16, code: &str) -> ResponseTemplate {
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{code} from the mock</Message><RequestId>mock</RequestId></Error>"#
    );
    ResponseTemplate::new(status).set_body_raw(body.into_bytes(), "application/xml")
}

fn conditional_put_of(key: &str) -> wiremock::MockBuilder {
    Mock::given(method("PUT"))
        .and(path(format!("/audit-mock/{key}")))
        .and(header("if-none-match", "*"))
}

#[tokio::test]
async fn a_conditional_request_conflict_is_retried_until_it_settles() {
    let server = MockServer::start().await;
    conditional_put_of("digests/d-6.json")
        .respond_with(s3_error(409, "ConditionalRequestConflict"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    // The concurrent write won: the third attempt finds the key taken.
    conditional_put_of("digests/d-6.json")
        .respond_with(s3_error(412, "PreconditionFailed"))
        .expect(1)
        .mount(&server)
        .await;

    let outcome = store_on(&server)
        .await
        .put_once("digests/d-6.json", b"x", "text/plain")
        .await;

    assert!(
        matches!(outcome, Ok(PutOutcome::AlreadyThere)),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_conflict_that_does_not_settle_is_transient() {
    let server = MockServer::start().await;
    conditional_put_of("digests/d-7.json")
        .respond_with(s3_error(409, "ConditionalRequestConflict"))
        .mount(&server)
        .await;

    let outcome = store_on(&server)
        .await
        .put_once("digests/d-7.json", b"x", "text/plain")
        .await;

    assert!(
        matches!(outcome, Err(AuditError::Transient(_))),
        "{outcome:?}"
    );
    // Retried, but not forever.
    let attempts = server.received_requests().await.unwrap().len();
    assert!((2..=10).contains(&attempts), "{attempts} attempts");
}

#[tokio::test]
async fn throttling_is_transient_and_access_denied_is_permanent() {
    let server = MockServer::start().await;
    conditional_put_of("digests/slow.json")
        .respond_with(s3_error(503, "SlowDown"))
        .mount(&server)
        .await;
    conditional_put_of("digests/denied.json")
        .respond_with(s3_error(403, "AccessDenied"))
        .expect(1)
        .mount(&server)
        .await;
    let store = store_on(&server).await;

    let slow = store
        .put_once("digests/slow.json", b"x", "text/plain")
        .await;
    let denied = store
        .put_once("digests/denied.json", b"x", "text/plain")
        .await;

    assert!(matches!(slow, Err(AuditError::Transient(_))), "{slow:?}");
    match &denied {
        Err(AuditError::Permanent(what)) => assert!(what.contains("AccessDenied"), "{what}"),
        other => panic!("expected a permanent AccessDenied error, got {other:?}"),
    }
}
